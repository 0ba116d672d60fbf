#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# test-summary.sh LOG.json...: one line "N passed, N failed, N skipped" over
# the meson test logs given (meson-logs/testlog.json, one JSON object per
# test). Expected failures count as passed, timeouts and unexpected passes
# as failed.
set -euo pipefail
python3 - "$@" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line).get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
