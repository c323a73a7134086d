#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A fuzzing campaign: each libFuzzer harness in turn, for N minutes or
# 10^7 executions, whichever comes first, from a copy of its committed seeds.
#
#   scripts/fuzz.sh --minutes N [HARNESS...]     (default: every harness)
#
# Builds build-fuzz (clang, -Dfuzz=true) when needed. Work goes to
# results/fuzz/<harness>/: corpus/ (the seeds, then what the run added),
# log, and any finding (crash-*, leak-*, timeout-*, oom-*: libFuzzer stops
# at the first). Prints, and writes to results/fuzz/summary.md, one row per
# harness: executions, seconds, coverage (cov/ft of libFuzzer's last stats
# line: edges and features) and findings. Exits 1 if anything was found.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ALL="esp worker isakmp mm2 mm4 mm6 pull2 pull4 push config telemetry"
RUNS=10000000

usage() {
	echo "usage: $0 --minutes N [HARNESS...]   harnesses: $ALL" >&2
	exit 2
}

minutes=
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) [ $# -ge 2 ] || usage; minutes=$2; shift 2 ;;
	-h | --help) usage ;;
	--*) usage ;;
	*) break ;;
	esac
done
[[ $minutes =~ ^[0-9]+$ ]] && [ "$minutes" -gt 0 ] || usage
harnesses=${*:-$ALL}
for h in $harnesses; do
	[[ " $ALL " == *" $h "* ]] || { echo "unknown harness '$h'" >&2; usage; }
done

if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_lundef=false \
		>build-fuzz.setup.log 2>&1 || { cat build-fuzz.setup.log; exit 1; }
fi
ninja -C build-fuzz >build-fuzz.ninja.log 2>&1 || { tail -50 build-fuzz.ninja.log; exit 1; }

out=$ROOT/results/fuzz
mkdir -p "$out"
summary=$out/summary.md
{
	echo "| harness | executions | seconds | cov | ft | findings |"
	echo "|---|---:|---:|---:|---:|---|"
} >"$summary"
found=0
for h in $harnesses; do
	dir=$out/$h
	rm -rf "$dir"
	mkdir -p "$dir/corpus"
	[ -d "test/fuzz/corpus/$h" ] && cp test/fuzz/corpus/"$h"/* "$dir/corpus/"
	echo "== fuzz_$h: $minutes min or $RUNS executions"
	start=$(date +%s)
	(cd "$dir" && "$ROOT/build-fuzz/test/fuzz/fuzz_$h" -max_total_time=$((minutes * 60)) \
		-runs=$RUNS -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix="$dir/" corpus >log 2>&1)
	secs=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
	stats=$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$dir/log" | tail -1)
	cov=$(sed -E 's/.*cov: ([0-9]+).*/\1/' <<<"$stats")
	ft=$(sed -E 's/.*ft: ([0-9]+).*/\1/' <<<"$stats")
	[ -n "$execs" ] || execs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$stats")
	findings=$(cd "$dir" && ls crash-* leak-* timeout-* oom-* 2>/dev/null | tr '\n' ' ')
	[ -n "$findings" ] && found=1
	row="| $h | ${execs:-?} | $secs | ${cov:-?} | ${ft:-?} | ${findings:-none} |"
	echo "$row" >>"$summary"
	echo "   executions ${execs:-?}, ${secs} s, cov ${cov:-?}, ft ${ft:-?}, findings: ${findings:-none}"
done
echo
cat "$summary"
exit $found
