/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control core as a library, with a fake worker: the link wraps
 * gvpn_worker_post() and gvpn_worker_acks() (-Wl,--wrap), so each test sees
 * the messages the control core sends, in order, acks them when it chooses,
 * with the result it chooses, or refuses them as a full ring would. The
 * control core's state is read as telemetry reads it, from its snapshot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "test_util.h"
#include "gvpn_ctrl.h"

int __wrap_gvpn_worker_post(struct gvpn_worker *w, struct gvpn_msg *m);
unsigned int __wrap_gvpn_worker_acks(struct gvpn_worker *w, struct gvpn_msg *m[], unsigned int n);

#define INBOX 1024
static struct gvpn_msg *inbox[INBOX], *acked[INBOX];
static unsigned int n_inbox, n_acked;
static int ring_full;

int
__wrap_gvpn_worker_post(struct gvpn_worker *w, struct gvpn_msg *m)
{
	(void)w;
	if (ring_full || n_inbox == INBOX)
		return -ENOBUFS;
	inbox[n_inbox++] = m;
	return 0;
}

unsigned int
__wrap_gvpn_worker_acks(struct gvpn_worker *w, struct gvpn_msg *m[], unsigned int n)
{
	unsigned int k = n < n_acked ? n : n_acked;

	(void)w;
	memcpy(m, acked, k * sizeof(m[0]));
	memmove(acked, acked + k, (n_acked - k) * sizeof(acked[0]));
	n_acked -= k;
	return k;
}

/* The worker applies what waits in its inbox: ack it with @p result. */
static void
worker_apply(int32_t result)
{
	for (unsigned int i = 0; i < n_inbox; i++) {
		inbox[i]->result = result;
		acked[n_acked++] = inbox[i];
	}
	n_inbox = 0;
}

static struct gvpn_config cfg;
static struct gvpn_worker *fake_worker = (struct gvpn_worker *)&cfg; /* never dereferenced */

static const struct gvpn_selector sel = {
    .src = {0xc0000200, 24}, .dst = {0xc6336400, 24}, .sport_hi = 65535, .dport_hi = 65535};

static struct gvpn_ctrl *
ctrl_with_a_static_group(void)
{
	struct gvpn_ctrl_conf cc = {
	    .cfg = &cfg, .workers = &fake_worker, .n_workers = 1, .backend = &gvpn_crypto_ipsecmb};
	struct gvpn_sa_conf *s;
	struct gvpn_ctrl *c;

	memset(&cfg, 0, sizeof(cfg));
	cfg.n_groups = 1;
	strcpy(cfg.groups[0].name, "corp");
	cfg.groups[0].id = 1001;
	cfg.groups[0].n_fail_open = 1;
	cfg.groups[0].fail_open[0] = sel;
	cfg.groups[0].n_sas = 1;
	s = &cfg.groups[0].sas[0];
	s->spi = 0x1001;
	s->sel = sel;
	s->mirror = 1;
	s->xform.cipher = GVPN_CIPHER_AES_GCM;
	s->xform.cipher_key_len = 20;
	memset(s->xform.cipher_key, 0x11, 20);
	strcpy(cfg.file, "/nonexistent/gvpnd.conf");
	n_inbox = n_acked = 0;
	ring_full = 0;
	c = gvpn_ctrl_create(&cc);
	assert_non_null(c);
	return c;
}

/* Every message acked and the snapshot published. */
static void
settle(struct gvpn_ctrl *c)
{
	worker_apply(0);
	gvpn_ctrl_poll(c);
	assert_int_equal(gvpn_ctrl_pending(c), 0);
	assert_int_equal(gvpn_ctrl_publish(c), 0);
}

static int
sa_add(struct gvpn_ctrl *c, uint16_t tek, uint32_t spi)
{
	struct gvpn_ctrl_sa_params p = {.group = 0, .tek = tek};

	p.esp.spi = spi;
	p.esp.ttl = 64;
	p.esp.xform.cipher = GVPN_CIPHER_AES_GCM;
	p.esp.xform.cipher_key_len = 20;
	memset(p.esp.xform.cipher_key, (int)spi, 20);
	return gvpn_ctrl_sa_add(c, &p);
}

