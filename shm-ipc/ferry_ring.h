/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Single-producer single-consumer ring of variable-length records over the
 * shared layout in ferry_shm.h. Fast paths are inline: the library and the
 * daemon call them per message.
 *
 * How a consumer finds records without reading the producer's tail
 *
 *   The consumer acquire-loads the len word of the record at its position;
 *   0 means nothing is there yet. For that to be true of never-written and
 *   of reused space alike, the producer keeps the len word that follows its
 *   newest record at 0: before publishing a record at [p, p+n) it stores 0
 *   into the len word at p+n (the "terminator"), and only then release-
 *   stores the record's own len. A consumer that acquired the len at p
 *   therefore also sees the terminator at p+n, or a newer record there. The
 *   producer always keeps FERRY_REC_ALIGN bytes free beyond its newest
 *   record so that the terminator never lands on unconsumed data.
 *   Consumed bytes are never cleared: the consumer's only write is head.
 *
 * Hostile peers
 *
 *   A consumer bounds-checks every record (length, type, room to the end,
 *   room within one lap of what it released) before use and reports
 *   -EBADMSG; the caller then disconnects the producer. A producer checks
 *   that the consumer's head lies within one lap behind its own position.
 *   Neither side ever dereferences an offset it did not mask itself.
 */
#ifndef FERRY_RING_H
#define FERRY_RING_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ferry_atomic.h"
#include "ferry_shm.h"

/** Process-private view of one ring, as producer or as consumer. */
struct ferry_ring {
	struct ferry_ring_ctl *ctl;
	uint8_t *data;
	uint64_t cap;  /* power of two */
	uint64_t mask; /* cap - 1 */
	/* producer: position of the next record; consumer: position of the
	 * next record to read */
	uint64_t pos;
	/* producer: head + cap as last loaded (how far it may write);
	 * consumer: the head it last stored (what it has released) */
	uint64_t limit;
	uint32_t max_payload; /* consumer: longer DATA records are malformed */
	uint32_t reserved;
};

/** A record as the consumer sees it, copied out of shared memory once. */
struct ferry_rec_view {
	uint16_t type;
	uint16_t flags;
	uint32_t session;
	uint32_t aux;
	uint32_t len;           /* payload bytes */
	const uint8_t *payload; /* inside the ring; valid until released */
};

static inline uint32_t ferry_rec_size(uint32_t payload)
{
	return (FERRY_REC_HDR + payload + FERRY_REC_ALIGN - 1) & ~(FERRY_REC_ALIGN - 1);
}

/**
 * Attach a process-private view to a ring described in a mapped file,
 * checking the descriptor against the mapping first.
 *
 * @param r         view to fill
 * @param base      start of the mapping
 * @param map_len   bytes mapped
 * @param d         descriptor copied out of the (possibly hostile) header
 * @param producer  true to produce, false to consume
 * @param max_payload  consumer: largest DATA payload accepted
 * @return 0, or -EPROTO if the descriptor does not fit the mapping
 */
int ferry_ring_attach(struct ferry_ring *r, void *base, uint64_t map_len,
		      const struct ferry_ring_desc *d, bool producer, uint32_t max_payload);

/* ---- producer ---------------------------------------------------------- */

/** Bytes a record of @p len payload bytes takes from position @p pos on:
 *  the pad to the end if it does not fit before it, the record, and the
 *  slack that keeps the terminator off unconsumed data. */
static inline uint64_t ferry_ring_span(const struct ferry_ring *r, uint32_t len)
{
	uint32_t need = ferry_rec_size(len);
	uint64_t room = r->cap - (r->pos & r->mask);
	return (need <= room ? need : room + need) + FERRY_REC_ALIGN;
}

/**
 * Load the consumer's head and move the producer's limit to one lap past
 * it. @return false if the head is impossible (ahead of us or more than a
 * lap behind: the consumer corrupted it); the limit is then unchanged.
 */
static inline bool ferry_ring_refresh(struct ferry_ring *r)
{
	/* acquire: partner is the consumer's release-store of head in
	 * ferry_ring_release(); its reads of the space are done. */
	uint64_t head = FA_LOAD_ACQ(&r->ctl->head);
	/* a head ahead of pos makes the difference wrap: huge, refused too */
	if (FERRY_UNLIKELY(r->pos - head > r->cap))
		return false;
	r->limit = head + r->cap;
	return true;
}

/**
 * Reserve room for a record with @p len payload bytes and fill its header.
 * Writes a PAD record first when the record would cross the end.
 *
 * @return pointer to the payload area (@p len bytes, 16-byte aligned), or
 *         NULL with *err = -EAGAIN (no room now), -EMSGSIZE (can never fit)
 *         or -EBADMSG (the consumer's head is impossible: peer corrupted).
 */
