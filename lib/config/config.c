/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <ctype.h>
#include <net/if.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libconfig.h>

#include "gvpn_common.h"
#include "gvpn_config.h"
#include "gvpn_ikev2.h"

#define DIM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * libconfig 1.5 keeps an integer without the L suffix in 32 bits and wraps
 * what does not fit (4294971393 reads as 4097, 0xFFFFFFFF as -1); a 64-bit
 * one saturates. It drops a "\x00" escape from a string without a word. So
 * the file's own text is scanned for the integers as written and for strings
 * with a NUL, and each setting is checked against them by its line.
 */
struct int_lit {
	int line;
	uint8_t is64;	  /* had the L suffix */
	uint8_t overflow; /* does not fit in 64 bits */
	long long lc;	  /* the value libconfig keeps */
	long long value;  /* the value written */
};

struct nul_str {
	int line;
	char *val; /* decoded as libconfig does: the NULs dropped */
};

struct scan {
	struct int_lit *ints;
	size_t n_ints, cap_ints;
	struct nul_str *nuls;
	size_t n_nuls, cap_nuls;
	int nul_byte_line; /* a raw NUL byte in the file: its line, else 0 */
};

struct ctx {
	const char *file;
	char *err;
	size_t errlen;
	const struct scan *scan;
};

static int
is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*';
}

static int
is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int
scan_int(struct scan *sc, const char *t, size_t *pos, int line)
{
	size_t i = *pos, j;
	int hex = 0, is64 = 0;
	long long v;
	unsigned long long u;

	j = i;
	if (t[j] == '+' || t[j] == '-')
		j++;
	if (t[j] == '0' && (t[j + 1] == 'x' || t[j + 1] == 'X') && gvpn_hex_digit(t[j + 2]) >= 0 &&
	    j == i) {
		hex = 1;
		for (j += 2; gvpn_hex_digit(t[j]) >= 0; j++)
			;
	} else {
		for (; t[j] >= '0' && t[j] <= '9'; j++)
			;
		if (t[j] == '.' || t[j] == 'e' || t[j] == 'E') { /* a float */
			for (j++; is_name_char(t[j]) || t[j] == '.' || t[j] == '+'; j++)
				;
			*pos = j;
			return 0;
		}
	}
	errno = 0;
	if (hex) {
		u = strtoull(t + i, NULL, 16);
		v = (long long)u;
	} else {
		v = strtoll(t + i, NULL, 10);
		u = (unsigned long long)v;
	}
	struct int_lit lit = {.line = line};
	lit.overflow = errno == ERANGE || (hex && u > (unsigned long long)LLONG_MAX);
	if (t[j] == 'L') {
		is64 = 1;
		j += t[j + 1] == 'L' ? 2 : 1;
	}
	lit.is64 = (uint8_t)is64;
	lit.value = v;
	lit.lc = is64 ? v : (long long)(int32_t)(uint32_t)u;
	*pos = j;
	if (sc->n_ints == sc->cap_ints) {
		size_t cap = sc->cap_ints ? sc->cap_ints * 2 : 64;
		struct int_lit *n = realloc(sc->ints, cap * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		sc->ints = n;
		sc->cap_ints = cap;
	}
	sc->ints[sc->n_ints++] = lit;
	return 0;
}

/* A string literal at t[*pos] == '"'; records it when it holds a NUL. */
static int
scan_string(struct scan *sc, const char *t, size_t *pos, int *line)
{
	size_t i = *pos + 1, n = 0, cap = 64;
	int start = *line, nul = 0;
	char *val = malloc(cap);

	if (val == NULL)
		return -ENOMEM;
	while (t[i] != '\0' && t[i] != '"') {
		char c = t[i++];

		if (c == '\\' && t[i] != '\0') {
			char e = t[i];

			if (e == '\\' || e == '"') {
				c = e;
				i++;
			} else if (e == 'f' || e == 'n' || e == 'r' || e == 't') {
				c = e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r' : '\t';
				i++;
			} else if (e == 'x' && gvpn_hex_digit(t[i + 1]) >= 0 &&
				   gvpn_hex_digit(t[i + 2]) >= 0) {
				c = (char)(gvpn_hex_digit(t[i + 1]) << 4 |
					   gvpn_hex_digit(t[i + 2]));
				i += 3;
				if (c == '\0') {
					nul = 1;
					continue;
				}
			}
		} else if (c == '\n') {
			(*line)++;
		}
		if (n + 1 == cap) {
			char *m = malloc(cap * 2);

			if (m == NULL) {
				gvpn_wipe(val, cap);
				free(val);
				return -ENOMEM;
			}
			memcpy(m, val, n);
			gvpn_wipe(val, cap);
			free(val);
			val = m;
			cap *= 2;
		}
		val[n++] = c;
	}
	val[n] = '\0';
	*pos = t[i] == '"' ? i + 1 : i;
	if (!nul) {
		gvpn_wipe(val, cap);
		free(val);
		return 0;
	}
	if (sc->n_nuls == sc->cap_nuls) {
		size_t ncap = sc->cap_nuls ? sc->cap_nuls * 2 : 8;
		struct nul_str *m = realloc(sc->nuls, ncap * sizeof(*m));

		if (m == NULL) {
			gvpn_wipe(val, cap);
			free(val);
			return -ENOMEM;
		}
		sc->nuls = m;
		sc->cap_nuls = ncap;
	}
	sc->nuls[sc->n_nuls++] = (struct nul_str){.line = start, .val = val};
	return 0;
}

/* The text of a whole file, NUL-terminated; @p len excludes the NUL. */
static int
scan_text(struct scan *sc, const char *t, size_t len)
{
	size_t i = 0;
	int line = 1, rc = 0;

	memset(sc, 0, sizeof(*sc));
	for (size_t k = 0; k < len; k++) {
		if (t[k] == '\n')
			line++;
		if (t[k] == '\0') {
			sc->nul_byte_line = line;
			return 0;
		}
	}
	line = 1;
	while (rc == 0 && t[i] != '\0') {
		char c = t[i];

		if (c == '\n') {
			line++;
			i++;
		} else if (c == '#' || (c == '/' && t[i + 1] == '/')) {
			while (t[i] != '\0' && t[i] != '\n')
				i++;
		} else if (c == '/' && t[i + 1] == '*') {
			for (i += 2; t[i] != '\0' && !(t[i] == '*' && t[i + 1] == '/'); i++)
				line += t[i] == '\n';
			if (t[i] != '\0')
				i += 2;
		} else if (c == '"') {
			rc = scan_string(sc, t, &i, &line);
		} else if (is_name_start(c)) {
			while (is_name_char(t[i]))
				i++;
		} else if ((c >= '0' && c <= '9') ||
			   ((c == '+' || c == '-') && t[i + 1] >= '0' && t[i + 1] <= '9')) {
			rc = scan_int(sc, t, &i, line);
		} else {
			i++;
		}
	}
	return rc;
}

static void
scan_free(struct scan *sc)
{
	for (size_t i = 0; i < sc->n_nuls; i++) {
		gvpn_wipe(sc->nuls[i].val, strlen(sc->nuls[i].val));
		free(sc->nuls[i].val);
	}
	free(sc->nuls);
	free(sc->ints);
	memset(sc, 0, sizeof(*sc));
}

/* "groups[0].sas[1].key" */
static void
setting_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *chain[16];
	int n = 0;
	size_t off = 0;

	for (; s != NULL && config_setting_parent(s) != NULL && n < 16;
	     s = config_setting_parent(s))
		chain[n++] = s;
	buf[0] = '\0';
	while (n-- > 0 && off < len) {
		const char *name = config_setting_name(chain[n]);
		int w = name != NULL ? snprintf(buf + off, len - off, "%s%s", off ? "." : "", name)
				     : snprintf(buf + off, len - off, "[%d]",
						config_setting_index(chain[n]));
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static int __attribute__((format(printf, 4, 5)))
fail(struct ctx *x, const config_setting_t *s, const char *member, const char *fmt, ...)
{
	char path[256], msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	setting_path(s, path, sizeof(path));
	snprintf(x->err, x->errlen, "%s:%d: %s%s%s: %s", x->file,
		 s != NULL ? config_setting_source_line(s) : 0, path,
		 member != NULL && path[0] ? "." : "", member != NULL ? member : "", msg);
	return -EINVAL;
}

/* Refuse settings this version does not know: a typo must not pass silently. */
static int
check_members(struct ctx *x, const config_setting_t *g, const char *const allowed[])
{
	int n = config_setting_length(g);

	if (!config_setting_is_group(g))
		return fail(x, g, NULL, "must be a group { ... }");
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned int)i);
		const char *name = config_setting_name(m);
		int ok = 0;

		for (int k = 0; allowed[k] != NULL && !ok; k++)
			ok = strcmp(name, allowed[k]) == 0;
		if (!ok)
			return fail(x, m, NULL, "unknown setting");
	}
	return 0;
}

