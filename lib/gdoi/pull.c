/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GROUPKEY-PULL, the group member's side (RFC 6407 3), under an IKEv1
 * phase-1 SA:
 *
 *  Member                              Key server
 *  HDR*, HASH(1), Ni, ID       -->
 *                              <--     HDR*, HASH(2), Nr, SA
 *  HDR*, HASH(3) [, GAP]       -->
 *                              <--     HDR*, HASH(4), [SEQ,] KD
 *
 * The key server's messages are checked against their scripts (below)
 * before they are read: what is not in the script, out of its order or
 * repeated is refused. Everything is parsed and validated (codec.c) before
 * anything is installed.
 */
#include <errno.h>
#include <string.h>

#include <openssl/rand.h>

#include "gvpn_common.h"
#include "gdoi_private.h"

enum { ID_KEY_ID = 11 }; /* RFC 2407 4.6.2.1 */

/* The key server's messages: X(line, payload, min, max). */
#define PULL2_SCRIPT(X)                                                                            \
	X(PULL2_HASH, HASH, 1, 1)                                                                  \
	X(PULL2_NONCE, NONCE, 1, 1)                                                                \
	X(PULL2_SA, SA, 1, 1)
#define PULL4_SCRIPT(X)                                                                            \
	X(PULL4_HASH, HASH, 1, 1)                                                                  \
	X(PULL4_SEQ, SEQ, 0, 1)                                                                    \
	X(PULL4_KD, KD, 1, 1)
/* An informational exchange under the phase-1 SA (RFC 2409 5.7): HASH(1),
 * then notifications or deletes. */
#define INFO_SCRIPT(X)                                                                             \
	X(INFO_HASH, HASH, 1, 1)                                                                   \
	X(INFO_N, NOTIFY, 0, 8)                                                                    \
	X(INFO_D, DELETE, 0, 16)

enum { PULL2_SCRIPT(ISAKMP_SCRIPT_INDEX) };
enum { PULL4_SCRIPT(ISAKMP_SCRIPT_INDEX) };
enum { INFO_SCRIPT(ISAKMP_SCRIPT_INDEX) };
ISAKMP_SCRIPT(pull2_script, "GROUPKEY-PULL message 2", PULL2_SCRIPT);
ISAKMP_SCRIPT(pull4_script, "GROUPKEY-PULL message 4", PULL4_SCRIPT);
ISAKMP_SCRIPT(info_script, "informational", INFO_SCRIPT);

static void
header(struct isakmp_buf *b, const struct ike_sa *sa, uint32_t msgid, uint8_t exchange)
{
	struct isakmp_hdr h = {.exchange = exchange, .msgid = msgid};

	memcpy(h.icookie, sa->icookie, 8);
	memcpy(h.rcookie, sa->rcookie, 8);
	isakmp_buf_init(b, &h);
}

/* Everything after the HASH payload up to the end of the last payload. */
static struct ike_chunk
after_hash(const struct isakmp_msg *m)
{
	const struct isakmp_payload *last = &m->p[m->n - 1];

	if (m->n < 2)
		return (struct ike_chunk){NULL, 0};
	return (struct ike_chunk){m->p[1].raw, (size_t)(last->raw + last->len - m->p[1].raw)};
}

/* Fill a HASH payload begun at @p off once the rest of the message is there. */
static void
fill_hash(const struct ike_sa *sa, struct isakmp_buf *b, size_t hash_at,
	  const struct ike_chunk *pre, int npre)
{
	struct ike_chunk c[4];
	size_t end = b->len, rest = hash_at + ISAKMP_GEN_LEN + sa->prf_len;

	c[0] = (struct ike_chunk){b->data + 20, 4}; /* the header's M-ID, as sent */
	for (int i = 0; i < npre; i++)
		c[1 + i] = pre[i];
	c[1 + npre] = (struct ike_chunk){b->data + rest, end - rest};
	ike_prf(sa, sa->skeyid_a, sa->prf_len, c, 2 + npre, b->data + hash_at + ISAKMP_GEN_LEN);
}

static int
pull_fail(const char **why, const char *msg, int err)
{
	*why = msg;
	return err;
}

int
gdoi_pull_start(struct gdoi_pull *p, const struct ike_sa *sa, uint32_t group_id,
		struct isakmp_buf *out)
{
	static const uint8_t zeros[IKE_DIGEST_MAX];
	size_t h, off;

