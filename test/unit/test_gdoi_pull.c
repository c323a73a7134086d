/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GROUPKEY-PULL message 4 carries the TEK and KEK keys: its plaintext must be
 * gone from the decryption buffer whatever the outcome. Each case is a
 * message 4 that decrypts and authenticates (HASH(4) right) and then fails a
 * later check, or succeeds; the buffer is all zero afterwards.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "test_util.h"
#include "gvpn_gdoi.h"
#include "gvpn_gdoi_client.h"
#include "gvpn_ike.h"
#include "gvpn_isakmp.h"

struct fixture {
	struct ike_sa sa;
	struct gdoi_pull pull;
};

static void
setup_sa(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->sa.state = IKE_ESTABLISHED;
	f->sa.chosen = (struct ike_proposal){
	    .enc = IKE_ENC_AES, .key_bits = 128, .hash = IKE_HASH_SHA1, .group = 14};
	f->sa.block = 16;
	f->sa.key_len = 16;
	f->sa.prf_len = 20;
	assert_int_equal(RAND_bytes(f->sa.icookie, 8), 1);
	assert_int_equal(RAND_bytes(f->sa.rcookie, 8), 1);
	assert_int_equal(RAND_bytes(f->sa.key, 16), 1);
	assert_int_equal(RAND_bytes(f->sa.skeyid_a, 20), 1);
	f->pull.state = GDOI_PULL_SENT3;
	f->pull.msgid = 0x11223344;
	f->pull.group_id = 1001;
	f->pull.nr_len = 16;
	assert_int_equal(RAND_bytes(f->pull.ni, sizeof(f->pull.ni)), 1);
	assert_int_equal(RAND_bytes(f->pull.nr, 16), 1);
	assert_int_equal(RAND_bytes(f->pull.iv, sizeof(f->pull.iv)), 1);
}

/* Message 4: HASH(4), then @p body_payloads (type, body) as given, encrypted. */
static void
build_msg4(struct fixture *f, const uint8_t types[], const uint8_t *const bodies[],
	   const size_t lens[], int n, struct isakmp_buf *b)
{
	struct isakmp_hdr h = {.exchange = ISAKMP_EXCH_GROUPKEY_PULL, .msgid = f->pull.msgid};
	uint8_t iv[IKE_BLOCK_MAX];
	size_t hash_at, rest;

	memcpy(h.icookie, f->sa.icookie, 8);
	memcpy(h.rcookie, f->sa.rcookie, 8);
	isakmp_buf_init(b, &h);
	hash_at = isakmp_buf_begin(b, ISAKMP_P_HASH);
	isakmp_buf_put(b, (uint8_t[20]){0}, 20);
	isakmp_buf_end(b, hash_at);
	rest = b->len;
	for (int i = 0; i < n; i++) {
		size_t off = isakmp_buf_begin(b, types[i]);

		isakmp_buf_put(b, bodies[i], lens[i]);
		isakmp_buf_end(b, off);
	}
	/* HASH(4) = prf(SKEYID_a, M-ID | Ni_b | Nr_b | rest) */
	struct ike_chunk c[] = {{b->data + 20, 4},
				{f->pull.ni, sizeof(f->pull.ni)},
				{f->pull.nr, f->pull.nr_len},
				{b->data + rest, b->len - rest}};
	ike_prf(&f->sa, f->sa.skeyid_a, 20, c, 4, b->data + hash_at + ISAKMP_GEN_LEN);
	assert_int_equal(isakmp_buf_finish(b), 0);
	memcpy(iv, f->pull.iv, sizeof(iv));
	assert_int_equal(ike_encrypt(&f->sa, iv, b), 0);
}

static void
assert_plain_wiped(void)
{
	const uint8_t *plain = gdoi_plain_buf();

	assert_non_null(plain);
	for (size_t i = 0; i < ISAKMP_MSG_MAX; i++)
		if (plain[i] != 0)
			fail_msg("plaintext byte %zu left: 0x%02x", i, plain[i]);
}

