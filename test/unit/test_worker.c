/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker + control core over ring ports, the worker on its own lcore when
 * there is one: an SA is replaced while traffic flows in both directions and
 * not one packet is lost or encrypted with the wrong SA; a burst that
 * pre-fragments into more packets than the worker's lists hold leaves whole;
 * an SA whose SPI a worker cannot index is reported, logged and counted; the
 * control core refuses more workers than it addresses; bypass and fail-open
 * packets count for the rule that passed them, and ESP drops for their SA.
 */
#include <errno.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_udp.h>

#include "test_util.h"
#include "gvpn_ctrl.h"
#include "parse_private.h"

#define RING_SIZE 8192
#define TOTAL 24000
#define BURST 32
/* Packets in flight per direction at most: a worker descheduled by a busy
 * machine holds the producer back instead of emptying the mbuf pool. */
#define WINDOW (RING_SIZE / 2)

static struct rte_mempool *pool;
static struct rte_ring *clear_rx, *clear_tx, *prot_rx, *prot_tx;
static uint16_t clear_port, prot_port;
static volatile int stop;

static const uint32_t A = IP4(192, 0, 2, 10), B = IP4(198, 51, 100, 20);
/* dataplane.ipv6_too_big of the next worker_and_ctrl() */
static enum gvpn_ipv6_too_big too_big_mode;

static struct rte_ring *
ring(const char *name)
{
	struct rte_ring *r = rte_ring_create(name, RING_SIZE, SOCKET_ID_ANY, 0);

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

/* UDP A->B (or B->A) carrying a 32-bit sequence number. */
static struct rte_mbuf *
udp_packet(uint32_t src, uint32_t dst, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = m != NULL ? (uint8_t *)rte_pktmbuf_append(m, 14 + 20 + 8 + 64) : NULL;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;

	if (p == NULL)
		abort();
	memset(p, 0, 14 + 20 + 8 + 64);
	memset(p, 0x02, 12);
	p[12] = 0x08;
	ip = (struct rte_ipv4_hdr *)(p + 14);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(20 + 8 + 64);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = rte_cpu_to_be_16(40000);
	udp->dst_port = rte_cpu_to_be_16(40001);
	udp->dgram_len = rte_cpu_to_be_16(8 + 64);
	memcpy(udp + 1, &seq, sizeof(seq));
	m->l2_len = 14;
	return m;
}

static uint32_t
seq_of(const struct rte_mbuf *m)
{
	uint32_t seq;

	memcpy(&seq, rte_pktmbuf_mtod_offset(m, const uint8_t *, 14 + 20 + 8), sizeof(seq));
	return seq;
}

static int
worker_loop(void *arg)
{
	while (!stop)
		gvpn_worker_poll(arg);
	return 0;
}

static struct gvpn_esp_sa_conf
sa_conf(uint32_t spi, uint8_t fill)
{
	struct gvpn_esp_sa_conf c = {.spi = spi, .ttl = 64};

	c.xform.cipher = GVPN_CIPHER_AES_GCM;
	c.xform.auth = GVPN_AUTH_NONE;
	c.xform.cipher_key_len = 20;
	memset(c.xform.cipher_key, fill, 20);
	return c;
}

struct peer {
	struct gvpn_esp_lcore *lc;
	struct gvpn_esp_sa *sa[2];
	struct gvpn_esp_sa_state st[2];
};

/* Put @p n packets on @p r, waiting while the worker drains it: the producer
 * may run ahead of a worker that shares the machine with other work. */
static void
ring_put(struct rte_ring *r, struct rte_mbuf *m[], unsigned int n, struct gvpn_worker *w,
	 int inline_worker)
{
	unsigned int done = 0;
	uint64_t give_up = rte_get_tsc_cycles() + rte_get_tsc_hz() * 10;

	while (done < n) {
		done += rte_ring_enqueue_burst(r, (void **)&m[done], n - done, NULL);
		if (done < n && inline_worker)
			gvpn_worker_poll(w);
		if (rte_get_tsc_cycles() > give_up)
			fail_msg("RX ring still full after 10 s: the worker stopped");
	}
}

static void
settle(struct gvpn_ctrl *c, struct gvpn_worker *w, int inline_worker)
{
	while (gvpn_ctrl_pending(c) != 0) {
		gvpn_ctrl_poll(c);
		if (inline_worker)
			gvpn_worker_poll(w);
	}
}

/* One group over the ring ports: a worker (RX bursts of @p burst, protected
 * MTU @p mtu, @p spis SPI table entries, 0 for the default) and the control
 * core that feeds it. */
static void
worker_and_ctrl(struct gvpn_config *cfg, uint16_t burst, uint16_t mtu, uint32_t spis,
		struct gvpn_worker **w, struct gvpn_ctrl **c)
{
	struct gvpn_worker_conf wc = {.id = 0,
				      .burst = burst,
				      .n_pairs = 1,
				      .flows = 4096,
				      .spis = spis,
				      .ipv6_too_big = too_big_mode,
				      .backend = &gvpn_crypto_ipsecmb,
				      .pool = pool};
	struct gvpn_ctrl_conf cc = {.cfg = cfg, .n_workers = 1, .backend = &gvpn_crypto_ipsecmb};

	cfg->n_groups = 1;
	snprintf(cfg->groups[0].name, GVPN_NAME_MAX, "g");
	cfg->groups[0].direction = GVPN_DIR_BOTH;
	wc.pairs[0] = (struct gvpn_pair){
	    .clear = clear_port, .prot = prot_port, .clear_idx = 0, .prot_idx = 1, .mtu = mtu};
	*w = gvpn_worker_create(&wc);
	assert_non_null(*w);
	cc.workers = w;
	*c = gvpn_ctrl_create(&cc);
	assert_non_null(*c);
}

static void
test_sa_replaced_under_traffic_loses_nothing(void **state)
{
	static struct gvpn_config cfg;
	struct gvpn_selector sel = {
	    .src = {A, 32}, .dst = {B, 32}, .sport_hi = 65535, .dport_hi = 65535};
	static uint8_t seen_out[TOTAL], seen_in[TOTAL];
	uint64_t by_spi_out[2] = {0}, by_spi_in[2] = {0};
	unsigned int sent_out = 0, sent_in = 0, got_out = 0, got_in = 0, phase = 0;
	int slot1, slot2, inline_worker = rte_lcore_count() < 2;
	unsigned int lcore = rte_get_next_lcore(-1, 1, 0);
	uint32_t switch_seq = 0;
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;
	struct peer peer;
	int tek;

	(void)state;
	worker_and_ctrl(&cfg, BURST, 1500, 0, &w, &c);

	/* The independent end: our own ESP contexts with both SAs. */
	peer.lc = gvpn_esp_lcore_create(&gvpn_crypto_openssl, SOCKET_ID_ANY, NULL);
	for (int i = 0; i < 2; i++) {
		struct gvpn_esp_sa_conf sc =
		    sa_conf(0x1001 * (uint32_t)(i + 1), (uint8_t)(0x11 * (i + 1)));

		peer.sa[i] = gvpn_esp_sa_create(peer.lc, &sc, SOCKET_ID_ANY);
		assert_non_null(peer.sa[i]);
		gvpn_esp_sa_state_init(&peer.st[i], peer.sa[i], peer.lc);
	}

	tek = gvpn_ctrl_tek_add(c, 0, &sel, 1);
	assert_true(tek >= 0);
	struct gvpn_ctrl_sa_params p1 = {
	    .group = 0, .tek = (uint16_t)tek, .esp = sa_conf(0x1001, 0x11)};
	struct gvpn_ctrl_sa_params p2 = {
	    .group = 0, .tek = (uint16_t)tek, .esp = sa_conf(0x2002, 0x22)};
	slot1 = gvpn_ctrl_sa_add(c, &p1);
	assert_true(slot1 >= 0);
	assert_int_equal(gvpn_ctrl_sa_activate(c, (uint16_t)slot1), 0);
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);
	if (!inline_worker)
		assert_int_equal(rte_eal_remote_launch(worker_loop, w, lcore), 0);

	while (got_out < TOTAL || got_in < TOTAL) {
		struct rte_mbuf *m[BURST];
		unsigned int n;

		/* outbound: clear packets in */
		for (n = 0; n < BURST && sent_out < TOTAL && sent_out - got_out < WINDOW; n++)
			m[n] = udp_packet(A, B, sent_out++);
		ring_put(clear_rx, m, n, w, inline_worker);
		/* inbound: ESP from the peer, with whichever SA it holds now */
		{
			struct gvpn_esp_sa_state *st[BURST];
			int use = phase >= 2 ? 1 : 0; /* peer moves to SA 2 once it is installed */

			for (n = 0; n < BURST && sent_in < TOTAL && sent_in - got_in < WINDOW;
			     n++) {
				m[n] = udp_packet(B, A, sent_in++);
				st[n] = &peer.st[use];
			}
			assert_int_equal(gvpn_esp_encrypt_burst(peer.lc, st, m, (uint16_t)n), n);
			by_spi_in[use] += n;
			ring_put(prot_rx, m, n, w, inline_worker);
		}
		if (inline_worker)
			gvpn_worker_poll(w);
		gvpn_ctrl_poll(c);

		/* ESP out: decrypt with the SA its SPI names, check the order of SAs */
		while ((n = rte_ring_dequeue_burst(prot_tx, (void **)m, BURST, NULL)) != 0) {
			for (unsigned int i = 0; i < n; i++) {
				uint32_t spi;
				struct gvpn_esp_sa_state *st[1];
				int which;

				memcpy(&spi, rte_pktmbuf_mtod_offset(m[i], uint8_t *, 14 + 20), 4);
				which = rte_be_to_cpu_32(spi) == 0x2002;
				st[0] = &peer.st[which];
				m[i]->l2_len = 14;
				if (gvpn_esp_decrypt_burst(peer.lc, st, &m[i], 1) != 1)
					fail_msg("ESP from gvpn does not decrypt");
				uint32_t seq = seq_of(m[i]);
				if (seq >= TOTAL || seen_out[seq]++)
					fail_msg("sequence %u duplicated or unknown", seq);
				/* once the switch was acked, nothing newer uses SA 1 */
				if (phase >= 3 && !which && seq >= switch_seq)
					fail_msg("packet %u sent after the switch used the old SA",
						 seq);
				by_spi_out[which]++;
				got_out++;
				rte_pktmbuf_free(m[i]);
			}
		}
		while ((n = rte_ring_dequeue_burst(clear_tx, (void **)m, BURST, NULL)) != 0) {
			for (unsigned int i = 0; i < n; i++) {
				uint32_t seq = seq_of(m[i]);

				if (seq >= TOTAL || seen_in[seq]++)
					fail_msg("inbound sequence %u duplicated or unknown", seq);
				got_in++;
				rte_pktmbuf_free(m[i]);
			}
		}

		/* The rekey, driven by the control core while packets flow:
		 * add SA 2 (decrypts at once) -> activate it -> delete SA 1. */
		if (phase == 0 && sent_out >= TOTAL / 4) {
			slot2 = gvpn_ctrl_sa_add(c, &p2);
			assert_true(slot2 >= 0);
			phase = 1;
		} else if (phase == 1 && gvpn_ctrl_pending(c) == 0) {
			phase = 2; /* SA 2 installed everywhere: the peer may use it */
			assert_int_equal(gvpn_ctrl_sa_activate(c, (uint16_t)slot2), 0);
			switch_seq = sent_out;
		} else if (phase == 2 && gvpn_ctrl_pending(c) == 0) {
			phase = 3; /* encryption switched: switch_seq onwards must use SA 2 */
		} else if (phase == 3 && sent_out >= TOTAL * 3 / 4 && got_in == sent_in &&
			   got_out == sent_out) {
			/* nothing in flight with SA 1: it can go */
			assert_int_equal(gvpn_ctrl_sa_delete(c, (uint16_t)slot1), 0);
			phase = 4;
		}
	}
	stop = 1;
	rte_eal_mp_wait_lcore();
	settle(c, w, 1);

	const struct gvpn_worker_stats *ws = gvpn_worker_stats(w);
	for (int d = 0; d < GVPN_DROP_MAX; d++)
		if (ws->drop[d] != 0)
			fail_msg("%" PRIu64 " dropped: %s", ws->drop[d], gvpn_worker_drop_name(d));
	for (int d = 0; d < GVPN_ESP_DROP_MAX; d++)
		assert_int_equal(gvpn_worker_esp_stats(w)->drop[d], 0);
	assert_int_equal(phase, 4);
	assert_int_equal(got_out, TOTAL);
	assert_int_equal(got_in, TOTAL);
	assert_true(by_spi_out[0] > 0 && by_spi_out[1] > 0);
	assert_true(by_spi_in[0] > 0 && by_spi_in[1] > 0);
	print_message("# %s worker: out %" PRIu64 " with SA 1, %" PRIu64 " with SA 2; "
		      "in %" PRIu64 " / %" PRIu64 "\n",
		      inline_worker ? "inline" : "separate-lcore", by_spi_out[0], by_spi_out[1],
		      by_spi_in[0], by_spi_in[1]);

	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
	for (int i = 0; i < 2; i++)
		gvpn_esp_sa_free(peer.sa[i]);
	gvpn_esp_lcore_free(peer.lc);
}

