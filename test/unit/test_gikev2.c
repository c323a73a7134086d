/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * G-IKEv2 member (lib/gikev2): the GSA, KD (key bags, wrapped keys,
 * AUTH_KEY, GM_SENDER_ID) and transform attribute readers, each malformed
 * input refused with its own reason; GCAUTH's Signature Algorithm
 * Identifier against RFC 7427 appendix A's encodings and parameter sets
 * that are not safe; RFC 5649's key wrap with padding against its
 * section 6 vectors; and GSA_REKEY (2.4.1) built here apart from the
 * library (AES-CBC and HMAC-SHA-256 with OpenSSL directly, the AUTH over
 * A | P of 2.4.1.1 signed with RSA PKCS#1 v1.5, ECDSA P-256 and
 * RSASSA-PSS): accepted, then tampered, replayed, stale, mislabelled and
 * malformed ones refused under their own drop reasons.
 */
#include <errno.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "test_util.h"
#include "gvpn_gikev2.h"
#include "gikev2_rekey_sa.h"

/* ---- a byte builder, apart from lib/ikev2's ---- */

struct bld {
	uint8_t b[4096];
	size_t n;
};

static void
put(struct bld *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void
p8(struct bld *b, unsigned int v)
{
	uint8_t x = (uint8_t)v;

	put(b, &x, 1);
}

static void
p16(struct bld *b, unsigned int v)
{
	p8(b, v >> 8);
	p8(b, v);
}

static void
p32(struct bld *b, uint32_t v)
{
	p16(b, v >> 16);
	p16(b, v & 0xffff);
}

static void
fill(struct bld *b, uint8_t v, size_t n)
{
	while (n-- > 0)
		p8(b, v);
}

/* A substructure's 2-octet length at @p off + 2, counted from @p off. */
static void
close16(struct bld *b, size_t off)
{
	b->b[off + 2] = (uint8_t)((b->n - off) >> 8);
	b->b[off + 3] = (uint8_t)(b->n - off);
}

static void
tlv(struct bld *b, unsigned int type, const void *v, size_t len)
{
	p16(b, type);
	p16(b, (unsigned int)len);
	put(b, v, len);
}

/* an IPv4 range selector (RFC 7296 3.13.1) */
static void
ts4(struct bld *b, uint32_t start, uint32_t end)
{
	p8(b, IKEV2_TS_IPV4_ADDR_RANGE);
	p8(b, 0);
	p16(b, 16);
	p16(b, 0);
	p16(b, 65535);
	p32(b, start);
	p32(b, end);
}

/* a transform; @p attr of @p alen bytes after its fixed part */
static void
xf(struct bld *b, int last, unsigned int type, unsigned int id, const void *attr, size_t alen)
{
	size_t off = b->n;

	p8(b, last ? 0 : 3);
	p8(b, 0);
	p16(b, 0);
	p8(b, type);
	p8(b, 0);
	p16(b, id);
	if (alen != 0)
		put(b, attr, alen);
	close16(b, off);
}

static const uint8_t keylen128[] = {0x80, 0x0e, 0x00, 0x80};

/* ---- GCAUTH's Signature Algorithm Identifiers ---- */

/* RFC 7427 appendix A.1.2, A.3.1, A.4.3 */
static const char algid_rsa_sha256[] = "300d06092a864886f70d01010b0500";
static const char algid_ecdsa_sha256[] = "300a06082a8648ce3d040302";
static const char algid_pss_sha256[] =
    "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886"
    "f70d010108300d06096086480165030402010500a203020120";
/* the same, salt 48 and 64 with SHA-384 and SHA-512 */
static const char algid_pss_sha384[] =
    "304106092a864886f70d01010a3034a00f300d06096086480165030402020500a11c301a06092a864886"
    "f70d010108300d06096086480165030402020500a203020130";
static const char algid_pss_sha512[] =
    "304106092a864886f70d01010a3034a00f300d06096086480165030402030500a11c301a06092a864886"
    "f70d010108300d06096086480165030402030500a203020140";

static void
test_signature_algorithm_identifiers(void **state)
{
	static const struct {
		const char *name, *hex;
		int rc;
		const char *why; /* refused: this reason */
		int md, key, pss, salt;
	} cases[] = {
	    /* refused first */
	    {"PSS with empty parameters (SHA-1, MGF1-SHA-1, salt 20; RFC 7427 A.4.1)",
	     "300d06092a864886f70d01010a3000", -ENOTSUP,
	     "RSASSA-PSS hash not SHA-256, SHA-384 or SHA-512"},
	    {"PSS with SHA-1 spelt out (RFC 7427 A.4.2)",
	     "303e06092a864886f70d01010a3031a00b300906052b0e03021a0500a118301606092a864886f70d"
	     "010108300906052b0e03021a0500a203020114a303020101",
	     -ENOTSUP, "RSASSA-PSS hash not SHA-256, SHA-384 or SHA-512"},
	    {"PSS SHA-256 with MGF1-SHA-1",
	     "303d06092a864886f70d01010a3030a00f300d06096086480165030402010500a118301606092a86"
	     "4886f70d010108300906052b0e03021a0500a203020120",
	     -ENOTSUP, "RSASSA-PSS MGF1 hash is not the signature's hash"},
	    {"PSS SHA-256 with a 20-octet salt",
	     "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a86"
	     "4886f70d010108300d06096086480165030402010500a203020114",
	     -ENOTSUP, "RSASSA-PSS salt shorter than the hash (or over 1024 octets)"},
	    {"PSS SHA-256 with trailer field 2",
	     "304606092a864886f70d01010a3039a00f300d06096086480165030402010500a11c301a06092a86"
	     "4886f70d010108300d06096086480165030402010500a203020120a303020102",
	     -ENOTSUP, "RSASSA-PSS trailer field not 1 (0xbc)"},
	    {"PSS SHA-256 without maskGenAlgorithm (MGF1-SHA-1)",
	     "302306092a864886f70d01010a3016a00f300d06096086480165030402010500a203020120", -ENOTSUP,
	     "RSASSA-PSS mask generation is the default (MGF1 with SHA-1)"},
	    {"PSS SHA-256 without saltLength (20)",
	     "303c06092a864886f70d01010a302fa00f300d06096086480165030402010500a11c301a06092a86"
	     "4886f70d010108300d06096086480165030402010500",
	     -ENOTSUP, "RSASSA-PSS salt length is the default (20)"},
	    {"PSS with a mask generation function other than MGF1",
	     "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06096086"
	     "48016503040201300d06096086480165030402010500a203020120",
	     -ENOTSUP, "RSASSA-PSS mask generation not MGF1 with a hash"},
	    {"PSS without parameters", "300b06092a864886f70d01010a", -ENOTSUP,
	     "RSASSA-PSS without RSASSA-PSS-params"},
	    {"sha1WithRSAEncryption", "300d06092a864886f70d0101050500", -ENOTSUP,
	     "signature algorithm not RSA, RSASSA-PSS or ECDSA with SHA-2"},
	    {"md5WithRSAEncryption", "300d06092a864886f70d0101040500", -ENOTSUP,
	     "signature algorithm not RSA, RSASSA-PSS or ECDSA with SHA-2"},
	    {"dsa-with-sha256", "300b0609608648016503040302", -ENOTSUP,
	     "signature algorithm not RSA, RSASSA-PSS or ECDSA with SHA-2"},
	    {"ecdsa-with-SHA1", "300906072a8648ce3d0401", -ENOTSUP,
	     "signature algorithm not RSA, RSASSA-PSS or ECDSA with SHA-2"},
	    {"ecdsa-with-SHA256 with NULL parameters", "300c06082a8648ce3d0403020500", -ENOTSUP,
	     "ECDSA AlgorithmIdentifier with parameters"},
	    {"sha256WithRSAEncryption with an INTEGER parameter",
	     "300e06092a864886f70d01010b020101", -ENOTSUP,
	     "RSA PKCS#1 v1.5 AlgorithmIdentifier with parameters"},
	    {"long-form length (BER, not DER)", "30810d06092a864886f70d01010b0500", -EBADMSG,
	     "Signature Algorithm Identifier not one DER AlgorithmIdentifier"},
	    {"a byte after the AlgorithmIdentifier", "300d06092a864886f70d01010b050000", -EBADMSG,
	     "Signature Algorithm Identifier not one DER AlgorithmIdentifier"},
	    {"cut short", "300d06092a864886f70d01010b05", -EBADMSG,
	     "Signature Algorithm Identifier not one DER AlgorithmIdentifier"},
	    {"PSS parameters with a long-form length inside",
	     "304206092a864886f70d01010a308134a00f300d06096086480165030402010500a11c301a06092a"
	     "864886f70d010108300d06096086480165030402010500a203020120",
	     -EBADMSG, "RSASSA-PSS-params not DER"},
	    /* accepted */
	    {"sha256WithRSAEncryption (A.1.2)", algid_rsa_sha256, 0, NULL, NID_sha256,
	     EVP_PKEY_RSA},
	    {"sha384WithRSAEncryption", "300d06092a864886f70d01010c0500", 0, NULL, NID_sha384,
	     EVP_PKEY_RSA},
	    {"sha512WithRSAEncryption without NULL", "300b06092a864886f70d01010d", 0, NULL,
	     NID_sha512, EVP_PKEY_RSA},
	    {"ecdsa-with-SHA256 (A.3.1)", algid_ecdsa_sha256, 0, NULL, NID_sha256, EVP_PKEY_EC},
	    {"ecdsa-with-SHA512", "300a06082a8648ce3d040304", 0, NULL, NID_sha512, EVP_PKEY_EC},
	    {"PSS SHA-256 MGF1-SHA-256 salt 32 (A.4.3)", algid_pss_sha256, 0, NULL, NID_sha256,
	     EVP_PKEY_RSA, 1, 32},
	    {"PSS SHA-384 salt 48", algid_pss_sha384, 0, NULL, NID_sha384, EVP_PKEY_RSA, 1, 48},
	    {"PSS SHA-512 salt 64", algid_pss_sha512, 0, NULL, NID_sha512, EVP_PKEY_RSA, 1, 64},
	    {"PSS SHA-256 with hash parameters absent",
	     "303d06092a864886f70d01010a3030a00d300b0609608648016503040201a11a301806092a864886"
	     "f70d010108300b0609608648016503040201a203020120",
	     0, NULL, NID_sha256, EVP_PKEY_RSA, 1, 32},
	    {"PSS SHA-256 with the trailer field 1 spelt out",
	     "304606092a864886f70d01010a3039a00f300d06096086480165030402010500a11c301a06092a86"
	     "4886f70d010108300d06096086480165030402010500a203020120a303020101",
	     0, NULL, NID_sha256, EVP_PKEY_RSA, 1, 32},
	    {"PSS SHA-256 with a 40-octet salt",
	     "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a86"
	     "4886f70d010108300d06096086480165030402010500a203020128",
	     0, NULL, NID_sha256, EVP_PKEY_RSA, 1, 40},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		uint8_t der[200];
		size_t n = unhex(cases[i].hex, der, sizeof(der));
		struct gikev2_sig_alg s;
		const char *why = NULL;
		int rc = gikev2_sig_alg_parse(der, n, &s, &why);

		print_message("%s\n", cases[i].name);
		assert_int_equal(rc, cases[i].rc);
		if (rc != 0) {
			assert_non_null(why);
			assert_string_equal(why, cases[i].why);
			continue;
		}
		assert_int_equal(s.md_nid, cases[i].md);
		assert_int_equal(s.key_type, cases[i].key);
		assert_int_equal(s.pss, cases[i].pss);
		assert_int_equal(s.salt_len, cases[i].salt);
	}
}

/* ---- attributes ---- */

static void
test_attribute_reader_bounds(void **state)
{
	static const uint8_t tv[] = {0x80, 0x0e, 0x01, 0x00};
	static const uint8_t tlv_ok[] = {0x00, 0x12, 0x00, 0x02, 0xaa, 0xbb};
	static const uint8_t tlv_cut[] = {0x00, 0x12, 0x00, 0x03, 0xaa, 0xbb};
	struct gikev2_attr a;

	(void)state;
	assert_int_equal(gikev2_attr_read(tv, 3, &a), -EBADMSG);
	assert_int_equal(gikev2_attr_read(tlv_cut, sizeof(tlv_cut), &a), -EBADMSG);
	assert_int_equal(gikev2_attr_read(tv, sizeof(tv), &a), 4);
	assert_true(a.tv);
	assert_int_equal(a.type, 14);
	assert_int_equal(ikev2_get16(a.data), 256);
	assert_int_equal(gikev2_attr_read(tlv_ok, sizeof(tlv_ok), &a), 6);
	assert_false(a.tv);
	assert_int_equal(a.type, GIKEV2_ATTR_SIG_ALG_ID);
	assert_int_equal(a.len, 2);
	assert_int_equal(a.data[1], 0xbb);
}

/* ---- GSA ---- */

/* Offsets in the GSA built by gsa_build() */
struct gsa_at {
	size_t esp, rekey, gcauth, gw;
};

/* ESP: AES-CBC-128, HMAC-SHA-256-128, SN 2, lifetime 900 (76 octets from
 * esp); with @p rekey a GIKE_UPDATE policy (GCAUTH signature with the
 * RSA-SHA-256 AlgorithmIdentifier, initial message ID 100) and a
 * group-wide policy (ATD 1, DTD 3, SID bits 8). */
static void
gsa_build(struct bld *b, int rekey, struct gsa_at *at)
{
	uint8_t alg[32];
	size_t alg_len = unhex(algid_rsa_sha256, alg, sizeof(alg)), off;
	uint8_t sa[4 + 32];

	memset(b, 0, sizeof(*b));
	at->esp = off = b->n;
	p8(b, IKEV2_PROTO_ESP);
	p8(b, 4);
	p16(b, 0);
	p32(b, 0x11223344);
	ts4(b, IP4(10, 1, 0, 0), IP4(10, 1, 255, 255));
	ts4(b, IP4(10, 2, 0, 0), IP4(10, 2, 255, 255));
	xf(b, 0, IKEV2_TT_ENCR, IKEV2_ENCR_AES_CBC, keylen128, 4);
	xf(b, 0, IKEV2_TT_INTEG, IKEV2_INTEG_HMAC_SHA2_256_128, NULL, 0);
	xf(b, 1, IKEV2_TT_ESN, GIKEV2_SN_32BIT_UNSPECIFIED, NULL, 0);
	p16(b, GIKEV2_GSA_KEY_LIFETIME);
	p16(b, 4);
	p32(b, 900);
	close16(b, off);
	if (!rekey)
		return;
	at->rekey = off = b->n;
	p8(b, IKEV2_PROTO_GIKE_UPDATE);
	p8(b, 16);
	p16(b, 0);
	fill(b, 0x5a, 16);
	ts4(b, 0, 0xffffffff);
	ts4(b, IP4(239, 1, 1, 1), IP4(239, 1, 1, 1));
	xf(b, 0, IKEV2_TT_ENCR, IKEV2_ENCR_AES_CBC, keylen128, 4);
	xf(b, 0, IKEV2_TT_INTEG, IKEV2_INTEG_HMAC_SHA2_256_128, NULL, 0);
	xf(b, 0, IKEV2_TT_KWA, IKEV2_KWA_5649_128, NULL, 0);
	at->gcauth = b->n;
	sa[0] = 0;
	sa[1] = GIKEV2_ATTR_SIG_ALG_ID;
	sa[2] = 0;
	sa[3] = (uint8_t)alg_len;
	memcpy(sa + 4, alg, alg_len);
	xf(b, 1, IKEV2_TT_GCAUTH, GIKEV2_GCAUTH_DIGITAL_SIGNATURE, sa, 4 + alg_len);
	p16(b, GIKEV2_GSA_INITIAL_MESSAGE_ID);
	p16(b, 4);
	p32(b, 100);
	close16(b, off);
	at->gw = off = b->n;
	p32(b, 0);
	p16(b, 0x8000 | GIKEV2_GWP_ATD);
	p16(b, 1);
	p16(b, 0x8000 | GIKEV2_GWP_DTD);
	p16(b, 3);
	p16(b, 0x8000 | GIKEV2_GWP_SENDER_ID_BITS);
	p16(b, 8);
	close16(b, off);
}

enum { AT_ESP, AT_REKEY, AT_GCAUTH, AT_GW };

static size_t
at_of(const struct gsa_at *at, int where)
{
	return where == AT_ESP	    ? at->esp
	       : where == AT_REKEY  ? at->rekey
	       : where == AT_GCAUTH ? at->gcauth
				    : at->gw;
}

static void
test_malformed_gsa_is_refused_by_reason(void **state)
{
	/* one octet of a valid GSA changed (or the GSA cut), and what is said */
	static const struct {
		const char *name;
		int rekey, registration, where;
		size_t off;
		int val; /* -1: no change */
		int cut; /* >= 0: keep this many octets */
		const char *why;
	} cases[] = {
	    {"empty", 0, 1, AT_ESP, 0, -1, 0, "GSA payload empty"},
	    {"substructure header cut", 0, 1, AT_ESP, 0, -1, 3,
	     "GSA substructure header does not fit"},
	    {"policy length overruns the payload", 0, 1, AT_ESP, 3, 77, -1,
	     "GSA substructure length wrong"},
	    {"policy length under its header", 0, 1, AT_ESP, 3, 3, -1,
	     "GSA substructure length wrong"},
	    {"ESP SPI of 8 octets", 0, 1, AT_ESP, 1, 8, -1,
	     "GSA policy SPI size not its protocol's"},
	    {"source selector length wrong", 0, 1, AT_ESP, 11, 17, -1,
	     "GSA policy source selector malformed"},
	    {"source selector of unknown type", 0, 1, AT_ESP, 8, 9, -1,
	     "GSA policy source selector malformed"},
	    {"destination selector start above its end", 0, 1, AT_ESP, 24 + 8, 11, -1,
	     "GSA policy destination selector malformed"},
	    {"transform length overruns the policy", 0, 1, AT_ESP, 43, 200, -1,
	     "GSA transform length or Last Substruc wrong"},
	    {"transform Last Substruc neither 0 nor 3", 0, 1, AT_ESP, 40, 5, -1,
	     "GSA transform length or Last Substruc wrong"},
	    {"transform type repeated", 0, 1, AT_ESP, 52 + 4, IKEV2_TT_ENCR, -1,
	     "GSA policy repeats a transform type"},
	    {"transform attribute TLV overruns its transform", 0, 1, AT_ESP, 48, 0x00, -1,
	     "GSA transform attribute malformed"},
	    {"transform of a type G-IKEv2 does not use (DH)", 0, 1, AT_ESP, 52 + 4, IKEV2_TT_DH, -1,
	     "GSA transform of a type G-IKEv2 does not use"},
	    {"ESP without Sequence Numbers", 0, 1, AT_ESP, 60 + 4, IKEV2_TT_KWA, -1,
	     "ESP policy lacks its encryption or sequence numbers transform"},
	    {"AH with an encryption transform", 0, 1, AT_ESP, 0, IKEV2_PROTO_AH, -1,
	     "GSA policy carries a transform its protocol does not take"},
	    {"unknown protocol", 0, 1, AT_ESP, 0, 9, -1, "GSA policy of an unknown protocol"},
	    {"GSA attribute TLV overruns the policy", 0, 1, AT_ESP, 71, 5, -1,
	     "GSA attribute malformed (they are TLV)"},
	    {"GSA attribute in TV form", 0, 1, AT_ESP, 68, 0x80, -1,
	     "GSA attribute malformed (they are TLV)"},
	    {"GSA_INITIAL_MESSAGE_ID on an ESP policy", 0, 1, AT_ESP, 69,
	     GIKEV2_GSA_INITIAL_MESSAGE_ID, -1,
	     "GSA_INITIAL_MESSAGE_ID not one 4-octet value of a rekey SA"},
	    {"unknown GSA attribute", 0, 1, AT_ESP, 69, 9, -1, "unknown GSA attribute"},
	    {"GCAUTH in a rekey", 1, 0, AT_REKEY, 0, -1, -1,
	     "GCAUTH transform in a rekey (the method does not change)"},
	    {"GCAUTH Implicit with a Signature Algorithm Identifier", 1, 1, AT_GCAUTH, 7,
	     GIKEV2_GCAUTH_IMPLICIT, -1, "Signature Algorithm Identifier with another method"},
	    {"Signature Algorithm Identifier in TV form", 1, 1, AT_GCAUTH, 8, 0x80, -1,
	     "GSA transform attribute not known for its type"},
	    {"Signature Algorithm Identifier TLV overruns", 1, 1, AT_GCAUTH, 11, 0xff, -1,
	     "GSA transform attribute malformed"},
	    {"rekey SA without a key wrap algorithm", 1, 1, AT_REKEY, 4 + 16 + 32 + 12 + 8 + 4,
	     IKEV2_TT_ESN, -1, "rekey SA policy lacks its encryption or key wrap transform"},
	    {"group-wide attribute in TLV form", 1, 1, AT_GW, 4, 0x00, -1,
	     "group-wide policy attribute malformed (they are TV)"},
	    {"group-wide attribute repeated", 1, 1, AT_GW, 9, GIKEV2_GWP_ATD, -1,
	     "group-wide policy attribute repeated"},
	    {"unknown group-wide attribute", 1, 1, AT_GW, 5, 9, -1,
	     "unknown group-wide policy attribute"},
	    {"group-wide policy overruns the payload", 1, 1, AT_GW, 3, 17, -1,
	     "GSA substructure length wrong"},
	};
	static struct gikev2_gsa g;
	struct bld b;
	struct gsa_at at;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const char *why = NULL;
		size_t len;

		print_message("%s\n", cases[i].name);
		gsa_build(&b, cases[i].rekey, &at);
		len = cases[i].cut >= 0 ? (size_t)cases[i].cut : b.n;
		if (cases[i].val >= 0)
			b.b[at_of(&at, cases[i].where) + cases[i].off] = (uint8_t)cases[i].val;
		assert_int_equal(gikev2_gsa_parse(b.b, len, cases[i].registration, &g, &why),
				 -EBADMSG);
		assert_non_null(why);
		assert_string_equal(why, cases[i].why);
	}
}