static void
test_pull_msg4_plaintext_is_wiped_on_every_outcome(void **state)
{
	static const uint8_t secret[40] = {
	    0x5e, 0xc2, 0xe7, 0x5e, 0xc2, 0xe7, 0x5e, 0xc2, 0xe7, 0x5e, 0xc2, 0xe7, 0x5e, 0xc2,
	    0xe7, 0x5e, 0xc2, 0xe7, 0x5e, 0xc2, 0xe7, 0x5e, 0xc2, 0xe7, 0x5e, 0xc2, 0xe7, 0x5e,
	    0xc2, 0xe7, 0x5e, 0xc2, 0xe7, 0x5e, 0xc2, 0xe7, 0x5e, 0xc2, 0xe7, 0x5e};
	static const uint8_t seq8[8] = {0, 0, 0, 1, 0, 0, 0, 2};
	static const struct {
		const char *what;
		uint8_t types[2];
		const uint8_t *bodies[2];
		size_t lens[2];
		int n;
	} cases[] = {
	    {"SEQ of 8 bytes before a KD",
	     {ISAKMP_P_SEQ, ISAKMP_P_KD},
	     {seq8, secret},
	     {8, sizeof(secret)},
	     2},
	    {"no KD payload",
	     {ISAKMP_P_SEQ, ISAKMP_P_NONCE},
	     {seq8, secret},
	     {4, sizeof(secret)},
	     2},
	    {"KD that does not parse", {ISAKMP_P_KD}, {secret}, {sizeof(secret)}, 1},
	};
	struct fixture *f = malloc(sizeof(*f));
	struct isakmp_buf *b = malloc(sizeof(*b)), *out = malloc(sizeof(*out));

	(void)state;
	assert_non_null(f);
	assert_non_null(b);
	assert_non_null(out);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		enum ike_result res;
		const char *why = NULL;
		int rc;

		setup_sa(f);
		build_msg4(f, cases[i].types, cases[i].bodies, cases[i].lens, cases[i].n, b);
		rc = gdoi_pull_input(&f->pull, &f->sa, b->data, b->len, out, &res, &why);
		if (rc >= 0)
			fail_msg("%s: accepted (%d)", cases[i].what, rc);
		/* it decrypted: the failure is a later check */
		assert_non_null(why);
		if (strstr(why, "HASH") != NULL || strstr(why, "decrypt"))
			fail_msg("%s: %s", cases[i].what, why);
		assert_plain_wiped();
		gdoi_pull_clear(&f->pull);
	}
	/* HASH(4) wrong: decrypted, then refused */
	setup_sa(f);
	build_msg4(f, cases[0].types, cases[0].bodies, cases[0].lens, 2, b);
	f->sa.skeyid_a[0] ^= 1;
	{
		enum ike_result res;
		const char *why;

		assert_int_equal(
		    gdoi_pull_input(&f->pull, &f->sa, b->data, b->len, out, &res, &why), -EACCES);
	}
	assert_plain_wiped();
	free(f);
	free(b);
	free(out);
}

/* Message 4 is checked against its script (HASH, [SEQ,] KD) before any
 * payload is read: a second KD, a SEQ after the KD, or a payload the step
 * does not allow is refused with its reason, though HASH(4) verifies. */
