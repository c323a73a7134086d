/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gvpn-esptool: run the ESP library over a pcap file, for interop tests
 * with independent ESP implementations and for the demo.
 *
 *   gvpn-esptool encrypt|decrypt [options] IN.pcap OUT.pcap
 *
 * Ethernet (VLAN tags included) or raw-IP captures; the link header is
 * kept. The SA's family (--family) is that of the inner and outer packets.
 * Prints what it did and every drop by reason on stderr; exit 0 after
 * processing, 2 on a usage error, 1 on any other failure.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include "gvpn_esp.h"

#define BURST 32

static void
usage(void)
{
	fprintf(
	    stderr,
	    "usage: gvpn-esptool encrypt|decrypt [options] IN.pcap OUT.pcap\n"
	    "  --backend ipsecmb|openssl   crypto backend (ipsecmb)\n"
	    "  --spi N                     SPI, decimal or 0x hex (required)\n"
	    "  --cipher NAME               des-cbc 3des-cbc aes-cbc aes-gcm aes-gmac (required)\n"
	    "  --key HEX                   cipher key; aes-gcm, aes-gmac: key then 4-byte salt\n"
	    "  --auth NAME                 hmac-md5-96 hmac-sha1-96 hmac-sha256-128\n"
	    "                              hmac-sha384-192 hmac-sha512-256 none\n"
	    "  --auth-key HEX              integrity key\n"
	    "  --df clear|set|copy         outer DF bit (clear)\n"
	    "  --ttl N                     outer TTL or hop limit, 0 copies the inner one (64)\n"
	    "  --family ipv4|ipv6          the SA's address family (ipv4)\n"
	    "  --seed HEX                  32-byte IV generator seed (reproducible output)\n"
	    "  --replay-window S           time-based anti-replay window, seconds (0: off)\n");
}

struct args {
	int decrypt;
	const char *backend;
	struct gvpn_esp_sa_conf conf;
	uint8_t seed[32];
	int has_seed;
	const char *in, *out;
};

static int
parse_key(const char *s, uint8_t *out, uint8_t *len, size_t cap, const char *what)
{
	int n = gvpn_hex_parse(s, out, cap);

	if (n < 0) {
		fprintf(stderr, "gvpn-esptool: %s: not a hex string of at most %zu bytes\n", what,
			cap);
		return -1;
	}
	*len = (uint8_t)n;
	return 0;
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
	    {"backend", required_argument, NULL, 'b'},
	    {"spi", required_argument, NULL, 's'},
	    {"cipher", required_argument, NULL, 'c'},
	    {"key", required_argument, NULL, 'k'},
	    {"auth", required_argument, NULL, 'a'},
	    {"auth-key", required_argument, NULL, 'K'},
	    {"df", required_argument, NULL, 'd'},
	    {"ttl", required_argument, NULL, 't'},
	    {"seed", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {"replay-window", required_argument, NULL, 'w'},
	    {"family", required_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	int has_cipher = 0, opt;
	char *end;

	memset(a, 0, sizeof(*a));
	a->backend = "ipsecmb";
	a->conf.ttl = 64;
	a->conf.xform.auth = GVPN_AUTH_NONE;
	if (argc < 2) {
		usage();
		return -1;
	}
	if (strcmp(argv[1], "decrypt") == 0)
		a->decrypt = 1;
	else if (strcmp(argv[1], "encrypt") != 0) {
		usage();
		return -1;
	}
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			a->backend = optarg;
			break;
		case 's':
			errno = 0;
			unsigned long spi = strtoul(optarg, &end, 0);
			if (errno != 0 || *end != '\0' || spi > UINT32_MAX) {
				fprintf(stderr, "gvpn-esptool: --spi: not a 32-bit number\n");
				return -1;
			}
			a->conf.spi = (uint32_t)spi;
			break;
		case 'c':
			if (gvpn_cipher_parse(optarg, &a->conf.xform.cipher) != 0) {
				fprintf(stderr, "gvpn-esptool: --cipher: unknown '%s'\n", optarg);
				return -1;
			}
			has_cipher = 1;
			break;
		case 'k':
			if (parse_key(optarg, a->conf.xform.cipher_key,
				      &a->conf.xform.cipher_key_len, GVPN_KEY_MAX, "--key") != 0)
				return -1;
			break;
		case 'a':
			if (gvpn_auth_parse(optarg, &a->conf.xform.auth) != 0) {
				fprintf(stderr, "gvpn-esptool: --auth: unknown '%s'\n", optarg);
				return -1;
			}
			break;
		case 'K':
			if (parse_key(optarg, a->conf.xform.auth_key, &a->conf.xform.auth_key_len,
				      GVPN_KEY_MAX, "--auth-key") != 0)
				return -1;
			break;
		case 'd':
			if (strcmp(optarg, "clear") == 0)
				a->conf.df = GVPN_DF_CLEAR;
			else if (strcmp(optarg, "set") == 0)
				a->conf.df = GVPN_DF_SET;
			else if (strcmp(optarg, "copy") == 0)
				a->conf.df = GVPN_DF_COPY;
			else {
				fprintf(stderr, "gvpn-esptool: --df: clear, set or copy\n");
				return -1;
			}
			break;
		case 't':
			errno = 0;
			unsigned long ttl = strtoul(optarg, &end, 0);
			if (errno != 0 || *end != '\0' || ttl > 255) {
				fprintf(stderr, "gvpn-esptool: --ttl: 0..255\n");
				return -1;
			}
			a->conf.ttl = (uint8_t)ttl;
			break;
		case 'f':
			if (strcmp(optarg, "ipv4") == 0)
				a->conf.af = GVPN_AF_IPV4;
			else if (strcmp(optarg, "ipv6") == 0)
				a->conf.af = GVPN_AF_IPV6;
			else {
				fprintf(stderr, "gvpn-esptool: --family: ipv4 or ipv6\n");
				return -1;
			}
			break;
		case 'w':
			errno = 0;
			unsigned long w = strtoul(optarg, &end, 0);
			if (errno != 0 || *end != '\0' || w > UINT16_MAX) {
				fprintf(stderr, "gvpn-esptool: --replay-window: 0..65535\n");
				return -1;
			}
			a->conf.replay_window_s = (uint16_t)w;
			break;
		case 'S': {
			uint8_t n;

			if (parse_key(optarg, a->seed, &n, sizeof(a->seed), "--seed") != 0 ||
			    n != sizeof(a->seed)) {
				fprintf(stderr, "gvpn-esptool: --seed: 32 bytes of hex\n");
				return -1;
			}
			a->has_seed = 1;
			break;
		}
		default:
			usage();
			return -1;
		}
	}
	if (!has_cipher || a->conf.spi == 0 || argc - optind != 2) {
		usage();
		return -1;
	}
	if (gvpn_esp_sa_conf_check(&a->conf) != 0) {
		fprintf(stderr,
			"gvpn-esptool: SPI (>= 256), algorithms or key lengths invalid "
			"for %s/%s\n",
			gvpn_cipher_name(a->conf.xform.cipher), gvpn_auth_name(a->conf.xform.auth));
		return -1;
	}
	a->in = argv[optind];
	a->out = argv[optind + 1];
	return 0;
}

