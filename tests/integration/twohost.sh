#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Two hosts through the real DPDK path: scripts/lab.sh brings up ferry-a and
# ferry-b, each with a ferryd on its veth through net_af_packet (or, with
# LAB_PMD=tap, net_tap on a tap bridged to it), and the kernel host
# ferry-k. Then:
#   - ferry-k pings and arpings both daemons (the kernel as an independent
#     peer of ferryd's ARP and ICMP);
#   - ferry-perf with --verify exchanges messages across the hosts in both
#     directions, every byte checked, while /proc shows ferryd running as
#     the ferry user;
#   - a session to an address nobody answers fails as unreachable within a
#     bound, and one to a service nobody listens on is refused;
#   - malformed frames from ferry-k are each counted under their drop
#     reason, and ferryd keeps serving sessions afterwards;
#   - two applications that wait only in their own epoll on ferry_fd()
#     exchange checked messages across the hosts, paced so that both
#     daemons fall asleep between them: with net_tap they sleep on its
#     receive interrupts (and an idle ferryd stays asleep), with
#     net_af_packet they nap and poll;
#   - seeded fault injection on ferry-a's receive path, seen by pings.
#
# usage: [LAB_PMD=af_packet|tap] twohost.sh LAB_SH BUILD_DIR NET_LAB_PY
# exit:  0 pass, 1 fail, 77 skip (no root, no namespaces, a lab already up,
#        DPDK cannot start)
set -u

LAB=$1
BUILD=$2
NETLAB=$3
PERF=$BUILD/client-lib/tools/ferry-perf
STAT=$BUILD/client-lib/tools/ferry-stat
FDPP=$BUILD/tests/integration/ferry-fd-pingpong
export LAB_PMD=${LAB_PMD:-af_packet}
RUN=/run/ferry-lab
TMP=$(mktemp -d /tmp/ferry-twohost.XXXXXX)
UP=0
SPID=

# shellcheck source=lab_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_common.sh"

