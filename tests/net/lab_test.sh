#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The netns lab end to end: scripts/lab.sh brings it up with the DPDK test
# responder (tests/net/net_responder.c) in place of ferryd on fa0 and fb0,
# the kernel host ferry-k pings both, `lab.sh status` shows every part, the
# kernel UDP baseline (tests/bench/udp_pingpong) runs between ferry-a and
# ferry-b over the same veths in both modes and reports sane JSON, and
# `lab.sh down` leaves no namespace, link, process or file behind.
#
# usage: lab_test.sh LAB_SH BUILD_DIR UDP_PINGPONG
# exit:  0 pass, 1 fail, 77 skip (no root, no netns/veth, tools missing, a
#        lab already up, DPDK cannot start)
set -u

LAB=$1
BUILD=$2
PP=$3
NAMES="ferry-a ferry-b ferry-k ferry-sw"
LINKS="fa0 fb0 fk0 sw-a0 sw-b0 sw-k0 ferry-br0"
TMP=$(mktemp -d /tmp/ferry-lab-test.XXXXXX)
UP=0
SPID=

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

cleanup() {
	if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
		kill -TERM "$SPID" 2>/dev/null
		wait "$SPID" 2>/dev/null
	fi
	[ "$UP" = 1 ] && "$LAB" down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, DPDK)"
for t in ip ping ethtool python3 timeout; do
	command -v "$t" >/dev/null || skip "$t is missing (scripts/install-deps.sh installs it)"
done
[ -x "$BUILD/tests/net/ferry-net-responder" ] || fail "$BUILD/tests/net/ferry-net-responder is not built"
[ -x "$PP" ] || fail "$PP is not built"
# One test at a time owns the lab (lab_common.sh's turn lock), then: the
# lab has fixed names, so never take down a lab someone else brought up.
# It skips rather than wait for its turn past its meson timeout (120 s).
LAB_TURN_WAIT_S=${LAB_TURN_WAIT_S:-90}
# shellcheck source=../integration/lab_common.sh
. "$(dirname "$0")/../integration/lab_common.sh"
lab_take_turn
for n in $NAMES; do
	[ -e "/run/netns/$n" ] && skip "namespace $n exists: a lab is up already ($LAB down frees it)"
done
[ -e /run/ferry-lab ] && skip "/run/ferry-lab exists: a lab is up already ($LAB down frees it)"
ip netns add "ferry-lab-probe-$$" 2>/dev/null || skip "cannot create a network namespace here"
ip netns del "ferry-lab-probe-$$"

failed=0
check() { # description, command...
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "not ok: $what"; failed=1; fi
}

echo "--- lab.sh up --responder"
UP=1
"$LAB" --build "$BUILD" up --responder >"$TMP/up" 2>&1
rc=$?
sed 's/^/  | /' "$TMP/up"
if [ "$rc" = 77 ]; then
	skip "DPDK cannot start here: $(grep -i 'EAL\|error' "$TMP/up" | tail -1)"
