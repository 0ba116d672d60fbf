# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Helpers for the host setup script tests: a fake sysfs/procfs tree, a fake
# ip(8), and a few assertions. Sourced by the test-*.sh files.
#
# Each test file calls fake_init, builds the devices it needs, runs a script
# with run_script (stdout, stderr and exit status are kept in OUT, ERR, RC),
# checks them, and ends with finish, which prints "N passed, N failed" and
# sets the exit status.

PASSED=0
FAILED=0
OUT=""
ERR=""
RC=0

T=""   # temp root of this test file
S=""   # fake sysfs
P=""   # fake procfs
RUN="" # fake /run/ferry
IPD="" # fake ip's data: route4, route6, link/IF, addr/IF
FAKE_IP=""

cleanup_tmp() { [[ -n $T && -d $T ]] && rm -rf "$T"; }

# $1: the scripts directory under test.
fake_init() {
	SCRIPTS=$1
	[[ -x $SCRIPTS/bind-nic.sh ]] || { echo "no scripts in '$SCRIPTS'" >&2; exit 1; }
	T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-scripts-test.XXXXXX")
	trap cleanup_tmp EXIT
	fake_reset
}

# A fresh, empty host: no PCI devices, no interfaces, no routes, no IOMMU.
fake_reset() {
	rm -rf "$T/host"
	S=$T/host/sys
	P=$T/host/proc
	RUN=$T/host/run/ferry
	IPD=$T/host/ipdata
	FAKE_IP=$T/host/bin/ip
	mkdir -p "$S/bus/pci/devices" "$S/bus/pci/drivers" "$S/class/net" \
		"$S/kernel/iommu_groups" "$S/devices/system" "$P" "$IPD/link" "$IPD/addr" \
		"${FAKE_IP%/*}"
	: >"$S/bus/pci/drivers_probe"
	: >"$P/mounts"
	: >"$IPD/route4"
	: >"$IPD/route6"
	write_fake_ip
}

# The fake ip(8) answers the queries the scripts make from the files in
# $IPD, logs every call in $IPD/calls, and changes nothing.
write_fake_ip() {
	cat >"$FAKE_IP" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
D=${FAKE_IP_DATA:?}
printf '%s\n' "$*" >>"$D/calls"
fam=""; oneline=0
while [[ ${1:-} == -* ]]; do
	case $1 in
	-4) fam=4 ;; -6) fam=6 ;; -o) oneline=1 ;;
	*) echo "fake ip: option $1" >&2; exit 2 ;;
	esac
	shift
done
obj=${1:-}; shift || true
case $obj in
route)
	[[ ${1:-} == show ]] && shift
	all=0; def=0; dev=""
	while (($#)); do
		case $1 in
		table) [[ $2 == all ]] && all=1; shift ;;
		default) def=1 ;;
		dev) dev=$2; shift ;;
		esac
		shift
	done
	f=$D/route${fam:-4}
	[[ -f $f ]] || exit 0
	# A route may go on over indented lines (multipath "nexthop ..."):
	# they follow their route in or out.
	keep=0
	while IFS= read -r l; do
		[[ -n $l ]] || continue
		if [[ $l == [[:space:]]* ]]; then
			((keep)) && printf '%s\n' "$l"
			continue
		fi
		keep=0
		((def)) && [[ $l != default* ]] && continue
		((all)) || [[ $l != *" table "* ]] || continue
		[[ -z $dev || " $l " == *" dev $dev "* ]] || continue
		keep=1
		printf '%s\n' "$l"
	done <"$f"
	;;
link)
	case ${1:-} in
	show) [[ ${2:-} == dev ]] || exit 2
		[[ -f $D/link/$3 ]] || { echo "Device \"$3\" does not exist." >&2; exit 1; }
		cat "$D/link/$3" ;;
	set) ;;
	*) exit 2 ;;
	esac
	;;
addr | address)
	[[ ${1:-} == show && ${2:-} == dev ]] || exit 2
	[[ -f $D/addr/$3 ]] || { echo "Device \"$3\" does not exist." >&2; exit 1; }
	case $fam in
	4) grep ' inet ' "$D/addr/$3" || true ;;
	6) grep ' inet6 ' "$D/addr/$3" || true ;;
	*) cat "$D/addr/$3" ;;
	esac
	;;
*) echo "fake ip: $obj" >&2; exit 2 ;;
esac
EOF
	chmod +x "$FAKE_IP"
}

# add_pci BDF VENDOR DEVICE DRIVER [IFACE] [CLASS]
# A PCI function bound to DRIVER ("" for none), with a network interface.
add_pci() {
	local bdf=$1 vendor=$2 device=$3 drv=$4 ifc=${5:-} class=${6:-0x020000}
	local d=$S/bus/pci/devices/$bdf
	mkdir -p "$d"
	echo "$vendor" >"$d/vendor"
	echo "$device" >"$d/device"
	echo "$class" >"$d/class"
	echo 0 >"$d/numa_node"
	echo "(null)" >"$d/driver_override"
	if [[ -n $drv ]]; then
		add_driver "$drv"
		ln -s "../../drivers/$drv" "$d/driver"
	fi
	if [[ -n $ifc ]]; then
		add_iface_of "$bdf" "$ifc"
	fi
}

