/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The telemetry commands as a library, against a real control core and
 * worker (net_null ports) with two static groups loaded from a file. The
 * handlers are taken from their registration (the link wraps
 * rte_telemetry_register_cmd) and called as DPDK's telemetry thread calls
 * them, one thread per client; the link also wraps the rte_tel_data adders
 * to note what a reply holds (the reply's shape, and that no key is in it)
 * and to free its containers afterwards, as the telemetry thread does.
 *
 * The stress case runs several such clients while the control core rekeys
 * (SA add / activate / retire / delete, group clear) and reloads the
 * configuration: built with -Db_sanitize=thread it shows that no handler
 * touches what the control core writes (test/unit/tsan.supp names the
 * per-lcore worker counters, which telemetry sums without a lock by design).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_telemetry.h>
#include <rte_udp.h>

#include "test_util.h"
#include "gvpn_telemetry.h"

int __wrap_rte_telemetry_register_cmd(const char *cmd, telemetry_cb fn, const char *help);
int __real_rte_tel_data_add_dict_container(struct rte_tel_data *d, const char *name,
					   struct rte_tel_data *val, int keep);
int __wrap_rte_tel_data_add_dict_container(struct rte_tel_data *d, const char *name,
					   struct rte_tel_data *val, int keep);
int __real_rte_tel_data_add_dict_string(struct rte_tel_data *d, const char *name, const char *val);
int __wrap_rte_tel_data_add_dict_string(struct rte_tel_data *d, const char *name, const char *val);
int __real_rte_tel_data_add_dict_u64(struct rte_tel_data *d, const char *name, uint64_t val);
int __wrap_rte_tel_data_add_dict_u64(struct rte_tel_data *d, const char *name, uint64_t val);

#define KEY "000102030405060708090a0b0c0d0e0f"
#define AUTH_KEY "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"

/* What one call's reply held: its containers and its strings. */
#define MAX_ITEMS 4096
struct reply {
	struct rte_tel_data *containers[MAX_ITEMS];
	unsigned int n_containers;
	char strings[MAX_ITEMS][96]; /* "name=value" */
	unsigned int n_strings;
};
static __thread struct reply *cur;

int
__wrap_rte_tel_data_add_dict_container(struct rte_tel_data *d, const char *name,
				       struct rte_tel_data *val, int keep)
{
	int rc = __real_rte_tel_data_add_dict_container(d, name, val, keep);

	if (cur != NULL && rc == 0 && !keep) {
		if (cur->n_containers == MAX_ITEMS)
			abort();
		cur->containers[cur->n_containers++] = val;
	}
	if (cur != NULL && cur->n_strings < MAX_ITEMS)
		snprintf(cur->strings[cur->n_strings++], sizeof(cur->strings[0]), "%s=", name);
	return rc;
}

int
__wrap_rte_tel_data_add_dict_string(struct rte_tel_data *d, const char *name, const char *val)
{
	if (cur != NULL && cur->n_strings < MAX_ITEMS)
		snprintf(cur->strings[cur->n_strings++], sizeof(cur->strings[0]), "%s=%s", name,
			 val);
	return __real_rte_tel_data_add_dict_string(d, name, val);
}

int
__wrap_rte_tel_data_add_dict_u64(struct rte_tel_data *d, const char *name, uint64_t val)
{
	if (cur != NULL && cur->n_strings < MAX_ITEMS)
		snprintf(cur->strings[cur->n_strings++], sizeof(cur->strings[0]), "%s=%" PRIu64,
			 name, val);
	return __real_rte_tel_data_add_dict_u64(d, name, val);
}

#define MAX_CMDS 32
static struct {
	const char *name;
	telemetry_cb fn;
} cmds[MAX_CMDS];
static unsigned int n_cmds;

int
__wrap_rte_telemetry_register_cmd(const char *cmd, telemetry_cb fn, const char *help)
{
	/* DPDK 22.11 refuses a name of 56 characters or a help of 128 or more
	 * (MAX_CMD_LEN, MAX_HELP_LEN in its telemetry.c): so does this stand-in */
	if (strlen(cmd) >= 56 || strlen(help) >= 128)
		return -EINVAL;
	if (n_cmds == MAX_CMDS)
		return -ENOSPC;
	cmds[n_cmds].name = cmd;
	cmds[n_cmds++].fn = fn;
	return 0;
}

/* Call @p cmd as the telemetry thread does; the reply's strings stay in @p r. */
static int
call(const char *cmd, const char *params, struct reply *r)
{
	struct rte_tel_data *d = rte_tel_data_alloc();
	int rc = -ENOENT;

	if (d == NULL)
		abort();
	r->n_containers = 0;
	r->n_strings = 0;
	cur = r;
	for (unsigned int i = 0; i < n_cmds; i++)
		if (strcmp(cmds[i].name, cmd) == 0)
			rc = cmds[i].fn(cmd, params, d);
	cur = NULL;
	rte_tel_data_free(d);
	while (r->n_containers > 0)
		rte_tel_data_free(r->containers[--r->n_containers]);
	return rc;
}

static int
has(const struct reply *r, const char *item)
{
	for (unsigned int i = 0; i < r->n_strings; i++)
		if (strcmp(r->strings[i], item) == 0)
			return 1;
	return 0;
}

static struct rte_mempool *pool;
static struct gvpn_worker *w;
static struct gvpn_ctrl *ctrl;
static struct gvpn_config *cfg;
static char conf_a[64], conf_b[64];
static const unsigned int lcores[1] = {0};
static const uint16_t port_ids[2] = {0, 1};

static uint16_t
null_port(const char *name)
{
	struct rte_eth_conf conf = {0};
	uint16_t p;

	if (rte_eth_dev_get_port_by_name(name, &p) != 0 ||
	    rte_eth_dev_configure(p, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(p, 0, 256, 0, NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(p, 0, 256, 0, NULL) != 0 || rte_eth_dev_start(p) != 0)
		abort();
	return p;
}

/* Two static groups; @p lab_key and @p bypass_port tell the two files apart:
 * a new lab key re-registers lab, a new bypass port changes live. */
static void
write_conf(const char *path, const char *lab_key, int bypass_port)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		abort();
	fprintf(
	    f,
	    "ports = (\n"
	    "  { name = \"inside\"; role = \"clear\"; device = \"net_null0\"; peer = \"wan\"; },\n"
	    "  { name = \"wan\"; role = \"protected\"; device = \"net_null1\"; mtu = 1500; }\n"
	    ");\n"
	    "dataplane = { flows = 1024; };\n"
	    "bypass = ( { protocol = \"udp\"; dst_port = %d; },\n"
	    "           { src = \"2001:db8:1::/48\"; dst = \"2001:db8:2:0:8000::/65\"; vlan = "
	    "3001; "
	    "} );\n"
	    "groups = (\n"
	    "  { name = \"corp\"; id = 1001; fail_open = ( { dst = \"10.9.0.0/16\"; } );\n"
	    "    sas = ( { spi = 0x1001; src = \"192.0.2.0/24\"; dst = \"198.51.100.0/24\";\n"
	    "              mirror = true; cipher = \"aes-cbc\"; key = \"" KEY "\";\n"
	    "              auth = \"hmac-sha1-96\"; auth_key = \"" AUTH_KEY "\"; } ); },\n"
	    "  { name = \"lab\"; id = 1002; direction = \"inbound\";\n"
	    "    sas = ( { spi = 0x2001; src = \"203.0.113.0/25\"; dst = \"203.0.113.128/25\";\n"
	    "              cipher = \"aes-gcm\"; key = \"%s\"; } ); }\n"
	    ");\n",
	    bypass_port, lab_key);
	fclose(f);
}

static void
settle(void)
{
	for (int i = 0; i < 100000 && gvpn_ctrl_pending(ctrl) != 0; i++) {
		gvpn_worker_poll(w);
		gvpn_ctrl_poll(ctrl);
	}
	assert_int_equal(gvpn_ctrl_pending(ctrl), 0);
	gvpn_ctrl_publish(ctrl);
}

static int
setup(void **state)
{
	struct gvpn_worker_conf wc = {
	    .burst = 32, .n_pairs = 1, .flows = 1024, .backend = &gvpn_crypto_ipsecmb};
	struct gvpn_ctrl_conf cc = {.n_workers = 1, .backend = &gvpn_crypto_ipsecmb};
	struct gvpn_telemetry_conf tc = {
	    .workers = &w, .worker_lcores = lcores, .n_workers = 1, .port_ids = port_ids};
	char err[256];
	int fd;

	(void)state;
	strcpy(conf_a, "/tmp/test_telemetry_a_XXXXXX");
	strcpy(conf_b, "/tmp/test_telemetry_b_XXXXXX");
	if ((fd = mkstemp(conf_a)) < 0 || close(fd) != 0 || (fd = mkstemp(conf_b)) < 0 ||
	    close(fd) != 0)
		return -1;
	write_conf(conf_a, "00112233445566778899aabbccddeeff01020304", 848);
	write_conf(conf_b, "ffeeddccbbaa99887766554433221100f1f2f3f4", 500);
	cfg = gvpn_keymem_alloc(sizeof(*cfg));
	if (cfg == NULL || gvpn_config_load(conf_a, cfg, err, sizeof(err)) != 0) {
		print_message("# %s\n", err);
		return -1;
	}
	pool = rte_pktmbuf_pool_create("tel", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (pool == NULL)
		return -1;
	wc.pool = pool;
	wc.pairs[0] = (struct gvpn_pair){.clear = null_port("net_null0"),
					 .prot = null_port("net_null1"),
					 .clear_idx = 0,
					 .prot_idx = 1,
					 .mtu = 1500};
	w = gvpn_worker_create(&wc);
	cc.cfg = cfg;
	cc.workers = &w;
	ctrl = w != NULL ? gvpn_ctrl_create(&cc) : NULL;
	if (ctrl == NULL || gvpn_ctrl_load_static(ctrl) != 0)
		return -1;
	tc.cfg = cfg;
	tc.ctrl = ctrl;
	if (gvpn_telemetry_init(&tc) != 0 || n_cmds == 0)
		return -1;
	settle();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	gvpn_telemetry_fini();
	gvpn_ctrl_free(ctrl);
	gvpn_worker_free(w);
	gvpn_keymem_free(cfg);
	unlink(conf_a);
	unlink(conf_b);
	return 0;
}

/* Invalid input first: every refusal is a readable error string. */
static void
test_bad_parameters_are_refused_with_a_reason(void **state)
{
	static const struct {
		const char *cmd, *params, *error;
	} cases[] = {
	    {"/gvpn/sa", "x", "error=the parameter is the index of the first SA to show"},
	    {"/gvpn/sa", "-1", "error=the parameter is the index of the first SA to show"},
	    {"/gvpn/sa", "99999999999999999999999",
	     "error=the parameter is the index of the first SA to show"},
	    {"/gvpn/lcores", "all", "error=the only parameter is 'total'"},
	    {"/gvpn/mempools", "x", "error=no parameters"},
	    {"/gvpn/group/fail_open", NULL, "error=parameters: <group>,on|off"},
	    {"/gvpn/group/fail_open", "corp", "error=parameters: <group>,on|off"},
	    {"/gvpn/group/fail_open", "corp,on,off", "error=parameters: <group>,on|off"},
	    {"/gvpn/group/fail_open", "corp,maybe", "error=state must be on or off"},
	    {"/gvpn/group/fail_open", "nope,on", "error=unknown group 'nope' (groups: corp, lab)"},
	    {"/gvpn/group/fail_open", "corp,on",
	     "error=a static group keeps its SAs: fail-open is for a group that lost its keys"},
	    {"/gvpn/group/register", NULL, "error=parameter: <group>"},
	    {"/gvpn/group/register", "corp", "error=group 'corp' has no key servers"},
	    {"/gvpn/group/register", "nope", "error=unknown group 'nope' (groups: corp, lab)"},
	    {"/gvpn/sa/clear", NULL, "error=parameter: <group>"},
	    {"/gvpn/sa/clear", "nope", "error=unknown group 'nope' (groups: corp, lab)"},
	    {"/gvpn/kek", "corp", "error=group 'corp' has no key servers (static keys)"},
	    {"/gvpn/kek", "nope", "error=unknown group 'nope' (groups: corp, lab)"},
	    {"/gvpn/ike", "lab", "error=group 'lab' has no key servers (static keys)"},
	    {"/gvpn/ike", "nope", "error=unknown group 'nope' (groups: corp, lab)"},
	    {"/gvpn/keyservers", "lab", "error=group 'lab' has no key servers (static keys)"},
	    {"/gvpn/keyservers", "nope", "error=unknown group 'nope' (groups: corp, lab)"},
	    {"/gvpn/policy", "nope", "error=unknown group 'nope' (groups: corp, lab)"},
	    {"/gvpn/policy", "1,corp", "error=parameters: [<group>][,<first rule>]"},
	    {"/gvpn/policy", "corp,lab", "error=parameters: [<group>][,<first rule>]"},
	    {"/gvpn/policy", "corp,1x", "error=parameters: [<group>][,<first rule>]"},
	    {"/gvpn/counters/clear", "all", "error=no parameters"},
	};
	static struct reply r;
	uint64_t req, merged;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		assert_int_equal(call(cases[i].cmd, cases[i].params, &r), 0);
		if (!has(&r, cases[i].error))
			fail_msg("%s %s: no '%s'", cases[i].cmd,
				 cases[i].params ? cases[i].params : "(none)", cases[i].error);
	}
	/* nothing was queued for the control core */
	for (uint8_t g = 0; g < 2; g++) {
		gvpn_telemetry_group_requests(g, &req, &merged);
		assert_int_equal(req, 0);
	}
}

/* /gvpn/groups and /gvpn/sa show the snapshot: states, algorithms, no keys. */
static void
test_groups_and_sas_show_the_snapshot_and_no_key(void **state)
{
	static struct reply r;

	(void)state;
	assert_int_equal(call("/gvpn/groups", NULL, &r), 0);
	assert_true(has(&r, "corp="));
	assert_true(has(&r, "lab="));
	assert_true(has(&r, "state=static"));
	assert_true(has(&r, "fail_open=off"));
	assert_int_equal(call("/gvpn/sa", NULL, &r), 0);
	assert_true(has(&r, "0x00001001="));
	assert_true(has(&r, "0x00002001="));
	assert_true(has(&r, "group=corp"));
	assert_true(has(&r, "cipher=aes-cbc-128"));
	assert_true(has(&r, "cipher=aes-gcm-128"));
	assert_true(has(&r, "auth=hmac-sha1-96"));
	assert_true(has(&r, "direction=inbound"));
	assert_true(has(&r, "state=active"));
	assert_int_equal(call("/gvpn/sa", "1", &r), 0); /* the second page starts at lab's */
	assert_false(has(&r, "0x00001001="));
	assert_true(has(&r, "0x00002001="));
	assert_int_equal(call("/gvpn/config", NULL, &r), 0);
	assert_true(has(&r, "last_result=none"));
	assert_int_equal(call("/gvpn/counters/clear", NULL, &r), 0);
	assert_true(has(&r, "result=cleared"));
	/* prefixes of each family as written; an address-less rule is either family's */
	assert_int_equal(call("/gvpn/policy", NULL, &r), 0);
	assert_true(has(&r, "src=2001:db8:1::/48"));
	assert_true(has(&r, "vlan=3001")); /* its VLAN, the others any */
	assert_true(has(&r, "vlan=0"));
	assert_true(has(&r, "dst=2001:db8:2:0:8000::/65"));
	assert_true(has(&r, "family=ipv6"));
	assert_true(has(&r, "src=any"));
	assert_true(has(&r, "family=any"));
	assert_true(has(&r, "src=192.0.2.0/24"));
	assert_true(has(&r, "family=ipv4"));
	assert_int_equal(call("/gvpn/policy", "corp", &r), 0);
	assert_true(has(&r, "kind=tek"));
	assert_true(has(&r, "group=corp"));
	assert_true(has(&r, "spis=0x00001001"));
	assert_false(has(&r, "group=lab"));
	/* static groups have no KEK and no phase 1: nothing to list */
	assert_int_equal(call("/gvpn/kek", NULL, &r), 0);
	assert_int_equal(r.n_strings, 0);
	assert_int_equal(call("/gvpn/ike", NULL, &r), 0);
	assert_int_equal(r.n_strings, 0);
	/* no reply holds a key, whole or in part */
	static const char *const cmds_shown[] = {"/gvpn/groups",  "/gvpn/sa",  "/gvpn/config",
						 "/gvpn/version", "/gvpn/kek", "/gvpn/ike",
						 "/gvpn/policy"};
	for (size_t c = 0; c < ARRAY_LEN(cmds_shown); c++) {
		assert_int_equal(call(cmds_shown[c], NULL, &r), 0);
		for (unsigned int i = 0; i < r.n_strings; i++)
			if (strstr(r.strings[i], "0a0b0c") != NULL ||
			    strstr(r.strings[i], "a8a9aa") != NULL ||
			    strstr(r.strings[i], "8899aabb") != NULL)
				fail_msg("%s shows a key: %s", cmds_shown[c], r.strings[i]);
	}
}

/* A snapshot a reader holds does not change; the next one has what changed. */
static void
test_a_held_snapshot_stays_as_it_was(void **state)
{
	const struct gvpn_ctrl_snapshot *a, *b;
	int g;

	(void)state;
	a = gvpn_ctrl_snapshot_get(ctrl);
	g = gvpn_ctrl_snapshot_group_find(a, "corp");
	assert_int_equal(g, 0);
	assert_int_equal(gvpn_ctrl_snapshot_group_find(a, "nope"), -ENOENT);
	assert_int_equal(a->group[g].fail_open, 0);
	assert_int_equal(gvpn_ctrl_group_fail(ctrl, (uint8_t)g, 1), 0);
	settle();
	b = gvpn_ctrl_snapshot_get(ctrl);
	assert_true(b->version > a->version);
	assert_int_equal(a->group[g].fail_open, 0);
	assert_int_equal(b->group[g].fail_open, 1);
	assert_int_equal(b->group[g].state, GVPN_GROUP_FAILED);
	gvpn_ctrl_snapshot_put(a);
	gvpn_ctrl_snapshot_put(b);
	/* nothing changed: nothing is published */
	b = gvpn_ctrl_snapshot_get(ctrl);
	assert_int_equal(gvpn_ctrl_publish(ctrl), 0);
	a = gvpn_ctrl_snapshot_get(ctrl);
	assert_ptr_equal(a, b);
	gvpn_ctrl_snapshot_put(a);
	gvpn_ctrl_snapshot_put(b);
	assert_int_equal(gvpn_ctrl_group_fail(ctrl, (uint8_t)g, 0), 0);
	settle();
}

/* Queued requests run on the control core and show in the next snapshot. */
static void
test_requests_are_queued_then_applied_by_the_control_core(void **state)
{
	static struct reply r;
	uint64_t req, merged;
	const struct gvpn_ctrl_snapshot *s;

	(void)state;
	assert_int_equal(gvpn_ctrl_group_fail(ctrl, 1, 1), 0); /* as a failed group would */
	settle();
	assert_int_equal(call("/gvpn/group/fail_open", "lab,off", &r), 0);
	assert_true(has(&r, "result=queued"));
	assert_int_equal(call("/gvpn/group/fail_open", "lab,off", &r), 0);
	gvpn_telemetry_group_requests(1, &req, &merged);
	assert_int_equal(req, 2);
	assert_int_equal(merged, 1);
	s = gvpn_ctrl_snapshot_get(ctrl);
	assert_int_equal(s->group[1].fail_open, 1);
	gvpn_ctrl_snapshot_put(s);
	rte_delay_ms(2);
	gvpn_telemetry_poll();
	settle();
	s = gvpn_ctrl_snapshot_get(ctrl);
	assert_int_equal(s->group[1].fail_open, 0); /* applied once */
	gvpn_ctrl_snapshot_put(s);
}

/* A UDP packet src -> dst:dport after an Ethernet header, as a port gives it. */
static struct rte_mbuf *
udp(uint32_t src, uint32_t dst, uint16_t dport)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = m != NULL ? (uint8_t *)rte_pktmbuf_append(m, 14 + 20 + 8 + 32) : NULL;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *u;

	if (p == NULL)
		abort();
	memset(p, 0, 14 + 20 + 8 + 32);
	p[12] = 0x08;
	ip = (struct rte_ipv4_hdr *)(p + 14);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(20 + 8 + 32);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	u = (struct rte_udp_hdr *)(ip + 1);
	u->src_port = rte_cpu_to_be_16(4000);
	u->dst_port = rte_cpu_to_be_16(dport);
	u->dgram_len = rte_cpu_to_be_16(8 + 32);
	m->l2_len = 14;
	return m;
}

/* @p n clear packets to UDP port @p dport, out through the worker. */
static void
send_out(uint16_t dport, unsigned int n)
{
	struct rte_mbuf *m[8];

	for (unsigned int i = 0; i < n; i++)
		m[i] = udp(IP4(192, 0, 2, 1), IP4(203, 0, 113, 9), dport);
	gvpn_worker_outbound(w, 0, m, (uint16_t)n);
}

/*
 * A bypass rule's hits and an SA's drops (a tampered packet: bad ICV) count
 * from zero after /gvpn/counters/clear; a reload that puts another rule at
 * the bypass rule's place counts it from zero, the baseline of the rule
 * before not subtracted from it.
 */
static void
test_rule_hits_and_sa_drops_count_from_a_clear(void **state)
{
	static const uint8_t key[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
					0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
	static const uint8_t auth_key[20] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
					     0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
					     0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3};
	struct gvpn_esp_sa_conf sc = {.spi = 0x1001, .ttl = 64};
	static struct reply r;
	struct gvpn_esp_sa_state st, *stp[2] = {&st, &st};
	struct gvpn_esp_lcore *peer;
	struct gvpn_esp_sa *sa;
	struct rte_mbuf *m[2];

	(void)state;
	send_out(848, 3);
	assert_int_equal(call("/gvpn/policy", NULL, &r), 0);
	assert_true(has(&r, "kind=bypass"));
	assert_true(has(&r, "hits=3"));

	/* ESP under corp's SA, the second packet tampered with */
	sc.xform.cipher = GVPN_CIPHER_AES_CBC;
	sc.xform.cipher_key_len = 16;
	memcpy(sc.xform.cipher_key, key, 16);
	sc.xform.auth = GVPN_AUTH_HMAC_SHA1_96;
	sc.xform.auth_key_len = 20;
	memcpy(sc.xform.auth_key, auth_key, 20);
	peer = gvpn_esp_lcore_create(&gvpn_crypto_openssl, SOCKET_ID_ANY, NULL);
	assert_non_null(peer);
	sa = gvpn_esp_sa_create(peer, &sc, SOCKET_ID_ANY);
	assert_non_null(sa);
	gvpn_esp_sa_state_init(&st, sa, peer);
	for (int i = 0; i < 2; i++)
		m[i] = udp(IP4(198, 51, 100, 7), IP4(192, 0, 2, 7), 7);
	assert_int_equal(gvpn_esp_encrypt_burst(peer, stp, m, 2), 2);
	rte_pktmbuf_mtod(m[1], uint8_t *)[m[1]->data_len - 1] ^= 0x01;
	gvpn_worker_inbound(w, 0, m, 2);
	assert_int_equal(call("/gvpn/sa", NULL, &r), 0);
	assert_true(has(&r, "drops="));
	assert_true(has(&r, "esp_bad_icv=1"));
	assert_true(has(&r, "decrypted_packets=1"));

	assert_int_equal(call("/gvpn/counters/clear", NULL, &r), 0);
	assert_int_equal(call("/gvpn/sa", NULL, &r), 0);
	assert_false(has(&r, "esp_bad_icv=1"));
	assert_true(has(&r, "drops="));
	send_out(848, 2);
	assert_int_equal(call("/gvpn/policy", NULL, &r), 0);
	assert_true(has(&r, "hits=2"));
	assert_false(has(&r, "hits=5"));

	/* another rule in the bypass rule's place: its own count, from zero */
	assert_int_equal(gvpn_ctrl_reload(ctrl, cfg, conf_b), 0);
	settle();
	assert_int_equal(call("/gvpn/policy", NULL, &r), 0);
	assert_true(has(&r, "dst_port=500"));
	assert_false(has(&r, "hits=2"));
	send_out(500, 4);
	assert_int_equal(call("/gvpn/policy", NULL, &r), 0);
	assert_true(has(&r, "hits=4"));
	assert_int_equal(gvpn_ctrl_reload(ctrl, cfg, conf_a), 0);
	settle();

	gvpn_esp_sa_free(sa);
	gvpn_esp_lcore_free(peer);
}

/* Telemetry clients under rekeys and reloads. */
#define READERS 4
#define STRESS_MS 2000	    /* at least */
#define STRESS_MAX_MS 35000 /* at most, under a sanitizer on a busy machine */
#define MIN_REKEYS 50
#define MIN_RELOADS 3
#define RELOAD_MS 300

static atomic_int stop;

struct reader {
	pthread_t t;
	uint64_t calls, snapshots, errors;
	char why[128];
};

static void *
reader_main(void *arg)
{
	static const struct {
		const char *cmd, *params;
	} mix[] = {
	    {"/gvpn/groups", NULL},
	    {"/gvpn/sa", NULL},
	    {"/gvpn/sa", "1"},
	    {"/gvpn/config", NULL},
	    {"/gvpn/version", NULL},
	    {"/gvpn/kek", NULL},
	    {"/gvpn/ike", "corp"},
	    {"/gvpn/keyservers", NULL},
	    {"/gvpn/policy", NULL},
	    {"/gvpn/policy", "lab,1"},
	    {"/gvpn/counters/clear", NULL},
	    {"/gvpn/lcores", NULL},
	    {"/gvpn/ports", NULL},
	    {"/gvpn/flows", NULL},
	    {"/gvpn/group/fail_open", "corp,on"},
	    {"/gvpn/sa/clear", "lab"},
	    {"/gvpn/group/fail_open", "corp,off"},
	    {"/gvpn/group/register", "lab"},
	    {"/gvpn/group/fail_open", "nope,on"},
	};
	struct reader *rd = arg;
	struct reply *r = calloc(1, sizeof(*r));
	uint64_t last = 0;

	cpu_set_t all;

	if (r == NULL)
		abort();
	/* off the control core's CPU, as DPDK's telemetry threads are */
	CPU_ZERO(&all);
	for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; c++)
		CPU_SET((int)c, &all);
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	for (unsigned int i = 0; !atomic_load(&stop); i++) {
		const struct gvpn_ctrl_snapshot *s;
		unsigned int n = 0;

		if (call(mix[i % ARRAY_LEN(mix)].cmd, mix[i % ARRAY_LEN(mix)].params, r) != 0)
			rd->errors++;
		rd->calls++;
		/* one snapshot is whole: its groups count its SAs */
		s = gvpn_ctrl_snapshot_get(ctrl);
		for (unsigned int g = 0; g < s->n_groups; g++)
			n += s->group[g].n_sas;
		if (s->version < last || n > s->n_sas || s->n_groups != 2) {
			snprintf(rd->why, sizeof(rd->why),
				 "version %" PRIu64 " after %" PRIu64 ", %u SAs in groups of %u",
				 s->version, last, n, s->n_sas);
			rd->errors++;
		}
		last = s->version;
		rd->snapshots++;
		gvpn_ctrl_snapshot_put(s);
		if (i % 8 == 0)
			usleep(10); /* a client's round trip, now and then: the CPUs are shared */
	}
	free(r);
	return NULL;
}

