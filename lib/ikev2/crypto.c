/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IKE SA's algorithms, its key schedule (RFC 7296 2.13, 2.14) and the
 * Encrypted payload (RFC 7296 3.14; AES-GCM per RFC 5282).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Initialization Vector                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                    Encrypted IKE Payloads                     ~
 * +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               |             Padding (0-255 octets)            |
 * +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
 * |                                               |  Pad Length   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                    Integrity Checksum Data                    ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * CBC: the ICV is the truncated HMAC of the whole message up to the ICV
 * (header, SK header, IV, ciphertext). GCM: the nonce is the salt (the
 * last 4 bytes of SK_e) and the 8-byte IV; the associated data is the IKE
 * header and the SK generic header; the ICV is the 16-byte tag.
 */
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "gvpn_common.h"
#include "ikev2_private.h"

static const struct ikev2_encr_alg encr_algs[] = {
    {IKEV2_ENCR_AES_CBC, 128, 16, 0, 16, 16, 0, "aes128", "AES_CBC_128", "AES-CBC-128 [RFC3602]"},
    {IKEV2_ENCR_AES_CBC, 192, 24, 0, 16, 16, 0, "aes192", "AES_CBC_192", "AES-CBC-192 [RFC3602]"},
    {IKEV2_ENCR_AES_CBC, 256, 32, 0, 16, 16, 0, "aes256", "AES_CBC_256", "AES-CBC-256 [RFC3602]"},
    {IKEV2_ENCR_AES_GCM_16, 128, 20, 4, 8, 1, 16, "aes128gcm16", "AES_GCM_16_128",
     "AES-GCM-128 with 16 octet ICV [RFC5282]"},
    {IKEV2_ENCR_AES_GCM_16, 192, 28, 4, 8, 1, 16, "aes192gcm16", "AES_GCM_16_192",
     "AES-GCM-192 with 16 octet ICV [RFC5282]"},
    {IKEV2_ENCR_AES_GCM_16, 256, 36, 4, 8, 1, 16, "aes256gcm16", "AES_GCM_16_256",
     "AES-GCM-256 with 16 octet ICV [RFC5282]"},
};

static const struct ikev2_hash_alg prf_algs[] = {
    {IKEV2_PRF_HMAC_SHA2_256, 32, 32, "SHA256", "prfsha256", "PRF_HMAC_SHA2_256", NULL},
    {IKEV2_PRF_HMAC_SHA2_384, 48, 48, "SHA384", "prfsha384", "PRF_HMAC_SHA2_384", NULL},
    {IKEV2_PRF_HMAC_SHA2_512, 64, 64, "SHA512", "prfsha512", "PRF_HMAC_SHA2_512", NULL},
};

/* RFC 4868 2.1: the key is as long as the hash's output, the ICV half. */
static const struct ikev2_hash_alg integ_algs[] = {
    {IKEV2_INTEG_HMAC_SHA2_256_128, 32, 16, "SHA256", "sha256", "HMAC_SHA2_256_128",
     "HMAC_SHA2_256_128 [RFC4868]"},
    {IKEV2_INTEG_HMAC_SHA2_384_192, 48, 24, "SHA384", "sha384", "HMAC_SHA2_384_192",
     "HMAC_SHA2_384_192 [RFC4868]"},
    {IKEV2_INTEG_HMAC_SHA2_512_256, 64, 32, "SHA512", "sha512", "HMAC_SHA2_512_256",
     "HMAC_SHA2_512_256 [RFC4868]"},
};

