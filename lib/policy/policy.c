/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "gvpn_policy.h"

/* The IPv4 context's fields: the protocol byte, then 4-byte groups. */
enum { F_PROTO, F_VLAN, F_SRC, F_DST, F_SPORT, F_DPORT, F_NUM };

/*
 * The VLAN: rte_acl reads the input after its first byte in groups of four
 * bytes, so the VLAN is the low half of the key's first 32-bit word
 * (protocol, direction, VLAN), a BITMASK that looks at those 16 bits alone:
 * the VLAN ID matched exactly, or any.
 */
#define F_VLAN_DEF(key, index)                                                                     \
	{                                                                                          \
		.type = RTE_ACL_FIELD_TYPE_BITMASK, .size = sizeof(uint32_t),                      \
		.field_index = (index), .input_index = 1, .offset = offsetof(struct key, proto)    \
	}
static_assert(offsetof(struct gvpn_acl_key, vlan) == 2 && offsetof(struct gvpn_acl_key6, vlan) == 2,
	      "the VLAN is the low half of the first word");

static const struct rte_acl_field_def fields[F_NUM] = {
    {.type = RTE_ACL_FIELD_TYPE_BITMASK,
     .size = sizeof(uint8_t),
     .field_index = F_PROTO,
     .input_index = 0,
     .offset = offsetof(struct gvpn_acl_key, proto)},
    F_VLAN_DEF(gvpn_acl_key, F_VLAN),
    {.type = RTE_ACL_FIELD_TYPE_MASK,
     .size = sizeof(uint32_t),
     .field_index = F_SRC,
     .input_index = 2,
     .offset = offsetof(struct gvpn_acl_key, src)},
    {.type = RTE_ACL_FIELD_TYPE_MASK,
     .size = sizeof(uint32_t),
     .field_index = F_DST,
     .input_index = 3,
     .offset = offsetof(struct gvpn_acl_key, dst)},
    {.type = RTE_ACL_FIELD_TYPE_RANGE,
     .size = sizeof(uint16_t),
     .field_index = F_SPORT,
     .input_index = 4,
     .offset = offsetof(struct gvpn_acl_key, sport)},
    {.type = RTE_ACL_FIELD_TYPE_RANGE,
     .size = sizeof(uint16_t),
     .field_index = F_DPORT,
     .input_index = 4,
     .offset = offsetof(struct gvpn_acl_key, dport)},
};

/*
 * The IPv6 context's: rte_acl compares at most 32 bits per field, so each
 * address is four MASK fields of one 32-bit word each, every word its own
 * 4-byte input group; the VLAN and the ports as in IPv4.
 */
enum { F6_PROTO, F6_VLAN, F6_SRC, F6_DST = F6_SRC + 4, F6_SPORT = F6_DST + 4, F6_DPORT, F6_NUM };

#define F6_WORD(base, i, member)                                                                   \
	{                                                                                          \
		.type = RTE_ACL_FIELD_TYPE_MASK, .size = sizeof(uint32_t),                         \
		.field_index = (base) + (i), .input_index = 2 + ((base)-F6_SRC) + (i),             \
		.offset = offsetof(struct gvpn_acl_key6, member) + 4 * (i)                         \
	}

static const struct rte_acl_field_def fields6[F6_NUM] = {
    {.type = RTE_ACL_FIELD_TYPE_BITMASK,
     .size = sizeof(uint8_t),
     .field_index = F6_PROTO,
     .input_index = 0,
     .offset = offsetof(struct gvpn_acl_key6, proto)},
    F_VLAN_DEF(gvpn_acl_key6, F6_VLAN),
    F6_WORD(F6_SRC, 0, src),
    F6_WORD(F6_SRC, 1, src),
    F6_WORD(F6_SRC, 2, src),
    F6_WORD(F6_SRC, 3, src),
    F6_WORD(F6_DST, 0, dst),
    F6_WORD(F6_DST, 1, dst),
    F6_WORD(F6_DST, 2, dst),
    F6_WORD(F6_DST, 3, dst),
    {.type = RTE_ACL_FIELD_TYPE_RANGE,
     .size = sizeof(uint16_t),
     .field_index = F6_SPORT,
     .input_index = 10,
     .offset = offsetof(struct gvpn_acl_key6, sport)},
    {.type = RTE_ACL_FIELD_TYPE_RANGE,
     .size = sizeof(uint16_t),
     .field_index = F6_DPORT,
     .input_index = 10,
     .offset = offsetof(struct gvpn_acl_key6, dport)},
};

