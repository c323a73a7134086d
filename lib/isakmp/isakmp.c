/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "gvpn_isakmp.h"

#define ERR_NAME(n, s) [ISAKMP_ERR_##n] = s,
static const char *const err_names[ISAKMP_ERR_MAX] = {[ISAKMP_OK] = "ok",
						      GVPN_ISAKMP_ERR_LIST(ERR_NAME)};
#undef ERR_NAME

struct payload_info {
	const char *name;
	uint16_t min;
};

#define PAYLOAD_INFO(n, num, min, ref) [num] = {#n, min},
static const struct payload_info payloads[256] = {GVPN_ISAKMP_PAYLOAD_LIST(PAYLOAD_INFO)};
#undef PAYLOAD_INFO

const char *
isakmp_err_name(enum isakmp_err err)
{
	return (unsigned int)err < ISAKMP_ERR_MAX && err_names[err] != NULL ? err_names[err] : "?";
}

#define NOTIFY_NAME(n, num) [num] = #n,
static const char *const notify_names[] = {GVPN_ISAKMP_NOTIFY_LIST(NOTIFY_NAME)};
#undef NOTIFY_NAME

const char *
isakmp_notify_name(uint16_t type)
{
	return type < sizeof(notify_names) / sizeof(notify_names[0]) ? notify_names[type] : NULL;
}

const char *
isakmp_payload_name(uint8_t type)
{
	return payloads[type].name != NULL ? payloads[type].name : "?";
}

static int
refuse(enum isakmp_err *reason, enum isakmp_err err)
{
	if (reason != NULL)
		*reason = err;
	return -EBADMSG;
}

int
isakmp_parse_header(const uint8_t *buf, size_t len, struct isakmp_hdr *h, enum isakmp_err *reason)
{
	if (len < ISAKMP_HDR_LEN)
		return refuse(reason, ISAKMP_ERR_SHORT_HEADER);
	memcpy(h->icookie, buf, 8);
	memcpy(h->rcookie, buf + 8, 8);
	h->next = buf[16];
	h->version = buf[17];
	h->exchange = buf[18];
	h->flags = buf[19];
	h->msgid = isakmp_get32(buf + 20);
	h->length = isakmp_get32(buf + 24);
	if ((h->version & 0xf0) != ISAKMP_VERSION)
		return refuse(reason, ISAKMP_ERR_BAD_VERSION);
	if (h->length > ISAKMP_MSG_MAX)
		return refuse(reason, ISAKMP_ERR_TOO_LONG);
	if (h->length != len)
		return refuse(reason, ISAKMP_ERR_BAD_LENGTH);
	return 0;
}

/*
 * Where payload @p type may stand in @p s after line @p *line: on this line
 * while it has room, or on a later one (lines skipped may be optional; a
 * required one left empty is found missing at the end). A type the script
 * has on an earlier line is out of order, or a duplicate when that line is
 * full.
 */
static enum isakmp_err
script_step(const struct isakmp_script *s, const struct isakmp_msg *m, uint8_t type,
	    unsigned int *line)
{
	for (unsigned int i = *line; i < s->n; i++) {
		if (s->item[i].type != type)
			continue;
		if (m->count[i] >= s->item[i].max)
			return ISAKMP_ERR_DUPLICATE;
		*line = i;
		return ISAKMP_OK;
	}
	for (unsigned int i = 0; i < *line; i++)
		if (s->item[i].type == type)
			return m->count[i] >= s->item[i].max ? ISAKMP_ERR_DUPLICATE
							     : ISAKMP_ERR_OUT_OF_ORDER;
	return ISAKMP_ERR_UNEXPECTED_PAYLOAD;
}

int
isakmp_parse_payloads(uint8_t first, const uint8_t *buf, size_t len, int padded,
		      const struct isakmp_script *script, struct isakmp_msg *m,
		      enum isakmp_err *reason)
{
	uint8_t type = first;
	unsigned int line = 0;
	enum isakmp_err err;
	size_t off = 0;

