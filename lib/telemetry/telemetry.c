/* SPDX-License-Identifier: BSD-3-Clause */
#include <assert.h>
#include <ctype.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_cycles.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_telemetry.h>
#include <rte_version.h>

#include "gvpn_host.h"
#include "gvpn_telemetry.h"

/*
 * Telemetry callbacks take no context argument. DPDK runs them on a thread
 * per client connection: they read the control core's published snapshot
 * (gvpn_ctrl_snapshot_get), counters that workers own, and the ports as
 * they were at start (tc_ports: a reload cannot change them), never the
 * control core's live tables or the live configuration, which a reload
 * rewrites. tc.cfg is read by gvpn_telemetry_poll() alone (control core).
 */
static struct gvpn_telemetry_conf tc;
static struct gvpn_port_conf tc_ports[GVPN_MAX_PORTS];
static uint16_t tc_n_ports;
static uint32_t tc_flows;

enum req_type { REQ_FAIL_OPEN, REQ_REGISTER, REQ_SA_CLEAR, REQ_DEBUG };

/*
 * State-changing requests wait here for the control core, one slot per group
 * and kind: a request finding one of its kind already pending for its group
 * is merged into it (the last fail_open value wins; register and clear are
 * idempotent) and counted, so a burst of requests costs the control core one
 * rule-table rebuild or registration per poll, not one each. Telemetry
 * threads (one per client) post, the control core takes; no locks, no
 * allocation.
 */
struct pending {
	atomic_uint kinds;		/* bit (1 << enum req_type) per pending kind */
	atomic_int fail_open;		/* value of the last fail_open request */
	atomic_int debug;		/* value of the last debug request */
	atomic_uint_fast64_t requests;	/* state-changing requests received */
	atomic_uint_fast64_t coalesced; /* of them, merged into a pending one */
};
static struct pending pending[GVPN_MAX_GROUPS];
static uint64_t next_apply; /* control core: pending requests run at most every ms */

/*
 * Cleared counters: /gvpn/counters/clear notes every counter as it is then
 * (the baseline) and readers subtract it; the counters themselves are never
 * written, for workers own theirs. Telemetry threads alone touch the
 * baseline, under a lock that neither workers nor the control core take.
 * An SA's counters are kept with its slot, SPI and installation time: a
 * slot taken by another SA starts from zero. A group's, with its name. A
 * bypass or fail-open rule's hits (all workers), with the rule table
 * generation from which its index was the rule's (gvpn_rule_info.hits_since).
 */
struct sa_base {
	uint32_t spi;
	uint64_t installed; /* 0: no baseline */
	struct gvpn_sa_counters c;
};
struct rule_base {
	uint32_t since; /* 0: no baseline */
	uint64_t hits;
};
struct group_base {
	char name[GVPN_NAME_MAX]; /* "": no baseline */
	struct gvpn_group_info g;
	uint64_t requests, coalesced;
};
static struct {
	pthread_mutex_t lock;
	int64_t cleared_at;	      /* unix time, 0: never */
	struct gvpn_worker_stats *ws; /* [n_workers] */
	struct gvpn_esp_stats *es;    /* [n_workers] */
	struct rte_eth_stats eth[GVPN_MAX_PORTS];
	struct gvpn_host_port_stats host[GVPN_MAX_PORTS];
	struct sa_base *sa; /* [GVPN_MAX_SA_SLOTS] */
	struct group_base group[GVPN_MAX_GROUPS];
	struct rule_base bypass[GVPN_MAX_BYPASS];
	struct rule_base fail_open[GVPN_MAX_GROUPS * GVPN_MAX_FAIL_OPEN]; /* GVPN_FAIL_OPEN_HIT() */
} base = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* @p v less what it was when cleared; a counter that went back (it began
 * again) counts from zero */
static inline uint64_t
since(uint64_t v, uint64_t b)
{
	return v >= b ? v - b : v;
}

static void
sub_u64(uint64_t *v, const uint64_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = since(v[i], b[i]);
}

/* Counters made of uint64_t only: @p v += @p a, each of the @p n. */
static void
sum_u64(uint64_t *v, const uint64_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] += a[i];
}

static int
cmd_version(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "gvpn", GVPN_VERSION);
	rte_tel_data_add_dict_string(d, "dpdk", rte_version());
	return 0;
}

static void
add_u64(struct rte_tel_data *d, const char *name, uint64_t v)
{
	rte_tel_data_add_dict_u64(d, name, v);
}

/* /gvpn/config: the running configuration file and its reloads (R18) */
static int
cmd_config(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct gvpn_ctrl_snapshot *snap = gvpn_ctrl_snapshot_get(tc.ctrl);
	const struct gvpn_config_info *ci = &snap->config;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "file", ci->file);
	add_u64(d, "loaded_at", (uint64_t)ci->loaded_at);
	add_u64(d, "reloads", ci->reloads);
	add_u64(d, "reloads_refused", ci->refused);
	add_u64(d, "last_reload_at", (uint64_t)ci->last_reload_at);
	rte_tel_data_add_dict_string(d, "last_result", ci->last_result);
	rte_tel_data_add_dict_string(d, "last_error", ci->last_error);
	add_u64(d, "groups_unchanged", ci->unchanged);
	add_u64(d, "groups_reregistered", ci->reregistered);
	add_u64(d, "groups_added", ci->added);
	add_u64(d, "groups_removed", ci->removed);
	rte_tel_data_add_dict_string(d, "live_changes", ci->live_changes);
	gvpn_ctrl_snapshot_put(snap);
	pthread_mutex_lock(&base.lock);
	add_u64(d, "counters_cleared_at", (uint64_t)base.cleared_at);
	pthread_mutex_unlock(&base.lock);
	return 0;
}

static void worker_counters(unsigned int w, struct gvpn_worker_stats *ws,
			    struct gvpn_esp_stats *es);

/* A port's own address and its exception path (doc/telemetry.md). */
static void
add_port_host(struct rte_tel_data *e, uint16_t p, const struct gvpn_worker_stats *ws)
{
	const struct gvpn_port_conf *pc = &tc_ports[p];
	struct gvpn_host_port_stats hs;
	uint64_t punted = 0, rate = 0, ring = 0, injected = 0;
	char a[INET_ADDRSTRLEN + 4] = "", g[INET_ADDRSTRLEN] = "";

	if (pc->address != 0) {
		struct in_addr ia = {.s_addr = htonl(pc->address)};

		inet_ntop(AF_INET, &ia, a, INET_ADDRSTRLEN);
		snprintf(a + strlen(a), sizeof(a) - strlen(a), "/%u", pc->prefix_len);
	}
	if (pc->gateway != 0) {
		struct in_addr ia = {.s_addr = htonl(pc->gateway)};

		inet_ntop(AF_INET, &ia, g, sizeof(g));
	}
	gvpn_host_port_stats(tc.host, p, &hs);
	pthread_mutex_lock(&base.lock);
	if (base.cleared_at != 0) {
		hs.delivered = since(hs.delivered, base.host[p].delivered);
		hs.delivery_dropped = since(hs.delivery_dropped, base.host[p].delivery_dropped);
		hs.inject_dropped = since(hs.inject_dropped, base.host[p].inject_dropped);
	}
	pthread_mutex_unlock(&base.lock);
	for (unsigned int w = 0; w < tc.n_workers && w < GVPN_CTRL_MAX_WORKERS; w++) {
		punted += ws[w].port[p].punted;
		rate += ws[w].port[p].punt_rate_dropped;
		ring += ws[w].port[p].punt_ring_full;
		injected += ws[w].port[p].injected;
	}
	rte_tel_data_add_dict_string(e, "address", a);
	rte_tel_data_add_dict_string(e, "gateway", g);
	rte_tel_data_add_dict_string(e, "interface", hs.ifname);
	add_u64(e, "punt_rate", pc->address != 0 ? pc->punt_rate : 0);
	add_u64(e, "punted", punted);
	add_u64(e, "punt_rate_dropped", rate);
	add_u64(e, "punt_ring_full", ring);
	add_u64(e, "punt_delivered", hs.delivered);
	add_u64(e, "punt_delivery_dropped", hs.delivery_dropped);
	add_u64(e, "injected", injected);
	add_u64(e, "injected_dropped", hs.inject_dropped);
}

