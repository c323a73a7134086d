/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef ESP_PRIVATE_H
#define ESP_PRIVATE_H

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "gvpn_esp.h"

/** ESP header (RFC 4303 section 2). */
struct esp_hdr {
	rte_be32_t spi;
	rte_be32_t seq;
} __rte_packed;

/** Next Header value of an IPv4 inner packet in tunnel mode. */
#define ESP_NH_IPV4 4
/** Next Header value of an IPv6 inner packet in tunnel mode. */
#define ESP_NH_IPV6 41
/** Next Header value of a dummy packet (RFC 4303 section 2.6). */
#define ESP_NH_DUMMY 59

/*
 * Delivery delay detection (R23), esp_ddd.c: the only code that knows the
 * stamp's format (doc/esp.md). ESP_NH_DDD announces a stamp in front of the
 * inner packet; ESP_DDD_LEN is its size.
 */
#define ESP_NH_DDD 253
#define ESP_DDD_LEN 12

/** Fill the SA's delay-detection fields (stamp length, next header, hooks)
 *  from @p conf and sa->inner_nh, syncing the stamp clock when the window
 *  is non-zero. Returns 0, or -EIO when there is no clock to stamp with. */
int esp_ddd_setup(struct gvpn_esp_sa *sa, const struct gvpn_esp_sa_conf *conf);

/**
 * Work list of one burst: packets that go on to crypto (with the index of
 * their mbuf) and packets already dropped.
 */
struct esp_burst {
	uint16_t nb_op;
	uint16_t nb_bad;
	uint16_t nb_good;
	uint16_t op_pkt[GVPN_ESP_BURST_MAX];
	struct rte_mbuf *bad[GVPN_ESP_BURST_MAX];
	struct gvpn_esp_sa_state *bad_st[GVPN_ESP_BURST_MAX];
	struct rte_mbuf *good[GVPN_ESP_BURST_MAX];
	struct gvpn_esp_sa_state *good_st[GVPN_ESP_BURST_MAX];
};

/** Choose the encapsulation instance that fits @p sa (esp_encrypt.c):
 *  after esp_ddd_setup(). */
esp_encap_fn esp_encap_select(const struct gvpn_esp_sa *sa);

/** Set @p sa's decapsulation instances for its family (esp_decrypt.c). */
void esp_decap_select(struct gvpn_esp_sa *sa);

static inline void
esp_drop(struct gvpn_esp_lcore *lc, struct esp_burst *b, struct rte_mbuf *m,
	 struct gvpn_esp_sa_state *st, enum gvpn_esp_drop why)
{
	lc->stats.drop[why]++;
	st->drops.drop[why]++;
	b->bad_st[b->nb_bad] = st;
	b->bad[b->nb_bad++] = m;
}

/* The crypto operation of the ESP packet at @p esp, either way: ESP header,
 * @p iv_len bytes of IV, @p clen bytes to cipher, then the ICV; the ESP
 * header, IV and ciphertext are authenticated. */
static inline __attribute__((always_inline)) void
esp_op_fill(struct gvpn_crypto_op *op, const void *sess, struct esp_hdr *esp, uint32_t iv_len,
	    uint32_t clen)
{
	uint8_t *payload = (uint8_t *)(esp + 1) + iv_len;

	op->sess = sess;
	op->iv = (const uint8_t *)(esp + 1);
	op->auth = (const uint8_t *)esp;
	op->auth_len = (uint32_t)sizeof(*esp) + iv_len + clen;
	op->data = payload;
	op->data_len = clen;
	op->icv = payload + clen;
}

static inline void
esp_keep(struct esp_burst *b, struct rte_mbuf *m, struct gvpn_esp_sa_state *st)
{
	b->good_st[b->nb_good] = st;
	b->good[b->nb_good++] = m;
}

/** Good packets (and their states) to the front, the dropped ones after.
 *  With no packet dropped, the good ones are pkts[] in its order already. */
static inline uint16_t
esp_finish(struct rte_mbuf *pkts[], struct gvpn_esp_sa_state *st[], const struct esp_burst *b)
{
	if (likely(b->nb_bad == 0))
		return b->nb_good;
	for (uint16_t i = 0; i < b->nb_good; i++) {
		pkts[i] = b->good[i];
		st[i] = b->good_st[i];
	}
	for (uint16_t i = 0; i < b->nb_bad; i++) {
		pkts[b->nb_good + i] = b->bad[i];
		st[b->nb_good + i] = b->bad_st[i];
	}
	return b->nb_good;
}

#endif /* ESP_PRIVATE_H */
