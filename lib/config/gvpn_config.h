/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_CONFIG_H
#define GVPN_CONFIG_H

/**
 * @file
 * gvpnd's configuration file (libconfig syntax, R31) parsed into validated
 * structures. Every error names the file, the line and the setting; key
 * material is never part of a message. doc/config.md is the reference.
 */

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "gvpn_crypto.h"
#include "gvpn_sa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits the configuration alone knows; the shared ones are in gvpn_sa.h. */
#define GVPN_NAME_MAX 32

enum gvpn_port_role { GVPN_PORT_CLEAR, GVPN_PORT_PROTECTED };

struct gvpn_port_conf {
	char name[GVPN_NAME_MAX];
	char device[64]; /**< ethdev name, e.g. "0000:3b:00.0" or "net_pcap0" */
	enum gvpn_port_role role;
	uint16_t mtu;
	uint16_t peer; /**< index of the paired port (clear <-> protected) */
	int line;
	/* The box's own address on this port (the exception path, doc/deployment.md). */
	uint32_t address;   /**< host order; 0: the port has none */
	uint8_t prefix_len; /**< of address: its subnet */
	uint32_t gateway;   /**< host order; 0: gvpnd installs no route */
	uint32_t punt_rate; /**< packets/s punted to the kernel, per class */
};

/** Default ports[].punt_rate. */
#define GVPN_PUNT_RATE_DEFAULT 10000
/** Largest ports[].punt_rate. */
#define GVPN_PUNT_RATE_MAX 1000000

enum gvpn_direction { GVPN_DIR_BOTH, GVPN_DIR_INBOUND, GVPN_DIR_OUTBOUND };

/** A static group SA: one TEK with its policy. */
struct gvpn_sa_conf {
	uint32_t spi;
	struct gvpn_selector sel;
	int mirror; /**< the reverse selector is protected too (R5) */
	struct gvpn_crypto_xform xform;
	uint32_t lifetime; /**< seconds, 0 = no expiry */
	int line;
};

#define GVPN_MAX_KEY_SERVERS 4
#define GVPN_MAX_PHASE1 8
#define GVPN_PSK_MIN 20 /* R10 */
#define GVPN_PSK_MAX 256
#define GVPN_GDOI_PORT 848

/** A phase-1 proposal: IKE attribute values (RFC 2409 appendix A). */
struct gvpn_phase1 {
	uint8_t enc;	   /**< 1 DES, 5 3DES, 7 AES */
	uint16_t key_bits; /**< AES only */
	uint8_t hash;	   /**< 1 MD5, 2 SHA1, 4 SHA-256 */
	uint8_t group;	   /**< 1, 2, 5, 14, 15, 16 (MODP), 19, 20 (ECP) */
};

/**
 * Parse a phase-1 proposal name, "ENC-HASH-GROUP" ("aes128-sha1-modp2048"):
 * ENC des 3des aes128 aes192 aes256, HASH md5 sha1 sha256, GROUP modp768
 * modp1024 modp1536 modp2048 modp3072 modp4096 ecp256 ecp384.
 * @return 0, or -1 for a name it does not know.
 */
int gvpn_phase1_parse(const char *s, struct gvpn_phase1 *p);

/** What a group accepts beyond RFC 6407 from its key servers (doc/interop.md). */
enum gvpn_ks_habits {
	GVPN_KS_HABITS_STRICT = 0, /**< "strict" */
	GVPN_KS_HABITS_REFERENCE,  /**< "reference": the GDOI reference key server's */
};

/** Registration with key servers (R10-R12); absent for static groups. */
struct gvpn_gdoi_conf {
	uint8_t n_servers;
	/** enum gvpn_af of the key servers and local_address: one family, IPv4
	 *  (the IPv4 fields) or IPv6 (the IPv6 ones; the IPv4 ones are 0) */
	uint8_t af;
	uint32_t server_addr[GVPN_MAX_KEY_SERVERS];	/**< IPv4, host order */
	uint8_t server_addr6[GVPN_MAX_KEY_SERVERS][16]; /**< IPv6, network order */
	uint16_t server_port[GVPN_MAX_KEY_SERVERS];
	uint32_t local_addr;	 /**< IPv4, host order */
	uint8_t local_addr6[16]; /**< IPv6, network order */
	uint16_t local_port;	 /**< 0: any */
	uint8_t psk[GVPN_PSK_MAX];
	uint16_t psk_len;
	uint8_t n_phase1;
	struct gvpn_phase1 phase1[GVPN_MAX_PHASE1];
	uint32_t phase1_lifetime;   /**< seconds */
	uint32_t retry_interval_ms; /**< R12: 10 s */
	uint8_t retries;	    /**< R12: 3 */
	enum gvpn_ks_habits habits; /**< key_server_habits */
};

