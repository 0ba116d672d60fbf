#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# lab.sh: ferry's test lab on one machine. "Hosts" in network namespaces
# on one Ethernet segment, 10.77.0.0/24:
#
#   ferry-a  veth fa0, no kernel IPv4 address: a ferryd owns fa0 through
#            net_af_packet and is 10.77.0.1
#   ferry-b  veth fb0, likewise; its ferryd is 10.77.0.2
#   ferry-k  veth fk0 with 10.77.0.3/24: an ordinary kernel host
#   ferry-sw the switch: bridge ferry-br0 and the veths' other ends
#
# With --routed MTU, ferry-b sits behind a router instead (path MTU tests):
#
#   ferry-r  a Linux router: r0 on the bridge as 10.77.0.254/24, and r1,
#            10.77.2.254/24 with IP MTU MTU, a veth pair straight to
#            ferry-b's fb0 (which keeps LAB_MTU, as its ferryd's port)
#   ferry-b  its ferryd is 10.77.2.2/24 behind gateway 10.77.2.254; ferry-a's
#            ferryd gets gateway 10.77.0.254
#
# so a's packets to b larger than MTU meet a narrower link with DF set: the
# router answers ICMP fragmentation needed (rate limit off), unless a rule
# in ferry-r drops those (lab.sh exec r nft ...).
#
# With LAB_PMD=tap each daemon's port is net_tap instead, which has
# receive interrupts (an idle ferryd sleeps on them; net_af_packet has
# none, so an idle ferryd polls it): the host's namespace gets a
# persistent tap, ta0 (tb0), created before the daemon attaches to it, and
# a bridge, fa-br (fb-br), joining the tap to the veth fa0 (fb0). The PMD
# gives the kernel's side of the tap the port's own MAC; a bridge would
# take that MAC for its own and keep ferryd's frames, so once the daemon
# is up the lab gives the tap another one. Every frame then crosses two
# more bridges than with af_packet; the kernel baseline's addresses sit on
# the hosts' bridges and cross them too.
# With more hosts (LAB_HOSTS=N or --hosts N, up to 10) ferry-c, ferry-d ...
# ferry-j join them the same way: veth fc0, switch side sw-c0, ferryd at
# 10.77.0.4, MAC 02:77:00:00:00:04, and so on (the kernel host keeps .3).
#
# Nothing is added to the root namespace: each veth pair is created with its
# ends directly in their namespaces. The kernel interfaces fa0 and fb0 carry
# no ferryd address, or the kernel would answer ARP for it too; ferryd uses
# the interface's MAC (net_af_packet does). IPv6 is off in every namespace,
# so no router solicitations or DAD probes reach ferryd's counters, and TX
# checksum offload is off on the hosts' veths, so every frame on the wire
# carries complete checksums (veth would otherwise hand af_packet UDP and
# ICMP packets with only the pseudo-header sum in them).
#
# State lives in /run/ferry-lab: the state file (which records the hosts up
# created), daemon PID files and logs, and the daemons' sockets a.sock,
# b.sock ...; rings in /dev/shm/ferry-lab-a, /dev/shm/ferry-lab-b ...
set -euo pipefail

PROG=${0##*/}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=ferry-common.sh
source "$TOP/scripts/ferry-common.sh"

usage() {
	cat <<EOF
Usage: $PROG [options] up|down|status|kill H|start H
       $PROG [options] baseline-addrs on|off
       $PROG exec a|b|...|k|sw|r COMMAND [ARG...]

ferry's test lab: namespaces ferry-a and ferry-b, each with a ferryd that
owns its veth (fa0, fb0) through net_af_packet (or, with LAB_PMD=tap, a
tap bridged to it through net_tap) as 10.77.0.1 and 10.77.0.2, and
ferry-k, a kernel host at 10.77.0.3, joined by the bridge ferry-br0 in
namespace ferry-sw. Subnet 10.77.0.0/24, ferry's UDP port 31850. With
--hosts N, hosts ferry-c, ferry-d ... (up to ferry-j) join them likewise:
veth fc0, ferryd at 10.77.0.4, and so on.

  up              create the namespaces, links and addresses, reserve
                  hugepages if it can, start every daemon and wait (10 s at
                  most) for their sockets; says so when the lab is up already
  down            stop the daemons (SIGTERM, then SIGKILL after 5 s), delete
                  the namespaces, give back the hugepages up reserved,
                  remove /run/ferry-lab; takes down whatever lab is there,
                  whatever --hosts up was given; does nothing when the lab
                  is down
  status          namespaces, links, addresses, daemons; exit 0 when the
                  lab is up, 1 when partly up, 3 when down
  kill H          SIGKILL host H's daemon (a, b, ...), as a crash would,
                  and wait until it is gone; the lab stays up
  start H         start host H's daemon again after kill, with the same
                  binary (and LAB_FERRYD_ARGS as set now), and wait for
                  its socket
  exec H CMD...   run CMD in host H's namespace (a, b, ..., k, sw, or r,
                  the router of --routed) with FERRY_SOCKET set to that
                  host's daemon socket
  baseline-addrs on|off
                  add (remove) the kernel addresses 10.77.1.1/24 on fa0,
                  10.77.1.2/24 on fb0 (10.77.1.4/24 on fc0 ...; with
                  LAB_PMD=tap: on the hosts' bridges fa-br, fb-br ...), for
                  a kernel UDP baseline over the same wire as ferry
                  (tests/bench/udp_pingpong); the kernel answers ARP only
                  for these, never for ferryd's addresses

Options:
  --hosts N       up: hosts with a ferryd, 2 to 10 (default \$LAB_HOSTS, else
                  2): a, b, then c, d, ... j; the other commands act on the
                  hosts the lab was brought up with
  --build DIR     build directory with daemon/ferryd (default: build-release
                  in the repository, else build)
  --no-daemons    up: only the network, no daemons (and no hugepages)
  --no-hugepages  up: run the daemons with --no-huge, reserve nothing
  --routed MTU    up: put ferry-b behind a router, ferry-r, whose link to
                  it has IP MTU MTU (576..LAB_MTU): ferry-b is 10.77.2.2/24,
                  each daemon has the router as gateway (path MTU tests)
  --dry-run       print every command that changes the host, prefixed "+ ",
                  and change nothing
  -h, --help      this text

Environment:
  LAB_PMD         the daemons' DPDK port: af_packet (default: net_af_packet
                  on the veth; no receive interrupts, so an idle ferryd
                  polls it every idle.sleep_us) or tap (net_tap on a tap
                  bridged to the veth; an idle ferryd sleeps on its receive
                  interrupts). Fixed at up; status shows it
  LAB_HOSTS       as --hosts (default 2)
  LAB_MTU         MTU of every veth and of the daemons' ports (default
                  1500; net_af_packet and net_tap in DPDK 22.11 take 1500
                  at most)
  LAB_HUGEPAGES   2 MiB pages up reserves at least (default 256)
  LAB_MEMORY_MB   memory per daemon, EAL -m (default 128); up reserves
                  hugepages for every daemon (--hosts 5: 336 pages, 672 MiB)
  LAB_LOG_LEVEL   the daemons' log.level (default info)
  LAB_CC_TARGET_US the daemons' transport.cc_target_delay_us (default 500:
                  af_packet on veth queues far longer than a NIC)
  LAB_FERRYD_ARGS further ferryd flags for every daemon, space-separated
  LAB_FERRYD_ARGS_A, LAB_FERRYD_ARGS_B
                  further flags for host a's (b's) daemon only, after those
                  (each host's key file, say)
  LAB_LCORES      eal.lcores of every daemon (default 0@(0-<ncpu-1>): each
                  floats over all CPUs, however many daemons share them)
  LAB_ROUTED_MTU  up: as --routed MTU

The daemons drop to the user and group "ferry" (created from
systemd/ferry.sysusers when missing). Needs root, except with --dry-run.

Exit status: 0 done; 1 failed (up takes down what it built when a daemon
does not come up, after showing the end of its log); 77 from up when a
daemon says DPDK cannot start here; status: see above.
EOF
}

