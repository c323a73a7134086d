/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fragment stage, both ways. Received fragments, IPv4 and IPv6, are put
 * back together (rte_ip_frag, R21) before anything else looks at them, in
 * one table under one set of caps, and what does not complete in time is
 * dropped and counted. Outbound packets too large for
 * the protected MTU are fragmented before encryption (R22), or refused with
 * an ICMP "fragmentation needed" when they carry DF. Fragments are built as
 * contiguous packets, since the ESP stage works on those.
 */
/* rte_ip_frag_table_del_expired_entries() is experimental in DPDK 22.11. */
#define ALLOW_EXPERIMENTAL_API

#include <rte_cycles.h>
#include <rte_icmp.h>

#include "worker_private.h"

/*
 * Drop the packets that did not complete in time, counting their fragments.
 * Every expired entry goes, however many: reassembly then never meets a
 * stale one, which is what lets worker_reassemble() tell its drops apart.
 */
void
worker_frag_expire(struct gvpn_worker *w, uint64_t now)
{
	for (;;) {
		const uint32_t before = w->dr.cnt;

		/* Stops early when the death row could not take a packet. */
		rte_ip_frag_table_del_expired_entries(w->frag, &w->dr, now);
		w->stats.drop[GVPN_DROP_FRAG_TIMEOUT] += w->dr.cnt - before;
		if (w->dr.cnt < RTE_IP_FRAG_DEATH_ROW_MBUF_LEN / 2)
			return;
		rte_ip_frag_free_death_row(&w->dr, 0);
	}
}

/*
 * What rte_ip_frag made of a fragment: @p r the rebuilt packet or NULL,
 * @p lost the death row's count before the call. DPDK puts what it drops
 * on the death row, uncounted. With no stale entry left (the caller expired
 * them first), one call adds either the fragment alone (no room for a new
 * packet: the table or the hash bucket is full) or the fragment with the
 * packet's others (they overlap, repeat a first or last piece, are more
 * than RTE_LIBRTE_IP_FRAG_MAX_FRAG, or leave a hole). A rebuilt packet is
 * made contiguous and replaces *mp as @p whole.
 */
static enum frame_class
frag_done(struct gvpn_worker *w, struct rte_mbuf **mp, struct rte_mbuf *r, uint32_t lost,
	  uint64_t now, enum frame_class whole)
{
	lost = w->dr.cnt - lost;
	if (unlikely(lost != 0))
		w->stats.drop[lost == 1 ? GVPN_DROP_FRAG_TABLE_FULL : GVPN_DROP_FRAG_INVALID] +=
		    lost;
	w->frag_held = 1;
	w->frag_last = now;
	/* The death row has a fixed size and no bounds check: empty it long
	 * before one more call could overflow it. */
	if (w->dr.cnt >= RTE_IP_FRAG_DEATH_ROW_MBUF_LEN / 2)
		rte_ip_frag_free_death_row(&w->dr, 0);
	if (r == NULL)
		return FRAME_HELD;
	w->stats.reassembled++;
	if (r->nb_segs > 1) {
		/* The pipeline works on contiguous packets. */
		struct rte_mbuf *c = rte_pktmbuf_alloc(w->conf.pool);
		char *d = c != NULL && r->pkt_len <= UINT16_MAX
			      ? rte_pktmbuf_append(c, (uint16_t)r->pkt_len)
			      : NULL;

		if (d == NULL) {
			rte_pktmbuf_free(c);
			worker_drop(w, r, c == NULL ? GVPN_DROP_NO_MBUF : GVPN_DROP_FRAG_ERROR);
			return FRAME_DROPPED;
		}
		rte_pktmbuf_read(r, 0, r->pkt_len, d);
		c->l2_len = r->l2_len;
		c->l3_len = r->l3_len;
		c->port = r->port;
		rte_pktmbuf_free(r);
		r = c;
	}
	*mp = r;
	return whole;
}

