/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gvpnd: the group member appliance.
 *
 *   gvpnd [EAL options] -- -f FILE [--check] [--syslog] [--allow-core-dump]
 *
 * The main lcore is the control core; every other lcore is a worker polling
 * its queue on every port. With one lcore the control core runs the
 * pipeline itself between its own work.
 *
 * Exit status: 0 after a clean shutdown (SIGINT/SIGTERM), 2 for a bad
 * command line, configuration or environment (no hugepages, not root, a
 * device that did not probe: nothing started), 1 for anything else.
 * SIGHUP reloads the configuration file (R18, doc/config.md).
 *
 * Keys stay out of core dumps: gvpnd makes itself non-dumpable
 * (PR_SET_DUMPABLE 0) unless --allow-core-dump asks otherwise, and even then
 * every key lives in key memory (MADV_DONTDUMP, gvpn_common.h) or OpenSSL's
 * secure heap.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <net/if.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>

#include <openssl/crypto.h>

#include "gvpn_common.h"
#include "gvpn_config.h"
#include "gvpn_ctrl.h"
#include "gvpn_host.h"
#include "gvpn_telemetry.h"
#include "gvpn_worker.h"
#include "gvpnd_capture.h"
#include "gvpnd_eal.h"
#include "gvpnd_log.h"

RTE_LOG_REGISTER(gvpnd_logtype, gvpn.gvpnd, INFO);
#define LOG(level, fmt, ...)                                                                       \
	rte_log(RTE_LOG_##level, gvpnd_logtype, "gvpnd: " fmt "\n", ##__VA_ARGS__)

#define RX_DESC 1024
#define TX_DESC 1024
/* On an orderly stop, the key servers' answers to a leave are awaited this long. */
#define LEAVE_WAIT_MS 1000

static atomic_int stop;
static atomic_int reload; /* SIGHUP: the control core re-reads the file */

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop, 1);
}

static void
on_hup(int sig)
{
	(void)sig;
	atomic_store(&reload, 1);
}

struct app {
	struct gvpn_config *cfg; /* in key memory */
	const char *file;
	int check_only;
	int use_syslog;
	int eal_argc; /* the EAL arguments: argv up to "--" */
	char **eal_argv;
	int allow_core_dump;
	uint16_t port_id[GVPN_MAX_PORTS];
	uint16_t n_started; /* ports configured (in order) and to close */
	uint16_t queues;
	struct rte_mempool *pool[RTE_MAX_NUMA_NODES]; /* per NUMA node in use */
	unsigned int n_workers;
	unsigned int lcore[RTE_MAX_LCORE];
	struct gvpn_worker *workers[RTE_MAX_LCORE];
	struct gvpn_ctrl *ctrl;
	struct gvpn_host *host; /* the ports' own addresses (exception path) */
};

/*
 * systemd readiness (Type=notify): one datagram to $NOTIFY_SOCKET, a path or,
 * with a leading '@', an abstract socket. Not under systemd: nothing.
 */
static void
notify_systemd(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path)) {
		LOG(WARNING, "NOTIFY_SOCKET too long: systemd not notified");
		return;
	}
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
			     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		LOG(WARNING, "systemd not notified (%s): %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: gvpnd [EAL options] -- -f FILE [--check] [--syslog] [--allow-core-dump]\n"
		"\n"
		"gvpnd's own options come after '--'; EAL's (DPDK) come before it.\n"
		"  -f, --config FILE  configuration (doc/config.md)\n"
		"  --check            validate the configuration and exit\n"
		"  --syslog           log to syslog (facility daemon) instead of stderr\n"
		"  --allow-core-dump  stay dumpable (debugging; keys are left out of dumps)\n"
		"  -v, --version      print the version and exit\n"
		"  -h, --help         print this and exit\n"
		"\n"
		"Common EAL options (all of them: the DPDK EAL documentation):\n"
		"  -l CORES           lcores: the first is the control core, the others workers\n"
		"  -a PCI             a NIC to use (bound to vfio-pci), once per NIC\n"
		"  --vdev DEV         a virtual device, e.g. "
		"net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap\n"
		"  --no-huge          run without hugepages (tests, labs; no packet capture)\n"
		"  --file-prefix P    run beside another DPDK process (gvpnctl --prefix P)\n"
		"\n"
		"Log lines go to stderr with a timestamp, without one when stderr is the\n"
		"systemd journal ($JOURNAL_STREAM), or to syslog with --syslog.\n"
		"\n"
		"Exit status: 0 after a clean stop (SIGTERM, SIGINT), 2 for a bad command\n"
		"line, configuration or environment (no hugepages, not root, a device that\n"
		"did not probe), 1 for anything else. SIGHUP reloads the configuration.\n");
}

