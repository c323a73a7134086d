/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ISAKMP codec and GDOI payloads: round trips, and every malformed input a
 * distinct, named failure.
 */
#include <errno.h>
#include <stdio.h>

#include "test_util.h"
#include "gvpn_gdoi.h"
#include "gvpn_ike.h"
#include "gvpn_isakmp.h"

static size_t
mk(uint8_t *b, const char *hex)
{
	return unhex(hex, b, 4096);
}

static void
test_header_checks(void **state)
{
	static const struct {
		const char *what;
		const char *hex;
		enum isakmp_err err;
	} cases[] = {
	    {"short", "0102030405060708", ISAKMP_ERR_SHORT_HEADER},
	    {"version 2.0", "0102030405060708000000000000000001200200000000000000001c",
	     ISAKMP_ERR_BAD_VERSION},
	    {"length 29 for 28 bytes", "0102030405060708000000000000000001100200000000000000001d",
	     ISAKMP_ERR_BAD_LENGTH},
	    {"length beyond the maximum",
	     "01020304050607080000000000000000011002000000000000ffffff", ISAKMP_ERR_TOO_LONG},
	    {"valid", "0102030405060708000000000000000001100200000000000000001c", ISAKMP_OK},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		uint8_t b[64];
		struct isakmp_hdr h;
		size_t n = mk(b, cases[i].hex);
		enum isakmp_err err = ISAKMP_OK;
		int rc = isakmp_parse_header(b, n, &h, &err);

		if (rc != (cases[i].err == ISAKMP_OK ? 0 : -EBADMSG) || err != cases[i].err)
			fail_msg("%s: expected '%s'", cases[i].what, isakmp_err_name(cases[i].err));
	}
}

static void
test_payload_walker_rejects_each_malformation(void **state)
{
	static const struct {
		const char *what;
		uint8_t first;
		const char *hex;
		int padded;
		enum isakmp_err err;
	} cases[] = {
	    {"header does not fit", ISAKMP_P_NONCE, "0000", 0, ISAKMP_ERR_SHORT_PAYLOAD},
	    {"unknown first payload", 200, "00000004", 0, ISAKMP_ERR_UNKNOWN_PAYLOAD},
	    {"unknown next payload", ISAKMP_P_NONCE, "c8000008aabbccdd", 0,
	     ISAKMP_ERR_UNKNOWN_PAYLOAD},
	    {"reserved not zero", ISAKMP_P_NONCE, "00010008aabbccdd", 0, ISAKMP_ERR_RESERVED},
	    {"below the type's minimum", ISAKMP_P_NOTIFY, "00000008aabbccdd", 0,
	     ISAKMP_ERR_PAYLOAD_TOO_SHORT},
	    {"length beyond the bytes", ISAKMP_P_NONCE, "00000010aabbccdd", 0,
	     ISAKMP_ERR_PAYLOAD_OVERRUN},
	    {"trailing bytes", ISAKMP_P_NONCE, "00000008aabbccdd11", 0, ISAKMP_ERR_TRAILING},
	    {"padding allowed when encrypted", ISAKMP_P_NONCE, "00000008aabbccdd000000", 1,
	     ISAKMP_OK},
	    {"chain of two", ISAKMP_P_NONCE, "0d000008aabbccdd00000006eeff", 0, ISAKMP_OK},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		static struct isakmp_msg m;
		uint8_t b[64];
		size_t n = mk(b, cases[i].hex);
		enum isakmp_err err = ISAKMP_OK;
		int rc =
		    isakmp_parse_payloads(cases[i].first, b, n, cases[i].padded, NULL, &m, &err);

		if (rc != (cases[i].err == ISAKMP_OK ? 0 : -EBADMSG) || err != cases[i].err)
			fail_msg("%s: got '%s', expected '%s'", cases[i].what, isakmp_err_name(err),
				 isakmp_err_name(cases[i].err));
	}
	/* more payloads than the walker keeps */
	uint8_t many[4 * (ISAKMP_MAX_PAYLOADS + 1)];
	static struct isakmp_msg m;
	enum isakmp_err err;
	for (unsigned int i = 0; i <= ISAKMP_MAX_PAYLOADS; i++) {
		many[4 * i] = i < ISAKMP_MAX_PAYLOADS ? ISAKMP_P_VID : 0;
		many[4 * i + 1] = 0;
		many[4 * i + 2] = 0;
		many[4 * i + 3] = 4;
	}
	assert_int_equal(isakmp_parse_payloads(ISAKMP_P_VID, many, sizeof(many), 0, NULL, &m, &err),
			 -EBADMSG);
	assert_int_equal(err, ISAKMP_ERR_TOO_MANY);
}

/* A script for the round trip: KE, NONCE, VID*. */
#define KNE_SCRIPT(X)                                                                              \
	X(KNE_KE, KE, 1, 1)                                                                        \
	X(KNE_NONCE, NONCE, 1, 1)                                                                  \
	X(KNE_VID, VID, 0, 4)
