/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Outbound: inner IPv4 packet -> outer IPv4 (inner addresses, DSCP/ECN,
 * DF policy) | ESP header | IV | [delay-detection stamp] | inner packet |
 * padding | pad length | next header | ICV.
 */
#include <string.h>

#include <rte_ip.h>

#include "esp_private.h"

/* Link headers up to this long are moved with one fixed-size copy. */
#define LINK_COPY 16

/* Padding bytes of RFC 4303 2.4, for blocks up to 16 bytes. */
static const uint8_t pad_bytes[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/*
 * Complement of a one's-complement sum (RFC 1071) of 16-bit words taken as
 * they lie in memory. As rte_ipv4_cksum(), a sum of 0xffff gives 0xffff.
 */
static inline rte_be16_t
cksum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff ? (rte_be16_t)sum : (rte_be16_t)~sum;
}

/* Validate the inner packet and build the ESP packet around it, leaving
 * the crypto operation in @p op. Returns 0 or the drop reason + 1. */
static inline int
esp_encap_one(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st, struct rte_mbuf *m,
	      struct gvpn_crypto_op *op)
{
	const struct gvpn_esp_sa *sa = st->sa;
	const uint32_t l2 = m->l2_len;
	/* Bytes put in front of the inner packet. */
	const uint32_t hdr =
		sizeof(struct rte_ipv4_hdr) + sizeof(struct esp_hdr) + sa->iv_len + sa->ddd_len;
	struct rte_ipv4_hdr *in, *out;
	uint32_t ilen, ihl, clen, pad, tail, src, dst;
	rte_be16_t vtos, tlen, id, frag, ttlp;
	uint8_t *start, *payload, *trailer;
	struct esp_hdr *esp;

	if (m->nb_segs != 1)
		return GVPN_ESP_DROP_CHAINED + 1;
	if (m->data_len < l2 + sizeof(*in))
		return GVPN_ESP_DROP_BAD_INNER + 1;
	in = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l2);
	ihl = (in->version_ihl & 0xf) * 4u;
	ilen = rte_be_to_cpu_16(in->total_length);
	if ((in->version_ihl >> 4) != 4 || ihl < sizeof(*in) || ilen < ihl || ilen > m->data_len - l2)
		return GVPN_ESP_DROP_BAD_INNER + 1;
	clen = (sa->ddd_len + ilen + 2 + sa->block_mask) & ~(uint32_t)sa->block_mask;
	pad = clen - sa->ddd_len - ilen - 2;
	tail = pad + 2 + sa->icv_len;
	/* Link-layer padding of short frames is not part of the packet: the
	 * frame becomes link header | hdr | inner packet | tail in one step. */
	if (unlikely(rte_pktmbuf_headroom(m) < hdr ||
		     (uint32_t)m->data_off + l2 + ilen + tail > m->buf_len))
		return GVPN_ESP_DROP_NO_ROOM + 1;
	m->data_off -= (uint16_t)hdr;
	m->data_len = (uint16_t)(l2 + hdr + ilen + tail);
	m->pkt_len = m->data_len;
	start = rte_pktmbuf_mtod(m, uint8_t *);
	if (likely(l2 <= LINK_COPY)) {
		/* One fixed-size copy: what it writes past the link header is
		 * the outer header's start, written below; hdr > LINK_COPY, so
		 * source and destination do not overlap. */
		RTE_BUILD_BUG_ON(sizeof(struct rte_ipv4_hdr) + sizeof(struct esp_hdr) < LINK_COPY);
		memcpy(start, start + hdr, LINK_COPY);
	} else {
		memmove(start, start + hdr, l2);
	}

	out = (struct rte_ipv4_hdr *)(start + l2);
	in = (struct rte_ipv4_hdr *)(start + l2 + hdr);
	/* The outer header's words are made in registers and its checksum
	 * summed from them: reading back what was just stored, in other
	 * widths, would stall on store forwarding. */
	vtos = rte_cpu_to_be_16((uint16_t)(RTE_IPV4_VHL_DEF << 8 | in->type_of_service));
	tlen = rte_cpu_to_be_16((uint16_t)(hdr + ilen + tail));
	id = rte_cpu_to_be_16(lc->ip_id++);
	frag = (in->fragment_offset & sa->df_keep) | sa->df_set;
	ttlp = rte_cpu_to_be_16((uint16_t)((sa->ttl != 0 ? sa->ttl : in->time_to_live) << 8 |
					   GVPN_IPPROTO_ESP));
	src = in->src_addr;
	dst = in->dst_addr;
	memcpy(&out->version_ihl, &vtos, sizeof(vtos));
	out->total_length = tlen;
	out->packet_id = id;
	out->fragment_offset = frag;
	memcpy(&out->time_to_live, &ttlp, sizeof(ttlp));
	out->src_addr = src;
	out->dst_addr = dst;
	out->hdr_checksum = cksum_fold((uint64_t)vtos + tlen + id + frag + ttlp + src + dst);

	esp = (struct esp_hdr *)(out + 1);
	esp->spi = sa->spi;
	esp->seq = rte_cpu_to_be_32(++st->seq);
	payload = (uint8_t *)(esp + 1) + sa->iv_len;
	sa->gen_iv(st, &lc->rng, (uint8_t *)(esp + 1));
	sa->ddd_stamp(payload);

	/* RFC 4303 2.4: padding bytes 1, 2, 3, ...; pad <= block_mask < 16.
	 * Where the ICV's room follows, one 16-byte copy writes them (the
	 * bytes past the padding are overwritten by the trailer and ICV). */
	trailer = payload + sa->ddd_len + ilen;
	if (likely(tail >= sizeof(pad_bytes)))
		memcpy(trailer, pad_bytes, sizeof(pad_bytes));
	else
		for (uint32_t i = 0; i < pad; i++)
			trailer[i] = pad_bytes[i];
	trailer[pad] = (uint8_t)pad;
	trailer[pad + 1] = sa->next_hdr;

	op->sess = sa->sess;
	op->iv = (const uint8_t *)(esp + 1);
	op->auth = (const uint8_t *)esp;
	op->auth_len = (uint32_t)sizeof(*esp) + sa->iv_len + clen;
	op->data = payload;
	op->data_len = clen;
	op->icv = payload + clen;

	m->l3_len = sizeof(*out);
	m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	st->pkts++;
	st->bytes += ilen;
	return 0;
}

uint16_t
gvpn_esp_encrypt_burst(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st[],
		       struct rte_mbuf *pkts[], uint16_t n)
{
	struct esp_burst b;

	RTE_ASSERT(n <= GVPN_ESP_BURST_MAX);
	b.nb_op = 0;
	b.nb_bad = 0;
	b.nb_good = 0;
	for (uint16_t i = 0; i < n; i++) {
		int why = esp_encap_one(lc, st[i], pkts[i], &lc->ops[b.nb_op]);

		if (why != 0)
			esp_drop(lc, &b, pkts[i], st[i], (enum gvpn_esp_drop)(why - 1));
		else
			b.op_pkt[b.nb_op++] = i;
	}
	lc->backend->process(lc->engine, lc->ops, lc->status, b.nb_op, 0);
	for (uint16_t k = 0; k < b.nb_op; k++) {
		struct rte_mbuf *m = pkts[b.op_pkt[k]];

		if (lc->status[k] == GVPN_CRYPTO_OK)
			esp_keep(&b, m, st[b.op_pkt[k]]);
		else
			esp_drop(lc, &b, m, st[b.op_pkt[k]], GVPN_ESP_DROP_CRYPTO);
	}
	return esp_finish(pkts, st, &b);
}
