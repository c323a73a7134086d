/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Leaving EAL without a trace. rte_eal_cleanup() releases the memory but
 * leaves on the host the hugepage files of the pages still in use at the
 * end (all of them with -m or --socket-mem, which reserve up front) and the
 * runtime directory: 128 files in /dev/hugepages after a clean stop hold
 * memory no other process can use until the next gvpnd with the same
 * --file-prefix starts. The files are named by the file descriptors EAL
 * itself holds, so only what this process created is removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_memory.h>

#include "gvpnd_eal.h"

/* The hugepage files behind the memory segments, each named once. */
struct hugefiles {
	char (*path)[PATH_MAX];
	unsigned int n, cap;
};

static int
hugefile_of(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	struct hugefiles *h = arg;
	char link[64], path[PATH_MAX];
	ssize_t len;
	int fd;

	(void)msl;
	fd = rte_memseg_get_fd_thread_unsafe(ms);
	if (fd < 0) /* --no-huge, --in-memory: no file */
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, path, sizeof(path) - 1);
	if (len <= 0)
		return 0;
	path[len] = '\0';
	/* with --single-file-segments every segment of a list shares a file */
	for (unsigned int i = h->n; i > 0; i--)
		if (strcmp(h->path[i - 1], path) == 0)
			return 0;
	if (h->n == h->cap) {
		unsigned int cap = h->cap != 0 ? h->cap * 2 : 64;
		char(*p)[PATH_MAX] = realloc(h->path, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		h->path = p;
		h->cap = cap;
	}
	memcpy(h->path[h->n++], path, (size_t)len + 1);
	return 0;
}

/* Empty a runtime directory (EAL makes no subdirectories) and remove it. */
static void
remove_runtime_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		if (errno != ENOENT)
			fprintf(stderr, "gvpnd: %s not removed: %s\n", dir, strerror(errno));
		return;
	}
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		if (unlink(path) != 0 && errno != ENOENT)
			fprintf(stderr, "gvpnd: %s not removed: %s\n", path, strerror(errno));
	}
	closedir(d);
	if (rmdir(dir) != 0 && errno != ENOENT)
		fprintf(stderr, "gvpnd: %s not removed: %s\n", dir, strerror(errno));
}

void
gvpnd_eal_cleanup(void)
{
	struct hugefiles h = {0};
	char dir[PATH_MAX];
	int walked;

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	walked = rte_memseg_walk(hugefile_of, &h);
	rte_eal_cleanup();
	if (walked < 0)
		fprintf(stderr, "gvpnd: out of memory listing hugepage files: some stay in "
				"the hugepage mount until the next start\n");
	for (unsigned int i = 0; i < h.n; i++)
		if (unlink(h.path[i]) != 0 && errno != ENOENT)
			fprintf(stderr, "gvpnd: %s not removed: %s\n", h.path[i], strerror(errno));
	free(h.path);
	if (dir[0] != '\0')
		remove_runtime_dir(dir);
}

pid_t
gvpnd_eal_prefix_holder(void)
{
	/* EAL write-locks <runtime dir>/config for as long as the primary runs */
	struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/config", rte_eal_get_runtime_dir()) >=
	    (int)sizeof(path))
		return 0;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fcntl(fd, F_GETLK, &lk) != 0 || lk.l_type == F_UNLCK)
		lk.l_pid = 0;
	close(fd);
	return lk.l_pid;
}
