/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ESP tunnel mode: wire layout checked against an independent decryption
 * (OpenSSL called directly), both backends byte-identical and decrypting
 * each other for every algorithm and every payload size 0..1500, and every
 * malformed input a counted drop, for the lcore and for the SA it came under.
 */
#include <errno.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "esp_test_util.h"

#define SEED_LEN 32

static const uint8_t seed[SEED_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t cipher_key[GVPN_KEY_MAX] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
    0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
    0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23};
static const uint8_t auth_key[GVPN_KEY_MAX] = {
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
    0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf};

/* Every TEK algorithm of R3 and the GCM, GMAC and SHA-384/512 extensions. */
static const struct {
	enum gvpn_cipher c;
	uint8_t klen;
	enum gvpn_auth a;
} algs[] = {
#define CBC_ROWS(c, k)                                                                             \
	{c, k, GVPN_AUTH_HMAC_MD5_96}, {c, k, GVPN_AUTH_HMAC_SHA1_96},                             \
	    {c, k, GVPN_AUTH_HMAC_SHA256_128}, {c, k, GVPN_AUTH_HMAC_SHA384_192},                  \
	{                                                                                          \
		c, k, GVPN_AUTH_HMAC_SHA512_256                                                    \
	}
    CBC_ROWS(GVPN_CIPHER_DES_CBC, 8),		CBC_ROWS(GVPN_CIPHER_3DES_CBC, 24),
    CBC_ROWS(GVPN_CIPHER_AES_CBC, 16),		CBC_ROWS(GVPN_CIPHER_AES_CBC, 24),
    CBC_ROWS(GVPN_CIPHER_AES_CBC, 32),		{GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE},
    {GVPN_CIPHER_AES_GCM, 36, GVPN_AUTH_NONE},	{GVPN_CIPHER_AES_GMAC, 20, GVPN_AUTH_NONE},
    {GVPN_CIPHER_AES_GMAC, 36, GVPN_AUTH_NONE},
#undef CBC_ROWS
};

static struct gvpn_esp_sa_conf
conf_for(enum gvpn_cipher c, uint8_t klen, enum gvpn_auth a)
{
	struct gvpn_esp_sa_conf conf = {.spi = 0x1001, .ttl = 64};

	conf.xform.cipher = c;
	conf.xform.auth = a;
	conf.xform.cipher_key_len = klen;
	memcpy(conf.xform.cipher_key, cipher_key, klen);
	conf.xform.auth_key_len = (uint8_t)gvpn_auth_key_len(a);
	memcpy(conf.xform.auth_key, auth_key, conf.xform.auth_key_len);
	return conf;
}

static int
header_checksum_ok(const struct rte_ipv4_hdr *ip)
{
	struct rte_ipv4_hdr copy = *ip;

	copy.hdr_checksum = 0;
	return rte_ipv4_cksum(&copy) == ip->hdr_checksum;
}

/*
 * The outer IPv4 header of any inner header: its checksum verifies as a
 * receiver checks it (the one's-complement sum of the header, checksum
 * included, is 0xffff) and is rte_ipv4_cksum()'s, and the ID, the sequence number and the counter
 * IV each go up by one a packet from one burst to the next, as do the SA's packet and byte counts.
 * Random inner headers, in bursts of 1 to 32.
 */
static void
test_outer_header_is_right_for_any_inner_header(void **state)
{
	struct gvpn_esp_sa_conf c = conf_for(GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE);
	uint32_t seq = 0, sent = 0, id0 = 0;
	uint64_t bytes = 0, iv0 = 0;
	struct esp_fixture f;

	(void)state;
	esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
	srand(7);
	while (sent < 20000) {
		struct rte_mbuf *m[32];
		struct gvpn_esp_sa_state *st[32];
		uint16_t n = (uint16_t)(1 + rand() % 32);

		for (uint16_t k = 0; k < n; k++) {
			struct rte_ipv4_hdr *i;

			m[k] = esp_inner_packet((uint16_t)(rand() % 1400), (uint8_t)rand(),
						rand() & 1);
			i = esp_ip_of(m[k]);
			i->time_to_live = (uint8_t)rand();
			i->src_addr = (uint32_t)rand() ^ (uint32_t)rand() << 16;
			i->dst_addr = (uint32_t)rand() ^ (uint32_t)rand() << 16;
			bytes += rte_be_to_cpu_16(i->total_length);
			st[k] = &f.st;
		}
		assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, m, n), n);
		for (uint16_t k = 0; k < n; k++, sent++) {
			const struct rte_ipv4_hdr *o = esp_ip_of(m[k]);
			const uint8_t *esp = (const uint8_t *)(o + 1);
			uint64_t iv = 0;

			if (rte_raw_cksum(o, sizeof(*o)) != 0xffff)
				fail_msg("packet %u: outer checksum %#x does not verify", sent,
					 rte_be_to_cpu_16(o->hdr_checksum));
			assert_true(header_checksum_ok(o));
			for (int b = 0; b < 8; b++)
				iv = iv << 8 | esp[8 + b];
			if (sent == 0) {
				id0 = rte_be_to_cpu_16(o->packet_id);
				iv0 = iv;
			}
			assert_int_equal(rte_be_to_cpu_16(o->packet_id), (uint16_t)(id0 + sent));
			assert_int_equal(iv, iv0 + sent);
			assert_int_equal(esp[4] << 24 | esp[5] << 16 | esp[6] << 8 | esp[7], ++seq);
			rte_pktmbuf_free(m[k]);
		}
	}
	assert_int_equal(f.st.seq, seq);
	assert_int_equal(f.st.enc_pkts, sent);
	assert_int_equal(f.st.enc_bytes, bytes);

	/* The one header in 2^32 whose words, with the addresses taken 32
	 * bits at a time, sum to 0x1ffffffff: the end-around carry from the
	 * upper 32 bits must go back in. Packet A gives the words in front of
	 * the addresses; B has the same but the next ID and a destination
	 * chosen to make that sum. */
	for (int k = 0; k < 2; k++) {
		static uint64_t front;
		struct rte_mbuf *m = esp_inner_packet(30, 0, 0);
		struct gvpn_esp_sa_state *st[1] = {&f.st};
		const struct rte_ipv4_hdr *o;
		uint16_t w[5];

		esp_ip_of(m)->src_addr = 0xffffffff;
		if (k == 1)
			esp_ip_of(m)->dst_addr = (uint32_t)(0x100000000 - front);
		assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, &m, 1), 1);
		o = esp_ip_of(m);
		assert_true(header_checksum_ok(o));
		if (k == 0) {
			rte_be16_t next_id = rte_cpu_to_be_16(rte_be_to_cpu_16(o->packet_id) + 1);

			memcpy(w, o, sizeof(w));
			front = (uint64_t)w[0] + w[1] + next_id + w[3] + w[4];
		} else {
			memcpy(w, o, sizeof(w));
			assert_int_equal((uint64_t)w[0] + w[1] + w[2] + w[3] + w[4] + o->src_addr +
					     o->dst_addr,
					 0x1ffffffffULL);
		}
		rte_pktmbuf_free(m);
	}
	esp_fixture_fini(&f);
}

/*
 * The layout of RFC 4303 + address preservation, checked by decrypting with
 * OpenSSL directly rather than with the library.
 */
static void
test_encrypt_builds_rfc4303_tunnel_with_preserved_addresses(void **state)
{
	struct gvpn_esp_sa_conf c = conf_for(GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96);
	struct esp_fixture f;
	struct gvpn_esp_sa_state *st[2];
	struct rte_mbuf *m[2], *orig;
	uint8_t plain[2048], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen;
	int l1, l2;

	(void)state;
	esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
	orig = esp_inner_packet(101, 0xb9 /* DSCP EF, ECN ECT(1) */, 1);
	m[0] = esp_inner_packet(101, 0xb9, 1);
	m[1] = esp_inner_packet(101, 0xb9, 1);
	st[0] = st[1] = &f.st;
	assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, m, 2), 2);

	for (int k = 0; k < 2; k++) {
		struct rte_ipv4_hdr *o = esp_ip_of(m[k]), *i = esp_ip_of(orig);
		const uint8_t *esp = (const uint8_t *)(o + 1);
		const uint8_t *iv = esp + 8, *ct = esp + 24;
		uint32_t olen = rte_be_to_cpu_16(o->total_length);
		uint32_t clen = olen - 20 - 8 - 16 - 12;
		EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

		/* Link header kept, outer header per R2/R22. */
		assert_memory_equal(rte_pktmbuf_mtod(m[k], uint8_t *),
				    rte_pktmbuf_mtod(orig, uint8_t *), L2);
		assert_int_equal(m[k]->data_len, L2 + olen);
		assert_int_equal(o->version_ihl, 0x45);
		assert_int_equal(o->src_addr, i->src_addr);
		assert_int_equal(o->dst_addr, i->dst_addr);
		assert_int_equal(o->type_of_service, 0xb9);
		assert_int_equal(o->next_proto_id, 50);
		assert_int_equal(o->fragment_offset, 0); /* DF clear by default */
		assert_int_equal(o->time_to_live, 64);
		assert_true(header_checksum_ok(o));
		assert_int_equal(rte_be_to_cpu_16(o->packet_id),
				 (uint16_t)(rte_be_to_cpu_16(esp_ip_of(m[0])->packet_id) + k));
		assert_int_equal(esp[0] << 24 | esp[1] << 16 | esp[2] << 8 | esp[3], 0x1001);
		assert_int_equal(esp[4] << 24 | esp[5] << 16 | esp[6] << 8 | esp[7], k + 1);
		assert_int_equal(clen % 16, 0);

		/* ICV: HMAC-SHA1 over ESP header, IV and ciphertext, first 12 bytes. */
		HMAC(EVP_sha1(), auth_key, 20, esp, 24 + clen, mac, &maclen);
		assert_memory_equal(mac, ct + clen, 12);

		assert_int_equal(EVP_DecryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, cipher_key, iv),
				 1);
		EVP_CIPHER_CTX_set_padding(ctx, 0);
		assert_int_equal(EVP_DecryptUpdate(ctx, plain, &l1, ct, (int)clen), 1);
		assert_int_equal(EVP_DecryptFinal_ex(ctx, plain + l1, &l2), 1);
		EVP_CIPHER_CTX_free(ctx);

		/* Inner packet unchanged, then padding 1, 2, ..., pad length, 4. */
		assert_memory_equal(plain, i, 121);
		uint8_t pad = plain[clen - 2];
		assert_int_equal(121 + pad + 2, clen);
		for (uint8_t b = 0; b < pad; b++)
			assert_int_equal(plain[121 + b], b + 1);
		assert_int_equal(plain[clen - 1], 4);
		rte_pktmbuf_free(m[k]);
	}
	/* Two packets, two different IVs. */
	rte_pktmbuf_free(orig);
	assert_int_equal(f.st.enc_pkts, 2);
	assert_int_equal(f.st.enc_bytes, 2 * 121);
	assert_int_equal(f.st.dec_pkts, 0);
	esp_fixture_fini(&f);
}

