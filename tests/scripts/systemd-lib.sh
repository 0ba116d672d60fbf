# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Helpers for the tests that check ferry's systemd files with systemd's own
# tools in a scratch root (--root), never on the running system.

# skip REASON: exit 77, which meson reports as a skip.
skip() {
	echo "SKIP: $*"
	exit 77
}

# verify_unit ROOT UNIT_PATH: run `systemd-analyze verify` on a unit that
# lies inside ROOT (at UNIT_PATH, a path inside ROOT). systemd resolves the
# unit's dependencies (sysinit.target, network.target...) and its ExecStart
# binary inside ROOT, so the host's own units are copied in first, without
# replacing anything already there. Prints systemd-analyze's output; fails
# when it fails or says anything about the unit.
verify_unit() {
	local root=$1 unit=$2 d real out rc=0 name
	name=${unit##*/}
	for d in /usr/lib/systemd/system /lib/systemd/system /etc/systemd/system; do
		[[ -d $d ]] || continue
		real=$(readlink -f "$d")
		mkdir -p "$root$real"
		cp -an "$real/." "$root$real/" 2>/dev/null || true
	done
	out=$(systemd-analyze verify --root="$root" --man=no --generators=no "$root$unit" 2>&1) || rc=$?
	if [[ -n $out ]]; then
		printf '# systemd-analyze verify says:\n'
		printf '#   %s\n' "${out//$'\n'/$'\n#   '}"
	fi
	if ((rc != 0)); then
		echo "not ok - systemd-analyze verify $name (exit $rc)"
		return 1
	fi
	if grep -q "$name" <<<"$out"; then
		echo "not ok - systemd-analyze verify $name: warnings about the unit"
		return 1
	fi
	echo "ok - systemd-analyze verify $name"
}

# scratch_root UNITDIR [FILE NAME]...: skip without systemd-analyze;
# otherwise set R to a scratch root removed at exit, copy each FILE to
# UNITDIR/NAME inside it, and set passed/failed to 0 for count().
scratch_root() {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (apt-get install systemd)"
	R=$(mktemp -d "${TMPDIR:-/tmp}/ferry-unit-test.XXXXXX")
	# shellcheck disable=SC2064 # R is meant to be expanded now
	trap "rm -rf '$R'" EXIT
	passed=0
	failed=0
	local dir=$1
	shift
	mkdir -p "$R$dir"
	while (($# >= 2)); do
		cp "$1" "$R$dir/$2"
		shift 2
	done
}

# count CMD...: run a check, adding to passed or failed.
count() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

# stand_in ROOT PATH: an executable at PATH inside ROOT that exits 0, for
# the ExecStart= binary systemd-analyze wants to find.
stand_in() {
	mkdir -p "$1${2%/*}"
	printf '#!/bin/sh\nexit 0\n' >"$1$2"
	chmod 755 "$1$2"
}

# unit_has_line FILE LINE: FILE has LINE exactly.
unit_has_line() {
	if grep -qxF -- "$2" "$1"; then
		echo "ok - ${1##*/} has $2"
	else
		echo "not ok - ${1##*/} has $2"
		return 1
	fi
}
