/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gvpn-espcost: what the ESP layer's own work costs per packet, in TSC
 * cycles, apart from the rest of the pipeline and, by default, apart from
 * the crypto: a burst of one SA's packets is encapsulated
 * (gvpn_esp_encrypt_burst) and decapsulated again (gvpn_esp_decrypt_burst),
 * over and over, each timed alone. The packets and the SA state stay hot in
 * the cache, so the figures are the instructions' cost without the misses a
 * packet fresh from a port brings: the floor under profile.sh's
 * "encapsulation" and "decapsulation" rows, and a steady measure of a
 * change to them on a machine whose profile is noisy.
 *
 * --crypto none (the default) hands the operations to a pass-through
 * backend of this tool that leaves the bytes as they are and reports every
 * operation good: ESP's checks all run, on a payload that is still clear.
 * --crypto ipsecmb uses the real backend, crypto included.
 *
 * Every round trip must give back the frames it started with: the tool
 * compares them at the end, and fails (exit 1) on any difference or drop.
 *
 * Usage: gvpn-espcost [--alg aes128-gcm|aes128-cbc-sha1] [--size FRAME]
 *                     [--burst N] [--reps N] [--crypto none|ipsecmb] [--cpu N]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "gvpn_esp.h"

#define L2 ((uint16_t)sizeof(struct rte_ether_hdr))
#define IP_UDP ((uint16_t)(sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr)))

struct args {
	const char *alg;
	const char *crypto;
	unsigned int size, burst, reps, cpu;
};

/* The pass-through backend: sessions hold nothing, every operation is good
 * and no byte changes. */
static int
pass_session_init(void *engine, void *sess, const struct gvpn_crypto_xform *x)
{
	(void)engine;
	(void)sess;
	(void)x;
	return 0;
}

static void
pass_session_clear(void *sess)
{
	(void)sess;
}

static void *
pass_engine_create(void)
{
	static int engine;

	return &engine;
}

static void
pass_engine_free(void *engine)
{
	(void)engine;
}

static uint16_t
pass_process(void *engine, struct gvpn_crypto_op ops[], uint8_t status[], uint16_t n, int decrypt)
{
	(void)engine;
	(void)ops;
	(void)decrypt;
	memset(status, GVPN_CRYPTO_OK, n);
	return n;
}

static const struct gvpn_crypto_ops pass_backend = {
    .name = "none",
    .session_size = 64,
    .session_init = pass_session_init,
    .session_clear = pass_session_clear,
    .engine_create = pass_engine_create,
    .engine_free = pass_engine_free,
    .process = pass_process,
};

static void
usage(void)
{
	fprintf(stderr, "usage: gvpn-espcost [--alg aes128-gcm|aes128-cbc-sha1] [--size FRAME]\n"
			"                    [--burst N] [--reps N] [--crypto none|ipsecmb] "
			"[--cpu N]\n");
}

static int
parse_uint(const char *s, unsigned int lo, unsigned int hi, unsigned int *v)
{
	char *end;
	unsigned long x = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || x < lo || x > hi)
		return -1;
	*v = (unsigned int)x;
	return 0;
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
	    {"alg", required_argument, NULL, 'a'},    {"size", required_argument, NULL, 's'},
	    {"burst", required_argument, NULL, 'b'},  {"reps", required_argument, NULL, 'r'},
	    {"crypto", required_argument, NULL, 'c'}, {"cpu", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0}};
	int c;

	*a = (struct args){"aes128-gcm", "none", 64, 32, 200000, 1};
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			a->alg = optarg;
			break;
		case 'c':
			a->crypto = optarg;
			break;
		case 's':
			if (parse_uint(optarg, L2 + IP_UDP, 1500, &a->size) != 0)
				goto bad;
			break;
		case 'b':
			if (parse_uint(optarg, 1, GVPN_ESP_BURST_MAX, &a->burst) != 0)
				goto bad;
			break;
		case 'r':
			if (parse_uint(optarg, 1, 100000000, &a->reps) != 0)
				goto bad;
			break;
		case 'p':
			if (parse_uint(optarg, 0, RTE_MAX_LCORE - 1, &a->cpu) != 0)
				goto bad;
			break;
		default:
			goto bad;
		}
	}
	if (optind != argc ||
	    (strcmp(a->alg, "aes128-gcm") != 0 && strcmp(a->alg, "aes128-cbc-sha1") != 0) ||
	    (strcmp(a->crypto, "none") != 0 && strcmp(a->crypto, "ipsecmb") != 0))
		goto bad;
	return 0;
bad:
	usage();
	return -1;
}

