/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Intel IPsec-MB backend: one IMB_MGR per lcore, burst API, keys expanded
 * once per session. The default backend and the fast one.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>

#include "gvpn_common.h"
#include "gvpn_crypto.h"

/* Operations handed to the manager between two flushes: one burst of the
 * burst API (IMB_MAX_BURST_SIZE); the job queue holds twice as many, so a
 * chunk never waits for a free job. */
#define MB_CHUNK IMB_MAX_BURST_SIZE

#define HMAC_BLOCK 64
#define DIGEST_MAX 32

struct mb_session {
	IMB_CIPHER_MODE cipher_mode;
	IMB_HASH_ALG hash_alg;
	uint64_t key_len;     /* cipher key length as the job wants it */
	uint32_t iv_len;      /* IV length as the job wants it (GCM: 12) */
	uint32_t icv_len;
	const void *enc_keys; /* point into this session: sessions never move */
	const void *dec_keys;
	uint8_t salt[GVPN_GCM_SALT_LEN];
	alignas(16) uint8_t ipad[DIGEST_MAX];
	alignas(16) uint8_t opad[DIGEST_MAX];
	union {
		struct {
			alignas(16) uint32_t enc[60];
			alignas(16) uint32_t dec[60];
		} aes;
		struct {
			uint64_t ks[3][16];
			const void *ptr[3];
		} des;
		struct gcm_key_data gcm;
	} k;
};

struct mb_engine {
	IMB_MGR *mgr;
	alignas(64) uint8_t nonce[MB_CHUNK][16]; /* GCM: salt | explicit IV | 1 */
	alignas(64) uint8_t icv[MB_CHUNK][DIGEST_MAX]; /* computed ICVs of decrypts */
};

