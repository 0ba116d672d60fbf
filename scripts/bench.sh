#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench.sh: measure ferry and print one table, every row from this run.
#
#   scripts/bench.sh [--json FILE] [--plot DIR] [--lab-pmd af_packet|tap|both]
#   scripts/bench.sh --scale [--json FILE]    only the many-sessions rows
#   scripts/bench.sh --flows [--json FILE]    only the concurrent-flows rows
#   scripts/bench.sh --fairness [--json FILE] only the four-senders rows
#
# --plot DIR: also write every latency histogram of the run as an
# HdrHistogram percentile distribution, DIR/<scenario>-<impl>.hgrm
# (local-32B-rtt, local-32B-floor, twohost-1KiB-udpbusy,
# sparse-tap-1000-rtt, sparse-tap-1000-udpblock ...), and chart
# each scenario's curves as DIR/<scenario>.png (scripts/plot-hgrm.sh;
# installs gnuplot-nox if it is missing).
#
# Local mode: ferry-perf ping-pong RTT, one-way messages/s and RPC (one
# call at a time, and calls/s with 32 in flight) over a local session at
# 32 B and 1 KiB, each beside the raw shared-memory cache-line
# ping-pong measured in the same run (the floor) and the ratio; ferryd's
# idle CPU with one attached idle client; the time from SIGKILL of a client
# to its peer's SESSION_DOWN and to its ring file being gone.
# Two hosts (the netns lab, scripts/lab.sh): ferry-perf (with RPC) between a
# client on ferry-a and one on ferry-b at 32 B and 1 KiB, beside kernel UDP sockets
# over the same veths (blocking and busy-polling receive); goodput of 1 MiB
# messages, lossless and with 1 % of received packets dropped by the
# daemons' fault injection; the same between
# two daemons joined by net_memif, with no kernel on the path; ferryd's
# start-up time to ready.
# Sparse requests, as most RPC traffic is: one 32 B request at a time at
# 100, 1,000 and 10,000 requests/s (ferry-perf --rate, each round trip
# timed from when it was due), between clients with libferry's default
# options, beside kernel UDP blocking sockets at the same rates, with both
# lab daemons' CPU use at each rate and idle. These rows run on each lab
# PMD --lab-pmd names (default both): af_packet (no receive interrupts: an
# idle ferryd naps and polls) and tap (an idle ferryd sleeps on them).
# Many sessions (--scale; also in the full run): 1, 100, 1,000 and 10,000
# sessions open from a client on ferry-a to one on ferry-b
# (tests/bench/bench_scale), one busy: its RTT p50/p99 as a ratio to one
# session (run first and last, the mean), its echo rate, both ferryds' CPU
# while all are idle against the same daemon with no session, and their
# memory per session. Concurrent flows (--flows; also in the full run): 1, 4 and 16 ferry-perf clients on
# ferry-a, one session each (each its own UDP source port,
# net.udp_port_count), streaming 1 KiB messages to one server on ferry-b
# at once: the total rate (the sum of the flows' rates) and each flow's
# share. SCALE_COUNTS and FLOW_COUNTS (space-separated) change the counts.
# Then tables of their own: security.mode = encrypt beside none, and
# sealing alone (scripts/bench-security.sh); fairness
# (scripts/bench-fairness.sh): four senders on four hosts to one receiver
# at once, each one's goodput and share, Jain's index, and the total
# beside one sender alone in the same lab.
# Builds a release build in build-release/. Needs root. The full run takes
# about 16 min (--scale about 2, --flows about 1, --fairness about 1).
set -euo pipefail

