/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for Main Mode message 4 (HDR, KE, Nr) as an initiator
 * that sent message 3 receives it: the KE and nonce checks, the
 * Diffie-Hellman value check, key derivation and message 5.
 * Input: byte 0 bit 0 sends it as an informational exchange, its other bits
 * choose the group the SA waits in (fz_groups: MODP 1024, 3072, 4096, ECP
 * 256, 384, modulo 5); byte 1 is the first payload type, the rest the
 * payload chain. A KE of another length than the group's, a MODP value
 * outside 1 < y < p - 1 or an ECP point off the curve fails the SA.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_ike.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* after message 3, one per group, reused: DH start is done once */
static struct ike_sa waiting[FZ_N_GROUPS];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (unsigned int i = 0; i < FZ_N_GROUPS; i++)
		fz_mm_sent3_in(&waiting[i], fz_groups[i]);
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
	sa = waiting[(data[0] >> 1) % FZ_N_GROUPS];
	len = fz_plain(&sa, data[0] & 1, data[1], data + 2, size - 2, msg, sizeof(msg));
	if (len != 0)
		ike_mm_input(&sa, msg, len, &out, &res, &why);
	sa.dh_x = NULL; /* the copy's exponent is the original's */
	ike_sa_clear(&sa);
	return 0;
}
