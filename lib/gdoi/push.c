/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GROUPKEY-PUSH, the key server's rekey message (RFC 6407 section 4), and
 * its acknowledgement (RFC 8263):
 *
 *   Member                              Key server
 *                               <--     HDR*, SEQ, [D,] [SA, KD,] SIG
 *   HDR, HASH, SEQ, ID          -->     (when the KEK asks for it)
 *
 * HDR's cookies are the KEK's SPI; everything after HDR is encrypted with
 * the KEK (CBC, the explicit IV of KEK_ALGORITHM_KEY). SIG signs "rekey" |
 * HDR | the payloads before SIG. Nothing in a push is believed until the
 * cookies match, it decrypts and parses, its SEQ is new and its signature
 * verifies; the payloads are checked against the push script (SEQ, D*,
 * [SA, KD], SIG) before any is read. doc/gdoi.md lists the wire choices.
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gvpn_common.h"
#include "gdoi_private.h"

enum { ID_IPV4_ADDR = 1, ID_IPV6_ADDR = 5 };

#define GDOI_PUSH_DROP_ID(n, id, desc) [GDOI_PUSH_DROP_##n] = id,
static const char *const drop_ids[] = {GDOI_PUSH_DROP_LIST(GDOI_PUSH_DROP_ID)};
#undef GDOI_PUSH_DROP_ID

const char *
gdoi_push_drop_id(enum gdoi_push_drop d)
{
	return (unsigned int)d < GDOI_PUSH_DROP_MAX ? drop_ids[d] : "?";
}

static int
drop(enum gdoi_push_drop *reason, enum gdoi_push_drop r, const char **why, const char *w, int err)
{
	*reason = r;
	*why = w;
	return err;
}

/* The push, after HDR* (RFC 6407 4): SEQ, D*, [SA, KD], SIG; X(line, payload, min, max). */
#define PUSH_SCRIPT(X)                                                                             \
	X(PUSH_SEQ, SEQ, 1, 1)                                                                     \
	X(PUSH_D, DELETE, 0, GDOI_MAX_DELETES)                                                     \
	X(PUSH_SA, SA, 0, 1)                                                                       \
	X(PUSH_KD, KD, 0, 1)                                                                       \
	X(PUSH_SIG, SIG, 1, 1)
enum { PUSH_SCRIPT(ISAKMP_SCRIPT_INDEX) };
ISAKMP_SCRIPT(push_script, "GROUPKEY-PUSH", PUSH_SCRIPT);

/* The payloads, read and checked before anything in them is believed. */
static int
push_open(const struct gdoi_kek *kek, uint32_t last_seq, enum gdoi_habits habits,
	  const uint8_t *msg, size_t len, const struct isakmp_hdr *hdr, uint8_t *plain,
	  struct gdoi_push *out, enum gdoi_push_drop *reason, const char **why)
{
	const struct isakmp_payload *sig, *sa, *kd;
	struct isakmp_msg m;
	enum isakmp_err err;
	int rc;