static int
get_string(struct ctx *x, const config_setting_t *g, const char *name, int required, char *out,
	   size_t cap)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	const char *v;

	if (s == NULL)
		return required ? fail(x, g, name, "missing") : 1;
	v = config_setting_get_string(s);
	if (v == NULL)
		return fail(x, s, NULL, "must be a string");
	if (strlen(v) >= cap)
		return fail(x, s, NULL, "longer than %zu characters", cap - 1);
	strcpy(out, v);
	return 0;
}

/* Is @p s from the file that was scanned (not an @include)? */
static int
in_scanned_file(const struct ctx *x, const config_setting_t *s)
{
	const char *f = config_setting_source_file(s);

	return x->scan != NULL && (f == NULL || strcmp(f, x->file) == 0);
}

/*
 * An integer setting as the file wrote it: 1 when it is no integer, -ERANGE
 * when it does not fit in 64 bits, -EDOM when two integers on its line that
 * libconfig keeps alike were written differently (which one is this?), else
 * 0 with the value in @p out.
 */
static int
setting_int(const struct ctx *x, const config_setting_t *s, long long *out)
{
	int type = config_setting_type(s), line = (int)config_setting_source_line(s);
	const struct int_lit *match = NULL;
	long long lc;

	if (type == CONFIG_TYPE_INT)
		lc = config_setting_get_int(s);
	else if (type == CONFIG_TYPE_INT64)
		lc = config_setting_get_int64(s);
	else
		return 1;
	*out = lc;
	if (!in_scanned_file(x, s))
		return 0;
	for (size_t i = 0; i < x->scan->n_ints; i++) {
		const struct int_lit *l = &x->scan->ints[i];

		if (l->line != line || l->is64 != (type == CONFIG_TYPE_INT64) || l->lc != lc)
			continue;
		if (match != NULL && (match->value != l->value || match->overflow != l->overflow))
			return -EDOM;
		match = l;
	}
	if (match == NULL)
		return 0;
	if (match->overflow)
		return -ERANGE;
	*out = match->value;
	return 0;
}

static int
get_int(struct ctx *x, const config_setting_t *g, const char *name, long long lo, long long hi,
	long long *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	long long v = 0;
	int rc;

	if (s == NULL)
		return 1;
	rc = setting_int(x, s, &v);
	if (rc == 1)
		return fail(x, s, NULL, "must be an integer");
	if (rc == -EDOM)
		return fail(x, s, NULL,
			    "another integer on this line is too large for libconfig; "
			    "give each setting a line of its own");
	if (rc != 0 || v < lo || v > hi)
		return fail(x, s, NULL, "must be %lld..%lld", lo, hi);
	*out = v;
	return 0;
}

static int
get_bool(struct ctx *x, const config_setting_t *g, const char *name, int *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);

	if (s == NULL)
		return 1;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(x, s, NULL, "must be true or false");
	*out = config_setting_get_bool(s);
	return 0;
}

/* One of @p names, returning its index. */
static int
get_enum(struct ctx *x, const config_setting_t *g, const char *name, const char *const names[],
	 int *out)
{
	char v[32];
	int rc = get_string(x, g, name, 0, v, sizeof(v));

	if (rc != 0)
		return rc;
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
	char list[128] = "";
	for (int i = 0; names[i] != NULL; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 names[i]);
	return fail(x, config_setting_get_member(g, name), NULL, "'%s' is not one of: %s", v, list);
}

/* A prefix's family as parse_prefix() found it. */
enum { PREFIX_V4 = 4, PREFIX_V6 = 6 };

static int
parse_prefix6(struct ctx *x, const config_setting_t *g, const char *name, char *v, long len,
	      struct gvpn_prefix *p)
{
	struct in6_addr a;

	if (len > 128 || inet_pton(AF_INET6, v, &a) != 1)
		return fail(x, config_setting_get_member(g, name), NULL,
			    "not an IPv6 address or prefix (2001:db8::1 or 2001:db8::/32)");
	memcpy(p->addr6, &a, sizeof(p->addr6));
	p->addr = 0;
	p->len = (uint8_t)len;
	for (long bit = len; bit < 128; bit++)
		if (p->addr6[bit / 8] & (0x80 >> (bit % 8))) {
			char fixed[INET6_ADDRSTRLEN];

			for (long b = len; b < 128; b++)
				a.s6_addr[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
			inet_ntop(AF_INET6, &a, fixed, sizeof(fixed));
			return fail(x, config_setting_get_member(g, name), NULL,
				    "host bits set (did you mean %s/%ld?)", fixed, len);
		}
	return PREFIX_V6;
}

/* An address or prefix, IPv4 or IPv6: PREFIX_V4 or PREFIX_V6, 1 when the
 * setting is absent, or a negative error. */
static int
parse_prefix(struct ctx *x, const config_setting_t *g, const char *name, struct gvpn_prefix *p)
{
	char v[INET6_ADDRSTRLEN + 8], *slash;
	struct in_addr a;
	long len = -1;
	int rc = get_string(x, g, name, 0, v, sizeof(v));

	if (rc != 0)
		return rc;
	slash = strchr(v, '/');
	if (slash != NULL) {
		char *end;

		*slash = '\0';
		len = strtol(slash + 1, &end, 10);
		if (*end != '\0' || slash[1] == '\0' || len < 0)
			goto bad;
	}
	if (strchr(v, ':') != NULL)
		return parse_prefix6(x, g, name, v, len < 0 ? 128 : len, p);
	if (len < 0)
		len = 32;
	if (len > 32 || inet_pton(AF_INET, v, &a) != 1)
		goto bad;
	p->addr = ntohl(a.s_addr);
	p->len = (uint8_t)len;
	if (len < 32 && (p->addr & ~(len ? ~0u << (32 - len) : 0)) != 0) {
		struct in_addr net = {.s_addr = htonl(p->addr & (len ? ~0u << (32 - len) : 0))};
		char fixed[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &net, fixed, sizeof(fixed));
		return fail(x, config_setting_get_member(g, name), NULL,
			    "host bits set (did you mean %s/%ld?)", fixed, len);
	}
	return PREFIX_V4;
bad:
	return fail(x, config_setting_get_member(g, name), NULL,
		    "not an address or prefix (a.b.c.d/len or 2001:db8::/len)");
}

static int
parse_ports(struct ctx *x, const config_setting_t *g, const char *name, uint16_t *lo, uint16_t *hi)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	long long a, b;
	char *end;

	*lo = 0;
	*hi = 65535;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64) {
		if (setting_int(x, s, &a) != 0)
			goto bad;
		b = a;
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(s);

		a = strtol(v, &end, 10);
		if (end == v || (*end != '-' && *end != '\0'))
			goto bad;
		b = a;
		if (*end == '-') {
			const char *v2 = end + 1;

			b = strtol(v2, &end, 10);
			if (end == v2 || *end != '\0')
				goto bad;
		}
	} else {
		goto bad;
	}
	if (a < 0 || b > 65535 || a > b)
		goto bad;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
bad:
	return fail(x, s, NULL, "a port 0..65535 or a range \"low-high\"");
}

static int
parse_proto(struct ctx *x, const config_setting_t *g, uint8_t *proto)
{
	static const struct {
		const char *name;
		uint8_t num;
	} names[] = {{"any", 0},  {"icmp", 1},	{"tcp", 6},   {"udp", 17},   {"gre", 47},
		     {"esp", 50}, {"ospf", 89}, {"pim", 103}, {"vrrp", 112}, {"sctp", 132}};
	const config_setting_t *s = config_setting_get_member(g, "protocol");
	const char *v;

	*proto = 0;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64) {
		long long n = 0;

		if (setting_int(x, s, &n) != 0 || n < 0 || n > 255)
			return fail(x, s, NULL, "must be 0..255 or a name");
		*proto = (uint8_t)n;
		return 0;
	}
	v = config_setting_get_string(s);
	for (size_t i = 0; v != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i].name) == 0) {
			*proto = names[i].num;
			return 0;
		}
	return fail(x, s, NULL,
		    "unknown protocol (any, icmp, tcp, udp, gre, esp, ospf, pim, "
		    "vrrp, sctp or a number)");
}

/*
 * A selector. Its family is its addresses': src and dst must agree. One with
 * neither is IPv4 where @p any_family is 0 (an SA: an SA is one family),
 * else GVPN_AF_ANY (a bypass or fail-open rule: both families).
 */
