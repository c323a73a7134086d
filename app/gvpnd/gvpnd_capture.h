/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet capture (dpdk-dumpcap) that can end while traffic flows.
 *
 * DPDK 22.11's capture service removes its RX/TX callback from a port and
 * answers the capturing process at once; that process then frees the ring
 * and mempool the callback copies packets into. A worker that was already
 * inside the callback keeps using them, and gvpnd crashes (fixed in DPDK
 * after 22.11: "pdump: fix races in callbacks"). gvpnd therefore wraps the
 * two removal calls: after the removal, they wait until every worker has
 * finished the poll it was in, so no burst still holds the callback when
 * the capturing process is answered.
 */
#ifndef GVPND_CAPTURE_H
#define GVPND_CAPTURE_H

#include <stdatomic.h>
#include <stdint.h>

#include <rte_lcore.h>

/* Polls completed on each lcore: written by that lcore only. */
extern _Atomic uint64_t gvpnd_capture_polls[RTE_MAX_LCORE];

/* The worker lcores a removal waits for (@p n of them, none before the
 * workers are set up); call once before rte_pdump_init() with none. */
void gvpnd_capture_workers(const unsigned int lcores[], unsigned int n);

/* The worker on lcore @p i finished a poll. */
static inline void
gvpnd_capture_polled(unsigned int i)
{
	uint64_t n = atomic_load_explicit(&gvpnd_capture_polls[i], memory_order_relaxed);

	atomic_store_explicit(&gvpnd_capture_polls[i], n + 1, memory_order_release);
}

#endif
