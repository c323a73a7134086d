/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Intel IPsec-MB backend: one IMB_MGR per lcore, keys expanded once per
 * session. The default backend and the fast one.
 *
 * A chunk of operations takes one of four routes, chosen once per chunk:
 * AES-CBC with HMAC-SHA1/SHA-2 goes through the synchronous cipher and
 * hash bursts, AES-GCM through the direct GCM calls, AES-GMAC through the
 * direct GMAC calls, and every other algorithm, or a chunk that mixes
 * algorithms, through the job API. The first three skip the job manager's
 * scheduling: at 64 bytes the cipher and hash bursts take 10-20 cycles an
 * operation less than the same work as chained jobs, and a direct GCM call
 * 12-19 less than a GCM job (see mb_chunk_route() for the one exception).
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

/* HMAC block of SHA-384/512 (MD5, SHA-1 and SHA-256 use the first 64). */
#define HMAC_BLOCK 128
/* Inner and outer hash states: SHA-512's eight 64-bit words. */
#define HASH_STATE_MAX 64

/* The route of a chunk whose operations all have the same route key. */
enum mb_route {
	MB_ROUTE_JOBS,	   /* any algorithm, through the job API */
	MB_ROUTE_CBC_HMAC, /* AES-CBC + HMAC-SHA1/SHA-2: cipher and hash bursts */
	MB_ROUTE_GCM,	   /* AES-GCM: direct calls */
	MB_ROUTE_GMAC,	   /* AES-GMAC: direct calls */
};

struct mb_session {
	uint32_t route_key; /* route | cipher key length | hash: equal keys share a chunk */
	uint8_t route;	    /* enum mb_route */
	IMB_CIPHER_MODE cipher_mode;
	IMB_HASH_ALG hash_alg;
	uint64_t key_len; /* cipher key length as the job wants it */
	uint32_t iv_len;  /* IV length as the job wants it (GCM: 12) */
	uint32_t icv_len;
	const void *enc_keys; /* point into this session: sessions never move */
	const void *dec_keys;
	uint8_t salt[GVPN_GCM_SALT_LEN];
	alignas(16) uint8_t ipad[HASH_STATE_MAX];
	alignas(16) uint8_t opad[HASH_STATE_MAX];
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
	alignas(64) IMB_JOB jobs[MB_CHUNK];	 /* the cipher and hash bursts' operations */
	struct gcm_context_data gcm;		 /* the direct GCM/GMAC calls' working state */
	alignas(64) uint8_t nonce[MB_CHUNK][16]; /* GCM: salt | explicit IV (12 bytes used) */
	alignas(64) uint8_t icv[MB_CHUNK][GVPN_ICV_MAX]; /* computed ICVs of decrypts */
};

/* The engine and its manager live in key memory: the manager's lanes hold
 * the HMAC inner and outer states of jobs in flight. */
