/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IKEv1 Main Mode with a pre-shared key, initiator side (RFC 2409).
 *
 *  Initiator                          Responder
 *  HDR, SA                     -->
 *                              <--    HDR, SA
 *  HDR, KE, Ni                 -->
 *                              <--    HDR, KE, Nr
 *  HDR*, IDii, HASH_I          -->
 *                              <--    HDR*, IDir, HASH_R
 *
 * Each answer is checked against its script (below) before it is read;
 * a responder may add notifications and vendor IDs after what the exchange
 * needs (RFC 2408 3.14, 3.16), nothing else.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "gvpn_common.h"
#include "ike_private.h"

/* The responder's messages: X(line, payload, min, max). */
#define MM2_SCRIPT(X)                                                                              \
	X(MM2_SA, SA, 1, 1)                                                                        \
	X(MM2_N, NOTIFY, 0, 8)                                                                     \
	X(MM2_VID, VID, 0, 16)
#define MM4_SCRIPT(X)                                                                              \
	X(MM4_KE, KE, 1, 1)                                                                        \
	X(MM4_NONCE, NONCE, 1, 1)                                                                  \
	X(MM4_N, NOTIFY, 0, 8)                                                                     \
	X(MM4_VID, VID, 0, 16)
#define MM6_SCRIPT(X)                                                                              \
	X(MM6_ID, ID, 1, 1)                                                                        \
	X(MM6_HASH, HASH, 1, 1)                                                                    \
	X(MM6_N, NOTIFY, 0, 8)                                                                     \
	X(MM6_VID, VID, 0, 16)
/* A notification in the clear before phase 1 has keys (RFC 2408 4.8). */
#define INFO_CLEAR_SCRIPT(X) X(INFO_N, NOTIFY, 1, 1)

enum { MM2_SCRIPT(ISAKMP_SCRIPT_INDEX) };
enum { MM4_SCRIPT(ISAKMP_SCRIPT_INDEX) };
enum { MM6_SCRIPT(ISAKMP_SCRIPT_INDEX) };
enum { INFO_CLEAR_SCRIPT(ISAKMP_SCRIPT_INDEX) };
ISAKMP_SCRIPT(mm2_script, "Main Mode message 2", MM2_SCRIPT);
ISAKMP_SCRIPT(mm4_script, "Main Mode message 4", MM4_SCRIPT);
ISAKMP_SCRIPT(mm6_script, "Main Mode message 6", MM6_SCRIPT);
ISAKMP_SCRIPT(info_clear_script, "informational in the clear", INFO_CLEAR_SCRIPT);

#define SIT_IDENTITY_ONLY 1
#define PROTO_ISAKMP 1
#define KEY_IKE 1
#define ID_IPV4_ADDR 1
#define ID_IPV6_ADDR 5

/* IKE SA attribute types (RFC 2409 appendix A) */
enum {
	ATTR_ENC = 1,
	ATTR_HASH = 2,
	ATTR_AUTH = 3,
	ATTR_GROUP = 4,
	ATTR_LIFE_TYPE = 11,
	ATTR_LIFE_DURATION = 12,
	ATTR_KEY_LENGTH = 14,
};

static const EVP_MD *
md_of(uint8_t hash)
{
	switch (hash) {
	case IKE_HASH_MD5:
		return EVP_md5();
	case IKE_HASH_SHA1:
		return EVP_sha1();
	case IKE_HASH_SHA256:
		return EVP_sha256();
	default:
		return NULL;
	}
}

static EVP_CIPHER *des_cbc;

static void
load_legacy(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	if (OSSL_PROVIDER_load(NULL, "legacy") != NULL && OSSL_PROVIDER_load(NULL, "default"))
		des_cbc = EVP_CIPHER_fetch(NULL, "DES-CBC", NULL);
}

