/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_SA_H
#define GVPN_SA_H

/**
 * @file
 * What every library says about a security association, and nothing more:
 *  - the traffic selector and its prefixes, with their helpers (match,
 *    equal, mirror, contains, format);
 *  - the limits shared across libraries (groups, SA slots, TEK policies,
 *    ports, burst);
 *  - the outer and inner DF policies (R22), set by the configuration and
 *    applied by ESP and the worker;
 *  - the SA states, the control core's SA entry and TEK policy, and the
 *    runtime SA the workers share read-only;
 *  - the control core's SPI index (key -> slot, a multimap) and its free
 *    slot set. Control core only: the workers keep their own SPI tables.
 *
 * Below everything but common: no DPDK, no configuration file, no protocol.
 * The GDOI library uses it without knowing of DPDK.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ---- */

#define GVPN_MAX_PORTS 8
#define GVPN_MAX_BURST 256 /**< dataplane.burst */
#define GVPN_MAX_GROUPS 16
#define GVPN_MAX_GROUP_SAS 1024 /**< static SAs of one group */
#define GVPN_MAX_FAIL_OPEN 10	/**< per group (R24) */
#define GVPN_MAX_BYPASS 64
/** SA slots: the control core's SA table and every worker's. */
#define GVPN_MAX_SA_SLOTS 16384
/** TEK policies (the rule table's TEK entries). */
#define GVPN_MAX_TEKS GVPN_MAX_SA_SLOTS
/** No SA slot. */
#define GVPN_SLOT_NONE UINT16_MAX

/* ---- selectors ---- */

/**
 * A selector's address family. A selector is one family throughout: with
 * address preservation the outer header is the inner packet's family, so
 * an SA, its TEK policy and its rules are all IPv4 or all IPv6. IPv4 is 0,
 * so that a zeroed selector is the IPv4 one it always was.
 */
enum gvpn_af {
	GVPN_AF_IPV4 = 0,
	GVPN_AF_IPV6 = 1,
	/** Either family: a rule that names no address (a bypass or fail-open
	 *  rule by protocol and ports). Its prefixes are both of length 0. */
	GVPN_AF_ANY = 2,
};

/** A prefix: IPv4 in host order, or IPv6 in network order; the selector's
 *  family says which. */
struct gvpn_prefix {
	uint32_t addr;	   /**< IPv4, host order */
	uint8_t len;	   /**< 0..32 (IPv4) or 0..128 (IPv6) */
	uint8_t addr6[16]; /**< IPv6, network order; zero for IPv4 */
};

/** Highest VLAN ID a rule may name (802.1Q: 4095 is reserved). */
#define GVPN_VLAN_MAX 4094

/** A traffic selector: prefixes, protocol (0 = any), port ranges, and the
 *  VLAN of the frames it matches (the innermost 802.1Q tag's ID; 0 = every
 *  VLAN and untagged frames). */
struct gvpn_selector {
	struct gvpn_prefix src, dst;
	uint8_t af; /**< enum gvpn_af */
	uint8_t proto;
	uint16_t sport_lo, sport_hi;
	uint16_t dport_lo, dport_hi;
	uint16_t vlan; /**< 1..GVPN_VLAN_MAX, or 0: any */
};

/** The mask of a prefix length (0..32), host order. */
static inline uint32_t
gvpn_prefix_mask(uint8_t len)
{
	return len ? ~0u << (32 - len) : 0;
}

/** Do the first @p len bits (0..128) of two IPv6 addresses agree? Two
 *  64-bit compares under masks: the data path checks every decrypted IPv6
 *  packet with it. */
static inline int
gvpn_prefix6_match(const uint8_t *a, const uint8_t *b, uint8_t len)
{
	uint64_t a0, a1, b0, b1, m0, m1;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	m0 = len >= 64 ? ~0ull : len == 0 ? 0 : ~0ull << (64 - len);
	m1 = len >= 128 ? ~0ull : len <= 64 ? 0 : ~0ull << (128 - len);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* the masks in the addresses' (network) byte order */
	m0 = __builtin_bswap64(m0);
	m1 = __builtin_bswap64(m1);
#endif
	return (((a0 ^ b0) & m0) | ((a1 ^ b1) & m1)) == 0;
}

