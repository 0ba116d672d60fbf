#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Chaos in the lab (scripts/lab.sh), seeded: both ferryds drop, duplicate,
# reorder and corrupt packets (fault.*), while
#   - up to three checked transfers run at a time in either direction
#     (ferry-xfer: every message's length, bytes and index checked), each
#     with its own count, sizes and pace, and RPC runs with every byte
#     checked (ferry-perf --rpc --verify) against a server on ferry-b;
#   - clients are SIGKILLed, or SIGSTOPped for up to 2 s and continued, at
#     random;
#   - once, ferry-b's ferryd is SIGKILLed and started again.
# Then it checks that no message was corrupted, duplicated or reordered;
# that no message a killed sender had handed to ferryd (its last "sent N")
# was lost while its receiver and both daemons lived on; that every session
# completed or ended with a reason, and that one nobody disturbed completed;
# that nothing hung; that no ring file is left in the shm directories once
# the clients are gone; and that the ferryd that was never killed (ferry-a)
# came back to its file descriptors, and near its memory, from the start.
# It ends with a summary: messages sent, delivered, duplicated, corrupted,
# lost; sessions ended by reason; ferry-a's RSS and descriptors before and
# after.
#
# usage: chaos.sh LAB_SH BUILD_DIR [SECONDS]
#        (default 75 s, or $CHAOS_SECONDS; the seed is $CHAOS_SEED, default 1)
# exit:  0 pass, 1 fail, 77 skip (no root, no namespaces, a lab already up,
#        DPDK cannot start)
set -u

LAB=$1
BUILD=$2
RUN_S=${3:-${CHAOS_SECONDS:-75}}
SEED=${CHAOS_SEED:-1}
XFER=$BUILD/tests/integration/ferry-xfer
PERF=$BUILD/client-lib/tools/ferry-perf
STAT=$BUILD/client-lib/tools/ferry-stat
TMP=$(mktemp -d /tmp/ferry-chaos.XXXXXX)
UP=0
declare -A IP=([a]=10.77.0.1 [b]=10.77.0.2)
FAULTS="--fault.seed=$SEED --fault.rx_drop=0.01 --fault.rx_dup=0.005 --fault.rx_reorder=0.01"
FAULTS+=" --fault.rx_corrupt=0.002 --fault.tx_dup=0.005 --fault.tx_reorder=0.01"
ARGS="--ipc.client_ring_size=1048576 --ipc.max_message_size=262144"
ARGS+=" --transport.peer_timeout_ms=3000 --transport.keepalive_ms=300 $FAULTS"
# An ASan build's daemons keep freed blocks in quarantine (256 MiB), which
# would count as growth; without it their RSS means what it says.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
MAX_ACTIVE=3
# a transfer takes 11 s at most (3200 messages at 300 a second) when
# nothing disturbs it; one whose peer died before the session was up waits
# this long for it
XFER_TIMEOUT_MS=25000
RSS_SLACK_KIB=$((32 * 1024))

# shellcheck source=lab_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_common.sh"

trap lab_cleanup EXIT
trap "exit 143" TERM INT

lab_preflight "$XFER" "$PERF" "$STAT"
RANDOM=$SEED

