#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Set up, build and run every gvpn test: unit, interop, the sanitizer build
# and the fuzz smoke. Ends with one line "N passed, N failed, N skipped"
# summing every suite; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=/usr/bin/python3

scripts/setup.sh || exit 1

fail=0
logs=()

# build DIR [meson options...]: configure once, then build.
build() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$ROOT/$dir.setup.log" 2>&1 ||
			{ cat "$ROOT/$dir.setup.log"; return 1; }
	fi
	ninja -C "$dir" >"$ROOT/$dir.ninja.log" 2>&1 || { tail -50 "$ROOT/$dir.ninja.log"; return 1; }
}

# suite DIR ARGS...: run meson tests, remember the log for the summary.
suite() {
	local dir=$1
	shift
	echo "== $dir: meson test $*"
	meson test -C "$dir" --no-rebuild --print-errorlogs "$@" || fail=1
	logs+=("$dir/meson-logs/testlog.json")
}

echo "== build (debugoptimized)"
if build build; then
	suite build --suite lint --suite unit --suite func --suite interop
else
	fail=1
fi

echo "== build-asan (address, undefined)"
if build build-asan -Db_sanitize=address,undefined -Db_lundef=false; then
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 suite build-asan --suite unit
else
	fail=1
fi

echo "== build-fuzz (clang, libFuzzer smoke)"
if CC=clang build build-fuzz -Dfuzz=true -Dtests=false -Db_lundef=false; then
	suite build-fuzz --suite fuzz
else
	fail=1
fi

$PY scripts/summarize.py "${logs[@]}" || fail=1
exit $fail
