/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_CTRL_H
#define GVPN_CTRL_H

/**
 * @file
 * The control core: owns the SA table, the TEK policies and the compiled
 * rule table, and turns every change into messages to the workers. Static
 * groups from the configuration and the GDOI client use the same calls.
 * Not thread safe: only the control core calls these, except
 * gvpn_ctrl_snapshot_get() and gvpn_ctrl_snapshot_put(), which any thread
 * (telemetry's, one per client) may call: the control core publishes what
 * telemetry shows as an immutable snapshot, swapped by pointer and freed
 * when its last reader puts it back.
 */

#include <stdint.h>

#include <rte_cycles.h>

#include "gvpn_config.h"
#include "gvpn_gdoi.h"
#include "gvpn_gdoi_client.h"
#include "gvpn_gikev2.h"
#include "gvpn_esp.h"
#include "gvpn_sa.h"
#include "gvpn_worker.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Group states (R24): fail-open rules apply only in FAILED. */
enum gvpn_group_state {
	GVPN_GROUP_IDLE = 0,	/**< no keys yet */
	GVPN_GROUP_STATIC,	/**< keys from the configuration */
	GVPN_GROUP_FAILED,	/**< no keys: key server unreachable */
	GVPN_GROUP_REGISTERING, /**< phase 1 or pull with a key server */
	GVPN_GROUP_REGISTERED,	/**< keys from a key server */
	GVPN_GROUP_REKEYING,	/**< re-registering; the current keys still work */
};

/** Workers the control core can address: every change is one message to each. */
#define GVPN_CTRL_MAX_WORKERS 64

struct gvpn_ctrl_conf {
	const struct gvpn_config *cfg;
	struct gvpn_worker *const *workers;
	unsigned int n_workers; /**< at most GVPN_CTRL_MAX_WORKERS */
	const struct gvpn_crypto_ops *backend;
	int socket;
};

struct gvpn_ctrl;

/** Parameters of a new SA. */
struct gvpn_ctrl_sa_params {
	uint8_t group;
	uint16_t tek; /**< from gvpn_ctrl_tek_add() */
	struct gvpn_esp_sa_conf esp;
	uint32_t lifetime; /**< seconds until hard expiry, 0 = none */
};

/** What telemetry may know about an SA: no keys. */
struct gvpn_sa_info {
	uint16_t slot;
	uint8_t group;
	uint16_t tek;
	uint32_t spi;
	enum gvpn_sa_state state;
	enum gvpn_cipher cipher;
	enum gvpn_auth auth;
	uint16_t key_bits;
	uint64_t expires;     /**< TSC of the hard expiry, 0 = none */
	uint64_t installed;   /**< TSC of its installation: with the slot and SPI, names it */
	int64_t installed_at; /**< unix time of its installation */
	uint8_t wait_sid;     /**< decrypts only until the group has a Sender-ID */
};

/** A G-IKEv2 group's IKE SA and rekey SA, as the member holds them: no keys. */
struct gvpn_gikev2_info {
	enum gikev2_state member_state;
	enum ikev2_state ike_state; /**< the IKE SA with the current key server */
	uint8_t ike_spi_i[8], ike_spi_r[8];
	struct ikev2_suite ike_suite;	/**< what it runs, when established */
	uint32_t ike_next_msgid;	/**< of the member's next request */
	uint32_t ike_peer_msgid;	/**< expected in the key server's next request */
	struct gikev2_rekey_info rk;	/**< the rekey SA (GIKE_UPDATE) */
	int64_t rekey_sa_expires_at_ms; /**< gvpn_ctrl_clock_ms() of its end, -1: none */
	uint64_t rekeys, inband_rekeys, deletes;
	uint64_t drops[GIKEV2_DROP_MAX]; /**< messages refused, by reason */
	uint8_t n_sids;
};

