/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_ISAKMP_H
#define GVPN_ISAKMP_H

/**
 * @file
 * ISAKMP (RFC 2408) message codec with the GDOI payloads (RFC 6407): the
 * payload layouts and their minimum lengths are one table
 * (GVPN_ISAKMP_PAYLOAD_LIST), each exchange step a script of the payloads
 * it allows (struct isakmp_script), data attributes read into structs by
 * field tables (struct isakmp_attr_field).
 *
 * Parsing checks, for the header and then for every payload in order: the
 * header fits; the next payload is a known type; the reserved byte is zero;
 * the length is at least the type's minimum and at most the bytes remaining
 * (lengths are compared, never pointers past the end); the payload is
 * allowed at this point of the exchange step's script (not unexpected, not
 * out of order, not repeated more than allowed); at the end every payload
 * the script requires is there. Each failure is its own reason
 * (GVPN_ISAKMP_ERR_LIST), handed back as data next to a negative errno.
 * Building appends payloads to a buffer and chains their next-payload
 * fields.
 *
 * Errors, in this library and in ike and gdoi above it: an int function
 * returns 0 (or a count) or a negative errno; a reason is an out-parameter
 * (an enum such as enum isakmp_err, or a static string `const char **why`);
 * notification types are data, never return values.
 *
 * The ISAKMP header (RFC 2408 3.1):
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Initiator                            !
 * !                            Cookie                             !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Responder                            !
 * !                            Cookie                             !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !  Next Payload ! MjVer ! MnVer ! Exchange Type !     Flags     !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Message ID                           !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                            Length                             !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The generic payload header (RFC 2408 3.2) that starts every payload:
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISAKMP_HDR_LEN 28
#define ISAKMP_GEN_LEN 4	/* generic payload header */
#define ISAKMP_VERSION 0x10	/* 1.0 */
#define ISAKMP_MAX_PAYLOADS 272 /* a pull of GDOI_MAX_TEKS SA TEKs, SA KEK and GAP */
#define ISAKMP_MSG_MAX 65535	/* a UDP datagram */

/* Exchange types (RFC 2408 4.1, RFC 6407 3 and 4, RFC 8263) */
#define ISAKMP_EXCH_MAIN 2
#define ISAKMP_EXCH_INFO 5
#define ISAKMP_EXCH_GROUPKEY_PULL 32
#define ISAKMP_EXCH_GROUPKEY_PUSH 33
#define ISAKMP_EXCH_GROUPKEY_PUSH_ACK 35

/* Flags */
#define ISAKMP_FLAG_ENC 0x01
#define ISAKMP_FLAG_COMMIT 0x02

/* Domains of interpretation: IPsec (RFC 2407 4.2), GDOI (RFC 6407 2.1) */
#define ISAKMP_DOI_IPSEC 1
#define ISAKMP_DOI_GDOI 2

/**
 * Payload types: X(name, number, minimum length including the generic
 * header, section). The minimum is the fixed part of the payload's layout
 * in that section; a payload shorter than it is refused by the walker.
 */
#define GVPN_ISAKMP_PAYLOAD_LIST(X)                                                                \
	X(SA, 1, 12, "RFC 2408 3.4: DOI, situation")                                               \
	X(PROPOSAL, 2, 8, "RFC 2408 3.5: #, protocol, SPI size, # of transforms")                  \
	X(TRANSFORM, 3, 8, "RFC 2408 3.6: #, ID, reserved")                                        \
	X(KE, 4, 5, "RFC 2408 3.7: key exchange data")                                             \
	X(ID, 5, 8, "RFC 2408 3.8, RFC 2407 4.6.2: type, protocol, port")                          \
	X(CERT, 6, 5, "RFC 2408 3.9: encoding, data")                                              \
	X(CR, 7, 5, "RFC 2408 3.10: type, authorities")                                            \
	X(HASH, 8, 5, "RFC 2408 3.11: hash data")                                                  \
	X(SIG, 9, 5, "RFC 2408 3.12: signature data")                                              \
	X(NONCE, 10, 5, "RFC 2408 3.13: nonce data")                                               \
	X(NOTIFY, 11, 12, "RFC 2408 3.14: DOI, protocol, SPI size, type")                          \
	X(DELETE, 12, 12, "RFC 2408 3.15: DOI, protocol, SPI size, # of SPIs")                     \
	X(VID, 13, 4, "RFC 2408 3.16: vendor ID")                                                  \
	X(SAK, 15, 28, "RFC 6407 5.3: protocol, two identifications, SPI")                         \
	X(SAT, 16, 5, "RFC 6407 5.5: protocol ID, then per protocol")                              \
	X(KD, 17, 8, "RFC 6407 5.6: # of key packets, reserved")                                   \
	X(SEQ, 18, 8, "RFC 6407 5.7: sequence number")                                             \
	X(POP, 19, 5, "RFC 6407: proof of possession, not read here")                              \
	X(GAP, 22, 4, "RFC 6407 5.4: attributes")

