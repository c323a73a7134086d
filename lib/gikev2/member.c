/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The G-IKEv2 group member (draft-ietf-ipsecme-g-ikev2-23): registration
 * (GSA_AUTH, GSA_REGISTRATION, 2.3), the policy and keys it brings (4.4,
 * 4.5, 3.4-3.5), rekeys pushed by the GCKS (GSA_REKEY 2.4.1 with its
 * authentication 2.4.1.1 and replay protection 2.4.1.4; GSA_INBAND_REKEY
 * 2.4.2) and deletions (2.4.3). What is learnt goes upward in lib/gdoi's
 * structures through struct gikev2_ops.
 *
 * A received policy is built whole in scratch state (a gdoi_policy in key
 * memory, the unwrapped keys on the stack) and committed only once every
 * part of it checked out; anything refused leaves the member as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "gvpn_common.h"
#include "gvpn_gikev2.h"
#include "ikev2_private.h"

#define KW_LABEL "Key Wrap for G-IKEv2" /* 2.5.1.1: 20 octets, no NUL */

#define REKEY_OUTER_SCRIPT(X) X(SK, 1, 1)
#define REKEY_INNER_SCRIPT(X)                                                                      \
	X(GSA, 0, 1) X(KD, 0, 1) X(DELETE, 0, 16) X(NOTIFY, 0, 32) X(AUTH, 0, 1) X(VENDOR, 0, 16)
IKEV2_SCRIPT(rekey_outer_script, "GSA_REKEY", REKEY_OUTER_SCRIPT);
IKEV2_SCRIPT(rekey_inner_script, "GSA_REKEY protected payloads", REKEY_INNER_SCRIPT);

static const char *const state_names[] = {"idle",	"init_sent", "auth_sent", "reg_sent",
					  "registered", "excluded",  "failed"};

const char *
gikev2_state_name(enum gikev2_state s)
{
	return (unsigned int)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s]
									      : "?";
}

static void
set_state(struct gikev2_member *m, enum gikev2_state s, const char *error)
{
	m->state = s;
	if (error != NULL)
		snprintf(m->last_error, sizeof(m->last_error), "%s", error);
	if (m->ops.state != NULL)
		m->ops.state(m->ops.ctx, s, error);
}

/* SAg (2.3.2, 4.3): what this member takes, one proposal per protocol,
 * all numbered 1 (no dependency between them). */
static void
put_xf(struct ikev2_buf *b, int last, uint8_t type, uint16_t id, uint16_t key_bits)
{
	size_t off = b->len;

	ikev2_buf_put8(b, last ? 0 : 3);
	ikev2_buf_put8(b, 0);
	ikev2_buf_put16(b, 0);
	ikev2_buf_put8(b, type);
	ikev2_buf_put8(b, 0);
	ikev2_buf_put16(b, id);
	if (key_bits != 0) {
		ikev2_buf_put16(b, 0x8000 | IKEV2_ATTR_KEY_LENGTH);
		ikev2_buf_put16(b, key_bits);
	}
	ikev2_buf_end(b, off);
}

struct xf {
	uint8_t type;
	uint16_t id, bits;
};

static const struct xf sag_esp[] = {
    {IKEV2_TT_ENCR, IKEV2_ENCR_AES_CBC, 128},
    {IKEV2_TT_ENCR, IKEV2_ENCR_AES_CBC, 256},
    {IKEV2_TT_ENCR, IKEV2_ENCR_AES_GCM_16, 128},
    {IKEV2_TT_ENCR, IKEV2_ENCR_AES_GCM_16, 256},
    {IKEV2_TT_ENCR, GIKEV2_ENCR_NULL_AUTH_AES_GMAC, 128},
    {IKEV2_TT_INTEG, IKEV2_INTEG_HMAC_SHA2_256_128, 0},
    {IKEV2_TT_INTEG, IKEV2_INTEG_HMAC_SHA2_384_192, 0},
    {IKEV2_TT_INTEG, IKEV2_INTEG_HMAC_SHA2_512_256, 0},
    {IKEV2_TT_ESN, GIKEV2_SN_32BIT_SEQUENTIAL, 0},
    {IKEV2_TT_ESN, GIKEV2_SN_32BIT_UNSPECIFIED, 0},
};
static const struct xf sag_rekey[] = {
    {IKEV2_TT_ENCR, IKEV2_ENCR_AES_CBC, 128},
    {IKEV2_TT_ENCR, IKEV2_ENCR_AES_CBC, 256},
    {IKEV2_TT_ENCR, IKEV2_ENCR_AES_GCM_16, 128},
    {IKEV2_TT_ENCR, IKEV2_ENCR_AES_GCM_16, 256},
    {IKEV2_TT_INTEG, IKEV2_INTEG_HMAC_SHA2_256_128, 0},
    {IKEV2_TT_INTEG, IKEV2_INTEG_HMAC_SHA2_384_192, 0},
    {IKEV2_TT_INTEG, IKEV2_INTEG_HMAC_SHA2_512_256, 0},
    {IKEV2_TT_KWA, IKEV2_KWA_5649_128, 0},
    {IKEV2_TT_KWA, IKEV2_KWA_5649_256, 0},
    {IKEV2_TT_GCAUTH, GIKEV2_GCAUTH_DIGITAL_SIGNATURE, 0},
};

static void
put_sag_proposal(struct ikev2_buf *b, int last, uint8_t proto, const struct xf *x, unsigned int n,
		 int implicit)
{
	size_t off = b->len;
	unsigned int nt = n + (implicit ? 1u : 0u), k = 0;

	ikev2_buf_put8(b, last ? 0 : 2);
	ikev2_buf_put8(b, 0);
	ikev2_buf_put16(b, 0);
	ikev2_buf_put8(b, 1); /* proposal number: one set */
	ikev2_buf_put8(b, proto);
	ikev2_buf_put8(b, 0); /* no SPI in SAg */
	ikev2_buf_put8(b, (uint8_t)nt);
	for (unsigned int i = 0; i < n; i++)
		put_xf(b, ++k == nt, x[i].type, x[i].id, x[i].bits);
	if (implicit)
		put_xf(b, 1, IKEV2_TT_GCAUTH, GIKEV2_GCAUTH_IMPLICIT, 0);
	ikev2_buf_end(b, off);
}

