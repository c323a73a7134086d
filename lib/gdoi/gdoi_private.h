/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GDOI_PRIVATE_H
#define GDOI_PRIVATE_H

/*
 * Inside lib/gdoi, bottom to top with no file calling back up:
 *   kek.c     the KEK's algorithms: check, decrypt, verify a signature
 *   codec.c   GDOI payloads read by field tables, the policy check
 *   pull.c    GROUPKEY-PULL (member side)
 *   push.c    GROUPKEY-PUSH and its RFC 8263 acknowledgement
 *   client.c  the registration state machine, on top of pull and push
 */

#include "gvpn_gdoi.h"

#define GDOI_DIM(a) (sizeof(a) / sizeof((a)[0]))

/* GAP attributes (RFC 6407 5.4); the replay window is a private-use number
 * (doc/gdoi.md, "Time-based anti-replay") */
enum { GAP_ATD = 1, GAP_DTD = 2, GAP_SENDER_ID_REQUEST = 3, GAP_REPLAY_WINDOW = 16384 };

/* kek.c */

/**
 * CBC-decrypt @p len bytes (whole blocks) with the KEK and its explicit IV.
 * @return 0, -EBADMSG (not whole blocks), -ENOTSUP (no cipher) or -EIO.
 */
int gdoi_kek_decrypt(const struct gdoi_kek *k, const uint8_t *in, size_t len, uint8_t *out);

/**
 * Verify a push's SIG over "rekey" | @p hdr | @p signed_part with the key
 * server's public key (RFC 6407 4, 5.3.6.1). Under GDOI_HABITS_REFERENCE a
 * signature of the reference key server's form verifies too.
 * @return 0, or -EACCES when it does not verify.
 */
int gdoi_kek_verify(const struct gdoi_kek *k, const uint8_t *hdr, const uint8_t *signed_part,
		    size_t signed_len, const struct isakmp_payload *sig, enum gdoi_habits habits);

/* codec.c */

/** SEQ: @return 0 with @p seq set, or -EINVAL with @p why set. */
int gdoi_parse_seq(const struct isakmp_payload *pl, uint32_t *seq, const char **why);

/** Delete: its SPIs appended to @p out. @return 0, or -EINVAL with @p why set. */
int gdoi_parse_delete(const struct isakmp_payload *pl, struct gdoi_push *out, const char **why);

#endif /* GDOI_PRIVATE_H */