#define GVPN_ISAKMP_PAYLOAD_ENUM(n, num, min, ref) ISAKMP_P_##n = num,
enum isakmp_payload_type { ISAKMP_P_NONE = 0, GVPN_ISAKMP_PAYLOAD_LIST(GVPN_ISAKMP_PAYLOAD_ENUM) };
#undef GVPN_ISAKMP_PAYLOAD_ENUM

/** Parse failures, in the order they are checked: X(name, description). */
#define GVPN_ISAKMP_ERR_LIST(X)                                                                    \
	X(SHORT_HEADER, "message shorter than the ISAKMP header")                                  \
	X(BAD_VERSION, "ISAKMP version is not 1.0")                                                \
	X(TOO_LONG, "message longer than the largest accepted")                                    \
	X(BAD_LENGTH, "header length disagrees with the datagram")                                 \
	X(SHORT_PAYLOAD, "payload header does not fit")                                            \
	X(UNKNOWN_PAYLOAD, "unknown next payload type")                                            \
	X(RESERVED, "reserved field not zero")                                                     \
	X(PAYLOAD_TOO_SHORT, "payload length below its type's minimum")                            \
	X(PAYLOAD_OVERRUN, "payload length beyond the bytes remaining")                            \
	X(UNEXPECTED_PAYLOAD, "payload not allowed in this exchange step")                         \
	X(OUT_OF_ORDER, "payload out of the exchange step's order")                                \
	X(DUPLICATE, "payload repeated more often than the exchange step allows")                  \
	X(TOO_MANY, "too many payloads")                                                           \
	X(TRAILING, "bytes after the last payload")                                                \
	X(MISSING, "a payload the exchange step requires is missing")                              \
	X(BAD_ATTR, "malformed data attribute")                                                    \
	X(BAD_PAYLOAD, "payload content malformed")

#define GVPN_ISAKMP_ERR_ENUM(n, s) ISAKMP_ERR_##n,
enum isakmp_err { ISAKMP_OK = 0, GVPN_ISAKMP_ERR_LIST(GVPN_ISAKMP_ERR_ENUM) ISAKMP_ERR_MAX };
#undef GVPN_ISAKMP_ERR_ENUM

/** Notify message types of RFC 2408 3.14.1 (errors): X(name, number). */
#define GVPN_ISAKMP_NOTIFY_LIST(X)                                                                 \
	X(INVALID_PAYLOAD_TYPE, 1)                                                                 \
	X(DOI_NOT_SUPPORTED, 2)                                                                    \
	X(SITUATION_NOT_SUPPORTED, 3)                                                              \
	X(INVALID_COOKIE, 4)                                                                       \
	X(INVALID_MAJOR_VERSION, 5)                                                                \
	X(INVALID_MINOR_VERSION, 6)                                                                \
	X(INVALID_EXCHANGE_TYPE, 7)                                                                \
	X(INVALID_FLAGS, 8)                                                                        \
	X(INVALID_MESSAGE_ID, 9)                                                                   \
	X(INVALID_PROTOCOL_ID, 10)                                                                 \
	X(INVALID_SPI, 11)                                                                         \
	X(INVALID_TRANSFORM_ID, 12)                                                                \
	X(ATTRIBUTES_NOT_SUPPORTED, 13)                                                            \
	X(NO_PROPOSAL_CHOSEN, 14)                                                                  \
	X(BAD_PROPOSAL_SYNTAX, 15)                                                                 \
	X(PAYLOAD_MALFORMED, 16)                                                                   \
	X(INVALID_KEY_INFORMATION, 17)                                                             \
	X(INVALID_ID_INFORMATION, 18)                                                              \
	X(INVALID_CERT_ENCODING, 19)                                                               \
	X(INVALID_CERTIFICATE, 20)                                                                 \
	X(CERT_TYPE_UNSUPPORTED, 21)                                                               \
	X(INVALID_CERT_AUTHORITY, 22)                                                              \
	X(INVALID_HASH_INFORMATION, 23)                                                            \
	X(AUTHENTICATION_FAILED, 24)                                                               \
	X(INVALID_SIGNATURE, 25)                                                                   \
	X(ADDRESS_NOTIFICATION, 26)                                                                \
	X(NOTIFY_SA_LIFETIME, 27)                                                                  \
	X(CERTIFICATE_UNAVAILABLE, 28)                                                             \
	X(UNSUPPORTED_EXCHANGE_TYPE, 29)                                                           \
	X(UNEQUAL_PAYLOAD_LENGTHS, 30)

