/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gvpn-iketool: run gvpn's IKEv1 Main Mode initiator against a responder,
 * for interop tests with strongSwan and Libreswan.
 *
 *   gvpn-iketool --local IP --peer IP --psk-file FILE
 *                --proposal ENC-HASH-GROUP [--port N] [--doi N] [--retries N]
 *
 * ENC: des 3des aes128 aes192 aes256; HASH: md5 sha1 sha256; GROUP: modp768
 * modp1024 modp1536 modp2048 modp3072 modp4096 ecp256 ecp384. IP: IPv4, or IPv6 for
 * both (the identity is then ID_IPV6_ADDR). On success prints one line with the
 * negotiated algorithms, the initiator cookie and the phase-1 encryption
 * key (what tshark's ikev1_decryption_table needs: this is a lab tool) and
 * exits 0; exits 1 on failure with the reason, 2 on a usage error.
 *
 *   gvpn-iketool --ikev2 --local IP --peer IP --psk-file FILE
 *                --proposal PROPOSAL [--proposal ...] [--esp PROPOSAL ...]
 *                [--id ID] [--remote-id ID] [--port N] [--retries N]
 *                [--print-keys] [--init-only] [--keep]
 *
 * IKEv2 (lib/ikev2): IKE_SA_INIT and IKE_AUTH with the pre-shared key,
 * offering one ESP child, then the IKE SA is deleted (unless --keep).
 * Addresses IPv4 or IPv6; PROPOSAL as ikev2_proposal_parse() reads it
 * ("aes256-sha256-modp2048", "aes128gcm16-prfsha384-ecp384"); ID an
 * address or a host name (ID_FQDN), by default the local address. Prints
 * "established ike=... child=..." on success; with --print-keys a second
 * line, "ikev2_decryption_table:SPIi,SPIr,SK_ei,SK_er,ENCR,SK_ai,SK_ar,
 * INTEG", which tshark takes as -o 'uat:ikev2_decryption_table:...'.
 * --init-only stops after IKE_SA_INIT, leaving the responder a half-open
 * SA (what makes a responder ask for cookies).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gvpn_common.h"
#include "gvpn_config.h"
#include "gvpn_ike.h"
#include "gvpn_ikev2.h"

static int
parse_proposal(const char *s, struct ike_proposal *p)
{
	struct gvpn_phase1 ph;

	if (gvpn_phase1_parse(s, &ph) != 0)
		return -1;
	*p = (struct ike_proposal){.enc = ph.enc,
				   .key_bits = ph.key_bits,
				   .hash = ph.hash,
				   .group = ph.group,
				   .lifetime = 28800};
	return 0;
}

static int
parse_id(const char *s, struct ikev2_id *id)
{
	size_t len = strlen(s);

	if (inet_pton(AF_INET, s, id->data) == 1) {
		id->type = IKEV2_ID_IPV4_ADDR;
		id->len = 4;
	} else if (inet_pton(AF_INET6, s, id->data) == 1) {
		id->type = IKEV2_ID_IPV6_ADDR;
		id->len = 16;
	} else if (len > 0 && len <= sizeof(id->data)) {
		id->type = IKEV2_ID_FQDN;
		id->len = (uint8_t)len;
		memcpy(id->data, s, len);
	} else {
		return -1;
	}
	return 0;
}

static int
parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *sl, struct ikev2_ts *ts)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ts, 0, sizeof(*ts));
	ts->end_port = 65535;
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		*sl = sizeof(*a4);
		ts->type = IKEV2_TS_IPV4_ADDR_RANGE;
		memcpy(ts->start, &a4->sin_addr, 4);
		memcpy(ts->end, &a4->sin_addr, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		*sl = sizeof(*a6);
		ts->type = IKEV2_TS_IPV6_ADDR_RANGE;
		memcpy(ts->start, &a6->sin6_addr, 16);
		memcpy(ts->end, &a6->sin6_addr, 16);
		return 0;
	}
	return -1;
}

static void
set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
}

static void
hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static void
print_keys(const struct ikev2_sa *sa)
{
	printf("ikev2_decryption_table:");
	hex(sa->spi_i, 8);
	printf(",");
	hex(sa->spi_r, 8);
	printf(",");
	hex(sa->sk_ei, sa->encr_len);
	printf(",");
	hex(sa->sk_er, sa->encr_len);
	printf(",\"%s\",", ikev2_tshark_encr(&sa->chosen));
	hex(sa->sk_ai, sa->integ_len);
	printf(",");
	hex(sa->sk_ar, sa->integ_len);
	printf(",\"%s\"\n", ikev2_tshark_integ(&sa->chosen));
}

