/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon under test, shared by the fuzz targets "peer" and "cmds"
 * (fuzz_daemon.c: setup, the loop pass, the checks; fuzz_clients.c: the
 * clients; fuzz_vpeer.c: the virtual peers; fuzz_link.c: the link): a
 * real protocol engine (daemon/core) wired to the real client edge
 * (daemon/clients: ring files in a temporary shm directory, wake sockets, one
 * epoll fd, the status file of daemon/obs/status.c), stepped by a loop
 * pass that is main.c's, with an injected clock and a seeded random
 * source. Only the NIC is replaced: its send op records every packet the
 * engine sends, so inputs can answer them.
 *
 * Around it, the harness plays the other parties, each with a model that
 * is checked against what the daemon does:
 *
 *   clients   up to FD_CLIENTS processes, each attached over a socketpair
 *             (an ATTACH message, then the ATTACHED reply and its four
 *             descriptors, as libferry does), writing commands into its
 *             mapped command ring and reading its event ring; each keeps
 *             the sessions its events announce and checks every event
 *             against them (well-formed, in order, one DOWN per session,
 *             data only on an up remote session)
 *   peers     FD_HOSTS other ferryds ("virtual peers") that open, accept,
 *             send data, ack, close, ping and reset through their own
 *             models of each session (struct fd_vsess), so an input can
 *             answer the engine with the ids and numbers it just sent
 *
 * and after every step checks:
 *   - the engine's own invariants (fcore_check: session counts, held
 *     bytes, memory per client bounded by its ring plus one message per
 *     session, each client's list of sessions, the timer heap);
 *   - the edge's: nothing left to reclaim after the safe point; a client
 *     reclaimed has no record, no ring file and no counters left, and its
 *     socket was closed; the client gauge and the status file's counters
 *     match the live clients and remote sessions;
 *   - the transport end to end: a clean stream from a peer reaches the
 *     client whole, in order, exactly once, and what the engine
 *     acknowledged before the peer closed is delivered before the DOWN;
 *     what a client sends reaches the peer as the same messages in order,
 *     a retransmission carries the bytes of its original, packet numbers
 *     and stream offsets never skip, nothing is sent past the largest
 *     window the peer advertised or larger than the link carries, and
 *     nothing but OPEN and ACCEPT before the handshake is done;
 *   - at the end, after every client and the engine are gone: no file left
 *     in the shm directory, no counter but the edge's daemon-wide ones, no
 *     descriptor left open (and, under ASan, no memory); after a shutdown
 *     drain, no session left and every reading client told of each end.
 */
#ifndef FERRY_FUZZ_DAEMON_H
#define FERRY_FUZZ_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "clients_pvt.h"
#include "core.h"
#include "ferry_ring.h"
#include "fuzz.h"
#include "status.h"

#define FD_CLIENTS 6
#define FD_HOSTS 3      /* virtual peers 10.0.0.2 .. 10.0.0.4 */
#define FD_VSESS 16     /* sessions the virtual peers keep */
#define FD_CSESS 64     /* sessions a client keeps */
#define FD_SENT 16      /* packets the engine sent, kept to be answered */
#define FD_HELD 16      /* packets of the peers held back (reordering) */
#define FD_PKT_MAX 4096 /* largest UDP payload the fuzzed link carries */
#define FD_MSGQ 16384   /* messages remembered per direction and session */
#define FD_SERVICES 4
#define FD_TOL 16       /* closed sessions a client forgot, tolerated */
#define FD_PASSES 4096  /* loop passes an input may take: its time bound */

#define FD_LOCAL_IP 0x0a000001u
#define FD_ALIEN_IP 0xc0000209u /* 192.0.2.9: outside allowed_peers when set */
#define FD_PORT 31850

/* ---- options: the first bytes of an input ------------------------------ */

#define FDK_MTU_MASK 0x03u   /* 1472, 512, 160, 4096 bytes of UDP payload */
#define FDK_FLOWS 0x04u      /* four flow ports instead of one */
#define FDK_ALLOWED 0x08u    /* net.allowed_peers = 10.0.0.0/24 */
#define FDK_LIMITS 0x10u     /* small limits: sessions, half-open, listens */
#define FDK_SMALL_MSG 0x20u  /* ipc.max_message_size 1 KiB instead of 16 */
#define FDK_FAST 0x40u       /* short transport timers */

/* ---- the models -------------------------------------------------------- */

/* A message remembered by its length and a hash of its bytes. */
struct fd_msg {
	uint32_t len;
	uint64_t hash;
	uint64_t end; /* stream offset just past it (peer -> client) */
};

