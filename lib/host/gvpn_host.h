/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_HOST_H
#define GVPN_HOST_H

/**
 * @file
 * The box as a host (R38, the exception path): a port with its own address
 * (ports[].address) gets a kernel interface named after the port, with the
 * port's MAC and address, and the default route through ports[].gateway.
 * Workers punt what is addressed to the box into their punt rings; the
 * control core moves those frames into the kernel interface, and the
 * kernel's frames into the port's inject ring, which a worker transmits.
 * Kernel sockets on that address (the GDOI client's) then work as on any
 * host: no second network stack.
 *
 * Control core only, except gvpn_host_port_stats() (any thread).
 */

#include <stdint.h>

#include <rte_mempool.h>
#include <rte_ring.h>

#include "gvpn_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Frames a worker's punt ring holds. */
#define GVPN_HOST_PUNT_RING 1024
/** Frames a port's inject ring holds. */
#define GVPN_HOST_INJECT_RING 1024
/** Descriptors of a kernel interface's RX and TX queues. */
#define GVPN_HOST_TAP_DESC 256

struct gvpn_host_conf {
	const struct gvpn_config *cfg;
	unsigned int n_workers;
	int socket;
};

/** A port's exception path, as telemetry shows it. */
struct gvpn_host_port_stats {
	char ifname[32];	   /**< its kernel interface, "" when none */
	uint64_t delivered;	   /**< punted frames written to the kernel interface */
	uint64_t delivery_dropped; /**< the kernel interface did not take them */
	uint64_t from_kernel;	   /**< the kernel's frames, to send on the port */
	uint64_t inject_dropped;   /**< the kernel's frames dropped: inject ring full */
};

struct gvpn_host;

/**
 * The rings of the exception path for the ports with an address (none when
 * no port has one: the host then does nothing).
 * @return the host, or NULL with rte_errno set (ENOMEM).
 */
struct gvpn_host *gvpn_host_create(const struct gvpn_host_conf *conf);

/** Whether some port has an address. */
int gvpn_host_active(const struct gvpn_host *h);

/** Worker @p w's punt ring (gvpn_worker_conf.punt), or NULL when inactive. */
struct rte_ring *gvpn_host_punt_ring(const struct gvpn_host *h, unsigned int w);

/** Port @p idx's inject ring, or NULL when the port has no address. */
struct rte_ring *gvpn_host_inject_ring(const struct gvpn_host *h, uint16_t idx);

/**
 * Create the kernel interfaces (net_tap) of the ports with an address, with
 * each port's MAC and MTU, set their addresses, bring them up and add the
 * default routes through their gateways. Logs what fails.
 * @param port_ids DPDK port id of each configured port (started).
 * @param pool the mbufs the interfaces receive into.
 * @return 0, or a negative errno (the interface or its address not made).
 */
int gvpn_host_start(struct gvpn_host *h, const uint16_t *port_ids, struct rte_mempool *pool);

/** Move punted frames to the kernel and the kernel's frames to the inject
 *  rings; never blocks. */
void gvpn_host_poll(struct gvpn_host *h);

/** Port @p idx's exception path counters (any thread). */
void gvpn_host_port_stats(const struct gvpn_host *h, uint16_t idx, struct gvpn_host_port_stats *s);

/** Close the kernel interfaces (removing them) and free the rings and the
 *  frames they still hold. NULL is a no-op. */
void gvpn_host_free(struct gvpn_host *h);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_HOST_H */
