/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the configuration file parser: libconfig's syntax
 * and every setting's check (ports, dataplane, bypass, groups, SAs, key
 * servers, phase-1 suites). The input is the file; it is written to a
 * memory file and loaded through its /proc/self/fd path, as gvpnd loads
 * a path.
 *
 * libconfig 1.5's lexer leaks its string buffer on an unterminated string (a
 * refused file, in the library, not gvpn): that leak is suppressed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gvpn_config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig_yylex\nleak:strbuf_append\n";
}

static int fd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("fuzz.conf", 0);
	if (fd < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gvpn_config cfg;
	char err[512];

	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	/* in this process, not the forked gvpn_config_load(): coverage and
	 * sanitizers see only what runs here */
	gvpn_config_parse(path, &cfg, err, sizeof(err));
	gvpn_config_wipe(&cfg);
	return 0;
}