/* A clear packet of @p len bytes (IPv4 total length) A->B, DF clear. */
static struct rte_mbuf *
big_packet(uint16_t len, uint32_t seq)
{
	struct rte_mbuf *m = udp_packet(A, B, seq);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);

	if (rte_pktmbuf_append(m, (uint16_t)(len - (20 + 8 + 64))) == NULL)
		abort();
	ip->total_length = rte_cpu_to_be_16(len);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return m;
}

/*
 * A full burst whose packets pre-fragment (R22) into more than the worker's
 * lists hold at once: 250 packets of 2000 bytes behind a protected MTU of
 * 576 become 5 fragments each, 1250 in all, then 6 small packets. Every
 * fragment and packet must leave encrypted, nothing dropped.
 */
static void
test_fragments_beyond_a_burst_all_leave(void **state)
{
	enum { BIG = 250, SMALL = 6, FRAGS = 5 };
	static struct gvpn_config cfg;
	struct gvpn_selector sel = {
	    .src = {A, 32}, .dst = {B, 32}, .sport_hi = 65535, .dport_hi = 65535};
	struct gvpn_ctrl_sa_params sp = {.group = 0};
	struct rte_mbuf *m[BIG + SMALL];
	unsigned int got = 0, n;
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;
	int tek, slot;

	(void)state;
	worker_and_ctrl(&cfg, GVPN_WORKER_BURST_MAX, 576, 0, &w, &c);
	tek = gvpn_ctrl_tek_add(c, 0, &sel, 1);
	assert_true(tek >= 0);
	sp.tek = (uint16_t)tek;
	sp.esp.spi = 0x3003;
	sp.esp.ttl = 64;
	sp.esp.xform.cipher = GVPN_CIPHER_AES_CBC; /* 16-byte IV and blocks: 5 fragments */
	sp.esp.xform.cipher_key_len = 16;
	memset(sp.esp.xform.cipher_key, 0x33, 16);
	sp.esp.xform.auth = GVPN_AUTH_HMAC_SHA1_96;
	sp.esp.xform.auth_key_len = 20;
	memset(sp.esp.xform.auth_key, 0x44, 20);
	slot = gvpn_ctrl_sa_add(c, &sp);
	assert_true(slot >= 0);
	assert_int_equal(gvpn_ctrl_sa_activate(c, (uint16_t)slot), 0);
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);

	for (unsigned int i = 0; i < BIG + SMALL; i++)
		m[i] = i < BIG ? big_packet(2000, i) : udp_packet(A, B, i);
	gvpn_worker_outbound(w, 0, m, BIG + SMALL);
	while ((n = rte_ring_dequeue_burst(prot_tx, (void **)m, BIG + SMALL, NULL)) != 0) {
		for (unsigned int i = 0; i < n; i++) {
			assert_int_equal(*rte_pktmbuf_mtod_offset(m[i], uint8_t *, 14 + 9),
					 GVPN_IPPROTO_ESP);
			rte_pktmbuf_free(m[i]);
		}
		got += n;
	}

	const struct gvpn_worker_stats *ws = gvpn_worker_stats(w);
	for (int d = 0; d < GVPN_DROP_MAX; d++)
		if (ws->drop[d] != 0)
			fail_msg("%" PRIu64 " dropped: %s", ws->drop[d], gvpn_worker_drop_name(d));
	assert_int_equal(ws->fragments_out, BIG * FRAGS);
	assert_int_equal(ws->encrypted, BIG * FRAGS + SMALL);
	/* counted on the port they leave by: the protected one */
	assert_int_equal(ws->port[1].encrypted, BIG * FRAGS + SMALL);
	assert_int_equal(ws->port[0].encrypted, 0);
	assert_int_equal(got, BIG * FRAGS + SMALL);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
}

/*
 * A worker whose SPI table is full: the SAs it cannot index come back in
 * their acknowledgements as failed, and the control core counts them for
 * their group. ESP under such an SPI is dropped as no_sa; the others decrypt.
 */
static void
test_spi_the_worker_cannot_index_is_reported_and_counted(void **state)
{
	enum { SPIS = 8, SAS = SPIS + 2 };
	static struct gvpn_config cfg;
	struct gvpn_selector sel = {
	    .src = {A, 32}, .dst = {B, 32}, .sport_hi = 65535, .dport_hi = 65535};
	struct gvpn_esp_sa_state st[2], *stp[2] = {&st[0], &st[1]};
	struct gvpn_esp_sa *peer_sa[2];
	const struct gvpn_ctrl_snapshot *snap;
	struct gvpn_esp_lcore *peer;
	struct rte_mbuf *m[2];
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;
	int tek;

	(void)state;
	worker_and_ctrl(&cfg, BURST, 1500, SPIS, &w, &c);
	tek = gvpn_ctrl_tek_add(c, 0, &sel, 1);
	assert_true(tek >= 0);
	for (uint32_t i = 0; i < SAS; i++) {
		struct gvpn_ctrl_sa_params p = {
		    .group = 0, .tek = (uint16_t)tek, .esp = sa_conf(0x1001 + i, (uint8_t)i)};

		assert_true(gvpn_ctrl_sa_add(c, &p) >= 0);
	}
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);
	assert_int_equal(gvpn_ctrl_publish(c), 0);
	snap = gvpn_ctrl_snapshot_get(c);
	assert_int_equal(snap->n_groups, 1);
	assert_int_equal(snap->group[0].n_sas, SAS);
	assert_int_equal(snap->group[0].sa_install_failures, SAS - SPIS);
	gvpn_ctrl_snapshot_put(snap);

	/* ESP under the first SA and under the last, which found no room */
	peer = gvpn_esp_lcore_create(&gvpn_crypto_openssl, SOCKET_ID_ANY, NULL);
	assert_non_null(peer);
	for (int i = 0; i < 2; i++) {
		struct gvpn_esp_sa_conf sc =
		    i == 0 ? sa_conf(0x1001, 0) : sa_conf(0x1001 + SAS - 1, SAS - 1);

		peer_sa[i] = gvpn_esp_sa_create(peer, &sc, SOCKET_ID_ANY);
		assert_non_null(peer_sa[i]);
		gvpn_esp_sa_state_init(&st[i], peer_sa[i], peer);
		m[i] = udp_packet(A, B, (uint32_t)i);
	}
	assert_int_equal(gvpn_esp_encrypt_burst(peer, stp, m, 2), 2);
	gvpn_worker_inbound(w, 0, m, 2);
	assert_int_equal(rte_ring_dequeue_burst(clear_tx, (void **)m, 2, NULL), 1);
	assert_int_equal(seq_of(m[0]), 0);
	rte_pktmbuf_free(m[0]);
	assert_int_equal(gvpn_worker_stats(w)->decrypted, 1);
	assert_int_equal(gvpn_worker_stats(w)->port[0].decrypted, 1); /* the clear port */
	assert_int_equal(gvpn_worker_stats(w)->port[1].decrypted, 0);
	assert_int_equal(gvpn_worker_stats(w)->drop[GVPN_DROP_NO_SA], 1);

	for (int i = 0; i < 2; i++)
		gvpn_esp_sa_free(peer_sa[i]);
	gvpn_esp_lcore_free(peer);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
}

/* udp_packet() to another destination port. */
static struct rte_mbuf *
udp_to_port(uint32_t src, uint32_t dst, uint16_t dport)
{
	struct rte_mbuf *m = udp_packet(src, dst, 0);

	rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, 14 + 20)->dst_port =
	    rte_cpu_to_be_16(dport);
	return m;
}

/* Free what a TX ring holds: @return how many. */
static unsigned int
drain(struct rte_ring *r)
{
	struct rte_mbuf *m[BURST];
	unsigned int n, all = 0;

	while ((n = rte_ring_dequeue_burst(r, (void **)m, BURST, NULL)) != 0) {
		for (unsigned int i = 0; i < n; i++)
			rte_pktmbuf_free(m[i]);
		all += n;
	}
	return all;
}

/* Send @p n packets of @p make(src, dst, port) one way: @return how many left
 * on the other side. */
static unsigned int
send_each(struct gvpn_worker *w, int inbound, uint32_t src, uint32_t dst, uint16_t port,
	  unsigned int n)
{
	struct rte_mbuf *m[BURST];

	for (unsigned int i = 0; i < n; i++)
		m[i] = udp_to_port(src, dst, port);
	if (inbound)
		gvpn_worker_inbound(w, 0, m, (uint16_t)n);
	else
		gvpn_worker_outbound(w, 0, m, (uint16_t)n);
	return drain(inbound ? clear_tx : prot_tx);
}

static struct gvpn_selector
any_to(uint32_t dst, uint8_t len, uint8_t proto, uint16_t dport)
{
	return (struct gvpn_selector){.dst = {dst, len},
				      .proto = proto,
				      .sport_hi = 65535,
				      .dport_lo = dport,
				      .dport_hi = dport != 0 ? dport : 65535};
}

/*
 * Bypass packets, both ways, count for the rule that passed them and for no
 * other. A reload that puts another rule at an index restarts that index's
 * count; the others keep theirs.
 */
static void
test_a_bypass_packet_counts_for_its_rule_and_no_other(void **state)
{
	static struct gvpn_config cfg;
	struct gvpn_rule_hits h_copy, *h = &h_copy;
	const struct gvpn_ctrl_snapshot *snap;
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;

	(void)state;
	worker_and_ctrl(&cfg, BURST, 1500, 0, &w, &c);
	cfg.n_bypass = 3;
	cfg.bypass[0] = any_to(0, 0, IPPROTO_UDP, 848);
	cfg.bypass[1] = any_to(0, 0, IPPROTO_UDP, 500);
	cfg.bypass[2] = any_to(0, 0, 89, 0);
	cfg.groups[0].n_fail_open = 1;
	cfg.groups[0].fail_open[0] = any_to(0, 0, 0, 0); /* the group has not failed */
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);

	assert_int_equal(send_each(w, 0, A, B, 500, 3), 3);
	assert_int_equal(send_each(w, 1, B, A, 500, 2), 2); /* the other way */
	assert_int_equal(send_each(w, 0, A, B, 848, 1), 1);
	assert_int_equal(send_each(w, 0, A, B, 9, 1), 0); /* no rule */
	gvpn_worker_rule_hits(w, h);
	assert_int_equal(h->bypass[0], 1);
	assert_int_equal(h->bypass[1], 5);
	assert_int_equal(gvpn_worker_stats(w)->bypassed, 6);
	for (unsigned int i = 2; i < GVPN_MAX_BYPASS; i++)
		assert_int_equal(h->bypass[i], 0);
	for (unsigned int i = 0; i < GVPN_MAX_GROUPS * GVPN_MAX_FAIL_OPEN; i++)
		assert_int_equal(h->fail_open[i], 0);

	/* a table with the same rules keeps the counts */
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);
	gvpn_worker_rule_hits(w, h);
	assert_int_equal(h->bypass[1], 5);
	assert_int_equal(gvpn_ctrl_publish(c), 0);
	snap = gvpn_ctrl_snapshot_get(c);
	assert_int_equal(snap->rule[1].index, 1);
	const uint32_t since0 = snap->rule[0].hits_since, since1 = snap->rule[1].hits_since;
	gvpn_ctrl_snapshot_put(snap);

	/* another rule at index 1 counts from zero; index 0 keeps its count */
	cfg.bypass[1] = any_to(0, 0, IPPROTO_UDP, 501);
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);
	gvpn_worker_rule_hits(w, h);
	assert_int_equal(h->bypass[0], 1);
	assert_int_equal(h->bypass[1], 0);
	assert_int_equal(send_each(w, 0, A, B, 501, 1), 1);
	gvpn_worker_rule_hits(w, h);
	assert_int_equal(h->bypass[1], 1);
	assert_int_equal(gvpn_ctrl_publish(c), 0);
	snap = gvpn_ctrl_snapshot_get(c);
	assert_int_equal(snap->rule[0].hits_since, since0);
	assert_true(snap->rule[1].hits_since > since1);
	gvpn_ctrl_snapshot_put(snap);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
}

