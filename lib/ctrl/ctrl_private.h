/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CTRL_PRIVATE_H
#define CTRL_PRIVATE_H

#include <stdatomic.h>

#include <rte_log.h>

#include "gvpn_ctrl.h"
#include "gvpn_gdoi_client.h"
#include "gvpn_policy.h"

extern int gvpn_ctrl_logtype;
#define LOG(level, fmt, ...)                                                                       \
	rte_log(RTE_LOG_##level, gvpn_ctrl_logtype, "gvpn.ctrl: " fmt "\n", ##__VA_ARGS__)

#define BACKLOG 65536 /* messages waiting for a worker: an SA add and activate for every slot, and more */

struct tek {
	uint8_t used;
	uint8_t group;
	uint8_t n_sel;
	struct gvpn_selector sel[2];
};

struct sa_entry {
	enum gvpn_sa_state state;
	struct gvpn_sa_rt *rt;
	uint64_t expires;     /* TSC, 0 = never */
	uint64_t activate_at; /* TSC; 0 = no activation pending */
};

struct group {
	enum gvpn_group_state state;
	int fail_open;
	struct gdoi_client *client;  /* NULL for static groups */
	enum gvpn_group_state client_state; /* what the client last said */
	uint64_t sa_install_failures;
	struct gvpn_group_info proto;  /* the client's part, as last published */
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

/* What a group's GDOI client callbacks get. */
struct gdoi_ctx {
	struct gvpn_ctrl *c;
	uint8_t group;
	uint16_t atd, dtd;       /* the group's GAP, as the key server last sent it */
	uint16_t replay_window;  /* time-based anti-replay window (R23), seconds */
};

/* A published snapshot and its readers: the publication holds one
 * reference, each gvpn_ctrl_snapshot_get() one more. */
struct snapshot {
	atomic_uint refs;
	struct gvpn_ctrl_snapshot s;
	/* then s.n_sas struct gvpn_sa_info */
};

struct gvpn_ctrl {
	struct gvpn_ctrl_conf conf;
	struct gvpn_esp_lcore *esp; /* expands keys */
	struct sa_entry sa[GVPN_MAX_SA_SLOTS];
	struct tek tek[GVPN_MAX_TEKS];
	struct group group[GVPN_MAX_GROUPS];
	struct gvpn_policy *policy;
	uint32_t generation;
	unsigned int pending;
	uint64_t next_expiry_check;
	uint64_t next_clock_sync;
	uint64_t next_gdoi_poll;
	struct backlog *backlog; /* one per worker */
	struct gdoi_ctx gctx[GVPN_MAX_GROUPS];
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
	int changed;                    /* something a snapshot shows changed */
	uint64_t next_publish;          /* TSC */
	uint64_t version;
	_Atomic(struct snapshot *) pub;
	atomic_uint epoch;
	atomic_uint readers[2];
	struct snapshot *retired;       /* swapped out in the epoch before this one */
};

/* Note that something telemetry shows changed: the next poll publishes. */
static inline void
ctrl_changed(struct gvpn_ctrl *c)
{
	c->changed = 1;
}


/* Shared by ctrl.c and ctrl_gdoi.c */
struct sa_entry *ctrl_live(struct gvpn_ctrl *c, uint16_t slot);
void ctrl_gdoi_poll(struct gvpn_ctrl *c, uint64_t now_tsc);
void ctrl_gdoi_free(struct gvpn_ctrl *c);
/* Install one group's static SAs from the configuration (no rule table update). */
int ctrl_group_load_static(struct gvpn_ctrl *c, uint8_t group);
/* Create and start one group's GDOI client from the configuration. */
int ctrl_gdoi_group_start(struct gvpn_ctrl *c, uint8_t group);
/* Stop one group's GDOI client and free it (keys wiped); its SAs stay. */
void ctrl_gdoi_group_stop(struct gvpn_ctrl *c, uint8_t group);

#endif /* CTRL_PRIVATE_H */
