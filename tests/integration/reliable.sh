#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Reliable sessions across two hosts (scripts/lab.sh: ferry-a and ferry-b,
# each a ferryd on its veth through net_af_packet, or with LAB_PMD=tap
# through net_tap, whose receive interrupts the idle daemons sleep on),
# with the daemons' own seeded fault injection:
#   - integrity: ferry-xfer sends messages of 1 B .. 8 MiB (log-uniform
#     sizes, every byte a function of seed and index) from a to b at 0 %,
#     1 %, 5 % and 20 % drop on every received packet, with 1 % duplicated,
#     2 % reordered and 0.5 % corrupted (one bit flipped; the checksum
#     catches it, so it is one more loss): each message must arrive once, in order, intact,
#     before a time bound;
#     at 5 %, also a sender that closes its session and exits right after
#     its last send: everything still arrives, then "closed by the peer";
#   - a reader that stops for 3 s: the sender is held back (ferry_send()
#     says -EAGAIN), nothing is lost, and neither daemon's memory grows
#     beyond its rings and one send buffer;
#   - the peer's ferryd killed mid-transfer: the sender sees its session go
#     down, "timed out", within transport.peer_timeout_ms (2 s here) plus
#     slack; the restarted ferryd accepts a new session at once;
#   - the opener's ferryd killed and restarted at once: its first new
#     session carries the dead one's id, yet both work out: the new one
#     carries messages and the receiver of the old one is told it ended.
#
# usage: [LAB_PMD=af_packet|tap] reliable.sh LAB_SH BUILD_DIR
#        (RELIABLE_ONLY=stall skips the integrity runs; RELIABLE_ONLY=reset
#        runs only the device-reset test below; RELIABLE_SHORT=1, the
#        shorter pass for the second PMD, runs the integrity checks at 5 %
#        drop only and skips the stopped reader)
# exit:  0 pass, 1 fail, 77 skip (no root, no namespaces, a lab already up,
#        DPDK cannot start)
set -u

LAB=$1
BUILD=$2
XFER=$BUILD/tests/integration/ferry-xfer
STAT=$BUILD/client-lib/tools/ferry-stat
TMP=$(mktemp -d /tmp/ferry-reliable.XXXXXX)
export LAB_PMD=${LAB_PMD:-af_packet}
LEVELS=("0 200" "0.01 200" "0.05 120" "0.2 60")
[[ -n ${RELIABLE_SHORT:-} ]] && LEVELS=("0.05 120")
# rings for 8 MiB messages; at 20 % loss both ways, ARP and OPEN may need
# a few rounds: open_timeout_ms gives them 10 s
BIG="--ipc.max_message_size=8388608 --ipc.client_ring_size=33554432"
BIG+=" --ipc.session_ring_size=33554432 --transport.open_timeout_ms=10000"

# shellcheck source=lab_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_common.sh"

trap lab_cleanup EXIT

lab_preflight "$XFER" "$STAT"

# send NAME ARG...: ferry-xfer send from ferry-a to service NAME on ferry-b,
# output in $TMP/NAME.send and .send.err
send() {
	local name=$1
	shift
	"$LAB" exec a "$XFER" send --host 10.77.0.2 --service "$name" "$@" >"$TMP/$name.send" \
		2>"$TMP/$name.send.err"
}

# xfer NAME COUNT SEED RECV_EXTRA SEND_EXTRA: one transfer a -> b; 0 if
# the receiver verified every message and the sender got its answer
xfer() {
	local name=$1 count=$2 seed=$3 rx=$4 tx=$5 rrc src
	# shellcheck disable=SC2086 # the extras are word lists
	recv_bg "$name" --count "$count" --seed "$seed" --timeout-ms 120000 --json $rx
	# shellcheck disable=SC2086
	send "$name" --count "$count" --seed "$seed" --timeout-ms 120000 --json $tx
	src=$?
	wait "$RPID"
	rrc=$?
	if ((src != 0 || rrc != 0)); then
		echo "send exit $src, recv exit $rrc"
		cat "$TMP/$name.send.err" "$TMP/$name.recv.err"
		return 1
	fi
	return 0
}

only=${RELIABLE_ONLY:-}