/* An AES-GCM SA's IV generator and encapsulation. */
static void
gcm_paths(const struct gvpn_crypto_ops *be, const struct gvpn_esp_sa *out)
{
	struct gvpn_esp_sa_conf c = conf_for(GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE);
	struct esp_fixture f;

	esp_fixture_init(&f, be, &c, seed);
	assert_ptr_equal(out->gen_iv, f.sa->gen_iv);
	assert_ptr_equal(out->encap, f.sa->encap);
	esp_fixture_fini(&f);
}

/*
 * AES-GMAC (RFC 4543 3): the packet is as AES-GCM's, but the payload and
 * trailer go in the clear, and the ICV is the GMAC, checked here with
 * OpenSSL directly, of everything from the ESP header to the trailer under
 * the nonce salt | IV. The IVs come from the same counter as AES-GCM's.
 */
static void
test_gmac_authenticates_the_clear_payload(void **state)
{
	const struct gvpn_crypto_ops *be[] = {&gvpn_crypto_ipsecmb, &gvpn_crypto_openssl};

	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(be); b++) {
		for (uint8_t klen = 20; klen <= 36; klen += 16) {
			struct gvpn_esp_sa_conf c =
			    conf_for(GVPN_CIPHER_AES_GMAC, klen, GVPN_AUTH_NONE);
			struct gvpn_esp_sa_state *st[3];
			struct rte_mbuf *m[3], *orig;
			uint64_t iv0 = 0;
			struct esp_fixture f;

			esp_fixture_init(&f, be[b], &c, seed);
			gcm_paths(be[b], f.sa); /* the very same IV path */
			orig = esp_inner_packet(45, 0, 0);
			for (int k = 0; k < 3; k++) {
				m[k] = esp_inner_packet(45, 0, 0);
				st[k] = &f.st;
			}
			assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, m, 3), 3);
			for (int k = 0; k < 3; k++) {
				struct rte_ipv4_hdr *o = esp_ip_of(m[k]);
				const uint8_t *esp = (const uint8_t *)(o + 1), *pl = esp + 16;
				uint32_t olen = rte_be_to_cpu_16(o->total_length);
				uint32_t plen = olen - 20 - 16 - 16, ilen = 65;
				uint8_t nonce[12], tag[16];
				EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
				uint64_t iv;
				int l;

				/* Inner packet in the clear, padding to 4 bytes, 4. */
				assert_int_equal(plen % 4, 0);
				assert_memory_equal(pl, esp_ip_of(orig), ilen);
				assert_int_equal(pl[plen - 2], plen - ilen - 2);
				assert_int_equal(pl[plen - 1], 4);
				/* IVs count up by one, as AES-GCM's do. */
				memcpy(&iv, esp + 8, 8);
				iv = rte_be_to_cpu_64(iv);
				if (k == 0)
					iv0 = iv;
				assert_true(iv == iv0 + (uint64_t)k);
				memcpy(nonce, cipher_key + klen - 4, 4);
				memcpy(nonce + 4, esp + 8, 8);
				assert_int_equal(EVP_EncryptInit_ex(ctx,
								    klen == 20 ? EVP_aes_128_gcm()
									       : EVP_aes_256_gcm(),
								    NULL, cipher_key, nonce),
						 1);
				assert_int_equal(
				    EVP_EncryptUpdate(ctx, NULL, &l, esp, (int)(16 + plen)), 1);
				assert_int_equal(EVP_EncryptFinal_ex(ctx, tag, &l), 1);
				assert_int_equal(
				    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
				EVP_CIPHER_CTX_free(ctx);
				assert_memory_equal(tag, pl + plen, 16);
			}
			/* A changed clear byte is a bad ICV; the others open. */
			rte_pktmbuf_mtod_offset(m[1], uint8_t *, L2 + 20 + 16 + 30)[0] ^= 1;
			assert_int_equal(gvpn_esp_decrypt_burst(f.lc, st, m, 3), 2);
			assert_int_equal(f.lc->stats.drop[GVPN_ESP_DROP_BAD_ICV], 1);
			/* encryptions and decryptions counted apart; a drop is neither */
			assert_int_equal(f.st.enc_pkts, 3);
			assert_int_equal(f.st.dec_pkts, 2);
			for (int k = 0; k < 3; k++)
				rte_pktmbuf_free(m[k]);
			rte_pktmbuf_free(orig);
			esp_fixture_fini(&f);
		}
	}
}

static void
test_outer_df_follows_policy(void **state)
{
	static const struct {
		enum gvpn_df_mode mode;
		int inner_df, outer_df;
	} cases[] = {
	    {GVPN_DF_CLEAR, 0, 0}, {GVPN_DF_CLEAR, 1, 0}, {GVPN_DF_SET, 0, 1},
	    {GVPN_DF_SET, 1, 1},   {GVPN_DF_COPY, 0, 0},  {GVPN_DF_COPY, 1, 1},
	};

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		struct gvpn_esp_sa_conf c = conf_for(GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE);
		struct gvpn_esp_sa_state *st[1];
		struct rte_mbuf *m[1];
		struct esp_fixture f;

		c.df = cases[k].mode;
		c.ttl = 0; /* copy */
		esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
		m[0] = esp_inner_packet(40, 0, cases[k].inner_df);
		st[0] = &f.st;
		assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, m, 1), 1);
		assert_int_equal(esp_ip_of(m[0])->fragment_offset,
				 cases[k].outer_df ? rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG) : 0);
		assert_int_equal(esp_ip_of(m[0])->time_to_live, 17);
		assert_true(header_checksum_ok(esp_ip_of(m[0])));
		rte_pktmbuf_free(m[0]);
		esp_fixture_fini(&f);
	}
}

/*
 * For every algorithm and every payload size 0..1500: the two backends,
 * given the same IV stream, produce the same bytes, and each decrypts the
 * other's packets back to the original.
 */
static void
test_backends_agree_for_every_algorithm_and_size(void **state)
{
	enum { MAXP = 1500, BURST = 32 };

	(void)state;
	for (size_t a = 0; a < ARRAY_LEN(algs); a++) {
		struct gvpn_esp_sa_conf c = conf_for(algs[a].c, algs[a].klen, algs[a].a);
		struct esp_fixture mb, os;

		esp_fixture_init(&mb, &gvpn_crypto_ipsecmb, &c, seed);
		esp_fixture_init(&os, &gvpn_crypto_openssl, &c, seed);
		for (unsigned int base = 0; base <= MAXP; base += BURST) {
			struct rte_mbuf *x[BURST], *y[BURST], *ref[BURST];
			struct gvpn_esp_sa_state *smb[BURST], *sos[BURST];
			uint16_t n = 0;

			for (unsigned int p = base; p <= MAXP && n < BURST; p++, n++) {
				x[n] = esp_inner_packet((uint16_t)p, 0x28, 0);
				y[n] = esp_inner_packet((uint16_t)p, 0x28, 0);
				ref[n] = esp_inner_packet((uint16_t)p, 0x28, 0);
				smb[n] = &mb.st;
				sos[n] = &os.st;
			}
			assert_int_equal(gvpn_esp_encrypt_burst(mb.lc, smb, x, n), n);
			assert_int_equal(gvpn_esp_encrypt_burst(os.lc, sos, y, n), n);
			for (uint16_t i = 0; i < n; i++) {
				assert_int_equal(x[i]->data_len, y[i]->data_len);
				if (memcmp(rte_pktmbuf_mtod(x[i], void *),
					   rte_pktmbuf_mtod(y[i], void *), x[i]->data_len) != 0)
					fail_msg("%s/%s: %u-byte payload differs",
						 gvpn_cipher_name(c.xform.cipher),
						 gvpn_auth_name(c.xform.auth), base + i);
			}
			/* Cross: OpenSSL opens IPsec-MB's packets and vice versa. */
			assert_int_equal(gvpn_esp_decrypt_burst(os.lc, sos, x, n), n);
			assert_int_equal(gvpn_esp_decrypt_burst(mb.lc, smb, y, n), n);
			for (uint16_t i = 0; i < n; i++) {
				assert_int_equal(x[i]->data_len, ref[i]->data_len);
				assert_memory_equal(rte_pktmbuf_mtod(x[i], void *),
						    rte_pktmbuf_mtod(ref[i], void *),
						    ref[i]->data_len);
				assert_memory_equal(rte_pktmbuf_mtod(y[i], void *),
						    rte_pktmbuf_mtod(ref[i], void *),
						    ref[i]->data_len);
				rte_pktmbuf_free(x[i]);
				rte_pktmbuf_free(y[i]);
				rte_pktmbuf_free(ref[i]);
			}
		}
		for (int d = 0; d < GVPN_ESP_DROP_MAX; d++) {
			assert_int_equal(mb.lc->stats.drop[d], 0);
			assert_int_equal(os.lc->stats.drop[d], 0);
		}
		esp_fixture_fini(&mb);
		esp_fixture_fini(&os);
	}
}