static const EVP_CIPHER *
cipher_of(const struct ike_proposal *p)
{
	switch (p->enc) {
	case IKE_ENC_DES:
		load_legacy();
		return des_cbc;
	case IKE_ENC_3DES:
		return EVP_des_ede3_cbc();
	case IKE_ENC_AES:
		return p->key_bits == 128   ? EVP_aes_128_cbc()
		       : p->key_bits == 192 ? EVP_aes_192_cbc()
		       : p->key_bits == 256 ? EVP_aes_256_cbc()
					    : NULL;
	default:
		return NULL;
	}
}

static int
fail(struct ike_sa *sa, const char **why, const char *msg, int err)
{
	sa->state = IKE_FAILED;
	*why = msg;
	return err;
}

unsigned int
ike_prf(const struct ike_sa *sa, const uint8_t *key, size_t key_len, const struct ike_chunk *c,
	int n, uint8_t *out)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	size_t len = 0;

	params[0] = OSSL_PARAM_construct_utf8_string(
	    "digest", (char *)EVP_MD_get0_name(md_of(sa->chosen.hash)), 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx != NULL && EVP_MAC_init(ctx, key, key_len, params) == 1) {
		for (int i = 0; i < n; i++)
			EVP_MAC_update(ctx, c[i].p, c[i].len);
		EVP_MAC_final(ctx, out, &len, IKE_DIGEST_MAX);
	}
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return (unsigned int)len;
}

static unsigned int
hash(uint8_t alg, const struct ike_chunk *c, int n, uint8_t *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;

	if (ctx != NULL && EVP_DigestInit_ex(ctx, md_of(alg), NULL) == 1) {
		for (int i = 0; i < n; i++)
			EVP_DigestUpdate(ctx, c[i].p, c[i].len);
		EVP_DigestFinal_ex(ctx, out, &len);
	}
	EVP_MD_CTX_free(ctx);
	return len;
}

/* The SA payload body of message 1: DOI, situation, one proposal with one
 * transform per configured proposal. */
static void
build_sa_body(struct ike_sa *sa)
{
	const struct ike_conf *c = sa->conf;
	uint8_t *b = sa->sa_b;
	size_t n = 0, prop_off;

#define P8(v) (b[n++] = (uint8_t)(v))
#define P16(v) (P8((v) >> 8), P8(v))
#define P32(v) (P16((v) >> 16), P16(v))
	P32(c->doi);
	/* IPsec DOI: SIT_IDENTITY_ONLY; GDOI DOI: a zero situation (RFC 6407 2.1) */
	P32(c->doi == ISAKMP_DOI_IPSEC ? SIT_IDENTITY_ONLY : 0);
	prop_off = n;
	P8(ISAKMP_P_NONE); /* last proposal */
	P8(0);
	P16(0); /* length, set below */
	P8(1);	/* proposal # */
	P8(PROTO_ISAKMP);
	P8(0); /* SPI size */
	P8(c->n_props);
	for (unsigned int i = 0; i < c->n_props; i++) {
		const struct ike_proposal *p = &c->props[i];
		size_t t_off = n;

		P8(i + 1 < c->n_props ? ISAKMP_P_TRANSFORM : ISAKMP_P_NONE);
		P8(0);
		P16(0);
		P8(i + 1); /* transform # */
		P8(KEY_IKE);
		P16(0);
		P16(0x8000 | ATTR_ENC);
		P16(p->enc);
		if (p->enc == IKE_ENC_AES) {
			P16(0x8000 | ATTR_KEY_LENGTH);
			P16(p->key_bits);
		}
		P16(0x8000 | ATTR_HASH);
		P16(p->hash);
		P16(0x8000 | ATTR_AUTH);
		P16(IKE_AUTH_PSK);
		P16(0x8000 | ATTR_GROUP);
		P16(p->group);
		P16(0x8000 | ATTR_LIFE_TYPE);
		P16(1); /* seconds */
		P16(ATTR_LIFE_DURATION);
		P16(4);
		P32(p->lifetime);
		b[t_off + 2] = (uint8_t)((n - t_off) >> 8);
		b[t_off + 3] = (uint8_t)(n - t_off);
	}
	b[prop_off + 2] = (uint8_t)((n - prop_off) >> 8);
	b[prop_off + 3] = (uint8_t)(n - prop_off);
	sa->sa_b_len = n;
#undef P8
#undef P16
#undef P32
}

