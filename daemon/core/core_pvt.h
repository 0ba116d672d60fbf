/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to daemon/core: the engine's state.
 *
 *   core.c         the instance: entry and exit, the timer queue, the
 *                  loop's turn, reaping, ids, counters, invariants
 *   services.c     client commands, services, local sessions, ending
 *   peer.c         other ferryds: allowed subnets, incarnations,
 *                  keepalive (PING/PONG), ARP failures
 *   secure.c       secure channels to them: handshakes, sealing and
 *                  opening packets, rekeying (noise.c, seal.c)
 *   remote.c       remote sessions' life: handshake, close, reset, input
 *   remote_data.c  their data path out: send buffer, packets, acks
 *   remote_rx.c    and in: reorder window, messages, delivery
 *   pmtu.c         the path MTU per peer: ICMP reports, black holes, probes
 *   frag.c         packets resent in fragments, and their reassembly
 *
 * Lifetimes. A session that ends is marked dead: it leaves the id map,
 * the timer queue and every count at once, but stays on the lists it is
 * on (its clients', its peer's) and is freed only by reap() when the
 * outermost core call returns (depth 0). So every walk over a list of
 * sessions may end any session, the one in hand included, and simply
 * skips dead ones. The only lists that lose members before reap() are a
 * client's, when fcore_client_gone() detaches every session from the
 * client it is about to lose. A peer record lives while a session names
 * it and is freed by reap() too.
 */
#ifndef FERRY_CORE_PVT_H
#define FERRY_CORE_PVT_H

#include <assert.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "cc.h"
#include "core.h"
#include "ferry_atomic.h"
#include "fmap.h"
#include "rtt.h"
#include "rxwin.h"
#include "sack.h"
#include "timerq.h"
#include "wire.h"

#define WINDOW_PKTS 1024u    /* scoreboard and reorder window, packets */
#define SBUF_MIN (64u << 10) /* a send buffer's first size */

struct fservice {
	LIST_ENTRY(fservice) link;
	struct fcore_client *owner;
	char name[FERRY_SERVICE_MAX];
};

enum {
	FS_OPENING = 1,  /* remote: OPEN sent, waiting for ACCEPT or REFUSE */
	FS_INCOMING = 2, /* announced to the acceptor, not accepted yet */
	FS_UP = 3,
	/* remote only: */
	FS_CLOSING = 4,     /* the local end left; sending what is unacked */
	FS_CLOSE_SENT = 5,  /* all acked, CLOSE sent, waiting for CLOSE_ACK */
	FS_PEER_CLOSED = 6, /* the peer closed; handing the client what we hold */
};

/* The path MTU towards a peer (pmtu.c); sizes are IP MTUs. */
struct fpmtu {
	uint16_t mtu;         /* what packets to it may take now */
	uint16_t ceiling;     /* the link's, or net.peer_mtus' */
	uint16_t probe_size;  /* what the probe in progress tries */
	uint8_t probe;        /* PMTU_PROBE_* in progress */
	uint8_t tries;        /* probes sent this round (probing up) */
	uint32_t nonce;       /* the probes' PINGs carry nonce .. nonce + 7 */
	bool answered;        /* a probe of probe_size came back */
	bool small_ok;        /* black hole: a small PING came back meanwhile */
	uint64_t changed_ns;  /* when mtu last moved (0: never) */
	uint64_t due_ns;      /* next probe up, or a black hole's verdict */
	uint64_t grace_ns;    /* black hole: the wait after the small answer */
};

/* Another ferryd, by address. */
struct fpeer {
	uint32_t ip;
	uint32_t incarnation;  /* what it last proved it is; 0: not known */
	uint32_t claimed_inc;  /* another incarnation someone claimed for it,
				* to be confirmed by a PONG (0: none) */
	uint32_t ping_nonce;   /* the PING outstanding (0: none) */
	uint32_t n_sessions;   /* live remote sessions with it */
	uint32_t n_half_open;  /* of which INCOMING */
	uint64_t last_rx_ns;   /* its last packet that passed every check */
	uint64_t last_ping_ns;
	uint64_t arp_confirm_ns;
	bool arp_failed;       /* its (or the gateway's) last ARP failed */
	struct fpmtu pmtu;     /* the path's MTU (pmtu.c) */
	struct ftimer timer;   /* keepalive, silence and path MTU probes */
	LIST_HEAD(, fsession) sessions;
	LIST_ENTRY(fpeer) link; /* c->peers */
};

