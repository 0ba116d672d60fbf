/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shared-memory ABI between ferryd and libferry. This header is the ABI:
 * fixed-width types, offsets instead of pointers, reserved fields, and a
 * static_assert on the size and layout of every shared struct.
 *
 * Files (all created by the daemon; clients never create shared files)
 *
 *   <shm_dir>/client-<id>    one per attached client: TX ring (client ->
 *                            daemon: commands and remote data) and RX ring
 *                            (daemon -> client: events and remote data)
 *   <shm_dir>/session-<id>   one per local session: ring 0 carries messages
 *                            from the opener to the acceptor, ring 1 back
 *   <shm_dir>/status         daemon state and counters; clients and
 *                            ferry-stat map it read-only
 *   memfd "ferry-bell"       one per client: the futex doorbell that client
 *                            sleeps on. Passed by SCM_RIGHTS to the daemon's
 *                            side and to that client's local-session peers,
 *                            never named in the file system.
 *   wake sockets             AF_UNIX datagram socket pairs (since 1.3; 1.2
 *                            used eventfds, which a holder could make
 *                            block), one datagram per wake, sent and read
 *                            with MSG_DONTWAIT. ferryd creates them all:
 *                            - daemon wake, one per client: ferryd waits
 *                              on the receiving end; the client gets the
 *                              sending end
 *                            - client wake and peer wake, one each per
 *                              client that asks at attach
 *                              (FERRY_ATTACH_F_WAKE_SOCK): written to wake
 *                              that client when it waits on them rather
 *                              than the futex (an application's own
 *                              epoll, ferry_fd()). The client gets both
 *                              receiving ends. ferryd alone holds the
 *                              client wake's sending end; the peer wake's
 *                              goes to the client's local-session peers,
 *                              so nothing a peer does to it touches
 *                              ferryd's wakes.
 *
 * Layout of a ring file (client-<id> or session-<id>)
 *
 *   0      +---------------------------------------------+
 *          | struct ferry_shm_hdr     (2 cache lines)    |
 *          |   magic   <- release-stored LAST by daemon  |
 *          |   version, sizes, ring[0..1] descriptors    |
 *   r0.ctl +---------------------------------------------+
 *          | struct ferry_ring_ctl    (5 cache lines)    |
 *          |   line 0  tail             producer writes  |
 *          |   line 1  guard                             |
 *          |   line 2  head             consumer writes  |
 *          |   line 3  guard                             |
 *          |   line 4  producer_waiting  both write      |
 *   r0.data+---------------------------------------------+
 *          | records ... capacity bytes (power of two)   |
 *   r1.ctl +---------------------------------------------+
 *          | struct ferry_ring_ctl                        |
 *   r1.data+---------------------------------------------+
 *          | records ...                                  |
 *          +---------------------------------------------+
 *
 * A record is a 16-byte struct ferry_rec followed by its payload, padded to
 * 16 bytes. Records never wrap: a producer that reaches the end with too
 * little room writes a FERRY_REC_PAD record that fills the rest, and starts
 * again at offset 0. Every shared integer is little-endian host order (the
 * two sides are on one host).
 *
 * Trust: the daemon treats every byte a client can write as hostile, and a
 * client treats its local-session peer the same way; both check each length
 * and offset before use (see ferry_ring.h).
 */
#ifndef FERRY_SHM_H
#define FERRY_SHM_H

#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define FERRY_CACHELINE 64

#define FERRY_SHM_MAGIC_CLIENT 0x544e4c4359524546ull  /* "FERYCLNT" */
#define FERRY_SHM_MAGIC_SESSION 0x4e53455359524546ull /* "FERYSESN" */
#define FERRY_SHM_MAGIC_STATUS 0x5441545359524546ull  /* "FERYSTAT" */

/* A reader rejects another major version; minor versions only add fields
 * in reserved space and feature bits.
 *   1.1  ferry_counter.flags, FERRY_CTL_BYE
 *   1.2  wake fds (eventfds): FERRY_ATTACH_F_WAKE_FD,
 *        FERRY_ATTACHED_F_WAKE_FD, FERRY_FDS_F_WAKE_FD, FERRY_BELL_ON_FD
 *   1.3  wake sockets instead: FERRY_ATTACH_F_WAKE_SOCK,
 *        FERRY_ATTACHED_F_WAKE_SOCK, FERRY_FDS_F_WAKE_SOCK. A 1.3 ferryd
 *        ignores FERRY_ATTACH_F_WAKE_FD (a 1.2 library's ferry_fd() then
 *        says the daemon has no wake descriptors) and gives every client
 *        a socket as its daemon wake, which a 1.2 library's write() of 8
 *        bytes still rings. */
