/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The rule table as a library: invalid rule sets refused with rte_errno,
 * an empty table matching nothing, each packet's best rule per category
 * (bypass over group policy, fail-open in its own categories, higher
 * priority first, prefixes, protocol and port ranges), the generation
 * stamp and the rule each match names, and a table of many rules. IPv6:
 * rules in the IPv6 context only, address-less rules in both families'
 * under one rule index, prefixes that end inside a 32-bit word, and a random
 * table checked against gvpn_selector_match6().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "test_util.h"
#include "gvpn_policy.h"

#define ANY_PORTS .sport_hi = 65535, .dport_hi = 65535
#define OUT (1u << GVPN_ACL_OUT)
#define IN (1u << GVPN_ACL_IN)
#define FO (1u << GVPN_ACL_OUT_FAIL_OPEN | 1u << GVPN_ACL_IN_FAIL_OPEN)

static struct gvpn_acl_key
key(uint32_t src, uint32_t dst, uint8_t proto, uint16_t sport, uint16_t dport)
{
	return (struct gvpn_acl_key){.proto = proto,
				     .src = rte_cpu_to_be_32(src),
				     .dst = rte_cpu_to_be_32(dst),
				     .sport = rte_cpu_to_be_16(sport),
				     .dport = rte_cpu_to_be_16(dport)};
}

/* An IPv6 address 2001:db8:<a>:<b>::<c>. */
static void
addr6(uint8_t out[16], uint16_t a, uint16_t b, uint16_t c)
{
	memset(out, 0, 16);
	out[0] = 0x20;
	out[1] = 0x01;
	out[2] = 0x0d;
	out[3] = 0xb8;
	out[4] = (uint8_t)(a >> 8);
	out[5] = (uint8_t)a;
	out[6] = (uint8_t)(b >> 8);
	out[7] = (uint8_t)b;
	out[14] = (uint8_t)(c >> 8);
	out[15] = (uint8_t)c;
}

static struct gvpn_acl_key6
key6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct gvpn_acl_key6 k = {
	    .proto = proto, .sport = rte_cpu_to_be_16(sport), .dport = rte_cpu_to_be_16(dport)};

	memcpy(k.src, src, 16);
	memcpy(k.dst, dst, 16);
	return k;
}

static void
classify_one6(const struct gvpn_policy *p, const struct gvpn_acl_key6 *k,
	      uint32_t res[GVPN_ACL_CATEGORIES])
{
	const uint8_t *keys[1] = {(const uint8_t *)k};

	gvpn_policy_classify6(p, keys, res, 1);
}

static void
classify_one(const struct gvpn_policy *p, const struct gvpn_acl_key *k,
	     uint32_t res[GVPN_ACL_CATEGORIES])
{
	const uint8_t *keys[1] = {(const uint8_t *)k};

	gvpn_policy_classify(p, keys, res, 1);
}

static void
test_rule_without_or_beyond_the_categories_is_refused(void **state)
{
	static const uint32_t bad[] = {0, 1u << GVPN_ACL_CATEGORIES, UINT32_MAX};

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(bad); k++) {
		struct gvpn_policy_rule r[2] = {
		    {.sel = {ANY_PORTS},
		     .rule = {.type = GVPN_RULE_BYPASS},
		     .categories = OUT,
		     .priority = 2},
		    {.sel = {ANY_PORTS},
		     .rule = {.type = GVPN_RULE_TEK},
		     .categories = bad[k],
		     .priority = 1},
		};

		rte_errno = 0;
		assert_null(gvpn_policy_build(r, 2, 1, SOCKET_ID_ANY));
		assert_int_equal(rte_errno, EINVAL);
	}
}

/* rte_acl takes priorities from 1 up. */
static void
test_rule_with_priority_below_one_is_refused(void **state)
{
	static const int32_t bad[] = {0, -1, INT32_MIN};

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(bad); k++) {
		struct gvpn_policy_rule r = {.sel = {ANY_PORTS},
					     .rule = {.type = GVPN_RULE_BYPASS},
					     .categories = OUT,
					     .priority = bad[k]};

		rte_errno = 0;
		assert_null(gvpn_policy_build(&r, 1, 1, SOCKET_ID_ANY));
		assert_int_equal(rte_errno, EINVAL);
	}
}

