#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench-ab.sh: two builds of ferry side by side on the two-host lab,
# alternated, so that a change is judged against the code before it in the
# same session (this machine's noise moves from run to run more than most
# changes do).
#
#   scripts/bench-ab.sh [--rounds N] [--json FILE] BUILD_A BUILD_B
#
# BUILD_A and BUILD_B are meson build directories (release builds, each
# of its own tree: scripts/bench.sh makes one in build-release/). Each
# round brings the lab up with A's ferryd, runs A's ferry-perf between the
# hosts (32 B and 1 KiB: RTT p50/p99, one-way messages/s; 1 MiB goodput),
# takes it down, then does the same for B; A and B swap who goes first
# every round. Prints each figure's median over the rounds for A and B
# and B/A. Needs root; about 1 min a round.
set -euo pipefail

PROG=${0##*/}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ferry-common.sh
source "$TOP/scripts/ferry-common.sh"

ROUNDS=3
JSON_OUT=
ARGS=()
while (($#)); do
	case $1 in
	--rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
	--json) JSON_OUT=${2:?--json needs a file}; shift ;;
	-h | --help) awk 'NR > 3 && !/^#/ { exit } NR > 3' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown argument '$1' (see $PROG --help)" ;;
	*) ARGS+=("$1") ;;
	esac
	shift
done
((${#ARGS[@]} == 2)) || die "two build directories needed (see $PROG --help)"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds: '$ROUNDS' is not a count"
for b in "${ARGS[@]}"; do
	for f in daemon/ferryd client-lib/tools/ferry-perf; do
		[[ -x $b/$f ]] || die "$b/$f is missing: build it first (ninja -C $b)"
	done
done
((EUID == 0)) || die "needs root (the lab's namespaces)"

LAB=$TOP/scripts/lab.sh
TMP=$(mktemp -d)
# shellcheck disable=SC2034 # lab_common.sh keeps it
UP=0
# shellcheck source=../tests/integration/lab_common.sh
source "$TOP/tests/integration/lab_common.sh"
trap lab_cleanup EXIT
lab_take_turn
"$LAB" status >/dev/null 2>&1 && die "a lab is up already: run scripts/lab.sh down first"
getent passwd ferry >/dev/null || systemd-sysusers "$TOP/systemd/ferry.sysusers"

# one BUILD OUT: the lab with BUILD's ferryd, BUILD's ferry-perf across it
one() {
	local build=$1 out=$2 perf=$1/client-lib/tools/ferry-perf spid
	BUILD=$build lab_up
	"$LAB" exec b "$perf" -r server --spin-us 0 --yield-us 5000 >/dev/null 2>&1 &
	spid=$!
	"$LAB" exec a "$perf" -r client -H 10.77.0.2 --sizes 32,1K --count 20000 --warmup 2000 \
		--tcount 200000 --no-floor --spin-us 0 --yield-us 5000 --timeout-ms 5000 --json \
		>"$out.small.json"
	"$LAB" exec a "$perf" -r client -H 10.77.0.2 --sizes 1M --count 100 --warmup 10 \
		--tcount 1000 --no-floor --spin-us 0 --yield-us 5000 --timeout-ms 10000 --json \
		>"$out.big.json"
	kill -TERM "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null || true
	lab_down
}

for ((r = 1; r <= ROUNDS; r++)); do
	order=(a b)
	((r % 2 == 0)) && order=(b a)
	for w in "${order[@]}"; do
		build=${ARGS[0]}
		[[ $w == b ]] && build=${ARGS[1]}
		info "round $r/$ROUNDS: build $w ($build)"
		one "$build" "$TMP/$w-$r"
	done
done

python3 - "$TMP" "$ROUNDS" "${ARGS[0]}" "${ARGS[1]}" "$JSON_OUT" <<'PY'
import json, statistics, sys
tmp, rounds, a_dir, b_dir, json_out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def first(x):
    return x[0] if isinstance(x, list) else x
def figures(w, r):
    small = json.load(open(f"{tmp}/{w}-{r}.small.json"))
    big = first(json.load(open(f"{tmp}/{w}-{r}.big.json")))
    f = {}
    for s in small:
        n = "32 B" if s["size"] == 32 else "1 KiB"
        f[f"RTT {n} p50 (us)"] = s["rtt_ns"]["p50"] / 1e3
        f[f"RTT {n} p99 (us)"] = s["rtt_ns"]["p99"] / 1e3
        f[f"one-way {n} (k msgs/s)"] = s["msgs_per_s"] / 1e3
    f["goodput 1 MiB (MB/s)"] = big["bytes_per_s"] / 1e6
    return f
runs = {w: [figures(w, r) for r in range(1, rounds + 1)] for w in "ab"}
names = list(runs["a"][0])
out = {"rounds": rounds, "a": a_dir, "b": b_dir, "figures": {}}
print(f"A = {a_dir}\nB = {b_dir}\nmedians of {rounds} alternated rounds")
print(f"{'':28} {'A':>10} {'B':>10} {'B/A':>7}   B's rounds")
for n in names:
    va = statistics.median(x[n] for x in runs["a"])
    vb = statistics.median(x[n] for x in runs["b"])
    each = ", ".join("%.1f" % x[n] for x in runs["b"])
    print(f"{n:28} {va:10.1f} {vb:10.1f} {vb / va:7.2f}   {each}")
    out["figures"][n] = {"a": va, "b": vb, "ratio": vb / va,
                         "a_rounds": [x[n] for x in runs["a"]], "b_rounds": [x[n] for x in runs["b"]]}
if json_out:
    json.dump(out, open(json_out, "w"), indent=1)
PY