static void
test_ivs_do_not_repeat(void **state)
{
	(void)state;
	for (size_t a = 0; a < ARRAY_LEN(algs); a++) {
		struct gvpn_esp_sa_conf c = conf_for(algs[a].c, algs[a].klen, algs[a].a);
		struct gvpn_esp_sa_state *st[64];
		struct rte_mbuf *m[64];
		struct esp_fixture f;
		unsigned int ivl;

		esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
		ivl = f.sa->iv_len;
		for (int i = 0; i < 64; i++) {
			m[i] = esp_inner_packet(10, 0, 0);
			st[i] = &f.st;
		}
		assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, m, 64), 64);
		for (int i = 0; i < 64; i++)
			for (int j = i + 1; j < 64; j++)
				assert_memory_not_equal(
				    rte_pktmbuf_mtod_offset(m[i], void *, L2 + 28),
				    rte_pktmbuf_mtod_offset(m[j], void *, L2 + 28), ivl);
		for (int i = 0; i < 64; i++)
			rte_pktmbuf_free(m[i]);
		esp_fixture_fini(&f);
	}
}

/* --- malformed input --- */

static void
mangle_pad_len_too_big(uint8_t *p, uint32_t *clen)
{
	p[*clen - 2] = (uint8_t)*clen;
}

static void
mangle_pad_bytes(uint8_t *p, uint32_t *clen)
{
	/* 50-byte inner, clen 64: pad 12 bytes; make the 3rd wrong */
	p[*clen - 2 - p[*clen - 2] + 2] = 0xee;
}

static void
mangle_next_header_ipv6(uint8_t *p, uint32_t *clen)
{
	p[*clen - 1] = 41;
}

static void
mangle_next_header_dummy(uint8_t *p, uint32_t *clen)
{
	p[*clen - 1] = 59;
}

static void
mangle_inner_version(uint8_t *p, uint32_t *clen)
{
	(void)clen;
	p[0] = 0x65;
}

static void
mangle_inner_too_long(uint8_t *p, uint32_t *clen)
{
	(void)clen;
	p[2] = 0x05; /* total length 0x05xx > payload */
}

static void
mangle_payload_one_byte(uint8_t *p, uint32_t *clen)
{
	/* ciphertext of a single CBC block holding only part of a trailer */
	(void)p;
	*clen = 16;
	p[14] = 20;
	p[15] = 4;
}

/* Packet-level manglings that need no key. */
static void
cut_to_outer_header(struct rte_mbuf *m)
{
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - L2 - 22));
	esp_ip_of(m)->total_length = rte_cpu_to_be_16(22);
}

static void
cut_esp_short(struct rte_mbuf *m)
{
	/* header + IV + ICV but no ciphertext block */
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - L2 - 20 - 8 - 16 - 12));
	esp_ip_of(m)->total_length = rte_cpu_to_be_16(20 + 8 + 16 + 12);
}

static void
cut_odd_length(struct rte_mbuf *m)
{
	rte_pktmbuf_trim(m, 5);
	esp_ip_of(m)->total_length = rte_cpu_to_be_16((uint16_t)(m->data_len - L2));
}

static void
set_total_length_beyond_frame(struct rte_mbuf *m)
{
	esp_ip_of(m)->total_length = rte_cpu_to_be_16((uint16_t)(m->data_len - L2 + 1));
}

static void
set_version_6(struct rte_mbuf *m)
{
	esp_ip_of(m)->version_ihl = 0x65;
}

static void
set_ihl_4(struct rte_mbuf *m)
{
	esp_ip_of(m)->version_ihl = 0x44;
}

static void
set_proto_udp(struct rte_mbuf *m)
{
	esp_ip_of(m)->next_proto_id = 17;
}

static void
set_more_fragments(struct rte_mbuf *m)
{
	esp_ip_of(m)->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
}

static void
set_fragment_offset(struct rte_mbuf *m)
{
	esp_ip_of(m)->fragment_offset = rte_cpu_to_be_16(8);
}

static void
set_wrong_spi(struct rte_mbuf *m)
{
	rte_pktmbuf_mtod_offset(m, uint8_t *, L2 + 20)[3] ^= 0x01;
}

static void
flip_ciphertext_bit(struct rte_mbuf *m)
{
	rte_pktmbuf_mtod_offset(m, uint8_t *, L2 + 20 + 24)[5] ^= 0x10;
}

static void
flip_icv_bit(struct rte_mbuf *m)
{
	rte_pktmbuf_mtod(m, uint8_t *)[m->data_len - 1] ^= 0x80;
}

static void
flip_sequence_bit(struct rte_mbuf *m)
{
	rte_pktmbuf_mtod_offset(m, uint8_t *, L2 + 20)[7] ^= 0x01;
}

static void
cut_frame_below_ip_header(struct rte_mbuf *m)
{
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - L2 - 10));
}

static void
test_malformed_esp_is_a_counted_drop(void **state)
{
	static const struct {
		const char *what;
		void (*mangle)(struct rte_mbuf *m);
		enum gvpn_esp_drop why;
	} cases[] = {
	    {"frame shorter than an IPv4 header", cut_frame_below_ip_header,
	     GVPN_ESP_DROP_BAD_OUTER},
	    {"truncated ESP header", cut_to_outer_header, GVPN_ESP_DROP_SHORT},
	    {"no ciphertext", cut_esp_short, GVPN_ESP_DROP_SHORT},
	    {"CBC length not a block multiple", cut_odd_length, GVPN_ESP_DROP_BAD_LEN},
	    {"total length beyond frame", set_total_length_beyond_frame, GVPN_ESP_DROP_BAD_OUTER},
	    {"outer version 6", set_version_6, GVPN_ESP_DROP_BAD_OUTER},
	    {"outer IHL 4", set_ihl_4, GVPN_ESP_DROP_BAD_OUTER},
	    {"not ESP", set_proto_udp, GVPN_ESP_DROP_NOT_ESP},
	    {"first fragment", set_more_fragments, GVPN_ESP_DROP_FRAGMENT},
	    {"later fragment", set_fragment_offset, GVPN_ESP_DROP_FRAGMENT},
	    {"wrong SPI", set_wrong_spi, GVPN_ESP_DROP_BAD_SPI},
	    {"ciphertext bit flipped", flip_ciphertext_bit, GVPN_ESP_DROP_BAD_ICV},
	    {"ICV bit flipped", flip_icv_bit, GVPN_ESP_DROP_BAD_ICV},
	    {"sequence bit flipped", flip_sequence_bit, GVPN_ESP_DROP_BAD_ICV},
	};
	static const struct {
		const char *what;
		esp_mangle_fn mangle;
		enum gvpn_esp_drop why;
	} forged[] = {
	    {"pad length beyond payload", mangle_pad_len_too_big, GVPN_ESP_DROP_BAD_PAD},
	    {"pad bytes not 1, 2, 3...", mangle_pad_bytes, GVPN_ESP_DROP_BAD_PAD},
	    {"pad length beyond one-block payload", mangle_payload_one_byte, GVPN_ESP_DROP_BAD_PAD},
	    {"next header IPv6", mangle_next_header_ipv6, GVPN_ESP_DROP_BAD_NEXT_HDR},
	    {"dummy packet", mangle_next_header_dummy, GVPN_ESP_DROP_DUMMY},
	    {"inner version 6", mangle_inner_version, GVPN_ESP_DROP_BAD_INNER},
	    {"inner total length beyond payload", mangle_inner_too_long, GVPN_ESP_DROP_BAD_INNER},
	};
	const struct gvpn_crypto_ops *be[] = {&gvpn_crypto_ipsecmb, &gvpn_crypto_openssl};

	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(be); b++) {
		struct gvpn_esp_sa_conf c =
		    conf_for(GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96);
		struct esp_fixture f;

		esp_fixture_init(&f, be[b], &c, seed);
		for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
			struct rte_mbuf *m = esp_inner_packet(30, 0, 0);
			struct gvpn_esp_sa_state *st[1] = {&f.st};

			assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, &m, 1), 1);
			cases[k].mangle(m);
			esp_decrypt_one_expect(&f, m, 0, cases[k].why, cases[k].what);
		}
		for (size_t k = 0; k < ARRAY_LEN(forged); k++)
			esp_decrypt_one_expect(&f, esp_forged_packet(&f, forged[k].mangle), 0,
					       forged[k].why, forged[k].what);
		esp_fixture_fini(&f);
	}
}

/*
 * A burst under two SAs, one packet of the second tampered with: the bad ICV
 * counts against that SA alone (and the lcore), and the SA's drop counts
 * live outside the line each packet touches.
 */
