#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bind-nic.sh against a fake sysfs tree and a fake ip(8): the exact commands
# --dry-run prints for bind and unbind, and every refusal (default route,
# interface in use, virtual interface, no IOMMU, device held by a process).
#
# Usage: test-bind-nic.sh SCRIPTS_DIR
set -uo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fake_init "${1:?usage: $0 SCRIPTS_DIR}"

BDF=0000:00:06.0
DEV=$S/bus/pci/devices/$BDF

# An ENA function on ena as eth1, down, no IOMMU, vfio not loaded.
host_ena() {
	fake_reset
	add_pci "$BDF" 0x1d0f 0xec20 ena eth1
}

# ---- help and usage --------------------------------------------------------

host_ena
run_script bind-nic.sh --help
expect_rc 0 "--help"
if grep -q '^Usage: bind-nic.sh' <<<"$OUT"; then pass "--help prints usage"; else fail "--help prints usage"; fi

run_script bind-nic.sh frobnicate "$BDF"
expect_rc 1 "unknown action"
expect_err_has "unknown action 'frobnicate'" "unknown action"

run_script bind-nic.sh --dry-run bind
expect_rc 1 "bind without device"
expect_err_has "bind needs a DEVICE" "bind without device"

run_script bind-nic.sh --dry-run bind "$BDF" --driver e1000
expect_rc 1 "bind to a non-DPDK driver"
expect_err_has "bind to one of the DPDK drivers" "bind to a non-DPDK driver"

# ---- no IOMMU ------------------------------------------------------------------

host_ena
run_script bind-nic.sh --dry-run bind "$BDF"
expect_rc 1 "no IOMMU, no --noiommu"
expect_err_has "this host has no IOMMU" "no IOMMU, no --noiommu"
expect_err_has "rerun with --noiommu" "no IOMMU, no --noiommu"
expect_out "" "no IOMMU, no --noiommu prints no command"

want="+ modprobe vfio-pci
+ echo 1 > $S/module/vfio/parameters/enable_unsafe_noiommu_mode
+ echo vfio-pci > $DEV/driver_override
+ echo $BDF > $DEV/driver/unbind
+ echo $BDF > $S/bus/pci/drivers_probe
+ mkdir -p $RUN
+ echo '$BDF ena eth1' >> $RUN/bind-nic.state
+ chmod 0644 $RUN/bind-nic.state"

run_script bind-nic.sh --dry-run --noiommu bind "$BDF"
expect_rc 0 "bind PCI address, --noiommu"
expect_out "$want" "bind PCI address, --noiommu"
expect_err_has "UNSAFE no-IOMMU mode" "bind PCI address, --noiommu warns"

# The same by interface name, by short PCI address, options after the device.
run_script bind-nic.sh bind eth1 --dry-run --noiommu
expect_rc 0 "bind interface name"
expect_out "$want" "bind interface name"
run_script bind-nic.sh --dry-run --noiommu bind 00:06.0
expect_out "$want" "bind short PCI address"

# vfio already loaded and in no-IOMMU mode: neither modprobe nor the switch.
add_driver vfio-pci
mkdir -p "$S/module/vfio/parameters"
echo Y >"$S/module/vfio/parameters/enable_unsafe_noiommu_mode"
run_script bind-nic.sh --dry-run bind "$BDF"
expect_rc 0 "no-IOMMU mode already on"
expect_out "+ echo vfio-pci > $DEV/driver_override
+ echo $BDF > $DEV/driver/unbind
+ echo $BDF > $S/bus/pci/drivers_probe
+ mkdir -p $RUN
+ echo '$BDF ena eth1' >> $RUN/bind-nic.state
+ chmod 0644 $RUN/bind-nic.state" "no-IOMMU mode already on"

# ---- with an IOMMU -------------------------------------------------------------

host_ena
add_iommu_group "$BDF" 7
run_script bind-nic.sh --dry-run bind "$BDF"
expect_rc 0 "IOMMU present"
expect_out "+ modprobe vfio-pci
+ echo vfio-pci > $DEV/driver_override
+ echo $BDF > $DEV/driver/unbind
+ echo $BDF > $S/bus/pci/drivers_probe
+ mkdir -p $RUN
+ echo '$BDF ena eth1' >> $RUN/bind-nic.state
+ chmod 0644 $RUN/bind-nic.state" "IOMMU present"

