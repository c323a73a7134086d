/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The inbound burst, protected -> clear (R21): parse and reassemble
 * (parse_private.h, fragment.c), decrypt-flow lookup (ESP + SPI) and SPI
 * lookup on a miss (here, per packet), verify + decrypt, then the inner
 * packet must match the SA's selectors. Clear packets go through the flow
 * cache and the rules (flow.c): bypass and fail-open pass, anything a group
 * policy covers must have come encrypted. IPv6 packets are gathered apart at
 * parse, ESP (its SPI looked up as IPv4's) and clear, and are decrypted,
 * checked and classified after the IPv4 ones: the IPv4 loops carry no
 * per-packet test of the family.
 */
#include <rte_cycles.h>

#include "parse_private.h"

/*
 * The SA of one burst's ESP packets. A burst usually carries one or a few
 * SPIs, so the last one looked up is remembered for the rest of the burst:
 * a packet with the same SPI takes its slot without a hash lookup, and is
 * counted as the flow hit the lookup would have been.
 */
struct spi_memo {
	rte_be32_t spi;
	uint16_t slot; /* GVPN_SLOT_NONE: nothing remembered */
};

/* ESP at l3_len in an IP packet of @p len bytes (either family): decrypt
 * flow (ESP + SPI), else SPI table; returns the slot or NONE. */
static inline uint16_t
lookup_sa(struct gvpn_worker *w, const struct rte_mbuf *m, uint32_t len, struct spi_memo *memo,
	  uint64_t *memo_hits)
{
	struct gvpn_acl_key k;
	struct flow_decision dec;
	rte_be32_t spi;
	uint16_t slot;
	void *data;

	if (len < m->l3_len + 8u)
		return GVPN_SLOT_NONE; /* the ESP stage counts it as short */
	memcpy(&spi, rte_pktmbuf_mtod_offset(m, const uint8_t *, m->l2_len + m->l3_len),
	       sizeof(spi));
	if (spi == memo->spi && memo->slot != GVPN_SLOT_NONE) {
		(*memo_hits)++; /* added to the flow hits once per burst */
		return memo->slot;
	}
	worker_decrypt_key(&k, spi);
	if (rte_hash_lookup_data(w->flows, &k, &data) >= 0) {
		w->stats.flow_hits++;
		memo->spi = spi;
		memo->slot = flow_decode((uintptr_t)data).arg;
		return memo->slot;
	}
	w->stats.flow_misses++;
	if (rte_hash_lookup_data(w->spis, &spi, &data) < 0)
		return GVPN_SLOT_NONE;
	slot = (uint16_t)(uintptr_t)data;
	/* Decrypt flows carry no generation: SA deletion removes its own. */
	dec = (struct flow_decision){.kind = FLOW_DECRYPT, .arg = slot};
	if (rte_hash_add_key_data(w->flows, &k, (void *)(uintptr_t)flow_encode(dec)) < 0) {
		w->stats.flow_full++;
	} else {
		memo->spi = spi;
		memo->slot = slot;
	}
	return slot;
}

/* The ports of a decrypted IPv4 packet (@p ip its header) against a
 * selector's ranges. A later fragment carries no ports: it passes; a packet
 * of a protocol without ports has ports 0, as in its flow key. */
static __rte_noinline int
inner_ports(const struct gvpn_sel4 *s, const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip)
{
	struct gvpn_acl_key k;

	if ((ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) != 0)
		return 1;
	worker_key(m, &k, 1, 0);
	return gvpn_sel4_match_ports(s, rte_be_to_cpu_16(k.sport), rte_be_to_cpu_16(k.dport));
}

/* R21: the decrypted packet must be traffic the SA protects: its addresses
 * and protocol against each compiled selector, then the ports where the
 * selector has ranges. */
static int
inner_allowed(const struct gvpn_sa_rt *sa, const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip =
	    rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);
	const uint64_t addrs = gvpn_sel4_addrs(ip);

	for (uint8_t i = 0; i < sa->n_sel4; i++) {
		const struct gvpn_sel4 *s = &sa->sel4[i];

		if (gvpn_sel4_match_addrs(s, addrs, ip->next_proto_id) &&
		    (likely(!s->ports) || inner_ports(s, m, ip)))
			return 1;
	}
	return 0;
}

/* R21 for IPv6: the decrypted packet (l3_len 40) must be traffic the SA
 * protects. Its extension headers are walked to the upper-layer protocol; a
 * fragment other than the first carries no ports, so only its addresses and
 * protocol count. A packet that does not parse is outside. */
