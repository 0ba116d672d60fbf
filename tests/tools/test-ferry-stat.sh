#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# ferry-stat against status files written by make-status: exact counters
# and daemon fields in --json, the table, errors and exit codes, and live
# mode following a restart. Usage: test-ferry-stat.sh FERRY_STAT MAKE_STATUS
set -u
STAT=$1 MK=$2
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to parse JSON"; exit 77; }

D=$(mktemp -d "${TMPDIR:-/tmp}/ferry-stat-test.XXXXXX") || exit 1
BG=()
cleanup() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$D"
}
trap cleanup EXIT
unset FERRY_IPC_SHM_DIR
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

# check_json FILE RUNNING MIN_AGE_MS MAX_AGE_MS [EXTRA_LABEL=VALUE]
check_json() {
	python3 - "$@" <<'EOF'
import json, sys
f, running, lo, hi = sys.argv[1], sys.argv[2] == "true", int(sys.argv[3]), int(sys.argv[4])
text = open(f, "rb").read().decode("utf-8")   # must be valid UTF-8
assert text.count("\n") == 1 and text.endswith("}\n"), repr(text)
o = json.loads(text)
want = {
    "daemon.clients": 3, "daemon.commands": 12345, "port.rx_packets": 1000000,
    "drop.ipv4_bad_checksum": 2, "client.7.perf-client.commands": 5,
    "client.9.we\"ird\\\x01\x1b[2J\u00e9\ufffd.commands": 9,
    "client.12.perf-client.commands": 7, "session.12.retransmits": 0,
    "zzz.other": 18446744073709551615, "eni.pps_allowance_exceeded": None,
}
for extra in sys.argv[5:]:
    k, v = extra.split("=")
    want[k] = int(v)
assert o["counters"] == want, o["counters"]
# grouped, label order within a group (digits as numbers), others last
keys = list(o["counters"])
groups = ["daemon.", "port.", "drop.", "arp.", "icmp.", "client.", "session."]
g = [next((i for i, p in enumerate(groups) if k.startswith(p)), len(groups)) for k in keys]
assert g == sorted(g), keys
assert keys.index("daemon.clients") < keys.index("daemon.commands")
assert keys.index("client.7.perf-client.commands") < keys.index("client.12.perf-client.commands")
assert keys[-1] == "zzz.other"
d = o["daemon"]
assert d["version"] == "9.8.7-test" and d["running"] is running, d
assert 3723 <= d["uptime_s"] <= 3733, d
assert lo <= d["heartbeat_age_ms"] <= hi, d
assert set(d) == {"pid", "version", "uptime_s", "heartbeat_age_ms", "running"}, d
EOF
}

# 1. a live daemon (pid = this shell), fresh heartbeat
"$MK" "$D" --pid $$ || exit 1
out=$("$STAT" --once --json --shm-dir "$D" 2>&1 >"$D/j1"); rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ] && check_json "$D/j1" true 0 4000 &&
   grep -q "\"pid\":$$," "$D/j1"; then ok "json, running"; else fail "json, running (rc=$rc $out)"; fi

# 2. a dead pid and an old heartbeat; the default dir from FERRY_IPC_SHM_DIR
"$MK" "$D" --dead-pid --heartbeat-age-ms 60000 --extra daemon.restarted=1 || exit 1
FERRY_IPC_SHM_DIR=$D "$STAT" --json >"$D/j2"; rc=$?
if [ $rc -eq 0 ] && check_json "$D/j2" false 60000 65000 daemon.restarted=1; then
	ok "json, not running, env dir"; else fail "json, not running (rc=$rc)"; fi

# 3. the table: header, STALE, grouping, no raw control bytes, filter
"$STAT" --once --shm-dir "$D" >"$D/t1"; rc=$?
if [ $rc -eq 0 ] && grep -q '^ferryd 9.8.7-test  pid [0-9]* not running  up 1h02m03s' "$D/t1" &&
   grep -q 'STALE$' "$D/t1" && grep -Eq '^daemon\.commands +12345$' "$D/t1" &&
   grep -q 'client.9.we"ird\\??\[2Jé?.commands' "$D/t1" &&
   grep -Eq '^eni\.pps_allowance_exceeded +unavailable$' "$D/t1" &&
   ! LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$D/t1" && ! grep -q 'daemon.freed' "$D/t1"