/* Held for delivery: a whole message, or one being assembled. */
struct rmsg {
	struct rmsg *next;
	uint32_t len;
	uint32_t have;
	uint16_t flags;
	uint8_t data[];
};

/* An out-of-order packet's stream bytes, waiting in the reorder window. */
struct rpkt {
	uint64_t off;
	uint32_t len;
	uint8_t data[];
};

struct txslot {
	uint64_t off;
	uint32_t len;
	uint16_t wire; /* the largest IP packet it last went out in */
};

/* A packet being rebuilt from its fragments (frag.c). */
struct rfrag {
	uint32_t seq;
	uint64_t base;        /* its stream offset */
	uint16_t len, count;  /* its bytes, and fragments */
	uint64_t have;        /* bit i: fragment i is in data */
	bool busy;            /* a packet is being rebuilt */
	uint8_t data[FERRY_WIRE_PKT_MAX];
};

/* The transport state of one remote session. The scoreboard, slots and
 * reorder window exist only while there is traffic (rtx_wake()); an idle
 * session gives them back (rtx_doze()), so it costs little memory. */
struct rtx {
	bool dirty;              /* on c->dirty */
	bool ack_now;
	bool blocked;            /* data waits on the peer's window */
	bool room_armed;         /* the client will wake us when it reads */
	uint32_t isn;            /* our first packet number */
	uint32_t snd_next;       /* our next packet number (while dozing) */

	/* send: stream offsets; [una_off, end_off) is in sbuf */
	uint8_t *sbuf;
	uint64_t scap, scap_max;
	uint64_t una_off, nxt_off, end_off;
	uint64_t peer_edge;
	uint32_t peer_max_window; /* the peer's promise (OPEN, ACCEPT) */
	struct txslot *slots; /* by seq & (WINDOW_PKTS - 1) */
	struct ferry_sack *sack;
	struct ferry_rtt rtt;
	struct ferry_cc cc;
	uint64_t next_send_ns; /* pacing, cwnd < 1 */
	uint64_t last_delay_ns; /* the latest delay fed to cc */
	uint64_t progress_ns;  /* when the peer last acked new data, or when
				* data was first outstanding after a pause */
	uint64_t acked_ns;     /* when an ack last acked any packet (cumulative
				* or selective) */
	/* after a retransmission timeout, one packet goes until the next ack
	 * tells whether the timeout was spurious (F-RTO, RFC 5682); if it was,
	 * what the timeout did to the estimators is undone */
	bool rto_probe;
	uint64_t rto_at;
	struct ferry_cc cc_before;
	struct ferry_rtt rtt_before;
	/* black holes (pmtu.c): timeouts in a row whose lost packet was
	 * large, and the first large packet sent since the last of them,
	 * whose ack says large packets get through */
	uint8_t bh_rtos;
	bool big_out;
	uint32_t big_seq;

	/* receive */
	struct ferry_rxwin *rx;
	uint32_t rcv_next;    /* next packet number expected (while dozing) */
	uint64_t r_off;       /* stream bytes received in order */
	uint64_t adv_edge;    /* the furthest edge advertised */
	uint64_t ooo_bytes;   /* stream bytes held out of order */
	uint8_t fh[sizeof(struct ferry_wire_frame)];
	uint32_t fh_have;
	struct rmsg *asm_msg; /* being assembled */
	struct rfrag *frag;   /* a packet rebuilt from fragments (frag.c) */
	struct rmsg *held, *held_tail;
	uint64_t held_bytes;  /* held, being assembled, out of order */
	uint32_t unacked;
	uint64_t ack_due_ns;  /* 0: no ack owed on a timer */
	uint64_t gap_since_ns; /* out-of-order data waits for a gap since */
	uint32_t echo_ts;
	uint64_t echo_at_ns;

	/* the ends */
	uint64_t last_probe_ns;
	uint64_t ctl_due_ns; /* OPEN or CLOSE again */
	uint32_t ctl_tries;
	uint32_t close_seq;  /* the seq our CLOSE carries */
	int close_reason;
	uint32_t max_msg;  /* the smaller of both ends' ipc.max_message_size */
	uint32_t peer_isn; /* the peer's first number (OPEN, ACCEPT) */
	uint64_t idle_since_ns; /* nothing in flight or held since */
};

/* A session's place on the list of one of its ends. A client's list holds
 * the sessions it opened and those it accepted alike, and <sys/queue.h>
 * links a list's neighbours through the one field it is given: so every
 * entry of such a list is one of these, whichever end it is, pointing back
 * at its session. */
