/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gvpn_common.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A host-order IPv4 address. DPDK 22.11's RTE_IPV4 shifts an int, so an
 * address from 128.0.0.0 up is undefined behaviour (UBSan stops on it). */
#define IP4(a, b, c, d)                                                                            \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* Decode a hex vector into @p out, failing the test on a malformed one. */
static inline size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	int n = gvpn_hex_parse(s, out, cap);

	assert_true(n >= 0);
	return (size_t)n;
}

#endif
