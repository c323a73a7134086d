/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SA payloads (RFC 7296 3.3): our proposals built, the responder's choice
 * read; proposal strings; traffic selectors (RFC 7296 3.13).
 *
 * Proposal substructure (RFC 7296 3.3.1):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |         Proposal Length       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        SPI (variable)                         ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        <Transforms>                           ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Transform substructure (RFC 7296 3.3.2):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |        Transform Length       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Transform Type |   RESERVED    |          Transform ID         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                      Transform Attributes                     ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ikev2_private.h"

#define LAST_PROPOSAL 0
#define MORE_PROPOSALS 2
#define LAST_TRANSFORM 0
#define MORE_TRANSFORMS 3
#define PROP_HDR 8
#define XFORM_HDR 8

static void
put_transform(struct ikev2_buf *b, int last, uint8_t type, uint16_t id, uint16_t key_bits)
{
	size_t off = b->len;

	ikev2_buf_put8(b, last ? LAST_TRANSFORM : MORE_TRANSFORMS);
	ikev2_buf_put8(b, 0);
	ikev2_buf_put16(b, 0); /* length, set below */
	ikev2_buf_put8(b, type);
	ikev2_buf_put8(b, 0);
	ikev2_buf_put16(b, id);
	if (key_bits != 0) {
		ikev2_buf_put16(b, 0x8000 | IKEV2_ATTR_KEY_LENGTH);
		ikev2_buf_put16(b, key_bits);
	}
	ikev2_buf_end(b, off);
}

void
ikev2_sa_build(struct ikev2_buf *b, uint8_t proto, const uint8_t *spi, uint8_t spi_len,
	       const struct ikev2_proposal *props, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct ikev2_proposal *p = &props[i];
		/* ESP: the one ESN transform, "no extended sequence numbers" */
		unsigned int nt = p->n_encr + p->n_prf + p->n_integ + p->n_dh + p->n_kwa +
				  (proto == IKEV2_PROTO_ESP ? 1u : 0u);
		unsigned int k = 0;
		size_t off = b->len;

		ikev2_buf_put8(b, i + 1 < n ? MORE_PROPOSALS : LAST_PROPOSAL);
		ikev2_buf_put8(b, 0);
		ikev2_buf_put16(b, 0);
		ikev2_buf_put8(b, (uint8_t)(i + 1));
		ikev2_buf_put8(b, proto);
		ikev2_buf_put8(b, spi_len);
		ikev2_buf_put8(b, (uint8_t)nt);
		ikev2_buf_put(b, spi, spi_len);
		for (unsigned int j = 0; j < p->n_encr; j++)
			put_transform(b, ++k == nt, IKEV2_TT_ENCR, p->encr[j].id,
				      p->encr[j].key_bits);
		for (unsigned int j = 0; j < p->n_prf; j++)
			put_transform(b, ++k == nt, IKEV2_TT_PRF, p->prf[j], 0);
		for (unsigned int j = 0; j < p->n_integ; j++)
			put_transform(b, ++k == nt, IKEV2_TT_INTEG, p->integ[j], 0);
		for (unsigned int j = 0; j < p->n_dh; j++)
			put_transform(b, ++k == nt, IKEV2_TT_DH, p->dh[j], 0);
		for (unsigned int j = 0; j < p->n_kwa; j++)
			put_transform(b, ++k == nt, IKEV2_TT_KWA, p->kwa[j], 0);
		if (proto == IKEV2_PROTO_ESP)
			put_transform(b, 1, IKEV2_TT_ESN, 0, 0);
		ikev2_buf_end(b, off);
	}
}

static int
offered(const struct ikev2_proposal *p, const struct ikev2_suite *s)
{
	int e = 0, f = p->n_prf == 0 && s->prf == 0, i = p->n_integ == 0 && s->integ == 0;
	int d = p->n_dh == 0 && s->dh == 0, k = p->n_kwa == 0 && s->kwa == 0;

	for (unsigned int j = 0; j < p->n_encr; j++)
		e |= p->encr[j].id == s->encr.id && p->encr[j].key_bits == s->encr.key_bits;
	for (unsigned int j = 0; j < p->n_prf; j++)
		f |= p->prf[j] == s->prf;
	for (unsigned int j = 0; j < p->n_integ; j++)
		i |= p->integ[j] == s->integ;
	for (unsigned int j = 0; j < p->n_dh; j++)
		d |= p->dh[j] == s->dh;
	for (unsigned int j = 0; j < p->n_kwa; j++)
		k |= p->kwa[j] == s->kwa;
	return e && f && i && d && k;
}

