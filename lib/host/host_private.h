/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef HOST_PRIVATE_H
#define HOST_PRIVATE_H

#include <stdint.h>

#include <rte_ether.h>
#include <rte_log.h>

#include "gvpn_host.h"

extern int gvpn_host_logtype;
#define LOG(level, fmt, ...)                                                                       \
	rte_log(RTE_LOG_##level, gvpn_host_logtype, "gvpn.host: " fmt "\n", ##__VA_ARGS__)

/* host_if.c: give kernel interface @p ifname the port's MAC and MTU, its
 * address (host order) with its subnet, bring it up and, with a gateway,
 * add the default route through it; IPv6 is switched off on it (IPv4 only
 * for now). @return 0, or the negative errno of the step that failed
 * (logged). An existing default route is left and logged. */
int host_if_setup(const char *ifname, const struct rte_ether_addr *mac, uint16_t mtu, uint32_t addr,
		  uint8_t prefix_len, uint32_t gateway);

#endif /* HOST_PRIVATE_H */
