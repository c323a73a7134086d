/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_ISAKMP_H
#define GVPN_ISAKMP_H

/**
 * @file
 * ISAKMP (RFC 2408) message codec with the GDOI payloads (RFC 6407).
 *
 * Parsing checks, for the header and then for every payload in order: the
 * header fits; the next payload is a known type; the reserved byte is zero;
 * the length is at least the type's minimum and at most the bytes remaining
 * (lengths are compared, never pointers past the end). Each failure is its
 * own reason (GVPN_ISAKMP_ERR_LIST). Building appends payloads to a buffer
 * and chains their next-payload fields.
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
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISAKMP_HDR_LEN 28
#define ISAKMP_GEN_LEN 4    /* generic payload header */
#define ISAKMP_VERSION 0x10 /* 1.0 */
#define ISAKMP_MAX_PAYLOADS 272 /* a pull of GDOI_MAX_TEKS SA TEKs, SA KEK and GAP */
#define ISAKMP_MSG_MAX 65535 /* a UDP datagram */

/* Exchange types */
#define ISAKMP_EXCH_MAIN 2
#define ISAKMP_EXCH_INFO 5
#define ISAKMP_EXCH_GROUPKEY_PULL 32
#define ISAKMP_EXCH_GROUPKEY_PUSH 33

/* Flags */
#define ISAKMP_FLAG_ENC 0x01
#define ISAKMP_FLAG_COMMIT 0x02

/** Payload types: X(name, number, minimum length including the generic header). */
#define GVPN_ISAKMP_PAYLOAD_LIST(X)                                                         \
	X(SA, 1, 12)                                                                        \
	X(PROPOSAL, 2, 8)                                                                   \
	X(TRANSFORM, 3, 8)                                                                  \
	X(KE, 4, 5)                                                                         \
	X(ID, 5, 8)                                                                         \
	X(CERT, 6, 5)                                                                       \
	X(CR, 7, 5)                                                                         \
	X(HASH, 8, 5)                                                                       \
	X(SIG, 9, 5)                                                                        \
	X(NONCE, 10, 5)                                                                     \
	X(NOTIFY, 11, 12)                                                                   \
	X(DELETE, 12, 12)                                                                   \
	X(VID, 13, 4)                                                                       \
	X(SAK, 15, 28)                                                                      \
	X(SAT, 16, 5)                                                                       \
	X(KD, 17, 8)                                                                        \
	X(SEQ, 18, 8)                                                                       \
	X(POP, 19, 5)                                                                       \
	X(GAP, 22, 4)

#define GVPN_ISAKMP_PAYLOAD_ENUM(n, num, min) ISAKMP_P_##n = num,
enum isakmp_payload_type { ISAKMP_P_NONE = 0, GVPN_ISAKMP_PAYLOAD_LIST(GVPN_ISAKMP_PAYLOAD_ENUM) };
#undef GVPN_ISAKMP_PAYLOAD_ENUM

/** Parse failures: X(name, description). */
#define GVPN_ISAKMP_ERR_LIST(X)                                                             \
	X(SHORT_HEADER, "message shorter than the ISAKMP header")                           \
	X(BAD_VERSION, "ISAKMP version is not 1.0")                                         \
	X(BAD_LENGTH, "header length disagrees with the datagram")                         \
	X(TOO_LONG, "message longer than the largest accepted")                             \
	X(SHORT_PAYLOAD, "payload header does not fit")                                     \
	X(UNKNOWN_PAYLOAD, "unknown next payload type")                                     \
	X(RESERVED, "reserved field not zero")                                              \
	X(PAYLOAD_TOO_SHORT, "payload length below its type's minimum")                     \
	X(PAYLOAD_OVERRUN, "payload length beyond the bytes remaining")                     \
	X(TOO_MANY, "too many payloads")                                                    \
	X(TRAILING, "bytes after the last payload")                                         \
	X(BAD_ATTR, "malformed data attribute")                                             \
	X(BAD_PAYLOAD, "payload content malformed")

#define GVPN_ISAKMP_ERR_ENUM(n, s) ISAKMP_ERR_##n,
enum isakmp_err { ISAKMP_OK = 0, GVPN_ISAKMP_ERR_LIST(GVPN_ISAKMP_ERR_ENUM) ISAKMP_ERR_MAX };
#undef GVPN_ISAKMP_ERR_ENUM

