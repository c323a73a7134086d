/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One group's registration with its G-IKEv2 key servers (gvpn_gikev2_client.h):
 *
 *   IDLE -> PHASE1 (IKE_SA_INIT, GSA_AUTH) -> REGISTERED -> (timer) REKEYING
 *        (GSA_REGISTRATION on the IKE SA, or a new IKE SA) -> REGISTERED
 *                 \______ an attempt fails: the same server up to `retries`
 *                         times, `retry_interval` apart, then the next one;
 *                         with no keys left the group is FAILED
 *
 * lib/gikev2's member does the protocol; this file moves its datagrams
 * (the outstanding request resent unchanged, doubling the gap), joins the
 * rekey SA's multicast group, and decides when to register: before the
 * shortest TEK or the rekey SA ends (5-7 % of its lifetime left), a few
 * random seconds after the GCKS excluded the member (so that an excluded
 * crowd does not come back at once), and at once when no key is left.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/sock_diag.h>

#include <openssl/rand.h>

#include "gvpn_common.h"
#include "gvpn_gikev2_client.h"

/* Re-registration after an exclusion: this much, plus up to as much again at random. */
#define EXCLUDED_DELAY_MS 2000

struct server_state {
	uint64_t failures, registrations;
	int64_t failed_at, registered_at;
	uint8_t tried, last_ok;
	char error[GDOI_SERVER_ERROR_MAX];
};

/* gikev2_client_leave(): where the leave stands */
enum leave_step { LEAVE_NONE = 0, LEAVE_SENT, LEAVE_DELETE_SENT, LEAVE_DONE };

struct gikev2_client {
	struct gikev2_client_conf conf;
	struct gikev2_client_conf next;
	int has_next;
	struct gdoi_client_ops ops;
	enum gdoi_client_state state;
	struct gikev2_member m; /* holds keys: the client is in key memory */
	int fd, mfd;
	union gdoi_sockaddr bound, mgroup;
	uint64_t mjoin_failures;
	unsigned int server, attempts;
	uint64_t attempt_deadline, next_attempt, resend_at, rekey_at, rk_expires;
	uint64_t rejoin_at; /* after an exclusion, 0: none */
	uint32_t resend_gap;
	uint8_t attempt_heard, heard_since_ok, excluded, got_policy;
	uint8_t leave; /* enum leave_step */
	int policy_rc;
	uint64_t now; /* of the poll running: for the member's callbacks */
	char last_error[GDOI_ERROR_MAX];
	uint64_t registrations, failures;
	uint32_t rekey_msgid;
	uint64_t rx_datagrams, rx_not_key_server, rx_polls_full, drop_log_at;
	int debug;
	struct server_state srv[GDOI_MAX_SERVERS];
	int64_t registered_at, pushed_at;
	uint8_t buf[IKEV2_MSG_MAX];
};

static const char *
server_name(const struct gikev2_client *c, char *buf, size_t len)
{
	return gdoi_sockaddr_name(&c->conf.servers[c->server], buf, len);
}