#define FERRY_SHM_VERSION_MAJOR 1
#define FERRY_SHM_VERSION_MINOR 3

/** Descriptor of one ring inside a file: all offsets from the file start. */
struct ferry_ring_desc {
	uint64_t ctl_off;  /* struct ferry_ring_ctl, cache-line aligned */
	uint64_t data_off; /* records, cache-line aligned */
	uint64_t capacity; /* bytes of records, power of two */
};
static_assert(sizeof(struct ferry_ring_desc) == 24, "ring desc ABI");

/**
 * First bytes of every shm file. The creator fills everything, then
 * release-stores magic (partner: the reader's acquire-load of magic in
 * ferry_shm_validate()), so a reader that sees the magic sees the rest.
 */
struct ferry_shm_hdr {
	_Atomic uint64_t magic;
	uint16_t version_major;
	uint16_t version_minor;
	uint32_t hdr_size;  /* sizeof(struct ferry_shm_hdr) */
	uint64_t file_size; /* bytes the reader must be able to map */
	uint32_t features;  /* FERRY_SHM_F_* */
	uint32_t ring_count;
	uint32_t id;        /* client id or session id */
	uint32_t reserved0;
	struct ferry_ring_desc ring[2];
	uint8_t reserved[128 - 88];
};
static_assert(sizeof(struct ferry_shm_hdr) == 128, "shm hdr ABI");
static_assert(offsetof(struct ferry_shm_hdr, ring) == 40, "shm hdr ABI");

/**
 * Control block of one single-producer single-consumer ring.
 *
 * Positions are free-running byte counts (uint64_t). Counting from 0 they
 * would take centuries to wrap, but a peer can start them anywhere, so both
 * sides compare only differences (tail - head, pos - limit), which modular
 * arithmetic keeps right across 2^64, never the positions themselves. The
 * offset of a position in the data area is (pos & (capacity - 1)); the
 * bytes in use are (tail - head), always <= capacity. Keeping positions
 * unmasked means "empty" (head == tail) and "full" (tail - head ==
 * capacity) never look alike.
 *
 * The consumer does not read tail to find records: it acquire-loads the
 * length word of the record at head, which lives in the cache line it is
 * about to read anyway. tail is published for observers (ferry-stat, ring
 * fill) and costs the producer a store to a line nobody else writes.
 */
struct ferry_ring_ctl {
	/* line 0: written by the producer only */
	_Atomic uint64_t tail;
	uint8_t pad0[FERRY_CACHELINE - 8];
	/* line 1: guard against adjacent-line prefetch pairing 0 and 2 */
	uint8_t guard0[FERRY_CACHELINE];
	/* line 2: written by the consumer only. The consumer release-stores
	 * head once it is done reading (partner: the producer's acquire-load
	 * of head when its cached limit runs out). Consumed bytes are not
	 * cleared: see the terminator rule in ferry_ring.h. */
	_Atomic uint64_t head;
	uint8_t pad2[FERRY_CACHELINE - 8];
	uint8_t guard1[FERRY_CACHELINE];
	/* line 4: set to 1 by a producer that found the ring full and went to
	 * sleep; the consumer exchanges it to 0 after freeing space and rings
	 * the producer's bell. */
	_Atomic uint32_t producer_waiting;
	uint32_t reserved4;
	uint8_t pad4[FERRY_CACHELINE - 8];
};
static_assert(sizeof(struct ferry_ring_ctl) == 5 * FERRY_CACHELINE, "ring ctl ABI");
static_assert(offsetof(struct ferry_ring_ctl, head) == 2 * FERRY_CACHELINE, "ring ctl ABI");
static_assert(offsetof(struct ferry_ring_ctl, producer_waiting) == 4 * FERRY_CACHELINE,
	      "ring ctl ABI");

/**
 * Record header. len counts header plus payload (not the padding); 0 means
 * "not published yet" (the producer zeroes the len word after each record
 * it publishes, see ferry_ring.h). The producer writes
 * type, session, aux and the payload, then release-stores len (partner: the
 * consumer's acquire-load of len in ferry_ring_peek()).
 */
