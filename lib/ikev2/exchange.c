/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The initial exchanges, initiator side (RFC 7296 1.2), and what an
 * established IKE SA answers (1.4, 1.5):
 *
 *  Initiator                          Responder
 *  HDR, SAi1, KEi, Ni           -->
 *                               <--   HDR, N(COOKIE)
 *  HDR, N(COOKIE), SAi1, KEi, Ni -->                     (2.6)
 *                               <--   HDR, N(INVALID_KE_PAYLOAD)
 *  HDR, [N(COOKIE),] SAi1, KEi', Ni' -->                 (1.2, 2.6.1)
 *                               <--   HDR, SAr1, KEr, Nr, [CERTREQ]
 *  HDR, SK {IDi, AUTH, SAi2, TSi, TSr} -->
 *                               <--   HDR, SK {IDr, AUTH, SAr2, TSi, TSr}
 *
 * Message IDs: 0 for IKE_SA_INIT (however often it is retried), 1 for
 * IKE_AUTH, then one more per request; one request outstanding each way
 * (2.3). A response is matched to the outstanding request by its message
 * ID; the peer's request must carry the next ID it owes us, or repeat the
 * last one, which gets the same response again (2.1).
 *
 * A protected message is believed once its ICV verifies; one that does not
 * is dropped without an answer (2.21.2). Error notifications in the clear
 * (IKE_SA_INIT) are advice: anyone can send them (2.21.1).
 */
#include <errno.h>
#include <string.h>

#include <openssl/rand.h>

#include "gvpn_common.h"
#include "ikev2_private.h"

/* X(payload, min, max) */
#define INIT_RESP_SCRIPT(X)                                                                        \
	X(SA, 0, 1) X(KE, 0, 1) X(NONCE, 0, 1) X(NOTIFY, 0, 32) X(VENDOR, 0, 16) X(CERTREQ, 0, 16)
#define PROTECTED_SCRIPT(X) X(SK, 1, 1)
#define AUTH_RESP_SCRIPT(X)                                                                        \
	X(IDR, 0, 1)                                                                               \
	X(CERT, 0, 8)                                                                              \
	X(AUTH, 0, 1)                                                                              \
	X(SA, 0, 1) X(TSI, 0, 1) X(TSR, 0, 1) X(NOTIFY, 0, 32) X(VENDOR, 0, 16) X(CP, 0, 1)
#define INFO_SCRIPT(X) X(NOTIFY, 0, 32) X(DELETE, 0, 16) X(VENDOR, 0, 16) X(CP, 0, 1)
#define CHILD_REQ_SCRIPT(X)                                                                        \
	X(SA, 0, 1)                                                                                \
	X(KE, 0, 1) X(NONCE, 0, 1) X(TSI, 0, 1) X(TSR, 0, 1) X(NOTIFY, 0, 32) X(VENDOR, 0, 16)

/* G-IKEv2: the GSA_AUTH response, SK {IDr, [CERT,] AUTH, [GSA, KD,] [N]};
 * GSA_REGISTRATION's, SK {[GSA, KD,] [N]}; the GCKS's GSA_INBAND_REKEY
 * request, SK {[GSA, KD,] [D,] [N]}. Which are required is lib/gikev2's
 * business: an error answer carries a Notify alone. */
#define GSA_AUTH_RESP_SCRIPT(X)                                                                    \
	X(IDR, 0, 1)                                                                               \
	X(CERT, 0, 8)                                                                              \
	X(AUTH, 0, 1) X(GSA, 0, 1) X(KD, 0, 1) X(NOTIFY, 0, 32) X(VENDOR, 0, 16)
#define GSA_REG_RESP_SCRIPT(X) X(GSA, 0, 1) X(KD, 0, 1) X(NOTIFY, 0, 32) X(VENDOR, 0, 16)
#define GSA_INBAND_SCRIPT(X)                                                                       \
	X(GSA, 0, 1) X(KD, 0, 1) X(DELETE, 0, 16) X(NOTIFY, 0, 32) X(VENDOR, 0, 16)

IKEV2_SCRIPT(init_resp_script, "IKE_SA_INIT response", INIT_RESP_SCRIPT);
IKEV2_SCRIPT(gsa_auth_resp_script, "GSA_AUTH response", GSA_AUTH_RESP_SCRIPT);
IKEV2_SCRIPT(gsa_reg_resp_script, "GSA_REGISTRATION response", GSA_REG_RESP_SCRIPT);
IKEV2_SCRIPT(gsa_inband_script, "GSA_INBAND_REKEY request", GSA_INBAND_SCRIPT);
IKEV2_SCRIPT(protected_script, "protected message", PROTECTED_SCRIPT);
IKEV2_SCRIPT(auth_resp_script, "IKE_AUTH response", AUTH_RESP_SCRIPT);
IKEV2_SCRIPT(info_script, "INFORMATIONAL", INFO_SCRIPT);
IKEV2_SCRIPT(child_req_script, "CREATE_CHILD_SA request", CHILD_REQ_SCRIPT);

