/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Futex doorbell: a process asleep on a bell in a MAP_SHARED memfd is woken
 * by another process; a wait with nobody ringing times out; a notify with
 * nobody asleep costs no system call (it leaves seq alone: only
 * ferry_bell_ring(), the path that calls futex_wake, moves seq). An
 * owner that waits on its wake socket is woken through the socket, not
 * the futex, once per arming; one on the futex is woken on the futex even
 * by a waker that holds its socket; stale wakes are emptied when it arms
 * again. Whatever another holder of a wake socket does to the shared open
 * file (clear O_NONBLOCK, fill it, shut it down), ringing and taking
 * neither block nor raise SIGPIPE.
 * The time bounds are correctness bounds, far from any benchmark.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <poll.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "ferry_bell.h"
#include "ring_test_util.h"

#define MS 1000000ll

struct shared {
	struct ferry_bell bell;
	_Atomic uint32_t flag;    /* the "work" the parent publishes */
	_Atomic uint32_t done;    /* child: result is written */
	int32_t rc;               /* child: ferry_bell_wait() result */
	uint32_t saw_flag;        /* child: flag after waking */
	int64_t elapsed_ns;       /* child: time inside ferry_bell_wait() */
};

static struct shared *map_shared(int *fd)
{
	*fd = memfd_create("ferry-test-bell", MFD_CLOEXEC);
	assert_true(*fd >= 0);
	assert_int_equal(ftruncate(*fd, FERRY_BELL_FILE_SIZE), 0);
	void *p = mmap(NULL, FERRY_BELL_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

/* Scheduler state of @p pid from /proc: 'S' while asleep in futex_wait. */
static char proc_state(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return '?';
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' ? rp[2] : '?';
}

static void test_wakes_other_process(void **state)
{
	(void)state;
	int fd;
	struct shared *sh = map_shared(&fd);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the owner: prepare, re-check the work, sleep */
		uint32_t seq = ferry_bell_prepare(&sh->bell);
		int rc = 1;
		int64_t t0 = tu_now_ns();
		if (atomic_load(&sh->flag))
			ferry_bell_cancel(&sh->bell);
		else
			rc = ferry_bell_wait(&sh->bell, seq, 5000 * MS);
		sh->elapsed_ns = tu_now_ns() - t0;
		sh->rc = rc;
		sh->saw_flag = atomic_load(&sh->flag);
		atomic_store(&sh->done, 1);
		_exit(0);
	}
	/* wait until the child is asleep in the kernel, not merely flagged */
	int64_t t0 = tu_now_ns();
	while (!(atomic_load(&sh->bell.sleeping) && proc_state(pid) == 'S')) {
		if (tu_now_ns() - t0 > 5000 * MS) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fail_msg("the child never went to sleep on the bell");
		}
		usleep(1000);
	}
	usleep(50000); /* the child sleeps at least this long */
	uint32_t seq0 = atomic_load(&sh->bell.seq);
	/* the waker: publish, then notify */
	atomic_store_explicit(&sh->flag, 1, memory_order_release);
	ferry_bell_notify(&sh->bell);
	assert_int_equal(atomic_load(&sh->bell.seq), seq0 + 1);
	assert_int_equal(atomic_load(&sh->bell.sleeping), 0);
	/* a second notify finds nobody asleep: no ring */
	ferry_bell_notify(&sh->bell);
	assert_int_equal(atomic_load(&sh->bell.seq), seq0 + 1);

	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(atomic_load(&sh->done), 1);
	assert_int_equal(sh->rc, 0);
	assert_int_equal(sh->saw_flag, 1);
	if (sh->elapsed_ns >= 4000 * MS)
		fail_msg("the child slept %lld ms: woken by its timeout, not by the bell",
			 (long long)(sh->elapsed_ns / MS));
	assert_true(sh->elapsed_ns >= 40 * MS); /* it really slept */
	assert_int_equal(atomic_load(&sh->bell.sleeping), 0);
	munmap(sh, FERRY_BELL_FILE_SIZE);
	close(fd);
}

