/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef ESP_TEST_UTIL_H
#define ESP_TEST_UTIL_H

/*
 * What the ESP tests share: the mbuf pool and EAL start, one SA on one
 * lcore context, inner packets, and packets forged with a good ICV around
 * a changed plaintext, and a check that a packet is dropped for exactly
 * one counted reason.
 */
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "test_util.h"
#include "gvpn_esp.h"

#define L2 RTE_ETHER_HDR_LEN

/** The pool every test packet comes from (esp_test_main() creates it). */
extern struct rte_mempool *esp_test_pool;

/** One SA on its own lcore context, with its sequence state. */
struct esp_fixture {
	struct gvpn_esp_lcore *lc;
	struct gvpn_esp_sa *sa;
	struct gvpn_esp_sa_state st;
};

/** Create @p f's context on @p be with IV seed @p seed and the SA @p c. */
void esp_fixture_init(struct esp_fixture *f, const struct gvpn_crypto_ops *be,
		      const struct gvpn_esp_sa_conf *c, const uint8_t seed[32]);

void esp_fixture_fini(struct esp_fixture *f);

/** An Ethernet frame carrying IPv4 (protocol 253) with @p plen bytes of payload. */
struct rte_mbuf *esp_inner_packet(uint16_t plen, uint8_t tos, int df);

/** Source and destination of esp_inner_packet6(): 2001:db8:1::1 and
 *  2001:db8:2::2. */
extern const uint8_t esp_test_src6[16], esp_test_dst6[16];

/**
 * An Ethernet frame carrying IPv6 (next header 253, hop limit 17) with
 * @p plen bytes of payload, traffic class @p tc and flow label @p flow.
 */
struct rte_mbuf *esp_inner_packet6(uint16_t plen, uint8_t tc, uint32_t flow);

/** The IPv4 header after the Ethernet header. */
static inline struct rte_ipv4_hdr *
esp_ip_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, L2);
}

/** The IPv6 header after m->l2_len bytes of link header. */
static inline struct rte_ipv6_hdr *
esp_ip6_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, m->l2_len);
}

/** Traffic class and flow label of an IPv6 header. */
static inline uint8_t
esp_tc_of(const struct rte_ipv6_hdr *ip)
{
	return (uint8_t)(rte_be_to_cpu_32(ip->vtc_flow) >> 20);
}

static inline uint32_t
esp_flow_of(const struct rte_ipv6_hdr *ip)
{
	return rte_be_to_cpu_32(ip->vtc_flow) & 0xfffff;
}

/**
 * Put @p n VLAN tags (1 or 2) between the MAC addresses and the EtherType
 * of @p m: one 802.1Q tag, or an 802.1ad S-tag then an 802.1Q C-tag; the
 * link header, m->l2_len, grows by 4 bytes a tag.
 */
void esp_add_vlan_tags(struct rte_mbuf *m, unsigned int n);

/** Bytes of the outer IP header of @p f's SA: 20 (IPv4) or 40 (IPv6). */
static inline uint32_t
esp_outer_len(const struct esp_fixture *f)
{
	return f->sa->af == GVPN_AF_IPV6 ? 40 : 20;
}

/** An inner packet of @p f's family with @p plen payload bytes,
 *  encrypted with @p f. */
struct rte_mbuf *esp_encrypt_one(struct esp_fixture *f, uint16_t plen);

/** Changes a decrypted payload; may change its length @p clen. */
typedef void (*esp_mangle_fn)(uint8_t *plain, uint32_t *clen);

/**
 * Encrypt an inner packet of 30 payload bytes with @p f (a CBC SA: 16-byte
 * IV, 12-byte ICV; IPv4 or IPv6), decrypt it in place, let @p mangle change
 * the plaintext and seal it again, so that the ICV is good and only the
 * plaintext is wrong.
 */
struct rte_mbuf *esp_forged_packet(struct esp_fixture *f, esp_mangle_fn mangle);

/**
 * Decrypt @p m alone and free it: accepted when @p ok, else dropped and
 * counted as @p why and nothing else, in the lcore's counters and in the
 * SA's. @p what names the case in a failure.
 */
void esp_decrypt_one_expect(struct esp_fixture *f, struct rte_mbuf *m, int ok,
			    enum gvpn_esp_drop why, const char *what);

/** Start EAL, create a pool of @p n_mbufs and run @p tests. */
int esp_test_main(const char *argv0, const char *name, const struct CMUnitTest *tests,
		  size_t n_tests, unsigned int n_mbufs);

#endif /* ESP_TEST_UTIL_H */