static void
test_empty_table_matches_nothing_and_keeps_its_generation(void **state)
{
	struct gvpn_policy *p;
	struct gvpn_acl_key k = key(0x0a000001, 0x0a000002, 17, 1, 2);
	uint32_t res[GVPN_ACL_CATEGORIES] = {7, 7, 7, 7};

	(void)state;
	p = gvpn_policy_build(NULL, 0, 42, SOCKET_ID_ANY);
	assert_non_null(p);
	assert_null(p->acl);
	assert_int_equal(p->generation, 42);
	assert_int_equal(p->n_rules, 0);
	classify_one(p, &k, res);
	for (int c = 0; c < GVPN_ACL_CATEGORIES; c++)
		assert_int_equal(res[c], 0);
	gvpn_policy_free(p);
	gvpn_policy_free(NULL);
}

/*
 * A table as the control core builds one: bypass above group policies in
 * both directions, two group policies of different priority that overlap,
 * an inbound-only one, fail-open rules in their own categories.
 */
static const struct gvpn_policy_rule table[] = {
    /* 1: bypass GDOI, both ways */
    {.sel = {.proto = 17, .sport_hi = 65535, .dport_lo = 848, .dport_hi = 848},
     .rule = {.type = GVPN_RULE_BYPASS},
     .categories = OUT | IN,
     .priority = 300},
    /* 2: TEK 0 of group 0: 10.1/16 -> 10.2/16 */
    {.sel = {.src = {0x0a010000, 16}, .dst = {0x0a020000, 16}, ANY_PORTS},
     .rule = {.type = GVPN_RULE_TEK, .group = 0, .tek = 0},
     .categories = OUT | IN,
     .priority = 200},
    /* 3: TEK 1 of group 0, within 2 and above it: 10.1.5/24 -> 10.2/16 tcp 443 */
    {.sel = {.src = {0x0a010500, 24},
	     .dst = {0x0a020000, 16},
	     .proto = 6,
	     .sport_hi = 65535,
	     .dport_lo = 443,
	     .dport_hi = 443},
     .rule = {.type = GVPN_RULE_TEK, .group = 0, .tek = 1},
     .categories = OUT | IN,
     .priority = 210},
    /* 4: TEK 2 of group 1, inbound only: 10.3/16 -> 10.4.0.7/32 */
    {.sel = {.src = {0x0a030000, 16}, .dst = {0x0a040007, 32}, ANY_PORTS},
     .rule = {.type = GVPN_RULE_TEK, .group = 1, .tek = 2},
     .categories = IN,
     .priority = 190},
    /* 5: fail-open for group 0: 10.0/8 -> anything */
    {.sel = {.src = {0x0a000000, 8}, ANY_PORTS},
     .rule = {.type = GVPN_RULE_FAIL_OPEN, .group = 0},
     .categories = FO,
     .priority = 10},
    /* 6: a narrower fail-open rule for group 1, higher */
    {.sel = {.src = {0x0a030000, 16}, ANY_PORTS},
     .rule = {.type = GVPN_RULE_FAIL_OPEN, .group = 1},
     .categories = FO,
     .priority = 20},
};

