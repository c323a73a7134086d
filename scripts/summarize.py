#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Sum meson test logs into one line: "N passed, N failed, N skipped".

TAP tests count each test point; other tests count once. A TAP test that
ended badly without a failing point (crash, timeout) counts one failure.
Exit status 1 when anything failed or nothing ran.
"""
import json
import re
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        print(f"summarize: {e}", file=sys.stderr)
        failed += 1
        continue
    for line in lines:
        t = json.loads(line)
        out = t.get("stdout", "") or ""
        points = [l for l in out.splitlines() if re.match(r"(not )?ok\b", l)]
        if points:
            p = sum(1 for l in points if l.startswith("ok") and "# SKIP" not in l)
            s = sum(1 for l in points if "# SKIP" in l)
            f = sum(1 for l in points if l.startswith("not ok"))
            if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and f == 0:
                f = 1
            passed, failed, skipped = passed + p, failed + f, skipped + s
        elif t["result"] == "OK":
            passed += 1
        elif t["result"] == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
