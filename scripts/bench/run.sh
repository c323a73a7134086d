#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Per-core ESP throughput of gvpnd next to two references, in one run:
#
#   ceiling      dpdk-test-crypto-perf, crypto_aesni_mb, one worker lcore,
#                throughput test on the ESP payload length of each frame size:
#                the raw crypto cost, no packet I/O.
#   ipsec-secgw  DPDK's IPsec example, built from Debian's dpdk-doc sources
#                into a temporary folder, one lcore, same SA and traffic.
#   gvpnd        build/app/gvpnd -l 0-1: one worker lcore (lcore 0 is the
#                control core).
#   io           (optional, --systems ...,io) dpdk-testpmd io forwarding over
#                the same devices and pcaps: what the virtual devices alone
#                cost a core, to read the others against.
#   gvpnd-before (with --gvpnd-before PATH) a second gvpnd binary, e.g. the
#                commit before a change, taking turns with the first: a
#                change's before and after in one run, on the same drift.
#
# Traffic is replayed from pcaps (net_pcap, infinite_rx) into the input port
# and leaves through a net_null port. Outbound: clear frames in, ESP out.
# Inbound: ESP (made with gvpn-esptool from the same keys) into the
# protected port, clear frames out. Packet counts are read from telemetry
# over a fixed window after a warm-up, in REPS runs of each system (each
# run a process of its own, the systems taking turns); the median is kept.
#
# Every polling lcore is pinned to CPU 1. A rate is packets per second of
# that lcore's CPU time (schedstat): on a shared machine, time other
# processes take from the core does not count against the one measured.
# The wall-clock rate is in the results file too (mpps_wall).
#
# usage: scripts/bench/run.sh [--quick | --smoke] [options]   (-h for the list)
#
# Results: a table on stdout, one JSON line per row in the results file
# (results/bench-<date>.jsonl unless --out) and a plot next to it (PNG).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/scripts/bench
PY=/usr/bin/python3

SYSTEMS=ceiling,secgw,gvpnd
DIRS=out,in
ALGS=aes128-cbc-sha1,aes256-cbc-sha256,aes128-gcm
SIZES=64,128,512,1420,imix
FLOWS=64,1024
FAMILIES=ipv4
VLAN=0
WINDOW=2
WARMUP=1
REPS=3
OUT=
PLOT=
NO_PLOT=0
KEEP=0
GVPND=$ROOT/build/app/gvpnd
GVPND_BEFORE=
ESPTOOL=$ROOT/build/test/tools/gvpn-esptool
PERF=$(command -v dpdk-test-crypto-perf || echo /usr/bin/dpdk-test-crypto-perf)
TESTPMD=$(command -v dpdk-testpmd || echo /usr/bin/dpdk-testpmd)
SECGW_SRC=/usr/share/dpdk/examples
SECGW_MODE=librte
MTU=1600
MEM=1024

