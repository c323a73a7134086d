/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/sa: the selector helpers, the SA state names, the control core's
 * SPI index (a multimap with backward-shift deletion) and its free slot set.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"

#include "gvpn_sa.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const struct gvpn_selector any = {.sport_hi = 65535, .dport_hi = 65535};

/* 10.1.0.0/16 -> 10.2.0.0/16 udp, source ports any, destination 53 */
static const struct gvpn_selector dns = {.src = {IP(10, 1, 0, 0), 16},
					 .dst = {IP(10, 2, 0, 0), 16},
					 .proto = 17,
					 .sport_hi = 65535,
					 .dport_lo = 53,
					 .dport_hi = 53};

static void
test_selector_match(void **state)
{
	static const struct {
		const struct gvpn_selector *s;
		uint32_t src, dst;
		uint8_t proto;
		uint16_t sport, dport;
		int match;
	} cases[] = {
	    /* outside first */
	    {&dns, IP(10, 3, 0, 1), IP(10, 2, 0, 1), 17, 1000, 53, 0}, /* source prefix */
	    {&dns, IP(10, 1, 0, 1), IP(10, 1, 0, 1), 17, 1000, 53, 0}, /* destination prefix */
	    {&dns, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 6, 1000, 53, 0},  /* protocol */
	    {&dns, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 17, 1000, 54, 0}, /* port above */
	    {&dns, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 17, 1000, 52, 0}, /* port below */
	    {&dns, IP(10, 1, 255, 255), IP(10, 2, 255, 255), 17, 0, 53, 1},
	    {&dns, IP(10, 1, 0, 0), IP(10, 2, 0, 0), 17, 65535, 53, 1},
	    {&any, 0, 0, 0, 0, 0, 1},
	    {&any, ~0u, ~0u, 255, 65535, 65535, 1},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		assert_int_equal(!!gvpn_selector_match(cases[i].s, cases[i].src, cases[i].dst,
						       cases[i].proto, cases[i].sport,
						       cases[i].dport),
				 cases[i].match);
}

/* The compiled form's answer for a packet's fields, read from an IPv4
 * header's bytes as the data path reads them. */
static int
sel4_says(const struct gvpn_selector *sel, uint32_t src, uint32_t dst, uint8_t proto,
	  uint16_t sport, uint16_t dport)
{
	uint8_t hdr[20] = {0x45};
	struct gvpn_sel4 c;

	memset(&c, 0xa5, sizeof(c));
	gvpn_sel4_compile(sel, &c);
	hdr[9] = proto;
	for (int i = 0; i < 4; i++) {
		hdr[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		hdr[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	if (!gvpn_sel4_match_addrs(&c, gvpn_sel4_addrs(hdr), hdr[9]))
		return 0;
	if (!c.ports) { /* claimed only for ranges that hold every port */
		assert_true(gvpn_selector_match(sel, src, dst, proto, 0, 0));
		assert_true(gvpn_selector_match(sel, src, dst, proto, 65535, 65535));
		return 1;
	}
	return gvpn_sel4_match_ports(&c, sport, dport);
}

/* The data path's compiled IPv4 selectors agree with gvpn_selector_match()
 * on the table above and on random selectors and packets built to fall
 * near their prefixes' edges. */
static void
test_sel4_agrees_with_selector_match(void **state)
{
	static const uint8_t protos[] = {0, 1, 6, 17};
	uint32_t seed = 7;

	(void)state;
	assert_false(sel4_says(&dns, IP(10, 3, 0, 1), IP(10, 2, 0, 1), 17, 1000, 53));
	assert_false(sel4_says(&dns, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 6, 1000, 53));
	assert_false(sel4_says(&dns, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 17, 1000, 54));
	assert_true(sel4_says(&dns, IP(10, 1, 255, 255), IP(10, 2, 255, 255), 17, 0, 53));
	assert_true(sel4_says(&any, ~0u, 0, 255, 1, 2));
	for (unsigned int r = 0; r < 200000; r++) {
		struct gvpn_selector sel = any;
		uint32_t v[8];

		for (int i = 0; i < 8; i++) {
			seed = seed * 1103515245u + 12345u;
			v[i] = seed ^ (seed >> 16) * 2654435761u;
		}
		sel.src.addr = v[0];
		sel.dst.addr = v[1];
		sel.src.len = (uint8_t)(v[2] % 33);
		sel.dst.len = (uint8_t)(v[2] / 33 % 33);
		sel.proto = protos[v[3] & 3];
		if (v[3] & 4) {
			sel.sport_lo = (uint16_t)(v[4] & 0x3ff);
			sel.sport_hi = (uint16_t)(sel.sport_lo + (v[4] >> 16 & 0xff));
		}
		if (v[3] & 8) {
			sel.dport_lo = (uint16_t)(v[5] & 0x3ff);
			sel.dport_hi = (uint16_t)(sel.dport_lo + (v[5] >> 16 & 0xff));
		}
		/* the packet: the selector's address with a few low or high bits flipped */
		uint32_t src = sel.src.addr ^ (1u << (v[6] & 31)) * ((v[6] >> 5) & 1);
		uint32_t dst = sel.dst.addr ^ (1u << (v[7] & 31)) * ((v[7] >> 5) & 1);
		uint8_t proto = protos[v[6] >> 6 & 3];
		uint16_t sport = (uint16_t)(v[6] >> 8 & 0x4ff),
			 dport = (uint16_t)(v[7] >> 8 & 0x4ff);

		assert_int_equal(sel4_says(&sel, src, dst, proto, sport, dport),
				 !!gvpn_selector_match(&sel, src, dst, proto, sport, dport));
	}
}

/* An SA's selectors: all kept, the IPv4 ones compiled, the IPv6 ones not. */
static void
test_sa_rt_compiles_only_ipv4_selectors(void **state)
{
	struct gvpn_selector six = any, two[2] = {dns, any};
	struct gvpn_sa_rt rt;

	(void)state;
	six.af = GVPN_AF_IPV6;
	two[1].af = GVPN_AF_IPV6;
	memset(&rt, 0xff, sizeof(rt));
	gvpn_sa_rt_selectors(&rt, two, 2);
	assert_int_equal(rt.n_sel, 2);
	assert_int_equal(rt.n_sel4, 1);
	assert_true(gvpn_selector_equal(&rt.sel[1], &two[1]));
	assert_int_equal(rt.sel4[0].proto, 17);
	assert_true(rt.sel4[0].ports);
	gvpn_sa_rt_selectors(&rt, &six, 1);
	assert_int_equal(rt.n_sel, 1);
	assert_int_equal(rt.n_sel4, 0);
	gvpn_sa_rt_selectors(&rt, &any, 1);
	assert_int_equal(rt.n_sel4, 1);
	assert_false(rt.sel4[0].ports);
	assert_true(rt.sel4[0].mask == 0 && rt.sel4[0].addrs == 0);
}

static void
test_selector_equal_compares_every_field(void **state)
{
	struct gvpn_selector b;

	(void)state;
	for (int f = 0; f < 10; f++) {
		b = dns;
		switch (f) {
		case 9:
			b.vlan = 7;
			break;
		case 0:
			b.src.addr ^= 1;
			break;
		case 1:
			b.src.len--;
			break;
		case 2:
			b.dst.addr ^= 1 << 20;
			break;
		case 3:
			b.dst.len++;
			break;
		case 4:
			b.proto = 6;
			break;
		case 5:
			b.sport_lo = 1;
			break;
		case 6:
			b.sport_hi = 1024;
			break;
		case 7:
			b.dport_lo = 52;
			break;
		default:
			b.dport_hi = 54;
			break;
		}
		assert_false(gvpn_selector_equal(&dns, &b));
		assert_false(gvpn_selector_equal(&b, &dns));
		assert_int_not_equal(gvpn_selector_hash(&dns, 7), gvpn_selector_hash(&b, 7));
	}
	b = dns;
	/* padding after a prefix's IPv6 address */
	memset((char *)&b + offsetof(struct gvpn_prefix, addr6) + 16, 0x5a, 1);
	assert_true(gvpn_selector_equal(&dns, &b));
	assert_int_equal(gvpn_selector_hash(&dns, 7), gvpn_selector_hash(&b, 7));
}

/* 2001:db8:1::/48 -> 2001:db8:2::/48 udp to 53 */
static const struct gvpn_selector dns6 = {
    .src = {.len = 48, .addr6 = {0x20, 0x01, 0x0d, 0xb8, 0, 1}},
    .dst = {.len = 48, .addr6 = {0x20, 0x01, 0x0d, 0xb8, 0, 2}},
    .af = GVPN_AF_IPV6,
    .proto = 17,
    .sport_hi = 65535,
    .dport_lo = 53,
    .dport_hi = 53};

static void
test_selector_ipv6_match_contains_and_differs_from_ipv4(void **state)
{
	uint8_t in1[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0xff, 0xff, [15] = 9};
	uint8_t in2[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 1};
	uint8_t out[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 3};
	struct gvpn_selector odd = dns6, wide = dns6, either = any, m;
	char buf[160];

	(void)state;
	assert_true(gvpn_selector_match6(&dns6, in1, in2, 17, 1000, 53));
	assert_false(gvpn_selector_match6(&dns6, out, in2, 17, 1000, 53));
	assert_false(gvpn_selector_match6(&dns6, in1, out, 17, 1000, 53));
	assert_false(gvpn_selector_match6(&dns6, in1, in2, 6, 1000, 53));
	assert_false(gvpn_selector_match6(&dns6, in1, in2, 17, 1000, 54));
	/* a length that is not a whole number of bytes: /47 holds :3, not :2's neighbour */
	odd.src.len = 47;
	odd.src.addr6[5] = 2;
	assert_true(gvpn_selector_match6(&odd, out, in2, 17, 1, 53));
	assert_false(gvpn_selector_match6(&odd, in1, in2, 17, 1, 53));
	/* an IPv6 selector matches no IPv4 packet, an IPv4 one no IPv6 packet */
	assert_false(gvpn_selector_match(&dns6, 0, 0, 17, 1000, 53));
	assert_false(gvpn_selector_match6(&dns, in1, in2, 17, 1000, 53));
	/* an either-family selector matches both */
	either.af = GVPN_AF_ANY;
	assert_true(gvpn_selector_match(&either, IP(10, 1, 0, 1), 0, 6, 1, 2));
	assert_true(gvpn_selector_match6(&either, in1, out, 6, 1, 2));
	/* contains: by prefix, never across families, only "either" holds both */
	wide.src.len = 32;
	wide.dst.len = 32;
	assert_true(gvpn_selector_contains(&wide, &dns6));
	assert_false(gvpn_selector_contains(&dns6, &wide));
	assert_false(gvpn_selector_contains(&any, &dns6));
	assert_true(gvpn_selector_contains(&either, &dns6));
	assert_true(gvpn_selector_contains(&either, &dns));
	assert_false(gvpn_selector_contains(&dns6, &either));
	/* equality and hash see the family and the IPv6 bits */
	assert_false(gvpn_selector_equal(&dns6, &odd));
	assert_false(gvpn_selector_equal(&any, &either));
	assert_int_not_equal(gvpn_selector_hash(&any, 1), gvpn_selector_hash(&either, 1));
	m = gvpn_selector_mirror(&dns6);
	assert_int_equal(m.src.addr6[5], 2);
	assert_int_equal(m.dport_hi, 65535);
	gvpn_selector_format(&dns6, buf, sizeof(buf));
	assert_string_equal(
	    buf, "2001:db8:1::/48 -> 2001:db8:2::/48 proto 17 sport 0-65535 dport 53-53");
	gvpn_selector_format(&either, buf, sizeof(buf));
	assert_string_equal(buf, "any -> any proto 0 sport 0-65535 dport 0-65535");
}

/* Every length against every single-bit difference: the addresses agree on
 * the first len bits exactly when the flipped bit is not among them. */
static void
test_prefix6_match_every_length_and_bit(void **state)
{
	uint8_t a[16], b[16];

	(void)state;
	for (unsigned int i = 0; i < 16; i++)
		a[i] = (uint8_t)(0x5a ^ (i * 37));
	for (unsigned int len = 0; len <= 128; len++) {
		assert_true(gvpn_prefix6_match(a, a, (uint8_t)len));
		for (unsigned int bit = 0; bit < 128; bit++) {
			memcpy(b, a, sizeof(b));
			b[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
			if (gvpn_prefix6_match(a, b, (uint8_t)len) != (bit >= len))
				fail_msg("length %u, bit %u flipped", len, bit);
		}
	}
}

static void
test_selector_mirror_swaps_addresses_and_ports(void **state)
{
	struct gvpn_selector m = gvpn_selector_mirror(&dns), mm = gvpn_selector_mirror(&m);

	(void)state;
	assert_int_equal(m.src.addr, IP(10, 2, 0, 0));
	assert_int_equal(m.dst.addr, IP(10, 1, 0, 0));
	assert_int_equal(m.src.len, 16);
	assert_int_equal(m.proto, 17);
	assert_int_equal(m.sport_lo, 53);
	assert_int_equal(m.sport_hi, 53);
	assert_int_equal(m.dport_lo, 0);
	assert_int_equal(m.dport_hi, 65535);
	assert_false(gvpn_selector_equal(&m, &dns));
	assert_true(gvpn_selector_equal(&mm, &dns));
	assert_true(gvpn_selector_match(&m, IP(10, 2, 0, 9), IP(10, 1, 0, 9), 17, 53, 4000));
}

static void
test_selector_contains(void **state)
{
	struct gvpn_selector wide = dns, bad = dns, empty = dns, host = dns;
	static struct gvpn_selector cases_s[8];
	const struct {
		const struct gvpn_selector *outer, *inner;
		int contains;
	} cases[] = {
	    /* not contained first */
	    {&dns, &any, 0},	    {&dns, &wide, 0},	    {&bad, &dns, 0}, /* a prefix longer than
										32 */
	    {&dns, &bad, 0},	    {&dns, &cases_s[0], 0}, /* any protocol is not udp alone */
	    {&dns, &cases_s[1], 0},			    /* ports beyond */
	    {&any, &dns, 1},	    {&wide, &dns, 1},	    {&dns, &dns, 1}, {&dns, &host, 1},
	    {&dns, &empty, 1}, /* matches nothing */
	};

	(void)state;
	wide.src.len = 8;
	wide.proto = 0;
	wide.dport_hi = 65535;
	bad.src.len = 33;
	cases_s[0] = dns;
	cases_s[0].proto = 0;
	cases_s[1] = dns;
	cases_s[1].dport_hi = 54;
	empty.src.addr = IP(192, 168, 0, 0);
	empty.dport_lo = 60;
	host.src = (struct gvpn_prefix){IP(10, 1, 2, 3), 32};
	host.dst = (struct gvpn_prefix){IP(10, 2, 2, 3), 32};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		assert_int_equal(gvpn_selector_contains(cases[i].outer, cases[i].inner),
				 cases[i].contains);
	/* a VLAN's selector holds its VLAN's alone; one of any VLAN holds all */
	host.vlan = 10;
	assert_true(gvpn_selector_contains(&dns, &host));
	wide.vlan = 10;
	assert_true(gvpn_selector_contains(&wide, &host));
	host.vlan = 11;
	assert_false(gvpn_selector_contains(&wide, &host));
	host.vlan = 0;
	assert_false(gvpn_selector_contains(&wide, &host));
}

static void
test_selector_format(void **state)
{
	char buf[128], small[8];
	int n = gvpn_selector_format(&dns, buf, sizeof(buf));

	(void)state;
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "10.1.0.0/16 -> 10.2.0.0/16 proto 17 sport 0-65535 dport 53-53");
	/* truncated, terminated, and the full length returned */
	assert_int_equal(gvpn_selector_format(&dns, small, sizeof(small)), n);
	assert_string_equal(small, "10.1.0.");
	/* a selector of one VLAN, and the mirror keeps it */
	struct gvpn_selector v = dns, m;

	v.vlan = 4094;
	gvpn_selector_format(&v, buf, sizeof(buf));
	assert_string_equal(
	    buf, "10.1.0.0/16 -> 10.2.0.0/16 proto 17 sport 0-65535 dport 53-53 vlan 4094");
	m = gvpn_selector_mirror(&v);
	assert_int_equal(m.vlan, 4094);
	v.af = GVPN_AF_ANY;
	v.src.len = v.dst.len = 0;
	v.vlan = 5;
	gvpn_selector_format(&v, buf, sizeof(buf));
	assert_string_equal(buf, "any -> any proto 17 sport 0-65535 dport 53-53 vlan 5");
}

static void
test_sa_state_names(void **state)
{
	(void)state;
	assert_string_equal(gvpn_sa_state_name((enum gvpn_sa_state)99), "?");
	assert_string_equal(gvpn_sa_state_name((enum gvpn_sa_state) - 1), "?");
	assert_string_equal(gvpn_sa_state_name(GVPN_SA_FREE), "free");
	assert_string_equal(gvpn_sa_state_name(GVPN_SA_ACTIVE), "active");
	assert_string_equal(gvpn_sa_state_name(GVPN_SA_DELETING), "deleting");
}

static void
test_index_create_refuses_bad_sizes(void **state)
{
	(void)state;
	errno = 0;
	assert_null(gvpn_sa_index_create(0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(gvpn_sa_index_create(GVPN_SA_INDEX_MAX + 1));
	assert_int_equal(errno, EINVAL);
	gvpn_sa_index_free(NULL);
}

static void
test_index_insert_find_delete(void **state)
{
	struct gvpn_sa_index *ix = gvpn_sa_index_create(8);

	(void)state;
	assert_non_null(ix);
	/* empty: nothing to find or delete */
	assert_int_equal(gvpn_sa_index_find(ix, 0x1234), -ENOENT);
	assert_int_equal(gvpn_sa_index_del(ix, 0x1234, 0), -ENOENT);
	assert_int_equal(gvpn_sa_index_add(ix, 0x1234, 5), 0);
	assert_int_equal(gvpn_sa_index_add(ix, 0x1234, 5), -EEXIST);
	assert_int_equal(gvpn_sa_index_find(ix, 0x1234), 5);
	assert_int_equal(gvpn_sa_index_del(ix, 0x1234, 6), -ENOENT); /* the key, not the pair */
	assert_int_equal(gvpn_sa_index_count(ix), 1);
	assert_int_equal(gvpn_sa_index_add(ix, 0, 0), 0); /* key 0 and slot 0 are ordinary */
	assert_int_equal(gvpn_sa_index_find(ix, 0), 0);
	assert_int_equal(gvpn_sa_index_del(ix, 0x1234, 5), 0);
	assert_int_equal(gvpn_sa_index_find(ix, 0x1234), -ENOENT);
	assert_int_equal(gvpn_sa_index_find(ix, 0), 0);
	assert_int_equal(gvpn_sa_index_count(ix), 1);
	gvpn_sa_index_free(ix);
}

/* Several slots under one key (TEK policies hash alike), walked in full. */
static void
test_index_walks_every_slot_of_a_key(void **state)
{
	struct gvpn_sa_index *ix = gvpn_sa_index_create(16);
	uint32_t pos = 0, seen = 0;
	int s;

	(void)state;
	for (uint16_t i = 0; i < 10; i++)
		assert_int_equal(gvpn_sa_index_add(ix, i % 2 ? 77 : 78, i), 0);
	while ((s = gvpn_sa_index_next(ix, 77, &pos)) >= 0) {
		assert_true(s % 2 == 1);
		assert_false(seen & 1u << s);
		seen |= 1u << s;
	}
	assert_int_equal(seen, 0x2aa);
	assert_int_equal(gvpn_sa_index_del(ix, 77, 5), 0);
	pos = 0;
	seen = 0;
	while ((s = gvpn_sa_index_next(ix, 77, &pos)) >= 0)
		seen |= 1u << s;
	assert_int_equal(seen, 0x28a);
	gvpn_sa_index_free(ix);
}

/* One key's slots share a home, so they form one run that other keys'
 * runs bump into: deleting inside a run keeps the rest reachable (backward
 * shift), at any load up to full. */
static void
test_index_collisions_survive_deletes(void **state)
{
	struct gvpn_sa_index *ix = gvpn_sa_index_create(8); /* a 16-place table */
	uint32_t pos = 0, seen = 0;
	int s;

	(void)state;
	for (uint16_t i = 0; i < 5; i++)
		assert_int_equal(gvpn_sa_index_add(ix, 0xabcd, i), 0);
	for (uint16_t i = 5; i < 8; i++)
		assert_int_equal(gvpn_sa_index_add(ix, 0x100u + i, i), 0);
	assert_int_equal(gvpn_sa_index_add(ix, 0x200, 9), -ENOSPC);
	assert_int_equal(gvpn_sa_index_del(ix, 0xabcd, 0), 0); /* the run's head */
	assert_int_equal(gvpn_sa_index_del(ix, 0xabcd, 3), 0); /* its middle */
	for (uint16_t i = 5; i < 8; i++)
		assert_int_equal(gvpn_sa_index_find(ix, 0x100u + i), i);
	while ((s = gvpn_sa_index_next(ix, 0xabcd, &pos)) >= 0)
		seen |= 1u << s;
	assert_int_equal(seen, 0x16); /* 1, 2 and 4 */
	for (uint16_t i = 5; i < 8; i++)
		assert_int_equal(gvpn_sa_index_del(ix, 0x100u + i, i), 0);
	assert_int_equal(gvpn_sa_index_count(ix), 3);
	gvpn_sa_index_free(ix);
}

static void
test_index_full_then_reuse_after_delete(void **state)
{
	struct gvpn_sa_index *ix = gvpn_sa_index_create(100);

	(void)state;
	for (uint16_t i = 0; i < 100; i++)
		assert_int_equal(gvpn_sa_index_add(ix, 0x1000u + i, i), 0);
	assert_int_equal(gvpn_sa_index_add(ix, 0x9999, 100), -ENOSPC);
	assert_int_equal(gvpn_sa_index_add(ix, 0x1000, 0), -EEXIST); /* checked before room */
	assert_int_equal(gvpn_sa_index_del(ix, 0x1000u + 42, 42), 0);
	assert_int_equal(gvpn_sa_index_add(ix, 0x9999, 42), 0);
	assert_int_equal(gvpn_sa_index_find(ix, 0x9999), 42);
	assert_int_equal(gvpn_sa_index_find(ix, 0x1000u + 42), -ENOENT);
	assert_int_equal(gvpn_sa_index_count(ix), 100);
	for (uint16_t i = 0; i < 100; i++)
		if (i != 42)
			assert_int_equal(gvpn_sa_index_find(ix, 0x1000u + i), i);
	gvpn_sa_index_free(ix);
}

/* Random adds and deletes of SPIs against a plain array scanned from the
 * start, as the control core did before it had an index. */
static void
test_index_agrees_with_a_linear_scan(void **state)
{
	enum { SLOTS = 512, ROUNDS = 200000 };
	struct gvpn_sa_index *ix = gvpn_sa_index_create(SLOTS);
	static uint32_t spi[SLOTS];
	static uint8_t live[SLOTS];
	uint32_t seed = 12345;

	(void)state;
	for (unsigned int r = 0; r < ROUNDS; r++) {
		uint32_t k, s;
		int want = -ENOENT;

		seed = seed * 1103515245u + 12345u;
		s = (seed >> 8) % SLOTS;
		/* few distinct SPIs, so that adds collide with live ones */
		k = 256 + ((seed >> 20) % (SLOTS * 2));
		for (uint32_t i = 0; i < SLOTS; i++)
			if (live[i] && spi[i] == k)
				want = (int)i;
		assert_int_equal(gvpn_sa_index_find(ix, k), want);
		if (live[s]) {
			assert_int_equal(gvpn_sa_index_del(ix, spi[s], (uint16_t)s), 0);
			live[s] = 0;
		} else if (want < 0) {
			assert_int_equal(gvpn_sa_index_add(ix, k, (uint16_t)s), 0);
			spi[s] = k;
			live[s] = 1;
		}
	}
	for (uint32_t i = 0, n = 0; i < SLOTS; i++) {
		n += live[i];
		if (i == SLOTS - 1)
			assert_int_equal(gvpn_sa_index_count(ix), n);
	}
	gvpn_sa_index_free(ix);
}

/* RFC 6054 section 3: | Sender-ID | sender | counter |. */
static void
test_iv_spaces_split_the_sender_id(void **state)
{
	struct gvpn_iv_space sp;

	(void)state;
	assert_int_equal(gvpn_iv_sender_bits(0), 0);
	assert_int_equal(gvpn_iv_sender_bits(1), 0);
	assert_int_equal(gvpn_iv_sender_bits(2), 1);
	assert_int_equal(gvpn_iv_sender_bits(3), 2);
	assert_int_equal(gvpn_iv_sender_bits(64), 6);
	assert_int_equal(gvpn_iv_sender_bits(65), 7);
	/* 16-bit SID 0x1234, worker 5 of 8: 45 counter bits */
	assert_int_equal(gvpn_iv_space(16, 0x1234, 3, 5, &sp), 0);
	assert_true(sp.base == (0x1234ull << 48 | 5ull << 45));
	assert_true(sp.count == 1ull << 45);
	/* the spaces of two workers, and of two members, do not meet */
	struct gvpn_iv_space w6, m2;
	assert_int_equal(gvpn_iv_space(16, 0x1234, 3, 6, &w6), 0);
	assert_true(sp.base + sp.count == w6.base);
	assert_int_equal(gvpn_iv_space(16, 0x1235, 3, 0, &m2), 0);
	assert_true(w6.base + w6.count * 2 == m2.base);
	/* a whole 32-bit SID, one worker: 32 counter bits */
	assert_int_equal(gvpn_iv_space(32, 0xffffffff, 0, 0, &sp), 0);
	assert_true(sp.base == 0xffffffff00000000ull && sp.count == 1ull << 32);
	/* what does not fit */
	assert_int_equal(gvpn_iv_space(0, 0, 0, 0, &sp), -EINVAL);
	assert_int_equal(gvpn_iv_space(33, 1, 0, 0, &sp), -EINVAL);
	assert_int_equal(gvpn_iv_space(8, 256, 0, 0, &sp), -EINVAL);
	assert_int_equal(gvpn_iv_space(8, 1, 2, 4, &sp), -EINVAL);
	assert_int_equal(gvpn_iv_space(32, 1, 1, 0, &sp), -ERANGE);
	assert_int_equal(gvpn_iv_space(28, 1, 4, 15, &sp), 0);
	assert_int_equal(gvpn_iv_space(28, 1, 5, 15, &sp), -ERANGE);
}

static void
test_slots_refuse_bad_sizes_and_slots(void **state)
{
	struct gvpn_sa_slots *s;

	(void)state;
	errno = 0;
	assert_null(gvpn_sa_slots_create(0));
	assert_int_equal(errno, EINVAL);
	assert_null(gvpn_sa_slots_create(GVPN_SA_SLOTS_MAX + 1));
	s = gvpn_sa_slots_create(10);
	assert_int_equal(gvpn_sa_slots_take(s, 10), -EINVAL);
	assert_int_equal(gvpn_sa_slots_put(s, 10), -EINVAL);
	assert_int_equal(gvpn_sa_slots_put(s, 3), -ENOENT); /* free already */
	assert_int_equal(gvpn_sa_slots_take(s, 3), 0);
	assert_int_equal(gvpn_sa_slots_take(s, 3), -EBUSY);
	assert_int_equal(gvpn_sa_slots_used(s), 1);
	gvpn_sa_slots_free(s);
	gvpn_sa_slots_free(NULL);
}

/* The lowest free slot first, as the scan from slot 0 it replaces; full at n. */
static void
test_slots_hand_out_the_lowest_free(void **state)
{
	static const uint32_t sizes[] = {1, 63, 64, 65, 4096, 4097, 16384, GVPN_SA_SLOTS_MAX};

	(void)state;
	for (size_t z = 0; z < ARRAY_LEN(sizes); z++) {
		uint32_t n = sizes[z];
		struct gvpn_sa_slots *s = gvpn_sa_slots_create(n);

		assert_non_null(s);
		for (uint32_t i = 0; i < n; i++) {
			assert_int_equal(gvpn_sa_slots_first(s), (int)i);
			assert_int_equal(gvpn_sa_slots_take(s, i), 0);
		}
		assert_int_equal(gvpn_sa_slots_first(s), -ENOSPC);
		assert_int_equal(gvpn_sa_slots_used(s), n);
		if (n > 2) {
			assert_int_equal(gvpn_sa_slots_put(s, n - 1), 0);
			assert_int_equal(gvpn_sa_slots_first(s), (int)(n - 1));
			assert_int_equal(gvpn_sa_slots_put(s, n / 2), 0);
			assert_int_equal(gvpn_sa_slots_first(s), (int)(n / 2));
			assert_int_equal(gvpn_sa_slots_take(s, n / 2), 0);
			assert_int_equal(gvpn_sa_slots_first(s), (int)(n - 1));
		}
		gvpn_sa_slots_free(s);
	}
}

static void
test_slots_agree_with_a_linear_scan(void **state)
{
	enum { N = 3000, ROUNDS = 100000 };
	struct gvpn_sa_slots *s = gvpn_sa_slots_create(N);
	static uint8_t used[N];
	uint32_t seed = 99;

	(void)state;
	for (unsigned int r = 0; r < ROUNDS; r++) {
		uint32_t i, want = 0;

		while (want < N && used[want])
			want++;
		assert_int_equal(gvpn_sa_slots_first(s), want < N ? (int)want : -ENOSPC);
		seed = seed * 1103515245u + 12345u;
		i = (seed >> 8) % N;
		if (used[i]) {
			assert_int_equal(gvpn_sa_slots_put(s, i), 0);
			used[i] = 0;
		} else if (want < N && (seed >> 30) != 0) { /* mostly take the first, as ctrl */
			assert_int_equal(gvpn_sa_slots_take(s, want), 0);
			used[want] = 1;
		}
	}
	gvpn_sa_slots_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_selector_match),
	    cmocka_unit_test(test_sel4_agrees_with_selector_match),
	    cmocka_unit_test(test_sa_rt_compiles_only_ipv4_selectors),
	    cmocka_unit_test(test_selector_equal_compares_every_field),
	    cmocka_unit_test(test_selector_mirror_swaps_addresses_and_ports),
	    cmocka_unit_test(test_selector_contains),
	    cmocka_unit_test(test_selector_format),
	    cmocka_unit_test(test_selector_ipv6_match_contains_and_differs_from_ipv4),
	    cmocka_unit_test(test_prefix6_match_every_length_and_bit),
	    cmocka_unit_test(test_sa_state_names),
	    cmocka_unit_test(test_index_create_refuses_bad_sizes),
	    cmocka_unit_test(test_index_insert_find_delete),
	    cmocka_unit_test(test_index_walks_every_slot_of_a_key),
	    cmocka_unit_test(test_index_collisions_survive_deletes),
	    cmocka_unit_test(test_index_full_then_reuse_after_delete),
	    cmocka_unit_test(test_index_agrees_with_a_linear_scan),
	    cmocka_unit_test(test_iv_spaces_split_the_sender_id),
	    cmocka_unit_test(test_slots_refuse_bad_sizes_and_slots),
	    cmocka_unit_test(test_slots_hand_out_the_lowest_free),
	    cmocka_unit_test(test_slots_agree_with_a_linear_scan),
	};

	return cmocka_run_group_tests_name("sa", tests, NULL, NULL);
}
