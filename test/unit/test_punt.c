/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exception path in a worker, over ring ports, the worker polled by the
 * test: what is addressed to the protected port's own address (from the
 * rule table the control core builds, and ARP at parse) goes to the punt
 * ring, within the port's rate, counted; the key servers' packets have a
 * budget of their own; other traffic is untouched; the kernel's frames in
 * the inject ring leave on the port.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "test_util.h"
#include "gvpn_ctrl.h"

#define RATE 1000
/* The budget's burst: at least 32 frames, a twentieth of a second's. */
#define BURST_ALLOWED 50

static struct rte_mempool *pool;
static struct rte_ring *clear_rx, *clear_tx, *prot_rx, *prot_tx, *punt, *inject;
static uint16_t clear_port, prot_port;

static const uint32_t OWN = IP4(203, 0, 113, 50), KS = IP4(203, 0, 113, 1),
		      STRANGER = IP4(203, 0, 113, 99), HOST = IP4(192, 0, 2, 10),
		      NEW_KS = IP4(203, 0, 113, 2);

static struct rte_ring *
ring(const char *name, unsigned int flags)
{
	struct rte_ring *r = rte_ring_create(name, 1024, SOCKET_ID_ANY, flags);

	if (r == NULL)
		abort();
	return r;
}

static uint16_t
ring_port(const char *name, struct rte_ring *rx, struct rte_ring *tx)
{
	int p = rte_eth_from_rings(name, &rx, 1, &tx, 1, SOCKET_ID_ANY);
	struct rte_eth_conf conf = {0};

	if (p < 0 || rte_eth_dev_configure((uint16_t)p, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup((uint16_t)p, 0, 1024, SOCKET_ID_ANY, NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup((uint16_t)p, 0, 1024, SOCKET_ID_ANY, NULL) != 0 ||
	    rte_eth_dev_start((uint16_t)p) != 0)
		abort();
	return (uint16_t)p;
}

static struct rte_mbuf *
udp_packet(uint32_t src, uint32_t dst, uint16_t dport)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = m != NULL ? (uint8_t *)rte_pktmbuf_append(m, 14 + 20 + 8 + 16) : NULL;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;

	if (p == NULL)
		abort();
	memset(p, 0, 14 + 20 + 8 + 16);
	memset(p, 0x02, 12);
	p[12] = 0x08;
	ip = (struct rte_ipv4_hdr *)(p + 14);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(20 + 8 + 16);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = rte_cpu_to_be_16(848);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16(8 + 16);
	return m;
}

static struct rte_mbuf *
arp_request(uint32_t target)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = m != NULL ? (uint8_t *)rte_pktmbuf_append(m, 14 + 28) : NULL;
	struct rte_arp_hdr *a;

	if (p == NULL)
		abort();
	memset(p, 0xff, 6);
	memset(p + 6, 0x02, 6);
	p[12] = 0x08;
	p[13] = 0x06;
	a = (struct rte_arp_hdr *)(p + 14);
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = 6;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	memset(&a->arp_data.arp_sha, 0x02, 6);
	a->arp_data.arp_sip = rte_cpu_to_be_32(KS);
	memset(&a->arp_data.arp_tha, 0, 6);
	a->arp_data.arp_tip = rte_cpu_to_be_32(target);
	return m;
}

static void
drain(struct rte_ring *r)
{
	void *m;

	while (rte_ring_dequeue(r, &m) == 0)
		rte_pktmbuf_free(m);
}

struct setup {
	struct gvpn_config cfg;
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;
};

/* The worker and control core over s->cfg, whose protected port has the
 * address OWN, and the rule table the control core builds. */
static int
start(void **state, struct setup *s)
{
	struct gvpn_worker_conf wc = {.id = 0,
				      .burst = 64,
				      .n_pairs = 1,
				      .flows = 4096,
				      .backend = &gvpn_crypto_ipsecmb,
				      .pool = pool,
				      .punt = punt};
	struct gvpn_ctrl_conf cc = {
	    .cfg = &s->cfg, .n_workers = 1, .backend = &gvpn_crypto_ipsecmb};

	wc.pairs[0] = (struct gvpn_pair){
	    .clear = clear_port, .prot = prot_port, .clear_idx = 0, .prot_idx = 1, .mtu = 1500};
	wc.punt_port[1] = (struct gvpn_punt_port){
	    .address = rte_cpu_to_be_32(OWN), .rate = RATE, .inject = inject};
	s->w = gvpn_worker_create(&wc);
	assert_non_null(s->w);
	cc.workers = &s->w;
	s->c = gvpn_ctrl_create(&cc);
	assert_non_null(s->c);
	assert_int_equal(gvpn_ctrl_policy_update(s->c), 0);
	while (gvpn_ctrl_pending(s->c) != 0) {
		gvpn_ctrl_poll(s->c);
		gvpn_worker_poll(s->w);
	}
	*state = s;
	return 0;
}

/* A pair whose protected port has the address OWN, a group with key server
 * KS, and the rule table the control core builds for them. */
