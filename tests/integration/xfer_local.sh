#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# ferry-xfer between two processes through a local session of a local-mode
# ferryd (no NIC, no DPDK start-up), each ferryd with its own scratch
# socket directory and shm directory:
#   - 2000 messages of 1 B .. 1 MiB, every byte checked; --max-size stays at
#     its 8 MiB default, so both sides must clamp it to the daemon's 1 MiB
#     alike and say so;
#   - a receiver that stops polling for 2 s after message 100: the sender
#     must wait on back-pressure (and not drop anything) for about as long;
#   - the check itself: a left-out message, a flipped byte, a different
#     seed and a different count are each caught, with the exit code and the
#     line that say what happened; bad arguments exit 64;
#   - a second ferryd with ipc.max_message_size = 8 MiB (rings of 32 MiB):
#     messages up to 8 MiB, no clamp, the JSON summaries.
#
# As root, ferryd drops to nobody:nogroup (as tests/integration/harness.h
# has it), and the clients attach as root; otherwise ferryd and the clients
# run as the same user, which ferryd always admits.
#
# usage: xfer_local.sh FERRYD FERRY_XFER
# exit:  0 pass, 1 fail, 77 skip (no nobody/nogroup as root, no writable
#        /dev/shm)
set -u

FERRYD=$1
XFER=$2
TMP=
SHMS=()
DPIDS=()
PIDS=()

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok - $*"; }

