/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_GDOI_CLIENT_H
#define GVPN_GDOI_CLIENT_H

/**
 * @file
 * A group member's registration with its key servers (R10-R12, R17): a
 * state machine per group that runs phase 1, GROUPKEY-PULL, re-registration
 * before keys expire, and failover through up to four key servers. It owns
 * one UDP socket per group (and one in the KEK's multicast group, when it names
 * one); the control core calls gdoi_client_poll() often
 * and learns of new policy and state through a small callback table, so this
 * library knows nothing of workers or DPDK.
 */

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gvpn_gdoi.h"
#include "gvpn_ike.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GDOI_MAX_SERVERS 4
/** Room for a failure text (the log's; telemetry keeps its first 127). */
#define GDOI_ERROR_MAX 256

enum gdoi_client_state {
	GDOI_IDLE = 0,
	GDOI_PHASE1,	 /**< Main Mode with a key server */
	GDOI_PULL,	 /**< GROUPKEY-PULL */
	GDOI_REGISTERED, /**< keys installed; waiting to re-register */
	GDOI_REKEYING,	 /**< re-registering while the current keys still work */
	GDOI_FAILED,	 /**< no key server answers and no keys are left (R24) */
};

const char *gdoi_client_state_name(enum gdoi_client_state s);

/** Why a datagram on a group's socket was not taken, besides the push drops
 * (GDOI_PUSH_DROP_LIST), in the order they are checked. */
#define GDOI_RX_DROP_LIST(X)                                                                       \
	X(SHORT, "short", "shorter than an ISAKMP header")                                         \
	X(NOT_ISAKMP, "not_isakmp", "not an ISAKMP 1.0 message as long as the datagram")           \
	X(NOT_KEY_SERVER, "not_key_server", "not from the key server being talked to")             \
	X(UNEXPECTED, "unexpected", "no exchange with the key server awaits an answer")            \
	X(UNKNOWN_COOKIES, "unknown_cookies", "cookies are not the running exchange's")            \
	X(BAD_EXCHANGE, "bad_exchange",                                                            \
	  "exchange, message ID or flags not those awaited, or a duplicate")                       \
	X(UNAUTHENTICATED, "unauthenticated", "protected notification that does not verify")

#define GDOI_RX_DROP_ENUM(n, id, desc) GDOI_RX_DROP_##n,
enum gdoi_rx_drop { GDOI_RX_DROP_LIST(GDOI_RX_DROP_ENUM) GDOI_RX_DROP_MAX };
#undef GDOI_RX_DROP_ENUM

/** Identifier of a receive drop reason ("not_isakmp"). */
const char *gdoi_rx_drop_id(enum gdoi_rx_drop d);

/** Datagrams read from a group's socket per gdoi_client_poll(), at most: a
 * flood costs the control core a bounded time per poll. */
#define GDOI_RX_BUDGET 1024

/** A UDP address, IPv4 or IPv6 (sa.sa_family says which). */
union gdoi_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/** Room for an address as the client names it: "a.b.c.d:port" or
 * "[2001:db8::1]:port" (INET6_ADDRSTRLEN, brackets, colon, port). */
#define GDOI_ADDR_NAME_MAX 56

/** The length of @p a as a struct sockaddr (IPv4 or IPv6). */
socklen_t gdoi_sockaddr_len(const union gdoi_sockaddr *a);

/** Does @p a name the same family, address and port as @p b (and its IPv6
 * scope, when @p b names one)? @return 1 or 0. */
int gdoi_sockaddr_equal(const union gdoi_sockaddr *a, const union gdoi_sockaddr *b);

/** @p a as "a.b.c.d:port" or "[2001:db8::1]:port" in @p buf (@p len bytes,
 * GDOI_ADDR_NAME_MAX is enough). @return @p buf. */
const char *gdoi_sockaddr_name(const union gdoi_sockaddr *a, char *buf, size_t len);

/**
 * A key protocol's UDP socket: non-blocking, bound to @p local (an IPv6
 * one talks IPv6 alone: no IPv4-mapped addresses), with a receive buffer
 * of some milliseconds of a flood (beyond net.core.rmem_max only with
 * CAP_NET_ADMIN: best effort).
 * @param bound  where the socket's own address goes (the port the kernel
 *   chose when @p local names none); @p local when it cannot be read
 * @return the socket, or -1 with errno set (EADDRNOTAVAIL: the address
 *   is not assigned on the host).
 */
