/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_WORKER_H
#define GVPN_WORKER_H

/**
 * @file
 * A poll-mode worker: its burst pipeline (R20-R22), its own tables, and the
 * inbox through which the control core changes them.
 *
 * Every table here has one writer, the worker. The control core posts typed
 * messages (struct gvpn_msg) to the worker's inbox; the worker applies them
 * between bursts and returns each message on its ack ring. Objects shared
 * read-only (SA runtimes, compiled policies) may be freed by the control core
 * once every worker has acked the message that dropped them.
 */

#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "gvpn_esp.h"
#include "gvpn_policy.h"
#include "gvpn_sa.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GVPN_MAX_PAIRS (GVPN_MAX_PORTS / 2)
/** Packets a worker may hold for reassembly at once. */
#define GVPN_FRAG_PACKETS 512
/** The most mbufs a worker's reassembly can hold: size pools with it. */
#define GVPN_FRAG_MBUFS (GVPN_FRAG_PACKETS * RTE_LIBRTE_IP_FRAG_MAX_FRAG)
/** Default SPI table entries of a worker: room for every SA slot twice over,
 *  so that the cuckoo hash never runs out of places. */
#define GVPN_WORKER_SPIS (GVPN_MAX_SA_SLOTS * 2)
/** Largest RX burst (gvpn_worker_conf.burst). */
#define GVPN_WORKER_BURST_MAX GVPN_MAX_BURST
/** The most mbufs a worker holds between RX and TX: a burst and the
 * fragments its packets may become. Size pools with it. */
#define GVPN_WORKER_BURST_MBUFS (GVPN_WORKER_BURST_MAX * 5)

/** Worker drop reasons, X(name, id, description); ESP's own are in gvpn_esp.h. */
#define GVPN_WORKER_DROP_LIST(X)                                                                   \
	X(NOT_IP, "not_ip", "not IPv4, IPv6 or ARP")                                               \
	X(MALFORMED, "malformed", "malformed IPv4 or IPv6 header")                                 \
	X(BAD_EXT, "bad_ext", "IPv6 extension headers too many, cut or malformed")                 \
	X(NO_RULE, "no_rule", "no rule")                                                           \
	X(NO_SA, "no_sa", "no SA")                                                                 \
	X(CLEAR_IN_POLICY, "clear_in_policy", "clear packet matching a group policy")              \
	X(INNER_POLICY, "inner_policy", "inner packet outside the SA's selectors")                 \
	X(FRAG_NEEDED, "frag_needed", "too big: IPv4 with DF set, or IPv6 (ICMP sent)")            \
	X(FRAG_ERROR, "frag_error", "fragment error")                                              \
	X(FRAG_TIMEOUT, "frag_timeout", "fragment of a packet not completed in time")              \
	X(FRAG_INVALID, "frag_invalid", "fragments overlapping, empty or too many")                \
	X(FRAG_OVERSIZED, "frag_oversized", "fragment ending beyond 65535 bytes")                  \
	X(FRAG_TABLE_FULL, "frag_table_full", "fragment of a new packet, reassembly full")         \
	X(NO_MBUF, "no_mbuf", "no mbuf")                                                           \
	X(TX_FULL, "tx_full", "TX queue full")                                                     \
	X(PUNT_RATE, "punt_rate", "for the box, over the port's punt rate")                        \
	X(PUNT_RING_FULL, "punt_ring_full", "for the box, the control core's ring full")           \
	X(PUNT_NO_INTERFACE, "punt_no_interface", "for another port's address")

#define GVPN_WORKER_DROP_ENUM(n, id, s) GVPN_DROP_##n,
enum gvpn_worker_drop { GVPN_WORKER_DROP_LIST(GVPN_WORKER_DROP_ENUM) GVPN_DROP_MAX };
#undef GVPN_WORKER_DROP_ENUM

/** Description of a worker drop reason, or "?". */
const char *gvpn_worker_drop_name(enum gvpn_worker_drop d);
/** Identifier of a worker drop reason ("no_rule"), or "?". */
const char *gvpn_worker_drop_id(enum gvpn_worker_drop d);