static int
parse_selector(struct ctx *x, const config_setting_t *g, struct gvpn_selector *sel, int any_family)
{
	long long vlan = 0;
	int rs, rd, rc;

	memset(sel, 0, sizeof(*sel));
	if ((rs = parse_prefix(x, g, "src", &sel->src)) < 0)
		return rs;
	if (rs == 1)
		sel->src.len = 0; /* any */
	if ((rd = parse_prefix(x, g, "dst", &sel->dst)) < 0)
		return rd;
	if (rd == 1)
		sel->dst.len = 0;
	if (rs != 1 && rd != 1 && rs != rd)
		return fail(x, g, "dst",
			    "src and dst must be the same family (both IPv4 or both IPv6)");
	if (rs == PREFIX_V6 || rd == PREFIX_V6)
		sel->af = GVPN_AF_IPV6;
	else if (rs == 1 && rd == 1 && any_family)
		sel->af = GVPN_AF_ANY;
	if ((rc = parse_proto(x, g, &sel->proto)) < 0)
		return rc;
	if ((rc = parse_ports(x, g, "src_port", &sel->sport_lo, &sel->sport_hi)) < 0)
		return rc;
	if ((rc = parse_ports(x, g, "dst_port", &sel->dport_lo, &sel->dport_hi)) < 0)
		return rc;
	if ((sel->sport_lo != 0 || sel->sport_hi != 65535 || sel->dport_lo != 0 ||
	     sel->dport_hi != 65535) &&
	    sel->proto != 6 && sel->proto != 17 && sel->proto != 132)
		return fail(x, g, "protocol", "ports need protocol tcp, udp or sctp");
	/* the innermost 802.1Q tag's VLAN ID; none: every VLAN and untagged */
	if ((rc = get_int(x, g, "vlan", 1, GVPN_VLAN_MAX, &vlan)) < 0)
		return rc;
	sel->vlan = (uint16_t)vlan;
	return 0;
}

/*
 * A key or PSK file: a regular file of at most cap - 1 bytes, read with
 * read(2) into @p out (no stdio buffer keeps a copy). Opened non-blocking so
 * that a FIFO or a device cannot hold up --check or a reload: anything but a
 * regular file is refused at once. Trailing newlines and spaces are dropped.
 */
static int
read_key_file(struct ctx *x, const config_setting_t *s, const char *path, char *out, size_t cap)
{
	struct stat st;
	size_t n = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fail(x, s, NULL, "cannot read '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		err = errno;
	} else if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail(x, s, NULL, "'%s' is not a regular file", path);
	} else if (st.st_size < 0 || (size_t)st.st_size > cap - 1) {
		close(fd);
		return fail(x, s, NULL,
			    "'%s' is larger than a key can be (%lld bytes, at most %zu)", path,
			    (long long)st.st_size, cap - 1);
	}
	while (err == 0) {
		ssize_t r = read(fd, out + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err = errno;
		else if (r == 0)
			break;
		else if ((n += (size_t)r) == cap)
			break; /* grew since fstat */
	}
	close(fd);
	if (err != 0) {
		gvpn_wipe(out, cap);
		return fail(x, s, NULL, "cannot read '%s': %s", path, strerror(err));
	}
	if (n > cap - 1) {
		gvpn_wipe(out, cap);
		return fail(x, s, NULL, "'%s' is larger than a key can be (at most %zu bytes)",
			    path, cap - 1);
	}
	if (memchr(out, '\0', n) != NULL) {
		gvpn_wipe(out, cap);
		return fail(x, s, NULL, "'%s' holds a NUL byte", path);
	}
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
		out[--n] = '\0';
	return 0;
}

/* A key from "NAME" (hex) or "NAME_file" (a file holding the hex). */
static int
parse_key(struct ctx *x, const config_setting_t *g, const char *name, uint8_t *key, uint8_t *len)
{
	char file_member[32], hex[256], path[PATH_MAX];
	const config_setting_t *s = config_setting_get_member(g, name);
	int rc, n;

	snprintf(file_member, sizeof(file_member), "%s_file", name);
	*len = 0;
	if (s != NULL && config_setting_get_member(g, file_member) != NULL)
		return fail(x, s, NULL, "give %s or %s, not both", name, file_member);
	if (s != NULL) {
		rc = get_string(x, g, name, 1, hex, sizeof(hex));
	} else {
		s = config_setting_get_member(g, file_member);
		if (s == NULL)
			return 1;
		rc = get_string(x, g, file_member, 1, path, sizeof(path));
		if (rc == 0)
			rc = read_key_file(x, s, path, hex, sizeof(hex));
	}
	if (rc != 0)
		return rc;
	n = gvpn_hex_parse(hex, key, GVPN_KEY_MAX);
	gvpn_wipe(hex, sizeof(hex));
	if (n < 0)
		return fail(x, s, NULL, "not a hex key of at most %d bytes", GVPN_KEY_MAX);
	*len = (uint8_t)n;
	return 0;
}

static int
parse_sa(struct ctx *x, const config_setting_t *g, struct gvpn_sa_conf *sa)
{
	static const char *const allowed[] = {"spi",	  "src",	   "dst",      "protocol",
					      "src_port", "dst_port",	   "vlan",     "mirror",
					      "cipher",	  "key",	   "key_file", "auth",
					      "auth_key", "auth_key_file", "lifetime", NULL};
	struct gvpn_crypto_xform *xf = &sa->xform;
	char name[32];
	long long v = 0;
	int rc;

	if ((rc = check_members(x, g, allowed)) != 0)
		return rc;
	sa->line = config_setting_source_line(g);
	rc = get_int(x, g, "spi", 256, UINT32_MAX, &v);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return fail(x, g, "spi", "missing (256..4294967295)");
	sa->spi = (uint32_t)v;
	if ((rc = parse_selector(x, g, &sa->sel, 0)) != 0)
		return rc;
	if (get_bool(x, g, "mirror", &sa->mirror) < 0)
		return -EINVAL;
	if ((rc = get_string(x, g, "cipher", 1, name, sizeof(name))) != 0)
		return rc;
	if (gvpn_cipher_parse(name, &xf->cipher) != 0 || xf->cipher == GVPN_CIPHER_NULL)
		return fail(x, config_setting_get_member(g, "cipher"), NULL,
			    "'%s' is not one of: des-cbc, 3des-cbc, aes-cbc, aes-gcm, aes-gmac",
			    name);
	xf->auth = GVPN_AUTH_NONE;
	rc = get_string(x, g, "auth", 0, name, sizeof(name));
	if (rc < 0)
		return rc;
	if (rc == 0 && (gvpn_auth_parse(name, &xf->auth) != 0))
		return fail(x, config_setting_get_member(g, "auth"), NULL,
			    "'%s' is not one of: hmac-md5-96, hmac-sha1-96, hmac-sha256-128, "
			    "hmac-sha384-192, hmac-sha512-256, none",
			    name);
	if (gvpn_cipher_is_counter(xf->cipher) && xf->auth != GVPN_AUTH_NONE)
		return fail(x, config_setting_get_member(g, "auth"), NULL,
			    "%s carries its own ICV: leave auth out", gvpn_cipher_name(xf->cipher));
	if (!gvpn_cipher_is_counter(xf->cipher) && xf->auth == GVPN_AUTH_NONE)
		return fail(x, g, "auth", "missing: %s needs an integrity algorithm",
			    gvpn_cipher_name(xf->cipher));
	rc = parse_key(x, g, "key", xf->cipher_key, &xf->cipher_key_len);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return fail(x, g, "key", "missing (key = \"hex\" or key_file = \"path\")");
	struct gvpn_crypto_xform probe = *xf; /* the cipher key alone */

	probe.auth = GVPN_AUTH_NONE;
	probe.auth_key_len = 0;
	if (gvpn_xform_check(&probe) != 0) {
		static const char *const want[] = {
		    [GVPN_CIPHER_DES_CBC] = "8",
		    [GVPN_CIPHER_3DES_CBC] = "24",
		    [GVPN_CIPHER_AES_CBC] = "16, 24 or 32",
		    [GVPN_CIPHER_AES_GCM] = "20 or 36 (key + 4-byte salt)",
		    [GVPN_CIPHER_AES_GMAC] = "20 or 36 (key + 4-byte salt)"};

		gvpn_wipe(&probe, sizeof(probe));
		return fail(x, g, config_setting_get_member(g, "key") ? "key" : "key_file",
			    "%u bytes; %s needs %s", xf->cipher_key_len,
			    gvpn_cipher_name(xf->cipher), want[xf->cipher]);
	}
	gvpn_wipe(&probe, sizeof(probe));
	rc = parse_key(x, g, "auth_key", xf->auth_key, &xf->auth_key_len);
	if (rc < 0)
		return rc;
	if (xf->auth != GVPN_AUTH_NONE && xf->auth_key_len != gvpn_auth_key_len(xf->auth))
		return fail(x, g, "auth_key", "%s needs a %u-byte key%s", gvpn_auth_name(xf->auth),
			    gvpn_auth_key_len(xf->auth), rc == 1 ? " (missing)" : "");
	if (xf->auth == GVPN_AUTH_NONE && rc == 0)
		return fail(x, config_setting_get_member(g, "auth_key"), NULL,
			    "no integrity algorithm uses it");
	rc = get_int(x, g, "lifetime", 0, UINT32_MAX, &v);
	if (rc < 0)
		return rc;
	sa->lifetime = rc == 0 ? (uint32_t)v : 0;
	return 0;
}

