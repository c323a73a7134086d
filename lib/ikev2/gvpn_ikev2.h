/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_IKEV2_H
#define GVPN_IKEV2_H

/**
 * @file
 * IKEv2 core (RFC 7296), initiator side: the message codec, IKE_SA_INIT
 * (with COOKIE and INVALID_KE_PAYLOAD retries), the key schedule, the
 * Encrypted payload (SK: AES-CBC with HMAC-SHA-2, or AES-GCM, RFC 5282),
 * message IDs with a window of one request, IKE_AUTH with a pre-shared key
 * and one ESP child, and the INFORMATIONAL exchange (Delete, liveness).
 * G-IKEv2 (lib/gikev2) builds its exchanges on this.
 *
 * No sockets and no timers here: the caller sends the request the SA holds
 * (ikev2_request()), feeds back what arrives (ikev2_input()), sends the
 * response the SA holds when told to (ikev2_response()), and, when its own
 * timer fires, sends ikev2_request() again: a retransmission is the same
 * bytes, never a rebuilt message (RFC 7296 2.1).
 *
 * Each message is checked before any handler reads it: the header, then
 * every payload's generic header (type, length within the bytes left),
 * then the payloads against the exchange step's script (struct
 * ikev2_script: which payload types it allows and how many of each; IKEv2
 * payloads come in any order, RFC 7296 2.5), then the content of each
 * payload the step reads. Errors follow lib/isakmp: 0 or a negative errno,
 * the reason as data (enum ikev2_err) or a static string (`const char
 * **why`).
 *
 * The IKE header (RFC 7296 3.1):
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Initiator's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Responder's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          Message ID                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            Length                             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The generic payload header (RFC 7296 3.2):
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IKEV2_HDR_LEN 28
#define IKEV2_GEN_LEN 4
#define IKEV2_VERSION 0x20 /* 2.0 */
#define IKEV2_MSG_MAX 65535
#define IKEV2_MAX_PAYLOADS 128

/* Exchange types (RFC 7296 3.1) */
#define IKEV2_EXCH_IKE_SA_INIT 34
#define IKEV2_EXCH_IKE_AUTH 35
#define IKEV2_EXCH_CREATE_CHILD_SA 36
#define IKEV2_EXCH_INFORMATIONAL 37
/* G-IKEv2 (draft-ietf-ipsecme-g-ikev2, IANA "IKEv2 Exchange Types") */
#define IKEV2_EXCH_GSA_AUTH 39
#define IKEV2_EXCH_GSA_REGISTRATION 40
#define IKEV2_EXCH_GSA_REKEY 41
#define IKEV2_EXCH_GSA_INBAND_REKEY 42

/* Header flags (RFC 7296 3.1) */
#define IKEV2_FLAG_INITIATOR 0x08
#define IKEV2_FLAG_VERSION 0x10
#define IKEV2_FLAG_RESPONSE 0x20

/* The generic header's critical bit (RFC 7296 3.2) */
#define IKEV2_CRITICAL 0x80

/**
 * Payload types: X(name, number, minimum length including the generic
 * header, section). The minimum is the fixed part of the payload's layout.
 */
