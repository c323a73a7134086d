/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Selector helpers, counter-mode IV spaces, SA state names, and the
 * control core's SPI index and free slot set.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gvpn_sa.h"

uint8_t
gvpn_iv_sender_bits(unsigned int n_senders)
{
	uint8_t bits = 0;

	while (bits < 32 && (1ull << bits) < n_senders)
		bits++;
	return bits;
}

int
gvpn_iv_space(uint8_t sid_bits, uint32_t sid, uint8_t sender_bits, uint32_t sender,
	      struct gvpn_iv_space *out)
{
	unsigned int ctr_bits;

	if (sid_bits == 0 || sid_bits > GVPN_SID_BITS_MAX || sender_bits > 32 ||
	    (uint64_t)sid >> sid_bits != 0 || (uint64_t)sender >> sender_bits != 0)
		return -EINVAL;
	ctr_bits = 64u - sid_bits - sender_bits;
	if (ctr_bits < GVPN_IV_COUNTER_MIN_BITS)
		return -ERANGE;
	out->base = (uint64_t)sid << (64u - sid_bits) | (uint64_t)sender << ctr_bits;
	out->count = 1ull << ctr_bits; /* ctr_bits <= 63: sid_bits >= 1 */
	return 0;
}

static const char *const sa_states[] = {"free", "decrypt", "active", "retired", "deleting"};

const char *
gvpn_sa_state_name(enum gvpn_sa_state s)
{
	return (unsigned int)s < sizeof(sa_states) / sizeof(sa_states[0]) ? sa_states[s] : "?";
}

struct gvpn_selector
gvpn_selector_mirror(const struct gvpn_selector *s)
{
	struct gvpn_selector m = *s;

	m.src = s->dst;
	m.dst = s->src;
	m.sport_lo = s->dport_lo;
	m.sport_hi = s->dport_hi;
	m.dport_lo = s->sport_lo;
	m.dport_hi = s->sport_hi;
	return m;
}

/* Four bytes of @p v (host order) at @p b in network order. */
static void
put_be32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

void
gvpn_sel4_compile(const struct gvpn_selector *s, struct gvpn_sel4 *out)
{
	uint8_t a[8], m[8];

	put_be32(a, s->src.addr);
	put_be32(a + 4, s->dst.addr);
	put_be32(m, gvpn_prefix_mask(s->src.len));
	put_be32(m + 4, gvpn_prefix_mask(s->dst.len));
	memcpy(&out->mask, m, sizeof(m));
	memcpy(&out->addrs, a, sizeof(a));
	out->addrs &= out->mask;
	out->proto = s->proto;
	out->sport_lo = s->sport_lo;
	out->sport_hi = s->sport_hi;
	out->dport_lo = s->dport_lo;
	out->dport_hi = s->dport_hi;
	out->ports =
	    !(s->sport_lo == 0 && s->sport_hi == 65535 && s->dport_lo == 0 && s->dport_hi == 65535);
}

void
gvpn_sa_rt_selectors(struct gvpn_sa_rt *rt, const struct gvpn_selector *sel, uint8_t n)
{
	rt->n_sel = 0;
	rt->n_sel4 = 0;
	for (uint8_t i = 0; i < n && i < 2; i++) {
		rt->sel[rt->n_sel++] = sel[i];
		if (sel[i].af != GVPN_AF_IPV6) /* IPv6's lengths make no IPv4 mask */
			gvpn_sel4_compile(&sel[i], &rt->sel4[rt->n_sel4++]);
	}
}

static int
prefix_contains(const struct gvpn_prefix *outer, const struct gvpn_prefix *inner, uint8_t af)
{
	if (af == GVPN_AF_ANY)
		return outer->len == 0; /* "either family" names no address */
	if (af == GVPN_AF_IPV6)
		return outer->len <= 128 && inner->len <= 128 && outer->len <= inner->len &&
		       gvpn_prefix6_match(outer->addr6, inner->addr6, outer->len);
	if (outer->len > 32 || inner->len > 32 || outer->len > inner->len)
		return 0;
	return ((outer->addr ^ inner->addr) & gvpn_prefix_mask(outer->len)) == 0;
}

