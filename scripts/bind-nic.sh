#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bind-nic.sh: hand a PCI NIC to DPDK (vfio-pci) for ferryd, give it back to
# its kernel driver, or show where NICs stand.
#
# Binding goes through sysfs, as dpdk-devbind.py does: driver_override names
# the new driver, the old one is unbound, /sys/bus/pci/drivers_probe binds
# the new one. The kernel driver the device had is recorded in
# /run/ferry/bind-nic.state so that `unbind` can restore it.
#
# Refuses, unless --force: an interface that carries a default route (binding
# it would cut the host off the network, e.g. the primary ENI on AWS) or one
# that is up with IPv4/IPv6 addresses (it is in use). Always refuses virtual
# interfaces (veth, bridges, tun...), which have no PCI device: DPDK reaches
# those through a vdev such as net_af_packet instead. Without an IOMMU,
# vfio-pci works only in its unsafe no-IOMMU mode, which needs --noiommu.
#
# Needs: bash, root (except with --dry-run and status), ip(8) from iproute2,
# modprobe(8) from kmod when the driver module is not loaded yet.
#
# Tests point it at a fake tree with FERRY_SYSFS, FERRY_PROCFS, FERRY_IP and
# FERRY_RUNDIR (see ferry-common.sh).
set -euo pipefail

PROG=${0##*/}
# shellcheck source=ferry-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/ferry-common.sh"

DPDK_DRIVERS="vfio-pci uio_pci_generic igb_uio"

usage() {
	cat <<EOF
Usage: $PROG [--dry-run] [--force] [--noiommu] bind DEVICE [--driver DRV]
       $PROG [--dry-run] unbind DEVICE [--driver KERNEL_DRV]
       $PROG status [DEVICE]

Hand a PCI NIC to DPDK for ferryd, or give it back to the kernel.

DEVICE is a PCI address (0000:00:06.0 or 00:06.0) or a network interface
name (eth1), resolved through /sys/class/net/IF/device.

  bind       bind DEVICE to DRV (default vfio-pci; also uio_pci_generic,
             igb_uio), loading the module if needed, and record the kernel
             driver it had in $FERRY_RUNDIR/bind-nic.state
  unbind     give DEVICE back to its kernel driver: --driver KERNEL_DRV, else
             the recorded one, else the usual driver for the vendor (ena,
             virtio-pci)
  status     where DEVICE stands, or every PCI network device

  --driver D  the driver to bind to (bind) or to restore (unbind)
  --force     bind even an interface that carries a default route or is up
              with addresses (it will lose its network, and so may you)
  --noiommu   on a host without an IOMMU, switch vfio to its unsafe no-IOMMU
              mode (the device can then DMA anywhere in memory; the usual
              setup on AWS instances other than *.metal)
  --dry-run   print every command it would run, prefixed "+ ", and change
              nothing
  -h, --help  this text

The binding lasts until reboot (or unbind). Then set in /etc/ferry/ferryd.conf:
  eal: { allow = [ "0000:00:06.0" ]; };
EOF
}

ACTION=""
DEVICE=""
DRIVER=""
FORCE=0
NOIOMMU=0
STATE_FILE=""

parse_args() {
	while (($#)); do
		case $1 in
		--driver) DRIVER=${2:?--driver needs a driver name}; shift ;;
		--driver=*) DRIVER=${1#*=} ;;
		--force) FORCE=1 ;;
		--noiommu) NOIOMMU=1 ;;
		--dry-run) DRY_RUN=1 ;;
		-h | --help) usage; exit 0 ;;
		-*) die "unknown option '$1' (see $PROG --help)" ;;
		*)
			if [[ -z $ACTION ]]; then
				ACTION=$1
			elif [[ -z $DEVICE ]]; then
				DEVICE=$1
			else
				die "unexpected argument '$1' (see $PROG --help)"
			fi
			;;
		esac
		shift
	done
	case $ACTION in
	bind | unbind) [[ -n $DEVICE ]] || die "$ACTION needs a DEVICE: a PCI address such as 0000:00:06.0 or an interface name (see $PROG --help)" ;;
	status) ;;
	"") usage >&2; exit 2 ;;
	*) die "unknown action '$ACTION': use bind, unbind or status" ;;
	esac
	if [[ $ACTION == bind ]]; then
		DRIVER=${DRIVER:-vfio-pci}
		[[ " $DPDK_DRIVERS " == *" $DRIVER "* ]] ||
			die "--driver $DRIVER: bind to one of the DPDK drivers ($DPDK_DRIVERS)"
	fi
	if [[ -n $DRIVER && ! $DRIVER =~ ^[A-Za-z0-9_-]+$ ]]; then
		die "--driver '$DRIVER' is not a driver name"
	fi
	STATE_FILE="$FERRY_RUNDIR/bind-nic.state"
}

