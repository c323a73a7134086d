/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a group key protocol's client learns, applied to the group's SAs and
 * rules (R13-R17, R24): a registration's policy, a rekey's new TEKs and
 * Deletes, the client's state. GDOI (ctrl_gdoi.c) and G-IKEv2
 * (ctrl_gikev2.c) both report in lib/gdoi's terms (struct gdoi_policy,
 * struct gdoi_push) through these callbacks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>

#include "ctrl_private.h"

/* Encryption moves to a new TEK when the old one has this long left (R17). */
#define SWITCH_BEFORE_EXPIRY_S 30

/* A group's live SA with an SPI; SPIs of live SAs are unique (gvpn_ctrl_sa_add()). */
static int
spi_slot(struct gvpn_ctrl *c, uint8_t group, uint32_t spi)
{
	int s = ctrl_spi_slot(c, spi);

	return s >= 0 && c->sa[s].rt->group == group ? s : -ENOENT;
}

/* When should a new SA of @p tek start encrypting? */
static uint64_t
activation_time(struct gvpn_ctrl *c, uint16_t tek, uint16_t atd, uint64_t now)
{
	uint64_t hz = rte_get_tsc_hz(), at = now + (uint64_t)atd * hz;

	for (uint16_t s = 0; s < GVPN_MAX_SA_SLOTS; s++) {
		const struct gvpn_sa_entry *e = &c->sa[s];

		if (e->state == GVPN_SA_ACTIVE && e->rt->tek == tek && e->expires != 0 &&
		    e->expires > SWITCH_BEFORE_EXPIRY_S * hz) {
			uint64_t late = e->expires - SWITCH_BEFORE_EXPIRY_S * hz;

			if (late > at)
				at = late;
		}
	}
	return at;
}

/* Install a policy's new TEKs: each decrypts at once and encrypts after
 * @p atd (R14); after a pull, not before the TEK it replaces nears its end
 * (R17). SAs already held are left alone. */
static int
install_teks(struct ctrl_keys *x, const struct gdoi_policy *pol, uint16_t atd, uint64_t now,
	     int pushed)
{
	struct gvpn_ctrl *c = x->c;
	const struct gvpn_config *cfg = c->conf.cfg;
	int changed = 0;

	for (uint16_t i = 0; i < pol->n_teks; i++) {
		const struct gdoi_tek *t = &pol->tek[i];
		struct gvpn_ctrl_sa_params p = {.group = x->group, .lifetime = t->lifetime};
		int mirror = 0, first = 1, tek, slot;

		for (uint16_t k = 0; k < pol->n_teks; k++)
			if (k != i && pol->tek[k].spi == t->spi) {
				mirror = 1;
				first = k > i;
			}
		if (!first || spi_slot(c, x->group, t->spi) >= 0)
			continue; /* the pair's other half, or an SA we hold already */
		tek = ctrl_tek_find(c, x->group, &t->sel, mirror);
		if (tek < 0) {
			tek = gvpn_ctrl_tek_add(c, x->group, &t->sel, mirror);
			if (tek < 0)
				return tek;
			changed = 1;
		}
		p.tek = (uint16_t)tek;
		p.esp.spi = t->spi;
		p.esp.xform = t->xform;
		p.esp.df = cfg->df;
		p.esp.ttl = cfg->ttl;
		p.esp.replay_window_s = x->replay_window; /* R23: the group's policy */
		slot = gvpn_ctrl_sa_add(c, &p);
		gvpn_wipe(&p.esp.xform, sizeof(p.esp.xform));
		if (slot < 0) {
			LOG(ERR, "group %s: SPI 0x%08x not installed: %s",
			    cfg->groups[x->group].name, t->spi, strerror(-slot));
			return slot;
		}
		if (t->direction != 2) { /* receiver-only TEKs never encrypt */
			uint64_t at = pushed ? now + (uint64_t)atd * rte_get_tsc_hz()
					     : activation_time(c, (uint16_t)tek, atd, now);

			LOG(INFO, "group %s: SPI 0x%08x encrypts in %" PRIu64 " s",
			    cfg->groups[x->group].name, t->spi,
			    at > now ? (at - now) / rte_get_tsc_hz() : 0);
			/* Now, before the rule table names the TEK: workers apply
			 * messages in order, so no packet finds the TEK without an SA. */
			if (at <= now)
				gvpn_ctrl_sa_activate(c, (uint16_t)slot);
			else
				c->sa[slot].activate_at = at;
		}
	}
	return changed;
}

/* End SA @p s no later than @p when (TSC; now = delete at once). A pending
 * successor of an encrypting SA takes over by then, so that a
 * deactivation never leaves a TEK without an SA to encrypt with. */