static void *
mb_engine_create(void)
{
	struct mb_engine *e;

	if (posix_memalign((void **)&e, 64, sizeof(*e)) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	memset(e, 0, sizeof(*e));
	e->mgr = alloc_mb_mgr(0);
	if (e->mgr == NULL) {
		free(e);
		errno = ENOMEM;
		return NULL;
	}
	init_mb_mgr_auto(e->mgr, NULL);
	if (imb_get_errno(e->mgr) != 0) {
		free_mb_mgr(e->mgr);
		free(e);
		errno = ENOTSUP;
		return NULL;
	}
	return e;
}

static void
mb_engine_free(void *engine)
{
	struct mb_engine *e = engine;

	if (e == NULL)
		return;
	free_mb_mgr(e->mgr);
	gvpn_wipe(e, sizeof(*e));
	free(e);
}

static int
mb_hmac_init(IMB_MGR *mgr, struct mb_session *s, const struct gvpn_crypto_xform *x)
{
	uint8_t ib[HMAC_BLOCK] = {0}, ob[HMAC_BLOCK] = {0};

	for (unsigned int i = 0; i < x->auth_key_len; i++) {
		ib[i] = x->auth_key[i];
		ob[i] = x->auth_key[i];
	}
	for (unsigned int i = 0; i < HMAC_BLOCK; i++) {
		ib[i] ^= 0x36;
		ob[i] ^= 0x5c;
	}
	switch (x->auth) {
	case GVPN_AUTH_HMAC_MD5_96:
		s->hash_alg = IMB_AUTH_MD5;
		IMB_MD5_ONE_BLOCK(mgr, ib, s->ipad);
		IMB_MD5_ONE_BLOCK(mgr, ob, s->opad);
		break;
	case GVPN_AUTH_HMAC_SHA1_96:
		s->hash_alg = IMB_AUTH_HMAC_SHA_1;
		IMB_SHA1_ONE_BLOCK(mgr, ib, s->ipad);
		IMB_SHA1_ONE_BLOCK(mgr, ob, s->opad);
		break;
	case GVPN_AUTH_HMAC_SHA256_128:
		s->hash_alg = IMB_AUTH_HMAC_SHA_256;
		IMB_SHA256_ONE_BLOCK(mgr, ib, s->ipad);
		IMB_SHA256_ONE_BLOCK(mgr, ob, s->opad);
		break;
	default:
		s->hash_alg = IMB_AUTH_NULL;
		break;
	}
	gvpn_wipe(ib, sizeof(ib));
	gvpn_wipe(ob, sizeof(ob));
	return 0;
}

static int
mb_session_init(void *engine, void *sess, const struct gvpn_crypto_xform *x)
{
	struct mb_engine *e = engine;
	struct mb_session *s = sess;
	IMB_MGR *mgr = e->mgr;
	unsigned int klen = x->cipher_key_len;

	if (gvpn_xform_check(x) != 0)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->icv_len = gvpn_xform_icv_len(x);
	switch (x->cipher) {
	case GVPN_CIPHER_NULL:
		s->cipher_mode = IMB_CIPHER_NULL;
		break;
	case GVPN_CIPHER_DES_CBC:
		s->cipher_mode = IMB_CIPHER_DES;
		s->key_len = 8;
		s->iv_len = 8;
		IMB_DES_KEYSCHED(mgr, s->k.des.ks[0], x->cipher_key);
		s->enc_keys = s->dec_keys = s->k.des.ks[0];
		break;
	case GVPN_CIPHER_3DES_CBC:
		s->cipher_mode = IMB_CIPHER_DES3;
		s->key_len = 24;
		s->iv_len = 8;
		for (int i = 0; i < 3; i++) {
			IMB_DES_KEYSCHED(mgr, s->k.des.ks[i], x->cipher_key + 8 * i);
			s->k.des.ptr[i] = s->k.des.ks[i];
		}
		s->enc_keys = s->dec_keys = s->k.des.ptr;
		break;
	case GVPN_CIPHER_AES_CBC:
		s->cipher_mode = IMB_CIPHER_CBC;
		s->key_len = klen;
		s->iv_len = 16;
		if (klen == 16)
			IMB_AES_KEYEXP_128(mgr, x->cipher_key, s->k.aes.enc, s->k.aes.dec);
		else if (klen == 24)
			IMB_AES_KEYEXP_192(mgr, x->cipher_key, s->k.aes.enc, s->k.aes.dec);
		else
			IMB_AES_KEYEXP_256(mgr, x->cipher_key, s->k.aes.enc, s->k.aes.dec);
		s->enc_keys = s->k.aes.enc;
		s->dec_keys = s->k.aes.dec;
		break;
	case GVPN_CIPHER_AES_GCM:
		s->cipher_mode = IMB_CIPHER_GCM;
		s->hash_alg = IMB_AUTH_AES_GMAC;
		s->key_len = klen - GVPN_GCM_SALT_LEN;
		s->iv_len = 12;
		memcpy(s->salt, x->cipher_key + s->key_len, GVPN_GCM_SALT_LEN);
		if (s->key_len == 16)
			IMB_AES128_GCM_PRE(mgr, x->cipher_key, &s->k.gcm);
		else
			IMB_AES256_GCM_PRE(mgr, x->cipher_key, &s->k.gcm);
		s->enc_keys = s->dec_keys = &s->k.gcm;
		return 0;
	default:
		return -ENOTSUP;
	}
	return mb_hmac_init(mgr, s, x);
}

static void
mb_session_clear(void *sess)
{
	gvpn_wipe(sess, sizeof(struct mb_session));
}

/* Describe one operation in a job; @p decrypt is a constant in each caller
 * (see mb_run) so the direction costs no branch. */
static inline __attribute__((always_inline)) void
mb_fill_job(struct mb_engine *e, IMB_JOB *job, const struct gvpn_crypto_op *op, unsigned int idx,
	    const int decrypt)
{
	const struct mb_session *s = op->sess;

	job->cipher_mode = s->cipher_mode;
	job->hash_alg = s->hash_alg;
	job->cipher_direction = decrypt ? IMB_DIR_DECRYPT : IMB_DIR_ENCRYPT;
	job->chain_order = decrypt ? IMB_ORDER_HASH_CIPHER : IMB_ORDER_CIPHER_HASH;
	job->enc_keys = s->enc_keys;
	job->dec_keys = s->dec_keys;
	job->key_len_in_bytes = s->key_len;
	job->iv_len_in_bytes = s->iv_len;
	job->auth_tag_output = decrypt ? e->icv[idx] : op->icv;
	job->auth_tag_output_len_in_bytes = s->icv_len;
	job->msg_len_to_cipher_in_bytes = op->data_len;
	job->dst = op->data;
	job->user_data = (void *)(uintptr_t)idx;
	job->hash_start_src_offset_in_bytes = 0;
	if (s->cipher_mode == IMB_CIPHER_GCM) {
		uint8_t *nonce = e->nonce[idx];

		memcpy(nonce, s->salt, GVPN_GCM_SALT_LEN);
		memcpy(nonce + GVPN_GCM_SALT_LEN, op->iv, 8);
		job->iv = nonce;
		job->src = op->data;
		job->cipher_start_src_offset_in_bytes = 0;
		job->msg_len_to_hash_in_bytes = op->data_len;
		job->u.GCM.aad = op->auth;
		job->u.GCM.aad_len_in_bytes = 8;
		return;
	}
	job->iv = op->iv;
	job->src = op->auth;
	job->cipher_start_src_offset_in_bytes = (uint64_t)(op->data - op->auth);
	job->msg_len_to_hash_in_bytes = op->auth_len;
	job->u.HMAC._hashed_auth_key_xor_ipad = s->ipad;
	job->u.HMAC._hashed_auth_key_xor_opad = s->opad;
}

/* Constant-time ICV comparison, in whole words for the usual lengths. */
static inline int
mb_icv_eq(const uint8_t *a, const uint8_t *b, uint32_t len)
{
	uint64_t a0, a1 = 0, b0, b1 = 0;

	if (len == 16 || len == 12) {
		memcpy(&a0, a, 8);
		memcpy(&b0, b, 8);
		if (len == 16) {
			memcpy(&a1, a + 8, 8);
			memcpy(&b1, b + 8, 8);
		} else {
			memcpy(&a1, a + 8, 4);
			memcpy(&b1, b + 8, 4);
		}
		return ((a0 ^ b0) | (a1 ^ b1)) == 0;
	}
	return gvpn_memeq_ct(a, b, len);
}

/* Outcome of a finished job of the chunk that starts at ops[base]. */
static inline __attribute__((always_inline)) uint16_t
mb_complete(struct mb_engine *e, const IMB_JOB *job, const struct gvpn_crypto_op ops[],
	    uint8_t status[], unsigned int base, const int decrypt)
{
	unsigned int idx = (unsigned int)(uintptr_t)job->user_data;
	const struct gvpn_crypto_op *op = &ops[base + idx];
	uint8_t st = GVPN_CRYPTO_OK;

	if (job->status != IMB_STATUS_COMPLETED)
		st = GVPN_CRYPTO_ERROR;
	else if (decrypt && !mb_icv_eq(e->icv[idx], op->icv, job->auth_tag_output_len_in_bytes))
		st = GVPN_CRYPTO_AUTH_FAILED;
	status[base + idx] = st;
	return st == GVPN_CRYPTO_OK;
}

/*
 * One chunk through the burst API: take @p cnt free jobs at once, describe
 * the operations, submit them unchecked (sessions were validated once, when
 * they were made, and ESP hands over whole blocks only), then flush what is
 * still in the lanes. The queue is empty between chunks, so the manager
 * always has @p cnt free jobs; should it not, the chunk fails as a whole.
 */
static inline __attribute__((always_inline)) uint16_t
mb_run(struct mb_engine *e, struct gvpn_crypto_op ops[], uint8_t status[], unsigned int base,
       unsigned int cnt, const int decrypt)
{
	IMB_MGR *mgr = e->mgr;
	IMB_JOB *jobs[MB_CHUNK];
	uint32_t done, left;
	uint16_t good = 0;

	for (unsigned int i = 0; i < cnt; i++)
		status[base + i] = GVPN_CRYPTO_ERROR;
	if (IMB_GET_NEXT_BURST(mgr, cnt, jobs) != cnt)
		return 0;
	for (unsigned int i = 0; i < cnt; i++)
		mb_fill_job(e, jobs[i], &ops[base + i], i, decrypt);
	done = IMB_SUBMIT_BURST_NOCHECK(mgr, cnt, jobs);
	for (uint32_t i = 0; i < done; i++)
		good += mb_complete(e, jobs[i], ops, status, base, decrypt);
	left = cnt - done;
	while (left != 0) {
		uint32_t k = IMB_FLUSH_BURST(mgr, left, jobs);

		if (k == 0)
			break;
		for (uint32_t i = 0; i < k; i++)
			good += mb_complete(e, jobs[i], ops, status, base, decrypt);
		left -= k;
	}
	return good;
}

static uint16_t
mb_process(void *engine, struct gvpn_crypto_op ops[], uint8_t status[], uint16_t n, int decrypt)
{
	struct mb_engine *e = engine;
	uint16_t good = 0;

	for (unsigned int base = 0; base < n; base += MB_CHUNK) {
		unsigned int cnt = n - base < MB_CHUNK ? n - base : MB_CHUNK;

		if (decrypt)
			good += mb_run(e, ops, status, base, cnt, 1);
		else
			good += mb_run(e, ops, status, base, cnt, 0);
	}
	return good;
}

const struct gvpn_crypto_ops gvpn_crypto_ipsecmb = {
	.name = "ipsecmb",
	.session_size = sizeof(struct mb_session),
	.session_init = mb_session_init,
	.session_clear = mb_session_clear,
	.engine_create = mb_engine_create,
	.engine_free = mb_engine_free,
	.process = mb_process,
};
