/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GDOI as a group key protocol of the control core (ctrl_gdoi_ops): one
 * registration client per group with key servers, and the translation of
 * what the key server says into SA and rule changes (R13-R17, R24), made
 * through the control core's calls in ctrl_private.h alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>

#include "ctrl_private.h"
#include "gvpn_gdoi_client.h"

/* Encryption moves to a new TEK when the old one has this long left (R17). */
#define SWITCH_BEFORE_EXPIRY_S 30

/* One group's client and what its callbacks get. */
struct gdoi_ctx {
	struct gdoi_client *client;
	struct gvpn_ctrl *c;
	uint8_t group;
	uint16_t atd, dtd;	/* the group's GAP, as the key server last sent it */
	uint16_t replay_window; /* time-based anti-replay window (R23), seconds */
};

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
install_teks(struct gdoi_ctx *x, const struct gdoi_policy *pol, uint16_t atd, uint64_t now,
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
	struct gdoi_ctx *x = ctx;
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
	struct gdoi_ctx *x = ctx;
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
	struct gdoi_ctx *x = ctx;

	for (uint16_t s = 0; s < GVPN_MAX_SA_SLOTS; s++)
		if (ctrl_live(x->c, s) != NULL && x->c->sa[s].rt->group == x->group)
			return 1;
	return 0;
}

static void
cb_state(void *ctx, enum gdoi_client_state st, const char *error)
{
	struct gdoi_ctx *x = ctx;
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
	struct gdoi_ctx *x = ctx;

	/* the client speaks syslog's levels (3 error .. 7 debug); DPDK's are one
	 * more (RTE_LOG_ERR 4 .. RTE_LOG_DEBUG 8) */
	rte_log((uint32_t)level + 1, gvpn_ctrl_logtype, "gvpn.gdoi: group %s: %s\n",
		x->c->conf.cfg->groups[x->group].name, msg);
}