/*
 * While its group has failed, a packet that a fail-open rule passes in clear
 * counts for that rule: outbound, inbound, and outbound under a group policy
 * whose TEK has no SA. Once the group has keys again, nothing counts.
 */
static void
test_a_fail_open_packet_counts_for_its_rule(void **state)
{
	static struct gvpn_config cfg;
	const uint32_t C = IP4(10, 9, 0, 1), D = IP4(10, 1, 0, 1);
	struct gvpn_selector sel = {
	    .src = {A, 32}, .dst = {B, 32}, .sport_hi = 65535, .dport_hi = 65535};
	struct gvpn_rule_hits h_copy, *h = &h_copy;
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;

	(void)state;
	worker_and_ctrl(&cfg, BURST, 1500, 0, &w, &c);
	cfg.groups[0].n_fail_open = 3;
	cfg.groups[0].fail_open[0] = any_to(IP4(10, 8, 0, 0), 16, 0, 0);
	cfg.groups[0].fail_open[1] = any_to(IP4(10, 9, 0, 0), 16, 0, 0);
	cfg.groups[0].fail_open[2] = sel;
	assert_true(gvpn_ctrl_tek_add(c, 0, &sel, 1) >= 0); /* and no SA */
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	assert_int_equal(gvpn_ctrl_group_fail(c, 0, 1), 0);
	settle(c, w, 1);

	assert_int_equal(send_each(w, 0, D, C, 7, 2), 2);
	assert_int_equal(send_each(w, 1, C, D, 7, 1), 1); /* rules hold both ways */
	assert_int_equal(send_each(w, 0, A, B, 7, 4), 4); /* the TEK's, in clear */
	gvpn_worker_rule_hits(w, h);
	assert_int_equal(h->fail_open[GVPN_FAIL_OPEN_HIT(0, 0)], 0);
	assert_int_equal(h->fail_open[GVPN_FAIL_OPEN_HIT(0, 1)], 3);
	assert_int_equal(h->fail_open[GVPN_FAIL_OPEN_HIT(0, 2)], 4);
	assert_int_equal(gvpn_worker_stats(w)->fail_open, 7);
	for (unsigned int i = 0; i < GVPN_MAX_BYPASS; i++)
		assert_int_equal(h->bypass[i], 0);
	for (unsigned int i = GVPN_FAIL_OPEN_HIT(0, 3); i < GVPN_MAX_GROUPS * GVPN_MAX_FAIL_OPEN;
	     i++)
		assert_int_equal(h->fail_open[i], 0);

	assert_int_equal(gvpn_ctrl_group_fail(c, 0, 0), 0);
	settle(c, w, 1);
	assert_int_equal(send_each(w, 0, D, C, 7, 1), 0);
	assert_int_equal(send_each(w, 0, A, B, 7, 1), 0);
	gvpn_worker_rule_hits(w, h);
	assert_int_equal(h->fail_open[GVPN_FAIL_OPEN_HIT(0, 1)], 3);
	assert_int_equal(h->fail_open[GVPN_FAIL_OPEN_HIT(0, 2)], 4);
	assert_int_equal(gvpn_worker_stats(w)->drop[GVPN_DROP_NO_RULE], 1);
	assert_int_equal(gvpn_worker_stats(w)->drop[GVPN_DROP_NO_SA], 1);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
}

/*
 * ESP under two SAs: a tampered packet counts as bad_icv against its SA, a
 * decrypted packet outside the SA's selectors as inner_policy against its
 * own; the other SA's counts stay zero.
 */
static void
test_a_tampered_esp_packet_counts_bad_icv_on_its_sa(void **state)
{
	static struct gvpn_config cfg;
	struct gvpn_selector sel = {
	    .src = {A, 32}, .dst = {B, 32}, .sport_hi = 65535, .dport_hi = 65535};
	struct gvpn_esp_sa_state st[2], *stp[4];
	struct gvpn_esp_sa *peer_sa[2];
	struct gvpn_sa_counters sc[2];
	struct gvpn_esp_lcore *peer;
	struct rte_mbuf *m[4];
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;
	int tek, slot[2];

	(void)state;
	worker_and_ctrl(&cfg, BURST, 1500, 0, &w, &c);
	tek = gvpn_ctrl_tek_add(c, 0, &sel, 1);
	assert_true(tek >= 0);
	peer = gvpn_esp_lcore_create(&gvpn_crypto_openssl, SOCKET_ID_ANY, NULL);
	assert_non_null(peer);
	for (int i = 0; i < 2; i++) {
		struct gvpn_ctrl_sa_params p = {
		    .group = 0, .tek = (uint16_t)tek, .esp = sa_conf(0x4001 + i, (uint8_t)(7 + i))};

		slot[i] = gvpn_ctrl_sa_add(c, &p);
		assert_true(slot[i] >= 0);
		peer_sa[i] = gvpn_esp_sa_create(peer, &p.esp, SOCKET_ID_ANY);
		assert_non_null(peer_sa[i]);
		gvpn_esp_sa_state_init(&st[i], peer_sa[i], peer);
	}
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);

	/* SA 0: one good, one from outside its selectors; SA 1: one good, one
	 * tampered with */
	m[0] = udp_packet(A, B, 0);
	m[1] = udp_packet(IP4(10, 0, 0, 1), B, 1);
	m[2] = udp_packet(A, B, 2);
	m[3] = udp_packet(A, B, 3);
	stp[0] = stp[1] = &st[0];
	stp[2] = stp[3] = &st[1];
	assert_int_equal(gvpn_esp_encrypt_burst(peer, stp, m, 4), 4);
	rte_pktmbuf_mtod(m[3], uint8_t *)[m[3]->data_len - 1] ^= 0x01;
	gvpn_worker_inbound(w, 0, m, 4);
	assert_int_equal(drain(clear_tx), 2);

	for (int i = 0; i < 2; i++)
		gvpn_worker_sa_counters(w, (uint16_t)slot[i], &sc[i]);
	assert_int_equal(sc[0].dec_pkts, 2); /* the one outside too: it was decrypted */
	assert_int_equal(sc[0].inner_policy, 1);
	assert_int_equal(sc[1].dec_pkts, 1);
	assert_int_equal(sc[1].drop[GVPN_ESP_DROP_BAD_ICV], 1);
	assert_int_equal(sc[1].inner_policy, 0);
	for (int d = 0; d < GVPN_ESP_DROP_MAX; d++) {
		assert_int_equal(sc[0].drop[d], 0);
		if (d != GVPN_ESP_DROP_BAD_ICV)
			assert_int_equal(sc[1].drop[d], 0);
	}
	assert_int_equal(gvpn_worker_esp_stats(w)->drop[GVPN_ESP_DROP_BAD_ICV], 1);
	assert_int_equal(gvpn_worker_stats(w)->drop[GVPN_DROP_INNER_POLICY], 1);

	for (int i = 0; i < 2; i++)
		gvpn_esp_sa_free(peer_sa[i]);
	gvpn_esp_lcore_free(peer);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
}

/*
 * R21 with ports: an SA whose selector names UDP to port 53 passes a
 * decrypted UDP packet to 53 and drops, as inner_policy, one to 54 and a
 * TCP one to 53; a later fragment carries no ports, so a UDP one passes on
 * its addresses and protocol alone.
 */
static void
test_a_decrypted_packet_must_fall_in_its_sas_ports(void **state)
{
	static struct gvpn_config cfg;
	struct gvpn_selector sel = {.src = {A, 32},
				    .dst = {B, 32},
				    .proto = IPPROTO_UDP,
				    .sport_hi = 65535,
				    .dport_lo = 53,
				    .dport_hi = 53};
	struct gvpn_esp_sa_state st, *stp[4];
	struct gvpn_sa_counters sc;
	struct gvpn_esp_lcore *peer;
	struct gvpn_esp_sa *peer_sa;
	struct rte_mbuf *m[4];
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;
	int tek, slot;

	(void)state;
	worker_and_ctrl(&cfg, BURST, 1500, 0, &w, &c);
	tek = gvpn_ctrl_tek_add(c, 0, &sel, 1);
	assert_true(tek >= 0);
	peer = gvpn_esp_lcore_create(&gvpn_crypto_openssl, SOCKET_ID_ANY, NULL);
	assert_non_null(peer);
	struct gvpn_ctrl_sa_params p = {
	    .group = 0, .tek = (uint16_t)tek, .esp = sa_conf(0x4101, 9)};

	slot = gvpn_ctrl_sa_add(c, &p);
	assert_true(slot >= 0);
	peer_sa = gvpn_esp_sa_create(peer, &p.esp, SOCKET_ID_ANY);
	assert_non_null(peer_sa);
	gvpn_esp_sa_state_init(&st, peer_sa, peer);
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);

	m[0] = udp_to_port(A, B, 53);
	m[1] = udp_to_port(A, B, 54);
	m[2] = udp_to_port(A, B, 53);
	rte_pktmbuf_mtod_offset(m[2], struct rte_ipv4_hdr *, 14)->next_proto_id = IPPROTO_TCP;
	m[3] = udp_to_port(A, B, 54); /* a later fragment: its "ports" are data */
	rte_pktmbuf_mtod_offset(m[3], struct rte_ipv4_hdr *, 14)->fragment_offset =
	    rte_cpu_to_be_16(100);
	for (int i = 0; i < 4; i++)
		stp[i] = &st;
	assert_int_equal(gvpn_esp_encrypt_burst(peer, stp, m, 4), 4);
	gvpn_worker_inbound(w, 0, m, 4);
	assert_int_equal(drain(clear_tx), 2);
	gvpn_worker_sa_counters(w, (uint16_t)slot, &sc);
	assert_int_equal(sc.dec_pkts, 4);
	assert_int_equal(sc.inner_policy, 2);
	assert_int_equal(gvpn_worker_stats(w)->drop[GVPN_DROP_INNER_POLICY], 2);

	gvpn_esp_sa_free(peer_sa);
	gvpn_esp_lcore_free(peer);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
}

/* The IPv4 flow key, each field at its place whichever way it is built:
 * ports for UDP, TCP and SCTP, none for ICMP or a packet too short to hold
 * them; direction and VLAN as given. */
static void
test_the_flow_key_has_each_field_in_place(void **state)
{
	struct rte_mbuf *m = udp_to_port(A, B, 53);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	struct gvpn_acl_key k;

	(void)state;
	m->l3_len = 20;
	memset(&k, 0xee, sizeof(k));
	worker_key(m, &k, 1, rte_cpu_to_be_16(7));
	assert_int_equal(k.proto, IPPROTO_UDP);
	assert_int_equal(k.dir, 1);
	assert_int_equal(k.vlan, rte_cpu_to_be_16(7));
	assert_int_equal(k.src, rte_cpu_to_be_32(A));
	assert_int_equal(k.dst, rte_cpu_to_be_32(B));
	assert_int_equal(k.sport, rte_cpu_to_be_16(40000));
	assert_int_equal(k.dport, rte_cpu_to_be_16(53));
	for (int i = 0; i < 3; i++) {
		static const uint8_t with_ports[] = {IPPROTO_TCP, IPPROTO_SCTP, IPPROTO_UDP};

		ip->next_proto_id = with_ports[i];
		worker_key(m, &k, 0, 0);
		assert_int_equal(k.proto, with_ports[i]);
		assert_int_equal(k.dir, 0);
		assert_int_equal(k.vlan, 0);
		assert_int_equal(k.dport, rte_cpu_to_be_16(53));
	}
	ip->next_proto_id = IPPROTO_ICMP;
	worker_key(m, &k, 0, 0);
	assert_int_equal(k.proto, IPPROTO_ICMP);
	assert_true(k.sport == 0 && k.dport == 0);
	assert_int_equal(k.src, rte_cpu_to_be_32(A));
	ip->next_proto_id = IPPROTO_UDP;
	ip->total_length = rte_cpu_to_be_16(20 + 3); /* not four bytes of ports */
	worker_key(m, &k, 0, 0);
	assert_true(k.sport == 0 && k.dport == 0);
	assert_int_equal(k.dst, rte_cpu_to_be_32(B));
	rte_pktmbuf_free(m);
}

/* Insert @p n VLAN tags (an 802.1ad one first when there are two) after the
 * MAC addresses of an untagged frame. */