static void
test_gsa_of_a_registration_is_read_whole(void **state)
{
	static struct gikev2_gsa g;
	uint8_t alg[32];
	size_t alg_len = unhex(algid_rsa_sha256, alg, sizeof(alg));
	struct bld b;
	struct gsa_at at;
	const char *why = NULL;
	const struct gikev2_gsa_policy *e = &g.pol[0], *r = &g.pol[1];

	(void)state;
	gsa_build(&b, 1, &at);
	assert_int_equal(gikev2_gsa_parse(b.b, b.n, 1, &g, &why), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(e->proto, IKEV2_PROTO_ESP);
	assert_int_equal(ikev2_get32(e->spi), 0x11223344);
	assert_int_equal(e->encr.id, IKEV2_ENCR_AES_CBC);
	assert_int_equal(e->encr.key_bits, 128);
	assert_int_equal(e->integ, IKEV2_INTEG_HMAC_SHA2_256_128);
	assert_int_equal(e->sn, GIKEV2_SN_32BIT_UNSPECIFIED);
	assert_true(e->has_lifetime && e->lifetime == 900);
	assert_int_equal(ikev2_get32(e->src.start), IP4(10, 1, 0, 0));
	assert_int_equal(ikev2_get32(e->dst.end), IP4(10, 2, 255, 255));
	assert_int_equal(r->proto, IKEV2_PROTO_GIKE_UPDATE);
	assert_int_equal(r->kwa, IKEV2_KWA_5649_128);
	assert_int_equal(r->gcauth, GIKEV2_GCAUTH_DIGITAL_SIGNATURE);
	assert_int_equal(r->sig_alg_len, alg_len);
	assert_memory_equal(r->sig_alg, alg, alg_len);
	assert_true(r->has_initial_msgid && r->initial_msgid == 100);
	assert_true(g.has_gw && g.has_atd && g.has_dtd && g.has_sid_bits);
	assert_int_equal(g.atd, 1);
	assert_int_equal(g.dtd, 3);
	assert_int_equal(g.sid_bits, 8);
	/* the same in a rekey, GCAUTH left out: read, no method */
	b.n = 0;
	gsa_build(&b, 0, &at);
	assert_int_equal(gikev2_gsa_parse(b.b, b.n, 0, &g, &why), 0);
	assert_int_equal(g.n, 1);
}

/* ---- KD ---- */

struct kd_at {
	size_t esp, rekey, member, wrap, auth, sid;
};

/* A registration's KD: an ESP and a rekey SA key bag (one SA_KEY each, under
 * KWK 0), a member key bag: WRAP_KEY ID 7 under KWK 0, a 10-octet
 * AUTH_KEY, GM_SENDER_ID 0x0102. The wrapped bytes are not unwrapped. */
static void
kd_build(struct bld *b, int member, struct kd_at *at)
{
	uint8_t wk[8 + 24];

	memset(b, 0, sizeof(*b));
	memset(wk, 0xc3, sizeof(wk));
	memset(wk, 0, 8);
	at->esp = b->n;
	p8(b, IKEV2_PROTO_ESP);
	p8(b, 4);
	p16(b, 0);
	p32(b, 0x11223344);
	tlv(b, GIKEV2_SA_KEY, wk, sizeof(wk));
	close16(b, at->esp);
	at->rekey = b->n;
	p8(b, IKEV2_PROTO_GIKE_UPDATE);
	p8(b, 16);
	p16(b, 0);
	fill(b, 0x5a, 16);
	tlv(b, GIKEV2_SA_KEY, wk, sizeof(wk));
	close16(b, at->rekey);
	if (!member)
		return;
	at->member = b->n;
	p32(b, 0);
	at->wrap = b->n;
	wk[3] = 7;
	tlv(b, GIKEV2_WRAP_KEY, wk, sizeof(wk));
	at->auth = b->n;
	tlv(b, GIKEV2_AUTH_KEY, "0123456789", 10);
	at->sid = b->n;
	tlv(b, GIKEV2_GM_SENDER_ID, "\x01\x02", 2);
	close16(b, at->member);
}

static void
test_malformed_kd_is_refused_by_reason(void **state)
{
	enum { K_ESP, K_REKEY, K_MEMBER, K_WRAP, K_AUTH, K_SID };
	static const struct {
		const char *name;
		int member, registration, where;
		size_t off;
		int val, cut;
		const char *why;
	} cases[] = {
	    {"key bag header cut", 0, 1, K_ESP, 0, -1, 3, "key bag header does not fit"},
	    {"key bag length overruns the payload", 0, 1, K_ESP, 3, 0xf0, -1,
	     "key bag length wrong"},
	    {"ESP key bag SPI of 16 octets", 0, 1, K_ESP, 1, 16, -1,
	     "group key bag SPI size wrong"},
	    {"SA_KEY TLV overruns its bag", 0, 1, K_ESP, 11, 0xff, -1,
	     "group key bag attribute not an SA_KEY"},
	    {"SA_KEY in TV form", 0, 1, K_ESP, 8, 0x80, -1,
	     "group key bag attribute not an SA_KEY"},
	    {"SA_KEY of one block (RFC 5649 needs two)", 0, 1, K_ESP, 11, 16, -1,
	     "SA_KEY malformed or with a Key ID other than 0"},
	    {"SA_KEY with Key ID 1", 0, 1, K_ESP, 12 + 3, 1, -1,
	     "SA_KEY malformed or with a Key ID other than 0"},
	    {"member key bag in a rekey", 1, 0, K_MEMBER, 0, -1, -1,
	     "member key bag outside a registration (4.5.2)"},
	    {"WRAP_KEY with Key ID 0", 1, 1, K_WRAP, 4 + 3, 0, -1,
	     "WRAP_KEY malformed or with Key ID 0"},
	    {"WRAP_KEY TLV overruns the bag", 1, 1, K_WRAP, 3, 0xff, -1,
	     "member key bag attribute malformed (they are TLV)"},
	    {"member attribute in TV form", 1, 1, K_SID, 0, 0x80, -1,
	     "member key bag attribute malformed (they are TLV)"},
	    {"GM_SENDER_ID of 10 octets", 1, 1, K_AUTH, 1, GIKEV2_GM_SENDER_ID, -1,
	     "GM_SENDER_ID not 1 to 4 octets, or too many"},
	    {"AUTH_KEY twice", 1, 1, K_SID, 1, GIKEV2_AUTH_KEY, -1,
	     "AUTH_KEY repeated, empty or too long"},
	    {"unknown member attribute", 1, 1, K_SID, 1, 9, -1, "unknown member key bag attribute"},
	};
	static struct gikev2_kd kd;
	struct bld b;
	struct kd_at at;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const char *why = NULL;
		size_t len;

		print_message("%s\n", cases[i].name);
		kd_build(&b, cases[i].member, &at);
		if (cases[i].val >= 0) {
			const size_t w[] = {at.esp, at.rekey, at.member, at.wrap, at.auth, at.sid};

			b.b[w[cases[i].where] + cases[i].off] = (uint8_t)cases[i].val;
		}
		len = cases[i].cut >= 0 ? (size_t)cases[i].cut : b.n;
		assert_int_equal(gikev2_kd_parse(b.b, len, cases[i].registration, &kd, &why),
				 -EBADMSG);
		assert_non_null(why);
		assert_string_equal(why, cases[i].why);
	}
}

