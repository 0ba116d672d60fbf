/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers both sides use to lay out, create views of and validate shm files.
 */
#ifndef FERRY_SHM_UTIL_H
#define FERRY_SHM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry_shm.h"

/**
 * Fill the sizes and ring descriptors of a ring file's header (not magic)
 * for rings of @p cap0 and @p cap1 bytes (powers of two, >= 4096).
 * @return the file size to ftruncate to
 */
uint64_t ferry_shm_layout(struct ferry_shm_hdr *h, uint32_t id, uint64_t cap0, uint64_t cap1);

/**
 * Publish a header filled by ferry_shm_layout() (or by hand for the status
 * file): release-stores @p magic last.
 */
void ferry_shm_publish(struct ferry_shm_hdr *h, uint64_t magic);

/**
 * Check a mapped file's header: magic (acquire), major version, sizes,
 * ring descriptors against the mapping. On failure writes a reason to
 * @p why (if not NULL).
 * @return 0, -EPROTO (not ours / not published / corrupt) or
 *         -EPROTONOSUPPORT (another major version)
 */
int ferry_shm_validate(const void *base, uint64_t map_len, uint64_t magic, char *why,
		       size_t whylen);

/**
 * mmap a whole file descriptor (shared), sized by fstat, and validate it
 * when @p magic != 0. Unmaps on every failure path.
 * @param writable  map PROT_READ|PROT_WRITE, else PROT_READ
 * @return 0 with *base and *len set, or -errno with @p why filled
 */
int ferry_shm_map_fd(int fd, bool writable, uint64_t magic, void **base, uint64_t *len,
		     char *why, size_t whylen);

#endif
