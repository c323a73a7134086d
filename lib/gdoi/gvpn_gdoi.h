/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_GDOI_H
#define GVPN_GDOI_H

/**
 * @file
 * GDOI (RFC 6407): the group policy a key server hands out (SA with SA KEK,
 * GAP and SA TEK payloads; KD; SEQ), and the GROUPKEY-PULL exchange of a
 * group member, run under an IKEv1 phase-1 SA:
 *
 *  Member                              Key server
 *  HDR*, HASH(1), Ni, ID       -->
 *                              <--     HDR*, HASH(2), Nr, SA
 *  HDR*, HASH(3) [, GAP]       -->
 *                              <--     HDR*, HASH(4), [SEQ,] KD
 *
 * Every message is checked against its exchange step's script before it
 * is read; everything is parsed and validated before anything is
 * installed; no sockets here. Errors follow gvpn_isakmp.h (0 or a negative
 * errno, the reason in `const char **why`). doc/gdoi.md lists the wire
 * choices. Inside the library: kek.c, codec.c, pull.c, push.c, client.c,
 * each calling only the ones before it (gdoi_private.h).
 */

#include <stdint.h>

#include "gvpn_crypto.h"
#include "gvpn_ike.h"
#include "gvpn_isakmp.h"
#include "gvpn_sa.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GDOI_DOI ISAKMP_DOI_GDOI
#define GDOI_MAX_TEKS 256
#define GDOI_KEK_KEY_MAX 48 /**< explicit IV (up to 16) and key (up to 32) */
#define GDOI_SIG_KEY_MAX 1024
#define GDOI_MAX_DELETES 16

/* KEK_ALGORITHM values (RFC 6407 5.3.2) */
enum { KEK_ALG_DES = 1, KEK_ALG_3DES = 2, KEK_ALG_AES = 3 };
/* SIG_HASH_ALGORITHM and SIG_ALGORITHM values (RFC 6407 5.3.5, 5.3.6) */
enum { SIG_HASH_SHA1 = 2, SIG_HASH_SHA256 = 3, SIG_HASH_SHA384 = 4, SIG_HASH_SHA512 = 5 };
enum { SIG_ALG_RSA = 1 };
/* KEK_ACK_REQUESTED values (RFC 8263 8) */
enum { REKEY_ACK_KEK_SHA256 = 1, REKEY_ACK_KEK_SHA512 = 3 };

/* Protocol-IDs of SA TEKs and Deletes (RFC 6407 5.5, 5.9): 0 is the KEK */
#define GDOI_PROTO_KEK 0
#define GDOI_PROTO_ESP 1
/* ESP transform IDs (RFC 2407 4.4.4, RFC 3602, RFC 4106, RFC 4543 and
 * IANA "IPsec DOI transform identifiers": 23 is ESP_NULL_AUTH_AES_GMAC) */
enum {
	ESP_DES = 2,
	ESP_3DES = 3,
	ESP_AES_CBC = 12,
	ESP_AES_GCM_16 = 20,
	ESP_NULL_AUTH_AES_GMAC = 23
};
/* IPsec SA attribute: authentication algorithm values (RFC 2407 4.5, RFC 4868) */
enum {
	AUTH_HMAC_MD5 = 1,
	AUTH_HMAC_SHA1 = 2,
	AUTH_HMAC_SHA256 = 5,
	AUTH_HMAC_SHA384 = 6,
	AUTH_HMAC_SHA512 = 7,
};

/** One TEK policy and, once KD arrived, its keys. */
struct gdoi_tek {
	uint32_t spi;
	uint8_t protocol_id; /**< 1 = ESP */
	uint8_t transform;   /**< ESP transform ID */
	uint16_t key_bits;
	uint8_t auth;		   /**< IPsec auth algorithm attribute, 0 = none */
	uint8_t encap;		   /**< 1 tunnel, 2 transport */
	uint8_t addr_preservation; /**< 1 none .. 4 source and destination */
	uint8_t direction;	   /**< 1 sender only, 2 receiver only, 3 symmetric */
	uint32_t lifetime;	   /**< seconds, 0 = none given */
	struct gvpn_selector sel;
	int has_keys;
	struct gvpn_crypto_xform xform; /**< algorithms and keys, when has_keys */
};

