/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FUZZ_IKE_H
#define FUZZ_IKE_H

/*
 * The key server's side of Main Mode and GROUPKEY-PULL, for the harnesses
 * that fuzz one exchange step: it drives the member's real state machine
 * (ike_mm_*, gdoi_pull_*) to the state where the step is expected, and
 * seals what the fuzzer wrote with the keys that state holds (a fixed
 * responder DH exponent, the phase-1 SA's SKEYID_a and encryption key), so
 * the parsers and policy code behind the crypto see the fuzzer's bytes.
 *
 * Input format of these harnesses: byte 0 selects variants (bit 0: send
 * the step as an informational exchange instead), byte 1 is the first
 * payload type, the rest the payload chain after the ISAKMP header.
 */
#include <stddef.h>
#include <stdint.h>

#include "gvpn_gdoi.h"
#include "gvpn_ike.h"

/* One proposal: AES-128, SHA-1, MODP 1024; the responder's reply is the
 * member's own SA body. */
extern const struct ike_conf fz_conf;

/* The groups whose message 4 the mm4 harness fuzzes: fz_conf's group and
 * the large MODP and ECP ones, where a KE of another length or a value
 * outside the group must be refused. */
#define FZ_N_GROUPS 5
extern const uint8_t fz_groups[FZ_N_GROUPS];

/** Main Mode through message 2: the SA waits for message 4. */
void fz_mm_sent3(struct ike_sa *sa);
/** The same with fz_conf's proposal in @p group (one of fz_groups). */
void fz_mm_sent3_in(struct ike_sa *sa, uint8_t group);
/** ... and through message 4: it waits for message 6. */
void fz_mm_sent5(struct ike_sa *sa);
/** ... and through message 6: established. */
void fz_mm_established(struct ike_sa *sa);

/**
 * ... and GROUPKEY-PULL message 1 sent on it: @p pull waits for message 2.
 * @return 0 or -1.
 */
int fz_pull_sent1(struct ike_sa *sa, struct gdoi_pull *pull);

/**
 * The fuzzer's payload chain @p data (@p len bytes) copied where the
 * harness may write hashes into it. @return the copy, or NULL when it does
 * not fit in a message.
 */
uint8_t *fz_chain(const uint8_t *data, size_t len);

/** A Main Mode (or, with @p info, informational) message in the clear. */
size_t fz_plain(const struct ike_sa *sa, int info, uint8_t first, const uint8_t *chain, size_t len,
		uint8_t *out, size_t room);

/** Write HASH_R over the chain's ID into its HASH payload (message 6). */
void fz_fix_hash_r(const struct ike_sa *sa, uint8_t first, uint8_t *chain, size_t len);

/**
 * Write prf(SKEYID_a, M-ID | pre | everything after HASH) into a first
 * HASH payload of the right size (GROUPKEY-PULL, informational).
 */
void fz_fix_hash(const struct ike_sa *sa, uint32_t msgid, const struct ike_chunk *pre, int npre,
		 uint8_t first, uint8_t *chain, size_t len);

/**
 * Encrypt a chain under the phase-1 SA: HDR* with the SA's cookies,
 * @p exchange and @p msgid; @p iv is chained on. @return 0 or -1.
 */
int fz_seal(const struct ike_sa *sa, uint8_t iv[IKE_BLOCK_MAX], uint8_t exchange, uint32_t msgid,
	    uint8_t first, const uint8_t *chain, size_t len, struct isakmp_buf *out);

#endif /* FUZZ_IKE_H */
