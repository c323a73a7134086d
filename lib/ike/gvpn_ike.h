/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_IKE_H
#define GVPN_IKE_H

/**
 * @file
 * IKEv1 Main Mode initiator with a pre-shared key (RFC 2409 section 5.4),
 * the phase 1 that GDOI registration runs under, and the phase-1 crypto that
 * later exchanges use (IVs, encryption, SKEYID_a). Diffie-Hellman in MODP
 * groups 1, 2, 5, 14, 15, 16 (RFC 2409, RFC 3526) and ECP groups 19, 20
 * (RFC 5903, its IKEv1 encoding: KE x | y, shared secret x).
 *
 * No sockets and no timers here: the caller sends what these functions
 * build and feeds back what arrives, and retransmits the last message.
 * Each message that arrives is checked against its exchange step's script
 * (the payloads it allows, in order) before it is read. Errors follow
 * gvpn_isakmp.h: 0 or a negative errno, the reason in `const char **why`.
 */

#include <stddef.h>
#include <stdint.h>

#include "gvpn_isakmp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* IKE attribute values (RFC 2409 appendix A) */
enum ike_enc { IKE_ENC_DES = 1, IKE_ENC_3DES = 5, IKE_ENC_AES = 7 };
enum ike_hash { IKE_HASH_MD5 = 1, IKE_HASH_SHA1 = 2, IKE_HASH_SHA256 = 4 };
#define IKE_AUTH_PSK 1

#define IKE_MAX_PROPOSALS 16
#define IKE_PSK_MAX 256
#define IKE_PSK_MIN 20 /* R10 */
#define IKE_BLOCK_MAX 16
#define IKE_DIGEST_MAX 32
#define IKE_DH_MAX 512 /* bytes of the largest KE value (group 16: 4096 bits) */

/** One phase-1 proposal. */
struct ike_proposal {
	uint8_t enc;	   /**< enum ike_enc */
	uint16_t key_bits; /**< AES: 128, 192 or 256; else 0 */
	uint8_t hash;	   /**< enum ike_hash */
	uint8_t group;	   /**< MODP group 1, 2, 5, 14, 15 or 16; ECP group 19 or 20 */
	uint32_t lifetime; /**< seconds */
};

struct ike_conf {
	uint8_t psk[IKE_PSK_MAX];
	size_t psk_len;
	uint32_t local_addr;	 /**< host order: our ID (ID_IPV4_ADDR) */
	uint8_t local_ipv6;	 /**< our ID is ID_IPV6_ADDR local_addr6 instead */
	uint8_t local_addr6[16]; /**< network order */
	uint32_t doi;		 /**< DOI in the phase-1 SA payload */
	unsigned int n_props;
	struct ike_proposal props[IKE_MAX_PROPOSALS];
};

enum ike_state {
	IKE_IDLE = 0,
	IKE_MM_SENT1,
	IKE_MM_SENT3,
	IKE_MM_SENT5,
	IKE_ESTABLISHED,
	IKE_FAILED,
};

/** What a message fed to an exchange did (ike_mm_input(), gdoi_pull_input()). */
enum ike_result {
	IKE_IGNORED = 0, /**< not for this exchange, or a duplicate: nothing changed */
	IKE_CONTINUE,	 /**< the next message is in the output buffer */
	IKE_DONE,	 /**< the exchange is complete */
	IKE_NOTIFIED,	 /**< a notification in the clear (type in the SA): advice only */
};