static int
parse_fail_open(struct ctx *x, const config_setting_t *g, struct gvpn_selector *sel)
{
	static const char *const allowed[] = {"src", "dst", "vlan", NULL};
	int rc;

	if ((rc = check_members(x, g, allowed)) != 0)
		return rc;
	return parse_selector(x, g, sel, 1);
}

int
gvpn_phase1_parse(const char *s, struct gvpn_phase1 *p)
{
	static const struct {
		const char *name;
		uint8_t enc;
		uint16_t bits;
	} encs[] = {{"des", 1, 0},
		    {"3des", 5, 0},
		    {"aes128", 7, 128},
		    {"aes192", 7, 192},
		    {"aes256", 7, 256}};
	static const struct {
		const char *name;
		uint8_t v;
	} hashes[] = {{"md5", 1}, {"sha1", 2}, {"sha256", 4}},
	  groups[] = {{"modp768", 1},	{"modp1024", 2},  {"modp1536", 5}, {"modp2048", 14},
		      {"modp3072", 15}, {"modp4096", 16}, {"ecp256", 19},  {"ecp384", 20}};
	char buf[48], *e, *h, *g, *save = NULL;
	int ok = 0;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	e = strtok_r(buf, "-", &save);
	h = strtok_r(NULL, "-", &save);
	g = strtok_r(NULL, "-", &save);
	if (e == NULL || h == NULL || g == NULL || strtok_r(NULL, "-", &save) != NULL)
		return -1;
	for (size_t i = 0; i < DIM(encs); i++)
		if (strcmp(e, encs[i].name) == 0) {
			p->enc = encs[i].enc;
			p->key_bits = encs[i].bits;
			ok |= 1;
		}
	for (size_t i = 0; i < DIM(hashes); i++)
		if (strcmp(h, hashes[i].name) == 0) {
			p->hash = hashes[i].v;
			ok |= 2;
		}
	for (size_t i = 0; i < DIM(groups); i++)
		if (strcmp(g, groups[i].name) == 0) {
			p->group = groups[i].v;
			ok |= 4;
		}
	return ok == 7 ? 0 : -1;
}

/*
 * "a.b.c.d", "a.b.c.d:port", "[2001:db8::10]", "[2001:db8::10]:port" or a
 * bare "2001:db8::10" (no port then: its colons are the address's).
 * @return GVPN_AF_IPV4 or GVPN_AF_IPV6, or -1.
 */
static int
parse_addr_port(const char *s, uint32_t *addr, uint8_t addr6[16], uint16_t *port, uint16_t def_port)
{
	char buf[INET6_ADDRSTRLEN + 16], *colon = NULL, *host = buf;
	struct in6_addr a6;
	struct in_addr a;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	*port = def_port;
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return -1;
		*close = '\0';
		host = buf + 1;
		colon = close[1] == ':' ? close + 1 : NULL;
	} else if (strchr(buf, ':') == strrchr(buf, ':')) {
		colon = strchr(buf, ':'); /* IPv4: one colon at most */
	}
	if (colon != NULL) {
		char *end;
		long p = strtol(colon + 1, &end, 10);

		if (*end != '\0' || colon[1] == '\0' || p < 1 || p > 65535)
			return -1;
		*port = (uint16_t)p;
		*colon = '\0';
	}
	if (host == buf + 1 || strchr(host, ':') != NULL) {
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return -1;
		*addr = 0;
		memcpy(addr6, &a6, 16);
		return GVPN_AF_IPV6;
	}
	if (inet_pton(AF_INET, host, &a) != 1)
		return -1;
	*addr = ntohl(a.s_addr);
	memset(addr6, 0, 16);
	return GVPN_AF_IPV4;
}

#define ADDR_PORT_FORMS                                                                            \
	"not \"a.b.c.d\", \"a.b.c.d:port\", \"[2001:db8::10]:port\", \"[2001:db8::10]\" or "       \
	"\"2001:db8::10\""

static const char *
af_name(int af)
{
	return af == GVPN_AF_IPV6 ? "IPv6" : "IPv4";
}

/* Key servers, local address, PSK, phase-1 proposals, retry timing. */
static int
parse_gdoi(struct ctx *x, const config_setting_t *g, struct gvpn_gdoi_conf *k)
{
	static const char *const habits[] = {"strict", "reference", NULL};
	const config_setting_t *l = config_setting_get_member(g, "key_servers");
	char buf[GVPN_PSK_MAX + 1], path[PATH_MAX];
	int rc, h = GVPN_KS_HABITS_STRICT;
	long long v = 0;

	if (!config_setting_is_list(l) && !config_setting_is_array(l))
		return fail(x, l, NULL, "must be a list of \"address[:port]\" strings");
	if (config_setting_length(l) < 1 || config_setting_length(l) > GVPN_MAX_KEY_SERVERS)
		return fail(x, l, NULL, "1 to %d key servers (R12)", GVPN_MAX_KEY_SERVERS);
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned int)i);
		const char *s = config_setting_get_string(e);

		int af = s == NULL ? -1
				   : parse_addr_port(s, &k->server_addr[i], k->server_addr6[i],
						     &k->server_port[i], GVPN_GDOI_PORT);

		if (af < 0)
			return fail(x, e, NULL, ADDR_PORT_FORMS);
		/* one family: the group's socket is IPv4 or IPv6 */
		if (i != 0 && af != k->af)
			return fail(x, e, NULL,
				    "an %s key server after %s ones: a group's key_servers and "
				    "local_address are all IPv4 or all IPv6",
				    af_name(af), af_name(k->af));
		k->af = (uint8_t)af;
		k->n_servers++;
	}
	rc = get_string(x, g, "local_address", 1, buf, sizeof(buf));
	if (rc != 0)
		return rc;
	rc = parse_addr_port(buf, &k->local_addr, k->local_addr6, &k->local_port, 0);
	if (rc < 0)
		return fail(x, config_setting_get_member(g, "local_address"), NULL,
			    ADDR_PORT_FORMS);
	if (rc != k->af)
		return fail(x, config_setting_get_member(g, "local_address"), NULL,
			    "an %s address, but key_servers are %s: a group's key_servers and "
			    "local_address are all IPv4 or all IPv6",
			    af_name(rc), af_name(k->af));
	/* The pre-shared key: inline or from a file, at least 20 characters. */
	if (config_setting_get_member(g, "psk") != NULL &&
	    config_setting_get_member(g, "psk_file") != NULL)
		return fail(x, config_setting_get_member(g, "psk"), NULL,
			    "give psk or psk_file, not both");
	if (config_setting_get_member(g, "psk") != NULL) {
		rc = get_string(x, g, "psk", 1, buf, sizeof(buf));
	} else {
		rc = get_string(x, g, "psk_file", 0, path, sizeof(path));
		if (rc == 1)
			return fail(x, g, "psk", "missing (psk = \"...\" or psk_file = \"path\")");
		if (rc == 0)
			rc = read_key_file(x, config_setting_get_member(g, "psk_file"), path, buf,
					   sizeof(buf));
	}
	if (rc != 0)
		return rc;
	if (strlen(buf) < GVPN_PSK_MIN) {
		const config_setting_t *s = config_setting_get_member(g, "psk");

		gvpn_wipe(buf, sizeof(buf));
		return fail(x, s != NULL ? s : config_setting_get_member(g, "psk_file"), NULL,
			    "the pre-shared key must have at least %d characters (R10)",
			    GVPN_PSK_MIN);
	}
	k->psk_len = (uint16_t)strlen(buf);
	memcpy(k->psk, buf, k->psk_len);
	gvpn_wipe(buf, sizeof(buf));

	l = config_setting_get_member(g, "phase1");
	if (l == NULL) {
		gvpn_phase1_parse("aes256-sha256-modp2048", &k->phase1[k->n_phase1++]);
		gvpn_phase1_parse("aes128-sha1-modp2048", &k->phase1[k->n_phase1++]);
	} else {
		if (!config_setting_is_list(l) && !config_setting_is_array(l))
			return fail(x, l, NULL, "must be a list of proposals");
		if (config_setting_length(l) < 1 || config_setting_length(l) > GVPN_MAX_PHASE1)
			return fail(x, l, NULL, "1 to %d proposals", GVPN_MAX_PHASE1);
		for (int i = 0; i < config_setting_length(l); i++) {
			const config_setting_t *e = config_setting_get_elem(l, (unsigned int)i);
			const char *s = config_setting_get_string(e);

			if (s == NULL || gvpn_phase1_parse(s, &k->phase1[k->n_phase1++]) != 0)
				return fail(x, e, NULL,
					    "not ENC-HASH-GROUP (des|3des|aes128|aes192|aes256 - "
					    "md5|sha1|sha256 - modp768|modp1024|modp1536|modp2048|"
					    "modp3072|modp4096|ecp256|ecp384)");
		}
	}
	k->phase1_lifetime = 86400;
	if ((rc = get_int(x, g, "phase1_lifetime", 60, 86400 * 7, &v)) < 0)
		return rc;
	if (rc == 0)
		k->phase1_lifetime = (uint32_t)v;
	k->retry_interval_ms = 10000;
	if ((rc = get_int(x, g, "retry_interval", 1, 3600, &v)) < 0)
		return rc;
	if (rc == 0)
		k->retry_interval_ms = (uint32_t)v * 1000;
	k->retries = 3;
	if ((rc = get_int(x, g, "retries", 1, 100, &v)) < 0)
		return rc;
	if (rc == 0)
		k->retries = (uint8_t)v;
	if (get_enum(x, g, "key_server_habits", habits, &h) < 0)
		return -EINVAL;
	k->habits = (enum gvpn_ks_habits)h;
	return 0;
}

