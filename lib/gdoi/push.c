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
 * verifies. doc/gdoi.md lists the wire choices.
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include "gvpn_common.h"
#include "gvpn_gdoi.h"

enum { ID_IPV4_ADDR = 1 };

#define GDOI_PUSH_DROP_ID(n, id, desc) [GDOI_PUSH_DROP_##n] = id,
static const char *const drop_ids[] = {GDOI_PUSH_DROP_LIST(GDOI_PUSH_DROP_ID)};
#undef GDOI_PUSH_DROP_ID

const char *
gdoi_push_drop_id(enum gdoi_push_drop d)
{
	return (unsigned int)d < GDOI_PUSH_DROP_MAX ? drop_ids[d] : "?";
}

/* The KEK's cipher and the length of its key (without the IV). */
static const EVP_CIPHER *
kek_cipher(const struct gdoi_kek *k, uint16_t *key_len)
{
	switch (k->alg) {
	case KEK_ALG_3DES:
		*key_len = 24;
		return EVP_des_ede3_cbc();
	case KEK_ALG_AES:
		switch (k->key_bits == 0 ? 128 : k->key_bits) {
		case 128:
			*key_len = 16;
			return EVP_aes_128_cbc();
		case 192:
			*key_len = 24;
			return EVP_aes_192_cbc();
		case 256:
			*key_len = 32;
			return EVP_aes_256_cbc();
		default:
			return NULL;
		}
	default:
		return NULL; /* DES: below the 112 bits RFC 6407 section 6 asks for */
	}
}

