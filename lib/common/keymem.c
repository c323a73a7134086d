/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key memory (gvpn_common.h): anonymous mappings marked MADV_DONTDUMP and
 * MADV_WIPEONFORK and locked, carved into blocks of a few size classes;
 * larger blocks get a mapping of their own. Every block starts with a
 * 64-byte header that says how big it is.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "gvpn_common.h"

#define HDR 64
#define CLASS_MIN 128
#define N_CLASSES 8 /* 128 B .. 16 KiB */
#define SLAB (256 * 1024)
#define MAGIC 0x6b65796du /* "keym" */

struct hdr {
	size_t size; /* bytes of the block, header included */
	uint32_t magic;
	uint32_t cls; /* size class, N_CLASSES for a mapping of its own */
};

_Static_assert(sizeof(struct hdr) <= HDR, "key memory header");

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *free_list[N_CLASSES];
static size_t in_use, mapped;
static int unlocked;

static void *
map_locked(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* Without DONTDUMP the memory is no key memory: refuse it. */
	if (madvise(p, len, MADV_DONTDUMP) != 0) {
		munmap(p, len);
		return NULL;
	}
#ifdef MADV_WIPEONFORK
	(void)madvise(p, len, MADV_WIPEONFORK); /* Linux >= 4.14 */
#endif
	if (mlock(p, len) != 0 && !unlocked) {
		unlocked = 1;
		fprintf(stderr,
			"gvpn: key memory is not locked in RAM (mlock: %s); raise "
			"RLIMIT_MEMLOCK (LimitMEMLOCK=) to keep keys out of swap\n",
			strerror(errno));
	}
	mapped += len;
	return p;
}

static void
unmap(void *p, size_t len)
{
	munmap(p, len); /* unlocks too */
	mapped -= len;
}

static size_t
class_size(unsigned int cls)
{
	return (size_t)CLASS_MIN << cls;
}

void *
gvpn_keymem_alloc(size_t n)
{
	struct hdr *h = NULL;
	unsigned int cls = 0;
	size_t size;

	if (n > SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	size = n + HDR;
	while (cls < N_CLASSES && class_size(cls) < size)
		cls++;
	pthread_mutex_lock(&lock);
	if (cls == N_CLASSES) {
		size = (size + 4095) & ~(size_t)4095;
		h = map_locked(size);
	} else {
		size = class_size(cls);
		if (free_list[cls] == NULL) {
			uint8_t *slab = map_locked(SLAB);

			for (size_t off = 0; slab != NULL && off + size <= SLAB; off += size) {
				*(void **)(slab + off) = free_list[cls];
				free_list[cls] = slab + off;
			}
		}
		h = free_list[cls];
		if (h != NULL) {
			free_list[cls] = *(void **)h;
			*(void **)h = NULL;
		}
	}
	if (h != NULL) {
		h->size = size;
		h->magic = MAGIC;
		h->cls = cls;
		in_use += size;
	}
	pthread_mutex_unlock(&lock);
	if (h == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	return (uint8_t *)h + HDR;
}

void
gvpn_keymem_free(void *p)
{
	struct hdr *h;
	size_t size;
	unsigned int cls;

	if (p == NULL)
		return;
	h = (struct hdr *)((uint8_t *)p - HDR);
	if (h->magic != MAGIC)
		__builtin_trap(); /* not key memory, or freed twice */
	size = h->size;
	cls = h->cls;
	gvpn_wipe(h, size);
	pthread_mutex_lock(&lock);
	in_use -= size;
	if (cls >= N_CLASSES) {
		unmap(h, size);
	} else {
		*(void **)h = free_list[cls];
		free_list[cls] = h;
	}
	pthread_mutex_unlock(&lock);
}

void
gvpn_keymem_stats(struct gvpn_keymem_stats *out)
{
	pthread_mutex_lock(&lock);
	out->in_use = in_use;
	out->mapped = mapped;
	out->unlocked = unlocked;
	pthread_mutex_unlock(&lock);
}