struct fsession_link {
	LIST_ENTRY(fsession_link) le;
	struct fsession *s;
};

struct fsession {
	uint32_t id;
	uint32_t cookie; /* the opener's, echoed in its events */
	int state;
	bool dead;       /* ended: freed by reap() */
	bool remote;
	bool peer_done;  /* the peer ended it: nothing to tell it */
	/* 0: opener, 1: acceptor; a remote session has only its local end */
	struct fcore_client *end[2];
	struct fsession_link cl_link[2]; /* on end[i]->sessions */
	LIST_ENTRY(fsession) room_link; /* on its client's room_waiters */
	bool room_wait;                 /* ... while this is set */
	char service[FERRY_SERVICE_MAX];
	uint64_t deadline_ns; /* OPENING, INCOMING: give up at */
	struct ftimer timer;
	TAILQ_ENTRY(fsession) dead_link;
	TAILQ_ENTRY(fsession) dirty_link; /* c->dirty, while t->dirty */
	/* remote sessions */
	struct fpeer *peer;
	LIST_ENTRY(fsession) peer_link;
	uint32_t peer_ip;      /* host order */
	uint16_t peer_port;    /* where its packets come from, ours go to */
	uint16_t sport;        /* our flow port */
	uint32_t peer_session;
	uint32_t peer_inc;     /* the peer's incarnation it was made with */
	struct ferry_counter *c_rx, *c_tx, *c_srtt, *c_cwnd, *c_retx;
	struct rtx *t;
};

struct fcore {
	struct fcore_params p;
	struct fcore_client_ops co;
	struct fcore_link_ops lo;
	struct fcore_stats_ops so;
	uint64_t now;
	uint32_t incarnation;
	unsigned depth;       /* fcore_* calls in progress */
	bool stopping;        /* fcore_shutdown(): sessions end without linger */
	struct fmap sessions; /* id -> struct fsession */
	struct fmap peer_map; /* ip -> struct fpeer */
	uint32_t n_sessions;
	uint32_t n_remote;
	uint16_t next_flow;   /* round robin over the flow ports */
	LIST_HEAD(, fservice) services;
	LIST_HEAD(, fpeer) peers;
	LIST_HEAD(, fcore_client) clients;
	struct ftq timers;    /* sessions' and peers' */
	TAILQ_HEAD(, fsession) dirty; /* remote sessions with something to send */
	TAILQ_HEAD(, fsession) dead;
	uint64_t sent;        /* packets handed to the link */
	struct ferry_counter *c_sessions, *c_sessions_total, *c_sessions_refused;
	struct ferry_counter *c[FC_COUNT];
	struct fsec *sec;     /* secure channels; NULL: security.mode none */
};

/* ---- core.c ------------------------------------------------------------ */

enum { TK_SESSION = 1, TK_PEER = 2, TK_SEC = 3 }; /* struct ftimer.kind */
#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

/** Every fcore_* entry point brackets its work with these: leaving the
 *  outermost call frees what ended meanwhile. */
