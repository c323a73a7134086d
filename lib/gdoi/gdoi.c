/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GDOI payloads (RFC 6407 section 5) and the member's GROUPKEY-PULL.
 * Every read is checked against the bytes remaining; every failure names
 * its reason.
 */
#include <errno.h>
#include <string.h>

#include <openssl/rand.h>

#include "gvpn_common.h"
#include "gvpn_gdoi.h"

/* ID types (RFC 2407 4.6.2.1) */
enum { ID_IPV4_ADDR = 1, ID_IPV4_ADDR_SUBNET = 4, ID_KEY_ID = 11 };
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
/* GAP attributes (RFC 6407 5.4); the replay window is a private-use number
 * (doc/gdoi.md, "Time-based anti-replay") */
enum { GAP_ATD = 1, GAP_DTD = 2, GAP_SENDER_ID_REQUEST = 3, GAP_REPLAY_WINDOW = 16384 };
/* KD types and key packet attributes (RFC 6407 5.6) */
enum { KD_TEK = 1, KD_KEK = 2 };
enum { TEK_ALGORITHM_KEY = 1, TEK_INTEGRITY_KEY = 2 };
enum { KEK_ALGORITHM_KEY = 1, SIG_ALGORITHM_KEY = 2 };

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

/* An SA TEK / SA KEK identification: type, port, length, data. */
static int
take_id(struct rd *r, struct gvpn_prefix *pfx, uint16_t *lo, uint16_t *hi, const char **why)
{
	uint8_t type = (uint8_t)take_be(r, 1);
	uint16_t port = (uint16_t)take_be(r, 2);
	uint8_t len = (uint8_t)take_be(r, 1);
	const uint8_t *d = take(r, len);
	uint32_t mask;

	if (r->bad)
		FAIL("identification truncated");
	*lo = port;
	*hi = port != 0 ? port : 65535;
	switch (type) {
	case ID_IPV4_ADDR:
		if (len != 4)
			FAIL("ID_IPV4_ADDR length is not 4");
		pfx->addr = isakmp_get32(d);
		pfx->len = 32;
		return 0;
	case ID_IPV4_ADDR_SUBNET:
		if (len != 8)
			FAIL("ID_IPV4_ADDR_SUBNET length is not 8");
		pfx->addr = isakmp_get32(d);
		mask = isakmp_get32(d + 4);
		if ((~mask & (~mask + 1)) != 0) /* ~mask must be 2^k - 1 */
			FAIL("subnet mask not contiguous");
		pfx->len = (uint8_t)__builtin_popcount(mask);
		pfx->addr &= mask;
		return 0;
	default:
		*why = "identification type not supported (IPv4 address or subnet only)";
		return -ENOTSUP;
	}
}

static int
parse_sat(const struct isakmp_payload *pl, struct gdoi_policy *pol, const char **why)
{
	struct rd r = {pl->body, pl->body_len, 0};
	struct gdoi_tek *t;
	struct isakmp_attr a;
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
	t->encap = 1;
	t->addr_preservation = 4;
	t->direction = 3;
	t->sel.proto = (uint8_t)take_be(&r, 1);
	if ((rc = take_id(&r, &t->sel.src, &t->sel.sport_lo, &t->sel.sport_hi, why)) != 0)
		return rc;
	if ((rc = take_id(&r, &t->sel.dst, &t->sel.dport_lo, &t->sel.dport_hi, why)) != 0)
		return rc;
	t->transform = (uint8_t)take_be(&r, 1);
	t->spi = take_be(&r, 4);
	if (r.bad)
		FAIL("SA TEK truncated");
	if (t->transform == 0 && t->spi == 0) {
		/* A deny policy (key-server exception): no SA, content ignored (R6). */
		pol->n_ignored++;
		return 0;
	}
	while ((rc = isakmp_attr_next(&r.p, &r.left, &a)) == 1) {
		switch (a.type) {
		case SA_LIFE_DURATION:
			t->lifetime = a.value;
			break;
		case SA_ENCAP:
			t->encap = (uint8_t)a.value;
			break;
		case SA_AUTH:
			t->auth = (uint8_t)a.value;
			break;
		case SA_KEY_LENGTH:
			t->key_bits = (uint16_t)a.value;
			break;
		case SA_ADDR_PRESERVATION:
			t->addr_preservation = (uint8_t)a.value;
			break;
		case SA_DIRECTION:
			t->direction = (uint8_t)a.value;
			break;
		default:
			break; /* life type seconds assumed; others do not change ESP */
		}
	}
	if (rc < 0)
		FAIL("SA TEK attributes malformed");
	pol->n_teks++;
	return 0;
}

