# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# bench-fairness.sh: sourced by bench.sh; its fairness section.
#
#   fairness_bench BUILD_DIR TMP_DIR [JSON_FILE]
#
# A lab of five hosts (lab.sh --hosts 5). Four senders, on ferry-a,
# ferry-c, ferry-d and ferry-e, each run ferry-perf's one-way stream to a
# receiver of its own on ferry-b, all started together and all for the
# same time; the same sender alone (ferry-a) runs just before, in the same
# lab. Prints each sender's goodput and share, the total beside the lone
# sender's, and Jain's fairness index, (sum x)^2 / (n * sum x^2): 1 when
# every sender gets the same, 1/n when one gets everything. FAIR_ROUNDS
# pairs (lone, together) run alternately (default 3) and the round with
# the median index is shown; FAIR_SECONDS (default 5) is each run's length
# and FAIR_SIZE (default 1K, at most 4K) the message size. Beside each
# sender: its session's window and RTT half-way, its ferryd's CPU and
# retransmit timeouts, which tell why a share is what it is. With
# JSON_FILE, the results go there under "fairness" (added to what the
# file holds).
#
# Callers set PROG, TOP and LAB, source ferry-common.sh and
# tests/integration/lab_common.sh, and hold the lab's turn.

FAIR_ROUNDS=${FAIR_ROUNDS:-3}
FAIR_SECONDS=${FAIR_SECONDS:-5}
FAIR_SIZE=${FAIR_SIZE:-1K}
FAIR_RECEIVER=b
FAIR_RECEIVER_ADDR=10.77.0.2
FAIR_SENDERS="a c d e"

# fair_cpu HOST...: "host ticks" lines, the CPU time (user and system,
# clock ticks) each host's ferryd and the receiver's have used so far
fair_cpu() {
	local s
	for s in "$@" "$FAIR_RECEIVER"; do
		printf '%s %s\n' "$s" "$(sed 's/^.*) //' "/proc/$(cat "/run/ferry-lab/$s.pid")/stat" |
			awk '{ print $12 + $13 }')"
	done
}

# fair_stat BUILD TMP NAME WHEN HOST...: the counters of each host's
# ferryd and the receiver's, as TMP/fair-NAME-HOST.WHEN
fair_stat() {
	local build=$1 tmp=$2 name=$3 when=$4 s
	shift 4
	for s in "$@" "$FAIR_RECEIVER"; do
		"$build/client-lib/tools/ferry-stat" --shm-dir "/dev/shm/ferry-lab-$s" --json \
			>"$tmp/fair-$name-$s.$when" 2>/dev/null || true
	done
}

# fair_run BUILD TMP NAME HOST...: ferry-perf one-way from each HOST to
# its own service on the receiver, all at once; one JSON each, and each
# sender's daemon counters after
fair_run() {
	local build=$1 tmp=$2 name=$3 s rc=0 pids=()
	shift 3
	cut -d' ' -f1 /proc/loadavg >"$tmp/fair-$name.load"
	fair_cpu "$@" >"$tmp/fair-$name.cpu0"
	fair_stat "$build" "$tmp" "$name" stat0 "$@"
	for s in "$@"; do
		"$LAB" exec "$s" "$build/client-lib/tools/ferry-perf" -r client -H "$FAIR_RECEIVER_ADDR" \
			-S "fair-$s" --sizes "$FAIR_SIZE" --count 0 --duration "$FAIR_SECONDS" --no-floor \
			--spin-us 0 --yield-us 5000 --timeout-ms 10000 --json \
			>"$tmp/fair-$name-$s.json" 2>"$tmp/fair-$name-$s.err" &
		pids+=($!)
	done
	# half-way: each sender's session (its window, RTT), for the table
	sleep "$((FAIR_SECONDS / 2))"
	fair_stat "$build" "$tmp" "$name" mid "$@"
	for s in "${pids[@]}"; do
		wait "$s" || rc=1
	done
	fair_cpu "$@" >"$tmp/fair-$name.cpu1"
	if ((rc)); then
		cat "$tmp"/fair-"$name"-*.err >&2
		return 1
	fi
	fair_stat "$build" "$tmp" "$name" stat1 "$@"
}