struct ferry_rec {
	_Atomic uint32_t len;
	uint16_t type;   /* FERRY_REC_* */
	uint16_t flags;  /* FERRY_RECF_* */
	uint32_t session; /* session id on client rings; 0 on session rings */
	uint32_t aux;     /* per type: cookie, reason, ... */
};
static_assert(sizeof(struct ferry_rec) == 16, "record ABI");

#define FERRY_REC_ALIGN 16u
#define FERRY_REC_HDR ((uint32_t)sizeof(struct ferry_rec))

/* ferry_rec.flags of a DATA record */
#define FERRY_RECF_RPC 0x1u /* the payload starts with struct ferry_rpc_hdr */

/** Header of an RPC request or response, at the start of the payload of a
 *  DATA record flagged FERRY_RECF_RPC (and carried as is across hosts). */
struct ferry_rpc_hdr {
	uint8_t kind; /* FERRY_RPC_REQUEST or FERRY_RPC_RESPONSE */
	uint8_t reserved0;
	uint16_t type; /* the request type the caller chose */
	int32_t status; /* response: 0, or -errno from the server side */
	uint64_t id;    /* chosen by the caller, echoed in the response */
};
static_assert(sizeof(struct ferry_rpc_hdr) == 16, "rpc ABI");
enum { FERRY_RPC_REQUEST = 1, FERRY_RPC_RESPONSE = 2 };

enum ferry_rec_type {
	/* any ring */
	FERRY_REC_PAD = 1,  /* filler to the end of the data area */
	FERRY_REC_DATA = 2, /* one whole message; on client rings, session names
			     * the (remote) session it belongs to */

	/* client TX ring: commands, payload as named */
	FERRY_CMD_LISTEN = 16,   /* aux = cookie; struct ferry_cmd_service */
	FERRY_CMD_UNLISTEN = 17, /* aux = cookie; struct ferry_cmd_service */
	FERRY_CMD_CONNECT = 18,  /* aux = cookie; struct ferry_cmd_connect */
	FERRY_CMD_ACCEPT = 19,   /* session */
	FERRY_CMD_CLOSE = 20,    /* session (0 if not known yet), aux = reason;
				  * struct ferry_cmd_close */

	/* client RX ring: events, payload as named */
	FERRY_EVT_LISTEN = 32,   /* aux = cookie; struct ferry_evt_status */
	FERRY_EVT_INCOMING = 33, /* session; struct ferry_evt_incoming */
	FERRY_EVT_UP = 34,       /* session, aux = cookie; struct ferry_evt_up */
	FERRY_EVT_DOWN = 35,     /* session, aux = cookie; struct ferry_evt_status */
};

/* Service names: up to 31 bytes plus NUL; a number is its decimal spelling. */
#define FERRY_SERVICE_MAX 32

struct ferry_cmd_service {
	char service[FERRY_SERVICE_MAX];
};

struct ferry_cmd_connect {
	uint32_t ipv4;    /* network byte order; 0 = this host */
	uint32_t flags;
	char service[FERRY_SERVICE_MAX];
};
static_assert(sizeof(struct ferry_cmd_connect) == 40, "cmd ABI");

struct ferry_cmd_close {
	uint32_t cookie; /* the connect's cookie, for a session not yet numbered */
	uint32_t reserved;
};

struct ferry_evt_status {
	int32_t status; /* 0, -errno, or a FERRY_REASON_* value (ferry.h) */
	uint32_t reserved;
};

struct ferry_evt_incoming {
	uint32_t peer_ipv4; /* network byte order; 0 = this host */
	uint32_t peer_pid;  /* local peers: the opener's pid */
	uint32_t peer_uid;
	uint32_t flags;     /* FERRY_EVTF_LOCAL */
	char service[FERRY_SERVICE_MAX];
};
static_assert(sizeof(struct ferry_evt_incoming) == 48, "evt ABI");

/* EVT_UP payload. For a local session the daemon has already sent, on the
 * control socket, a struct ferry_ctl_fds message with the session file and
 * the peer's bell; the client receives it before acting on this event. */
struct ferry_evt_up {
	uint32_t flags;   /* FERRY_EVTF_LOCAL */
	uint32_t role;    /* 0: opener (produces ring 0), 1: acceptor (ring 1) */
	uint32_t peer_ipv4; /* network byte order; 0 for a local peer */
	uint32_t peer_pid;  /* local peers */
	uint32_t max_message; /* largest message this session carries */
	uint32_t reserved;
};
static_assert(sizeof(struct ferry_evt_up) == 24, "evt ABI");