/* An Ethernet | IPv4 | UDP frame of @p size bytes, one flow per packet. */
static struct rte_mbuf *
frame(struct rte_mempool *mp, unsigned int size, unsigned int i)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint8_t *p;

	if (m == NULL || (p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)size)) == NULL)
		return NULL;
	memset(p, 0, size);
	eth = (struct rte_ether_hdr *)p;
	memset(&eth->dst_addr, 0x02, RTE_ETHER_ADDR_LEN);
	memset(&eth->src_addr, 0x04, RTE_ETHER_ADDR_LEN);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(size - L2));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(10, 1, 0, 1));
	ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(10, 2, (i >> 8) & 0xff, i & 0xff));
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = rte_cpu_to_be_16((uint16_t)(1024 + i));
	udp->dst_port = rte_cpu_to_be_16(9);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(size - L2 - sizeof(*ip)));
	m->l2_len = L2;
	return m;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, uint64_t t[], unsigned int reps, unsigned int burst)
{
	qsort(t, reps, sizeof(t[0]), cmp_u64);
	printf("%-12s min %6.1f  median %6.1f  p90 %6.1f cycles per packet\n", what,
	       (double)t[0] / burst, (double)t[reps / 2] / burst, (double)t[reps * 9 / 10] / burst);
}

int
main(int argc, char **argv)
{
	char cpu[16];
	char *eal[] = {
	    argv[0], "--no-huge", "--no-pci", "--no-shconf",	"-l",
	    cpu,     "-m",	  "64",	      "--no-telemetry", "--log-level=lib.*:error"};
	struct rte_mbuf *pkts[GVPN_ESP_BURST_MAX], *ref[GVPN_ESP_BURST_MAX];
	struct gvpn_esp_sa_state st, *sts[GVPN_ESP_BURST_MAX];
	const struct gvpn_crypto_ops *be;
	struct gvpn_esp_sa_conf conf;
	struct gvpn_esp_lcore *lc;
	struct gvpn_esp_sa *sa;
	struct rte_mempool *mp;
	uint64_t *enc, *dec;
	struct args a;
	int bad = 0;

	if (parse_args(argc, argv, &a) != 0)
		return 2;
	snprintf(cpu, sizeof(cpu), "%u", a.cpu);
	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "gvpn-espcost: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	be = strcmp(a.crypto, "none") == 0 ? &pass_backend : gvpn_crypto_find(a.crypto);
	memset(&conf, 0, sizeof(conf));
	conf.spi = 0x1000;
	if (strcmp(a.alg, "aes128-gcm") == 0) {
		conf.xform.cipher = GVPN_CIPHER_AES_GCM;
		conf.xform.cipher_key_len = 20;
	} else {
		conf.xform.cipher = GVPN_CIPHER_AES_CBC;
		conf.xform.cipher_key_len = 16;
		conf.xform.auth = GVPN_AUTH_HMAC_SHA1_96;
		conf.xform.auth_key_len = 20;
		memset(conf.xform.auth_key, 0x5a, conf.xform.auth_key_len);
	}
	memset(conf.xform.cipher_key, 0xa5, conf.xform.cipher_key_len);
	mp = rte_pktmbuf_pool_create("espcost", 2 * GVPN_ESP_BURST_MAX + 63, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	lc = gvpn_esp_lcore_create(be, SOCKET_ID_ANY, NULL);
	sa = lc != NULL ? gvpn_esp_sa_create(lc, &conf, SOCKET_ID_ANY) : NULL;
	enc = calloc(a.reps, sizeof(*enc));
	dec = calloc(a.reps, sizeof(*dec));
	if (mp == NULL || sa == NULL || enc == NULL || dec == NULL) {
		fprintf(stderr, "gvpn-espcost: set-up: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	gvpn_esp_sa_state_init(&st, sa, lc);
	for (unsigned int i = 0; i < a.burst; i++) {
		pkts[i] = frame(mp, a.size, i);
		ref[i] = frame(mp, a.size, i);
		sts[i] = &st;
		if (pkts[i] == NULL || ref[i] == NULL) {
			fprintf(stderr, "gvpn-espcost: no mbufs\n");
			return 1;
		}
	}
	for (unsigned int r = 0; r < a.reps && !bad; r++) {
		uint64_t t0, t1, t2;
		uint16_t ne, nd;

		t0 = rte_rdtsc_precise();
		ne = gvpn_esp_encrypt_burst(lc, sts, pkts, (uint16_t)a.burst);
		t1 = rte_rdtsc_precise();
		nd = gvpn_esp_decrypt_burst(lc, sts, pkts, ne);
		t2 = rte_rdtsc_precise();
		enc[r] = t1 - t0;
		dec[r] = t2 - t1;
		bad = ne != a.burst || nd != a.burst;
	}
	for (unsigned int i = 0; i < a.burst && !bad; i++)
		bad = pkts[i]->data_len != ref[i]->data_len ||
		      memcmp(rte_pktmbuf_mtod(pkts[i], void *), rte_pktmbuf_mtod(ref[i], void *),
			     ref[i]->data_len) != 0;
	if (bad) {
		fprintf(stderr, "gvpn-espcost: a round trip did not give back its frame\n");
		return 1;
	}
	printf("%s %u B, burst %u, %u rounds, crypto %s, TSC %.0f MHz\n", a.alg, a.size, a.burst,
	       a.reps, a.crypto, (double)rte_get_tsc_hz() / 1e6);
	report("encapsulate", enc, a.reps, a.burst);
	report("decapsulate", dec, a.reps, a.burst);
	free(enc);
	free(dec);
	gvpn_esp_sa_free(sa);
	gvpn_esp_lcore_free(lc);
	rte_eal_cleanup();
	return 0;
}
