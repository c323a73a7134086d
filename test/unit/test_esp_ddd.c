/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Time-based anti-replay (delivery delay detection, R23): the stamp's bytes
 * checked after an independent decryption (OpenSSL called directly), the
 * window enforced in both directions with the clock moved by
 * gvpn_esp_clock_sync() rather than by waiting, window 0 leaving the wire
 * format untouched, and every malformed stamp a counted drop.
 */
#include <inttypes.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "esp_test_util.h"

#define NTP_UNIX_EPOCH 2208988800u
/* AES-128-CBC + HMAC-SHA1-96 */
#define IV_LEN 16
#define ICV_LEN 12
#define ESP_HDR 8

static const uint8_t seed[32] = {9, 8, 7};
static const uint8_t cipher_key[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
				       0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
static const uint8_t auth_key[20] = {0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9,
				     0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3};
/* 2024-03-01 12:00:00.25 UTC */
static const struct timespec t0 = {.tv_sec = 1709294400, .tv_nsec = 250000000};

static struct gvpn_esp_sa_conf
conf_with_window(uint16_t window)
{
	struct gvpn_esp_sa_conf c = {.spi = 0x2002, .ttl = 64, .replay_window_s = window};

	c.xform.cipher = GVPN_CIPHER_AES_CBC;
	c.xform.cipher_key_len = sizeof(cipher_key);
	memcpy(c.xform.cipher_key, cipher_key, sizeof(cipher_key));
	c.xform.auth = GVPN_AUTH_HMAC_SHA1_96;
	c.xform.auth_key_len = sizeof(auth_key);
	memcpy(c.xform.auth_key, auth_key, sizeof(auth_key));
	return c;
}

static void
fixture_init(struct esp_fixture *f, const struct gvpn_crypto_ops *be, uint16_t window)
{
	struct gvpn_esp_sa_conf c = conf_with_window(window);

	esp_fixture_init(f, be, &c, seed);
}

/* The same SA for IPv6. */
static void
fixture6_init(struct esp_fixture *f, const struct gvpn_crypto_ops *be, uint16_t window)
{
	struct gvpn_esp_sa_conf c = conf_with_window(window);

	c.af = GVPN_AF_IPV6;
	esp_fixture_init(f, be, &c, seed);
}

/* Move the stamp clock to t0 + @p ms milliseconds. */
static void
clock_at(int64_t ms)
{
	struct timespec t = t0;
	int64_t ns = t.tv_nsec + (ms % 1000) * 1000000;

	t.tv_sec += ms / 1000 + (ns < 0 ? -1 : ns >= 1000000000);
	t.tv_nsec = (ns % 1000000000 + 1000000000) % 1000000000;
	assert_int_equal(gvpn_esp_clock_sync(&t), 0);
}

/* Check the ICV and decrypt with OpenSSL, not the library: the plaintext
 * (inner packet, padding, pad length, next header) into @p plain. The outer
 * header has @p ol bytes (20 or 40). */
static uint32_t
openssl_open(struct rte_mbuf *m, uint32_t ol, uint8_t *plain)
{
	const uint8_t *esp = rte_pktmbuf_mtod_offset(m, const uint8_t *, L2 + ol);
	uint32_t clen = m->data_len - L2 - ol - ESP_HDR - IV_LEN - ICV_LEN;
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int maclen;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int l1, l2;

	assert_int_equal(clen % 16, 0);
	HMAC(EVP_sha1(), auth_key, sizeof(auth_key), esp, ESP_HDR + IV_LEN + clen, mac, &maclen);
	assert_memory_equal(mac, esp + ESP_HDR + IV_LEN + clen, ICV_LEN);
	assert_int_equal(
	    EVP_DecryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, cipher_key, esp + ESP_HDR), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	assert_int_equal(EVP_DecryptUpdate(ctx, plain, &l1, esp + ESP_HDR + IV_LEN, (int)clen), 1);
	assert_int_equal(EVP_DecryptFinal_ex(ctx, plain + l1, &l2), 1);
	EVP_CIPHER_CTX_free(ctx);
	return clen;
}

static uint64_t
be64_at(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
stamp_length_8(uint8_t *p, uint32_t *clen)
{
	(void)clen;
	p[1] = 8;
}

static void
stamp_type_2(uint8_t *p, uint32_t *clen)
{
	(void)clen;
	p[2] = 2;
}

static void
stamp_reserved_set(uint8_t *p, uint32_t *clen)
{
	(void)clen;
	p[3] = 0x80;
}

static void
stamp_next_header_ipv6(uint8_t *p, uint32_t *clen)
{
	(void)clen;
	p[0] = 41;
}

static void
trailer_next_header_ipv4(uint8_t *p, uint32_t *clen)
{
	p[*clen - 1] = 4;
}

static void
trailer_next_header_ipv6(uint8_t *p, uint32_t *clen)
{
	p[*clen - 1] = 41;
}

static void
trailer_next_header_dummy(uint8_t *p, uint32_t *clen)
{
	p[*clen - 1] = 59;
}

static void
inner_after_stamp_version_6(uint8_t *p, uint32_t *clen)
{
	(void)clen;
	p[12] = 0x65;
}

/* One block: 10 bytes of payload, 4 of padding, pad length, next header
 * 253: too short to hold a stamp. */
static void
payload_shorter_than_stamp(uint8_t *p, uint32_t *clen)
{
	*clen = 16;
	for (int i = 0; i < 4; i++)
		p[10 + i] = (uint8_t)(i + 1);
	p[14] = 4;
	p[15] = 253;
}

/* No payload at all before the padding. */
static void
payload_empty(uint8_t *p, uint32_t *clen)
{
	*clen = 16;
	for (int i = 0; i < 14; i++)
		p[i] = (uint8_t)(i + 1);
	p[14] = 14;
	p[15] = 253;
}

static void
test_malformed_stamp_is_a_counted_drop(void **state)
{
	static const struct {
		const char *what;
		esp_mangle_fn mangle;
		enum gvpn_esp_drop why;
	} cases[] = {
	    {"payload shorter than a stamp", payload_shorter_than_stamp, GVPN_ESP_DROP_BAD_STAMP},
	    {"empty payload", payload_empty, GVPN_ESP_DROP_BAD_STAMP},
	    {"stamp length 8", stamp_length_8, GVPN_ESP_DROP_BAD_STAMP},
	    {"stamp type 2", stamp_type_2, GVPN_ESP_DROP_BAD_STAMP},
	    {"stamp reserved byte set", stamp_reserved_set, GVPN_ESP_DROP_BAD_STAMP},
	    {"no stamp (next header 4)", trailer_next_header_ipv4, GVPN_ESP_DROP_BAD_STAMP},
	    {"next header IPv6", trailer_next_header_ipv6, GVPN_ESP_DROP_BAD_NEXT_HDR},
	    {"stamp's next header IPv6", stamp_next_header_ipv6, GVPN_ESP_DROP_BAD_NEXT_HDR},
	    {"dummy packet", trailer_next_header_dummy, GVPN_ESP_DROP_DUMMY},
	    {"inner version 6 after the stamp", inner_after_stamp_version_6,
	     GVPN_ESP_DROP_BAD_INNER},
	};
	const struct gvpn_crypto_ops *be[] = {&gvpn_crypto_ipsecmb, &gvpn_crypto_openssl};

	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(be); b++) {
		struct esp_fixture f;

		fixture_init(&f, be[b], 30);
		clock_at(0);
		for (size_t k = 0; k < ARRAY_LEN(cases); k++)
			esp_decrypt_one_expect(&f, esp_forged_packet(&f, cases[k].mangle), 0,
					       cases[k].why, cases[k].what);
		esp_fixture_fini(&f);
	}
}

/* A member whose policy disagrees with the sender's drops, counted. */
static void
test_stamp_and_policy_must_agree(void **state)
{
	struct esp_fixture on, off;

	(void)state;
	fixture_init(&on, &gvpn_crypto_ipsecmb, 10);
	fixture_init(&off, &gvpn_crypto_ipsecmb, 0);
	clock_at(0);
	esp_decrypt_one_expect(&off, esp_encrypt_one(&on, 40), 0, GVPN_ESP_DROP_BAD_NEXT_HDR,
			       "stamped packet, SA without a window");
	esp_decrypt_one_expect(&on, esp_encrypt_one(&off, 40), 0, GVPN_ESP_DROP_BAD_STAMP,
			       "unstamped packet, SA with a window");
	esp_fixture_fini(&on);
	esp_fixture_fini(&off);
}

/* --- the window --- */

static void
test_stamp_outside_window_is_dropped_as_replay_window(void **state)
{
	/* The receiver's clock relative to the sender's, window 5 s. */
	static const struct {
		int64_t ms;
		int ok;
	} cases[] = {
	    {-3600000, 0}, {-5100, 0}, {-4900, 1}, {0, 1},	  {1, 1},
	    {4900, 1},	   {5100, 0},  {60000, 0}, {86400000, 0},
	};
	const struct gvpn_crypto_ops *be[] = {&gvpn_crypto_ipsecmb, &gvpn_crypto_openssl};

	(void)state;
	assert_string_equal(gvpn_esp_drop_id(GVPN_ESP_DROP_REPLAY_WINDOW), "replay_window");
	assert_string_equal(gvpn_esp_drop_id(GVPN_ESP_DROP_BAD_STAMP), "bad_stamp");
	for (size_t b = 0; b < ARRAY_LEN(be); b++) {
		struct esp_fixture f;

		fixture_init(&f, be[b], 5);
		for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
			struct rte_mbuf *m;
			char what[64];

			clock_at(0);
			m = esp_encrypt_one(&f, 64);
			clock_at(cases[k].ms);
			snprintf(what, sizeof(what), "receiver %+" PRId64 " ms", cases[k].ms);
			esp_decrypt_one_expect(&f, m, cases[k].ok, GVPN_ESP_DROP_REPLAY_WINDOW,
					       what);
		}
		esp_fixture_fini(&f);
	}
}