static void __attribute__((format(printf, 3, 4)))
logf_(struct gikev2_client *c, int level, const char *fmt, ...)
{
	char msg[GDOI_ERROR_MAX + 64];
	va_list ap;

	if (c->ops.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->ops.log(c->ops.ctx, level, msg);
}

static void
set_state(struct gikev2_client *c, enum gdoi_client_state s, const char *error)
{
	if (c->state == s)
		return;
	c->state = s;
	if (c->ops.state != NULL)
		c->ops.state(c->ops.ctx, s, error);
}

static int
has_keys(const struct gikev2_client *c)
{
	return c->ops.has_keys != NULL && c->ops.has_keys(c->ops.ctx);
}

/* --- sockets --- */

/* The group's socket, bound to the local address. @return 0, or -1 with
 * errno set (EADDRNOTAVAIL: the address is not assigned on the host). */
static int
sock_open(struct gikev2_client *c)
{
	int fd = gdoi_udp_open(&c->conf.local, &c->bound);

	if (fd < 0)
		return -1;
	c->fd = fd;
	return 0;
}

/* The rekey SA's destination when it is one multicast address of the
 * group's family (its port, 848 when the selector names none). */
static int
rekey_mgroup(const struct gikev2_client *c, union gdoi_sockaddr *g)
{
	const struct gikev2_rekey_info *rk = &c->m.rk;
	const struct ikev2_ts *d = &rk->dst;
	uint16_t port =
	    htons(d->start_port == d->end_port && d->start_port != 0 ? d->start_port : 848);

	memset(g, 0, sizeof(*g));
	if (!rk->held)
		return 0;
	if (c->conf.local.sa.sa_family == AF_INET6 && d->type == IKEV2_TS_IPV6_ADDR_RANGE &&
	    d->start[0] == 0xff && memcmp(d->start, d->end, 16) == 0) {
		g->in6.sin6_family = AF_INET6;
		memcpy(&g->in6.sin6_addr, d->start, 16);
		g->in6.sin6_port = port;
		return 1;
	}
	if (c->conf.local.sa.sa_family == AF_INET && d->type == IKEV2_TS_IPV4_ADDR_RANGE &&
	    (d->start[0] & 0xf0) == 0xe0 && memcmp(d->start, d->end, 4) == 0) {
		g->in.sin_family = AF_INET;
		memcpy(&g->in.sin_addr, d->start, 4);
		g->in.sin_port = port;
		return 1;
	}
	return 0;
}

/* Follow the rekey SA's destination: join its multicast group (leave the
 * old one) so that GSA_REKEY sent there arrives beside unicast ones. */
static void
mcast_follow(struct gikev2_client *c)
{
	union gdoi_sockaddr want;
	char name[GDOI_ADDR_NAME_MAX];
	int has = rekey_mgroup(c, &want);

	if (c->mfd >= 0 && has && gdoi_sockaddr_equal(&want, &c->mgroup))
		return;
	if (c->mfd >= 0) {
		close(c->mfd);
		c->mfd = -1;
		logf_(c, 6, "left multicast group %s",
		      gdoi_sockaddr_name(&c->mgroup, name, sizeof(name)));
	}
	if (!has)
		return;
	c->mgroup = want;
	c->mfd = gdoi_mcast_open(&want, &c->conf.local);
	if (c->mfd < 0) {
		c->mjoin_failures++;
		logf_(c, 4, "multicast group %s not joined (%s): rekeys by unicast only",
		      gdoi_sockaddr_name(&want, name, sizeof(name)), strerror(errno));
		return;
	}
	logf_(c, 6, "joined multicast group %s for GSA_REKEY",
	      gdoi_sockaddr_name(&want, name, sizeof(name)));
}

/* --- messages --- */

static const char *
exchange_name(uint8_t e)
{
	switch (e) {
	case IKEV2_EXCH_IKE_SA_INIT:
		return "IKE_SA_INIT";
	case IKEV2_EXCH_INFORMATIONAL:
		return "INFORMATIONAL";
	case IKEV2_EXCH_GSA_AUTH:
		return "GSA_AUTH";
	case IKEV2_EXCH_GSA_REGISTRATION:
		return "GSA_REGISTRATION";
	case IKEV2_EXCH_GSA_REKEY:
		return "GSA_REKEY";
	case IKEV2_EXCH_GSA_INBAND_REKEY:
		return "GSA_INBAND_REKEY";
	default:
		return "exchange";
	}
}

/* The debug switch: the header alone (the rest is encrypted or public). */
static void
trace(struct gikev2_client *c, int out, const union gdoi_sockaddr *peer, const uint8_t *b,
      size_t len)
{
	char a[GDOI_ADDR_NAME_MAX];

	if (!c->debug)
		return;
	gdoi_sockaddr_name(peer, a, sizeof(a));
	if (len < IKEV2_HDR_LEN) {
		logf_(c, 6, "debug: %s %s: %zu bytes, shorter than an IKE header",
		      out ? "out to" : "in from", a, len);
		return;
	}
	logf_(c, 6, "debug: %s %s: %s (%u), %s, message ID %u, %zu bytes",
	      out ? "out to" : "in from", a, exchange_name(b[18]), b[18],
	      b[19] & IKEV2_FLAG_RESPONSE ? "response" : "request", ikev2_get32(b + 20), len);
}

void
gikev2_client_set_debug(struct gikev2_client *c, int on)
{
	c->debug = on != 0;
}

static void
send_bytes(struct gikev2_client *c, const uint8_t *b, size_t len)
{
	const union gdoi_sockaddr *s = &c->conf.servers[c->server];

	trace(c, 1, s, b, len);
	if (c->fd >= 0 && sendto(c->fd, b, len, 0, &s->sa, gdoi_sockaddr_len(s)) < 0)
		logf_(c, 4, "send to key server: %s", strerror(errno));
}

/* The outstanding request: send it (again) and arm its retransmission. */
static void
send_request(struct gikev2_client *c, uint64_t now)
{
	size_t len;
	const uint8_t *r = gikev2_request(&c->m, &len);

	if (r == NULL) {
		c->resend_at = 0;
		return;
	}
	send_bytes(c, r, len);
	c->resend_at = now + c->resend_gap;
}

static void
send_new(struct gikev2_client *c, uint64_t now)
{
	c->resend_gap = c->conf.retransmit_ms;
	send_request(c, now);
}

/* --- attempts --- */

static int
conf_valid(const struct gikev2_client_conf *conf)
{
	int af = conf->local.sa.sa_family;

	if (conf->n_servers == 0 || conf->n_servers > GDOI_MAX_SERVERS || conf->retries == 0 ||
	    conf->member.ike.n_props == 0 || conf->member.ike.n_props > IKEV2_MAX_PROPOSALS ||
	    (af != AF_INET && af != AF_INET6))
		return 0;
	for (unsigned int i = 0; i < conf->n_servers; i++)
		if (conf->servers[i].sa.sa_family != af)
			return 0;
	for (unsigned int i = 0; i < conf->member.ike.n_props; i++)
		if (conf->member.ike.props[i].n_kwa == 0)
			return 0;
	return 1;
}

static void
servers_remap(struct gikev2_client *c, const struct gikev2_client_conf *n)
{
	struct server_state old[GDOI_MAX_SERVERS];

	memcpy(old, c->srv, sizeof(old));
	memset(c->srv, 0, sizeof(c->srv));
	for (unsigned int i = 0; i < n->n_servers; i++)
		for (unsigned int j = 0; j < c->conf.n_servers; j++)
			if (gdoi_sockaddr_equal(&n->servers[i], &c->conf.servers[j])) {
				c->srv[i] = old[j];
				break;
			}
}

/* gikev2_client_reconf()'s settings, at the start of an attempt: new
 * servers or proposals start with a new IKE SA. */
static void
conf_apply(struct gikev2_client *c)
{
	struct gikev2_client_conf *n = &c->next;
	struct ikev2_conf *ike = &c->m.conf.ike;
	int servers = n->n_servers != c->conf.n_servers ||
		      memcmp(n->servers, c->conf.servers, sizeof(n->servers)) != 0;
	int props = n->member.ike.n_props != ike->n_props ||
		    memcmp(n->member.ike.props, ike->props, sizeof(ike->props)) != 0;

	if (servers)
		servers_remap(c, n);
	c->conf.n_servers = n->n_servers;
	memcpy(c->conf.servers, n->servers, sizeof(n->servers));
	c->conf.retries = n->retries;
	c->conf.retry_interval_ms = n->retry_interval_ms;
	c->conf.retransmit_ms = n->retransmit_ms;
	ike->n_props = n->member.ike.n_props;
	memcpy(ike->props, n->member.ike.props, sizeof(ike->props));
	gvpn_wipe(n, sizeof(*n));
	c->has_next = 0;
	if (servers) {
		c->server = 0;
		c->attempts = 0;
	}
	if (servers || props)
		gikev2_reset(&c->m);
	logf_(c, 6, "new key server settings in use%s", servers || props ? ": a new IKE SA" : "");
}

int
gikev2_client_reconf(struct gikev2_client *c, const struct gikev2_client_conf *conf)
{
	if (!conf_valid(conf))
		return -EINVAL;
	c->next = *conf;
	c->has_next = 1;
	return 0;
}

static void attempt_failed(struct gikev2_client *c, uint64_t now, const char *why, int timeout);

/* One registration attempt with the current server. */
static void
attempt(struct gikev2_client *c, uint64_t now)
{
	char name[GDOI_ADDR_NAME_MAX];
	int rc, reg;

	if (c->has_next)
		conf_apply(c);
	c->next_attempt = 0;
	c->attempt_heard = 0;
	c->excluded = 0;
	c->rejoin_at = 0;
	c->attempt_deadline = now + c->conf.retry_interval_ms;
	c->srv[c->server].tried = 1;
	if (c->fd < 0 && sock_open(c) != 0) {
		char why[128], a[INET6_ADDRSTRLEN];

		if (c->conf.local.sa.sa_family == AF_INET6)
			inet_ntop(AF_INET6, &c->conf.local.in6.sin6_addr, a, sizeof(a));
		else
			inet_ntop(AF_INET, &c->conf.local.in.sin_addr, a, sizeof(a));
		snprintf(why, sizeof(why), "local address %s %s", a,
			 errno == EADDRNOTAVAIL ? "is not assigned on this host" : strerror(errno));
		attempt_failed(c, now, why, 0);
		return;
	}
	/* a request of an earlier attempt still outstanding: start afresh */
	if (gikev2_request(&c->m, &(size_t){0}) != NULL)
		gikev2_reset(&c->m);
	rc = gikev2_register(&c->m);
	if (rc == -EBUSY) {
		gikev2_reset(&c->m);
		rc = gikev2_register(&c->m);
	}
	if (rc != 0) {
		logf_(c, 3, "registration not started: %s", strerror(-rc));
		attempt_failed(c, now, "registration not started", 0);
		return;
	}
	reg = c->m.state == GIKEV2_REG_SENT;
	logf_(c, 6, "registering with key server %s (attempt %u%s)",
	      server_name(c, name, sizeof(name)), c->attempts + 1,
	      reg ? ", GSA_REGISTRATION on the IKE SA" : "");
	if (c->state != GDOI_REKEYING)
		set_state(c, reg ? GDOI_PULL : GDOI_PHASE1, NULL);
	send_new(c, now);
}

static void
attempt_failed(struct gikev2_client *c, uint64_t now, const char *why, int timeout)
{
	char name[GDOI_ADDR_NAME_MAX], text[GDOI_ERROR_MAX], prev[GDOI_ERROR_MAX];
	struct server_state *s = &c->srv[c->server];

	server_name(c, name, sizeof(name));
	snprintf(prev, sizeof(prev), "%s", c->last_error);
	if (timeout && c->attempt_heard)
		snprintf(text, sizeof(text), "stopped answering during %s",
			 gikev2_state_name(c->m.state));
	else
		snprintf(text, sizeof(text), "%s", why);
	snprintf(c->last_error, sizeof(c->last_error), "%s: %.*s", name,
		 (int)(sizeof(c->last_error) - strlen(name) - 3), text);
	logf_(c, strcmp(prev, c->last_error) != 0 ? 4 : 6, "registration failed: %s",
	      c->last_error);
	c->failures++;
	s->failures++;
	s->failed_at = (int64_t)time(NULL);
	s->last_ok = 0;
	snprintf(s->error, sizeof(s->error), "%.*s", (int)sizeof(s->error) - 1, text);
	c->resend_at = 0;
	gikev2_reset(&c->m); /* the next attempt starts with a new IKE SA */
	if (++c->attempts >= c->conf.retries) {
		unsigned int from = c->server;

		c->attempts = 0;
		c->server = (c->server + 1) % c->conf.n_servers;
		if (c->server != from)
			logf_(c, 5, "key server failover: %s", server_name(c, name, sizeof(name)));
	}
	if (has_keys(c)) {
		set_state(c, GDOI_REKEYING, NULL);
	} else if (timeout && !c->heard_since_ok) {
		char all[GDOI_ERROR_MAX + 32];

		snprintf(all, sizeof(all), "no key server answers (%s)", c->last_error);
		set_state(c, GDOI_FAILED, all);
	} else {
		set_state(c, GDOI_FAILED, c->last_error);
	}
	c->next_attempt = c->attempt_deadline > now ? c->attempt_deadline : now;
}

/* Re-register when 5-7 % of the shortest TEK or rekey SA lifetime is left. */
static void
schedule_rekey(struct gikev2_client *c, const struct gdoi_policy *pol, uint64_t now)
{
	uint32_t life = 0, pct;

	for (uint16_t i = 0; pol != NULL && i < pol->n_teks; i++)
		if (pol->tek[i].lifetime != 0 && (life == 0 || pol->tek[i].lifetime < life))
			life = pol->tek[i].lifetime;
	if (c->m.rk.held && c->m.rk.lifetime_s != 0 && (life == 0 || c->m.rk.lifetime_s < life))
		life = c->m.rk.lifetime_s;
	if (life == 0) {
		c->rekey_at = 0;
		return;
	}
	RAND_bytes((uint8_t *)&pct, sizeof(pct));
	pct = 50 + pct % 21; /* 5.0 .. 7.0 %, in tenths */
	c->rekey_at = now + (uint64_t)life * 1000 * (1000 - pct) / 1000;
}

/* The rekey SA as the last message left it: its lifetime, its group. */
static void
rekey_sa_follow(struct gikev2_client *c, const uint8_t spi_before[16], uint64_t now)
{
	if (!c->m.rk.held) {
		c->rk_expires = 0;
	} else if (memcmp(spi_before, c->m.rk.spi, 16) != 0) {
		c->rk_expires =
		    c->m.rk.lifetime_s != 0 ? now + (uint64_t)c->m.rk.lifetime_s * 1000 : 0;
	}
	mcast_follow(c);
}

/* --- the member's callbacks --- */

static int
on_policy(void *ctx, const struct gdoi_policy *pol)
{
	struct gikev2_client *c = ctx;

	c->got_policy = 1;
	if (pol->has_sid)
		logf_(c, 6, "Sender-ID %u of %u bits", pol->sid, pol->sid_bits);
	else if (gdoi_policy_counter_mode(pol))
		logf_(c, 4, "counter-mode TEKs decrypt only: the key server gave no Sender-ID");
	c->policy_rc = c->ops.policy(c->ops.ctx, pol);
	if (c->policy_rc == 0)
		schedule_rekey(c, pol, c->now);
	return c->policy_rc;
}

static int
on_push(void *ctx, const struct gdoi_push *push)
{
	struct gikev2_client *c = ctx;
	int rc = c->ops.push != NULL ? c->ops.push(c->ops.ctx, push) : -ENOTSUP;

	if (rc != 0) {
		logf_(c, 4, "rekey message ID %u refused by the data plane", push->seq);
		return rc;
	}
	c->rekey_msgid = push->seq;
	c->pushed_at = (int64_t)time(NULL);
	logf_(c, 5, "rekeyed (message ID %u): %u TEK(s), %u delete(s)", push->seq,
	      push->has_policy ? push->pol.n_teks : 0, push->n_deletes);
	if (push->has_policy && push->pol.n_teks != 0 && c->state == GDOI_REGISTERED)
		schedule_rekey(c, &push->pol, c->now);
	if (push->has_policy && push->pol.sid_void && c->state == GDOI_REGISTERED) {
		logf_(c, 5, "no Sender-ID for the new counter-mode TEKs: registering again");
		c->rekey_at = c->now + 1;
	}
	return 0;
}

static void
on_state(void *ctx, enum gikev2_state s, const char *error)
{
	struct gikev2_client *c = ctx;

	(void)error;
	if (s == GIKEV2_EXCLUDED)
		c->excluded = 1;
}

/* --- datagrams --- */

static uint64_t
drops_total(const struct gikev2_member *m)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < GIKEV2_DROP_MAX; i++)
		n += m->stats.drops[i];
	return n;
}

