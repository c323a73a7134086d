/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IKEv2 core: malformed messages refused by reason; the key schedule
 * against prf+ computed here with OpenSSL's one-shot HMAC(), apart from
 * the library's code; the Encrypted payload's round trips, its CBC+HMAC
 * ICV checked here independently, and tampering refused; the initiator's
 * exchange driven by a responder played here (COOKIE, INVALID_KE_PAYLOAD,
 * a proposal not offered, AUTH checked both ways, duplicates, the peer's
 * requests and Delete).
 */
#include <errno.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "test_util.h"
#include "gvpn_ikev2.h"
#include "ikev2_private.h"

static const char psk[] = "unit-test-pre-shared-key-0123";

/* ---- codec ---- */

static size_t
msg_with(uint8_t *b, uint8_t first, const uint8_t *chain, size_t len)
{
	memset(b, 0, IKEV2_HDR_LEN);
	memcpy(b, "initspi!", 8);
	b[16] = first;
	b[17] = IKEV2_VERSION;
	b[18] = IKEV2_EXCH_IKE_SA_INIT;
	b[19] = IKEV2_FLAG_RESPONSE;
	if (len != 0)
		memcpy(b + IKEV2_HDR_LEN, chain, len);
	ikev2_set32(b + 24, (uint32_t)(IKEV2_HDR_LEN + len));
	return IKEV2_HDR_LEN + len;
}

#define SCRIPT(X) X(SA, 1, 1) X(NONCE, 0, 1) X(NOTIFY, 0, 2)
IKEV2_SCRIPT(t_script, "test", SCRIPT);

static void
test_malformed_messages_are_refused_by_reason(void **state)
{
	static const struct {
		const char *name;
		uint8_t first;
		uint8_t chain[40];
		size_t len;
		enum ikev2_err want;
	} cases[] = {
	    {"payload header cut", IKEV2_P_SA, {0, 0}, 2, IKEV2_ERR_SHORT_PAYLOAD},
	    {"length under the type's minimum",
	     IKEV2_P_KE,
	     {0, 0, 0, 6, 0, 14},
	     6,
	     IKEV2_ERR_PAYLOAD_TOO_SHORT},
	    {"length past the end",
	     IKEV2_P_SA,
	     {0, 0, 0, 12, 1, 2, 3, 4},
	     8,
	     IKEV2_ERR_PAYLOAD_OVERRUN},
	    {"unknown critical payload",
	     200,
	     {IKEV2_P_SA, 0x80, 0, 4, 0, 0, 0, 4},
	     8,
	     IKEV2_ERR_CRITICAL},
	    {"payload the step does not allow",
	     IKEV2_P_SA,
	     {IKEV2_P_KE, 0, 0, 4, 0, 0, 0, 8},
	     12,
	     IKEV2_ERR_UNEXPECTED_PAYLOAD},
	    {"payload repeated",
	     IKEV2_P_SA,
	     {IKEV2_P_SA, 0, 0, 4, 0, 0, 0, 4},
	     8,
	     IKEV2_ERR_DUPLICATE},
	    {"required payload missing", IKEV2_P_NONCE, {0, 0, 0, 4}, 4, IKEV2_ERR_MISSING},
	    {"bytes after the last payload", IKEV2_P_SA, {0, 0, 0, 4, 9}, 5, IKEV2_ERR_TRAILING},
	    {"SK not last", IKEV2_P_SK, {0, 0, 0, 4, 0, 0, 0, 4}, 8, IKEV2_ERR_SK_NOT_LAST},
	};
	static struct ikev2_msg m;
	uint8_t b[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		enum ikev2_err err = IKEV2_OK;
		const struct ikev2_script *s = cases[i].first == IKEV2_P_SK ? NULL : &t_script;

		if (ikev2_parse_payloads(cases[i].first, cases[i].chain, cases[i].len, s, &m,
					 &err) != -EBADMSG ||
		    err != cases[i].want)
			fail_msg("%s: got %s", cases[i].name, ikev2_err_name(err));
	}
	/* the header */
	struct ikev2_hdr h;
	enum ikev2_err err;
	size_t n = msg_with(b, IKEV2_P_NONE, NULL, 0);
	assert_int_equal(ikev2_parse_header(b, n - 1, &h, &err), -EBADMSG);
	assert_int_equal(err, IKEV2_ERR_SHORT_HEADER);
	assert_int_equal(ikev2_parse_header(b, n, &h, &err), 0);
	b[17] = 0x10;
	assert_int_equal(ikev2_parse_header(b, n, &h, &err), -EBADMSG);
	assert_int_equal(err, IKEV2_ERR_BAD_VERSION);
	b[17] = 0x21; /* a minor version is ignored */
	assert_int_equal(ikev2_parse_header(b, n, &h, &err), 0);
	b[27]++;
	assert_int_equal(ikev2_parse_header(b, n, &h, &err), -EBADMSG);
	assert_int_equal(err, IKEV2_ERR_BAD_LENGTH);
}