#define KEY_PAD "Key Pad for IKEv2"

static int
fail(struct ikev2_sa *sa, const char **why, const char *msg, int err)
{
	sa->state = IKEV2_FAILED;
	sa->req_len = 0;
	*why = msg;
	return err;
}

static int
id_ok(const struct ikev2_id *id)
{
	switch (id->type) {
	case IKEV2_ID_IPV4_ADDR:
		return id->len == 4;
	case IKEV2_ID_IPV6_ADDR:
		return id->len == 16;
	case IKEV2_ID_FQDN:
	case IKEV2_ID_RFC822_ADDR:
	case IKEV2_ID_KEY_ID:
		return id->len > 0;
	default:
		return 0;
	}
}

static int
proposal_ok(const struct ikev2_proposal *p, int child)
{
	int aead = 0;

	if (p->n_encr == 0 || p->n_encr > IKEV2_MAX_XFORMS || p->n_prf > IKEV2_MAX_XFORMS ||
	    p->n_integ > IKEV2_MAX_XFORMS || p->n_dh > IKEV2_MAX_XFORMS ||
	    p->n_kwa > IKEV2_MAX_XFORMS || (child && p->n_kwa != 0))
		return 0;
	for (unsigned int i = 0; i < p->n_kwa; i++)
		if (p->kwa[i] < IKEV2_KWA_5649_128 || p->kwa[i] > IKEV2_KWA_5649_256)
			return 0;
	for (unsigned int i = 0; i < p->n_encr; i++) {
		const struct ikev2_encr_alg *e = ikev2_encr_alg(p->encr[i].id, p->encr[i].key_bits);

		if (e == NULL || (i > 0 && aead != (e->icv_len != 0)))
			return 0;
		aead = e->icv_len != 0;
	}
	for (unsigned int i = 0; i < p->n_prf; i++)
		if (ikev2_prf_alg(p->prf[i]) == NULL)
			return 0;
	for (unsigned int i = 0; i < p->n_integ; i++)
		if (ikev2_integ_alg(p->integ[i]) == NULL)
			return 0;
	for (unsigned int i = 0; i < p->n_dh; i++)
		if (ikev2_dh_len(p->dh[i]) == 0)
			return 0;
	if (aead ? p->n_integ != 0 : p->n_integ == 0)
		return 0;
	return child ? p->n_prf == 0 && p->n_dh == 0 : p->n_prf != 0 && p->n_dh != 0;
}

static int
ts_ok(const struct ikev2_ts *t)
{
	return (t->type == IKEV2_TS_IPV4_ADDR_RANGE || t->type == IKEV2_TS_IPV6_ADDR_RANGE) &&
	       t->start_port <= t->end_port;
}

static int
group_conf_ok(const struct ikev2_conf *c)
{
	if (c->n_props == 0 || c->n_props > IKEV2_MAX_PROPOSALS || c->psk_len < IKEV2_PSK_MIN ||
	    c->psk_len > IKEV2_PSK_MAX || !id_ok(&c->local_id) ||
	    (c->remote_id.type != 0 && !id_ok(&c->remote_id)))
		return 0;
	for (unsigned int i = 0; i < c->n_props; i++)
		if (!proposal_ok(&c->props[i], 0) || c->props[i].n_kwa == 0)
			return 0; /* keys come wrapped: a key wrap algorithm is negotiated */
	return 1;
}

static int
conf_ok(const struct ikev2_conf *c)
{
	if (c->auth_exchange == IKEV2_EXCH_GSA_AUTH)
		return group_conf_ok(c);
	if (c->auth_exchange != 0)
		return 0;
	if (c->n_props == 0 || c->n_props > IKEV2_MAX_PROPOSALS || c->n_child_props == 0 ||
	    c->n_child_props > IKEV2_MAX_PROPOSALS || c->psk_len < IKEV2_PSK_MIN ||
	    c->psk_len > IKEV2_PSK_MAX || !id_ok(&c->local_id) ||
	    (c->remote_id.type != 0 && !id_ok(&c->remote_id)) || !ts_ok(&c->tsi) || !ts_ok(&c->tsr))
		return 0;
	for (unsigned int i = 0; i < c->n_props; i++)
		if (!proposal_ok(&c->props[i], 0))
			return 0;
	for (unsigned int i = 0; i < c->n_child_props; i++)
		if (!proposal_ok(&c->child_props[i], 1))
			return 0;
	return 1;
}

static void
put_notify(struct ikev2_buf *b, uint16_t type, const void *data, size_t len)
{
	size_t off = ikev2_buf_begin(b, IKEV2_P_NOTIFY);

	ikev2_buf_put8(b, 0); /* protocol: none */
	ikev2_buf_put8(b, 0); /* no SPI */
	ikev2_buf_put16(b, type);
	ikev2_buf_put(b, data, len);
	ikev2_buf_end(b, off);
}

