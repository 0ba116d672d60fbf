#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""ferry_forge.py: watch and forge ferry traffic in the netns lab.

Run in the switch's namespace (scripts/lab.sh exec sw python3 ...): on the
bridge ferry-br0 it sees every frame between the lab's hosts. It learns the
live sessions from what passes (both ids, each side's next packet number,
stream offset, cumulative ack, selective ack, window, timestamps, MAC and
port) and sends frames as one of the hosts would: Ethernet / IPv4 / UDP
with correct checksums and a ferry header with the fields asked for.

  ferry_forge.py sniff    [--ms N] [--max N]        print what passes
  ferry_forge.py sessions [--ms N]                  print the sessions, JSON
  ferry_forge.py close --as a [--seq EXPR] [--reason N]
  ferry_forge.py open  --as a --to b --service NAME [--src EXPR] [--isn EXPR]
  ferry_forge.py ack   --as b [--ack EXPR] [--sack EXPR] [--window EXPR]
  ferry_forge.py data  --as a [--seq EXPR] [--off EXPR] [--len N] [--fill F]
  ferry_forge.py pong  --as a --incarnation N      answer the next PING to a
  ferry_forge.py arp   --claim IP --mac MAC --to a [--op request|reply|announce]

--as names the host the packet claims to come from (a, b, k or an IPv4
address); the receiver is the other end of the session (or --to). Common
to the forging commands: --count N packets (--interval-ms between them),
--sid HOST:ID to pick the session whose id on that host is ID (default:
the session seen most recently), --learn-ms N to wait for what the
expressions need, --when TYPE[:HOST] to send only once the session has
carried such a packet (from that host; then --delay-ms, watching on),
--after-ms N to go on printing the session's packets after sending,
--flag PROBE, --set FIELD=EXPR for any header field by its name, --seal
to send it sealed as a host that sees the traffic but holds no key can
(secure channels: the sealed flag, then a seal with the key id last seen
on sealed packets to the receiver, a counter past the last one seen and a
random tag), and the global --seed for the random values. Sealed packets
that pass are learned from as plain ones: their headers are readable.
Everything sniffed and sent is printed, one line a packet, for test logs.

The wire format (daemon/wire.h) is one table at the top of this file:
HDR_FIELDS, TYPES, FLAGS and the *_FIELD names of what a field carries.

EXPR: a number (decimal or 0x hex), or a learned value, optionally +N/-N:
  next         the sender's next packet number (the highest it used, + 1)
  expected     the receiver's cumulative ack of the sender: what it waits for
  end          the sender's stream offset after everything it has sent
  ack, sack, window, ts
               the sender's latest values of those header fields
  peer_next    the receiver's next packet number (an ack beyond it is bogus)
  peer_window  the receiver's latest window: how far the sender may send
  echo         the receiver's latest timestamp (what the sender would echo)
  id           (open) the sender's id in the chosen session
  random       a new random value for each packet
--seq-step, --off-step, --src-step add that much per packet of a --count.

