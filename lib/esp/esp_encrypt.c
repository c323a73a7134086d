/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Outbound: inner packet -> outer header of its family (IPv4: inner
 * addresses, DSCP/ECN, DF policy; IPv6: inner addresses, traffic class and
 * flow label) | ESP header | IV | [delay-detection stamp] | inner packet |
 * padding | pad length | next header | ICV.
 */
#include <string.h>

#include <rte_ip.h>

#include "esp_private.h"

/* Link headers up to this long are moved with one fixed-size copy. */
#define LINK_COPY 16

/* Padding bytes of RFC 4303 2.4, for blocks up to 16 bytes. */
static const uint8_t pad_bytes[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/*
 * Complement of a one's-complement sum (RFC 1071) of 16-bit words taken as
 * they lie in memory, as rte_ipv4_cksum() gives it: a header's words never
 * sum to +0, so the checksum is never 0xffff (RFC 1624 section 3).
 */
static inline rte_be16_t
cksum_fold(uint64_t sum)
{
	/* The high half of x + (x rotated by half its width) is x's halves
	 * added with the end-around carry: 64 bits to 32, then 32 to 16. */
	uint32_t s = (uint32_t)((sum + (sum >> 32 | sum << 32)) >> 32);

	s = (s + (s >> 16 | s << 16)) >> 16;
	return (rte_be16_t)~s;
}

/*
 * The link header (@p l2 bytes, @p hdr bytes after @p start, in front of
 * the inner packet) moved back to @p start, in front of the @p hdr bytes of
 * new headers. Most are moved with one fixed-size copy: what it writes past
 * the link header is where the outer header starts, written afterwards;
 * hdr > LINK_COPY, so source and destination do not overlap.
 */
static inline __attribute__((always_inline)) void
link_make_room(uint8_t *start, uint32_t hdr, uint32_t l2)
{
	RTE_BUILD_BUG_ON(sizeof(struct rte_ipv4_hdr) + sizeof(struct esp_hdr) < LINK_COPY);
	if (likely(l2 <= LINK_COPY))
		memcpy(start, start + hdr, LINK_COPY);
	else
		memmove(start, start + hdr, l2);
}

/*
 * How an SA makes its IVs and stamps, known when the encapsulation below is
 * compiled for it: each SA's runs of packets go through the instance that
 * fits it (esp_encap_select()), so the common SAs take no call and no load
 * for either. Each kind is compiled once per address family as well.
 */
enum encap_kind {
	ENCAP_ANY,   /* any SA: sa->gen_iv, sa->ddd_stamp */
	ENCAP_CBC16, /* 16-byte random IV (AES-CBC), no stamp */
	ENCAP_GCM,   /* 8-byte counter IV (AES-GCM, AES-GMAC), no stamp */
};

/*
 * What a run of one SA's packets reads and counts, held in locals for the
 * run: a store into a packet is a byte store, which may alias any field of
 * the SA, its state or the lcore, so with those read and counted in place
 * every packet would load them all again and store every counter. The
 * counters go back to the state and the lcore once a run (esp_encap_run()).
 */
struct encap_run {
	/* from the SA */
	const struct gvpn_esp_sa *sa;
	const void *sess;
	uint32_t spi; /* network order */
	uint16_t df_keep, df_set;
	uint8_t ttl, next_hdr, icv_len;
	/* counted: sequence number, counter IV (ENCAP_GCM), IPv4 ID, random
	 * bytes used (ENCAP_CBC16), inner bytes */
	uint32_t seq;
	uint64_t iv_ctr;
	uint16_t ip_id;
	uint32_t rng_pos;
	uint64_t bytes;
};

/*
 * What follows the outer header: ESP header, IV, stamp, padding and trailer
 * around the inner packet of @p ilen bytes, and the crypto operation in
 * @p op. Returns 0.
 */
static inline __attribute__((always_inline)) int
esp_encap_tail(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st, struct encap_run *r,
	       struct rte_mbuf *m, struct gvpn_crypto_op *op, const enum encap_kind kind,
	       const uint32_t ip_len, struct esp_hdr *esp, uint32_t ilen, uint32_t clen,
	       uint32_t pad, uint32_t tail)
{
	const struct gvpn_esp_sa *sa = r->sa;
	const uint32_t iv_len = kind == ENCAP_CBC16 ? 16 : kind == ENCAP_GCM ? 8 : sa->iv_len;
	const uint32_t ddd_len = kind == ENCAP_ANY ? sa->ddd_len : 0;
	uint8_t *payload, *trailer;

	esp->spi = r->spi;
	esp->seq = rte_cpu_to_be_32(++r->seq);
	payload = (uint8_t *)(esp + 1) + iv_len;
	if (kind == ENCAP_CBC16) {
		/* iv_random16(), inline */
		if (unlikely(r->rng_pos + 16 > GVPN_RNG_BUF)) {
			gvpn_rng_refill(&lc->rng);
			r->rng_pos = lc->rng.pos;
		}
		memcpy(esp + 1, lc->rng.buf + r->rng_pos, 16);
		r->rng_pos += 16;
	} else if (kind == ENCAP_GCM) {
		/* iv_counter(), inline */
		uint64_t v = rte_cpu_to_be_64(r->iv_ctr++);

		memcpy(esp + 1, &v, sizeof(v));
	} else {
		sa->gen_iv(st, &lc->rng, (uint8_t *)(esp + 1));
		sa->ddd_stamp(payload);
	}

	/* RFC 4303 2.4: padding bytes 1, 2, 3, ...; pad <= block_mask < 16.
	 * Where the ICV's room follows, one 16-byte copy writes them (the
	 * bytes past the padding are overwritten by the trailer and ICV). */
	trailer = payload + ddd_len + ilen;
	if (likely(tail >= sizeof(pad_bytes)))
		memcpy(trailer, pad_bytes, sizeof(pad_bytes));
	else
		for (uint32_t i = 0; i < pad; i++)
			trailer[i] = pad_bytes[i];
	trailer[pad] = (uint8_t)pad;
	trailer[pad + 1] = r->next_hdr;

	esp_op_fill(op, r->sess, esp, iv_len, clen);

	m->l3_len = ip_len;
	m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	r->bytes += ilen;
	return 0;
}

/* Validate the inner IPv4 packet and build the ESP packet around it,
 * leaving the crypto operation in @p op. Returns 0 or the drop reason + 1. */
static inline __attribute__((always_inline)) int
esp_encap_one(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st, struct encap_run *r,
	      struct rte_mbuf *m, struct gvpn_crypto_op *op, const enum encap_kind kind)
{
	const struct gvpn_esp_sa *sa = r->sa;
	const uint32_t l2 = m->l2_len;
	const uint32_t iv_len = kind == ENCAP_CBC16 ? 16 : kind == ENCAP_GCM ? 8 : sa->iv_len;
	const uint32_t ddd_len = kind == ENCAP_ANY ? sa->ddd_len : 0;
	const uint32_t block_mask = kind == ENCAP_CBC16 ? 15
				    : kind == ENCAP_GCM ? 3
							: sa->block_mask;
	/* Bytes put in front of the inner packet. */
	const uint32_t hdr =
	    sizeof(struct rte_ipv4_hdr) + sizeof(struct esp_hdr) + iv_len + ddd_len;
	struct rte_ipv4_hdr *in, *out;
	uint32_t ilen, ihl, clen, pad, tail, src, dst;
	rte_be16_t vtos, tlen, id, frag, ttlp;
	uint8_t *start;

	if (m->nb_segs != 1)
		return GVPN_ESP_DROP_CHAINED + 1;
	if (m->data_len < l2 + sizeof(*in))
		return GVPN_ESP_DROP_BAD_INNER + 1;
	in = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l2);
	ihl = (in->version_ihl & 0xf) * 4u;
	ilen = rte_be_to_cpu_16(in->total_length);
	if ((in->version_ihl >> 4) != 4 || ihl < sizeof(*in) || ilen < ihl ||
	    ilen > m->data_len - l2)
		return GVPN_ESP_DROP_BAD_INNER + 1;
	clen = (ddd_len + ilen + 2 + block_mask) & ~block_mask;
	pad = clen - ddd_len - ilen - 2;
	tail = pad + 2 + r->icv_len;
	/* Link-layer padding of short frames is not part of the packet: the
	 * frame becomes link header | hdr | inner packet | tail in one step. */
	if (unlikely(rte_pktmbuf_headroom(m) < hdr ||
		     (uint32_t)m->data_off + l2 + ilen + tail > m->buf_len))
		return GVPN_ESP_DROP_NO_ROOM + 1;
	m->data_off -= (uint16_t)hdr;
	m->data_len = (uint16_t)(l2 + hdr + ilen + tail);
	m->pkt_len = m->data_len;
	start = rte_pktmbuf_mtod(m, uint8_t *);
	link_make_room(start, hdr, l2);

	out = (struct rte_ipv4_hdr *)(start + l2);
	in = (struct rte_ipv4_hdr *)(start + l2 + hdr);
	/* The outer header's words are made in registers and its checksum
	 * summed from them: reading back what was just stored, in other
	 * widths, would stall on store forwarding. */
	vtos = rte_cpu_to_be_16((uint16_t)(RTE_IPV4_VHL_DEF << 8 | in->type_of_service));
	tlen = rte_cpu_to_be_16((uint16_t)(hdr + ilen + tail));
	id = rte_cpu_to_be_16(r->ip_id++);
	frag = (in->fragment_offset & r->df_keep) | r->df_set;
	ttlp = rte_cpu_to_be_16(
	    (uint16_t)((r->ttl != 0 ? r->ttl : in->time_to_live) << 8 | GVPN_IPPROTO_ESP));
	src = in->src_addr;
	dst = in->dst_addr;
	memcpy(&out->version_ihl, &vtos, sizeof(vtos));
	out->total_length = tlen;
	out->packet_id = id;
	out->fragment_offset = frag;
	memcpy(&out->time_to_live, &ttlp, sizeof(ttlp));
	out->src_addr = src;
	out->dst_addr = dst;
	out->hdr_checksum = cksum_fold((uint64_t)vtos + tlen + id + frag + ttlp + src + dst);
	return esp_encap_tail(lc, st, r, m, op, kind, sizeof(*out), (struct esp_hdr *)(out + 1),
			      ilen, clen, pad, tail);
}