enum { KNE_SCRIPT(ISAKMP_SCRIPT_INDEX) };
ISAKMP_SCRIPT(kne_script, "test KE, NONCE, VID*", KNE_SCRIPT);

/* Every step of the walker and of the script check, each its own reason;
 * payload bodies are 4 octets (the NONCE "aabbccdd"). */
static void
test_walker_and_script_refuse_each_fault_with_its_reason(void **state)
{
	static const struct {
		const char *what;
		uint8_t first;
		const char *hex;
		enum isakmp_err err;
	} cases[] = {
	    {"header does not fit", ISAKMP_P_KE, "0a00", ISAKMP_ERR_SHORT_PAYLOAD},
	    {"next payload unknown", ISAKMP_P_KE, "c8000008aabbccdd", ISAKMP_ERR_UNKNOWN_PAYLOAD},
	    {"reserved not zero", ISAKMP_P_KE, "0a800008aabbccdd", ISAKMP_ERR_RESERVED},
	    {"length below the type's minimum", ISAKMP_P_KE, "0a000004",
	     ISAKMP_ERR_PAYLOAD_TOO_SHORT},
	    {"length beyond the bytes", ISAKMP_P_KE, "0a000009aabbccdd",
	     ISAKMP_ERR_PAYLOAD_OVERRUN},
	    {"payload not in the step", ISAKMP_P_KE, "08000008aabbccdd00000008aabbccdd",
	     ISAKMP_ERR_UNEXPECTED_PAYLOAD},
	    {"out of order: NONCE before KE", ISAKMP_P_NONCE, "04000008aabbccdd00000008aabbccdd",
	     ISAKMP_ERR_OUT_OF_ORDER},
	    {"duplicate KE", ISAKMP_P_KE, "04000008aabbccdd0a000008aabbccdd00000008aabbccdd",
	     ISAKMP_ERR_DUPLICATE},
	    {"KE after VID", ISAKMP_P_KE,
	     "0a000008aabbccdd0d000008aabbccdd04000008aabbccdd00000008aabbccdd",
	     ISAKMP_ERR_DUPLICATE},
	    {"VID beyond its maximum", ISAKMP_P_KE,
	     "0a000008aabbccdd0d000008aabbccdd0d0000040d0000040d0000040d00000400000004",
	     ISAKMP_ERR_DUPLICATE},
	    {"NONCE missing", ISAKMP_P_KE, "0d000008aabbccdd00000004", ISAKMP_ERR_MISSING},
	    {"trailing bytes", ISAKMP_P_KE, "0a000008aabbccdd00000008aabbccdd00",
	     ISAKMP_ERR_TRAILING},
	    {"KE, NONCE", ISAKMP_P_KE, "0a000008aabbccdd00000008aabbccdd", ISAKMP_OK},
	    {"KE, NONCE, two VIDs", ISAKMP_P_KE, "0a000008aabbccdd0d000008aabbccdd0d00000400000004",
	     ISAKMP_OK},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		static struct isakmp_msg m;
		uint8_t b[128];
		size_t n = mk(b, cases[i].hex);
		enum isakmp_err err = ISAKMP_OK;
		int rc = isakmp_parse_payloads(cases[i].first, b, n, 0, &kne_script, &m, &err);

		if (rc != (cases[i].err == ISAKMP_OK ? 0 : -EBADMSG) || err != cases[i].err)
			fail_msg("%s: got '%s', expected '%s'", cases[i].what, isakmp_err_name(err),
				 isakmp_err_name(cases[i].err));
	}
	/* every reason has its own description */
	for (int e = 1; e < ISAKMP_ERR_MAX; e++)
		for (int f = e + 1; f < ISAKMP_ERR_MAX; f++)
			assert_string_not_equal(isakmp_err_name((enum isakmp_err)e),
						isakmp_err_name((enum isakmp_err)f));
}

/* The attribute reader: fields by table, the last of a repeated one counts,
 * unknown ones skipped or refused, bytes that do not fit refused. */
struct attr_dst {
	uint8_t a8;
	uint16_t a16;
	uint32_t a32;
	uint8_t bytes[4];
	uint8_t bytes_len;
};