LAB_DIR=/run/ferry-lab
STATE=$LAB_DIR/state
LAB_MTU=${LAB_MTU:-1500}
# af_packet on veth queues tens of us even when idle, and a burst of 1 MiB
# much more: a datacenter's 50 us delay target would keep windows tiny
LAB_CC_TARGET_US=${LAB_CC_TARGET_US:-500}
LAB_HUGEPAGES=${LAB_HUGEPAGES:-256}
LAB_MEMORY_MB=${LAB_MEMORY_MB:-128}
LAB_LOG_LEVEL=${LAB_LOG_LEVEL:-info}
LAB_FERRYD_ARGS=${LAB_FERRYD_ARGS:-}
LAB_FERRYD_ARGS_A=${LAB_FERRYD_ARGS_A:-}
LAB_FERRYD_ARGS_B=${LAB_FERRYD_ARGS_B:-}
LAB_PMD=${LAB_PMD:-af_packet}
UDP_PORT=31850
BRIDGE=ferry-br0
NS_SW=ferry-sw
HUGE_DIR=/sys/kernel/mm/hugepages/hugepages-2048kB
DPDK_RUNDIR=/var/run/dpdk
READY_WAIT_S=10
STOP_WAIT_S=5

# Every host a lab can have a ferryd on, in order: --hosts N takes the
# first N. k is the kernel host's letter, so they stop at j.
MAX_HOSTS=10
ALL_DAEMON_HOSTS="a b c d e f g h i j"
LAB_HOSTS=${LAB_HOSTS:-2}
# --routed: the router's two addresses, ferry-b's address behind it, and
# each daemon's gateway
ROUTER_A=10.77.0.254/24
ROUTER_B=10.77.2.254/24
ROUTED_B=10.77.2.2/24
declare -A GATEWAY=()
# Each daemon's EAL thread may run on any CPU: pinned one per CPU, a daemon
# that yields while idle keeps a client woken on its CPU waiting for about
# a scheduler slice, and the lab has only a few cores to share between its
# daemons and their clients.
LAB_LCORES=${LAB_LCORES:-"0@(0-$(($(nproc) - 1)))"}
# Per host: namespace, interface, the switch side's interface, MAC, the
# address (ferryd's for a, b, c ..., the kernel's for k), baseline
# address, lcore. Defined for every possible host, so that down and
# status can name what a lab of any size left.
declare -A NS=([k]=ferry-k [sw]=$NS_SW [r]=ferry-r) IFC=([k]=fk0) SWIF=([k]=sw-k0)
declare -A MAC=([k]=02:77:00:00:00:03) ADDR=([k]=10.77.0.3/24) BASE_ADDR=() LCORE=()
declare -A TAP=() HBR=() VETH_MAC=() TAP_MAC=() HBR_MAC=()
host_define() { # HOST OCTET: a ferryd host's names and addresses
	NS[$1]=ferry-$1
	IFC[$1]=f${1}0
	SWIF[$1]=sw-${1}0
	MAC[$1]=$(printf '02:77:00:00:00:%02x' "$2")
	ADDR[$1]=10.77.0.$2/24
	BASE_ADDR[$1]=10.77.1.$2/24
	LCORE[$1]=$LAB_LCORES
	# LAB_PMD=tap: the tap, the host's bridge, and the MACs of the veth,
	# the tap's kernel side and the bridge, none of them ferryd's (MAC): a
	# bridge keeps frames for its ports' own addresses.
	TAP[$1]=t${1}0
	HBR[$1]=f$1-br
	VETH_MAC[$1]=$(printf '02:77:00:00:10:%02x' "$2")
	TAP_MAC[$1]=$(printf '02:77:00:00:20:%02x' "$2")
	HBR_MAC[$1]=$(printf '02:77:00:00:30:%02x' "$2")
}
octet=1
for h in $ALL_DAEMON_HOSTS; do
	host_define "$h" "$octet"
	# .3 is the kernel host's
	octet=$((octet == 2 ? 4 : octet + 1))