/* As esp_encap_one(), for an IPv6 SA: the inner packet is IPv6, and so is
 * the outer header. */
static inline __attribute__((always_inline)) int
esp_encap_one6(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st, struct encap_run *r,
	       struct rte_mbuf *m, struct gvpn_crypto_op *op, const enum encap_kind kind)
{
	const struct gvpn_esp_sa *sa = r->sa;
	const uint32_t l2 = m->l2_len;
	const uint32_t iv_len = kind == ENCAP_CBC16 ? 16 : kind == ENCAP_GCM ? 8 : sa->iv_len;
	const uint32_t ddd_len = kind == ENCAP_ANY ? sa->ddd_len : 0;
	const uint32_t block_mask = kind == ENCAP_CBC16 ? 15
				    : kind == ENCAP_GCM ? 3
							: sa->block_mask;
	/* Bytes put in front of the inner packet. */
	const uint32_t hdr =
	    sizeof(struct rte_ipv6_hdr) + sizeof(struct esp_hdr) + iv_len + ddd_len;
	const struct rte_ipv6_hdr *in;
	struct rte_ipv6_hdr *out;
	uint32_t ilen, clen, pad, tail;
	uint8_t *start, hops;
	rte_be32_t vtc_flow;

	if (m->nb_segs != 1)
		return GVPN_ESP_DROP_CHAINED + 1;
	if (m->data_len < l2 + sizeof(*in))
		return GVPN_ESP_DROP_BAD_INNER + 1;
	in = rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, l2);
	/* A payload length of 0 is taken as it says: a jumbogram (RFC 2675)
	 * cannot be in an mbuf. */
	ilen = sizeof(*in) + rte_be_to_cpu_16(in->payload_len);
	if ((*(const uint8_t *)in >> 4) != 6 || ilen > m->data_len - l2)
		return GVPN_ESP_DROP_BAD_INNER + 1;
	clen = (ddd_len + ilen + 2 + block_mask) & ~block_mask;
	pad = clen - ddd_len - ilen - 2;
	tail = pad + 2 + r->icv_len;
	if (unlikely(rte_pktmbuf_headroom(m) < hdr ||
		     (uint32_t)m->data_off + l2 + ilen + tail > m->buf_len))
		return GVPN_ESP_DROP_NO_ROOM + 1;
	m->data_off -= (uint16_t)hdr;
	m->data_len = (uint16_t)(l2 + hdr + ilen + tail);
	m->pkt_len = m->data_len;
	start = rte_pktmbuf_mtod(m, uint8_t *);
	/* The link header (VLAN tags and all) moves as for IPv4. */
	link_make_room(start, hdr, l2);

	/* Outer header: the inner version, traffic class (DSCP and ECN, RFC
	 * 6040 normal mode) and flow label word as it is, the hop limit per
	 * the SA, next header ESP, the inner addresses (address
	 * preservation). No checksum, no ID, no DF: IPv6 has none. */
	out = (struct rte_ipv6_hdr *)(start + l2);
	in = (const struct rte_ipv6_hdr *)(start + l2 + hdr);
	vtc_flow = in->vtc_flow;
	hops = r->ttl != 0 ? r->ttl : in->hop_limits;
	/* out ends before in starts: hdr > 40 */
	memcpy(out->src_addr, in->src_addr, sizeof(out->src_addr));
	memcpy(out->dst_addr, in->dst_addr, sizeof(out->dst_addr));
	out->vtc_flow = vtc_flow;
	out->payload_len = rte_cpu_to_be_16((uint16_t)(hdr - sizeof(*out) + ilen + tail));
	out->proto = GVPN_IPPROTO_ESP;
	out->hop_limits = hops;
	return esp_encap_tail(lc, st, r, m, op, kind, sizeof(*out), (struct esp_hdr *)(out + 1),
			      ilen, clen, pad, tail);
}