cleanup() {
	if [[ -n $SPID ]] && kill -0 "$SPID" 2>/dev/null; then
		kill -TERM "$SPID" 2>/dev/null
		wait "$SPID" 2>/dev/null
	fi
	if ((UP)); then
		"$LAB" down >/dev/null 2>&1 || echo "lab.sh down failed"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

lab_preflight "$PERF" "$STAT" "$FDPP"

"$LAB" --build "$BUILD" up >"$TMP/up.log" 2>&1
rc=$?
if ((rc == 77)); then
	cat "$TMP/up.log"
	skip "DPDK cannot start here"
fi
((rc == 0)) || { cat "$TMP/up.log"; fail "lab.sh up exited $rc"; }
UP=1
ok "lab up on net_$LAB_PMD: $(grep -c . "$TMP/up.log") lines of log"

# -- the kernel as a peer: ARP and ICMP --
for ip in 10.77.0.1 10.77.0.2; do
	ip netns exec ferry-k ping -c 3 -i 0.2 -W 2 "$ip" >"$TMP/ping" 2>&1 ||
		{ cat "$TMP/ping"; fail "ferry-k cannot ping ferryd at $ip"; }
	ip netns exec ferry-k arping -c 2 -w 4 -I fk0 "$ip" >"$TMP/arping" 2>&1 ||
		{ cat "$TMP/arping"; fail "ferry-k gets no ARP answer from $ip"; }
done
ok "ferry-k pings and arpings both daemons"

# -- counters through DPDK telemetry --
if command -v dpdk-telemetry.py >/dev/null; then
	echo /ferry/info | timeout 10 dpdk-telemetry.py -f ferry-lab-a >"$TMP/tel" 2>&1
	grep -q "\"nic\": \"port 0 (net_$LAB_PMD) 10.77.0.1/24" "$TMP/tel" ||
		{ cat "$TMP/tel"; fail "dpdk-telemetry.py /ferry/info"; }
	echo /ferry/counters,net. | timeout 10 dpdk-telemetry.py -f ferry-lab-a >"$TMP/tel" 2>&1
	python3 - "$TMP/tel" <<'PY' || { cat "$TMP/tel"; fail "dpdk-telemetry.py /ferry/counters"; }
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["/ferry/counters"]
assert d["net_icmp_echo"] >= 3 and d["net_arp_request"] >= 1, d
PY
	ok "dpdk-telemetry.py reads ferryd's info and counters"
else
	echo "note: dpdk-telemetry.py not installed (package dpdk); telemetry not checked"
fi

# -- messages across hosts, both directions, every byte checked --
exchange() { # SERVER_HOST CLIENT_HOST SERVER_IP
	"$LAB" exec "$1" "$PERF" -r server --spin-us 0 --yield-us 5000 >"$TMP/server.log" 2>&1 &
	SPID=$!
	sleep 0.5
	"$LAB" exec "$2" "$PERF" -r client -H "$3" -n 2000 -w 100 -t 200 -s 32,1K,1400 \
		--verify --rpc --no-floor --timeout-ms 5000 --spin-us 0 --yield-us 5000 --json >"$TMP/perf.json" \
		2>"$TMP/perf.err"
	local rc=$?
	kill -TERM "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=
	((rc == 0)) || { cat "$TMP/perf.err"; fail "ferry-perf $2 -> $1 exited $rc"; }
	python3 - "$TMP/perf.json" <<'PY' || fail "ferry-perf $2 -> $1 lost or damaged messages"
import json, sys
for r in json.load(open(sys.argv[1])):
    assert r["errors"] == 0 and r["received"] == r["sent"] and r["rounds"] == 2000, r
    assert r["rpc_errors"] == 0 and r["rpc_per_s"] > 0, r
PY
	ok "$2 -> $1: 2000 checked round trips, 200 one-way messages and 2300 RPC calls at 32 B, 1 KiB, 1400 B"
}
exchange b a 10.77.0.2

a_pid=$(cat "$RUN/a.pid")
ferry_uid=$(id -u ferry)
uid=$(awk '/^Uid:/ {print $2 " " $3 " " $4 " " $5}' "/proc/$a_pid/status")
[[ $uid == "$ferry_uid $ferry_uid $ferry_uid $ferry_uid" ]] ||
	fail "ferryd on ferry-a runs with Uid $uid, expected $ferry_uid (ferry)"
ok "ferryd on ferry-a carries traffic as uid $ferry_uid (ferry) in every Uid field"

exchange a b 10.77.0.1

# -- sessions that cannot be opened --
t0=$(date +%s%N)
"$LAB" exec a "$PERF" -r client -H 10.77.0.99 -n 10 --no-floor --timeout-ms 10000 \
	>/dev/null 2>"$TMP/unreach.err" && fail "a session to 10.77.0.99 (nobody) opened"
ms=$((($(date +%s%N) - t0) / 1000000))
grep -q "host unreachable" "$TMP/unreach.err" || { cat "$TMP/unreach.err"; fail "no 'unreachable' reason"; }
((ms < 8000)) || fail "unreachable took $ms ms"
ok "a session to an address nobody answers fails 'host unreachable' after $ms ms"

"$LAB" exec a "$PERF" -r client -H 10.77.0.2 -S nobody-here -n 10 --no-floor --timeout-ms 300 \
	>/dev/null 2>"$TMP/nolisten.err" && fail "a session to an unused service opened"
grep -q "nobody listens" "$TMP/nolisten.err" || { cat "$TMP/nolisten.err"; fail "no 'nobody listens' reason"; }
ok "a session to a service nobody listens on is refused: nobody listens on that service"

# -- malformed traffic from the kernel host --
"$STAT" --shm-dir /dev/shm/ferry-lab-a --json >"$TMP/before.json" || fail "ferry-stat on ferry-a"
ip netns exec ferry-k python3 "$NETLAB" bad-frames fk0 02:77:00:00:00:01 10.77.0.3 10.77.0.1 31850 \
	>"$TMP/expect" || fail "sending malformed frames"
sleep 0.5 # counters reach the status file every 100 ms
"$STAT" --shm-dir /dev/shm/ferry-lab-a --json >"$TMP/after.json" || fail "ferry-stat on ferry-a"
python3 - "$TMP/before.json" "$TMP/after.json" "$TMP/expect" <<'PY' || fail "drop counters"
import json, sys
b = json.load(open(sys.argv[1]))["counters"]
a = json.load(open(sys.argv[2]))["counters"]
bad = 0
for line in open(sys.argv[3]):
    _, name, n = line.split()
    key = name.replace("net.drop.", "drop.")
    got = a.get(key, 0) - b.get(key, 0)
    # other kernel chatter may add to a reason, never take away
    ok = got >= int(n)
    bad += not ok
    print("%s %s: expected %s, counted %d" % ("ok  " if ok else "FAIL", key, n, got))
sys.exit(bad != 0)
PY
ok "every malformed frame was counted under its drop reason"
exchange b a 10.77.0.2
ok "ferryd still serves sessions after the malformed traffic"

# -- applications in their own event loop, across hosts; sparse, so the
#    daemons sleep between messages --
if [[ $LAB_PMD == tap ]]; then
	grep -q "idle: an idle ferryd sleeps until net_tap0" "$RUN/a.log" ||
		{ cat "$RUN/a.log"; fail "ferry-a does not say it sleeps on net_tap's receive interrupts"; }
else
	grep -q "idle: net_af_packet0 (net_af_packet) has no receive interrupts" "$RUN/a.log" ||
		{ cat "$RUN/a.log"; fail "ferry-a does not say net_af_packet has no receive interrupts"; }
fi
"$LAB" exec b "$FDPP" -r server --timeout-ms 5000 >"$TMP/fds.log" 2>&1 &
SPID=$!
"$LAB" exec a "$FDPP" -r client -H 10.77.0.2 -n 300 -s 200 --gap-us 3000 --timeout-ms 3000 \
	>"$TMP/fdc.log" 2>&1 || { cat "$TMP/fdc.log" "$TMP/fds.log"; fail "ferry-fd-pingpong across hosts"; }
wait "$SPID" || { cat "$TMP/fds.log"; fail "ferry-fd-pingpong server"; }
SPID=
ok "epoll-driven clients on ferry_fd() across hosts, 3 ms apart: $(cat "$TMP/fdc.log"); $(cat "$TMP/fds.log")"

# an idle ferryd: asleep until its tick, or napping every idle.sleep_us
sleeps() { "$STAT" --shm-dir /dev/shm/ferry-lab-a --json | python3 -c \
	"import json,sys; print(json.load(sys.stdin)['counters'].get('daemon.loop_sleeps', 0))"; }
s0=$(sleeps)
sleep 2
s1=$(sleeps)
if [[ $LAB_PMD == tap ]]; then
	# the tick, once a second, and ARP's timers
	(((s1 - s0) < 100)) || fail "an idle ferryd on net_tap went to sleep $((s1 - s0)) times in 2 s"
	ok "an idle ferryd on net_tap stays asleep: $((s1 - s0)) sleeps in 2 s"
else
	(((s1 - s0) > 200)) || fail "an idle ferryd on net_af_packet went to sleep only $((s1 - s0)) times in 2 s"
	ok "an idle ferryd on net_af_packet naps and polls: $((s1 - s0)) sleeps in 2 s"
fi

# -- fault injection, seeded: ferry-a drops, duplicates, reorders and
#    corrupts what it receives; the kernel host's pings show it --
"$LAB" down >/dev/null 2>&1 || fail "lab.sh down"
UP=0
LAB_FERRYD_ARGS="--fault.seed=7 --fault.rx_drop=0.2 --fault.rx_dup=0.1 --fault.rx_reorder=0.1 --fault.rx_corrupt=0.1" \
	"$LAB" --build "$BUILD" up >"$TMP/up.log" 2>&1 || { cat "$TMP/up.log"; fail "lab.sh up with faults"; }
UP=1
grep -q "fault injection is on (seed 7)" "$RUN/a.log" || fail "ferry-a does not say fault injection is on"
ip netns exec ferry-k ping -c 100 -i 0.01 -W 1 10.77.0.1 >"$TMP/ping" 2>&1
sleep 0.3
"$STAT" --shm-dir /dev/shm/ferry-lab-a --json >"$TMP/faults.json" || fail "ferry-stat on ferry-a"
python3 - "$TMP/faults.json" "$TMP/ping" <<'PY' || { cat "$TMP/ping"; fail "fault injection"; }
import json, re, sys
c = json.load(open(sys.argv[1]))["counters"]
ping = open(sys.argv[2]).read()
for a in ("drop", "dup", "reorder", "corrupt"):
    assert c.get("fault.rx_" + a, 0) > 0, "fault.rx_%s not counted" % a
# every corrupted frame fails a checksum or a header check: counted as a drop
drops = sum(v for k, v in c.items() if k.startswith("drop."))
assert drops >= c["fault.rx_corrupt"], (drops, c["fault.rx_corrupt"])
m = re.search(r"(\d+) packets transmitted, (\d+) received, \+(\d+) duplicates", ping)
assert m, "ping saw no duplicates"
sent, got, dup = map(int, m.groups())
assert 0 < got < sent and dup > 0, (sent, got, dup)
print("faults: %s; ping %d sent, %d answered, %d duplicates" % (
    {k: v for k, v in c.items() if k.startswith("fault.")}, sent, got, dup))
PY
ok "fault injection on ferry-a: drops, duplicates, reordering and corruption, each counted"

"$LAB" down >/dev/null 2>&1 || fail "lab.sh down"
UP=0
[[ -z $(ip netns list | grep -E '^ferry-(a|b|k|sw)\b') ]] || fail "namespaces left after lab.sh down"
ok "lab down, nothing left"
echo "twohost: all checks passed"
