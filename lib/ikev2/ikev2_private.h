/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef IKEV2_PRIVATE_H
#define IKEV2_PRIVATE_H

/*
 * Inside lib/ikev2, bottom to top:
 *   codec.c     header, payload walker and scripts, Notify, builder
 *   proposal.c  SA payloads: proposals built from struct ikev2_proposal,
 *               the responder's choice read and checked; proposal strings
 *   crypto.c    the algorithms, prf and prf+, the key schedule, the
 *               Encrypted payload (seal and open)
 *   dh.c        the Diffie-Hellman groups, through lib/ike's
 *   exchange.c  IKE_SA_INIT, IKE_AUTH, INFORMATIONAL; the request window
 */

#include "gvpn_ikev2.h"

/** An encryption algorithm of the Encrypted payload. */
struct ikev2_encr_alg {
	uint16_t id, key_bits;
	uint8_t key_len;  /**< bytes of SK_e: the key, and for GCM its 4-byte salt */
	uint8_t salt_len; /**< GCM: 4 (RFC 5282 7.1) */
	uint8_t iv_len;	  /**< CBC: the block; GCM: 8 (RFC 5282 3.1) */
	uint8_t block;	  /**< what the plaintext is padded to */
	uint8_t icv_len;  /**< GCM: 16; CBC: from the integrity algorithm */
	const char *word, *name, *tshark;
};

/** A PRF or an integrity algorithm: HMAC with a SHA-2 hash. */
struct ikev2_hash_alg {
	uint16_t id;
	uint8_t key_len; /**< PRF: the output; integrity: the key (RFC 4868) */
	uint8_t out_len; /**< PRF: the output; integrity: the truncated ICV */
	const char *md;	 /**< OpenSSL digest name */
	const char *word, *name, *tshark;
};

/** A Diffie-Hellman group we offer. */
struct ikev2_dh_alg {
	uint16_t id;
	const char *word, *name;
};

const struct ikev2_encr_alg *ikev2_encr_alg(uint16_t id, uint16_t key_bits);
const struct ikev2_hash_alg *ikev2_prf_alg(uint16_t id);
const struct ikev2_hash_alg *ikev2_integ_alg(uint16_t id);
const struct ikev2_dh_alg *ikev2_dh_alg(uint16_t id);
/** The tables, for the proposal parser: element @p i, NULL past the end. */
const struct ikev2_encr_alg *ikev2_encr_at(unsigned int i);
const struct ikev2_hash_alg *ikev2_prf_at(unsigned int i);
const struct ikev2_hash_alg *ikev2_integ_at(unsigned int i);
const struct ikev2_dh_alg *ikev2_dh_at(unsigned int i);

/** Parts of a byte string to prf. */
struct ikev2_chunk {
	const void *p;
	size_t len;
};

/**
 * prf (HMAC with the digest @p md) over @p n chunks into @p out.
 * @return the output length, 0 when OpenSSL failed.
 */
unsigned int ikev2_hmac(const char *md, const uint8_t *key, size_t key_len,
			const struct ikev2_chunk *c, int n, uint8_t *out);

/**
 * prf+ (RFC 7296 2.13): T1 | T2 | ... with T1 = prf(K, S | 0x01),
 * Tn = prf(K, Tn-1 | S | n), @p len bytes of it.
 * @return 0, -EINVAL (more than 255 blocks) or -EIO.
 */
int ikev2_prf_plus(const struct ikev2_hash_alg *prf, const uint8_t *key, size_t key_len,
		   const struct ikev2_chunk *s, int n, uint8_t *out, size_t len);

/**
 * The key schedule (RFC 7296 2.14) from sa->chosen, the nonces, the SPIs
 * and the shared secret @p gir: SKEYSEED, then SK_d, SK_ai, SK_ar, SK_ei,
 * SK_er, SK_pi, SK_pr; the lengths in sa (prf_len, integ_len, ...).
 * @return 0, -ENOTSUP (a transform we lack) or -EIO.
 */
int ikev2_derive(struct ikev2_sa *sa, const uint8_t *gir, size_t gir_len);

/**
 * Seal a payload chain in an Encrypted payload: the message header @p h
 * (its next payload becomes SK), then SK with IV, the encrypted chain,
 * padding, pad length and ICV, under SK_ei/SK_ai (@p initiator) or
 * SK_er/SK_ar, into @p out.
 * @return the message length, or -ENOSPC or -EIO.
 */
int ikev2_sk_seal(const struct ikev2_sa *sa, int initiator, const struct ikev2_hdr *h,
		  uint8_t first, const uint8_t *chain, size_t chain_len, uint8_t *out, size_t room);

/**
 * Check and decrypt the Encrypted payload @p sk (the last payload of
 * @p msg, @p len bytes) under SK_ei/SK_ai (@p initiator: what the
 * initiator sent) or SK_er/SK_ar; the payload chain into @p plain.
 * @return its length, -EBADMSG (too short for IV and ICV, not whole
 *   blocks, bad padding) or -EACCES (the ICV does not verify).
 */
int ikev2_sk_open(const struct ikev2_sa *sa, int initiator, const uint8_t *msg, size_t len,
		  const struct ikev2_payload *sk, uint8_t *plain, size_t room);

/**
 * The SA payload body offering @p n proposals of protocol @p proto (SPI
 * @p spi of @p spi_len bytes: 0 for IKE_SA_INIT, 4 for ESP).
 */
void ikev2_sa_build(struct ikev2_buf *b, uint8_t proto, const uint8_t *spi, uint8_t spi_len,
		    const struct ikev2_proposal *props, unsigned int n);

/**
 * Read the responder's SA payload: one proposal of protocol @p proto with
 * an SPI of @p spi_len bytes (into @p spi), one transform of each type,
 * all among what proposal number num of @p props (n of them) offered.
 * @return 0 with @p out and @p num set, -EBADMSG (malformed) or
 *   -ENOPROTOOPT (a choice we did not offer).
 */
int ikev2_sa_choice(const struct ikev2_payload *p, uint8_t proto, uint8_t spi_len,
		    const struct ikev2_proposal *props, unsigned int n, struct ikev2_suite *out,
		    uint8_t *num, uint8_t *spi);

/** Bytes of a KE payload's data in @p group; 0 for a group we lack. */
size_t ikev2_dh_len(uint16_t group);
/**
 * Our DH value in @p group into sa->dh (allocated in key memory), its
 * public value into @p pub (ikev2_dh_len() bytes).
 * @param priv NULL for a random private value, else this one (tests).
 * @return 0, -ENOTSUP, -ENOMEM, -EINVAL or -EIO.
 */
int ikev2_dh_start(struct ikev2_sa *sa, uint16_t group, const uint8_t *priv, size_t priv_len,
		   uint8_t *pub);
/**
 * The shared secret from the peer's public value: g^ir into @p gir.
 * @return its length, -EBADMSG (a value outside the group) or -EIO.
 */
int ikev2_dh_finish(struct ikev2_sa *sa, const uint8_t *peer, size_t len, uint8_t *gir);
/** Free sa->dh. */
void ikev2_dh_free(struct ikev2_sa *sa);

/** Read traffic selectors (the first of a TSi/TSr payload) into @p ts. @return 0 or -EBADMSG. */
int ikev2_ts_read(const struct ikev2_payload *p, struct ikev2_ts *ts);

#endif /* IKEV2_PRIVATE_H */
