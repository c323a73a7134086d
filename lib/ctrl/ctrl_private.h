/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CTRL_PRIVATE_H
#define CTRL_PRIVATE_H

#include <stdatomic.h>

#include <rte_log.h>

#include "gvpn_ctrl.h"
#include "gvpn_policy.h"
#include "gvpn_sa.h"

extern int gvpn_ctrl_logtype;
#define LOG(level, fmt, ...)                                                                       \
	rte_log(RTE_LOG_##level, gvpn_ctrl_logtype, "gvpn.ctrl: " fmt "\n", ##__VA_ARGS__)

#define BACKLOG                                                                                    \
	65536 /* messages waiting for a worker: an SA add and activate for every slot, and more */

/* What the control core asks of a group's key protocol client. */
enum ctrl_request {
	CTRL_REQ_REGISTER, /* register now (at start, and on an operator's request) */
};

/*
 * A group key protocol, as the control core drives it (DESIGN.md): the
 * client reports upward by calling the SA, rule and group functions below.
 * The control core calls it through this table alone; ctrl_proto.c picks
 * the table from the group's configuration.
 */
struct ctrl_proto_ops {
	const char *name;
	/* A client for group @p group as configured, not started yet.
	 * @return it, or NULL with rte_errno set (logged). */
	void *(*create)(struct gvpn_ctrl *c, uint8_t group);
	/* Read its socket, run its timers; never blocks. */
	void (*poll)(void *client, uint64_t now_ms);
	/* Its part of the group's telemetry (server, counters), deadlines
	 * absolute (gvpn_ctrl_clock_ms()); the rest of @p out is left zero. */
	void (*info)(const void *client, uint64_t now_ms, struct gvpn_group_info *out);
	/* @return 0 or a negative errno. */
	int (*request)(void *client, enum ctrl_request req, uint64_t now_ms);
	/* The group's configuration (c->conf.cfg) changed only in settings
	 * the next registration takes up (key servers, retries, phase 1): the
	 * keys held stay. @return 0 or a negative errno. */
	int (*reconf)(void *client);
	/* Debug switch: log its messages in and out (headers only). */
	void (*debug)(void *client, int on);
	/* Leave the group before a stop (NULL: the protocol has no way to):
	 * @return 1 while answers are awaited (poll it, ask leaving()), 0 when
	 * there is nothing to wait for. Nothing but the leave runs after it. */
	int (*leave)(void *client, uint64_t now_ms);
	int (*leaving)(const void *client);
	/* Stop it and free it: its socket closed, its keys wiped. */
	void (*free)(void *client);
};

extern const struct ctrl_proto_ops ctrl_gdoi_ops;
extern const struct ctrl_proto_ops ctrl_gikev2_ops;

/* ctrl_keys.c: what a key protocol's client reports (in lib/gdoi's terms,
 * both GDOI and G-IKEv2), applied to one group's SAs and rules. */
struct ctrl_keys {
	struct gvpn_ctrl *c;
	uint8_t group;
	const char *tag;	/* of its log lines: "gvpn.gdoi" */
	uint16_t atd, dtd;	/* the group's GAP, as the key server last sent it */
	uint16_t replay_window; /* time-based anti-replay window (R23), seconds */
};

/* The client callbacks (policy, push, state, has_keys, log) for @p k. */
void ctrl_keys_ops(struct ctrl_keys *k, struct gdoi_client_ops *ops);

/* A configured address (IPv4 host order, or IPv6) and port as a socket's. */
void ctrl_sockaddr(uint8_t af, uint32_t addr, const uint8_t addr6[16], uint16_t port,
		   union gdoi_sockaddr *s);

/* A group's registration history: what its key protocol counted. */
struct ctrl_history {
	uint64_t registrations, failures, pushes;
	int64_t last_registration_at, last_rekey_at; /* unix time, 0: never */
};

struct group {
	enum gvpn_group_state state;
	int fail_open;
	int debug;			    /* operator's debug switch, kept across a new client */
	const struct ctrl_proto_ops *proto; /* NULL for static groups */
	void *client;			    /* proto's, while it runs */
	enum gvpn_group_state client_state; /* what the client last said */
	uint64_t sa_install_failures;
	struct gvpn_group_info client_info; /* the client's part, as last published */
	/* what the group's earlier clients counted: a reload that gives it a
	 * new client carries it over (ctrl_reload.c), the client adds its own */
	struct ctrl_history past;
	/* The member's Sender-ID (RFC 6054). Once the group's key protocol
	 * manages them (gvpn_ctrl_group_sender_id()), its counter-mode SAs
	 * encrypt only with one; static groups never do. */
	uint8_t sid_managed;
	uint8_t sid_bits; /* 0: none */
	uint32_t sid;
};

/* A change broadcast to every worker, done when every one acked. */
struct op {
	unsigned int pending;
	void (*done)(struct gvpn_ctrl *c, struct op *op);
	void *obj;
	uint16_t slot;
};

struct backlog {
	unsigned int head, count;
	struct gvpn_msg *q[BACKLOG];
};

/* A published snapshot and its readers: the publication holds one
 * reference, each gvpn_ctrl_snapshot_get() one more. */
struct snapshot {
	atomic_uint refs;
	struct gvpn_ctrl_snapshot s;
	/* then s.n_sas struct gvpn_sa_info */
};

/*
 * The rule a bypass or fail-open hit counter counts for. Workers count hits by
 * a rule's index in its list (gvpn_rule.index); this is the rule the last
 * rule table had at the index, and the generation of the table that gave it
 * the index, from which its count is its own.
 */
struct hit_owner {
	struct gvpn_selector sel;
	char group[GVPN_NAME_MAX]; /* a fail-open rule's group */
	uint32_t since;		   /* 0: no rule at this index */
};

struct gvpn_ctrl {
	struct gvpn_ctrl_conf conf;
	struct gvpn_esp_lcore *esp; /* expands keys */
	struct gvpn_sa_entry sa[GVPN_MAX_SA_SLOTS];
	struct gvpn_tek tek[GVPN_MAX_TEKS];
	struct gvpn_sa_index *spis;	 /* SPI (host order) -> slot, live SAs only */
	struct gvpn_sa_slots *free_sas;	 /* slots in state FREE */
	struct gvpn_sa_index *tek_index; /* ctrl_tek_key() -> TEK */
	struct gvpn_sa_slots *free_teks; /* TEKs not used */
	struct group group[GVPN_MAX_GROUPS];
	struct gvpn_policy *policy;
	uint32_t generation;
	struct hit_owner bypass_owner[GVPN_MAX_BYPASS];
	struct hit_owner fail_open_owner[GVPN_MAX_GROUPS][GVPN_MAX_FAIL_OPEN];
	unsigned int pending;
	uint64_t next_expiry_check;
	uint64_t next_clock_sync;
	uint64_t next_gdoi_poll;
	struct backlog *backlog; /* one per worker */
	struct gvpn_config_info reload;
	/* Telemetry's view. Only the control core writes the tables above;
	 * readers see them through the published snapshot alone. A reader
	 * counts itself in readers[epoch & 1] while it loads pub and takes a
	 * reference (a few atomic steps, no lock). Publishing swaps pub,
	 * then moves the epoch on; the snapshot swapped out waits in
	 * `retired` until the previous epoch's count is 0: every reader that
	 * could have loaded it then holds its own reference. Readers that
	 * arrive meanwhile count in the new epoch, so they do not hold it up;
	 * no side ever waits for the other. */
	int changed;	       /* something a snapshot shows changed */
	uint64_t next_publish; /* TSC */
	uint64_t version;
	_Atomic(struct snapshot *) pub;
	atomic_uint epoch;
	atomic_uint readers[2];
	struct snapshot *retired; /* swapped out in the epoch before this one */
};

/* Note that something telemetry shows changed: the next poll publishes. */
static inline void
ctrl_changed(struct gvpn_ctrl *c)
{
	c->changed = 1;
}

/* ctrl.c: the control core's tables and messages, for the key protocols,
 * the reload and the public calls. */

/* The SA in @p slot if it decrypts or encrypts, else NULL. */
struct gvpn_sa_entry *ctrl_live(struct gvpn_ctrl *c, uint16_t slot);
/* The live SA (not FREE, not DELETING) with an SPI (host order): slot or -ENOENT. */
int ctrl_spi_slot(const struct gvpn_ctrl *c, uint32_t spi);
/* The lowest TEK of a group with the selector, mirrored or not: index or -ENOENT. */
int ctrl_tek_find(const struct gvpn_ctrl *c, uint8_t group, const struct gvpn_selector *sel,
		  int mirror);
/* Forget a TEK policy. */
void ctrl_tek_del(struct gvpn_ctrl *c, uint16_t tek);
/* Install one group's static SAs from the configuration (no rule table update). */
int ctrl_group_load_static(struct gvpn_ctrl *c, uint8_t group);
/* Stop one group's key protocol client and free it (keys wiped); its SAs stay. */
void ctrl_group_stop(struct gvpn_ctrl *c, uint8_t group);
/* Group @p group's registration history so far: its past and its client's. */
void ctrl_group_history(const struct gvpn_ctrl *c, uint8_t group, struct ctrl_history *h);

/* ctrl_proto.c: start one group's key protocol client, as configured
 * (nothing for a static group). @return 0 or a negative errno (logged). */
int ctrl_group_start(struct gvpn_ctrl *c, uint8_t group);

/* ctrl_punt.c: the most punt rules ctrl_punt_rules() writes. */
#define CTRL_PUNT_RULES_MAX (GVPN_MAX_PORTS * (2 + GVPN_MAX_GROUPS * GVPN_MAX_KEY_SERVERS * 2))

/* ctrl_punt.c: the rules that punt what is addressed to the box's own
 * addresses (ports[].address) to @p r from index @p n; @return the new n. */
unsigned int ctrl_punt_rules(const struct gvpn_config *cfg, struct gvpn_policy_rule *r,
			     unsigned int n);

#endif /* CTRL_PRIVATE_H */
