/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Delivery delay detection, the time-based anti-replay of group SAs (R23,
 * after draft-weis-delay-detection-01): the sender puts its send time in
 * front of the inner packet, inside the encrypted payload; the receiver
 * drops packets stamped further than the group's window from its own clock,
 * in either direction. This file is the only code that knows the stamp's
 * format and clock; doc/esp.md describes both, and says where the format
 * comes from.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------+---------------+---------------+---------------+
 *  |  Next Header  |  Length (12)  |   Type (1)    |  Reserved (0) |
 *  +---------------+---------------+---------------+---------------+
 *  |        Timestamp, seconds since 1900-01-01 UTC (NTP era)      |
 *  +---------------------------------------------------------------+
 *  |        Timestamp, fraction of a second (units of 2^-32 s)     |
 *  +---------------------------------------------------------------+
 *
 * The ESP trailer's Next Header is ESP_NH_DDD; the stamp's is the SA's
 * inner next header, 4 (IPv4) or 41 (IPv6).
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>

#include "esp_private.h"

#define DDD_TYPE_NTP64 1
#define NTP_UNIX_EPOCH 2208988800ull /* seconds from 1900 to 1970 */
#define DDD_NS_PER_S 1000000000ull

__extension__ typedef __int128 ddd_i128;
__extension__ typedef unsigned __int128 ddd_u128;

/*
 * The stamp clock: NTP time = base_ntp + (TSC - base_tsc) * mult / 2^32,
 * mult being 2^64 / (TSC Hz). Read on every lcore; written only by
 * gvpn_esp_clock_sync(). The sequence count is odd while a write is under
 * way, so a reader retries instead of using a half-written clock, and never
 * waits for anything but those few stores.
 */
static struct {
	uint32_t seq;
	uint64_t base_tsc;
	uint64_t base_ntp;
	uint64_t mult;
} clk __rte_cache_aligned;

/* Writer only: the first sync's TSC and CLOCK_MONOTONIC_RAW readings, from
 * which later syncs measure the TSC frequency. */
static uint64_t cal_tsc, cal_ns;

