/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control core's tables (SAs, TEK policies, groups) and the messages
 * that change the workers' copies of them; the poll that collects acks,
 * runs timers and the groups' key protocol clients (through their ops
 * table alone); the snapshot telemetry reads. Files above this one, and
 * nothing below it: ctrl_gdoi.c (GDOI as a key protocol), ctrl_proto.c
 * (which protocol drives a group), ctrl_reload.c (SIGHUP).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "ctrl_private.h"

RTE_LOG_REGISTER(gvpn_ctrl_logtype, gvpn.ctrl, INFO);

static const char *const group_states[] = {"idle",	  "static",	"failed",
					   "registering", "registered", "rekeying"};

const char *
gvpn_group_state_name(enum gvpn_group_state s)
{
	return (unsigned int)s < RTE_DIM(group_states) ? group_states[s] : "?";
}

struct gvpn_ctrl *
gvpn_ctrl_create(const struct gvpn_ctrl_conf *conf)
{
	struct gvpn_ctrl *c;

	if (conf->n_workers > GVPN_CTRL_MAX_WORKERS) {
		LOG(ERR, "%u workers: the control core addresses at most %u", conf->n_workers,
		    GVPN_CTRL_MAX_WORKERS);
		rte_errno = E2BIG;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	c->conf = *conf;
	c->reload.loaded_at = (int64_t)time(NULL);
	c->backlog = calloc(conf->n_workers, sizeof(*c->backlog));
	c->esp = gvpn_esp_lcore_create(conf->backend, conf->socket, NULL);
	c->spis = gvpn_sa_index_create(GVPN_MAX_SA_SLOTS);
	c->free_sas = gvpn_sa_slots_create(GVPN_MAX_SA_SLOTS);
	c->tek_index = gvpn_sa_index_create(GVPN_MAX_TEKS);
	c->free_teks = gvpn_sa_slots_create(GVPN_MAX_TEKS);
	ctrl_changed(c);
	if (c->backlog == NULL || c->esp == NULL || c->spis == NULL || c->free_sas == NULL ||
	    c->tek_index == NULL || c->free_teks == NULL || gvpn_ctrl_publish(c) != 0) {
		gvpn_ctrl_free(c);
		rte_errno = ENOMEM;
		return NULL;
	}
	return c;
}

static void
sa_rt_free(struct gvpn_sa_rt *rt)
{
	if (rt == NULL)
		return;
	gvpn_esp_sa_free(rt->esp);
	rte_free(rt);
}

void
gvpn_ctrl_free(struct gvpn_ctrl *c)
{
	if (c == NULL)
		return;
	if (c->retired != NULL) /* the readers are gone: telemetry stopped */
		gvpn_ctrl_snapshot_put(&c->retired->s);
	if (atomic_load(&c->pub) != NULL)
		gvpn_ctrl_snapshot_put(&atomic_load(&c->pub)->s);
	for (uint8_t g = 0; g < GVPN_MAX_GROUPS; g++)
		ctrl_group_stop(c, g);
	for (unsigned int i = 0; i < GVPN_MAX_SA_SLOTS; i++)
		sa_rt_free(c->sa[i].rt);
	gvpn_policy_free(c->policy);
	for (unsigned int w = 0; c->backlog != NULL && w < c->conf.n_workers; w++)
		for (unsigned int i = 0; i < c->backlog[w].count; i++)
			free(c->backlog[w].q[(c->backlog[w].head + i) % BACKLOG]);
	free(c->backlog);
	gvpn_esp_lcore_free(c->esp);
	gvpn_sa_index_free(c->spis);
	gvpn_sa_slots_free(c->free_sas);
	gvpn_sa_index_free(c->tek_index);
	gvpn_sa_slots_free(c->free_teks);
	free(c);
}

/* Send a copy of @p tmpl to every worker; @p done runs when all acked. */
static int
broadcast(struct gvpn_ctrl *c, const struct gvpn_msg *tmpl,
	  void (*done)(struct gvpn_ctrl *, struct op *), void *obj, uint16_t slot)
{
	struct op *op = calloc(1, sizeof(*op));
	struct gvpn_msg *m[GVPN_CTRL_MAX_WORKERS];
	unsigned int n = c->conf.n_workers;

	if (op == NULL) /* n <= RTE_DIM(m): gvpn_ctrl_create() checked */
		goto nomem;
	for (unsigned int w = 0; w < n; w++) {
		if (c->backlog[w].count == BACKLOG)
			goto nomem_msgs;
		m[w] = malloc(sizeof(*m[w]));
		if (m[w] == NULL)
			goto nomem_msgs;
		*m[w] = *tmpl;
		m[w]->cookie = (uintptr_t)op;
		continue;
	nomem_msgs:
		while (w-- > 0)
			free(m[w]);
		goto nomem;
	}
	ctrl_changed(c);
	op->pending = n;
	op->done = done;
	op->obj = obj;
	op->slot = slot;
	c->pending++;
	for (unsigned int w = 0; w < n; w++) {
		struct backlog *b = &c->backlog[w];

		/* keep order: nothing overtakes what is already waiting */
		if (b->count != 0 || gvpn_worker_post(c->conf.workers[w], m[w]) != 0)
			b->q[(b->head + b->count++) % BACKLOG] = m[w];
	}
	if (n == 0) {
		c->pending--;
		if (done != NULL)
			done(c, op);
		free(op);
	}
	return 0;
nomem:
	free(op);
	LOG(ERR, "no memory for a worker message");
	return -ENOMEM;
}

static void
flush_backlog(struct gvpn_ctrl *c)
{
	for (unsigned int w = 0; w < c->conf.n_workers; w++) {
		struct backlog *b = &c->backlog[w];

		while (b->count != 0 && gvpn_worker_post(c->conf.workers[w], b->q[b->head]) == 0) {
			b->head = (b->head + 1) % BACKLOG;
			b->count--;
		}
	}
}

/* A worker could not make the change @p m asked for: log it and count it. */
static void
ack_failed(struct gvpn_ctrl *c, unsigned int w, const struct gvpn_msg *m)
{
	if (m->type != GVPN_MSG_SA_ADD) {
		LOG(ERR, "worker %u: message type %u failed: %s", w, m->type, strerror(-m->result));
		return;
	}
	/* The SA is alive: its delete is acked after this, in order. */
	LOG(ERR,
	    "worker %u: group %u SPI 0x%08x not in its SPI table (%s): its ESP is dropped there", w,
	    c->conf.cfg->groups[m->sa->group].id, rte_be_to_cpu_32(m->sa->esp->spi),
	    strerror(-m->result));
	c->group[m->sa->group].sa_install_failures++;
	ctrl_changed(c);
}

static void expire(struct gvpn_ctrl *c, uint64_t now);
static int release_retired(struct gvpn_ctrl *c);

void
gvpn_ctrl_poll(struct gvpn_ctrl *c)
{
	uint64_t now = rte_get_tsc_cycles();

	flush_backlog(c);
	for (unsigned int w = 0; w < c->conf.n_workers; w++) {
		struct gvpn_msg *m[64];
		unsigned int n = gvpn_worker_acks(c->conf.workers[w], m, RTE_DIM(m));

		for (unsigned int i = 0; i < n; i++) {
			struct op *op = (struct op *)(uintptr_t)m[i]->cookie;

			if (unlikely(m[i]->result != 0))
				ack_failed(c, w, m[i]);
			free(m[i]);
			if (--op->pending != 0)
				continue;
			c->pending--;
			if (op->done != NULL)
				op->done(c, op);
			free(op);
		}
	}
	/* key servers at most every millisecond: with the worker on the main
	 * lcore this loop runs once per burst, and a poll reads a socket */
	if (now >= c->next_gdoi_poll) {
		uint64_t ms = now / (rte_get_tsc_hz() / 1000);

		c->next_gdoi_poll = now + rte_get_tsc_hz() / 1000;
		for (uint8_t g = 0; g < c->conf.cfg->n_groups; g++)
			if (c->group[g].client != NULL)
				c->group[g].proto->poll(c->group[g].client, ms);
	}
	if (now >= c->next_expiry_check)
		expire(c, now);
	/* the snapshot last: it shows what this poll did */
	if (now >= c->next_publish) {
		c->next_publish = now + rte_get_tsc_hz() / 1000 * GVPN_CTRL_PUBLISH_MS;
		gvpn_ctrl_publish(c); /* on failure changed stays set: the next period tries */
	} else if (c->retired != NULL) {
		release_retired(c);
	}
}

/* Activate SAs whose time came, delete those that expired. */
static void
expire(struct gvpn_ctrl *c, uint64_t now)
{
	c->next_expiry_check = now + rte_get_tsc_hz() / 10;
	if (now >= c->next_clock_sync) { /* the ESP stamp clock follows the system's (R23) */
		c->next_clock_sync = now + 5 * rte_get_tsc_hz();
		gvpn_esp_clock_sync(NULL);
	}
	for (uint16_t s = 0; s < GVPN_MAX_SA_SLOTS; s++) {
		struct gvpn_sa_entry *e = &c->sa[s];

		if (e->activate_at != 0 && !e->wait_sid && now >= e->activate_at &&
		    ctrl_live(c, s) != NULL) {
			e->activate_at = 0;
			gvpn_ctrl_sa_activate(c, s);
		}
		if (e->state != GVPN_SA_FREE && e->state != GVPN_SA_DELETING && e->expires != 0 &&
		    now >= e->expires) {
			LOG(NOTICE, "SA expired: group %u SPI 0x%08x",
			    c->conf.cfg->groups[e->rt->group].id,
			    rte_be_to_cpu_32(e->rt->esp->spi));
			gvpn_ctrl_sa_delete(c, s);
		}
	}
}

unsigned int
gvpn_ctrl_pending(const struct gvpn_ctrl *c)
{
	return c->pending;
}

/* A TEK's key in the TEK index: what ctrl_tek_find() compares. */
static uint32_t
tek_key(uint8_t group, uint8_t n_sel, const struct gvpn_selector *sel)
{
	return gvpn_selector_hash(sel, (uint32_t)group << 8 | n_sel);
}

int
gvpn_ctrl_tek_add(struct gvpn_ctrl *c, uint8_t group, const struct gvpn_selector *sel, int mirror)
{
	int t = gvpn_sa_slots_first(c->free_teks); /* the lowest unused */
	struct gvpn_tek *k;

	if (t < 0)
		return -ENOSPC;
	k = &c->tek[t];
	k->used = 1;
	k->group = group;
	k->sel[0] = *sel;
	k->n_sel = 1;
	if (mirror)
		k->sel[k->n_sel++] = gvpn_selector_mirror(sel);
	gvpn_sa_slots_take(c->free_teks, (uint32_t)t);
	/* cannot fail: the index has room for every TEK and t is new */
	gvpn_sa_index_add(c->tek_index, tek_key(group, k->n_sel, sel), (uint16_t)t);
	return t;
}

int
ctrl_tek_find(const struct gvpn_ctrl *c, uint8_t group, const struct gvpn_selector *sel, int mirror)
{
	uint8_t n_sel = mirror ? 2 : 1;
	uint32_t key = tek_key(group, n_sel, sel), pos = 0;
	int t, found = -ENOENT;

	while ((t = gvpn_sa_index_next(c->tek_index, key, &pos)) >= 0) {
		const struct gvpn_tek *k = &c->tek[t];

		if (k->used && k->group == group && k->n_sel == n_sel &&
		    gvpn_selector_equal(&k->sel[0], sel) && (found < 0 || t < found))
			found = t;
	}
	return found;
}

void
ctrl_tek_del(struct gvpn_ctrl *c, uint16_t t)
{
	struct gvpn_tek *k = &c->tek[t];

	if (!k->used)
		return;
	gvpn_sa_index_del(c->tek_index, tek_key(k->group, k->n_sel, &k->sel[0]), t);
	gvpn_sa_slots_put(c->free_teks, t);
	memset(k, 0, sizeof(*k));
}

static void
policy_done(struct gvpn_ctrl *c, struct op *op)
{
	(void)c;
	gvpn_policy_free(op->obj); /* the policy it replaced */
}

/* Both directions: the rule as written and its mirror. */
static unsigned int
add_both_ways(struct gvpn_policy_rule *r, unsigned int n, const struct gvpn_selector *sel,
	      struct gvpn_rule rule, uint32_t cats, int32_t prio)
{
	r[n++] = (struct gvpn_policy_rule){
	    .sel = *sel, .rule = rule, .categories = cats, .priority = prio};
	r[n++] = (struct gvpn_policy_rule){
	    .sel = gvpn_selector_mirror(sel), .rule = rule, .categories = cats, .priority = prio};
	return n;
}

/* Take @p o's index for rule @p sel (of group @p group, "" for bypass) in
 * table @p p: @return 1 when another rule or none had it before, whose hit
 * count the workers then restart. */
static int
hit_owner_take(struct hit_owner *o, const struct gvpn_selector *sel, const char *group,
	       const struct gvpn_policy *p)
{
	if (o->since != 0 && gvpn_selector_equal(&o->sel, sel) && strcmp(o->group, group) == 0)
		return 0;
	o->sel = *sel;
	snprintf(o->group, sizeof(o->group), "%s", group);
	o->since = p->generation;
	return 1;
}

/* The rules whose hits table @p p counts at an index that held another rule
 * (or none) in the table before: marked in @p p for the workers to count
 * from zero. */
static void
hits_owners(struct gvpn_ctrl *c, struct gvpn_policy *p)
{
	const struct gvpn_config *cfg = c->conf.cfg;

	for (unsigned int i = 0; i < GVPN_MAX_BYPASS; i++) {
		if (i >= cfg->n_bypass)
			c->bypass_owner[i].since = 0;
		else if (hit_owner_take(&c->bypass_owner[i], &cfg->bypass[i], "", p))
			p->restart_bypass |= UINT64_C(1) << i;
	}
	for (unsigned int g = 0; g < GVPN_MAX_GROUPS; g++) {
		const struct gvpn_group_conf *gc = &cfg->groups[g];

		for (unsigned int i = 0; i < GVPN_MAX_FAIL_OPEN; i++) {
			struct hit_owner *o = &c->fail_open_owner[g][i];

			if (g >= cfg->n_groups || i >= gc->n_fail_open)
				o->since = 0;
			else if (hit_owner_take(o, &gc->fail_open[i], gc->name, p))
				p->restart_fail_open[g] |= (uint16_t)(1u << i);
		}
	}
}

int
gvpn_ctrl_policy_update(struct gvpn_ctrl *c)
{
	const struct gvpn_config *cfg = c->conf.cfg;
	unsigned int max =
	    2 * (GVPN_MAX_BYPASS + GVPN_MAX_TEKS * 2 + GVPN_MAX_GROUPS * GVPN_MAX_FAIL_OPEN) +
	    CTRL_PUNT_RULES_MAX;
	struct gvpn_policy_rule *r = calloc(max, sizeof(*r));
	const uint32_t both = 1u << GVPN_ACL_OUT | 1u << GVPN_ACL_IN;
	struct gvpn_policy *p, *old;
	struct gvpn_msg m = {.type = GVPN_MSG_POLICY_SWAP};
	unsigned int n = 0;

	if (r == NULL)
		return -ENOMEM;
	/* What is addressed to the box itself, above everything. */
	n = ctrl_punt_rules(cfg, r, n);
	/* Bypass first (R25), in the order written. */
	for (unsigned int i = 0; i < cfg->n_bypass; i++)
		n = add_both_ways(
		    r, n, &cfg->bypass[i],
		    (struct gvpn_rule){.type = GVPN_RULE_BYPASS, .index = (uint16_t)i}, both,
		    (int32_t)(3 * GVPN_MAX_TEKS + GVPN_MAX_BYPASS - i));
	/* Group policies, per their direction (R26). */
	for (uint16_t t = 0; t < GVPN_MAX_TEKS; t++) {
		const struct gvpn_tek *k = &c->tek[t];
		uint32_t cats;

		if (!k->used)
			continue;
		switch (cfg->groups[k->group].direction) {
		case GVPN_DIR_INBOUND:
			cats = 1u << GVPN_ACL_IN;
			break;
		case GVPN_DIR_OUTBOUND:
			cats = 1u << GVPN_ACL_OUT;
			break;
		default:
			cats = both;
			break;
		}
		for (uint8_t s = 0; s < k->n_sel; s++)
			r[n++] = (struct gvpn_policy_rule){
			    .sel = k->sel[s],
			    .rule = {.type = GVPN_RULE_TEK, .group = k->group, .tek = t},
			    .categories = cats,
			    .priority = (int32_t)(2 * GVPN_MAX_TEKS - t)};
	}
	/* Fail-open rules (R24), in their own categories. */
	for (uint8_t g = 0; g < cfg->n_groups; g++)
		for (unsigned int i = 0; i < cfg->groups[g].n_fail_open; i++)
			n = add_both_ways(
			    r, n, &cfg->groups[g].fail_open[i],
			    (struct gvpn_rule){
				.type = GVPN_RULE_FAIL_OPEN, .group = g, .index = (uint16_t)i},
			    1u << GVPN_ACL_OUT_FAIL_OPEN | 1u << GVPN_ACL_IN_FAIL_OPEN,
			    (int32_t)(GVPN_MAX_FAIL_OPEN - i));
	p = gvpn_policy_build(r, n, ++c->generation, c->conf.socket);
	free(r);
	if (p == NULL) {
		LOG(ERR, "rule table not built: %s", rte_strerror(rte_errno));
		return -rte_errno;
	}
	hits_owners(c, p);
	old = c->policy;
	c->policy = p;
	m.policy = p;
	LOG(INFO, "rule table %u: %u rules", p->generation, n);
	ctrl_changed(c); /* telemetry shows the rules in force */
	return broadcast(c, &m, policy_done, old, 0);
}

int
gvpn_ctrl_sa_add(struct gvpn_ctrl *c, const struct gvpn_ctrl_sa_params *p)
{
	struct gvpn_msg m = {.type = GVPN_MSG_SA_ADD};
	struct gvpn_esp_sa_conf esp;
	struct gvpn_sa_rt *rt;
	uint16_t slot;
	int rc;

	if (p->tek >= GVPN_MAX_TEKS || !c->tek[p->tek].used || c->tek[p->tek].group != p->group)
		return -EINVAL;
	rc = gvpn_sa_slots_first(c->free_sas); /* the lowest free slot */
	if (rc < 0)
		return -ENOSPC;
	slot = (uint16_t)rc;
	if (ctrl_spi_slot(c, p->esp.spi) >= 0)
		return -EEXIST;
	rt = rte_zmalloc_socket("gvpn_sa_rt", sizeof(*rt), 0, c->conf.socket);
	if (rt == NULL)
		return -ENOMEM;
	/* The SA is its TEK's family: the outer header is the inner one's. */
	esp = p->esp;
	esp.af = c->tek[p->tek].sel[0].af;
	rt->esp = gvpn_esp_sa_create(c->esp, &esp, c->conf.socket);
	rc = -rte_errno;
	gvpn_wipe(&esp.xform, sizeof(esp.xform));
	if (rt->esp == NULL) {
		rte_free(rt);
		return rc;
	}
	rt->slot = slot;
	rt->tek = p->tek;
	rt->group = p->group;
	gvpn_sa_rt_selectors(rt, c->tek[p->tek].sel, c->tek[p->tek].n_sel);
	rt->decrypt = c->conf.cfg->groups[p->group].direction != GVPN_DIR_OUTBOUND;
	m.sa = rt;
	rc = broadcast(c, &m, NULL, NULL, slot);
	if (rc != 0) {
		sa_rt_free(rt);
		return rc;
	}
	/* neither can fail: the slot is free and the SPI new */
	gvpn_sa_slots_take(c->free_sas, slot);
	gvpn_sa_index_add(c->spis, p->esp.spi, slot);
	c->sa[slot].rt = rt;
	c->sa[slot].state = GVPN_SA_DECRYPT;
	c->sa[slot].installed = rte_get_tsc_cycles();
	c->sa[slot].installed_at = (int64_t)time(NULL);
	c->sa[slot].expires =
	    p->lifetime ? rte_get_tsc_cycles() + (uint64_t)p->lifetime * rte_get_tsc_hz() : 0;
	LOG(INFO, "SA added: group %u SPI 0x%08x %s/%s", c->conf.cfg->groups[p->group].id,
	    p->esp.spi, gvpn_cipher_name(p->esp.xform.cipher), gvpn_auth_name(p->esp.xform.auth));
	return slot;
}

struct gvpn_sa_entry *
ctrl_live(struct gvpn_ctrl *c, uint16_t slot)
{
	if (slot >= GVPN_MAX_SA_SLOTS || c->sa[slot].state == GVPN_SA_FREE ||
	    c->sa[slot].state == GVPN_SA_DELETING)
		return NULL;
	return &c->sa[slot];
}

int
ctrl_spi_slot(const struct gvpn_ctrl *c, uint32_t spi)
{
	return gvpn_sa_index_find(c->spis, spi);
}

/* Counter-mode IVs of a group with a key protocol come from the member's
 * Sender-ID, in @p m; without one the SA waits (decrypting) for it.
 * @return 0, or -ENOKEY when it waits. */
static int
sender_id(struct gvpn_ctrl *c, struct gvpn_sa_entry *e, struct gvpn_msg *m)
{
	const struct group *g = &c->group[e->rt->group];

	if (!g->sid_managed || !gvpn_esp_sa_counter_iv(e->rt->esp))
		return 0; /* static SAs: IVs from a random start */
	if (g->sid_bits != 0) {
		m->sid_bits = g->sid_bits;
		m->sid = g->sid;
		return 0;
	}
	if (!e->wait_sid)
		LOG(WARNING,
		    "group %u SPI 0x%08x decrypts only: its counter-mode IVs need a Sender-ID",
		    c->conf.cfg->groups[e->rt->group].id, rte_be_to_cpu_32(e->rt->esp->spi));
	e->wait_sid = 1;
	if (e->activate_at == 0)
		e->activate_at = rte_get_tsc_cycles(); /* due now, once it has one */
	ctrl_changed(c);
	return -ENOKEY;
}

int
gvpn_ctrl_sa_activate(struct gvpn_ctrl *c, uint16_t slot)
{
	struct gvpn_sa_entry *e = ctrl_live(c, slot);
	struct gvpn_msg m = {.type = GVPN_MSG_SA_ACTIVATE};
	int rc;

	if (e == NULL)
		return -ENOENT;
	if (c->conf.cfg->groups[e->rt->group].direction == GVPN_DIR_INBOUND)
		return 0; /* the group never encrypts (R26) */
	if ((rc = sender_id(c, e, &m)) != 0)
		return rc;
	e->wait_sid = 0;
	m.sa = e->rt;
	rc = broadcast(c, &m, NULL, NULL, slot);
	if (rc != 0)
		return rc;
	for (uint16_t s = 0; s < GVPN_MAX_SA_SLOTS; s++)
		if (c->sa[s].state == GVPN_SA_ACTIVE && c->sa[s].rt->tek == e->rt->tek)
			c->sa[s].state = GVPN_SA_RETIRED;
	e->state = GVPN_SA_ACTIVE;
	LOG(NOTICE, "SA activated for encryption: group %u SPI 0x%08x",
	    c->conf.cfg->groups[e->rt->group].id, rte_be_to_cpu_32(e->rt->esp->spi));
	return 0;
}

int
gvpn_ctrl_group_sender_id(struct gvpn_ctrl *c, uint8_t group, uint8_t bits, uint32_t sid)
{
	struct group *g = &c->group[group];
	struct gvpn_iv_space sp;
	int rc = 0;

	if (bits != 0 &&
	    (rc = gvpn_iv_space(bits, sid, gvpn_iv_sender_bits(c->conf.n_workers), 0, &sp)) != 0)
		LOG(WARNING,
		    "group %u: Sender-ID %u of %u bits not usable by %u workers (%s): "
		    "counter-mode SAs decrypt only",
		    c->conf.cfg->groups[group].id, sid, bits, c->conf.n_workers,
		    rc == -ERANGE ? "fewer than 32 counter bits left" : "does not fit its bits");
	if (rc != 0)
		bits = 0;
	g->sid_managed = 1;
	g->sid_bits = bits;
	g->sid = bits != 0 ? sid : 0;
	ctrl_changed(c);
	if (bits == 0)
		return rc;
	/* SAs waiting for it encrypt at the next check (expire()). */
	for (uint16_t s = 0; s < GVPN_MAX_SA_SLOTS; s++)
		if (c->sa[s].wait_sid && ctrl_live(c, s) != NULL && c->sa[s].rt->group == group)
			c->sa[s].wait_sid = 0;
	return 0;
}

int
gvpn_ctrl_sa_retire(struct gvpn_ctrl *c, uint16_t slot)
{
	struct gvpn_sa_entry *e = ctrl_live(c, slot);
	struct gvpn_msg m = {.type = GVPN_MSG_SA_RETIRE};
	int rc;

	if (e == NULL)
		return -ENOENT;
	m.sa = e->rt;
	rc = broadcast(c, &m, NULL, NULL, slot);
	if (rc == 0)
		e->state = GVPN_SA_RETIRED;
	return rc;
}

static void
delete_done(struct gvpn_ctrl *c, struct op *op)
{
	struct gvpn_sa_entry *e = &c->sa[op->slot];

	sa_rt_free(e->rt); /* wipes the keys */
	e->rt = NULL;
	e->state = GVPN_SA_FREE;
	e->activate_at = 0;
	e->wait_sid = 0;
	gvpn_sa_slots_put(c->free_sas, op->slot);
	ctrl_changed(c);
}

int
gvpn_ctrl_sa_delete(struct gvpn_ctrl *c, uint16_t slot)
{
	struct gvpn_sa_entry *e = ctrl_live(c, slot);
	struct gvpn_msg m = {.type = GVPN_MSG_SA_DELETE};
	uint32_t spi;
	int rc;

	if (e == NULL)
		return -ENOENT;
	spi = rte_be_to_cpu_32(e->rt->esp->spi);
	m.sa = e->rt;
	rc = broadcast(c, &m, delete_done, NULL, slot);
	if (rc == 0) {
		e->state = GVPN_SA_DELETING;
		gvpn_sa_index_del(c->spis, spi, slot); /* a new SA may take the SPI now */
	}
	return rc;
}

int
gvpn_ctrl_group_clear(struct gvpn_ctrl *c, uint8_t group)
{
	int n = 0;

	for (uint16_t s = 0; s < GVPN_MAX_SA_SLOTS; s++)
		if (ctrl_live(c, s) != NULL && c->sa[s].rt->group == group &&
		    gvpn_ctrl_sa_delete(c, s) == 0)
			n++;
	return n;
}

int
gvpn_ctrl_group_fail(struct gvpn_ctrl *c, uint8_t group, int failed)
{
	struct gvpn_msg m = {.type = GVPN_MSG_FAIL_OPEN, .group = group, .arg = failed ? 1 : 0};
	int rc;

	if (group >= c->conf.cfg->n_groups)
		return -ENOENT;
	rc = broadcast(c, &m, NULL, NULL, 0);
	if (rc != 0)
		return rc;
	c->group[group].fail_open = failed;
	c->group[group].state = failed				   ? GVPN_GROUP_FAILED
				: c->group[group].client != NULL   ? c->group[group].client_state
				: c->conf.cfg->groups[group].n_sas ? GVPN_GROUP_STATIC
								   : GVPN_GROUP_IDLE;
	/* without fail-open rules a failed group passes nothing: fail-closed */
	if (c->conf.cfg->groups[group].n_fail_open == 0)
		LOG(NOTICE, "group %s: %s fail-closed (no fail-open rules)",
		    c->conf.cfg->groups[group].name, failed ? "entered" : "left");
	else
		LOG(NOTICE, "group %s: %s fail-open (%u rules)", c->conf.cfg->groups[group].name,
		    failed ? "entered" : "left", c->conf.cfg->groups[group].n_fail_open);
	return 0;
}

int
gvpn_ctrl_group_fail_open(struct gvpn_ctrl *c, uint8_t group, int on)
{
	const struct gvpn_group_conf *gc;

	if (group >= c->conf.cfg->n_groups)
		return -ENOENT;
	gc = &c->conf.cfg->groups[group];
	if (on && !gc->gdoi && gc->n_sas != 0) {
		LOG(WARNING,
		    "group %s: operator fail-open on refused: a static group keeps its SAs",
		    gc->name);
		return -EPERM;
	}
	LOG(NOTICE, "group %s: operator request: fail-open %s", gc->name, on ? "on" : "off");
	if ((on != 0) == (c->group[group].fail_open != 0))
		return 0; /* nothing changes: the request alone is logged */
	return gvpn_ctrl_group_fail(c, group, on);
}

int
gvpn_ctrl_group_sa_clear(struct gvpn_ctrl *c, uint8_t group)
{
	const struct gvpn_group_conf *gc;
	int n, rc;

	if (group >= c->conf.cfg->n_groups)
		return -ENOENT;
	gc = &c->conf.cfg->groups[group];
	n = gvpn_ctrl_group_clear(c, group);
	if (gc->gdoi) {
		LOG(NOTICE, "group %s: operator request: %d SA(s) cleared, registering again",
		    gc->name, n);
		return c->group[group].client != NULL
			   ? c->group[group].proto->request(c->group[group].client,
							    CTRL_REQ_REGISTER, gvpn_ctrl_clock_ms())
			   : 0;
	}
	LOG(NOTICE, "group %s: operator request: %d SA(s) cleared, static SAs installed again",
	    gc->name, n);
	/* as a reload does it: the old TEKs leave the rule table before the
	 * new ones may take their index */
	for (uint16_t t = 0; t < GVPN_MAX_TEKS; t++)
		if (c->tek[t].used && c->tek[t].group == group)
			ctrl_tek_del(c, t);
	if ((rc = gvpn_ctrl_policy_update(c)) != 0)
		return rc;
	rc = ctrl_group_load_static(c, group);
	ctrl_changed(c);
	if (rc != 0)
		return rc; /* logged */
	return gvpn_ctrl_policy_update(c);
}

int
gvpn_ctrl_snapshot_group_find(const struct gvpn_ctrl_snapshot *s, const char *name)
{
	for (unsigned int g = 0; g < s->n_groups; g++)
		if (strcmp(s->group[g].name, name) == 0)
			return (int)g;
	return -ENOENT;
}

int
gvpn_ctrl_flow_flush(struct gvpn_ctrl *c)
{
	struct gvpn_msg m = {.type = GVPN_MSG_FLOW_FLUSH};

	return broadcast(c, &m, NULL, NULL, 0);
}

int
ctrl_group_load_static(struct gvpn_ctrl *c, uint8_t g)
{
	const struct gvpn_config *cfg = c->conf.cfg;
	const struct gvpn_group_conf *gc = &cfg->groups[g];
	int rc;

	for (uint16_t i = 0; i < gc->n_sas; i++) {
		const struct gvpn_sa_conf *s = &gc->sas[i];
		struct gvpn_ctrl_sa_params p = {.group = g, .lifetime = s->lifetime};
		int tek = gvpn_ctrl_tek_add(c, g, &s->sel, s->mirror);

		if (tek < 0) {
			LOG(ERR, "group %s SPI 0x%08x: no room for its policy: %s", gc->name,
			    s->spi, strerror(-tek));
			return tek;
		}
		p.tek = (uint16_t)tek;
		p.esp.spi = s->spi;
		p.esp.xform = s->xform;
		p.esp.df = cfg->df;
		p.esp.ttl = cfg->ttl;
		rc = gvpn_ctrl_sa_add(c, &p);
		gvpn_wipe(&p.esp.xform, sizeof(p.esp.xform));
		if (rc < 0) {
			LOG(ERR, "group %s SPI 0x%08x: %s", gc->name, s->spi, strerror(-rc));
			return rc;
		}
		if ((rc = gvpn_ctrl_sa_activate(c, (uint16_t)rc)) != 0)
			return rc;
	}
	return 0;
}

int
gvpn_ctrl_load_static(struct gvpn_ctrl *c)
{
	const struct gvpn_config *cfg = c->conf.cfg;
	int rc;

	for (uint8_t g = 0; g < cfg->n_groups; g++) {
		if ((rc = ctrl_group_load_static(c, g)) != 0)
			return rc;
		c->group[g].state = cfg->groups[g].n_sas != 0 ? GVPN_GROUP_STATIC : GVPN_GROUP_IDLE;
	}
	ctrl_changed(c);
	return gvpn_ctrl_policy_update(c);
}

/* The protocol client's part of a group's info, deadlines absolute; its
 * counts and times continue those of the group's earlier clients. */
static void
proto_info(const struct gvpn_ctrl *c, uint8_t g, uint64_t now_ms, struct gvpn_group_info *i)
{
	const struct ctrl_history *p = &c->group[g].past;

	memset(i, 0, sizeof(*i));
	i->rekey_at_ms = -1;
	i->kek_expires_at_ms = -1;
	i->ike_expires_at_ms = -1;
	if (c->group[g].client != NULL)
		c->group[g].proto->info(c->group[g].client, now_ms, i);
	i->registrations += p->registrations;
	i->failures += p->failures;
	i->pushes += p->pushes;
	if (i->last_registration_at == 0)
		i->last_registration_at = p->last_registration_at;
	if (i->last_rekey_at == 0)
		i->last_rekey_at = p->last_rekey_at;
}

void
ctrl_group_history(const struct gvpn_ctrl *c, uint8_t g, struct ctrl_history *h)
{
	struct gvpn_group_info i;

	proto_info(c, g, gvpn_ctrl_clock_ms(), &i);
	*h = (struct ctrl_history){.registrations = i.registrations,
				   .failures = i.failures,
				   .pushes = i.pushes,
				   .last_registration_at = i.last_registration_at,
				   .last_rekey_at = i.last_rekey_at};
}

int
gvpn_ctrl_group_debug(struct gvpn_ctrl *c, uint8_t group, int on)
{
	struct group *gr;

	if (group >= c->conf.cfg->n_groups || c->group[group].client == NULL)
		return -ENOENT;
	gr = &c->group[group];
	LOG(NOTICE, "group %s: operator request: debug %s%s", c->conf.cfg->groups[group].name,
	    on ? "on" : "off",
	    on ? " (each GDOI/IKE message in and out is logged, headers only)" : "");
	gr->debug = on != 0;
	gr->proto->debug(gr->client, gr->debug);
	ctrl_changed(c);
	return 0;
}

int
gvpn_ctrl_group_register(struct gvpn_ctrl *c, uint8_t group)
{
	if (group >= c->conf.cfg->n_groups || c->group[group].client == NULL)
		return -ENOENT;
	LOG(NOTICE, "group %s: operator request: register", c->conf.cfg->groups[group].name);
	return c->group[group].proto->request(c->group[group].client, CTRL_REQ_REGISTER,
					      gvpn_ctrl_clock_ms());
}

int
gvpn_ctrl_leave(struct gvpn_ctrl *c, unsigned int max_ms)
{
	uint64_t start = gvpn_ctrl_clock_ms(), now = start;
	unsigned int waiting = 0;

	for (uint8_t g = 0; g < c->conf.cfg->n_groups; g++) {
		struct group *gr = &c->group[g];

		if (gr->client != NULL && gr->proto->leave != NULL)
			waiting += gr->proto->leave(gr->client, now) > 0;
	}
	while (waiting != 0 && now - start < max_ms) {
		rte_delay_us_sleep(1000);
		now = gvpn_ctrl_clock_ms();
		waiting = 0;
		for (uint8_t g = 0; g < c->conf.cfg->n_groups; g++) {
			struct group *gr = &c->group[g];

			if (gr->client == NULL || gr->proto->leave == NULL ||
			    !gr->proto->leaving(gr->client))
				continue;
			gr->proto->poll(gr->client, now);
			waiting += gr->proto->leaving(gr->client) != 0;
		}
	}
	for (uint8_t g = 0; g < c->conf.cfg->n_groups; g++) {
		struct group *gr = &c->group[g];

		if (gr->client != NULL && gr->proto->leave != NULL &&
		    gr->proto->leaving(gr->client))
			LOG(NOTICE,
			    "group %s: the key server did not answer the leave within %u ms",
			    c->conf.cfg->groups[g].name, max_ms);
	}
	return (int)waiting;
}

void
ctrl_group_stop(struct gvpn_ctrl *c, uint8_t g)
{
	struct group *gr = &c->group[g];
	void *client = gr->client;

	if (client == NULL)
		return;
	gr->client = NULL;
	gr->client_state = GVPN_GROUP_IDLE;
	/* its Sender-ID was the key server's: a group in this slot after a
	 * reload (static, or registering anew) starts without one */
	gr->sid_managed = 0;
	gr->sid_bits = 0;
	gr->sid = 0;
	ctrl_changed(c);
	gr->proto->free(client);
	gr->proto = NULL;
}

static void
fill_sa(const struct gvpn_sa_entry *e, uint16_t slot, struct gvpn_sa_info *i)
{
	memset(i, 0, sizeof(*i));
	i->slot = slot;
	i->group = e->rt->group;
	i->tek = e->rt->tek;
	i->spi = rte_be_to_cpu_32(e->rt->esp->spi);
	i->state = e->state;
	i->cipher = e->rt->esp->cipher;
	i->auth = e->rt->esp->auth;
	i->key_bits = (uint16_t)((e->rt->esp->cipher_key_len -
				  (gvpn_cipher_is_counter(i->cipher) ? GVPN_GCM_SALT_LEN : 0)) *
				 8);
	i->expires = e->expires;
	i->installed = e->installed;
	i->installed_at = e->installed_at;
	i->wait_sid = e->wait_sid;
}

/* The rules in force, in the rule table's rank order: bypass, TEK policies,
 * fail-open rules. @return how many (room for all is there). */
static unsigned int
fill_rules(const struct gvpn_ctrl *c, struct gvpn_rule_info *r)
{
	const struct gvpn_config *cfg = c->conf.cfg;
	unsigned int n = 0;

	for (unsigned int i = 0; i < cfg->n_bypass; i++)
		r[n++] = (struct gvpn_rule_info){.kind = GVPN_RULE_KIND_BYPASS,
						 .index = (uint16_t)i,
						 .hits_since = c->bypass_owner[i].since,
						 .sel = cfg->bypass[i]};
	for (uint16_t t = 0; t < GVPN_MAX_TEKS; t++)
		if (c->tek[t].used)
			r[n++] = (struct gvpn_rule_info){.kind = GVPN_RULE_KIND_TEK,
							 .group = c->tek[t].group,
							 .mirrored = c->tek[t].n_sel > 1,
							 .tek = t,
							 .sel = c->tek[t].sel[0]};
	for (uint8_t g = 0; g < cfg->n_groups; g++)
		for (unsigned int i = 0; i < cfg->groups[g].n_fail_open; i++)
			r[n++] =
			    (struct gvpn_rule_info){.kind = GVPN_RULE_KIND_FAIL_OPEN,
						    .group = g,
						    .index = (uint16_t)i,
						    .hits_since = c->fail_open_owner[g][i].since,
						    .sel = cfg->groups[g].fail_open[i]};
	return n;
}

static void
fill_group(const struct gvpn_ctrl *c, uint8_t g, struct gvpn_group_info *i)
{
	const struct gvpn_group_conf *gc = &c->conf.cfg->groups[g];

	memcpy(i, &c->group[g].client_info, sizeof(*i));
	snprintf(i->name, sizeof(i->name), "%s", gc->name);
	i->id = gc->id;
	i->direction = gc->direction;
	i->state = c->group[g].state;
	i->fail_open = c->group[g].fail_open;
	i->debug = c->group[g].debug;
	i->n_fail_open_rules = gc->n_fail_open;
	i->sa_install_failures = c->group[g].sa_install_failures;
	i->gdoi = gc->gdoi;
	i->protocol = (uint8_t)gc->protocol;
	i->sid_bits = c->group[g].sid_bits;
	i->sid = c->group[g].sid;
}

static void
snapshot_free(struct snapshot *p)
{
	free(p);
}

/* Drop the publication's reference to the snapshot swapped out last, once
 * no reader is between loading the pointer and counting itself in it.
 * @return 0, or -EBUSY: a reader is there now (try later). */
static int
release_retired(struct gvpn_ctrl *c)
{
	if (c->retired == NULL)
		return 0;
	if (atomic_load(&c->readers[(atomic_load(&c->epoch) - 1) & 1]) != 0)
		return -EBUSY;
	gvpn_ctrl_snapshot_put(&c->retired->s);
	c->retired = NULL;
	return 0;
}

int
gvpn_ctrl_publish(struct gvpn_ctrl *c)
{
	const struct gvpn_config *cfg = c->conf.cfg;
	uint64_t now_ms = gvpn_ctrl_clock_ms();
	struct gvpn_sa_info *sa;
	struct gvpn_rule_info *rule;
	struct snapshot *p, *old;
	unsigned int n = 0, n_rules;

	/* the clients' counters move on their own: compare what is shown */
	for (uint8_t g = 0; g < cfg->n_groups; g++) {
		struct gvpn_group_info i;

		proto_info(c, g, now_ms, &i);
		if (memcmp(&i, &c->group[g].client_info, sizeof(i)) != 0) {
			memcpy(&c->group[g].client_info, &i, sizeof(i));
			ctrl_changed(c);
		}
	}
	if (!c->changed) {
		release_retired(c);
		return 0;
	}
	if (release_retired(c) != 0)
		return -EBUSY; /* one snapshot waits for its readers: next period */
	for (uint16_t s = 0; s < GVPN_MAX_SA_SLOTS; s++)
		n += c->sa[s].state != GVPN_SA_FREE;
	n_rules = cfg->n_bypass;
	for (uint16_t t = 0; t < GVPN_MAX_TEKS; t++)
		n_rules += c->tek[t].used;
	for (uint8_t g = 0; g < cfg->n_groups; g++)
		n_rules += cfg->groups[g].n_fail_open;
	p = malloc(sizeof(*p) + n * sizeof(*sa) + n_rules * sizeof(*rule));
	if (p == NULL)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	atomic_init(&p->refs, 1); /* the publication's */
	sa = (struct gvpn_sa_info *)(p + 1);
	p->s.version = c->version + 1;
	p->s.config = c->reload;
	if (p->s.config.last_result == NULL)
		p->s.config.last_result = "none";
	if (p->s.config.file[0] == '\0')
		snprintf(p->s.config.file, sizeof(p->s.config.file), "%.255s", cfg->file);
	p->s.n_groups = cfg->n_groups;
	for (uint8_t g = 0; g < cfg->n_groups; g++)
		fill_group(c, g, &p->s.group[g]);
	for (uint16_t s = 0; s < GVPN_MAX_SA_SLOTS && p->s.n_sas < n; s++) {
		const struct gvpn_sa_entry *e = &c->sa[s];

		if (e->state == GVPN_SA_FREE)
			continue;
		fill_sa(e, s, &sa[p->s.n_sas++]);
		if (e->rt->group < GVPN_MAX_GROUPS && e->rt->group < cfg->n_groups)
			p->s.group[e->rt->group].n_sas++;
	}
	p->s.sa = sa;
	rule = (struct gvpn_rule_info *)(sa + n);
	p->s.rule = rule;
	p->s.n_rules = fill_rules(c, rule);
	old = atomic_exchange(&c->pub, p); /* readers see p whole from here on */
	atomic_fetch_add(&c->epoch, 1);	   /* readers from now on count apart */
	c->version++;
	c->changed = 0;
	c->retired = old; /* then release it as soon as no reader can be loading it */
	release_retired(c);
	return 0;
}

const struct gvpn_ctrl_snapshot *
gvpn_ctrl_snapshot_get(struct gvpn_ctrl *c)
{
	struct snapshot *p;
	unsigned int e;

	/* Sequentially consistent throughout. A reader that loads a snapshot
	 * before the control core swaps it out counted itself, before that,
	 * in the epoch it saw unchanged after counting, which is the epoch
	 * the swap ends; the control core releases the snapshot only once
	 * that epoch's count is 0, when the reader's reference is taken. */
	for (;;) {
		e = atomic_load(&c->epoch) & 1;
		atomic_fetch_add(&c->readers[e], 1);
		if ((atomic_load(&c->epoch) & 1) == e)
			break;
		atomic_fetch_sub(&c->readers[e], 1); /* a swap in between: again */
	}
	p = atomic_load(&c->pub);
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	atomic_fetch_sub(&c->readers[e], 1);
	return &p->s;
}

void
gvpn_ctrl_snapshot_put(const struct gvpn_ctrl_snapshot *s)
{
	struct snapshot *p;

	if (s == NULL)
		return;
	p = (struct snapshot *)(uintptr_t)((uintptr_t)s - offsetof(struct snapshot, s));
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		snapshot_free(p);
}
