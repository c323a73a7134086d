/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exception path, worker side. Frames for the box itself (decided by
 * the rule table's punt rules, or ARP for a port's address at parse) go to
 * the control core through the worker's own ring, which it moves to the
 * port's kernel interface. Each port has two rate budgets per worker, so a
 * flood at the box's address is dropped here, counted, before it costs the
 * control core anything, and cannot use up the budget of the key servers'
 * packets (and ARP), which have their own. The kernel's frames come back
 * through inject rings that one worker drains onto its own TX queue of the
 * port: no queue is shared, and the control core never transmits on a port.
 * No system call, lock or allocation here.
 */
#include <rte_cycles.h>

#include "worker_private.h"

/* The most frames a budget lets through at once, at least: a key server's
 * reply and its fragments, an ARP exchange. */
#define PUNT_BURST_MIN 32

void
worker_punt_init(struct gvpn_worker *w)
{
	const uint64_t hz = rte_get_tsc_hz();

	for (uint16_t p = 0; p < GVPN_MAX_PORTS; p++) {
		const struct gvpn_punt_port *pp = &w->conf.punt_port[p];

		if (pp->inject != NULL)
			w->has_inject = 1;
		for (unsigned int c = 0; c < PUNT_CLASSES; c++) {
			struct punt_bucket *b = &w->punt_bucket[p][c];
			uint64_t burst;

			b->tat = 0;
			b->cost = 0; /* no address: nothing is punted on the port */
			b->tau = 0;
			if (pp->address == 0 || pp->rate == 0)
				continue;
			b->cost = RTE_MAX(hz / pp->rate, (uint64_t)1);
			burst = RTE_MAX((uint64_t)PUNT_BURST_MIN, (uint64_t)pp->rate / 20);
			b->tau = burst * b->cost;
		}
	}
}

void
worker_punt(struct gvpn_worker *w, uint16_t port, struct rte_mbuf *m, enum punt_class cls,
	    uint64_t now)
{
	struct punt_bucket *b = &w->punt_bucket[port][cls];
	struct gvpn_port_stats *ps = &w->stats.port[port];

	if (unlikely(b->cost == 0)) {
		/* another port's address, arrived here */
		worker_drop(w, m, GVPN_DROP_PUNT_NO_INTERFACE);
		return;
	}
	if (now + b->tau < b->tat) {
		ps->punt_rate_dropped++;
		worker_drop(w, m, GVPN_DROP_PUNT_RATE);
		return;
	}
	m->port = port;
	if (unlikely(rte_ring_sp_enqueue(w->conf.punt, m) != 0)) {
		ps->punt_ring_full++;
		worker_drop(w, m, GVPN_DROP_PUNT_RING_FULL);
		return;
	}
	b->tat = RTE_MAX(b->tat, now) + b->cost;
	ps->punted++;
}

static void
inject_port(struct gvpn_worker *w, uint16_t port, uint16_t idx)
{
	struct rte_ring *r = w->conf.punt_port[idx].inject;
	struct rte_mbuf *pkts[MAX_BURST];
	uint64_t full;
	unsigned int n;

	if (r == NULL)
		return;
	n = rte_ring_sc_dequeue_burst(r, (void **)pkts, MAX_BURST, NULL);
	if (n == 0)
		return;
	full = w->stats.drop[GVPN_DROP_TX_FULL];
	worker_tx(w, port, idx, pkts, (uint16_t)n);
	w->stats.port[idx].injected += n - (w->stats.drop[GVPN_DROP_TX_FULL] - full);
}

void
worker_inject(struct gvpn_worker *w)
{
	for (uint16_t p = 0; p < w->conf.n_pairs; p++) {
		const struct gvpn_pair *pr = &w->conf.pairs[p];

		inject_port(w, pr->clear, pr->clear_idx);
		inject_port(w, pr->prot, pr->prot_idx);
	}
}