static void
registered(struct gikev2_client *c, uint64_t now)
{
	char name[GDOI_ADDR_NAME_MAX];

	if (c->policy_rc != 0) {
		attempt_failed(c, now, "policy refused by the data plane", 0);
		return;
	}
	c->registrations++;
	c->registered_at = (int64_t)time(NULL);
	c->srv[c->server].registrations++;
	c->srv[c->server].registered_at = c->registered_at;
	c->srv[c->server].last_ok = 1;
	c->attempts = 0;
	c->heard_since_ok = 0;
	c->resend_at = 0;
	c->last_error[0] = '\0';
	logf_(c, 5, "registered with %s: rekey SA %s", server_name(c, name, sizeof(name)),
	      c->m.rk.held ? "held" : "none");
	set_state(c, GDOI_REGISTERED, NULL);
}

static void
datagram(struct gikev2_client *c, const uint8_t *b, size_t n, const union gdoi_sockaddr *from,
	 uint64_t now)
{
	uint64_t drops = drops_total(&c->m);
	enum gikev2_state before = c->m.state;
	uint8_t spi[16];
	const char *why = NULL;
	size_t len;
	const uint8_t *out;
	int rc;

	c->rx_datagrams++;
	trace(c, 0, from, b, n);
	/* GSA_REKEY from anywhere (its keys and signature authenticate it);
	 * the rest only from the key server being talked to */
	if (!(n > 18 && b[18] == IKEV2_EXCH_GSA_REKEY) &&
	    !gdoi_sockaddr_equal(from, &c->conf.servers[c->server])) {
		c->rx_not_key_server++;
		return;
	}
	memcpy(spi, c->m.rk.spi, 16);
	c->got_policy = 0;
	c->now = now;
	rc = gikev2_input(&c->m, b, n, &why);
	if (drops_total(&c->m) != drops && now >= c->drop_log_at) {
		c->drop_log_at = now + 1000; /* at most a line a second: they can be forged */
		logf_(c, 4, "message dropped: %s", why != NULL ? why : "?");
	}
	if (!(n > 18 && b[18] == IKEV2_EXCH_GSA_REKEY)) {
		c->attempt_heard = 1;
		c->heard_since_ok = 1;
	}
	if (rc < 0) {
		if (before == GIKEV2_INIT_SENT || before == GIKEV2_AUTH_SENT ||
		    before == GIKEV2_REG_SENT)
			attempt_failed(c, now, c->m.last_error[0] ? c->m.last_error : "refused", 0);
		return;
	}
	if (rc == 1 && (out = gikev2_out(&c->m, &len)) != NULL) {
		size_t rl;
		const uint8_t *req = gikev2_request(&c->m, &rl);

		if (req == out)
			send_new(c, now); /* the next request of the exchange */
		else
			send_bytes(c, out, len); /* an answer to the key server's request */
	}
	if (c->got_policy)
		registered(c, now);
	rekey_sa_follow(c, spi, now);
	if (c->excluded && c->state == GDOI_REGISTERED) {
		uint32_t r = 0;

		RAND_bytes((uint8_t *)&r, sizeof(r));
		c->rejoin_at = now + EXCLUDED_DELAY_MS + r % EXCLUDED_DELAY_MS;
		logf_(c, 5, "excluded from the group by the key server: registering again in %u ms",
		      (unsigned int)(c->rejoin_at - now));
	}
	c->excluded = 0;
}