Exit status: 0 sent (or sniffed), 3 the session or a learned value was not
seen within --learn-ms, 64 bad usage.
"""
import argparse
import json
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "net"))
from net_lab import arp as arp_body, ip4, ipv4, mac as mac_bytes, udp  # noqa: E402

# ---- the wire format (daemon/wire.h): the one place to change with it ----
WIRE_VERSION = 3
# (name, struct code), in wire order, network byte order
HDR_FIELDS = (
    ("version", "B"), ("type", "B"), ("flags", "H"),
    ("dst", "I"),      # the receiver's session id (0 in OPEN)
    ("src", "I"),      # the sender's session id
    ("aux", "I"),      # REFUSE, CLOSE: reason; DATA: stream offset; OPEN, ACCEPT: max
                       # msg; RESET, PING, PONG: the sender's incarnation
    ("seq", "I"),      # DATA: packet number; PING: a nonce; others: the sender's next
    ("ack", "I"),      # next packet number expected from the peer
    ("sack", "Q"),     # bit i: ack + 1 + i has arrived
    ("window", "I"),   # stream offset the peer may send up to
    ("ts", "I"), ("ts_echo", "I"), ("ack_delay", "I"),
)
TYPES = {"OPEN": 1, "ACCEPT": 2, "REFUSE": 3, "DATA": 4, "CLOSE": 5, "ACK": 6,
         "CLOSE_ACK": 7, "RESET": 8, "PING": 9, "PONG": 10, "KEEPALIVE": 11, "HS_INIT": 12,
         "HS_RESP": 13, "HS_REJECT": 14}
FLAGS = {"PROBE": 0x1}
SEALED = 0x4              # a seal follows the payload: key id, counter, tag
SEAL_FMT = "!IQ"          # key id (the receiver's index), counter; then the tag
SEAL_LEN = 12 + 16
# which field carries what, per type (a field moved or renamed: change it here)
OFFSET_FIELD = "aux"      # DATA: the stream offset of the first byte
REASON_FIELD = "aux"      # CLOSE, REFUSE: FERRY_REASON_*
MAXMSG_FIELD = "aux"      # OPEN, ACCEPT: the sender's largest message
ISN_FIELD = "seq"         # OPEN, ACCEPT: the sender's first packet number
INCARNATION_AUX = ("RESET", "PING", "PONG")  # aux: the sender's incarnation
SERVICE_MAX = 32
# OPEN's payload: service (NUL-padded), incarnation, max_window, reserved[2];
# ACCEPT's: incarnation, max_window, reserved[2]
OPEN_FMT = "!%dsIIII" % SERVICE_MAX
ACCEPT_FMT = "!IIII"
FRAME_FMT = "!IHH"        # a message in the stream: length, flags, zero
# packets whose ack fields describe the sender's receive side, and whose
# seq is the sender's next number (DATA's is its own); a CLOSE is one of
# them when it has a window: a bare one (a reset) has none of these fields
ACKING = ("ACCEPT", "DATA", "ACK")
NEXT_SEQ = ("OPEN", "ACCEPT", "ACK")
WITH_FIELDS_IF_WINDOW = ("CLOSE",)

HDR_FMT = "!" + "".join(code for _, code in HDR_FIELDS)
HDR_LEN = struct.calcsize(HDR_FMT)
TYPE_NAMES = {v: k for k, v in TYPES.items()}

# ---- the lab (scripts/lab.sh) ----
LAB_HOSTS = {"a": ("10.77.0.1", "02:77:00:00:00:01"),
             "b": ("10.77.0.2", "02:77:00:00:00:02"),
             "k": ("10.77.0.3", "02:77:00:00:00:03")}
LAB_NAMES = {ip: h for h, (ip, _) in LAB_HOSTS.items()}
UDP_PORT = 31850       # net.udp_port; --udp-ports when net.udp_port_count > 1
UDP_PORTS = range(UDP_PORT, UDP_PORT + 1)
IFACE = "ferry-br0"

ETH_P_ALL, ETH_P_IP, ETH_P_ARP = 0x0003, 0x0800, 0x0806
SOL_PACKET, PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC = 263, 1, 1
PACKET_OUTGOING = 4
M32, M64 = (1 << 32) - 1, (1 << 64) - 1

T0 = time.monotonic()


def out(line):
    print("%8.3f %s" % (time.monotonic() - T0, line), flush=True)


def name_of(ip):
    return LAB_NAMES.get(ip, ip)


def seq_lt(a, b):
    return ((a - b) & M32) >= 0x80000000


def seq_max(a, b):
    return b if a is None or seq_lt(a, b) else a


def fmt_mac(b):
    return ":".join("%02x" % x for x in b)


# ---- decoding ------------------------------------------------------------

class Packet:
    """One frame off the bridge: ARP, or a ferry packet in UDP."""

    def __init__(self, frame, outgoing):
        self.outgoing = outgoing
        self.kind = None
        if len(frame) < 14:
            return
        self.dst_mac, self.src_mac = frame[0:6], frame[6:12]
        etype = struct.unpack("!H", frame[12:14])[0]
        if etype == ETH_P_ARP and len(frame) >= 42:
            op, sha, spa, tha, tpa = struct.unpack("!6xH6s4s6s4s", frame[14:42])
            self.kind = "arp"
            self.arp = (op, sha, socket.inet_ntoa(spa), tha, socket.inet_ntoa(tpa))
            return
        if etype != ETH_P_IP or len(frame) < 34:
            return
        ihl = (frame[14] & 15) * 4
        if frame[23] != 17 or len(frame) < 14 + ihl + 8:
            return
        self.src_ip = socket.inet_ntoa(frame[26:30])
        self.dst_ip = socket.inet_ntoa(frame[30:34])
        u = 14 + ihl
        self.sport, self.dport, ulen = struct.unpack("!HHH", frame[u:u + 6])
        if self.sport not in UDP_PORTS and self.dport not in UDP_PORTS:
            return
        body = frame[u + 8:u + ulen]
        if len(body) < HDR_LEN:
            self.kind = "short"
            return
        self.kind = "ferry"
        self.hdr = dict(zip((n for n, _ in HDR_FIELDS), struct.unpack(HDR_FMT, body[:HDR_LEN])))
        self.payload = body[HDR_LEN:]
        self.seal = None
        if self.hdr["flags"] & SEALED and len(self.payload) >= SEAL_LEN:
            self.seal = struct.unpack(SEAL_FMT, self.payload[-SEAL_LEN:-16])
            self.payload = self.payload[:-SEAL_LEN]
        self.type = TYPE_NAMES.get(self.hdr["type"], "type%d" % self.hdr["type"])


def describe_hdr(h, payload_len, typ=None):
    typ = typ or TYPE_NAMES.get(h["type"], "type%d" % h["type"])
    s = "%-9s dst=%u src=%u seq=%u ack=%u sack=%#x win=%u" % (
        typ, h["dst"], h["src"], h["seq"], h["ack"], h["sack"], h["window"])
    if typ == "DATA":
        s += " off=%u len=%u" % (h[OFFSET_FIELD], payload_len)
    elif typ in ("CLOSE", "REFUSE"):
        s += " reason=%u" % h[REASON_FIELD]
    elif typ in ("OPEN", "ACCEPT"):
        s += " maxmsg=%u" % h[MAXMSG_FIELD]
    if h["flags"]:
        s += " flags=%#x" % h["flags"]
        if h["flags"] & SEALED:
            s += " (sealed)"
    known = {n for n, _ in HDR_FIELDS} - {"version", "type", "flags", "dst", "src", "aux", "seq",
                                          "ack", "sack", "window", "ts", "ts_echo", "ack_delay"}
    for n in sorted(known):
        s += " %s=%u" % (n, h[n])
    return s


def describe(p):
    if p.kind == "arp":
        op, sha, spa, tha, tpa = p.arp
        what = {1: "request", 2: "reply"}.get(op, "op%d" % op)
        return "arp %s %s is-at %s -> %s (%s)" % (what, spa, fmt_mac(sha), tpa, fmt_mac(p.dst_mac))
    arrow = "%s->%s" % (name_of(p.src_ip), name_of(p.dst_ip))
    if p.kind == "short":
        return "%s short ferry packet" % arrow
    extra = ""
    inc = incarnation_of(p)
    if p.type == "OPEN":
        extra = ' service="%s"' % p.payload[:SERVICE_MAX].split(b"\0")[0].decode(errors="replace")
    if inc is not None:
        extra += " incarnation=%#x" % inc
    return "%s %s%s" % (arrow, describe_hdr(p.hdr, len(p.payload), p.type), extra)


def incarnation_of(p):
    """The sender's incarnation, when the packet says it."""
    if p.type == "OPEN" and len(p.payload) >= struct.calcsize(OPEN_FMT):
        return struct.unpack(OPEN_FMT, p.payload[:struct.calcsize(OPEN_FMT)])[1]
    if p.type == "ACCEPT" and len(p.payload) >= struct.calcsize(ACCEPT_FMT):
        return struct.unpack(ACCEPT_FMT, p.payload[:struct.calcsize(ACCEPT_FMT)])[0]
    if p.type in INCARNATION_AUX:
        return p.hdr["aux"]
    return None