struct gdoi_kek {
	uint8_t spi[16];
	uint8_t alg; /**< KEK_ALGORITHM */
	uint16_t key_bits;
	uint32_t lifetime;
	uint8_t sig_hash, sig_alg;
	uint16_t sig_key_bits;
	uint8_t ack_requested; /**< KEK_ACK_REQUESTED (RFC 8263), 0 = none */
	/** The SA KEK's destination: where pushes are sent (IPv4 in host
	 *  order, 0 when not one IPv4 address; or, with dst_ipv6, one IPv6
	 *  address in network order; port 0: any). A multicast group is
	 *  joined (RFC 6407 5.3). */
	uint32_t dst_addr;
	uint8_t dst_ipv6;
	uint8_t dst_addr6[16];
	uint16_t dst_port;
	int has_keys;
	uint8_t key[GDOI_KEK_KEY_MAX]; /**< KEK_ALGORITHM_KEY: explicit IV, then the key */
	uint16_t key_len;
	uint8_t iv_len;			   /**< set by gdoi_kek_check(): the cipher's block */
	uint8_t sig_key[GDOI_SIG_KEY_MAX]; /**< public key of the key server */
	uint16_t sig_key_len;
};

/**
 * What a member accepts beyond RFC 6407 from its key server (doc/interop.md).
 * Strict unless a group's configuration opts in.
 */
enum gdoi_habits {
	GDOI_HABITS_STRICT = 0,
	/** The GDOI reference key server's: push signatures over the bare
	 * digest (no DigestInfo) with the header's length before padding, and
	 * on a KEK rekey the KEK key packet under the old KEK's SPI. */
	GDOI_HABITS_REFERENCE,
};

/** A group's policy as one pull (or push) delivered it. */
struct gdoi_policy {
	uint16_t n_teks;
	struct gdoi_tek tek[GDOI_MAX_TEKS];
	int has_kek;
	struct gdoi_kek kek;
	int has_gap;
	uint16_t atd, dtd;	/**< seconds */
	uint16_t replay_window; /**< time-based anti-replay window, seconds (R23), 0 = off */
	int has_seq;
	uint32_t seq;
	uint16_t n_ignored; /**< SA TEKs of other protocols (deny policies, R6) */
	/** A KEK key packet under this SPI holds the announced KEK's keys (set
	 * by a push under GDOI_HABITS_REFERENCE: the held KEK's SPI). */
	int has_kek_alias;
	uint8_t kek_alias[16];
	/* Sender-IDs (RFC 6407 5.6.3, RFC 6054): a SID key packet, as sent */
	int has_sid_packet;
	uint16_t sid_bits;  /**< NUMBER_OF_SID_BITS, 0 = not given */
	uint16_t n_sids;    /**< SID_VALUE attributes */
	uint8_t sid_len;    /**< octets of the first one (0xff: over 4) */
	uint8_t sid_raw[4]; /**< the first one as sent */
	/* set by gdoi_policy_sid() */
	int has_sid;
	uint32_t sid;
	/** A push's NUMBER_OF_SID_BITS voids the Sender-ID held (the client
	 *  sets it): its counter-mode TEKs must not encrypt with it. */
	int sid_void;
};

/**
 * Parse the body of a GDOI SA payload (DOI, situation, SA attribute next
 * payload, then SAK/GAP/SAT payloads) into @p pol.
 * @return 0, or a negative errno with @p why set.
 */
int gdoi_parse_sa(const uint8_t *body, size_t len, struct gdoi_policy *pol, const char **why);

/**
 * Parse a KD payload body: keys land in the matching TEKs and the KEK.
 * @return 0, or -EINVAL / -ENOTSUP with @p why set.
 */
int gdoi_parse_kd(const uint8_t *body, size_t len, struct gdoi_policy *pol, const char **why);