static void
test_unknown_payload_without_critical_bit_is_skipped(void **state)
{
	/* an unknown payload (200), then SA */
	const uint8_t chain[] = {IKEV2_P_SA, 0, 0, 6, 'x', 'y', 0, 0, 0, 4};
	static struct ikev2_msg m;

	(void)state;
	assert_int_equal(ikev2_parse_payloads(200, chain, sizeof(chain), &t_script, &m, NULL), 0);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.p[0].type, IKEV2_P_SA);
}

static void
test_built_message_parses_back(void **state)
{
	static uint8_t data[512];
	struct ikev2_hdr h = {.spi_i = "initspi!", .exchange = IKEV2_EXCH_IKE_SA_INIT};
	struct ikev2_buf b;
	struct ikev2_proposal p;
	struct ikev2_suite s;
	struct ikev2_notify n;
	static struct ikev2_msg m;
	uint8_t num;
	size_t off;

	(void)state;
	assert_int_equal(ikev2_proposal_parse("aes256-sha384-ecp384", 0, &p), 0);
	ikev2_buf_init(&b, data, sizeof(data), &h);
	off = ikev2_buf_begin(&b, IKEV2_P_SA);
	ikev2_sa_build(&b, IKEV2_PROTO_IKE, NULL, 0, &p, 1);
	ikev2_buf_end(&b, off);
	off = ikev2_buf_begin(&b, IKEV2_P_NOTIFY);
	ikev2_buf_put32(&b, IKEV2_N_COOKIE); /* protocol 0, SPI size 0, type */
	ikev2_buf_put(&b, "cookie", 6);
	ikev2_buf_end(&b, off);
	assert_int_equal(ikev2_buf_finish(&b), 0);
	assert_int_equal(ikev2_parse_header(b.data, b.len, &(struct ikev2_hdr){0}, NULL), 0);
	assert_int_equal(ikev2_parse_payloads(IKEV2_P_SA, b.data + IKEV2_HDR_LEN,
					      b.len - IKEV2_HDR_LEN, &t_script, &m, NULL),
			 0);
	assert_int_equal(ikev2_sa_choice(&m.p[0], IKEV2_PROTO_IKE, 0, &p, 1, &s, &num, NULL), 0);
	assert_int_equal(num, 1);
	assert_int_equal(s.encr.id, IKEV2_ENCR_AES_CBC);
	assert_int_equal(s.encr.key_bits, 256);
	assert_int_equal(s.prf, IKEV2_PRF_HMAC_SHA2_384);
	assert_int_equal(s.integ, IKEV2_INTEG_HMAC_SHA2_384_192);
	assert_int_equal(s.dh, 20);
	assert_int_equal(ikev2_notify_find(&m, IKEV2_N_COOKIE, &n), 1);
	assert_int_equal(n.data_len, 6);
	assert_memory_equal(n.data, "cookie", 6);
}

static void
test_proposal_strings(void **state)
{
	static const struct {
		const char *s;
		int child, ok;
	} cases[] = {
	    {"", 0, 0},
	    {"aes128", 0, 0},
	    {"aes128-sha256", 0, 0},		 /* no group */
	    {"aes128gcm16-sha256-ecp256", 0, 0}, /* AEAD with integrity */
	    {"aes128gcm16-ecp256", 0, 0},	 /* AEAD without a PRF */
	    {"aes128-prfsha256-ecp256", 0, 0},	 /* CBC without integrity */
	    {"aes128-sha256-modp1024", 0, 0},	 /* a group we do not offer */
	    {"aes128-sha256-ecp256-", 0, 0},
	    {"aes128-sha256-ecp256", 1, 0}, /* a group for a child */
	    {"aes128-sha256-ecp256", 0, 1},
	    {"aes128gcm16-aes256gcm16-prfsha512-modp2048-ecp384", 0, 1},
	    {"aes128gcm16", 1, 1},
	    {"aes256-sha512", 1, 1},
	};
	struct ikev2_proposal p;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		if ((ikev2_proposal_parse(cases[i].s, cases[i].child, &p) == 0) != cases[i].ok)
			fail_msg("\"%s\" (child %d)", cases[i].s, cases[i].child);
	assert_int_equal(ikev2_proposal_parse("aes256-sha384-ecp384", 0, &p), 0);
	assert_int_equal(p.n_prf, 1);
	assert_int_equal(p.prf[0], IKEV2_PRF_HMAC_SHA2_384);
}

/* ---- key schedule ---- */

