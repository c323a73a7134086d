/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The configuration reader as a library: every malformed setting refused
 * with the exact "FILE:LINE: SETTING: problem" text, integers read as
 * written (64-bit scan, never wrapped at 32 bits), NULs in strings and
 * files refused, key files that are no regular file or too large refused,
 * duplicates, capacity limits, and what valid files parse into: defaults,
 * selectors, DF modes, keys, key-server settings, phase-1 proposals and
 * every shipped example in config/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "gvpn_config.h"

#define KEY16 "000102030405060708090a0b0c0d0e0f"
#define KEY20 KEY16 "10111213"
#define AUTH20 "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"
#define AUTH48 AUTH20 "b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
#define AUTH64 AUTH48 "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"

/* Lines 1 and 2: one clear and one protected port. */
#define PORTS                                                                                      \
	"ports = ({ name = \"in\"; role = \"clear\"; device = \"net_null0\"; },\n"                 \
	"         { name = \"out\"; role = \"protected\"; device = \"net_null1\"; });\n"
/* Line 3: a static group "g" opening its SA list; line 4: one SA holding
 * @p sa; line 5: closing. */
#define GROUP_SA(sa) PORTS "groups = ({ name = \"g\"; sas = (\n{ " sa " }\n); });\n"
/* An AES-GCM SA's algorithm and key, to follow a selector. */
#define GCM "cipher = \"aes-gcm\"; key = \"" KEY20 "\";"
#define SA(spi) "spi = " spi "; src = \"10.1.0.0/16\"; dst = \"10.2.0.0/16\"; " GCM
/* The forms key_servers and local_address take. */
#define FORMS                                                                                      \
	"not \"a.b.c.d\", \"a.b.c.d:port\", \"[2001:db8::10]:port\", \"[2001:db8::10]\" or "       \
	"\"2001:db8::10\""
/* Line 3: a GDOI group holding @p extra, line 4: closing. */
#define GDOI(extra)                                                                                \
	PORTS "groups = ({ name = \"g\"; key_servers = (\"192.0.2.1\"); local_address = "          \
	      "\"192.0.2.9\"; psk = \"0123456789abcdefghij\"; " extra "\n});\n"

static char dir[] = "/tmp/gvpn_test_config.XXXXXX";
static char conf_path[PATH_MAX];
static struct gvpn_config *cfg;

static const char *
path_in_dir(const char *name)
{
	static char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Write @p len bytes of configuration text and parse them. */
static int
parse_bytes(const char *text, size_t len, char *err, size_t errlen)
{
	err[0] = '\0';
	write_file(conf_path, text, len);
	return gvpn_config_parse(conf_path, cfg, err, errlen);
}

static int
parse_text(const char *text, char *err, size_t errlen)
{
	return parse_bytes(text, strlen(text), err, errlen);
}

static void
parse_ok(const char *text)
{
	char err[512];

	if (parse_text(text, err, sizeof(err)) != 0)
		fail_msg("refused: %s\n--- text:\n%s", err, text);
}

/* Refused with -EINVAL and exactly "PATH:" @p want. */
static void
expect_refused(const char *what, const char *text, size_t len, const char *want)
{
	char err[512], full[PATH_MAX + 512];
	int rc = parse_bytes(text, len, err, sizeof(err));

	snprintf(full, sizeof(full), "%s:%s", conf_path, want);
	if (rc != -EINVAL)
		fail_msg("%s: returned %d (%s)", what, rc, err);
	if (strcmp(err, full) != 0)
		fail_msg("%s:\n got  '%s'\n want '%s'", what, err, full);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf_path, sizeof(conf_path), "%s/t.conf", dir);
	cfg = malloc(sizeof(*cfg));
	return cfg == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	static const char *const names[] = {"t.conf", "key.fifo", "key.big", "key.nul",
					    "key.ok", "psk.ok",	  "psk.big"};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		unlink(path_in_dir(names[i]));
	rmdir(path_in_dir("key.dir"));
	rmdir(dir);
	free(cfg);
	return 0;
}

/* --- refused --- */

