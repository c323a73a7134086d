/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gvpn-imbcost: what one ESP operation costs in Intel IPsec-MB, in TSC
 * cycles, by the way it is handed over: chained jobs flushed every burst
 * (the job API), the synchronous cipher and hash bursts, and (AES-GCM) the
 * direct calls. The IPsec-MB backend picks among these (doc/performance.md,
 * "Third round"); this measures the choice on the machine at hand.
 *
 * The buffers are an ESP packet's: an 8-byte header and a 16-byte IV (CBC)
 * or an 8-byte AAD (GCM) before the ciphertext, the ICV after it. They stay
 * hot in the cache: the figures are the crypto alone, without the misses a
 * real packet may bring.
 *
 * Usage: gvpn-imbcost [--burst N] [--ops M]   (run it pinned: taskset -c 1)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>
#include <x86intrin.h>

#define BURST_MAX 128
#define BUF_LEN 1600
#define HDR 24

/* IMIX cipher lengths: 64, 570 and 1518-byte frames (7:4:1), interleaved. */
static const uint32_t imix[12] = {48, 560, 48, 48, 560, 48, 1504, 48, 560, 48, 48, 560};

static uint8_t bufs[BURST_MAX][BUF_LEN] __attribute__((aligned(64)));
static uint8_t tags[BURST_MAX][16];
static uint8_t nonces[BURST_MAX][16];
static uint32_t enc_keys[60] __attribute__((aligned(16)));
static uint32_t dec_keys[60] __attribute__((aligned(16)));
static uint8_t ipad[32] __attribute__((aligned(16)));
static uint8_t opad[32] __attribute__((aligned(16)));
static struct gcm_key_data gcm_key;
static struct gcm_context_data gcm_ctx;
static IMB_JOB job_array[BURST_MAX];

static uint32_t
cipher_len(int len, unsigned int i)
{
	return len > 0 ? (uint32_t)len : imix[i % 12];
}

/* What both algorithms' jobs say the same way. */
static void
fill_common(IMB_JOB *j, unsigned int i, uint32_t clen, int decrypt)
{
	j->cipher_direction = decrypt ? IMB_DIR_DECRYPT : IMB_DIR_ENCRYPT;
	j->chain_order = decrypt ? IMB_ORDER_HASH_CIPHER : IMB_ORDER_CIPHER_HASH;
	j->key_len_in_bytes = 16;
	j->dst = bufs[i] + HDR;
	j->msg_len_to_cipher_in_bytes = clen;
	j->hash_start_src_offset_in_bytes = 0;
	j->auth_tag_output = tags[i];
}

static void
fill_cbc(IMB_JOB *j, unsigned int i, uint32_t clen, int decrypt)
{
	fill_common(j, i, clen, decrypt);
	j->cipher_mode = IMB_CIPHER_CBC;
	j->hash_alg = IMB_AUTH_HMAC_SHA_1;
	j->enc_keys = enc_keys;
	j->dec_keys = dec_keys;
	j->iv = bufs[i] + 8;
	j->iv_len_in_bytes = 16;
	j->src = bufs[i];
	j->cipher_start_src_offset_in_bytes = HDR;
	j->msg_len_to_hash_in_bytes = HDR + clen;
	j->auth_tag_output_len_in_bytes = 12;
	j->u.HMAC._hashed_auth_key_xor_ipad = ipad;
	j->u.HMAC._hashed_auth_key_xor_opad = opad;
}

static void
fill_gcm(IMB_JOB *j, unsigned int i, uint32_t clen, int decrypt)
{
	fill_common(j, i, clen, decrypt);
	j->cipher_mode = IMB_CIPHER_GCM;
	j->hash_alg = IMB_AUTH_AES_GMAC;
	j->enc_keys = &gcm_key;
	j->dec_keys = &gcm_key;
	j->iv = nonces[i];
	j->iv_len_in_bytes = 12;
	j->src = bufs[i] + HDR;
	j->cipher_start_src_offset_in_bytes = 0;
	j->msg_len_to_hash_in_bytes = clen;
	j->auth_tag_output_len_in_bytes = 16;
	j->u.GCM.aad = bufs[i];
	j->u.GCM.aad_len_in_bytes = 8;
}

/* Chained jobs, the whole burst submitted then flushed. */
static int
run_jobs(IMB_MGR *mgr, unsigned int n, int len, int gcm, int decrypt)
{
	IMB_JOB *jobs[BURST_MAX];
	uint32_t left;

	if (IMB_GET_NEXT_BURST(mgr, n, jobs) != n)
		return -1;
	for (unsigned int i = 0; i < n; i++) {
		if (gcm)
			fill_gcm(jobs[i], i, cipher_len(len, i), decrypt);
		else
			fill_cbc(jobs[i], i, cipher_len(len, i), decrypt);
	}
	left = n - IMB_SUBMIT_BURST_NOCHECK(mgr, n, jobs);
	while (left != 0) {
		uint32_t k = IMB_FLUSH_BURST(mgr, left, jobs);

		if (k == 0)
			return -1;
		left -= k;
	}
	return 0;
}