PROG=${0##*/}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ferry-common.sh
source "$TOP/scripts/ferry-common.sh"
# shellcheck source=local-daemon.sh
source "$TOP/scripts/local-daemon.sh"
# shellcheck source=bench-fairness.sh
source "$TOP/scripts/bench-fairness.sh"

JSON_OUT=
PLOT=
SPARSE_PMDS="af_packet tap"
ONLY=
while (($#)); do
	case $1 in
	--scale) ONLY=scale ;;
	--flows) ONLY=flows ;;
	--json) JSON_OUT=${2:?--json needs a file}; shift ;;
	--plot) PLOT=${2:?--plot needs a directory}; shift ;;
	--lab-pmd)
		case ${2:-} in
		af_packet | tap) SPARSE_PMDS=$2 ;;
		both) SPARSE_PMDS="af_packet tap" ;;
		*) die "--lab-pmd wants af_packet, tap or both, not '${2:-}'" ;;
		esac
		shift
		;;
	--fairness) ONLY=fairness ;;
	-h | --help) awk 'NR > 3 && !/^#/ { exit } NR > 3' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see $PROG --help)" ;;
	esac
	shift
done
require_root
if [[ -n $PLOT ]]; then
	mkdir -p "$PLOT"
	PLOT=$(cd "$PLOT" && pwd)
	if ! have gnuplot; then
		info "installing gnuplot-nox for --plot"
		DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gnuplot-nox >/dev/null
	fi
fi
# sz BYTES: a size as --plot's file names write it (32B, 1KiB)
sz() { if (($1 % 1024 == 0)); then echo "$(($1 / 1024))KiB"; else echo "$1B"; fi; }

BUILD=$TOP/build-release
LAB=$TOP/scripts/lab.sh