done
unset octet h
# The hosts this run acts on (hosts_select): ferryd hosts, and all of them
# with the kernel host.
DAEMON_HOSTS="a b"
HOSTS="a b k"

CMD=
BUILD=
DAEMONS=1
RESPONDER=0
ROUTED_MTU=${LAB_ROUTED_MTU:-}
HUGE_WANTED=1
HUGE_MODE=off
ARGS=()

parse_args() {
	while (($#)); do
		case $1 in
		--hosts) LAB_HOSTS=${2:?--hosts needs a number}; shift ;;
		--hosts=*) LAB_HOSTS=${1#*=} ;;
		--build) BUILD=${2:?--build needs a directory}; shift ;;
		--build=*) BUILD=${1#*=} ;;
		--no-daemons) DAEMONS=0 ;;
		--no-hugepages) HUGE_WANTED=0 ;;
		--routed) ROUTED_MTU=${2:?--routed needs an MTU}; shift ;;
		--routed=*) ROUTED_MTU=${1#*=} ;;
		# Not in --help: the DPDK test responder (tests/net/net_responder.c)
		# in place of ferryd, so tests/net/lab_test.sh proves the lab's
		# wiring whatever state ferryd is in.
		--responder) RESPONDER=1 ;;
		--dry-run) DRY_RUN=1 ;;
		-h | --help) usage; exit 0 ;;
		-*) die "unknown option '$1' (see $PROG --help)" ;;
		*)
			if [[ -z $CMD ]]; then
				CMD=$1
				if [[ $CMD == exec ]]; then
					shift
					ARGS=("$@")
					return 0
				fi
			else
				ARGS+=("$1")
			fi
			;;
		esac
		shift
	done
	[[ -n $CMD ]] || { usage >&2; exit 1; }
	if [[ ! $LAB_MTU =~ ^[0-9]+$ ]] || ((LAB_MTU < 576 || LAB_MTU > 9001)); then
		die "LAB_MTU wants 576..9001, not '$LAB_MTU'"
	fi
	if [[ -n $ROUTED_MTU ]] && { [[ ! $ROUTED_MTU =~ ^[0-9]+$ ]] || ((ROUTED_MTU < 576 || ROUTED_MTU > LAB_MTU)); }; then
		die "--routed wants an MTU of 576..$LAB_MTU, not '$ROUTED_MTU'"
	fi
	[[ $LAB_PMD == af_packet || $LAB_PMD == tap ]] || die "LAB_PMD wants af_packet or tap, not '$LAB_PMD'"
	if [[ ! $LAB_HOSTS =~ ^[0-9]+$ ]] || ((LAB_HOSTS < 2 || LAB_HOSTS > MAX_HOSTS)); then
		die "--hosts (LAB_HOSTS) wants 2..$MAX_HOSTS hosts with a ferryd, not '$LAB_HOSTS'"
	fi
	[[ -z $ROUTED_MTU ]] || ((LAB_HOSTS == 2)) || die "--routed puts ferry-b behind a router: it takes two hosts, not $LAB_HOSTS"
	[[ $LAB_HUGEPAGES =~ ^[0-9]+$ ]] || die "LAB_HUGEPAGES wants a number of pages, not '$LAB_HUGEPAGES'"
	if [[ ! $LAB_MEMORY_MB =~ ^[0-9]+$ ]] || ((LAB_MEMORY_MB < 16)); then
		die "LAB_MEMORY_MB wants a number of MiB (16 or more), not '$LAB_MEMORY_MB'"
	fi
}

ns_exists() { [[ -e /run/netns/$1 ]]; }

# run(), with the command's own stdout thrown away (ethtool -K reports
# every feature it changed); a dry run still prints the command.
run_quiet() {
	if ((DRY_RUN)); then
		run "$@"
	else
		"$@" >/dev/null
	fi
}

# The lab's namespaces that exist now, one per line: of every host a lab
# of any size has, so that a lab brought up with more hosts than this run
# was told of is still seen, and taken down, whole.
lab_namespaces() {
	local h
	for h in $ALL_DAEMON_HOSTS k sw r; do
		ns_exists "${NS[$h]}" && printf '%s\n' "${NS[$h]}"
	done
	return 0
}

# hosts_select N: DAEMON_HOSTS and HOSTS for a lab of N ferryd hosts.
hosts_select() {
	local n=$1 h
	DAEMON_HOSTS=
	for h in $ALL_DAEMON_HOSTS; do
		((n-- > 0)) || break
		DAEMON_HOSTS+=${DAEMON_HOSTS:+ }$h
	done
	HOSTS="$DAEMON_HOSTS k"
}

# The ferryd hosts of the lab that is up, from its state file (a and b
# when it names none: an older lab.sh wrote it), else those --hosts asks
# for.
hosts_from_state() {
	local hs h
	if ! lab_is_up; then
		hosts_select "$LAB_HOSTS"
		return 0
	fi
	hs=$(state_get hosts)
	[[ -n $hs ]] || hs="a b"
	for h in $hs; do
		[[ " $ALL_DAEMON_HOSTS " == *" $h "* ]] || die "$STATE names an unknown host '$h'"
	done
	DAEMON_HOSTS=$hs
	HOSTS="$hs k"
}

is_daemon_host() { [[ " $DAEMON_HOSTS " == *" $1 "* ]]; }

state_get() { # KEY -> value from the state file, "" when absent
	[[ -r $STATE ]] || return 0
	awk -F= -v k="$1" '$1 == k { sub(/^[^=]*=/, ""); print; exit }' "$STATE"
}

