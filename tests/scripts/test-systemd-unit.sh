#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# `systemd-analyze verify` on the configured ferryd.service, placed in a
# scratch root at its install path, with a stand-in ferryd at the ExecStart
# path (that the real binary is installed is test-install-tree.sh's job).
# Also checks the settings the daemon depends on are there, and prints
# systemd's offline security exposure for the record.
#
# Usage: test-systemd-unit.sh UNIT_FILE SBINDIR UNITDIR
set -uo pipefail

# shellcheck source=systemd-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/systemd-lib.sh"

UNIT=${1:?usage: $0 UNIT_FILE SBINDIR UNITDIR}
SBINDIR=${2:?}
UNITDIR=${3:?}

scratch_root "$UNITDIR" "$UNIT" ferryd.service
stand_in "$R" "$SBINDIR/ferryd"
count verify_unit "$R" "$UNITDIR/ferryd.service"

# The unit must not have lost what the daemon and DPDK rely on.
for l in "Type=notify" "ExecStart=$SBINDIR/ferryd" "NotifyAccess=main" "WatchdogSec=10s" \
	"Restart=on-failure" "LimitMEMLOCK=infinity"; do
	count unit_has_line "$UNIT" "$l"
done
if grep -q '^User=' "$UNIT"; then
	echo "not ok - ferryd.service has no User= (EAL needs root at start; ferryd drops privileges itself)"
	failed=$((failed + 1))
else
	echo "ok - ferryd.service has no User="
	passed=$((passed + 1))
fi
# /run/ferry comes from tmpfiles.d, owned by ferry: a RuntimeDirectory=
# would be re-owned by root at each start and ferryd, once dropped to
# ferry, could not remove its socket.
if grep -q '^RuntimeDirectory=' "$UNIT"; then
	echo "not ok - ferryd.service has no RuntimeDirectory="
	failed=$((failed + 1))
else
	echo "ok - ferryd.service has no RuntimeDirectory="
	passed=$((passed + 1))
fi
if grep -q '@[a-z]*@' "$UNIT"; then
	echo "not ok - every @placeholder@ is substituted"
	failed=$((failed + 1))
else
	echo "ok - every @placeholder@ is substituted"
	passed=$((passed + 1))
fi

# For the record: how exposed systemd thinks the service is.
systemd-analyze security --offline=yes --root="$R" ferryd.service 2>/dev/null |
	grep 'Overall exposure' | sed 's/^/# /' || true

echo "$passed passed, $failed failed"
((failed == 0))