/* IDg, [SAg,] [N(GROUP_SENDER)] */
static int
group_payloads(struct gikev2_member *m, struct ikev2_buf *b, int sag)
{
	size_t off = ikev2_buf_begin(b, IKEV2_P_IDG);

	ikev2_buf_put8(b, m->conf.group.type);
	ikev2_buf_put8(b, 0);
	ikev2_buf_put16(b, 0);
	ikev2_buf_put(b, m->conf.group.data, m->conf.group.len);
	ikev2_buf_end(b, off);
	if (sag) {
		off = ikev2_buf_begin(b, IKEV2_P_SA);
		put_sag_proposal(b, 0, IKEV2_PROTO_GIKE_UPDATE, sag_rekey,
				 sizeof(sag_rekey) / sizeof(sag_rekey[0]), m->conf.allow_implicit);
		put_sag_proposal(b, 1, IKEV2_PROTO_ESP, sag_esp,
				 sizeof(sag_esp) / sizeof(sag_esp[0]), 0);
		ikev2_buf_end(b, off);
	}
	if (m->conf.sender_ids != 0) {
		off = ikev2_buf_begin(b, IKEV2_P_NOTIFY);
		ikev2_buf_put8(b, 0);
		ikev2_buf_put8(b, 0);
		ikev2_buf_put16(b, IKEV2_N_GROUP_SENDER);
		ikev2_buf_put32(b, m->conf.sender_ids);
		ikev2_buf_end(b, off);
	}
	return b->overflow ? -ENOSPC : 0;
}

static int
auth_group_payloads(void *ctx, struct ikev2_buf *b)
{
	return group_payloads(ctx, b, 1);
}

int
gikev2_member_init(struct gikev2_member *m, const struct gikev2_conf *conf,
		   const struct gikev2_ops *ops)
{
	if (conf->group.len == 0 || conf->group.type == 0)
		return -EINVAL;
	for (unsigned int i = 0; i < conf->ike.n_props; i++)
		if (conf->ike.props[i].n_kwa == 0)
			return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->conf = *conf;
	m->conf.ike.auth_exchange = IKEV2_EXCH_GSA_AUTH;
	m->conf.ike.group_payloads = auth_group_payloads;
	m->conf.ike.group_ctx = m;
	m->ops = *ops;
	return 0;
}

const uint8_t *
gikev2_out(const struct gikev2_member *m, size_t *len)
{
	*len = m->out_len;
	return m->out_len != 0 ? m->out : NULL;
}

const uint8_t *
gikev2_request(const struct gikev2_member *m, size_t *len)
{
	return ikev2_request(&m->ike, len);
}

static void
out_request(struct gikev2_member *m)
{
	m->out = ikev2_request(&m->ike, &m->out_len);
}

int
gikev2_register(struct gikev2_member *m)
{
	int rc;

	m->out_len = 0;
	m->notify = 0;
	if (m->ike_up && m->ike.state == IKEV2_ESTABLISHED) {
		uint8_t chain[1024];
		struct ikev2_buf b;

		ikev2_buf_chain(&b, chain, sizeof(chain));
		if ((rc = group_payloads(m, &b, 1)) != 0)
			return rc;
		rc = ikev2_request_build(&m->ike, IKEV2_EXCH_GSA_REGISTRATION, ikev2_buf_first(&b),
					 chain, b.len);
		if (rc != 0)
			return rc;
		out_request(m);
		set_state(m, GIKEV2_REG_SENT, NULL);
		return 0;
	}
	if (m->ike.state == IKEV2_INIT_SENT || m->ike.state == IKEV2_AUTH_SENT)
		return -EBUSY;
	ikev2_sa_clear(&m->ike);
	m->ike_up = 0;
	if ((rc = ikev2_start(&m->ike, &m->conf.ike)) != 0)
		return rc;
	out_request(m);
	set_state(m, GIKEV2_INIT_SENT, NULL);
	return 0;
}

int
gikev2_leave(struct gikev2_member *m, uint16_t notify)
{
	uint8_t chain[512];
	struct ikev2_buf b;
	size_t off;
	int rc;

	if (!m->ike_up || m->ike.state != IKEV2_ESTABLISHED)
		return -ENOTCONN;
	ikev2_buf_chain(&b, chain, sizeof(chain));
	off = ikev2_buf_begin(&b, IKEV2_P_IDG);
	ikev2_buf_put8(&b, m->conf.group.type);
	ikev2_buf_put8(&b, 0);
	ikev2_buf_put16(&b, 0);
	ikev2_buf_put(&b, m->conf.group.data, m->conf.group.len);
	ikev2_buf_end(&b, off);
	off = ikev2_buf_begin(&b, IKEV2_P_NOTIFY);
	ikev2_buf_put8(&b, 0);
	ikev2_buf_put8(&b, 0);
	ikev2_buf_put16(&b, notify);
	ikev2_buf_end(&b, off);
	rc = ikev2_request_build(&m->ike, IKEV2_EXCH_GSA_REGISTRATION, ikev2_buf_first(&b), chain,
				 b.len);
	if (rc == 0) {
		m->leaving = 1;
		out_request(m);
	}
	return rc;
}

/* --- keys --- */

/* The IKE SA's GSK_w = prf+(SK_d, "Key Wrap for G-IKEv2") (2.5.1.1). */
static int
ike_gsk_w(const struct ikev2_sa *sa, struct gikev2_kwk *k)
{
	const struct ikev2_hash_alg *prf = ikev2_prf_alg(sa->chosen.prf);
	struct ikev2_chunk c = {KW_LABEL, strlen(KW_LABEL)};

	memset(k, 0, sizeof(*k));
	k->alg = (uint8_t)sa->chosen.kwa;
	k->len = (uint8_t)gikev2_kwa_key_len(sa->chosen.kwa);
	if (prf == NULL || k->len == 0)
		return -EIO;
	return ikev2_prf_plus(prf, sa->sk_d, sa->prf_len, &c, 1, k->key, k->len);
}

/* Key wrap keys known while a message is read: the default one (ID 0) and
 * the working key path, with what this message adds. */
struct keyring {
	uint8_t n;
	struct gikev2_kwk k[GIKEV2_MAX_WRAP_KEYS + 1];
};

static const struct gikev2_kwk *
ring_find(const struct keyring *r, uint32_t id)
{
	for (unsigned int i = 0; i < r->n; i++)
		if (r->k[i].id == id)
			return &r->k[i];
	return NULL;
}

/* WRAP_KEYs of a KD: each under a key already known, in any order; a new
 * key replaces the one of its ID (the working key path, 2.5.2). The
 * algorithm of every KWK is the SA's key wrap algorithm. */
