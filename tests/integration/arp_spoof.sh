#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# ARP spoofing against a live session, in the lab (scripts/lab.sh: ferryds
# on ferry-a 10.77.0.1 and ferry-b 10.77.0.2, the kernel host ferry-k):
#   - while ferry-xfer sends checked messages from a to b, ferry-k claims
#     10.77.0.2 for its own MAC at ferry-a, every 10 ms: unsolicited
#     replies, gratuitous ARP (as request and as reply) and requests for
#     10.77.0.1 naming 10.77.0.2 as sender. The session's packets keep
#     a's entry for b confirmed, so every claim is refused: the transfer
#     completes intact, the session never goes down, a's arp.arp_conflicts
#     rose by the claims and its log names the IP and both MACs;
#   - ferry-a restarted with b as a static neighbour (net.static_neighbors,
#     from the environment): the same transfer under the same claims, and
#     a never sends an ARP request.
#
# usage: arp_spoof.sh LAB_SH BUILD_DIR NET_LAB_PY
# exit:  0 pass, 1 fail, 77 skip (no root, no namespaces, a lab already up,
#        DPDK cannot start)
set -u

LAB=$1
BUILD=$2
NETLAB=$3
XFER=$BUILD/tests/integration/ferry-xfer
STAT=$BUILD/client-lib/tools/ferry-stat
RUN=/run/ferry-lab
TMP=$(mktemp -d /tmp/ferry-arp-spoof.XXXXXX)
UP=0
MAC_A=02:77:00:00:00:01 # lab.sh's fixed MACs
MAC_B=02:77:00:00:00:02
MAC_K=02:77:00:00:00:03

# shellcheck source=lab_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_common.sh"

trap lab_cleanup EXIT
lab_preflight "$XFER" "$STAT"
SECONDS=0 # the lab is ours from here
# shellcheck disable=SC2119 # no extra ferryd flags
lab_up ""

# counters HOST: that ferryd's counters, as JSON
counters() {
	"$STAT" --shm-dir "/dev/shm/ferry-lab-$1" --once --json || fail "ferry-stat on ferry-$1"
}

# attacked NAME: a checked transfer a -> b while ferry-k claims 10.77.0.2
# at ferry-a; its counters before and after in $TMP/NAME.{before,after}
attacked() {
	local name=$1 rpid spid kpid src rrc
	counters a >"$TMP/$name.before"
	# the reader stops for 2 s after message 100, so the session lives
	# (quiet, held back by flow control) through the claims for certain
	"$LAB" exec b "$XFER" recv --service "$name" --count 400 --seed 5 --max-size 256K \
		--stall-after 100 --stall-ms 2000 --timeout-ms 60000 --json >"$TMP/$name.recv" \
		2>"$TMP/$name.recv.err" &
	rpid=$!
	for _ in $(seq 50); do
		grep -q "listening" "$TMP/$name.recv.err" 2>/dev/null && break
		sleep 0.1
	done
	"$LAB" exec a "$XFER" send --host 10.77.0.2 --service "$name" --count 400 --seed 5 \
		--max-size 256K --timeout-ms 60000 --json >"$TMP/$name.send" 2>"$TMP/$name.send.err" &
	spid=$!
	sleep 0.3 # the session is up, and b's packets have confirmed a's entry
	ip netns exec ferry-k python3 "$NETLAB" arp-spoof fk0 "$MAC_A" 10.77.0.1 10.77.0.2 20 \
		>"$TMP/$name.spoof" 2>&1 &
	kpid=$!
	wait "$spid"
	src=$?
	kill -TERM "$kpid" 2>/dev/null
	wait "$kpid"
	wait "$rpid"
	rrc=$?
	if ((src != 0 || rrc != 0)); then
		cat "$TMP/$name.send.err" "$TMP/$name.recv.err" "$TMP/$name.spoof"
		fail "$name: the transfer under ARP spoofing failed (send exit $src, recv exit $rrc)"
	fi
	sleep 0.3 # counters reach the status file every 100 ms
	counters a >"$TMP/$name.after"
	counters b >"$TMP/$name.b"
	check_sessions "$name"
}