/* prf+ written out here with OpenSSL's one-shot HMAC(). */
static void
ref_prf_plus(const EVP_MD *md, const uint8_t *k, size_t kl, const uint8_t *s, size_t sl,
	     uint8_t *out, size_t len)
{
	uint8_t t[64], in[64 + 600];
	unsigned int tl = 0, ml = (unsigned int)EVP_MD_get_size(md);

	for (uint8_t n = 1; len > 0; n++) {
		size_t il = 0, take;

		if (n > 1) {
			memcpy(in, t, ml);
			il = ml;
		}
		memcpy(in + il, s, sl);
		il += sl;
		in[il++] = n;
		assert_non_null(HMAC(md, k, (int)kl, in, il, t, &tl));
		take = len < ml ? len : ml;
		memcpy(out, t, take);
		out += take;
		len -= take;
	}
}

static void
test_key_schedule_matches_an_independent_prf_plus(void **state)
{
	static const struct {
		uint16_t encr, bits, integ, prf;
		const char *md;
		size_t prf_len, integ_len, encr_len;
	} cases[] = {
	    {IKEV2_ENCR_AES_CBC, 128, IKEV2_INTEG_HMAC_SHA2_256_128, IKEV2_PRF_HMAC_SHA2_256,
	     "SHA256", 32, 32, 16},
	    {IKEV2_ENCR_AES_CBC, 256, IKEV2_INTEG_HMAC_SHA2_512_256, IKEV2_PRF_HMAC_SHA2_384,
	     "SHA384", 48, 64, 32},
	    {IKEV2_ENCR_AES_GCM_16, 256, 0, IKEV2_PRF_HMAC_SHA2_512, "SHA512", 64, 0, 36},
	    {IKEV2_ENCR_AES_GCM_16, 128, 0, IKEV2_PRF_HMAC_SHA2_256, "SHA256", 32, 0, 20},
	};
	uint8_t gir[256], seed[64], s[32 + 48 + 16], km[400];
	static struct ikev2_sa sa;

	(void)state;
	for (size_t i = 0; i < sizeof(gir); i++)
		gir[i] = (uint8_t)(i * 7 + 1);
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		const EVP_MD *md = EVP_get_digestbyname(cases[k].md);
		unsigned int sl = 0;
		size_t off = 0;

		memset(&sa, 0, sizeof(sa));
		sa.chosen = (struct ikev2_suite){
		    {cases[k].encr, cases[k].bits}, cases[k].prf, cases[k].integ, 14};
		for (size_t i = 0; i < sizeof(sa.ni); i++)
			sa.ni[i] = (uint8_t)(0xa0 + i);
		sa.nr_len = 48;
		for (size_t i = 0; i < sa.nr_len; i++)
			sa.nr[i] = (uint8_t)(0x10 + 3 * i);
		memcpy(sa.spi_i, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
		memcpy(sa.spi_r, "\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8", 8);
		assert_int_equal(ikev2_derive(&sa, gir, sizeof(gir)), 0);

		/* SKEYSEED = prf(Ni | Nr, g^ir) */
		memcpy(s, sa.ni, 32);
		memcpy(s + 32, sa.nr, 48);
		assert_non_null(HMAC(md, s, 80, gir, sizeof(gir), seed, &sl));
		/* prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) */
		memcpy(s + 80, sa.spi_i, 8);
		memcpy(s + 88, sa.spi_r, 8);
		size_t total =
		    3 * cases[k].prf_len + 2 * cases[k].integ_len + 2 * cases[k].encr_len;
		ref_prf_plus(md, seed, sl, s, sizeof(s), km, total);
		assert_int_equal(sa.prf_len, cases[k].prf_len);
		assert_int_equal(sa.integ_len, cases[k].integ_len);
		assert_int_equal(sa.encr_len, cases[k].encr_len);
#define CHECK(key, n)                                                                              \
	do {                                                                                       \
		assert_memory_equal(sa.key, km + off, n);                                          \
		off += n;                                                                          \
	} while (0)
		CHECK(sk_d, cases[k].prf_len);
		if (cases[k].integ_len != 0) {
			CHECK(sk_ai, cases[k].integ_len);
			CHECK(sk_ar, cases[k].integ_len);
		}
		CHECK(sk_ei, cases[k].encr_len);
		CHECK(sk_er, cases[k].encr_len);
		CHECK(sk_pi, cases[k].prf_len);
		CHECK(sk_pr, cases[k].prf_len);
#undef CHECK
	}
}

/* ---- the Encrypted payload ---- */

static void
keyed(struct ikev2_sa *sa, uint16_t encr, uint16_t bits, uint16_t integ)
{
	uint8_t gir[32] = "shared secret of the unit tests";

	memset(sa, 0, sizeof(*sa));
	sa->chosen = (struct ikev2_suite){{encr, bits}, IKEV2_PRF_HMAC_SHA2_256, integ, 19};
	sa->nr_len = 32;
	memcpy(sa->spi_i, "initspi!", 8);
	memcpy(sa->spi_r, "respspi!", 8);
	assert_int_equal(ikev2_derive(sa, gir, sizeof(gir)), 0);
}

