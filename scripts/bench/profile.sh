#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Where gvpnd's worker lcore spends its cycles, on the benchmark's set-up
# (scripts/bench/run.sh): one worker on lcore 1, pcap traffic in, a null
# device out. perf samples CPU 1 while traffic flows and prints the share
# of each library, of the hottest functions, and the cycles per packet of
# each stage of gvpnd's pipeline (stages.py: parse and classify, flow and
# SA lookup, encapsulation or decapsulation, crypto submission, TX). The
# stage split needs a gvpnd with debug info (-Ddebug=true: the same code),
# e.g. meson setup build-perf --buildtype=release -Ddebug=true.
#
# usage: scripts/bench/profile.sh [--dir out|in] [--alg ALG] [--size SIZE]
#            [--flows N] [--family ipv4|ipv6] [--vlan ID] [--seconds S]
#            [--gvpnd PATH] [--esptool PATH] [--huge] [--keep]
#
# --huge runs gvpnd on hugepages, as it is deployed (`scripts/setup-hugepages.sh
# 512` reserves enough); without it, --no-huge, which every machine can do
# but which puts the worker's memory on 4 KiB pages.
#
# The worker lcore is pinned to CPU 1, so on a shared machine other
# processes that run there show up in the profile too: the report is
# limited to gvpnd's worker thread (perf --comms rte-worker-1).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/scripts/bench
PY=/usr/bin/python3
DIR=out
ALG=aes128-cbc-sha1
SIZE=64
FLOWS=1024
FAMILY=ipv4
VLAN=0
SECONDS_=5
GVPND=$ROOT/build/app/gvpnd
ESPTOOL=$ROOT/build/test/tools/gvpn-esptool
KEEP=0
EAL_MEM=--no-huge

while [ $# -gt 0 ]; do
	case $1 in
	--dir) DIR=$2; shift ;;
	--alg) ALG=$2; shift ;;
	--size) SIZE=$2; shift ;;
	--flows) FLOWS=$2; shift ;;
	--family) FAMILY=$2; shift ;;
	--vlan) VLAN=$2; shift ;;
	--seconds) SECONDS_=$2; shift ;;
	--gvpnd) GVPND=$2; shift ;;
	--esptool) ESPTOOL=$2; shift ;;
	--keep) KEEP=1 ;;
	--huge) EAL_MEM=--huge-unlink ;;
	-h | --help) sed -n '3,23p' "$0"; exit 0 ;;
	*) echo "profile.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
command -v perf >/dev/null || { echo "profile.sh: perf missing: scripts/setup.sh" >&2; exit 2; }
[ -x "$GVPND" ] || { echo "profile.sh: $GVPND missing: ninja -C build" >&2; exit 2; }
if [ "$EAL_MEM" != --no-huge ] &&
	[ "$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)" -lt 512 ]; then
	echo "profile.sh: --huge needs 512 free 2 MiB hugepages: scripts/setup-hugepages.sh" >&2
	exit 2
fi

TMP=$(mktemp -d /tmp/gvpn-profile.XXXXXX)
PREFIX=gvpnprof$$
PID=
cleanup() {
	local rc=$?
	set +e
	if [ -n "$PID" ]; then
		kill -TERM "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "/var/run/dpdk/$PREFIX"
	if [ "$KEEP" -eq 1 ]; then
		echo "profile.sh: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

clear=$TMP/clear.pcap
$PY "$HERE/traffic.py" clear --size "$SIZE" --flows "$FLOWS" --dir "$DIR" --family "$FAMILY" \
	--vlan "$VLAN" "$clear"
if [ "$DIR" = out ]; then
	vdevs=(--vdev "net_pcap0,rx_pcap=$clear,infinite_rx=1" --vdev net_null0,no-rx=1)
	cdev=net_pcap0 pdev=net_null0
else
	$PY "$HERE/traffic.py" esp --alg "$ALG" --esptool "$ESPTOOL" --family "$FAMILY" "$clear" \
		"$TMP/esp.pcap"
	vdevs=(--vdev net_null0,no-rx=1 --vdev "net_pcap0,rx_pcap=$TMP/esp.pcap,infinite_rx=1")
	cdev=net_null0 pdev=net_pcap0
fi
$PY "$HERE/bench.py" conf --impl gvpnd --alg "$ALG" --clear-dev $cdev --prot-dev $pdev \
	--family "$FAMILY" "$TMP/gvpnd.conf"
"$GVPND" "$EAL_MEM" --no-pci -l 0-1 -m 1024 --file-prefix "$PREFIX" --log-level 'lib.*:error' \
	"${vdevs[@]}" -- -f "$TMP/gvpnd.conf" >"$TMP/gvpnd.log" 2>&1 &
PID=$!
# measure while profiling: the rate tells cycles per packet
$PY "$HERE/bench.py" sample --impl gvpnd --dir "$DIR" --prefix "$PREFIX" --pid "$PID" \
	--warmup 1 --window "$SECONDS_" --reps 1 >"$TMP/sample.json" &
spid=$!
sleep 1.5
perf record -q -C 1 -g -o "$TMP/perf.data" -- sleep "$((SECONDS_ - 1))" >/dev/null 2>&1
wait $spid
mpps=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["mpps"])' "$TMP/sample.json")
hz=$(awk '/^cpu MHz/ {print $4; exit}' /proc/cpuinfo)
cpp=$(awk -v m="$mpps" -v h="$hz" 'BEGIN {printf "%.0f", (m > 0) ? h / m : 0}')
echo "gvpnd $DIR $ALG ${SIZE} B $FAMILY, $FLOWS flows: $mpps Mpps per core;" \
	"$cpp cycles per packet at $hz MHz"
# share -> share and cycles per packet (of the worker's cycles per packet)
cycles() {
	awk -v c="$cpp" '{p = $1; sub("%", "", p); printf "%8s %5.0f cyc  ", $1, p * c / 100;
		$1 = ""; print}'
}
echo
echo "== by library (worker lcore): share, cycles per packet"
perf report -i "$TMP/perf.data" --comms rte-worker-1 --percentage relative --no-children --sort dso --stdio -g none \
	2>/dev/null | awk '/%/ && n++ < 12' | cycles
echo
echo "== hottest functions (worker lcore; unnamed ones are in libraries without symbols)"
perf report -i "$TMP/perf.data" --comms rte-worker-1 --percentage relative --no-children --sort dso,symbol --stdio \
	-g none 2>/dev/null | awk '/%/ && n++ < 25' | cycles
echo
echo "== gvpnd's pipeline by stage (worker lcore): cycles per packet"
$PY "$HERE/stages.py" "$TMP/perf.data" "$GVPND" --comm rte-worker-1 --cycles "$cpp" ||
	echo "(no stage split: see the message above)"
