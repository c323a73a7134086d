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
 *
 * A local address not (yet) assigned on the host does not stop the client:
 * each attempt tries to bind it again and fails with that reason until it
 * is there. New key servers, retry settings and phase-1 proposals
 * (gdoi_client_reconf()) take effect at the next attempt; the keys held are
 * kept.
 *
 * Once registered with a KEK, GROUPKEY-PUSH datagrams from the key server
 * (from any address: the KEK and the signature authenticate them) replace
 * TEKs and the KEK without a pull; a push that leaves no keys starts a new
 * registration at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ifaddrs.h>
#include <net/if.h>

#include <linux/sock_diag.h>

#include <openssl/rand.h>

#include "gvpn_common.h"
#include "gvpn_gdoi_client.h"

static const char *const state_names[] = {"idle",	"phase1",   "pull",
					  "registered", "rekeying", "failed"};

const char *
gdoi_client_state_name(enum gdoi_client_state s)
{
	return (unsigned int)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s]
									      : "?";
}

static const char *const server_status_names[] = {"untried", "current", "failed", "standby"};

const char *
gdoi_server_status_name(enum gdoi_server_status s)
{
	return (unsigned int)s < sizeof(server_status_names) / sizeof(server_status_names[0])
		   ? server_status_names[s]
		   : "?";
}

#define GDOI_RX_DROP_ID(n, id, desc) [GDOI_RX_DROP_##n] = id,
static const char *const rx_drop_ids[] = {GDOI_RX_DROP_LIST(GDOI_RX_DROP_ID)};
#undef GDOI_RX_DROP_ID

const char *
gdoi_rx_drop_id(enum gdoi_rx_drop d)
{
	return (unsigned int)d < GDOI_RX_DROP_MAX ? rx_drop_ids[d] : "?";
}

/* Datagrams read by one recvmmsg(): few system calls under a flood. */
#define RX_BATCH 16
/* Socket receive buffer asked for: some milliseconds of a flood between polls. */
#define RX_SOCKBUF (4 << 20)

struct gdoi_rx {
	struct mmsghdr msg[RX_BATCH];
	struct iovec iov[RX_BATCH];
	union gdoi_sockaddr from[RX_BATCH];
	uint8_t buf[RX_BATCH][ISAKMP_MSG_MAX];
};

/* What the attempts with one key server gave (R12), for the operator. */
struct server_state {
	uint64_t failures, registrations;
	int64_t failed_at, registered_at; /* unix time, 0: never */
	uint8_t tried;			  /* an attempt with it started */
	uint8_t last_ok;		  /* its last attempt registered */
	char error[GDOI_SERVER_ERROR_MAX];
};

struct gdoi_client {
	struct gdoi_client_conf conf;
	struct gdoi_client_conf next; /* gdoi_client_reconf(): for the next attempt */
	int has_next;
	struct gdoi_client_ops ops;
	enum gdoi_client_state state;
	int fd;			   /* -1 while the local address cannot be bound */
	unsigned int server;	   /* index of the current key server */
	unsigned int attempts;	   /* failed attempts on it */
	uint64_t attempt_deadline; /* the attempt fails then */
	uint64_t next_attempt;	   /* 0 = none scheduled */
	uint64_t resend_at;
	uint32_t resend_gap;
	uint64_t rekey_at; /* 0 = none scheduled */
	uint16_t sid_bits; /* of the Sender-ID held, 0 = none */
	uint64_t ike_expires;
	struct ike_sa ike;
	struct gdoi_pull pull;
	struct isakmp_buf out;
	char last_error[GDOI_ERROR_MAX];
	uint8_t attempt_heard;	/* the key server sent something in this attempt */
	uint8_t heard_since_ok; /* ... in any attempt since the last registration */
	uint64_t registrations, failures;
	/* the rekey SA */
	int has_kek;
	struct gdoi_kek kek;
	uint32_t seq;	      /* last accepted SEQ */
	uint64_t kek_expires; /* 0 = no lifetime given */
	struct gdoi_push push;
	struct isakmp_buf ack;
	uint64_t pushes, acks_sent, push_drops[GDOI_PUSH_DROP_MAX];
	uint64_t drop_log_at; /* rate limit of the drop log line */
	/* notifications in the clear during phase 1: advice only (RFC 2408 4.8) */
	uint64_t unauth_notifies;
	uint16_t attempt_notify; /* the last one in this attempt, 0 = none */
	uint64_t notify_log_at;	 /* rate limit of its log line */
	struct gdoi_rx *rx;
	uint64_t rx_datagrams, rx_drops[GDOI_RX_DROP_MAX], rx_polls_full;
	/* the KEK's multicast group, joined for pushes: -1 when none */
	int mfd;
	union gdoi_sockaddr mgroup;
	uint64_t mjoin_failures;
	int debug; /* log every message in and out (gdoi_client_set_debug) */
	struct server_state srv[GDOI_MAX_SERVERS]; /* by index in conf.servers */
	union gdoi_sockaddr bound;		   /* the socket's own address: the member's */
	int64_t registered_at, pushed_at;	   /* unix time, 0: never */
};

static void logf_(struct gdoi_client *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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

const char *
gdoi_sockaddr_name(const union gdoi_sockaddr *s, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (s->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &s->in6.sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s->in6.sin6_port));
	} else {
		inet_ntop(AF_INET, &s->in.sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s->in.sin_port));
	}
	return buf;
}