int
gvpn_selector_contains(const struct gvpn_selector *outer, const struct gvpn_selector *inner)
{
	if (inner->sport_lo > inner->sport_hi || inner->dport_lo > inner->dport_hi)
		return 1; /* matches nothing */
	if (outer->af != inner->af && outer->af != GVPN_AF_ANY)
		return 0;
	if (outer->vlan != 0 && outer->vlan != inner->vlan)
		return 0;
	return prefix_contains(&outer->src, &inner->src, outer->af) &&
	       prefix_contains(&outer->dst, &inner->dst, outer->af) &&
	       (outer->proto == 0 || outer->proto == inner->proto) &&
	       outer->sport_lo <= inner->sport_lo && inner->sport_hi <= outer->sport_hi &&
	       outer->dport_lo <= inner->dport_lo && inner->dport_hi <= outer->dport_hi;
}

/* MurmurHash3's finaliser: every input bit moves every output bit. */
static inline uint32_t
mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static uint32_t
hash_addr6(uint32_t h, const uint8_t *a)
{
	for (unsigned int i = 0; i < 16; i += 4) {
		uint32_t w;

		memcpy(&w, a + i, sizeof(w));
		h = mix32(h ^ w);
	}
	return h;
}

uint32_t
gvpn_selector_hash(const struct gvpn_selector *s, uint32_t seed)
{
	uint32_t h = mix32(seed ^ 0x9e3779b9u);

	h = mix32(h ^ s->src.addr);
	h = mix32(h ^ s->dst.addr);
	h = mix32(h ^ ((uint32_t)s->af << 24 | (uint32_t)s->src.len << 16 |
		       (uint32_t)s->dst.len << 8 | s->proto));
	h = mix32(h ^ ((uint32_t)s->sport_lo << 16 | s->sport_hi));
	h = mix32(h ^ ((uint32_t)s->dport_lo << 16 | s->dport_hi));
	if (s->vlan != 0)
		h = mix32(h ^ s->vlan ^ 0x7f4a0000u);
	if (s->af == GVPN_AF_IPV6) {
		h = hash_addr6(h ^ 6, s->src.addr6);
		h = hash_addr6(h, s->dst.addr6);
	}
	return h;
}

int
gvpn_selector_format(const struct gvpn_selector *s, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], v[16] = "";

	if (s->vlan != 0)
		snprintf(v, sizeof(v), " vlan %u", s->vlan);
	if (s->af == GVPN_AF_ANY) {
		return snprintf(buf, len, "any -> any proto %u sport %u-%u dport %u-%u%s", s->proto,
				s->sport_lo, s->sport_hi, s->dport_lo, s->dport_hi, v);
	}
	if (s->af == GVPN_AF_IPV6) {
		inet_ntop(AF_INET6, s->src.addr6, a, sizeof(a));
		inet_ntop(AF_INET6, s->dst.addr6, b, sizeof(b));
	} else {
		uint32_t sa = htonl(s->src.addr), da = htonl(s->dst.addr);

		inet_ntop(AF_INET, &sa, a, sizeof(a));
		inet_ntop(AF_INET, &da, b, sizeof(b));
	}
	return snprintf(buf, len, "%s/%u -> %s/%u proto %u sport %u-%u dport %u-%u%s", a,
			s->src.len, b, s->dst.len, s->proto, s->sport_lo, s->sport_hi, s->dport_lo,
			s->dport_hi, v);
}

/* ---- index ---- */

struct index_entry {
	uint32_t key;
	uint16_t slot;
	uint8_t used;
};

struct gvpn_sa_index {
	uint32_t mask; /* table size - 1 */
	uint32_t count;
	uint32_t max;
	struct index_entry e[];
};

static inline uint32_t
home(const struct gvpn_sa_index *ix, uint32_t key)
{
	return mix32(key) & ix->mask;
}

