#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# install-deps.sh with a fake dpkg-query: nothing to do when every package is
# there (and no apt-get at all), `apt-get update` and an install of exactly
# the missing packages otherwise, the optional tools only with --optional.
#
# Usage: test-install-deps.sh SCRIPTS_DIR
set -uo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fake_init "${1:?usage: $0 SCRIPTS_DIR}"

# Installed unless named in $FAKE_MISSING; logs every query.
FAKE_DPKG=$T/dpkg-query
cat >"$FAKE_DPKG" <<'FAKE'
#!/usr/bin/env bash
pkg=${!#}
printf '%s\n' "$pkg" >>"$FAKE_LOG"
if [[ " $FAKE_MISSING " == *" $pkg "* ]]; then
	echo "dpkg-query: no packages found matching $pkg" >&2
	exit 1
fi
printf 'installed'
FAKE
chmod +x "$FAKE_DPKG"
FAKE_LOG=$T/dpkg.log

deps() { # MISSING ARGS...
	local missing=$1
	shift
	: >"$FAKE_LOG"
	EXTRA_ENV=(FERRY_DPKG_QUERY="$FAKE_DPKG" FAKE_MISSING="$missing" FAKE_LOG="$FAKE_LOG")
	run_script install-deps.sh "$@"
}

deps "" --help
expect_rc 0 "--help"
if grep -q 'libdpdk-dev' <<<"$OUT"; then pass "--help lists the packages"; else fail "--help lists the packages"; fi

deps "" --dry-run
expect_rc 0 "everything installed"
expect_out "" "everything installed: no command"
expect_err_has "nothing to do" "everything installed"
for p in build-essential meson ninja-build pkg-config clang libclang-rt-dev dpdk dpdk-dev libdpdk-dev libnuma-dev \
	libconfig-dev libsystemd-dev libcmocka-dev libcap-dev libsodium-dev iproute2 iputils-ping arping kmod python3 procps systemd \
	prometheus tshark tcpdump; do
	if grep -qx "$p" "$FAKE_LOG"; then pass "checks $p"; else fail "checks $p"; fi
done
if grep -qx valgrind "$FAKE_LOG"; then fail "valgrind is not checked without --optional"; else pass "valgrind is not checked without --optional"; fi

# Without --dry-run and with nothing missing it needs no root and no apt.
deps ""
expect_rc 0 "everything installed, real run"
expect_out "" "everything installed, real run"

deps "kmod libcmocka-dev" --dry-run
expect_rc 0 "two missing"
expect_out "+ apt-get update
+ apt-get install -y --no-install-recommends libcmocka-dev kmod" "two missing"
expect_err_has "installing: libcmocka-dev kmod" "two missing"

# tshark's debconf question is answered before apt-get runs
deps "tshark tcpdump" --dry-run
expect_out "+ debconf-set-selections <<< 'wireshark-common wireshark-common/install-setuid boolean false'
+ apt-get update
+ apt-get install -y --no-install-recommends tshark tcpdump" "tshark missing: debconf answered first"

deps "valgrind" --dry-run
expect_out "" "a missing optional tool is not installed by default"
deps "valgrind" --dry-run --optional
expect_out "+ apt-get update
+ apt-get install -y --no-install-recommends valgrind" "--optional"

deps "" --bogus
expect_rc 1 "unknown option"

finish
