/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The outbound burst, clear -> protected (R20, R22): parse (parse_private.h),
 * flow lookup with the rule lookup on a miss (flow.c), then by decision
 * bypass / fail-open / encrypt (pre-fragmenting what would not fit the
 * protected MTU, fragment.c) / drop; encryption in bursts, then transmit.
 * IPv6 packets are gathered apart at parse and take their own flow lookup
 * and decision loop after the IPv4 one (outbound6()), into the same lists:
 * the IPv4 loops carry no per-packet test of the family.
 */
#include <rte_cycles.h>

#include "parse_private.h"

/* Largest inner packet whose ESP form, under an outer header of @p outer
 * bytes, fits @p mtu with SA @p sa. */
static inline uint32_t
max_inner(const struct gvpn_esp_sa *sa, uint16_t mtu, uint32_t outer)
{
	uint32_t room = mtu - outer - 8 - sa->iv_len - sa->icv_len;

	/* The delay-detection stamp is encrypted with the inner packet. */
	return (room & ~(uint32_t)sa->block_mask) - 2 - sa->ddd_len;
}

/* What a burst has made so far: packets to encrypt, and packets for the
 * protected port. */
struct out_lists {
	struct rte_mbuf *enc[MAX_OUT];
	struct gvpn_esp_sa_state *enc_st[MAX_OUT];
	struct rte_mbuf *to_prot[MAX_OUT + MAX_BURST];
	uint16_t ne, np;
};

/* Encrypt what is waiting and send it, with the rest of the protected
 * port's packets: at the end of a burst, and within one whose fragments
 * would not fit the lists. */
static void
out_flush(struct gvpn_worker *w, const struct gvpn_pair *pr, struct out_lists *o)
{
	for (uint16_t b = 0; b < o->ne; b += MAX_BURST) {
		uint16_t cnt = RTE_MIN(o->ne - b, MAX_BURST);
		uint16_t good = gvpn_esp_encrypt_burst(w->esp, &o->enc_st[b], &o->enc[b], cnt);

		for (uint16_t i = good; i < cnt; i++)
			rte_pktmbuf_free(o->enc[b + i]);
		for (uint16_t i = 0; i < good; i++)
			o->to_prot[o->np++] = o->enc[b + i];
		w->stats.encrypted += good;
		w->stats.port[pr->prot_idx].encrypted += good;
	}
	worker_tx(w, pr->prot, pr->prot_idx, o->to_prot, o->np);
	o->ne = 0;
	o->np = 0;
}

/* The decisions other than encryption with an SA: bypass, fail-open, punt,
 * no rule; and a TEK without an SA (fail-open rule or no_sa). @return 1 when
 * @p m was dealt with, 0 when slot *slot encrypts it. */
static inline int
out_clear(struct gvpn_worker *w, const struct gvpn_pair *pr, struct out_lists *o,
	  struct rte_mbuf *m, const struct flow_decision d, uint64_t now, uint16_t *slot)
{
	if (d.kind == FLOW_BYPASS) {
		w->stats.bypassed++;
		w->hits.bypass[d.arg]++;
		o->to_prot[o->np++] = m;
		return 1;
	}
	if (d.kind == FLOW_FAIL_OPEN) {
		w->stats.fail_open++;
		w->hits.fail_open[d.arg]++;
		o->to_prot[o->np++] = m;
		return 1;
	}
	if (d.kind == FLOW_PUNT) {
		worker_punt(w, pr->clear_idx, m, (enum punt_class)d.arg, now);
		return 1;
	}
	if (d.kind != FLOW_ENCRYPT) {
		worker_drop(w, m, GVPN_DROP_NO_RULE);
		return 1;
	}
	*slot = w->out_slot[d.arg];
	if (*slot == GVPN_SLOT_NONE) {
		if (d.fail_open) {
			w->stats.fail_open++;
			w->hits.fail_open[d.fail_open - 1]++;
			o->to_prot[o->np++] = m;
		} else {
			worker_drop(w, m, GVPN_DROP_NO_SA);
		}
		return 1;
	}
	return 0;
}

/* An IPv6 packet of the burst to the IPv6 lists, with its key. Out of line:
 * the IPv4 loop stays as small as it was. */
static __rte_noinline void
gather6(struct rte_mbuf *m, uint8_t proto, struct gvpn_acl_key6 keys[], struct rte_mbuf *pkts[],
	uint16_t *n)
{
	worker_key6(m, proto, &keys[*n], 0);
	pkts[(*n)++] = m;
}

/*
 * The burst's IPv6 packets, after its IPv4 ones: flow lookup in the IPv6
 * cache, then the same decisions. An SA's IPv6 packets have a 40-byte outer
 * header; one too big for the protected MTU is fragmented before encryption
 * with dataplane.ipv6_too_big = "fragment", else dropped (frag_needed) with
 * an ICMPv6 Packet Too Big to its source (into @p to_clear). A host may
 * always send IPv6's minimum MTU (RFC 8200 section 5): a packet of at most
 * 1280 bytes is fragmented either way, and a Packet Too Big never asks for
 * less.
 */
static __rte_noinline void
outbound6(struct gvpn_worker *w, const struct gvpn_pair *pr, struct out_lists *o,
	  struct rte_mbuf *pkts[], struct gvpn_acl_key6 keys[], uint16_t n, uint64_t now,
	  struct rte_mbuf *to_clear[], uint16_t *nc)
{
	uint64_t val[MAX_BURST];
	uint16_t limit_slot = GVPN_SLOT_NONE;
	uint32_t limit = 0;