static int
inner_allowed6(const struct gvpn_sa_rt *sa, const struct rte_mbuf *m)
{
	const uint8_t *ip6 = rte_pktmbuf_mtod_offset(m, const uint8_t *, m->l2_len);
	const struct rte_ipv6_hdr *h = (const struct rte_ipv6_hdr *)ip6;
	struct ipv6_walk r;
	uint16_t sport = 0, dport = 0;
	uint32_t len;

	if (m->data_len < m->l2_len + sizeof(*h) || (ip6[0] >> 4) != 6)
		return 0;
	len = sizeof(*h) + rte_be_to_cpu_16(h->payload_len);
	if (len > m->data_len - (uint32_t)m->l2_len || worker_ipv6_walk(ip6, len, &r) != 0)
		return 0;
	if (!r.later && worker_has_ports(r.proto) && len >= r.upper + 4) {
		sport = (uint16_t)(ip6[r.upper] << 8 | ip6[r.upper + 1]);
		dport = (uint16_t)(ip6[r.upper + 2] << 8 | ip6[r.upper + 3]);
	}
	for (uint8_t i = 0; i < sa->n_sel; i++) {
		if (likely(!r.later)) {
			if (gvpn_selector_match6(&sa->sel[i], h->src_addr, h->dst_addr, r.proto,
						 sport, dport))
				return 1;
			continue;
		}
		struct gvpn_selector s = sa->sel[i];

		s.sport_lo = s.dport_lo = 0;
		s.sport_hi = s.dport_hi = 65535;
		if (gvpn_selector_match6(&s, h->src_addr, h->dst_addr, r.proto, sport, dport))
			return 1;
	}
	return 0;
}

/* Decrypted packets of one family (@p allowed its inner check) to the clear
 * port's list; those outside their SA's selectors are dropped. */
static inline void
in_decrypt(struct gvpn_worker *w, const struct gvpn_pair *pr, struct rte_mbuf *dec[],
	   struct gvpn_esp_sa_state *dec_st[], uint16_t nd, struct rte_mbuf *to_clear[],
	   uint16_t *nc, int (*allowed)(const struct gvpn_sa_rt *, const struct rte_mbuf *))
{
	uint16_t good = gvpn_esp_decrypt_burst(w->esp, dec_st, dec, nd), outside = 0;

	for (uint16_t i = good; i < nd; i++)
		rte_pktmbuf_free(dec[i]);
	for (uint16_t i = 0; i < good; i++) {
		const struct gvpn_sa_rt *sa = w->sa[dec_st[i] - w->st];

		if (unlikely(!allowed(sa, dec[i]))) {
			dec_st[i]->drops.inner_policy++;
			worker_drop(w, dec[i], GVPN_DROP_INNER_POLICY);
			outside++;
			continue;
		}
		to_clear[(*nc)++] = dec[i];
	}
	w->stats.decrypted += good - outside;
	w->stats.port[pr->clear_idx].decrypted += good - outside;
}

/* A clear packet from the protected side, by its flow's decision. */
static inline void
in_clear(struct gvpn_worker *w, const struct gvpn_pair *pr, struct rte_mbuf *m,
	 const struct flow_decision d, struct rte_mbuf *to_clear[], uint16_t *nc, uint64_t now)
{
	switch (d.kind) {
	case FLOW_BYPASS:
		w->stats.bypassed++;
		w->hits.bypass[d.arg]++;
		to_clear[(*nc)++] = m;
		break;
	case FLOW_FAIL_OPEN:
		w->stats.fail_open++;
		w->hits.fail_open[d.arg]++;
		to_clear[(*nc)++] = m;
		break;
	case FLOW_CLEAR_IN_POLICY:
		worker_drop(w, m, GVPN_DROP_CLEAR_IN_POLICY);
		break;
	case FLOW_PUNT:
		worker_punt(w, pr->prot_idx, m, (enum punt_class)d.arg, now);
		break;
	default:
		worker_drop(w, m, GVPN_DROP_NO_RULE);
		break;
	}
}

/* The burst's IPv6 packets, after its IPv4 ones: ESP decrypted and checked,
 * then the clear ones through the IPv6 flow cache. */
struct in6_lists {
	struct rte_mbuf *dec[MAX_BURST], *clear[MAX_BURST];
	struct gvpn_esp_sa_state *dec_st[MAX_BURST];
	struct gvpn_acl_key6 keys[MAX_BURST];
	uint16_t nd, ncl;
};

/* An IPv6 packet of the burst to its list: ESP by its SA, or clear. Out of
 * line: the IPv4 loop stays as small as it was. */