# ---- many sessions open, one busy (--scale) -------------------------------
# bench_scale_rows OUT: one lab per count (so each starts from a fresh
# daemon), limits raised to fit; OUT gets a JSON list, one object per count.
# One session first and last: the baseline is both runs' mean, as the VM's
# speed drifts over the minutes this takes.
SCALE_COUNTS=${SCALE_COUNTS:-"1 100 1000 10000 1"}
bench_scale_rows() {
	local out=$1 n pa pb spid
	local args="--limits.max_sessions=32768 --limits.max_sessions_per_client=16384"
	: >"$out.lines"
	for n in $SCALE_COUNTS; do
		info "two hosts: $n sessions open, one busy"
		LAB_FERRYD_ARGS="$args" "$LAB" --build "$BUILD" up >"$TMP/lab.log" 2>&1 ||
			{ cat "$TMP/lab.log"; die "lab.sh up ($n sessions) failed"; }
		pa=$(cat /run/ferry-lab/a.pid) pb=$(cat /run/ferry-lab/b.pid)
		"$LAB" exec b "$BUILD/tests/bench/bench_scale" --role server >/dev/null 2>&1 &
		spid=$!
		sleep 0.5
		"$LAB" exec a "$BUILD/tests/bench/bench_scale" --role client --host 10.77.0.2 \
			--sessions "$n" --idle-s 5 --count 5000 --tcount 100000 --watch "$pa,$pb" \
			--timeout-ms 20000 >>"$out.lines" || { tail -5 /run/ferry-lab/*.log; die "bench_scale ($n) failed"; }
		kill -TERM "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true
		"$LAB" down >/dev/null 2>&1
	done
	python3 -c 'import json, sys; json.dump([json.loads(l) for l in open(sys.argv[1])], open(sys.argv[2], "w"))' \
		"$out.lines" "$out"
}

# scale_table SCALE.json: the rows, ratios against the one-session run
scale_table() {
	python3 - "$1" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
ones = [r for r in runs if r["sessions"] == 1] or runs[:1]
one = {k: sum(r[k] for r in ones) / len(ones) for k in ("rtt_p50_ns", "rtt_p99_ns")}
print("%-9s  %-22s  %-13s  %-13s  %-30s  %s" % ("sessions", "busy RTT p50 / p99 us", "vs 1 session",
      "echo k msg/s", "ferryd idle CPU % a / b", "ferryd RSS per session a / b"))
for r in runs:
    d = r["daemons"]
    cpu = " / ".join("%.3f (none %.3f)" % (x["idle_cpu_pct"], x["idle_cpu_pct_base"]) for x in d)
    rss = " / ".join("%.1f KiB" % (x["rss_bytes_per_session"] / 1024) for x in d)
    print("%-9d  %-22s  %-13s  %-13.0f  %-30s  %s" % (
        r["sessions"], "%.1f / %.1f" % (r["rtt_p50_ns"] / 1e3, r["rtt_p99_ns"] / 1e3),
        "%.2fx / %.2fx" % (r["rtt_p50_ns"] / one["rtt_p50_ns"], r["rtt_p99_ns"] / one["rtt_p99_ns"]),
        r["echo_msgs_per_s"] / 1e3, cpu, rss))
PY
}

# ---- concurrent flows (--flows) -------------------------------------------
# bench_flows_rows OUT: K ferry-perf clients on ferry-a at once, one
# session each, against one server on ferry-b; OUT gets {"K": [results]}.
FLOW_COUNTS=${FLOW_COUNTS:-"1 4 16"}
bench_flows_rows() {
	local out=$1 k i spid pids
	info "two hosts: concurrent flows (net.udp_port_count=16)"
	LAB_FERRYD_ARGS="--net.udp_port_count=16" "$LAB" --build "$BUILD" up >"$TMP/lab.log" 2>&1 ||
		{ cat "$TMP/lab.log"; die "lab.sh up (flows) failed"; }
	"$LAB" exec b "$BUILD/client-lib/tools/ferry-perf" -r server --spin-us 0 --yield-us 5000 \
		>/dev/null 2>&1 &
	spid=$!
	sleep 0.5
	for k in $FLOW_COUNTS; do
		info "two hosts: $k concurrent flows"
		pids=()
		for ((i = 0; i < k; i++)); do
			"$LAB" exec a "$BUILD/client-lib/tools/ferry-perf" -r client -H 10.77.0.2 --sizes 1K \
				--duration 3 --no-floor --spin-us 0 --yield-us 5000 --timeout-ms 20000 --json \
				>"$TMP/flow-$k-$i.json" &
			pids+=($!)
		done
		for i in "${pids[@]}"; do wait "$i" || die "a ferry-perf client of $k flows failed"; done
	done
	kill -TERM "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true
	"$LAB" down >/dev/null 2>&1
	# shellcheck disable=SC2086 # FLOW_COUNTS is a space-separated list
	python3 - "$TMP" "$out" $FLOW_COUNTS <<'PY'
import json, sys
tmp, out, counts = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3:]]
def one(path):  # ferry-perf --json: one object for one size
    r = json.load(open(path))
    return r[0] if isinstance(r, list) else r
res = {str(k): [one("%s/flow-%d-%d.json" % (tmp, k, i)) for i in range(k)] for k in counts}
json.dump(res, open(out, "w"))
PY
}

flows_table() {
	python3 - "$1" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
one = sum(r["msgs_per_s"] for r in res["1"])
print("%-6s  %-18s  %-12s  %-12s  %-26s  %s" % ("flows", "total k msg/s 1 KiB", "MB/s", "vs 1 flow",
      "per flow min / max k/s", "lost / errors"))
for k, runs in sorted(res.items(), key=lambda x: int(x[0])):
    rates = [r["msgs_per_s"] for r in runs]
    tot = sum(rates)
    print("%-6s  %-18.0f  %-12.0f  %-12s  %-26s  %d / %d" % (
        k, tot / 1e3, sum(r["bytes_per_s"] for r in runs) / 1e6, "%.2fx" % (tot / one),
        "%.0f / %.0f" % (min(rates) / 1e3, max(rates) / 1e3),
        sum(r["sent"] - r["received"] for r in runs), sum(r["errors"] for r in runs)))
PY
}

# run_lab_sections: the scale and flows rows into $TMP/scale.json and
# $TMP/flows.json (those ONLY asks for, or both); the lab's turn is ours
run_lab_sections() {
	[[ $ONLY == flows ]] || bench_scale_rows "$TMP/scale.json"
	[[ $ONLY == scale ]] || bench_flows_rows "$TMP/flows.json"
}

# print_lab_sections [JSON]: their tables; with JSON, add them to it
print_lab_sections() {
	if [[ -f $TMP/scale.json ]]; then
		echo; echo "Many sessions open, one busy (32 B ping-pong and echo; ferry-a -> ferry-b)"
		scale_table "$TMP/scale.json"
	fi
	if [[ -f $TMP/flows.json ]]; then
		echo; echo "Concurrent flows, one session each (1 KiB one-way; ferry-a -> ferry-b)"
		flows_table "$TMP/flows.json"
	fi
	[[ -n ${1:-} ]] || return 0
	python3 - "$1" "$TMP" <<'PY'
import json, os, sys
out, tmp = sys.argv[1], sys.argv[2]
doc = json.load(open(out)) if os.path.exists(out) and os.path.getsize(out) else {}
for k in ("scale", "flows"):
    if os.path.exists("%s/%s.json" % (tmp, k)):
        doc[k] = json.load(open("%s/%s.json" % (tmp, k)))
json.dump(doc, open(out, "w"), indent=1)
PY
}

build_ferry "$BUILD" release
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if [[ -n $ONLY ]]; then
	[[ -z $JSON_OUT ]] || : >"$JSON_OUT"
	# shellcheck source=../tests/integration/lab_common.sh
	source "$TOP/tests/integration/lab_common.sh"
	lab_take_turn
	"$LAB" status >/dev/null 2>&1 && die "a lab is up already: run scripts/lab.sh down first"
	getent passwd ferry >/dev/null || systemd-sysusers "$TOP/systemd/ferry.sysusers"
	trap '"$LAB" down >/dev/null 2>&1; rm -rf "$TMP"' EXIT
	if [[ $ONLY == fairness ]]; then
		fairness_bench "$BUILD" "$TMP" "$JSON_OUT"
	else
		run_lab_sections
		print_lab_sections "$JSON_OUT"
	fi
	exit 0
fi
start_local_daemon "$BUILD"
trap 'stop_local_daemon; rm -rf "$TMP"' EXIT

info "ferry-perf: local session, 32 B and 1 KiB"
"$BUILD/client-lib/tools/ferry-perf" --socket "$FERRY_RUN/ferryd.sock" --sizes 32,1K \
	--count 500000 --tcount 5000000 --rpc --json ${PLOT:+--hgrm "$PLOT/local-{size}-{what}.hgrm"} \
	>"$TMP/perf.json"
stop_local_daemon
info "idle CPU and client reclaim"
FERRYD=$BUILD/daemon/ferryd "$BUILD/tests/bench/bench_local" --idle-s 10 --json >"$TMP/local.json"

# shellcheck source=../tests/integration/lab_common.sh
source "$TOP/tests/integration/lab_common.sh"
lab_take_turn
"$LAB" status >/dev/null 2>&1 && die "a lab is up already: run scripts/lab.sh down first"
info "two hosts: lab up"
getent passwd ferry >/dev/null || systemd-sysusers "$TOP/systemd/ferry.sysusers"
"$LAB" --build "$BUILD" up >"$TMP/lab.log" 2>&1 || { cat "$TMP/lab.log"; die "lab.sh up failed"; }
trap 'stop_local_daemon; "$LAB" down >/dev/null 2>&1; rm -rf "$TMP"' EXIT
grep -ho 'ready in [0-9.]* ms' /run/ferry-lab/a.log /run/ferry-lab/b.log | awk '{print $3}' >"$TMP/ready"
info "two hosts: ferry-perf ferry-a -> ferry-b"
"$LAB" exec b "$BUILD/client-lib/tools/ferry-perf" -r server --spin-us 0 --yield-us 5000 \
	>/dev/null 2>&1 &
SPID=$!
"$LAB" exec a "$BUILD/client-lib/tools/ferry-perf" -r client -H 10.77.0.2 --sizes 32,1K \
	--count 20000 --warmup 2000 --tcount 200000 --no-floor --spin-us 0 --yield-us 5000 \
	--timeout-ms 5000 --rpc --json ${PLOT:+--hgrm "$PLOT/twohost-{size}-{what}.hgrm"} >"$TMP/two.json"
kill -TERM "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null || true
info "two hosts: kernel UDP over the same veths"
"$LAB" baseline-addrs on >/dev/null
PP=$BUILD/tests/bench/udp_pingpong
for size in 32 1024; do
	for mode in block busy; do
		"$LAB" exec b "$PP" --server 31999 --bind 10.77.1.2 --once --idle-exit-s 30 \
			--mode "$mode" >/dev/null 2>&1 &
		SPID=$!
		"$LAB" exec a "$PP" --client 10.77.1.2 31999 --mode "$mode" --size "$size" \
			--count 20000 --warmup 2000 --timeout-ms 3000 --json \
			${PLOT:+--hgrm "$PLOT/twohost-$(sz "$size")-udp$mode.hgrm"} >"$TMP/udp-$mode-$size.json"
		wait "$SPID" || true
	done
done
"$LAB" baseline-addrs off >/dev/null

# Two daemons joined by net_memif: shared memory, no kernel on the path,
# so the figures show what ferry's own stack costs. Run while the lab
# holds its hugepages (memif needs them), with memory to spare for both.
info "two daemons over net_memif"
MM=$TMP/memif
install -d -o ferry -g ferry -m 0750 "$MM"
MPIDS=()
i=0
for role in server client; do
	i=$((i + 1))
	"$BUILD/daemon/ferryd" --ipc.socket="$MM/$i.sock" --ipc.shm_dir="/dev/shm/ferry-memif-$i" \
		--eal.vdevs="net_memif0,role=$role,socket=$MM/memif.sock,id=0" --eal.hugepages=on \
		--eal.memory_mb=64 --eal.file_prefix="ferry-memif-$i" --eal.lcores="0@(0-$(($(nproc) - 1)))" \
		--net.address="10.66.0.$i/24" --port.link_wait_ms=2000 2>"$MM/$i.log" &
	MPIDS+=($!)
	for _ in $(seq 100); do [[ -S $MM/$i.sock ]] && break; sleep 0.05; done
done
FERRY_SOCKET=$MM/2.sock "$BUILD/client-lib/tools/ferry-perf" -r server --spin-us 0 --yield-us 5000 \
	>/dev/null 2>&1 &
SPID=$!
FERRY_SOCKET=$MM/1.sock "$BUILD/client-lib/tools/ferry-perf" -r client -H 10.66.0.2 --sizes 32,1K \
	--count 20000 --warmup 2000 --tcount 200000 --no-floor --spin-us 0 --yield-us 5000 \
	--timeout-ms 5000 --rpc --json ${PLOT:+--hgrm "$PLOT/twohost-{size}-memif.hgrm"} \
	>"$TMP/memif.json" || { cat "$MM"/*.log; die "memif run failed"; }
kill -TERM "$SPID" "${MPIDS[@]}" 2>/dev/null
wait "$SPID" "${MPIDS[@]}" 2>/dev/null || true
rm -rf /dev/shm/ferry-memif-1 /dev/shm/ferry-memif-2 /var/run/dpdk/ferry-memif-1 \
	/var/run/dpdk/ferry-memif-2
"$LAB" down >/dev/null 2>&1

# Sparse requests: one 32 B request at a time on a fixed schedule, ferry
# between two clients with libferry's default spin and yield, then kernel
# UDP blocking sockets at the same rates over the same wire; both lab
# daemons' CPU time over each ferry run, and over 10 s with nothing to
# do: the run time of all their threads from /proc/PID/task/*/schedstat,
# in ns (utime and stime count 10 ms ticks, too coarse for an idle
# daemon; summed as floating point, since mawk's %d stops at 2^31 ns).
# One lab per PMD.
SPARSE_RATES="100 1000 10000"
lab_cpu_ns() { # "ns_a ns_b": CPU time of each lab daemon, every thread
	local h
	for h in a b; do
		cat "/proc/$(cat "/run/ferry-lab/$h.pid")"/task/*/schedstat |
			awk '{ t += $1 } END { printf "%.0f ", t }'
	done
}
# sparse_count RATE: samples per rate, about 2 to 10 s each
sparse_count() { local n=$(($1 * 2)); ((n < 1000)) && n=1000; ((n > 20000)) && n=20000; echo "$n"; }
for pmd in $SPARSE_PMDS; do
	info "two hosts on net_$pmd: sparse requests at $SPARSE_RATES per second"
	LAB_PMD=$pmd "$LAB" --build "$BUILD" up >"$TMP/lab.log" 2>&1 ||
		{ cat "$TMP/lab.log"; die "lab.sh up (LAB_PMD=$pmd) failed"; }
	"$LAB" exec b "$BUILD/client-lib/tools/ferry-perf" -r server --spin-us -1 --yield-us -1 \
		>/dev/null 2>&1 &
	SPID=$!
	for rate in $SPARSE_RATES; do
		n=$(sparse_count "$rate")
		c0=$(lab_cpu_ns)
		t0=$(date +%s%N)
		"$LAB" exec a "$BUILD/client-lib/tools/ferry-perf" -r client -H 10.77.0.2 --sizes 32 \
			--rate "$rate" --count "$n" --warmup 50 --spin-us -1 --yield-us -1 \
			--timeout-ms 5000 --json ${PLOT:+--hgrm "$PLOT/sparse-$pmd-$rate-{what}.hgrm"} \
			>"$TMP/sparse-$pmd-ferry-$rate.json"
		t1=$(date +%s%N)
		c1=$(lab_cpu_ns)
		echo "$c0 $c1 $((t1 - t0))" >"$TMP/sparse-$pmd-cpu-$rate"
	done
	kill -TERM "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null || true
	"$LAB" baseline-addrs on >/dev/null
	for rate in $SPARSE_RATES; do
		"$LAB" exec b "$PP" --server 31999 --bind 10.77.1.2 --once --idle-exit-s 30 \
			--mode block >/dev/null 2>&1 &
		SPID=$!
		"$LAB" exec a "$PP" --client 10.77.1.2 31999 --mode block --rate "$rate" \
			--count "$(sparse_count "$rate")" --warmup 50 --timeout-ms 3000 --json \
			${PLOT:+--hgrm "$PLOT/sparse-$pmd-$rate-udpblock.hgrm"} >"$TMP/sparse-$pmd-udp-$rate.json"
		wait "$SPID" || true
	done
	"$LAB" baseline-addrs off >/dev/null
	sleep 1 # past the daemons' yield time
	c0=$(lab_cpu_ns)
	t0=$(date +%s%N)
	sleep 10
	t1=$(date +%s%N)
	c1=$(lab_cpu_ns)
	echo "$c0 $c1 $((t1 - t0))" >"$TMP/sparse-$pmd-cpu-idle"
	"$LAB" down >/dev/null 2>&1
done

# Goodput of 1 MiB messages, lossless and with 1 % of the packets each
# daemon receives dropped (fault injection): what reliability costs on a
# lossy path. Three pairs, alternating, as the VM's speed drifts; the
# table shows the pair with the median ratio.
for pair in 1 2 3; do
	for drop in 0 0.01; do
		info "two hosts: 1 MiB messages, drop $drop (pair $pair of 3)"
		LAB_FERRYD_ARGS="--fault.seed=$((10 + pair)) --fault.rx_drop=$drop" \
			"$LAB" --build "$BUILD" up >"$TMP/lab.log" 2>&1 ||
			{ cat "$TMP/lab.log"; die "lab.sh up (drop $drop) failed"; }
		"$LAB" exec b "$BUILD/client-lib/tools/ferry-perf" -r server --spin-us 0 --yield-us 5000 \
			>/dev/null 2>&1 &
		SPID=$!
		"$LAB" exec a "$BUILD/client-lib/tools/ferry-perf" -r client -H 10.77.0.2 --sizes 1M \
			--count 100 --warmup 10 --tcount 1000 --no-floor --spin-us 0 --yield-us 5000 \
			--timeout-ms 10000 --json >"$TMP/two-1m-$drop-$pair.json"
		kill -TERM "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null || true
		"$LAB" down >/dev/null 2>&1
	done
done

run_lab_sections

SPARSE_PMDS="$SPARSE_PMDS" SPARSE_RATES="$SPARSE_RATES" \
python3 - "$TMP/perf.json" "$TMP/local.json" "${JSON_OUT:-}" "$TMP" <<'PY'
import json, os, sys
perf = json.load(open(sys.argv[1]))
local = json.load(open(sys.argv[2]))
tmp = sys.argv[4]
two = json.load(open(tmp + "/two.json"))
udp = {(m, s): json.load(open("%s/udp-%s-%d.json" % (tmp, m, s)))
       for m in ("block", "busy") for s in (32, 1024)}
ready = [float(x) for x in open(tmp + "/ready").read().split()]
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
for r in perf:
    s = f"{r['size']} B" if r['size'] < 1024 else f"{r['size'] // 1024} KiB"
    rows.append((f"local RPC {s}: call p50 / p99 (ns)", f"{r['rpc_rtt_ns']['p50']} / {r['rpc_rtt_ns']['p99']}",
                 f"{r['rpc_per_s'] / 1e6:.2f} M calls/s, 32 in flight", f"{r['rpc_errors']} failed"))
def us(ns):
    return "%.1f" % (ns / 1000)
for r in two:
    s = 32 if r["size"] == 32 else 1024
    name = "32 B" if s == 32 else "1 KiB"
    bu, bl = udp[("busy", s)]["rtt_ns"], udp[("block", s)]["rtt_ns"]
    rows.append((f"two-host RTT {name} p50 / p99 (us)", f"{us(r['rtt_ns']['p50'])} / {us(r['rtt_ns']['p99'])}",
                 f"kernel UDP busy {us(bu['p50'])} / {us(bu['p99'])}, block {us(bl['p50'])} / {us(bl['p99'])}",
                 f"{r['rtt_ns']['p50'] / bu['p50']:.2f}x busy, {r['rtt_ns']['p50'] / bl['p50']:.2f}x block"))
for r in two:
    s = 32 if r["size"] == 32 else 1024
    name = "32 B" if s == 32 else "1 KiB"
    k = udp[("busy", s)]
    rows.append((f"two-host one-way {name} (k msgs/s)", f"{r['msgs_per_s'] / 1e3:.0f}",
                 f"kernel UDP blast {k['msgs_per_s'] / 1e3:.0f} ({k['blast']['lost']} lost)",
                 f"{r['msgs_per_s'] / k['msgs_per_s']:.2f}x; ferry lost {r['sent'] - r['received']}"))
for r in two:
    name = "32 B" if r["size"] == 32 else "1 KiB"
    rows.append((f"two-host RPC {name}: call p50 / p99 (us)", f"{us(r['rpc_rtt_ns']['p50'])} / {us(r['rpc_rtt_ns']['p99'])}",
                 f"{r['rpc_per_s'] / 1e3:.0f} k calls/s, 32 in flight", f"{r['rpc_errors']} failed"))
def one(path):
    r = json.load(open(path))
    return r[0] if isinstance(r, list) else r
pairs = sorted(((one("%s/two-1m-0.01-%d.json" % (tmp, i))["bytes_per_s"] /
                 one("%s/two-1m-0-%d.json" % (tmp, i))["bytes_per_s"], i) for i in (1, 2, 3)))
ratios = ", ".join("%.2f" % r for r, _ in pairs)
mid = pairs[1][1]
g0 = one("%s/two-1m-0-%d.json" % (tmp, mid))
g1 = one("%s/two-1m-0.01-%d.json" % (tmp, mid))
kb = udp[("busy", 1024)]
rows.append(("two-host goodput, 1 MiB messages (MB/s)", f"{g0['bytes_per_s'] / 1e6:.0f}",
             f"kernel UDP blast 1 KiB {kb['msgs_per_s'] * 1024 / 1e6:.0f} MB/s",
             f"{g0['bytes_per_s'] / (kb['msgs_per_s'] * 1024):.2f}x kernel; RTT {us(g0['rtt_ns']['p50'])} us"))
rows.append(("two-host goodput, 1 MiB, 1 % drop (MB/s)", f"{g1['bytes_per_s'] / 1e6:.0f}",
             f"lossless {g0['bytes_per_s'] / 1e6:.0f} MB/s",
             f"{g1['bytes_per_s'] / g0['bytes_per_s']:.2f} of lossless (3 pairs: {ratios}); lost {g1['sent'] - g1['received']}"))
memif = json.load(open(tmp + "/memif.json"))
for r, t in zip(memif, two):
    name = "32 B" if r["size"] == 32 else "1 KiB"
    rows.append((f"net_memif (no kernel) RTT {name} p50 / p99 (us)", f"{us(r['rtt_ns']['p50'])} / {us(r['rtt_ns']['p99'])}",
                 f"af_packet two-host {us(t['rtt_ns']['p50'])} / {us(t['rtt_ns']['p99'])}",
                 f"{r['rtt_ns']['p50'] / t['rtt_ns']['p50']:.2f}x of af_packet"))
    rows.append((f"net_memif one-way {name} (k msgs/s)", f"{r['msgs_per_s'] / 1e3:.0f}",
                 f"af_packet two-host {t['msgs_per_s'] / 1e3:.0f}; RPC {r['rpc_per_s'] / 1e3:.0f} k calls/s",
                 f"{r['msgs_per_s'] / t['msgs_per_s']:.1f}x af_packet; lost {r['sent'] - r['received']}"))
def cpu(path):
    """both lab daemons' CPU over a run, in % of one core"""
    a0, b0, a1, b1, ns = (int(x) for x in open(path).read().split())
    return {"a": 100.0 * (a1 - a0) / ns, "b": 100.0 * (b1 - b0) / ns, "secs": ns / 1e9}
sparse = {}
for pmd in os.environ["SPARSE_PMDS"].split():
    m = sparse[pmd] = {"ferry": {}, "kernel_udp_block": {}, "ferryd_cpu_pct": {}}
    for rate in os.environ["SPARSE_RATES"].split():
        f = one("%s/sparse-%s-ferry-%s.json" % (tmp, pmd, rate))
        k = json.load(open("%s/sparse-%s-udp-%s.json" % (tmp, pmd, rate)))
        c = cpu("%s/sparse-%s-cpu-%s" % (tmp, pmd, rate))
        m["ferry"][rate], m["kernel_udp_block"][rate], m["ferryd_cpu_pct"][rate] = f, k, c
        fr, kr = f["rtt_ns"], k["rtt_ns"]
        rows.append((f"{pmd}: {int(rate):,} req/s RTT 32 B p50 / p90 / p99 (us)",
                     f"{us(fr['p50'])} / {us(fr['p90'])} / {us(fr['p99'])}",
                     f"kernel UDP block {us(kr['p50'])} / {us(kr['p90'])} / {us(kr['p99'])}",
                     f"{fr['p50'] / kr['p50']:.2f}x / {fr['p90'] / kr['p90']:.2f}x / "
                     f"{fr['p99'] / kr['p99']:.2f}x; late {f['late']}"))
        rows.append((f"{pmd}: ferryd CPU at {int(rate):,} req/s", f"a {c['a']:.1f} %, b {c['b']:.1f} %",
                     "of one core, all threads", f"over {c['secs']:.1f} s"))
    c = m["ferryd_cpu_pct"]["idle"] = cpu("%s/sparse-%s-cpu-idle" % (tmp, pmd))
    rows.append((f"{pmd}: ferryd idle CPU, with a NIC", f"a {c['a']:.3f} %, b {c['b']:.3f} %",
                 "no clients", f"over {c['secs']:.0f} s"))
if ready:
    rows.append(("ferryd start to ready (ms)", " / ".join("%.0f" % x for x in ready), "both lab daemons", "EAL, port, IPC, drop"))
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
    json.dump({"perf": perf, "local": local, "two_host": two, "memif": memif,
               "two_host_1mib": g0, "two_host_1mib_1pct_drop": g1,
               "kernel_udp": {"%s_%d" % k: v for k, v in udp.items()}, "ready_ms": ready,
               "sparse": sparse},
              open(sys.argv[3], "w"), indent=1)
PY
print_lab_sections "$JSON_OUT"
if [[ -n $PLOT ]]; then
	info "charts in $PLOT:"
	"$TOP/scripts/plot-hgrm.sh" "$PLOT"
fi

# Security: encrypt beside none, and the cost of sealing alone, in a table
# of its own (scripts/bench-security.sh runs it alone too).
# shellcheck source=bench-security.sh
source "$TOP/scripts/bench-security.sh"
bench_security "$BUILD" "$TMP" "${JSON_OUT:+$JSON_OUT.security}"
echo
fairness_bench "$BUILD" "$TMP" "$JSON_OUT"