static void
test_kd_of_a_registration_is_read_whole(void **state)
{
	static struct gikev2_kd kd;
	struct bld b;
	struct kd_at at;
	const char *why = NULL;

	(void)state;
	kd_build(&b, 1, &at);
	assert_int_equal(gikev2_kd_parse(b.b, b.n, 1, &kd, &why), 0);
	assert_int_equal(kd.n_group, 2);
	assert_int_equal(kd.group[0].proto, IKEV2_PROTO_ESP);
	assert_int_equal(ikev2_get32(kd.group[0].spi), 0x11223344);
	assert_int_equal(kd.group[0].n_sa_keys, 1);
	assert_int_equal(kd.group[0].sa_key[0].enc_len, 24);
	assert_int_equal(kd.group[0].sa_key[0].enc[0], 0xc3);
	assert_int_equal(kd.group[1].proto, IKEV2_PROTO_GIKE_UPDATE);
	assert_int_equal(kd.group[1].spi[15], 0x5a);
	assert_true(kd.has_member);
	assert_int_equal(kd.n_wrap, 1);
	assert_int_equal(kd.wrap[0].key_id, 7);
	assert_int_equal(kd.wrap[0].kwk_id, 0);
	assert_int_equal(kd.auth_key_len, 10);
	assert_memory_equal(kd.auth_key, "0123456789", 10);
	assert_int_equal(kd.n_sids, 1);
	assert_int_equal(kd.sid[0], 0x0102);
	/* in a rekey, without the member key bag */
	kd_build(&b, 0, &at);
	assert_int_equal(gikev2_kd_parse(b.b, b.n, 0, &kd, &why), 0);
	assert_int_equal(kd.n_group, 2);
	assert_false(kd.has_member);
}

