# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Shared by the two-host tests (twohost.sh, reliable.sh): how they report,
# and the checks before they bring up the lab. Sourced; $LAB is lab.sh.

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok - $*"; }

# lab_preflight TOOL...: skip (77) where the lab cannot run, fail when a
# tool the test needs was not built
lab_preflight() {
	local t
	[[ $(id -u) -eq 0 ]] || skip "needs root for network namespaces and DPDK"
	ip netns add ferry-probe-$$ 2>/dev/null || skip "cannot create network namespaces here"
	ip netns del ferry-probe-$$
	for t in "$@"; do
		[[ -x $t ]] || fail "$(basename "$t") not built (looked for $t)"
	done
	"$LAB" status >/dev/null 2>&1
	[[ $? -eq 3 ]] || skip "a lab is already (partly) up: run scripts/lab.sh down first"
	getent passwd ferry >/dev/null || systemd-sysusers "$(dirname "$LAB")/../systemd/ferry.sysusers" \
		|| skip "no ferry user and systemd-sysusers failed"
}
