/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gvpn-gikev2tool: register with a G-IKEv2 key server (lib/gikev2) and
 * print what it hands out, for tests against test/ks/gikev2_ks.py.
 *
 *   gvpn-gikev2tool --local IP --peer IP --port N --psk-file FILE
 *                   --proposal PROPOSAL [--group ID] [--sender N]
 *                   [--implicit] [--duration S] [--reregister S] [--print-keys]
 *
 * PROPOSAL as ikev2_proposal_parse() reads it, with a key wrap word
 * ("aes128-sha256-modp2048-kw128"). After registering it stays for
 * --duration seconds feeding whatever arrives (rekeys, inband rekeys)
 * into the member, and prints one line per event:
 *   state NAME [error]
 *   policy teks=N sid=N|none
 *   tek spi=0x... dir=N cipher_key=N auth_key=N lifetime=N sel=...
 *   push seq=N teks=N deletes=N
 *   delete spi=0x...|all
 * and at the end "stats registrations=N rekeys=N inband=N deletes=N"
 * and "drops reason=N ..." (the reasons with a count).
 * --reregister S: a GSA_REGISTRATION on the IKE SA S seconds in.
 * --print-keys: "keys spi=0x... HEX" per TEK, the ESP keys (a lab tool).
 * Exits 0 when registered at the end, 1 otherwise, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gvpn_common.h"
#include "gvpn_gikev2.h"

static uint64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static int print_keys;

static void
print_tek(const struct gdoi_tek *t)
{
	char sel[160];

	if (print_keys) { /* a lab tool: the test compares them with the key server's */
		printf("keys spi=0x%08x ", t->spi);
		for (unsigned int i = 0; i < t->xform.cipher_key_len; i++)
			printf("%02x", t->xform.cipher_key[i]);
		for (unsigned int i = 0; i < t->xform.auth_key_len; i++)
			printf("%02x", t->xform.auth_key[i]);
		printf("\n");
	}
	gvpn_selector_format(&t->sel, sel, sizeof(sel));
	printf("tek spi=0x%08x dir=%u cipher=%d cipher_key=%u auth=%d auth_key=%u lifetime=%u "
	       "sel=%s\n",
	       t->spi, t->direction, (int)t->xform.cipher, t->xform.cipher_key_len,
	       (int)t->xform.auth, t->xform.auth_key_len, t->lifetime, sel);
}

static int
on_policy(void *ctx, const struct gdoi_policy *pol)
{
	(void)ctx;
	printf("policy teks=%u atd=%u dtd=%u sid=", pol->n_teks, pol->atd, pol->dtd);
	if (pol->has_sid)
		printf("%u/%u\n", pol->sid, pol->sid_bits);
	else
		printf("none\n");
	for (uint16_t i = 0; i < pol->n_teks; i++)
		print_tek(&pol->tek[i]);
	fflush(stdout);
	return 0;
}

static int
on_push(void *ctx, const struct gdoi_push *p)
{
	(void)ctx;
	printf("push seq=%u teks=%u deletes=%u\n", p->seq, p->has_policy ? p->pol.n_teks : 0,
	       p->n_deletes);
	for (uint16_t i = 0; p->has_policy && i < p->pol.n_teks; i++)
		print_tek(&p->pol.tek[i]);
	for (uint16_t i = 0; i < p->n_deletes; i++) {
		if (p->del[i].all)
			printf("delete spi=all\n");
		else
			printf("delete spi=0x%08x\n", p->del[i].spi);
	}
	fflush(stdout);
	return 0;
}

static void
on_state(void *ctx, enum gikev2_state s, const char *error)
{
	(void)ctx;
	printf("state %s%s%s\n", gikev2_state_name(s), error != NULL ? " " : "",
	       error != NULL ? error : "");
	fflush(stdout);
}