/* The stamp is where doc/esp.md says, with the send time, and the library
 * gives back the original frame. */
static void
test_stamped_packet_carries_send_time_and_decrypts(void **state)
{
	const struct gvpn_crypto_ops *be[] = {&gvpn_crypto_ipsecmb, &gvpn_crypto_openssl};

	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(be); b++) {
		for (uint16_t plen = 0; plen < 40; plen += 3) {
			struct rte_mbuf *m, *ref = esp_inner_packet(plen, 0, 0);
			struct gvpn_esp_sa_state *st[1];
			uint8_t plain[256];
			uint32_t clen, ilen = 20u + plen, pad;
			uint64_t ts, want;
			struct esp_fixture f;

			fixture_init(&f, be[b], 1);
			clock_at(0);
			m = esp_encrypt_one(&f, plen);
			clen = openssl_open(m, 20, plain);
			/* stamp + inner packet + trailer, rounded up to the block */
			assert_int_equal(clen, (12 + ilen + 2 + 15) & ~15u);
			pad = plain[clen - 2];
			assert_int_equal(12 + ilen + pad + 2, clen);
			assert_int_equal(plain[clen - 1], 253);
			assert_int_equal(plain[0], 4);
			assert_int_equal(plain[1], 12);
			assert_int_equal(plain[2], 1);
			assert_int_equal(plain[3], 0);
			ts = be64_at(plain + 4);
			want =
			    (uint64_t)(t0.tv_sec + NTP_UNIX_EPOCH) << 32 | (1ull << 30); /* .25 */
			/* sent within 100 ms of the clock being set */
			assert_true(ts >= want && ts - want < (1ull << 32) / 10);
			assert_memory_equal(plain + 12, rte_pktmbuf_mtod_offset(ref, uint8_t *, L2),
					    ilen);

			st[0] = &f.st;
			assert_int_equal(gvpn_esp_decrypt_burst(f.lc, st, &m, 1), 1);
			assert_int_equal(m->data_len, ref->data_len);
			assert_memory_equal(rte_pktmbuf_mtod(m, void *),
					    rte_pktmbuf_mtod(ref, void *), ref->data_len);
			rte_pktmbuf_free(m);
			rte_pktmbuf_free(ref);
			esp_fixture_fini(&f);
		}
	}
}

