/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A worker's life: its tables and rings made on its socket, freed with its
 * keys wiped, and the counters the control core and telemetry read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>

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
	struct rte_hash_parameters fp6 = {.key_len = sizeof(struct gvpn_acl_key6),
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
	worker_punt_init(w);
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
	snprintf(name, sizeof(name), "gvpn_flows6_%u", conf->id);
	fp6.name = name;
	fp6.entries = conf->flows;
	w->flows6 = rte_hash_create(&fp6);
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
	w->icmp_gap = hz / 1000;	    /* at most 1000 ICMP messages a second */
	w->frag6_id = (uint32_t)rte_rand(); /* not to be guessed (RFC 7739) */
	w->ptb_gap = hz / 10;		    /* and 10 ICMPv6 Packet Too Big a second per source */
	if (w->inbox == NULL || w->acks == NULL || w->flows == NULL || w->flows6 == NULL ||
	    w->spis == NULL || w->frag == NULL || w->esp == NULL) {
		gvpn_worker_free(w);
		rte_errno = ENOMEM;
		return NULL;
	}
	/* Write the tables once now: their pages are resident before the
	 * first packet (memory without hugepages is touched in lazily), so no
	 * lookup or rekey takes a page fault and the RSS stays flat. */
	rte_hash_reset(w->flows);
	rte_hash_reset(w->flows6);
	rte_hash_reset(w->spis);
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
	rte_hash_free(w->flows6);
	rte_hash_free(w->spis);
	if (w->frag != NULL) {
		rte_ip_frag_free_death_row(&w->dr, 0);
		rte_ip_frag_table_destroy(w->frag);
	}
	gvpn_esp_lcore_free(w->esp);
	gvpn_wipe(w->st, sizeof(w->st));
	rte_free(w);
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
gvpn_worker_rule_hits(const struct gvpn_worker *w, struct gvpn_rule_hits *out)
{
	memcpy(out, &w->hits, sizeof(*out));
}

void
gvpn_worker_sa_counters(const struct gvpn_worker *w, uint16_t slot, struct gvpn_sa_counters *out)
{
	const struct gvpn_esp_sa_state *st = &w->st[slot];

	out->enc_pkts = st->enc_pkts;
	out->enc_bytes = st->enc_bytes;
	out->dec_pkts = st->dec_pkts;
	out->dec_bytes = st->dec_bytes;
	memcpy(out->drop, st->drops.drop, sizeof(out->drop));
	out->inner_policy = st->drops.inner_policy;
}

uint32_t
gvpn_worker_flow_count(const struct gvpn_worker *w)
{
	return (uint32_t)(rte_hash_count(w->flows) + rte_hash_count(w->flows6));
}