enum frame_class
worker_reassemble(struct gvpn_worker *w, struct rte_mbuf **mp, struct rte_ipv4_hdr *ip,
		  uint32_t len, uint64_t now)
{
	struct rte_mbuf *m = *mp, *r;
	const uint32_t eth = m->l2_len; /* with any VLAN tags */
	const uint32_t ofs = (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) *
			     RTE_IPV4_HDR_OFFSET_UNITS;
	uint32_t lost;

	/* A packet ending beyond 65535 bytes (ping of death): DPDK would
	 * wrap its length. */
	if (unlikely(ofs + len > UINT16_MAX)) {
		worker_drop(w, m, GVPN_DROP_FRAG_OVERSIZED);
		return FRAME_DROPPED;
	}
	/* DPDK drops an empty fragment as it drops one it has no room for. */
	if (unlikely(len == m->l3_len)) {
		worker_drop(w, m, GVPN_DROP_FRAG_INVALID);
		return FRAME_DROPPED;
	}
	/* Fragments are put back together first (R21). */
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - eth - len));
	worker_frag_expire(w, now);
	lost = w->dr.cnt;
	r = rte_ipv4_frag_reassemble_packet(w->frag, &w->dr, m, now, ip);
	return frag_done(w, mp, r, lost, now, FRAME_IPV4);
}

enum frame_class
worker_reassemble6(struct gvpn_worker *w, struct rte_mbuf **mp, uint32_t frag, uint32_t len,
		   uint64_t now)
{
	struct rte_mbuf *m = *mp, *r;
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, m->l2_len);
	struct rte_ipv6_fragment_ext *fh = (struct rte_ipv6_fragment_ext *)((uint8_t *)ip + frag);
	const uint16_t fd = rte_be_to_cpu_16(fh->frag_data);
	const uint32_t ofs = RTE_IPV6_GET_FO(fd) * RTE_IPV6_EHDR_FO_ALIGN;
	const uint32_t data = len - frag - (uint32_t)sizeof(*fh);
	uint32_t lost;

	/* beyond 65535 bytes of payload: DPDK would wrap its length */
	if (unlikely(ofs + data > UINT16_MAX)) {
		worker_drop(w, m, GVPN_DROP_FRAG_OVERSIZED);
		return FRAME_DROPPED;
	}
	/* empty, or not the last and not a multiple of 8 bytes (RFC 8200
	 * section 4.5): no packet can be rebuilt from it */
	if (unlikely(data == 0 || (RTE_IPV6_GET_MF(fd) && (data & 7) != 0))) {
		worker_drop(w, m, GVPN_DROP_FRAG_INVALID);
		return FRAME_DROPPED;
	}
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - m->l2_len - len));
	worker_frag_expire(w, now);
	lost = w->dr.cnt;
	r = rte_ipv6_frag_reassemble_packet(w->frag, &w->dr, m, now, ip, fh);
	return frag_done(w, mp, r, lost, now, FRAME_IPV6);
}

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
		uint8_t *d =
		    f != NULL ? (uint8_t *)rte_pktmbuf_append(f, (uint16_t)(l2 + ihl + len)) : NULL;
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
	d = r != NULL ? (uint8_t *)rte_pktmbuf_append(r, (uint16_t)(l2 + len)) : NULL;
	if (d == NULL) {
		rte_pktmbuf_free(r);
		return;
	}
	/* the packet's link header, VLAN tags and all, with the addresses swapped */
	memcpy(d, eth, l2);
	e = (struct rte_ether_hdr *)d;
	rte_ether_addr_copy(&eth->src_addr, &e->dst_addr);
	rte_ether_addr_copy(&eth->dst_addr, &e->src_addr);
	h = (struct rte_ipv4_hdr *)(d + l2);
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
	r->l2_len = l2;
	out[(*n_out)++] = r;
	w->stats.icmp_sent++;
}

/* The bucket of an IPv6 source address in the Packet Too Big rate table. */
static inline uint32_t
ptb_bucket(const uint8_t src[16])
{
	uint32_t h = 0, word;

	for (unsigned int i = 0; i < 16; i += 4) {
		memcpy(&word, src + i, sizeof(word));
		h = (h ^ word) * 0x9e3779b1u;
	}
	return h >> 24 & (PTB_BUCKETS - 1);
}

/* An address that names no single node: multicast, or unspecified. */
static inline int
ipv6_not_unicast(const uint8_t a[16])
{
	static const uint8_t zero[16];

	return a[0] == 0xff || memcmp(a, zero, sizeof(zero)) == 0;
}

/*
 * ICMPv6 Packet Too Big (RFC 4443 section 3.2) back to the source, with
 * the largest inner packet that fits (@p mtu) and as much of the packet as
 * fits in IPv6's minimum MTU. As for IPv4, the appliance is transparent: the
 * message comes from the packet's destination, over the reversed link
 * header. Section 2.4 (e): none in answer to an ICMPv6 error, nor to a
 * source that names no single node; and none to a multicast destination,
 * which the message would have to come from. At most one per PTB_BUCKETS'
 * share of the sources every ptb_gap (section 2.4 (f)).
 */
