/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The phase-1 Diffie-Hellman groups (ike_private.h).
 *
 * MODP (RFC 2409 6, RFC 3526): generator 2; the KE value is g^x as long as
 * the prime, zero-prefixed (RFC 2409 5); so is the shared secret g^xy.
 *
 * ECP (RFC 5903): the KE value is the point's x | y, each as long as the
 * field prime, with no point-format octet; the shared secret is the x
 * coordinate of the product alone (RFC 5903 7, which fixes this for IKEv1).
 *
 * A peer's value is refused unless it makes the shared secret
 * unpredictable: MODP 1 < y < p - 1; ECP both coordinates below the field
 * prime and the point on the curve (x | y cannot encode the point at
 * infinity, and both curves have cofactor 1, so every such point is in the
 * group). Private values and what derives from them stay in OpenSSL's
 * secure heap.
 */
#include <errno.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include "ike_private.h"

static const struct dh_group {
	uint8_t id;	 /**< IKE group number (RFC 2409 appendix A, IANA) */
	int nid;	 /**< ECP: the curve; MODP: 0 */
	uint16_t len;	 /**< bytes: MODP the prime, ECP one coordinate */
	uint16_t x_bits; /**< MODP: bits of a random private exponent */
	BIGNUM *(*prime)(BIGNUM *);
} groups[] = {
    {1, 0, 96, 256, BN_get_rfc2409_prime_768},
    {2, 0, 128, 256, BN_get_rfc2409_prime_1024},
    {5, 0, 192, 256, BN_get_rfc3526_prime_1536},
    {14, 0, 256, 256, BN_get_rfc3526_prime_2048},
    {15, 0, 384, 256, BN_get_rfc3526_prime_3072},
    /* twice the group's strength (about 150 bits, RFC 3526 8) */
    {16, 0, 512, 320, BN_get_rfc3526_prime_4096},
    {19, NID_X9_62_prime256v1, 32, 0, NULL},
    {20, NID_secp384r1, 48, 0, NULL},
};

_Static_assert(2 * 48 <= IKE_DH_MAX && 512 <= IKE_DH_MAX, "IKE_DH_MAX holds every group");

static const struct dh_group *
group_of(uint8_t id)
{
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (groups[i].id == id)
			return &groups[i];
	return NULL;
}

size_t
ike_dh_ke_len(uint8_t group)
{
	const struct dh_group *g = group_of(group);

	if (g == NULL)
		return 0;
	return g->nid != 0 ? 2u * g->len : g->len;
}

static int
modp_start(struct ike_sa *sa, const struct dh_group *grp, const uint8_t *priv, size_t priv_len)
{
	BIGNUM *p = grp->prime(NULL), *g = BN_new(), *x = BN_secure_new(), *gx = BN_new();
	BN_CTX *ctx = BN_CTX_secure_new(); /* its temporaries derive from x */
	int rc = -EIO;

	if (p == NULL || g == NULL || x == NULL || gx == NULL || ctx == NULL)
		goto out;
	if (priv != NULL) {
		if (BN_bin2bn(priv, (int)priv_len, x) == NULL)
			goto out;
		if (BN_is_zero(x) || BN_cmp(x, p) >= 0) {
			rc = -EINVAL;
			goto out;
		}
	} else if (BN_priv_rand(x, grp->x_bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1) {
		goto out;
	}
	if (BN_set_word(g, 2) == 1 && BN_mod_exp_mont_consttime(gx, g, x, p, ctx, NULL) == 1 &&
	    BN_bn2binpad(gx, sa->gxi, grp->len) == grp->len) {
		sa->g_len = grp->len;
		sa->dh_x = x;
		x = NULL;
		rc = 0;
	}
out:
	BN_clear_free(x);
	BN_free(p);
	BN_free(g);
	BN_free(gx);
	BN_CTX_free(ctx);
	return rc;
}

static int
modp_finish(struct ike_sa *sa, const struct dh_group *grp)
{
	BIGNUM *p = grp->prime(NULL), *y = BN_bin2bn(sa->gxr, (int)sa->g_len, NULL);
	BIGNUM *s = BN_secure_new(), *pm1 = BN_new();
	BN_CTX *ctx = BN_CTX_secure_new(); /* its temporaries derive from x */
	int rc = -EIO;

	if (p == NULL || y == NULL || s == NULL || pm1 == NULL || ctx == NULL)
		goto out;
	/* 1 < y < p - 1, or the shared secret is predictable */
	if (BN_copy(pm1, p) == NULL || BN_sub_word(pm1, 1) != 1)
		goto out;
	if (BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, pm1) >= 0) {
		rc = -EBADMSG;
		goto out;
	}
	if (BN_mod_exp_mont_consttime(s, y, sa->dh_x, p, ctx, NULL) == 1 &&
	    BN_bn2binpad(s, sa->gxy, grp->len) == grp->len) {
		sa->s_len = grp->len;
		rc = 0;
	}
out:
	BN_clear_free(s);
	BN_free(p);
	BN_free(y);
	BN_free(pm1);
	BN_CTX_free(ctx);
	return rc;
}