/** Per-port counters of one worker. */
struct gvpn_port_stats {
	uint64_t rx_pkts, rx_bytes;
	uint64_t tx_pkts, tx_bytes;
	uint64_t encrypted; /**< ESP made here and handed to this (protected) port's TX */
	uint64_t decrypted; /**< packets decrypted and handed to this (clear) port's TX */
	/* the exception path (ports with an address) */
	uint64_t punted;	    /**< handed to the control core for the kernel */
	uint64_t punt_rate_dropped; /**< over the port's punt rate */
	uint64_t punt_ring_full;    /**< the control core's ring was full */
	uint64_t injected;	    /**< the kernel's frames sent on the port */
};

/** One worker's counters: written by the worker, read by anyone, never reset. */
struct gvpn_worker_stats {
	uint64_t drop[GVPN_DROP_MAX];
	uint64_t encrypted, decrypted, bypassed, fail_open, l2_passed;
	uint64_t fragments_out; /**< fragments made before encryption */
	uint64_t reassembled;	/**< packets rebuilt from fragments */
	uint64_t icmp_sent;	/**< ICMP fragmentation needed and ICMPv6 Packet Too Big */
	uint64_t flow_hits, flow_misses, flow_full;
	uint64_t msgs; /**< inbox messages applied */
	struct gvpn_port_stats port[GVPN_MAX_PORTS];
} __rte_cache_aligned;

/** Where group @p g's fail-open rule @p i counts in gvpn_rule_hits.fail_open. */
#define GVPN_FAIL_OPEN_HIT(g, i) ((g)*GVPN_MAX_FAIL_OPEN + (i))

/**
 * Packets each bypass and fail-open rule passed, one worker's: written by the
 * worker where it forwards the packet, read by anyone. A rule counts by its
 * place in the configuration (gvpn_rule.index); an index that a rule table
 * gives to another rule starts again from zero (gvpn_policy.restart_*).
 * TEK policies are counted by their SAs (gvpn_sa_counters.enc_pkts).
 */
struct gvpn_rule_hits {
	uint64_t bypass[GVPN_MAX_BYPASS];
	uint64_t fail_open[GVPN_MAX_GROUPS * GVPN_MAX_FAIL_OPEN]; /**< GVPN_FAIL_OPEN_HIT() */
} __rte_cache_aligned;

/* The runtime SA (struct gvpn_sa_rt) is in gvpn_sa.h. */

enum gvpn_msg_type {
	GVPN_MSG_SA_ADD,      /**< decrypt with sa (SPI lookup) */
	GVPN_MSG_SA_ACTIVATE, /**< encrypt sa->tek traffic with sa */
	GVPN_MSG_SA_RETIRE,   /**< stop encrypting with sa; it still decrypts */
	GVPN_MSG_SA_DELETE,   /**< forget sa; ack means it is no longer used */
	GVPN_MSG_POLICY_SWAP, /**< use policy; ack means the old one is unused */
	GVPN_MSG_FLOW_FLUSH,  /**< forget every cached flow */
	GVPN_MSG_FAIL_OPEN,   /**< group's fail-open rules on (arg 1) or off (0) */
};

/** A message; the control core owns it, the worker returns it as the ack. */
struct gvpn_msg {
	uint8_t type;
	uint8_t arg;
	uint16_t group;
	/** Set by the worker: 0, or the negative errno of a change it could
	 *  not make (GVPN_MSG_SA_ADD: the SPI is not in its table, -ENOSPC
	 *  when the table is full; the SA still encrypts). */
	int32_t result;
	const struct gvpn_sa_rt *sa;
	const struct gvpn_policy *policy;
	uint64_t cookie; /**< for the control core's bookkeeping */
	/** GVPN_MSG_SA_ACTIVATE of a counter-mode SA: the member's Sender-ID
	 *  (RFC 6054), sid_bits long; 0 bits: none (IVs from a random start).
	 *  The worker's IVs for the SA are then its own space in the
	 *  Sender-ID's (gvpn_iv_space()); an SA takes its space once. */
	uint8_t sid_bits;
	uint32_t sid;
};

/** A clear/protected port pair and the queue this worker polls on both. */
struct gvpn_pair {
	uint16_t clear, prot;	      /**< DPDK port ids */
	uint16_t clear_idx, prot_idx; /**< indexes in the configuration */
	uint16_t mtu;		      /**< protected port MTU: bigger ESP is pre-fragmented */
};

