/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "gvpn_common.h"

void
gvpn_wipe(void *p, size_t n)
{
	if (p != NULL && n != 0)
		OPENSSL_cleanse(p, n);
}

static const uint8_t zero_block[GVPN_RNG_BUF];

int
gvpn_rng_init(struct gvpn_rng *rng, const uint8_t *seed)
{
	uint8_t key[32], iv[16] = {0};
	EVP_CIPHER_CTX *c;

	if (seed != NULL)
		memcpy(key, seed, sizeof(key));
	else if (RAND_priv_bytes(key, sizeof(key)) != 1)
		return -EIO;
	c = EVP_CIPHER_CTX_new();
	if (c == NULL) {
		gvpn_wipe(key, sizeof(key));
		return -ENOMEM;
	}
	if (EVP_EncryptInit_ex(c, EVP_aes_256_ctr(), NULL, key, iv) != 1) {
		EVP_CIPHER_CTX_free(c);
		gvpn_wipe(key, sizeof(key));
		return -EIO;
	}
	gvpn_wipe(key, sizeof(key));
	rng->ctx = c;
	gvpn_rng_refill(rng);
	return 0;
}

void
gvpn_rng_refill(struct gvpn_rng *rng)
{
	int len = 0;

	/* AES-CTR over zeros cannot fail once the context is keyed. */
	EVP_EncryptUpdate(rng->ctx, rng->buf, &len, zero_block, sizeof(zero_block));
	rng->pos = 0;
}

void
gvpn_rng_fini(struct gvpn_rng *rng)
{
	EVP_CIPHER_CTX_free(rng->ctx);
	rng->ctx = NULL;
	gvpn_wipe(rng->buf, sizeof(rng->buf));
}

int
gvpn_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
gvpn_hex_parse(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (*s != '\0') {
		if (*s == ':') {
			s++;
			continue;
		}
		int hi = gvpn_hex_digit(s[0]);
		int lo = hi < 0 ? -1 : gvpn_hex_digit(s[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (n == cap)
			return -ENOSPC;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return (int)n;
}