/* One line, and where to look: a bad command line. */
static int __attribute__((format(printf, 1, 2))) bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gvpnd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (gvpnd --help)\n");
	return 2;
}

/* gvpnd's own options, which EAL does not know. */
static bool
is_app_option(const char *arg)
{
	static const char *const own[] = {"-f", "--config", "--check", "--syslog",
					  "--allow-core-dump"};

	for (size_t i = 0; i < RTE_DIM(own); i++) {
		size_t n = strlen(own[i]);

		if (strncmp(arg, own[i], n) == 0 &&
		    (arg[n] == '\0' || arg[n] == '=' || (n == 2 && arg[n] != '-')))
			return true;
	}
	return false;
}

/*
 * The EAL part (before "--"): --help anywhere prints gvpnd's usage, and
 * gvpnd's options there are a mistake worth naming. Returns -1 to go on,
 * or the exit status.
 */
static int
check_eal_args(int sep, char **argv)
{
	for (int i = 1; i < sep; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (is_app_option(argv[i])) {
			fprintf(
			    stderr,
			    "gvpnd: %s is a gvpnd option: it goes after '--', EAL options before "
			    "it (gvpnd [EAL options] -- -f FILE; gvpnd --help)\n",
			    argv[i]);
			return 2;
		}
	}
	return -1;
}

/* The value of EAL option NAME at argv[*i] ("NAME V" or "NAME=V"), or NULL. */
static const char *
eal_opt_value(int sep, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] == '\0' && *i + 1 < sep)
		return argv[++*i];
	return NULL;
}

static bool
has_eal_flag(int sep, char **argv, const char *flag)
{
	for (int i = 1; i < sep; i++)
		if (strcmp(argv[i], flag) == 0)
			return true;
	return false;
}

/* One net_pcap file argument: the file to read, or the folder to write in. */
static int
check_pcap_file(const char *dev, const char *key, const char *path)
{
	char dir[PATH_MAX];
	const char *slash;
	struct stat st;

	if (strcmp(key, "rx_pcap") == 0) {
		if (access(path, R_OK) == 0)
			return 0;
		fprintf(stderr, "gvpnd: --vdev %s: %s file '%s': %s: %s\n", dev, key, path,
			strerror(errno),
			errno == ENOENT	  ? "make the capture first, or correct the path"
			: errno == EACCES ? "run gvpnd as root, or make the file readable"
					  : "correct the path");
		return 2;
	}
	/* tx_pcap: written, so its folder must be there and writable */
	slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr,
			"gvpnd: --vdev %s: %s file '%s': no folder '%s': create it, or "
			"correct the path\n",
			dev, key, path, dir);
		return 2;
	}
	if (access(dir, W_OK) != 0) {
		fprintf(
		    stderr,
		    "gvpnd: --vdev %s: %s file '%s': folder '%s' not writable: run gvpnd as root, "
		    "or choose another folder\n",
		    dev, key, path, dir);
		return 2;
	}
	return 0;
}

/*
 * What makes a net_pcap device fail to probe, named before EAL starts (EAL
 * then only says the device failed): a capture file that is not there or
 * not readable, a folder that cannot take the output, an interface that
 * does not exist. Returns 0, or 2.
 */
