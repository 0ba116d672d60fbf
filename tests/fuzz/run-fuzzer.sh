#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run-fuzzer.sh [--keep-corpus] REPLAY FUZZER NAME SECONDS OUTDIR [REGRESSIONS]
#
# One bounded libFuzzer run of target NAME (tests/fuzz/README.md):
#   REPLAY       the target's replay runner, which writes the seed corpus
#   FUZZER       the target linked with libFuzzer
#   SECONDS      how long to fuzz
#   OUTDIR       OUTDIR/corpus (what the run adds; kept only with
#                --keep-corpus, else a temporary directory removed
#                afterwards), OUTDIR/crashes (a failing input, kept),
#                OUTDIR/fuzz-SECONDSs.log (the run's output); the seeds
#                are written afresh into a temporary directory, so runs of
#                different lengths can share OUTDIR at once
#   REGRESSIONS  the kept crash inputs, read as corpus too (optional)
#
# Prints one line with the executions, their rate and libFuzzer's coverage
# figures (cov: edges, ft: features). Exits 0, or 1 when the fuzzer found
# an input that breaks an invariant or crashes (its path is printed).
set -euo pipefail

KEEP=0
if [[ ${1:-} == --keep-corpus ]]; then
	KEEP=1
	shift
fi
(($# >= 5)) || { echo "usage: ${0##*/} [--keep-corpus] REPLAY FUZZER NAME SECONDS OUTDIR [REGRESSIONS]" >&2; exit 2; }
REPLAY=$1 FUZZER=$2 NAME=$3 SECONDS_=$4 OUT=$5 REGRESSIONS=${6:-}

LOG=$OUT/fuzz-${SECONDS_}s.log
mkdir -p "$OUT/crashes"
SEEDS=$(mktemp -d "$OUT/seeds.XXXXXX")
CORPUS=$OUT/corpus
if ((KEEP)); then
	mkdir -p "$CORPUS"
	trap 'rm -rf "$SEEDS"' EXIT
else
	CORPUS=$(mktemp -d "$OUT/corpus.XXXXXX")
	trap 'rm -rf "$SEEDS" "$CORPUS"' EXIT
fi
"$REPLAY" --write-seeds "$SEEDS"
dirs=("$CORPUS" "$SEEDS")
[[ -n $REGRESSIONS && -d $REGRESSIONS ]] && dirs+=("$REGRESSIONS")

# error_exitcode: libFuzzer's default, 77, would read as "skipped". max_len:
# room for the largest seed (a ring file of two 4 KiB rings, 20 KiB).
rc=0
SECONDS=0
"$FUZZER" -max_total_time="$SECONDS_" -max_len=32768 -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
	-artifact_prefix="$OUT/crashes/" "${dirs[@]}" >"$LOG" 2>&1 || rc=$?

# "#123456 DONE cov: 812 ft: 3410 corp: 211/40Kb ..." and the final stats
last=$(grep -E '^#[0-9]+' "$LOG" | tail -n 1 || true)
stat() { sed -n "s/^stat::$1: *//p" "$LOG" | tail -n 1; }
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
printf 'fuzz-%s: %s s, %s executions (%s/s), cov: %s ft: %s, corpus %s inputs\n' "$NAME" \
	"$SECONDS" "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" \
	"${cov:-?}" "${ft:-?}" "${corp:-?}"
if ((rc != 0)); then
	tail -n 60 "$LOG"
	echo "fuzz-$NAME: FAILED (exit $rc); the input is in $OUT/crashes/, the log in $LOG"
	echo "fuzz-$NAME: replay it with: $REPLAY $OUT/crashes/<file>"
	exit 1
fi