/* Send what the SA holds, wait for answers; retransmit the request on
 * each timeout, 1, 2, 4, 8 s apart. @return the last result, or -1. */
static int
exchange(int fd, struct ikev2_sa *sa, const struct sockaddr_storage *peer, socklen_t pl,
	 int retries, enum ikev2_result want)
{
	static uint8_t in[IKEV2_MSG_MAX];
	enum ikev2_result res = IKEV2_SEND;
	const char *why;
	int tries = 0;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		const uint8_t *m;
		size_t len;
		ssize_t n;
		int rc;

		if (res == IKEV2_SEND && (m = ikev2_request(sa, &len)) != NULL &&
		    sendto(fd, m, len, 0, (const struct sockaddr *)peer, pl) < 0) {
			fprintf(stderr, "gvpn-iketool: send: %s\n", strerror(errno));
			return -1;
		}
		if (res == IKEV2_REPLY && (m = ikev2_response(sa, &len)) != NULL)
			(void)sendto(fd, m, len, 0, (const struct sockaddr *)peer, pl);
		if (poll(&pfd, 1, 1000 << (tries < 3 ? tries : 3)) <= 0) {
			if (++tries > retries) {
				fprintf(stderr, "gvpn-iketool: no answer\n");
				return -1;
			}
			res = IKEV2_SEND; /* the same bytes again */
			continue;
		}
		n = recv(fd, in, sizeof(in), 0);
		res = IKEV2_IGNORED;
		if (n <= 0)
			continue;
		rc = ikev2_input(sa, in, (size_t)n, &res, &why);
		if (rc < 0) {
			fprintf(stderr, "gvpn-iketool: failed: %s\n", why);
			return -1;
		}
		if (res == IKEV2_IGNORED && why != NULL)
			fprintf(stderr, "gvpn-iketool: dropped: %s\n", why);
		if (res == IKEV2_NOTIFIED) {
			const char *name = ikev2_notify_name(sa->notify);

			fprintf(stderr, "gvpn-iketool: notification in the clear: %s\n",
				name != NULL ? name : "?");
			res = IKEV2_IGNORED;
		}
		if (res == IKEV2_SEND) {
			tries = 0;
			/* --init-only: IKE_SA_INIT done (not a cookie or group retry) */
			if (want == IKEV2_SEND && sa->state == IKEV2_AUTH_SENT)
				return IKEV2_SEND;
		}
		if (res == want || res == IKEV2_CLOSED)
			return (int)res;
	}
}

