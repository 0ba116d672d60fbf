#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The Wireshark dissector (scripts/wireshark/ferry.lua) on real traffic:
# tcpdump captures ferry's UDP port on the lab's switch (bridge ferry-br0
# in namespace ferry-sw) while ferry-xfer sends 300 messages of 1 B ..
# 64 KiB from ferry-a to ferry-b (frames spanning packets, frame headers
# cut by packet boundaries) and ferry-perf runs ping-pong, a one-way
# stream and RPC; then tshark -2 with the dissector must
#   - decode every captured packet as ferry, with no malformed packet and
#     no expert info above a note, and no stream whose frames it cannot
#     find;
#   - agree with what each ferryd counted over the same time: packets each
#     sent (remote.tx_packets) and DATA + ACK each received
#     (remote.rx_packets), messages each sent (remote.tx_messages: the
#     distinct frames in its streams), the OPENs and ACCEPTs (one per
#     session, naming the services used, with the daemons'
#     ipc.max_message_size).
# Then the same with fault injection on both daemons' sends (duplicated and
# reordered packets on the wire): frames found in every stream, and the
# duplicates counted by the daemons are the extra packets captured.
# Then, over secure channels (each ferryd with its key, trusting the
# other's), with the dissector telling the mode itself (ferry.security
# auto):
#   encrypt       the handshake plain, every other packet sealed, every
#                 sealed payload read as encrypted (no frame found in
#                 ciphertext, no service name readable), packets, DATA +
#                 ACK, HS_INITs (remote.tx_handshakes) and sessions match
#                 the daemons' counters; the messages are not countable;
#   authenticate  the same, payloads read as plain: frames and services
#                 match as in the clean case.
# WIRESHARK_LAB_CASES picks the cases (default: clean faults encrypt
# authenticate).
#
# usage: wireshark_lab.sh LAB_SH BUILD_DIR FERRY_LUA
# exit:  0 pass, 1 fail, 77 skip (no root, no namespaces, no tshark or
#        tcpdump, a lab already up, DPDK cannot start)
set -u

LAB=$1
BUILD=$2
LUA=$3
PERF=$BUILD/client-lib/tools/ferry-perf
STAT=$BUILD/client-lib/tools/ferry-stat
XFER=$BUILD/tests/integration/ferry-xfer
FERRYD=$BUILD/daemon/ferryd
TMP=$(mktemp -d /tmp/ferry-wireshark.XXXXXX)
CASES=${WIRESHARK_LAB_CASES:-clean faults encrypt authenticate}

# shellcheck source=lab_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_common.sh"

trap lab_cleanup EXIT

for t in tshark tcpdump; do
	command -v "$t" >/dev/null || skip "$t is missing (scripts/install-deps.sh installs it)"
done
lab_preflight "$PERF" "$STAT" "$XFER" "$FERRYD"
MAX_MSG=$("$FERRYD" --check-config 2>/dev/null | awk '$1 == "ipc.max_message_size" {print $3}')

# counters HOST FILE: that ferryd's counters as JSON
counters() {
	"$STAT" --shm-dir "/dev/shm/ferry-lab-$1" --json >"$2" || fail "ferry-stat on ferry-$1"
}

