/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CTRL_PRIVATE_H
#define CTRL_PRIVATE_H

#include <rte_log.h>
#include <rte_spinlock.h>

#include "gvpn_ctrl.h"
#include "gvpn_gdoi_client.h"
#include "gvpn_policy.h"
#include "gvpn_sa.h"

extern int gvpn_ctrl_logtype;
#define LOG(level, fmt, ...)                                                                       \
	rte_log(RTE_LOG_##level, gvpn_ctrl_logtype, "gvpn.ctrl: " fmt "\n", ##__VA_ARGS__)

#define BACKLOG 65536 /* messages waiting for a worker: an SA add and activate for every slot, and more */

struct group {
	enum gvpn_group_state state;
	int fail_open;
	struct gdoi_client *client;  /* NULL for static groups */
	enum gvpn_group_state client_state; /* what the client last said */
	uint64_t sa_install_failures;  /* under lock: telemetry reads it */
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

struct gvpn_ctrl {
	struct gvpn_ctrl_conf conf;
	struct gvpn_esp_lcore *esp; /* expands keys */
	rte_spinlock_t lock;        /* tables vs. telemetry readers */
	struct gvpn_sa_entry sa[GVPN_MAX_SA_SLOTS];
	struct gvpn_tek tek[GVPN_MAX_TEKS];
	struct gvpn_sa_index *spis;      /* SPI (host order) -> slot, live SAs only */
	struct gvpn_sa_slots *free_sas;  /* slots in state FREE */
	struct gvpn_sa_index *tek_index; /* ctrl_tek_key() -> TEK */
	struct gvpn_sa_slots *free_teks; /* TEKs not used */
	struct group group[GVPN_MAX_GROUPS];
	struct gvpn_policy *policy;
	uint32_t generation;
	unsigned int pending;
	uint64_t next_expiry_check;
	uint64_t next_clock_sync;
	uint64_t next_gdoi_poll;
	struct backlog *backlog; /* one per worker */
	struct gdoi_ctx gctx[GVPN_MAX_GROUPS];
	struct gvpn_config_info reload; /* under lock: telemetry reads it */
};


/* Shared by ctrl.c and ctrl_gdoi.c */
struct gvpn_sa_entry *ctrl_live(struct gvpn_ctrl *c, uint16_t slot);
/* The live SA (not FREE, not DELETING) with an SPI (host order): slot or -ENOENT. */
int ctrl_spi_slot(const struct gvpn_ctrl *c, uint32_t spi);
/* The lowest TEK of a group with the selector, mirrored or not: index or -ENOENT. */
int ctrl_tek_find(const struct gvpn_ctrl *c, uint8_t group, const struct gvpn_selector *sel,
		  int mirror);
/* Forget a TEK policy. */
void ctrl_tek_del(struct gvpn_ctrl *c, uint16_t tek);
void ctrl_gdoi_poll(struct gvpn_ctrl *c, uint64_t now_tsc);
void ctrl_gdoi_free(struct gvpn_ctrl *c);
/* Install one group's static SAs from the configuration (no rule table update). */
int ctrl_group_load_static(struct gvpn_ctrl *c, uint8_t group);
/* Create and start one group's GDOI client from the configuration. */
int ctrl_gdoi_group_start(struct gvpn_ctrl *c, uint8_t group);
/* Stop one group's GDOI client and free it (keys wiped); its SAs stay. */
void ctrl_gdoi_group_stop(struct gvpn_ctrl *c, uint8_t group);

#endif /* CTRL_PRIVATE_H */
