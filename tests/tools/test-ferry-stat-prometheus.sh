#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# ferry-stat --prometheus: the text passes `promtool check metrics` and a
# structural check of its own (HELP and TYPE once per family before its
# samples, families contiguous, no series twice, counters end in _total,
# valid UTF-8), and says exactly what it should:
#   1. for a status file written by make-status with hostile labels
#      (quotes, backslashes, newlines, escapes, invalid UTF-8 in client
#      names; labels that collide once made into metric names);
#   2. for a real local-mode ferryd with a client attached;
#   3. --out FILE --interval: the file is replaced whole and kept fresh,
#      says ferry_daemon_up 0 once the daemon stops and follows the next
#      one; --out once; usage errors.
# Usage: test-ferry-stat-prometheus.sh FERRY_STAT MAKE_STATUS FERRYD FERRY_PERF
set -u
STAT=$1 MK=$2 FERRYD=$3 PERF=$4
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }
command -v promtool >/dev/null ||
	{ echo "SKIP: promtool is missing (apt-get install prometheus, or scripts/install-deps.sh)"; exit 77; }

D=$(mktemp -d "${TMPDIR:-/tmp}/ferry-prom-test.XXXXXX") || exit 1
chmod 0755 "$D"
SHM=/dev/shm/ferry-prom-test-${D##*.}
BG=()
cleanup() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$D" "$SHM"
}
trap cleanup EXIT
trap "exit 143" TERM INT
unset FERRY_IPC_SHM_DIR
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok - $*"; }
expect_rc() { # WANT GOT NAME
	if [ "$2" -eq "$1" ]; then ok "$3"; else fail "$3: exit $2, expected $1"; fi
}

# check FILE [EXPECT_PY]: promtool, then the structure, then the Python
# expression EXPECT_PY over m, a dict {(family, frozenset(labels)): value}
# with types in t {family: type}, v(family, label=value...) one sample's
# value and info the labels of ferry_daemon_info; it must hold.
check() {
	local f=$1 want=${2:-True} out
	if ! out=$(promtool check metrics <"$f" 2>&1); then
		echo "promtool check metrics:"; echo "$out"; cat -A "$f" | head -60
		return 1
	fi
	python3 - "$f" "$want" <<'PY'
import re, sys
text = open(sys.argv[1], "rb").read().decode("utf-8")  # must be UTF-8
assert text.endswith("\n"), "no final newline"
m, t, helps, seen, order = {}, {}, set(), set(), []
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
def unescape(v):
    return re.sub(r'\\(.)', lambda x: {"n": "\n", "\\": "\\", '"': '"'}[x.group(1)], v)
for line in text.splitlines():
    if line.startswith("# HELP "):
        fam = line.split()[2]
        assert fam not in helps, "second HELP for " + fam
        helps.add(fam)
        order.append(fam)
    elif line.startswith("# TYPE "):
        _, _, fam, typ = line.split()
        assert fam == order[-1] and fam not in t, "TYPE out of place: " + line
        t[fam] = typ
        if typ == "counter":
            assert fam.endswith("_total"), "counter without _total: " + fam
    elif line.startswith("#"):
        continue
    else:
        g = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)', line)
        assert g, "bad sample line: %r" % line
        fam, labels, val = g.groups()
        assert fam == order[-1] and fam in t, "sample outside its family: " + line
        lab = {}
        if labels:
            inner = labels[1:-1]
            pairs = label_re.findall(inner)
            assert ",".join('%s="%s"' % p for p in pairs) == inner, "labels: " + labels
            lab = {k: unescape(v) for k, v in pairs}
        key = (fam, frozenset(lab.items()))
        assert key not in seen, "series twice: " + line
        seen.add(key)
        m[key] = float(val) if any(c in val for c in ".e") else int(val)
def v(fam, **labels):
    return m.get((fam, frozenset(labels.items())))
info = next((dict(l) for f, l in m if f == "ferry_daemon_info"), {})
ok = eval("(" + sys.argv[2] + ")")
if not ok:
    for (fam, lab), val in sorted(m.items(), key=str):
        print("  %s %s = %r (%s)" % (fam, dict(lab), val, t[fam]))
    sys.exit("expectation does not hold: " + sys.argv[2])
PY
}

