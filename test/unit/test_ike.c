/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Phase-1 Diffie-Hellman: the KE encoding and shared secret of each group
 * against known answers (RFC 5903 section 8 for the ECP groups; for MODP,
 * values computed apart from gvpn, by the test key server's arithmetic on
 * the RFC 3526 primes it derives from their formulas), and every peer value
 * that would make the secret predictable refused, directly and through Main
 * Mode message 4.
 */
#include <errno.h>
#include <stdio.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "test_util.h"
#include "gvpn_ike.h"
#include "gvpn_isakmp.h"
#include "ike_private.h"

static size_t
mk(uint8_t *b, const char *hex)
{
	return unhex(hex, b, IKE_DH_MAX);
}

/* RFC 5903 section 8: i, g^i (x, y), r, g^r (x, y), g^ir (x). */
static const struct ecp_vector {
	uint8_t group;
	const char *i, *gix, *giy, *r, *grx, *gry, *girx;
} ecp_vectors[] = {
    {19, "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
     "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180",
     "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
     "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
     "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63",
     "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
     "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE"},
    {20,
     "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB"
     "194",
     "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F4"
     "1AA",
     "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A"
     "81C",
     "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55A744"
     "8FC",
     "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3"
     "571",
     "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E63"
     "86C",
     "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59"
     "746"},
};

/* One side's DH with a given private value: the SA as Main Mode leaves it
 * after message 2 chose @p group. */
static void
start_with(struct ike_sa *sa, uint8_t group, const char *priv_hex)
{
	uint8_t priv[IKE_DH_MAX];
	size_t n = mk(priv, priv_hex);

	memset(sa, 0, sizeof(*sa));
	sa->chosen.group = group;
	assert_int_equal(ike_dh_start(sa, priv, n), 0);
}

static void
test_ecp_ke_and_shared_secret_are_rfc5903_vectors(void **state)
{
	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(ecp_vectors); k++) {
		const struct ecp_vector *v = &ecp_vectors[k];
		uint8_t want[IKE_DH_MAX];
		size_t c, n;
		struct ike_sa i, r;

		start_with(&i, v->group, v->i);
		start_with(&r, v->group, v->r);
		/* KE: x | y, no point-format octet (RFC 5903 7) */
		c = mk(want, v->gix);
		mk(want + c, v->giy);
		assert_int_equal(i.g_len, 2 * c);
		assert_int_equal(ike_dh_ke_len(v->group), 2 * c);
		assert_memory_equal(i.gxi, want, 2 * c);
		mk(want, v->grx);
		mk(want + c, v->gry);
		assert_memory_equal(r.gxi, want, 2 * c);
		/* each side takes the other's KE; the secret is x of g^ir alone */
		memcpy(i.gxr, r.gxi, r.g_len);
		memcpy(r.gxr, i.gxi, i.g_len);
		assert_int_equal(ike_dh_finish(&i), 0);
		assert_int_equal(ike_dh_finish(&r), 0);
		n = mk(want, v->girx);
		assert_int_equal(i.s_len, n);
		assert_int_equal(r.s_len, n);
		assert_memory_equal(i.gxy, want, n);
		assert_memory_equal(r.gxy, want, n);
		ike_sa_clear(&i);
		ike_sa_clear(&r);
	}
}

static void
sha256_hex(const uint8_t *p, size_t len, char out[65])
{
	uint8_t d[32];
	unsigned int dl = 0;

	assert_int_equal(EVP_Digest(p, len, d, &dl, EVP_sha256(), NULL), 1);
	for (unsigned int k = 0; k < dl; k++)
		snprintf(out + 2 * k, 3, "%02x", d[k]);
}

/* MODP: SHA-256 of g^i, g^r and g^ir (each as long as the prime) for the
 * private values below, computed apart from gvpn (test/ks/ike.py's
 * modp_prime() and Python's pow()). */
