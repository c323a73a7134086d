/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration reload (R18), run by the control core after a SIGHUP. The
 * new file is read and validated whole, then compared with the running
 * configuration setting by setting:
 *
 *   live         bypass, groups[].fail_open, dataplane.df_bit and ttl (for
 *                SAs installed from then on)
 *   next         a group's key servers, phase 1 (proposals, lifetime) and
 *   registration retry settings: its SAs and traffic stay; its client takes
 *                them up at its next registration attempt (the rules that
 *                punt the key servers' packets to a port's own address, with
 *                their own budget, are rebuilt at once)
 *   re-register  a group's id, direction, local address, PSK or static
 *                SAs (or a change between key servers and static SAs): its
 *                SAs are cleared and it registers again (a static group
 *                installs its SAs again); the other groups are not touched
 *   restart      ports and the other dataplane settings (workers, queues and
 *                the mbuf pool are sized from them at start): the whole file
 *                is refused
 *
 * Every check runs before anything changes, so a reload applies fully or
 * not at all. Groups are matched by name at the same position in the list.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>

#include "ctrl_private.h"

/* What becomes of group slot g (an index in groups[]). */
enum slot_action {
	SLOT_EMPTY,   /* no group before or after */
	SLOT_KEEP,    /* the same group; at most its live settings changed */
	SLOT_RENEW,   /* the same group, registering again */
	SLOT_REPLACE, /* another group, or none, takes the slot */
	SLOT_ADD,     /* a new group in a slot that was empty */
};

struct plan {
	enum slot_action slot[GVPN_MAX_GROUPS];
	const char *why[GVPN_MAX_GROUPS];  /* SLOT_RENEW: the setting that changed */
	const char *next[GVPN_MAX_GROUPS]; /* SLOT_KEEP: one the next registration takes up */
	int fail_open_changed[GVPN_MAX_GROUPS];
	int any_fail_open_changed;
	int bypass_changed, df_changed, ttl_changed;
	int punt_changed; /* the rules for the box's own addresses (key servers) */
	unsigned int unchanged, reregistered, added, removed;
	unsigned int new_sas; /* static SAs to install */
};

static int
xform_equal(const struct gvpn_crypto_xform *a, const struct gvpn_crypto_xform *b)
{
	return a->cipher == b->cipher && a->auth == b->auth &&
	       a->cipher_key_len == b->cipher_key_len && a->auth_key_len == b->auth_key_len &&
	       memcmp(a->cipher_key, b->cipher_key, a->cipher_key_len) == 0 &&
	       memcmp(a->auth_key, b->auth_key, a->auth_key_len) == 0;
}

static int
selectors_equal(const struct gvpn_selector *a, uint16_t na, const struct gvpn_selector *b,
		uint16_t nb)
{
	if (na != nb)
		return 0;
	for (uint16_t i = 0; i < na; i++)
		if (!gvpn_selector_equal(&a[i], &b[i]))
			return 0;
	return 1;
}

/* The first setting of the key server registration that differs and that
 * keys depend on, or NULL. */
static const char *
gdoi_change(const struct gvpn_gdoi_conf *a, const struct gvpn_gdoi_conf *b)
{
	if (a->af != b->af || a->local_addr != b->local_addr ||
	    memcmp(a->local_addr6, b->local_addr6, sizeof(a->local_addr6)) != 0 ||
	    a->local_port != b->local_port)
		return "local_address";
	if (a->psk_len != b->psk_len || memcmp(a->psk, b->psk, a->psk_len) != 0)
		return "psk";
	if (a->habits != b->habits)
		return "key_server_habits";
	return NULL;
}

/* The first setting that only the next registration uses, or NULL: the
 * keys held stay valid whichever key server, retries or phase 1 the next
 * registration has. */