static void *
mb_engine_create(void)
{
	struct mb_engine *e = gvpn_keymem_alloc(sizeof(*e));
	void *m;

	if (e == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	m = gvpn_keymem_alloc(imb_get_mb_mgr_size());
	if (m == NULL) {
		gvpn_keymem_free(e);
		errno = ENOMEM;
		return NULL;
	}
	/* The cipher and hash bursts' jobs: what no operation changes is
	 * set here, once (mb_fill_burst_job()). */
	for (unsigned int i = 0; i < MB_CHUNK; i++)
		e->jobs[i].hash_start_src_offset_in_bytes = 0;
	e->mgr = imb_set_pointers_mb_mgr(m, 0, 1);
	init_mb_mgr_auto(e->mgr, NULL);
	if (imb_get_errno(e->mgr) != 0) {
		gvpn_keymem_free(m);
		gvpn_keymem_free(e);
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
	gvpn_keymem_free(e->mgr);
	gvpn_keymem_free(e);
}

static int
mb_hmac_init(IMB_MGR *mgr, struct mb_session *s, const struct gvpn_crypto_xform *x)
{
	/* Keys are never longer than the block (RFC 4868: 48 and 64 octets
	 * for SHA-384 and SHA-512, whose block is 128). */
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
	case GVPN_AUTH_HMAC_SHA384_192:
		s->hash_alg = IMB_AUTH_HMAC_SHA_384;
		IMB_SHA384_ONE_BLOCK(mgr, ib, s->ipad);
		IMB_SHA384_ONE_BLOCK(mgr, ob, s->opad);
		break;
	case GVPN_AUTH_HMAC_SHA512_256:
		s->hash_alg = IMB_AUTH_HMAC_SHA_512;
		IMB_SHA512_ONE_BLOCK(mgr, ib, s->ipad);
		IMB_SHA512_ONE_BLOCK(mgr, ob, s->opad);
		break;
	default:
		s->hash_alg = IMB_AUTH_NULL;
		break;
	}
	gvpn_wipe(ib, sizeof(ib));
	gvpn_wipe(ob, sizeof(ob));
	return 0;
}

static void
mb_route_set(struct mb_session *s, enum mb_route route)
{
	s->route = (uint8_t)route;
	s->route_key = (uint32_t)route | (uint32_t)s->key_len << 8 | (uint32_t)s->hash_alg << 16;
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
		mb_route_set(s, MB_ROUTE_GCM);
		return 0;
	case GVPN_CIPHER_AES_GMAC:
		/* Nothing to cipher: a job is a NULL cipher and a GMAC hash. */
		s->cipher_mode = IMB_CIPHER_NULL;
		s->key_len = klen - GVPN_GCM_SALT_LEN;
		s->hash_alg = s->key_len == 16 ? IMB_AUTH_AES_GMAC_128 : IMB_AUTH_AES_GMAC_256;
		memcpy(s->salt, x->cipher_key + s->key_len, GVPN_GCM_SALT_LEN);
		if (s->key_len == 16)
			IMB_AES128_GCM_PRE(mgr, x->cipher_key, &s->k.gcm);
		else
			IMB_AES256_GCM_PRE(mgr, x->cipher_key, &s->k.gcm);
		mb_route_set(s, MB_ROUTE_GMAC);
		return 0;
	default:
		return -ENOTSUP;
	}
	if (mb_hmac_init(mgr, s, x) != 0)
		return -EINVAL;
	if (s->cipher_mode == IMB_CIPHER_CBC &&
	    (s->hash_alg == IMB_AUTH_HMAC_SHA_1 || s->hash_alg == IMB_AUTH_HMAC_SHA_256 ||
	     s->hash_alg == IMB_AUTH_HMAC_SHA_384 || s->hash_alg == IMB_AUTH_HMAC_SHA_512))
		mb_route_set(s, MB_ROUTE_CBC_HMAC);
	else
		mb_route_set(s, MB_ROUTE_JOBS);
	return 0;
}

static void
mb_session_clear(void *sess)
{
	gvpn_wipe(sess, sizeof(struct mb_session));
}

/* What every job says of its operation, from the session; @p decrypt is a
 * constant in each caller so the direction costs no branch. */
static inline __attribute__((always_inline)) void
mb_fill_common(struct mb_engine *e, IMB_JOB *job, const struct gvpn_crypto_op *op, unsigned int idx,
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
}

/* What a cipher-then-HMAC job says beyond mb_fill_common(): the IV, the
 * authenticated bytes with the ciphertext inside them, and the HMAC pads. */
static inline __attribute__((always_inline)) void
mb_fill_hmac(IMB_JOB *job, const struct gvpn_crypto_op *op, const struct mb_session *s)
{
	job->iv = op->iv;
	job->src = op->auth;
	job->cipher_start_src_offset_in_bytes = (uint64_t)(op->data - op->auth);
	job->msg_len_to_hash_in_bytes = op->auth_len;
	job->u.HMAC._hashed_auth_key_xor_ipad = s->ipad;
	job->u.HMAC._hashed_auth_key_xor_opad = s->opad;
}