	worker_lookup_flows6(w, keys, val, n);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ipv6_hdr *ip;
		uint32_t len;
		uint16_t slot;

		if (out_clear(w, pr, o, m, flow_decode(val[i]), now, &slot))
			continue;
		ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, m->l2_len);
		if (unlikely(slot != limit_slot)) {
			limit_slot = slot;
			limit = max_inner(w->st[slot].sa, pr->mtu, sizeof(struct rte_ipv6_hdr));
		}
		len = sizeof(*ip) + rte_be_to_cpu_16(ip->payload_len);
		if (unlikely(len > limit)) {
			struct frag6_plan plan;
			int k;

			if (w->conf.ipv6_too_big != GVPN_IPV6_TOO_BIG_FRAGMENT &&
			    len > IPV6_MIN_MTU) {
				worker_icmp6_too_big(w, m, keys[i].proto,
						     RTE_MAX(limit, (uint32_t)IPV6_MIN_MTU), now,
						     to_clear, nc);
				worker_drop(w, m, GVPN_DROP_FRAG_NEEDED);
				continue;
			}
			worker_frag6_plan(m, limit, &plan);
			if (plan.count > (uint32_t)(MAX_OUT - o->ne))
				out_flush(w, pr, o);
			k = worker_fragment6(w, m, &plan, &o->enc[o->ne], MAX_OUT - o->ne);
			for (int f = 0; f < k; f++)
				o->enc_st[o->ne + f] = &w->st[slot];
			o->ne += k > 0 ? k : 0;
			continue;
		}
		if (unlikely(o->ne == MAX_OUT))
			out_flush(w, pr, o);
		o->enc_st[o->ne] = &w->st[slot];
		o->enc[o->ne++] = m;
	}
}

void
gvpn_worker_outbound(struct gvpn_worker *w, uint16_t pair, struct rte_mbuf *pkts[], uint16_t n)
{
	const struct gvpn_pair *pr = &w->conf.pairs[pair];
	struct rte_mbuf *ip_pkts[MAX_BURST], *to_clear[MAX_BURST], *ip6_pkts[MAX_BURST];
	struct gvpn_acl_key keys[MAX_BURST];
	struct gvpn_acl_key6 keys6[MAX_BURST];
	uint64_t val[MAX_BURST], now = rte_rdtsc();
	struct out_lists o;
	uint16_t nip = 0, nip6 = 0, nc = 0, limit_slot = GVPN_SLOT_NONE;
	uint8_t proto6 = 0;
	uint32_t limit = 0;
	uint64_t rx_bytes = 0;

	o.ne = 0;
	o.np = 0;
	for (uint16_t i = 0; i < n && i < PREFETCH_AHEAD; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		rte_be16_t vlan = 0;

		if (i + PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_AHEAD], void *));
		rx_bytes += m->pkt_len;
		switch (worker_parse(w, &m, now, w->conf.punt_port[pr->clear_idx].address, &proto6,
				     &vlan)) {
		case FRAME_IPV4:
			worker_key(m, &keys[nip], 0, vlan);
			ip_pkts[nip++] = m;
			break;
		case FRAME_IPV6:
			gather6(m, proto6, keys6, ip6_pkts, &nip6);
			break;
		case FRAME_PUNT:
			worker_punt(w, pr->clear_idx, m, PUNT_CONTROL, now);
			break;
		case FRAME_L2_PASS:
			w->stats.l2_passed++;
			o.to_prot[o.np++] = m;
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
		uint16_t slot;

		if (out_clear(w, pr, &o, m, flow_decode(val[i]), now, &slot))
			continue;
		const struct rte_ipv4_hdr *ip =
		    rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);

		/* A burst's packets mostly share one SA: its limit is worked
		 * out when the SA changes. */
		if (unlikely(slot != limit_slot)) {
			limit_slot = slot;
			limit = max_inner(w->st[slot].sa, pr->mtu, sizeof(struct rte_ipv4_hdr));
		}
		if (likely(rte_be_to_cpu_16(ip->total_length) <= limit)) {
			if (unlikely(o.ne == MAX_OUT))
				out_flush(w, pr, &o);
			o.enc_st[o.ne] = &w->st[slot];
			o.enc[o.ne++] = m;
			continue;
		}
		/* R22: fragment before encryption, or refuse a DF packet. */
		if ((ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) &&
		    w->conf.inner_df == GVPN_INNER_DF_HONOR) {
			worker_icmp_too_big(w, m, (uint16_t)limit, to_clear, &nc);
			worker_drop(w, m, GVPN_DROP_FRAG_NEEDED);
			continue;
		}
		if (worker_frag_count(m, limit) > (uint32_t)(MAX_OUT - o.ne))
			out_flush(w, pr, &o);
		int k = worker_fragment(w, m, limit, &o.enc[o.ne], MAX_OUT - o.ne);
		for (int f = 0; f < k; f++)
			o.enc_st[o.ne + f] = &w->st[slot];
		o.ne += k > 0 ? k : 0;
	}
	if (unlikely(nip6 != 0))
		outbound6(w, pr, &o, ip6_pkts, keys6, nip6, now, to_clear, &nc);
	out_flush(w, pr, &o);
	worker_tx(w, pr->clear, pr->clear_idx, to_clear, nc);
}
