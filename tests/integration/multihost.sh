#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# A lab of more than two hosts (scripts/lab.sh --hosts 3: ferry-a, ferry-b
# and ferry-c, each a ferryd on its veth through net_af_packet):
#   - it comes up, and `lab.sh status` shows every host's daemon at its own
#     address; the kernel host pings ferry-c's ferryd (10.77.0.4);
#   - ferry-a and ferry-c each send a checked transfer (ferry-xfer, every
#     byte of every message verified) to a receiver of its own on ferry-b,
#     both at once: both complete intact;
#   - `lab.sh down` run with the default host count (2) still takes the
#     whole lab down: no namespace, veth, bridge, daemon, ring directory,
#     EAL runtime directory or state is left.
#
# usage: multihost.sh LAB_SH BUILD_DIR
# exit:  0 pass, 1 fail, 77 skip (no root, no namespaces, DPDK cannot start)
set -u

LAB=$1
BUILD=$2
XFER=$BUILD/tests/integration/ferry-xfer
STAT=$BUILD/client-lib/tools/ferry-stat
TMP=$(mktemp -d /tmp/ferry-multihost.XXXXXX)
SENDERS="a c"
COUNT=200

# The test itself takes about 20 s; waiting for another run's turn with
# the lab counts against its meson timeout (300 s), so it skips rather
# than wait past that.
LAB_TURN_WAIT_S=${LAB_TURN_WAIT_S:-240}
# shellcheck source=lab_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_common.sh"

trap lab_cleanup EXIT

lab_preflight "$XFER" "$STAT"

LAB_HOSTS=3 lab_up
"$LAB" status >"$TMP/status" 2>&1 || { cat "$TMP/status"; fail "lab.sh status says the lab is not up"; }
for addr in a:10.77.0.1:fa0 b:10.77.0.2:fb0 c:10.77.0.4:fc0; do
	IFS=: read -r h ip ifc <<<"$addr"
	grep -q "daemon ferryd pid [0-9]* running, $ip on $ifc, socket /run/ferry-lab/$h.sock" "$TMP/status" ||
		{ cat "$TMP/status"; fail "lab.sh status does not show ferry-$h's daemon as $ip on $ifc"; }
done
ok "3 hosts up, each ferryd at its own address (status: $(tail -n 1 "$TMP/status"))"

"$LAB" exec k ping -c 2 -i 0.2 -W 2 10.77.0.4 >"$TMP/ping" 2>&1 ||
	{ cat "$TMP/ping"; fail "ferry-k cannot ping ferry-c's ferryd at 10.77.0.4"; }
ok "ferry-k pings ferry-c's ferryd at 10.77.0.4"

# -- every sender to one receiving host, at once, every byte checked --
declare -A RPIDS SPIDS
seed=40
for h in $SENDERS; do
	seed=$((seed + 1))
	recv_bg "from-$h" --count "$COUNT" --seed "$seed" --max-size 1M --timeout-ms 60000 --json
	grep -q listening "$TMP/from-$h.recv.err" ||
		{ cat "$TMP/from-$h.recv.err"; fail "the receiver for ferry-$h does not listen"; }
	RPIDS[$h]=$RPID
done
seed=40
for h in $SENDERS; do
	seed=$((seed + 1))
	"$LAB" exec "$h" "$XFER" send --host 10.77.0.2 --service "from-$h" --count "$COUNT" \
		--seed "$seed" --max-size 1M --timeout-ms 60000 --json >"$TMP/from-$h.send" \
		2>"$TMP/from-$h.send.err" &
	SPIDS[$h]=$!
done
for h in $SENDERS; do
	wait "${SPIDS[$h]}"
	src=$?
	wait "${RPIDS[$h]}"
	rrc=$?
	if ((src != 0 || rrc != 0)); then
		cat "$TMP/from-$h.send.err" "$TMP/from-$h.recv.err"
		fail "ferry-$h -> ferry-b: send exit $src, recv exit $rrc"
	fi
	python3 - "$TMP/from-$h.recv" "$COUNT" <<'PY' || fail "ferry-$h -> ferry-b: the receiver's report"
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["messages"] == int(sys.argv[2]) and r["complete"], r
print("# %d messages, %d bytes verified in %.2f s" % (r["messages"], r["bytes"], r["seconds"]))
PY
done
ok "ferry-a and ferry-c sent $COUNT checked messages each to ferry-b at once; every one arrived intact"

# -- down with another host count than up's takes everything --
pids=$(cat /run/ferry-lab/*.pid)
LAB_HOSTS=2 "$LAB" down >"$TMP/down.log" 2>&1 || { cat "$TMP/down.log"; fail "lab.sh down"; }
UP=0
left=$(ip netns list | grep -E '^ferry-([a-k]|sw)( |$)')
[[ -z $left ]] || fail "namespaces left after lab.sh down: $left"
left=$(ip -br link show | awk '{ sub(/@.*/, "", $1); print $1 }' | grep -E '^(f[a-k]0|sw-[a-k]0|ferry-br0)$')
[[ -z $left ]] || fail "links left in the root namespace after lab.sh down: $left"
for p in $pids; do
	# a zombie is gone: the daemons' parent (init here) reaps them
	state=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)
	[[ -z $state || $state == Z ]] || fail "daemon pid $p still runs after lab.sh down (state $state)"
done
left=$(ls -d /run/ferry-lab /dev/shm/ferry-lab-* /var/run/dpdk/ferry-lab-* 2>/dev/null)
[[ -z $left ]] || fail "files left after lab.sh down: $left"
"$LAB" status >/dev/null 2>&1
[[ $? -eq 3 ]] || fail "lab.sh status does not say down after lab.sh down"
ok "LAB_HOSTS=2 lab.sh down took down all 3 hosts: no namespace, link, daemon or file left"
echo "multihost: all checks passed"