/* Encapsulate pkts[first, end), which all use @p st, into b's operations. */
static inline __attribute__((always_inline)) void
esp_encap_run(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st, struct rte_mbuf *pkts[],
	      uint16_t first, uint16_t end, struct esp_burst *b, const enum encap_kind kind,
	      const int v6)
{
	const struct gvpn_esp_sa *sa = st->sa;
	struct encap_run r = {
	    .sa = sa,
	    .sess = sa->sess,
	    .spi = sa->spi,
	    .df_keep = sa->df_keep,
	    .df_set = sa->df_set,
	    .ttl = sa->ttl,
	    .next_hdr = sa->next_hdr,
	    .icv_len = sa->icv_len,
	    .seq = st->seq,
	    .iv_ctr = st->iv_ctr,
	    .ip_id = lc->ip_id,
	    .rng_pos = lc->rng.pos,
	    .bytes = 0,
	};
	uint16_t nb_op = b->nb_op, done;

	/* Each packet takes one IV, built or not: none is ever repeated. */
	if (unlikely(st->iv_left < (uint64_t)(end - first))) {
		for (uint16_t i = first + (uint16_t)st->iv_left; i < end; i++)
			esp_drop(lc, b, pkts[i], st, GVPN_ESP_DROP_IV_EXHAUSTED);
		end = first + (uint16_t)st->iv_left;
	}
	st->iv_left -= end - first;
	for (uint16_t i = first; i < end; i++) {
		int why = v6 ? esp_encap_one6(lc, st, &r, pkts[i], &lc->ops[nb_op], kind)
			     : esp_encap_one(lc, st, &r, pkts[i], &lc->ops[nb_op], kind);

		if (unlikely(why != 0))
			esp_drop(lc, b, pkts[i], st, (enum gvpn_esp_drop)(why - 1));
		else
			b->op_pkt[nb_op++] = i;
	}
	done = nb_op - b->nb_op;
	b->nb_op = nb_op;
	st->seq = r.seq;
	if (kind == ENCAP_GCM)
		st->iv_ctr = r.iv_ctr;
	if (kind == ENCAP_CBC16)
		lc->rng.pos = r.rng_pos;
	if (!v6)
		lc->ip_id = r.ip_id;
	st->enc_pkts += done;
	st->enc_bytes += r.bytes;
}

