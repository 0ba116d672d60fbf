/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry's protocol engine: services, local and remote sessions, the
 * handshake, reliable delivery, flow and congestion control, liveness.
 *
 * The core does no I/O and has no globals. It is handed, at creation:
 *   - its settings (struct fcore_params: plain values, no libconfig),
 *   - a clock (fcore_set_now() before each call; nothing reads a clock),
 *   - a random source (session ids, first packet numbers, incarnation),
 *   - ops tables for its edges: the clients (struct fcore_client_ops), the
 *     link to other hosts (struct fcore_link_ops), and the counters
 *     (struct fcore_stats_ops).
 * Edges call in through the fcore_* functions below. So two instances can
 * be joined by a simulated link in a unit test, and one instance per lcore
 * could each own the sessions whose flows hash to its queue.
 *
 *             main.c (the loop)
 *            /       |        \
 *   clients/ edge  nic/ edge   obs/ (status file, log, sd-notify)
 *            \       |
 *             core/ (this) ---> transport/ (sack, rtt, cc, rxwin)
 *
 * The re-entrancy rule. Nothing the core calls in an edge calls back into
 * the core, and nothing the core hands out is freed in the middle of a
 * call:
 *   - an edge op never reclaims a client synchronously: a client that must
 *     go (stuck, corrupt, out of memory) is marked and reclaimed by its
 *     edge at the loop's safe point, which then tells the core with
 *     fcore_client_gone();
 *   - the core never frees a session while it is inside a call: ending a
 *     session marks it dead (it drops out of every lookup at once) and the
 *     record is freed when the outermost fcore_* call returns. Every walk
 *     over sessions therefore survives its body ending any of them.
 * Debug builds check both: the core asserts it frees only at depth zero,
 * and fcore_busy() lets an edge assert it never frees a client from
 * inside the core.
 */
#ifndef FERRY_CORE_H
#define FERRY_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>

#include "ferry_ring.h"
#include "ferry_shm.h"

struct fcore;
struct fsession;
struct fsession_link;

/* The core's part of a client. The client edge embeds it in its own record
 * and initialises it with fcore_client_init(); the core keeps here what it
 * needs of a client and nothing else reaches into the edge's record. */
struct fcore_client {
	uint32_t id;
	uint32_t pid, uid;
	uint32_t n_sessions;
	uint32_t n_listens;
	uint64_t rx_held;     /* bytes remote sessions hold for it */
	bool draining;        /* hung up: its last commands are taken even
			       * past a full send buffer (bounded by its ring) */
	bool gone;            /* being reclaimed: nothing more is emitted */
	LIST_HEAD(, fsession_link) sessions; /* its sessions, either end */
	/* its remote sessions that asked to hear when it reads (want_room):
	 * what fcore_client_room() visits, so a read costs what is active */
	LIST_HEAD(, fsession) room_waiters;
	LIST_ENTRY(fcore_client) link;  /* the core's list of clients */
	struct ferry_counter *c_sessions;
};

/** The edge to the clients. Every op may be called at any time from inside
 *  an fcore_* call; none may call back into the core (see above). */
struct fcore_client_ops {
	void *arg;
	/** Write an event to @p c's event ring, or queue it in order.
	 *  @return 0, or -1 when @p c cannot take it (it is being reclaimed,
	 *          or has just been marked for reclaim: stuck or corrupt) */
	int (*emit)(void *arg, struct fcore_client *c, uint16_t type, uint32_t session,
		    uint32_t aux, const void *payload, uint32_t len);
	/** A message into @p c's event ring, never queued (that would let a
	 *  peer fill the daemon's memory). @return 0, or -EAGAIN: no room now
	 *  (or events are queued ahead of it), -1: @p c cannot take it */
	int (*emit_data)(void *arg, struct fcore_client *c, uint32_t session, uint16_t flags,
			 const void *payload, uint32_t len);
	/** Bytes free in @p c's event ring. */
	uint64_t (*room)(void *arg, struct fcore_client *c);
	/** The core waits for @p c to read: have fcore_client_room() called
	 *  when it next does. @p len > 0: a message of @p len bytes waits;
	 *  @return true (and nothing armed) when emit_data() of @p len bytes
	 *  would succeed now. @p len 0: always armed, @return false */
	bool (*want_room)(void *arg, struct fcore_client *c, uint32_t len);
	/** Set up local session @p session: its rings, passed to both clients.
	 *  @return 0, or -errno (the core ends the session with a reason) */
	int (*local_up)(void *arg, struct fcore_client *opener, struct fcore_client *acceptor,
			uint32_t session);
	/** @p c broke the protocol or cannot be served: reclaim it at the
	 *  loop's safe point, telling it @p why. */
	void (*reclaim)(void *arg, struct fcore_client *c, int reason, const char *why);
};

