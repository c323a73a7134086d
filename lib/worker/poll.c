/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's loop, one pass: the inbox first, then a burst from each
 * port pair's clear port (outbound.c) and protected port (inbound.c), then
 * the reassembly table's expiry (fragment.c).
 */
#include <rte_cycles.h>

#include "worker_private.h"

void
gvpn_worker_poll(struct gvpn_worker *w)
{
	struct rte_mbuf *pkts[MAX_BURST];

	worker_inbox_drain(w);
	if (unlikely(w->has_inject))
		worker_inject(w);
	for (uint16_t p = 0; p < w->conf.n_pairs; p++) {
		const struct gvpn_pair *pr = &w->conf.pairs[p];
		uint16_t n;

		n = rte_eth_rx_burst(pr->clear, w->conf.queue, pkts, w->conf.burst);
		if (n != 0)
			gvpn_worker_outbound(w, p, pkts, n);
		n = rte_eth_rx_burst(pr->prot, w->conf.queue, pkts, w->conf.burst);
		if (n != 0)
			gvpn_worker_inbound(w, p, pkts, n);
	}
	/* Only while a packet may wait: all of them have expired once the
	 * last fragment is older than the timeout. */
	if (unlikely(w->frag_held)) {
		const uint64_t now = rte_rdtsc();

		worker_frag_expire(w, now);
		if (now > w->frag_last + w->frag_ttl)
			w->frag_held = 0;
	}
	rte_ip_frag_free_death_row(&w->dr, 3);
}
