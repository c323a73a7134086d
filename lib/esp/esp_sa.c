/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "esp_private.h"

#define DROP_NAME(n, id, s) [GVPN_ESP_DROP_##n] = s,
static const char *const drop_names[] = {GVPN_ESP_DROP_LIST(DROP_NAME)};
#define DROP_ID(n, id, s) [GVPN_ESP_DROP_##n] = id,
static const char *const drop_ids[] = {GVPN_ESP_DROP_LIST(DROP_ID)};

const char *
gvpn_esp_drop_name(enum gvpn_esp_drop d)
{
	return (unsigned int)d < GVPN_ESP_DROP_MAX ? drop_names[d] : "?";
}

const char *
gvpn_esp_drop_id(enum gvpn_esp_drop d)
{
	return (unsigned int)d < GVPN_ESP_DROP_MAX ? drop_ids[d] : "?";
}

struct gvpn_esp_lcore *
gvpn_esp_lcore_create(const struct gvpn_crypto_ops *backend, int socket, const uint8_t *seed)
{
	struct gvpn_esp_lcore *lc;
	int rc;

	lc = rte_zmalloc_socket("gvpn_esp_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE, socket);
	if (lc == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	lc->backend = backend;
	lc->engine = backend->engine_create();
	if (lc->engine == NULL) {
		rte_errno = errno != 0 ? errno : ENOMEM;
		rte_free(lc);
		return NULL;
	}
	rc = gvpn_rng_init(&lc->rng, seed);
	if (rc != 0) {
		backend->engine_free(lc->engine);
		rte_free(lc);
		rte_errno = -rc;
		return NULL;
	}
	gvpn_rng_bytes(&lc->rng, &lc->ip_id, sizeof(lc->ip_id));
	return lc;
}

void
gvpn_esp_lcore_free(struct gvpn_esp_lcore *lc)
{
	if (lc == NULL)
		return;
	lc->backend->engine_free(lc->engine);
	gvpn_rng_fini(&lc->rng);
	rte_free(lc);
}

/* CBC: an unpredictable IV per packet (RFC 3602 section 3). */
static void
iv_random(struct gvpn_esp_sa_state *st, struct gvpn_rng *rng, uint8_t *iv)
{
	gvpn_rng_bytes(rng, iv, st->sa->iv_len);
}

/* The same bytes as iv_random() for the 16-byte IV of AES-CBC, in one
 * fixed-size copy out of the generator's buffer. */
static void
iv_random16(struct gvpn_esp_sa_state *st, struct gvpn_rng *rng, uint8_t *iv)
{
	RTE_SET_USED(st);
	if (unlikely(rng->pos + 16 > GVPN_RNG_BUF))
		gvpn_rng_refill(rng);
	memcpy(iv, rng->buf + rng->pos, 16);
	rng->pos += 16;
}

/*
 * GCM and GMAC: the IV must never repeat under one key (RFC 4106 section
 * 3.1, RFC 4543 section 3.1). A
 * group SA's senders each count in a space of their own, named by the
 * Sender-ID the key server gave the member and the lcore's index in it
 * (RFC 6054 section 3, gvpn_esp_sa_state_iv()). Without one (static SAs) a
 * counter from a random 64-bit start per lcore gives uniqueness within an
 * lcore and makes overlap between lcores and members improbable (ranges,
 * not single values, would have to collide).
 */
static void
iv_counter(struct gvpn_esp_sa_state *st, struct gvpn_rng *rng, uint8_t *iv)
{
	uint64_t v = rte_cpu_to_be_64(st->iv_ctr++);

	RTE_SET_USED(rng);
	memcpy(iv, &v, sizeof(v));
}

int
gvpn_esp_sa_conf_check(const struct gvpn_esp_sa_conf *conf)
{
	/* SPIs 1-255 are reserved by IANA, 0 means none (RFC 4303 2.1). */
	if (conf->spi < 256)
		return -EINVAL;
	if ((unsigned int)conf->df > GVPN_DF_COPY)
		return -EINVAL;
	/* One family: GVPN_AF_ANY names no outer header to build. */
	if (conf->af != GVPN_AF_IPV4 && conf->af != GVPN_AF_IPV6)
		return -EINVAL;
	return gvpn_xform_check(&conf->xform);
}

struct gvpn_esp_sa *
gvpn_esp_sa_create(struct gvpn_esp_lcore *lc, const struct gvpn_esp_sa_conf *conf, int socket)
{
	const struct gvpn_crypto_ops *be = lc->backend;
	size_t head = RTE_ALIGN_CEIL(sizeof(struct gvpn_esp_sa), 64);
	struct gvpn_esp_sa *sa;
	int rc;

	if (gvpn_esp_sa_conf_check(conf) != 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	/* Key memory: the session holds the expanded keys (an AES key
	 * schedule begins with the key itself) and must stay out of core
	 * dumps. It is not NUMA-placed: one SA is read-only and small. */
	RTE_SET_USED(socket);
	sa = gvpn_keymem_alloc(head + be->session_size);
	if (sa == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	sa->sess = (uint8_t *)sa + head;
	rc = be->session_init(lc->engine, sa->sess, &conf->xform);
	if (rc != 0) {
		be->session_clear(sa->sess);
		gvpn_keymem_free(sa);
		rte_errno = -rc;
		return NULL;
	}
	sa->backend = be;
	sa->spi = rte_cpu_to_be_32(conf->spi);
	sa->cipher = conf->xform.cipher;
	sa->auth = conf->xform.auth;
	sa->cipher_key_len = conf->xform.cipher_key_len;
	sa->iv_len = (uint8_t)gvpn_cipher_iv_len(conf->xform.cipher);
	sa->icv_len = (uint8_t)gvpn_xform_icv_len(&conf->xform);
	sa->block_mask = (uint8_t)(gvpn_cipher_block(conf->xform.cipher) - 1);
	sa->esp_ovh = (uint8_t)(sizeof(struct esp_hdr) + sa->iv_len + sa->icv_len);
	sa->esp_min = (uint8_t)(sa->esp_ovh + sa->block_mask + 1u);
	sa->ttl = conf->ttl;
	sa->af = conf->af;
	sa->inner_nh = conf->af == GVPN_AF_IPV6 ? ESP_NH_IPV6 : ESP_NH_IPV4;
	sa->df_keep = conf->df == GVPN_DF_COPY ? rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG) : 0;
	sa->df_set = conf->df == GVPN_DF_SET ? rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG) : 0;
	if (gvpn_cipher_is_counter(conf->xform.cipher))
		sa->gen_iv = iv_counter;
	else if (sa->iv_len == 16)
		sa->gen_iv = iv_random16;
	else
		sa->gen_iv = iv_random;
	rc = esp_ddd_setup(sa, conf);
	if (rc != 0) {
		gvpn_esp_sa_free(sa);
		rte_errno = -rc;
		return NULL;
	}
	sa->encap = esp_encap_select(sa);
	esp_decap_select(sa);
	return sa;
}

void
gvpn_esp_sa_free(struct gvpn_esp_sa *sa)
{
	if (sa == NULL)
		return;
	sa->backend->session_clear(sa->sess);
	gvpn_keymem_free(sa);
}

void
gvpn_esp_sa_state_init(struct gvpn_esp_sa_state *st, const struct gvpn_esp_sa *sa,
		       struct gvpn_esp_lcore *lc)
{
	memset(st, 0, sizeof(*st));
	st->sa = sa;
	gvpn_rng_bytes(&lc->rng, &st->iv_ctr, sizeof(st->iv_ctr));
	st->iv_left = UINT64_MAX;
}

int
gvpn_esp_sa_counter_iv(const struct gvpn_esp_sa *sa)
{
	return sa->gen_iv == iv_counter;
}

void
gvpn_esp_sa_state_iv(struct gvpn_esp_sa_state *st, uint64_t base, uint64_t count)
{
	st->iv_ctr = base;
	st->iv_left = count;
	st->iv_space = 1;
}
