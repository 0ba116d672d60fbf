#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# `meson install --destdir` into a scratch directory lays out the tree a
# package needs: every path in EXPECTED below exists (executables
# executable), and the installed ferryd.service passes `systemd-analyze
# verify` against the installed ferryd.
#
# Usage: test-install-tree.sh MESON BUILD_DIR
# The install directories come from the environment (set by meson.build):
# PREFIX BINDIR SBINDIR LIBDIR INCLUDEDIR SYSCONFDIR DATADIR UNITDIR
# SYSUSERSDIR TMPFILESDIR, all absolute.
set -uo pipefail

# shellcheck source=systemd-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/systemd-lib.sh"

MESON=${1:?usage: $0 MESON BUILD_DIR}
BUILD=${2:?}

# What must be installed: a path (with $VARIABLES from the environment, and
# shell globs that must match at least one file), then "x" for files that
# must be executable.
# shellcheck disable=SC2016 # expanded below, from the environment
EXPECTED='
$SBINDIR/ferryd                          x
$BINDIR/ferry-stat                       x
$BINDIR/ferry-perf                       x
$LIBDIR/libferry.so
$LIBDIR/libferry.so.*
$LIBDIR/libferry.a
$LIBDIR/pkgconfig/libferry.pc
$INCLUDEDIR/ferry.h
$SYSCONFDIR/ferry/ferryd.conf
$UNITDIR/ferryd.service
$UNITDIR/ferry-prometheus.service
$UNITDIR/ferry-prometheus.timer
$SYSUSERSDIR/ferry.conf
$TMPFILESDIR/ferry.conf
$DATADIR/ferry/scripts/ferry-common.sh
$DATADIR/ferry/scripts/bind-nic.sh       x
$DATADIR/ferry/scripts/install-deps.sh   x
$DATADIR/ferry/scripts/setup-aws.sh      x
$DATADIR/ferry/scripts/setup-hugepages.sh x
$DATADIR/ferry/wireshark/ferry.lua
'

for v in PREFIX BINDIR SBINDIR LIBDIR INCLUDEDIR SYSCONFDIR DATADIR UNITDIR SYSUSERSDIR TMPFILESDIR; do
	[[ ${!v:-} == /* ]] || { echo "$v must be set to an absolute path (meson.build sets it)"; exit 1; }
	export "${v?}"
done

D=$(mktemp -d "${TMPDIR:-/tmp}/ferry-install-test.XXXXXX")
trap 'rm -rf "$D"' EXIT

passed=0
failed=0

if ! out=$("$MESON" install -C "$BUILD" --no-rebuild --destdir "$D" 2>&1); then
	printf '# %s\n' "${out//$'\n'/$'\n# '}"
	echo "not ok - meson install --destdir"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "ok - meson install --destdir"
passed=$((passed + 1))

while read -r pattern mode; do
	[[ -n $pattern ]] || continue
	path=$(eval "printf '%s' \"$pattern\"")
	# shellcheck disable=SC2206 # the glob is meant to expand
	matches=($D$path)
	if [[ ! -e ${matches[0]} && ! -L ${matches[0]} ]]; then
		echo "not ok - installed: $path"
		failed=$((failed + 1))
		continue
	fi
	if [[ $mode == x && ! -x ${matches[0]} ]]; then
		echo "not ok - installed executable: $path"
		failed=$((failed + 1))
		continue
	fi
	echo "ok - installed${mode:+ executable}: $path"
	passed=$((passed + 1))
done <<<"$EXPECTED"

if [[ ! -x $D$SBINDIR/ferryd ]]; then
	echo "# not verifying the installed unit: ferryd is not installed"
elif ! command -v systemd-analyze >/dev/null; then
	echo "# not verifying the installed unit: systemd-analyze is missing (apt-get install systemd)"
elif verify_unit "$D" "$UNITDIR/ferryd.service"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
((failed == 0))