static int
receive_fd(struct gikev2_client *c, int fd, unsigned int budget, uint64_t now)
{
	for (unsigned int i = 0; i < budget; i++) {
		union gdoi_sockaddr from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, c->buf, sizeof(c->buf), MSG_DONTWAIT, &from.sa, &fl);

		if (n < 0)
			return 0;
		datagram(c, c->buf, (size_t)n, &from, now);
		if (fd == c->mfd && c->mfd < 0)
			return 0; /* the message moved the group: that socket is gone */
	}
	return 1;
}

void
gikev2_client_start(struct gikev2_client *c, uint64_t now)
{
	c->attempts = 0;
	c->heard_since_ok = 0;
	if (c->state == GDOI_REGISTERED)
		set_state(c, GDOI_REKEYING, NULL);
	attempt(c, now);
}

/* --- leaving --- */

/* The leave's next step once the member took what arrived: the answer to
 * GSA_REGISTRATION brings the Delete of the IKE SA; the IKE SA gone (our
 * Delete answered, or the key server's own) ends it. */
static void
leave_step(struct gikev2_client *c, uint64_t now)
{
	char name[GDOI_ADDR_NAME_MAX];

	if (c->leave == LEAVE_SENT && !c->m.leaving) {
		if (c->m.ike.state == IKEV2_ESTABLISHED && ikev2_delete(&c->m.ike) == 0) {
			logf_(c, 6, "left the group; deleting the IKE SA");
			c->leave = LEAVE_DELETE_SENT;
			send_new(c, now);
			return;
		}
		c->leave = LEAVE_DONE;
	}
	if (c->m.ike.state != IKEV2_ESTABLISHED && c->m.ike.state != IKEV2_DELETE_SENT &&
	    c->leave != LEAVE_DONE) {
		c->leave = LEAVE_DONE;
		c->resend_at = 0;
		logf_(c, 5, "left the group at key server %s", server_name(c, name, sizeof(name)));
	}
}

