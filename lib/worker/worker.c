/* SPDX-License-Identifier: BSD-3-Clause */
/* rte_ip_frag_table_del_expired_entries() is experimental in DPDK 22.11. */
#define ALLOW_EXPERIMENTAL_API

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "worker_private.h"

#define INBOX_SIZE 1024

#define DROP_NAME(n, id, s) [GVPN_DROP_##n] = s,
static const char *const drop_names[] = {GVPN_WORKER_DROP_LIST(DROP_NAME)};

#define DROP_ID(n, id, s) [GVPN_DROP_##n] = id,
static const char *const drop_ids[] = {GVPN_WORKER_DROP_LIST(DROP_ID)};

const char *
gvpn_worker_drop_name(enum gvpn_worker_drop d)
{
	return (unsigned int)d < GVPN_DROP_MAX ? drop_names[d] : "?";
}

const char *
gvpn_worker_drop_id(enum gvpn_worker_drop d)
{
	return (unsigned int)d < GVPN_DROP_MAX ? drop_ids[d] : "?";
}

struct gvpn_worker *
gvpn_worker_create(const struct gvpn_worker_conf *conf)
{
	char name[RTE_RING_NAMESIZE];
	struct rte_hash_parameters fp = {.key_len = sizeof(struct gvpn_acl_key),
					 .hash_func = rte_hash_crc,
					 .socket_id = conf->socket};
	struct rte_hash_parameters sp = {.key_len = sizeof(uint32_t),
					 .hash_func = rte_hash_crc,
					 .entries = conf->spis != 0 ? conf->spis : GVPN_WORKER_SPIS,
					 .socket_id = conf->socket};
	struct gvpn_worker *w;
	uint64_t hz = rte_get_tsc_hz();

	if (conf->n_pairs == 0 || conf->n_pairs > GVPN_MAX_PAIRS || conf->burst == 0 ||
	    conf->burst > MAX_BURST) {
		rte_errno = EINVAL;
		return NULL;
	}
	w = rte_zmalloc_socket("gvpn_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, conf->socket);
	if (w == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	w->conf = *conf;
	worker_front_clear(w);
	for (unsigned int i = 0; i < GVPN_MAX_TEKS; i++)
		w->out_slot[i] = GVPN_SLOT_NONE;
	snprintf(name, sizeof(name), "gvpn_in%u", conf->id);
	w->inbox = rte_ring_create(name, INBOX_SIZE, conf->socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "gvpn_ack%u", conf->id);
	w->acks = rte_ring_create(name, INBOX_SIZE, conf->socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "gvpn_flows%u", conf->id);
	fp.name = name;
	fp.entries = conf->flows;
	w->flows = rte_hash_create(&fp);
	snprintf(name, sizeof(name), "gvpn_spis%u", conf->id);
	sp.name = name;
	w->spis = rte_hash_create(&sp);
	/* Fragments of one packet must arrive within 2 s (RFC 791 allows
	 * more, but an appliance must not hold buffers that long), and at most
	 * GVPN_FRAG_PACKETS packets wait at once, so that a fragment flood
	 * cannot take more than GVPN_FRAG_MBUFS mbufs from the pool. */
	w->frag_ttl = hz * 2;
	w->frag = rte_ip_frag_table_create(GVPN_FRAG_PACKETS / 8, 8, GVPN_FRAG_PACKETS, w->frag_ttl,
					   conf->socket);
	w->esp = gvpn_esp_lcore_create(conf->backend, conf->socket, conf->iv_seed);
	w->icmp_gap = hz / 1000; /* at most 1000 ICMP messages a second */
	if (w->inbox == NULL || w->acks == NULL || w->flows == NULL || w->spis == NULL ||
	    w->frag == NULL || w->esp == NULL) {
		gvpn_worker_free(w);
		rte_errno = ENOMEM;
		return NULL;
	}
	return w;
}

void
gvpn_worker_free(struct gvpn_worker *w)
{
	if (w == NULL)
		return;
	rte_ring_free(w->inbox);
	rte_ring_free(w->acks);
	rte_hash_free(w->flows);
	rte_hash_free(w->spis);
	if (w->frag != NULL) {
		rte_ip_frag_free_death_row(&w->dr, 0);
		rte_ip_frag_table_destroy(w->frag);
	}
	gvpn_esp_lcore_free(w->esp);
	gvpn_wipe(w->st, sizeof(w->st));
	rte_free(w);
}

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

/* Cached decisions made under an old policy or fail-open state are stale. */
static void
flows_invalidate(struct gvpn_worker *w)
{
	w->gen++;
	if ((uint32_t)rte_hash_count(w->flows) > w->conf.flows / 2)
		rte_hash_reset(w->flows);
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
		w->out_slot[sa->tek] = sa->slot;
		break;
	case GVPN_MSG_SA_RETIRE:
		if (w->out_slot[sa->tek] == sa->slot)
			w->out_slot[sa->tek] = GVPN_SLOT_NONE;
		break;
	case GVPN_MSG_SA_DELETE: {
		struct gvpn_acl_key k;

		if (w->out_slot[sa->tek] == sa->slot)
			w->out_slot[sa->tek] = GVPN_SLOT_NONE;
		rte_hash_del_key(w->spis, &sa->esp->spi);
		worker_decrypt_key(&k, sa->esp->spi);
		rte_hash_del_key(w->flows, &k);
		w->sa[sa->slot] = NULL;
		gvpn_wipe(&w->st[sa->slot], sizeof(w->st[sa->slot]));
		break;
	}
	case GVPN_MSG_POLICY_SWAP:
		w->policy = m->policy;
		flows_invalidate(w);
		break;
	case GVPN_MSG_FLOW_FLUSH:
		rte_hash_reset(w->flows);
		w->gen++;
		break;
	case GVPN_MSG_FAIL_OPEN:
		w->fail_open[m->group] = m->arg;
		flows_invalidate(w);
		break;
	default:
		break;
	}
	return 0;
}

static void
drain_inbox(struct gvpn_worker *w)
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

/*
 * Drop the packets that did not complete in time, counting their fragments.
 * Every expired entry goes, however many: reassembly then never meets a
 * stale one, which is what lets worker_parse_frag() tell its drops apart.
 */
static void
frag_expire(struct gvpn_worker *w, uint64_t now)
{
	for (;;) {
		const uint32_t before = w->dr.cnt;

		/* Stops early when the death row could not take a packet. */
		rte_ip_frag_table_del_expired_entries(w->frag, &w->dr, now);
		w->stats.drop[GVPN_DROP_FRAG_TIMEOUT] += w->dr.cnt - before;
		if (w->dr.cnt < RTE_IP_FRAG_DEATH_ROW_MBUF_LEN / 2)
			return;
		rte_ip_frag_free_death_row(&w->dr, 0);
	}
}

void
gvpn_worker_poll(struct gvpn_worker *w)
{
	struct rte_mbuf *pkts[MAX_BURST];

	drain_inbox(w);
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

		frag_expire(w, now);
		if (now > w->frag_last + w->frag_ttl)
			w->frag_held = 0;
	}
	rte_ip_frag_free_death_row(&w->dr, 3);
}