/** Notify message types of RFC 2408 3.14.1 (errors): X(name, number). */
#define GVPN_ISAKMP_NOTIFY_LIST(X)                                                          \
	X(INVALID_PAYLOAD_TYPE, 1)                                                          \
	X(DOI_NOT_SUPPORTED, 2)                                                             \
	X(SITUATION_NOT_SUPPORTED, 3)                                                       \
	X(INVALID_COOKIE, 4)                                                                \
	X(INVALID_MAJOR_VERSION, 5)                                                         \
	X(INVALID_MINOR_VERSION, 6)                                                         \
	X(INVALID_EXCHANGE_TYPE, 7)                                                         \
	X(INVALID_FLAGS, 8)                                                                 \
	X(INVALID_MESSAGE_ID, 9)                                                            \
	X(INVALID_PROTOCOL_ID, 10)                                                          \
	X(INVALID_SPI, 11)                                                                  \
	X(INVALID_TRANSFORM_ID, 12)                                                         \
	X(ATTRIBUTES_NOT_SUPPORTED, 13)                                                     \
	X(NO_PROPOSAL_CHOSEN, 14)                                                           \
	X(BAD_PROPOSAL_SYNTAX, 15)                                                          \
	X(PAYLOAD_MALFORMED, 16)                                                            \
	X(INVALID_KEY_INFORMATION, 17)                                                      \
	X(INVALID_ID_INFORMATION, 18)                                                       \
	X(INVALID_CERT_ENCODING, 19)                                                        \
	X(INVALID_CERTIFICATE, 20)                                                          \
	X(CERT_TYPE_UNSUPPORTED, 21)                                                        \
	X(INVALID_CERT_AUTHORITY, 22)                                                       \
	X(INVALID_HASH_INFORMATION, 23)                                                     \
	X(AUTHENTICATION_FAILED, 24)                                                        \
	X(INVALID_SIGNATURE, 25)                                                            \
	X(ADDRESS_NOTIFICATION, 26)                                                         \
	X(NOTIFY_SA_LIFETIME, 27)                                                           \
	X(CERTIFICATE_UNAVAILABLE, 28)                                                      \
	X(UNSUPPORTED_EXCHANGE_TYPE, 29)                                                    \
	X(UNEQUAL_PAYLOAD_LENGTHS, 30)

/** Name of a notify message type ("NO_PROPOSAL_CHOSEN"), or NULL when unknown. */
const char *isakmp_notify_name(uint16_t type);

/** Description of a parse failure. */
const char *isakmp_err_name(int err);
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
	uint16_t len;           /**< whole payload, generic header included */
	const uint8_t *raw;     /**< generic header onwards */
	const uint8_t *body;    /**< raw + ISAKMP_GEN_LEN */
	uint16_t body_len;
};

struct isakmp_msg {
	struct isakmp_hdr hdr;
	uint16_t n;
	struct isakmp_payload p[ISAKMP_MAX_PAYLOADS];
};

/**
 * Parse the fixed header.
 * @return ISAKMP_OK or an enum isakmp_err.
 */
int isakmp_parse_header(const uint8_t *buf, size_t len, struct isakmp_hdr *h);

/**
 * Walk a chain of payloads starting with type @p first over @p len bytes
 * (for an encrypted message: the plaintext, padding allowed after the last
 * payload when @p padded).
 * @return ISAKMP_OK or an enum isakmp_err.
 */
int isakmp_parse_payloads(uint8_t first, const uint8_t *buf, size_t len, int padded,
			  struct isakmp_msg *m);

/** The first payload of a type, or NULL. */
const struct isakmp_payload *isakmp_find(const struct isakmp_msg *m, uint8_t type);

/** A data attribute (RFC 2408 3.3): TV (basic) or TLV (variable). */
struct isakmp_attr {
	uint16_t type;      /**< without the AF bit */
	int basic;          /**< TV form: value in @p value */
	uint32_t value;     /**< basic value, or a variable value of at most 4 bytes */
	const uint8_t *data;/**< variable value */
	uint16_t len;
};

/**
 * Take the next attribute from [*p, *p + *len).
 * @return 1 with @p a filled, 0 at the end, -ISAKMP_ERR_BAD_ATTR when malformed.
 */
int isakmp_attr_next(const uint8_t **p, size_t *len, struct isakmp_attr *a);

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

/** An output buffer. */
struct isakmp_buf {
	uint8_t data[ISAKMP_MSG_MAX];
	size_t len;
	size_t np_off;   /**< where the next-payload byte of the last item is */
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
