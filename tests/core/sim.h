/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two protocol engines (daemon/core) joined by a simulated link, with an
 * injected clock and the NIC's own fault injector, and clients that are
 * plain records of the events they got. No DPDK, no sockets, no files, no
 * root: everything the engine does is seen and every run is fixed by its
 * seed.
 *
 * The link: each direction is a FIFO with a one-way delay and a
 * bandwidth (so a burst queues and the engine's delay-based congestion
 * control sees it), a drop-tail limit, and a fault injector that drops,
 * duplicates or reorders (holds back) packets. A "corrupted" packet is
 * dropped: the UDP checksum would have. A direction may also have a path
 * MTU narrower than the link's (path_mtu): larger packets are dropped on
 * the way, and with icmp set the sender hears "fragmentation needed"
 * (fcore_path_mtu()) one delay later, as from a router.
 *
 * A client's event ring is modelled by its capacity and the bytes its
 * unread events take; reading frees them and, when the engine asked
 * (want_room), calls fcore_client_room() as the real edge does.
 */
#ifndef FERRY_TEST_CORE_SIM_H
#define FERRY_TEST_CORE_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "net_fault.h"

#define SIM_HOSTS 2
#define SIM_CLIENTS 4
#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull

struct sim;
struct sim_host;

struct sim_event {
	uint16_t type;  /* FERRY_EVT_* or FERRY_REC_DATA */
	uint32_t session;
	uint32_t aux;
	uint32_t len;
	uint8_t *data;
	int32_t status; /* EVT_DOWN, EVT_LISTEN: the status payload */
};

struct sim_client {
	struct fcore_client core;
	struct sim_host *h;
	bool attached;
	uint64_t ring_cap;   /* its event ring */
	uint64_t ring_used;  /* bytes of events not yet read */
	bool want;           /* the engine waits for it to read */
	bool stalled;        /* the test's reader does not read */
	uint64_t want_calls; /* the engine's want_room calls */
	uint64_t rooms;      /* fcore_client_room() calls (reads it waited for) */
	int reclaim_reason;  /* the engine asked for reclaim (0: no) */
	struct sim_event *ev;
	uint32_t n_ev, cap_ev, read_ev; /* [read_ev, n_ev) unread */
	uint32_t next_cookie;
	struct ferry_counter ctr;
};

struct sim_pkt {
	uint64_t at;  /* arrival */
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t len;
	uint8_t *data;
};

/* A "fragmentation needed" on its way back to the sender. */
struct sim_icmp {
	uint64_t at;
	uint16_t port, sport, mtu; /* the dropped packet's ports, the path's MTU */
};

#define SIM_ICMP_MAX 64 /* in flight at once; more are not sent (rate limit) */

struct sim_dir {
	struct sim_pkt *q;
	uint32_t head, n, cap;
	uint64_t busy_until; /* the wire is busy sending until */
	struct ferry_fault fault;
	uint64_t sent, delivered, dropped, queued_drop;
	/* the path: IP packets larger than path_mtu are dropped (0: none) */
	uint32_t path_mtu;
	bool icmp;           /* ... and reported to the sender */
	uint64_t too_big;    /* packets dropped for it */
	uint32_t max_ip;     /* the largest IP packet sent this way */
	struct sim_icmp icmp_q[SIM_ICMP_MAX];
	uint32_t icmp_n;
};

struct sim_host {
	struct sim *s;
	int idx;
	uint32_t ip;
	struct fcore *core;
	uint64_t rng;
	bool cut;            /* its link is down (both directions) */
	/* descheduled: for stall_ns of every stall_every_ns the host does
	 * nothing (packets wait for it, its timers too), as a daemon sharing
	 * a core with others would */
	uint64_t stall_every_ns, stall_ns, stall_phase_ns;
	uint64_t arp_confirms; /* fcore_input() said to confirm the sender */
	struct sim_client cl[SIM_CLIENTS];
	struct fcore_params p;
};

struct sim {
	uint64_t now;
	uint64_t delay_ns;   /* one way */
	uint64_t ns_per_kb;  /* serialization: ns per 1000 bytes (0: infinite) */
	uint32_t queue_max;  /* packets a direction holds (drop-tail) */
	uint32_t mtu_payload;/* UDP payload (ferry header included) */
	struct sim_host h[SIM_HOSTS];
	struct sim_dir dir[SIM_HOSTS]; /* dir[i]: packets from host i */
	struct ferry_counter dummy;
	uint64_t counters_alloc;
	/* called after each step, for clients that act (echo, read ...) */
	void (*on_step)(struct sim *s, void *arg);
	void *step_arg;
	/* a check after every step (fcore_check of both engines) */
	bool check;
};