/** The edge to other hosts: UDP payloads to and from the peers' ferryds. */
struct fcore_link_ops {
	void *arg;
	/** Send one ferry packet (header, then two pieces of payload, either
	 *  may be empty) from UDP port @p sport to @p ip:@p dport, copying it.
	 *  @return 0 or -errno (counted; the transport recovers) */
	int (*send)(void *arg, uint32_t ip, uint16_t sport, uint16_t dport, const void *hdr,
		    uint16_t hlen, const void *p1, uint32_t l1, const void *p2, uint32_t l2);
	/** Largest UDP payload (ferry header included) a packet to @p ip may
	 *  carry on this link. The core keeps a path MTU per peer on top of
	 *  it (fcore_path_mtu(), pmtu.c), and uses the smaller. */
	uint32_t (*max_payload)(void *arg, uint32_t ip);
	/** Optional: a count that moves when the network says it drops our
	 *  packets for exceeding an allowance (AWS ENA): congestion control
	 *  backs off when it moves. */
	uint64_t (*drop_epoch)(void *arg);
};

/** Counters: where the core's named counters live (the status file). */
struct fcore_stats_ops {
	void *arg;
	/** A counter named @p label (FERRY_CTR_COUNT or _GAUGE); never NULL. */
	struct ferry_counter *(*alloc)(void *arg, uint32_t type, uint32_t owner, const char *label);
	void (*free)(void *arg, struct ferry_counter *c);
};

/** A peer subnet: address and prefix length, host order. */
struct fcore_cidr {
	uint32_t addr;
	uint8_t prefix_len;
};

/** A peer subnet's path MTU (net.peer_mtus): IP bytes, host order. */
struct fcore_peer_mtu {
	uint32_t addr;
	uint8_t prefix_len;
	uint16_t mtu;
};

/** Security modes (security.mode; daemon/core/SECURITY.md). */
enum fcore_sec_mode {
	FCORE_SEC_NONE = 0,         /* packets as they are: no handshake */
	FCORE_SEC_AUTHENTICATE = 1, /* every packet authenticated, not hidden */
	FCORE_SEC_ENCRYPT = 2,      /* authenticated and encrypted */
};

/** A peer's static public key trusted from one subnet (one per pair). */
struct fcore_trusted {
	uint8_t key[32];       /* X25519 public key */
	struct fcore_cidr net; /* where it may speak from (host order) */
};