static void
test_modp_ke_and_shared_secret_are_independent_values(void **state)
{
	static const char i_hex[] =
	    "6a09e667f3bcc908bb67ae8584caa73b3c6ef372fe94f82ba54ff53a5f1d36f1";
	static const char r_hex[] =
	    "510e527fade682d19b05688c2b3e6c1f1f83d9abfb41bd6b5be0cd19137e2179";
	static const struct {
		uint8_t group;
		size_t len;
		const char *gi, *gr, *gir;
	} cases[] = {
	    {14, 256, "1bc85be97b99f286c904b858f5610bf195ea99b58a5411e962f4b6f1b60ec829",
	     "fd102cd12d174be2415f0e02a63c60dc29c04f1c5c7f5fa9c48aa53fb283ce86",
	     "a1feff1fe535b7aaa69afd437f568e56677cbe43221eaa30a83e2f531a36be1d"},
	    {15, 384, "7e92481cc4086f3e7127f86281657a63c289895154101d0b18126d0328a304b9",
	     "79898fabc9773dd387b61da4150467ca4452523bbd5b5655c82c1018c4e8f268",
	     "377442b17daf43eb7170f334c943b388f43d81c848bd1bbc330ec5cef9cd0ba8"},
	    {16, 512, "f28009f51abf279b479489971cd72fbfdab42b2f81e05d1148edc75e86e0d8ba",
	     "ab8ddcbf8d5b42a1d6e64ff95c62038f7c217d8b86cd379deaf7a600770cb3f4",
	     "887252f4e12638169aa53cc6f7e4000527b6f10d1b3e4df3c46cf30a8185cbb7"},
	};

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		struct ike_sa i, r;
		char got[65];

		start_with(&i, cases[k].group, i_hex);
		start_with(&r, cases[k].group, r_hex);
		assert_int_equal(i.g_len, cases[k].len);
		assert_int_equal(ike_dh_ke_len(cases[k].group), cases[k].len);
		sha256_hex(i.gxi, i.g_len, got);
		assert_string_equal(got, cases[k].gi);
		sha256_hex(r.gxi, r.g_len, got);
		assert_string_equal(got, cases[k].gr);
		memcpy(i.gxr, r.gxi, r.g_len);
		memcpy(r.gxr, i.gxi, i.g_len);
		assert_int_equal(ike_dh_finish(&i), 0);
		assert_int_equal(ike_dh_finish(&r), 0);
		assert_int_equal(i.s_len, cases[k].len);
		sha256_hex(i.gxy, i.s_len, got);
		assert_string_equal(got, cases[k].gir);
		assert_memory_equal(i.gxy, r.gxy, i.s_len);
		ike_sa_clear(&i);
		ike_sa_clear(&r);
	}
}

/* A random private value gives a public value the other side agrees on,
 * in every group. */
static void
test_random_private_values_agree_in_every_group(void **state)
{
	static const uint8_t groups[] = {1, 2, 5, 14, 15, 16, 19, 20};

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(groups); k++) {
		struct ike_sa a = {.chosen.group = groups[k]}, b = {.chosen.group = groups[k]};

		assert_int_equal(ike_dh_start(&a, NULL, 0), 0);
		assert_int_equal(ike_dh_start(&b, NULL, 0), 0);
		assert_int_equal(a.g_len, ike_dh_ke_len(groups[k]));
		assert_memory_not_equal(a.gxi, b.gxi, a.g_len);
		memcpy(a.gxr, b.gxi, b.g_len);
		memcpy(b.gxr, a.gxi, a.g_len);
		assert_int_equal(ike_dh_finish(&a), 0);
		assert_int_equal(ike_dh_finish(&b), 0);
		assert_int_equal(a.s_len, groups[k] >= 19 ? a.g_len / 2 : a.g_len);
		assert_memory_equal(a.gxy, b.gxy, a.s_len);
		ike_sa_clear(&a);
		ike_sa_clear(&b);
	}
	assert_int_equal(ike_dh_ke_len(21), 0);
	assert_int_equal(ike_dh_ke_len(0), 0);
}

/* Peer values that would make the shared secret predictable, or are no
 * value of the group at all. */
static const struct bad_value {
	const char *what;
	uint8_t group;
	enum { ZERO, ONE, P_MINUS_1, P, ALL_FF, ECP_Y_FLIP, ECP_X_IS_P, ECP_ORIGIN } kind;
} bad_values[] = {
    {"MODP 3072: 0", 15, ZERO},
    {"MODP 3072: 1", 15, ONE},
    {"MODP 3072: p - 1", 15, P_MINUS_1},
    {"MODP 3072: p", 15, P},
    {"MODP 3072: 2^3072 - 1", 15, ALL_FF},
    {"MODP 4096: 0", 16, ZERO},
    {"MODP 4096: 1", 16, ONE},
    {"MODP 4096: p - 1", 16, P_MINUS_1},
    {"MODP 4096: p", 16, P},
    {"MODP 2048: 1", 14, ONE},
    {"MODP 2048: p - 1", 14, P_MINUS_1},
    {"ECP 256: a point off the curve", 19, ECP_Y_FLIP},
    {"ECP 256: (0, y) written with x = p", 19, ECP_X_IS_P},
    {"ECP 256: (0, 0)", 19, ECP_ORIGIN},
    {"ECP 256: all ones", 19, ALL_FF},
    {"ECP 384: a point off the curve", 20, ECP_Y_FLIP},
    {"ECP 384: (0, y) written with x = p", 20, ECP_X_IS_P},
    {"ECP 384: (0, 0)", 20, ECP_ORIGIN},
    {"ECP 384: all ones", 20, ALL_FF},
};

