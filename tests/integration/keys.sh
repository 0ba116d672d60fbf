#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# ferryd's key file, end to end with the real binary (local mode: no NIC,
# no DPDK start-up):
#   - ferryd --gen-key writes a key (mode 0600, owned by privileges.user),
#     prints its public key; --public-key prints the same; a second
#     --gen-key keeps the file and fails;
#   - ferryd with security.mode = encrypt refuses to start (exit 78, no
#     socket, nothing in its shm directory) on a key file that is missing,
#     readable by group or others, owned by someone else, a symbolic link,
#     a directory, empty, not base64, a key of the wrong length, or two
#     lines; and on a security.trusted_peers entry that is not a key and
#     an address. Each time the message names the setting, the file, and
#     what to run;
#   - with a good file it starts, says its public key, and stops cleanly
#     on SIGTERM.
#
# usage: keys.sh FERRYD
# exit:  0 pass, 1 fail, 77 skip (not root, or no nobody/nogroup)
set -u

FERRYD=$1
TMP=
DPID=

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok - $*"; }

cleanup() {
	if [[ -n $DPID ]] && kill -0 "$DPID" 2>/dev/null; then
		kill -KILL "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	[[ -n $TMP ]] && rm -rf "$TMP" "/dev/shm/ferry-keys-$$"
}
trap cleanup EXIT
trap "exit 143" TERM INT

[[ -x $FERRYD ]] || fail "no ferryd at $FERRYD"
[[ $(id -u) -eq 0 ]] || skip "needs root: the key file's owner is checked against privileges.user"
if ! getent passwd nobody >/dev/null || ! getent group nogroup >/dev/null; then
	skip "ferryd drops to nobody:nogroup here, and there is no such user or group"
fi
TMP=$(mktemp -d /tmp/ferry-keys.XXXXXX) || fail "mktemp"
chmod 0755 "$TMP"
chown nobody:nogroup "$TMP"
KEY=$TMP/ferryd.key
PEER="CVgoRnm2nkfvCFWv1w3W5dsO9VRA2mhMq9FX8ScP1A0= 10.0.0.0/24"
BASE=(--privileges.user=nobody --privileges.group=nogroup --ipc.socket="$TMP/ferryd.sock"
	--ipc.shm_dir="/dev/shm/ferry-keys-$$" --security.private_key_file="$KEY")
SEC=(--security.mode=encrypt "--security.trusted_peers=[\"$PEER\"]")

run() { # ARGS...: ferryd in the foreground, at most 10 s; RC, OUT, ERR
	env -u NOTIFY_SOCKET -u WATCHDOG_USEC -u WATCHDOG_PID FERRY_CONFIG=/dev/null \
		timeout 10 "$FERRYD" "${BASE[@]}" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}

# -- --gen-key, --public-key --
run --gen-key
((RC == 0)) || { echo "$ERR"; fail "--gen-key exited $RC"; }
[[ $OUT =~ ^[A-Za-z0-9+/]{43}=$ ]] || fail "--gen-key printed \"$OUT\", not a public key"
PUB=$OUT
[[ $(stat -c '%a %U' "$KEY") == "600 nobody" ]] ||
	fail "--gen-key left $(stat -c '%a %U' "$KEY"), not 600 nobody"
[[ $(wc -l <"$KEY") == 1 && $(wc -c <"$KEY") == 45 ]] || fail "the key file is not one line of base64"
grep -q "security.trusted_peers" <<<"$ERR" || fail "--gen-key does not say where the key goes"
run --public-key
[[ $RC == 0 && $OUT == "$PUB" ]] || fail "--public-key: exit $RC, \"$OUT\" (want $PUB)"
before=$(sha256sum <"$KEY")
run --gen-key
((RC == 1)) || fail "a second --gen-key exited $RC, not 1"
grep -q "exists already" <<<"$ERR" || fail "a second --gen-key says: $ERR"
[[ $(sha256sum <"$KEY") == "$before" ]] || fail "a second --gen-key changed the key"
ok "--gen-key: 0600, owned by privileges.user, public key $PUB; --public-key agrees; no overwrite"

