# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Shared by the two-host tests (twohost.sh, reliable.sh, secure.sh): how they
# report, the checks before they bring up the lab, bringing it up and down,
# its counters. Sourced; $LAB is lab.sh.

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

# lab_cleanup: at exit, stop this script's background jobs, take the lab
# down if it is up (UP=1), remove $TMP
lab_cleanup() {
	local p
	for p in $(jobs -p); do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if ((UP)); then
		"$LAB" down >/dev/null 2>&1 || echo "lab.sh down failed"
	fi
	rm -rf "$TMP"
}

# lab_up FLAGS...: the lab up with these ferryd flags on both daemons (and
# LAB_FERRYD_ARGS_A, _B if set): skips (77) where DPDK cannot start, sets
# UP=1. Uses $LAB, $BUILD and $TMP (the log goes to $TMP/up.log).
lab_up() {
	LAB_FERRYD_ARGS="$*" "$LAB" --build "$BUILD" up >"$TMP/up.log" 2>&1
	local rc=$?
	if ((rc == 77)); then
		cat "$TMP/up.log"
		skip "DPDK cannot start here"
	fi
	((rc == 0)) || { cat "$TMP/up.log"; fail "lab.sh up exited $rc"; }
	UP=1
}

lab_down() {
	"$LAB" down >"$TMP/down.log" 2>&1 || { cat "$TMP/down.log"; fail "lab.sh down"; }
	UP=0
}

# counter NAME HOST: a counter from that ferryd's status file ($STAT is
# ferry-stat)
counter() {
	"$STAT" --shm-dir "/dev/shm/ferry-lab-$2" --json 2>/dev/null |
		python3 -c "import json,sys; print(json.load(sys.stdin)['counters'].get('$1', 0))"
}