static void
test_malformed_setting_is_refused_naming_file_line_and_setting(void **state)
{
	static const struct {
		const char *what, *text, *err;
	} cases[] = {
	    /* integers: read as written, 64 bits, never wrapped */
	    {"SPI 2^32 + 0x1001 (libconfig keeps 0x1001)", GROUP_SA(SA("4294971393")),
	     "4: groups[0].sas[0].spi: must be 256..4294967295"},
	    {"SPI 2^32 + 0x1001 in hex", GROUP_SA(SA("0x100001001")),
	     "4: groups[0].sas[0].spi: must be 256..4294967295"},
	    {"SPI beyond 64 bits", GROUP_SA(SA("99999999999999999999L")),
	     "4: groups[0].sas[0].spi: must be 256..4294967295"},
	    {"SPI beyond 64 bits in hex", GROUP_SA(SA("0x10000000000000000")),
	     "4: groups[0].sas[0].spi: must be 256..4294967295"},
	    {"SPI 255", GROUP_SA(SA("255")), "4: groups[0].sas[0].spi: must be 256..4294967295"},
	    {"SPI -1", GROUP_SA(SA("-1")), "4: groups[0].sas[0].spi: must be 256..4294967295"},
	    {"SPI a string", GROUP_SA(SA("\"0x1001\"")),
	     "4: groups[0].sas[0].spi: must be an integer"},
	    {"SPI missing", GROUP_SA("src = \"10.1.0.0/16\"; " GCM),
	     "4: groups[0].sas[0].spi: missing (256..4294967295)"},
	    {"lifetime 2^32", GROUP_SA(SA("0x1001") " lifetime = 4294967296;"),
	     "4: groups[0].sas[0].lifetime: must be 0..4294967295"},
	    {"TTL 2^32 + 64 beside a 64", PORTS "dataplane = { ttl = 4294967360; burst = 64; };\n",
	     "3: dataplane.ttl: another integer on this line is too large for libconfig; give "
	     "each setting a line of its own"},
	    {"beyond 64 bits beside a -1 (libconfig keeps -1 for both)",
	     PORTS "dataplane = { ttl = -1; burst = 0x1FFFFFFFFFFFFFFFF; };\n",
	     "3: dataplane.ttl: another integer on this line is too large for libconfig; give "
	     "each setting a line of its own"},
	    {"MTU 2^32 + 1500",
	     "ports = ({ name = \"in\"; role = \"clear\"; device = \"d0\"; },\n"
	     "{ name = \"out\"; role = \"protected\"; device = \"d1\"; mtu = 4294968796; });\n",
	     "2: ports[1].mtu: must be 576..9000"},
	    {"burst 0", PORTS "dataplane = { burst = 0; };\n",
	     "3: dataplane.burst: must be 1..256"},
	    {"flows 1023", PORTS "dataplane = { flows = 1023; };\n",
	     "3: dataplane.flows: must be 1024..16777216"},
	    {"protocol 2^32 + 89", PORTS "bypass = ({ protocol = 4294967385; });\n",
	     "3: bypass[0].protocol: must be 0..255 or a name"},
	    {"protocol 256", PORTS "bypass = ({ protocol = 256; });\n",
	     "3: bypass[0].protocol: must be 0..255 or a name"},
	    {"port 2^32 + 500",
	     PORTS "bypass = ({ protocol = \"udp\"; dst_port = 4294967796; });\n",
	     "3: bypass[0].dst_port: a port 0..65535 or a range \"low-high\""},
	    {"port range reversed",
	     PORTS "bypass = ({ protocol = \"udp\"; src_port = \"600-500\"; });\n",
	     "3: bypass[0].src_port: a port 0..65535 or a range \"low-high\""},
	    {"port range open", PORTS "bypass = ({ protocol = \"tcp\"; dst_port = \"80-\"; });\n",
	     "3: bypass[0].dst_port: a port 0..65535 or a range \"low-high\""},
	    {"port 65536", PORTS "bypass = ({ protocol = \"sctp\"; dst_port = \"65536\"; });\n",
	     "3: bypass[0].dst_port: a port 0..65535 or a range \"low-high\""},
	    /* NUL: libconfig would drop it without a word */
	    {"NUL escape in a group name", PORTS "groups = ({ name = \"g\\x00h\"; });\n",
	     "3: groups[0].name: a NUL character (\\x00) inside a string is refused"},
	    {"NUL escape in a key",
	     GROUP_SA("spi = 0x1001; cipher = \"aes-gcm\"; key = \"00\\x00" KEY20 "\";"),
	     "4: groups[0].sas[0].key: a NUL character (\\x00) inside a string is refused"},
	    /* selectors */
	    {"prefix with host bits", GROUP_SA("spi = 0x1001; src = \"10.1.0.1/16\"; " GCM),
	     "4: groups[0].sas[0].src: host bits set (did you mean 10.1.0.0/16?)"},
	    {"prefix length 33", GROUP_SA("spi = 0x1001; dst = \"10.1.0.0/33\"; " GCM),
	     "4: groups[0].sas[0].dst: not an address or prefix (a.b.c.d/len or 2001:db8::/len)"},
	    {"prefix without length", GROUP_SA("spi = 0x1001; dst = \"10.1.0.0/\"; " GCM),
	     "4: groups[0].sas[0].dst: not an address or prefix (a.b.c.d/len or 2001:db8::/len)"},
	    {"prefix of three octets", GROUP_SA("spi = 0x1001; src = \"10.1.0/24\"; " GCM),
	     "4: groups[0].sas[0].src: not an address or prefix (a.b.c.d/len or 2001:db8::/len)"},
	    {"IPv6 prefix length 129", GROUP_SA("spi = 0x1001; dst = \"2001:db8::/129\"; " GCM),
	     "4: groups[0].sas[0].dst: not an IPv6 address or prefix (2001:db8::1 or "
	     "2001:db8::/32)"},
	    {"IPv6 prefix with host bits",
	     GROUP_SA("spi = 0x1001; src = \"2001:db8:1:2::/48\"; " GCM),
	     "4: groups[0].sas[0].src: host bits set (did you mean 2001:db8:1::/48?)"},
	    {"bad IPv6 address", GROUP_SA("spi = 0x1001; src = \"2001:db8::1::2\"; " GCM),
	     "4: groups[0].sas[0].src: not an IPv6 address or prefix (2001:db8::1 or "
	     "2001:db8::/32)"},
	    {"families mixed",
	     GROUP_SA("spi = 0x1001; src = \"10.1.0.0/16\"; dst = \"2001:db8::/32\"; " GCM),
	     "4: groups[0].sas[0].dst: src and dst must be the same family (both IPv4 or both "
	     "IPv6)"},
	    {"ports without tcp, udp or sctp",
	     GROUP_SA("spi = 0x1001; protocol = \"icmp\"; dst_port = 7; " GCM),
	     "4: groups[0].sas[0].protocol: ports need protocol tcp, udp or sctp"},
	    {"unknown protocol", PORTS "bypass = ({ protocol = \"ospf2\"; });\n",
	     "3: bypass[0].protocol: unknown protocol (any, icmp, tcp, udp, gre, esp, ospf, pim, "
	     "vrrp, sctp or a number)"},
	    {"fail-open rule with a protocol",
	     PORTS "groups = ({ name = \"g\"; fail_open = ({ protocol = \"udp\"; }); });\n",
	     "3: groups[0].fail_open[0].protocol: unknown setting"},
	    /* DF modes and other names */
	    {"df_bit maybe", PORTS "dataplane = { df_bit = \"maybe\"; };\n",
	     "3: dataplane.df_bit: 'maybe' is not one of: clear, set, copy"},
	    {"inner_df drop", PORTS "dataplane = { inner_df = \"drop\"; };\n",
	     "3: dataplane.inner_df: 'drop' is not one of: fragment, honor"},
	    /* VLANs: 1..4094, in bypass filters, SAs and fail-open rules */
	    {"bypass vlan 0", PORTS "bypass = ({ vlan = 0; });\n",
	     "3: bypass[0].vlan: must be 1..4094"},
	    {"bypass vlan 4095", PORTS "bypass = ({ vlan = 4095; });\n",
	     "3: bypass[0].vlan: must be 1..4094"},
	    {"SA vlan a string", GROUP_SA(SA("0x1001") " vlan = \"10\";"),
	     "4: groups[0].sas[0].vlan: must be an integer"},
	    {"fail-open vlan -1",
	     PORTS "groups = ({ name = \"g\"; fail_open = ({ vlan = -1; }); });\n",
	     "3: groups[0].fail_open[0].vlan: must be 1..4094"},
	    {"ipv6_too_big drop", PORTS "dataplane = { ipv6_too_big = \"drop\"; };\n",
	     "3: dataplane.ipv6_too_big: 'drop' is not one of: icmp, fragment"},
	    {"ipv6_too_big a number", PORTS "dataplane = { ipv6_too_big = 1; };\n",
	     "3: dataplane.ipv6_too_big: must be a string"},
	    {"crypto backend qat", PORTS "dataplane = { crypto = \"qat\"; };\n",
	     "3: dataplane.crypto: 'qat' is not one of: ipsecmb, openssl"},
	    {"direction sideways",
	     PORTS "groups = ({ name = \"g\"; direction = \"sideways\"; });\n",
	     "3: groups[0].direction: 'sideways' is not one of: both, inbound, outbound"},
	    {"unknown top-level setting", PORTS "dataplan = { };\n",
	     "3: dataplan: unknown setting"},
	    /* lists */
	    {"bypass as a group", PORTS "bypass = { protocol = \"udp\"; };\n",
	     "3: bypass: must be a list ( {...}, ... )"},
	    {"SAs as a group", PORTS "groups = ({ name = \"g\"; sas = { spi = 256; }; });\n",
	     "3: groups[0].sas: must be a list ( {...}, ... )"},
	    /* duplicates */
	    {"port name twice",
	     "ports = ({ name = \"a\"; role = \"clear\"; device = \"d0\"; },\n"
	     "{ name = \"a\"; role = \"protected\"; device = \"d1\"; });\n",
	     "2: ports[1].name: 'a' already used at line 1"},
	    {"port device twice",
	     "ports = ({ name = \"a\"; role = \"clear\"; device = \"d0\"; },\n"
	     "{ name = \"b\"; role = \"protected\"; device = \"d0\"; });\n",
	     "2: ports[1].device: 'd0' already used at line 1"},
	    {"group name twice", PORTS "groups = ({ name = \"g\"; },\n{ name = \"g\"; });\n",
	     "4: groups[1].name: group 'g' defined twice"},
	    {"SPI twice in a group",
	     PORTS
	     "groups = ({ name = \"g\"; sas = (\n{ " SA("0x1001") " },\n{ " SA("4097") " }); });\n",
	     "5: groups[0].sas[1].spi: 0x1001 already used at line 4"},
	    {"SPI in two groups",
	     PORTS "groups = ({ name = \"g\"; sas = ({ " SA(
		 "0x1001") " }); },\n"
			   "{ name = \"h\"; sas = ({ " SA("0x1001") " }); });\n",
	     "4: groups[1].sas: SPI 0x1001 is also used by group 'g'"},
	    {"key and key_file",
	     GROUP_SA("spi = 0x1001; cipher = \"aes-gcm\"; key = \"" KEY20
		      "\"; key_file = \"/k\";"),
	     "4: groups[0].sas[0].key: give key or key_file, not both"},
	    /* algorithms and keys */
	    {"AES-GCM key of 16 bytes",
	     GROUP_SA("spi = 0x1001; cipher = \"aes-gcm\"; key = \"" KEY16 "\";"),
	     "4: groups[0].sas[0].key: 16 bytes; aes-gcm needs 20 or 36 (key + 4-byte salt)"},
	    {"AES-GMAC key of 32 bytes",
	     GROUP_SA("spi = 0x1001; cipher = \"aes-gmac\"; key = \"" KEY16 KEY16 "\";"),
	     "4: groups[0].sas[0].key: 32 bytes; aes-gmac needs 20 or 36 (key + 4-byte salt)"},
	    {"AES-GMAC with auth",
	     GROUP_SA("spi = 0x1001; cipher = \"aes-gmac\"; key = \"" KEY20
		      "\"; auth = \"hmac-sha256-128\";"),
	     "4: groups[0].sas[0].auth: aes-gmac carries its own ICV: leave auth out"},
	    {"auth key of 32 bytes for SHA-384",
	     GROUP_SA("spi = 0x1001; cipher = \"aes-cbc\"; key = \"" KEY16
		      "\"; auth = \"hmac-sha384-192\"; auth_key = \"" KEY16 KEY16 "\";"),
	     "4: groups[0].sas[0].auth_key: hmac-sha384-192 needs a 48-byte key"},
	    {"auth key of 48 bytes for SHA-512",
	     GROUP_SA("spi = 0x1001; cipher = \"aes-cbc\"; key = \"" KEY16
		      "\"; auth = \"hmac-sha512-256\"; auth_key = \"" AUTH48 "\";"),
	     "4: groups[0].sas[0].auth_key: hmac-sha512-256 needs a 64-byte key"},
	    {"unknown auth",
	     GROUP_SA("spi = 0x1001; cipher = \"aes-cbc\"; key = \"" KEY16
		      "\"; auth = \"hmac-sha384\";"),
	     "4: groups[0].sas[0].auth: 'hmac-sha384' is not one of: hmac-md5-96, hmac-sha1-96, "
	     "hmac-sha256-128, hmac-sha384-192, hmac-sha512-256, none"},
	    {"CBC without auth",
	     GROUP_SA("spi = 0x1001; cipher = \"aes-cbc\"; key = \"" KEY16 "\";"),
	     "4: groups[0].sas[0].auth: missing: aes-cbc needs an integrity algorithm"},
	    {"auth key of 16 bytes for SHA-1",
	     GROUP_SA("spi = 0x1001; cipher = \"aes-cbc\"; key = \"" KEY16
		      "\"; auth = \"hmac-sha1-96\"; auth_key = \"" KEY16 "\";"),
	     "4: groups[0].sas[0].auth_key: hmac-sha1-96 needs a 20-byte key"},
	    {"auth key with GCM", GROUP_SA(SA("0x1001") " auth_key = \"" AUTH20 "\";"),
	     "4: groups[0].sas[0].auth_key: no integrity algorithm uses it"},
	    /* ports */
	    {"no ports", "bypass = ();\n",
	     "0: ports: a list of at least one clear and one "
	     "protected port is required"},
	    {"peer of the same role",
	     "ports = ({ name = \"a\"; role = \"clear\"; device = \"d0\"; peer = \"b\"; },\n"
	     "{ name = \"b\"; role = \"clear\"; device = \"d1\"; });\n",
	     "1: ports[0].peer: 'b' has the same role; pair clear with protected"},
	    {"port without a peer",
	     "ports = ({ name = \"a\"; role = \"clear\"; device = \"d0\"; },\n"
	     "{ name = \"b\"; role = \"clear\"; device = \"d1\"; });\n",
	     "1: ports[0].peer: port 'a' has no protected peer"},
	    /* key servers */
	    {"psk of 19 characters",
	     PORTS "groups = ({ name = \"g\"; key_servers = (\"192.0.2.1\"); local_address = "
		   "\"192.0.2.9\";\npsk = \"0123456789abcdefghi\"; });\n",
	     "4: groups[0].psk: the pre-shared key must have at least 20 characters (R10)"},
	    {"five key servers",
	     PORTS "groups = ({ name = \"g\";\nkey_servers = (\"192.0.2.1\", \"192.0.2.2\", "
		   "\"192.0.2.3\", \"192.0.2.4\", \"192.0.2.5\"); });\n",
	     "4: groups[0].key_servers: 1 to 4 key servers (R12)"},
	    {"key server port 0 alone",
	     PORTS "groups = ({ name = \"g\";\nkey_servers = (\"192.0.2.1:0\"); });\n",
	     "4: groups[0].key_servers[0]: " FORMS},
	    {"IPv6 key server with a port but no brackets",
	     PORTS "groups = ({ name = \"g\";\nkey_servers = (\"[2001:db8::1]848\"); });\n",
	     "4: groups[0].key_servers[0]: " FORMS},
	    {"IPv6 key server port out of range",
	     PORTS "groups = ({ name = \"g\";\nkey_servers = (\"[2001:db8::1]:65536\"); });\n",
	     "4: groups[0].key_servers[0]: " FORMS},
	    {"IPv6 key server not an address",
	     PORTS "groups = ({ name = \"g\";\nkey_servers = (\"[2001:db8::g]\"); });\n",
	     "4: groups[0].key_servers[0]: " FORMS},
	    {"IPv4 in brackets",
	     PORTS "groups = ({ name = \"g\";\nkey_servers = (\"[192.0.2.1]:848\"); });\n",
	     "4: groups[0].key_servers[0]: " FORMS},
	    {"key servers of two families",
	     PORTS "groups = ({ name = \"g\"; key_servers = (\"192.0.2.1\",\n\"[2001:db8::1]\"); "
		   "});\n",
	     "4: groups[0].key_servers[1]: an IPv6 key server after IPv4 ones: a group's "
	     "key_servers and local_address are all IPv4 or all IPv6"},
	    {"IPv4 local address of IPv6 key servers",
	     PORTS "groups = ({ name = \"g\"; key_servers = (\"2001:db8::1\");\nlocal_address = "
		   "\"192.0.2.9\"; psk = \"0123456789abcdefghij\"; });\n",
	     "4: groups[0].local_address: an IPv4 address, but key_servers are IPv6: a group's "
	     "key_servers and local_address are all IPv4 or all IPv6"},
	    {"IPv6 local address of IPv4 key servers",
	     PORTS "groups = ({ name = \"g\"; key_servers = (\"192.0.2.1\");\nlocal_address = "
		   "\"[2001:db8::9]:848\"; psk = \"0123456789abcdefghij\"; });\n",
	     "4: groups[0].local_address: an IPv6 address, but key_servers are IPv4: a group's "
	     "key_servers and local_address are all IPv4 or all IPv6"},
	    {"key servers and sas", GDOI("\nsas = ();"),
	     "4: groups[0].sas: a group gets its SAs from key_servers or from sas, not both"},
	    {"key server habits not known", GDOI("\nkey_server_habits = \"cisco\";"),
	     "4: groups[0].key_server_habits: 'cisco' is not one of: strict, reference"},
	    {"key server habits without key servers",
	     PORTS "groups = ({ name = \"g\";\nkey_server_habits = \"reference\"; });\n",
	     "4: groups[0].key_server_habits: only meaningful with key_servers"},
	    {"psk without key servers",
	     PORTS "groups = ({ name = \"g\";\npsk = \"0123456789abcdefghij\"; });\n",
	     "4: groups[0].psk: only meaningful with key_servers"},
	    {"phase-1 proposal without a group", GDOI("\nphase1 = (\"aes128-sha1\");"),
	     "4: groups[0].phase1[0]: not ENC-HASH-GROUP (des|3des|aes128|aes192|aes256 - "
	     "md5|sha1|sha256 - modp768|modp1024|modp1536|modp2048|modp3072|modp4096|ecp256|"
	     "ecp384)"},
	    {"nine phase-1 proposals",
	     GDOI("\nphase1 = (\"des-md5-modp768\", \"des-md5-modp768\", \"des-md5-modp768\", "
		  "\"des-md5-modp768\", \"des-md5-modp768\", \"des-md5-modp768\", "
		  "\"des-md5-modp768\", \"des-md5-modp768\", \"des-md5-modp768\");"),
	     "4: groups[0].phase1: 1 to 8 proposals"},
	    {"retries 0", GDOI("\nretries = 0;"), "4: groups[0].retries: must be 1..100"},
	    {"phase-1 lifetime of 59 s", GDOI("\nphase1_lifetime = 59;"),
	     "4: groups[0].phase1_lifetime: must be 60..604800"},
	};

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(cases); k++)
		expect_refused(cases[k].what, cases[k].text, strlen(cases[k].text), cases[k].err);
}

