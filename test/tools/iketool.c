/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gvpn-iketool: run gvpn's IKEv1 Main Mode initiator against a responder,
 * for interop tests with strongSwan and Libreswan.
 *
 *   gvpn-iketool --local A.B.C.D --peer A.B.C.D --psk-file FILE
 *                --proposal ENC-HASH-GROUP [--port N] [--doi N] [--retries N]
 *
 * ENC: des 3des aes128 aes192 aes256; HASH: md5 sha1 sha256; GROUP: modp768
 * modp1024 modp1536 modp2048 modp3072 modp4096 ecp256 ecp384. On success prints one line with the
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
	struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(500)};
	struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(500)};
	const char *psk_file = NULL, *why = NULL;
	enum ike_result res;
	uint8_t in[ISAKMP_MSG_MAX];
	int opt, fd, rc, tries = 0, retries = 4;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (inet_pton(AF_INET, optarg, &local.sin_addr) != 1)
				goto usage;
			conf.local_addr = ntohl(local.sin_addr.s_addr);
			break;
		case 'p':
			if (inet_pton(AF_INET, optarg, &peer.sin_addr) != 1)
				goto usage;
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
			peer.sin_port = htons((uint16_t)atoi(optarg));
			local.sin_port = peer.sin_port;
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
	if (psk_file == NULL || conf.n_props == 0 || peer.sin_addr.s_addr == 0)
		goto usage;
	FILE *f = fopen(psk_file, "r");
	if (f == NULL) {
		fprintf(stderr, "gvpn-iketool: %s: %s\n", psk_file, strerror(errno));
		return 1;
	}
	conf.psk_len = fread(conf.psk, 1, sizeof(conf.psk), f);
	fclose(f);
	while (conf.psk_len > 0 && (conf.psk[conf.psk_len - 1] == '\n'))
		conf.psk_len--;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof(local)) != 0) {
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

		if (sendto(fd, out.data, out.len, 0, (struct sockaddr *)&peer, sizeof(peer)) < 0) {
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
