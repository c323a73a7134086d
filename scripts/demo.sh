#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# gvpn live demo: a GDOI group on one machine.
#
#   hostA (192.0.2.10) -- [gvpnd A] --+-- WAN bridge --+-- [gvpnd B] -- hostB (198.51.100.20)
#                                     |                |
#                                key server (10.0.0.1, GDOI over UDP 848)
#
# Both members register with the key server, the hosts talk (ping, UDP, TCP),
# only ESP with the hosts' own addresses crosses the WAN, both members are
# asked to register again (a pull, as before keys expire) while a ping runs,
# then the key server pushes a new TEK and both switch to it while a ping
# runs. Everything is removed on exit or Ctrl-C.
#
#   scripts/demo.sh [--keep] [--short]
#     --keep    leave the group running (scripts/demo.sh --stop removes it)
#     --short   fewer packets, no pauses (for the test suite)
#     --stop    remove what --keep left
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=/usr/bin/python3
KEEP=0 SHORT=0
TAG=gvd
NS=(${TAG}ks ${TAG}ga ${TAG}gb ${TAG}ha ${TAG}hb)
RUN=/run/gvpn-demo
PSK=demo-group-pre-shared-key-2026

cleanup() {
	for f in "$RUN"/*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
	for f in "$RUN"/*.pid; do
		for i in $(seq 50); do
			[ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null || break
			sleep 0.1
		done
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
	done
	# anything an interrupted earlier run left (these names are the demo's own),
	# given time to stop cleanly, then ended
	pkill -f "$RUN/" 2>/dev/null || true
	for i in $(seq 50); do pgrep -f "$RUN/" >/dev/null || break; sleep 0.1; done
	pkill -9 -f "$RUN/" 2>/dev/null || true
	pkill -9 -f -- "--file-prefix ${TAG}[ab] " 2>/dev/null || true
	for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf "$RUN" /var/run/dpdk/${TAG}a /var/run/dpdk/${TAG}b
}

while [ $# -gt 0 ]; do
	case $1 in
	--keep) KEEP=1 ;;
	--short) SHORT=1 ;;
	--stop) cleanup; echo "demo removed"; exit 0 ;;
	-h|--help) sed -n '2,/^set -euo/{/^set -euo/!p}' "$0"; exit 0 ;;
	*) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_ns() { local n=$1; shift; ip netns exec "$n" "$@"; }
tel() { echo "$2" | dpdk-telemetry.py -f "$1" 2>/dev/null | tail -1; }
# wait_tel PREFIX COMMAND PATTERN [SECONDS]: poll the telemetry answer until
# it matches (grep), at most SECONDS (10); its status says whether it did.
wait_tel() {
	for i in $(seq $((${4:-10} * 5))); do
		tel "$1" "$2" | grep -q "$3" && return 0
		sleep 0.2
	done
	return 1
}

step "setup and build"
scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

cleanup
trap '[ $KEEP = 1 ] || cleanup' EXIT
trap 'exit 130' INT TERM
mkdir -p "$RUN"

step "network: two sites, a WAN bridge and the key server"
for n in "${NS[@]}"; do
	ip netns add "$n"
	in_ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$n" link set lo up
done
KS=${TAG}ks
ip -n $KS link add br0 type bridge
ip -n $KS addr add 10.0.0.1/24 dev br0
ip -n $KS link set dev br0 up
# site X: hostX -- gvpnd (clear port clrX, protected port wanX, management mgtX)
site() {
	local x=$1 host=$2 peer_net=$3 mgmt=$4
	local g=${TAG}g$x h=${TAG}h$x
	ip link add name host$x netns "$h" type veth peer name clr$x netns "$g"
	ip link add name wan$x netns "$g" type veth peer name bwan$x netns $KS
	ip link add name mgt$x netns "$g" type veth peer name bmgt$x netns $KS
	for l in bwan$x bmgt$x; do ip -n $KS link set dev $l master br0 up; done
	ip -n "$h" addr add "$host"/24 dev host$x
	ip -n "$h" link set dev host$x up
	ip -n "$h" route add "$peer_net" dev host$x
	in_ns "$h" ethtool -K host$x tx off >/dev/null
	for l in clr$x wan$x mgt$x; do ip -n "$g" link set dev $l up; done
	ip -n "$g" addr add "$mgmt"/24 dev mgt$x
}
site a 192.0.2.10 198.51.100.0/24 10.0.0.2
site b 198.51.100.20 192.0.2.0/24 10.0.0.3
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
ip netns exec $KS $PY test/ks/gdoi_ks.py --config "$RUN/ks.json" >"$RUN/ks.log" 2>&1 &
echo $! >"$RUN/ks.pid"

step "group members: gvpnd A and B register"
member() {
	local x=$1 mgmt=$2
	cat >"$RUN/gvpnd-$x.conf" <<CONF
ports = (
  { name = "inside"; role = "clear";     device = "net_af_packet0"; peer = "wan"; },
  { name = "wan";    role = "protected"; device = "net_af_packet1"; }
);
bypass = ( { protocol = "udp"; dst_port = 848; } );
groups = ( {
  name = "corp"; id = 1001;
  key_servers = ( "10.0.0.1" );
  local_address = "$mgmt";
  psk = "$PSK";
} );
CONF
	ip netns exec ${TAG}g$x build/app/gvpnd --no-huge --no-pci -l 0 -m 256 --file-prefix ${TAG}$x \
		--log-level 'lib.*:error' \
		--vdev net_af_packet0,iface=clr$x --vdev net_af_packet1,iface=wan$x \
		-- -f "$RUN/gvpnd-$x.conf" >"$RUN/gvpnd-$x.log" 2>&1 &
	echo $! >"$RUN/gvpnd-$x.pid"
}
member a 10.0.0.2
member b 10.0.0.3
for x in a b; do
	wait_tel ${TAG}$x /gvpn/groups '"state": "registered"' 20 ||
		{ echo "gvpnd $x did not register:"; cat "$RUN/gvpnd-$x.log"; exit 1; }
done
$PY scripts/demo_view.py groups ${TAG}a ${TAG}b

step "traffic: ping, a UDP datagram and a TCP transfer from hostA to hostB"
ip netns exec $KS tshark -q -i br0 -f "not udp port 848" -w "$RUN/wan.pcap" >/dev/null 2>"$RUN/tshark.err" &
echo $! >"$RUN/tshark.pid"
for i in $(seq 50); do grep -qs "Capture started" "$RUN/tshark.err" && break; sleep 0.1; done
COUNT=$([ $SHORT = 1 ] && echo 2 || echo 4)
in_ns ${TAG}ha ping -c "$COUNT" -i 0.2 -W 2 198.51.100.20 | sed -n '1,2p;$p'
$PY scripts/demo_view.py traffic ${TAG}ha ${TAG}hb
sleep 1
kill "$(cat "$RUN/tshark.pid")"; wait "$(cat "$RUN/tshark.pid")" 2>/dev/null || true
$PY scripts/demo_view.py wan "$RUN/wan.pcap"
$PY scripts/demo_view.py sa ${TAG}a
$PY scripts/demo_view.py ports ${TAG}a

step "re-registration: both members pull the group policy again while traffic flows"
in_ns ${TAG}ha ping -c 20 -i 0.1 -W 1 198.51.100.20 >"$RUN/ping-rekey.txt" 2>&1 &
PING=$!
for x in a b; do tel ${TAG}$x /gvpn/group/register,corp >/dev/null; done
wait $PING || true
for x in a b; do wait_tel ${TAG}$x /gvpn/groups '"registrations": 2' || true; done
$PY scripts/demo_view.py groups ${TAG}a ${TAG}b
tail -2 "$RUN/ping-rekey.txt"

step "rekey: the key server pushes a new TEK (GROUPKEY-PUSH, SPI 0x00001002); both switch after 1 s"
in_ns ${TAG}ha ping -c 30 -i 0.1 -W 1 198.51.100.20 >"$RUN/ping-push.txt" 2>&1 &
PING=$!
sleep 0.5
echo '{"pushes": [{"id": "demo-rekey", "group": 1001, "rekey": true}]}' >"$RUN/ks-control.json.new"
mv "$RUN/ks-control.json.new" "$RUN/ks-control.json"
for x in a b; do wait_tel ${TAG}$x /gvpn/sa '"0x00001002": {[^}]*"state": "active"' || true; done
wait $PING || true
$PY scripts/demo_view.py sa ${TAG}a
tail -2 "$RUN/ping-push.txt"

if [ $KEEP = 1 ]; then
	step "left running (--keep); scripts/demo.sh --stop removes it"
	echo "telemetry: echo /gvpn/sa | dpdk-telemetry.py -f ${TAG}a"
	echo "hosts:     ip netns exec ${TAG}ha ping 198.51.100.20"
else
	step "done: removing namespaces and processes"
fi
