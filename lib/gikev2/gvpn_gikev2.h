/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_GIKEV2_H
#define GVPN_GIKEV2_H

/**
 * @file
 * G-IKEv2 group member (draft-ietf-ipsecme-g-ikev2-23, "Group Key
 * Management using IKEv2"), on top of lib/ikev2:
 *
 *  GM                                   GCKS
 *  IKE_SA_INIT (with a Key Wrap Algorithm transform)
 *  HDR, SK{IDi, AUTH, IDg, [SAg,] [N(GROUP_SENDER)]}  -->        GSA_AUTH
 *                                  <--  HDR, SK{IDr, AUTH, GSA, KD, [N]}
 *  HDR, SK{IDg, [SAg,] [N(GROUP_SENDER)]}  -->           GSA_REGISTRATION
 *                                  <--  HDR, SK{GSA, KD, [N]}
 *                                  <--  HDR, SK{GSA, KD, [D,] [N]}  GSA_INBAND_REKEY
 *  HDR, SK{}                       -->
 *                                  <==  HDR, SK{GSA, KD, [D,] [N,] [AUTH]}  GSA_REKEY
 *
 * The policy the GCKS hands out is reported upward in lib/gdoi's terms
 * (struct gdoi_policy, struct gdoi_push: TEKs as struct gvpn_selector and
 * struct gvpn_crypto_xform), so that the control core installs G-IKEv2's
 * TEKs exactly as it installs GDOI's. The rekey SA (protocol GIKE_UPDATE)
 * stays in here: its keys, its message ID floor and the GCKS's public key.
 *
 * Like lib/ikev2 there are no sockets and no timers: the caller sends what
 * the member holds (gikev2_out()), feeds back whatever arrives on the
 * registration socket or the rekey SA's multicast group (gikev2_input()),
 * and decides when to register again. Every refused message is counted by
 * reason (GIKEV2_DROP_LIST); nothing in a message is believed before its
 * integrity check (and, for GSA_REKEY, its signature and message ID) has
 * passed; a policy is applied whole or not at all.
 */

#include <stddef.h>
#include <stdint.h>

#include "gvpn_gdoi.h"
#include "gvpn_ikev2.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- wire numbers (draft section 4 and IANA) --- */

/* GSA attributes (4.4.2.3) */
#define GIKEV2_GSA_KEY_LIFETIME 1
#define GIKEV2_GSA_INITIAL_MESSAGE_ID 2
#define GIKEV2_GSA_NEXT_SPI 3
/* Group-wide policy attributes (4.4.3.1) */
#define GIKEV2_GWP_ATD 1
#define GIKEV2_GWP_DTD 2
#define GIKEV2_GWP_SENDER_ID_BITS 3
/* Group key bag attributes (4.5.1.1) */
#define GIKEV2_SA_KEY 1
/* Member key bag attributes (4.5.2.1) */
#define GIKEV2_WRAP_KEY 1
#define GIKEV2_AUTH_KEY 2
#define GIKEV2_GM_SENDER_ID 3
/* Group Controller Authentication Method transform IDs (4.4.2.2.1) */
#define GIKEV2_GCAUTH_IMPLICIT 1
#define GIKEV2_GCAUTH_DIGITAL_SIGNATURE 2
/* Transform attribute: Signature Algorithm Identifier (IANA) */
#define GIKEV2_ATTR_SIG_ALG_ID 18
/* Sequence Numbers transform IDs */
#define GIKEV2_SN_32BIT_SEQUENTIAL 0
#define GIKEV2_SN_64BIT_PARTIAL 1
#define GIKEV2_SN_32BIT_UNSPECIFIED 2
/* integrity transform IDs besides lib/ikev2's */
#define GIKEV2_INTEG_HMAC_SHA1_96 2
/* encryption transform ID: AES-GMAC (RFC 4543) */
#define GIKEV2_ENCR_NULL_AUTH_AES_GMAC 21