static int
check_vdevs(int sep, char **argv)
{
	for (int i = 1; i < sep; i++) {
		const char *v = eal_opt_value(sep, argv, &i, "--vdev");
		char buf[1024], *save = NULL, *dev, *kv;

		if (v == NULL || strncmp(v, "net_pcap", 8) != 0)
			continue;
		snprintf(buf, sizeof(buf), "%s", v);
		dev = strtok_r(buf, ",", &save);
		while ((kv = strtok_r(NULL, ",", &save)) != NULL) {
			char *val = strchr(kv, '=');

			if (val == NULL)
				continue;
			*val++ = '\0';
			if (strcmp(kv, "rx_pcap") == 0 || strcmp(kv, "tx_pcap") == 0) {
				if (check_pcap_file(dev, kv, val) != 0)
					return 2;
			} else if (strcmp(kv, "iface") == 0 || strcmp(kv, "rx_iface") == 0 ||
				   strcmp(kv, "rx_iface_in") == 0 || strcmp(kv, "tx_iface") == 0) {
				if (if_nametoindex(val) == 0) {
					fprintf(stderr,
						"gvpnd: --vdev %s: %s '%s': no such network "
						"interface on this host (ip link)\n",
						dev, kv, val);
					return 2;
				}
				if (geteuid() != 0) {
					fprintf(stderr,
						"gvpnd: --vdev %s: %s '%s': capturing on an "
						"interface needs root: run gvpnd as root\n",
						dev, kv, val);
					return 2;
				}
			}
		}
	}
	return 0;
}

/* rte_eal_init failed: the cause and the fix, as far as rte_errno and the
 * arguments tell (EAL's own message is just above). */
static void
eal_failure(int sep, char **argv, int err)
{
	bool no_huge = has_eal_flag(sep, argv, "--no-huge");
	bool root = geteuid() == 0;
	pid_t holder = gvpnd_eal_prefix_holder();
	const char *why;

	if (holder > 0) {
		fprintf(stderr,
			"gvpnd: EAL init failed: another DPDK primary process (pid %ld) runs "
			"with this file prefix (%s): stop it, or give this gvpnd its own "
			"--file-prefix NAME\n",
			(long)holder, rte_eal_get_runtime_dir());
		return;
	}
	switch (err) {
	case EACCES: /* "Cannot get hugepage information" */
		why = !root	? "permission denied, not root: run gvpnd as root"
		      : no_huge ? "permission denied"
				: "no hugepages (no hugetlbfs mounted): run "
				  "scripts/setup-hugepages.sh, or pass --no-huge";
		break;
	case ENOMEM: /* "Cannot init memory" */
		why = no_huge ? "not enough memory: lower -m / --socket-mem"
		      : !root ? "no memory, not root: run gvpnd as root"
			      : "no hugepages (none free): run scripts/setup-hugepages.sh, "
				"or pass --no-huge";
		break;
	case EINVAL:
		why = "invalid EAL options (gvpnd --help; EAL options go before '--')";
		break;
	case EALREADY:
		why = "EAL already initialised";
		break;
	case ENOTSUP: /* "Cannot probe devices" */
		why = root
			  ? "a device did not probe: check -a / --vdev (the PMD's message is above)"
			  : "a device did not probe, not root: run gvpnd as root";
		break;
	case ENODEV:
		why = "no device bus or device arguments failed: check -a / --vdev";
		break;
	default:
		why = NULL;
	}
	if (why != NULL)
		fprintf(stderr, "gvpnd: EAL init failed: %s\n", why);
	else
		fprintf(stderr, "gvpnd: EAL init failed: %s%s%s\n", rte_strerror(err),
			root ? "" : " (not root: run gvpnd as root)",
			has_eal_flag(sep, argv, "--file-prefix")
			    ? ""
			    : "; if another gvpnd or DPDK process runs, give this one "
			      "--file-prefix NAME");
}