int
ike_mm_start(struct ike_sa *sa, const struct ike_conf *conf, struct isakmp_buf *out)
{
	struct isakmp_hdr h = {.exchange = ISAKMP_EXCH_MAIN};
	size_t off;

	if (conf->n_props == 0 || conf->n_props > IKE_MAX_PROPOSALS || conf->psk_len < IKE_PSK_MIN)
		return -EINVAL;
	for (unsigned int i = 0; i < conf->n_props; i++)
		if (ike_dh_ke_len(conf->props[i].group) == 0)
			return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->conf = conf;
	if (RAND_bytes(sa->icookie, sizeof(sa->icookie)) != 1)
		return -EIO;
	build_sa_body(sa);
	memcpy(h.icookie, sa->icookie, 8);
	isakmp_buf_init(out, &h);
	off = isakmp_buf_begin(out, ISAKMP_P_SA);
	isakmp_buf_put(out, sa->sa_b, sa->sa_b_len);
	isakmp_buf_end(out, off);
	sa->state = IKE_MM_SENT1;
	return isakmp_buf_finish(out);
}

/* The responder's choice: one proposal with one transform, which must be
 * one we offered. */
static int
take_choice(struct ike_sa *sa, const struct isakmp_payload *p)
{
	const uint8_t *b = p->body;
	size_t len = p->body_len, tlen;
	struct ike_proposal got = {0};
	struct isakmp_attr a;
	const uint8_t *attrs;
	size_t alen;
	int rc;

	/* DOI, situation, proposal header (4 + 4), transform header (4 + 4) */
	if (len < 8 + 8 + 8)
		return -EBADMSG;
	if (b[8 + 7] != 1 || b[8 + 5] != PROTO_ISAKMP || b[8 + 6] != 0)
		return -EBADMSG;
	tlen = (size_t)(b[16 + 2] << 8 | b[16 + 3]);
	if (tlen < 8 || tlen > len - 16 || b[16 + 5] != KEY_IKE)
		return -EBADMSG;
	attrs = b + 24;
	alen = tlen - 8;
	while ((rc = isakmp_attr_next(&attrs, &alen, &a)) == 1) {
		switch (a.type) {
		case ATTR_ENC:
			got.enc = (uint8_t)a.value;
			break;
		case ATTR_KEY_LENGTH:
			got.key_bits = (uint16_t)a.value;
			break;
		case ATTR_HASH:
			got.hash = (uint8_t)a.value;
			break;
		case ATTR_GROUP:
			got.group = (uint8_t)a.value;
			break;
		case ATTR_LIFE_DURATION:
			got.lifetime = a.value;
			break;
		case ATTR_AUTH:
			if (a.value != IKE_AUTH_PSK)
				return -EBADMSG;
			break;
		default:
			break;
		}
	}
	if (rc < 0)
		return -EBADMSG;
	for (unsigned int i = 0; i < sa->conf->n_props; i++) {
		const struct ike_proposal *o = &sa->conf->props[i];

		if (o->enc == got.enc && o->hash == got.hash && o->group == got.group &&
		    (o->enc != IKE_ENC_AES || o->key_bits == got.key_bits)) {
			sa->chosen = *o;
			if (got.lifetime != 0 && got.lifetime < o->lifetime)
				sa->chosen.lifetime = got.lifetime;
			return 0;
		}
	}
	return -ENOPROTOOPT;
}

/* SKEYID, SKEYID_d/a/e, the encryption key and the first IV (RFC 2409
 * section 5 and appendix B). */