/* While leaving: the key server's answers alone (GSA_REKEY is not taken). */
static void
leave_datagram(struct gikev2_client *c, const uint8_t *b, size_t n, const union gdoi_sockaddr *from,
	       uint64_t now)
{
	size_t len, rl;
	const uint8_t *out;

	c->rx_datagrams++;
	trace(c, 0, from, b, n);
	if ((n > 18 && b[18] == IKEV2_EXCH_GSA_REKEY) ||
	    !gdoi_sockaddr_equal(from, &c->conf.servers[c->server]))
		return;
	if (gikev2_input(&c->m, b, n, NULL) == 1 && (out = gikev2_out(&c->m, &len)) != NULL &&
	    out != gikev2_request(&c->m, &rl))
		send_bytes(c, out, len); /* a request of the key server's answered */
	leave_step(c, now);
}

int
gikev2_client_leave(struct gikev2_client *c, uint64_t now)
{
	char name[GDOI_ADDR_NAME_MAX];
	int rc;

	c->leave = LEAVE_DONE;
	c->rekey_at = 0;
	c->rejoin_at = 0;
	c->next_attempt = 0;
	c->resend_at = 0;
	gikev2_rekey_sa_drop(&c->m);
	mcast_follow(c); /* the rekey SA gone: its multicast group left */
	if (c->fd < 0 || !c->m.ike_up)
		return 0; /* no IKE SA: nothing to tell the key server on */
	rc = gikev2_request(&c->m, &(size_t){0}) != NULL
		 ? -EBUSY
		 : gikev2_leave(&c->m, IKEV2_N_REGISTRATION_FAILED);
	if (rc != 0) {
		logf_(c, 5, "not leaving the group: %s",
		      rc == -EBUSY ? "an exchange with the key server is under way"
				   : strerror(-rc));
		return 0;
	}
	logf_(c, 5, "leaving the group: GSA_REGISTRATION to key server %s",
	      server_name(c, name, sizeof(name)));
	c->leave = LEAVE_SENT;
	send_new(c, now);
	return 1;
}