/* Settings of one protocol that the other does not take. */
static const char *const gdoi_only[] = {"phase1", "phase1_lifetime", "key_server_habits", NULL};
static const char *const gikev2_only[] = {"ikev2_proposals", "idg", "sender_ids", "allow_implicit",
					  NULL};

/* protocol = "g-ikev2": IKEv2 proposals (each with a key wrap algorithm),
 * IDg, Sender-IDs, implicit rekey authentication (doc/g-ikev2.md). */
static int
parse_gikev2(struct ctx *x, const config_setting_t *g, struct gvpn_group_conf *gc)
{
	struct gvpn_gikev2_conf *k = &gc->gikev2;
	const config_setting_t *l = config_setting_get_member(g, "ikev2_proposals");
	long long v = 0;
	int rc;

	if (l == NULL) {
		snprintf(k->proposals[k->n_proposals++], GVPN_IKEV2_PROPOSAL_MAX,
			 "aes256-sha256-modp2048-kw256");
		snprintf(k->proposals[k->n_proposals++], GVPN_IKEV2_PROPOSAL_MAX,
			 "aes128gcm16-prfsha256-ecp256-kw128");
	} else {
		if (!config_setting_is_list(l) && !config_setting_is_array(l))
			return fail(x, l, NULL, "must be a list of proposals");
		if (config_setting_length(l) < 1 ||
		    config_setting_length(l) > GVPN_MAX_IKEV2_PROPOSALS)
			return fail(x, l, NULL, "1 to %d proposals", GVPN_MAX_IKEV2_PROPOSALS);
		for (int i = 0; i < config_setting_length(l); i++) {
			const config_setting_t *e = config_setting_get_elem(l, (unsigned int)i);
			const char *str = config_setting_get_string(e);
			struct ikev2_proposal p;

			if (str == NULL || strlen(str) >= GVPN_IKEV2_PROPOSAL_MAX ||
			    ikev2_proposal_parse(str, 0, &p) != 0)
				return fail(
				    x, e, NULL,
				    "not an IKEv2 proposal: ENC-INTEG[-PRF]-GROUP-KW words "
				    "(aes128 aes192 aes256 aes128gcm16 aes256gcm16 ..., sha256 "
				    "sha384 sha512, prfsha256 ..., modp2048 modp3072 modp4096 "
				    "ecp256 ecp384, kw128 kw192 kw256)");
			if (p.n_kwa == 0)
				return fail(
				    x, e, NULL,
				    "no key wrap algorithm: G-IKEv2 needs one (kw128, kw192 "
				    "or kw256)");
			strcpy(k->proposals[k->n_proposals++], str);
		}
	}
	rc = get_string(x, g, "idg", 0, k->idg, sizeof(k->idg));
	if (rc < 0)
		return rc;
	if (rc == 0 && k->idg[0] == '\0')
		return fail(x, config_setting_get_member(g, "idg"), NULL, "must not be empty");
	k->idg_len = rc == 0 ? (uint8_t)strlen(k->idg) : 0;
	/* a member that encrypts asks for a Sender-ID; a receiver asks none */
	k->sender_ids = gc->direction == GVPN_DIR_INBOUND ? 0 : 1;
	if ((rc = get_int(x, g, "sender_ids", 0, GVPN_MAX_SENDER_IDS, &v)) < 0)
		return rc;
	if (rc == 0) {
		if (v == 0 && gc->direction != GVPN_DIR_INBOUND)
			return fail(x, config_setting_get_member(g, "sender_ids"), NULL,
				    "0 makes the member a receiver only (its TEKs never "
				    "encrypt): set direction = \"inbound\" for that");
		if (v != 0 && gc->direction == GVPN_DIR_INBOUND)
			return fail(x, config_setting_get_member(g, "sender_ids"), NULL,
				    "an inbound group never sends: 0 or absent");
		k->sender_ids = (uint8_t)v;
	}
	if (get_bool(x, g, "allow_implicit", &k->allow_implicit) < 0)
		return -EINVAL;
	return 0;
}

static int
parse_group(struct ctx *x, const config_setting_t *g, struct gvpn_group_conf *gc)
{
	static const char *const allowed[] = {"name",
					      "id",
					      "direction",
					      "fail_open",
					      "sas",
					      "key_servers",
					      "local_address",
					      "psk",
					      "psk_file",
					      "phase1",
					      "phase1_lifetime",
					      "retry_interval",
					      "retries",
					      "key_server_habits",
					      "protocol",
					      "ikev2_proposals",
					      "idg",
					      "sender_ids",
					      "allow_implicit",
					      NULL};
	static const char *const dirs[] = {"both", "inbound", "outbound", NULL};
	static const char *const protos[] = {"gdoi", "g-ikev2", NULL};
	const config_setting_t *l;
	long long v = 0;
	int rc, d = GVPN_DIR_BOTH, proto = GVPN_GROUP_PROTO_GDOI;

	if ((rc = check_members(x, g, allowed)) != 0)
		return rc;
	if ((rc = get_string(x, g, "name", 1, gc->name, sizeof(gc->name))) != 0)
		return rc;
	rc = get_int(x, g, "id", 0, UINT32_MAX, &v);
	if (rc < 0)
		return rc;
	gc->id = rc == 0 ? (uint32_t)v : 0;
	if (get_enum(x, g, "direction", dirs, &d) < 0)
		return -EINVAL;
	gc->direction = (enum gvpn_direction)d;

	l = config_setting_get_member(g, "fail_open");
	if (l != NULL) {
		if (!config_setting_is_list(l))
			return fail(x, l, NULL, "must be a list ( {...}, ... )");
		if (config_setting_length(l) > GVPN_MAX_FAIL_OPEN)
			return fail(x, l, NULL, "at most %d rules per group", GVPN_MAX_FAIL_OPEN);
		for (int i = 0; i < config_setting_length(l); i++) {
			rc = parse_fail_open(x, config_setting_get_elem(l, (unsigned int)i),
					     &gc->fail_open[gc->n_fail_open++]);
			if (rc != 0)
				return rc;
		}
	}
	if (config_setting_get_member(g, "key_servers") != NULL) {
		if (config_setting_get_member(g, "sas") != NULL)
			return fail(x, config_setting_get_member(g, "sas"), NULL,
				    "a group gets its SAs from key_servers or from sas, not both");
		gc->gdoi = 1;
		if (get_enum(x, g, "protocol", protos, &proto) < 0)
			return -EINVAL;
		gc->protocol = (enum gvpn_group_protocol)proto;
		for (const char *const *n = gdoi_only;
		     gc->protocol == GVPN_GROUP_PROTO_GIKEV2 && *n != NULL; n++)
			if (config_setting_get_member(g, *n) != NULL)
				return fail(
				    x, config_setting_get_member(g, *n), NULL,
				    "GDOI's (IKEv1); a g-ikev2 group takes ikev2_proposals");
		if ((rc = parse_gdoi(x, g, &gc->ks)) != 0)
			return rc;
		if (gc->protocol == GVPN_GROUP_PROTO_GIKEV2)
			return parse_gikev2(x, g, gc);
		for (const char *const *k = gikev2_only; *k != NULL; k++)
			if (config_setting_get_member(g, *k) != NULL)
				return fail(x, config_setting_get_member(g, *k), NULL,
					    "only with protocol = \"g-ikev2\"");
		return 0;
	}
	for (const char *const *k =
		 (const char *const[]){"local_address", "psk", "psk_file", "phase1",
				       "retry_interval", "retries", "key_server_habits", "protocol",
				       "ikev2_proposals", "idg", "sender_ids", "allow_implicit",
				       NULL};
	     *k != NULL; k++)
		if (config_setting_get_member(g, *k) != NULL)
			return fail(x, config_setting_get_member(g, *k), NULL,
				    "only meaningful with key_servers");
	l = config_setting_get_member(g, "sas");
	if (l == NULL)
		return 0; /* a group may wait for keys */
	if (!config_setting_is_list(l))
		return fail(x, l, NULL, "must be a list ( {...}, ... )");
	if (config_setting_length(l) > GVPN_MAX_GROUP_SAS)
		return fail(x, l, NULL, "at most %d SAs per group", GVPN_MAX_GROUP_SAS);
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned int)i);

		rc = parse_sa(x, e, &gc->sas[gc->n_sas++]);
		if (rc != 0)
			return rc;
		for (int k = 0; k < gc->n_sas - 1; k++)
			if (gc->sas[k].spi == gc->sas[gc->n_sas - 1].spi)
				return fail(x, e, "spi", "0x%x already used at line %d",
					    gc->sas[k].spi, gc->sas[k].line);
	}
	return 0;
}