static int
cmd_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct gvpn_worker_stats ws[GVPN_CTRL_MAX_WORKERS];
	struct gvpn_esp_stats unused;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (unsigned int w = 0; w < tc.n_workers && w < GVPN_CTRL_MAX_WORKERS; w++)
		worker_counters(w, &ws[w], &unused);
	for (uint16_t p = 0; p < tc_n_ports; p++) {
		const struct gvpn_port_conf *pc = &tc_ports[p];
		struct rte_tel_data *e = rte_tel_data_alloc();
		struct rte_eth_stats es;
		struct rte_eth_link link;
		uint64_t rx = 0, rxb = 0, tx = 0, txb = 0, enc = 0, dec = 0;

		if (e == NULL)
			return -ENOMEM;
		for (unsigned int w = 0; w < tc.n_workers && w < GVPN_CTRL_MAX_WORKERS; w++) {
			const struct gvpn_port_stats *s = &ws[w].port[p];

			rx += s->rx_pkts;
			rxb += s->rx_bytes;
			tx += s->tx_pkts;
			txb += s->tx_bytes;
			enc += s->encrypted;
			dec += s->decrypted;
		}
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_string(e, "role",
					     pc->role == GVPN_PORT_CLEAR ? "clear" : "protected");
		rte_tel_data_add_dict_string(e, "device", pc->device);
		rte_tel_data_add_dict_int(e, "port_id", tc.port_ids[p]);
		rte_tel_data_add_dict_string(e, "peer", tc_ports[pc->peer].name);
		rte_tel_data_add_dict_int(e, "mtu", pc->mtu);
		if (rte_eth_link_get_nowait(tc.port_ids[p], &link) == 0) {
			rte_tel_data_add_dict_string(e, "link", link.link_status ? "up" : "down");
			add_u64(e, "speed_mbps",
				link.link_status && link.link_speed != RTE_ETH_SPEED_NUM_UNKNOWN
				    ? link.link_speed
				    : 0);
			rte_tel_data_add_dict_string(e, "duplex",
						     !link.link_status	? ""
						     : link.link_duplex ? "full"
									: "half");
		}
		add_u64(e, "rx_packets", rx);
		add_u64(e, "rx_bytes", rxb);
		add_u64(e, "tx_packets", tx);
		add_u64(e, "tx_bytes", txb);
		add_u64(e, "encrypted", enc);
		add_u64(e, "decrypted", dec);
		if (rte_eth_stats_get(tc.port_ids[p], &es) == 0) {
			pthread_mutex_lock(&base.lock);
			if (base.cleared_at != 0) {
				es.imissed = since(es.imissed, base.eth[p].imissed);
				es.ierrors = since(es.ierrors, base.eth[p].ierrors);
				es.rx_nombuf = since(es.rx_nombuf, base.eth[p].rx_nombuf);
				es.oerrors = since(es.oerrors, base.eth[p].oerrors);
			}
			pthread_mutex_unlock(&base.lock);
			add_u64(e, "rx_missed", es.imissed);
			add_u64(e, "rx_errors", es.ierrors);
			add_u64(e, "rx_nombuf", es.rx_nombuf);
			add_u64(e, "tx_errors", es.oerrors);
		}
		add_port_host(e, p, ws);
		rte_tel_data_add_dict_container(d, pc->name, e, 0);
	}
	return 0;
}

/* Every field of the counter structs is a uint64_t: they are arrays. */
#define N_WS (sizeof(struct gvpn_worker_stats) / sizeof(uint64_t))
#define N_ES (sizeof(struct gvpn_esp_stats) / sizeof(uint64_t))
static_assert(sizeof(struct gvpn_worker_stats) % sizeof(uint64_t) == 0, "not all uint64_t");
static_assert(sizeof(struct gvpn_esp_stats) % sizeof(uint64_t) == 0, "not all uint64_t");

/* Worker @p w's counters since they were last cleared. */
static void
worker_counters(unsigned int w, struct gvpn_worker_stats *ws, struct gvpn_esp_stats *es)
{
	memcpy(ws, gvpn_worker_stats(tc.workers[w]), sizeof(*ws));
	memcpy(es, gvpn_worker_esp_stats(tc.workers[w]), sizeof(*es));
	pthread_mutex_lock(&base.lock);
	if (base.cleared_at != 0) {
		sub_u64((uint64_t *)ws, (const uint64_t *)&base.ws[w], N_WS);
		sub_u64((uint64_t *)es, (const uint64_t *)&base.es[w], N_ES);
	}
	pthread_mutex_unlock(&base.lock);
}

/* Add worker @p w's counters (since cleared) to @p ws and @p es. */
static void
sum_stats(struct gvpn_worker_stats *ws, struct gvpn_esp_stats *es, unsigned int w)
{
	struct gvpn_worker_stats a;
	struct gvpn_esp_stats b;

	worker_counters(w, &a, &b);
	sum_u64((uint64_t *)ws, (const uint64_t *)&a, N_WS);
	sum_u64((uint64_t *)es, (const uint64_t *)&b, N_ES);
}

#define N_SC (sizeof(struct gvpn_sa_counters) / sizeof(uint64_t))
static_assert(sizeof(struct gvpn_sa_counters) % sizeof(uint64_t) == 0, "not all uint64_t");

/* The counters of SA slot @p slot, every worker's summed. */
static void
sa_sum(uint16_t slot, struct gvpn_sa_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int w = 0; w < tc.n_workers; w++) {
		struct gvpn_sa_counters one;

		gvpn_worker_sa_counters(tc.workers[w], slot, &one);
		sum_u64((uint64_t *)out, (const uint64_t *)&one, N_SC);
	}
}

/* An SA's counters, every worker, since cleared (while it is the SA
 * installed in its slot then). */
static void
sa_counters(const struct gvpn_sa_info *sa, struct gvpn_sa_counters *out)
{
	sa_sum(sa->slot, out);
	pthread_mutex_lock(&base.lock);
	if (base.sa != NULL && base.sa[sa->slot].installed == sa->installed &&
	    base.sa[sa->slot].spi == sa->spi && sa->installed != 0)
		sub_u64((uint64_t *)out, (const uint64_t *)&base.sa[sa->slot].c, N_SC);
	pthread_mutex_unlock(&base.lock);
}

/* A group's key servers' counts since cleared: each server's baseline is
 * its own, found by address (a reload may have moved it in the list). */
static void
servers_since(struct gvpn_group_info *g, const struct gvpn_group_info *b)
{
	for (unsigned int k = 0; k < g->n_servers && k < GDOI_MAX_SERVERS; k++)
		for (unsigned int j = 0; j < b->n_servers && j < GDOI_MAX_SERVERS; j++)
			if (strcmp(g->servers[k].addr, b->servers[j].addr) == 0) {
				g->servers[k].failures =
				    since(g->servers[k].failures, b->servers[j].failures);
				g->servers[k].registrations =
				    since(g->servers[k].registrations, b->servers[j].registrations);
				break;
			}
}

#define N_RH (sizeof(struct gvpn_rule_hits) / sizeof(uint64_t))
static_assert(sizeof(struct gvpn_rule_hits) % sizeof(uint64_t) == 0, "not all uint64_t");

/* The rule hits of every worker, summed. */
static void
hits_sum(struct gvpn_rule_hits *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int w = 0; w < tc.n_workers; w++) {
		struct gvpn_rule_hits one;

		gvpn_worker_rule_hits(tc.workers[w], &one);
		sum_u64((uint64_t *)out, (const uint64_t *)&one, N_RH);
	}
}

/* A bypass or fail-open rule's hits in @p h, and where its baseline is. */
static uint64_t
rule_hit(const struct gvpn_rule_hits *h, const struct gvpn_rule_info *r, struct rule_base **b)
{
	unsigned int i;

	if (r->kind == GVPN_RULE_KIND_BYPASS) {
		i = r->index % GVPN_MAX_BYPASS;
		*b = &base.bypass[i];
		return h->bypass[i];
	}
	i = GVPN_FAIL_OPEN_HIT(r->group % GVPN_MAX_GROUPS, r->index % GVPN_MAX_FAIL_OPEN);
	*b = &base.fail_open[i];
	return h->fail_open[i];
}

/* Packets a bypass or fail-open rule passed (@p sum: every worker's hits),
 * since cleared while the rule held its index. */
static uint64_t
rule_hits(const struct gvpn_rule_hits *sum, const struct gvpn_rule_info *r)
{
	struct rule_base *b;
	uint64_t n = rule_hit(sum, r, &b);

	pthread_mutex_lock(&base.lock);
	if (b->since != 0 && b->since == r->hits_since)
		n = since(n, b->hits);
	pthread_mutex_unlock(&base.lock);
	return n;
}

/* Group @p i of @p snap, its counters since cleared (its states, times and
 * SEQ as they are). */
