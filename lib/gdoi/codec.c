/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GDOI payloads (RFC 6407 section 5): the SA payload and the SA KEK, GAP
 * and SA TEK payloads it holds, KD, SEQ and Delete, read by field tables;
 * the check of a whole policy. No exchange state here: pull.c and push.c
 * run the exchanges on top. Every read is checked against the bytes
 * remaining; every failure names its reason.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "gvpn_common.h"
#include "gdoi_private.h"

/* ID types (RFC 2407 4.6.2.1) */
enum {
	ID_IPV4_ADDR = 1,
	ID_IPV4_ADDR_SUBNET = 4,
	ID_IPV6_ADDR = 5,
	ID_IPV6_ADDR_SUBNET = 6,
	ID_IPV4_ADDR_RANGE = 7,
	ID_IPV6_ADDR_RANGE = 8,
};
/* IPsec SA attributes (RFC 2407 4.5, RFC 6407 5.5.1.1) */
enum {
	SA_LIFE_TYPE = 1,
	SA_LIFE_DURATION = 2,
	SA_ENCAP = 4,
	SA_AUTH = 5,
	SA_KEY_LENGTH = 6,
	SA_ADDR_PRESERVATION = 14,
	SA_DIRECTION = 15,
};
/* KEK attributes (RFC 6407 5.3, RFC 8263) */
enum {
	KEK_ALGORITHM = 2,
	KEK_KEY_LENGTH = 3,
	KEK_KEY_LIFETIME = 4,
	SIG_HASH_ALGORITHM = 5,
	SIG_ALGORITHM = 6,
	SIG_KEY_LENGTH = 7,
	KEK_ACK_REQUESTED = 9,
	KEK_ACK_REQUESTED_OLD = 129, /* the private-use number older key servers send */
};
/* KD types and key packet attributes (RFC 6407 5.6) */
enum { KD_TEK = 1, KD_KEK = 2, KD_SID = 4 };
enum { TEK_ALGORITHM_KEY = 1, TEK_INTEGRITY_KEY = 2 };
enum { KEK_ALGORITHM_KEY = 1, SIG_ALGORITHM_KEY = 2 };
enum { SID_NUMBER_OF_BITS = 1, SID_VALUE = 2 };

/*
 * What an ESP SA TEK means when an attribute is absent. RFC 2407 4.5 leaves
 * the encapsulation mode to the host; RFC 6407 5.5.1.1 adds address
 * preservation and direction. gvpn's group SAs are tunnel mode with both
 * addresses preserved, used both ways (doc/gdoi.md, "Wire choices").
 */
#define TEK_DEFAULT_ENCAP 1		/* Encapsulation Mode: Tunnel */
#define TEK_DEFAULT_ADDR_PRESERVATION 4 /* source and destination */
#define TEK_DEFAULT_DIRECTION 3		/* symmetric: sender and receiver */

/* A bounded reader: every take checks the bytes remaining. */
struct rd {
	const uint8_t *p;
	size_t left;
	int bad;
};

