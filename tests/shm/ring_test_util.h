/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the shm-ipc tests: a ring file in private memory with a
 * guard page after it, a child-process runner for operations that might
 * crash, memfds, a clock and a seeded PRNG.
 *
 * The ring under test is ring 1 of a file laid out by ferry_shm_layout(), so
 * its data area ends exactly at the end of the file; the guard page there
 * turns any access past the data area into SIGSEGV, with or without ASan.
 */
#ifndef FERRY_RING_TEST_UTIL_H
#define FERRY_RING_TEST_UTIL_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ferry_ring.h"
#include "ferry_shm.h"
#include "ferry_shm_util.h"

#define TU_PAGE 4096u

/* A ring file in anonymous memory: header, ring 0 (4 KiB, unused), ring 1
 * (the ring under test), then one PROT_NONE page. */
struct tu_ring {
	uint8_t *base;
	uint64_t size; /* file size from ferry_shm_layout() */
	struct ferry_shm_hdr *hdr;
	struct ferry_ring_ctl *ctl;
	uint8_t *data;
	uint64_t cap;
	struct ferry_ring prod;
	struct ferry_ring cons;
};

/**
 * Lay out a ring of @p cap bytes, set head and tail to @p start (a
 * free-running position, 16-byte aligned) and attach a producer and a
 * consumer view (consumer accepts payloads up to @p max_payload).
 * @return 0, or -1 if mapping or attaching failed
 */
static inline int tu_ring_init(struct tu_ring *t, uint64_t cap, uint64_t start,
			       uint32_t max_payload)
{
	struct ferry_shm_hdr h;
	memset(&h, 0, sizeof(h));
	memset(t, 0, sizeof(*t));
	uint64_t size = ferry_shm_layout(&h, 7, 4096, cap);
	void *p = mmap(NULL, size + TU_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (p == MAP_FAILED)
		return -1;
	if (mprotect((uint8_t *)p + size, TU_PAGE, PROT_NONE) < 0) {
		munmap(p, size + TU_PAGE);
		return -1;
	}
	t->base = p;
	t->size = size;
	t->hdr = p;
	memcpy(t->hdr, &h, sizeof(h));
	ferry_shm_publish(t->hdr, FERRY_SHM_MAGIC_SESSION);
	t->ctl = (struct ferry_ring_ctl *)(t->base + h.ring[1].ctl_off);
	t->data = t->base + h.ring[1].data_off;
	t->cap = cap;
	atomic_store(&t->ctl->head, start);
	atomic_store(&t->ctl->tail, start);
	if (ferry_ring_attach(&t->prod, t->base, size, &t->hdr->ring[1], true, 0) < 0 ||
	    ferry_ring_attach(&t->cons, t->base, size, &t->hdr->ring[1], false, max_payload) < 0) {
		munmap(p, size + TU_PAGE);
		return -1;
	}
	return 0;
}

static inline void tu_ring_fini(struct tu_ring *t)
{
	if (t->base)
		munmap(t->base, t->size + TU_PAGE);
	t->base = NULL;
}

/** The record header at data offset @p off (offset masked by the caller). */
static inline struct ferry_rec *tu_rec_at(struct tu_ring *t, uint64_t off)
{
	return (struct ferry_rec *)(t->data + off);
}

static inline uint32_t tu_len_at(struct tu_ring *t, uint64_t off)
{
	return atomic_load(&tu_rec_at(t, off)->len);
}

/**
 * Run @p fn(@p arg) in a forked child and hand back its int result through
 * a pipe, so that an operation on hostile input that crashes (SIGSEGV, an
 * ASan report) fails one test instead of ending the whole program.
 * @return 0 with *result set, or -1 with @p why describing how the child
 *         ended (signal, exit status)
 */
static inline int tu_child_call(int (*fn)(void *), void *arg, int *result, char *why,
				size_t whylen)
{
	int fds[2];
	if (pipe(fds) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		/* cmocka's handlers would longjmp back into the test runner
		 * in this copy of the process: let a fault end the child */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		close(fds[0]);
		int v = fn(arg);
		ssize_t w = write(fds[1], &v, sizeof(v));
		_exit(w == (ssize_t)sizeof(v) ? 0 : 99);
	}
	close(fds[1]);
	int v = 0;
	ssize_t n = read(fds[0], &v, sizeof(v));
	close(fds[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(st)) {
		snprintf(why, whylen, "child killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || n != (ssize_t)sizeof(v)) {
		snprintf(why, whylen, "child exited with status %d (sanitizer report above?)",
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return -1;
	}
	*result = v;
	return 0;
}

static inline int64_t tu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/** xorshift64 (Marsaglia); the state must not be 0. */
static inline uint64_t tu_xorshift64(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/** Number of mappings whose path in /proc/self/maps contains @p name
 * (a memfd shows as "/memfd:<name> (deleted)"); -1 on error. */
static inline int tu_count_maps_named(const char *name)
{
	char line[1024];
	FILE *f = fopen("/proc/self/maps", "r");
	if (f == NULL)
		return -1;
	int n = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, name))
			n++;
	fclose(f);
	return n;
}

#endif