static int
derive(struct ike_sa *sa)
{
	const EVP_CIPHER *c = cipher_of(&sa->chosen);
	const uint8_t zero = 0, one = 1, two = 2;
	uint8_t k[IKE_DIGEST_MAX * 2], iv[IKE_DIGEST_MAX];
	unsigned int n, have;

	if (c == NULL)
		return -ENOTSUP;
	sa->block = (unsigned int)EVP_CIPHER_get_block_size(c);
	sa->key_len = (unsigned int)EVP_CIPHER_get_key_length(c);
	struct ike_chunk nonces[] = {{sa->ni, sizeof(sa->ni)}, {sa->nr, sa->nr_len}};
	sa->prf_len = ike_prf(sa, sa->conf->psk, sa->conf->psk_len, nonces, 2, sa->skeyid);
	if (sa->prf_len == 0)
		return -EIO;
	n = sa->prf_len;
	struct ike_chunk d[] = {
	    {sa->gxy, sa->s_len}, {sa->icookie, 8}, {sa->rcookie, 8}, {&zero, 1}};
	ike_prf(sa, sa->skeyid, n, d, 4, sa->skeyid_d);
	struct ike_chunk a[] = {
	    {sa->skeyid_d, n}, {sa->gxy, sa->s_len}, {sa->icookie, 8}, {sa->rcookie, 8}, {&one, 1}};
	ike_prf(sa, sa->skeyid, n, a, 5, sa->skeyid_a);
	struct ike_chunk e[] = {
	    {sa->skeyid_a, n}, {sa->gxy, sa->s_len}, {sa->icookie, 8}, {sa->rcookie, 8}, {&two, 1}};
	ike_prf(sa, sa->skeyid, n, e, 5, sa->skeyid_e);

	/* Key: SKEYID_e, expanded as K1 = prf(SKEYID_e, 0), K2 = prf(SKEYID_e,
	 * K1), ... when it is shorter than the cipher needs. */
	if (n >= sa->key_len) {
		memcpy(sa->key, sa->skeyid_e, sa->key_len);
	} else {
		struct ike_chunk z[] = {{&zero, 1}};

		ike_prf(sa, sa->skeyid_e, n, z, 1, k);
		for (have = n; have < sa->key_len; have += n) {
			struct ike_chunk prev[] = {{k + have - n, n}};

			ike_prf(sa, sa->skeyid_e, n, prev, 1, k + have);
		}
		memcpy(sa->key, k, sa->key_len);
		gvpn_wipe(k, sizeof(k));
	}
	struct ike_chunk g[] = {{sa->gxi, sa->g_len}, {sa->gxr, sa->g_len}};
	hash(sa->chosen.hash, g, 2, iv);
	memcpy(sa->iv, iv, sa->block);
	return 0;
}