static int
setup(void **state)
{
	struct setup *s = calloc(1, sizeof(*s));
	struct gvpn_config *cfg = &s->cfg;

	assert_non_null(s);
	cfg->n_ports = 2;
	cfg->ports[0].role = GVPN_PORT_CLEAR;
	cfg->ports[0].peer = 1;
	cfg->ports[1].role = GVPN_PORT_PROTECTED;
	cfg->ports[1].address = OWN;
	cfg->ports[1].prefix_len = 24;
	cfg->ports[1].punt_rate = RATE;
	cfg->n_groups = 1;
	snprintf(cfg->groups[0].name, GVPN_NAME_MAX, "g");
	cfg->groups[0].gdoi = 1;
	cfg->groups[0].ks.n_servers = 1;
	cfg->groups[0].ks.server_addr[0] = KS;
	return start(state, s);
}

/* The same from a configuration file (key server KS), so that it can be
 * reloaded. */
static const char reload_conf[] =
    "ports = ( { name = \"inside\"; role = \"clear\"; device = \"net_null0\"; "
    "peer = \"wan\"; },\n"
    "          { name = \"wan\"; role = \"protected\"; device = \"net_null1\";\n"
    "            address = \"203.0.113.50/24\"; punt_rate = 1000; } );\n"
    "groups = ( { name = \"g\"; id = 1001; key_servers = ( \"%s\" );\n"
    "             local_address = \"203.0.113.50\"; psk = \"group-member-psk-0123456789\"; } "
    ");\n";

static void
write_conf(const char *path, const char *key_server)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, reload_conf, key_server);
	fclose(f);
}

static char conf_path[] = "/tmp/test_punt_XXXXXX";