/* The IKE_SA_INIT request into sa->req, kept as sa->init_req (the
 * RealMessage1 that AUTH signs is the request that got the response). */
static int
build_init(struct ikev2_sa *sa)
{
	struct ikev2_hdr h = {.exchange = IKEV2_EXCH_IKE_SA_INIT, .flags = IKEV2_FLAG_INITIATOR};
	struct ikev2_buf b;
	size_t off;

	memcpy(h.spi_i, sa->spi_i, 8);
	ikev2_buf_init(&b, sa->req, sizeof(sa->req), &h);
	if (sa->cookie_len != 0) /* first, the other payloads unchanged (2.6) */
		put_notify(&b, IKEV2_N_COOKIE, sa->cookie, sa->cookie_len);
	off = ikev2_buf_begin(&b, IKEV2_P_SA);
	ikev2_sa_build(&b, IKEV2_PROTO_IKE, NULL, 0, sa->conf->props, sa->conf->n_props);
	ikev2_buf_end(&b, off);
	off = ikev2_buf_begin(&b, IKEV2_P_KE);
	ikev2_buf_put16(&b, sa->ke_group);
	ikev2_buf_put16(&b, 0);
	ikev2_buf_put(&b, sa->gi, sa->gi_len);
	ikev2_buf_end(&b, off);
	off = ikev2_buf_begin(&b, IKEV2_P_NONCE);
	ikev2_buf_put(&b, sa->ni, sizeof(sa->ni));
	ikev2_buf_end(&b, off);
	if (ikev2_buf_finish(&b) != 0)
		return -ENOSPC;
	memcpy(sa->init_req, b.data, b.len);
	sa->init_req_len = b.len;
	sa->req_len = b.len;
	sa->req_msgid = 0;
	sa->req_exchange = IKEV2_EXCH_IKE_SA_INIT;
	return 0;
}

/* A fresh KE in @p group and a fresh nonce. */
static int
new_ke(struct ikev2_sa *sa, uint16_t group)
{
	int rc;

	sa->ke_group = group;
	sa->gi_len = ikev2_dh_len(group);
	rc = ikev2_dh_start(sa, group, NULL, 0, sa->gi);
	if (rc != 0)
		return rc;
	return RAND_bytes(sa->ni, sizeof(sa->ni)) == 1 ? 0 : -EIO;
}

int
ikev2_start(struct ikev2_sa *sa, const struct ikev2_conf *conf)
{
	int rc;

	if (!conf_ok(conf))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->conf = conf;
	do {
		if (RAND_bytes(sa->spi_i, 8) != 1 ||
		    RAND_bytes((uint8_t *)&sa->child_spi_i, sizeof(sa->child_spi_i)) != 1)
			return -EIO;
	} while (ikev2_get32(sa->spi_i) == 0 || sa->child_spi_i < 256); /* 0-255: reserved */
	rc = new_ke(sa, conf->props[0].dh[0]);
	if (rc == 0)
		rc = build_init(sa);
	if (rc != 0) {
		ikev2_sa_clear(sa);
		return rc == -ENOTSUP || rc == -EINVAL ? -EIO : rc;
	}
	sa->state = IKEV2_INIT_SENT;
	sa->next_msgid = 1;
	return 0;
}

/* AUTH for a shared key (RFC 7296 2.15):
 *   prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
 *   SignedOctets = the sender's IKE_SA_INIT message | the peer's nonce |
 *                  prf(SK_px, the sender's ID payload body)
 */
static int
psk_auth(const struct ikev2_sa *sa, const uint8_t *init, size_t init_len, const uint8_t *nonce,
	 size_t nonce_len, const uint8_t *sk_p, const uint8_t *id, size_t id_len, uint8_t *out)
{
	const struct ikev2_hash_alg *prf = ikev2_prf_alg(sa->chosen.prf);
	uint8_t maced[IKEV2_PRF_MAX], key[IKEV2_PRF_MAX];
	struct ikev2_chunk pad = {KEY_PAD, strlen(KEY_PAD)}, idc = {id, id_len};
	int rc = -EIO;

	if (prf == NULL)
		return -EIO;
	if (ikev2_hmac(prf->md, sk_p, sa->prf_len, &idc, 1, maced) == prf->out_len &&
	    ikev2_hmac(prf->md, sa->conf->psk, sa->conf->psk_len, &pad, 1, key) == prf->out_len) {
		struct ikev2_chunk c[] = {
		    {init, init_len}, {nonce, nonce_len}, {maced, prf->out_len}};

		if (ikev2_hmac(prf->md, key, prf->out_len, c, 3, out) == prf->out_len)
			rc = 0;
	}
	gvpn_wipe(key, sizeof(key));
	return rc;
}