/* The reassembly part of worker_parse(): @p ip is a fragment's header. */
enum frame_class
worker_parse_frag(struct gvpn_worker *w, struct rte_mbuf **mp, struct rte_ipv4_hdr *ip,
		  uint32_t len, uint64_t now)
{
	struct rte_mbuf *m = *mp, *r;
	const uint32_t eth = sizeof(struct rte_ether_hdr);
	const uint32_t ofs = (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) *
			     RTE_IPV4_HDR_OFFSET_UNITS;
	uint32_t lost;

	/* A packet ending beyond 65535 bytes (ping of death): DPDK would
	 * wrap its length. */
	if (unlikely(ofs + len > UINT16_MAX)) {
		worker_drop(w, m, GVPN_DROP_FRAG_OVERSIZED);
		return FRAME_DROPPED;
	}
	/* DPDK drops an empty fragment as it drops one it has no room for. */
	if (unlikely(len == m->l3_len)) {
		worker_drop(w, m, GVPN_DROP_FRAG_INVALID);
		return FRAME_DROPPED;
	}
	/* Fragments are put back together first (R21). */
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - eth - len));
	/*
	 * DPDK puts what it drops on the death row, uncounted. With no
	 * stale entry left, one call adds either this fragment alone (no
	 * room for a new packet: the table or the hash bucket is full) or
	 * this fragment with the packet's others (they overlap, repeat a
	 * first or last piece, are more than RTE_LIBRTE_IP_FRAG_MAX_FRAG,
	 * or leave a hole).
	 */
	frag_expire(w, now);
	lost = w->dr.cnt;
	r = rte_ipv4_frag_reassemble_packet(w->frag, &w->dr, m, now, ip);
	lost = w->dr.cnt - lost;
	if (unlikely(lost != 0))
		w->stats.drop[lost == 1 ? GVPN_DROP_FRAG_TABLE_FULL : GVPN_DROP_FRAG_INVALID] += lost;
	w->frag_held = 1;
	w->frag_last = now;
	/* The death row has a fixed size and no bounds check: empty it long
	 * before one more call could overflow it. */
	if (w->dr.cnt >= RTE_IP_FRAG_DEATH_ROW_MBUF_LEN / 2)
		rte_ip_frag_free_death_row(&w->dr, 0);
	if (r == NULL)
		return FRAME_HELD;
	w->stats.reassembled++;
	if (r->nb_segs > 1) {
		/* The pipeline works on contiguous packets. */
		struct rte_mbuf *c = rte_pktmbuf_alloc(w->conf.pool);
		char *d = c != NULL && r->pkt_len <= UINT16_MAX
				  ? rte_pktmbuf_append(c, (uint16_t)r->pkt_len)
				  : NULL;

		if (d == NULL) {
			rte_pktmbuf_free(c);
			worker_drop(w, r, c == NULL ? GVPN_DROP_NO_MBUF : GVPN_DROP_FRAG_ERROR);
			return FRAME_DROPPED;
		}
		rte_pktmbuf_read(r, 0, r->pkt_len, d);
		c->l2_len = r->l2_len;
		c->l3_len = r->l3_len;
		c->port = r->port;
		rte_pktmbuf_free(r);
		r = c;
	}
	*mp = r;
	return FRAME_IPV4;
}