static void
group_counters(const struct gvpn_ctrl_snapshot *snap, unsigned int i, struct gvpn_group_info *g,
	       uint64_t *requests, uint64_t *coalesced)
{
	*g = snap->group[i];
	gvpn_telemetry_group_requests((uint8_t)i, requests, coalesced);
	pthread_mutex_lock(&base.lock);
	if (base.group[i].name[0] != '\0' && strcmp(base.group[i].name, g->name) == 0) {
		const struct gvpn_group_info *b = &base.group[i].g;

		g->registrations = since(g->registrations, b->registrations);
		g->failures = since(g->failures, b->failures);
		g->pushes = since(g->pushes, b->pushes);
		g->acks_sent = since(g->acks_sent, b->acks_sent);
		sub_u64(g->push_drops, b->push_drops, GDOI_PUSH_DROP_MAX);
		g->sa_install_failures = since(g->sa_install_failures, b->sa_install_failures);
		g->unauth_notifies = since(g->unauth_notifies, b->unauth_notifies);
		g->rx_datagrams = since(g->rx_datagrams, b->rx_datagrams);
		sub_u64(g->rx_drops, b->rx_drops, GDOI_RX_DROP_MAX);
		g->rx_socket_full = since(g->rx_socket_full, b->rx_socket_full);
		g->rx_polls_full = since(g->rx_polls_full, b->rx_polls_full);
		g->push_group_failures = since(g->push_group_failures, b->push_group_failures);
		servers_since(g, b);
		*requests = since(*requests, base.group[i].requests);
		*coalesced = since(*coalesced, base.group[i].coalesced);
	}
	pthread_mutex_unlock(&base.lock);
}

static void
lcore_dict(struct rte_tel_data *e, const struct gvpn_worker_stats *s,
	   const struct gvpn_esp_stats *es)
{
	char name[64];

	add_u64(e, "encrypted", s->encrypted);
	add_u64(e, "decrypted", s->decrypted);
	add_u64(e, "bypassed", s->bypassed);
	add_u64(e, "fail_open", s->fail_open);
	add_u64(e, "l2_passed", s->l2_passed);
	add_u64(e, "fragments_out", s->fragments_out);
	add_u64(e, "reassembled", s->reassembled);
	add_u64(e, "icmp_sent", s->icmp_sent);
	add_u64(e, "messages", s->msgs);
	for (int r = 0; r < GVPN_DROP_MAX; r++) {
		snprintf(name, sizeof(name), "drop_%s", gvpn_worker_drop_id(r));
		add_u64(e, name, s->drop[r]);
	}
	for (int r = 0; r < GVPN_ESP_DROP_MAX; r++) {
		snprintf(name, sizeof(name), "drop_esp_%s", gvpn_esp_drop_id(r));
		add_u64(e, name, es->drop[r]);
	}
}

/* A refusal the client can read, instead of a bare null. */
static int
refuse(struct rte_tel_data *d, const char *why)
{
	rte_tel_data_add_dict_string(d, "error", why);
	return 0;
}

