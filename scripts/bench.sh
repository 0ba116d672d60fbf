#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench.sh: measure ferry and print one table, every row from this run.
#
#   scripts/bench.sh [--json FILE]
#
# Local mode: ferry-perf ping-pong RTT and one-way messages/s over a local
# session at 32 B and 1 KiB, each beside the raw shared-memory cache-line
# ping-pong measured in the same run (the floor) and the ratio; ferryd's
# idle CPU with one attached idle client; the time from SIGKILL of a client
# to its peer's SESSION_DOWN and to its ring file being gone.
# Builds a release build in build-release/. Needs root. Takes about 1 min.
set -euo pipefail

PROG=${0##*/}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ferry-common.sh
source "$TOP/scripts/ferry-common.sh"
# shellcheck source=local-daemon.sh
source "$TOP/scripts/local-daemon.sh"

JSON_OUT=
while (($#)); do
	case $1 in
	--json) JSON_OUT=${2:?--json needs a file}; shift ;;
	-h | --help) sed -n '4,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see $PROG --help)" ;;
	esac
	shift
done
require_root

BUILD=$TOP/build-release
build_ferry "$BUILD" release
start_local_daemon "$BUILD"
TMP=$(mktemp -d)
trap 'stop_local_daemon; rm -rf "$TMP"' EXIT

info "ferry-perf: local session, 32 B and 1 KiB"
"$BUILD/client-lib/tools/ferry-perf" --socket "$FERRY_RUN/ferryd.sock" --sizes 32,1K \
	--count 500000 --tcount 5000000 --json >"$TMP/perf.json"
stop_local_daemon
info "idle CPU and client reclaim"
FERRYD=$BUILD/daemon/ferryd "$BUILD/tests/bench/bench_local" --idle-s 10 --json >"$TMP/local.json"

python3 - "$TMP/perf.json" "$TMP/local.json" "${JSON_OUT:-}" <<'PY'
import json, sys
perf = json.load(open(sys.argv[1]))
local = json.load(open(sys.argv[2]))
rows = []
for r in perf:
    s = f"{r['size']} B" if r['size'] < 1024 else f"{r['size'] // 1024} KiB"
    rows.append((f"local RTT {s} p50 / p99 (ns)", f"{r['rtt_ns']['p50']} / {r['rtt_ns']['p99']}",
                 f"floor {r['floor_rtt_ns']['p50']} / {r['floor_rtt_ns']['p99']}",
                 f"{r['ratio_p50']:.2f}x / {r['ratio_p99']:.2f}x"))
for r in perf:
    s = f"{r['size']} B" if r['size'] < 1024 else f"{r['size'] // 1024} KiB"
    rows.append((f"local one-way {s} (M msgs/s)", f"{r['msgs_per_s'] / 1e6:.2f}",
                 f"{r['bytes_per_s'] / 1e9:.2f} GB/s", f"{r['errors']} out of order"))
rows.append(("ferryd idle CPU, 1 idle client", f"{local['daemon_idle_cpu_pct']:.3f} %",
             f"client {local['client_idle_cpu_pct']:.3f} %", f"over {local['idle_s']:.0f} s"))
rows.append(("SIGKILLed client: peer DOWN p50/max", f"{local['peer_down_us']['p50']} / {local['peer_down_us']['max']} us",
             f"file gone {local['ring_file_gone_us']['p50']} / {local['ring_file_gone_us']['max']} us",
             f"{local['reclaim_rounds']} rounds"))
w = [max(len(r[i]) for r in rows) for i in range(4)]
head = ("measure", "ferry", "baseline / detail", "ratio / note")
w = [max(w[i], len(head[i])) for i in range(4)]
fmt = "  ".join("{:<%d}" % x for x in w)
print(fmt.format(*head))
print(fmt.format(*("-" * x for x in w)))
for r in rows:
    print(fmt.format(*r))
if sys.argv[3]:
    json.dump({"perf": perf, "local": local}, open(sys.argv[3], "w"), indent=1)
PY