# uio_pci_generic needs no IOMMU.
host_ena
run_script bind-nic.sh --dry-run bind "$BDF" --driver uio_pci_generic
expect_rc 0 "bind to uio_pci_generic"
expect_out_has "+ echo uio_pci_generic > $DEV/driver_override" "bind to uio_pci_generic"

# A device with no driver: nothing to unbind, "-" recorded.
fake_reset
add_pci "$BDF" 0x1d0f 0xec20 ""
add_iommu_group "$BDF" 7
add_driver vfio-pci
run_script bind-nic.sh --dry-run bind "$BDF"
expect_rc 0 "bind a device with no driver"
expect_out "+ echo vfio-pci > $DEV/driver_override
+ echo $BDF > $S/bus/pci/drivers_probe
+ mkdir -p $RUN
+ echo '$BDF - -' >> $RUN/bind-nic.state
+ chmod 0644 $RUN/bind-nic.state" "bind a device with no driver"

# Already bound: nothing to do.
fake_reset
add_pci "$BDF" 0x1d0f 0xec20 vfio-pci
run_script bind-nic.sh --dry-run bind "$BDF"
expect_rc 0 "already bound"
expect_out "" "already bound"
expect_err_has "already bound to vfio-pci" "already bound"

# ---- interfaces in use ---------------------------------------------------------

host_ena
add_iommu_group "$BDF" 7
add_driver vfio-pci
iface_state eth1 up 10.0.1.5/24
run_script bind-nic.sh --dry-run bind eth1
expect_rc 1 "up with an address"
expect_err_has "refusing: eth1 is up with addresses 10.0.1.5/24" "up with an address"
expect_out "" "up with an address prints no command"

iface_state eth1 up 2001:db8::5/64
run_script bind-nic.sh --dry-run bind eth1
expect_rc 1 "up with a global IPv6 address"
expect_err_has "up with addresses 2001:db8::5/64" "up with a global IPv6 address"

# Up, but only the IPv6 link-local address every interface has: free.
iface_state eth1 up
run_script bind-nic.sh --dry-run bind eth1
expect_rc 0 "up with link-local only"
expect_out "+ $FAKE_IP link set dev eth1 down
+ echo vfio-pci > $DEV/driver_override
+ echo $BDF > $DEV/driver/unbind
+ echo $BDF > $S/bus/pci/drivers_probe
+ mkdir -p $RUN
+ echo '$BDF ena eth1' >> $RUN/bind-nic.state
+ chmod 0644 $RUN/bind-nic.state" "up with link-local only: taken down first"

# Down but still holding an address: not in use.
iface_state eth1 down 10.0.1.5/24
run_script bind-nic.sh --dry-run bind eth1
expect_rc 0 "down with an address"

# The host's default route.
iface_state eth1 down
add_route4 "default via 10.0.1.1 dev eth1 proto dhcp src 10.0.1.5 metric 100"
run_script bind-nic.sh --dry-run bind "$BDF"
expect_rc 1 "default route (by PCI address)"
expect_err_has "refusing: eth1 carries the default route" "default route (by PCI address)"
expect_out "" "default route prints no command"

# IPv6 default route too.
: >"$IPD/route4"
add_route6 "default via fe80::1 dev eth1 proto ra metric 1024 pref medium"
run_script bind-nic.sh --dry-run bind eth1
expect_rc 1 "IPv6 default route"
expect_err_has "eth1 carries the default route" "IPv6 default route"

# One leg of a multipath default route.
: >"$IPD/route6"
add_route4 "default proto static metric 50"
add_route4 "	nexthop via 10.0.0.1 dev eth0 weight 1"
add_route4 "	nexthop via 10.0.1.1 dev eth1 weight 1"
run_script bind-nic.sh --dry-run bind eth1
expect_rc 1 "multipath default route"
expect_err_has "eth1 carries the default route" "multipath default route"