struct gvpn_sa_index *
gvpn_sa_index_create(uint32_t entries)
{
	struct gvpn_sa_index *ix;
	uint32_t size = 2;

	if (entries == 0 || entries > GVPN_SA_INDEX_MAX) {
		errno = EINVAL;
		return NULL;
	}
	while (size < 2 * entries)
		size *= 2;
	ix = calloc(1, sizeof(*ix) + (size_t)size * sizeof(ix->e[0]));
	if (ix == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	ix->mask = size - 1;
	ix->max = entries;
	return ix;
}

void
gvpn_sa_index_free(struct gvpn_sa_index *ix)
{
	free(ix);
}

int
gvpn_sa_index_add(struct gvpn_sa_index *ix, uint32_t key, uint16_t slot)
{
	uint32_t i = home(ix, key);

	/* the table is at least twice the entries: there is an empty place */
	for (; ix->e[i].used; i = (i + 1) & ix->mask)
		if (ix->e[i].key == key && ix->e[i].slot == slot)
			return -EEXIST;
	if (ix->count == ix->max)
		return -ENOSPC;
	ix->e[i] = (struct index_entry){.key = key, .slot = slot, .used = 1};
	ix->count++;
	return 0;
}

int
gvpn_sa_index_del(struct gvpn_sa_index *ix, uint32_t key, uint16_t slot)
{
	uint32_t i = home(ix, key), j;

	for (; ix->e[i].used; i = (i + 1) & ix->mask)
		if (ix->e[i].key == key && ix->e[i].slot == slot)
			break;
	if (!ix->e[i].used)
		return -ENOENT;
	/* Backward shift: pull later entries of the run into the hole unless
	 * their home lies cyclically in (hole, entry]. */
	for (j = (i + 1) & ix->mask; ix->e[j].used; j = (j + 1) & ix->mask) {
		uint32_t h = home(ix, ix->e[j].key);

		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		ix->e[i] = ix->e[j];
		i = j;
	}
	ix->e[i].used = 0;
	ix->count--;
	return 0;
}

int
gvpn_sa_index_next(const struct gvpn_sa_index *ix, uint32_t key, uint32_t *pos)
{
	while (*pos <= ix->mask) {
		const struct index_entry *e = &ix->e[(home(ix, key) + *pos) & ix->mask];

		if (!e->used)
			break;
		(*pos)++;
		if (e->key == key)
			return e->slot;
	}
	return -ENOENT;
}

uint32_t
gvpn_sa_index_count(const struct gvpn_sa_index *ix)
{
	return ix->count;
}

/* ---- free slots ---- */

/* Bit set = slot free; summary bit set = that word has a free slot. */
struct gvpn_sa_slots {
	uint32_t n;
	uint32_t used;
	uint64_t summary[GVPN_SA_SLOTS_MAX / 64 / 64];
	uint64_t word[];
};

struct gvpn_sa_slots *
gvpn_sa_slots_create(uint32_t n)
{
	struct gvpn_sa_slots *s;
	uint32_t words = (n + 63) / 64;

	if (n == 0 || n > GVPN_SA_SLOTS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s) + words * sizeof(s->word[0]));
	if (s == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	s->n = n;
	for (uint32_t i = 0; i < n; i++)
		s->word[i / 64] |= 1ull << (i % 64);
	for (uint32_t w = 0; w < words; w++)
		s->summary[w / 64] |= 1ull << (w % 64);
	return s;
}

void
gvpn_sa_slots_free(struct gvpn_sa_slots *s)
{
	free(s);
}

int
gvpn_sa_slots_first(const struct gvpn_sa_slots *s)
{
	for (uint32_t i = 0; i < sizeof(s->summary) / sizeof(s->summary[0]); i++)
		if (s->summary[i] != 0) {
			uint32_t w = i * 64 + (uint32_t)__builtin_ctzll(s->summary[i]);

			return (int)(w * 64 + (uint32_t)__builtin_ctzll(s->word[w]));
		}
	return -ENOSPC;
}

int
gvpn_sa_slots_take(struct gvpn_sa_slots *s, uint32_t slot)
{
	uint32_t w = slot / 64;

	if (slot >= s->n)
		return -EINVAL;
	if (!(s->word[w] & 1ull << (slot % 64)))
		return -EBUSY;
	s->word[w] &= ~(1ull << (slot % 64));
	if (s->word[w] == 0)
		s->summary[w / 64] &= ~(1ull << (w % 64));
	s->used++;
	return 0;
}

int
gvpn_sa_slots_put(struct gvpn_sa_slots *s, uint32_t slot)
{
	uint32_t w = slot / 64;

	if (slot >= s->n)
		return -EINVAL;
	if (s->word[w] & 1ull << (slot % 64))
		return -ENOENT;
	s->word[w] |= 1ull << (slot % 64);
	s->summary[w / 64] |= 1ull << (w % 64);
	s->used--;
	return 0;
}

uint32_t
gvpn_sa_slots_used(const struct gvpn_sa_slots *s)
{
	return s->used;
}