# ---- what is learned -----------------------------------------------------

class Side:
    """One end of a session, as its packets show it."""

    def __init__(self, ip, sid):
        self.ip, self.id = ip, sid
        self.mac = bytes.fromhex(LAB_HOSTS[LAB_NAMES[ip]][1].replace(":", "")) \
            if ip in LAB_NAMES else None
        self.port = self.dport = UDP_PORT  # its source port, and where it sends
        self.isn = self.next = self.end = None
        self.ack = self.sack = self.window = self.ts = None
        self.ts_at = 0.0
        self.packets = 0

    def json(self):
        return {"host": name_of(self.ip), "ip": self.ip, "id": self.id, "isn": self.isn,
                "next": self.next, "end": self.end, "ack": self.ack, "sack": self.sack,
                "window": self.window, "packets": self.packets}


class Session:
    def __init__(self, x, y):
        self.sides = {(x.ip, x.id): x, (y.ip, y.id): y}
        self.service = None
        self.last = 0.0
        self.seen = set()  # (type, sender host) of the packets it carried

    def other(self, side):
        return next(s for s in self.sides.values() if s is not side)

    def json(self):
        return {"service": self.service, "sides": [s.json() for s in self.sides.values()]}


class Tracker:
    def __init__(self):
        self.sessions = {}  # (sender key, receiver key) of its first packet -> Session
        self.by_side = {}   # (ip, id) -> the latest Session with that end
        self.opens = {}     # (ip, id) -> (Side, service) of an OPEN not answered yet
        self.incarnation = {}  # ip -> the latest incarnation it said
        self.seal_to = {}   # ip -> (key id, highest counter) of sealed packets to it

    def find(self, key):
        return self.by_side.get(key)

    def add(self, key, s):
        self.sessions[key] = s
        for k in s.sides:
            self.by_side[k] = s

    def observe(self, p):
        if p.kind != "ferry" or p.outgoing:
            return None
        h, t = p.hdr, p.type
        if p.seal:
            kid, ctr = p.seal
            last = self.seal_to.get(p.dst_ip)
            self.seal_to[p.dst_ip] = (kid, max(ctr, last[1]) if last and last[0] == kid else ctr)
        inc = incarnation_of(p)
        if inc is not None:
            self.incarnation[p.src_ip] = inc
        src, dst = (p.src_ip, h["src"]), (p.dst_ip, h["dst"])
        if t == "OPEN":
            side = Side(p.src_ip, h["src"])
            side.isn = side.next = h[ISN_FIELD]
            side.end = 0
            side.mac, side.port, side.dport = p.src_mac, p.sport, p.dport
            svc = p.payload[:SERVICE_MAX].split(b"\0")[0].decode(errors="replace")
            self.opens[src] = (side, svc)
            return None
        s = self.find(src)
        if s is None and t == "ACCEPT" and dst in self.opens:
            opener, svc = self.opens.pop(dst)
            acceptor = Side(p.src_ip, h["src"])
            acceptor.isn, acceptor.end = h[ISN_FIELD], 0
            s = Session(opener, acceptor)
            s.service = svc
            self.add((src, dst), s)
        if s is None:
            if t not in ("DATA", "ACK") or not h["src"] or not h["dst"]:
                return None
            s = Session(Side(*src), Side(*dst))
            self.add((src, dst), s)
        if dst not in s.sides and h["dst"]:
            return None  # names a session this one is not
        side = s.sides[src]
        side.mac, side.port, side.dport = p.src_mac, p.sport, p.dport
        side.packets += 1
        s.last = time.monotonic()
        s.seen.add((t, name_of(p.src_ip)))
        full = t in WITH_FIELDS_IF_WINDOW and h["window"] != 0
        if t == "DATA":
            side.next = seq_max(side.next, (h["seq"] + 1) & M32)
            end = (h[OFFSET_FIELD] + len(p.payload)) & M32
            side.end = seq_max(side.end, end)
        elif t in NEXT_SEQ or full:
            side.next = seq_max(side.next, h["seq"])
        if t in ACKING or full:
            side.ack, side.sack, side.window = h["ack"], h["sack"], h["window"]
            side.ts, side.ts_at = h["ts"], time.monotonic()
        return s