static void
test_nul_byte_in_the_file_is_refused_with_its_line(void **state)
{
	static const char text[] = PORTS "groups = ({ name = \"g\0h\"; });\n";

	(void)state;
	expect_refused("raw NUL byte", text, sizeof(text) - 1, "3: a NUL byte in the file");
}

static void
test_syntax_error_names_the_line(void **state)
{
	char err[512], want[PATH_MAX + 64];

	(void)state;
	assert_int_equal(parse_text(PORTS "groups = ({ name = ; });\n", err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: syntax: ", conf_path);
	assert_memory_equal(err, want, strlen(want));
}

static void
test_unreadable_file_is_an_errno(void **state)
{
	char err[512], want[PATH_MAX + 64];

	(void)state;
	assert_int_equal(gvpn_config_parse(path_in_dir("absent.conf"), cfg, err, sizeof(err)),
			 -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path_in_dir("absent.conf"));
	assert_string_equal(err, want);
	assert_int_equal(gvpn_config_parse(dir, cfg, err, sizeof(err)), -EISDIR);
}

/*
 * Key and PSK files: anything but a regular file is refused at once (a FIFO
 * without a writer must not block), as is one larger than a key can be or
 * one holding a NUL byte.
 */
static void
test_key_file_that_is_no_regular_file_or_too_large_is_refused(void **state)
{
	static const struct {
		const char *what, *file, *member, *before, *after;
	} cases[] = {
	    {"FIFO", "key.fifo", "key_file", "", " is not a regular file"},
	    {"folder", "key.dir", "key_file", "", " is not a regular file"},
	    {"device", "/dev/zero", "key_file", "", " is not a regular file"},
	    {"300-byte key file", "key.big", "key_file", "",
	     " is larger than a key can be (300 bytes, at most 255)"},
	    {"300-byte PSK file", "psk.big", "psk_file", "",
	     " is larger than a key can be (300 bytes, at most 256)"},
	    {"NUL byte in a key file", "key.nul", "key_file", "", " holds a NUL byte"},
	    {"absent key file", "key.absent", "key_file", "cannot read ",
	     ": No such file or directory"},
	};
	char big[300];

	(void)state;
	unlink(path_in_dir("key.fifo"));
	assert_int_equal(mkfifo(path_in_dir("key.fifo"), 0600), 0);
	rmdir(path_in_dir("key.dir"));
	assert_int_equal(mkdir(path_in_dir("key.dir"), 0700), 0);
	memset(big, '0', sizeof(big));
	write_file(path_in_dir("key.big"), big, sizeof(big));
	write_file(path_in_dir("psk.big"), big, sizeof(big));
	write_file(path_in_dir("key.nul"),
		   "0011\0"
		   "2233",
		   9);
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		const char *file =
		    cases[k].file[0] == '/' ? cases[k].file : path_in_dir(cases[k].file);
		char text[PATH_MAX + 1024], why[PATH_MAX + 128], want[PATH_MAX + 256];
		int line;

		if (strcmp(cases[k].member, "key_file") == 0) {
			snprintf(text, sizeof(text),
				 GROUP_SA("spi = 0x1001; cipher = \"aes-gcm\"; key_file = \"%s\";"),
				 file);
			line = 4;
		} else {
			snprintf(text, sizeof(text),
				 PORTS "groups = ({ name = \"g\"; key_servers = (\"192.0.2.1\");\n"
				       "local_address = \"192.0.2.9\"; psk_file = \"%s\"; });\n",
				 file);
			line = 4;
		}
		snprintf(why, sizeof(why), "%s'%s'%s", cases[k].before, file, cases[k].after);
		snprintf(want, sizeof(want), "%d: groups[0].%s%s: %s", line,
			 strcmp(cases[k].member, "key_file") == 0 ? "sas[0]." : "", cases[k].member,
			 why);
		expect_refused(cases[k].what, text, strlen(text), want);
	}
}

static int
bypass_item(char *buf, size_t len, int i)
{
	(void)i;
	return snprintf(buf, len, "{ protocol = \"ospf\"; }");
}

static int
fail_open_item(char *buf, size_t len, int i)
{
	(void)i;
	return snprintf(buf, len, "{ src = \"10.0.0.0/8\"; }");
}

static int
group_item(char *buf, size_t len, int i)
{
	return snprintf(buf, len, "{ name = \"g%d\"; }", i);
}

static int
sa_item(char *buf, size_t len, int i)
{
	return snprintf(buf, len, "{ " SA("%d") " }", 256 + i);
}

/* One past each limit is refused; the limit itself is taken. */
static void
test_capacity_limits_hold_at_the_boundary(void **state)
{
	static const struct {
		const char *what, *head;
		int (*item)(char *buf, size_t len, int i);
		const char *tail, *err;
		int max;
	} cases[] = {
	    {"bypass filters", PORTS "bypass = (\n", bypass_item, ");\n",
	     "3: bypass: at most 64 filters", GVPN_MAX_BYPASS},
	    {"fail-open rules", PORTS "groups = ({ name = \"g\"; fail_open = (\n", fail_open_item,
	     "); });\n", "3: groups[0].fail_open: at most 10 rules per group", GVPN_MAX_FAIL_OPEN},
	    {"groups", PORTS "groups = (\n", group_item, ");\n", "3: groups: at most 16 groups",
	     GVPN_MAX_GROUPS},
	    {"SAs", PORTS "groups = ({ name = \"g\"; sas = (\n", sa_item, "); });\n",
	     "3: groups[0].sas: at most 1024 SAs per group", GVPN_MAX_GROUP_SAS},
	};
	size_t cap = 256 * 1024;
	char *text = malloc(cap);

	(void)state;
	assert_non_null(text);
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		for (int n = cases[k].max; n <= cases[k].max + 1; n++) {
			size_t off = (size_t)snprintf(text, cap, "%s", cases[k].head);

			for (int i = 0; i < n; i++) {
				off +=
				    (size_t)snprintf(text + off, cap - off, "%s", i ? ",\n" : "");
				off += (size_t)cases[k].item(text + off, cap - off, i);
			}
			snprintf(text + off, cap - off, "%s", cases[k].tail);
			if (n == cases[k].max) {
				parse_ok(text);
				/* in the order of cases[] */
				const unsigned int got[] = {cfg->n_bypass,
							    cfg->groups[0].n_fail_open,
							    cfg->n_groups, cfg->groups[0].n_sas};

				assert_int_equal(got[k], n);
			} else
				expect_refused(cases[k].what, text, strlen(text), cases[k].err);
		}
	}
	free(text);
}

