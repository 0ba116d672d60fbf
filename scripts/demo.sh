#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# demo.sh: set up everything and run ferry's main job: two hosts, each with
# a ferryd that owns its NIC through DPDK, and a client on each exchanging
# messages over a ferry session.
#
#   scripts/demo.sh            the two-host demo in the netns lab
#   scripts/demo.sh --local    two clients on one host (a local session)
#
# Installs missing Debian packages, builds in build-release/, creates the
# `ferry` system user if missing, then: scripts/lab.sh up (hosts ferry-a and
# ferry-b in network namespaces, a ferryd on each one's veth through
# net_af_packet, hugepages when they can be had), ferry-perf ping-pong and a
# one-way stream from a client on ferry-a to one on ferry-b with latency
# percentiles, both daemons' counters, and lab.sh down. Needs root.
set -euo pipefail

PROG=${0##*/}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ferry-common.sh
source "$TOP/scripts/ferry-common.sh"
# shellcheck source=local-daemon.sh
source "$TOP/scripts/local-daemon.sh"

LOCAL=0
case ${1:-} in
-h | --help) awk 'NR > 3 && !/^#/ { exit } NR > 3' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
--local) LOCAL=1 ;;
"") ;;
*) die "unknown argument '$1' (see $PROG --help)" ;;
esac
require_root

BUILD=$TOP/build-release
build_ferry "$BUILD" release
PERF=$BUILD/client-lib/tools/ferry-perf
STAT=$BUILD/client-lib/tools/ferry-stat

if ((LOCAL)); then
	start_local_daemon "$BUILD"
	echo
	echo "== two clients, one local session: ping-pong and a one-way stream =="
	"$PERF" --socket "$FERRY_RUN/ferryd.sock"
	echo
	echo "== ferryd's counters (ferry-stat --once) =="
	"$STAT" --shm-dir "$FERRY_SHM" --once
	echo
	stop_local_daemon && info "ferryd stopped cleanly" || die "ferryd exited with status $?"
	exit 0
fi

if ! getent passwd ferry >/dev/null; then
	info "creating the ferry user and group (systemd-sysusers)"
	systemd-sysusers "$TOP/systemd/ferry.sysusers"
fi
LAB=$TOP/scripts/lab.sh
SPID=
finish() {
	[[ -n $SPID ]] && kill -TERM "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	"$LAB" down >/dev/null 2>&1 || warn "lab.sh down failed; run it by hand"
}
"$LAB" status >/dev/null 2>&1 && die "a lab is up already: run scripts/lab.sh down first"
"$LAB" --build "$BUILD" up
trap finish EXIT

echo
# Two daemons and two clients share the cores here: the clients yield
# rather than spin while they wait, so whoever has work gets a CPU (the
# daemons do the same, spinning only 5 us: idle.* settings).
echo "== ferry-b: a ferry-perf server listening on service \"perf\" =="
"$LAB" exec b "$PERF" -r server --spin-us 0 --yield-us 5000 &
SPID=$!
sleep 0.5
echo "== ferry-a: a client opens a session to 10.77.0.2 and measures =="
"$LAB" exec a "$PERF" -r client -H 10.77.0.2 --sizes 32,1K --count 20000 --warmup 2000 \
	--tcount 20000 --no-floor --spin-us 0 --yield-us 5000
kill -TERM "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null || true
SPID=
for h in a b; do
	echo
	echo "== ferry-$h's ferryd: its non-zero counters (ferry-stat --once) =="
	"$STAT" --shm-dir "/dev/shm/ferry-lab-$h" --once | awk 'NF < 2 || $2 != "0"'
done
echo
finish
trap - EXIT
info "lab down: daemons stopped, namespaces removed"
