/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OpenSSL EVP backend: the reference that the fast backend is checked
 * against. Correct and simple rather than fast: keys are set per operation
 * and HMAC uses the one-shot call, both of which allocate inside OpenSSL.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/provider.h>

#include "gvpn_common.h"
#include "gvpn_crypto.h"

struct ossl_session;
/* One operation of a session's algorithms, chosen when the session is made. */
typedef enum gvpn_crypto_status (*ossl_one_fn)(EVP_CIPHER_CTX *c, const struct ossl_session *s,
					       const struct gvpn_crypto_op *op, int decrypt);

struct ossl_session {
	struct gvpn_crypto_xform x;
	const EVP_CIPHER *cipher;
	const EVP_MD *md;
	ossl_one_fn one;
	unsigned int icv_len;
	unsigned int key_len; /* without the GCM/GMAC salt */
};

struct ossl_engine {
	EVP_CIPHER_CTX *ctx;
};

static pthread_once_t providers_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *des_cbc; /* single DES lives in the legacy provider */

static void
providers_load(void)
{
	/* Loading one provider explicitly stops the default from loading
	 * implicitly, so both are named. */
	if (OSSL_PROVIDER_load(NULL, "legacy") != NULL && OSSL_PROVIDER_load(NULL, "default"))
		des_cbc = EVP_CIPHER_fetch(NULL, "DES-CBC", NULL);
}

static void *
ossl_engine_create(void)
{
	struct ossl_engine *e;

	pthread_once(&providers_once, providers_load);
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	e->ctx = EVP_CIPHER_CTX_new();
	if (e->ctx == NULL) {
		free(e);
		errno = ENOMEM;
		return NULL;
	}
	return e;
}

static void
ossl_engine_free(void *engine)
{
	struct ossl_engine *e = engine;

	if (e == NULL)
		return;
	EVP_CIPHER_CTX_free(e->ctx);
	free(e);
}

static enum gvpn_crypto_status ossl_gcm(EVP_CIPHER_CTX *c, const struct ossl_session *s,
					const struct gvpn_crypto_op *op, int decrypt);
static enum gvpn_crypto_status ossl_gmac(EVP_CIPHER_CTX *c, const struct ossl_session *s,
					 const struct gvpn_crypto_op *op, int decrypt);
static enum gvpn_crypto_status ossl_cbc_hmac(EVP_CIPHER_CTX *c, const struct ossl_session *s,
					     const struct gvpn_crypto_op *op, int decrypt);

static int
ossl_session_init(void *engine, void *sess, const struct gvpn_crypto_xform *x)
{
	struct ossl_session *s = sess;
	unsigned int klen = x->cipher_key_len;

	(void)engine;
	if (gvpn_xform_check(x) != 0)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->x = *x;
	s->icv_len = gvpn_xform_icv_len(x);
	s->key_len = klen;
	switch (x->cipher) {
	case GVPN_CIPHER_NULL:
		break;
	case GVPN_CIPHER_DES_CBC:
		s->cipher = des_cbc;
		if (s->cipher == NULL)
			return -ENOTSUP;
		break;
	case GVPN_CIPHER_3DES_CBC:
		s->cipher = EVP_des_ede3_cbc();
		break;
	case GVPN_CIPHER_AES_CBC:
		s->cipher = klen == 16	 ? EVP_aes_128_cbc()
			    : klen == 24 ? EVP_aes_192_cbc()
					 : EVP_aes_256_cbc();
		break;
	case GVPN_CIPHER_AES_GCM:
		s->key_len = klen - GVPN_GCM_SALT_LEN;
		s->cipher = s->key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
		s->one = ossl_gcm;
		return 0;
	case GVPN_CIPHER_AES_GMAC:
		s->key_len = klen - GVPN_GCM_SALT_LEN;
		s->cipher = s->key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
		s->one = ossl_gmac;
		return 0;
	default:
		return -ENOTSUP;
	}
	s->one = ossl_cbc_hmac;
	switch (x->auth) {
	case GVPN_AUTH_HMAC_MD5_96:
		s->md = EVP_md5();
		break;
	case GVPN_AUTH_HMAC_SHA1_96:
		s->md = EVP_sha1();
		break;
	case GVPN_AUTH_HMAC_SHA256_128:
		s->md = EVP_sha256();
		break;
	case GVPN_AUTH_HMAC_SHA384_192:
		s->md = EVP_sha384();
		break;
	case GVPN_AUTH_HMAC_SHA512_256:
		s->md = EVP_sha512();
		break;
	default:
		s->md = NULL;
		break;
	}
	return 0;
}

static void
ossl_session_clear(void *sess)
{
	gvpn_wipe(sess, sizeof(struct ossl_session));
}

static int
ossl_hmac(const struct ossl_session *s, const struct gvpn_crypto_op *op, uint8_t *out)
{
	unsigned int len = 0;

	return HMAC(s->md, s->x.auth_key, s->x.auth_key_len, op->auth, op->auth_len, out, &len) !=
		       NULL
		   ? 0
		   : -1;
}

