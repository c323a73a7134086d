/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "fuzz_dp.h"

static uint16_t
null_port(const char *name, struct rte_mempool *pool)
{
	struct rte_eth_conf conf = {0};
	uint16_t p;

	if (rte_eth_dev_get_port_by_name(name, &p) != 0 ||
	    rte_eth_dev_configure(p, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(p, 0, 256, 0, NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(p, 0, 256, 0, NULL) != 0 || rte_eth_dev_start(p) != 0)
		abort();
	return p;
}

void
fz_dp_start(struct fz_dp *dp, const char *argv0, unsigned int n_mbufs,
	    const struct gvpn_config *cfg)
{
	char *eal[] = {(char *)(uintptr_t)argv0,
		       "--no-huge",
		       "--no-pci",
		       "--no-shconf",
		       "-l",
		       "0",
		       "-m",
		       "256",
		       "--no-telemetry",
		       "--log-level=*:error",
		       "--vdev",
		       "net_null0",
		       "--vdev",
		       "net_null1"};
	struct gvpn_worker_conf wc = {
	    .burst = 32, .n_pairs = 1, .flows = 1024, .backend = &gvpn_crypto_ipsecmb};
	struct gvpn_ctrl_conf cc = {.cfg = cfg, .n_workers = 1, .backend = &gvpn_crypto_ipsecmb};

	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0)
		abort();
	dp->pool = rte_pktmbuf_pool_create("fuzz", n_mbufs, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (dp->pool == NULL)
		abort();
	wc.pool = dp->pool;
	for (uint16_t i = 0; i < cfg->n_ports && i < 2; i++) {
		if (cfg->ports[i].address == 0)
			continue;
		if (dp->punt == NULL)
			dp->punt =
			    rte_ring_create("fuzz_punt", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (dp->punt == NULL)
			abort();
		wc.punt_port[i].address = rte_cpu_to_be_32(cfg->ports[i].address);
		wc.punt_port[i].rate = cfg->ports[i].punt_rate;
	}
	wc.punt = dp->punt;
	wc.pairs[0] = (struct gvpn_pair){.clear = null_port("net_null0", dp->pool),
					 .prot = null_port("net_null1", dp->pool),
					 .clear_idx = 0,
					 .prot_idx = 1,
					 .mtu = 1500};
	/* the same ports under a protected MTU that leaves less than IPv6's
	 * minimum MTU (1280): small IPv6 packets are fragmented there */
	wc.pairs[1] = wc.pairs[0];
	wc.pairs[1].mtu = 1300;
	wc.n_pairs = 2;
	wc.ipv6_too_big = cfg->ipv6_too_big;
	dp->w = gvpn_worker_create(&wc);
	cc.workers = &dp->w;
	dp->ctrl = gvpn_ctrl_create(&cc);
	if (dp->w == NULL || dp->ctrl == NULL)
		abort();
}

struct gvpn_ctrl_sa_params
fz_dp_add_sa(struct fz_dp *dp, uint8_t g, uint32_t spi, const struct gvpn_selector *sel)
{
	struct gvpn_ctrl_sa_params sp = {.group = g};
	int tek = gvpn_ctrl_tek_add(dp->ctrl, g, sel, 1), slot;

	sp.tek = (uint16_t)tek;
	sp.esp.spi = spi;
	sp.esp.xform.cipher = GVPN_CIPHER_AES_GCM;
	sp.esp.xform.cipher_key_len = 20;
	slot = gvpn_ctrl_sa_add(dp->ctrl, &sp);
	if (tek < 0 || slot < 0 || gvpn_ctrl_sa_activate(dp->ctrl, (uint16_t)slot) != 0)
		abort();
	return sp;
}

unsigned int
fz_dp_drain_punt(struct fz_dp *dp)
{
	void *m;
	unsigned int n = 0;

	while (dp->punt != NULL && rte_ring_sc_dequeue(dp->punt, &m) == 0) {
		rte_pktmbuf_free(m);
		n++;
	}
	return n;
}

void
fz_dp_settle(struct fz_dp *dp)
{
	while (gvpn_ctrl_pending(dp->ctrl) != 0) {
		gvpn_worker_poll(dp->w);
		gvpn_ctrl_poll(dp->ctrl);
	}
}

void
fz_dp_stop(struct fz_dp *dp)
{
	gvpn_ctrl_free(dp->ctrl);
	gvpn_worker_free(dp->w);
	fz_dp_drain_punt(dp);
	rte_ring_free(dp->punt);
	rte_eal_cleanup();
}
