/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * G-IKEv2 (lib/gikev2): the GSA and KD payload parsers and the GSA_REKEY
 * handler behind its integrity check.
 *
 * Byte 0 selects what the rest is:
 *   0  a GSA payload body (byte 1 bit 0: in a registration)
 *   1  a KD payload body (byte 1 bit 0: in a registration)
 *   2  a GSA_REKEY's plaintext: first payload type, then the chain, sealed
 *      under the harness's rekey SA (implicit authentication, so the
 *      policy, key and Delete readers behind the ICV see it), message ID
 *      from byte 1
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gvpn_gikev2.h"
#include "ikev2_private.h"
#include "../unit/gikev2_rekey_sa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gikev2_member m;
static uint8_t msg[IKEV2_MSG_MAX];

static void
rekey_sa(void)
{
	uint8_t ek[16], ak[32];

	memset(ek, 1, sizeof(ek));
	memset(ak, 2, sizeof(ak));
	memset(&m, 0, sizeof(m));
	m.conf.allow_implicit = 1;
	gikev2_test_rekey_sa(&m, ek, ak);
	m.rk.gcauth = GIKEV2_GCAUTH_IMPLICIT;
	memset(m.rekey_kwk.key, 3, 16);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gikev2_gsa g;
	static struct gikev2_kd kd;
	const char *why = NULL;

	if (size < 2)
		return 0;
	switch (data[0]) {
	case 0:
		gikev2_gsa_parse(data + 2, size - 2, data[1] & 1, &g, &why);
		break;
	case 1:
		gikev2_kd_parse(data + 2, size - 2, data[1] & 1, &kd, &why);
		break;
	case 2: {
		struct ikev2_hdr h = {.exchange = IKEV2_EXCH_GSA_REKEY, .msgid = data[1]};
		enum gikev2_drop reason;
		int n;

		if (size < 3 || size - 3 > 4096)
			return 0;
		rekey_sa();
		memset(h.spi_i, 0x5a, 8);
		memset(h.spi_r, 0x5a, 8);
		n = ikev2_sk_seal(&m.rekey, 0, &h, data[2], data + 3, size - 3, msg, sizeof(msg));
		if (n > 0)
			gikev2_rekey_input(&m, msg, (size_t)n, &reason, &why);
		break;
	}
	default:
		break;
	}
	return 0;
}
