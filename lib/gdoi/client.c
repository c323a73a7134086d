/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Registration state machine of one group (R10-R12, R17):
 *
 *   IDLE -> PHASE1 -> PULL -> REGISTERED -> (timer) REKEYING -> REGISTERED
 *                 \______ attempt fails: same server up to `retries` times,
 *                         `retry_interval` apart, then the next server; with
 *                         no keys left the group is FAILED (fail-open applies)
 *
 * An attempt is one phase 1 (skipped while the IKE SA lives) and one pull.
 * Messages are retransmitted within an attempt with a doubling interval.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "gvpn_common.h"
#include "gvpn_gdoi_client.h"

static const char *const state_names[] = {"idle", "phase1", "pull", "registered", "rekeying",
					  "failed"};

const char *
gdoi_client_state_name(enum gdoi_client_state s)
{
	return (unsigned int)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

struct gdoi_client {
	struct gdoi_client_conf conf;
	struct gdoi_client_ops ops;
	enum gdoi_client_state state;
	int fd;
	unsigned int server;         /* index of the current key server */
	unsigned int attempts;       /* failed attempts on it */
	uint64_t attempt_deadline;   /* the attempt fails then */
	uint64_t next_attempt;       /* 0 = none scheduled */
	uint64_t resend_at;
	uint32_t resend_gap;
	uint64_t rekey_at;           /* 0 = none scheduled */
	uint64_t ike_expires;
	struct ike_sa ike;
	struct gdoi_pull pull;
	struct isakmp_buf out;
	char last_error[128];
	uint64_t registrations, failures;
};

static void
logf_(struct gdoi_client *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
logf_(struct gdoi_client *c, int level, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (c->ops.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->ops.log(c->ops.ctx, level, msg);
}

static const char *
server_name(const struct gdoi_client *c, char *buf, size_t len)
{
	const struct sockaddr_in *s = &c->conf.servers[c->server];
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
	snprintf(buf, len, "%s:%u", a, ntohs(s->sin_port));
	return buf;
}

static void
set_state(struct gdoi_client *c, enum gdoi_client_state s, const char *error)
{
	if (c->state == s)
		return;
	c->state = s;
	if (c->ops.state != NULL)
		c->ops.state(c->ops.ctx, s, error);
}

struct gdoi_client *
gdoi_client_create(const struct gdoi_client_conf *conf, const struct gdoi_client_ops *ops)
{
	struct gdoi_client *c;

	if (conf->n_servers == 0 || conf->n_servers > GDOI_MAX_SERVERS || conf->retries == 0) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->conf = *conf;
	c->ops = *ops;
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || bind(c->fd, (const struct sockaddr *)&conf->local, sizeof(conf->local)) != 0) {
		int err = errno;

		if (c->fd >= 0)
			close(c->fd);
		gvpn_wipe(c, sizeof(*c));
		free(c);
		errno = err;
		return NULL;
	}
	return c;
}

void
gdoi_client_free(struct gdoi_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	ike_sa_clear(&c->ike);
	gdoi_pull_clear(&c->pull);
	gvpn_wipe(c, sizeof(*c));
	free(c);
}

static void
send_out(struct gdoi_client *c, uint64_t now)
{
	const struct sockaddr_in *s = &c->conf.servers[c->server];

	if (sendto(c->fd, c->out.data, c->out.len, 0, (const struct sockaddr *)s, sizeof(*s)) < 0)
		logf_(c, 4, "send to key server: %s", strerror(errno));
	c->resend_at = now + c->resend_gap;
}

/* A new message: send it and arm its retransmission. */
static void
send_new(struct gdoi_client *c, uint64_t now)
{
	c->resend_gap = c->conf.retransmit_ms;
	send_out(c, now);
}

static void
begin_pull(struct gdoi_client *c, uint64_t now)
{
	int rc = gdoi_pull_start(&c->pull, &c->ike, c->conf.group_id, &c->out);

	if (rc != 0) {
		logf_(c, 3, "pull not started: %s", strerror(-rc));
		return;
	}
	if (c->state != GDOI_REKEYING)
		set_state(c, GDOI_PULL, NULL);
	send_new(c, now);
}

/* One registration attempt with the current server. */
static void
attempt(struct gdoi_client *c, uint64_t now)
{
	char name[32];
	int rc;

	c->next_attempt = 0;
	c->attempt_deadline = now + c->conf.retry_interval_ms;
	if (c->ike.state == IKE_ESTABLISHED && now < c->ike_expires) {
		begin_pull(c, now); /* reuse the IKE SA (R17) */
		return;
	}
	ike_sa_clear(&c->ike);
	rc = ike_mm_start(&c->ike, &c->conf.ike, &c->out);
	if (rc != 0) {
		logf_(c, 3, "phase 1 not started: %s", strerror(-rc));
		return;
	}
	logf_(c, 6, "registering with key server %s (attempt %u)", server_name(c, name, sizeof(name)),
	      c->attempts + 1);
	if (c->state != GDOI_REKEYING)
		set_state(c, GDOI_PHASE1, NULL);
	send_new(c, now);
}

static void
attempt_failed(struct gdoi_client *c, uint64_t now, const char *why)
{
	char name[32];

	snprintf(c->last_error, sizeof(c->last_error), "%s: %s", server_name(c, name, sizeof(name)),
		 why);
	logf_(c, 4, "registration failed: %s", c->last_error);
	c->failures++;
	c->resend_at = 0;
	ike_sa_clear(&c->ike);
	gdoi_pull_clear(&c->pull);
	if (++c->attempts >= c->conf.retries) {
		unsigned int from = c->server;

		c->attempts = 0;
		c->server = (c->server + 1) % c->conf.n_servers;
		if (c->server != from)
			logf_(c, 5, "key server failover: %s", server_name(c, name, sizeof(name)));
	}
	/* Keys still valid: keep them, keep trying (R12). None: fail open (R24). */
	if (c->ops.has_keys != NULL && c->ops.has_keys(c->ops.ctx))
		set_state(c, GDOI_REKEYING, NULL);
	else
		set_state(c, GDOI_FAILED, c->last_error);
	c->next_attempt = c->attempt_deadline > now ? c->attempt_deadline : now;
}

/* Re-register when 5-7 % of the shortest TEK or KEK lifetime is left (R17). */
static void
schedule_rekey(struct gdoi_client *c, const struct gdoi_policy *pol, uint64_t now)
{
	uint32_t life = 0, pct;

	for (uint16_t i = 0; i < pol->n_teks; i++)
		if (pol->tek[i].lifetime != 0 && (life == 0 || pol->tek[i].lifetime < life))
			life = pol->tek[i].lifetime;
	if (pol->has_kek && pol->kek.lifetime != 0 && (life == 0 || pol->kek.lifetime < life))
		life = pol->kek.lifetime;
	if (life == 0) {
		c->rekey_at = 0;
		return;
	}
	RAND_bytes((uint8_t *)&pct, sizeof(pct));
	pct = 50 + pct % 21; /* 5.0 .. 7.0 %, in tenths */
	c->rekey_at = now + (uint64_t)life * 1000 * (1000 - pct) / 1000;
}

static void
registered(struct gdoi_client *c, uint64_t now)
{
	char name[32];
	int rc = c->ops.policy(c->ops.ctx, &c->pull.pol);

	if (rc != 0) {
		attempt_failed(c, now, "policy refused by the data plane");
		return;
	}
	c->registrations++;
	c->attempts = 0;
	c->resend_at = 0;
	c->last_error[0] = '\0';
	schedule_rekey(c, &c->pull.pol, now);
	logf_(c, 5, "registered with %s: %u TEK(s)%s", server_name(c, name, sizeof(name)),
	      c->pull.pol.n_teks, c->pull.pol.has_kek ? " and a KEK" : "");
	gdoi_pull_clear(&c->pull);
	set_state(c, GDOI_REGISTERED, NULL);
}

static void
input(struct gdoi_client *c, const uint8_t *msg, size_t len, uint64_t now)
{
	int rc;

	switch (c->ike.state) {
	case IKE_MM_SENT1:
	case IKE_MM_SENT3:
	case IKE_MM_SENT5:
		rc = ike_mm_input(&c->ike, msg, len, &c->out);
		if (rc == IKE_IGNORED)
			return;
		if (rc < 0) {
			attempt_failed(c, now, c->ike.error);
			return;
		}
		if (rc == IKE_CONTINUE) {
			send_new(c, now);
			return;
		}
		c->ike_expires = now + (uint64_t)c->ike.chosen.lifetime * 1000;
		begin_pull(c, now);
		return;
	case IKE_ESTABLISHED:
		if (c->pull.state != GDOI_PULL_SENT1 && c->pull.state != GDOI_PULL_SENT3)
			return;
		rc = gdoi_pull_input(&c->pull, &c->ike, msg, len, &c->out);
		if (rc == IKE_IGNORED)
			return;
		if (rc < 0) {
			char why[96];

			if (rc == -ECONNREFUSED)
				snprintf(why, sizeof(why), "%s (notify type %u)", c->pull.error,
					 c->pull.notify);
			else
				snprintf(why, sizeof(why), "%s", c->pull.error);
			attempt_failed(c, now, why);
			return;
		}
		if (rc == IKE_CONTINUE) {
			/* message 3 goes once; message 4 follows without a request */
			send_new(c, now);
			return;
		}
		registered(c, now);
		return;
	default:
		return;
	}
}

void
gdoi_client_start(struct gdoi_client *c, uint64_t now_ms)
{
	c->attempts = 0;
	if (c->state == GDOI_REGISTERED)
		set_state(c, GDOI_REKEYING, NULL);
	attempt(c, now_ms);
}

void
gdoi_client_poll(struct gdoi_client *c, uint64_t now)
{
	uint8_t buf[ISAKMP_MSG_MAX];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	while ((n = recvfrom(c->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) > 0) {
		const struct sockaddr_in *s = &c->conf.servers[c->server];

		fl = sizeof(from);
		if (from.sin_addr.s_addr != s->sin_addr.s_addr || from.sin_port != s->sin_port)
			continue; /* only the server we talk to */
		input(c, buf, (size_t)n, now);
	}
	if (c->resend_at != 0 && now >= c->attempt_deadline &&
	    (c->state == GDOI_PHASE1 || c->state == GDOI_PULL || c->state == GDOI_REKEYING) &&
	    c->next_attempt == 0) {
		attempt_failed(c, now, "no answer");
		return;
	}
	if (c->resend_at != 0 && now >= c->resend_at) {
		c->resend_gap *= 2;
		send_out(c, now);
	}
	if (c->next_attempt != 0 && now >= c->next_attempt)
		attempt(c, now);
	if (c->state == GDOI_REGISTERED && c->rekey_at != 0 && now >= c->rekey_at) {
		c->rekey_at = 0;
		logf_(c, 6, "re-registering before the keys expire");
		set_state(c, GDOI_REKEYING, NULL);
		attempt(c, now);
	}
	/* Registered keys can still run out while the servers are silent. */
	if (c->state == GDOI_REKEYING && c->ops.has_keys != NULL && !c->ops.has_keys(c->ops.ctx))
		set_state(c, GDOI_FAILED, c->last_error[0] ? c->last_error : "keys expired");
}

void
gdoi_client_info(const struct gdoi_client *c, uint64_t now, struct gdoi_client_info *out)
{
	memset(out, 0, sizeof(*out));
	out->state = c->state;
	server_name(c, out->server, sizeof(out->server));
	snprintf(out->last_error, sizeof(out->last_error), "%s", c->last_error);
	out->rekey_in_ms = c->rekey_at == 0 ? -1 : c->rekey_at > now ? (int64_t)(c->rekey_at - now) : 0;
	out->registrations = c->registrations;
	out->failures = c->failures;
}
