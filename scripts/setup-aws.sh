#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# setup-aws.sh: prepare an EC2 instance for ferryd on a second ENI.
#
# ferryd takes a whole ENA interface away from the kernel, so it must never
# be the primary ENI (the one with the default route, through which you
# reach the instance). This script:
#   1. picks the ENA interface to use: --eni, or the only ENA interface that
#      carries no default route; refuses the primary one, always;
#   2. reads its IPv4 address/prefix and the subnet's router from `ip`
#      before the interface disappears;
#   3. checks vfio-pci's prerequisites: an IOMMU, or the no-IOMMU mode that
#      instances other than *.metal need (--noiommu); and write-combining on
#      the ENA memory BAR, which the ENA's low-latency queues (LLQ) need to
#      run at full speed;
#   4. reserves hugepages (setup-hugepages.sh) and binds the ENI to vfio-pci
#      (bind-nic.sh);
#   5. prints the ferryd settings to put in /etc/ferry/ferryd.conf.
#
# About write-combining: the ENA DPDK driver guide (amzn-drivers,
# userspace/dpdk/README.md, "ENAv2 and Write Combining") says the ENA memory
# BAR must be mapped write-combined when LLQ is used, or TX costs a lot of
# CPU. Debian 12's stock vfio-pci (kernel 6.1) with its DPDK 22.11 does NOT
# do that: vfio-pci maps every BAR uncached, and DPDK has no way to ask for
# more. What to install, one of:
#   - AWS's patched vfio-pci: from a checkout of amzn-drivers, run
#     userspace/dpdk/enav2-vfio-patch/get-vfio-with-wc.sh as root (it needs
#     linux-headers-$(uname -r) and the kernel source package to rebuild
#     vfio-pci with the WC patch, then installs the module); rerun it after
#     every kernel upgrade, then rebind (this script, or bind-nic.sh);
#   - igb_uio loaded with wc_activate=1 (dpdk-kmods; not packaged in
#     Debian), bound instead of vfio-pci.
# Neither DPDK 22.11 nor its ENA driver reports how the BAR is mapped, so
# ferryd cannot warn at start: a port without WC works, only slower. The
# mapping only exists while ferryd runs, so check it then with:
# setup-aws.sh --check-wc. It reads /sys/kernel/debug/x86/pat_memtype_list
# (debugfs, x86 only) and looks for "write-combining" on the BAR's range.
#
# Needs: bash, root (except with --dry-run and --check-wc), ip(8), the
# scripts setup-hugepages.sh and bind-nic.sh beside this one.
#
# Tests point it at a fake tree with FERRY_SYSFS, FERRY_PROCFS, FERRY_IP,
# FERRY_RUNDIR and FERRY_ENA_PMD (the ENA PMD library whose devargs decide the
# LLQ spelling).
set -euo pipefail

PROG=${0##*/}
SCRIPT_DIR=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=ferry-common.sh
source "$SCRIPT_DIR/ferry-common.sh"
export FERRY_SYSFS FERRY_PROCFS FERRY_IP FERRY_RUNDIR

ENA_VENDOR=0x1d0f

usage() {
	cat <<EOF
Usage: $PROG [--dry-run] [--eni IF|PCI] [--pages N] [--noiommu]
       $PROG --check-wc [--eni IF|PCI]

Prepare this EC2 instance for ferryd on a second ENI: hugepages, vfio-pci
binding, and the ferryd settings to use.

  --eni IF|PCI  the ENA interface (eth1) or PCI address (0000:00:06.0) to give
                to ferryd (default: the only ENA interface without a default
                route); never the primary ENI
  --pages N     2M hugepages to reserve per NUMA node (default 512)
  --noiommu     accept vfio's unsafe no-IOMMU mode, which instances other than
                *.metal need (they have no IOMMU)
  --check-wc    only check, while ferryd runs, that the ENA memory BAR is
                mapped write-combined (exit 0 if it is, 1 if not or unknown)
  --dry-run     print every command it would run, prefixed "+ ", and change
                nothing
  -h, --help    this text

The binding and hugepages last until reboot: run it again after a reboot.
EOF
}

ENI=""
PAGES=512
NOIOMMU=0
CHECK_WC=0

parse_args() {
	while (($#)); do
		case $1 in
		--eni) ENI=${2:?--eni needs an interface or PCI address}; shift ;;
		--eni=*) ENI=${1#*=} ;;
		--pages) PAGES=${2:?--pages needs a number}; shift ;;
		--pages=*) PAGES=${1#*=} ;;
		--noiommu) NOIOMMU=1 ;;
		--check-wc) CHECK_WC=1 ;;
		--dry-run) DRY_RUN=1 ;;
		-h | --help) usage; exit 0 ;;
		*) die "unknown argument '$1' (see $PROG --help)" ;;
		esac
		shift
	done
	if [[ ! $PAGES =~ ^[0-9]+$ ]] || ((PAGES == 0)); then
		die "--pages wants a positive number of pages, not '$PAGES'"
	fi
}