static int
ring_add_wraps(struct keyring *r, const struct gikev2_kd *kd, uint8_t alg, const char **why)
{
	uint32_t done = 0;
	int progress = 1;

	while (progress) {
		progress = 0;
		for (unsigned int i = 0; i < kd->n_wrap; i++) {
			const struct gikev2_kwk *kwk;
			struct gikev2_kwk nk = {.id = kd->wrap[i].key_id, .alg = alg};
			uint8_t key[GIKEV2_KEY_MAX];
			struct gikev2_kwk *slot = NULL;
			int n;

			if ((done & 1u << i) || (kwk = ring_find(r, kd->wrap[i].kwk_id)) == NULL)
				continue;
			n = gikev2_unwrap(kwk, &kd->wrap[i], key, sizeof(key));
			if (n < 0 || (unsigned int)n != gikev2_kwa_key_len(alg)) {
				gvpn_wipe(key, sizeof(key));
				*why =
				    "a WRAP_KEY does not unwrap to a key of the key wrap algorithm";
				return -EACCES;
			}
			nk.len = (uint8_t)n;
			memcpy(nk.key, key, (size_t)n);
			gvpn_wipe(key, sizeof(key));
			for (unsigned int k = 1; k < r->n; k++)
				if (r->k[k].id == nk.id)
					slot = &r->k[k];
			if (slot == NULL) {
				if (r->n == GIKEV2_MAX_WRAP_KEYS + 1) {
					gvpn_wipe(&nk, sizeof(nk));
					*why = "too many wrap keys";
					return -EACCES;
				}
				slot = &r->k[r->n++];
			}
			*slot = nk;
			gvpn_wipe(&nk, sizeof(nk));
			done |= 1u << i;
			progress = 1;
		}
	}
	return 0;
}

/* The SA keys of a group key bag: the first SA_KEY a known key unwraps. */
static int
bag_keys(const struct keyring *r, const struct gikev2_group_bag *g, uint8_t *out, size_t room)
{
	int rc = -ENOKEY;

	for (unsigned int i = 0; i < g->n_sa_keys; i++) {
		const struct gikev2_kwk *kwk = ring_find(r, g->sa_key[i].kwk_id);

		if (kwk == NULL)
			continue;
		rc = gikev2_unwrap(kwk, &g->sa_key[i], out, room);
		if (rc >= 0)
			return rc;
	}
	return rc;
}

static const struct gikev2_group_bag *
bag_for(const struct gikev2_kd *kd, const struct gikev2_gsa_policy *p)
{
	for (unsigned int i = 0; i < kd->n_group; i++)
		if (kd->group[i].proto == p->proto && kd->group[i].spi_len == p->spi_len &&
		    memcmp(kd->group[i].spi, p->spi, p->spi_len) == 0)
			return &kd->group[i];
	return NULL;
}

/* --- policy --- */

/* An ESP policy and its KEYMAT as a GDOI TEK (encryption key first,
 * integrity key after it: 3.5 and RFC 7296 2.17). */
static int
esp_tek(const struct gikev2_member *m, const struct gikev2_gsa_policy *p, const uint8_t *km,
	size_t km_len, int transport, struct gdoi_tek *t, const char **why)
{
	struct gvpn_selector *s = &t->sel;
	unsigned int ek, ak = 0;
	uint8_t af2;

	memset(t, 0, sizeof(*t));
	t->spi = ikev2_get32(p->spi);
	t->protocol_id = GDOI_PROTO_ESP;
	t->key_bits = p->encr.key_bits;
	t->encap = transport ? 2 : 1;
	t->addr_preservation = 4; /* tunnel mode with address preservation (RFC 5374) */
	t->direction = m->conf.sender_ids != 0 ? 3 : 2;
	t->lifetime = p->has_lifetime ? p->lifetime : 0;
	if (p->sn == GIKEV2_SN_64BIT_PARTIAL) {
		*why = "extended sequence numbers in a multicast SA (4.4.2.2.3)";
		return -ENOTSUP;
	}
	switch (p->encr.id) {
	case IKEV2_ENCR_AES_CBC:
		t->transform = ESP_AES_CBC;
		ek = p->encr.key_bits / 8u;
		break;
	case IKEV2_ENCR_AES_GCM_16:
		t->transform = ESP_AES_GCM_16;
		ek = p->encr.key_bits / 8u + GVPN_GCM_SALT_LEN;
		break;
	case GIKEV2_ENCR_NULL_AUTH_AES_GMAC:
		t->transform = ESP_NULL_AUTH_AES_GMAC;
		ek = p->encr.key_bits / 8u + GVPN_GCM_SALT_LEN;
		break;
	default:
		*why = "ESP encryption transform not supported";
		return -ENOTSUP;
	}
	if (p->encr.key_bits != 128 && p->encr.key_bits != 192 && p->encr.key_bits != 256) {
		*why = "ESP encryption without a Key Length of 128, 192 or 256";
		return -ENOTSUP;
	}
	switch (p->integ) {
	case IKEV2_INTEG_NONE:
		break;
	case GIKEV2_INTEG_HMAC_SHA1_96:
		t->auth = AUTH_HMAC_SHA1, ak = 20;
		break;
	case IKEV2_INTEG_HMAC_SHA2_256_128:
		t->auth = AUTH_HMAC_SHA256, ak = 32;
		break;
	case IKEV2_INTEG_HMAC_SHA2_384_192:
		t->auth = AUTH_HMAC_SHA384, ak = 48;
		break;
	case IKEV2_INTEG_HMAC_SHA2_512_256:
		t->auth = AUTH_HMAC_SHA512, ak = 64;
		break;
	default:
		*why = "ESP integrity transform not supported";
		return -ENOTSUP;
	}
	if (km_len != ek + ak || ek > GVPN_KEY_MAX || ak > GVPN_KEY_MAX) {
		*why = "ESP keying material not the size its algorithms take (3.5)";
		return -EACCES;
	}
	memcpy(t->xform.cipher_key, km, ek);
	t->xform.cipher_key_len = (uint8_t)ek;
	memcpy(t->xform.auth_key, km + ek, ak);
	t->xform.auth_key_len = (uint8_t)ak;
	t->has_keys = 1;
	if (gikev2_ts_prefix(&p->src, &s->src, &s->af) != 0 ||
	    gikev2_ts_prefix(&p->dst, &s->dst, &af2) != 0) {
		*why = "TEK selector range is not a prefix";
		return -ENOTSUP;
	}
	if (af2 != s->af || p->src.proto != p->dst.proto) {
		*why = "TEK selectors disagree on family or protocol";
		return -ENOTSUP;
	}
	s->proto = p->dst.proto;
	s->sport_lo = p->src.start_port;
	s->sport_hi = p->src.end_port;
	s->dport_lo = p->dst.start_port;
	s->dport_hi = p->dst.end_port;
	return 0;
}

/* The rekey SA being built from a message. */
struct new_rekey {
	int present;
	const struct gikev2_gsa_policy *p;
	uint8_t km[GIKEV2_KEY_MAX];
	int km_len;
};

