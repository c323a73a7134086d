/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key memory: zeroed, aligned, left out of core dumps (the kernel's own
 * account in /proc/self/smaps), zero in a forked child, wiped on free.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

/* The VmFlags of the mapping that holds @p p, from /proc/self/smaps. */
static int
vmflags_of(const void *p, char *flags, size_t len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0, found = 0;

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(flags, len, "%s", line + 8);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

static void
test_keymem_is_zeroed_aligned_and_not_dumped(void **state)
{
	static const size_t sizes[] = {1,    63,    64,	   100,	  1000,
				       4000, 16320, 16384, 70000, 3 * 1024 * 1024};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		uint8_t *p = gvpn_keymem_alloc(sizes[i]);
		char flags[512];

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 64, 0);
		for (size_t k = 0; k < sizes[i]; k++)
			assert_int_equal(p[k], 0);
		memset(p, 0xa5, sizes[i]);
		assert_true(vmflags_of(p, flags, sizeof(flags)));
		assert_non_null(strstr(flags, " dd"));
		gvpn_keymem_free(p);
	}
}

static void
test_keymem_is_wiped_on_free_and_reused(void **state)
{
	struct gvpn_keymem_stats st0, st;
	uint8_t *p, *q;

	(void)state;
	gvpn_keymem_stats(&st0);
	p = gvpn_keymem_alloc(200);
	assert_non_null(p);
	gvpn_keymem_stats(&st);
	assert_true(st.in_use > st0.in_use);
	memset(p, 0x5a, 200);
	gvpn_keymem_free(p);
	/* a block of the same class comes back from the free list: zeroed */
	q = gvpn_keymem_alloc(200);
	assert_ptr_equal(p, q);
	for (size_t k = 0; k < 200; k++)
		assert_int_equal(q[k], 0);
	gvpn_keymem_free(q);
	gvpn_keymem_free(NULL);
	gvpn_keymem_stats(&st);
	assert_int_equal(st.in_use, st0.in_use);
}

static void
test_keymem_is_zero_in_a_forked_child(void **state)
{
	uint8_t *p = gvpn_keymem_alloc(64);
	int status;
	pid_t pid;

	(void)state;
	assert_non_null(p);
	memset(p, 0x77, 64);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(p[0] == 0 ? 0 : 1); /* MADV_WIPEONFORK */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(p[0], 0x77);
	gvpn_keymem_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keymem_is_zeroed_aligned_and_not_dumped),
	    cmocka_unit_test(test_keymem_is_wiped_on_free_and_reused),
	    cmocka_unit_test(test_keymem_is_zero_in_a_forked_child),
	};

	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