static const char *
gdoi_next_change(const struct gvpn_gdoi_conf *a, const struct gvpn_gdoi_conf *b)
{
	if (a->n_servers != b->n_servers)
		return "key_servers";
	for (unsigned int i = 0; i < a->n_servers; i++)
		if (a->server_addr[i] != b->server_addr[i] ||
		    memcmp(a->server_addr6[i], b->server_addr6[i], 16) != 0 ||
		    a->server_port[i] != b->server_port[i])
			return "key_servers";
	if (a->n_phase1 != b->n_phase1)
		return "phase1";
	for (unsigned int i = 0; i < a->n_phase1; i++)
		if (a->phase1[i].enc != b->phase1[i].enc ||
		    a->phase1[i].key_bits != b->phase1[i].key_bits ||
		    a->phase1[i].hash != b->phase1[i].hash ||
		    a->phase1[i].group != b->phase1[i].group)
			return "phase1";
	if (a->phase1_lifetime != b->phase1_lifetime)
		return "phase1_lifetime";
	if (a->retry_interval_ms != b->retry_interval_ms)
		return "retry_interval";
	if (a->retries != b->retries)
		return "retries";
	return NULL;
}

/* Whether the rules that punt to the box's own addresses differ: a port
 * with an address gives each GDOI group's key servers the control budget,
 * so a change of key servers (or of the groups) changes them. */
static int
punt_rules_differ(const struct gvpn_config *a, const struct gvpn_config *b)
{
	struct gvpn_policy_rule *x = calloc(2 * CTRL_PUNT_RULES_MAX, sizeof(*x));
	struct gvpn_policy_rule *y = x + CTRL_PUNT_RULES_MAX;
	unsigned int n, i;
	int differ;

	if (x == NULL)
		return 1; /* rebuilt to be sure */
	n = ctrl_punt_rules(a, x, 0);
	differ = n != ctrl_punt_rules(b, y, 0);
	for (i = 0; !differ && i < n; i++)
		differ = !gvpn_selector_equal(&x[i].sel, &y[i].sel) ||
			 x[i].rule.type != y[i].rule.type || x[i].categories != y[i].categories ||
			 x[i].priority != y[i].priority;
	free(x);
	return differ;
}

/* The first setting of a group's identity or keying that differs, or NULL. */
static const char *
group_change(const struct gvpn_group_conf *a, const struct gvpn_group_conf *b)
{
	if (a->id != b->id)
		return "id";
	if (a->direction != b->direction)
		return "direction";
	if (a->gdoi != b->gdoi)
		return "key_servers";
	if (a->gdoi && a->protocol != b->protocol)
		return "protocol";
	if (a->gdoi && a->protocol == GVPN_GROUP_PROTO_GIKEV2) {
		const struct gvpn_gikev2_conf *x = &a->gikev2, *y = &b->gikev2;

		if (x->idg_len != y->idg_len || memcmp(x->idg, y->idg, x->idg_len) != 0)
			return "idg";
		if (x->sender_ids != y->sender_ids)
			return "sender_ids";
		if (x->allow_implicit != y->allow_implicit)
			return "allow_implicit";
	}
	if (a->gdoi)
		return gdoi_change(&a->ks, &b->ks);
	if (a->n_sas != b->n_sas)
		return "sas";
	for (uint16_t i = 0; i < a->n_sas; i++) {
		const struct gvpn_sa_conf *x = &a->sas[i], *y = &b->sas[i];

		if (x->spi != y->spi || !gvpn_selector_equal(&x->sel, &y->sel) ||
		    x->mirror != y->mirror || !xform_equal(&x->xform, &y->xform) ||
		    x->lifetime != y->lifetime)
			return "sas";
	}
	return NULL;
}