/* Fill a pseudo IKE SA with a rekey SA's GSK_e and GSK_a (3.5) and its
 * GSK_w. @return 0 or -EACCES (keys of the wrong size), -ENOTSUP. */
static int
rekey_keys(const struct gikev2_gsa_policy *p, const uint8_t *km, size_t km_len, struct ikev2_sa *sa,
	   struct gikev2_kwk *w, const char **why)
{
	const struct ikev2_encr_alg *e = ikev2_encr_alg(p->encr.id, p->encr.key_bits);
	const struct ikev2_hash_alg *i = ikev2_integ_alg(p->integ);
	unsigned int wl = gikev2_kwa_key_len(p->kwa);

	if (e == NULL || wl == 0 || (e->icv_len == 0) != (i != NULL)) {
		*why = "rekey SA algorithms not supported (or AEAD with integrity)";
		return -ENOTSUP;
	}
	if (km_len != e->key_len + (i != NULL ? i->key_len : 0u) + wl) {
		*why = "rekey SA keying material not GSK_e | GSK_a | GSK_w in size (3.5)";
		return -EACCES;
	}
	memset(sa, 0, sizeof(*sa));
	sa->chosen.encr = p->encr;
	sa->chosen.integ = p->integ;
	sa->chosen.kwa = p->kwa;
	sa->encr_len = e->key_len;
	sa->integ_len = i != NULL ? i->key_len : 0;
	sa->icv_len = i != NULL ? i->out_len : e->icv_len;
	sa->iv_len = e->iv_len;
	sa->block = e->block;
	memcpy(sa->sk_er, km, sa->encr_len);
	memcpy(sa->sk_ar, km + sa->encr_len, sa->integ_len);
	memset(w, 0, sizeof(*w));
	w->alg = (uint8_t)p->kwa;
	w->len = (uint8_t)wl;
	memcpy(w->key, km + sa->encr_len + sa->integ_len, wl);
	sa->state = IKEV2_ESTABLISHED;
	return 0;
}

/*
 * A verifier of the group's signatures (2.4.1.1): the GCAUTH algorithm
 * read and checked (gikev2_sig_alg_parse()), the AUTH_KEY a public key of
 * its kind, PSS set up with the salt length and MGF1 hash of its
 * parameters (OpenSSL then takes only that exact salt length).
 * @return the context, or NULL with @p why set.
 */
static EVP_MD_CTX *
sig_verifier(const uint8_t *key, size_t key_len, const uint8_t *alg, size_t alg_len,
	     const char **why)
{
	const uint8_t *kp = key;
	struct gikev2_sig_alg sa;
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md;
	int type;

	if (gikev2_sig_alg_parse(alg, alg_len, &sa, why) != 0)
		return NULL;
	md = EVP_get_digestbynid(sa.md_nid);
	pk = d2i_PUBKEY(NULL, &kp, (long)key_len);
	if (pk == NULL || kp != key + key_len || md == NULL) {
		*why = "AUTH_KEY not one DER SubjectPublicKeyInfo";
		goto fail;
	}
	type = EVP_PKEY_get_base_id(pk);
	if (!(type == sa.key_type || (sa.pss && type == EVP_PKEY_RSA_PSS))) {
		*why = "AUTH_KEY not a key of the group's signature algorithm";
		goto fail;
	}
	/* EMSA-PSS (RFC 8017 9.1.1): emLen >= hLen + sLen + 2 */
	if (sa.pss && (EVP_PKEY_get_bits(pk) + 6) / 8 < EVP_MD_get_size(md) + sa.salt_len + 2) {
		*why = "RSASSA-PSS salt too long for the AUTH_KEY's modulus";
		goto fail;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pk) != 1 ||
	    (sa.pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
			EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, sa.salt_len) != 1 ||
			EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1))) {
		*why = "AUTH_KEY refuses the group's signature algorithm";
		goto fail;
	}
	EVP_PKEY_free(pk);
	return ctx;
fail:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return NULL;
}

/* Is a DER public key usable with the signature algorithm @p alg? */
static int
sig_key_ok(const uint8_t *key, size_t key_len, const uint8_t *alg, size_t alg_len, const char **why)
{
	EVP_MD_CTX *ctx = sig_verifier(key, key_len, alg, alg_len, why);

	EVP_MD_CTX_free(ctx);
	return ctx != NULL;
}

/* What a message's GSA, KD and Deletes say, checked and unwrapped. */
struct reading {
	struct gikev2_gsa gsa;
	struct gikev2_kd kd;
	struct keyring ring;
	struct new_rekey rk;
	int has_policy;
	int excluded;
};

/*
 * Read GSA and KD into @p pol (TEKs) and @p rd (rekey SA), with @p dflt as
 * the default KWK. @p registration: member key bag, GCAUTH and Sender-IDs
 * allowed.
 */
