#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# gvpn live demo: a GDOI group on one machine.
#
#   hostA (192.0.2.10) -- [gvpnd A] --+-- WAN bridge --+-- [gvpnd B] -- hostB (198.51.100.20)
#                      10.0.0.2 on    |                |    10.0.0.3 on
#                      its WAN port   |                |    its WAN port
#                                key server (10.0.0.1, GDOI over UDP 848)
#
# Each member reaches the key server in band, as on an appliance where DPDK
# owns both NICs: its WAN port has its own address (ports[].address), gvpnd
# makes a kernel interface "wan" for it, and the member's namespace has no
# other way out (no management interface, no route but through "wan").
# Both members register with the key server, the hosts talk (ping, UDP, TCP),
# only ESP with the hosts' own addresses crosses the WAN, both members are
# asked to register again (a pull, as before keys expire) while a ping runs,
# then the key server pushes a new TEK and both switch to it while a ping
# runs. gvpnctl shows each step. Everything is removed on exit, Ctrl-C or
# SIGTERM: the processes the demo started (by their process ids) and the
# namespaces, files and runtime directories it made.
#
# Each run has its own id (printed once it is built), in the names of its namespaces,
# interfaces and DPDK file prefixes, so two demos can run at the same time.
#
#   scripts/demo.sh [--keep] [--short]
#   scripts/demo.sh --stop ID
#     --keep     leave the group running (--stop ID removes it)
#     --short    fewer packets, no pauses (for the test suite)
#     --stop ID  remove what the --keep run ID left
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
CTL=app/gvpnctl/gvpnctl
KEEP=0 SHORT=0 STOP=
PSK=demo-group-pre-shared-key-2026

while [ $# -gt 0 ]; do
	case $1 in
	--keep) KEEP=1 ;;
	--short) SHORT=1 ;;
	--stop) STOP=${2:-}; [ -n "$STOP" ] || { echo "demo.sh: --stop needs the run id" >&2; exit 2; }
		shift ;;
	-h|--help) sed -n '2,/^set -euo/{/^set -euo/!p}' "$0"; exit 0 ;;
	*) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; }
[ -n "$STOP" ] || [ -c /dev/net/tun ] ||
	{ echo "demo.sh: needs /dev/net/tun for the members' own addresses (modprobe tun)" >&2; exit 1; }

# What a run made is listed in its directory RUN, one line each: pids
# ("PID START NAME", START the process's start time, so that a pid reused by
# another process is never ended), netns (namespace names) and dpdk (DPDK
# runtime directories). The interfaces live in those namespaces and go with
# them.

# proc_start PID: the start time of process PID (clock ticks after boot), or
# nothing when there is no such process or only its zombie
proc_start() {
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	read -ra f <<<"${s##*) }"
	[ "${f[0]}" = Z ] || echo "${f[19]}"
}

# ours PID START: process PID is still the one the demo started
ours() { [ "$2" != - ] && [ "$(proc_start "$1")" = "$2" ]; }

cleanup() {
	set +e
	trap '' INT TERM
	[ -n "${RUN:-}" ] && [ -d "$RUN" ] || return 0
	local pid start name i left ended=""
	touch "$RUN/pids" "$RUN/netns" "$RUN/dpdk"
	while read -r pid start name; do
		ours "$pid" "$start" && kill "$pid" 2>/dev/null && ended+=" $name:$pid"
	done <"$RUN/pids"
	# given 5 s to stop cleanly, then ended
	for i in $(seq 50); do
		left=0
		while read -r pid start name; do ours "$pid" "$start" && left=1; done <"$RUN/pids"
		[ $left = 0 ] && break
		sleep 0.1
	done
	while read -r pid start name; do
		ours "$pid" "$start" && kill -9 "$pid" 2>/dev/null
		# reap it (a no-op for another shell's, as after --keep)
		wait "$pid" 2>/dev/null
	done <"$RUN/pids"
	while read -r name; do ip netns del "$name"; done <"$RUN/netns"
	while read -r name; do rm -rf "$name"; done <"$RUN/dpdk"
	echo "demo $ID removed: processes${ended:- none}; namespaces $(paste -sd ' ' "$RUN/netns")"
	rm -rf "$RUN"
}