# -- device resets under checked transfers (RELIABLE_ONLY=reset, the
# port_reset test): fault.port_reset_ms raises the port's reset event,
# as an ENA does when it times out, and each daemon stops, resets where
# the driver can, configures and starts its port again (net_af_packet:
# removed and probed again, its only way back) while messages flow --
if [[ $only == reset ]]; then
	lab_up "$BIG --fault.port_reset_ms=300"
	t0=$(date +%s%N)
	xfer reset 300 31 "" "" || fail "checked transfer across port resets"
	ms=$((($(date +%s%N) - t0) / 1000000))
	sleep 0.2 # the counters reach the status file every 100 ms
	for h in a b; do
		pid=$(cat "/run/ferry-lab/$h.pid")
		kill -0 "$pid" 2>/dev/null || fail "ferry-$h's ferryd is gone"
		resets=$(counter port.resets "$h")
		injected=$(counter fault.port_resets "$h")
		failures=$(counter port.reset_failures "$h")
		((failures == 0)) || fail "ferry-$h: $failures failed recoveries"
		((resets >= 3)) || fail "ferry-$h recovered from $resets resets in $ms ms, wanted 3 or more"
		((resets >= injected - 1 && resets <= injected)) ||
			fail "ferry-$h: $injected resets raised, $resets recovered"
		grep -q "device reset $resets recovered" "/run/ferry-lab/$h.log" ||
			fail "ferry-$h did not log its resets"
		# after dropping root it keeps CAP_NET_RAW and CAP_NET_ADMIN alone (af_packet's
		# sockets are created again, its flags set) and runs as ferry
		grep -q "^CapEff:[[:space:]]*0000000000003000$" "/proc/$pid/status" ||
			fail "ferry-$h: $(grep CapEff "/proc/$pid/status"), wanted CAP_NET_RAW and CAP_NET_ADMIN only"
		[[ $(awk '/^Uid:/ {print $2}' "/proc/$pid/status") == "$(id -u ferry)" ]] ||
			fail "ferry-$h does not run as ferry"
		echo "# ferry-$h: $resets resets recovered, retransmitted $(counter remote.tx_retransmits "$h")"
	done
	ok "300 messages verified in $ms ms while both ports were reset every 300 ms; no session went down, both daemons kept only CAP_NET_RAW and CAP_NET_ADMIN"
	lab_down
	ok "lab down, nothing left"
	exit 0
fi

# -- integrity under loss, duplication and reordering --
i=0
for level in "${LEVELS[@]}"; do
	[[ -n $only ]] && break
	read -r drop count <<<"$level"
	i=$((i + 1))
	lab_up "$BIG --fault.seed=$((40 + i)) --fault.rx_drop=$drop --fault.rx_dup=0.01 --fault.rx_reorder=0.02 --fault.rx_corrupt=0.005"
	t0=$(date +%s.%N)
	xfer "drop$i" "$count" "$((100 + i))" "" "" || fail "integrity at $drop drop"
	t1=$(date +%s.%N)
	summary=$(python3 - "$TMP/drop$i.recv" "$t0" "$t1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("%d messages, %.1f MB in %.1f s (%.1f MB/s)" % (
    r["messages"], r["bytes"] / 1e6, float(sys.argv[3]) - float(sys.argv[2]), r["mb_per_s"]))
PY
)
	faults="dropped $(( $(counter fault.rx_drop a) + $(counter fault.rx_drop b) )),"
	faults+=" duplicated $(( $(counter fault.rx_dup a) + $(counter fault.rx_dup b) )),"
	faults+=" reordered $(( $(counter fault.rx_reorder a) + $(counter fault.rx_reorder b) )),"
	faults+=" corrupted $(( $(counter fault.rx_corrupt a) + $(counter fault.rx_corrupt b) ));"
	faults+=" retransmitted $(( $(counter remote.tx_retransmits a) + $(counter remote.tx_retransmits b) ))"
	if [[ $drop != 0 ]] && (($(counter remote.tx_retransmits a) == 0)); then
		fail "at $drop drop, ferry-a never retransmitted: the faults did not bite"
	fi
	ok "$(printf '%g' "$(python3 -c "print($drop*100)")") % drop + dup + reorder + corrupt: $summary, every message once, in order, intact; $faults"
	if [[ $drop == 0.05 ]]; then
		# the sender closes right after its last send and exits: its
		# ferryd still delivers everything, then the receiver sees
		# "closed by the peer"
		xfer "close$i" 300 "$((200 + i))" "--close-at-once --max-size 256K" \
			"--close-at-once --max-size 256K" || fail "close right after sending, at $drop drop"
		ok "at 5 % drop, a sender that closes and exits right after its last send: all 300 messages arrive before 'closed by the peer'"
	fi
	lab_down
done