static inline void *ferry_ring_reserve(struct ferry_ring *r, uint32_t len, uint16_t type,
				       uint32_t session, uint32_t aux, int *err)
{
	if (FERRY_UNLIKELY((uint64_t)len + 2 * FERRY_REC_ALIGN + FERRY_REC_HDR > r->cap / 2)) {
		*err = -EMSGSIZE;
		return NULL;
	}
	uint32_t need = ferry_rec_size(len);
	uint64_t off = r->pos & r->mask;
	uint64_t room = r->cap - off;
	uint64_t total = ferry_ring_span(r, len);

	if (FERRY_UNLIKELY(total > r->limit - r->pos)) {
		if (!ferry_ring_refresh(r)) {
			*err = -EBADMSG;
			return NULL;
		}
		if (total > r->limit - r->pos) {
			*err = -EAGAIN;
			return NULL;
		}
	}
	struct ferry_rec *rec;
	if (need > room) {
		/* Pad to the end. The terminator for the pad is the len word at
		 * offset 0, where the real record goes next. */
		struct ferry_rec *pad = (struct ferry_rec *)(r->data + off);
		struct ferry_rec *first = (struct ferry_rec *)r->data;
		FA_STORE_RLX(&first->len, 0);
		pad->type = FERRY_REC_PAD;
		pad->flags = 0;
		pad->session = 0;
		pad->aux = 0;
		/* release: partner is the consumer's acquire-load of len */
		FA_STORE_REL(&pad->len, (uint32_t)room);
		r->pos += room;
		off = 0;
	}
	rec = (struct ferry_rec *)(r->data + off);
	rec->type = type;
	rec->flags = 0;
	rec->session = session;
	rec->aux = aux;
	return rec + 1;
}

/**
 * Publish the record reserved last, with its final payload length
 * (<= the reserved length). After this the consumer may read it.
 */
static inline void ferry_ring_commit(struct ferry_ring *r, void *payload, uint32_t len)
{
	struct ferry_rec *rec = (struct ferry_rec *)payload - 1;
	uint32_t size = ferry_rec_size(len);
	/* Terminator after the record as committed (a commit may be shorter
	 * than its reservation); relaxed, ordered by the release below. */
	struct ferry_rec *next = (struct ferry_rec *)(r->data + ((r->pos + size) & r->mask));
	FA_STORE_RLX(&next->len, 0);
	/* release: partner is the consumer's acquire-load of len in
	 * ferry_ring_peek(); the header fields and payload are visible
	 * before the record is. */
	FA_STORE_REL(&rec->len, FERRY_REC_HDR + len);
	r->pos += size;
	/* relaxed: tail is informational, no one synchronises on it */
	FA_STORE_RLX(&r->ctl->tail, r->pos);
}

/** Set the flags of a record reserved and not yet committed. */
static inline void ferry_ring_set_flags(void *payload, uint16_t flags)
{
	((struct ferry_rec *)payload - 1)->flags = flags;
}

/** Reserve, copy, commit, with record flags. @return 0 or the errors of
 *  ferry_ring_reserve(). */
static inline int ferry_ring_write_flags(struct ferry_ring *r, uint16_t type, uint16_t flags,
					 uint32_t session, uint32_t aux, const void *buf,
					 uint32_t len)
{
	int err;
	void *p = ferry_ring_reserve(r, len, type, session, aux, &err);
	if (FERRY_UNLIKELY(p == NULL))
		return err;
	if (flags)
		ferry_ring_set_flags(p, flags);
	if (len)
		memcpy(p, buf, len);
	ferry_ring_commit(r, p, len);
	return 0;
}

/** Reserve, copy, commit. @return 0 or the errors of ferry_ring_reserve(). */
static inline int ferry_ring_write(struct ferry_ring *r, uint16_t type, uint32_t session,
				   uint32_t aux, const void *buf, uint32_t len)
{
	return ferry_ring_write_flags(r, type, 0, session, aux, buf, len);
}

/**
 * Bytes a producer could write right now (payload of one record), loading
 * the consumer's head. Used to decide whether a blocked sender may go on.
 */
static inline uint64_t ferry_ring_free(struct ferry_ring *r)
{
	if (!ferry_ring_refresh(r))
		return 0;
	/* in use: pos - head, which is cap - (limit - pos) */
	uint64_t used = r->cap - (r->limit - r->pos) + 2 * FERRY_REC_ALIGN;
	return used >= r->cap ? 0 : r->cap - used;
}

/**
 * Whether ferry_ring_reserve() of @p len bytes would find room now
 * (loads the consumer's head; false if it is impossible).
 */