static void
put_ts(struct ikev2_buf *b, uint8_t type, const struct ikev2_ts *t)
{
	size_t alen = t->type == IKEV2_TS_IPV4_ADDR_RANGE ? 4 : 16;
	size_t off = ikev2_buf_begin(b, type);

	ikev2_buf_put8(b, 1); /* one selector */
	ikev2_buf_put8(b, 0);
	ikev2_buf_put16(b, 0);
	ikev2_buf_put8(b, t->type);
	ikev2_buf_put8(b, t->proto);
	ikev2_buf_put16(b, (uint16_t)(8 + 2 * alen));
	ikev2_buf_put16(b, t->start_port);
	ikev2_buf_put16(b, t->end_port);
	ikev2_buf_put(b, t->start, alen);
	ikev2_buf_put(b, t->end, alen);
	ikev2_buf_end(b, off);
}

static int
seal_request(struct ikev2_sa *sa, uint8_t exchange, uint8_t first, const uint8_t *chain, size_t len)
{
	struct ikev2_hdr h = {
	    .exchange = exchange, .flags = IKEV2_FLAG_INITIATOR, .msgid = sa->next_msgid};
	int n;

	memcpy(h.spi_i, sa->spi_i, 8);
	memcpy(h.spi_r, sa->spi_r, 8);
	n = ikev2_sk_seal(sa, 1, &h, first, chain, len, sa->req, sizeof(sa->req));
	if (n < 0)
		return n;
	sa->req_len = (size_t)n;
	sa->req_msgid = sa->next_msgid++;
	sa->req_exchange = exchange;
	return 0;
}

/* IKE_AUTH: SK {IDi, AUTH, SAi2, TSi, TSr} (RFC 7296 1.2). */
static int
send_auth(struct ikev2_sa *sa)
{
	const struct ikev2_conf *c = sa->conf;
	uint8_t chain[IKEV2_REQ_MAX], auth[IKEV2_PRF_MAX], spi[4];
	struct ikev2_buf b;
	size_t off, id_off;
	int rc;

	ikev2_buf_chain(&b, chain, sizeof(chain));
	id_off = ikev2_buf_begin(&b, IKEV2_P_IDI);
	ikev2_buf_put8(&b, c->local_id.type);
	ikev2_buf_put8(&b, 0);
	ikev2_buf_put16(&b, 0);
	ikev2_buf_put(&b, c->local_id.data, c->local_id.len);
	ikev2_buf_end(&b, id_off);
	rc = psk_auth(sa, sa->init_req, sa->init_req_len, sa->nr, sa->nr_len, sa->sk_pi,
		      chain + id_off + IKEV2_GEN_LEN, 4u + c->local_id.len, auth);
	if (rc != 0)
		return rc;
	off = ikev2_buf_begin(&b, IKEV2_P_AUTH);
	ikev2_buf_put8(&b, IKEV2_AUTH_PSK);
	ikev2_buf_put8(&b, 0);
	ikev2_buf_put16(&b, 0);
	ikev2_buf_put(&b, auth, sa->prf_len);
	ikev2_buf_end(&b, off);
	if (c->auth_exchange == IKEV2_EXCH_GSA_AUTH) {
		/* GSA_AUTH: the group's payloads instead of a child (G-IKEv2 2.3.1) */
		rc = c->group_payloads != NULL ? c->group_payloads(c->group_ctx, &b) : 0;
		if (rc == 0 && b.overflow)
			rc = -ENOSPC;
		if (rc == 0)
			rc = seal_request(sa, IKEV2_EXCH_GSA_AUTH, ikev2_buf_first(&b), chain,
					  b.len);
		gvpn_wipe(auth, sizeof(auth));
		return rc;
	}
	ikev2_set32(spi, sa->child_spi_i);
	off = ikev2_buf_begin(&b, IKEV2_P_SA);
	ikev2_sa_build(&b, IKEV2_PROTO_ESP, spi, 4, c->child_props, c->n_child_props);
	ikev2_buf_end(&b, off);
	put_ts(&b, IKEV2_P_TSI, &c->tsi);
	put_ts(&b, IKEV2_P_TSR, &c->tsr);
	if (b.overflow)
		return -ENOSPC;
	rc = seal_request(sa, IKEV2_EXCH_IKE_AUTH, ikev2_buf_first(&b), chain, b.len);
	gvpn_wipe(auth, sizeof(auth));
	return rc;
}

static int
group_offered(const struct ikev2_conf *c, uint16_t group)
{
	for (unsigned int i = 0; i < c->n_props; i++)
		for (unsigned int j = 0; j < c->props[i].n_dh; j++)
			if (c->props[i].dh[j] == group)
				return 1;
	return 0;
}

static uint16_t
first_error(const struct ikev2_msg *m)
{
	const struct ikev2_payload *p;
	struct ikev2_notify n;

	for (unsigned int i = 0; (p = ikev2_find(m, IKEV2_P_NOTIFY, i)) != NULL; i++)
		if (ikev2_notify_read(p, &n) == 0 && n.type <= IKEV2_N_ERROR_MAX)
			return n.type;
	return 0;
}