static int
cmd_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct gvpn_worker_stats total = {0};
	struct gvpn_esp_stats total_esp = {0};
	struct rte_tel_data *e;
	int only_total = params != NULL && strcmp(params, "total") == 0;

	(void)cmd;
	rte_tel_data_start_dict(d);
	if (params != NULL && *params != '\0' && !only_total)
		return refuse(d, "the only parameter is 'total'");
	/* the total first: a reply too long for the output buffer loses its
	 * last entries, never the sum */
	for (unsigned int w = 0; w < tc.n_workers; w++)
		sum_stats(&total, &total_esp, w);
	e = rte_tel_data_alloc();
	if (e == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(e);
	lcore_dict(e, &total, &total_esp);
	rte_tel_data_add_dict_container(d, "total", e, 0);
	for (unsigned int w = 0; w < tc.n_workers && !only_total; w++) {
		struct gvpn_worker_stats one = {0};
		struct gvpn_esp_stats one_esp = {0};
		char name[32];

		sum_stats(&one, &one_esp, w);
		e = rte_tel_data_alloc();
		if (e == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(e);
		lcore_dict(e, &one, &one_esp);
		snprintf(name, sizeof(name), "lcore_%u", tc.worker_lcores[w]);
		rte_tel_data_add_dict_container(d, name, e, 0);
	}
	return 0;
}

/* Seconds from @p now_ms to @p at_ms: -1 none, 0 past. */
static int refuse_group(struct rte_tel_data *d, const struct gvpn_ctrl_snapshot *snap,
			const char *name);
static const char *direction_name(enum gvpn_direction dir);

static int
seconds_to(int64_t at_ms, uint64_t now_ms)
{
	if (at_ms < 0)
		return -1;
	return (uint64_t)at_ms > now_ms ? (int)(((uint64_t)at_ms - now_ms) / 1000) : 0;
}

static const char *
protocol_name(const struct gvpn_group_info *g)
{
	return g->protocol == GVPN_GROUP_PROTO_GIKEV2 ? "g-ikev2" : "gdoi";
}

/* A G-IKEv2 group's rekeys and the messages it refused, by reason. */
static void
gikev2_counters(struct rte_tel_data *e, const struct gvpn_group_info *g)
{
	add_u64(e, "rekeys", g->gikev2.rekeys);
	add_u64(e, "inband_rekeys", g->gikev2.inband_rekeys);
	add_u64(e, "deletes", g->gikev2.deletes);
	for (int r = 0; r < GIKEV2_DROP_MAX; r++) {
		char key[48];

		snprintf(key, sizeof(key), "rekey_drop_%s", gikev2_drop_id((enum gikev2_drop)r));
		add_u64(e, key, g->gikev2.drops[r]);
	}
}

static int
groups_dict(const struct gvpn_ctrl_snapshot *snap, struct rte_tel_data *d)
{
	uint64_t req, merged, now_ms = gvpn_ctrl_clock_ms();

	for (unsigned int i = 0; i < snap->n_groups; i++) {
		struct rte_tel_data *e = rte_tel_data_alloc();
		struct gvpn_group_info one;
		const struct gvpn_group_info *g = &one;

		if (e == NULL)
			return -ENOMEM;
		group_counters(snap, i, &one, &req, &merged);
		rte_tel_data_start_dict(e);
		add_u64(e, "id", g->id);
		rte_tel_data_add_dict_string(e, "state", gvpn_group_state_name(g->state));
		rte_tel_data_add_dict_string(e, "fail_open", g->fail_open ? "on" : "off");
		rte_tel_data_add_dict_int(e, "fail_open_rules", g->n_fail_open_rules);
		rte_tel_data_add_dict_int(e, "sas", g->n_sas);
		add_u64(e, "sa_install_failures", g->sa_install_failures);
		if (g->gdoi) {
			rte_tel_data_add_dict_string(e, "protocol", protocol_name(g));
			rte_tel_data_add_dict_string(e, "debug", g->debug ? "on" : "off");
			rte_tel_data_add_dict_string(e, "key_server", g->server);
			rte_tel_data_add_dict_string(e, "last_error", g->last_error);
			rte_tel_data_add_dict_int(e, "rekey_in_s",
						  seconds_to(g->rekey_at_ms, now_ms));
			add_u64(e, "registrations", g->registrations);
			add_u64(e, "failures", g->failures);
			add_u64(e, "last_registration_at", (uint64_t)g->last_registration_at);
			add_u64(e, "last_rekey_at", (uint64_t)g->last_rekey_at);
			rte_tel_data_add_dict_string(e, "local_address", g->local_address);
			rte_tel_data_add_dict_string(e, "kek", g->has_kek ? "yes" : "no");
			rte_tel_data_add_dict_int(e, "kek_expires_in_s",
						  seconds_to(g->kek_expires_at_ms, now_ms));
			add_u64(e, "push_seq", g->push_seq);
			rte_tel_data_add_dict_string(e, "push_group", g->push_group);
			add_u64(e, "push_group_failures", g->push_group_failures);
			add_u64(e, "sender_id", g->sid); /* with 0 bits: none */
			rte_tel_data_add_dict_int(e, "sender_id_bits", g->sid_bits);
			add_u64(e, "pushes", g->pushes);
			add_u64(e, "acks_sent", g->acks_sent);
			for (int r = 0; r < GDOI_PUSH_DROP_MAX; r++) {
				char key[48];

				snprintf(key, sizeof(key), "push_drop_%s",
					 gdoi_push_drop_id((enum gdoi_push_drop)r));
				add_u64(e, key, g->push_drops[r]);
			}
			add_u64(e, "unauth_notifies", g->unauth_notifies);
			add_u64(e, "rx_datagrams", g->rx_datagrams);
			for (int r = 0; r < GDOI_RX_DROP_MAX; r++) {
				char key[48];

				snprintf(key, sizeof(key), "rx_drop_%s",
					 gdoi_rx_drop_id((enum gdoi_rx_drop)r));
				add_u64(e, key, g->rx_drops[r]);
			}
			add_u64(e, "rx_drop_socket_full", g->rx_socket_full);
			add_u64(e, "rx_polls_full", g->rx_polls_full);
			if (g->protocol == GVPN_GROUP_PROTO_GIKEV2)
				gikev2_counters(e, g);
		}
		add_u64(e, "requests", req);
		add_u64(e, "requests_coalesced", merged);
		rte_tel_data_add_dict_container(d, g->name, e, 0);
	}
	return 0;
}

static int
cmd_groups(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct gvpn_ctrl_snapshot *snap = gvpn_ctrl_snapshot_get(tc.ctrl);
	int rc;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rc = groups_dict(snap, d);
	gvpn_ctrl_snapshot_put(snap);
	return rc;
}

static const char *
kek_alg_name(uint8_t alg)
{
	switch (alg) {
	case KEK_ALG_DES:
		return "des-cbc";
	case KEK_ALG_3DES:
		return "3des-cbc";
	case KEK_ALG_AES:
		return "aes-cbc";
	default:
		return "unknown";
	}
}

static const char *
sig_hash_name(uint8_t h)
{
	switch (h) {
	case SIG_HASH_SHA1:
		return "sha1";
	case SIG_HASH_SHA256:
		return "sha256";
	case SIG_HASH_SHA384:
		return "sha384";
	case SIG_HASH_SHA512:
		return "sha512";
	default:
		return "unknown";
	}
}

static const char *
ike_enc_name(uint8_t enc)
{
	switch (enc) {
	case IKE_ENC_DES:
		return "des";
	case IKE_ENC_3DES:
		return "3des";
	case IKE_ENC_AES:
		return "aes";
	default:
		return "unknown";
	}
}

static const char *
ike_hash_name(uint8_t h)
{
	switch (h) {
	case IKE_HASH_MD5:
		return "md5";
	case IKE_HASH_SHA1:
		return "sha1";
	case IKE_HASH_SHA256:
		return "sha256";
	default:
		return "unknown";
	}
}

/* Main Mode's steps by the message last sent */
static const char *
ike_state_name(enum ike_state s, int expired)
{
	switch (s) {
	case IKE_IDLE:
		return "none";
	case IKE_MM_SENT1:
		return "mm_sent1";
	case IKE_MM_SENT3:
		return "mm_sent3";
	case IKE_MM_SENT5:
		return "mm_sent5";
	case IKE_ESTABLISHED:
		return expired ? "expired" : "established";
	case IKE_FAILED:
		return "failed";
	default:
		return "unknown";
	}
}

static void
add_hex(struct rte_tel_data *d, const char *name, const uint8_t *p, size_t n)
{
	char hex[2 * 16 + 1];

	for (size_t i = 0; i < n && i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", p[i]);
	hex[2 * RTE_MIN(n, (size_t)16)] = '\0';
	rte_tel_data_add_dict_string(d, name, hex);
}

/* /gvpn/kek of a G-IKEv2 group: its rekey SA (GIKE_UPDATE), its replay
 * floor and its rekeys; no keys */
static void
gikev2_kek_dict(struct rte_tel_data *e, const struct gvpn_group_info *g, uint64_t now_ms)
{
	const struct gvpn_gikev2_info *v = &g->gikev2;
	char alg[96];

	rte_tel_data_add_dict_string(e, "protocol", "g-ikev2");
	rte_tel_data_add_dict_string(e, "kek", v->rk.held ? "yes" : "no");
	if (v->rk.held) {
		add_hex(e, "spi", v->rk.spi, sizeof(v->rk.spi));
		ikev2_suite_format(&v->rk.suite, alg, sizeof(alg));
		rte_tel_data_add_dict_string(e, "algorithm", alg);
		rte_tel_data_add_dict_string(e, "authentication",
					     v->rk.gcauth == GIKEV2_GCAUTH_IMPLICIT ? "implicit"
										    : "signature");
		add_u64(e, "lifetime_s", v->rk.lifetime_s);
		/* replay protection (draft 2.4.1.4): the lowest message ID accepted */
		add_u64(e, "next_msgid", v->rk.next_msgid);
	}
	rte_tel_data_add_dict_int(e, "expires_in_s", seconds_to(v->rekey_sa_expires_at_ms, now_ms));
	add_u64(e, "pushes", g->pushes);
	add_u64(e, "last_seq", g->push_seq);
	gikev2_counters(e, g);
	rte_tel_data_add_dict_string(e, "push_group", g->push_group);
	add_u64(e, "push_group_failures", g->push_group_failures);
}

static const char *
ikev2_state_name(enum ikev2_state s)
{
	static const char *const names[] = {"idle",	   "init_sent", "auth_sent", "established",
					    "delete_sent", "deleted",	"failed"};

	return (unsigned int)s < RTE_DIM(names) ? names[s] : "?";
}

/* /gvpn/ike of a G-IKEv2 group: the IKEv2 SA with its current key server */
static void
gikev2_ike_dict(struct rte_tel_data *e, const struct gvpn_group_info *g)
{
	const struct gvpn_gikev2_info *v = &g->gikev2;
	char alg[96];

	rte_tel_data_add_dict_string(e, "protocol", "g-ikev2");
	rte_tel_data_add_dict_string(e, "key_server", g->server);
	rte_tel_data_add_dict_string(e, "state", ikev2_state_name(v->ike_state));
	rte_tel_data_add_dict_string(e, "member_state", gikev2_state_name(v->member_state));
	add_hex(e, "spi_i", v->ike_spi_i, sizeof(v->ike_spi_i));
	add_hex(e, "spi_r", v->ike_spi_r, sizeof(v->ike_spi_r));
	if (v->ike_state == IKEV2_ESTABLISHED) {
		ikev2_suite_format(&v->ike_suite, alg, sizeof(alg));
		rte_tel_data_add_dict_string(e, "algorithms", alg);
		rte_tel_data_add_dict_string(e, "auth", "psk");
		rte_tel_data_add_dict_int(e, "dh_group", v->ike_suite.dh);
	}
	add_u64(e, "next_msgid", v->ike_next_msgid);
	add_u64(e, "peer_msgid", v->ike_peer_msgid);
}

/* /gvpn/kek: a key-server group's rekey SA (KEK) and its pushes; no keys */
static void
kek_dict(struct rte_tel_data *e, const struct gvpn_group_info *g, uint64_t now_ms)
{
	char alg[32];

	if (g->protocol == GVPN_GROUP_PROTO_GIKEV2) {
		gikev2_kek_dict(e, g, now_ms);
		return;
	}

	rte_tel_data_add_dict_string(e, "kek", g->has_kek ? "yes" : "no");
	if (g->has_kek) {
		add_hex(e, "spi", g->kek_spi, sizeof(g->kek_spi));
		snprintf(alg, sizeof(alg), "%s-%u", kek_alg_name(g->kek_alg), g->kek_key_bits);
		rte_tel_data_add_dict_string(e, "algorithm", alg);
		rte_tel_data_add_dict_string(e, "sig_hash", sig_hash_name(g->kek_sig_hash));
		rte_tel_data_add_dict_string(e, "sig_algorithm",
					     g->kek_sig_alg == SIG_ALG_RSA ? "rsa" : "unknown");
		rte_tel_data_add_dict_int(e, "sig_key_bits", g->kek_sig_key_bits);
		add_u64(e, "lifetime_s", g->kek_lifetime_s);
	}
	rte_tel_data_add_dict_int(e, "expires_in_s", seconds_to(g->kek_expires_at_ms, now_ms));
	add_u64(e, "pushes", g->pushes);
	add_u64(e, "last_seq", g->push_seq);
	add_u64(e, "acks_sent", g->acks_sent);
	for (int r = 0; r < GDOI_PUSH_DROP_MAX; r++) {
		char key[48];

		snprintf(key, sizeof(key), "push_drop_%s",
			 gdoi_push_drop_id((enum gdoi_push_drop)r));
		add_u64(e, key, g->push_drops[r]);
	}
	rte_tel_data_add_dict_string(e, "push_group", g->push_group);
	add_u64(e, "push_group_failures", g->push_group_failures);
}

/* /gvpn/ike: a key-server group's phase-1 SA with its current key server */
static void
ike_dict(struct rte_tel_data *e, const struct gvpn_group_info *g, uint64_t now_ms)
{
	int left = seconds_to(g->ike_expires_at_ms, now_ms);
	char enc[32];

	if (g->protocol == GVPN_GROUP_PROTO_GIKEV2) {
		gikev2_ike_dict(e, g);
		return;
	}

	rte_tel_data_add_dict_string(e, "key_server", g->server);
	rte_tel_data_add_dict_string(e, "state", ike_state_name(g->ike_state, left == 0));
	add_hex(e, "icookie", g->ike_icookie, sizeof(g->ike_icookie));
	add_hex(e, "rcookie", g->ike_rcookie, sizeof(g->ike_rcookie));
	if (g->ike_state == IKE_ESTABLISHED) {
		if (g->ike.key_bits != 0)
			snprintf(enc, sizeof(enc), "%s-%u", ike_enc_name(g->ike.enc),
				 g->ike.key_bits);
		else
			snprintf(enc, sizeof(enc), "%s", ike_enc_name(g->ike.enc));
		rte_tel_data_add_dict_string(e, "encryption", enc);
		rte_tel_data_add_dict_string(e, "hash", ike_hash_name(g->ike.hash));
		rte_tel_data_add_dict_string(e, "auth", "psk");
		rte_tel_data_add_dict_int(e, "dh_group", g->ike.group);
		add_u64(e, "lifetime_s", g->ike.lifetime);
	}
	rte_tel_data_add_dict_int(e, "expires_in_s", left);
}

/* /gvpn/keyservers: a key-server group's key servers, "1" to "4" in the
 * order of preference, each with its status as the member last saw it;
 * the member's own address (its socket's) and the current key server */
static void
keyservers_dict(struct rte_tel_data *e, const struct gvpn_group_info *g, uint64_t now_ms)
{
	(void)now_ms;
	rte_tel_data_add_dict_string(e, "local_address", g->local_address);
	rte_tel_data_add_dict_string(e, "local_bound", g->local_bound ? "yes" : "no");
	rte_tel_data_add_dict_string(e, "key_server", g->server);
	for (unsigned int k = 0; k < g->n_servers && k < GDOI_MAX_SERVERS; k++) {
		const struct gdoi_server_info *ks = &g->servers[k];
		struct rte_tel_data *one = rte_tel_data_alloc();
		char name[12];

		if (one == NULL) {
			rte_tel_data_add_dict_string(e, "error", "no memory for every key server");
			return;
		}
		rte_tel_data_start_dict(one);
		rte_tel_data_add_dict_string(one, "address", ks->addr);
		rte_tel_data_add_dict_string(one, "status", gdoi_server_status_name(ks->status));
		add_u64(one, "registrations", ks->registrations);
		add_u64(one, "registered_at", (uint64_t)ks->registered_at);
		add_u64(one, "failures", ks->failures);
		add_u64(one, "failed_at", (uint64_t)ks->failed_at);
		rte_tel_data_add_dict_string(one, "error", ks->error);
		snprintf(name, sizeof(name), "%u", k + 1);
		rte_tel_data_add_dict_container(e, name, one, 0);
	}
}

typedef void (*group_dict_fn)(struct rte_tel_data *e, const struct gvpn_group_info *g,
			      uint64_t now_ms);

/* One entry per key-server group, or the one @p params names. */
static int
gdoi_groups(struct rte_tel_data *d, const char *params, group_dict_fn fn)
{
	const struct gvpn_ctrl_snapshot *snap = gvpn_ctrl_snapshot_get(tc.ctrl);
	uint64_t now_ms = gvpn_ctrl_clock_ms();
	int only = -1, rc = 0;

	rte_tel_data_start_dict(d);
	if (params != NULL && *params != '\0') {
		only = gvpn_ctrl_snapshot_group_find(snap, params);
		if (only < 0) {
			refuse_group(d, snap, params);
			goto out;
		}
		if (!snap->group[only].gdoi) {
			char msg[RTE_TEL_MAX_STRING_LEN];

			snprintf(msg, sizeof(msg), "group '%.40s' has no key servers (static keys)",
				 params);
			refuse(d, msg);
			goto out;
		}
	}
	for (unsigned int i = 0; i < snap->n_groups; i++) {
		struct gvpn_group_info one;
		uint64_t req, merged;
		struct rte_tel_data *e;

		if (!snap->group[i].gdoi || (only >= 0 && (unsigned int)only != i))
			continue;
		e = rte_tel_data_alloc();
		if (e == NULL) {
			rc = -ENOMEM;
			break;
		}
		rte_tel_data_start_dict(e);
		group_counters(snap, i, &one, &req, &merged);
		fn(e, &one, now_ms);
		rte_tel_data_add_dict_container(d, snap->group[i].name, e, 0);
	}
out:
	gvpn_ctrl_snapshot_put(snap);
	return rc;
}

static int
cmd_kek(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	return gdoi_groups(d, params, kek_dict);
}

static int
cmd_ike(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	return gdoi_groups(d, params, ike_dict);
}

static int
cmd_keyservers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	return gdoi_groups(d, params, keyservers_dict);
}

/* Rules per /gvpn/policy reply: what fits DPDK's telemetry output buffer. */
#define POLICY_PAGE 48

/* A selector's prefix of family @p af: "10.1.0.0/16", "2001:db8:1::/48", or
 * "any" for a rule of either family (it names no address). */
static void
add_prefix(struct rte_tel_data *d, const char *name, uint8_t af, const struct gvpn_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 4];

	if (af == GVPN_AF_IPV6) {
		inet_ntop(AF_INET6, p->addr6, buf, INET6_ADDRSTRLEN);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%u", p->len);
	} else if (af == GVPN_AF_ANY) {
		snprintf(buf, sizeof(buf), "any");
	} else {
		snprintf(buf, sizeof(buf), "%u.%u.%u.%u/%u", p->addr >> 24, (p->addr >> 16) & 0xff,
			 (p->addr >> 8) & 0xff, p->addr & 0xff, p->len);
	}
	rte_tel_data_add_dict_string(d, name, buf);
}