static void
add_tags(struct rte_mbuf *m, unsigned int n)
{
	static const uint8_t tag[2][4] = {{0x88, 0xa8, 0x00, 0x64}, {0x81, 0x00, 0x00, 0xc8}};
	uint8_t *p = (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)(4 * n));

	assert_non_null(p);
	memmove(p, p + 4 * n, 12);
	for (unsigned int i = 0; i < n; i++)
		memcpy(p + 12 + 4 * i, tag[i + 2 - n], 4);
}

/*
 * 802.1Q and 802.1ad (QinQ) frames: the policy applies to the IPv4 packet
 * inside; the ESP leaves with the tags it came with, and decrypted packets
 * with the tags their ESP came with. Tagged ARP passes like ARP; a frame
 * cut inside its tag is not IPv4.
 */
static void
test_tagged_frames_keep_their_tags_both_ways(void **state)
{
	static struct gvpn_config cfg;
	struct gvpn_selector sel = {
	    .src = {A, 32}, .dst = {B, 32}, .sport_hi = 65535, .dport_hi = 65535};
	struct gvpn_ctrl_sa_params sp = {.group = 0, .esp = sa_conf(0x5005, 5)};
	struct rte_mbuf *m[4];
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;
	int tek, slot;

	(void)state;
	worker_and_ctrl(&cfg, BURST, 1500, 0, &w, &c);
	tek = gvpn_ctrl_tek_add(c, 0, &sel, 1);
	assert_true(tek >= 0);
	sp.tek = (uint16_t)tek;
	slot = gvpn_ctrl_sa_add(c, &sp);
	assert_true(slot >= 0);
	assert_int_equal(gvpn_ctrl_sa_activate(c, (uint16_t)slot), 0);
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);

	for (unsigned int i = 0; i < 3; i++) { /* untagged, one tag, two tags */
		m[i] = udp_packet(A, B, i);
		add_tags(m[i], i);
	}
	gvpn_worker_outbound(w, 0, m, 3);
	assert_int_equal(rte_ring_dequeue_burst(prot_tx, (void **)m, 4, NULL), 3);
	for (unsigned int i = 0; i < 3; i++) {
		const uint8_t *p = rte_pktmbuf_mtod(m[i], const uint8_t *);
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(p + 14 + 4 * i);

		if (i == 2)
			assert_memory_equal(p + 12, "\x88\xa8\x00\x64\x81\x00\x00\xc8", 8);
		if (i == 1)
			assert_memory_equal(p + 12, "\x81\x00\x00\xc8", 4);
		assert_memory_equal(p + 12 + 4 * i, "\x08\x00", 2);
		assert_int_equal(ip->next_proto_id, GVPN_IPPROTO_ESP);
		assert_int_equal(rte_be_to_cpu_32(ip->src_addr), A); /* address preservation */
		assert_int_equal(rte_be_to_cpu_32(ip->dst_addr), B);
		assert_int_equal(rte_be_to_cpu_16(ip->hdr_checksum) != 0, 1);
	}
	/* the ESP back in: decrypted, each with its tags */
	gvpn_worker_inbound(w, 0, m, 3);
	assert_int_equal(rte_ring_dequeue_burst(clear_tx, (void **)m, 4, NULL), 3);
	for (unsigned int i = 0; i < 3; i++) {
		const uint8_t *p = rte_pktmbuf_mtod(m[i], const uint8_t *);
		uint32_t seq;

		assert_int_equal(m[i]->data_len, 4 * i + 14 + 20 + 8 + 64);
		if (i == 2)
			assert_memory_equal(p + 12, "\x88\xa8\x00\x64\x81\x00\x00\xc8", 8);
		assert_memory_equal(p + 12 + 4 * i, "\x08\x00", 2);
		memcpy(&seq, p + 4 * i + 14 + 20 + 8, sizeof(seq));
		assert_int_equal(seq, i);
		rte_pktmbuf_free(m[i]);
	}
	assert_int_equal(gvpn_worker_stats(w)->encrypted, 3);
	assert_int_equal(gvpn_worker_stats(w)->decrypted, 3);

	/* tagged ARP passes across; a frame cut inside its tag is not IPv4 */
	m[0] = udp_packet(A, B, 7);
	rte_pktmbuf_mtod(m[0], uint8_t *)[12] = 0x08;
	rte_pktmbuf_mtod(m[0], uint8_t *)[13] = 0x06;
	add_tags(m[0], 1);
	m[1] = udp_packet(A, B, 8);
	add_tags(m[1], 2);
	rte_pktmbuf_trim(m[1], (uint16_t)(m[1]->data_len - 16));
	gvpn_worker_outbound(w, 0, m, 2);
	assert_int_equal(gvpn_worker_stats(w)->l2_passed, 1);
	assert_int_equal(gvpn_worker_stats(w)->drop[GVPN_DROP_NOT_IP], 1);
	assert_int_equal(drain(prot_tx), 1);

	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
}

/* ---- IPv6 ---- */

/* 2001:db8:<a>::<c> */
static void
v6addr(uint8_t out[16], uint16_t a, uint16_t c)
{
	memset(out, 0, 16);
	out[0] = 0x20;
	out[1] = 0x01;
	out[2] = 0x0d;
	out[3] = 0xb8;
	out[4] = (uint8_t)(a >> 8);
	out[5] = (uint8_t)a;
	out[14] = (uint8_t)(c >> 8);
	out[15] = (uint8_t)c;
}

/* An extension header to put before the upper-layer header: its type and
 * length in bytes (a multiple of 8; a fragment header is 8, with its
 * fragment data and identification). */
struct ext6 {
	uint8_t type;
	uint16_t len;
	uint16_t frag_data; /* host order: offset << 3 | M */
	uint32_t id;
};

/* An IPv6 frame 2001:db8:<sa>::<sc> -> 2001:db8:<da>::<dc> with the
 * extension headers @p ext, then @p proto's header and data: for UDP a
 * header to @p dport and @p seq in 64 bytes of data; for ICMPv6 the type
 * @p dport and 4 bytes; other protocols 8 bytes of data. */
static struct rte_mbuf *
v6_packet(uint16_t sa, uint16_t sc, uint16_t da, uint16_t dc, const struct ext6 *ext,
	  unsigned int n_ext, uint8_t proto, uint16_t dport, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint32_t l4 = proto == IPPROTO_UDP ? 8 + 64 : 8, exts = 0, off;
	struct rte_ipv6_hdr *ip;
	uint8_t *p, *nh;

	for (unsigned int i = 0; i < n_ext; i++)
		exts += ext[i].len;
	p = m != NULL ? (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(14 + 40 + exts + l4)) : NULL;
	if (p == NULL)
		abort();
	memset(p, 0, 14 + 40 + exts + l4);
	memset(p, 0x02, 12);
	p[12] = 0x86;
	p[13] = 0xdd;
	ip = (struct rte_ipv6_hdr *)(p + 14);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)(exts + l4));
	ip->hop_limits = 64;
	v6addr(ip->src_addr, sa, sc);
	v6addr(ip->dst_addr, da, dc);
	nh = &ip->proto;
	off = 14 + 40;
	for (unsigned int i = 0; i < n_ext; i++) {
		*nh = ext[i].type;
		nh = p + off;
		if (ext[i].type == IPPROTO_FRAGMENT) {
			p[off + 2] = (uint8_t)(ext[i].frag_data >> 8);
			p[off + 3] = (uint8_t)ext[i].frag_data;
			memcpy(p + off + 4, &ext[i].id, 4);
		} else {
			p[off + 1] = (uint8_t)(ext[i].len / 8 - 1);
			p[off + 2] = 1; /* a PadN option over the rest */
			p[off + 3] = (uint8_t)(ext[i].len - 4);
		}
		off += ext[i].len;
	}
	*nh = proto;
	if (proto == IPPROTO_UDP) {
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(p + off);

		udp->src_port = rte_cpu_to_be_16(40000);
		udp->dst_port = rte_cpu_to_be_16(dport);
		udp->dgram_len = rte_cpu_to_be_16(8 + 64);
		memcpy(udp + 1, &seq, sizeof(seq));
	} else {
		p[off] = (uint8_t)dport;
		memcpy(p + off + 4, &seq, sizeof(seq));
	}
	return m;
}

/* A plain UDP packet H1 (2001:db8:1::10) -> H2 (2001:db8:2::20). */
static struct rte_mbuf *
v6_udp(uint16_t dport, uint32_t seq)
{
	return v6_packet(1, 0x10, 2, 0x20, NULL, 0, IPPROTO_UDP, dport, seq);
}

/* 2001:db8:<a>::/<len> -> 2001:db8:<b>::/<len>, any protocol and port. */
static struct gvpn_selector
v6_sel(uint16_t a, uint16_t b, uint8_t len)
{
	struct gvpn_selector s = {.af = GVPN_AF_IPV6, .sport_hi = 65535, .dport_hi = 65535};

	v6addr(s.src.addr6, a, 0);
	v6addr(s.dst.addr6, b, 0);
	s.src.len = s.dst.len = len;
	return s;
}

/* Run @p n frames through one direction: @return how many left on the
 * other side (freed). */
static unsigned int
pass(struct gvpn_worker *w, int inbound, struct rte_mbuf *m[], unsigned int n)
{
	if (inbound)
		gvpn_worker_inbound(w, 0, m, (uint16_t)n);
	else
		gvpn_worker_outbound(w, 0, m, (uint16_t)n);
	return drain(inbound ? clear_tx : prot_tx);
}

static void
expect_drops(struct gvpn_worker *w, const uint64_t want[GVPN_DROP_MAX])
{
	const struct gvpn_worker_stats *ws = gvpn_worker_stats(w);

	for (int d = 0; d < GVPN_DROP_MAX; d++)
		if (ws->drop[d] != want[d])
			fail_msg("%s: %" PRIu64 " dropped, want %" PRIu64, gvpn_worker_drop_id(d),
				 ws->drop[d], want[d]);
}

/*
 * The parse of IPv6: the ports behind hop-by-hop, routing, destination
 * options and atomic fragment headers decide the rule, up to 8 headers;
 * more, a chain cut short, hop-by-hop options not first or an upper-layer
 * header beyond what l3_len can say are bad_ext; a payload length beyond
 * the frame or a version that is not 6 is malformed. Neighbour discovery
 * passes like ARP, other ICMPv6 does not; tagged IPv6 is IPv6, and a frame
 * of another type is not_ip.
 */