# ---- the wire --------------------------------------------------------------

def open_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    # promiscuous: the bridge passes up the frames it forwards between ports
    mreq = struct.pack("iHH8s", socket.if_nametoindex(iface), PACKET_MR_PROMISC, 0, b"")
    s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    return s


def frames(sock, until):
    """Frames until the monotonic time @until."""
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return
        sock.settimeout(left)
        try:
            data, addr = sock.recvfrom(65536)
        except (socket.timeout, BlockingIOError):
            return
        yield Packet(data, addr[2] == PACKET_OUTGOING)


def ferry_frame(x, y, hdr, payload):
    values = [hdr[n] for n, _ in HDR_FIELDS]
    body = struct.pack(HDR_FMT, *values) + payload
    src, dst = ip4(x.ip), ip4(y.ip)
    pkt = ipv4(src, dst, 17, udp(src, dst, x.port, x.dport, body))
    return y.mac + x.mac + struct.pack("!H", ETH_P_IP) + pkt


# ---- expressions -------------------------------------------------------------

NAMES = ("next", "expected", "end", "ack", "sack", "window", "ts", "peer_next", "peer_window",
         "echo", "id", "random")


def parse_expr(text):
    """'name', 'name+N', 'name-N' or a number -> (name or None, delta)."""
    t = text.strip()
    for op in ("+", "-"):
        head, sep, tail = t.partition(op)
        if sep and head and head in NAMES:
            return head, int(tail, 0) * (1 if op == "+" else -1)
    if t in NAMES:
        return t, 0
    try:
        return None, int(t, 0)
    except ValueError:
        raise argparse.ArgumentTypeError("'%s' is neither a number nor NAME[+-N] with NAME in %s"
                                         % (text, ", ".join(NAMES)))


def learned(name, x, y):
    """The value @name stands for, sending as @x to @y (None: not seen yet)."""
    if name == "next":
        return x.next
    if name == "expected":
        return y.ack if y.ack is not None else x.next
    if name == "end":
        return x.end
    if name in ("ack", "sack", "window"):
        return getattr(x, name)
    if name == "ts":
        if x.ts is None:
            return int(time.monotonic() * 1e9) & M32
        return (x.ts + int((time.monotonic() - x.ts_at) * 1e9)) & M32
    if name == "peer_window":
        return y.window
    if name == "peer_next":
        return y.next
    if name == "echo":
        return y.ts if y.ts is not None else 0
    if name == "id":
        return x.id
    return 0


def evaluate(expr, x, y, width=M32):
    name, delta = expr
    if name == "random":
        return random.getrandbits(64 if width == M64 else 32)
    base = learned(name, x, y) if name else 0
    return (base + delta) & width


# ---- commands ----------------------------------------------------------------

def host_side(spec):
    """A Side for 'a', 'b', 'k' or an IPv4 address (id 0, the ferry port)."""
    ip = LAB_HOSTS[spec][0] if spec in LAB_HOSTS else spec
    socket.inet_aton(ip)
    return Side(ip, 0)


