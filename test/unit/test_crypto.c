/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Known-answer tests of every cipher and integrity algorithm, run against
 * every backend: RFC 3602 / SP 800-38A (AES-CBC), FIPS 81 (DES-CBC), CAVP
 * TCBCMMT3 (3DES-CBC), RFC 2202 (HMAC-MD5/SHA1, truncated per RFC 2403/2404),
 * RFC 4868 (HMAC-SHA-256-128, -384-192, -512-256), draft-mcgrew-gcm-test (AES-GCM ESP,
 * RFC 4106; AES-GMAC ESP, RFC 4543) and NIST CAVP GCM vectors without plaintext (AES-GMAC).
 */
#include <errno.h>
#include <stdlib.h>

#include "test_util.h"
#include "gvpn_crypto.h"
#include "kat_vectors.h"

struct backend_ctx {
	const struct gvpn_crypto_ops *ops;
	void *engine;
	void *sess;
};

static const struct gvpn_crypto_ops *const backends[] = {&gvpn_crypto_ipsecmb,
							 &gvpn_crypto_openssl};

static struct backend_ctx ctx[ARRAY_LEN(backends)];

static int
setup(void **state)
{
	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(backends); b++) {
		ctx[b].ops = backends[b];
		ctx[b].engine = backends[b]->engine_create();
		if (ctx[b].engine == NULL)
			return -1;
		if (posix_memalign(&ctx[b].sess, 64, backends[b]->session_size) != 0)
			return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(backends); b++) {
		ctx[b].ops->engine_free(ctx[b].engine);
		free(ctx[b].sess);
	}
	return 0;
}

static void
session(struct backend_ctx *c, const struct gvpn_crypto_xform *x)
{
	assert_int_equal(c->ops->session_init(c->engine, c->sess, x), 0);
}

static uint8_t
run(struct backend_ctx *c, struct gvpn_crypto_op *op, int decrypt)
{
	uint8_t st = 0xff;

	op->sess = c->sess;
	c->ops->process(c->engine, op, &st, 1, decrypt);
	return st;
}

static void
cipher_kat(enum gvpn_cipher alg, const struct kat_cipher *v, size_t nv)
{
	for (size_t b = 0; b < ARRAY_LEN(backends); b++) {
		for (size_t i = 0; i < nv; i++) {
			struct gvpn_crypto_xform x = {.cipher = alg, .auth = GVPN_AUTH_NONE};
			uint8_t iv[16], pt[256], ct[256], buf[256];
			struct gvpn_crypto_op op = {0};
			size_t n;

			x.cipher_key_len = (uint8_t)unhex(v[i].key, x.cipher_key, GVPN_KEY_MAX);
			unhex(v[i].iv, iv, sizeof(iv));
			n = unhex(v[i].pt, pt, sizeof(pt));
			assert_int_equal(unhex(v[i].ct, ct, sizeof(ct)), n);
			session(&ctx[b], &x);

			memcpy(buf, pt, n);
			op.iv = iv;
			op.data = buf;
			op.data_len = (uint32_t)n;
			op.auth = buf;
			assert_int_equal(run(&ctx[b], &op, 0), GVPN_CRYPTO_OK);
			if (memcmp(buf, ct, n) != 0)
				fail_msg("%s: %s encrypt differs", ctx[b].ops->name, v[i].name);
			assert_int_equal(run(&ctx[b], &op, 1), GVPN_CRYPTO_OK);
			if (memcmp(buf, pt, n) != 0)
				fail_msg("%s: %s decrypt differs", ctx[b].ops->name, v[i].name);
			ctx[b].ops->session_clear(ctx[b].sess);
		}
	}
}

static void
test_aes_cbc_matches_rfc3602_and_sp800_38a(void **state)
{
	(void)state;
	cipher_kat(GVPN_CIPHER_AES_CBC, kat_aes_cbc, ARRAY_LEN(kat_aes_cbc));
}

static void
test_des_cbc_matches_fips81(void **state)
{
	(void)state;
	cipher_kat(GVPN_CIPHER_DES_CBC, kat_des_cbc, ARRAY_LEN(kat_des_cbc));
}

static void
test_3des_cbc_matches_cavp(void **state)
{
	(void)state;
	cipher_kat(GVPN_CIPHER_3DES_CBC, kat_3des_cbc, ARRAY_LEN(kat_3des_cbc));
}