usage() {
	cat <<EOF
usage: $0 [--quick | --smoke] [options]
       $0 rekey | scale | generator | soak [their options, -h for the list]

  rekey              two members, a GROUPKEY-PUSH every 2 s for 30 s at full
                     rate: packets lost to key changes (scripts/bench/rekey.py)
  scale              1, 100, 1000, 10 000 SAs x 1000 and 1 000 000 flows: Mpps and
                     memory (scripts/bench/scale.py)
  generator          dpdk-testpmd txonly over net_memif as the traffic source
                     (scripts/bench/generator.py)
  soak               two members and the key server for --minutes N, numbered
                     traffic both ways, a push every 10 s and pulls: datagrams
                     lost, drops by reason, growth of RSS, mbufs in use, flows
                     and SAs after warm-up (scripts/bench/soak.py)

  --quick            one size (64), one algorithm (aes128-cbc-sha1), 1024 flows,
                     both directions, the three systems, 1 s window, one repetition
  --smoke            gvpnd only, outbound, 64 B, 64 flows, 0.5 s warm-up and one
                     1 s window, no plot: the test suite's end-to-end check
  --systems LIST     ceiling,secgw,gvpnd and optionally io  ($SYSTEMS)
  --dirs LIST        out,in                                ($DIRS)
  --algs LIST        $ALGS
                     (also aes128-gmac, aes128-cbc-sha384)
  --sizes LIST       frame sizes with FCS, or imix         ($SIZES)
  --flows LIST       UDP flows in the traffic              ($FLOWS)
  --family LIST      ipv4,ipv6: the traffic's address family, each in turn
                     against the same SA algorithm and size ($FAMILIES); 78 B
                     is IPv6's smallest frame (RFC 5180), 64 B is IPv4 only
  --vlan ID          an 802.1Q tag with this ID on every frame (gvpnd and io
                     only: ipsec-secgw does not look through tags)  (none)
  --window S         measurement window, seconds           ($WINDOW)
  --warmup S         warm-up before the window             ($WARMUP)
  --reps N           runs of each system (processes of their own, taking
                     turns); the median is kept             ($REPS)
  --out FILE         results (JSON lines)   (results/bench-<date>.jsonl)
  --plot FILE        plot (PNG or SVG)      (the results file's name, .png)
  --no-plot          no plot
  --gvpnd PATH       gvpnd binary                          (build/app/gvpnd)
  --gvpnd-before PATH  another gvpnd, measured in turn with the first as
                     the system gvpnd-before (the table adds g/before)
  --esptool PATH     gvpn-esptool binary                   (build/test/tools/gvpn-esptool)
  --secgw-mode M     legacy | librte | cpu-crypto: ipsec-secgw's code path
                     (librte: its -l librte_ipsec path, the fastest here)
  --keep             keep the temporary folder (pcaps, configurations, logs)
EOF
}

die() {
	echo "run.sh: $*" >&2
	exit 2
}

case ${1:-} in
rekey | scale | generator | soak)
	mode=$1
	shift
	exec "$PY" "$HERE/$mode.py" "$@"
	;;
esac

while [ $# -gt 0 ]; do
	case $1 in
	--quick)
		SIZES=64 ALGS=aes128-cbc-sha1 FLOWS=1024 WINDOW=1 WARMUP=0.5 REPS=1
		;;
	--smoke)
		SYSTEMS=gvpnd DIRS=out SIZES=64 ALGS=aes128-cbc-sha1 FLOWS=64 WINDOW=1 WARMUP=0.5 REPS=1
		NO_PLOT=1
		;;
	--systems) SYSTEMS=$2; shift ;;
	--dirs) DIRS=$2; shift ;;
	--algs) ALGS=$2; shift ;;
	--sizes) SIZES=$2; shift ;;
	--flows) FLOWS=$2; shift ;;
	--family) FAMILIES=$2; shift ;;
	--vlan) VLAN=$2; shift ;;
	--window) WINDOW=$2; shift ;;
	--warmup) WARMUP=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--out) OUT=$2; shift ;;
	--plot) PLOT=$2; NO_PLOT=0; shift ;;
	--no-plot) NO_PLOT=1 ;;
	--gvpnd) GVPND=$2; shift ;;
	--gvpnd-before) GVPND_BEFORE=$2; shift ;;
	--esptool) ESPTOOL=$2; shift ;;
	--secgw-mode) SECGW_MODE=$2; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
	shift
done

IFS=, read -r -a SYSTEM_LIST <<<"$SYSTEMS"
IFS=, read -r -a DIR_LIST <<<"$DIRS"
IFS=, read -r -a ALG_LIST <<<"$ALGS"
IFS=, read -r -a SIZE_LIST <<<"$SIZES"
IFS=, read -r -a FLOW_LIST <<<"$FLOWS"
IFS=, read -r -a FAMILY_LIST <<<"$FAMILIES"

has() { # has WORD LIST...
	local w=$1
	shift
	for x in "$@"; do [ "$x" = "$w" ] && return 0; done
	return 1
}

for s in "${SYSTEM_LIST[@]}"; do has "$s" ceiling io secgw gvpnd || die "unknown system '$s'"; done
if [ -n "$GVPND_BEFORE" ]; then
	[ -x "$GVPND_BEFORE" ] || die "--gvpnd-before: $GVPND_BEFORE is not an executable"
	SYSTEM_LIST+=(before)