static void
test_pull4_with_duplicate_kd_or_out_of_order_is_refused(void **state)
{
	static const uint8_t seq4[4] = {0, 0, 0, 1}, kd[4] = {0, 0, 0, 0};
	static const struct {
		const char *what;
		uint8_t types[3];
		const uint8_t *bodies[3];
		size_t lens[3];
		int n;
		enum isakmp_err err;
	} cases[] = {
	    {"duplicate KD", {ISAKMP_P_KD, ISAKMP_P_KD}, {kd, kd}, {4, 4}, 2, ISAKMP_ERR_DUPLICATE},
	    {"SEQ after KD",
	     {ISAKMP_P_KD, ISAKMP_P_SEQ},
	     {kd, seq4},
	     {4, 4},
	     2,
	     ISAKMP_ERR_OUT_OF_ORDER},
	    {"duplicate SEQ",
	     {ISAKMP_P_SEQ, ISAKMP_P_SEQ, ISAKMP_P_KD},
	     {seq4, seq4, kd},
	     {4, 4, 4},
	     3,
	     ISAKMP_ERR_DUPLICATE},
	    {"a nonce in message 4",
	     {ISAKMP_P_NONCE, ISAKMP_P_KD},
	     {seq4, kd},
	     {4, 4},
	     2,
	     ISAKMP_ERR_UNEXPECTED_PAYLOAD},
	    {"no KD", {ISAKMP_P_SEQ}, {seq4}, {4}, 1, ISAKMP_ERR_MISSING},
	};
	struct fixture *f = malloc(sizeof(*f));
	struct isakmp_buf *b = malloc(sizeof(*b)), *out = malloc(sizeof(*out));

	(void)state;
	assert_non_null(f);
	assert_non_null(b);
	assert_non_null(out);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		enum ike_result res;
		const char *why = NULL;
		int rc;

		setup_sa(f);
		build_msg4(f, cases[i].types, cases[i].bodies, cases[i].lens, cases[i].n, b);
		rc = gdoi_pull_input(&f->pull, &f->sa, b->data, b->len, out, &res, &why);
		if (rc != -EBADMSG || why != isakmp_err_name(cases[i].err))
			fail_msg("%s: rc %d, '%s', expected '%s'", cases[i].what, rc,
				 why ? why : "(none)", isakmp_err_name(cases[i].err));
		assert_int_equal(f->pull.state, GDOI_PULL_SENT3);
		assert_plain_wiped();
		gdoi_pull_clear(&f->pull);
	}
	free(f);
	free(b);
	free(out);
}

/* A key server's notification is named, numbered and explained; phase-1
 * refusals list what was offered. */
static void
test_notifications_are_explained_with_their_likely_cause(void **state)
{
	struct ike_conf ike = {
	    .n_props = 2,
	    .props = {{.enc = IKE_ENC_AES, .key_bits = 256, .hash = IKE_HASH_SHA256, .group = 14},
		      {.enc = IKE_ENC_3DES, .hash = IKE_HASH_SHA1, .group = 19}}};
	static const struct {
		uint16_t type;
		int authenticated;
		size_t len;
		const char *text;
	} cases[] = {
	    {24, 0, 256, "AUTHENTICATION_FAILED (24, unauthenticated): check the pre-shared key"},
	    {18, 1, 256,
	     "INVALID_ID_INFORMATION (18): the key server does not know group 1001 or does not "
	     "authorise this member"},
	    {14, 0, 256,
	     "NO_PROPOSAL_CHOSEN (14, unauthenticated): none accepted of aes256-sha256-modp2048, "
	     "3des-sha1-ecp256"},
	    {14, 1, 50, "NO_PROPOSAL_CHOSEN (14): none accepted of aes256-"},
	    {4, 1, 256, "key server said INVALID_COOKIE (4)"},
	    {9999, 0, 256, "key server said notify type 9999 (unauthenticated)"},
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		memset(buf, 'x', sizeof(buf));
		gdoi_notify_explain(cases[i].type, cases[i].authenticated, 1001, &ike, buf,
				    cases[i].len);
		if (strcmp(buf, cases[i].text) != 0)
			fail_msg("type %u: '%s', expected '%s'", cases[i].type, buf, cases[i].text);
	}
}

struct client_events {
	unsigned int failed;
	char error[GDOI_ERROR_MAX + 32];
};

static int
no_policy(void *ctx, const struct gdoi_policy *pol)
{
	(void)ctx;
	(void)pol;
	return -ENOTSUP;
}

static int
no_keys(void *ctx)
{
	(void)ctx;
	return 0;
}

static void
on_state(void *ctx, enum gdoi_client_state st, const char *error)
{
	struct client_events *ev = ctx;

	if (st == GDOI_FAILED) {
		ev->failed++;
		snprintf(ev->error, sizeof(ev->error), "%s", error != NULL ? error : "");
	}
}