fairness_bench() {
	local build=$1 tmp=$2 json=${3:-} h round spids=()
	[[ $FAIR_ROUNDS =~ ^[1-9][0-9]*$ ]] || die "FAIR_ROUNDS wants a positive number, not '$FAIR_ROUNDS'"
	[[ $FAIR_SECONDS =~ ^[1-9][0-9]*$ ]] || die "FAIR_SECONDS wants whole seconds, not '$FAIR_SECONDS'"
	# ferry-perf checks its clock every 1024 messages: larger ones would
	# overrun the time by seconds
	if [[ ! $FAIR_SIZE =~ ^([0-9]+|[1-4]K)$ ]] || ((${FAIR_SIZE%K} > 4096)); then
		die "FAIR_SIZE wants a message size of 4K at most, not '$FAIR_SIZE'"
	fi
	info "fairness: lab up with 5 hosts"
	LAB_HOSTS=5 "$LAB" --build "$build" up >"$tmp/fair-lab.log" 2>&1 ||
		{ cat "$tmp/fair-lab.log"; die "lab.sh --hosts 5 up failed"; }
	# one receiving client per sender, each on its own service
	for h in $FAIR_SENDERS; do
		"$LAB" exec "$FAIR_RECEIVER" "$build/client-lib/tools/ferry-perf" -r server -S "fair-$h" \
			--spin-us 0 --yield-us 5000 >/dev/null 2>&1 &
		spids+=($!)
	done
	sleep 0.5
	for ((round = 1; round <= FAIR_ROUNDS; round++)); do
		info "fairness: round $round of $FAIR_ROUNDS: ferry-a alone, then a, c, d, e together (${FAIR_SECONDS} s each, $FAIR_SIZE messages)"
		# shellcheck disable=SC2086 # a list of hosts
		if ! fair_run "$build" "$tmp" "lone-$round" a ||
			! fair_run "$build" "$tmp" "all-$round" $FAIR_SENDERS; then
			kill -TERM "${spids[@]}" 2>/dev/null || true
			"$LAB" down >/dev/null 2>&1
			die "fairness: a sender failed"
		fi
	done
	kill -TERM "${spids[@]}" 2>/dev/null || true
	wait "${spids[@]}" 2>/dev/null || true
	"$LAB" down >/dev/null 2>&1
	python3 - "$tmp" "$FAIR_ROUNDS" "$FAIR_SENDERS" "$FAIR_SECONDS" "$json" <<'PY'
import json, os, sys
tmp, rounds, senders, secs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4], sys.argv[5]
def one(path):
    r = json.load(open(path))
    return r[0] if isinstance(r, list) else r
def jain(xs):
    return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs))
def counters(name, host, when):
    try:
        return json.load(open("%s/fair-%s-%s.%s" % (tmp, name, host, when)))["counters"]
    except (OSError, ValueError, KeyError):
        return {}
def cpu(name):
    t = [dict(l.split() for l in open("%s/fair-%s.cpu%d" % (tmp, name, i))) for i in (0, 1)]
    hz = os.sysconf("SC_CLK_TCK")
    return {h: (int(t[1][h]) - int(t[0][h])) / hz / float(secs) for h in t[0]}
def detail(name, host):
    """what host's one session looked like half-way, and its daemon's costs"""
    mid = counters(name, host, "mid")
    c0, c1 = counters(name, host, "stat0"), counters(name, host, "stat1")
    d = {"rto_timeouts": c1.get("remote.rto_timeouts", 0) - c0.get("remote.rto_timeouts", 0),
         "retransmits": c1.get("remote.tx_retransmits", 0) - c0.get("remote.tx_retransmits", 0)}
    for k, v in mid.items():
        if k.startswith("session.") and k.endswith((".cwnd_milli", ".srtt_ns")):
            d["mid_" + k.rsplit(".", 1)[1]] = v
    return d