#define FERRY_EVTF_LOCAL 1u

/**
 * Futex doorbell, alone in its memfd page. The owner sleeps on seq; anyone
 * who made work for the owner wakes it, but only when sleeping is set: the
 * owner stores sleeping = FERRY_BELL_ON_FUTEX, issues a seq_cst fence,
 * re-checks its rings, then futex-waits on seq; a waker publishes its
 * record, issues a seq_cst fence, then reads sleeping. One of the two
 * fences comes first, so either the owner sees the record or the waker
 * sees the flag. The waker that exchanges sleeping to 0 wakes the owner
 * the way the value says: FERRY_BELL_ON_FUTEX, bump seq and futex_wake;
 * FERRY_BELL_ON_FD (1.2), send one datagram to the owner's wake socket
 * (1.3; ferryd's on its client wake, a local-session peer's on its peer
 * wake), which the owner (or the application's event loop) waits on. A
 * 1.1 waker futex-wakes on any non-zero value: an owner waits on its
 * sockets only where every waker has one (see ferry_fd() in ferry.h).
 */
struct ferry_bell {
	_Atomic uint32_t seq;
	_Atomic uint32_t sleeping; /* 0, FERRY_BELL_ON_FUTEX, FERRY_BELL_ON_FD */
	uint8_t pad[FERRY_CACHELINE - 8];
};
static_assert(sizeof(struct ferry_bell) == FERRY_CACHELINE, "bell ABI");
static_assert(offsetof(struct ferry_bell, sleeping) == 4, "bell ABI");
#define FERRY_BELL_FILE_SIZE 4096u
#define FERRY_BELL_ON_FUTEX 1u
#define FERRY_BELL_ON_FD 2u

/* ---- status file ------------------------------------------------------ */

/**
 * <shm_dir>/status: daemon state and counters, written by the daemon only.
 *
 *   0      struct ferry_shm_hdr (magic FERRY_SHM_MAGIC_STATUS, ring_count 0)
 *   128    struct ferry_status_daemon (2 cache lines)
 *   256    struct ferry_counter[counter_max]  (128 bytes each)
 *
 * Counters are single-writer: the daemon updates a value with a relaxed load
 * and store (no read-modify-write needed), readers load it relaxed; 64-bit
 * aligned loads never tear. A slot is claimed by writing label, type and
 * owner and then release-storing state = FERRY_COUNTER_ACTIVE (partner: the
 * reader's acquire-load of state); freed by storing FERRY_COUNTER_FREE.
 */
struct ferry_status_daemon {
	/* line 0: the daemon's sleep flag. Set while the daemon sleeps in
	 * epoll_wait; a client that made work for it (a command or data in
	 * its TX ring) rings the daemon wake when it sees the flag,
	 * with the fence protocol described at struct ferry_bell. */
	_Atomic uint32_t daemon_sleeping;
	uint32_t reserved0;
	uint8_t pad0[FERRY_CACHELINE - 8];
	/* line 1: identity and liveness, for observers */
	uint32_t pid;
	uint32_t counter_max;
	uint64_t start_unix_ns;
	_Atomic uint64_t heartbeat_unix_ns; /* refreshed every loop tick */
	char version[32];
	uint8_t pad1[FERRY_CACHELINE - 56];
};
static_assert(sizeof(struct ferry_status_daemon) == 2 * FERRY_CACHELINE, "status ABI");

enum ferry_counter_state { FERRY_COUNTER_FREE = 0, FERRY_COUNTER_ACTIVE = 1 };

/* What a counter's value means, for ferry-stat's rates. */
enum ferry_counter_type {
	FERRY_CTR_COUNT = 1, /* monotonic count of events */
	FERRY_CTR_GAUGE = 2, /* a current level (clients attached, bytes used) */
};

/* ferry_counter.flags (minor 1; files of minor 0 have 0 there) */
#define FERRY_CTR_F_UNAVAILABLE 0x1u /* the device has no such counter: the
				      * value means nothing; show "unavailable",
				      * never 0 */