/* The link header's length: Ethernet and its 802.1Q / 802.1ad tags. */
static uint16_t
link_len(const u_char *p, uint32_t len, uint16_t l2)
{
	while (
	    l2 != 0 && l2 + 4u <= len &&
	    ((p[l2 - 2] == 0x81 && p[l2 - 1] == 0x00) || (p[l2 - 2] == 0x88 && p[l2 - 1] == 0xa8)))
		l2 += 4;
	return l2;
}

/* Where ESP starts in an IPv6 packet: after the header and the hop-by-hop,
 * routing and destination options headers in front of it (what the
 * worker's parse stage finds); 40 if the chain is not that. */
static uint16_t
ipv6_esp_offset(const u_char *ip, uint32_t len)
{
	uint32_t off = 40;
	uint8_t nh;

	if (len < 40)
		return 40;
	nh = ip[6];
	while ((nh == 0 || nh == 43 || nh == 60) && off + 8 <= len) {
		nh = ip[off];
		off += (ip[off + 1] + 1u) * 8;
	}
	return nh == 50 && off <= len && off < 512 ? (uint16_t)off : 40;
}

struct run {
	struct gvpn_esp_lcore *lc;
	struct gvpn_esp_sa_state st;
	pcap_dumper_t *dump;
	uint64_t in, out, too_big;
};

static void
flush(struct run *r, int decrypt, struct rte_mbuf *pkts[], struct pcap_pkthdr hdrs[], uint16_t n)
{
	struct gvpn_esp_sa_state *st[BURST];
	struct pcap_pkthdr order[BURST];
	uint16_t good;

	for (uint16_t i = 0; i < n; i++) {
		st[i] = &r->st;
		pkts[i]->hash.usr = i; /* to find each packet's timestamp afterwards */
	}
	memcpy(order, hdrs, n * sizeof(hdrs[0]));
	good = decrypt ? gvpn_esp_decrypt_burst(r->lc, st, pkts, n)
		       : gvpn_esp_encrypt_burst(r->lc, st, pkts, n);
	for (uint16_t i = 0; i < n; i++) {
		if (i < good) {
			struct pcap_pkthdr h = order[pkts[i]->hash.usr];

			h.caplen = h.len = pkts[i]->data_len;
			pcap_dump((u_char *)r->dump, &h, rte_pktmbuf_mtod(pkts[i], u_char *));
			r->out++;
		}
		rte_pktmbuf_free(pkts[i]);
	}
}