void
worker_icmp6_too_big(struct gvpn_worker *w, const struct rte_mbuf *m, uint8_t proto, uint32_t mtu,
		     uint64_t now, struct rte_mbuf *out[], uint16_t *n_out)
{
	const uint32_t l2 = m->l2_len;
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, l2);
	const uint8_t *upper = (const uint8_t *)ip + m->l3_len;
	const uint32_t len = sizeof(*ip) + rte_be_to_cpu_16(ip->payload_len);
	const uint32_t quote = RTE_MIN(len, IPV6_MIN_MTU - (uint32_t)sizeof(*ip) -
						(uint32_t)sizeof(struct rte_icmp_hdr));
	const uint32_t plen = (uint32_t)sizeof(struct rte_icmp_hdr) + quote;
	uint64_t *next;
	struct rte_ether_hdr *e;
	struct rte_ipv6_hdr *h;
	struct rte_icmp_hdr *icmp;
	struct rte_mbuf *r;
	uint32_t sum;
	uint8_t *d;

	/* an ICMPv6 error (types 0 to 127) */
	if (proto == IPPROTO_ICMPV6 && (m->l3_len >= len || upper[0] < 128))
		return;
	if (ipv6_not_unicast(ip->src_addr) || ip->dst_addr[0] == 0xff)
		return;
	next = &w->ptb_next[ptb_bucket(ip->src_addr)];
	if (now < *next)
		return;
	r = rte_pktmbuf_alloc(w->conf.pool);
	d = r != NULL ? (uint8_t *)rte_pktmbuf_append(r, (uint16_t)(l2 + sizeof(*h) + plen)) : NULL;
	if (d == NULL) {
		rte_pktmbuf_free(r);
		return;
	}
	*next = now + w->ptb_gap;
	/* the packet's link header, VLAN tags and all, with the addresses swapped */
	memcpy(d, eth, l2);
	e = (struct rte_ether_hdr *)d;
	rte_ether_addr_copy(&eth->src_addr, &e->dst_addr);
	rte_ether_addr_copy(&eth->dst_addr, &e->src_addr);
	h = (struct rte_ipv6_hdr *)(d + l2);
	h->vtc_flow = rte_cpu_to_be_32(6u << 28);
	h->payload_len = rte_cpu_to_be_16((uint16_t)plen);
	h->proto = IPPROTO_ICMPV6;
	h->hop_limits = 64;
	memcpy(h->src_addr, ip->dst_addr, sizeof(h->src_addr));
	memcpy(h->dst_addr, ip->src_addr, sizeof(h->dst_addr));
	icmp = (struct rte_icmp_hdr *)(h + 1);
	icmp->icmp_type = 2; /* Packet Too Big */
	icmp->icmp_code = 0;
	icmp->icmp_cksum = 0;
	/* the MTU, where ICMP's identifier and sequence number are */
	icmp->icmp_ident = rte_cpu_to_be_16((uint16_t)(mtu >> 16));
	icmp->icmp_seq_nb = rte_cpu_to_be_16((uint16_t)mtu);
	memcpy(icmp + 1, ip, quote);
	/* the checksum covers the pseudo-header (RFC 8200 section 8.1) */
	sum = rte_ipv6_phdr_cksum(h, 0) + rte_raw_cksum(icmp, plen);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	icmp->icmp_cksum = (uint16_t)~sum;
	r->l2_len = l2;
	out[(*n_out)++] = r;
	w->stats.icmp_sent++;
}

/*
 * The unfragmentable part of a parsed IPv6 packet (RFC 8200 section 4.5):
 * the IPv6 header and the extension headers up to the last hop-by-hop or
 * routing header (destination options before a routing header with them).
 * @return its length, with in *nh_at the offset of the next header field
 * that names the first fragmentable header; 0 for a packet that carries a
 * fragment header already (an atomic fragment).
 */
static uint32_t
ipv6_unfragmentable(const uint8_t *ip6, uint32_t upper, uint32_t *nh_at)
{
	uint32_t off = sizeof(struct rte_ipv6_hdr), end = off, at = 6, end_at = 6;
	uint8_t nh = ip6[6];

	/* the parse walked these headers within the packet, up to upper */
	while (off < upper) {
		const uint32_t hl = (ip6[off + 1] + 1u) * 8;

		if (nh == IPPROTO_FRAGMENT)
			return 0;
		at = off;
		off += hl;
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING) {
			end = off;
			end_at = at;
		}
		nh = ip6[at];
	}
	*nh_at = end_at;
	return end;
}