static void
test_ipv6_extension_headers_and_neighbour_discovery(void **state)
{
	static struct gvpn_config cfg;
	const struct ext6 hbh = {IPPROTO_HOPOPTS, 8, 0, 0}, rt = {IPPROTO_ROUTING, 16, 0, 0},
			  dst = {IPPROTO_DSTOPTS, 24, 0, 0}, atomic = {IPPROTO_FRAGMENT, 8, 0, 7},
			  big = {IPPROTO_DSTOPTS, 256, 0, 0};
	const struct ext6 chain3[] = {hbh, rt, dst}, chain4[] = {hbh, dst, atomic, rt};
	const struct ext6 late_hbh[] = {dst, hbh}, over_l3[] = {big, big};
	struct ext6 eight[8], nine[9];
	uint64_t want[GVPN_DROP_MAX] = {0};
	struct rte_mbuf *m[16];
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;
	unsigned int n = 0;

	(void)state;
	for (unsigned int i = 0; i < 9; i++) {
		nine[i] = dst;
		if (i < 8)
			eight[i] = i == 0 ? hbh : dst;
	}
	worker_and_ctrl(&cfg, BURST, 1500, 0, &w, &c);
	cfg.n_bypass = 1;
	cfg.bypass[0] = v6_sel(1, 2, 48);
	cfg.bypass[0].proto = IPPROTO_UDP;
	cfg.bypass[0].dport_lo = cfg.bypass[0].dport_hi = 53;
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);

	/* bypassed: their ports are found */
	m[n++] = v6_udp(53, 0);
	m[n++] = v6_packet(1, 0x10, 2, 0x20, chain3, 3, IPPROTO_UDP, 53, 1);
	m[n++] = v6_packet(1, 0x10, 2, 0x20, chain4, 4, IPPROTO_UDP, 53, 2);
	m[n++] = v6_packet(1, 0x10, 2, 0x20, eight, 8, IPPROTO_UDP, 53, 3);
	m[n] = v6_udp(53, 4);
	add_tags(m[n++], 1);
	m[n] = v6_udp(53, 5);
	add_tags(m[n++], 2);
	/* neighbour solicitation: passes like ARP */
	m[n++] = v6_packet(1, 0x10, 2, 0x20, NULL, 0, IPPROTO_ICMPV6, 135, 6);
	assert_int_equal(pass(w, 0, m, n), n);
	assert_int_equal(gvpn_worker_stats(w)->bypassed, n - 1);
	assert_int_equal(gvpn_worker_stats(w)->l2_passed, 1);
	expect_drops(w, want);

	n = 0;
	m[n++] = v6_packet(1, 0x10, 2, 0x20, chain3, 3, IPPROTO_UDP, 54, 0);   /* port */
	m[n++] = v6_packet(1, 0x10, 2, 0x20, NULL, 0, IPPROTO_ICMPV6, 128, 0); /* echo */
	want[GVPN_DROP_NO_RULE] = n;
	m[n++] = v6_packet(1, 0x10, 2, 0x20, nine, 9, IPPROTO_UDP, 53, 0);
	m[n++] = v6_packet(1, 0x10, 2, 0x20, late_hbh, 2, IPPROTO_UDP, 53, 0);
	m[n++] = v6_packet(1, 0x10, 2, 0x20, over_l3, 2, IPPROTO_UDP, 53, 0);
	/* a chain cut short: the last header runs past the payload */
	m[n] = v6_packet(1, 0x10, 2, 0x20, chain3, 3, IPPROTO_UDP, 53, 0);
	rte_pktmbuf_mtod_offset(m[n], uint8_t *, 14 + 40 + 8 + 16 + 1)[0] = 20;
	n++;
	want[GVPN_DROP_BAD_EXT] = 4;
	/* payload length beyond the frame; version 4 behind 0x86dd */
	m[n] = v6_udp(53, 0);
	rte_pktmbuf_mtod_offset(m[n], struct rte_ipv6_hdr *, 14)->payload_len =
	    rte_cpu_to_be_16(8 + 64 + 1);
	n++;
	m[n] = v6_udp(53, 0);
	rte_pktmbuf_mtod_offset(m[n], uint8_t *, 14)[0] = 0x40;
	n++;
	want[GVPN_DROP_MALFORMED] = 2;
	/* LLDP */
	m[n] = v6_udp(53, 0);
	rte_pktmbuf_mtod(m[n], uint8_t *)[12] = 0x88;
	rte_pktmbuf_mtod(m[n], uint8_t *)[13] = 0xcc;
	n++;
	want[GVPN_DROP_NOT_IP] = 1;
	assert_int_equal(pass(w, 0, m, n), 0);
	expect_drops(w, want);

	/* inbound the same: the tagged packet leaves with its tags */
	m[0] = v6_packet(1, 0x10, 2, 0x20, chain3, 3, IPPROTO_UDP, 53, 9);
	add_tags(m[0], 2);
	gvpn_worker_inbound(w, 0, m, 1);
	assert_int_equal(rte_ring_dequeue_burst(clear_tx, (void **)m, 1, NULL), 1);
	assert_memory_equal(rte_pktmbuf_mtod_offset(m[0], uint8_t *, 12),
			    "\x88\xa8\x00\x64\x81\x00\x00\xc8\x86\xdd", 10);
	assert_int_equal(m[0]->data_len, 8 + 14 + 40 + 48 + 8 + 64);
	rte_pktmbuf_free(m[0]);
	assert_int_equal(gvpn_worker_stats(w)->bypassed, 7);
	expect_drops(w, want);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
}

/* Fragment @p m (an IPv6 frame built by v6_packet() with no extension
 * header) into pieces of @p chunk bytes of its payload, each with a
 * fragment header right after the IPv6 header (identification @p id). */
static unsigned int
v6_fragments(struct rte_mbuf *m, uint16_t chunk, uint32_t id, struct rte_mbuf *out[])
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)(p + 14);
	const uint32_t payload = rte_be_to_cpu_16(ip->payload_len);
	unsigned int n = 0;

	for (uint32_t off = 0; off < payload; off += chunk) {
		const uint32_t len = RTE_MIN((uint32_t)chunk, payload - off);
		struct rte_mbuf *f = rte_pktmbuf_alloc(pool);
		uint8_t *d =
		    f != NULL ? (uint8_t *)rte_pktmbuf_append(f, (uint16_t)(14 + 48 + len)) : NULL;
		struct rte_ipv6_hdr *fh;

		assert_non_null(d);
		memcpy(d, p, 14 + 40);
		fh = (struct rte_ipv6_hdr *)(d + 14);
		fh->proto = IPPROTO_FRAGMENT;
		fh->payload_len = rte_cpu_to_be_16((uint16_t)(8 + len));
		d[54] = ip->proto;
		d[55] = 0;
		d[56] = (uint8_t)((off | (off + len < payload)) >> 8);
		d[57] = (uint8_t)(off | (off + len < payload));
		memcpy(d + 58, &id, 4);
		memcpy(d + 62, p + 54 + off, len);
		out[n++] = f;
	}
	return n;
}

/*
 * IPv6 fragments are put back together before the rules see them, under
 * the IPv4 caps and counters: out of order, the rebuilt packet is the one
 * sent and is bypassed by its port. A fragment with a header before its
 * fragment header is not rebuilt (frag_error); one ending beyond 65535
 * bytes is frag_oversized; an empty one, or one not the last whose data is
 * not a multiple of 8 bytes, is frag_invalid.
 */
static void
test_ipv6_fragments_are_reassembled_before_the_rules(void **state)
{
	static struct gvpn_config cfg;
	const struct ext6 dst = {IPPROTO_DSTOPTS, 8, 0, 0};
	uint64_t want[GVPN_DROP_MAX] = {0};
	struct rte_mbuf *m[8], *orig, *f[8], *one;
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;
	unsigned int n;

	(void)state;
	worker_and_ctrl(&cfg, BURST, 1500, 0, &w, &c);
	cfg.n_bypass = 1;
	cfg.bypass[0] = v6_sel(1, 2, 48);
	cfg.bypass[0].proto = IPPROTO_UDP;
	cfg.bypass[0].dport_lo = cfg.bypass[0].dport_hi = 53;
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);

	orig = v6_udp(53, 77);
	n = v6_fragments(orig, 24, 1, f);
	assert_int_equal(n, 3);
	m[0] = f[2];
	m[1] = f[0];
	m[2] = f[1];
	gvpn_worker_outbound(w, 0, m, 3);
	assert_int_equal(rte_ring_dequeue_burst(prot_tx, (void **)m, 8, NULL), 1);
	assert_int_equal(m[0]->pkt_len, orig->pkt_len);
	assert_memory_equal(rte_pktmbuf_mtod(m[0], uint8_t *), rte_pktmbuf_mtod(orig, uint8_t *),
			    orig->pkt_len);
	rte_pktmbuf_free(m[0]);
	assert_int_equal(gvpn_worker_stats(w)->reassembled, 1);
	assert_int_equal(gvpn_worker_stats(w)->bypassed, 1);

	/* a destination options header before the fragment header */
	one = v6_packet(1, 0x10, 2, 0x20, &dst, 1, IPPROTO_UDP, 53, 0);
	n = 0;
	m[n] = rte_pktmbuf_alloc(pool);
	{
		uint8_t *d = (uint8_t *)rte_pktmbuf_append(m[n], (uint16_t)(one->data_len + 8));
		const uint8_t *s = rte_pktmbuf_mtod(one, const uint8_t *);

		memcpy(d, s, 14 + 48);
		d[14 + 40] = IPPROTO_FRAGMENT;
		d[14 + 48] = IPPROTO_UDP;
		d[14 + 48 + 3] = 1; /* offset 0, more */
		memcpy(d + 14 + 56, s + 14 + 48, one->data_len - 14 - 48);
		((struct rte_ipv6_hdr *)(d + 14))->payload_len =
		    rte_cpu_to_be_16((uint16_t)(one->data_len + 8 - 14 - 40));
	}
	n++;
	want[GVPN_DROP_FRAG_ERROR] = 1;
	/* beyond 65535 bytes: the last fragment at offset 65528 with 16 bytes */
	orig = v6_udp(53, 0);
	v6_fragments(orig, 16, 2, f);
	m[n] = f[0];
	rte_pktmbuf_mtod(m[n], uint8_t *)[56] = 0xff;
	rte_pktmbuf_mtod(m[n], uint8_t *)[57] = 0xf8;
	n++;
	for (unsigned int i = 1; i < 5; i++)
		rte_pktmbuf_free(f[i]);
	want[GVPN_DROP_FRAG_OVERSIZED] = 1;
	/* empty; 12 bytes with more to come */
	rte_pktmbuf_free(orig);
	orig = v6_udp(53, 0);
	v6_fragments(orig, 12, 3, f);
	m[n] = f[0];
	rte_pktmbuf_mtod_offset(m[n], struct rte_ipv6_hdr *, 14)->payload_len = rte_cpu_to_be_16(8);
	n++;
	m[n++] = f[1];
	for (unsigned int i = 2; i < 6; i++)
		rte_pktmbuf_free(f[i]);
	want[GVPN_DROP_FRAG_INVALID] = 2;
	assert_int_equal(pass(w, 0, m, n), 0);
	expect_drops(w, want);

	rte_pktmbuf_free(one);
	rte_pktmbuf_free(orig);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
}

/*
 * IPv6 rules both ways, in their own flow cache: a bypass rule by prefix
 * and an either-family one, fail-open, a group policy whose TEK has no SA
 * (no_sa out, clear_in_policy in); a new rule table and a flush reach the
 * IPv6 flows too.
 */
static void
test_ipv6_rules_and_flows_both_ways(void **state)
{
	static struct gvpn_config cfg;
	struct gvpn_selector tek = v6_sel(1, 2, 48);
	uint64_t want[GVPN_DROP_MAX] = {0};
	struct gvpn_rule_hits h;
	struct gvpn_msg flush = {.type = GVPN_MSG_FLOW_FLUSH}, *ack;
	struct rte_mbuf *m[4];
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;

	(void)state;
	worker_and_ctrl(&cfg, BURST, 1500, 0, &w, &c);
	cfg.n_bypass = 2;
	cfg.bypass[0] = v6_sel(1, 3, 48); /* H1 -> 2001:db8:3::/48 */
	cfg.bypass[1] = any_to(0, 0, IPPROTO_UDP, 848);
	cfg.bypass[1].af = GVPN_AF_ANY;
	cfg.groups[0].n_fail_open = 1;
	cfg.groups[0].fail_open[0] = v6_sel(4, 5, 48);
	assert_true(gvpn_ctrl_tek_add(c, 0, &tek, 1) >= 0); /* and no SA */
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);

	m[0] = v6_packet(1, 0x10, 3, 0x30, NULL, 0, IPPROTO_UDP, 9, 0);
	m[1] = v6_udp(848, 0); /* the either-family rule, over the TEK */
	m[2] = v6_packet(4, 0x40, 5, 0x50, NULL, 0, IPPROTO_UDP, 9, 0); /* not failed */
	m[3] = v6_udp(9, 0);
	want[GVPN_DROP_NO_RULE] = 1;
	want[GVPN_DROP_NO_SA] = 1;
	assert_int_equal(pass(w, 0, m, 4), 2);
	expect_drops(w, want);
	/* inbound: the TEK's traffic in clear is refused */
	m[0] = v6_packet(2, 0x20, 1, 0x10, NULL, 0, IPPROTO_UDP, 9, 0);
	m[1] = v6_packet(3, 0x30, 1, 0x10, NULL, 0, IPPROTO_UDP, 9, 0); /* mirrored */
	want[GVPN_DROP_CLEAR_IN_POLICY] = 1;
	assert_int_equal(pass(w, 1, m, 2), 1);
	expect_drops(w, want);
	gvpn_worker_rule_hits(w, &h);
	assert_int_equal(h.bypass[0], 2);
	assert_int_equal(h.bypass[1], 1);
	assert_int_equal(gvpn_worker_flow_count(w), 6);

	/* the group fails: its fail-open rule passes, both ways */
	assert_int_equal(gvpn_ctrl_group_fail(c, 0, 1), 0);
	settle(c, w, 1);
	m[0] = v6_packet(4, 0x40, 5, 0x50, NULL, 0, IPPROTO_UDP, 9, 0);
	assert_int_equal(pass(w, 0, m, 1), 1);
	m[0] = v6_packet(5, 0x50, 4, 0x40, NULL, 0, IPPROTO_UDP, 9, 0);
	assert_int_equal(pass(w, 1, m, 1), 1);
	gvpn_worker_rule_hits(w, &h);
	assert_int_equal(h.fail_open[GVPN_FAIL_OPEN_HIT(0, 0)], 2);
	expect_drops(w, want);

	/* a table without the prefix rule: its flow is stale */
	cfg.bypass[0] = cfg.bypass[1];
	cfg.n_bypass = 1;
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);
	m[0] = v6_packet(1, 0x10, 3, 0x30, NULL, 0, IPPROTO_UDP, 9, 0);
	want[GVPN_DROP_NO_RULE]++;
	assert_int_equal(pass(w, 0, m, 1), 0);
	expect_drops(w, want);
	/* a flush empties the IPv6 cache too */
	assert_true(gvpn_worker_flow_count(w) > 0);
	assert_int_equal(gvpn_worker_post(w, &flush), 0);
	gvpn_worker_poll(w);
	assert_int_equal(gvpn_worker_acks(w, &ack, 1), 1);
	assert_int_equal(gvpn_worker_flow_count(w), 0);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
}