static void
test_a_tampered_packet_counts_bad_icv_on_its_sa_alone(void **state)
{
	struct gvpn_esp_sa_conf c = conf_for(GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96);
	struct gvpn_esp_sa_state other, *st[3];
	struct gvpn_esp_sa *other_sa;
	struct rte_mbuf *m[3];
	struct esp_fixture f;

	(void)state;
	assert_int_equal(offsetof(struct gvpn_esp_sa_state, drops), RTE_CACHE_LINE_SIZE);
	esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
	c.spi = 0x2002;
	other_sa = gvpn_esp_sa_create(f.lc, &c, SOCKET_ID_ANY);
	assert_non_null(other_sa);
	gvpn_esp_sa_state_init(&other, other_sa, f.lc);
	for (int i = 0; i < 3; i++) {
		m[i] = esp_inner_packet(30, 0, 0);
		st[i] = i == 0 ? &f.st : &other;
	}
	assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, m, 3), 3);
	flip_icv_bit(m[2]);
	st[0] = &f.st;
	st[1] = st[2] = &other;
	assert_int_equal(gvpn_esp_decrypt_burst(f.lc, st, m, 3), 2);
	assert_ptr_equal(st[2], &other);
	assert_int_equal(other.drops.drop[GVPN_ESP_DROP_BAD_ICV], 1);
	assert_int_equal(other.dec_pkts, 1);
	assert_int_equal(f.lc->stats.drop[GVPN_ESP_DROP_BAD_ICV], 1);
	for (int d = 0; d < GVPN_ESP_DROP_MAX; d++) {
		assert_int_equal(f.st.drops.drop[d], 0);
		if (d != GVPN_ESP_DROP_BAD_ICV)
			assert_int_equal(other.drops.drop[d], 0);
	}
	assert_int_equal(f.st.dec_pkts, 1);
	for (int i = 0; i < 3; i++)
		rte_pktmbuf_free(m[i]);
	/* a new SA in the state counts from zero */
	gvpn_esp_sa_state_init(&other, other_sa, f.lc);
	assert_int_equal(other.drops.drop[GVPN_ESP_DROP_BAD_ICV], 0);
	gvpn_esp_sa_free(other_sa);
	esp_fixture_fini(&f);
}

static void
test_chained_mbuf_is_a_counted_drop(void **state)
{
	struct gvpn_esp_sa_conf c = conf_for(GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE);
	struct gvpn_esp_sa_state *st[1];
	struct rte_mbuf *m[1], *seg;
	struct esp_fixture f;

	(void)state;
	esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
	st[0] = &f.st;
	m[0] = esp_inner_packet(30, 0, 0);
	seg = rte_pktmbuf_alloc(esp_test_pool);
	assert_non_null(rte_pktmbuf_append(seg, 10));
	assert_int_equal(rte_pktmbuf_chain(m[0], seg), 0);
	assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, m, 1), 0);
	assert_int_equal(f.lc->stats.drop[GVPN_ESP_DROP_CHAINED], 1);
	assert_int_equal(gvpn_esp_decrypt_burst(f.lc, st, m, 1), 0);
	assert_int_equal(f.lc->stats.drop[GVPN_ESP_DROP_CHAINED], 2);
	rte_pktmbuf_free(m[0]);
	esp_fixture_fini(&f);
}

/* A Sender-ID's IV space (RFC 6054): IVs count from its base, and once
 * it is used up every packet is dropped as iv_exhausted, none reusing an
 * IV; a burst straddling the end sends what fits. */
static void
test_counter_ivs_stay_in_their_space(void **state)
{
	struct gvpn_esp_sa_conf c = conf_for(GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE);
	const uint64_t base = 0xabcd000000000000ull | 5ull << 40;
	struct gvpn_esp_sa_state *st[4];
	struct rte_mbuf *m[4];
	struct esp_fixture f;
	uint64_t iv;

	(void)state;
	esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
	assert_true(gvpn_esp_sa_counter_iv(f.sa));
	gvpn_esp_sa_state_iv(&f.st, base, 3);
	for (int i = 0; i < 4; i++) {
		m[i] = esp_inner_packet(30, 0, 0);
		st[i] = &f.st;
	}
	/* 4 packets, 3 IVs: the first 3 go, the last is dropped */
	assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, m, 4), 3);
	assert_int_equal(f.lc->stats.drop[GVPN_ESP_DROP_IV_EXHAUSTED], 1);
	for (int i = 0; i < 3; i++) {
		memcpy(&iv, rte_pktmbuf_mtod_offset(m[i], uint8_t *, L2 + 20 + 8), 8);
		assert_int_equal(rte_be_to_cpu_64(iv), base + (uint64_t)i);
		rte_pktmbuf_free(m[i]);
	}
	rte_pktmbuf_free(m[3]);
	m[0] = esp_inner_packet(30, 0, 0);
	assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, m, 1), 0);
	assert_int_equal(f.lc->stats.drop[GVPN_ESP_DROP_IV_EXHAUSTED], 2);
	rte_pktmbuf_free(m[0]);
	esp_fixture_fini(&f);

	/* CBC SAs draw random IVs: no space, no end */
	c = conf_for(GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96);
	esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
	assert_false(gvpn_esp_sa_counter_iv(f.sa));
	rte_pktmbuf_free(esp_encrypt_one(&f, 30));
	esp_fixture_fini(&f);
}

static void
test_malformed_inner_is_a_counted_drop(void **state)
{
	struct gvpn_esp_sa_conf c = conf_for(GVPN_CIPHER_AES_CBC, 32, GVPN_AUTH_HMAC_SHA256_128);
	struct gvpn_esp_sa_state *st[4];
	struct rte_mbuf *m[4], *good;
	struct esp_fixture f;

	(void)state;
	esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
	for (int i = 0; i < 4; i++) {
		m[i] = esp_inner_packet(30, 0, 0);
		st[i] = &f.st;
	}
	good = m[2];
	esp_ip_of(m[0])->version_ihl = 0x65;
	esp_ip_of(m[1])->total_length = rte_cpu_to_be_16(200);
	/* m[2] good; m[3] has no headroom left for the outer headers */
	assert_non_null(rte_pktmbuf_prepend(m[3], rte_pktmbuf_headroom(m[3])));
	rte_pktmbuf_adj(m[3], 0);
	memmove(rte_pktmbuf_mtod(m[3], uint8_t *),
		rte_pktmbuf_mtod(m[3], uint8_t *) + RTE_PKTMBUF_HEADROOM, L2 + 50);
	rte_pktmbuf_trim(m[3], RTE_PKTMBUF_HEADROOM);
	assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, m, 4), 1);
	assert_ptr_equal(m[0], good); /* good packets first */
	assert_int_equal(f.lc->stats.drop[GVPN_ESP_DROP_BAD_INNER], 2);
	assert_int_equal(f.lc->stats.drop[GVPN_ESP_DROP_NO_ROOM], 1);
	for (int i = 0; i < 4; i++)
		rte_pktmbuf_free(m[i]);
	esp_fixture_fini(&f);
}

/* ECN codepoints (RFC 3168 section 5). */
enum { NOT_ECT = 0, ECT_1 = 1, ECT_0 = 2, CE = 3, DROP = -1 };

/*
 * RFC 6040 section 4.2, figure 4: every combination of an arriving inner
 * and outer ECN field, and what leaves the decapsulator; Not-ECT inside
 * with CE outside is dropped. The DSCP bits are never touched.
 */
static void
test_decapsulation_combines_ecn_per_rfc6040(void **state)
{
	static const struct {
		int inner, outer, out;
	} cases[] = {
	    {NOT_ECT, NOT_ECT, NOT_ECT},
	    {NOT_ECT, ECT_0, NOT_ECT},
	    {NOT_ECT, ECT_1, NOT_ECT},
	    {NOT_ECT, CE, DROP},
	    {ECT_0, NOT_ECT, ECT_0},
	    {ECT_0, ECT_0, ECT_0},
	    {ECT_0, ECT_1, ECT_1},
	    {ECT_0, CE, CE},
	    {ECT_1, NOT_ECT, ECT_1},
	    {ECT_1, ECT_0, ECT_1},
	    {ECT_1, ECT_1, ECT_1},
	    {ECT_1, CE, CE},
	    {CE, NOT_ECT, CE},
	    {CE, ECT_0, CE},
	    {CE, ECT_1, CE},
	    {CE, CE, CE},
	};
	const struct gvpn_crypto_ops *be[] = {&gvpn_crypto_ipsecmb, &gvpn_crypto_openssl};

	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(be); b++) {
		struct gvpn_esp_sa_conf c = conf_for(GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE);
		struct esp_fixture f;

		esp_fixture_init(&f, be[b], &c, seed);
		for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
			const uint8_t dscp = 0xb8; /* EF */
			struct rte_mbuf *m =
			    esp_inner_packet(30, (uint8_t)(dscp | cases[k].inner), 0);
			struct gvpn_esp_sa_state *st[1] = {&f.st};
			struct gvpn_esp_stats before = f.lc->stats;
			struct rte_ipv4_hdr *o;
			uint16_t good;

			assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, &m, 1), 1);
			/* A router on the way marks the outer header. */
			o = esp_ip_of(m);
			o->type_of_service = (uint8_t)(dscp | cases[k].outer);
			o->hdr_checksum = 0;
			o->hdr_checksum = rte_ipv4_cksum(o);
			good = gvpn_esp_decrypt_burst(f.lc, st, &m, 1);
			if (cases[k].out == DROP) {
				if (good != 0)
					fail_msg("inner %d outer %d: forwarded", cases[k].inner,
						 cases[k].outer);
				assert_int_equal(f.lc->stats.drop[GVPN_ESP_DROP_CE_NOT_ECT] -
						     before.drop[GVPN_ESP_DROP_CE_NOT_ECT],
						 1);
			} else {
				if (good != 1)
					fail_msg("inner %d outer %d: dropped", cases[k].inner,
						 cases[k].outer);
				if (esp_ip_of(m)->type_of_service != (dscp | cases[k].out))
					fail_msg("inner %d outer %d: TOS %#x, want %#x",
						 cases[k].inner, cases[k].outer,
						 esp_ip_of(m)->type_of_service,
						 dscp | cases[k].out);
				assert_true(header_checksum_ok(esp_ip_of(m)));
			}
			rte_pktmbuf_free(m);
		}
		esp_fixture_fini(&f);
	}
}