/* A setting that only a restart can change: its name in @p name. */
static int
needs_restart(const struct gvpn_config *a, const struct gvpn_config *b, char *name, size_t len)
{
	if (a->n_ports != b->n_ports) {
		snprintf(name, len, "ports");
		return 1;
	}
	for (uint16_t i = 0; i < a->n_ports; i++) {
		const struct gvpn_port_conf *x = &a->ports[i], *y = &b->ports[i];
		const char *m = strcmp(x->name, y->name) != 0	    ? "name"
				: strcmp(x->device, y->device) != 0 ? "device"
				: x->role != y->role		    ? "role"
				: x->mtu != y->mtu		    ? "mtu"
				: x->peer != y->peer		    ? "peer"
				: x->address != y->address || x->prefix_len != y->prefix_len
				    ? "address"
				: x->gateway != y->gateway     ? "gateway"
				: x->punt_rate != y->punt_rate ? "punt_rate"
							       : NULL;

		if (m != NULL) {
			snprintf(name, len, "ports[%u].%s", i, m);
			return 1;
		}
	}
	if (a->inner_df != b->inner_df)
		snprintf(name, len, "dataplane.inner_df");
	else if (a->ipv6_too_big != b->ipv6_too_big)
		snprintf(name, len, "dataplane.ipv6_too_big");
	else if (a->flows != b->flows)
		snprintf(name, len, "dataplane.flows");
	else if (a->burst != b->burst)
		snprintf(name, len, "dataplane.burst");
	else if (strcmp(a->crypto, b->crypto) != 0)
		snprintf(name, len, "dataplane.crypto");
	else
		return 0;
	return 1;
}

static int
find_group(const struct gvpn_config *cfg, const char *name)
{
	for (uint16_t g = 0; g < cfg->n_groups; g++)
		if (strcmp(cfg->groups[g].name, name) == 0)
			return g;
	return -1;
}

static void
plan_groups(const struct gvpn_config *old, const struct gvpn_config *next, struct plan *p)
{
	unsigned int n = RTE_MAX(old->n_groups, next->n_groups);

	for (unsigned int g = 0; g < n; g++) {
		const struct gvpn_group_conf *a = g < old->n_groups ? &old->groups[g] : NULL;
		const struct gvpn_group_conf *b = g < next->n_groups ? &next->groups[g] : NULL;

		if (a != NULL && b != NULL && strcmp(a->name, b->name) == 0) {
			p->why[g] = group_change(a, b);
			p->slot[g] = p->why[g] == NULL ? SLOT_KEEP : SLOT_RENEW;
			if (p->why[g] == NULL && a->gdoi)
				p->next[g] = gdoi_next_change(&a->ks, &b->ks);
			if (p->why[g] == NULL && p->next[g] == NULL && a->gdoi &&
			    a->protocol == GVPN_GROUP_PROTO_GIKEV2 &&
			    (a->gikev2.n_proposals != b->gikev2.n_proposals ||
			     memcmp(a->gikev2.proposals, b->gikev2.proposals,
				    sizeof(a->gikev2.proposals)) != 0))
				p->next[g] = "ikev2_proposals";
			p->fail_open_changed[g] = !selectors_equal(a->fail_open, a->n_fail_open,
								   b->fail_open, b->n_fail_open);
			p->any_fail_open_changed |= p->fail_open_changed[g];
			if (p->why[g] == NULL)
				p->unchanged++;
			else
				p->reregistered++;
		} else {
			p->slot[g] = a != NULL ? SLOT_REPLACE : SLOT_ADD;
			/* a group that moved in the list counts as re-registered */
			if (b != NULL && find_group(old, b->name) >= 0)
				p->reregistered++;
			else if (b != NULL)
				p->added++;
			if (a != NULL && find_group(next, a->name) < 0)
				p->removed++;
		}
		if (b != NULL && p->slot[g] != SLOT_KEEP && !b->gdoi)
			p->new_sas += b->n_sas;
	}
}

/* Room for the static SAs to install, while the cleared ones may still be
 * waiting for the workers to let go. */