fi
[ "$rc" = 0 ] || fail "lab.sh up exited $rc"
says() { # pattern, command...: the command's output matches
	local pat=$1 out
	shift
	out=$("$@" 2>&1)
	grep -q "$pat" <<<"$out"
}
lacks() { ! grep -q "$2" <<<"$1"; } # text, pattern
# A process that has exited, reaped or not yet (its parent is init now).
dead() { [ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
check "up again says it is up" says 'up already' "$LAB" --build "$BUILD" up --responder

echo "--- ferry-k pings both responders"
for ip in 10.77.0.1 10.77.0.2; do
	"$LAB" exec k ping -c 3 -i 0.2 -W 2 "$ip" >"$TMP/ping" 2>&1
	sed 's/^/  | /' "$TMP/ping"
	check "ping $ip: 3 replies" grep -q ' 3 received' "$TMP/ping"
done

echo "--- lab.sh status"
"$LAB" status >"$TMP/status" 2>&1
rc=$?
sed 's/^/  | /' "$TMP/status"
check "status exits 0" [ "$rc" = 0 ]
for n in $NAMES; do
	check "status shows namespace $n" grep -q "^$n:" "$TMP/status"
done
for l in $LINKS; do
	check "status shows link $l" grep -q "link ${l}[@ ]" "$TMP/status"
done
check "status shows 10.77.0.3/24 on fk0" grep -q 'addr fk0.*10\.77\.0\.3/24' "$TMP/status"
check "status shows two running daemons" [ "$(grep -c 'daemon responder pid [0-9]* running' "$TMP/status")" = 2 ]
check "status says up" grep -q '^lab: up' "$TMP/status"
check "exec sets FERRY_SOCKET" [ "$("$LAB" exec b printenv FERRY_SOCKET)" = /run/ferry-lab/b.sock ]

echo "--- kernel UDP baseline, ferry-a -> ferry-b"
"$LAB" baseline-addrs on >/dev/null 2>&1 || fail "lab.sh baseline-addrs on failed"
for mode in block busy; do
	timeout 60 "$LAB" exec b "$PP" --server 31999 --bind 10.77.1.2 --once --idle-exit-s 30 \
		--mode "$mode" >"$TMP/server" 2>&1 &
	SPID=$!
	timeout 60 "$LAB" exec a "$PP" --client 10.77.1.2 31999 --mode "$mode" --size 32 \
		--count 2000 --warmup 200 --timeout-ms 3000 --json >"$TMP/json" 2>"$TMP/client"
	rc=$?
	wait "$SPID"
	src=$?
	SPID=
	echo "  | $mode: $(cat "$TMP/json")"
	check "udp_pingpong $mode: client exits 0 (got $rc)" [ "$rc" = 0 ]
	[ "$rc" = 0 ] || sed 's/^/  client| /' "$TMP/client"
	check "udp_pingpong $mode: server exits 0 (got $src)" [ "$src" = 0 ]
	[ "$src" = 0 ] || sed 's/^/  server| /' "$TMP/server"
	check "udp_pingpong $mode: sane JSON" python3 - "$TMP/json" "$mode" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["rtt_ns"]
q = [t[k] for k in ("p50", "p90", "p99", "p999", "max")]
ok = (r["mode"] == sys.argv[2] and r["size"] == 32
      and all(isinstance(v, int) for v in q)
      and 0 < q[0] and q == sorted(q)       # ordered quantiles
      and q[0] < 100_000_000                # a round trip under 100 ms
      and r["msgs_per_s"] > 1000
      and r["blast"]["sent"] == 2000
      and 0 < r["blast"]["received"] <= 2000)
sys.exit(0 if ok else 1)
EOF
done
"$LAB" baseline-addrs off >/dev/null 2>&1 || fail "lab.sh baseline-addrs off failed"
check "baseline addresses gone" lacks "$(ip -n ferry-a -4 addr show dev fa0; ip -n ferry-b -4 addr show dev fb0)" inet

echo "--- lab.sh down"
pids="$(cat /run/ferry-lab/a.pid /run/ferry-lab/b.pid 2>/dev/null)"
"$LAB" down >"$TMP/down" 2>&1
rc=$?
UP=0
sed 's/^/  | /' "$TMP/down"
check "down exits 0" [ "$rc" = 0 ]
ns=$(ip netns list)
for n in $NAMES; do
	check "namespace $n is gone" lacks "$ns" "^$n\( \|$\)"
done
links=$(ip -o link show)
for l in $LINKS; do
	check "no link $l in the root namespace" lacks "$links" ": ${l}[@:]"
done
for p in $pids; do
	check "responder $p is gone" dead "$p"
done
for d in /run/ferry-lab /dev/shm/ferry-lab-a /dev/shm/ferry-lab-b /var/run/dpdk/ferry-lab-a \
	/var/run/dpdk/ferry-lab-b; do
	check "$d is gone" [ ! -e "$d" ]
done
check "down again is a no-op" says 'nothing to do' "$LAB" down

[ "$failed" = 0 ] || fail "some checks failed"
echo "PASS"