/* Window 0: no stamp, next header 4, the same length as ever; the KATs and
 * interop checks of test_esp.c cover the rest of the format. */
static void
test_window_zero_puts_no_stamp_on_the_wire(void **state)
{
	struct esp_fixture f;

	(void)state;
	fixture_init(&f, &gvpn_crypto_ipsecmb, 0);
	assert_int_equal(f.sa->ddd_len, 0);
	for (uint16_t plen = 0; plen < 40; plen += 7) {
		struct rte_mbuf *m = esp_encrypt_one(&f, plen), *ref = esp_inner_packet(plen, 0, 0);
		uint32_t clen, ilen = 20u + plen;
		uint8_t plain[256];

		clen = openssl_open(m, 20, plain);
		assert_int_equal(clen, (ilen + 2 + 15) & ~15u);
		assert_int_equal(plain[clen - 1], 4);
		assert_memory_equal(plain, rte_pktmbuf_mtod_offset(ref, uint8_t *, L2), ilen);
		rte_pktmbuf_free(m);
		rte_pktmbuf_free(ref);
	}
	esp_fixture_fini(&f);
}

/* --- IPv6 SAs: the stamp's next header is 41 --- */

static void
stamp_next_header_ipv4(uint8_t *p, uint32_t *clen)
{
	(void)clen;
	p[0] = 4;
}

