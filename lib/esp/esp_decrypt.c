/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inbound: check the outer header (IPv4, or IPv6 and its extension
 * headers, by the SA's family), lengths and SPI, verify the ICV (constant
 * time, before any plaintext is looked at), decrypt, check padding and next
 * header, and return the inner packet behind the original link header.
 */
#include <string.h>

#include <rte_ip.h>

#include "esp_private.h"

/* Link headers up to this long are moved with one fixed-size copy. */
#define LINK_COPY 16

/*
 * RFC 6040 section 4.2, figure 4 (it updates RFC 4301 section 5.1.2.1):
 * the inner ECN field after decapsulation, at [inner << 2 | outer]. ECN
 * codepoints: 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE. ECN_DROP: the outer
 * header says congestion, and the inner packet's transport would not
 * understand a mark: drop it, as a congested router would have.
 */
#define ECN_DROP 4
static const uint8_t ecn_decap[16] = {
    /* outer:  Not-ECT ECT(1) ECT(0) CE */
    /* Not-ECT */ 0, 0, 0, ECN_DROP,
    /* ECT(1)  */ 1, 1, 1, 3,
    /* ECT(0)  */ 2, 1, 2, 3,
    /* CE      */ 3, 3, 3, 3,
};

/* Set the ECN field of @p ip to @p ecn and update its checksum (RFC 1624). */
static __rte_noinline void
ecn_set(struct rte_ipv4_hdr *ip, uint32_t ecn)
{
	/* The header's first 16-bit word, before and after, in host order. */
	const uint32_t w0 = (uint32_t)ip->version_ihl << 8 | ip->type_of_service;
	const uint32_t w1 = (w0 & ~3u) | ecn;
	uint32_t sum = (uint16_t)~rte_be_to_cpu_16(ip->hdr_checksum) + (~w0 & 0xffff) + w1;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->type_of_service = (uint8_t)w1;
	ip->hdr_checksum = rte_cpu_to_be_16((uint16_t)~sum);
}

/* The ECN field of an IPv6 header: the low two bits of the traffic class,
 * bits 4-5 of its second byte. No checksum to update. */
static inline uint32_t
ecn6_of(const struct rte_ipv6_hdr *ip)
{
	return (((const uint8_t *)ip)[1] >> 4) & 3u;
}

static __rte_noinline void
ecn6_set(struct rte_ipv6_hdr *ip, uint32_t ecn)
{
	uint8_t *b1 = (uint8_t *)ip + 1;

	*b1 = (uint8_t)((*b1 & ~0x30u) | ecn << 4);
}

/*
 * The outer IPv6 header: version 6, payload length within the frame, and
 * the caller's m->l3_len (the ESP header's offset) the end of a chain of
 * extension headers ending in ESP. Returns 0 with that offset in @p l3 and
 * the outer packet's length in @p olen, or the drop reason + 1.
 */
static inline __attribute__((always_inline)) int
outer6_check(const struct rte_mbuf *m, uint32_t l2, uint32_t *l3, uint32_t *olen)
{
	const struct rte_ipv6_hdr *out;
	const uint8_t *p;
	uint32_t off = sizeof(*out), end = m->l3_len, nh;

	if (m->data_len < l2 + sizeof(*out))
		return GVPN_ESP_DROP_BAD_OUTER + 1;
	out = rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, l2);
	p = (const uint8_t *)out;
	*olen = sizeof(*out) + rte_be_to_cpu_16(out->payload_len);
	/* version 4 included: an IPv4 packet under an IPv6 SA */
	if ((p[0] >> 4) != 6 || *olen > m->data_len - l2 || end < off || end > *olen)
		return GVPN_ESP_DROP_BAD_OUTER + 1;
	nh = out->proto;
	/* The extension headers that may stand between the IPv6 header and
	 * ESP (RFC 8200 section 4.1): hop-by-hop options, routing and
	 * destination options; a fragment header means the packet was not
	 * reassembled. Most packets have none: the loop is not entered. Each
	 * header read is in the packet: off + 8 <= end <= olen. */
	while (off < end) {
		if (nh == IPPROTO_FRAGMENT)
			return GVPN_ESP_DROP_FRAGMENT + 1;
		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING && nh != IPPROTO_DSTOPTS)
			return GVPN_ESP_DROP_NOT_ESP + 1;
		if (off + 8 > end)
			return GVPN_ESP_DROP_BAD_OUTER + 1;
		nh = p[off];
		off += (p[off + 1] + 1u) * 8;
	}
	if (off != end)
		return GVPN_ESP_DROP_BAD_OUTER + 1;
	if (nh == IPPROTO_FRAGMENT)
		return GVPN_ESP_DROP_FRAGMENT + 1;
	if (nh != GVPN_IPPROTO_ESP)
		return GVPN_ESP_DROP_NOT_ESP + 1;
	*l3 = end;
	return 0;
}

