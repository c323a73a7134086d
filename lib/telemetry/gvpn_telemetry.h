/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_TELEMETRY_H
#define GVPN_TELEMETRY_H

/**
 * @file
 * gvpn's commands on the DPDK telemetry socket (R30), readable with
 * dpdk-telemetry.py. Readers only read counters (per lcore, summed on
 * request) and snapshots; commands that act are left pending for the control
 * core, which runs them in gvpn_telemetry_poll() (one pending request per
 * group and kind: later ones merge into it). Keys are never shown.
 *
 *   /gvpn/version   /gvpn/config   /gvpn/ports   /gvpn/lcores   /gvpn/groups
 *   /gvpn/policy[,<group>][,<start>]   /gvpn/kek[,<group>]   /gvpn/ike[,<group>]
 *   /gvpn/keyservers[,<group>]
 *   /gvpn/sa        /gvpn/flows
 *   /gvpn/group/register,<group>   /gvpn/sa/clear,<group>
 *   /gvpn/group/fail_open,<group>,on|off
 *   /gvpn/counters/clear   (no request: a baseline that readers subtract)
 */

#include <stdint.h>

#include "gvpn_config.h"
#include "gvpn_host.h"
#include "gvpn_ctrl.h"
#include "gvpn_worker.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gvpn_telemetry_conf {
	const struct gvpn_config *cfg;
	struct gvpn_ctrl *ctrl;
	struct gvpn_worker *const *workers;
	const unsigned int *worker_lcores;
	unsigned int n_workers;
	const uint16_t *port_ids;     /**< DPDK port id of each configured port */
	const struct gvpn_host *host; /**< the ports' own addresses; NULL: none */
};

/**
 * Register the commands. Call once, after the control state exists.
 * @return 0, or the negative errno of rte_telemetry_register_cmd() for the
 *   first command it refused (-EINVAL; -ENOENT: DPDK's command table is full).
 */
int gvpn_telemetry_init(const struct gvpn_telemetry_conf *conf);

/** Run pending commands (control core only; at most once a millisecond, so
 * requests that arrive faster are merged per group and kind). */
void gvpn_telemetry_poll(void);

/**
 * State-changing requests received for @p group (fail_open, register,
 * sa/clear) and how many of them were merged into one already pending.
 */
void gvpn_telemetry_group_requests(uint8_t group, uint64_t *requests, uint64_t *coalesced);

/** Release what gvpn_telemetry_init() took (commands stay registered). */
void gvpn_telemetry_fini(void);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_TELEMETRY_H */
