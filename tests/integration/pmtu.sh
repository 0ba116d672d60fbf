#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Path MTU across a router: scripts/lab.sh with LAB_ROUTED_MTU=1280 puts
# ferry-b behind a Linux router (namespace ferry-r) whose link to it has IP
# MTU 1280, while both ferryds' ports stay at 1500 and every ferry packet
# has DF set. A checked transfer from ferry-a to ferry-b (ferry-xfer: every
# message's length and bytes verified) must complete intact:
#   - with the router's ICMP fragmentation needed: ferry-a's path MTU to
#     ferry-b drops to 1280 at the first report (remote.pmtu_icmp_lowered);
#   - with those ICMP messages dropped in the router (nft): ferry-a finds
#     the black hole, 1500 -> 1400 -> 1280 (remote.pmtu_blackhole_lowered),
#     while the router's drop counter shows the reports it swallowed;
#   - with net.peer_mtus saying 1280 for ferry-b's subnet: nothing is too
#     big from the start, so the router has nothing to report.
# Between the cases ferry-a's ferryd restarts, forgetting what it learnt.
# The transfer's time in the first two is printed against the third's.
#
# usage: pmtu.sh LAB_SH BUILD_DIR
# exit:  0 pass, 1 fail, 77 skip (no root, no namespaces, no nft, a lab
#        already up, DPDK cannot start)
set -u

LAB=$1
BUILD=$2
XFER=$BUILD/tests/integration/ferry-xfer
STAT=$BUILD/client-lib/tools/ferry-stat
TMP=$(mktemp -d /tmp/ferry-pmtu.XXXXXX)
B=10.77.2.2
MTU=1280

# shellcheck source=lab_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_common.sh"

trap lab_cleanup EXIT

command -v nft >/dev/null || skip "nft is missing (nftables): run scripts/install-deps.sh"
lab_preflight "$XFER" "$STAT"

LAB_ROUTED_MTU=$MTU lab_up

# counter NAME: one of ferry-a's counters, from its status file (written
# every 100 ms)
counter() {
	"$STAT" --shm-dir /dev/shm/ferry-lab-a --json 2>/dev/null |
		python3 -c "import json,sys; print(json.load(sys.stdin)['counters'].get('$1', 0))"
}

# xfer NAME SEED: 300 checked messages of up to 64 KiB, ferry-a -> ferry-b
xfer() {
	local name=$1 seed=$2 rpid src rrc
	"$LAB" exec b "$XFER" recv --service "$name" --count 300 --seed "$seed" --max-size 64K \
		--timeout-ms 20000 >"$TMP/$name.recv" 2>"$TMP/$name.recv.err" &
	rpid=$!
	for _ in $(seq 50); do
		grep -q "listening" "$TMP/$name.recv.err" 2>/dev/null && break
		sleep 0.1
	done
	"$LAB" exec a "$XFER" send --host "$B" --service "$name" --count 300 --seed "$seed" \
		--max-size 64K --timeout-ms 20000 >"$TMP/$name.send" 2>"$TMP/$name.send.err"
	src=$?
	wait "$rpid"
	rrc=$?
	if ((src != 0 || rrc != 0)); then
		echo "send exit $src, recv exit $rrc"
		cat "$TMP/$name.send.err" "$TMP/$name.recv.err"
		tail -n 20 /run/ferry-lab/a.log
		return 1
	fi
}

# timed NAME SEED: xfer, its time in MS (ms); then a pause, since the
# counters reach the status file every 100 ms
timed() {
	local t0
	t0=$(date +%s%N)
	xfer "$1" "$2" || return 1
	MS=$((($(date +%s%N) - t0) / 1000000))
	sleep 0.3
}

# restart_a: a fresh ferryd on ferry-a (what it learnt of the path gone)
restart_a() {
	"$LAB" kill a >"$TMP/kill.log" 2>&1 || { cat "$TMP/kill.log"; fail "lab.sh kill a"; }
	"$LAB" start a >"$TMP/start.log" 2>&1 || { cat "$TMP/start.log"; fail "lab.sh start a"; }
}

# swallowed: fragmentation-needed messages the router's rule dropped
swallowed() {
	"$LAB" exec r nft list chain inet ferry-pmtu out 2>/dev/null |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

# -- the router says so --
timed icmp 61 || fail "checked transfer across a $MTU-byte link, with ICMP"
ms_icmp=$MS
icmp=$(counter remote.pmtu_icmp_lowered)
seen=$(counter net.icmp_frag_needed)
bh=$(counter remote.pmtu_blackhole_lowered)
((icmp >= 1)) || fail "ICMP: ferry-a's path MTU was not lowered by ICMP ($seen reports seen)"
((bh == 0)) || fail "ICMP: ferry-a also found a black hole ($bh), the reports came too late"
grep -q "path MTU 1500 -> $MTU (ICMP fragmentation needed)" /run/ferry-lab/a.log ||
	fail "ICMP: ferry-a did not log its new path MTU"
ok "ICMP fragmentation needed: 300 messages verified in $ms_icmp ms; $seen reports seen, path MTU lowered $icmp time(s), $(counter remote.tx_fragments) fragments resent"

# -- the router's reports dropped: a black hole --
"$LAB" exec r nft -f - <<EOF || fail "nft rule in ferry-r"
table inet ferry-pmtu {
	chain out {
		type filter hook output priority 0; policy accept;
		icmp type destination-unreachable icmp code frag-needed counter drop
	}
}
EOF
restart_a
timed hole 62 || fail "checked transfer across a $MTU-byte link, ICMP dropped"
ms_hole=$MS
icmp=$(counter remote.pmtu_icmp_lowered)
bh=$(counter remote.pmtu_blackhole_lowered)
gone=$(swallowed)
((${gone:-0} >= 1)) || fail "black hole: the router dropped no ICMP (${gone:-none}): the test tests nothing"
((icmp == 0)) || fail "black hole: ferry-a still heard $icmp ICMP reports"
((bh >= 1)) || fail "black hole: ferry-a never lowered its path MTU"
grep -q -- "-> $MTU (black hole" /run/ferry-lab/a.log ||
	fail "black hole: ferry-a's path MTU did not reach $MTU"
ok "ICMP dropped by the router ($gone): 300 messages verified in $ms_hole ms; black hole found $bh time(s) ($(grep -o 'path MTU [0-9]* -> [0-9]*' /run/ferry-lab/a.log | paste -sd ',' | sed 's/,/, /g')), $(counter remote.pmtu_probes) probes, $(counter remote.rto_timeouts) timeouts, $(counter remote.tx_fragments) fragments resent"

# -- configured: nothing too big to begin with --
gone0=$(swallowed)
FERRY_NET_PEER_MTUS="[\"10.77.2.0/24 $MTU\"]" restart_a
timed conf 63 || fail "checked transfer with net.peer_mtus"
ms_conf=$MS
gone=$(swallowed)
for c in remote.pmtu_icmp_lowered remote.pmtu_blackhole_lowered remote.tx_fragments; do
	(($(counter $c) == 0)) || fail "net.peer_mtus: $c is $(counter $c)"
done
((gone == gone0)) || fail "net.peer_mtus: the router still had $((gone - gone0)) packets too big"
ok "net.peer_mtus = [\"10.77.2.0/24 $MTU\"]: 300 messages verified in $ms_conf ms, not one packet too big"
echo "# transfer time against net.peer_mtus's: ICMP $(python3 -c "print('%.2f' % ($ms_icmp / $ms_conf))")x, black hole $(python3 -c "print('%.2f' % ($ms_hole / $ms_conf))")x"

lab_down
ok "lab down, nothing left"