/* The state of the SA with @p spi in the snapshot, or -1 when absent. */
static int
sa_state(struct gvpn_ctrl *c, uint32_t spi)
{
	const struct gvpn_ctrl_snapshot *s = gvpn_ctrl_snapshot_get(c);
	int st = -1;

	for (unsigned int i = 0; i < s->n_sas; i++)
		if (s->sa[i].spi == spi)
			st = (int)s->sa[i].state;
	gvpn_ctrl_snapshot_put(s);
	return st;
}

static void
test_calls_on_what_does_not_exist_are_refused(void **state)
{
	struct gvpn_ctrl *c = ctrl_with_a_static_group();
	struct gvpn_worker *none[GVPN_CTRL_MAX_WORKERS + 1] = {NULL};
	struct gvpn_ctrl_conf cc = {.cfg = &cfg,
				    .workers = none,
				    .n_workers = GVPN_CTRL_MAX_WORKERS + 1,
				    .backend = &gvpn_crypto_ipsecmb};
	int tek;

	(void)state;
	rte_errno = 0;
	assert_null(gvpn_ctrl_create(&cc));
	assert_int_equal(rte_errno, E2BIG);
	assert_int_equal(gvpn_ctrl_sa_activate(c, 0), -ENOENT);
	assert_int_equal(gvpn_ctrl_sa_retire(c, 0), -ENOENT);
	assert_int_equal(gvpn_ctrl_sa_delete(c, 0), -ENOENT);
	assert_int_equal(gvpn_ctrl_sa_delete(c, UINT16_MAX), -ENOENT);
	assert_int_equal(sa_add(c, 0, 0x2001), -EINVAL); /* no such TEK */
	assert_int_equal(gvpn_ctrl_group_fail(c, 1, 1), -ENOENT);
	assert_int_equal(gvpn_ctrl_group_register(c, 0), -ENOENT); /* no key servers */
	tek = gvpn_ctrl_tek_add(c, 0, &sel, 1);
	assert_true(tek >= 0);
	assert_true(sa_add(c, (uint16_t)tek, 0x2001) >= 0);
	assert_int_equal(sa_add(c, (uint16_t)tek, 0x2001), -EEXIST);
	assert_int_equal(n_inbox, 1); /* the refusals sent nothing */
	settle(c);
	gvpn_ctrl_free(c);
}

static void
test_static_group_sends_add_activate_then_the_rule_table(void **state)
{
	struct gvpn_ctrl *c = ctrl_with_a_static_group();
	const struct gvpn_ctrl_snapshot *s;

	(void)state;
	assert_int_equal(gvpn_ctrl_load_static(c), 0);
	assert_int_equal(n_inbox, 3);
	assert_int_equal(inbox[0]->type, GVPN_MSG_SA_ADD);
	assert_int_equal(inbox[1]->type, GVPN_MSG_SA_ACTIVATE);
	assert_int_equal(inbox[2]->type, GVPN_MSG_POLICY_SWAP);
	assert_int_equal(rte_be_to_cpu_32(inbox[0]->sa->esp->spi), 0x1001);
	assert_int_equal(gvpn_ctrl_pending(c), 3);
	settle(c);
	s = gvpn_ctrl_snapshot_get(c);
	assert_int_equal(s->n_groups, 1);
	assert_string_equal(s->group[0].name, "corp");
	assert_int_equal(s->group[0].state, GVPN_GROUP_STATIC);
	assert_int_equal(s->group[0].n_sas, 1);
	assert_int_equal(s->n_sas, 1);
	assert_int_equal(s->sa[0].state, GVPN_SA_ACTIVE);
	assert_int_equal(s->sa[0].key_bits, 128);
	assert_int_equal(s->sa[0].expires, 0);
	gvpn_ctrl_snapshot_put(s);
	gvpn_ctrl_free(c);
}