struct ferry_counter {
	_Atomic uint64_t value;
	_Atomic uint32_t state;
	uint32_t type;  /* enum ferry_counter_type */
	uint32_t owner; /* 0: daemon-wide; else client or session id */
	_Atomic uint32_t flags; /* FERRY_CTR_F_*; relaxed, like value */
	char label[104]; /* "scope.name", e.g. "daemon.clients_attached",
			  * "client.7.commands"; NUL-terminated */
};
static_assert(sizeof(struct ferry_counter) == 128, "counter ABI");
static_assert(offsetof(struct ferry_counter, flags) == 20, "counter flags ABI");
static_assert(offsetof(struct ferry_counter, label) == 24, "counter label ABI");

#define FERRY_STATUS_COUNTERS_OFF (sizeof(struct ferry_shm_hdr) + sizeof(struct ferry_status_daemon))

/* ---- control socket messages (SOCK_SEQPACKET) ------------------------- */

#define FERRY_CTL_MAGIC 0x4652594bu /* "KYRF" */

enum ferry_ctl_type {
	FERRY_CTL_ATTACH = 1,   /* client -> daemon, first message */
	FERRY_CTL_ATTACHED = 2, /* daemon -> client; fds: ring file, own bell,
				 * daemon wake (sending end; an eventfd before
				 * 1.3), status file (read-only), and with
				 * FERRY_ATTACHED_F_WAKE_SOCK the receiving ends
				 * of its client wake and its peer wake */
	FERRY_CTL_FDS = 3,      /* daemon -> client; fds: session file, peer bell,
				 * and with FERRY_FDS_F_WAKE_SOCK the sending end
				 * of the peer's peer wake */
	FERRY_CTL_BYE = 4,      /* daemon -> client, last: why it is disconnected
				 * (since 1.1; older libraries just see the
				 * hang-up) */
};

/* ferry_ctl_attach.flags: the library waits on a wake eventfd too (1.2
 * only; a 1.3 ferryd ignores it) */
#define FERRY_ATTACH_F_WAKE_FD 1u
/* ferry_ctl_attach.flags: the library waits on wake sockets too (1.3) */
#define FERRY_ATTACH_F_WAKE_SOCK 2u
/* ferry_ctl_attached.flags: a wake eventfd follows the status file (1.2) */
#define FERRY_ATTACHED_F_WAKE_FD 1u
/* ferry_ctl_attached.flags: the client wake and peer wake follow the
 * status file (1.3) */
#define FERRY_ATTACHED_F_WAKE_SOCK 2u
/* ferry_ctl_fds.flags: the peer's wake eventfd follows its bell (1.2) */
#define FERRY_FDS_F_WAKE_FD 1u
/* ferry_ctl_fds.flags: the sending end of the peer's peer wake follows its
 * bell (1.3); set on both ends' messages or on neither, so each peer can
 * wake the other */
#define FERRY_FDS_F_WAKE_SOCK 2u

struct ferry_ctl_attach {
	uint32_t magic;
	uint16_t type;
	uint16_t version_major; /* FERRY_SHM_VERSION_MAJOR the client speaks */
	uint16_t version_minor;
	uint16_t reserved;
	uint32_t flags;         /* FERRY_ATTACH_F_* */
	char name[32]; /* for counters and logs; need not be terminated */
};
static_assert(sizeof(struct ferry_ctl_attach) == 48, "ctl ABI");
static_assert(offsetof(struct ferry_ctl_attach, flags) == 12, "ctl ABI");

struct ferry_ctl_attached {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;           /* FERRY_ATTACHED_F_*; 1.0 and 1.1 sent 0 here */
	int32_t status;           /* 0, or -errno when refused */
	uint32_t client_id;
	uint64_t max_message_size;
	char reason[96];          /* when refused: why, for ferry_errmsg() */
};
static_assert(sizeof(struct ferry_ctl_attached) == 120, "ctl ABI");
static_assert(offsetof(struct ferry_ctl_attached, flags) == 6, "ctl ABI");

struct ferry_ctl_fds {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;           /* FERRY_FDS_F_*; 1.0 and 1.1 sent 0 here */
	uint32_t session;
	uint32_t reserved2;
};
static_assert(sizeof(struct ferry_ctl_fds) == 16, "ctl ABI");

struct ferry_ctl_bye {
	uint32_t magic;
	uint16_t type;
	uint16_t reserved;
	int32_t status;    /* what the library reports from then on (-EPROTO:
			    * the client broke the protocol) */
	uint32_t reserved2;
	char reason[112];  /* for ferry_errmsg(); NUL-terminated */
};
static_assert(sizeof(struct ferry_ctl_bye) == 128, "ctl ABI");

#endif