/* The peer's IPv6 ESP of @p m (a v6_packet() frame), with @p st. */
static void
peer_encrypt6(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st, struct rte_mbuf *m[],
	      uint16_t n)
{
	struct gvpn_esp_sa_state *stp[BURST];

	for (uint16_t i = 0; i < n; i++) {
		stp[i] = st;
		m[i]->l2_len = 14;
	}
	assert_int_equal(gvpn_esp_encrypt_burst(lc, stp, m, n), n);
}

/*
 * IPv6 ESP through the worker, with the ESP stage's IPv6 SAs and an
 * independent peer (the OpenSSL backend): the worker's ESP has the inner
 * addresses outside and decrypts at the peer to the packets sent, extension
 * headers and tags included; the peer's ESP, also behind a destination
 * options header and in fragments, decrypts to its packets; a decrypted
 * packet outside the SA's selectors counts as inner_policy on its SA; a
 * packet too big for the protected MTU under a 40-byte outer header is
 * frag_needed.
 */
static void
test_ipv6_esp_both_ways(void **state)
{
	static struct gvpn_config cfg;
	struct gvpn_selector sel = v6_sel(1, 2, 48);
	struct gvpn_ctrl_sa_params sp = {.group = 0, .esp = sa_conf(0x6006, 6)};
	const struct ext6 chain[] = {{IPPROTO_HOPOPTS, 8, 0, 0}, {IPPROTO_DSTOPTS, 16, 0, 0}};
	struct rte_mbuf *m[8], *orig[8], *f[4];
	uint64_t want[GVPN_DROP_MAX] = {0};
	struct gvpn_esp_sa_state st, *stp[8];
	struct gvpn_sa_counters sc;
	struct gvpn_esp_lcore *peer;
	struct gvpn_esp_sa *peer_sa;
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;
	int tek, slot;
	unsigned int n;

	(void)state;
	worker_and_ctrl(&cfg, BURST, 1500, 0, &w, &c);
	tek = gvpn_ctrl_tek_add(c, 0, &sel, 1);
	assert_true(tek >= 0);
	sp.tek = (uint16_t)tek;
	slot = gvpn_ctrl_sa_add(c, &sp);
	assert_true(slot >= 0);
	assert_int_equal(gvpn_ctrl_sa_activate(c, (uint16_t)slot), 0);
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);
	peer = gvpn_esp_lcore_create(&gvpn_crypto_openssl, SOCKET_ID_ANY, NULL);
	assert_non_null(peer);
	sp.esp.af = GVPN_AF_IPV6;
	peer_sa = gvpn_esp_sa_create(peer, &sp.esp, SOCKET_ID_ANY);
	assert_non_null(peer_sa);
	gvpn_esp_sa_state_init(&st, peer_sa, peer);

	/* out: plain, with extension headers, tagged */
	orig[0] = v6_udp(9, 0);
	orig[1] = v6_packet(1, 0x10, 2, 0x20, chain, 2, IPPROTO_UDP, 9, 1);
	orig[2] = v6_udp(9, 2);
	add_tags(orig[2], 2);
	for (n = 0; n < 3; n++) {
		m[n] = rte_pktmbuf_copy(orig[n], pool, 0, UINT32_MAX);
		assert_non_null(m[n]);
	}
	gvpn_worker_outbound(w, 0, m, 3);
	assert_int_equal(rte_ring_dequeue_burst(prot_tx, (void **)m, 8, NULL), 3);
	for (unsigned int i = 0; i < 3; i++) {
		const uint32_t l2 = i == 2 ? 22 : 14;
		const struct rte_ipv6_hdr *o =
		    rte_pktmbuf_mtod_offset(m[i], struct rte_ipv6_hdr *, l2);
		const struct rte_ipv6_hdr *in =
		    rte_pktmbuf_mtod_offset(orig[i], struct rte_ipv6_hdr *, l2);

		assert_int_equal(o->proto, GVPN_IPPROTO_ESP);
		assert_memory_equal(o->src_addr, in->src_addr, 16); /* address preservation */
		assert_memory_equal(o->dst_addr, in->dst_addr, 16);
		assert_memory_equal(rte_pktmbuf_mtod(m[i], uint8_t *),
				    rte_pktmbuf_mtod(orig[i], uint8_t *), l2);
		m[i]->l2_len = l2;
		m[i]->l3_len = 40;
		stp[0] = &st;
		assert_int_equal(gvpn_esp_decrypt_burst(peer, stp, &m[i], 1), 1);
		assert_int_equal(m[i]->pkt_len, orig[i]->pkt_len);
		assert_memory_equal(rte_pktmbuf_mtod(m[i], uint8_t *),
				    rte_pktmbuf_mtod(orig[i], uint8_t *), orig[i]->pkt_len);
		rte_pktmbuf_free(m[i]);
	}
	assert_int_equal(gvpn_worker_stats(w)->encrypted, 3);

	/* in: the peer's ESP (the mirror's direction, and with extension
	 * headers inside), one behind a destination options header, one
	 * outside the selectors, one in two fragments */
	for (unsigned int i = 0; i < 3; i++)
		rte_pktmbuf_free(orig[i]);
	orig[0] = v6_packet(2, 0x20, 1, 0x10, NULL, 0, IPPROTO_UDP, 7, 10);
	orig[1] = v6_packet(2, 0x20, 1, 0x10, chain, 2, IPPROTO_UDP, 7, 11);
	orig[2] = v6_packet(2, 0x20, 1, 0x10, NULL, 0, IPPROTO_UDP, 7, 12);
	orig[3] = v6_packet(9, 0x90, 1, 0x10, NULL, 0, IPPROTO_UDP, 7, 13); /* outside */
	orig[4] = v6_packet(1, 0x10, 2, 0x20, NULL, 0, IPPROTO_UDP, 7, 14);
	for (n = 0; n < 5; n++)
		m[n] = rte_pktmbuf_copy(orig[n], pool, 0, UINT32_MAX);
	peer_encrypt6(peer, &st, m, 5);
	{
		/* a destination options header between the IPv6 header and ESP */
		uint8_t *p;
		struct rte_ipv6_hdr *ip;

		assert_non_null(rte_pktmbuf_prepend(m[2], 8));
		p = rte_pktmbuf_mtod(m[2], uint8_t *);
		memmove(p, p + 8, 14 + 40);
		ip = (struct rte_ipv6_hdr *)(p + 14);
		ip->proto = IPPROTO_DSTOPTS;
		ip->payload_len =
		    rte_cpu_to_be_16((uint16_t)(rte_be_to_cpu_16(ip->payload_len) + 8));
		memset(p + 54, 0, 8);
		p[54] = GVPN_IPPROTO_ESP;
		p[56] = 1; /* PadN */
		p[57] = 4;
	}
	n = v6_fragments(m[4], 56, 21, f);
	assert_int_equal(n, 3);
	rte_pktmbuf_free(m[4]);
	m[4] = f[1];
	m[5] = f[0];
	m[6] = f[2];
	gvpn_worker_inbound(w, 0, m, 7);
	assert_int_equal(rte_ring_dequeue_burst(clear_tx, (void **)m, 8, NULL), 4);
	for (unsigned int i = 0, j = 0; i < 4; i++, j++) {
		if (j == 3)
			j++; /* the one outside */
		if (m[i]->pkt_len != orig[j]->pkt_len ||
		    memcmp(rte_pktmbuf_mtod(m[i], uint8_t *), rte_pktmbuf_mtod(orig[j], uint8_t *),
			   orig[j]->pkt_len) != 0)
			fail_msg("decrypted packet %u differs from the peer's packet %u", i, j);
		rte_pktmbuf_free(m[i]);
	}
	gvpn_worker_sa_counters(w, (uint16_t)slot, &sc);
	assert_int_equal(sc.inner_policy, 1);
	assert_int_equal(gvpn_worker_stats(w)->decrypted, 4);
	assert_int_equal(gvpn_worker_stats(w)->reassembled, 1);
	want[GVPN_DROP_INNER_POLICY] = 1;
	expect_drops(w, want);

	/* too big under a 40-byte outer header: 1500 bytes of inner packet */
	m[0] = v6_udp(9, 0);
	assert_non_null(rte_pktmbuf_append(m[0], 1500 - 40 - 8 - 64));
	rte_pktmbuf_mtod_offset(m[0], struct rte_ipv6_hdr *, 14)->payload_len =
	    rte_cpu_to_be_16(1500 - 40);
	want[GVPN_DROP_FRAG_NEEDED] = 1;
	assert_int_equal(pass(w, 0, m, 1), 0);
	expect_drops(w, want);
	assert_int_equal(drain(clear_tx), 1); /* its Packet Too Big */

	for (unsigned int i = 0; i < 5; i++)
		rte_pktmbuf_free(orig[i]);
	gvpn_esp_sa_free(peer_sa);
	gvpn_esp_lcore_free(peer);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
}

/* A frame of @p len bytes of IPv6 packet from @p src to @p dst carrying
 * @p proto (ICMPv6: of type @p type), between two distinct MAC addresses,
 * behind @p tags VLAN tags. */
static struct rte_mbuf *
big6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto, uint8_t type, uint32_t len,
     unsigned int tags)
{
	struct rte_mbuf *m = v6_packet(1, 1, 2, 2, NULL, 0, proto, type, 0);
	const uint32_t have = m->data_len - 14;
	struct rte_ipv6_hdr *ip;
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *), *more;

	memset(p, 0x0a, 6);
	memset(p + 6, 0x0b, 6);
	more = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(len - have));
	assert_non_null(more);
	for (uint32_t i = 0; i < len - have; i++)
		more[i] = (uint8_t)(i * 7 + 1);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, 14);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)(len - 40));
	memcpy(ip->src_addr, src, 16);
	memcpy(ip->dst_addr, dst, 16);
	add_tags(m, tags);
	return m;
}