	if (gdoi_kek_decrypt(kek, msg + ISAKMP_HDR_LEN, len - ISAKMP_HDR_LEN, plain) != 0)
		return drop(reason, GDOI_PUSH_DROP_MALFORMED, why, "does not decrypt with the KEK",
			    -EBADMSG);
	if (isakmp_parse_payloads(hdr->next, plain, len - ISAKMP_HDR_LEN, 1, &push_script, &m,
				  &err) != 0)
		return drop(reason, GDOI_PUSH_DROP_MALFORMED, why,
			    err == ISAKMP_ERR_UNEXPECTED_PAYLOAD ||
				    err == ISAKMP_ERR_OUT_OF_ORDER || err == ISAKMP_ERR_DUPLICATE ||
				    err == ISAKMP_ERR_MISSING
				? "payloads are not SEQ, D*, [SA, KD], SIG"
				: isakmp_err_name(err),
			    -EBADMSG);
	sa = isakmp_line(&m, PUSH_SA);
	kd = isakmp_line(&m, PUSH_KD);
	sig = isakmp_line(&m, PUSH_SIG);
	if ((sa == NULL) != (kd == NULL) || (sa == NULL && m.count[PUSH_D] == 0))
		return drop(reason, GDOI_PUSH_DROP_MALFORMED, why,
			    "payloads are not SEQ, D*, [SA, KD], SIG", -EBADMSG);
	if (gdoi_parse_seq(isakmp_line(&m, PUSH_SEQ), &out->seq, why) != 0)
		return drop(reason, GDOI_PUSH_DROP_MALFORMED, why, *why, -EBADMSG);
	for (uint16_t i = 0; i < m.count[PUSH_D]; i++)
		if (gdoi_parse_delete(&m.p[m.first[PUSH_D] + i], out, why) != 0)
			return drop(reason, GDOI_PUSH_DROP_MALFORMED, why, *why, -EBADMSG);
	if (out->seq <= last_seq)
		return drop(reason, GDOI_PUSH_DROP_STALE_SEQ, why,
			    "SEQ not newer than the last accepted", -ESTALE);
	if (gdoi_kek_verify(kek, msg, plain, (size_t)(sig->raw - plain), sig, habits) != 0)
		return drop(reason, GDOI_PUSH_DROP_BAD_SIGNATURE, why, "signature does not verify",
			    -EACCES);
	if (sa != NULL) {
		rc = gdoi_parse_sa(sa->body, sa->body_len, &out->pol, why);
		/* the reference key server sends a new KEK's keys under the
		 * SPI of the one it replaces: taken only for the one KEK the
		 * SA announces, and only when the group opted in */
		if (rc == 0 && habits == GDOI_HABITS_REFERENCE && out->pol.has_kek &&
		    memcmp(out->pol.kek.spi, kek->spi, 16) != 0) {
			out->pol.has_kek_alias = 1;
			memcpy(out->pol.kek_alias, kek->spi, 16);
		}
		if (rc == 0)
			rc = gdoi_parse_kd(kd->body, kd->body_len, &out->pol, why);
		if (rc == 0)
			rc = gdoi_policy_check_teks(&out->pol, why);
		if (rc != 0) {
			*reason = GDOI_PUSH_DROP_POLICY;
			return rc;
		}
		out->has_policy = 1;
	}
	return 0;
}

int
gdoi_push_input(const struct gdoi_kek *kek, uint32_t last_seq, enum gdoi_habits habits,
		const uint8_t *msg, size_t len, struct gdoi_push *out, enum gdoi_push_drop *reason,
		const char **why)
{
	uint8_t *plain = gdoi_plain_buf();
	struct isakmp_hdr hdr;
	int rc;

	memset(out, 0, sizeof(*out));
	if (isakmp_parse_header(msg, len, &hdr, NULL) != 0)
		return drop(reason, GDOI_PUSH_DROP_MALFORMED, why, "ISAKMP header malformed",
			    -EBADMSG);
	if (plain == NULL)
		return drop(reason, GDOI_PUSH_DROP_MALFORMED, why, "no key memory for the message",
			    -ENOMEM);
	if (kek == NULL || !kek->has_keys)
		return drop(reason, GDOI_PUSH_DROP_NO_KEK, why, "no KEK held", -ENOKEY);
	if (memcmp(msg, kek->spi, 16) != 0)
		return drop(reason, GDOI_PUSH_DROP_UNKNOWN_KEK, why,
			    "cookies are not the KEK's SPI", -ENOKEY);
	if (hdr.exchange != ISAKMP_EXCH_GROUPKEY_PUSH || hdr.flags != ISAKMP_FLAG_ENC ||
	    hdr.msgid != 0)
		return drop(reason, GDOI_PUSH_DROP_MALFORMED, why,
			    "not a GROUPKEY-PUSH header (exchange 33, E flag only, message ID 0)",
			    -EBADMSG);
	rc = push_open(kek, last_seq, habits, msg, len, &hdr, plain, out, reason, why);
	/* a failed decryption may have written some: wiped on every path */
	gvpn_wipe(plain, len);
	if (rc != 0)
		gdoi_push_clear(out);
	return rc;
}