static void
test_each_category_gets_its_best_rule(void **state)
{
	static const struct {
		const char *what;
		uint32_t src, dst;
		uint8_t proto;
		uint16_t sport, dport;
		uint32_t want[GVPN_ACL_CATEGORIES]; /* out, out fail-open, in, in fail-open */
	} cases[] = {
	    {"no rule at all", 0xc0000201, 0xc0000202, 6, 1, 2, {0, 0, 0, 0}},
	    {"bypass over TEK", 0x0a010001, 0x0a020001, 17, 5000, 848, {1, 5, 1, 5}},
	    {"bypass: wrong protocol", 0x0a010001, 0x0a020001, 6, 5000, 848, {2, 5, 2, 5}},
	    {"TEK by prefix", 0x0a01ff01, 0x0a02ff02, 1, 0, 0, {2, 5, 2, 5}},
	    {"narrow TEK first", 0x0a010509, 0x0a020001, 6, 40000, 443, {3, 5, 3, 5}},
	    {"narrow TEK, port", 0x0a010509, 0x0a020001, 6, 40000, 444, {2, 5, 2, 5}},
	    {"narrow TEK, proto", 0x0a010509, 0x0a020001, 17, 40000, 443, {2, 5, 2, 5}},
	    {"src just outside the prefix", 0x0a000001, 0x0a020001, 6, 1, 2, {0, 5, 0, 5}},
	    {"dst just outside the prefix", 0x0a010001, 0x0a030001, 6, 1, 2, {0, 5, 0, 5}},
	    {"inbound-only TEK", 0x0a030001, 0x0a040007, 50, 0, 0, {0, 6, 4, 6}},
	    {"inbound-only TEK: /32 missed", 0x0a030001, 0x0a040008, 50, 0, 0, {0, 6, 0, 6}},
	    {"fail-open only", 0x0aff0001, 0xc0000201, 6, 1, 2, {0, 5, 0, 5}},
	};
	struct gvpn_policy *p;

	(void)state;
	p = gvpn_policy_build(table, ARRAY_LEN(table), 9, SOCKET_ID_ANY);
	assert_non_null(p);
	assert_non_null(p->acl);
	assert_int_equal(p->generation, 9);
	assert_int_equal(p->n_rules, ARRAY_LEN(table));
	for (size_t i = 0; i < ARRAY_LEN(table); i++)
		assert_memory_equal(&p->rules[i], &table[i].rule, sizeof(p->rules[i]));
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		struct gvpn_acl_key kk =
		    key(cases[k].src, cases[k].dst, cases[k].proto, cases[k].sport, cases[k].dport);
		uint32_t res[GVPN_ACL_CATEGORIES];

		classify_one(p, &kk, res);
		for (int c = 0; c < GVPN_ACL_CATEGORIES; c++)
			if (res[c] != cases[k].want[c])
				fail_msg("%s: category %d: rule %u, want %u", cases[k].what, c,
					 res[c], cases[k].want[c]);
	}
	gvpn_policy_free(p);
}

/* The flow cache's direction byte is no part of the match. */
static void
test_direction_byte_does_not_change_the_match(void **state)
{
	struct gvpn_policy *p = gvpn_policy_build(table, ARRAY_LEN(table), 1, SOCKET_ID_ANY);
	struct gvpn_acl_key a = key(0x0a010001, 0x0a020001, 6, 1, 2), b = a;
	uint32_t ra[GVPN_ACL_CATEGORIES], rb[GVPN_ACL_CATEGORIES];

	(void)state;
	assert_non_null(p);
	b.dir = 1;
	classify_one(p, &a, ra);
	classify_one(p, &b, rb);
	assert_memory_equal(ra, rb, sizeof(ra));
	assert_int_equal(ra[GVPN_ACL_OUT], 2);
	gvpn_policy_free(p);
}

/*
 * Many rules, each a /32 destination of its own with its own priority, in
 * one burst of lookups; two tables live at once (the swap keeps the old
 * one until the workers let go).
 */
static void
test_large_table_finds_every_rule_in_one_burst(void **state)
{
	enum { N = 4096, BURST = 64 };
	struct gvpn_policy_rule *r = calloc(N, sizeof(*r));
	struct gvpn_policy *p, *q;

	(void)state;
	assert_non_null(r);
	for (uint32_t i = 0; i < N; i++)
		r[i] = (struct gvpn_policy_rule){
		    .sel = {.dst = {0x0b000000 + i, 32}, ANY_PORTS},
		    .rule = {.type = GVPN_RULE_TEK, .group = (uint8_t)(i % 16), .tek = (uint16_t)i},
		    .categories = OUT,
		    .priority = (int32_t)i + 1};
	p = gvpn_policy_build(r, N, 1, SOCKET_ID_ANY);
	q = gvpn_policy_build(r, 1, 2, SOCKET_ID_ANY);
	assert_non_null(p);
	assert_non_null(q);
	for (uint32_t base = 0; base < N; base += BURST) {
		struct gvpn_acl_key k[BURST];
		const uint8_t *keys[BURST];
		uint32_t res[BURST * GVPN_ACL_CATEGORIES];

		for (uint32_t i = 0; i < BURST; i++) {
			k[i] = key(0x0a000001, 0x0b000000 + base + i, 17, 1, 2);
			keys[i] = (const uint8_t *)&k[i];
		}
		gvpn_policy_classify(p, keys, res, BURST);
		for (uint32_t i = 0; i < BURST; i++) {
			uint32_t u = res[i * GVPN_ACL_CATEGORIES + GVPN_ACL_OUT];

			if (u != base + i + 1)
				fail_msg("dst 11.0.%u.%u: rule %u", (base + i) >> 8,
					 (base + i) & 255, u);
			assert_int_equal(p->rules[u - 1].tek, base + i);
			assert_int_equal(res[i * GVPN_ACL_CATEGORIES + GVPN_ACL_IN], 0);
		}
	}
	gvpn_policy_free(q);
	gvpn_policy_free(p);
	free(r);
}