static __rte_noinline void
gather6(struct gvpn_worker *w, struct rte_mbuf *m, uint8_t proto, struct in6_lists *l,
	struct spi_memo *memo, uint64_t *memo_hits)
{
	uint16_t slot;

	if (proto != GVPN_IPPROTO_ESP) {
		worker_key6(m, proto, &l->keys[l->ncl], 1);
		l->clear[l->ncl++] = m;
		return;
	}
	slot = lookup_sa(w, m, worker_ipv6_len(m), memo, memo_hits);
	if (slot == GVPN_SLOT_NONE || w->sa[slot] == NULL) {
		worker_drop(w, m, GVPN_DROP_NO_SA);
		return;
	}
	l->dec_st[l->nd] = &w->st[slot];
	l->dec[l->nd++] = m;
}

static __rte_noinline void
inbound6(struct gvpn_worker *w, const struct gvpn_pair *pr, struct in6_lists *l,
	 struct rte_mbuf *to_clear[], uint16_t *nc, uint64_t now)
{
	uint64_t val[MAX_BURST];

	if (l->nd != 0)
		in_decrypt(w, pr, l->dec, l->dec_st, l->nd, to_clear, nc, inner_allowed6);
	worker_lookup_flows6(w, l->keys, val, l->ncl);
	for (uint16_t i = 0; i < l->ncl; i++)
		in_clear(w, pr, l->clear[i], flow_decode(val[i]), to_clear, nc, now);
}

void
gvpn_worker_inbound(struct gvpn_worker *w, uint16_t pair, struct rte_mbuf *pkts[], uint16_t n)
{
	const struct gvpn_pair *pr = &w->conf.pairs[pair];
	struct rte_mbuf *clear[MAX_BURST], *to_clear[MAX_BURST], *dec[MAX_BURST];
	struct gvpn_esp_sa_state *dec_st[MAX_BURST];
	struct gvpn_acl_key keys[MAX_BURST];
	uint64_t val[MAX_BURST], now = rte_rdtsc();
	uint16_t ncl = 0, nc = 0, nd = 0;
	struct spi_memo memo = {.spi = 0, .slot = GVPN_SLOT_NONE};
	uint64_t rx_bytes = 0, memo_hits = 0;
	struct in6_lists l6;
	uint8_t proto6 = 0;

	l6.nd = 0;
	l6.ncl = 0;

	for (uint16_t i = 0; i < n && i < PREFETCH_AHEAD; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		rte_be16_t vlan = 0;
		uint16_t slot;

		if (i + PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
		rx_bytes += m->pkt_len;
		switch (worker_parse(w, &m, now, w->conf.punt_port[pr->prot_idx].address, &proto6,
				     &vlan)) {
		case FRAME_IPV4:
			break;
		case FRAME_IPV6:
			gather6(w, m, proto6, &l6, &memo, &memo_hits);
			continue;
		case FRAME_PUNT:
			worker_punt(w, pr->prot_idx, m, PUNT_CONTROL, now);
			continue;
		case FRAME_L2_PASS:
			w->stats.l2_passed++;
			to_clear[nc++] = m;
			continue;
		default:
			continue;
		}
		const struct rte_ipv4_hdr *ip =
		    rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);

		if (ip->next_proto_id != GVPN_IPPROTO_ESP) {
			worker_key(m, &keys[ncl], 1, vlan);
			clear[ncl++] = m;
			continue;
		}
		slot = lookup_sa(w, m, rte_be_to_cpu_16(ip->total_length), &memo, &memo_hits);
		if (slot == GVPN_SLOT_NONE || w->sa[slot] == NULL) {
			worker_drop(w, m, GVPN_DROP_NO_SA);
			continue;
		}
		dec_st[nd] = &w->st[slot];
		dec[nd++] = m;
	}

	w->stats.flow_hits += memo_hits;
	w->stats.port[pr->prot_idx].rx_pkts += n;
	w->stats.port[pr->prot_idx].rx_bytes += rx_bytes;
	if (nd != 0)
		in_decrypt(w, pr, dec, dec_st, nd, to_clear, &nc, inner_allowed);
	worker_lookup_flows(w, keys, val, ncl);
	for (uint16_t i = 0; i < ncl; i++)
		in_clear(w, pr, clear[i], flow_decode(val[i]), to_clear, &nc, now);
	if (unlikely(l6.nd + l6.ncl != 0))
		inbound6(w, pr, &l6, to_clear, &nc, now);
	worker_tx(w, pr->clear, pr->clear_idx, to_clear, nc);
}
