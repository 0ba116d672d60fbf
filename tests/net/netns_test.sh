#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# ferry's port and net libraries on a wire. The Linux kernel is the peer:
# it pings and arpings the responder (net_responder.c), exchanges UDP with
# it (once from an address the responder must resolve by ARP first), then a
# raw socket sends malformed frames and the responder's drop counters must
# match what was sent, one for one.
#
#   af_packet  two namespaces, ferry-t-a-PID (kernel) and ferry-t-b-PID
#              (responder), joined by a veth pair; the responder owns its
#              end through net_af_packet. No checksum offload.
#   tap        one namespace: the responder's net_tap port and the kernel's
#              tap interface face each other. net_tap offers IPv4/UDP
#              checksum offload, so this runs the offload paths (pseudo-
#              header sum on TX, the NIC's RX checksum verdicts).
#
# usage: netns_test.sh RESPONDER NET_LAB_PY [af_packet|tap]
# env:   FERRY_TEST_HUGEPAGES=auto|on|off (default auto)
# exit:  0 pass, 1 fail, 77 skip (no root, no netns/veth, no tools, DPDK
#        cannot start)
set -u

RESPONDER=$1
LAB=$2
PMD=${3:-af_packet}
HUGE=${FERRY_TEST_HUGEPAGES:-auto}
NA=ferry-t-a-$$
NB=ferry-t-b-$$
VA=fta$$
VB=ftb$$
if [ "$PMD" = tap ]; then
	NB=$NA     # one namespace; VA is the kernel's side of the tap
	VDEV="net_tap0,iface=$VA"
else
	VDEV="net_af_packet0,iface=$VB"
fi
IPA=192.0.2.1
IPA2=192.0.2.3
IPB=192.0.2.2
PORT=31850
TMP=$(mktemp -d /tmp/ferry-netns.XXXXXX)
LOG=$TMP/responder.out
RPID=

skip() { echo "SKIP: $*"; exit 77; }
fail() {
	echo "FAIL: $*"
	[ -s "$LOG" ] && sed 's/^/  responder| /' "$LOG"
	exit 1
}

cleanup() {
	if [ -n "$RPID" ] && kill -0 "$RPID" 2>/dev/null; then
		kill -TERM "$RPID" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$RPID" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$RPID" 2>/dev/null
	fi
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	rm -rf "$TMP"
	# EAL's runtime directory for this run's prefix (empty unless it crashed)
	rm -rf "/var/run/dpdk/ferry-t-$$"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, raw sockets, DPDK)"
for t in ip ping arping python3; do
	command -v "$t" >/dev/null ||
		skip "$t is missing (scripts/install-deps.sh installs it)"
done
[ -x "$RESPONDER" ] || fail "responder $RESPONDER not built"

ip netns add "$NA" 2>/dev/null || skip "cannot create network namespace $NA"
if [ "$PMD" != tap ]; then
	ip netns add "$NB" 2>/dev/null || skip "cannot create network namespace $NB"
	ip link add "$VA" type veth peer name "$VB" 2>/dev/null || skip "cannot create a veth pair"
	ip link set "$VA" netns "$NA" && ip link set "$VB" netns "$NB" || fail "cannot move veth ends"
fi
for ns in "$NA" "$NB"; do
	# IPv6 would put router solicitations on the wire the counters see
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
done
ip netns exec "$NA" sysctl -qw net.ipv4.conf.all.arp_announce=2
[ "$PMD" = tap ] || ip -n "$NB" link set "$VB" up    # no address: the responder owns it

ip netns exec "$NB" timeout 90 "$RESPONDER" --hugepages "$HUGE" --file-prefix "ferry-t-$$" \
	--memory-mb 128 --mbufs 4095 --rx-desc 512 --tx-desc 512 --link-wait-ms 2000 \
	--vdev "$VDEV" --address "$IPB/24" --udp-port "$PORT" --seconds 80 \
	>"$LOG" 2>&1 &
RPID=$!
for _ in $(seq 100); do
	grep -q '^ready ' "$LOG" && break
	kill -0 "$RPID" 2>/dev/null || break
	sleep 0.2