/* An interface address "a.b.c.d/len": host bits may be set, but it is
 * neither the subnet's own address nor its broadcast (below /31). */
static int
parse_if_address(struct ctx *x, const config_setting_t *g, const char *name, uint32_t *addr,
		 uint8_t *len)
{
	char v[40], *slash, *end;
	struct in_addr a;
	long l;
	int rc = get_string(x, g, name, 0, v, sizeof(v));
	const config_setting_t *s = config_setting_get_member(g, name);

	if (rc != 0)
		return rc;
	slash = strchr(v, '/');
	if (slash == NULL)
		return fail(x, s, NULL, "needs its subnet's length: \"a.b.c.d/len\"");
	*slash = '\0';
	l = strtol(slash + 1, &end, 10);
	if (*end != '\0' || slash[1] == '\0' || l < 1 || l > 32 || inet_pton(AF_INET, v, &a) != 1)
		return fail(x, s, NULL,
			    "not an IPv4 interface address (\"a.b.c.d/len\", len 1..32)");
	*addr = ntohl(a.s_addr);
	*len = (uint8_t)l;
	if (*addr == 0 || (*addr >> 28) >= 14 || (*addr >> 24) == 127)
		return fail(x, s, NULL, "%s is not a unicast host address", v);
	if (l < 31) {
		uint32_t host = ~(~0u << (32 - l));

		if ((*addr & host) == 0 || (*addr & host) == host)
			return fail(x, s, NULL, "%s is the %s address of its /%ld subnet", v,
				    (*addr & host) == 0 ? "network" : "broadcast", l);
	}
	return 0;
}

/* The box's own address on a port: address, gateway, punt_rate. */
static int
parse_port_address(struct ctx *x, const config_setting_t *g, struct gvpn_port_conf *p)
{
	const config_setting_t *gw = config_setting_get_member(g, "gateway");
	long long v = 0;
	int rc;

	p->punt_rate = GVPN_PUNT_RATE_DEFAULT;
	rc = parse_if_address(x, g, "address", &p->address, &p->prefix_len);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		const char *only[] = {"gateway", "punt_rate"};

		for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++)
			if (config_setting_get_member(g, only[i]) != NULL)
				return fail(x, config_setting_get_member(g, only[i]), NULL,
					    "only meaningful with address");
		p->address = 0;
		return 0;
	}
	/* The port's name names its kernel interface. */
	if (strlen(p->name) >= IFNAMSIZ)
		return fail(x, g, "name",
			    "'%s' is longer than %d characters: with an address it names the "
			    "port's kernel interface",
			    p->name, IFNAMSIZ - 1);
	for (const char *c = p->name; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
			return fail(x, g, "name",
				    "'%s': with an address it names the port's kernel interface: "
				    "letters, digits, '-', '_' and '.' only",
				    p->name);
	if (gw != NULL) {
		const uint32_t mask = ~0u << (32 - p->prefix_len);
		struct in_addr a;
		char buf[40];

		rc = get_string(x, g, "gateway", 0, buf, sizeof(buf));
		if (rc != 0)
			return rc;
		if (inet_pton(AF_INET, buf, &a) != 1)
			return fail(x, gw, NULL, "not an IPv4 address (a.b.c.d)");
		p->gateway = ntohl(a.s_addr);
		if (p->gateway == p->address)
			return fail(x, gw, NULL, "is the port's own address");
		if ((p->gateway & mask) != (p->address & mask))
			return fail(x, gw, NULL, "%s is outside the port's subnet (address /%u)",
				    buf, p->prefix_len);
	}
	rc = get_int(x, g, "punt_rate", 1, GVPN_PUNT_RATE_MAX, &v);
	if (rc < 0)
		return rc;
	if (rc == 0)
		p->punt_rate = (uint32_t)v;
	return 0;
}

static int
parse_port(struct ctx *x, const config_setting_t *g, struct gvpn_port_conf *p, char *peer,
	   size_t peerlen)
{
	static const char *const allowed[] = {"name",	 "device",  "role",	 "mtu", "peer",
					      "address", "gateway", "punt_rate", NULL};
	static const char *const roles[] = {"clear", "protected", NULL};
	long long v = 0;
	int rc, role = -1;

	if ((rc = check_members(x, g, allowed)) != 0)
		return rc;
	p->line = config_setting_source_line(g);
	if ((rc = get_string(x, g, "name", 1, p->name, sizeof(p->name))) != 0)
		return rc;
	if ((rc = get_string(x, g, "device", 1, p->device, sizeof(p->device))) != 0)
		return rc;
	if ((rc = get_enum(x, g, "role", roles, &role)) < 0)
		return rc;
	if (rc == 1)
		return fail(x, g, "role", "missing (clear or protected)");
	p->role = (enum gvpn_port_role)role;
	p->mtu = 1500;
	rc = get_int(x, g, "mtu", 576, 9000, &v);
	if (rc < 0)
		return rc;
	if (rc == 0)
		p->mtu = (uint16_t)v;
	peer[0] = '\0';
	rc = get_string(x, g, "peer", 0, peer, peerlen);
	if (rc < 0)
		return rc;
	return parse_port_address(x, g, p);
}

static int
parse_ports_list(struct ctx *x, const config_t *cf, struct gvpn_config *c)
{
	const config_setting_t *l = config_lookup(cf, "ports");
	char peers[GVPN_MAX_PORTS][GVPN_NAME_MAX];
	int rc;

	if (l == NULL || !config_setting_is_list(l) || config_setting_length(l) == 0)
		return fail(x, l != NULL ? l : config_root_setting(cf), l ? NULL : "ports",
			    "a list of at least one clear and one protected port is required");
	if (config_setting_length(l) > GVPN_MAX_PORTS)
		return fail(x, l, NULL, "at most %d ports", GVPN_MAX_PORTS);
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned int)i);
		struct gvpn_port_conf *p = &c->ports[c->n_ports++];

		if ((rc = parse_port(x, e, p, peers[i], sizeof(peers[i]))) != 0)
			return rc;
		for (int k = 0; k < i; k++) {
			if (strcmp(c->ports[k].name, p->name) == 0)
				return fail(x, e, "name", "'%s' already used at line %d", p->name,
					    c->ports[k].line);
			if (strcmp(c->ports[k].device, p->device) == 0)
				return fail(x, e, "device", "'%s' already used at line %d",
					    p->device, c->ports[k].line);
		}
	}
	/* Pair every port: a clear port names its protected peer or the other
	 * way round; each port in exactly one pair. */
	for (int i = 0; i < c->n_ports; i++)
		c->ports[i].peer = UINT16_MAX;
	for (int i = 0; i < c->n_ports; i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned int)i);
		int k;

		if (peers[i][0] == '\0')
			continue;
		for (k = 0; k < c->n_ports && strcmp(c->ports[k].name, peers[i]) != 0; k++)
			;
		if (k == c->n_ports)
			return fail(x, e, "peer", "no port is named '%s'", peers[i]);
		if (c->ports[k].role == c->ports[i].role)
			return fail(x, e, "peer",
				    "'%s' has the same role; pair clear with protected", peers[i]);
		if ((c->ports[i].peer != UINT16_MAX && c->ports[i].peer != k) ||
		    (c->ports[k].peer != UINT16_MAX && c->ports[k].peer != i))
			return fail(x, e, "peer", "'%s' is already paired with another port",
				    peers[i]);
		c->ports[i].peer = (uint16_t)k;
		c->ports[k].peer = (uint16_t)i;
	}
	/* Exactly one clear and one protected port: pair them implicitly. */
	if (c->n_ports == 2 && c->ports[0].peer == UINT16_MAX &&
	    c->ports[0].role != c->ports[1].role) {
		c->ports[0].peer = 1;
		c->ports[1].peer = 0;
	}
	for (int i = 0; i < c->n_ports; i++)
		if (c->ports[i].peer == UINT16_MAX)
			return fail(x, config_setting_get_elem(l, (unsigned int)i), "peer",
				    "port '%s' has no %s peer", c->ports[i].name,
				    c->ports[i].role == GVPN_PORT_CLEAR ? "protected" : "clear");
	return 0;
}

