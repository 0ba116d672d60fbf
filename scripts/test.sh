#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# test.sh: set up everything ferry needs and run its test suites.
#
#   scripts/test.sh                      unit + integration suites
#   scripts/test.sh --suite stress       another suite (unit, integration,
#                                        stress, bench, fuzz, fuzz-long);
#                                        repeatable
#   scripts/test.sh --sanitize           the same in an ASan/UBSan build,
#                                        and by default the fuzz suite too
#
# Installs missing Debian packages (scripts/install-deps.sh), configures and
# builds in build/ (build-sanitize/ with --sanitize; the fuzz suites in
# build-fuzz/, clang with libFuzzer, see scripts/fuzz.sh), runs `meson test`,
# and ends with one line "N passed, N failed, N skipped". Run it as root: the
# integration tests create network namespaces and drop privileges, and say
# why they skip (exit 77) when they cannot.
set -euo pipefail

PROG=${0##*/}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ferry-common.sh
source "$TOP/scripts/ferry-common.sh"

usage() {
	awk 'NR > 3 && !/^#/ { exit } NR > 3' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

SUITES=()
SANITIZE=0
while (($#)); do
	case $1 in
	--suite) SUITES+=("${2:?--suite needs a name}"); shift ;;
	--sanitize) SANITIZE=1 ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (see $PROG --help)" ;;
	esac
	shift
done
# The fuzz suite is itself a sanitizer build: once per CI run, with --sanitize.
((${#SUITES[@]})) || { SUITES=(unit integration); ((SANITIZE)) && SUITES+=(fuzz); }
args=() fuzz_args=()
for s in "${SUITES[@]}"; do
	if [[ $s == fuzz* ]]; then fuzz_args+=(--suite "$s"); else args+=(--suite "$s"); fi
done

"$TOP/scripts/install-deps.sh"

BUILD=$TOP/build
OPTS=(--buildtype=debugoptimized -Dwerror=true)
if ((SANITIZE)); then
	BUILD=$TOP/build-sanitize
	OPTS+=(-Db_sanitize=address,undefined -Db_lundef=false)
fi
rc=0 logs=()
# halt_on_error: a sanitizer report fails the test instead of scrolling by
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
if ((${#args[@]})); then
	if [[ -f $BUILD/build.ninja ]]; then
		meson configure "$BUILD" "${OPTS[@]}" >/dev/null
	else
		meson setup "$BUILD" "$TOP" "${OPTS[@]}" >/dev/null
	fi
	ninja -C "$BUILD"
	meson test -C "$BUILD" --print-errorlogs "${args[@]}" || rc=$?
	logs+=("$BUILD/meson-logs/testlog.json")
fi
if ((${#fuzz_args[@]})); then
	"$TOP/scripts/fuzz.sh" --build
	meson test -C "$TOP/build-fuzz" --print-errorlogs "${fuzz_args[@]}" || rc=$?
	logs+=("$TOP/build-fuzz/meson-logs/testlog.json")
fi

"$TOP/scripts/test-summary.sh" "${logs[@]}"
exit "$rc"
