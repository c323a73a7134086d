/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IKEv2 (lib/ikev2): the message parser and the initiator's handlers.
 *
 * Byte 0 selects what the rest is:
 *   0  a datagram: header, payload walk, and the readers of each payload
 *      (Notify, traffic selectors, an SA choice against two proposals)
 *   1  the IKE_SA_INIT response: first payload type, then the payload chain
 *      after the header, fed to an SA that has just sent IKE_SA_INIT
 *   2  the IKE_AUTH response's plaintext: first payload type, then the
 *      chain, sealed under the responder's keys and fed to an SA waiting
 *      for it (so the handlers behind the integrity check see it)
 *   3  the same as the peer's INFORMATIONAL request to an established SA
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gvpn_ikev2.h"
#include "ikev2_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ikev2_conf conf;
static struct ikev2_sa sa;
static struct ikev2_msg m;
static uint8_t msg[IKEV2_MSG_MAX];

static void
init_conf(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	memcpy(conf.psk, "fuzzing-pre-shared-key-0123", 27);
	conf.psk_len = 27;
	conf.local_id = (struct ikev2_id){IKEV2_ID_FQDN, 6, "member"};
	conf.n_props = 2;
	if (ikev2_proposal_parse("aes128-sha256-ecp256-modp2048", 0, &conf.props[0]) != 0 ||
	    ikev2_proposal_parse("aes256gcm16-prfsha384-ecp384", 0, &conf.props[1]) != 0 ||
	    ikev2_proposal_parse("aes128gcm16", 1, &conf.child_props[0]) != 0)
		abort();
	conf.n_child_props = 1;
	conf.tsi =
	    (struct ikev2_ts){IKEV2_TS_IPV4_ADDR_RANGE, 0, 0, 65535, {10, 0, 0, 1}, {10, 0, 0, 1}};
	conf.tsr = conf.tsi;
}

static void
parse_only(const uint8_t *d, size_t n)
{
	struct ikev2_hdr h;
	struct ikev2_notify no;
	struct ikev2_ts ts;
	struct ikev2_suite s;
	uint8_t num, spi[4];

	if (ikev2_parse_header(d, n, &h, NULL) != 0 ||
	    ikev2_parse_payloads(h.next, d + IKEV2_HDR_LEN, n - IKEV2_HDR_LEN, NULL, &m, NULL) != 0)
		return;
	for (uint16_t i = 0; i < m.n; i++) {
		const struct ikev2_payload *p = &m.p[i];

		switch (p->type) {
		case IKEV2_P_NOTIFY:
			(void)ikev2_notify_read(p, &no);
			break;
		case IKEV2_P_TSI:
		case IKEV2_P_TSR:
			(void)ikev2_ts_read(p, &ts);
			break;
		case IKEV2_P_SA:
			(void)ikev2_sa_choice(p, IKEV2_PROTO_IKE, 0, conf.props, conf.n_props, &s,
					      &num, NULL);
			(void)ikev2_sa_choice(p, IKEV2_PROTO_ESP, 4, conf.child_props,
					      conf.n_child_props, &s, &num, spi);
			break;
		default:
			break;
		}
	}
}

/* An SA keyed as after IKE_SA_INIT with proposal 1 (AES-128-CBC,
 * HMAC-SHA-256, ECP 256), in @p state. */
static void
keyed(enum ikev2_state state)
{
	static const uint8_t gir[32] = "fixed shared secret for fuzzing";

	memset(&sa, 0, sizeof(sa));
	sa.conf = &conf;
	memcpy(sa.spi_i, "initiatr", 8);
	memcpy(sa.spi_r, "respondr", 8);
	sa.chosen = (struct ikev2_suite){
	    {IKEV2_ENCR_AES_CBC, 128}, IKEV2_PRF_HMAC_SHA2_256, IKEV2_INTEG_HMAC_SHA2_256_128, 19};
	sa.nr_len = 32;
	if (ikev2_derive(&sa, gir, sizeof(gir)) != 0)
		abort();
	sa.init_resp_len = sa.init_req_len = 100;
	sa.state = state;
	if (state == IKEV2_AUTH_SENT) {
		sa.req_len = 1;
		sa.req_msgid = 1;
		sa.req_exchange = IKEV2_EXCH_IKE_AUTH;
		sa.next_msgid = 2;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ikev2_result res;
	const char *why;
	int n;

	init_conf();
	if (size < 2)
		return 0;
	switch (data[0] & 3) {
	case 0:
		parse_only(data + 1, size - 1);
		break;
	case 1:
		if (size - 2 > sizeof(msg) - IKEV2_HDR_LEN || ikev2_start(&sa, &conf) != 0)
			abort();
		memcpy(msg, sa.spi_i, 8);
		memcpy(msg + 8, "respondr", 8);
		msg[16] = data[1];
		msg[17] = IKEV2_VERSION;
		msg[18] = IKEV2_EXCH_IKE_SA_INIT;
		msg[19] = IKEV2_FLAG_RESPONSE;
		ikev2_set32(msg + 20, 0);
		ikev2_set32(msg + 24, (uint32_t)(IKEV2_HDR_LEN + size - 2));
		memcpy(msg + IKEV2_HDR_LEN, data + 2, size - 2);
		(void)ikev2_input(&sa, msg, IKEV2_HDR_LEN + size - 2, &res, &why);
		ikev2_sa_clear(&sa);
		break;
	default: {
		int auth = (data[0] & 3) == 2;
		struct ikev2_hdr h = {.spi_i = "initiatr",
				      .spi_r = "respondr",
				      .exchange =
					  auth ? IKEV2_EXCH_IKE_AUTH : IKEV2_EXCH_INFORMATIONAL,
				      .flags = auth ? IKEV2_FLAG_RESPONSE : 0,
				      .msgid = auth ? 1 : 0};

		keyed(auth ? IKEV2_AUTH_SENT : IKEV2_ESTABLISHED);
		n = ikev2_sk_seal(&sa, 0, &h, data[1], data + 2, size - 2, msg, sizeof(msg));
		if (n > 0)
			(void)ikev2_input(&sa, msg, (size_t)n, &res, &why);
		ikev2_sa_clear(&sa);
		break;
	}
	}
	return 0;
}