static void
test_sk_round_trips_and_tampering_is_refused(void **state)
{
	static const struct {
		uint16_t encr, bits, integ;
	} suites[] = {
	    {IKEV2_ENCR_AES_CBC, 128, IKEV2_INTEG_HMAC_SHA2_256_128},
	    {IKEV2_ENCR_AES_CBC, 256, IKEV2_INTEG_HMAC_SHA2_384_192},
	    {IKEV2_ENCR_AES_CBC, 192, IKEV2_INTEG_HMAC_SHA2_512_256},
	    {IKEV2_ENCR_AES_GCM_16, 128, 0},
	    {IKEV2_ENCR_AES_GCM_16, 256, 0},
	};
	const uint8_t chain[] = {IKEV2_P_NONE, 0, 0, 12, 0, 0, 0x40, 0x00, 'h', 'e', 'l', 'o'};
	struct ikev2_hdr h = {.spi_i = "initspi!",
			      .spi_r = "respspi!",
			      .exchange = IKEV2_EXCH_INFORMATIONAL,
			      .flags = IKEV2_FLAG_INITIATOR,
			      .msgid = 7};
	static struct ikev2_sa sa;
	static struct ikev2_msg m;
	uint8_t msg[256], plain[256];

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(suites); k++) {
		keyed(&sa, suites[k].encr, suites[k].bits, suites[k].integ);
		int n = ikev2_sk_seal(&sa, 1, &h, IKEV2_P_NOTIFY, chain, sizeof(chain), msg,
				      sizeof(msg));
		assert_true(n > 0);
		assert_int_equal(
		    ikev2_parse_payloads(msg[16], msg + 28, (size_t)n - 28, NULL, &m, NULL), 0);
		assert_non_null(m.sk);
		assert_int_equal(m.sk->raw[0], IKEV2_P_NOTIFY);
		assert_int_equal(ikev2_sk_open(&sa, 1, msg, (size_t)n, m.sk, plain, sizeof(plain)),
				 sizeof(chain));
		assert_memory_equal(plain, chain, sizeof(chain));
		/* the other direction's keys do not open it */
		assert_int_equal(ikev2_sk_open(&sa, 0, msg, (size_t)n, m.sk, plain, sizeof(plain)),
				 -EACCES);
		/* every byte, header included, is covered */
		for (int i = 0; i < n; i++) {
			msg[i] ^= 0x01;
			if (ikev2_sk_open(&sa, 1, msg, (size_t)n, m.sk, plain, sizeof(plain)) !=
			    -EACCES)
				fail_msg("suite %zu: byte %d flipped and accepted", k, i);
			msg[i] ^= 0x01;
		}
		if (suites[k].integ == 0)
			continue;
		/* CBC: the ICV is HMAC(SK_ai, everything before it), truncated,
		 * and the plaintext decrypts under SK_ei with the IV sent */
		const EVP_MD *md = suites[k].integ == IKEV2_INTEG_HMAC_SHA2_256_128 ? EVP_sha256()
				   : suites[k].integ == IKEV2_INTEG_HMAC_SHA2_384_192
				       ? EVP_sha384()
				       : EVP_sha512();
		uint8_t mac[64], out[256];
		unsigned int ml = 0;
		int l1 = 0, l2 = 0;
		size_t icv = (size_t)EVP_MD_get_size(md) / 2, body = (size_t)n - 28 - 4 - 16 - icv;

		HMAC(md, sa.sk_ai, (int)sa.integ_len, msg, (size_t)n - icv, mac, &ml);
		assert_memory_equal(mac, msg + n - (int)icv, icv);
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		const EVP_CIPHER *cbc = suites[k].bits == 128	? EVP_aes_128_cbc()
					: suites[k].bits == 192 ? EVP_aes_192_cbc()
								: EVP_aes_256_cbc();
		assert_int_equal(EVP_DecryptInit_ex(c, cbc, NULL, sa.sk_ei, msg + 32), 1);
		EVP_CIPHER_CTX_set_padding(c, 0);
		assert_int_equal(EVP_DecryptUpdate(c, out, &l1, msg + 48, (int)body), 1);
		assert_int_equal(EVP_DecryptFinal_ex(c, out + l1, &l2), 1);
		EVP_CIPHER_CTX_free(c);
		assert_memory_equal(out, chain, sizeof(chain));
		assert_int_equal(out[body - 1], body - 1 - sizeof(chain)); /* pad length */
	}
}

/* ---- the exchange, against a responder played here ---- */

static struct ikev2_conf conf;
static struct ikev2_sa *sa;