/* The SA with @p spi waits for a Sender-ID (snapshot), or -1 when absent. */
static int
sa_waits_for_sid(struct gvpn_ctrl *c, uint32_t spi)
{
	const struct gvpn_ctrl_snapshot *s = gvpn_ctrl_snapshot_get(c);
	int w = -1;

	for (unsigned int i = 0; i < s->n_sas; i++)
		if (s->sa[i].spi == spi)
			w = s->sa[i].wait_sid;
	gvpn_ctrl_snapshot_put(s);
	return w;
}

/*
 * RFC 6054: once the key protocol manages the group's Sender-IDs, a GCM SA
 * does not encrypt without one (it decrypts and waits), and its activation
 * carries the Sender-ID to the workers. Static SAs carry none.
 */
static void
test_counter_mode_sa_waits_for_a_sender_id(void **state)
{
	struct gvpn_ctrl *c = ctrl_with_a_static_group();
	const struct gvpn_ctrl_snapshot *s;
	int slot;

	(void)state;
	assert_int_equal(gvpn_ctrl_load_static(c), 0);
	assert_int_equal(inbox[1]->type, GVPN_MSG_SA_ACTIVATE);
	assert_int_equal(inbox[1]->sid_bits, 0); /* static: a random start */
	settle(c);
	assert_int_equal(gvpn_ctrl_group_sender_id(c, 0, 0, 0), 0); /* managed, none yet */
	slot = sa_add(c, 0, 0x1002);
	assert_true(slot >= 0);
	assert_int_equal(gvpn_ctrl_sa_activate(c, (uint16_t)slot), -ENOKEY);
	assert_int_equal(n_inbox, 1); /* the add alone */
	settle(c);
	assert_int_equal(sa_state(c, 0x1002), GVPN_SA_DECRYPT);
	assert_int_equal(sa_waits_for_sid(c, 0x1002), 1);
	assert_int_equal(sa_state(c, 0x1001), GVPN_SA_ACTIVE);
	/* a Sender-ID that does not fit its bits is refused: still none */
	assert_int_equal(gvpn_ctrl_group_sender_id(c, 0, 8, 256), -EINVAL);
	/* one that fits: the waiting SA is activated at the next check */
	assert_int_equal(gvpn_ctrl_group_sender_id(c, 0, 16, 0x1234), 0);
	for (int i = 0; i < 100 && n_inbox == 0; i++) {
		gvpn_ctrl_poll(c);
		usleep(10000);
	}
	assert_int_equal(n_inbox, 1);
	assert_int_equal(inbox[0]->type, GVPN_MSG_SA_ACTIVATE);
	assert_int_equal(inbox[0]->sid_bits, 16);
	assert_int_equal(inbox[0]->sid, 0x1234);
	settle(c);
	assert_int_equal(sa_state(c, 0x1002), GVPN_SA_ACTIVE);
	assert_int_equal(sa_waits_for_sid(c, 0x1002), 0);
	assert_int_equal(sa_state(c, 0x1001), GVPN_SA_RETIRED);
	s = gvpn_ctrl_snapshot_get(c);
	assert_int_equal(s->group[0].sid_bits, 16);
	assert_int_equal(s->group[0].sid, 0x1234);
	gvpn_ctrl_snapshot_put(s);
	gvpn_ctrl_free(c);
}

static void
test_rekey_retires_the_old_sa_and_frees_it_after_the_ack(void **state)
{
	struct gvpn_ctrl *c = ctrl_with_a_static_group();
	int slot;

	(void)state;
	assert_int_equal(gvpn_ctrl_load_static(c), 0);
	settle(c);
	slot = sa_add(c, 0, 0x1002); /* load_static gave the TEK index 0 */
	assert_true(slot >= 0);
	assert_int_equal(gvpn_ctrl_sa_activate(c, (uint16_t)slot), 0);
	settle(c);
	assert_int_equal(sa_state(c, 0x1002), GVPN_SA_ACTIVE);
	assert_int_equal(sa_state(c, 0x1001), GVPN_SA_RETIRED);
	assert_int_equal(gvpn_ctrl_sa_delete(c, 0), 0);
	assert_int_equal(inbox[n_inbox - 1]->type, GVPN_MSG_SA_DELETE);
	gvpn_ctrl_poll(c);
	assert_int_equal(gvpn_ctrl_publish(c), 0);
	assert_int_equal(sa_state(c, 0x1001), GVPN_SA_DELETING); /* until the worker lets go */
	assert_int_equal(gvpn_ctrl_sa_delete(c, 0), -ENOENT);
	settle(c);
	assert_int_equal(sa_state(c, 0x1001), -1);
	assert_int_equal(gvpn_ctrl_sa_retire(c, (uint16_t)slot), 0);
	settle(c);
	assert_int_equal(sa_state(c, 0x1002), GVPN_SA_RETIRED);
	assert_int_equal(gvpn_ctrl_group_clear(c, 0), 1);
	settle(c);
	assert_int_equal(sa_state(c, 0x1002), -1);
	gvpn_ctrl_free(c);
}