#define GVPN_IKEV2_PAYLOAD_LIST(X)                                                                 \
	X(SA, 33, 4, "RFC 7296 3.3: proposals")                                                    \
	X(KE, 34, 8, "RFC 7296 3.4: DH group, reserved, key exchange data")                        \
	X(IDI, 35, 8, "RFC 7296 3.5: ID type, reserved, identification data")                      \
	X(IDR, 36, 8, "RFC 7296 3.5: ID type, reserved, identification data")                      \
	X(CERT, 37, 5, "RFC 7296 3.6: encoding, certificate data")                                 \
	X(CERTREQ, 38, 5, "RFC 7296 3.7: encoding, certification authority")                       \
	X(AUTH, 39, 8, "RFC 7296 3.8: method, reserved, authentication data")                      \
	X(NONCE, 40, 4, "RFC 7296 3.9: nonce data")                                                \
	X(NOTIFY, 41, 8, "RFC 7296 3.10: protocol, SPI size, type")                                \
	X(DELETE, 42, 8, "RFC 7296 3.11: protocol, SPI size, # of SPIs")                           \
	X(VENDOR, 43, 4, "RFC 7296 3.12: vendor ID")                                               \
	X(TSI, 44, 8, "RFC 7296 3.13: # of TSs, reserved")                                         \
	X(TSR, 45, 8, "RFC 7296 3.13: # of TSs, reserved")                                         \
	X(SK, 46, 4, "RFC 7296 3.14: IV, encrypted payloads, padding, ICV")                        \
	X(CP, 47, 8, "RFC 7296 3.15: CFG type, reserved")                                          \
	X(EAP, 48, 8, "RFC 7296 3.16: EAP message")                                                \
	X(IDG, 50, 8, "G-IKEv2 IDg: ID type, reserved, group identification")                      \
	X(GSA, 51, 4, "G-IKEv2 GSA: policy substructures")                                         \
	X(KD, 52, 4, "G-IKEv2 KD: key bags")                                                       \
	X(SKF, 53, 8, "RFC 7383 2.5: fragment number, total fragments")

#define GVPN_IKEV2_PAYLOAD_ENUM(n, num, min, ref) IKEV2_P_##n = num,
enum ikev2_payload_type { IKEV2_P_NONE = 0, GVPN_IKEV2_PAYLOAD_LIST(GVPN_IKEV2_PAYLOAD_ENUM) };
#undef GVPN_IKEV2_PAYLOAD_ENUM

/** Parse failures, in the order they are checked: X(name, description). */
#define GVPN_IKEV2_ERR_LIST(X)                                                                     \
	X(SHORT_HEADER, "message shorter than the IKE header")                                     \
	X(BAD_VERSION, "IKE major version is not 2")                                               \
	X(TOO_LONG, "message longer than the largest accepted")                                    \
	X(BAD_LENGTH, "header length disagrees with the datagram")                                 \
	X(SHORT_PAYLOAD, "payload header does not fit")                                            \
	X(PAYLOAD_TOO_SHORT, "payload length below its type's minimum")                            \
	X(PAYLOAD_OVERRUN, "payload length beyond the bytes remaining")                            \
	X(CRITICAL, "unknown payload marked critical")                                             \
	X(SK_NOT_LAST, "Encrypted payload is not the last payload")                                \
	X(UNEXPECTED_PAYLOAD, "payload not allowed in this exchange step")                         \
	X(DUPLICATE, "payload repeated more often than the exchange step allows")                  \
	X(TOO_MANY, "too many payloads")                                                           \
	X(TRAILING, "bytes after the last payload")                                                \
	X(MISSING, "a payload the exchange step requires is missing")                              \
	X(BAD_PAYLOAD, "payload content malformed")

#define GVPN_IKEV2_ERR_ENUM(n, s) IKEV2_ERR_##n,
enum ikev2_err { IKEV2_OK = 0, GVPN_IKEV2_ERR_LIST(GVPN_IKEV2_ERR_ENUM) IKEV2_ERR_MAX };
#undef GVPN_IKEV2_ERR_ENUM