static void
test_attribute_table_reads_fields_and_refuses_what_it_must(void **state)
{
	static const struct isakmp_attr_field f[] = {
	    ISAKMP_ATTR_FIELD_INT(1, struct attr_dst, a8),
	    ISAKMP_ATTR_FIELD_INT(2, struct attr_dst, a16),
	    ISAKMP_ATTR_FIELD_INT(3, struct attr_dst, a32),
	    ISAKMP_ATTR_FIELD_BYTES(4, struct attr_dst, bytes, bytes_len),
	    ISAKMP_ATTR_FIELD_SKIP(5),
	};
	static const struct {
		const char *what;
		const char *hex;
		int strict, rc;
	} cases[] = {
	    {"truncated TV", "8001", 0, -EBADMSG},
	    {"TLV beyond the bytes", "00030008000000", 0, -EBADMSG},
	    {"bytes given as TV", "80040001", 0, -EBADMSG},
	    {"bytes longer than the field", "000400050102030405", 0, -EMSGSIZE},
	    {"unknown attribute, strict", "80090001", 1, -ENOTSUP},
	    {"unknown attribute skipped", "80090001", 0, 0},
	};
	struct attr_dst d;
	uint8_t b[64];
	uint32_t seen = 0;
	size_t n;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		n = mk(b, cases[i].hex);
		memset(&d, 0, sizeof(d));
		if (isakmp_attrs_read(b, n, f, ARRAY_LEN(f), cases[i].strict, &d, NULL) !=
		    cases[i].rc)
			fail_msg("%s", cases[i].what);
	}
	n = mk(b, "80010007"
		  "80010009"
		  "80020102"
		  "0003000400010203"
		  "00040003aabbcc"
		  "80050001");
	memset(&d, 0, sizeof(d));
	assert_int_equal(isakmp_attrs_read(b, n, f, ARRAY_LEN(f), 1, &d, &seen), 0);
	assert_int_equal(d.a8, 9);
	assert_int_equal(d.a16, 0x102);
	assert_int_equal(d.a32, 0x10203);
	assert_int_equal(d.bytes_len, 3);
	assert_memory_equal(d.bytes, "\xaa\xbb\xcc", 3);
	assert_int_equal(seen, 0x1f);
}

static void
test_build_then_parse_round_trip(void **state)
{
	static struct isakmp_buf b;
	struct isakmp_hdr h = {.exchange = ISAKMP_EXCH_MAIN, .msgid = 0x01020304}, got;
	const uint8_t ke[96] = {1, 2, 3}, nonce[16] = {9};
	static struct isakmp_msg m;
	size_t off;

	(void)state;
	memset(h.icookie, 0x11, 8);
	isakmp_buf_init(&b, &h);
	off = isakmp_buf_begin(&b, ISAKMP_P_KE);
	isakmp_buf_put(&b, ke, sizeof(ke));
	isakmp_buf_end(&b, off);
	off = isakmp_buf_begin(&b, ISAKMP_P_NONCE);
	isakmp_buf_put(&b, nonce, sizeof(nonce));
	isakmp_buf_end(&b, off);
	off = isakmp_buf_begin(&b, ISAKMP_P_VID);
	isakmp_buf_attr(&b, 1, 7);
	isakmp_buf_attr_var(&b, 12, "\x00\x00\x0e\x10", 4);
	isakmp_buf_end(&b, off);
	assert_int_equal(isakmp_buf_finish(&b), 0);

	assert_int_equal(isakmp_parse_header(b.data, b.len, &got, NULL), 0);
	assert_int_equal(got.msgid, 0x01020304);
	assert_int_equal(got.exchange, ISAKMP_EXCH_MAIN);
	assert_int_equal(got.next, ISAKMP_P_KE);
	assert_int_equal(isakmp_parse_payloads(got.next, b.data + ISAKMP_HDR_LEN,
					       b.len - ISAKMP_HDR_LEN, 0, &kne_script, &m, NULL),
			 0);
	assert_int_equal(m.n, 3);
	assert_memory_equal(isakmp_line(&m, KNE_KE)->body, ke, sizeof(ke));
	assert_memory_equal(isakmp_line(&m, KNE_NONCE)->body, nonce, sizeof(nonce));

	const struct isakmp_payload *v = isakmp_line(&m, KNE_VID);
	const uint8_t *p = v->body;
	size_t left = v->body_len;
	struct isakmp_attr a;
	assert_int_equal(isakmp_attr_next(&p, &left, &a), 1);
	assert_true(a.basic && a.type == 1 && a.value == 7);
	assert_int_equal(isakmp_attr_next(&p, &left, &a), 1);
	assert_true(!a.basic && a.type == 12 && a.value == 3600);
	assert_int_equal(isakmp_attr_next(&p, &left, &a), 0);
	/* a TLV longer than what is left */
	const uint8_t bad[] = {0x00, 0x0c, 0x00, 0x08, 1, 2};
	p = bad;
	left = sizeof(bad);
	assert_int_equal(isakmp_attr_next(&p, &left, &a), -EBADMSG);
	/* an overflowing buffer is refused, not truncated */
	off = isakmp_buf_begin(&b, ISAKMP_P_VID);
	for (size_t i = 0; i <= ISAKMP_MSG_MAX / sizeof(ke); i++)
		isakmp_buf_put(&b, ke, sizeof(ke));
	assert_int_equal(isakmp_buf_finish(&b), -ENOSPC);
}

