/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pre-fragmentation (R22) and ICMP "fragmentation needed". Fragments are
 * built as contiguous packets, since the ESP stage works on those.
 */
#include <rte_cycles.h>
#include <rte_icmp.h>

#include "worker_private.h"

/*
 * Split @p m (a whole IPv4 packet, not a fragment) into fragments of at most
 * @p max_inner bytes each. The inner DF bit is cleared: policy said to
 * fragment. Frees @p m. Returns the fragment count, or -1 (dropped, counted).
 */
int
worker_fragment(struct gvpn_worker *w, struct rte_mbuf *m, uint32_t max_inner,
		struct rte_mbuf *out[], unsigned int room)
{
	const uint32_t l2 = m->l2_len, ihl = m->l3_len;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l2);
	const uint32_t payload = rte_be_to_cpu_16(ip->total_length) - ihl;
	const uint32_t chunk = worker_frag_chunk(max_inner, ihl);
	const uint32_t count = worker_frag_count(m, max_inner);
	const uint8_t *src = rte_pktmbuf_mtod(m, const uint8_t *);
	unsigned int n = 0;

	if (count == 0 || count > room) {
		worker_drop(w, m, GVPN_DROP_FRAG_ERROR);
		return -1;
	}
	for (uint32_t off = 0; off < payload; off += chunk) {
		uint32_t len = RTE_MIN(chunk, payload - off);
		struct rte_mbuf *f = rte_pktmbuf_alloc(w->conf.pool);
		uint8_t *d = f != NULL ? (uint8_t *)rte_pktmbuf_append(f, (uint16_t)(l2 + ihl + len))
				       : NULL;
		struct rte_ipv4_hdr *fh;

		if (d == NULL) {
			rte_pktmbuf_free(f);
			while (n > 0)
				rte_pktmbuf_free(out[--n]);
			worker_drop(w, m, GVPN_DROP_NO_MBUF);
			return -1;
		}
		/* Options are copied into every fragment; RFC 791 would keep
		 * only those with the copy flag in later ones. */
		memcpy(d, src, l2 + ihl);
		memcpy(d + l2 + ihl, src + l2 + ihl + off, len);
		fh = (struct rte_ipv4_hdr *)(d + l2);
		fh->total_length = rte_cpu_to_be_16((uint16_t)(ihl + len));
		fh->fragment_offset = rte_cpu_to_be_16(
			(uint16_t)(off / 8) | (off + len < payload ? RTE_IPV4_HDR_MF_FLAG : 0));
		fh->hdr_checksum = 0;
		fh->hdr_checksum = rte_ipv4_cksum(fh);
		f->l2_len = l2;
		f->l3_len = ihl;
		out[n++] = f;
	}
	w->stats.fragments_out += n;
	rte_pktmbuf_free(m);
	return (int)n;
}

/*
 * ICMP destination unreachable / fragmentation needed (RFC 1191) back to the
 * sender, rate limited. The appliance is transparent and has no address on
 * the clear side: the message comes from the packet's destination.
 */
void
worker_icmp_too_big(struct gvpn_worker *w, const struct rte_mbuf *m, uint16_t mtu,
		    struct rte_mbuf *out[], uint16_t *n_out)
{
	const uint32_t l2 = m->l2_len;
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l2);
	const uint32_t quote = m->l3_len + 8;
	const uint32_t len = sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_icmp_hdr) + quote;
	uint64_t now = rte_rdtsc();
	struct rte_ether_hdr *e;
	struct rte_ipv4_hdr *h;
	struct rte_icmp_hdr *icmp;
	struct rte_mbuf *r;
	uint8_t *d;

	if (now < w->icmp_next || rte_be_to_cpu_16(ip->total_length) < quote)
		return;
	w->icmp_next = now + w->icmp_gap;
	r = rte_pktmbuf_alloc(w->conf.pool);
	d = r != NULL ? (uint8_t *)rte_pktmbuf_append(r, (uint16_t)(sizeof(*e) + len)) : NULL;
	if (d == NULL) {
		rte_pktmbuf_free(r);
		return;
	}
	e = (struct rte_ether_hdr *)d;
	rte_ether_addr_copy(&eth->src_addr, &e->dst_addr);
	rte_ether_addr_copy(&eth->dst_addr, &e->src_addr);
	e->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	h = (struct rte_ipv4_hdr *)(e + 1);
	memset(h, 0, sizeof(*h));
	h->version_ihl = RTE_IPV4_VHL_DEF;
	h->total_length = rte_cpu_to_be_16((uint16_t)len);
	h->time_to_live = 64;
	h->next_proto_id = IPPROTO_ICMP;
	h->src_addr = ip->dst_addr;
	h->dst_addr = ip->src_addr;
	h->hdr_checksum = rte_ipv4_cksum(h);
	icmp = (struct rte_icmp_hdr *)(h + 1);
	icmp->icmp_type = 3; /* destination unreachable */
	icmp->icmp_code = 4; /* fragmentation needed and DF set */
	icmp->icmp_cksum = 0;
	icmp->icmp_ident = 0;
	icmp->icmp_seq_nb = rte_cpu_to_be_16(mtu); /* next-hop MTU (RFC 1191) */
	memcpy(icmp + 1, ip, quote);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp) + quote);
	r->l2_len = sizeof(*e);
	out[(*n_out)++] = r;
	w->stats.icmp_sent++;
}
