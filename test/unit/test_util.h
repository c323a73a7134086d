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

/* Decode a hex vector into @p out, failing the test on a malformed one. */
static inline size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	int n = gvpn_hex_parse(s, out, cap);

	assert_true(n >= 0);
	return (size_t)n;
}

#endif