/* A selector of family @p af with IPv6 prefixes (a, b) / len each. */
static struct gvpn_selector
sel6(uint16_t sa, uint16_t sb, uint8_t slen, uint16_t da, uint16_t db, uint8_t dlen)
{
	struct gvpn_selector s = {.af = GVPN_AF_IPV6, ANY_PORTS};

	addr6(s.src.addr6, sa, sb, 0);
	addr6(s.dst.addr6, da, db, 0);
	s.src.len = slen;
	s.dst.len = dlen;
	return s;
}

/*
 * Both families in one table: IPv6 group policies (one narrower, by
 * protocol and port, above a wider one; one whose prefixes end inside a
 * 32-bit word), an address-less bypass rule that serves both families under
 * its one index, an IPv4 policy and an IPv6 fail-open rule. An IPv6 key
 * never meets an IPv4 rule, nor an IPv4 key an IPv6 rule.
 */
static void
test_ipv6_rules_and_either_family_rules(void **state)
{
	struct gvpn_policy_rule t[] = {
	    /* 1: bypass GDOI, either family */
	    {.sel = {.af = GVPN_AF_ANY,
		     .proto = 17,
		     .sport_hi = 65535,
		     .dport_lo = 848,
		     .dport_hi = 848},
	     .rule = {.type = GVPN_RULE_BYPASS},
	     .categories = OUT | IN,
	     .priority = 300},
	    /* 2: TEK 0: 2001:db8:1::/48 -> 2001:db8:2::/48 */
	    {.sel = sel6(1, 0, 48, 2, 0, 48),
	     .rule = {.type = GVPN_RULE_TEK, .tek = 0},
	     .categories = OUT | IN,
	     .priority = 200},
	    /* 3: TEK 1: 2001:db8:1:5::/64 -> 2001:db8:2::/48 tcp 443, above 2 */
	    {.sel = sel6(1, 5, 64, 2, 0, 48),
	     .rule = {.type = GVPN_RULE_TEK, .tek = 1},
	     .categories = OUT | IN,
	     .priority = 210},
	    /* 4: TEK 2: 2001:db8:3:4000::/50 -> 2001:db8:4::/47, inbound only */
	    {.sel = sel6(3, 0x4000, 50, 4, 0, 47),
	     .rule = {.type = GVPN_RULE_TEK, .tek = 2},
	     .categories = IN,
	     .priority = 190},
	    /* 5: IPv4 TEK 3: 10.1/16 -> 10.2/16 */
	    {.sel = {.src = {0x0a010000, 16}, .dst = {0x0a020000, 16}, ANY_PORTS},
	     .rule = {.type = GVPN_RULE_TEK, .tek = 3},
	     .categories = OUT | IN,
	     .priority = 180},
	    /* 6: fail-open: 2001:db8::/32 -> anything */
	    {.sel = sel6(0, 0, 32, 0, 0, 0),
	     .rule = {.type = GVPN_RULE_FAIL_OPEN},
	     .categories = FO,
	     .priority = 10},
	};
	static const struct {
		const char *what;
		uint16_t sa, sb, sc, da, db, dc;
		uint8_t proto;
		uint16_t dport;
		uint32_t want[GVPN_ACL_CATEGORIES];
	} cases[] = {
	    {"TEK by prefix", 1, 9, 1, 2, 7, 1, 6, 80, {2, 6, 2, 6}},
	    {"bypass over TEK, either family", 1, 9, 1, 2, 7, 1, 17, 848, {1, 6, 1, 6}},
	    {"narrow TEK first", 1, 5, 1, 2, 0, 9, 6, 443, {3, 6, 3, 6}},
	    {"narrow TEK: another port", 1, 5, 1, 2, 0, 9, 6, 444, {2, 6, 2, 6}},
	    {"src outside /48", 0x11, 0, 1, 2, 0, 1, 6, 80, {0, 6, 0, 6}},
	    {"dst outside /48", 1, 0, 1, 3, 0, 1, 6, 80, {0, 6, 0, 6}},
	    {"/50: last bits in", 3, 0x7fff, 1, 5, 0xffff, 1, 6, 1, {0, 6, 4, 6}},
	    {"/50: bit 50 out", 3, 0x8000, 1, 5, 0, 1, 6, 1, {0, 6, 0, 6}},
	    {"/50: bit 49 out", 3, 0x0000, 1, 4, 0, 1, 6, 1, {0, 6, 0, 6}},
	    {"/47: bit 47 out", 3, 0x4000, 1, 6, 0, 1, 6, 1, {0, 6, 0, 6}},
	};
	struct gvpn_policy *p;
	uint32_t res[GVPN_ACL_CATEGORIES];

	(void)state;
	t[2].sel.proto = 6;
	t[2].sel.dport_lo = t[2].sel.dport_hi = 443;
	p = gvpn_policy_build(t, ARRAY_LEN(t), 3, SOCKET_ID_ANY);
	assert_non_null(p);
	assert_non_null(p->acl);
	assert_non_null(p->acl6);
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		uint8_t s[16], d[16];
		struct gvpn_acl_key6 kk;

		addr6(s, cases[k].sa, cases[k].sb, cases[k].sc);
		addr6(d, cases[k].da, cases[k].db, cases[k].dc);
		kk = key6(s, d, cases[k].proto, 40000, cases[k].dport);
		classify_one6(p, &kk, res);
		for (int c = 0; c < GVPN_ACL_CATEGORIES; c++)
			if (res[c] != cases[k].want[c])
				fail_msg("%s: category %d: rule %u, want %u", cases[k].what, c,
					 res[c], cases[k].want[c]);
	}
	/* IPv4 keys: their TEK, the either-family bypass by its one index,
	 * and no IPv6 rule (not the fail-open one whose /32 would take any
	 * address starting 0x20010db8) */
	struct gvpn_acl_key k4 = key(0x0a010001, 0x0a020001, 6, 1, 80);
	classify_one(p, &k4, res);
	assert_int_equal(res[GVPN_ACL_OUT], 5);
	assert_int_equal(res[GVPN_ACL_OUT_FAIL_OPEN], 0);
	k4 = key(0x0a010001, 0x0a020001, 17, 1, 848);
	classify_one(p, &k4, res);
	assert_int_equal(res[GVPN_ACL_OUT], 1);
	assert_int_equal(res[GVPN_ACL_IN], 1);
	k4 = key(0x20010db8, 0x20010db8, 6, 1, 80);
	classify_one(p, &k4, res);
	for (int c = 0; c < GVPN_ACL_CATEGORIES; c++)
		assert_int_equal(res[c], 0);
	/* an IPv6 key with the IPv4 policy's addresses in its first words */
	uint8_t s[16] = {10, 1, 0, 1}, d[16] = {10, 2, 0, 1};
	struct gvpn_acl_key6 k6 = key6(s, d, 6, 1, 80);
	classify_one6(p, &k6, res);
	for (int c = 0; c < GVPN_ACL_CATEGORIES; c++)
		assert_int_equal(res[c], 0);
	gvpn_policy_free(p);

	/* one family's rules only: the other context is not built, and
	 * matches nothing */
	p = gvpn_policy_build(&t[1], 1, 4, SOCKET_ID_ANY);
	assert_non_null(p);
	assert_null(p->acl);
	assert_non_null(p->acl6);
	classify_one(p, &k4, res);
	assert_int_equal(res[GVPN_ACL_OUT], 0);
	gvpn_policy_free(p);
	p = gvpn_policy_build(&t[4], 1, 5, SOCKET_ID_ANY);
	assert_non_null(p);
	assert_non_null(p->acl);
	assert_null(p->acl6);
	classify_one6(p, &k6, res);
	assert_int_equal(res[GVPN_ACL_OUT], 0);
	gvpn_policy_free(p);
}