static void
bad_value(const struct bad_value *b, const struct ike_sa *own, uint8_t *v)
{
	/* (0, y) is a point of both curves; written with x = p it is not
	 * reduced, so the coordinate check alone must refuse it */
	static const char p256_0[] =
	    "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"
	    "66485c780e2f83d72433bd5d84a06bb6541c2af31dae871728bf856a174f93f4";
	static const char p384_0[] =
	    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe"
	    "ffffffff0000000000000000ffffffffc306610fb0ae5a159cf45c06069f22a6"
	    "c5eb3641c602d42dea2c4b4f75550793406d80d2b91ad54f9048bd487af1ade1";
	size_t len = own->g_len;
	BIGNUM *p = b->group == 14   ? BN_get_rfc3526_prime_2048(NULL)
		    : b->group == 15 ? BN_get_rfc3526_prime_3072(NULL)
				     : BN_get_rfc3526_prime_4096(NULL);

	memset(v, 0, len);
	switch (b->kind) {
	case ZERO:
	case ECP_ORIGIN:
		break;
	case ONE:
		v[len - 1] = 1;
		break;
	case P_MINUS_1:
	case P:
		/* the MODP primes end in 64 one bits: p - 1 only clears the last */
		assert_int_equal(BN_bn2binpad(p, v, (int)len), (int)len);
		if (b->kind == P_MINUS_1)
			v[len - 1] -= 1;
		break;
	case ALL_FF:
		memset(v, 0xff, len);
		break;
	case ECP_Y_FLIP: /* our own point with y changed: off the curve */
		memcpy(v, own->gxi, len);
		v[len - 1] ^= 1;
		break;
	case ECP_X_IS_P:
		assert_int_equal(mk(v, b->group == 19 ? p256_0 : p384_0), len);
		break;
	}
	BN_free(p);
}

static void
test_peer_value_out_of_range_or_off_the_curve_is_refused(void **state)
{
	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(bad_values); k++) {
		struct ike_sa sa = {.chosen.group = bad_values[k].group};
		int rc;

		assert_int_equal(ike_dh_start(&sa, NULL, 0), 0);
		bad_value(&bad_values[k], &sa, sa.gxr);
		rc = ike_dh_finish(&sa);
		if (rc != -EBADMSG)
			fail_msg("%s: rc %d", bad_values[k].what, rc);
		ike_sa_clear(&sa);
	}
}

static const struct ike_conf *
conf_of(uint8_t group)
{
	static struct ike_conf conf;

	conf = (struct ike_conf){.psk = "a pre-shared key of 27 bytes",
				 .psk_len = 27,
				 .doi = 1,
				 .n_props = 1,
				 .props = {{IKE_ENC_AES, 256, IKE_HASH_SHA256, group, 3600}}};
	return &conf;
}

/* Main Mode through message 2 (the responder takes our only proposal):
 * the SA waits for message 4. */
static void
mm_sent3(struct ike_sa *sa, uint8_t group)
{
	static struct isakmp_buf out, msg;
	struct isakmp_hdr h = {.exchange = ISAKMP_EXCH_MAIN};
	enum ike_result res;
	const char *why;
	size_t off;

	assert_int_equal(ike_mm_start(sa, conf_of(group), &out), 0);
	memcpy(h.icookie, sa->icookie, 8);
	memset(h.rcookie, 0x5a, 8);
	isakmp_buf_init(&msg, &h);
	off = isakmp_buf_begin(&msg, ISAKMP_P_SA);
	isakmp_buf_put(&msg, sa->sa_b, sa->sa_b_len);
	isakmp_buf_end(&msg, off);
	assert_int_equal(isakmp_buf_finish(&msg), 0);
	assert_int_equal(ike_mm_input(sa, msg.data, msg.len, &out, &res, &why), 0);
	assert_int_equal(res, IKE_CONTINUE);
	assert_int_equal(sa->g_len, ike_dh_ke_len(group));
}