static int
setup_file(void **state)
{
	struct setup *s = calloc(1, sizeof(*s));
	char err[256];
	int fd = mkstemp(conf_path);

	assert_non_null(s);
	assert_true(fd >= 0);
	close(fd);
	write_conf(conf_path, "203.0.113.1");
	if (gvpn_config_parse(conf_path, &s->cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(s->cfg.ports[1].punt_rate, RATE);
	return start(state, s);
}

static int
teardown(void **state)
{
	struct setup *s = *state;

	gvpn_ctrl_free(s->c);
	gvpn_worker_free(s->w);
	free(s);
	drain(punt);
	drain(clear_tx);
	drain(prot_tx);
	return 0;
}

static const struct gvpn_port_stats *
prot_stats(const struct setup *s)
{
	return &gvpn_worker_stats(s->w)->port[1];
}

static void
test_a_flood_at_the_address_is_punted_within_the_rate_and_counted(void **state)
{
	struct setup *s = *state;
	struct rte_mbuf *m[200];

	uint64_t start, refilled;

	for (unsigned int i = 0; i < ARRAY_LEN(m); i++)
		m[i] = udp_packet(STRANGER, OWN, (uint16_t)(1000 + i));
	start = rte_get_tsc_cycles();
	gvpn_worker_inbound(s->w, 0, m, 64);
	gvpn_worker_inbound(s->w, 0, m + 64, 64);
	gvpn_worker_inbound(s->w, 0, m + 128, 72);
	/* what the rate gave back meanwhile (a sanitizer on a busy machine is slow) */
	refilled = (rte_get_tsc_cycles() - start) * RATE / rte_get_tsc_hz() + 1;
	/* the first burst of the budget passes at once, the rest is dropped */
	assert_in_range(prot_stats(s)->punted, BURST_ALLOWED, BURST_ALLOWED + refilled);
	assert_int_equal(prot_stats(s)->punted + prot_stats(s)->punt_rate_dropped, 200);
	assert_int_equal(gvpn_worker_stats(s->w)->drop[GVPN_DROP_PUNT_RATE],
			 prot_stats(s)->punt_rate_dropped);
	assert_int_equal(rte_ring_count(punt), prot_stats(s)->punted);
	/* each punted frame names its port (index in the configuration) */
	struct rte_mbuf *first = NULL;

	assert_int_equal(rte_ring_dequeue(punt, (void **)&first), 0);
	assert_int_equal(first->port, 1);
	rte_pktmbuf_free(first);
	assert_int_equal(rte_ring_count(clear_tx), 0);
}

static void
test_key_server_packets_have_a_budget_of_their_own(void **state)
{
	struct setup *s = *state;
	struct rte_mbuf *m[100], *ks;

	for (unsigned int i = 0; i < ARRAY_LEN(m); i++)
		m[i] = udp_packet(STRANGER, OWN, (uint16_t)(2000 + i));
	gvpn_worker_inbound(s->w, 0, m, 64);
	gvpn_worker_inbound(s->w, 0, m + 64, 36);
	assert_true(prot_stats(s)->punt_rate_dropped > 0);
	/* the host budget is spent; a key server's datagram still passes,
	 * unicast or to a multicast group (a multicast rekey) */
	uint64_t before = prot_stats(s)->punted;
	ks = udp_packet(KS, OWN, 848);
	gvpn_worker_inbound(s->w, 0, &ks, 1);
	ks = udp_packet(KS, IP4(239, 192, 0, 5), 848);
	gvpn_worker_inbound(s->w, 0, &ks, 1);
	assert_int_equal(prot_stats(s)->punted, before + 2);
}

static void
test_arp_for_the_address_is_punted_other_arp_passes(void **state)
{
	struct setup *s = *state;
	struct rte_mbuf *m[2] = {arp_request(OWN), arp_request(STRANGER)};

	gvpn_worker_inbound(s->w, 0, m, 2);
	assert_int_equal(prot_stats(s)->punted, 1);
	assert_int_equal(rte_ring_count(punt), 1);
	assert_int_equal(rte_ring_count(clear_tx), 1); /* a bump in the wire */
}

static void
test_transit_traffic_is_not_punted(void **state)
{
	struct setup *s = *state;
	struct rte_mbuf *m[2] = {udp_packet(KS, HOST, 848), udp_packet(STRANGER, OWN + 1, 9)};

	gvpn_worker_inbound(s->w, 0, m, 2);
	assert_int_equal(prot_stats(s)->punted, 0);
	assert_int_equal(gvpn_worker_stats(s->w)->drop[GVPN_DROP_NO_RULE], 2);
}

static void
test_the_kernels_frames_leave_on_the_port(void **state)
{
	struct setup *s = *state;
	struct rte_mbuf *m[3];

	for (unsigned int i = 0; i < ARRAY_LEN(m); i++)
		m[i] = udp_packet(OWN, KS, 848);
	assert_int_equal(rte_ring_enqueue_burst(inject, (void **)m, 3, NULL), 3);
	gvpn_worker_poll(s->w);
	assert_int_equal(rte_ring_count(inject), 0);
	assert_int_equal(rte_ring_count(prot_tx), 3);
	assert_int_equal(prot_stats(s)->injected, 3);
}

/* One burst: strangers' datagrams to the address, enough to spend the
 * host budget, then one from @p src. Whether that one was punted. */
static int
punted_after_a_flood(struct setup *s, uint32_t src)
{
	struct rte_mbuf *m[64], *f;
	int found = 0;

	for (unsigned int i = 0; i < ARRAY_LEN(m) - 1; i++)
		m[i] = udp_packet(STRANGER, OWN, (uint16_t)(3000 + i));
	m[ARRAY_LEN(m) - 1] = udp_packet(src, OWN, 848);
	gvpn_worker_inbound(s->w, 0, m, ARRAY_LEN(m));
	assert_true(prot_stats(s)->punt_rate_dropped > 0); /* the host budget is spent */
	while (rte_ring_dequeue(punt, (void **)&f) == 0) {
		const struct rte_ipv4_hdr *ip =
		    rte_pktmbuf_mtod_offset(f, const struct rte_ipv4_hdr *, 14);

		found |= ip->src_addr == rte_cpu_to_be_32(src);
		rte_pktmbuf_free(f);
	}
	return found;
}

/* A reload that changes the key servers rebuilds the punt rules at once:
 * the new key server's packets have the control budget, the old one's no
 * longer. */
static void
test_a_reload_gives_new_key_servers_the_control_budget(void **state)
{
	struct setup *s = *state;

	assert_true(punted_after_a_flood(s, KS));
	assert_false(punted_after_a_flood(s, NEW_KS));
	write_conf(conf_path, "203.0.113.2");
	assert_int_equal(gvpn_ctrl_reload(s->c, &s->cfg, conf_path), 0);
	assert_int_equal(s->cfg.groups[0].ks.server_addr[0], NEW_KS);
	assert_int_not_equal(gvpn_ctrl_pending(s->c), 0); /* a new rule table sent */
	while (gvpn_ctrl_pending(s->c) != 0) {
		gvpn_ctrl_poll(s->c);
		gvpn_worker_poll(s->w);
	}
	assert_true(punted_after_a_flood(s, NEW_KS));
	assert_false(punted_after_a_flood(s, KS));
	unlink(conf_path);
}

int
main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "--no-pci", "--no-shconf",	   "-l",
		       "0",	"-m",	     "256",	 "--no-telemetry", "--log-level=*:error"};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_a_flood_at_the_address_is_punted_within_the_rate_and_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_server_packets_have_a_budget_of_their_own,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_arp_for_the_address_is_punted_other_arp_passes,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transit_traffic_is_not_punted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_kernels_frames_leave_on_the_port, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_a_reload_gives_new_key_servers_the_control_budget,
					    setup_file, teardown),
	};

	(void)argc;
	if (rte_eal_init((int)ARRAY_LEN(eal), eal) < 0) {
		fprintf(stderr, "EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	pool =
	    rte_pktmbuf_pool_create("test", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL)
		return 1;
	clear_rx = ring("clear_rx", 0);
	clear_tx = ring("clear_tx", 0);
	prot_rx = ring("prot_rx", 0);
	prot_tx = ring("prot_tx", 0);
	punt = ring("punt", RING_F_SP_ENQ | RING_F_SC_DEQ);
	inject = ring("inject", RING_F_SP_ENQ | RING_F_SC_DEQ);
	clear_port = ring_port("clear", clear_rx, clear_tx);
	prot_port = ring_port("prot", prot_rx, prot_tx);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