struct fd_msgq {
	struct fd_msg *m;    /* cap entries, grown on demand up to FD_MSGQ */
	uint32_t cap;
	uint32_t head, tail; /* [head, tail) not yet matched */
	bool lost;           /* overflowed: no longer checked */
};

/* A frame parser over a stream of frames (ferry_wire_frame + message). */
struct fd_framer {
	uint8_t fh[8];
	uint32_t fh_have;
	bool in_msg;
	uint32_t len, have;
	uint64_t hash;
};

enum { VS_FREE, VS_ENG_OPENING, VS_PEER_OPENING, VS_UP, VS_GONE };

/* One session as the virtual peer at host @host sees it. */
struct fd_vsess {
	int state;
	uint8_t host;
	bool learned;            /* made from the engine's packets alone */
	uint32_t us, them;       /* the engine's id, the peer's id */
	uint16_t eport;          /* the engine's flow port */
	uint16_t pport;          /* the peer's port */
	uint32_t max_msg;        /* the session's largest message (0: unknown) */
	int client;              /* the local client (slot), -1: not known */
	/* the engine's side, as it sent it */
	uint32_t eng_isn;
	uint32_t eng_next;       /* its next new DATA number */
	uint64_t eng_off;        /* its stream bytes sent (new ones) */
	uint32_t eng_ts;
	uint32_t eng_close_seq;
	bool eng_closed;
	uint64_t edge;           /* the edge we last surely told it */
	uint64_t edge_more;      /* the most we may have told it since */
	bool edge_unknown;       /* someone else advertised too */
	struct {
		uint32_t seq, len;
		uint64_t off, hash;
		bool valid;
	} eng_pk[256];           /* its DATA packets, by number */
	struct fd_framer rx;     /* its stream, as we reassemble it */
	struct fd_msgq tx;       /* what its client sent, to be seen here */
	bool tx_checked;
	/* the peer's side */
	uint32_t isn, next_seq;
	uint32_t isn_alt;        /* another first number sent in an OPEN */
	bool has_alt;
	uint16_t open_max;       /* what our OPEN said: largest message, */
	uint8_t open_svc;        /* service (fd_services), */
	uint32_t open_window;    /* promise */
	uint64_t off;            /* stream bytes framed */
	uint64_t acked_off;      /* acked by the engine, cumulatively */
	uint32_t win_ahead;      /* the window we advertise: eng_off + this */
	bool win_fixed;          /* ... or this value, whatever the offset */
	uint32_t win_value;
	struct {
		uint32_t seq, len;
		uint64_t off;
	} pk[64];                /* our DATA packets, by number */
	struct fd_msgq exp;      /* what the client must get, in order */
	bool forged;             /* someone else wrote into our stream */
	bool closed;             /* we sent CLOSE */
};

/* An answer of the auto peer: headers and small payloads only. */
struct fd_ans {
	uint32_t ip;
	uint16_t sport, dport;
	uint32_t len;
	uint8_t data[96];
};

/* A packet kept: sent by the engine (to answer), or held by a peer. */
struct fd_pkt {
	uint32_t ip;
	uint16_t sport, dport;
	uint32_t len;
	uint8_t data[FD_PKT_MAX];
};

enum { CS_OPENING = 1, CS_INCOMING, CS_ACCEPTING, CS_UP, CS_CLOSED };

struct fd_csess {
	uint32_t id;     /* 0 while opening */
	uint32_t cookie; /* opener (acceptor: 0) */
	int state;
	bool remote;
	uint32_t peer_pid;
	bool to_self;    /* an opener connecting to this host */
	uint32_t max_msg;
	uint32_t seq;    /* age, to forget the oldest closed one */
};

struct fd_client {
	bool used;        /* the slot holds a client */
	bool attached;    /* it has its rings */
	bool hung_up;     /* we closed our socket (the process died) */
	bool dead;        /* the daemon closed its end: reclaimed */
	bool reading;     /* reads its events each pass */
	bool hostile;     /* writes raw commands (cmds): events checked for
			   * shape only */
	bool lenient;     /* more sessions than we keep: shape only too */
	bool tampered;    /* wrote into its rings' control blocks */
	bool shrunk;      /* its ring file was cut: our mapping is gone */
	bool refused;     /* ATTACHED with an error */
	bool expect_bye;  /* broke the protocol on its socket */
	/* as the edge left it before the last safe point */
	uint64_t edge_pos;  /* how far its command ring was read */
	bool marked;        /* marked for reclaim ... */
	int marked_reason;  /* ... for this reason */
	char marked_why[96];
	uint32_t id;
	uint32_t pid;
	int sock;
	int ring_fd, bell_fd, evfd, status_fd;
	void *map;
	uint64_t map_len;
	struct ferry_ring cmd; /* producer */
	struct ferry_ring evt; /* consumer */
	char path[4096];
	bool got_bye;
	int bye_status;
	char bye_reason[112];
	struct fd_csess s[FD_CSESS];
	uint32_t cs_seq;
	uint32_t tol[FD_TOL], tol_cookie[FD_TOL]; /* forgotten closed sessions */
	uint32_t n_tol;
	uint32_t next_cookie;
	uint64_t events;
};

