#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The Wireshark dissector (scripts/wireshark/ferry.lua) in tshark, on a
# capture of crafted packets with known contents (ferry_pcap.py lists them):
# each packet's type, sessions, frames (stream offset and length, across
# packet boundaries, a cut frame header, out of order with two passes, a
# retransmission), the service, the sack, reasons, the RPC header, and the
# expert infos: errors on exactly the malformed packets, a warning on the
# odd one, notes where boundaries are unknown. Secure channels: the
# handshake's parts, HS_REJECT's reason, the seal (key id, counter) of
# sealed packets, their payload plain (authenticate: frames found) or
# encrypted, the mode told per pair of hosts (undecided before a packet
# tells, in one pass), errors on a cut seal, an unsealed KEEPALIVE and a
# short HS_INIT; the preference ferry.security overrides the guess. Every
# field has a description. The port preference moves it off 31850.
# Usage: test-wireshark-dissector.sh FERRY_LUA FERRY_PCAP_PY
set -u
LUA=$1 GEN=$2
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }
command -v tshark >/dev/null ||
	{ echo "SKIP: tshark is missing (apt-get install tshark, or scripts/install-deps.sh)"; exit 77; }

D=$(mktemp -d "${TMPDIR:-/tmp}/ferry-dissector-test.XXXXXX") || exit 1
trap 'rm -rf "$D"' EXIT
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok - $*"; }

python3 "$GEN" "$D/t.pcap" || exit 1
FIELDS=(frame.number ferry.type ferry.src_session ferry.dst_session ferry.frame.offset
	ferry.frame.len ferry.service ferry.max_message ferry.incarnation ferry.max_window
	ferry.sack.seq ferry.flags.probe
	ferry.reason ferry.rpc.kind ferry.rpc.type ferry.rpc.id ferry.stream.start
	ferry.stream.unknown _ws.expert.severity _ws.expert.message ferry.frag.pkt_len
	ferry.frag.index ferry.frag.count ferry.seal.key_id ferry.seal.counter ferry.seal.mode
	ferry.hs.ephemeral ferry.encrypted ferry.sealed.undecided)
fields() { # OUT TSHARK_ARGS...
	local out=$1 args=() f
	shift
	for f in "${FIELDS[@]}"; do args+=(-e "$f"); done
	tshark -r "$D/t.pcap" -X lua_script:"$LUA" "$@" -T fields -E separator='|' -E occurrence=a \
		-E aggregator=';' "${args[@]}" >"$out" 2>"$D/err" || { cat "$D/err"; return 1; }
	! grep -q "Lua Error" "$out" "$D/err" || { grep "Lua Error" "$out" "$D/err"; return 1; }
}

# compare OUT with the expected rows: "number field=value ...", every
# field not named must be empty
check() { # OUT EXPECTED
	python3 - "$1" "$2" "${FIELDS[*]}" <<'PY'
import sys
names = sys.argv[3].split()
rows = {}
for line in open(sys.argv[1]):
    vals = line.rstrip("\n").split("|")
    rows[int(vals[0])] = dict(zip(names[1:], vals[1:]))
want = {}
for line in sys.argv[2].strip().splitlines():
    num, *kv = line.split(None, 1)
    want[int(num)] = dict(p.split("=", 1) for p in (kv[0].split("  ") if kv else []))
bad = 0
for num in sorted(set(rows) | set(want)):
    got, exp = rows.get(num, {}), want.get(num, {})
    for k in names[1:]:
        if k == "_ws.expert.message" and "_ws.expert.message" not in exp:
            continue  # messages are checked where named
        e = exp.get(k, "")
        if got.get(k, "") != e:
            print("packet %d: %s = %r, expected %r" % (num, k, got.get(k, ""), e))
            bad += 1
sys.exit(bad != 0)
PY
}

