#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# setup-aws.sh against a fake EC2 instance (fake sysfs, procfs and ip): it
# picks the second ENI and never the primary, refuses non-ENA devices, asks
# for --noiommu where there is no IOMMU, prints the hugepage and binding
# commands under --dry-run, and prints the ferryd settings: eal.allow with
# the PCI address and LLQ devargs, net.address from the ENI, net.gateway from
# `ip route`, port.mtu 9001. Also the write-combining check.
#
# Usage: test-setup-aws.sh SCRIPTS_DIR
set -uo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fake_init "${1:?usage: $0 SCRIPTS_DIR}"

PRIMARY=0000:00:05.0
SECOND=0000:00:06.0
DEV2=$S/bus/pci/devices/$SECOND
N0=$S/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages

# ENA PMDs as DPDK 22.11 and 24.03 register their devargs.
PMD_2211=$T/librte_net_ena-22.11.so
PMD_2403=$T/librte_net_ena-24.03.so
printf 'PMD_INFO_STRING= {"name": "net_ena", "params": "large_llq_hdr=<0|1> enable_llq=<0|1> miss_txc_to=<uint>"}\n' >"$PMD_2211"
printf 'PMD_INFO_STRING= {"name": "net_ena", "params": "llq_policy=<0|1|2|3> miss_txc_to=<0-60> enable_frag_bypass=<0|1>"}\n' >"$PMD_2403"
EXTRA_ENV=(FERRY_ENA_PMD="$PMD_2211")

# A t3/c5-like instance: no IOMMU, eth0 primary with the default route,
# eth1 a second ENI in another subnet, up with a DHCP address.
host_ec2() {
	fake_reset
	add_pci "$PRIMARY" 0x1d0f 0xec20 ena eth0
	add_pci "$SECOND" 0x1d0f 0xec20 ena eth1
	iface_state eth0 up 10.0.0.10/24
	iface_state eth1 up 10.0.1.5/24
	add_route4 "default via 10.0.0.1 dev eth0 proto dhcp src 10.0.0.10 metric 100"
	add_route4 "10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.10 metric 100"
	add_route4 "10.0.1.0/24 dev eth1 proto kernel scope link src 10.0.1.5 metric 200"
	mkdir -p "${N0%/*}"
	echo 0 >"$N0"
	printf '%s\n' \
		"0x00000000febf8000 0x00000000febfbfff 0x0000000000040200" \
		"0x0000000000000000 0x0000000000000000 0x0000000000000000" \
		"0x00000000fe900000 0x00000000fe9fffff 0x000000000014220c" >"$DEV2/resource"
	: >"$P/mounts"
}

settings() { # ALLOW ADDRESS GATEWAY
	printf '%s\n' \
		"eal = {" \
		"  allow = [ \"$1\" ];" \
		"};" \
		"net = {" \
		"  address = \"$2\";" \
		"  gateway = \"$3\";" \
		"};" \
		"port = {" \
		"  mtu = 9001;" \
		"};"
}

# The settings block of stdout, without its comment lines.
settings_of_out() { grep -v '^#' <<<"$OUT" | grep -v '^+ ' || true; }

expect_settings() {
	local want got
	want=$(settings "$@")
	got=$(settings_of_out)
	if [[ $got == "$want" ]]; then
		pass "$WHAT: settings"
	else
		fail "$WHAT: settings" "wanted:" "${want//$'\n'/$'\n#     '}"
	fi
}

# ---- the usual case -----------------------------------------------------------------

host_ec2
run_script setup-aws.sh --help
expect_rc 0 "--help"

run_script setup-aws.sh --dry-run
WHAT="no IOMMU, no --noiommu"
expect_rc 1 "$WHAT"
expect_err_has "Rerun with --noiommu" "$WHAT"
expect_out "" "$WHAT"

run_script setup-aws.sh --dry-run --noiommu
WHAT="second ENI picked by itself"
expect_rc 0 "$WHAT"
expect_err_has "using eth1 ($SECOND), the ENA interface without a default route (eth0 is the primary)" "$WHAT"
expect_out_has "+ echo 512 > $N0" "$WHAT: hugepages"
expect_out_has "+ mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages" "$WHAT: hugetlbfs"
expect_out_has "+ echo 1 > $S/module/vfio/parameters/enable_unsafe_noiommu_mode" "$WHAT: no-IOMMU mode"
expect_out_has "+ $FAKE_IP link set dev eth1 down" "$WHAT: eth1 down"
expect_out_has "+ echo vfio-pci > $DEV2/driver_override" "$WHAT: bind"
expect_out_has "+ echo $SECOND > $S/bus/pci/drivers_probe" "$WHAT: probe"
expect_out_lacks "$PRIMARY" "$WHAT: the primary is never touched"
expect_out_lacks "dev eth0" "$WHAT: the primary is never touched"
# The gateway 10.0.0.1 is not on eth1's subnet: the VPC router, base + 1.
expect_settings "$SECOND,enable_llq=1" 10.0.1.5/24 10.0.1.1
expect_err_has "gateway 10.0.1.1: the VPC router of eth1's subnet" "$WHAT"
expect_err_has "write-combining: cannot check" "$WHAT"
expect_err_has "get-vfio-with-wc.sh" "$WHAT"