static void
test_a_full_worker_ring_keeps_messages_in_order(void **state)
{
	struct gvpn_ctrl *c = ctrl_with_a_static_group();

	(void)state;
	ring_full = 1;
	assert_int_equal(gvpn_ctrl_load_static(c), 0);
	assert_int_equal(n_inbox, 0);
	assert_int_equal(gvpn_ctrl_pending(c), 3);
	ring_full = 0;
	assert_int_equal(gvpn_ctrl_group_fail(c, 0, 1), 0); /* behind the backlog */
	assert_int_equal(n_inbox, 0);
	gvpn_ctrl_poll(c);
	assert_int_equal(n_inbox, 4);
	assert_int_equal(inbox[0]->type, GVPN_MSG_SA_ADD);
	assert_int_equal(inbox[1]->type, GVPN_MSG_SA_ACTIVATE);
	assert_int_equal(inbox[2]->type, GVPN_MSG_POLICY_SWAP);
	assert_int_equal(inbox[3]->type, GVPN_MSG_FAIL_OPEN);
	settle(c);
	gvpn_ctrl_free(c);
}

static void
test_an_sa_the_worker_cannot_index_is_counted_for_its_group(void **state)
{
	struct gvpn_ctrl *c = ctrl_with_a_static_group();
	const struct gvpn_ctrl_snapshot *s;

	(void)state;
	assert_int_equal(gvpn_ctrl_load_static(c), 0);
	worker_apply(-ENOSPC);
	gvpn_ctrl_poll(c);
	assert_int_equal(gvpn_ctrl_publish(c), 0);
	s = gvpn_ctrl_snapshot_get(c);
	assert_int_equal(s->group[0].sa_install_failures, 1);
	assert_int_equal(s->group[0].n_sas, 1); /* the SA lives: the other workers have it */
	gvpn_ctrl_snapshot_put(s);
	gvpn_ctrl_free(c);
}

static void
test_fail_open_shows_in_the_group_state(void **state)
{
	struct gvpn_ctrl *c = ctrl_with_a_static_group();
	const struct gvpn_ctrl_snapshot *s;

	(void)state;
	assert_int_equal(gvpn_ctrl_load_static(c), 0);
	settle(c);
	assert_int_equal(gvpn_ctrl_group_fail(c, 0, 1), 0);
	assert_int_equal(inbox[0]->type, GVPN_MSG_FAIL_OPEN);
	assert_int_equal(inbox[0]->arg, 1);
	settle(c);
	s = gvpn_ctrl_snapshot_get(c);
	assert_int_equal(s->group[0].state, GVPN_GROUP_FAILED);
	assert_int_equal(s->group[0].fail_open, 1);
	gvpn_ctrl_snapshot_put(s);
	assert_int_equal(gvpn_ctrl_group_fail(c, 0, 0), 0);
	settle(c);
	s = gvpn_ctrl_snapshot_get(c);
	assert_int_equal(s->group[0].state, GVPN_GROUP_STATIC);
	gvpn_ctrl_snapshot_put(s);
	gvpn_ctrl_free(c);
}