# ---- which ENI ---------------------------------------------------------------

BDF=""
IFACE=""

is_ena() { [[ $(sysfs_read "$(pci_dev_dir "$1")/vendor") == "$ENA_VENDOR" ]]; }

# Fill BDF and IFACE from --eni.
pick_given() {
	local a
	if a=$(pci_normalize "$ENI"); then
		BDF=$a
		[[ -d $(pci_dev_dir "$BDF") ]] || die "no PCI device $BDF on this instance"
		IFACE=$(pci_ifaces "$BDF" | awk 'NR == 1')
		return 0
	fi
	[[ $ENI =~ ^[A-Za-z0-9_.:@-]+$ && -e $FERRY_SYSFS/class/net/$ENI ]] ||
		die "--eni $ENI: no such interface or PCI address on this instance"
	IFACE=$ENI
	BDF=$(iface_pci_addr "$IFACE")
	[[ -n $BDF ]] ||
		die "--eni $ENI is a virtual interface with no PCI device, not an ENI"
}

# Fill BDF and IFACE with the one ENA interface that has no default route, or
# the one ENA device already on vfio-pci.
pick_auto() {
	local n ifc bdf cands=() primary=() bound=()
	for n in "$FERRY_SYSFS"/class/net/*; do
		[[ -e $n ]] || continue
		ifc=${n##*/}
		bdf=$(iface_pci_addr "$ifc")
		if [[ -z $bdf ]] || ! is_ena "$bdf"; then
			continue
		fi
		if iface_has_default_route "$ifc"; then
			primary+=("$ifc")
		else
			cands+=("$ifc:$bdf")
		fi
	done
	if ((${#cands[@]} == 1)); then
		IFACE=${cands[0]%%:*}
		BDF=${cands[0]#*:}
		info "using $IFACE ($BDF), the ENA interface without a default route${primary[*]:+ (${primary[*]} is the primary)}"
		return 0
	fi
	if ((${#cands[@]} > 1)); then
		die "several ENA interfaces without a default route: ${cands[*]%%:*}; choose one with --eni"
	fi
	for n in "$FERRY_SYSFS"/bus/pci/devices/*; do
		[[ -e $n ]] || continue
		bdf=${n##*/}
		is_ena "$bdf" && [[ $(pci_driver "$bdf") == vfio-pci ]] && bound+=("$bdf")
	done
	if ((${#bound[@]} == 1)); then
		BDF=${bound[0]}
		info "using $BDF, the ENA device already bound to vfio-pci"
		return 0
	fi
	((${#primary[@]})) ||
		die "no ENA interface on this host: $PROG is for EC2 instances with ENA network interfaces; bind other NICs with bind-nic.sh"
	die "no second ENI: this instance has ${primary[*]} as its primary and no other ENA interface. Attach a second ENI in the same subnet (EC2 console, or aws ec2 attach-network-interface --device-index 1 ...) and run $PROG again."
}

check_eni() {
	local vendor
	vendor=$(sysfs_read "$(pci_dev_dir "$BDF")/vendor")
	[[ $vendor == "$ENA_VENDOR" ]] ||
		die "$BDF is not an ENA device (vendor ${vendor:-unknown}, ENA is $ENA_VENDOR): $PROG is for AWS ENA interfaces; bind other NICs with bind-nic.sh"
	if [[ -n $IFACE ]] && iface_has_default_route "$IFACE"; then
		die "$IFACE carries the default route: it is this instance's primary ENI, and binding it would cut the instance off the network. Attach a second ENI and pass it with --eni."
	fi
}

# ---- address and gateway -----------------------------------------------------

ADDRESS=""
GATEWAY=""

ip4_to_int() {
	local IFS=. a b c d
	read -r a b c d <<<"$1"
	printf '%u' $(((a << 24) | (b << 16) | (c << 8) | d))
}

int_to_ip4() {
	local n=$1
	printf '%u.%u.%u.%u' $(((n >> 24) & 255)) $(((n >> 16) & 255)) $(((n >> 8) & 255)) $((n & 255))
}

# Whether IP lies in the subnet ADDR/PREFIX.
in_subnet() {
	local ip=$1 net=${2%/*} len=${2#*/} mask
	((len == 0)) && return 0
	mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
	(($(($(ip4_to_int "$ip") & mask)) == $(($(ip4_to_int "$net") & mask))))
}

read_addressing() {
	[[ -n $IFACE && -e $FERRY_SYSFS/class/net/$IFACE ]] || return 0
	# (The awk programs here read all their input: one that quits early
	# would make ip fail with SIGPIPE, and the pipeline with it.)
	ADDRESS=$("$FERRY_IP" -4 -o addr show dev "$IFACE" 2>/dev/null | awk '$3 == "inet" && a == "" { a = $4 } END { print a }')
	if [[ -z $ADDRESS ]]; then
		warn "$IFACE has no IPv4 address (no DHCP lease yet?); fill in net.address and net.gateway by hand, or bring it up (dhclient $IFACE) and run $PROG again"
		return 0
	fi
	# 1. A default route through this ENI itself (e.g. a per-ENI routing
	#    table as ec2-net-utils sets up).
	GATEWAY=$("$FERRY_IP" -4 route show table all default dev "$IFACE" 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "via" && g == "") g = $(i + 1) } END { print g }')
	if [[ -n $GATEWAY ]]; then
		info "gateway $GATEWAY: the default route through $IFACE"
		return 0
	fi
	# 2. The main default route, when its router is on this ENI's subnet
	#    (both ENIs in one subnet, the usual case).
	local g
	g=$("$FERRY_IP" -4 route show default 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "via" && g == "") g = $(i + 1) } END { print g }')
	if [[ -n $g ]] && in_subnet "$g" "$ADDRESS"; then
		GATEWAY=$g
		info "gateway $GATEWAY: the instance's default router, which is on $IFACE's subnet"
		return 0
	fi
	# 3. The VPC router is the subnet's base address + 1 (AWS reserves it).
	local len=${ADDRESS#*/} mask base
	mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
	base=$(($(ip4_to_int "${ADDRESS%/*}") & mask))
	GATEWAY=$(int_to_ip4 $((base + 1)))
	info "gateway $GATEWAY: the VPC router of $IFACE's subnet (its base address + 1); no route through $IFACE names it"
}

# ---- vfio-pci prerequisites --------------------------------------------------

check_iommu_mode() {
	[[ $(pci_driver "$BDF") == vfio-pci ]] && return 0
	have_iommu && return 0
	local p
	p=$(sysfs_read "$FERRY_SYSFS/module/vfio/parameters/enable_unsafe_noiommu_mode")
	[[ $p == Y || $p == 1 ]] && return 0
	((NOIOMMU)) && return 0
	die "this instance has no IOMMU (as every EC2 instance other than *.metal): vfio-pci can drive the ENI only in its unsafe no-IOMMU mode, in which the device can DMA anywhere in memory. Rerun with --noiommu to accept that."
}

# Start address of the device's first prefetchable memory BAR (the ENA's
# LLQ memory BAR), from the sysfs "resource" table.
prefetch_bar() {
	local start flags
	while read -r start _ flags; do
		# IORESOURCE_MEM 0x200 and IORESOURCE_PREFETCH 0x2000.
		if (((flags & 0x2200) == 0x2200)) && ((start != 0)); then
			printf '%x' $((start))
			return 0
		fi
	done <"$(pci_dev_dir "$BDF")/resource"
	return 0
}

# 0: write-combined; 1: mapped but not write-combined; 2: cannot tell.
check_wc() {
	local bar pat hits
	if [[ ! -r $(pci_dev_dir "$BDF")/resource ]]; then
		warn "write-combining: cannot read $BDF's BARs"
		return 2
	fi
	bar=$(prefetch_bar)
	if [[ -z $bar ]]; then
		warn "write-combining: $BDF has no prefetchable memory BAR (an ENAv1 device without LLQ needs none)"
		return 0
	fi
	pat="$FERRY_SYSFS/kernel/debug/x86/pat_memtype_list"
	if [[ ! -r $pat ]]; then
		warn "write-combining: cannot check, $pat is not readable (mount debugfs: mount -t debugfs none /sys/kernel/debug; x86 only)"
		return 2
	fi
	hits=$(grep -i "mem 0x0*${bar}-" "$pat" || true)
	if [[ -z $hits ]]; then
		warn "write-combining: BAR 0x$bar of $BDF is not mapped now; check again while ferryd runs: $PROG --check-wc --eni $BDF"
		return 2
	fi
	if grep -q write-combining <<<"$hits"; then
		info "write-combining: BAR 0x$bar of $BDF is mapped write-combined; LLQ runs at full speed"
		return 0
	fi
	warn "write-combining: BAR 0x$bar of $BDF is mapped $(awk '{ print $NF; exit }' <<<"$hits"), not write-combined. LLQ then costs much more CPU per packet. Use a vfio-pci with write-combining (the ENA DPDK driver guide's get-vfio-with-wc.sh) or igb_uio loaded with wc_activate=1."
	return 1
}

# ---- ferryd settings ---------------------------------------------------------

# The LLQ devargs as the installed ENA PMD spells them: DPDK up to 23.11
# knows enable_llq=0|1 (and large_llq_hdr=0|1); from 24.03 on llq_policy=N
# replaces both.
llq_devargs() {
	local pmd=${FERRY_ENA_PMD:-}
	if [[ -z $pmd ]]; then
		local f
		for f in /usr/lib/*/dpdk/pmds-*/librte_net_ena.so* /usr/lib*/dpdk/pmds-*/librte_net_ena.so* /usr/local/lib*/librte_net_ena.so*; do
			[[ -f $f ]] && { pmd=$f; break; }
		done
	fi
	if [[ -n $pmd && -r $pmd ]] && grep -aq 'llq_policy' "$pmd"; then
		printf 'llq_policy=1'
	else
		printf 'enable_llq=1'
	fi
}

print_settings() {
	local llq
	llq=$(llq_devargs)
	cat <<EOF
# ferryd settings for ENA $BDF${IFACE:+ (was $IFACE)}: put these in /etc/ferry/ferryd.conf
# LLQ is on by default and needed at full speed from 6th-generation instances
# on; it wants the BAR write-combined (see $PROG --check-wc). Add
# large_llq_hdr=1 (DPDK <= 23.11) only for packet headers over 96 bytes.
eal = {
  allow = [ "$BDF,$llq" ];
};
net = {
  address = "${ADDRESS:-ADDRESS/PREFIX}";
  gateway = "${GATEWAY:-GATEWAY}";
};
# 9001 within the VPC; traffic that leaves it (internet or VPN gateways,
# some peerings) is limited to 1500.
port = {
  mtu = 9001;
};
EOF
	if [[ -z $ADDRESS ]]; then
		warn "net.address and net.gateway are placeholders: use the ENI's private IPv4 address with its subnet's prefix, and the subnet's base address + 1 as gateway"
	fi
}

main() {
	parse_args "$@"
	if [[ -n $ENI ]]; then
		pick_given
	else
		pick_auto
	fi
	check_eni
	if ((CHECK_WC)); then
		check_wc && exit 0
		exit 1
	fi
	read_addressing
	check_iommu_mode
	require_root

	local rc=0
	check_wc || rc=$?
	if ((rc == 2)) && [[ $(pci_driver "$BDF") != vfio-pci ]]; then
		info "write-combining: stock vfio-pci maps BARs uncached; for full LLQ speed use a vfio-pci with write-combining (the ENA DPDK driver guide's get-vfio-with-wc.sh) or igb_uio with wc_activate=1, then check with $PROG --check-wc while ferryd runs"
	fi

	local dry=()
	((DRY_RUN)) && dry=(--dry-run)
	"$SCRIPT_DIR/setup-hugepages.sh" "${dry[@]}" --pages "$PAGES" --size 2M

	if [[ $(pci_driver "$BDF") == vfio-pci ]]; then
		info "$BDF is already bound to vfio-pci"
	else
		local noiommu=()
		((NOIOMMU)) && noiommu=(--noiommu)
		# --force: this script has refused the primary ENI itself; the
		# second ENI is normally up with a DHCP address, which bind-nic.sh
		# would otherwise take as "in use".
		"$SCRIPT_DIR/bind-nic.sh" "${dry[@]}" --force "${noiommu[@]}" bind "$BDF" --driver vfio-pci
	fi
	print_settings
	info "next: edit /etc/ferry/ferryd.conf, check it with 'ferryd --check-config', start with 'systemctl restart ferryd', then '$PROG --check-wc'"
}

main "$@"