static void
test_clients_read_while_the_control_core_rekeys_and_reloads(void **state)
{
	struct gvpn_selector sel = {
	    .src = {0x0a000000, 8}, .dst = {0x0b000000, 8}, .sport_hi = 65535, .dport_hi = 65535};
	struct reader rd[READERS];
	uint64_t start, give_up, next_reload = 0, end, rekeys = 0, reloads = 0, v0, v1;
	int tek, active = -1;
	uint32_t spi = 0x5000;
	const struct gvpn_ctrl_snapshot *s;

	(void)state;
	tek = gvpn_ctrl_tek_add(ctrl, 0, &sel, 1);
	assert_true(tek >= 0);
	assert_int_equal(gvpn_ctrl_policy_update(ctrl), 0);
	settle();
	s = gvpn_ctrl_snapshot_get(ctrl);
	v0 = s->version;
	gvpn_ctrl_snapshot_put(s);
	memset(rd, 0, sizeof(rd));
	atomic_store(&stop, 0);
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&rd[i].t, NULL, reader_main, &rd[i]), 0);
	start = rte_get_tsc_cycles();
	end = start + rte_get_tsc_hz() / 1000 * STRESS_MS;
	give_up = start + rte_get_tsc_hz() / 1000 * STRESS_MAX_MS;
	while (rte_get_tsc_cycles() < give_up &&
	       (rte_get_tsc_cycles() < end || rekeys < MIN_REKEYS || reloads < MIN_RELOADS)) {
		struct gvpn_ctrl_sa_params p = {.group = 0, .tek = (uint16_t)tek};
		int slot;

		/* a rekey: the new SA decrypts, encrypts, the old one retires, goes */
		p.esp.spi = ++spi;
		p.esp.ttl = 64;
		p.esp.xform.cipher = GVPN_CIPHER_AES_GCM;
		p.esp.xform.cipher_key_len = 20;
		memset(p.esp.xform.cipher_key, (int)spi, 20);
		slot = gvpn_ctrl_sa_add(ctrl, &p);
		assert_true(slot >= 0);
		assert_int_equal(gvpn_ctrl_sa_activate(ctrl, (uint16_t)slot), 0);
		if (active >= 0) {
			gvpn_ctrl_sa_retire(ctrl, (uint16_t)active); /* may be gone: a clear */
			gvpn_ctrl_sa_delete(ctrl, (uint16_t)active);
		}
		active = slot;
		rekeys++;
		if (rekeys % 64 == 0) { /* now and then, every SA of the group at once */
			gvpn_ctrl_group_clear(ctrl, 0);
			active = -1;
		}
		if (rte_get_tsc_cycles() >= next_reload) { /* a reload builds two rule tables */
			int rc = gvpn_ctrl_reload(ctrl, cfg, reloads % 2 ? conf_a : conf_b);

			assert_int_equal(rc, 0);
			reloads++;
			next_reload = rte_get_tsc_cycles() + rte_get_tsc_hz() / 1000 * RELOAD_MS;
		}
		for (int i = 0; i < 8; i++) {
			gvpn_worker_poll(w);
			gvpn_ctrl_poll(ctrl);
		}
		gvpn_telemetry_poll();
		while (gvpn_ctrl_pending(ctrl) > 64) {
			gvpn_worker_poll(w);
			gvpn_ctrl_poll(ctrl);
		}
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_join(rd[i].t, NULL), 0);
	settle();
	s = gvpn_ctrl_snapshot_get(ctrl);
	v1 = s->version;
	gvpn_ctrl_snapshot_put(s);
	print_message("# %" PRIu64 " ms: %" PRIu64 " rekeys, %" PRIu64 " reloads, %" PRIu64
		      " snapshots published; per client: calls/snapshots read",
		      (rte_get_tsc_cycles() - start) / (rte_get_tsc_hz() / 1000), rekeys, reloads,
		      v1 - v0);
	for (int i = 0; i < READERS; i++) {
		print_message(" %" PRIu64 "/%" PRIu64, rd[i].calls, rd[i].snapshots);
		if (rd[i].errors != 0)
			fail_msg("client %d: %" PRIu64 " errors: %s", i, rd[i].errors, rd[i].why);
		assert_true(rd[i].calls > 10);
	}
	print_message("\n");
	assert_true(rekeys >= MIN_REKEYS && reloads >= MIN_RELOADS);
	assert_true(v1 - v0 > 5);
	/* a storm of changes costs a snapshot per period, not one per change */
	assert_true(v1 - v0 < rekeys * 4);
}

int
main(int argc, char **argv)
{
	char *eal[] = {argv[0],
		       "--no-huge",
		       "--no-pci",
		       "--no-shconf",
		       "-l",
		       "0",
		       "-m",
		       "256",
		       "--no-telemetry",
		       "--log-level=*:error",
		       "--vdev",
		       "net_null0,no-rx=1",
		       "--vdev",
		       "net_null1,no-rx=1",
		       "--file-prefix",
		       "test_telemetry"};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_parameters_are_refused_with_a_reason),
	    cmocka_unit_test(test_groups_and_sas_show_the_snapshot_and_no_key),
	    cmocka_unit_test(test_a_held_snapshot_stays_as_it_was),
	    cmocka_unit_test(test_requests_are_queued_then_applied_by_the_control_core),
	    cmocka_unit_test(test_rule_hits_and_sa_drops_count_from_a_clear),
	    cmocka_unit_test(test_clients_read_while_the_control_core_rekeys_and_reloads),
	};
	int rc;

	(void)argc;
	if (rte_eal_init((int)ARRAY_LEN(eal), eal) < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, setup, teardown);
	rte_eal_cleanup();
	return rc;
}