/** Does an IPv4 (or either-family) selector match a packet's fields (host order)? */
static inline int
gvpn_selector_match(const struct gvpn_selector *s, uint32_t src, uint32_t dst, uint8_t proto,
		    uint16_t sport, uint16_t dport)
{
	uint32_t sm, dm;

	if (s->af == GVPN_AF_IPV6)
		return 0; /* its lengths are IPv6's: no IPv4 mask */
	sm = gvpn_prefix_mask(s->src.len);
	dm = gvpn_prefix_mask(s->dst.len);

	return ((src ^ s->src.addr) & sm) == 0 && ((dst ^ s->dst.addr) & dm) == 0 &&
	       (s->proto == 0 || s->proto == proto) && sport >= s->sport_lo &&
	       sport <= s->sport_hi && dport >= s->dport_lo && dport <= s->dport_hi;
}

/**
 * An IPv4 selector as the data path checks a decrypted packet against it
 * (R21): the source and destination address as one 64-bit word, in the
 * bytes' order in the IPv4 header (offset 12, network byte order), under a
 * mask of the same layout; so one load, one XOR and one AND compare both
 * prefixes, with no byte swap. Ports are read only where a range is
 * narrower than 0-65535. Built by gvpn_sel4_compile().
 */
struct gvpn_sel4 {
	uint64_t addrs, mask;
	uint8_t proto; /**< 0 = any */
	uint8_t ports; /**< 1: a port range must be checked */
	uint16_t sport_lo, sport_hi;
	uint16_t dport_lo, dport_hi;
};

/** @p s (not IPv6's) as the data path checks it. */
void gvpn_sel4_compile(const struct gvpn_selector *s, struct gvpn_sel4 *out);

/** The 64-bit address word of an IPv4 header (struct gvpn_sel4). */
static inline uint64_t
gvpn_sel4_addrs(const void *ipv4_hdr)
{
	uint64_t a;

	memcpy(&a, (const uint8_t *)ipv4_hdr + 12, sizeof(a));
	return a;
}

/** Does a compiled selector match an IPv4 packet's address word and
 *  protocol? Its ports, where it has ranges, are the caller's to check. */
static inline int
gvpn_sel4_match_addrs(const struct gvpn_sel4 *s, uint64_t addrs, uint8_t proto)
{
	return ((addrs ^ s->addrs) & s->mask) == 0 && (s->proto == 0 || s->proto == proto);
}

/** Do a compiled selector's port ranges hold ports (host order)? */
static inline int
gvpn_sel4_match_ports(const struct gvpn_sel4 *s, uint16_t sport, uint16_t dport)
{
	return sport >= s->sport_lo && sport <= s->sport_hi && dport >= s->dport_lo &&
	       dport <= s->dport_hi;
}

/** Does an IPv6 (or either-family) selector match a packet's fields
 *  (addresses in network order, ports in host order)? */
static inline int
gvpn_selector_match6(const struct gvpn_selector *s, const uint8_t *src, const uint8_t *dst,
		     uint8_t proto, uint16_t sport, uint16_t dport)
{
	return s->af != GVPN_AF_IPV4 && gvpn_prefix6_match(src, s->src.addr6, s->src.len) &&
	       gvpn_prefix6_match(dst, s->dst.addr6, s->dst.len) &&
	       (s->proto == 0 || s->proto == proto) && sport >= s->sport_lo &&
	       sport <= s->sport_hi && dport >= s->dport_lo && dport <= s->dport_hi;
}

/** Field by field equality (padding bytes are not compared). */
static inline int
gvpn_selector_equal(const struct gvpn_selector *a, const struct gvpn_selector *b)
{
	return a->af == b->af && a->src.addr == b->src.addr && a->src.len == b->src.len &&
	       a->dst.addr == b->dst.addr && a->dst.len == b->dst.len && a->proto == b->proto &&
	       a->sport_lo == b->sport_lo && a->sport_hi == b->sport_hi &&
	       a->dport_lo == b->dport_lo && a->dport_hi == b->dport_hi && a->vlan == b->vlan &&
	       memcmp(a->src.addr6, b->src.addr6, sizeof(a->src.addr6)) == 0 &&
	       memcmp(a->dst.addr6, b->dst.addr6, sizeof(a->dst.addr6)) == 0;
}

/** The selector with source and destination swapped. */
struct gvpn_selector gvpn_selector_mirror(const struct gvpn_selector *s);

/**
 * Does @p outer match every packet @p inner matches? Empty port ranges
 * (lo > hi) match nothing and so are contained in anything; selectors of
 * two families contain nothing of each other, and only an either-family
 * selector contains one; a selector of one VLAN contains only selectors of
 * that VLAN.
 * @return 1 or 0.
 */
int gvpn_selector_contains(const struct gvpn_selector *outer, const struct gvpn_selector *inner);

/**
 * A 32-bit hash of every field gvpn_selector_equal() compares, mixed with
 * @p seed; equal selectors hash alike.
 */