dpid() { cat "/run/ferry-lab/$1.pid" 2>/dev/null; }
nfds() { ls "/proc/$(dpid "$1")/fd" 2>/dev/null | wc -l; }
ring_files() { find /dev/shm/ferry-lab-a /dev/shm/ferry-lab-b -name 'client-*' 2>/dev/null | wc -l; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
alive() { kill -0 "$1" 2>/dev/null; }

# ---- workers: one checked transfer each --------------------------------------
# W_R[w], W_S[w]: receiver and sender PIDs; W_INFO[w]: what the analysis
# needs to know about its life (direction, killed side, restart)
declare -A W_R W_S W_INFO W_DONE
NW=0
RESTARTS=0

start_worker() {
	local w=$NW dir from to count max rate
	NW=$((NW + 1))
	if ((RANDOM % 2)); then from=a to=b; else from=b to=a; fi
	count=$((200 + RANDOM % 3000))
	max=$((1 << (6 + RANDOM % 12)))
	rate=$((300 + RANDOM % 3000))
	"$LAB" exec "$to" "$XFER" recv --service "w$w" --seed "$w" --count "$count" --max-size "$max" \
		--progress-ms 100 --tolerate-end --json --timeout-ms "$XFER_TIMEOUT_MS" >"$TMP/w$w.recv" \
		2>"$TMP/w$w.recv.err" &
	W_R[$w]=$!
	LAB_PIDS+=("${W_R[$w]}")
	for _ in $(seq 50); do
		grep -q "listening" "$TMP/w$w.recv.err" 2>/dev/null && break
		sleep 0.1
	done
	"$LAB" exec "$from" "$XFER" send --host "${IP[$to]}" --service "w$w" --seed "$w" \
		--count "$count" --max-size "$max" --rate "$rate" --progress-ms 100 --tolerate-end --json \
		--timeout-ms "$XFER_TIMEOUT_MS" >"$TMP/w$w.send" 2>"$TMP/w$w.send.err" &
	W_S[$w]=$!
	LAB_PIDS+=("${W_S[$w]}")
	W_INFO[$w]="$from$to count=$count max=$max rate=$rate restart=$RESTARTS"
}

active_workers() {
	local w n=0
	for ((w = 0; w < NW; w++)); do
		[[ -n ${W_DONE[$w]:-} ]] && continue
		if alive "${W_R[$w]}" || alive "${W_S[$w]}"; then
			n=$((n + 1))
		else
			W_DONE[$w]=1
		fi
	done
	echo "$n"
}

# A random live client: "w ROLE PID", or nothing.
pick_client() {
	local w cands=()
	for ((w = 0; w < NW; w++)); do
		[[ -n ${W_DONE[$w]:-} ]] && continue
		alive "${W_R[$w]}" && cands+=("$w recv ${W_R[$w]}")
		alive "${W_S[$w]}" && cands+=("$w send ${W_S[$w]}")
	done
	((${#cands[@]})) && echo "${cands[RANDOM % ${#cands[@]}]}"
}

# ---- RPC: a server on ferry-b, client runs from ferry-a ------------------------
PERF_SRV=
PERF_CLI=
NPERF=0
start_perf_server() {
	"$LAB" exec b "$PERF" --role server -S rpc --spin-us 0 --yield-us 2000 >"$TMP/perf-server.log" 2>&1 &
	PERF_SRV=$!
	LAB_PIDS+=("$PERF_SRV")
}
start_perf_client() {
	local p=$NPERF
	NPERF=$((NPERF + 1))
	"$LAB" exec a "$PERF" --role client -H 10.77.0.2 -S rpc --rpc --verify --sizes 32,1K -n 500 \
		-t 5000 -w 50 --no-floor --spin-us 0 --yield-us 2000 --timeout-ms 5000 --json >"$TMP/p$p.out" \
		2>"$TMP/p$p.err" &
	PERF_CLI=$!
	LAB_PIDS+=("$PERF_CLI")
	echo "restart=$RESTARTS start=$(now_ms)" >"$TMP/p$p.info"
}

# ---- the run ---------------------------------------------------------------------

lab_up "$ARGS"
sleep 1
RSS0=$(rss a)
FDS0=$(nfds a)
start_perf_server
t_start=$(now_ms)
t_end=$((t_start + RUN_S * 1000))
t_restart=$((t_start + RUN_S * 400))
restarted=0
KILLS=0
STOPS=0
echo "# chaos for $RUN_S s, seed $SEED; ferry-a RSS $RSS0 KiB, $FDS0 descriptors"
while (($(now_ms) < t_end)); do
	while (($(active_workers) < MAX_ACTIVE)); do
		start_worker
	done
	if [[ -n $PERF_CLI ]] && ! alive "$PERF_CLI"; then
		wait "$PERF_CLI"
		echo $? >"$TMP/p$((NPERF - 1)).rc"
		echo "end=$(now_ms)" >>"$TMP/p$((NPERF - 1)).info"
		PERF_CLI=
	fi
	[[ -n $PERF_CLI ]] || start_perf_client
	if ((!restarted && $(now_ms) >= t_restart)); then
		echo "# $(($(now_ms) - t_start)) ms: SIGKILL ferryd b, then start it again"
		"$LAB" kill b >"$TMP/kill.log" 2>&1 || { cat "$TMP/kill.log"; fail "lab.sh kill b"; }
		RESTARTS=$((RESTARTS + 1))
		for ((w = 0; w < NW; w++)); do
			[[ -z ${W_DONE[$w]:-} ]] && W_INFO[$w]+=" restart_during"
		done
		[[ -n $PERF_CLI ]] && echo "restart_during" >>"$TMP/p$((NPERF - 1)).info"
		sleep $((1 + RANDOM % 2))
		LAB_FERRYD_ARGS="$ARGS" "$LAB" start b >"$TMP/start.log" 2>&1 ||
			{ cat "$TMP/start.log"; fail "lab.sh start b"; }
		kill -KILL "$PERF_SRV" 2>/dev/null
		wait "$PERF_SRV" 2>/dev/null
		start_perf_server
		restarted=1
	fi
	case $((RANDOM % 10)) in
	0 | 1)
		read -r w role pid <<<"$(pick_client)"
		if [[ -n ${pid:-} ]]; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			echo $? >"$TMP/w$w.$role.rc"
			W_INFO[$w]+=" killed_$role"
			KILLS=$((KILLS + 1))
		fi
		;;
	2 | 3)
		read -r w role pid <<<"$(pick_client)"
		if [[ -n ${pid:-} ]]; then
			ms=$((300 + RANDOM % 1700))
			(kill -STOP "$pid" 2>/dev/null; sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
			 kill -CONT "$pid" 2>/dev/null) &
			LAB_PIDS+=("$!")
			W_INFO[$w]+=" stopped_$role"
			STOPS=$((STOPS + 1))
		fi
		;;
	esac
	sleep "0.$((5 + RANDOM % 5))"
done

# every client ends by itself: the RPC run first (its end time is part of
# what is checked: taken after the transfers, it would count their wait),
# then the transfers within their --timeout-ms
if [[ -n $PERF_CLI ]]; then
	wait "$PERF_CLI"
	echo $? >"$TMP/p$((NPERF - 1)).rc"
	echo "end=$(now_ms)" >>"$TMP/p$((NPERF - 1)).info"
fi
echo "# $NW transfers started; waiting for them to end"
for ((w = 0; w < NW; w++)); do
	for role in R S; do
		declare -n pids=W_$role
		rcf=$TMP/w$w.$([[ $role == R ]] && echo recv || echo send).rc
		[[ -e $rcf ]] && continue # killed, and waited for then
		wait "${pids[$w]}"
		echo $? >"$rcf"
	done
	echo "${W_INFO[$w]}" >"$TMP/w$w.info"
done
kill -KILL "$PERF_SRV" 2>/dev/null
wait "$PERF_SRV" 2>/dev/null
for _ in $(seq 50); do
	(($(ring_files) == 0)) && break
	sleep 0.1
done
sleep 1
RINGS=$(ring_files)
RSS1=$(rss a)
FDS1=$(nfds a)
alive "$(dpid a)" || fail "ferryd a died: $(tail -n 5 /run/ferry-lab/a.log)"
alive "$(dpid b)" || fail "ferryd b died: $(tail -n 5 /run/ferry-lab/b.log)"

python3 - "$TMP" "$NW" "$NPERF" "$RUN_S" "$SEED" "$KILLS" "$STOPS" "$RESTARTS" "$RINGS" \
	"$RSS0" "$RSS1" "$FDS0" "$FDS1" "$RSS_SLACK_KIB" <<'PY'
import collections, json, os, re, sys
tmp = sys.argv[1]
nw, nperf, run_s, seed, kills, stops, restarts, rings, rss0, rss1, fds0, fds1, slack = (
    int(x) for x in sys.argv[2:15])
problems = []
sent = delivered = dup = corrupt = reordered = lost = 0
ends = collections.Counter()

def read(path):
    try:
        return open(path).read()
    except OSError:
        return ""

def last_count(text, word):
    n = [int(m) for m in re.findall(r"^%s (\d+)$" % word, text, re.M)]
    return max(n) if n else 0

def summary(text):
    for line in text.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    return None

for w in range(nw):
    info = read("%s/w%d.info" % (tmp, w)).strip()
    r_out, s_out = read("%s/w%d.recv" % (tmp, w)), read("%s/w%d.send" % (tmp, w))
    r_err, s_err = read("%s/w%d.recv.err" % (tmp, w)), read("%s/w%d.send.err" % (tmp, w))
    r_rc = int(read("%s/w%d.recv.rc" % (tmp, w)) or -1)
    s_rc = int(read("%s/w%d.send.rc" % (tmp, w)) or -1)
    got, put = last_count(r_out, "verified"), last_count(s_out, "sent")
    sent += put
    delivered += got
    # integrity: what ferry-xfer's check says
    if re.search(r"content differs|length \d+ expected", r_err):
        corrupt += 1
    if "a duplicate or reorder" in r_err:
        dup += 1
    if "a loss or reorder" in r_err:
        reordered += 1
    disturbed = any(k in info for k in ("killed", "restart_during"))
    for role, rc, out, err in (("recv", r_rc, r_out, r_err), ("send", s_rc, s_out, s_err)):
        s = summary(out)
        if "killed_" + role in info:
            ends["SIGKILLed by the test"] += 1
        elif rc == 0:
            ends["completed"] += 1
        elif rc == 3 and s:
            ends[s["ended"]] += 1
            if not disturbed:
                problems.append("w%d (%s): %s ended (%s) though nothing killed its peer or a "
                                "daemon" % (w, info, role, s["ended"]))
        elif rc == 2 and "waiting for a session" in err and "killed_" in info:
            ends["never up: its peer was killed first"] += 1
        elif rc == 2:
            problems.append("w%d (%s): %s hung: %s" % (w, info, role, err.strip().splitlines()[-1]))
        elif rc == 1 and not re.search(r"content differs|length \d+ expected|reorder", err):
            problems.append("w%d (%s): %s failed: %s" % (w, info, role,
                                                         err.strip().splitlines()[-1:]))
    # what a killed sender handed to ferryd must arrive while the rest lived on
    if "killed_send" in info and "killed_recv" not in info and "restart_during" not in info:
        if got < put:
            lost += put - got
            problems.append("w%d (%s): the sender had sent %d before it was killed, the "
                            "receiver verified %d" % (w, info, put, got))

perf = collections.Counter()
longest = 0.0
for p in range(nperf):
    info = read("%s/p%d.info" % (tmp, p))
    rc = int(read("%s/p%d.rc" % (tmp, p)) or -1)
    err = read("%s/p%d.err" % (tmp, p))
    times = dict(re.findall(r"(start|end)=(\d+)", info))
    secs = (int(times.get("end", 0)) - int(times.get("start", 0))) / 1000.0
    longest = max(longest, secs)
    if secs > 30:
        problems.append("RPC run %d took %.0f s (exit %d): %s" % (
            p, secs, rc, " / ".join(err.strip().splitlines()[-2:])))
    if rc == 0:
        perf["completed"] += 1
    elif "came back wrong" in err or "wrong" in err:
        perf["wrong"] += 1
        corrupt += 1
        problems.append("RPC run %d: %s" % (p, err.strip().splitlines()[-1]))
    elif "restart_during" in info:
        perf["ended by the restart"] += 1
    else:
        perf["failed"] += 1
        problems.append("RPC run %d failed (exit %d) with nothing killed: %s" % (
            p, rc, err.strip().splitlines()[-1:]))

if corrupt or dup or reordered:
    problems.append("integrity: %d corrupted, %d duplicated, %d reordered or lost in order"
                    % (corrupt, dup, reordered))
if rings:
    problems.append("%d ring files left in /dev/shm/ferry-lab-*/ after every client is gone" % rings)
if fds1 > fds0:
    problems.append("ferryd a holds %d descriptors, %d at the start" % (fds1, fds0))
if rss1 - rss0 > slack:
    problems.append("ferryd a's RSS grew from %d to %d KiB" % (rss0, rss1))

print("# chaos: %d s, seed %d: %d transfers, %d RPC runs (%s; the longest %.1f s); %d clients "
      "SIGKILLed, %d SIGSTOPped; ferryd b killed and restarted %d time(s)" % (
          run_s, seed, nw, nperf, ", ".join("%s %d" % kv for kv in sorted(perf.items())),
          longest, kills, stops, restarts))
print("# messages: sent %d, delivered %d, duplicated %d, corrupted %d, reordered %d, lost %d"
      % (sent, delivered, dup, corrupt, reordered, lost))
print("# session ends: " + ", ".join('%s %d' % kv for kv in sorted(ends.items())))
print("# ferryd a: RSS %d KiB before, %d KiB after; %d descriptors before, %d after; ring "
      "files left: %d" % (rss0, rss1, fds0, fds1, rings))
for p in problems:
    print("# PROBLEM: " + p)
sys.exit(1 if problems else 0)
PY
rc=$?
lab_down
((rc == 0)) || fail "chaos found problems (above)"
ok "chaos: every message intact, every session completed or ended with a reason, nothing left behind"
