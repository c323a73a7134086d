/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GDOI as a group key protocol of the control core (ctrl_gdoi_ops): one
 * registration client per group with key servers. What the key server says
 * becomes SA and rule changes in ctrl_keys.c (R13-R17, R24), shared with
 * G-IKEv2, through the control core's calls in ctrl_private.h alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>

#include "ctrl_private.h"
#include "gvpn_gdoi_client.h"

/* One group's client and what its callbacks get. */
struct gdoi_ctx {
	struct ctrl_keys k; /* first: the callbacks' context */
	struct gdoi_client *client;
};

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
		ctrl_sockaddr(k->af, k->server_addr[i], k->server_addr6[i], k->server_port[i],
			      &cc->servers[i]);
	ctrl_sockaddr(k->af, k->local_addr, k->local_addr6, k->local_port, &cc->local);
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
	struct gdoi_client_ops ops;
	struct gdoi_ctx *x = calloc(1, sizeof(*x));
	int err;

	if (x == NULL) {
		LOG(ERR, "group %s: no memory for its GDOI client", gc->name);
		rte_errno = ENOMEM;
		return NULL;
	}
	*x = (struct gdoi_ctx){.k = {.c = c, .group = g, .tag = "gvpn.gdoi"}};
	ctrl_keys_ops(&x->k, &ops);
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

	client_conf(&x->k.c->conf.cfg->groups[x->k.group], &cc);
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