static int
parse_sak(const struct isakmp_payload *pl, struct gdoi_policy *pol, const char **why)
{
	struct rd r = {pl->body, pl->body_len, 0};
	struct gvpn_prefix pfx;
	uint16_t lo, hi;
	struct isakmp_attr a;
	const uint8_t *spi;
	int rc;

	memset(&pol->kek, 0, sizeof(pol->kek));
	take_be(&r, 1); /* protocol of the push datagrams */
	if ((rc = take_id(&r, &pfx, &lo, &hi, why)) != 0 ||
	    (rc = take_id(&r, &pfx, &lo, &hi, why)) != 0)
		return rc;
	spi = take(&r, 16);
	take(&r, 4); /* RESERVED2 */
	if (r.bad)
		FAIL("SA KEK truncated");
	memcpy(pol->kek.spi, spi, 16);
	while ((rc = isakmp_attr_next(&r.p, &r.left, &a)) == 1) {
		switch (a.type) {
		case KEK_ALGORITHM:
			pol->kek.alg = (uint8_t)a.value;
			break;
		case KEK_KEY_LENGTH:
			pol->kek.key_bits = (uint16_t)a.value;
			break;
		case KEK_KEY_LIFETIME:
			pol->kek.lifetime = a.value;
			break;
		case SIG_HASH_ALGORITHM:
			pol->kek.sig_hash = (uint8_t)a.value;
			break;
		case SIG_ALGORITHM:
			pol->kek.sig_alg = (uint8_t)a.value;
			break;
		case SIG_KEY_LENGTH:
			pol->kek.sig_key_bits = (uint16_t)a.value;
			break;
		case KEK_ACK_REQUESTED:
		case KEK_ACK_REQUESTED_OLD:
			pol->kek.ack_requested = (uint8_t)a.value;
			break;
		default:
			break;
		}
	}
	if (rc < 0)
		FAIL("SA KEK attributes malformed");
	pol->has_kek = 1;
	return 0;
}

static int
parse_gap(const struct isakmp_payload *pl, struct gdoi_policy *pol, const char **why)
{
	const uint8_t *p = pl->body;
	size_t left = pl->body_len;
	struct isakmp_attr a;
	int rc;

	while ((rc = isakmp_attr_next(&p, &left, &a)) == 1) {
		switch (a.type) {
		case GAP_ATD:
			pol->atd = (uint16_t)a.value;
			break;
		case GAP_DTD:
			pol->dtd = (uint16_t)a.value;
			break;
		case GAP_SENDER_ID_REQUEST:
			break; /* counter-mode sender IDs: not requested by us */
		case GAP_REPLAY_WINDOW:
			pol->replay_window = (uint16_t)a.value;
			break;
		default:
			/* RFC 6407 5.4: abort on an attribute not understood */
			FAIL("GAP attribute not understood");
		}
	}
	if (rc < 0)
		FAIL("GAP attributes malformed");
	pol->has_gap = 1;
	return 0;
}

