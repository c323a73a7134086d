/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the ISAKMP/IKE/GDOI parsers that see key-server
 * bytes: the header and payload walker, data attributes, the GDOI SA and KD
 * payloads with the policy check, Main Mode message 2 as the initiator
 * receives it, and GROUPKEY-PUSH datagrams: the input is the plaintext,
 * encrypted here with the member's KEK so that the parser behind the
 * decryption sees it.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "fuzz_util.h"
#include "gvpn_gdoi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
walk(const uint8_t *data, size_t size)
{
	static struct gdoi_policy pol;
	struct isakmp_hdr h;
	struct isakmp_msg m;
	const char *why;

	if (isakmp_parse_header(data, size, &h, NULL) != 0)
		(void)0; /* the payloads are tried regardless */
	if (size < 1 ||
	    isakmp_parse_payloads(data[0], data + 1, size - 1, data[0] & 1, NULL, &m, NULL) != 0)
		return;
	memset(&pol, 0, sizeof(pol));
	for (uint16_t i = 0; i < m.n; i++) {
		const uint8_t *p = m.p[i].body;
		size_t left = m.p[i].body_len;
		struct isakmp_attr a;

		switch (m.p[i].type) {
		case ISAKMP_P_SA:
			gdoi_parse_sa(p, left, &pol, &why);
			break;
		case ISAKMP_P_KD:
			if (gdoi_parse_kd(p, left, &pol, &why) == 0) {
				gdoi_policy_sid(
				    &pol, data[0] & 2 ? GDOI_HABITS_REFERENCE : GDOI_HABITS_STRICT,
				    &why);
				gdoi_policy_check(&pol, &why);
			}
			break;
		default:
			while (isakmp_attr_next(&p, &left, &a) == 1)
				;
			break;
		}
	}
	gdoi_policy_clear(&pol);
}

/* The bytes as Main Mode message 2 for an initiator that sent message 1. */
static void
main_mode(const uint8_t *data, size_t size)
{
	static struct ike_conf conf = {.psk = "fuzzing-pre-shared-key-0123",
				       .psk_len = 27,
				       .doi = 2,
				       .n_props = 2,
				       .props = {{IKE_ENC_AES, 128, IKE_HASH_SHA1, 2, 3600},
						 {IKE_ENC_3DES, 0, IKE_HASH_MD5, 1, 3600}}};
	static struct ike_sa sa;
	static struct isakmp_buf out;
	uint8_t msg[ISAKMP_MSG_MAX];
	enum ike_result res;
	const char *why;

	if (size < ISAKMP_HDR_LEN || size > sizeof(msg))
		return;
	if (ike_mm_start(&sa, &conf, &out) != 0)
		return;
	memcpy(msg, data, size);
	memcpy(msg, sa.icookie, 8); /* reach past the cookie check */
	msg[24] = (uint8_t)(size >> 24);
	msg[25] = (uint8_t)(size >> 16);
	msg[26] = (uint8_t)(size >> 8);
	msg[27] = (uint8_t)size;
	msg[17] = ISAKMP_VERSION;
	ike_mm_input(&sa, msg, size, &out, &res, &why);
	ike_sa_clear(&sa);
}

/* The bytes as the plaintext of a push under a known KEK. */
static void
push(const uint8_t *data, size_t size)
{
	static struct gdoi_kek kek = {.spi = "0123456789abcdef",
				      .alg = KEK_ALG_AES,
				      .key_bits = 128,
				      .sig_alg = SIG_ALG_RSA,
				      .sig_hash = SIG_HASH_SHA256,
				      .has_keys = 1,
				      .key = "iviviviviviviviv0123456789abcdef",
				      .key_len = 32,
				      .iv_len = 16,
				      .ack_requested = 1};
	static uint8_t msg[ISAKMP_MSG_MAX];
	static struct gdoi_push out;
	static struct isakmp_buf ack;
	EVP_CIPHER_CTX *ctx;
	enum gdoi_push_drop reason;
	const char *why;
	size_t body, len;
	int n = 0;

	if (size < 1)
		return;
	body = (size - 1 + 15) / 16 * 16;
	len = ISAKMP_HDR_LEN + body;
	if (len > sizeof(msg))
		return;
	fz_push_hdr(msg, kek.spi, data[0], (uint32_t)len);
	memset(msg + ISAKMP_HDR_LEN, 0, body);
	memcpy(msg + ISAKMP_HDR_LEN, data + 1, size - 1);
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, kek.key + 16, kek.key) == 1 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	    EVP_EncryptUpdate(ctx, msg + ISAKMP_HDR_LEN, &n, msg + ISAKMP_HDR_LEN, (int)body) == 1)
		gdoi_push_input(&kek, 0, GDOI_HABITS_STRICT, msg, len, &out, &reason, &why);
	EVP_CIPHER_CTX_free(ctx);
	/* and as it arrives, undecrypted */
	gdoi_push_input(&kek, 0, GDOI_HABITS_STRICT, data, size, &out, &reason, &why);
	gdoi_push_clear(&out);
	gdoi_push_ack(&kek, (uint32_t)size, (const uint8_t *)"\x7f\0\0\x01", 4, &ack);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	walk(data, size);
	main_mode(data, size);
	push(data, size);
	return 0;
}
