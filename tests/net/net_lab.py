#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Kernel-side helpers for the netns test of ferry's net stack.

  net_lab.py bad-frames IFACE DST_MAC SRC_IP DST_IP UDP_PORT
      Send one batch of malformed frames through an AF_PACKET socket on
      IFACE and print, for each drop counter they should raise,
      "expect net.drop.<name> <count>".
  net_lab.py udp-echo SRC_IP DST_IP UDP_PORT
      Send one ferry datagram from SRC_IP through the kernel's UDP stack
      and wait (3 s at most) for the same payload to come back.
  net_lab.py tx-csum-off IFACE
      Turn off TX checksum offload on IFACE (what `ethtool -K IFACE tx off`
      does), so the kernel puts complete UDP checksums on the wire.
  net_lab.py arp-spoof IFACE VICTIM_MAC VICTIM_IP CLAIMED_IP SECONDS
      Claim CLAIMED_IP for IFACE's MAC at the victim, every 10 ms for
      SECONDS (or until SIGTERM): an unsolicited reply to the victim, a
      gratuitous ARP as a request and as a reply, and a request for the
      victim's address with CLAIMED_IP as its sender. Prints
      "arp-spoof ROUNDS rounds, FRAMES frames".
"""
import ctypes
import fcntl
import signal
import socket
import struct
import sys
import time

# The first byte of a ferry header (daemon/core/wire.h: FERRY_WIRE_VERSION).
WIRE_VERSION = 3


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip4(s):
    return socket.inet_aton(s)


def ipv4(src, dst, proto, payload, ttl=64, frag=0x4000, ver_ihl=0x45, total=None, bad_csum=False):
    total = 20 + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", ver_ihl, 0, total, 0x1234, frag, ttl, proto, 0, src, dst)
    c = csum(h)
    if bad_csum:
        c ^= 0x00FF
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def udp(src, dst, sport, dport, payload, bad_csum=False, length=None):
    length = 8 + len(payload) if length is None else length
    h = struct.pack("!HHHH", sport, dport, length, 0)
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, 17, 8 + len(payload))
    c = csum(pseudo + h + payload) or 0xFFFF
    if bad_csum:
        c ^= 0x0F0F
    return h[:6] + struct.pack("!H", c) + payload


def icmp(typ, payload, bad_csum=False):
    h = struct.pack("!BBHHH", typ, 0, 0, 0x4242, 1)
    c = csum(h + payload)
    if bad_csum:
        c ^= 0x1111
    return h[:2] + struct.pack("!H", c) + h[4:] + payload


def arp(op, sha, spa, tha, tpa, hlen=6):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, hlen, 4, op, sha, spa, tha, tpa)


def bad_frames(iface, dst_mac, src_ip, dst_ip, port):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    me = s.getsockname()[4][:6]
    dmac, src, dst = mac(dst_mac), ip4(src_ip), ip4(dst_ip)
    other = ip4(dst_ip.rsplit(".", 1)[0] + ".99")
    # at least one ferry header (48 bytes) long, so that a frame built to
    # fail one check is not caught by the length check first
    ferry = bytes([WIRE_VERSION]) + b"ferry-test-frame-".ljust(47, b"-")

    def eth(payload, dstm=dmac, etype=0x0800):
        return dstm + me + struct.pack("!H", etype) + payload

    def good_udp(payload=ferry, dport=port, **kw):
        return udp(src, dst, 40000, dport, payload, **kw)

    # No IPv4 fragments here: net_af_packet's socket joins a fanout group
    # with PACKET_FANOUT_FLAG_DEFRAG, so the kernel reassembles (or holds)
    # fragments before ferry sees them. The unit tests cover the check.
    frames = [
        ("ipv4_bad_checksum", eth(ipv4(src, dst, 17, good_udp(), bad_csum=True))),
        ("ipv4_bad_checksum", eth(ipv4(src, dst, 17, good_udp(), bad_csum=True))),
        ("ipv4_ttl_expired", eth(ipv4(src, dst, 17, good_udp(), ttl=0))),
        ("ipv4_not_our_ip", eth(ipv4(src, other, 17, udp(src, other, 40000, port, ferry)))),
        ("ipv4_bad_version", eth(ipv4(src, dst, 17, good_udp(), ver_ihl=0x65))),
        ("ipv4_bad_ihl", eth(ipv4(src, dst, 17, good_udp(), ver_ihl=0x44))),
        ("ipv4_bad_total_length", eth(ipv4(src, dst, 17, good_udp(), total=200))),
        ("ipv4_bad_protocol", eth(ipv4(src, dst, 6, b"\0" * 20))),
        ("ipv4_bad_source", eth(ipv4(ip4("127.0.0.1"), dst, 17,
                                     udp(ip4("127.0.0.1"), dst, 40000, port, ferry)))),
        ("udp_bad_checksum", eth(ipv4(src, dst, 17, good_udp(bad_csum=True)))),
        ("udp_wrong_port", eth(ipv4(src, dst, 17, good_udp(dport=9)))),
        ("udp_bad_length", eth(ipv4(src, dst, 17, good_udp(length=9)))),
        ("ferry_bad_version", eth(ipv4(src, dst, 17, good_udp(payload=b"\x07" + b"v" * 47)))),
        ("ferry_too_short", eth(ipv4(src, dst, 17, good_udp(payload=b"")))),
        ("icmp_bad_checksum", eth(ipv4(src, dst, 1, icmp(8, b"ping", bad_csum=True)))),
        ("icmp_not_echo", eth(ipv4(src, dst, 1, icmp(13, b"\0" * 12)))),
        ("eth_unknown_type", eth(b"\0" * 46, etype=0x88B5)),
        ("eth_not_our_mac", eth(ipv4(src, dst, 17, good_udp()), dstm=mac("02:00:00:00:00:99"))),
        ("truncated", eth(b"\x45\0\0\x14" + b"\0" * 6)),
        ("arp_malformed", eth(arp(1, me, src, b"\0" * 6, dst, hlen=8), dstm=b"\xff" * 6,
                              etype=0x0806)),
        ("arp_not_for_us", eth(arp(1, me, src, b"\0" * 6, other), dstm=b"\xff" * 6,
                               etype=0x0806)),
        ("arp_ip_conflict", eth(arp(2, mac("02:00:00:00:00:98"), dst, dmac, dst), etype=0x0806)),
        # 802.1Q-tagged, so the kernel lets a packet socket send MTU + 18
        ("oversize", dmac + me + struct.pack("!HHH", 0x8100, 1, 0x0800) + b"\0" * 1500),
    ]
    expect = {}
    for name, f in frames:
        s.send(f)
        expect[name] = expect.get(name, 0) + 1
        time.sleep(0.002)
    for name, n in sorted(expect.items()):
        print("expect net.drop.%s %d" % (name, n))


def udp_echo(src_ip, dst_ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src_ip, 0))
    s.settimeout(3.0)
    payload = bytes([WIRE_VERSION]) + b"echo from %s" % src_ip.encode()
    s.sendto(payload, (dst_ip, port))
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        print("udp-echo %s -> %s: no reply in 3 s" % (src_ip, dst_ip))
        return 1
    ok = data == payload and peer == (dst_ip, port)
    print("udp-echo %s -> %s: %d bytes back from %s:%d%s"
          % (src_ip, dst_ip, len(data), peer[0], peer[1], "" if ok else " (MISMATCH)"))
    return 0 if ok else 1


def tx_csum_off(iface):
    SIOCETHTOOL = 0x8946
    ETHTOOL_STXCSUM = 0x17
    value = ctypes.create_string_buffer(struct.pack("II", ETHTOOL_STXCSUM, 0))
    ifreq = struct.pack("16sP", iface.encode(), ctypes.addressof(value)).ljust(40, b"\0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifreq)


def arp_spoof(iface, victim_mac, victim_ip, claimed_ip, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    me = s.getsockname()[4][:6]
    vmac, vip, claimed = mac(victim_mac), ip4(victim_ip), ip4(claimed_ip)
    bcast, zero = b"\xff" * 6, b"\0" * 6

    def eth(dst, payload):
        return dst + me + struct.pack("!H", 0x0806) + payload

    frames = [
        eth(vmac, arp(2, me, claimed, vmac, vip)),       # "claimed is at me", unasked
        eth(bcast, arp(1, me, claimed, zero, claimed)),  # gratuitous, as a request
        eth(bcast, arp(2, me, claimed, bcast, claimed)),  # gratuitous, as a reply
        eth(bcast, arp(1, me, claimed, zero, vip)),      # "who has victim? tell claimed"
    ]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    rounds = 0
    end = time.monotonic() + seconds
    while not stop and time.monotonic() < end:
        for f in frames:
            s.send(f)
        rounds += 1
        time.sleep(0.01)
    print("arp-spoof %d rounds, %d frames" % (rounds, rounds * len(frames)), flush=True)


def main(argv):
    if len(argv) == 7 and argv[1] == "bad-frames":
        bad_frames(argv[2], argv[3], argv[4], argv[5], int(argv[6]))
        return 0
    if len(argv) == 3 and argv[1] == "tx-csum-off":
        tx_csum_off(argv[2])
        return 0
    if len(argv) == 5 and argv[1] == "udp-echo":
        return udp_echo(argv[2], argv[3], int(argv[4]))
    if len(argv) == 7 and argv[1] == "arp-spoof":
        arp_spoof(argv[2], argv[3], argv[4], argv[5], float(argv[6]))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
