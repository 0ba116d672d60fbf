# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Shared by the two-host tests (twohost.sh, reliable.sh, wireshark_lab.sh,
# arp_spoof.sh, hostile_peer.sh, chaos.sh, pmtu.sh, secure.sh,
# secure_forge.sh, multihost.sh): how they report, the checks before they
# bring up the lab, bringing it up and down, reading its daemons, keys for
# secure channels. Sourced; $LAB is lab.sh, $BUILD the build directory,
# $TMP the test's scratch directory, $STAT ferry-stat, $XFER ferry-xfer and
# $FERRYD ferryd where a test uses them.

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok - $*"; }

# lab_take_turn: one test at a time owns the lab. Two test runs on one
# machine (two checkouts, say) wait for each other instead of one of them
# skipping; the lock is held on fd 8 until this script exits, and lab.sh
# closes that fd for the daemons it starts, so a daemon left behind cannot
# keep it.
LAB_TURN_LOCK=/run/ferry-lab.turn
LAB_TURN_WAIT_S=${LAB_TURN_WAIT_S:-1800}
lab_take_turn() {
	command -v flock >/dev/null || return 0
	exec 8>"$LAB_TURN_LOCK"
	if ! flock -n 8; then
		echo "# waiting (at most ${LAB_TURN_WAIT_S} s) for another test run to finish with the lab"
		flock -w "$LAB_TURN_WAIT_S" 8 || skip "another test run held the lab for ${LAB_TURN_WAIT_S} s"
	fi
}

# lab_preflight TOOL...: skip (77) where the lab cannot run, fail when a
# tool the test needs was not built
lab_preflight() {
	local t
	[[ $(id -u) -eq 0 ]] || skip "needs root for network namespaces and DPDK"
	ip netns add ferry-probe-$$ 2>/dev/null || skip "cannot create network namespaces here"
	ip netns del ferry-probe-$$
	for t in "$@"; do
		[[ -x $t ]] || fail "$(basename "$t") not built (looked for $t)"
	done
	lab_take_turn
	"$LAB" status >/dev/null 2>&1
	[[ $? -eq 3 ]] || skip "a lab is already (partly) up: run scripts/lab.sh down first"
	getent passwd ferry >/dev/null || systemd-sysusers "$(dirname "$LAB")/../systemd/ferry.sysusers" \
		|| skip "no ferry user and systemd-sysusers failed"
}

# lab_up ARGS...: the lab with these ferryd flags on both daemons; skip
# (77) when DPDK cannot start here. UP=1 once it is up.
UP=0
lab_up() {
	LAB_FERRYD_ARGS="$*" "$LAB" --build "$BUILD" up >"$TMP/up.log" 2>&1
	local rc=$?
	if ((rc == 77)); then
		cat "$TMP/up.log"
		skip "DPDK cannot start here"
	fi
	if ((rc != 0)); then
		cat "$TMP/up.log"
		# whatever it left half built would stop the next test
		"$LAB" down >/dev/null 2>&1
		fail "lab.sh up exited $rc"
	fi
	UP=1
}

# Secure channels (security.*): lab_keys HOST...: a key pair for each
# (ferryd --gen-key; $FERRYD), the private key in $TMP/HOST.key owned by
# ferry, the user the lab's daemons drop to, the public one in
# $TMP/HOST.pub (a host that has them keeps them)
lab_keys() {
	local h
	for h in "$@"; do
		[[ -e $TMP/$h.key ]] && continue
		"$FERRYD" --privileges.user=ferry --security.private_key_file="$TMP/$h.key" --gen-key \
			>"$TMP/$h.pub" 2>"$TMP/$h.gen" || { cat "$TMP/$h.gen"; fail "ferryd --gen-key for $h"; }
	done
}

# lab_sec_conf HOST MODE TRUSTED_HOST TRUSTED_NET: HOST's config file,
# $TMP/HOST.conf: security.mode MODE with its key, trusting TRUSTED_HOST's
# key from TRUSTED_NET
lab_sec_conf() {
	cat >"$TMP/$1.conf" <<EOF
security = {
  mode = "$2";
  private_key_file = "$TMP/$1.key";
  trusted_peers = [ "$(cat "$TMP/$3.pub") $4" ];
};
EOF
}

# lab_secure MODE: keys for ferry-a and ferry-b, each trusting the other's
# at its address, both with security.mode MODE (lab_up_conf starts them)
lab_secure() {
	lab_keys a b
	lab_sec_conf a "$1" b 10.77.0.2
	lab_sec_conf b "$1" a 10.77.0.1/32
}

# lab_up_conf FLAGS...: lab_up, each daemon also with its $TMP/HOST.conf
lab_up_conf() {
	LAB_FERRYD_ARGS_A="--config=$TMP/a.conf" LAB_FERRYD_ARGS_B="--config=$TMP/b.conf" lab_up "$@"
}

lab_down() {
	"$LAB" down >"$TMP/down.log" 2>&1 || { cat "$TMP/down.log"; fail "lab.sh down"; }
	UP=0
}

# lab_cleanup: the EXIT trap: stop the test's background jobs and the
# PIDs in LAB_PIDS (a stopped process, or daemon, is continued first so it
# can go), take the lab down if it is up, remove $TMP
LAB_PIDS=()
lab_cleanup() {
	local p h
	for p in "${LAB_PIDS[@]}" $(jobs -p); do
		kill -TERM "$p" 2>/dev/null
		kill -CONT "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for h in /run/ferry-lab/*.pid; do
		[[ -r $h ]] && kill -CONT "$(cat "$h")" 2>/dev/null
	done
	if ((UP)); then
		"$LAB" down >/dev/null 2>&1 || echo "lab.sh down failed"
	fi
	rm -rf "$TMP"
}

# counter NAME HOST: a counter from that ferryd's status file (0 if absent;
# a name the status file does not have is said on stderr, so that a
# misspelt or renamed counter does not pass for one that stayed at 0)
counter() {
	"$STAT" --shm-dir "/dev/shm/ferry-lab-$2" --json 2>/dev/null |
		python3 -c "
import json, sys
try:
    c = json.load(sys.stdin)['counters']
except (ValueError, KeyError, TypeError):
    c = None  # no status file (the daemon is down): 0
if c is not None and '$1' not in c:
    print('# ferry-$2 has no counter $1', file=sys.stderr)
print((c or {}).get('$1', 0))" || echo 0
}

# rss HOST: the ferryd's resident memory, KiB
rss() {
	awk '/^VmRSS:/ {print $2}' "/proc/$(cat "/run/ferry-lab/$1.pid")/status" 2>/dev/null || echo 0
}

# recv_bg NAME ARG...: ferry-xfer recv for service NAME on host ${RECV_ON:-b},
# in the background (its PID in RPID), output in $TMP/NAME.recv and
# .recv.err; returns once it listens (5 s at most)
recv_bg() {
	local name=$1
	shift
	"$LAB" exec "${RECV_ON:-b}" "$XFER" recv --service "$name" "$@" >"$TMP/$name.recv" \
		2>"$TMP/$name.recv.err" &
	RPID=$!
	for _ in $(seq 50); do
		grep -q "listening" "$TMP/$name.recv.err" 2>/dev/null && return 0
		sleep 0.1
	done
}
