# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# local-daemon.sh: sourced by demo.sh and bench.sh. Builds ferry and runs a
# local-mode ferryd beside any installed service:
#
#   build_ferry BUILD_DIR BUILDTYPE   install deps, configure, build
#   start_local_daemon BUILD_DIR      ferryd with its socket in $FERRY_RUN
#                                     and rings in $FERRY_SHM; sets DPID
#   stop_local_daemon                 SIGTERM, wait; status of ferryd
#
# Callers set PROG and TOP and source ferry-common.sh first.

FERRY_RUN=${FERRY_RUN:-/run/ferry-demo}
FERRY_SHM=${FERRY_SHM:-/dev/shm/ferry-demo}
DPID=

build_ferry() {
	local build=$1 type=$2
	"$TOP/scripts/install-deps.sh"
	[[ -f $build/build.ninja ]] || meson setup "$build" "$TOP" --buildtype="$type" >/dev/null
	ninja -C "$build" >/dev/null
	info "built in $build"
}

start_local_daemon() {
	local build=$1 log=$FERRY_RUN/ferryd.log
	if ! getent passwd ferry >/dev/null; then
		info "creating the ferry user and group (systemd-sysusers)"
		systemd-sysusers "$TOP/systemd/ferry.sysusers"
	fi
	install -d -o ferry -g ferry -m 0750 "$FERRY_RUN"
	"$build/daemon/ferryd" --ipc.socket="$FERRY_RUN/ferryd.sock" \
		--ipc.shm_dir="$FERRY_SHM" 2>"$log" &
	DPID=$!
	trap stop_local_daemon EXIT
	local _
	for _ in $(seq 100); do
		[[ -S $FERRY_RUN/ferryd.sock ]] && break
		kill -0 "$DPID" 2>/dev/null || { cat "$log" >&2; die "ferryd did not start"; }
		sleep 0.05
	done
	info "ferryd (pid $DPID) is up: $(grep -o 'ready in [0-9.]* ms' "$log" || true)"
}

stop_local_daemon() {
	local rc=0
	if [[ -n $DPID ]] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID"
		wait "$DPID" || rc=$?
	fi
	DPID=
	return "$rc"
}
