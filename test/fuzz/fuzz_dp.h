/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FUZZ_DP_H
#define FUZZ_DP_H

/*
 * The data plane the worker and telemetry harnesses run against: EAL with
 * two net_null ports (transmitted frames are freed), a pool, one worker on
 * the port pair and a control core over the harness's configuration.
 * Ports of the configuration with an address (ports[].address: index 0 the
 * clear port, 1 the protected one) have the exception path: the worker
 * punts to a ring the harness drains (fz_dp_drain_punt), at the port's
 * punt_rate. Every failure aborts: a harness cannot run without it.
 */
#include <stdint.h>

#include "gvpn_ctrl.h"

struct fz_dp {
	struct rte_mempool *pool;
	struct gvpn_worker *w;
	struct gvpn_ctrl *ctrl;
	struct rte_ring *punt; /* NULL: no port has an address */
};

/**
 * Start EAL, the pool of @p n_mbufs, the worker and the control core over
 * @p cfg (filled by the caller; it must outlive @p dp).
 */
void fz_dp_start(struct fz_dp *dp, const char *argv0, unsigned int n_mbufs,
		 const struct gvpn_config *cfg);

/**
 * Add an active AES-GCM SA with @p spi for selector @p sel to group @p g.
 * @return its parameters (to build a peer SA from).
 */
struct gvpn_ctrl_sa_params fz_dp_add_sa(struct fz_dp *dp, uint8_t g, uint32_t spi,
					const struct gvpn_selector *sel);

/** Free the frames the worker punted. @return how many there were. */
unsigned int fz_dp_drain_punt(struct fz_dp *dp);

/** Run the worker and the control core until nothing is pending. */
void fz_dp_settle(struct fz_dp *dp);

/** Free the control core and the worker, and stop EAL. */
void fz_dp_stop(struct fz_dp *dp);

#endif /* FUZZ_DP_H */