int
ikev2_sa_choice(const struct ikev2_payload *p, uint8_t proto, uint8_t spi_len,
		const struct ikev2_proposal *props, unsigned int n, struct ikev2_suite *out,
		uint8_t *num, uint8_t *spi)
{
	const uint8_t *b = p->body;
	size_t len = p->body_len, plen, off;
	struct ikev2_suite s = {0};
	unsigned int seen = 0, nt;

	/* one proposal: the last, as long as the payload */
	if (len < PROP_HDR || b[0] != LAST_PROPOSAL)
		return -EBADMSG;
	plen = ikev2_get16(b + 2);
	if (plen != len || b[5] != proto || b[6] != spi_len || len < PROP_HDR + (size_t)spi_len)
		return -EBADMSG;
	*num = b[4];
	nt = b[7];
	if (spi_len != 0)
		memcpy(spi, b + PROP_HDR, spi_len);
	off = PROP_HDR + spi_len;
	for (unsigned int t = 0; t < nt; t++) {
		const uint8_t *x = b + off;
		size_t tlen, alen;
		uint16_t id, key_bits = 0;
		uint8_t type;

		if (len - off < XFORM_HDR)
			return -EBADMSG;
		tlen = ikev2_get16(x + 2);
		if (tlen < XFORM_HDR || tlen > len - off ||
		    x[0] != (t + 1 == nt ? LAST_TRANSFORM : MORE_TRANSFORMS))
			return -EBADMSG;
		type = x[4];
		id = ikev2_get16(x + 6);
		/* attributes: the key length alone, in TV form (RFC 7296 3.3.5) */
		for (alen = XFORM_HDR; alen < tlen; alen += 4) {
			if (tlen - alen < 4 ||
			    ikev2_get16(x + alen) != (0x8000 | IKEV2_ATTR_KEY_LENGTH))
				return -EBADMSG;
			key_bits = ikev2_get16(x + alen + 2);
		}
		if (type < IKEV2_TT_ENCR || (type > IKEV2_TT_ESN && type != IKEV2_TT_KWA) ||
		    (seen & 1u << type))
			return -EBADMSG; /* one transform of each type */
		seen |= 1u << type;
		switch (type) {
		case IKEV2_TT_ENCR:
			s.encr = (struct ikev2_encr){id, key_bits};
			break;
		case IKEV2_TT_PRF:
			s.prf = id;
			break;
		case IKEV2_TT_INTEG:
			s.integ = id;
			break;
		case IKEV2_TT_DH:
			s.dh = id;
			break;
		case IKEV2_TT_KWA: /* G-IKEv2: checked against the offer below */
			s.kwa = id;
			break;
		default: /* ESN: we offer none */
			if (proto != IKEV2_PROTO_ESP || id != 0)
				return -ENOPROTOOPT;
			break;
		}
		off += tlen;
	}
	if (off != len || !(seen & 1u << IKEV2_TT_ENCR))
		return -EBADMSG;
	if (proto == IKEV2_PROTO_IKE &&
	    (!(seen & 1u << IKEV2_TT_PRF) || !(seen & 1u << IKEV2_TT_DH)))
		return -EBADMSG;
	if (*num == 0 || *num > n || !offered(&props[*num - 1], &s))
		return -ENOPROTOOPT;
	*out = s;
	return 0;
}

static int
add(uint8_t *n, uint16_t *list, uint16_t v)
{
	if (*n == IKEV2_MAX_XFORMS)
		return -EINVAL;
	list[(*n)++] = v;
	return 0;
}

static int
word(const char *w, size_t len, struct ikev2_proposal *p, uint8_t *n_sha, uint16_t *sha)
{
	const struct ikev2_encr_alg *e;
	const struct ikev2_hash_alg *h;
	const struct ikev2_dh_alg *d;

#define IS(name) (strlen(name) == len && strncmp(w, name, len) == 0)
	for (unsigned int i = 0; (e = ikev2_encr_at(i)) != NULL; i++)
		if (IS(e->word)) {
			if (p->n_encr == IKEV2_MAX_XFORMS)
				return -EINVAL;
			p->encr[p->n_encr++] = (struct ikev2_encr){e->id, e->key_bits};
			return 0;
		}
	for (unsigned int i = 0; (h = ikev2_prf_at(i)) != NULL; i++)
		if (IS(h->word))
			return add(&p->n_prf, p->prf, h->id);
	for (unsigned int i = 0; (h = ikev2_integ_at(i)) != NULL; i++)
		if (IS(h->word)) {
			if (add(n_sha, sha, ikev2_prf_at(i)->id) != 0)
				return -EINVAL;
			return add(&p->n_integ, p->integ, h->id);
		}
	for (unsigned int i = 0; (d = ikev2_dh_at(i)) != NULL; i++)
		if (IS(d->word))
			return add(&p->n_dh, p->dh, d->id);
	/* G-IKEv2 key wrap algorithms (RFC 5649 AES key wrap with padding) */
	if (IS("kw128"))
		return add(&p->n_kwa, p->kwa, IKEV2_KWA_5649_128);
	if (IS("kw192"))
		return add(&p->n_kwa, p->kwa, IKEV2_KWA_5649_192);
	if (IS("kw256"))
		return add(&p->n_kwa, p->kwa, IKEV2_KWA_5649_256);
#undef IS
	return -EINVAL;
}