# -- bad key files refuse the start --
GOOD=$(cat "$KEY")
refused() { # WHAT REGEX: ferryd with security on must exit 78 saying REGEX
	run "${SEC[@]}"
	((RC == 78)) || { echo "$ERR"; fail "$1: ferryd exited $RC, not 78"; }
	grep -Eq -e "$2" <<<"$ERR" || { echo "$ERR"; fail "$1: no /$2/"; }
	[[ ! -e $TMP/ferryd.sock ]] || fail "$1: a socket was created"
	[[ -z $(ls -A "/dev/shm/ferry-keys-$$" 2>/dev/null) ]] || fail "$1: files in the shm dir"
	ok "$1: exit 78, $(grep -Eo -e "security[.][a-z_]+: .*" <<<"$ERR" | head -1)"
}
put() { # MODE OWNER TEXT: the key file as given
	rm -rf "$KEY"
	printf '%s' "$3" >"$KEY"
	chmod "$1" "$KEY"
	chown "$2" "$KEY"
}
F="security.private_key_file: $KEY"
rm -f "$KEY"
refused "missing" "^.*$F does not exist: run ferryd --gen-key"
put 640 nobody "$GOOD"
refused "group-readable" "$F may be read or written by group or others \(mode 0640\): run chmod 600 $KEY"
put 604 root "$GOOD"
refused "world-readable" "\(mode 0604\): run chmod 600"
put 600 daemon "$GOOD"
refused "owned by another user" "$F is owned by uid [0-9]+, not by the user ferryd runs as \(privileges.user, uid [0-9]+\) or root: run chown nobody $KEY"
put 600 nobody "$GOOD"
mv "$KEY" "$KEY.real"
ln -s "$KEY.real" "$KEY"
refused "a symbolic link" "$F is a symbolic link"
rm -f "$KEY" "$KEY.real"
mkdir -m 700 "$KEY"
refused "a directory" "$F is not a regular file"
NOKEY="$F does not hold a private key \(one line: 32 bytes in base64\): move it away and run ferryd --gen-key"
put 600 nobody ""
refused "empty" "$NOKEY"
put 600 nobody "not base64 at all!"
refused "not base64" "$NOKEY"
put 600 nobody "${GOOD:0:40}"
refused "a short key" "$NOKEY"
put 600 nobody "$GOOD
$GOOD"
refused "two lines" "$NOKEY"
put 600 nobody "$(head -c 300 /dev/zero | base64 -w0)"
refused "too long" "$NOKEY"

# -- a bad trusted_peers entry is a settings error --
put 600 nobody "$GOOD
"
run --security.mode=encrypt "--security.trusted_peers=[\"$PUB\"]"
((RC == 78)) || fail "a trusted key without an address: exit $RC"
grep -q "security.trusted_peers: flag --security.trusted_peers: entry 1: no address or subnet after the key" <<<"$ERR" ||
	{ echo "$ERR"; fail "a trusted key without an address: $ERR"; }
run --security.mode=encrypt
if ((RC != 78)) || ! grep -q "security.trusted_peers: default: is empty" <<<"$ERR"; then
	echo "$ERR"
	fail "encrypt with no trusted peers: exit $RC"
fi
ok "security.trusted_peers: an entry without an address, and none at all with encrypt: exit 78"

# -- a good file: it starts, and stops --
env -u NOTIFY_SOCKET -u WATCHDOG_USEC -u WATCHDOG_PID FERRY_CONFIG=/dev/null \
	"$FERRYD" "${BASE[@]}" "${SEC[@]}" </dev/null >"$TMP/log" 2>&1 &
DPID=$!
for _ in $(seq 100); do
	grep -q "ready in" "$TMP/log" && break
	kill -0 "$DPID" 2>/dev/null || { cat "$TMP/log"; fail "ferryd exited with a good key"; }
	sleep 0.05
done
grep -q "ready in" "$TMP/log" || { cat "$TMP/log"; fail "ferryd not ready in 5 s"; }
grep -q "security.mode encrypt: our public key $PUB; 1 trusted key-and-subnet pairs" "$TMP/log" ||
	{ cat "$TMP/log"; fail "ferryd does not say its key"; }
kill -TERM "$DPID"
wait "$DPID"
rc=$?
DPID=
((rc == 0)) || { cat "$TMP/log"; fail "ferryd exited $rc on SIGTERM"; }
ok "a good key: ferryd starts, names its public key, stops on SIGTERM"
echo "keys: all checks passed"