/* A GDOI SA payload body: DOI 2, situation 0, SA attr next = SAT, then one
 * mirrored pair of SAT payloads for SPI 0x1001, AES-CBC-128 + HMAC-SHA1. */
#define SAT_A                                                                                      \
	"10000037"                                                                                 \
	"01"                                                                                       \
	"00"                                                                                       \
	"04"                                                                                       \
	"0000"                                                                                     \
	"08"                                                                                       \
	"c0000200ffffff00"                                                                         \
	"04"                                                                                       \
	"0000"                                                                                     \
	"08"                                                                                       \
	"c6336400ffffff00"                                                                         \
	"0c"                                                                                       \
	"00001001"                                                                                 \
	"80040001"                                                                                 \
	"80050002"                                                                                 \
	"80060080"                                                                                 \
	"80010001"                                                                                 \
	"80020258"
#define SAT_B                                                                                      \
	"00000037"                                                                                 \
	"01"                                                                                       \
	"00"                                                                                       \
	"04"                                                                                       \
	"0000"                                                                                     \
	"08"                                                                                       \
	"c6336400ffffff00"                                                                         \
	"04"                                                                                       \
	"0000"                                                                                     \
	"08"                                                                                       \
	"c0000200ffffff00"                                                                         \
	"0c"                                                                                       \
	"00001001"                                                                                 \
	"80040001"                                                                                 \
	"80050002"                                                                                 \
	"80060080"                                                                                 \
	"80010001"                                                                                 \
	"80020258"
#define SA_BODY                                                                                    \
	"00000002"                                                                                 \
	"00000000"                                                                                 \
	"0010"                                                                                     \
	"0000" SAT_A SAT_B
#define KD_BODY                                                                                    \
	"0001"                                                                                     \
	"0000"                                                                                     \
	"01"                                                                                       \
	"00"                                                                                       \
	"0035"                                                                                     \
	"04"                                                                                       \
	"00001001"                                                                                 \
	"0001"                                                                                     \
	"0010"                                                                                     \
	"000102030405060708090a0b0c0d0e0f"                                                         \
	"0002"                                                                                     \
	"0014"                                                                                     \
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"

static void
test_gdoi_policy_parses_and_checks(void **state)
{
	static struct gdoi_policy pol;
	uint8_t sa[512], kd[512];
	size_t sn = mk(sa, SA_BODY), kn = mk(kd, KD_BODY);
	const char *why = NULL;

	(void)state;
	memset(&pol, 0, sizeof(pol));
	assert_int_equal(gdoi_parse_sa(sa, sn, &pol, &why), 0);
	assert_int_equal(pol.n_teks, 2);
	assert_int_equal(pol.tek[0].spi, 0x1001);
	assert_int_equal(pol.tek[0].sel.src.addr, 0xc0000200);
	assert_int_equal(pol.tek[0].sel.src.len, 24);
	assert_int_equal(pol.tek[0].lifetime, 600);
	assert_int_equal(gdoi_parse_kd(kd, kn, &pol, &why), 0);
	assert_int_equal(gdoi_policy_check(&pol, &why), 0);
	assert_int_equal(pol.tek[0].xform.cipher, GVPN_CIPHER_AES_CBC);
	assert_int_equal(pol.tek[0].xform.auth, GVPN_AUTH_HMAC_SHA1_96);
	assert_int_equal(pol.tek[1].xform.cipher_key_len, 16);
	gdoi_policy_clear(&pol);
	assert_int_equal(pol.tek[0].xform.cipher_key[0], 0);
}

/* A KD payload holding one SID key packet (RFC 6407 5.6.3): KD type 4,
 * SPI size 0, NUMBER_OF_SID_BITS (basic) and SID_VALUEs (variable). */
static size_t
sid_kd(uint8_t *b, const char *attrs_hex)
{
	uint8_t attrs[64];
	size_t n = unhex(attrs_hex, attrs, sizeof(attrs));

	b[0] = 0, b[1] = 1, b[2] = 0, b[3] = 0;			 /* one key packet */
	b[4] = 4, b[5] = 0;					 /* KD type SID */
	b[6] = (uint8_t)((5 + n) >> 8), b[7] = (uint8_t)(5 + n); /* KD length */
	b[8] = 0;						 /* SPI size 0 */
	memcpy(b + 9, attrs, n);
	return 9 + n;
}