static void
inner_after_stamp_version_4(uint8_t *p, uint32_t *clen)
{
	(void)clen;
	p[12] = 0x45;
}

static void
test_ipv6_malformed_stamp_is_a_counted_drop(void **state)
{
	static const struct {
		const char *what;
		esp_mangle_fn mangle;
		enum gvpn_esp_drop why;
	} cases[] = {
	    {"payload shorter than a stamp", payload_shorter_than_stamp, GVPN_ESP_DROP_BAD_STAMP},
	    {"stamp length 8", stamp_length_8, GVPN_ESP_DROP_BAD_STAMP},
	    {"no stamp (next header 41)", trailer_next_header_ipv6, GVPN_ESP_DROP_BAD_STAMP},
	    {"next header IPv4", trailer_next_header_ipv4, GVPN_ESP_DROP_BAD_NEXT_HDR},
	    {"stamp's next header IPv4", stamp_next_header_ipv4, GVPN_ESP_DROP_BAD_NEXT_HDR},
	    {"inner version 4 after the stamp", inner_after_stamp_version_4,
	     GVPN_ESP_DROP_BAD_INNER},
	};
	const struct gvpn_crypto_ops *be[] = {&gvpn_crypto_ipsecmb, &gvpn_crypto_openssl};

	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(be); b++) {
		struct esp_fixture f;

		fixture6_init(&f, be[b], 30);
		clock_at(0);
		for (size_t k = 0; k < ARRAY_LEN(cases); k++)
			esp_decrypt_one_expect(&f, esp_forged_packet(&f, cases[k].mangle), 0,
					       cases[k].why, cases[k].what);
		esp_fixture_fini(&f);
	}
}

/* An IPv6 SA's stamp says 41 and the trailer 253; the window holds as for
 * IPv4; without a window the trailer says 41. */