# ---- state file: one line per bound device: "BDF KERNEL_DRIVER IFACES" -----
#
# /run/ferry belongs to the daemon's user once ferryd runs, so a file there
# is trusted only if it belongs to whoever runs this script (root) and no one
# else may write it: `unbind` loads the module it names.

state_trusted() {
	[[ -f $STATE_FILE && ! -L $STATE_FILE ]] || return 1
	local owner mode
	owner=$(stat -c %u "$STATE_FILE") || return 1
	mode=$(stat -c %a "$STATE_FILE") || return 1
	if [[ $owner != "$(id -u)" ]] || (((8#$mode & 8#022) != 0)); then
		warn "ignoring $STATE_FILE: it must belong to uid $(id -u) and be writable by it alone (owner $owner, mode $mode)"
		return 1
	fi
}

state_line() {
	state_trusted || return 0
	awk -v b="$1" '$1 == b { line = $0 } END { if (line != "") print line }' "$STATE_FILE"
}

# The PCI address recorded for an interface that has since disappeared.
state_bdf_of_iface() {
	state_trusted || return 0
	awk -v i="$1" '{ n = split($3, a, ","); for (k = 1; k <= n; k++) if (a[k] == i) b = $1 } END { if (b != "") print b }' "$STATE_FILE"
}

state_forget() {
	local bdf=$1
	[[ -n $(state_line "$bdf") ]] || return 0
	run sed -i "/^${bdf//./\\.} /d" "$STATE_FILE"
}

state_record() {
	local bdf=$1 drv=$2 ifaces=$3
	run mkdir -p "$FERRY_RUNDIR"
	state_forget "$bdf"
	append_file "$bdf ${drv:--} ${ifaces:--}" "$STATE_FILE"
	run chmod 0644 "$STATE_FILE"
}

# ---- device resolution -------------------------------------------------------

BDF=""
IFACE=""

resolve_device() {
	local arg=$1 a
	if a=$(pci_normalize "$arg"); then
		BDF=$a
		[[ -d $(pci_dev_dir "$BDF") ]] ||
			die "no PCI device $BDF on this host (nothing at $(pci_dev_dir "$BDF")); list them with: $PROG status"
		return 0
	fi
	[[ $arg =~ ^[A-Za-z0-9_.:@-]+$ && $arg != . && $arg != .. ]] ||
		die "'$arg' is neither a PCI address (0000:00:06.0) nor an interface name"
	if [[ ! -e $FERRY_SYSFS/class/net/$arg ]]; then
		# An interface that was bound earlier no longer exists; the state
		# file still knows its PCI address.
		a=$(state_bdf_of_iface "$arg")
		if [[ -n $a && -d $(pci_dev_dir "$a") ]]; then
			BDF=$a
			IFACE=$arg
			info "$arg was bound earlier: it is PCI device $BDF"
			return 0
		fi
		die "'$arg' is neither a PCI address (0000:00:06.0) nor a network interface on this host; list PCI NICs with: $PROG status"
	fi
	IFACE=$arg
	if [[ ! -e $FERRY_SYSFS/class/net/$arg/device ]]; then
		die "$arg is a virtual interface (veth, bridge, tun, bond, loopback...): it has no PCI device, so it cannot be bound to a DPDK driver. ferryd reaches such an interface through a vdev instead, e.g. in /etc/ferry/ferryd.conf: eal: { vdevs = [ \"net_af_packet0,iface=$arg\" ]; };"
	fi
	BDF=$(iface_pci_addr "$arg")
	if [[ -z $BDF ]]; then
		local target
		target=$(readlink -f "$FERRY_SYSFS/class/net/$arg/device" || true)
		die "$arg is not a PCI device (its device is ${target:-unknown}); only PCI NICs can be bound to a DPDK driver"
	fi
}

pci_ids() {
	local d
	d=$(pci_dev_dir "$1")
	printf '%s:%s' "$(sysfs_read "$d/vendor")" "$(sysfs_read "$d/device")"
}

join_lines() { paste -sd, -; }

# ---- safety checks -----------------------------------------------------------

# Refuse (unless --force) interfaces in use: a default route, or up with
# addresses.
check_ifaces_free() {
	local ifc addrs problems=()
	for ifc in "$@"; do
		if iface_has_default_route "$ifc"; then
			problems+=("$ifc carries the default route: binding it cuts this host off the network (on AWS this is the primary ENI; use a second one)")
		elif iface_has_any_default_route "$ifc"; then
			warn "$ifc carries a default route that is not the preferred one (higher metric or another table); traffic using it will stop"
		fi
		addrs=$(iface_addrs "$ifc" | join_lines)
		if [[ -n $addrs ]] && iface_is_up "$ifc"; then
			problems+=("$ifc is up with addresses $addrs: something on this host uses it")
		fi
	done
	((${#problems[@]})) || return 0
	if ((FORCE)); then
		shout "--force: binding anyway, although:" "${problems[@]}"
		return 0
	fi
	local p
	for p in "${problems[@]}"; do
		printf '%s: refusing: %s\n' "$PROG" "$p" >&2
	done
	die "not binding $BDF; pick another device, or take ${*// /, } out of use first (ip addr flush dev IF; ip link set dev IF down), or pass --force if you are sure"
}

NOIOMMU_PARAM=""

# vfio-pci needs an IOMMU, or its no-IOMMU mode switched on (--noiommu).
check_iommu() {
	[[ $DRIVER == vfio-pci ]] || return 0
	NOIOMMU_PARAM="$FERRY_SYSFS/module/vfio/parameters/enable_unsafe_noiommu_mode"
	if have_iommu; then
		[[ -e $(pci_dev_dir "$BDF")/iommu_group ]] ||
			warn "$BDF has no IOMMU group although the host has an IOMMU; vfio-pci may refuse it (check the kernel's IOMMU setup)"
		NOIOMMU_PARAM=""
		return 0
	fi
	local cur
	cur=$(sysfs_read "$NOIOMMU_PARAM")
	if [[ $cur == Y || $cur == 1 ]]; then
		warn "no IOMMU: vfio is already in unsafe no-IOMMU mode"
		NOIOMMU_PARAM=""
		return 0
	fi
	if ((!NOIOMMU)); then
		die "this host has no IOMMU (nothing in $FERRY_SYSFS/kernel/iommu_groups), so vfio-pci works only in its unsafe no-IOMMU mode, in which the device can DMA anywhere in memory. That is the usual setup on AWS instances other than *.metal: rerun with --noiommu to accept it. Otherwise enable the IOMMU (kernel command line intel_iommu=on or amd_iommu=on, then reboot)."
	fi
	shout "--noiommu: switching vfio to UNSAFE no-IOMMU mode." \
		"$BDF will be able to read and write ALL of this host's memory by DMA," \
		"and ferryd will need CAP_SYS_RAWIO to use it. Use this only on a host" \
		"dedicated to ferryd (such as an AWS instance without an IOMMU)."
}

# Fail unbind while a process holds the device's VFIO group open: the
# kernel would block the unbind until that process lets go.
check_not_in_use() {
	local grp fd t pid comm
	grp=$(link_name "$(pci_dev_dir "$BDF")/iommu_group")
	[[ -n $grp ]] || return 0
	for fd in "$FERRY_PROCFS"/[0-9]*/fd/*; do
		t=$(readlink "$fd" 2>/dev/null) || continue
		if [[ $t == "/dev/vfio/$grp" || $t == "/dev/vfio/noiommu-$grp" ]]; then
			pid=${fd#"$FERRY_PROCFS"/}
			pid=${pid%%/*}
			comm=$(sysfs_read "$FERRY_PROCFS/$pid/comm")
			die "$BDF is in use by process $pid (${comm:-?}) through $t: stop it first (systemctl stop ferryd)"
		fi
	done
	return 0
}

ensure_module() {
	local drv=$1
	[[ -d $FERRY_SYSFS/bus/pci/drivers/$drv ]] && return 0
	if ((!DRY_RUN)) && ! have modprobe; then
		die "driver $drv is not loaded and modprobe is missing: apt-get install kmod"
	fi
	run modprobe "$drv"
}

# ---- actions -----------------------------------------------------------------

do_bind() {
	local d cur ifaces=() ifc
	resolve_device "$DEVICE"
	d=$(pci_dev_dir "$BDF")
	cur=$(pci_driver "$BDF")
	if [[ $cur == "$DRIVER" ]]; then
		info "$BDF ($(pci_ids "$BDF")) is already bound to $DRIVER; nothing to do"
		return 0
	fi
	mapfile -t ifaces < <(pci_ifaces "$BDF")
	if [[ -n $IFACE && ${#ifaces[@]} -eq 0 ]]; then
		ifaces=("$IFACE")
	fi
	if [[ " $DPDK_DRIVERS " == *" $cur "* ]]; then
		die "$BDF is bound to $cur, another DPDK driver; unbind it first: $PROG unbind $BDF"
	fi
	check_ifaces_free "${ifaces[@]}"
	check_iommu
	require_root

	info "binding $BDF ($(pci_ids "$BDF"), driver ${cur:-none}${ifaces[*]:+, interface ${ifaces[*]}}) to $DRIVER"
	ensure_module "$DRIVER"
	if [[ -n $NOIOMMU_PARAM ]]; then
		if ((!DRY_RUN)) && [[ ! -e $NOIOMMU_PARAM ]]; then
			die "this kernel's vfio has no no-IOMMU mode ($NOIOMMU_PARAM missing: built without CONFIG_VFIO_NOIOMMU); use a kernel that has it, or an instance with an IOMMU"
		fi
		write_file 1 "$NOIOMMU_PARAM"
	fi
	for ifc in "${ifaces[@]}"; do
		if iface_is_up "$ifc"; then
			run "$FERRY_IP" link set dev "$ifc" down
		fi
	done
	write_file "$DRIVER" "$d/driver_override"
	if [[ -n $cur ]]; then
		write_file "$BDF" "$d/driver/unbind"
	fi
	write_file "$BDF" "$FERRY_SYSFS/bus/pci/drivers_probe"
	if ((!DRY_RUN)); then
		local now
		now=$(pci_driver "$BDF")
		[[ $now == "$DRIVER" ]] ||
			die "$BDF did not bind to $DRIVER (it is on '${now:-no driver}'); the kernel log says why: dmesg | tail"
	fi
	state_record "$BDF" "$cur" "$(printf '%s\n' "${ifaces[@]}" | join_lines)"
	if ((DRY_RUN)); then
		info "dry run: nothing changed"
		return 0
	fi
	info "$BDF is bound to $DRIVER. ferryd: eal: { allow = [ \"$BDF\" ]; };  undo: $PROG unbind $BDF"
}

do_unbind() {
	local d cur target line vendor
	resolve_device "$DEVICE"
	d=$(pci_dev_dir "$BDF")
	cur=$(pci_driver "$BDF")
	if [[ -n $cur && " $DPDK_DRIVERS " != *" $cur "* ]]; then
		info "$BDF is on $cur, not on a DPDK driver; nothing to do"
		return 0
	fi
	line=$(state_line "$BDF")
	if [[ -n $DRIVER ]]; then
		target=$DRIVER
	elif [[ -n $line ]]; then
		target=$(awk '{ print $2 }' <<<"$line")
		[[ $target == - || $target =~ ^[A-Za-z0-9_-]+$ ]] ||
			die "$STATE_FILE names '$target' as $BDF's driver, which is not a driver name; give it with --driver"
	else
		vendor=$(sysfs_read "$d/vendor")
		case $vendor in
		0x1d0f) target=ena ;;
		0x1af4) target=virtio-pci ;;
		*) die "no record of $BDF's kernel driver in $STATE_FILE; name it: $PROG unbind $BDF --driver NAME (\`lspci -k -s $BDF\` lists its kernel modules)" ;;
		esac
		info "no record of $BDF's kernel driver; vendor $vendor uses $target"
	fi
	check_not_in_use
	require_root

	info "giving $BDF back to ${target/#-/no driver}"
	if [[ $target != - ]]; then
		ensure_module "$target"
	fi
	if [[ -n $cur ]]; then
		write_file "$BDF" "$d/driver/unbind"
	fi
	if [[ $target != - ]]; then
		write_file "$target" "$d/driver_override"
		write_file "$BDF" "$FERRY_SYSFS/bus/pci/drivers_probe"
	fi
	# An empty override lets later probes match by device id again.
	write_file "" "$d/driver_override"
	state_forget "$BDF"
	if ((DRY_RUN)); then
		info "dry run: nothing changed"
	elif [[ $target != - ]]; then
		local now ifs
		now=$(pci_driver "$BDF")
		[[ $now == "$target" ]] ||
			die "$BDF did not bind to $target (it is on '${now:-no driver}'); the kernel log says why: dmesg | tail"
		ifs=$(pci_ifaces "$BDF" | join_lines)
		info "$BDF is back on $target${ifs:+ as $ifs}; bring it up with the host's network configuration"
	fi
}

status_one() {
	local bdf=$1 d drv ifs grp numa line flags="" ifc
	d=$(pci_dev_dir "$bdf")
	drv=$(pci_driver "$bdf")
	ifs=$(pci_ifaces "$bdf" | join_lines)
	grp=$(link_name "$d/iommu_group")
	numa=$(sysfs_read "$d/numa_node")
	line=$(state_line "$bdf")
	for ifc in ${ifs//,/ }; do
		iface_has_default_route "$ifc" && flags+=" default-route($ifc)"
		if iface_is_up "$ifc" && [[ -n $(iface_addrs "$ifc") ]]; then
			flags+=" in-use($ifc)"
		fi
	done
	printf '%s %s driver=%s iface=%s iommu_group=%s numa_node=%s' \
		"$bdf" "$(pci_ids "$bdf")" "${drv:--}" "${ifs:--}" "${grp:--}" "${numa:--}"
	[[ -n $line ]] && printf ' was=%s' "$(awk '{ print $2 "(" $3 ")" }' <<<"$line")"
	printf '%s\n' "$flags"
}

do_status() {
	if [[ -n $DEVICE ]]; then
		resolve_device "$DEVICE"
		status_one "$BDF"
		return 0
	fi
	local d found=0
	for d in "$FERRY_SYSFS"/bus/pci/devices/*; do
		[[ -e $d/class ]] || continue
		# PCI class 0x02xxxx: network controllers.
		[[ $(sysfs_read "$d/class") == 0x02* ]] || continue
		status_one "${d##*/}"
		found=1
	done
	((found)) || info "no PCI network devices on this host"
	if have_iommu; then
		info "IOMMU: present"
	else
		info "IOMMU: none (vfio-pci needs --noiommu)"
	fi
}

main() {
	parse_args "$@"
	case $ACTION in
	bind) do_bind ;;
	unbind) do_unbind ;;
	status) do_status ;;
	esac
}

main "$@"