/**
 * Check a complete policy: every TEK has keys of the right length for a
 * supported algorithm, tunnel mode; TEKs sharing an SPI must be mirrored
 * pairs (R5). On success each TEK's xform is filled.
 * @return 0, or -EINVAL / -ENOTSUP with @p why set.
 */
int gdoi_policy_check(struct gdoi_policy *pol, const char **why);

/** gdoi_policy_check() without requiring a TEK (a push may carry none).
 * @return 0, or -EINVAL / -ENOTSUP with @p why set. */
int gdoi_policy_check_teks(struct gdoi_policy *pol, const char **why);

/**
 * Check a KEK: a supported algorithm whose KEK_ALGORITHM_KEY is the
 * explicit IV followed by a key of the right length, and an RSA signature
 * key that parses and matches SIG_KEY_LENGTH. Sets kek->iv_len.
 * @return 0, or -EINVAL / -ENOTSUP with @p why set.
 */
int gdoi_kek_check(struct gdoi_kek *kek, const char **why);

/**
 * The push SEQ floor once @p next becomes the group's KEK (RFC 6407 4). A
 * KEK with the SPI of the one held (@p held, NULL if none) is the same KEK:
 * its floor stays @p floor, or rises to @p next_seq, so no push accepted
 * under it can be replayed (a key server may repeat its KEK in every push).
 * A new SPI counts from @p next_seq: 0 from a push, a pull's SEQ.
 */
uint32_t gdoi_kek_seq_floor(const struct gdoi_kek *held, uint32_t floor,
			    const struct gdoi_kek *next, uint32_t next_seq);

/**
 * Read the member's Sender-ID from the policy's SID key packet: the first
 * SID_VALUE, big endian, or (@p habits GDOI_HABITS_REFERENCE, 4 octets)
 * little endian as the reference key server writes it. Sets has_sid, sid.
 * @return 0; -ENOENT when there is none (@p why set when a SID key packet
 *   came without a value); -EINVAL when it is unusable, with @p why set.
 */
int gdoi_policy_sid(struct gdoi_policy *pol, enum gdoi_habits habits, const char **why);

/** Does the TEK's ESP transform count its IVs (AES-GCM, AES-GMAC): does a
 *  sender need a Sender-ID to encrypt with it (RFC 6054)? */
int gdoi_tek_counter_mode(const struct gdoi_tek *t);
/** Does any TEK of the policy? */
int gdoi_policy_counter_mode(const struct gdoi_policy *pol);

/** Wipe every key in a policy. */
void gdoi_policy_clear(struct gdoi_policy *pol);

enum gdoi_pull_state { GDOI_PULL_IDLE = 0, GDOI_PULL_SENT1, GDOI_PULL_SENT3, GDOI_PULL_DONE };

struct gdoi_pull {
	enum gdoi_pull_state state;
	uint32_t msgid;
	uint32_t group_id;
	uint8_t ni[16];
	uint8_t nr[128];
	size_t nr_len;
	uint8_t iv[IKE_BLOCK_MAX];
	struct gdoi_policy pol;
	uint16_t notify; /**< notify type the key server sent, if any */
};

/** Build message 1. @return 0, -ENOTCONN (phase 1 not established) or -EIO. */
int gdoi_pull_start(struct gdoi_pull *p, const struct ike_sa *sa, uint32_t group_id,
		    struct isakmp_buf *out);

/**
 * Feed a received message of the exchange.
 * @param res IKE_CONTINUE (message 3 is in @p out), IKE_DONE (p->pol is
 *   valid and checked) or IKE_IGNORED (not for this exchange, or an
 *   informational that does not verify).
 * @param why set to the reason when the exchange failed (static string).
 * @return 0 with @p res set; or the exchange failed, with @p why set:
 *   -EBADMSG (does not decrypt, payloads not those of the step's script, or
 *   malformed), -EACCES (HASH does not verify), -EINVAL / -ENOTSUP (policy
 *   refused), -ECONNREFUSED (the key server sent a notification: its type
 *   in p->notify), -ECONNRESET (it deleted the phase-1 SA), -ENOMEM, -EIO.
 */
