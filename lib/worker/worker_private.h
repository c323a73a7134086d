/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's state and what its stages share: burst sizes, the flow
 * table's keys and values (their encoding lives here alone), drop counting,
 * transmit, and each stage's entry points.
 *
 * The stages, one file each; the files above call those below, never back:
 *   poll.c       the loop: inbox, then each port pair's bursts, then
 *                fragment expiry
 *   outbound.c   clear -> protected burst (R20, R22)
 *   inbound.c    protected -> clear burst (R21), with the decrypt-flow
 *                and SPI lookups
 *   parse_private.h  link and IPv4 header checks, flow keys (inline: the
 *                burst loops read each header once)
 *   parse6.c     IPv6: header checks, the extension header walk, keys
 *   flow.c       the flow caches (IPv4 with its front, IPv6), invalidation
 *   classify.c   the rule lookup on a flow-cache miss, and the decision
 *   fragment.c   reassembly, pre-fragmentation, ICMP too big
 *   inbox.c      the control core's messages, applied
 *   lifecycle.c  create, free, counters
 */
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

/* What a flow's packets get. */
enum flow_kind {
	FLOW_BYPASS = 1, /* arg = the bypass rule's index */
	FLOW_FAIL_OPEN,	 /* clear, because the group's fail-open rule matched;
			  * arg = its GVPN_FAIL_OPEN_HIT() */
	FLOW_ENCRYPT,	 /* arg = TEK; fail_open: clear while the TEK has no SA */
	FLOW_NO_RULE,
	FLOW_CLEAR_IN_POLICY,
	FLOW_DECRYPT, /* arg = SA slot */
	FLOW_PUNT,    /* to the kernel interface; arg = enum punt_class */
};

/* Punted frames' rate budgets (punt.c). */
enum punt_class {
	PUNT_HOST,    /* anything for the box */
	PUNT_CONTROL, /* from a key server, and ARP for the box's address */
	PUNT_CLASSES,
};

/* A rate limit as a virtual schedule (GCRA): a frame is due @p cost TSC
 * cycles after the previous one, and may come up to @p tau early. */
struct punt_bucket {
	uint64_t tat; /* theoretical arrival time of the next frame */
	uint64_t cost;
	uint64_t tau;
};

/* A cached decision, as the flow stage and its users read it. */
struct flow_decision {
	uint32_t gen; /* the worker's generation when decided; 0 for decrypt flows */
	enum flow_kind kind;
	uint16_t arg;
	/* FLOW_ENCRYPT: 0, or the GVPN_FAIL_OPEN_HIT() + 1 of the fail-open
	 * rule that passes the packets in clear while the TEK has no SA */
	uint8_t fail_open;
};
static_assert(GVPN_MAX_GROUPS * GVPN_MAX_FAIL_OPEN < UINT8_MAX, "a fail-open rule + 1 in 8 bits");

/*
 * A decision is kept as the rte_hash's 64-bit data (and in the front):
 * generation << 32 | kind << 24 | fail-open << 16 | arg. These two are the
 * only readers and writers of that layout.
 */
static inline uint64_t
flow_encode(struct flow_decision d)
{
	return (uint64_t)d.gen << 32 | (uint32_t)d.kind << 24 | (uint32_t)d.fail_open << 16 | d.arg;
}