struct gvpn_group_info {
	char name[GVPN_NAME_MAX];
	uint32_t id;
	enum gvpn_direction direction;
	enum gvpn_group_state state;
	int fail_open;
	int debug; /**< the operator's debug switch (gvpn_ctrl_group_debug()) */
	uint16_t n_sas;
	uint16_t n_fail_open_rules;
	int gdoi;			 /**< a key-server group: the fields below are set */
	uint8_t protocol;		 /**< enum gvpn_group_protocol: gdoi or g-ikev2 */
	struct gvpn_gikev2_info gikev2;	 /**< protocol g-ikev2 (has_kek 0, kek_* and ike_* unset) */
	char server[GDOI_ADDR_NAME_MAX]; /**< current key server */
	char last_error[128];
	int64_t rekey_at_ms; /**< gvpn_ctrl_clock_ms() of the next registration, -1: none */
	uint64_t registrations, failures;
	int has_kek;		   /**< GROUPKEY-PUSH accepted (R13) */
	uint32_t push_seq;	   /**< last accepted push SEQ */
	int64_t kek_expires_at_ms; /**< gvpn_ctrl_clock_ms() of the KEK's expiry, -1: no KEK */
	uint64_t pushes, acks_sent;
	uint64_t push_drops[GDOI_PUSH_DROP_MAX];
	/** SAs a worker could not put in its SPI table, once per worker:
	 *  that worker drops their ESP as no_sa (logged too). */
	uint64_t sa_install_failures;
	uint64_t unauth_notifies; /**< phase-1 notifications in the clear, ignored */
	uint64_t rx_datagrams;	  /**< read from the group's socket */
	uint64_t rx_drops[GDOI_RX_DROP_MAX];
	uint64_t rx_socket_full;	     /**< dropped by the kernel: socket buffer full */
	uint64_t rx_polls_full;		     /**< polls that read GDOI_RX_BUDGET datagrams */
	char push_group[GDOI_ADDR_NAME_MAX]; /**< multicast group joined for pushes, "" when none */
	uint64_t push_group_failures;	     /**< joins that failed */
	uint8_t sid_bits;		     /**< the member's Sender-ID (RFC 6054), 0 bits: none */
	uint32_t sid;
	/* the KEK as the key server described it (has_kek): no keys */
	uint8_t kek_spi[16];
	uint8_t kek_alg; /**< KEK_ALGORITHM */
	uint16_t kek_key_bits;
	uint8_t kek_sig_hash; /**< SIG_HASH_ALGORITHM */
	uint8_t kek_sig_alg;  /**< SIG_ALGORITHM */
	uint16_t kek_sig_key_bits;
	uint32_t kek_lifetime_s; /**< as given, 0: none */
	/* the phase-1 SA with the current key server: no keys */
	enum ike_state ike_state;
	uint8_t ike_icookie[8], ike_rcookie[8];
	struct ike_proposal ike;   /**< what it runs, when established */
	int64_t ike_expires_at_ms; /**< gvpn_ctrl_clock_ms() of its expiry, -1: none */
	/* registration history: registrations, failures and pushes above, and
	 * these times, carry over a reload that gives the group a new client */
	int64_t last_registration_at; /**< unix time, 0: never */
	int64_t last_rekey_at;	      /**< unix time of the last push accepted, 0: never */
	/* the key servers in priority order, and the member's own address */
	unsigned int n_servers;
	struct gdoi_server_info servers[GDOI_MAX_SERVERS];
	char local_address[GDOI_ADDR_NAME_MAX]; /**< "a.b.c.d:port" of the group's socket */
	int local_bound; /**< 0: not bound (the address is not assigned yet) */
};

/** A rule in force, as telemetry shows it: in the order the rule table
 * ranks them (bypass, then TEK policies, then fail-open rules). */
enum gvpn_rule_kind {
	GVPN_RULE_KIND_BYPASS = 0, /**< forwarded in clear, both ways */
	GVPN_RULE_KIND_TEK,	   /**< a group's TEK policy: encrypted */
	GVPN_RULE_KIND_FAIL_OPEN,  /**< in clear while its group has failed, both ways */
};

struct gvpn_rule_info {
	uint8_t kind;	  /**< enum gvpn_rule_kind */
	uint8_t group;	  /**< TEK and fail-open rules */
	uint8_t mirrored; /**< a TEK policy that covers the reverse too (R5) */
	uint16_t tek;	  /**< TEK index (gvpn_sa_info.tek) */
	/** Bypass and fail-open rules: the place in the configuration's bypass
	 *  list or the group's fail-open list, where workers count its hits
	 *  (struct gvpn_rule_hits) */
	uint16_t index;
	/** Bypass and fail-open rules: the rule table generation from which
	 *  the hit counts at @p index are this rule's (a rule that takes an
	 *  index counts from zero) */
	uint32_t hits_since;
	struct gvpn_selector sel;
};

/** The running configuration and its reloads (R18), for telemetry. */
struct gvpn_config_info {
	char file[256];
	int64_t loaded_at;	 /**< unix time the running configuration was read */
	int64_t last_reload_at;	 /**< unix time of the last SIGHUP reload, 0: none */
	uint64_t reloads;	 /**< reloads applied */
	uint64_t refused;	 /**< reloads refused (nothing changed) */
	const char *last_result; /**< "none", "applied", "refused" or "failed" */
	/** The last applied reload: groups unchanged, re-registered, added, removed. */
	unsigned int unchanged, reregistered, added, removed;
	char live_changes[128]; /**< "bypass, dataplane.ttl, groups[corp].fail_open" */
	char last_error[128];	/**< why the last reload was refused ("line N: ..."), or "" */
};

