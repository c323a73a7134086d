/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for a GROUPKEY-PUSH behind its signature: the payloads
 * the member believes only once the signature verifies (Delete, SA with
 * SAK/GAP/SAT, KD) and the policy check of what they install. The harness
 * is the key server: it holds the KEK and an RSA-1024 signing key, appends
 * a SIG payload signing "rekey" | HDR | the fuzzer's payloads (RFC 6407 4)
 * and encrypts the whole with the KEK, as a real push is made.
 * Input: byte 0 is the first payload type, the rest the payload chain
 * before SIG (a real push: SEQ, D*, [SA, KD]). When the chain's generic
 * headers walk to its end, its last payload's next-payload byte is set to
 * SIG; otherwise the SIG payload is appended as it is.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "fuzz_util.h"
#include "gvpn_gdoi.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SIG_LEN 128 /* RSA-1024 */

static struct gdoi_kek kek = {.spi = "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd"
				     "\xee\xff",
			      .alg = KEK_ALG_AES,
			      .key_bits = 128,
			      .sig_alg = SIG_ALG_RSA,
			      .sig_hash = SIG_HASH_SHA256,
			      .has_keys = 1,
			      .key = "iviviviviviviviv0123456789abcdef",
			      .key_len = 32,
			      .iv_len = 16,
			      .ack_requested = REKEY_ACK_KEK_SHA256};
static EVP_PKEY *signer;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t *der = kek.sig_key;
	int n;

	(void)argc;
	(void)argv;
	signer = EVP_RSA_gen(1024);
	if (signer == NULL || (n = i2d_PUBKEY(signer, NULL)) <= 0 || n > GDOI_SIG_KEY_MAX ||
	    i2d_PUBKEY(signer, &der) != n)
		abort();
	kek.sig_key_len = (uint16_t)n;
	kek.sig_key_bits = 1024;
	return 0;
}

/* Offset of the last payload's generic header, or -1 if the chain does not
 * walk cleanly to its end. */
static long
last_payload(const uint8_t *c, size_t len)
{
	size_t off = 0, l;
	long last = -1;

	while (off + 4 <= len) {
		l = (size_t)c[off + 2] << 8 | c[off + 3];
		if (l < 4 || l > len - off)
			return -1;
		last = (long)off;
		off += l;
	}
	return off == len ? last : -1;
}

static int
seal(uint8_t *msg, size_t len, size_t body)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	ok = ctx != NULL &&
	     EVP_EncryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, kek.key + 16, kek.key) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_EncryptUpdate(ctx, msg + ISAKMP_HDR_LEN, &n, msg + ISAKMP_HDR_LEN, (int)body) == 1;
	EVP_CIPHER_CTX_free(ctx);
	(void)len;
	return ok ? 0 : -1;
}

static int
sign(const uint8_t *msg, size_t signed_len, uint8_t *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = SIG_LEN;
	int ok;

	ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, signer) == 1 &&
	     EVP_DigestSignUpdate(ctx, "rekey", 5) == 1 &&
	     EVP_DigestSignUpdate(ctx, msg, signed_len) == 1 &&
	     EVP_DigestSignFinal(ctx, sig, &n) == 1 && n == SIG_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg[ISAKMP_MSG_MAX];
	static struct gdoi_push out;
	static struct isakmp_buf ack;
	enum gdoi_push_drop reason;
	const char *why;
	size_t chain, body, len;
	uint8_t first;
	long last;

	if (size < 1)
		return 0;
	chain = size - 1;
	body = (chain + 4 + SIG_LEN + 15) / 16 * 16;
	len = ISAKMP_HDR_LEN + body;
	if (len > sizeof(msg))
		return 0;
	first = data[0];
	memcpy(msg + ISAKMP_HDR_LEN, data + 1, chain);
	last = last_payload(msg + ISAKMP_HDR_LEN, chain);
	if (chain == 0)
		first = ISAKMP_P_SIG;
	else if (last >= 0)
		msg[ISAKMP_HDR_LEN + last] = ISAKMP_P_SIG;
	fz_push_hdr(msg, kek.spi, first, (uint32_t)len);
	/* SIG: generic header, then the signature over "rekey" | HDR | chain */
	uint8_t *sig = msg + ISAKMP_HDR_LEN + chain;
	sig[0] = ISAKMP_P_NONE;
	sig[1] = 0;
	sig[2] = 0;
	sig[3] = 4 + SIG_LEN;
	memset(sig + 4 + SIG_LEN, 0, body - chain - 4 - SIG_LEN);
	if (sign(msg, ISAKMP_HDR_LEN + chain, sig + 4) != 0 || seal(msg, len, body) != 0)
		return 0;
	if (gdoi_push_input(&kek, 0, GDOI_HABITS_STRICT, msg, len, &out, &reason, &why) == 0) {
		/* what the client does with an accepted push */
		if (out.has_policy && out.pol.has_kek)
			gdoi_push_ack(&out.pol.kek, out.seq, (const uint8_t *)"\x7f\0\0\x01", 4,
				      &ack);
		gdoi_push_ack(&kek, out.seq, (const uint8_t *)"\x7f\0\0\x01", 4, &ack);
	}
	gdoi_push_clear(&out);
	return 0;
}