# A default route through another interface does not matter; a fallback
# default through eth1 (higher metric) or one in eth1's own table only
# earns a warning.
: >"$IPD/route4"
add_route4 "default via 10.0.0.1 dev eth0 proto dhcp src 10.0.0.10 metric 100"
run_script bind-nic.sh --dry-run bind eth1
expect_rc 0 "default route on another interface"
add_route4 "default via 10.0.1.1 dev eth1 proto dhcp src 10.0.1.5 metric 200"
add_route4 "default via 10.0.1.1 dev eth1 table 10001"
run_script bind-nic.sh --dry-run bind eth1
expect_rc 0 "fallback default route"
expect_err_has "eth1 carries a default route that is not the preferred one" "fallback default route"

# --force binds anyway, loudly.
add_route4 "default via 10.0.1.1 dev eth1 proto dhcp metric 20"
iface_state eth1 up 10.0.1.5/24
run_script bind-nic.sh --dry-run --force bind eth1
expect_rc 0 "--force"
expect_err_has "--force: binding anyway" "--force"
expect_out_has "+ $FAKE_IP link set dev eth1 down" "--force"
expect_out_has "+ echo vfio-pci > $DEV/driver_override" "--force"

# ---- devices that cannot be bound ----------------------------------------------

fake_reset
add_virtual_iface veth0
run_script bind-nic.sh --dry-run bind veth0
expect_rc 1 "veth"
expect_err_has "veth0 is a virtual interface" "veth"
expect_err_has 'net_af_packet0,iface=veth0' "veth suggests a vdev"
expect_out "" "veth prints no command"

run_script bind-nic.sh --dry-run bind nosuch0
expect_rc 1 "unknown interface"
expect_err_has "neither a PCI address (0000:00:06.0) nor a network interface" "unknown interface"

run_script bind-nic.sh --dry-run bind 0000:00:1f.0
expect_rc 1 "unknown PCI address"
expect_err_has "no PCI device 0000:00:1f.0" "unknown PCI address"

run_script bind-nic.sh --dry-run bind ../../etc
expect_rc 1 "path as device"

# A virtio-net interface: its device is the virtio device under the PCI one.
fake_reset
mkdir -p "$S/bus/pci/devices/0000:00:03.0/virtio0/net/ens3" "$S/class/net/ens3"
echo 0x1af4 >"$S/bus/pci/devices/0000:00:03.0/vendor"
echo 0x1000 >"$S/bus/pci/devices/0000:00:03.0/device"
add_driver virtio-pci
ln -s ../../drivers/virtio-pci "$S/bus/pci/devices/0000:00:03.0/driver"
ln -s ../../../bus/pci/devices/0000:00:03.0/virtio0 "$S/class/net/ens3/device"
iface_state ens3 down
add_iommu_group 0000:00:03.0 2
run_script bind-nic.sh --dry-run bind ens3
expect_rc 0 "virtio-net interface"
expect_out_has "+ echo vfio-pci > $S/bus/pci/devices/0000:00:03.0/driver_override" "virtio-net interface resolves to its PCI function"
expect_out_has "+ echo '0000:00:03.0 virtio-pci ens3' >> $RUN/bind-nic.state" "virtio-net interface"

# ---- unbind ----------------------------------------------------------------------

fake_reset
add_pci "$BDF" 0x1d0f 0xec20 vfio-pci
add_iommu_group "$BDF" 7
add_driver ena
mkdir -p "$RUN"
echo "0000:00:05.0 ena eth0" >"$RUN/bind-nic.state"
echo "$BDF ena eth1" >>"$RUN/bind-nic.state"
want_unbind="+ echo $BDF > $DEV/driver/unbind
+ echo ena > $DEV/driver_override
+ echo $BDF > $S/bus/pci/drivers_probe
+ echo '' > $DEV/driver_override
+ sed -i '/^0000:00:06\\.0 /d' $RUN/bind-nic.state"
run_script bind-nic.sh --dry-run unbind "$BDF"
expect_rc 0 "unbind, driver from the state file"
expect_out "$want_unbind" "unbind, driver from the state file"

run_script bind-nic.sh --dry-run unbind eth1
expect_rc 0 "unbind by the vanished interface name"
expect_out "$want_unbind" "unbind by the vanished interface name"

run_script bind-nic.sh --dry-run unbind "$BDF" --driver igb
expect_rc 0 "unbind --driver"
expect_out "+ modprobe igb
+ echo $BDF > $DEV/driver/unbind
+ echo igb > $DEV/driver_override
+ echo $BDF > $S/bus/pci/drivers_probe
+ echo '' > $DEV/driver_override
+ sed -i '/^0000:00:06\\.0 /d' $RUN/bind-nic.state" "unbind --driver"