/* The 16-bit ones' complement sum of @p n bytes, big-endian words. */
static uint32_t
sum16(const uint8_t *p, uint32_t n, uint32_t s)
{
	for (uint32_t i = 0; i < n; i++)
		s += i % 2 == 0 ? (uint32_t)p[i] << 8 : p[i];
	while (s > 0xffff)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Check @p r, a Packet Too Big for @p orig (tags: @p tags), byte by byte:
 * the link header reversed with its tags, the IPv6 header from the
 * packet's destination to its source, type 2 code 0, the MTU @p mtu, the
 * first 1232 bytes of the packet, and a checksum that sums to 0xffff
 * over the pseudo-header (RFC 8200 section 8.1). */
static void
check_ptb(const struct rte_mbuf *r, const struct rte_mbuf *orig, unsigned int tags, uint32_t mtu)
{
	const uint32_t l2 = 14 + 4 * tags;
	const uint8_t *p = rte_pktmbuf_mtod(r, const uint8_t *);
	const uint8_t *o = rte_pktmbuf_mtod(orig, const uint8_t *);
	const uint32_t quote = RTE_MIN(orig->data_len - l2, 1232u);
	uint8_t pseudo[40] = {0};
	uint32_t s;

	assert_int_equal(r->data_len, l2 + 40 + 8 + quote);
	assert_memory_equal(p, o + 6, 6);
	assert_memory_equal(p + 6, o, 6);
	assert_memory_equal(p + 12, o + 12, l2 - 12); /* tags and ether type */
	assert_int_equal(p[l2] >> 4, 6);
	assert_int_equal(p[l2 + 4] << 8 | p[l2 + 5], 8 + quote); /* payload length */
	assert_int_equal(p[l2 + 6], 58);			 /* ICMPv6 */
	assert_memory_equal(p + l2 + 8, o + l2 + 24, 16);	 /* from the destination */
	assert_memory_equal(p + l2 + 24, o + l2 + 8, 16);	 /* to the source */
	assert_int_equal(p[l2 + 40], 2);			 /* Packet Too Big */
	assert_int_equal(p[l2 + 41], 0);
	assert_int_equal((uint32_t)p[l2 + 44] << 24 | (uint32_t)p[l2 + 45] << 16 |
			     (uint32_t)p[l2 + 46] << 8 | p[l2 + 47],
			 mtu);
	assert_memory_equal(p + l2 + 48, o + l2, quote);
	memcpy(pseudo, p + l2 + 8, 32);
	pseudo[34] = (uint8_t)((8 + quote) >> 8);
	pseudo[35] = (uint8_t)(8 + quote);
	pseudo[39] = 58;
	s = sum16(pseudo, 40, 0);
	s = sum16(p + l2 + 40, 8 + quote, s);
	assert_int_equal(s, 0xffff);
}

/*
 * An IPv6 packet too big for the protected MTU gets an ICMPv6 Packet Too
 * Big with the largest inner packet that fits (1500 - 40 outer - 8 ESP
 * header - 8 IV - 16 ICV = 1428 for GCM, less its 2-byte trailer: 1426),
 * at most one per source in 100 ms, another source its own; none in
 * answer to an ICMPv6 error, from a multicast or unspecified source, or to
 * a multicast destination; an ICMPv6 echo request gets one. Each too big
 * packet is frag_needed.
 */
static void
test_ipv6_too_big_gets_packet_too_big(void **state)
{
	static struct gvpn_config cfg;
	struct gvpn_selector sel = v6_sel(0, 0, 0); /* every IPv6 packet */
	struct gvpn_ctrl_sa_params sp = {.group = 0, .esp = sa_conf(0x6106, 6)};
	uint8_t h1[16], h1b[16], h2[16], mc[16] = {0xff, 0x0e}, unspec[16] = {0};
	uint64_t want[GVPN_DROP_MAX] = {0};
	struct rte_mbuf *m[8], *orig[3], *r[8];
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;
	int tek, slot;

	(void)state;
	v6addr(h1, 1, 0x10);
	v6addr(h1b, 1, 0x11);
	v6addr(h2, 2, 0x20);
	mc[15] = 1;
	worker_and_ctrl(&cfg, BURST, 1500, 0, &w, &c);
	tek = gvpn_ctrl_tek_add(c, 0, &sel, 1);
	assert_true(tek >= 0);
	sp.tek = (uint16_t)tek;
	slot = gvpn_ctrl_sa_add(c, &sp);
	assert_true(slot >= 0);
	assert_int_equal(gvpn_ctrl_sa_activate(c, (uint16_t)slot), 0);
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);

	/* fits: encrypted; one byte more: too big, behind a tag; again from
	 * the same source: nothing; another source: its own */
	orig[0] = big6(h1, h2, IPPROTO_UDP, 9, 1426, 0);
	assert_int_equal(pass(w, 0, orig, 1), 1);
	orig[0] = big6(h1, h2, IPPROTO_UDP, 9, 1427, 1);
	orig[1] = big6(h1b, h2, IPPROTO_UDP, 9, 1400 + 40 + 100, 0);
	orig[2] = big6(h1, h2, IPPROTO_UDP, 9, 1500, 0);
	for (unsigned int i = 0; i < 3; i++)
		m[i] = rte_pktmbuf_copy(orig[i], pool, 0, UINT32_MAX);
	m[3] = m[1];
	m[1] = m[2];
	m[2] = m[3];
	gvpn_worker_outbound(w, 0, m, 3);
	assert_int_equal(drain(prot_tx), 0);
	assert_int_equal(rte_ring_dequeue_burst(clear_tx, (void **)r, 8, NULL), 2);
	check_ptb(r[0], orig[0], 1, 1426);
	check_ptb(r[1], orig[1], 0, 1426);
	assert_int_equal(gvpn_worker_stats(w)->icmp_sent, 2);
	want[GVPN_DROP_FRAG_NEEDED] = 3;
	expect_drops(w, want);
	for (unsigned int i = 0; i < 3; i++)
		rte_pktmbuf_free(orig[i]);
	for (unsigned int i = 0; i < 2; i++)
		rte_pktmbuf_free(r[i]);

	/* an ICMPv6 error (destination unreachable, type 1) and a packet
	 * too big (2), a multicast destination, multicast and unspecified
	 * sources: none; an echo request (128): one */
	v6addr(h1, 3, 0x30);
	m[0] = big6(h1, h2, IPPROTO_ICMPV6, 1, 1500, 0);
	m[1] = big6(h1, h2, IPPROTO_ICMPV6, 2, 1500, 0);
	m[2] = big6(h1, mc, IPPROTO_UDP, 9, 1500, 0);
	m[3] = big6(mc, h2, IPPROTO_UDP, 9, 1500, 0);
	m[4] = big6(unspec, h2, IPPROTO_UDP, 9, 1500, 0);
	orig[0] = big6(h1, h2, IPPROTO_ICMPV6, 128, 1500, 2);
	m[5] = rte_pktmbuf_copy(orig[0], pool, 0, UINT32_MAX);
	gvpn_worker_outbound(w, 0, m, 6);
	assert_int_equal(rte_ring_dequeue_burst(clear_tx, (void **)r, 8, NULL), 1);
	check_ptb(r[0], orig[0], 2, 1426);
	rte_pktmbuf_free(r[0]);
	rte_pktmbuf_free(orig[0]);
	assert_int_equal(gvpn_worker_stats(w)->icmp_sent, 3);
	want[GVPN_DROP_FRAG_NEEDED] += 6;
	expect_drops(w, want);

	/* 100 ms on, the first source may have one again */
	rte_delay_ms(110);
	v6addr(h1, 1, 0x10);
	m[0] = big6(h1, h2, IPPROTO_UDP, 9, 1500, 0);
	assert_int_equal(pass(w, 0, m, 1), 0);
	assert_int_equal(drain(clear_tx), 1);
	assert_int_equal(gvpn_worker_stats(w)->icmp_sent, 4);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
}

/* An IPv6 ESP worker over every IPv6 packet (GCM, SPI @p spi), the peer's
 * SA with its state in @p st. */
static void
v6_sa_worker(uint16_t mtu, uint32_t spi, struct gvpn_config *cfg, struct gvpn_worker **w,
	     struct gvpn_ctrl **c, struct gvpn_esp_lcore **peer, struct gvpn_esp_sa **peer_sa,
	     struct gvpn_esp_sa_state *st)
{
	struct gvpn_selector sel = v6_sel(0, 0, 0);
	struct gvpn_ctrl_sa_params sp = {.group = 0, .esp = sa_conf(spi, 7)};
	int tek, slot;

	worker_and_ctrl(cfg, BURST, mtu, 0, w, c);
	tek = gvpn_ctrl_tek_add(*c, 0, &sel, 1);
	assert_true(tek >= 0);
	sp.tek = (uint16_t)tek;
	slot = gvpn_ctrl_sa_add(*c, &sp);
	assert_true(slot >= 0);
	assert_int_equal(gvpn_ctrl_sa_activate(*c, (uint16_t)slot), 0);
	assert_int_equal(gvpn_ctrl_policy_update(*c), 0);
	settle(*c, *w, 1);
	*peer = gvpn_esp_lcore_create(&gvpn_crypto_openssl, SOCKET_ID_ANY, NULL);
	assert_non_null(*peer);
	sp.esp.af = GVPN_AF_IPV6;
	*peer_sa = gvpn_esp_sa_create(*peer, &sp.esp, SOCKET_ID_ANY);
	assert_non_null(*peer_sa);
	gvpn_esp_sa_state_init(st, *peer_sa, *peer);
}

/* The worker's ESP on the protected port, decrypted by the peer: @return
 * how many, in @p m. */
static unsigned int
peer_decrypt_all(struct gvpn_esp_lcore *peer, struct gvpn_esp_sa_state *st, uint32_t l2,
		 struct rte_mbuf *m[], unsigned int max)
{
	unsigned int n = rte_ring_dequeue_burst(prot_tx, (void **)m, max, NULL);

	for (unsigned int i = 0; i < n; i++) {
		struct gvpn_esp_sa_state *stp[1] = {st};

		m[i]->l2_len = l2;
		m[i]->l3_len = 40;
		assert_int_equal(gvpn_esp_decrypt_burst(peer, stp, &m[i], 1), 1);
	}
	return n;
}

/* Check @p f (decrypted, at @p l2) as fragment @p k of the @p unfrag bytes
 * long unfragmentable part of @p orig whose last next header field is at
 * @p nh_at (from the IPv6 header), carrying @p piece bytes from @p off:
 * the bytes built here from the original, all but the identification,
 * which it returns. */
static uint32_t
check_fragment6(const struct rte_mbuf *f, const struct rte_mbuf *orig, uint32_t l2, uint32_t unfrag,
		uint32_t nh_at, uint32_t off, uint32_t piece, int more)
{
	const uint8_t *o = rte_pktmbuf_mtod(orig, const uint8_t *);
	const uint8_t *got = rte_pktmbuf_mtod(f, const uint8_t *);
	uint8_t want[2048];
	uint32_t id;

	assert_int_equal(f->pkt_len, l2 + unfrag + 8 + piece);
	memcpy(want, o, l2 + unfrag);
	want[l2 + 4] = (uint8_t)((unfrag - 40 + 8 + piece) >> 8);
	want[l2 + 5] = (uint8_t)(unfrag - 40 + 8 + piece);
	want[l2 + nh_at] = 44;
	want[l2 + unfrag] = o[l2 + nh_at]; /* what the fragmentable part starts with */
	want[l2 + unfrag + 1] = 0;
	want[l2 + unfrag + 2] = (uint8_t)(off >> 8);
	want[l2 + unfrag + 3] = (uint8_t)(off | (more ? 1 : 0));
	memcpy(want + l2 + unfrag + 4, got + l2 + unfrag + 4, 4);
	memcpy(want + l2 + unfrag + 8, o + l2 + unfrag + off, piece);
	assert_memory_equal(got, want, f->pkt_len);
	memcpy(&id, got + l2 + unfrag + 4, 4);
	return id;
}

/*
 * dataplane.ipv6_too_big = "fragment": a packet too big for the protected
 * MTU is fragmented before encryption (RFC 8200 section 4.5): hop-by-hop,
 * destination options and routing headers stay in each fragment, the
 * destination options after the routing header go with the data; pieces of
 * a multiple of 8 bytes fit the largest inner packet (1426, see above), one
 * identification per packet, another for the next. A packet that carries a
 * fragment header already is frag_error. With "icmp" and a protected MTU
 * that leaves less than 1280 bytes, a packet of 1280 bytes is fragmented
 * too, and a bigger one's Packet Too Big says 1280.
 */