	if (sa->state != IKE_ESTABLISHED)
		return -ENOTCONN;
	memset(p, 0, sizeof(*p));
	p->group_id = group_id;
	if (RAND_bytes((uint8_t *)&p->msgid, sizeof(p->msgid)) != 1 ||
	    RAND_bytes(p->ni, sizeof(p->ni)) != 1)
		return -EIO;
	if (p->msgid == 0)
		p->msgid = 1;
	ike_exchange_iv(sa, p->msgid, p->iv);
	header(out, sa, p->msgid, ISAKMP_EXCH_GROUPKEY_PULL);
	h = isakmp_buf_begin(out, ISAKMP_P_HASH);
	isakmp_buf_put(out, zeros, sa->prf_len);
	isakmp_buf_end(out, h);
	off = isakmp_buf_begin(out, ISAKMP_P_NONCE);
	isakmp_buf_put(out, p->ni, sizeof(p->ni));
	isakmp_buf_end(out, off);
	/* the group: ID_KEY_ID, 4-octet group number, big endian (RFC 6407 5.1) */
	off = isakmp_buf_begin(out, ISAKMP_P_ID);
	isakmp_buf_put8(out, ID_KEY_ID);
	isakmp_buf_put8(out, 0);
	isakmp_buf_put16(out, 0);
	isakmp_buf_put32(out, group_id);
	isakmp_buf_end(out, off);
	fill_hash(sa, out, h, NULL, 0);
	if (isakmp_buf_finish(out) != 0 || ike_encrypt(sa, p->iv, out) != 0)
		return -EIO;
	p->state = GDOI_PULL_SENT1;
	return 0;
}

/* Decrypt a message and check it against @p script; HASH, its first
 * payload, must verify. */
static int
open_msg(const struct ike_sa *sa, uint8_t *iv, const uint8_t *msg, size_t len, uint8_t *plain,
	 const struct isakmp_script *script, struct isakmp_msg *m, const struct ike_chunk *pre,
	 int npre, const char **why)
{
	uint8_t want[IKE_DIGEST_MAX], mid[4];
	size_t plen = ISAKMP_MSG_MAX;
	struct ike_chunk c[4];
	enum isakmp_err err;

	if (ike_decrypt(sa, iv, msg, len, plain, &plen) != 0)
		return pull_fail(why, "message does not decrypt", -EBADMSG);
	if (isakmp_parse_payloads(msg[16], plain, plen, 1, script, m, &err) != 0)
		return pull_fail(why, isakmp_err_name(err), -EBADMSG);
	/* every script here has HASH on its first line, once */
	if (m->p[0].body_len != sa->prf_len)
		return pull_fail(why, "HASH is not of the negotiated hash's size", -EBADMSG);
	memcpy(mid, msg + 20, 4);
	c[0] = (struct ike_chunk){mid, 4};
	for (int i = 0; i < npre; i++)
		c[1 + i] = pre[i];
	c[1 + npre] = after_hash(m);
	ike_prf(sa, sa->skeyid_a, sa->prf_len, c, 2 + npre, want);
	if (!gvpn_memeq_ct(want, m->p[0].body, sa->prf_len))
		return pull_fail(why, "HASH does not verify", -EACCES);
	return 0;
}

/* An encrypted informational exchange: the key server's notification. */
static int
informational(struct gdoi_pull *p, const struct ike_sa *sa, const uint8_t *msg, size_t len,
	      uint32_t msgid, uint8_t *plain, const char **why)
{
	uint8_t iv[IKE_BLOCK_MAX];
	const struct isakmp_payload *n;
	struct isakmp_msg m;
	const char *ignored;

	ike_exchange_iv(sa, msgid, iv);
	if (open_msg(sa, iv, msg, len, plain, &info_script, &m, NULL, 0, &ignored) != 0)
		return 0; /* unauthenticated: no effect on the exchange (IKE_IGNORED) */
	n = isakmp_line(&m, INFO_N);
	if (n == NULL)
		return pull_fail(why, "key server deleted the phase-1 SA", -ECONNRESET);
	p->notify = isakmp_get16(n->body + 6); /* DOI (4), protocol, SPI size, type */
	return pull_fail(why, "key server refused the registration with a notification",
			 -ECONNREFUSED);
}

/* Message 2: Nr and the group's policy; message 3 goes out. */
static int
take2(struct gdoi_pull *p, const struct ike_sa *sa, const uint8_t *msg, size_t len,
      struct isakmp_buf *out, uint8_t *plain, enum ike_result *res, const char **why)
{
	static const uint8_t zeros[IKE_DIGEST_MAX];
	struct ike_chunk pre[] = {{p->ni, sizeof(p->ni)}};
	const struct isakmp_payload *pl;
	uint8_t iv[IKE_BLOCK_MAX];
	struct isakmp_msg m;
	int rc;