int
gdoi_parse_sa(const uint8_t *body, size_t len, struct gdoi_policy *pol, const char **why)
{
	struct rd r = {body, len, 0};
	struct isakmp_msg m;
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
	rc = isakmp_parse_payloads(first, r.p, r.left, 0, &m);
	if (rc != ISAKMP_OK) {
		*why = isakmp_err_name(rc);
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
		case ISAKMP_P_SAT:
			rc = parse_sat(&m.p[i], pol, why);
			break;
		default:
			FAIL("SA payload holds a payload other than SA KEK, GAP or SA TEK");
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
gdoi_parse_kd(const uint8_t *body, size_t len, struct gdoi_policy *pol, const char **why)
{
	struct rd r = {body, len, 0};
	uint16_t n = (uint16_t)take_be(&r, 2);

	take_be(&r, 2);
	if (r.bad)
		FAIL("KD payload truncated");
	for (uint16_t k = 0; k < n; k++) {
		uint8_t type = (uint8_t)take_be(&r, 1);
		uint16_t kd_len;
		struct rd pk;
		uint8_t spi_size;
		const uint8_t *spi;
		struct isakmp_attr a;
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
		if (type == KD_TEK) {
			uint32_t s;
			int found = 0;

			if (spi_size != 4)
				FAIL("TEK key packet SPI size is not 4");
			s = isakmp_get32(spi);
			while ((rc = isakmp_attr_next(&pk.p, &pk.left, &a)) == 1) {
				if (a.basic || a.len > GVPN_KEY_MAX)
					FAIL("TEK key attribute malformed or too long");
				for (uint16_t i = 0; i < pol->n_teks; i++) {
					struct gdoi_tek *t = &pol->tek[i];

					if (t->spi != s)
						continue;
					found = 1;
					if (a.type == TEK_ALGORITHM_KEY) {
						memcpy(t->xform.cipher_key, a.data, a.len);
						t->xform.cipher_key_len = (uint8_t)a.len;
						t->has_keys = 1;
					} else if (a.type == TEK_INTEGRITY_KEY) {
						memcpy(t->xform.auth_key, a.data, a.len);
						t->xform.auth_key_len = (uint8_t)a.len;
					}
				}
			}
			if (rc < 0)
				FAIL("TEK key packet attributes malformed");
			if (!found && pol->n_ignored == 0)
				FAIL("keys for an SPI with no SA TEK");
		} else if (type == KD_KEK) {
			if (!pol->has_kek || spi_size != 16 || memcmp(spi, pol->kek.spi, 16) != 0)
				FAIL("KEK key packet for an unknown KEK");
			while ((rc = isakmp_attr_next(&pk.p, &pk.left, &a)) == 1) {
				if (a.basic)
					FAIL("KEK key attribute malformed");
				if (a.type == KEK_ALGORITHM_KEY) {
					if (a.len > GDOI_KEK_KEY_MAX)
						FAIL("KEK key too long");
					memcpy(pol->kek.key, a.data, a.len);
					pol->kek.key_len = a.len;
					pol->kek.has_keys = 1;
				} else if (a.type == SIG_ALGORITHM_KEY) {
					if (a.len > GDOI_SIG_KEY_MAX)
						FAIL("signature key too long");
					memcpy(pol->kek.sig_key, a.data, a.len);
					pol->kek.sig_key_len = a.len;
				}
			}
			if (rc < 0)
				FAIL("KEK key packet attributes malformed");
		} else {
			*why = "key download type not supported (TEK and KEK only)";
			return -ENOTSUP;
		}
	}
	if (r.left != 0)
		FAIL("bytes after the last key packet");
	return 0;
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
		x->cipher = GVPN_CIPHER_AES_GCM;
		if (t->key_bits != 0 && (x->cipher_key_len - GVPN_GCM_SALT_LEN) * 8u != t->key_bits &&
		    x->cipher_key_len * 8u != t->key_bits)
			FAIL("AES-GCM key length disagrees with the Key Length attribute");
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
				FAIL("TEK policies share an SPI without being a mirrored pair (R5)");
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

/* --- the exchange --- */

static void
header(struct isakmp_buf *b, const struct ike_sa *sa, uint32_t msgid, uint8_t exchange)
{
	struct isakmp_hdr h = {.exchange = exchange, .msgid = msgid};

	memcpy(h.icookie, sa->icookie, 8);
	memcpy(h.rcookie, sa->rcookie, 8);
	isakmp_buf_init(b, &h);
}

/* Everything after the HASH payload up to the end of the last payload. */
static struct ike_chunk
after_hash(const struct isakmp_msg *m)
{
	const struct isakmp_payload *last = &m->p[m->n - 1];

	if (m->n < 2)
		return (struct ike_chunk){NULL, 0};
	return (struct ike_chunk){m->p[1].raw, (size_t)(last->raw + last->len - m->p[1].raw)};
}

/* Fill a HASH payload begun at @p off once the rest of the message is there. */
static void
fill_hash(const struct ike_sa *sa, struct isakmp_buf *b, size_t hash_at, const struct ike_chunk *pre,
	  int npre)
{
	struct ike_chunk c[4];
	size_t end = b->len, rest = hash_at + ISAKMP_GEN_LEN + sa->prf_len;

	c[0] = (struct ike_chunk){b->data + 20, 4}; /* the header's M-ID, as sent */
	for (int i = 0; i < npre; i++)
		c[1 + i] = pre[i];
	c[1 + npre] = (struct ike_chunk){b->data + rest, end - rest};
	ike_prf(sa, sa->skeyid_a, sa->prf_len, c, 2 + npre, b->data + hash_at + ISAKMP_GEN_LEN);
}

static int
fail(struct gdoi_pull *p, const char *why, int err)
{
	p->error = why;
	return err;
}

int
gdoi_pull_start(struct gdoi_pull *p, const struct ike_sa *sa, uint32_t group_id,
		struct isakmp_buf *out)
{
	static const uint8_t zeros[IKE_DIGEST_MAX];
	size_t h, off;

	if (sa->state != IKE_ESTABLISHED)
		return -ENOTCONN;
	memset(p, 0, sizeof(*p));
	p->group_id = group_id;
	if (RAND_bytes((uint8_t *)&p->msgid, sizeof(p->msgid)) != 1 ||
	    RAND_bytes(p->ni, sizeof(p->ni)) != 1)
		return -EIO;
	if (p->msgid == 0)
		p->msgid = 1;
	ike_exchange_iv(sa, p->msgid, p->iv);
	header(out, sa, p->msgid, ISAKMP_EXCH_GROUPKEY_PULL);
	h = isakmp_buf_begin(out, ISAKMP_P_HASH);
	isakmp_buf_put(out, zeros, sa->prf_len);
	isakmp_buf_end(out, h);
	off = isakmp_buf_begin(out, ISAKMP_P_NONCE);
	isakmp_buf_put(out, p->ni, sizeof(p->ni));
	isakmp_buf_end(out, off);
	/* the group: ID_KEY_ID, 4-octet group number, big endian (RFC 6407 5.1) */
	off = isakmp_buf_begin(out, ISAKMP_P_ID);
	isakmp_buf_put8(out, ID_KEY_ID);
	isakmp_buf_put8(out, 0);
	isakmp_buf_put16(out, 0);
	isakmp_buf_put32(out, group_id);
	isakmp_buf_end(out, off);
	fill_hash(sa, out, h, NULL, 0);
	if (isakmp_buf_finish(out) != 0 || ike_encrypt(sa, p->iv, out) != 0)
		return -EIO;
	p->state = GDOI_PULL_SENT1;
	return 0;
}

/* Decrypt and parse a message; HASH must come first and verify. */
static int
open_msg(struct gdoi_pull *p, const struct ike_sa *sa, uint8_t *iv, const uint8_t *msg, size_t len,
	 uint8_t *plain, struct isakmp_msg *m, const struct ike_chunk *pre, int npre)
{
	uint8_t want[IKE_DIGEST_MAX], mid[4];
	size_t plen = ISAKMP_MSG_MAX;
	struct ike_chunk c[4];
	int rc;

	if (ike_decrypt(sa, iv, msg, len, plain, &plen) != 0)
		return fail(p, "message does not decrypt", -EBADMSG);
	rc = isakmp_parse_payloads(msg[16], plain, plen, 1, m);
	if (rc != ISAKMP_OK)
		return fail(p, isakmp_err_name(rc), -EBADMSG);
	if (m->n < 1 || m->p[0].type != ISAKMP_P_HASH || m->p[0].body_len != sa->prf_len)
		return fail(p, "HASH is not the first payload", -EBADMSG);
	memcpy(mid, msg + 20, 4);
	c[0] = (struct ike_chunk){mid, 4};
	for (int i = 0; i < npre; i++)
		c[1 + i] = pre[i];
	c[1 + npre] = after_hash(m);
	ike_prf(sa, sa->skeyid_a, sa->prf_len, c, 2 + npre, want);
	if (!gvpn_memeq_ct(want, m->p[0].body, sa->prf_len))
		return fail(p, "HASH does not verify", -EACCES);
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

/* An encrypted informational exchange: the key server's notification. */
static int
informational(struct gdoi_pull *p, const struct ike_sa *sa, const uint8_t *msg, size_t len,
	      uint32_t msgid, uint8_t *plain)
{
	uint8_t iv[IKE_BLOCK_MAX];
	const struct isakmp_payload *n;
	struct isakmp_msg m;
	int rc;

	ike_exchange_iv(sa, msgid, iv);
	rc = open_msg(p, sa, iv, msg, len, plain, &m, NULL, 0);
	if (rc != 0)
		return IKE_IGNORED; /* unauthenticated: no effect on the exchange */
	n = isakmp_find(&m, ISAKMP_P_NOTIFY);
	if (n == NULL || n->body_len < 8)
		return fail(p, "key server deleted the phase-1 SA", -ECONNRESET);
	p->notify = (uint16_t)(n->body[6] << 8 | n->body[7]);
	return fail(p, "key server refused the registration with a notification", -ECONNREFUSED);
}

static int
pull_input(struct gdoi_pull *p, const struct ike_sa *sa, const uint8_t *msg, size_t len,
	   struct isakmp_buf *out, uint8_t *plain)
{
	static const uint8_t zeros[IKE_DIGEST_MAX];
	const struct isakmp_payload *pl;
	struct isakmp_hdr hdr;
	struct isakmp_msg m;
	uint8_t iv[IKE_BLOCK_MAX];
	const char *why = NULL;
	int rc;

	if (isakmp_parse_header(msg, len, &hdr) != ISAKMP_OK ||
	    memcmp(hdr.icookie, sa->icookie, 8) != 0 || memcmp(hdr.rcookie, sa->rcookie, 8) != 0 ||
	    !(hdr.flags & ISAKMP_FLAG_ENC))
		return IKE_IGNORED;
	if (hdr.exchange == ISAKMP_EXCH_INFO)
		return informational(p, sa, msg, len, hdr.msgid, plain);
	if (hdr.exchange != ISAKMP_EXCH_GROUPKEY_PULL || hdr.msgid != p->msgid)
		return IKE_IGNORED;
	memcpy(iv, p->iv, sizeof(iv));
	if (p->state == GDOI_PULL_SENT1) {
		struct ike_chunk pre[] = {{p->ni, sizeof(p->ni)}};

		if ((rc = open_msg(p, sa, iv, msg, len, plain, &m, pre, 1)) != 0)
			return rc;
		pl = isakmp_find(&m, ISAKMP_P_NONCE);
		if (pl == NULL || pl->body_len < 8 || pl->body_len > sizeof(p->nr))
			return fail(p, "message 2 lacks a valid nonce", -EBADMSG);
		memcpy(p->nr, pl->body, pl->body_len);
		p->nr_len = pl->body_len;
		pl = isakmp_find(&m, ISAKMP_P_SA);
		if (pl == NULL)
			return fail(p, "message 2 lacks the SA payload", -EBADMSG);
		rc = gdoi_parse_sa(pl->body, pl->body_len, &p->pol, &why);
		if (rc != 0)
			return fail(p, why, rc);
		memcpy(p->iv, iv, sizeof(iv));
		/* message 3: HASH(3) = prf(SKEYID_a, M-ID | Ni_b | Nr_b) */
		header(out, sa, p->msgid, ISAKMP_EXCH_GROUPKEY_PULL);
		size_t h = isakmp_buf_begin(out, ISAKMP_P_HASH);
		isakmp_buf_put(out, zeros, sa->prf_len);
		isakmp_buf_end(out, h);
		struct ike_chunk pre3[] = {{p->ni, sizeof(p->ni)}, {p->nr, p->nr_len}};
		fill_hash(sa, out, h, pre3, 2);
		if (isakmp_buf_finish(out) != 0 || ike_encrypt(sa, p->iv, out) != 0)
			return fail(p, "message 3 not built", -EIO);
		p->state = GDOI_PULL_SENT3;
		return IKE_CONTINUE;
	}
	if (p->state == GDOI_PULL_SENT3) {
		struct ike_chunk pre[] = {{p->ni, sizeof(p->ni)}, {p->nr, p->nr_len}};

		if ((rc = open_msg(p, sa, iv, msg, len, plain, &m, pre, 2)) != 0)
			return rc;
		pl = isakmp_find(&m, ISAKMP_P_SEQ);
		if (pl != NULL) {
			if (pl->body_len != 4)
				return fail(p, "SEQ payload length is not 8", -EBADMSG);
			p->pol.has_seq = 1;
			p->pol.seq = isakmp_get32(pl->body);
		}
		pl = isakmp_find(&m, ISAKMP_P_KD);
		if (pl == NULL)
			return fail(p, "message 4 lacks the KD payload", -EBADMSG);
		rc = gdoi_parse_kd(pl->body, pl->body_len, &p->pol, &why);
		if (rc == 0)
			rc = gdoi_policy_check(&p->pol, &why);
		if (rc != 0)
			return fail(p, why, rc);
		p->state = GDOI_PULL_DONE;
		return IKE_DONE;
	}
	return IKE_IGNORED;
}

int
gdoi_pull_input(struct gdoi_pull *p, const struct ike_sa *sa, const uint8_t *msg, size_t len,
		struct isakmp_buf *out)
{
	uint8_t *plain = gdoi_plain_buf();
	int rc;

	if (plain == NULL)
		return fail(p, "no key memory for the message", -ENOMEM);
	rc = pull_input(p, sa, msg, len, out, plain);
	/* Whatever the outcome, the plaintext (message 4: TEK and KEK keys)
	 * is gone before the next step; it is never longer than the message. */
	gvpn_wipe(plain, len < ISAKMP_MSG_MAX ? len : ISAKMP_MSG_MAX);
	return rc;
}

void
gdoi_pull_clear(struct gdoi_pull *p)
{
	gvpn_wipe(p, sizeof(*p));
}