add_driver() {
	local dd=$S/bus/pci/drivers/$1
	mkdir -p "$dd"
	[[ -e $dd/bind ]] || : >"$dd/bind"
	[[ -e $dd/unbind ]] || : >"$dd/unbind"
}

# A kernel network interface on PCI function BDF.
add_iface_of() {
	local bdf=$1 ifc=$2
	mkdir -p "$S/bus/pci/devices/$bdf/net/$ifc" "$S/class/net/$ifc"
	ln -s "../../../bus/pci/devices/$bdf" "$S/class/net/$ifc/device"
	iface_state "$ifc" down
}

# A virtual interface: no device link.
add_virtual_iface() {
	mkdir -p "$S/class/net/$1"
	iface_state "$1" up
}

# iface_state IF up|down [ADDR/PREFIX...]
iface_state() {
	local ifc=$1 st=$2 flags="BROADCAST,MULTICAST" a
	shift 2
	[[ $st == up ]] && flags+=",UP,LOWER_UP"
	echo "3: $ifc: <$flags> mtu 9001 qdisc mq state ${st^^} mode DEFAULT group default qlen 1000\\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff" >"$IPD/link/$ifc"
	: >"$IPD/addr/$ifc"
	echo "3: $ifc    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever" >>"$IPD/addr/$ifc"
	for a in "$@"; do
		if [[ $a == *:* ]]; then
			echo "3: $ifc    inet6 $a scope global dynamic \\       valid_lft 3000sec preferred_lft 3000sec" >>"$IPD/addr/$ifc"
		else
			echo "3: $ifc    inet $a brd + scope global dynamic $ifc\\       valid_lft 3000sec preferred_lft 3000sec" >>"$IPD/addr/$ifc"
		fi
	done
}

add_route4() { echo "$*" >>"$IPD/route4"; }
add_route6() { echo "$*" >>"$IPD/route6"; }

# An IOMMU with group G holding BDF.
add_iommu_group() {
	local bdf=$1 g=$2
	mkdir -p "$S/kernel/iommu_groups/$g/devices"
	ln -s "../../../../bus/pci/devices/$bdf" "$S/kernel/iommu_groups/$g/devices/$bdf"
	ln -s "../../../../kernel/iommu_groups/$g" "$S/bus/pci/devices/$bdf/iommu_group"
}

# run_script NAME ARGS...: run a script against the fake host.
run_script() {
	local name=$1
	shift
	local o=$T/out e=$T/err
	RC=0
	env FERRY_SYSFS="$S" FERRY_PROCFS="$P" FERRY_IP="$FAKE_IP" FERRY_RUNDIR="$RUN" \
		FAKE_IP_DATA="$IPD" ${EXTRA_ENV:+"${EXTRA_ENV[@]}"} \
		bash "$SCRIPTS/$name" "$@" >"$o" 2>"$e" </dev/null || RC=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
}

pass() {
	PASSED=$((PASSED + 1))
	printf 'ok %d - %s\n' $((PASSED + FAILED)) "$1"
}

fail() {
	FAILED=$((FAILED + 1))
	printf 'not ok %d - %s\n' $((PASSED + FAILED)) "$1"
	shift
	local l
	for l in "$@"; do
		printf '#   %s\n' "$l"
	done
	printf '#   exit status: %s\n' "$RC"
	printf '#   stdout:\n'
	[[ -n $OUT ]] && printf '#     %s\n' "${OUT//$'\n'/$'\n#     '}"
	printf '#   stderr:\n'
	[[ -n $ERR ]] && printf '#     %s\n' "${ERR//$'\n'/$'\n#     '}"
	return 0
}

expect_rc() {
	local want=$1 what=$2
	if [[ $RC == "$want" ]]; then pass "$what: exit $want"; else fail "$what: exit $want" "wanted exit status $want"; fi
}

# The whole stdout, exactly.
expect_out() {
	local want=$1 what=$2
	if [[ $OUT == "$want" ]]; then
		pass "$what: stdout"
	else
		fail "$what: stdout" "wanted stdout:" "${want//$'\n'/$'\n#     '}"
	fi
}

expect_out_has() {
	local want=$1 what=$2
	if grep -Fxq -- "$want" <<<"$OUT"; then pass "$what: stdout has '$want'"; else fail "$what: stdout has '$want'" "no such line"; fi
}

expect_out_lacks() {
	local bad=$1 what=$2
	if grep -Fq -- "$bad" <<<"$OUT"; then fail "$what: stdout lacks '$bad'" "found it"; else pass "$what: stdout lacks '$bad'"; fi
}

expect_err_has() {
	local want=$1 what=$2
	if grep -Fq -- "$want" <<<"$ERR"; then pass "$what: stderr says '$want'"; else fail "$what: stderr says '$want'" "not found"; fi
}

finish() {
	printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
	((FAILED == 0))
}
