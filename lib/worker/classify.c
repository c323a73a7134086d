/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The classify stage: for the keys the flow cache did not know, the rule
 * table (rte_acl: bypass filters, TEK selectors, fail-open rules; the
 * context of the key's family) and the decision made from its best rules,
 * which then creates the flow in that family's flow cache.
 */
#include "worker_private.h"

/*
 * The decision for a packet from its best rules: @p rule in its direction's
 * category, @p fo the fail-open rule that applies (its group has failed) or
 * NULL. Either way, a rule for the box's own address punts it (punt.c).
 * Outbound: bypass, else a group policy (encrypt; clear instead while its
 * TEK has no SA and a fail-open rule applies), else fail-open, else no rule.
 * Inbound: bypass, else fail-open, else a group policy (it should have come
 * encrypted), else no rule. Bypass and fail-open decisions name their rule,
 * whose hit counter the packets then count in.
 */
static uint64_t
decide(const struct gvpn_worker *w, const struct gvpn_rule *rule, const struct gvpn_rule *fo,
       int inbound)
{
	struct flow_decision d = {.gen = w->gen, .kind = FLOW_NO_RULE};
	const uint16_t fo_hit = fo != NULL ? GVPN_FAIL_OPEN_HIT(fo->group, fo->index) : 0;

	if (rule != NULL && rule->type >= GVPN_RULE_PUNT) {
		d.kind = FLOW_PUNT;
		d.arg = rule->type == GVPN_RULE_PUNT_CONTROL ? PUNT_CONTROL : PUNT_HOST;
	} else if (rule != NULL && rule->type == GVPN_RULE_BYPASS) {
		d.kind = FLOW_BYPASS;
		d.arg = rule->index;
	} else if (inbound) {
		if (fo != NULL) {
			d.kind = FLOW_FAIL_OPEN;
			d.arg = fo_hit;
		} else if (rule != NULL && rule->type == GVPN_RULE_TEK) {
			d.kind = FLOW_CLEAR_IN_POLICY;
		}
	} else if (rule != NULL && rule->type == GVPN_RULE_TEK) {
		d.kind = FLOW_ENCRYPT;
		d.arg = rule->tek;
		d.fail_open = fo != NULL ? (uint8_t)(fo_hit + 1) : 0;
	} else if (fo != NULL) {
		d.kind = FLOW_FAIL_OPEN;
		d.arg = fo_hit;
	}
	return flow_encode(d);
}

/* The decision for key @p i of a classified burst (@p res as
 * gvpn_policy_classify() leaves it, @p p the policy or NULL). */
static inline uint64_t
decide_from(const struct gvpn_worker *w, const struct gvpn_policy *p, const uint32_t *res,
	    uint32_t i, int inbound)
{
	uint32_t main_cat = inbound ? GVPN_ACL_IN : GVPN_ACL_OUT;
	uint32_t fo_cat = inbound ? GVPN_ACL_IN_FAIL_OPEN : GVPN_ACL_OUT_FAIL_OPEN;
	uint32_t r = p != NULL ? res[i * GVPN_ACL_CATEGORIES + main_cat] : 0;
	uint32_t fo = p != NULL ? res[i * GVPN_ACL_CATEGORIES + fo_cat] : 0;
	const struct gvpn_rule *fo_rule = fo != 0 ? &p->rules[fo - 1] : NULL;

	if (fo_rule != NULL && !w->fail_open[fo_rule->group])
		fo_rule = NULL;
	return decide(w, r != 0 ? &p->rules[r - 1] : NULL, fo_rule, inbound);
}

void
worker_classify(struct gvpn_worker *w, struct gvpn_acl_key *keys[], uint64_t out[], uint8_t ok[],
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
		out[i] = decide_from(w, p, res, i, keys[i]->dir);
		ok[i] = rte_hash_add_key_data(w->flows, keys[i], (void *)(uintptr_t)out[i]) >= 0;
		if (!ok[i])
			w->stats.flow_full++;
	}
}

void
worker_classify6(struct gvpn_worker *w, struct gvpn_acl_key6 *keys[], uint64_t out[], uint8_t ok[],
		 uint32_t n)
{
	uint32_t res[MAX_BURST * GVPN_ACL_CATEGORIES];
	const uint8_t *data[MAX_BURST];
	const struct gvpn_policy *p = w->policy;

	for (uint32_t i = 0; i < n; i++)
		data[i] = (const uint8_t *)keys[i];
	if (p != NULL)
		gvpn_policy_classify6(p, data, res, n);
	for (uint32_t i = 0; i < n; i++) {
		out[i] = decide_from(w, p, res, i, keys[i]->dir);
		ok[i] = rte_hash_add_key_data(w->flows6, keys[i], (void *)(uintptr_t)out[i]) >= 0;
		if (!ok[i])
			w->stats.flow_full++;
	}
}