static const struct ikev2_dh_alg dh_algs[] = {
    {14, "modp2048", "MODP_2048"}, {15, "modp3072", "MODP_3072"}, {16, "modp4096", "MODP_4096"},
    {19, "ecp256", "ECP_256"},	   {20, "ecp384", "ECP_384"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct ikev2_encr_alg *
ikev2_encr_alg(uint16_t id, uint16_t key_bits)
{
	for (size_t i = 0; i < N(encr_algs); i++)
		if (encr_algs[i].id == id && encr_algs[i].key_bits == key_bits)
			return &encr_algs[i];
	return NULL;
}

const struct ikev2_hash_alg *
ikev2_prf_alg(uint16_t id)
{
	for (size_t i = 0; i < N(prf_algs); i++)
		if (prf_algs[i].id == id)
			return &prf_algs[i];
	return NULL;
}

const struct ikev2_hash_alg *
ikev2_integ_alg(uint16_t id)
{
	for (size_t i = 0; i < N(integ_algs); i++)
		if (integ_algs[i].id == id)
			return &integ_algs[i];
	return NULL;
}

const struct ikev2_dh_alg *
ikev2_dh_alg(uint16_t id)
{
	for (size_t i = 0; i < N(dh_algs); i++)
		if (dh_algs[i].id == id)
			return &dh_algs[i];
	return NULL;
}

const struct ikev2_encr_alg *
ikev2_encr_at(unsigned int i)
{
	return i < N(encr_algs) ? &encr_algs[i] : NULL;
}

const struct ikev2_hash_alg *
ikev2_prf_at(unsigned int i)
{
	return i < N(prf_algs) ? &prf_algs[i] : NULL;
}

const struct ikev2_hash_alg *
ikev2_integ_at(unsigned int i)
{
	return i < N(integ_algs) ? &integ_algs[i] : NULL;
}

const struct ikev2_dh_alg *
ikev2_dh_at(unsigned int i)
{
	return i < N(dh_algs) ? &dh_algs[i] : NULL;
}

const char *
ikev2_tshark_encr(const struct ikev2_suite *s)
{
	const struct ikev2_encr_alg *e = ikev2_encr_alg(s->encr.id, s->encr.key_bits);

	return e != NULL ? e->tshark : "?";
}

const char *
ikev2_tshark_integ(const struct ikev2_suite *s)
{
	const struct ikev2_hash_alg *a = ikev2_integ_alg(s->integ);

	return a != NULL ? a->tshark : "NONE [RFC4306]";
}

unsigned int
ikev2_hmac(const char *md, const uint8_t *key, size_t key_len, const struct ikev2_chunk *c, int n,
	   uint8_t *out)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	size_t len = 0;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = ctx != NULL && EVP_MAC_init(ctx, key, key_len, params) == 1;
	for (int i = 0; ok && i < n; i++)
		ok = EVP_MAC_update(ctx, c[i].p, c[i].len) == 1;
	if (!ok || EVP_MAC_final(ctx, out, &len, IKEV2_PRF_MAX) != 1)
		len = 0;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return (unsigned int)len;
}

int
ikev2_prf_plus(const struct ikev2_hash_alg *prf, const uint8_t *key, size_t key_len,
	       const struct ikev2_chunk *s, int n, uint8_t *out, size_t len)
{
	struct ikev2_chunk c[8];
	uint8_t t[IKEV2_PRF_MAX];
	size_t have = 0;
	uint8_t i = 1;

	if (n > 6 || len > 255u * prf->out_len)
		return -EINVAL;
	while (have < len) {
		int k = 0;
		size_t take;

		if (i > 1)
			c[k++] = (struct ikev2_chunk){t, prf->out_len};
		for (int j = 0; j < n; j++)
			c[k++] = s[j];
		c[k++] = (struct ikev2_chunk){&i, 1};
		if (ikev2_hmac(prf->md, key, key_len, c, k, t) != prf->out_len) {
			gvpn_wipe(t, sizeof(t));
			return -EIO;
		}
		take = len - have < prf->out_len ? len - have : prf->out_len;
		memcpy(out + have, t, take);
		have += take;
		i++;
	}
	gvpn_wipe(t, sizeof(t));
	return 0;
}

int
ikev2_derive(struct ikev2_sa *sa, const uint8_t *gir, size_t gir_len)
{
	const struct ikev2_hash_alg *prf = ikev2_prf_alg(sa->chosen.prf);
	const struct ikev2_encr_alg *e =
	    ikev2_encr_alg(sa->chosen.encr.id, sa->chosen.encr.key_bits);
	const struct ikev2_hash_alg *integ = ikev2_integ_alg(sa->chosen.integ);
	uint8_t nonces[IKEV2_NONCE_LEN + sizeof(sa->nr)], seed[IKEV2_PRF_MAX];
	uint8_t km[3 * IKEV2_PRF_MAX + 2 * IKEV2_KEY_MAX + 2 * IKEV2_ENCR_MAX];
	size_t nl = sizeof(sa->ni) + sa->nr_len, off = 0;
	int rc = -EIO;

	if (prf == NULL || e == NULL || (e->icv_len == 0) != (integ != NULL))
		return -ENOTSUP;
	sa->prf_len = prf->out_len;
	sa->integ_len = integ != NULL ? integ->key_len : 0;
	sa->icv_len = integ != NULL ? integ->out_len : e->icv_len;
	sa->encr_len = e->key_len;
	sa->iv_len = e->iv_len;
	sa->block = e->block;

	/* SKEYSEED = prf(Ni | Nr, g^ir); HMAC takes the whole nonces as its key */
	memcpy(nonces, sa->ni, sizeof(sa->ni));
	memcpy(nonces + sizeof(sa->ni), sa->nr, sa->nr_len);
	struct ikev2_chunk g = {gir, gir_len};
	if (ikev2_hmac(prf->md, nonces, nl, &g, 1, seed) != prf->out_len)
		goto out;
	/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
	 *   = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) */
	struct ikev2_chunk s[] = {{nonces, nl}, {sa->spi_i, 8}, {sa->spi_r, 8}};
	size_t total = 3u * sa->prf_len + 2u * sa->integ_len + 2u * sa->encr_len;
	if (ikev2_prf_plus(prf, seed, prf->out_len, s, 3, km, total) != 0)
		goto out;
#define TAKE(dst, n)                                                                               \
	do {                                                                                       \
		memcpy(dst, km + off, n);                                                          \
		off += n;                                                                          \
	} while (0)
	TAKE(sa->sk_d, sa->prf_len);
	TAKE(sa->sk_ai, sa->integ_len);
	TAKE(sa->sk_ar, sa->integ_len);
	TAKE(sa->sk_ei, sa->encr_len);
	TAKE(sa->sk_er, sa->encr_len);
	TAKE(sa->sk_pi, sa->prf_len);
	TAKE(sa->sk_pr, sa->prf_len);
#undef TAKE
	rc = 0;
out:
	gvpn_wipe(seed, sizeof(seed));
	gvpn_wipe(km, sizeof(km));
	gvpn_wipe(nonces, sizeof(nonces));
	return rc;
}