/* One instance per kind and family. */
#define ENCAP_INSTANCE(name, kind, v6)                                                             \
	static void name(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st,                  \
			 struct rte_mbuf *pkts[], uint16_t first, uint16_t end,                    \
			 struct esp_burst *b)                                                      \
	{                                                                                          \
		esp_encap_run(lc, st, pkts, first, end, b, kind, v6);                              \
	}
ENCAP_INSTANCE(encap_any, ENCAP_ANY, 0)
ENCAP_INSTANCE(encap_cbc16, ENCAP_CBC16, 0)
ENCAP_INSTANCE(encap_gcm, ENCAP_GCM, 0)
ENCAP_INSTANCE(encap_any6, ENCAP_ANY, 1)
ENCAP_INSTANCE(encap_cbc16_6, ENCAP_CBC16, 1)
ENCAP_INSTANCE(encap_gcm6, ENCAP_GCM, 1)
#undef ENCAP_INSTANCE

esp_encap_fn
esp_encap_select(const struct gvpn_esp_sa *sa)
{
	const int v6 = sa->af == GVPN_AF_IPV6;

	if (sa->ddd_len != 0)
		return v6 ? encap_any6 : encap_any;
	if (sa->cipher == GVPN_CIPHER_AES_CBC && sa->iv_len == 16 && sa->block_mask == 15)
		return v6 ? encap_cbc16_6 : encap_cbc16;
	if (gvpn_cipher_is_counter(sa->cipher) && sa->iv_len == 8 && sa->block_mask == 3)
		return v6 ? encap_gcm6 : encap_gcm;
	return v6 ? encap_any6 : encap_any;
}

