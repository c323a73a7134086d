/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the ESP parsers.
 *
 * First input byte: bits 0-1 choose the path, the rest the SA, modulo
 * their number: sas[] below, IPv4 SAs then IPv6 ones (two of them, 3 and 8,
 * have a time-based anti-replay window, so their payloads start with a
 * delay-detection stamp). Keys are all zero.
 *   0: the bytes are an ESP packet (outer IP header onwards) to decrypt; for
 *      an IPv6 SA, m->l3_len is where the extension headers in front of
 *      ESP end, as the worker's parse stage finds it;
 *   1: the bytes are an inner packet to encrypt;
 *   2: the bytes are the plaintext of an ESP payload (stamp, inner packet,
 *      padding, pad length, next header), sealed with a valid ICV first, so
 *      that the checks after the ICV, the stamp parser among them, see
 *      arbitrary input too;
 *   3: the bytes are an inner packet to encrypt and decrypt again.
 * Seeds (corpus/esp/): for each path, packets of both families.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "gvpn_esp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rte_mempool *pool;
static struct gvpn_esp_lcore *lc;
static const struct {
	enum gvpn_cipher c;
	uint8_t klen;
	enum gvpn_auth a;
	uint8_t alen;
	uint16_t window;
	uint8_t af;
} sas[] = {
    {GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96, 20, 0, GVPN_AF_IPV4},
    {GVPN_CIPHER_3DES_CBC, 24, GVPN_AUTH_HMAC_MD5_96, 16, 0, GVPN_AF_IPV4},
    {GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE, 0, 0, GVPN_AF_IPV4},
    {GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96, 20, 5, GVPN_AF_IPV4},
    {GVPN_CIPHER_AES_GMAC, 20, GVPN_AUTH_NONE, 0, 0, GVPN_AF_IPV4},
    {GVPN_CIPHER_AES_CBC, 32, GVPN_AUTH_HMAC_SHA512_256, 64, 0, GVPN_AF_IPV4},
    {GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96, 20, 0, GVPN_AF_IPV6},
    {GVPN_CIPHER_AES_GCM, 20, GVPN_AUTH_NONE, 0, 0, GVPN_AF_IPV6},
    {GVPN_CIPHER_AES_CBC, 16, GVPN_AUTH_HMAC_SHA1_96, 20, 5, GVPN_AF_IPV6},
    {GVPN_CIPHER_3DES_CBC, 24, GVPN_AUTH_HMAC_MD5_96, 16, 0, GVPN_AF_IPV6},
    {GVPN_CIPHER_AES_GMAC, 20, GVPN_AUTH_NONE, 0, 0, GVPN_AF_IPV6},
};
#define N_SAS (sizeof(sas) / sizeof(sas[0]))

static struct gvpn_esp_sa_state st[N_SAS];

static void
cleanup(void)
{
	for (size_t i = 0; i < N_SAS; i++)
		gvpn_esp_sa_free((struct gvpn_esp_sa *)(uintptr_t)st[i].sa);
	gvpn_esp_lcore_free(lc);
	rte_mempool_free(pool);
	rte_eal_cleanup();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = {
	    (*argv)[0], "--no-huge", "--no-pci", "--no-shconf",	   "-l",
	    "0",	"-m",	     "128",	 "--no-telemetry", "--log-level=lib.*:error"};

	(void)argc;
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0)
		abort();
	pool = rte_pktmbuf_pool_create("fuzz", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	lc = gvpn_esp_lcore_create(&gvpn_crypto_ipsecmb, 0, NULL);
	if (pool == NULL || lc == NULL)
		abort();
	for (size_t i = 0; i < N_SAS; i++) {
		struct gvpn_esp_sa_conf c = {
		    .spi = 0x1001, .replay_window_s = sas[i].window, .af = sas[i].af};
		struct gvpn_esp_sa *sa;

		c.xform.cipher = sas[i].c;
		c.xform.cipher_key_len = sas[i].klen;
		c.xform.auth = sas[i].a;
		c.xform.auth_key_len = sas[i].alen;
		sa = gvpn_esp_sa_create(lc, &c, 0);
		if (sa == NULL)
			abort();
		gvpn_esp_sa_state_init(&st[i], sa, lc);
	}
	atexit(cleanup);
	return 0;
}