res = []
for i in range(1, rounds + 1):
    lone = one("%s/fair-lone-%d-a.json" % (tmp, i))
    each = {s: one("%s/fair-all-%d-%s.json" % (tmp, i, s)) for s in senders}
    for s in senders:
        each[s].update(detail("all-%d" % i, s))
    xs = [each[s]["bytes_per_s"] for s in senders]
    lost = sum(r["sent"] - r["received"] for r in each.values()) + lone["sent"] - lone["received"]
    errors = sum(r["errors"] for r in each.values()) + lone["errors"]
    res.append({"round": i, "lone_bytes_per_s": lone["bytes_per_s"],
                "senders": {s: each[s] for s in senders}, "jain": jain(xs),
                "total_bytes_per_s": sum(xs), "total_vs_lone": sum(xs) / lone["bytes_per_s"],
                "ferryd_cpu": cpu("all-%d" % i), "lone_ferryd_cpu": cpu("lone-%d" % i),
                "loadavg": float(open("%s/fair-all-%d.load" % (tmp, i)).read()),
                "lost": lost, "errors": errors})
order = sorted(range(rounds), key=lambda k: res[k]["jain"])
mid = res[order[(rounds - 1) // 2]]
size = mid["senders"][senders[0]]["size"]
rows = []
for s in senders:
    r = mid["senders"][s]
    x = r["bytes_per_s"]
    rows.append(("ferry-%s -> ferry-b" % s, "%.1f" % (x / 1e6), "%.1f %%" % (100 * x / mid["total_bytes_per_s"]),
                 "%.2f of an equal share; half-way cwnd %.1f, srtt %.0f us; ferryd %.0f %% CPU, %d RTOs"
                 % (x * len(senders) / mid["total_bytes_per_s"], r.get("mid_cwnd_milli", 0) / 1000,
                    r.get("mid_srtt_ns", 0) / 1000, 100 * mid["ferryd_cpu"][s], r["rto_timeouts"])))
rows.append(("total, %d senders" % len(senders), "%.1f" % (mid["total_bytes_per_s"] / 1e6), "",
             "%.2f of ferry-a alone (%.1f MB/s); receiver's ferryd %.0f %% CPU (alone: %.0f %%)"
             % (mid["total_vs_lone"], mid["lone_bytes_per_s"] / 1e6, 100 * mid["ferryd_cpu"]["b"],
                100 * mid["lone_ferryd_cpu"]["b"])))
rows.append(("Jain's fairness index", "%.3f" % mid["jain"], "",
             "rounds: " + ", ".join("%.3f" % r["jain"] for r in res)))
rows.append(("total / one sender alone", "%.2f" % mid["total_vs_lone"], "",
             "rounds: " + ", ".join("%.2f" % r["total_vs_lone"] for r in res)))
head = ("fairness, %d B messages, %s s (round %d of %d)" % (size, secs, mid["round"], rounds),
        "MB/s", "share", "detail")
w = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
fmt = "  ".join("{:<%d}" % x for x in w)
print(fmt.format(*head))
print(fmt.format(*("-" * x for x in w)))
for r in rows:
    print(fmt.format(*r))
print("messages lost / out of order over every run: %d / %d; the machine's load average before each round: %s"
      % (sum(r["lost"] for r in res), sum(r["errors"] for r in res), ", ".join("%.1f" % r["loadavg"] for r in res)))
if out:
    doc = json.load(open(out)) if os.path.exists(out) and os.path.getsize(out) else {}
    doc["fairness"] = {"seconds": int(secs), "size": size, "senders": senders, "rounds": res,
                       "shown_round": mid["round"]}
    json.dump(doc, open(out, "w"), indent=1)
PY
}