/* --- IPv6 SAs --- */

static struct gvpn_esp_sa_conf
conf6_for(enum gvpn_cipher c, uint8_t klen, enum gvpn_auth a)
{
	struct gvpn_esp_sa_conf conf = conf_for(c, klen, a);

	conf.af = GVPN_AF_IPV6;
	return conf;
}

/*
 * RFC 4303 tunnel mode in IPv6 with address preservation, checked with
 * OpenSSL directly: version 6, the inner traffic class and flow label,
 * payload length, next header 50, hop limit from the SA, the inner
 * addresses; inside, the inner packet as it was, padding 1, 2, ... and next
 * header 41. Behind one and two VLAN tags too, which stay as they were.
 */
static void
test_ipv6_encrypt_builds_rfc4303_tunnel_with_preserved_addresses(void **state)
{
	struct gvpn_esp_sa_conf c = conf6_for(GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96);
	struct esp_fixture f;

	(void)state;
	esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
	assert_int_equal(f.sa->af, GVPN_AF_IPV6);
	for (unsigned int tags = 0; tags <= 2; tags++) {
		struct gvpn_esp_sa_state *st[2] = {&f.st, &f.st};
		struct rte_mbuf *m[2], *orig;
		const uint32_t l2 = L2 + 4 * tags;

		orig = esp_inner_packet6(101, 0xb9 /* DSCP EF, ECN ECT(1) */, 0xabcde);
		m[0] = esp_inner_packet6(101, 0xb9, 0xabcde);
		m[1] = esp_inner_packet6(101, 0xb9, 0xabcde);
		if (tags != 0) {
			esp_add_vlan_tags(orig, tags);
			esp_add_vlan_tags(m[0], tags);
			esp_add_vlan_tags(m[1], tags);
		}
		assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, m, 2), 2);
		for (int k = 0; k < 2; k++) {
			const struct rte_ipv6_hdr *o = esp_ip6_of(m[k]), *i = esp_ip6_of(orig);
			const uint8_t *esp = (const uint8_t *)(o + 1);
			const uint8_t *iv = esp + 8, *ct = esp + 24;
			uint32_t plen = rte_be_to_cpu_16(o->payload_len);
			uint32_t clen = plen - 8 - 16 - 12;
			uint8_t plain[2048], mac[EVP_MAX_MD_SIZE];
			EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
			unsigned int maclen;
			int l1, l2f;
			uint8_t pad;

			assert_int_equal(m[k]->l2_len, l2);
			assert_int_equal(m[k]->l3_len, 40);
			assert_memory_equal(rte_pktmbuf_mtod(m[k], uint8_t *),
					    rte_pktmbuf_mtod(orig, uint8_t *), l2);
			assert_int_equal(m[k]->data_len, l2 + 40 + plen);
			assert_int_equal(rte_be_to_cpu_32(o->vtc_flow) >> 28, 6);
			assert_int_equal(esp_tc_of(o), 0xb9);
			assert_int_equal(esp_flow_of(o), 0xabcde);
			assert_int_equal(o->proto, 50);
			assert_int_equal(o->hop_limits, 64);
			assert_memory_equal(o->src_addr, i->src_addr, 16);
			assert_memory_equal(o->dst_addr, i->dst_addr, 16);
			assert_int_equal(esp[0] << 24 | esp[1] << 16 | esp[2] << 8 | esp[3],
					 0x1001);
			assert_int_equal(esp[4] << 24 | esp[5] << 16 | esp[6] << 8 | esp[7],
					 (int)(2 * tags) + k + 1);
			assert_int_equal(clen % 16, 0);
			HMAC(EVP_sha1(), auth_key, 20, esp, 24 + clen, mac, &maclen);
			assert_memory_equal(mac, ct + clen, 12);
			assert_int_equal(
			    EVP_DecryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, cipher_key, iv), 1);
			EVP_CIPHER_CTX_set_padding(ctx, 0);
			assert_int_equal(EVP_DecryptUpdate(ctx, plain, &l1, ct, (int)clen), 1);
			assert_int_equal(EVP_DecryptFinal_ex(ctx, plain + l1, &l2f), 1);
			EVP_CIPHER_CTX_free(ctx);
			assert_memory_equal(plain, i, 141);
			pad = plain[clen - 2];
			assert_int_equal(141 + pad + 2, clen);
			for (uint8_t b = 0; b < pad; b++)
				assert_int_equal(plain[141 + b], b + 1);
			assert_int_equal(plain[clen - 1], 41);
			rte_pktmbuf_free(m[k]);
		}
		rte_pktmbuf_free(orig);
	}
	assert_int_equal(f.st.enc_pkts, 6);
	assert_int_equal(f.st.enc_bytes, 6 * 141);
	esp_fixture_fini(&f);
}

/* The hop limit is the SA's ttl, or the inner one's with ttl 0; the DF
 * policy, IPv4's, changes nothing in IPv6. */
static void
test_ipv6_hop_limit_follows_ttl(void **state)
{
	static const struct {
		uint8_t ttl;
		enum gvpn_df_mode df;
		uint8_t want;
	} cases[] = {{64, GVPN_DF_CLEAR, 64}, {0, GVPN_DF_SET, 17}, {255, GVPN_DF_COPY, 255}};

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		struct gvpn_esp_sa_conf c = conf6_for(GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE);
		struct esp_fixture f;
		struct rte_mbuf *m;

		c.ttl = cases[k].ttl;
		c.df = cases[k].df;
		esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
		m = esp_encrypt_one(&f, 40);
		assert_int_equal(esp_ip6_of(m)->hop_limits, cases[k].want);
		/* the rest of the header does not depend on either */
		assert_int_equal(esp_ip6_of(m)->proto, 50);
		assert_int_equal(rte_be_to_cpu_16(esp_ip6_of(m)->payload_len),
				 m->data_len - L2 - 40);
		/* and the inner packet comes back with its own hop limit */
		esp_decrypt_one_expect(&f, m, 1, GVPN_ESP_DROP_MAX, "hop limit");
		esp_fixture_fini(&f);
	}
}

/*
 * Every algorithm, both backends: the same bytes from the same IV stream,
 * each decrypting the other's back to the original frame (untagged, one
 * tag, two tags), the inner IPv6 header 40 bytes (l3_len).
 */
static void
test_ipv6_round_trips_for_every_algorithm(void **state)
{
	enum { BURST = 30 };

	(void)state;
	for (size_t a = 0; a < ARRAY_LEN(algs); a++) {
		struct gvpn_esp_sa_conf c = conf6_for(algs[a].c, algs[a].klen, algs[a].a);
		struct esp_fixture mb, os;

		esp_fixture_init(&mb, &gvpn_crypto_ipsecmb, &c, seed);
		esp_fixture_init(&os, &gvpn_crypto_openssl, &c, seed);
		for (unsigned int base = 0; base < 3 * BURST; base += BURST) {
			struct rte_mbuf *x[BURST], *y[BURST], *ref[BURST];
			struct gvpn_esp_sa_state *smb[BURST], *sos[BURST];

			for (unsigned int i = 0; i < BURST; i++) {
				/* sizes 0..89 and 1400..1489, tags 0, 1, 2 in turn */
				const uint16_t p = (uint16_t)(base + i + (i % 2 ? 1400 : 0));
				const uint8_t tc = (uint8_t)(i * 37);

				x[i] = esp_inner_packet6(p, tc, i * 4099);
				y[i] = esp_inner_packet6(p, tc, i * 4099);
				ref[i] = esp_inner_packet6(p, tc, i * 4099);
				if (i % 3 != 0) {
					esp_add_vlan_tags(x[i], i % 3);
					esp_add_vlan_tags(y[i], i % 3);
					esp_add_vlan_tags(ref[i], i % 3);
				}
				smb[i] = &mb.st;
				sos[i] = &os.st;
			}
			assert_int_equal(gvpn_esp_encrypt_burst(mb.lc, smb, x, BURST), BURST);
			assert_int_equal(gvpn_esp_encrypt_burst(os.lc, sos, y, BURST), BURST);
			for (unsigned int i = 0; i < BURST; i++) {
				assert_int_equal(x[i]->data_len, y[i]->data_len);
				if (memcmp(rte_pktmbuf_mtod(x[i], void *),
					   rte_pktmbuf_mtod(y[i], void *), x[i]->data_len) != 0)
					fail_msg("%s/%s: packet %u differs",
						 gvpn_cipher_name(c.xform.cipher),
						 gvpn_auth_name(c.xform.auth), base + i);
			}
			assert_int_equal(gvpn_esp_decrypt_burst(os.lc, sos, x, BURST), BURST);
			assert_int_equal(gvpn_esp_decrypt_burst(mb.lc, smb, y, BURST), BURST);
			for (unsigned int i = 0; i < BURST; i++) {
				assert_int_equal(x[i]->data_len, ref[i]->data_len);
				assert_int_equal(x[i]->l2_len, ref[i]->l2_len);
				assert_int_equal(x[i]->l3_len, 40);
				assert_memory_equal(rte_pktmbuf_mtod(x[i], void *),
						    rte_pktmbuf_mtod(ref[i], void *),
						    ref[i]->data_len);
				assert_memory_equal(rte_pktmbuf_mtod(y[i], void *),
						    rte_pktmbuf_mtod(ref[i], void *),
						    ref[i]->data_len);
				rte_pktmbuf_free(x[i]);
				rte_pktmbuf_free(y[i]);
				rte_pktmbuf_free(ref[i]);
			}
		}
		for (int d = 0; d < GVPN_ESP_DROP_MAX; d++) {
			assert_int_equal(mb.lc->stats.drop[d], 0);
			assert_int_equal(os.lc->stats.drop[d], 0);
		}
		assert_int_equal(mb.st.dec_pkts, 3 * BURST);
		esp_fixture_fini(&mb);
		esp_fixture_fini(&os);
	}
}

