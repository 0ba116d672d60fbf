#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Secure channels across two hosts (scripts/lab.sh), each ferryd with its
# own key (ferryd --gen-key) and the other's in security.trusted_peers:
#   - security.mode = encrypt on both: ferry-xfer sends messages of 1 B ..
#     1 MiB from a to b with 1 % of received packets dropped, 1 %
#     duplicated and 2 % reordered; each arrives once, in order, intact;
#     both daemons agreed keys, none of their packets failed its tag, and
#     the duplicates were caught by the replay window;
#   - ferry-b's daemon killed and started again (keys gone with it): a new
#     transfer works at once;
#   - a with encrypt, b with none: the session is refused, the client is
#     told the modes differ, and b warned at start that it runs none;
#   - b trusting another key than a's: refused, "do not trust".
#
# usage: secure.sh LAB_SH BUILD_DIR
# exit:  0 pass, 1 fail, 77 skip (no root, no namespaces, a lab already up,
#        DPDK cannot start)
set -u

LAB=$1
BUILD=$2
XFER=$BUILD/tests/integration/ferry-xfer
STAT=$BUILD/client-lib/tools/ferry-stat
FERRYD=$BUILD/daemon/ferryd
TMP=$(mktemp -d /tmp/ferry-secure.XXXXXX)
# shellcheck disable=SC2034 # lab_common.sh keeps it
UP=0

# shellcheck source=lab_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_common.sh"

trap lab_cleanup EXIT

lab_preflight "$XFER" "$STAT" "$FERRYD"

lab_keys a b c
A_IP=10.77.0.1
B_IP=10.77.0.2

# xfer NAME COUNT SEED: a checked transfer a -> b; 0 when every message
# arrived intact and the sender got its answer
xfer() {
	local name=$1 src rrc
	"$LAB" exec b "$XFER" recv --service "$name" --count "$2" --seed "$3" --max-size 1M \
		--timeout-ms 60000 >"$TMP/$name.recv" 2>"$TMP/$name.recv.err" &
	local rpid=$!
	for _ in $(seq 50); do
		grep -q "listening" "$TMP/$name.recv.err" 2>/dev/null && break
		sleep 0.1
	done
	"$LAB" exec a "$XFER" send --host "$B_IP" --service "$name" --count "$2" --seed "$3" \
		--max-size 1M --timeout-ms 60000 >"$TMP/$name.send" 2>"$TMP/$name.send.err"
	src=$?
	wait "$rpid"
	rrc=$?
	((src == 0 && rrc == 0)) && return 0
	echo "send exit $src, recv exit $rrc"
	cat "$TMP/$name.send.err" "$TMP/$name.recv.err"
	return 1
}

# refused NAME REASON: a's session to b must fail, saying REASON
refused() {
	"$LAB" exec b "$XFER" recv --service "$1" --count 1 --seed 1 --timeout-ms 3000 \
		>/dev/null 2>&1 &
	local rpid=$!
	sleep 0.3
	"$LAB" exec a "$XFER" send --host "$B_IP" --service "$1" --count 1 --seed 1 \
		--timeout-ms 5000 >/dev/null 2>"$TMP/$1.err"
	local rc=$?
	kill -TERM "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	((rc != 0)) || fail "$1: the session was not refused"
	grep -q "cannot open a session to $1 on $B_IP: $2" "$TMP/$1.err" ||
		{ cat "$TMP/$1.err"; fail "$1: the sender was not told \"$2\""; }
}

# -- encrypt on both, a lossy link --
lab_sec_conf a encrypt b "$B_IP"
lab_sec_conf b encrypt a "$A_IP/32"
lab_up_conf "--fault.seed=91 --fault.rx_drop=0.01 --fault.rx_dup=0.01 --fault.rx_reorder=0.02"
for h in a b; do
	grep -q "security.mode encrypt: our public key $(cat "$TMP/$h.pub")" "/run/ferry-lab/$h.log" ||
		{ cat "/run/ferry-lab/$h.log"; fail "ferry-$h does not run encrypt with its key"; }
done
t0=$(date +%s%N)
xfer enc 300 7 || fail "a checked transfer over encrypt"
ms=$((($(date +%s%N) - t0) / 1000000))
sleep 0.2 # the counters reach the status file every 100 ms
for h in a b; do
	other=$([[ $h == a ]] && echo "$B_IP" || echo "$A_IP")
	grep -q "security: $other authenticated; packets encrypted with" "/run/ferry-lab/$h.log" ||
		{ cat "/run/ferry-lab/$h.log"; fail "ferry-$h did not log its channel"; }
	(($(counter remote.handshakes_done "$h") >= 1)) || fail "ferry-$h agreed no keys"
	(($(counter remote.rx_auth_failed "$h") == 0)) || fail "ferry-$h: packets failed their tags"
done
replays=$(($(counter remote.rx_replayed a) + $(counter remote.rx_replayed b)))
dups=$(($(counter fault.rx_dup a) + $(counter fault.rx_dup b)))
((dups == 0 || replays > 0)) || fail "$dups packets duplicated, none caught as a replay"
ok "encrypt: 300 messages of 1 B .. 1 MiB verified in $ms ms at 1 % drop, dup, reorder; $(grep -o 'encrypted with [A-Za-z0-9-]*' /run/ferry-lab/a.log | head -1); $replays duplicates dropped as replays"

# -- ferry-b restarts: its keys are gone; the next transfer works --
"$LAB" kill b >/dev/null 2>&1 || fail "lab.sh kill b"
LAB_FERRYD_ARGS_B="--config=$TMP/b.conf" "$LAB" start b >"$TMP/start.log" 2>&1 ||
	{ cat "$TMP/start.log"; fail "lab.sh start b"; }
t0=$(date +%s%N)
xfer again 50 8 || fail "a transfer after ferry-b restarted"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "ferry-b restarted: new keys, 50 messages verified in $ms ms"
lab_down

# -- a mode mismatch --
lab_sec_conf b none a "$A_IP"
lab_up_conf ""
refused mismatch "the ferryds' security modes differ"
grep -q "security.mode is none: packets between ferryds are neither authenticated nor encrypted" \
	/run/ferry-lab/b.log || fail "ferry-b did not warn that it runs security.mode none"
ok "a encrypt, b none: refused, \"the ferryds' security modes differ\"; b warned at start"
lab_down

# -- b trusts another key for a's address --
lab_sec_conf b encrypt c "$A_IP"
lab_up_conf ""
refused untrusted "the ferryds do not trust each other's keys"
grep -q "10.77.0.1 offers key $(cat "$TMP/a.pub"), which security.trusted_peers does not trust at all" \
	/run/ferry-lab/b.log || { cat /run/ferry-lab/b.log; fail "ferry-b did not name the key it refused"; }
ok "b trusts another key for a: refused, \"do not trust each other's keys\"; b named a's key"
lab_down
ok "lab down, nothing left"