state_set() { # KEY VALUE: add or replace one line of the state file
	if ((DRY_RUN)); then
		printf '%s >> %s\n' "$(show_cmd echo "$1=$2")" "$STATE"
		return 0
	fi
	local tmp=$STATE.tmp
	{
		if [[ -r $STATE ]]; then grep -v "^$1=" "$STATE" || true; fi
		printf '%s=%s\n' "$1" "$2"
	} >"$tmp"
	mv -f "$tmp" "$STATE"
}

pidfile() { printf '%s/%s.pid' "$LAB_DIR" "$1"; }
logfile() { printf '%s/%s.log' "$LAB_DIR" "$1"; }
sockfile() { printf '%s/%s.sock' "$LAB_DIR" "$1"; }
shmdir() { printf '/dev/shm/ferry-lab-%s' "$1"; }
eal_prefix() { printf 'ferry-lab-%s' "$1"; }

# Whether PID runs. A zombie counts as gone.
pid_alive() {
	local state
	[[ $1 =~ ^[0-9]+$ && -r /proc/$1/stat ]] || return 1
	state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ $state != Z ]]
}

# Whether PID runs and is the program the lab started (PID files outlive
# their processes, and PIDs are reused).
pid_is_ours() {
	local pid=$1 exe=$2 got
	pid_alive "$pid" || return 1
	got=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	[[ ${got% (deleted)} == "$exe" ]]
}

daemon_pid() { # HOST -> PID from its PID file, "" when none
	local f
	f=$(pidfile "$1")
	[[ -r $f ]] || return 0
	tr -dc '0-9' <"$f"
}

daemon_running() {
	local pid
	pid=$(daemon_pid "$1")
	[[ -n $pid ]] && pid_is_ours "$pid" "$(state_get binary)"
}

# ---------------------------------------------------------------- network

# A plain L2 switch named $2 in namespace $1. With bridge netfilter on
# (the default once the br_netfilter module is loaded) a bridge validates
# and drops bad IPv4 headers itself, and the malformed frames the tests
# send would never reach ferryd.
bridge_add() {
	local ns=$1 br=$2 k
	run ip -n "$ns" link add "$br" type bridge stp_state 0 forward_delay 0 \
		nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0
	# the namespace's switches count too (either one turns it on); they
	# exist only while br_netfilter is loaded
	for k in iptables ip6tables arptables; do
		if ip netns exec "$ns" test -e "/proc/sys/net/bridge/bridge-nf-call-$k" 2>/dev/null; then
			run ip netns exec "$ns" sysctl -qw "net.bridge.bridge-nf-call-$k=0"
		fi
	done
}

# LAB_PMD=tap: host H's persistent tap and the bridge joining it to the
# veth. The tap is multi-queue and keeps the packet-information header,
# as net_tap opens it; the daemon attaches to it by name.
tap_up() {
	local h=$1 ns=${NS[$1]}
	run ip -n "$ns" tuntap add dev "${TAP[$h]}" mode tap multi_queue
	run ip -n "$ns" link set "${TAP[$h]}" address "${TAP_MAC[$h]}" mtu "$LAB_MTU"
	bridge_add "$ns" "${HBR[$h]}"
	run ip -n "$ns" link set "${HBR[$h]}" address "${HBR_MAC[$h]}" mtu "$LAB_MTU"
	run ip -n "$ns" link set "${IFC[$h]}" master "${HBR[$h]}"
	run ip -n "$ns" link set "${TAP[$h]}" master "${HBR[$h]}" up
	run ip -n "$ns" link set "${HBR[$h]}" up
}

net_up() {
	local h ns
	for h in sw $HOSTS; do
		ns=${NS[$h]}
		run ip netns add "$ns" || die "cannot create network namespace $ns (is this a container without CAP_SYS_ADMIN?)"
		# Before any interface exists, so "default" covers them all.
		run ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		run ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
		run ip -n "$ns" link set lo up
	done
	bridge_add "$NS_SW" "$BRIDGE"
	run ip -n "$NS_SW" link set "$BRIDGE" mtu "$LAB_MTU" up
	for h in $HOSTS; do
		ns=${NS[$h]}
		if [[ $h == b && -n $ROUTED_MTU ]]; then
			routed_up
		else
			run ip link add name "${IFC[$h]}" netns "$ns" type veth peer name "${SWIF[$h]}" netns "$NS_SW"
			run ip -n "$NS_SW" link set "${SWIF[$h]}" mtu "$LAB_MTU" master "$BRIDGE" up
		fi
		if [[ $LAB_PMD == tap && $h != k ]]; then
			run ip -n "$ns" link set "${IFC[$h]}" address "${VETH_MAC[$h]}" mtu "$LAB_MTU"
		else
			run ip -n "$ns" link set "${IFC[$h]}" address "${MAC[$h]}" mtu "$LAB_MTU"
		fi
		run_quiet ip netns exec "$ns" ethtool -K "${IFC[$h]}" tx off
		run ip -n "$ns" link set "${IFC[$h]}" up
		[[ $LAB_PMD == tap && $h != k ]] && tap_up "$h"
	done
	# Only the kernel host has an address; the ferryds own the others'.
	run ip -n "${NS[k]}" addr add "${ADDR[k]}" dev "${IFC[k]}"
}

