/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the worker pipeline: frame parsing, reassembly,
 * flow and rule lookup, SPI lookup, the inner selector check.
 *
 * First input byte: bit 0 picks the direction (0 outbound from the clear
 * port, 1 inbound from the protected port); with bit 1 set on inbound the
 * rest is wrapped as the inner packet of valid ESP first, so the checks
 * after decryption see arbitrary packets. The rest is an Ethernet frame
 * (or, wrapped, an IPv4 packet). Ports are net_null: transmitted frames
 * are freed. The pool holds just enough for a full reassembly table plus a
 * margin, so an mbuf the pipeline leaks soon ends the run with abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "gvpn_ctrl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rte_mempool *pool;
static struct gvpn_worker *w;
static struct gvpn_ctrl *ctrl;
static struct gvpn_config cfg;
static struct gvpn_esp_lcore *peer;
static struct gvpn_esp_sa *peer_sa;
static struct gvpn_esp_sa_state peer_st;

static uint16_t
null_port(const char *name)
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

static void
cleanup(void)
{
	gvpn_ctrl_free(ctrl);
	gvpn_worker_free(w);
	gvpn_esp_sa_free(peer_sa);
	gvpn_esp_lcore_free(peer);
	rte_eal_cleanup();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = {(*argv)[0], "--no-huge", "--no-pci", "--no-shconf", "-l", "0", "-m", "256",
		       "--no-telemetry", "--log-level=*:error", "--vdev", "net_null0", "--vdev",
		       "net_null1"};
	struct gvpn_selector sel = {.src = {0xc0000200, 24}, .dst = {0xc6336400, 24},
				    .sport_hi = 65535, .dport_hi = 65535};
	struct gvpn_selector byp = {.proto = 17, .dport_lo = 848, .dport_hi = 848, .sport_hi = 65535};
	struct gvpn_worker_conf wc = {.burst = 32, .n_pairs = 1, .flows = 1024,
				      .backend = &gvpn_crypto_ipsecmb};
	struct gvpn_ctrl_sa_params sp = {.group = 0};
	struct gvpn_ctrl_conf cc = {.cfg = &cfg, .n_workers = 1, .backend = &gvpn_crypto_ipsecmb};
	int tek, slot;

	(void)argc;
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0)
		abort();
	pool = rte_pktmbuf_pool_create("fuzz", GVPN_FRAG_MBUFS + 1023, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (pool == NULL)
		abort();
	wc.pool = pool;
	wc.pairs[0] = (struct gvpn_pair){.clear = null_port("net_null0"),
					 .prot = null_port("net_null1"),
					 .clear_idx = 0, .prot_idx = 1, .mtu = 1500};
	w = gvpn_worker_create(&wc);
	cfg.n_groups = 1;
	cfg.n_bypass = 1;
	cfg.bypass[0] = byp;
	cfg.groups[0].n_fail_open = 1;
	cfg.groups[0].fail_open[0] = sel;
	cc.workers = &w;
	ctrl = gvpn_ctrl_create(&cc);
	if (w == NULL || ctrl == NULL)
		abort();
	tek = gvpn_ctrl_tek_add(ctrl, 0, &sel, 1);
	sp.tek = (uint16_t)tek;
	sp.esp.spi = 0x1001;
	sp.esp.xform.cipher = GVPN_CIPHER_AES_GCM;
	sp.esp.xform.cipher_key_len = 20;
	slot = gvpn_ctrl_sa_add(ctrl, &sp);
	if (tek < 0 || slot < 0 || gvpn_ctrl_sa_activate(ctrl, (uint16_t)slot) != 0 ||
	    gvpn_ctrl_policy_update(ctrl) != 0)
		abort();
	while (gvpn_ctrl_pending(ctrl) != 0) {
		gvpn_worker_poll(w);
		gvpn_ctrl_poll(ctrl);
	}
	peer = gvpn_esp_lcore_create(&gvpn_crypto_ipsecmb, 0, NULL);
	peer_sa = peer != NULL ? gvpn_esp_sa_create(peer, &sp.esp, 0) : NULL;
	if (peer_sa == NULL)
		abort();
	gvpn_esp_sa_state_init(&peer_st, peer_sa, peer);
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m;
	uint8_t mode;
	char *p;

	if (size < 1 || size > 4000)
		return 0;
	mode = data[0];
	data++;
	size--;
	m = rte_pktmbuf_alloc(pool);
	if (m == NULL)
		abort();
	if ((mode & 3) == 3) {
		/* Ethernet header, then the input as an inner packet sealed in ESP. */
		struct gvpn_esp_sa_state *st[1] = {&peer_st};

		p = rte_pktmbuf_append(m, (uint16_t)(RTE_ETHER_HDR_LEN + size));
		if (p == NULL) {
			rte_pktmbuf_free(m);
			return 0;
		}
		memset(p, 0, 12);
		p[12] = 0x08;
		p[13] = 0x00;
		memcpy(p + RTE_ETHER_HDR_LEN, data, size);
		m->l2_len = RTE_ETHER_HDR_LEN;
		if (gvpn_esp_encrypt_burst(peer, st, &m, 1) != 1) {
			rte_pktmbuf_free(m);
			return 0;
		}
	} else {
		p = rte_pktmbuf_append(m, (uint16_t)size);
		if (p == NULL) {
			rte_pktmbuf_free(m);
			return 0;
		}
		memcpy(p, data, size);
	}
	if (mode & 1)
		gvpn_worker_inbound(w, 0, &m, 1);
	else
		gvpn_worker_outbound(w, 0, &m, 1);
	return 0;
}