#define GIKEV2_MAX_POLICIES 32 /**< GSA policy substructures in a GSA payload */
#define GIKEV2_MAX_WRAP_KEYS 16
#define GIKEV2_MAX_SIDS 8
#define GIKEV2_KEY_MAX 256     /**< keying material of one SA, unwrapped */
#define GIKEV2_SIG_ALG_MAX 96  /**< a DER AlgorithmIdentifier */
#define GIKEV2_PUBKEY_MAX 1100 /**< a DER SubjectPublicKeyInfo (RSA 8192) */
#define GIKEV2_KWK_MAX 32      /**< a key wrap key (KW_5649_256) */

/** Why a message was refused: X(name, id, description). */
#define GIKEV2_DROP_LIST(X)                                                                        \
	X(MALFORMED_HEADER, "malformed_header", "not an IKEv2 message as long as the datagram")    \
	X(NOT_OURS, "not_ours", "SPIs are neither the IKE SA's nor the rekey SA's")                \
	X(NO_REKEY_SA, "no_rekey_sa", "GSA_REKEY while no rekey SA is held")                       \
	X(BAD_EXCHANGE, "bad_exchange", "an exchange or flags not expected here")                  \
	X(BAD_ICV, "bad_icv", "Encrypted payload does not verify or decrypt")                      \
	X(MALFORMED, "malformed", "payloads not those of the step's script, or malformed")         \
	X(REPLAY, "replay", "GSA_REKEY message ID not above the last accepted")                    \
	X(STALE, "stale", "GSA_REKEY message ID below the initial one (none accepted yet)")        \
	X(NO_AUTH, "no_auth", "GSA_REKEY without the AUTH payload a signature needs")              \
	X(SIG_ALG, "sig_alg", "GSA_REKEY AUTH's AlgorithmIdentifier is not the group's (GCAUTH)")  \
	X(UNEXPECTED_AUTH, "unexpected_auth", "AUTH payload in an implicitly authenticated rekey") \
	X(BAD_SIGNATURE, "bad_signature", "GSA_REKEY signature does not verify")                   \
	X(BAD_KEYS, "bad_keys", "a key does not unwrap, or keying material of the wrong size")     \
	X(POLICY, "policy", "policy not acceptable")                                               \
	X(IKE, "ike", "refused by the IKE SA (lib/ikev2 said why)")

#define GIKEV2_DROP_ENUM(n, id, desc) GIKEV2_DROP_##n,
enum gikev2_drop { GIKEV2_DROP_LIST(GIKEV2_DROP_ENUM) GIKEV2_DROP_MAX };
#undef GIKEV2_DROP_ENUM

/** Identifier of a drop reason ("bad_signature"). */
const char *gikev2_drop_id(enum gikev2_drop d);

/* --- the codec (codec.c) --- */

/** One transform attribute or policy attribute (RFC 7296 3.3.5). */
struct gikev2_attr {
	uint16_t type; /**< without the AF bit */
	int tv;	       /**< TV form: the 2-byte value is in data */
	const uint8_t *data;
	uint16_t len;
};

/** Read the attribute at @p p (@p left bytes). @return its size, or -EBADMSG. */
int gikev2_attr_read(const uint8_t *p, size_t left, struct gikev2_attr *a);

/** One GSA policy substructure (4.4.2), as received. */
struct gikev2_gsa_policy {
	uint8_t proto;	 /**< IKEV2_PROTO_ESP, _AH or _GIKE_UPDATE */
	uint8_t spi_len; /**< 4, or 16 for GIKE_UPDATE */
	uint8_t spi[16];
	struct ikev2_ts src, dst;
	/* transforms: at most one of each type (4.4.2.1) */
	uint32_t types_seen; /**< bit per transform type */
	struct ikev2_encr encr;
	uint16_t integ, sn, kwa, gcauth;
	uint8_t sig_alg[GIKEV2_SIG_ALG_MAX]; /**< GCAUTH's Signature Algorithm Identifier */
	uint16_t sig_alg_len;
	/* attributes */
	int has_lifetime, has_initial_msgid;
	uint32_t lifetime, initial_msgid;
	uint16_t n_next_spi;
};

/** A GSA payload (4.4): policies and the group-wide policy. */
struct gikev2_gsa {
	uint16_t n;
	struct gikev2_gsa_policy pol[GIKEV2_MAX_POLICIES];
	int has_gw;
	int has_atd, has_dtd, has_sid_bits;
	uint16_t atd, dtd, sid_bits;
};

