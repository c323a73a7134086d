/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for Main Mode message 4 (HDR, KE, Nr) as an initiator
 * that sent message 3 receives it: the KE and nonce checks, the
 * Diffie-Hellman value check, key derivation and message 5.
 * Input: byte 0 bit 0 sends it as an informational exchange; byte 1 is the
 * first payload type, the rest the payload chain.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_ike.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ike_sa waiting; /* after message 3, reused: DH start is done once */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_mm_sent3(&waiting);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ike_sa sa;
	static struct isakmp_buf out;
	static uint8_t msg[ISAKMP_MSG_MAX];
	size_t len;
	enum ike_result res;
	const char *why;

	if (size < 2)
		return 0;
	sa = waiting;
	len = fz_plain(&sa, data[0] & 1, data[1], data + 2, size - 2, msg, sizeof(msg));
	if (len != 0)
		ike_mm_input(&sa, msg, len, &out, &res, &why);
	sa.dh_x = NULL; /* the copy's exponent is the original's */
	ike_sa_clear(&sa);
	return 0;
}
