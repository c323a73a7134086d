/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The rekey SA that the G-IKEv2 unit tests and its fuzz harness give a
 * member: held, SPI 0x5a..., AES-CBC-128 with HMAC-SHA-256-128 under the
 * caller's keys, and an RFC 5649 AES-128 key-wrap key with ID 0 (its key
 * the caller's). How the key server authenticates it is the caller's too.
 */
#ifndef GIKEV2_REKEY_SA_H
#define GIKEV2_REKEY_SA_H

#include <string.h>

#include "gvpn_gikev2.h"
#include "ikev2_private.h"

static inline void
gikev2_test_rekey_sa(struct gikev2_member *m, const uint8_t ek[16], const uint8_t ak[32])
{
	struct ikev2_sa *sa = &m->rekey;

	m->rk.held = 1;
	memset(m->rk.spi, 0x5a, 16);
	sa->chosen.encr = (struct ikev2_encr){IKEV2_ENCR_AES_CBC, 128};
	sa->chosen.integ = IKEV2_INTEG_HMAC_SHA2_256_128;
	sa->encr_len = 16;
	sa->integ_len = 32;
	sa->icv_len = 16;
	sa->iv_len = 16;
	sa->block = 16;
	memcpy(sa->sk_er, ek, 16);
	memcpy(sa->sk_ar, ak, 32);
	m->rekey_kwk = (struct gikev2_kwk){.id = 0, .alg = IKEV2_KWA_5649_128, .len = 16};
}

#endif /* GIKEV2_REKEY_SA_H */