static inline uint64_t
clock_now(void)
{
	uint64_t base_tsc, base_ntp, mult;
	uint32_t sn;
	int64_t d;

	do {
		sn = __atomic_load_n(&clk.seq, __ATOMIC_ACQUIRE);
		base_tsc = __atomic_load_n(&clk.base_tsc, __ATOMIC_RELAXED);
		base_ntp = __atomic_load_n(&clk.base_ntp, __ATOMIC_RELAXED);
		mult = __atomic_load_n(&clk.mult, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((sn & 1) != 0 || __atomic_load_n(&clk.seq, __ATOMIC_RELAXED) != sn);
	/* Signed: another lcore's TSC may be a little behind the base. */
	d = (int64_t)(rte_get_tsc_cycles() - base_tsc);
	return base_ntp + (uint64_t)(((ddd_i128)d * (ddd_i128)mult) >> 32);
}

uint64_t
gvpn_esp_clock_now(void)
{
	return clock_now();
}

int
gvpn_esp_clock_sync(const struct timespec *now)
{
	struct timespec wall, mono;
	uint64_t hz = rte_get_tsc_hz(), tsc, ns, ntp, mult;
	uint32_t seq;

	if (hz == 0)
		return -EIO;
	if (now == NULL) {
		if (clock_gettime(CLOCK_REALTIME, &wall) != 0)
			return -errno;
		now = &wall;
	}
	if (clock_gettime(CLOCK_MONOTONIC_RAW, &mono) != 0)
		return -errno;
	tsc = rte_get_tsc_cycles();
	ns = (uint64_t)mono.tv_sec * DDD_NS_PER_S + (uint64_t)mono.tv_nsec;
	if (cal_ns == 0) {
		cal_ns = ns;
		cal_tsc = tsc;
	} else if (ns - cal_ns >= DDD_NS_PER_S) {
		/* EAL's estimate is good to a fraction of a percent; over
		 * seconds to hours of uptime this one gets far better. */
		hz = (uint64_t)((ddd_u128)(tsc - cal_tsc) * DDD_NS_PER_S / (ns - cal_ns));
		if (hz == 0)
			return -EIO;
	}
	mult = (uint64_t)(((ddd_u128)1 << 64) / hz);
	ntp = ((uint64_t)now->tv_sec + NTP_UNIX_EPOCH) << 32;
	ntp += ((uint64_t)now->tv_nsec << 32) / DDD_NS_PER_S;

	seq = clk.seq;
	__atomic_store_n(&clk.seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&clk.base_tsc, tsc, __ATOMIC_RELAXED);
	__atomic_store_n(&clk.base_ntp, ntp, __ATOMIC_RELAXED);
	__atomic_store_n(&clk.mult, mult, __ATOMIC_RELAXED);
	__atomic_store_n(&clk.seq, seq + 2, __ATOMIC_RELEASE);
	return 0;
}

/* Window 0: nothing on the wire, the inner packet follows the IV. */
static void
stamp_off(uint8_t *p)
{
	RTE_SET_USED(p);
}

/* The stamp, whose next header @p nh is the inner packet's family. */
static inline void
stamp_ntp(uint8_t *p, uint8_t nh)
{
	uint64_t t = rte_cpu_to_be_64(clock_now());

	p[0] = nh;
	p[1] = ESP_DDD_LEN;
	p[2] = DDD_TYPE_NTP64;
	p[3] = 0;
	memcpy(p + 4, &t, sizeof(t));
}

static void
stamp_ntp4(uint8_t *p)
{
	stamp_ntp(p, ESP_NH_IPV4);
}

static void
stamp_ntp6(uint8_t *p)
{
	stamp_ntp(p, ESP_NH_IPV6);
}

/* Parse order: announced, fits, length, type, reserved, next header; then
 * the window. The payload is authenticated already. */
static int
check_ntp(const struct gvpn_esp_sa *sa, const uint8_t *p, uint32_t len, uint8_t nh, uint32_t *off)
{
	uint64_t t;
	int64_t age;

	if (nh == sa->inner_nh)
		return GVPN_ESP_DROP_BAD_STAMP + 1; /* the group stamps every packet */
	if (nh != ESP_NH_DDD)
		return GVPN_ESP_DROP_BAD_NEXT_HDR + 1;
	if (len < ESP_DDD_LEN || p[1] != ESP_DDD_LEN || p[2] != DDD_TYPE_NTP64 || p[3] != 0)
		return GVPN_ESP_DROP_BAD_STAMP + 1;
	if (p[0] != sa->inner_nh)
		return GVPN_ESP_DROP_BAD_NEXT_HDR + 1;
	memcpy(&t, p + 4, sizeof(t));
	/* Modulo 2^64, so an NTP era change is no special case. */
	age = (int64_t)(clock_now() - rte_be_to_cpu_64(t));
	if (age > sa->ddd_window || age < -sa->ddd_window)
		return GVPN_ESP_DROP_REPLAY_WINDOW + 1;
	*off = ESP_DDD_LEN;
	return 0;
}

int
esp_ddd_setup(struct gvpn_esp_sa *sa, const struct gvpn_esp_sa_conf *conf)
{
	sa->replay_window_s = conf->replay_window_s;
	if (conf->replay_window_s == 0) {
		sa->ddd_len = 0;
		sa->next_hdr = sa->inner_nh;
		sa->ddd_window = 0;
		sa->ddd_stamp = stamp_off;
		sa->ddd_check = NULL; /* its opening checks the next header inline */
		return 0;
	}
	sa->ddd_len = ESP_DDD_LEN;
	sa->next_hdr = ESP_NH_DDD;
	sa->ddd_window = (int64_t)((uint64_t)conf->replay_window_s << 32);
	sa->ddd_stamp = sa->inner_nh == ESP_NH_IPV6 ? stamp_ntp6 : stamp_ntp4;
	sa->ddd_check = check_ntp;
	return gvpn_esp_clock_sync(NULL);
}