static void
end_sa_by(struct gvpn_ctrl *c, uint16_t s, uint64_t when, uint64_t now)
{
	struct gvpn_sa_entry *e = &c->sa[s];

	if (e->state == GVPN_SA_ACTIVE)
		for (uint16_t o = 0; o < GVPN_MAX_SA_SLOTS; o++) {
			struct gvpn_sa_entry *n = &c->sa[o];

			if (o != s && ctrl_live(c, o) != NULL && n->rt->tek == e->rt->tek &&
			    n->activate_at != 0 && n->activate_at > when) {
				n->activate_at = when > now ? when : 0;
				if (n->activate_at == 0)
					gvpn_ctrl_sa_activate(c, o);
			}
		}
	if (when <= now) {
		gvpn_ctrl_sa_delete(c, s);
		return;
	}
	if (e->expires == 0 || e->expires > when) {
		e->expires = when;
		ctrl_changed(c);
	}
}

/* A pull's policy: new TEKs decrypt at once and encrypt later; SAs the key
 * server no longer lists are deleted (after the GAP's DTD, when it has one). */
static int
cb_policy(void *ctx, const struct gdoi_policy *pol)
{
	struct ctrl_keys *x = ctx;
	struct gvpn_ctrl *c = x->c;
	const struct gvpn_config *cfg = c->conf.cfg;
	uint64_t now = rte_get_tsc_cycles();
	int changed, rc;

	x->atd = pol->atd;
	x->dtd = pol->dtd;
	x->replay_window = pol->replay_window;
	/* A new Sender-ID is for the SAs activated from now on; those that
	 * encrypt already keep the IV space they took (doc/gdoi.md). */
	gvpn_ctrl_group_sender_id(c, x->group, pol->has_sid ? (uint8_t)pol->sid_bits : 0, pol->sid);
	changed = install_teks(x, pol, pol->atd, now, 0);
	if (changed < 0)
		return changed;
	/* R17: an SA the answer lacks is deleted */
	for (uint16_t s = 0; s < GVPN_MAX_SA_SLOTS; s++) {
		uint32_t spi;
		int listed = 0;

		if (ctrl_live(c, s) == NULL || c->sa[s].rt->group != x->group)
			continue;
		spi = rte_be_to_cpu_32(c->sa[s].rt->esp->spi);
		for (uint16_t i = 0; i < pol->n_teks && !listed; i++)
			listed = pol->tek[i].spi == spi;
		if (!listed) { /* after the GAP's DTD: members still switching use it */
			LOG(NOTICE, "group %s: SPI 0x%08x no longer in the policy: deleted%s",
			    cfg->groups[x->group].name, spi,
			    x->dtd != 0 ? " after the deactivation delay" : "");
			end_sa_by(c, s, now + (uint64_t)x->dtd * rte_get_tsc_hz(), now);
		}
	}
	if (changed && (rc = gvpn_ctrl_policy_update(c)) != 0)
		return rc;
	if (pol->n_ignored != 0)
		LOG(INFO, "group %s: %u non-ESP or deny policies ignored (R6)",
		    cfg->groups[x->group].name, pol->n_ignored);
	return 0;
}

/*
 * A verified push (R13-R15). New TEKs as from a pull, activated after ATD;
 * the SAs they replace (same policy, SPI not in the push) decrypt until DTD,
 * or their own expiry when DTD is absent; Deletes end SAs after DTD, SPI 0
 * meaning every SA of the group.
 */
static int
cb_push(void *ctx, const struct gdoi_push *push)
{
	struct ctrl_keys *x = ctx;
	struct gvpn_ctrl *c = x->c;
	const struct gvpn_config *cfg = c->conf.cfg;
	uint64_t now = rte_get_tsc_cycles(), hz = rte_get_tsc_hz();
	uint16_t atd = x->atd, dtd = x->dtd;
	int changed = 0, rc;

	if (push->has_policy && push->pol.has_gap) {
		atd = x->atd = push->pol.atd;
		dtd = x->dtd = push->pol.dtd;
		x->replay_window = push->pol.replay_window;
	}
	if (push->has_policy && push->pol.sid_void) /* until the next pull gives one */
		gvpn_ctrl_group_sender_id(c, x->group, 0, 0);
	if (push->has_policy) {
		const struct gdoi_policy *pol = &push->pol;

		int single[GDOI_MAX_TEKS], mirrored[GDOI_MAX_TEKS];

		changed = install_teks(x, pol, atd, now, 1);
		if (changed < 0)
			return changed;
		/* the TEKs (rules) of each pushed policy, looked up once */
		for (uint16_t i = 0; i < pol->n_teks; i++) {
			single[i] = ctrl_tek_find(c, x->group, &pol->tek[i].sel, 0);
			mirrored[i] = ctrl_tek_find(c, x->group, &pol->tek[i].sel, 1);
		}
		/* the SAs of a replaced TEK policy decrypt until DTD */
		for (uint16_t s = 0; s < GVPN_MAX_SA_SLOTS && dtd != 0; s++) {
			const struct gvpn_sa_entry *e = ctrl_live(c, s);
			uint32_t spi;
			int replaced = 0, listed = 0;

			if (e == NULL || e->rt->group != x->group)
				continue;
			spi = rte_be_to_cpu_32(e->rt->esp->spi);
			for (uint16_t i = 0; i < pol->n_teks; i++) {
				listed |= pol->tek[i].spi == spi;
				replaced |= single[i] == e->rt->tek || mirrored[i] == e->rt->tek;
			}
			if (replaced && !listed)
				end_sa_by(c, s, now + (uint64_t)dtd * hz, now);
		}
	}
	for (uint16_t d = 0; d < push->n_deletes; d++) {
		const struct gdoi_delete *del = &push->del[d];

		uint32_t lo = 0, hi = GVPN_MAX_SA_SLOTS; /* SPI 0: every SA of the group */

		if (del->protocol != GDOI_PROTO_ESP)
			continue; /* KEK deletes are the client's */
		if (!del->all) {  /* one SPI: its slot, from the index */
			int one = spi_slot(c, x->group, del->spi);

			lo = one < 0 ? 0 : (uint32_t)one;
			hi = one < 0 ? 0 : lo + 1;
		}
		for (uint32_t s = lo; s < hi; s++) {
			const struct gvpn_sa_entry *e = ctrl_live(c, s);

			if (e == NULL || e->rt->group != x->group ||
			    (!del->all && rte_be_to_cpu_32(e->rt->esp->spi) != del->spi))
				continue;
			LOG(NOTICE, "group %s: SPI 0x%08x deleted by the key server%s",
			    cfg->groups[x->group].name, rte_be_to_cpu_32(e->rt->esp->spi),
			    dtd != 0 ? " (after the deactivation delay)" : "");
			end_sa_by(c, s, now + (uint64_t)dtd * hz, now);
		}
	}
	if (changed && (rc = gvpn_ctrl_policy_update(c)) != 0)
		return rc;
	return 0;
}

