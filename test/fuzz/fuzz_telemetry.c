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

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_telemetry.h>

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

static struct rte_mempool *pool;
static struct gvpn_worker *w;
static struct gvpn_ctrl *ctrl;
static struct gvpn_config cfg;
static const unsigned int lcores[1] = {1};
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

static void
settle(void)
{
	while (gvpn_ctrl_pending(ctrl) != 0) {
		gvpn_worker_poll(w);
		gvpn_ctrl_poll(ctrl);
	}
}

/* One SA in group @p g. */
static void
add_sa(uint8_t g, uint32_t spi, const struct gvpn_selector *sel)
{
	struct gvpn_ctrl_sa_params sp = {.group = g};
	int tek = gvpn_ctrl_tek_add(ctrl, g, sel, 1), slot;

	sp.tek = (uint16_t)tek;
	sp.esp.spi = spi;
	sp.esp.xform.cipher = GVPN_CIPHER_AES_GCM;
	sp.esp.xform.cipher_key_len = 20;
	slot = gvpn_ctrl_sa_add(ctrl, &sp);
	if (tek < 0 || slot < 0 || gvpn_ctrl_sa_activate(ctrl, (uint16_t)slot) != 0)
		abort();
}

static void
cleanup(void)
{
	gvpn_telemetry_fini();
	gvpn_ctrl_free(ctrl);
	gvpn_worker_free(w);
	rte_eal_cleanup();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = {(*argv)[0], "--no-huge", "--no-pci", "--no-shconf", "-l", "0", "-m", "256",
		       "--no-telemetry", "--log-level=*:error", "--vdev", "net_null0", "--vdev",
		       "net_null1"};
	struct gvpn_selector sel = {.src = {0xc0000200, 24}, .dst = {0xc6336400, 24},
				    .sport_hi = 65535, .dport_hi = 65535};
	struct gvpn_worker_conf wc = {.burst = 32, .n_pairs = 1, .flows = 1024,
				      .backend = &gvpn_crypto_ipsecmb};
	struct gvpn_ctrl_conf cc = {.cfg = &cfg, .n_workers = 1, .backend = &gvpn_crypto_ipsecmb};
	struct gvpn_telemetry_conf tc = {.cfg = &cfg, .workers = &w, .worker_lcores = lcores,
					 .n_workers = 1, .port_ids = port_ids};

	(void)argc;
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0)
		abort();
	pool = rte_pktmbuf_pool_create("fuzz", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (pool == NULL)
		abort();
	wc.pool = pool;
	wc.pairs[0] = (struct gvpn_pair){.clear = null_port("net_null0"),
					 .prot = null_port("net_null1"),
					 .clear_idx = 0, .prot_idx = 1, .mtu = 1500};
	w = gvpn_worker_create(&wc);
	cfg.n_groups = 2;
	strcpy(cfg.groups[0].name, "corp");
	cfg.groups[0].id = 1001;
	cfg.groups[0].n_fail_open = 1;
	cfg.groups[0].fail_open[0] = sel;
	strcpy(cfg.groups[1].name, "lab");
	cfg.groups[1].id = 1002;
	cfg.flows = 1024;
	cc.workers = &w;
	ctrl = gvpn_ctrl_create(&cc);
	if (w == NULL || ctrl == NULL)
		abort();
	add_sa(0, 0x1001, &sel);
	add_sa(1, 0x2001, &sel);
	if (gvpn_ctrl_policy_update(ctrl) != 0)
		abort();
	settle();
	tc.ctrl = ctrl;
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
	settle();
	return 0;
}