int gdoi_pull_input(struct gdoi_pull *p, const struct ike_sa *sa, const uint8_t *msg, size_t len,
		    struct isakmp_buf *out, enum ike_result *res, const char **why);

/** Wipe the exchange's secrets. */
void gdoi_pull_clear(struct gdoi_pull *p);

/**
 * The buffer that decrypted key-server messages (pull messages, pushes) are
 * read into: ISAKMP_MSG_MAX bytes of key memory, allocated on first use and
 * wiped by its users after every message. One thread (the control core).
 * @return the buffer, or NULL when key memory is exhausted.
 */
uint8_t *gdoi_plain_buf(void);

/* --- GROUPKEY-PUSH (RFC 6407 4, RFC 8263) --- */

/** One SPI a push deletes. */
struct gdoi_delete {
	uint8_t protocol;    /**< 0 KEK, 1 ESP TEK */
	int all;	     /**< SPI 0: every SA of that protocol */
	uint32_t spi;	     /**< TEK SPI */
	uint8_t kek_spi[16]; /**< KEK cookie pair */
};

/** What a verified push says. */
struct gdoi_push {
	uint32_t seq;
	uint16_t n_deletes;
	struct gdoi_delete del[GDOI_MAX_DELETES];
	int has_policy;		/**< SA and KD were present: pol holds them, checked */
	struct gdoi_policy pol; /**< new TEKs, GAP, a new KEK */
};

/** Why a push was dropped. */
#define GDOI_PUSH_DROP_LIST(X)                                                                     \
	X(NO_KEK, "no_kek", "no rekey SA (KEK) held")                                              \
	X(UNKNOWN_KEK, "unknown_kek", "cookies are not the KEK's SPI")                             \
	X(MALFORMED, "malformed", "does not decrypt or parse")                                     \
	X(STALE_SEQ, "stale_seq", "SEQ not newer than the last accepted")                          \
	X(BAD_SIGNATURE, "bad_signature", "signature does not verify")                             \
	X(POLICY, "policy", "policy or keys not acceptable")

#define GDOI_PUSH_DROP_ENUM(n, id, desc) GDOI_PUSH_DROP_##n,
enum gdoi_push_drop { GDOI_PUSH_DROP_LIST(GDOI_PUSH_DROP_ENUM) GDOI_PUSH_DROP_MAX };
#undef GDOI_PUSH_DROP_ENUM

/** Identifier of a push drop reason ("stale_seq"). */
const char *gdoi_push_drop_id(enum gdoi_push_drop d);

/**
 * Open a GROUPKEY-PUSH datagram: cookies must be @p kek's SPI; it is
 * decrypted with the KEK, checked against the push script (HDR*, SEQ, D*,
 * [SA, KD], SIG), its SEQ must exceed @p last_seq and its signature must
 * verify with the key server's public key, all before anything in it is
 * believed. @p habits: what is accepted beyond RFC 6407.
 * @return 0 with @p out filled, or, with @p reason and @p why set:
 *   -ENOKEY (no KEK, or not its cookies), -EBADMSG (malformed), -ESTALE
 *   (old SEQ), -EACCES (bad signature), -EINVAL / -ENOTSUP (policy),
 *   -ENOMEM.
 */
int gdoi_push_input(const struct gdoi_kek *kek, uint32_t last_seq, enum gdoi_habits habits,
		    const uint8_t *msg, size_t len, struct gdoi_push *out,
		    enum gdoi_push_drop *reason, const char **why);

/**
 * Build the RFC 8263 acknowledgement of push @p seq protected by @p kek:
 * HDR, HASH, SEQ, ID (the member's address @p member, network order, of
 * @p member_len octets: 4 as ID_IPV4_ADDR, 16 as ID_IPV6_ADDR).
 * @return 0, -EINVAL for another length, or -ENOTSUP when the KEK asks
 * for an acknowledgement type we do not make.
 */
int gdoi_push_ack(const struct gdoi_kek *kek, uint32_t seq, const uint8_t *member,
		  size_t member_len, struct isakmp_buf *out);

/** Wipe a push's keys. */
void gdoi_push_clear(struct gdoi_push *p);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_GDOI_H */