static int
parse_dataplane(struct ctx *x, const config_t *cf, struct gvpn_config *c)
{
	static const char *const allowed[] = {"df_bit", "inner_df", "ipv6_too_big", "ttl",
					      "flows",	"crypto",   "burst",	    NULL};
	static const char *const too_big[] = {"icmp", "fragment", NULL};
	static const char *const df[] = {"clear", "set", "copy", NULL};
	static const char *const inner[] = {"fragment", "honor", NULL};
	static const char *const backends[] = {"ipsecmb", "openssl", NULL};
	const config_setting_t *g = config_lookup(cf, "dataplane");
	int rc, v = 0;
	long long n = 0;

	c->df = GVPN_DF_CLEAR;
	c->inner_df = GVPN_INNER_DF_FRAGMENT;
	c->ipv6_too_big = GVPN_IPV6_TOO_BIG_ICMP;
	c->ttl = 64;
	c->flows = 65536;
	c->burst = 128;
	strcpy(c->crypto, "ipsecmb");
	if (g == NULL)
		return 0;
	if ((rc = check_members(x, g, allowed)) != 0)
		return rc;
	if ((rc = get_enum(x, g, "df_bit", df, &v)) < 0)
		return rc;
	c->df = rc == 0 ? (enum gvpn_df_mode)v : GVPN_DF_CLEAR;
	if ((rc = get_enum(x, g, "inner_df", inner, &v)) < 0)
		return rc;
	if (rc == 0)
		c->inner_df = (enum gvpn_inner_df)v;
	if ((rc = get_enum(x, g, "ipv6_too_big", too_big, &v)) < 0)
		return rc;
	if (rc == 0)
		c->ipv6_too_big = (enum gvpn_ipv6_too_big)v;
	if ((rc = get_int(x, g, "ttl", 0, 255, &n)) < 0)
		return rc;
	if (rc == 0)
		c->ttl = (uint8_t)n;
	if ((rc = get_int(x, g, "flows", 1024, 16 * 1024 * 1024, &n)) < 0)
		return rc;
	if (rc == 0)
		c->flows = (uint32_t)n;
	if ((rc = get_int(x, g, "burst", 1, GVPN_MAX_BURST, &n)) < 0)
		return rc;
	if (rc == 0)
		c->burst = (uint16_t)n;
	if ((rc = get_enum(x, g, "crypto", backends, &v)) < 0)
		return rc;
	if (rc == 0)
		strcpy(c->crypto, backends[v]);
	return 0;
}

static int
parse_bypass(struct ctx *x, const config_t *cf, struct gvpn_config *c)
{
	static const char *const allowed[] = {"src",	  "dst",  "protocol", "src_port",
					      "dst_port", "vlan", NULL};
	const config_setting_t *l = config_lookup(cf, "bypass");
	int rc;

	if (l == NULL)
		return 0;
	if (!config_setting_is_list(l))
		return fail(x, l, NULL, "must be a list ( {...}, ... )");
	if (config_setting_length(l) > GVPN_MAX_BYPASS)
		return fail(x, l, NULL, "at most %d filters", GVPN_MAX_BYPASS);
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned int)i);

		if ((rc = check_members(x, e, allowed)) != 0)
			return rc;
		if ((rc = parse_selector(x, e, &c->bypass[c->n_bypass++], 1)) != 0)
			return rc;
	}
	return 0;
}

static int
parse_groups(struct ctx *x, const config_t *cf, struct gvpn_config *c)
{
	const config_setting_t *l = config_lookup(cf, "groups");
	int rc;

	if (l == NULL)
		return 0;
	if (!config_setting_is_list(l))
		return fail(x, l, NULL, "must be a list ( {...}, ... )");
	if (config_setting_length(l) > GVPN_MAX_GROUPS)
		return fail(x, l, NULL, "at most %d groups", GVPN_MAX_GROUPS);
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned int)i);
		struct gvpn_group_conf *g = &c->groups[c->n_groups++];

		if ((rc = parse_group(x, e, g)) != 0)
			return rc;
		for (int k = 0; k < c->n_groups - 1; k++) {
			if (strcmp(c->groups[k].name, g->name) == 0)
				return fail(x, e, "name", "group '%s' defined twice", g->name);
			for (int s = 0; s < g->n_sas; s++)
				for (int t = 0; t < c->groups[k].n_sas; t++)
					if (g->sas[s].spi == c->groups[k].sas[t].spi)
						return fail(x, e, "sas",
							    "SPI 0x%x is also used by group '%s'",
							    g->sas[s].spi, c->groups[k].name);
		}
	}
	return 0;
}

static int
prefix_has(const struct gvpn_prefix *p, uint32_t a)
{
	return p->len != 0 && ((a ^ p->addr) & (~0u << (32 - p->len))) == 0;
}

/* An IPv4 selector's prefix (not "any") holding the IPv4 address @p a:
 * "src" or "dst", else NULL. */
static const char *
selector_holds(const struct gvpn_selector *s, uint32_t a)
{
	if (s->af != GVPN_AF_IPV4)
		return NULL;
	return prefix_has(&s->src, a) ? "src" : prefix_has(&s->dst, a) ? "dst" : NULL;
}

/*
 * The box's own addresses must not be transit hosts (doc/config.md, "The
 * box's own address"): no two ports share one; none lies inside a prefix a
 * static SA or a fail-open rule names (members would send it encrypted
 * traffic, or this box would forward it), none is a bypass filter's /32
 * host, none is a key server.
 */
static int
check_port_addresses(struct ctx *x, const config_t *cf, const struct gvpn_config *c)
{
	const config_setting_t *l = config_lookup(cf, "ports");

	for (uint16_t i = 0; i < c->n_ports; i++) {
		const struct gvpn_port_conf *p = &c->ports[i];
		const config_setting_t *e = config_setting_get_elem(l, i);
		const config_setting_t *s = config_setting_get_member(e, "address");
		struct in_addr ia = {.s_addr = htonl(p->address)};
		char a[INET_ADDRSTRLEN];
		const char *w;

		if (p->address == 0)
			continue;
		inet_ntop(AF_INET, &ia, a, sizeof(a));
		for (uint16_t k = 0; k < i; k++)
			if (c->ports[k].address == p->address)
				return fail(x, s, NULL, "%s is also port '%s''s address", a,
					    c->ports[k].name);
		for (uint16_t b = 0; b < c->n_bypass; b++) {
			const struct gvpn_selector *sel = &c->bypass[b];

			if ((sel->src.len == 32 && sel->src.addr == p->address) ||
			    (sel->dst.len == 32 && sel->dst.addr == p->address))
				return fail(
				    x, s, NULL,
				    "%s is bypass[%u]'s host: a bypass forwards traffic "
				    "through the box, never to it; the box's own traffic needs "
				    "no bypass",
				    a, b);
		}
		for (uint16_t g = 0; g < c->n_groups; g++) {
			const struct gvpn_group_conf *gc = &c->groups[g];

			for (uint16_t k = 0; k < gc->n_sas; k++)
				if ((w = selector_holds(&gc->sas[k].sel, p->address)) != NULL)
					return fail(x, s, NULL,
						    "%s lies inside the %s of group '%s''s SA "
						    "0x%x (line %d): a transit host's address, "
						    "which members encrypt to",
						    a, w, gc->name, gc->sas[k].spi,
						    gc->sas[k].line);
			for (uint16_t k = 0; k < gc->n_fail_open; k++)
				if ((w = selector_holds(&gc->fail_open[k], p->address)) != NULL)
					return fail(x, s, NULL,
						    "%s lies inside the %s of group '%s''s "
						    "fail_open[%u]: a transit host's address",
						    a, w, gc->name, k);
			for (uint8_t k = 0; gc->gdoi && k < gc->ks.n_servers; k++)
				if (gc->ks.af == GVPN_AF_IPV4 &&
				    gc->ks.server_addr[k] == p->address)
					return fail(x, s, NULL,
						    "%s is also group '%s''s key server", a,
						    gc->name);
		}
	}
	return 0;
}