static int
ossl_cbc(EVP_CIPHER_CTX *c, const struct ossl_session *s, const struct gvpn_crypto_op *op, int enc)
{
	int l1 = 0, l2 = 0;

	if (EVP_CipherInit_ex(c, s->cipher, NULL, s->x.cipher_key, op->iv, enc) != 1)
		return -1;
	EVP_CIPHER_CTX_set_padding(c, 0);
	if (EVP_CipherUpdate(c, op->data, &l1, op->data, (int)op->data_len) != 1)
		return -1;
	if (EVP_CipherFinal_ex(c, op->data + l1, &l2) != 1)
		return -1;
	return (unsigned int)(l1 + l2) == op->data_len ? 0 : -1;
}

/* GCM over @p aad and, in place, the first @p data_len bytes of op->data;
 * the tag is op->icv. GMAC is GCM with everything in the AAD and nothing
 * to cipher (RFC 4543 3). */
static enum gvpn_crypto_status
ossl_gcm_run(EVP_CIPHER_CTX *c, const struct ossl_session *s, const struct gvpn_crypto_op *op,
	     const uint8_t *aad, uint32_t aad_len, uint32_t data_len, int enc)
{
	uint8_t nonce[12];
	int l = 0;

	memcpy(nonce, s->x.cipher_key + s->key_len, GVPN_GCM_SALT_LEN);
	memcpy(nonce + GVPN_GCM_SALT_LEN, op->iv, 8);
	if (EVP_CipherInit_ex(c, s->cipher, NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, sizeof(nonce), NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, s->x.cipher_key, nonce, enc) != 1)
		return GVPN_CRYPTO_ERROR;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GVPN_GCM_ICV_LEN, op->icv) != 1)
		return GVPN_CRYPTO_ERROR;
	if (EVP_CipherUpdate(c, NULL, &l, aad, (int)aad_len) != 1)
		return GVPN_CRYPTO_ERROR;
	if (data_len != 0 && EVP_CipherUpdate(c, op->data, &l, op->data, (int)data_len) != 1)
		return GVPN_CRYPTO_ERROR;
	if (EVP_CipherFinal_ex(c, op->data + data_len, &l) != 1)
		return enc ? GVPN_CRYPTO_ERROR : GVPN_CRYPTO_AUTH_FAILED;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GVPN_GCM_ICV_LEN, op->icv) != 1)
		return GVPN_CRYPTO_ERROR;
	return GVPN_CRYPTO_OK;
}

/* AES-GCM ESP (RFC 4106): the AAD is SPI and sequence number. */
static enum gvpn_crypto_status
ossl_gcm(EVP_CIPHER_CTX *c, const struct ossl_session *s, const struct gvpn_crypto_op *op,
	 int decrypt)
{
	return ossl_gcm_run(c, s, op, op->auth, 8, op->data_len, !decrypt);
}

/* AES-GMAC ESP (RFC 4543 3.3): the AAD is everything, nothing is ciphered. */
static enum gvpn_crypto_status
ossl_gmac(EVP_CIPHER_CTX *c, const struct ossl_session *s, const struct gvpn_crypto_op *op,
	  int decrypt)
{
	return ossl_gcm_run(c, s, op, op->auth, op->auth_len, 0, !decrypt);
}

/* CBC (or null) with HMAC (or none). */
static enum gvpn_crypto_status
ossl_cbc_hmac(EVP_CIPHER_CTX *c, const struct ossl_session *s, const struct gvpn_crypto_op *op,
	      int decrypt)
{
	uint8_t mac[EVP_MAX_MD_SIZE];

	if (decrypt && s->md != NULL) {
		/* Verify before a single byte is decrypted. */
		if (ossl_hmac(s, op, mac) != 0)
			return GVPN_CRYPTO_ERROR;
		if (!gvpn_memeq_ct(mac, op->icv, s->icv_len))
			return GVPN_CRYPTO_AUTH_FAILED;
	}
	if (s->cipher != NULL && ossl_cbc(c, s, op, !decrypt) != 0)
		return GVPN_CRYPTO_ERROR;
	if (!decrypt && s->md != NULL) {
		if (ossl_hmac(s, op, mac) != 0)
			return GVPN_CRYPTO_ERROR;
		memcpy(op->icv, mac, s->icv_len);
	}
	return GVPN_CRYPTO_OK;
}

static uint16_t
ossl_process(void *engine, struct gvpn_crypto_op ops[], uint8_t status[], uint16_t n, int decrypt)
{
	uint16_t good = 0;

	for (uint16_t i = 0; i < n; i++) {
		const struct ossl_session *s = ops[i].sess;

		status[i] =
		    (uint8_t)s->one(((struct ossl_engine *)engine)->ctx, s, &ops[i], decrypt);
		good += status[i] == GVPN_CRYPTO_OK;
	}
	/* The context holds the last key's schedule in OpenSSL's own heap:
	 * drop it (OpenSSL wipes it) so no key outlives its burst there. */
	if (n != 0)
		EVP_CIPHER_CTX_reset(((struct ossl_engine *)engine)->ctx);
	return good;
}

const struct gvpn_crypto_ops gvpn_crypto_openssl = {
    .name = "openssl",
    .session_size = sizeof(struct ossl_session),
    .session_init = ossl_session_init,
    .session_clear = ossl_session_clear,
    .engine_create = ossl_engine_create,
    .engine_free = ossl_engine_free,
    .process = ossl_process,
};