static void
conf_init(const char *prop)
{
	memset(&conf, 0, sizeof(conf));
	memcpy(conf.psk, psk, sizeof(psk) - 1);
	conf.psk_len = sizeof(psk) - 1;
	conf.local_id = (struct ikev2_id){IKEV2_ID_IPV4_ADDR, 4, {10, 9, 0, 1}};
	conf.n_props = 1;
	assert_int_equal(ikev2_proposal_parse(prop, 0, &conf.props[0]), 0);
	conf.n_child_props = 1;
	assert_int_equal(ikev2_proposal_parse("aes128gcm16", 1, &conf.child_props[0]), 0);
	conf.tsi =
	    (struct ikev2_ts){IKEV2_TS_IPV4_ADDR_RANGE, 0, 0, 65535, {10, 9, 0, 1}, {10, 9, 0, 1}};
	conf.tsr =
	    (struct ikev2_ts){IKEV2_TS_IPV4_ADDR_RANGE, 0, 0, 65535, {10, 9, 0, 2}, {10, 9, 0, 2}};
}

static int
setup(void **state)
{
	(void)state;
	sa = gvpn_keymem_alloc(sizeof(*sa));
	return sa == NULL;
}

static int
teardown(void **state)
{
	(void)state;
	ikev2_sa_clear(sa);
	gvpn_keymem_free(sa);
	return 0;
}

/* The responder's IKE_SA_INIT message: header and a payload chain. */
static size_t
resp_init(uint8_t *b, const uint8_t *spi_r, uint8_t first, const uint8_t *chain, size_t len)
{
	memcpy(b, sa->spi_i, 8);
	memcpy(b + 8, spi_r, 8);
	b[16] = first;
	b[17] = IKEV2_VERSION;
	b[18] = IKEV2_EXCH_IKE_SA_INIT;
	b[19] = IKEV2_FLAG_RESPONSE;
	ikev2_set32(b + 20, 0);
	memcpy(b + IKEV2_HDR_LEN, chain, len);
	ikev2_set32(b + 24, (uint32_t)(IKEV2_HDR_LEN + len));
	return IKEV2_HDR_LEN + len;
}

static enum ikev2_result
feed(const uint8_t *m, size_t len, int want_rc)
{
	enum ikev2_result res;
	const char *why;

	assert_int_equal(ikev2_input(sa, m, len, &res, &why), want_rc);
	return res;
}

static void
test_cookie_is_echoed_first_with_the_same_ke_and_nonce(void **state)
{
	const uint8_t n[] = {0, 0, 0, 12, 0, 0, 0x40, 0x06, 'C', 'O', 'O', 'K'};
	uint8_t m[64], gi[IKEV2_KE_MAX], ni[IKEV2_NONCE_LEN];
	const uint8_t *req;
	size_t len;

	(void)state;
	conf_init("aes128-sha256-ecp256");
	assert_int_equal(ikev2_start(sa, &conf), 0);
	memcpy(gi, sa->gi, sa->gi_len);
	memcpy(ni, sa->ni, sizeof(ni));
	assert_int_equal(
	    feed(m, resp_init(m, (const uint8_t *)"\0\0\0\0\0\0\0\0", IKEV2_P_NOTIFY, n, sizeof(n)),
		 0),
	    IKEV2_SEND);
	req = ikev2_request(sa, &len);
	assert_non_null(req);
	assert_int_equal(req[16], IKEV2_P_NOTIFY); /* the cookie first, then SA */
	assert_int_equal(req[28], IKEV2_P_SA);
	assert_memory_equal(req + 29, n + 1, sizeof(n) - 1);
	assert_memory_equal(gi, sa->gi, sa->gi_len);
	assert_memory_equal(ni, sa->ni, sizeof(ni));
	assert_memory_equal(sa->init_req, req, len);
}

static void
test_invalid_ke_retries_only_with_an_offered_group(void **state)
{
	uint8_t n[] = {0, 0, 0, 10, 0, 0, 0, 17, 0, 20};
	uint8_t m[64];
	const uint8_t zero[8] = {0};

	(void)state;
	conf_init("aes128-sha256-ecp256-ecp384");
	assert_int_equal(ikev2_start(sa, &conf), 0);
	assert_int_equal(sa->ke_group, 19);
	/* group 14 was not offered: advice only, the request is unchanged */
	n[9] = 14;
	assert_int_equal(feed(m, resp_init(m, zero, IKEV2_P_NOTIFY, n, sizeof(n)), 0),
			 IKEV2_NOTIFIED);
	assert_int_equal(sa->notify, IKEV2_N_INVALID_KE_PAYLOAD);
	assert_int_equal(sa->ke_group, 19);
	n[9] = 20;
	assert_int_equal(feed(m, resp_init(m, zero, IKEV2_P_NOTIFY, n, sizeof(n)), 0), IKEV2_SEND);
	assert_int_equal(sa->ke_group, 20);
	assert_int_equal(sa->gi_len, 96);
	/* the KE payload of the new request names group 20 */
	size_t len;
	const uint8_t *req = ikev2_request(sa, &len);
	static struct ikev2_msg pm;
	assert_int_equal(ikev2_parse_payloads(req[16], req + 28, len - 28, NULL, &pm, NULL), 0);
	assert_int_equal(ikev2_get16(ikev2_find(&pm, IKEV2_P_KE, 0)->body), 20);
	/* asked again for the group it now sends: advice */
	assert_int_equal(feed(m, resp_init(m, zero, IKEV2_P_NOTIFY, n, sizeof(n)), 0),
			 IKEV2_NOTIFIED);
}