static int
cbc(const struct ike_sa *sa, int enc, const uint8_t *iv, const uint8_t *in, uint8_t *out,
    size_t len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0, ok;

	ok = ctx != NULL &&
	     EVP_CipherInit_ex(ctx, cipher_of(&sa->chosen), NULL, sa->key, iv, enc) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_CipherUpdate(ctx, out, &l1, in, (int)len) == 1 &&
	     EVP_CipherFinal_ex(ctx, out + l1, &l2) == 1 && (size_t)(l1 + l2) == len;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

int
ike_encrypt(const struct ike_sa *sa, uint8_t iv[IKE_BLOCK_MAX], struct isakmp_buf *b)
{
	size_t body = b->len - ISAKMP_HDR_LEN;
	size_t pad = (sa->block - body % sa->block) % sa->block;
	static const uint8_t zeros[IKE_BLOCK_MAX];
	int rc;

	isakmp_buf_put(b, zeros, pad);
	b->data[19] |= ISAKMP_FLAG_ENC;
	if ((rc = isakmp_buf_finish(b)) != 0)
		return rc;
	rc = cbc(sa, 1, iv, b->data + ISAKMP_HDR_LEN, b->data + ISAKMP_HDR_LEN,
		 b->len - ISAKMP_HDR_LEN);
	if (rc == 0)
		memcpy(iv, b->data + b->len - sa->block, sa->block);
	return rc;
}

int
ike_decrypt(const struct ike_sa *sa, uint8_t iv[IKE_BLOCK_MAX], const uint8_t *msg, size_t len,
	    uint8_t *out, size_t *out_len)
{
	size_t body = len - ISAKMP_HDR_LEN;
	int rc;

	if (len < ISAKMP_HDR_LEN + sa->block || body % sa->block != 0 || body > *out_len)
		return -EBADMSG;
	rc = cbc(sa, 0, iv, msg + ISAKMP_HDR_LEN, out, body);
	if (rc == 0) {
		memcpy(iv, msg + len - sa->block, sa->block);
		*out_len = body;
	}
	return rc;
}

void
ike_exchange_iv(const struct ike_sa *sa, uint32_t msgid, uint8_t iv[IKE_BLOCK_MAX])
{
	uint8_t m[4] = {(uint8_t)(msgid >> 24), (uint8_t)(msgid >> 16), (uint8_t)(msgid >> 8),
			(uint8_t)msgid};
	uint8_t h[IKE_DIGEST_MAX];
	struct ike_chunk c[] = {{sa->last_block, sa->block}, {m, 4}};

	hash(sa->chosen.hash, c, 2, h);
	memcpy(iv, h, sa->block);
}

/* ID payload body (RFC 2407 4.6.2): ID_IPV4_ADDR or ID_IPV6_ADDR, protocol
 * UDP, port 500. @return its length. */
static size_t
id_body(const struct ike_conf *conf, uint8_t *b)
{
	uint32_t addr = conf->local_addr;

	b[0] = conf->local_ipv6 ? ID_IPV6_ADDR : ID_IPV4_ADDR;
	b[1] = 17;
	b[2] = 0x01;
	b[3] = 0xf4;
	if (conf->local_ipv6) {
		memcpy(b + 4, conf->local_addr6, 16);
		return 20;
	}
	b[4] = (uint8_t)(addr >> 24);
	b[5] = (uint8_t)(addr >> 16);
	b[6] = (uint8_t)(addr >> 8);
	b[7] = (uint8_t)addr;
	return 8;
}

static int
send3(struct ike_sa *sa, struct isakmp_buf *out, enum ike_result *res, const char **why)
{
	struct isakmp_hdr h = {.exchange = ISAKMP_EXCH_MAIN};
	size_t off;

	if (RAND_bytes(sa->ni, sizeof(sa->ni)) != 1 || ike_dh_start(sa, NULL, 0) != 0)
		return fail(sa, why, "no randomness or DH failure", -EIO);
	memcpy(h.icookie, sa->icookie, 8);
	memcpy(h.rcookie, sa->rcookie, 8);
	isakmp_buf_init(out, &h);
	off = isakmp_buf_begin(out, ISAKMP_P_KE);
	isakmp_buf_put(out, sa->gxi, sa->g_len);
	isakmp_buf_end(out, off);
	off = isakmp_buf_begin(out, ISAKMP_P_NONCE);
	isakmp_buf_put(out, sa->ni, sizeof(sa->ni));
	isakmp_buf_end(out, off);
	if (isakmp_buf_finish(out) != 0)
		return fail(sa, why, "message 3 not built", -ENOSPC);
	sa->state = IKE_MM_SENT3;
	*res = IKE_CONTINUE;
	return 0;
}

static int
send5(struct ike_sa *sa, struct isakmp_buf *out, enum ike_result *res, const char **why)
{
	struct isakmp_hdr h = {.exchange = ISAKMP_EXCH_MAIN};
	uint8_t idb[20], hash_i[IKE_DIGEST_MAX];
	size_t off, idl = id_body(sa->conf, idb);

	struct ike_chunk c[] = {{sa->gxi, sa->g_len}, {sa->gxr, sa->g_len},	{sa->icookie, 8},
				{sa->rcookie, 8},     {sa->sa_b, sa->sa_b_len}, {idb, idl}};
	ike_prf(sa, sa->skeyid, sa->prf_len, c, 6, hash_i);
	memcpy(h.icookie, sa->icookie, 8);
	memcpy(h.rcookie, sa->rcookie, 8);
	isakmp_buf_init(out, &h);
	off = isakmp_buf_begin(out, ISAKMP_P_ID);
	isakmp_buf_put(out, idb, idl);
	isakmp_buf_end(out, off);
	off = isakmp_buf_begin(out, ISAKMP_P_HASH);
	isakmp_buf_put(out, hash_i, sa->prf_len);
	isakmp_buf_end(out, off);
	if (isakmp_buf_finish(out) != 0 || ike_encrypt(sa, sa->iv, out) != 0)
		return fail(sa, why, "message 5 not built", -EIO);
	sa->state = IKE_MM_SENT5;
	*res = IKE_CONTINUE;
	return 0;
}

static int
check6(struct ike_sa *sa, const uint8_t *msg, size_t len, enum ike_result *res, const char **why)
{
	uint8_t plain[ISAKMP_MSG_MAX], want[IKE_DIGEST_MAX], iv[IKE_BLOCK_MAX];
	size_t plen = sizeof(plain);
	const struct isakmp_payload *id, *hp;
	struct isakmp_msg m;
	enum isakmp_err err;

	memcpy(iv, sa->iv, sa->block);
	if (ike_decrypt(sa, iv, msg, len, plain, &plen) != 0)
		return fail(sa, why, "message 6 does not decrypt", -EBADMSG);
	if (isakmp_parse_payloads(msg[16], plain, plen, 1, &mm6_script, &m, &err) != 0)
		return fail(sa, why,
			    err == ISAKMP_ERR_MISSING
				? "message 6 lacks ID or HASH"
				: "message 6 malformed (wrong pre-shared key?)",
			    -EBADMSG);
	id = isakmp_line(&m, MM6_ID);
	hp = isakmp_line(&m, MM6_HASH);
	if (hp->body_len != sa->prf_len)
		return fail(sa, why, "message 6 HASH is not of the negotiated hash's size",
			    -EBADMSG);
	struct ike_chunk c[] = {{sa->gxr, sa->g_len},	  {sa->gxi, sa->g_len},
				{sa->rcookie, 8},	  {sa->icookie, 8},
				{sa->sa_b, sa->sa_b_len}, {id->body, id->body_len}};
	ike_prf(sa, sa->skeyid, sa->prf_len, c, 6, want);
	if (!gvpn_memeq_ct(want, hp->body, sa->prf_len))
		return fail(sa, why, "HASH_R does not verify (wrong pre-shared key?)", -EACCES);
	if (id->body_len >= 8 && id->body[0] == ID_IPV4_ADDR)
		sa->peer_addr = (uint32_t)id->body[4] << 24 | (uint32_t)id->body[5] << 16 |
				(uint32_t)id->body[6] << 8 | id->body[7];
	if (id->body_len == 20 && id->body[0] == ID_IPV6_ADDR) {
		sa->peer_ipv6 = 1;
		memcpy(sa->peer_addr6, id->body + 4, 16);
	}
	memcpy(sa->last_block, msg + len - sa->block, sa->block);
	memcpy(sa->iv, iv, sa->block);
	sa->state = IKE_ESTABLISHED;
	*res = IKE_DONE;
	return 0;
}

/* A notification in the clear (NO-PROPOSAL-CHOSEN, INVALID-COOKIE, ...)
 * before phase 1 has keys: anyone who saw our cookie can send one, so it
 * cannot end the exchange; the caller counts it and may name it when the
 * exchange times out. Anything but one notification is ignored. */
static void
notified(struct ike_sa *sa, const uint8_t *msg, size_t len, const struct isakmp_hdr *h,
	 enum ike_result *res)
{
	const struct isakmp_payload *n;
	struct isakmp_msg m;

	if (isakmp_parse_payloads(h->next, msg + ISAKMP_HDR_LEN, len - ISAKMP_HDR_LEN, 0,
				  &info_clear_script, &m, NULL) != 0)
		return;
	n = isakmp_line(&m, INFO_N);
	sa->notify = isakmp_get16(n->body + 6); /* DOI (4), protocol, SPI size, type */
	*res = IKE_NOTIFIED;
}

/* Message 2: the responder's SA, its choice among our proposals. */
static int
take2(struct ike_sa *sa, const uint8_t *msg, size_t len, const struct isakmp_hdr *h,
      struct isakmp_buf *out, enum ike_result *res, const char **why)
{
	struct isakmp_msg m;
	enum isakmp_err err;
	int rc;

	if (isakmp_parse_payloads(h->next, msg + ISAKMP_HDR_LEN, len - ISAKMP_HDR_LEN, 0,
				  &mm2_script, &m, &err) != 0)
		return fail(sa, why, isakmp_err_name(err), -EBADMSG);
	rc = take_choice(sa, isakmp_line(&m, MM2_SA));
	if (rc != 0)
		return fail(sa, why,
			    rc == -ENOPROTOOPT ? "responder chose no offered proposal"
					       : "message 2 SA malformed",
			    rc);
	memcpy(sa->rcookie, h->rcookie, 8);
	return send3(sa, out, res, why);
}

/* Message 4: the responder's KE and nonce; keys are derived. */
static int
take4(struct ike_sa *sa, const uint8_t *msg, size_t len, const struct isakmp_hdr *h,
      struct isakmp_buf *out, enum ike_result *res, const char **why)
{
	const struct isakmp_payload *ke, *nr;
	struct isakmp_msg m;
	enum isakmp_err err;
	int rc;

	if (isakmp_parse_payloads(h->next, msg + ISAKMP_HDR_LEN, len - ISAKMP_HDR_LEN, 0,
				  &mm4_script, &m, &err) != 0)
		return fail(sa, why, isakmp_err_name(err), -EBADMSG);
	ke = isakmp_line(&m, MM4_KE);
	nr = isakmp_line(&m, MM4_NONCE);
	if (ke->body_len != sa->g_len)
		return fail(sa, why, "message 4 KE is not of the group's length", -EBADMSG);
	if (nr->body_len < 8 || nr->body_len > sizeof(sa->nr))
		return fail(sa, why, "message 4 nonce is not 8 to 256 bytes", -EBADMSG);
	memcpy(sa->gxr, ke->body, sa->g_len);
	memcpy(sa->nr, nr->body, nr->body_len);
	sa->nr_len = nr->body_len;
	rc = ike_dh_finish(sa);
	if (rc != 0)
		return fail(sa, why,
			    rc == -EBADMSG ? "bad Diffie-Hellman public value"
					   : "Diffie-Hellman failed",
			    rc == -EBADMSG ? -EBADMSG : -EIO);
	if (derive(sa) != 0)
		return fail(sa, why, "key derivation failed", -EIO);
	return send5(sa, out, res, why);
}

int
ike_mm_input(struct ike_sa *sa, const uint8_t *msg, size_t len, struct isakmp_buf *out,
	     enum ike_result *res, const char **why)
{
	struct isakmp_hdr h;

	*res = IKE_IGNORED;
	*why = NULL;
	if (isakmp_parse_header(msg, len, &h, NULL) != 0 || memcmp(h.icookie, sa->icookie, 8) != 0)
		return 0;
	if (h.exchange == ISAKMP_EXCH_INFO && !(h.flags & ISAKMP_FLAG_ENC)) {
		notified(sa, msg, len, &h, res);
		return 0;
	}
	if (h.exchange != ISAKMP_EXCH_MAIN)
		return 0;
	switch (sa->state) {
	case IKE_MM_SENT1:
		if (h.flags & ISAKMP_FLAG_ENC)
			return 0;
		return take2(sa, msg, len, &h, out, res, why);
	case IKE_MM_SENT3:
		if ((h.flags & ISAKMP_FLAG_ENC) || memcmp(h.rcookie, sa->rcookie, 8) != 0)
			return 0;
		return take4(sa, msg, len, &h, out, res, why);
	case IKE_MM_SENT5:
		if (!(h.flags & ISAKMP_FLAG_ENC) || memcmp(h.rcookie, sa->rcookie, 8) != 0)
			return 0;
		return check6(sa, msg, len, res, why);
	default:
		return 0;
	}
}

void
ike_sa_clear(struct ike_sa *sa)
{
	BN_clear_free(sa->dh_x);
	gvpn_wipe(sa, sizeof(*sa));
}