if [ -n "$STOP" ]; then
	if ! [[ $STOP =~ ^[A-Za-z0-9]+$ ]] || [ ! -f "/run/gvpn-demo.$STOP/pids" ]; then
		echo "demo.sh: no demo $STOP left running" >&2
		exit 1
	fi
	RUN=/run/gvpn-demo.$STOP ID=$STOP
	cleanup
	exit 0
fi

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_ns() { local n=$1; shift; ip netns exec "$n" "$@"; }
# hold ... release: a signal in between ends the demo only at release, so that
# what was made is on record for cleanup first
hold() { trap 'SIGNAL=130' INT; trap 'SIGNAL=143' TERM; }
release() {
	trap 'exit 130' INT
	trap 'exit 143' TERM
	[ -z "${SIGNAL:-}" ] || exit "$SIGNAL"
}
# start NAME COMMAND...: COMMAND in the background, its pid recorded for cleanup
start() {
	local name=$1 s
	shift
	hold
	"$@" &
	s=$(proc_start $!)
	echo "$! ${s:--} $name" >>"$RUN/pids"
	release
}
# shown COMMAND...: the command, then its output
shown() {
	echo "  \$ $*"
	"$@" | sed 's/^/    /'
}
# ctl X ARGS...: gvpnctl on gvpnd X (a or b)
ctl() { local x=$1; shift; $PY $CTL -f "$P$x" "$@"; }
# ctl_shown X ARGS...: the gvpnctl command, then its answer
ctl_shown() {
	local x=$1; shift
	echo "  \$ $CTL -f $P$x $*"
	ctl "$x" "$@" | sed 's/^/    /'
}
# until_ok SECONDS COMMAND...: run COMMAND every 0.2 s until it succeeds, at
# most SECONDS; its status says whether it did
until_ok() {
	local i n=$(($1 * 5))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}
# the conditions it waits for (gvpnctl's complaints while gvpnd starts are not shown)
registered() { ctl "$1" show groups --json 2>/dev/null | grep '"state": "registered"' >/dev/null; }
registrations() {
	ctl "$1" show groups --json 2>/dev/null | grep -E "\"registrations\": $2,?\$" >/dev/null
}
sa_active() {
	ctl "$1" show sa 2>/dev/null |
		awk -v spi="$2" '$1 == spi && $3 == "active" { f = 1 } END { exit !f }'
}

step "setup and build"
# one build at a time when demos start together
(
	flock 9
	scripts/setup.sh
	[ -f build/build.ninja ] || meson setup build >/dev/null
	ninja -C build >/dev/null
) 9<scripts/demo.sh