# --routed: the router namespace, its leg on the bridge, and its narrow
# link to ferry-b (fb0 itself is configured by net_up like the others).
routed_up() {
	local r=${NS[r]}
	run ip netns add "$r"
	run ip netns exec "$r" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	run ip netns exec "$r" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	run ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
	# every fragmentation needed is sent, not one a second per peer
	run ip netns exec "$r" sysctl -qw net.ipv4.icmp_ratelimit=0
	run ip -n "$r" link set lo up
	run ip link add name r0 netns "$r" type veth peer name sw-r0 netns "$NS_SW"
	run ip -n "$NS_SW" link set sw-r0 mtu "$LAB_MTU" master "$BRIDGE" up
	run ip -n "$r" link set r0 mtu "$LAB_MTU" up
	run ip -n "$r" addr add "$ROUTER_A" dev r0
	run ip link add name "${IFC[b]}" netns "${NS[b]}" type veth peer name r1 netns "$r"
	run ip -n "$r" link set r1 mtu "$ROUTED_MTU" up
	run ip -n "$r" addr add "$ROUTER_B" dev r1
}

net_down() {
	local ns
	for ns in $(lab_namespaces); do
		# Deleting a namespace deletes its veth ends, whose peers go
		# with them, and the bridge.
		run ip netns del "$ns" || warn "could not delete namespace $ns"
	done
}

# -------------------------------------------------------------- hugepages

# Reserve enough free 2 MiB pages for every daemon's --in-memory EAL, and
# say in the state file whether the daemons run on hugepages and what to
# give back on `down`.
hugepages_up() {
	local need nr free target
	HUGE_MODE=off
	state_set hugepages off
	if ((!HUGE_WANTED)); then
		info "hugepages: not wanted (--no-hugepages); the daemons run with --no-huge"
		return 0
	fi
	if [[ ! -e $HUGE_DIR/nr_hugepages ]]; then
		info "hugepages: this host has no 2 MiB pages; the daemons run with --no-huge"
		return 0
	fi
	# Pages for every daemon: LAB_MEMORY_MB / 2 each, and a little slack.
	local n
	n=$(wc -w <<<"$DAEMON_HOSTS")
	need=$((n * ((LAB_MEMORY_MB + 1) / 2) + 16))
	nr=$(sysfs_read "$HUGE_DIR/nr_hugepages")
	free=$(sysfs_read "$HUGE_DIR/free_hugepages")
	if ((free < need)); then
		target=$((nr + need - free))
		((target >= LAB_HUGEPAGES)) || target=$LAB_HUGEPAGES
		info "hugepages: $free of $nr free, reserving $target"
		if ! run "$TOP/scripts/setup-hugepages.sh" --pages "$target" --no-mount; then
			warn "hugepages: none reserved; the daemons run with --no-huge"
			return 0
		fi
		if ((DRY_RUN)); then
			HUGE_MODE=on
			state_set hugepages on
			return 0
		fi
		state_set huge_prev "$nr"
		state_set huge_set "$(sysfs_read "$HUGE_DIR/nr_hugepages")"
		free=$(sysfs_read "$HUGE_DIR/free_hugepages")
	fi
	if ((free >= need)); then
		HUGE_MODE=on
		state_set hugepages on
		info "hugepages: $free x 2 MiB free; the daemons run --in-memory on hugepages"
	else
		warn "hugepages: only $free x 2 MiB free of the $need wanted; the daemons run with --no-huge"
	fi
}

# Give back what hugepages_up reserved, unless someone changed the
# reservation since.
hugepages_down() {
	local prev set now
	prev=$(state_get huge_prev)
	set=$(state_get huge_set)
	[[ -n $prev && -n $set ]] || return 0
	now=$(sysfs_read "$HUGE_DIR/nr_hugepages")
	if [[ $now != "$set" ]]; then
		warn "hugepages: the reservation is $now, not the $set up left; not touching it"
		return 0
	fi
	write_file "$prev" "$HUGE_DIR/nr_hugepages"
	info "hugepages: reservation back to $prev"
}

# ---------------------------------------------------------------- daemons

find_build() {
	local want=$1 d
	if [[ -n $BUILD ]]; then
		[[ -x $BUILD/$want ]] || die "$BUILD/$want is not built (ninja -C $BUILD)"
		printf '%s' "$(cd "$BUILD" && pwd)/$want"
		return 0
	fi
	for d in "$TOP/build-release" "$TOP/build"; do
		[[ -x $d/$want ]] && { printf '%s' "$d/$want"; return 0; }
	done
	die "no $want in $TOP/build-release or $TOP/build: build ferry (meson setup build-release && ninja -C build-release) or pass --build DIR"
}

# Host H's DPDK port. net_tap attaches to the lab's persistent tap and
# leaves it persistent, so a restarted daemon finds it again.
daemon_vdev() {
	if [[ $(lab_pmd) == tap ]]; then
		printf 'net_tap0,iface=%s,mac=%s,persist' "${TAP[$1]}" "${MAC[$1]}"
	else
		printf 'net_af_packet0,iface=%s' "${IFC[$1]}"
	fi
}

# The PMD of the lab that is up (state file), else the one LAB_PMD asks for.
lab_pmd() {
	local p
	p=$(state_get pmd)
	printf '%s' "${p:-$LAB_PMD}"
}

# The command line that runs host H's daemon in its namespace.
daemon_cmd() {
	local h=$1 bin=$2 huge=$3 extra
	if ((RESPONDER)); then
		DCMD=(ip netns exec "${NS[$h]}" "$bin" --hugepages "$huge" --file-prefix "$(eal_prefix "$h")"
			--lcores "${LCORE[$h]}" --memory-mb "$LAB_MEMORY_MB" --mbufs 4095 --rx-desc 512
			--tx-desc 512 --link-wait-ms 2000 --mtu "$LAB_MTU"
			--vdev "$(daemon_vdev "$h")" --address "${ADDR[$h]}" --udp-port "$UDP_PORT")
		return 0
	fi
	DCMD=(ip netns exec "${NS[$h]}" "$bin" --eal.lcores="${LCORE[$h]}"
		--eal.vdevs="$(daemon_vdev "$h")" --eal.hugepages="$huge"
		--eal.file_prefix="$(eal_prefix "$h")" --eal.memory_mb="$LAB_MEMORY_MB"
		--port.mtu="$LAB_MTU" --net.address="${ADDR[$h]}" --net.udp_port="$UDP_PORT"
		--ipc.socket="$(sockfile "$h")" --ipc.shm_dir="$(shmdir "$h")" --log.level="$LAB_LOG_LEVEL"
		--transport.cc_target_delay_us="$LAB_CC_TARGET_US")
	[[ -z ${GATEWAY[$h]:-} ]] || DCMD+=(--net.gateway="${GATEWAY[$h]}")
	local own=$LAB_FERRYD_ARGS_A
	[[ $h == b ]] && own=$LAB_FERRYD_ARGS_B
	# shellcheck disable=SC2206 # LAB_FERRYD_ARGS* are space-separated lists
	extra=($LAB_FERRYD_ARGS $own)
	DCMD+=("${extra[@]}")
}