/* Wrap @p plain as an ESP payload of SA @p s with a valid ICV, behind an
 * outer header of the SA's family. */
static int
seal(struct rte_mbuf *m, const struct gvpn_esp_sa_state *s, const uint8_t *plain, size_t n)
{
	const struct gvpn_esp_sa *sa = s->sa;
	const size_t ol = sa->af == GVPN_AF_IPV6 ? 40 : 20;
	size_t blk = sa->block_mask + 1u, clen = n - n % blk;
	size_t total = ol + 8 + sa->iv_len + clen + sa->icv_len;
	struct gvpn_crypto_op op = {0};
	uint8_t status, *p;

	if (clen == 0 || total > 1500)
		return -1;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)total);
	if (p == NULL)
		return -1;
	memset(p, 0, total);
	if (ol == 40) {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)p;

		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16((uint16_t)(total - ol));
		ip->proto = GVPN_IPPROTO_ESP;
		m->l3_len = 40;
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;

		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16((uint16_t)total);
		ip->next_proto_id = GVPN_IPPROTO_ESP;
	}
	memcpy(p + ol, &sa->spi, 4);
	memcpy(p + ol + 8 + sa->iv_len, plain, clen);
	op.sess = sa->sess;
	op.iv = p + ol + 8;
	op.auth = p + ol;
	op.auth_len = (uint32_t)(8 + sa->iv_len + clen);
	op.data = p + ol + 8 + sa->iv_len;
	op.data_len = (uint32_t)clen;
	op.icv = op.data + clen;
	lc->backend->process(lc->engine, &op, &status, 1, 0);
	return status == GVPN_CRYPTO_OK ? 0 : -1;
}

/* The ESP header's offset in the IPv6 packet @p p of @p n bytes, as the
 * worker's parse stage finds it: after the hop-by-hop, routing and
 * destination options headers; 40 if the chain is not that. */
static uint16_t
esp_offset6(const uint8_t *p, size_t n)
{
	size_t off = 40;
	uint8_t nh;

	if (n < 40)
		return 40;
	nh = p[6];
	while ((nh == 0 || nh == 43 || nh == 60) && off + 8 <= n) {
		nh = p[off];
		off += (p[off + 1] + 1u) * 8;
	}
	return nh == GVPN_IPPROTO_ESP && off <= n && off < 512 ? (uint16_t)off : 40;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gvpn_esp_sa_state *s[1];
	struct rte_mbuf *m;
	unsigned int mode, which;
	char *p;

	if (size < 1)
		return 0;
	mode = data[0] & 3;
	which = (data[0] >> 2) % N_SAS;
	s[0] = &st[which];
	data++;
	size--;
	m = rte_pktmbuf_alloc(pool);
	if (m == NULL)
		abort();
	m->l2_len = 0;
	if (mode == 2) {
		if (seal(m, s[0], data, size) != 0) {
			rte_pktmbuf_free(m);
			return 0;
		}
	} else {
		if (size > 1600 || (p = rte_pktmbuf_append(m, (uint16_t)size)) == NULL) {
			rte_pktmbuf_free(m);
			return 0;
		}
		memcpy(p, data, size);
		if (mode == 0 && sas[which].af == GVPN_AF_IPV6)
			m->l3_len = esp_offset6(data, size);
	}
	if (mode == 1)
		gvpn_esp_encrypt_burst(lc, s, &m, 1);
	else if (mode == 3) {
		if (gvpn_esp_encrypt_burst(lc, s, &m, 1) == 1 &&
		    gvpn_esp_decrypt_burst(lc, s, &m, 1) != 1)
			abort(); /* what we sealed must open */
	} else
		gvpn_esp_decrypt_burst(lc, s, &m, 1);
	rte_pktmbuf_free(m);
	return 0;
}