socklen_t
gdoi_sockaddr_len(const union gdoi_sockaddr *s)
{
	return s->sa.sa_family == AF_INET6 ? sizeof(s->in6) : sizeof(s->in);
}

int
gdoi_sockaddr_equal(const union gdoi_sockaddr *a, const union gdoi_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return 0;
	if (a->sa.sa_family == AF_INET6)
		return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0 &&
		       a->in6.sin6_port == b->in6.sin6_port &&
		       (b->in6.sin6_scope_id == 0 || a->in6.sin6_scope_id == b->in6.sin6_scope_id);
	return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr && a->in.sin_port == b->in.sin_port;
}

static const char *
server_name(const struct gdoi_client *c, char *buf, size_t len)
{
	return gdoi_sockaddr_name(&c->conf.servers[c->server], buf, len);
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

int
gdoi_udp_open(const union gdoi_sockaddr *local, union gdoi_sockaddr *bound)
{
	int af = local->sa.sa_family, on = 1, sz = RX_SOCKBUF;
	int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if ((af == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) ||
	    bind(fd, &local->sa, gdoi_sockaddr_len(local)) != 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (getsockname(fd, &bound->sa, &(socklen_t){sizeof(*bound)}) != 0)
		*bound = *local;
	return fd;
}

/* The group's socket, bound to the local address. @return 0, or -1 with
 * errno set (EADDRNOTAVAIL: the address is not assigned on the host). */
static int
sock_open(struct gdoi_client *c)
{
	int fd = gdoi_udp_open(&c->conf.local, &c->bound);

	if (fd < 0)
		return -1;
	c->fd = fd;
	return 0;
}

static int
conf_valid(const struct gdoi_client_conf *conf)
{
	int af = conf->local.sa.sa_family;

	if (conf->n_servers == 0 || conf->n_servers > GDOI_MAX_SERVERS || conf->retries == 0 ||
	    conf->ike.n_props == 0 || conf->ike.n_props > IKE_MAX_PROPOSALS ||
	    (af != AF_INET && af != AF_INET6))
		return 0;
	/* one socket talks to every key server: one family */
	for (unsigned int i = 0; i < conf->n_servers; i++)
		if (conf->servers[i].sa.sa_family != af)
			return 0;
	return 1;
}

struct gdoi_client *
gdoi_client_create(const struct gdoi_client_conf *conf, const struct gdoi_client_ops *ops)
{
	struct gdoi_client *c;

	if (!conf_valid(conf)) {
		errno = EINVAL;
		return NULL;
	}
	/* Key memory: the client holds the phase-1 SA, the pull's policy
	 * (TEK keys), the KEK and the last push. */
	c = gvpn_keymem_alloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	c->conf = *conf;
	c->ops = *ops;
	c->mfd = -1;
	c->fd = -1;
	c->rx = malloc(sizeof(*c->rx));
	/* an address not assigned yet: each attempt tries again (attempt()) */
	if (c->rx == NULL || (sock_open(c) != 0 && errno != EADDRNOTAVAIL)) {
		int err = c->rx == NULL ? ENOMEM : errno;

		free(c->rx);
		gvpn_keymem_free(c);
		errno = err;
		return NULL;
	}
	for (unsigned int i = 0; i < RX_BATCH; i++) {
		c->rx->iov[i] =
		    (struct iovec){.iov_base = c->rx->buf[i], .iov_len = ISAKMP_MSG_MAX};
		c->rx->msg[i].msg_hdr.msg_iov = &c->rx->iov[i];
		c->rx->msg[i].msg_hdr.msg_iovlen = 1;
		c->rx->msg[i].msg_hdr.msg_name = &c->rx->from[i];
	}
	return c;
}

void
gdoi_client_free(struct gdoi_client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->mfd >= 0)
		close(c->mfd); /* leaves the group */
	free(c->rx);	       /* what arrived: ciphertext and phase-1 messages in the clear */
	ike_sa_clear(&c->ike);
	gdoi_pull_clear(&c->pull);
	gdoi_push_clear(&c->push);
	gvpn_keymem_free(c);
}

/* The interface that holds IPv6 address @p a: 0 (the kernel's choice, by
 * its routes) when none does or @p a is unspecified. */
static unsigned int
ifindex_of6(const struct in6_addr *a)
{
	struct ifaddrs *ifs, *i;
	unsigned int idx = 0;

	if (IN6_IS_ADDR_UNSPECIFIED(a) || getifaddrs(&ifs) != 0)
		return 0;
	for (i = ifs; i != NULL && idx == 0; i = i->ifa_next)
		if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr, a,
			   16) == 0)
			idx = if_nametoindex(i->ifa_name);
	freeifaddrs(ifs);
	return idx;
}

