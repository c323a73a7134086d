/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The removal of a capture callback, followed by a wait for the workers
 * (gvpnd_capture.h). gvpnd's definitions of rte_eth_remove_rx_callback()
 * and rte_eth_remove_tx_callback() take the place of ethdev's for every
 * caller in the process, librte_pdump included (the executable's symbols
 * come first in the dynamic linker's search); each calls ethdev's own, found
 * with dlsym(RTLD_NEXT).
 */
#include <dlfcn.h>
#include <errno.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_log.h>

#include "gvpnd_capture.h"

/* The longest a removal waits for a worker: a poll takes microseconds; a
 * worker that does not poll (stopping) is not waited for longer. */
#define QUIESCE_MS 100

_Atomic uint64_t gvpnd_capture_polls[RTE_MAX_LCORE];
/* The worker lcores: set before the workers start, read by removals. */
static unsigned int worker_lcore[RTE_MAX_LCORE];
static _Atomic unsigned int tracked;

typedef int (*remove_fn)(uint16_t port_id, uint16_t queue_id,
			 const struct rte_eth_rxtx_callback *user_cb);

/* ethdev's own functions: found at start, before any capture can begin
 * (capture requests are served on EAL's multi-process thread alone). */
static remove_fn real_rx, real_tx;

void
gvpnd_capture_workers(const unsigned int lcores[], unsigned int n)
{
	if (real_rx == NULL) {
		real_rx = (remove_fn)dlsym(RTLD_NEXT, "rte_eth_remove_rx_callback");
		real_tx = (remove_fn)dlsym(RTLD_NEXT, "rte_eth_remove_tx_callback");
	}
	n = n < RTE_MAX_LCORE ? n : RTE_MAX_LCORE;
	for (unsigned int i = 0; i < n; i++)
		worker_lcore[i] = lcores[i] < RTE_MAX_LCORE ? lcores[i] : 0;
	atomic_store(&tracked, n);
}

/* Return once each worker has finished the poll it is in, if any. */
static void
quiesce(void)
{
	const unsigned int n = atomic_load(&tracked);
	const uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz() * QUIESCE_MS / 1000;

	for (unsigned int i = 0; i < n; i++) {
		const unsigned int lc = worker_lcore[i];
		const uint64_t seen =
		    atomic_load_explicit(&gvpnd_capture_polls[lc], memory_order_acquire);

		/* The poll in progress now, if any, ends with seen + 1; a
		 * poll that begins later no longer finds the callback. */
		while (atomic_load_explicit(&gvpnd_capture_polls[lc], memory_order_acquire) ==
		       seen) {
			if (rte_get_timer_cycles() > deadline) {
				RTE_LOG(
				    WARNING, USER1,
				    "capture: the worker on lcore %u did not poll within %d ms\n",
				    lc, QUIESCE_MS);
				return;
			}
			rte_delay_us_sleep(20);
		}
	}
}

static int
remove_and_wait(remove_fn real, uint16_t port_id, uint16_t queue_id,
		const struct rte_eth_rxtx_callback *user_cb)
{
	int rc;

	if (real == NULL)
		return -ENOTSUP;
	rc = real(port_id, queue_id, user_cb);
	if (rc == 0)
		quiesce();
	return rc;
}

int
rte_eth_remove_rx_callback(uint16_t port_id, uint16_t queue_id,
			   const struct rte_eth_rxtx_callback *user_cb)
{
	return remove_and_wait(real_rx, port_id, queue_id, user_cb);
}

int
rte_eth_remove_tx_callback(uint16_t port_id, uint16_t queue_id,
			   const struct rte_eth_rxtx_callback *user_cb)
{
	return remove_and_wait(real_tx, port_id, queue_id, user_cb);
}