/* One burst mixing an IPv4 and an IPv6 SA, packet by packet and in runs:
 * each packet takes its own SA's family, both ways, in order. */
static void
test_one_burst_mixes_families(void **state)
{
	struct gvpn_esp_sa_conf c4 = conf_for(GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE);
	struct gvpn_esp_sa_conf c6 = conf6_for(GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE);
	static const int v6[8] = {0, 1, 1, 0, 1, 0, 0, 1};
	struct gvpn_esp_sa_state s6, *st[8];
	struct rte_mbuf *m[8], *ref[8];
	struct gvpn_esp_sa *sa6;
	struct esp_fixture f;

	(void)state;
	esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c4, seed);
	c6.spi = 0x6006;
	sa6 = gvpn_esp_sa_create(f.lc, &c6, SOCKET_ID_ANY);
	assert_non_null(sa6);
	gvpn_esp_sa_state_init(&s6, sa6, f.lc);
	for (int i = 0; i < 8; i++) {
		m[i] = v6[i] ? esp_inner_packet6((uint16_t)(i * 10), 0, 0)
			     : esp_inner_packet((uint16_t)(i * 10), 0, 0);
		ref[i] = v6[i] ? esp_inner_packet6((uint16_t)(i * 10), 0, 0)
			       : esp_inner_packet((uint16_t)(i * 10), 0, 0);
		st[i] = v6[i] ? &s6 : &f.st;
	}
	assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, m, 8), 8);
	for (int i = 0; i < 8; i++) {
		const uint8_t *ip = rte_pktmbuf_mtod_offset(m[i], const uint8_t *, L2);

		assert_int_equal(ip[0] >> 4, v6[i] ? 6 : 4);
		assert_int_equal(m[i]->l3_len, v6[i] ? 40 : 20);
	}
	assert_int_equal(gvpn_esp_decrypt_burst(f.lc, st, m, 8), 8);
	for (int i = 0; i < 8; i++) {
		assert_ptr_equal(st[i], v6[i] ? &s6 : &f.st);
		assert_int_equal(m[i]->data_len, ref[i]->data_len);
		assert_memory_equal(rte_pktmbuf_mtod(m[i], void *),
				    rte_pktmbuf_mtod(ref[i], void *), ref[i]->data_len);
		rte_pktmbuf_free(m[i]);
		rte_pktmbuf_free(ref[i]);
	}
	assert_int_equal(s6.dec_pkts, 4);
	assert_int_equal(f.st.dec_pkts, 4);
	gvpn_esp_sa_free(sa6);
	esp_fixture_fini(&f);
}

/*
 * RFC 6040 for IPv6: encapsulation copies the traffic class (DSCP and ECN)
 * and the flow label; decapsulation merges the outer ECN field into the
 * inner traffic class by the table of section 4.2, as for IPv4, and keeps
 * the DSCP and the flow label.
 */
static void
test_ipv6_ecn_per_rfc6040(void **state)
{
	static const int table[4][4] = {
	    /* outer:  NOT_ECT ECT_1 ECT_0 CE, by inner */
	    [NOT_ECT] = {NOT_ECT, NOT_ECT, NOT_ECT, DROP},
	    [ECT_1] = {ECT_1, ECT_1, ECT_1, CE},
	    [ECT_0] = {ECT_0, ECT_1, ECT_0, CE},
	    [CE] = {CE, CE, CE, CE},
	};
	const struct gvpn_crypto_ops *be[] = {&gvpn_crypto_ipsecmb, &gvpn_crypto_openssl};

	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(be); b++) {
		struct gvpn_esp_sa_conf c = conf6_for(GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE);
		struct esp_fixture f;

		esp_fixture_init(&f, be[b], &c, seed);
		for (int inner = 0; inner < 4; inner++) {
			for (int outer = 0; outer < 4; outer++) {
				const uint8_t dscp = 0xb8; /* EF */
				const uint32_t flow = 0x5a5a5;
				struct rte_mbuf *m =
				    esp_inner_packet6(30, (uint8_t)(dscp | inner), flow);
				struct gvpn_esp_sa_state *st[1] = {&f.st};
				struct gvpn_esp_stats before = f.lc->stats;
				struct rte_ipv6_hdr *o;
				const int want = table[inner][outer];
				uint16_t good;

				assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, &m, 1), 1);
				o = esp_ip6_of(m);
				assert_int_equal(esp_tc_of(o), dscp | inner);
				assert_int_equal(esp_flow_of(o), flow);
				/* a router on the way marks the outer header */
				o->vtc_flow =
				    rte_cpu_to_be_32((rte_be_to_cpu_32(o->vtc_flow) & ~(3u << 20)) |
						     (uint32_t)outer << 20);
				good = gvpn_esp_decrypt_burst(f.lc, st, &m, 1);
				if (want == DROP) {
					if (good != 0)
						fail_msg("inner %d outer %d: forwarded", inner,
							 outer);
					assert_int_equal(
					    f.lc->stats.drop[GVPN_ESP_DROP_CE_NOT_ECT] -
						before.drop[GVPN_ESP_DROP_CE_NOT_ECT],
					    1);
				} else {
					if (good != 1)
						fail_msg("inner %d outer %d: dropped", inner,
							 outer);
					o = esp_ip6_of(m);
					if (esp_tc_of(o) != (dscp | want))
						fail_msg("inner %d outer %d: TC %#x, want %#x",
							 inner, outer, esp_tc_of(o), dscp | want);
					assert_int_equal(esp_flow_of(o), flow);
					assert_int_equal(rte_be_to_cpu_32(o->vtc_flow) >> 28, 6);
				}
				rte_pktmbuf_free(m);
			}
		}
		esp_fixture_fini(&f);
	}
}

/* Insert @p n bytes of extension headers (each hop-by-hop or destination
 * options of 8 or 16 bytes, padded with PadN) between the outer IPv6
 * header and ESP, with the chain's next headers set; l3_len covers them. */
static void
insert_ext_headers(struct rte_mbuf *m, const uint8_t *types, const uint8_t *lens, int count)
{
	uint32_t total = 0, l2 = m->l2_len;
	struct rte_ipv6_hdr *ip;
	uint8_t *p, *x;

	for (int i = 0; i < count; i++)
		total += lens[i];
	p = (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)total);
	assert_non_null(p);
	memmove(p, p + total, l2 + 40);
	ip = (struct rte_ipv6_hdr *)(p + l2);
	x = (uint8_t *)(ip + 1);
	for (int i = 0; i < count; i++) {
		memset(x, 0, lens[i]);
		x[0] = i + 1 < count ? types[i + 1] : 50;
		x[1] = (uint8_t)(lens[i] / 8 - 1);
		x[2] = 1; /* PadN */
		x[3] = (uint8_t)(lens[i] - 4);
		x += lens[i];
	}
	ip->proto = types[0];
	ip->payload_len = rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(ip->payload_len) + total));
	m->l3_len = 40 + total;
}

/* Outer IPv6 with extension headers in front of ESP: stripped with it. */
static void
test_ipv6_extension_headers_before_esp_are_stripped(void **state)
{
	static const uint8_t types[3] = {0, 43, 60}, lens[3] = {8, 16, 8};
	struct gvpn_esp_sa_conf c = conf6_for(GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96);
	struct esp_fixture f;

	(void)state;
	esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
	for (int n = 1; n <= 3; n++) {
		for (unsigned int tags = 0; tags <= 2; tags += 2) {
			struct rte_mbuf *ref = esp_inner_packet6(77, 0x20, 99);
			struct gvpn_esp_sa_state *st[1] = {&f.st};
			struct rte_mbuf *m = esp_inner_packet6(77, 0x20, 99);

			if (tags != 0) {
				esp_add_vlan_tags(ref, tags);
				esp_add_vlan_tags(m, tags);
			}
			assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, &m, 1), 1);
			insert_ext_headers(m, types, lens, n);
			assert_int_equal(gvpn_esp_decrypt_burst(f.lc, st, &m, 1), 1);
			assert_int_equal(m->data_len, ref->data_len);
			assert_int_equal(m->l3_len, 40);
			assert_memory_equal(rte_pktmbuf_mtod(m, void *),
					    rte_pktmbuf_mtod(ref, void *), ref->data_len);
			rte_pktmbuf_free(m);
			rte_pktmbuf_free(ref);
		}
	}
	esp_fixture_fini(&f);
}

