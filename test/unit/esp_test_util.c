/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>

#include <rte_eal.h>

#include "esp_test_util.h"

struct rte_mempool *esp_test_pool;

void
esp_fixture_init(struct esp_fixture *f, const struct gvpn_crypto_ops *be,
		 const struct gvpn_esp_sa_conf *c, const uint8_t seed[32])
{
	f->lc = gvpn_esp_lcore_create(be, SOCKET_ID_ANY, seed);
	assert_non_null(f->lc);
	f->sa = gvpn_esp_sa_create(f->lc, c, SOCKET_ID_ANY);
	assert_non_null(f->sa);
	gvpn_esp_sa_state_init(&f->st, f->sa, f->lc);
}

void
esp_fixture_fini(struct esp_fixture *f)
{
	gvpn_esp_sa_free(f->sa);
	gvpn_esp_lcore_free(f->lc);
}

struct rte_mbuf *
esp_inner_packet(uint16_t plen, uint8_t tos, int df)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(esp_test_pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	uint8_t *p;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(L2 + 20 + plen));
	if (p == NULL)
		abort();
	eth = (struct rte_ether_hdr *)p;
	memset(p, 0x02, 6);	/* destination MAC */
	memset(p + 6, 0x04, 6); /* source MAC */
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = tos;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + plen));
	ip->packet_id = rte_cpu_to_be_16(0x1234);
	ip->fragment_offset = df ? rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG) : 0;
	ip->time_to_live = 17;
	ip->next_proto_id = 253; /* RFC 3692 experimental */
	ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(10, 1, 0, 1));
	ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(10, 2, 0, 2));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	p = (uint8_t *)(ip + 1);
	for (uint16_t i = 0; i < plen; i++)
		p[i] = (uint8_t)(i * 7 + plen);
	m->l2_len = L2;
	return m;
}

const uint8_t esp_test_src6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1};
const uint8_t esp_test_dst6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 2};

struct rte_mbuf *
esp_inner_packet6(uint16_t plen, uint8_t tc, uint32_t flow)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(esp_test_pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv6_hdr *ip;
	uint8_t *p;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(L2 + 40 + plen));
	if (p == NULL)
		abort();
	eth = (struct rte_ether_hdr *)p;
	memset(p, 0x02, 6);	/* destination MAC */
	memset(p + 6, 0x04, 6); /* source MAC */
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	ip = (struct rte_ipv6_hdr *)(eth + 1);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28 | (uint32_t)tc << 20 | (flow & 0xfffff));
	ip->payload_len = rte_cpu_to_be_16(plen);
	ip->proto = 253; /* RFC 3692 experimental */
	ip->hop_limits = 17;
	memcpy(ip->src_addr, esp_test_src6, 16);
	memcpy(ip->dst_addr, esp_test_dst6, 16);
	p = (uint8_t *)(ip + 1);
	for (uint16_t i = 0; i < plen; i++)
		p[i] = (uint8_t)(i * 7 + plen + 3);
	m->l2_len = L2;
	return m;
}

void
esp_add_vlan_tags(struct rte_mbuf *m, unsigned int n)
{
	static const uint8_t tags[2][4] = {{0x88, 0xa8, 0x00, 0x64}, {0x81, 0x00, 0x20, 0x0a}};
	uint8_t *p = (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)(4 * n));

	assert_non_null(p);
	assert_true(n == 1 || n == 2);
	memmove(p, p + 4 * n, 12); /* the MAC addresses */
	/* 802.1ad S-tag (VID 100), 802.1Q C-tag (PCP 1, VID 10) */
	memcpy(p + 12, tags[2 - n], 4 * n);
	m->l2_len += 4 * n;
}

struct rte_mbuf *
esp_encrypt_one(struct esp_fixture *f, uint16_t plen)
{
	struct gvpn_esp_sa_state *st[1] = {&f->st};
	struct rte_mbuf *m = f->sa->af == GVPN_AF_IPV6 ? esp_inner_packet6(plen, 0, 0)
						       : esp_inner_packet(plen, 0, 0);

	assert_int_equal(gvpn_esp_encrypt_burst(f->lc, st, &m, 1), 1);
	return m;
}