/**
 * What telemetry shows of the control core, as one immutable copy: the
 * control core publishes a new one at the end of a gvpn_ctrl_poll() where
 * something shown changed (at most every GVPN_CTRL_PUBLISH_MS). Deadlines
 * are absolute, so a snapshot stays true while nothing changes; packet
 * counters are not in it (workers own them; sum them per lcore). No keys.
 */
struct gvpn_ctrl_snapshot {
	uint64_t version; /**< 1 for the first, +1 for each one after */
	struct gvpn_config_info config;
	unsigned int n_groups;
	/** [0, n_groups) the configured groups; the rest zero (an SA may
	 *  still name such a slot while it is being deleted after a reload) */
	struct gvpn_group_info group[GVPN_MAX_GROUPS];
	unsigned int n_sas;
	const struct gvpn_sa_info *sa; /**< n_sas SAs (state != FREE), by slot */
	unsigned int n_rules;
	const struct gvpn_rule_info *rule; /**< n_rules rules in force, in rank order */
};

/** Snapshots are published at most this often (ms): a storm of changes
 * costs one copy per period, not one per change. */
#define GVPN_CTRL_PUBLISH_MS 10

/** The clock of the snapshot's deadlines: milliseconds of the TSC. */
static inline uint64_t
gvpn_ctrl_clock_ms(void)
{
	return rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000);
}

/**
 * Take a reference to the newest snapshot (any thread). It stays valid and
 * unchanged until gvpn_ctrl_snapshot_put(); never blocks the control core.
 * @return the snapshot; never NULL while @p c exists.
 */
const struct gvpn_ctrl_snapshot *gvpn_ctrl_snapshot_get(struct gvpn_ctrl *c);

/** Drop a reference from gvpn_ctrl_snapshot_get(); the last one frees it. */
void gvpn_ctrl_snapshot_put(const struct gvpn_ctrl_snapshot *s);

/**
 * Publish a snapshot now if anything shown changed, whatever the rate
 * (control core; gvpn_ctrl_poll() does it on its own).
 * @return 0 (published or nothing changed), -ENOMEM, or -EBUSY (a reader
 *   held the publication point for a moment: try again later).
 */
int gvpn_ctrl_publish(struct gvpn_ctrl *c);

/**
 * Create the control state.
 * @return it, or NULL with rte_errno set: E2BIG more than
 *   GVPN_CTRL_MAX_WORKERS workers (logged), ENOMEM.
 */
struct gvpn_ctrl *gvpn_ctrl_create(const struct gvpn_ctrl_conf *conf);

/** Free everything, wiping keys; the workers must have stopped. */
void gvpn_ctrl_free(struct gvpn_ctrl *c);

/**
 * Install the configuration's static groups: TEKs, SAs (active at once),
 * and the compiled rule table.
 * @return 0 or a negative errno (logged).
 */
int gvpn_ctrl_load_static(struct gvpn_ctrl *c);

/**
 * Register a TEK policy of a group: the selector and, with @p mirror, its
 * reverse (R5).
 * @return the TEK index, or -ENOSPC.
 */
int gvpn_ctrl_tek_add(struct gvpn_ctrl *c, uint8_t group, const struct gvpn_selector *sel,
		      int mirror);

/** Rebuild the rule table from the TEKs, bypass and fail-open rules and swap it in.
 * @return 0 or a negative errno. */
int gvpn_ctrl_policy_update(struct gvpn_ctrl *c);

/** Add an SA; it decrypts at once. @return its slot or a negative errno. */
int gvpn_ctrl_sa_add(struct gvpn_ctrl *c, const struct gvpn_ctrl_sa_params *p);
/** Encrypt the SA's TEK traffic with it from now on (the previous SA stops).
 * @return 0, or -ENOKEY: a counter-mode SA of a group whose Sender-IDs are
 * managed (gvpn_ctrl_group_sender_id()) and which has none decrypts only,
 * and encrypts once the group has one. */
int gvpn_ctrl_sa_activate(struct gvpn_ctrl *c, uint16_t slot);
/**
 * Set a group's Sender-ID (RFC 6054), @p bits long (0: none): every worker
 * builds its counter-mode IVs in its own part of the Sender-ID's space
 * (gvpn_iv_space()). The key protocol calls it with each policy; from the
 * first call on, the group's counter-mode SAs encrypt only with a
 * Sender-ID. SAs waiting for one encrypt at the next check.
 * @return 0; -EINVAL or -ERANGE when it does not leave every worker
 *   GVPN_IV_COUNTER_MIN_BITS counter bits (logged; the group has none).
 */