/**
 * Parse a GSA payload body: every substructure, transform and attribute
 * bounds-checked; at most one transform of each type, one of each
 * single-valued attribute, and the mandatory transforms of each protocol
 * (4.4.2.1).
 * @param registration 1 in GSA_AUTH/GSA_REGISTRATION (GCAUTH allowed), 0
 *   in a rekey (GCAUTH refused: the method does not change).
 * @return 0, or -EBADMSG / -ENOTSUP with @p why set.
 */
int gikev2_gsa_parse(const uint8_t *body, size_t len, int registration, struct gikev2_gsa *g,
		     const char **why);

/** A GCAUTH signature algorithm (2.4.1.1, RFC 7427 3), as read from its
 *  AlgorithmIdentifier. */
struct gikev2_sig_alg {
	int md_nid;	   /**< the hash: NID_sha256, NID_sha384 or NID_sha512 */
	int key_type;	   /**< EVP_PKEY_RSA or EVP_PKEY_EC */
	int pss;	   /**< RSASSA-PSS (RFC 8017 8.1), MGF1 with the same hash */
	uint16_t salt_len; /**< PSS: octets of salt, at least the hash's */
};

/**
 * Read a DER AlgorithmIdentifier (RFC 7427 3 and appendix A) and accept
 * only what is safe and consistent: sha256/384/512WithRSAEncryption
 * (parameters NULL or absent), ecdsa-with-SHA256/384/512 (no parameters),
 * and id-RSASSA-PSS with RSASSA-PSS-params (RFC 4055 3.1) that name
 * SHA-256/384/512, MGF1 with that same hash, a salt at least as long as
 * the hash and trailer field 1. SHA-1 and MD5, PSS's defaults (SHA-1,
 * 20-octet salt), a mask hash other than the hash, a shorter salt and
 * non-canonical DER are refused.
 * @return 0, -EBADMSG (not one DER AlgorithmIdentifier) or -ENOTSUP (an
 *   algorithm or parameters not accepted), with @p why set.
 */
int gikev2_sig_alg_parse(const uint8_t *der, size_t len, struct gikev2_sig_alg *s,
			 const char **why);

/** A wrapped key (4.5.3), as received: IDs and the encrypted bytes. */
struct gikev2_wrapped {
	uint32_t key_id, kwk_id;
	const uint8_t *enc;
	uint16_t enc_len;
};

/** One group key bag (4.5.1): the SA and its SA_KEY attributes. */
struct gikev2_group_bag {
	uint8_t proto, spi_len;
	uint8_t spi[16];
	uint8_t n_sa_keys;
	struct gikev2_wrapped sa_key[GIKEV2_MAX_WRAP_KEYS];
};

/** A KD payload (4.5), as received: nothing unwrapped yet. */
struct gikev2_kd {
	uint16_t n_group;
	struct gikev2_group_bag group[GIKEV2_MAX_POLICIES];
	int has_member;
	uint8_t n_wrap;
	struct gikev2_wrapped wrap[GIKEV2_MAX_WRAP_KEYS];
	const uint8_t *auth_key; /**< AUTH_KEY: a DER SubjectPublicKeyInfo */
	uint16_t auth_key_len;
	uint8_t n_sids;
	uint32_t sid[GIKEV2_MAX_SIDS];
};

/**
 * Parse a KD payload body (pointers into @p body).
 * @param registration 0 in a rekey: a member key bag is refused (4.5.2).
 * @return 0, or -EBADMSG with @p why set.
 */
int gikev2_kd_parse(const uint8_t *body, size_t len, int registration, struct gikev2_kd *kd,
		    const char **why);

/** A key wrap key the member holds: GSK_w (ID 0) or a WRAP_KEY. */
struct gikev2_kwk {
	uint32_t id;
	uint8_t alg; /**< IKEV2_KWA_* */
	uint8_t len;
	uint8_t key[GIKEV2_KWK_MAX];
};