int
gdoi_mcast_open(const union gdoi_sockaddr *g, const union gdoi_sockaddr *local)
{
	int af = g->sa.sa_family, on = 1, err, sz = RX_SOCKBUF;
	int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct ip_mreqn mr = {.imr_multiaddr = g->in.sin_addr, .imr_address = local->in.sin_addr};
	struct ipv6_mreq mr6 = {.ipv6mr_multiaddr = g->in6.sin6_addr};
	int joined;

	if (fd < 0)
		return -1;
	if (af == AF_INET6)
		mr6.ipv6mr_interface = ifindex_of6(&local->in6.sin6_addr);
	/* other groups, and other members on this host, may listen there too */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0 &&
	    (af != AF_INET6 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == 0) &&
	    bind(fd, &g->sa, gdoi_sockaddr_len(g)) == 0) {
		joined = af == AF_INET6
			     ? setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr6, sizeof(mr6))
			     : setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr));
		if (joined == 0) {
			if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
				(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
			return fd;
		}
	}
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* The KEK's destination when it is a multicast group of the group's
 * family (its port, 848 when it names none): 1, else 0. */
static int
kek_mgroup(const struct gdoi_client *c, union gdoi_sockaddr *g)
{
	uint16_t port = htons(c->kek.dst_port != 0 ? c->kek.dst_port : 848);

	memset(g, 0, sizeof(*g));
	if (!c->has_kek)
		return 0;
	if (c->conf.local.sa.sa_family == AF_INET6 && c->kek.dst_ipv6 &&
	    c->kek.dst_addr6[0] == 0xff) {
		g->in6.sin6_family = AF_INET6;
		memcpy(&g->in6.sin6_addr, c->kek.dst_addr6, 16);
		g->in6.sin6_port = port;
		return 1;
	}
	if (c->conf.local.sa.sa_family == AF_INET && !c->kek.dst_ipv6 &&
	    IN_MULTICAST(c->kek.dst_addr)) {
		g->in.sin_family = AF_INET;
		g->in.sin_addr.s_addr = htonl(c->kek.dst_addr);
		g->in.sin_port = port;
		return 1;
	}
	return 0;
}

/*
 * Follow the KEK's destination (RFC 6407 5.3): when it is a multicast group,
 * join it (IGMP or MLD, on the member's address) so that pushes sent there
 * arrive beside the unicast ones; leave it when the KEK ends or names
 * another. A failed join is logged and counted: pushes then come by
 * unicast only.
 */
static void
mcast_follow(struct gdoi_client *c)
{
	union gdoi_sockaddr want;
	char name[GDOI_ADDR_NAME_MAX];
	int has = kek_mgroup(c, &want);

	if (c->mfd >= 0 && has && gdoi_sockaddr_equal(&want, &c->mgroup))
		return;
	if (c->mfd >= 0) {
		close(c->mfd); /* the kernel leaves the group */
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
		logf_(c, 4, "multicast group %s not joined (%s): pushes by unicast only",
		      gdoi_sockaddr_name(&want, name, sizeof(name)), strerror(errno));
		return;
	}
	logf_(c, 6, "joined multicast group %s for pushes",
	      gdoi_sockaddr_name(&want, name, sizeof(name)));
}

/* Take the KEK a pull or push delivered (NULL: none). The same SPI keeps
 * its SEQ floor (gdoi_kek_seq_floor). */
static void
kek_set(struct gdoi_client *c, const struct gdoi_kek *k, uint32_t seq, uint64_t now)
{
	seq = gdoi_kek_seq_floor(c->has_kek ? &c->kek : NULL, c->seq, k, seq);
	gvpn_wipe(&c->kek, sizeof(c->kek));
	c->has_kek = k != NULL;
	c->seq = seq;
	c->kek_expires = 0;
	if (k != NULL) {
		c->kek = *k;
		if (k->lifetime != 0)
			c->kek_expires = now + (uint64_t)k->lifetime * 1000;
	}
	mcast_follow(c);
}

static const char *
exchange_name(uint8_t e)
{
	switch (e) {
	case ISAKMP_EXCH_MAIN:
		return "Main Mode";
	case ISAKMP_EXCH_INFO:
		return "Informational";
	case ISAKMP_EXCH_GROUPKEY_PULL:
		return "GROUPKEY-PULL";
	case ISAKMP_EXCH_GROUPKEY_PUSH:
		return "GROUPKEY-PUSH";
	case ISAKMP_EXCH_GROUPKEY_PUSH_ACK:
		return "GROUPKEY-PUSH-ACK";
	default:
		return "exchange";
	}
}

static const char *
payload_name(uint8_t p)
{
#define GDOI_PAYLOAD_NAME(n, num, min, ref)                                                        \
	case num:                                                                                  \
		return #n;
	switch (p) {
		GVPN_ISAKMP_PAYLOAD_LIST(GDOI_PAYLOAD_NAME)
	default:
		return "payload";
	}
#undef GDOI_PAYLOAD_NAME
}

/* The debug switch: one line per message in or out, from its header
 * alone (exchange, first payload, message ID, flags, length): the header
 * is all the wire shows in the clear, so no key material ever reaches it. */
static void
trace(struct gdoi_client *c, int out, const union gdoi_sockaddr *peer, const uint8_t *buf,
      size_t len)
{
	char a[GDOI_ADDR_NAME_MAX];

	if (!c->debug)
		return;
	gdoi_sockaddr_name(peer, a, sizeof(a));
	if (len < ISAKMP_HDR_LEN) {
		logf_(c, 6, "debug: %s %s: %zu bytes, shorter than an ISAKMP header",
		      out ? "out to" : "in from", a, len);
		return;
	}
	logf_(c, 6, "debug: %s %s: %s (%u), first payload %s (%u), message ID %08x%s, %zu bytes",
	      out ? "out to" : "in from", a, exchange_name(buf[18]), buf[18], payload_name(buf[16]),
	      buf[16], isakmp_get32(buf + 20), buf[19] & ISAKMP_FLAG_ENC ? ", encrypted" : "", len);
}

