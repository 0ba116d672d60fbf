#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# install-deps.sh: install the Debian packages ferry needs to build, test and
# run. Idempotent: asks dpkg which packages are missing and installs only
# those, running `apt-get update` only when something is missing; when all
# are there it does nothing and exits 0 at once (no root needed then).
#
# Needs: Debian 12 (bookworm) or later, dpkg-query, apt-get, root when
# something is missing.
#
# FERRY_DPKG_QUERY, FERRY_APT_GET and FERRY_DEBCONF_SET name other programs
# to use (tests fake them).
set -euo pipefail

PROG=${0##*/}
# shellcheck source=ferry-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/ferry-common.sh"

DPKG_QUERY=${FERRY_DPKG_QUERY:-dpkg-query}
APT_GET=${FERRY_APT_GET:-apt-get}
DEBCONF_SET=${FERRY_DEBCONF_SET:-debconf-set-selections}

# What each group is for; one package a word.
BUILD_PKGS="build-essential gcc meson ninja-build pkg-config"
# clang and its runtime libraries bring libFuzzer (tests/fuzz, build-fuzz/).
FUZZ_PKGS="clang libclang-rt-dev"
# libsodium-dev: X25519, the AEADs and HMAC of secure channels (security.mode).
LIB_PKGS="dpdk dpdk-dev libdpdk-dev libnuma-dev libconfig-dev libsystemd-dev libcmocka-dev libcap-dev libsodium-dev"
# ip/netns for the test lab; ping and arping to probe a daemon; modprobe
# and lspci for binding NICs; systemd-analyze to check the unit; ethtool
# to turn checksum offload off on the test lab's veths; nft to drop the
# lab router's ICMP in the path MTU test.
RUN_PKGS="iproute2 iputils-ping arping kmod pciutils python3 procps systemd ethtool nftables"
# What operators and network engineers look at ferry with, and the tests
# check ferry against: promtool (ferry-stat --prometheus), tshark with the
# Lua dissector, and tcpdump to capture the lab's traffic.
OBSERVE_PKGS="prometheus tshark tcpdump"
# Answers to questions packages ask while installing, so that an install
# never waits for a terminal: tshark's wireshark-common asks whether users
# other than root may capture (no: ferry's tests capture as root).
DEBCONF_ANSWERS="wireshark-common wireshark-common/install-setuid boolean false"
OPTIONAL_PKGS="valgrind shellcheck"

usage() {
	cat <<EOF
Usage: $PROG [--optional] [--dry-run]

Install the Debian packages ferry needs to build, test and run, skipping
those already installed.

  build:     $BUILD_PKGS
  fuzzing:   $FUZZ_PKGS
  libraries: $LIB_PKGS
  run/test:  $RUN_PKGS
  observing: $OBSERVE_PKGS
  optional:  $OPTIONAL_PKGS (with --optional)

  --optional  also install the optional tools
  --dry-run   print the commands it would run, prefixed "+ ", and change
              nothing
  -h, --help  this text
EOF
}

WITH_OPTIONAL=0

parse_args() {
	while (($#)); do
		case $1 in
		--optional) WITH_OPTIONAL=1 ;;
		--dry-run) DRY_RUN=1 ;;
		-h | --help) usage; exit 0 ;;
		*) die "unknown argument '$1' (see $PROG --help)" ;;
		esac
		shift
	done
}

# Print the packages of the list that are not installed, one per line.
missing_packages() {
	local p status
	for p in "$@"; do
		# shellcheck disable=SC2016 # ${...} is dpkg-query's format, not bash's
		status=$("$DPKG_QUERY" -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[[ $status == installed ]] || printf '%s\n' "$p"
	done
}

main() {
	parse_args "$@"
	have "$DPKG_QUERY" || die "$DPKG_QUERY not found: this script is for Debian and its derivatives"
	local wanted missing=()
	wanted="$BUILD_PKGS $FUZZ_PKGS $LIB_PKGS $RUN_PKGS $OBSERVE_PKGS"
	((WITH_OPTIONAL)) && wanted+=" $OPTIONAL_PKGS"
	# shellcheck disable=SC2086 # word splitting of the package lists is meant
	mapfile -t missing < <(missing_packages $wanted)
	if ((${#missing[@]} == 0)); then
		info "all $(wc -w <<<"$wanted") packages are installed; nothing to do"
		return 0
	fi
	info "installing: ${missing[*]}"
	require_root
	export DEBIAN_FRONTEND=noninteractive
	if [[ " ${missing[*]} " == *" tshark "* ]]; then
		if ((DRY_RUN)); then
			printf '%s <<< %s\n' "$(show_cmd "$DEBCONF_SET")" "'$DEBCONF_ANSWERS'"
		else
			"$DEBCONF_SET" <<<"$DEBCONF_ANSWERS"
		fi
	fi
	run "$APT_GET" update
	run "$APT_GET" install -y --no-install-recommends "${missing[@]}"
	if ((!DRY_RUN)); then
		mapfile -t missing < <(missing_packages "${missing[@]}")
		((${#missing[@]} == 0)) || die "still missing after apt-get install: ${missing[*]}"
		info "installed"
	fi
}

main "$@"