/** Bytes of a key wrap algorithm's key (16, 24, 32), 0 when unknown. */
unsigned int gikev2_kwa_key_len(uint16_t kwa);

/**
 * RFC 5649 AES key unwrap with padding of @p w under @p kwk.
 * @return the key's length (into @p out, @p room bytes), -EACCES (does
 *   not unwrap: wrong key or altered), -EBADMSG or -EIO.
 */
int gikev2_unwrap(const struct gikev2_kwk *kwk, const struct gikev2_wrapped *w, uint8_t *out,
		  size_t room);

/**
 * An IKEv2 address range as a prefix of struct gvpn_selector (@p dst 0:
 * source side). @return 0, or -ENOTSUP when the range is not one prefix.
 */
int gikev2_ts_prefix(const struct ikev2_ts *ts, struct gvpn_prefix *pfx, uint8_t *af);

/* --- the member (member.c) --- */

enum gikev2_state {
	GIKEV2_IDLE = 0,
	GIKEV2_INIT_SENT,  /**< IKE_SA_INIT */
	GIKEV2_AUTH_SENT,  /**< GSA_AUTH */
	GIKEV2_REG_SENT,   /**< GSA_REGISTRATION on the IKE SA */
	GIKEV2_REGISTERED, /**< policy installed */
	GIKEV2_EXCLUDED,   /**< the GCKS excluded us (Delete GIKE_UPDATE SPI 0): register again */
	GIKEV2_FAILED,	   /**< registration failed (last_error) */
};

const char *gikev2_state_name(enum gikev2_state s);

struct gikev2_conf {
	/** The IKE SA: PSK, identities, proposals (each with a key wrap
	 *  algorithm); auth_exchange and group_payloads are set here. */
	struct ikev2_conf ike;
	struct ikev2_id group; /**< IDg: ID_KEY_ID, ID_FQDN, ID_IPV4_ADDR... */
	/** 0: a receiver only; N: a sender asking N Sender-IDs (GROUP_SENDER). */
	uint32_t sender_ids;
	/** Accept a rekey SA authenticated implicitly (GCAUTH Implicit: any
	 *  member could forge rekeys; the draft does not recommend it). */
	int allow_implicit;
};

/** What the member reports upward, in lib/gdoi's terms. */
struct gikev2_ops {
	/** A registration (GSA_AUTH or GSA_REGISTRATION) delivered a complete,
	 *  checked policy: it replaces everything held for the group. */
	int (*policy)(void *ctx, const struct gdoi_policy *pol);
	/** A verified GSA_REKEY or GSA_INBAND_REKEY: new TEKs, Deletes (SPI 0:
	 *  all of a protocol); push->seq is the rekey's message ID. */
	int (*push)(void *ctx, const struct gdoi_push *push);
	/** The member entered @p state; @p error says why when it failed. */
	void (*state)(void *ctx, enum gikev2_state state, const char *error);
	void *ctx;
};

/** The rekey SA (GIKE_UPDATE) as the GCKS described it: never its keys. */
struct gikev2_rekey_info {
	int held;
	uint8_t spi[16];
	struct ikev2_ts src, dst; /**< where GSA_REKEY comes from and goes to */
	struct ikev2_suite suite; /**< encr, integ, kwa */
	uint16_t gcauth;
	uint32_t lifetime_s;
	uint32_t next_msgid; /**< the lowest message ID still accepted */
	int accepted;	     /**< a GSA_REKEY was accepted under it */
};

struct gikev2_stats {
	uint64_t registrations, rekeys, inband_rekeys, deletes;
	uint64_t drops[GIKEV2_DROP_MAX];
};