struct fd {
	/* the daemon */
	struct ferry_config cfg;
	struct fprivs privs;
	struct fstatus st;
	struct fclients *edge;
	struct fcore *core;
	struct fcore_cidr allowed;
	int epfd;
	char dir[64];
	uint64_t now;
	uint64_t rng;
	uint32_t mtu;
	int lowest_fd;      /* the lowest free descriptor before we began */
	/* the parties */
	struct fd_client cl[FD_CLIENTS];
	struct fd_vsess vs[FD_VSESS];
	uint32_t next_them;
	uint32_t host_inc[FD_HOSTS];
	uint32_t host_ping[FD_HOSTS]; /* the engine's last PING nonce */
	struct fd_pkt sent[FD_SENT];  /* ring of what the engine sent */
	uint32_t n_sent;
	struct fd_pkt held[FD_HELD];  /* peers' packets held back */
	uint32_t n_held;
	struct fd_pkt last_peer[4];   /* the peers' last packets (resend) */
	uint32_t n_last_peer;
	/* auto peer: answer OPEN, DATA, PING, CLOSE as a well-behaved ferryd */
	bool auto_peer;
	bool tx_check_all;            /* every session's sent messages checked */
	struct fd_ans *answers;       /* queued by the link, sent after */
	uint32_t n_answers;
	uint64_t reclaimed;           /* attached clients reclaimed */
	bool ending;                  /* fd_end(): every client is reclaimed */
	bool unsure;                  /* the packets delivered now may fail the
				       * engine's ack checks */
	uint32_t passes;              /* loop passes so far (FD_PASSES at most) */
	/* the target's hooks (may be NULL) */
	void (*after_pass)(void);     /* each round of a pass, after the safe point */
	void (*on_gone)(struct fd_client *c);
	void (*on_down)(struct fd_client *c, struct fd_csess *s, int reason);
};

extern struct fd fd;

extern const char *const fd_services[FD_SERVICES];

/* ---- the daemon -------------------------------------------------------- */

/** Everything fresh, from the input's seed and knobs (FDK_*). */
void fd_begin(uint8_t seed, uint8_t knobs, bool auto_peer);
/** Stop as ferryd stops (fcore_shutdown when @p drain, then every client
 *  reclaimed, the engine freed) and check nothing is left. */
void fd_end(bool drain);
/** One pass of main.c's loop, the parties' turn, and every check. */
void fd_pass(void);
/** The clock moves on @p ns (then a pass runs the due timers). */
void fd_time(uint64_t ns);
/** The clock moves on @p ns, stopping at each timer the engine sets (at
 *  most @p max_steps passes): a peer that answers at once stays alive. */
void fd_run_for(uint64_t ns, unsigned max_steps);
/** A time step from an input: u16, a mantissa and a shift. */
uint64_t fd_time_arg(struct fuzz_in *in);

/* ---- clients ----------------------------------------------------------- */

/** Attach a client in @p slot (nothing if the slot is used): ATTACH is
 *  answered in the next pass. @p flavor & 3: 0 as libferry does, 1 another
 *  major version, 2 a malformed ATTACH, 3 a second message after it.
 *  @return 0 or -1 (the slot is used, or limits.max_clients) */
int fd_attach(int slot, const char *name, uint32_t pid, unsigned flavor);
/** One client action decoded from the input (attach, listen, connect,
 *  accept, refuse, send, close, read, stop reading, hang up). With
 *  @p hostile_slot0, a client attached in slot 0 is hostile: it only reads
 *  and hangs up here, and its events are checked for shape only. The
 *  actions of slots in the mask @p leave_alone are read and dropped. */
void fd_client_op(struct fuzz_in *in, bool hostile_slot0, unsigned leave_alone);
/** The process dies: its socket closes. */
void fd_hang_up(struct fd_client *c);
/** Bytes of a message, from a pattern @p fill seeds (a static buffer). */
const uint8_t *fd_pattern(uint32_t len, uint8_t fill, uint32_t n);
/** Write a command record; @return 0, or -EAGAIN (ring full) */
int fd_cmd(struct fd_client *c, uint16_t type, uint16_t flags, uint32_t session, uint32_t aux,
	   const void *p, uint32_t len);
