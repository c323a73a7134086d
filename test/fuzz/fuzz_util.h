/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

/* What the GROUPKEY-PUSH harnesses (isakmp, push) write alike. */
#include <stddef.h>
#include <stdint.h>

/**
 * Write the ISAKMP header of an encrypted GROUPKEY-PUSH message of @p len
 * bytes under the KEK with cookies @p spi, its first payload @p first.
 */
void fz_push_hdr(uint8_t *msg, const uint8_t spi[16], uint8_t first, uint32_t len);

#endif /* FUZZ_UTIL_H */