/* Only the vectors whose key has the length ESP uses for the algorithm. */
static void
hmac_kat(enum gvpn_auth alg, const struct kat_hmac *v, size_t nv)
{
	unsigned int klen = gvpn_auth_key_len(alg);

	for (size_t b = 0; b < ARRAY_LEN(backends); b++) {
		size_t used = 0;

		for (size_t i = 0; i < nv; i++) {
			struct gvpn_crypto_xform x = {.cipher = GVPN_CIPHER_NULL, .auth = alg};
			uint8_t data[256], mac[64], icv[64], none[16] = {0};
			struct gvpn_crypto_op op = {0};
			unsigned int icv_len;
			size_t n;

			if (strlen(v[i].key) != 2 * klen)
				continue;
			x.auth_key_len = (uint8_t)unhex(v[i].key, x.auth_key, GVPN_KEY_MAX);
			n = unhex(v[i].data, data, sizeof(data));
			unhex(v[i].mac, mac, sizeof(mac));
			icv_len = gvpn_xform_icv_len(&x);
			session(&ctx[b], &x);

			op.iv = none;
			op.auth = data;
			op.auth_len = (uint32_t)n;
			op.data = data + n;
			op.icv = icv;
			assert_int_equal(run(&ctx[b], &op, 0), GVPN_CRYPTO_OK);
			if (memcmp(icv, mac, icv_len) != 0)
				fail_msg("%s: %s ICV differs", ctx[b].ops->name, v[i].name);
			/* Verification accepts the published ICV and refuses it
			 * with any single bit flipped. */
			memcpy(icv, mac, icv_len);
			assert_int_equal(run(&ctx[b], &op, 1), GVPN_CRYPTO_OK);
			for (unsigned int bit = 0; bit < icv_len * 8; bit += 7) {
				icv[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				assert_int_equal(run(&ctx[b], &op, 1), GVPN_CRYPTO_AUTH_FAILED);
				icv[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			ctx[b].ops->session_clear(ctx[b].sess);
			used++;
		}
		assert_true(used >= 2);
	}
}

static void
test_hmac_md5_96_matches_rfc2202(void **state)
{
	(void)state;
	hmac_kat(GVPN_AUTH_HMAC_MD5_96, kat_hmac_md5, ARRAY_LEN(kat_hmac_md5));
}

static void
test_hmac_sha1_96_matches_rfc2202(void **state)
{
	(void)state;
	hmac_kat(GVPN_AUTH_HMAC_SHA1_96, kat_hmac_sha1, ARRAY_LEN(kat_hmac_sha1));
}

static void
test_hmac_sha256_128_matches_rfc4868(void **state)
{
	(void)state;
	hmac_kat(GVPN_AUTH_HMAC_SHA256_128, kat_hmac_sha256, ARRAY_LEN(kat_hmac_sha256));
}

static void
test_hmac_sha384_192_matches_rfc4868(void **state)
{
	(void)state;
	hmac_kat(GVPN_AUTH_HMAC_SHA384_192, kat_hmac_sha384, ARRAY_LEN(kat_hmac_sha384));
}

static void
test_hmac_sha512_256_matches_rfc4868(void **state)
{
	(void)state;
	hmac_kat(GVPN_AUTH_HMAC_SHA512_256, kat_hmac_sha512, ARRAY_LEN(kat_hmac_sha512));
}

/*
 * AES-GMAC: the tag of [auth, auth + auth_len) under the nonce salt | iv,
 * the bytes themselves untouched; any altered byte of them or of the ICV
 * fails. The ESP vector's payload is the data of the operation, as ESP
 * hands it over; the CAVP vectors have none.
 */
static void
test_aes_gmac_matches_gmac_esp_and_cavp_vectors(void **state)
{
	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(backends); b++) {
		size_t used = 0;

		for (size_t i = 0; i < ARRAY_LEN(kat_aes_gmac); i++) {
			const struct kat_gmac *v = &kat_aes_gmac[i];
			struct gvpn_crypto_xform x = {.cipher = GVPN_CIPHER_AES_GMAC,
						      .auth = GVPN_AUTH_NONE};
			uint8_t iv[8], aad[128], orig[128], tag[16], icv[16];
			struct gvpn_crypto_op op = {0};
			size_t n, k;

			k = unhex(v->key, x.cipher_key, GVPN_KEY_MAX);
			k += unhex(v->salt, x.cipher_key + k, GVPN_KEY_MAX - k);
			x.cipher_key_len = (uint8_t)k;
			unhex(v->iv, iv, sizeof(iv));
			n = unhex(v->aad, aad, sizeof(aad));
			unhex(v->tag, tag, sizeof(tag));
			memcpy(orig, aad, n);
			session(&ctx[b], &x);

			op.iv = iv;
			op.auth = aad;
			op.auth_len = (uint32_t)n;
			/* ESP: the payload follows SPI, sequence number and IV */
			op.data = n > 16 + 8 ? aad + 16 : aad + n;
			op.data_len = (uint32_t)(aad + n - op.data);
			op.icv = icv;
			assert_int_equal(run(&ctx[b], &op, 0), GVPN_CRYPTO_OK);
			if (memcmp(icv, tag, sizeof(tag)) != 0)
				fail_msg("%s: %s tag differs", ctx[b].ops->name, v->name);
			assert_memory_equal(aad, orig, n);
			assert_int_equal(run(&ctx[b], &op, 1), GVPN_CRYPTO_OK);
			assert_memory_equal(aad, orig, n);
			/* A flipped bit anywhere in the AAD, or in the ICV, fails. */
			for (size_t bit = 0; bit < n * 8; bit += 13) {
				aad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				assert_int_equal(run(&ctx[b], &op, 1), GVPN_CRYPTO_AUTH_FAILED);
				aad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			icv[15] ^= 0x80;
			assert_int_equal(run(&ctx[b], &op, 1), GVPN_CRYPTO_AUTH_FAILED);
			ctx[b].ops->session_clear(ctx[b].sess);
			used++;
		}
		assert_true(used >= 7);
	}
}

/* ESP vectors with an 8-byte AAD (no extended sequence numbers). */
static void
test_aes_gcm_matches_gcm_esp_vectors(void **state)
{
	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(backends); b++) {
		size_t used = 0;

		for (size_t i = 0; i < ARRAY_LEN(kat_aes_gcm); i++) {
			const struct kat_gcm *v = &kat_aes_gcm[i];
			struct gvpn_crypto_xform x = {.cipher = GVPN_CIPHER_AES_GCM,
						      .auth = GVPN_AUTH_NONE};
			uint8_t iv[8], aad[16], pt[128], ct[128], tag[16], buf[128], icv[16];
			struct gvpn_crypto_op op = {0};
			size_t n, k;

			if (strlen(v->aad) != 16)
				continue;
			k = unhex(v->key, x.cipher_key, GVPN_KEY_MAX);
			k += unhex(v->salt, x.cipher_key + k, GVPN_KEY_MAX - k);
			x.cipher_key_len = (uint8_t)k;
			unhex(v->iv, iv, sizeof(iv));
			unhex(v->aad, aad, sizeof(aad));
			n = unhex(v->pt, pt, sizeof(pt));
			assert_int_equal(unhex(v->ct, ct, sizeof(ct)), n);
			unhex(v->tag, tag, sizeof(tag));
			session(&ctx[b], &x);

			memcpy(buf, pt, n);
			op.iv = iv;
			op.auth = aad;
			op.data = buf;
			op.data_len = (uint32_t)n;
			op.icv = icv;
			assert_int_equal(run(&ctx[b], &op, 0), GVPN_CRYPTO_OK);
			if (memcmp(buf, ct, n) != 0 || memcmp(icv, tag, 16) != 0)
				fail_msg("%s: %s encrypt differs", ctx[b].ops->name, v->name);
			assert_int_equal(run(&ctx[b], &op, 1), GVPN_CRYPTO_OK);
			assert_memory_equal(buf, pt, n);
			/* A flipped AAD bit (SPI) fails the tag. */
			memcpy(buf, ct, n);
			aad[0] ^= 1;
			assert_int_equal(run(&ctx[b], &op, 1), GVPN_CRYPTO_AUTH_FAILED);
			ctx[b].ops->session_clear(ctx[b].sess);
			used++;
		}
		assert_true(used >= 3);
	}
}

static void
test_invalid_xforms_are_refused(void **state)
{
	static const struct {
		const char *what;
		enum gvpn_cipher c;
		uint8_t clen;
		enum gvpn_auth a;
		uint8_t alen;
	} cases[] = {
	    {"des key 7 bytes", GVPN_CIPHER_DES_CBC, 7, GVPN_AUTH_HMAC_SHA1_96, 20},
	    {"3des key 16 bytes", GVPN_CIPHER_3DES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96, 20},
	    {"aes key 20 bytes", GVPN_CIPHER_AES_CBC, 20, GVPN_AUTH_HMAC_SHA1_96, 20},
	    {"gcm without salt", GVPN_CIPHER_AES_GCM, 16, GVPN_AUTH_NONE, 0},
	    {"gcm-192", GVPN_CIPHER_AES_GCM, 28, GVPN_AUTH_NONE, 0},
	    {"gcm with hmac", GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_HMAC_SHA1_96, 20},
	    {"gmac without salt", GVPN_CIPHER_AES_GMAC, 32, GVPN_AUTH_NONE, 0},
	    {"gmac-192", GVPN_CIPHER_AES_GMAC, 28, GVPN_AUTH_NONE, 0},
	    {"gmac with hmac", GVPN_CIPHER_AES_GMAC, 20, GVPN_AUTH_HMAC_SHA256_128, 32},
	    {"sha1 key 16 bytes", GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96, 16},
	    {"md5 key 20 bytes", GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_MD5_96, 20},
	    {"sha256 key 20 bytes", GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA256_128, 20},
	    {"sha384 key 32 bytes", GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA384_192, 32},
	    {"sha512 key 48 bytes", GVPN_CIPHER_3DES_CBC, 24, GVPN_AUTH_HMAC_SHA512_256, 48},
	    {"null and none", GVPN_CIPHER_NULL, 0, GVPN_AUTH_NONE, 0},
	    {"cipher out of range", GVPN_CIPHER_MAX, 16, GVPN_AUTH_NONE, 0},
	    {"auth out of range", GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_MAX, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct gvpn_crypto_xform x = {.cipher = cases[i].c,
					      .cipher_key_len = cases[i].clen,
					      .auth = cases[i].a,
					      .auth_key_len = cases[i].alen};

		if (gvpn_xform_check(&x) != -EINVAL)
			fail_msg("accepted: %s", cases[i].what);
		for (size_t b = 0; b < ARRAY_LEN(backends); b++)
			assert_int_equal(ctx[b].ops->session_init(ctx[b].engine, ctx[b].sess, &x),
					 -EINVAL);
	}
}

static void
test_algorithm_names_round_trip(void **state)
{
	(void)state;
	for (int c = 0; c < GVPN_CIPHER_MAX; c++) {
		enum gvpn_cipher got;

		assert_int_equal(gvpn_cipher_parse(gvpn_cipher_name(c), &got), 0);
		assert_int_equal(got, c);
	}
	for (int a = 0; a < GVPN_AUTH_MAX; a++) {
		enum gvpn_auth got;

		assert_int_equal(gvpn_auth_parse(gvpn_auth_name(a), &got), 0);
		assert_int_equal(got, a);
	}
	enum gvpn_cipher c;
	assert_int_equal(gvpn_cipher_parse("aes-cbc-128", &c), -EINVAL);
	assert_ptr_equal(gvpn_crypto_find("ipsecmb"), &gvpn_crypto_ipsecmb);
	assert_ptr_equal(gvpn_crypto_find("openssl"), &gvpn_crypto_openssl);
	assert_null(gvpn_crypto_find("qat"));
}

/*
 * process() calls that take every route of a backend: a burst of one
 * algorithm and one length under two sessions with different keys (for
 * IPsec-MB, AES-CBC + HMAC encryption takes its cipher and hash bursts only
 * then), bursts of GCM-128 and GCM-256, a burst mixing every algorithm, a
 * short burst of two AES-CBC + HMAC algorithms with different key and ICV
 * lengths, a call longer than a backend's chunk (IPsec-MB: 128
 * operations) whose lengths vary and whose second chunk mixes algorithms,
 * bursts of GMAC-128 and GMAC-256, of AES-CBC + HMAC-SHA-384 with varying
 * lengths and of AES-CBC + HMAC-SHA-512 with one length.
 * Every backend must produce the same bytes and ICVs as every other, open
 * them again, and refuse exactly the operations whose ICV or ciphertext was
 * altered.
 */
enum { MIX_OPS = 460, MIX_LEN = 160, MIX_HDR = 24 };

static const struct {
	enum gvpn_cipher c;
	uint8_t clen;
	enum gvpn_auth a;
} mix_algs[] = {
    {GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96},
    {GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96}, /* same algorithm, other keys */
    {GVPN_CIPHER_AES_CBC, 32, GVPN_AUTH_HMAC_SHA256_128},
    {GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE},
    {GVPN_CIPHER_3DES_CBC, 24, GVPN_AUTH_HMAC_MD5_96},
    {GVPN_CIPHER_AES_GCM, 36, GVPN_AUTH_NONE},
    {GVPN_CIPHER_AES_GMAC, 20, GVPN_AUTH_NONE},
    {GVPN_CIPHER_AES_GMAC, 36, GVPN_AUTH_NONE},
    {GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA384_192},
    {GVPN_CIPHER_AES_CBC, 32, GVPN_AUTH_HMAC_SHA512_256},
};

/* The calls: [start, end) of the operations. */
static const unsigned int mix_calls[][2] = {{0, 32},	{32, 64},   {64, 96},	{96, 100},
					    {100, 300}, {300, 332}, {332, 364}, {364, 396},
					    {396, 428}, {428, 460}};

static size_t
mix_session_of(unsigned int i)
{
	if (i < 32)
		return i % 2;
	if (i < 64)
		return 3;
	if (i < 96)
		return i % ARRAY_LEN(mix_algs);
	if (i < 98)
		return 0; /* then AES-256 + SHA-256: the same route, other parameters */
	if (i == 250)
		return 4;
	if (i >= 300 && i < 332)
		return 5;
	if (i >= 332)
		return 6 + (i - 332) / 32; /* GMAC-128, GMAC-256, SHA-384, SHA-512 */
	return 2;
}

/* Operations of one length: the first call, and the HMAC-SHA-512 one. */
static int
mix_same_len(unsigned int i)
{
	return i < 32 || (i >= 428 && i < 460);
}

static unsigned int
mix_icv_len(unsigned int i)
{
	size_t a = mix_session_of(i);
	struct gvpn_crypto_xform x = {.cipher = mix_algs[a].c, .auth = mix_algs[a].a};

	return gvpn_xform_icv_len(&x);
}

/* Run the calls; the number of operations that succeeded. */
static unsigned int
mix_process(size_t b, struct gvpn_crypto_op *op, uint8_t *st, int decrypt)
{
	unsigned int good = 0;

	for (size_t c = 0; c < ARRAY_LEN(mix_calls); c++) {
		unsigned int from = mix_calls[c][0], n = mix_calls[c][1] - from;

		good +=
		    ctx[b].ops->process(ctx[b].engine, op + from, st + from, (uint16_t)n, decrypt);
	}
	return good;
}

struct mix_run {
	uint8_t buf[MIX_OPS][MIX_HDR + MIX_LEN];
	uint8_t icv[MIX_OPS][32];
	struct gvpn_crypto_op op[MIX_OPS];
	uint8_t st[MIX_OPS];
};

static void
mix_prepare(struct mix_run *r, void *const sess[])
{
	for (unsigned int i = 0; i < MIX_OPS; i++) {
		size_t a = mix_session_of(i);
		unsigned int block = mix_algs[a].c == GVPN_CIPHER_3DES_CBC ? 8 : 16;
		struct gvpn_crypto_op *op = &r->op[i];

		for (unsigned int k = 0; k < sizeof(r->buf[i]); k++)
			r->buf[i][k] = (uint8_t)(i * 7 + k);
		memset(r->icv[i], 0, sizeof(r->icv[i]));
		op->sess = sess[a];
		op->auth = r->buf[i];
		op->iv = r->buf[i] + 8;
		op->data = r->buf[i] + MIX_HDR;
		op->data_len = mix_same_len(i) ? 64 : block * (1 + i % (MIX_LEN / 16));
		if (gvpn_cipher_is_counter(mix_algs[a].c) && i % 3 == 0)
			op->data_len -= 3; /* GCM and GMAC take any length */
		op->auth_len = MIX_HDR + op->data_len;
		op->icv = r->icv[i];
	}
}

static void
test_mixed_bursts_agree_across_backends(void **state)
{
	static struct mix_run runs[ARRAY_LEN(backends)];
	void *sess[ARRAY_LEN(backends)][ARRAY_LEN(mix_algs)];

	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(backends); b++) {
		for (size_t a = 0; a < ARRAY_LEN(mix_algs); a++) {
			struct gvpn_crypto_xform x = {.cipher = mix_algs[a].c,
						      .cipher_key_len = mix_algs[a].clen,
						      .auth = mix_algs[a].a};

			x.auth_key_len = (uint8_t)gvpn_auth_key_len(x.auth);
			for (unsigned int k = 0; k < GVPN_KEY_MAX; k++) {
				x.cipher_key[k] = (uint8_t)(a * 31 + k);
				x.auth_key[k] = (uint8_t)(a * 17 + k + 1);
			}
			assert_int_equal(posix_memalign(&sess[b][a], 64, backends[b]->session_size),
					 0);
			assert_int_equal(ctx[b].ops->session_init(ctx[b].engine, sess[b][a], &x),
					 0);
		}
		mix_prepare(&runs[b], sess[b]);
		assert_int_equal(mix_process(b, runs[b].op, runs[b].st, 0), MIX_OPS);
	}
	for (unsigned int i = 0; i < MIX_OPS; i++) {
		for (size_t b = 1; b < ARRAY_LEN(backends); b++) {
			if (memcmp(runs[0].buf[i], runs[b].buf[i], sizeof(runs[0].buf[i])) != 0 ||
			    memcmp(runs[0].icv[i], runs[b].icv[i], mix_icv_len(i)) != 0)
				fail_msg("operation %u: %s and %s differ", i, backends[0]->name,
					 backends[b]->name);
		}
	}
	/* Alter an ICV in every call and in both chunks of the long one, and
	 * one ciphertext byte; open. */
	for (size_t b = 0; b < ARRAY_LEN(backends); b++) {
		struct mix_run *r = &runs[b];
		static const unsigned int bad[] = {5,	40,  70,  71,  98,  150,
						   251, 340, 341, 370, 400, 440};

		r->icv[5][0] ^= 0x01;
		r->icv[40][15] ^= 0x80;
		r->icv[70][3] ^= 0x10;
		r->buf[71][MIX_HDR] ^= 0x04;
		r->icv[98][11] ^= 0x02;
		r->icv[150][7] ^= 0x40;
		r->icv[251][0] ^= 0xff;
		r->icv[340][15] ^= 0x01;	  /* GMAC-128 */
		r->buf[341][MIX_HDR + 5] ^= 0x20; /* GMAC-128: the payload is authenticated */
		r->buf[370][2] ^= 0x01;		  /* GMAC-256: SPI */
		r->icv[400][23] ^= 0x08;	  /* HMAC-SHA-384-192: last byte */
		r->icv[440][31] ^= 0x04;	  /* HMAC-SHA-512-256: last byte */
		assert_int_equal(mix_process(b, r->op, r->st, 1), MIX_OPS - ARRAY_LEN(bad));
		for (unsigned int i = 0, k = 0; i < MIX_OPS; i++) {
			if (k < ARRAY_LEN(bad) && bad[k] == i) {
				if (r->st[i] != GVPN_CRYPTO_AUTH_FAILED)
					fail_msg("%s: altered operation %u not refused",
						 backends[b]->name, i);
				k++;
				continue;
			}
			if (r->st[i] != GVPN_CRYPTO_OK)
				fail_msg("%s: operation %u refused", backends[b]->name, i);
			for (unsigned int j = 0; j < r->op[i].data_len; j++)
				if (r->op[i].data[j] != (uint8_t)(i * 7 + MIX_HDR + j))
					fail_msg("%s: operation %u opened wrong", backends[b]->name,
						 i);
		}
		for (size_t a = 0; a < ARRAY_LEN(mix_algs); a++) {
			ctx[b].ops->session_clear(sess[b][a]);
			free(sess[b][a]);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_invalid_xforms_are_refused),
	    cmocka_unit_test(test_algorithm_names_round_trip),
	    cmocka_unit_test(test_aes_cbc_matches_rfc3602_and_sp800_38a),
	    cmocka_unit_test(test_des_cbc_matches_fips81),
	    cmocka_unit_test(test_3des_cbc_matches_cavp),
	    cmocka_unit_test(test_hmac_md5_96_matches_rfc2202),
	    cmocka_unit_test(test_hmac_sha1_96_matches_rfc2202),
	    cmocka_unit_test(test_hmac_sha256_128_matches_rfc4868),
	    cmocka_unit_test(test_hmac_sha384_192_matches_rfc4868),
	    cmocka_unit_test(test_hmac_sha512_256_matches_rfc4868),
	    cmocka_unit_test(test_aes_gmac_matches_gmac_esp_and_cavp_vectors),
	    cmocka_unit_test(test_aes_gcm_matches_gcm_esp_vectors),
	    cmocka_unit_test(test_mixed_bursts_agree_across_backends),
	};

	return cmocka_run_group_tests_name("crypto", tests, setup, teardown);
}