/* Settings for key server @p server (127.0.0.1) from @p local. */
static void
client_conf(struct gdoi_client_conf *cc, uint32_t local, uint16_t server)
{
	*cc = (struct gdoi_client_conf){.group_id = 1001,
					.n_servers = 1,
					.retry_interval_ms = 1000,
					.retries = 2,
					.retransmit_ms = 400};
	cc->servers[0].in.sin_family = AF_INET;
	cc->servers[0].in.sin_addr.s_addr = htonl(0x7f000001);
	cc->servers[0].in.sin_port = htons(server);
	cc->local.in.sin_family = AF_INET;
	cc->local.in.sin_addr.s_addr = htonl(local);
	cc->ike.local_addr = local;
	cc->ike.psk_len = 32;
	memset(cc->ike.psk, 'k', 32);
	cc->ike.doi = GDOI_DOI;
	cc->ike.n_props = 1;
	cc->ike.props[0] = (struct ike_proposal){.enc = IKE_ENC_AES,
						 .key_bits = 128,
						 .hash = IKE_HASH_SHA256,
						 .group = 14,
						 .lifetime = 3600};
}

/* A client of key server @p server (127.0.0.1) from @p local. */
static struct gdoi_client *
client_new(struct client_events *ev, uint32_t local, uint16_t server)
{
	struct gdoi_client_conf cc;
	struct gdoi_client_ops ops = {
	    .policy = no_policy, .state = on_state, .has_keys = no_keys, .ctx = ev};

	client_conf(&cc, local, server);
	return gdoi_client_create(&cc, &ops);
}