static void test_wait_times_out(void **state)
{
	(void)state;
	int fd;
	struct shared *sh = map_shared(&fd);
	uint32_t seq = ferry_bell_prepare(&sh->bell);
	assert_int_equal(atomic_load(&sh->bell.sleeping), 1);
	int64_t t0 = tu_now_ns();
	assert_int_equal(ferry_bell_wait(&sh->bell, seq, 50 * MS), -ETIMEDOUT);
	int64_t el = tu_now_ns() - t0;
	assert_true(el >= 45 * MS);
	assert_true(el < 2000 * MS);
	assert_int_equal(atomic_load(&sh->bell.sleeping), 0);
	assert_int_equal(atomic_load(&sh->bell.seq), seq);
	/* a timeout of 0 returns at once */
	seq = ferry_bell_prepare(&sh->bell);
	assert_int_equal(ferry_bell_wait(&sh->bell, seq, 0), -ETIMEDOUT);
	/* more than a second: seconds and nanoseconds split right */
	seq = ferry_bell_prepare(&sh->bell);
	t0 = tu_now_ns();
	assert_int_equal(ferry_bell_wait(&sh->bell, seq, 1100 * MS), -ETIMEDOUT);
	el = tu_now_ns() - t0;
	assert_true(el >= 1090 * MS);
	assert_true(el < 3000 * MS);
	munmap(sh, FERRY_BELL_FILE_SIZE);
	close(fd);
}

/* A ring between prepare and wait: the wait returns at once (seq moved). */
static void test_ring_before_wait_not_lost(void **state)
{
	(void)state;
	int fd;
	struct shared *sh = map_shared(&fd);
	uint32_t seq = ferry_bell_prepare(&sh->bell);
	ferry_bell_notify(&sh->bell);
	assert_int_equal(atomic_load(&sh->bell.seq), seq + 1);
	int64_t t0 = tu_now_ns();
	assert_int_equal(ferry_bell_wait(&sh->bell, seq, 5000 * MS), 0);
	assert_true(tu_now_ns() - t0 < 1000 * MS);
	assert_int_equal(atomic_load(&sh->bell.sleeping), 0);
	munmap(sh, FERRY_BELL_FILE_SIZE);
	close(fd);
}

static void test_notify_without_sleeper(void **state)
{
	(void)state;
	int fd;
	struct shared *sh = map_shared(&fd);
	atomic_store(&sh->bell.seq, 41);
	for (int i = 0; i < 1000; i++)
		ferry_bell_notify(&sh->bell);
	assert_int_equal(atomic_load(&sh->bell.seq), 41);
	assert_int_equal(atomic_load(&sh->bell.sleeping), 0);
	/* prepared then cancelled: still nobody to ring */
	assert_int_equal(ferry_bell_prepare(&sh->bell), 41);
	ferry_bell_cancel(&sh->bell);
	ferry_bell_notify(&sh->bell);
	assert_int_equal(atomic_load(&sh->bell.seq), 41);
	assert_int_equal(atomic_load(&sh->bell.sleeping), 0);
	/* seq wraps like any counter */
	atomic_store(&sh->bell.seq, UINT32_MAX);
	ferry_bell_prepare(&sh->bell);
	ferry_bell_notify(&sh->bell);
	assert_int_equal(atomic_load(&sh->bell.seq), 0);
	munmap(sh, FERRY_BELL_FILE_SIZE);
	close(fd);
}

static int fd_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

static void test_wake_fd(void **state)
{
	(void)state;
	int fd, w[2];
	struct shared *sh = map_shared(&fd);
	assert_int_equal(ferry_wake_pair(w), 0);
	int rfd = w[0], wfd = w[1];
	/* an owner waiting on its socket: the socket rings, the futex not */
	ferry_bell_prepare_fd(&sh->bell, rfd);
	assert_int_equal(atomic_load(&sh->bell.sleeping), FERRY_BELL_ON_FD);
	assert_false(fd_readable(rfd, 0));
	uint32_t seq0 = atomic_load(&sh->bell.seq);
	ferry_bell_wake(&sh->bell, wfd);
	assert_true(fd_readable(rfd, 0));
	assert_int_equal(atomic_load(&sh->bell.seq), seq0);
	assert_int_equal(atomic_load(&sh->bell.sleeping), 0);
	/* once per arming: the next waker finds nobody waiting */
	ferry_bell_wake(&sh->bell, wfd);
	assert_int_equal(ferry_wake_take(rfd), 1);
	assert_false(fd_readable(rfd, 0));
	/* arming again empties a stale wake */
	ferry_bell_ring_fd(wfd);
	ferry_bell_prepare_fd(&sh->bell, rfd);
	assert_false(fd_readable(rfd, 0));
	/* an owner on the futex: woken there, whatever socket the waker has */
	ferry_bell_prepare(&sh->bell);
	ferry_bell_wake(&sh->bell, wfd);
	assert_int_equal(atomic_load(&sh->bell.seq), seq0 + 1);
	assert_false(fd_readable(rfd, 0));
	/* a waker without the socket cannot ring a socket waiter: it takes
	 * the flag and rings the futex (what a 1.0 peer does; ferry_fd()
	 * avoids it) */
	ferry_bell_prepare_fd(&sh->bell, rfd);
	ferry_bell_notify(&sh->bell);
	assert_int_equal(atomic_load(&sh->bell.seq), seq0 + 2);
	assert_false(fd_readable(rfd, 0));
	close(rfd);
	close(wfd);
	munmap(sh, FERRY_BELL_FILE_SIZE);
	close(fd);
}

