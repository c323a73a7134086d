/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Outbound, clear -> protected (R20, R22): parse, flow lookup, rule lookup
 * on a miss, then bypass / fail-open / encrypt (pre-fragmenting what would
 * not fit the protected MTU) / drop.
 */
#include <rte_cycles.h>

#include "worker_private.h"

/* Largest inner packet whose ESP form fits @p mtu with SA @p sa. */
static inline uint32_t
max_inner(const struct gvpn_esp_sa *sa, uint16_t mtu)
{
	uint32_t room = mtu - (uint32_t)sizeof(struct rte_ipv4_hdr) - 8 - sa->iv_len - sa->icv_len;

	/* The delay-detection stamp is encrypted with the inner packet. */
	return (room & ~(uint32_t)sa->block_mask) - 2 - sa->ddd_len;
}

void
gvpn_worker_outbound(struct gvpn_worker *w, uint16_t pair, struct rte_mbuf *pkts[], uint16_t n)
{
	const struct gvpn_pair *pr = &w->conf.pairs[pair];
	struct rte_mbuf *ip_pkts[MAX_BURST], *to_prot[MAX_OUT + MAX_BURST], *to_clear[MAX_BURST];
	struct rte_mbuf *enc[MAX_OUT];
	struct gvpn_esp_sa_state *enc_st[MAX_OUT];
	struct gvpn_acl_key keys[MAX_BURST];
	uint64_t val[MAX_BURST], now = rte_rdtsc();
	uint16_t nip = 0, np = 0, nc = 0, ne = 0, limit_slot = GVPN_SLOT_NONE;
	uint32_t limit = 0;
	uint64_t rx_bytes = 0;

	for (uint16_t i = 0; i < n && i < PREFETCH_AHEAD; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i + PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
		rx_bytes += m->pkt_len;
		switch (worker_parse(w, &m, now)) {
		case FRAME_IPV4:
			worker_key(m, &keys[nip], 0);
			ip_pkts[nip++] = m;
			break;
		case FRAME_L2_PASS:
			w->stats.l2_passed++;
			to_prot[np++] = m;
			break;
		default:
			break;
		}
	}
	w->stats.port[pr->clear_idx].rx_pkts += n;
	w->stats.port[pr->clear_idx].rx_bytes += rx_bytes;
	worker_lookup_flows(w, keys, val, nip);

	for (uint16_t i = 0; i < nip; i++) {
		struct rte_mbuf *m = ip_pkts[i];
		enum flow_kind kind = (enum flow_kind)(val[i] >> 24 & 0xff);
		uint32_t arg = val[i] & 0xffff;
		uint16_t slot;

		if (kind == FLOW_BYPASS) {
			w->stats.bypassed++;
			to_prot[np++] = m;
			continue;
		}
		if (kind == FLOW_FAIL_OPEN) {
			w->stats.fail_open++;
			to_prot[np++] = m;
			continue;
		}
		if (kind != FLOW_ENCRYPT) {
			worker_drop(w, m, GVPN_DROP_NO_RULE);
			continue;
		}
		slot = w->out_slot[arg];
		if (slot == GVPN_SLOT_NONE) {
			if (val[i] & FLOW_FO_BIT) {
				w->stats.fail_open++;
				to_prot[np++] = m;
			} else {
				worker_drop(w, m, GVPN_DROP_NO_SA);
			}
			continue;
		}
		const struct rte_ipv4_hdr *ip =
			rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);

		/* A burst's packets mostly share one SA: its limit is worked
		 * out when the SA changes. */
		if (unlikely(slot != limit_slot)) {
			limit_slot = slot;
			limit = max_inner(w->st[slot].sa, pr->mtu);
		}
		if (likely(rte_be_to_cpu_16(ip->total_length) <= limit)) {
			enc_st[ne] = &w->st[slot];
			enc[ne++] = m;
			continue;
		}
		/* R22: fragment before encryption, or refuse a DF packet. */
		if ((ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) &&
		    w->conf.inner_df == GVPN_INNER_DF_HONOR) {
			worker_icmp_too_big(w, m, (uint16_t)limit, to_clear, &nc);
			worker_drop(w, m, GVPN_DROP_FRAG_NEEDED);
			continue;
		}
		int k = worker_fragment(w, m, limit, &enc[ne], MAX_OUT - ne);
		for (int f = 0; f < k; f++)
			enc_st[ne + f] = &w->st[slot];
		ne += k > 0 ? k : 0;
	}

	for (uint16_t b = 0; b < ne; b += MAX_BURST) {
		uint16_t cnt = RTE_MIN(ne - b, MAX_BURST);
		uint16_t good = gvpn_esp_encrypt_burst(w->esp, &enc_st[b], &enc[b], cnt);

		for (uint16_t i = good; i < cnt; i++)
			rte_pktmbuf_free(enc[b + i]);
		for (uint16_t i = 0; i < good; i++)
			to_prot[np++] = enc[b + i];
		w->stats.encrypted += good;
	}
	worker_tx(w, pr->prot, pr->prot_idx, to_prot, np);
	worker_tx(w, pr->clear, pr->clear_idx, to_clear, nc);
}