static int
process(struct args *a, struct rte_mempool *mp, struct run *r)
{
	char err[PCAP_ERRBUF_SIZE];
	struct rte_mbuf *pkts[BURST];
	struct pcap_pkthdr hdrs[BURST];
	struct pcap_pkthdr *h;
	const u_char *data;
	uint16_t n = 0, l2;
	pcap_t *in, *dead;
	int rc;

	in = pcap_open_offline(a->in, err);
	if (in == NULL) {
		fprintf(stderr, "gvpn-esptool: %s: %s\n", a->in, err);
		return -1;
	}
	switch (pcap_datalink(in)) {
	case DLT_EN10MB:
		l2 = 14;
		break;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		l2 = 0;
		break;
	default:
		fprintf(stderr, "gvpn-esptool: %s: link type %s not supported\n", a->in,
			pcap_datalink_val_to_name(pcap_datalink(in)));
		pcap_close(in);
		return -1;
	}
	dead = pcap_open_dead(pcap_datalink(in), 65535);
	r->dump = pcap_dump_open(dead, a->out);
	if (r->dump == NULL) {
		fprintf(stderr, "gvpn-esptool: %s: %s\n", a->out, pcap_geterr(dead));
		pcap_close(dead);
		pcap_close(in);
		return -1;
	}
	while ((rc = pcap_next_ex(in, &h, &data)) == 1) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
		char *p;

		r->in++;
		if (m == NULL) {
			fprintf(stderr, "gvpn-esptool: out of mbufs\n");
			rc = -1;
			break;
		}
		p = h->caplen == h->len ? rte_pktmbuf_append(m, (uint16_t)h->caplen) : NULL;
		if (h->caplen > UINT16_MAX || p == NULL) {
			r->too_big++; /* or truncated by the capture */
			rte_pktmbuf_free(m);
			continue;
		}
		memcpy(p, data, h->caplen);
		m->l2_len = link_len(data, h->caplen, l2);
		if (a->decrypt && a->conf.af == GVPN_AF_IPV6)
			m->l3_len = ipv6_esp_offset(data + m->l2_len, h->caplen - m->l2_len);
		hdrs[n] = *h;
		pkts[n++] = m;
		if (n == BURST) {
			flush(r, a->decrypt, pkts, hdrs, n);
			n = 0;
		}
	}
	if (n != 0)
		flush(r, a->decrypt, pkts, hdrs, n);
	if (rc == -1)
		fprintf(stderr, "gvpn-esptool: %s: %s\n", a->in, pcap_geterr(in));
	pcap_dump_close(r->dump);
	pcap_close(dead);
	pcap_close(in);
	return rc == -1 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	char *eal[] = {
	    argv[0], "--no-huge", "--no-pci", "--no-shconf",	"-l",
	    "0",     "-m",	  "128",      "--no-telemetry", "--log-level=lib.*:error"};
	const struct gvpn_crypto_ops *be;
	struct gvpn_esp_sa *sa;
	struct rte_mempool *mp;
	struct run r = {0};
	struct args a;
	int rc;

	if (parse_args(argc, argv, &a) != 0)
		return 2;
	be = gvpn_crypto_find(a.backend);
	if (be == NULL) {
		fprintf(stderr, "gvpn-esptool: --backend: unknown '%s'\n", a.backend);
		return 2;
	}
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0) {
		fprintf(stderr, "gvpn-esptool: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	mp = rte_pktmbuf_pool_create("esptool", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	r.lc = gvpn_esp_lcore_create(be, 0, a.has_seed ? a.seed : NULL);
	if (mp == NULL || r.lc == NULL) {
		fprintf(stderr, "gvpn-esptool: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	sa = gvpn_esp_sa_create(r.lc, &a.conf, 0);
	gvpn_wipe(&a.conf.xform, sizeof(a.conf.xform));
	if (sa == NULL) {
		fprintf(stderr, "gvpn-esptool: SA: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	gvpn_esp_sa_state_init(&r.st, sa, r.lc);
	rc = process(&a, mp, &r);
	fprintf(stderr, "%s: %" PRIu64 " in, %" PRIu64 " out, %" PRIu64 " dropped\n",
		a.decrypt ? "decrypt" : "encrypt", r.in, r.out, r.in - r.out);
	if (r.too_big != 0)
		fprintf(stderr, "  %" PRIu64 " truncated or larger than an mbuf\n", r.too_big);
	for (int d = 0; d < GVPN_ESP_DROP_MAX; d++)
		if (r.lc->stats.drop[d] != 0)
			fprintf(stderr, "  %" PRIu64 " %s\n", r.lc->stats.drop[d],
				gvpn_esp_drop_name(d));
	gvpn_esp_sa_free(sa);
	gvpn_esp_lcore_free(r.lc);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return rc == 0 ? 0 : 1;
}
