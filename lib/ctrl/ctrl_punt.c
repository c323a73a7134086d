/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exception path's rules: what is addressed to a port's own address
 * (ports[].address) goes to the box's kernel interface for that port
 * instead of through the box. They sit in the same rule table as bypass and
 * group policies, so the flow cache remembers them like any other decision.
 *
 * For each port with an address, in the category of the direction its
 * packets arrive in (a protected port's: inbound; a clear port's: outbound):
 *   - from a key server of a GDOI group to the address, and from a key
 *     server to any IPv4 multicast group over UDP (multicast rekeys, R35):
 *     GVPN_RULE_PUNT_CONTROL, above everything (a budget of their own);
 *   - anything else to the address: GVPN_RULE_PUNT, above bypass;
 *   - IGMP to a multicast group: GVPN_RULE_PUNT below bypass (a bypass for
 *     IGMP keeps forwarding it), so the kernel answers queries for the
 *     groups it joined.
 * ARP for the address is decided where ARP is parsed (the worker).
 */
#include "ctrl_private.h"

#define MCAST_NET 0xe0000000u /* 224.0.0.0/4 */
#define IPPROTO_IGMP_ 2
#define IPPROTO_UDP_ 17

/* Above bypass (3 * GVPN_MAX_TEKS + GVPN_MAX_BYPASS at most) and TEKs. */
#define PRIO_CONTROL (3 * GVPN_MAX_TEKS + GVPN_MAX_BYPASS + 2)
#define PRIO_HOST (3 * GVPN_MAX_TEKS + GVPN_MAX_BYPASS + 1)
/* Below bypass (lowest 3 * GVPN_MAX_TEKS + 1), above TEK policies (at most
 * 2 * GVPN_MAX_TEKS). */
#define PRIO_IGMP (2 * GVPN_MAX_TEKS + 1)

static struct gvpn_policy_rule
punt_rule(uint32_t src, uint8_t src_len, uint32_t dst, uint8_t dst_len, uint8_t proto,
	  enum gvpn_rule_type type, uint32_t cat, int32_t prio)
{
	return (struct gvpn_policy_rule){.sel = {.src = {.addr = src, .len = src_len},
						 .dst = {.addr = dst, .len = dst_len},
						 .proto = proto,
						 .sport_hi = 65535,
						 .dport_hi = 65535},
					 .rule = {.type = (uint8_t)type},
					 .categories = 1u << cat,
					 .priority = prio};
}

unsigned int
ctrl_punt_rules(const struct gvpn_config *cfg, struct gvpn_policy_rule *r, unsigned int n)
{
	for (uint16_t i = 0; i < cfg->n_ports; i++) {
		const struct gvpn_port_conf *p = &cfg->ports[i];
		const uint32_t cat = p->role == GVPN_PORT_PROTECTED ? GVPN_ACL_IN : GVPN_ACL_OUT;

		if (p->address == 0)
			continue;
		for (uint16_t g = 0; g < cfg->n_groups; g++) {
			const struct gvpn_gdoi_conf *k = &cfg->groups[g].ks;

			/* IPv4: ports' own addresses are IPv4 (an IPv6 group's key
			 * servers are reached through the host's own interfaces) */
			for (uint8_t s = 0;
			     cfg->groups[g].gdoi && k->af == GVPN_AF_IPV4 && s < k->n_servers;
			     s++) {
				r[n++] = punt_rule(k->server_addr[s], 32, p->address, 32, 0,
						   GVPN_RULE_PUNT_CONTROL, cat, PRIO_CONTROL);
				r[n++] =
				    punt_rule(k->server_addr[s], 32, MCAST_NET, 4, IPPROTO_UDP_,
					      GVPN_RULE_PUNT_CONTROL, cat, PRIO_CONTROL);
			}
		}
		r[n++] = punt_rule(0, 0, p->address, 32, 0, GVPN_RULE_PUNT, cat, PRIO_HOST);
		r[n++] =
		    punt_rule(0, 0, MCAST_NET, 4, IPPROTO_IGMP_, GVPN_RULE_PUNT, cat, PRIO_IGMP);
	}
	return n;
}
