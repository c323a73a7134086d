/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The inbound burst, protected -> clear (R21): parse and reassemble
 * (parse_private.h, fragment.c), decrypt-flow lookup (ESP + SPI) and SPI
 * lookup on a miss (here, per packet), verify + decrypt, then the inner
 * packet must match the SA's selectors. Clear packets go through the flow
 * cache and the rules (flow.c): bypass and fail-open pass, anything a group
 * policy covers must have come encrypted.
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

/* ESP: decrypt flow (ESP + SPI), else SPI table; returns the slot or NONE. */
static inline uint16_t
lookup_sa(struct gvpn_worker *w, const struct rte_mbuf *m, struct spi_memo *memo,
	  uint64_t *memo_hits)
{
	const struct rte_ipv4_hdr *ip =
	    rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);
	struct gvpn_acl_key k;
	struct flow_decision dec;
	rte_be32_t spi;
	uint16_t slot;
	void *data;

	if (rte_be_to_cpu_16(ip->total_length) < m->l3_len + 8u)
		return GVPN_SLOT_NONE; /* the ESP stage counts it as short */
	memcpy(&spi, (const uint8_t *)ip + m->l3_len, sizeof(spi));
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

/* R21: the decrypted packet must be traffic the SA protects. A later
 * fragment carries no ports, so only its addresses and protocol count. */
static int
inner_allowed(const struct gvpn_sa_rt *sa, const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip =
	    rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);
	int later_fragment =
	    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) != 0;
	struct gvpn_acl_key k;

	uint32_t src, dst;
	uint16_t sport, dport;

	worker_key(m, &k, 1);
	src = rte_be_to_cpu_32(k.src);
	dst = rte_be_to_cpu_32(k.dst);
	sport = rte_be_to_cpu_16(k.sport);
	dport = rte_be_to_cpu_16(k.dport);
	for (uint8_t i = 0; i < sa->n_sel; i++) {
		if (likely(!later_fragment)) {
			if (gvpn_selector_match(&sa->sel[i], src, dst, k.proto, sport, dport))
				return 1;
			continue;
		}
		struct gvpn_selector s = sa->sel[i];

		s.sport_lo = s.dport_lo = 0;
		s.sport_hi = s.dport_hi = 65535;
		if (gvpn_selector_match(&s, src, dst, k.proto, sport, dport))
			return 1;
	}
	return 0;
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

	for (uint16_t i = 0; i < n && i < PREFETCH_AHEAD; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint16_t slot;

		if (i + PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
		rx_bytes += m->pkt_len;
		switch (worker_parse(w, &m, now, w->conf.punt_port[pr->prot_idx].address)) {
		case FRAME_IPV4:
			break;
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
		if (rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len)
			->next_proto_id != GVPN_IPPROTO_ESP) {
			worker_key(m, &keys[ncl], 1);
			clear[ncl++] = m;
			continue;
		}
		slot = lookup_sa(w, m, &memo, &memo_hits);
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
	if (nd != 0) {
		uint16_t good = gvpn_esp_decrypt_burst(w->esp, dec_st, dec, nd), outside = 0;

		for (uint16_t i = good; i < nd; i++)
			rte_pktmbuf_free(dec[i]);
		for (uint16_t i = 0; i < good; i++) {
			const struct gvpn_sa_rt *sa = w->sa[dec_st[i] - w->st];

			if (unlikely(!inner_allowed(sa, dec[i]))) {
				dec_st[i]->drops.inner_policy++;
				worker_drop(w, dec[i], GVPN_DROP_INNER_POLICY);
				outside++;
				continue;
			}
			to_clear[nc++] = dec[i];
		}
		w->stats.decrypted += good - outside;
		w->stats.port[pr->clear_idx].decrypted += good - outside;
	}

	worker_lookup_flows(w, keys, val, ncl);
	for (uint16_t i = 0; i < ncl; i++) {
		const struct flow_decision d = flow_decode(val[i]);

		switch (d.kind) {
		case FLOW_BYPASS:
			w->stats.bypassed++;
			w->hits.bypass[d.arg]++;
			to_clear[nc++] = clear[i];
			break;
		case FLOW_FAIL_OPEN:
			w->stats.fail_open++;
			w->hits.fail_open[d.arg]++;
			to_clear[nc++] = clear[i];
			break;
		case FLOW_CLEAR_IN_POLICY:
			worker_drop(w, clear[i], GVPN_DROP_CLEAR_IN_POLICY);
			break;
		case FLOW_PUNT:
			worker_punt(w, pr->prot_idx, clear[i], (enum punt_class)d.arg, now);
			break;
		default:
			worker_drop(w, clear[i], GVPN_DROP_NO_RULE);
			break;
		}
	}
	worker_tx(w, pr->clear, pr->clear_idx, to_clear, nc);
}
