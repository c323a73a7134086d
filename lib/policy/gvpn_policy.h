/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_POLICY_H
#define GVPN_POLICY_H

/**
 * @file
 * The rule table of the data plane: bypass filters (R25), group traffic
 * selectors (R4) and fail-open rules (R24) compiled into two rte_acl
 * contexts, one per address family over one rule table: IPv4 selectors go
 * into the IPv4 context, IPv6 ones into the IPv6 context, and address-less
 * (GVPN_AF_ANY) ones into both, under the same rule index. A compiled policy is immutable: the
 * control core builds a new one and swaps it in (a generation number tells workers their flow cache
 * is stale); the old one is freed once every worker has let go of it.
 *
 * Four ACL categories give each packet, in one classification, the best
 * rule in each role: outbound, outbound fail-open, inbound, inbound fail-open.
 */

#include <assert.h>
#include <stdint.h>

#include <rte_acl.h>
#include <rte_byteorder.h>

#include "gvpn_sa.h"

#ifdef __cplusplus
extern "C" {
#endif

enum gvpn_acl_category {
	GVPN_ACL_OUT = 0,
	GVPN_ACL_OUT_FAIL_OPEN = 1,
	GVPN_ACL_IN = 2,
	GVPN_ACL_IN_FAIL_OPEN = 3,
	GVPN_ACL_CATEGORIES = 4,
};

enum gvpn_rule_type {
	GVPN_RULE_NONE = 0,
	GVPN_RULE_BYPASS,    /**< forward unchanged */
	GVPN_RULE_TEK,	     /**< encrypt with the group's TEK (outbound) / must arrive encrypted */
	GVPN_RULE_FAIL_OPEN, /**< forward in clear while the group has failed */
	/** to the box's kernel interface on the receiving port (exception path) */
	GVPN_RULE_PUNT,
	/** as GVPN_RULE_PUNT, from a key server: a rate budget of its own */
	GVPN_RULE_PUNT_CONTROL,
};

/** What a matched rule means. */
struct gvpn_rule {
	uint8_t type;  /**< enum gvpn_rule_type */
	uint8_t group; /**< group index */
	union {
		uint16_t tek;	/**< GVPN_RULE_TEK: TEK policy index */
		uint16_t index; /**< GVPN_RULE_BYPASS: its place in the configuration's
				 *   bypass list; GVPN_RULE_FAIL_OPEN: in its group's
				 *   fail-open list (the rule's hit counter) */
	};
};

/** A rule to compile. */
struct gvpn_policy_rule {
	struct gvpn_selector sel;
	struct gvpn_rule rule;
	uint32_t categories; /**< bit mask of enum gvpn_acl_category */
	int32_t priority;    /**< higher wins within a category */
};

/**
 * The classification key of a packet, network byte order, laid out for
 * rte_acl. It is also the flow cache key (with @p dir).
 */
struct gvpn_acl_key {
	uint8_t proto;
	uint8_t dir;	 /**< 0 outbound, 1 inbound (flow cache only) */
	rte_be16_t vlan; /**< the innermost 802.1Q tag's VLAN ID; 0: untagged */
	rte_be32_t src;
	rte_be32_t dst;
	rte_be16_t sport;
	rte_be16_t dport;
};

/* The flow cache's front compares an IPv4 key as two 64-bit halves. */
static_assert(sizeof(struct gvpn_acl_key) == 16, "an IPv4 key is 16 bytes");

/**
 * The classification key of an IPv6 packet, laid out for rte_acl as
 * gvpn_acl_key is (each address four 32-bit words, network byte order). It
 * is also the IPv6 flow cache key (with @p dir).
 */
struct gvpn_acl_key6 {
	uint8_t proto;	 /**< the upper-layer protocol, past extension headers */
	uint8_t dir;	 /**< 0 outbound, 1 inbound (flow cache only) */
	rte_be16_t vlan; /**< the innermost 802.1Q tag's VLAN ID; 0: untagged */
	uint8_t src[16];
	uint8_t dst[16];
	rte_be16_t sport;
	rte_be16_t dport;
};
static_assert(sizeof(struct gvpn_acl_key6) == 40, "an IPv6 key is 40 bytes");

/**
 * A compiled rule table. Hit counters of bypass and fail-open rules are kept
 * by index (gvpn_rule.index); the control core marks the indexes whose rule
 * is not the one the previous table had there, so that their counts start
 * again from zero with this table.
 */
struct gvpn_policy {
	struct rte_acl_ctx *acl;  /**< IPv4; NULL when it has no rules */
	struct rte_acl_ctx *acl6; /**< IPv6; NULL when it has no rules */
	uint32_t generation;
	uint32_t n_rules;
	uint64_t restart_bypass;		     /**< bit i: bypass rule i */
	uint16_t restart_fail_open[GVPN_MAX_GROUPS]; /**< [group] bit i: fail-open rule i */
	struct gvpn_rule rules[];		     /**< ACL userdata n is rules[n - 1] */
};
static_assert(GVPN_MAX_BYPASS <= 64, "a bit per bypass rule in restart_bypass");
static_assert(GVPN_MAX_FAIL_OPEN <= 16, "a bit per fail-open rule in restart_fail_open");

/**
 * Compile rules into a policy.
 *
 * @return
 *   The policy, or NULL with rte_errno set: EINVAL (a rule without a
 *   category, with one beyond GVPN_ACL_CATEGORIES or with a priority
 *   below 1), ENOMEM.
 */
struct gvpn_policy *gvpn_policy_build(const struct gvpn_policy_rule *rules, uint32_t n,
				      uint32_t generation, int socket);

/** Free a policy (NULL is a no-op). */
void gvpn_policy_free(struct gvpn_policy *p);

/* Classify with one family's context, or match nothing without one. */
static inline void
gvpn_policy_classify_ctx(const struct rte_acl_ctx *acl, const uint8_t *keys[], uint32_t results[],
			 uint32_t n)
{
	if (acl == NULL) {
		for (uint32_t i = 0; i < n * GVPN_ACL_CATEGORIES; i++)
			results[i] = 0;
		return;
	}
	rte_acl_classify(acl, keys, results, n, GVPN_ACL_CATEGORIES);
}

/**
 * Classify @p n IPv4 keys (struct gvpn_acl_key):
 * results[i * GVPN_ACL_CATEGORIES + c] is the rule index + 1 of the best
 * match in category c, or 0.
 */
static inline void
gvpn_policy_classify(const struct gvpn_policy *p, const uint8_t *keys[], uint32_t results[],
		     uint32_t n)
{
	gvpn_policy_classify_ctx(p->acl, keys, results, n);
}

/** Classify @p n IPv6 keys (struct gvpn_acl_key6), as gvpn_policy_classify(). */
static inline void
gvpn_policy_classify6(const struct gvpn_policy *p, const uint8_t *keys[], uint32_t results[],
		      uint32_t n)
{
	gvpn_policy_classify_ctx(p->acl6, keys, results, n);
}

#ifdef __cplusplus
}
#endif

#endif /* GVPN_POLICY_H */
