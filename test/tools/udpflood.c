/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gvpn-udpflood: garbage at a UDP port of this machine, as fast as
 * sendmmsg() goes (or at a given rate), for a GDOI socket's flood test.
 *
 *   gvpn-udpflood ADDR PORT SECONDS [PPS]
 *
 * Four kinds in turn, each dropped by a gvpnd group for its own reason:
 *   short       12 octets                                (rx_drop_short)
 *   not_isakmp  60 octets, version octet 0x20            (rx_drop_not_isakmp)
 *   main        an ISAKMP Main Mode header, random cookies, from this
 *               socket's port, which is not the key server's (rx_drop_not_key_server)
 *   push        a GROUPKEY-PUSH header, random cookies   (push_drop_unknown_kek)
 * Prints one JSON line: sent per kind, seconds, packets per second.
 * Only loopback addresses are accepted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define KINDS 4

static const char *const kind_names[KINDS] = {"short", "not_isakmp", "main", "push"};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* One datagram of @p kind in @p b; @return its length. */
static size_t
make(unsigned int kind, uint8_t *b)
{
	uint64_t r1 = next_rand(), r2 = next_rand();
	size_t len;

	switch (kind) {
	case 0:
		memcpy(b, &r1, 8);
		memset(b + 8, 0xab, 4);
		return 12;
	case 1:
		len = 60;
		memset(b, 0x5a, len);
		memcpy(b, &r1, 8);
		b[17] = 0x20; /* ISAKMP 2.0: not ours */
		return len;
	default:
		len = 28 + 32;
		memset(b, 0, len);
		memcpy(b, &r1, 8);
		memcpy(b + 8, &r2, 8);
		b[16] = kind == 2 ? 1 : 18; /* SA, or SEQ */
		b[17] = 0x10;
		b[18] = kind == 2 ? 2 : 33;
		b[19] = kind == 2 ? 0 : 1;
		b[24] = 0;
		b[25] = 0;
		b[26] = 0;
		b[27] = (uint8_t)len;
		return len;
	}
}

int
main(int argc, char **argv)
{
	static uint8_t buf[BATCH][64];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in dst = {.sin_family = AF_INET};
	uint64_t sent[KINDS] = {0}, total = 0, errors = 0;
	double seconds, pps = 0, start, end, t;
	unsigned int kind = 0;
	int fd;

	if (argc < 4 || argc > 5 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: gvpn-udpflood ADDR PORT SECONDS [PPS]\n");
		return 64;
	}
	if ((ntohl(dst.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "gvpn-udpflood: loopback addresses only\n");
		return 64;
	}
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	seconds = atof(argv[3]);
	if (argc == 5)
		pps = atof(argv[4]);
	if (seconds <= 0 || seconds > 60) {
		fprintf(stderr, "gvpn-udpflood: SECONDS must be in (0, 60]\n");
		return 64;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
		perror("gvpn-udpflood: socket");
		return 1;
	}
	memset(msg, 0, sizeof(msg));
	start = now_s();
	end = start + seconds;
	while ((t = now_s()) < end) {
		unsigned int k0 = kind;
		int n;

		if (pps > 0 && (double)total > (t - start) * pps) {
			usleep(100);
			continue;
		}
		for (unsigned int i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = make(kind, buf[i]);
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
			kind = (kind + 1) % KINDS;
		}
		n = sendmmsg(fd, msg, BATCH, 0);
		if (n < 0) {
			errors++;
			kind = k0;
			continue;
		}
		for (int i = 0; i < n; i++)
			sent[(k0 + (unsigned int)i) % KINDS]++;
		total += (uint64_t)n;
		kind = (k0 + (unsigned int)n) % KINDS;
	}
	t = now_s() - start;
	printf("{\"seconds\": %.3f, \"sent\": %llu, \"pps\": %.0f, \"send_errors\": %llu", t,
	       (unsigned long long)total, (double)total / t, (unsigned long long)errors);
	for (unsigned int k = 0; k < KINDS; k++)
		printf(", \"%s\": %llu", kind_names[k], (unsigned long long)sent[k]);
	printf("}\n");
	close(fd);
	return 0;
}