/* Packet-level manglings of IPv6 ESP that need no key. */
static void
cut6_below_ip_header(struct rte_mbuf *m)
{
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - L2 - 39));
}

static void
set6_payload_beyond_frame(struct rte_mbuf *m)
{
	esp_ip6_of(m)->payload_len = rte_cpu_to_be_16((uint16_t)(m->data_len - L2 - 40 + 1));
}

static void
set6_version_4(struct rte_mbuf *m)
{
	rte_pktmbuf_mtod_offset(m, uint8_t *, L2)[0] = 0x45;
}

static void
set6_version_5(struct rte_mbuf *m)
{
	rte_pktmbuf_mtod_offset(m, uint8_t *, L2)[0] = 0x50;
}

static void
set6_l3_len_short(struct rte_mbuf *m)
{
	m->l3_len = 32;
}

static void
set6_l3_len_beyond_packet(struct rte_mbuf *m)
{
	m->l3_len = (uint16_t)(m->data_len - L2 + 8);
}

static void
set6_l3_len_past_esp(struct rte_mbuf *m)
{
	m->l3_len = 48; /* the caller's ESP offset is not where the chain ends */
}

static void
set6_proto_udp(struct rte_mbuf *m)
{
	esp_ip6_of(m)->proto = 17;
}

static void
set6_proto_fragment(struct rte_mbuf *m)
{
	esp_ip6_of(m)->proto = 44;
}

static void
ext6_fragment_header(struct rte_mbuf *m)
{
	static const uint8_t t[1] = {44}, l[1] = {8};

	insert_ext_headers(m, t, l, 1);
}

static void
ext6_then_fragment(struct rte_mbuf *m)
{
	static const uint8_t t[2] = {0, 44}, l[2] = {8, 8};

	insert_ext_headers(m, t, l, 2);
}

static void
ext6_unknown_header(struct rte_mbuf *m)
{
	static const uint8_t t[1] = {51}, l[1] = {8}; /* AH */

	insert_ext_headers(m, t, l, 1);
}

static void
ext6_chain_ends_in_udp(struct rte_mbuf *m)
{
	static const uint8_t t[1] = {60}, l[1] = {8};

	insert_ext_headers(m, t, l, 1);
	rte_pktmbuf_mtod_offset(m, uint8_t *, L2 + 40)[0] = 17;
}

static void
ext6_longer_than_l3_len(struct rte_mbuf *m)
{
	static const uint8_t t[1] = {60}, l[1] = {16};

	insert_ext_headers(m, t, l, 1);
	m->l3_len = 48; /* the chain says 16 bytes */
}

static void
ext6_not_walked(struct rte_mbuf *m)
{
	static const uint8_t t[1] = {0}, l[1] = {8};

	insert_ext_headers(m, t, l, 1);
	m->l3_len = 40; /* the caller did not walk it */
}

static void
cut6_esp_short(struct rte_mbuf *m)
{
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - L2 - 40 - 8 - 16 - 12));
	esp_ip6_of(m)->payload_len = rte_cpu_to_be_16(8 + 16 + 12);
}

static void
cut6_odd_length(struct rte_mbuf *m)
{
	rte_pktmbuf_trim(m, 5);
	esp_ip6_of(m)->payload_len = rte_cpu_to_be_16((uint16_t)(m->data_len - L2 - 40));
}

static void
set6_wrong_spi(struct rte_mbuf *m)
{
	rte_pktmbuf_mtod_offset(m, uint8_t *, L2 + 40)[3] ^= 0x01;
}

static void
flip6_ciphertext_bit(struct rte_mbuf *m)
{
	rte_pktmbuf_mtod_offset(m, uint8_t *, L2 + 40 + 24)[5] ^= 0x10;
}

static void
add6_link_padding(struct rte_mbuf *m)
{
	/* bytes behind the IPv6 packet in the frame: not part of it */
	memset(rte_pktmbuf_append(m, 6), 0xee, 6);
}

static void
mangle6_inner_version_4(uint8_t *p, uint32_t *clen)
{
	(void)clen;
	p[0] = 0x45;
}

static void
mangle6_inner_too_long(uint8_t *p, uint32_t *clen)
{
	(void)clen;
	p[4] = 0x05; /* payload length 0x05xx > payload */
}

static void
mangle6_next_header_ipv4(uint8_t *p, uint32_t *clen)
{
	p[*clen - 1] = 4;
}

static void
mangle6_next_header_dummy(uint8_t *p, uint32_t *clen)
{
	p[*clen - 1] = 59;
}

static void
mangle6_pad_bytes(uint8_t *p, uint32_t *clen)
{
	p[*clen - 2 - p[*clen - 2]] ^= 0x40; /* the first padding byte */
}

/* One block: 10 bytes of payload, 4 of padding, pad length, next header
 * 41: no room for an IPv6 header. */
static void
mangle6_payload_shorter_than_header(uint8_t *p, uint32_t *clen)
{
	*clen = 16;
	for (int i = 0; i < 4; i++)
		p[10 + i] = (uint8_t)(i + 1);
	p[14] = 4;
	p[15] = 41;
}

static void
test_ipv6_malformed_esp_is_a_counted_drop(void **state)
{
	static const struct {
		const char *what;
		void (*mangle)(struct rte_mbuf *m);
		int ok;
		enum gvpn_esp_drop why;
	} cases[] = {
	    {"frame shorter than an IPv6 header", cut6_below_ip_header, 0, GVPN_ESP_DROP_BAD_OUTER},
	    {"payload length beyond the frame", set6_payload_beyond_frame, 0,
	     GVPN_ESP_DROP_BAD_OUTER},
	    {"outer version 4 (an IPv4 packet on an IPv6 SA)", set6_version_4, 0,
	     GVPN_ESP_DROP_BAD_OUTER},
	    {"outer version 5", set6_version_5, 0, GVPN_ESP_DROP_BAD_OUTER},
	    {"l3_len shorter than the IPv6 header", set6_l3_len_short, 0, GVPN_ESP_DROP_BAD_OUTER},
	    {"l3_len beyond the packet", set6_l3_len_beyond_packet, 0, GVPN_ESP_DROP_BAD_OUTER},
	    {"l3_len past ESP", set6_l3_len_past_esp, 0, GVPN_ESP_DROP_NOT_ESP},
	    {"not ESP", set6_proto_udp, 0, GVPN_ESP_DROP_NOT_ESP},
	    {"next header fragment", set6_proto_fragment, 0, GVPN_ESP_DROP_FRAGMENT},
	    {"fragment header in front of ESP", ext6_fragment_header, 0, GVPN_ESP_DROP_FRAGMENT},
	    {"options, then a fragment header", ext6_then_fragment, 0, GVPN_ESP_DROP_FRAGMENT},
	    {"AH in front of ESP", ext6_unknown_header, 0, GVPN_ESP_DROP_NOT_ESP},
	    {"extension headers ending in UDP", ext6_chain_ends_in_udp, 0, GVPN_ESP_DROP_NOT_ESP},
	    {"extension header longer than l3_len", ext6_longer_than_l3_len, 0,
	     GVPN_ESP_DROP_BAD_OUTER},
	    {"extension header not walked by the caller", ext6_not_walked, 0,
	     GVPN_ESP_DROP_NOT_ESP},
	    {"no ciphertext", cut6_esp_short, 0, GVPN_ESP_DROP_SHORT},
	    {"CBC length not a block multiple", cut6_odd_length, 0, GVPN_ESP_DROP_BAD_LEN},
	    {"wrong SPI", set6_wrong_spi, 0, GVPN_ESP_DROP_BAD_SPI},
	    {"ciphertext bit flipped", flip6_ciphertext_bit, 0, GVPN_ESP_DROP_BAD_ICV},
	    {"ICV bit flipped", flip_icv_bit, 0, GVPN_ESP_DROP_BAD_ICV},
	    {"link-layer padding behind the packet", add6_link_padding, 1, GVPN_ESP_DROP_MAX},
	};
	static const struct {
		const char *what;
		esp_mangle_fn mangle;
		enum gvpn_esp_drop why;
	} forged[] = {
	    {"pad length beyond payload", mangle_pad_len_too_big, GVPN_ESP_DROP_BAD_PAD},
	    {"pad bytes not 1, 2, 3...", mangle6_pad_bytes, GVPN_ESP_DROP_BAD_PAD},
	    {"next header IPv4 on an IPv6 SA", mangle6_next_header_ipv4,
	     GVPN_ESP_DROP_BAD_NEXT_HDR},
	    {"dummy packet", mangle6_next_header_dummy, GVPN_ESP_DROP_DUMMY},
	    {"inner version 4", mangle6_inner_version_4, GVPN_ESP_DROP_BAD_INNER},
	    {"inner payload length beyond payload", mangle6_inner_too_long,
	     GVPN_ESP_DROP_BAD_INNER},
	    {"pad length beyond one-block payload", mangle_payload_one_byte, GVPN_ESP_DROP_BAD_PAD},
	    {"payload shorter than an IPv6 header", mangle6_payload_shorter_than_header,
	     GVPN_ESP_DROP_BAD_INNER},
	};
	const struct gvpn_crypto_ops *be[] = {&gvpn_crypto_ipsecmb, &gvpn_crypto_openssl};

	(void)state;
	for (size_t b = 0; b < ARRAY_LEN(be); b++) {
		struct gvpn_esp_sa_conf c =
		    conf6_for(GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96);
		struct esp_fixture f;

		esp_fixture_init(&f, be[b], &c, seed);
		for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
			struct rte_mbuf *m = esp_encrypt_one(&f, 30);

			cases[k].mangle(m);
			esp_decrypt_one_expect(&f, m, cases[k].ok, cases[k].why, cases[k].what);
		}
		for (size_t k = 0; k < ARRAY_LEN(forged); k++)
			esp_decrypt_one_expect(&f, esp_forged_packet(&f, forged[k].mangle), 0,
					       forged[k].why, forged[k].what);
		esp_fixture_fini(&f);
	}
}