static inline bool ferry_ring_has_room(struct ferry_ring *r, uint32_t len)
{
	return ferry_ring_refresh(r) && ferry_ring_span(r, len) <= r->limit - r->pos;
}

/**
 * Mark the producer as waiting for space and re-check (Dekker with the
 * consumer's fence in ferry_ring_release()). A producer that will sleep
 * on its bell calls ferry_bell_prepare() first, so that the consumer's
 * wake, which follows its check of this flag, cannot miss the sleep.
 * @return true if a reserve of @p len bytes now succeeds (the flag is
 *         cleared again), false if the consumer will ring our bell.
 */
static inline bool ferry_ring_wait_space(struct ferry_ring *r, uint32_t len)
{
	FA_STORE_RLX(&r->ctl->producer_waiting, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (!ferry_ring_has_room(r, len))
		return false;
	FA_STORE_RLX(&r->ctl->producer_waiting, 0);
	return true;
}

/* ---- consumer ---------------------------------------------------------- */

/**
 * Read the next record without releasing it. PAD records are skipped.
 * The view's payload stays valid until ferry_ring_release().
 *
 * @return 1 with *v filled, 0 if no record is published yet, -EBADMSG if
 *         the producer wrote something impossible (the caller disconnects).
 */
static inline int ferry_ring_peek(struct ferry_ring *r, struct ferry_rec_view *v)
{
	for (int hops = 0; hops < 2; hops++) {
		/* Everything within one lap of what we released is either
		 * published records or the terminator; beyond it lie our own
		 * unreleased records from the previous lap. */
		if (r->pos - r->limit >= r->cap - FERRY_REC_ALIGN)
			return 0;
		uint64_t off = r->pos & r->mask;
		volatile struct ferry_rec *rec = (volatile struct ferry_rec *)(r->data + off);
		/* acquire: partner is the producer's release-store of len in
		 * ferry_ring_commit() (or of a pad in ferry_ring_reserve()) */
		uint32_t len = FA_LOAD_ACQ((_Atomic uint32_t *)&rec->len);
		if (len == 0)
			return 0;
		uint64_t room = r->cap - off;
		uint16_t type = rec->type;
		if (FERRY_UNLIKELY(len < FERRY_REC_HDR || len > room))
			return -EBADMSG;
		if (type == FERRY_REC_PAD) {
			if (FERRY_UNLIKELY(len != room || off == 0 ||
					   r->pos + room - r->limit > r->cap - FERRY_REC_ALIGN))
				return -EBADMSG;
			r->pos += room;
			continue;
		}
		uint32_t size = ferry_rec_size(len - FERRY_REC_HDR);
		if (FERRY_UNLIKELY(len - FERRY_REC_HDR > r->max_payload ||
				   r->pos + size - r->limit > r->cap - FERRY_REC_ALIGN))
			return -EBADMSG;
		v->type = type;
		v->flags = rec->flags;
		v->session = rec->session;
		v->aux = rec->aux;
		v->len = len - FERRY_REC_HDR;
		v->payload = (const uint8_t *)(r->data + off + FERRY_REC_HDR);
		r->pos += size;
		return 1;
	}
	return -EBADMSG;
}

/**
 * Release everything read so far back to the producer.
 * @return true if the producer was waiting for space: the caller rings the
 *         producer's bell.
 */
static inline bool ferry_ring_release(struct ferry_ring *r)
{
	if (r->pos == r->limit)
		return false;
	r->limit = r->pos;
	/* release: partner is the producer's acquire-load of head in
	 * ferry_ring_reserve(); our reads of the records are complete. */
	FA_STORE_REL(&r->ctl->head, r->pos);
	/* Dekker with ferry_ring_wait_space(): our head store, fence, their
	 * flag; their flag store, fence, our head. */
	atomic_thread_fence(memory_order_seq_cst);
	if (FA_LOAD_RLX(&r->ctl->producer_waiting) == 0)
		return false;
	return atomic_exchange_explicit(&r->ctl->producer_waiting, 0, memory_order_relaxed) != 0;
}

/**
 * Go back to @p pos, a position this lap's ferry_ring_peek() calls passed
 * and ferry_ring_release() did not: those records are read again.
 */
static inline void ferry_ring_unread(struct ferry_ring *r, uint64_t pos)
{
	r->pos = pos;
}

/** Whether a record is published at the consumer's position (a hint). */
static inline bool ferry_ring_readable(const struct ferry_ring *r)
{
	if (r->pos - r->limit >= r->cap - FERRY_REC_ALIGN)
		return false;
	const struct ferry_rec *rec = (const struct ferry_rec *)(r->data + (r->pos & r->mask));
	/* relaxed: a hint; ferry_ring_peek() acquires before use */
	return FA_LOAD_RLX(&rec->len) != 0;
}

#endif