static int
read_policy(struct gikev2_member *m, const struct ikev2_msg *msg, const struct gikev2_kwk *dflt,
	    int registration, struct gdoi_policy *pol, struct reading *rd, const char **why)
{
	const struct ikev2_payload *gp = ikev2_find(msg, IKEV2_P_GSA, 0);
	const struct ikev2_payload *kp = ikev2_find(msg, IKEV2_P_KD, 0);
	struct ikev2_notify n;
	int rc, transport = ikev2_notify_find(msg, IKEV2_N_USE_TRANSPORT_MODE, &n);
	uint8_t km[GIKEV2_KEY_MAX];

	if (gp == NULL && kp == NULL)
		return 0;
	if (gp == NULL || kp == NULL) {
		*why = "GSA without KD or KD without GSA";
		return -EBADMSG;
	}
	if ((rc = gikev2_gsa_parse(gp->body, gp->body_len, registration, &rd->gsa, why)) != 0 ||
	    (rc = gikev2_kd_parse(kp->body, kp->body_len, registration, &rd->kd, why)) != 0)
		return rc;
	rd->has_policy = 1;
	/* the key ring: the default KWK, then (outside a registration) the
	 * working key path, then this message's WRAP_KEYs */
	rd->ring.k[0] = *dflt;
	rd->ring.n = 1;
	if (!registration)
		for (unsigned int i = 0; i < m->n_wrap; i++)
			rd->ring.k[rd->ring.n++] = m->wrap[i];
	if (rd->kd.n_wrap != 0 && (rc = ring_add_wraps(&rd->ring, &rd->kd, dflt->alg, why)) != 0)
		return rc;
	pol->has_gap = rd->gsa.has_atd || rd->gsa.has_dtd;
	pol->atd = rd->gsa.atd;
	pol->dtd = rd->gsa.dtd;
	for (unsigned int i = 0; i < rd->gsa.n; i++) {
		const struct gikev2_gsa_policy *p = &rd->gsa.pol[i];
		const struct gikev2_group_bag *bag = bag_for(&rd->kd, p);
		int kl;

		if (p->proto == IKEV2_PROTO_AH) {
			*why = "AH data-security SA: not supported";
			return -ENOTSUP;
		}
		if (bag == NULL) {
			*why = "a GSA policy without its key bag";
			return -EBADMSG;
		}
		kl = bag_keys(&rd->ring, bag, km, sizeof(km));
		if (kl < 0) {
			gvpn_wipe(km, sizeof(km));
			if (p->proto == IKEV2_PROTO_GIKE_UPDATE && kl == -ENOKEY && !registration) {
				rd->excluded = 1; /* no key path leads to it (2.5.2) */
				continue;
			}
			*why = "an SA_KEY does not unwrap";
			return -EACCES;
		}
		if (p->proto == IKEV2_PROTO_GIKE_UPDATE) {
			if (rd->rk.present) {
				*why = "two rekey SA policies";
				return -EBADMSG;
			}
			rd->rk.present = 1;
			rd->rk.p = p;
			memcpy(rd->rk.km, km, (size_t)kl);
			rd->rk.km_len = kl;
		} else {
			if (pol->n_teks == GDOI_MAX_TEKS) {
				*why = "too many TEKs";
				return -EBADMSG;
			}
			rc = esp_tek(m, p, km, (size_t)kl, transport, &pol->tek[pol->n_teks], why);
			if (rc != 0) {
				gvpn_wipe(km, sizeof(km));
				return rc;
			}
			pol->n_teks++;
		}
		gvpn_wipe(km, sizeof(km));
	}
	for (unsigned int i = 0; i < rd->kd.n_group; i++) {
		int found = 0;

		for (unsigned int k = 0; k < rd->gsa.n && !found; k++)
			found = bag_for(&rd->kd, &rd->gsa.pol[k]) == &rd->kd.group[i];
		if (!found) {
			*why = "keys for an SA the GSA payload does not describe";
			return -EBADMSG;
		}
	}
	return gdoi_policy_check_teks(pol, why);
}

/* Commit a new rekey SA (and, from a registration, its method and key). */
static int
take_rekey_sa(struct gikev2_member *m, const struct reading *rd, int registration, const char **why)
{
	const struct gikev2_gsa_policy *p = rd->rk.p;
	struct ikev2_sa *sa = gvpn_keymem_alloc(sizeof(*sa));
	struct gikev2_kwk w;
	uint32_t floor = p->has_initial_msgid ? p->initial_msgid : 0;
	int rc;

	if (sa == NULL) {
		*why = "no key memory for the rekey SA";
		return -ENOMEM;
	}
	rc = rekey_keys(p, rd->rk.km, (size_t)rd->rk.km_len, sa, &w, why);
	if (rc != 0) {
		gvpn_keymem_free(sa);
		return rc;
	}
	/* GSA_INITIAL_MESSAGE_ID below what this rekey SA accepted already
	 * is stale (2.3.3) */
	if (m->rk.held && memcmp(m->rk.spi, p->spi, 16) == 0 && floor < m->rk.next_msgid)
		floor = m->rk.next_msgid;
	if (registration)
		m->rk.gcauth = p->gcauth;
	ikev2_sa_clear(&m->rekey);
	memcpy(&m->rekey, sa, sizeof(*sa));
	gvpn_keymem_free(sa);
	m->rekey_kwk = w;
	gvpn_wipe(&w, sizeof(w));
	m->rk.held = 1;
	memcpy(m->rk.spi, p->spi, 16);
	m->rk.src = p->src;
	m->rk.dst = p->dst;
	m->rk.suite = m->rekey.chosen;
	m->rk.lifetime_s = p->has_lifetime ? p->lifetime : 0;
	m->rk.next_msgid = registration ? floor : 0; /* a new rekey SA starts at 0 (2.4.1.3) */
	return 0;
}

static int
check_method(struct gikev2_member *m, const struct reading *rd, const char **why)
{
	const struct gikev2_gsa_policy *p = rd->rk.p;

	if (p->gcauth == GIKEV2_GCAUTH_IMPLICIT) {
		if (!m->conf.allow_implicit) {
			*why = "rekey SA authenticated implicitly, and the group does not allow it";
			return -EACCES;
		}
		if (rd->kd.auth_key != NULL) {
			*why = "AUTH_KEY with implicit authentication";
			return -EBADMSG;
		}
		return 0;
	}
	if (p->gcauth != GIKEV2_GCAUTH_DIGITAL_SIGNATURE) {
		*why = "rekey SA authentication method not supported";
		return -ENOTSUP;
	}
	if (rd->kd.auth_key == NULL) {
		*why = "digital signature method without AUTH_KEY";
		return -EBADMSG;
	}
	if (!sig_key_ok(rd->kd.auth_key, rd->kd.auth_key_len, p->sig_alg, p->sig_alg_len, why))
		return -ENOTSUP;
	return 0;
}

static void
take_sids(struct gikev2_member *m, const struct reading *rd, struct gdoi_policy *pol)
{
	m->n_sids = rd->kd.n_sids;
	memcpy(m->sid, rd->kd.sid, sizeof(m->sid));
	m->sid_bits = rd->gsa.sid_bits;
	if (m->n_sids != 0) {
		pol->has_sid_packet = 1;
		pol->sid_bits = m->sid_bits;
		pol->n_sids = m->n_sids;
		pol->has_sid = 1;
		pol->sid = m->sid[0];
	}
}