# Stop what this script started, by PID: clients first, then the daemons.
stop_pid() { # PID SIG
	kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
	kill "-$2" "$1" 2>/dev/null
	local _
	for _ in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

cleanup() {
	local p d
	for p in "${PIDS[@]}"; do stop_pid "$p" KILL; done
	for p in "${DPIDS[@]}"; do stop_pid "$p" TERM; done
	for d in "${SHMS[@]}"; do rm -rf "$d"; done
	[[ -n $TMP ]] && rm -rf "$TMP"
}
trap cleanup EXIT
trap "exit 143" TERM INT # so that the EXIT trap runs

[[ -x $FERRYD ]] || fail "no ferryd at $FERRYD"
[[ -x $XFER ]] || fail "no ferry-xfer at $XFER"
[[ -d /dev/shm && -w /dev/shm ]] || skip "/dev/shm is not a writable directory"
PRIVS=()
if [[ $(id -u) -eq 0 ]]; then
	if ! getent passwd nobody >/dev/null || ! getent group nogroup >/dev/null; then
		skip "as root ferryd drops to nobody:nogroup, and there is no such user or group"
	fi
	PRIVS=(--privileges.user=nobody --privileges.group=nogroup)
fi
TMP=$(mktemp -d /tmp/ferry-xfer.XXXXXX) || fail "mktemp"
chmod 0755 "$TMP"

# Drop PID from the lists of what cleanup stops, once it has been waited
# for: its number may be someone else's afterwards.
forget() { # PID
	local p keep=()
	for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
	keep=()
	for p in "${DPIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	DPIDS=("${keep[@]}")
}

# Wait for PID to exit, at most LIMIT s; its status in $RC (124 if it had
# to be killed).
wait_for() { # PID LIMIT
	local end=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null && ((SECONDS < end)); do
		sleep 0.05
	done
	if kill -0 "$1" 2>/dev/null; then
		stop_pid "$1" KILL
		RC=124
	else
		wait "$1"
		RC=$?
	fi
	forget "$1"
}

# start_daemon NAME [FLAG...]: a local-mode ferryd; sets SOCK and LOG.
start_daemon() {
	local name=$1 dir=$TMP/$1 shm=/dev/shm/ferry-xfer-$$-$1
	shift
	mkdir "$dir" || fail "mkdir $dir"
	# as /run/ferry: owned by the daemon's user, so it can remove its
	# socket after dropping root
	((${#PRIVS[@]})) && { chown nobody:nogroup "$dir" || fail "chown $dir"; }
	SHMS+=("$shm")
	SOCK=$dir/ferryd.sock
	LOG=$dir/ferryd.log
	env -u NOTIFY_SOCKET -u WATCHDOG_USEC -u WATCHDOG_PID FERRY_CONFIG=/dev/null \
		"$FERRYD" --ipc.socket="$SOCK" --ipc.shm_dir="$shm" "${PRIVS[@]}" "$@" \
		</dev/null >"$LOG" 2>&1 &
	local pid=$!
	DPIDS+=("$pid")
	local _
	for _ in $(seq 100); do
		grep -q "ready in" "$LOG" 2>/dev/null && [[ -S $SOCK ]] && break
		kill -0 "$pid" 2>/dev/null || { cat "$LOG"; fail "ferryd $name exited at start"; }
		sleep 0.05
	done
	grep -q "ready in" "$LOG" || { cat "$LOG"; fail "ferryd $name not ready within 5 s"; }
	ok "ferryd $name (pid $pid) ready: ${*:-default settings}"
}

# xfer NAME LIMIT_S "RECV ARGS" "SEND ARGS": runs the receiver, waits until
# it listens, runs the sender, waits for both (each bounded by LIMIT_S).
# Exit codes in RRC and SRC; output in $TMP/NAME.{recv,send}.{out,err}.
xfer() {
	local name=$1 limit=$2 rargs=$3 sargs=$4 o=$TMP/$1 _
	# shellcheck disable=SC2086 # the argument strings are word lists
	"$XFER" recv --socket "$SOCK" --service "$name" $rargs >"$o.recv.out" 2>"$o.recv.err" &
	local rpid=$!
	PIDS+=("$rpid")
	for _ in $(seq 100); do
		grep -q "listening on service" "$o.recv.err" 2>/dev/null && break
		kill -0 "$rpid" 2>/dev/null || break
		sleep 0.05
	done
	# shellcheck disable=SC2086
	"$XFER" send --socket "$SOCK" --service "$name" $sargs >"$o.send.out" 2>"$o.send.err" &
	local spid=$!
	PIDS+=("$spid")
	wait_for "$spid" "$limit"
	SRC=$RC
	wait_for "$rpid" "$limit"
	RRC=$RC
}

show() { # NAME: both sides' output, for a failure
	local f
	for f in "$TMP/$1".{recv,send}.{out,err}; do
		echo "---- $(basename "$f")"
		cat "$f"
	done
}

expect_rc() { # NAME RECV_RC SEND_RC
	[[ $RRC == "$2" && $SRC == "$3" ]] ||
		{ show "$1"; fail "$1: recv exited $RRC, send $SRC; expected $2 and $3"; }
}

expect_line() { # NAME FILE-SUFFIX REGEX
	grep -Eq -e "$3" "$TMP/$1.$2" || { show "$1"; fail "$1: no line /$3/ in $2"; }
}

# -- usage --
"$XFER" --help >"$TMP/help" 2>&1 || fail "--help exited $?"
grep -q "ferry-xfer recv" "$TMP/help" || fail "--help prints no usage"
usage_case() { # REGEX ARGS...
	local re=$1
	shift
	"$XFER" "$@" >/dev/null 2>"$TMP/usage.err"
	local rc=$?
	((rc == 64)) || fail "ferry-xfer $* exited $rc, expected 64"
	grep -Eq -e "$re" "$TMP/usage.err" || { cat "$TMP/usage.err"; fail "ferry-xfer $*: no /$re/"; }
}
usage_case "no role"
usage_case "unknown role" push --service x --count 1 --seed 1
usage_case "--count is required" recv --service x --seed 1
usage_case "--seed is required" send --service x --count 1
usage_case "--count: \"0\"" recv --service x --count 0 --seed 1
usage_case "--count: \"-3\"" recv --service x --count -3 --seed 1
usage_case "--max-size: \"2G\"" recv --service x --count 1 --seed 1 --max-size 2G
usage_case "larger than --max-size" recv --service x --count 1 --seed 1 --min-size 2M --max-size 1M
usage_case "--host: \"10.1.2\"" send --service x --count 1 --seed 1 --host 10.1.2
usage_case "for the receiver" send --service x --count 1 --seed 1 --stall-after 0 --stall-ms 5
usage_case "go together" recv --service x --count 9 --seed 1 --stall-after 3
usage_case "not below --count" recv --service x --count 9 --seed 1 --stall-after 9 --stall-ms 5
usage_case "--timeout-ms" send --service x --count 1 --seed 1 --timeout-ms 0
usage_case "unknown option" recv --service x --count 1 --seed 1 --fast
usage_case "needs a value" recv --service x --count 1 --seed
usage_case "--service: \"a/b\"" recv --service a/b --count 1 --seed 1
ok "--help exits 0; 16 kinds of bad arguments exit 64, each with its reason"

# -- default daemon: 1 MiB messages, 4 MiB rings --
start_daemon default

xfer clamp 40 "--count 2000 --seed 1 --timeout-ms 30000" "--count 2000 --seed 1 --timeout-ms 30000"
expect_rc clamp 0 0
for side in recv send; do
	expect_line clamp $side.err "^$side: note: --max-size 8388608 clamped to 1048576"
done
expect_line clamp recv.out "^recv: 2000 messages, [0-9]+ bytes, [0-9.]+ s, [0-9.]+ MB/s$"
expect_line clamp send.out "^send: 2000 messages, [0-9]+ bytes, [0-9.]+ s, [0-9.]+ MB/s, backpressure waits [0-9]+ \(longest [0-9]+ ms\)$"
rb=$(awk '{print $4}' "$TMP/clamp.recv.out")
sb=$(awk '{print $4}' "$TMP/clamp.send.out")
[[ $rb == "$sb" ]] || { show clamp; fail "clamp: recv counted $rb bytes, send $sb"; }
ok "2000 messages of 1 B .. 1 MiB ($rb bytes) verified; both sides clamped --max-size to 1 MiB"
cat "$TMP/clamp.recv.out" "$TMP/clamp.send.out"

xfer stall 40 "--count 400 --seed 2 --min-size 64K --max-size 1M --stall-after 100 --stall-ms 2000 --timeout-ms 30000" \
	"--count 400 --seed 2 --min-size 64K --max-size 1M --timeout-ms 30000"
expect_rc stall 0 0
expect_line stall recv.err "^recv: stalled [0-9]+ ms after message 100 \(not polling\)$"
expect_line stall recv.out "^recv: 400 messages"
stalled=$(sed -nE 's/^recv: stalled ([0-9]+) ms.*/\1/p' "$TMP/stall.recv.err")
read -r waits longest < <(sed -nE 's/.*backpressure waits ([0-9]+) \(longest ([0-9]+) ms\)$/\1 \2/p' \
	"$TMP/stall.send.out")
[[ -n ${waits:-} ]] || { show stall; fail "stall: no back-pressure figures from the sender"; }
((stalled >= 2000)) || { show stall; fail "stall: the receiver stalled only $stalled ms"; }
((waits > 0)) || { show stall; fail "stall: the sender never waited on back-pressure"; }
((longest >= 1500)) ||
	{ show stall; fail "stall: the longest back-pressure wait was $longest ms, not the ~2 s stall"; }
ok "receiver stalled $stalled ms after message 100: sender waited $waits times, longest $longest ms, all 400 verified"
cat "$TMP/stall.send.out"

# -- the check catches what it should --
xfer drop 30 "--count 50 --seed 3 --max-size 64K --timeout-ms 10000" \
	"--count 50 --seed 3 --max-size 64K --timeout-ms 10000 --drop 17"
expect_rc drop 1 1
expect_line drop recv.err "^recv: expected message 17, got 18 \(a loss or reorder\)$"
expect_line drop send.err "^send: session ended \(.*\)"
ok "a left-out message: $(grep '^recv:' "$TMP/drop.recv.err" | tail -1)"

xfer corrupt 30 "--count 50 --seed 4 --min-size 100 --max-size 64K --timeout-ms 10000" \
	"--count 50 --seed 4 --min-size 100 --max-size 64K --timeout-ms 10000 --corrupt 23"
expect_rc corrupt 1 1
expect_line corrupt recv.err "^recv: message 23: content differs at byte [0-9]+ \(got 0x[0-9a-f]+, expected 0x[0-9a-f]+; 1 of [0-9]+ bytes differ\)$"
ok "a flipped byte: $(grep '^recv:' "$TMP/corrupt.recv.err" | tail -1)"

xfer seed 30 "--count 50 --seed 5 --max-size 64K --timeout-ms 10000" \
	"--count 50 --seed 6 --max-size 64K --timeout-ms 10000"
expect_rc seed 1 1
expect_line seed recv.err "^recv: message 0: (length [0-9]+ expected [0-9]+|content differs at byte).*drawn differently"
ok "a different seed: $(grep '^recv:' "$TMP/seed.recv.err" | tail -1)"

xfer count 30 "--count 30 --seed 7 --max-size 4K --timeout-ms 1500" \
	"--count 20 --seed 7 --max-size 4K --timeout-ms 10000"
expect_rc count 2 1
expect_line count recv.err "^recv: timed out after 1500 ms at message 20 of 30"
expect_line count send.err "^send: session ended \(the peer's process ended\) before the receiver's reply$"
ok "fewer messages than the receiver expects: it times out (exit 2) and says where"

xfer blocked 30 "--count 200 --seed 7 --min-size 64K --max-size 1M --stall-after 5 --stall-ms 3000 --timeout-ms 10000" \
	"--count 200 --seed 7 --min-size 64K --max-size 1M --timeout-ms 1000"
expect_rc blocked 1 2
expect_line blocked send.err "^send: timed out after 1000 ms at message [0-9]+ of 200 \([0-9]+ bytes\), blocked by back-pressure for [0-9]+ ms$"
expect_line blocked recv.err "^recv: session ended \(the peer's process ended\) after [0-9]+ of 200 messages$"
ok "a sender held by back-pressure past --timeout-ms: $(grep '^send: timed' "$TMP/blocked.send.err")"

"$XFER" send --socket "$SOCK" --service nobody-here --count 1 --seed 1 --timeout-ms 500 \
	>/dev/null 2>"$TMP/alone.err"
rc=$?
if ((rc != 2)) ||
	! grep -q "^send: timed out after 500 ms waiting for a session to nobody-here on local$" "$TMP/alone.err"; then
	cat "$TMP/alone.err"
	fail "a sender with no receiver exited $rc"
fi
"$XFER" recv --socket "$SOCK" --service alone --count 1 --seed 1 --timeout-ms 300 \
	>/dev/null 2>"$TMP/alone.err"
rc=$?
if ((rc != 2)) ||
	! grep -q "^recv: timed out after 300 ms waiting for a session on service alone$" "$TMP/alone.err"; then
	cat "$TMP/alone.err"
	fail "a receiver with no sender exited $rc"
fi
ok "a sender with no receiver and a receiver with no sender time out (exit 2)"

xfer extra 30 "--count 20 --seed 8 --max-size 4K --timeout-ms 5000" \
	"--count 30 --seed 8 --max-size 4K --timeout-ms 5000"
expect_rc extra 1 1
expect_line extra recv.err "^recv: a message of [0-9]+ bytes arrived after the last one \(19\)"
expect_line extra send.err "^send: (the receiver answered \"ok 20 [0-9]+\" after only|session ended|the receiver replied \"ok 20 [0-9]+\", expected \"ok 30 )"
ok "more messages than the receiver expects: both sides fail (exit 1)"

# -- a daemon with 8 MiB messages: no clamp --
start_daemon big --ipc.max_message_size=8388608 --ipc.client_ring_size=33554432 \
	--ipc.session_ring_size=33554432
xfer big 40 "--count 300 --seed 9 --json --timeout-ms 30000" "--count 300 --seed 9 --json --timeout-ms 30000"
expect_rc big 0 0
if grep -q clamped "$TMP/big.recv.err" "$TMP/big.send.err"; then
	show big
	fail "big: --max-size clamped although ferryd allows 8 MiB"
fi
if ! command -v python3 >/dev/null; then
	echo "note: no python3; the JSON summaries are only grepped"
	if ! grep -q '"role":"recv","messages":300,' "$TMP/big.recv.out" ||
		! grep -q '"role":"send","messages":300,' "$TMP/big.send.out"; then
		show big
		fail "big: JSON summaries"
	fi
else
	python3 - "$TMP/big.recv.out" "$TMP/big.send.out" <<'PY' || { show big; fail "big: JSON summaries"; }
import json, sys
r = json.loads(open(sys.argv[1]).read())
s = json.loads(open(sys.argv[2]).read())
assert r["role"] == "recv" and s["role"] == "send", (r, s)
for d in (r, s):
    assert d["messages"] == 300 and d["max_size"] == 8388608 and not d["clamped"], d
assert r["bytes"] == s["bytes"] > 300 * 65536, (r, s)
assert s["backpressure_waits"] >= 0 and s["backpressure_longest_ms"] >= 0, s
print("big: %d bytes, recv %.0f MB/s, send %.0f MB/s, %d back-pressure waits" % (
    r["bytes"], r["mb_per_s"], s["mb_per_s"], s["backpressure_waits"]))
PY
fi
ok "300 messages of 1 B .. 8 MiB verified through 32 MiB rings; JSON summaries agree"

# -- the daemons stop cleanly --
for p in "${DPIDS[@]}"; do
	kill -TERM "$p"
	wait_for "$p" 10
	((RC == 0)) || fail "ferryd (pid $p) exited $RC on SIGTERM"
done
for d in "${SHMS[@]}"; do
	[[ -z $(ls -A "$d" 2>/dev/null) ]] || fail "ferryd left files in $d: $(ls "$d")"
done
ok "both ferryds stopped on SIGTERM and left no ring files"
echo "xfer-local: all checks passed"