# check_sessions NAME: no session ended on either side during NAME, and
# no packet of a's went unsent for want of b's MAC
check_sessions() {
	python3 - "$TMP/$1.before" "$TMP/$1.after" "$TMP/$1.b" "$TMP/$1.recv" "$TMP/$1.spoof" <<'PY' ||
import json, re, sys
b, a, bb = (json.load(open(f))["counters"] for f in sys.argv[1:4])
r = json.load(open(sys.argv[4]))
rounds = int(re.search(r"arp-spoof (\d+) rounds", open(sys.argv[5]).read()).group(1))
print("# %d messages verified, reader stopped %.0f ms; ferry-k sent %d rounds of 4 claims; "
      "a counted %d conflicts" % (r["messages"], r["stall_ms"], rounds,
                                  a["arp.arp_conflicts"] - b.get("arp.arp_conflicts", 0)))
assert r["messages"] == 400 and r["stall_ms"] >= 1900, r
assert rounds >= 50, rounds
for k in ("remote.peer_timeouts", "remote.stalled_sessions", "remote.peer_restarts",
          "remote.tx_failed", "port.tx_unreachable"):
    assert a.get(k, 0) - b.get(k, 0) == 0, "ferry-a: %s rose" % k
    assert bb.get(k, 0) == 0, "ferry-b: %s is %d" % (k, bb.get(k, 0))
# each round: an unsolicited reply, two gratuitous ARPs and a spoofed
# request; af_packet may lose a few under load, most must be counted
assert a["arp.arp_conflicts"] - b.get("arp.arp_conflicts", 0) >= 2 * rounds, "too few conflicts"
PY
		fail "$1: sessions or conflicts"
}

# -- a dynamic entry, defended by the session's confirmations --
t0=$(date +%s%N)
attacked dyn
ms=$((($(date +%s%N) - t0) / 1000000))
python3 - "$TMP/dyn.before" "$TMP/dyn.after" <<'PY' || fail "the session never confirmed a's entry for b"
import json, sys
b, a = (json.load(open(f))["counters"] for f in sys.argv[1:3])
assert a["arp.arp_confirmations"] > b.get("arp.arp_confirmations", 0)
PY
grep -q "ARP conflict: $MAC_K claims 10.77.0.2, which is at $MAC_B (confirmed by its sessions)" \
	"$RUN/a.log" || { grep ARP "$RUN/a.log"; fail "ferry-a did not log the conflict"; }
lines=$(grep -c "ARP conflict" "$RUN/a.log")
((lines <= ms / 1000 + 2)) || fail "$lines conflict lines in $ms ms: not rate-limited"
ok "ferry-k claimed 10.77.0.2 at ferry-a during a checked transfer: 400 messages intact, every claim refused and counted, $lines log lines"

# -- a static entry: never asked for, never replaced --
"$LAB" kill a >"$TMP/kill.log" 2>&1 || { cat "$TMP/kill.log"; fail "lab.sh kill a"; }
FERRY_NET_STATIC_NEIGHBORS="10.77.0.2 $MAC_B" "$LAB" start a >"$TMP/start.log" 2>&1 ||
	{ cat "$TMP/start.log" "$RUN/a.log"; fail "lab.sh start a with a static neighbour"; }
grep -q "ARP: 10.77.0.2 is at $MAC_B (static)" "$RUN/a.log" ||
	{ cat "$RUN/a.log"; fail "ferry-a does not say 10.77.0.2 is static"; }
attacked static
requests=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counters"]["arp.arp_requests_sent"])' \
	"$TMP/static.after")
((requests == 0)) || fail "ferry-a sent $requests ARP requests for a static neighbour"
grep -q "ARP conflict: $MAC_K claims 10.77.0.2, which is at $MAC_B (static)" "$RUN/a.log" ||
	{ grep ARP "$RUN/a.log"; fail "ferry-a did not log the conflict with its static entry"; }
ok "with 10.77.0.2 static on ferry-a: 400 messages intact under the same claims, no ARP request sent"

"$LAB" down >/dev/null 2>&1 || fail "lab.sh down"
UP=0
ok "lab down, nothing left; $SECONDS s with the lab"