static void
test_sid_key_packets_read_as_sent(void **state)
{
	static const struct {
		const char *attrs;
		enum gdoi_habits habits;
		int rc;
		uint32_t sid;
		uint16_t bits, n;
	} rows[] = {
	    /* 16 bits, SID 0x0102 in 4 octets, big endian */
	    {"80010010"
	     "00020004"
	     "00000102",
	     GDOI_HABITS_STRICT, 0, 0x0102, 16, 1},
	    /* 2 octets; a second value is counted, not used */
	    {"80010008"
	     "00020002"
	     "0007"
	     "00020002"
	     "0008",
	     GDOI_HABITS_STRICT, 0, 7, 8, 2},
	    /* the reference key server's host-order 4 octets */
	    {"80010010"
	     "00020004"
	     "05000000",
	     GDOI_HABITS_REFERENCE, 0, 5, 16, 1},
	    /* ... which a strict member cannot read into 16 bits */
	    {"80010010"
	     "00020004"
	     "05000000",
	     GDOI_HABITS_STRICT, -EINVAL, 0, 16, 1},
	    /* no NUMBER_OF_SID_BITS, or too many */
	    {"00020004"
	     "00000001",
	     GDOI_HABITS_STRICT, -EINVAL, 0, 0, 1},
	    {"80010021"
	     "00020004"
	     "00000001",
	     GDOI_HABITS_STRICT, -EINVAL, 0, 33, 1},
	    /* a value of 5 octets */
	    {"80010010"
	     "00020005"
	     "0000000001",
	     GDOI_HABITS_STRICT, -EINVAL, 0, 16, 1},
	    /* bits but no value: none */
	    {"80010010", GDOI_HABITS_STRICT, -ENOENT, 0, 16, 0},
	};
	static struct gdoi_policy pol;
	uint8_t kd[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		const char *why = NULL;
		size_t n = sid_kd(kd, rows[i].attrs);

		memset(&pol, 0, sizeof(pol));
		assert_int_equal(gdoi_parse_kd(kd, n, &pol, &why), 0);
		assert_true(pol.has_sid_packet);
		assert_int_equal(pol.sid_bits, rows[i].bits);
		assert_int_equal(pol.n_sids, rows[i].n);
		assert_int_equal(gdoi_policy_sid(&pol, rows[i].habits, &why), rows[i].rc);
		assert_int_equal(pol.has_sid, rows[i].rc == 0);
		if (rows[i].rc == 0)
			assert_int_equal(pol.sid, rows[i].sid);
		else
			assert_non_null(why);
	}
	/* an attribute a SID key packet does not have is malformed */
	const char *why = NULL;
	size_t n = sid_kd(kd, "80010010"
			      "80030001");
	memset(&pol, 0, sizeof(pol));
	assert_int_equal(gdoi_parse_kd(kd, n, &pol, &why), -EINVAL);
	assert_string_equal(why, "SID key packet attribute not understood");
	/* no SID key packet at all: no Sender-ID and nothing to say */
	memset(&pol, 0, sizeof(pol));
	why = NULL;
	assert_int_equal(gdoi_policy_sid(&pol, GDOI_HABITS_STRICT, &why), -ENOENT);
	assert_null(why);
}

