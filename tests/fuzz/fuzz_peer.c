/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target "peer": other ferryds' packets through the real protocol
 * engine (fcore_input()) over real daemon state (fuzz_daemon.h: the real
 * client edge with ring files, wake sockets and the status file; clients that
 * listen, connect, accept, send, close, stop reading and hang up; only the
 * NIC's transmit replaced by a recorder), interleaved with time.
 *
 * Input: u8 seed (the engine's random source), u8 knobs (FDK_*: MTU, flow
 * ports, allowed_peers, small limits, small messages, short timers), then
 * operations until the input ends, each followed by one pass of ferryd's
 * loop and every check:
 *
 *   0 CLIENT  u8 slot, u8 action, args (fd_client_op(): FC_*)
 *   1 PEER    u8 action, args (fd_peer_op(): FP_*): a raw packet; an
 *             answer to one of the engine's last packets, ids swapped and
 *             numbers echoed, then changed field by field; a peer that
 *             opens, accepts, refuses, sends data (split, duplicated, held
 *             back), acks (with holes, selective acks, shut or moved
 *             windows, probes), closes, acks a CLOSE, resets, pings,
 *             pongs, restarts; held packets released, sent packets resent;
 *             an ARP failure
 *   2 TIME    u16 (fd_time_arg()): the clock jumps, as for a descheduled
 *             daemon: every timer due runs in the one pass
 *   3 PASS    one more pass
 *   4 STEPS   u16: the clock moves on, a pass at each timer (at most 64)
 *   5 SHUTDOWN ferryd stops: fcore_shutdown(), the drain, the end
 *
 * Checked after every pass: the invariants listed in fuzz_daemon.h (the
 * engine's own, the edge's, the status file's, the transport's end to end
 * through the virtual peers' models); at the end, that nothing is left.
 */
#include "fuzz_daemon.h"
#include "wire.h"

enum { OP_STEPS = FD_OP_TARGET, OP_SHUTDOWN, OP_COUNT };


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t seed = fuzz_u8(&in), knobs = fuzz_u8(&in);
	bool shutdown = false;
	fd_begin(seed, knobs, false);
	while (in.n && fd.passes < FD_PASSES && !shutdown) {
		switch (fuzz_u8(&in) % OP_COUNT) {
		case FD_OP_CLIENT:
			fd_client_op(&in, false, 0);
			break;
		case FD_OP_PEER:
			fd_peer_op(&in);
			break;
		case FD_OP_TIME:
			fd.now += fd_time_arg(&in);
			break;
		case FD_OP_PASS:
			break;
		case OP_STEPS:
			fd_run_for(fd_time_arg(&in), 64);
			break;
		case OP_SHUTDOWN:
			shutdown = true;
			continue;
		}
		fd_pass();
	}
	fd_end(shutdown);
	return 0;
}

/* ---- seeds: the sessions' life in every state --------------------------- */

/* fd_time_arg() of about @p us microseconds */
static uint16_t t_us(uint32_t us)
{
	uint16_t shift = 0;
	while (us > 1024) {
		us >>= 1;
		shift++;
	}
	return (uint16_t)(shift << 10 | (us ? us - 1 : 0));
}

static void steps(struct fuzz_out *o, uint32_t us)
{
	fuzz_put8(o, OP_STEPS);
	fuzz_put16(o, t_us(us));
}

static void p_open(struct fuzz_out *o, uint8_t host, uint8_t svc, uint8_t flags, uint32_t isn)
{
	fds_peer(o, FP_OPEN);
	fuzz_put8(o, host);
	fuzz_put8(o, svc);
	fuzz_put8(o, flags);
	fuzz_put32(o, isn);
	fuzz_put16(o, 0);       /* the peer's largest message: ours */
	fuzz_put32(o, 1u << 20); /* its promise */
}

static void p_accept(struct fuzz_out *o, uint8_t k, uint8_t flags, uint32_t isn)
{
	fds_peer(o, FP_ACCEPT);
	fuzz_put8(o, k);
	fuzz_put8(o, flags);
	fuzz_put32(o, isn);
	fuzz_put16(o, 0);
	fuzz_put32(o, 1u << 20);
}

static void p_data(struct fuzz_out *o, uint8_t k, uint16_t len, uint8_t how)
{
	fds_peer(o, FP_DATA);
	fuzz_put8(o, k);
	fuzz_put16(o, len);
	fuzz_put8(o, how);
	fuzz_put8(o, (uint8_t)(len * 7));
}

static void p_burst(struct fuzz_out *o, uint8_t k, uint16_t len, uint8_t count)
{
	fds_peer(o, FP_BURST);
	fuzz_put8(o, k);
	fuzz_put16(o, len);
	fuzz_put8(o, 0);
	fuzz_put8(o, (uint8_t)len);
	fuzz_put8(o, count);
}

static void p_ack(struct fuzz_out *o, uint8_t k, uint8_t mode, uint32_t w)
{
	fds_peer(o, FP_ACK);
	fuzz_put8(o, k);
	fuzz_put8(o, mode);
	fuzz_put32(o, w);
}

static void p_close(struct fuzz_out *o, uint8_t k, uint8_t reason)
{
	fds_peer(o, FP_CLOSE);
	fuzz_put8(o, k);
	fuzz_put8(o, reason);
	fuzz_put8(o, 0);
}

static void p_2(struct fuzz_out *o, uint8_t act, uint8_t a, uint8_t b)
{
	fds_peer(o, act);
	fuzz_put8(o, a);
	fuzz_put8(o, b);
}

/* One client listening on "echo", a peer opening to it, accepted. */
static void incoming_up(struct fuzz_out *o, uint8_t slot)
{
	fds_client(o, slot, FC_ATTACH, 0);
	fds_client(o, slot, FC_LISTEN, 0);
	p_open(o, 0, 0, 0, 0x1000);
	fds_client(o, slot, FC_ACCEPT, 0);
}

/* One client connecting to the peer's "echo", accepted by it. */
static void outgoing_up(struct fuzz_out *o, uint8_t slot)
{
	fds_client(o, slot, FC_ATTACH, 0);
	fds_connect(o, slot, 2, 0);
	p_accept(o, 0, 0, 0xfffffff0u); /* its numbers wrap soon */
}

static void begin(struct fuzz_out *o, uint8_t seed, uint8_t knobs)
{
	o->n = 0;
	fuzz_put8(o, seed);
	fuzz_put8(o, knobs);
}

void fuzz_seeds(fuzz_emit_fn *emit)
{
	static struct fuzz_out o;

	/* data both ways, whole, split, at the largest size, then the peer
	 * closes */
	begin(&o, 1, 0);
	incoming_up(&o, 0);
	p_data(&o, 0, 100, 0);
	p_data(&o, 0, 3000, 4);
	p_data(&o, 0, 16384, 0);
	fds_send(&o, 0, 0, 2000, 3, 1);
	p_ack(&o, 0, 0, 0);
	p_close(&o, 0, 0);
	emit("incoming-data-close", o.buf, o.n);

	/* we open; the peer acks with a hole and a selective ack, the RTO
	 * runs, it acks all; the client closes: CLOSING, CLOSE_SENT, acked */
	begin(&o, 2, 0);
	outgoing_up(&o, 0);
	fds_send(&o, 0, 0, 1200, 7, 2);
	p_ack(&o, 0, 8 | 3, 0);
	steps(&o, 5000);
	p_ack(&o, 0, 0, 0);
	fds_send(&o, 0, 0, 500, 0, 3);
	fds_client(&o, 0, FC_CLOSE, 0);
	p_ack(&o, 0, 0, 0);
	p_2(&o, FP_CLOSE_ACK, 0, 0);
	emit("outgoing-close", o.buf, o.n);

	/* OPENING never answered; INCOMING never accepted: both time out */
	begin(&o, 3, 0);
	fds_client(&o, 0, FC_ATTACH, 0);
	fds_client(&o, 0, FC_LISTEN, 1);
	fds_connect(&o, 0, 3, 1);
	p_open(&o, 1, 1, 0, 77);
	steps(&o, 4000000);
	emit("opening-incoming-timeout", o.buf, o.n);

	/* CLOSING with data nobody acks, then CLOSE_SENT never acked */
	begin(&o, 4, FDK_FAST);
	outgoing_up(&o, 0);
	fds_send(&o, 0, 0, 4000, 2, 4);
	fds_client(&o, 0, FC_CLOSE, 0);
	steps(&o, 30000);
	p_ack(&o, 0, 0, 0);
	steps(&o, 200000);
	emit("closing-close-sent", o.buf, o.n);

	/* PEER_CLOSED: a reader that stopped, a peer that closes after data */
	begin(&o, 5, FDK_MTU_MASK & 1);
	incoming_up(&o, 0);
	fds_client(&o, 0, FC_READER, 0);
	for (int i = 0; i < 6; i++)
		p_data(&o, 0, 16000, 0);
	p_close(&o, 0, 0);
	steps(&o, 1000);
	fds_client(&o, 0, FC_READER, 0);
	fds_client(&o, 0, FC_READ, 0);
	emit("peer-closed-unread", o.buf, o.n);

	/* PEER_CLOSED with messages held: the reader stops; small messages
	 * fill its ring faster than the window counts them (a record takes
	 * more than its frame), the rest waits in ferryd, a session offered
	 * finds no room (its event queues); the peer closes, twice; the reader
	 * comes back */
	begin(&o, 12, 0);
	incoming_up(&o, 0);
	fds_client(&o, 0, FC_READER, 0);
	for (int i = 0; i < 12; i++)
		p_burst(&o, 0, 1, 255);
	p_open(&o, 1, 0, 0, 500);
	p_data(&o, 0, 3000, 0);
	p_close(&o, 0, 0);
	p_close(&o, 0, 0);
	steps(&o, 10000);
	fds_client(&o, 0, FC_READER, 0);
	fds_client(&o, 0, FC_READ, 0);
	steps(&o, 1000);
	emit("peer-closed-held", o.buf, o.n);

	/* reordering, duplicates, a packet held and released late */
	begin(&o, 6, 2);
	incoming_up(&o, 0);
	p_data(&o, 0, 700, 1 | 4 | 32);
	p_data(&o, 0, 300, 2);
	fds_peer(&o, FP_RELEASE);
	fuzz_put8(&o, 1);
	fds_peer(&o, FP_RESEND);
	fuzz_put8(&o, 0);
	for (int i = 0; i < 2; i++) {
		fds_peer(&o, FP_RELEASE);
		fuzz_put8(&o, 0);
	}
	emit("reorder", o.buf, o.n);

	/* a shut window: probes; then it opens */
	begin(&o, 7, 0);
	outgoing_up(&o, 0);
	p_ack(&o, 0, 1 << 4, 0);
	fds_send(&o, 0, 0, 9000, 3, 5);
	steps(&o, 20000);
	p_ack(&o, 0, 3 << 4, 1u << 20);
	emit("window", o.buf, o.n);

	/* a restarted peer: its incarnation in a PING, then proved by a PONG;
	 * a RESET; packets for sessions nobody has */
	begin(&o, 8, 0);
	outgoing_up(&o, 0);
	incoming_up(&o, 1);
	steps(&o, 1500000);
	p_2(&o, FP_PING, 0, 2);
	p_2(&o, FP_PONG, 0, 0);
	p_2(&o, FP_RESET, 0, 0);
	fds_peer(&o, FP_ANSWER);
	fuzz_put8(&o, 0);
	fuzz_put8(&o, FW_DATA - 1);
	fuzz_put8(&o, 64);
	fuzz_put32(&o, 0xdead);
	p_2(&o, FP_RESTART, 0, 0);
	emit("restart-reset", o.buf, o.n);

	/* answers to the engine's last packets: ACCEPT to its OPEN, CLOSE_ACK
	 * with a wrong number, an ACK with a forged selective ack */
	begin(&o, 9, 0);
	fds_client(&o, 0, FC_ATTACH, 0);
	fds_connect(&o, 0, 4, 2);
	fds_peer(&o, FP_ANSWER);
	fuzz_put8(&o, 0);
	fuzz_put8(&o, FW_ACCEPT - 1);
	fuzz_put8(&o, 0);
	fds_send(&o, 0, 0, 64, 1, 6);
	fds_peer(&o, FP_ANSWER);
	fuzz_put8(&o, 0);
	fuzz_put8(&o, FW_ACK - 1);
	fuzz_put8(&o, 4 | 8);
	fuzz_put32(&o, 0xffffffffu);
	fuzz_put32(&o, 1);
	fuzz_put32(&o, 0);
	emit("answers", o.buf, o.n);

	/* clients that hang up with sessions up and data in flight, one that
	 * attaches wrongly, a local session, and an ARP failure */
	begin(&o, 10, FDK_LIMITS);
	incoming_up(&o, 0);
	outgoing_up(&o, 1);
	fds_client(&o, 2, FC_ATTACH, 0);
	fds_connect(&o, 2, 0, 0);
	fds_client(&o, 0, FC_ACCEPT, 0);
	fds_send(&o, 1, 0, 3000, 3, 7);
	p_data(&o, 0, 5000, 0);
	fds_client(&o, 3, FC_ATTACH, 3);
	fds_client(&o, 4, FC_ATTACH, 1);
	fds_client(&o, 1, FC_HANGUP, 0);
	fds_client(&o, 0, FC_HANGUP, 0);
	p_2(&o, FP_UNREACHABLE, 0, 0);
	steps(&o, 100000);
	emit("hang-up", o.buf, o.n);

	/* sessions up in every direction, then ferryd stops */
	begin(&o, 11, FDK_FLOWS | FDK_SMALL_MSG | FDK_ALLOWED);
	incoming_up(&o, 0);
	outgoing_up(&o, 1);
	p_data(&o, 0, 1024, 0);
	fds_send(&o, 1, 0, 1024, 1, 8);
	fds_peer(&o, FP_RAW);
	fuzz_put8(&o, FD_HOSTS); /* from outside allowed_peers */
	fuzz_put8(&o, 0);
	fuzz_put16(&o, 0);
	fuzz_put8(&o, OP_SHUTDOWN);
	emit("shutdown", o.buf, o.n);
}
