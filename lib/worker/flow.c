/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The flow stage: a per-lcore cache of decisions by 5-tuple key, stamped
 * with the worker's generation so that a policy swap or fail-open change
 * makes them stale. A small set-associative front sits before the
 * rte_hash; what neither knows goes to the rule table (classify.c). The
 * decrypt flows (ESP + SPI) share the rte_hash, for both families (the SPI
 * decides); inbound.c looks them up. IPv6 flows have an rte_hash of their
 * own, keyed by struct gvpn_acl_key6, with no front: one generation and one
 * decision encoding serve both tables.
 */
#include <rte_hash.h>

#include "worker_private.h"

void
worker_flows_invalidate(struct gvpn_worker *w)
{
	w->gen++;
	if ((uint32_t)rte_hash_count(w->flows) > w->conf.flows / 2)
		rte_hash_reset(w->flows);
	if ((uint32_t)rte_hash_count(w->flows6) > w->conf.flows / 2)
		rte_hash_reset(w->flows6);
}

void
worker_flows_flush(struct gvpn_worker *w)
{
	rte_hash_reset(w->flows);
	rte_hash_reset(w->flows6);
	w->gen++;
}

void
worker_flows_forget_spi(struct gvpn_worker *w, rte_be32_t spi)
{
	struct gvpn_acl_key k;

	worker_decrypt_key(&k, spi);
	rte_hash_del_key(w->flows, &k);
}

static inline void
front_halves(const struct gvpn_acl_key *k, uint64_t *k0, uint64_t *k1)
{
	RTE_BUILD_BUG_ON(sizeof(*k) != 2 * sizeof(uint64_t));
	memcpy(k0, k, sizeof(*k0));
	memcpy(k1, (const uint8_t *)k + sizeof(*k0), sizeof(*k1));
}

/* A product's top bits depend on every bit of the factor: the set is taken
 * from them. */
static inline uint32_t
front_set(uint64_t k0, uint64_t k1)
{
	uint64_t h = (k0 ^ k1 * 0x9e3779b97f4a7c15ull) * 0xc2b2ae3d27d4eb4full;

	RTE_BUILD_BUG_ON((FRONT_SETS & (FRONT_SETS - 1)) != 0);
	return (uint32_t)(h >> (64 - __builtin_ctz(FRONT_SETS)));
}

/* Remember a decision in the front, as its set's most recent. */
static inline void
front_put(struct gvpn_worker *w, uint32_t set, const struct gvpn_acl_key *k, uint64_t val)
{
	struct flow_front_set *f = &w->front[set];
	uint64_t k0, k1;

	RTE_BUILD_BUG_ON(FRONT_WAYS != 2);
	front_halves(k, &k0, &k1);
	/* A key seen twice in one burst is not kept in both ways. */
	if (f->way[0].k0 != k0 || f->way[0].k1 != k1)
		f->way[1] = f->way[0];
	f->way[0].k0 = k0;
	f->way[0].k1 = k1;
	f->way[0].val = val;
}

void
worker_front_clear(struct gvpn_worker *w)
{
	for (uint32_t s = 0; s < FRONT_SETS; s++)
		for (uint32_t i = 0; i < FRONT_WAYS; i++) {
			w->front[s].way[i].k0 = FRONT_EMPTY;
			w->front[s].way[i].k1 = 0;
			w->front[s].way[i].val = 0;
		}
}

/*
 * The front first; the keys it did not know go to the rte_hash in bulk,
 * those it did not know either through the rule table. Hits are counted
 * once per burst.
 */