def pick(tracker, args, need):
    """The session to forge in (--sid, else the one seen last) and its sides
    (sender, receiver), once every learned value in @need is known."""
    want = host_side(args.as_).ip
    best = None
    for s in tracker.sessions.values():
        if args.sid and not any((name_of(v.ip), v.id) == args.sid or (v.ip, v.id) == args.sid
                                for v in s.sides.values()):
            continue
        x = next((v for v in s.sides.values() if v.ip == want), None)
        if x is None:
            continue
        y = s.other(x)
        if any(learned(n, x, y) is None for n in need):
            continue
        if best is None or s.last > best[0].last:
            best = (s, x, y)
    return best


def needed(args):
    names = set()
    for e in getattr(args, "exprs", []):
        if e[0] and e[0] not in ("random", "ts", "echo", "id"):
            names.add(e[0])
    return names


def learn(sock, tracker, args, need):
    until = time.monotonic() + args.learn_ms / 1000.0
    found = pick(tracker, args, need)
    seen = 0
    while found is None and time.monotonic() < until:
        for p in frames(sock, min(until, time.monotonic() + 0.05)):
            tracker.observe(p)
            seen += 1
        found = pick(tracker, args, need)
    if found is None:
        out("%d frames seen, %d sessions known" % (seen, len(tracker.sessions)))
    return found


def wait_for(sock, tracker, args, session):
    """--when TYPE[:HOST]: go on watching until the session has carried such
    a packet (from HOST; learning counts), then --delay-ms. @return False if
    none came."""
    typ, _, host = args.when.partition(":")

    def matches():
        return any(t == typ and (not host or h == host) for t, h in session.seen)

    until = time.monotonic() + args.when_ms / 1000.0
    if not matches():
        for p in frames(sock, until):
            if tracker.observe(p) is session and matches():
                out("seen %s" % describe(p))
                break
    if not matches():
        out("no %s in the session within %d ms (--when)" % (args.when, args.when_ms))
        return False
    for q in frames(sock, time.monotonic() + args.delay_ms / 1000.0):
        tracker.observe(q)
    return True


def send_frames(sock, args, build, tracker=None):
    """Send --count frames from @build(i) -> (frame, text), --interval-ms apart,
    learning from what passes meanwhile (with @tracker): each packet is
    built from values as fresh as the traffic."""
    sent = 0
    for i in range(args.count):
        frame, text = build(i)
        sock.send(frame)
        sent += 1
        if args.verbose or i < 3 or i == args.count - 1:
            out("SENT %s" % text)
        elif i == 3:
            out("SENT ... (%d more before the last one below)" % (args.count - 4))
        if args.interval_ms and tracker:
            for p in frames(sock, time.monotonic() + args.interval_ms / 1000.0):
                tracker.observe(p)
        elif args.interval_ms:
            time.sleep(args.interval_ms / 1000.0)
        elif i % 64 == 63:
            time.sleep(0.002)  # let the receiver's ring drain
    return sent


def after(sock, tracker, args, session):
    if not args.after_ms:
        return
    shown = 0
    for p in frames(sock, time.monotonic() + args.after_ms / 1000.0):
        s = tracker.observe(p)
        if (session is None or s is session or p.kind == "arp") and shown < args.print_max \
                and p.kind and not p.outgoing:
            out("seen %s" % describe(p))
            shown += 1


def forge_hdr(args, typ, x, y, i, defaults):
    h = {n: 0 for n, _ in HDR_FIELDS}
    h.update(version=WIRE_VERSION, type=TYPES[typ], dst=y.id, src=x.id,
             ack=learned("ack", x, y) or 0, sack=learned("sack", x, y) or 0,
             window=learned("window", x, y) or 0, ts=learned("ts", x, y),
             ts_echo=learned("echo", x, y))
    h.update(defaults)
    for field, expr in args.set or []:
        h[field] = evaluate(expr, x, y, M64 if field == "sack" else M32)
    h["flags"] |= sum(FLAGS[f] for f in args.flag or [])
    return h


def session_cmd(args, sock, tracker, typ, build_defaults, payload_of):
    need = needed(args)
    found = learn(sock, tracker, args, need)
    if found is None:
        out("no session with %s seen as sender %s within %d ms%s" % (
            ", ".join(sorted(need)) or "packets", args.as_, args.learn_ms,
            " (--sid %s:%s)" % args.sid if args.sid else ""))
        for s in tracker.sessions.values():
            out("  known: %s" % json.dumps(s.json()))
        return 3
    s, x, y = found
    if args.when and not wait_for(sock, tracker, args, s):
        return 3
    out("session %s:%u <-> %s:%u%s: sender %s next=%s end=%s ack=%s win=%s; receiver %s "
        "next=%s end=%s ack=%s win=%s" % (
            name_of(x.ip), x.id, name_of(y.ip), y.id,
            ' service "%s"' % s.service if s.service else "", name_of(x.ip), x.next, x.end,
            x.ack, x.window, name_of(y.ip), y.next, y.end, y.ack, y.window))

    def build(i):
        h = forge_hdr(args, typ, x, y, i, build_defaults(x, y, i))
        payload = payload_of(x, y, i, h)
        return ferry_frame(x, y, h, payload + sealed(args, tracker, h, y, i)), "%s->%s %s" % (
            name_of(x.ip), name_of(y.ip), describe_hdr(h, len(payload), typ))

    n = send_frames(sock, args, build, tracker)
    after(sock, tracker, args, s)
    report(args, n, s)
    return 0