trap cleanup EXIT
hold
RUN=$(mktemp -d /run/gvpn-demo.XXXXXX)
ID=${RUN##*.}
release
# names: namespaces ${P}ks (key server), ${P}ga (gvpnd A), ${P}ha (host A) ...;
# DPDK file prefixes ${P}a, ${P}b
P=gvd$ID
KS=${P}ks
echo "demo $ID: namespaces $P*, gvpnd file prefixes ${P}a and ${P}b, files in $RUN"

step "network: two sites, a WAN bridge and the key server; the members' only way out is their WAN port"
for n in "$KS" "${P}ga" "${P}gb" "${P}ha" "${P}hb"; do
	hold
	ip netns add "$n"
	echo "$n" >>"$RUN/netns"
	release
	# default: also the kernel interfaces gvpnd makes later
	in_ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$n" link set lo up
done
BR=br-$ID
ip -n "$KS" link add "$BR" type bridge
ip -n "$KS" addr add 10.0.0.1/24 dev "$BR"
ip -n "$KS" link set dev "$BR" up
# checksums filled in by the key server's kernel: a veth would leave them to
# an offload no wire does, and the members' kernels would refuse them
in_ns "$KS" ethtool -K "$BR" tx off >/dev/null
# site X: hostX -- gvpnd (clear port clrX-ID, protected port wanX-ID); gvpnd's
# namespace has no address of its own until gvpnd makes "wan". The interfaces
# are made in their namespaces, so their names never meet another run's.
site() {
	local x=$1 host=$2 peer_net=$3
	local g=$P"g$x" h=$P"h$x" l
	ip link add name "host$x-$ID" netns "$h" type veth peer name "clr$x-$ID" netns "$g"
	ip link add name "wan$x-$ID" netns "$g" type veth peer name "bwan$x-$ID" netns "$KS"
	ip -n "$KS" link set dev "bwan$x-$ID" master "$BR" up
	in_ns "$KS" ethtool -K "bwan$x-$ID" tx off >/dev/null
	ip -n "$h" addr add "$host"/24 dev "host$x-$ID"
	ip -n "$h" link set dev "host$x-$ID" up
	ip -n "$h" route add "$peer_net" dev "host$x-$ID"
	in_ns "$h" ethtool -K "host$x-$ID" tx off >/dev/null
	for l in "clr$x-$ID" "wan$x-$ID"; do
		# gvpnd's veth ends are wires: their own stack must not answer for
		# the member's address, which lives on the interface gvpnd makes
		# (and carries the same MAC)
		in_ns "$g" sysctl -qw "net.ipv4.conf.$l.arp_ignore=8" "net.ipv4.conf.$l.rp_filter=1"
		ip -n "$g" link set dev "$l" up
	done
}
site a 192.0.2.10 198.51.100.0/24
site b 198.51.100.20 192.0.2.0/24
echo "hostA 192.0.2.10 -- gvpnd A (10.0.0.2) -- WAN -- gvpnd B (10.0.0.3) -- hostB 198.51.100.20"

step "key server: group 1001, AES-128-CBC + HMAC-SHA1-96, 192.0.2.0/24 <-> 198.51.100.0/24"
echo '{"pushes": []}' >"$RUN/ks-control.json"
cat > "$RUN/ks.json" <<JSON
{"listen": "10.0.0.1", "port": 848, "psk": "$PSK", "state_file": "$RUN/ks-state.json",
 "control_file": "$RUN/ks-control.json",
 "groups": [{"id": 1001, "atd": 1, "dtd": 10,
   "kek": {"algorithm": "aes-cbc", "key_bits": 128, "sig_hash": "sha256", "lifetime": 3600},
   "teks": [{"spi": 4097, "cipher": "aes-cbc", "key_bits": 128,
   "auth": "hmac-sha1-96", "src": "192.0.2.0/24", "dst": "198.51.100.0/24", "mirror": true,
   "lifetime": 900}]}]}
JSON
start ks ip netns exec "$KS" $PY test/ks/gdoi_ks.py --config "$RUN/ks.json" >"$RUN/ks.log" 2>&1

step "group members: gvpnd A and B register"
# The WAN port's own address is the member's: gvpnd gives it to the kernel
# interface "wan" with the default route, and the GDOI client binds to it.
# No bypass: what is addressed to the member never goes through the group's
# rules.
member() {
	local x=$1 addr=$2
	cat >"$RUN/gvpnd-$x.conf" <<CONF
ports = (
  { name = "inside"; role = "clear";     device = "net_af_packet0"; peer = "wan"; },
  { name = "wan";    role = "protected"; device = "net_af_packet1";
    address = "$addr/24"; gateway = "10.0.0.1"; }
);
groups = ( {
  name = "corp"; id = 1001;
  key_servers = ( "10.0.0.1" );
  local_address = "$addr";
  psk = "$PSK";
} );
CONF
	echo "/var/run/dpdk/$P$x" >>"$RUN/dpdk"
	start "gvpnd-$x" ip netns exec "$P""g$x" build/app/gvpnd --no-huge --no-pci -l 0 -m 256 \
		--file-prefix "$P$x" --log-level 'lib.*:error' \
		--vdev "net_af_packet0,iface=clr$x-$ID" --vdev "net_af_packet1,iface=wan$x-$ID" \
		-- -f "$RUN/gvpnd-$x.conf" >"$RUN/gvpnd-$x.log" 2>&1
}
member a 10.0.0.2
member b 10.0.0.3
for x in a b; do
	until_ok 20 registered $x ||
		{ echo "gvpnd $x did not register:"; cat "$RUN/gvpnd-$x.log"; exit 1; }
done
# the key server's activation time delay: the SA encrypts 1 s after registration
for x in a b; do
	until_ok 5 sa_active $x 0x00001001 ||
		{ echo "gvpnd $x: SA 0x00001001 not active:"; cat "$RUN/gvpnd-$x.log"; exit 1; }
done
ctl_shown a show groups
ctl_shown b show groups
echo "each member's namespace: its only interface with an address is the one gvpnd made for"
echo "its WAN port, and every route goes through it (the key server only in band)"
for x in a b; do
	shown ip -n "$P""g$x" -br -4 addr
	shown ip -n "$P""g$x" route
done
echo "the key server pings gvpnd A's own address (answered by its kernel, through the port)"
in_ns "$KS" ping -c 1 -W 2 10.0.0.2 | sed -n '2p;$p' | sed 's/^/  /'

step "traffic: ping, a UDP datagram and a TCP transfer from hostA to hostB"
start dumpcap ip netns exec "$KS" dumpcap -q -i "$BR" -f "not udp port 848" -w "$RUN/wan.pcapng" \
	2>"$RUN/dumpcap.err"
CAPTURE=$!
until_ok 5 grep -qs "^Capturing on" "$RUN/dumpcap.err" ||
	{ echo "dumpcap did not start:"; cat "$RUN/dumpcap.err"; exit 1; }
COUNT=$([ $SHORT = 1 ] && echo 2 || echo 4)
in_ns "${P}ha" ping -c "$COUNT" -i 0.2 -W 2 198.51.100.20 | sed -n '1,2p;$p'
start receiver ip netns exec "${P}hb" $PY scripts/demo_view.py serve >"$RUN/serve.txt" 2>&1
SERVER=$!
until_ok 5 grep -qs '^ready' "$RUN/serve.txt" ||
	{ echo "hostB's receiver did not start:"; cat "$RUN/serve.txt"; exit 1; }
in_ns "${P}ha" $PY scripts/demo_view.py send
wait $SERVER || { echo "hostB did not get it all:"; cat "$RUN/serve.txt"; exit 1; }
sed '/^ready/d; s/^/  /' "$RUN/serve.txt"
sleep 1
kill $CAPTURE
wait $CAPTURE || true
$PY scripts/demo_view.py wan "$RUN/wan.pcapng"
ctl_shown a show sa
ctl_shown a show ports
ctl_shown a show lcores
ctl_shown a show counters

step "re-registration: both members pull the group policy again while traffic flows"
start ping ip netns exec "${P}ha" ping -c 20 -i 0.1 -W 1 198.51.100.20 >"$RUN/ping-rekey.txt" 2>&1
PING=$!
for x in a b; do ctl_shown $x group register corp; done
wait $PING || true
for x in a b; do until_ok 10 registrations $x 2 || true; done
ctl_shown a show groups
ctl_shown b show groups
tail -2 "$RUN/ping-rekey.txt"

step "rekey: the key server pushes a new TEK (GROUPKEY-PUSH, SPI 0x00001002); both switch after 1 s"
start ping ip netns exec "${P}ha" ping -c 30 -i 0.1 -W 1 198.51.100.20 >"$RUN/ping-push.txt" 2>&1
PING=$!
sleep 0.5
echo '{"pushes": [{"id": "demo-rekey", "group": 1001, "rekey": true}]}' >"$RUN/ks-control.json.new"
mv "$RUN/ks-control.json.new" "$RUN/ks-control.json"
for x in a b; do until_ok 10 sa_active $x 0x00001002 || true; done
wait $PING || true
ctl_shown a show sa
ctl_shown b show sa
tail -2 "$RUN/ping-push.txt"

if [ $KEEP = 1 ]; then
	trap - EXIT
	step "left running (--keep); scripts/demo.sh --stop $ID removes it"
	echo "gvpnctl: $CTL -f ${P}a show sa"
	echo "hosts:   ip netns exec ${P}ha ping 198.51.100.20"
	echo "members: ip netns exec $KS ping 10.0.0.2    (gvpnd A's own address, in band)"
else
	step "done: removing namespaces and processes"
fi