uint32_t gvpn_selector_hash(const struct gvpn_selector *s, uint32_t seed);

/**
 * Format a selector for logs and telemetry
 * ("10.1.0.0/16 -> 10.2.0.0/16 proto 17 sport 0-65535 dport 53-53";
 * IPv6 as "2001:db8:1::/48 -> ...", either family as "any -> any ...";
 * " vlan 10" after a selector of one VLAN).
 * @return what snprintf() returns.
 */
int gvpn_selector_format(const struct gvpn_selector *s, char *buf, size_t len);

/* ---- DF policies (R22) ---- */

/** Outer DF bit policy. */
enum gvpn_df_mode {
	GVPN_DF_CLEAR = 0, /**< never set (default) */
	GVPN_DF_SET,	   /**< always set */
	GVPN_DF_COPY,	   /**< copied from the inner header */
};

/** What to do with an inner packet that is too big and has DF set. */
enum gvpn_inner_df { GVPN_INNER_DF_FRAGMENT, GVPN_INNER_DF_HONOR };

/** What to do with an inner IPv6 packet too big for the protected MTU
 *  (dataplane.ipv6_too_big). */
enum gvpn_ipv6_too_big {
	GVPN_IPV6_TOO_BIG_ICMP = 0, /**< drop it, ICMPv6 Packet Too Big to its source */
	GVPN_IPV6_TOO_BIG_FRAGMENT, /**< fragment it before encryption (RFC 8200 4.5) */
};

/* ---- SAs ---- */

enum gvpn_sa_state {
	GVPN_SA_FREE = 0,
	GVPN_SA_DECRYPT,  /**< installed, decrypts; not used to encrypt */
	GVPN_SA_ACTIVE,	  /**< decrypts and encrypts its TEK's traffic */
	GVPN_SA_RETIRED,  /**< decrypts until deleted */
	GVPN_SA_DELETING, /**< waiting for every worker to let go */
};

/** Name of an SA state ("active"), or "?". */
const char *gvpn_sa_state_name(enum gvpn_sa_state s);

struct gvpn_esp_sa;

/** An SA as the workers see it: shared, read-only. */
struct gvpn_sa_rt {
	struct gvpn_esp_sa *esp;
	uint16_t slot; /**< index in every worker's SA table */
	uint16_t tek;  /**< TEK policy it encrypts for */
	uint8_t group;
	uint8_t n_sel;
	uint8_t decrypt;	     /**< inbound policy applies (R26): look the SPI up */
	uint8_t n_sel4;		     /**< sel's IPv4 ones, compiled in sel4 */
	struct gvpn_selector sel[2]; /**< inner packets must match one (R21) */
	struct gvpn_sel4 sel4[2];
};

/** Fill @p rt's selectors, @p n of them, and their compiled IPv4 forms. */
void gvpn_sa_rt_selectors(struct gvpn_sa_rt *rt, const struct gvpn_selector *sel, uint8_t n);

/** An SA slot of the control core. */
struct gvpn_sa_entry {
	enum gvpn_sa_state state;
	struct gvpn_sa_rt *rt;
	uint64_t expires;     /**< TSC, 0 = never */
	uint64_t activate_at; /**< TSC; 0 = no activation pending */
	uint64_t installed;   /**< TSC of its gvpn_ctrl_sa_add() */
	int64_t installed_at; /**< the same as unix time */
	/** Counter-mode, due to encrypt, and its group has no Sender-ID yet:
	 *  it decrypts only until one comes (gvpn_ctrl_group_sender_id()). */
	uint8_t wait_sid;
};

/** A TEK policy of the control core: a selector and, mirrored, its reverse (R5). */
struct gvpn_tek {
	uint8_t used;
	uint8_t group;
	uint8_t n_sel;
	struct gvpn_selector sel[2];
};

/* ---- counter-mode IV spaces (RFC 6054) ---- */

/**
 * Counter-mode IVs of a group SA (AES-GCM) must never repeat under its key
 * though many members and every member's lcores send with it. RFC 6054
 * section 3 splits the 64-bit IV: the Sender-ID the key server gave this
 * member in its leftmost bits, then the lcore's index among the member's
 * senders, then a counter:
 *
 *   | Sender-ID (sid_bits) | sender (sender_bits) | counter (the rest) |
 */
struct gvpn_iv_space {
	uint64_t base;	/**< the first IV */
	uint64_t count; /**< IVs in the space: 2^(counter bits) */
};