static int
ecp_start(struct ike_sa *sa, const struct dh_group *grp, const uint8_t *priv, size_t priv_len)
{
	EC_GROUP *ec = EC_GROUP_new_by_curve_name(grp->nid);
	EC_POINT *pub = ec != NULL ? EC_POINT_new(ec) : NULL;
	BIGNUM *x = BN_secure_new(), *nm1 = BN_new(), *px = BN_new(), *py = BN_new();
	BN_CTX *ctx = BN_CTX_secure_new(); /* its temporaries derive from x */
	const BIGNUM *n;
	int rc = -EIO;

	if (pub == NULL || x == NULL || nm1 == NULL || px == NULL || py == NULL || ctx == NULL)
		goto out;
	n = EC_GROUP_get0_order(ec);
	if (priv != NULL) {
		if (BN_bin2bn(priv, (int)priv_len, x) == NULL)
			goto out;
		if (BN_is_zero(x) || BN_cmp(x, n) >= 0) {
			rc = -EINVAL;
			goto out;
		}
	} else if (BN_copy(nm1, n) == NULL || BN_sub_word(nm1, 1) != 1 ||
		   BN_priv_rand_range(x, nm1) != 1 || BN_add_word(x, 1) != 1) {
		goto out; /* 1 <= x < n */
	}
	if (EC_POINT_mul(ec, pub, x, NULL, NULL, ctx) == 1 &&
	    EC_POINT_get_affine_coordinates(ec, pub, px, py, ctx) == 1 &&
	    BN_bn2binpad(px, sa->gxi, grp->len) == grp->len &&
	    BN_bn2binpad(py, sa->gxi + grp->len, grp->len) == grp->len) {
		sa->g_len = 2u * grp->len;
		sa->dh_x = x;
		x = NULL;
		rc = 0;
	}
out:
	BN_clear_free(x);
	BN_free(nm1);
	BN_free(px);
	BN_free(py);
	EC_POINT_free(pub);
	EC_GROUP_free(ec);
	BN_CTX_free(ctx);
	return rc;
}

static int
ecp_finish(struct ike_sa *sa, const struct dh_group *grp)
{
	EC_GROUP *ec = EC_GROUP_new_by_curve_name(grp->nid);
	EC_POINT *peer = ec != NULL ? EC_POINT_new(ec) : NULL;
	EC_POINT *z = ec != NULL ? EC_POINT_new(ec) : NULL;
	BIGNUM *p = BN_new(), *px = BN_bin2bn(sa->gxr, grp->len, NULL);
	BIGNUM *py = BN_bin2bn(sa->gxr + grp->len, grp->len, NULL), *zx = BN_secure_new();
	BN_CTX *ctx = BN_CTX_secure_new(); /* its temporaries derive from x */
	int rc = -EIO;

	if (peer == NULL || z == NULL || p == NULL || px == NULL || py == NULL || zx == NULL ||
	    ctx == NULL || sa->g_len != 2u * grp->len)
		goto out;
	if (EC_GROUP_get_curve(ec, p, NULL, NULL, ctx) != 1)
		goto out;
	/* coordinates of the field, and a point of the curve (SP 800-56A
	 * 5.6.2.3.4: cofactor 1, so no subgroup check is needed) */
	if (BN_cmp(px, p) >= 0 || BN_cmp(py, p) >= 0 ||
	    EC_POINT_set_affine_coordinates(ec, peer, px, py, ctx) != 1 ||
	    EC_POINT_is_on_curve(ec, peer, ctx) != 1 || EC_POINT_is_at_infinity(ec, peer)) {
		ERR_clear_error();
		rc = -EBADMSG;
		goto out;
	}
	if (EC_POINT_mul(ec, z, NULL, peer, sa->dh_x, ctx) != 1)
		goto out;
	if (EC_POINT_is_at_infinity(ec, z)) {
		rc = -EBADMSG;
		goto out;
	}
	if (EC_POINT_get_affine_coordinates(ec, z, zx, NULL, ctx) == 1 &&
	    BN_bn2binpad(zx, sa->gxy, grp->len) == grp->len) {
		sa->s_len = grp->len;
		rc = 0;
	}
out:
	BN_clear_free(zx);
	BN_free(p);
	BN_free(px);
	BN_free(py);
	EC_POINT_clear_free(z);
	EC_POINT_free(peer);
	EC_GROUP_free(ec);
	BN_CTX_free(ctx);
	return rc;
}

int
ike_dh_start(struct ike_sa *sa, const uint8_t *priv, size_t priv_len)
{
	const struct dh_group *g = group_of(sa->chosen.group);

	if (g == NULL)
		return -ENOTSUP;
	if (priv != NULL && (priv_len == 0 || priv_len > IKE_DH_MAX))
		return -EINVAL;
	BN_clear_free(sa->dh_x);
	sa->dh_x = NULL;
	return g->nid != 0 ? ecp_start(sa, g, priv, priv_len) : modp_start(sa, g, priv, priv_len);
}

int
ike_dh_finish(struct ike_sa *sa)
{
	const struct dh_group *g = group_of(sa->chosen.group);

	if (g == NULL || sa->dh_x == NULL)
		return -EIO;
	if (sa->g_len != ike_dh_ke_len(g->id))
		return -EBADMSG;
	return g->nid != 0 ? ecp_finish(sa, g) : modp_finish(sa, g);
}
