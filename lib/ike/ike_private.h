/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef IKE_PRIVATE_H
#define IKE_PRIVATE_H

/*
 * Inside lib/ike, bottom to top:
 *   dh.c   the Diffie-Hellman groups: MODP (RFC 2409 6, RFC 3526) and
 *          ECP (RFC 5903), their KE encoding and the peer value checks
 *   ike.c  Main Mode, the phase-1 keys and the phase-1 crypto
 */

#include "gvpn_ike.h"

/** Bytes of a KE payload's public value in @p group; 0 for a group we lack. */
size_t ike_dh_ke_len(uint8_t group);

/**
 * Choose our private value in the group sa->chosen.group and put the public
 * value in sa->gxi (sa->g_len bytes: MODP g^x zero-padded to the prime's
 * length, ECP x | y of the point, RFC 5903 7). The private value is kept in
 * OpenSSL's secure heap (sa->dh_x) until ike_sa_clear().
 * @param priv NULL for a random private value; else this one, big-endian
 *   (known-answer tests).
 * @return 0, -ENOTSUP (a group we lack), -EINVAL (@p priv out of range)
 *   or -EIO (no randomness, OpenSSL failure).
 */
int ike_dh_start(struct ike_sa *sa, const uint8_t *priv, size_t priv_len);

/**
 * Check the peer's public value in sa->gxr (sa->g_len bytes) and put the
 * shared secret in sa->gxy (sa->s_len bytes: MODP g^xy as long as the
 * prime, ECP the x coordinate only, RFC 5903 7).
 * @return 0, -EBADMSG (MODP: not 1 < y < p - 1; ECP: a coordinate not
 *   below the field prime, or not a point of the curve) or -EIO.
 */
int ike_dh_finish(struct ike_sa *sa);

#endif /* IKE_PRIVATE_H */