/* --- accepted --- */

static void
test_omitted_settings_take_their_defaults(void **state)
{
	(void)state;
	parse_ok(PORTS);
	assert_string_equal(cfg->file, conf_path);
	assert_int_equal(cfg->n_ports, 2);
	assert_string_equal(cfg->ports[0].name, "in");
	assert_string_equal(cfg->ports[1].device, "net_null1");
	assert_int_equal(cfg->ports[0].role, GVPN_PORT_CLEAR);
	assert_int_equal(cfg->ports[1].role, GVPN_PORT_PROTECTED);
	assert_int_equal(cfg->ports[0].peer, 1); /* two ports pair without a word */
	assert_int_equal(cfg->ports[1].peer, 0);
	assert_int_equal(cfg->ports[0].mtu, 1500);
	assert_int_equal(cfg->ports[1].line, 2);
	assert_int_equal(cfg->df, 0);
	assert_int_equal(cfg->inner_df, GVPN_INNER_DF_FRAGMENT);
	assert_int_equal(cfg->ipv6_too_big, GVPN_IPV6_TOO_BIG_ICMP);
	assert_int_equal(cfg->ttl, 64);
	assert_int_equal(cfg->flows, 65536);
	assert_int_equal(cfg->burst, 128);
	assert_string_equal(cfg->crypto, "ipsecmb");
	assert_int_equal(cfg->n_bypass, 0);
	assert_int_equal(cfg->n_groups, 0);
}

