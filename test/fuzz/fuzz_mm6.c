/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for Main Mode message 6 (HDR*, IDir, HASH_R) as an
 * initiator that sent message 5 receives it. The harness knows the phase-1
 * keys (it played the responder with a fixed DH exponent): it writes the
 * right HASH_R over the chain's ID into its HASH payload (when one of the
 * right size is there) and encrypts the chain, so the checks behind the
 * decryption and the hash run.
 * Input: byte 0 bit 0 sends it as an informational exchange in the clear;
 * byte 1 is the first payload type, the rest the plaintext payload chain.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_ike.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ike_sa waiting; /* after message 5 */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_mm_sent5(&waiting);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ike_sa sa;
	static struct isakmp_buf out, msg;
	uint8_t iv[IKE_BLOCK_MAX], *chain;
	size_t len;
	enum ike_result res;
	const char *why;

	if (size < 2 || (chain = fz_chain(data + 2, size - 2)) == NULL)
		return 0;
	sa = waiting;
	if (data[0] & 1) {
		len = fz_plain(&sa, 1, data[1], chain, size - 2, msg.data, sizeof(msg.data));
		if (len != 0)
			ike_mm_input(&sa, msg.data, len, &out, &res, &why);
	} else {
		fz_fix_hash_r(&sa, data[1], chain, size - 2);
		memcpy(iv, sa.iv, sizeof(iv));
		if (fz_seal(&sa, iv, ISAKMP_EXCH_MAIN, 0, data[1], chain, size - 2, &msg) == 0)
			ike_mm_input(&sa, msg.data, msg.len, &out, &res, &why);
	}
	sa.dh_x = NULL;
	ike_sa_clear(&sa);
	return 0;
}