/* ---- RFC 5649 section 6 ---- */

static void
test_unwrap_matches_rfc5649_vectors(void **state)
{
	static const struct {
		const char *wrapped, *key;
	} v[] = {
	    {"138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a",
	     "c37b7e6492584340bed12207808941155068f738"},
	    {"afbeb0f07dfbf5419200f2ccb50bb24f", "466f7250617369"},
	};
	struct gikev2_kwk k = {.id = 0, .alg = IKEV2_KWA_5649_192, .len = 24};
	uint8_t enc[64], want[32], out[64];

	(void)state;
	assert_int_equal(gikev2_kwa_key_len(IKEV2_KWA_5649_192), 24);
	unhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", k.key, sizeof(k.key));
	for (size_t i = 0; i < ARRAY_LEN(v); i++) {
		struct gikev2_wrapped w = {.enc = enc};
		size_t wl = unhex(v[i].wrapped, enc, sizeof(enc));
		size_t kl = unhex(v[i].key, want, sizeof(want));

		w.enc_len = (uint16_t)wl;
		assert_int_equal(gikev2_unwrap(&k, &w, out, sizeof(out)), (int)kl);
		assert_memory_equal(out, want, kl);
		/* one bit changed: the integrity check of RFC 5649 fails */
		enc[wl / 2] ^= 0x01;
		assert_int_equal(gikev2_unwrap(&k, &w, out, sizeof(out)), -EACCES);
		enc[wl / 2] ^= 0x01;
		/* not a whole number of blocks, or a single block */
		w.enc_len = (uint16_t)(wl - 1);
		assert_int_equal(gikev2_unwrap(&k, &w, out, sizeof(out)), -EBADMSG);
		w.enc_len = 8;
		assert_int_equal(gikev2_unwrap(&k, &w, out, sizeof(out)), -EBADMSG);
		/* no room for the key */
		w.enc_len = (uint16_t)wl;
		assert_int_equal(gikev2_unwrap(&k, &w, out, wl - 9), -EBADMSG);
	}
	/* a key not of the algorithm's length */
	k.len = 16;
	assert_int_equal(gikev2_unwrap(&k, &(struct gikev2_wrapped){.enc = enc, .enc_len = 16}, out,
				       sizeof(out)),
			 -EIO);
}

