#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# fuzz.sh: run one of ferry's libFuzzer targets for as long as you like.
#
#   scripts/fuzz.sh TARGET [SECONDS]   fuzz TARGET (net, shm, config, status,
#                                      peer, cmds, secure) for SECONDS (default 600)
#   scripts/fuzz.sh --build            only set up and build build-fuzz/
#
# Installs what is missing (scripts/install-deps.sh), builds build-fuzz/
# (clang, -Dfuzz=true), writes the target's seeds, then fuzzes with them,
# the kept regressions (tests/fuzz/TARGET/regressions/) and the corpus
# earlier runs grew (build-fuzz/tests/fuzz/TARGET/corpus/, kept between
# runs, never in git). Ends with a line of executions, their rate and the
# coverage (cov: edges, ft: features); exits 1 when an input broke an
# invariant, leaving it in build-fuzz/tests/fuzz/TARGET/crashes/.
# `scripts/test.sh --suite fuzz` runs every target for 30 s, `--suite
# fuzz-long` for 10 minutes. See tests/fuzz/README.md.
set -euo pipefail

PROG=${0##*/}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ferry-common.sh
source "$TOP/scripts/ferry-common.sh"
BUILD=$TOP/build-fuzz

usage() {
	awk 'NR > 3 && !/^#/ { exit } NR > 3' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case ${1:-} in
-h | --help) usage; exit 0 ;;
'') die "which target? (see $PROG --help)" ;;
esac

"$TOP/scripts/install-deps.sh"
if [[ ! -f $BUILD/build.ninja ]]; then
	CC=clang meson setup "$BUILD" "$TOP" --buildtype=debugoptimized -Dwerror=true -Dfuzz=true >/dev/null
fi
if [[ $1 == --build ]]; then
	ninja -C "$BUILD"
	exit 0
fi

T=$1 S=${2:-600}
[[ -f $TOP/tests/fuzz/fuzz_$T.c ]] || die "no fuzz target '$T' (tests/fuzz/fuzz_*.c)"
[[ $S =~ ^[0-9]+$ ]] || die "SECONDS must be a number, not '$S'"
ninja -C "$BUILD" "tests/fuzz/fuzz-$T" "tests/fuzz/fuzz-$T-libfuzzer"
ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
	exec "$TOP/tests/fuzz/run-fuzzer.sh" --keep-corpus "$BUILD/tests/fuzz/fuzz-$T" \
	"$BUILD/tests/fuzz/fuzz-$T-libfuzzer" "$T" "$S" "$BUILD/tests/fuzz/$T" \
	"$TOP/tests/fuzz/$T/regressions"