# Exactly that stdout, commands then settings.
want="+ echo 512 > $N0
+ mkdir -p /dev/hugepages
+ mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
+ modprobe vfio-pci
+ echo 1 > $S/module/vfio/parameters/enable_unsafe_noiommu_mode
+ $FAKE_IP link set dev eth1 down
+ echo vfio-pci > $DEV2/driver_override
+ echo $SECOND > $DEV2/driver/unbind
+ echo $SECOND > $S/bus/pci/drivers_probe
+ mkdir -p $RUN
+ echo '$SECOND ena eth1' >> $RUN/bind-nic.state
+ chmod 0644 $RUN/bind-nic.state"
got=$(grep '^+ ' <<<"$OUT")
if [[ $got == "$want" ]]; then pass "$WHAT: every command"; else fail "$WHAT: every command" "wanted:" "${want//$'\n'/$'\n#     '}"; fi

# By name or PCI address, the same.
run_script setup-aws.sh --dry-run --noiommu --eni eth1 --pages 128
WHAT="--eni eth1"
expect_rc 0 "$WHAT"
expect_out_has "+ echo 128 > $N0" "$WHAT: --pages"
expect_settings "$SECOND,enable_llq=1" 10.0.1.5/24 10.0.1.1
run_script setup-aws.sh --dry-run --noiommu --eni 00:06.0
WHAT="--eni 00:06.0"
expect_rc 0 "$WHAT"
expect_settings "$SECOND,enable_llq=1" 10.0.1.5/24 10.0.1.1

# DPDK 24.03 and later spell LLQ llq_policy.
EXTRA_ENV=(FERRY_ENA_PMD="$PMD_2403")
run_script setup-aws.sh --dry-run --noiommu
WHAT="DPDK 24.03 ENA PMD"
expect_settings "$SECOND,llq_policy=1" 10.0.1.5/24 10.0.1.1
EXTRA_ENV=(FERRY_ENA_PMD="$PMD_2211")

# ---- where the gateway comes from -------------------------------------------------

# A default route through eth1 in its own table (per-ENI policy routing).
add_route4 "default via 10.0.1.254 dev eth1 table 10001 proto static"
run_script setup-aws.sh --dry-run --noiommu
WHAT="default route through eth1 in another table"
expect_rc 0 "$WHAT"
expect_settings "$SECOND,enable_llq=1" 10.0.1.5/24 10.0.1.254
expect_err_has "gateway 10.0.1.254: the default route through eth1" "$WHAT"

# Every ENI with a main-table default route, by metric (EC2's own network
# scripts): the lowest metric is the primary.
host_ec2
: >"$IPD/route4"
add_route4 "default via 10.0.1.1 dev eth1 proto dhcp src 10.0.1.5 metric 513"
add_route4 "default via 10.0.0.1 dev eth0 proto dhcp src 10.0.0.10 metric 512"
run_script setup-aws.sh --dry-run --noiommu
WHAT="a default route per ENI, by metric"
expect_rc 0 "$WHAT"
expect_err_has "using eth1 ($SECOND)" "$WHAT"
expect_settings "$SECOND,enable_llq=1" 10.0.1.5/24 10.0.1.1
expect_err_has "gateway 10.0.1.1: the default route through eth1" "$WHAT"

# Both ENIs in one /20: the instance's default router is eth1's too.
host_ec2
iface_state eth0 up 10.0.0.10/20
iface_state eth1 up 10.0.3.7/20
run_script setup-aws.sh --dry-run --noiommu
WHAT="both ENIs in one subnet"
expect_rc 0 "$WHAT"
expect_settings "$SECOND,enable_llq=1" 10.0.3.7/20 10.0.0.1
expect_err_has "gateway 10.0.0.1: the instance's default router" "$WHAT"

# ---- with an IOMMU (*.metal) --------------------------------------------------------

host_ec2
add_iommu_group "$SECOND" 4
run_script setup-aws.sh --dry-run
WHAT="IOMMU present"
expect_rc 0 "$WHAT"
expect_out_lacks "enable_unsafe_noiommu_mode" "$WHAT"
expect_settings "$SECOND,enable_llq=1" 10.0.1.5/24 10.0.1.1

# ---- refusals ------------------------------------------------------------------------