/* The responder's side: its DH, its keys, its messages. */
static struct ikev2_sa *rsp;
static const uint8_t spi_r[8] = {0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4};
static uint8_t resp1[2048];
static size_t resp1_len;

/* IKE_SA_INIT answered with the choice @p sa_body; the initiator has keys
 * and IKE_AUTH is in ikev2_request(). @return the input's rc. */
static int
answer_init(const char *prop, const uint8_t *choice, size_t choice_len)
{
	static uint8_t chain[1024];
	uint8_t gr[IKEV2_KE_MAX], gir[IKEV2_KE_MAX];
	const uint8_t *req;
	size_t len, off = 0;
	enum ikev2_result res;
	const char *why;
	int rc;

	conf_init(prop);
	assert_int_equal(ikev2_start(sa, &conf), 0);
	rsp = gvpn_keymem_alloc(sizeof(*rsp));
	assert_non_null(rsp);
	assert_int_equal(ikev2_dh_start(rsp, sa->ke_group, NULL, 0, gr), 0);
	/* SA (the choice), KE, Nr */
	chain[off++] = IKEV2_P_KE;
	chain[off++] = 0;
	chain[off++] = (uint8_t)((4 + choice_len) >> 8);
	chain[off++] = (uint8_t)(4 + choice_len);
	memcpy(chain + off, choice, choice_len);
	off += choice_len;
	chain[off++] = IKEV2_P_NONCE;
	chain[off++] = 0;
	chain[off++] = (uint8_t)((8 + sa->gi_len) >> 8);
	chain[off++] = (uint8_t)(8 + sa->gi_len);
	chain[off++] = (uint8_t)(sa->ke_group >> 8);
	chain[off++] = (uint8_t)sa->ke_group;
	chain[off++] = 0;
	chain[off++] = 0;
	memcpy(chain + off, gr, sa->gi_len);
	off += sa->gi_len;
	memcpy(chain + off, "\0\0\0\x24responder-nonce-of-32-bytes----", 36);
	off += 36;
	resp1_len = resp_init(resp1, spi_r, IKEV2_P_SA, chain, off);
	rc = ikev2_input(sa, resp1, resp1_len, &res, &why);
	if (rc != 0)
		return rc;
	assert_int_equal(res, IKEV2_SEND);
	req = ikev2_request(sa, &len);
	assert_int_equal(req[18], IKEV2_EXCH_IKE_AUTH);
	assert_int_equal(ikev2_get32(req + 20), 1);
	/* the responder's keys: the same schedule from its own DH */
	rsp->chosen = sa->chosen;
	memcpy(rsp->ni, sa->ni, sizeof(sa->ni));
	memcpy(rsp->nr, sa->nr, sa->nr_len);
	rsp->nr_len = sa->nr_len;
	memcpy(rsp->spi_i, sa->spi_i, 8);
	memcpy(rsp->spi_r, spi_r, 8);
	int gl = ikev2_dh_finish(rsp, sa->gi, sa->gi_len, gir);
	assert_true(gl > 0);
	assert_int_equal(ikev2_derive(rsp, gir, (size_t)gl), 0);
	ikev2_dh_free(rsp);
	assert_memory_equal(rsp->sk_ei, sa->sk_ei, sa->encr_len);
	return 0;
}

/* The SA body choosing AES-128-CBC, PRF/HMAC SHA-256, ECP 256 in proposal 1. */
static const uint8_t choice_cbc[] = {0,
				     0,
				     0,
				     44,
				     1,
				     IKEV2_PROTO_IKE,
				     0,
				     4, /* proposal */
				     3,
				     0,
				     0,
				     12,
				     IKEV2_TT_ENCR,
				     0,
				     0,
				     12,
				     0x80,
				     14,
				     0,
				     128, /* AES-CBC-128 */
				     3,
				     0,
				     0,
				     8,
				     IKEV2_TT_PRF,
				     0,
				     0,
				     5, /* PRF SHA-256 */
				     3,
				     0,
				     0,
				     8,
				     IKEV2_TT_INTEG,
				     0,
				     0,
				     12, /* HMAC-SHA-256-128 */
				     0,
				     0,
				     0,
				     8,
				     IKEV2_TT_DH,
				     0,
				     0,
				     19}; /* ECP 256 */

static void
test_a_proposal_not_offered_fails(void **state)
{
	uint8_t c[sizeof(choice_cbc)];

	(void)state;
	memcpy(c, choice_cbc, sizeof(c));
	c[19] = 0; /* AES-CBC-256 */
	c[18] = 1;
	assert_int_equal(answer_init("aes128-sha256-ecp256", c, sizeof(c)), -ENOPROTOOPT);
	assert_int_equal(sa->state, IKEV2_FAILED);
	ikev2_sa_clear(rsp);
	gvpn_keymem_free(rsp);
}