	m->n = 0;
	memset(m->count, 0, sizeof(m->count));
	if (type != ISAKMP_P_NONE && payloads[type].name == NULL)
		return refuse(reason, ISAKMP_ERR_UNKNOWN_PAYLOAD);
	while (type != ISAKMP_P_NONE) {
		size_t left = len - off;
		uint16_t plen;
		uint8_t next;

		if (left < ISAKMP_GEN_LEN)
			return refuse(reason, ISAKMP_ERR_SHORT_PAYLOAD);
		next = buf[off];
		if (next != ISAKMP_P_NONE && payloads[next].name == NULL)
			return refuse(reason, ISAKMP_ERR_UNKNOWN_PAYLOAD);
		if (buf[off + 1] != 0)
			return refuse(reason, ISAKMP_ERR_RESERVED);
		plen = isakmp_get16(buf + off + 2);
		if (plen < payloads[type].min)
			return refuse(reason, ISAKMP_ERR_PAYLOAD_TOO_SHORT);
		if (plen > left)
			return refuse(reason, ISAKMP_ERR_PAYLOAD_OVERRUN);
		if (script != NULL) {
			if ((err = script_step(script, m, type, &line)) != ISAKMP_OK)
				return refuse(reason, err);
			if (m->count[line]++ == 0)
				m->first[line] = m->n;
		}
		if (m->n == ISAKMP_MAX_PAYLOADS)
			return refuse(reason, ISAKMP_ERR_TOO_MANY);
		m->p[m->n++] =
		    (struct isakmp_payload){.type = type,
					    .len = plen,
					    .raw = buf + off,
					    .body = buf + off + ISAKMP_GEN_LEN,
					    .body_len = (uint16_t)(plen - ISAKMP_GEN_LEN)};
		type = next;
		off += plen;
	}
	/* Encryption pads to the cipher block: at most one block of it. */
	if (off != len && !(padded && len - off < 32))
		return refuse(reason, ISAKMP_ERR_TRAILING);
	for (unsigned int i = 0; script != NULL && i < script->n; i++)
		if (m->count[i] < script->item[i].min)
			return refuse(reason, ISAKMP_ERR_MISSING);
	return 0;
}

int
isakmp_attr_next(const uint8_t **p, size_t *len, struct isakmp_attr *a)
{
	const uint8_t *q = *p;
	uint16_t t;

	if (*len == 0)
		return 0;
	if (*len < 4)
		return -EBADMSG;
	t = isakmp_get16(q);
	a->type = t & 0x7fff;
	if (t & 0x8000) {
		a->basic = 1;
		a->value = isakmp_get16(q + 2);
		a->data = q + 2;
		a->len = 2;
		*p += 4;
		*len -= 4;
		return 1;
	}
	a->basic = 0;
	a->len = isakmp_get16(q + 2);
	if (a->len > *len - 4)
		return -EBADMSG;
	a->data = q + 4;
	a->value = 0;
	if (a->len <= 4)
		for (uint16_t i = 0; i < a->len; i++)
			a->value = a->value << 8 | a->data[i];
	*p += 4 + a->len;
	*len -= 4u + a->len;
	return 1;
}

static void
store_uint(uint8_t *at, uint8_t size, uint32_t v)
{
	switch (size) {
	case 1: {
		uint8_t x = (uint8_t)v;

		memcpy(at, &x, 1);
		break;
	}
	case 2: {
		uint16_t x = (uint16_t)v;

		memcpy(at, &x, 2);
		break;
	}
	default:
		memcpy(at, &v, 4);
		break;
	}
}