int gvpn_ctrl_group_sender_id(struct gvpn_ctrl *c, uint8_t group, uint8_t bits, uint32_t sid);
/** Stop encrypting with the SA; it keeps decrypting. */
int gvpn_ctrl_sa_retire(struct gvpn_ctrl *c, uint16_t slot);
/** Delete the SA; its keys are wiped once every worker acked. */
int gvpn_ctrl_sa_delete(struct gvpn_ctrl *c, uint16_t slot);
/** Delete every SA of a group. @return how many. */
int gvpn_ctrl_group_clear(struct gvpn_ctrl *c, uint8_t group);
/** Enter or leave the failed state, where fail-open rules apply (R24). */
int gvpn_ctrl_group_fail(struct gvpn_ctrl *c, uint8_t group, int failed);
/** Start registration of every group that has key servers (R19). */
int gvpn_ctrl_gdoi_start(struct gvpn_ctrl *c);
/**
 * Leave the groups whose key protocol says how (G-IKEv2: GSA_REGISTRATION
 * with a notification, then a Delete of the IKE SA), waiting at most
 * @p max_ms for the key servers' answers: best effort, for an orderly stop,
 * before gvpn_ctrl_free() (the groups' SAs stay until then). Logged.
 * @return how many groups were still waiting for an answer at the end.
 */
int gvpn_ctrl_leave(struct gvpn_ctrl *c, unsigned int max_ms);
/** Register a group again now (operator request, logged). @return 0 or -ENOENT. */
int gvpn_ctrl_group_register(struct gvpn_ctrl *c, uint8_t group);
/**
 * Operator request: the group's debug switch (logged). While on, each
 * GDOI/IKE message in and out is logged by exchange, first payload,
 * message ID and length; never key material. Kept while the gvpnd runs,
 * also when a reload makes a new client for the group.
 * @return 0 or -ENOENT (no such group, or one without key servers).
 */
int gvpn_ctrl_group_debug(struct gvpn_ctrl *c, uint8_t group, int on);
/**
 * Operator request: fail-open on or off (logged). A static group's SAs are
 * configured, never lost: fail-open on is refused for a group with static
 * SAs (one with neither key servers nor SAs may be put in it).
 * @return 0; -ENOENT (no such group), -EPERM (on, for a static group), or
 *   an error of gvpn_ctrl_group_fail().
 */
int gvpn_ctrl_group_fail_open(struct gvpn_ctrl *c, uint8_t group, int on);
/**
 * Operator request: delete a group's SAs (logged). A key-server group
 * registers again; a static group gets its configured SAs again.
 * @return 0 or a negative errno (-ENOENT, -ENOSPC: logged).
 */
int gvpn_ctrl_group_sa_clear(struct gvpn_ctrl *c, uint8_t group);

/**
 * Reload the configuration file (R18): read and validate @p path whole,
 * compare it with the running configuration and apply it, all or nothing.
 * Bypass and fail-open rules and dataplane.df_bit/ttl change live; a group
 * whose identity or keying changed has its SAs cleared and registers again
 * (static SAs are installed again); groups are matched by name and index.
 * Ports and the other dataplane settings need a restart: such a file is
 * refused. Every outcome is logged in one line and counted.
 *
 * @param live
 *   The running configuration: the one the control state was created
 *   with; overwritten when the reload applies.
 * @return
 *   0 applied. Refused, nothing changed: -EINVAL invalid file, -ENOENT or
 *   another errno of fopen() unreadable, -EPERM a setting needs a restart,
 *   -ENOSPC no room for the static SAs, -ENOMEM. After the checks passed,
 *   only a failed worker message (-ENOMEM) can stop the apply part way;
 *   that is logged.
 */
int gvpn_ctrl_reload(struct gvpn_ctrl *c, struct gvpn_config *live, const char *path);

/** Ask every worker to forget its cached flows. */
int gvpn_ctrl_flow_flush(struct gvpn_ctrl *c);

/** Collect acks, free what they release, expire SAs. Call often. */
void gvpn_ctrl_poll(struct gvpn_ctrl *c);

/** Messages not yet acked by every worker. */
unsigned int gvpn_ctrl_pending(const struct gvpn_ctrl *c);

/** Find a group by name in a snapshot. @return its index or -ENOENT. */
int gvpn_ctrl_snapshot_group_find(const struct gvpn_ctrl_snapshot *s, const char *name);

/** Name of a group state (the SA states' are in gvpn_sa.h). */
const char *gvpn_group_state_name(enum gvpn_group_state s);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_CTRL_H */