RTE_ACL_RULE_DEF(acl_rule, F_NUM);
RTE_ACL_RULE_DEF(acl_rule6, F6_NUM);

/* One family's context for @p max rules; NULL with rte_errno set. */
static struct rte_acl_ctx *
ctx_create(const char *family, uint32_t max, uint32_t fields_num, int socket)
{
	static uint32_t seq; /* rte_acl contexts need unique names */
	char name[RTE_ACL_NAMESIZE];
	struct rte_acl_param prm = {.name = name,
				    .socket_id = socket,
				    .rule_size = RTE_ACL_RULE_SZ(fields_num),
				    .max_rule_num = max};
	struct rte_acl_ctx *ctx;

	snprintf(name, sizeof(name), "gvpn_acl%s_%u", family, seq++);
	ctx = rte_acl_create(&prm);
	if (ctx == NULL && rte_errno == 0)
		rte_errno = ENOMEM;
	return ctx;
}

/* The 32-bit word @p i of an IPv6 address in host order, and how many of
 * its bits a prefix of @p len covers. */
static void
word6(const struct gvpn_prefix *p, unsigned int i, struct rte_acl_field *f)
{
	const uint8_t *a = p->addr6 + 4 * i;
	const int bits = (int)p->len - 32 * (int)i;

	f->value.u32 = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
	f->mask_range.u32 = bits <= 0 ? 0 : bits >= 32 ? 32 : (uint32_t)bits;
}

/* The fields every family has: protocol, VLAN and ports. */
static void
common_fields(const struct gvpn_selector *s, struct rte_acl_field *proto,
	      struct rte_acl_field *vlan, struct rte_acl_field *sport, struct rte_acl_field *dport)
{
	proto->value.u8 = s->proto;
	proto->mask_range.u8 = s->proto != 0 ? 0xff : 0;
	vlan->value.u32 = s->vlan;
	vlan->mask_range.u32 = s->vlan != 0 ? 0xffff : 0;
	sport->value.u16 = s->sport_lo;
	sport->mask_range.u16 = s->sport_hi;
	dport->value.u16 = s->dport_lo;
	dport->mask_range.u16 = s->dport_hi;
}

static int
add_rule4(struct rte_acl_ctx *ctx, const struct gvpn_policy_rule *pr, uint32_t userdata)
{
	const struct gvpn_selector *s = &pr->sel;
	struct acl_rule r = {0};

	r.data.userdata = userdata;
	r.data.category_mask = pr->categories;
	r.data.priority = pr->priority;
	common_fields(s, &r.field[F_PROTO], &r.field[F_VLAN], &r.field[F_SPORT], &r.field[F_DPORT]);
	/* an either-family rule names no address: both lengths are 0 */
	r.field[F_SRC].value.u32 = s->af == GVPN_AF_IPV4 ? s->src.addr : 0;
	r.field[F_SRC].mask_range.u32 = s->af == GVPN_AF_IPV4 ? s->src.len : 0;
	r.field[F_DST].value.u32 = s->af == GVPN_AF_IPV4 ? s->dst.addr : 0;
	r.field[F_DST].mask_range.u32 = s->af == GVPN_AF_IPV4 ? s->dst.len : 0;
	return rte_acl_add_rules(ctx, (struct rte_acl_rule *)&r, 1);
}

