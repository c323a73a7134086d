/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The inbox: the control core posts typed messages (SA add / activate /
 * retire / delete, policy swap, flow flush, fail-open) to a worker's ring;
 * the worker applies them to its own tables between bursts and acks each on
 * a second ring, so every table has one writer and no lock.
 */
#include <errno.h>

#include <rte_ring.h>

#include "worker_private.h"

int
gvpn_worker_post(struct gvpn_worker *w, struct gvpn_msg *m)
{
	return rte_ring_sp_enqueue(w->inbox, m) == 0 ? 0 : -ENOBUFS;
}

unsigned int
gvpn_worker_acks(struct gvpn_worker *w, struct gvpn_msg *m[], unsigned int n)
{
	return rte_ring_sc_dequeue_burst(w->acks, (void **)m, n, NULL);
}

/* A counter-mode SA activated with the member's Sender-ID counts its IVs
 * in this worker's own part of the Sender-ID's space (RFC 6054 section 3),
 * once: an SA activated again goes on counting where it was.
 * @return 0, or -EINVAL / -ERANGE (gvpn_iv_space()). */
static int
sender_ivs(struct gvpn_worker *w, const struct gvpn_sa_rt *sa, const struct gvpn_msg *m)
{
	struct gvpn_esp_sa_state *st = &w->st[sa->slot];
	struct gvpn_iv_space sp;
	int rc;

	if (m->sid_bits == 0 || st->iv_space || !gvpn_esp_sa_counter_iv(sa->esp))
		return 0;
	rc = gvpn_iv_space(m->sid_bits, m->sid, w->conf.sender_bits, w->conf.id, &sp);
	if (rc == 0)
		gvpn_esp_sa_state_iv(st, sp.base, sp.count);
	return rc;
}

/* The hit counters of the rules that @p p gives an index another rule had
 * count from zero. */
static void
restart_hits(struct gvpn_worker *w, const struct gvpn_policy *p)
{
	for (unsigned int i = 0; i < GVPN_MAX_BYPASS; i++)
		if (p->restart_bypass >> i & 1)
			w->hits.bypass[i] = 0;
	for (unsigned int g = 0; g < GVPN_MAX_GROUPS; g++)
		for (unsigned int i = 0; i < GVPN_MAX_FAIL_OPEN; i++)
			if (p->restart_fail_open[g] >> i & 1)
				w->hits.fail_open[GVPN_FAIL_OPEN_HIT(g, i)] = 0;
}

/* Make the change @p m asks for. @return 0, or a negative errno. */
static int
apply(struct gvpn_worker *w, const struct gvpn_msg *m)
{
	const struct gvpn_sa_rt *sa = m->sa;
	int rc;

	switch (m->type) {
	case GVPN_MSG_SA_ADD:
		w->sa[sa->slot] = sa;
		gvpn_esp_sa_state_init(&w->st[sa->slot], sa->esp, w->esp);
		if (sa->decrypt) {
			/* Without its SPI here the SA still encrypts; ESP
			 * under it is dropped as no_sa. */
			rc = rte_hash_add_key_data(w->spis, &sa->esp->spi,
						   (void *)(uintptr_t)sa->slot);
			if (rc < 0)
				return rc;
		}
		break;
	case GVPN_MSG_SA_ACTIVATE:
		if ((rc = sender_ivs(w, sa, m)) != 0)
			return rc; /* it does not encrypt here */
		w->out_slot[sa->tek] = sa->slot;
		break;
	case GVPN_MSG_SA_RETIRE:
		if (w->out_slot[sa->tek] == sa->slot)
			w->out_slot[sa->tek] = GVPN_SLOT_NONE;
		break;
	case GVPN_MSG_SA_DELETE:
		if (w->out_slot[sa->tek] == sa->slot)
			w->out_slot[sa->tek] = GVPN_SLOT_NONE;
		rte_hash_del_key(w->spis, &sa->esp->spi);
		worker_flows_forget_spi(w, sa->esp->spi);
		w->sa[sa->slot] = NULL;
		gvpn_wipe(&w->st[sa->slot], sizeof(w->st[sa->slot]));
		break;
	case GVPN_MSG_POLICY_SWAP:
		w->policy = m->policy;
		worker_flows_invalidate(w);
		if (m->policy != NULL)
			restart_hits(w, m->policy);
		break;
	case GVPN_MSG_FLOW_FLUSH:
		worker_flows_flush(w);
		break;
	case GVPN_MSG_FAIL_OPEN:
		w->fail_open[m->group] = m->arg;
		worker_flows_invalidate(w);
		break;
	default:
		break;
	}
	return 0;
}

void
worker_inbox_drain(struct gvpn_worker *w)
{
	struct gvpn_msg *m[32];
	unsigned int n = rte_ring_sc_dequeue_burst(w->inbox, (void **)m, 32, NULL);

	for (unsigned int i = 0; i < n; i++)
		m[i]->result = apply(w, m[i]);
	if (n != 0) {
		w->stats.msgs += n;
		/* The ack ring is as large as the inbox: it cannot overflow
		 * while the control core waits for the acks it counts on. */
		rte_ring_sp_enqueue_burst(w->acks, (void **)m, n, NULL);
	}
}