# -- a reader that stops --
[[ (-z $only || $only == stall) && -z ${RELIABLE_SHORT:-} ]] && {
# An ASan build's daemons keep freed blocks in quarantine (256 MiB), which
# would count as growth here; without it their RSS means what it says.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
lab_up "$BIG"
rss_a0=$(rss a)
rss_b0=$(rss b)
recv_bg stall --count 400 --seed 7 --min-size 64K --max-size 1M --stall-after 20 --stall-ms 3000 \
	--timeout-ms 60000 --json
rpid=$RPID
send stall --count 400 --seed 7 --min-size 64K --max-size 1M --timeout-ms 60000 --json &
spid=$!
max_a=$rss_a0
max_b=$rss_b0
while kill -0 "$spid" 2>/dev/null; do
	a=$(rss a)
	b=$(rss b)
	((a > max_a)) && max_a=$a
	((b > max_b)) && max_b=$b
	sleep 0.1
done
wait "$spid" || { cat "$TMP/stall.send.err" "$TMP/stall.recv.err"; fail "stalled reader: sender failed"; }
wait "$rpid" || { cat "$TMP/stall.recv.err"; fail "stalled reader: receiver failed"; }
python3 - "$TMP/stall.send" "$TMP/stall.recv" "$rss_a0" "$max_a" "$rss_b0" "$max_b" <<'PY' ||
import json, sys
s = json.load(open(sys.argv[1]))
r = json.load(open(sys.argv[2]))
a0, a1, b0, b1 = (int(x) for x in sys.argv[3:7])
assert r["stall_ms"] >= 2900, r
assert s["backpressure_waits"] > 0 and s["backpressure_longest_ms"] >= 1500, s
# each daemon: its client's two 32 MiB rings, a send buffer of twice the
# largest message (16 MiB) and what it holds for the reader, at most its
# ring again: 128 MiB is the bound; the figures are printed either way
grow_a, grow_b = (a1 - a0) // 1024, (b1 - b0) // 1024
print("stall: receiver stopped %.0f ms; sender held back %d times, longest %.0f ms; "
      "ferryd RSS grew a %d MiB, b %d MiB" % (r["stall_ms"], s["backpressure_waits"],
                                              s["backpressure_longest_ms"], grow_a, grow_b))
assert grow_a < 128 and grow_b < 128, (grow_a, grow_b)
PY
	fail "stalled reader"
ok "a reader stopped for 3 s holds the sender back; all 400 messages verified; memory bounded"
lab_down
}

# -- the peer's ferryd killed mid-transfer, then restarted --
lab_up "$BIG --transport.peer_timeout_ms=2000 --transport.keepalive_ms=200"
recv_bg doomed --count 100000 --seed 9 --max-size 64K --timeout-ms 60000
rpid=$RPID
send doomed --count 100000 --seed 9 --max-size 64K --timeout-ms 60000 &
spid=$!
sleep 1
"$LAB" kill b >"$TMP/kill.log" 2>&1 || { cat "$TMP/kill.log"; fail "lab.sh kill b"; }
t0=$(date +%s%N)
wait "$spid"
src=$?
t1=$(date +%s%N)
wait "$rpid" 2>/dev/null
ms=$(((t1 - t0) / 1000000))
((src == 1)) || { cat "$TMP/doomed.send.err"; fail "sender exit $src after its peer died, wanted 1"; }
grep -q "timed out" "$TMP/doomed.send.err" ||
	{ cat "$TMP/doomed.send.err"; fail "the sender was not told its peer timed out"; }
((ms <= 4000)) || fail "session down ${ms} ms after the peer died (peer_timeout_ms 2000)"
ok "peer ferryd killed mid-transfer: the sender saw 'timed out' after ${ms} ms (peer_timeout_ms 2000)"
LAB_FERRYD_ARGS="$BIG --transport.peer_timeout_ms=2000 --transport.keepalive_ms=200" \
	"$LAB" start b >"$TMP/start.log" 2>&1 || { cat "$TMP/start.log"; fail "lab.sh start b"; }
xfer again 200 11 "--max-size 1M" "--max-size 1M" || fail "a session to the restarted ferryd"
ok "the restarted ferryd on ferry-b accepts a new session: 200 messages verified"

# -- the opener's ferryd killed and restarted at once: its new session
# reuses the dead one's id, and the receiver's old session must end --
recv_bg orphan --count 100000 --seed 13 --max-size 64K --timeout-ms 60000
rpid=$RPID
send orphan --count 100000 --seed 13 --max-size 64K --timeout-ms 60000 &
spid=$!
sleep 1
"$LAB" kill a >"$TMP/kill.log" 2>&1 || { cat "$TMP/kill.log"; fail "lab.sh kill a"; }
wait "$spid" 2>/dev/null
LAB_FERRYD_ARGS="$BIG --transport.peer_timeout_ms=2000 --transport.keepalive_ms=200" \
	"$LAB" start a >"$TMP/start.log" 2>&1 || { cat "$TMP/start.log"; fail "lab.sh start a"; }
xfer fresh 200 15 "--max-size 1M" "--max-size 1M" || fail "a session from the restarted ferryd"
wait "$rpid"
rrc=$?
if ((rrc != 1)) || ! grep -q "session ended" "$TMP/orphan.recv.err"; then
	cat "$TMP/orphan.recv.err"
	fail "the orphaned receiver (exit $rrc) was not told its session ended"
fi
ok "opener's ferryd killed and restarted: a new session verified 200 messages, and the orphaned receiver was told: $(sed -n 's/.*session ended (\(.*\)) after.*/\1/p' "$TMP/orphan.recv.err")"
lab_down
ok "lab down, nothing left"