static const EVP_CIPHER *
cipher_of(const struct ikev2_encr_alg *e)
{
	if (e->id == IKEV2_ENCR_AES_GCM_16)
		return e->key_bits == 128   ? EVP_aes_128_gcm()
		       : e->key_bits == 192 ? EVP_aes_192_gcm()
					    : EVP_aes_256_gcm();
	return e->key_bits == 128   ? EVP_aes_128_cbc()
	       : e->key_bits == 192 ? EVP_aes_192_cbc()
				    : EVP_aes_256_cbc();
}

/* CBC, or GCM with @p aad and @p tag (16 bytes: written when encrypting,
 * checked when decrypting). In place is allowed. @return 0, -EACCES (the
 * tag does not verify) or -EIO. */
static int
cipher(const struct ikev2_encr_alg *e, const uint8_t *key, int enc, const uint8_t *iv,
       const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out, size_t len,
       uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int gcm = e->id == IKEV2_ENCR_AES_GCM_16, l1 = 0, l2 = 0, rc = -EIO, ok;
	uint8_t nonce[12];

	if (ctx == NULL)
		return -EIO;
	if (gcm) {
		memcpy(nonce, key + e->key_len - e->salt_len, 4);
		memcpy(nonce + 4, iv, 8);
	}
	ok = EVP_CipherInit_ex(ctx, cipher_of(e), NULL, NULL, NULL, enc) == 1 &&
	     (!gcm || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1) &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, key, gcm ? nonce : iv, enc) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;
	if (ok && gcm && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
	if (ok && gcm)
		ok = EVP_CipherUpdate(ctx, NULL, &l1, aad, (int)aad_len) == 1;
	ok = ok && EVP_CipherUpdate(ctx, out, &l1, in, (int)len) == 1;
	if (ok) {
		if (EVP_CipherFinal_ex(ctx, out + l1, &l2) != 1)
			rc = gcm && !enc ? -EACCES : -EIO;
		else if ((size_t)(l1 + l2) == len &&
			 (!gcm || !enc ||
			  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1))
			rc = 0;
	}
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
ikev2_sk_seal(const struct ikev2_sa *sa, int initiator, const struct ikev2_hdr *h, uint8_t first,
	      const uint8_t *chain, size_t chain_len, uint8_t *out, size_t room)
{
	const struct ikev2_encr_alg *e =
	    ikev2_encr_alg(sa->chosen.encr.id, sa->chosen.encr.key_bits);
	const struct ikev2_hash_alg *integ = ikev2_integ_alg(sa->chosen.integ);
	const uint8_t *ek = initiator ? sa->sk_ei : sa->sk_er;
	const uint8_t *ak = initiator ? sa->sk_ai : sa->sk_ar;
	size_t pad, body, total, sk_off = IKEV2_HDR_LEN;
	struct ikev2_buf b;
	uint8_t *iv, *ct;
	int rc;

	if (e == NULL || sa->encr_len == 0)
		return -EIO;
	/* payloads, padding and its length byte fill whole blocks */
	pad = (e->block - (chain_len + 1) % e->block) % e->block;
	body = chain_len + pad + 1;
	total = IKEV2_HDR_LEN + IKEV2_GEN_LEN + e->iv_len + body + sa->icv_len;
	if (total > room || total > IKEV2_MSG_MAX)
		return -ENOSPC;
	ikev2_buf_init(&b, out, room, h);
	ikev2_buf_begin(&b, IKEV2_P_SK);
	out[sk_off] = first;
	out[sk_off + 2] = (uint8_t)((total - sk_off) >> 8);
	out[sk_off + 3] = (uint8_t)(total - sk_off);
	ikev2_set32(out + 24, (uint32_t)total);
	iv = out + sk_off + IKEV2_GEN_LEN;
	ct = iv + e->iv_len;
	/* RFC 7296 3.14: the IV is random; for GCM unique, which 8 random
	 * bytes per message are under one key for all practical purposes */
	if (RAND_bytes(iv, e->iv_len) != 1)
		return -EIO;
	if (chain_len != 0)
		memmove(ct, chain, chain_len);
	memset(ct + chain_len, 0, pad);
	ct[chain_len + pad] = (uint8_t)pad;
	if (e->id == IKEV2_ENCR_AES_GCM_16) {
		rc = cipher(e, ek, 1, iv, out, sk_off + IKEV2_GEN_LEN, ct, ct, body, ct + body);
		return rc == 0 ? (int)total : rc;
	}
	rc = cipher(e, ek, 1, iv, NULL, 0, ct, ct, body, NULL);
	if (rc != 0 || integ == NULL)
		return rc != 0 ? rc : -EIO;
	uint8_t mac[IKEV2_PRF_MAX];
	struct ikev2_chunk c = {out, total - sa->icv_len};
	if (ikev2_hmac(integ->md, ak, integ->key_len, &c, 1, mac) == 0)
		return -EIO;
	memcpy(out + total - sa->icv_len, mac, sa->icv_len);
	return (int)total;
}

int
ikev2_sk_open(const struct ikev2_sa *sa, int initiator, const uint8_t *msg, size_t len,
	      const struct ikev2_payload *sk, uint8_t *plain, size_t room)
{
	const struct ikev2_encr_alg *e =
	    ikev2_encr_alg(sa->chosen.encr.id, sa->chosen.encr.key_bits);
	const struct ikev2_hash_alg *integ = ikev2_integ_alg(sa->chosen.integ);
	const uint8_t *ek = initiator ? sa->sk_ei : sa->sk_er;
	const uint8_t *ak = initiator ? sa->sk_ai : sa->sk_ar;
	size_t sk_off = (size_t)(sk->raw - msg), body;
	const uint8_t *iv = sk->body, *ct;
	uint8_t tag[16], mac[IKEV2_PRF_MAX];
	int rc;

	if (e == NULL || sa->encr_len == 0)
		return -EIO;
	/* the SK payload ends the message (ikev2_parse_payloads()) */
	if (sk->body_len < e->iv_len + sa->icv_len + 1u || sk_off + sk->len != len)
		return -EBADMSG;
	ct = iv + e->iv_len;
	body = sk->body_len - e->iv_len - sa->icv_len;
	if (body % e->block != 0 || body > room)
		return -EBADMSG;
	if (e->id == IKEV2_ENCR_AES_GCM_16) {
		memcpy(tag, ct + body, 16);
		rc = cipher(e, ek, 0, iv, msg, sk_off + IKEV2_GEN_LEN, ct, plain, body, tag);
		if (rc != 0)
			return rc;
	} else {
		struct ikev2_chunk c = {msg, len - sa->icv_len};

		if (integ == NULL || ikev2_hmac(integ->md, ak, integ->key_len, &c, 1, mac) == 0)
			return -EIO;
		/* integrity first: nothing is decrypted that does not verify */
		if (!gvpn_memeq_ct(mac, msg + len - sa->icv_len, sa->icv_len))
			return -EACCES;
		rc = cipher(e, ek, 0, iv, NULL, 0, ct, plain, body, NULL);
		if (rc != 0)
			return rc;
	}
	if (plain[body - 1] >= body) {
		gvpn_wipe(plain, body);
		return -EBADMSG;
	}
	return (int)(body - 1 - plain[body - 1]);
}