ERR=8388608 WARN=6291456 NOTE=4194304
# the bytes ferry_pcap.py makes look like ciphertext: cipher N SEED
cipher() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); from ferry_pcap import cipher
print(cipher(int(sys.argv[2]), int(sys.argv[3])).hex())' "$(dirname "$GEN")" "$1" "$2"
}
hexrange() { python3 -c "import sys; print(bytes(range($1, $2)).hex())"; }
AUTH="authenticate (zeros where plain has them)"
ENC="encrypt (random bytes where plain has zeros)"
BY28="authenticate (as packet 28 of these hosts showed)"
BY31="encrypt (as packet 31 of these hosts showed)"
# with two passes, the out-of-order packet 4 is cut into frames too
read -r -d '' WANT <<EOF
1 ferry.type=1  ferry.src_session=5  ferry.dst_session=0  ferry.service=perf  ferry.max_message=1048576  ferry.incarnation=0x11223344  ferry.max_window=4194304  ferry.flags.probe=0
2 ferry.type=2  ferry.src_session=9  ferry.dst_session=5  ferry.max_message=65536  ferry.incarnation=0x55667788  ferry.max_window=1048576  ferry.flags.probe=0
3 ferry.type=4  ferry.src_session=5  ferry.dst_session=9  ferry.frame.offset=0;18;46  ferry.frame.len=10;20  ferry.rpc.kind=1  ferry.rpc.type=7  ferry.rpc.id=42  ferry.stream.start=0  ferry.flags.probe=0
4 ferry.type=4  ferry.src_session=5  ferry.dst_session=9  ferry.frame.offset=1554  ferry.frame.len=92  ferry.stream.start=1054  ferry.flags.probe=0
5 ferry.type=4  ferry.src_session=5  ferry.dst_session=9  ferry.frame.offset=46  ferry.frame.len=1500  ferry.stream.start=51  ferry.flags.probe=0
6 ferry.type=4  ferry.src_session=5  ferry.dst_session=9  ferry.frame.offset=46  ferry.frame.len=1500  ferry.stream.start=51  ferry.flags.probe=0  _ws.expert.severity=$NOTE  _ws.expert.message=stream bytes seen before: a retransmission
7 ferry.type=6  ferry.src_session=9  ferry.dst_session=5  ferry.sack.seq=104;106  ferry.flags.probe=1
8 ferry.type=4  ferry.src_session=9  ferry.dst_session=5  ferry.frame.offset=0  ferry.frame.len=4  ferry.stream.start=0  ferry.flags.probe=0
9 ferry.type=5  ferry.src_session=5  ferry.dst_session=9  ferry.reason=1  ferry.flags.probe=0
10 ferry.type=7  ferry.src_session=9  ferry.dst_session=5  ferry.flags.probe=0
11 ferry.type=3  ferry.src_session=0  ferry.dst_session=6  ferry.reason=3  ferry.flags.probe=0
12 ferry.type=4  ferry.src_session=11  ferry.dst_session=12  ferry.frame.offset=0  ferry.frame.len=2  ferry.stream.start=0  ferry.flags.probe=0  _ws.expert.severity=$WARN  _ws.expert.message=reserved frame field is not 0
13 ferry.type=4  ferry.src_session=21  ferry.dst_session=22  ferry.stream.unknown=$(python3 -c 'print("71" * 40)')  _ws.expert.severity=$NOTE  ferry.flags.probe=0
14 _ws.expert.severity=$ERR  _ws.expert.message=20 bytes: shorter than the 48-byte ferry header
15 ferry.type=4  ferry.src_session=5  ferry.dst_session=9  _ws.expert.severity=$ERR
16 ferry.type=42  ferry.src_session=5  ferry.dst_session=9  ferry.flags.probe=0  _ws.expert.severity=$ERR  _ws.expert.message=type 42 is not a ferry packet type
17 ferry.type=1  ferry.src_session=0  ferry.dst_session=0  ferry.service=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx  ferry.max_message=0  ferry.incarnation=0x11223344  ferry.max_window=4194304  ferry.flags.probe=0  _ws.expert.severity=$ERR;$ERR
18 ferry.type=8  ferry.src_session=9  ferry.dst_session=5  ferry.incarnation=0x55667788  ferry.flags.probe=0
19 ferry.type=9  ferry.src_session=0  ferry.dst_session=0  ferry.incarnation=0x11223344  ferry.flags.probe=0
20 ferry.type=10  ferry.src_session=0  ferry.dst_session=0  ferry.incarnation=0x55667788  ferry.flags.probe=0
21 ferry.type=9  ferry.src_session=0  ferry.dst_session=0  ferry.incarnation=0x11223344  ferry.flags.probe=0
22 ferry.type=4  ferry.src_session=5  ferry.dst_session=9  ferry.frame.offset=46  ferry.frame.len=1500  ferry.stream.start=51  ferry.flags.probe=0  ferry.frag.pkt_len=1003  ferry.frag.index=0  ferry.frag.count=2  _ws.expert.severity=$NOTE  _ws.expert.message=stream bytes seen before: a retransmission
23 ferry.type=12  ferry.src_session=4369  ferry.dst_session=0  ferry.flags.probe=0  ferry.hs.ephemeral=$(hexrange 0 32)
24 ferry.type=13  ferry.src_session=8738  ferry.dst_session=4369  ferry.flags.probe=0  ferry.hs.ephemeral=$(hexrange 32 64)
25 ferry.type=14  ferry.src_session=0  ferry.dst_session=4369  ferry.reason=12  ferry.flags.probe=0
26 ferry.type=11  ferry.src_session=0  ferry.dst_session=0  ferry.flags.probe=0  ferry.seal.key_id=0x00002222  ferry.seal.counter=0
27 ferry.type=1  ferry.src_session=31  ferry.dst_session=0  ferry.service=auth  ferry.max_message=1048576  ferry.incarnation=0x11223344  ferry.max_window=4194304  ferry.flags.probe=0  ferry.seal.key_id=0x00003333  ferry.seal.counter=0  ferry.seal.mode=$AUTH
28 ferry.type=2  ferry.src_session=32  ferry.dst_session=31  ferry.max_message=65536  ferry.incarnation=0x55667788  ferry.max_window=1048576  ferry.flags.probe=0  ferry.seal.key_id=0x00004444  ferry.seal.counter=0  ferry.seal.mode=$AUTH
29 ferry.type=4  ferry.src_session=31  ferry.dst_session=32  ferry.frame.offset=0  ferry.frame.len=5  ferry.stream.start=0  ferry.flags.probe=0  ferry.seal.key_id=0x00003333  ferry.seal.counter=1  ferry.seal.mode=$BY28
30 ferry.type=4  ferry.src_session=41  ferry.dst_session=42  ferry.flags.probe=0  ferry.seal.key_id=0x00005555  ferry.seal.counter=1  ferry.seal.mode=$BY31  ferry.encrypted=$(cipher 60 4)
31 ferry.type=1  ferry.src_session=41  ferry.dst_session=0  ferry.max_message=1048576  ferry.flags.probe=0  ferry.seal.key_id=0x00005555  ferry.seal.counter=0  ferry.seal.mode=$ENC  ferry.encrypted=$(cipher 48 5)
32 ferry.type=4  ferry.src_session=41  ferry.dst_session=42  ferry.flags.probe=0  ferry.seal.key_id=0x00005555  ferry.seal.counter=2  ferry.seal.mode=$BY31  ferry.encrypted=$(cipher 100 6)
33 ferry.type=5  ferry.src_session=5  ferry.dst_session=9  ferry.reason=1  ferry.flags.probe=0  _ws.expert.severity=$ERR  _ws.expert.message=sealed, but 10 bytes after the header: shorter than the 28-byte seal (ferryd drops it)
34 ferry.type=11  ferry.src_session=0  ferry.dst_session=0  ferry.flags.probe=0  _ws.expert.severity=$ERR  _ws.expert.message=KEEPALIVE is always sealed (ferryd drops it)
35 ferry.type=12  ferry.src_session=4369  ferry.dst_session=0  ferry.flags.probe=0  ferry.hs.ephemeral=$(python3 -c 'print("00" * 32)')  _ws.expert.severity=$ERR  _ws.expert.message=HS_INIT is 168 bytes, this one 100 (ferryd drops it)
36 ferry.type=14  ferry.src_session=0  ferry.dst_session=4369  ferry.reason=3  ferry.flags.probe=0  _ws.expert.severity=$WARN  _ws.expert.message=not a reason a handshake is refused for (UNTRUSTED, SECURITY, REFUSED)
37 ferry.type=9  ferry.src_session=0  ferry.dst_session=0  ferry.incarnation=0x11223344  ferry.flags.probe=0  ferry.seal.key_id=0x00005555  ferry.seal.counter=3  ferry.seal.mode=$ENC  ferry.encrypted=$(cipher 1296 7)
EOF
if fields "$D/two" -2 && check "$D/two" "$WANT"; then
	ok "two passes: every field of 37 crafted packets, frames across packets and out of order, a fragment, a padded PING, handshakes, sealed packets plain and encrypted, expert infos"
