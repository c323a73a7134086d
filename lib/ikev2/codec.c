/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IKEv2 message codec (gvpn_ikev2.h): header, payload walker with the
 * exchange scripts, Notify reader, message builder.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ikev2_private.h"

#define ERR_NAME(n, s) [IKEV2_ERR_##n] = s,
static const char *const err_names[IKEV2_ERR_MAX] = {[IKEV2_OK] = "ok",
						     GVPN_IKEV2_ERR_LIST(ERR_NAME)};
#undef ERR_NAME

struct payload_info {
	const char *name;
	uint16_t min;
};

#define PAYLOAD_INFO(n, num, min, ref) [num] = {#n, min},
static const struct payload_info payloads[256] = {GVPN_IKEV2_PAYLOAD_LIST(PAYLOAD_INFO)};
#undef PAYLOAD_INFO

const char *
ikev2_err_name(enum ikev2_err err)
{
	return (unsigned int)err < IKEV2_ERR_MAX && err_names[err] != NULL ? err_names[err] : "?";
}

const char *
ikev2_payload_name(uint8_t type)
{
	return payloads[type].name != NULL ? payloads[type].name : "?";
}

static const struct {
	uint16_t type;
	const char *name;
} notify_names[] = {
#define NOTIFY_NAME(n, num) {num, #n},
    GVPN_IKEV2_NOTIFY_LIST(NOTIFY_NAME)
#undef NOTIFY_NAME
};

const char *
ikev2_notify_name(uint16_t type)
{
	for (size_t i = 0; i < sizeof(notify_names) / sizeof(notify_names[0]); i++)
		if (notify_names[i].type == type)
			return notify_names[i].name;
	return NULL;
}

static int
refuse(enum ikev2_err *reason, enum ikev2_err err)
{
	if (reason != NULL)
		*reason = err;
	return -EBADMSG;
}

int
ikev2_parse_header(const uint8_t *buf, size_t len, struct ikev2_hdr *h, enum ikev2_err *reason)
{
	if (len < IKEV2_HDR_LEN)
		return refuse(reason, IKEV2_ERR_SHORT_HEADER);
	memcpy(h->spi_i, buf, 8);
	memcpy(h->spi_r, buf + 8, 8);
	h->next = buf[16];
	h->version = buf[17];
	h->exchange = buf[18];
	h->flags = buf[19];
	h->msgid = ikev2_get32(buf + 20);
	h->length = ikev2_get32(buf + 24);
	/* the minor version is ignored on receipt (RFC 7296 2.5) */
	if ((h->version & 0xf0) != IKEV2_VERSION)
		return refuse(reason, IKEV2_ERR_BAD_VERSION);
	if (h->length > IKEV2_MSG_MAX)
		return refuse(reason, IKEV2_ERR_TOO_LONG);
	if (h->length != len)
		return refuse(reason, IKEV2_ERR_BAD_LENGTH);
	return 0;
}

static enum ikev2_err
script_take(const struct ikev2_script *s, uint8_t *count, uint8_t type)
{
	for (unsigned int i = 0; i < s->n; i++) {
		if (s->item[i].type != type)
			continue;
		if (count[i] >= s->item[i].max)
			return IKEV2_ERR_DUPLICATE;
		count[i]++;
		return IKEV2_OK;
	}
	return IKEV2_ERR_UNEXPECTED_PAYLOAD;
}

int
ikev2_parse_payloads(uint8_t first, const uint8_t *buf, size_t len,
		     const struct ikev2_script *script, struct ikev2_msg *m, enum ikev2_err *reason)
{
	uint8_t count[32] = {0};
	uint8_t type = first;
	enum ikev2_err err;
	size_t off = 0;

	m->n = 0;
	m->sk = NULL;
	if (script != NULL && script->n > sizeof(count))
		return refuse(reason, IKEV2_ERR_TOO_MANY);
	while (type != IKEV2_P_NONE) {
		size_t left = len - off;
		uint16_t plen;
		uint8_t next, crit;

		if (left < IKEV2_GEN_LEN)
			return refuse(reason, IKEV2_ERR_SHORT_PAYLOAD);
		next = buf[off];
		/* the other 7 bits are reserved, ignored on receipt (RFC 7296 3.2) */
		crit = buf[off + 1] & IKEV2_CRITICAL;
		plen = ikev2_get16(buf + off + 2);
		if (plen < IKEV2_GEN_LEN ||
		    (payloads[type].name != NULL && plen < payloads[type].min))
			return refuse(reason, IKEV2_ERR_PAYLOAD_TOO_SHORT);
		if (plen > left)
			return refuse(reason, IKEV2_ERR_PAYLOAD_OVERRUN);
		if (payloads[type].name == NULL) {
			/* unknown: skipped, unless critical (RFC 7296 2.5, 3.2) */
			if (crit)
				return refuse(reason, IKEV2_ERR_CRITICAL);
			type = next;
			off += plen;
			continue;
		}
		if (script != NULL && (err = script_take(script, count, type)) != IKEV2_OK)
			return refuse(reason, err);
		if (m->n == IKEV2_MAX_PAYLOADS)
			return refuse(reason, IKEV2_ERR_TOO_MANY);
		m->p[m->n++] = (struct ikev2_payload){.type = type,
						      .critical = crit != 0,
						      .len = plen,
						      .raw = buf + off,
						      .body = buf + off + IKEV2_GEN_LEN,
						      .body_len = (uint16_t)(plen - IKEV2_GEN_LEN)};
		off += plen;
		if (type == IKEV2_P_SK || type == IKEV2_P_SKF) {
			/* its next payload is the first one inside (RFC 7296 3.14) */
			if (off != len)
				return refuse(reason, IKEV2_ERR_SK_NOT_LAST);
			m->sk = &m->p[m->n - 1];
			break;
		}
		type = next;
	}
	if (off != len)
		return refuse(reason, IKEV2_ERR_TRAILING);
	for (unsigned int i = 0; script != NULL && i < script->n; i++)
		if (count[i] < script->item[i].min)
			return refuse(reason, IKEV2_ERR_MISSING);
	return 0;
}

