#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# demo.sh: set up everything and run ferry's main job on this machine:
# start ferryd, run a ping-pong and a one-way stream between two client
# processes through a ferry session, show the daemon's counters, stop.
#
#   scripts/demo.sh [ferry-perf options, e.g. --sizes 32,1K,64K]
#
# Installs missing Debian packages, builds in build-release/, creates the `ferry`
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

# shellcheck source=local-daemon.sh
source "$TOP/scripts/local-daemon.sh"
BUILD=$TOP/build-release
build_ferry "$BUILD" release
start_local_daemon "$BUILD"

echo
echo "== two clients, one local session: ping-pong and a one-way stream =="
"$BUILD/client-lib/tools/ferry-perf" --socket "$FERRY_RUN/ferryd.sock" "$@"
echo
echo "== ferryd's counters (ferry-stat --once) =="
"$BUILD/client-lib/tools/ferry-stat" --shm-dir "$FERRY_SHM" --once
echo
stop_local_daemon && info "ferryd stopped cleanly" || die "ferryd exited with status $?"