done
if ! grep -q '^ready ' "$LOG"; then
	wait "$RPID"
	rc=$?
	RPID=
	[ "$rc" = 77 ] && skip "DPDK cannot start here: $(grep ferry-net-responder "$LOG" | tail -1)"
	fail "responder did not come up (exit $rc)"
fi
grep -E '^(eal|ready) ' "$LOG"
MACB=$(sed -n 's/^ready mac=\([0-9a-f:]*\) .*/\1/p' "$LOG")

# The kernel side: full UDP checksums (veth would otherwise pass on the
# pseudo-header sum a NIC completes), ARP from the primary address. With
# net_tap the interface exists only now that the responder is up.
ip netns exec "$NA" python3 "$LAB" tx-csum-off "$VA" || fail "cannot turn TX checksum offload off on $VA"
# net_tap gives the kernel's interface the port's own MAC; a peer needs
# its own, or every frame would look like one of ours coming back.
[ "$PMD" = tap ] && ip -n "$NA" link set "$VA" address 02:00:00:00:00:0a
ip -n "$NA" addr add "$IPA/24" dev "$VA"
ip -n "$NA" addr add "$IPA2/24" dev "$VA"
ip -n "$NA" link set "$VA" up

failed=0
check() { # description, command...
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "not ok: $what"; failed=1; fi
}

echo "--- ping -c 3 $IPB (from $NA)"
ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 "$IPB" | tee "$TMP/ping"
check "ping: 3 replies" grep -q ' 3 received' "$TMP/ping"

echo "--- arping -c 2 $IPB (from $NA)"
ip netns exec "$NA" arping -c 2 -w 5 -i "$VA" "$IPB" | tee "$TMP/arping"
check "arping: 2 replies from $MACB" grep -q '2 packets received' "$TMP/arping"
check "arping: replies carry the responder's MAC" grep -qi "$MACB" "$TMP/arping"

echo "--- UDP echo through the kernel's sockets"
check "udp echo from $IPA (sender learned from its ARP request)" \
	ip netns exec "$NA" python3 "$LAB" udp-echo "$IPA" "$IPB" "$PORT"
check "udp echo from $IPA2 (responder resolves it by ARP, reply queued)" \
	ip netns exec "$NA" python3 "$LAB" udp-echo "$IPA2" "$IPB" "$PORT"

echo "--- malformed frames from a raw socket"
ip netns exec "$NA" python3 "$LAB" bad-frames "$VA" "$MACB" "$IPA" "$IPB" "$PORT" >"$TMP/expect" ||
	fail "could not send the frames"
sleep 0.5

kill -TERM "$RPID"
for _ in $(seq 50); do kill -0 "$RPID" 2>/dev/null || break; sleep 0.2; done
wait "$RPID"
rc=$?
RPID=
[ "$rc" = 0 ] || fail "responder exited $rc"

counter() { awk -v n="$1" '$1 == "counter" && $2 == n { print $3 }' "$LOG"; }
atleast() { [ "$(counter "$1")" -ge "$2" ]; }

echo "--- responder counters (non-zero)"
awk '$1 == "counter" && $3 != 0 { printf "  %-40s %s\n", $2, $3 }' "$LOG"

echo "--- checks"
check "icmp_echo >= 3" atleast net.verdict.icmp_echo 3
check "arp_request >= 2" atleast net.verdict.arp_request 2
check "udp >= 2" atleast net.verdict.udp 2
check "ARP requests sent >= 1" atleast arp.arp_requests_sent 1
check "a packet was queued for ARP and flushed" atleast arp.arp_packets_flushed 1
check "no TX drops" [ "$(counter port.port_tx_dropped)" = 0 ]
while read -r _ name n; do
	got=$(counter "$name")
	check "$name = $n (got ${got:-none})" [ "${got:-x}" = "$n" ]
done <"$TMP/expect"
# nothing dropped beyond what the raw socket sent on purpose
expected_drops=$(awk '{ s += $3 } END { print s }' "$TMP/expect")
check "drops in all = $expected_drops" [ "$(counter net.verdict.drop)" = "$expected_drops" ]

[ "$failed" = 0 ] || fail "some checks failed"
echo "PASS"
