#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench-security.sh: what security.mode = encrypt costs, beside none, in
# one run, as a table of its own:
#
#   scripts/bench-security.sh [JSON_FILE]     alone (builds build-release,
#                                             takes the lab's turn)
#   bench_security BUILD TMP [JSON]           sourced by scripts/bench.sh,
#                                             which holds the lab already
#
# Two hosts (the netns lab, scripts/lab.sh), each daemon with its own key
# (ferryd --gen-key) and the other's trusted: ferry-perf's RTT at 32 B and
# 1 KiB, one-way messages/s at 1 KiB, and goodput of 1 MiB messages, with
# security.mode none and encrypt in three alternating pairs of runs (the
# VM's speed drifts); the table shows each figure's median pair. And
# tests/bench/seal_bench: sealing and opening one packet alone, per AEAD,
# mode and size. Needs root. Takes about 3 min.

# bench_security BUILD TMP [JSON]
bench_security() {
	local build=$1 tmp=$2 json=${3:-} lab perf dir pair mode spid h
	lab=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lab.sh
	perf=$build/client-lib/tools/ferry-perf
	dir=$tmp/security
	mkdir -p "$dir"
	getent passwd ferry >/dev/null ||
		systemd-sysusers "$(dirname "$lab")/../systemd/ferry.sysusers"
	for h in a b; do
		rm -f "$dir/$h.key"
		"$build/daemon/ferryd" --privileges.user=ferry --security.private_key_file="$dir/$h.key" \
			--gen-key >"$dir/$h.pub" 2>/dev/null
	done
	# host a trusts b's key at b's address, and the other way round
	for h in a b; do
		local o=b ip=10.77.0.2
		[[ $h == b ]] && o=a ip=10.77.0.1
		printf 'security = { mode = "encrypt"; private_key_file = "%s"; trusted_peers = [ "%s %s" ]; };\n' \
			"$dir/$h.key" "$(cat "$dir/$o.pub")" "$ip" >"$dir/$h.conf"
	done
	info "security: seal and open alone"
	"$build/tests/bench/seal_bench" --json >"$dir/seal.json"
	for pair in 1 2 3; do
		for mode in none encrypt; do
			info "security: two hosts, security.mode $mode (pair $pair of 3)"
			local a_args="" b_args=""
			if [[ $mode == encrypt ]]; then
				a_args="--config=$dir/a.conf"
				b_args="--config=$dir/b.conf"
			fi
			LAB_FERRYD_ARGS="" LAB_FERRYD_ARGS_A="$a_args" LAB_FERRYD_ARGS_B="$b_args" \
				"$lab" --build "$build" up >"$dir/lab.log" 2>&1 ||
				{ cat "$dir/lab.log"; die "lab.sh up ($mode) failed"; }
			"$lab" exec b "$perf" -r server --spin-us 0 --yield-us 5000 >/dev/null 2>&1 &
			spid=$!
			"$lab" exec a "$perf" -r client -H 10.77.0.2 --sizes 32,1K --count 20000 \
				--warmup 2000 --tcount 200000 --no-floor --spin-us 0 --yield-us 5000 \
				--timeout-ms 5000 --json >"$dir/$mode-$pair.json"
			"$lab" exec a "$perf" -r client -H 10.77.0.2 --sizes 1M --count 100 --warmup 10 \
				--tcount 1000 --no-floor --spin-us 0 --yield-us 5000 --timeout-ms 10000 \
				--json >"$dir/$mode-1m-$pair.json"
			kill -TERM "$spid" 2>/dev/null
			wait "$spid" 2>/dev/null || true
			if [[ $mode == encrypt ]]; then
				grep -ho "packets encrypted with [A-Za-z0-9-]*" /run/ferry-lab/a.log | head -1 \
					>"$dir/aead" || die "security: ferry-a did not encrypt"
			fi
			"$lab" down >/dev/null 2>&1
		done
	done
	python3 - "$dir" "$json" <<'PY'
import json, statistics, sys
d, out = sys.argv[1], sys.argv[2]
def one(path):
    r = json.load(open(path))
    return r if isinstance(r, list) else [r]
runs = {m: [one("%s/%s-%d.json" % (d, m, p)) for p in (1, 2, 3)] for m in ("none", "encrypt")}
big = {m: [one("%s/%s-1m-%d.json" % (d, m, p))[0] for p in (1, 2, 3)] for m in ("none", "encrypt")}
aead = open(d + "/aead").read().split()[-1]
rows, res = [], {}
def median_pair(get):
    """Each pair's (none, encrypt, encrypt / none); the pair with the median ratio."""
    pairs = sorted(((get("encrypt", i) / get("none", i), get("none", i), get("encrypt", i))
                    for i in range(3)))
    return pairs[1], ", ".join("%.2f" % p[0] for p in pairs)
def us(ns):
    return "%.1f" % (ns / 1000)
for k, name in ((0, "32 B"), (1, "1 KiB")):
    (ratio, n, e), all3 = median_pair(lambda m, i: runs[m][i][k]["rtt_ns"]["p50"])
    p99 = {m: statistics.median(runs[m][i][k]["rtt_ns"]["p99"] for i in range(3)) for m in runs}
    rows.append((f"two-host RTT {name} p50 / p99 (us), encrypt", f"{us(e)} / {us(p99['encrypt'])}",
                 f"none {us(n)} / {us(p99['none'])}", f"{ratio:.2f}x p50 (pairs {all3}); target <= 1.1x"))
    res["rtt_%s" % name.replace(" ", "")] = {"none_p50_ns": n, "encrypt_p50_ns": e, "ratio": ratio}
(ratio, n, e), all3 = median_pair(lambda m, i: runs[m][i][1]["msgs_per_s"])
rows.append(("two-host one-way 1 KiB (k msgs/s), encrypt", f"{e / 1e3:.0f}", f"none {n / 1e3:.0f}",
             f"{ratio:.2f} of none (pairs {all3}); target >= 0.8"))
res["oneway_1KiB"] = {"none_msgs_per_s": n, "encrypt_msgs_per_s": e, "ratio": ratio}
(ratio, n, e), all3 = median_pair(lambda m, i: big[m][i]["bytes_per_s"])
rows.append(("two-host goodput 1 MiB (MB/s), encrypt", f"{e / 1e6:.0f}", f"none {n / 1e6:.0f}",
             f"{ratio:.2f} of none (pairs {all3}); target >= 0.8"))
res["goodput_1MiB"] = {"none_bytes_per_s": n, "encrypt_bytes_per_s": e, "ratio": ratio}
seal = json.load(open(d + "/seal.json"))
for a in sorted({r["aead"] for r in seal}, reverse=True):
    for m in ("encrypt", "authenticate"):
        rs = [r for r in seal if r["aead"] == a and r["mode"] == m]
        if not rs:
            continue
        sizes = " / ".join(str(r["bytes"]) for r in rs)
        rows.append((f"seal / open, {a} {m}, {sizes} B (ns)",
                     " / ".join("%.0f" % r["seal_ns"] for r in rs) + "; " +
                     " / ".join("%.0f" % r["open_ns"] for r in rs),
                     "GB/s per core at %d B: seal %.2f, open %.2f" % (rs[-1]["bytes"], rs[-1]["seal_gbps"], rs[-1]["open_gbps"]),
                     "memcpy of the packet %.0f ns" % rs[-1]["memcpy_ns"]))
res["seal"] = seal
res["aead_two_host"] = aead
head = ("measure (security.mode)", "ferry", "baseline / detail", "ratio / note")
w = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
fmt = "  ".join("{:<%d}" % x for x in w)
print()
print("security: the two-host runs encrypt with %s" % aead)
print(fmt.format(*head))
print(fmt.format(*("-" * x for x in w)))
for r in rows:
    print(fmt.format(*r))
if out:
    json.dump(res, open(out, "w"), indent=1)
PY
}

# Run alone: build, take the lab's turn, run the section.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	PROG=${0##*/}
	TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	LAB=$TOP/scripts/lab.sh
	# shellcheck source=ferry-common.sh
	source "$TOP/scripts/ferry-common.sh"
	# shellcheck source=local-daemon.sh
	source "$TOP/scripts/local-daemon.sh"
	# shellcheck source=../tests/integration/lab_common.sh
	source "$TOP/tests/integration/lab_common.sh"
	case ${1:-} in
	-h | --help) sed -n '4,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) die "unknown argument '$1' (see $PROG --help)" ;;
	esac
	require_root
	build_ferry "$TOP/build-release" release
	lab_take_turn
	"$LAB" status >/dev/null 2>&1 && die "a lab is up already: run scripts/lab.sh down first"
	TMP=$(mktemp -d)
	trap '"$LAB" down >/dev/null 2>&1; rm -rf "$TMP"' EXIT
	bench_security "$TOP/build-release" "$TMP" "${1:-}"
fi