daemon_start() {
	local h=$1 bin=$2 huge=$3 log pid
	log=$(logfile "$h")
	daemon_cmd "$h" "$bin" "$huge"
	if ((DRY_RUN)); then
		printf '%s </dev/null >%s 2>&1 &\n' "$(show_cmd setsid "${DCMD[@]}")" "$log"
		return 0
	fi
	# setsid: the daemon outlives this script and a ^C in its terminal.
	# `ip netns exec` execs the daemon, so $! is the daemon's PID. The
	# locks (fd 9, and a test's turn on fd 8) are not the daemon's to keep.
	setsid "${DCMD[@]}" </dev/null >"$log" 2>&1 8>&- 9>&- &
	pid=$!
	printf '%s\n' "$pid" >"$(pidfile "$h")"
	info "ferry-$h: started $(basename "$bin") (pid $pid), log $log"
}

# net_tap has given the kernel's side of the tap the port's MAC: another
# one, so the bridge forwards ferryd's frames to the tap (see the top).
tap_readdress() {
	[[ $(lab_pmd) == tap ]] || return 0
	run ip -n "${NS[$1]}" link set "${TAP[$1]}" address "${TAP_MAC[$1]}"
}

# Wait until host H's daemon is ready: ferryd's socket exists, or the
# responder printed "ready". Fails with the log's tail when it dies or
# takes longer than READY_WAIT_S; exit 77 when it says DPDK cannot start.
daemon_wait() {
	local h=$1 log pid i rc=1
	((DRY_RUN)) && return 0
	log=$(logfile "$h")
	pid=$(daemon_pid "$h")
	for ((i = 0; i < READY_WAIT_S * 10; i++)); do
		if ((RESPONDER)); then
			grep -q '^ready ' "$log" && { tap_readdress "$h"; return 0; }
		else
			[[ -S $(sockfile "$h") ]] && { tap_readdress "$h"; return 0; }
		fi
		# alive, not "ours": just started, it may still be `ip netns exec`
		# (our child either way, so waiting for a live one would hang)
		if ! pid_alive "$pid"; then
			wait "$pid" 2>/dev/null && rc=0 || rc=$?
			warn "ferry-$h: the daemon exited (status $rc); the end of $log:"
			tail -n 20 "$log" | sed 's/^/  | /' >&2
			# 77 is how the responder says DPDK cannot start here.
			((rc == 77)) && return 77
			return 1
		fi
		sleep 0.1
	done
	warn "ferry-$h: the daemon was not ready after ${READY_WAIT_S} s; the end of $log:"
	tail -n 20 "$log" | sed 's/^/  | /' >&2
	return 1
}

