#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# `systemd-analyze verify` on ferry-prometheus.service and .timer, placed in
# a scratch root at their install paths with a stand-in ferry-stat at the
# ExecStart path; the service runs ferry-stat --prometheus --out, the timer
# starts it again and again.
#
# Usage: test-systemd-prometheus.sh SERVICE_FILE TIMER_FILE BINDIR UNITDIR
set -uo pipefail

# shellcheck source=systemd-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/systemd-lib.sh"

SERVICE=${1:?usage: $0 SERVICE_FILE TIMER_FILE BINDIR UNITDIR}
TIMER=${2:?}
BINDIR=${3:?}
UNITDIR=${4:?}

scratch_root "$UNITDIR" "$SERVICE" ferry-prometheus.service "$TIMER" ferry-prometheus.timer
stand_in "$R" "$BINDIR/ferry-stat"
count verify_unit "$R" "$UNITDIR/ferry-prometheus.service"
count verify_unit "$R" "$UNITDIR/ferry-prometheus.timer"

count unit_has_line "$SERVICE" "Type=oneshot"
count unit_has_line "$SERVICE" "ExecStart=$BINDIR/ferry-stat --prometheus --out \${FERRY_PROM_FILE}"
count unit_has_line "$SERVICE" "Environment=FERRY_PROM_FILE=/var/lib/prometheus/node-exporter/ferry.prom"
count unit_has_line "$TIMER" "OnUnitActiveSec=15s"
count unit_has_line "$TIMER" "WantedBy=timers.target"

systemd-analyze security --offline=yes --root="$R" ferry-prometheus.service 2>/dev/null |
	grep 'Overall exposure' | sed 's/^/# /' || true

# shellcheck disable=SC2154 # scratch_root sets them
echo "$passed passed, $failed failed"
((failed == 0))