void
gdoi_client_set_debug(struct gdoi_client *c, int on)
{
	c->debug = on != 0;
}

static void
send_out(struct gdoi_client *c, uint64_t now)
{
	const union gdoi_sockaddr *s = &c->conf.servers[c->server];

	trace(c, 1, s, c->out.data, c->out.len);
	if (sendto(c->fd, c->out.data, c->out.len, 0, &s->sa, gdoi_sockaddr_len(s)) < 0)
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

static void attempt_failed(struct gdoi_client *c, uint64_t now, const char *why, int timeout);

static const char *
proposal_name(const struct ike_proposal *p, char *buf, size_t len)
{
	static const struct {
		uint8_t group;
		const char *name;
	} groups[] = {{1, "modp768"},	{2, "modp1024"},  {5, "modp1536"}, {14, "modp2048"},
		      {15, "modp3072"}, {16, "modp4096"}, {19, "ecp256"},  {20, "ecp384"}};
	const char *g = "group?";
	char enc[16];

	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (groups[i].group == p->group)
			g = groups[i].name;
	if (p->enc == IKE_ENC_AES)
		snprintf(enc, sizeof(enc), "aes%u", p->key_bits != 0 ? p->key_bits : 128);
	else
		snprintf(enc, sizeof(enc), "%s", p->enc == IKE_ENC_3DES ? "3des" : "des");
	snprintf(buf, len, "%s-%s-%s", enc,
		 p->hash == IKE_HASH_MD5    ? "md5"
		 : p->hash == IKE_HASH_SHA1 ? "sha1"
					    : "sha256",
		 g);
	return buf;
}

int
gdoi_notify_explain(uint16_t type, int authenticated, uint32_t group_id, const struct ike_conf *ike,
		    char *buf, size_t len)
{
	const char *n = isakmp_notify_name(type);
	char name[48];
	int w;

	if (n != NULL)
		snprintf(name, sizeof(name), "%s (%u%s)", n, type,
			 authenticated ? "" : ", unauthenticated");
	else
		snprintf(name, sizeof(name), "notify type %u%s", type,
			 authenticated ? "" : " (unauthenticated)");
	switch (type) {
	case 24: /* AUTHENTICATION_FAILED */
		w = snprintf(buf, len, "%s: check the pre-shared key", name);
		break;
	case 18: /* INVALID_ID_INFORMATION */
		w = snprintf(buf, len,
			     "%s: the key server does not know group %u or does not authorise "
			     "this member",
			     name, group_id);
		break;
	case 14: { /* NO_PROPOSAL_CHOSEN */
		size_t off;

		w = snprintf(buf, len, "%s: none accepted of", name);
		off = w > 0 && (size_t)w < len ? (size_t)w : len;
		for (unsigned int i = 0; ike != NULL && i < ike->n_props && off < len; i++) {
			char p[40];
			int k = snprintf(buf + off, len - off, "%s %s", i != 0 ? "," : "",
					 proposal_name(&ike->props[i], p, sizeof(p)));

			off += k > 0 ? (size_t)k : 0;
		}
		w = (int)off;
		break;
	}
	default:
		w = snprintf(buf, len, "key server said %s", name);
		break;
	}
	return w;
}

/* The per-server record for a new list @p n: a server found in the old one
 * (same address and port) keeps its own; a new one starts untried. */
static void
servers_remap(struct gdoi_client *c, const struct gdoi_client_conf *n)
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

/* What gdoi_client_reconf() gave, at the start of an attempt: the keys held
 * stay; a new server list or new proposals start with a new phase 1. */
static void
conf_apply(struct gdoi_client *c)
{
	struct gdoi_client_conf *n = &c->next;
	int servers = n->n_servers != c->conf.n_servers ||
		      memcmp(n->servers, c->conf.servers, sizeof(n->servers)) != 0;
	int phase1 = n->ike.n_props != c->conf.ike.n_props ||
		     memcmp(n->ike.props, c->conf.ike.props, sizeof(n->ike.props)) != 0;

	if (servers) /* a key server kept in the list keeps what it showed */
		servers_remap(c, n);
	c->conf.n_servers = n->n_servers;
	memcpy(c->conf.servers, n->servers, sizeof(n->servers));
	c->conf.retries = n->retries;
	c->conf.retry_interval_ms = n->retry_interval_ms;
	c->conf.retransmit_ms = n->retransmit_ms;
	c->conf.ike.n_props = n->ike.n_props;
	memcpy(c->conf.ike.props, n->ike.props, sizeof(n->ike.props));
	gvpn_wipe(n, sizeof(*n));
	c->has_next = 0;
	if (servers) {
		c->server = 0;
		c->attempts = 0;
	}
	if (servers || phase1)
		ike_sa_clear(&c->ike);
	logf_(c, 6, "new key server settings in use%s",
	      servers || phase1 ? ": phase 1 starts again" : "");
}

int
gdoi_client_reconf(struct gdoi_client *c, const struct gdoi_client_conf *conf)
{
	if (!conf_valid(conf))
		return -EINVAL;
	c->next = *conf;
	c->has_next = 1;
	return 0;
}

/* One registration attempt with the current server. */
static void
attempt(struct gdoi_client *c, uint64_t now)
{
	char name[GDOI_ADDR_NAME_MAX];
	int rc;

	if (c->has_next)
		conf_apply(c);
	c->next_attempt = 0;
	c->attempt_notify = 0;
	c->attempt_heard = 0;
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
	logf_(c, 6, "registering with key server %s (attempt %u)",
	      server_name(c, name, sizeof(name)), c->attempts + 1);
	if (c->state != GDOI_REKEYING)
		set_state(c, GDOI_PHASE1, NULL);
	send_new(c, now);
}

static const char *
notify_name(uint16_t type, char *buf, size_t len)
{
	const char *n = isakmp_notify_name(type);

	if (n != NULL)
		return n;
	snprintf(buf, len, "notify type %u", type);
	return buf;
}

/*
 * An attempt failed (@p timeout: nothing completed it in time). last_error
 * says why in the operator's terms: the key server's notification with its
 * likely cause, "no answer" only when the key server sent nothing at all in
 * this attempt. A failure like the previous one is logged at INFO: the
 * warning was given once.
 */
static void
attempt_failed(struct gdoi_client *c, uint64_t now, const char *why, int timeout)
{
	char name[GDOI_ADDR_NAME_MAX], text[GDOI_ERROR_MAX], prev[GDOI_ERROR_MAX];
	struct server_state *s = &c->srv[c->server];

	server_name(c, name, sizeof(name));
	snprintf(prev, sizeof(prev), "%s", c->last_error);
	if (timeout && c->attempt_notify != 0) /* a hint only: nothing authenticated it */
		gdoi_notify_explain(c->attempt_notify, 0, c->conf.group_id, &c->conf.ike, text,
				    sizeof(text));
	else if (timeout && c->attempt_heard)
		snprintf(text, sizeof(text), "stopped answering during %s",
			 c->ike.state == IKE_ESTABLISHED ? "the pull" : "phase 1");
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
	if (c->ops.has_keys != NULL && c->ops.has_keys(c->ops.ctx)) {
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

/* The Sender-ID a pull gave (RFC 6054): counter-mode TEKs encrypt only
 * with one; without, they decrypt only (said once per registration). */
static void
take_sid(struct gdoi_client *c, struct gdoi_policy *pol)
{
	const char *why = NULL;
	int rc = gdoi_policy_sid(pol, c->conf.habits, &why);

	c->sid_bits = rc == 0 ? pol->sid_bits : 0;
	if (rc == 0)
		logf_(c, 6, "Sender-ID %u of %u bits", pol->sid, pol->sid_bits);
	else if (gdoi_policy_counter_mode(pol))
		logf_(c, 4, "counter-mode TEKs decrypt only: %s",
		      why != NULL ? why : "the key server gave no Sender-ID");
	else if (why != NULL)
		logf_(c, 4, "Sender-ID not used: %s", why);
}

static void
registered(struct gdoi_client *c, uint64_t now)
{
	char name[GDOI_ADDR_NAME_MAX];
	int rc;

	take_sid(c, &c->pull.pol);
	rc = c->ops.policy(c->ops.ctx, &c->pull.pol);

	if (rc != 0) {
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
	kek_set(c, c->pull.pol.has_kek ? &c->pull.pol.kek : NULL,
		c->pull.pol.has_seq ? c->pull.pol.seq : 0, now);
	c->resend_at = 0;
	c->last_error[0] = '\0';
	schedule_rekey(c, &c->pull.pol, now);
	logf_(c, 5, "registered with %s: %u TEK(s)%s", server_name(c, name, sizeof(name)),
	      c->pull.pol.n_teks, c->pull.pol.has_kek ? " and a KEK" : "");
	gdoi_pull_clear(&c->pull);
	set_state(c, GDOI_REGISTERED, NULL);
}

/* A notification in the clear during phase 1: counted and remembered, the
 * exchange goes on (one spoofed datagram must not end a registration). */
static void
unauth_notify(struct gdoi_client *c, uint16_t type, uint64_t now)
{
	char nn[32];

	c->unauth_notifies++;
	c->attempt_notify = type;
	if (now >= c->notify_log_at) { /* at most one line a second: they can be forged */
		c->notify_log_at = now + 1000;
		logf_(c, 4, "unauthenticated notification ignored: %s",
		      notify_name(type, nn, sizeof(nn)));
	}
}

/* A datagram from the key server we talk to, header checked.
 * @return 0 when taken, or -EBADMSG with @p drop set. */
static int
input(struct gdoi_client *c, const uint8_t *msg, size_t len, const struct isakmp_hdr *h,
      uint64_t now, enum gdoi_rx_drop *drop)
{
	enum ike_result res;
	const char *why = NULL;
	int rc;

	switch (c->ike.state) {
	case IKE_MM_SENT1:
	case IKE_MM_SENT3:
	case IKE_MM_SENT5:
		if (memcmp(h->icookie, c->ike.icookie, 8) != 0) {
			*drop = GDOI_RX_DROP_UNKNOWN_COOKIES;
			return -EBADMSG;
		}
		rc = ike_mm_input(&c->ike, msg, len, &c->out, &res, &why);
		if (rc != 0) {
			attempt_failed(c, now, why, 0);
			return 0;
		}
		switch (res) {
		case IKE_IGNORED:
			*drop = GDOI_RX_DROP_BAD_EXCHANGE;
			return -EBADMSG;
		case IKE_NOTIFIED:
			unauth_notify(c, c->ike.notify, now);
			return 0;
		case IKE_CONTINUE:
			send_new(c, now);
			return 0;
		default:
			c->ike_expires = now + (uint64_t)c->ike.chosen.lifetime * 1000;
			begin_pull(c, now);
			return 0;
		}
	case IKE_ESTABLISHED:
		if (c->pull.state != GDOI_PULL_SENT1 && c->pull.state != GDOI_PULL_SENT3) {
			*drop = GDOI_RX_DROP_UNEXPECTED;
			return -EBADMSG;
		}
		if (memcmp(h->icookie, c->ike.icookie, 8) != 0 ||
		    memcmp(h->rcookie, c->ike.rcookie, 8) != 0) {
			*drop = GDOI_RX_DROP_UNKNOWN_COOKIES;
			return -EBADMSG;
		}
		rc = gdoi_pull_input(&c->pull, &c->ike, msg, len, &c->out, &res, &why);
		if (rc != 0) {
			char text[GDOI_ERROR_MAX];

			/* protected by the phase-1 SA: the key server's own word */
			if (rc == -ECONNREFUSED)
				gdoi_notify_explain(c->pull.notify, 1, c->conf.group_id,
						    &c->conf.ike, text, sizeof(text));
			else
				snprintf(text, sizeof(text), "%s", why);
			attempt_failed(c, now, text, 0);
			return 0;
		}
		if (res == IKE_IGNORED) {
			*drop = h->exchange == ISAKMP_EXCH_INFO && (h->flags & ISAKMP_FLAG_ENC)
				    ? GDOI_RX_DROP_UNAUTHENTICATED
				    : GDOI_RX_DROP_BAD_EXCHANGE;
			return -EBADMSG;
		}
		if (res == IKE_CONTINUE) {
			/* message 3 goes once; message 4 follows without a request */
			send_new(c, now);
			return 0;
		}
		registered(c, now);
		return 0;
	default:
		*drop = GDOI_RX_DROP_UNEXPECTED;
		return -EBADMSG;
	}
}

static int
kek_deleted(const struct gdoi_client *c, const struct gdoi_push *p)
{
	for (uint16_t i = 0; i < p->n_deletes; i++)
		if (p->del[i].protocol == 0 &&
		    (p->del[i].all || memcmp(p->del[i].kek_spi, c->kek.spi, 16) == 0))
			return 1;
	return 0;
}

static void
push_dropped(struct gdoi_client *c, enum gdoi_push_drop reason, const char *why, uint64_t now)
{
	c->push_drops[reason]++;
	if (now >= c->drop_log_at) { /* at most one line a second: pushes can be forged */
		c->drop_log_at = now + 1000;
		logf_(c, 4, "push dropped (%s): %s", gdoi_push_drop_id(reason), why);
	}
}

/*
 * A push's SID key packet (RFC 6407 5.6.3): its SID_VALUEs would be every
 * member's, so they are not used; a NUMBER_OF_SID_BITS other than the one
 * the member's Sender-ID has voids it (the push says so to the data plane:
 * its counter-mode TEKs decrypt only) and the member registers again now
 * to get a new one.
 */
static void
push_sid(struct gdoi_client *c, struct gdoi_policy *pol)
{
	if (pol->n_sids != 0)
		logf_(c, 4, "push SEQ %u: %u SID value(s) ignored (a Sender-ID is one member's)",
		      c->push.seq, pol->n_sids);
	pol->n_sids = 0;
	pol->sid_void = pol->sid_bits != 0 && pol->sid_bits != c->sid_bits;
	if (!pol->sid_void)
		return;
	logf_(c, 5, "push SEQ %u: Sender-IDs are now %u bits: registering again for one",
	      c->push.seq, pol->sid_bits);
	c->sid_bits = 0;
}

/* A GROUPKEY-PUSH datagram (R13-R16). */
static void
push_input(struct gdoi_client *c, const uint8_t *msg, size_t len, const union gdoi_sockaddr *from,
	   uint64_t now)
{
	enum gdoi_push_drop reason;
	const char *why = NULL;
	int rc;

	if (gdoi_push_input(c->has_kek ? &c->kek : NULL, c->seq, c->conf.habits, msg, len, &c->push,
			    &reason, &why) != 0) {
		push_dropped(c, reason, why, now);
		return;
	}
	c->seq = c->push.seq; /* verified: a replay of it is stale from now on */
	if (c->push.has_policy)
		push_sid(c, &c->push.pol);
	rc = c->ops.push != NULL ? c->ops.push(c->ops.ctx, &c->push) : -ENOTSUP;
	if (rc != 0) {
		push_dropped(c, GDOI_PUSH_DROP_POLICY, "refused by the data plane", now);
		gdoi_push_clear(&c->push);
		return;
	}
	c->pushes++;
	c->pushed_at = (int64_t)time(NULL);
	logf_(c, 5, "rekeyed by push SEQ %u: %u TEK(s), %u delete(s)%s", c->push.seq,
	      c->push.has_policy ? c->push.pol.n_teks : 0, c->push.n_deletes,
	      c->push.has_policy && c->push.pol.has_kek ? ", new KEK" : "");
	/* RFC 8263: acknowledge to where the push came from, under the KEK that
	 * protected it, also when the push deletes or replaces that KEK */
	if (c->kek.ack_requested != 0) {
		/* the ID is the member's, as in its phase-1 identity */
		uint8_t v4[4] = {(uint8_t)(c->conf.ike.local_addr >> 24),
				 (uint8_t)(c->conf.ike.local_addr >> 16),
				 (uint8_t)(c->conf.ike.local_addr >> 8),
				 (uint8_t)c->conf.ike.local_addr};
		int sent = c->conf.ike.local_ipv6
			       ? gdoi_push_ack(&c->kek, c->push.seq, c->conf.ike.local_addr6, 16,
					       &c->ack) == 0
			       : gdoi_push_ack(&c->kek, c->push.seq, v4, 4, &c->ack) == 0;

		if (sent) {
			trace(c, 1, from, c->ack.data, c->ack.len);
			sent = sendto(c->fd, c->ack.data, c->ack.len, 0, &from->sa,
				      gdoi_sockaddr_len(from)) >= 0;
		}
		if (sent)
			c->acks_sent++;
		else
			logf_(c, 4, "push SEQ %u not acknowledged (type %u)", c->push.seq,
			      c->kek.ack_requested);
	}
	if (kek_deleted(c, &c->push))
		kek_set(c, NULL, 0, now);
	if (c->push.has_policy && c->push.pol.has_kek)
		kek_set(c, &c->push.pol.kek, 0, now); /* a new one's pushes count from 1 */
	if (c->push.has_policy && c->push.pol.n_teks != 0 && c->state == GDOI_REGISTERED)
		schedule_rekey(c, &c->push.pol, now);
	if (c->push.has_policy && c->push.pol.sid_void && c->state == GDOI_REGISTERED)
		c->rekey_at = now + 1; /* at the next poll (0 means none) */
	gdoi_push_clear(&c->push);
}

void
gdoi_client_start(struct gdoi_client *c, uint64_t now_ms)
{
	c->attempts = 0;
	c->heard_since_ok = 0;
	if (c->state == GDOI_REGISTERED)
		set_state(c, GDOI_REKEYING, NULL);
	attempt(c, now_ms);
}

/* One datagram: a push (from anywhere: the KEK and the signature
 * authenticate it), or the answer of the key server we talk to. */
static void
datagram(struct gdoi_client *c, const uint8_t *buf, size_t n, const union gdoi_sockaddr *from,
	 uint64_t now)
{
	const union gdoi_sockaddr *s = &c->conf.servers[c->server];
	struct isakmp_hdr h;
	enum gdoi_rx_drop drop;

	c->rx_datagrams++;
	trace(c, 0, from, buf, n);
	if (n < ISAKMP_HDR_LEN) {
		c->rx_drops[GDOI_RX_DROP_SHORT]++;
		return;
	}
	if (buf[18] == ISAKMP_EXCH_GROUPKEY_PUSH) {
		push_input(c, buf, n, from, now); /* counts its own drops */
		return;
	}
	if (isakmp_parse_header(buf, n, &h, NULL) != 0) {
		c->rx_drops[GDOI_RX_DROP_NOT_ISAKMP]++;
		return;
	}
	if (!gdoi_sockaddr_equal(from, s)) {
		c->rx_drops[GDOI_RX_DROP_NOT_KEY_SERVER]++;
		return;
	}
	c->attempt_heard = 1;
	c->heard_since_ok = 1;
	if (input(c, buf, n, &h, now, &drop) != 0)
		c->rx_drops[drop]++;
}

/* Read at most @p budget datagrams from @p fd, RX_BATCH a system call.
 * @return 1 when the budget ran out before the socket was drained. */
static int
receive_fd(struct gdoi_client *c, int fd, unsigned int budget, uint64_t now)
{
	struct gdoi_rx *rx = c->rx;
	unsigned int total = 0;

	while (total < budget) {
		unsigned int want = budget - total < RX_BATCH ? budget - total : RX_BATCH;
		int n;

		for (unsigned int i = 0; i < want; i++)
			rx->msg[i].msg_hdr.msg_namelen = sizeof(rx->from[i]);
		n = recvmmsg(fd, rx->msg, want, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return 0;
		for (int i = 0; i < n; i++)
			datagram(c, rx->buf[i], rx->msg[i].msg_len, &rx->from[i], now);
		total += (unsigned int)n;
		if ((unsigned int)n < want)
			return 0; /* drained */
	}
	return 1; /* the rest waits for the next poll */
}

/* The unicast socket, then the multicast group's, each with half of
 * GDOI_RX_BUDGET when both are open: a flood at one does not starve the
 * other. (A push on the first may change the KEK and so the group: the
 * second socket is looked up after it.) */
static void
receive(struct gdoi_client *c, uint64_t now)
{
	unsigned int share = c->mfd >= 0 ? GDOI_RX_BUDGET / 2 : GDOI_RX_BUDGET;
	int full = c->fd >= 0 ? receive_fd(c, c->fd, share, now) : 0;

	if (c->mfd >= 0)
		full |= receive_fd(c, c->mfd, GDOI_RX_BUDGET / 2, now);
	c->rx_polls_full += (uint64_t)full;
}

void
gdoi_client_poll(struct gdoi_client *c, uint64_t now)
{
	receive(c, now);
	if (c->resend_at != 0 && now >= c->attempt_deadline &&
	    (c->state == GDOI_PHASE1 || c->state == GDOI_PULL || c->state == GDOI_REKEYING) &&
	    c->next_attempt == 0) {
		attempt_failed(c, now, "no answer", 1);
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
	if (c->has_kek && c->kek_expires != 0 && now >= c->kek_expires) {
		logf_(c, 5,
		      "KEK expired: pushes are no longer accepted until the next registration");
		kek_set(c, NULL, 0, now);
	}
	/* Every SA gone (deleted by a push, or expired): register again now. */
	if (c->state == GDOI_REGISTERED && c->ops.has_keys != NULL &&
	    !c->ops.has_keys(c->ops.ctx)) {
		logf_(c, 5, "no keys left: registering again");
		c->attempts = 0;
		c->rekey_at = 0;
		set_state(c, GDOI_PHASE1, NULL);
		attempt(c, now);
	}
	/* Registered keys can still run out while the servers are silent. */
	if (c->state == GDOI_REKEYING && c->ops.has_keys != NULL && !c->ops.has_keys(c->ops.ctx))
		set_state(c, GDOI_FAILED, c->last_error[0] ? c->last_error : "keys expired");
}

/* What the member last saw of key server @p i. */
static enum gdoi_server_status
server_status(const struct gdoi_client *c, unsigned int i)
{
	const struct server_state *s = &c->srv[i];

	if (!s->tried)
		return GDOI_SERVER_UNTRIED;
	if (i == c->server)
		return GDOI_SERVER_CURRENT;
	return s->last_ok ? GDOI_SERVER_STANDBY : GDOI_SERVER_FAILED;
}

static void
servers_info(const struct gdoi_client *c, struct gdoi_client_info *out)
{
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
	/* the bound socket's address; until the address is there, the one configured */
	gdoi_sockaddr_name(c->fd >= 0 ? &c->bound : &c->conf.local, out->local, sizeof(out->local));
	out->local_bound = c->fd >= 0;
	out->registered_at = c->registered_at;
	out->pushed_at = c->pushed_at;
}

void
gdoi_client_info(const struct gdoi_client *c, uint64_t now, struct gdoi_client_info *out)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t ml = sizeof(mem);

	memset(out, 0, sizeof(*out));
	out->state = c->state;
	server_name(c, out->server, sizeof(out->server));
	/* what fits telemetry's strings; the log line has it all */
	snprintf(out->last_error, sizeof(out->last_error), "%.*s", (int)sizeof(out->last_error) - 1,
		 c->last_error);
	out->rekey_in_ms = c->rekey_at == 0    ? -1
			   : c->rekey_at > now ? (int64_t)(c->rekey_at - now)
					       : 0;
	out->registrations = c->registrations;
	out->failures = c->failures;
	out->has_kek = c->has_kek;
	out->seq = c->seq;
	out->kek_expires_in_ms = !c->has_kek		? -1
				 : c->kek_expires == 0	? -1
				 : c->kek_expires > now ? (int64_t)(c->kek_expires - now)
							: 0;
	out->pushes = c->pushes;
	out->acks_sent = c->acks_sent;
	servers_info(c, out);
	memcpy(out->push_drops, c->push_drops, sizeof(out->push_drops));
	out->unauth_notifies = c->unauth_notifies;
	out->rx_datagrams = c->rx_datagrams;
	if (c->mfd >= 0)
		gdoi_sockaddr_name(&c->mgroup, out->push_group, sizeof(out->push_group));
	out->push_group_failures = c->mjoin_failures;
	memcpy(out->rx_drops, c->rx_drops, sizeof(out->rx_drops));
	out->rx_polls_full = c->rx_polls_full;
	if (c->has_kek) {
		memcpy(out->kek_spi, c->kek.spi, sizeof(out->kek_spi));
		out->kek_alg = c->kek.alg;
		/* not given: the cipher's default, as long as the key sent */
		out->kek_key_bits = c->kek.key_bits != 0 ? c->kek.key_bits
				    : c->kek.key_len > c->kek.iv_len
					? (uint16_t)((c->kek.key_len - c->kek.iv_len) * 8)
					: 0;
		out->kek_sig_hash = c->kek.sig_hash;
		out->kek_sig_alg = c->kek.sig_alg;
		out->kek_sig_key_bits = c->kek.sig_key_bits;
		out->kek_lifetime_s = c->kek.lifetime;
	}
	out->ike_state = c->ike.state;
	memcpy(out->ike_icookie, c->ike.icookie, sizeof(out->ike_icookie));
	memcpy(out->ike_rcookie, c->ike.rcookie, sizeof(out->ike_rcookie));
	out->ike_expires_in_ms = -1;
	if (c->ike.state == IKE_ESTABLISHED) {
		out->ike_chosen = c->ike.chosen;
		out->ike_expires_in_ms = c->ike_expires > now ? (int64_t)(c->ike_expires - now) : 0;
	}
	/* the kernel's count: datagrams that found the socket buffer full */
	if (c->fd >= 0 && getsockopt(c->fd, SOL_SOCKET, SO_MEMINFO, mem, &ml) == 0 &&
	    ml > SK_MEMINFO_DROPS * sizeof(mem[0]))
		out->rx_socket_full = mem[SK_MEMINFO_DROPS];
}