def sealed(args, tracker, h, y, i):
    """--seal: set the flag in @h and return the seal for packet @i to @y:
    the key id last seen on sealed packets to it, a counter past theirs, a
    random tag (what a host without the keys can make); b"" without it."""
    if not args.seal:
        return b""
    h["flags"] |= SEALED
    kid, ctr = tracker.seal_to.get(y.ip, (random.getrandbits(32), 0))
    return struct.pack(SEAL_FMT, kid, ctr + 1000 + i) + random.getrandbits(128).to_bytes(16, "big")


def report(args, n, s):
    if args.json:
        print(json.dumps({"sent": n, "session": s.json() if s else None}), flush=True)


def cmd_close(args, sock, tracker):
    args.exprs = [args.seq]
    return session_cmd(args, sock, tracker, "CLOSE",
                       lambda x, y, i: {"seq": evaluate(args.seq, x, y), REASON_FIELD: args.reason},
                       lambda x, y, i, h: b"")


def cmd_ack(args, sock, tracker):
    args.exprs = [args.ack, args.sack, args.window]

    def defaults(x, y, i):
        if args.random:
            return {"ack": random.getrandbits(32), "sack": random.getrandbits(64),
                    "window": random.getrandbits(32), "seq": learned("next", x, y) or 0}
        return {"ack": evaluate(args.ack, x, y), "sack": evaluate(args.sack, x, y, M64),
                "window": evaluate(args.window, x, y), "seq": learned("next", x, y) or 0}

    return session_cmd(args, sock, tracker, "ACK", defaults, lambda x, y, i, h: b"")


def data_payload(args, i, h):
    n = args.len
    if args.fill == "zero":
        return bytes(n)
    if args.fill == "random":
        return os.urandom(n)
    if args.fill.startswith("frame:"):
        # a frame header that claims this many bytes, then filler
        flen = int(args.fill.split(":", 1)[1], 0)
        head = struct.pack(FRAME_FMT, flen & M32, 0, 0)
        return head + bytes(max(0, n - len(head)))
    raise SystemExit("--fill: zero, random or frame:LEN")


def cmd_data(args, sock, tracker):
    args.exprs = [args.seq, args.off]

    def defaults(x, y, i):
        return {"seq": (evaluate(args.seq, x, y) + i * args.seq_step) & M32,
                OFFSET_FIELD: (evaluate(args.off, x, y) + i * args.off_step) & M32}

    return session_cmd(args, sock, tracker, "DATA", defaults,
                       lambda x, y, i, h: data_payload(args, i, h))


def cmd_open(args, sock, tracker):
    x, y = host_side(args.as_), host_side(args.to)
    s = None
    args.exprs = [args.src]
    if args.src[0] == "id":
        found = learn(sock, tracker, args, set())
        if found is None:
            out("no session with sender %s seen within %d ms" % (args.as_, args.learn_ms))
            return 3
        s, x, _ = found
        if args.when and not wait_for(sock, tracker, args, s):
            return 3
        out("session %s:%u: OPEN reuses the sender's id" % (name_of(x.ip), x.id))
    service = args.service.encode().ljust(SERVICE_MAX, b"\0")[:SERVICE_MAX]
    # the sender's incarnation as it said it last, if it did (--set-able
    # fields are the header's; this one is the payload's)
    if args.incarnation is None:
        for _ in frames(sock, time.monotonic() + args.incarnation_ms / 1000.0):
            pass
        inc = tracker.incarnation.get(x.ip)
    else:
        inc = args.incarnation
    if inc is None:
        inc = random.getrandbits(32)
        out("%s's incarnation not seen: a random one, %#x" % (name_of(x.ip), inc))

    def build(i):
        sid = (evaluate(args.src, x, y) + i * args.src_step) & M32
        h = {n: 0 for n, _ in HDR_FIELDS}
        h.update(version=WIRE_VERSION, type=TYPES["OPEN"], src=sid, window=args.window,
                 ts=learned("ts", x, y))
        h[ISN_FIELD] = evaluate(args.isn, x, y)
        h[MAXMSG_FIELD] = args.max_msg
        for field, expr in args.set or []:
            h[field] = evaluate(expr, x, y, M64 if field == "sack" else M32)
        payload = struct.pack(OPEN_FMT, service, inc, args.max_window, 0, 0)
        seal = sealed(args, tracker, h, y, i)
        return ferry_frame(x, y, h, payload + seal), "%s->%s %s service=\"%s\" incarnation=%#x" % (
            name_of(x.ip), name_of(y.ip), describe_hdr(h, len(payload), "OPEN"), args.service,
            inc)

    n = send_frames(sock, args, build)
    after(sock, tracker, args, s)
    report(args, n, s)
    return 0


