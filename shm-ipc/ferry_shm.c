/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "ferry_atomic.h"
#include "ferry_ring.h"
#include "ferry_shm_util.h"

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

uint64_t ferry_shm_layout(struct ferry_shm_hdr *h, uint32_t id, uint64_t cap0, uint64_t cap1)
{
	uint64_t off = ALIGN_UP(sizeof(*h), 4096);
	uint64_t caps[2] = {cap0, cap1};

	h->version_major = FERRY_SHM_VERSION_MAJOR;
	h->version_minor = FERRY_SHM_VERSION_MINOR;
	h->hdr_size = sizeof(*h);
	h->features = 0;
	h->ring_count = 2;
	h->id = id;
	for (int i = 0; i < 2; i++) {
		h->ring[i].ctl_off = off;
		/* data starts on a fresh page so large rings can use big pages */
		h->ring[i].data_off = ALIGN_UP(off + sizeof(struct ferry_ring_ctl), 4096);
		h->ring[i].capacity = caps[i];
		off = h->ring[i].data_off + caps[i];
	}
	h->file_size = off;
	return off;
}

void ferry_shm_publish(struct ferry_shm_hdr *h, uint64_t magic)
{
	/* release: partner is the acquire-load of magic in
	 * ferry_shm_validate(); every field above is visible first. */
	FA_STORE_REL(&h->magic, magic);
}

int ferry_shm_validate(const void *base, uint64_t map_len, uint64_t magic, char *why,
		       size_t whylen)
{
	const struct ferry_shm_hdr *h = base;
	char dummy[1];
	if (why == NULL) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	if (map_len < sizeof(*h)) {
		snprintf(why, whylen, "shm file too small (%llu bytes)", (unsigned long long)map_len);
		return -EPROTO;
	}
	/* acquire: partner is the release-store in ferry_shm_publish() */
	uint64_t m = FA_LOAD_ACQ((_Atomic uint64_t *)&h->magic);
	if (m != magic) {
		snprintf(why, whylen, "shm file has wrong magic %#llx (not published, or not a ferry file)",
			 (unsigned long long)m);
		return -EPROTO;
	}
	if (h->version_major != FERRY_SHM_VERSION_MAJOR) {
		snprintf(why, whylen, "shm layout version %u.%u, this side speaks %u.x",
			 h->version_major, h->version_minor, FERRY_SHM_VERSION_MAJOR);
		return -EPROTONOSUPPORT;
	}
	if (h->hdr_size < sizeof(*h) || h->file_size > map_len || h->ring_count > 2) {
		snprintf(why, whylen, "shm header sizes do not fit the mapping");
		return -EPROTO;
	}
	for (uint32_t i = 0; i < h->ring_count; i++) {
		const struct ferry_ring_desc *d = &h->ring[i];
		if (!is_pow2(d->capacity) || d->capacity < 4096 || d->ctl_off % FERRY_CACHELINE ||
		    d->data_off % FERRY_CACHELINE || d->ctl_off < sizeof(*h) ||
		    d->ctl_off > map_len - sizeof(struct ferry_ring_ctl) ||
		    d->data_off > map_len || d->capacity > map_len - d->data_off) {
			snprintf(why, whylen, "shm ring %u descriptor out of bounds", i);
			return -EPROTO;
		}
	}
	return 0;
}

int ferry_ring_attach(struct ferry_ring *r, void *base, uint64_t map_len,
		      const struct ferry_ring_desc *dp, bool producer, uint32_t max_payload)
{
	/* copy first: the descriptor lives in memory the peer may rewrite */
	struct ferry_ring_desc d = *(volatile struct ferry_ring_desc *)dp;
	if (!is_pow2(d.capacity) || d.capacity < 4096 || d.ctl_off % FERRY_CACHELINE ||
	    d.data_off % FERRY_CACHELINE || map_len < sizeof(struct ferry_ring_ctl) ||
	    d.ctl_off > map_len - sizeof(struct ferry_ring_ctl) || d.data_off > map_len ||
	    d.capacity > map_len - d.data_off)
		return -EPROTO;
	memset(r, 0, sizeof(*r));
	r->ctl = (struct ferry_ring_ctl *)((uint8_t *)base + d.ctl_off);
	r->data = (uint8_t *)base + d.data_off;
	r->cap = d.capacity;
	r->mask = d.capacity - 1;
	r->max_payload = max_payload;
	if (producer) {
		/* relaxed: we are the only writer of tail; the consumer's head
		 * is re-read with acquire before any space is reused */
		r->pos = FA_LOAD_RLX(&r->ctl->tail);
		r->limit = r->pos; /* forces a head load on first reserve */
	} else {
		/* acquire: partner is a previous consumer's release of head */
		r->pos = FA_LOAD_ACQ(&r->ctl->head);
		r->limit = r->pos;
	}
	/* Records start on FERRY_REC_ALIGN boundaries; a position that does
	 * not would let a header straddle the end of the data area. */
	if (r->pos % FERRY_REC_ALIGN)
		return -EPROTO;
	return 0;
}

int ferry_shm_map_fd(int fd, bool writable, uint64_t magic, void **base, uint64_t *len,
		     char *why, size_t whylen)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		if (why)
			snprintf(why, whylen, "fstat of shm fd: %s", strerror(e));
		return -e;
	}
	if (st.st_size <= 0) {
		if (why)
			snprintf(why, whylen, "shm file is empty");
		return -EPROTO;
	}
	void *p = mmap(NULL, (size_t)st.st_size, writable ? PROT_READ | PROT_WRITE : PROT_READ,
		       MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		if (why)
			snprintf(why, whylen, "mmap of %lld-byte shm file: %s", (long long)st.st_size,
				 strerror(e));
		return -e;
	}
	if (magic) {
		int rc = ferry_shm_validate(p, (uint64_t)st.st_size, magic, why, whylen);
		if (rc < 0) {
			munmap(p, (size_t)st.st_size);
			return rc;
		}
	}
	*base = p;
	*len = (uint64_t)st.st_size;
	return 0;
}