void
worker_lookup_flows(struct gvpn_worker *w, struct gvpn_acl_key keys[], uint64_t val[], uint32_t n)
{
	const void *kp[MAX_BURST];
	void *data[MAX_BURST];
	struct gvpn_acl_key *miss_key[MAX_BURST];
	uint64_t miss_val[MAX_BURST], hits;
	uint32_t set[MAX_BURST], idx[MAX_BURST], miss_idx[MAX_BURST], nf = 0, nm = 0;
	uint8_t ok[MAX_BURST];
	const uint32_t gen = w->gen;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t k0, k1;

		front_halves(&keys[i], &k0, &k1);
		set[i] = front_set(k0, k1);
		rte_prefetch0(&w->front[set[i]]);
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct flow_front_set *f = &w->front[set[i]];
		uint64_t k0, k1;

		front_halves(&keys[i], &k0, &k1);
		if (f->way[0].k0 == k0 && f->way[0].k1 == k1 &&
		    flow_decode(f->way[0].val).gen == gen) {
			val[i] = f->way[0].val;
			continue;
		}
		if (f->way[1].k0 == k0 && f->way[1].k1 == k1 &&
		    flow_decode(f->way[1].val).gen == gen) {
			val[i] = f->way[1].val;
			continue;
		}
		idx[nf] = i;
		kp[nf++] = &keys[i];
	}
	w->stats.flow_hits += n - nf;
	if (nf == 0)
		return;

	for (uint32_t b = 0; b < nf; b += RTE_HASH_LOOKUP_BULK_MAX) {
		uint32_t cnt = RTE_MIN(nf - b, (uint32_t)RTE_HASH_LOOKUP_BULK_MAX);

		hits = 0;
		rte_hash_lookup_bulk_data(w->flows, &kp[b], cnt, &hits, &data[b]);
		for (uint32_t j = 0; j < cnt; j++) {
			uint32_t i = idx[b + j];
			uint64_t v = (uintptr_t)data[b + j];

			if ((hits >> j & 1) && flow_decode(v).gen == gen) {
				val[i] = v;
				w->stats.flow_hits++;
				front_put(w, set[i], &keys[i], v);
			} else {
				miss_idx[nm] = i;
				miss_key[nm++] = &keys[i];
			}
		}
	}
	if (nm == 0)
		return;
	w->stats.flow_misses += nm;
	worker_classify(w, miss_key, miss_val, ok, nm);
	for (uint32_t j = 0; j < nm; j++) {
		uint32_t i = miss_idx[j];

		val[i] = miss_val[j];
		if (ok[j])
			front_put(w, set[i], &keys[i], miss_val[j]);
	}
}

/* The IPv6 keys: the rte_hash in bulk, what it does not know through the
 * rule table. */
void
worker_lookup_flows6(struct gvpn_worker *w, struct gvpn_acl_key6 keys[], uint64_t val[], uint32_t n)
{
	const void *kp[MAX_BURST];
	void *data[MAX_BURST];
	struct gvpn_acl_key6 *miss_key[MAX_BURST];
	uint64_t miss_val[MAX_BURST], hits;
	uint32_t miss_idx[MAX_BURST], nm = 0;
	uint8_t ok[MAX_BURST];
	const uint32_t gen = w->gen;

	for (uint32_t i = 0; i < n; i++)
		kp[i] = &keys[i];
	for (uint32_t b = 0; b < n; b += RTE_HASH_LOOKUP_BULK_MAX) {
		uint32_t cnt = RTE_MIN(n - b, (uint32_t)RTE_HASH_LOOKUP_BULK_MAX);

		hits = 0;
		rte_hash_lookup_bulk_data(w->flows6, &kp[b], cnt, &hits, &data[b]);
		for (uint32_t j = 0; j < cnt; j++) {
			uint64_t v = (uintptr_t)data[b + j];

			if ((hits >> j & 1) && flow_decode(v).gen == gen) {
				val[b + j] = v;
				continue;
			}
			miss_idx[nm] = b + j;
			miss_key[nm++] = &keys[b + j];
		}
	}
	w->stats.flow_hits += n - nm;
	if (nm == 0)
		return;
	w->stats.flow_misses += nm;
	worker_classify6(w, miss_key, miss_val, ok, nm);
	for (uint32_t j = 0; j < nm; j++)
		val[miss_idx[j]] = miss_val[j];
}