else fail "two passes"; fi

# one pass: packet 4 comes before the bytes ahead of it, so its boundaries
# are unknown; packet 30 before anything says its hosts' mode, so its
# payload is undecided; everything else is the same
WANT1=$(sed -e "s/^4 .*/4 ferry.type=4  ferry.src_session=5  ferry.dst_session=9  ferry.stream.start=1054  ferry.stream.unknown=PAYLOAD4  ferry.flags.probe=0  _ws.expert.severity=$NOTE/" \
	-e "s/^30 .*/30 ferry.type=4  ferry.src_session=41  ferry.dst_session=42  ferry.flags.probe=0  ferry.seal.key_id=0x00005555  ferry.seal.counter=1  ferry.seal.mode=undecided  ferry.sealed.undecided=$(cipher 60 4)  _ws.expert.severity=$NOTE/" <<<"$WANT")
if fields "$D/one" && p4=$(awk -F'|' '$1 == 4 { print $18 }' "$D/one") && [ ${#p4} -eq 1200 ] &&
   check "$D/one" "${WANT1/PAYLOAD4/$p4}"; then
	ok "one pass: the packet ahead of a gap shows stream bytes with boundaries unknown; a sealed payload before its hosts' mode is told is undecided"
else fail "one pass"; fi

# the port preference
tshark -r "$D/t.pcap" -X lua_script:"$LUA" -o ferry.ports:40000 -T fields -e frame.protocols \
	>"$D/p40000" 2>/dev/null
tshark -r "$D/t.pcap" -X lua_script:"$LUA" -o ferry.ports:31000-32000 -T fields -e frame.protocols \
	>"$D/prange" 2>/dev/null
if ! grep -q ferry "$D/p40000" && [ "$(grep -c ':ferry$' "$D/prange")" = 37 ]; then
	ok "ferry.ports: 40000 leaves 31850 alone, 31000-32000 takes it"
else fail "ferry.ports preference"; fi

# the preference ferry.security: encrypt reads the plain sealed DATA 29 as
# ciphertext (no frames), authenticate reads OPEN 31's ciphertext as plain
# (a service name that is none)
pref() { # PREF PACKET FIELD...
	local a=() f
	for f in "${@:3}"; do a+=(-e "$f"); done
	tshark -r "$D/t.pcap" -X lua_script:"$LUA" -o ferry.security:"$1" -Y "frame.number == $2" \
		-T fields -E separator='|' "${a[@]}" 2>/dev/null
}
PREF="(the preference ferry.security)"
p29=$(pref encrypt 29 ferry.seal.mode ferry.frame.len ferry.encrypted)
p31=$(pref authenticate 31 ferry.seal.mode ferry.encrypted _ws.expert.severity)
if [ "$p29" = "encrypt $PREF||$(python3 -c 'import struct; print((struct.pack("!IHH", 5, 0, 0) + b"hello").hex())')" ] &&
   [ "$p31" = "authenticate $PREF||$ERR" ]; then
	ok "ferry.security: encrypt and authenticate override what the packets suggest"
else fail "ferry.security preference: 29 '$p29', 31 '$p31'"; fi

# tshark -V shows every header field by name
tshark -r "$D/t.pcap" -X lua_script:"$LUA" -V -Y frame.number==3 >"$D/v" 2>/dev/null
missing=
for f in Version Type Flags "Destination session" "Source session" Aux "Stream offset" Sequence Ack \
	"Selective ack" Window Timestamp "Timestamp echo" "Ack delay" "Frame at stream offset 18" \
	"RPC id: 42"; do
	grep -q "^ *$f" "$D/v" || missing+=" '$f'"
done
if [ -z "$missing" ]; then ok "tshark -V names every field"; else fail "tshark -V lacks$missing"; fi

# every field has a description (Wireshark shows it for the selected
# field): the dissector loaded as a personal plugin, tshark -G fields
mkdir -p "$D/home/.local/lib/wireshark/plugins"
cp "$LUA" "$D/home/.local/lib/wireshark/plugins/"
HOME=$D/home tshark -G fields 2>/dev/null | awk -F'\t' '$1 == "F" && $3 ~ /^ferry\./ && $4 != "FT_NONE"' >"$D/g"
bare=$(awk -F'\t' '$NF == "" { print $3 }' "$D/g" | tr '\n' ' ')
if [ "$(grep -c . "$D/g")" -ge 35 ] && [ -z "$bare" ]; then
	ok "$(grep -c . "$D/g") fields, each with a description"
else fail "fields without a description: $bare"; fi

[ $FAILS -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
echo "all dissector checks passed"
