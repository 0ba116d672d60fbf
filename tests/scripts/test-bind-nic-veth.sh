#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bind-nic.sh against a real veth pair in a network namespace of its own:
# it must refuse to bind a veth (no PCI device behind it), say so clearly,
# and point at a vdev instead. The namespace exists only for this test and is
# deleted at exit. Skipped (77) where namespaces cannot be made.
#
# Usage: test-bind-nic-veth.sh SCRIPTS_DIR
set -uo pipefail

SCRIPTS=${1:?usage: $0 SCRIPTS_DIR}
NS=ferry-t-$$

skip() {
	echo "SKIP: $*"
	exit 77
}

command -v ip >/dev/null || skip "ip(8) is missing (apt-get install iproute2)"
[[ $(id -u) -eq 0 ]] || skip "creating a network namespace needs root"
ip netns add "$NS" 2>/dev/null || skip "cannot create network namespace $NS (no CAP_SYS_ADMIN here?)"
trap 'ip netns del "$NS" 2>/dev/null' EXIT
ip -n "$NS" link add fv0 type veth peer name fv1 2>/dev/null ||
	skip "cannot create a veth pair (no veth support in this kernel?)"
ip -n "$NS" link set fv0 up
ip -n "$NS" addr add 192.0.2.1/24 dev fv0

passed=0
failed=0
# check DESCRIPTION COMMAND...
check() {
	local what=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "ok - $what"
	else
		failed=$((failed + 1))
		echo "not ok - $what"
		printf '#   exit %s\n#   stdout: %s\n#   stderr: %s\n' "$rc" "$out" "$err"
	fi
}
has() { grep -Fq -- "$1" <<<"$2"; }

# `ip netns exec` mounts the namespace's own /sys, so the script sees fv0 in
# /sys/class/net exactly as it would on a host.
for flags in "--dry-run" "--dry-run --force" "--force"; do
	rc=0
	# shellcheck disable=SC2086 # split the flags
	out=$(ip netns exec "$NS" bash "$SCRIPTS/bind-nic.sh" $flags bind fv0 2>"${TMPDIR:-/tmp}/$NS.err") || rc=$?
	err=$(cat "${TMPDIR:-/tmp}/$NS.err")
	rm -f "${TMPDIR:-/tmp}/$NS.err"
	check "bind-nic.sh $flags bind fv0 fails" test "$rc" -eq 1
	check "$flags: says it is a virtual interface" has "fv0 is a virtual interface" "$err"
	check "$flags: points at a vdev" has "net_af_packet0,iface=fv0" "$err"
	check "$flags: prints no command" test -z "$out"
done
# Nothing changed: the veth is still there and up.
rc=0
out=$(ip -n "$NS" -o addr show dev fv0 up) || rc=$?
err=""
check "fv0 is untouched: still up" test -n "$out"
check "fv0 is untouched: still has its address" has "192.0.2.1/24" "$out"

echo "$passed passed, $failed failed"
((failed == 0))
