#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# setup-hugepages.sh against a fake sysfs/procfs: the exact commands
# --dry-run prints per NUMA node and page size, the mount step, argument
# errors, and (as root) a real run on the fake tree, including a kernel that
# grants no pages.
#
# Usage: test-setup-hugepages.sh SCRIPTS_DIR
set -uo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fake_init "${1:?usage: $0 SCRIPTS_DIR}"

NODES=$S/devices/system/node

# Two NUMA nodes with 2M pages; 1G pages on node 0 only.
host_numa() {
	fake_reset
	local n
	for n in 0 1; do
		mkdir -p "$NODES/node$n/hugepages/hugepages-2048kB"
		echo 0 >"$NODES/node$n/hugepages/hugepages-2048kB/nr_hugepages"
	done
	mkdir -p "$NODES/node0/hugepages/hugepages-1048576kB"
	echo 0 >"$NODES/node0/hugepages/hugepages-1048576kB/nr_hugepages"
	mkdir -p "$P/sys/vm"
	: >"$P/sys/vm/compact_memory"
	echo "tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0" >"$P/mounts"
}

N0=$NODES/node0/hugepages/hugepages-2048kB/nr_hugepages
N1=$NODES/node1/hugepages/hugepages-2048kB/nr_hugepages

host_numa
run_script setup-hugepages.sh --help
expect_rc 0 "--help"
if grep -q '^Usage: setup-hugepages.sh' <<<"$OUT"; then pass "--help prints usage"; else fail "--help prints usage"; fi

run_script setup-hugepages.sh --dry-run --pages 256
expect_rc 0 "all nodes, 2M"
expect_out "+ echo 1 > $P/sys/vm/compact_memory
+ echo 256 > $N0
+ echo 256 > $N1
+ mkdir -p /dev/hugepages
+ mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages" "all nodes, 2M"

run_script setup-hugepages.sh --dry-run --pages 64 --node 1 --mount /mnt/huge
expect_rc 0 "node 1, own mount point"
expect_out "+ echo 1 > $P/sys/vm/compact_memory
+ echo 64 > $N1
+ mkdir -p /mnt/huge
+ mount -t hugetlbfs -o pagesize=2M nodev /mnt/huge" "node 1, own mount point"

run_script setup-hugepages.sh --dry-run --pages 2 --size 1G --no-mount
expect_rc 0 "1G pages (node 0 only offers them)"
expect_out "+ echo 1 > $P/sys/vm/compact_memory
+ echo 2 > $NODES/node0/hugepages/hugepages-1048576kB/nr_hugepages" "1G pages"

run_script setup-hugepages.sh --dry-run --pages 2 --size 1G --node 1
expect_rc 1 "1G pages on a node without them"
expect_err_has "node 1 has no 1G hugepages" "1G pages on a node without them"

run_script setup-hugepages.sh --dry-run --node 5
expect_rc 1 "no such node"
expect_err_has "no NUMA node 5" "no such node"

# Enough already on node 0: left alone, never lowered.
echo 1024 >"$N0"
run_script setup-hugepages.sh --dry-run --pages 512 --no-mount
expect_rc 0 "node 0 already has more"
expect_out "+ echo 1 > $P/sys/vm/compact_memory
+ echo 512 > $N1" "node 0 already has more"
expect_err_has "node0: 1024 x 2M pages already reserved (asked 512), left as is" "node 0 already has more"
echo 0 >"$N0"

# hugetlbfs already mounted: no mount; of another page size: a warning.
echo "nodev /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0" >>"$P/mounts"
run_script setup-hugepages.sh --dry-run --pages 8 --node 0
expect_rc 0 "already mounted"
expect_out "+ echo 1 > $P/sys/vm/compact_memory
+ echo 8 > $N0" "already mounted"
expect_err_has "hugetlbfs already mounted on /dev/hugepages" "already mounted"
run_script setup-hugepages.sh --dry-run --pages 1 --size 1G
expect_err_has "/dev/hugepages is hugetlbfs for 2M pages, not 1G" "mounted for another size"

echo "tmpfs /mnt/huge tmpfs rw 0 0" >>"$P/mounts"
run_script setup-hugepages.sh --dry-run --mount /mnt/huge
expect_rc 1 "mount point taken by another file system"
expect_err_has "/mnt/huge is already a tmpfs mount, not hugetlbfs" "mount point taken"

# ---- argument errors -----------------------------------------------------------

for bad in "--pages 0" "--pages abc" "--size 4M" "--node x" "--mount relative" "--bogus"; do
	# shellcheck disable=SC2086 # split the option from its value
	run_script setup-hugepages.sh --dry-run $bad
	expect_rc 1 "bad argument: $bad"
done

# ---- a kernel without NUMA -----------------------------------------------------

fake_reset
mkdir -p "$S/kernel/mm/hugepages/hugepages-2048kB"
echo 0 >"$S/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
run_script setup-hugepages.sh --dry-run --pages 16 --no-mount
expect_rc 0 "no NUMA"
expect_out "+ echo 16 > $S/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages" "no NUMA"
run_script setup-hugepages.sh --dry-run --size 1G
expect_rc 1 "no NUMA, no 1G pages"
expect_err_has "no 1G hugepages on this host" "no NUMA, no 1G pages"

# ---- real runs on the fake tree --------------------------------------------------

if [[ $(id -u) -eq 0 ]]; then
	host_numa
	run_script setup-hugepages.sh --pages 32 --no-mount
	expect_rc 0 "real run"
	if [[ $(cat "$N0") == 32 && $(cat "$N1") == 32 ]]; then pass "real run wrote both nodes"; else fail "real run wrote both nodes"; fi
	expect_err_has "node1: 32 x 2M pages reserved" "real run reports"

	# A kernel that grants nothing: the count reads back as 0.
	rm "$N1"
	ln -s /dev/null "$N1"
	run_script setup-hugepages.sh --pages 32 --no-mount
	expect_rc 1 "kernel grants no pages"
	expect_err_has "node1: the kernel reserved no 2M pages (asked 32)" "kernel grants no pages"
	expect_err_has "hugepages=TOTAL" "kernel grants no pages: says how to reserve at boot"
else
	echo "# skipped the real-run checks: they need root"
fi

finish
