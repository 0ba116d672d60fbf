# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Helpers shared by ferry's host setup scripts. Sourced, never run.
#
# Every change a script makes to the host goes through run() or
# write_file(), so that --dry-run prints each command, prefixed "+ ", and
# changes nothing. Reads go through the roots below, so tests can point the
# scripts at a fake tree:
#   FERRY_SYSFS   sysfs root            (default /sys)
#   FERRY_PROCFS  procfs root           (default /proc)
#   FERRY_IP      the ip(8) program     (default ip)
#   FERRY_RUNDIR  ferry's runtime dir   (default /run/ferry)

FERRY_SYSFS=${FERRY_SYSFS:-/sys}
FERRY_PROCFS=${FERRY_PROCFS:-/proc}
FERRY_IP=${FERRY_IP:-ip}
FERRY_RUNDIR=${FERRY_RUNDIR:-/run/ferry}

DRY_RUN=${DRY_RUN:-0}
PROG=${PROG:-${0##*/}}

# Messages go to stderr; stdout carries only the dry-run commands and what a
# script reports as its result.
info() { printf '%s: %s\n' "$PROG" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

# A loud, boxed warning for things that weaken the host's safety.
shout() {
	local line
	printf '%s\n' "$PROG: ************************************************************" >&2
	for line in "$@"; do
		printf '%s: * %s\n' "$PROG" "$line" >&2
	done
	printf '%s\n' "$PROG: ************************************************************" >&2
}

# Print a command the way a shell would read it back.
show_cmd() {
	local out="+" arg
	for arg in "$@"; do
		if [[ $arg =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
			out+=" $arg"
		else
			out+=" '${arg//\'/\'\\\'\'}'"
		fi
	done
	printf '%s\n' "$out"
}

# Run a command, or only print it under --dry-run.
run() {
	if ((DRY_RUN)); then
		show_cmd "$@"
		return 0
	fi
	"$@"
}

# Write VALUE into FILE (sysfs attribute, state file) the way
# `echo VALUE > FILE` would, or only print that under --dry-run.
write_file() {
	local value=$1 file=$2
	if ((DRY_RUN)); then
		printf '%s > %s\n' "$(show_cmd echo "$value")" "$file"
		return 0
	fi
	printf '%s\n' "$value" >"$file"
}

# Append a line to FILE, or only print that under --dry-run.
append_file() {
	local value=$1 file=$2
	if ((DRY_RUN)); then
		printf '%s >> %s\n' "$(show_cmd echo "$value")" "$file"
		return 0
	fi
	printf '%s\n' "$value" >>"$file"
}

# Changing the host needs root; a dry run does not.
require_root() {
	((DRY_RUN)) && return 0
	[[ $(id -u) -eq 0 ]] && return 0
	die "this changes the host and needs root: run it with sudo (or first with --dry-run to see what it would do)"
}

have() { command -v "$1" >/dev/null 2>&1; }

# First line of a sysfs attribute, or "" when absent.
sysfs_read() {
	local f=$1
	[[ -r $f ]] || return 0
	local v
	IFS= read -r v <"$f" || true
	printf '%s' "$v"
}

# Basename of the target of a symlink, or "" when it is not a link.
link_name() {
	local l=$1 t
	[[ -L $l ]] || return 0
	t=$(readlink "$l") || return 0
	printf '%s' "${t##*/}"
}

# A full PCI address "DDDD:BB:DD.F" from "DDDD:BB:DD.F" or "BB:DD.F";
# fails on anything else.
pci_normalize() {
	local a=${1,,}
	if [[ $a =~ ^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$ ]]; then
		a="0000:$a"
	fi
	[[ $a =~ ^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$ ]] || return 1
	printf '%s' "$a"
}

pci_dev_dir() { printf '%s/bus/pci/devices/%s' "$FERRY_SYSFS" "$1"; }

# The PCI address behind a network interface, "" for a virtual interface
# (veth, bridge, tun, loopback...). A virtio-net interface's device is the
# virtio device; its parent is the PCI function.
iface_pci_addr() {
	local ifc=$1 dev target name parent
	dev="$FERRY_SYSFS/class/net/$ifc/device"
	[[ -e $dev ]] || return 0
	target=$(readlink -f "$dev") || return 0
	name=${target##*/}
	if pci_normalize "$name" >/dev/null; then
		printf '%s' "$name"
		return 0
	fi
	parent=${target%/*}
	parent=${parent##*/}
	if pci_normalize "$parent" >/dev/null; then
		printf '%s' "$parent"
	fi
}

# Network interfaces a PCI function currently has (one per line).
pci_ifaces() {
	local d n
	d=$(pci_dev_dir "$1")
	for n in "$d"/net/* "$d"/virtio*/net/*; do
		[[ -e $n ]] && printf '%s\n' "${n##*/}"
	done
	return 0
}

# Driver a PCI function is bound to, "" when none.
pci_driver() { link_name "$(pci_dev_dir "$1")/driver"; }

# Whether the host has an IOMMU (any IOMMU group exists).
have_iommu() {
	local g
	for g in "$FERRY_SYSFS"/kernel/iommu_groups/*; do
		[[ -e $g ]] && return 0
	done
	return 1
}

# The interfaces of the default route the host actually uses: per address
# family, the main table's default route(s) with the lowest metric (several
# with ECMP). Binding one of them cuts the host off the network. A default
# route with a higher metric, or in another table (per-interface policy
# routing, as EC2's network scripts set up for every ENI), is a fallback or
# applies only to that interface's own source address.
default_route_ifaces() {
	local fam
	for fam in -4 -6; do
		"$FERRY_IP" "$fam" route show default 2>/dev/null |
			awk '/^default/ { r++; m[r] = 0
				for (i = 1; i < NF; i++) if ($i == "metric") m[r] = $(i + 1) }
			     { for (i = 1; i < NF; i++) if ($i == "dev" && r) d[r] = d[r] " " $(i + 1) }
			     END { min = -1
				for (k = 1; k <= r; k++) if (min < 0 || m[k] + 0 < min) min = m[k] + 0
				for (k = 1; k <= r; k++) if (m[k] + 0 == min) { n = split(d[k], a, " "); for (j = 1; j <= n; j++) print a[j] } }' ||
			true
	done | sort -u
}

iface_has_default_route() {
	local ifc=$1 d
	while IFS= read -r d; do
		[[ $d == "$ifc" ]] && return 0
	done < <(default_route_ifaces)
	return 1
}

# Whether the interface carries any default route at all: any table, any
# metric, IPv4 or IPv6.
iface_has_any_default_route() {
	# Read all of ip's output before looking at it: `ip ... | grep -q`
	# under pipefail fails whenever grep quits before ip has written.
	local fam routes
	for fam in -4 -6; do
		routes=$("$FERRY_IP" "$fam" route show table all default dev "$1" 2>/dev/null || true)
		[[ -n $routes ]] && return 0
	done
	return 1
}

# Whether the interface is administratively up.
iface_is_up() {
	local link re='<([^>]*,)?UP(,[^>]*)?>'
	link=$("$FERRY_IP" -o link show dev "$1" 2>/dev/null || true)
	[[ $link =~ $re ]]
}

# The interface's IPv4 addresses and global IPv6 addresses, "A/P" per line.
# IPv6 link-local addresses are left out: every up interface has one.
iface_addrs() {
	"$FERRY_IP" -o addr show dev "$1" 2>/dev/null |
		awk '$3 == "inet" { print $4 }
		     $3 == "inet6" && $0 !~ / scope link / && $0 !~ / scope host / { print $4 }'
}
