/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for GROUPKEY-PULL message 4 (HDR*, HASH(4), [SEQ,] KD)
 * as a member that sent message 3 receives it: the KD parser, the keys
 * matched to the SA's TEKs and KEK, and the policy check. The SA that
 * message 4's keys belong to is fuzzed too: the input carries message 2
 * first; when the member accepts it, message 4 follows. The harness holds
 * the phase-1 SA: it writes HASH(2) and HASH(4) and encrypts both chains.
 * Input: byte 0: reserved (variants); bytes 1-2: length N of message 2's
 * part (big endian); then N bytes: message 2's first payload type and
 * chain; the rest: message 4's first payload type and chain.
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

/* Seal one message of the exchange and feed it. */
static int
step(struct gdoi_pull *p, const struct ike_chunk *pre, int npre, const uint8_t *part, size_t len)
{
	static struct isakmp_buf out, msg;
	uint8_t iv[IKE_BLOCK_MAX], *chain;
	enum ike_result res;
	const char *why;

	if (len < 1 || (chain = fz_chain(part + 1, len - 1)) == NULL)
		return -1;
	memcpy(iv, p->iv, sizeof(iv));
	fz_fix_hash(&sa, p->msgid, pre, npre, part[0], chain, len - 1);
	if (fz_seal(&sa, iv, ISAKMP_EXCH_GROUPKEY_PULL, p->msgid, part[0], chain, len - 1, &msg) !=
	    0)
		return -1;
	if (gdoi_pull_input(p, &sa, msg.data, msg.len, &out, &res, &why) != 0)
		return -1;
	return (int)res;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gdoi_pull p;
	size_t n2;

	if (size < 3)
		return 0;
	n2 = (size_t)data[1] << 8 | data[2];
	if (n2 > size - 3)
		return 0;
	p = waiting;
	struct ike_chunk pre2[] = {{p.ni, sizeof(p.ni)}};
	if (step(&p, pre2, 1, data + 3, n2) == IKE_CONTINUE) {
		struct ike_chunk pre4[] = {{p.ni, sizeof(p.ni)}, {p.nr, p.nr_len}};

		step(&p, pre4, 2, data + 3 + n2, size - 3 - n2);
	}
	gdoi_pull_clear(&p);
	return 0;
}