host_ec2
run_script setup-aws.sh --dry-run --noiommu --eni eth0
WHAT="--eni of the primary"
expect_rc 1 "$WHAT"
expect_err_has "eth0 carries the default route: it is this instance's primary ENI" "$WHAT"
expect_out "" "$WHAT"
run_script setup-aws.sh --dry-run --noiommu --eni "$PRIMARY"
expect_rc 1 "--eni of the primary by PCI address"
expect_out "" "--eni of the primary by PCI address"

add_pci 0000:00:07.0 0x8086 0x10ed ixgbevf eth2
run_script setup-aws.sh --dry-run --noiommu --eni eth2
WHAT="not an ENA"
expect_rc 1 "$WHAT"
expect_err_has "0000:00:07.0 is not an ENA device (vendor 0x8086" "$WHAT"

add_virtual_iface veth0
run_script setup-aws.sh --dry-run --noiommu --eni veth0
expect_rc 1 "--eni of a veth"
expect_err_has "virtual interface with no PCI device" "--eni of a veth"

# Two candidate ENIs: ask which.
add_pci 0000:00:08.0 0x1d0f 0xec20 ena eth3
run_script setup-aws.sh --dry-run --noiommu
WHAT="two second ENIs"
expect_rc 1 "$WHAT"
expect_err_has "several ENA interfaces without a default route: eth1 eth3; choose one with --eni" "$WHAT"

# Only the primary.
fake_reset
add_pci "$PRIMARY" 0x1d0f 0xec20 ena eth0
iface_state eth0 up 10.0.0.10/24
add_route4 "default via 10.0.0.1 dev eth0 proto dhcp src 10.0.0.10 metric 100"
run_script setup-aws.sh --dry-run --noiommu
WHAT="no second ENI"
expect_rc 1 "$WHAT"
expect_err_has "no second ENI: this instance has eth0 as its primary" "$WHAT"
expect_out "" "$WHAT"

# No ENA at all (not an EC2 instance).
fake_reset
add_pci 0000:00:03.0 0x1af4 0x1041 virtio-pci eth0
iface_state eth0 up 10.0.0.10/24
add_route4 "default via 10.0.0.1 dev eth0"
run_script setup-aws.sh --dry-run --noiommu
WHAT="no ENA at all"
expect_rc 1 "$WHAT"
expect_err_has "no ENA interface on this host" "$WHAT"

# ---- a rerun after binding: the ENI is on vfio-pci, its address unknown ------------

host_ec2
rm -rf "$S/class/net/eth1" "$DEV2/net" "$DEV2/driver"
add_driver vfio-pci
ln -s ../../drivers/vfio-pci "$DEV2/driver"
run_script setup-aws.sh --dry-run
WHAT="already bound"
expect_rc 0 "$WHAT"
expect_err_has "using $SECOND, the ENA device already bound to vfio-pci" "$WHAT"
expect_out_lacks "driver_override" "$WHAT: no second bind"
expect_settings "$SECOND,enable_llq=1" ADDRESS/PREFIX GATEWAY
expect_err_has "placeholders" "$WHAT"

# ---- write-combining -------------------------------------------------------------------

mkdir -p "$S/kernel/debug/x86"
PAT=$S/kernel/debug/x86/pat_memtype_list
printf '%s\n' "PAT memtype list:" \
	"PAT: [mem 0x00000000febf8000-0x00000000febfc000] uncached-minus" \
	"PAT: [mem 0x00000000fe900000-0x00000000fea00000] write-combining" >"$PAT"
run_script setup-aws.sh --check-wc --eni "$SECOND"
WHAT="--check-wc, write-combined"
expect_rc 0 "$WHAT"
expect_err_has "BAR 0xfe900000 of $SECOND is mapped write-combined" "$WHAT"

sed -i 's/0x00000000fe900000-0x00000000fea00000] write-combining/0x00000000fe900000-0x00000000fea00000] uncached-minus/' "$PAT"
run_script setup-aws.sh --check-wc --eni "$SECOND"
WHAT="--check-wc, uncached"
expect_rc 1 "$WHAT"
expect_err_has "is mapped uncached-minus, not write-combined" "$WHAT"
expect_err_has "wc_activate=1" "$WHAT"

grep -v fe900000 "$PAT" >"$PAT.new" && mv "$PAT.new" "$PAT"
run_script setup-aws.sh --check-wc --eni "$SECOND"
WHAT="--check-wc, BAR not mapped"
expect_rc 1 "$WHAT"
expect_err_has "BAR 0xfe900000 of $SECOND is not mapped now; check again while ferryd runs" "$WHAT"

rm "$PAT"
run_script setup-aws.sh --check-wc --eni "$SECOND"
expect_rc 1 "--check-wc without debugfs"
expect_err_has "mount -t debugfs" "--check-wc without debugfs"

finish
