/* SPDX-License-Identifier: BSD-3-Clause */
/* The key server's side of Main Mode and GROUPKEY-PULL for the harnesses. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "fuzz_ike.h"

#define ID_IPV4_ADDR 1

const struct ike_conf fz_conf = {.psk = "fuzzing-pre-shared-key-0123",
				 .psk_len = 27,
				 .doi = 2,
				 .local_addr = 0x7f000002,
				 .n_props = 1,
				 .props = {{IKE_ENC_AES, 128, IKE_HASH_SHA1, 2, 3600}}};

static const uint8_t rcookie[8] = {'r', 'e', 's', 'p', 'o', 'n', 'd', 'r'};
static struct isakmp_buf out, msg;

static void
must(int ok)
{
	if (!ok)
		abort();
}

static void
init_hdr(struct isakmp_hdr *h, const struct ike_sa *sa, uint8_t exchange, uint32_t msgid)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->icookie, sa->icookie, 8);
	memcpy(h->rcookie, rcookie, 8);
	h->exchange = exchange;
	h->msgid = msgid;
}

/* What a message the harness wrote did; abort on a failure. */
static enum ike_result
mm_input(struct ike_sa *sa, const struct isakmp_buf *m)
{
	enum ike_result res;
	const char *why;

	must(ike_mm_input(sa, m->data, m->len, &out, &res, &why) == 0);
	return res;
}

const uint8_t fz_groups[FZ_N_GROUPS] = {2, 15, 16, 19, 20};

void
fz_mm_sent3_in(struct ike_sa *sa, uint8_t group)
{
	static struct ike_conf confs[FZ_N_GROUPS]; /* an SA keeps its conf */
	const struct ike_conf *conf = NULL;
	struct isakmp_hdr h;
	size_t off;

	for (unsigned int i = 0; i < FZ_N_GROUPS; i++)
		if (fz_groups[i] == group) {
			confs[i] = fz_conf;
			confs[i].props[0].group = group;
			conf = &confs[i];
		}
	must(conf != NULL && ike_mm_start(sa, conf, &out) == 0);
	/* one proposal offered: the member's own SA body is a valid choice */
	init_hdr(&h, sa, ISAKMP_EXCH_MAIN, 0);
	isakmp_buf_init(&msg, &h);
	off = isakmp_buf_begin(&msg, ISAKMP_P_SA);
	isakmp_buf_put(&msg, sa->sa_b, sa->sa_b_len);
	isakmp_buf_end(&msg, off);
	must(isakmp_buf_finish(&msg) == 0);
	must(mm_input(sa, &msg) == IKE_CONTINUE);
}

void
fz_mm_sent3(struct ike_sa *sa)
{
	fz_mm_sent3_in(sa, fz_conf.props[0].group);
}

void
fz_mm_sent5(struct ike_sa *sa)
{
	static const uint8_t y_bytes[32] = {0x5a, 0x17, 0x33, 0x81, 0x02, 0x44, 0x9f, 0x10,
					    0x5a, 0x17, 0x33, 0x81, 0x02, 0x44, 0x9f, 0x11};
	static const uint8_t nr[16] = "responder-nonce!";
	uint8_t gxr[IKE_DH_MAX];
	BIGNUM *p = BN_get_rfc2409_prime_1024(NULL), *g = BN_new(), *gy = BN_new();
	BIGNUM *y = BN_bin2bn(y_bytes, sizeof(y_bytes), NULL);
	BN_CTX *ctx = BN_CTX_new();
	struct isakmp_hdr h;
	size_t off;

	fz_mm_sent3(sa);
	must(p != NULL && g != NULL && gy != NULL && y != NULL && ctx != NULL);
	must(BN_set_word(g, 2) == 1 && BN_mod_exp(gy, g, y, p, ctx) == 1 &&
	     BN_bn2binpad(gy, gxr, (int)sa->g_len) > 0);
	init_hdr(&h, sa, ISAKMP_EXCH_MAIN, 0);
	isakmp_buf_init(&msg, &h);
	off = isakmp_buf_begin(&msg, ISAKMP_P_KE);
	isakmp_buf_put(&msg, gxr, sa->g_len);
	isakmp_buf_end(&msg, off);
	off = isakmp_buf_begin(&msg, ISAKMP_P_NONCE);
	isakmp_buf_put(&msg, nr, sizeof(nr));
	isakmp_buf_end(&msg, off);
	must(isakmp_buf_finish(&msg) == 0);
	must(mm_input(sa, &msg) == IKE_CONTINUE);
	BN_free(p);
	BN_free(g);
	BN_free(gy);
	BN_free(y);
	BN_CTX_free(ctx);
}

