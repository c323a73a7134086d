/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The parse stage's IPv6 part: the header against the frame, the walk of
 * the extension headers to the upper-layer protocol (RFC 8200 section 4),
 * fragments handed to reassembly (fragment.c), and ICMPv6 neighbour
 * discovery, which passes like ARP. Out of line: the IPv4 loops never call
 * it.
 */
#include <netinet/in.h>

#include "worker_private.h"

/* Neighbour discovery (RFC 4861): router solicitation and advertisement,
 * neighbour solicitation and advertisement, redirect. */
#define ND_FIRST 133
#define ND_LAST 137

int
worker_ipv6_walk(const uint8_t *ip6, uint32_t len, struct ipv6_walk *r)
{
	uint32_t off = sizeof(struct rte_ipv6_hdr);
	uint8_t nh = ip6[offsetof(struct rte_ipv6_hdr, proto)];

	r->frag = 0;
	r->later = 0;
	for (unsigned int n = 0; nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
				 nh == IPPROTO_DSTOPTS || nh == IPPROTO_FRAGMENT;
	     n++) {
		uint32_t hl = 8;

		if (n == IPV6_EXT_MAX || off + 8 > len)
			return GVPN_DROP_BAD_EXT;
		if (nh == IPPROTO_FRAGMENT) {
			const uint16_t fd = (uint16_t)(ip6[off + 2] << 8 | ip6[off + 3]);

			/* An atomic fragment (offset 0, no more: RFC 6946) is
			 * a whole packet; a second fragment header is not. */
			if ((fd & ~6u) != 0) {
				if (r->frag != 0)
					return GVPN_DROP_BAD_EXT;
				r->frag = (uint16_t)off;
			}
			if (RTE_IPV6_GET_FO(fd) != 0) {
				/* what follows is data, not headers */
				r->later = 1;
				r->proto = ip6[off];
				r->upper = off + 8;
				return 0;
			}
		} else {
			/* hop-by-hop options only right after the IPv6 header */
			if (nh == IPPROTO_HOPOPTS && n != 0)
				return GVPN_DROP_BAD_EXT;
			hl = (ip6[off + 1] + 1u) * 8;
		}
		if (off + hl > len)
			return GVPN_DROP_BAD_EXT;
		nh = ip6[off];
		off += hl;
	}
	/* l3_len must be able to say where the upper-layer header is */
	if (off > RTE_LEN2MASK(RTE_MBUF_L3_LEN_BITS, uint32_t))
		return GVPN_DROP_BAD_EXT;
	r->proto = nh;
	r->upper = off;
	return 0;
}

enum frame_class
worker_parse6(struct gvpn_worker *w, struct rte_mbuf **mp, uint32_t l2, uint64_t now,
	      uint8_t *proto)
{
	/* Twice at most: a fragment, then the packet rebuilt from it. */
	for (unsigned int pass = 0;; pass++) {
		struct rte_mbuf *m = *mp;
		const uint8_t *ip6;
		struct ipv6_walk r;
		enum frame_class c;
		uint32_t len;
		int why;

		if (unlikely(m->nb_segs != 1 || m->data_len < l2 + sizeof(struct rte_ipv6_hdr)))
			goto malformed;
		ip6 = rte_pktmbuf_mtod_offset(m, const uint8_t *, l2);
		len = sizeof(struct rte_ipv6_hdr) + (uint32_t)(ip6[4] << 8 | ip6[5]);
		if (unlikely((ip6[0] >> 4) != 6 || len > m->data_len - l2))
			goto malformed;
		why = worker_ipv6_walk(ip6, len, &r);
		if (unlikely(why != 0)) {
			worker_drop(w, m, (enum gvpn_worker_drop)why);
			return FRAME_DROPPED;
		}
		if (likely(r.frag == 0)) {
			worker_set_l2l3(m, l2, r.upper);
			if (r.proto == IPPROTO_ICMPV6 && r.upper < len &&
			    ip6[r.upper] >= ND_FIRST && ip6[r.upper] <= ND_LAST)
				return FRAME_L2_PASS;
			*proto = r.proto;
			return FRAME_IPV6;
		}
		if (pass != 0) {
			/* fragments inside a rebuilt packet */
			worker_drop(w, m, GVPN_DROP_BAD_EXT);
			return FRAME_DROPPED;
		}
		/* rte_ip_frag rebuilds packets whose fragment header comes
		 * right after the IPv6 header, with no header before it */
		if (r.frag != sizeof(struct rte_ipv6_hdr)) {
			worker_drop(w, m, GVPN_DROP_FRAG_ERROR);
			return FRAME_DROPPED;
		}
		worker_set_l2l3(m, l2, r.frag + sizeof(struct rte_ipv6_fragment_ext));
		c = worker_reassemble6(w, mp, r.frag, len, now);
		if (c != FRAME_IPV6)
			return c;
		l2 = (*mp)->l2_len;
	}
malformed:
	worker_drop(w, *mp, GVPN_DROP_MALFORMED);
	return FRAME_DROPPED;
}
