/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The parse stage: link header, IPv4 header sanity, fragments handed to
 * reassembly (fragment.c), and a parsed packet's flow key. Inline, so that
 * the burst loops (outbound.c, inbound.c) read each header once. IPv6 leaves
 * the IPv4 path at the ether type for parse6.c.
 */
#ifndef PARSE_PRIVATE_H
#define PARSE_PRIVATE_H

#include <rte_arp.h>

#include "worker_private.h"

/* An ARP frame (ARP at @p l2) for the box's address @p own (request or
 * reply): punted. */
static inline int
worker_arp_is_own(const struct rte_mbuf *m, uint32_t l2, rte_be32_t own)
{
	const struct rte_arp_hdr *arp;

	if (own == 0 || m->data_len < l2 + sizeof(*arp))
		return 0;
	arp = rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *, l2);
	return arp->arp_data.arp_tip == own;
}

/* Most VLAN tags a frame may carry: 802.1ad's service tag and 802.1Q's. */
#define VLAN_TAGS_MAX 2

/*
 * Past the 802.1Q / 802.1ad tags after the MAC addresses (at most
 * VLAN_TAGS_MAX): the ether type they carry, its header's end in *l2, the
 * innermost tag's VLAN ID in *vlan (network order). A frame cut inside a
 * tag gives 0. The tags stay in the frame: they are part of the link header
 * every stage keeps (doc/architecture.md).
 */
static inline rte_be16_t
worker_vlan_skip(const struct rte_mbuf *m, rte_be16_t type, uint32_t *l2, rte_be16_t *vlan)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);

	for (unsigned int n = 0;
	     n < VLAN_TAGS_MAX && (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN) ||
				   type == rte_cpu_to_be_16(RTE_ETHER_TYPE_QINQ));
	     n++) {
		if (m->data_len < *l2 + sizeof(struct rte_vlan_hdr))
			return 0;
		memcpy(vlan, d + *l2, sizeof(*vlan));
		*vlan &= rte_cpu_to_be_16(0x0fff);
		memcpy(&type, d + *l2 + 2, sizeof(type));
		*l2 += sizeof(struct rte_vlan_hdr);
	}
	return type;
}

/* The innermost 802.1Q tag's VLAN ID of a parsed frame, network order; 0
 * for an untagged one (from its link header, l2_len bytes). */
static inline rte_be16_t
worker_vlan(const struct rte_mbuf *m)
{
	rte_be16_t tci;

	if (m->l2_len <= RTE_ETHER_HDR_LEN)
		return 0;
	memcpy(&tci, rte_pktmbuf_mtod_offset(m, const uint8_t *, m->l2_len - 4), sizeof(tci));
	return tci & rte_cpu_to_be_16(0x0fff);
}

/* Classify a received frame; a whole IPv4 or IPv6 packet leaves with
 * l2_len and l3_len set (IPv6: its upper-layer protocol in *proto6), a
 * reassembled one replaces *mp. A tagged IPv4 packet's VLAN ID goes to
 * *vlan, which an untagged one leaves alone (the caller's 0: the untagged
 * path pays nothing). Drops are counted. ARP for @p own, the receiving
 * port's address (0: none), is FRAME_PUNT. */
static inline enum frame_class
worker_parse(struct gvpn_worker *w, struct rte_mbuf **mp, uint64_t now, rte_be32_t own,
	     uint8_t *proto6, rte_be16_t *vlan)
{
	struct rte_mbuf *m = *mp;
	const struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	enum frame_class c;
	uint32_t ihl, len, l2 = sizeof(*eth);

	if (unlikely(m->data_len < sizeof(*eth))) {
		worker_drop(w, m, GVPN_DROP_NOT_IP);
		return FRAME_DROPPED;
	}
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (unlikely(eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))) {
		/* tagged frames: the policy applies to the packet inside */
		rte_be16_t type = worker_vlan_skip(m, eth->ether_type, &l2, vlan);

		if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6))
			return worker_parse6(w, mp, l2, now, proto6);
		if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
			return worker_arp_is_own(m, l2, own) ? FRAME_PUNT : FRAME_L2_PASS;
		if (type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
			worker_drop(w, m, GVPN_DROP_NOT_IP);
			return FRAME_DROPPED;
		}
	}
	if (unlikely(m->nb_segs != 1 || m->data_len < l2 + sizeof(*ip)))
		goto malformed;
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l2);
	ihl = (ip->version_ihl & 0xf) * 4u;
	len = rte_be_to_cpu_16(ip->total_length);
	if (unlikely((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) || len < ihl ||
		     len > m->data_len - l2))
		goto malformed;
	worker_set_l2l3(m, l2, ihl);
	if (likely(!rte_ipv4_frag_pkt_is_fragmented(ip)))
		return FRAME_IPV4;
	c = worker_reassemble(w, mp, ip, len, now);
	if (c == FRAME_IPV4)
		*vlan = worker_vlan(*mp); /* the rebuilt packet's link header */
	return c;