static int
check_room(struct gvpn_ctrl *c, const struct plan *p, char *why, size_t len)
{
	unsigned int slots = gvpn_sa_slots_used(c->free_sas), teks = 0;

	for (uint16_t t = 0; t < GVPN_MAX_TEKS; t++)
		teks += c->tek[t].used && p->slot[c->tek[t].group] == SLOT_KEEP;
	if (slots + p->new_sas > GVPN_MAX_SA_SLOTS) {
		snprintf(why, len, "%u static SAs do not fit: %u of %u SA slots in use", p->new_sas,
			 slots, GVPN_MAX_SA_SLOTS);
		return -ENOSPC;
	}
	if (teks + p->new_sas > GVPN_MAX_TEKS) {
		snprintf(why, len, "%u static SAs do not fit: %u of %u TEK policies in use",
			 p->new_sas, teks, GVPN_MAX_TEKS);
		return -ENOSPC;
	}
	return 0;
}

/* Stop a group: client, SAs (keys wiped once the workers let go), TEKs. */
static int
group_down(struct gvpn_ctrl *c, uint8_t g, int keep_fail_open)
{
	int rc = 0;

	ctrl_group_stop(c, g);
	gvpn_ctrl_group_clear(c, g);
	for (uint16_t t = 0; t < GVPN_MAX_TEKS; t++)
		if (c->tek[t].used && c->tek[t].group == g)
			ctrl_tek_del(c, t);
	if (!keep_fail_open && c->group[g].fail_open)
		rc = gvpn_ctrl_group_fail(c, g, 0); /* the slot's next group starts closed */
	c->group[g].state = c->group[g].fail_open ? GVPN_GROUP_FAILED : GVPN_GROUP_IDLE;
	return rc;
}

/* Start a group from the (new) configuration. */
static int
group_up(struct gvpn_ctrl *c, uint8_t g)
{
	const struct gvpn_group_conf *gc = &c->conf.cfg->groups[g];
	int rc = gc->gdoi ? ctrl_group_start(c, g) : ctrl_group_load_static(c, g);

	if (!c->group[g].fail_open)
		c->group[g].state =
		    !gc->gdoi && gc->n_sas != 0 ? GVPN_GROUP_STATIC : GVPN_GROUP_IDLE;
	return rc;
}

static void
log_groups(const struct gvpn_config *old, const struct gvpn_config *next, const struct plan *p)
{
	for (uint16_t g = 0; g < GVPN_MAX_GROUPS; g++) {
		const struct gvpn_group_conf *b = g < next->n_groups ? &next->groups[g] : NULL;
		const char *again =
		    b != NULL && !b->gdoi ? "static SAs installed again" : "registering again";
		int was;

		switch (p->slot[g]) {
		case SLOT_KEEP:
			if (p->next[g] != NULL)
				LOG(NOTICE,
				    "group %s: %s changed: SAs kept, applies from the next "
				    "registration",
				    b->name, p->next[g]);
			if (p->fail_open_changed[g])
				LOG(NOTICE, "group %s: fail_open changed (%u rules): applied",
				    b->name, b->n_fail_open);
			break;
		case SLOT_RENEW:
			LOG(NOTICE, "group %s: %s changed: SAs cleared, %s", b->name, p->why[g],
			    again);
			break;
		case SLOT_REPLACE:
			if (find_group(next, old->groups[g].name) < 0)
				LOG(NOTICE, "group %s: removed: SAs cleared", old->groups[g].name);
			/* fall through */
		case SLOT_ADD:
			if (b == NULL)
				break;
			was = find_group(old, b->name);
			if (was < 0)
				LOG(NOTICE, "group %s: added", b->name);
			else
				LOG(NOTICE,
				    "group %s: moved from groups[%d] to groups[%u]: SAs cleared, "
				    "%s",
				    b->name, was, g, again);
			break;
		default:
			break;
		}
	}
}

