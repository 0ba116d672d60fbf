-- SPDX-License-Identifier: BSD-3-Clause
--
-- Wireshark / tshark dissector for ferry, the transport ferryd daemons
-- speak to each other over UDP (port 31850 by default).
--
--   tshark -X lua_script:ferry.lua -r capture.pcap -V
--   wireshark -X lua_script:ferry.lua capture.pcap
-- or copy it to ~/.local/lib/wireshark/plugins/ to load it always.
-- The port (or a range) is the preference ferry.ports.
--
-- A ferry packet is a 48-byte header (ferryd's daemon/core/wire.h, all
-- fields in network byte order, version 3) and a payload: in OPEN the
-- service, the sender's incarnation and its largest window; in ACCEPT the
-- last two; in DATA a slice of the session's stream. Each direction of a session is a stream
-- of frames, one per message: an 8-byte frame header (length, flags,
-- zero) and the message. A DATA packet's aux is the stream offset of its
-- first byte; slices are cut where the window ends, not where frames do,
-- so a packet can begin in the middle of a message or of a frame header.
-- A DATA packet with the frag flag is one piece of a packet resent after
-- the path MTU shrank: a 4-byte fragment header (the packet's length, this
-- piece's index, the count), then its stream bytes at aux. A PING may be
-- padded to the size a path MTU probe tries.
--
-- Secure channels (security.mode authenticate or encrypt; ferryd's
-- daemon/core/SECURITY.md): two ferryds first run a Noise IK handshake,
-- HS_INIT and HS_RESP (or HS_REJECT with a reason), each after a plain
-- ferry header; the dissector shows their parts (ephemeral key, encrypted
-- static key and payload), which only the two ferryds can read. Every
-- other packet between them is then sealed: the sealed flag, and after the
-- payload a 28-byte seal (key id 4, counter 8, tag 16). The header stays
-- readable either way. With authenticate the payload is plain and is
-- dissected as usual; with encrypt it is ciphertext, shown as such. Nothing
-- on the wire says which: the key id is a random index, the flag is the
-- same, and the mode travels inside the handshake's encryption. The
-- preference ferry.security says it; its default, auto, tells them apart
-- per pair of hosts from the first sealed OPEN, ACCEPT or padded PING of a
-- capture: their reserved bytes (and a probe's padding) are zeros in
-- plain, random in ciphertext (a wrong guess has odds of 2^-64). Until one
-- is seen, a sealed payload is shown as such, undecided (with two passes,
-- a later one decides it).
--
-- To find frames, the dissector follows each direction's stream from its
-- start (offset 0, announced by OPEN or ACCEPT) in stream order: packets
-- that arrive out of order are kept until the gap is filled, and with
-- two passes (tshark -2, or Wireshark's GUI, which revisits packets) they
-- too are shown cut into frames. A capture that starts in the middle of a
-- session shows stream bytes without frame boundaries.
--
-- Adding to the protocol: a header field is one entry in HEADER, a packet
-- type one entry in TYPES (with its aux meaning and payload fields), a flag
-- one entry in FLAGS, a reason one entry in REASONS, a frame flag one entry
-- in FRAME_FLAGS.

local ferry = Proto("ferry", "ferry transport")

local WIRE_VERSIONS = { [3] = true } -- FERRY_WIRE_VERSION values we know
local DEFAULT_PORTS = "31850"
local FRAME_HDR = 8
local RPC_HDR = 16
-- packets kept per stream while waiting for a gap to fill: a capture that
-- lost a packet for good would otherwise keep the rest of the stream
local PENDING_MAX = 4096

-- ---- the tables ------------------------------------------------------------

-- enum ferry_reason (ferry.h): why a session was refused or closed
local REASONS = {
	[1] = "CLOSED: the peer closed it",
	[2] = "PEER_GONE: the peer's process ended",
	[3] = "NO_LISTENER: nobody listens on that service",
	[4] = "REFUSED: the listener refused it",
	[5] = "LIMIT: a daemon limit (sessions, memory)",
	[6] = "DAEMON_GONE: ferryd ended",
	[7] = "PROTOCOL: the peer broke the protocol",
	[8] = "TIMEOUT: the peer stopped answering",
	[9] = "UNREACHABLE: no route or no ARP answer",
	[10] = "SHUTDOWN: ferryd is shutting down",
	[11] = "RESET: the peer's ferryd no longer knows the session (it restarted)",
	[12] = "UNTRUSTED: a ferryd does not trust the other's key, or not from that address",
	[13] = "SECURITY: the two ferryds' security.mode differ",
}
-- the reasons a handshake is refused with (HS_REJECT)
local HS_REASONS = { [4] = true, [12] = true, [13] = true }

-- What aux means, by packet type: a field of its own for each meaning.
local AUX = {
	offset = { "Stream offset", base.DEC, nil,
		"Stream offset of the payload's first byte (low 32 bits)" },
	reason = { "Reason", base.DEC, REASONS, "Why the session was refused or closed" },
	max_message = { "Largest message", base.DEC, nil,
		"The sender's ipc.max_message_size; the session takes the smaller of both ends'" },
	incarnation = { "Incarnation", base.HEX, nil,
		"The sending ferryd's incarnation, drawn at each start: another value means it restarted" },
}

-- enum ferry_wire_type. aux: the AUX entry its aux is; payload: "stream"
-- for DATA, else a list of fields in order: { name, length, kind, label,
-- description, field = an existing field to show it as } (kind "stringz":
-- NUL-terminated within length; "uint32": big-endian; "bytes").
local INCARNATION = { "incarnation", 4, "uint32", "Incarnation", "", field = "aux_incarnation" }
local MAX_WINDOW = { "max_window", 4, "uint32", "Largest window",
	"The most stream bytes the sender will ever advertise beyond what it has received" }
local RESERVED = { "reserved", 8, "bytes", "Reserved", "Zero" }
-- Noise IK's messages (Noise_IK_25519_ChaChaPoly_SHA256), after the header
local HS_EPHEMERAL = { "hs.ephemeral", 32, "bytes", "Ephemeral key",
	"The sender's ephemeral X25519 public key for this handshake (Noise e)" }
local HS_PAYLOAD = { "hs.payload", 40, "bytes", "Encrypted handshake payload",
	"Index, incarnation, security mode and AEADs (24 bytes), encrypted and tagged: only the " ..
	"two ferryds can read them" }
local TYPES = {
	[1] = { "OPEN", "open a session to a service", aux = "max_message",
		payload = { { "service", 32, "stringz", "Service",
			"The service to open (FERRY_SERVICE_MAX bytes, NUL-terminated)" },
			INCARNATION, MAX_WINDOW, RESERVED } },
	[2] = { "ACCEPT", "the service accepted: src_session is its id; ack echoes the OPEN's seq",
		aux = "max_message", payload = { INCARNATION, MAX_WINDOW, RESERVED } },
	[3] = { "REFUSE", "no such service, refused, or a limit; ack echoes the OPEN's seq",
		aux = "reason" },
	[4] = { "DATA", "a slice of the message stream", aux = "offset", payload = "stream" },
	[5] = { "CLOSE", "the session ended; seq: the sender's next packet number", aux = "reason" },
	[6] = { "ACK", "ack fields only (PROBE: answer with an ACK)" },
	[7] = { "CLOSE_ACK", "the CLOSE arrived; ack echoes its seq" },
	[8] = { "RESET", "no such session here: ack echoes the seq of the packet that named it",
		aux = "incarnation" },
	[9] = { "PING", "is the peer's ferryd there, and which incarnation? seq: a nonce; " ..
		"padded: a path MTU probe", aux = "incarnation", payload = "padding" },
	[10] = { "PONG", "answers a PING: ack echoes its nonce", aux = "incarnation" },
	[11] = { "KEEPALIVE", "sealed, nothing else: confirms new keys", sealed = true },
	[12] = { "HS_INIT", "handshake message 1; src_session: the initiator's index",
		handshake = 168, payload = { HS_EPHEMERAL,
			{ "hs.static", 48, "bytes", "Encrypted static key",
				"The initiator's static X25519 public key, encrypted and tagged (Noise s)" },
			HS_PAYLOAD } },
	[13] = { "HS_RESP", "handshake message 2; dst_session: the initiator's index, " ..
		"src_session: the responder's", handshake = 120, payload = { HS_EPHEMERAL, HS_PAYLOAD } },
	[14] = { "HS_REJECT", "the handshake is refused (not authenticated); dst_session: the " ..
		"initiator's index", handshake = 48, aux = "reason" },
}

-- ferry_wire_hdr.flags bits: { mask, name, description }
local FLAGS = {
	{ 0x1, "probe", "The receiver acks at once (keepalive, window probe)" },
	{ 0x2, "frag", "DATA: one fragment of packet seq, resent in pieces after the path MTU shrank" },
	{ 0x4, "sealed", "A seal follows the payload: key id, counter, tag (secure channels)" },
}
local FLAG_FRAG, FLAG_SEALED = 0x2, 0x4
-- struct ferry_wire_seal and the tag, after a sealed packet's payload
local SEAL_LEN = 4 + 8 + 16
-- struct ferry_wire_frag, before a fragment's bytes
local FRAG_HDR = 4
local FRAG_MAX = 32
local PKT_MAX = 9001 - 28 - 48

-- ferry_wire_frame.flags bits (the record's FERRY_RECF_*)
local FRAME_FLAGS = {
	{ 0x1, "rpc", "RPC: the message starts with a 16-byte RPC header" },
}

-- The header, in wire order: { name, length, label, base, description }.
-- "type" and "flags" take their value names from the tables above.
local HEADER = {
	{ "version", 1, "Version", base.DEC, "Wire protocol version (FERRY_WIRE_VERSION)" },
	{ "type", 1, "Type", base.DEC, "Packet type" },
	{ "flags", 2, "Flags", base.HEX, "FWF_* bits" },
	{ "dst_session", 4, "Destination session", base.DEC,
		"The receiver's session id, which it looks the session up by; 0 in OPEN, PING, PONG, " ..
		"KEEPALIVE; HS_RESP, HS_REJECT: the initiator's handshake index" },
	{ "src_session", 4, "Source session", base.DEC,
		"The sender's session id (random); 0 in REFUSE, PING, PONG; HS_INIT, HS_RESP: the " ..
		"sender's handshake index" },
	{ "aux", 4, "Aux", base.DEC,
		"DATA: stream offset; OPEN, ACCEPT: largest message; REFUSE, CLOSE, HS_REJECT: reason; " ..
		"RESET, PING, PONG: the sender's incarnation" },
	{ "seq", 4, "Sequence", base.DEC,
		"DATA: packet number; OPEN, ACCEPT: the sender's first packet number; CLOSE: its " ..
		"next; PING: a nonce" },
	{ "ack", 4, "Ack", base.DEC, "Next packet number the sender expects" },
	{ "sack", 8, "Selective ack", base.HEX, "Bit i: packet ack + 1 + i has arrived" },
	{ "window", 4, "Window", base.DEC,
		"Stream offset the peer may send up to (low 32 bits)" },
	{ "ts", 4, "Timestamp", base.DEC, "The sender's clock, ns (low 32 bits)" },
	{ "ts_echo", 4, "Timestamp echo", base.DEC,
		"ts of the packet this acks, 0: none" },
	{ "ack_delay", 4, "Ack delay", base.DEC,
		"ns from that packet's arrival to this packet's sending" },
}

-- ---- fields and expert infos -----------------------------------------------

local F = {}
local HDR_LEN = 0
local function bits_desc(tbl)
	local names = {}
	for _, b in ipairs(tbl) do names[#names + 1] = b[2] end
	return table.concat(names, ", ")
end
local type_names = {}
for code, t in pairs(TYPES) do type_names[code] = t[1] end
for _, h in ipairs(HEADER) do
	local name, len, label, b, desc = h[1], h[2], h[3], h[4], h[5]
	local vals = name == "type" and type_names or nil
	if name == "flags" then desc = desc .. ": " .. bits_desc(FLAGS) end
	local ctor = ({ [1] = ProtoField.uint8, [2] = ProtoField.uint16, [4] = ProtoField.uint32,
		[8] = ProtoField.uint64 })[len]
	F[name] = ctor("ferry." .. name, label, b, vals, nil, desc)
	HDR_LEN = HDR_LEN + len
end
for _, b in ipairs(FLAGS) do
	F["flag_" .. b[2]] = ProtoField.bool("ferry.flags." .. b[2], b[2], 16, nil, b[1], b[3])
end
for name, a in pairs(AUX) do
	F["aux_" .. name] = ProtoField.uint32("ferry." .. name, a[1], a[2], a[3], nil, a[4])
end
for _, t in pairs(TYPES) do
	for _, p in ipairs(type(t.payload) == "table" and t.payload or {}) do
		if not p.field then
			if p[3] == "uint32" then
				F["pl_" .. p[1]] = ProtoField.uint32("ferry." .. p[1], p[4], base.DEC, nil, nil, p[5])
			else
				local ctor = p[3] == "stringz" and ProtoField.string or ProtoField.bytes
				F["pl_" .. p[1]] = ctor("ferry." .. p[1], p[4],
					p[3] == "stringz" and base.ASCII or base.NONE, p[5])
			end
		end
	end
end
F.sack_seq = ProtoField.uint32("ferry.sack.seq", "Also arrived", base.DEC, nil, nil,
	"A packet number the sack bitmap says has arrived")
F.stream = ProtoField.bytes("ferry.stream", "Stream bytes", base.NONE,
	"The payload: a slice of the session's stream of frames")
F.stream_start = ProtoField.uint64("ferry.stream.start", "Stream start", base.DEC, nil, nil,
	"Stream offset of the payload's first byte, widened to 64 bits")
F.stream_end = ProtoField.uint64("ferry.stream.end", "Stream end", base.DEC, nil, nil,
	"Stream offset just past the payload")
F.stream_cont = ProtoField.bytes("ferry.stream.cont", "Continued message", base.NONE,
	"The rest of a message whose frame began in an earlier packet")
F.stream_unknown = ProtoField.bytes("ferry.stream.unknown", "Stream bytes, boundaries unknown",
	base.NONE, "Where frames begin is not known (capture started mid-stream, or a gap)")
F.frame = ProtoField.bytes("ferry.frame", "Frame", base.NONE, "One message of the stream")
F.frame_offset = ProtoField.uint64("ferry.frame.offset", "Frame offset", base.DEC, nil, nil,
	"Stream offset where the frame (its header) begins")
F.frame_len = ProtoField.uint32("ferry.frame.len", "Message length", base.DEC, nil, nil,
	"Length of the message after the 8-byte frame header")
F.frame_flags = ProtoField.uint16("ferry.frame.flags", "Frame flags", base.HEX, nil, nil,
	"The record's FERRY_RECF_* bits: " .. bits_desc(FRAME_FLAGS))
for _, b in ipairs(FRAME_FLAGS) do
	F["frame_flag_" .. b[2]] = ProtoField.bool("ferry.frame.flags." .. b[2], b[2], 16, nil,
		b[1], b[3])
end
F.frame_zero = ProtoField.uint16("ferry.frame.zero", "Reserved", base.HEX, nil, nil,
	"Always 0")
F.frame_msg = ProtoField.bytes("ferry.frame.message", "Message", base.NONE,
	"The message, or the part of it in this packet")
F.rpc_kind = ProtoField.uint8("ferry.rpc.kind", "RPC kind", base.DEC,
	{ [1] = "request", [2] = "response" }, nil,
	"ferry_rpc_hdr, in the sending host's byte order (little-endian on x86)")
F.rpc_type = ProtoField.uint16("ferry.rpc.type", "RPC type", base.DEC, nil, nil,
	"The request type the caller chose")
F.rpc_status = ProtoField.int32("ferry.rpc.status", "RPC status", base.DEC, nil, nil,
	"Response: 0, or -errno from the server side")
F.rpc_id = ProtoField.uint64("ferry.rpc.id", "RPC id", base.DEC, nil, nil,
	"Chosen by the caller, echoed in the response")
F.frag_pkt_len = ProtoField.uint16("ferry.frag.pkt_len", "Packet length", base.DEC, nil, nil,
	"Stream bytes of the whole packet this fragment is part of (at most 8925)")
F.frag_index = ProtoField.uint8("ferry.frag.index", "Fragment", base.DEC, nil, nil,
	"This fragment's index: it carries the packet's bytes from index x ceil(length / count)")
F.frag_count = ProtoField.uint8("ferry.frag.count", "Fragments", base.DEC, nil, nil,
	"How many fragments the packet was resent in (2 to 32)")
F.padding = ProtoField.bytes("ferry.padding", "Padding", base.NONE,
	"Ignored bytes that make a PING as large as the path MTU it probes")
F.seal_key_id = ProtoField.uint32("ferry.seal.key_id", "Key id", base.HEX, nil, nil,
	"The receiver's index of the keys the packet is sealed with (from its handshake)")
F.seal_counter = ProtoField.uint64("ferry.seal.counter", "Counter", base.DEC, nil, nil,
	"The sender's packet count under those keys, from 0: the AEAD nonce, and what the " ..
	"receiver's replay window judges")
F.seal_tag = ProtoField.bytes("ferry.seal.tag", "Tag", base.NONE,
	"The AEAD's 16-byte tag over header and payload (AES-256-GCM or ChaCha20-Poly1305)")
F.seal_mode = ProtoField.string("ferry.seal.mode", "Security mode", base.NONE,
	"How the sealed payload is read (encrypt: ciphertext; authenticate: plain), and why")
F.encrypted = ProtoField.bytes("ferry.encrypted", "Encrypted payload", base.NONE,
	"The payload, encrypted (security.mode encrypt): its length is the plaintext's")
F.sealed_undecided = ProtoField.bytes("ferry.sealed.undecided", "Sealed payload, mode undecided",
	base.NONE, "Encrypted or plain: no packet of these hosts has told yet (ferry.security)")

local fields = {}
for _, f in pairs(F) do fields[#fields + 1] = f end
ferry.fields = fields

local E = {
	short = ProtoExpert.new("ferry.short", "Packet shorter than the ferry header",
		expert.group.MALFORMED, expert.severity.ERROR),
	version = ProtoExpert.new("ferry.bad_version", "Unknown wire version",
		expert.group.MALFORMED, expert.severity.ERROR),
	type = ProtoExpert.new("ferry.bad_type", "Unknown packet type",
		expert.group.MALFORMED, expert.severity.ERROR),
	malformed = ProtoExpert.new("ferry.malformed", "Malformed ferry packet",
		expert.group.MALFORMED, expert.severity.ERROR),
	odd = ProtoExpert.new("ferry.unexpected", "Unexpected value",
		expert.group.PROTOCOL, expert.severity.WARN),
	unknown_bounds = ProtoExpert.new("ferry.no_frames", "Frame boundaries unknown",
		expert.group.SEQUENCE, expert.severity.NOTE),
	retransmit = ProtoExpert.new("ferry.retransmission", "Stream bytes seen before",
		expert.group.SEQUENCE, expert.severity.NOTE),
	undecided = ProtoExpert.new("ferry.sealed_undecided", "Sealed payload: encrypted or plain?",
		expert.group.UNDECODED, expert.severity.NOTE),
}
ferry.experts = { E.short, E.version, E.type, E.malformed, E.odd, E.unknown_bounds,
	E.retransmit, E.undecided }

-- ---- stream state ----------------------------------------------------------

-- streams[key]: one direction of one session, key "src/sid>dst":
--   frontier  stream bytes [0, frontier) seen in order
--   at[off]   where frames stand at stream offset off: { start = the next
--             frame header's offset (>= off, or < off while its header is
--             cut: hdr holds its first bytes), msg = { start, len } of the
--             message whose body covers off }
--   pending   out-of-order packets: pending[off] = payload string, at
--             most PENDING_MAX of them (npending)
--   isn       the first packet number from OPEN or ACCEPT
-- pkts[number]: { key, off } of every DATA packet, for later passes.
local streams, pkts = {}, {}
-- Secure channels, with ferry.security auto: chan_mode["ip ip"] (the two
-- addresses in order) = { mode = SEC_*, from = the packet that told last,
-- first = { mode, from } of the first that told }; pkt_mode[number] =
-- { mode, how } (mode nil: undecided), so that later passes read a packet
-- as the first did, and one undecided then as the first to tell says.
local chan_mode, pkt_mode = {}, {}

function ferry.init()
	streams, pkts, chan_mode, pkt_mode = {}, {}, {}, {}
end

local function u32(s, i) -- big-endian from a Lua string, 1-based
	local a, b, c, d = s:byte(i, i + 3)
	return ((a * 256 + b) * 256 + c) * 256 + d
end

local TWO32 = 4294967296

-- The 64-bit offset nearest ref whose low 32 bits are v (ferry_wire_widen).
local function widen(ref, v)
	local d = (v - ref % TWO32) % TWO32
	if d >= TWO32 / 2 then d = d - TWO32 end
	return ref + d
end

-- Cut data (stream bytes from offset off) into frames, starting from the
-- state at off. Returns the frames that begin or go on in data, each
-- { start, len, flags, zero } (a header cut at the end of data: { start,
-- cut = true }), and the state at the end of data.
local function walk(state, off, data)
	local frames, stop = {}, off + #data
	local pos, hdr, msg = state.start, state.hdr or "", state.msg
	while pos < stop do
		-- a header begun in the previous packet has its first bytes in
		-- hdr: the rest is at the start of data (pos + #hdr == off)
		local from = pos + #hdr - off
		local have = hdr .. data:sub(from + 1, from + FRAME_HDR - #hdr)
		if #have < FRAME_HDR then
			frames[#frames + 1] = { start = pos, cut = true }
			return frames, { start = pos, hdr = have, msg = msg }
		end
		local len = u32(have, 1)
		frames[#frames + 1] = { start = pos, len = len, flags = have:byte(5) * 256 + have:byte(6),
			zero = have:byte(7) * 256 + have:byte(8) }
		msg = { start = pos, len = len }
		pos, hdr = pos + FRAME_HDR + len, ""
	end
	return frames, { start = pos, hdr = "", msg = msg }
end

local function stream_for(key, isn)
	local st = streams[key]
	if st == nil or (isn ~= nil and st.isn ~= nil and st.isn ~= isn) then
		st = { frontier = 0, at = { [0] = { start = 0 } }, pending = {}, npending = 0, isn = isn }
		streams[key] = st
	elseif isn ~= nil and st.isn == nil then
		st.isn = isn
	end
	return st
end

-- First pass: the stream takes a DATA packet at off; in order it moves the
-- frontier (and any held packets it joins up with), ahead of it it waits.
local function stream_take(st, off, data)
	if off > st.frontier then
		if st.pending[off] == nil and st.npending < PENDING_MAX then
			st.pending[off] = data
			st.npending = st.npending + 1
		end
		return
	end
	while off == st.frontier do
		local _, state = walk(st.at[off], off, data)
		off = off + #data
		st.frontier = off
		st.at[off] = st.at[off] or state
		data = st.pending[off]
		if data == nil then break end
		st.pending[off] = nil
		st.npending = st.npending - 1
	end
end

-- ---- secure channels ------------------------------------------------------

local SEC_AUTO, SEC_AUTHENTICATE, SEC_ENCRYPT = 1, 2, 3
local SEC_NAMES = { [SEC_AUTHENTICATE] = "authenticate", [SEC_ENCRYPT] = "encrypt" }

local function zeros(r)
	return not r:raw():find("[^\0]")
end

-- What a sealed payload's own bytes say of the mode: bytes that are zeros
-- in plain (OPEN's and ACCEPT's reserved fields, a probe's padding) are
-- random when encrypted. nil: this packet cannot tell.
local function mode_evidence(typ, tvb, pos)
	local n = tvb:len() - pos
	local r
	if typ == 1 and n >= 48 then r = tvb(pos + 40, 8)
	elseif typ == 2 and n >= 16 then r = tvb(pos + 8, 8)
	elseif typ == 9 and n >= 8 then r = tvb(pos, math.min(n, 64))
	else return nil end
	return zeros(r) and SEC_AUTHENTICATE or SEC_ENCRYPT
end

-- How to read the sealed payload at pos: SEC_AUTHENTICATE, SEC_ENCRYPT or
-- nil (undecided), and why.
local function sealed_mode(tvb, pinfo, typ, pos)
	local pref = ferry.prefs.security
	if pref ~= SEC_AUTO then return pref, "the preference ferry.security" end
	local a, b = tostring(pinfo.src), tostring(pinfo.dst)
	local key = a < b and (a .. " " .. b) or (b .. " " .. a)
	if not pinfo.visited then
		local ev = mode_evidence(typ, tvb, pos)
		local m
		if ev then
			local first = chan_mode[key] and chan_mode[key].first or { mode = ev, from = pinfo.number }
			chan_mode[key] = { mode = ev, from = pinfo.number, first = first }
			m = { ev, ev == SEC_AUTHENTICATE and "zeros where plain has them" or
				"random bytes where plain has zeros" }
		elseif chan_mode[key] then
			m = { chan_mode[key].mode, string.format("as packet %d of these hosts showed",
				chan_mode[key].from) }
		else
			m = {}
		end
		pkt_mode[pinfo.number] = m
	end
	local m = pkt_mode[pinfo.number] or {}
	if m[1] == nil and chan_mode[key] then -- told by a later packet
		local first = chan_mode[key].first
		return first.mode, string.format("as packet %d of these hosts showed", first.from)
	end
	return m[1], m[2]
end

-- ---- dissection ------------------------------------------------------------

local function add_bits(tree, tvb_range, tbl, prefix)
	for _, b in ipairs(tbl) do tree:add(F[prefix .. b[2]], tvb_range) end
end

local function known_bits(v, tbl)
	local all = 0
	for _, b in ipairs(tbl) do all = all + b[1] end
	-- v has a bit outside all: v - (v AND all) ~= 0, done bit by bit
	local rest, m = v, 1
	while rest > 0 do
		if rest % 2 == 1 and math.floor(all / m) % 2 == 0 then return false end
		rest, m = math.floor(rest / 2), m * 2
	end
	return true
end

-- The frames of one DATA payload, as far as they lie in this packet.
local function show_frames(tree, tvb, pos0, off, frames, state)
	local n = tvb:len() - pos0
	-- bytes before the first frame header: the end of an earlier message
	local lead = math.min(state.start - off, n)
	if lead > 0 then
		local t = tree:add(F.stream_cont, tvb(pos0, lead))
		if state.msg then
			t:append_text(string.format(" (of the %d-byte message at stream offset %.0f)",
				state.msg.len, state.msg.start))
		end
	end
	for _, fr in ipairs(frames) do
		local h0 = fr.start - off -- the header's position in the payload; < 0: begun before
		local from = math.max(h0, 0)
		local body = h0 + FRAME_HDR
		local stop = fr.cut and n or math.min(body + fr.len, n)
		local t = tree:add(F.frame, tvb(pos0 + from, stop - from))
		t:add(F.frame_offset, UInt64(fr.start % TWO32, math.floor(fr.start / TWO32)))
			:set_generated()
		if fr.cut then
			t:set_text(string.format("Frame at stream offset %.0f: header cut, continues in the next packet",
				fr.start))
		else
			t:set_text(string.format("Frame at stream offset %.0f: %d-byte message%s%s", fr.start,
				fr.len, fr.flags % 2 == 1 and ", RPC" or "",
				h0 < 0 and " (header began in the previous packet)" or
					(body + fr.len > n and " (continues in later packets)" or "")))
			local lt, ft, zt
			if h0 >= 0 then
				local hr = tvb(pos0 + h0, FRAME_HDR)
				lt = t:add(F.frame_len, hr(0, 4))
				ft = t:add(F.frame_flags, hr(4, 2))
				add_bits(ft, hr(4, 2), FRAME_FLAGS, "frame_flag_")
				zt = t:add(F.frame_zero, hr(6, 2))
			else
				lt = t:add(F.frame_len, fr.len):set_generated()
				ft = t:add(F.frame_flags, fr.flags):set_generated()
				zt = t:add(F.frame_zero, fr.zero):set_generated()
			end
			if fr.zero ~= 0 then zt:add_proto_expert_info(E.odd, "reserved frame field is not 0") end
			if not known_bits(fr.flags, FRAME_FLAGS) then
				ft:add_proto_expert_info(E.odd, "unknown frame flags")
			end
			if body < n and fr.len > 0 then
				local mr = tvb(pos0 + body, stop - body)
				t:add(F.frame_msg, mr)
				if fr.flags % 2 == 1 and stop - body >= RPC_HDR then
					local rt = t:add(mr(0, RPC_HDR), "RPC header")
					rt:add_le(F.rpc_kind, mr(0, 1))
					rt:add_le(F.rpc_type, mr(2, 2))
					rt:add_le(F.rpc_status, mr(4, 4))
					rt:add_le(F.rpc_id, mr(8, 8))
				end
			end
		end
	end
end

local function dissect_stream(tvb, pinfo, tree, pos, hdr)
	local n = tvb:len() - pos
	local key = string.format("%s/%d>%s", tostring(pinfo.src), hdr.src_session, tostring(pinfo.dst))
	if not pinfo.visited then
		local st = streams[key]
		if st == nil and hdr.aux == 0 then st = stream_for(key, nil) end
		if st ~= nil then
			local off = widen(st.frontier, hdr.aux)
			pkts[pinfo.number] = { key = key, off = off, again = n > 0 and off < st.frontier }
			stream_take(st, off, n > 0 and tvb:raw(pos, n) or "")
		end
	end
	local p = pkts[pinfo.number]
	local st = p and streams[p.key]
	local sub
	if n > 0 then sub = tree:add(F.stream, tvb(pos, n)) else sub = tree end
	if st == nil then
		if n > 0 then
			sub:add(F.stream_unknown, tvb(pos, n))
			sub:add_proto_expert_info(E.unknown_bounds,
				"frame boundaries unknown: the stream's start was not captured")
		end
		return 0
	end
	local off = p.off
	sub:add(F.stream_start, UInt64(off % TWO32, math.floor(off / TWO32))):set_generated()
	sub:add(F.stream_end, UInt64((off + n) % TWO32, math.floor((off + n) / TWO32))):set_generated()
	if n == 0 then return 0 end
	sub:set_text(string.format("Stream bytes [%.0f, %.0f): %d bytes", off, off + n, n))
	local state = st.at[off]
	if state == nil then
		sub:add(F.stream_unknown, tvb(pos, n))
		sub:add_proto_expert_info(E.unknown_bounds, off > st.frontier and
			"frame boundaries unknown: earlier stream bytes were not captured (or come later: try two passes, tshark -2)"
			or "frame boundaries unknown: a slice cut differently from the first sending")
		return 0
	end
	if p.again then
		sub:add_proto_expert_info(E.retransmit, "stream bytes seen before: a retransmission")
	end
	local frames = walk(state, off, tvb:raw(pos, n))
	show_frames(sub, tvb, pos, off, frames, state)
	return #frames
end

-- Read the header through the HEADER table; returns the values by name.
local function dissect_header(tvb, tree)
	local v, pos = {}, 0
	local ht = tree:add(tvb(0, HDR_LEN), "Header")
	for _, h in ipairs(HEADER) do
		local name, len = h[1], h[2]
		local r = tvb(pos, len)
		local item = ht:add(F[name], r)
		if len == 8 then
			v[name .. "_hi"], v[name .. "_lo"] = r(0, 4):uint(), r(4, 4):uint()
		else
			v[name] = r:uint()
		end
		v[name .. "_item"], v[name .. "_range"] = item, r
		pos = pos + len
	end
	return v, ht
end

function ferry.dissector(tvb, pinfo, tree)
	local len = tvb:len()
	pinfo.cols.protocol = "ferry"
	local top = tree:add(ferry, tvb())
	if len < HDR_LEN then
		top:add_proto_expert_info(E.short, string.format(
			"%d bytes: shorter than the %d-byte ferry header", len, HDR_LEN))
		pinfo.cols.info = string.format("ferry, %d bytes: too short", len)
		return len
	end
	local h, ht = dissect_header(tvb, top)
	local t = TYPES[h.type]
	local tname = t and t[1] or string.format("type %d", h.type)
	if not WIRE_VERSIONS[h.version] then
		h.version_item:add_proto_expert_info(E.version, string.format(
			"version %d is not one this dissector knows; the header is shown as version 3's",
			h.version))
		if len > HDR_LEN then top:add(tvb(HDR_LEN), string.format("Payload (%d bytes)", len - HDR_LEN)) end
		pinfo.cols.info = string.format("ferry version %d (unknown)", h.version)
		return len
	end
	if t == nil then
		h.type_item:add_proto_expert_info(E.type, string.format(
			"type %d is not a ferry packet type", h.type))
	else
		h.type_item:append_text(": " .. t[2])
	end
	add_bits(h.flags_item, h.flags_range, FLAGS, "flag_")
	if not known_bits(h.flags, FLAGS) then
		h.flags_item:add_proto_expert_info(E.odd, "unknown flag bits")
	end
	if t and t.aux then
		local item = h.aux_item:add(F["aux_" .. t.aux], h.aux_range)
		if t.handshake and t.aux == "reason" and not HS_REASONS[h.aux] then
			item:add_proto_expert_info(E.odd,
				"not a reason a handshake is refused for (UNTRUSTED, SECURITY, REFUSED)")
		elseif t.aux == "reason" and REASONS[h.aux] == nil then
			item:add_proto_expert_info(E.odd, "no such reason (ferryd reads it as CLOSED)")
		end
	end
	for i = 0, 63 do
		local word, bit = i < 32 and h.sack_lo or h.sack_hi, i % 32
		if math.floor(word / 2 ^ bit) % 2 == 1 then
			h.sack_item:add(F.sack_seq, h.sack_range, (h.ack + 1 + i) % TWO32):set_generated()
		end
	end

	-- a sealed packet: the seal off the end, then the payload read as the
	-- security mode says (encrypted: shown as such, not parsed)
	local wire_len, seal_info, encrypted = len, "", false
	local sealed = math.floor(h.flags / FLAG_SEALED) % 2 == 1
	if sealed and t and t.handshake then
		h.flags_item:add_proto_expert_info(E.malformed, tname .. " is never sealed (ferryd drops it)")
	elseif not sealed and t and t.sealed then
		h.flags_item:add_proto_expert_info(E.malformed, tname .. " is always sealed (ferryd drops it)")
	end
	if sealed then
		if len < HDR_LEN + SEAL_LEN then
			top:add(tvb(HDR_LEN), string.format("Cut seal (%d bytes)", len - HDR_LEN))
				:add_proto_expert_info(E.malformed, string.format(
				"sealed, but %d bytes after the header: shorter than the %d-byte seal (ferryd drops it)",
				len - HDR_LEN, SEAL_LEN))
			local info = string.format("%s %d > %d [sealed, seal cut short]", tname,
				h.src_session, h.dst_session)
			top:append_text(", " .. info)
			pinfo.cols.info = info
			return len
		end
		local s0 = len - SEAL_LEN
		local sr = tvb(s0, SEAL_LEN)
		local stt = top:add(sr, "Seal")
		stt:add(F.seal_key_id, sr(0, 4))
		stt:add(F.seal_counter, sr(4, 8))
		stt:add(F.seal_tag, sr(12, 16))
		seal_info = string.format(" [sealed key=0x%08x ctr=%s]", sr(0, 4):uint(), tostring(sr(4, 8):uint64()))
		tvb = tvb(0, s0):tvb()
		len = s0
		if len > HDR_LEN then
			local mode, how = sealed_mode(tvb, pinfo, h.type, HDR_LEN)
			local mt = stt:add(F.seal_mode, (SEC_NAMES[mode] or "undecided") ..
				(how and (" (" .. how .. ")") or ""))
			mt:set_generated()
			if mode == SEC_ENCRYPT then
				encrypted = true
				top:add(F.encrypted, tvb(HDR_LEN))
				seal_info = seal_info .. " [encrypted]"
			elseif mode == nil then
				encrypted = true
				top:add(F.sealed_undecided, tvb(HDR_LEN)):add_proto_expert_info(E.undecided,
					"sealed payload: encrypted or plain? No packet of these hosts has told yet " ..
					"(the preference ferry.security says)")
				seal_info = seal_info .. " [mode undecided]"
			end
		end
	end

	local info = string.format("%s %d > %d", tname, h.src_session, h.dst_session)
	if t and t.aux == "offset" then
		local n = len - HDR_LEN
		if math.floor(h.flags / FLAG_FRAG) % 2 == 1 and n >= FRAG_HDR and not encrypted then
			n = n - FRAG_HDR
		end
		info = info .. string.format(" seq=%d off=%d len=%d", h.seq, h.aux, n)
	elseif t and (h.type == 1 or h.type == 2) then
		info = info .. string.format(" isn=%d", h.seq)
	elseif t and t.aux == "reason" then
		info = info .. " " .. (REASONS[h.aux] or tostring(h.aux)):gsub(":.*", "")
	end
	if h.type ~= 1 and not (t and (t.handshake or t.sealed)) then
		info = info .. string.format(" ack=%d", h.ack)
	end
	if h.flags % 2 == 1 then info = info .. " [PROBE]" end
	info = info .. seal_info

	local pos = HDR_LEN
	local payload = t and t.payload
	if encrypted then payload = "sealed" end
	if t and t.handshake and wire_len ~= t.handshake then
		top:add_proto_expert_info(E.malformed, string.format("%s is %d bytes, this one %d (ferryd drops it)",
			tname, t.handshake, wire_len))
	end
	if h.type == 1 and (h.src_session == 0) then
		h.src_session_item:add_proto_expert_info(E.malformed, "OPEN from session 0 (ferryd drops it)")
	elseif h.type == 1 and h.dst_session ~= 0 then
		h.dst_session_item:add_proto_expert_info(E.odd, "OPEN names a destination session")
	elseif h.type == 12 and h.src_session == 0 then
		h.src_session_item:add_proto_expert_info(E.malformed, "HS_INIT with index 0 (ferryd drops it)")
	end
	if (h.type == 1 or h.type == 2) and not pinfo.visited then
		stream_for(string.format("%s/%d>%s", tostring(pinfo.src), h.src_session,
			tostring(pinfo.dst)), h.seq)
	end
	if payload == "stream" and math.floor(h.flags / FLAG_FRAG) % 2 == 1 then
		if len < pos + FRAG_HDR then
			top:add_proto_expert_info(E.malformed, "fragment without its 4-byte fragment header")
		else
			local plen, idx, cnt = tvb(pos, 2):uint(), tvb(pos + 2, 1):uint(), tvb(pos + 3, 1):uint()
			local ft = top:add(tvb(pos, FRAG_HDR), string.format("Fragment %d of %d of a %d-byte packet",
				idx, cnt, plen))
			ft:add(F.frag_pkt_len, tvb(pos, 2))
			ft:add(F.frag_index, tvb(pos + 2, 1))
			ft:add(F.frag_count, tvb(pos + 3, 1))
			if cnt < 2 or cnt > FRAG_MAX or idx >= cnt or plen < cnt or plen > PKT_MAX then
				ft:add_proto_expert_info(E.malformed,
					"count, index or length no sender makes (ferryd drops it)")
			end
			info = info .. string.format(" [fragment %d/%d of %d bytes]", idx, cnt, plen)
			pos = pos + FRAG_HDR
			dissect_stream(tvb, pinfo, top, pos, h)
		end
	elseif payload == "sealed" then
		if h.type == 9 then
			info = info .. string.format(" [padded to %d bytes: path MTU probe]", wire_len + 28)
		end
	elseif payload == "padding" then
		if len > pos then
			top:add(F.padding, tvb(pos))
			info = info .. string.format(" [padded to %d bytes: path MTU probe]", wire_len + 28)
		end
	elseif payload == "stream" then
		local nf = dissect_stream(tvb, pinfo, top, pos, h)
		if nf > 0 then info = info .. string.format(" [%d frame%s]", nf, nf > 1 and "s" or "") end
	elseif type(payload) == "table" then
		for _, pf in ipairs(payload) do
			local flen = pf[2]
			if pos + flen > len then
				if not t.handshake then -- its length is judged above
					top:add_proto_expert_info(E.malformed, string.format(
						"%s: %d bytes expected, %d left", pf[1], flen, len - pos))
				end
				break
			end
			local r = tvb(pos, flen)
			if pf[3] == "stringz" then
				local raw = r:raw()
				local z = raw:find("\0", 1, true)
				local s = z and raw:sub(1, z - 1) or raw
				local item = top:add(F["pl_" .. pf[1]], r, s)
				if not z or #s == 0 or s:find("[%c%s/\127-\255]") then
					item:add_proto_expert_info(E.malformed,
						"not a service name: empty, unterminated, or a space, control, '/' or non-ASCII byte")
				end
				info = info .. string.format(" %s=\"%s\"", pf[1], s)
			else
				top:add(F[pf.field or ("pl_" .. pf[1])], r)
			end
			pos = pos + flen
		end
		if pos < len then top:add(tvb(pos), string.format("Trailing bytes (%d)", len - pos)) end
	elseif len > HDR_LEN then
		top:add(tvb(HDR_LEN), string.format("Payload (%d bytes)", len - HDR_LEN))
			:add_proto_expert_info(E.odd, tname .. " carries no payload")
	end
	top:append_text(", " .. info)
	pinfo.cols.info = info
	return wire_len
end

-- ---- registration ----------------------------------------------------------

ferry.prefs.ports = Pref.range("UDP ports", DEFAULT_PORTS,
	"UDP ports (or ranges, e.g. 31850,32000-32010) that carry ferry (ferryd's net.udp_port)",
	65535)
ferry.prefs.security = Pref.enum("Security mode of sealed packets", SEC_AUTO,
	"ferryd's security.mode, which the wire does not say: authenticate (sealed payloads are " ..
	"plain, dissected as usual), encrypt (they are ciphertext), or auto: per pair of hosts, " ..
	"from the first sealed OPEN, ACCEPT or padded PING (zeros in plain, random when encrypted)",
	{ { 1, "auto", SEC_AUTO }, { 2, "authenticate", SEC_AUTHENTICATE }, { 3, "encrypt", SEC_ENCRYPT } },
	false)

local udp_port = DissectorTable.get("udp.port")
local registered = DEFAULT_PORTS
udp_port:add(DEFAULT_PORTS, ferry)

function ferry.prefs_changed()
	if ferry.prefs.ports ~= registered then
		udp_port:remove(registered, ferry)
		registered = ferry.prefs.ports
		udp_port:add(registered, ferry)
	end
end
