/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GROUPKEY-PUSH as a group member receives it (RFC 6407 4) and the RFC 8263
 * acknowledgement. Pushes are built here with OpenSSL directly, not with the
 * code under test: payloads, "rekey" | HDR | payloads signed with
 * RSASSA-PKCS1-v1_5, AES-CBC with the KEK's explicit IV. One table holds
 * every way a push can be wrong and the drop reason each must give.
 */
#include <errno.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "test_util.h"
#include "gvpn_gdoi.h"

static EVP_PKEY *ks_key, *other_key;
static struct gdoi_kek kek;

static const uint8_t kek_spi[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
				    0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xf0, 0x01};
static const uint8_t kek_iv_key[32] = {
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
static const uint8_t tek_key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t tek_auth[20] = {0x55};

/* --- a push builder of its own --- */

struct pb {
	uint8_t b[4096];
	size_t len, np_at; /* where the previous next-payload octet is */
};

static size_t
pb_begin(struct pb *p, uint8_t type)
{
	size_t at = p->len;

	p->b[p->np_at] = type;
	p->np_at = at;
	p->b[at] = 0;
	p->b[at + 1] = 0;
	p->len += 4;
	return at;
}

static void
pb_put(struct pb *p, const void *d, size_t n)
{
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

static void
pb_u8(struct pb *p, uint8_t v)
{
	pb_put(p, &v, 1);
}

static void
pb_u16(struct pb *p, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	pb_put(p, b, 2);
}

static void
pb_u32(struct pb *p, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	pb_put(p, b, 4);
}

static void
pb_end(struct pb *p, size_t at)
{
	p->b[at + 2] = (uint8_t)((p->len - at) >> 8);
	p->b[at + 3] = (uint8_t)(p->len - at);
}

struct push_opts {
	uint32_t seq;
	int with_sa;	      /* SA (GAP + one SAT) and KD */
	uint8_t transform;    /* of the SAT (12 = AES-CBC) */
	int new_kek;	      /* SAK + KEK key packet: 1 a new SPI, 2 the held one repeated */
	int bare_sig;	      /* signed as the GDOI reference key server signs */
	int kd_old_spi;	      /* with new_kek: its key packet under the held KEK's SPI */
	uint16_t sak_gap;     /* octets after the SA KEK's SPI: 0 = 4 (RFC 6407), 6, ... */
	uint8_t sak_gap_fill; /* their value past the fourth */
	int n_del;	      /* TEK deletes of SPI 0x2000 (first) and all KEKs (second) */
	int bad_del_size;
	int sa_without_kd;
	int dup_seq; /* a second SEQ right after the first */
	int no_sig;
	int flip_sig_bit;
	EVP_PKEY *signer;
	const EVP_MD *md;
	int wrong_cookies;
	int wrong_kek_key;
	uint8_t exchange, flags;
	int overrun;	      /* the SEQ payload claims more than there is */
	int trailing_garbage; /* length not a block multiple */
	/* the SAT's source and destination identifications as given (ID type,
	 * port, length, data), instead of 10.1.0.0/16 -> 10.2.0.0/16 */
	const uint8_t *sat_src, *sat_dst;
	size_t sat_src_len, sat_dst_len;
	/* the SA KEK's destination identification as given, instead of 10.0.0.2 */
	const uint8_t *sak_dst;
	size_t sak_dst_len;
};

static void
add_id(struct pb *p, uint32_t addr, uint32_t mask)
{
	pb_u8(p, mask == 0xffffffff ? 1 : 4);
	pb_u16(p, 0);
	pb_u8(p, mask == 0xffffffff ? 4 : 8);
	pb_u32(p, addr);
	if (mask != 0xffffffff)
		pb_u32(p, mask);
}

/*
 * The GDOI reference key server's signature (its gdoi_rekey.c): the digest
 * of "rekey" | HDR | payloads, with HDR's length the message's before
 * padding (@p unpadded), then PKCS #1 v1.5 type 1 padding of the bare
 * digest, no DigestInfo (RSA_private_encrypt()).
 */
static void
sign_bare_digest(const struct push_opts *o, EVP_PKEY *signer, const uint8_t *msg, size_t signed_end,
		 size_t unpadded, uint8_t *sig, size_t *sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(signer, NULL);
	uint8_t hdr[28], dg[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;

	memcpy(hdr, msg, 28);
	isakmp_set32(hdr + 24, (uint32_t)unpadded);
	assert_int_equal(EVP_DigestInit_ex(md, o->md != NULL ? o->md : EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(md, "rekey", 5), 1);
	assert_int_equal(EVP_DigestUpdate(md, hdr, 28), 1);
	assert_int_equal(EVP_DigestUpdate(md, msg + 28, signed_end - 28), 1);
	assert_int_equal(EVP_DigestFinal_ex(md, dg, &dl), 1);
	assert_int_equal(EVP_PKEY_sign_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_sign(pc, sig, sig_len, dg, dl), 1);
	EVP_PKEY_CTX_free(pc);
	EVP_MD_CTX_free(md);
}

static size_t
build_push(const struct push_opts *o, uint8_t *out)
{
	struct pb p = {.len = 28, .np_at = 16};
	uint8_t sig[1024], ct[4096];
	size_t sig_len = 0, at, body, total, padded;
	EVP_PKEY *signer = o->signer != NULL ? o->signer : ks_key;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
	uint8_t key[16];
	int n = 0;

	memset(p.b, 0, sizeof(p.b));
	memcpy(p.b, kek_spi, 16);
	if (o->wrong_cookies)
		p.b[3] ^= 0x40;
	p.b[17] = 0x10;
	p.b[18] = o->exchange != 0 ? o->exchange : 33;
	p.b[19] = o->flags != 0 ? o->flags : 1;
	at = pb_begin(&p, 18); /* SEQ */
	pb_u32(&p, o->seq);
	pb_end(&p, at);
	if (o->overrun)
		p.b[at + 3] = 0x80;
	if (o->dup_seq) {
		at = pb_begin(&p, 18);
		pb_u32(&p, o->seq);
		pb_end(&p, at);
	}
	for (int d = 0; d < o->n_del; d++) {
		at = pb_begin(&p, 12);
		pb_u32(&p, 2);
		if (d == 0) {
			pb_u8(&p, 1);
			pb_u8(&p, o->bad_del_size ? 5 : 4);
			pb_u16(&p, 1);
			pb_u32(&p, 0x2000);
			if (o->bad_del_size)
				pb_u8(&p, 0);
		} else {
			static const uint8_t zero[16];

			pb_u8(&p, 0);
			pb_u8(&p, 16);
			pb_u16(&p, 1);
			pb_put(&p, zero, 16);
		}
		pb_end(&p, at);
	}
	if (o->with_sa) {
		size_t sa = pb_begin(&p, 1), sub;

		pb_u32(&p, 2);
		pb_u32(&p, 0);
		pb_u16(&p, o->new_kek ? 15 : 22);
		pb_u16(&p, 0);
		p.np_at = sa; /* the chain inside the SA starts afresh */
		{
			/* the attribute payloads chain through their own next fields */
			size_t first = p.len;

			if (o->new_kek) {
				sub = first;
				p.b[sub] = 22;
				p.b[sub + 1] = 0;
				p.len += 4;
				pb_u8(&p, 17);
				add_id(&p, 0x0a000001, 0xffffffff);
				if (o->sak_dst != NULL)
					pb_put(&p, o->sak_dst, o->sak_dst_len);
				else
					add_id(&p, 0x0a000002, 0xffffffff);
				{
					uint8_t spi[16];

					memcpy(spi, kek_spi, 16);
					if (o->new_kek == 1)
						spi[15] ^= 0xff;
					pb_put(&p, spi, 16);
				}
				pb_u32(&p, 0);
				for (uint16_t i = 4; i < o->sak_gap; i++)
					pb_u8(&p, o->sak_gap_fill);
				pb_u16(&p, 0x8000 | 2); /* KEK_ALGORITHM AES */
				pb_u16(&p, 3);
				pb_u16(&p, 0x8000 | 3); /* KEK_KEY_LENGTH */
				pb_u16(&p, 128);
				pb_u16(&p, 0x8000 | 5); /* SIG_HASH SHA-256 */
				pb_u16(&p, 3);
				pb_u16(&p, 0x8000 | 6); /* SIG_ALG RSA */
				pb_u16(&p, 1);
				pb_u16(&p, 0x8000 | 9); /* KEK_ACK_REQUESTED SHA-256 */
				pb_u16(&p, 1);
				pb_end(&p, sub);
			}
			sub = p.len; /* GAP */
			p.b[sub] = 16;
			p.b[sub + 1] = 0;
			p.len += 4;
			pb_u16(&p, 0x8000 | 1);
			pb_u16(&p, 5); /* ATD */
			pb_u16(&p, 0x8000 | 2);
			pb_u16(&p, 20); /* DTD */
			pb_end(&p, sub);
			sub = p.len; /* SAT */
			p.b[sub] = 0;
			p.b[sub + 1] = 0;
			p.len += 4;
			pb_u8(&p, 1);
			pb_u8(&p, 0);
			if (o->sat_src != NULL) {
				pb_put(&p, o->sat_src, o->sat_src_len);
				pb_put(&p, o->sat_dst, o->sat_dst_len);
			} else {
				add_id(&p, 0x0a010000, 0xffff0000);
				add_id(&p, 0x0a020000, 0xffff0000);
			}
			pb_u8(&p, o->transform != 0 ? o->transform : 12);
			pb_u32(&p, 0x2001);
			pb_u16(&p, 0x8000 | 1);
			pb_u16(&p, 1);
			pb_u16(&p, 0x8000 | 2);
			pb_u16(&p, 600);
			pb_u16(&p, 0x8000 | 4);
			pb_u16(&p, 1);
			pb_u16(&p, 0x8000 | 5);
			pb_u16(&p, 2);
			pb_u16(&p, 0x8000 | 6);
			pb_u16(&p, 128);
			pb_end(&p, sub);
		}
		pb_end(&p, sa);
		p.np_at = sa;
		if (!o->sa_without_kd) {
			size_t kd = pb_begin(&p, 17), pk;

			pb_u16(&p, o->new_kek ? 2 : 1);
			pb_u16(&p, 0);
			pk = p.len;
			pb_u8(&p, 1);
			pb_u8(&p, 0);
			pb_u16(&p, 0);
			pb_u8(&p, 4);
			pb_u32(&p, 0x2001);
			pb_u16(&p, 1);
			pb_u16(&p, sizeof(tek_key));
			pb_put(&p, tek_key, sizeof(tek_key));
			pb_u16(&p, 2);
			pb_u16(&p, sizeof(tek_auth));
			pb_put(&p, tek_auth, sizeof(tek_auth));
			p.b[pk + 2] = (uint8_t)((p.len - pk) >> 8);
			p.b[pk + 3] = (uint8_t)(p.len - pk);
			if (o->new_kek) {
				uint8_t spi[16], der[1024], *dp = der;
				int dl = i2d_PUBKEY(ks_key, &dp);

				memcpy(spi, kek_spi, 16);
				if (o->new_kek == 1 && !o->kd_old_spi)
					spi[15] ^= 0xff;
				pk = p.len;
				pb_u8(&p, 2);
				pb_u8(&p, 0);
				pb_u16(&p, 0);
				pb_u8(&p, 16);
				pb_put(&p, spi, 16);
				pb_u16(&p, 1);
				pb_u16(&p, 32);
				pb_put(&p, kek_iv_key, 32);
				pb_u16(&p, 2);
				pb_u16(&p, (uint16_t)dl);
				pb_put(&p, der, (size_t)dl);
				p.b[pk + 2] = (uint8_t)((p.len - pk) >> 8);
				p.b[pk + 3] = (uint8_t)(p.len - pk);
			}
			pb_end(&p, kd);
		}
	}
	/* total length first: it is in the signed header */
	sig_len = (size_t)EVP_PKEY_get_size(signer);
	body = p.len - 28 + (o->no_sig ? 0 : 4 + sig_len);
	padded = (body + 15) / 16 * 16;
	total = 28 + padded + (o->trailing_garbage ? 3 : 0);
	p.b[24] = (uint8_t)(total >> 24);
	p.b[25] = (uint8_t)(total >> 16);
	p.b[26] = (uint8_t)(total >> 8);
	p.b[27] = (uint8_t)total;
	if (!o->no_sig) {
		size_t signed_end = p.len;

		p.b[p.np_at] = 9; /* the last signed payload names SIG next */
		if (o->bare_sig)
			sign_bare_digest(o, signer, p.b, signed_end, 28 + body, sig, &sig_len);
		else {
			assert_int_equal(EVP_DigestSignInit(md, NULL,
							    o->md != NULL ? o->md : EVP_sha256(),
							    NULL, signer),
					 1);
			assert_int_equal(EVP_DigestSignUpdate(md, "rekey", 5), 1);
			assert_int_equal(EVP_DigestSignUpdate(md, p.b, signed_end), 1);
			assert_int_equal(EVP_DigestSignFinal(md, sig, &sig_len), 1);
		}
		if (o->flip_sig_bit)
			sig[sig_len / 2] ^= 0x08;
		at = pb_begin(&p, 9);
		pb_put(&p, sig, sig_len);
		pb_end(&p, at);
	}
	memset(p.b + p.len, 0, 28 + padded - p.len);
	memcpy(key, kek_iv_key + 16, 16);
	if (o->wrong_kek_key)
		key[0] ^= 1;
	assert_int_equal(EVP_EncryptInit_ex(cx, EVP_aes_128_cbc(), NULL, key, kek_iv_key), 1);
	EVP_CIPHER_CTX_set_padding(cx, 0);
	assert_int_equal(EVP_EncryptUpdate(cx, ct, &n, p.b + 28, (int)padded), 1);
	memcpy(out, p.b, 28);
	memcpy(out + 28, ct, padded);
	if (o->trailing_garbage)
		memset(out + 28 + padded, 0xee, 3);
	EVP_MD_CTX_free(md);
	EVP_CIPHER_CTX_free(cx);
	return total;
}

static int
setup(void **state)
{
	uint8_t *p;
	int n;

	(void)state;
	ks_key = EVP_RSA_gen(2048);
	other_key = EVP_RSA_gen(2048);
	assert_non_null(ks_key);
	assert_non_null(other_key);
	memset(&kek, 0, sizeof(kek));
	memcpy(kek.spi, kek_spi, 16);
	kek.alg = KEK_ALG_AES;
	kek.key_bits = 128;
	kek.sig_alg = SIG_ALG_RSA;
	kek.sig_hash = SIG_HASH_SHA256;
	kek.sig_key_bits = 2048;
	kek.has_keys = 1;
	memcpy(kek.key, kek_iv_key, 32);
	kek.key_len = 32;
	p = kek.sig_key;
	n = i2d_PUBKEY(ks_key, &p);
	assert_true(n > 0);
	kek.sig_key_len = (uint16_t)n;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ks_key);
	EVP_PKEY_free(other_key);
	return 0;
}

static void
test_kek_check(void **state)
{
	struct gdoi_kek k = kek;
	const char *why;

	(void)state;
	assert_int_equal(gdoi_kek_check(&k, &why), 0);
	assert_int_equal(k.iv_len, 16);
	k.key_len = 16; /* the key without its explicit IV */
	assert_int_equal(gdoi_kek_check(&k, &why), -EINVAL);
	k = kek;
	k.alg = KEK_ALG_DES;
	assert_int_equal(gdoi_kek_check(&k, &why), -ENOTSUP);
	k = kek;
	k.sig_key_bits = 1024; /* announced size differs from the key's */
	assert_int_equal(gdoi_kek_check(&k, &why), -EINVAL);
	k = kek;
	k.sig_key[5] ^= 0xff;
	assert_true(gdoi_kek_check(&k, &why) < 0);
	k = kek;
	k.sig_hash = 1; /* MD5 */
	assert_int_equal(gdoi_kek_check(&k, &why), -ENOTSUP);
}

static void
test_valid_push(void **state)
{
	static uint8_t msg[4096];
	static struct gdoi_push out;
	struct gdoi_kek k = kek;
	struct push_opts o = {.seq = 8, .with_sa = 1};
	enum gdoi_push_drop reason;
	const char *why = NULL;
	size_t n;

	(void)state;
	assert_int_equal(gdoi_kek_check(&k, &why), 0);
	n = build_push(&o, msg);
	if (gdoi_push_input(&k, 7, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why) != 0)
		fail_msg("valid push dropped (%s): %s", gdoi_push_drop_id(reason), why);
	assert_int_equal(out.seq, 8);
	assert_true(out.has_policy);
	assert_int_equal(out.pol.n_teks, 1);
	assert_int_equal(out.pol.tek[0].spi, 0x2001);
	assert_int_equal(out.pol.tek[0].lifetime, 600);
	assert_memory_equal(out.pol.tek[0].xform.cipher_key, tek_key, sizeof(tek_key));
	assert_true(out.pol.has_gap);
	assert_int_equal(out.pol.atd, 5);
	assert_int_equal(out.pol.dtd, 20);
	assert_false(out.pol.has_kek);
	assert_int_equal(out.n_deletes, 0);

	/* SHA-1 signatures too */
	k.sig_hash = SIG_HASH_SHA1;
	o.md = EVP_sha1();
	n = build_push(&o, msg);
	assert_int_equal(gdoi_push_input(&k, 7, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why),
			 0);
	gdoi_push_clear(&out);
}

static void
test_delete_and_new_kek(void **state)
{
	static uint8_t msg[4096];
	static struct gdoi_push out;
	struct gdoi_kek k = kek;
	struct push_opts del = {.seq = 2, .n_del = 2};
	struct push_opts nk = {.seq = 3, .with_sa = 1, .new_kek = 1};
	enum gdoi_push_drop reason;
	const char *why = NULL;
	size_t n;

	(void)state;
	assert_int_equal(gdoi_kek_check(&k, &why), 0);
	n = build_push(&del, msg);
	if (gdoi_push_input(&k, 1, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why) != 0)
		fail_msg("delete-only push dropped (%s): %s", gdoi_push_drop_id(reason), why);
	assert_false(out.has_policy);
	assert_int_equal(out.n_deletes, 2);
	assert_int_equal(out.del[0].protocol, 1);
	assert_int_equal(out.del[0].spi, 0x2000);
	assert_false(out.del[0].all);
	assert_int_equal(out.del[1].protocol, 0);
	assert_true(out.del[1].all);

	n = build_push(&nk, msg);
	if (gdoi_push_input(&k, 2, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why) != 0)
		fail_msg("new-KEK push dropped (%s): %s", gdoi_push_drop_id(reason), why);
	assert_true(out.pol.has_kek);
	assert_int_equal(out.pol.kek.ack_requested, REKEY_ACK_KEK_SHA256);
	assert_int_equal(out.pol.kek.iv_len, 16);
	assert_int_equal(out.pol.kek.spi[15], kek_spi[15] ^ 0xff);
	gdoi_push_clear(&out);
}

/* A push repeating the held KEK (same SPI) keeps the SEQ floor: the pushes
 * accepted before it stay stale. A new SPI restarts the count. */
static void
test_repeated_kek_keeps_the_seq_floor(void **state)
{
	static uint8_t msg2[4096], msg3[4096];
	static struct gdoi_push out;
	struct gdoi_kek k = kek;
	struct push_opts o2 = {.seq = 2, .with_sa = 1};
	struct push_opts o3 = {.seq = 3, .with_sa = 1, .new_kek = 2};
	enum gdoi_push_drop reason;
	const char *why = NULL;
	uint32_t floor = 0;
	size_t n2, n3;

	(void)state;
	assert_int_equal(gdoi_kek_check(&k, &why), 0);
	n2 = build_push(&o2, msg2);
	n3 = build_push(&o3, msg3);
	assert_int_equal(
	    gdoi_push_input(&k, floor, GDOI_HABITS_STRICT, msg2, n2, &out, &reason, &why), 0);
	floor = out.seq;
	gdoi_push_clear(&out);
	if (gdoi_push_input(&k, floor, GDOI_HABITS_STRICT, msg3, n3, &out, &reason, &why) != 0)
		fail_msg("KEK-repeating push dropped (%s): %s", gdoi_push_drop_id(reason), why);
	floor = out.seq;
	assert_true(out.pol.has_kek);
	assert_memory_equal(out.pol.kek.spi, k.spi, 16);
	/* the member takes the repeated KEK */
	floor = gdoi_kek_seq_floor(&k, floor, &out.pol.kek, 0);
	assert_int_equal(floor, 3);
	k = out.pol.kek;
	gdoi_push_clear(&out);
	/* the replay of SEQ 2, and of SEQ 3 itself */
	assert_int_equal(
	    gdoi_push_input(&k, floor, GDOI_HABITS_STRICT, msg2, n2, &out, &reason, &why), -ESTALE);
	assert_int_equal(reason, GDOI_PUSH_DROP_STALE_SEQ);
	assert_int_equal(
	    gdoi_push_input(&k, floor, GDOI_HABITS_STRICT, msg3, n3, &out, &reason, &why), -ESTALE);
	assert_int_equal(reason, GDOI_PUSH_DROP_STALE_SEQ);

	/* a new SPI: its pushes count from 1; a pull's SEQ for the same KEK
	 * never lowers the floor, for a new one it is the floor */
	k.spi[15] ^= 0xff;
	assert_int_equal(gdoi_kek_seq_floor(&kek, 3, &k, 0), 0);
	assert_int_equal(gdoi_kek_seq_floor(&kek, 3, &kek, 1), 3);
	assert_int_equal(gdoi_kek_seq_floor(&kek, 3, &kek, 9), 9);
	assert_int_equal(gdoi_kek_seq_floor(NULL, 3, &kek, 5), 5);
	assert_int_equal(gdoi_kek_seq_floor(&kek, 3, NULL, 0), 0);
}

/* The GDOI reference key server writes 6 octets after the SA KEK's SPI: two
 * zero octets more are taken; a non-zero octet there, or a 5-octet gap, is not. */
static void
test_sa_kek_with_six_octets_after_the_spi(void **state)
{
	static uint8_t msg[4096];
	static struct gdoi_push out;
	struct gdoi_kek k = kek;
	struct push_opts o = {.seq = 3, .with_sa = 1, .new_kek = 1, .sak_gap = 6};
	enum gdoi_push_drop reason;
	const char *why = NULL;
	size_t n;

	(void)state;
	assert_int_equal(gdoi_kek_check(&k, &why), 0);
	n = build_push(&o, msg);
	if (gdoi_push_input(&k, 2, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why) != 0)
		fail_msg("6-octet SA KEK dropped (%s): %s", gdoi_push_drop_id(reason), why);
	assert_true(out.pol.has_kek);
	assert_int_equal(out.pol.kek.alg, KEK_ALG_AES);
	assert_int_equal(out.pol.kek.key_bits, 128);
	assert_int_equal(out.pol.kek.sig_hash, SIG_HASH_SHA256);
	assert_int_equal(out.pol.kek.ack_requested, REKEY_ACK_KEK_SHA256);
	gdoi_push_clear(&out);

	o.sak_gap_fill = 0x01; /* not zero: not that layout */
	n = build_push(&o, msg);
	assert_int_equal(gdoi_push_input(&k, 2, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why),
			 -EINVAL);
	assert_int_equal(reason, GDOI_PUSH_DROP_POLICY);
	o.sak_gap_fill = 0;
	o.sak_gap = 5; /* nor 5 octets */
	n = build_push(&o, msg);
	assert_int_equal(gdoi_push_input(&k, 2, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why),
			 -EINVAL);
	assert_int_equal(reason, GDOI_PUSH_DROP_POLICY);
}

/* The reference key server's habits: refused by default, taken when the
 * group opts in; a wrong signature of that form is still refused. */
static void
test_reference_habits_only_when_opted_in(void **state)
{
	static uint8_t msg[4096];
	static struct gdoi_push out;
	struct gdoi_kek k = kek;
	struct push_opts bare = {.seq = 4, .with_sa = 1, .bare_sig = 1};
	struct push_opts rekey = {.seq = 5, .with_sa = 1, .new_kek = 1, .kd_old_spi = 1};
	enum gdoi_push_drop reason;
	const char *why = NULL;
	size_t n;

	(void)state;
	assert_int_equal(gdoi_kek_check(&k, &why), 0);
	n = build_push(&bare, msg);
	assert_int_equal(gdoi_push_input(&k, 3, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why),
			 -EACCES);
	assert_int_equal(reason, GDOI_PUSH_DROP_BAD_SIGNATURE);
	if (gdoi_push_input(&k, 3, GDOI_HABITS_REFERENCE, msg, n, &out, &reason, &why) != 0)
		fail_msg("bare-digest push dropped (%s): %s", gdoi_push_drop_id(reason), why);
	assert_int_equal(out.pol.tek[0].spi, 0x2001);
	gdoi_push_clear(&out);
	/* SHA-1, as the reference key server's sample configuration */
	k.sig_hash = SIG_HASH_SHA1;
	bare.md = EVP_sha1();
	n = build_push(&bare, msg);
	assert_int_equal(gdoi_push_input(&k, 3, GDOI_HABITS_REFERENCE, msg, n, &out, &reason, &why),
			 0);
	gdoi_push_clear(&out);
	/* still a signature: one bit off, or another key, is refused */
	bare.flip_sig_bit = 1;
	n = build_push(&bare, msg);
	assert_int_equal(gdoi_push_input(&k, 3, GDOI_HABITS_REFERENCE, msg, n, &out, &reason, &why),
			 -EACCES);
	bare.flip_sig_bit = 0;
	bare.signer = other_key;
	n = build_push(&bare, msg);
	assert_int_equal(gdoi_push_input(&k, 3, GDOI_HABITS_REFERENCE, msg, n, &out, &reason, &why),
			 -EACCES);
	k = kek;
	assert_int_equal(gdoi_kek_check(&k, &why), 0);

	/* a KEK rekey whose key packet names the old KEK */
	n = build_push(&rekey, msg);
	assert_int_equal(gdoi_push_input(&k, 4, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why),
			 -EINVAL);
	assert_int_equal(reason, GDOI_PUSH_DROP_POLICY);
	if (gdoi_push_input(&k, 4, GDOI_HABITS_REFERENCE, msg, n, &out, &reason, &why) != 0)
		fail_msg("KEK rekey under the old SPI dropped (%s): %s", gdoi_push_drop_id(reason),
			 why);
	assert_true(out.pol.has_kek && out.pol.kek.has_keys);
	assert_int_equal(out.pol.kek.spi[15], kek_spi[15] ^ 0xff);
	assert_memory_equal(out.pol.kek.key, kek_iv_key, 32);
	gdoi_push_clear(&out);
}

static void
test_every_fault_dropped_with_its_reason(void **state)
{
	static const struct {
		const char *what;
		struct push_opts o;
		uint32_t last_seq;
		int no_kek;
		enum gdoi_push_drop reason;
	} cases[] = {
	    {"SEQ equal to the last", {.seq = 5, .with_sa = 1}, 5, 0, GDOI_PUSH_DROP_STALE_SEQ},
	    {"SEQ older than the last", {.seq = 1, .with_sa = 1}, 5, 0, GDOI_PUSH_DROP_STALE_SEQ},
	    {"signature bit flipped",
	     {.seq = 6, .with_sa = 1, .flip_sig_bit = 1},
	     5,
	     0,
	     GDOI_PUSH_DROP_BAD_SIGNATURE},
	    {"signed by another key",
	     {.seq = 6, .with_sa = 1, .signer = NULL},
	     5,
	     0,
	     GDOI_PUSH_DROP_BAD_SIGNATURE},
	    {"signed with SHA-1 when SHA-256 is the policy",
	     {.seq = 6, .with_sa = 1, .md = NULL},
	     5,
	     0,
	     GDOI_PUSH_DROP_BAD_SIGNATURE},
	    {"cookies of another KEK",
	     {.seq = 6, .with_sa = 1, .wrong_cookies = 1},
	     5,
	     0,
	     GDOI_PUSH_DROP_UNKNOWN_KEK},
	    {"no KEK held", {.seq = 6, .with_sa = 1}, 5, 1, GDOI_PUSH_DROP_NO_KEK},
	    {"encrypted with another key",
	     {.seq = 6, .with_sa = 1, .wrong_kek_key = 1},
	     5,
	     0,
	     GDOI_PUSH_DROP_MALFORMED},
	    {"no SIG payload",
	     {.seq = 6, .with_sa = 1, .no_sig = 1},
	     5,
	     0,
	     GDOI_PUSH_DROP_MALFORMED},
	    {"SA without KD",
	     {.seq = 6, .with_sa = 1, .sa_without_kd = 1},
	     5,
	     0,
	     GDOI_PUSH_DROP_MALFORMED},
	    {"neither SA nor Delete", {.seq = 6}, 5, 0, GDOI_PUSH_DROP_MALFORMED},
	    {"two SEQ payloads",
	     {.seq = 6, .with_sa = 1, .dup_seq = 1},
	     5,
	     0,
	     GDOI_PUSH_DROP_MALFORMED},
	    {"Delete SPI size 5",
	     {.seq = 6, .n_del = 1, .bad_del_size = 1},
	     5,
	     0,
	     GDOI_PUSH_DROP_MALFORMED},
	    {"payload length overruns",
	     {.seq = 6, .with_sa = 1, .overrun = 1},
	     5,
	     0,
	     GDOI_PUSH_DROP_MALFORMED},
	    {"exchange 32",
	     {.seq = 6, .with_sa = 1, .exchange = 32},
	     5,
	     0,
	     GDOI_PUSH_DROP_MALFORMED},
	    {"commit flag set",
	     {.seq = 6, .with_sa = 1, .flags = 3},
	     5,
	     0,
	     GDOI_PUSH_DROP_MALFORMED},
	    {"length not a block multiple",
	     {.seq = 6, .with_sa = 1, .trailing_garbage = 1},
	     5,
	     0,
	     GDOI_PUSH_DROP_MALFORMED},
	    {"TEK transform not supported",
	     {.seq = 6, .with_sa = 1, .transform = 99},
	     5,
	     0,
	     GDOI_PUSH_DROP_POLICY},
	};
	static uint8_t msg[4096];
	static struct gdoi_push out;
	struct gdoi_kek k = kek;
	const char *why = NULL;

	(void)state;
	assert_int_equal(gdoi_kek_check(&k, &why), 0);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct push_opts o = cases[i].o;
		enum gdoi_push_drop reason = GDOI_PUSH_DROP_MAX;
		size_t n;

		if (strcmp(cases[i].what, "signed by another key") == 0)
			o.signer = other_key;
		if (strstr(cases[i].what, "SHA-1") != NULL)
			o.md = EVP_sha1();
		n = build_push(&o, msg);
		if (gdoi_push_input(cases[i].no_kek ? NULL : &k, cases[i].last_seq,
				    GDOI_HABITS_STRICT, msg, n, &out, &reason, &why) == 0)
			fail_msg("%s: accepted", cases[i].what);
		if (reason != cases[i].reason)
			fail_msg("%s: dropped as %s (%s), expected %s", cases[i].what,
				 gdoi_push_drop_id(reason), why,
				 gdoi_push_drop_id(cases[i].reason));
		assert_non_null(why);
		assert_int_equal(out.n_deletes, 0); /* nothing half-parsed is left */
		assert_false(out.has_policy);
	}
	/* a truncated datagram (header length disagrees) */
	{
		struct push_opts o = {.seq = 6, .with_sa = 1};
		enum gdoi_push_drop reason;
		size_t n = build_push(&o, msg);

		assert_int_equal(
		    gdoi_push_input(&k, 5, GDOI_HABITS_STRICT, msg, n - 16, &out, &reason, &why),
		    -EBADMSG);
		assert_int_equal(reason, GDOI_PUSH_DROP_MALFORMED);
	}
}

/* RFC 8263 3.2, computed here from the formula, not by the code under test. */
static void
test_ack(void **state)
{
	static struct isakmp_buf b;
	struct gdoi_kek k = kek;
	uint8_t kdf[18 + 16 + 2], ack_key[32], want[32], seq_id[8 + 12];
	unsigned int l = 0;
	const char *why;

	(void)state;
	assert_int_equal(gdoi_kek_check(&k, &why), 0);
	k.ack_requested = REKEY_ACK_KEK_SHA256;
	assert_int_equal(gdoi_push_ack(&k, 0x01020304, (const uint8_t *)"\xc0\xa8\x0a\x05", 4, &b),
			 0);
	assert_int_equal(b.len, 28 + 36 + 8 + 12);
	assert_memory_equal(b.data, kek_spi, 16);
	assert_int_equal(b.data[16], 8);      /* HASH first */
	assert_int_equal(b.data[18], 35);     /* GROUPKEY-PUSH-ACK */
	assert_int_equal(b.data[19], 0);      /* not encrypted */
	memcpy(kdf, "GROUPKEY-PUSH ACK", 18); /* with its NUL */
	memcpy(kdf + 18, kek_spi, 16);
	kdf[34] = 0x02; /* L = 512 */
	kdf[35] = 0x00;
	HMAC(EVP_sha256(), kek_iv_key + 16, 16, kdf, sizeof(kdf), ack_key, &l);
	/* SEQ payload (next ID), ID payload (ID_IPV4_ADDR 192.168.10.5) */
	memcpy(seq_id,
	       "\x05\x00\x00\x08\x01\x02\x03\x04"
	       "\x00\x00\x00\x0c\x01\x00\x00\x00\xc0\xa8\x0a\x05",
	       sizeof(seq_id));
	assert_memory_equal(b.data + 64, seq_id, sizeof(seq_id));
	HMAC(EVP_sha256(), ack_key, 32, seq_id, sizeof(seq_id), want, &l);
	assert_memory_equal(b.data + 32, want, 32);
	assert_int_equal(gdoi_push_ack(&k, 1, seq_id, 5, &b), -EINVAL); /* not an address */
	k.ack_requested = 2;						/* LKH */
	assert_int_equal(gdoi_push_ack(&k, 1, seq_id, 4, &b), -ENOTSUP);
}

/* An IPv6 member's acknowledgement: ID_IPV6_ADDR (RFC 2407 4.6.2.1 type 5)
 * in the ID, and the HASH over it (RFC 8263 3.2, computed here). */
static void
test_ack_ipv6(void **state)
{
	static const uint8_t member[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = 0x01, [15] = 0x09};
	static struct isakmp_buf b;
	struct gdoi_kek k = kek;
	uint8_t kdf[18 + 16 + 2], ack_key[64], want[64], seq_id[8 + 24];
	unsigned int l = 0;
	const char *why;

	(void)state;
	assert_int_equal(gdoi_kek_check(&k, &why), 0);
	k.ack_requested = REKEY_ACK_KEK_SHA512;
	assert_int_equal(gdoi_push_ack(&k, 7, member, 16, &b), 0);
	assert_int_equal(b.len, 28 + 68 + 8 + 24);
	memcpy(kdf, "GROUPKEY-PUSH ACK", 18);
	memcpy(kdf + 18, kek_spi, 16);
	kdf[34] = 0x04; /* L = 1024 */
	kdf[35] = 0x00;
	HMAC(EVP_sha512(), kek_iv_key + 16, 16, kdf, sizeof(kdf), ack_key, &l);
	memcpy(seq_id,
	       "\x05\x00\x00\x08\x00\x00\x00\x07"
	       "\x00\x00\x00\x18\x05\x00\x00\x00",
	       16);
	memcpy(seq_id + 16, member, 16);
	assert_memory_equal(b.data + 28 + 68, seq_id, sizeof(seq_id));
	HMAC(EVP_sha512(), ack_key, 64, seq_id, sizeof(seq_id), want, &l);
	assert_memory_equal(b.data + 32, want, 64);
}

/* An identification block: type, port, length and @p n octets of data. */
#define ID(type, port, n, ...)                                                                     \
	{                                                                                          \
		(type), (uint8_t)((port) >> 8), (uint8_t)(port), (n), __VA_ARGS__                  \
	}
#define V6_DB8(x) 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, x

/*
 * SA TEK identifications (RFC 6407 5.5.1, ID types of RFC 2407 4.6.2.1):
 * IPv4 and IPv6 addresses, subnets and ranges become one family's
 * selector; a range that is not one prefix, a mask that is not contiguous
 * and lengths that do not fit the type are refused; a TEK whose source and
 * destination are of two families is refused with its reason (the push
 * is dropped as "policy"), not believed.
 */
static void
test_ipv6_and_range_identifications_in_sa_teks(void **state)
{
	static const uint8_t v4_host[] = ID(1, 0, 4, 10, 1, 2, 3);
	static const uint8_t v4_sub[] = ID(4, 0, 8, 10, 2, 0, 0, 255, 255, 0, 0);
	static const uint8_t v4_range[] = ID(7, 53, 8, 10, 3, 0, 0, 10, 3, 0, 255);
	static const uint8_t v4_range_bad[] = ID(7, 0, 8, 10, 3, 0, 1, 10, 3, 0, 255);
	static const uint8_t v6_host[] = ID(5, 0, 16, V6_DB8(0x10));
	/* 2001:db8:1::/48 */
	static const uint8_t v6_sub[] =
	    ID(6, 0, 32, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
	       0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	/* 2001:db8:2::/47 as a range: 2001:db8:2:: to 2001:db8:3:ffff:...:ffff */
	static const uint8_t v6_range[] =
	    ID(8, 443, 32, 0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0x01,
	       0x0d, 0xb8, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
	static const uint8_t v6_range_bad[] = ID(8, 0, 32, V6_DB8(1), V6_DB8(0x10));
	static const uint8_t v6_sub_gap[] =
	    ID(6, 0, 32, V6_DB8(0), 0xff, 0xff, 0xff, 0xf0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	static const uint8_t v6_short[] = ID(5, 0, 4, 10, 1, 2, 3);
	static const uint8_t v6_host_sub[] = ID(6, 0, 16, V6_DB8(0x10));
	static const uint8_t fqdn[] = ID(2, 0, 4, 'a', '.', 'b', 'c');
	static const uint8_t want_sub6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
	static const uint8_t want_range6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2};
	static const uint8_t want_host6[16] = {V6_DB8(0x10)};
	static const struct {
		const char *what;
		const uint8_t *src, *dst;
		size_t src_len, dst_len;
		int rc;
		uint8_t af;
		const char *why;
	} cases[] = {
#define C(w, s, d, rc, af, why) {w, s, d, sizeof(s), sizeof(d), rc, af, why}
	    C("IPv4 host and subnet", v4_host, v4_sub, 0, GVPN_AF_IPV4, NULL),
	    C("IPv4 range that is a prefix", v4_range, v4_host, 0, GVPN_AF_IPV4, NULL),
	    C("IPv6 subnet and host", v6_sub, v6_host, 0, GVPN_AF_IPV6, NULL),
	    C("IPv6 range that is a prefix", v6_range, v6_host, 0, GVPN_AF_IPV6, NULL),
	    C("IPv4 range that is not a prefix", v4_range_bad, v4_host, -ENOTSUP, 0,
	      "address range that is not one prefix (a selector holds a prefix)"),
	    C("IPv6 range that is not a prefix", v6_range_bad, v6_host, -ENOTSUP, 0,
	      "address range that is not one prefix (a selector holds a prefix)"),
	    C("IPv6 mask not contiguous", v6_sub_gap, v6_host, -EINVAL, 0,
	      "subnet mask not contiguous"),
	    C("ID_IPV6_ADDR of 4 octets", v6_host, v6_short, -EINVAL, 0,
	      "ID_IPV6_ADDR length is not 16"),
	    C("ID_IPV6_ADDR_SUBNET of 16 octets", v6_host_sub, v6_host, -EINVAL, 0,
	      "ID_IPV6_ADDR_SUBNET length is not 32"),
	    C("FQDN", fqdn, v6_host, -ENOTSUP, 0,
	      "identification type not supported (an IPv4 or IPv6 address, subnet or range "
	      "only)"),
	    C("IPv4 source, IPv6 destination", v4_sub, v6_host, -EINVAL, 0,
	      "SA TEK source and destination are of different address families"),
	    C("IPv6 source, IPv4 destination", v6_range, v4_host, -EINVAL, 0,
	      "SA TEK source and destination are of different address families"),
#undef C
	};
	static uint8_t msg[4096];
	static struct gdoi_push out;
	struct gdoi_kek k = kek;
	const char *kwhy;

	(void)state;
	assert_int_equal(gdoi_kek_check(&k, &kwhy), 0);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct push_opts o = {.seq = 10,
				      .with_sa = 1,
				      .sat_src = cases[i].src,
				      .sat_dst = cases[i].dst,
				      .sat_src_len = cases[i].src_len,
				      .sat_dst_len = cases[i].dst_len};
		enum gdoi_push_drop reason = GDOI_PUSH_DROP_MAX;
		const char *why = NULL;
		size_t n = build_push(&o, msg);
		int rc = gdoi_push_input(&k, 9, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why);
		const struct gvpn_selector *sel = &out.pol.tek[0].sel;

		if (rc != cases[i].rc)
			fail_msg("%s: rc %d (%s), expected %d", cases[i].what, rc, why ? why : "",
				 cases[i].rc);
		if (rc != 0) {
			assert_int_equal(reason, GDOI_PUSH_DROP_POLICY);
			if (why == NULL || strcmp(why, cases[i].why) != 0)
				fail_msg("%s: '%s', expected '%s'", cases[i].what, why ? why : "",
					 cases[i].why);
			continue;
		}
		assert_int_equal(out.pol.n_teks, 1);
		assert_int_equal(sel->af, cases[i].af);
	}
	/* what the accepted ones hold */
	{
		struct push_opts o = {.seq = 10,
				      .with_sa = 1,
				      .sat_src = v6_sub,
				      .sat_dst = v6_host,
				      .sat_src_len = sizeof(v6_sub),
				      .sat_dst_len = sizeof(v6_host)};
		enum gdoi_push_drop reason;
		const char *why;
		size_t n = build_push(&o, msg);
		const struct gvpn_selector *sel = &out.pol.tek[0].sel;

		assert_int_equal(
		    gdoi_push_input(&k, 9, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why), 0);
		assert_int_equal(sel->src.len, 48);
		assert_memory_equal(sel->src.addr6, want_sub6, 16);
		assert_int_equal(sel->dst.len, 128);
		assert_memory_equal(sel->dst.addr6, want_host6, 16);
		assert_int_equal(sel->src.addr, 0);
		assert_int_equal(sel->sport_lo, 0);
		assert_int_equal(sel->sport_hi, 65535);

		o.sat_src = v6_range;
		o.sat_src_len = sizeof(v6_range);
		n = build_push(&o, msg);
		assert_int_equal(
		    gdoi_push_input(&k, 9, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why), 0);
		assert_int_equal(sel->src.len, 47);
		assert_memory_equal(sel->src.addr6, want_range6, 16);
		assert_int_equal(sel->sport_lo, 443);
		assert_int_equal(sel->sport_hi, 443);

		o.sat_src = v4_range;
		o.sat_src_len = sizeof(v4_range);
		o.sat_dst = v4_host;
		o.sat_dst_len = sizeof(v4_host);
		n = build_push(&o, msg);
		assert_int_equal(
		    gdoi_push_input(&k, 9, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why), 0);
		assert_int_equal(sel->af, GVPN_AF_IPV4);
		assert_int_equal(sel->src.addr, IP4(10, 3, 0, 0));
		assert_int_equal(sel->src.len, 24);
		assert_int_equal(sel->dst.addr, IP4(10, 1, 2, 3));
		assert_int_equal(sel->dst.len, 32);
	}
}

/* An SA KEK whose destination is one IPv6 address (a multicast group the
 * member joins for pushes): kept with its port; an IPv6 subnet is not one
 * address and leaves none. */
static void
test_sa_kek_with_an_ipv6_destination(void **state)
{
	static const uint8_t group[] =
	    ID(5, 848, 16, 0xff, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x84, 0x8);
	static const uint8_t subnet[] = ID(6, 0, 32, V6_DB8(0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					   0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0);
	static uint8_t msg[4096];
	static struct gdoi_push out;
	struct gdoi_kek k = kek;
	struct push_opts o = {
	    .seq = 10, .with_sa = 1, .new_kek = 1, .sak_dst = group, .sak_dst_len = sizeof(group)};
	enum gdoi_push_drop reason;
	const char *why = NULL;
	size_t n = build_push(&o, msg);

	(void)state;
	assert_int_equal(gdoi_kek_check(&k, &why), 0);
	assert_int_equal(gdoi_push_input(&k, 9, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why),
			 0);
	assert_true(out.pol.has_kek);
	assert_int_equal(out.pol.kek.dst_ipv6, 1);
	assert_memory_equal(out.pol.kek.dst_addr6, group + 4, 16);
	assert_int_equal(out.pol.kek.dst_port, 848);
	assert_int_equal(out.pol.kek.dst_addr, 0);
	o.sak_dst = subnet;
	o.sak_dst_len = sizeof(subnet);
	n = build_push(&o, msg);
	assert_int_equal(gdoi_push_input(&k, 9, GDOI_HABITS_STRICT, msg, n, &out, &reason, &why),
			 0);
	assert_int_equal(out.pol.kek.dst_ipv6, 0);
	assert_int_equal(out.pol.kek.dst_port, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kek_check),
	    cmocka_unit_test(test_ack_ipv6),
	    cmocka_unit_test(test_ipv6_and_range_identifications_in_sa_teks),
	    cmocka_unit_test(test_sa_kek_with_an_ipv6_destination),
	    cmocka_unit_test(test_valid_push),
	    cmocka_unit_test(test_delete_and_new_kek),
	    cmocka_unit_test(test_repeated_kek_keeps_the_seq_floor),
	    cmocka_unit_test(test_sa_kek_with_six_octets_after_the_spi),
	    cmocka_unit_test(test_reference_habits_only_when_opted_in),
	    cmocka_unit_test(test_every_fault_dropped_with_its_reason),
	    cmocka_unit_test(test_ack),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
