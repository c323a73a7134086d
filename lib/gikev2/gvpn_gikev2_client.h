/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_GIKEV2_CLIENT_H
#define GVPN_GIKEV2_CLIENT_H

/**
 * @file
 * A group member's registration with its G-IKEv2 key servers (GCKSs), as
 * lib/gdoi's client does it for GDOI: the group's UDP socket (IPv4 or
 * IPv6), the rekey SA's multicast group, retransmission of the outstanding
 * request (the same bytes), re-registration before the TEKs or the rekey SA
 * end and after an exclusion, and failover through up to four key servers.
 * The protocol itself is lib/gikev2's member (gvpn_gikev2.h); this wrapper
 * only moves datagrams and keeps time.
 *
 * It reports upward through lib/gdoi's struct gdoi_client_ops, in lib/gdoi's
 * terms (struct gdoi_policy, struct gdoi_push, enum gdoi_client_state: PHASE1
 * is IKE_SA_INIT and GSA_AUTH, PULL a GSA_REGISTRATION on the IKE SA), so
 * that the control core installs G-IKEv2's TEKs as it installs GDOI's.
 */

#include "gvpn_gdoi_client.h"
#include "gvpn_gikev2.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gikev2_client_conf {
	unsigned int n_servers;
	/** the key servers and the local address: one family */
	union gdoi_sockaddr servers[GDOI_MAX_SERVERS];
	union gdoi_sockaddr local;  /**< address (and port, 0 = any) to send from */
	struct gikev2_conf member;  /**< PSK, identities, proposals, IDg, Sender-IDs */
	uint32_t retry_interval_ms; /**< an attempt fails after this long */
	unsigned int retries;	    /**< attempts per server before the next */
	uint32_t retransmit_ms;	    /**< first retransmission of a request */
};

struct gikev2_client;

/** Create a client (no traffic until gikev2_client_start()). NULL with errno set. */
struct gikev2_client *gikev2_client_create(const struct gikev2_client_conf *conf,
					   const struct gdoi_client_ops *ops);
/** Free a client: its sockets closed (the multicast group left), keys wiped. */
void gikev2_client_free(struct gikev2_client *c);
/** New key servers, retries, retransmission or IKE proposals for the next
 *  attempt (keys held stay). @return 0 or -EINVAL. */
int gikev2_client_reconf(struct gikev2_client *c, const struct gikev2_client_conf *conf);
/** Register now (at start, and on an operator's request). */
void gikev2_client_start(struct gikev2_client *c, uint64_t now_ms);
/** Read the sockets (at most GDOI_RX_BUDGET datagrams), run the timers. Never blocks. */
void gikev2_client_poll(struct gikev2_client *c, uint64_t now_ms);
/**
 * Leave the group before gvpnd stops (draft 2.3.2): on an established IKE
 * SA with no exchange under way, GSA_REGISTRATION with IDg and
 * N(REGISTRATION_FAILED); once the key server answers it, an INFORMATIONAL
 * Delete of the IKE SA. The rekey SA and its multicast group are dropped
 * at once, and from now on gikev2_client_poll() only carries the leave on
 * (no registration, no timer, no GSA_REKEY). Best effort: the caller
 * bounds the wait and frees the client whatever came back.
 * @return 1: requests are out, poll until gikev2_client_leaving() says 0;
 *   0: nothing to send (no IKE SA, or an exchange under way).
 */
int gikev2_client_leave(struct gikev2_client *c, uint64_t now_ms);
/** Is a leave still waiting for the key server? @return 1 or 0. */
int gikev2_client_leaving(const struct gikev2_client *c);
/** Debug switch: one log line per message in and out (its header only). */
void gikev2_client_set_debug(struct gikev2_client *c, int on);

/** For telemetry: never a key. */
struct gikev2_client_info {
	enum gdoi_client_state state;
	enum gikev2_state member_state;
	char server[GDOI_ADDR_NAME_MAX];
	char last_error[128];
	int64_t rekey_in_ms; /**< -1: no re-registration scheduled */
	uint64_t registrations, failures;
	uint64_t rekeys, inband_rekeys, deletes;
	uint32_t rekey_msgid; /**< message ID of the last GSA_REKEY accepted */
	uint64_t drops[GIKEV2_DROP_MAX];
	uint64_t rx_datagrams, rx_not_key_server, rx_socket_full, rx_polls_full;
	char push_group[GDOI_ADDR_NAME_MAX]; /**< the rekey SA's multicast group, "" */
	uint64_t push_group_failures;
	/* the IKE SA with the current key server */
	enum ikev2_state ike_state;
	uint8_t ike_spi_i[8], ike_spi_r[8];
	struct ikev2_suite ike_suite; /**< established: what it runs */
	uint32_t ike_next_msgid;      /**< of our next request */
	uint32_t ike_peer_msgid;      /**< expected in the key server's next request */
	/* the rekey SA (GIKE_UPDATE) */
	struct gikev2_rekey_info rk;
	int64_t rekey_sa_expires_in_ms; /**< -1: none or no lifetime */
	uint8_t sid_bits;
	uint8_t n_sids;
	uint32_t sid; /**< the first Sender-ID */
	unsigned int n_servers;
	struct gdoi_server_info servers[GDOI_MAX_SERVERS];
	char local[GDOI_ADDR_NAME_MAX];
	int local_bound;
	int64_t registered_at, pushed_at; /**< unix time, 0: never */
};
void gikev2_client_info(const struct gikev2_client *c, uint64_t now_ms,
			struct gikev2_client_info *out);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_GIKEV2_CLIENT_H */
