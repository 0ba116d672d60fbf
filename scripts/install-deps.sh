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
# FERRY_DPKG_QUERY and FERRY_APT_GET name other programs to use (tests fake
# them).
set -euo pipefail

PROG=${0##*/}
# shellcheck source=ferry-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/ferry-common.sh"

DPKG_QUERY=${FERRY_DPKG_QUERY:-dpkg-query}
APT_GET=${FERRY_APT_GET:-apt-get}

# What each group is for; one package a word.
BUILD_PKGS="build-essential gcc meson ninja-build pkg-config"
# libsodium-dev: X25519, the AEADs and HMAC of secure channels (security.mode).
LIB_PKGS="dpdk dpdk-dev libdpdk-dev libnuma-dev libconfig-dev libsystemd-dev libcmocka-dev libcap-dev libsodium-dev"
# ip/netns for the test lab; ping and arping to probe a daemon; modprobe
# and lspci for binding NICs; systemd-analyze to check the unit; ethtool
# to turn checksum offload off on the test lab's veths.
RUN_PKGS="iproute2 iputils-ping arping kmod pciutils python3 procps systemd ethtool"
OPTIONAL_PKGS="valgrind shellcheck"

usage() {
	cat <<EOF
Usage: $PROG [--optional] [--dry-run]

Install the Debian packages ferry needs to build, test and run, skipping
those already installed.

  build:     $BUILD_PKGS
  libraries: $LIB_PKGS
  run/test:  $RUN_PKGS
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
	wanted="$BUILD_PKGS $LIB_PKGS $RUN_PKGS"
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
	run "$APT_GET" update
	run "$APT_GET" install -y --no-install-recommends "${missing[@]}"
	if ((!DRY_RUN)); then
		mapfile -t missing < <(missing_packages "${missing[@]}")
		((${#missing[@]} == 0)) || die "still missing after apt-get install: ${missing[*]}"
		info "installed"
	fi
}

main "$@"