/* ---- GSA_REKEY (2.4.1) built here ---- */

/* A GCKS's signing key and method. */
struct signer {
	const char *name;
	EVP_PKEY *pk;
	const EVP_MD *md;
	int pss, salt;
	uint8_t alg[GIKEV2_SIG_ALG_MAX];
	size_t alg_len;
};

static struct signer rsa_pkcs1 = {"RSA PKCS#1 v1.5 SHA-256"};
static struct signer ecdsa = {"ECDSA P-256 SHA-256"};
static struct signer pss256 = {"RSASSA-PSS SHA-256 salt 32", .pss = 1, .salt = 32};
static struct signer pss512 = {"RSASSA-PSS SHA-512 salt 64", .pss = 1, .salt = 64};

static const uint8_t ek[16] = "GSK_e rekey SA!!", ak[32] = "GSK_a rekey SA integrity key ..";
static struct gikev2_member m;
static struct {
	int n;
	uint32_t seq;
	uint16_t n_deletes;
	uint32_t spi[4];
} pushed;

static int
on_push(void *ctx, const struct gdoi_push *p)
{
	(void)ctx;
	pushed.n++;
	pushed.seq = p->seq;
	pushed.n_deletes = p->n_deletes;
	for (unsigned int i = 0; i < p->n_deletes && i < 4; i++)
		pushed.spi[i] = p->del[i].spi;
	return 0;
}