/** Two hosts 10.0.0.1 and 10.0.0.2, 10 us apart at 10 Gb/s, no faults.
 *  @p tweak may change either host's params before its engine starts. */
void sim_init(struct sim *s, uint64_t seed, void (*tweak)(struct fcore_params *p, int host));
void sim_fini(struct sim *s);
/** Faults on packets from host @p from (rates as in net_fault.h). */
void sim_faults(struct sim *s, int from, uint64_t seed, double drop, double dup, double reorder);
/** Replace host @p i's engine by a new one (a restarted ferryd). */
void sim_restart(struct sim *s, int i);
/** Tell host @p h, now, that a packet to the other host from our port
 *  @p sport to its @p port met a link of @p mtu bytes (a router's ICMP, or
 *  a forgery). @return what fcore_path_mtu() said */
bool sim_frag_needed(struct sim *s, int h, uint16_t port, uint16_t sport, uint16_t mtu);

/** Run until @p until (absolute ns), or until @p done returns true.
 *  @return true if @p done did */
bool sim_run(struct sim *s, uint64_t until, bool (*done)(struct sim *s, void *arg), void *arg);
/** Run for @p ns. */
void sim_for(struct sim *s, uint64_t ns);

/* ---- clients ----------------------------------------------------------- */

/** Attach client @p c of host @p h (ring of @p ring bytes). */
struct sim_client *sim_client(struct sim *s, int h, int c, uint64_t ring);
/** The client leaves (hang-up): fcore_client_gone(). */
void sim_client_gone(struct sim_client *c, int reason);
int sim_listen(struct sim_client *c, const char *service);
/** CMD_CONNECT to host @p to (its ip; -1: this host). @return the cookie */
uint32_t sim_connect(struct sim_client *c, int to, const char *service);
int sim_accept(struct sim_client *c, uint32_t session);
int sim_close(struct sim_client *c, uint32_t session, uint32_t cookie);
/** A DATA record. @return 0, -EAGAIN (send buffer full), -EBADMSG */
int sim_send(struct sim_client *c, uint32_t session, const void *p, uint32_t len);
/** Read every unread event (frees ring space; wakes the engine). */
void sim_read_all(struct sim_client *c);
/** The next unread event of @p type (0: any) at or after index *@p from,
 *  or NULL; *@p from moves past it. */
struct sim_event *sim_next(struct sim_client *c, uint32_t *from, uint16_t type);
/** The last event of @p type for @p session (session 0: any), or NULL. */
struct sim_event *sim_find(struct sim_client *c, uint16_t type, uint32_t session);
uint32_t sim_count(struct sim_client *c, uint16_t type, uint32_t session);
/** Both engines' invariants; fails the test with the reason. */
void sim_check(struct sim *s);
/** A counter of host @p h by label ("remote.rx_rejected"); 0 if none. */
uint64_t sim_counter(struct sim *s, int h, const char *label);

/* ---- security (daemon/core/secure.c) ------------------------------------ */

/** A fixed X25519 key pair for host @p host; @p variant 0 is the one
 *  sim_secure() gives it, others are keys nobody was told of. */
void sim_keypair(int host, int variant, uint8_t priv[32], uint8_t pub[32]);
/** For a tweak: host @p host runs @p mode with its key (variant 0) and
 *  trusts the other host's (variant 0) at the other's address. */
void sim_secure(struct fcore_params *p, int host, enum fcore_sec_mode mode);
/** For a tweak, after sim_secure(): host @p host trusts these @p n rows
 *  instead (copied; at most SIM_TRUST_MAX). */
#define SIM_TRUST_MAX 8
void sim_trust(struct fcore_params *p, int host, const struct fcore_trusted *t, uint32_t n);

/* ---- forging, for hostile-peer tests ----------------------------------- */

/** Hand @p len bytes to host @p to's engine as if sent by host @p from
 *  (from its flow port to @p to's port). */
void sim_inject(struct sim *s, int from, int to, const void *p, uint32_t len);
/** The same from address @p ip, which need not be a host's. */
void sim_inject_ip(struct sim *s, uint32_t ip, int to, const void *p, uint32_t len);
/** Called with every packet the link carries (NULL: none): to learn ids
 *  and numbers the way an eavesdropper would. @return true to drop it */
extern bool (*sim_tap)(struct sim *s, const struct sim_pkt *p, void *arg);
extern void *sim_tap_arg;

#endif