static void
test_ipv6_fragmented_before_encryption(void **state)
{
	static struct gvpn_config cfg;
	const struct ext6 chain[] = {{IPPROTO_HOPOPTS, 8, 0, 0},
				     {IPPROTO_DSTOPTS, 16, 0, 0},
				     {IPPROTO_ROUTING, 16, 0, 0},
				     {IPPROTO_DSTOPTS, 24, 0, 0}},
			  atomic[] = {{IPPROTO_FRAGMENT, 8, 0, 3}};
	uint64_t want[GVPN_DROP_MAX] = {0};
	struct rte_mbuf *m[8], *orig[2], *r[2];
	struct gvpn_esp_sa_state st;
	struct gvpn_esp_lcore *peer;
	struct gvpn_esp_sa *peer_sa;
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;
	uint32_t id[6];

	(void)state;
	too_big_mode = GVPN_IPV6_TOO_BIG_FRAGMENT;
	v6_sa_worker(1000, 0x6206, &cfg, &w, &c, &peer, &peer_sa, &st);
	too_big_mode = GVPN_IPV6_TOO_BIG_ICMP;

	/* 1900 bytes behind a tag under MTU 1000, (1000 - 72) & ~3 less 2 =
	 * 926 fit: 80 unfragmentable, 1820 in pieces of (926 - 88) & ~7 = 832 */
	for (unsigned int k = 0; k < 2; k++) {
		struct rte_ipv6_hdr *ip;
		uint8_t *more;

		orig[k] = v6_packet(1, 0x10, 2, 0x20, chain, 4, IPPROTO_UDP, 9, k);
		more = (uint8_t *)rte_pktmbuf_append(orig[k], 1900 - (orig[k]->data_len - 14));
		assert_non_null(more);
		for (unsigned int i = 0; i < 1900 - 40 - 64 - 8 - 64; i++)
			more[i] = (uint8_t)(i + k);
		ip = rte_pktmbuf_mtod_offset(orig[k], struct rte_ipv6_hdr *, 14);
		ip->payload_len = rte_cpu_to_be_16(1900 - 40);
		add_tags(orig[k], 1);
		m[k] = rte_pktmbuf_copy(orig[k], pool, 0, UINT32_MAX);
	}
	gvpn_worker_outbound(w, 0, m, 2);
	assert_int_equal(peer_decrypt_all(peer, &st, 18, m, 8), 6);
	for (unsigned int k = 0; k < 2; k++) {
		for (unsigned int i = 0; i < 3; i++) {
			const uint32_t off = i * 832, piece = i < 2 ? 832 : 1820 - 2 * 832;

			id[3 * k + i] =
			    check_fragment6(m[3 * k + i], orig[k], 18, 80, 64, off, piece, i < 2);
			assert_true(m[3 * k + i]->pkt_len - 18 <= 926);
			rte_pktmbuf_free(m[3 * k + i]);
		}
		assert_int_equal(id[3 * k], id[3 * k + 1]);
		assert_int_equal(id[3 * k], id[3 * k + 2]);
		rte_pktmbuf_free(orig[k]);
	}
	assert_int_not_equal(id[0], id[3]); /* one per packet */
	assert_int_equal(gvpn_worker_stats(w)->fragments_out, 6);
	assert_int_equal(gvpn_worker_stats(w)->encrypted, 6);
	/* an atomic fragment too big: frag_error */
	m[0] = v6_packet(1, 0x10, 2, 0x20, atomic, 1, IPPROTO_UDP, 9, 0);
	assert_non_null(rte_pktmbuf_append(m[0], 1200));
	rte_pktmbuf_mtod_offset(m[0], struct rte_ipv6_hdr *, 14)->payload_len =
	    rte_cpu_to_be_16((uint16_t)(m[0]->data_len - 14 - 40));
	want[GVPN_DROP_FRAG_ERROR] = 1;
	assert_int_equal(pass(w, 0, m, 1), 0);
	expect_drops(w, want);
	assert_int_equal(drain(clear_tx), 0);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
	gvpn_esp_sa_free(peer_sa);
	gvpn_esp_lcore_free(peer);

	/* "icmp" under MTU 1300: (1300 - 72) & ~3 less 2 = 1226 fit */
	v6_sa_worker(1300, 0x6306, &cfg, &w, &c, &peer, &peer_sa, &st);
	orig[0] =
	    big6((const uint8_t[16]){0x20, 1, 0xd, 0xb8, 0, 1, [15] = 1},
		 (const uint8_t[16]){0x20, 1, 0xd, 0xb8, 0, 2, [15] = 2}, IPPROTO_UDP, 9, 1280, 0);
	orig[1] =
	    big6((const uint8_t[16]){0x20, 1, 0xd, 0xb8, 0, 1, [15] = 1},
		 (const uint8_t[16]){0x20, 1, 0xd, 0xb8, 0, 2, [15] = 2}, IPPROTO_UDP, 9, 1281, 0);
	for (unsigned int k = 0; k < 2; k++)
		m[k] = rte_pktmbuf_copy(orig[k], pool, 0, UINT32_MAX);
	gvpn_worker_outbound(w, 0, m, 2);
	/* 40 unfragmentable, (1226 - 48) & ~7 = 1176 and 64 */
	assert_int_equal(peer_decrypt_all(peer, &st, 14, m, 8), 2);
	check_fragment6(m[0], orig[0], 14, 40, 6, 0, 1176, 1);
	check_fragment6(m[1], orig[0], 14, 40, 6, 1176, 64, 0);
	assert_int_equal(rte_ring_dequeue_burst(clear_tx, (void **)r, 2, NULL), 1);
	check_ptb(r[0], orig[1], 0, 1280);
	for (unsigned int k = 0; k < 2; k++) {
		rte_pktmbuf_free(m[k]);
		rte_pktmbuf_free(orig[k]);
	}
	rte_pktmbuf_free(r[0]);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
	gvpn_esp_sa_free(peer_sa);
	gvpn_esp_lcore_free(peer);
}

/* @p m behind an 802.1Q tag of VLAN @p vid (with priority bits set, which
 * are no part of the VLAN), outside any tags it has (802.1ad when it has). */
static void
tag_vid(struct rte_mbuf *m, uint16_t vid)
{
	uint8_t *p;

	assert_non_null(rte_pktmbuf_prepend(m, 4));
	p = rte_pktmbuf_mtod(m, uint8_t *);
	memmove(p, p + 4, 12);
	p[12] = p[16] == 0x81 ? 0x88 : 0x81;
	p[13] = p[16] == 0x81 ? 0xa8 : 0x00;
	p[14] = (uint8_t)(0xa0 | vid >> 8);
	p[15] = (uint8_t)vid;
}

/*
 * The vlan match: a bypass rule of VLAN 200 passes frames whose innermost
 * tag is 200 (behind an 802.1ad tag too) and no others, untagged ones
 * included; the flow cache tells the VLANs apart (the same addresses and
 * ports on VLAN 300 are no_rule after VLAN 200's passed, both ways through
 * the front). A TEK of VLAN 7 encrypts VLAN 7's packets alone; an IPv6
 * bypass rule of VLAN 300 passes VLAN 300's IPv6 packets alone.
 */
static void
test_vlan_rules_match_the_innermost_tag(void **state)
{
	static struct gvpn_config cfg;
	struct gvpn_selector tek = {.src = {A, 32},
				    .dst = {B, 32},
				    .proto = IPPROTO_UDP,
				    .sport_hi = 65535,
				    .dport_lo = 7,
				    .dport_hi = 7,
				    .vlan = 7};
	struct gvpn_ctrl_sa_params sp = {.group = 0, .esp = sa_conf(0x7007, 7)};
	uint64_t want[GVPN_DROP_MAX] = {0};
	struct rte_mbuf *m[8];
	struct gvpn_rule_hits h;
	struct gvpn_worker *w;
	struct gvpn_ctrl *c;
	int t, slot;

	(void)state;
	worker_and_ctrl(&cfg, BURST, 1500, 0, &w, &c);
	cfg.n_bypass = 2;
	cfg.bypass[0] = (struct gvpn_selector){
	    .src = {A, 32}, .dst = {B, 32}, .sport_hi = 65535, .dport_hi = 65535, .vlan = 200};
	cfg.bypass[1] = v6_sel(1, 2, 48);
	cfg.bypass[1].vlan = 300;
	t = gvpn_ctrl_tek_add(c, 0, &tek, 1);
	assert_true(t >= 0);
	sp.tek = (uint16_t)t;
	slot = gvpn_ctrl_sa_add(c, &sp);
	assert_true(slot >= 0);
	assert_int_equal(gvpn_ctrl_sa_activate(c, (uint16_t)slot), 0);
	assert_int_equal(gvpn_ctrl_policy_update(c), 0);
	settle(c, w, 1);

	/* VLAN 200 (also inside 802.1ad 100) passes; untagged, 300, and 100
	 * inside 200 do not (every tag has priority bits set: no part of
	 * the VLAN) */
	for (unsigned int i = 0; i < 5; i++)
		m[i] = udp_packet(A, B, i);
	tag_vid(m[0], 200);
	tag_vid(m[1], 200);
	tag_vid(m[1], 100);
	tag_vid(m[3], 300);
	tag_vid(m[4], 100);
	tag_vid(m[4], 200);
	want[GVPN_DROP_NO_RULE] = 3;
	assert_int_equal(pass(w, 0, m, 5), 2);
	expect_drops(w, want);
	/* the same five-tuple, cached for VLAN 200, on VLAN 300 and back */
	for (unsigned int i = 0; i < 3; i++) {
		m[i] = udp_packet(A, B, 10 + i);
		tag_vid(m[i], i == 1 ? 300 : 200);
	}
	want[GVPN_DROP_NO_RULE]++;
	assert_int_equal(pass(w, 0, m, 3), 2);
	expect_drops(w, want);
	gvpn_worker_rule_hits(w, &h);
	assert_int_equal(h.bypass[0], 4);

	/* the TEK of VLAN 7: encrypted on VLAN 7, no rule elsewhere */
	for (unsigned int i = 0; i < 3; i++) {
		struct rte_udp_hdr *u;

		m[i] = udp_packet(A, B, 20 + i);
		u = rte_pktmbuf_mtod_offset(m[i], struct rte_udp_hdr *, 14 + 20);
		u->dst_port = rte_cpu_to_be_16(7);
	}
	tag_vid(m[0], 7);
	tag_vid(m[2], 8);
	want[GVPN_DROP_NO_RULE] += 2;
	assert_int_equal(pass(w, 0, m, 3), 1);
	expect_drops(w, want);
	assert_int_equal(gvpn_worker_stats(w)->encrypted, 1);

	/* IPv6 of VLAN 300 alone */
	for (unsigned int i = 0; i < 3; i++)
		m[i] = v6_udp(9, i);
	tag_vid(m[0], 300);
	tag_vid(m[1], 200);
	want[GVPN_DROP_NO_RULE] += 2;
	assert_int_equal(pass(w, 0, m, 3), 1);
	expect_drops(w, want);
	gvpn_worker_rule_hits(w, &h);
	assert_int_equal(h.bypass[1], 1);
	gvpn_ctrl_free(c);
	gvpn_worker_free(w);
}

static void
test_ctrl_refuses_more_workers_than_it_addresses(void **state)
{
	static struct gvpn_config cfg;
	struct gvpn_worker *none[GVPN_CTRL_MAX_WORKERS + 1] = {NULL};
	struct gvpn_ctrl_conf cc = {.cfg = &cfg,
				    .workers = none,
				    .n_workers = GVPN_CTRL_MAX_WORKERS + 1,
				    .backend = &gvpn_crypto_ipsecmb};
	struct gvpn_ctrl *c;

	(void)state;
	rte_errno = 0;
	assert_null(gvpn_ctrl_create(&cc));
	assert_int_equal(rte_errno, E2BIG);
	cc.n_workers = 0;
	c = gvpn_ctrl_create(&cc);
	assert_non_null(c);
	gvpn_ctrl_free(c);
}

int
main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "--no-pci", "--no-shconf",	   "-l",
		       "0-1",	"-m",	     "512",	 "--no-telemetry", "--log-level=*:error"};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fragments_beyond_a_burst_all_leave),
	    cmocka_unit_test(test_sa_replaced_under_traffic_loses_nothing),
	    cmocka_unit_test(test_spi_the_worker_cannot_index_is_reported_and_counted),
	    cmocka_unit_test(test_ctrl_refuses_more_workers_than_it_addresses),
	    cmocka_unit_test(test_a_bypass_packet_counts_for_its_rule_and_no_other),
	    cmocka_unit_test(test_a_fail_open_packet_counts_for_its_rule),
	    cmocka_unit_test(test_a_tampered_esp_packet_counts_bad_icv_on_its_sa),
	    cmocka_unit_test(test_a_decrypted_packet_must_fall_in_its_sas_ports),
	    cmocka_unit_test(test_the_flow_key_has_each_field_in_place),
	    cmocka_unit_test(test_tagged_frames_keep_their_tags_both_ways),
	    cmocka_unit_test(test_ipv6_extension_headers_and_neighbour_discovery),
	    cmocka_unit_test(test_ipv6_fragments_are_reassembled_before_the_rules),
	    cmocka_unit_test(test_ipv6_rules_and_flows_both_ways),
	    cmocka_unit_test(test_ipv6_esp_both_ways),
	    cmocka_unit_test(test_ipv6_too_big_gets_packet_too_big),
	    cmocka_unit_test(test_ipv6_fragmented_before_encryption),
	    cmocka_unit_test(test_vlan_rules_match_the_innermost_tag),
	};

	(void)argc;
	if (rte_eal_init((int)ARRAY_LEN(eal), eal) < 0) {
		eal[5] = "0"; /* a one-core machine */
		if (rte_eal_init((int)ARRAY_LEN(eal), eal) < 0) {
			fprintf(stderr, "EAL: %s\n", rte_strerror(rte_errno));
			return 1;
		}
	}
	pool = rte_pktmbuf_pool_create("test", 2 * RING_SIZE - 1, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	clear_rx = ring("clear_rx");
	clear_tx = ring("clear_tx");
	prot_rx = ring("prot_rx");
	prot_tx = ring("prot_tx");
	clear_port = ring_port("clear", clear_rx, clear_tx);
	prot_port = ring_port("prot", prot_rx, prot_tx);
	return cmocka_run_group_tests_name("worker", tests, NULL, NULL);
}