/** Name of a notify message type ("NO_PROPOSAL_CHOSEN"), or NULL when unknown. */
const char *isakmp_notify_name(uint16_t type);

/** Description of a parse failure (an enum isakmp_err). */
const char *isakmp_err_name(enum isakmp_err err);
/** Name of a payload type ("SA", "KD"), or "?". */
const char *isakmp_payload_name(uint8_t type);

struct isakmp_hdr {
	uint8_t icookie[8];
	uint8_t rcookie[8];
	uint8_t next;
	uint8_t version;
	uint8_t exchange;
	uint8_t flags;
	uint32_t msgid; /**< host order */
	uint32_t length;
};

/** One payload: its type, the whole payload (with generic header) and its body. */
struct isakmp_payload {
	uint8_t type;
	uint16_t len;	     /**< whole payload, generic header included */
	const uint8_t *raw;  /**< generic header onwards */
	const uint8_t *body; /**< raw + ISAKMP_GEN_LEN */
	uint16_t body_len;
};

/** One line of an exchange step's script: a payload type, how often. */
struct isakmp_script_item {
	uint8_t type;
	uint8_t min;
	uint16_t max;
};

#define ISAKMP_SCRIPT_MAX 8 /**< lines of a script, at most */

/**
 * The payloads one message of an exchange allows, in the order they must
 * come (isakmpd's exchange scripts). A payload type appears on one line.
 * Build them with ISAKMP_SCRIPT() from an X-macro list of lines.
 */
struct isakmp_script {
	const char *name; /**< "Main Mode message 2", for logs */
	uint8_t n;
	const struct isakmp_script_item *item;
};