const struct ikev2_payload *
ikev2_find(const struct ikev2_msg *m, uint8_t type, unsigned int nth)
{
	for (uint16_t i = 0; i < m->n; i++)
		if (m->p[i].type == type && nth-- == 0)
			return &m->p[i];
	return NULL;
}

/*
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Protocol ID  |   SPI Size    |      Notify Message Type      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                Security Parameter Index (SPI)                 ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                       Notification Data                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
int
ikev2_notify_read(const struct ikev2_payload *p, struct ikev2_notify *n)
{
	if (p->body_len < 4 || p->body[1] > p->body_len - 4)
		return -EBADMSG;
	n->proto = p->body[0];
	n->spi_len = p->body[1];
	n->type = ikev2_get16(p->body + 2);
	n->spi = p->body + 4;
	n->data = n->spi + n->spi_len;
	n->data_len = (uint16_t)(p->body_len - 4 - n->spi_len);
	return 0;
}

int
ikev2_notify_find(const struct ikev2_msg *m, uint16_t type, struct ikev2_notify *n)
{
	const struct ikev2_payload *p;

	for (unsigned int i = 0; (p = ikev2_find(m, IKEV2_P_NOTIFY, i)) != NULL; i++)
		if (ikev2_notify_read(p, n) == 0 && n->type == type)
			return 1;
	return 0;
}

static void
put(struct ikev2_buf *b, const void *data, size_t len)
{
	if (b->overflow || len > b->room - b->len) {
		b->overflow = 1;
		return;
	}
	if (len == 0)
		return; /* data may be NULL then */
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

void
ikev2_buf_init(struct ikev2_buf *b, uint8_t *data, size_t room, const struct ikev2_hdr *h)
{
	uint8_t hdr[IKEV2_HDR_LEN];

	memcpy(hdr, h->spi_i, 8);
	memcpy(hdr + 8, h->spi_r, 8);
	hdr[16] = IKEV2_P_NONE;
	hdr[17] = IKEV2_VERSION;
	hdr[18] = h->exchange;
	hdr[19] = h->flags;
	ikev2_set32(hdr + 20, h->msgid);
	memset(hdr + 24, 0, 4);
	*b = (struct ikev2_buf){.data = data, .room = room};
	put(b, hdr, sizeof(hdr));
	b->np_off = 16;
}

void
ikev2_buf_chain(struct ikev2_buf *b, uint8_t *data, size_t room)
{
	*b = (struct ikev2_buf){.data = data, .room = room, .np_off = SIZE_MAX};
}

uint8_t
ikev2_buf_first(const struct ikev2_buf *b)
{
	return b->first;
}

size_t
ikev2_buf_begin(struct ikev2_buf *b, uint8_t type)
{
	uint8_t gen[IKEV2_GEN_LEN] = {IKEV2_P_NONE, 0, 0, 0};
	size_t off = b->len;

	if (b->np_off == SIZE_MAX)
		b->first = type;
	else if (!b->overflow)
		b->data[b->np_off] = type;
	put(b, gen, sizeof(gen));
	b->np_off = off;
	return off;
}

void
ikev2_buf_put(struct ikev2_buf *b, const void *data, size_t len)
{
	put(b, data, len);
}

void
ikev2_buf_put8(struct ikev2_buf *b, uint8_t v)
{
	put(b, &v, 1);
}

void
ikev2_buf_put16(struct ikev2_buf *b, uint16_t v)
{
	uint8_t d[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(b, d, 2);
}

void
ikev2_buf_put32(struct ikev2_buf *b, uint32_t v)
{
	uint8_t d[4];

	ikev2_set32(d, v);
	put(b, d, 4);
}

void
ikev2_buf_end(struct ikev2_buf *b, size_t off)
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
ikev2_buf_finish(struct ikev2_buf *b)
{
	if (b->overflow)
		return -ENOSPC;
	ikev2_set32(b->data + 24, (uint32_t)b->len);
	return 0;
}