static void
test_dataplane_settings_parse_to_their_values(void **state)
{
	static const struct {
		const char *text;
		int df;
		enum gvpn_inner_df inner;
		uint8_t ttl;
		uint32_t flows;
		uint16_t burst;
		const char *crypto;
		enum gvpn_ipv6_too_big too_big;
	} cases[] = {
	    {"df_bit = \"clear\";", 0, GVPN_INNER_DF_FRAGMENT, 64, 65536, 128, "ipsecmb"},
	    {"df_bit = \"set\";", 1, GVPN_INNER_DF_FRAGMENT, 64, 65536, 128, "ipsecmb"},
	    {"df_bit = \"copy\"; inner_df = \"honor\";", 2, GVPN_INNER_DF_HONOR, 64, 65536, 128,
	     "ipsecmb"},
	    {"ttl = 0; flows = 1024; burst = 1; crypto = \"openssl\";", 0, GVPN_INNER_DF_FRAGMENT,
	     0, 1024, 1, "openssl"},
	    {"ttl = 255; flows = 16777216; burst = 256;", 0, GVPN_INNER_DF_FRAGMENT, 255, 16777216,
	     256, "ipsecmb"},
	    /* two equal integers on a line are no ambiguity */
	    {"ttl = 64; burst = 64;", 0, GVPN_INNER_DF_FRAGMENT, 64, 65536, 64, "ipsecmb"},
	    {"flows = 4096L;", 0, GVPN_INNER_DF_FRAGMENT, 64, 4096, 128, "ipsecmb"},
	    {"ipv6_too_big = \"fragment\";", 0, GVPN_INNER_DF_FRAGMENT, 64, 65536, 128, "ipsecmb",
	     GVPN_IPV6_TOO_BIG_FRAGMENT},
	    {"ipv6_too_big = \"icmp\"; inner_df = \"honor\";", 0, GVPN_INNER_DF_HONOR, 64, 65536,
	     128, "ipsecmb", GVPN_IPV6_TOO_BIG_ICMP},
	};

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		char text[512];

		snprintf(text, sizeof(text), PORTS "dataplane = { %s };\n", cases[k].text);
		parse_ok(text);
		assert_int_equal(cfg->df, cases[k].df);
		assert_int_equal(cfg->inner_df, cases[k].inner);
		assert_int_equal(cfg->ttl, cases[k].ttl);
		assert_int_equal(cfg->flows, cases[k].flows);
		assert_int_equal(cfg->burst, cases[k].burst);
		assert_string_equal(cfg->crypto, cases[k].crypto);
		assert_int_equal(cfg->ipv6_too_big, cases[k].too_big);
	}
}

static void
test_selector_parses_prefixes_protocols_and_port_ranges(void **state)
{
	static const struct {
		const char *text;
		struct gvpn_selector sel;
	} cases[] = {
	    {"", {.af = GVPN_AF_ANY, .sport_hi = 65535, .dport_hi = 65535}},
	    {"src = \"10.1.2.3\"; dst = \"0.0.0.0/0\";",
	     {.src = {0x0a010203, 32}, .sport_hi = 65535, .dport_hi = 65535}},
	    {"src = \"2001:db8:1::/48\"; dst = \"2001:db8::7\";",
	     {.src = {.len = 48, .addr6 = {0x20, 0x01, 0x0d, 0xb8, 0, 1}},
	      .dst = {.len = 128, .addr6 = {0x20, 0x01, 0x0d, 0xb8, [15] = 7}},
	      .af = GVPN_AF_IPV6,
	      .sport_hi = 65535,
	      .dport_hi = 65535}},
	    {"dst = \"::/0\"; protocol = \"udp\";",
	     {.af = GVPN_AF_IPV6, .proto = 17, .sport_hi = 65535, .dport_hi = 65535}},
	    {"src = \"192.0.2.0/24\"; dst = \"198.51.100.128/25\"; protocol = \"ospf\";",
	     {.src = {0xc0000200, 24},
	      .dst = {0xc6336480, 25},
	      .proto = 89,
	      .sport_hi = 65535,
	      .dport_hi = 65535}},
	    {"protocol = \"udp\"; dst_port = 848;",
	     {.af = GVPN_AF_ANY, .proto = 17, .sport_hi = 65535, .dport_lo = 848, .dport_hi = 848}},
	    {"protocol = \"tcp\"; src_port = \"1024-65535\"; dst_port = \"0-0\";",
	     {.af = GVPN_AF_ANY, .proto = 6, .sport_lo = 1024, .sport_hi = 65535}},
	    {"protocol = 132; src_port = \"7\"; dst_port = 65535;",
	     {.af = GVPN_AF_ANY,
	      .proto = 132,
	      .sport_lo = 7,
	      .sport_hi = 7,
	      .dport_lo = 65535,
	      .dport_hi = 65535}},
	    {"protocol = \"any\";", {.af = GVPN_AF_ANY, .sport_hi = 65535, .dport_hi = 65535}},
	    {"protocol = 0xff;",
	     {.af = GVPN_AF_ANY, .proto = 255, .sport_hi = 65535, .dport_hi = 65535}},
	    /* the VLAN: 1..4094 */
	    {"protocol = \"udp\"; dst_port = 848; vlan = 1;",
	     {.af = GVPN_AF_ANY,
	      .proto = 17,
	      .sport_hi = 65535,
	      .dport_lo = 848,
	      .dport_hi = 848,
	      .vlan = 1}},
	    {"src = \"2001:db8:1::/48\"; vlan = 4094;",
	     {.src = {.len = 48, .addr6 = {0x20, 0x01, 0x0d, 0xb8, 0, 1}},
	      .af = GVPN_AF_IPV6,
	      .sport_hi = 65535,
	      .dport_hi = 65535,
	      .vlan = 4094}},
	};

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		char text[512], got[128], want[128];

		snprintf(text, sizeof(text), PORTS "bypass = ({ %s });\n", cases[k].text);
		parse_ok(text);
		assert_int_equal(cfg->n_bypass, 1);
		if (!gvpn_selector_equal(&cfg->bypass[0], &cases[k].sel)) {
			gvpn_selector_format(&cfg->bypass[0], got, sizeof(got));
			gvpn_selector_format(&cases[k].sel, want, sizeof(want));
			fail_msg("'%s':\n got  %s\n want %s", cases[k].text, got, want);
		}
	}
}

/* A static SA's selector and a fail-open rule take a VLAN too; without one
 * they match every VLAN (0). */
static void
test_sa_and_fail_open_take_a_vlan(void **state)
{
	(void)state;
	parse_ok(PORTS "groups = ({ name = \"g\"; fail_open = ({ src = \"10.9.0.0/16\"; vlan = 42; "
		       "}, { dst = \"10.8.0.0/16\"; });\n"
		       "sas = ({ " SA("0x1001") " vlan = 7; }, { " SA("0x1002") " }); });\n");
	assert_int_equal(cfg->groups[0].n_fail_open, 2);
	assert_int_equal(cfg->groups[0].fail_open[0].vlan, 42);
	assert_int_equal(cfg->groups[0].fail_open[1].vlan, 0);
	assert_int_equal(cfg->groups[0].n_sas, 2);
	assert_int_equal(cfg->groups[0].sas[0].sel.vlan, 7);
	assert_int_equal(cfg->groups[0].sas[0].sel.src.addr, 0x0a010000);
	assert_int_equal(cfg->groups[0].sas[1].sel.vlan, 0);
}

