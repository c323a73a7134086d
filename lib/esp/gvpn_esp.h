/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_ESP_H
#define GVPN_ESP_H

/**
 * @file
 * ESP (RFC 4303) tunnel mode with address preservation (RFC 6407 section
 * 5.5.2.1 / R2): the outer IP header carries the inner source and
 * destination, so ordinary routing carries the ESP packet. An SA is one
 * address family: the outer header is the inner packet's family, IPv4 or
 * IPv6 (doc/esp.md).
 *
 * Three kinds of object:
 *  - struct gvpn_esp_sa: one SA's precomputed, read-only runtime (expanded
 *    keys, lengths, header policy). Shared by every lcore; freed only once no
 *    lcore uses it.
 *  - struct gvpn_esp_sa_state: what one lcore writes for one SA (sequence
 *    number, GCM IV counter, packet/byte counters; drop counts by reason
 *    apart from them). Exactly one writer.
 *  - struct gvpn_esp_lcore: one lcore's crypto engine, random generator,
 *    IP ID counter and drop counters.
 *
 * The burst functions take mbufs whose data starts with m->l2_len bytes of
 * link header (VLAN tags included) followed by the IP header of the SA's
 * family; the link header is kept.
 */

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <rte_common.h>
#include <rte_mbuf.h>

#include "gvpn_common.h"
#include "gvpn_crypto.h"
#include "gvpn_sa.h" /* the DF policy */