void core_enter(struct fcore *c);
void core_leave(struct fcore *c);
static inline uint64_t core_drop_epoch(const struct fcore *c)
{
	return c->lo.drop_epoch ? c->lo.drop_epoch(c->lo.arg) : 0;
}
static inline void core_count(struct fcore *c, enum fcore_counter_id what)
{
	FA_STORE_RLX(&c->c[what]->value, FA_LOAD_RLX(&c->c[what]->value) + 1);
}
static inline void ctr_add(struct ferry_counter *k, uint64_t n)
{
	FA_STORE_RLX(&k->value, FA_LOAD_RLX(&k->value) + n);
}
static inline void ctr_set(struct ferry_counter *k, uint64_t v)
{
	FA_STORE_RLX(&k->value, v);
}
/** A fresh random id no live session has (never 0). */
uint32_t core_new_id(struct fcore *c);
uint32_t core_random(struct fcore *c);
/** Run @p s's timer at @p at (earlier than now: at the next poll). */
void core_timer(struct fcore *c, struct ftimer *t, uint64_t at);
struct ferry_counter *core_counter(struct fcore *c, uint32_t type, uint32_t owner,
				   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- services.c -------------------------------------------------------- */

struct fservice *service_find(struct fcore *c, const char *name);
/** Copy a service name out of hostile memory and check it. */
bool service_ok(const char *raw, char *out);
/** A new session in the id map, counted against the limits.
 *  @return it, or NULL with the reason in *reason */
struct fsession *session_new(struct fcore *c, struct fcore_client *opener,
			     struct fcore_client *acceptor, const char *service, int *reason);
/** End @p s: tell every local end except @p closer, and a remote peer that
 *  did not end it itself; a remote session whose local end left may
 *  linger (CLOSING) until what it sent is acked. */
void session_end(struct fcore *c, struct fsession *s, struct fcore_client *closer, int reason);
/** End @p s at once: no events, nothing to the peer. */
void session_kill(struct fcore *c, struct fsession *s);
/** Detach @p s from its local end @p i (the client left). */
void session_detach(struct fcore *c, struct fsession *s, int i);
void emit_down(struct fcore *c, struct fcore_client *cl, uint32_t session, uint32_t cookie,
	       int reason);
/** Free a dead session (reap()). */
void session_free(struct fcore *c, struct fsession *s);
/** A session's timer fired. */
void session_timer(struct fcore *c, struct fsession *s);
/** Work out @p s's next deadline and set its timer. */
void session_rearm(struct fcore *c, struct fsession *s);

static inline struct fcore_client *local_end(const struct fsession *s)
{
	return s->end[0] ? s->end[0] : s->end[1];
}

/* ---- peer.c ------------------------------------------------------------ */

bool peer_allowed(const struct fcore *c, uint32_t ip);
/** The record of @p ip, created if need be. @return it, or NULL (memory) */
struct fpeer *peer_get(struct fcore *c, uint32_t ip);
struct fpeer *peer_find(const struct fcore *c, uint32_t ip);
/** @p s now talks to @p p. */
void peer_attach(struct fcore *c, struct fpeer *p, struct fsession *s);
/** @p s ended (it stays on the list until reap). */
void peer_detach(struct fcore *c, struct fsession *s);
/** A packet that passed every check came from @p p. @return true when
 *  the caller should confirm its ARP entry */
bool peer_heard(struct fcore *c, struct fpeer *p);
/** @p p says it is incarnation @p inc (OPEN, ACCEPT, RESET, PONG).
 *  @p proven: the packet proved it saw our traffic (PONG, RESET). */
void peer_incarnation(struct fcore *c, struct fpeer *p, uint32_t inc, bool proven);
void peer_timer(struct fcore *c, struct fpeer *p);
/** A PING, answered with a PONG. @return true when it came from the
 *  incarnation we know, with sessions: the caller confirms its ARP entry */
bool peer_on_ping(struct fcore *c, uint32_t ip, uint16_t port, uint16_t dport,
		  const struct ferry_wire_hdr *h);
/** A PONG. @return true when it answers our PING (its nonce) and the peer
 *  has sessions: the caller confirms its ARP entry */
bool peer_on_pong(struct fcore *c, struct fpeer *p, const struct ferry_wire_hdr *h);
/** PING @p p (a fresh nonce): keepalive, challenge, or "are small packets
 *  getting through?" */
void peer_ping(struct fcore *c, struct fpeer *p);
/** Set @p p's timer to the earliest thing it must do. */
void peer_rearm(struct fcore *c, struct fpeer *p);
/** Free peers no session names any more (reap()). */
void peer_reap(struct fcore *c);
void peers_fini(struct fcore *c);
/** Our secure handshakes with @p ip are refused: every session with it
 *  ends for @p reason, nothing told to it. */
void peer_refused(struct fcore *c, uint32_t ip, int reason);

/* ---- secure.c ---------------------------------------------------------- */

/* The last FERRY_REASON_* a peer may send us (REFUSE, CLOSE). */
#define CORE_REASON_MAX FERRY_REASON_SECURITY

/** Security on (p.sec_mode): keys, and the link ops wrapped so that every
 *  packet leaving is sealed. @return 0, -EINVAL, -ENOMEM, -ENOSYS */
int secure_create(struct fcore *c);
void secure_destroy(struct fcore *c);
/** What sealing adds to every packet on the wire (0 with security off):
 *  sizes on the path (pmtu.c, frag.c) count it. */
uint32_t secure_trailer(const struct fcore *c);
/**
 * A packet from the link, before anything else reads it (any mode: with
 * none, a handshake is answered that we do not run one).
 * @return true with *@p p, *@p len the plain packet to go on with; false
 *         when it was the secure layer's own, or dropped (counted)
 */
bool secure_input(struct fcore *c, uint32_t ip, uint16_t port, uint16_t dport,
		  const uint8_t **p, uint32_t *len);
/** A secure channel's timer. */
void secure_timer(struct fcore *c, struct ftimer *t);

/* ---- remote.c ---------------------------------------------------------- */

void remote_connect(struct fcore *c, struct fcore_client *cl, uint32_t cookie, uint32_t ip,
		    const char *service);
void remote_accept(struct fcore *c, struct fsession *s);
/** The local end of an UP session left: keep it until what it sent is
 *  acked, then close with @p reason. @return false: end it now instead */
bool remote_linger(struct fcore *c, struct fsession *s, int reason);
/** End @p s for @p reason now, on our side: an UP session stays, without
 *  its client, sending CLOSE until the peer acks it. @return true if it
 *  stays (as session_end()'s linger), false: told once, end it now */
bool remote_close(struct fcore *c, struct fsession *s, int reason);
/** Tell the peer the session ended (REFUSE while INCOMING, else CLOSE). */
void remote_tell_end(struct fcore *c, struct fsession *s, int reason);
/** Free the transport state and counters of a remote session. */
void remote_free(struct fcore *c, struct fsession *s);
/** A remote session's timer. */
void remote_timer(struct fcore *c, struct fsession *s);
/** When a remote session next needs its timer (UINT64_MAX: never). */
uint64_t remote_next_due(struct fcore *c, struct fsession *s);
/** Send, ack and finish closing for the sessions marked dirty. */
void remote_flush(struct fcore *c);
/** A header for a session we have no record of (REFUSE, RESET, CLOSE_ACK,
 *  PING, PONG). */
void send_bare(struct fcore *c, uint32_t ip, uint16_t sport, uint16_t dport, uint8_t type,
	       uint32_t dst, uint32_t src, uint32_t seq, uint32_t ack, uint32_t aux);
/** The same with @p pad zero bytes after the header (a path MTU probe). */
void send_bare_pad(struct fcore *c, uint32_t ip, uint16_t sport, uint16_t dport, uint8_t type,
		   uint32_t dst, uint32_t src, uint32_t seq, uint32_t ack, uint32_t aux,
		   uint32_t pad);
/** End a session for a reason of ours (telling the peer), or free it if
 *  it was only closing. */
void rtx_fail(struct fcore *c, struct fsession *s, int reason);
void rtx_mark_dirty(struct fcore *c, struct fsession *s);

/* ---- remote_data.c, remote_rx.c ---------------------------------------- */

/** Give a session its scoreboard, slots and reorder window. @return 0 or
 *  -ENOMEM */
int rtx_wake(struct fcore *c, struct fsession *s);
/** Whether nothing is in flight, held out of order, owed or unsent: the
 *  session may give its buffers back once it has been so for a while. */
bool rtx_can_doze(const struct rtx *t);
/** Whether the peer owes an ack of what is outstanding: its oldest packet
 *  lies inside the peer's edge (past it, the peer drops it unread). */
bool rtx_ack_owed(const struct rtx *t);
/** Give them back if the session has been idle for keepalive_ns. */
void rtx_doze(struct fcore *c, struct fsession *s);
/** The next packet number we send, and the next we expect. */
uint32_t rtx_snd_next(const struct rtx *t);
uint32_t rtx_rcv_next(const struct rtx *t);
/** The flow-control edge we may advertise now (stream offset). */
uint64_t rtx_edge(struct fcore *c, struct fsession *s);
/** A packet of @p type with the ack fields and no data (OPEN: payload). */
void rtx_send(struct fcore *c, struct fsession *s, uint8_t type, uint16_t flags, uint32_t aux,
	      const void *p, uint32_t len);
/** OPEN or ACCEPT, also when sent again: under our first packet number,
 *  where the peer starts its receive window, whatever was sent since. */
void rtx_send_first(struct fcore *c, struct fsession *s, uint8_t type, uint32_t aux, const void *p,
		    uint32_t len);
/** Free a packet the reorder window held (ferry_rxwin_destroy()'s free
 *  callback; @p arg is the session). remote_rx.c */
void rtx_free_rpkt(void *arg, uint32_t seq, void *pkt);
/** Send what the windows allow: losses first, then new bytes. */
void rtx_transmit(struct fcore *c, struct fsession *s);
/** Stream bytes one packet to this session's peer carries. */
uint32_t rtx_mss(struct fcore *c, const struct fsession *s);
/** Move held messages into the client's ring while they fit. */
void rtx_deliver_held(struct fcore *c, struct fsession *s);
/** Drop the whole messages waiting for the client. */
void rtx_drop_held(struct fsession *s);
/** Count @p bytes (may be negative) held for the session and its client. */
void rtx_held_add(struct fsession *s, int64_t bytes);
/** Free everything the data path holds. */
void rtx_free_data(struct fsession *s);
/** Check the ack fields of any packet from the peer, before anything
 *  else of it is believed: a selective ack of numbers never sent is
 *  cleared from @p h (and counted). @return 0, or -1: the cumulative ack
 *  is forged or ancient */
int rtx_check_ack(struct fcore *c, struct fsession *s, struct ferry_wire_hdr *h);
/** Apply the (checked) ack fields. */
void rtx_on_ack(struct fcore *c, struct fsession *s, const struct ferry_wire_hdr *h);
/** A DATA packet. */
void rtx_on_data(struct fcore *c, struct fsession *s, const struct ferry_wire_hdr *h,
		 const uint8_t *p, uint32_t len);
/** The client read: deliver and reopen the window. */
void rtx_on_room(struct fcore *c, struct fsession *s);
/** A DATA record from the session's local end. @return 0, -EAGAIN, -EBADMSG */
int remote_send(struct fcore *c, struct fcore_client *cl, const struct ferry_rec_view *v);
/** Send stream bytes [off, off + len) as packet @p seq, flags @p flags,
 *  payload @p pre (a fragment's header) first. */
int rtx_send_data(struct fcore *c, struct fsession *s, uint32_t seq, uint16_t flags,
		  uint64_t off, uint32_t len, const void *pre, uint32_t prelen);

/* ---- pmtu.c ------------------------------------------------------------ */

enum { PMTU_PROBE_NONE, PMTU_PROBE_UP, PMTU_PROBE_BLACKHOLE };

/** Set up @p p's path MTU (a new peer record). */
void pmtu_init(struct fcore *c, struct fpeer *p);
/** The least @p m may come down to: 576, or its ceiling if that is less. */
uint16_t pmtu_floor(const struct fpmtu *m);
/** Largest UDP payload (ferry header included) a packet to @p p may carry
 *  now: the link's, or less. */
uint32_t pmtu_payload(const struct fcore *c, const struct fpeer *p);
/** Session @p s sent packet @p seq as IP packets of at most @p wire bytes. */
void pmtu_sent(struct fcore *c, struct fsession *s, uint32_t seq, uint32_t wire);
/** An ack came for @p s: did a large packet get through? */
void pmtu_on_ack(struct fcore *c, struct fsession *s);
/** A retransmission timeout of @p s (@p rto, before backoff) declared
 *  packets lost: the lowest of them says whether the path may have
 *  shrunk. */
void pmtu_on_rto(struct fcore *c, struct fsession *s, uint64_t rto);
/** A PONG from @p p echoing @p nonce. @return true when it answered a
 *  probe (else it is the plain PING's, which the caller checks) */
bool pmtu_on_pong(struct fcore *c, struct fpeer *p, uint32_t nonce);
/** The plain PING of @p p came back. */
void pmtu_on_ping_answer(struct fcore *c, struct fpeer *p);
/** When @p p's path MTU next needs its timer (UINT64_MAX: never). */
uint64_t pmtu_next_due(const struct fcore *c, const struct fpeer *p);
void pmtu_timer(struct fcore *c, struct fpeer *p);
/** Whether @p p, with no session left, should be kept for what it knows
 *  of the path. */
bool pmtu_keep(const struct fcore *c, const struct fpeer *p);

/* ---- frag.c ------------------------------------------------------------ */

/** Send packet @p seq, stream bytes [off, off + len), as fragments of at
 *  most @p max payload bytes each. @return the IP size of the largest */
uint32_t frag_send(struct fcore *c, struct fsession *s, uint32_t seq, uint64_t off, uint32_t len,
		   uint32_t max);
/**
 * A DATA packet with FWF_FRAG (its ack fields applied already). Checked
 * and put aside; when it completes its packet, that packet is returned.
 * @return the rebuilt packet's bytes (until frag_done()), with its offset
 *         in *@p off and length in *@p len; or NULL (kept or dropped)
 */
const uint8_t *frag_input(struct fcore *c, struct fsession *s, const struct ferry_wire_hdr *h,
			  const uint8_t *p, uint32_t plen, uint64_t *off, uint32_t *len);
/** The rebuilt packet was handled: the buffer is free again. */
void frag_done(struct fsession *s);
/** Free the reassembly buffer. */
void frag_free(struct fsession *s);

#endif
