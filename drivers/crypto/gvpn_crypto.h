/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_CRYPTO_H
#define GVPN_CRYPTO_H

/**
 * @file
 * The crypto backend contract. ESP describes each packet as one operation
 * (IV, authenticated region, ciphered region, ICV) and hands a burst of them
 * to a backend. Backends own their per-lcore engine and their per-SA session
 * layout; callers allocate session memory of ops->session_size bytes.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Cipher algorithms (the TEK algorithms of R3). Key length picks AES-128/192/256.
 * AES-GMAC (RFC 4543, ENCR_NULL_AUTH_AES_GMAC) encrypts nothing: it is listed
 * here because, like AES-GCM, it is the ESP transform and carries its own ICV.
 */
#define GVPN_CIPHER_LIST(X)                                                                        \
	X(NULL, "null", 0, 1)                                                                      \
	X(DES_CBC, "des-cbc", 8, 8)                                                                \
	X(3DES_CBC, "3des-cbc", 8, 8)                                                              \
	X(AES_CBC, "aes-cbc", 16, 16)                                                              \
	X(AES_GCM, "aes-gcm", 8, 4)                                                                \
	X(AES_GMAC, "aes-gmac", 8, 4)

/** Integrity algorithms; GCM and GMAC carry their own ICV and use NONE here. */
#define GVPN_AUTH_LIST(X)                                                                          \
	X(NONE, "none", 0, 0)                                                                      \
	X(HMAC_MD5_96, "hmac-md5-96", 16, 12)                                                      \
	X(HMAC_SHA1_96, "hmac-sha1-96", 20, 12)                                                    \
	X(HMAC_SHA256_128, "hmac-sha256-128", 32, 16)                                              \
	X(HMAC_SHA384_192, "hmac-sha384-192", 48, 24)                                              \
	X(HMAC_SHA512_256, "hmac-sha512-256", 64, 32)

/* X(name, string, iv length, block size) */
#define GVPN_CIPHER_ENUM(n, s, iv, blk) GVPN_CIPHER_##n,
enum gvpn_cipher { GVPN_CIPHER_LIST(GVPN_CIPHER_ENUM) GVPN_CIPHER_MAX };
#undef GVPN_CIPHER_ENUM

/* X(name, string, key length, ICV length) */
#define GVPN_AUTH_ENUM(n, s, k, icv) GVPN_AUTH_##n,
enum gvpn_auth { GVPN_AUTH_LIST(GVPN_AUTH_ENUM) GVPN_AUTH_MAX };
#undef GVPN_AUTH_ENUM

/** ICV length of AES-GCM and AES-GMAC (RFC 4106, RFC 4543: 16-octet ICV). */
#define GVPN_GCM_ICV_LEN 16
/** Salt length that ends an AES-GCM or AES-GMAC key (RFC 4106 8.1, RFC 4543). */
#define GVPN_GCM_SALT_LEN 4
/** Largest key any algorithm takes, salt included (HMAC-SHA-512: 64 octets). */
#define GVPN_KEY_MAX 64
/** Largest ICV of any algorithm (HMAC-SHA-512-256: 32 octets). */
#define GVPN_ICV_MAX 32

/** Keys and algorithms of one SA direction. */
struct gvpn_crypto_xform {
	enum gvpn_cipher cipher;
	enum gvpn_auth auth;
	uint8_t cipher_key[GVPN_KEY_MAX]; /**< GCM, GMAC: key then 4-byte salt */
	uint8_t cipher_key_len;		  /**< bytes in cipher_key, salt included */
	uint8_t auth_key[GVPN_KEY_MAX];
	uint8_t auth_key_len;
};

/**
 * One packet's crypto work. Encryption and decryption are in place.
 * For CBC + HMAC the ICV covers [auth, auth + auth_len) (ESP header, IV and
 * ciphertext); for GCM @p auth is the 8-byte AAD (SPI and sequence number);
 * for GMAC [auth, auth + auth_len) is the whole AAD (ESP header, IV, payload
 * and trailer) and nothing is ciphered.
 */