int
gdoi_push_ack(const struct gdoi_kek *kek, uint32_t seq, const uint8_t *member, size_t member_len,
	      struct isakmp_buf *out)
{
	static const char label[] = "GROUPKEY-PUSH ACK"; /* sent with its NUL */
	static const uint8_t zeros[EVP_MAX_MD_SIZE];
	struct isakmp_hdr h = {.exchange = ISAKMP_EXCH_GROUPKEY_PUSH_ACK};
	uint8_t ack_key[EVP_MAX_MD_SIZE], kdf_in[sizeof(label) + 16 + 2];
	unsigned int key_len = 0, hash_len = 0;
	const EVP_MD *md;
	size_t hash_at, off, seq_at;

	if (member_len != 4 && member_len != 16)
		return -EINVAL;
	switch (kek->ack_requested) {
	case REKEY_ACK_KEK_SHA256:
		md = EVP_sha256();
		break;
	case REKEY_ACK_KEK_SHA512:
		md = EVP_sha512();
		break;
	default:
		return -ENOTSUP; /* LKH types need an LKH array we never hold */
	}
	/*
	 * RFC 8263 3.2: ack_key = prf(base_key, "GROUPKEY-PUSH ACK" | SPI | L),
	 * base_key = KEK_ALGORITHM_KEY without its IV, L = 512 bits for
	 * HMAC-SHA-256 (1024 for SHA-512) as two octets; HASH = prf(ack_key,
	 * SEQ | ID), both payloads whole.
	 */
	memcpy(kdf_in, label, sizeof(label));
	memcpy(kdf_in + sizeof(label), kek->spi, 16);
	kdf_in[sizeof(label) + 16] = (uint8_t)(EVP_MD_get_block_size(md) * 8 >> 8);
	kdf_in[sizeof(label) + 17] = (uint8_t)(EVP_MD_get_block_size(md) * 8);
	if (HMAC(md, kek->key + kek->iv_len, kek->key_len - kek->iv_len, kdf_in, sizeof(kdf_in),
		 ack_key, &key_len) == NULL)
		return -EIO;
	memcpy(h.icookie, kek->spi, 8);
	memcpy(h.rcookie, kek->spi + 8, 8);
	isakmp_buf_init(out, &h);
	hash_at = isakmp_buf_begin(out, ISAKMP_P_HASH);
	isakmp_buf_put(out, zeros, (size_t)EVP_MD_get_size(md)); /* filled below */
	isakmp_buf_end(out, hash_at);
	seq_at = off = isakmp_buf_begin(out, ISAKMP_P_SEQ);
	isakmp_buf_put32(out, seq);
	isakmp_buf_end(out, off);
	off = isakmp_buf_begin(out, ISAKMP_P_ID);
	isakmp_buf_put8(out, member_len == 4 ? ID_IPV4_ADDR : ID_IPV6_ADDR);
	isakmp_buf_put8(out, 0);
	isakmp_buf_put16(out, 0);
	isakmp_buf_put(out, member, member_len);
	isakmp_buf_end(out, off);
	if (isakmp_buf_finish(out) != 0 ||
	    HMAC(md, ack_key, key_len, out->data + seq_at, out->len - seq_at,
		 out->data + hash_at + ISAKMP_GEN_LEN, &hash_len) == NULL) {
		gvpn_wipe(ack_key, sizeof(ack_key));
		return -EIO;
	}
	gvpn_wipe(ack_key, sizeof(ack_key));
	return 0;
}

void
gdoi_push_clear(struct gdoi_push *p)
{
	gvpn_wipe(p, sizeof(*p));
}
