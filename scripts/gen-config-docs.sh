#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Regenerate config/ferryd.conf and config/SETTINGS.md from the settings
# table in config/ferry_config.h. Run after adding or changing a setting and
# commit the result; the unit test "config-docs" fails until you do.
#
# usage: scripts/gen-config-docs.sh [BUILD_DIR]
#   BUILD_DIR  a meson build directory of this tree (default: build); set up
#              if it does not exist yet
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$top"
fi
ninja -C "$build" config/ferry-gen-config
gen=$build/config/ferry-gen-config

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" conf >"$tmp/ferryd.conf"
"$gen" markdown >"$tmp/SETTINGS.md"

# Only once both generated cleanly, so a failure leaves the tree as it was.
cat "$tmp/ferryd.conf" >"$top/config/ferryd.conf"
cat "$tmp/SETTINGS.md" >"$top/config/SETTINGS.md"
echo "updated config/ferryd.conf and config/SETTINGS.md"