static void
add_ports(struct rte_tel_data *d, const char *name, uint16_t lo, uint16_t hi)
{
	char buf[16];

	if (lo == 0 && hi == UINT16_MAX)
		snprintf(buf, sizeof(buf), "any");
	else if (lo == hi)
		snprintf(buf, sizeof(buf), "%u", lo);
	else
		snprintf(buf, sizeof(buf), "%u-%u", lo, hi);
	rte_tel_data_add_dict_string(d, name, buf);
}

static const char *const rule_kind_names[] = {
    [GVPN_RULE_KIND_BYPASS] = "bypass",
    [GVPN_RULE_KIND_TEK] = "tek",
    [GVPN_RULE_KIND_FAIL_OPEN] = "fail_open",
};

/* A TEK policy's SAs (their SPIs) and the packets they carried, all workers. */
static void
tek_sas(struct rte_tel_data *e, const struct gvpn_ctrl_snapshot *snap, uint16_t tek)
{
	char spis[RTE_TEL_MAX_STRING_LEN];
	struct gvpn_sa_counters c;
	uint64_t pkts = 0, enc = 0;
	int n = 0;

	spis[0] = '\0';
	for (unsigned int i = 0; i < snap->n_sas; i++) {
		const struct gvpn_sa_info *sa = &snap->sa[i];

		if (sa->tek != tek || sa->state == GVPN_SA_DELETING)
			continue;
		if (n >= 0 && (size_t)n < sizeof(spis))
			n += snprintf(spis + n, sizeof(spis) - (size_t)n, "%s0x%08x", n ? " " : "",
				      sa->spi);
		sa_counters(sa, &c);
		pkts += c.enc_pkts + c.dec_pkts;
		enc += c.enc_pkts;
	}
	rte_tel_data_add_dict_string(e, "spis", spis);
	add_u64(e, "packets", pkts);
	add_u64(e, "hits", enc); /* the packets that chose it: its SAs encrypted them */
}