int
ikev2_proposal_parse(const char *s, int child, struct ikev2_proposal *p)
{
	uint16_t sha[IKEV2_MAX_XFORMS];
	uint8_t n_sha = 0;
	int aead = 0, cbc = 0;

	memset(p, 0, sizeof(*p));
	while (*s != '\0') {
		size_t len = strcspn(s, "-");

		if (len == 0 || word(s, len, p, &n_sha, sha) != 0)
			return -EINVAL;
		s += len;
		if (*s == '-' && *++s == '\0')
			return -EINVAL;
	}
	for (unsigned int i = 0; i < p->n_encr; i++) {
		aead |= p->encr[i].id == IKEV2_ENCR_AES_GCM_16;
		cbc |= p->encr[i].id != IKEV2_ENCR_AES_GCM_16;
	}
	/* a PRF of the integrity words' hashes unless one is named */
	if (!child && p->n_prf == 0)
		for (unsigned int i = 0; i < n_sha; i++)
			p->prf[p->n_prf++] = sha[i];
	if (p->n_encr == 0 || (aead && (cbc || p->n_integ != 0)) || (cbc && p->n_integ == 0))
		return -EINVAL;
	if (child ? p->n_prf != 0 || p->n_dh != 0 || p->n_kwa != 0 : p->n_prf == 0 || p->n_dh == 0)
		return -EINVAL;
	return 0;
}

void
ikev2_suite_format(const struct ikev2_suite *s, char *buf, size_t len)
{
	const struct ikev2_encr_alg *e = ikev2_encr_alg(s->encr.id, s->encr.key_bits);
	const struct ikev2_hash_alg *i = ikev2_integ_alg(s->integ);
	const struct ikev2_hash_alg *p = ikev2_prf_alg(s->prf);
	const struct ikev2_dh_alg *d = ikev2_dh_alg(s->dh);
	int n = snprintf(buf, len, "%s", e != NULL ? e->name : "?");

	if (i != NULL && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "/%s", i->name);
	if (p != NULL && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "/%s", p->name);
	if (d != NULL && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "/%s", d->name);
	if (s->kwa != 0 && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "/KW_5649_%u", 64u + 64u * s->kwa);
}

/*
 * Traffic Selector payload (RFC 7296 3.13) and one selector (3.13.1):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Number of TSs |                 RESERVED                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   TS Type     |IP Protocol ID*|       Selector Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Start Port*         |           End Port*           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                         Starting Address*                     ~
 * ~                         Ending Address*                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
int
ikev2_ts_read(const struct ikev2_payload *p, struct ikev2_ts *ts)
{
	const uint8_t *b = p->body;
	size_t len = p->body_len, off = 4;
	unsigned int n;

	if (len < 4 || (n = b[0]) == 0)
		return -EBADMSG;
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *t = b + off;
		size_t alen, slen;

		if (len - off < 8)
			return -EBADMSG;
		slen = ikev2_get16(t + 2);
		alen = t[0] == IKEV2_TS_IPV4_ADDR_RANGE	  ? 4
		       : t[0] == IKEV2_TS_IPV6_ADDR_RANGE ? 16
							  : 0;
		if (alen == 0 || slen != 8 + 2 * alen || slen > len - off)
			return -EBADMSG;
		if (i == 0) {
			memset(ts, 0, sizeof(*ts));
			ts->type = t[0];
			ts->proto = t[1];
			ts->start_port = ikev2_get16(t + 4);
			ts->end_port = ikev2_get16(t + 6);
			memcpy(ts->start, t + 8, alen);
			memcpy(ts->end, t + 8 + alen, alen);
		}
		off += slen;
	}
	return off == len ? 0 : -EBADMSG;
}