static int
group_setup(void **state)
{
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	EVP_PKEY *ec = EVP_EC_gen("P-256");

	(void)state;
	assert_non_null(rsa);
	assert_non_null(ec);
	rsa_pkcs1.pk = pss256.pk = pss512.pk = rsa;
	ecdsa.pk = ec;
	rsa_pkcs1.md = ecdsa.md = pss256.md = EVP_sha256();
	pss512.md = EVP_sha512();
	rsa_pkcs1.alg_len = unhex(algid_rsa_sha256, rsa_pkcs1.alg, sizeof(rsa_pkcs1.alg));
	ecdsa.alg_len = unhex(algid_ecdsa_sha256, ecdsa.alg, sizeof(ecdsa.alg));
	pss256.alg_len = unhex(algid_pss_sha256, pss256.alg, sizeof(pss256.alg));
	pss512.alg_len = unhex(algid_pss_sha512, pss512.alg, sizeof(pss512.alg));
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_pkcs1.pk);
	EVP_PKEY_free(ecdsa.pk);
	gikev2_member_clear(&m);
	return 0;
}

/* A member holding a rekey SA (AES-CBC-128, HMAC-SHA-256-128) signed by
 * @p s, next message ID 5, none accepted yet. */
static void
member_for(const struct signer *s)
{
	unsigned char *der = NULL;
	int n;

	gikev2_member_clear(&m);
	memset(&pushed, 0, sizeof(pushed));
	m.ops.push = on_push;
	gikev2_test_rekey_sa(&m, ek, ak);
	m.rk.gcauth = GIKEV2_GCAUTH_DIGITAL_SIGNATURE;
	m.rk.next_msgid = 5;
	n = i2d_PUBKEY(s->pk, &der);
	assert_true(n > 0 && (size_t)n <= sizeof(m.auth_key));
	memcpy(m.auth_key, der, (size_t)n);
	m.auth_key_len = (uint16_t)n;
	OPENSSL_free(der);
	memcpy(m.sig_alg, s->alg, s->alg_len);
	m.sig_alg_len = (uint16_t)s->alg_len;
}

/* One inner payload. */
struct pl {
	uint8_t type, crit;
	const uint8_t *body;
	size_t len;
};

enum {
	F_TAMPER_SIG = 1,  /* one bit of the signature flipped */
	F_OTHER_SALT = 2,  /* PSS with a salt 2 octets longer, labelled as the group's */
	F_OTHER_ALG = 4,   /* AUTH labelled (and signed) as sha384WithRSAEncryption */
	F_NO_AUTH = 8,	   /* no AUTH payload */
	F_TAMPER_ICV = 16, /* one bit of the ICV flipped */
};

static size_t
sign(const struct signer *s, int flags, const uint8_t *data, size_t len, uint8_t *sig, size_t room)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md = (flags & F_OTHER_ALG) ? EVP_sha384() : s->md;
	size_t n = room;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, &pctx, md, NULL, s->pk), 1);
	if (s->pss) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(
				     pctx, s->salt + ((flags & F_OTHER_SALT) ? 2 : 0)),
				 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md), 1);
	}
	assert_int_equal(EVP_DigestSign(ctx, sig, &n, data, len), 1);
	EVP_MD_CTX_free(ctx);
	return n;
}

/*
 * A GSA_REKEY as the GCKS sends it: inner payloads, then AUTH (RFC 7427:
 * method 14, the AlgorithmIdentifier, the signature over A | P with the
 * signature's octets zero, A being the header and the SK header with the
 * lengths of the unencrypted message), padded, AES-CBC encrypted and
 * HMAC-SHA-256-128 protected. @return the message's length.
 */
static size_t
rekey_msg(uint8_t *out, const struct signer *s, uint32_t msgid, const struct pl *p, unsigned int n,
	  int flags)
{
	static const char sha384_rsa[] = "300d06092a864886f70d01010c0500";
	static uint8_t tbs[8192];
	struct bld plain = {.n = 0};
	uint8_t alg[GIKEV2_SIG_ALG_MAX], sig[1024], iv[16], ct[4096 + 16], icv[32];
	size_t alg_len = s->alg_len, sig_len = (size_t)EVP_PKEY_get_size(s->pk), sig_at = 0;
	size_t total, ct_len;
	unsigned int mac_len = 0;
	EVP_CIPHER_CTX *c;
	int l1 = 0, l2 = 0;

	memcpy(alg, s->alg, alg_len);
	if (flags & F_OTHER_ALG)
		alg_len = unhex(sha384_rsa, alg, sizeof(alg));
	/* ECDSA's DER signature varies in length: sign until it is the one
	 * written in the lengths (A covers them) */
	for (int tries = 0; tries < 64; tries++) {
		size_t got, off;

		plain.n = 0;
		for (unsigned int i = 0; i < n; i++) {
			off = plain.n;
			p8(&plain, i + 1 < n		 ? p[i + 1].type
				   : (flags & F_NO_AUTH) ? 0
							 : IKEV2_P_AUTH);
			p8(&plain, p[i].crit ? 0x80 : 0);
			p16(&plain, 0);
			put(&plain, p[i].body, p[i].len);
			close16(&plain, off);
		}
		if (flags & F_NO_AUTH)
			break;
		off = plain.n;
		p32(&plain, 0);
		p8(&plain, IKEV2_AUTH_DIGITAL_SIGNATURE);
		fill(&plain, 0, 3);
		p8(&plain, (unsigned int)alg_len);
		put(&plain, alg, alg_len);
		sig_at = plain.n;
		fill(&plain, 0, sig_len);
		close16(&plain, off);
		/* A | P */
		memset(tbs, 0, IKEV2_HDR_LEN + IKEV2_GEN_LEN);
		memcpy(tbs, m.rk.spi, 16);
		tbs[16] = IKEV2_P_SK;
		tbs[17] = IKEV2_VERSION;
		tbs[18] = IKEV2_EXCH_GSA_REKEY;
		ikev2_set32(tbs + 20, msgid);
		ikev2_set32(tbs + 24, (uint32_t)(IKEV2_HDR_LEN + IKEV2_GEN_LEN + plain.n));
		tbs[28] = n != 0 ? p[0].type : IKEV2_P_AUTH;
		tbs[30] = (uint8_t)((IKEV2_GEN_LEN + plain.n) >> 8);
		tbs[31] = (uint8_t)(IKEV2_GEN_LEN + plain.n);
		memcpy(tbs + 32, plain.b, plain.n);
		got = sign(s, flags, tbs, 32 + plain.n, sig, sizeof(sig));
		if (got == sig_len)
			break;
		sig_len = got;
		assert_true(tries < 63);
	}
	if (!(flags & F_NO_AUTH)) {
		if (flags & F_TAMPER_SIG)
			sig[sig_len / 2] ^= 0x10;
		memcpy(plain.b + sig_at, sig, sig_len);
	}
	/* padding: pad octets then the pad length (RFC 7296 3.14) */
	{
		size_t pad = (16 - (plain.n + 1) % 16) % 16;

		fill(&plain, 0, pad);
		p8(&plain, (unsigned int)pad);
	}
	memset(iv, 0xa5, sizeof(iv));
	c = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_cbc(), NULL, ek, iv), 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	assert_int_equal(EVP_EncryptUpdate(c, ct, &l1, plain.b, (int)plain.n), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, ct + l1, &l2), 1);
	EVP_CIPHER_CTX_free(c);
	ct_len = (size_t)(l1 + l2);
	total = IKEV2_HDR_LEN + IKEV2_GEN_LEN + 16 + ct_len + 16;
	memset(out, 0, IKEV2_HDR_LEN);
	memcpy(out, m.rk.spi, 16);
	out[16] = IKEV2_P_SK;
	out[17] = IKEV2_VERSION;
	out[18] = IKEV2_EXCH_GSA_REKEY;
	ikev2_set32(out + 20, msgid);
	ikev2_set32(out + 24, (uint32_t)total);
	out[28] = n != 0 ? p[0].type : IKEV2_P_AUTH;
	out[29] = 0;
	out[30] = (uint8_t)((total - IKEV2_HDR_LEN) >> 8);
	out[31] = (uint8_t)(total - IKEV2_HDR_LEN);
	memcpy(out + 32, iv, 16);
	memcpy(out + 48, ct, ct_len);
	assert_non_null(HMAC(EVP_sha256(), ak, sizeof(ak), out, total - 16, icv, &mac_len));
	memcpy(out + total - 16, icv, 16);
	if (flags & F_TAMPER_ICV)
		out[total - 1] ^= 0x01;
	return total;
}