then ok "table"; else fail "table (rc=$rc)"; cat -A "$D/t1"; fi
"$STAT" --once --shm-dir "$D" --filter perf-client >"$D/t2"
if [ "$(grep -c 'perf-client' "$D/t2")" = 2 ] && ! grep -q 'daemon\.' "$D/t2"; then
	ok "filter"; else fail "filter"; cat "$D/t2"; fi

# 4. counter_max larger than the file: believe the file size only
"$MK" "$D" --pid $$ --counter-max 100000000 || exit 1
"$STAT" --json --shm-dir "$D" >"$D/j3"; rc=$?
if [ $rc -eq 0 ] && check_json "$D/j3" true 0 4000; then ok "counter_max clamped";
else fail "counter_max clamped (rc=$rc)"; fi

# 5. errors: missing file, bad magic, other major version, never published, usage
expect_err() { # NAME PATTERN ARGS...
	local name=$1 pat=$2; shift 2
	local err; err=$("$STAT" "$@" 2>&1 >/dev/null); local rc=$?
	if [ $rc -eq 1 ] && printf '%s' "$err" | grep -qF -- "$pat"; then ok "$name";
	else fail "$name: rc=$rc stderr: $err"; fi
}
expect_err "missing file" "no ferryd status at $D/none/status (is ferryd running? is ipc.shm_dir $D/none?)" \
	--once --shm-dir "$D/none"
"$MK" "$D" --magic deadbeef || exit 1
expect_err "bad magic" "$D/status: shm file has wrong magic 0xdeadbeef" --json --shm-dir "$D"
"$MK" "$D" --major 2 || exit 1
expect_err "other major" "shm layout version 2.3, this side speaks 1.x" --once --shm-dir "$D"
"$MK" "$D" --magic 0 || exit 1
expect_err "unpublished" "wrong magic 0 (not published" --once --shm-dir "$D"
"$MK" "$D" --empty || exit 1
expect_err "empty file" "shm file is empty" --once --shm-dir "$D"
"$STAT" --interval 0 --shm-dir "$D" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "usage error" || fail "usage error rc=$rc"

# 6. live mode: rates from a running writer, then a restart (new inode) and
# a removal are followed; SIGTERM ends it with 0. Not a tty: no escapes.
"$MK" "$D" --hold 20 & BG+=($!)
for _ in $(seq 50); do "$STAT" --once --shm-dir "$D" >/dev/null 2>&1 && break; sleep 0.1; done
"$STAT" --shm-dir "$D" --interval 0.2 >"$D/live" 2>&1 & SP=$!; BG+=($SP)
sleep 1.5
"$MK" "$D" --pid $$ --extra daemon.restarted=1 || exit 1
sleep 1
rm -f "$D/status"
sleep 0.6
kill -TERM $SP; wait $SP; rc=$?
rate=$(grep -E '^port\.rx_packets +[0-9]+ +[0-9.]+$' "$D/live" | awk '{print $3}' | sort -n | tail -1)
if [ $rc -eq 0 ] && [ -n "$rate" ] && awk -v r="$rate" 'BEGIN { exit !(r >= 20 && r <= 400) }' &&
   grep -q '^daemon\.restarted  *1' "$D/live" &&
   tail -1 "$D/live" | grep -qF "waiting: no ferryd status at $D/status" &&
   ! grep -q $'\x1b' "$D/live"; then
	ok "live: rate ${rate}/s, restart followed, removal shown, SIGTERM exit 0"
else
	fail "live (rc=$rc rate=$rate)"; tail -40 "$D/live"
fi

[ $FAILS -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
echo "all ferry-stat checks passed"