uint16_t
gvpn_esp_encrypt_burst(struct gvpn_esp_lcore *lc, struct gvpn_esp_sa_state *st[],
		       struct rte_mbuf *pkts[], uint16_t n)
{
	struct esp_burst b;
	uint16_t good;

	RTE_ASSERT(n <= GVPN_ESP_BURST_MAX);
	b.nb_op = 0;
	b.nb_bad = 0;
	b.nb_good = 0;
	/* Runs of packets of one SA, each through the SA's encapsulation. */
	for (uint16_t i = 0, end; i < n; i = end) {
		for (end = i + 1; end < n && st[end] == st[i]; end++)
			;
		st[i]->sa->encap(lc, st[i], pkts, i, end, &b);
	}
	good = lc->backend->process(lc->engine, lc->ops, lc->status, b.nb_op, 0);
	if (likely(b.nb_bad == 0 && good == n))
		return n; /* every packet, in its place */
	for (uint16_t k = 0; k < b.nb_op; k++) {
		struct rte_mbuf *m = pkts[b.op_pkt[k]];

		if (lc->status[k] == GVPN_CRYPTO_OK)
			esp_keep(&b, m, st[b.op_pkt[k]]);
		else
			esp_drop(lc, &b, m, st[b.op_pkt[k]], GVPN_ESP_DROP_CRYPTO);
	}
	return esp_finish(pkts, st, &b);
}