int
gikev2_client_leaving(const struct gikev2_client *c)
{
	return c->leave == LEAVE_SENT || c->leave == LEAVE_DELETE_SENT;
}

static void
leave_poll(struct gikev2_client *c, uint64_t now)
{
	for (unsigned int i = 0; i < GDOI_RX_BUDGET && c->fd >= 0 && gikev2_client_leaving(c);
	     i++) {
		union gdoi_sockaddr from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(c->fd, c->buf, sizeof(c->buf), MSG_DONTWAIT, &from.sa, &fl);

		if (n < 0)
			break;
		leave_datagram(c, c->buf, (size_t)n, &from, now);
	}
	if (gikev2_client_leaving(c) && c->resend_at != 0 && now >= c->resend_at) {
		c->resend_gap *= 2;
		send_request(c, now);
	}
}

void
gikev2_client_poll(struct gikev2_client *c, uint64_t now)
{
	unsigned int share = c->mfd >= 0 ? GDOI_RX_BUDGET / 2 : GDOI_RX_BUDGET;
	int full;

	if (c->leave != LEAVE_NONE) {
		leave_poll(c, now);
		return;
	}
	full = c->fd >= 0 ? receive_fd(c, c->fd, share, now) : 0;

	if (c->mfd >= 0)
		full |= receive_fd(c, c->mfd, GDOI_RX_BUDGET / 2, now);
	c->rx_polls_full += (uint64_t)full;
	if (c->resend_at != 0 && now >= c->attempt_deadline && c->next_attempt == 0 &&
	    (c->state == GDOI_PHASE1 || c->state == GDOI_PULL || c->state == GDOI_REKEYING)) {
		attempt_failed(c, now, "no answer", 1);
		return;
	}
	if (c->resend_at != 0 && now >= c->resend_at) {
		c->resend_gap *= 2;
		send_request(c, now);
	}
	if (c->next_attempt != 0 && now >= c->next_attempt)
		attempt(c, now);
	if (c->state == GDOI_REGISTERED && c->rekey_at != 0 && now >= c->rekey_at) {
		c->rekey_at = 0;
		logf_(c, 6, "re-registering before the keys end");
		set_state(c, GDOI_REKEYING, NULL);
		attempt(c, now);
	}
	if (c->m.rk.held && c->rk_expires != 0 && now >= c->rk_expires) {
		logf_(c, 5,
		      "rekey SA expired: GSA_REKEY no longer accepted until the next "
		      "registration");
		gikev2_rekey_sa_drop(&c->m);
		c->rk_expires = 0;
		mcast_follow(c);
	}
	if (c->state == GDOI_REGISTERED && c->rejoin_at != 0 && now >= c->rejoin_at) {
		c->attempts = 0;
		set_state(c, GDOI_PHASE1, NULL);
		attempt(c, now);
	}
	/* every SA gone (deleted, or expired): register again now, unless
	 * excluded (then after the random delay above) */
	if (c->state == GDOI_REGISTERED && c->rejoin_at == 0 && !has_keys(c) &&
	    c->ops.has_keys != NULL) {
		logf_(c, 5, "no keys left: registering again");
		c->attempts = 0;
		set_state(c, GDOI_PHASE1, NULL);
		attempt(c, now);
	}
	if (c->state == GDOI_REKEYING && c->ops.has_keys != NULL && !has_keys(c))
		set_state(c, GDOI_FAILED, c->last_error[0] ? c->last_error : "keys expired");
}