/* Message 4 with @p ke (@p len bytes) as the responder's KE. */
static int
mm4(struct ike_sa *sa, const uint8_t *ke, size_t len, const char **why)
{
	static struct isakmp_buf out, msg;
	static const uint8_t nr[16] = "responder-nonce!";
	struct isakmp_hdr h = {.exchange = ISAKMP_EXCH_MAIN};
	enum ike_result res;
	size_t off;
	int rc;

	memcpy(h.icookie, sa->icookie, 8);
	memcpy(h.rcookie, sa->rcookie, 8);
	isakmp_buf_init(&msg, &h);
	off = isakmp_buf_begin(&msg, ISAKMP_P_KE);
	isakmp_buf_put(&msg, ke, len);
	isakmp_buf_end(&msg, off);
	off = isakmp_buf_begin(&msg, ISAKMP_P_NONCE);
	isakmp_buf_put(&msg, nr, sizeof(nr));
	isakmp_buf_end(&msg, off);
	assert_int_equal(isakmp_buf_finish(&msg), 0);
	rc = ike_mm_input(sa, msg.data, msg.len, &out, &res, why);
	if (rc == 0 && res != IKE_CONTINUE)
		return -1;
	return rc;
}

static void
test_main_mode_4_with_a_bad_ke_fails_with_its_reason(void **state)
{
	static const uint8_t groups[] = {15, 16, 19, 20};

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(groups); k++) {
		uint8_t ke[IKE_DH_MAX + 1];
		struct ike_sa sa, peer = {.chosen.group = groups[k]};
		const char *why;
		size_t len;

		assert_int_equal(ike_dh_start(&peer, NULL, 0), 0);
		len = peer.g_len;
		memset(ke, 0, sizeof(ke));
		memcpy(ke, peer.gxi, len);
		/* one byte short, one byte long, of a smaller group's length */
		for (int d = -1; d <= 1; d += 2) {
			mm_sent3(&sa, groups[k]);
			assert_int_equal(mm4(&sa, ke, (size_t)((int)len + d), &why), -EBADMSG);
			assert_string_equal(why, "message 4 KE is not of the group's length");
			assert_int_equal(sa.state, IKE_FAILED);
			ike_sa_clear(&sa);
		}
		mm_sent3(&sa, groups[k]);
		assert_int_equal(mm4(&sa, ke, 256, &why), -EBADMSG);
		ike_sa_clear(&sa);
		/* a value of the right length the group refuses */
		for (size_t b = 0; b < ARRAY_LEN(bad_values); b++) {
			if (bad_values[b].group != groups[k])
				continue;
			mm_sent3(&sa, groups[k]);
			bad_value(&bad_values[b], &sa, ke);
			if (mm4(&sa, ke, len, &why) != -EBADMSG ||
			    strcmp(why, "bad Diffie-Hellman public value") != 0)
				fail_msg("%s: taken", bad_values[b].what);
			assert_int_equal(sa.state, IKE_FAILED);
			ike_sa_clear(&sa);
		}
		/* and a good one goes on to message 5 */
		mm_sent3(&sa, groups[k]);
		assert_int_equal(mm4(&sa, peer.gxi, len, &why), 0);
		assert_int_equal(sa.state, IKE_MM_SENT5);
		assert_int_equal(sa.s_len, groups[k] >= 19 ? len / 2 : len);
		ike_sa_clear(&sa);
		ike_sa_clear(&peer);
	}
}

static void
test_main_mode_refuses_a_group_it_lacks(void **state)
{
	static struct isakmp_buf out;
	static const uint8_t groups[] = {0, 3, 4, 17, 21, 31};
	struct ike_sa sa;

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(groups); k++)
		assert_int_equal(ike_mm_start(&sa, conf_of(groups[k]), &out), -EINVAL);
	memset(&sa, 0, sizeof(sa));
	sa.chosen.group = 21;
	assert_int_equal(ike_dh_start(&sa, NULL, 0), -ENOTSUP);
}