/** Read up to @p max events (0: all) and wake the daemon if it waits. */
void fd_read_events(struct fd_client *c, uint32_t max);
/** The edge's record of client @p id, or NULL. */
struct fclient *fd_edge_client(uint32_t id);
/** Cut @p c's ring file to @p len bytes (a hostile client's ftruncate). */
void fd_shrink(struct fd_client *c, uint64_t len);
struct fd_csess *fd_csess_find(struct fd_client *c, uint32_t id);

/* ---- virtual peers ----------------------------------------------------- */

/** One virtual-peer action decoded from the input (raw packet, answer a
 *  packet the engine sent, open, accept, refuse, data, a burst of small
 *  messages, ack, close, ack a CLOSE, reset, ping, pong, release a held
 *  packet, resend one, ARP failure, restart). */
void fd_peer_op(struct fuzz_in *in);
/** Hand a packet to the engine as host @p ip sent it. */
void fd_input(uint32_t ip, uint16_t sport, uint16_t dport, const void *p, uint32_t len);
struct fd_vsess *fd_vsess_by_us(uint32_t us);

/* ---- between the harness's files ---------------------------------------- */

/** Free what the virtual peers' models hold. */
void fd_vsess_fini(void);
/** The clients' turn after the safe point: what their sockets say (a
 *  reclaimed client is checked to have left nothing), their events. */
void fd_clients_turn(void);
/** After clients_destroy(): every client saw its socket close and left
 *  nothing behind. */
void fd_clients_end(void);
/** The NIC: records and observes every packet the engine sends. */
void fd_link_ops(struct fcore_link_ops *lo);
/** Send the auto peer's queued answers. @return whether there were any */
bool fd_answer(void);
/** A client saw EVT_UP of remote session @p us (slot, largest message). */
void fd_vsess_up(uint32_t us, int slot, uint32_t max_msg);
/** A client read a message of remote session @p us: the next its peer sent? */
void fd_vsess_delivered(uint32_t us, const uint8_t *p, uint32_t len);
/** A client read DOWN of remote session @p us. */
void fd_vsess_down(uint32_t us, int reason);
/** A client wrote a message for remote session @p us into its ring. */
void fd_vsess_sent(uint32_t us, const uint8_t *p, uint32_t len);

/* ---- seeds: the inputs' operations, shared by the targets --------------- */

/* Op codes, shared by the targets' seeds and decoders. */
enum {
	FD_OP_CLIENT = 0,
	FD_OP_PEER = 1,
	FD_OP_TIME = 2,
	FD_OP_PASS = 3,
	FD_OP_TARGET = 4, /* the target's own ops from here */
};

/* client actions (FD_OP_CLIENT, u8 slot, u8 action, args) */
enum {
	FC_ATTACH, FC_LISTEN, FC_UNLISTEN, FC_CONNECT, FC_ACCEPT, FC_REFUSE, FC_SEND,
	FC_CLOSE, FC_READ, FC_READER, FC_HANGUP, FC_NACTIONS
};

/* peer actions (FD_OP_PEER, u8 action, args) */
enum {
	FP_RAW, FP_ANSWER, FP_OPEN, FP_ACCEPT, FP_REFUSE, FP_DATA, FP_ACK, FP_CLOSE,
	FP_CLOSE_ACK, FP_RESET, FP_PING, FP_PONG, FP_RELEASE, FP_RESEND, FP_UNREACHABLE,
	FP_RESTART, FP_BURST, FP_NACTIONS
};

/* Seed writers: an operation as fd_client_op() and fd_peer_op() read it. */
void fds_client(struct fuzz_out *o, uint8_t slot, uint8_t act, uint8_t a);
/** FC_CONNECT: @p target 0 this host, 1 our own address, 2.. 4 the peers,
 *  5 outside allowed_peers; @p svc an index in fd_services. */
void fds_connect(struct fuzz_out *o, uint8_t slot, uint8_t target, uint8_t svc);
/** FC_SEND: @p count + 1 messages of @p len bytes (cut to the session's
 *  largest) on the @p k-th up session. */
void fds_send(struct fuzz_out *o, uint8_t slot, uint8_t k, uint16_t len, uint8_t count,
	      uint8_t fill);
/** FD_OP_PEER and @p act (FP_*); the caller writes the arguments. */
void fds_peer(struct fuzz_out *o, uint8_t act);

#endif