/*
 * Padding bytes 1, 2, 3, ... (RFC 4303 section 2.4): @p pad of them end
 * before the Pad Length byte at ct[clen - 2]. Up to 15 of them, all a
 * 16-byte block can need, are checked at once: the 16 bytes in front of
 * the Pad Length byte, as two words, against a window of pad_want under a
 * window of pad_care (the window at @p pad holds 1..pad in its last pad
 * lanes, cared for). Those 16 bytes start at most 16 before the payload,
 * in the ESP header, IV and outer header. Longer padding, which a peer may
 * send, is checked byte by byte.
 */
static const uint8_t pad_want[32] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0,  0,  0,  0,
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};
static const uint8_t pad_care[32] = {
    0,	  0,	0,    0,    0,	  0,	0,    0,    0,	  0,	0,    0,    0,	  0,	0,    0,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

static inline int
pad_ok(const uint8_t *ct, uint32_t clen, uint32_t pad)
{
	if (likely(pad < 16)) {
		const uint8_t *p = ct + clen - 2 - 16;
		uint64_t d0, d1, w0, w1, c0, c1;

		memcpy(&d0, p, 8);
		memcpy(&d1, p + 8, 8);
		memcpy(&w0, pad_want + pad, 8);
		memcpy(&w1, pad_want + pad + 8, 8);
		memcpy(&c0, pad_care + pad, 8);
		memcpy(&c1, pad_care + pad + 8, 8);
		return (((d0 ^ w0) & c0) | ((d1 ^ w1) & c1)) == 0;
	}
	for (uint32_t i = 0; i < pad; i++)
		if (ct[clen - 2 - pad + i] != (uint8_t)(i + 1))
			return 0;
	return 1;
}

/*
 * The trailer of a payload whose ICV was good: padding, next header and,
 * where the SA stamps (@p ddd, per instance), the delay-detection stamp;
 * without one the next header must be the inner family's @p nh_inner.
 * Returns 0 with the inner packet's offset in @p off and the payload's
 * length up to the padding in @p ilen, or the drop reason + 1.
 */
static inline __attribute__((always_inline)) int
esp_trailer(const struct gvpn_esp_sa *sa, const uint8_t *ct, uint32_t clen, const int ddd,
	    const uint8_t nh_inner, uint32_t *ilen, uint32_t *off)
{
	const uint32_t pad = ct[clen - 2];
	const uint8_t nh = ct[clen - 1];

	if (pad + 2 > clen || !pad_ok(ct, clen, pad))
		return GVPN_ESP_DROP_BAD_PAD + 1;
	if (nh == ESP_NH_DUMMY)
		return GVPN_ESP_DROP_DUMMY + 1;
	*ilen = clen - 2 - pad;
	if (ddd)
		return sa->ddd_check(sa, ct, *ilen, nh, off);
	if (nh != nh_inner)
		return GVPN_ESP_DROP_BAD_NEXT_HDR + 1;
	*off = 0;
	return 0;
}

/*
 * Both families, from the ESP header on: the @p elen bytes at @p esp must
 * hold the ESP header, IV, whole blocks and the ICV, under the SA's SPI.
 * Returns 0 and fills @p op, or the drop reason + 1.
 */
static inline __attribute__((always_inline)) int
esp_check_esp(const struct gvpn_esp_sa *sa, struct esp_hdr *esp, uint32_t elen,
	      struct gvpn_crypto_op *op)
{
	uint32_t clen;

	if (elen < sa->esp_min)
		return GVPN_ESP_DROP_SHORT + 1;
	if (esp->spi != sa->spi)
		return GVPN_ESP_DROP_BAD_SPI + 1;
	clen = elen - sa->esp_ovh;
	if ((clen & sa->block_mask) != 0)
		return GVPN_ESP_DROP_BAD_LEN + 1;
	esp_op_fill(op, sa->sess, esp, sa->iv_len, clen);
	return 0;
}

/* IPv4 SA: returns 0 and fills @p op, or the drop reason + 1. */
static inline int
esp_check_one(const struct gvpn_esp_sa_state *st, struct rte_mbuf *m, struct gvpn_crypto_op *op)
{
	const struct gvpn_esp_sa *sa = st->sa;
	const uint32_t l2 = m->l2_len;
	struct rte_ipv4_hdr *out;
	uint32_t ihl, olen;

	if (m->nb_segs != 1)
		return GVPN_ESP_DROP_CHAINED + 1;
	if (m->data_len < l2 + sizeof(*out))
		return GVPN_ESP_DROP_BAD_OUTER + 1;
	out = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l2);
	ihl = (out->version_ihl & 0xf) * 4u;
	olen = rte_be_to_cpu_16(out->total_length);
	if ((out->version_ihl >> 4) != 4 || ihl < sizeof(*out) || olen < ihl ||
	    olen > m->data_len - l2)
		return GVPN_ESP_DROP_BAD_OUTER + 1;
	if (out->next_proto_id != GVPN_IPPROTO_ESP)
		return GVPN_ESP_DROP_NOT_ESP + 1;
	if ((out->fragment_offset &
	     rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0)
		return GVPN_ESP_DROP_FRAGMENT + 1;
	/* Link-layer padding of short frames is not part of the packet. */
	m->data_len = (uint16_t)(l2 + olen);
	m->pkt_len = m->data_len;

	return esp_check_esp(sa, (struct esp_hdr *)((uint8_t *)out + ihl), olen - ihl, op);
}

/*
 * The link header (@p l2 bytes at @p start) moved forward to @p dst, over
 * the outer headers it was in front of. Most are moved with two 8-byte
 * copies that may overlap each other, both within the link header: nothing
 * in front of it is read (the headroom's last line is cold). What is
 * stripped is longer than LINK_COPY, so source and destination do not
 * overlap.
 */
static inline __attribute__((always_inline)) void
link_move(uint8_t *dst, const uint8_t *start, uint32_t l2)
{
	RTE_BUILD_BUG_ON(sizeof(struct rte_ipv4_hdr) + sizeof(struct esp_hdr) < LINK_COPY);
	if (likely(l2 >= LINK_COPY / 2 && l2 <= LINK_COPY)) {
		uint64_t head, tail;

		memcpy(&head, start, sizeof(head));
		memcpy(&tail, start + l2 - sizeof(tail), sizeof(tail));
		memcpy(dst, &head, sizeof(head));
		memcpy(dst + l2 - sizeof(tail), &tail, sizeof(tail));
	} else {
		memmove(dst, start, l2);
	}
}

/* IPv4 SA, after a good ICV: trailer and inner header checks, then strip. */
static inline __attribute__((always_inline)) int
esp_decap_one(struct gvpn_esp_sa_state *st, struct rte_mbuf *m, const struct gvpn_crypto_op *op,
	      const int ddd)
{
	const uint32_t l2 = m->l2_len;
	struct rte_ipv4_hdr *in;
	uint32_t ilen, tlen, hdr, off, ecn, ecn_out;
	uint8_t *start;
	int why;

	why = esp_trailer(st->sa, op->data, op->data_len, ddd, ESP_NH_IPV4, &ilen, &off);
	if (why != 0)
		return why;
	ilen -= off;
	in = (struct rte_ipv4_hdr *)(op->data + off);
	if (ilen < sizeof(*in))
		return GVPN_ESP_DROP_BAD_INNER + 1;
	tlen = rte_be_to_cpu_16(in->total_length);
	/* The inner packet may be shorter than the payload: TFC padding
	 * (RFC 4303 2.7) follows it and is dropped here. */
	if ((in->version_ihl >> 4) != 4 || (in->version_ihl & 0xf) < 5 ||
	    tlen < (in->version_ihl & 0xfu) * 4 || tlen > ilen)
		return GVPN_ESP_DROP_BAD_INNER + 1;

	start = rte_pktmbuf_mtod(m, uint8_t *);
	/* Congestion marks set on the way (RFC 6040), read before the link
	 * header is moved over the outer one. Most packets keep their field:
	 * one test, and the rest is out of the way. */
	ecn = in->type_of_service & 3u;
	ecn_out = ecn_decap[ecn << 2 |
			    (((const struct rte_ipv4_hdr *)(start + l2))->type_of_service & 3u)];
	if (unlikely(ecn_out != ecn)) {
		if (ecn_out == ECN_DROP)
			return GVPN_ESP_DROP_CE_NOT_ECT + 1;
		ecn_set(in, ecn_out);
	}
	hdr = (uint32_t)(op->data - start) - l2 + off;
	link_move(op->data + off - l2, start, l2);
	/* Strip the outer header, ESP header, IV and stamp in front, and the
	 * TFC padding, trailer and ICV behind. */
	m->data_off += (uint16_t)hdr;
	m->data_len = (uint16_t)(l2 + tlen);
	m->pkt_len = m->data_len;
	m->l3_len = (in->version_ihl & 0xf) * 4u;
	st->dec_pkts++;
	st->dec_bytes += tlen;
	return 0;
}

/* IPv6 SA: as esp_check_one(), the outer header being IPv6. */
static inline int
esp_check_one6(const struct gvpn_esp_sa_state *st, struct rte_mbuf *m, struct gvpn_crypto_op *op)
{
	const struct gvpn_esp_sa *sa = st->sa;
	const uint32_t l2 = m->l2_len;
	uint32_t l3, olen;
	int why;

	if (m->nb_segs != 1)
		return GVPN_ESP_DROP_CHAINED + 1;
	why = outer6_check(m, l2, &l3, &olen);
	if (why != 0)
		return why;
	/* Link-layer padding of short frames is not part of the packet. */
	m->data_len = (uint16_t)(l2 + olen);
	m->pkt_len = m->data_len;

	return esp_check_esp(sa, rte_pktmbuf_mtod_offset(m, struct esp_hdr *, l2 + l3), olen - l3,
			     op);
}

/* IPv6 SA, after a good ICV: as esp_decap_one(), the inner packet being
 * IPv6 (version, payload length within the payload, the traffic class's
 * ECN bits merged per RFC 6040), and what is stripped in front the outer
 * IPv6 header with its extension headers, the ESP header, IV and stamp. */
static inline __attribute__((always_inline)) int
esp_decap_one6(struct gvpn_esp_sa_state *st, struct rte_mbuf *m, const struct gvpn_crypto_op *op,
	       const int ddd)
{
	const uint32_t l2 = m->l2_len;
	struct rte_ipv6_hdr *in;
	uint32_t ilen, tlen, hdr, off, ecn, ecn_out;
	uint8_t *start;
	int why;

	why = esp_trailer(st->sa, op->data, op->data_len, ddd, ESP_NH_IPV6, &ilen, &off);
	if (why != 0)
		return why;
	ilen -= off;
	in = (struct rte_ipv6_hdr *)(op->data + off);
	if (ilen < sizeof(*in))
		return GVPN_ESP_DROP_BAD_INNER + 1;
	tlen = sizeof(*in) + rte_be_to_cpu_16(in->payload_len);
	/* TFC padding may follow the inner packet, as for IPv4 */
	if ((*(const uint8_t *)in >> 4) != 6 || tlen > ilen)
		return GVPN_ESP_DROP_BAD_INNER + 1;

	start = rte_pktmbuf_mtod(m, uint8_t *);
	ecn = ecn6_of(in);
	ecn_out = ecn_decap[ecn << 2 | ecn6_of((const struct rte_ipv6_hdr *)(start + l2))];
	if (unlikely(ecn_out != ecn)) {
		if (ecn_out == ECN_DROP)
			return GVPN_ESP_DROP_CE_NOT_ECT + 1;
		ecn6_set(in, ecn_out);
	}
	hdr = (uint32_t)(op->data - start) - l2 + off;
	/* The link header, VLAN tags and all, moves as for IPv4; hdr > 40. */
	link_move(op->data + off - l2, start, l2);
	m->data_off += (uint16_t)hdr;
	m->data_len = (uint16_t)(l2 + tlen);
	m->pkt_len = m->data_len;
	m->l3_len = sizeof(*in);
	st->dec_pkts++;
	st->dec_bytes += tlen;
	return 0;
}

/* Before crypto: pkts[first, end), all of @p st's SA. */
static inline __attribute__((always_inline)) void
esp_check_run(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st, struct rte_mbuf *pkts[],
	      uint16_t first, uint16_t end, struct esp_burst *b, const int v6)
{
	for (uint16_t i = first; i < end; i++) {
		int why = v6 ? esp_check_one6(st, pkts[i], &lc->ops[b->nb_op])
			     : esp_check_one(st, pkts[i], &lc->ops[b->nb_op]);

		if (why != 0)
			esp_drop(lc, b, pkts[i], st, (enum gvpn_esp_drop)(why - 1));
		else
			b->op_pkt[b->nb_op++] = i;
	}
}

/* After crypto: operations [first, end) of @p b, all of @p st's SA. */
static inline __attribute__((always_inline)) void
esp_open_run(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st, struct rte_mbuf *pkts[],
	     uint16_t first, uint16_t end, struct esp_burst *b, const int v6, const int ddd)
{
	for (uint16_t k = first; k < end; k++) {
		struct rte_mbuf *m = pkts[b->op_pkt[k]];
		int why;

		if (lc->status[k] == GVPN_CRYPTO_AUTH_FAILED)
			why = GVPN_ESP_DROP_BAD_ICV + 1;
		else if (lc->status[k] != GVPN_CRYPTO_OK)
			why = GVPN_ESP_DROP_CRYPTO + 1;
		else
			why = v6 ? esp_decap_one6(st, m, &lc->ops[k], ddd)
				 : esp_decap_one(st, m, &lc->ops[k], ddd);
		if (why != 0)
			esp_drop(lc, b, m, st, (enum gvpn_esp_drop)(why - 1));
		else
			esp_keep(b, m, st);
	}
}

/* One instance of each step per family, and of the opening per stamp:
 * an SA without delay detection checks its next header inline. */
#define DECAP_INSTANCE(name, run, ...)                                                             \
	static void name(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st,                  \
			 struct rte_mbuf *pkts[], uint16_t first, uint16_t end,                    \
			 struct esp_burst *b)                                                      \
	{                                                                                          \
		run(lc, st, pkts, first, end, b, __VA_ARGS__);                                     \
	}
DECAP_INSTANCE(check4, esp_check_run, 0)
DECAP_INSTANCE(check6, esp_check_run, 1)
DECAP_INSTANCE(open4, esp_open_run, 0, 0)
DECAP_INSTANCE(open6, esp_open_run, 1, 0)
DECAP_INSTANCE(open4_ddd, esp_open_run, 0, 1)
DECAP_INSTANCE(open6_ddd, esp_open_run, 1, 1)
#undef DECAP_INSTANCE

void
esp_decap_select(struct gvpn_esp_sa *sa)
{
	static const esp_decap_fn open[2][2] = {{open4, open4_ddd}, {open6, open6_ddd}};
	const int v6 = sa->af == GVPN_AF_IPV6;

	sa->decap_check = v6 ? check6 : check4;
	sa->decap_open = open[v6][sa->ddd_len != 0];
}

uint16_t
gvpn_esp_decrypt_burst(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st[],
		       struct rte_mbuf *pkts[], uint16_t n)
{
	struct esp_burst b;

	RTE_ASSERT(n <= GVPN_ESP_BURST_MAX);
	b.nb_op = 0;
	b.nb_bad = 0;
	b.nb_good = 0;
	/* Runs of packets of one SA, each through its SA's family's steps;
	 * the runs keep the burst's order. */
	for (uint16_t i = 0, end; i < n; i = end) {
		for (end = i + 1; end < n && st[end] == st[i]; end++)
			;
		st[i]->sa->decap_check(lc, st[i], pkts, i, end, &b);
	}
	lc->backend->process(lc->engine, lc->ops, lc->status, b.nb_op, 1);
	for (uint16_t k = 0, end; k < b.nb_op; k = end) {
		struct gvpn_esp_sa_state *s = st[b.op_pkt[k]];

		for (end = k + 1; end < b.nb_op && st[b.op_pkt[end]] == s; end++)
			;
		s->sa->decap_open(lc, s, pkts, k, end, &b);
	}
	return esp_finish(pkts, st, &b);
}
