/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exception path, control-core side: the rings between workers and the
 * control core, the kernel interfaces (DPDK's net_tap: reading and writing
 * them are system calls, which only the control core makes), and the
 * moves between them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "host_private.h"

RTE_LOG_REGISTER(gvpn_host_logtype, gvpn.host, INFO);

/* Frames moved per ring and poll, at most: the control core polls about
 * every millisecond, so this is more than a million a second. */
#define POLL_BUDGET 1024
#define BURST 32

struct host_port {
	int active;   /* the port has an address */
	uint16_t tap; /* its kernel interface's DPDK port */
	int tap_started;
	struct rte_ring *inject; /* the kernel's frames, to a worker */
	char ifname[GVPN_NAME_MAX];
	struct gvpn_host_port_stats st;
};

struct gvpn_host {
	struct gvpn_host_conf conf;
	int active;
	unsigned int n_workers;
	struct rte_ring *punt[RTE_MAX_LCORE];
	struct host_port port[GVPN_MAX_PORTS];
};

struct gvpn_host *
gvpn_host_create(const struct gvpn_host_conf *conf)
{
	const struct gvpn_config *cfg = conf->cfg;
	struct gvpn_host *h;
	char name[RTE_RING_NAMESIZE];

	if (conf->n_workers == 0 || conf->n_workers > RTE_MAX_LCORE) {
		rte_errno = EINVAL;
		return NULL;
	}
	h = rte_zmalloc_socket("gvpn_host", sizeof(*h), RTE_CACHE_LINE_SIZE, conf->socket);
	if (h == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	h->conf = *conf;
	h->n_workers = conf->n_workers;
	for (uint16_t i = 0; i < cfg->n_ports; i++) {
		struct host_port *hp = &h->port[i];

		if (cfg->ports[i].address == 0)
			continue;
		hp->active = 1;
		h->active = 1;
		snprintf(hp->ifname, sizeof(hp->ifname), "%s", cfg->ports[i].name);
		snprintf(name, sizeof(name), "gvpn_inject%u", i);
		/* one producer (the control core), one consumer (a worker) */
		hp->inject = rte_ring_create(name, GVPN_HOST_INJECT_RING, conf->socket,
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (hp->inject == NULL)
			goto fail;
	}
	for (unsigned int w = 0; h->active && w < h->n_workers; w++) {
		snprintf(name, sizeof(name), "gvpn_punt%u", w);
		/* one producer (the worker), one consumer (the control core) */
		h->punt[w] = rte_ring_create(name, GVPN_HOST_PUNT_RING, conf->socket,
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (h->punt[w] == NULL)
			goto fail;
	}
	return h;
fail:
	gvpn_host_free(h);
	rte_errno = ENOMEM;
	return NULL;
}

int
gvpn_host_active(const struct gvpn_host *h)
{
	return h != NULL && h->active;
}

struct rte_ring *
gvpn_host_punt_ring(const struct gvpn_host *h, unsigned int w)
{
	return h != NULL && w < h->n_workers ? h->punt[w] : NULL;
}

struct rte_ring *
gvpn_host_inject_ring(const struct gvpn_host *h, uint16_t idx)
{
	return h != NULL && idx < GVPN_MAX_PORTS ? h->port[idx].inject : NULL;
}

/* A net_tap device named after the port, with the port's MAC. */
static int
tap_create(struct gvpn_host *h, uint16_t idx, uint16_t port, struct rte_mempool *pool)
{
	const struct gvpn_port_conf *pc = &h->conf.cfg->ports[idx];
	struct host_port *hp = &h->port[idx];
	struct rte_eth_conf ec = {0};
	struct rte_ether_addr mac;
	char dev[32], args[160], m[RTE_ETHER_ADDR_FMT_SIZE];
	int rc;

	rc = rte_eth_macaddr_get(port, &mac);
	if (rc != 0)
		return rc;
	rte_ether_format_addr(m, sizeof(m), &mac);
	snprintf(dev, sizeof(dev), "net_tap_gvpn%u", idx);
	snprintf(args, sizeof(args), "%s,iface=%s,mac=%s", dev, pc->name, m);
	rc = rte_dev_probe(args);
	if (rc != 0) {
		LOG(ERR, "port %s: kernel interface %s not created (%s): %s", pc->name, pc->name,
		    args, strerror(rc < 0 ? -rc : rc));
		return rc < 0 ? rc : -rc;
	}
	rc = rte_eth_dev_get_port_by_name(dev, &hp->tap);
	if (rc != 0)
		return rc;
	rc = rte_eth_dev_configure(hp->tap, 1, 1, &ec);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(hp->tap, 0, GVPN_HOST_TAP_DESC,
					    (unsigned int)h->conf.socket, NULL, pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(hp->tap, 0, GVPN_HOST_TAP_DESC,
					    (unsigned int)h->conf.socket, NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(hp->tap);
	if (rc != 0) {
		LOG(ERR, "port %s: kernel interface not started: %s", pc->name,
		    strerror(rc < 0 ? -rc : rc));
		return rc;
	}
	hp->tap_started = 1;
	rc = host_if_setup(pc->name, &mac, pc->mtu, pc->address, pc->prefix_len, pc->gateway);
	if (rc != 0)
		return rc;
	{
		struct in_addr a = {.s_addr = htonl(pc->address)},
			       g = {.s_addr = htonl(pc->gateway)};
		char as[INET_ADDRSTRLEN], gs[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &a, as, sizeof(as));
		inet_ntop(AF_INET, &g, gs, sizeof(gs));
		LOG(NOTICE, "port %s: kernel interface %s, %s %s/%u, %s%s, punt rate %u/s",
		    pc->name, pc->name, m, as, pc->prefix_len,
		    pc->gateway ? "default route via " : "routes left to the system",
		    pc->gateway ? gs : "", pc->punt_rate);
	}
	return 0;
}

int
gvpn_host_start(struct gvpn_host *h, const uint16_t *port_ids, struct rte_mempool *pool)
{
	for (uint16_t i = 0; h != NULL && i < h->conf.cfg->n_ports; i++) {
		int rc;

		if (!h->port[i].active)
			continue;
		rc = tap_create(h, i, port_ids[i], pool);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Punted frames to their ports' kernel interfaces. */
static void
deliver(struct gvpn_host *h, struct rte_mbuf *pkts[], unsigned int n)
{
	struct rte_mbuf *by_port[GVPN_MAX_PORTS][BURST];
	uint16_t cnt[GVPN_MAX_PORTS] = {0};

	for (unsigned int i = 0; i < n; i++) {
		uint16_t p = pkts[i]->port;

		if (p >= GVPN_MAX_PORTS || !h->port[p].tap_started) {
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		by_port[p][cnt[p]++] = pkts[i];
	}
	for (uint16_t p = 0; p < GVPN_MAX_PORTS; p++) {
		struct host_port *hp = &h->port[p];
		uint16_t sent;

		if (cnt[p] == 0)
			continue;
		sent = rte_eth_tx_burst(hp->tap, 0, by_port[p], cnt[p]);
		for (uint16_t i = sent; i < cnt[p]; i++)
			rte_pktmbuf_free(by_port[p][i]);
		hp->st.delivered += sent;
		hp->st.delivery_dropped += cnt[p] - sent;
	}
}

void
gvpn_host_poll(struct gvpn_host *h)
{
	struct rte_mbuf *pkts[BURST];

	if (h == NULL || !h->active)
		return;
	for (unsigned int w = 0; w < h->n_workers; w++)
		for (unsigned int moved = 0; moved < POLL_BUDGET;) {
			unsigned int n =
			    rte_ring_sc_dequeue_burst(h->punt[w], (void **)pkts, BURST, NULL);

			if (n == 0)
				break;
			deliver(h, pkts, n);
			moved += n;
		}
	for (uint16_t p = 0; p < GVPN_MAX_PORTS; p++) {
		struct host_port *hp = &h->port[p];

		if (!hp->tap_started)
			continue;
		for (unsigned int moved = 0; moved < POLL_BUDGET;) {
			uint16_t n = rte_eth_rx_burst(hp->tap, 0, pkts, BURST);
			unsigned int q;

			if (n == 0)
				break;
			q = rte_ring_sp_enqueue_burst(hp->inject, (void **)pkts, n, NULL);
			for (uint16_t i = (uint16_t)q; i < n; i++)
				rte_pktmbuf_free(pkts[i]);
			hp->st.from_kernel += q;
			hp->st.inject_dropped += n - q;
			moved += n;
		}
	}
}

void
gvpn_host_port_stats(const struct gvpn_host *h, uint16_t idx, struct gvpn_host_port_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (h == NULL || idx >= GVPN_MAX_PORTS || !h->port[idx].active)
		return;
	*s = h->port[idx].st;
	snprintf(s->ifname, sizeof(s->ifname), "%s",
		 h->port[idx].tap_started ? h->port[idx].ifname : "");
}

static void
ring_free(struct rte_ring *r)
{
	void *m;

	if (r == NULL)
		return;
	while (rte_ring_dequeue(r, &m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(r);
}

void
gvpn_host_free(struct gvpn_host *h)
{
	if (h == NULL)
		return;
	for (uint16_t p = 0; p < GVPN_MAX_PORTS; p++) {
		struct host_port *hp = &h->port[p];

		if (hp->tap_started) {
			rte_eth_dev_stop(hp->tap);
			rte_eth_dev_close(hp->tap); /* removes the kernel interface */
		}
		ring_free(hp->inject);
	}
	for (unsigned int w = 0; w < h->n_workers; w++)
		ring_free(h->punt[w]);
	rte_free(h);
}
