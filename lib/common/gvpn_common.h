/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GVPN_COMMON_H
#define GVPN_COMMON_H

/**
 * @file
 * Small helpers shared by every gvpn library: key memory, key wiping,
 * constant-time comparison and a per-lcore random generator for IVs.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Wipe secret memory; the compiler may not elide it.
 *
 * @param p
 *   Start of the memory, may be NULL when @p n is 0.
 * @param n
 *   Number of bytes.
 */
void gvpn_wipe(void *p, size_t n);

/**
 * Key memory: where every key, key schedule, pre-shared key and decrypted
 * key-server message lives, long or short. Its pages are
 *  - left out of core dumps (MADV_DONTDUMP), whatever dumps them: the
 *    kernel or gdb's gcore;
 *  - zero in a forked child (MADV_WIPEONFORK, where the kernel has it);
 *  - locked in RAM (mlock), so never written to swap. Best effort: when
 *    RLIMIT_MEMLOCK refuses, one line on stderr says so and the memory is
 *    used unlocked;
 *  - wiped when freed.
 * Thread-safe (a mutex): for the control path, never the fast path.
 *
 * @param n
 *   Bytes wanted.
 * @return
 *   Zeroed memory aligned to 64 bytes, or NULL with errno ENOMEM.
 */
void *gvpn_keymem_alloc(size_t n);

/**
 * Wipe and free memory from gvpn_keymem_alloc().
 *
 * @param p
 *   The memory, or NULL (nothing happens).
 */
void gvpn_keymem_free(void *p);

/** What key memory holds, for telemetry and tests. */
struct gvpn_keymem_stats {
	size_t in_use; /**< bytes handed out (headers included) */
	size_t mapped; /**< bytes mapped for key memory */
	int unlocked;  /**< 1 once mlock has been refused */
};

/** Read the key memory statistics. */
void gvpn_keymem_stats(struct gvpn_keymem_stats *out);

/**
 * Compare two buffers in time that depends only on @p n.
 *
 * @return
 *   1 when equal, 0 otherwise.
 */
static inline int
gvpn_memeq_ct(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return (int)(((uint32_t)d - 1) >> 31);
}

/** Bytes of keystream one refill of a generator produces. */
#define GVPN_RNG_BUF 1024

/**
 * Per-lcore cryptographic random generator: AES-256-CTR keystream, keyed
 * from the operating system at creation. A refill costs one AES-CTR call
 * over GVPN_RNG_BUF bytes: no syscall, no lock, no allocation.
 */
struct gvpn_rng {
	void *ctx;		   /**< cipher context (OpenSSL EVP) */
	uint32_t pos;		   /**< next unused byte of buf */
	uint8_t buf[GVPN_RNG_BUF]; /**< keystream not yet handed out */
};

/**
 * Create a generator.
 *
 * @param rng
 *   Generator to initialise.
 * @param seed
 *   32-byte key for reproducible streams (tests), or NULL to key it from
 *   the operating system's generator.
 * @return
 *   0 on success, -ENOMEM or -EIO on failure.
 */
int gvpn_rng_init(struct gvpn_rng *rng, const uint8_t *seed);

/** Release a generator and wipe its state. */
void gvpn_rng_fini(struct gvpn_rng *rng);

/** Refill the buffer (slow path of gvpn_rng_bytes()). */
void gvpn_rng_refill(struct gvpn_rng *rng);

/**
 * Copy @p n random bytes to @p dst.
 *
 * @param n
 *   At most GVPN_RNG_BUF.
 */
static inline void
gvpn_rng_bytes(struct gvpn_rng *rng, void *dst, uint32_t n)
{
	if (rng->pos + n > GVPN_RNG_BUF)
		gvpn_rng_refill(rng);
	uint8_t *d = dst;
	for (uint32_t i = 0; i < n; i++)
		d[i] = rng->buf[rng->pos + i];
	rng->pos += n;
}

/**
 * Parse a hexadecimal string (optionally "0x"-prefixed, ':' separators
 * allowed) into bytes.
 *
 * @return
 *   Number of bytes written, or -EINVAL on a malformed string, -ENOSPC when
 *   it does not fit in @p cap.
 */
int gvpn_hex_parse(const char *s, uint8_t *out, size_t cap);

/**
 * The value of one hexadecimal digit.
 * @param c a character.
 * @return 0..15, or -1 if @p c is not a hexadecimal digit.
 */
int gvpn_hex_digit(char c);

#ifdef __cplusplus
}
#endif

#endif /* GVPN_COMMON_H */