/** Notify message types (RFC 7296 3.10.1 and IANA): X(name, number). */
#define GVPN_IKEV2_NOTIFY_LIST(X)                                                                  \
	X(UNSUPPORTED_CRITICAL_PAYLOAD, 1)                                                         \
	X(INVALID_IKE_SPI, 4)                                                                      \
	X(INVALID_MAJOR_VERSION, 5)                                                                \
	X(INVALID_SYNTAX, 7)                                                                       \
	X(INVALID_MESSAGE_ID, 9)                                                                   \
	X(INVALID_SPI, 11)                                                                         \
	X(NO_PROPOSAL_CHOSEN, 14)                                                                  \
	X(INVALID_KE_PAYLOAD, 17)                                                                  \
	X(AUTHENTICATION_FAILED, 24)                                                               \
	X(SINGLE_PAIR_REQUIRED, 34)                                                                \
	X(NO_ADDITIONAL_SAS, 35)                                                                   \
	X(INTERNAL_ADDRESS_FAILURE, 36)                                                            \
	X(FAILED_CP_REQUIRED, 37)                                                                  \
	X(TS_UNACCEPTABLE, 38)                                                                     \
	X(INVALID_SELECTORS, 39)                                                                   \
	X(TEMPORARY_FAILURE, 43)                                                                   \
	X(CHILD_SA_NOT_FOUND, 44)                                                                  \
	X(INVALID_GROUP_ID, 45)                                                                    \
	X(AUTHORIZATION_FAILED, 46)                                                                \
	X(REGISTRATION_FAILED, 49)                                                                 \
	X(INITIAL_CONTACT, 16384)                                                                  \
	X(SET_WINDOW_SIZE, 16385)                                                                  \
	X(ADDITIONAL_TS_POSSIBLE, 16386)                                                           \
	X(IPCOMP_SUPPORTED, 16387)                                                                 \
	X(NAT_DETECTION_SOURCE_IP, 16388)                                                          \
	X(NAT_DETECTION_DESTINATION_IP, 16389)                                                     \
	X(COOKIE, 16390)                                                                           \
	X(USE_TRANSPORT_MODE, 16391)                                                               \
	X(HTTP_CERT_LOOKUP_SUPPORTED, 16392)                                                       \
	X(REKEY_SA, 16393)                                                                         \
	X(ESP_TFC_PADDING_NOT_SUPPORTED, 16394)                                                    \
	X(NON_FIRST_FRAGMENTS_ALSO, 16395)                                                         \
	X(MOBIKE_SUPPORTED, 16396)                                                                 \
	X(MULTIPLE_AUTH_SUPPORTED, 16404)                                                          \
	X(REDIRECT_SUPPORTED, 16406)                                                               \
	X(CHILDLESS_IKEV2_SUPPORTED, 16418)                                                        \
	X(GROUP_SENDER, 16429)                                                                     \
	X(IKEV2_FRAGMENTATION_SUPPORTED, 16430)                                                    \
	X(SIGNATURE_HASH_ALGORITHMS, 16431)

#define GVPN_IKEV2_NOTIFY_ENUM(n, num) IKEV2_N_##n = num,
enum ikev2_notify_type { GVPN_IKEV2_NOTIFY_LIST(GVPN_IKEV2_NOTIFY_ENUM) };
#undef GVPN_IKEV2_NOTIFY_ENUM

/** Notify types below this are errors (RFC 7296 3.10.1). */
#define IKEV2_N_ERROR_MAX 16383

/* Protocol IDs (RFC 7296 3.3.1) */
#define IKEV2_PROTO_IKE 1
#define IKEV2_PROTO_AH 2
#define IKEV2_PROTO_ESP 3
#define IKEV2_PROTO_GIKE_UPDATE 6 /* G-IKEv2's rekey SA (IANA) */

/* Transform types and IDs (RFC 7296 3.3.2, RFC 5282, RFC 4868, IANA) */
#define IKEV2_TT_ENCR 1
#define IKEV2_TT_PRF 2
#define IKEV2_TT_INTEG 3
#define IKEV2_TT_DH 4
#define IKEV2_TT_ESN 5	     /* "Sequence Numbers" since G-IKEv2 */
#define IKEV2_TT_KWA 13	     /* G-IKEv2: Key Wrap Algorithm */
#define IKEV2_TT_GCAUTH 14   /* G-IKEv2: Group Controller Authentication Method */
#define IKEV2_KWA_5649_128 1 /* AES key wrap with padding, RFC 5649 */
#define IKEV2_KWA_5649_192 2
#define IKEV2_KWA_5649_256 3
#define IKEV2_ENCR_AES_CBC 12
#define IKEV2_ENCR_AES_GCM_16 20
#define IKEV2_PRF_HMAC_SHA2_256 5
#define IKEV2_PRF_HMAC_SHA2_384 6
#define IKEV2_PRF_HMAC_SHA2_512 7
#define IKEV2_INTEG_NONE 0
#define IKEV2_INTEG_HMAC_SHA2_256_128 12
#define IKEV2_INTEG_HMAC_SHA2_384_192 13
#define IKEV2_INTEG_HMAC_SHA2_512_256 14
#define IKEV2_ATTR_KEY_LENGTH 14 /* TV form: 0x800e */