/* --- life --- */

struct gikev2_client *
gikev2_client_create(const struct gikev2_client_conf *conf, const struct gdoi_client_ops *ops)
{
	struct gikev2_ops mops = {.policy = on_policy, .push = on_push, .state = on_state};
	struct gikev2_client *c;
	int rc;

	if (!conf_valid(conf)) {
		errno = EINVAL;
		return NULL;
	}
	c = gvpn_keymem_alloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	c->conf = *conf;
	gvpn_wipe(&c->conf.member, sizeof(c->conf.member)); /* the member keeps its own */
	c->ops = *ops;
	c->fd = -1;
	c->mfd = -1;
	mops.ctx = c;
	rc = gikev2_member_init(&c->m, &conf->member, &mops);
	if (rc != 0 || (sock_open(c) != 0 && errno != EADDRNOTAVAIL)) {
		int err = rc != 0 ? -rc : errno;

		gikev2_member_clear(&c->m);
		gvpn_keymem_free(c);
		errno = err;
		return NULL;
	}
	return c;
}

void
gikev2_client_free(struct gikev2_client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->mfd >= 0)
		close(c->mfd);
	gikev2_member_clear(&c->m);
	gvpn_wipe(c->buf, sizeof(c->buf));
	gvpn_keymem_free(c);
}