/* AES-CBC + HMAC-SHA1 through one cipher burst and one hash burst. */
static int
run_bursts(IMB_MGR *mgr, unsigned int n, int len, int gcm, int decrypt)
{
	uint32_t c, h;

	(void)gcm;
	for (unsigned int i = 0; i < n; i++)
		fill_cbc(&job_array[i], i, cipher_len(len, i), decrypt);
	if (decrypt) {
		h = IMB_SUBMIT_HASH_BURST_NOCHECK(mgr, job_array, n, IMB_AUTH_HMAC_SHA_1);
		c = IMB_SUBMIT_CIPHER_BURST_NOCHECK(mgr, job_array, n, IMB_CIPHER_CBC,
						    IMB_DIR_DECRYPT, IMB_KEY_128_BYTES);
	} else {
		c = IMB_SUBMIT_CIPHER_BURST_NOCHECK(mgr, job_array, n, IMB_CIPHER_CBC,
						    IMB_DIR_ENCRYPT, IMB_KEY_128_BYTES);
		h = IMB_SUBMIT_HASH_BURST_NOCHECK(mgr, job_array, n, IMB_AUTH_HMAC_SHA_1);
	}
	return c == n && h == n ? 0 : -1;
}

/* AES-GCM through one direct call an operation. */
static int
run_direct(IMB_MGR *mgr, unsigned int n, int len, int gcm, int decrypt)
{
	(void)gcm;
	for (unsigned int i = 0; i < n; i++) {
		uint32_t clen = cipher_len(len, i);

		if (decrypt)
			IMB_AES128_GCM_DEC(mgr, &gcm_key, &gcm_ctx, bufs[i] + HDR, bufs[i] + HDR,
					   clen, nonces[i], bufs[i], 8, tags[i], 16);
		else
			IMB_AES128_GCM_ENC(mgr, &gcm_key, &gcm_ctx, bufs[i] + HDR, bufs[i] + HDR,
					   clen, nonces[i], bufs[i], 8, tags[i], 16);
	}
	return 0;
}

typedef int (*run_fn)(IMB_MGR *, unsigned int, int, int, int);

/* Cycles per operation over @p ops operations, after a warm-up. */
static double
measure(IMB_MGR *mgr, run_fn run, unsigned int burst, unsigned int ops, int len, int gcm,
	int decrypt)
{
	unsigned int rounds = ops / burst;
	uint64_t t0;

	for (unsigned int r = 0; r < rounds / 10 + 1; r++)
		if (run(mgr, burst, len, gcm, decrypt) != 0)
			return -1;
	t0 = __rdtsc();
	for (unsigned int r = 0; r < rounds; r++)
		if (run(mgr, burst, len, gcm, decrypt) != 0)
			return -1;
	return (double)(__rdtsc() - t0) / ((double)rounds * burst);
}

static void
usage(void)
{
	fprintf(stderr, "usage: gvpn-imbcost [--burst 1..%d] [--ops N]\n", BURST_MAX);
	exit(2);
}

int
main(int argc, char **argv)
{
	static const int lens[] = {48, 496, 1408, 0};
	static const uint8_t key[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
					0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
	uint8_t ib[64], ob[64];
	unsigned int burst = 32, ops = 2000000;
	IMB_MGR *mgr;
	IMB_ARCH arch;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--burst") == 0 && i + 1 < argc)
			burst = (unsigned int)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
			ops = (unsigned int)strtoul(argv[++i], NULL, 10);
		else
			usage();
	}
	if (burst == 0 || burst > BURST_MAX || ops < burst)
		usage();
	mgr = alloc_mb_mgr(0);
	if (mgr == NULL) {
		fprintf(stderr, "gvpn-imbcost: no memory for IPsec-MB\n");
		return 1;
	}
	init_mb_mgr_auto(mgr, &arch);
	IMB_AES_KEYEXP_128(mgr, key, enc_keys, dec_keys);
	IMB_AES128_GCM_PRE(mgr, key, &gcm_key);
	for (unsigned int i = 0; i < 64; i++) {
		ib[i] = (uint8_t)(i < 20 ? 0x0b ^ 0x36 : 0x36);
		ob[i] = (uint8_t)(i < 20 ? 0x0b ^ 0x5c : 0x5c);
	}
	IMB_SHA1_ONE_BLOCK(mgr, ib, ipad);
	IMB_SHA1_ONE_BLOCK(mgr, ob, opad);

	printf("IPsec-MB %s, arch %d, burst %u: TSC cycles per operation\n", imb_get_version_str(),
	       (int)arch, burst);
	printf("%-8s | %-27s | %-27s | %-27s | %-27s\n", "cipher", "cbc-sha1 encrypt",
	       "cbc-sha1 decrypt", "gcm encrypt", "gcm decrypt");
	printf("%-8s | %-13s %-13s | %-13s %-13s | %-13s %-13s | %-13s %-13s\n", "bytes", "jobs",
	       "bursts", "jobs", "bursts", "jobs", "direct", "jobs", "direct");
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		int len = lens[l];
		char name[16];

		if (len > 0)
			snprintf(name, sizeof(name), "%d", len);
		else
			snprintf(name, sizeof(name), "imix");
		printf("%-8s |", name);
		for (int decrypt = 0; decrypt < 2; decrypt++)
			printf(" %-13.1f %-13.1f |",
			       measure(mgr, run_jobs, burst, ops, len, 0, decrypt),
			       measure(mgr, run_bursts, burst, ops, len, 0, decrypt));
		for (int decrypt = 0; decrypt < 2; decrypt++)
			printf(" %-13.1f %-13.1f%s",
			       measure(mgr, run_jobs, burst, ops, len, 1, decrypt),
			       measure(mgr, run_direct, burst, ops, len, 1, decrypt),
			       decrypt ? "\n" : " |");
	}
	free_mb_mgr(mgr);
	return 0;
}