static void
test_private_value_out_of_range_is_refused(void **state)
{
	static const uint8_t zero[32],
	    ones[48] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct ike_sa sa = {.chosen.group = 19};

	(void)state;
	assert_int_equal(ike_dh_start(&sa, zero, sizeof(zero)), -EINVAL);
	assert_int_equal(ike_dh_start(&sa, ones, 32), -EINVAL); /* above the order */
	sa.chosen.group = 20;
	assert_int_equal(ike_dh_start(&sa, ones, 48), -EINVAL);
	sa.chosen.group = 15;
	assert_int_equal(ike_dh_start(&sa, zero, sizeof(zero)), -EINVAL);
	assert_null(sa.dh_x);
}

/* HMAC-SHA-256 keyed with @p key (32 octets) over g^x | g^y | CKY | CKY |
 * SAi_b | ID_b: HASH_I or HASH_R (RFC 2409 5). */
static void
prf_of(const uint8_t *key, const uint8_t *g1, const uint8_t *g2, size_t g_len, const uint8_t *c1,
       const uint8_t *c2, const uint8_t *sa_b, size_t sa_len, const uint8_t *id, size_t id_len,
       uint8_t out[32])
{
	static uint8_t buf[2 * IKE_DH_MAX + 16 + 1024 + 32];
	unsigned int l = 0;
	size_t n = 0;

	memcpy(buf + n, g1, g_len);
	n += g_len;
	memcpy(buf + n, g2, g_len);
	n += g_len;
	memcpy(buf + n, c1, 8);
	n += 8;
	memcpy(buf + n, c2, 8);
	n += 8;
	memcpy(buf + n, sa_b, sa_len);
	n += sa_len;
	memcpy(buf + n, id, id_len);
	n += id_len;
	assert_non_null(HMAC(EVP_sha256(), key, 32, buf, n, out, &l));
}

/*
 * The phase-1 identity (RFC 2409 5, RFC 2407 4.6.2): ID_IPV4_ADDR of the
 * local address, or ID_IPV6_ADDR (type 5, 16 octets) for an IPv6 one, with
 * protocol UDP and port 500, in message 5 and under HASH_I; a responder's
 * ID_IPV6_ADDR in message 6 is taken. Message 5 is decrypted and its HASH_I
 * recomputed here from the RFC's formulas with OpenSSL (IV = hash(g^xi |
 * g^xr), AES-CBC; HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b
 * | IDii_b)).
 */