/* Application options come after "--"; returns 0, or the exit status. */
static int
parse_app_args(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'f'},
					     {"check", no_argument, NULL, 'c'},
					     {"syslog", no_argument, NULL, 'S'},
					     {"allow-core-dump", no_argument, NULL, 'D'},
					     {"version", no_argument, NULL, 'v'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int opt;

	optind = 1;
	opterr = 0; /* one line of our own instead */
	while ((opt = getopt_long(argc, argv, ":f:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			a->file = optarg;
			break;
		case 'c':
			a->check_only = 1;
			break;
		case 'S':
			a->use_syslog = 1;
			break;
		case 'D':
			a->allow_core_dump = 1;
			break;
		case 'v':
			printf("gvpnd %s\n", GVPN_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			return bad_usage("%s needs a value", argv[optind - 1]);
		default:
			if (optopt != 0) {
				char o[3] = {'-', (char)optopt, '\0'};

				return bad_usage("unknown option '%s'", o);
			}
			return bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	if (a->file == NULL)
		return bad_usage("-f FILE is required");
	return 0;
}

/* Whether an -a / --allow / --vdev argument names DEVICE (a PCI address
 * or a virtual device's name, before its first comma). */
static bool
device_named(const struct app *a, const char *device)
{
	size_t n = strlen(device);

	for (int i = 1; i < a->eal_argc; i++) {
		const char *v = a->eal_argv[i];

		if (strcmp(v, "-a") == 0 || strcmp(v, "--allow") == 0 || strcmp(v, "--vdev") == 0) {
			if (i + 1 >= a->eal_argc)
				break;
			v = a->eal_argv[++i];
		} else if (strncmp(v, "--vdev=", 7) == 0)
			v += 7;
		else if (strncmp(v, "--allow=", 8) == 0)
			v += 8;
		else if (strncmp(v, "-a", 2) == 0 && v[2] != '\0')
			v += 2;
		else
			continue;
		if (strncmp(v, device, n) == 0 && (v[n] == '\0' || v[n] == ','))
			return true;
	}
	return false;
}

static int
find_ports(struct app *a)
{
	for (uint16_t i = 0; i < a->cfg->n_ports; i++) {
		const struct gvpn_port_conf *p = &a->cfg->ports[i];

		if (rte_eth_dev_get_port_by_name(p->device, &a->port_id[i]) != 0) {
			char names[512] = "";
			uint16_t id;

			RTE_ETH_FOREACH_DEV(id)
			{
				char n[RTE_ETH_NAME_MAX_LEN];

				if (rte_eth_dev_get_name_by_port(id, n) == 0)
					snprintf(names + strlen(names),
						 sizeof(names) - strlen(names), "%s%s",
						 names[0] ? ", " : "", n);
			}
			fprintf(stderr,
				"gvpnd: %s:%d: ports[%u].device: no DPDK port '%s' (ports: %s)%s\n",
				a->file, p->line, i, p->device, names[0] ? names : "none",
				device_named(a, p->device)
				    ? ": it did not probe, its driver's message is above (a "
				      "missing file or device, no permission, not root?)"
				    : ": add it with -a PCI or --vdev before '--'");
			return -ENODEV;
		}
	}
	return 0;
}

/* The NUMA node of a port (its NIC's), or the control core's when unknown. */
static unsigned int
port_socket(uint16_t port)
{
	int s = rte_eth_dev_socket_id(port);

	return s >= 0 && s < RTE_MAX_NUMA_NODES ? (unsigned int)s : rte_socket_id();
}

static int
port_start(struct app *a, uint16_t idx)
{
	const struct gvpn_port_conf *pc = &a->cfg->ports[idx];
	uint16_t port = a->port_id[idx];
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	int rc;

	rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0)
		return rc;
	if (a->queues > info.max_rx_queues || a->queues > info.max_tx_queues) {
		LOG(ERR, "port %s: %u queues needed (one per worker), device has %u rx / %u tx",
		    pc->name, a->queues, info.max_rx_queues, info.max_tx_queues);
		return -EINVAL;
	}
	if (a->queues > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
		    (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP) &
		    info.flow_type_rss_offloads;
		/* ESP carries the inner addresses (R2): IP hashing spreads it */
		if ((conf.rx_adv_conf.rss_conf.rss_hf & RTE_ETH_RSS_IP) == 0)
			LOG(WARNING,
			    "port %s: the device cannot hash IPv4 addresses (RSS); its traffic "
			    "is not spread over the %u workers",
			    pc->name, a->queues);
	}
	rc = rte_eth_dev_configure(port, a->queues, a->queues, &conf);
	if (rc != 0)
		return rc;
	/* The protected port carries ESP up to its MTU; some virtual devices
	 * have no MTU to set. */
	rc = rte_eth_dev_set_mtu(port, pc->mtu);
	if (rc != 0 && rc != -ENOTSUP)
		LOG(WARNING, "port %s: MTU %u not set: %s", pc->name, pc->mtu, strerror(-rc));
	for (uint16_t q = 0; q < a->queues; q++) {
		rc = rte_eth_rx_queue_setup(port, q, RX_DESC, rte_eth_dev_socket_id(port), NULL,
					    a->pool[port_socket(port)]);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port, q, TX_DESC, rte_eth_dev_socket_id(port),
						    NULL);
		if (rc != 0)
			return rc;
	}
	/* A bump in the wire forwards frames for every address. */
	rte_eth_promiscuous_enable(port);
	return rte_eth_dev_start(port);
}

/* One poll of a worker, counted for a capture that ends (gvpnd_capture.h). */
static inline void
poll_worker(struct gvpn_worker *w)
{
	gvpn_worker_poll(w);
	gvpnd_capture_polled(rte_lcore_id());
}

static int
worker_main(void *arg)
{
	struct gvpn_worker *w = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		poll_worker(w);
	return 0;
}

static int
setup_workers(struct app *a, const struct gvpn_crypto_ops *be)
{
	struct gvpn_worker_conf wc = {.burst = a->cfg->burst,
				      .flows = a->cfg->flows,
				      .inner_df = a->cfg->inner_df,
				      .ipv6_too_big = a->cfg->ipv6_too_big,
				      .backend = be,
				      .sender_bits = gvpn_iv_sender_bits(a->n_workers)};

	for (uint16_t i = 0; i < a->cfg->n_ports; i++) {
		const struct gvpn_port_conf *p = &a->cfg->ports[i];

		if (p->role != GVPN_PORT_CLEAR)
			continue;
		wc.pairs[wc.n_pairs++] = (struct gvpn_pair){.clear = a->port_id[i],
							    .prot = a->port_id[p->peer],
							    .clear_idx = i,
							    .prot_idx = p->peer,
							    .mtu = a->cfg->ports[p->peer].mtu};
	}
	for (unsigned int i = 0; i < a->n_workers; i++) {
		wc.id = i;
		wc.queue = (uint16_t)i;
		/* The exception path: each worker punts into its own ring; the
		 * first sends the kernel's frames on its own queues. A port's
		 * punt rate is shared out over the workers. */
		wc.punt = gvpn_host_punt_ring(a->host, i);
		for (uint16_t p = 0; p < a->cfg->n_ports; p++) {
			const struct gvpn_port_conf *pc = &a->cfg->ports[p];

			wc.punt_port[p] = (struct gvpn_punt_port){
			    .address = rte_cpu_to_be_32(pc->address),
			    .rate = RTE_MAX(pc->punt_rate / a->n_workers, 1u),
			    .inject = i == 0 ? gvpn_host_inject_ring(a->host, p) : NULL};
		}
		wc.socket = (int)rte_lcore_to_socket_id(a->lcore[i]);
		wc.pool = a->pool[wc.socket]; /* fragments and ICMP: the worker's node */
		a->workers[i] = gvpn_worker_create(&wc);
		if (a->workers[i] == NULL) {
			LOG(ERR, "worker %u: %s", i, rte_strerror(rte_errno));
			return -rte_errno;
		}
	}
	return 0;
}

/* The worker lcores: every lcore but the main one, or the main one alone. */
static void
pick_lcores(struct app *a)
{
	unsigned int lcore;

	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		a->lcore[a->n_workers++] = lcore;
	}
	if (a->n_workers == 0)
		a->lcore[a->n_workers++] = rte_get_main_lcore();
}

/*
 * One mbuf pool per NUMA node that has ports or workers, on that node: a
 * port receives into its node's pool, a worker makes fragments and ICMP
 * from its own. Sized for every RX and TX ring of the node's ports full,
 * and for each of its workers' reassembly full and largest burst in flight.
 * Returns 0, 2 when memory is short (an environment failure), 1 otherwise.
 */
static int
make_pools(struct app *a, uint32_t room)
{
	unsigned int n_mbuf[RTE_MAX_NUMA_NODES] = {0};

	for (unsigned int p = 0; p < a->cfg->n_ports; p++)
		n_mbuf[port_socket(a->port_id[p])] += a->queues * (RX_DESC + TX_DESC);
	for (unsigned int i = 0; i < a->n_workers; i++)
		n_mbuf[rte_lcore_to_socket_id(a->lcore[i])] +=
		    GVPN_FRAG_MBUFS + GVPN_WORKER_BURST_MBUFS;
	/* The exception path: punt rings full (of any node's mbufs, counted
	 * on each), the kernel interfaces' queues and inject rings full. */
	for (unsigned int p = 0; p < a->cfg->n_ports; p++) {
		if (a->cfg->ports[p].address == 0)
			continue;
		for (unsigned int n = 0; n < RTE_MAX_NUMA_NODES; n++)
			if (n_mbuf[n] != 0)
				n_mbuf[n] += a->n_workers * GVPN_HOST_PUNT_RING;
		n_mbuf[rte_socket_id()] += 2 * GVPN_HOST_TAP_DESC + GVPN_HOST_INJECT_RING;
		break;
	}
	for (unsigned int n = 0; n < RTE_MAX_NUMA_NODES; n++) {
		char name[RTE_MEMPOOL_NAMESIZE];

		if (n_mbuf[n] == 0)
			continue;
		snprintf(name, sizeof(name), "gvpn_mbufs_%u", n);
		a->pool[n] =
		    rte_pktmbuf_pool_create(name, n_mbuf[n] + 2048, 256, 0, (uint16_t)room, (int)n);
		if (a->pool[n] == NULL) {
			int err = rte_errno;

			if (err == ENOMEM)
				LOG(ERR,
				    "mbuf pool on NUMA node %u (%u mbufs): not enough memory: "
				    "reserve "
				    "more hugepages on that node (scripts/setup-hugepages.sh), "
				    "give "
				    "EAL more (--socket-mem, -m), or use fewer worker lcores",
				    n, n_mbuf[n] + 2048);
			else
				LOG(ERR, "mbuf pool on NUMA node %u: %s", n, rte_strerror(err));
			return err == ENOMEM ? 2 : 1;
		}
	}
	return 0;
}

/* Ethernet, two VLAN tags and the FCS; outer IPv4, ESP header, IV, the
 * largest padding, trailer, ICV and the delay-detection stamp. */
#define MBUF_L2_ROOM (RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN + RTE_ETHER_CRC_LEN)
#define MBUF_ESP_ROOM 128

static int
run(struct app *a)
{
	const struct gvpn_crypto_ops *be = gvpn_crypto_find(a->cfg->crypto);
	uint32_t room;
	uint16_t mtu = 0;
	int inline_worker, rc;

	if ((rc = find_ports(a)) != 0)
		return 2;
	/* One segment holds the largest frame a port's MTU allows, with room
	 * for the ESP that encryption adds (chained mbufs are dropped). */
	for (unsigned int p = 0; p < a->cfg->n_ports; p++)
		mtu = RTE_MAX(mtu, a->cfg->ports[p].mtu);
	room = RTE_MAX((uint32_t)RTE_MBUF_DEFAULT_BUF_SIZE,
		       (uint32_t)RTE_PKTMBUF_HEADROOM + mtu + MBUF_L2_ROOM + MBUF_ESP_ROOM);
	pick_lcores(a);
	if (a->n_workers > GVPN_CTRL_MAX_WORKERS) {
		LOG(ERR, "%u worker lcores: the control core addresses at most %u (-l, --lcores)",
		    a->n_workers, GVPN_CTRL_MAX_WORKERS);
		return 2;
	}
	a->queues = (uint16_t)a->n_workers; /* one queue per worker on every port */
	if ((rc = make_pools(a, room)) != 0)
		return rc; /* 2: not enough memory, a restart will not help */
	a->host = gvpn_host_create(&(struct gvpn_host_conf){
	    .cfg = a->cfg, .n_workers = a->n_workers, .socket = (int)rte_socket_id()});
	if (a->host == NULL) {
		LOG(ERR, "exception path: %s", rte_strerror(rte_errno));
		return 1;
	}
	if (setup_workers(a, be) != 0)
		return 1;
	struct gvpn_ctrl_conf cc = {.cfg = a->cfg,
				    .workers = a->workers,
				    .n_workers = a->n_workers,
				    .backend = be,
				    .socket = (int)rte_socket_id()};
	a->ctrl = gvpn_ctrl_create(&cc);
	if (a->ctrl == NULL)
		LOG(ERR, "control state: %s", rte_strerror(rte_errno));
	if (a->ctrl == NULL || gvpn_ctrl_load_static(a->ctrl) != 0) {
		LOG(ERR, "control state not set up");
		return 1;
	}
	struct gvpn_telemetry_conf tc = {.cfg = a->cfg,
					 .ctrl = a->ctrl,
					 .workers = a->workers,
					 .worker_lcores = a->lcore,
					 .n_workers = a->n_workers,
					 .port_ids = a->port_id,
					 .host = a->host};
	if (gvpn_telemetry_init(&tc) != 0)
		LOG(WARNING, "telemetry commands not registered");

	for (uint16_t i = 0; i < a->cfg->n_ports; i++) {
		rc = port_start(a, i);
		a->n_started = i + 1;
		if (rc != 0) {
			LOG(ERR, "port %s (%s) not started: %s", a->cfg->ports[i].name,
			    a->cfg->ports[i].device, strerror(rc < 0 ? -rc : rc));
			return 1;
		}
	}
	/* The ports' own addresses, before the key protocols bind to them. */
	if (gvpn_host_start(a->host, a->port_id, a->pool[rte_socket_id()]) != 0) {
		LOG(ERR, "the ports' kernel interfaces not set up (root? /dev/net/tun?)");
		return 2;
	}
	/* R19: registration starts once the ports are up */
	if (gvpn_ctrl_gdoi_start(a->ctrl) != 0)
		return 1;
	inline_worker = a->lcore[0] == rte_get_main_lcore();
	gvpnd_capture_workers(a->lcore, a->n_workers);
	if (!inline_worker)
		for (unsigned int i = 0; i < a->n_workers; i++)
			rte_eal_remote_launch(worker_main, a->workers[i], a->lcore[i]);
	LOG(NOTICE, "running: %u port(s), %u worker(s)%s, crypto %s", a->cfg->n_ports, a->n_workers,
	    inline_worker ? " on the main lcore" : "", be->name);
	/* ports started, workers polling: ready (systemd's Type=notify) */
	notify_systemd("READY=1\nSTATUS=running");

	while (!atomic_load(&stop)) {
		if (atomic_exchange(&reload, 0))
			gvpn_ctrl_reload(a->ctrl, a->cfg, a->file); /* logs its outcome */
		gvpn_ctrl_poll(a->ctrl);
		gvpn_host_poll(a->host);
		gvpn_telemetry_poll();
		if (inline_worker)
			poll_worker(a->workers[0]);
		else
			rte_delay_us_sleep(1000);
	}
	LOG(NOTICE, "stopping");
	notify_systemd("STOPPING=1");
	/* G-IKEv2 groups tell their key server they leave: at most a second */
	gvpn_ctrl_leave(a->ctrl, LEAVE_WAIT_MS);
	rte_eal_mp_wait_lcore();
	return 0;
}

static void
teardown(struct app *a)
{
	for (uint16_t i = 0; i < a->n_started; i++) {
		rte_eth_dev_stop(a->port_id[i]);
		rte_eth_dev_close(a->port_id[i]);
	}
	gvpn_telemetry_fini();
	gvpn_host_free(a->host); /* its kernel interfaces go */
	gvpn_ctrl_free(a->ctrl); /* wipes every SA's keys */
	for (unsigned int i = 0; i < a->n_workers; i++)
		gvpn_worker_free(a->workers[i]);
	gvpn_config_wipe(a->cfg);
	for (unsigned int n = 0; n < RTE_MAX_NUMA_NODES; n++)
		rte_mempool_free(a->pool[n]);
}

/* --check: a group's local address that this host does not have (yet) is
 * not an error (the group retries until it is there) but worth a warning. */
static void
check_local_addresses(const struct gvpn_config *cfg)
{
	static const uint8_t any6[16];

	for (uint16_t g = 0; g < cfg->n_groups; g++) {
		const struct gvpn_group_conf *gc = &cfg->groups[g];
		const int v6 = gc->ks.af == GVPN_AF_IPV6;
		union {
			struct sockaddr sa;
			struct sockaddr_in in;
			struct sockaddr_in6 in6;
		} s = {.in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(gc->ks.local_addr)}};
		char a[INET6_ADDRSTRLEN];
		int fd, own = 0;

		if (v6) {
			s.in6 = (struct sockaddr_in6){.sin6_family = AF_INET6};
			memcpy(&s.in6.sin6_addr, gc->ks.local_addr6, 16);
		}
		for (uint16_t p = 0; p < cfg->n_ports && !v6; p++)
			own |= cfg->ports[p].address != 0 &&
			       cfg->ports[p].address == gc->ks.local_addr;
		/* a port's own address: gvpnd assigns it at start */
		if (!gc->gdoi || own ||
		    (v6 ? memcmp(gc->ks.local_addr6, any6, 16) == 0 : gc->ks.local_addr == 0))
			continue;
		fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (bind(fd, &s.sa, v6 ? sizeof(s.in6) : sizeof(s.in)) != 0 &&
		    errno == EADDRNOTAVAIL) {
			inet_ntop(v6 ? AF_INET6 : AF_INET,
				  v6 ? (const void *)&s.in6.sin6_addr
				     : (const void *)&s.in.sin_addr,
				  a, sizeof(a));
			fprintf(stderr,
				"gvpnd: warning: groups[%s].local_address %s is not assigned on "
				"this host: the group will fail and retry until it is\n",
				gc->name, a);
		}
		close(fd);
	}
}