int gdoi_udp_open(const union gdoi_sockaddr *local, union gdoi_sockaddr *bound);

/**
 * A socket in multicast group @p g (its port) on the member's address
 * @p local: IPv4 joins (IGMP) on that address, IPv6 (MLD) on the
 * interface that holds it (the kernel's choice by its routes when none
 * does). Other sockets of the host may listen there too (SO_REUSEADDR).
 * Closing it leaves the group.
 * @return the socket, or -1 with errno set.
 */
int gdoi_mcast_open(const union gdoi_sockaddr *g, const union gdoi_sockaddr *local);

struct gdoi_client_conf {
	uint32_t group_id;
	unsigned int n_servers;
	/** the key servers and the local address: one family */
	union gdoi_sockaddr servers[GDOI_MAX_SERVERS];
	union gdoi_sockaddr local;  /**< address (and port, 0 = any) to send from */
	struct ike_conf ike;	    /**< PSK and phase-1 proposals */
	uint32_t retry_interval_ms; /**< R12: 10 s */
	unsigned int retries;	    /**< R12: 3 per server */
	uint32_t retransmit_ms;	    /**< first retransmission of a message: 1 s */
	enum gdoi_habits habits;    /**< what is accepted beyond RFC 6407 */
};

/** What the control core does with what the client learns. */
struct gdoi_client_ops {
	/** A pull delivered a complete, checked policy. @return 0 or a negative errno
	 * (the policy was refused; the client logs it and keeps its state). */
	int (*policy)(void *ctx, const struct gdoi_policy *pol);
	/** The group entered @p state; @p error says why when it failed. */
	void (*state)(void *ctx, enum gdoi_client_state state, const char *error);
	/** A verified GROUPKEY-PUSH (R13-R15): install its TEKs, apply its GAP
	 * and Deletes. @return 0 or a negative errno (refused: counted). */
	int (*push)(void *ctx, const struct gdoi_push *push);
	/** Does the group still hold a TEK that has not hard-expired? */
	int (*has_keys)(void *ctx);
	/** A log line (no keys are ever in it), at a syslog level: 3 error,
	 *  4 warning, 5 notice, 6 info. */
	void (*log)(void *ctx, int level, const char *msg);
	void *ctx;
};

struct gdoi_client;

/** Create a client (no traffic until gdoi_client_start()). NULL on error. */
struct gdoi_client *gdoi_client_create(const struct gdoi_client_conf *conf,
				       const struct gdoi_client_ops *ops);
/** Free a client, wiping its keys and closing its socket. */
void gdoi_client_free(struct gdoi_client *c);

/**
 * New key servers, retry settings, retransmission interval or phase-1
 * proposals for the next attempt (a reload): the keys held, the KEK and
 * the rekey schedule stay; the attempt running goes on under the old ones.
 * The local address and the PSK are taken from the client's creation.
 * @return 0, or -EINVAL (no servers, too many, retries 0, or no phase-1
 *   proposal).
 */
int gdoi_client_reconf(struct gdoi_client *c, const struct gdoi_client_conf *conf);

/**
 * A key server's notification as an operator reads it: its name, number
 * and likely cause, e.g. "AUTHENTICATION_FAILED (24, unauthenticated):
 * check the pre-shared key"; NO_PROPOSAL_CHOSEN lists the phase-1
 * proposals of @p ike offered.
 * @param authenticated 0 for a notification in the clear (phase 1).
 * @return the length the text has (truncated to @p len - 1 as snprintf).
 */
int gdoi_notify_explain(uint16_t type, int authenticated, uint32_t group_id,
			const struct ike_conf *ike, char *buf, size_t len);

/** Register now (at start, and on an operator's request). @p now_ms: a monotonic clock. */
void gdoi_client_start(struct gdoi_client *c, uint64_t now_ms);

/** Read the sockets (at most GDOI_RX_BUDGET datagrams in all: the unicast
 * one, and the KEK's multicast group's when it has one), run timers. Never
 * blocks. */
void gdoi_client_poll(struct gdoi_client *c, uint64_t now_ms);

/** Debug switch: while on, every message in and out is logged by exchange,
 * first payload, message ID and length (its header only: never keys). */
