#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write a pcap of crafted ferry packets with known contents, for testing
the Wireshark dissector (scripts/wireshark/ferry.lua) without daemons.

    ferry_pcap.py OUT.pcap

Packets, in capture order (numbers are tshark's frame numbers):
  1  OPEN   10.77.0.1 session 5 -> 10.77.0.2, isn 100, max 1 MiB, "perf",
            incarnation 0x11223344, largest window 4 MiB
  2  ACCEPT 10.77.0.2 session 9 -> session 5, isn 200, max 64 KiB,
            incarnation 0x55667788, largest window 1 MiB
  3  DATA   5 -> 9 seq 100, stream [0, 51): a 10-byte message, a 20-byte
            RPC request (id 42, type 7), and the first 5 bytes of the
            next frame header
  4  DATA   seq 102, stream [1054, 1654), ahead of seq 101: the last 500
            bytes of the 1500-byte message, then a 92-byte message
  5  DATA   seq 101, stream [51, 1054): the other 3 header bytes and the
            first 1000 bytes of the 1500-byte message
  6  DATA   seq 101 again (a retransmission)
  7  ACK    9 -> 5, ack 103, sack bits 0 and 2, PROBE
  8  DATA   9 -> 5 seq 200, stream [0, 12): a 4-byte message "ok!!"
  9  CLOSE  5 -> 9, reason 1 (CLOSED)
  10 CLOSE_ACK 9 -> 5
  11 REFUSE 10.77.0.2 -> session 6, reason 3 (NO_LISTENER)
  12 DATA   session 11 -> 12 at stream offset 0: one frame whose
            reserved field is not 0
  13 DATA   session 21 -> 22 at stream offset 5000, never seen from its
            start: boundaries unknown
  14 20 bytes: too short for a header
  15 version 9
  16 type 42
  17 OPEN from session 0, service not NUL-terminated
  18 RESET  9 -> 5, ack 103, incarnation 0x55667788
  19 PING   10.77.0.1 -> 10.77.0.2, nonce 777, incarnation 0x11223344
  20 PONG   10.77.0.2 -> 10.77.0.1, ack 777, incarnation 0x55667788
  21 PING   10.77.0.1 -> 10.77.0.2, nonce 778, padded to a 1400-byte IP
            packet: a path MTU probe
  22 DATA   5 -> 9 seq 101 as fragment 0 of 2 (the path shrank): a
            4-byte fragment header, then stream [51, 553), the first 502
            of the packet's 1003 bytes
Secure channels (a seal: key id, counter, a tag; the tags are not real,
the dissector cannot check them):
  23 HS_INIT   A -> B, initiator's index 0x1111, 168 bytes
  24 HS_RESP   B -> A, to index 0x1111 from 0x2222, 120 bytes
  25 HS_REJECT B -> A, to index 0x1111, reason 12 (UNTRUSTED)
  26 KEEPALIVE A -> B sealed: key id 0x2222, counter 0
  27 OPEN      10.77.0.3 is C: A -> C sealed with a plain payload
            (authenticate): session 31, "auth"; key 0x3333, counter 0
  28 ACCEPT    C -> A sealed, plain: session 32; key 0x4444, counter 0
  29 DATA      A -> C sealed, plain: stream [0, 13), the message "hello"
  30 DATA      10.77.0.4 is D: A -> D sealed, ciphertext, session 41 ->
            42, before anything of these hosts says the mode: undecided
            in one pass, encrypt in two
  31 OPEN      A -> D sealed, ciphertext (encrypt): session 41
  32 DATA      A -> D sealed, 100 bytes of ciphertext, counter 2
  33 CLOSE     A -> B sealed, 10 bytes after the header: the seal cut
  34 KEEPALIVE A -> B without the sealed flag
  35 HS_INIT   A -> B, 100 bytes: too short
  36 HS_REJECT B -> A, reason 3: not one a handshake is refused for
  37 PING      A -> D sealed, padded to a 1400-byte IP packet, ciphertext
"""
import struct
import sys

A, B, C, D = "10.77.0.1", "10.77.0.2", "10.77.0.3", "10.77.0.4"
MAC = {ip: b"\x02\x77\x00\x00\x00" + bytes([i + 1]) for i, ip in enumerate((A, B, C, D))}
SEALED = 0x4
PORT = 31850


def hdr(typ, dst, src, aux=0, seq=0, ack=0, sack=0, window=65536, flags=0, version=3,
        ts=1000, ts_echo=0, ack_delay=0):
    return struct.pack("!BBHIIIIIQIIII", version, typ, flags, dst, src, aux, seq, ack, sack,
                       window, ts, ts_echo, ack_delay)


def frame(msg, flags=0, zero=0):
    return struct.pack("!IHH", len(msg), flags, zero) + msg


def seal(key_id, counter):
    """The trailer of a sealed packet: key id, counter, and a tag (fixed
    bytes here: nothing checks them)."""
    return struct.pack("!IQ", key_id, counter) + bytes(range(0xa0, 0xb0))


def cipher(n, seed):
    """n bytes that look like ciphertext (no run of zeros)."""
    return bytes((seed * 53 + i * 197 + (i * i) % 251) % 255 + 1 for i in range(n))


def ip_sum(b):
    s = sum(struct.unpack("!10H", b))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def packet(src, dst, payload):
    udp = struct.pack("!HHHH", PORT, PORT, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    ip = ip[:10] + struct.pack("!H", ip_sum(ip)) + ip[12:]
    return MAC[dst] + MAC[src] + b"\x08\x00" + ip + udp


def main(out):
    # the A -> B stream: 10-byte message, RPC request, 1500-byte, 92-byte
    rpc = struct.pack("<BBHiQ", 1, 0, 7, 0, 42) + b"abcd"
    stream = frame(b"0123456789") + frame(rpc, flags=1) + frame(bytes(range(256)) * 5 +
                                                                bytes(220)) + frame(b"z" * 92)
    assert len(stream) == 1654
    service = b"perf".ljust(32, b"\0")
    open_tail = struct.pack("!II8x", 0x11223344, 4 << 20)
    accept = struct.pack("!II8x", 0x55667788, 1 << 20)
    pkts = [
        (A, B, hdr(1, 0, 5, aux=1 << 20, seq=100) + service + open_tail),
        (B, A, hdr(2, 5, 9, aux=65536, seq=200, ack=100) + accept),
        (A, B, hdr(4, 9, 5, aux=0, seq=100, ack=200) + stream[0:51]),
        (A, B, hdr(4, 9, 5, aux=1054, seq=102, ack=200) + stream[1054:1654]),
        (A, B, hdr(4, 9, 5, aux=51, seq=101, ack=200) + stream[51:1054]),
        (A, B, hdr(4, 9, 5, aux=51, seq=101, ack=200) + stream[51:1054]),
        (B, A, hdr(6, 5, 9, seq=200, ack=103, sack=0b101, flags=1)),
        (B, A, hdr(4, 5, 9, aux=0, seq=200, ack=103) + frame(b"ok!!")),
        (A, B, hdr(5, 9, 5, aux=1, seq=103, ack=201)),
        (B, A, hdr(7, 5, 9)),
        (B, A, hdr(3, 6, 0, aux=3)),
        (A, B, hdr(4, 12, 11, aux=0, seq=1) + frame(b"xy", zero=1)),
        (A, B, hdr(4, 22, 21, aux=5000, seq=7) + b"q" * 40),
        (A, B, b"\x02\x04" + b"\0" * 18),
        (A, B, hdr(4, 9, 5, version=9)),
        (A, B, hdr(42, 9, 5)),
        (A, B, hdr(1, 0, 0, seq=1) + b"x" * 32 + open_tail),
        (B, A, hdr(8, 5, 9, aux=0x55667788, ack=103)),
        (A, B, hdr(9, 0, 0, aux=0x11223344, seq=777)),
        (B, A, hdr(10, 0, 0, aux=0x55667788, ack=777)),
        (A, B, hdr(9, 0, 0, aux=0x11223344, seq=778) + bytes(1400 - 28 - 48)),
        (A, B, hdr(4, 9, 5, aux=51, seq=101, ack=200, flags=2) + struct.pack("!HBB", 1003, 0, 2)
         + stream[51:553]),
        # secure channels
        (A, B, hdr(12, 0, 0x1111, window=0, ts=0) + bytes(range(32)) + cipher(48, 1)
         + cipher(40, 2)),
        (B, A, hdr(13, 0x1111, 0x2222, window=0, ts=0) + bytes(range(32, 64)) + cipher(40, 3)),
        (B, A, hdr(14, 0x1111, 0, aux=12, window=0, ts=0)),
        (A, B, hdr(11, 0, 0, window=0, ts=0, flags=SEALED) + seal(0x2222, 0)),
        (A, C, hdr(1, 0, 31, aux=1 << 20, seq=300, flags=SEALED) + b"auth".ljust(32, b"\0")
         + open_tail + seal(0x3333, 0)),
        (C, A, hdr(2, 31, 32, aux=65536, seq=400, ack=300, flags=SEALED) + accept
         + seal(0x4444, 0)),
        (A, C, hdr(4, 32, 31, aux=0, seq=300, ack=400, flags=SEALED) + frame(b"hello")
         + seal(0x3333, 1)),
        (A, D, hdr(4, 42, 41, aux=0, seq=500, ack=600, flags=SEALED) + cipher(60, 4)
         + seal(0x5555, 1)),
        (A, D, hdr(1, 0, 41, aux=1 << 20, seq=500, flags=SEALED) + cipher(48, 5)
         + seal(0x5555, 0)),
        (A, D, hdr(4, 42, 41, aux=60, seq=501, ack=600, flags=SEALED) + cipher(100, 6)
         + seal(0x5555, 2)),
        (A, B, hdr(5, 9, 5, aux=1, seq=104, flags=SEALED) + seal(0x2222, 1)[:10]),
        (A, B, hdr(11, 0, 0, window=0, ts=0)),
        (A, B, hdr(12, 0, 0x1111, window=0, ts=0) + bytes(52)),
        (B, A, hdr(14, 0x1111, 0, aux=3, window=0, ts=0)),
        (A, D, hdr(9, 0, 0, aux=0x11223344, seq=779, flags=SEALED) + cipher(1400 - 28 - 48 - 28, 7)
         + seal(0x5555, 3)),
    ]
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, (src, dst, payload) in enumerate(pkts):
            p = packet(src, dst, payload)
            f.write(struct.pack("<IIII", 1700000000, i * 1000, len(p), len(p)) + p)


if __name__ == "__main__":
    main(sys.argv[1])