int
main(int argc, char **argv)
{
	static struct app a; /* large: keep it off the stack */
	char err[512];
	int sep, rc;

	for (sep = 1; sep < argc && strcmp(argv[sep], "--") != 0; sep++)
		;
	a.eal_argc = sep;
	a.eal_argv = argv;
	rc = check_eal_args(sep, argv);
	if (rc >= 0)
		return rc;
	rc = parse_app_args(&a, sep < argc ? argc - sep : 1, sep < argc ? argv + sep : argv);
	if (rc != 0)
		return rc;
	/* No core dump, no ptrace by other users: the process holds keys. */
	if (!a.allow_core_dump && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		fprintf(stderr, "gvpnd: prctl(PR_SET_DUMPABLE): %s\n", strerror(errno));
		return 1;
	}
	/* OpenSSL's secure heap (locked, left out of dumps): the phase-1
	 * Diffie-Hellman private values and their temporaries. */
	if (CRYPTO_secure_malloc_init(256 * 1024, 32) == 0)
		fprintf(stderr, "gvpnd: OpenSSL secure heap not available: Diffie-Hellman "
				"secrets use ordinary memory\n");
	a.cfg = gvpn_keymem_alloc(sizeof(*a.cfg));
	if (a.cfg == NULL) {
		fprintf(stderr, "gvpnd: no key memory for the configuration\n");
		return 1;
	}
	rc = gvpn_config_load(a.file, a.cfg, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "gvpnd: %s\n", err);
		gvpn_keymem_free(a.cfg);
		return 2;
	}
	if (a.check_only) {
		check_local_addresses(a.cfg);
		printf("gvpnd: %s: configuration valid (%u ports, %u groups)\n", a.file,
		       a.cfg->n_ports, a.cfg->n_groups);
		gvpn_keymem_free(a.cfg);
		return 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_hup);
	if (check_vdevs(sep, argv) != 0) {
		gvpn_keymem_free(a.cfg);
		return 2;
	}
	if (gvpnd_log_init(a.use_syslog) != 0)
		fprintf(stderr, "gvpnd: log stream not set up (%s): EAL's own is used\n",
			strerror(errno));
	if (rte_eal_init(sep, argv) < 0) {
		eal_failure(sep, argv, rte_errno);
		gvpn_keymem_free(a.cfg);
		return 2;
	}
	/* lets dpdk-dumpcap / dpdk-pdump capture on gvpnd's ports (with hugepages:
	 * a secondary process cannot attach to a --no-huge primary); a capture
	 * that ends waits for the workers (gvpnd_capture.h) */
	gvpnd_capture_workers(NULL, 0);
	if (rte_pdump_init() != 0)
		LOG(WARNING, "packet capture (rte_pdump) not available: %s",
		    rte_strerror(rte_errno));
	rc = run(&a);
	if (rc != 0)
		atomic_store(&stop, 1);
	rte_eal_mp_wait_lcore();
	teardown(&a);
	gvpn_keymem_free(a.cfg);
	rte_pdump_uninit();
	gvpnd_eal_cleanup();
	return rc;
}