/* Describe one AES-CBC/DES + HMAC (or NULL) operation in a job. */
static inline __attribute__((always_inline)) void
mb_fill_hmac_job(struct mb_engine *e, IMB_JOB *job, const struct gvpn_crypto_op *op,
		 unsigned int idx, const int decrypt)
{
	mb_fill_common(e, job, op, idx, decrypt);
	mb_fill_hmac(job, op, op->sess);
}

/*
 * Describe one AES-CBC + HMAC operation for the cipher and hash bursts,
 * which take the algorithm, direction and key size as arguments and read
 * of a job only the buffers, lengths, the keys of its direction, the HMAC
 * pads and the tag (IPsec-MB's submit_cipher_burst and submit_hash_burst):
 * 11 stores where a job for the job API takes 20.
 */
static inline __attribute__((always_inline)) void
mb_fill_burst_job(struct mb_engine *e, IMB_JOB *job, const struct gvpn_crypto_op *op,
		  unsigned int idx, const int decrypt)
{
	const struct mb_session *s = op->sess;

	if (decrypt)
		job->dec_keys = s->dec_keys;
	else
		job->enc_keys = s->enc_keys;
	mb_fill_hmac(job, op, s);
	job->dst = op->data;
	job->msg_len_to_cipher_in_bytes = op->data_len;
	job->auth_tag_output = decrypt ? e->icv[idx] : op->icv;
	job->auth_tag_output_len_in_bytes = s->icv_len;
}

/* GCM's 12-byte nonce: the SA's salt, then the packet's explicit IV. */
static inline void
mb_gcm_nonce(uint8_t nonce[16], const struct mb_session *s, const struct gvpn_crypto_op *op)
{
	memcpy(nonce, s->salt, GVPN_GCM_SALT_LEN);
	memcpy(nonce + GVPN_GCM_SALT_LEN, op->iv, 8);
}