/* Reloads refused before anything changes: the reason is recorded. */
static void
test_refused_reloads_change_nothing_and_say_why(void **state)
{
	static const char ports[] =
	    "ports = ( { name = \"a\"; role = \"clear\"; device = \"net_null0\"; peer = \"b\"; },\n"
	    "          { name = \"b\"; role = \"protected\"; device = \"net_null1\"; } );\n"
	    "groups = ( { name = \"corp\"; id = 1001; sas = ( { spi = 0x1001; "
	    "src = \"192.0.2.0/24\"; dst = \"198.51.100.0/24\"; cipher = \"aes-gcm\"; "
	    "key = \"1111111111111111111111111111111111111111\"; } ); } );\n";
	static const struct {
		const char *text; /* NULL: no file */
		int rc;
		const char *error; /* the start of last_error */
	} cases[] = {
	    {NULL, -ENOENT, ""},
	    {"ports = (;\n", -EINVAL, "line 1"},
	    {ports, -EPERM, "ports needs a restart"},
	};
	static struct gvpn_config other;
	struct gvpn_ctrl *c = ctrl_with_a_static_group();
	char path[] = "/tmp/test_ctrl_XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(gvpn_ctrl_load_static(c), 0);
	settle(c);
	assert_int_equal(gvpn_ctrl_reload(c, &other, path), -EINVAL); /* not the live one */
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct gvpn_ctrl_snapshot *s;
		const char *p = cases[i].text != NULL ? path : "/nonexistent/gvpn.conf";
		FILE *f;

		if (cases[i].text != NULL) {
			f = fopen(path, "w");
			assert_non_null(f);
			fputs(cases[i].text, f);
			fclose(f);
		}
		assert_int_equal(gvpn_ctrl_reload(c, &cfg, p), cases[i].rc);
		assert_int_equal(n_inbox, 0); /* nothing sent to the worker */
		gvpn_ctrl_poll(c);
		assert_int_equal(gvpn_ctrl_publish(c), 0);
		s = gvpn_ctrl_snapshot_get(c);
		assert_string_equal(s->config.last_result, "refused");
		assert_int_equal(s->config.refused, i + 1);
		assert_int_equal(s->config.reloads, 0);
		if (strncmp(s->config.last_error, cases[i].error, strlen(cases[i].error)) != 0)
			fail_msg("case %zu: last_error '%s'", i, s->config.last_error);
		assert_int_equal(s->n_sas, 1);
		assert_int_equal(s->group[0].state, GVPN_GROUP_STATIC);
		gvpn_ctrl_snapshot_put(s);
	}
	unlink(path);
	gvpn_ctrl_free(c);
}

/* gvpnd's file: group corp (key server 127.0.0.1:@p port, silent) in slot 0
 * under @p name, with @p psk. */
static void
write_ks_conf(const char *path, const char *name, uint16_t port, const char *psk)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f,
		"ports = ( { name = \"a\"; role = \"clear\"; device = \"net_null0\"; "
		"peer = \"b\"; },\n"
		"          { name = \"b\"; role = \"protected\"; device = \"net_null1\"; } );\n"
		"groups = ( { name = \"%s\"; id = 1001; key_servers = ( \"127.0.0.1:%u\" );\n"
		"  local_address = \"127.0.0.1\"; psk = \"%s\"; retry_interval = 1; "
		"retries = 1; } );\n",
		name, port, psk);
	fclose(f);
}

/* Polls (the fake worker acking everything) until group 0 has failed
 * @p failures times or more; its snapshot then. */
static const struct gvpn_ctrl_snapshot *
until_failures(struct gvpn_ctrl *c, uint64_t failures)
{
	for (int i = 0; i < 500; i++) {
		const struct gvpn_ctrl_snapshot *s;

		worker_apply(0);
		gvpn_ctrl_poll(c);
		assert_int_equal(gvpn_ctrl_publish(c), 0);
		s = gvpn_ctrl_snapshot_get(c);
		if (s->group[0].failures >= failures)
			return s;
		gvpn_ctrl_snapshot_put(s);
		usleep(10000);
	}
	fail_msg("group 0 did not fail %" PRIu64 " times", failures);
	return NULL;
}

/* A reload that gives a key-server group a new client (its PSK changed)
 * keeps its counts; a group that takes the slot under another name starts
 * from zero. Its key servers' status is the new client's. */