malformed:
	worker_drop(w, m, GVPN_DROP_MALFORMED);
	return FRAME_DROPPED;
}

/* Key of a parsed IPv4 packet on VLAN @p vlan (ports zero for non-port
 * protocols). On a little-endian CPU the key is made in two registers and
 * stored as the two 64-bit words the flow cache reads it as: the addresses
 * with one load (they are adjacent in the header), the ports with another. */
static inline void
worker_key(const struct rte_mbuf *m, struct gvpn_acl_key *k, uint8_t dir, rte_be16_t vlan)
{
	const struct rte_ipv4_hdr *ip =
	    rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);
	const uint8_t *l4 = (const uint8_t *)ip + m->l3_len;
	uint16_t len = rte_be_to_cpu_16(ip->total_length);

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t addrs, k0, k1;
	uint32_t ports = 0;
	const uint8_t proto = ip->next_proto_id;

	RTE_BUILD_BUG_ON(
	    offsetof(struct gvpn_acl_key, dir) != 1 || offsetof(struct gvpn_acl_key, vlan) != 2 ||
	    offsetof(struct gvpn_acl_key, src) != 4 || offsetof(struct gvpn_acl_key, dst) != 8 ||
	    offsetof(struct gvpn_acl_key, sport) != 12 ||
	    offsetof(struct gvpn_acl_key, dport) != 14);
	memcpy(&addrs, &ip->src_addr, sizeof(addrs)); /* src_addr, then dst_addr */
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) &&
	    len >= m->l3_len + 4u)
		memcpy(&ports, l4, sizeof(ports));
	k0 = proto | (uint64_t)dir << 8 | (uint64_t)vlan << 16 | addrs << 32;
	k1 = addrs >> 32 | (uint64_t)ports << 32;
	memcpy(k, &k0, sizeof(k0));
	memcpy((uint8_t *)k + sizeof(k0), &k1, sizeof(k1));
#else
	k->proto = ip->next_proto_id;
	k->dir = dir;
	k->vlan = vlan;
	k->src = ip->src_addr;
	k->dst = ip->dst_addr;
	k->sport = 0;
	k->dport = 0;
	if ((k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP || k->proto == IPPROTO_SCTP) &&
	    len >= m->l3_len + 4u) {
		memcpy(&k->sport, l4, 2);
		memcpy(&k->dport, l4 + 2, 2);
	}
#endif
}

/* Does the upper-layer protocol carry ports in its first four bytes? */
static inline int
worker_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

/* The length of a parsed IPv6 packet: its header and payload. */
static inline uint32_t
worker_ipv6_len(const struct rte_mbuf *m)
{
	return sizeof(struct rte_ipv6_hdr) +
	       rte_be_to_cpu_16(
		   rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, m->l2_len)->payload_len);
}

/* Key of a parsed IPv6 packet whose upper-layer protocol is @p proto
 * (ports zero for non-port protocols). */
static inline void
worker_key6(const struct rte_mbuf *m, uint8_t proto, struct gvpn_acl_key6 *k, uint8_t dir)
{
	const struct rte_ipv6_hdr *ip =
	    rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, m->l2_len);
	const uint8_t *l4 = (const uint8_t *)ip + m->l3_len;
	const uint32_t len = worker_ipv6_len(m);

	k->proto = proto;
	k->dir = dir;
	k->vlan = worker_vlan(m);
	memcpy(k->src, ip->src_addr, sizeof(k->src));
	memcpy(k->dst, ip->dst_addr, sizeof(k->dst));
	k->sport = 0;
	k->dport = 0;
	if (worker_has_ports(proto) && len >= m->l3_len + 4u) {
		memcpy(&k->sport, l4, 2);
		memcpy(&k->dport, l4 + 2, 2);
	}
}

#endif /* PARSE_PRIVATE_H */