/* TFC padding (RFC 4303 2.7) behind the inner IPv6 packet: trimmed. */
static void
mangle6_tfc_padding(uint8_t *p, uint32_t *clen)
{
	(void)clen;
	p[5] = (uint8_t)(p[5] - 10); /* the inner packet ends 10 bytes early */
}

static void
test_ipv6_tfc_padding_is_trimmed(void **state)
{
	struct gvpn_esp_sa_conf c = conf6_for(GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96);
	struct gvpn_esp_sa_state *st[1];
	struct rte_mbuf *m;
	struct esp_fixture f;

	(void)state;
	esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
	st[0] = &f.st;
	m = esp_forged_packet(&f, mangle6_tfc_padding);
	assert_int_equal(gvpn_esp_decrypt_burst(f.lc, st, &m, 1), 1);
	assert_int_equal(m->data_len, L2 + 40 + 20);
	assert_int_equal(rte_be_to_cpu_16(esp_ip6_of(m)->payload_len), 20);
	rte_pktmbuf_free(m);
	esp_fixture_fini(&f);
}

/* Encrypt side: the inner packet must be the SA's family and consistent. */
static void
test_ipv6_malformed_inner_is_a_counted_drop(void **state)
{
	struct gvpn_esp_sa_conf c = conf6_for(GVPN_CIPHER_AES_GCM, 36, GVPN_AUTH_NONE);
	struct gvpn_esp_sa_state *st[5];
	struct rte_mbuf *m[5], *good;
	struct esp_fixture f;

	(void)state;
	esp_fixture_init(&f, &gvpn_crypto_ipsecmb, &c, seed);
	for (int i = 0; i < 5; i++)
		st[i] = &f.st;
	m[0] = esp_inner_packet(30, 0, 0); /* IPv4 on an IPv6 SA */
	m[1] = esp_inner_packet6(30, 0, 0);
	esp_ip6_of(m[1])->payload_len = rte_cpu_to_be_16(31); /* beyond the frame */
	m[2] = esp_inner_packet6(30, 0, 0);
	good = m[2];
	m[3] = esp_inner_packet6(30, 0, 0);
	rte_pktmbuf_trim(m[3], 30 + 1); /* 39 bytes: no room for the header */
	m[4] = esp_inner_packet6(30, 0, 0);
	rte_pktmbuf_mtod_offset(m[4], uint8_t *, L2)[0] = 0x75; /* version 7 */
	assert_int_equal(gvpn_esp_encrypt_burst(f.lc, st, m, 5), 1);
	assert_ptr_equal(m[0], good);
	assert_int_equal(f.lc->stats.drop[GVPN_ESP_DROP_BAD_INNER], 4);
	assert_int_equal(f.st.drops.drop[GVPN_ESP_DROP_BAD_INNER], 4);
	for (int i = 0; i < 5; i++)
		rte_pktmbuf_free(m[i]);
	esp_fixture_fini(&f);
}

/* An SA is one family: a packet of the other is a counted drop, both ways
 * (the ESP packets are good ones, of an SA with the same keys and SPI). */
static void
test_family_mismatch_is_a_counted_drop(void **state)
{
	struct gvpn_esp_sa_conf c4 = conf_for(GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96);
	struct gvpn_esp_sa_conf c6 = conf6_for(GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96);
	struct esp_fixture f4, f6;
	struct gvpn_esp_sa_state *st[1];
	struct rte_mbuf *m;

	(void)state;
	esp_fixture_init(&f4, &gvpn_crypto_ipsecmb, &c4, seed);
	esp_fixture_init(&f6, &gvpn_crypto_ipsecmb, &c6, seed);
	esp_decrypt_one_expect(&f4, esp_encrypt_one(&f6, 30), 0, GVPN_ESP_DROP_BAD_OUTER,
			       "IPv6 ESP on an IPv4 SA");
	esp_decrypt_one_expect(&f6, esp_encrypt_one(&f4, 30), 0, GVPN_ESP_DROP_BAD_OUTER,
			       "IPv4 ESP on an IPv6 SA");
	/* the same packets on their own family's SA open */
	esp_decrypt_one_expect(&f6, esp_encrypt_one(&f6, 30), 1, GVPN_ESP_DROP_MAX, "IPv6");
	esp_decrypt_one_expect(&f4, esp_encrypt_one(&f4, 30), 1, GVPN_ESP_DROP_MAX, "IPv4");

	st[0] = &f4.st;
	m = esp_inner_packet6(30, 0, 0);
	assert_int_equal(gvpn_esp_encrypt_burst(f4.lc, st, &m, 1), 0);
	assert_int_equal(f4.st.drops.drop[GVPN_ESP_DROP_BAD_INNER], 1);
	rte_pktmbuf_free(m);
	st[0] = &f6.st;
	m = esp_inner_packet(30, 0, 0);
	assert_int_equal(gvpn_esp_encrypt_burst(f6.lc, st, &m, 1), 0);
	assert_int_equal(f6.st.drops.drop[GVPN_ESP_DROP_BAD_INNER], 1);
	rte_pktmbuf_free(m);
	esp_fixture_fini(&f4);
	esp_fixture_fini(&f6);
}

static void
test_sa_conf_is_validated(void **state)
{
	struct gvpn_esp_sa_conf c = conf_for(GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96);
	struct gvpn_esp_lcore *lc;

	(void)state;
	lc = gvpn_esp_lcore_create(&gvpn_crypto_ipsecmb, SOCKET_ID_ANY, NULL);
	assert_non_null(lc);
	assert_int_equal(gvpn_esp_sa_conf_check(&c), 0);
	c.spi = 255;
	assert_null(gvpn_esp_sa_create(lc, &c, SOCKET_ID_ANY));
	assert_int_equal(rte_errno, EINVAL);
	c.spi = 0x1001;
	c.df = (enum gvpn_df_mode)7;
	assert_int_equal(gvpn_esp_sa_conf_check(&c), -EINVAL);
	c.df = GVPN_DF_SET;
	/* one family: IPv4 or IPv6, not "either" */
	c.af = GVPN_AF_IPV6;
	assert_int_equal(gvpn_esp_sa_conf_check(&c), 0);
	c.af = GVPN_AF_ANY;
	assert_int_equal(gvpn_esp_sa_conf_check(&c), -EINVAL);
	assert_null(gvpn_esp_sa_create(lc, &c, SOCKET_ID_ANY));
	assert_int_equal(rte_errno, EINVAL);
	c.af = 200;
	assert_int_equal(gvpn_esp_sa_conf_check(&c), -EINVAL);
	c.af = GVPN_AF_IPV4;
	c.xform.cipher_key_len = 17;
	assert_null(gvpn_esp_sa_create(lc, &c, SOCKET_ID_ANY));
	assert_int_equal(rte_errno, EINVAL);
	gvpn_esp_lcore_free(lc);
	assert_string_equal(gvpn_esp_drop_name(GVPN_ESP_DROP_BAD_ICV), "integrity check failed");
	assert_string_equal(gvpn_esp_drop_name(GVPN_ESP_DROP_MAX), "?");
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sa_conf_is_validated),
	    cmocka_unit_test(test_malformed_esp_is_a_counted_drop),
	    cmocka_unit_test(test_malformed_inner_is_a_counted_drop),
	    cmocka_unit_test(test_chained_mbuf_is_a_counted_drop),
	    cmocka_unit_test(test_a_tampered_packet_counts_bad_icv_on_its_sa_alone),
	    cmocka_unit_test(test_counter_ivs_stay_in_their_space),
	    cmocka_unit_test(test_encrypt_builds_rfc4303_tunnel_with_preserved_addresses),
	    cmocka_unit_test(test_outer_header_is_right_for_any_inner_header),
	    cmocka_unit_test(test_gmac_authenticates_the_clear_payload),
	    cmocka_unit_test(test_outer_df_follows_policy),
	    cmocka_unit_test(test_decapsulation_combines_ecn_per_rfc6040),
	    cmocka_unit_test(test_ivs_do_not_repeat),
	    cmocka_unit_test(test_backends_agree_for_every_algorithm_and_size),
	    cmocka_unit_test(test_ipv6_encrypt_builds_rfc4303_tunnel_with_preserved_addresses),
	    cmocka_unit_test(test_ipv6_hop_limit_follows_ttl),
	    cmocka_unit_test(test_ipv6_round_trips_for_every_algorithm),
	    cmocka_unit_test(test_one_burst_mixes_families),
	    cmocka_unit_test(test_ipv6_ecn_per_rfc6040),
	    cmocka_unit_test(test_ipv6_extension_headers_before_esp_are_stripped),
	    cmocka_unit_test(test_ipv6_malformed_esp_is_a_counted_drop),
	    cmocka_unit_test(test_ipv6_tfc_padding_is_trimmed),
	    cmocka_unit_test(test_ipv6_malformed_inner_is_a_counted_drop),
	    cmocka_unit_test(test_family_mismatch_is_a_counted_drop),
	};

	(void)argc;
	return esp_test_main(argv[0], "esp", tests, ARRAY_LEN(tests), 1023);
}
