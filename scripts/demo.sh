#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# demo.sh: set up everything and run ferry's main job on this machine:
# start ferryd, run a ping-pong and a one-way stream between two client
# processes through a ferry session, show the daemon's counters, stop.
#
#   scripts/demo.sh [ferry-perf options, e.g. --sizes 32,1K,64K]
#
# Installs missing Debian packages, builds in build/, creates the `ferry`
# system user if missing (from systemd/ferry.sysusers), and runs ferryd
# with its socket in /run/ferry-demo and its rings in /dev/shm/ferry-demo,
# so an installed ferryd.service is not disturbed. Needs root.
set -euo pipefail

PROG=${0##*/}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ferry-common.sh
source "$TOP/scripts/ferry-common.sh"

case ${1:-} in -h | --help) sed -n '4,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
require_root

"$TOP/scripts/install-deps.sh"
BUILD=$TOP/build
[[ -f $BUILD/build.ninja ]] || meson setup "$BUILD" "$TOP" --buildtype=release >/dev/null
ninja -C "$BUILD" >/dev/null
info "built in $BUILD"

if ! getent passwd ferry >/dev/null; then
	info "creating the ferry user and group (systemd-sysusers)"
	systemd-sysusers "$TOP/systemd/ferry.sysusers"
fi

RUN=/run/ferry-demo
SHM=/dev/shm/ferry-demo
install -d -o ferry -g ferry -m 0750 "$RUN"
LOG=$RUN/ferryd.log
DPID=
cleanup() {
	if [[ -n $DPID ]] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID"
		wait "$DPID" || true
	fi
}
trap cleanup EXIT

"$BUILD/daemon/ferryd" --ipc.socket="$RUN/ferryd.sock" --ipc.shm_dir="$SHM" 2>"$LOG" &
DPID=$!
for _ in $(seq 100); do
	[[ -S $RUN/ferryd.sock ]] && break
	kill -0 "$DPID" 2>/dev/null || { cat "$LOG" >&2; die "ferryd did not start"; }
	sleep 0.05
done
info "ferryd (pid $DPID) is up: $(grep -o 'ready in [0-9.]* ms' "$LOG" || true)"

echo
echo "== two clients, one local session: ping-pong and a one-way stream =="
"$BUILD/client-lib/tools/ferry-perf" --socket "$RUN/ferryd.sock" "$@"
echo
echo "== ferryd's counters (ferry-stat --once) =="
"$BUILD/client-lib/tools/ferry-stat" --shm-dir "$SHM" --once
echo
kill -TERM "$DPID"
wait "$DPID" && info "ferryd stopped cleanly" || die "ferryd exited with status $?"
DPID=
