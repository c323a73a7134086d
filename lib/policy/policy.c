/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "gvpn_policy.h"

enum { F_PROTO, F_SRC, F_DST, F_SPORT, F_DPORT, F_NUM };

static const struct rte_acl_field_def fields[F_NUM] = {
    {.type = RTE_ACL_FIELD_TYPE_BITMASK,
     .size = sizeof(uint8_t),
     .field_index = F_PROTO,
     .input_index = 0,
     .offset = offsetof(struct gvpn_acl_key, proto)},
    {.type = RTE_ACL_FIELD_TYPE_MASK,
     .size = sizeof(uint32_t),
     .field_index = F_SRC,
     .input_index = 1,
     .offset = offsetof(struct gvpn_acl_key, src)},
    {.type = RTE_ACL_FIELD_TYPE_MASK,
     .size = sizeof(uint32_t),
     .field_index = F_DST,
     .input_index = 2,
     .offset = offsetof(struct gvpn_acl_key, dst)},
    {.type = RTE_ACL_FIELD_TYPE_RANGE,
     .size = sizeof(uint16_t),
     .field_index = F_SPORT,
     .input_index = 3,
     .offset = offsetof(struct gvpn_acl_key, sport)},
    {.type = RTE_ACL_FIELD_TYPE_RANGE,
     .size = sizeof(uint16_t),
     .field_index = F_DPORT,
     .input_index = 3,
     .offset = offsetof(struct gvpn_acl_key, dport)},
};

RTE_ACL_RULE_DEF(acl_rule, F_NUM);

struct gvpn_policy *
gvpn_policy_build(const struct gvpn_policy_rule *rules, uint32_t n, uint32_t generation, int socket)
{
	static uint32_t seq; /* rte_acl contexts need unique names */
	struct rte_acl_config cfg = {.num_categories = GVPN_ACL_CATEGORIES, .num_fields = F_NUM};
	struct rte_acl_param prm = {
	    .socket_id = socket, .rule_size = RTE_ACL_RULE_SZ(F_NUM), .max_rule_num = n};
	struct gvpn_policy *p;
	char name[RTE_ACL_NAMESIZE];
	int rc;

	p = rte_zmalloc_socket("gvpn_policy", sizeof(*p) + n * sizeof(p->rules[0]), 0, socket);
	if (p == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	p->generation = generation;
	p->n_rules = n;
	if (n == 0)
		return p;
	snprintf(name, sizeof(name), "gvpn_acl_%u", seq++);
	prm.name = name;
	p->acl = rte_acl_create(&prm);
	if (p->acl == NULL)
		goto fail;
	for (uint32_t i = 0; i < n; i++) {
		const struct gvpn_selector *s = &rules[i].sel;
		struct acl_rule r = {0};

		if (rules[i].categories == 0 || rules[i].categories >= 1u << GVPN_ACL_CATEGORIES) {
			rte_errno = EINVAL;
			goto fail;
		}
		p->rules[i] = rules[i].rule;
		r.data.userdata = i + 1;
		r.data.category_mask = rules[i].categories;
		r.data.priority = rules[i].priority;
		r.field[F_PROTO].value.u8 = s->proto;
		r.field[F_PROTO].mask_range.u8 = s->proto != 0 ? 0xff : 0;
		r.field[F_SRC].value.u32 = s->src.addr;
		r.field[F_SRC].mask_range.u32 = s->src.len;
		r.field[F_DST].value.u32 = s->dst.addr;
		r.field[F_DST].mask_range.u32 = s->dst.len;
		r.field[F_SPORT].value.u16 = s->sport_lo;
		r.field[F_SPORT].mask_range.u16 = s->sport_hi;
		r.field[F_DPORT].value.u16 = s->dport_lo;
		r.field[F_DPORT].mask_range.u16 = s->dport_hi;
		rc = rte_acl_add_rules(p->acl, (struct rte_acl_rule *)&r, 1);
		if (rc != 0) {
			rte_errno = -rc; /* EINVAL: a priority below 1; ENOMEM */
			goto fail;
		}
	}
	memcpy(cfg.defs, fields, sizeof(fields));
	rc = rte_acl_build(p->acl, &cfg);
	if (rc != 0) {
		rte_errno = -rc;
		goto fail;
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
	rte_free(p);
}
