/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Leaving EAL without a trace: what a stopped gvpnd leaves on the host.
 */
#ifndef GVPND_EAL_H
#define GVPND_EAL_H

#include <sys/types.h>

/*
 * rte_eal_cleanup(), then remove the hugepage files this process still
 * held and its runtime directory (/run/dpdk/<file-prefix>: the telemetry
 * socket, the multi-process socket and the memory maps secondary processes
 * attach to). Call once, last, from the primary process after every lcore
 * has stopped. Files that are already gone are not an error; anything else
 * is logged to stderr and the rest is still removed.
 */
void gvpnd_eal_cleanup(void);

/*
 * After rte_eal_init() failed: the process holding the lock on this file
 * prefix's configuration (another primary process with the same
 * --file-prefix), or 0 when no process holds it. EAL itself reports that
 * case without an error code.
 */
pid_t gvpnd_eal_prefix_holder(void);

#endif
