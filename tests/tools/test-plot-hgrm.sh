#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# scripts/plot-hgrm.sh on .hgrm files written by udp_pingpong --hgrm over
# loopback: one PNG per scenario (whatever the scenario is called), a
# curve per file, files that are not percentile distributions or not named
# <scenario>-<impl>.hgrm skipped with a warning, no files at all an error.
# Usage: test-plot-hgrm.sh PLOT_HGRM_SH UDP_PINGPONG
set -u
PLOT=$1 PP=$2
command -v gnuplot >/dev/null ||
	{ echo "SKIP: gnuplot is missing (apt-get install gnuplot-nox; scripts/bench.sh --plot installs it)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }

D=$(mktemp -d "${TMPDIR:-/tmp}/ferry-plot-test.XXXXXX") || exit 1
trap 'rm -rf "$D"' EXIT
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok - $*"; }

port=$((20000 + $$ % 20000))
for mode in block busy; do
	"$PP" --server "$port" --bind 127.0.0.1 --once --idle-exit-s 10 --mode "$mode" >/dev/null 2>&1 &
	spid=$!
	"$PP" --client 127.0.0.1 "$port" --mode "$mode" --count 2000 --warmup 100 --timeout-ms 3000 \
		--hgrm "$D/loop-32B-udp$mode.hgrm" >/dev/null || fail "udp_pingpong --mode $mode"
	wait "$spid"
done
# a scenario nobody told the script about: new benchmark rows plot too
cp "$D/loop-32B-udpblock.hgrm" "$D/sparse-32B-100rps-rtt.hgrm"
echo "not a histogram" >"$D/junk-rtt.hgrm"
cp "$D/loop-32B-udpbusy.hgrm" "$D/noimpl.hgrm"

"$PLOT" --out "$D/png" "$D" >"$D/out" 2>"$D/err"; rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$D/out")" = "$D/png/loop-32B.png
$D/png/sparse-32B-100rps.png" ] && grep -q "junk-rtt.hgrm: not an HdrHistogram percentile distribution; skipped" "$D/err" &&
   grep -q "noimpl.hgrm: not named <scenario>-<impl>.hgrm; skipped" "$D/err" &&
   python3 - "$D/png/loop-32B.png" "$D/png/sparse-32B-100rps.png" <<'PY'
import struct, sys
for f in sys.argv[1:]:
    b = open(f, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", f
    assert struct.unpack(">II", b[16:24]) == (900, 540), f
    assert len(b) > 10000, (f, len(b))  # axes, labels and curves, not a blank
PY
then ok "two charts (900x540 PNG), the bad files skipped with a warning"
else fail "plot-hgrm.sh (rc=$rc)"; cat "$D/out" "$D/err"; fi

mkdir "$D/empty"
"$PLOT" "$D/empty" >/dev/null 2>"$D/err2"; rc=$?
if [ $rc -eq 1 ] && grep -q "no .hgrm files" "$D/err2"; then ok "no files: exit 1, said"
else fail "empty directory (rc=$rc)"; fi

[ $FAILS -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
echo "all plot-hgrm checks passed"