static inline struct flow_decision
flow_decode(uint64_t v)
{
	return (struct flow_decision){.gen = (uint32_t)(v >> 32),
				      .kind = (enum flow_kind)(v >> 24 & 0xff),
				      .arg = (uint16_t)v,
				      .fail_open = (uint8_t)(v >> 16)};
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

/* Buckets of the per-source ICMPv6 Packet Too Big rate (a power of 2). */
#define PTB_BUCKETS 256
/* IPv6's minimum link MTU (RFC 8200 section 5). */
#define IPV6_MIN_MTU 1280

struct gvpn_worker {
	struct gvpn_worker_conf conf;
	struct rte_ring *inbox;
	struct rte_ring *acks;
	struct gvpn_esp_lcore *esp;
	const struct gvpn_policy *policy;
	uint32_t gen;
	struct rte_hash *flows;	 /* IPv4 flows, and the decrypt flows of both families */
	struct rte_hash *flows6; /* IPv6 flows */
	struct rte_hash *spis;
	struct rte_ip_frag_tbl *frag;
	struct rte_ip_frag_death_row dr;
	uint64_t frag_ttl;  /* TSC cycles a packet may take to complete */
	uint64_t frag_last; /* TSC of the last fragment given to reassembly */
	uint8_t frag_held;  /* reassembly may hold fragments */
	uint64_t icmp_next; /* TSC before which no ICMP is sent */
	uint64_t icmp_gap;
	/* ICMPv6 Packet Too Big, rate limited per source: the TSC before
	 * which no PTB goes to the sources that hash to each bucket */
	uint64_t ptb_next[PTB_BUCKETS];
	uint64_t ptb_gap;
	uint32_t frag6_id; /* the next IPv6 fragment identification */
	uint16_t out_slot[GVPN_MAX_TEKS];
	uint8_t fail_open[GVPN_MAX_GROUPS];
	const struct gvpn_sa_rt *sa[GVPN_MAX_SA_SLOTS];
	struct gvpn_worker_stats stats;
	struct gvpn_rule_hits hits;
	uint8_t has_inject; /* some port's inject ring is this worker's */
	struct punt_bucket punt_bucket[GVPN_MAX_PORTS][PUNT_CLASSES];
	struct gvpn_esp_sa_state st[GVPN_MAX_SA_SLOTS];
	struct flow_front_set front[FRONT_SETS];
};

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
enum frame_class { FRAME_IPV4, FRAME_IPV6, FRAME_L2_PASS, FRAME_HELD, FRAME_DROPPED, FRAME_PUNT };

/* Most IPv6 extension headers before the upper-layer header. */
#define IPV6_EXT_MAX 8

/* What the walk of an IPv6 packet's extension headers found. */
struct ipv6_walk {
	uint8_t proto;	/* the upper-layer protocol (59: none) */
	uint8_t later;	/* a fragment other than the first: no upper-layer header */
	uint16_t frag;	/* offset of a fragment header that is not atomic, 0: none */
	uint32_t upper; /* offset of the upper-layer header from the IPv6 header */
};

/* parse6.c: walk the extension headers of the IPv6 packet at @p ip6, @p len
 * bytes (40 + its payload length): hop-by-hop (first only), routing,
 * destination options and fragment headers, at most IPV6_EXT_MAX, up to the
 * upper-layer protocol. A fragment other than the first stops the walk at
 * its fragment header. @return 0, or GVPN_DROP_BAD_EXT (too many, cut, or
 * the upper-layer header further than an mbuf's l3_len can say). */
int worker_ipv6_walk(const uint8_t *ip6, uint32_t len, struct ipv6_walk *r);

/* parse6.c: the IPv6 part of worker_parse(): the IPv6 packet at @p l2 is
 * checked and its extension headers walked; a whole packet leaves as
 * FRAME_IPV6 with l2_len, l3_len (the upper-layer header's offset) and its
 * upper-layer protocol in *proto; fragments go to reassembly; ICMPv6
 * neighbour discovery is FRAME_L2_PASS. Drops are counted. */
enum frame_class worker_parse6(struct gvpn_worker *w, struct rte_mbuf **mp, uint32_t l2,
			       uint64_t now, uint8_t *proto);

/* punt.c: set up the rate limits of the ports with an address. */
void worker_punt_init(struct gvpn_worker *w);

/* punt.c: hand a frame for the box to the control core, within its port's
 * rate (@p port: index in the configuration), or count and drop it. */
void worker_punt(struct gvpn_worker *w, uint16_t port, struct rte_mbuf *m, enum punt_class cls,
		 uint64_t now);

/* punt.c: send the kernel's frames waiting in this worker's inject rings. */
void worker_inject(struct gvpn_worker *w);

/* inbox.c: apply the control core's waiting messages and ack them. */
void worker_inbox_drain(struct gvpn_worker *w);

/* flow.c: look a burst's keys up in the flow cache; misses go through the
 * rule table (classify.c), and the decision is cached. Decisions land in
 * val[]. */
void worker_lookup_flows(struct gvpn_worker *w, struct gvpn_acl_key keys[], uint64_t val[],
			 uint32_t n);

/* flow.c: worker_lookup_flows() for IPv6 keys (no front). */
void worker_lookup_flows6(struct gvpn_worker *w, struct gvpn_acl_key6 keys[], uint64_t val[],
			  uint32_t n);

/* flow.c: empty the flow cache's front. */
void worker_front_clear(struct gvpn_worker *w);

/* flow.c: decisions made under an old policy or fail-open state are stale. */
void worker_flows_invalidate(struct gvpn_worker *w);

/* flow.c: forget every cached decision. */
void worker_flows_flush(struct gvpn_worker *w);

/* flow.c: forget the decrypt flow of an SA's SPI. */
void worker_flows_forget_spi(struct gvpn_worker *w, rte_be32_t spi);

/* classify.c: decide for keys the flow cache did not know, and remember
 * the decisions in the rte_hash: ok[i] tells whether it took key i. */
void worker_classify(struct gvpn_worker *w, struct gvpn_acl_key *keys[], uint64_t out[],
		     uint8_t ok[], uint32_t n);

/* classify.c: worker_classify() for IPv6 keys, into the IPv6 flow cache. */
void worker_classify6(struct gvpn_worker *w, struct gvpn_acl_key6 *keys[], uint64_t out[],
		      uint8_t ok[], uint32_t n);

/* fragment.c: the reassembly part of worker_parse(): @p ip is a fragment's
 * header, @p len its IPv4 length. */
enum frame_class worker_reassemble(struct gvpn_worker *w, struct rte_mbuf **mp,
				   struct rte_ipv4_hdr *ip, uint32_t len, uint64_t now);

/* fragment.c: the reassembly part of worker_parse6(): @p frag is the
 * offset of the fragment header from the IPv6 header at l2_len, @p len the
 * packet's IPv6 length (40 + payload). A rebuilt packet replaces *mp and
 * leaves as FRAME_IPV6, still to be parsed. */
enum frame_class worker_reassemble6(struct gvpn_worker *w, struct rte_mbuf **mp, uint32_t frag,
				    uint32_t len, uint64_t now);

/* fragment.c: drop the packets that did not complete in time. */
void worker_frag_expire(struct gvpn_worker *w, uint64_t now);

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

/* fragment.c: split a packet before encryption (R22). */
int worker_fragment(struct gvpn_worker *w, struct rte_mbuf *m, uint32_t max_inner,
		    struct rte_mbuf *out[], unsigned int room);

/* How an IPv6 packet is to be fragmented. */
struct frag6_plan {
	uint32_t unfrag; /* the unfragmentable part's length */
	uint32_t nh_at;	 /* the offset of the next header field that names what follows it */
	uint32_t chunk;	 /* bytes of the rest in each fragment but the last */
	uint32_t count;	 /* fragments; 0: it cannot be fragmented that small */
};

/* fragment.c: plan the fragments of at most @p max_inner bytes a parsed
 * IPv6 packet becomes (RFC 8200 section 4.5). */
void worker_frag6_plan(const struct rte_mbuf *m, uint32_t max_inner, struct frag6_plan *p);

/* fragment.c: split an IPv6 packet before encryption as @p p says. */
int worker_fragment6(struct gvpn_worker *w, struct rte_mbuf *m, const struct frag6_plan *p,
		     struct rte_mbuf *out[], unsigned int room);

/* fragment.c: ICMP "fragmentation needed" back to the sender. */
void worker_icmp_too_big(struct gvpn_worker *w, const struct rte_mbuf *m, uint16_t mtu,
			 struct rte_mbuf *out[], uint16_t *n_out);

/* fragment.c: ICMPv6 Packet Too Big (RFC 4443 section 3.2) back to the
 * source of @p m, a parsed IPv6 packet whose upper-layer protocol is
 * @p proto, within its source's rate; none for an ICMPv6 error or a
 * multicast or unspecified address. */
void worker_icmp6_too_big(struct gvpn_worker *w, const struct rte_mbuf *m, uint8_t proto,
			  uint32_t mtu, uint64_t now, struct rte_mbuf *out[], uint16_t *n_out);

#endif /* WORKER_PRIVATE_H */
