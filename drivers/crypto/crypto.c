/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "gvpn_crypto.h"

struct cipher_info {
	const char *name;
	unsigned int iv_len, block;
};

struct auth_info {
	const char *name;
	unsigned int key_len, icv_len;
};

#define CIPHER_INFO(n, s, iv, blk) [GVPN_CIPHER_##n] = {s, iv, blk},
static const struct cipher_info ciphers[] = {GVPN_CIPHER_LIST(CIPHER_INFO)};
#define AUTH_INFO(n, s, k, icv) [GVPN_AUTH_##n] = {s, k, icv},
static const struct auth_info auths[] = {GVPN_AUTH_LIST(AUTH_INFO)};

static const struct gvpn_crypto_ops *const backends[] = {
    &gvpn_crypto_ipsecmb,
    &gvpn_crypto_openssl,
};

const struct gvpn_crypto_ops *
gvpn_crypto_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

const char *
gvpn_cipher_name(enum gvpn_cipher c)
{
	return (unsigned int)c < GVPN_CIPHER_MAX ? ciphers[c].name : "?";
}

const char *
gvpn_auth_name(enum gvpn_auth a)
{
	return (unsigned int)a < GVPN_AUTH_MAX ? auths[a].name : "?";
}

unsigned int
gvpn_cipher_iv_len(enum gvpn_cipher c)
{
	return ciphers[c].iv_len;
}

unsigned int
gvpn_cipher_block(enum gvpn_cipher c)
{
	return ciphers[c].block;
}

int
gvpn_cipher_is_counter(enum gvpn_cipher c)
{
	return c == GVPN_CIPHER_AES_GCM || c == GVPN_CIPHER_AES_GMAC;
}

unsigned int
gvpn_auth_key_len(enum gvpn_auth a)
{
	return auths[a].key_len;
}

unsigned int
gvpn_xform_icv_len(const struct gvpn_crypto_xform *x)
{
	return gvpn_cipher_is_counter(x->cipher) ? GVPN_GCM_ICV_LEN : auths[x->auth].icv_len;
}

int
gvpn_cipher_parse(const char *s, enum gvpn_cipher *c)
{
	for (unsigned int i = 0; i < GVPN_CIPHER_MAX; i++)
		if (strcmp(s, ciphers[i].name) == 0) {
			*c = (enum gvpn_cipher)i;
			return 0;
		}
	return -EINVAL;
}

int
gvpn_auth_parse(const char *s, enum gvpn_auth *a)
{
	for (unsigned int i = 0; i < GVPN_AUTH_MAX; i++)
		if (strcmp(s, auths[i].name) == 0) {
			*a = (enum gvpn_auth)i;
			return 0;
		}
	return -EINVAL;
}

static int
cipher_key_ok(enum gvpn_cipher c, unsigned int len)
{
	switch (c) {
	case GVPN_CIPHER_NULL:
		return len == 0;
	case GVPN_CIPHER_DES_CBC:
		return len == 8;
	case GVPN_CIPHER_3DES_CBC:
		return len == 24;
	case GVPN_CIPHER_AES_CBC:
		return len == 16 || len == 24 || len == 32;
	case GVPN_CIPHER_AES_GCM:
	case GVPN_CIPHER_AES_GMAC:
		/* AES-192-GCM/GMAC are valid ESP but not TEK algorithms here. */
		return len == 16 + GVPN_GCM_SALT_LEN || len == 32 + GVPN_GCM_SALT_LEN;
	default:
		return 0;
	}
}

int
gvpn_xform_check(const struct gvpn_crypto_xform *x)
{
	if ((unsigned int)x->cipher >= GVPN_CIPHER_MAX || (unsigned int)x->auth >= GVPN_AUTH_MAX)
		return -EINVAL;
	if (!cipher_key_ok(x->cipher, x->cipher_key_len))
		return -EINVAL;
	if (x->auth_key_len != auths[x->auth].key_len)
		return -EINVAL;
	/* GCM and GMAC authenticate themselves; anything else needs an
	 * integrity algorithm or a cipher (ESP with neither protects nothing). */
	if (gvpn_cipher_is_counter(x->cipher) && x->auth != GVPN_AUTH_NONE)
		return -EINVAL;
	if (x->cipher == GVPN_CIPHER_NULL && x->auth == GVPN_AUTH_NONE)
		return -EINVAL;
	return 0;
}
