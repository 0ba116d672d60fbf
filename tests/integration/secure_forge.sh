#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Forged packets from a host that sees the traffic: the forger on the
# lab's bridge (ferry_forge.py in the switch's namespace, as hostile_peer.sh
# uses it) learns a live session from what passes and forges as either
# ferryd, during a checked transfer from ferry-a to ferry-b (ferry-xfer,
# 3000 messages at 1000 a second):
#   close  a CLOSE as ferry-a, with its next packet number;
#   open   an OPEN as ferry-a claiming a new incarnation, and a PONG as
#          ferry-a to the PING with which ferry-b checks that claim (ferry-a
#          is held still meanwhile, SIGSTOP, as a host on the path that
#          delays its answer would: the forger's must come first);
#   ack    ACKs as ferry-b for everything ferry-a sent, while ferry-b loses
#          3 % of what it receives (fault.rx_drop): ferry-a believes the
#          lost packets arrived and never sends them again.
# With security.mode none each one ends or starves the session: that is
# the outcome to show, and the test fails if the transfer survives it.
# With encrypt the same forgeries, plain and (close, ack) sealed with a
# seal made without the keys, are each counted (remote.rx_security_mismatch,
# remote.rx_auth_failed) and dropped, and every message arrives intact.
#
# usage: secure_forge.sh LAB_SH BUILD_DIR FORGE_PY
# exit:  0 pass, 1 fail, 77 skip (no root, no namespaces, a lab already up,
#        DPDK cannot start)
set -u

LAB=$1
BUILD=$2
FORGE=$3
XFER=$BUILD/tests/integration/ferry-xfer
STAT=$BUILD/client-lib/tools/ferry-stat
FERRYD=$BUILD/daemon/ferryd
TMP=$(mktemp -d /tmp/ferry-secure-forge.XXXXXX)
# shellcheck disable=SC2034 # lab_common.sh keeps it
UP=0
ARGS="--fault.seed=17 --fault.rx_drop=0.03"
INC=0x5eed5eed # the incarnation the forged OPEN and PONG claim
# each forgery that acts once goes three times: the receiver's drops must
# not save the session
THRICE="--count 3 --interval-ms 2"

# shellcheck source=lab_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_common.sh"

trap lab_cleanup EXIT

lab_preflight "$XFER" "$STAT" "$FERRYD"
[[ -r $FORGE ]] || fail "no forging tool at $FORGE"

# forge ARG...: ferry_forge.py in the switch's namespace, its output kept
forge() {
	echo "# forge $*" >>"$TMP/forge.log"
	"$LAB" exec sw python3 "$FORGE" "$@" >>"$TMP/forge.log" 2>&1
}

dpid() { cat "/run/ferry-lab/$1.pid"; }

# start NAME: the checked transfer a -> b in the background (RPID, SPID);
# returns once it carries data
start() {
	recv_bg "$1" --seed 7 --count 3000 --max-size 4K --tolerate-end --timeout-ms 12000
	"$LAB" exec a "$XFER" send --host 10.77.0.2 --service "$1" --seed 7 --count 3000 \
		--max-size 4K --rate 1000 --tolerate-end --timeout-ms 12000 >"$TMP/$1.send" \
		2>"$TMP/$1.send.err" &
	SPID=$!
	sleep 0.5
}

# finish NAME: wait for both ends; OUTCOME is "intact" when both verified
# every message, else what each end said
finish() {
	local src rrc
	wait "$SPID"
	src=$?
	wait "$RPID"
	rrc=$?
	if ((src == 0 && rrc == 0)); then
		OUTCOME=intact
	else
		OUTCOME="sender exit $src ($(tail -n 1 "$TMP/$1.send.err")), receiver exit $rrc ($(tail -n 1 "$TMP/$1.recv.err"))"
	fi
}