/* First string setting of the scanned file on @p line (with @p val: equal to it). */
static const config_setting_t *
find_string(const struct ctx *x, const config_setting_t *s, int line, const char *val)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return (int)config_setting_source_line(s) == line && in_scanned_file(x, s) &&
			       (val == NULL || strcmp(config_setting_get_string(s), val) == 0)
			   ? s
			   : NULL;
	if (config_setting_is_aggregate(s))
		for (int i = 0; i < config_setting_length(s); i++) {
			const config_setting_t *r =
			    find_string(x, config_setting_get_elem(s, (unsigned int)i), line, val);

			if (r != NULL)
				return r;
		}
	return NULL;
}

/* A NUL inside a string is refused: libconfig would silently drop it. */
static int
check_nuls(struct ctx *x, const config_t *cf)
{
	const config_setting_t *root = config_root_setting(cf);

	for (size_t i = 0; i < x->scan->n_nuls; i++) {
		const struct nul_str *n = &x->scan->nuls[i];
		const config_setting_t *s = find_string(x, root, n->line, n->val);

		if (s == NULL)
			s = find_string(x, root, n->line, NULL);
		if (s != NULL)
			return fail(x, s, NULL,
				    "a NUL character (\\x00) inside a string is refused");
		snprintf(x->err, x->errlen,
			 "%s:%d: a NUL character (\\x00) inside a string is refused", x->file,
			 n->line);
		return -EINVAL;
	}
	return 0;
}

/* Wipe the text of every string setting (PSKs and keys written inline). */
static void
wipe_strings(config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		char *v = (char *)(uintptr_t)config_setting_get_string(s);

		if (v != NULL)
			gvpn_wipe(v, strlen(v));
	} else if (config_setting_is_aggregate(s)) {
		for (int i = 0; i < config_setting_length(s); i++)
			wipe_strings(config_setting_get_elem(s, (unsigned int)i));
	}
}

#define CONFIG_FILE_MAX (64u << 20)

/* The whole file, NUL-terminated, read with read(2). */
static int
read_text(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	size_t cap = 64 * 1024, n = 0;
	char *t = malloc(cap);
	int fd, rc = 0;

	if (t == NULL)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		rc = -errno;
	while (rc == 0) {
		ssize_t r;

		if (n + 1 == cap) {
			char *m = cap < CONFIG_FILE_MAX ? malloc(cap * 2) : NULL;

			if (m == NULL) {
				rc = cap < CONFIG_FILE_MAX ? -ENOMEM : -EFBIG;
				break;
			}
			memcpy(m, t, n);
			gvpn_wipe(t, cap);
			free(t);
			t = m;
			cap *= 2;
		}
		r = read(fd, t + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = -errno;
		else if (r == 0)
			break;
		else
			n += (size_t)r;
	}
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path,
			 rc == -EFBIG ? "larger than 64 MiB" : strerror(-rc));
		gvpn_wipe(t, cap);
		free(t);
		return rc;
	}
	t[n] = '\0';
	*text = t;
	*len = n;
	return 0;
}

int
gvpn_config_parse(const char *path, struct gvpn_config *c, char *err, size_t errlen)
{
	static const char *const allowed[] = {"ports", "dataplane", "bypass", "groups", NULL};
	struct ctx x = {.file = path, .err = err, .errlen = errlen};
	struct scan sc;
	config_t cf;
	char *text;
	size_t len;
	int rc;

	memset(c, 0, sizeof(*c));
	snprintf(c->file, sizeof(c->file), "%s", path);
	rc = read_text(path, &text, &len, err, errlen);
	if (rc != 0)
		return rc;
	rc = scan_text(&sc, text, len);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out_text;
	}
	if (sc.nul_byte_line != 0) {
		snprintf(err, errlen, "%s:%d: a NUL byte in the file", path, sc.nul_byte_line);
		rc = -EINVAL;
		goto out_scan;
	}
	config_init(&cf);
	if (config_read_string(&cf, text) != CONFIG_TRUE) {
		snprintf(err, errlen, "%s:%d: syntax: %s", path, config_error_line(&cf),
			 config_error_text(&cf));
		rc = -EINVAL;
		goto out_cf;
	}
	x.scan = &sc;
	rc = check_nuls(&x, &cf);
	if (rc == 0)
		rc = check_members(&x, config_root_setting(&cf), allowed);
	if (rc == 0)
		rc = parse_ports_list(&x, &cf, c);
	if (rc == 0)
		rc = parse_dataplane(&x, &cf, c);
	if (rc == 0)
		rc = parse_bypass(&x, &cf, c);
	if (rc == 0)
		rc = parse_groups(&x, &cf, c);
	if (rc == 0)
		rc = check_port_addresses(&x, &cf, c);
	wipe_strings(config_root_setting(&cf));
out_cf:
	config_destroy(&cf);
out_scan:
	scan_free(&sc);
out_text:
	gvpn_wipe(text, len);
	free(text);
	if (rc != 0)
		gvpn_config_wipe(c);
	return rc;
}

/* The allocators of AddressSanitizer and ThreadSanitizer (GCC 12) are not
 * fork-safe: a child forked while another thread holds their lock waits for
 * it forever. Their builds check memory and races, not key hygiene, so they
 * parse in the process. glibc's malloc is fork-safe. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PARSE_IN_PROCESS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PARSE_IN_PROCESS 1
#endif
#endif

#ifndef PARSE_IN_PROCESS
#define ERR_WIRE 512

static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n > 0) {
		ssize_t r = read(fd, b, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The child: parse, send the outcome down @p fd, exit without cleanup. */
static void __attribute__((noreturn)) parse_child(int fd, const char *path)
{
	struct gvpn_config *c = malloc(sizeof(*c));
	char err[ERR_WIRE] = "";
	int32_t rc = c != NULL ? gvpn_config_parse(path, c, err, sizeof(err)) : -ENOMEM;

	if (c == NULL)
		snprintf(err, sizeof(err), "%s: no memory", path);
	if (write_all(fd, &rc, sizeof(rc)) == 0 && write_all(fd, err, sizeof(err)) == 0 && rc == 0)
		write_all(fd, c, sizeof(*c));
	_exit(0);
}
#endif /* !PARSE_IN_PROCESS */

int
gvpn_config_load(const char *path, struct gvpn_config *c, char *err, size_t errlen)
{
#ifdef PARSE_IN_PROCESS
	return gvpn_config_parse(path, c, err, errlen);
#else
	char cerr[ERR_WIRE];
	int fds[2], status, ok;
	int32_t rc = -EIO;
	pid_t pid;

	memset(c, 0, sizeof(*c));
	snprintf(c->file, sizeof(c->file), "%s", path);
	if (pipe2(fds, O_CLOEXEC) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot read it: pipe: %s", path, strerror(errno));
		return rc;
	}
	/* libconfig keeps copies of the file's text (inline keys and PSKs
	 * among it) in heap memory it frees without wiping: parse in a child
	 * whose memory dies with it, and take only the result. */
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot read it: fork: %s", path, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	if (pid == 0) {
		close(fds[0]);
		parse_child(fds[1], path);
	}
	close(fds[1]);
	ok = read_all(fds[0], &rc, sizeof(rc)) == 0 && read_all(fds[0], cerr, sizeof(cerr)) == 0 &&
	     (rc != 0 || read_all(fds[0], c, sizeof(*c)) == 0);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!ok) {
		snprintf(err, errlen, "%s: the configuration reader failed", path);
		rc = -EIO;
	} else if (rc != 0) {
		cerr[sizeof(cerr) - 1] = '\0';
		snprintf(err, errlen, "%s", cerr);
	}
	if (rc != 0)
		gvpn_config_wipe(c);
	return rc;
#endif
}

void
gvpn_config_wipe(struct gvpn_config *c)
{
	for (int g = 0; g < GVPN_MAX_GROUPS; g++)
		gvpn_wipe(c->groups[g].ks.psk, sizeof(c->groups[g].ks.psk));
	for (int g = 0; g < GVPN_MAX_GROUPS; g++)
		for (int s = 0; s < GVPN_MAX_GROUP_SAS; s++)
			gvpn_wipe(&c->groups[g].sas[s].xform, sizeof(c->groups[g].sas[s].xform));
}