void
fz_mm_established(struct ike_sa *sa)
{
	uint8_t chain[4 + 8 + 4 + IKE_DIGEST_MAX] = {
	    ISAKMP_P_HASH, 0, 0, 12, ID_IPV4_ADDR, 17, 1, 0xf4, 127, 0, 0, 1};
	uint8_t iv[IKE_BLOCK_MAX];
	size_t len;

	fz_mm_sent5(sa);
	len = 12 + 4 + sa->prf_len;
	chain[15] = (uint8_t)(len - 12); /* HASH's length */
	fz_fix_hash_r(sa, ISAKMP_P_ID, chain, len);
	memcpy(iv, sa->iv, sizeof(iv));
	must(fz_seal(sa, iv, ISAKMP_EXCH_MAIN, 0, ISAKMP_P_ID, chain, len, &msg) == 0);
	must(mm_input(sa, &msg) == IKE_DONE);
}

int
fz_pull_sent1(struct ike_sa *sa, struct gdoi_pull *pull)
{
	static struct isakmp_buf m1;

	fz_mm_established(sa);
	return gdoi_pull_start(pull, sa, 1234, &m1) == 0 ? 0 : -1;
}

uint8_t *
fz_chain(const uint8_t *data, size_t len)
{
	static uint8_t chain[ISAKMP_MSG_MAX];

	if (len > sizeof(chain))
		return NULL;
	memcpy(chain, data, len);
	return chain;
}

size_t
fz_plain(const struct ike_sa *sa, int info, uint8_t first, const uint8_t *chain, size_t len,
	 uint8_t *buf, size_t room)
{
	size_t n = ISAKMP_HDR_LEN + len;

	if (n > room)
		return 0;
	memcpy(buf, sa->icookie, 8);
	memcpy(buf + 8, rcookie, 8);
	buf[16] = first;
	buf[17] = ISAKMP_VERSION;
	buf[18] = info ? ISAKMP_EXCH_INFO : ISAKMP_EXCH_MAIN;
	buf[19] = 0;
	memset(buf + 20, 0, 4);
	buf[24] = (uint8_t)(n >> 24);
	buf[25] = (uint8_t)(n >> 16);
	buf[26] = (uint8_t)(n >> 8);
	buf[27] = (uint8_t)n;
	memcpy(buf + ISAKMP_HDR_LEN, chain, len);
	return n;
}

void
fz_fix_hash_r(const struct ike_sa *sa, uint8_t first, uint8_t *chain, size_t len)
{
	static struct isakmp_msg m;
	const struct isakmp_payload *id, *hp;

	if (isakmp_parse_payloads(first, chain, len, 1, NULL, &m, NULL) != 0)
		return;
	id = hp = NULL; /* the first of each, as the member's script wants them */
	for (uint16_t i = 0; i < m.n; i++) {
		if (m.p[i].type == ISAKMP_P_ID && id == NULL)
			id = &m.p[i];
		if (m.p[i].type == ISAKMP_P_HASH && hp == NULL)
			hp = &m.p[i];
	}
	if (id == NULL || hp == NULL || hp->body_len != sa->prf_len)
		return;
	struct ike_chunk c[] = {{sa->gxr, sa->g_len},	  {sa->gxi, sa->g_len},
				{sa->rcookie, 8},	  {sa->icookie, 8},
				{sa->sa_b, sa->sa_b_len}, {id->body, id->body_len}};
	ike_prf(sa, sa->skeyid, sa->prf_len, c, 6, chain + (hp->body - chain));
}

void
fz_fix_hash(const struct ike_sa *sa, uint32_t msgid, const struct ike_chunk *pre, int npre,
	    uint8_t first, uint8_t *chain, size_t len)
{
	static struct isakmp_msg m;
	uint8_t mid[4] = {(uint8_t)(msgid >> 24), (uint8_t)(msgid >> 16), (uint8_t)(msgid >> 8),
			  (uint8_t)msgid};
	struct ike_chunk c[4];
	const struct isakmp_payload *last;

	if (npre > 2 || isakmp_parse_payloads(first, chain, len, 1, NULL, &m, NULL) != 0 ||
	    m.n < 1 || m.p[0].type != ISAKMP_P_HASH || m.p[0].body_len != sa->prf_len)
		return;
	last = &m.p[m.n - 1];
	c[0] = (struct ike_chunk){mid, 4};
	for (int i = 0; i < npre; i++)
		c[1 + i] = pre[i];
	c[1 + npre] =
	    m.n < 2 ? (struct ike_chunk){NULL, 0}
		    : (struct ike_chunk){m.p[1].raw, (size_t)(last->raw + last->len - m.p[1].raw)};
	ike_prf(sa, sa->skeyid_a, sa->prf_len, c, 2 + npre, chain + (m.p[0].body - chain));
}

int
fz_seal(const struct ike_sa *sa, uint8_t iv[IKE_BLOCK_MAX], uint8_t exchange, uint32_t msgid,
	uint8_t first, const uint8_t *chain, size_t len, struct isakmp_buf *b)
{
	struct isakmp_hdr h;

	if (len + ISAKMP_HDR_LEN + IKE_BLOCK_MAX > ISAKMP_MSG_MAX)
		return -1;
	init_hdr(&h, sa, exchange, msgid);
	isakmp_buf_init(b, &h);
	isakmp_buf_put(b, chain, len);
	b->data[16] = first;
	return ike_encrypt(sa, iv, b) == 0 ? 0 : -1;
}
