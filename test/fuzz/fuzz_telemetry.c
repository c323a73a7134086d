/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the telemetry commands' parameters: each /gvpn/
 * command's handler is called with the fuzzer's parameter string and a
 * real rte_tel_data, as DPDK's telemetry thread calls it, against a real
 * control core and worker (net_null ports) with two static groups; the
 * requests it queues are then run as the control core runs them.
 * The handlers are taken from the registration: the link wraps
 * rte_telemetry_register_cmd() (-Wl,--wrap), so no socket is needed.
 * Input: byte 0 picks the command (modulo their number); no further bytes
 * means no parameter, else the rest up to a NUL is the parameter string.
 *
 * DPDK's telemetry thread frees a reply's containers after writing it; here
 * the link also wraps rte_tel_data_add_dict_container() to note them, and
 * they are freed after each call. No leak checks: LeakSanitizer does not
 * scan DPDK's heap, where the control core's and worker's allocations are
 * referenced from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "fuzz_dp.h"
#include "gvpn_telemetry.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __wrap_rte_telemetry_register_cmd(const char *cmd, telemetry_cb fn, const char *help);
const char *__lsan_default_options(void);
int __real_rte_tel_data_add_dict_container(struct rte_tel_data *d, const char *name,
					   struct rte_tel_data *val, int keep);
int __wrap_rte_tel_data_add_dict_container(struct rte_tel_data *d, const char *name,
					   struct rte_tel_data *val, int keep);

#define MAX_CONTAINERS 1024
static struct rte_tel_data *containers[MAX_CONTAINERS];
static unsigned int n_containers;

int
__wrap_rte_tel_data_add_dict_container(struct rte_tel_data *d, const char *name,
				       struct rte_tel_data *val, int keep)
{
	int rc = __real_rte_tel_data_add_dict_container(d, name, val, keep);

	if (rc == 0 && !keep) {
		if (n_containers == MAX_CONTAINERS)
			abort();
		containers[n_containers++] = val;
	}
	return rc;
}

const char *
__lsan_default_options(void)
{
	return "detect_leaks=0";
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
	(void)help;
	if (n_cmds == MAX_CMDS)
		return -ENOSPC;
	cmds[n_cmds].name = cmd;
	cmds[n_cmds++].fn = fn;
	return 0;
}

static struct fz_dp dp;
static struct gvpn_config cfg;
static const unsigned int lcores[1] = {1};
static const uint16_t port_ids[2] = {0, 1};

static void
cleanup(void)
{
	gvpn_telemetry_fini();
	fz_dp_stop(&dp);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gvpn_selector sel = {
	    .src = {0xc0000200, 24}, .dst = {0xc6336400, 24}, .sport_hi = 65535, .dport_hi = 65535};
	struct gvpn_telemetry_conf tc = {.cfg = &cfg,
					 .workers = &dp.w,
					 .worker_lcores = lcores,
					 .n_workers = 1,
					 .port_ids = port_ids};

	(void)argc;
	cfg.n_groups = 2;
	strcpy(cfg.groups[0].name, "corp");
	cfg.groups[0].id = 1001;
	cfg.groups[0].n_fail_open = 1;
	cfg.groups[0].fail_open[0] = sel;
	strcpy(cfg.groups[1].name, "lab");
	cfg.groups[1].id = 1002;
	cfg.flows = 1024;
	fz_dp_start(&dp, (*argv)[0], 2047, &cfg);
	fz_dp_add_sa(&dp, 0, 0x1001, &sel);
	fz_dp_add_sa(&dp, 1, 0x2001, &sel);
	if (gvpn_ctrl_policy_update(dp.ctrl) != 0)
		abort();
	fz_dp_settle(&dp);
	tc.ctrl = dp.ctrl;
	if (gvpn_telemetry_init(&tc) != 0 || n_cmds == 0)
		abort();
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char params[4096];
	struct rte_tel_data *d;
	size_t n;

	if (size < 1)
		return 0;
	n = size - 1 < sizeof(params) - 1 ? size - 1 : sizeof(params) - 1;
	memcpy(params, data + 1, n);
	params[n] = '\0';
	d = rte_tel_data_alloc();
	if (d == NULL)
		abort();
	cmds[data[0] % n_cmds].fn(cmds[data[0] % n_cmds].name, size > 1 ? params : NULL, d);
	rte_tel_data_free(d);
	while (n_containers > 0)
		rte_tel_data_free(containers[--n_containers]);
	gvpn_telemetry_poll();
	fz_dp_settle(&dp);
	return 0;
}