/** The key protocol of a group with key servers (`protocol`). */
enum gvpn_group_protocol {
	GVPN_GROUP_PROTO_GDOI = 0, /**< "gdoi": RFC 6407 over IKEv1 */
	GVPN_GROUP_PROTO_GIKEV2,   /**< "g-ikev2": draft-ietf-ipsecme-g-ikev2 over IKEv2 */
};

#define GVPN_MAX_IKEV2_PROPOSALS 8
#define GVPN_IKEV2_PROPOSAL_MAX 96 /**< a proposal string, NUL included */
#define GVPN_IDG_MAX 64
#define GVPN_MAX_SENDER_IDS 8

/** G-IKEv2's own settings of a group with key servers (doc/g-ikev2.md). */
struct gvpn_gikev2_conf {
	/** IKE SA proposals in lib/ikev2's syntax, each with a key wrap word
	 *  ("aes256-sha256-modp2048-kw256"), checked by ikev2_proposal_parse() */
	uint8_t n_proposals;
	char proposals[GVPN_MAX_IKEV2_PROPOSALS][GVPN_IKEV2_PROPOSAL_MAX];
	/** IDg as ID_KEY_ID: these bytes; idg_len 0: the group's id as 4 octets */
	uint8_t idg_len;
	char idg[GVPN_IDG_MAX];
	/** Sender-IDs asked for (GROUP_SENDER): 0 for a receiver only */
	uint8_t sender_ids;
	int allow_implicit; /**< rekeys authenticated implicitly are accepted */
};

struct gvpn_group_conf {
	char name[GVPN_NAME_MAX];
	uint32_t id;
	enum gvpn_direction direction;
	int gdoi; /**< keys come from key servers (with `protocol`) */
	enum gvpn_group_protocol protocol;
	struct gvpn_gdoi_conf ks; /**< key servers, local address, PSK, retries (both protocols) */
	struct gvpn_gikev2_conf gikev2; /**< protocol "g-ikev2" */
	uint16_t n_fail_open;
	struct gvpn_selector fail_open[GVPN_MAX_FAIL_OPEN];
	uint16_t n_sas;
	struct gvpn_sa_conf sas[GVPN_MAX_GROUP_SAS];
};

struct gvpn_config {
	char file[PATH_MAX];
	uint16_t n_ports;
	struct gvpn_port_conf ports[GVPN_MAX_PORTS];
	enum gvpn_df_mode df;
	enum gvpn_inner_df inner_df;
	enum gvpn_ipv6_too_big ipv6_too_big;
	uint8_t ttl;	 /**< outer TTL, 0 copies the inner one */
	uint32_t flows;	 /**< flow cache entries per worker */
	char crypto[16]; /**< backend name */
	uint16_t burst;
	uint16_t n_bypass;
	struct gvpn_selector bypass[GVPN_MAX_BYPASS];
	uint16_t n_groups;
	struct gvpn_group_conf groups[GVPN_MAX_GROUPS];
};

/**
 * Read and validate a configuration file. The file is parsed in a child
 * process (fork) and only the result comes back through a pipe: the copies
 * of the text that libconfig leaves in freed heap memory (inline keys and
 * PSKs among them) die with the child and are never in this process.
 *
 * @param path
 *   File to read.
 * @param c
 *   Filled on success; wiped and partly filled on failure. Holds keys:
 *   put it in key memory (gvpn_keymem_alloc()).
 * @param err
 *   On failure: "FILE:LINE: SETTING: problem".
 * Sanitizer builds parse in the process: their allocators are not fork-safe.
 *
 * @return
 *   0, or -EINVAL (invalid content, see @p err), -ENOENT/-EIO (unreadable),
 *   -ENOMEM, or the errno of a failed pipe or fork.
 */
int gvpn_config_load(const char *path, struct gvpn_config *c, char *err, size_t errlen);

/**
 * gvpn_config_load() in the calling process: for tests and fuzzing. The
 * string settings are wiped before libconfig frees them, but libconfig's
 * scanner keeps its own copy of the text in memory it frees unwiped.
 *
 * @return
 *   As gvpn_config_load().
 */
int gvpn_config_parse(const char *path, struct gvpn_config *c, char *err, size_t errlen);

/** Wipe every key in a configuration. */
void gvpn_config_wipe(struct gvpn_config *c);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_CONFIG_H */