/* A UDP socket on 127.0.0.1 standing in for a key server; its port in @p port. */
static int
udp_server(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* An address the host does not have: the client is created, each attempt
 * fails with that reason at the retry interval, the group fails once. */
static void
test_unassigned_local_address_fails_each_attempt_not_the_client(void **state)
{
	struct client_events ev = {0};
	struct gdoi_client_info info;
	struct gdoi_client *c = client_new(&ev, 0xc0000201 /* 192.0.2.1 */, 848);

	(void)state;
	assert_non_null(c);
	gdoi_client_start(c, 1000);
	gdoi_client_info(c, 1000, &info);
	assert_int_equal(info.state, GDOI_FAILED);
	assert_int_equal(info.failures, 1);
	assert_string_equal(info.last_error,
			    "127.0.0.1:848: local address 192.0.2.1 is not assigned on this host");
	assert_int_equal(ev.failed, 1);
	assert_string_equal(ev.error, info.last_error); /* not "no key server answers" */
	gdoi_client_poll(c, 1999);
	gdoi_client_info(c, 1999, &info);
	assert_int_equal(info.failures, 1); /* not before the retry interval */
	for (uint64_t t = 2000; t <= 4000; t += 100)
		gdoi_client_poll(c, t);
	gdoi_client_info(c, 4000, &info);
	assert_int_equal(info.failures, 4); /* at 1, 2, 3 and 4 s */
	assert_int_equal(ev.failed, 1);	    /* said once */
	gdoi_client_free(c);
}

/* "no answer" only when the key server sent nothing; one that answered,
 * then fell silent, is told apart. */
static void
test_no_answer_is_said_only_when_nothing_came_back(void **state)
{
	struct client_events ev = {0};
	struct gdoi_client_info info;
	struct gdoi_client *c;
	uint16_t port;
	int ks = udp_server(&port);
	uint8_t m[2048];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	(void)state;
	c = client_new(&ev, 0x7f000001, port);
	assert_non_null(c);
	gdoi_client_start(c, 0);
	gdoi_client_poll(c, 1000); /* nothing read by the key server: no answer */
	gdoi_client_info(c, 1000, &info);
	assert_int_equal(info.state, GDOI_FAILED);
	assert_string_equal(strchr(info.last_error, ' '), " no answer");
	assert_int_equal(strncmp(ev.error, "no key server answers (127.0.0.1:", 33), 0);
	/* the next attempt: the key server answers with a message of other cookies */
	gdoi_client_poll(c, 2000);
	do
		n = recvfrom(ks, m, sizeof(m), 0, (struct sockaddr *)&from, &fl);
	while (n > 0 && (size_t)n < ISAKMP_HDR_LEN);
	assert_true(n >= (ssize_t)ISAKMP_HDR_LEN);
	m[0] ^= 0xff; /* initiator cookie: not the member's */
	assert_true(sendto(ks, m, (size_t)n, 0, (struct sockaddr *)&from, fl) == n);
	usleep(10000);
	gdoi_client_poll(c, 2100);
	gdoi_client_poll(c, 3000);
	gdoi_client_info(c, 3000, &info);
	assert_int_equal(info.failures, 2);
	assert_string_equal(strchr(info.last_error, ' '), " stopped answering during phase 1");
	assert_string_equal(ev.error, info.last_error); /* a key server answered */
	gdoi_client_free(c);
	close(ks);
}

/* New key servers from a reload: the attempt running goes on with the old
 * one; the next attempt starts phase 1 with the first new server. */
static void
test_reconf_takes_effect_at_the_next_attempt(void **state)
{
	struct client_events ev = {0};
	struct gdoi_client_conf cc;
	struct gdoi_client *c;
	uint16_t pa, pb;
	int a = udp_server(&pa), b = udp_server(&pb);
	uint8_t m[2048];

	(void)state;
	c = client_new(&ev, 0x7f000001, pa);
	assert_non_null(c);
	gdoi_client_start(c, 0);
	usleep(10000);
	assert_true(recv(a, m, sizeof(m), MSG_DONTWAIT) > 0); /* message 1 to the old one */
	client_conf(&cc, 0x7f000001, pb);
	cc.retry_interval_ms = 5000;
	cc.n_servers = 0;
	assert_int_equal(gdoi_client_reconf(c, &cc), -EINVAL);
	cc.n_servers = 1;
	assert_int_equal(gdoi_client_reconf(c, &cc), 0);
	gdoi_client_poll(c, 500); /* a retransmission: still the old server */
	usleep(10000);
	assert_true(recv(a, m, sizeof(m), MSG_DONTWAIT) > 0);
	assert_true(recv(b, m, sizeof(m), MSG_DONTWAIT) < 0);
	gdoi_client_poll(c, 1000); /* the old retry interval (1 s) ends the attempt */
	gdoi_client_poll(c, 1001); /* the next one: the new server */
	usleep(10000);
	assert_true(recv(b, m, sizeof(m), MSG_DONTWAIT) > 0);
	gdoi_client_poll(c, 5000); /* its retry interval is the new one: 5 s */
	{
		struct gdoi_client_info info;

		gdoi_client_info(c, 5000, &info);
		assert_int_equal(info.failures, 1);
		assert_int_equal(info.state, GDOI_PHASE1);
	}
	gdoi_client_free(c);
	close(a);
	close(b);
}

/* Key server @p i of @p c as telemetry shows it, at @p now. */
static struct gdoi_server_info
server_at(struct gdoi_client *c, uint64_t now, unsigned int i)
{
	struct gdoi_client_info info;

	gdoi_client_info(c, now, &info);
	assert_true(i < info.n_servers);
	return info.servers[i];
}

/* Two silent key servers: the first is current while it is tried, failed
 * (when, why, how often) once its retries are spent; the second is untried
 * until the failover, then current. The member's address is its socket's. */
static void
test_key_server_status_follows_failover(void **state)
{
	struct client_events ev = {0};
	struct gdoi_client_conf cc;
	struct gdoi_client_ops ops = {
	    .policy = no_policy, .state = on_state, .has_keys = no_keys, .ctx = &ev};
	struct gdoi_client_info info;
	struct gdoi_server_info s0, s1;
	struct gdoi_client *c;
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	char name[32], want[32];
	uint16_t pa, pb;
	int a = udp_server(&pa), b = udp_server(&pb);
	uint8_t m[2048];
	int64_t t0 = (int64_t)time(NULL), t1;

	(void)state;
	client_conf(&cc, 0x7f000001, pa);
	cc.n_servers = 2;
	cc.servers[1] = cc.servers[0];
	cc.servers[1].in.sin_port = htons(pb);
	c = gdoi_client_create(&cc, &ops);
	gvpn_wipe(&cc.ike, sizeof(cc.ike));
	assert_non_null(c);
	gdoi_client_info(c, 0, &info);
	assert_int_equal(info.n_servers, 2);
	assert_int_equal(info.servers[0].status, GDOI_SERVER_UNTRIED);
	assert_int_equal(info.servers[1].status, GDOI_SERVER_UNTRIED);
	snprintf(want, sizeof(want), "127.0.0.1:%u", pa);
	assert_string_equal(info.servers[0].addr, want);
	assert_int_equal(info.registered_at, 0);
	assert_int_equal(info.pushed_at, 0);
	/* the member's own address: the one its messages come from */
	assert_int_equal(info.local_bound, 1);
	gdoi_client_start(c, 0);
	usleep(10000);
	assert_true(recvfrom(a, m, sizeof(m), 0, (struct sockaddr *)&from, &fl) > 0);
	snprintf(name, sizeof(name), "127.0.0.1:%u", ntohs(from.sin_port));
	assert_true(ntohs(from.sin_port) != 0);
	gdoi_client_info(c, 0, &info);
	assert_string_equal(info.local, name);
	s0 = info.servers[0];
	assert_int_equal(s0.status, GDOI_SERVER_CURRENT);
	assert_int_equal(s0.failed_at, 0);
	assert_int_equal(info.servers[1].status, GDOI_SERVER_UNTRIED);

	gdoi_client_poll(c, 1000); /* the first attempt ends unanswered: retried */
	s0 = server_at(c, 1000, 0);
	t1 = (int64_t)time(NULL);
	assert_int_equal(s0.status, GDOI_SERVER_CURRENT);
	assert_int_equal(s0.failures, 1);
	assert_true(s0.failed_at >= t0 && s0.failed_at <= t1);
	assert_string_equal(s0.error, "no answer");
	assert_int_equal(server_at(c, 1000, 1).status, GDOI_SERVER_UNTRIED);

	gdoi_client_poll(c, 1001); /* the second attempt ... */
	gdoi_client_poll(c, 2001); /* ... fails too: the next server */
	s0 = server_at(c, 2001, 0);
	s1 = server_at(c, 2001, 1);
	assert_int_equal(s0.status, GDOI_SERVER_FAILED);
	assert_int_equal(s0.failures, 2);
	assert_true(s0.failed_at >= t0 && s0.failed_at <= (int64_t)time(NULL));
	assert_string_equal(s0.error, "no answer");
	assert_int_equal(s0.registrations, 0);
	assert_int_equal(s0.registered_at, 0);
	assert_int_equal(s1.status, GDOI_SERVER_UNTRIED);
	gdoi_client_poll(c, 2002);
	usleep(10000);
	assert_true(recv(b, m, sizeof(m), MSG_DONTWAIT) > 0); /* tried now */
	s1 = server_at(c, 2002, 1);
	assert_int_equal(s1.status, GDOI_SERVER_CURRENT);
	assert_int_equal(s1.failures, 0);
	assert_int_equal(s1.failed_at, 0);
	assert_string_equal(s1.error, "");
	assert_int_equal(server_at(c, 2002, 0).status, GDOI_SERVER_FAILED);
	gdoi_client_free(c);
	close(a);
	close(b);
}

/* A reload's new key server list: a server still in it keeps its record
 * wherever it moved; a new one is untried. */
static void
test_reconf_keeps_each_key_servers_record(void **state)
{
	struct client_events ev = {0};
	struct gdoi_client_conf cc;
	struct gdoi_client *c;
	struct gdoi_server_info s;
	uint16_t pa, pb;
	int a = udp_server(&pa), b = udp_server(&pb);

	(void)state;
	c = client_new(&ev, 0x7f000001, pa);
	assert_non_null(c);
	gdoi_client_start(c, 0);
	gdoi_client_poll(c, 1000);
	assert_int_equal(server_at(c, 1000, 0).failures, 1);
	/* the old server second, a new one first */
	client_conf(&cc, 0x7f000001, pb);
	cc.n_servers = 2;
	cc.servers[1] = cc.servers[0];
	cc.servers[1].in.sin_port = htons(pa);
	assert_int_equal(gdoi_client_reconf(c, &cc), 0);
	gvpn_wipe(&cc.ike, sizeof(cc.ike));
	gdoi_client_poll(c, 1001); /* the next attempt takes the new list up */
	s = server_at(c, 1001, 1);
	assert_int_equal(ntohs(cc.servers[1].in.sin_port), pa);
	assert_int_equal(s.status, GDOI_SERVER_FAILED);
	assert_int_equal(s.failures, 1);
	assert_string_equal(s.error, "no answer");
	s = server_at(c, 1001, 0);
	assert_int_equal(s.status, GDOI_SERVER_CURRENT); /* being tried */
	assert_int_equal(s.failures, 0);
	gdoi_client_free(c);
	close(a);
	close(b);
}

/* A local address the host does not have: shown as configured, not bound;
 * the attempt with the key server failed with that reason. */
static void
test_unbound_local_address_is_shown_as_configured(void **state)
{
	struct client_events ev = {0};
	struct gdoi_client_info info;
	struct gdoi_client *c = client_new(&ev, 0xc0000201 /* 192.0.2.1 */, 848);

	(void)state;
	assert_non_null(c);
	gdoi_client_start(c, 1000);
	gdoi_client_info(c, 1000, &info);
	assert_int_equal(info.local_bound, 0);
	assert_string_equal(info.local, "192.0.2.1:0");
	assert_int_equal(info.servers[0].status, GDOI_SERVER_CURRENT);
	assert_int_equal(info.servers[0].failures, 1);
	assert_string_equal(info.servers[0].error,
			    "local address 192.0.2.1 is not assigned on this host");
	assert_string_equal(gdoi_server_status_name(GDOI_SERVER_FAILED), "failed");
	assert_string_equal(gdoi_server_status_name((enum gdoi_server_status)99), "?");
	gdoi_client_free(c);
}

/* Settings for IPv6 key server [::1]:@p server from @p local (IPv6 text). */
static void
client_conf6(struct gdoi_client_conf *cc, const char *local, uint16_t server)
{
	client_conf(cc, 0, server);
	memset(&cc->servers[0], 0, sizeof(cc->servers[0]));
	cc->servers[0].in6.sin6_family = AF_INET6;
	cc->servers[0].in6.sin6_addr = in6addr_loopback;
	cc->servers[0].in6.sin6_port = htons(server);
	memset(&cc->local, 0, sizeof(cc->local));
	cc->local.in6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, local, &cc->local.in6.sin6_addr), 1);
	cc->ike.local_ipv6 = 1;
	memcpy(cc->ike.local_addr6, &cc->local.in6.sin6_addr, 16);
}