static int
ikev2_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ikev2", no_argument, NULL, '2'},		{"local", required_argument, NULL, 'l'},
	    {"peer", required_argument, NULL, 'p'},	{"psk-file", required_argument, NULL, 'k'},
	    {"proposal", required_argument, NULL, 'P'}, {"esp", required_argument, NULL, 'E'},
	    {"id", required_argument, NULL, 'i'},	{"remote-id", required_argument, NULL, 'R'},
	    {"port", required_argument, NULL, 'o'},	{"retries", required_argument, NULL, 'r'},
	    {"print-keys", no_argument, NULL, 'K'},	{"init-only", no_argument, NULL, 'I'},
	    {"keep", no_argument, NULL, 'e'},		{NULL, 0, NULL, 0}};
	static struct ikev2_conf conf;
	struct ikev2_sa *sa;
	struct sockaddr_storage local = {0}, peer = {0};
	socklen_t ll = 0, pl = 0;
	const char *psk_file = NULL, *id = NULL;
	int opt, fd, rc, retries = 4, keys = 0, init_only = 0, keep = 0;
	uint16_t port = 500;
	char ike[128], child[64];

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case '2':
			break;
		case 'l':
			if (parse_addr(optarg, &local, &ll, &conf.tsi) != 0)
				goto usage;
			if (id == NULL)
				id = optarg;
			break;
		case 'p':
			if (parse_addr(optarg, &peer, &pl, &conf.tsr) != 0)
				goto usage;
			break;
		case 'k':
			psk_file = optarg;
			break;
		case 'P':
			if (conf.n_props == IKEV2_MAX_PROPOSALS ||
			    ikev2_proposal_parse(optarg, 0, &conf.props[conf.n_props++]) != 0)
				goto usage;
			break;
		case 'E':
			if (conf.n_child_props == IKEV2_MAX_PROPOSALS ||
			    ikev2_proposal_parse(optarg, 1,
						 &conf.child_props[conf.n_child_props++]) != 0)
				goto usage;
			break;
		case 'i':
			id = optarg;
			break;
		case 'R':
			if (parse_id(optarg, &conf.remote_id) != 0)
				goto usage;
			break;
		case 'o':
			port = (uint16_t)atoi(optarg);
			break;
		case 'r':
			retries = atoi(optarg);
			break;
		case 'K':
			keys = 1;
			break;
		case 'I':
			init_only = 1;
			break;
		case 'e':
			keep = 1;
			break;
		default:
			goto usage;
		}
	}
	if (psk_file == NULL || conf.n_props == 0 || ll == 0 || pl == 0 ||
	    local.ss_family != peer.ss_family || parse_id(id, &conf.local_id) != 0)
		goto usage;
	if (conf.n_child_props == 0) { /* what a standard responder takes */
		ikev2_proposal_parse("aes128gcm16", 1, &conf.child_props[0]);
		ikev2_proposal_parse("aes128-sha256", 1, &conf.child_props[1]);
		conf.n_child_props = 2;
	}
	set_port(&local, port);
	set_port(&peer, port);
	FILE *f = fopen(psk_file, "r");
	if (f == NULL) {
		fprintf(stderr, "gvpn-iketool: %s: %s\n", psk_file, strerror(errno));
		return 1;
	}
	conf.psk_len = fread(conf.psk, 1, sizeof(conf.psk), f);
	fclose(f);
	while (conf.psk_len > 0 && (conf.psk[conf.psk_len - 1] == '\n'))
		conf.psk_len--;

	fd = socket(local.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&local, ll) != 0) {
		fprintf(stderr, "gvpn-iketool: socket: %s\n", strerror(errno));
		return 1;
	}
	sa = gvpn_keymem_alloc(sizeof(*sa));
	if (sa == NULL)
		return 1;
	rc = ikev2_start(sa, &conf);
	if (rc != 0) {
		fprintf(stderr, "gvpn-iketool: %s\n", strerror(-rc));
		return 1;
	}
	rc = exchange(fd, sa, &peer, pl, retries, init_only ? IKEV2_SEND : IKEV2_DONE);
	if (rc < 0)
		return 1;
	if (init_only) {
		ikev2_suite_format(&sa->chosen, ike, sizeof(ike));
		printf("init-done ike=%s retries=%u\n", ike, sa->retries);
		return 0;
	}
	ikev2_suite_format(&sa->chosen, ike, sizeof(ike));
	if (sa->child_up)
		ikev2_suite_format(&sa->child, child, sizeof(child));
	else
		snprintf(child, sizeof(child), "refused:%s",
			 ikev2_notify_name(sa->child_notify) != NULL
			     ? ikev2_notify_name(sa->child_notify)
			     : "none");
	printf("established ike=%s child=%s retries=%u cookie=%d spi_i=", ike, child, sa->retries,
	       sa->cookie_len != 0);
	hex(sa->spi_i, 8);
	printf(" spi_r=");
	hex(sa->spi_r, 8);
	printf("\n");
	if (keys)
		print_keys(sa);
	fflush(stdout);
	if (!keep && sa->state == IKEV2_ESTABLISHED && ikev2_delete(sa) == 0 &&
	    exchange(fd, sa, &peer, pl, 2, IKEV2_CLOSED) < 0)
		fprintf(stderr, "gvpn-iketool: the Delete was not answered\n");
	ikev2_sa_clear(sa);
	gvpn_keymem_free(sa);
	gvpn_wipe(&conf, sizeof(conf));
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: gvpn-iketool --ikev2 --local IP --peer IP --psk-file FILE "
			"--proposal PROPOSAL [--proposal ...] [--esp PROPOSAL ...] [--id ID] "
			"[--remote-id ID] [--port N] [--retries N] [--print-keys] [--init-only] "
			"[--keep]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"local", required_argument, NULL, 'l'},	{"peer", required_argument, NULL, 'p'},
	    {"psk-file", required_argument, NULL, 'k'}, {"proposal", required_argument, NULL, 'P'},
	    {"port", required_argument, NULL, 'o'},	{"doi", required_argument, NULL, 'd'},
	    {"retries", required_argument, NULL, 'r'},	{NULL, 0, NULL, 0}};
	static struct ike_conf conf = {.doi = 1};
	static struct ike_sa sa;
	static struct isakmp_buf out;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} local = {.in = {.sin_family = AF_INET}}, peer = {.in = {.sin_family = AF_INET}};
	uint16_t port = 500;
	socklen_t len;
	const char *psk_file = NULL, *why = NULL;
	enum ike_result res;
	uint8_t in[ISAKMP_MSG_MAX];
	int opt, fd, rc, tries = 0, retries = 4;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--ikev2") == 0)
			return ikev2_main(argc, argv);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (inet_pton(AF_INET, optarg, &local.in.sin_addr) == 1) {
				conf.local_addr = ntohl(local.in.sin_addr.s_addr);
			} else if (inet_pton(AF_INET6, optarg, &local.in6.sin6_addr) == 1) {
				local.in6.sin6_family = AF_INET6;
				conf.local_ipv6 = 1;
				memcpy(conf.local_addr6, &local.in6.sin6_addr, 16);
			} else {
				goto usage;
			}
			break;
		case 'p':
			if (inet_pton(AF_INET, optarg, &peer.in.sin_addr) == 1)
				break;
			if (inet_pton(AF_INET6, optarg, &peer.in6.sin6_addr) != 1)
				goto usage;
			peer.in6.sin6_family = AF_INET6;
			break;
		case 'k':
			psk_file = optarg;
			break;
		case 'P':
			if (conf.n_props == IKE_MAX_PROPOSALS ||
			    parse_proposal(optarg, &conf.props[conf.n_props++]) != 0)
				goto usage;
			break;
		case 'o':
			port = (uint16_t)atoi(optarg);
			break;
		case 'd':
			conf.doi = (uint32_t)atoi(optarg);
			break;
		case 'r':
			retries = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (psk_file == NULL || conf.n_props == 0 || local.sa.sa_family != peer.sa.sa_family ||
	    (peer.sa.sa_family == AF_INET && peer.in.sin_addr.s_addr == 0))
		goto usage;
	if (peer.sa.sa_family == AF_INET6) {
		local.in6.sin6_port = peer.in6.sin6_port = htons(port);
		len = sizeof(local.in6);
	} else {
		local.in.sin_port = peer.in.sin_port = htons(port);
		len = sizeof(local.in);
	}
	FILE *f = fopen(psk_file, "r");
	if (f == NULL) {
		fprintf(stderr, "gvpn-iketool: %s: %s\n", psk_file, strerror(errno));
		return 1;
	}
	conf.psk_len = fread(conf.psk, 1, sizeof(conf.psk), f);
	fclose(f);
	while (conf.psk_len > 0 && (conf.psk[conf.psk_len - 1] == '\n'))
		conf.psk_len--;

	fd = socket(peer.sa.sa_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, &local.sa, len) != 0) {
		fprintf(stderr, "gvpn-iketool: socket: %s\n", strerror(errno));
		return 1;
	}
	rc = ike_mm_start(&sa, &conf, &out);
	if (rc != 0) {
		fprintf(stderr, "gvpn-iketool: %s\n", strerror(-rc));
		return 1;
	}
	/* Send on a new message and when the retransmission timer runs out,
	 * never because something unauthenticated arrived: an answer to every
	 * notification in the clear would be a storm. */
	for (int send = 1;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (send && sendto(fd, out.data, out.len, 0, &peer.sa, len) < 0) {
			fprintf(stderr, "gvpn-iketool: send: %s\n", strerror(errno));
			return 1;
		}
		send = 0;
		if (poll(&pfd, 1, 1000 << (tries < 3 ? tries : 3)) <= 0) {
			if (++tries > retries) {
				fprintf(stderr, "gvpn-iketool: no answer\n");
				return 1;
			}
			send = 1; /* retransmit the same message */
			continue;
		}
		n = recv(fd, in, sizeof(in), 0);
		if (n <= 0)
			continue;
		rc = ike_mm_input(&sa, in, (size_t)n, &out, &res, &why);
		if (rc < 0) {
			fprintf(stderr, "gvpn-iketool: failed: %s\n", why);
			return 1;
		}
		if (res == IKE_IGNORED)
			continue;
		if (res == IKE_NOTIFIED) { /* unauthenticated: keep waiting */
			fprintf(stderr, "gvpn-iketool: notification in the clear: %s\n",
				isakmp_notify_name(sa.notify) ? isakmp_notify_name(sa.notify)
							      : "?");
			continue;
		}
		tries = 0;
		send = 1;
		if (res == IKE_DONE)
			break;
	}
	printf("established enc=%u keybits=%u hash=%u group=%u icookie=", sa.chosen.enc,
	       sa.chosen.key_bits, sa.chosen.hash, sa.chosen.group);
	for (int i = 0; i < 8; i++)
		printf("%02x", sa.icookie[i]);
	printf(" key=");
	for (unsigned int i = 0; i < sa.key_len; i++)
		printf("%02x", sa.key[i]);
	printf("\n");
	ike_sa_clear(&sa);
	gvpn_wipe(&conf, sizeof(conf));
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: gvpn-iketool --local IP --peer IP --psk-file FILE "
			"--proposal ENC-HASH-GROUP [--proposal ...] [--port N] [--doi N]\n");
	return 2;
}