/* The IKE_SA_INIT response: a cookie or group to retry with, advice, or
 * the responder's choice, KE and nonce; then the keys and IKE_AUTH. */
static int
take_init(struct ikev2_sa *sa, const uint8_t *msg, size_t len, const struct ikev2_hdr *h,
	  enum ikev2_result *res, const char **why)
{
	static struct ikev2_msg m; /* 3 KiB: not on the stack */
	const struct ikev2_payload *sap, *ke, *nr;
	struct ikev2_notify n;
	enum ikev2_err err;
	uint8_t gir[IKEV2_KE_MAX];
	int rc;

	if (ikev2_parse_payloads(h->next, msg + IKEV2_HDR_LEN, len - IKEV2_HDR_LEN,
				 &init_resp_script, &m, &err) != 0)
		return fail(sa, why, ikev2_err_name(err), -EBADMSG);
	if (ikev2_notify_find(&m, IKEV2_N_COOKIE, &n)) {
		if (n.data_len < 1 || n.data_len > IKEV2_COOKIE_MAX)
			return fail(sa, why, "COOKIE not 1 to 64 bytes", -EBADMSG);
		if (sa->retries++ == IKEV2_RETRIES_MAX)
			return fail(sa, why, "too many COOKIE and INVALID_KE_PAYLOAD answers",
				    -EAGAIN);
		memcpy(sa->cookie, n.data, n.data_len);
		sa->cookie_len = n.data_len;
		if (build_init(sa) != 0)
			return fail(sa, why, "IKE_SA_INIT with the cookie not built", -ENOSPC);
		*res = IKEV2_SEND;
		return 0;
	}
	if (ikev2_notify_find(&m, IKEV2_N_INVALID_KE_PAYLOAD, &n)) {
		uint16_t g = n.data_len == 2 ? ikev2_get16(n.data) : 0;

		/* only a group we offered, not the one we sent (1.2) */
		if (g == 0 || g == sa->ke_group || !group_offered(sa->conf, g) ||
		    sa->retries == IKEV2_RETRIES_MAX) {
			sa->notify = IKEV2_N_INVALID_KE_PAYLOAD;
			*res = IKEV2_NOTIFIED;
			return 0;
		}
		sa->retries++;
		if (new_ke(sa, g) != 0 || build_init(sa) != 0)
			return fail(sa, why, "IKE_SA_INIT in the new group not built", -EIO);
		*res = IKEV2_SEND;
		return 0;
	}
	sap = ikev2_find(&m, IKEV2_P_SA, 0);
	ke = ikev2_find(&m, IKEV2_P_KE, 0);
	nr = ikev2_find(&m, IKEV2_P_NONCE, 0);
	if (sap == NULL && (sa->notify = first_error(&m)) != 0) {
		*res = IKEV2_NOTIFIED;
		return 0;
	}
	if (sap == NULL || ke == NULL || nr == NULL)
		return fail(sa, why, "IKE_SA_INIT response lacks SA, KE or Nonce", -EBADMSG);
	if (ikev2_get32(h->spi_r) == 0 && ikev2_get32(h->spi_r + 4) == 0)
		return fail(sa, why, "IKE_SA_INIT response without a responder SPI", -EBADMSG);
	rc = ikev2_sa_choice(sap, IKEV2_PROTO_IKE, 0, sa->conf->props, sa->conf->n_props,
			     &sa->chosen, &sa->prop_num, NULL);
	if (rc != 0)
		return fail(sa, why,
			    rc == -ENOPROTOOPT ? "responder chose no offered proposal"
					       : "IKE_SA_INIT response SA malformed",
			    rc);
	if (ikev2_get16(ke->body) != sa->chosen.dh || sa->chosen.dh != sa->ke_group)
		return fail(sa, why, "responder's KE is not in our KE's group", -EBADMSG);
	if (ke->body_len - 4u != sa->gi_len)
		return fail(sa, why, "responder's KE is not of the group's length", -EBADMSG);
	if (nr->body_len < 16 || nr->body_len > sizeof(sa->nr))
		return fail(sa, why, "responder's nonce is not 16 to 256 bytes", -EBADMSG);
	if (len > sizeof(sa->init_resp))
		return fail(sa, why, "IKE_SA_INIT response too long to keep", -ENOSPC);
	memcpy(sa->spi_r, h->spi_r, 8);
	memcpy(sa->nr, nr->body, nr->body_len);
	sa->nr_len = nr->body_len;
	memcpy(sa->init_resp, msg, len);
	sa->init_resp_len = len;
	rc = ikev2_dh_finish(sa, ke->body + 4, sa->gi_len, gir);
	if (rc < 0)
		return fail(sa, why,
			    rc == -EBADMSG ? "bad Diffie-Hellman public value"
					   : "Diffie-Hellman failed",
			    rc == -EBADMSG ? -EBADMSG : -EIO);
	rc = ikev2_derive(sa, gir, (size_t)rc);
	gvpn_wipe(gir, sizeof(gir));
	ikev2_dh_free(sa);
	if (rc != 0)
		return fail(sa, why, "key derivation failed", -EIO);
	if ((rc = send_auth(sa)) != 0)
		return fail(sa, why, "IKE_AUTH request not built", rc == -ENOSPC ? -ENOSPC : -EIO);
	sa->state = IKEV2_AUTH_SENT;
	*res = IKEV2_SEND;
	return 0;
}