/* The responder's IKE_AUTH response: IDr, AUTH (with @p key), N(child error). */
static size_t
auth_response(uint8_t *out, const char *key, uint32_t msgid)
{
	const EVP_MD *md = EVP_sha256();
	uint8_t chain[128], maced[32], kp[32], signed_[4096], auth[32];
	unsigned int l = 0;
	size_t off = 0, sl;
	struct ikev2_hdr h = {
	    .exchange = IKEV2_EXCH_IKE_AUTH, .flags = IKEV2_FLAG_RESPONSE, .msgid = msgid};
	const uint8_t idr[] = {IKEV2_ID_IPV4_ADDR, 0, 0, 0, 10, 9, 0, 2};

	/* AUTH = prf(prf(PSK, "Key Pad for IKEv2"), msg2 | Ni | prf(SK_pr, IDr')) */
	HMAC(md, rsp->sk_pr, 32, idr, sizeof(idr), maced, &l);
	HMAC(md, key, (int)strlen(key), (const uint8_t *)"Key Pad for IKEv2", 17, kp, &l);
	memcpy(signed_, resp1, resp1_len);
	memcpy(signed_ + resp1_len, sa->ni, 32);
	memcpy(signed_ + resp1_len + 32, maced, 32);
	sl = resp1_len + 64;
	HMAC(md, kp, 32, signed_, sl, auth, &l);
	chain[off++] = IKEV2_P_AUTH;
	chain[off++] = 0;
	chain[off++] = 0;
	chain[off++] = 4 + sizeof(idr);
	memcpy(chain + off, idr, sizeof(idr));
	off += sizeof(idr);
	chain[off++] = IKEV2_P_NOTIFY;
	chain[off++] = 0;
	chain[off++] = 0;
	chain[off++] = 8 + 32;
	chain[off++] = IKEV2_AUTH_PSK;
	chain[off++] = 0;
	chain[off++] = 0;
	chain[off++] = 0;
	memcpy(chain + off, auth, 32);
	off += 32;
	memcpy(chain + off, "\0\0\0\x08\0\0\0\x0e", 8); /* N(NO_PROPOSAL_CHOSEN) */
	off += 8;
	memcpy(h.spi_i, sa->spi_i, 8);
	memcpy(h.spi_r, spi_r, 8);
	int n = ikev2_sk_seal(rsp, 0, &h, IKEV2_P_IDR, chain, off, out, 1024);
	assert_true(n > 0);
	return (size_t)n;
}

static void
test_ike_auth_verifies_the_responder_and_the_window_holds(void **state)
{
	static uint8_t m[1024], req_copy[4096];
	const uint8_t *req;
	size_t len, n, rlen;

	(void)state;
	assert_int_equal(answer_init("aes128-sha256-ecp256", choice_cbc, sizeof(choice_cbc)), 0);
	/* the initiator's AUTH, checked here */
	req = ikev2_request(sa, &len);
	memcpy(req_copy, req, len);
	n = auth_response(m, psk, 1);
	/* a tampered response is dropped, the request stays outstanding */
	m[n - 1] ^= 1;
	assert_int_equal(feed(m, n, 0), IKEV2_IGNORED);
	m[n - 1] ^= 1;
	assert_non_null(ikev2_request(sa, &rlen));
	assert_memory_equal(ikev2_request(sa, &rlen), req_copy, len); /* retransmit: same bytes */
	/* a response with another message ID is not the one awaited */
	size_t n2 = auth_response(m + 512, psk, 2);
	assert_int_equal(feed(m + 512, n2, 0), IKEV2_IGNORED);
	assert_int_equal(feed(m, n, 0), IKEV2_DONE);
	assert_int_equal(sa->state, IKEV2_ESTABLISHED);
	assert_int_equal(sa->child_up, 0);
	assert_int_equal(sa->child_notify, IKEV2_N_NO_PROPOSAL_CHOSEN);
	assert_int_equal(sa->peer_id.type, IKEV2_ID_IPV4_ADDR);
	assert_null(ikev2_request(sa, &rlen));
	/* the duplicate response changes nothing */
	assert_int_equal(feed(m, n, 0), IKEV2_IGNORED);

	/* the peer's empty INFORMATIONAL: answered; its retransmission gets
	 * the same answer; then its Delete ends the SA */
	struct ikev2_hdr h = {.exchange = IKEV2_EXCH_INFORMATIONAL, .msgid = 0};
	uint8_t info[256], del[256], ans[256];
	memcpy(h.spi_i, sa->spi_i, 8);
	memcpy(h.spi_r, spi_r, 8);
	int il = ikev2_sk_seal(rsp, 0, &h, IKEV2_P_NONE, NULL, 0, info, sizeof(info));
	assert_true(il > 0);
	assert_int_equal(feed(info, (size_t)il, 0), IKEV2_REPLY);
	const uint8_t *r = ikev2_response(sa, &rlen);
	assert_non_null(r);
	memcpy(ans, r, rlen);
	assert_int_equal(r[19], IKEV2_FLAG_INITIATOR | IKEV2_FLAG_RESPONSE);
	assert_int_equal(feed(info, (size_t)il, 0), IKEV2_REPLY);
	assert_memory_equal(ikev2_response(sa, &len), ans, rlen);
	h.msgid = 1;
	const uint8_t d[] = {0, 0, 0, 8, IKEV2_PROTO_IKE, 0, 0, 0};
	int dl = ikev2_sk_seal(rsp, 0, &h, IKEV2_P_DELETE, d, sizeof(d), del, sizeof(del));
	assert_int_equal(feed(del, (size_t)dl, 0), IKEV2_REPLY);
	assert_int_equal(sa->state, IKEV2_DELETED);
	ikev2_sa_clear(rsp);
	gvpn_keymem_free(rsp);
}