def cmd_pong(args, sock, tracker):
    """Answer the next PING to --as from any host with a PONG as --as: the
    nonce echoed, --incarnation claimed (a restart, if it is another)."""
    x = host_side(args.as_)
    until = time.monotonic() + args.learn_ms / 1000.0
    ping = None
    for p in frames(sock, until):
        tracker.observe(p)
        if p.kind == "ferry" and not p.outgoing and p.type == "PING" and p.dst_ip == x.ip:
            ping = p
            break
    if ping is None:
        out("no PING to %s within %d ms" % (args.as_, args.learn_ms))
        return 3
    out("seen %s" % describe(ping))
    y = Side(ping.src_ip, 0)
    y.mac, y.port, y.dport = ping.src_mac, ping.dport, ping.sport
    x.port, x.dport = ping.dport, ping.sport

    def build(i):
        h = {n: 0 for n, _ in HDR_FIELDS}
        h.update(version=WIRE_VERSION, type=TYPES["PONG"], ack=ping.hdr["seq"],
                 aux=args.incarnation, ts=learned("ts", x, y))
        for field, expr in args.set or []:
            h[field] = evaluate(expr, x, y, M64 if field == "sack" else M32)
        seal = sealed(args, tracker, h, y, i)
        return ferry_frame(x, y, h, seal), "%s->%s %s incarnation=%#x" % (
            name_of(x.ip), name_of(y.ip), describe_hdr(h, 0, "PONG"), args.incarnation)

    n = send_frames(sock, args, build)
    after(sock, tracker, args, None)
    report(args, n, None)
    return 0


def cmd_arp(args, sock, tracker):
    to = host_side(args.to) if args.to != "broadcast" else None
    claim_mac = mac_bytes(args.mac)
    bcast = b"\xff" * 6

    def build(i):
        tmac = to.mac if to else bcast
        tip = to.ip if to else args.claim
        if args.op == "request":
            body = arp_body(1, claim_mac, ip4(args.claim), bytes(6), ip4(tip))
            dst = bcast if args.broadcast or not to else tmac
        elif args.op == "reply":
            body = arp_body(2, claim_mac, ip4(args.claim), tmac, ip4(tip))
            dst = tmac
        else:  # announce: sender and target are the claimed address
            body = arp_body(1, claim_mac, ip4(args.claim), bytes(6), ip4(args.claim))
            dst = bcast
        frame = (dst + claim_mac + struct.pack("!H", ETH_P_ARP) + body).ljust(60, b"\0")
        return frame, "arp %s: %s is-at %s -> %s (%s)" % (
            args.op, args.claim, args.mac, tip, fmt_mac(dst))

    n = send_frames(sock, args, build)
    after(sock, tracker, args, None)
    report(args, n, None)
    return 0


def cmd_sniff(args, sock, tracker):
    n = 0
    for p in frames(sock, time.monotonic() + args.ms / 1000.0):
        tracker.observe(p)
        if p.kind and (args.outgoing or not p.outgoing):
            out(("sent " if p.outgoing else "") + describe(p))
            n += 1
            if args.max and n >= args.max:
                break
    return 0


def cmd_sessions(args, sock, tracker):
    for p in frames(sock, time.monotonic() + args.ms / 1000.0):
        tracker.observe(p)
    print(json.dumps([s.json() for s in tracker.sessions.values()], indent=None), flush=True)
    return 0


# ---- arguments -------------------------------------------------------------------

def sid_arg(text):
    host, sep, num = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError("--sid wants HOST:ID, e.g. b:3")
    return host, int(num, 0)


def set_arg(text):
    field, sep, expr = text.partition("=")
    if not sep or field not in {n for n, _ in HDR_FIELDS}:
        raise argparse.ArgumentTypeError("--set wants FIELD=EXPR with FIELD one of %s"
                                         % ", ".join(n for n, _ in HDR_FIELDS))
    return field, parse_expr(expr)