int
isakmp_attrs_read(const uint8_t *p, size_t len, const struct isakmp_attr_field *f, unsigned int n,
		  int strict, void *dst, uint32_t *seen)
{
	uint8_t *d = dst;
	struct isakmp_attr a;
	int rc;

	while ((rc = isakmp_attr_next(&p, &len, &a)) == 1) {
		unsigned int i = 0;

		while (i < n && f[i].type != a.type)
			i++;
		if (i == n) {
			if (strict)
				return -ENOTSUP;
			continue;
		}
		switch (f[i].kind) {
		case ISAKMP_ATTR_INT:
			store_uint(d + f[i].off, f[i].size, a.value);
			break;
		case ISAKMP_ATTR_BYTES:
			if (a.basic)
				return -EBADMSG;
			if (a.len > f[i].max)
				return -EMSGSIZE;
			memcpy(d + f[i].off, a.data, a.len);
			store_uint(d + f[i].len_off, f[i].size, a.len);
			break;
		default:
			break;
		}
		if (seen != NULL && i < 32)
			*seen |= 1u << i;
	}
	return rc;
}

static void
put(struct isakmp_buf *b, const void *data, size_t len)
{
	if (b->overflow || len > sizeof(b->data) - b->len) {
		b->overflow = 1;
		return;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

void
isakmp_buf_init(struct isakmp_buf *b, const struct isakmp_hdr *h)
{
	uint8_t hdr[ISAKMP_HDR_LEN];

	memcpy(hdr, h->icookie, 8);
	memcpy(hdr + 8, h->rcookie, 8);
	hdr[16] = ISAKMP_P_NONE;
	hdr[17] = ISAKMP_VERSION;
	hdr[18] = h->exchange;
	hdr[19] = h->flags;
	hdr[20] = (uint8_t)(h->msgid >> 24);
	hdr[21] = (uint8_t)(h->msgid >> 16);
	hdr[22] = (uint8_t)(h->msgid >> 8);
	hdr[23] = (uint8_t)h->msgid;
	memset(hdr + 24, 0, 4);
	b->len = 0;
	b->overflow = 0;
	put(b, hdr, sizeof(hdr));
	b->np_off = 16;
}

size_t
isakmp_buf_begin(struct isakmp_buf *b, uint8_t type)
{
	uint8_t gen[ISAKMP_GEN_LEN] = {ISAKMP_P_NONE, 0, 0, 0};
	size_t off = b->len;

	if (!b->overflow)
		b->data[b->np_off] = type;
	put(b, gen, sizeof(gen));
	b->np_off = off;
	return off;
}

void
isakmp_buf_put(struct isakmp_buf *b, const void *data, size_t len)
{
	put(b, data, len);
}

void
isakmp_buf_put8(struct isakmp_buf *b, uint8_t v)
{
	put(b, &v, 1);
}

void
isakmp_buf_put16(struct isakmp_buf *b, uint16_t v)
{
	uint8_t d[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(b, d, 2);
}

void
isakmp_buf_put32(struct isakmp_buf *b, uint32_t v)
{
	uint8_t d[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	put(b, d, 4);
}

void
isakmp_buf_attr(struct isakmp_buf *b, uint16_t type, uint16_t value)
{
	isakmp_buf_put16(b, (uint16_t)(0x8000 | type));
	isakmp_buf_put16(b, value);
}

void
isakmp_buf_attr_var(struct isakmp_buf *b, uint16_t type, const void *data, uint16_t len)
{
	isakmp_buf_put16(b, type & 0x7fff);
	isakmp_buf_put16(b, len);
	put(b, data, len);
}

void
isakmp_buf_end(struct isakmp_buf *b, size_t off)
{
	size_t plen = b->len - off;

	if (b->overflow || plen > UINT16_MAX) {
		b->overflow = 1;
		return;
	}
	b->data[off + 2] = (uint8_t)(plen >> 8);
	b->data[off + 3] = (uint8_t)plen;
}

int
isakmp_buf_finish(struct isakmp_buf *b)
{
	if (b->overflow)
		return -ENOSPC;
	isakmp_set32(b->data + 24, (uint32_t)b->len);
	return 0;
}
