/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's two rte_hash tables in --no-huge memory, with the worker's
 * parameters (flow cache: 65 536 entries of 16-byte keys; SPIs: 32 768
 * entries of 4-byte keys). Per rekey a new random SPI is looked up and
 * added in both and the previous one deleted, as a worker does for a new
 * TEK and the Delete of the old one. Every 60 rekeys: how many kB of DPDK's
 * memory (the memfd "nohuge") became resident since the tables were made.
 *
 *   cc -O2 -o build/hash_touch scripts/bench/hash_touch.c $(pkg-config --cflags --libs libdpdk)
 *   build/hash_touch plain 1200     # the tables as rte_hash_create() leaves them
 *   build/hash_touch reset 1200     # written once after creation (rte_hash_reset())
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_random.h>

struct flow_key {
	uint8_t proto, dir;
	uint16_t pad;
	uint32_t src, dst;
	uint16_t sport, dport;
};

static long
dpdk_resident_kb(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int dpdk = 0;
	long kb = 0, v;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f'))
			dpdk = strstr(line, "nohuge") != NULL;
		else if (dpdk && sscanf(line, "Rss: %ld kB", &v) == 1)
			kb += v;
	}
	fclose(f);
	return kb;
}

int
main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge",	 "--no-pci",   "-m",	      "512",	    "-l",
		       "0",	"--file-prefix", "hash_touch", "--log-level", "lib.*:error"};
	struct rte_hash_parameters fp = {.name = "flows",
					 .entries = 65536,
					 .key_len = sizeof(struct flow_key),
					 .hash_func = rte_hash_crc};
	struct rte_hash_parameters sp = {.name = "spis",
					 .entries = 32768,
					 .key_len = sizeof(uint32_t),
					 .hash_func = rte_hash_crc};
	struct rte_hash *flows, *spis;
	uint32_t old = 0;
	long start;
	int reset, rekeys;

	if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), eal) < 0)
		return 1;
	reset = argc > 1 && strcmp(argv[1], "reset") == 0;
	rekeys = argc > 2 ? atoi(argv[2]) : 1200;
	flows = rte_hash_create(&fp);
	spis = rte_hash_create(&sp);
	if (flows == NULL || spis == NULL)
		return 1;
	if (reset) {
		rte_hash_reset(flows);
		rte_hash_reset(spis);
	}
	start = dpdk_resident_kb();
	printf("%s: DPDK memory resident after the tables are made: %ld kB\n",
	       reset ? "reset" : "plain", start);
	for (int i = 1; i <= rekeys; i++) {
		uint32_t spi = (uint32_t)rte_rand();
		struct flow_key k = {.proto = 50, .dir = 1, .src = spi};

		if (rte_hash_lookup(spis, &spi) < 0)
			rte_hash_add_key_data(spis, &spi, (void *)1);
		if (rte_hash_lookup(flows, &k) < 0)
			rte_hash_add_key_data(flows, &k, (void *)1);
		if (old != 0) {
			struct flow_key ko = {.proto = 50, .dir = 1, .src = old};

			rte_hash_del_key(spis, &old);
			rte_hash_del_key(flows, &ko);
		}
		old = spi;
		if (i % 60 == 0)
			printf("rekeys %5d  +%ld kB\n", i, dpdk_resident_kb() - start);
	}
	rte_hash_free(flows);
	rte_hash_free(spis);
	rte_eal_cleanup();
	return 0;
}
