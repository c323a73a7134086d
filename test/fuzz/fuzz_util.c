/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "fuzz_util.h"
#include "gvpn_isakmp.h"

void
fz_push_hdr(uint8_t *msg, const uint8_t spi[16], uint8_t first, uint32_t len)
{
	memcpy(msg, spi, 16);
	msg[16] = first;
	msg[17] = ISAKMP_VERSION;
	msg[18] = ISAKMP_EXCH_GROUPKEY_PUSH;
	msg[19] = ISAKMP_FLAG_ENC;
	memset(msg + 20, 0, 4);
	msg[24] = (uint8_t)(len >> 24);
	msg[25] = (uint8_t)(len >> 16);
	msg[26] = (uint8_t)(len >> 8);
	msg[27] = (uint8_t)len;
}