struct gvpn_worker_conf {
	unsigned int id;
	int socket;
	uint16_t queue;
	uint16_t burst; /**< packets per RX burst, 1..GVPN_WORKER_BURST_MAX */
	uint16_t n_pairs;
	struct gvpn_pair pairs[GVPN_MAX_PAIRS];
	uint32_t flows;
	uint32_t spis; /**< SPI table entries; 0: GVPN_WORKER_SPIS */
	enum gvpn_inner_df inner_df;
	enum gvpn_ipv6_too_big ipv6_too_big;
	const struct gvpn_crypto_ops *backend;
	struct rte_mempool *pool; /**< for fragments and ICMP */
	const uint8_t *iv_seed;	  /**< NULL, or a test seed */
	/** Bits of a counter-mode IV that name this worker among the
	 *  member's senders: gvpn_iv_sender_bits(number of workers); id must
	 *  fit them. */
	uint8_t sender_bits;
	/** The exception path: the ring that takes this worker's punted
	 *  frames to the control core (single producer, single consumer;
	 *  each mbuf's port field then holds its port's index in the
	 *  configuration), NULL when no port has an address. */
	struct rte_ring *punt;
	/** Per configured port (index in the configuration). */
	struct gvpn_punt_port {
		rte_be32_t address; /**< the box's own (ARP is punted for it); 0: none */
		uint32_t rate;	    /**< this worker's share of the punt rate, packets/s */
		/** The kernel's frames to send on the port (this worker is
		 *  their only consumer), or NULL. */
		struct rte_ring *inject;
	} punt_port[GVPN_MAX_PORTS];
};

struct gvpn_worker;

/**
 * Create a worker.
 * @return the worker, or NULL with rte_errno set.
 */
struct gvpn_worker *gvpn_worker_create(const struct gvpn_worker_conf *conf);

/** Free a worker and wipe its SA states (after it stopped polling). */
void gvpn_worker_free(struct gvpn_worker *w);

/** One iteration: apply inbox messages, then one burst per port. */
void gvpn_worker_poll(struct gvpn_worker *w);

/**
 * Process a burst as if received on a pair's port (no RX call): used by
 * gvpn_worker_poll() and by tests. Packets end up transmitted or freed.
 */
void gvpn_worker_outbound(struct gvpn_worker *w, uint16_t pair, struct rte_mbuf *pkts[],
			  uint16_t n);
void gvpn_worker_inbound(struct gvpn_worker *w, uint16_t pair, struct rte_mbuf *pkts[], uint16_t n);

/**
 * Post a message (control core only).
 * @return 0, or -ENOBUFS when the inbox is full.
 */
int gvpn_worker_post(struct gvpn_worker *w, struct gvpn_msg *m);

/** Collect acked messages (control core only). @return how many. */
unsigned int gvpn_worker_acks(struct gvpn_worker *w, struct gvpn_msg *m[], unsigned int n);

/** The worker's counters. */
const struct gvpn_worker_stats *gvpn_worker_stats(const struct gvpn_worker *w);

/** ESP-stage drop counters of the worker. */
const struct gvpn_esp_stats *gvpn_worker_esp_stats(const struct gvpn_worker *w);

/** Packets each bypass and fail-open rule passed on this worker (read while
 * the worker writes them: each a whole 64-bit value). */
void gvpn_worker_rule_hits(const struct gvpn_worker *w, struct gvpn_rule_hits *out);

/** What a worker did with an SA (inner packets and bytes) and what it
 * dropped of the SA's packets, by reason. Every field is a uint64_t. */
struct gvpn_sa_counters {
	uint64_t enc_pkts, enc_bytes;
	uint64_t dec_pkts, dec_bytes;
	uint64_t drop[GVPN_ESP_DROP_MAX]; /**< in the ESP stage, by enum gvpn_esp_drop */
	uint64_t inner_policy;		  /**< decrypted, outside the SA's selectors */
};

/** Packets and bytes this worker encrypted and decrypted with an SA slot,
 * and the SA's packets it dropped (read while the worker writes them: each
 * a whole 64-bit value). */
void gvpn_worker_sa_counters(const struct gvpn_worker *w, uint16_t slot,
			     struct gvpn_sa_counters *out);

/** Entries in the worker's flow caches (IPv4 with the decrypt flows, and IPv6). */
uint32_t gvpn_worker_flow_count(const struct gvpn_worker *w);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_WORKER_H */