/* A registration's answer: the GCKS's refusal, or GSA and KD. */
static int
take_registration(struct gikev2_member *m, const struct ikev2_msg *msg, const char **why)
{
	static char text[160];
	struct gdoi_policy *pol;
	struct reading *rd;
	struct gikev2_kwk w;
	const struct ikev2_payload *np;
	struct ikev2_notify n;
	int rc;

	for (unsigned int i = 0; (np = ikev2_find(msg, IKEV2_P_NOTIFY, i)) != NULL; i++)
		if (ikev2_notify_read(np, &n) == 0 && n.type <= IKEV2_N_ERROR_MAX) {
			const char *name = ikev2_notify_name(n.type);

			m->notify = n.type;
			snprintf(text, sizeof(text), "GCKS refused the registration: %s (%u)",
				 name != NULL ? name : "?", n.type);
			*why = text;
			return -ECONNREFUSED;
		}
	if (ikev2_find(msg, IKEV2_P_GSA, 0) == NULL || ikev2_find(msg, IKEV2_P_KD, 0) == NULL) {
		*why = "registration answer without GSA and KD";
		return -EBADMSG;
	}
	pol = gvpn_keymem_alloc(sizeof(*pol));
	rd = gvpn_keymem_alloc(sizeof(*rd));
	if (pol == NULL || rd == NULL || ike_gsk_w(&m->ike, &w) != 0) {
		gvpn_keymem_free(pol);
		gvpn_keymem_free(rd);
		*why = "no key memory, or GSK_w not derived";
		return -ENOMEM;
	}
	rc = read_policy(m, msg, &w, 1, pol, rd, why);
	if (rc == 0 && rd->rk.present)
		rc = check_method(m, rd, why);
	if (rc == 0 && m->conf.sender_ids != 0 && gdoi_policy_counter_mode(pol)) {
		/* a sender of a counter-mode TEK needs a Sender-ID that fits (3.2) */
		if (rd->kd.n_sids == 0 || !rd->gsa.has_sid_bits || rd->gsa.sid_bits == 0 ||
		    rd->gsa.sid_bits > 31 || rd->kd.sid[0] >> rd->gsa.sid_bits != 0) {
			*why =
			    "a counter-mode TEK without a Sender-ID that fits GWP_SENDER_ID_BITS";
			rc = -EACCES;
		}
	}
	if (rc == 0) {
		/* commit: everything of the previous registration is replaced */
		if (rd->rk.present) {
			rc = take_rekey_sa(m, rd, 1, why);
			if (rc == 0) {
				memcpy(m->auth_key, rd->kd.auth_key, rd->kd.auth_key_len);
				m->auth_key_len = rd->kd.auth_key_len;
				memcpy(m->sig_alg, rd->rk.p->sig_alg, rd->rk.p->sig_alg_len);
				m->sig_alg_len = rd->rk.p->sig_alg_len;
			}
		} else {
			ikev2_sa_clear(&m->rekey);
			memset(&m->rk, 0, sizeof(m->rk));
		}
	}
	if (rc == 0) {
		m->n_wrap = 0;
		for (unsigned int i = 1; i < rd->ring.n; i++)
			m->wrap[m->n_wrap++] = rd->ring.k[i];
		take_sids(m, rd, pol);
		m->transport = ikev2_notify_find(msg, IKEV2_N_USE_TRANSPORT_MODE, &n);
		m->stats.registrations++;
		set_state(m, GIKEV2_REGISTERED, NULL);
		if (m->ops.policy != NULL && m->ops.policy(m->ops.ctx, pol) != 0)
			snprintf(m->last_error, sizeof(m->last_error),
				 "the control core refused the policy");
	}
	gvpn_wipe(&w, sizeof(w));
	gdoi_policy_clear(pol);
	gvpn_keymem_free(pol);
	gvpn_keymem_free(rd);
	return rc;
}

/* Deletes (2.4.3): ESP SPIs (0: all), the rekey SA, protocol 0 (all). */
static int
read_deletes(const struct ikev2_msg *msg, struct gdoi_push *push, int *excluded, const char **why)
{
	const struct ikev2_payload *d;

	for (unsigned int i = 0; (d = ikev2_find(msg, IKEV2_P_DELETE, i)) != NULL; i++) {
		uint8_t proto = d->body[0], spi_len = d->body[1];
		uint16_t n = ikev2_get16(d->body + 2);

		if ((size_t)spi_len * n != d->body_len - 4u) {
			*why = "Delete payload length disagrees with its SPIs";
			return -EBADMSG;
		}
		if (proto == 0 || proto == IKEV2_PROTO_GIKE_UPDATE) {
			int zero = 1;

			if (proto == IKEV2_PROTO_GIKE_UPDATE && spi_len != 16 &&
			    !(spi_len == 0 && n == 0)) {
				*why = "rekey SA Delete without 16-octet SPIs";
				return -EBADMSG;
			}
			for (size_t k = 0; k < (size_t)spi_len * n; k++)
				zero &= d->body[4 + k] == 0;
			if (proto == 0 || zero) {
				*excluded = 1; /* the whole group SA: register again */
				if (push->n_deletes < GDOI_MAX_DELETES)
					push->del[push->n_deletes++] = (struct gdoi_delete){
					    .protocol = GDOI_PROTO_ESP, .all = 1};
			}
			continue;
		}
		if (proto != IKEV2_PROTO_ESP || spi_len != 4) {
			*why = "Delete of a protocol the member does not hold";
			return -EBADMSG;
		}
		for (uint16_t k = 0; k < n; k++) {
			uint32_t spi = ikev2_get32(d->body + 4 + 4u * k);

			if (push->n_deletes == GDOI_MAX_DELETES) {
				*why = "too many Deletes";
				return -EBADMSG;
			}
			push->del[push->n_deletes++] = (struct gdoi_delete){
			    .protocol = GDOI_PROTO_ESP, .all = spi == 0, .spi = spi};
		}
	}
	return 0;
}

/* A rekey's payloads (GSA_REKEY or GSA_INBAND_REKEY), authentic already. */
static int
take_rekey(struct gikev2_member *m, const struct ikev2_msg *msg, const struct gikev2_kwk *dflt,
	   uint32_t seq, int inband, const char **why)
{
	struct gdoi_push *push = gvpn_keymem_alloc(sizeof(*push));
	struct reading *rd = gvpn_keymem_alloc(sizeof(*rd));
	int rc, excluded = 0;

	if (push == NULL || rd == NULL) {
		gvpn_keymem_free(push);
		gvpn_keymem_free(rd);
		*why = "no key memory";
		return -ENOMEM;
	}
	push->seq = seq;
	rc = read_deletes(msg, push, &excluded, why);
	if (rc == 0)
		rc = read_policy(m, msg, dflt, 0, &push->pol, rd, why);
	if (rc == 0 && inband && (rd->kd.n_wrap != 0 || rd->kd.auth_key != NULL)) {
		*why = "WRAP_KEY or AUTH_KEY in GSA_INBAND_REKEY";
		rc = -EBADMSG;
	}
	if (rc == 0 && rd->kd.auth_key != NULL && m->rk.gcauth != GIKEV2_GCAUTH_DIGITAL_SIGNATURE) {
		*why = "new AUTH_KEY in a group without signatures";
		rc = -EACCES;
	}
	if (rc == 0 && rd->kd.auth_key != NULL &&
	    !sig_key_ok(rd->kd.auth_key, rd->kd.auth_key_len, m->sig_alg, m->sig_alg_len, why))
		rc = -EACCES;
	if (rc == 0 && m->conf.sender_ids != 0 && gdoi_policy_counter_mode(&push->pol) &&
	    m->n_sids == 0) {
		/* a sender without a Sender-ID installs none (2.4.1.4): re-register */
		push->pol.sid_void = 1;
	}
	if (rc == 0) {
		push->has_policy = rd->has_policy;
		if (rd->rk.present) {
			uint8_t gcauth = (uint8_t)m->rk.gcauth;

			rc = take_rekey_sa(m, rd, 0, why);
			m->rk.gcauth = gcauth; /* the method never changes (4.4.2.2.1) */
		}
	}
	if (rc == 0) {
		if (rd->has_policy) {
			m->n_wrap = 0;
			for (unsigned int i = 1; i < rd->ring.n; i++)
				m->wrap[m->n_wrap++] = rd->ring.k[i];
		}
		if (rd->kd.auth_key != NULL) {
			memcpy(m->auth_key, rd->kd.auth_key, rd->kd.auth_key_len);
			m->auth_key_len = rd->kd.auth_key_len;
		}
		if (push->pol.n_teks != 0 && m->n_sids != 0) {
			push->pol.has_sid = 1;
			push->pol.sid = m->sid[0];
			push->pol.sid_bits = m->sid_bits;
		}
		if (inband)
			m->stats.inband_rekeys++;
		else
			m->stats.rekeys++;
		m->stats.deletes += push->n_deletes;
		if (m->ops.push != NULL && (push->has_policy || push->n_deletes != 0))
			m->ops.push(m->ops.ctx, push);
		if (excluded || rd->excluded) {
			ikev2_sa_clear(&m->rekey);
			memset(&m->rk, 0, sizeof(m->rk));
			set_state(m, GIKEV2_EXCLUDED, "excluded from the group by the GCKS");
		}
	}
	gdoi_push_clear(push);
	gvpn_keymem_free(push);
	gvpn_keymem_free(rd);
	return rc;
}

