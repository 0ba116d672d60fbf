/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to the virtual peers (fuzz_vpeer.c) and the link (fuzz_link.c):
 * the models' helpers both use. */
#ifndef FERRY_FUZZ_VPEER_PVT_H
#define FERRY_FUZZ_VPEER_PVT_H

#include "fuzz_daemon.h"
#include "wire.h"

#define FNV0 0xcbf29ce484222325ull
#define HDR ((uint32_t)sizeof(struct ferry_wire_hdr))
#define WIN_DEFAULT (1u << 20) /* the window a peer advertises ahead */

/** FNV-1a over @p n bytes, from @p h (FNV0 to start). */
uint64_t fnv(const uint8_t *p, uint32_t n, uint64_t h);
/** Peer @p h's address (FD_HOSTS: the one outside allowed_peers). */
uint32_t host_ip(unsigned h);
/** The peer at @p ip, or -1. */
int host_of(uint32_t ip);
/** Our ipc.max_message_size. */
uint32_t session_max(void);

/** Remember a message (length, hash, where it ends in its stream). */
void msgq_push(struct fd_msgq *q, uint32_t len, uint64_t hash, uint64_t end);
/** The next message remembered must be this one (@p what says who got
 *  it, for the failure). */
void msgq_match(struct fd_msgq *q, uint32_t len, uint64_t hash, const char *what, uint32_t us);

/** The live model of peer @p host's session @p them. */
struct fd_vsess *by_them(uint32_t them, int host);
/** A fresh model for a session with @p host (one the peer forgot is
 *  reused if need be), or NULL. */
struct fd_vsess *vs_new(int host);

/** A header with these fields, the peer's clock in ts. */
void hdr(struct ferry_wire_hdr *h, uint8_t type, uint32_t dst, uint32_t src, uint32_t seq,
	 uint32_t ack, uint32_t aux);
/** A header of @p v's session with the right ack fields (all the engine
 *  sent arrived) and the window its model says. */
void vs_hdr(struct fd_vsess *v, struct ferry_wire_hdr *h, uint8_t type, uint32_t seq,
	    uint32_t aux);
/** The auto peer answers after this round of the pass. */
void queue_answer(uint32_t ip, uint16_t sport, uint16_t dport, const struct ferry_wire_hdr *h,
		  const void *p, uint32_t n);
void vs_answer(struct fd_vsess *v, const struct ferry_wire_hdr *h, const void *p, uint32_t n);
/** ACCEPT the engine's OPEN of @p v (the model follows unless @p bad_ack:
 *  not echoing its first number); @p answer: queued, else sent now. */
void do_accept(struct fd_vsess *v, uint32_t isn, uint32_t peer_max, uint32_t max_window,
	       bool bad_ack, bool other_inc, bool answer);

#endif