static void
test_a_reload_that_renews_a_client_keeps_the_groups_counts(void **state)
{
	struct gvpn_ctrl_conf cc = {
	    .cfg = &cfg, .workers = &fake_worker, .n_workers = 1, .backend = &gvpn_crypto_ipsecmb};
	struct sockaddr_in ks = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	const struct gvpn_ctrl_snapshot *s;
	char path[] = "/tmp/test_ctrl_XXXXXX", err[256];
	int fd = mkstemp(path), ksfd = socket(AF_INET, SOCK_DGRAM, 0);
	struct gvpn_ctrl *c;
	uint64_t before;
	uint16_t port;

	(void)state;
	assert_true(fd >= 0 && ksfd >= 0);
	close(fd);
	assert_int_equal(bind(ksfd, (struct sockaddr *)&ks, sizeof(ks)), 0);
	assert_int_equal(getsockname(ksfd, (struct sockaddr *)&ks, &(socklen_t){sizeof(ks)}), 0);
	port = ntohs(ks.sin_port);
	write_ks_conf(path, "corp", port, "first-pre-shared-key-0123456789");
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(gvpn_config_load(path, &cfg, err, sizeof(err)), 0);
	n_inbox = n_acked = 0;
	ring_full = 0;
	c = gvpn_ctrl_create(&cc);
	assert_non_null(c);
	assert_int_equal(gvpn_ctrl_load_static(c), 0);
	assert_int_equal(gvpn_ctrl_gdoi_start(c), 0);
	s = until_failures(c, 1);
	before = s->group[0].failures;
	assert_int_equal(s->group[0].n_servers, 1);
	assert_int_equal(s->group[0].servers[0].failures, before);
	assert_true(s->group[0].servers[0].failed_at != 0);
	assert_int_equal(s->group[0].local_bound, 1);
	assert_int_equal(strncmp(s->group[0].local_address, "127.0.0.1:", 10), 0);
	gvpn_ctrl_snapshot_put(s);

	write_ks_conf(path, "corp", port, "second-pre-shared-key-0123456789");
	assert_int_equal(gvpn_ctrl_reload(c, &cfg, path), 0);
	settle(c);
	s = gvpn_ctrl_snapshot_get(c);
	assert_int_equal(s->config.reregistered, 1);
	assert_true(s->group[0].failures >= before);	      /* carried over */
	assert_int_equal(s->group[0].servers[0].failures, 0); /* a new client's record */
	gvpn_ctrl_snapshot_put(s);
	s = until_failures(c, before + 1); /* and counting on from there */
	assert_int_equal(s->group[0].servers[0].failures, s->group[0].failures - before);
	before = s->group[0].failures;
	gvpn_ctrl_snapshot_put(s);

	write_ks_conf(path, "other", port, "second-pre-shared-key-0123456789");
	assert_int_equal(gvpn_ctrl_reload(c, &cfg, path), 0);
	settle(c);
	s = gvpn_ctrl_snapshot_get(c);
	assert_string_equal(s->group[0].name, "other");
	assert_true(s->group[0].failures < before); /* not corp's */
	gvpn_ctrl_snapshot_put(s);
	gvpn_ctrl_free(c);
	close(ksfd);
	unlink(path);
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
		       "128",
		       "--no-telemetry",
		       "--log-level=*:critical",
		       "--file-prefix",
		       "test_ctrl"};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_calls_on_what_does_not_exist_are_refused),
	    cmocka_unit_test(test_refused_reloads_change_nothing_and_say_why),
	    cmocka_unit_test(test_static_group_sends_add_activate_then_the_rule_table),
	    cmocka_unit_test(test_rekey_retires_the_old_sa_and_frees_it_after_the_ack),
	    cmocka_unit_test(test_counter_mode_sa_waits_for_a_sender_id),
	    cmocka_unit_test(test_a_full_worker_ring_keeps_messages_in_order),
	    cmocka_unit_test(test_an_sa_the_worker_cannot_index_is_counted_for_its_group),
	    cmocka_unit_test(test_fail_open_shows_in_the_group_state),
	    cmocka_unit_test(test_a_reload_that_renews_a_client_keeps_the_groups_counts),
	};
	int rc;

	(void)argc;
	if (rte_eal_init((int)ARRAY_LEN(eal), eal) < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
