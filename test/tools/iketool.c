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
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (sendto(fd, out.data, out.len, 0, &peer.sa, len) < 0) {
			fprintf(stderr, "gvpn-iketool: send: %s\n", strerror(errno));
			return 1;
		}
		if (poll(&pfd, 1, 1000 << (tries < 3 ? tries : 3)) <= 0) {
			if (++tries > retries) {
				fprintf(stderr, "gvpn-iketool: no answer\n");
				return 1;
			}
			continue; /* retransmit the same message */
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