# A state file others may write is not trusted: unbind would load the module
# it names.
chmod 0666 "$RUN/bind-nic.state"
echo 0x8086 >"$DEV/vendor"
run_script bind-nic.sh --dry-run unbind "$BDF"
expect_rc 1 "unbind with a state file others may write"
expect_err_has "ignoring $RUN/bind-nic.state: it must belong to uid" "unbind with a state file others may write"
echo 0x1d0f >"$DEV/vendor"
chmod 0644 "$RUN/bind-nic.state"
echo "$BDF ../../evil eth1" >"$RUN/bind-nic.state"
run_script bind-nic.sh --dry-run unbind "$BDF"
expect_rc 1 "unbind with a bad driver name in the state file"
expect_err_has "not a driver name" "unbind with a bad driver name in the state file"

# No record: ENA's vendor id names the driver; an unknown vendor needs --driver.
rm -f "$RUN/bind-nic.state"
run_script bind-nic.sh --dry-run unbind "$BDF"
expect_rc 0 "unbind without a record (ENA)"
expect_err_has "vendor 0x1d0f uses ena" "unbind without a record (ENA)"
expect_out_has "+ echo ena > $DEV/driver_override" "unbind without a record (ENA)"

echo 0x8086 >"$DEV/vendor"
run_script bind-nic.sh --dry-run unbind "$BDF"
expect_rc 1 "unbind, unknown vendor, no record"
expect_err_has "--driver NAME" "unbind, unknown vendor, no record"
echo 0x1d0f >"$DEV/vendor"

# A process holding the VFIO group: unbinding would hang, so refuse.
mkdir -p "$P/4242/fd"
echo ferryd >"$P/4242/comm"
ln -s /dev/vfio/noiommu-7 "$P/4242/fd/9"
run_script bind-nic.sh --dry-run unbind "$BDF"
expect_rc 1 "unbind while in use"
expect_err_has "in use by process 4242 (ferryd)" "unbind while in use"
rm -rf "$P/4242"

# Not on a DPDK driver: nothing to do.
fake_reset
add_pci "$BDF" 0x1d0f 0xec20 ena eth1
run_script bind-nic.sh --dry-run unbind "$BDF"
expect_rc 0 "unbind a device on its kernel driver"
expect_out "" "unbind a device on its kernel driver"

# ---- status --------------------------------------------------------------------

fake_reset
add_pci 0000:00:05.0 0x1d0f 0xec20 ena eth0
add_pci "$BDF" 0x1d0f 0xec20 vfio-pci
add_pci 0000:00:01.0 0x8086 0x7000 "" "" 0x060100
iface_state eth0 up 10.0.0.10/24
add_route4 "default via 10.0.0.1 dev eth0"
mkdir -p "$RUN"
echo "$BDF ena eth1" >"$RUN/bind-nic.state"
run_script bind-nic.sh status
expect_rc 0 "status"
expect_out "0000:00:05.0 0x1d0f:0xec20 driver=ena iface=eth0 iommu_group=- numa_node=0 default-route(eth0) in-use(eth0)
$BDF 0x1d0f:0xec20 driver=vfio-pci iface=- iommu_group=- numa_node=0 was=ena(eth1)" "status lists network devices only"
expect_err_has "IOMMU: none" "status"

# ---- a real run on the fake tree: writes land, and the result is checked -------

if [[ $(id -u) -eq 0 ]]; then
	host_ena
	add_iommu_group "$BDF" 7
	add_driver vfio-pci
	run_script bind-nic.sh bind "$BDF"
	# The fake kernel does not rebind, so the check after the writes fails.
	expect_rc 1 "real run on a fake tree"
	expect_err_has "did not bind to vfio-pci (it is on 'ena')" "real run checks the result"
	if [[ $(cat "$DEV/driver_override") == vfio-pci && $(cat "$S/bus/pci/drivers/ena/unbind") == "$BDF" &&
		$(cat "$S/bus/pci/drivers_probe") == "$BDF" ]]; then
		pass "real run wrote driver_override, unbind and drivers_probe"
	else
		fail "real run wrote driver_override, unbind and drivers_probe"
	fi
else
	echo "# skipped the real-run checks: they need root"
fi

finish
