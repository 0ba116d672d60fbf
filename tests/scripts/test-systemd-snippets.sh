#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The sysusers.d and tmpfiles.d snippets, applied by systemd-sysusers and
# systemd-tmpfiles to a scratch root: user and group ferry exist with no
# login, /run/ferry is ferry:ferry 0750 and /dev/shm/ferry ferry:ferry 2750.
#
# Usage: test-systemd-snippets.sh SYSUSERS_FILE TMPFILES_FILE
set -uo pipefail

# shellcheck source=systemd-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/systemd-lib.sh"

SYSUSERS=${1:?usage: $0 SYSUSERS_FILE TMPFILES_FILE}
TMPFILES=${2:?}

command -v systemd-sysusers >/dev/null || skip "systemd-sysusers is missing (apt-get install systemd)"
command -v systemd-tmpfiles >/dev/null || skip "systemd-tmpfiles is missing (apt-get install systemd)"

R=$(mktemp -d "${TMPDIR:-/tmp}/ferry-snippets-test.XXXXXX")
trap 'rm -rf "$R"' EXIT

passed=0
failed=0
check() { # DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then
		echo "ok - $what"
		passed=$((passed + 1))
	else
		echo "not ok - $what"
		failed=$((failed + 1))
	fi
}

mkdir -p "$R/usr/lib/sysusers.d" "$R/usr/lib/tmpfiles.d" "$R/etc"
cp "$SYSUSERS" "$R/usr/lib/sysusers.d/ferry.conf"
cp "$TMPFILES" "$R/usr/lib/tmpfiles.d/ferry.conf"

out=$(systemd-sysusers --root="$R" 2>&1)
check "systemd-sysusers accepts the snippet" test $? -eq 0
[[ -n $out ]] && printf '# %s\n' "${out//$'\n'/$'\n# '}"
pw=$(grep '^ferry:' "$R/etc/passwd" 2>/dev/null)
gr=$(grep '^ferry:' "$R/etc/group" 2>/dev/null)
check "user ferry exists" test -n "$pw"
check "group ferry exists" test -n "$gr"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
IFS=: read -r _ _ fgid _ <<<"$gr"
check "ferry is a system user (uid $uid < 1000)" test "${uid:-1000}" -lt 1000
check "ferry's primary group is ferry" test "$gid" = "$fgid"
check "ferry has no login shell ($shell)" test "${shell##*/}" = nologin
check "ferry has no home ($home)" test "$home" = /

out=$(systemd-tmpfiles --root="$R" --create 2>&1)
check "systemd-tmpfiles accepts the snippet" test $? -eq 0
[[ -n $out ]] && printf '# %s\n' "${out//$'\n'/$'\n# '}"
check "/run/ferry is ferry:ferry 0750" test "$(stat -c '%a %u:%g' "$R/run/ferry" 2>&1)" = "750 $uid:$fgid"
check "/dev/shm/ferry is ferry:ferry 2750" test "$(stat -c '%a %u:%g' "$R/dev/shm/ferry" 2>&1)" = "2750 $uid:$fgid"

echo "$passed passed, $failed failed"
((failed == 0))