static void
test_ike_auth_with_a_wrong_key_fails(void **state)
{
	static uint8_t m[1024];

	(void)state;
	assert_int_equal(answer_init("aes128-sha256-ecp256", choice_cbc, sizeof(choice_cbc)), 0);
	size_t n = auth_response(m, "another-pre-shared-key-of-the-peer", 1);
	assert_int_equal(feed(m, n, -EACCES), IKEV2_IGNORED);
	assert_int_equal(sa->state, IKEV2_FAILED);
	ikev2_sa_clear(rsp);
	gvpn_keymem_free(rsp);
}

static void
test_delete_waits_for_its_answer_and_the_window_is_one(void **state)
{
	static uint8_t m[1024];
	uint8_t ans[256];
	size_t len;

	(void)state;
	assert_int_equal(answer_init("aes128-sha256-ecp256", choice_cbc, sizeof(choice_cbc)), 0);
	assert_int_equal(ikev2_delete(sa), -ENOTCONN);
	size_t n = auth_response(m, psk, 1);
	assert_int_equal(feed(m, n, 0), IKEV2_DONE);
	/* a liveness check (empty INFORMATIONAL): one request at a time */
	assert_int_equal(ikev2_request_build(sa, IKEV2_EXCH_INFORMATIONAL, IKEV2_P_NONE, NULL, 0),
			 0);
	assert_int_equal(ikev2_request_build(sa, IKEV2_EXCH_INFORMATIONAL, IKEV2_P_NONE, NULL, 0),
			 -EBUSY);
	assert_int_equal(ikev2_delete(sa), -EBUSY);
	struct ikev2_hdr h = {
	    .exchange = IKEV2_EXCH_INFORMATIONAL, .flags = IKEV2_FLAG_RESPONSE, .msgid = 2};
	memcpy(h.spi_i, sa->spi_i, 8);
	memcpy(h.spi_r, spi_r, 8);
	int al = ikev2_sk_seal(rsp, 0, &h, IKEV2_P_NONE, NULL, 0, ans, sizeof(ans));
	assert_int_equal(feed(ans, (size_t)al, 0), IKEV2_DONE);
	/* then the Delete, message ID 3, closed by its answer */
	assert_int_equal(ikev2_delete(sa), 0);
	const uint8_t *req = ikev2_request(sa, &len);
	assert_int_equal(ikev2_get32(req + 20), 3);
	assert_int_equal(feed(ans, (size_t)al, 0), IKEV2_IGNORED); /* the old answer */
	h.msgid = 3;
	al = ikev2_sk_seal(rsp, 0, &h, IKEV2_P_NONE, NULL, 0, ans, sizeof(ans));
	assert_int_equal(feed(ans, (size_t)al, 0), IKEV2_CLOSED);
	assert_int_equal(sa->state, IKEV2_DELETED);
	ikev2_sa_clear(rsp);
	gvpn_keymem_free(rsp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_malformed_messages_are_refused_by_reason),
	    cmocka_unit_test(test_unknown_payload_without_critical_bit_is_skipped),
	    cmocka_unit_test(test_built_message_parses_back),
	    cmocka_unit_test(test_proposal_strings),
	    cmocka_unit_test(test_key_schedule_matches_an_independent_prf_plus),
	    cmocka_unit_test(test_sk_round_trips_and_tampering_is_refused),
	    cmocka_unit_test_setup_teardown(test_cookie_is_echoed_first_with_the_same_ke_and_nonce,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_ke_retries_only_with_an_offered_group,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_proposal_not_offered_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_ike_auth_verifies_the_responder_and_the_window_holds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ike_auth_with_a_wrong_key_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_waits_for_its_answer_and_the_window_is_one,
					    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