/* a Delete of ESP SPIs (RFC 7296 3.11) */
static size_t
delete_body(uint8_t *b, uint8_t proto, uint16_t n_claimed, const uint32_t *spi, unsigned int n)
{
	b[0] = proto;
	b[1] = 4;
	b[2] = (uint8_t)(n_claimed >> 8);
	b[3] = (uint8_t)n_claimed;
	for (unsigned int i = 0; i < n; i++)
		ikev2_set32(b + 4 + 4 * i, spi[i]);
	return 4 + 4 * (size_t)n;
}

static enum gikev2_drop
feed(const uint8_t *msg, size_t len, int want_rc)
{
	enum gikev2_drop reason = GIKEV2_DROP_MAX;
	const char *why = NULL;
	int rc = gikev2_rekey_input(&m, msg, len, &reason, &why);

	if (rc != want_rc)
		print_message("rc %d reason %s why %s\n", rc, gikev2_drop_id(reason),
			      why != NULL ? why : "-");
	assert_int_equal(rc, want_rc);
	return reason;
}

static void
signed_rekeys(const struct signer *s)
{
	static uint8_t msg[IKEV2_MSG_MAX], first[IKEV2_MSG_MAX];
	const uint32_t spis[] = {0x0a0b0c0d, 0x01020304};
	uint8_t del[12];
	struct pl d = {IKEV2_P_DELETE, 0, del, delete_body(del, IKEV2_PROTO_ESP, 2, spis, 2)};
	size_t len, first_len;

	print_message("%s\n", s->name);
	member_for(s);
	/* below the initial message ID, none accepted yet: stale */
	len = rekey_msg(msg, s, 4, &d, 1, 0);
	assert_int_equal(feed(msg, len, -EBADMSG), GIKEV2_DROP_STALE);
	/* message ID 5, signed: applied, its Deletes reported */
	first_len = rekey_msg(first, s, 5, &d, 1, 0);
	assert_int_equal(gikev2_rekey_input(&m, first, first_len, NULL, &(const char *){NULL}), 0);
	assert_int_equal(pushed.n, 1);
	assert_int_equal(pushed.seq, 5);
	assert_int_equal(pushed.n_deletes, 2);
	assert_int_equal(pushed.spi[0], 0x0a0b0c0d);
	assert_int_equal(pushed.spi[1], 0x01020304);
	assert_int_equal(m.rk.next_msgid, 6);
	/* the same message again: a replay */
	assert_int_equal(feed(first, first_len, -EBADMSG), GIKEV2_DROP_REPLAY);
	/* message ID 6: a flipped signature bit, another AlgorithmIdentifier,
	 * no AUTH, a flipped ICV bit */
	len = rekey_msg(msg, s, 6, &d, 1, F_TAMPER_SIG);
	assert_int_equal(feed(msg, len, -EBADMSG), GIKEV2_DROP_BAD_SIGNATURE);
	if (EVP_PKEY_get_base_id(s->pk) == EVP_PKEY_RSA) {
		len = rekey_msg(msg, s, 6, &d, 1, F_OTHER_ALG);
		assert_int_equal(feed(msg, len, -EBADMSG), GIKEV2_DROP_SIG_ALG);
	}
	if (s->pss) {
		/* the salt length is the parameters', exactly */
		len = rekey_msg(msg, s, 6, &d, 1, F_OTHER_SALT);
		assert_int_equal(feed(msg, len, -EBADMSG), GIKEV2_DROP_BAD_SIGNATURE);
	}
	len = rekey_msg(msg, s, 6, &d, 1, F_NO_AUTH);
	assert_int_equal(feed(msg, len, -EBADMSG), GIKEV2_DROP_NO_AUTH);
	len = rekey_msg(msg, s, 6, &d, 1, F_TAMPER_ICV);
	assert_int_equal(feed(msg, len, -EBADMSG), GIKEV2_DROP_BAD_ICV);
	assert_int_equal(pushed.n, 1);
	assert_int_equal(m.rk.next_msgid, 6);
	/* message ID 6, good: applied; then 5 (an old one) is a replay */
	len = rekey_msg(msg, s, 6, &d, 1, 0);
	assert_int_equal(feed(msg, len, 0), GIKEV2_DROP_MAX);
	assert_int_equal(pushed.n, 2);
	assert_int_equal(pushed.seq, 6);
	len = rekey_msg(msg, s, 5, &d, 1, 0);
	assert_int_equal(feed(msg, len, -EBADMSG), GIKEV2_DROP_REPLAY);
	assert_int_equal(m.stats.rekeys, 2);
	assert_int_equal(m.stats.drops[GIKEV2_DROP_REPLAY], 2);
	assert_int_equal(m.stats.drops[GIKEV2_DROP_STALE], 1);
	assert_int_equal(m.stats.drops[GIKEV2_DROP_BAD_SIGNATURE], s->pss ? 2 : 1);
}

