#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Hostile hosts on the lab's Ethernet segment (scripts/lab.sh): a forger in
# the switch's namespace (ferry_forge.py) sees every frame between ferry-a
# and ferry-b, learns their sessions and sends frames as either of them.
# Each case drives real clients (ferry-xfer checks every byte) and says
# what must hold:
#   1n  OPENs that fill a stopped listener's event backlog to its limit,
#       then one that restarts a session: ferry-b stays up (telling the
#       listener about the end must not end the session twice), also when
#       the 4096 sessions time out one after the other;
#   2a  a DATA packet that breaks the framing of a session whose client
#       closed with data unacked (CLOSING), 2b of one waiting for its
#       CLOSE_ACK (CLOSE_SENT), 2c of one whose peer closed while its
#       stopped reader still has messages coming (PEER_CLOSED): ferry-a
#       stays up;
#   3   a thousand out-of-order DATA packets, all at one stream offset: what
#       ferry-b holds out of order stays within the window it advertised
#       (64 KiB), the rest counted in remote.rx_beyond_window; the session
#       completes or ends with a reason (the gap before them never fills);
#   4a  a CLOSE far outside the receiver's window: dropped (counted in
#       remote.rx_rejected), the transfer completes intact; 4b an OPEN that
#       reuses a live session's opener id: the transfer completes; 4c
#       session ids are not sequential;
#   5a 200 random ACKs: each counted in remote.acks_invalid, the transfer
#       completes; 5b an ACK with ferry-b's own ack fields that opens the
#       window by 1 GiB while the reader is stopped for longer than a
#       silent peer is given: ferry-a believes it (it cannot tell), but
#       goes no further than ferry-b promised at the handshake (its ring,
#       at most RING / MSS + 2 packets past the window, dropped), until
#       ferry-b's next ACK brings the window back down; it does not send
#       them again until the window opens, and the transfer completes;
#   6   one garbage DATA packet at a plausible number while the reader is
#       stopped: the session completes, or ends (timed out, protocol
#       violation) within a bound; it does not stall;
#   7   ARP requests and replies that give ferry-b's address another MAC,
#       mid-transfer: ferry-a keeps the MAC its session confirms (and
#       counts every claim in arp.arp_conflicts), the transfer completes;
#   9   a client that leaves a command ring that never runs dry (records in a
#       lap that ends where it starts) and hangs up: ferry-a takes no more
#       than the ring holds into the session's send buffer.
# After each case both daemons must be up (a daemon that died is reported
# with what its log says, and restarted for the next case). Every case
# runs; the test fails if any did. HOSTILE_ONLY="2a 4b" runs only those;
# HOSTILE_VERBOSE=1 shows what the forger saw and sent in every case.
#
# The daemons run without MALLOC_PERTURB_ (meson sets it): with it, the
# memory of a session freed under a packet reads as a dirty session, and a
# use after free passes unseen in a build without ASan. Case 1n wants it
# the other way round, and sets it for its ferry-b.
#
# usage: hostile_peer.sh LAB_SH BUILD_DIR FORGE_PY
# exit:  0 pass, 1 fail, 77 skip (no root, no namespaces, a lab already up,
#        DPDK cannot start)
set -u

LAB=$1
BUILD=$2
FORGE=$3
XFER=$BUILD/tests/integration/ferry-xfer
FLOOD=$BUILD/tests/integration/ferry-hangup-flood
STAT=$BUILD/client-lib/tools/ferry-stat
TMP=$(mktemp -d /tmp/ferry-hostile.XXXXXX)
UP=0
PIDS=()
FAILED=()
ONLY=${HOSTILE_ONLY:-}
# small rings (a 64 KiB window), room for thousands of sessions, a peer
# declared dead after 2 s
RING=65536
MSS=1424
ARGS="--ipc.client_ring_size=$RING --ipc.max_message_size=16384"
ARGS+=" --limits.max_sessions=16384 --limits.max_sessions_per_client=16384"
ARGS+=" --transport.peer_timeout_ms=2000 --transport.keepalive_ms=200"
unset MALLOC_PERTURB_