static enum gdoi_server_status
server_status(const struct gikev2_client *c, unsigned int i)
{
	const struct server_state *s = &c->srv[i];

	if (!s->tried)
		return GDOI_SERVER_UNTRIED;
	if (i == c->server)
		return GDOI_SERVER_CURRENT;
	return s->last_ok ? GDOI_SERVER_STANDBY : GDOI_SERVER_FAILED;
}

void
gikev2_client_info(const struct gikev2_client *c, uint64_t now, struct gikev2_client_info *out)
{
	const struct gikev2_member *m = &c->m;
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t ml = sizeof(mem);

	memset(out, 0, sizeof(*out));
	out->state = c->state;
	out->member_state = m->state;
	server_name(c, out->server, sizeof(out->server));
	snprintf(out->last_error, sizeof(out->last_error), "%.*s", (int)sizeof(out->last_error) - 1,
		 c->last_error);
	out->rekey_in_ms = c->rekey_at == 0    ? -1
			   : c->rekey_at > now ? (int64_t)(c->rekey_at - now)
					       : 0;
	out->registrations = c->registrations;
	out->failures = c->failures;
	out->rekeys = m->stats.rekeys;
	out->inband_rekeys = m->stats.inband_rekeys;
	out->deletes = m->stats.deletes;
	out->rekey_msgid = c->rekey_msgid;
	memcpy(out->drops, m->stats.drops, sizeof(out->drops));
	out->rx_datagrams = c->rx_datagrams;
	out->rx_not_key_server = c->rx_not_key_server;
	out->rx_polls_full = c->rx_polls_full;
	if (c->mfd >= 0)
		gdoi_sockaddr_name(&c->mgroup, out->push_group, sizeof(out->push_group));
	out->push_group_failures = c->mjoin_failures;
	out->ike_state = m->ike.state;
	memcpy(out->ike_spi_i, m->ike.spi_i, 8);
	memcpy(out->ike_spi_r, m->ike.spi_r, 8);
	if (m->ike.state == IKEV2_ESTABLISHED)
		out->ike_suite = m->ike.chosen;
	out->ike_next_msgid = m->ike.next_msgid;
	out->ike_peer_msgid = m->ike.peer_msgid;
	out->rk = m->rk;
	out->rekey_sa_expires_in_ms = !m->rk.held || c->rk_expires == 0 ? -1
				      : c->rk_expires > now ? (int64_t)(c->rk_expires - now)
							    : 0;
	out->sid_bits = (uint8_t)m->sid_bits;
	out->n_sids = m->n_sids;
	out->sid = m->n_sids != 0 ? m->sid[0] : 0;
	out->n_servers = c->conf.n_servers;
	for (unsigned int i = 0; i < c->conf.n_servers && i < GDOI_MAX_SERVERS; i++) {
		const struct server_state *s = &c->srv[i];
		struct gdoi_server_info *o = &out->servers[i];

		gdoi_sockaddr_name(&c->conf.servers[i], o->addr, sizeof(o->addr));
		o->status = server_status(c, i);
		o->failed_at = s->failed_at;
		o->registered_at = s->registered_at;
		o->failures = s->failures;
		o->registrations = s->registrations;
		memcpy(o->error, s->error, sizeof(o->error));
	}
	gdoi_sockaddr_name(c->fd >= 0 ? &c->bound : &c->conf.local, out->local, sizeof(out->local));
	out->local_bound = c->fd >= 0;
	out->registered_at = c->registered_at;
	out->pushed_at = c->pushed_at;
	if (c->fd >= 0 && getsockopt(c->fd, SOL_SOCKET, SO_MEMINFO, mem, &ml) == 0 &&
	    ml > SK_MEMINFO_DROPS * sizeof(mem[0]))
		out->rx_socket_full = mem[SK_MEMINFO_DROPS];
}