static void
test_rekey_signed_with_rsa_pkcs1(void **state)
{
	(void)state;
	signed_rekeys(&rsa_pkcs1);
}

static void
test_rekey_signed_with_ecdsa_p256(void **state)
{
	(void)state;
	signed_rekeys(&ecdsa);
}

static void
test_rekey_signed_with_rsassa_pss(void **state)
{
	(void)state;
	signed_rekeys(&pss256);
	signed_rekeys(&pss512);
}

static void
test_rekey_with_malformed_payloads_is_refused(void **state)
{
	static uint8_t msg[IKEV2_MSG_MAX];
	const uint32_t spi = 0x0a0b0c0d;
	uint8_t del[8], unknown[4] = {1, 2, 3, 4};
	struct pl d = {IKEV2_P_DELETE, 0, del, 0};
	struct pl two[2] = {{200, 1, unknown, 4}, {IKEV2_P_DELETE, 0, del, 0}};
	enum gikev2_drop r;
	const char *why = NULL;
	size_t len;

	(void)state;
	member_for(&rsa_pkcs1);
	/* an unknown payload marked critical (RFC 7296 2.5) */
	two[1].len = delete_body(del, IKEV2_PROTO_ESP, 1, &spi, 1);
	len = rekey_msg(msg, &rsa_pkcs1, 5, two, 2, 0);
	assert_int_equal(gikev2_rekey_input(&m, msg, len, &r, &why), -EBADMSG);
	assert_int_equal(r, GIKEV2_DROP_MALFORMED);
	assert_string_equal(why, ikev2_err_name(IKEV2_ERR_CRITICAL));
	/* the same payload not critical is skipped: applied */
	two[0].crit = 0;
	len = rekey_msg(msg, &rsa_pkcs1, 5, two, 2, 0);
	assert_int_equal(gikev2_rekey_input(&m, msg, len, &r, &why), 0);
	assert_int_equal(pushed.n, 1);
	/* a Delete claiming two SPIs and carrying one */
	d.len = delete_body(del, IKEV2_PROTO_ESP, 2, &spi, 1);
	len = rekey_msg(msg, &rsa_pkcs1, 6, &d, 1, 0);
	assert_int_equal(gikev2_rekey_input(&m, msg, len, &r, &why), -EBADMSG);
	assert_int_equal(r, GIKEV2_DROP_POLICY);
	assert_string_equal(why, "Delete payload length disagrees with its SPIs");
	/* a Delete of AH SAs, which the member does not hold */
	d.len = delete_body(del, IKEV2_PROTO_AH, 1, &spi, 1);
	len = rekey_msg(msg, &rsa_pkcs1, 7, &d, 1, 0);
	assert_int_equal(gikev2_rekey_input(&m, msg, len, &r, &why), -EBADMSG);
	assert_int_equal(r, GIKEV2_DROP_POLICY);
	assert_string_equal(why, "Delete of a protocol the member does not hold");
	/* nothing of them was applied, and their IDs were not taken */
	assert_int_equal(pushed.n, 1);
	assert_int_equal(m.rk.next_msgid, 6);
	/* AUTH cut inside its AlgorithmIdentifier: refused, not read past */
	{
		uint8_t cut[6] = {IKEV2_AUTH_DIGITAL_SIGNATURE, 0, 0, 0, 40, 0x30};
		struct pl a[2] = {{IKEV2_P_DELETE, 0, del, 0}, {IKEV2_P_AUTH, 0, cut, 6}};

		a[0].len = delete_body(del, IKEV2_PROTO_ESP, 1, &spi, 1);
		len = rekey_msg(msg, &rsa_pkcs1, 8, a, 2, F_NO_AUTH);
		assert_int_equal(gikev2_rekey_input(&m, msg, len, &r, &why), -EBADMSG);
		assert_int_equal(r, GIKEV2_DROP_SIG_ALG);
	}
}

static void
test_rekey_from_elsewhere_is_refused(void **state)
{
	static uint8_t msg[IKEV2_MSG_MAX];
	const uint32_t spi = 1;
	uint8_t del[8];
	struct pl d = {IKEV2_P_DELETE, 0, del, 0};
	size_t len;

	(void)state;
	member_for(&ecdsa);
	d.len = delete_body(del, IKEV2_PROTO_ESP, 1, &spi, 1);
	len = rekey_msg(msg, &ecdsa, 5, &d, 1, 0);
	/* another rekey SA's SPIs */
	msg[3] ^= 1;
	assert_int_equal(feed(msg, len, -EBADMSG), GIKEV2_DROP_NOT_OURS);
	msg[3] ^= 1;
	/* a response, not a request */
	msg[19] = IKEV2_FLAG_RESPONSE;
	assert_int_equal(feed(msg, len, -EBADMSG), GIKEV2_DROP_BAD_EXCHANGE);
	msg[19] = 0;
	/* one octet short of its header's length */
	assert_int_equal(feed(msg, len - 1, -EBADMSG), GIKEV2_DROP_MALFORMED_HEADER);
	/* no rekey SA held */
	m.rk.held = 0;
	assert_int_equal(feed(msg, len, -EBADMSG), GIKEV2_DROP_NO_REKEY_SA);
	m.rk.held = 1;
	assert_int_equal(feed(msg, len, 0), GIKEV2_DROP_MAX);
	/* an ECDSA key under an RSA AlgorithmIdentifier: never verifies */
	memcpy(m.sig_alg, rsa_pkcs1.alg, rsa_pkcs1.alg_len);
	m.sig_alg_len = (uint16_t)rsa_pkcs1.alg_len;
	len = rekey_msg(msg, &rsa_pkcs1, 6, &d, 1, 0);
	assert_int_equal(feed(msg, len, -EBADMSG), GIKEV2_DROP_BAD_SIGNATURE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_attribute_reader_bounds),
	    cmocka_unit_test(test_malformed_gsa_is_refused_by_reason),
	    cmocka_unit_test(test_gsa_of_a_registration_is_read_whole),
	    cmocka_unit_test(test_malformed_kd_is_refused_by_reason),
	    cmocka_unit_test(test_kd_of_a_registration_is_read_whole),
	    cmocka_unit_test(test_signature_algorithm_identifiers),
	    cmocka_unit_test(test_unwrap_matches_rfc5649_vectors),
	    cmocka_unit_test(test_rekey_with_malformed_payloads_is_refused),
	    cmocka_unit_test(test_rekey_from_elsewhere_is_refused),
	    cmocka_unit_test(test_rekey_signed_with_rsa_pkcs1),
	    cmocka_unit_test(test_rekey_signed_with_ecdsa_p256),
	    cmocka_unit_test(test_rekey_signed_with_rsassa_pss),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
