#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# plot-hgrm.sh: latency percentile charts from HdrHistogram percentile
# distributions (.hgrm, as ferry-perf --hgrm and udp_pingpong --hgrm write
# them), one PNG per scenario, with gnuplot.
#
#   scripts/plot-hgrm.sh [--out DIR] HGRM_DIR
#
# Files are named <scenario>-<impl>.hgrm, <impl> without a '-': every
# file of a scenario is one curve on its chart <scenario>.png, e.g.
# twohost-32B-rtt.hgrm and twohost-32B-udpbusy.hgrm are ferry and kernel
# UDP on the chart twohost-32B.png. Any scenario name works, so new
# benchmark rows plot without changes here. The x axis is the percentile
# on HdrHistogram's scale (1/(1-p), log), the y axis the round-trip time
# in microseconds (log).
#
#   --out DIR   where the PNGs go (default: HGRM_DIR)
#
# Needs gnuplot (Debian: gnuplot-nox; scripts/bench.sh --plot installs it).
# Prints the charts it wrote; a file that is not a percentile distribution
# is skipped with a warning. Exit status: 0, or 1 when nothing was plotted.
set -euo pipefail

PROG=${0##*/}
# shellcheck source=ferry-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/ferry-common.sh"

# How a curve is labelled, by <impl>, in the order curves are drawn;
# others come after, by name, labelled as named.
ORDER="rtt memif rpc udpbusy udpblock floor"
declare -A LABEL=(
	[rtt]="ferry"
	[floor]="shared-memory floor (two cache lines)"
	[rpc]="ferry RPC, one call at a time"
	[memif]="ferry over net_memif (no kernel)"
	[udpbusy]="kernel UDP, busy-polling"
	[udpblock]="kernel UDP, blocking"
)

OUT=
while (($#)); do
	case $1 in
	--out) OUT=${2:?--out needs a directory}; shift ;;
	-h | --help) awk 'NR > 3 && !/^#/ { exit } NR > 3' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown argument '$1' (see $PROG --help)" ;;
	*) break ;;
	esac
	shift
done
(($# == 1)) || die "one directory of .hgrm files, please (see $PROG --help)"
IN=$1
OUT=${OUT:-$IN}
[[ -d $IN ]] || die "$IN is not a directory"
have gnuplot || die "gnuplot is missing: apt-get install gnuplot-nox"
mkdir -p "$OUT"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# scenario -> its files, in name order
declare -A FILES=()
for f in "$IN"/*.hgrm; do
	[[ -e $f ]] || continue
	name=${f##*/}
	name=${name%.hgrm}
	if [[ $name != *-* ]]; then
		warn "$f: not named <scenario>-<impl>.hgrm; skipped"
		continue
	fi
	if ! head -1 "$f" | grep -q '^ *Value  *Percentile  *TotalCount  *1/(1-Percentile)$'; then
		warn "$f: not an HdrHistogram percentile distribution; skipped"
		continue
	fi
	impl=${name##*-}
	rank=${ORDER%%"$impl"*}
	rank=$(wc -w <<<"$rank")
	[[ " $ORDER " == *" $impl "* ]] || rank=99
	FILES[${name%-*}]+="$rank $f"$'\n'
done
((${#FILES[@]})) || die "no .hgrm files named <scenario>-<impl>.hgrm in $IN"

# gnuplot's string quoting: double quotes, with \ and " escaped
gq() {
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}

for scenario in $(printf '%s\n' "${!FILES[@]}" | sort); do
	plots=()
	i=0
	while read -r _ f; do
		[[ -n $f ]] || continue
		impl=${f##*-}
		impl=${impl%.hgrm}
		i=$((i + 1))
		# the rows with a finite 1/(1-p): all but the 100 % row
		awk 'NF == 4 && $1 + 0 == $1 { print $4, $1 }' "$f" >"$T/$i.dat"
		[[ -s $T/$i.dat ]] || { warn "$f: no percentile rows; skipped"; continue; }
		plots+=("$(gq "$T/$i.dat") using 1:2 with lines linewidth 2 title $(gq "${LABEL[$impl]:-$impl}")")
	done < <(sort -k1,1n -k2 <<<"${FILES[$scenario]}")
	((${#plots[@]})) || continue
	png=$OUT/$scenario.png
	{
		echo "set terminal pngcairo noenhanced size 900,540 font 'sans,10'"
		echo "set output $(gq "$png")"
		echo "set title $(gq "$scenario: round-trip time by percentile")"
		echo 'set logscale xy'
		echo 'set xrange [1:*]'
		echo 'set xtics ("0%%" 1, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000, "99.9999%%" 1000000)'
		echo 'set format y "%g"'
		echo 'set xlabel "percentile"'
		echo 'set ylabel "round-trip time (us)"'
		echo 'set grid xtics ytics mytics'
		echo 'set key top left'
		printf 'plot %s\n' "$(IFS=,; echo "${plots[*]}")"
	} >"$T/plot.gp"
	gnuplot "$T/plot.gp" 2>"$T/gp.err" || { cat "$T/gp.err" >&2; die "gnuplot failed on $scenario"; }
	[[ ! -s $T/gp.err ]] || { cat "$T/gp.err" >&2; die "gnuplot complained about $scenario"; }
	echo "$png"
done