/* Describe any operation in a job (the job route takes every algorithm). */
static inline __attribute__((always_inline)) void
mb_fill_job(struct mb_engine *e, IMB_JOB *job, const struct gvpn_crypto_op *op, unsigned int idx,
	    const int decrypt)
{
	const struct mb_session *s = op->sess;

	if (s->route == MB_ROUTE_GMAC) {
		/* RFC 4543 3.3: ESP header, IV, payload and trailer are all AAD. */
		mb_gcm_nonce(e->nonce[idx], s, op);
		mb_fill_hmac_job(e, job, op, idx, decrypt);
		job->u.GMAC._key = &s->k.gcm;
		job->u.GMAC._iv = e->nonce[idx];
		job->u.GMAC.iv_len_in_bytes = 12;
		return;
	}
	if (s->cipher_mode != IMB_CIPHER_GCM) {
		mb_fill_hmac_job(e, job, op, idx, decrypt);
		return;
	}
	mb_gcm_nonce(e->nonce[idx], s, op);
	mb_fill_common(e, job, op, idx, decrypt);
	job->iv = e->nonce[idx];
	job->src = op->data;
	job->cipher_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = op->data_len;
	job->u.GCM.aad = op->auth;
	job->u.GCM.aad_len_in_bytes = 8;
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

/* Outcome of operation @p idx of the chunk at ops[base], its crypto done
 * (@p completed) or refused. A decrypt's ICV is in e->icv[idx]. */
static inline __attribute__((always_inline)) uint16_t
mb_outcome(struct mb_engine *e, const struct gvpn_crypto_op ops[], uint8_t status[],
	   unsigned int base, unsigned int idx, int completed, const int decrypt)
{
	const struct gvpn_crypto_op *op = &ops[base + idx];
	const struct mb_session *s = op->sess;
	uint8_t st = GVPN_CRYPTO_OK;

	if (!completed)
		st = GVPN_CRYPTO_ERROR;
	else if (decrypt && !mb_icv_eq(e->icv[idx], op->icv, s->icv_len))
		st = GVPN_CRYPTO_AUTH_FAILED;
	status[base + idx] = st;
	return st == GVPN_CRYPTO_OK;
}

static inline __attribute__((always_inline)) uint16_t
mb_complete(struct mb_engine *e, const IMB_JOB *job, const struct gvpn_crypto_op ops[],
	    uint8_t status[], unsigned int base, const int decrypt)
{
	unsigned int idx = (unsigned int)(uintptr_t)job->user_data;

	return mb_outcome(e, ops, status, base, idx, job->status == IMB_STATUS_COMPLETED, decrypt);
}

/*
 * The job route: take @p cnt free jobs at once, describe the operations,
 * submit them unchecked (sessions were validated once, when they were
 * made, and ESP hands over whole blocks only), then flush what is still in
 * the lanes. The queue is empty between chunks, so the manager always has
 * @p cnt free jobs; should it not, the chunk fails as a whole.
 */
static inline __attribute__((always_inline)) uint16_t
mb_run_jobs(struct mb_engine *e, struct gvpn_crypto_op ops[], uint8_t status[], unsigned int base,
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

/*
 * The AES-CBC + HMAC route: the whole chunk through one cipher burst and
 * one hash burst, synchronously (encrypt then MAC; decrypt verifies the
 * MAC of the ciphertext first). Every operation has the chunk's key length
 * and hash: the route key says so.
 */
static inline __attribute__((always_inline)) uint16_t
mb_run_cbc_hmac(struct mb_engine *e, struct gvpn_crypto_op ops[], uint8_t status[],
		unsigned int base, unsigned int cnt, const int decrypt)
{
	const struct mb_session *s = ops[base].sess;
	IMB_KEY_SIZE_BYTES ksize = (IMB_KEY_SIZE_BYTES)s->key_len;
	IMB_MGR *mgr = e->mgr;
	uint32_t ciphered, hashed;
	uint16_t good = 0;
	int completed;

	for (unsigned int i = 0; i < cnt; i++)
		mb_fill_burst_job(e, &e->jobs[i], &ops[base + i], i, decrypt);
	if (decrypt) {
		hashed = IMB_SUBMIT_HASH_BURST_NOCHECK(mgr, e->jobs, cnt, s->hash_alg);
		ciphered = IMB_SUBMIT_CIPHER_BURST_NOCHECK(mgr, e->jobs, cnt, IMB_CIPHER_CBC,
							   IMB_DIR_DECRYPT, ksize);
	} else {
		ciphered = IMB_SUBMIT_CIPHER_BURST_NOCHECK(mgr, e->jobs, cnt, IMB_CIPHER_CBC,
							   IMB_DIR_ENCRYPT, ksize);
		hashed = IMB_SUBMIT_HASH_BURST_NOCHECK(mgr, e->jobs, cnt, s->hash_alg);
	}
	completed = ciphered == cnt && hashed == cnt;
	for (unsigned int i = 0; i < cnt; i++)
		good += mb_outcome(e, ops, status, base, i, completed, decrypt);
	return good;
}

/* The AES-GCM route: one direct call an operation, the key length (hence
 * the function) the chunk's. The nonces are all written before the first
 * call, so that no call reads a nonce still in the store buffer. */
static inline __attribute__((always_inline)) uint16_t
mb_run_gcm(struct mb_engine *e, struct gvpn_crypto_op ops[], uint8_t status[], unsigned int base,
	   unsigned int cnt, const int decrypt)
{
	const struct mb_session *s0 = ops[base].sess;
	aes_gcm_enc_dec_t gcm;
	uint16_t good = 0;

	if (s0->key_len == 16)
		gcm = decrypt ? e->mgr->gcm128_dec : e->mgr->gcm128_enc;
	else
		gcm = decrypt ? e->mgr->gcm256_dec : e->mgr->gcm256_enc;
	for (unsigned int i = 0; i < cnt; i++)
		mb_gcm_nonce(e->nonce[i], ops[base + i].sess, &ops[base + i]);
	for (unsigned int i = 0; i < cnt; i++) {
		const struct gvpn_crypto_op *op = &ops[base + i];
		const struct mb_session *s = op->sess;

		gcm(&s->k.gcm, &e->gcm, op->data, op->data, op->data_len, e->nonce[i], op->auth, 8,
		    decrypt ? e->icv[i] : op->icv, s->icv_len);
		good += mb_outcome(e, ops, status, base, i, 1, decrypt);
	}
	return good;
}

/* The AES-GMAC route (RFC 4543): one init, update and finalize an
 * operation over the whole ESP packet as AAD, the key length the chunk's. */
static inline __attribute__((always_inline)) uint16_t
mb_run_gmac(struct mb_engine *e, struct gvpn_crypto_op ops[], uint8_t status[], unsigned int base,
	    unsigned int cnt, const int decrypt)
{
	const struct mb_session *s0 = ops[base].sess;
	aes_gmac_init_t init = s0->key_len == 16 ? e->mgr->gmac128_init : e->mgr->gmac256_init;
	aes_gmac_update_t update =
	    s0->key_len == 16 ? e->mgr->gmac128_update : e->mgr->gmac256_update;
	aes_gmac_finalize_t finalize =
	    s0->key_len == 16 ? e->mgr->gmac128_finalize : e->mgr->gmac256_finalize;
	uint16_t good = 0;

	for (unsigned int i = 0; i < cnt; i++)
		mb_gcm_nonce(e->nonce[i], ops[base + i].sess, &ops[base + i]);
	for (unsigned int i = 0; i < cnt; i++) {
		const struct gvpn_crypto_op *op = &ops[base + i];
		const struct mb_session *s = op->sess;

		init(&s->k.gcm, &e->gcm, e->nonce[i], 12);
		update(&s->k.gcm, &e->gcm, op->auth, op->auth_len);
		finalize(&s->k.gcm, &e->gcm, decrypt ? e->icv[i] : op->icv, s->icv_len);
		good += mb_outcome(e, ops, status, base, i, 1, decrypt);
	}
	return good;
}

/*
 * The route of a chunk: its first session's, if every operation shares
 * that session's route key, else the job route. Encryption with AES-CBC +
 * HMAC takes the cipher and hash bursts only when the operations are all
 * of one length: with mixed lengths (IMIX) the job manager, which overlaps
 * the serial CBC encryption of long operations with the hashing of
 * others, is 5-10 % faster. Decryption gains either way.
 */
static inline enum mb_route
mb_chunk_route(const struct gvpn_crypto_op ops[], unsigned int cnt, const int decrypt)
{
	const struct mb_session *s0 = ops[0].sess;
	uint32_t len_diff = 0;

	for (unsigned int i = 1; i < cnt; i++) {
		const struct mb_session *s = ops[i].sess;

		if (s != s0 && s->route_key != s0->route_key)
			return MB_ROUTE_JOBS;
		len_diff |= ops[i].data_len ^ ops[0].data_len;
	}
	if (!decrypt && s0->route == MB_ROUTE_CBC_HMAC && len_diff != 0)
		return MB_ROUTE_JOBS;
	return (enum mb_route)s0->route;
}

static inline __attribute__((always_inline)) uint16_t
mb_run(struct mb_engine *e, struct gvpn_crypto_op ops[], uint8_t status[], unsigned int base,
       unsigned int cnt, const int decrypt)
{
	switch (mb_chunk_route(&ops[base], cnt, decrypt)) {
	case MB_ROUTE_CBC_HMAC:
		return mb_run_cbc_hmac(e, ops, status, base, cnt, decrypt);
	case MB_ROUTE_GCM:
		return mb_run_gcm(e, ops, status, base, cnt, decrypt);
	case MB_ROUTE_GMAC:
		return mb_run_gmac(e, ops, status, base, cnt, decrypt);
	default:
		return mb_run_jobs(e, ops, status, base, cnt, decrypt);
	}
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