/* --- GSA_REKEY (2.4.1) --- */

/* The AUTH of a GSA_REKEY (2.4.1.1): a signature over A | P, A the header
 * and the Encrypted payload's header with lengths not counting IV, padding
 * and ICV, P the inner payloads with AUTH's signature bytes zeroed. */
static int
verify_rekey_auth(const struct gikev2_member *m, const uint8_t *msg, const uint8_t *plain,
		  size_t plain_len, const struct ikev2_payload *auth, enum gikev2_drop *d,
		  const char **why)
{
	static uint8_t data[IKEV2_HDR_LEN + IKEV2_GEN_LEN + IKEV2_MSG_MAX];
	size_t alg_len, sig_off, sig_len, data_len = IKEV2_HDR_LEN + IKEV2_GEN_LEN + plain_len;
	EVP_MD_CTX *ctx;
	int ok;

	*d = GIKEV2_DROP_BAD_SIGNATURE;
	if (auth->body_len < 5 || auth->body[0] != IKEV2_AUTH_DIGITAL_SIGNATURE) {
		*why = "GSA_REKEY AUTH not a Digital Signature (14)";
		return -EACCES;
	}
	*d = GIKEV2_DROP_SIG_ALG;
	alg_len = auth->body[4];
	if (alg_len != m->sig_alg_len || auth->body_len < 5 + alg_len + 1 ||
	    memcmp(auth->body + 5, m->sig_alg, alg_len) != 0) {
		*why = "GSA_REKEY AUTH's AlgorithmIdentifier is not the group's";
		return -EACCES;
	}
	*d = GIKEV2_DROP_BAD_SIGNATURE;
	sig_off = (size_t)(auth->body - plain) + 5 + alg_len;
	sig_len = auth->body_len - 5 - alg_len;
	memcpy(data, msg, IKEV2_HDR_LEN + IKEV2_GEN_LEN);
	ikev2_set32(data + 24, (uint32_t)data_len);
	data[IKEV2_HDR_LEN + 2] = (uint8_t)((IKEV2_GEN_LEN + plain_len) >> 8);
	data[IKEV2_HDR_LEN + 3] = (uint8_t)(IKEV2_GEN_LEN + plain_len);
	memcpy(data + IKEV2_HDR_LEN + IKEV2_GEN_LEN, plain, plain_len);
	memset(data + IKEV2_HDR_LEN + IKEV2_GEN_LEN + sig_off, 0, sig_len);
	ctx = sig_verifier(m->auth_key, m->auth_key_len, m->sig_alg, m->sig_alg_len, why);
	ok = ctx != NULL &&
	     EVP_DigestVerify(ctx, auth->body + 5 + alg_len, sig_len, data, data_len) == 1;
	EVP_MD_CTX_free(ctx);
	gvpn_wipe(data, data_len);
	if (!ok)
		*why = "GSA_REKEY signature does not verify";
	return ok ? 0 : -EACCES;
}

static int
drop(struct gikev2_member *m, enum gikev2_drop *reason, enum gikev2_drop d)
{
	m->stats.drops[d]++;
	if (reason != NULL)
		*reason = d;
	return -EBADMSG;
}

int
gikev2_rekey_input(struct gikev2_member *m, const uint8_t *msg, size_t len,
		   enum gikev2_drop *reason, const char **why)
{
	static struct ikev2_msg outer, inner;
	static uint8_t plain[IKEV2_MSG_MAX];
	const struct ikev2_payload *auth;
	struct ikev2_hdr h;
	enum ikev2_err err;
	int n, rc;