static void
test_sa_parses_spi_algorithms_keys_and_lifetime(void **state)
{
	static const struct {
		const char *spi;
		uint32_t want;
	} spis[] = {
	    {"256", 256},
	    {"0x1001", 0x1001},
	    {"0xFFFFFFFF", 0xffffffff}, /* libconfig keeps -1 */
	    {"4294967295", 0xffffffff},
	    {"4294967295L", 0xffffffff},
	    {"0x80000000", 0x80000000},
	};
	const struct gvpn_sa_conf *sa = &cfg->groups[0].sas[0];
	char text[PATH_MAX + 1024];
	uint8_t key[20];

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(spis); k++) {
		snprintf(text, sizeof(text), GROUP_SA(SA("%s")), spis[k].spi);
		parse_ok(text);
		assert_int_equal(sa->spi, spis[k].want);
	}
	parse_ok(GROUP_SA("spi = 0x2002; src = \"10.1.0.0/16\"; dst = \"10.2.0.0/16\"; mirror = "
			  "true; cipher = \"aes-cbc\"; key = \"" KEY16 "\"; auth = "
			  "\"hmac-sha1-96\"; auth_key = \"" AUTH20 "\"; lifetime = 3600;"));
	assert_string_equal(cfg->groups[0].name, "g");
	assert_int_equal(cfg->groups[0].gdoi, 0);
	assert_int_equal(cfg->groups[0].direction, GVPN_DIR_BOTH);
	assert_int_equal(cfg->groups[0].n_sas, 1);
	assert_int_equal(sa->spi, 0x2002);
	assert_int_equal(sa->line, 4);
	assert_int_equal(sa->mirror, 1);
	assert_int_equal(sa->lifetime, 3600);
	assert_int_equal(sa->sel.src.addr, 0x0a010000);
	assert_int_equal(sa->sel.dst.len, 16);
	assert_int_equal(sa->xform.cipher, GVPN_CIPHER_AES_CBC);
	assert_int_equal(sa->xform.cipher_key_len, 16);
	assert_int_equal(unhex(KEY16, key, sizeof(key)), 16);
	assert_memory_equal(sa->xform.cipher_key, key, 16);
	assert_int_equal(sa->xform.auth, GVPN_AUTH_HMAC_SHA1_96);
	assert_int_equal(sa->xform.auth_key_len, 20);
	assert_int_equal(unhex(AUTH20, key, sizeof(key)), 20);
	assert_memory_equal(sa->xform.auth_key, key, 20);

	/* AES-GMAC: key and salt as AES-GCM, auth "none" or left out */
	parse_ok(GROUP_SA("spi = 0x2003; cipher = \"aes-gmac\"; key = \"" KEY16 KEY20
			  "\"; auth = \"none\";"));
	assert_int_equal(sa->xform.cipher, GVPN_CIPHER_AES_GMAC);
	assert_int_equal(sa->xform.cipher_key_len, 36);
	assert_int_equal(sa->xform.auth, GVPN_AUTH_NONE);
	parse_ok(GROUP_SA("spi = 0x2003; cipher = \"aes-gmac\"; key = \"" KEY20 "\";"));
	assert_int_equal(sa->xform.cipher_key_len, 20);
	/* HMAC-SHA-384-192 and HMAC-SHA-512-256 with their 48- and 64-byte keys */
	parse_ok(GROUP_SA("spi = 0x2004; cipher = \"3des-cbc\"; key = \"" KEY16 "1011121314151617"
			  "\"; auth = \"hmac-sha384-192\"; auth_key = \"" AUTH48 "\";"));
	assert_int_equal(sa->xform.auth, GVPN_AUTH_HMAC_SHA384_192);
	assert_int_equal(sa->xform.auth_key_len, 48);
	parse_ok(GROUP_SA("spi = 0x2005; cipher = \"aes-cbc\"; key = \"" KEY16 KEY16
			  "\"; auth = \"hmac-sha512-256\"; auth_key = \"" AUTH64 "\";"));
	assert_int_equal(sa->xform.auth, GVPN_AUTH_HMAC_SHA512_256);
	assert_int_equal(sa->xform.auth_key_len, 64);
	{
		uint8_t k64[64];

		assert_int_equal(unhex(AUTH64, k64, sizeof(k64)), 64);
		assert_memory_equal(sa->xform.auth_key, k64, 64);
	}
}

/* A key file's trailing newline is no part of the key. */
static void
test_key_and_psk_files_are_read_without_trailing_newline(void **state)
{
	char text[PATH_MAX + 1024];
	uint8_t key[20];

	(void)state;
	write_file(path_in_dir("key.ok"), KEY20 "\n", strlen(KEY20) + 1);
	write_file(path_in_dir("psk.ok"), "0123456789abcdefghijk \r\n", 24);
	snprintf(text, sizeof(text),
		 GROUP_SA("spi = 0x1001; cipher = \"aes-gcm\"; key_file = \"%s\";"),
		 path_in_dir("key.ok"));
	parse_ok(text);
	assert_int_equal(cfg->groups[0].sas[0].xform.cipher_key_len, 20);
	assert_int_equal(unhex(KEY20, key, sizeof(key)), 20);
	assert_memory_equal(cfg->groups[0].sas[0].xform.cipher_key, key, 20);
	snprintf(text, sizeof(text),
		 PORTS "groups = ({ name = \"g\"; key_servers = (\"192.0.2.1\"); local_address = "
		       "\"192.0.2.9\"; psk_file = \"%s\"; });\n",
		 path_in_dir("psk.ok"));
	parse_ok(text);
	assert_int_equal(cfg->groups[0].ks.psk_len, 21);
	assert_memory_equal(cfg->groups[0].ks.psk, "0123456789abcdefghijk", 21);
}

static void
test_key_server_group_parses_with_defaults(void **state)
{
	const struct gvpn_group_conf *g = &cfg->groups[0];

	(void)state;
	parse_ok(GDOI("id = 4294967295; direction = \"inbound\";"));
	assert_int_equal(g->gdoi, 1);
	assert_int_equal(g->id, 0xffffffff);
	assert_int_equal(g->direction, GVPN_DIR_INBOUND);
	assert_int_equal(g->n_sas, 0);
	assert_int_equal(g->ks.n_servers, 1);
	assert_int_equal(g->ks.server_addr[0], 0xc0000201);
	assert_int_equal(g->ks.server_port[0], GVPN_GDOI_PORT);
	assert_int_equal(g->ks.local_addr, 0xc0000209);
	assert_int_equal(g->ks.local_port, 0);
	assert_int_equal(g->ks.psk_len, 20);
	assert_memory_equal(g->ks.psk, "0123456789abcdefghij", 20);
	assert_int_equal(g->ks.habits, GVPN_KS_HABITS_STRICT);
	/* aes256-sha256-modp2048, then aes128-sha1-modp2048 */
	assert_int_equal(g->ks.n_phase1, 2);
	assert_int_equal(g->ks.phase1[0].enc, 7);
	assert_int_equal(g->ks.phase1[0].key_bits, 256);
	assert_int_equal(g->ks.phase1[0].hash, 4);
	assert_int_equal(g->ks.phase1[0].group, 14);
	assert_int_equal(g->ks.phase1[1].key_bits, 128);
	assert_int_equal(g->ks.phase1[1].hash, 2);
	assert_int_equal(g->ks.phase1_lifetime, 86400);
	assert_int_equal(g->ks.retry_interval_ms, 10000);
	assert_int_equal(g->ks.retries, 3);

	parse_ok(PORTS "groups = ({ name = \"g\"; key_servers = (\"192.0.2.1:1848\", "
		       "\"192.0.2.2\", \"192.0.2.3\", \"192.0.2.4:65535\");\n"
		       "local_address = \"192.0.2.9:848\"; psk = \"0123456789abcdefghij\";\n"
		       "phase1 = (\"3des-md5-modp1024\"); phase1_lifetime = 60;\n"
		       "retry_interval = 3600;\nretries = 100; direction = \"outbound\"; });\n");
	assert_int_equal(g->direction, GVPN_DIR_OUTBOUND);
	assert_int_equal(g->ks.n_servers, 4);
	assert_int_equal(g->ks.server_port[0], 1848);
	assert_int_equal(g->ks.server_port[1], GVPN_GDOI_PORT);
	assert_int_equal(g->ks.server_addr[3], 0xc0000204);
	assert_int_equal(g->ks.server_port[3], 65535);
	assert_int_equal(g->ks.local_port, 848);
	assert_int_equal(g->ks.n_phase1, 1);
	assert_int_equal(g->ks.phase1[0].enc, 5);
	assert_int_equal(g->ks.phase1[0].hash, 1);
	assert_int_equal(g->ks.phase1[0].group, 2);
	assert_int_equal(g->ks.phase1_lifetime, 60);
	assert_int_equal(g->ks.retry_interval_ms, 3600000);
	assert_int_equal(g->ks.retries, 100);
	parse_ok(GDOI("key_server_habits = \"reference\";"));
	assert_int_equal(g->ks.habits, GVPN_KS_HABITS_REFERENCE);
	assert_int_equal(g->ks.af, GVPN_AF_IPV4);
}