# Stop host H's daemon: SIGTERM, up to STOP_WAIT_S for it to go, then
# SIGKILL. Only the PID in the PID file, and only if it is still ours.
daemon_stop() {
	local h=$1 pid exe i
	pid=$(daemon_pid "$h")
	[[ -n $pid ]] || return 0
	exe=$(state_get binary)
	if ! pid_is_ours "$pid" "$exe"; then
		wait "$pid" 2>/dev/null || true
		return 0
	fi
	run kill -TERM "$pid" || true
	((DRY_RUN)) && return 0
	for ((i = 0; i < STOP_WAIT_S * 10; i++)); do
		pid_is_ours "$pid" "$exe" || { info "ferry-$h: daemon (pid $pid) stopped"; wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	warn "ferry-$h: daemon (pid $pid) ignored SIGTERM for ${STOP_WAIT_S} s; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 20; i++)); do
		pid_is_ours "$pid" "$exe" || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	warn "ferry-$h: daemon (pid $pid) is still there after SIGKILL"
}

ensure_ferry_user() {
	getent passwd ferry >/dev/null && getent group ferry >/dev/null && return 0
	info "creating the ferry user and group (systemd-sysusers)"
	run systemd-sysusers "$TOP/systemd/ferry.sysusers"
}

daemons_up() {
	local bin h rc
	if ((RESPONDER)); then
		bin=$(find_build tests/net/ferry-net-responder)
	else
		bin=$(find_build daemon/ferryd)
		ensure_ferry_user
	fi
	((LAB_MTU <= 1500)) ||
		warn "LAB_MTU=$LAB_MTU: net_$LAB_PMD in DPDK 22.11 takes MTU 1500 at most; the daemons will likely refuse"
	state_set binary "$(readlink -f "$bin")"
	state_set daemons "$( ((RESPONDER)) && echo responder || echo ferryd)"
	hugepages_up
	for h in $DAEMON_HOSTS; do
		daemon_start "$h" "$bin" "$HUGE_MODE"
	done
	((!DRY_RUN)) || return 0
	for h in $DAEMON_HOSTS; do
		rc=0
		daemon_wait "$h" || rc=$?
		((rc == 0)) || return "$rc"
		info "ferry-$h: ready as ${ADDR[$h]%/*} on ${IFC[$h]}"
	done
}

# ---------------------------------------------------------------- commands

lab_is_up() { [[ -f $STATE ]]; }

cmd_up() {
	local ns rc=0 problems
	if lab_is_up; then
		problems=$(health)
		if [[ -z $problems ]]; then
			info "the lab is up already ($PROG status shows it)"
			return 0
		fi
		die "the lab is partly up (${problems#, }): run '$PROG down', then '$PROG up'"
	fi
	ns=$(lab_namespaces | paste -sd ' ')
	[[ -z $ns ]] || die "namespaces exist without lab state (left from a crash?): $ns; run '$PROG down' first"
	have ethtool || die "ethtool is missing: run scripts/install-deps.sh"
	# The group may create and remove its own files (ferryd, after it has
	# dropped to ferry, removes its socket); the sticky bit keeps root's
	# state, PID files and logs safe from it.
	if getent group ferry >/dev/null || ((DAEMONS && !RESPONDER)); then
		((DAEMONS && !RESPONDER)) && ensure_ferry_user
		run install -d -o root -g ferry -m 1775 "$LAB_DIR"
	else
		run install -d -m 0755 "$LAB_DIR"
	fi
	state_set mtu "$LAB_MTU"
	[[ -z $ROUTED_MTU ]] || state_set routed "$ROUTED_MTU"
	state_set pmd "$LAB_PMD"
	state_set hosts "$DAEMON_HOSTS"
	net_up
	local h list=
	for h in $DAEMON_HOSTS; do
		list+="${NS[$h]} (${IFC[$h]}), "
	done
	info "network up: $list${NS[k]} (${IFC[k]} ${ADDR[k]}), bridge $BRIDGE in $NS_SW"
	if ((DAEMONS)); then
		daemons_up || rc=$?
		if ((rc != 0)); then
			warn "a daemon did not come up; taking the lab down again"
			cmd_down
			exit "$rc"
		fi
	else
		state_set daemons none
	fi
	((DRY_RUN)) || info "the lab is up"
}

# Down takes every host a lab of any size can have, not only those of the
# state file or of --hosts: whatever a bigger lab, or an up that failed
# half-way, left behind goes too.
cmd_down() {
	local h did=0 d
	for h in $ALL_DAEMON_HOSTS; do
		[[ -n $(daemon_pid "$h") ]] || continue
		did=1
		daemon_stop "$h"
	done
	[[ -n $(lab_namespaces) ]] && did=1
	net_down
	hugepages_down
	for h in $ALL_DAEMON_HOSTS; do
		# EAL's runtime directory, and the rings of a daemon that
		# could not clean up (killed).
		for d in "$DPDK_RUNDIR/$(eal_prefix "$h")" "$(shmdir "$h")"; do
			[[ -e $d ]] && { run rm -rf "$d"; did=1; }
		done
	done
	if [[ -e $LAB_DIR ]]; then
		run rm -rf "$LAB_DIR"
		did=1
	fi
	if ((DRY_RUN)); then
		info "dry run: nothing changed"
	elif ((did)); then
		info "the lab is down"
	else
		info "the lab is down already; nothing to do"
	fi
}

# What is missing from an up lab, or there beside it, as ", <problem>"
# items; "" when healthy.
health() {
	local h out=""
	for h in $HOSTS sw ${ROUTED_MTU:+r}; do
		ns_exists "${NS[$h]}" || out+=", namespace ${NS[$h]} is missing"
	done
	for h in $ALL_DAEMON_HOSTS; do
		is_daemon_host "$h" || ! ns_exists "${NS[$h]}" ||
			out+=", namespace ${NS[$h]} is not one of the lab's hosts ($DAEMON_HOSTS)"
	done
	if [[ $(state_get daemons) == ferryd || $(state_get daemons) == responder ]]; then
		for h in $DAEMON_HOSTS; do
			daemon_running "$h" || out+=", the daemon of ferry-$h is not running"
		done
	fi
	printf '%s' "$out"
}

cmd_status() {
	local h ns pid problems kind huge shown=" "
	if ! lab_is_up && [[ -z $(lab_namespaces) ]]; then
		echo "lab: down"
		return 3
	fi
	kind=$(state_get daemons)
	if lab_is_up; then
		huge=$(state_get hugepages)
		echo "lab: state $STATE, hosts: $DAEMON_HOSTS, daemons: ${kind:-unknown}, port: net_$(lab_pmd), hugepages: ${huge:-none}, mtu: $(state_get mtu)${ROUTED_MTU:+, ferry-b routed through a link of mtu $ROUTED_MTU}"
	else
		echo "lab: no state file $STATE"
	fi
	# the lab's hosts, then any other lab namespace (left by a bigger lab)
	for h in sw $HOSTS ${ROUTED_MTU:+r} $ALL_DAEMON_HOSTS; do
		[[ $shown == *" $h "* ]] && continue
		shown+="$h "
		ns=${NS[$h]}
		if [[ $h == sw || $h == k || $h == r ]] || is_daemon_host "$h"; then
			ns_exists "$ns" || { echo "$ns: MISSING"; continue; }
			echo "$ns:"
		else
			ns_exists "$ns" || continue
			echo "$ns: NOT ONE OF THE LAB'S HOSTS"
		fi
		ip -n "$ns" -br link show | awk '$1 != "lo" { print "  link " $0 }'
		ip -n "$ns" -4 -br addr show | awk '$3 != "" && $1 != "lo" { print "  addr " $0 }'
		is_daemon_host "$h" || continue
		case $kind in
		ferryd | responder)
			pid=$(daemon_pid "$h")
			if daemon_running "$h"; then
				if [[ $kind == ferryd ]]; then
					echo "  daemon $kind pid $pid running, ${ADDR[$h]%/*} on ${IFC[$h]}, socket $(sockfile "$h"), log $(logfile "$h")"
				else
					echo "  daemon $kind pid $pid running, ${ADDR[$h]%/*} on ${IFC[$h]}, log $(logfile "$h")"
				fi
			else
				echo "  daemon $kind pid ${pid:-none} NOT RUNNING, log $(logfile "$h")"
			fi
			;;
		*) echo "  daemon none (--no-daemons)" ;;
		esac
	done
	problems=$(health)
	if ! lab_is_up; then
		echo "lab: partly up (namespaces without state); run $PROG down"
		return 1
	fi
	if [[ -n $problems ]]; then
		echo "lab: partly up: ${problems#, }"
		return 1
	fi
	echo "lab: up"
}

