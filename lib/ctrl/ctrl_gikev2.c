/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * G-IKEv2 as a group key protocol of the control core (ctrl_gikev2_ops),
 * chosen by a group's `protocol = "g-ikev2"`: one lib/gikev2 client per
 * group. It reports in lib/gdoi's terms, so what it learns is applied by
 * the same callbacks as GDOI's (ctrl_keys.c); only its settings and its
 * telemetry are its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>

#include "ctrl_private.h"
#include "gvpn_gikev2_client.h"

struct gikev2_ctx {
	struct ctrl_keys k; /* first: the callbacks' context */
	struct gikev2_client *client;
};

/* An IKEv2 identity of the member's address (IPv4 host order, or IPv6). */
static void
local_id(const struct gvpn_gdoi_conf *k, struct ikev2_id *id)
{
	memset(id, 0, sizeof(*id));
	if (k->af == GVPN_AF_IPV6) {
		id->type = IKEV2_ID_IPV6_ADDR;
		id->len = 16;
		memcpy(id->data, k->local_addr6, 16);
		return;
	}
	id->type = IKEV2_ID_IPV4_ADDR;
	id->len = 4;
	ikev2_set32(id->data, k->local_addr);
}

/* The client's settings from group @p gc's configuration (holds the PSK:
 * the caller wipes cc->member). @return 0, or -EINVAL (a proposal the
 * configuration checked no longer parses: cannot happen). */
static int
client_conf(const struct gvpn_group_conf *gc, struct gikev2_client_conf *cc)
{
	const struct gvpn_gdoi_conf *k = &gc->ks;
	const struct gvpn_gikev2_conf *g = &gc->gikev2;
	struct gikev2_conf *m = &cc->member;

	memset(cc, 0, sizeof(*cc));
	cc->n_servers = k->n_servers;
	cc->retry_interval_ms = k->retry_interval_ms;
	cc->retries = k->retries;
	cc->retransmit_ms = 1000;
	for (unsigned int i = 0; i < k->n_servers; i++)
		ctrl_sockaddr(k->af, k->server_addr[i], k->server_addr6[i], k->server_port[i],
			      &cc->servers[i]);
	ctrl_sockaddr(k->af, k->local_addr, k->local_addr6, k->local_port, &cc->local);
	memcpy(m->ike.psk, k->psk, k->psk_len);
	m->ike.psk_len = k->psk_len;
	local_id(k, &m->ike.local_id);
	for (unsigned int i = 0; i < g->n_proposals; i++)
		if (ikev2_proposal_parse(g->proposals[i], 0, &m->ike.props[m->ike.n_props++]) != 0)
			return -EINVAL;
	/* IDg (draft 2.3.1): ID_KEY_ID, the configured text or the group's id
	 * as 4 octets in network order */
	m->group.type = IKEV2_ID_KEY_ID;
	if (g->idg_len != 0) {
		m->group.len = g->idg_len;
		memcpy(m->group.data, g->idg, g->idg_len);
	} else {
		m->group.len = 4;
		ikev2_set32(m->group.data, gc->id);
	}
	m->sender_ids = g->sender_ids;
	m->allow_implicit = g->allow_implicit;
	return 0;
}

static void *
gikev2_create(struct gvpn_ctrl *c, uint8_t g)
{
	const struct gvpn_group_conf *gc = &c->conf.cfg->groups[g];
	struct gikev2_client_conf *cc = gvpn_keymem_alloc(sizeof(*cc));
	struct gdoi_client_ops ops;
	struct gikev2_ctx *x = calloc(1, sizeof(*x));
	int err = 0;

	if (x == NULL || cc == NULL) {
		LOG(ERR, "group %s: no memory for its G-IKEv2 client", gc->name);
		free(x);
		gvpn_keymem_free(cc);
		rte_errno = ENOMEM;
		return NULL;
	}
	*x = (struct gikev2_ctx){.k = {.c = c, .group = g, .tag = "gvpn.gikev2"}};
	ctrl_keys_ops(&x->k, &ops);
	if (client_conf(gc, cc) == 0)
		x->client = gikev2_client_create(cc, &ops);
	else
		errno = EINVAL;
	err = errno; /* lib/gikev2 knows nothing of DPDK */
	gvpn_wipe(cc, sizeof(*cc));
	gvpn_keymem_free(cc);
	if (x->client == NULL) {
		LOG(ERR, "group %s: G-IKEv2 client not created: %s", gc->name, strerror(err));
		free(x);
		rte_errno = err;
		return NULL;
	}
	return x;
}

static void
gikev2_poll(void *client, uint64_t now_ms)
{
	struct gikev2_ctx *x = client;

	gikev2_client_poll(x->client, now_ms);
}