/** Fewest counter bits a space may have: as many IVs as 32-bit ESP
 *  sequence numbers, so a sender's space outlasts any sane SA lifetime. */
#define GVPN_IV_COUNTER_MIN_BITS 32
/** Most bits a Sender-ID may have (NUMBER_OF_SID_BITS). */
#define GVPN_SID_BITS_MAX 32

/** Bits naming one of @p n_senders lcores (0 for one sender). */
uint8_t gvpn_iv_sender_bits(unsigned int n_senders);

/**
 * The IV space of sender @p sender (of 2^@p sender_bits) of the member
 * whose Sender-ID is @p sid, @p sid_bits long.
 * @return 0 with @p out set; -EINVAL when sid_bits is 0 or above
 *   GVPN_SID_BITS_MAX, or sid or sender do not fit their bits; -ERANGE
 *   when fewer than GVPN_IV_COUNTER_MIN_BITS counter bits are left.
 */
int gvpn_iv_space(uint8_t sid_bits, uint32_t sid, uint8_t sender_bits, uint32_t sender,
		  struct gvpn_iv_space *out);

/* ---- the control core's index ---- */

/**
 * A multimap from a 32-bit key (an SPI, a TEK policy's hash) to slot
 * numbers: open addressing with linear probing and backward-shift
 * deletion, so no tombstones pile up. Sized once: room for a fixed number
 * of entries in a table at least twice as large. Control core only.
 */
struct gvpn_sa_index;

/**
 * Create an index.
 * @param entries
 *   The most (key, slot) pairs it holds, 1..GVPN_SA_INDEX_MAX.
 * @return it, or NULL with errno EINVAL (@p entries out of range) or ENOMEM.
 */
struct gvpn_sa_index *gvpn_sa_index_create(uint32_t entries);
#define GVPN_SA_INDEX_MAX (1u << 24)

/** Free an index; NULL is ignored. */
void gvpn_sa_index_free(struct gvpn_sa_index *ix);

/**
 * Add a pair.
 * @return 0, -EEXIST the pair is there already, -ENOSPC the index holds
 *   as many pairs as it was created for.
 */
int gvpn_sa_index_add(struct gvpn_sa_index *ix, uint32_t key, uint16_t slot);

/**
 * Remove a pair.
 * @return 0 or -ENOENT.
 */
int gvpn_sa_index_del(struct gvpn_sa_index *ix, uint32_t key, uint16_t slot);

/**
 * Walk the slots of a key: start with *pos = 0 and call until it fails.
 * Pairs added or removed during a walk may be missed or seen twice.
 * @return a slot, or -ENOENT when there is no other.
 */
int gvpn_sa_index_next(const struct gvpn_sa_index *ix, uint32_t key, uint32_t *pos);

/**
 * The first slot of a key: for keys with at most one slot (SPIs).
 * @return the slot or -ENOENT.
 */
static inline int
gvpn_sa_index_find(const struct gvpn_sa_index *ix, uint32_t key)
{
	uint32_t pos = 0;

	return gvpn_sa_index_next(ix, key, &pos);
}

/** Pairs in the index. */
uint32_t gvpn_sa_index_count(const struct gvpn_sa_index *ix);

/**
 * A set of free slots that hands out the lowest one first, as a scan from
 * slot 0 would: slot numbers show in telemetry and logs, and their order of
 * reuse stays what it always was. A two-level bitmap.
 */
struct gvpn_sa_slots;

/**
 * Create a set with slots 0..n-1, all free.
 * @param n
 *   1..GVPN_SA_SLOTS_MAX.
 * @return it, or NULL with errno EINVAL or ENOMEM.
 */
struct gvpn_sa_slots *gvpn_sa_slots_create(uint32_t n);
#define GVPN_SA_SLOTS_MAX 65536u

/** Free a set; NULL is ignored. */
void gvpn_sa_slots_free(struct gvpn_sa_slots *s);

/**
 * The lowest free slot; it stays free until gvpn_sa_slots_take().
 * @return the slot or -ENOSPC.
 */
int gvpn_sa_slots_first(const struct gvpn_sa_slots *s);

/**
 * Mark a slot used.
 * @return 0, -EINVAL out of range, -EBUSY already used.
 */
int gvpn_sa_slots_take(struct gvpn_sa_slots *s, uint32_t slot);

/**
 * Mark a slot free.
 * @return 0, -EINVAL out of range, -ENOENT already free.
 */
int gvpn_sa_slots_put(struct gvpn_sa_slots *s, uint32_t slot);

/** Slots in use. */
uint32_t gvpn_sa_slots_used(const struct gvpn_sa_slots *s);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_SA_H */