/* A UDP socket on [::1] standing in for a key server; its port in @p port. */
static int
udp_server6(uint16_t *port)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin6_port);
	return fd;
}

/* An IPv6 group: its socket is IPv6, message 1 reaches the key server over
 * IPv6 from the member's address; addresses are shown in brackets; an
 * answer from another port of the key server's address is not the key
 * server's; IPv4 key servers with an IPv6 local address are refused. */
static void
test_ipv6_group_talks_over_ipv6(void **state)
{
	struct client_events ev = {0};
	struct gdoi_client_conf cc;
	struct gdoi_client_ops ops = {
	    .policy = no_policy, .state = on_state, .has_keys = no_keys, .ctx = &ev};
	struct gdoi_client_info info;
	struct gdoi_client *c;
	struct sockaddr_in6 from;
	socklen_t fl = sizeof(from);
	char want[GDOI_ADDR_NAME_MAX];
	uint16_t port, other;
	int ks = udp_server6(&port), o = udp_server6(&other);
	uint8_t m[2048];
	ssize_t n;

	(void)state;
	client_conf6(&cc, "::1", port);
	c = gdoi_client_create(&cc, &ops);
	assert_non_null(c);
	gdoi_client_info(c, 0, &info);
	snprintf(want, sizeof(want), "[::1]:%u", port);
	assert_string_equal(info.servers[0].addr, want);
	assert_string_equal(info.server, want);
	assert_int_equal(info.local_bound, 1);
	gdoi_client_start(c, 0);
	usleep(10000);
	n = recvfrom(ks, m, sizeof(m), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	assert_true(n >= (ssize_t)ISAKMP_HDR_LEN);
	assert_int_equal(from.sin6_family, AF_INET6);
	assert_memory_equal(&from.sin6_addr, &in6addr_loopback, 16);
	assert_int_equal(m[18], ISAKMP_EXCH_MAIN);
	gdoi_client_info(c, 0, &info);
	snprintf(want, sizeof(want), "[::1]:%u", ntohs(from.sin6_port));
	assert_string_equal(info.local, want);
	/* the same message back from another port: not from the key server */
	assert_true(sendto(o, m, (size_t)n, 0, (struct sockaddr *)&from, fl) == n);
	usleep(10000);
	gdoi_client_poll(c, 10);
	gdoi_client_info(c, 10, &info);
	assert_int_equal(info.rx_datagrams, 1);
	assert_int_equal(info.rx_drops[GDOI_RX_DROP_NOT_KEY_SERVER], 1);
	/* from the key server's own: read as its answer (cookies its own: not this one) */
	m[0] ^= 0xff;
	assert_true(sendto(ks, m, (size_t)n, 0, (struct sockaddr *)&from, fl) == n);
	usleep(10000);
	gdoi_client_poll(c, 20);
	gdoi_client_info(c, 20, &info);
	assert_int_equal(info.rx_drops[GDOI_RX_DROP_UNKNOWN_COOKIES], 1);
	gdoi_client_free(c);

	/* one family: an IPv4 key server with an IPv6 local address is refused */
	cc.servers[0].in = (struct sockaddr_in){
	    .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001), .sin_port = htons(port)};
	errno = 0;
	assert_null(gdoi_client_create(&cc, &ops));
	assert_int_equal(errno, EINVAL);
	gvpn_wipe(&cc.ike, sizeof(cc.ike));
	close(ks);
	close(o);
}