static void
test_phase1_identity_is_the_local_address_of_its_family(void **state)
{
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = 0x01, [15] = 0x09};
	static const uint8_t ks6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};
	static struct isakmp_buf out, msg;
	static const uint8_t nr[16] = "responder-nonce!";

	(void)state;
	for (int ipv6 = 0; ipv6 <= 1; ipv6++) {
		struct ike_conf conf = *conf_of(14);
		struct ike_sa sa, peer = {.chosen.group = 14};
		struct isakmp_hdr h = {.exchange = ISAKMP_EXCH_MAIN};
		uint8_t iv[32], plain[512], want[32], idr[20];
		unsigned int l = 0;
		enum ike_result res;
		const char *why;
		size_t off, idl = ipv6 ? 20 : 8;
		int n = 0, n2 = 0;
		EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();

		conf.local_addr = ipv6 ? 0 : IP4(192, 0, 2, 9);
		conf.local_ipv6 = (uint8_t)ipv6;
		memcpy(conf.local_addr6, v6, 16);
		/* message 1 .. 4 */
		assert_int_equal(ike_mm_start(&sa, &conf, &out), 0);
		memcpy(h.icookie, sa.icookie, 8);
		memset(h.rcookie, 0x5a, 8);
		isakmp_buf_init(&msg, &h);
		off = isakmp_buf_begin(&msg, ISAKMP_P_SA);
		isakmp_buf_put(&msg, sa.sa_b, sa.sa_b_len);
		isakmp_buf_end(&msg, off);
		assert_int_equal(isakmp_buf_finish(&msg), 0);
		assert_int_equal(ike_mm_input(&sa, msg.data, msg.len, &out, &res, &why), 0);
		assert_int_equal(ike_dh_start(&peer, NULL, 0), 0);
		isakmp_buf_init(&msg, &h);
		off = isakmp_buf_begin(&msg, ISAKMP_P_KE);
		isakmp_buf_put(&msg, peer.gxi, peer.g_len);
		isakmp_buf_end(&msg, off);
		off = isakmp_buf_begin(&msg, ISAKMP_P_NONCE);
		isakmp_buf_put(&msg, nr, sizeof(nr));
		isakmp_buf_end(&msg, off);
		assert_int_equal(isakmp_buf_finish(&msg), 0);
		assert_int_equal(ike_mm_input(&sa, msg.data, msg.len, &out, &res, &why), 0);
		assert_int_equal(res, IKE_CONTINUE);
		/* message 5, decrypted here */
		assert_int_equal(out.data[16], ISAKMP_P_ID);
		{
			EVP_MD_CTX *md = EVP_MD_CTX_new();

			assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
			assert_int_equal(EVP_DigestUpdate(md, sa.gxi, sa.g_len), 1);
			assert_int_equal(EVP_DigestUpdate(md, sa.gxr, sa.g_len), 1);
			assert_int_equal(EVP_DigestFinal_ex(md, iv, &l), 1);
			EVP_MD_CTX_free(md);
		}
		assert_int_equal(EVP_DecryptInit_ex(cx, EVP_aes_256_cbc(), NULL, sa.key, iv), 1);
		EVP_CIPHER_CTX_set_padding(cx, 0);
		assert_int_equal(EVP_DecryptUpdate(cx, plain, &n, out.data + 28, (int)out.len - 28),
				 1);
		assert_int_equal(EVP_DecryptFinal_ex(cx, plain + n, &n2), 1);
		EVP_CIPHER_CTX_free(cx);
		assert_int_equal(plain[0], ISAKMP_P_HASH); /* ID, then HASH_I */
		assert_int_equal((plain[2] << 8 | plain[3]), 4 + idl);
		assert_int_equal(plain[4], ipv6 ? 5 : 1); /* ID_IPV6_ADDR : ID_IPV4_ADDR */
		assert_int_equal(plain[5], 17);
		assert_int_equal((plain[6] << 8 | plain[7]), 500);
		if (ipv6)
			assert_memory_equal(plain + 8, v6, 16);
		else
			assert_memory_equal(plain + 8, "\xc0\x00\x02\x09", 4);
		prf_of(sa.skeyid, sa.gxi, sa.gxr, sa.g_len, sa.icookie, sa.rcookie, sa.sa_b,
		       sa.sa_b_len, plain + 4, idl, want);
		assert_memory_equal(plain + 4 + idl + 4, want, 32);
		/* message 6 with an IPv6 responder identity */
		idr[0] = 5;
		idr[1] = 17;
		idr[2] = 0x01;
		idr[3] = 0xf4;
		memcpy(idr + 4, ks6, 16);
		prf_of(sa.skeyid, sa.gxr, sa.gxi, sa.g_len, sa.rcookie, sa.icookie, sa.sa_b,
		       sa.sa_b_len, idr, sizeof(idr), want);
		isakmp_buf_init(&msg, &h);
		off = isakmp_buf_begin(&msg, ISAKMP_P_ID);
		isakmp_buf_put(&msg, idr, sizeof(idr));
		isakmp_buf_end(&msg, off);
		off = isakmp_buf_begin(&msg, ISAKMP_P_HASH);
		isakmp_buf_put(&msg, want, 32);
		isakmp_buf_end(&msg, off);
		assert_int_equal(isakmp_buf_finish(&msg), 0);
		memcpy(iv, sa.iv, sizeof(sa.iv));
		assert_int_equal(ike_encrypt(&sa, iv, &msg), 0);
		if (ike_mm_input(&sa, msg.data, msg.len, &out, &res, &why) != 0)
			fail_msg("message 6: %s", why);
		assert_int_equal(res, IKE_DONE);
		assert_int_equal(sa.peer_ipv6, 1);
		assert_memory_equal(sa.peer_addr6, ks6, 16);
		ike_sa_clear(&sa);
		ike_sa_clear(&peer);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_main_mode_refuses_a_group_it_lacks),
	    cmocka_unit_test(test_private_value_out_of_range_is_refused),
	    cmocka_unit_test(test_phase1_identity_is_the_local_address_of_its_family),
	    cmocka_unit_test(test_peer_value_out_of_range_or_off_the_curve_is_refused),
	    cmocka_unit_test(test_main_mode_4_with_a_bad_ke_fails_with_its_reason),
	    cmocka_unit_test(test_ecp_ke_and_shared_secret_are_rfc5903_vectors),
	    cmocka_unit_test(test_modp_ke_and_shared_secret_are_independent_values),
	    cmocka_unit_test(test_random_private_values_agree_in_every_group),
	};

	return cmocka_run_group_tests_name("ike", tests, NULL, NULL);
}