static void
usage(void)
{
	fprintf(stderr, "usage: gvpn-gikev2tool --local IP --peer IP --port N --psk-file FILE "
			"--proposal P [--group ID] [--sender N] [--implicit] [--duration S] "
			"[--reregister S]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"local", 1, NULL, 'l'},	  {"peer", 1, NULL, 'p'},	{"port", 1, NULL, 'o'},
	    {"psk-file", 1, NULL, 'k'},	  {"proposal", 1, NULL, 'P'},	{"group", 1, NULL, 'g'},
	    {"sender", 1, NULL, 's'},	  {"implicit", 0, NULL, 'i'},	{"duration", 1, NULL, 'd'},
	    {"reregister", 1, NULL, 'r'}, {"print-keys", 0, NULL, 'K'}, {NULL, 0, NULL, 0}};
	static struct gikev2_conf conf;
	struct gikev2_ops ops = {.policy = on_policy, .push = on_push, .state = on_state};
	struct gikev2_member *m;
	struct sockaddr_in local = {.sin_family = AF_INET}, peer = {.sin_family = AF_INET};
	const char *group = "group1";
	double duration = 5, rereg = -1;
	uint64_t start, last_tx = 0;
	int opt, fd, tries = 0, reregistered = 0, rc;
	FILE *f;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (inet_pton(AF_INET, optarg, &local.sin_addr) != 1)
				usage();
			memcpy(conf.ike.local_id.data, &local.sin_addr, 4);
			conf.ike.local_id.type = IKEV2_ID_IPV4_ADDR;
			conf.ike.local_id.len = 4;
			break;
		case 'p':
			if (inet_pton(AF_INET, optarg, &peer.sin_addr) != 1)
				usage();
			break;
		case 'o':
			peer.sin_port = htons((uint16_t)atoi(optarg));
			break;
		case 'k':
			if ((f = fopen(optarg, "r")) == NULL)
				usage();
			conf.ike.psk_len = fread(conf.ike.psk, 1, sizeof(conf.ike.psk), f);
			fclose(f);
			while (conf.ike.psk_len > 0 && (conf.ike.psk[conf.ike.psk_len - 1] == '\n'))
				conf.ike.psk_len--;
			break;
		case 'P':
			if (conf.ike.n_props == IKEV2_MAX_PROPOSALS ||
			    ikev2_proposal_parse(optarg, 0, &conf.ike.props[conf.ike.n_props++]) !=
				0)
				usage();
			break;
		case 'g':
			group = optarg;
			break;
		case 's':
			conf.sender_ids = (uint32_t)atoi(optarg);
			break;
		case 'i':
			conf.allow_implicit = 1;
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'r':
			rereg = atof(optarg);
			break;
		case 'K':
			print_keys = 1;
			break;
		default:
			usage();
		}
	}
	if (conf.ike.local_id.type == 0 || peer.sin_port == 0 || conf.ike.n_props == 0)
		usage();
	conf.group.type = IKEV2_ID_KEY_ID;
	conf.group.len = (uint8_t)strlen(group);
	memcpy(conf.group.data, group, conf.group.len);
	m = gvpn_keymem_alloc(sizeof(*m));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (m == NULL || fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof(local)) != 0) {
		perror("gvpn-gikev2tool");
		return 1;
	}
	if ((rc = gikev2_member_init(m, &conf, &ops)) != 0 || (rc = gikev2_register(m)) != 0) {
		fprintf(stderr, "gvpn-gikev2tool: %s\n", strerror(-rc));
		return 2;
	}
	start = now_ms();
	while (now_ms() - start < (uint64_t)(duration * 1000)) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint8_t buf[IKEV2_MSG_MAX];
		const uint8_t *out;
		size_t len;
		const char *why;

		if ((out = gikev2_out(m, &len)) != NULL) {
			sendto(fd, out, len, 0, (struct sockaddr *)&peer, sizeof(peer));
			m->out_len = 0;
			last_tx = now_ms();
		} else if (gikev2_request(m, &len) != NULL && now_ms() - last_tx > 1000 &&
			   tries < 4) {
			out = gikev2_request(m, &len);
			sendto(fd, out, len, 0, (struct sockaddr *)&peer, sizeof(peer));
			last_tx = now_ms();
			tries++;
		}
		if (rereg >= 0 && !reregistered && now_ms() - start > (uint64_t)(rereg * 1000) &&
		    m->state == GIKEV2_REGISTERED) {
			reregistered = 1;
			rc = gikev2_register(m);
			printf("reregister rc=%d\n", rc);
			continue;
		}
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n <= 0)
			continue;
		rc = gikev2_input(m, buf, (size_t)n, &why);
		if (rc == 0 && why != NULL) {
			printf("refused %s\n", why);
			fflush(stdout);
		}
	}
	printf("rekey_sa held=%d next_msgid=%u gcauth=%u\n", m->rk.held, m->rk.next_msgid,
	       m->rk.gcauth);
	printf("stats registrations=%" PRIu64 " rekeys=%" PRIu64 " inband=%" PRIu64
	       " deletes=%" PRIu64 "\n",
	       m->stats.registrations, m->stats.rekeys, m->stats.inband_rekeys, m->stats.deletes);
	printf("drops");
	for (int d = 0; d < GIKEV2_DROP_MAX; d++)
		if (m->stats.drops[d] != 0)
			printf(" %s=%" PRIu64, gikev2_drop_id((enum gikev2_drop)d),
			       m->stats.drops[d]);
	printf("\n");
	rc = m->state == GIKEV2_REGISTERED ? 0 : 1;
	gikev2_member_clear(m);
	gvpn_keymem_free(m);
	close(fd);
	return rc;
}