	*why = NULL;
	if (ikev2_parse_header(msg, len, &h, &err) != 0) {
		*why = ikev2_err_name(err);
		return drop(m, reason, GIKEV2_DROP_MALFORMED_HEADER);
	}
	if (h.exchange != IKEV2_EXCH_GSA_REKEY || (h.flags & IKEV2_FLAG_RESPONSE)) {
		*why = "not a GSA_REKEY request";
		return drop(m, reason, GIKEV2_DROP_BAD_EXCHANGE);
	}
	if (!m->rk.held) {
		*why = "no rekey SA";
		return drop(m, reason, GIKEV2_DROP_NO_REKEY_SA);
	}
	if (memcmp(msg, m->rk.spi, 16) != 0) {
		*why = "SPIs not the rekey SA's";
		return drop(m, reason, GIKEV2_DROP_NOT_OURS);
	}
	if (ikev2_parse_payloads(h.next, msg + IKEV2_HDR_LEN, len - IKEV2_HDR_LEN,
				 &rekey_outer_script, &outer, &err) != 0) {
		*why = ikev2_err_name(err);
		return drop(m, reason, GIKEV2_DROP_MALFORMED);
	}
	n = ikev2_sk_open(&m->rekey, 0, msg, len, outer.sk, plain, sizeof(plain));
	if (n < 0) {
		*why = n == -EACCES ? "GSA_REKEY integrity check failed"
				    : "GSA_REKEY does not decrypt";
		return drop(m, reason, GIKEV2_DROP_BAD_ICV);
	}
	/* authentic under the KEK from here on; AUTH still to verify */
	if (ikev2_parse_payloads(outer.sk->raw[0], plain, (size_t)n, &rekey_inner_script, &inner,
				 &err) != 0) {
		*why = ikev2_err_name(err);
		rc = drop(m, reason, GIKEV2_DROP_MALFORMED);
		goto out;
	}
	/* replay protection (2.4.1.4): above the last accepted, and not
	 * below the initial message ID */
	if (h.msgid < m->rk.next_msgid) {
		*why = "GSA_REKEY message ID already seen or below the initial one";
		rc = drop(m, reason, m->rk.accepted ? GIKEV2_DROP_REPLAY : GIKEV2_DROP_STALE);
		goto out;
	}
	auth = ikev2_find(&inner, IKEV2_P_AUTH, 0);
	if (m->rk.gcauth == GIKEV2_GCAUTH_DIGITAL_SIGNATURE) {
		enum gikev2_drop d;

		if (auth == NULL) {
			*why = "GSA_REKEY without AUTH";
			rc = drop(m, reason, GIKEV2_DROP_NO_AUTH);
			goto out;
		}
		if (verify_rekey_auth(m, msg, plain, (size_t)n, auth, &d, why) != 0) {
			rc = drop(m, reason, d);
			goto out;
		}
	} else if (auth != NULL) {
		*why = "AUTH in an implicitly authenticated GSA_REKEY";
		rc = drop(m, reason, GIKEV2_DROP_UNEXPECTED_AUTH);
		goto out;
	}
	{
		struct gikev2_kwk dflt = m->rekey_kwk;
		uint8_t spi[16];

		memcpy(spi, m->rk.spi, 16);
		rc = take_rekey(m, &inner, &dflt, h.msgid, 0, why);
		gvpn_wipe(&dflt, sizeof(dflt));
		if (rc != 0) {
			rc = drop(m, reason,
				  rc == -EACCES ? GIKEV2_DROP_BAD_KEYS : GIKEV2_DROP_POLICY);
			goto out;
		}
		/* the same rekey SA: the next message must be newer */
		if (m->rk.held && memcmp(spi, m->rk.spi, 16) == 0) {
			m->rk.next_msgid = h.msgid + 1;
			m->rk.accepted = 1;
		}
	}
	rc = 0;
out:
	gvpn_wipe(plain, (size_t)n);
	return rc;
}

int
gikev2_input(struct gikev2_member *m, const uint8_t *msg, size_t len, const char **why)
{
	enum ikev2_result res;
	struct ikev2_hdr h;
	enum ikev2_err err;
	const char *w = NULL;
	int rc;

	m->out_len = 0;
	if (why != NULL)
		*why = NULL;
	if (ikev2_parse_header(msg, len, &h, &err) != 0) {
		m->stats.drops[GIKEV2_DROP_MALFORMED_HEADER]++;
		if (why != NULL)
			*why = ikev2_err_name(err);
		return 0;
	}
	if (h.exchange == IKEV2_EXCH_GSA_REKEY) {
		gikev2_rekey_input(m, msg, len, NULL, &w);
		if (why != NULL)
			*why = w;
		return 0;
	}
	if (m->ike.state == IKEV2_IDLE || memcmp(h.spi_i, m->ike.spi_i, 8) != 0) {
		m->stats.drops[GIKEV2_DROP_NOT_OURS]++;
		return 0;
	}
	rc = ikev2_input(&m->ike, msg, len, &res, &w);
	if (rc < 0) {
		set_state(m, GIKEV2_FAILED, w);
		if (why != NULL)
			*why = w;
		m->ike_up = 0;
		return rc;
	}
	switch (res) {
	case IKEV2_SEND:
		out_request(m);
		if (m->ike.state == IKEV2_AUTH_SENT)
			set_state(m, GIKEV2_AUTH_SENT, NULL);
		return 1;
	case IKEV2_DONE:
		if (m->ike.in_msg == NULL) /* an INFORMATIONAL answered */
			return 0;
		if (m->leaving) { /* whatever it says: the member is out */
			m->leaving = 0;
			gikev2_rekey_sa_drop(m);
			set_state(m, GIKEV2_IDLE, NULL);
			return 0;
		}
		m->ike_up = 1;
		rc = take_registration(m, m->ike.in_msg, &w);
		if (rc != 0) {
			m->stats.drops[rc == -ECONNREFUSED ? GIKEV2_DROP_IKE
				       : rc == -EACCES	   ? GIKEV2_DROP_BAD_KEYS
							   : GIKEV2_DROP_POLICY]++;
			set_state(m, GIKEV2_FAILED, w);
			if (why != NULL)
				*why = w;
			return rc;
		}
		return 0;
	case IKEV2_REPLY:
		m->out = ikev2_response(&m->ike, &m->out_len);
		if (m->ike.in_msg != NULL && m->ike.in_exchange == IKEV2_EXCH_GSA_INBAND_REKEY) {
			struct gikev2_kwk dflt;

			if (ike_gsk_w(&m->ike, &dflt) != 0 ||
			    take_rekey(m, m->ike.in_msg, &dflt, h.msgid, 1, &w) != 0) {
				m->stats.drops[GIKEV2_DROP_POLICY]++;
				if (why != NULL)
					*why = w;
			}
			gvpn_wipe(&dflt, sizeof(dflt));
		}
		if (m->ike.state == IKEV2_DELETED)
			m->ike_up = 0;
		return m->out_len != 0;
	case IKEV2_CLOSED:
		m->ike_up = 0;
		return 0;
	case IKEV2_NOTIFIED:
		m->notify = m->ike.notify;
		m->stats.drops[GIKEV2_DROP_IKE]++;
		return 0;
	default:
		if (w != NULL)
			m->stats.drops[GIKEV2_DROP_IKE]++;
		if (why != NULL)
			*why = w;
		return 0;
	}
}

void
gikev2_reset(struct gikev2_member *m)
{
	ikev2_sa_clear(&m->ike);
	m->ike_up = 0;
	m->out_len = 0;
	m->out = NULL;
	m->leaving = 0;
	if (m->state != GIKEV2_REGISTERED && m->state != GIKEV2_EXCLUDED)
		m->state = GIKEV2_IDLE;
}

void
gikev2_rekey_sa_drop(struct gikev2_member *m)
{
	ikev2_sa_clear(&m->rekey);
	gvpn_wipe(&m->rekey_kwk, sizeof(m->rekey_kwk));
	memset(&m->rk, 0, sizeof(m->rk));
}

void
gikev2_member_clear(struct gikev2_member *m)
{
	ikev2_sa_clear(&m->ike);
	ikev2_sa_clear(&m->rekey);
	gvpn_wipe(m, sizeof(*m));
}
