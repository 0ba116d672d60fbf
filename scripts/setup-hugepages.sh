#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# setup-hugepages.sh: reserve hugepages for ferryd (DPDK) on each NUMA node
# and mount hugetlbfs.
#
# Writes N into /sys/devices/system/node/nodeK/hugepages/hugepages-SIZE/
# nr_hugepages for the chosen nodes (or /sys/kernel/mm/hugepages/... on a
# kernel without NUMA), never lowering a reservation that is already larger,
# then mounts hugetlbfs on the mount point unless one is there. The kernel may
# grant fewer pages than asked (fragmented or short memory): the script says
# so, and fails only when it got none at all.
#
# Needs: bash, root (except with --dry-run), mount(8), a kernel with
# hugetlbfs. Reservations do not survive a reboot; see the hint it prints.
#
# Tests point it at a fake tree with FERRY_SYSFS and FERRY_PROCFS (see
# ferry-common.sh).
set -euo pipefail

PROG=${0##*/}
# shellcheck source=ferry-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/ferry-common.sh"

usage() {
	cat <<EOF
Usage: $PROG [--pages N] [--size 2M|1G] [--node N|all] [--mount DIR | --no-mount] [--dry-run]

Reserve hugepages for ferryd on each NUMA node and mount hugetlbfs.

  --pages N      pages to reserve on each chosen node (default: 512, i.e.
                 1 GiB of 2M pages per node); an existing larger reservation
                 is left alone
  --size S       page size: 2M (default) or 1G (1G pages are best reserved
                 at boot; at run time the kernel often cannot find them)
  --node N|all   NUMA node to reserve on, or all nodes (default: all); put
                 the pages on the node of the NIC ferryd uses
  --mount DIR    hugetlbfs mount point (default: /dev/hugepages)
  --no-mount     do not mount hugetlbfs (ferryd's eal.hugepages=on runs
                 EAL with --in-memory, which needs no mount point)
  --dry-run      print every command it would run, prefixed "+ ", and
                 change nothing
  -h, --help     this text

Exit status: 0 when at least one page of the size is reserved on every chosen
node (fewer than asked is a warning), 1 otherwise.
EOF
}

PAGES=512
SIZE=2M
NODE=all
MOUNT_DIR=/dev/hugepages
DO_MOUNT=1

parse_args() {
	while (($#)); do
		case $1 in
		--pages) PAGES=${2:?--pages needs a number}; shift ;;
		--pages=*) PAGES=${1#*=} ;;
		--size) SIZE=${2:?--size needs 2M or 1G}; shift ;;
		--size=*) SIZE=${1#*=} ;;
		--node) NODE=${2:?--node needs a number or all}; shift ;;
		--node=*) NODE=${1#*=} ;;
		--mount) MOUNT_DIR=${2:?--mount needs a directory}; shift ;;
		--mount=*) MOUNT_DIR=${1#*=} ;;
		--no-mount) DO_MOUNT=0 ;;
		--dry-run) DRY_RUN=1 ;;
		-h | --help) usage; exit 0 ;;
		*) die "unknown argument '$1' (see $PROG --help)" ;;
		esac
		shift
	done
	if [[ ! $PAGES =~ ^[0-9]+$ ]] || ((PAGES == 0)); then
		die "--pages wants a positive number of pages, not '$PAGES'"
	fi
	case ${SIZE^^} in
	2M | 2048K | 2048KB) SIZE=2M; SIZE_KB=2048 ;;
	1G | 1024M | 1048576K | 1048576KB) SIZE=1G; SIZE_KB=1048576 ;;
	*) die "--size wants 2M or 1G, not '$SIZE'" ;;
	esac
	[[ $NODE == all || $NODE =~ ^[0-9]+$ ]] ||
		die "--node wants a node number or 'all', not '$NODE'"
	[[ $MOUNT_DIR == /* ]] || die "--mount wants an absolute path, not '$MOUNT_DIR'"
}

# Fill TARGETS with "label path" pairs: the nr_hugepages files to write.
find_targets() {
	local nodes_dir="$FERRY_SYSFS/devices/system/node" d n f
	TARGETS=()
	if compgen -G "$nodes_dir/node[0-9]*" >/dev/null; then
		for d in "$nodes_dir"/node[0-9]*; do
			n=${d##*/node}
			[[ $NODE == all || $NODE == "$n" ]] || continue
			f="$d/hugepages/hugepages-${SIZE_KB}kB/nr_hugepages"
			if [[ ! -e $f ]]; then
				[[ $NODE == all ]] && continue
				die "node $n has no $SIZE hugepages ($f missing): the CPU or kernel does not offer that size"
			fi
			TARGETS+=("node$n" "$f")
		done
		if ((${#TARGETS[@]} == 0)); then
			[[ $NODE == all ]] &&
				die "no NUMA node offers $SIZE hugepages (no $nodes_dir/node*/hugepages/hugepages-${SIZE_KB}kB): the CPU or kernel does not offer that size"
			die "no NUMA node $NODE (see $nodes_dir)"
		fi
	else
		# A kernel built without NUMA: one system-wide pool.
		[[ $NODE == all || $NODE == 0 ]] ||
			die "this kernel has no NUMA nodes; use --node all"
		f="$FERRY_SYSFS/kernel/mm/hugepages/hugepages-${SIZE_KB}kB/nr_hugepages"
		[[ -e $f ]] ||
			die "no $SIZE hugepages on this host ($f missing): the CPU or kernel does not offer that size"
		TARGETS=("system" "$f")
	fi
}

reserve() {
	local i label f cur compacted=0
	for ((i = 0; i < ${#TARGETS[@]}; i += 2)); do
		label=${TARGETS[i]}
		f=${TARGETS[i + 1]}
		cur=$(sysfs_read "$f")
		cur=${cur:-0}
		if ((cur >= PAGES)); then
			info "$label: $cur x $SIZE pages already reserved (asked $PAGES), left as is"
			continue
		fi
		# Compacting memory first gives the kernel a better chance of
		# finding contiguous ranges, which matters most for 1G pages.
		if ((!compacted)) && [[ -e $FERRY_PROCFS/sys/vm/compact_memory ]]; then
			write_file 1 "$FERRY_PROCFS/sys/vm/compact_memory"
			compacted=1
		fi
		write_file "$PAGES" "$f"
	done
}

# Report what each target got; fail when a target has none.
report() {
	local i label f got missing=0 short=0
	for ((i = 0; i < ${#TARGETS[@]}; i += 2)); do
		label=${TARGETS[i]}
		f=${TARGETS[i + 1]}
		if ((DRY_RUN)); then
			info "$label: would have at least $PAGES x $SIZE pages"
			continue
		fi
		got=$(sysfs_read "$f")
		got=${got:-0}
		if ((got == 0)); then
			warn "$label: the kernel reserved no $SIZE pages (asked $PAGES)"
			missing=1
		elif ((got < PAGES)); then
			warn "$label: the kernel reserved only $got of $PAGES $SIZE pages (memory is short or fragmented)"
			short=1
		else
			info "$label: $got x $SIZE pages reserved"
		fi
	done
	if ((missing || short)); then
		info "to get them reliably, reserve at boot: add 'default_hugepagesz=$SIZE hugepagesz=$SIZE hugepages=TOTAL' to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot), or free memory and rerun"
	fi
	((missing)) && die "no $SIZE hugepages on at least one node; ferryd can still run with eal.hugepages = \"off\" (slower, no DMA-capable memory for a PCI NIC)"
	return 0
}

# hugetlbfs on MOUNT_DIR, with the right page size.
mount_hugetlbfs() {
	local dir fstype opts found=0
	while read -r _ dir fstype opts _; do
		[[ $dir == "$MOUNT_DIR" ]] || continue
		found=1
		if [[ $fstype != hugetlbfs ]]; then
			die "$MOUNT_DIR is already a $fstype mount, not hugetlbfs; pick another directory with --mount"
		fi
		local ps=""
		[[ ,$opts, =~ ,pagesize=([0-9]+[KMG]), ]] && ps=${BASH_REMATCH[1]}
		[[ $ps == 1024M ]] && ps=1G
		# No pagesize= option means the default size, which is what a plain
		# `mount -t hugetlbfs` gives: accept it.
		case $ps in
		"" | "$SIZE") ;;
		*)
			warn "$MOUNT_DIR is hugetlbfs for $ps pages, not $SIZE; mount one for $SIZE pages elsewhere, e.g. $PROG --size $SIZE --mount /dev/hugepages-$SIZE"
			;;
		esac
	done <"$FERRY_PROCFS/mounts"
	if ((found)); then
		info "hugetlbfs already mounted on $MOUNT_DIR"
		return 0
	fi
	run mkdir -p "$MOUNT_DIR"
	run mount -t hugetlbfs -o "pagesize=$SIZE" nodev "$MOUNT_DIR"
}

main() {
	parse_args "$@"
	require_root
	find_targets
	reserve
	report
	if ((DO_MOUNT)); then
		mount_hugetlbfs
	fi
	info "reservations and mounts last until reboot; to keep them, reserve at boot (kernel command line) and mount through /etc/fstab or dev-hugepages.mount"
}

main "$@"