/** The core's settings (ferryd fills them from its configuration). */
struct fcore_params {
	/* this host; local_ip 0: no link, remote sessions are unreachable */
	uint32_t local_ip;
	uint8_t local_prefix_len;  /* its subnet (peers beyond: via a gateway) */
	uint16_t udp_port;         /* where peers send to */
	uint16_t flow_port_first;  /* sessions send from these ports, one */
	uint16_t flow_port_count;  /* each (1: every session from udp_port) */
	/* limits */
	uint32_t max_sessions;
	uint32_t max_sessions_per_client;
	uint32_t max_listens_per_client;
	uint32_t max_half_open_per_peer; /* remote sessions not yet accepted */
	uint32_t max_message;            /* ipc.max_message_size */
	uint64_t client_ring_size;       /* a client's event ring, bytes */
	/* transport */
	uint64_t open_timeout_ns;
	uint64_t keepalive_ns;
	uint64_t peer_timeout_ns;
	uint64_t ack_delay_ns;
	uint64_t rto_min_ns, rto_max_ns;
	uint64_t cc_target_ns;
	double cc_min_cwnd;
	/* peers allowed to talk to us (none listed: any) */
	const struct fcore_cidr *allowed_peers;
	uint32_t n_allowed_peers;
	/* path MTU: a peer starts at the first entry whose subnet holds it
	 * (none: the link's), and probes up every pmtu_probe_ns while below */
	const struct fcore_peer_mtu *peer_mtus;
	uint32_t n_peer_mtus;
	uint64_t pmtu_probe_ns;          /* 0: 60 s */
	/* a random 32-bit value each call (ids, first numbers, nonces) */
	uint32_t (*random32)(void *arg);
	void *random_arg;
	/* security: with FCORE_SEC_NONE nothing below is used */
	enum fcore_sec_mode sec_mode;
	uint8_t sec_private_key[32];        /* ours (X25519); the core keeps
					     * its own copy: wipe this one */
	const struct fcore_trusted *trusted; /* must outlive the core */
	uint32_t n_trusted;
	int64_t wall_offset_ns; /* now + this: the wall clock, ns (handshake
				 * timestamps must grow across restarts) */
	uint32_t sec_aeads;     /* FCORE_AEAD_* offered; 0: all this CPU runs */
	uint64_t sec_rekey_ns;      /* new keys after this long; 0: 120 s */
	uint64_t sec_rekey_packets; /* ... or this many packets; 0: the AEAD's
				     * limit (AES-GCM 2^22, ChaCha20 2^60) */
};

/* fcore_params.sec_aeads, fcore_channel_aead() */
#define FCORE_AEAD_CHACHA20POLY1305 0x1u
#define FCORE_AEAD_AES256GCM 0x2u