# settle: wait (5 s at most) until neither daemon has a session and their
# packet counters stop moving, so the capture holds all they sent
settle() {
	local last="" now _
	for _ in $(seq 50); do
		now=$(for h in a b; do "$STAT" --shm-dir "/dev/shm/ferry-lab-$h" --json; done |
			python3 -c 'import json, sys
c = [json.loads(l)["counters"] for l in sys.stdin]
print(sum(x["daemon.sessions"] for x in c), [x["remote.tx_packets"] for x in c])')
		[[ $now == "0 "* && $now == "$last" ]] && return 0
		last=$now
		sleep 0.1
	done
	fail "the daemons did not go quiet: $now"
}

# capture NAME: traffic between ferry-a and ferry-b while tcpdump records
# the switch into $TMP/NAME.pcap; counters before and after in
# $TMP/NAME.{a,b}.{0,1}
capture() {
	local name=$1 cpid rpid spid _
	counters a "$TMP/$name.a.0"
	counters b "$TMP/$name.b.0"
	"$LAB" exec sw tcpdump -i ferry-br0 -U -B 16384 -s 0 -w "$TMP/$name.pcap" udp port 31850 \
		2>"$TMP/$name.tcpdump" &
	cpid=$!
	for _ in $(seq 50); do
		grep -q "listening on" "$TMP/$name.tcpdump" && break
		sleep 0.1
	done
	grep -q "listening on" "$TMP/$name.tcpdump" || { cat "$TMP/$name.tcpdump"; fail "tcpdump did not start"; }

	"$LAB" exec b "$XFER" recv --service wsx --count 300 --seed 5 --max-size 64K \
		--timeout-ms 60000 >"$TMP/$name.recv" 2>&1 &
	rpid=$!
	for _ in $(seq 50); do
		grep -q "listening" "$TMP/$name.recv" && break
		sleep 0.1
	done
	"$LAB" exec a "$XFER" send --host 10.77.0.2 --service wsx --count 300 --seed 5 \
		--max-size 64K --timeout-ms 60000 >"$TMP/$name.send" 2>&1 ||
		{ cat "$TMP/$name.send" "$TMP/$name.recv"; fail "$name: ferry-xfer a -> b"; }
	wait "$rpid" || { cat "$TMP/$name.recv"; fail "$name: ferry-xfer receiver"; }

	"$LAB" exec b "$PERF" -r server --spin-us 0 --yield-us 5000 >/dev/null 2>&1 &
	spid=$!
	sleep 0.5 # to listen (a client that comes too early is refused and tries again)
	"$LAB" exec a "$PERF" -r client -H 10.77.0.2 -s 32,1K -n 300 -w 30 -t 3000 --rpc --no-floor \
		--spin-us 0 --yield-us 5000 --timeout-ms 5000 >"$TMP/$name.perf" 2>&1 ||
		{ cat "$TMP/$name.perf"; fail "$name: ferry-perf a -> b"; }
	kill -TERM "$spid"
	wait "$spid"
	settle

	# tcpdump reads the kernel's capture ring a block at a time, a block
	# when it is full or 1 s old (tcpdump's buffer timeout; immediate mode
	# would read each packet and, on two busy cores, drop some): wait for
	# the last block before stopping it
	sleep 1.5
	kill -INT "$cpid"
	wait "$cpid"
	counters a "$TMP/$name.a.1"
	counters b "$TMP/$name.b.1"
	grep -q "^0 packets dropped by kernel" "$TMP/$name.tcpdump" ||
		{ cat "$TMP/$name.tcpdump"; fail "$name: tcpdump dropped packets"; }
	tshark -2 -r "$TMP/$name.pcap" -X lua_script:"$LUA" -T fields -E separator='|' \
		-E occurrence=a -E aggregator=';' -e frame.number -e ip.src -e ip.dst -e ferry.type \
		-e ferry.src_session -e ferry.frame.offset -e ferry.service -e ferry.max_message \
		-e _ws.expert.severity -e _ws.expert.message -e _ws.malformed -e ferry.seal.key_id \
		-e ferry.seal.mode \
		>"$TMP/$name.fields" 2>"$TMP/$name.tshark" || { cat "$TMP/$name.tshark"; fail "$name: tshark"; }
	! grep -q "Lua Error" "$TMP/$name.fields" "$TMP/$name.tshark" ||
		fail "$name: the dissector raised a Lua error"
}

# judge NAME KIND: what the capture says against what the daemons counted;
# KIND clean, faults, encrypt or authenticate
judge() {
	python3 - "$TMP/$1" "$2" "$MAX_MSG" <<'PY'
import json, sys
from collections import Counter
base, kind, max_msg = sys.argv[1], sys.argv[2], sys.argv[3]
faults = kind == "faults"
secure = kind in ("encrypt", "authenticate")
HANDSHAKE = ("12", "13", "14")
ip = {"a": "10.77.0.1", "b": "10.77.0.2"}
def delta(h):
    c0 = json.load(open("%s.%s.0" % (base, h)))["counters"]
    c1 = json.load(open("%s.%s.1" % (base, h)))["counters"]
    # counters a device does not have are null: they count nothing here
    return {k: v - (c0.get(k) or 0) for k, v in c1.items() if v is not None}
d = {h: delta(h) for h in "ab"}
NOTE = 4194304
pkts, frames, bad = Counter(), {h: set() for h in "ab"}, []
types = {h: Counter() for h in "ab"}
opens = []
for line in open(base + ".fields"):
    num, src, dst, typ, sid, offs, svc, mx, sev, msg, malformed, kid, smode = \
        line.rstrip("\n").split("|")
    h = "a" if src == ip["a"] else "b"
    if not typ:
        bad.append("packet %s not decoded as ferry" % num)
        continue
    if malformed or any(int(s) > NOTE for s in sev.split(";") if s):
        bad.append("packet %s: %s %s" % (num, sev, msg))
    if "boundaries unknown" in msg:
        bad.append("packet %s: %s" % (num, msg))
    if secure and (typ in HANDSHAKE) == bool(kid):
        bad.append("packet %s, type %s: %s" % (num, typ, "a handshake sealed" if kid else
                                                 "not sealed on a secure channel"))
    if not secure and kid:
        bad.append("packet %s sealed without security" % num)
    if smode and not smode.startswith(kind + " "):
        bad.append("packet %s: its sealed payload read as %s, not %s" % (num, smode, kind))
    pkts[h] += 1
    types[h][int(typ)] += 1
    for o in filter(None, offs.split(";")):
        frames[h].add((sid, dst, int(o)))
    if typ in ("1", "2"):
        opens.append((h, typ, svc, mx, sid))
for h in "ab":
    o = "b" if h == "a" else "a"
    dup = d[h].get("fault.tx_dup", 0)
    # packets that waited for keys in vain were counted sent, never sent
    unkeyed = d[h].get("remote.tx_unkeyed_dropped", 0)
    print("ferry-%s: %d packets captured (%s), counted tx_packets %d, tx_dup %d; "
          "%d frames, counted tx_messages %d; DATA+ACK %d, peer counted rx_packets %d "
          "(+%d unknown)" % (h, pkts[h], dict(sorted(types[h].items())), d[h]["remote.tx_packets"],
          dup, len(frames[h]), d[h]["remote.tx_messages"], types[h][4] + types[h][6],
          d[o]["remote.rx_packets"], d[o]["remote.rx_unknown_session"]))
    if d[h]["port.tx_dropped"] or d[h]["remote.tx_failed"]:
        bad.append("ferry-%s dropped packets on sending: no exact count" % h)
    if pkts[h] != d[h]["remote.tx_packets"] - unkeyed + dup:
        bad.append("ferry-%s: %d packets on the wire, %d counted sent (+%d duplicated, -%d "
                   "unkeyed)" % (h, pkts[h], d[h]["remote.tx_packets"], dup, unkeyed))
    if secure:
        print("ferry-%s: %d HS_INIT captured, counted tx_handshakes %d; %d HS_RESP, %d HS_REJECT" %
              (h, types[h][12], d[h]["remote.tx_handshakes"], types[h][13], types[h][14]))
        if types[h][12] != d[h]["remote.tx_handshakes"] or types[h][14]:
            bad.append("ferry-%s: %d HS_INIT on the wire, %d counted; %d HS_REJECT" %
                       (h, types[h][12], d[h]["remote.tx_handshakes"], types[h][14]))
        if types[h][13] > types[o][12]:
            bad.append("ferry-%s answered %d HS_INIT with %d HS_RESP" %
                       (h, types[o][12], types[h][13]))
    if kind == "encrypt":
        # ciphertext: no frame found in it, and the messages are not countable
        if frames[h]:
            bad.append("ferry-%s: %d frames found in encrypted payloads" % (h, len(frames[h])))
    elif len(frames[h]) != d[h]["remote.tx_messages"]:
        bad.append("ferry-%s: %d frames in its streams, %d messages counted sent" %
                   (h, len(frames[h]), d[h]["remote.tx_messages"]))
    da = types[h][4] + types[h][6]
    if not faults and not (d[o]["remote.rx_packets"] <= da <=
                           d[o]["remote.rx_packets"] + d[o]["remote.rx_unknown_session"]):
        bad.append("ferry-%s sent %d DATA + ACK, ferry-%s counted %d received (+%d unknown)" %
                   (h, da, o, d[o]["remote.rx_packets"], d[o]["remote.rx_unknown_session"]))
# two sessions, both opened by a: OPENs naming the services used (one
# refused and tried again would add one), two sessions accepted, the
# daemons' largest message in each
got = sorted(set((h, t, s) for h, t, s, _, _ in opens))
want = [("a", "1", "perf"), ("a", "1", "wsx"), ("b", "2", "")]
if kind == "encrypt":  # the services are encrypted: two OPENs, named by their ids
    got = sorted(set((h, t, s or sid if t == "1" else s) for h, t, s, _, sid in opens))
    want = sorted(set(("a", "1", sid) for h, t, _, _, sid in opens if t == "1")) + [("b", "2", "")]
    if len(want) != 3 or any(s for _, _, s, _, _ in opens):
        bad.append("OPEN/ACCEPT with encrypt: %s" % sorted(opens))
accepted = set(sid for h, t, _, _, sid in opens if t == "2")
if got != want or len(accepted) != 2:
    bad.append("OPEN/ACCEPT: %s, %d accepted; expected %s, 2" % (got, len(accepted), want))
if any(m != max_msg for _, _, _, m, _ in opens):
    bad.append("largest message in OPEN/ACCEPT: %s, ferryd's is %s" %
               (sorted(set(m for _, _, _, m, _ in opens)), max_msg))
for b in bad[:20]:
    print("  " + b)
sys.exit(1 if bad else 0)
PY
}

for kind in $CASES; do
	case $kind in
	clean)
		lab_up ""
		capture clean
		judge clean clean || fail "the clean capture does not match the daemons' counters"
		ok "clean: every packet decoded, frames and packets match ferryd's counters" ;;
	faults)
		lab_up "--fault.seed=9 --fault.tx_dup=0.02 --fault.tx_reorder=0.05"
		capture faults
		judge faults faults || fail "the capture with duplicates and reordering does not match"
		ok "duplicated and reordered on the wire: every frame found, counts match" ;;
	encrypt)
		lab_secure encrypt
		lab_up_conf ""
		capture encrypt
		judge encrypt encrypt || fail "the capture over encrypt does not match"
		ok "security.mode encrypt: handshakes plain, every other packet sealed and read as encrypted (mode told by the packets), packets, handshakes and sessions match ferryd's counters" ;;
	authenticate)
		lab_secure authenticate
		lab_up_conf ""
		capture authenticate
		judge authenticate authenticate || fail "the capture over authenticate does not match"
		ok "security.mode authenticate: every packet sealed but the handshake, payloads read as plain, frames and packets match ferryd's counters" ;;
	*) fail "WIRESHARK_LAB_CASES: no case $kind" ;;
	esac
	lab_down
done
echo "wireshark_lab: all checks passed"