/* "bypass, dataplane.ttl, groups[corp].fail_open" or "none" */
static void
live_changes(const struct gvpn_config *next, const struct plan *p, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (off < len) {                                                                   \
			int w_ = snprintf(buf + off, len - off, "%s", off ? ", " : "");            \
			off += w_ > 0 ? (size_t)w_ : 0;                                            \
		}                                                                                  \
		if (off < len) {                                                                   \
			int w_ = snprintf(buf + off, len - off, __VA_ARGS__);                      \
			off += w_ > 0 ? (size_t)w_ : 0;                                            \
		}                                                                                  \
	} while (0)
	if (p->bypass_changed)
		ADD("bypass");
	if (p->df_changed)
		ADD("dataplane.df_bit");
	if (p->ttl_changed)
		ADD("dataplane.ttl");
	for (uint16_t g = 0; g < next->n_groups; g++) {
		if (p->slot[g] == SLOT_KEEP && p->fail_open_changed[g])
			ADD("groups[%s].fail_open", next->groups[g].name);
		if (p->slot[g] == SLOT_KEEP && p->next[g] != NULL)
			ADD("groups[%s].%s (next registration)", next->groups[g].name, p->next[g]);
	}
#undef ADD
	if (off == 0)
		snprintf(buf, len, "none");
}

/* Telemetry strings hold 127 characters: the file has its own field, so an
 * error "FILE:LINE: setting: ..." is kept as "line LINE: setting: ...". */
static void
record(struct gvpn_ctrl *c, const char *path, const char *result, const struct plan *p,
       const char *live, const char *error)
{
	size_t n = strlen(path);

	snprintf(c->reload.file, sizeof(c->reload.file), "%s", path);
	c->reload.last_reload_at = (int64_t)time(NULL);
	c->reload.last_result = result;
	if (p != NULL) {
		c->reload.reloads++;
		c->reload.loaded_at = c->reload.last_reload_at;
		c->reload.unchanged = p->unchanged;
		c->reload.reregistered = p->reregistered;
		c->reload.added = p->added;
		c->reload.removed = p->removed;
		snprintf(c->reload.live_changes, sizeof(c->reload.live_changes), "%s", live);
	} else {
		c->reload.refused++;
	}
	if (strncmp(error, path, n) == 0 && error[n] == ':' && error[n + 1] >= '0' &&
	    error[n + 1] <= '9')
		snprintf(c->reload.last_error, sizeof(c->reload.last_error), "line %s",
			 error + n + 1);
	else
		snprintf(c->reload.last_error, sizeof(c->reload.last_error), "%s", error);
	ctrl_changed(c);
}

static int
refuse(struct gvpn_ctrl *c, const char *path, int rc, const char *why)
{
	LOG(ERR, "config reload refused: %s (running configuration kept)", why);
	record(c, path, "refused", NULL, NULL, why);
	return rc;
}

/* A group's registration history, by name, while its client is replaced. */
struct carry {
	char name[GVPN_NAME_MAX]; /* "": none */
	struct ctrl_history h;
};

/* The history the group now in slot @p g continues: its own from before
 * the reload (found by name, wherever it was in the list), or none. */
static void
history_take(struct gvpn_ctrl *c, const struct gvpn_config *live, const struct carry *carry,
	     uint16_t g)
{
	c->group[g].past = (struct ctrl_history){0};
	for (uint16_t k = 0; k < GVPN_MAX_GROUPS && g < live->n_groups; k++)
		if (carry[k].name[0] != '\0' && strcmp(carry[k].name, live->groups[g].name) == 0)
			c->group[g].past = carry[k].h;
}