# 1. hostile labels in a crafted status file
"$MK" "$D" --pid $$ \
	--extra 'g:session.17.srtt_ns=26600' --extra 'g:session.17.cwnd_milli=16500' \
	--extra $'client.3.a"b\nc.d.events=4' --extra 'g:daemon.up=7' --extra 'g:zzz_other=5' \
	--extra 'x.y_total=1' --extra 'g:x.y_total=2' --extra 'nodot=3' \
	--extra 'session.abc.x=1' --extra 'net.udp=10' || exit 1
"$STAT" --prometheus --shm-dir "$D" >"$D/p1" 2>"$D/e1"; rc=$?
if [ $rc -eq 0 ] && [ ! -s "$D/e1" ] && check "$D/p1" '
  v("ferry_daemon_up") == 1 and t["ferry_daemon_up"] == "gauge"
  and v("ferry_daemon_info", version="9.8.7-test", pid=str('$$')) == 1
  and 3723 <= v("ferry_daemon_uptime_seconds") < 3733
  and 0 <= v("ferry_daemon_heartbeat_age_seconds") < 4
  and v("ferry_daemon_clients") == 3 and t["ferry_daemon_clients"] == "gauge"
  and v("ferry_daemon_commands_total") == 12345 and t["ferry_daemon_commands_total"] == "counter"
  and v("ferry_port_rx_packets_total") == 1000000
  and v("ferry_drop_frames_total", reason="ipv4_bad_checksum") == 2
  and v("ferry_net_frames_total", verdict="udp") == 10
  and v("ferry_client_commands_total", client="7", name="perf-client") == 5
  and v("ferry_client_commands_total", client="12", name="perf-client") == 7
  and v("ferry_client_commands_total", client="9",
        name="we\"ird\\\ufffd\ufffd[2J\u00e9\ufffd") == 9
  and v("ferry_client_events_total", client="3", name="a\"b\nc.d") == 4
  and v("ferry_session_retransmits_total", session="12") == 0
  and v("ferry_session_srtt_seconds", session="17") == 26600e-9
  and t["ferry_session_srtt_seconds"] == "gauge"
  and v("ferry_session_cwnd", session="17") == 16.5
  and v("ferry_session_abc_x_total") == 1 and v("ferry_nodot_total") == 3
  and v("ferry_x_y_total") == 1 and t["ferry_x_y_total"] == "counter"
  and v("ferry_zzz_other") == 18446744073709551615 and t["ferry_zzz_other"] == "gauge"
  and len(m) == 20' && grep -q '^# ferry-stat: 3 counter(s) left out' "$D/p1" &&
   [ "$(grep -c '^ferry_client_commands_total{' "$D/p1")" = 3 ] &&
   grep -q 'ferry_client_commands_total{client="7",.*{client="9",.*{client="12",' <(tr '\n' ' ' <"$D/p1")
then ok "crafted status file: mapping, escaping, collisions left out (3), promtool"
else fail "crafted status file (rc=$rc $(cat "$D/e1"))"; fi
"$STAT" --prometheus --shm-dir "$D" --filter session.17 >"$D/p2"
if check "$D/p2" 'v("ferry_session_srtt_seconds", session="17") and len(m) == 6'; then
	ok "--filter applies"; else fail "--filter with --prometheus"; fi

# 2. a real local-mode ferryd with a client attached
PRIVS=()
if [ "$(id -u)" -eq 0 ]; then
	if ! getent passwd nobody >/dev/null || ! getent group nogroup >/dev/null; then
		echo "SKIP: as root ferryd drops to nobody:nogroup, and there is none"
		exit 77
	fi
	PRIVS=(--privileges.user=nobody --privileges.group=nogroup)
	chown 65534:65534 "$D"
fi
start_ferryd() {
	FERRY_CONFIG=/dev/null "$FERRYD" --ipc.socket="$D/ferryd.sock" --ipc.shm_dir="$SHM" \
		"${PRIVS[@]}" 2>>"$D/ferryd.log" &
	DPID=$!
	BG+=("$DPID")
	local _
	for _ in $(seq 100); do
		[ -S "$D/ferryd.sock" ] && [ -s "$SHM/status" ] && return 0
		sleep 0.05
	done
	cat "$D/ferryd.log"
	return 1
}
start_ferryd || { echo "FAIL: ferryd did not start"; exit 1; }
FERRY_SOCKET=$D/ferryd.sock "$PERF" -r server -S prom-test --spin-us 0 --yield-us 1000 \
	>/dev/null 2>&1 & BG+=($!)
for _ in $(seq 100); do
	"$STAT" --json --shm-dir "$SHM" | grep -q '"daemon.clients":1' && break
	sleep 0.05