void gdoi_client_set_debug(struct gdoi_client *c, int on);

/** A key server's status, as the member last saw it (R12). */
enum gdoi_server_status {
	GDOI_SERVER_UNTRIED = 0, /**< no attempt with it yet */
	GDOI_SERVER_CURRENT,	 /**< registered with, or the one being tried now */
	GDOI_SERVER_FAILED,	 /**< its last attempt failed (failed_at, error) */
	GDOI_SERVER_STANDBY,	 /**< its last attempt succeeded; another one is current */
};

/** Name of a key server status ("untried", "current", "failed", "standby"). */
const char *gdoi_server_status_name(enum gdoi_server_status s);

/** Room for why an attempt with a key server failed (the text telemetry shows). */
#define GDOI_SERVER_ERROR_MAX 128

struct gdoi_server_info {
	char addr[GDOI_ADDR_NAME_MAX]; /**< "a.b.c.d:port" or "[2001:db8::1]:port" */
	enum gdoi_server_status status;
	int64_t failed_at;     /**< unix time of its last failed attempt, 0: none */
	int64_t registered_at; /**< unix time of the last registration with it, 0: none */
	uint64_t failures;     /**< attempts with it that failed */
	uint64_t registrations;
	char error[GDOI_SERVER_ERROR_MAX]; /**< why its last failed attempt failed, "" */
};

/** For telemetry. */
struct gdoi_client_info {
	enum gdoi_client_state state;
	char server[GDOI_ADDR_NAME_MAX]; /**< current key server, "a.b.c.d:port" */
	char last_error[128];
	int64_t rekey_in_ms; /**< -1 when no re-registration is scheduled */
	uint64_t registrations, failures;
	int has_kek;		   /**< pushes are accepted */
	uint32_t seq;		   /**< last accepted push SEQ */
	int64_t kek_expires_in_ms; /**< -1 without a KEK */
	uint64_t pushes, acks_sent;
	uint64_t push_drops[GDOI_PUSH_DROP_MAX];
	uint64_t unauth_notifies; /**< notifications in the clear during phase 1, ignored */
	uint64_t rx_datagrams;	  /**< read from the socket */
	uint64_t rx_drops[GDOI_RX_DROP_MAX];
	uint64_t rx_socket_full;	     /**< dropped by the kernel: socket buffer full */
	uint64_t rx_polls_full;		     /**< polls that stopped at GDOI_RX_BUDGET */
	char push_group[GDOI_ADDR_NAME_MAX]; /**< multicast group joined for pushes, "" when none */
	uint64_t push_group_failures;	     /**< joins that failed (pushes by unicast only) */
	/* the KEK as the key server described it (has_kek): never its keys */
	uint8_t kek_spi[16];	   /**< its SPI: the push's cookies */
	uint8_t kek_alg;	   /**< KEK_ALGORITHM */
	uint16_t kek_key_bits;	   /**< of its cipher key */
	uint8_t kek_sig_hash;	   /**< SIG_HASH_ALGORITHM */
	uint8_t kek_sig_alg;	   /**< SIG_ALGORITHM */
	uint16_t kek_sig_key_bits; /**< of the key server's signing key */
	uint32_t kek_lifetime_s;   /**< as given, 0: none */
	/* the phase-1 SA with the current key server: never its keys */
	enum ike_state ike_state;
	uint8_t ike_icookie[8], ike_rcookie[8];
	struct ike_proposal ike_chosen; /**< the proposal it runs (established) */
	int64_t ike_expires_in_ms;	/**< -1 when not established */
	/* the key servers, in priority order, and the member's own address */
	unsigned int n_servers;
	struct gdoi_server_info servers[GDOI_MAX_SERVERS];
	char local[GDOI_ADDR_NAME_MAX]; /**< "a.b.c.d:port" the socket is bound to (else as
					   configured) */
	int local_bound;		/**< 0: the local address is not assigned (yet) */
	int64_t registered_at;		/**< unix time of the last registration, 0: none */
	int64_t pushed_at; /**< unix time of the last push accepted (a rekey), 0: none */
};
void gdoi_client_info(const struct gdoi_client *c, uint64_t now_ms, struct gdoi_client_info *out);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_GDOI_CLIENT_H */