static void
rule_dict(struct rte_tel_data *e, const struct gvpn_ctrl_snapshot *snap,
	  const struct gvpn_rule_info *r, const struct gvpn_rule_hits *hits)
{
	const struct gvpn_group_info *g = &snap->group[r->group % GVPN_MAX_GROUPS];

	rte_tel_data_add_dict_string(
	    e, "kind", r->kind < RTE_DIM(rule_kind_names) ? rule_kind_names[r->kind] : "unknown");
	rte_tel_data_add_dict_string(e, "group", r->kind == GVPN_RULE_KIND_BYPASS ? "" : g->name);
	add_prefix(e, "src", r->sel.af, &r->sel.src);
	add_prefix(e, "dst", r->sel.af, &r->sel.dst);
	rte_tel_data_add_dict_string(e, "family",
				     r->sel.af == GVPN_AF_IPV6	? "ipv6"
				     : r->sel.af == GVPN_AF_ANY ? "any"
								: "ipv4");
	rte_tel_data_add_dict_int(e, "protocol", r->sel.proto);
	add_ports(e, "src_port", r->sel.sport_lo, r->sel.sport_hi);
	add_ports(e, "dst_port", r->sel.dport_lo, r->sel.dport_hi);
	/* the innermost 802.1Q tag's VLAN ID the rule matches; 0: any and untagged */
	add_u64(e, "vlan", r->sel.vlan);
	/* bypass and fail-open rules hold both ways; a TEK policy when mirrored */
	rte_tel_data_add_dict_int(e, "both_ways", r->kind != GVPN_RULE_KIND_TEK || r->mirrored);
	if (r->kind == GVPN_RULE_KIND_TEK) {
		rte_tel_data_add_dict_string(e, "direction", direction_name(g->direction));
		tek_sas(e, snap, r->tek);
		return;
	}
	if (r->kind == GVPN_RULE_KIND_FAIL_OPEN)
		rte_tel_data_add_dict_string(e, "active", g->fail_open ? "yes" : "no");
	rte_tel_data_add_dict_int(e, "index", r->index);
	add_u64(e, "hits", rule_hits(hits, r));
}

/* /gvpn/policy[,GROUP][,START]: the rules in force, POLICY_PAGE from the
 * START-th (of the group's, or of all); each named by its rank, from 1. */
static int
cmd_policy(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct gvpn_ctrl_snapshot *snap;
	struct gvpn_rule_hits hits;
	char buf[64], *tok, *save = NULL;
	const char *group = NULL;
	unsigned long start = 0, seen = 0;
	int only = -1, rc = 0;

	(void)cmd;
	rte_tel_data_start_dict(d);
	if (params != NULL && strlen(params) >= sizeof(buf))
		return refuse(d, "parameters: [<group>][,<first rule>]");
	snprintf(buf, sizeof(buf), "%s", params != NULL ? params : "");
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *end;

		if (isdigit((unsigned char)*tok)) {
			errno = 0;
			start = strtoul(tok, &end, 10);
			if (errno != 0 || *end != '\0')
				return refuse(d, "parameters: [<group>][,<first rule>]");
		} else if (group == NULL && start == 0) {
			group = tok;
		} else {
			return refuse(d, "parameters: [<group>][,<first rule>]");
		}
	}
	snap = gvpn_ctrl_snapshot_get(tc.ctrl);
	if (group != NULL) {
		only = gvpn_ctrl_snapshot_group_find(snap, group);
		if (only < 0) {
			refuse_group(d, snap, group);
			goto out;
		}
	}
	hits_sum(&hits);
	for (unsigned int i = 0; i < snap->n_rules && seen < start + POLICY_PAGE; i++) {
		const struct gvpn_rule_info *r = &snap->rule[i];
		struct rte_tel_data *e;
		char name[16];

		if (only >= 0 && (r->kind == GVPN_RULE_KIND_BYPASS || r->group != only))
			continue;
		if (seen++ < start)
			continue;
		e = rte_tel_data_alloc();
		if (e == NULL) {
			rc = -ENOMEM;
			break;
		}
		rte_tel_data_start_dict(e);
		rule_dict(e, snap, r, &hits);
		snprintf(name, sizeof(name), "%u", i + 1);
		rte_tel_data_add_dict_container(d, name, e, 0);
	}
out:
	gvpn_ctrl_snapshot_put(snap);
	return rc;
}

/* SAs per /gvpn/sa reply: what fits DPDK's telemetry output buffer. */
#define SA_PAGE 40

static const char *
direction_name(enum gvpn_direction dir)
{
	return dir == GVPN_DIR_INBOUND ? "inbound" : dir == GVPN_DIR_OUTBOUND ? "outbound" : "both";
}

/* An SA's "drops": its packets dropped, by reason as /gvpn/lcores names them
 * without "drop_" (esp_bad_icv, inner_policy): the reasons that counted any. */
static int
sa_drops(struct rte_tel_data *e, const struct gvpn_sa_counters *c)
{
	struct rte_tel_data *d = rte_tel_data_alloc();
	char name[48];

	if (d == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(d);
	for (int r = 0; r < GVPN_ESP_DROP_MAX; r++) {
		if (c->drop[r] == 0)
			continue;
		snprintf(name, sizeof(name), "esp_%s", gvpn_esp_drop_id(r));
		add_u64(d, name, c->drop[r]);
	}
	if (c->inner_policy != 0)
		add_u64(d, gvpn_worker_drop_id(GVPN_DROP_INNER_POLICY), c->inner_policy);
	rte_tel_data_add_dict_container(e, "drops", d, 0);
	return 0;
}

static int
sa_dict(const struct gvpn_ctrl_snapshot *snap, unsigned long start, struct rte_tel_data *d)
{
	uint64_t now = rte_get_tsc_cycles(), hz = rte_get_tsc_hz();

	for (unsigned long i = start; i < snap->n_sas && i < start + SA_PAGE; i++) {
		const struct gvpn_sa_info *sa = &snap->sa[i];
		const struct gvpn_group_info *g = &snap->group[sa->group % GVPN_MAX_GROUPS];
		struct rte_tel_data *e = rte_tel_data_alloc();
		int64_t remaining = sa->expires == 0	? -1
				    : sa->expires > now ? (int64_t)((sa->expires - now) / hz)
							: 0;
		struct gvpn_sa_counters c;
		char name[16], alg[64];

		if (e == NULL)
			return -ENOMEM;
		/* counters the workers own, summed per lcore */
		sa_counters(sa, &c);
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_string(e, "group", g->name);
		rte_tel_data_add_dict_string(e, "state", gvpn_sa_state_name(sa->state));
		snprintf(alg, sizeof(alg), "%s-%u", gvpn_cipher_name(sa->cipher), sa->key_bits);
		rte_tel_data_add_dict_string(e, "cipher", alg);
		rte_tel_data_add_dict_string(e, "auth", gvpn_auth_name(sa->auth));
		rte_tel_data_add_dict_string(e, "direction", direction_name(g->direction));
		rte_tel_data_add_dict_int(e, "remaining_s", (int)RTE_MIN(remaining, INT32_MAX));
		add_u64(e, "packets", c.enc_pkts + c.dec_pkts);
		add_u64(e, "bytes", c.enc_bytes + c.dec_bytes);
		add_u64(e, "encrypted_packets", c.enc_pkts);
		add_u64(e, "encrypted_bytes", c.enc_bytes);
		add_u64(e, "decrypted_packets", c.dec_pkts);
		add_u64(e, "decrypted_bytes", c.dec_bytes);
		add_u64(e, "installed_at", (uint64_t)sa->installed_at);
		rte_tel_data_add_dict_int(e, "waiting_for_sender_id", sa->wait_sid);
		if (sa_drops(e, &c) != 0) {
			rte_tel_data_free(e);
			return -ENOMEM;
		}
		snprintf(name, sizeof(name), "0x%08x", sa->spi);
		rte_tel_data_add_dict_container(d, name, e, 0);
	}
	return 0;
}

/* /gvpn/sa[,START]: SA_PAGE SAs from the START-th (0 by default); a reply
 * of SA_PAGE entries may have a next page. */
static int
cmd_sa(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct gvpn_ctrl_snapshot *snap;
	unsigned long start = 0;
	int rc;

	(void)cmd;
	rte_tel_data_start_dict(d);
	if (params != NULL && *params != '\0') {
		char *end;

		errno = 0;
		start = strtoul(params, &end, 10);
		if (errno != 0 || *end != '\0' || !isdigit((unsigned char)*params))
			return refuse(d, "the parameter is the index of the first SA to show");
	}
	snap = gvpn_ctrl_snapshot_get(tc.ctrl);
	rc = sa_dict(snap, start, d);
	gvpn_ctrl_snapshot_put(snap);
	return rc;
}

static int
cmd_flows(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint64_t hits = 0, misses = 0, full = 0, count = 0;

	(void)cmd;
	(void)params;
	for (unsigned int w = 0; w < tc.n_workers; w++) {
		struct gvpn_worker_stats s;
		struct gvpn_esp_stats unused;

		worker_counters(w, &s, &unused);
		hits += s.flow_hits;
		misses += s.flow_misses;
		full += s.flow_full;
		count += gvpn_worker_flow_count(tc.workers[w]);
	}
	rte_tel_data_start_dict(d);
	add_u64(d, "flows", count);
	add_u64(d, "capacity", (uint64_t)tc_flows * tc.n_workers);
	add_u64(d, "hits", hits);
	add_u64(d, "misses", misses);
	add_u64(d, "not_cached_table_full", full);
	rte_tel_data_add_dict_int(d, "hit_rate_pct",
				  hits + misses ? (int)(hits * 100 / (hits + misses)) : 0);
	return 0;
}

/* "unknown group 'x' (groups: a, b)" */
static int
refuse_group(struct rte_tel_data *d, const struct gvpn_ctrl_snapshot *snap, const char *name)
{
	char msg[RTE_TEL_MAX_STRING_LEN];
	int n = snprintf(msg, sizeof(msg), "unknown group '%.40s' (groups:", name);

	for (unsigned int g = 0; g < snap->n_groups && n > 0 && (size_t)n < sizeof(msg); g++)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%s %s", g ? "," : "",
			      snap->group[g].name);
	if (n > 0 && (size_t)n < sizeof(msg) - 1)
		snprintf(msg + n, sizeof(msg) - (size_t)n, ")");
	return refuse(d, msg);
}