done
"$STAT" --prometheus --shm-dir "$SHM" >"$D/live1"; rc=$?
if [ $rc -eq 0 ] && check "$D/live1" '
  v("ferry_daemon_up") == 1 and v("ferry_daemon_clients") == 1
  and info["pid"] == "'"$DPID"'" and v("ferry_daemon_info", **info) == 1
  and v("ferry_client_commands_total", client="1", name="perf-server") >= 1
  and v("ferry_client_sessions", client="1", name="perf-server") == 0
  and t["ferry_client_sessions"] == "gauge"
  and v("ferry_daemon_clients_attached_total") == 1
  and v("ferry_remote_tx_packets_total") == 0 and t["ferry_remote_tx_packets_total"] == "counter"'
then ok "a real ferryd: $(grep -c '^ferry_' "$D/live1") samples, client labels, promtool"
else fail "a real ferryd (rc=$rc)"; fi

# 3. --out FILE --interval: replaced whole, fresh, follows stop and restart
mkdir "$D/tf"
"$STAT" --prometheus --shm-dir "$SHM" --out "$D/tf/ferry.prom" --interval 0.2 2>"$D/loop.err" &
SP=$!
BG+=("$SP")
age() { awk '/^ferry_daemon_uptime_seconds / {print $2}' "$D/tf/ferry.prom"; }
sleep 0.7
u1=$(age)
sleep 0.6
u2=$(age)
if check "$D/tf/ferry.prom" 'v("ferry_daemon_up") == 1' &&
   awk -v a="$u1" -v b="$u2" 'BEGIN { exit !(b > a) }' &&
   [ "$(stat -c %a "$D/tf/ferry.prom")" = 644 ]; then
	ok "--out --interval keeps the file fresh (uptime $u1 -> $u2 s), mode 644"
else fail "--out --interval refresh ($u1 -> $u2)"; fi
kill -TERM "$DPID"; wait "$DPID"
sleep 0.7
if check "$D/tf/ferry.prom" 'v("ferry_daemon_up") == 0 and len(m) == 1'; then
	ok "the daemon stopped: the file says ferry_daemon_up 0 and nothing else"
else fail "after the daemon stopped"; fi
start_ferryd || fail "ferryd did not start again"
sleep 0.7
if check "$D/tf/ferry.prom" 'v("ferry_daemon_up") == 1 and info["pid"] == "'"$DPID"'"'; then
	ok "a new daemon is followed (pid $DPID)"
else fail "a new daemon is not followed"; fi
kill -TERM "$SP"; wait "$SP"; rc=$?
left=$(ls -A "$D/tf")
if [ $rc -eq 0 ] && [ "$left" = ferry.prom ]; then
	ok "SIGTERM ends it with 0, no temporary file left"
else fail "loop end (rc=$rc, files: $left; $(cat "$D/loop.err"))"; fi

# once, no daemon: the file says so, exit 0; errors
"$STAT" --prometheus --shm-dir "$D/none" --out "$D/tf/once.prom" 2>"$D/once.err"; rc=$?
if [ $rc -eq 0 ] && check "$D/tf/once.prom" 'v("ferry_daemon_up") == 0 and len(m) == 1' &&
   grep -q "no ferryd status at $D/none/status.*writing ferry_daemon_up 0" "$D/once.err"; then
	ok "--out once without a daemon: ferry_daemon_up 0, exit 0, said on stderr"
else fail "--out once without a daemon (rc=$rc)"; fi
"$STAT" --prometheus --shm-dir "$D/none" >/dev/null 2>&1; rc=$?
expect_rc 1 $rc "stdout without a daemon"
err=$("$STAT" --prometheus --shm-dir "$SHM" --out "$D/no/such/dir/x.prom" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "no/such/dir" <<<"$err"; then ok "unwritable --out: exit 1, named"
else fail "unwritable --out: rc=$rc $err"; fi
for args in "--out $D/x.prom" "--prometheus --json" "--prometheus --interval 1" "--prometheus --out"; do
	# shellcheck disable=SC2086 # the words are meant to split
	"$STAT" --shm-dir "$SHM" $args >/dev/null 2>&1; rc=$?
	expect_rc 2 $rc "usage error: $args"
done
"$STAT" --shm-dir "$SHM" --prometheus --out "" >/dev/null 2>&1; rc=$?
expect_rc 2 $rc "usage error: --out ''"

[ $FAILS -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
echo "all ferry-stat --prometheus checks passed"