/* A configured address (IPv4 host order, or IPv6) and port as a socket's. */
static void
sockaddr_of(uint8_t af, uint32_t addr, const uint8_t addr6[16], uint16_t port,
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

/* The client's settings from group @p gc's configuration (holds the PSK:
 * the caller wipes cc->ike). */
static void
client_conf(const struct gvpn_group_conf *gc, struct gdoi_client_conf *cc)
{
	const struct gvpn_gdoi_conf *k = &gc->ks;

	*cc = (struct gdoi_client_conf){.group_id = gc->id,
					.n_servers = k->n_servers,
					.retry_interval_ms = k->retry_interval_ms,
					.retries = k->retries,
					.retransmit_ms = 1000};
	/* one family for the group's socket, its key servers and its
	 * phase-1 identity (the configuration refuses a mix) */
	for (unsigned int i = 0; i < k->n_servers; i++)
		sockaddr_of(k->af, k->server_addr[i], k->server_addr6[i], k->server_port[i],
			    &cc->servers[i]);
	sockaddr_of(k->af, k->local_addr, k->local_addr6, k->local_port, &cc->local);
	memcpy(cc->ike.psk, k->psk, k->psk_len);
	cc->ike.psk_len = k->psk_len;
	cc->ike.local_addr = k->local_addr;
	cc->ike.local_ipv6 = k->af == GVPN_AF_IPV6;
	memcpy(cc->ike.local_addr6, k->local_addr6, sizeof(cc->ike.local_addr6));
	cc->ike.doi = GDOI_DOI;
	cc->habits =
	    k->habits == GVPN_KS_HABITS_REFERENCE ? GDOI_HABITS_REFERENCE : GDOI_HABITS_STRICT;
	cc->ike.n_props = k->n_phase1;
	for (unsigned int i = 0; i < k->n_phase1; i++)
		cc->ike.props[i] = (struct ike_proposal){.enc = k->phase1[i].enc,
							 .key_bits = k->phase1[i].key_bits,
							 .hash = k->phase1[i].hash,
							 .group = k->phase1[i].group,
							 .lifetime = k->phase1_lifetime};
}

static void *
gdoi_create(struct gvpn_ctrl *c, uint8_t g)
{
	const struct gvpn_group_conf *gc = &c->conf.cfg->groups[g];
	struct gdoi_client_conf cc;
	struct gdoi_client_ops ops = {.policy = cb_policy,
				      .push = cb_push,
				      .state = cb_state,
				      .has_keys = cb_has_keys,
				      .log = cb_log};
	struct gdoi_ctx *x = calloc(1, sizeof(*x));
	int err;

	if (x == NULL) {
		LOG(ERR, "group %s: no memory for its GDOI client", gc->name);
		rte_errno = ENOMEM;
		return NULL;
	}
	*x = (struct gdoi_ctx){.c = c, .group = g};
	ops.ctx = x;
	client_conf(gc, &cc);
	x->client = gdoi_client_create(&cc, &ops);
	gvpn_wipe(&cc.ike, sizeof(cc.ike));
	if (x->client == NULL) {
		err = errno; /* lib/gdoi knows nothing of DPDK */
		LOG(ERR, "group %s: GDOI client not created: %s", gc->name, strerror(err));
		free(x);
		rte_errno = err;
		return NULL;
	}
	return x;
}

static void
gdoi_poll(void *client, uint64_t now_ms)
{
	struct gdoi_ctx *x = client;

	gdoi_client_poll(x->client, now_ms);
}

static void
gdoi_info(const void *client, uint64_t now_ms, struct gvpn_group_info *i)
{
	const struct gdoi_ctx *x = client;
	struct gdoi_client_info ci;

	gdoi_client_info(x->client, now_ms, &ci);
	snprintf(i->server, sizeof(i->server), "%s", ci.server);
	snprintf(i->last_error, sizeof(i->last_error), "%s", ci.last_error);
	i->rekey_at_ms = ci.rekey_in_ms < 0 ? -1 : (int64_t)now_ms + ci.rekey_in_ms;
	i->registrations = ci.registrations;
	i->failures = ci.failures;
	i->has_kek = ci.has_kek;
	i->push_seq = ci.seq;
	i->kek_expires_at_ms =
	    ci.kek_expires_in_ms < 0 ? -1 : (int64_t)now_ms + ci.kek_expires_in_ms;
	i->pushes = ci.pushes;
	i->acks_sent = ci.acks_sent;
	memcpy(i->push_drops, ci.push_drops, sizeof(i->push_drops));
	i->unauth_notifies = ci.unauth_notifies;
	i->rx_datagrams = ci.rx_datagrams;
	memcpy(i->rx_drops, ci.rx_drops, sizeof(i->rx_drops));
	i->rx_socket_full = ci.rx_socket_full;
	i->rx_polls_full = ci.rx_polls_full;
	memcpy(i->push_group, ci.push_group, sizeof(i->push_group));
	i->push_group_failures = ci.push_group_failures;
	memcpy(i->kek_spi, ci.kek_spi, sizeof(i->kek_spi));
	i->kek_alg = ci.kek_alg;
	i->kek_key_bits = ci.kek_key_bits;
	i->kek_sig_hash = ci.kek_sig_hash;
	i->kek_sig_alg = ci.kek_sig_alg;
	i->kek_sig_key_bits = ci.kek_sig_key_bits;
	i->kek_lifetime_s = ci.kek_lifetime_s;
	i->ike_state = ci.ike_state;
	memcpy(i->ike_icookie, ci.ike_icookie, sizeof(i->ike_icookie));
	memcpy(i->ike_rcookie, ci.ike_rcookie, sizeof(i->ike_rcookie));
	i->ike = ci.ike_chosen;
	i->ike_expires_at_ms =
	    ci.ike_expires_in_ms < 0 ? -1 : (int64_t)now_ms + ci.ike_expires_in_ms;
	i->last_registration_at = ci.registered_at;
	i->last_rekey_at = ci.pushed_at;
	i->n_servers = ci.n_servers;
	memcpy(i->servers, ci.servers, sizeof(i->servers));
	memcpy(i->local_address, ci.local, sizeof(i->local_address));
	i->local_bound = ci.local_bound;
}

static int
gdoi_request(void *client, enum ctrl_request req, uint64_t now_ms)
{
	struct gdoi_ctx *x = client;

	if (req != CTRL_REQ_REGISTER)
		return -ENOTSUP;
	gdoi_client_start(x->client, now_ms);
	return 0;
}

/* The group's configuration changed in what the next attempt uses alone. */
static int
gdoi_reconf(void *client)
{
	struct gdoi_ctx *x = client;
	struct gdoi_client_conf cc;
	int rc;

	client_conf(&x->c->conf.cfg->groups[x->group], &cc);
	rc = gdoi_client_reconf(x->client, &cc);
	gvpn_wipe(&cc.ike, sizeof(cc.ike));
	return rc;
}

static void
gdoi_free(void *client)
{
	struct gdoi_ctx *x = client;

	if (x == NULL)
		return;
	gdoi_client_free(x->client); /* closes its socket, wipes its keys */
	free(x);
}

static void
gdoi_debug(void *client, int on)
{
	struct gdoi_ctx *x = client;

	gdoi_client_set_debug(x->client, on);
}

const struct ctrl_proto_ops ctrl_gdoi_ops = {
    .name = "gdoi",
    .create = gdoi_create,
    .poll = gdoi_poll,
    .info = gdoi_info,
    .request = gdoi_request,
    .reconf = gdoi_reconf,
    .debug = gdoi_debug,
    .free = gdoi_free,
};