/** The member of one group. Holds keys: place it in key memory. */
struct gikev2_member {
	enum gikev2_state state;
	struct gikev2_conf conf;
	struct gikev2_ops ops;
	struct ikev2_sa ike; /**< the registration IKE SA */
	int ike_up;
	/* the rekey SA: its keys in a pseudo IKE SA (SK_er = GSK_e, SK_ar = GSK_a) */
	struct ikev2_sa rekey;
	struct gikev2_rekey_info rk;
	uint8_t auth_key[GIKEV2_PUBKEY_MAX]; /**< the GCKS's public key (AUTH_KEY) */
	uint16_t auth_key_len;
	uint8_t sig_alg[GIKEV2_SIG_ALG_MAX]; /**< its AlgorithmIdentifier (GCAUTH) */
	uint16_t sig_alg_len;
	struct gikev2_kwk rekey_kwk; /**< the rekey SA's GSK_w */
	/** WRAP_KEYs (the working key path, 4.5.x / appendix A) */
	uint8_t n_wrap;
	struct gikev2_kwk wrap[GIKEV2_MAX_WRAP_KEYS];
	/* Sender-IDs (GM_SENDER_ID) and their width */
	uint8_t n_sids;
	uint32_t sid[GIKEV2_MAX_SIDS];
	uint16_t sid_bits;
	int transport; /**< USE_TRANSPORT_MODE was in the registration */
	int leaving;   /**< gikev2_leave() is out: its answer ends the membership */
	/* what to send */
	const uint8_t *out;
	size_t out_len;
	uint16_t notify; /**< the GCKS's error notification, 0: none */
	char last_error[160];
	struct gikev2_stats stats;
};

/**
 * Set the member up (no traffic yet).
 * @return 0, or -EINVAL (no group identity, a proposal without a key wrap
 *   algorithm, a PSK too short...).
 */
int gikev2_member_init(struct gikev2_member *m, const struct gikev2_conf *conf,
		       const struct gikev2_ops *ops);

/**
 * Register: GSA_REGISTRATION on the IKE SA when one is established, else a
 * new IKE SA (IKE_SA_INIT, then GSA_AUTH). The message to send is in
 * gikev2_out().
 * @return 0, -EBUSY (a request is outstanding) or what ikev2_start() says.
 */
int gikev2_register(struct gikev2_member *m);

/**
 * Leave the group on the IKE SA (GSA_REGISTRATION with IDg and
 * N(REGISTRATION_FAILED), 2.3.2), or refuse its policy (NO_PROPOSAL_CHOSEN).
 * The GCKS's answer (SK {}, or an error notification: either way the
 * member is out) leaves the member GIKEV2_IDLE without its rekey SA, and
 * the IKE SA established for ikev2_delete().
 * @return 0, -ENOTCONN or -EBUSY.
 */
int gikev2_leave(struct gikev2_member *m, uint16_t notify);

/**
 * Feed a datagram from the GCKS: a response or request on the IKE SA, or
 * a GSA_REKEY of the rekey SA (unicast or multicast).
 * @return 1: something to send is in gikev2_out(); 0: nothing to send
 *   (taken, or refused and counted: @p why says why when not NULL);
 *   -EACCES / -EBADMSG / -ECONNREFUSED...: the registration failed
 *   (m->last_error, state GIKEV2_FAILED).
 */
int gikev2_input(struct gikev2_member *m, const uint8_t *msg, size_t len, const char **why);

/** What to send now (a request to retransmit unchanged on the caller's
 *  timer, or a response), NULL when nothing. */
const uint8_t *gikev2_out(const struct gikev2_member *m, size_t *len);

/** The outstanding request, to retransmit, or NULL. */
const uint8_t *gikev2_request(const struct gikev2_member *m, size_t *len);

/** Forget the IKE SA (an attempt that failed, another key server): the
 *  next gikev2_register() starts a new one. The policy and the rekey SA stay. */
void gikev2_reset(struct gikev2_member *m);

/** Drop the rekey SA (its lifetime ended): GSA_REKEY is refused
 *  (no_rekey_sa) until a registration brings one. */
void gikev2_rekey_sa_drop(struct gikev2_member *m);

/** Wipe every key and free DH state. */
void gikev2_member_clear(struct gikev2_member *m);

/**
 * Open a GSA_REKEY message under a rekey SA (exposed for tests and the
 * fuzzer): SPIs, integrity, script, message ID, signature, then policy.
 * Used by gikev2_input().
 */
int gikev2_rekey_input(struct gikev2_member *m, const uint8_t *msg, size_t len,
		       enum gikev2_drop *reason, const char **why);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_GIKEV2_H */