/*
 * The decision for a packet from its best rules. Outbound: bypass, else a
 * group policy (encrypt; clear instead while its group has failed and a
 * fail-open rule matches), else fail-open, else no rule. Inbound: bypass,
 * else fail-open, else a group policy (it should have come encrypted), else
 * no rule.
 */
static uint64_t
decide(const struct gvpn_worker *w, const struct gvpn_rule *rule, int fail_open, int inbound)
{
	if (rule != NULL && rule->type == GVPN_RULE_BYPASS)
		return flow_value(w->gen, FLOW_BYPASS, 0);
	if (inbound) {
		if (fail_open)
			return flow_value(w->gen, FLOW_FAIL_OPEN, 0);
		if (rule != NULL && rule->type == GVPN_RULE_TEK)
			return flow_value(w->gen, FLOW_CLEAR_IN_POLICY, 0);
		return flow_value(w->gen, FLOW_NO_RULE, 0);
	}
	if (rule != NULL && rule->type == GVPN_RULE_TEK)
		return flow_value(w->gen, FLOW_ENCRYPT, rule->tek | (fail_open ? FLOW_FO_BIT : 0));
	if (fail_open)
		return flow_value(w->gen, FLOW_FAIL_OPEN, 0);
	return flow_value(w->gen, FLOW_NO_RULE, 0);
}

/* Decide for keys the flow cache did not know, and remember the decisions:
 * ok[i] tells whether the rte_hash took key i. */
static void
classify(struct gvpn_worker *w, struct gvpn_acl_key *keys[], uint64_t out[], uint8_t ok[],
	 uint32_t n)
{
	uint32_t res[MAX_BURST * GVPN_ACL_CATEGORIES];
	const uint8_t *data[MAX_BURST];
	const struct gvpn_policy *p = w->policy;

	for (uint32_t i = 0; i < n; i++)
		data[i] = (const uint8_t *)keys[i];
	if (p != NULL)
		gvpn_policy_classify(p, data, res, n);
	for (uint32_t i = 0; i < n; i++) {
		int inbound = keys[i]->dir;
		uint32_t main_cat = inbound ? GVPN_ACL_IN : GVPN_ACL_OUT;
		uint32_t fo_cat = inbound ? GVPN_ACL_IN_FAIL_OPEN : GVPN_ACL_OUT_FAIL_OPEN;
		uint32_t r = p != NULL ? res[i * GVPN_ACL_CATEGORIES + main_cat] : 0;
		uint32_t fo = p != NULL ? res[i * GVPN_ACL_CATEGORIES + fo_cat] : 0;

		out[i] = decide(w, r != 0 ? &p->rules[r - 1] : NULL,
				fo != 0 && w->fail_open[p->rules[fo - 1].group], inbound);
		ok[i] = rte_hash_add_key_data(w->flows, keys[i], (void *)(uintptr_t)out[i]) >= 0;
		if (!ok[i])
			w->stats.flow_full++;
	}
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
	const uint64_t gen = w->gen;

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
		if (f->way[0].k0 == k0 && f->way[0].k1 == k1 && f->way[0].val >> 32 == gen) {
			val[i] = f->way[0].val;
			continue;
		}
		if (f->way[1].k0 == k0 && f->way[1].k1 == k1 && f->way[1].val >> 32 == gen) {
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

			if ((hits >> j & 1) && v >> 32 == gen) {
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
	classify(w, miss_key, miss_val, ok, nm);
	for (uint32_t j = 0; j < nm; j++) {
		uint32_t i = miss_idx[j];

		val[i] = miss_val[j];
		if (ok[j])
			front_put(w, set[i], &keys[i], miss_val[j]);
	}
}

const struct gvpn_worker_stats *
gvpn_worker_stats(const struct gvpn_worker *w)
{
	return &w->stats;
}

const struct gvpn_esp_stats *
gvpn_worker_esp_stats(const struct gvpn_worker *w)
{
	return &w->esp->stats;
}

void
gvpn_worker_sa_counters(const struct gvpn_worker *w, uint16_t slot, uint64_t *pkts,
			uint64_t *bytes)
{
	*pkts = w->st[slot].pkts;
	*bytes = w->st[slot].bytes;
}

uint32_t
gvpn_worker_flow_count(const struct gvpn_worker *w)
{
	return (uint32_t)rte_hash_count(w->flows);
}