cmd_exec() {
	local h=${ARGS[0]:-}
	[[ -n $h && -n ${NS[$h]:-} ]] || die "exec wants a host, a, b, ... j, k or sw, then a command"
	((${#ARGS[@]} > 1)) || die "exec $h wants a command to run"
	ns_exists "${NS[$h]}" || die "namespace ${NS[$h]} does not exist: run '$PROG up' first (with --hosts N for more than a and b)"
	if [[ $h != k && $h != sw ]]; then
		exec env FERRY_SOCKET="$(sockfile "$h")" ip netns exec "${NS[$h]}" "${ARGS[@]:1}"
	fi
	exec ip netns exec "${NS[$h]}" "${ARGS[@]:1}"
}

cmd_kill() {
	local h=${ARGS[0]:-} pid i
	lab_is_up || die "the lab is not up"
	is_daemon_host "$h" || die "kill wants a host with a daemon: one of $DAEMON_HOSTS"
	pid=$(daemon_pid "$h")
	if [[ -z $pid ]] || ! pid_is_ours "$pid" "$(state_get binary)"; then
		die "ferry-$h has no daemon running"
	fi
	run kill -KILL "$pid"
	for ((i = 0; i < 50; i++)); do
		pid_is_ours "$pid" "$(state_get binary)" || { info "ferry-$h: daemon (pid $pid) killed"; return 0; }
		sleep 0.1
	done
	die "ferry-$h: daemon (pid $pid) is still there 5 s after SIGKILL"
}

cmd_start() {
	local h=${ARGS[0]:-} pid huge
	lab_is_up || die "the lab is not up"
	is_daemon_host "$h" || die "start wants a host with a daemon: one of $DAEMON_HOSTS"
	pid=$(daemon_pid "$h")
	if [[ -n $pid ]] && pid_is_ours "$pid" "$(state_get binary)"; then
		die "ferry-$h: daemon (pid $pid) is running"
	fi
	huge=$(state_get hugepages)
	# what the killed daemon left: its socket (rings went with it)
	rm -f "$(sockfile "$h")"
	daemon_start "$h" "$(state_get binary)" "${huge:-off}"
	daemon_wait "$h"
}

cmd_baseline_addrs() {
	local h onoff=${ARGS[0]:-} list=
	[[ $onoff == on || $onoff == off ]] || die "baseline-addrs wants on or off"
	for h in $DAEMON_HOSTS; do
		ns_exists "${NS[$h]}" || die "namespace ${NS[$h]} does not exist: run '$PROG up' first"
	done
	declare -A dev=()
	for h in $DAEMON_HOSTS; do
		if [[ $(lab_pmd) == tap ]]; then dev[$h]=${HBR[$h]}; else dev[$h]=${IFC[$h]}; fi
	done
	for h in $DAEMON_HOSTS; do
		if [[ $onoff == on ]]; then
			run ip -n "${NS[$h]}" addr replace "${BASE_ADDR[$h]}" dev "${dev[$h]}"
		elif [[ $(ip -n "${NS[$h]}" -4 -o addr show dev "${dev[$h]}") == *" ${BASE_ADDR[$h]} "* ]]; then
			run ip -n "${NS[$h]}" addr del "${BASE_ADDR[$h]}" dev "${dev[$h]}"
		fi
		list+="${list:+, }${BASE_ADDR[$h]} on ${NS[$h]}/${dev[$h]}"
	done
	info "baseline addresses $onoff: $list"
}

# --routed, as the lab that is up was built, or as given to bring one up:
# ferry-b's address and the gateways.
routed_apply() {
	lab_is_up && ROUTED_MTU=$(state_get routed)
	[[ -n $ROUTED_MTU ]] || return 0
	ADDR[b]=$ROUTED_B
	GATEWAY=([a]=${ROUTER_A%/*} [b]=${ROUTER_B%/*})
}

main() {
	parse_args "$@"
	routed_apply
	case $CMD in
	up | down | baseline-addrs | exec | status | kill | start) ;;
	*) die "unknown command '$CMD' (see $PROG --help)" ;;
	esac
	if [[ $CMD == status ]]; then
		[[ $(id -u) -eq 0 ]] || die "status reads namespaces and daemons: run it with sudo"
	elif [[ $CMD == exec ]]; then
		[[ $(id -u) -eq 0 ]] || die "entering a namespace needs root: run it with sudo"
	else
		require_root
	fi
	# One lab at a time: up and down never run side by side. The lock is
	# the script file itself, so it leaves nothing behind.
	if [[ $CMD != exec && $CMD != status ]] && ((!DRY_RUN)) && have flock; then
		exec 9<"${BASH_SOURCE[0]}"
		flock -w 30 9 || die "another $PROG is running (waited 30 s)"
	fi
	# up chooses the hosts; everything else acts on those the lab has
	if [[ $CMD == up ]]; then
		hosts_select "$LAB_HOSTS"
		if lab_is_up; then
			local want=$DAEMON_HOSTS
			hosts_from_state
			[[ $want == "$DAEMON_HOSTS" ]] ||
				die "the lab is up with hosts $DAEMON_HOSTS, not $want: run '$PROG down' first"
		fi
	elif [[ $CMD != exec ]]; then
		hosts_from_state
	fi
	case $CMD in
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	exec) cmd_exec ;;
	kill) cmd_kill ;;
	start) cmd_start ;;
	baseline-addrs) cmd_baseline_addrs ;;
	esac
}

main "$@"