/* Identification types (RFC 7296 3.5) */
#define IKEV2_ID_IPV4_ADDR 1
#define IKEV2_ID_FQDN 2
#define IKEV2_ID_RFC822_ADDR 3
#define IKEV2_ID_IPV6_ADDR 5
#define IKEV2_ID_KEY_ID 11

/* Authentication methods (RFC 7296 3.8) */
#define IKEV2_AUTH_PSK 2		/* Shared Key Message Integrity Code */
#define IKEV2_AUTH_DIGITAL_SIGNATURE 14 /* RFC 7427 */

/* Traffic selector types (RFC 7296 3.13.1) */
#define IKEV2_TS_IPV4_ADDR_RANGE 7
#define IKEV2_TS_IPV6_ADDR_RANGE 8

/** Name of a payload type ("SA", "IDI"), or "?". */
const char *ikev2_payload_name(uint8_t type);
/** Description of a parse failure. */
const char *ikev2_err_name(enum ikev2_err err);
/** Name of a notify type ("COOKIE"), or NULL when unknown. */
const char *ikev2_notify_name(uint16_t type);

struct ikev2_hdr {
	uint8_t spi_i[8];
	uint8_t spi_r[8];
	uint8_t next;
	uint8_t version;
	uint8_t exchange;
	uint8_t flags;
	uint32_t msgid; /**< host order */
	uint32_t length;
};

/** One payload: its type, the whole payload (with generic header) and its body. */
struct ikev2_payload {
	uint8_t type;
	uint8_t critical;    /**< the C bit */
	uint16_t len;	     /**< whole payload, generic header included */
	const uint8_t *raw;  /**< generic header onwards */
	const uint8_t *body; /**< raw + IKEV2_GEN_LEN */
	uint16_t body_len;
};

/** One line of an exchange step's script: a payload type, how often. */
struct ikev2_script_item {
	uint8_t type;
	uint8_t min;
	uint8_t max;
};

/**
 * The payloads one message of an exchange step allows, each at most max
 * times and at least min times, in any order (RFC 7296 2.5). A payload
 * type the script lacks is refused when this specification defines it,
 * skipped when it is unknown and not critical (RFC 7296 3.2).
 */
struct ikev2_script {
	const char *name; /**< "IKE_SA_INIT response", for logs */
	uint8_t n;
	const struct ikev2_script_item *item;
};