/* The index of the group named @p name, as telemetry last saw the groups;
 * else a refusal naming them, and -ENOENT. */
static int
find_group(struct rte_tel_data *d, const char *name, int needs_key_servers)
{
	const struct gvpn_ctrl_snapshot *snap = gvpn_ctrl_snapshot_get(tc.ctrl);
	int group = gvpn_ctrl_snapshot_group_find(snap, name);

	if (group < 0) {
		refuse_group(d, snap, name);
	} else if (needs_key_servers && !snap->group[group].gdoi) {
		char msg[RTE_TEL_MAX_STRING_LEN];

		snprintf(msg, sizeof(msg), "group '%.40s' has no key servers", name);
		refuse(d, msg);
		group = -ENOENT;
	}
	gvpn_ctrl_snapshot_put(snap);
	return group;
}

/* Post a request of @p type about @p group (arg: the fail_open value). */
static void
post(int group, enum req_type type, int arg)
{
	struct pending *p = &pending[group];
	unsigned int bit = 1u << type;

	/* before the bit: the control core reads it after */
	if (type == REQ_FAIL_OPEN)
		atomic_store_explicit(&p->fail_open, arg, memory_order_release);
	else if (type == REQ_DEBUG)
		atomic_store_explicit(&p->debug, arg, memory_order_release);
	atomic_fetch_add_explicit(&p->requests, 1, memory_order_relaxed);
	if (atomic_fetch_or_explicit(&p->kinds, bit, memory_order_acq_rel) & bit)
		atomic_fetch_add_explicit(&p->coalesced, 1, memory_order_relaxed);
}

/* Parameters "<group>,on|off" of a group's switch, read into @p buf: the
 * group's index (a key-server group's when @p key_servers) and the state.
 * @return the group's name, or NULL once the refusal is in @p d. */
static const char *
group_switch(struct rte_tel_data *d, const char *params, int key_servers, char *buf, size_t len,
	     int *group, int *on)
{
	char *name, *state, *save = NULL;

	if (params == NULL || strlen(params) >= len) {
		refuse(d, "parameters: <group>,on|off");
		return NULL;
	}
	strcpy(buf, params);
	name = strtok_r(buf, ",", &save);
	state = strtok_r(NULL, ",", &save);
	if (name == NULL || state == NULL || strtok_r(NULL, ",", &save) != NULL) {
		refuse(d, "parameters: <group>,on|off");
		return NULL;
	}
	*group = find_group(d, name, key_servers);
	if (*group < 0)
		return NULL;
	*on = strcmp(state, "on") == 0;
	if (!*on && strcmp(state, "off") != 0) {
		refuse(d, "state must be on or off");
		return NULL;
	}
	return name;
}

/* /gvpn/group/fail_open,<group>,on|off */
static int
cmd_fail_open(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const char *name;
	char buf[64];
	int group, on;

	(void)cmd;
	rte_tel_data_start_dict(d);
	name = group_switch(d, params, 0, buf, sizeof(buf), &group, &on);
	if (name == NULL)
		return 0;
	if (on) { /* a static group's SAs are configured: it never lacks keys */
		const struct gvpn_ctrl_snapshot *snap = gvpn_ctrl_snapshot_get(tc.ctrl);
		int static_group = !snap->group[group].gdoi && snap->group[group].n_sas != 0;

		gvpn_ctrl_snapshot_put(snap);
		if (static_group)
			return refuse(d, "a static group keeps its SAs: fail-open is for a "
					 "group that lost its keys");
	}
	post(group, REQ_FAIL_OPEN, on);
	rte_tel_data_add_dict_string(d, "group", name);
	rte_tel_data_add_dict_string(d, "fail_open", on ? "on" : "off");
	rte_tel_data_add_dict_string(d, "result", "queued");
	return 0;
}

/* /gvpn/group/debug,<group>,on|off */
static int
cmd_debug(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const char *name;
	char buf[64];
	int group, on;

	(void)cmd;
	rte_tel_data_start_dict(d);
	name = group_switch(d, params, 1, buf, sizeof(buf), &group, &on);
	if (name == NULL)
		return 0;
	post(group, REQ_DEBUG, on);
	rte_tel_data_add_dict_string(d, "group", name);
	rte_tel_data_add_dict_string(d, "debug", on ? "on" : "off");
	rte_tel_data_add_dict_string(d, "result", "queued");
	return 0;
}

/* Queue a request about the group named in @p params. */
static int
queue_group_request(struct rte_tel_data *d, const char *params, enum req_type type,
		    int needs_key_servers)
{
	int group;

	rte_tel_data_start_dict(d);
	if (params == NULL)
		return refuse(d, "parameter: <group>");
	group = find_group(d, params, needs_key_servers);
	if (group < 0)
		return 0; /* refused */
	post(group, type, 0);
	rte_tel_data_add_dict_string(d, "group", params);
	rte_tel_data_add_dict_string(d, "result", "queued");
	return 0;
}

struct pool_walk {
	struct rte_tel_data *d;
	int err;
};

static void
pool_dict(struct rte_mempool *mp, void *arg)
{
	struct pool_walk *w = arg;
	struct rte_tel_data *e;
	unsigned int avail;

	if (w->err != 0)
		return;
	e = rte_tel_data_alloc();
	if (e == NULL) {
		w->err = -ENOMEM;
		return;
	}
	/* the ring's count plus every lcore cache: read while workers run,
	 * so a snapshot, good to a burst */
	avail = rte_mempool_avail_count(mp);
	rte_tel_data_start_dict(e);
	add_u64(e, "size", mp->size);
	add_u64(e, "available", avail);
	add_u64(e, "in_use", mp->size > avail ? mp->size - avail : 0);
	rte_tel_data_add_dict_container(w->d, mp->name, e, 0);
}

/* /gvpn/mempools: per mempool, objects in all, available, in use */
static int
cmd_mempools(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct pool_walk w = {.d = d, .err = 0};

	(void)cmd;
	rte_tel_data_start_dict(d);
	if (params != NULL && *params != '\0')
		return refuse(d, "no parameters");
	rte_mempool_walk(pool_dict, &w);
	return w.err;
}

/* The baseline of every bypass and fail-open rule in @p snap, from @p sum
 * (every worker's hits); base.lock held. */
static void
rules_clear(const struct gvpn_ctrl_snapshot *snap, const struct gvpn_rule_hits *sum)
{
	memset(base.bypass, 0, sizeof(base.bypass));
	memset(base.fail_open, 0, sizeof(base.fail_open));
	for (unsigned int i = 0; i < snap->n_rules; i++) {
		const struct gvpn_rule_info *r = &snap->rule[i];
		struct rule_base *b;
		uint64_t n;

		if (r->kind == GVPN_RULE_KIND_TEK)
			continue; /* counted by its SAs */
		n = rule_hit(sum, r, &b);
		b->hits = n;
		b->since = r->hits_since;
	}
}

/* /gvpn/counters/clear: every counter shown counts from zero again (states,
 * lifetimes, SEQ and the like are not counters). Nothing is written but the
 * baseline readers subtract. */