static void
test_ipv6_key_servers_and_local_address_parse(void **state)
{
	static const uint8_t ks1[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};
	static const uint8_t ks2[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, [15] = 0x11};
	static const uint8_t ks3[16] = {[15] = 1};
	static const uint8_t ks4[16] = {0xfe, 0x80, [8] = 0x02, [15] = 0xff};
	static const uint8_t local[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = 0x01, [15] = 0x09};
	const struct gvpn_group_conf *g = &cfg->groups[0];

	(void)state;
	parse_ok(PORTS "groups = ({ name = \"g\"; key_servers = (\"[2001:db8::10]:1848\", "
		       "\"[2001:db8:0:1::11]\", \"::1\", \"fe80::200:0:0:ff\");\n"
		       "local_address = \"[2001:db8::109]:848\"; psk = \"0123456789abcdefghij\"; "
		       "});\n");
	assert_int_equal(g->ks.af, GVPN_AF_IPV6);
	assert_int_equal(g->ks.n_servers, 4);
	assert_memory_equal(g->ks.server_addr6[0], ks1, 16);
	assert_int_equal(g->ks.server_port[0], 1848);
	assert_memory_equal(g->ks.server_addr6[1], ks2, 16);
	assert_int_equal(g->ks.server_port[1], GVPN_GDOI_PORT);
	/* a bare address has no port: its colons are the address's */
	assert_memory_equal(g->ks.server_addr6[2], ks3, 16);
	assert_int_equal(g->ks.server_port[2], GVPN_GDOI_PORT);
	assert_memory_equal(g->ks.server_addr6[3], ks4, 16);
	for (int i = 0; i < 4; i++)
		assert_int_equal(g->ks.server_addr[i], 0);
	assert_memory_equal(g->ks.local_addr6, local, 16);
	assert_int_equal(g->ks.local_addr, 0);
	assert_int_equal(g->ks.local_port, 848);

	parse_ok(PORTS "groups = ({ name = \"g\"; key_servers = (\"2001:db8::10\");\n"
		       "local_address = \"2001:db8::109\"; psk = \"0123456789abcdefghij\"; });\n");
	assert_int_equal(g->ks.af, GVPN_AF_IPV6);
	assert_int_equal(g->ks.server_port[0], GVPN_GDOI_PORT);
	assert_int_equal(g->ks.local_port, 0);
	assert_memory_equal(g->ks.local_addr6, local, 16);
	/* the IPv4 forms are unchanged */
	parse_ok(GDOI(""));
	assert_int_equal(g->ks.af, GVPN_AF_IPV4);
	assert_int_equal(g->ks.server_addr[0], 0xc0000201);
}

static void
test_phase1_name_parses_to_ike_attribute_values(void **state)
{
	static const struct {
		const char *name;
		int rc;
		struct gvpn_phase1 want;
	} cases[] = {
	    {"", -1, {0}},
	    {"aes128-sha1", -1, {0}},
	    {"aes128-sha1-modp2048-x", -1, {0}},
	    {"aes128--modp2048", -1, {0}},
	    {"aes512-sha1-modp2048", -1, {0}},
	    {"aes128-sha512-modp2048", -1, {0}},
	    {"aes128-sha1-modp6144", -1, {0}},
	    {"aes128-sha1-ecp521", -1, {0}},
	    {"aes128-sha1-ecp", -1, {0}},
	    {"AES128-SHA1-MODP2048", -1, {0}},
	    {"aes128-sha1-modp2048aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -1, {0}},
	    {"des-md5-modp768", 0, {1, 0, 1, 1}},
	    {"3des-sha1-modp1024", 0, {5, 0, 2, 2}},
	    {"aes128-sha256-modp1536", 0, {7, 128, 4, 5}},
	    {"aes192-sha1-modp2048", 0, {7, 192, 2, 14}},
	    {"aes256-sha256-modp2048", 0, {7, 256, 4, 14}},
	    {"aes128-sha1-modp3072", 0, {7, 128, 2, 15}},
	    {"3des-sha256-modp4096", 0, {5, 0, 4, 16}},
	    {"aes256-sha256-ecp256", 0, {7, 256, 4, 19}},
	    {"aes128-md5-ecp384", 0, {7, 128, 1, 20}},
	};

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		struct gvpn_phase1 p = {0};

		if (gvpn_phase1_parse(cases[k].name, &p) != cases[k].rc)
			fail_msg("'%s': not %s", cases[k].name, cases[k].rc ? "refused" : "taken");
		if (cases[k].rc != 0)
			continue;
		assert_int_equal(p.enc, cases[k].want.enc);
		assert_int_equal(p.key_bits, cases[k].want.key_bits);
		assert_int_equal(p.hash, cases[k].want.hash);
		assert_int_equal(p.group, cases[k].want.group);
	}
}

static void
test_ports_pair_by_peer_name(void **state)
{
	(void)state;
	parse_ok(
	    "ports = ({ name = \"a\"; role = \"clear\"; device = \"d0\"; peer = \"d\"; },\n"
	    "{ name = \"b\"; role = \"clear\"; device = \"d1\"; mtu = 9000; },\n"
	    "{ name = \"c\"; role = \"protected\"; device = \"d2\"; peer = \"b\"; mtu = 576; },\n"
	    "{ name = \"d\"; role = \"protected\"; device = \"d3\"; });\n");
	assert_int_equal(cfg->n_ports, 4);
	assert_int_equal(cfg->ports[0].peer, 3);
	assert_int_equal(cfg->ports[3].peer, 0);
	assert_int_equal(cfg->ports[1].peer, 2);
	assert_int_equal(cfg->ports[2].peer, 1);
	assert_int_equal(cfg->ports[1].mtu, 9000);
	assert_int_equal(cfg->ports[2].mtu, 576);
}

/* A protected port with the box's own address (line 2); @p extra follows. */
#define OWN_PORTS(wan)                                                                             \
	"ports = ({ name = \"in\"; role = \"clear\"; device = \"d0\"; },\n"                        \
	"{ name = \"wan\"; role = \"protected\"; device = \"d1\"; " wan " });\n"

static void
test_port_address_parses_with_gateway_and_rate(void **state)
{
	(void)state;
	parse_ok(OWN_PORTS("address = \"203.0.113.50/24\"; gateway = \"203.0.113.1\"; "
			   "punt_rate = 500;"));
	assert_int_equal(cfg->ports[1].address, 0xcb007132);
	assert_int_equal(cfg->ports[1].prefix_len, 24);
	assert_int_equal(cfg->ports[1].gateway, 0xcb007101);
	assert_int_equal(cfg->ports[1].punt_rate, 500);
	assert_int_equal(cfg->ports[0].address, 0);
	/* no gateway: the routes are the system's; the default rate */
	parse_ok(OWN_PORTS("address = \"203.0.113.50/31\";"));
	assert_int_equal(cfg->ports[1].gateway, 0);
	assert_int_equal(cfg->ports[1].punt_rate, GVPN_PUNT_RATE_DEFAULT);
	/* a bypass for the GDOI port, as a management-NIC setup has, is no conflict */
	parse_ok(OWN_PORTS("address = \"203.0.113.50/24\";") "bypass = ({ protocol = \"udp\"; "
							     "dst_port = 848; });\n");
}