fi
for d in "${DIR_LIST[@]}"; do has "$d" out in || die "unknown direction '$d'"; done
for a in "${ALG_LIST[@]}"; do
	has "$a" aes128-cbc-sha1 aes256-cbc-sha256 aes128-gcm aes128-gmac aes128-cbc-sha384 ||
		die "unknown algorithm '$a'"
done
for s in "${SIZE_LIST[@]}"; do has "$s" 64 78 128 512 1420 imix || die "unknown size '$s'"; done
for f in "${FAMILY_LIST[@]}"; do has "$f" ipv4 ipv6 || die "unknown family '$f'"; done
if has ipv6 "${FAMILY_LIST[@]}"; then
	for s in "${SIZE_LIST[@]}"; do
		has "$s" 64 imix && die "a $s B frame cannot hold IPv6 and UDP headers: use 78 (RFC 5180)"
	done
fi
[[ $VLAN =~ ^[0-9]+$ ]] && [ "$VLAN" -le 4094 ] || die "--vlan: an ID 1-4094"
if [ "$VLAN" -ne 0 ] && has secgw "${SYSTEM_LIST[@]}"; then
	die "--vlan: ipsec-secgw does not look through 802.1Q tags; leave secgw out of --systems"
fi
case $SECGW_MODE in legacy | librte | cpu-crypto) ;; *) die "unknown --secgw-mode '$SECGW_MODE'" ;; esac
[ "$(id -u)" -eq 0 ] || die "DPDK needs root (telemetry sockets under /var/run/dpdk)"
[ -x "$PY" ] || die "$PY missing: run scripts/setup.sh"

if has gvpnd "${SYSTEM_LIST[@]}"; then
	[ -x "$GVPND" ] || die "$GVPND missing: ninja -C build"