static int
cmd_counters_clear(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct gvpn_ctrl_snapshot *snap;
	int64_t now = (int64_t)time(NULL);
	struct gvpn_rule_hits hits;

	(void)cmd;
	rte_tel_data_start_dict(d);
	if (params != NULL && *params != '\0')
		return refuse(d, "no parameters");
	if (base.ws == NULL || base.es == NULL || base.sa == NULL)
		return refuse(d, "no memory for the counters' baseline");
	snap = gvpn_ctrl_snapshot_get(tc.ctrl);
	hits_sum(&hits);
	pthread_mutex_lock(&base.lock);
	for (unsigned int w = 0; w < tc.n_workers; w++) {
		memcpy(&base.ws[w], gvpn_worker_stats(tc.workers[w]), sizeof(base.ws[w]));
		memcpy(&base.es[w], gvpn_worker_esp_stats(tc.workers[w]), sizeof(base.es[w]));
	}
	for (uint16_t p = 0; p < tc_n_ports; p++) {
		if (rte_eth_stats_get(tc.port_ids[p], &base.eth[p]) != 0)
			memset(&base.eth[p], 0, sizeof(base.eth[p]));
		gvpn_host_port_stats(tc.host, p, &base.host[p]);
	}
	memset(base.sa, 0, GVPN_MAX_SA_SLOTS * sizeof(*base.sa));
	for (unsigned int i = 0; i < snap->n_sas; i++) {
		const struct gvpn_sa_info *sa = &snap->sa[i];
		struct sa_base *b = &base.sa[sa->slot];

		b->spi = sa->spi;
		b->installed = sa->installed;
		sa_sum(sa->slot, &b->c);
	}
	rules_clear(snap, &hits);
	memset(base.group, 0, sizeof(base.group));
	for (unsigned int g = 0; g < snap->n_groups && g < GVPN_MAX_GROUPS; g++) {
		snprintf(base.group[g].name, sizeof(base.group[g].name), "%s", snap->group[g].name);
		base.group[g].g = snap->group[g];
		gvpn_telemetry_group_requests((uint8_t)g, &base.group[g].requests,
					      &base.group[g].coalesced);
	}
	base.cleared_at = now;
	pthread_mutex_unlock(&base.lock);
	gvpn_ctrl_snapshot_put(snap);
	rte_tel_data_add_dict_string(d, "result", "cleared");
	add_u64(d, "cleared_at", (uint64_t)now);
	return 0;
}

/* /gvpn/group/register,<group> */
static int
cmd_register(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	return queue_group_request(d, params, REQ_REGISTER, 1);
}

/* /gvpn/sa/clear,<group> */
static int
cmd_sa_clear(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	return queue_group_request(d, params, REQ_SA_CLEAR, 0);
}

void
gvpn_telemetry_poll(void)
{
	uint64_t now = rte_get_tsc_cycles();

	if (now < next_apply)
		return;
	next_apply = now + rte_get_tsc_hz() / 1000;
	for (uint8_t g = 0; g < tc.cfg->n_groups; g++) {
		unsigned int kinds =
		    atomic_exchange_explicit(&pending[g].kinds, 0, memory_order_acq_rel);

		if (kinds == 0)
			continue;
		if (kinds & 1u << REQ_SA_CLEAR) {
			/* a key-server group registers again, a static one gets
			 * its SAs again */
			gvpn_ctrl_group_sa_clear(tc.ctrl, g);
			kinds &= ~(1u << REQ_REGISTER);
		}
		if (kinds & 1u << REQ_REGISTER)
			gvpn_ctrl_group_register(tc.ctrl, g);
		if (kinds & 1u << REQ_FAIL_OPEN)
			gvpn_ctrl_group_fail_open(
			    tc.ctrl, g,
			    atomic_load_explicit(&pending[g].fail_open, memory_order_acquire));
		if (kinds & 1u << REQ_DEBUG)
			gvpn_ctrl_group_debug(
			    tc.ctrl, g,
			    atomic_load_explicit(&pending[g].debug, memory_order_acquire));
	}
}

void
gvpn_telemetry_group_requests(uint8_t group, uint64_t *requests, uint64_t *coalesced)
{
	*requests = atomic_load_explicit(&pending[group].requests, memory_order_relaxed);
	*coalesced = atomic_load_explicit(&pending[group].coalesced, memory_order_relaxed);
}

/* Every /gvpn/ command, as registered. */
static const struct {
	const char *name;
	telemetry_cb fn;
	const char *help;
} cmds[] = {
    {"/gvpn/version", cmd_version, "gvpn and DPDK versions"},
    {"/gvpn/config", cmd_config,
     "Configuration file, when it was loaded, reloads applied and "
     "refused, the last reload's result"},
    {"/gvpn/ports", cmd_ports, "Per port: role, peer, link, packets and bytes. No parameters"},
    {"/gvpn/lcores", cmd_lcores,
     "Per worker lcore and total: packets and drops by reason. "
     "Params: 'total' for the sum alone"},
    {"/gvpn/groups", cmd_groups, "Per group: state, fail-open, SA count"},
    {"/gvpn/kek", cmd_kek,
     "Per key-server group: the KEK (SPI, algorithms, lifetime) and pushes. Params: <group>"},
    {"/gvpn/ike", cmd_ike,
     "Per key-server group: the phase-1 SA (cookies, state, algorithms). Params: <group>"},
    {"/gvpn/keyservers", cmd_keyservers,
     "Per key-server group: each key server's status, own address. Params: <group>"},
    {"/gvpn/policy", cmd_policy,
     "Rules in force: bypass, TEK policies (SPIs, packets), fail-open; hits. Params: "
     "[<group>][,<first>]"},
    {"/gvpn/sa", cmd_sa,
     "Per SPI: group, algorithms, state, remaining lifetime, "
     "packets, bytes, drops. Params: index of the first SA (40 a page)"},
    {"/gvpn/flows", cmd_flows, "Flow cache entries and hit rate"},
    {"/gvpn/mempools", cmd_mempools, "Per mempool: objects in all, available and in use"},
    {"/gvpn/group/register", cmd_register,
     "Register a group with its key server again now. Parameter: <group>"},
    {"/gvpn/sa/clear", cmd_sa_clear,
     "Delete a group's SAs (a key-server group then registers again). "
     "Parameter: <group>"},
    {"/gvpn/counters/clear", cmd_counters_clear,
     "Count every counter shown from zero again (a baseline read subtracts). No parameters"},
    {"/gvpn/group/fail_open", cmd_fail_open,
     "Put a group in or out of the failed state. Parameters: <group>,on|off"},
    {"/gvpn/group/debug", cmd_debug,
     "Log a key-server group's GDOI/IKE messages in and out (exchange, type, "
     "length; never keys). Parameters: <group>,on|off"},
};

/* Zeroed memory aligned as the cache-aligned counter structs are. */
static void *
zalloc_lines(size_t len)
{
	size_t n = RTE_ALIGN_CEIL(len, RTE_CACHE_LINE_SIZE);
	void *p = aligned_alloc(RTE_CACHE_LINE_SIZE, n);

	if (p != NULL)
		memset(p, 0, n);
	return p;
}

int
gvpn_telemetry_init(const struct gvpn_telemetry_conf *conf)
{
	tc = *conf;
	tc_n_ports = conf->cfg->n_ports;
	memcpy(tc_ports, conf->cfg->ports, sizeof(tc_ports));
	tc_flows = conf->cfg->flows;
	memset(pending, 0, sizeof(pending));
	pthread_mutex_lock(&base.lock);
	free(base.ws);
	free(base.es);
	free(base.sa);
	base.cleared_at = 0;
	memset(base.group, 0, sizeof(base.group));
	memset(base.bypass, 0, sizeof(base.bypass));
	memset(base.fail_open, 0, sizeof(base.fail_open));
	/* without them /gvpn/counters/clear refuses; the rest works */
	base.ws = zalloc_lines(RTE_MAX(conf->n_workers, 1u) * sizeof(*base.ws));
	base.es = zalloc_lines(RTE_MAX(conf->n_workers, 1u) * sizeof(*base.es));
	base.sa = calloc(GVPN_MAX_SA_SLOTS, sizeof(*base.sa));
	pthread_mutex_unlock(&base.lock);
	for (size_t i = 0; i < RTE_DIM(cmds); i++) {
		int rc = rte_telemetry_register_cmd(cmds[i].name, cmds[i].fn, cmds[i].help);

		if (rc != 0)
			return rc; /* -EINVAL, or -ENOENT: DPDK's table is full */
	}
	return 0;
}

void
gvpn_telemetry_fini(void)
{
	for (unsigned int g = 0; g < GVPN_MAX_GROUPS; g++)
		atomic_store(&pending[g].kinds, 0); /* nothing runs after the control core stops */
}
