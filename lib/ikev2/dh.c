/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Diffie-Hellman groups: lib/ike's (MODP RFC 3526, ECP RFC 5903, the
 * peer-value checks of RFC 7296 2.12 and RFC 6989), called through a
 * phase-1 SA of its own that holds nothing but the DH state. The KE data
 * and the shared secret are encoded as IKEv2 wants them: MODP g^x and
 * g^ir as long as the prime (RFC 7296 3.4), ECP x | y and the x
 * coordinate alone (RFC 5903 7).
 *
 * lib/ike keeps these functions in its private header, bound to its
 * struct ike_sa; a DH interface of its own in gvpn_ike.h would let this
 * file shrink to calls.
 */
#include <errno.h>
#include <string.h>

#include "gvpn_common.h"
#include "gvpn_ike.h"
#include "ike_private.h"
#include "ikev2_private.h"

_Static_assert(IKE_DH_MAX == IKEV2_KE_MAX, "the KE data of the largest group");

size_t
ikev2_dh_len(uint16_t group)
{
	return ikev2_dh_alg(group) != NULL ? ike_dh_ke_len((uint8_t)group) : 0;
}

void
ikev2_dh_free(struct ikev2_sa *sa)
{
	if (sa->dh != NULL) {
		ike_sa_clear(sa->dh); /* frees the private value, wipes the rest */
		gvpn_keymem_free(sa->dh);
		sa->dh = NULL;
	}
}

int
ikev2_dh_start(struct ikev2_sa *sa, uint16_t group, const uint8_t *priv, size_t priv_len,
	       uint8_t *pub)
{
	struct ike_sa *d;
	int rc;

	if (ikev2_dh_len(group) == 0)
		return -ENOTSUP;
	ikev2_dh_free(sa);
	d = gvpn_keymem_alloc(sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->chosen.group = (uint8_t)group;
	rc = ike_dh_start(d, priv, priv_len);
	if (rc != 0) {
		ike_sa_clear(d);
		gvpn_keymem_free(d);
		return rc;
	}
	memcpy(pub, d->gxi, d->g_len);
	sa->dh = d;
	return 0;
}

int
ikev2_dh_finish(struct ikev2_sa *sa, const uint8_t *peer, size_t len, uint8_t *gir)
{
	struct ike_sa *d = sa->dh;
	int rc;

	if (d == NULL)
		return -EIO;
	if (len != d->g_len)
		return -EBADMSG;
	memcpy(d->gxr, peer, len);
	rc = ike_dh_finish(d);
	if (rc != 0)
		return rc;
	memcpy(gir, d->gxy, d->s_len);
	return (int)d->s_len;
}
