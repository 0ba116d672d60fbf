/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uint32 id -> pointer map, open addressing with linear probing and
 * backward-shift deletion (no tombstones, so lookups stay short however
 * many sessions come and go). Id 0 is reserved as "empty". Used by the
 * daemon and the library to find sessions by the id carried in records.
 */
#ifndef FERRY_FMAP_H
#define FERRY_FMAP_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

struct fmap_slot {
	uint32_t key;
	void *val;
};

struct fmap {
	struct fmap_slot *s;
	uint32_t mask; /* capacity - 1 */
	uint32_t n;
};

static inline uint32_t fmap_hash(uint32_t k)
{
	k ^= k >> 16;
	k *= 0x7feb352dU;
	k ^= k >> 15;
	return k;
}

/** @return 0 or -ENOMEM */
static inline int fmap_init(struct fmap *m, uint32_t cap_pow2)
{
	m->s = calloc(cap_pow2, sizeof(*m->s));
	m->mask = cap_pow2 - 1;
	m->n = 0;
	return m->s ? 0 : -ENOMEM;
}

static inline void fmap_fini(struct fmap *m)
{
	free(m->s);
	m->s = NULL;
	m->n = 0;
}

static inline void *fmap_get(const struct fmap *m, uint32_t key)
{
	if (key == 0 || m->s == NULL)
		return NULL;
	for (uint32_t i = fmap_hash(key) & m->mask;; i = (i + 1) & m->mask) {
		if (m->s[i].key == key)
			return m->s[i].val;
		if (m->s[i].key == 0)
			return NULL;
	}
}

static inline int fmap_put(struct fmap *m, uint32_t key, void *val);

static inline int fmap_grow(struct fmap *m)
{
	struct fmap old = *m;
	if (fmap_init(m, (old.mask + 1) * 2) < 0) {
		*m = old;
		return -ENOMEM;
	}
	for (uint32_t i = 0; i <= old.mask; i++)
		if (old.s[i].key)
			fmap_put(m, old.s[i].key, old.s[i].val);
	free(old.s);
	return 0;
}

/** Insert or replace. @return 0, -EINVAL (key 0) or -ENOMEM */
static inline int fmap_put(struct fmap *m, uint32_t key, void *val)
{
	if (key == 0)
		return -EINVAL;
	if ((m->n + 1) * 4 > (m->mask + 1) * 3 && fmap_grow(m) < 0)
		return -ENOMEM;
	for (uint32_t i = fmap_hash(key) & m->mask;; i = (i + 1) & m->mask) {
		if (m->s[i].key == key) {
			m->s[i].val = val;
			return 0;
		}
		if (m->s[i].key == 0) {
			m->s[i].key = key;
			m->s[i].val = val;
			m->n++;
			return 0;
		}
	}
}

static inline void fmap_del(struct fmap *m, uint32_t key)
{
	if (key == 0 || m->s == NULL)
		return;
	uint32_t i = fmap_hash(key) & m->mask;
	while (m->s[i].key != key) {
		if (m->s[i].key == 0)
			return;
		i = (i + 1) & m->mask;
	}
	/* Shift later members of the probe run back so no hole splits it. */
	for (uint32_t j = (i + 1) & m->mask; m->s[j].key; j = (j + 1) & m->mask) {
		uint32_t home = fmap_hash(m->s[j].key) & m->mask;
		/* move j into the hole at i unless its home lies in (i, j] */
		if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
			m->s[i] = m->s[j];
			i = j;
		}
	}
	m->s[i].key = 0;
	m->s[i].val = NULL;
	m->n--;
}

#endif