static void
test_ipv6_stamped_packet_carries_send_time_and_decrypts(void **state)
{
	const struct gvpn_crypto_ops *be[] = {&gvpn_crypto_ipsecmb, &gvpn_crypto_openssl};

	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(be); b++) {
		for (uint16_t plen = 0; plen < 40; plen += 13) {
			struct rte_mbuf *m, *ref = esp_inner_packet6(plen, 0, 0);
			struct gvpn_esp_sa_state *st[1];
			uint32_t clen, ilen = 40u + plen;
			struct esp_fixture f, off;
			uint8_t plain[256];
			uint64_t ts, want;

			fixture6_init(&f, be[b], 1);
			clock_at(0);
			m = esp_encrypt_one(&f, plen);
			clen = openssl_open(m, 40, plain);
			assert_int_equal(clen, (12 + ilen + 2 + 15) & ~15u);
			assert_int_equal(plain[clen - 1], 253);
			assert_int_equal(plain[0], 41);
			assert_int_equal(plain[1], 12);
			assert_int_equal(plain[2], 1);
			assert_int_equal(plain[3], 0);
			ts = be64_at(plain + 4);
			want = (uint64_t)(t0.tv_sec + NTP_UNIX_EPOCH) << 32 | (1ull << 30);
			assert_true(ts >= want && ts - want < (1ull << 32) / 10);
			assert_memory_equal(plain + 12, rte_pktmbuf_mtod_offset(ref, uint8_t *, L2),
					    ilen);
			st[0] = &f.st;
			assert_int_equal(gvpn_esp_decrypt_burst(f.lc, st, &m, 1), 1);
			assert_int_equal(m->data_len, ref->data_len);
			assert_memory_equal(rte_pktmbuf_mtod(m, void *),
					    rte_pktmbuf_mtod(ref, void *), ref->data_len);
			rte_pktmbuf_free(m);

			/* 2 s later: outside the 1 s window */
			m = esp_encrypt_one(&f, plen);
			clock_at(2000);
			esp_decrypt_one_expect(&f, m, 0, GVPN_ESP_DROP_REPLAY_WINDOW, "IPv6, 2 s");

			fixture6_init(&off, be[b], 0);
			m = esp_encrypt_one(&off, plen);
			clen = openssl_open(m, 40, plain);
			assert_int_equal(clen, (ilen + 2 + 15) & ~15u);
			assert_int_equal(plain[clen - 1], 41);
			assert_memory_equal(plain, rte_pktmbuf_mtod_offset(ref, uint8_t *, L2),
					    ilen);
			rte_pktmbuf_free(m);
			rte_pktmbuf_free(ref);
			esp_fixture_fini(&off);
			esp_fixture_fini(&f);
		}
	}
}

/* The clock runs at the TSC's pace from the time it was given. */
static void
test_clock_follows_sync(void **state)
{
	struct timespec t = {.tv_sec = 4000000000 - NTP_UNIX_EPOCH, .tv_nsec = 500000000};
	uint64_t a, b;

	(void)state;
	assert_int_equal(gvpn_esp_clock_sync(&t), 0);
	a = gvpn_esp_clock_now();
	assert_true(a >= (4000000000ull << 32 | 1ull << 31));
	assert_true(a - (4000000000ull << 32 | 1ull << 31) < (1ull << 32) / 10);
	rte_delay_us_block(20000);
	b = gvpn_esp_clock_now();
	/* 20 ms later, within a generous 10 ms */
	assert_true(b - a > (uint64_t)(0.010 * 4294967296.0));
	assert_true(b - a < (uint64_t)(0.030 * 4294967296.0));
	assert_int_equal(gvpn_esp_clock_sync(NULL), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_malformed_stamp_is_a_counted_drop),
	    cmocka_unit_test(test_stamp_and_policy_must_agree),
	    cmocka_unit_test(test_stamp_outside_window_is_dropped_as_replay_window),
	    cmocka_unit_test(test_stamped_packet_carries_send_time_and_decrypts),
	    cmocka_unit_test(test_window_zero_puts_no_stamp_on_the_wire),
	    cmocka_unit_test(test_ipv6_malformed_stamp_is_a_counted_drop),
	    cmocka_unit_test(test_ipv6_stamped_packet_carries_send_time_and_decrypts),
	    cmocka_unit_test(test_clock_follows_sync),
	};

	(void)argc;
	return esp_test_main(argv[0], "esp_ddd", tests, ARRAY_LEN(tests), 255);
}