	memcpy(iv, p->iv, sizeof(iv));
	if ((rc = open_msg(sa, iv, msg, len, plain, &pull2_script, &m, pre, 1, why)) != 0)
		return rc;
	pl = isakmp_line(&m, PULL2_NONCE);
	if (pl->body_len < 8 || pl->body_len > sizeof(p->nr))
		return pull_fail(why, "message 2 lacks a valid nonce", -EBADMSG);
	memcpy(p->nr, pl->body, pl->body_len);
	p->nr_len = pl->body_len;
	pl = isakmp_line(&m, PULL2_SA);
	if ((rc = gdoi_parse_sa(pl->body, pl->body_len, &p->pol, why)) != 0)
		return rc;
	memcpy(p->iv, iv, sizeof(iv));
	/* message 3: HASH(3) = prf(SKEYID_a, M-ID | Ni_b | Nr_b [| GAP]) */
	header(out, sa, p->msgid, ISAKMP_EXCH_GROUPKEY_PULL);
	size_t h = isakmp_buf_begin(out, ISAKMP_P_HASH);
	isakmp_buf_put(out, zeros, sa->prf_len);
	isakmp_buf_end(out, h);
	if (gdoi_policy_counter_mode(&p->pol)) {
		/* One Sender-ID: the member splits its IVs among its workers
		 * (RFC 6407 5.4, RFC 6054 3). */
		size_t g = isakmp_buf_begin(out, ISAKMP_P_GAP);

		isakmp_buf_attr(out, GAP_SENDER_ID_REQUEST, 1);
		isakmp_buf_end(out, g);
	}
	struct ike_chunk pre3[] = {{p->ni, sizeof(p->ni)}, {p->nr, p->nr_len}};
	fill_hash(sa, out, h, pre3, 2);
	if (isakmp_buf_finish(out) != 0 || ike_encrypt(sa, p->iv, out) != 0)
		return pull_fail(why, "message 3 not built", -EIO);
	p->state = GDOI_PULL_SENT3;
	*res = IKE_CONTINUE;
	return 0;
}

/* Message 4: [SEQ,] KD; the policy is complete and checked. */
static int
take4(struct gdoi_pull *p, const struct ike_sa *sa, const uint8_t *msg, size_t len, uint8_t *plain,
      enum ike_result *res, const char **why)
{
	struct ike_chunk pre[] = {{p->ni, sizeof(p->ni)}, {p->nr, p->nr_len}};
	const struct isakmp_payload *pl;
	uint8_t iv[IKE_BLOCK_MAX];
	struct isakmp_msg m;
	int rc;

	memcpy(iv, p->iv, sizeof(iv));
	if ((rc = open_msg(sa, iv, msg, len, plain, &pull4_script, &m, pre, 2, why)) != 0)
		return rc;
	pl = isakmp_line(&m, PULL4_SEQ);
	if (pl != NULL) {
		if (gdoi_parse_seq(pl, &p->pol.seq, why) != 0)
			return -EBADMSG;
		p->pol.has_seq = 1;
	}
	pl = isakmp_line(&m, PULL4_KD);
	rc = gdoi_parse_kd(pl->body, pl->body_len, &p->pol, why);
	if (rc == 0)
		rc = gdoi_policy_check(&p->pol, why);
	if (rc != 0)
		return rc;
	p->state = GDOI_PULL_DONE;
	*res = IKE_DONE;
	return 0;
}

static int
pull_input(struct gdoi_pull *p, const struct ike_sa *sa, const uint8_t *msg, size_t len,
	   struct isakmp_buf *out, uint8_t *plain, enum ike_result *res, const char **why)
{
	struct isakmp_hdr hdr;

	if (isakmp_parse_header(msg, len, &hdr, NULL) != 0 ||
	    memcmp(hdr.icookie, sa->icookie, 8) != 0 || memcmp(hdr.rcookie, sa->rcookie, 8) != 0 ||
	    !(hdr.flags & ISAKMP_FLAG_ENC))
		return 0;
	if (hdr.exchange == ISAKMP_EXCH_INFO)
		return informational(p, sa, msg, len, hdr.msgid, plain, why);
	if (hdr.exchange != ISAKMP_EXCH_GROUPKEY_PULL || hdr.msgid != p->msgid)
		return 0;
	if (p->state == GDOI_PULL_SENT1)
		return take2(p, sa, msg, len, out, plain, res, why);
	if (p->state == GDOI_PULL_SENT3)
		return take4(p, sa, msg, len, plain, res, why);
	return 0;
}

int
gdoi_pull_input(struct gdoi_pull *p, const struct ike_sa *sa, const uint8_t *msg, size_t len,
		struct isakmp_buf *out, enum ike_result *res, const char **why)
{
	uint8_t *plain = gdoi_plain_buf();
	int rc;

	*res = IKE_IGNORED;
	*why = NULL;
	if (plain == NULL)
		return pull_fail(why, "no key memory for the message", -ENOMEM);
	rc = pull_input(p, sa, msg, len, out, plain, res, why);
	/* Whatever the outcome, the plaintext (message 4: TEK and KEK keys)
	 * is gone before the next step; it is never longer than the message. */
	gvpn_wipe(plain, len < ISAKMP_MSG_MAX ? len : ISAKMP_MSG_MAX);
	return rc;
}

void
gdoi_pull_clear(struct gdoi_pull *p)
{
	gvpn_wipe(p, sizeof(*p));
}