static void
test_selector_of_unknown_family_is_refused(void **state)
{
	struct gvpn_policy_rule r = {.sel = {.af = GVPN_AF_ANY + 1, ANY_PORTS},
				     .rule = {.type = GVPN_RULE_BYPASS},
				     .categories = OUT,
				     .priority = 1};

	(void)state;
	rte_errno = 0;
	assert_null(gvpn_policy_build(&r, 1, 1, SOCKET_ID_ANY));
	assert_int_equal(rte_errno, EINVAL);
}

/* xorshift: a reproducible sequence for the random table. */
static uint32_t
next_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/*
 * A random IPv6 table (prefixes of every length over a few base addresses,
 * protocols, port ranges, distinct priorities) against random keys near its
 * prefixes: each key's rule in each direction is the highest-priority one
 * that gvpn_selector_match6() says matches.
 */
static void
test_random_ipv6_table_agrees_with_selector_match6(void **state)
{
	enum { N = 300, KEYS = 3000 };
	struct gvpn_policy_rule *r = calloc(N, sizeof(*r));
	struct gvpn_policy *p;
	uint32_t x = 0x2545f491, checked_match = 0;

	(void)state;
	assert_non_null(r);
	for (uint32_t i = 0; i < N; i++) {
		struct gvpn_selector *s = &r[i].sel;

		s->af = GVPN_AF_IPV6;
		addr6(s->src.addr6, (uint16_t)(next_rand(&x) % 4), 0, 0);
		addr6(s->dst.addr6, (uint16_t)(next_rand(&x) % 4), 0, 0);
		for (int b = 8; b < 16; b++) {
			s->src.addr6[b] = (uint8_t)(next_rand(&x) % 3);
			s->dst.addr6[b] = (uint8_t)(next_rand(&x) % 3);
		}
		s->src.len = (uint8_t)(next_rand(&x) % 129);
		s->dst.len = (uint8_t)(next_rand(&x) % 129);
		/* host bits clear, as the configuration requires */
		for (int b = 0; b < 16; b++) {
			int keep = s->src.len - 8 * b, keep_d = s->dst.len - 8 * b;

			s->src.addr6[b] &= keep >= 8   ? 0xff
					   : keep <= 0 ? 0
						       : (uint8_t)(0xff00 >> keep);
			s->dst.addr6[b] &= keep_d >= 8	 ? 0xff
					   : keep_d <= 0 ? 0
							 : (uint8_t)(0xff00 >> keep_d);
		}
		s->proto = (uint8_t[]){0, 6, 17}[next_rand(&x) % 3];
		s->sport_lo = 0;
		s->sport_hi = 65535;
		s->dport_lo = (uint16_t)(next_rand(&x) % 8);
		s->dport_hi = (uint16_t)(s->dport_lo + next_rand(&x) % 8);
		r[i].rule = (struct gvpn_rule){.type = GVPN_RULE_TEK, .tek = (uint16_t)i};
		r[i].categories = next_rand(&x) % 2 ? OUT : OUT | IN;
		r[i].priority = (int32_t)i + 1;
	}
	p = gvpn_policy_build(r, N, 1, SOCKET_ID_ANY);
	assert_non_null(p);
	for (uint32_t k = 0; k < KEYS; k++) {
		const struct gvpn_selector *near = &r[next_rand(&x) % N].sel;
		struct gvpn_acl_key6 kk = {.proto = (uint8_t[]){1, 6, 17}[next_rand(&x) % 3]};
		uint32_t res[GVPN_ACL_CATEGORIES], want_out = 0, want_in = 0;
		uint16_t dport = (uint16_t)(next_rand(&x) % 12);

		memcpy(kk.src, near->src.addr6, 16);
		memcpy(kk.dst, near->dst.addr6, 16);
		/* flip a bit somewhere, often beyond the prefix */
		kk.src[next_rand(&x) % 16] ^= (uint8_t)(1u << next_rand(&x) % 8);
		if (next_rand(&x) % 2)
			kk.dst[next_rand(&x) % 16] ^= (uint8_t)(1u << next_rand(&x) % 8);
		kk.sport = rte_cpu_to_be_16(1234);
		kk.dport = rte_cpu_to_be_16(dport);
		for (uint32_t i = 0; i < N; i++) {
			if (!gvpn_selector_match6(&r[i].sel, kk.src, kk.dst, kk.proto, 1234, dport))
				continue;
			want_out = i + 1; /* priorities rise with the index */
			if (r[i].categories & IN)
				want_in = i + 1;
		}
		classify_one6(p, &kk, res);
		if (res[GVPN_ACL_OUT] != want_out || res[GVPN_ACL_IN] != want_in)
			fail_msg("key %u: rules %u/%u, want %u/%u", k, res[GVPN_ACL_OUT],
				 res[GVPN_ACL_IN], want_out, want_in);
		checked_match += want_out != 0;
	}
	/* the keys were near enough to the rules to test something */
	assert_true(checked_match > KEYS / 4);
	gvpn_policy_free(p);
	free(r);
}