static void
test_gdoi_malformed_policies_fail_with_a_reason(void **state)
{
	static const struct {
		const char *what;
		const char *sa, *kd;
		const char *why; /* substring of the reason */
	} cases[] = {
	    {"DOI 1",
	     "00000001"
	     "00000000"
	     "0000"
	     "0000",
	     NULL, "DOI"},
	    {"SA truncated", "000000020000", NULL, "truncated"},
	    {"SAT identification truncated",
	     "00000002"
	     "00000000"
	     "0010"
	     "0000"
	     "00000008"
	     "01"
	     "00"
	     "04"
	     "00",
	     NULL, "truncated"},
	    {"unknown ID type",
	     "00000002"
	     "00000000"
	     "0010"
	     "0000"
	     "0000000e"
	     "01"
	     "00"
	     "09"
	     "0000"
	     "04"
	     "01020304",
	     NULL, "not supported"},
	    {"mask not contiguous",
	     "00000002"
	     "00000000"
	     "0010"
	     "0000"
	     "00000012"
	     "01"
	     "00"
	     "04"
	     "0000"
	     "08"
	     "c0000200ff00ff00",
	     NULL, "contiguous"},
	    {"a non-SA payload inside",
	     "00000002"
	     "00000000"
	     "000a"
	     "0000"
	     "00000008aabbccdd",
	     NULL, "other than"},
	    {"GAP after an SA TEK",
	     "00000002"
	     "00000000"
	     "0010"
	     "0000"
	     "16000008"
	     "01000000"
	     "00000008"
	     "80010001",
	     NULL, "in that order"},
	    {"two GAPs",
	     "00000002"
	     "00000000"
	     "0016"
	     "0000"
	     "16000008"
	     "80010001"
	     "00000008"
	     "80010001",
	     NULL, "in that order"},
	    {"GAP attribute not understood",
	     "00000002"
	     "00000000"
	     "0016"
	     "0000"
	     "00000008"
	     "80090001",
	     NULL, "GAP attribute"},
	    {"same SPI, not mirrored",
	     "00000002"
	     "00000000"
	     "0010"
	     "0000" SAT_A "00000037"
	     "01"
	     "00"
	     "04"
	     "0000"
	     "08"
	     "c0000200ffffff00"
	     "04"
	     "0000"
	     "08"
	     "c6336400ffffff00"
	     "0c"
	     "00001001"
	     "80040001"
	     "80050002"
	     "80060080"
	     "80010001"
	     "80020258",
	     KD_BODY, "R5"},
	    {"no keys for the TEK", SA_BODY,
	     "0000"
	     "0000",
	     "no keys"},
	    {"key packet beyond the payload", SA_BODY,
	     "0001"
	     "0000"
	     "01"
	     "00"
	     "00ff"
	     "04"
	     "00001001",
	     "beyond"},
	    {"keys for an unknown SPI", SA_BODY,
	     "0001"
	     "0000"
	     "01"
	     "00"
	     "000d"
	     "04"
	     "00002002"
	     "0001"
	     "0000",
	     "no SA TEK"},
	    {"AES key of 15 bytes", SA_BODY,
	     "0001"
	     "0000"
	     "01"
	     "00"
	     "0034"
	     "04"
	     "00001001"
	     "0001"
	     "000f"
	     "000102030405060708090a0b0c0d0e"
	     "0002"
	     "0014"
	     "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3",
	     "disagrees"},
	    {"bytes after the last key packet", SA_BODY, KD_BODY "00", "after"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		static struct gdoi_policy pol;
		uint8_t sa[512], kd[512];
		size_t sn = mk(sa, cases[i].sa);
		const char *why = NULL;
		int rc;

		memset(&pol, 0, sizeof(pol));
		rc = gdoi_parse_sa(sa, sn, &pol, &why);
		if (rc == 0 && cases[i].kd != NULL) {
			size_t kn = mk(kd, cases[i].kd);

			rc = gdoi_parse_kd(kd, kn, &pol, &why);
			if (rc == 0)
				rc = gdoi_policy_check(&pol, &why);
		}
		if (rc == 0)
			fail_msg("%s: accepted", cases[i].what);
		if (why == NULL || strstr(why, cases[i].why) == NULL)
			fail_msg("%s: reason '%s' lacks '%s'", cases[i].what, why ? why : "(none)",
				 cases[i].why);
	}
}

/*
 * The ESP transform ID and authentication algorithm attribute of an SA TEK
 * (IANA "IPsec DOI transform identifiers": 23 ESP_NULL_AUTH_AES_GMAC, RFC
 * 4543; "authentication algorithm": 6 HMAC-SHA2-384, 7 HMAC-SHA2-512, RFC
 * 4868) and its key lengths give the xform, or a reason.
 */
static void
test_gdoi_tek_algorithms_map_to_xforms(void **state)
{
	static const struct {
		const char *what;
		uint8_t transform;
		int auth;	    /* attribute value, -1: absent */
		int key_bits;	    /* Key Length attribute, 0: absent */
		uint8_t klen, alen; /* TEK_ALGORITHM_KEY, TEK_INTEGRITY_KEY octets */
		enum gvpn_cipher c;
		enum gvpn_auth a;
		const char *why; /* substring of the reason; NULL: accepted */
	} cases[] = {
	    {"gmac 128 with salt", 23, -1, 128, 20, 0, GVPN_CIPHER_AES_GMAC, GVPN_AUTH_NONE, NULL},
	    {"gmac 256 with salt", 23, -1, 256, 36, 0, GVPN_CIPHER_AES_GMAC, GVPN_AUTH_NONE, NULL},
	    {"gmac, no key length", 23, -1, 0, 36, 0, GVPN_CIPHER_AES_GMAC, GVPN_AUTH_NONE, NULL},
	    {"gmac without salt", 23, -1, 128, 16, 0, 0, 0, "do not fit"},
	    {"gmac 256, key length 128", 23, -1, 128, 36, 0, 0, 0, "disagrees"},
	    {"gmac with hmac-sha256", 23, 5, 128, 20, 32, 0, 0, "do not fit"},
	    {"aes-cbc + sha2-384", 12, 6, 128, 16, 48, GVPN_CIPHER_AES_CBC,
	     GVPN_AUTH_HMAC_SHA384_192, NULL},
	    {"aes-cbc + sha2-512", 12, 7, 256, 32, 64, GVPN_CIPHER_AES_CBC,
	     GVPN_AUTH_HMAC_SHA512_256, NULL},
	    {"3des + sha2-512", 3, 7, 0, 24, 64, GVPN_CIPHER_3DES_CBC, GVPN_AUTH_HMAC_SHA512_256,
	     NULL},
	    {"des + sha2-384", 2, 6, 0, 8, 48, GVPN_CIPHER_DES_CBC, GVPN_AUTH_HMAC_SHA384_192,
	     NULL},
	    {"sha2-384 with a 32-byte key", 12, 6, 128, 16, 32, 0, 0, "do not fit"},
	    {"sha2-512 with a 48-byte key", 12, 7, 128, 16, 48, 0, 0, "do not fit"},
	    {"hmac-ripemd", 12, 8, 128, 16, 20, 0, 0, "authentication algorithm not supported"},
	    {"gcm-8 (transform 18)", 18, -1, 128, 20, 0, 0, 0, "transform not supported"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		static struct gdoi_policy pol;
		char attrs[64] = "", hex[1024], keys[400];
		uint8_t sa[512], kd[512];
		size_t sn, kn;
		const char *why = NULL;
		int rc, n = 0;

		n += snprintf(attrs + n, sizeof(attrs) - n, "80040001");
		if (cases[i].auth >= 0)
			n += snprintf(attrs + n, sizeof(attrs) - n, "8005%04x", cases[i].auth);
		if (cases[i].key_bits != 0)
			n += snprintf(attrs + n, sizeof(attrs) - n, "8006%04x", cases[i].key_bits);
		snprintf(attrs + n, sizeof(attrs) - n, "80010001");
		/* SA: DOI 2, situation 0, next SAT; one SAT 10.0.0.0/8 -> any */
		snprintf(hex, sizeof(hex),
			 "00000002"
			 "00000000"
			 "0010"
			 "0000"
			 "0000%04zx"
			 "0100"
			 "0400000"
			 "80a000000ff000000"
			 "0400000"
			 "80000000000000000"
			 "%02x"
			 "00001001"
			 "%s",
			 (size_t)35 + strlen(attrs) / 2, cases[i].transform, attrs);
		sn = mk(sa, hex);
		n = 0;
		n += snprintf(keys + n, sizeof(keys) - n, "0001%04x", cases[i].klen);
		for (unsigned int k = 0; k < cases[i].klen; k++)
			n += snprintf(keys + n, sizeof(keys) - n, "%02x", k + 1);
		if (cases[i].alen != 0) {
			n += snprintf(keys + n, sizeof(keys) - n, "0002%04x", cases[i].alen);
			for (unsigned int k = 0; k < cases[i].alen; k++)
				n += snprintf(keys + n, sizeof(keys) - n, "%02x", 0xa0 + k);
		}
		snprintf(hex, sizeof(hex),
			 "00010000"
			 "0100%04zx"
			 "04"
			 "00001001%s",
			 (size_t)9 + strlen(keys) / 2, keys);
		kn = mk(kd, hex);
		memset(&pol, 0, sizeof(pol));
		rc = gdoi_parse_sa(sa, sn, &pol, &why);
		if (rc == 0)
			rc = gdoi_parse_kd(kd, kn, &pol, &why);
		if (rc == 0)
			rc = gdoi_policy_check(&pol, &why);
		if (cases[i].why == NULL) {
			if (rc != 0)
				fail_msg("%s: refused: %s", cases[i].what, why ? why : "(none)");
			assert_int_equal(pol.n_teks, 1);
			assert_int_equal(pol.tek[0].xform.cipher, cases[i].c);
			assert_int_equal(pol.tek[0].xform.auth, cases[i].a);
			assert_int_equal(pol.tek[0].xform.cipher_key_len, cases[i].klen);
			assert_int_equal(pol.tek[0].xform.auth_key_len, cases[i].alen);
			assert_int_equal(pol.tek[0].xform.cipher_key[cases[i].klen - 1],
					 cases[i].klen);
			if (cases[i].alen != 0)
				assert_int_equal(pol.tek[0].xform.auth_key[cases[i].alen - 1],
						 0xa0 + cases[i].alen - 1);
		} else if (rc == 0 || why == NULL || strstr(why, cases[i].why) == NULL) {
			fail_msg("%s: rc %d, reason '%s' lacks '%s'", cases[i].what, rc,
				 why ? why : "(none)", cases[i].why);
		}
		gdoi_policy_clear(&pol);
	}
}

/* RFC 2408 4.8: before phase 1 has keys a notification is unprotected, so
 * Main Mode treats one as advice and keeps waiting for its answer. */
static void
test_main_mode_notification_in_the_clear_is_advice(void **state)
{
	static const struct {
		const char *what;
		int same_cookie;
		const char *tail; /* after the cookies: next .. length, payloads */
		enum ike_result res;
		uint16_t notify;
	} cases[] = {
	    {"another SA's cookie", 0, "0b10050000000000000000280000000c000000010100000e",
	     IKE_IGNORED, 0},
	    {"informational without a notification", 1, "001005000000000000001c", IKE_IGNORED, 0},
	    {"NO-PROPOSAL-CHOSEN", 1, "0b10050000000000000000280000000c000000010100000e",
	     IKE_NOTIFIED, 14},
	    {"INVALID-COOKIE", 1, "0b10050000000000000000280000000c0000000101000004", IKE_NOTIFIED,
	     4},
	};
	struct ike_conf conf = {.psk_len = IKE_PSK_MIN,
				.doi = 1,
				.n_props = 1,
				.props = {{IKE_ENC_AES, 128, IKE_HASH_SHA1, 14, 3600}}};
	static struct isakmp_buf out, reply;
	struct ike_sa sa;
	uint8_t msg[64];

	(void)state;
	assert_int_equal(ike_mm_start(&sa, &conf, &out), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n;

		memcpy(msg, sa.icookie, 8);
		if (!cases[i].same_cookie)
			msg[0] ^= 0xff;
		memset(msg + 8, 0, 8);
		n = 16 + mk(msg + 16, cases[i].tail);
		enum ike_result res;
		const char *why = NULL;

		sa.notify = 0;
		if (ike_mm_input(&sa, msg, n, &reply, &res, &why) != 0 || res != cases[i].res)
			fail_msg("%s: outcome", cases[i].what);
		if (sa.notify != cases[i].notify)
			fail_msg("%s: notify %u", cases[i].what, sa.notify);
		if (sa.state != IKE_MM_SENT1)
			fail_msg("%s: the SA left MM_SENT1", cases[i].what);
	}
	assert_string_equal(isakmp_notify_name(14), "NO_PROPOSAL_CHOSEN");
	assert_string_equal(isakmp_notify_name(24), "AUTHENTICATION_FAILED");
	assert_null(isakmp_notify_name(0));
	assert_null(isakmp_notify_name(31));
	assert_null(isakmp_notify_name(36136));
	ike_sa_clear(&sa);
}

/* Main Mode message 2 is checked against its script (SA, N*, VID*) before
 * the SA is read: a second SA, a VID before the SA or a KE are refused and
 * the SA fails with that reason. */
static void
test_main_mode_2_with_duplicate_or_unexpected_payload_is_refused(void **state)
{
#define SA12                                                                                       \
	"00000001"                                                                                 \
	"00000001"
	static const struct {
		const char *what;
		const char *tail; /* after the cookies: next, version .. length, payloads */
		enum isakmp_err err;
	} cases[] = {
	    {"two SA payloads",
	     "01100200"
	     "00000000"
	     "00000034"
	     "0100000c" SA12 "0000000c" SA12,
	     ISAKMP_ERR_DUPLICATE},
	    {"VID before the SA",
	     "0d100200"
	     "00000000"
	     "00000030"
	     "01000008"
	     "aabbccdd"
	     "0000000c" SA12,
	     ISAKMP_ERR_OUT_OF_ORDER},
	    {"KE after the SA",
	     "01100200"
	     "00000000"
	     "00000030"
	     "0400000c" SA12 "00000008"
	     "aabbccdd",
	     ISAKMP_ERR_UNEXPECTED_PAYLOAD},
	    {"no SA",
	     "0d100200"
	     "00000000"
	     "00000024"
	     "00000008"
	     "aabbccdd",
	     ISAKMP_ERR_MISSING},
	};
#undef SA12
	struct ike_conf conf = {.psk_len = IKE_PSK_MIN,
				.doi = 1,
				.n_props = 1,
				.props = {{IKE_ENC_AES, 128, IKE_HASH_SHA1, 14, 3600}}};
	static struct isakmp_buf out, reply;
	struct ike_sa sa;
	uint8_t msg[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		enum ike_result res;
		const char *why = NULL;
		size_t n;
		int rc;

		assert_int_equal(ike_mm_start(&sa, &conf, &out), 0);
		memcpy(msg, sa.icookie, 8);
		memset(msg + 8, 0x5a, 8);
		n = 16 + mk(msg + 16, cases[i].tail);
		rc = ike_mm_input(&sa, msg, n, &reply, &res, &why);
		if (rc != -EBADMSG || why != isakmp_err_name(cases[i].err))
			fail_msg("%s: rc %d, '%s'", cases[i].what, rc, why ? why : "(none)");
		assert_int_equal(sa.state, IKE_FAILED);
		ike_sa_clear(&sa);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_checks),
	    cmocka_unit_test(test_payload_walker_rejects_each_malformation),
	    cmocka_unit_test(test_gdoi_malformed_policies_fail_with_a_reason),
	    cmocka_unit_test(test_sid_key_packets_read_as_sent),
	    cmocka_unit_test(test_gdoi_tek_algorithms_map_to_xforms),
	    cmocka_unit_test(test_walker_and_script_refuse_each_fault_with_its_reason),
	    cmocka_unit_test(test_attribute_table_reads_fields_and_refuses_what_it_must),
	    cmocka_unit_test(test_build_then_parse_round_trip),
	    cmocka_unit_test(test_gdoi_policy_parses_and_checks),
	    cmocka_unit_test(test_main_mode_notification_in_the_clear_is_advice),
	    cmocka_unit_test(test_main_mode_2_with_duplicate_or_unexpected_payload_is_refused),
	};

	return cmocka_run_group_tests_name("isakmp", tests, NULL, NULL);
}