/** Remote-session counters ("remote.*"); fcore_counter() reads them. */
#define FCORE_REMOTE_COUNTERS(X)                                                   \
	X(RX_MALFORMED, "rx_malformed")           /* short, bad type, bad payload */ \
	X(RX_UNKNOWN, "rx_unknown_session")       /* names no session of ours */     \
	X(RX_DATA, "rx_messages")                                                    \
	X(TX_DATA, "tx_messages")                                                    \
	X(TX_FAILED, "tx_failed")                                                    \
	X(RX_PACKETS, "rx_packets")                                                  \
	X(TX_PACKETS, "tx_packets")                                                  \
	X(TX_RETRANSMITS, "tx_retransmits")                                          \
	X(RX_DUP, "rx_duplicates")                /* a packet seen before */         \
	X(RX_OOO, "rx_out_of_order")              /* held until a gap filled */      \
	X(RX_BEYOND, "rx_beyond_window")          /* past the window, in packets   \
						   * or bytes */                     \
	X(TX_ACKS, "tx_acks")                     /* ACK packets */                  \
	X(RTO, "rto_timeouts")                                                       \
	X(SPURIOUS_RTO, "rto_spurious")           /* undone: the originals had   \
						   * arrived (F-RTO) */             \
	X(TX_PROBES, "tx_probes")                 /* window probes */                \
	X(PEER_TIMEOUTS, "peer_timeouts")         /* sessions ended: peer silent */  \
	X(TX_RESETS, "tx_resets")                 /* RESET sent: unknown session */  \
	X(PROTOCOL, "protocol_errors")            /* a stream we cannot take */      \
	X(ACKS_INVALID, "acks_invalid")           /* acks of packets never sent */   \
	X(SEND_STALLS, "send_stalls")             /* a full send buffer: waited */   \
	X(RX_REJECTED, "rx_rejected")             /* sequence fields that do not   \
						   * fit the session: dropped */     \
	X(RX_NOT_ALLOWED, "rx_not_allowed")       /* from outside allowed_peers */   \
	X(HALF_OPEN_REFUSED, "half_open_refused") /* OPENs past the per-peer cap */  \
	X(STALLED, "stalled_sessions")            /* ended: no progress */           \
	X(PEER_RESTARTS, "peer_restarts")         /* a peer came back as another   \
						   * incarnation */                  \
	X(TX_PINGS, "tx_pings")                                                      \
	X(RX_PONGS, "rx_pongs")                                                      \
	X(PMTU_ICMP, "pmtu_icmp_lowered")         /* a peer's path MTU lowered by  \
						   * ICMP fragmentation needed */    \
	X(PMTU_ICMP_IGNORED, "pmtu_icmp_ignored") /* reports not below the size in \
						   * use, or for no flow of ours */  \
	X(PMTU_BLACKHOLE, "pmtu_blackhole_lowered") /* lowered: large packets    \
						   * lost, small ones answered */    \
	X(PMTU_PROBES, "pmtu_probes")             /* padded PINGs (path MTU) */    \
	X(PMTU_RAISED, "pmtu_raised")             /* a larger probe answered */    \
	X(TX_FRAGS, "tx_fragments")               /* pieces of packets resent     \
						   * after the path shrank */        \
	X(RX_FRAGS, "rx_fragments")               /* pieces taken for reassembly */ \
	X(RX_FRAGS_DROPPED, "rx_fragments_dropped") /* malformed, inconsistent,   \
						   * or of a packet given up */      \
	X(RX_REASSEMBLED, "rx_reassembled")       /* packets made whole again */    \
	/* secure channels (secure.c) */                                             \
	X(RX_AUTH_FAILED, "rx_auth_failed")       /* sealed, the tag fails */        \
	X(RX_REPLAYED, "rx_replayed")             /* a counter seen before or too  \
						   * old to judge */                 \
	X(RX_UNKNOWN_KEY, "rx_unknown_key")       /* sealed with keys we do not    \
						   * hold (or expired) */            \
	X(RX_SEC_MISMATCH, "rx_security_mismatch") /* plain when sealed is due, or \
						    * sealed with mode none */       \
	X(TX_HANDSHAKES, "tx_handshakes")         /* initiations sent */             \
	X(HANDSHAKES, "handshakes_done")          /* keys agreed (either role) */    \
	X(HS_INVALID, "rx_handshake_invalid")     /* do not verify, replayed, or   \
						   * answer nothing we asked */      \
	X(HS_REFUSED, "handshakes_refused")       /* untrusted key or address, a   \
						   * mode mismatch: either way */    \
	X(HS_LIMITED, "handshakes_rate_limited")                                     \
	X(REKEYS, "rekeys")                       /* handshakes for aged keys */     \
	X(TX_UNKEYED_DROPPED, "tx_unkeyed_dropped") /* waited for keys in vain */

#define FCORE_X_ENUM(e, name) FC_##e,
enum fcore_counter_id { FCORE_REMOTE_COUNTERS(FCORE_X_ENUM) FC_COUNT };
#undef FCORE_X_ENUM

/**
 * Create a core. The ops tables and @p p are copied (the cidr and trusted
 * lists are not: they must outlive the core).
 * @return 0, -EINVAL (a missing op or random source; a security mode with
 *         a private key libsodium refuses), -ENOMEM, -ENOSYS (libsodium
 *         does not start)
 */
int fcore_create(struct fcore **out, const struct fcore_params *p,
		 const struct fcore_client_ops *cops, const struct fcore_link_ops *lops,
		 const struct fcore_stats_ops *sops, uint64_t now_ns);
/** End every session without telling anyone and free the core. */
void fcore_destroy(struct fcore *c);

/** The clock for the calls that follow, ns (monotonic). */
void fcore_set_now(struct fcore *c, uint64_t now_ns);

/** This core's incarnation (sent to peers). */
uint32_t fcore_incarnation(const struct fcore *c);

/** The AEAD (FCORE_AEAD_*) of the keys this core sends to @p ip with now,
 *  0 when it has none (or security.mode is none). */
unsigned fcore_channel_aead(const struct fcore *c, uint32_t ip);

/* ---- from the client edge ---------------------------------------------- */

/** Make @p cl known (zeroed, then filled). @p sessions: the edge's gauge
 *  of the client's session count (the edge frees it after
 *  fcore_client_gone()). */