#ifdef __cplusplus
extern "C" {
#endif

/** Largest burst the burst functions take. */
#define GVPN_ESP_BURST_MAX 256

/** IP protocol number of ESP. */
#define GVPN_IPPROTO_ESP 50

/** Drop reasons of the ESP stage: X(name, id, description). */
#define GVPN_ESP_DROP_LIST(X)                                                                      \
	X(CHAINED, "chained", "chained mbuf")                                                      \
	X(BAD_INNER, "bad_inner", "malformed inner IP packet")                                     \
	X(NO_ROOM, "no_room", "no headroom or tailroom for ESP")                                   \
	X(BAD_OUTER, "bad_outer", "malformed outer IP header, or not the SA's family")             \
	X(NOT_ESP, "not_esp", "not an ESP packet")                                                 \
	X(FRAGMENT, "fragment", "ESP fragment not reassembled")                                    \
	X(SHORT, "short", "ESP packet too short")                                                  \
	X(BAD_SPI, "bad_spi", "SPI does not match the SA")                                         \
	X(BAD_LEN, "bad_len", "ciphertext not a multiple of the block size")                       \
	X(BAD_ICV, "bad_icv", "integrity check failed")                                            \
	X(BAD_PAD, "bad_pad", "bad ESP padding")                                                   \
	X(BAD_NEXT_HDR, "bad_next_hdr", "next header is not the SA's family (IPv4 or IPv6)")       \
	X(DUMMY, "dummy", "dummy packet (next header 59)")                                         \
	X(CRYPTO, "crypto", "crypto engine error")                                                 \
	X(BAD_STAMP, "bad_stamp", "delay-detection timestamp missing or malformed")                \
	X(REPLAY_WINDOW, "replay_window", "timestamp outside the replay window")                   \
	X(CE_NOT_ECT, "ce_not_ect", "congestion experienced on a Not-ECT packet")                  \
	X(IV_EXHAUSTED, "iv_exhausted", "this sender's counter-mode IVs for the SA are used up")

#define GVPN_ESP_DROP_ENUM(n, id, s) GVPN_ESP_DROP_##n,
enum gvpn_esp_drop { GVPN_ESP_DROP_LIST(GVPN_ESP_DROP_ENUM) GVPN_ESP_DROP_MAX };
#undef GVPN_ESP_DROP_ENUM

/** Description of a drop reason, or "?". */
const char *gvpn_esp_drop_name(enum gvpn_esp_drop d);
/** Identifier of a drop reason ("bad_icv"), or "?". */
const char *gvpn_esp_drop_id(enum gvpn_esp_drop d);

/** Everything needed to create an SA. */
struct gvpn_esp_sa_conf {
	uint32_t spi;			/**< host order, > 255 (RFC 4303) */
	struct gvpn_crypto_xform xform; /**< algorithms and keys */
	enum gvpn_df_mode df;		/**< IPv4 only: IPv6 has no DF bit */
	uint8_t ttl;			/**< outer TTL or hop limit; 0 copies the inner one */
	/** Address family of the SA (enum gvpn_af): GVPN_AF_IPV4 (0) or
	 *  GVPN_AF_IPV6, the family of its inner and outer headers alike. */
	uint8_t af;
	/** Time-based anti-replay window in seconds (R23, from the group
	 *  policy): non-zero stamps every packet sent with its send time and
	 *  drops received packets whose stamp is further than this from now;
	 *  0 turns it off (no stamp on the wire). See doc/esp.md. */
	uint16_t replay_window_s;
};

/** Per-lcore drop counters. */
struct gvpn_esp_stats {
	uint64_t drop[GVPN_ESP_DROP_MAX];
};

struct gvpn_esp_sa;
struct gvpn_esp_sa_state;
struct gvpn_esp_lcore;
struct esp_burst;

/** Encapsulate pkts[first, end), which all use SA state @p st (internal). */
typedef void (*esp_encap_fn)(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st,
			     struct rte_mbuf *pkts[], uint16_t first, uint16_t end,
			     struct esp_burst *b);

/** One step of decapsulation for a run of one SA's packets (internal):
 *  before crypto, pkts[first, end); after it, the operations [first, end)
 *  of @p b, whose packets are pkts[b->op_pkt[k]]. */
typedef void (*esp_decap_fn)(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st,
			     struct rte_mbuf *pkts[], uint16_t first, uint16_t end,
			     struct esp_burst *b);

/** An SA's packets one lcore dropped, by reason. */
struct gvpn_esp_sa_drops {
	uint64_t drop[GVPN_ESP_DROP_MAX]; /**< by the ESP stage (each also in gvpn_esp_stats) */
	/** Decrypted, then refused by the caller: the inner packet is outside
	 *  the SA's selectors (the worker's inner policy check, R21). */
	uint64_t inner_policy;
};

/** One lcore's view of one SA: written only by that lcore. */
struct gvpn_esp_sa_state {
	/* The line each packet touches. */
	const struct gvpn_esp_sa *sa;
	uint32_t seq;	    /**< last sequence number sent */
	uint8_t iv_space;   /**< gvpn_esp_sa_state_iv() gave the IVs their space */
	uint64_t iv_ctr;    /**< next counter-mode IV */
	uint64_t iv_left;   /**< IVs left from iv_ctr on (UINT64_MAX: no end) */
	uint64_t enc_pkts;  /**< packets encrypted */
	uint64_t enc_bytes; /**< inner bytes encrypted */
	uint64_t dec_pkts;  /**< packets decrypted */
	uint64_t dec_bytes; /**< inner bytes decrypted */
	/** Written only when one of the SA's packets is dropped. */
	struct gvpn_esp_sa_drops drops __rte_cache_aligned;
} __rte_cache_aligned;
/* the hot part is one cache line: the counters are in the line each packet
 * touches anyway, and the drop counts stay out of it */
static_assert(offsetof(struct gvpn_esp_sa_state, drops) == RTE_CACHE_LINE_SIZE, "SA state grew");

/** One lcore's ESP context. */
struct gvpn_esp_lcore {
	const struct gvpn_crypto_ops *backend;
	void *engine;
	uint16_t ip_id;
	struct gvpn_esp_stats stats;
	struct gvpn_rng rng;
	struct gvpn_crypto_op ops[GVPN_ESP_BURST_MAX];
	uint8_t status[GVPN_ESP_BURST_MAX];
} __rte_cache_aligned;

/** The read-only runtime of an SA; the fields a caller may read. */
struct gvpn_esp_sa {
	uint32_t spi; /**< network order */
	uint8_t iv_len;
	uint8_t icv_len;
	uint8_t block_mask; /**< block size - 1 */
	uint8_t ttl;
	uint16_t df_keep; /**< network order: inner flags bits kept */
	uint16_t df_set;  /**< network order: flag bits forced on */
	uint8_t af;	  /**< enum gvpn_af: IPv4 or IPv6 */
	uint8_t inner_nh; /**< next header of the inner packet: 4 or 41 */
	uint8_t esp_ovh;  /**< ESP header + IV + ICV bytes around the ciphertext */
	uint8_t esp_min;  /**< shortest ESP packet: esp_ovh + one block */
	/** Write the IV of the next packet; chosen once by the cipher. */
	void (*gen_iv)(struct gvpn_esp_sa_state *st, struct gvpn_rng *rng, uint8_t *iv);
	/* Delivery delay detection (R23), chosen once by replay_window_s. */
	uint8_t ddd_len;  /**< stamp bytes before the inner packet (0: off) */
	uint8_t next_hdr; /**< ESP next header sent */
	uint16_t replay_window_s;
	int64_t ddd_window; /**< the window in stamp units (2^-32 s) */
	/** Write the stamp (ddd_len bytes) at @p p; a no-op when off. */
	void (*ddd_stamp)(uint8_t *p);
	/** Check the decrypted payload @p p of @p len bytes (up to the
	 *  padding) with next header @p nh: 0 with the inner packet's offset
	 *  in @p off, or the drop reason + 1. Set only where the SA stamps
	 *  (NULL without): only the stamping instances of decap_open call it. */
	int (*ddd_check)(const struct gvpn_esp_sa *sa, const uint8_t *p, uint32_t len, uint8_t nh,
			 uint32_t *off);
	/** Encapsulation of a run of packets: the instance for this SA's
	 *  family, IV and stamp, chosen once. */
	esp_encap_fn encap;
	/** Decapsulation of a run of packets, before crypto (outer header,
	 *  lengths, SPI) and after it (trailer, inner packet, strip): the
	 *  instances for this SA's family, chosen once. */
	esp_decap_fn decap_check;
	esp_decap_fn decap_open;
	const struct gvpn_crypto_ops *backend;
	enum gvpn_cipher cipher;
	enum gvpn_auth auth;
	uint8_t cipher_key_len;
	void *sess; /**< backend session, follows this struct */
};

/**
 * Align the clock of delay-detection stamps (R23) with wall-clock time.
 *
 * Stamps are NTP-format UTC times (RFC 5905 section 6) read on the fast path
 * from the TSC (no system call): this records one (TSC, UTC) pair and the
 * TSC frequency, measured against CLOCK_MONOTONIC_RAW once a second of it
 * has passed since the first call. Creating an SA whose replay window is
 * non-zero calls it; the control core should also call it periodically (every
 * few seconds) so that TSC drift and NTP corrections stay far below the
 * smallest window (1 s). Call from one thread at a time; readers on other
 * lcores never block and never see a half-written clock.
 *
 * @param now
 *   UTC time to align to, or NULL to read CLOCK_REALTIME.
 * @return
 *   0, or -EIO if the TSC frequency is unknown (EAL not initialised).
 */
int gvpn_esp_clock_sync(const struct timespec *now);

/**
 * Current time of the stamp clock.
 *
 * @return
 *   NTP 64-bit format: seconds since 1900-01-01 UTC (modulo 2^32) in the
 *   high 32 bits, binary fraction of a second in the low 32 bits.
 */
uint64_t gvpn_esp_clock_now(void);

/**
 * Create an lcore context.
 *
 * @param backend
 *   Crypto backend this lcore uses.
 * @param socket
 *   NUMA socket for its memory.
 * @param seed
 *   32-byte seed for a reproducible IV stream (tests only), or NULL.
 * @return
 *   The context, or NULL with rte_errno set (ENOMEM, ENOTSUP, EIO).
 */
struct gvpn_esp_lcore *gvpn_esp_lcore_create(const struct gvpn_crypto_ops *backend, int socket,
					     const uint8_t *seed);

/** Free an lcore context (NULL is a no-op). */
void gvpn_esp_lcore_free(struct gvpn_esp_lcore *lc);

/**
 * Validate a configuration without creating anything.
 *
 * @return
 *   0, or -EINVAL (bad SPI, family, DF mode, algorithm or key length).
 */
int gvpn_esp_sa_conf_check(const struct gvpn_esp_sa_conf *conf);

/**
 * Create an SA for @p lc's backend, expanding its keys. The SA lives in key
 * memory (gvpn_keymem_alloc(): out of core dumps, locked, wiped on free).
 *
 * @param lc
 *   Context of the calling lcore (its engine expands the keys).
 * @param socket
 *   Unused: key memory is not NUMA-placed.
 * @return
 *   The SA, or NULL with rte_errno set: EINVAL for a bad configuration,
 *   ENOTSUP for an algorithm the backend lacks, ENOMEM.
 */
struct gvpn_esp_sa *gvpn_esp_sa_create(struct gvpn_esp_lcore *lc,
				       const struct gvpn_esp_sa_conf *conf, int socket);

/** Wipe an SA's keys and free it (NULL is a no-op). */
void gvpn_esp_sa_free(struct gvpn_esp_sa *sa);

/**
 * Prepare an lcore's state for an SA. A counter-mode SA's IVs count from a
 * random 64-bit start, with no end, until gvpn_esp_sa_state_iv() gives
 * them a space of their own.
 */
void gvpn_esp_sa_state_init(struct gvpn_esp_sa_state *st, const struct gvpn_esp_sa *sa,
			    struct gvpn_esp_lcore *lc);

/** Does @p sa build its IVs from a counter (AES-GCM: RFC 4106 3.1)? */
int gvpn_esp_sa_counter_iv(const struct gvpn_esp_sa *sa);

/**
 * Give this lcore's counter-mode IVs of an SA the space [base, base +
 * count): with a Sender-ID (RFC 6054 section 3) no other sender of the
 * group uses them. Once it is used up, packets are dropped as
 * iv_exhausted; an IV is never repeated. @p count is at least 1.
 */
void gvpn_esp_sa_state_iv(struct gvpn_esp_sa_state *st, uint64_t base, uint64_t count);

/**
 * Encapsulate and encrypt a burst, each packet with its own SA state.
 *
 * @param st
 *   st[i] is the SA state for pkts[i]; every SA uses lc's backend.
 * @param pkts
 *   Inner packets of their SA's family (IPv4 or IPv6) after m->l2_len
 *   bytes of link header. On return m->l3_len is the outer IP header's
 *   length (20 or 40).
 * @param n
 *   At most GVPN_ESP_BURST_MAX.
 * @return
 *   Number of packets encrypted, which are moved to the front in their
 *   order; the rest are moved behind them, counted in lc->stats and
 *   their SA state's drops, and are the caller's to free. @p st is
 *   reordered the same way.
 */
uint16_t gvpn_esp_encrypt_burst(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st[],
				struct rte_mbuf *pkts[], uint16_t n);

/**
 * Verify, decrypt and decapsulate a burst of ESP packets.
 *
 * @param st
 *   st[i] is the SA state that pkts[i]'s SPI selected.
 * @param pkts
 *   ESP packets after m->l2_len bytes of link header. For an IPv6 SA,
 *   m->l3_len is the offset of the ESP header from the IPv6 header's start
 *   (40 plus the extension headers in front of ESP, which are checked to
 *   lead to it); an IPv4 SA reads the IHL instead. On return the inner
 *   packet follows the link header and m->l3_len is its IP header length
 *   (40 for IPv6).
 * @return
 *   Number of inner packets returned at the front; the dropped ones follow,
 *   counted by reason in lc->stats and their SA state's drops. @p st is
 *   reordered the same way.
 */
uint16_t gvpn_esp_decrypt_burst(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st[],
				struct rte_mbuf *pkts[], uint16_t n);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_ESP_H */