struct rte_mbuf *
esp_forged_packet(struct esp_fixture *f, esp_mangle_fn mangle)
{
	enum { ESP_HDR = 8, IV_LEN = 16, ICV_LEN = 12 };
	struct rte_mbuf *m = esp_encrypt_one(f, 30);
	const uint32_t ol = esp_outer_len(f);
	struct gvpn_crypto_op op = {0};
	uint8_t status, *esp;
	uint32_t clen;

	esp = rte_pktmbuf_mtod_offset(m, uint8_t *, L2 + ol);
	clen = m->data_len - L2 - ol - ESP_HDR - IV_LEN - ICV_LEN;
	op.sess = f->sa->sess;
	op.iv = esp + ESP_HDR;
	op.auth = esp;
	op.auth_len = ESP_HDR + IV_LEN + clen;
	op.data = esp + ESP_HDR + IV_LEN;
	op.data_len = clen;
	op.icv = op.data + clen;
	f->lc->backend->process(f->lc->engine, &op, &status, 1, 1);
	assert_int_equal(status, GVPN_CRYPTO_OK);
	mangle(esp + ESP_HDR + IV_LEN, &clen);
	/* a new length moves the ICV and the outer total (payload) length */
	if (ol == 40)
		esp_ip6_of(m)->payload_len =
		    rte_cpu_to_be_16((uint16_t)(ESP_HDR + IV_LEN + clen + ICV_LEN));
	else
		esp_ip_of(m)->total_length =
		    rte_cpu_to_be_16((uint16_t)(20 + ESP_HDR + IV_LEN + clen + ICV_LEN));
	m->data_len = m->pkt_len = L2 + ol + ESP_HDR + IV_LEN + clen + ICV_LEN;
	op.data_len = clen;
	op.auth_len = ESP_HDR + IV_LEN + clen;
	op.icv = op.data + clen;
	f->lc->backend->process(f->lc->engine, &op, &status, 1, 0);
	assert_int_equal(status, GVPN_CRYPTO_OK);
	return m;
}

void
esp_decrypt_one_expect(struct esp_fixture *f, struct rte_mbuf *m, int ok, enum gvpn_esp_drop why,
		       const char *what)
{
	struct gvpn_esp_sa_state *st[1] = {&f->st};
	struct gvpn_esp_stats before = f->lc->stats;
	struct gvpn_esp_sa_drops sa_before = f->st.drops;
	struct rte_mbuf *pk[1] = {m};

	if (gvpn_esp_decrypt_burst(f->lc, st, pk, 1) != (ok ? 1 : 0))
		fail_msg("%s: %s", what, ok ? "dropped" : "accepted");
	assert_ptr_equal(pk[0], m);
	for (int d = 0; d < GVPN_ESP_DROP_MAX; d++) {
		if (f->lc->stats.drop[d] - before.drop[d] != (!ok && d == (int)why))
			fail_msg("%s: counted as '%s', expected '%s'", what, gvpn_esp_drop_id(d),
				 ok ? "nothing" : gvpn_esp_drop_id(why));
		/* the same, against the SA the packet came under */
		if (f->st.drops.drop[d] - sa_before.drop[d] != (!ok && d == (int)why))
			fail_msg("%s: the SA counted '%s', expected '%s'", what,
				 gvpn_esp_drop_id(d), ok ? "nothing" : gvpn_esp_drop_id(why));
	}
	rte_pktmbuf_free(m);
}

int
esp_test_main(const char *argv0, const char *name, const struct CMUnitTest *tests, size_t n_tests,
	      unsigned int n_mbufs)
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
		       "--log-level=lib.eal:error"};

	if (rte_eal_init((int)ARRAY_LEN(eal), eal) < 0)
		return 1;
	esp_test_pool = rte_pktmbuf_pool_create("test", n_mbufs, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
						SOCKET_ID_ANY);
	if (esp_test_pool == NULL)
		return 1;
	return _cmocka_run_group_tests(name, tests, n_tests, NULL, NULL);
}