# shellcheck source=lab_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_common.sh"

# Stop what a case started, by PID (a stopped process is woken first).
stop_pids() {
	local p
	for p in "${PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=()
}

trap lab_cleanup EXIT
trap "exit 143" TERM INT

lab_preflight "$XFER" "$FLOOD" "$STAT"
[[ -r $FORGE ]] || fail "no forging tool at $FORGE"

dpid() { cat "/run/ferry-lab/$1.pid" 2>/dev/null; }

# forge ARG...: ferry_forge.py in the switch's namespace, its output kept
forge() {
	echo "# forge $*" >>"$TMP/forge.log"
	"$LAB" exec sw python3 "$FORGE" "$@" >>"$TMP/forge.log" 2>&1
}

# send_bg NAME FROM TO_IP ARG...: ferry-xfer send in the background (PID in
# SPID), output in $TMP/NAME.send and .send.err
send_bg() {
	local name=$1 from=$2 to=$3
	shift 3
	"$LAB" exec "$from" "$XFER" send --host "$to" --service "$name" "$@" >"$TMP/$name.send" \
		2>"$TMP/$name.send.err" &
	SPID=$!
	PIDS+=("$SPID")
}

# xfer_bg NAME ARG... [-- SEND_ARG...]: a receiver on ferry-b and a sender on
# ferry-a, both with ARGs (the sender also with SEND_ARGs), in the
# background (RPID, SPID)
xfer_bg() {
	local name=$1 both=() extra=()
	shift
	while (($#)) && [[ $1 != -- ]]; do
		both+=("$1")
		shift
	done
	(($#)) && shift
	extra=("$@")
	recv_bg "$name" "${both[@]}"
	PIDS+=("$RPID")
	send_bg "$name" a 10.77.0.2 "${both[@]}" "${extra[@]}"
}

# forge_bg ARG...: the forger in the background (FPID), for the cases where
# it must learn the session from its first packets
forge_bg() {
	forge "$@" &
	FPID=$!
	PIDS+=("$FPID")
	sleep 1
}

# xfer_wait NAME: wait for both ends of xfer_bg; 0 if both verified
# everything, else the problem is noted with what they said
xfer_wait() {
	local name=$1 src rrc
	wait "$SPID"
	src=$?
	wait "$RPID"
	rrc=$?
	if ((src != 0 || rrc != 0)); then
		problem "transfer $name: sender exit $src ($(tail -n 1 "$TMP/$name.send.err")), receiver exit $rrc ($(tail -n 1 "$TMP/$name.recv.err"))"
		return 1
	fi
	return 0
}

# completed_or_ended NAME: wait for both ends of a transfer run with
# --tolerate-end; each verified everything, or was told the session ended
# for lack of progress or a broken protocol (what ferryd may do with a
# session a forger damaged); a timeout (exit 2) is a stall
completed_or_ended() {
	local name=$1 end rc
	for end in send recv; do
		if [[ $end == send ]]; then wait "$SPID"; else wait "$RPID"; fi
		rc=$?
		case $rc in
		0) ;;
		3) grep -qE "session ended \((timed out|protocol violation)\)" "$TMP/$name.$end.err" ||
			problem "$end: $(tail -n 1 "$TMP/$name.$end.err")" ;;
		2) problem "$end stalled: neither delivered nor told the session ended ($(tail -n 1 "$TMP/$name.$end.err"))" ;;
		*) problem "$end exit $rc: $(tail -n 1 "$TMP/$name.$end.err")" ;;
		esac
	done
}

# ---- cases -----------------------------------------------------------------------

CASE=
PROBLEMS=()
problem() { PROBLEMS+=("$*"); }

# What a dead daemon's log says about its end.
death_note() {
	local log=/run/ferry-lab/$1.log line
	line=$(grep -m1 -E "ERROR: AddressSanitizer|SUMMARY: |double free|free\(\)|malloc\(\)|corrupted|runtime error" "$log" 2>/dev/null)
	[[ -n $line ]] || line="no word in its log (killed by a signal)"
	printf '%s' "$line"
}