static int64_t
at_ms(int64_t in_ms, uint64_t now_ms)
{
	return in_ms < 0 ? -1 : (int64_t)now_ms + in_ms;
}

static void
gikev2_info(const void *client, uint64_t now_ms, struct gvpn_group_info *i)
{
	const struct gikev2_ctx *x = client;
	struct gikev2_client_info ci;
	struct gvpn_gikev2_info *v = &i->gikev2;

	gikev2_client_info(x->client, now_ms, &ci);
	snprintf(i->server, sizeof(i->server), "%s", ci.server);
	snprintf(i->last_error, sizeof(i->last_error), "%s", ci.last_error);
	i->rekey_at_ms = at_ms(ci.rekey_in_ms, now_ms);
	i->registrations = ci.registrations;
	i->failures = ci.failures;
	i->has_kek = 0; /* the rekey SA is lib/gikev2's: i->gikev2.rk */
	i->push_seq = ci.rekey_msgid;
	i->kek_expires_at_ms = -1;
	i->ike_expires_at_ms = -1;
	i->pushes = ci.rekeys + ci.inband_rekeys;
	i->rx_datagrams = ci.rx_datagrams;
	i->rx_drops[GDOI_RX_DROP_NOT_KEY_SERVER] = ci.rx_not_key_server;
	i->rx_socket_full = ci.rx_socket_full;
	i->rx_polls_full = ci.rx_polls_full;
	memcpy(i->push_group, ci.push_group, sizeof(i->push_group));
	i->push_group_failures = ci.push_group_failures;
	i->last_registration_at = ci.registered_at;
	i->last_rekey_at = ci.pushed_at;
	i->n_servers = ci.n_servers;
	memcpy(i->servers, ci.servers, sizeof(i->servers));
	memcpy(i->local_address, ci.local, sizeof(i->local_address));
	i->local_bound = ci.local_bound;
	v->member_state = ci.member_state;
	v->ike_state = ci.ike_state;
	memcpy(v->ike_spi_i, ci.ike_spi_i, sizeof(v->ike_spi_i));
	memcpy(v->ike_spi_r, ci.ike_spi_r, sizeof(v->ike_spi_r));
	v->ike_suite = ci.ike_suite;
	v->ike_next_msgid = ci.ike_next_msgid;
	v->ike_peer_msgid = ci.ike_peer_msgid;
	v->rk = ci.rk;
	v->rekey_sa_expires_at_ms = at_ms(ci.rekey_sa_expires_in_ms, now_ms);
	v->rekeys = ci.rekeys;
	v->inband_rekeys = ci.inband_rekeys;
	v->deletes = ci.deletes;
	memcpy(v->drops, ci.drops, sizeof(v->drops));
	v->n_sids = ci.n_sids;
}

static int
gikev2_ctrl_request(void *client, enum ctrl_request req, uint64_t now_ms)
{
	struct gikev2_ctx *x = client;

	if (req != CTRL_REQ_REGISTER)
		return -ENOTSUP;
	gikev2_client_start(x->client, now_ms);
	return 0;
}

static int
gikev2_reconf(void *client)
{
	struct gikev2_ctx *x = client;
	struct gikev2_client_conf *cc = gvpn_keymem_alloc(sizeof(*cc));
	int rc;

	if (cc == NULL)
		return -ENOMEM;
	rc = client_conf(&x->k.c->conf.cfg->groups[x->k.group], cc);
	if (rc == 0)
		rc = gikev2_client_reconf(x->client, cc);
	gvpn_wipe(cc, sizeof(*cc));
	gvpn_keymem_free(cc);
	return rc;
}

static void
gikev2_free(void *client)
{
	struct gikev2_ctx *x = client;

	if (x == NULL)
		return;
	gikev2_client_free(x->client);
	free(x);
}

static void
gikev2_debug(void *client, int on)
{
	struct gikev2_ctx *x = client;

	gikev2_client_set_debug(x->client, on);
}

static int
gikev2_leave_start(void *client, uint64_t now_ms)
{
	struct gikev2_ctx *x = client;

	return gikev2_client_leave(x->client, now_ms);
}

static int
gikev2_leaving(const void *client)
{
	const struct gikev2_ctx *x = client;

	return gikev2_client_leaving(x->client);
}

const struct ctrl_proto_ops ctrl_gikev2_ops = {
    .name = "g-ikev2",
    .create = gikev2_create,
    .poll = gikev2_poll,
    .info = gikev2_info,
    .request = gikev2_ctrl_request,
    .reconf = gikev2_reconf,
    .debug = gikev2_debug,
    .leave = gikev2_leave_start,
    .leaving = gikev2_leaving,
    .free = gikev2_free,
};
