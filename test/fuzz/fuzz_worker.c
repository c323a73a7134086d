/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the worker pipeline: frame parsing, reassembly,
 * flow and rule lookup, SPI lookup, the inner selector check.
 *
 * First input byte: bit 0 picks the direction (0 outbound from the clear
 * port, 1 inbound from the protected port); with bit 1 set on inbound the
 * rest is wrapped as the inner packet of valid ESP first, so the checks
 * after decryption see arbitrary packets: IPv4 ESP, or with bit 2 set too
 * IPv6 ESP of the IPv6 SA; bit 3 takes the port pair whose protected MTU
 * is 1300 (IPv6 packets too big there of at most 1280 bytes are fragmented
 * before encryption, bigger ones get a Packet Too Big; on the other pair,
 * MTU 1500, IPv6 packets too big get a Packet Too Big). The rest is an Ethernet frame (or, wrapped,
 * an IPv4 or IPv6 packet). The rules: a bypass rule for UDP port 848 of either family, one for
 * UDP port 9999 of either family on VLAN 200, an IPv4
 * group with an SA and fail-open rules for it and for 2001:db8:1::/48 -> 2001:db8:2::/48 (the group
 * has not failed), so that IPv6 frames reach the IPv6 rule context and flow cache. Ports are
 * net_null: transmitted frames are freed. Both ports have an address of the box's own (the clear
 * port 10.9.0.1, the protected port 203.0.113.50, whose group has the key server 203.0.113.1), so
 * ARP for them, and what is addressed to them, takes the exception path: punted within the ports'
 * rates (freed after each input) or counted as dropped. The pool holds just enough for a full
 * reassembly table plus a margin, so an mbuf the pipeline leaks soon ends the run with abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "fuzz_dp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fz_dp dp;
static struct gvpn_config cfg;
static struct gvpn_esp_lcore *peer;
static struct gvpn_esp_sa *peer_sa, *peer_sa6;
static struct gvpn_esp_sa_state peer_st, peer_st6;

static void
cleanup(void)
{
	gvpn_esp_sa_free(peer_sa);
	gvpn_esp_sa_free(peer_sa6);
	gvpn_esp_lcore_free(peer);
	fz_dp_stop(&dp);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gvpn_selector sel = {
	    .src = {0xc0000200, 24}, .dst = {0xc6336400, 24}, .sport_hi = 65535, .dport_hi = 65535};
	struct gvpn_selector byp = {
	    .af = GVPN_AF_ANY, .proto = 17, .dport_lo = 848, .dport_hi = 848, .sport_hi = 65535};
	/* 2001:db8:1::/48 -> 2001:db8:2::/48 */
	struct gvpn_selector sel6 = {.af = GVPN_AF_IPV6,
				     .src = {.len = 48, .addr6 = {0x20, 0x01, 0x0d, 0xb8, 0, 1}},
				     .dst = {.len = 48, .addr6 = {0x20, 0x01, 0x0d, 0xb8, 0, 2}},
				     .sport_hi = 65535,
				     .dport_hi = 65535};
	struct gvpn_ctrl_sa_params sp, sp6;

	(void)argc;
	cfg.n_ports = 2;
	cfg.ports[0].role = GVPN_PORT_CLEAR;
	cfg.ports[0].peer = 1;
	cfg.ports[0].address = 0x0a090001; /* 10.9.0.1 */
	cfg.ports[0].prefix_len = 24;
	cfg.ports[0].punt_rate = 10000;
	cfg.ports[1].role = GVPN_PORT_PROTECTED;
	cfg.ports[1].address = 0xcb007132; /* 203.0.113.50 */
	cfg.ports[1].prefix_len = 24;
	cfg.ports[1].punt_rate = 10000;
	/* a key-server group: its key server's packets have the control budget */
	cfg.groups[1].gdoi = 1;
	cfg.groups[1].ks.n_servers = 1;
	cfg.groups[1].ks.server_addr[0] = 0xcb007101; /* 203.0.113.1 */
	cfg.n_groups = 2;
	cfg.n_bypass = 2;
	cfg.bypass[0] = byp;
	/* VLAN 200's UDP to port 9999, either family */
	byp.dport_lo = byp.dport_hi = 9999;
	byp.vlan = 200;
	cfg.bypass[1] = byp;
	cfg.groups[0].n_fail_open = 2;
	cfg.groups[0].fail_open[0] = sel;
	cfg.groups[0].fail_open[1] = sel6;
	fz_dp_start(&dp, (*argv)[0], GVPN_FRAG_MBUFS + 1023, &cfg);
	sp = fz_dp_add_sa(&dp, 0, 0x1001, &sel);
	sp6 = fz_dp_add_sa(&dp, 0, 0x1002, &sel6);
	sp6.esp.af = GVPN_AF_IPV6;
	if (gvpn_ctrl_policy_update(dp.ctrl) != 0)
		abort();
	fz_dp_settle(&dp);
	peer = gvpn_esp_lcore_create(&gvpn_crypto_ipsecmb, 0, NULL);
	peer_sa = peer != NULL ? gvpn_esp_sa_create(peer, &sp.esp, 0) : NULL;
	peer_sa6 = peer != NULL ? gvpn_esp_sa_create(peer, &sp6.esp, 0) : NULL;
	if (peer_sa == NULL || peer_sa6 == NULL)
		abort();
	gvpn_esp_sa_state_init(&peer_st, peer_sa, peer);
	gvpn_esp_sa_state_init(&peer_st6, peer_sa6, peer);
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
	m = rte_pktmbuf_alloc(dp.pool);
	if (m == NULL)
		abort();
	if ((mode & 3) == 3) {
		/* Ethernet header, then the input as an inner packet sealed in ESP. */
		struct gvpn_esp_sa_state *st[1] = {mode & 4 ? &peer_st6 : &peer_st};

		p = rte_pktmbuf_append(m, (uint16_t)(RTE_ETHER_HDR_LEN + size));
		if (p == NULL) {
			rte_pktmbuf_free(m);
			return 0;
		}
		memset(p, 0, 12);
		p[12] = mode & 4 ? 0x86 : 0x08;
		p[13] = mode & 4 ? 0xdd : 0x00;
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
		gvpn_worker_inbound(dp.w, mode & 8 ? 1 : 0, &m, 1);
	else
		gvpn_worker_outbound(dp.w, mode & 8 ? 1 : 0, &m, 1);
	fz_dp_drain_punt(&dp);
	return 0;
}
