/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inbound: check lengths and SPI, verify the ICV (constant time, before any
 * plaintext is looked at), decrypt, check padding and next header, and
 * return the inner IPv4 packet behind the original link header.
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

/* Returns 0 and fills @p op, or the drop reason + 1. */
static inline int
esp_check_one(const struct gvpn_esp_sa_state *st, struct rte_mbuf *m, struct gvpn_crypto_op *op)
{
	const struct gvpn_esp_sa *sa = st->sa;
	const uint32_t l2 = m->l2_len;
	struct rte_ipv4_hdr *out;
	uint32_t ihl, olen, elen, clen;
	struct esp_hdr *esp;
	uint8_t *payload;

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

	elen = olen - ihl;
	if (elen < sizeof(*esp) + sa->iv_len + sa->icv_len + sa->block_mask + 1u)
		return GVPN_ESP_DROP_SHORT + 1;
	esp = (struct esp_hdr *)((uint8_t *)out + ihl);
	if (esp->spi != sa->spi)
		return GVPN_ESP_DROP_BAD_SPI + 1;
	clen = elen - (uint32_t)sizeof(*esp) - sa->iv_len - sa->icv_len;
	if ((clen & sa->block_mask) != 0)
		return GVPN_ESP_DROP_BAD_LEN + 1;

	payload = (uint8_t *)(esp + 1) + sa->iv_len;
	op->sess = sa->sess;
	op->iv = (const uint8_t *)(esp + 1);
	op->auth = (const uint8_t *)esp;
	op->auth_len = (uint32_t)sizeof(*esp) + sa->iv_len + clen;
	op->data = payload;
	op->data_len = clen;
	op->icv = payload + clen;
	return 0;
}

/* After a good ICV: trailer and inner header checks, then strip. */
static inline int
esp_decap_one(struct gvpn_esp_sa_state *st, struct rte_mbuf *m, const struct gvpn_crypto_op *op)
{
	const uint32_t l2 = m->l2_len;
	const uint8_t *ct = op->data;
	const uint32_t clen = op->data_len;
	struct rte_ipv4_hdr *in;
	uint32_t pad = ct[clen - 2], ilen, tlen, hdr, off, ecn, ecn_out;
	uint8_t *start;
	int why;

	if (pad + 2 > clen)
		return GVPN_ESP_DROP_BAD_PAD + 1;
	for (uint32_t i = 0; i < pad; i++)
		if (ct[clen - 2 - pad + i] != (uint8_t)(i + 1))
			return GVPN_ESP_DROP_BAD_PAD + 1;
	if (ct[clen - 1] == ESP_NH_DUMMY)
		return GVPN_ESP_DROP_DUMMY + 1;
	ilen = clen - 2 - pad;
	/* Next header, and the delay-detection stamp where the SA has one. */
	why = st->sa->ddd_check(st->sa, ct, ilen, ct[clen - 1], &off);
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
	if (likely(l2 >= LINK_COPY / 2 && l2 <= LINK_COPY)) {
		/* Two 8-byte copies that may overlap each other, both within
		 * the link header: nothing in front of it is read (the
		 * headroom's last line is cold), and hdr > LINK_COPY, so
		 * source and destination do not overlap. */
		uint8_t *dst = op->data + off - l2;
		uint64_t head, tail;

		RTE_BUILD_BUG_ON(sizeof(struct rte_ipv4_hdr) + sizeof(struct esp_hdr) < LINK_COPY);
		memcpy(&head, start, sizeof(head));
		memcpy(&tail, start + l2 - sizeof(tail), sizeof(tail));
		memcpy(dst, &head, sizeof(head));
		memcpy(dst + l2 - sizeof(tail), &tail, sizeof(tail));
	} else {
		memmove(op->data + off - l2, start, l2);
	}
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

uint16_t
gvpn_esp_decrypt_burst(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st[],
		       struct rte_mbuf *pkts[], uint16_t n)
{
	struct esp_burst b;

	RTE_ASSERT(n <= GVPN_ESP_BURST_MAX);
	b.nb_op = 0;
	b.nb_bad = 0;
	b.nb_good = 0;
	for (uint16_t i = 0; i < n; i++) {
		int why = esp_check_one(st[i], pkts[i], &lc->ops[b.nb_op]);

		if (why != 0)
			esp_drop(lc, &b, pkts[i], st[i], (enum gvpn_esp_drop)(why - 1));
		else
			b.op_pkt[b.nb_op++] = i;
	}
	lc->backend->process(lc->engine, lc->ops, lc->status, b.nb_op, 1);
	for (uint16_t k = 0; k < b.nb_op; k++) {
		uint16_t i = b.op_pkt[k];
		int why;

		if (lc->status[k] == GVPN_CRYPTO_AUTH_FAILED)
			why = GVPN_ESP_DROP_BAD_ICV + 1;
		else if (lc->status[k] != GVPN_CRYPTO_OK)
			why = GVPN_ESP_DROP_CRYPTO + 1;
		else
			why = esp_decap_one(st[i], pkts[i], &lc->ops[k]);
		if (why != 0)
			esp_drop(lc, &b, pkts[i], st[i], (enum gvpn_esp_drop)(why - 1));
		else
			esp_keep(&b, pkts[i], st[i]);
	}
	return esp_finish(pkts, st, &b);
}