fi
if has in "${DIR_LIST[@]}" && ! { [ ${#SYSTEM_LIST[@]} -eq 1 ] && has ceiling "${SYSTEM_LIST[@]}"; }; then
	[ -x "$ESPTOOL" ] || die "$ESPTOOL missing: ninja -C build"
fi
if has ceiling "${SYSTEM_LIST[@]}"; then
	[ -x "$PERF" ] || die "dpdk-test-crypto-perf missing: run scripts/setup.sh"
fi
if has io "${SYSTEM_LIST[@]}"; then
	[ -x "$TESTPMD" ] || die "dpdk-testpmd missing: run scripts/setup.sh"
fi

stamp=$(date +%Y%m%d-%H%M%S)
if [ -z "$OUT" ]; then
	OUT=$ROOT/results/bench-$stamp.jsonl
fi
mkdir -p "$(dirname "$OUT")"
: >"$OUT"
if [ "$NO_PLOT" -eq 0 ] && [ -z "$PLOT" ]; then
	PLOT=${OUT%.jsonl}.png
fi

# the source the rows were measured on (gvpnd's build follows the tree)
GVPN_BENCH_COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git -C "$ROOT" diff --quiet HEAD -- lib drivers app 2>/dev/null; then
	GVPN_BENCH_COMMIT+=-dirty
fi
export GVPN_BENCH_COMMIT

TMP=$(mktemp -d /tmp/gvpn-bench.XXXXXX)
PREFIX=gvpnbench$$
PIDS=()
NPREFIX=0
FAILED=0

cleanup() {
	local rc=$?
	set +e
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf /var/run/dpdk/"$PREFIX"-*
	if [ "$KEEP" -eq 1 ]; then
		echo "run.sh: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() {
	echo "run.sh: $*" >&2
}

next_prefix() {
	NPREFIX=$((NPREFIX + 1))
	echo "$PREFIX-$NPREFIX"
}

# start LOG CMD...: run a DPDK process in the background; sets STARTED.
start() {
	local logf=$1
	shift
	"$@" >"$logf" 2>&1 &
	STARTED=$!
	PIDS+=("$STARTED")
}

# stop PID: SIGTERM, then SIGKILL after 10 s; returns its exit status.
stop() {
	local pid=$1 i rc=0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	local keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
	PIDS=("${keep[@]+"${keep[@]}"}")
	return $rc
}

# ---------------------------------------------------------------- traffic

# pcap DIR SIZE FLOWS ALG: the input pcap of a case (made once) in FAMILY
# and VLAN, on stdout.
pcap() {
	local dir=$1 size=$2 flows=$3 alg=$4
	local clear=$TMP/clear-$FAMILY-$VLAN-$dir-$size-$flows.pcap
	if [ ! -f "$clear" ]; then
		$PY "$HERE/traffic.py" clear --size "$size" --flows "$flows" --dir "$dir" \
			--family "$FAMILY" --vlan "$VLAN" "$clear" >&2
	fi
	if [ "$dir" = out ]; then
		echo "$clear"
		return
	fi
	local esp=$TMP/esp-$FAMILY-$VLAN-$alg-$size-$flows.pcap
	if [ ! -f "$esp" ]; then
		$PY "$HERE/traffic.py" esp --alg "$alg" --esptool "$ESPTOOL" --family "$FAMILY" \
			"$clear" "$esp" >&2
	fi
	echo "$esp"
}

# ------------------------------------------------------------ ipsec-secgw

SECGW=
build_secgw() {
	local src=$SECGW_SRC/ipsec-secgw dst=$TMP/secgw/examples
	[ -f "$src/ipsec-secgw.c" ] ||
		die "$src missing: install dpdk-doc (scripts/setup.sh)"
	mkdir -p "$dst"
	cp -r "$src" "$SECGW_SRC/common" "$dst/"
	# net_pcap has no RX checksum offload; the example demands it in its
	# default port configuration (--rxoffload only masks what it may use).
	sed -i 's/\.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,/.offloads = 0,/' \
		"$dst/ipsec-secgw/ipsec-secgw.c"
	grep -q '\.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM' "$dst/ipsec-secgw/ipsec-secgw.c" &&
		die "could not lift ipsec-secgw's RX checksum offload demand"
	log "building ipsec-secgw from $src"
	make -C "$dst/ipsec-secgw" -j2 -s >"$TMP/secgw-build.log" 2>&1 ||
		{ tail -30 "$TMP/secgw-build.log" >&2; die "ipsec-secgw build failed"; }
	SECGW=$dst/ipsec-secgw/build/ipsec-secgw
}

# --------------------------------------------------------------- results

# record IMPL DIR ALG SIZE FLOWS SAMPLE_JSON
record() {
	local impl=$1 dir=$2 alg=$3 size=$4 flows=$5 sample=$6 row
	row=$($PY "$HERE/bench.py" row --progress --impl "$impl" --dir "$dir" --alg "$alg" --size "$size" \
		--flows "$flows" --lcores 1 --family "${FAMILY:-ipv4}" --vlan "$VLAN" "$sample")
	echo "$row" >>"$OUT"
}

fail() {
	FAILED=$((FAILED + 1))
	log "FAILED: $*"
}

# ------------------------------------------------------------------ cases

run_ceiling() { # DIR ALG SIZE
	local dir=$1 alg=$2 size=$3 vec=() sample=$TMP/sample.json prefix
	prefix=$(next_prefix)
	if [ "$dir" = in ] && [ "$alg" != aes128-gcm ] && [ "$alg" != aes128-gmac ]; then
		# crypto-perf verifies digests only against a test vector
		$PY "$HERE/bench.py" vector --alg "$alg" --size "$size" "$TMP/vector-$alg-$size.data"
		vec=(--vector "$TMP/vector-$alg-$size.data")
	fi
	if $PY "$HERE/bench.py" ceiling --alg "$alg" --dir "$dir" --size "$size" --window "$WINDOW" \
		--reps "$REPS" --prefix "$prefix" --perf "$PERF" "${vec[@]+"${vec[@]}"}" >"$sample"; then
		record ceiling "$dir" "$alg" "$size" 0 "$sample"
	else
		fail "ceiling $dir $alg $size"
	fi
	rm -rf "/var/run/dpdk/$prefix"
}

# Devices: the input is a pcap replayed forever, the output a null device
# that never receives.
vdevs() { # DIR PCAP -> VDEV_ARGS, CLEAR_DEV, PROT_DEV (clear port first)
	if [ "$1" = out ]; then
		VDEV_ARGS=(--vdev "net_pcap0,rx_pcap=$2,infinite_rx=1" --vdev net_null0,no-rx=1)
		CLEAR_DEV=net_pcap0 PROT_DEV=net_null0
	else
		VDEV_ARGS=(--vdev net_null0,no-rx=1 --vdev "net_pcap0,rx_pcap=$2,infinite_rx=1")
		CLEAR_DEV=net_null0 PROT_DEV=net_pcap0
	fi
}

# measure IMPL SAMPLE LOG CMD...: start the process (@PREFIX@ in CMD becomes
# its file prefix), measure one window into SAMPLE and stop it. A process
# that is gone before it was measured is started again, twice at most.
measure() {
	local impl=$1 sample=$2 logf=$3 try prefix pid ok rc counters=ethdev
	shift 3
	[ "$impl" = gvpnd ] && counters=gvpnd
	for try in 1 2 3; do
		prefix=$(next_prefix)
		start "$logf" "${@/@PREFIX@/$prefix}"
		pid=$STARTED
		ok=1
		$PY "$HERE/bench.py" sample --impl "$counters" --dir "$DIR" --prefix "$prefix" \
			--pid "$pid" --warmup "$WARMUP" --window "$WINDOW" --reps 1 >"$sample" || ok=0
		rc=0
		stop "$pid" || rc=$?
		rm -rf "/var/run/dpdk/$prefix"
		if [ "$impl" = gvpnd ] && [ $rc -ne 0 ]; then
			ok=0
			log "gvpnd exited with status $rc"
		fi
		[ $ok -eq 1 ] && return 0
		rm -f "$sample"
		tail -5 "$logf" | sed 's/^/run.sh:     | /' >&2
		log "$impl $DIR $ALG $SIZE B $NFLOWS flows: attempt $try failed"
		sleep 5 # e.g. a binary being rebuilt
	done
	return 1
}

# run_gvpnd|run_before|run_io|run_secgw SAMPLE: one process run of the
# case in DIR, ALG, SIZE and NFLOWS (run_gvpnd: of the binary @p 2, GVPND
# unless given).
run_gvpnd() {
	local input conf bin=${2:-$GVPND}
	input=$(pcap "$DIR" "$SIZE" "$NFLOWS" "$ALG")
	vdevs "$DIR" "$input"
	conf=$TMP/gvpnd-$ALG-$DIR-$FAMILY.conf
	$PY "$HERE/bench.py" conf --impl gvpnd --alg "$ALG" --clear-dev "$CLEAR_DEV" \
		--prot-dev "$PROT_DEV" --mtu "$MTU" --family "$FAMILY" "$conf"
	measure gvpnd "$1" "$TMP/gvpnd-$DIR-$ALG-$SIZE-$NFLOWS.log" \
		"$bin" --no-huge --no-pci -l 0-1 -m "$MEM" --file-prefix @PREFIX@ \
		--log-level 'lib.*:error' "${VDEV_ARGS[@]}" -- -f "$conf"
}

run_before() {
	run_gvpnd "$1" "$GVPND_BEFORE"
}

run_io() { # testpmd forwards input to output, no crypto
	local input
	input=$(pcap "$DIR" "$SIZE" "$NFLOWS" "$ALG")
	vdevs "$DIR" "$input"
	# lcore 1 forwards; without -i, testpmd runs until a signal when it
	# prints statistics periodically.
	measure io "$1" "$TMP/io-$DIR-$ALG-$SIZE-$NFLOWS.log" \
		"$TESTPMD" --no-huge --no-pci -l 0-1 -m "$MEM" --file-prefix @PREFIX@ \
		--log-level 'lib.*:error' "${VDEV_ARGS[@]}" -- --forward-mode=io --auto-start \
		--nb-cores=1 --rxq=1 --txq=1 --stats-period 3600
}

run_secgw() {
	local input conf mode=() sa_type=
	[ -n "$SECGW" ] || build_secgw
	input=$(pcap "$DIR" "$SIZE" "$NFLOWS" "$ALG")
	vdevs "$DIR" "$input"
	case $SECGW_MODE in
	librte) mode=(-l) ;;
	cpu-crypto) mode=(-l) sa_type=cpu-crypto ;;
	esac
	conf=$TMP/secgw-$ALG-$FAMILY.cfg
	$PY "$HERE/bench.py" conf --impl secgw --alg "$ALG" --sa-type "$sa_type" --family "$FAMILY" \
		"$conf"
	# One lcore does everything: it is the main lcore and polls both ports
	# (port 0 clear, port 1 protected: -u names the protected one).
	measure secgw "$1" "$TMP/secgw-$DIR-$ALG-$SIZE-$NFLOWS.log" \
		"$SECGW" --no-huge --no-pci -l 1 -m "$MEM" --file-prefix @PREFIX@ \
		--log-level 'lib.*:error' "${VDEV_ARGS[@]}" --vdev crypto_aesni_mb_bench -- \
		-p 0x3 -P -u 0x2 --mtu "$MTU" -f "$conf" --config '(0,0,1),(1,0,1)' \
		"${mode[@]+"${mode[@]}"}"
}

# ------------------------------------------------------------------- main

vlan_note=
[ "$VLAN" -ne 0 ] && vlan_note=" in VLAN $VLAN"
log "systems $SYSTEMS; $DIRS; $ALGS; sizes $SIZES; flows $FLOWS; $FAMILIES$vlan_note;" \
	"$REPS run(s) of each: warm-up ${WARMUP}s, ${WINDOW}s window"

# run_case: the systems of one case in turn, REPS times, each run in a
# process of its own; the median of the runs is recorded. The host's speed
# drifts over tens of seconds: taking turns gives each system the same.
run_case() {
	local rep impl samples
	for rep in $(seq "$REPS"); do
		for impl in io secgw before gvpnd; do
			has $impl "${SYSTEM_LIST[@]}" || continue
			"run_$impl" "$TMP/sample-$impl-$rep.json" || true
		done
	done
	for impl in io secgw before gvpnd; do
		has $impl "${SYSTEM_LIST[@]}" || continue
		samples=()
		for rep in $(seq "$REPS"); do
			[ -s "$TMP/sample-$impl-$rep.json" ] && samples+=("$TMP/sample-$impl-$rep.json")
		done
		if [ ${#samples[@]} -eq 0 ]; then
			fail "$impl $DIR $ALG $SIZE $NFLOWS"
			continue
		fi
		$PY "$HERE/bench.py" merge "${samples[@]}" >"$TMP/sample.json"
		record "$impl" "$DIR" "$ALG" "$SIZE" "$NFLOWS" "$TMP/sample.json"
		rm -f "${samples[@]}"
	done
}

for DIR in "${DIR_LIST[@]}"; do
	for ALG in "${ALG_LIST[@]}"; do
		for SIZE in "${SIZE_LIST[@]}"; do
			if has ceiling "${SYSTEM_LIST[@]}"; then
				FAMILY=ipv4 run_ceiling "$DIR" "$ALG" "$SIZE"
			fi
			for NFLOWS in "${FLOW_LIST[@]}"; do
				for FAMILY in "${FAMILY_LIST[@]}"; do
					run_case
				done
			done
		done
	done
done

plot_args=()
[ -n "$PLOT" ] && [ "$NO_PLOT" -eq 0 ] && plot_args=(--plot "$PLOT")
if [ -s "$OUT" ]; then
	$PY "$HERE/bench.py" report --rewrite "$OUT" "${plot_args[@]+"${plot_args[@]}"}"
	log "results: $OUT${PLOT:+ plot: $PLOT}"
fi
if [ "$FAILED" -ne 0 ]; then
	log "$FAILED case(s) failed"
	exit 1
fi