static int
apply(struct gvpn_ctrl *c, struct gvpn_config *live, const struct gvpn_config *next,
      const struct plan *p)
{
	struct carry carry[GVPN_MAX_GROUPS] = {0};
	int down = 0, up_static = 0, rc, first = 0;

	/* Take down what changes while the old names are still in place; what
	 * their clients counted goes on with the group of the same name (a
	 * reload is no reason for registrations and pushes to count from 0). */
	for (uint16_t g = 0; g < live->n_groups; g++) {
		if (p->slot[g] == SLOT_KEEP)
			continue;
		down = 1;
		snprintf(carry[g].name, sizeof(carry[g].name), "%s", live->groups[g].name);
		ctrl_group_history(c, (uint8_t)g, &carry[g].h);
		rc = group_down(c, (uint8_t)g, p->slot[g] == SLOT_RENEW);
		if (rc != 0 && first == 0)
			first = rc;
	}
	*live = *next; /* telemetry sees the names in the next snapshot */
	for (uint16_t g = 0; g < GVPN_MAX_GROUPS; g++)
		if (g >= live->n_groups || p->slot[g] != SLOT_KEEP)
			history_take(c, live, carry, g);
	ctrl_changed(c);
	for (uint16_t g = 0; g < live->n_groups; g++)
		if (p->slot[g] == SLOT_KEEP && p->next[g] != NULL && c->group[g].client != NULL &&
		    c->group[g].proto->reconf != NULL &&
		    (rc = c->group[g].proto->reconf(c->group[g].client)) != 0 && first == 0)
			first = rc;
	/* The cleared TEKs leave the rule table before any new one can take
	 * their index; bypass, fail-open and punt rule changes (new key
	 * servers) arrive with it. */
	if (down || p->bypass_changed || p->any_fail_open_changed || p->punt_changed) {
		rc = gvpn_ctrl_policy_update(c);
		if (rc != 0 && first == 0)
			first = rc;
	}
	for (uint16_t g = 0; g < live->n_groups; g++) {
		if (p->slot[g] == SLOT_KEEP)
			continue;
		up_static |= !live->groups[g].gdoi && live->groups[g].n_sas != 0;
		rc = group_up(c, (uint8_t)g);
		if (rc != 0 && first == 0)
			first = rc;
	}
	if (up_static) {
		rc = gvpn_ctrl_policy_update(c);
		if (rc != 0 && first == 0)
			first = rc;
	}
	return first;
}

int
gvpn_ctrl_reload(struct gvpn_ctrl *c, struct gvpn_config *live, const char *path)
{
	struct gvpn_config *next;
	struct plan p = {0};
	char err[256], live_list[sizeof(c->reload.live_changes)];
	int rc;

	if (live != c->conf.cfg)
		return -EINVAL;
	LOG(NOTICE, "reload requested: reading %s", path);
	next = gvpn_keymem_alloc(sizeof(*next)); /* it holds keys */
	if (next == NULL)
		return refuse(c, path, -ENOMEM, "no memory to read the file");
	rc = gvpn_config_load(path, next, err, sizeof(err));
	if (rc != 0)
		goto refused;
	rc = -EPERM;
	if (needs_restart(live, next, err, sizeof(err) - 32)) {
		strcat(err, " needs a restart");
		goto refused;
	}
	plan_groups(live, next, &p);
	p.bypass_changed =
	    !selectors_equal(live->bypass, live->n_bypass, next->bypass, next->n_bypass);
	p.df_changed = live->df != next->df;
	p.ttl_changed = live->ttl != next->ttl;
	p.punt_changed = punt_rules_differ(live, next);
	if ((rc = check_room(c, &p, err, sizeof(err))) != 0)
		goto refused;

	log_groups(live, next, &p);
	if (p.df_changed || p.ttl_changed)
		LOG(NOTICE, "dataplane.%s changed: applies to SAs installed from now on",
		    p.df_changed && p.ttl_changed ? "df_bit and ttl"
		    : p.df_changed		  ? "df_bit"
						  : "ttl");
	if (p.bypass_changed)
		LOG(NOTICE, "bypass changed (%u filters): applied", next->n_bypass);
	live_changes(next, &p, live_list, sizeof(live_list));
	rc = apply(c, live, next, &p);
	gvpn_keymem_free(next);
	if (rc != 0) {
		LOG(ERR, "config reload failed part way: %s (see the messages above)",
		    strerror(-rc));
		record(c, path, "failed", &p, live_list, strerror(-rc));
		return rc;
	}
	LOG(NOTICE,
	    "config reloaded: %u group(s) unchanged, %u re-registered, %u added, %u removed; "
	    "live changes: %s",
	    p.unchanged, p.reregistered, p.added, p.removed, live_list);
	record(c, path, "applied", &p, live_list, "");
	return 0;
refused:
	gvpn_keymem_free(next);
	return refuse(c, path, rc, err);
}