# judge MODE NAME WHAT COUNTERS: with none the transfer must have been
# broken; with encrypt it must be intact and COUNTERS ("host:counter ...",
# read before into BEFORE) must each have grown
declare -A BEFORE
snap() {
	local hc
	for hc in "$@"; do BEFORE[$hc]=$(counter "remote.${hc#*:}" "${hc%%:*}"); done
}
judge() {
	local mode=$1 name=$2 what=$3 hc grew=""
	shift 3
	sleep 0.2 # the counters reach the status file every 100 ms
	if [[ $mode == none ]]; then
		[[ $OUTCOME != intact ]] || { cat "$TMP/forge.log"; fail "none, $name: the transfer survived $what"; }
		ok "none, $name: $what broke the session: $OUTCOME"
		return
	fi
	[[ $OUTCOME == intact ]] || { tail -n 20 "$TMP/forge.log"; fail "$mode, $name: $OUTCOME"; }
	for hc in "$@"; do
		local now
		now=$(counter "remote.${hc#*:}" "${hc%%:*}")
		((now > BEFORE[$hc])) || { tail -n 20 "$TMP/forge.log"; fail "$mode, $name: ${hc#*:} on ferry-${hc%%:*} did not count $what"; }
		grew+=" ${hc#*:}@${hc%%:*} +$((now - BEFORE[$hc]))"
	done
	ok "$mode, $name: $what dropped (counted:$grew); 3000 messages intact"
}

run_mode() {
	local mode=$1
	: >"$TMP/forge.log"
	if [[ $mode == none ]]; then
		lab_up "$ARGS"
	else
		lab_secure "$mode"
		lab_up_conf "$ARGS"
	fi

	# -- a forged CLOSE --
	snap b:rx_security_mismatch b:rx_auth_failed
	start "close$mode"
	forge close --as a $THRICE --learn-ms 3000 || fail "$mode: the forger saw no packets of the session"
	local sealed=()
	if [[ $mode != none ]]; then
		forge close --as a $THRICE --seal --learn-ms 3000 || fail "$mode: the forger saw no session"
		sealed=(b:rx_security_mismatch b:rx_auth_failed)
	fi
	finish "close$mode"
	judge "$mode" close "a CLOSE as ferry-a" "${sealed[@]}"

	# -- a forged OPEN claiming a restart, and the PONG that proves it --
	snap b:rx_security_mismatch
	start "open$mode"
	"$LAB" exec sw python3 "$FORGE" pong --as a --incarnation $INC --learn-ms 2500 $THRICE \
		>>"$TMP/forge.log" 2>&1 &
	local fpid=$!
	sleep 1 # the forger watches
	kill -STOP "$(dpid a)"
	forge open --as a --to b --service "open$mode" --incarnation $INC $THRICE
	sleep 0.5
	kill -CONT "$(dpid a)"
	wait "$fpid"
	local prc=$?
	[[ $mode != none ]] || ((prc == 0)) || { cat "$TMP/forge.log"; fail "none: ferry-b sent no PING to check the claimed restart"; }
	finish "open$mode"
	judge "$mode" open "an OPEN and a PONG as ferry-a claiming a restart" \
		$([[ $mode != none ]] && echo b:rx_security_mismatch)
	[[ $mode == none ]] || (($(counter remote.peer_restarts b) == 0)) ||
		fail "$mode: ferry-b believed ferry-a restarted"

	# -- forged ACKs for what ferry-b lost --
	# With none, a second transfer is forged at if the first survived:
	# the forger (Python, in another namespace) learns the numbers from
	# what it sees and can fall behind on a loaded machine, and what is
	# shown is that the forgery works, not how fast the forger is.
	local try tries=1
	[[ $mode != none ]] || tries=2
	for ((try = 1; try <= tries; try++)); do
		snap a:rx_security_mismatch a:rx_auth_failed
		start "ack$mode$try"
		# plain and (encrypt) sealed at once, while the transfer runs
		local kinds=("") pids=() k
		[[ $mode == none ]] || kinds+=(--seal)
		for k in "${kinds[@]}"; do
			forge --seed 5 ack --as b --ack peer_next --sack 0 --count 150 \
				--interval-ms 10 --learn-ms 3000 $k &
			pids+=($!)
		done
		for k in "${pids[@]}"; do
			wait "$k" || fail "$mode: the forger saw no packets of the session"
		done
		finish "ack$mode$try"
		[[ $mode == none && $OUTCOME == intact && $try -lt $tries ]] || break
		echo "# none, ack: the transfer survived attempt $try; forging at another one"
	done
	judge "$mode" ack "ACKs as ferry-b for packets it lost" \
		$([[ $mode != none ]] && echo a:rx_security_mismatch a:rx_auth_failed)
	lab_down
}

run_mode none
run_mode encrypt
ok "lab down, nothing left"
