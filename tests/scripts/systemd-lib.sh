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