/* The sending end queues a handful of wakes, then refuses more without
 * blocking: one take empties what any number of senders left, and whoever
 * holds the receiving end costs the sender little kernel memory. Nothing
 * can be sent the other way, into the sending end. */
static void test_wake_queue_bounded(void **state)
{
	(void)state;
	int w[2];
	assert_int_equal(ferry_wake_pair(w), 0);
	int sent = 0;
	static const uint8_t b = 1;
	while (sent < 100000 && send(w[1], &b, 1, MSG_DONTWAIT) == 1)
		sent++;
	print_message("the sending end queued %d wakes\n", sent);
	assert_true(sent >= 1);
	assert_true(sent < FERRY_WAKE_TAKE_MAX);
	ferry_bell_ring_fd(w[1]); /* full: returns at once */
	assert_int_equal(ferry_wake_take(w[0]), sent);
	assert_false(fd_readable(w[0], 0));
	assert_int_equal(ferry_wake_take(w[0]), 0);
	errno = 0;
	assert_int_equal(send(w[0], &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL), -1);
	assert_int_equal(errno, EPIPE);
	close(w[0]);
	close(w[1]);
}

/* Another holder of a wake socket (a hostile client or peer) can clear
 * O_NONBLOCK on the shared open files, fill the queue, read nothing and
 * shut its end down: ringing and taking must still return at once, and
 * ringing must not raise SIGPIPE. This is what a 1.2 eventfd could not
 * do: a holder that cleared O_NONBLOCK and filled its counter made the
 * next write() block for good. */
static void test_wake_fd_cleared_nonblock(void **state)
{
	(void)state;
	int fd, w[2];
	struct shared *sh = map_shared(&fd);
	assert_int_equal(ferry_wake_pair(w), 0);
	int their_r = dup(w[0]), their_w = dup(w[1]);
	assert_true(their_r >= 0 && their_w >= 0);
	assert_int_equal(fcntl(their_r, F_SETFL, 0), 0);
	assert_int_equal(fcntl(their_w, F_SETFL, 0), 0);
	assert_int_equal(fcntl(w[1], F_GETFL) & O_NONBLOCK, 0); /* one open file */
	static const uint8_t b = 1;
	while (send(their_w, &b, 1, MSG_DONTWAIT) == 1)
		;
	/* bounded: a blocked call ends the test with SIGALRM */
	alarm(5);
	for (int i = 0; i < 3; i++)
		ferry_bell_ring_fd(w[1]);
	ferry_bell_prepare_fd(&sh->bell, w[0]);
	assert_int_equal(atomic_load(&sh->bell.sleeping), FERRY_BELL_ON_FD);
	assert_false(fd_readable(w[0], 0));
	assert_int_equal(ferry_wake_take(w[0]), 0);
	ferry_bell_wake(&sh->bell, w[1]);
	assert_int_equal(ferry_wake_take(w[0]), 1);
	/* the reader shuts its end: the next ring fails quietly */
	assert_int_equal(shutdown(their_r, SHUT_RDWR), 0);
	struct sigaction dfl = {.sa_handler = SIG_DFL}, old;
	sigaction(SIGPIPE, &dfl, &old);
	ferry_bell_ring_fd(w[1]);
	ferry_bell_ring_fd(their_w);
	sigaction(SIGPIPE, &old, NULL);
	ferry_wake_take(w[0]);
	alarm(0);
	close(their_r);
	close(their_w);
	close(w[0]);
	close(w[1]);
	munmap(sh, FERRY_BELL_FILE_SIZE);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wakes_other_process),
		cmocka_unit_test(test_wait_times_out),
		cmocka_unit_test(test_ring_before_wait_not_lost),
		cmocka_unit_test(test_notify_without_sleeper),
		cmocka_unit_test(test_wake_fd),
		cmocka_unit_test(test_wake_queue_bounded),
		cmocka_unit_test(test_wake_fd_cleared_nonblock),
	};
	return cmocka_run_group_tests_name("bell", tests, NULL, NULL);
}