static int
cb_has_keys(void *ctx)
{
	struct ctrl_keys *x = ctx;

	for (uint16_t s = 0; s < GVPN_MAX_SA_SLOTS; s++)
		if (ctrl_live(x->c, s) != NULL && x->c->sa[s].rt->group == x->group)
			return 1;
	return 0;
}

static void
cb_state(void *ctx, enum gdoi_client_state st, const char *error)
{
	struct ctrl_keys *x = ctx;
	struct gvpn_ctrl *c = x->c;
	const char *name = c->conf.cfg->groups[x->group].name;
	enum gvpn_group_state gs;

	switch (st) {
	case GDOI_FAILED:
		/* each retry passes through here: said once, when the group fails */
		if (c->group[x->group].fail_open)
			return;
		LOG(WARNING, "group %s: not registered and no keys are left: %s", name,
		    error != NULL ? error : "");
		gvpn_ctrl_group_fail(c, x->group, 1);
		return;
	case GDOI_REGISTERED:
		gs = GVPN_GROUP_REGISTERED;
		break;
	case GDOI_REKEYING:
		gs = GVPN_GROUP_REKEYING;
		break;
	case GDOI_PHASE1:
	case GDOI_PULL:
		gs = GVPN_GROUP_REGISTERING;
		break;
	default:
		gs = GVPN_GROUP_IDLE;
		break;
	}
	c->group[x->group].client_state = gs;
	ctrl_changed(c);
	if (c->group[x->group].fail_open && gs == GVPN_GROUP_REGISTERED)
		gvpn_ctrl_group_fail(c, x->group, 0); /* keys again: fail-open ends */
	if (!c->group[x->group].fail_open)
		c->group[x->group].state = gs;
}

static void
cb_log(void *ctx, int level, const char *msg)
{
	struct ctrl_keys *x = ctx;

	/* the client speaks syslog's levels (3 error .. 7 debug); DPDK's are one
	 * more (RTE_LOG_ERR 4 .. RTE_LOG_DEBUG 8) */
	rte_log((uint32_t)level + 1, gvpn_ctrl_logtype, "%s: group %s: %s\n", x->tag,
		x->c->conf.cfg->groups[x->group].name, msg);
}

/* A configured address (IPv4 host order, or IPv6) and port as a socket's. */
void
ctrl_sockaddr(uint8_t af, uint32_t addr, const uint8_t addr6[16], uint16_t port,
	      union gdoi_sockaddr *s)
{
	memset(s, 0, sizeof(*s));
	if (af == GVPN_AF_IPV6) {
		s->in6.sin6_family = AF_INET6;
		memcpy(&s->in6.sin6_addr, addr6, 16);
		s->in6.sin6_port = htons(port);
		return;
	}
	s->in.sin_family = AF_INET;
	s->in.sin_addr.s_addr = htonl(addr);
	s->in.sin_port = htons(port);
}

void
ctrl_keys_ops(struct ctrl_keys *k, struct gdoi_client_ops *ops)
{
	*ops = (struct gdoi_client_ops){.policy = cb_policy,
					.push = cb_push,
					.state = cb_state,
					.has_keys = cb_has_keys,
					.log = cb_log,
					.ctx = k};
}