static void
test_port_address_that_is_wrong_or_a_transit_host_is_refused(void **state)
{
	static const struct {
		const char *what, *text, *err;
	} cases[] = {
	    {"no length", OWN_PORTS("address = \"203.0.113.50\";"),
	     "2: ports[1].address: needs its subnet's length: \"a.b.c.d/len\""},
	    {"not an address", OWN_PORTS("address = \"203.0.113/24\";"),
	     "2: ports[1].address: not an IPv4 interface address (\"a.b.c.d/len\", len 1..32)"},
	    {"multicast", OWN_PORTS("address = \"239.1.1.1/24\";"),
	     "2: ports[1].address: 239.1.1.1 is not a unicast host address"},
	    {"the subnet's address", OWN_PORTS("address = \"203.0.113.0/24\";"),
	     "2: ports[1].address: 203.0.113.0 is the network address of its /24 subnet"},
	    {"the broadcast address", OWN_PORTS("address = \"203.0.113.255/24\";"),
	     "2: ports[1].address: 203.0.113.255 is the broadcast address of its /24 subnet"},
	    {"gateway outside the subnet",
	     OWN_PORTS("address = \"203.0.113.50/24\"; gateway = \"198.51.100.1\";"),
	     "2: ports[1].gateway: 198.51.100.1 is outside the port's subnet (address /24)"},
	    {"gateway is the address",
	     OWN_PORTS("address = \"203.0.113.50/24\"; gateway = \"203.0.113.50\";"),
	     "2: ports[1].gateway: is the port's own address"},
	    {"gateway without address", OWN_PORTS("gateway = \"203.0.113.1\";"),
	     "2: ports[1].gateway: only meaningful with address"},
	    {"punt rate 0", OWN_PORTS("address = \"203.0.113.50/24\"; punt_rate = 0;"),
	     "2: ports[1].punt_rate: must be 1..1000000"},
	    {"a name no interface can have",
	     "ports = ({ name = \"in\"; role = \"clear\"; device = \"d0\"; },\n"
	     "{ name = \"wan port\"; role = \"protected\"; device = \"d1\"; "
	     "address = \"203.0.113.50/24\"; });\n",
	     "2: ports[1].name: 'wan port': with an address it names the port's kernel "
	     "interface: letters, digits, '-', '_' and '.' only"},
	    {"the same address twice",
	     "ports = ({ name = \"in\"; role = \"clear\"; device = \"d0\"; "
	     "address = \"203.0.113.50/24\"; },\n"
	     "{ name = \"wan\"; role = \"protected\"; device = \"d1\"; "
	     "address = \"203.0.113.50/24\"; });\n",
	     "2: ports[1].address: 203.0.113.50 is also port 'in''s address"},
	    {"inside a static SA's selectors",
	     OWN_PORTS("address = \"10.1.0.5/24\";") "groups = ({ name = \"g\"; sas = ({ spi = "
						     "0x1001; src = \"10.1.0.0/16\";\n"
						     "dst = \"10.2.0.0/16\"; mirror = true; cipher "
						     "= \"aes-gcm\";\n"
						     "key = "
						     "\"000102030405060708090a0b0c0d0e0f10111213\";"
						     " }); });\n",
	     "2: ports[1].address: 10.1.0.5 lies inside the src of group 'g''s SA 0x1001 "
	     "(line 3): a transit host's address, which members encrypt to"},
	    {"inside a fail-open rule",
	     OWN_PORTS("address = \"10.2.0.5/24\";") "groups = ({ name = \"g\"; fail_open = ({ dst "
						     "= \"10.2.0.0/16\"; }); });\n",
	     "2: ports[1].address: 10.2.0.5 lies inside the dst of group 'g''s fail_open[0]: "
	     "a transit host's address"},
	    {"a bypass's host",
	     OWN_PORTS(
		 "address = \"203.0.113.50/24\";") "bypass = ({ dst = \"203.0.113.50/32\"; });\n",
	     "2: ports[1].address: 203.0.113.50 is bypass[0]'s host: a bypass forwards traffic "
	     "through the box, never to it; the box's own traffic needs no bypass"},
	    {"a key server",
	     OWN_PORTS("address = \"203.0.113.50/24\";") "groups = ({ name = \"g\"; key_servers = "
							 "(\"203.0.113.50\");\n"
							 "local_address = \"203.0.113.50\"; psk = "
							 "\"0123456789abcdefghij\"; });\n",
	     "2: ports[1].address: 203.0.113.50 is also group 'g''s key server"},
	};

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(cases); k++)
		expect_refused(cases[k].what, cases[k].text, strlen(cases[k].text), cases[k].err);
}

/* The examples the documentation points to all parse. */
static void
test_every_shipped_example_parses(void **state)
{
	static const struct {
		const char *file;
		uint16_t n_bypass, n_fail_open, n_sas;
		int gdoi;
	} cases[] = {
	    {"static-group.conf", 3, 0, 1, 0},
	    {"gdoi-member.conf", 2, 1, 0, 1},
	    {"fail-open.conf", 0, 1, 0, 0},
	};
	char err[512];

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", GVPN_EXAMPLES_DIR, cases[k].file);
		if (gvpn_config_parse(path, cfg, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_int_equal(cfg->n_ports, 2);
		assert_int_equal(cfg->n_bypass, cases[k].n_bypass);
		assert_int_equal(cfg->n_groups, 1);
		assert_string_equal(cfg->groups[0].name, "corp");
		assert_int_equal(cfg->groups[0].id, 1001);
		assert_int_equal(cfg->groups[0].gdoi, cases[k].gdoi);
		assert_int_equal(cfg->groups[0].n_fail_open, cases[k].n_fail_open);
		assert_int_equal(cfg->groups[0].n_sas, cases[k].n_sas);
	}
}

/* Group IDs up to 2^32 - 1 as written, without libconfig's L suffix (key
 * servers number groups in 32 bits); 2^32 is refused. */
static void
test_group_id_takes_32_bits_as_written(void **state)
{
	(void)state;
	parse_ok(PORTS "groups = ({ name = \"g\"; id = 4294967295; sas = (\n{ " SA(
	    "0x1001") " }\n); });\n");
	assert_int_equal(cfg->groups[0].id, 4294967295u);
	parse_ok(PORTS "groups = ({ name = \"g\"; id = 0xFFFFFFFF; sas = (\n{ " SA(
	    "0x1001") " }\n); });\n");
	assert_int_equal(cfg->groups[0].id, 4294967295u);
	{
		static const char text[] = PORTS "groups = ({ name = \"g\"; id = 4294967296; "
						 "sas = (\n{ " SA("0x1001") " }\n); });\n";

		expect_refused("group ID 2^32", text, strlen(text),
			       "3: groups[0].id: must be 0..4294967295");
	}
}

/* The same result through the forked reader, and a wiped result on failure. */
static void
test_load_in_a_child_gives_the_parse_result(void **state)
{
	struct gvpn_config *c = malloc(sizeof(*c));
	char err[512], want[PATH_MAX + 128];

	(void)state;
	assert_non_null(c);
	write_file(conf_path, GROUP_SA(SA("0x1001")), strlen(GROUP_SA(SA("0x1001"))));
	assert_int_equal(gvpn_config_load(conf_path, c, err, sizeof(err)), 0);
	assert_int_equal(gvpn_config_parse(conf_path, cfg, err, sizeof(err)), 0);
	assert_memory_equal(c, cfg, sizeof(*c));
	write_file(conf_path, GROUP_SA(SA("255")), strlen(GROUP_SA(SA("255"))));
	assert_int_equal(gvpn_config_load(conf_path, c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:4: groups[0].sas[0].spi: must be 256..4294967295",
		 conf_path);
	assert_string_equal(err, want);
	assert_int_equal(gvpn_config_load(path_in_dir("absent.conf"), c, err, sizeof(err)),
			 -ENOENT);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_malformed_setting_is_refused_naming_file_line_and_setting),
	    cmocka_unit_test(test_nul_byte_in_the_file_is_refused_with_its_line),
	    cmocka_unit_test(test_syntax_error_names_the_line),
	    cmocka_unit_test(test_unreadable_file_is_an_errno),
	    cmocka_unit_test(test_key_file_that_is_no_regular_file_or_too_large_is_refused),
	    cmocka_unit_test(test_capacity_limits_hold_at_the_boundary),
	    cmocka_unit_test(test_omitted_settings_take_their_defaults),
	    cmocka_unit_test(test_dataplane_settings_parse_to_their_values),
	    cmocka_unit_test(test_selector_parses_prefixes_protocols_and_port_ranges),
	    cmocka_unit_test(test_sa_parses_spi_algorithms_keys_and_lifetime),
	    cmocka_unit_test(test_sa_and_fail_open_take_a_vlan),
	    cmocka_unit_test(test_key_and_psk_files_are_read_without_trailing_newline),
	    cmocka_unit_test(test_key_server_group_parses_with_defaults),
	    cmocka_unit_test(test_ipv6_key_servers_and_local_address_parse),
	    cmocka_unit_test(test_phase1_name_parses_to_ike_attribute_values),
	    cmocka_unit_test(test_ports_pair_by_peer_name),
	    cmocka_unit_test(test_port_address_parses_with_gateway_and_rate),
	    cmocka_unit_test(test_port_address_that_is_wrong_or_a_transit_host_is_refused),
	    cmocka_unit_test(test_every_shipped_example_parses),
	    cmocka_unit_test(test_group_id_takes_32_bits_as_written),
	    cmocka_unit_test(test_load_in_a_child_gives_the_parse_result),
	};

	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