/* Check and decrypt a protected message under the peer's keys; NULL
 * (with why) when it is to be dropped. */
static const struct ikev2_msg *
open_protected(struct ikev2_sa *sa, const uint8_t *msg, size_t len, const struct ikev2_hdr *h,
	       const struct ikev2_script *inner, uint8_t *plain, const char **why, int *bad)
{
	static struct ikev2_msg outer, m;
	enum ikev2_err err;
	int n;

	*bad = 0;
	if (ikev2_parse_payloads(h->next, msg + IKEV2_HDR_LEN, len - IKEV2_HDR_LEN,
				 &protected_script, &outer, &err) != 0) {
		*why = ikev2_err_name(err);
		return NULL;
	}
	n = ikev2_sk_open(sa, 0, msg, len, outer.sk, plain, IKEV2_MSG_MAX);
	if (n < 0) {
		*why = n == -EACCES ? "integrity check failed" : "Encrypted payload malformed";
		return NULL;
	}
	/* authentic from here on: a fault is the peer's */
	if (ikev2_parse_payloads(outer.sk->raw[0], plain, (size_t)n, inner, &m, &err) != 0) {
		*why = ikev2_err_name(err);
		*bad = 1;
		return NULL;
	}
	return &m;
}

static int
same_id(const struct ikev2_id *a, const struct ikev2_id *b)
{
	return a->type == b->type && a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* The IKE_AUTH response: the responder's identity and AUTH, then the child. */
static int
take_auth(struct ikev2_sa *sa, const uint8_t *msg, size_t len, const struct ikev2_hdr *h,
	  enum ikev2_result *res, const char **why)
{
	static uint8_t plain[IKEV2_MSG_MAX];
	const struct ikev2_payload *idr, *auth, *sap, *tsi, *tsr;
	const struct ikev2_msg *m;
	uint8_t want[IKEV2_PRF_MAX], spi[4];
	uint16_t err;
	int bad, rc;

	m = open_protected(sa, msg, len, h,
			   sa->conf->auth_exchange == IKEV2_EXCH_GSA_AUTH ? &gsa_auth_resp_script
									  : &auth_resp_script,
			   plain, why, &bad);
	if (m == NULL)
		return bad ? fail(sa, why, *why, -EBADMSG) : 0;
	idr = ikev2_find(m, IKEV2_P_IDR, 0);
	auth = ikev2_find(m, IKEV2_P_AUTH, 0);
	if (idr == NULL || auth == NULL) {
		err = first_error(m);
		sa->notify = err;
		if (err != 0)
			return fail(
			    sa, why,
			    err == IKEV2_N_AUTHENTICATION_FAILED
				? "responder refused IKE_AUTH: AUTHENTICATION_FAILED (wrong "
				  "pre-shared key or identity?)"
				: "responder refused IKE_AUTH with an error notification",
			    -EACCES);
		return fail(sa, why, "IKE_AUTH response lacks IDr or AUTH", -EBADMSG);
	}
	if (auth->body[0] != IKEV2_AUTH_PSK || auth->body_len != 4u + sa->prf_len)
		return fail(sa, why, "responder's AUTH is not a shared-key MIC of the PRF's size",
			    -EACCES);
	if (psk_auth(sa, sa->init_resp, sa->init_resp_len, sa->ni, sizeof(sa->ni), sa->sk_pr,
		     idr->body, idr->body_len, want) != 0)
		return fail(sa, why, "AUTH not computed", -EIO);
	if (!gvpn_memeq_ct(want, auth->body + 4, sa->prf_len))
		return fail(sa, why, "responder's AUTH does not verify (wrong pre-shared key?)",
			    -EACCES);
	if (idr->body_len - 4u > sizeof(sa->peer_id.data))
		return fail(sa, why, "responder's identity too long", -EBADMSG);
	sa->peer_id.type = idr->body[0];
	sa->peer_id.len = (uint8_t)(idr->body_len - 4);
	memcpy(sa->peer_id.data, idr->body + 4, sa->peer_id.len);
	if (sa->conf->remote_id.type != 0 && !same_id(&sa->peer_id, &sa->conf->remote_id))
		return fail(sa, why, "responder's identity is not the one configured", -EACCES);
	if (sa->conf->auth_exchange == IKEV2_EXCH_GSA_AUTH) {
		/* the group's policy (or its refusal) is lib/gikev2's to read */
		sa->in_msg = m;
		sa->in_exchange = IKEV2_EXCH_GSA_AUTH;
		sa->state = IKEV2_ESTABLISHED;
		sa->req_len = 0;
		*res = IKEV2_DONE;
		return 0;
	}

	/* the ESP child: accepted, or refused with an error notification */
	sap = ikev2_find(m, IKEV2_P_SA, 0);
	tsi = ikev2_find(m, IKEV2_P_TSI, 0);
	tsr = ikev2_find(m, IKEV2_P_TSR, 0);
	if (sap != NULL) {
		uint8_t num;

		if (tsi == NULL || tsr == NULL)
			return fail(sa, why, "child SA without traffic selectors", -EBADMSG);
		rc = ikev2_sa_choice(sap, IKEV2_PROTO_ESP, 4, sa->conf->child_props,
				     sa->conf->n_child_props, &sa->child, &num, spi);
		if (rc != 0)
			return fail(sa, why,
				    rc == -ENOPROTOOPT ? "responder chose no offered child proposal"
						       : "child SA malformed",
				    rc);
		if (ikev2_ts_read(tsi, &sa->child_tsi) != 0 ||
		    ikev2_ts_read(tsr, &sa->child_tsr) != 0)
			return fail(sa, why, "child traffic selectors malformed", -EBADMSG);
		sa->child_spi_r = ikev2_get32(spi);
		sa->child_up = 1;
	} else {
		sa->child_notify = first_error(m);
	}
	sa->state = IKEV2_ESTABLISHED;
	sa->req_len = 0;
	*res = IKEV2_DONE;
	return 0;
}

/* The peer's request on the established SA: INFORMATIONAL (Delete,
 * liveness) is answered; CREATE_CHILD_SA gets NO_ADDITIONAL_SAS. */
static int
take_request(struct ikev2_sa *sa, const uint8_t *msg, size_t len, const struct ikev2_hdr *h,
	     enum ikev2_result *res, const char **why)
{
	static uint8_t plain[IKEV2_MSG_MAX];
	struct ikev2_hdr rh = {.exchange = h->exchange,
			       .flags = IKEV2_FLAG_INITIATOR | IKEV2_FLAG_RESPONSE,
			       .msgid = h->msgid};
	const struct ikev2_payload *d;
	const struct ikev2_msg *m;
	uint8_t chain[64], spi[4];
	struct ikev2_buf b;
	int bad, n, closed = 0;

	const struct ikev2_script *script = h->exchange == IKEV2_EXCH_INFORMATIONAL ? &info_script
					    : h->exchange == IKEV2_EXCH_CREATE_CHILD_SA
						? &child_req_script
					    : h->exchange == IKEV2_EXCH_GSA_INBAND_REKEY &&
						    sa->conf->auth_exchange == IKEV2_EXCH_GSA_AUTH
						? &gsa_inband_script
						: NULL;

	if (script == NULL) {
		*why = "request of an exchange an established SA does not take";
		return 0;
	}
	m = open_protected(sa, msg, len, h, script, plain, why, &bad);
	if (m == NULL)
		return 0;
	if (h->exchange == IKEV2_EXCH_GSA_INBAND_REKEY) {
		/* answered with an empty SK {}; its content is lib/gikev2's */
		sa->in_msg = m;
		sa->in_exchange = IKEV2_EXCH_GSA_INBAND_REKEY;
	}
	ikev2_buf_chain(&b, chain, sizeof(chain));
	if (h->exchange == IKEV2_EXCH_CREATE_CHILD_SA) {
		put_notify(&b, IKEV2_N_NO_ADDITIONAL_SAS, NULL, 0);
	} else if (h->exchange == IKEV2_EXCH_INFORMATIONAL) {
		for (unsigned int i = 0; (d = ikev2_find(m, IKEV2_P_DELETE, i)) != NULL; i++) {
			if (d->body[0] == IKEV2_PROTO_IKE) {
				closed = 1;
			} else if (d->body[0] == IKEV2_PROTO_ESP && sa->child_up) {
				/* answer with our half of the pair (1.4.1) */
				size_t off = ikev2_buf_begin(&b, IKEV2_P_DELETE);

				ikev2_set32(spi, sa->child_spi_i);
				ikev2_buf_put8(&b, IKEV2_PROTO_ESP);
				ikev2_buf_put8(&b, 4);
				ikev2_buf_put16(&b, 1);
				ikev2_buf_put(&b, spi, 4);
				ikev2_buf_end(&b, off);
				sa->child_up = 0;
			}
		}
	}
	memcpy(rh.spi_i, sa->spi_i, 8);
	memcpy(rh.spi_r, sa->spi_r, 8);
	n = ikev2_sk_seal(sa, 1, &rh, b.len != 0 ? ikev2_buf_first(&b) : IKEV2_P_NONE, chain, b.len,
			  sa->resp, sizeof(sa->resp));
	if (n < 0) {
		*why = "response not built";
		return 0;
	}
	sa->resp_len = (size_t)n;
	sa->peer_msgid++;
	if (closed) {
		sa->state = IKEV2_DELETED;
		sa->req_len = 0;
	}
	*res = IKEV2_REPLY;
	return 0;
}

int
ikev2_input(struct ikev2_sa *sa, const uint8_t *msg, size_t len, enum ikev2_result *res,
	    const char **why)
{
	static uint8_t plain[IKEV2_MSG_MAX];
	struct ikev2_hdr h;
	enum ikev2_err err;
	int bad;

	*res = IKEV2_IGNORED;
	*why = NULL;
	sa->in_msg = NULL;
	sa->in_exchange = 0;
	if (ikev2_parse_header(msg, len, &h, &err) != 0) {
		*why = ikev2_err_name(err);
		return 0;
	}
	if (memcmp(h.spi_i, sa->spi_i, 8) != 0)
		return 0;
	/* our messages carry I; the responder's never do (RFC 7296 3.1) */
	if (h.flags & IKEV2_FLAG_INITIATOR) {
		*why = "message from the responder with the initiator flag";
		return 0;
	}
	if (sa->state != IKEV2_INIT_SENT && memcmp(h.spi_r, sa->spi_r, 8) != 0)
		return 0;
	if (!(h.flags & IKEV2_FLAG_RESPONSE)) {
		if (sa->state != IKEV2_ESTABLISHED && sa->state != IKEV2_DELETE_SENT)
			return 0;
		if (h.msgid == sa->peer_msgid - 1 && sa->resp_len != 0) {
			*res = IKEV2_REPLY; /* a retransmission: the same response */
			return 0;
		}
		if (h.msgid != sa->peer_msgid)
			return 0;
		return take_request(sa, msg, len, &h, res, why);
	}
	/* a response: to the outstanding request, or a duplicate */
	if (sa->req_len == 0 || h.msgid != sa->req_msgid || h.exchange != sa->req_exchange)
		return 0;
	switch (sa->state) {
	case IKEV2_INIT_SENT:
		return take_init(sa, msg, len, &h, res, why);
	case IKEV2_AUTH_SENT:
		return take_auth(sa, msg, len, &h, res, why);
	case IKEV2_DELETE_SENT:
	case IKEV2_ESTABLISHED: {
		const struct ikev2_msg *m = open_protected(
		    sa, msg, len, &h,
		    sa->req_exchange == IKEV2_EXCH_GSA_REGISTRATION ? &gsa_reg_resp_script
								    : &info_script,
		    plain, why, &bad);

		if (m == NULL && !bad)
			return 0;
		sa->req_len = 0;
		if (m != NULL && h.exchange == IKEV2_EXCH_GSA_REGISTRATION) {
			sa->in_msg = m;
			sa->in_exchange = IKEV2_EXCH_GSA_REGISTRATION;
		}
		if (sa->state == IKEV2_DELETE_SENT) {
			sa->state = IKEV2_DELETED;
			*res = IKEV2_CLOSED;
		} else {
			*res = IKEV2_DONE;
		}
		return 0;
	}
	default:
		return 0;
	}
}

const uint8_t *
ikev2_request(const struct ikev2_sa *sa, size_t *len)
{
	*len = sa->req_len;
	return sa->req_len != 0 ? sa->req : NULL;
}

const uint8_t *
ikev2_response(const struct ikev2_sa *sa, size_t *len)
{
	*len = sa->resp_len;
	return sa->resp_len != 0 ? sa->resp : NULL;
}

int
ikev2_request_build(struct ikev2_sa *sa, uint8_t exchange, uint8_t first, const uint8_t *inner,
		    size_t len)
{
	if (sa->state != IKEV2_ESTABLISHED)
		return -ENOTCONN;
	if (sa->req_len != 0)
		return -EBUSY;
	return seal_request(sa, exchange, first, inner, len);
}

int
ikev2_delete(struct ikev2_sa *sa)
{
	/* D: protocol IKE, no SPI, no SPIs (RFC 7296 3.11) */
	uint8_t d[8] = {IKEV2_P_NONE, 0, 0, 8, IKEV2_PROTO_IKE, 0, 0, 0};
	int rc = ikev2_request_build(sa, IKEV2_EXCH_INFORMATIONAL, IKEV2_P_DELETE, d, sizeof(d));

	if (rc == 0)
		sa->state = IKEV2_DELETE_SENT;
	return rc;
}

void
ikev2_sa_clear(struct ikev2_sa *sa)
{
	ikev2_dh_free(sa);
	gvpn_wipe(sa, sizeof(*sa));
}
