/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Leaving EAL without a trace: what a stopped gvpnd leaves on the host.
 */
#ifndef GVPND_EAL_H
#define GVPND_EAL_H

/*
 * rte_eal_cleanup(), then remove the hugepage files this process still
 * held and its runtime directory (/run/dpdk/<file-prefix>: the telemetry
 * socket, the multi-process socket and the memory maps secondary processes
 * attach to). Call once, last, from the primary process after every lcore
 * has stopped. Files that are already gone are not an error; anything else
 * is logged to stderr and the rest is still removed.
 */
void gvpnd_eal_cleanup(void);

#endif
