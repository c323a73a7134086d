#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The C sources against the checked-in .clang-format.
#
#   scripts/format.sh           format every tracked .c and .h file in place
#   scripts/format.sh --check   change nothing; list the files that differ and
#                               exit 1 if any does (the test suite runs this)
#
# Files are those git tracks (or, outside a git checkout, those under app/,
# lib/, drivers/ and test/). Exits 77 (skipped) when clang-format is missing.
set -uo pipefail
cd "$(dirname "$0")/.."

check=0
case ${1:-} in
--check) check=1 ;;
"") ;;
*) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

CF=$(command -v clang-format || command -v clang-format-14 || true)
if [ -z "$CF" ]; then
	echo "clang-format not found: format check skipped" >&2
	exit 77
fi

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files '*.c' '*.h')
else
	mapfile -t files < <(find app lib drivers test -name '*.[ch]' | sort)
fi

if [ "$check" = 0 ]; then
	"$CF" -i "${files[@]}"
	exit 0
fi

bad=0
for f in "${files[@]}"; do
	if ! "$CF" "$f" | cmp -s - "$f"; then
		echo "not formatted: $f   (scripts/format.sh fixes it; diff: clang-format $f | diff $f -)"
		bad=1
	fi
done
[ "$bad" = 0 ] && echo "${#files[@]} files formatted as .clang-format says"
exit $bad