struct gvpn_crypto_op {
	const void *sess;    /**< session, from session_init() */
	const uint8_t *iv;   /**< explicit IV as carried in the packet */
	const uint8_t *auth; /**< start of the authenticated bytes / AAD */
	uint32_t auth_len;   /**< CBC+HMAC, GMAC: bytes to authenticate */
	uint32_t data_len;   /**< bytes to cipher */
	uint8_t *data;	     /**< bytes to cipher, in place */
	uint8_t *icv;	     /**< ICV: written on encrypt, checked on decrypt */
};

/** Per-operation outcome. */
enum gvpn_crypto_status {
	GVPN_CRYPTO_OK = 0,
	GVPN_CRYPTO_AUTH_FAILED, /**< ICV mismatch (decrypt only) */
	GVPN_CRYPTO_ERROR,	 /**< the engine refused the operation */
};

/** A crypto backend. */
struct gvpn_crypto_ops {
	const char *name;
	/** Bytes a session needs; the caller allocates them, 64-byte aligned. */
	size_t session_size;
	/**
	 * Check an xform and expand its keys into @p sess.
	 * @return 0, or -ENOTSUP for an algorithm or key length it lacks,
	 *   -EINVAL for an inconsistent xform.
	 */
	int (*session_init)(void *engine, void *sess, const struct gvpn_crypto_xform *x);
	/** Wipe a session's key material. */
	void (*session_clear)(void *sess);
	/** Create the per-lcore engine; NULL with rte_errno-style errno set on failure. */
	void *(*engine_create)(void);
	/** Free an engine created by engine_create(). */
	void (*engine_free)(void *engine);
	/**
	 * Encrypt (or, when @p decrypt, verify then decrypt) a burst. The ICV of
	 * a decrypt operation is compared in constant time and its plaintext is
	 * never to be used unless status is GVPN_CRYPTO_OK.
	 * @return number of operations whose status is GVPN_CRYPTO_OK.
	 */
	uint16_t (*process)(void *engine, struct gvpn_crypto_op ops[], uint8_t status[], uint16_t n,
			    int decrypt);
};

extern const struct gvpn_crypto_ops gvpn_crypto_ipsecmb;
extern const struct gvpn_crypto_ops gvpn_crypto_openssl;

/**
 * Find a backend by name ("ipsecmb", "openssl").
 * @return the backend, or NULL when unknown.
 */
const struct gvpn_crypto_ops *gvpn_crypto_find(const char *name);

/** Name of a cipher ("aes-cbc"), or "?" when out of range. */
const char *gvpn_cipher_name(enum gvpn_cipher c);
/** Name of an integrity algorithm ("hmac-sha1-96"), or "?". */
const char *gvpn_auth_name(enum gvpn_auth a);
/** Explicit IV length carried in ESP for a cipher. */
unsigned int gvpn_cipher_iv_len(enum gvpn_cipher c);
/** Block size that the ciphertext length must be a multiple of. */
unsigned int gvpn_cipher_block(enum gvpn_cipher c);
/**
 * Whether a cipher is a counter-mode combined algorithm (AES-GCM, AES-GMAC):
 * its own 16-octet ICV, a 4-octet salt after its key, and an 8-octet IV
 * that must never repeat under one key.
 */
int gvpn_cipher_is_counter(enum gvpn_cipher c);
/** Key length an integrity algorithm requires. */
unsigned int gvpn_auth_key_len(enum gvpn_auth a);
/** ICV length of an xform's algorithms. */
unsigned int gvpn_xform_icv_len(const struct gvpn_crypto_xform *x);
/**
 * Parse names into algorithms.
 * @return 0, or -EINVAL for an unknown name.
 */
int gvpn_cipher_parse(const char *s, enum gvpn_cipher *c);
int gvpn_auth_parse(const char *s, enum gvpn_auth *a);
/**
 * Validate an xform: algorithms known, key lengths right for them.
 * @return 0 or -EINVAL.
 */
int gvpn_xform_check(const struct gvpn_crypto_xform *x);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_CRYPTO_H */