/* An IPv6 local address the host does not have: each attempt fails with
 * that reason, the address shown as configured. */
static void
test_unassigned_ipv6_local_address(void **state)
{
	struct client_events ev = {0};
	struct gdoi_client_conf cc;
	struct gdoi_client_ops ops = {
	    .policy = no_policy, .state = on_state, .has_keys = no_keys, .ctx = &ev};
	struct gdoi_client_info info;
	struct gdoi_client *c;

	(void)state;
	client_conf6(&cc, "2001:db8::1", 848);
	c = gdoi_client_create(&cc, &ops);
	gvpn_wipe(&cc.ike, sizeof(cc.ike));
	assert_non_null(c);
	gdoi_client_start(c, 1000);
	gdoi_client_info(c, 1000, &info);
	assert_int_equal(info.state, GDOI_FAILED);
	assert_int_equal(info.local_bound, 0);
	assert_string_equal(info.local, "[2001:db8::1]:0");
	assert_string_equal(info.last_error,
			    "[::1]:848: local address 2001:db8::1 is not assigned on this host");
	gdoi_client_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_notifications_are_explained_with_their_likely_cause),
	    cmocka_unit_test(test_unassigned_local_address_fails_each_attempt_not_the_client),
	    cmocka_unit_test(test_no_answer_is_said_only_when_nothing_came_back),
	    cmocka_unit_test(test_reconf_takes_effect_at_the_next_attempt),
	    cmocka_unit_test(test_key_server_status_follows_failover),
	    cmocka_unit_test(test_reconf_keeps_each_key_servers_record),
	    cmocka_unit_test(test_unbound_local_address_is_shown_as_configured),
	    cmocka_unit_test(test_ipv6_group_talks_over_ipv6),
	    cmocka_unit_test(test_unassigned_ipv6_local_address),
	    cmocka_unit_test(test_pull_msg4_plaintext_is_wiped_on_every_outcome),
	    cmocka_unit_test(test_pull4_with_duplicate_kd_or_out_of_order_is_refused),
	};

	return cmocka_run_group_tests_name("gdoi_pull", tests, NULL, NULL);
}
