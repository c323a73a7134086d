/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for Main Mode message 2 (HDR, SA: the responder's
 * choice) as an initiator that sent message 1 receives it, through the
 * proposal check and, when a proposal is chosen, message 3 (DH start).
 * Input: byte 0 bit 0 sends it as an informational exchange (a
 * notification in the clear); byte 1 is the first payload type, the rest
 * the payload chain. The header carries the member's cookie.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_ike.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every cipher, hash and group the member can offer. */
static const struct ike_conf conf = {.psk = "fuzzing-pre-shared-key-0123",
				     .psk_len = 27,
				     .doi = 2,
				     .n_props = 10,
				     .props = {{IKE_ENC_AES, 128, IKE_HASH_SHA1, 2, 3600},
					       {IKE_ENC_AES, 256, IKE_HASH_SHA256, 14, 86400},
					       {IKE_ENC_AES, 192, IKE_HASH_SHA256, 5, 3600},
					       {IKE_ENC_3DES, 0, IKE_HASH_MD5, 2, 3600},
					       {IKE_ENC_DES, 0, IKE_HASH_MD5, 1, 3600},
					       {IKE_ENC_AES, 128, IKE_HASH_SHA256, 1, 60},
					       {IKE_ENC_AES, 128, IKE_HASH_SHA1, 15, 3600},
					       {IKE_ENC_AES, 128, IKE_HASH_SHA1, 16, 3600},
					       {IKE_ENC_AES, 128, IKE_HASH_SHA1, 19, 3600},
					       {IKE_ENC_AES, 128, IKE_HASH_SHA1, 20, 3600}}};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ike_sa sa;
	static struct isakmp_buf out;
	static uint8_t msg[ISAKMP_MSG_MAX];
	size_t len;
	enum ike_result res;
	const char *why;

	if (size < 2 || ike_mm_start(&sa, &conf, &out) != 0)
		return 0;
	len = fz_plain(&sa, data[0] & 1, data[1], data + 2, size - 2, msg, sizeof(msg));
	if (len != 0)
		ike_mm_input(&sa, msg, len, &out, &res, &why);
	ike_sa_clear(&sa);
	return 0;
}