def main(argv):
    ap = argparse.ArgumentParser(prog="ferry_forge.py", description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[2:]))
    ap.add_argument("--iface", default=IFACE, help="the bridge to watch and send on")
    ap.add_argument("--udp-ports", default="%d:1" % UDP_PORT, metavar="FIRST:COUNT",
                    help="net.udp_port and net.udp_port_count of the daemons")
    ap.add_argument("--seed", type=int, help="seed of the random values")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("sniff", help="print the frames that pass")
    p.add_argument("--ms", type=int, default=3000)
    p.add_argument("--max", type=int, default=0)
    p.add_argument("--outgoing", action="store_true", help="also frames this host sent")
    p = sub.add_parser("sessions", help="learn for --ms and print the sessions as JSON")
    p.add_argument("--ms", type=int, default=3000)

    def common(p, sender_help):
        p.add_argument("--as", dest="as_", required=sender_help is not None, help=sender_help)
        p.add_argument("--count", type=int, default=1)
        p.add_argument("--interval-ms", type=float, default=0)
        p.add_argument("--learn-ms", type=int, default=3000)
        p.add_argument("--after-ms", type=int, default=0)
        p.add_argument("--print-max", type=int, default=40)
        p.add_argument("--sid", type=sid_arg)
        p.add_argument("--when", metavar="TYPE[:HOST]",
                       help="send once the session carries a packet of TYPE (from HOST)")
        p.add_argument("--when-ms", type=int, default=10000)
        p.add_argument("--delay-ms", type=int, default=0, help="after --when, wait this long")
        p.add_argument("--set", action="append", type=set_arg, metavar="FIELD=EXPR")
        p.add_argument("--flag", action="append", choices=sorted(FLAGS))
        p.add_argument("--seal", action="store_true",
                       help="sealed, with a seal made without the keys (see above)")
        p.add_argument("--json", action="store_true", help="end with a JSON summary line")
        p.add_argument("-v", "--verbose", action="store_true", help="print every packet sent")

    sender = "the host the packet claims to come from: a, b, k or an IPv4 address"
    p = sub.add_parser("close", help="CLOSE as one end of a session")
    common(p, sender)
    p.add_argument("--seq", type=parse_expr, default=parse_expr("next"))
    p.add_argument("--reason", type=int, default=1)
    p = sub.add_parser("ack", help="ACK as one end of a session")
    common(p, sender)
    p.add_argument("--ack", type=parse_expr, default=parse_expr("ack"))
    p.add_argument("--sack", type=parse_expr, default=parse_expr("sack"))
    p.add_argument("--window", type=parse_expr, default=parse_expr("window"))
    p.add_argument("--random", action="store_true",
                   help="random ack, sack and window in every packet")
    p = sub.add_parser("data", help="DATA as one end of a session")
    common(p, sender)
    p.add_argument("--seq", type=parse_expr, default=parse_expr("next"))
    p.add_argument("--off", type=parse_expr, default=parse_expr("end"))
    p.add_argument("--len", type=int, default=64)
    p.add_argument("--fill", default="random", help="zero, random or frame:LEN")
    p.add_argument("--seq-step", type=int, default=0)
    p.add_argument("--off-step", type=int, default=0)
    p = sub.add_parser("open", help="OPEN from a host to another")
    common(p, sender)
    p.add_argument("--to", required=True)
    p.add_argument("--service", required=True)
    p.add_argument("--src", type=parse_expr, default=parse_expr("random"),
                   help="the opener's session id: EXPR, 'id' reuses the chosen session's")
    p.add_argument("--src-step", type=int, default=0)
    p.add_argument("--isn", type=parse_expr, default=parse_expr("random"))
    p.add_argument("--window", type=int, default=65536)
    p.add_argument("--max-msg", type=int, default=16384)
    p.add_argument("--max-window", type=int, default=65536,
                   help="the most window the opener promises ever to advertise")
    p.add_argument("--incarnation", type=lambda v: int(v, 0),
                   help="default: the sender's, as it last said it (watch --incarnation-ms)")
    p.add_argument("--incarnation-ms", type=int, default=0,
                   help="watch this long for the sender's incarnation first")
    p = sub.add_parser("pong", help="answer the next PING to a host as that host")
    common(p, sender)
    p.add_argument("--incarnation", type=lambda v: int(v, 0), required=True,
                   help="the incarnation the PONG claims")
    p = sub.add_parser("arp", help="an ARP request, reply or announcement")
    common(p, None)
    p.add_argument("--claim", required=True, help="the IPv4 address claimed")
    p.add_argument("--mac", required=True, help="the MAC claimed for it")
    p.add_argument("--to", default="broadcast", help="a, b, k, an address, or broadcast")
    p.add_argument("--op", choices=("request", "reply", "announce"), default="request")
    p.add_argument("--broadcast", action="store_true",
                   help="request: send to the broadcast MAC even with --to")

    args = ap.parse_args(argv)
    global UDP_PORTS
    first, _, count = args.udp_ports.partition(":")
    UDP_PORTS = range(int(first), int(first) + int(count or 1))
    if args.seed is not None:
        random.seed(args.seed)
    sock = open_socket(args.iface)
    tracker = Tracker()
    return {"sniff": cmd_sniff, "sessions": cmd_sessions, "close": cmd_close, "ack": cmd_ack,
            "data": cmd_data, "open": cmd_open, "pong": cmd_pong, "arp": cmd_arp}[args.cmd](args, sock, tracker)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