/** X-macro helpers: X(name, type, min, max) lines into items and indices. */
#define ISAKMP_SCRIPT_ITEM(name, type, min, max) {ISAKMP_P_##type, min, max},
#define ISAKMP_SCRIPT_INDEX(name, type, min, max) name,
#define ISAKMP_SCRIPT(var, label, LIST)                                                            \
	static const struct isakmp_script_item var##_items[] = {LIST(ISAKMP_SCRIPT_ITEM)};         \
	static const struct isakmp_script var = {                                                  \
	    label, sizeof(var##_items) / sizeof(var##_items[0]), var##_items}

struct isakmp_msg {
	uint16_t n;
	struct isakmp_payload p[ISAKMP_MAX_PAYLOADS];
	/** With a script: where each line's payloads start in p[] and how many. */
	uint16_t first[ISAKMP_SCRIPT_MAX];
	uint16_t count[ISAKMP_SCRIPT_MAX];
};

/**
 * Parse the fixed header.
 * @param reason set to the failure (enum isakmp_err) when not NULL.
 * @return 0, or -EBADMSG with @p reason set.
 */
int isakmp_parse_header(const uint8_t *buf, size_t len, struct isakmp_hdr *h,
			enum isakmp_err *reason);

/**
 * Walk a chain of payloads starting with type @p first over @p len bytes
 * (for an encrypted message: the plaintext, padding allowed after the last
 * payload when @p padded), checking each payload against @p script when it
 * is not NULL (NULL: any known payload, any number of times).
 * @param reason set to the failure (enum isakmp_err) when not NULL.
 * @return 0 with @p m filled, or -EBADMSG with @p reason set.
 */
int isakmp_parse_payloads(uint8_t first, const uint8_t *buf, size_t len, int padded,
			  const struct isakmp_script *script, struct isakmp_msg *m,
			  enum isakmp_err *reason);

/** The first payload of script line @p line, or NULL when it has none. */
static inline const struct isakmp_payload *
isakmp_line(const struct isakmp_msg *m, unsigned int line)
{
	return m->count[line] != 0 ? &m->p[m->first[line]] : NULL;
}

/** A data attribute (RFC 2408 3.3): TV (basic) or TLV (variable). */
struct isakmp_attr {
	uint16_t type;	     /**< without the AF bit */
	int basic;	     /**< TV form: value in @p value */
	uint32_t value;	     /**< basic value, or a variable value of at most 4 bytes */
	const uint8_t *data; /**< variable value */
	uint16_t len;
};

/**
 * Take the next attribute from [*p, *p + *len).
 * @return 1 with @p a filled, 0 at the end, -EBADMSG when malformed.
 */
int isakmp_attr_next(const uint8_t **p, size_t *len, struct isakmp_attr *a);

/** How a field table stores an attribute's value. */
enum isakmp_attr_kind {
	ISAKMP_ATTR_SKIP = 0, /**< understood, nothing stored */
	ISAKMP_ATTR_INT,      /**< integer (TV, or TLV of up to 4 octets) in a field of @p size */
	ISAKMP_ATTR_BYTES,    /**< TLV bytes, at most @p max, length in a field of @p len_size */
};

/** One attribute a payload understands, and where its value goes. */
struct isakmp_attr_field {
	uint16_t type;
	uint8_t kind;	  /**< enum isakmp_attr_kind */
	uint8_t size;	  /**< INT: 1, 2 or 4 octets; BYTES: octets of the length field */
	uint16_t off;	  /**< offsetof() the value in the destination struct */
	uint16_t len_off; /**< BYTES: offsetof() its length */
	uint16_t max;	  /**< BYTES: room for the value */
};

#define ISAKMP_ATTR_FIELD_INT(t, type_, member)                                                    \
	{                                                                                          \
		t, ISAKMP_ATTR_INT, sizeof(((type_ *)0)->member), offsetof(type_, member), 0, 0    \
	}
#define ISAKMP_ATTR_FIELD_BYTES(t, type_, member, len_member)                                      \
	{                                                                                          \
		t, ISAKMP_ATTR_BYTES, sizeof(((type_ *)0)->len_member), offsetof(type_, member),   \
		    offsetof(type_, len_member), sizeof(((type_ *)0)->member)                      \
	}
#define ISAKMP_ATTR_FIELD_SKIP(t)                                                                  \
	{                                                                                          \
		t, ISAKMP_ATTR_SKIP, 0, 0, 0, 0                                                    \
	}

/**
 * Read every attribute of [p, p + len) into @p dst by the table @p f of
 * @p n lines: the value of each attribute the table names lands in its
 * field (a repeated attribute: the last one counts). @p seen (may be NULL)
 * gets bit i set for line i seen (n <= 32).
 * @param strict refuse an attribute the table does not name; else skip it.
 * @return 0; -EBADMSG when an attribute is malformed or of the wrong form
 *   (BYTES given as TV); -EMSGSIZE when a value does not fit its field;
 *   -ENOTSUP when @p strict and an attribute is not in the table.
 */
int isakmp_attrs_read(const uint8_t *p, size_t len, const struct isakmp_attr_field *f,
		      unsigned int n, int strict, void *dst, uint32_t *seen);

/** Big-endian (network order) integers in ISAKMP and GDOI payloads. */
static inline uint16_t
isakmp_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
isakmp_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
isakmp_set32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/** An output buffer. */
struct isakmp_buf {
	uint8_t data[ISAKMP_MSG_MAX];
	size_t len;
	size_t np_off; /**< where the next-payload byte of the last item is */
	int overflow;
};

/** Start a message: header with a zero length, its next payload patched later. */
void isakmp_buf_init(struct isakmp_buf *b, const struct isakmp_hdr *h);
/** Begin a payload of @p type; @return its offset (to end it). */
size_t isakmp_buf_begin(struct isakmp_buf *b, uint8_t type);
/** Append raw bytes. */
void isakmp_buf_put(struct isakmp_buf *b, const void *data, size_t len);
void isakmp_buf_put8(struct isakmp_buf *b, uint8_t v);
void isakmp_buf_put16(struct isakmp_buf *b, uint16_t v);
void isakmp_buf_put32(struct isakmp_buf *b, uint32_t v);
/** Append a basic (TV) attribute. */
void isakmp_buf_attr(struct isakmp_buf *b, uint16_t type, uint16_t value);
/** Append a variable (TLV) attribute. */
void isakmp_buf_attr_var(struct isakmp_buf *b, uint16_t type, const void *data, uint16_t len);
/** End the payload begun at @p off: its length is set. */
void isakmp_buf_end(struct isakmp_buf *b, size_t off);
/** Set the header's length. @return 0, or -ENOSPC after an overflow. */
int isakmp_buf_finish(struct isakmp_buf *b);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_ISAKMP_H */