static const uint8_t *
take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || n > r->left) {
		r->bad = 1;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static uint32_t
take_be(struct rd *r, size_t n)
{
	const uint8_t *p = take(r, n);
	uint32_t v = 0;

	for (size_t i = 0; p != NULL && i < n; i++)
		v = v << 8 | p[i];
	return v;
}

#define FAIL(msg)                                                                                  \
	do {                                                                                       \
		*why = msg;                                                                        \
		return -EINVAL;                                                                    \
	} while (0)

/*
 * The prefix length of a mask of @p n octets (4 or 16, network order), or
 * -1 when it is not contiguous ones then zeros.
 */
static int
mask_len(const uint8_t *m, unsigned int n)
{
	unsigned int len = 0, i = 0;

	for (; i < n && m[i] == 0xff; i++)
		len += 8;
	if (i < n) {
		uint8_t b = m[i++];

		if ((uint8_t)(b << __builtin_popcount(b)) != 0) /* ones, then zeros */
			return -1;
		len += (unsigned int)__builtin_popcount(b);
	}
	for (; i < n; i++)
		if (m[i] != 0)
			return -1;
	return (int)len;
}

/*
 * The prefix that covers exactly the range @p lo .. @p hi (@p n octets,
 * network order): the length, or -1 when the range is not one prefix.
 */
static int
range_len(const uint8_t *lo, const uint8_t *hi, unsigned int n)
{
	uint8_t m[16];
	int len;

	/* the bits where first and last agree must be a prefix's mask; after
	 * it the first has zeros and the last ones */
	for (unsigned int i = 0; i < n; i++)
		m[i] = (uint8_t) ~(lo[i] ^ hi[i]);
	if ((len = mask_len(m, n)) < 0)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		if ((lo[i] & ~m[i]) != 0 || (uint8_t)(hi[i] | m[i]) != 0xff)
			return -1;
	return len;
}

/* A prefix from @p n (4 or 16) address octets and a length; host bits cleared. */
static void
set_prefix(struct gvpn_prefix *pfx, const uint8_t *a, unsigned int n, int len)
{
	memset(pfx, 0, sizeof(*pfx));
	pfx->len = (uint8_t)len;
	if (n == 4) {
		pfx->addr = isakmp_get32(a) & gvpn_prefix_mask((uint8_t)len);
		return;
	}
	memcpy(pfx->addr6, a, 16);
	for (int bit = len; bit < 128; bit++)
		pfx->addr6[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
}

/*
 * An SA TEK / SA KEK identification (RFC 6407 figure 8):
 *
 *  ! ID Type       !      Port                     ! ID Data Len   !
 *  ~                        Identification Data                    ~
 *
 * IPv4 or IPv6 (RFC 2407 4.6.2.1): an address, a subnet (address and
 * mask) or a range (first and last address); a range is taken when it is
 * one prefix, as a selector holds one. @p af gets the family.
 */
static int
take_id(struct rd *r, struct gvpn_prefix *pfx, uint8_t *af, uint16_t *lo, uint16_t *hi,
	const char **why)
{
	uint8_t type = (uint8_t)take_be(r, 1);
	uint16_t port = (uint16_t)take_be(r, 2);
	uint8_t len = (uint8_t)take_be(r, 1);
	const uint8_t *d = take(r, len);
	unsigned int n =
	    type == ID_IPV4_ADDR || type == ID_IPV4_ADDR_SUBNET || type == ID_IPV4_ADDR_RANGE ? 4
											      : 16;
	int plen;

	if (r->bad)
		FAIL("identification truncated");
	*lo = port;
	*hi = port != 0 ? port : 65535;
	*af = n == 4 ? GVPN_AF_IPV4 : GVPN_AF_IPV6;
	switch (type) {
	case ID_IPV4_ADDR:
	case ID_IPV6_ADDR:
		if (len != n)
			FAIL(n == 4 ? "ID_IPV4_ADDR length is not 4"
				    : "ID_IPV6_ADDR length is not 16");
		set_prefix(pfx, d, n, (int)n * 8);
		return 0;
	case ID_IPV4_ADDR_SUBNET:
	case ID_IPV6_ADDR_SUBNET:
		if (len != 2 * n)
			FAIL(n == 4 ? "ID_IPV4_ADDR_SUBNET length is not 8"
				    : "ID_IPV6_ADDR_SUBNET length is not 32");
		if ((plen = mask_len(d + n, n)) < 0)
			FAIL("subnet mask not contiguous");
		set_prefix(pfx, d, n, plen);
		return 0;
	case ID_IPV4_ADDR_RANGE:
	case ID_IPV6_ADDR_RANGE:
		if (len != 2 * n)
			FAIL(n == 4 ? "ID_IPV4_ADDR_RANGE length is not 8"
				    : "ID_IPV6_ADDR_RANGE length is not 32");
		if ((plen = range_len(d, d + n, n)) < 0) {
			*why = "address range that is not one prefix (a selector holds a prefix)";
			return -ENOTSUP;
		}
		set_prefix(pfx, d, n, plen);
		return 0;
	default:
		*why = "identification type not supported (an IPv4 or IPv6 address, subnet or "
		       "range only)";
		return -ENOTSUP;
	}
}

/*
 * SA TEK, ESP (RFC 6407 5.5, 5.5.1):
 *
 *  ! Protocol-ID   ! Protocol      ! Src ID Type   ! Src ID Port   ~
 *  ~ Src ID Port   ! Src ID Len    ! Source identification data    ~
 *  ! Dst ID Type   ! Dst ID Port                   ! Dst ID Len    !
 *  ~ Destination identification data                               ~
 *  ! Transform ID  ! SPI                                           ~
 *  ~ SPI           ! RFC 2407 SA Attributes                        ~
 */
static const struct isakmp_attr_field tek_attrs[] = {
    ISAKMP_ATTR_FIELD_SKIP(SA_LIFE_TYPE), /* seconds assumed */
    ISAKMP_ATTR_FIELD_INT(SA_LIFE_DURATION, struct gdoi_tek, lifetime),
    ISAKMP_ATTR_FIELD_INT(SA_ENCAP, struct gdoi_tek, encap),
    ISAKMP_ATTR_FIELD_INT(SA_AUTH, struct gdoi_tek, auth),
    ISAKMP_ATTR_FIELD_INT(SA_KEY_LENGTH, struct gdoi_tek, key_bits),
    ISAKMP_ATTR_FIELD_INT(SA_ADDR_PRESERVATION, struct gdoi_tek, addr_preservation),
    ISAKMP_ATTR_FIELD_INT(SA_DIRECTION, struct gdoi_tek, direction),
};

static int
parse_sat(const struct isakmp_payload *pl, struct gdoi_policy *pol, const char **why)
{
	struct rd r = {pl->body, pl->body_len, 0};
	struct gdoi_tek *t;
	uint8_t src_af;
	int rc;

	if (take_be(&r, 1) != GDOI_PROTO_ESP) {
		pol->n_ignored++; /* AH or another protocol: not ours (R6) */
		return 0;
	}
	if (pol->n_teks == GDOI_MAX_TEKS)
		FAIL("more SA TEK payloads than supported");
	t = &pol->tek[pol->n_teks];
	memset(t, 0, sizeof(*t));
	t->protocol_id = GDOI_PROTO_ESP;
	t->encap = TEK_DEFAULT_ENCAP;
	t->addr_preservation = TEK_DEFAULT_ADDR_PRESERVATION;
	t->direction = TEK_DEFAULT_DIRECTION;
	t->sel.proto = (uint8_t)take_be(&r, 1);
	if ((rc = take_id(&r, &t->sel.src, &src_af, &t->sel.sport_lo, &t->sel.sport_hi, why)) != 0)
		return rc;
	if ((rc = take_id(&r, &t->sel.dst, &t->sel.af, &t->sel.dport_lo, &t->sel.dport_hi, why)) !=
	    0)
		return rc;
	/* address preservation: the outer header is the inner packet's, one family */
	if (src_af != t->sel.af)
		FAIL("SA TEK source and destination are of different address families");
	t->transform = (uint8_t)take_be(&r, 1);
	t->spi = take_be(&r, 4);
	if (r.bad)
		FAIL("SA TEK truncated");
	if (t->transform == 0 && t->spi == 0) {
		/* A deny policy (key-server exception): no SA, content ignored (R6). */
		pol->n_ignored++;
		return 0;
	}
	if (isakmp_attrs_read(r.p, r.left, tek_attrs, GDOI_DIM(tek_attrs), 0, t, NULL) != 0)
		FAIL("SA TEK attributes malformed");
	pol->n_teks++;
	return 0;
}

/*
 * SA KEK (RFC 6407 5.3):
 *
 *  ! Protocol      ! SRC ID Type   ! SRC ID Port                   !
 *  !SRC ID Data Len! SRC Identification Data                       ~
 *  ! DST ID Type   ! DST ID Port                   !DST ID Data Len!
 *  ! DST Identification Data                                       ~
 *  ! SPI (16 octets)                                               ~
 *  ! RESERVED2 (4 octets)                                          !
 *  ~ KEK Attributes                                                ~
 *
 * No attribute has a default: absent ones stay 0 and gdoi_kek_check()
 * refuses what it needs.
 */
static const struct isakmp_attr_field kek_attrs[] = {
    ISAKMP_ATTR_FIELD_INT(KEK_ALGORITHM, struct gdoi_kek, alg),
    ISAKMP_ATTR_FIELD_INT(KEK_KEY_LENGTH, struct gdoi_kek, key_bits),
    ISAKMP_ATTR_FIELD_INT(KEK_KEY_LIFETIME, struct gdoi_kek, lifetime),
    ISAKMP_ATTR_FIELD_INT(SIG_HASH_ALGORITHM, struct gdoi_kek, sig_hash),
    ISAKMP_ATTR_FIELD_INT(SIG_ALGORITHM, struct gdoi_kek, sig_alg),
    ISAKMP_ATTR_FIELD_INT(SIG_KEY_LENGTH, struct gdoi_kek, sig_key_bits),
    ISAKMP_ATTR_FIELD_INT(KEK_ACK_REQUESTED, struct gdoi_kek, ack_requested),
    ISAKMP_ATTR_FIELD_INT(KEK_ACK_REQUESTED_OLD, struct gdoi_kek, ack_requested),
};

static int
parse_sak(const struct isakmp_payload *pl, struct gdoi_policy *pol, const char **why)
{
	struct rd r = {pl->body, pl->body_len, 0};
	struct gvpn_prefix pfx;
	uint16_t lo, hi;
	const uint8_t *spi;
	uint8_t af;
	int rc;

	memset(&pol->kek, 0, sizeof(pol->kek));
	take_be(&r, 1); /* protocol of the push datagrams */
	if ((rc = take_id(&r, &pfx, &af, &lo, &hi, why)) != 0 || /* source: the key server */
	    (rc = take_id(&r, &pfx, &af, &lo, &hi, why)) != 0)	 /* where pushes go */
		return rc;
	spi = take(&r, 16);
	take(&r, 4); /* RESERVED2 */
	if (r.bad)
		FAIL("SA KEK truncated");
	memcpy(pol->kek.spi, spi, 16);
	if (isakmp_attrs_read(r.p, r.left, kek_attrs, GDOI_DIM(kek_attrs), 0, &pol->kek, NULL) !=
	    0) {
		/* The GDOI reference key server writes 6 octets after the SPI
		 * (RFC 3547's POP fields and 2 more): two zero octets, then
		 * the attributes. Taken only when they then read whole. */
		memset(&pol->kek, 0, sizeof(pol->kek));
		memcpy(pol->kek.spi, spi, 16);
		if (r.left < 2 || r.p[0] != 0 || r.p[1] != 0 ||
		    isakmp_attrs_read(r.p + 2, r.left - 2, kek_attrs, GDOI_DIM(kek_attrs), 0,
				      &pol->kek, NULL) != 0)
			FAIL("SA KEK attributes malformed");
	}
	if (af == GVPN_AF_IPV4 && pfx.len == 32) { /* one address; port 0: any */
		pol->kek.dst_addr = pfx.addr;
		pol->kek.dst_port = lo;
	}
	if (af == GVPN_AF_IPV6 && pfx.len == 128) {
		pol->kek.dst_ipv6 = 1;
		memcpy(pol->kek.dst_addr6, pfx.addr6, 16);
		pol->kek.dst_port = lo;
	}
	pol->has_kek = 1;
	return 0;
}

/*
 * GAP (RFC 6407 5.4): attributes only; one not understood aborts (5.4).
 * Absent ATD, DTD or replay window: 0, none.
 */
static const struct isakmp_attr_field gap_attrs[] = {
    ISAKMP_ATTR_FIELD_INT(GAP_ATD, struct gdoi_policy, atd),
    ISAKMP_ATTR_FIELD_INT(GAP_DTD, struct gdoi_policy, dtd),
    ISAKMP_ATTR_FIELD_SKIP(GAP_SENDER_ID_REQUEST), /* a member's request, not a key server's */
    ISAKMP_ATTR_FIELD_INT(GAP_REPLAY_WINDOW, struct gdoi_policy, replay_window),
};

static int
parse_gap(const struct isakmp_payload *pl, struct gdoi_policy *pol, const char **why)
{
	int rc =
	    isakmp_attrs_read(pl->body, pl->body_len, gap_attrs, GDOI_DIM(gap_attrs), 1, pol, NULL);

	if (rc == -ENOTSUP)
		FAIL("GAP attribute not understood");
	if (rc != 0)
		FAIL("GAP attributes malformed");
	pol->has_gap = 1;
	return 0;
}

/* The payloads an SA payload holds (RFC 6407 5.2.1): SA KEK, GAP, SA TEKs. */
#define SA_ATTR_SCRIPT(X)                                                                          \
	X(SA_SAK, SAK, 0, 1)                                                                       \
	X(SA_GAP, GAP, 0, 1)                                                                       \
	X(SA_SAT, SAT, 0, ISAKMP_MAX_PAYLOADS)
ISAKMP_SCRIPT(sa_attr_script, "SA attribute payloads", SA_ATTR_SCRIPT);

/*
 * SA (RFC 6407 5.2):
 *
 *  ! Next Payload  !   RESERVED    !         Payload Length        !
 *  !                              DOI                              !
 *  !                           Situation                           !
 *  ! SA Attribute Next Payload     !           RESERVED2           !
 */
int
gdoi_parse_sa(const uint8_t *body, size_t len, struct gdoi_policy *pol, const char **why)
{
	struct rd r = {body, len, 0};
	struct isakmp_msg m;
	enum isakmp_err err;
	uint32_t doi;
	uint8_t first;
	int rc;

	doi = take_be(&r, 4);
	take_be(&r, 4); /* situation */
	first = (uint8_t)take_be(&r, 2);
	take_be(&r, 2);
	if (r.bad)
		FAIL("SA payload truncated");
	if (doi != GDOI_DOI)
		FAIL("SA payload DOI is not GDOI (2)");
	if (isakmp_parse_payloads(first, r.p, r.left, 0, &sa_attr_script, &m, &err) != 0) {
		*why = err == ISAKMP_ERR_UNEXPECTED_PAYLOAD
			   ? "SA payload holds a payload other than SA KEK, GAP or SA TEK"
		       : err == ISAKMP_ERR_OUT_OF_ORDER || err == ISAKMP_ERR_DUPLICATE
			   ? "SA payload's SA KEK, GAP and SA TEKs not one of each in that order"
			   : isakmp_err_name(err);
		return -EINVAL;
	}
	for (uint16_t i = 0; i < m.n; i++) {
		switch (m.p[i].type) {
		case ISAKMP_P_SAK:
			rc = parse_sak(&m.p[i], pol, why);
			break;
		case ISAKMP_P_GAP:
			rc = parse_gap(&m.p[i], pol, why);
			break;
		default:
			rc = parse_sat(&m.p[i], pol, why);
			break;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * KD (RFC 6407 5.6): a count of key packets, each
 *
 *  ! KD Type       !   RESERVED    !            KD Length          !
 *  ! SPI Size      !                   SPI (variable)              ~
 *  ~                    Key Packet Attributes                      ~
 */
static const struct isakmp_attr_field tek_key_attrs[] = {
    ISAKMP_ATTR_FIELD_BYTES(TEK_ALGORITHM_KEY, struct gvpn_crypto_xform, cipher_key,
			    cipher_key_len),
    ISAKMP_ATTR_FIELD_BYTES(TEK_INTEGRITY_KEY, struct gvpn_crypto_xform, auth_key, auth_key_len),
};
static const struct isakmp_attr_field kek_key_attrs[] = {
    ISAKMP_ATTR_FIELD_BYTES(KEK_ALGORITHM_KEY, struct gdoi_kek, key, key_len),
    ISAKMP_ATTR_FIELD_BYTES(SIG_ALGORITHM_KEY, struct gdoi_kek, sig_key, sig_key_len),
};

/* TEK keys land in every SA TEK of the SPI (a mirrored pair has two). */
static int
kd_tek(const uint8_t *spi, uint8_t spi_size, struct rd *pk, struct gdoi_policy *pol,
       const char **why)
{
	struct gvpn_crypto_xform scratch; /* keys for no SA TEK: read, then wiped */
	uint32_t s;
	int found = 0, rc = 0;

	if (spi_size != 4)
		FAIL("TEK key packet SPI size is not 4");
	s = isakmp_get32(spi);
	for (uint16_t i = 0; i < pol->n_teks && rc == 0; i++) {
		struct gdoi_tek *t = &pol->tek[i];
		uint32_t seen = 0;

		if (t->spi != s)
			continue;
		found = 1;
		rc = isakmp_attrs_read(pk->p, pk->left, tek_key_attrs, GDOI_DIM(tek_key_attrs), 0,
				       &t->xform, &seen);
		if (seen & 1) /* TEK_ALGORITHM_KEY */
			t->has_keys = 1;
	}
	if (!found) {
		rc = isakmp_attrs_read(pk->p, pk->left, tek_key_attrs, GDOI_DIM(tek_key_attrs), 0,
				       &scratch, NULL);
		gvpn_wipe(&scratch, sizeof(scratch));
	}
	if (rc == -EMSGSIZE)
		FAIL("TEK key attribute malformed or too long");
	if (rc != 0)
		FAIL("TEK key packet attributes malformed");
	if (!found && pol->n_ignored == 0)
		FAIL("keys for an SPI with no SA TEK");
	return 0;
}

static int
kd_kek(const uint8_t *spi, uint8_t spi_size, struct rd *pk, struct gdoi_policy *pol,
       const char **why)
{
	uint32_t seen = 0;
	int rc;

	if (!pol->has_kek || spi_size != 16 ||
	    (memcmp(spi, pol->kek.spi, 16) != 0 &&
	     !(pol->has_kek_alias && memcmp(spi, pol->kek_alias, 16) == 0)))
		FAIL("KEK key packet for an unknown KEK");
	rc = isakmp_attrs_read(pk->p, pk->left, kek_key_attrs, GDOI_DIM(kek_key_attrs), 0,
			       &pol->kek, &seen);
	if (seen & 1) /* KEK_ALGORITHM_KEY */
		pol->kek.has_keys = 1;
	if (rc == -EMSGSIZE)
		FAIL("KEK key or signature key too long");
	if (rc != 0)
		FAIL("KEK key packet attributes malformed");
	return 0;
}

/*
 * Sender-IDs (RFC 6407 5.6.3, RFC 6054): NUMBER_OF_SID_BITS (basic) and
 * SID_VALUE (variable), one per SID the key server gives this member. The
 * SPI (size 0 as sent) is not looked at. The first value is kept as sent;
 * gdoi_policy_sid() reads it.
 */
static int
kd_sid(const uint8_t *spi, uint8_t spi_size, struct rd *pk, struct gdoi_policy *pol,
       const char **why)
{
	const uint8_t *p = pk->p;
	size_t left = pk->left;
	struct isakmp_attr a;
	int rc;

	(void)spi;
	(void)spi_size;
	pol->has_sid_packet = 1;
	while ((rc = isakmp_attr_next(&p, &left, &a)) == 1) {
		if (a.type == SID_NUMBER_OF_BITS && a.basic) {
			pol->sid_bits = (uint16_t)a.value;
		} else if (a.type == SID_VALUE && !a.basic) {
			if (pol->n_sids++ != 0)
				continue; /* counted; the first is the one used */
			if (a.len > sizeof(pol->sid_raw)) {
				pol->sid_len = 0xff; /* too long: unusable */
				continue;
			}
			pol->sid_len = (uint8_t)a.len;
			memcpy(pol->sid_raw, a.data, a.len);
		} else {
			FAIL("SID key packet attribute not understood");
		}
	}
	if (rc != 0)
		FAIL("SID key packet attributes malformed");
	return 0;
}

int
gdoi_policy_sid(struct gdoi_policy *pol, enum gdoi_habits habits, const char **why)
{
	uint64_t v = 0;

	pol->has_sid = 0;
	*why = NULL;
	if (pol->n_sids == 0) {
		if (pol->has_sid_packet)
			*why = "the SID key packet holds no SID_VALUE";
		return -ENOENT;
	}
	if (pol->sid_bits == 0 || pol->sid_bits > GVPN_SID_BITS_MAX) {
		*why = "NUMBER_OF_SID_BITS is not 1 to 32";
		return -EINVAL;
	}
	if (pol->sid_len == 0 || pol->sid_len > sizeof(pol->sid_raw)) {
		*why = "SID_VALUE is not 1 to 4 octets";
		return -EINVAL;
	}
	for (unsigned int i = 0; i < pol->sid_len; i++) /* big endian (RFC 6407 5) */
		v = v << 8 | pol->sid_raw[i];
	/* The reference key server writes its 4-octet SID in host order. */
	if (habits == GDOI_HABITS_REFERENCE && pol->sid_len == 4)
		v = (uint32_t)pol->sid_raw[0] | (uint32_t)pol->sid_raw[1] << 8 |
		    (uint32_t)pol->sid_raw[2] << 16 | (uint32_t)pol->sid_raw[3] << 24;
	if (v >> pol->sid_bits != 0) {
		*why = "SID_VALUE does not fit NUMBER_OF_SID_BITS";
		return -EINVAL;
	}
	pol->sid = (uint32_t)v;
	pol->has_sid = 1;
	return 0;
}

int
gdoi_tek_counter_mode(const struct gdoi_tek *t)
{
	return t->protocol_id == GDOI_PROTO_ESP &&
	       (t->transform == ESP_AES_GCM_16 || t->transform == ESP_NULL_AUTH_AES_GMAC);
}

int
gdoi_policy_counter_mode(const struct gdoi_policy *pol)
{
	for (uint16_t i = 0; i < pol->n_teks; i++)
		if (gdoi_tek_counter_mode(&pol->tek[i]))
			return 1;
	return 0;
}

/* The key packet types a member takes: KD type, reader. */
static const struct {
	uint8_t type;
	int (*read)(const uint8_t *spi, uint8_t spi_size, struct rd *pk, struct gdoi_policy *pol,
		    const char **why);
} kd_types[] = {
    {KD_TEK, kd_tek},
    {KD_KEK, kd_kek},
    {KD_SID, kd_sid},
};

int
gdoi_parse_kd(const uint8_t *body, size_t len, struct gdoi_policy *pol, const char **why)
{
	struct rd r = {body, len, 0};
	uint16_t n = (uint16_t)take_be(&r, 2);

	take_be(&r, 2);
	if (r.bad)
		FAIL("KD payload truncated");
	for (uint16_t k = 0; k < n; k++) {
		uint8_t type = (uint8_t)take_be(&r, 1), spi_size;
		uint16_t kd_len;
		unsigned int t = 0;
		const uint8_t *spi;
		struct rd pk;
		int rc;

		take_be(&r, 1);
		kd_len = (uint16_t)take_be(&r, 2);
		if (r.bad || kd_len < 5 || kd_len - 4u > r.left)
			FAIL("key packet length beyond the KD payload");
		pk = (struct rd){r.p, kd_len - 4u, 0};
		take(&r, kd_len - 4u);
		spi_size = (uint8_t)take_be(&pk, 1);
		spi = take(&pk, spi_size);
		if (pk.bad)
			FAIL("key packet SPI truncated");
		while (t < GDOI_DIM(kd_types) && kd_types[t].type != type)
			t++;
		if (t == GDOI_DIM(kd_types)) {
			*why = "key download type not supported (TEK, KEK and SID only)";
			return -ENOTSUP;
		}
		if ((rc = kd_types[t].read(spi, spi_size, &pk, pol, why)) != 0)
			return rc;
	}
	if (r.left != 0)
		FAIL("bytes after the last key packet");
	return 0;
}

/* SEQ (RFC 6407 5.7): a 4-octet sequence number, nothing else. */
int
gdoi_parse_seq(const struct isakmp_payload *pl, uint32_t *seq, const char **why)
{
	if (pl->body_len != 4)
		FAIL("SEQ payload length is not 8");
	*seq = isakmp_get32(pl->body);
	return 0;
}

/*
 * Delete (RFC 2408 3.15, RFC 6407 5.9):
 *
 *  !                  Domain of Interpretation (DOI)               !
 *  !  Protocol-Id  !   SPI Size    !           # of SPIs           !
 *  ~               Security Parameter Index(es) (SPI)              ~
 */
int
gdoi_parse_delete(const struct isakmp_payload *pl, struct gdoi_push *out, const char **why)
{
	static const uint8_t zero[16];
	const uint8_t *b = pl->body;
	uint8_t proto, spi_size;
	uint16_t n;

	if (pl->body_len < 8 || isakmp_get32(b) != GDOI_DOI)
		FAIL("Delete payload truncated or not of the GDOI DOI");
	proto = b[4];
	spi_size = b[5];
	n = isakmp_get16(b + 6);
	if ((proto == GDOI_PROTO_KEK && spi_size != 16) ||
	    (proto == GDOI_PROTO_ESP && spi_size != 4) ||
	    (proto != GDOI_PROTO_KEK && proto != GDOI_PROTO_ESP) ||
	    (size_t)n * spi_size != pl->body_len - 8u)
		FAIL("Delete payload protocol, SPI size or count inconsistent");
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *spi = b + 8 + (size_t)i * spi_size;
		struct gdoi_delete *d;

		if (out->n_deletes == GDOI_MAX_DELETES)
			FAIL("more deleted SPIs than supported");
		d = &out->del[out->n_deletes++];
		d->protocol = proto;
		d->all = memcmp(spi, zero, spi_size) == 0;
		if (proto == GDOI_PROTO_KEK)
			memcpy(d->kek_spi, spi, 16);
		else
			d->spi = isakmp_get32(spi);
	}
	return 0;
}

uint8_t *
gdoi_plain_buf(void)
{
	static uint8_t *buf;

	if (buf == NULL)
		buf = gvpn_keymem_alloc(ISAKMP_MSG_MAX);
	return buf;
}

/* TEK attributes -> our xform; key lengths must match the algorithms. */
static int
tek_xform(struct gdoi_tek *t, const char **why)
{
	struct gvpn_crypto_xform *x = &t->xform;

	if (t->encap != 1) {
		*why = "TEK is not tunnel mode";
		return -ENOTSUP;
	}
	if (t->addr_preservation != 4) {
		*why = "TEK address preservation other than source and destination";
		return -ENOTSUP;
	}
	switch (t->transform) {
	case ESP_DES:
		x->cipher = GVPN_CIPHER_DES_CBC;
		break;
	case ESP_3DES:
		x->cipher = GVPN_CIPHER_3DES_CBC;
		break;
	case ESP_AES_CBC:
		x->cipher = GVPN_CIPHER_AES_CBC;
		if (t->key_bits != 0 && x->cipher_key_len * 8u != t->key_bits)
			FAIL("AES-CBC key length disagrees with the Key Length attribute");
		break;
	case ESP_AES_GCM_16:
	case ESP_NULL_AUTH_AES_GMAC:
		/* Key then 4-octet salt (RFC 4106 8.1, and RFC 4543 for GMAC); GMAC is
		 * integrity only and has no authentication algorithm either. */
		x->cipher =
		    t->transform == ESP_AES_GCM_16 ? GVPN_CIPHER_AES_GCM : GVPN_CIPHER_AES_GMAC;
		if (t->key_bits != 0 &&
		    (x->cipher_key_len - GVPN_GCM_SALT_LEN) * 8u != t->key_bits &&
		    x->cipher_key_len * 8u != t->key_bits)
			FAIL("AES-GCM/GMAC key length disagrees with the Key Length attribute");
		break;
	default:
		*why = "TEK transform not supported";
		return -ENOTSUP;
	}
	switch (t->auth) {
	case 0:
		x->auth = GVPN_AUTH_NONE;
		break;
	case AUTH_HMAC_MD5:
		x->auth = GVPN_AUTH_HMAC_MD5_96;
		break;
	case AUTH_HMAC_SHA1:
		x->auth = GVPN_AUTH_HMAC_SHA1_96;
		break;
	case AUTH_HMAC_SHA256:
		x->auth = GVPN_AUTH_HMAC_SHA256_128;
		break;
	case AUTH_HMAC_SHA384:
		x->auth = GVPN_AUTH_HMAC_SHA384_192;
		break;
	case AUTH_HMAC_SHA512:
		x->auth = GVPN_AUTH_HMAC_SHA512_256;
		break;
	default:
		*why = "TEK authentication algorithm not supported";
		return -ENOTSUP;
	}
	if (x->auth == GVPN_AUTH_NONE)
		x->auth_key_len = 0;
	if (gvpn_xform_check(x) != 0)
		FAIL("TEK keys do not fit its algorithms");
	return 0;
}

static int
same_keys(const struct gdoi_tek *a, const struct gdoi_tek *b)
{
	return a->transform == b->transform && a->auth == b->auth &&
	       memcmp(&a->xform, &b->xform, sizeof(a->xform)) == 0;
}

static int
is_mirror(const struct gvpn_selector *a, const struct gvpn_selector *b)
{
	struct gvpn_selector m = gvpn_selector_mirror(a);

	return gvpn_selector_equal(&m, b);
}

int
gdoi_policy_check(struct gdoi_policy *pol, const char **why)
{
	if (pol->n_teks == 0)
		FAIL("no ESP TEK in the policy");
	return gdoi_policy_check_teks(pol, why);
}

int
gdoi_policy_check_teks(struct gdoi_policy *pol, const char **why)
{
	int rc;

	for (uint16_t i = 0; i < pol->n_teks; i++) {
		struct gdoi_tek *t = &pol->tek[i];

		if (!t->has_keys)
			FAIL("a TEK has no keys in the KD payload");
		if (t->spi < 256)
			FAIL("TEK SPI below 256");
		if ((rc = tek_xform(t, why)) != 0)
			return rc;
	}
	for (uint16_t i = 0; i < pol->n_teks; i++) {
		const struct gdoi_tek *t = &pol->tek[i];
		unsigned int same = 0;

		/* R5: several policies with one SPI only as a mirrored pair */
		for (uint16_t k = 0; k < pol->n_teks; k++) {
			const struct gdoi_tek *o = &pol->tek[k];

			if (k == i || o->spi != t->spi)
				continue;
			if (++same > 1 || !is_mirror(&t->sel, &o->sel) || !same_keys(t, o) ||
			    t->direction != o->direction)
				FAIL(
				    "TEK policies share an SPI without being a mirrored pair (R5)");
		}
	}
	if (pol->has_kek) {
		if (!pol->kek.has_keys)
			FAIL("the KEK has no keys in the KD payload");
		return gdoi_kek_check(&pol->kek, why);
	}
	return 0;
}

void
gdoi_policy_clear(struct gdoi_policy *pol)
{
	gvpn_wipe(pol, sizeof(*pol));
}
