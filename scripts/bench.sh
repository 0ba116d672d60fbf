#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench.sh: measure ferry and print one table, every row from this run.
#
#   scripts/bench.sh [--json FILE] [--plot DIR] [--fairness]
#
# --plot DIR: also write every latency histogram of the run as an
# HdrHistogram percentile distribution, DIR/<scenario>-<impl>.hgrm
# (local-32B-rtt, local-32B-floor, twohost-1KiB-udpbusy ...), and chart
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
# Fairness (scripts/bench-fairness.sh), a table of its own: four senders on
# four hosts to one receiver at once, each one's goodput and share, Jain's
# index, and the total beside one sender alone in the same lab.
# --fairness runs only that section (about 45 s).
# Builds a release build in build-release/. Needs root. Takes about 4 min.
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
FAIRNESS_ONLY=0
while (($#)); do
	case $1 in
	--json) JSON_OUT=${2:?--json needs a file}; shift ;;
	--plot) PLOT=${2:?--plot needs a directory}; shift ;;
	--fairness) FAIRNESS_ONLY=1 ;;
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
build_ferry "$BUILD" release
LAB=$TOP/scripts/lab.sh
# shellcheck source=../tests/integration/lab_common.sh
source "$TOP/tests/integration/lab_common.sh"
if ((FAIRNESS_ONLY)); then
	[[ -z $JSON_OUT ]] || rm -f "$JSON_OUT"
	lab_take_turn
	rc=0
	"$LAB" status >/dev/null 2>&1 || rc=$?
	((rc == 3)) || die "a lab is (partly) up already: run scripts/lab.sh down first"
	getent passwd ferry >/dev/null || systemd-sysusers "$TOP/systemd/ferry.sysusers"
	TMP=$(mktemp -d)
	trap '"$LAB" down >/dev/null 2>&1; rm -rf "$TMP"' EXIT
	fairness_bench "$BUILD" "$TMP" "$JSON_OUT"
	exit 0
fi
start_local_daemon "$BUILD"
TMP=$(mktemp -d)
trap 'stop_local_daemon; rm -rf "$TMP"' EXIT

info "ferry-perf: local session, 32 B and 1 KiB"
"$BUILD/client-lib/tools/ferry-perf" --socket "$FERRY_RUN/ferryd.sock" --sizes 32,1K \
	--count 500000 --tcount 5000000 --rpc --json ${PLOT:+--hgrm "$PLOT/local-{size}-{what}.hgrm"} \
	>"$TMP/perf.json"
stop_local_daemon
info "idle CPU and client reclaim"
FERRYD=$BUILD/daemon/ferryd "$BUILD/tests/bench/bench_local" --idle-s 10 --json >"$TMP/local.json"

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

python3 - "$TMP/perf.json" "$TMP/local.json" "${JSON_OUT:-}" "$TMP" <<'PY'
import json, sys
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
               "kernel_udp": {"%s_%d" % k: v for k, v in udp.items()}, "ready_ms": ready},
              open(sys.argv[3], "w"), indent=1)
PY
if [[ -n $PLOT ]]; then
	info "charts in $PLOT:"
	"$TOP/scripts/plot-hgrm.sh" "$PLOT"
fi
echo
fairness_bench "$BUILD" "$TMP" "$JSON_OUT"
