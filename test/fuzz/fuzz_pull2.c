/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for GROUPKEY-PULL message 2 (HDR*, HASH(2), Nr, SA) as
 * a member that sent message 1 receives it: the GDOI SA payload parser
 * (SAK, GAP, SAT and their attributes) and message 3. The harness holds the
 * phase-1 SA (it played the key server in Main Mode): it writes HASH(2)
 * into a first HASH payload of the right size and encrypts the chain.
 * Input: byte 0 bit 0 sends it as an encrypted informational exchange
 * (HASH(1), N or D) instead; byte 1 is the first payload type, the rest
 * the plaintext payload chain.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_ike.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ike_sa sa;
static struct gdoi_pull waiting; /* after message 1 */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return fz_pull_sent1(&sa, &waiting);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gdoi_pull p;
	static struct isakmp_buf out, msg;
	uint8_t iv[IKE_BLOCK_MAX], *chain;
	uint32_t msgid;
	enum ike_result res;
	const char *why;

	if (size < 2 || (chain = fz_chain(data + 2, size - 2)) == NULL)
		return 0;
	p = waiting;
	if (data[0] & 1) {
		msgid = p.msgid ^ 0x5a5a5a5a;
		ike_exchange_iv(&sa, msgid, iv);
		fz_fix_hash(&sa, msgid, NULL, 0, data[1], chain, size - 2);
		if (fz_seal(&sa, iv, ISAKMP_EXCH_INFO, msgid, data[1], chain, size - 2, &msg) == 0)
			gdoi_pull_input(&p, &sa, msg.data, msg.len, &out, &res, &why);
	} else {
		struct ike_chunk pre[] = {{p.ni, sizeof(p.ni)}};

		memcpy(iv, p.iv, sizeof(iv));
		fz_fix_hash(&sa, p.msgid, pre, 1, data[1], chain, size - 2);
		if (fz_seal(&sa, iv, ISAKMP_EXCH_GROUPKEY_PULL, p.msgid, data[1], chain, size - 2,
			    &msg) == 0)
			gdoi_pull_input(&p, &sa, msg.data, msg.len, &out, &res, &why);
	}
	gdoi_pull_clear(&p);
	return 0;
}
