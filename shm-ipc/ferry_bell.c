/* SPDX-License-Identifier: BSD-3-Clause */
#include "ferry_bell.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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
	static const uint8_t one = 1;
	ssize_t w = send(fd, &one, sizeof(one), MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)w;
}

int ferry_wake_take(int fd)
{
	/* one system call for a batch: each wake is a datagram, and what a
	 * datagram says does not matter, so all share one byte */
	uint8_t sink;
	struct iovec io = {.iov_base = &sink, .iov_len = 1};
	struct mmsghdr mm[FERRY_WAKE_TAKE_MAX];
	for (int i = 0; i < FERRY_WAKE_TAKE_MAX; i++)
		mm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &io, .msg_iovlen = 1}};
	int n = recvmmsg(fd, mm, FERRY_WAKE_TAKE_MAX, MSG_DONTWAIT, NULL);
	return n < 0 ? 0 : n;
}

int ferry_wake_pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	int small = 1; /* the kernel raises it to its least */
	if (setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) < 0 ||
	    shutdown(fds[1], SHUT_RD) < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		return -e;
	}
	return 0;
}

void ferry_bell_prepare_fd(struct ferry_bell *b, int fd)
{
	if (fd >= 0)
		ferry_wake_take(fd);
	FA_STORE_RLX(&b->sleeping, FERRY_BELL_ON_FD);
	/* Dekker: partner is the fence in ferry_bell_wake() */
	atomic_thread_fence(memory_order_seq_cst);
}