struct ike_sa {
	enum ike_state state;
	const struct ike_conf *conf;
	uint8_t icookie[8], rcookie[8];
	struct ike_proposal chosen;
	unsigned int block, key_len, prf_len;
	void *dh_x;   /**< BIGNUM: our private exponent (MODP) or scalar (ECP) */
	size_t g_len; /**< bytes of a public value (ECP: x | y) */
	size_t s_len; /**< bytes of the shared secret (ECP: x alone) */
	uint8_t gxi[IKE_DH_MAX], gxr[IKE_DH_MAX], gxy[IKE_DH_MAX];
	uint8_t ni[32], nr[256];
	size_t nr_len;
	uint8_t sa_b[1024]; /**< SA payload body of message 1 (for HASH_I) */
	size_t sa_b_len;
	uint8_t skeyid[IKE_DIGEST_MAX], skeyid_d[IKE_DIGEST_MAX], skeyid_a[IKE_DIGEST_MAX],
	    skeyid_e[IKE_DIGEST_MAX];
	uint8_t key[32];		   /**< phase-1 encryption key */
	uint8_t iv[IKE_BLOCK_MAX];	   /**< current phase-1 IV */
	uint8_t last_block[IKE_BLOCK_MAX]; /**< last CBC block of phase 1 */
	/** The responder's ID when it is an address: ID_IPV4_ADDR (host
	 *  order) or ID_IPV6_ADDR (peer_ipv6, network order) */
	uint32_t peer_addr;
	uint8_t peer_ipv6;
	uint8_t peer_addr6[16];
	uint16_t notify; /**< type of the last notification in the clear */
};

/** Parts of a byte string to hash or prf. */
struct ike_chunk {
	const void *p;
	size_t len;
};

/**
 * Start Main Mode: message 1 in @p out.
 * @return 0, -EINVAL (no proposal, too many, a group not among those of
 *   struct ike_proposal, or a PSK under IKE_PSK_MIN),
 *   -EIO (no randomness) or -ENOSPC.
 */
int ike_mm_start(struct ike_sa *sa, const struct ike_conf *conf, struct isakmp_buf *out);

/**
 * Feed a received message.
 * @param res what it did: IKE_CONTINUE (the next message is in @p out),
 *   IKE_DONE (phase 1 established), IKE_IGNORED (not for this SA, a
 *   duplicate, or an informational that is not one notification),
 *   IKE_NOTIFIED (a notification in the clear, type in sa->notify: nothing
 *   authenticates it, so it is advice only and the SA keeps waiting for its
 *   answer, RFC 2408 4.8).
 * @param why set to the reason when the SA failed (static string).
 * @return 0 with @p res set; or, the SA failed: -EBADMSG (malformed, or
 *   payloads not those the step's script allows), -ENOPROTOOPT (no offered
 *   proposal chosen), -EACCES (HASH_R does not verify), -ENOSPC, -EIO or
 *   -ENOTSUP (local failures), with @p why set.
 */
int ike_mm_input(struct ike_sa *sa, const uint8_t *msg, size_t len, struct isakmp_buf *out,
		 enum ike_result *res, const char **why);

/** Wipe every secret of an SA. */
void ike_sa_clear(struct ike_sa *sa);

/** prf (HMAC with the negotiated hash) over @p n chunks. @return the output
 * length (a count), 0 when OpenSSL failed. */
unsigned int ike_prf(const struct ike_sa *sa, const uint8_t *key, size_t key_len,
		     const struct ike_chunk *c, int n, uint8_t *out);

/** IV of a new exchange with message ID @p msgid (RFC 2409 appendix B). */
void ike_exchange_iv(const struct ike_sa *sa, uint32_t msgid, uint8_t iv[IKE_BLOCK_MAX]);

/**
 * Encrypt everything after the header of a finished message in place,
 * padding to the block, and set the encryption flag. @p iv is updated to the
 * last ciphertext block. @return 0, -ENOSPC (no room for the padding) or -EIO.
 */
int ike_encrypt(const struct ike_sa *sa, uint8_t iv[IKE_BLOCK_MAX], struct isakmp_buf *b);

/**
 * Decrypt the body of a received message into @p out (@p out_len in: room,
 * out: bytes). @p iv is updated to the last ciphertext block.
 * @return 0, -EBADMSG (not whole blocks, or longer than the room) or -EIO.
 */
int ike_decrypt(const struct ike_sa *sa, uint8_t iv[IKE_BLOCK_MAX], const uint8_t *msg, size_t len,
		uint8_t *out, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_IKE_H */