# daemon_check HOST: up, or noted as a problem and started again
daemon_check() {
	local h=$1
	# one that reported a sanitizer error is on its way out (symbolizing)
	for _ in $(seq 100); do
		grep -q "ERROR: AddressSanitizer" "/run/ferry-lab/$h.log" 2>/dev/null || break
		kill -0 "$(dpid "$h")" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$(dpid "$h")" 2>/dev/null && ! grep -q "ERROR: AddressSanitizer" "/run/ferry-lab/$h.log"; then
		return 0
	fi
	problem "ferryd $h died: $(death_note "$h")"
	cp "/run/ferry-lab/$h.log" "$TMP/$h.$CASE.log" 2>/dev/null
	kill -0 "$(dpid "$h")" 2>/dev/null && "$LAB" kill "$h" >/dev/null 2>&1
	LAB_FERRYD_ARGS="$ARGS" "$LAB" start "$h" >"$TMP/start.log" 2>&1 ||
		{ cat "$TMP/start.log"; fail "cannot start ferryd $h again after case $CASE"; }
}

run_case() {
	CASE=$1
	shift
	if [[ -n $ONLY && " $ONLY " != *" $CASE "* ]]; then
		return 0
	fi
	PROBLEMS=()
	echo "# case $CASE: $1"
	: >"$TMP/forge.log"
	"case_$CASE"
	stop_pids
	local h
	for h in a b; do
		kill -CONT "$(dpid "$h")" 2>/dev/null
	done
	# a crash may take a moment (ASan prints its report first)
	sleep 1
	daemon_check a
	daemon_check b
	if ((${#PROBLEMS[@]} == 0)); then
		ok "$CASE: $1"
		[[ -n ${HOSTILE_VERBOSE:-} ]] && sed 's/^/#   | /' "$TMP/forge.log"
		return 0
	fi
	echo "not ok - $CASE: $1"
	local p
	for p in "${PROBLEMS[@]}"; do
		echo "#   $p"
	done
	sed 's/^/#   | /' "$TMP/forge.log" | tail -n 12
	FAILED+=("$CASE")
}

# -- 1n: the listener's event backlog at its limit when a session ends --
# all the OPENs come from one address (with one incarnation), so ferry-b
# takes that many half-open sessions from one peer; they time out after 15 s
ARGS_1N="--transport.open_timeout_ms=15000 --limits.max_half_open_per_peer=16384"
case_1n() {
	local q0 q=-1 n i pend=0 want=4096
	# sessions that time out while the backlog is full, in a second round;
	# freed memory filled (MALLOC_PERTURB_), so that a session ended twice
	# crashes a build without ASan at once instead of corrupting its heap
	"$LAB" kill b >/dev/null 2>&1
	MALLOC_PERTURB_=165 LAB_FERRYD_ARGS="$ARGS $ARGS_1N" "$LAB" start b \
		>"$TMP/start.log" 2>&1 || { cat "$TMP/start.log"; fail "cannot restart ferryd b"; }
	recv_bg hold --seed 7 --count 1 --timeout-ms 60000
	PIDS+=("$RPID")
	kill -STOP "$RPID" # it listens, and reads nothing more
	q0=$(counter daemon.events_queued b)
	# INCOMING until exactly $want events wait in ferryd's backlog: the
	# event ring takes some first; batches, then what is missing
	forge --seed 11 open --as a --to b --service hold --src 0x51000000 --src-step 1 --count 1500 \
		--incarnation 0x51515151
	for i in 1 2 3 4 5; do
		for _ in $(seq 40); do
			sleep 0.2
			n=$(counter daemon.events_queued b)
			[[ $n == "$q" ]] && break
			q=$n
		done
		pend=$((q - q0))
		((pend < want && i < 5)) || break
		forge --seed $((11 + i)) open --as a --to b --service hold --incarnation 0x51515151 \
			--src $((0x52000000 + i * 0x100000)) --src-step 1 --count $((want - pend))
	done
	if ((pend != want)); then
		problem "could not bring the listener's backlog to $want events (at $pend)"
		return
	fi
	echo "# $want events wait for the stopped listener; ferry-b has $(counter daemon.sessions b) sessions"
	# the first session again, with another first packet number: ferry-b
	# ends the old one, and telling the listener passes the limit
	forge --seed 99 open --as a --to b --service hold --src 0x51000000 --count 1 \
		--incarnation 0x51515151
	sleep 1
	[[ -n ${HOSTILE_DEBUG:-} ]] && echo "# DEBUG sessions $(counter daemon.sessions b) reclaimed $(counter daemon.clients_reclaimed b) queued $(counter daemon.events_queued b) dup $(counter remote.rx_duplicates b)" && grep -v "^<7>" /run/ferry-lab/b.log | tail -5
	kill -0 "$(dpid b)" 2>/dev/null || return
	# and the 4000 sessions time out, each telling the listener
	for _ in $(seq 40); do
		sleep 0.5
		(($(counter daemon.sessions b) == 0)) && break
		kill -0 "$(dpid b)" 2>/dev/null || return
	done
	"$LAB" kill b >/dev/null 2>&1
	LAB_FERRYD_ARGS="$ARGS" "$LAB" start b >"$TMP/start.log" 2>&1 ||
		{ cat "$TMP/start.log"; fail "cannot restart ferryd b"; }
}

# one DATA packet as ferry-b to ferry-a, in order, at a wrong stream offset
# (within the window: with no client, ferry-a takes up to 1 GiB ahead),
# asking for an answer (PROBE) and acking a number ferry-a never sent
BAD_DATA=(data --as b --seq expected --len 64 --flag PROBE --set ack=peer_next+0x40000000)

# -- 2a: CLOSING --
case_2a() {
	xfer_bg c2a --seed 7 --count 100000 --max-size 4K --tolerate-end --timeout-ms 30000 -- --rate 5000
	sleep 1
	# ferry-b stops answering; the sender dies with its data unacked, so
	# ferry-a keeps the session to finish sending it
	kill -STOP "$(dpid b)"
	sleep 0.05
	kill -KILL "$SPID"
	wait "$SPID" 2>/dev/null
	forge "${BAD_DATA[@]}" --off 100000 --learn-ms 1500 ||
		problem "the forger saw no packet of ferry-a's closing session"
	sleep 2
}

# -- 2b: CLOSE_SENT --
case_2b() {
	recv_bg c2b --seed 7 --count 200 --max-size 4K --hold-ms 5000 --timeout-ms 30000
	PIDS+=("$RPID")
	forge_bg "${BAD_DATA[@]}" --off 100000 --when CLOSE:a --learn-ms 8000 --when-ms 8000
	send_bg c2b a 10.77.0.2 --seed 7 --count 200 --max-size 4K --hold-ms 2000 --timeout-ms 30000
	sleep 1.5
	# all is acked; ferry-b stops; the sender closes: CLOSE, no CLOSE_ACK
	kill -STOP "$(dpid b)"
	wait "$SPID"
	wait "$FPID" || problem "the forger saw no CLOSE from ferry-a"
	sleep 2
}

# -- 2c: PEER_CLOSED --
case_2c() {
	# the reader stops after the first message; the sender's 3000 tiny
	# messages fit the window but not the ring: ferry-a holds some when
	# the sender's CLOSE comes
	RECV_ON=a recv_bg c2c --seed 7 --count 3000 --max-size 16 --stall-after 0 --stall-ms 8000 \
		--close-at-once --tolerate-end --timeout-ms 30000
	PIDS+=("$RPID")
	# the reader is alive: the bytes just before the end, within its window
	forge_bg "${BAD_DATA[@]}" --off end-64 --when CLOSE:b --delay-ms 200 --learn-ms 8000 \
		--when-ms 8000
	send_bg c2c b 10.77.0.1 --seed 7 --count 3000 --max-size 16 --close-at-once --timeout-ms 30000
	wait "$SPID" || problem "the sender on ferry-b failed: $(tail -n 1 "$TMP/c2c.send.err")"
	wait "$FPID" || problem "the forger saw no CLOSE from ferry-b"
	sleep 2
}

# -- 3: out-of-order data past the window --
case_3() {
	local o0 b0 r0 o1 b1 r1 n=1000 max_held
	o0=$(counter remote.rx_out_of_order b)
	b0=$(counter remote.rx_beyond_window b)
	r0=$(rss b)
	recv_bg c3 --seed 7 --count 100 --max-size 4K --hold-ms 5000 --tolerate-end --timeout-ms 30000
	PIDS+=("$RPID")
	# learn the session from its first packets, then, once it is quiet,
	# a thousand packets after the next expected one, all at the offset
	# the second would have
	forge_bg data --as a --seq expected+1 --seq-step 1 --off end+$MSS --len $MSS --count $n \
		--when DATA:a --delay-ms 1500 --learn-ms 5000
	send_bg c3 a 10.77.0.2 --seed 7 --count 100 --max-size 4K --hold-ms 5000 --tolerate-end \
		--timeout-ms 30000
	wait "$FPID" || problem "the forger saw no DATA from ferry-a"
	sleep 0.5
	o1=$(counter remote.rx_out_of_order b)
	b1=$(counter remote.rx_beyond_window b)
	r1=$(rss b)
	max_held=$((RING / MSS + 1))
	echo "# ferry-b held $((o1 - o0)) forged packets out of order ($(((o1 - o0) * MSS / 1024)) KiB" \
		"against a window of $((RING / 1024)) KiB), counted $((b1 - b0)) beyond the window;" \
		"RSS grew $((r1 - r0)) KiB"
	(((o1 - o0) <= max_held)) ||
		problem "ferry-b holds $((o1 - o0)) out-of-order packets ($(((o1 - o0) * MSS)) bytes), more than its window of $RING bytes takes ($max_held)"
	(((b1 - b0) >= n - max_held)) ||
		problem "remote.rx_beyond_window grew by $((b1 - b0)), not by the $((n - max_held)) or more packets past the window"
	# the gap before them never fills: the session may end for that
	completed_or_ended c3
}

# -- 4: forged control packets --
case_4a() {
	local r0 r1
	xfer_bg c4a --seed 7 --count 3000 --max-size 4K --timeout-ms 30000 -- --rate 1000
	sleep 1
	r0=$(counter remote.rx_rejected b)
	forge close --as a --seq expected+100000 --learn-ms 3000 ||
		problem "the forger saw no packets of the session"
	xfer_wait c4a
	r1=$(counter remote.rx_rejected b)
	(((r1 - r0) >= 1)) || problem "remote.rx_rejected on ferry-b did not count the CLOSE (+$((r1 - r0)))"
}

case_4b() {
	# the forger sees the OPEN, so it knows ferry-a's incarnation: the
	# forged OPEN is not a restart, only an id used again
	recv_bg c4b --seed 7 --count 3000 --max-size 4K --timeout-ms 30000
	PIDS+=("$RPID")
	forge_bg open --as a --to b --service c4b --src id --when DATA:a --delay-ms 1000 \
		--learn-ms 5000
	send_bg c4b a 10.77.0.2 --seed 7 --count 3000 --max-size 4K --timeout-ms 30000 --rate 1000
	wait "$FPID" || problem "the forger saw no packets of the session"
	xfer_wait c4b
}

case_4c() {
	local i
	"$LAB" exec sw python3 "$FORGE" sessions --ms 7000 >"$TMP/ids.json" 2>>"$TMP/forge.log" &
	FPID=$!
	PIDS+=("$FPID")
	sleep 1
	for i in 1 2 3 4 5 6; do
		xfer_bg "c4c$i" --seed 7 --count 1 --timeout-ms 5000
		xfer_wait "c4c$i"
	done
	wait "$FPID"
	python3 - "$TMP/ids.json" <<'PY' 2>&1 || problem "session ids follow each other (above)"
import json, sys
ids = {"a": [], "b": []}
for s in json.load(open(sys.argv[1])):
    for side in s["sides"]:
        if side["host"] in ids and side["id"] not in ids[side["host"]]:
            ids[side["host"]].append(side["id"])
print("# session ids in the order they appeared: a %s, b %s" % (ids["a"], ids["b"]))
for host, seen in ids.items():
    if len(seen) < 4:
        sys.exit("# only %d sessions of %s seen" % (len(seen), host))
    close = [(x, y) for x, y in zip(seen, seen[1:]) if abs(x - y) < 256]
    if close:
        sys.exit("# %s: ids in a row differ by less than 256: %s" % (host, close))
PY
}

# -- 5: forged ACKs --
case_5a() {
	local i0 i1 n=200
	xfer_bg c5a --seed 7 --count 3000 --max-size 4K --timeout-ms 30000 -- --rate 1000
	sleep 1
	i0=$(counter remote.acks_invalid a)
	forge --seed 5 ack --as b --random --count $n --interval-ms 5 --learn-ms 3000 ||
		problem "the forger saw no packets of the session"
	i1=$(counter remote.acks_invalid a)
	echo "# ferry-a counted $((i1 - i0)) of $n random ACKs as invalid"
	(((i1 - i0) >= n - n / 20)) ||
		problem "only $((i1 - i0)) of $n random ACKs were counted in remote.acks_invalid"
	xfer_wait c5a
}

case_5b() {
	local b0 b1 max=$((RING / MSS + 2))
	recv_bg c5b --seed 7 --count 400 --max-size 4K --timeout-ms 30000 --stall-after 50 --stall-ms 5000
	PIDS+=("$RPID")
	send_bg c5b a 10.77.0.2 --seed 7 --count 400 --max-size 4K --timeout-ms 30000
	sleep 1.5
	b0=$(counter remote.rx_beyond_window b)
	# ferry-b's own ack fields, and a window 1 GiB further
	forge ack --as b --window window+0x40000000 --learn-ms 2000 ||
		problem "the forger saw no packets of the session"
	sleep 3
	b1=$(counter remote.rx_beyond_window b)
	echo "# while the reader was stopped, ferry-b dropped $((b1 - b0)) packets beyond its window (at most $max: its ring)"
	(((b1 - b0) <= max)) ||
		problem "after one forged ACK, ferry-a sent $((b1 - b0)) packets past ferry-b's window, more than ferry-b's ring ($max)"
	xfer_wait c5b
}

# -- 6: garbage DATA while the reader is stopped --
case_6() {
	local t0 t1 bound=15
	recv_bg c6 --seed 7 --count 400 --max-size 4K --stall-after 50 --stall-ms 3000 --tolerate-end \
		--timeout-ms 20000
	PIDS+=("$RPID")
	# once the reader has stopped: 30 numbers past what ferry-a sent,
	# bytes it already sent
	forge_bg data --as a --seq next+30 --off end-64 --len 64 --when DATA:a --delay-ms 1500 \
		--learn-ms 5000
	send_bg c6 a 10.77.0.2 --seed 7 --count 400 --max-size 4K --tolerate-end --timeout-ms 20000
	wait "$FPID" || problem "the forger saw no DATA from ferry-a"
	t0=$(date +%s)
	completed_or_ended c6
	t1=$(date +%s)
	(((t1 - t0) <= bound)) || problem "the session took $((t1 - t0)) s to complete or end (bound $bound s)"
}

# -- 7: ARP claims for ferry-b's address --
case_7() {
	local c0 c1
	xfer_bg c7 --seed 7 --count 4000 --max-size 4K --timeout-ms 30000 -- --rate 1000
	sleep 1
	c0=$(counter arp.arp_conflicts a)
	forge arp --claim 10.77.0.2 --mac 02:66:00:00:00:02 --to a --op request --count 5 --interval-ms 100
	forge arp --claim 10.77.0.2 --mac 02:66:00:00:00:02 --to a --op reply --count 5 --interval-ms 100
	xfer_wait c7
	c1=$(counter arp.arp_conflicts a)
	echo "# ferry-a counted $((c1 - c0)) of the 10 claims in arp.arp_conflicts"
	# the session confirms the entry while it lives: every claim is refused
	(((c1 - c0) >= 10)) || problem "arp.arp_conflicts on ferry-a counted $((c1 - c0)) of the 10 claims"
}

# -- 9: a client that hangs up and writes on --
case_9() {
	local t0 t1 r0 r1 out fl
	recv_bg c9 --seed 7 --count 1000000 --max-size 16K --tolerate-end --timeout-ms 40000
	PIDS+=("$RPID")
	t0=$(counter remote.tx_messages a)
	r0=$(rss a)
	"$LAB" exec a "$FLOOD" --host 10.77.0.2 --service c9 --size 16000 --pause-ms 1500 \
		>"$TMP/flood.json" 2>"$TMP/flood.err" &
	fl=$!
	PIDS+=("$fl")
	# the session is up: the reader stops before it reads anything
	for _ in $(seq 100); do
		grep -q '^up' "$TMP/flood.err" 2>/dev/null && break
		sleep 0.05
	done
	kill -STOP "$RPID"
	wait "$fl" || { problem "ferry-hangup-flood: $(cat "$TMP/flood.err")"; return; }
	sleep 1
	t1=$(counter remote.tx_messages a)
	r1=$(rss a)
	out=$(python3 - "$TMP/flood.json" "$t0" "$t1" "$r0" "$r1" <<'PY'
import itertools, json, sys
f = json.load(open(sys.argv[1]))
t0, t1, r0, r1 = (int(x) for x in sys.argv[2:6])
# what ferryd took beyond the messages it had read before the ring was
# rewritten came from the lap, in order, round and round
taken = t1 - t0 - (f["sent"] - f["unread"])
lap = f["lap"]
got = sum(itertools.islice(itertools.cycle(lap), max(taken, 0)))
print("# ferry-a read %d records (%d KiB) from the ring the client left (one lap: %d records, "
      "%d KiB; the ring: %d KiB); RSS grew %d KiB" % (taken, got >> 10, len(lap),
      sum(lap) >> 10, f["ring_bytes"] >> 10, r1 - r0))
if got > f["ring_bytes"]:
    print("PROBLEM ferry-a took %d KiB from a %d KiB ring after its client hung up (%.1f laps "
          "of it) into the session's send buffer" % (got >> 10, f["ring_bytes"] >> 10,
                                                   taken / len(lap)))
PY
) || problem "cannot read what ferry-hangup-flood wrote: $(cat "$TMP/flood.json")"
	echo "$out" | grep -v '^PROBLEM'
	if grep -q '^PROBLEM' <<<"$out"; then
		problem "$(sed -n 's/^PROBLEM //p' <<<"$out")"
	fi
}

# -----------------------------------------------------------------------------------

lab_up "$ARGS"
ok "lab up"
run_case 1n "a stopped listener's backlog at its limit when OPENs restart a session"
run_case 2a "framing broken on a CLOSING session"
run_case 2b "framing broken on a CLOSE_SENT session"
run_case 2c "framing broken on a PEER_CLOSED session"
run_case 3 "a thousand out-of-order packets at one offset"
run_case 4a "a CLOSE far outside the window"
run_case 4b "an OPEN that reuses a live session's id"
run_case 4c "session ids"
run_case 5a "random ACKs"
run_case 5b "one ACK that opens the window by 1 GiB"
run_case 6 "garbage DATA at a plausible number"
run_case 9 "a client that hangs up leaving a ring that never runs dry"
run_case 7 "ARP claims for the peer's address"
lab_down
if ((${#FAILED[@]})); then
	fail "cases ${FAILED[*]} failed"
fi
ok "every case held; lab down"
