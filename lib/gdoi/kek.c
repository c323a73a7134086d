/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The KEK's algorithms (RFC 6407 5.3.2, 5.3.5, 5.3.6): which ones a member
 * takes, its key's layout (explicit IV, then the key: 5.6.2.1), decryption
 * of a push and the check of its signature.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "gdoi_private.h"

/* The KEK's cipher and the length of its key (without the IV). */
static const EVP_CIPHER *
kek_cipher(const struct gdoi_kek *k, uint16_t *key_len)
{
	switch (k->alg) {
	case KEK_ALG_3DES:
		*key_len = 24;
		return EVP_des_ede3_cbc();
	case KEK_ALG_AES:
		switch (k->key_bits == 0 ? 128 : k->key_bits) {
		case 128:
			*key_len = 16;
			return EVP_aes_128_cbc();
		case 192:
			*key_len = 24;
			return EVP_aes_192_cbc();
		case 256:
			*key_len = 32;
			return EVP_aes_256_cbc();
		default:
			return NULL;
		}
	default:
		return NULL; /* DES: below the 112 bits RFC 6407 section 6 asks for */
	}
}

static const EVP_MD *
sig_md(uint8_t sig_hash)
{
	switch (sig_hash) {
	case SIG_HASH_SHA1:
		return EVP_sha1();
	case SIG_HASH_SHA256:
		return EVP_sha256();
	case SIG_HASH_SHA384:
		return EVP_sha384();
	case SIG_HASH_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

static EVP_PKEY *
sig_pubkey(const struct gdoi_kek *k)
{
	const uint8_t *p = k->sig_key;

	return d2i_PUBKEY(NULL, &p, k->sig_key_len);
}

uint32_t
gdoi_kek_seq_floor(const struct gdoi_kek *held, uint32_t floor, const struct gdoi_kek *next,
		   uint32_t next_seq)
{
	if (held != NULL && next != NULL && memcmp(held->spi, next->spi, sizeof(held->spi)) == 0)
		return floor > next_seq ? floor : next_seq;
	return next_seq;
}

int
gdoi_kek_check(struct gdoi_kek *k, const char **why)
{
	const EVP_CIPHER *c;
	uint16_t key_len = 0;
	EVP_PKEY *pub;
	int bits, rsa;

	c = kek_cipher(k, &key_len);
	if (c == NULL) {
		*why = "KEK algorithm not supported (3DES or AES-CBC)";
		return -ENOTSUP;
	}
	k->iv_len = (uint8_t)EVP_CIPHER_get_iv_length(c);
	if (k->key_len != k->iv_len + key_len) {
		*why = "KEK_ALGORITHM_KEY is not the explicit IV and a key of the KEK's length";
		return -EINVAL;
	}
	if (k->sig_alg != SIG_ALG_RSA || sig_md(k->sig_hash) == NULL) {
		*why = "KEK signature is not RSA with SHA-1 or SHA-2";
		return -ENOTSUP;
	}
	if (k->sig_key_len == 0 || (pub = sig_pubkey(k)) == NULL) {
		*why = "KEK signature key missing or not a public key";
		return -EINVAL;
	}
	rsa = EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;
	bits = EVP_PKEY_get_bits(pub);
	EVP_PKEY_free(pub);
	if (!rsa || bits < 1024 || (k->sig_key_bits != 0 && bits != k->sig_key_bits)) {
		*why = "KEK signature key is not an RSA key of the announced size (>= 1024 bits)";
		return -EINVAL;
	}
	return 0;
}

int
gdoi_kek_decrypt(const struct gdoi_kek *k, const uint8_t *in, size_t len, uint8_t *out)
{
	uint16_t key_len;
	const EVP_CIPHER *c = kek_cipher(k, &key_len);
	EVP_CIPHER_CTX *ctx;
	int n = 0, ok;

	if (c == NULL || k->iv_len == 0)
		return -ENOTSUP;
	if (len == 0 || len % k->iv_len != 0)
		return -EBADMSG;
	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL && EVP_DecryptInit_ex(ctx, c, NULL, k->key + k->iv_len, k->key) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_DecryptUpdate(ctx, out, &n, in, (int)len) == 1 && (size_t)n == len;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

/*
 * The GDOI reference key server's signature: PKCS #1 v1.5 type 1 padding of
 * the bare digest (RSA_private_encrypt(), no DigestInfo), and the header
 * hashed with the length the message had before padding and encryption
 * (header, payloads, SIG). The digest recovered must be the whole of what
 * the key's padding holds and equal the one computed.
 */
static int
verify_bare_digest(EVP_PKEY *pub, const struct gdoi_kek *k, const uint8_t *hdr,
		   const uint8_t *signed_part, size_t signed_len, const struct isakmp_payload *sig)
{
	const EVP_MD *md = sig_md(k->sig_hash);
	uint8_t h[ISAKMP_HDR_LEN], want[EVP_MAX_MD_SIZE], got[1024];
	size_t unpadded = ISAKMP_HDR_LEN + signed_len + sig->len, got_len = sizeof(got);
	unsigned int want_len = 0;
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(pub, NULL);
	int ok;

	memcpy(h, hdr, sizeof(h));
	isakmp_set32(h + 24, (uint32_t)unpadded);
	ok = md != NULL && mctx != NULL && pctx != NULL && sig->body_len <= sizeof(got) &&
	     EVP_DigestInit_ex(mctx, md, NULL) == 1 && EVP_DigestUpdate(mctx, "rekey", 5) == 1 &&
	     EVP_DigestUpdate(mctx, h, sizeof(h)) == 1 &&
	     EVP_DigestUpdate(mctx, signed_part, signed_len) == 1 &&
	     EVP_DigestFinal_ex(mctx, want, &want_len) == 1 &&
	     EVP_PKEY_verify_recover_init(pctx) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
	     EVP_PKEY_verify_recover(pctx, got, &got_len, sig->body, sig->body_len) == 1 &&
	     got_len == want_len && CRYPTO_memcmp(got, want, want_len) == 0;
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

int
gdoi_kek_verify(const struct gdoi_kek *k, const uint8_t *hdr, const uint8_t *signed_part,
		size_t signed_len, const struct isakmp_payload *sig, enum gdoi_habits habits)
{
	EVP_PKEY *pub = sig_pubkey(k);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	/* RSASSA-PKCS1-v1_5 (RFC 6407 5.3.6.1) over "rekey" | HDR | payloads */
	ok = pub != NULL && ctx != NULL && sig->body_len == (size_t)EVP_PKEY_get_size(pub) &&
	     EVP_DigestVerifyInit(ctx, NULL, sig_md(k->sig_hash), NULL, pub) == 1 &&
	     EVP_DigestVerifyUpdate(ctx, "rekey", 5) == 1 &&
	     EVP_DigestVerifyUpdate(ctx, hdr, ISAKMP_HDR_LEN) == 1 &&
	     EVP_DigestVerifyUpdate(ctx, signed_part, signed_len) == 1 &&
	     EVP_DigestVerifyFinal(ctx, sig->body, sig->body_len) == 1;
	if (!ok && habits == GDOI_HABITS_REFERENCE && pub != NULL &&
	    sig->body_len == (size_t)EVP_PKEY_get_size(pub))
		ok = verify_bare_digest(pub, k, hdr, signed_part, signed_len, sig);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pub);
	return ok ? 0 : -EACCES;
}