static const EVP_MD *
sig_md(uint8_t sig_hash)
{
	switch (sig_hash) {
	case SIG_HASH_SHA1:
		return EVP_sha1();
	case SIG_HASH_SHA256:
		return EVP_sha256();
	case SIG_HASH_SHA384:
		return EVP_sha384();
	case SIG_HASH_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

static EVP_PKEY *
sig_pubkey(const struct gdoi_kek *k)
{
	const uint8_t *p = k->sig_key;

	return d2i_PUBKEY(NULL, &p, k->sig_key_len);
}

int
gdoi_kek_check(struct gdoi_kek *k, const char **why)
{
	const EVP_CIPHER *c;
	uint16_t key_len = 0;
	EVP_PKEY *pub;
	int bits, rsa;

	c = kek_cipher(k, &key_len);
	if (c == NULL) {
		*why = "KEK algorithm not supported (3DES or AES-CBC)";
		return -ENOTSUP;
	}
	k->iv_len = (uint8_t)EVP_CIPHER_get_iv_length(c);
	if (k->key_len != k->iv_len + key_len) {
		*why = "KEK_ALGORITHM_KEY is not the explicit IV and a key of the KEK's length";
		return -EINVAL;
	}
	if (k->sig_alg != SIG_ALG_RSA || sig_md(k->sig_hash) == NULL) {
		*why = "KEK signature is not RSA with SHA-1 or SHA-2";
		return -ENOTSUP;
	}
	if (k->sig_key_len == 0 || (pub = sig_pubkey(k)) == NULL) {
		*why = "KEK signature key missing or not a public key";
		return -EINVAL;
	}
	rsa = EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;
	bits = EVP_PKEY_get_bits(pub);
	EVP_PKEY_free(pub);
	if (!rsa || bits < 1024 || (k->sig_key_bits != 0 && bits != k->sig_key_bits)) {
		*why = "KEK signature key is not an RSA key of the announced size (>= 1024 bits)";
		return -EINVAL;
	}
	return 0;
}

/* CBC-decrypt the body after the header with the KEK. */
static int
kek_decrypt(const struct gdoi_kek *k, const uint8_t *in, size_t len, uint8_t *out)
{
	uint16_t key_len;
	const EVP_CIPHER *c = kek_cipher(k, &key_len);
	EVP_CIPHER_CTX *ctx;
	int n = 0, ok;

	if (c == NULL || k->iv_len == 0 || len == 0 || len % k->iv_len != 0)
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL && EVP_DecryptInit_ex(ctx, c, NULL, k->key + k->iv_len, k->key) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_DecryptUpdate(ctx, out, &n, in, (int)len) == 1 && (size_t)n == len;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int
verify(const struct gdoi_kek *k, const uint8_t *hdr, const uint8_t *signed_part, size_t signed_len,
       const struct isakmp_payload *sig)
{
	EVP_PKEY *pub = sig_pubkey(k);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	/* RSASSA-PKCS1-v1_5 (RFC 6407 5.3.6.1) over "rekey" | HDR | payloads */
	ok = pub != NULL && ctx != NULL && sig->body_len == (size_t)EVP_PKEY_get_size(pub) &&
	     EVP_DigestVerifyInit(ctx, NULL, sig_md(k->sig_hash), NULL, pub) == 1 &&
	     EVP_DigestVerifyUpdate(ctx, "rekey", 5) == 1 &&
	     EVP_DigestVerifyUpdate(ctx, hdr, ISAKMP_HDR_LEN) == 1 &&
	     EVP_DigestVerifyUpdate(ctx, signed_part, signed_len) == 1 &&
	     EVP_DigestVerifyFinal(ctx, sig->body, sig->body_len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pub);
	return ok ? 0 : -1;
}

/* A Delete payload (RFC 6407 5.9): DOI, Protocol-ID, SPI size, SPIs. */
static int
parse_delete(const struct isakmp_payload *pl, struct gdoi_push *out, const char **why)
{
	const uint8_t *b = pl->body;
	uint8_t proto, spi_size;
	uint16_t n;

	if (pl->body_len < 8 || isakmp_get32(b) != GDOI_DOI) {
		*why = "Delete payload truncated or not of the GDOI DOI";
		return -1;
	}
	proto = b[4];
	spi_size = b[5];
	n = isakmp_get16(b + 6);
	if ((proto == 0 && spi_size != 16) || (proto == GDOI_PROTO_ESP && spi_size != 4) ||
	    (proto != 0 && proto != GDOI_PROTO_ESP) || (size_t)n * spi_size != pl->body_len - 8u) {
		*why = "Delete payload protocol, SPI size or count inconsistent";
		return -1;
	}
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *spi = b + 8 + (size_t)i * spi_size;
		struct gdoi_delete *d;
		static const uint8_t zero[16];

		if (out->n_deletes == GDOI_MAX_DELETES) {
			*why = "more deleted SPIs than supported";
			return -1;
		}
		d = &out->del[out->n_deletes++];
		d->protocol = proto;
		d->all = memcmp(spi, zero, spi_size) == 0;
		if (proto == 0)
			memcpy(d->kek_spi, spi, 16);
		else
			d->spi = isakmp_get32(spi);
	}
	return 0;
}

static int
drop(enum gdoi_push_drop *reason, enum gdoi_push_drop r, const char **why, const char *w)
{
	*reason = r;
	*why = w;
	return -1;
}

int
gdoi_push_input(const struct gdoi_kek *kek, uint32_t last_seq, const uint8_t *msg, size_t len,
		struct gdoi_push *out, enum gdoi_push_drop *reason, const char **why)
{
	uint8_t *plain = gdoi_plain_buf();
	const struct isakmp_payload *sig = NULL, *sa = NULL, *kd = NULL;
	struct isakmp_hdr hdr;
	struct isakmp_msg m;
	int rc;

	memset(out, 0, sizeof(*out));
	if (isakmp_parse_header(msg, len, &hdr) != ISAKMP_OK)
		return drop(reason, GDOI_PUSH_DROP_MALFORMED, why, "ISAKMP header malformed");
	if (plain == NULL)
		return drop(reason, GDOI_PUSH_DROP_MALFORMED, why, "no key memory for the message");
	if (kek == NULL || !kek->has_keys)
		return drop(reason, GDOI_PUSH_DROP_NO_KEK, why, "no KEK held");
	if (memcmp(msg, kek->spi, 16) != 0)
		return drop(reason, GDOI_PUSH_DROP_UNKNOWN_KEK, why, "cookies are not the KEK's SPI");
	if (hdr.exchange != ISAKMP_EXCH_GROUPKEY_PUSH || hdr.flags != ISAKMP_FLAG_ENC ||
	    hdr.msgid != 0)
		return drop(reason, GDOI_PUSH_DROP_MALFORMED, why,
			    "not a GROUPKEY-PUSH header (exchange 33, E flag only, message ID 0)");
	if (kek_decrypt(kek, msg + ISAKMP_HDR_LEN, len - ISAKMP_HDR_LEN, plain) != 0) {
		gvpn_wipe(plain, len); /* a failed decryption may have written some */
		return drop(reason, GDOI_PUSH_DROP_MALFORMED, why, "does not decrypt with the KEK");
	}
	rc = isakmp_parse_payloads(hdr.next, plain, len - ISAKMP_HDR_LEN, 1, &m);
	if (rc != ISAKMP_OK) {
		gvpn_wipe(plain, len);
		return drop(reason, GDOI_PUSH_DROP_MALFORMED, why, isakmp_err_name(rc));
	}
	/* SEQ, D*, [SA, KD], SIG: in that order, nothing else */
	if (m.n < 2 || m.p[0].type != ISAKMP_P_SEQ || m.p[0].body_len != 4 ||
	    m.p[m.n - 1].type != ISAKMP_P_SIG)
		goto malformed;
	sig = &m.p[m.n - 1];
	for (uint16_t i = 1; i + 1 < m.n; i++) {
		const struct isakmp_payload *p = &m.p[i];

		if (p->type == ISAKMP_P_DELETE && sa == NULL) {
			if (parse_delete(p, out, why) != 0) {
				*reason = GDOI_PUSH_DROP_MALFORMED;
				goto fail;
			}
		} else if (p->type == ISAKMP_P_SA && sa == NULL) {
			sa = p;
		} else if (p->type == ISAKMP_P_KD && sa != NULL && kd == NULL) {
			kd = p;
		} else {
			goto malformed;
		}
	}
	if ((sa == NULL) != (kd == NULL) || (sa == NULL && out->n_deletes == 0))
		goto malformed;
	out->seq = isakmp_get32(m.p[0].body);
	if (out->seq <= last_seq) {
		drop(reason, GDOI_PUSH_DROP_STALE_SEQ, why, "SEQ not newer than the last accepted");
		goto fail;
	}
	if (verify(kek, msg, plain, (size_t)(sig->raw - plain), sig) != 0) {
		drop(reason, GDOI_PUSH_DROP_BAD_SIGNATURE, why, "signature does not verify");
		goto fail;
	}
	if (sa != NULL) {
		rc = gdoi_parse_sa(sa->body, sa->body_len, &out->pol, why);
		if (rc == 0)
			rc = gdoi_parse_kd(kd->body, kd->body_len, &out->pol, why);
		if (rc == 0)
			rc = gdoi_policy_check_teks(&out->pol, why);
		if (rc != 0) {
			*reason = GDOI_PUSH_DROP_POLICY;
			goto fail;
		}
		out->has_policy = 1;
	}
	gvpn_wipe(plain, len);
	return 0;
malformed:
	drop(reason, GDOI_PUSH_DROP_MALFORMED, why, "payloads are not SEQ, D*, [SA, KD], SIG");
fail:
	gvpn_wipe(plain, len);
	gdoi_push_clear(out);
	return -1;
}

int
gdoi_push_ack(const struct gdoi_kek *kek, uint32_t seq, uint32_t member_addr,
	      struct isakmp_buf *out)
{
	static const char label[] = "GROUPKEY-PUSH ACK"; /* sent with its NUL */
	static const uint8_t zeros[EVP_MAX_MD_SIZE];
	struct isakmp_hdr h = {.exchange = ISAKMP_EXCH_GROUPKEY_PUSH_ACK};
	uint8_t ack_key[EVP_MAX_MD_SIZE], kdf_in[sizeof(label) + 16 + 2];
	unsigned int key_len = 0, hash_len = 0;
	const EVP_MD *md;
	size_t hash_at, off, seq_at;

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
	isakmp_buf_put8(out, ID_IPV4_ADDR);
	isakmp_buf_put8(out, 0);
	isakmp_buf_put16(out, 0);
	isakmp_buf_put32(out, member_addr);
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
