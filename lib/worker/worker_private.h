/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef WORKER_PRIVATE_H
#define WORKER_PRIVATE_H

#include <rte_ethdev.h>
#include <rte_prefetch.h>
#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>

#include "gvpn_worker.h"

#define MAX_BURST GVPN_WORKER_BURST_MAX
/* Packets whose headers are fetched ahead of the one being parsed. */
#define PREFETCH_AHEAD 4
/* A burst may grow when packets are pre-fragmented. */
#define MAX_OUT (MAX_BURST * 4)
_Static_assert(MAX_OUT + MAX_BURST <= GVPN_WORKER_BURST_MBUFS, "pools are sized for a burst");

/* Cached flow decision: generation << 32 | kind << 24 | fail-open << 16 | arg */
enum flow_kind {
	FLOW_BYPASS = 1,
	FLOW_FAIL_OPEN,     /* clear, because the group's fail-open rule matched */
	FLOW_ENCRYPT,       /* arg = TEK */
	FLOW_NO_RULE,
	FLOW_CLEAR_IN_POLICY,
	FLOW_DECRYPT,       /* arg = SA slot */
};

#define FLOW_FO_BIT (1u << 16)

/*
 * The flow cache's front: a set-associative table of recent decisions in
 * front of the rte_hash flow cache, holding keys the rte_hash also holds.
 * A set is one cache line of FRONT_WAYS keys with their decisions, the most
 * recent first; an entry is valid while its decision's generation is the
 * worker's. Empty ways carry a direction no key has (FRONT_EMPTY).
 */
#define FRONT_SETS 2048
#define FRONT_WAYS 2
#define FRONT_EMPTY ((uint64_t)0xff << 8)

struct flow_front_set {
	struct {
		uint64_t k0, k1; /* the key's two halves */
		uint64_t val;
		uint64_t pad;
	} way[FRONT_WAYS];
} __rte_cache_aligned;

static inline uint64_t
flow_value(uint32_t gen, enum flow_kind kind, uint32_t arg)
{
	return (uint64_t)gen << 32 | (uint32_t)kind << 24 | arg;
}

struct gvpn_worker {
	struct gvpn_worker_conf conf;
	struct rte_ring *inbox;
	struct rte_ring *acks;
	struct gvpn_esp_lcore *esp;
	const struct gvpn_policy *policy;
	uint32_t gen;
	struct rte_hash *flows;
	struct rte_hash *spis;
	struct rte_ip_frag_tbl *frag;
	struct rte_ip_frag_death_row dr;
	uint64_t frag_ttl;           /* TSC cycles a packet may take to complete */
	uint64_t frag_last;          /* TSC of the last fragment given to reassembly */
	uint8_t frag_held;           /* reassembly may hold fragments */
	uint64_t icmp_next;          /* TSC before which no ICMP is sent */
	uint64_t icmp_gap;
	uint16_t out_slot[GVPN_MAX_TEKS];
	uint8_t fail_open[GVPN_MAX_GROUPS];
	const struct gvpn_sa_rt *sa[GVPN_MAX_SA_SLOTS];
	struct gvpn_worker_stats stats;
	struct gvpn_esp_sa_state st[GVPN_MAX_SA_SLOTS];
	struct flow_front_set front[FRONT_SETS];
};

/* Transmit what fits, count and free the rest. */
static inline void
worker_tx(struct gvpn_worker *w, uint16_t port, uint16_t port_idx, struct rte_mbuf *pkts[],
	  uint16_t n)
{
	uint16_t sent = 0;
	uint64_t bytes = 0;

	if (n == 0)
		return;
	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	sent = rte_eth_tx_burst(port, w->conf.queue, pkts, n);
	for (uint16_t i = sent; i < n; i++) {
		bytes -= pkts[i]->pkt_len;
		rte_pktmbuf_free(pkts[i]);
	}
	w->stats.drop[GVPN_DROP_TX_FULL] += n - sent;
	w->stats.port[port_idx].tx_pkts += sent;
	w->stats.port[port_idx].tx_bytes += bytes;
}

static inline void
worker_drop(struct gvpn_worker *w, struct rte_mbuf *m, enum gvpn_worker_drop why)
{
	w->stats.drop[why]++;
	rte_pktmbuf_free(m);
}

/* Frame classes after parsing. */
enum frame_class { FRAME_IPV4, FRAME_L2_PASS, FRAME_HELD, FRAME_DROPPED };

/* Look a burst's keys up in the flow cache; misses go through the rule
 * table, and the decision is cached. Decisions land in val[]. */
void worker_lookup_flows(struct gvpn_worker *w, struct gvpn_acl_key keys[], uint64_t val[],
			 uint32_t n);

/* Empty the flow cache's front. */
void worker_front_clear(struct gvpn_worker *w);

/* l2_len and l3_len in one store: a byte store to the first, then a
 * read-modify-write of the second, would stall on store forwarding. */
