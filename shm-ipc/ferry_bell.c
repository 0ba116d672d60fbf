/* SPDX-License-Identifier: BSD-3-Clause */
#include "ferry_bell.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* The bell lives in a MAP_SHARED memfd page, so FUTEX_PRIVATE_FLAG must not
 * be used: the futex key has to be the (inode, offset) pair both processes
 * share, not the waiter's own address space. */

int ferry_bell_wait(struct ferry_bell *b, uint32_t seq, int64_t timeout_ns)
{
	struct timespec ts, *tsp = NULL;
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	long rc = syscall(SYS_futex, (uint32_t *)&b->seq, FUTEX_WAIT, seq, tsp, NULL, 0);
	int err = rc == 0 ? 0 : errno;
	FA_STORE_RLX(&b->sleeping, 0);
	if (err == 0 || err == EAGAIN)
		return 0;
	return -err;
}

void ferry_bell_ring(struct ferry_bell *b)
{
	atomic_fetch_add_explicit(&b->seq, 1, memory_order_release);
	syscall(SYS_futex, (uint32_t *)&b->seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void ferry_bell_ring_fd(int fd)
{
	uint64_t one = 1;
	/* a full counter (2^64 - 2 unread wakes) is readable anyway */
	ssize_t w = write(fd, &one, sizeof(one));
	(void)w;
}

void ferry_evfd_take(int fd)
{
	uint64_t v;
	struct iovec io = {.iov_base = &v, .iov_len = sizeof(v)};
	/* RWF_NOWAIT, not the fd's O_NONBLOCK, which every holder of the
	 * open file can clear: one that did and then read the count first
	 * would leave a plain read() blocked for good. One read empties an
	 * eventfd. Kernels before 5.12 refuse the flag: read() there. */
	if (preadv2(fd, &io, 1, -1, RWF_NOWAIT) < 0 && errno == EOPNOTSUPP) {
		ssize_t r = read(fd, &v, sizeof(v));
		(void)r;
	}
}

void ferry_bell_prepare_fd(struct ferry_bell *b, int fd)
{
	ferry_evfd_take(fd);
	FA_STORE_RLX(&b->sleeping, FERRY_BELL_ON_FD);
	/* Dekker: partner is the fence in ferry_bell_wake() */
	atomic_thread_fence(memory_order_seq_cst);
}