void fcore_client_init(struct fcore *c, struct fcore_client *cl, uint32_t id, uint32_t pid,
		       uint32_t uid, struct ferry_counter *sessions);
/**
 * One command record from @p cl's command ring (hostile memory: the core
 * copies and checks everything).
 * @return 0; -EAGAIN: not taken now (a full send buffer), present it again
 *         later; -EBADMSG: a command no well-behaved client sends (the
 *         edge disconnects the client)
 */
int fcore_command(struct fcore *c, struct fcore_client *cl, const struct ferry_rec_view *v);
/** @p cl has read from its event ring: move what waits for it along. */
void fcore_client_room(struct fcore *c, struct fcore_client *cl);
/** @p cl is gone: end its sessions (their peers see @p reason) and drop its
 *  services. Called by the edge at its safe point; @p cl may be freed
 *  when this returns. */
void fcore_client_gone(struct fcore *c, struct fcore_client *cl, int reason);

/* ---- from the link edge ------------------------------------------------ */

/**
 * A ferry packet (the UDP payload) from @p ip:@p port to our @p dport
 * (host order). Hostile bytes: everything is checked.
 * @return true when it belonged to a live session (or was a PING from the
 *         incarnation we know, or the PONG to our PING, of a peer with
 *         sessions) and that peer has not vouched for its address for a
 *         second: the caller confirms the peer's ARP entry (upper-layer
 *         confirmation, RFC 1122 2.3.2.1)
 */
bool fcore_input(struct fcore *c, uint32_t ip, uint16_t port, uint16_t dport, const uint8_t *p,
		 uint32_t len);
/**
 * A router says a packet we sent to @p ip:@p port from our port @p sport
 * was too big for a link of @p mtu bytes (IP MTU; ICMP fragmentation
 * needed, whose quote the NIC edge checked). When some flow of ours with
 * that peer uses those ports, the peer's path MTU drops to @p mtu, but
 * never below 576 (a forged report may slow a flow, not stop it); packets
 * already sent larger are resent in fragments (wire.h).
 * @return true when the peer's path MTU went down
 */
bool fcore_path_mtu(struct fcore *c, uint32_t ip, uint16_t port, uint16_t sport, uint16_t mtu);
/** @p ip (a next hop) did not answer ARP: sessions behind it end, or (still
 *  opening) learn that they may be unreachable. @p all: @p ip is the
 *  gateway, so every off-subnet peer is behind it. */
void fcore_unreachable(struct fcore *c, uint32_t ip, bool all);

/* ---- from the loop ----------------------------------------------------- */

/** Send what is due, run due timers. @return packets sent (work done) */
unsigned fcore_poll(struct fcore *c);
/** @return ns until fcore_poll() has a timer to run, 0 if now, -1 if none */
int64_t fcore_next_timer(const struct fcore *c);
/** The daemon is stopping: every session ends with FERRY_REASON_SHUTDOWN,
 *  every local end and every peer is told. */
void fcore_shutdown(struct fcore *c);

/* ---- for observers ----------------------------------------------------- */

uint32_t fcore_sessions(const struct fcore *c);
/** The path MTU (IP bytes) the core uses towards @p ip now; 0 when it
 *  keeps no record of that peer. */
uint32_t fcore_peer_mtu(const struct fcore *c, uint32_t ip);
/** Depth of fcore_* calls in progress: an edge asserts it is 0 before
 *  freeing anything the core might hold. */
unsigned fcore_busy(const struct fcore *c);
/** Bytes held for clients by remote sessions, and a check of the core's
 *  invariants (session counts, held bytes, per-client bounds).
 *  @return 0, or -1 with the broken invariant in @p why (tests, fuzzing) */
int fcore_check(const struct fcore *c, char *why, unsigned whylen);
/** Memory the core holds for remote sessions' buffers, bytes (the scale
 *  benchmark's per-session figure). */
uint64_t fcore_buffer_bytes(const struct fcore *c);
/** One line per queued session timer, for debugging. */
void fcore_debug_dump(const struct fcore *c, FILE *f);

#endif