void
worker_frag6_plan(const struct rte_mbuf *m, uint32_t max_inner, struct frag6_plan *p)
{
	const uint8_t *ip6 = rte_pktmbuf_mtod_offset(m, const uint8_t *, m->l2_len);
	const uint32_t len = sizeof(struct rte_ipv6_hdr) + (uint32_t)(ip6[4] << 8 | ip6[5]);
	const uint32_t hdr = sizeof(struct rte_ipv6_fragment_ext);

	p->nh_at = 0;
	p->count = 0;
	p->unfrag = ipv6_unfragmentable(ip6, m->l3_len, &p->nh_at);
	if (p->unfrag == 0 || max_inner < p->unfrag + hdr + 8)
		return;
	p->chunk = (max_inner - p->unfrag - hdr) & ~7u;
	p->count = (len - p->unfrag + p->chunk - 1) / p->chunk;
}

/*
 * Split @p m (a whole IPv6 packet) as @p p says (RFC 8200 section 4.5):
 * each fragment the unfragmentable part, a fragment header with the
 * worker's next identification, and a multiple of 8 bytes of the rest (the
 * last one what remains). Frees @p m. Returns the fragment count, or -1
 * (dropped, counted: frag_error when the packet cannot be fragmented that
 * small or into @p room fragments, or carries a fragment header already).
 */
int
worker_fragment6(struct gvpn_worker *w, struct rte_mbuf *m, const struct frag6_plan *p,
		 struct rte_mbuf *out[], unsigned int room)
{
	const uint32_t l2 = m->l2_len, unfrag = p->unfrag, chunk = p->chunk;
	const uint8_t *src = rte_pktmbuf_mtod(m, const uint8_t *), *ip6 = src + l2;
	const uint32_t len = sizeof(struct rte_ipv6_hdr) + (uint32_t)(ip6[4] << 8 | ip6[5]);
	const uint32_t hdr = sizeof(struct rte_ipv6_fragment_ext);
	const uint32_t payload = len - unfrag;
	rte_be32_t id;
	unsigned int n = 0;

	if (p->count == 0 || p->count > room) {
		worker_drop(w, m, GVPN_DROP_FRAG_ERROR);
		return -1;
	}
	/* unique among this member's workers: the worker's id in the low bits */
	id = rte_cpu_to_be_32(w->frag6_id++ << w->conf.sender_bits | w->conf.id);
	for (uint32_t off = 0; off < payload; off += chunk) {
		const uint32_t piece = RTE_MIN(chunk, payload - off);
		const uint32_t flen = unfrag + hdr + piece;
		struct rte_mbuf *f = rte_pktmbuf_alloc(w->conf.pool);
		uint8_t *d =
		    f != NULL ? (uint8_t *)rte_pktmbuf_append(f, (uint16_t)(l2 + flen)) : NULL;
		struct rte_ipv6_fragment_ext *fh;

		if (d == NULL) {
			rte_pktmbuf_free(f);
			while (n > 0)
				rte_pktmbuf_free(out[--n]);
			worker_drop(w, m, GVPN_DROP_NO_MBUF);
			return -1;
		}
		memcpy(d, src, l2 + unfrag);
		d[l2 + 4] = (uint8_t)((flen - sizeof(struct rte_ipv6_hdr)) >> 8);
		d[l2 + 5] = (uint8_t)(flen - sizeof(struct rte_ipv6_hdr));
		d[l2 + p->nh_at] = IPPROTO_FRAGMENT;
		fh = (struct rte_ipv6_fragment_ext *)(d + l2 + unfrag);
		fh->next_header = ip6[p->nh_at];
		fh->reserved = 0;
		fh->frag_data = rte_cpu_to_be_16((uint16_t)(off | (off + piece < payload)));
		fh->id = id;
		memcpy(d + l2 + unfrag + hdr, ip6 + unfrag + off, piece);
		f->l2_len = l2;
		f->l3_len = unfrag + hdr;
		out[n++] = f;
	}
	w->stats.fragments_out += n;
	rte_pktmbuf_free(m);
	return (int)n;
}