#define IKEV2_SCRIPT_ITEM(type, min, max) {IKEV2_P_##type, min, max},
#define IKEV2_SCRIPT(var, label, LIST)                                                             \
	static const struct ikev2_script_item var##_items[] = {LIST(IKEV2_SCRIPT_ITEM)};           \
	static const struct ikev2_script var = {                                                   \
	    label, sizeof(var##_items) / sizeof(var##_items[0]), var##_items}

struct ikev2_msg {
	uint16_t n;
	struct ikev2_payload p[IKEV2_MAX_PAYLOADS];
	/** The Encrypted payload (last), or NULL. */
	const struct ikev2_payload *sk;
};

/**
 * Parse the fixed header.
 * @param reason set to the failure when not NULL.
 * @return 0, or -EBADMSG with @p reason set.
 */
int ikev2_parse_header(const uint8_t *buf, size_t len, struct ikev2_hdr *h, enum ikev2_err *reason);

/**
 * Walk a chain of payloads starting with type @p first over @p len bytes:
 * a message's payloads after the header, or the plaintext of an Encrypted
 * payload. The walk stops after an Encrypted payload (its next-payload
 * field names the first payload inside it), which must end the bytes.
 * Unknown payloads without the critical bit are skipped (not in @p m).
 * @param script NULL: any known payload, any number of times.
 * @param reason set to the failure when not NULL.
 * @return 0 with @p m filled, or -EBADMSG with @p reason set.
 */
int ikev2_parse_payloads(uint8_t first, const uint8_t *buf, size_t len,
			 const struct ikev2_script *script, struct ikev2_msg *m,
			 enum ikev2_err *reason);

/** The @p nth (0: the first) payload of @p type in @p m, or NULL. */
const struct ikev2_payload *ikev2_find(const struct ikev2_msg *m, uint8_t type, unsigned int nth);

/** A Notify payload's fields (RFC 7296 3.10). */
struct ikev2_notify {
	uint8_t proto;
	uint8_t spi_len;
	uint16_t type;
	const uint8_t *spi;
	const uint8_t *data;
	uint16_t data_len;
};

/** Read a Notify payload. @return 0 or -EBADMSG (SPI beyond the payload). */
int ikev2_notify_read(const struct ikev2_payload *p, struct ikev2_notify *n);

/** The first Notify of @p type in @p m, read into @p n. @return 1 found, 0 not. */
int ikev2_notify_find(const struct ikev2_msg *m, uint16_t type, struct ikev2_notify *n);

/** Proposals and choices */
#define IKEV2_MAX_PROPOSALS 8
#define IKEV2_MAX_XFORMS 4 /**< transforms of one type in a proposal */

struct ikev2_encr {
	uint16_t id;	   /**< IKEV2_ENCR_* */
	uint16_t key_bits; /**< 128, 192 or 256 */
};

/**
 * One proposal: the transforms of each type it offers (any combination of
 * them is acceptable). An AEAD cipher is not offered with integrity
 * algorithms (RFC 5282 8). For an ESP child: no PRF and no DH group; ESN
 * is always "no extended sequence numbers".
 */
struct ikev2_proposal {
	uint8_t n_encr, n_prf, n_integ, n_dh, n_kwa;
	struct ikev2_encr encr[IKEV2_MAX_XFORMS];
	uint16_t prf[IKEV2_MAX_XFORMS];
	uint16_t integ[IKEV2_MAX_XFORMS];
	uint16_t dh[IKEV2_MAX_XFORMS];
	/** Key wrap algorithms (G-IKEv2, IKEV2_KWA_*): offered for an IKE SA
	 *  that registers with a group controller; the responder picks one. */
	uint16_t kwa[IKEV2_MAX_XFORMS];
};

/** What the responder chose: one transform of each type. */
struct ikev2_suite {
	struct ikev2_encr encr;
	uint16_t prf;	/**< 0 for a child */
	uint16_t integ; /**< IKEV2_INTEG_NONE with AES-GCM */
	uint16_t dh;	/**< 0 for a child */
	uint16_t kwa;	/**< key wrap algorithm (G-IKEv2), 0: none offered */
};

/**
 * Parse a proposal such as "aes256-sha384-ecp384", "aes128gcm16-prfsha256-
 * modp2048-ecp256" or, for a child (@p child), "aes128gcm16" and
 * "aes256-sha256". Words: aes128 aes192 aes256 (AES-CBC), aes128gcm16
 * aes192gcm16 aes256gcm16; sha256 sha384 sha512 (HMAC-SHA-2 integrity,
 * and, unless a prf word is given, the PRF of the same hash); prfsha256
 * prfsha384 prfsha512; modp2048 modp3072 modp4096 ecp256 ecp384; and for
 * G-IKEv2 the key wrap algorithms kw128 kw192 kw256 (RFC 5649). Several
 * words of a type offer each.
 * @return 0, or -EINVAL (an unknown word, too many of a type, a type
 *   missing, AEAD mixed with integrity, or a PRF or group for a child).
 */
int ikev2_proposal_parse(const char *s, int child, struct ikev2_proposal *p);

/** strongSwan-style name of a choice ("AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384"). */
void ikev2_suite_format(const struct ikev2_suite *s, char *buf, size_t len);

/** An identity (RFC 7296 3.5): type and data. */
struct ikev2_id {
	uint8_t type; /**< IKEV2_ID_*; 0: none */
	uint8_t len;
	uint8_t data[255];
};

/** A traffic selector (RFC 7296 3.13.1), addresses in network order. */
struct ikev2_ts {
	uint8_t type;  /**< IKEV2_TS_IPV4_ADDR_RANGE or IKEV2_TS_IPV6_ADDR_RANGE */
	uint8_t proto; /**< IP protocol, 0: any */
	uint16_t start_port, end_port;
	uint8_t start[16], end[16]; /**< IPv4: the first 4 bytes */
};

#define IKEV2_PSK_MAX 256
#define IKEV2_PSK_MIN 20
#define IKEV2_NONCE_LEN 32 /**< half the largest PRF key (SHA-512), RFC 7296 2.10 */
#define IKEV2_COOKIE_MAX 64
#define IKEV2_PRF_MAX 64
#define IKEV2_KEY_MAX 64   /**< integrity key (HMAC-SHA-512) */
#define IKEV2_ENCR_MAX 36  /**< AES-256 key and the 4-byte GCM salt */
#define IKEV2_KE_MAX 512   /**< group 16 */
#define IKEV2_REQ_MAX 4096 /**< a request the SA sends, kept for retransmission */
#define IKEV2_RESP_MAX 1024
#define IKEV2_RETRIES_MAX 4 /**< COOKIE or INVALID_KE_PAYLOAD answers heeded */

struct ikev2_buf;

struct ikev2_conf {
	uint8_t psk[IKEV2_PSK_MAX];
	size_t psk_len;
	struct ikev2_id local_id;
	/** The identity the responder must show (IDr); type 0: any. */
	struct ikev2_id remote_id;
	unsigned int n_props;
	struct ikev2_proposal props[IKEV2_MAX_PROPOSALS];
	/** The ESP child offered in IKE_AUTH. */
	unsigned int n_child_props;
	struct ikev2_proposal child_props[IKEV2_MAX_PROPOSALS];
	struct ikev2_ts tsi, tsr;
	/**
	 * G-IKEv2 (lib/gikev2): IKEV2_EXCH_GSA_AUTH makes the second exchange
	 * GSA_AUTH: SK {IDi, AUTH, <group payloads>} where group_payloads()
	 * appends the rest (IDg, N(GROUP_SENDER), SAg); no child is offered
	 * (n_child_props, tsi and tsr unused). The responder's GSA_AUTH
	 * response, GSA_REGISTRATION responses and GSA_INBAND_REKEY requests
	 * are then handed up in ikev2_sa.in_msg. 0: IKE_AUTH.
	 */
	uint8_t auth_exchange;
	int (*group_payloads)(void *ctx, struct ikev2_buf *b);
	void *group_ctx;
};

enum ikev2_state {
	IKEV2_IDLE = 0,
	IKEV2_INIT_SENT,
	IKEV2_AUTH_SENT,
	IKEV2_ESTABLISHED,
	IKEV2_DELETE_SENT,
	IKEV2_DELETED,
	IKEV2_FAILED,
};

/** What a message fed to ikev2_input() did. */
enum ikev2_result {
	IKEV2_IGNORED =
	    0,		/**< not for this SA, a duplicate, or refused (why set): nothing changed */
	IKEV2_SEND,	/**< a new request is in ikev2_request(): send it, restart the timer */
	IKEV2_REPLY,	/**< a response to the peer's request is in ikev2_response(): send it (then
			 *   end when sa->state is IKEV2_DELETED: the peer deleted the IKE SA) */
	IKEV2_DONE,	/**< IKE_AUTH done: the IKE SA is established */
	IKEV2_NOTIFIED, /**< an error notification in the clear (type in sa->notify): advice */
	IKEV2_CLOSED,	/**< the IKE SA is gone (Delete sent and answered, or received) */
};

/**
 * One IKE SA, initiator side. It holds keys: place it in key memory
 * (gvpn_keymem_alloc()) and end it with ikev2_sa_clear().
 */
struct ikev2_sa {
	enum ikev2_state state;
	const struct ikev2_conf *conf;
	uint8_t spi_i[8], spi_r[8];
	struct ikev2_suite chosen;
	uint8_t prop_num;  /**< the number of the proposal chosen */
	uint16_t ke_group; /**< of our KE */
	uint8_t gi[IKEV2_KE_MAX];
	size_t gi_len;
	void *dh; /**< the Diffie-Hellman state (dh.c) */
	uint8_t ni[IKEV2_NONCE_LEN], nr[256];
	size_t nr_len;
	uint8_t cookie[IKEV2_COOKIE_MAX];
	size_t cookie_len;
	unsigned int retries; /**< COOKIE and INVALID_KE_PAYLOAD answers heeded */

	/* key schedule (RFC 7296 2.14) */
	unsigned int prf_len, integ_len, icv_len, encr_len, iv_len, block;
	uint8_t sk_d[IKEV2_PRF_MAX], sk_pi[IKEV2_PRF_MAX], sk_pr[IKEV2_PRF_MAX];
	uint8_t sk_ai[IKEV2_KEY_MAX], sk_ar[IKEV2_KEY_MAX];
	uint8_t sk_ei[IKEV2_ENCR_MAX], sk_er[IKEV2_ENCR_MAX];

	/* IKE_SA_INIT as sent and received, signed by AUTH (RFC 7296 2.15) */
	uint8_t init_req[IKEV2_REQ_MAX];
	size_t init_req_len;
	uint8_t init_resp[IKEV2_REQ_MAX];
	size_t init_resp_len;

	/* the window of one request each way (RFC 7296 2.3) */
	uint32_t next_msgid; /**< of our next request */
	uint8_t req[IKEV2_REQ_MAX];
	size_t req_len; /**< 0: no request outstanding */
	uint32_t req_msgid;
	uint8_t req_exchange;
	uint32_t peer_msgid; /**< expected in the peer's next request */
	uint8_t resp[IKEV2_RESP_MAX];
	size_t resp_len; /**< our response to the peer's last request */

	/* outcome */
	struct ikev2_id peer_id;
	uint16_t notify;       /**< the last error notification received */
	int child_up;	       /**< the responder accepted the ESP child */
	uint16_t child_notify; /**< else why not (a notify type), 0 when it said nothing */
	struct ikev2_suite child;
	uint32_t child_spi_i, child_spi_r; /**< inbound (ours) and outbound SPIs */
	struct ikev2_ts child_tsi, child_tsr;

	/* G-IKEv2 (conf->auth_exchange): the last authentic message of a group
	 * exchange, decrypted and checked against its step's script: the
	 * GSA_AUTH response (IKEV2_DONE), a GSA_REGISTRATION response
	 * (IKEV2_DONE) or a GSA_INBAND_REKEY request (IKEV2_REPLY, answered
	 * with an empty SK {}). Valid until the next ikev2_input(); else NULL. */
	const struct ikev2_msg *in_msg;
	uint8_t in_exchange;
};

/**
 * Start: the IKE_SA_INIT request in ikev2_request(), offering every
 * proposal, with a KE for the first group of the first proposal.
 * @return 0, -EINVAL (no proposal or too many, an unknown transform, a
 *   PSK under IKEV2_PSK_MIN, no identity, no child proposal), -EIO (no
 *   randomness, DH failure) or -ENOSPC.
 */
int ikev2_start(struct ikev2_sa *sa, const struct ikev2_conf *conf);

/**
 * Feed a received message.
 * @param res what it did (enum ikev2_result).
 * @param why the reason when the SA failed, or when a message was
 *   IKEV2_IGNORED for a reason worth counting (static string); else NULL.
 * @return 0 with @p res set; or, the SA failed: -EBADMSG (malformed, or
 *   payloads not those the step's script allows), -ENOPROTOOPT (the
 *   responder chose nothing we offered), -EACCES (AUTH does not verify, an
 *   identity not the one configured, or the responder refused us), -EIO or
 *   -ENOSPC (local failures), with @p why set.
 */
int ikev2_input(struct ikev2_sa *sa, const uint8_t *msg, size_t len, enum ikev2_result *res,
		const char **why);

/**
 * The outstanding request, to send or send again (the same bytes).
 * @return it, or NULL when no request is outstanding.
 */
const uint8_t *ikev2_request(const struct ikev2_sa *sa, size_t *len);

/** Our response to the peer's last request, or NULL. */
const uint8_t *ikev2_response(const struct ikev2_sa *sa, size_t *len);

/**
 * An INFORMATIONAL request deleting the IKE SA, in ikev2_request().
 * @return 0, -EBUSY (a request is outstanding: the window is one) or
 *   -ENOTCONN (not established).
 */
int ikev2_delete(struct ikev2_sa *sa);

/**
 * A protected request of @p exchange carrying the payload chain @p inner
 * (first payload @p first), in ikev2_request() with the next message ID.
 * @return 0, -EBUSY (a request is outstanding), -ENOTCONN (no keys yet),
 *   -ENOSPC or -EIO.
 */
int ikev2_request_build(struct ikev2_sa *sa, uint8_t exchange, uint8_t first, const uint8_t *inner,
			size_t len);

/** Wipe every secret of an SA and free its DH state. */
void ikev2_sa_clear(struct ikev2_sa *sa);

/** Names for the tshark ikev2_decryption_table of the SA's choice. */
const char *ikev2_tshark_encr(const struct ikev2_suite *s);
const char *ikev2_tshark_integ(const struct ikev2_suite *s);

/** A message builder: payloads appended, their next-payload fields chained. */
struct ikev2_buf {
	uint8_t *data;
	size_t room;
	size_t len;
	size_t np_off; /**< where the next-payload byte of the last item is */
	int overflow;
	uint8_t first; /**< a chain's first payload type */
};

/** Start a message: @p h as a header with a zero length. */
void ikev2_buf_init(struct ikev2_buf *b, uint8_t *data, size_t room, const struct ikev2_hdr *h);
/** Start a bare payload chain (the plaintext of an Encrypted payload). */
void ikev2_buf_chain(struct ikev2_buf *b, uint8_t *data, size_t room);
/** The type of the first payload of a chain begun with ikev2_buf_chain(). */
uint8_t ikev2_buf_first(const struct ikev2_buf *b);
/** Begin a payload of @p type; @return its offset (to end it). */
size_t ikev2_buf_begin(struct ikev2_buf *b, uint8_t type);
void ikev2_buf_put(struct ikev2_buf *b, const void *data, size_t len);
void ikev2_buf_put8(struct ikev2_buf *b, uint8_t v);
void ikev2_buf_put16(struct ikev2_buf *b, uint16_t v);
void ikev2_buf_put32(struct ikev2_buf *b, uint32_t v);
/** End the payload (or substructure) begun at @p off: its length is set. */
void ikev2_buf_end(struct ikev2_buf *b, size_t off);
/** Set the header's length (messages only). @return 0, or -ENOSPC after an overflow. */
int ikev2_buf_finish(struct ikev2_buf *b);

/** Big-endian integers. */
static inline uint16_t
ikev2_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
ikev2_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
ikev2_set32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#ifdef __cplusplus
}
#endif

#endif /* GVPN_IKEV2_H */