static inline void
worker_set_l2l3(struct rte_mbuf *m, uint64_t l2, uint64_t l3)
{
	const uint64_t mask =
		rte_mbuf_tx_offload(RTE_LEN2MASK(RTE_MBUF_L2_LEN_BITS, uint64_t),
				    RTE_LEN2MASK(RTE_MBUF_L3_LEN_BITS, uint64_t), 0, 0, 0, 0, 0);

	m->tx_offload = (m->tx_offload & ~mask) | rte_mbuf_tx_offload(l2, l3, 0, 0, 0, 0, 0);
}

enum frame_class worker_parse_frag(struct gvpn_worker *w, struct rte_mbuf **mp,
				   struct rte_ipv4_hdr *ip, uint32_t len, uint64_t now);

/* Link header, IPv4 header sanity, reassembly (out of line). Inline, so
 * that the burst loops read each header once. */
static inline enum frame_class
worker_parse(struct gvpn_worker *w, struct rte_mbuf **mp, uint64_t now)
{
	struct rte_mbuf *m = *mp;
	const struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	uint32_t ihl, len;

	if (unlikely(m->data_len < sizeof(*eth))) {
		worker_drop(w, m, GVPN_DROP_NOT_IPV4);
		return FRAME_DROPPED;
	}
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (unlikely(eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))) {
		if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
			return FRAME_L2_PASS;
		worker_drop(w, m, GVPN_DROP_NOT_IPV4);
		return FRAME_DROPPED;
	}
	if (unlikely(m->nb_segs != 1 || m->data_len < sizeof(*eth) + sizeof(*ip)))
		goto malformed;
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, sizeof(*eth));
	ihl = (ip->version_ihl & 0xf) * 4u;
	len = rte_be_to_cpu_16(ip->total_length);
	if (unlikely((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) || len < ihl ||
		     len > m->data_len - sizeof(*eth)))
		goto malformed;
	worker_set_l2l3(m, sizeof(*eth), ihl);
	if (likely(!rte_ipv4_frag_pkt_is_fragmented(ip)))
		return FRAME_IPV4;
	return worker_parse_frag(w, mp, ip, len, now);
malformed:
	worker_drop(w, m, GVPN_DROP_MALFORMED);
	return FRAME_DROPPED;
}

/* Data bytes in each fragment of at most @p max_inner bytes with an @p ihl
 * header (RFC 791: fragment offsets count 8-byte units). */
static inline uint32_t
worker_frag_chunk(uint32_t max_inner, uint32_t ihl)
{
	return (max_inner - ihl) & ~7u;
}

/* Fragments of at most @p max_inner bytes a parsed IPv4 packet becomes; 0
 * when it cannot be fragmented that small. */
static inline uint32_t
worker_frag_count(const struct rte_mbuf *m, uint32_t max_inner)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);
	const uint32_t ihl = m->l3_len, payload = rte_be_to_cpu_16(ip->total_length) - ihl;
	const uint32_t chunk = worker_frag_chunk(max_inner, ihl);

	if (max_inner <= ihl + 8)
		return 0;
	return (payload + chunk - 1) / chunk;
}

int worker_fragment(struct gvpn_worker *w, struct rte_mbuf *m, uint32_t max_inner,
		    struct rte_mbuf *out[], unsigned int room);

void worker_icmp_too_big(struct gvpn_worker *w, const struct rte_mbuf *m, uint16_t mtu,
			 struct rte_mbuf *out[], uint16_t *n_out);

/* Key of a parsed IPv4 packet (ports zero for non-port protocols). */
static inline void
worker_key(const struct rte_mbuf *m, struct gvpn_acl_key *k, uint8_t dir)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);
	const uint8_t *l4 = (const uint8_t *)ip + m->l3_len;
	uint16_t len = rte_be_to_cpu_16(ip->total_length);

	k->proto = ip->next_proto_id;
	k->dir = dir;
	k->pad = 0;
	k->src = ip->src_addr;
	k->dst = ip->dst_addr;
	k->sport = 0;
	k->dport = 0;
	if ((k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP || k->proto == IPPROTO_SCTP) &&
	    len >= m->l3_len + 4u) {
		memcpy(&k->sport, l4, 2);
		memcpy(&k->dport, l4 + 2, 2);
	}
}

/* Decrypt flows: protocol ESP, zero addresses, the SPI in the port fields (R21). */
static inline void
worker_decrypt_key(struct gvpn_acl_key *k, rte_be32_t spi)
{
	const uint8_t *b = (const uint8_t *)&spi;

	memset(k, 0, sizeof(*k));
	k->proto = GVPN_IPPROTO_ESP;
	k->dir = 1;
	memcpy(&k->sport, b, 2);
	memcpy(&k->dport, b + 2, 2);
}

#endif /* WORKER_PRIVATE_H */