static int
add_rule6(struct rte_acl_ctx *ctx, const struct gvpn_policy_rule *pr, uint32_t userdata)
{
	const struct gvpn_selector *s = &pr->sel;
	struct acl_rule6 r = {0};

	r.data.userdata = userdata;
	r.data.category_mask = pr->categories;
	r.data.priority = pr->priority;
	common_fields(s, &r.field[F6_PROTO], &r.field[F6_VLAN], &r.field[F6_SPORT],
		      &r.field[F6_DPORT]);
	if (s->af == GVPN_AF_IPV6)
		for (unsigned int i = 0; i < 4; i++) {
			word6(&s->src, i, &r.field[F6_SRC + i]);
			word6(&s->dst, i, &r.field[F6_DST + i]);
		}
	return rte_acl_add_rules(ctx, (struct rte_acl_rule *)&r, 1);
}

struct gvpn_policy *
gvpn_policy_build(const struct gvpn_policy_rule *rules, uint32_t n, uint32_t generation, int socket)
{
	struct rte_acl_config cfg = {.num_categories = GVPN_ACL_CATEGORIES};
	struct gvpn_policy *p;
	uint32_t n4 = 0, n6 = 0;
	int rc;

	rte_errno = 0;
	p = rte_zmalloc_socket("gvpn_policy", sizeof(*p) + n * sizeof(p->rules[0]), 0, socket);
	if (p == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	p->generation = generation;
	p->n_rules = n;
	for (uint32_t i = 0; i < n; i++) {
		if (rules[i].categories == 0 || rules[i].categories >= 1u << GVPN_ACL_CATEGORIES ||
		    rules[i].sel.af > GVPN_AF_ANY || rules[i].sel.vlan > GVPN_VLAN_MAX) {
			rte_errno = EINVAL;
			goto fail;
		}
		p->rules[i] = rules[i].rule;
		n4 += rules[i].sel.af != GVPN_AF_IPV6;
		n6 += rules[i].sel.af != GVPN_AF_IPV4;
	}
	if (n4 != 0 && (p->acl = ctx_create("", n4, F_NUM, socket)) == NULL)
		goto fail;
	if (n6 != 0 && (p->acl6 = ctx_create("6", n6, F6_NUM, socket)) == NULL)
		goto fail;
	/* One rule index (userdata) in both contexts: rules[] serves both. */
	for (uint32_t i = 0; i < n; i++) {
		rc = 0;
		if (rules[i].sel.af != GVPN_AF_IPV6)
			rc = add_rule4(p->acl, &rules[i], i + 1);
		if (rc == 0 && rules[i].sel.af != GVPN_AF_IPV4)
			rc = add_rule6(p->acl6, &rules[i], i + 1);
		if (rc != 0) {
			rte_errno = -rc; /* EINVAL: a priority below 1; ENOMEM */
			goto fail;
		}
	}
	if (p->acl != NULL) {
		cfg.num_fields = F_NUM;
		memcpy(cfg.defs, fields, sizeof(fields));
		if ((rc = rte_acl_build(p->acl, &cfg)) != 0) {
			rte_errno = -rc;
			goto fail;
		}
	}
	if (p->acl6 != NULL) {
		cfg.num_fields = F6_NUM;
		memcpy(cfg.defs, fields6, sizeof(fields6));
		if ((rc = rte_acl_build(p->acl6, &cfg)) != 0) {
			rte_errno = -rc;
			goto fail;
		}
	}
	return p;
fail:
	if (rte_errno == 0)
		rte_errno = ENOMEM;
	gvpn_policy_free(p);
	return NULL;
}

void
gvpn_policy_free(struct gvpn_policy *p)
{
	if (p == NULL)
		return;
	rte_acl_free(p->acl);
	rte_acl_free(p->acl6);
	rte_free(p);
}