/*
 * The VLAN match: a rule of one VLAN matches keys of that VLAN alone (IPv4,
 * IPv6 and either family), a rule without one every VLAN and untagged;
 * random tables of both agree with gvpn_selector_match() and the VLAN
 * compared by hand, VLAN IDs whose bytes swapped are other IDs among them.
 * A VLAN beyond 4094 is refused.
 */
static void
test_vlan_rules_match_their_vlan_alone(void **state)
{
	enum { N = 200, KEYS = 4000 };
	static const uint16_t vlans[] = {0, 1, 256, 0xabc, 0xcba, 4094};
	struct gvpn_policy_rule fixed[4] = {
	    {.sel = {.src = {0x0a010000, 16}, .dst = {0x0a020000, 16}, ANY_PORTS},
	     .rule = {.type = GVPN_RULE_TEK},
	     .categories = OUT,
	     .priority = 1},
	    {.sel = {.src = {0x0a010000, 16}, .dst = {0x0a020000, 16}, ANY_PORTS, .vlan = 200},
	     .rule = {.type = GVPN_RULE_BYPASS},
	     .categories = OUT,
	     .priority = 2},
	    {.sel = {.af = GVPN_AF_ANY,
		     .proto = 17,
		     .sport_hi = 65535,
		     .dport_lo = 848,
		     .dport_hi = 848,
		     .vlan = 4094},
	     .rule = {.type = GVPN_RULE_BYPASS},
	     .categories = OUT,
	     .priority = 3},
	    {.sel = {.af = GVPN_AF_IPV6,
		     .src = {.len = 48},
		     .dst = {.len = 48},
		     ANY_PORTS,
		     .vlan = 300},
	     .rule = {.type = GVPN_RULE_BYPASS},
	     .categories = OUT,
	     .priority = 4},
	};
	struct gvpn_policy_rule *r = calloc(N, sizeof(*r));
	struct gvpn_acl_key k = key(0x0a010001, 0x0a020001, 17, 1, 848);
	struct gvpn_acl_key6 k6;
	uint32_t res[GVPN_ACL_CATEGORIES], x = 0x1234567, matched = 0;
	uint8_t a[16], b[16];
	struct gvpn_policy *p;

	(void)state;
	assert_non_null(r);
	addr6(fixed[3].sel.src.addr6, 1, 0, 0);
	addr6(fixed[3].sel.dst.addr6, 2, 0, 0);
	p = gvpn_policy_build(fixed, 4, 1, SOCKET_ID_ANY);
	assert_non_null(p);
	static const struct {
		uint16_t vlan;
		uint32_t want;
	} v4[] = {{0, 1}, {200, 2}, {201, 1}, {200 << 4, 1}, {4094, 3}, {4093, 1}};
	for (size_t i = 0; i < ARRAY_LEN(v4); i++) {
		k.vlan = rte_cpu_to_be_16(v4[i].vlan);
		classify_one(p, &k, res);
		if (res[GVPN_ACL_OUT] != v4[i].want)
			fail_msg("IPv4 VLAN %u: rule %u, want %u", v4[i].vlan, res[GVPN_ACL_OUT],
				 v4[i].want);
	}
	addr6(a, 1, 0, 1);
	addr6(b, 2, 0, 2);
	k6 = key6(a, b, 17, 1, 848);
	static const struct {
		uint16_t vlan;
		uint32_t want;
	} v6[] = {{0, 0}, {300, 4}, {301, 0}, {4094, 3}};
	for (size_t i = 0; i < ARRAY_LEN(v6); i++) {
		k6.vlan = rte_cpu_to_be_16(v6[i].vlan);
		classify_one6(p, &k6, res);
		if (res[GVPN_ACL_OUT] != v6[i].want)
			fail_msg("IPv6 VLAN %u: rule %u, want %u", v6[i].vlan, res[GVPN_ACL_OUT],
				 v6[i].want);
	}
	gvpn_policy_free(p);
	fixed[0].sel.vlan = GVPN_VLAN_MAX + 1;
	rte_errno = 0;
	assert_null(gvpn_policy_build(fixed, 1, 1, SOCKET_ID_ANY));
	assert_int_equal(rte_errno, EINVAL);

	for (uint32_t i = 0; i < N; i++) {
		struct gvpn_selector *s = &r[i].sel;

		s->src.addr = 0x0a000000 | (next_rand(&x) % 4) << 8;
		s->src.len = (uint8_t)(next_rand(&x) % 2 ? 24 : 0);
		s->dst.addr = 0x0b000000;
		s->dst.len = 8;
		s->proto = (uint8_t[]){0, 6, 17}[next_rand(&x) % 3];
		s->sport_hi = 65535;
		s->dport_lo = (uint16_t)(next_rand(&x) % 8);
		s->dport_hi = (uint16_t)(s->dport_lo + next_rand(&x) % 8);
		s->vlan = vlans[next_rand(&x) % ARRAY_LEN(vlans)];
		r[i].rule = (struct gvpn_rule){.type = GVPN_RULE_TEK, .tek = (uint16_t)i};
		r[i].categories = OUT;
		r[i].priority = (int32_t)i + 1;
	}
	p = gvpn_policy_build(r, N, 1, SOCKET_ID_ANY);
	assert_non_null(p);
	for (uint32_t n = 0; n < KEYS; n++) {
		const uint32_t src = 0x0a000000 | (next_rand(&x) % 5) << 8 | 7;
		const uint8_t proto = (uint8_t[]){1, 6, 17}[next_rand(&x) % 3];
		const uint16_t dport = (uint16_t)(next_rand(&x) % 12);
		const uint16_t vlan = vlans[next_rand(&x) % ARRAY_LEN(vlans)];
		uint32_t want = 0;

		k = key(src, 0x0b000001, proto, 1234, dport);
		k.vlan = rte_cpu_to_be_16(vlan);
		for (uint32_t i = 0; i < N; i++)
			if (gvpn_selector_match(&r[i].sel, src, 0x0b000001, proto, 1234, dport) &&
			    (r[i].sel.vlan == 0 || r[i].sel.vlan == vlan))
				want = i + 1;
		classify_one(p, &k, res);
		if (res[GVPN_ACL_OUT] != want)
			fail_msg("key %u (VLAN %u): rule %u, want %u", n, vlan, res[GVPN_ACL_OUT],
				 want);
		matched += want != 0 && r[want - 1].sel.vlan != 0;
	}
	/* keys met rules of one VLAN often enough to test something */
	assert_true(matched > KEYS / 10);
	gvpn_policy_free(p);
	free(r);
}

int
main(int argc, char **argv)
{
	char *eal[] = {
	    argv[0], "--no-huge", "--no-pci", "--no-shconf",	"-l",
	    "0",     "-m",	  "256",      "--no-telemetry", "--log-level=lib.eal:error"};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_without_or_beyond_the_categories_is_refused),
	    cmocka_unit_test(test_vlan_rules_match_their_vlan_alone),
	    cmocka_unit_test(test_rule_with_priority_below_one_is_refused),
	    cmocka_unit_test(test_empty_table_matches_nothing_and_keeps_its_generation),
	    cmocka_unit_test(test_each_category_gets_its_best_rule),
	    cmocka_unit_test(test_direction_byte_does_not_change_the_match),
	    cmocka_unit_test(test_large_table_finds_every_rule_in_one_burst),
	    cmocka_unit_test(test_ipv6_rules_and_either_family_rules),
	    cmocka_unit_test(test_selector_of_unknown_family_is_refused),
	    cmocka_unit_test(test_random_ipv6_table_agrees_with_selector_match6),
	};

	(void)argc;
	if (rte_eal_init((int)ARRAY_LEN(eal), eal) < 0)
		return 1;
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
