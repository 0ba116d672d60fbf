/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry_fd() end to end with the real ferryd and libferry: the descriptor
 * is readable at first and quiet once an empty ferry_poll() has armed it
 * (one that only ran an RPC handler included);
 * ferryd's events, a local-session peer's messages, room to send again,
 * an RPC deadline and ferryd's death each make it readable; and two
 * processes that wait only in epoll on it (ferry-fd-pingpong) exchange
 * checked messages, paced so that both sleep between them.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "harness.h"

static int setup(void **state)
{
	return h_setup_daemon(state, NULL);
}

static int setup_small_rings(void **state)
{
	static const char *const extra[] = {"--ipc.session_ring_size=65536",
					    "--ipc.max_message_size=16384", NULL};
	return h_setup_daemon(state, extra);
}

/* Whether @p fd becomes readable within @p ms. */
static int readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n = poll(&p, 1, ms);
	return n == 1 && (p.revents & POLLIN);
}

/* Empty the client the way an event loop does, until ferry_poll() comes
 * back empty, which arms the descriptor. @return events seen */
static int drain(ferry_t *f, uint32_t type, ferry_event_t *out)
{
	ferry_event_t ev[16];
	int n, seen = 0;
	while ((n = ferry_poll(f, ev, 16, 0)) > 0)
		for (int i = 0; i < n; i++)
			if (ev[i].type == type) {
				if (out)
					*out = ev[i];
				seen++;
			}
	assert_true(n == 0);
	return seen;
}

static void test_arm_and_quiet(void **state)
{
	struct daemon *d = *state;
	ferry_t *f = h_open(d, "fd");
	assert_non_null(f);
	int fd = ferry_fd(f);
	assert_true(fd >= 0);
	assert_int_equal(ferry_fd(f), fd);
	/* readable at first, so a loop looks before it first waits */
	assert_true(readable(fd, 0));
	drain(f, 0, NULL);
	assert_false(readable(fd, 100));
	/* spurious polls keep it armed and quiet */
	drain(f, 0, NULL);
	assert_false(readable(fd, 50));
	/* ferryd's answer to a listen wakes it */
	assert_int_equal(ferry_listen(f, "fd-svc"), 0);
	assert_true(readable(fd, 2000));
	ferry_event_t e;
	assert_int_equal(drain(f, FERRY_EV_LISTEN, &e), 1);
	assert_int_equal(e.status, 0);
	assert_false(readable(fd, 50));
	ferry_close(f);
}

static void test_local_session_wakes(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "fd-local"), 0);
	int fa = ferry_fd(p.a), fb = ferry_fd(p.b);
	assert_true(fa >= 0 && fb >= 0);
	drain(p.a, 0, NULL);
	drain(p.b, 0, NULL);
	for (int k = 0; k < 100; k++) {
		assert_false(readable(fb, 0));
		assert_int_equal(ferry_send(p.sa, &k, sizeof(k), 0), 0);
		/* the peer's send writes b's descriptor itself */
		assert_true(readable(fb, 1000));
		ferry_event_t e;
		assert_int_equal(drain(p.b, FERRY_EV_MESSAGE, &e), 1);
		assert_int_equal(e.len, sizeof(k));
		/* and back: ferryd carries nothing of a local session */
		assert_int_equal(ferry_send(p.sb, &k, sizeof(k), 0), 0);
		assert_true(readable(fa, 1000));
		assert_int_equal(drain(p.a, FERRY_EV_MESSAGE, NULL), 1);
	}
	/* the peer closing is ferryd's event */
	ferry_session_close(p.sb);
	assert_true(readable(fa, 2000));
	assert_int_equal(drain(p.a, FERRY_EV_SESSION_DOWN, NULL), 1);
	ferry_close(p.a);
	ferry_close(p.b);
}

static void test_writable_wakes(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "fd-bp"), 0);
	int fa = ferry_fd(p.a);
	drain(p.a, 0, NULL);
	uint8_t buf[1000] = {0};
	int rc;
	while ((rc = ferry_send(p.sa, buf, sizeof(buf), 0)) == 0)
		;
	assert_int_equal(rc, -EAGAIN);
	drain(p.a, 0, NULL);
	assert_false(readable(fa, 50));
	/* the reader takes everything; its release wakes the writer */
	ferry_event_t ev[64];
	while (ferry_poll(p.b, ev, 64, 0) > 0)
		;
	assert_true(readable(fa, 1000));
	assert_int_equal(drain(p.a, FERRY_EV_WRITABLE, NULL), 1);
	ferry_close(p.a);
	ferry_close(p.b);
}

static void test_rpc_deadline_wakes(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "fd-rpc"), 0);
	int fa = ferry_fd(p.a);
	drain(p.a, 0, NULL);
	uint64_t id, t0 = h_now_ms();
	/* b never answers: only the deadline can complete the call */
	assert_int_equal(ferry_rpc_call(p.sa, 5, "q", 1, 150, NULL, NULL, &id), 0);
	drain(p.a, 0, NULL);
	assert_true(readable(fa, 3000));
	ferry_event_t e;
	uint64_t until = h_now_ms() + 1000;
	int got = 0;
	while (!got && h_now_ms() < until) {
		got = drain(p.a, FERRY_EV_RPC_RESPONSE, &e);
		if (!got)
			assert_true(readable(fa, 1000));
	}
	assert_int_equal(got, 1);
	assert_int_equal(e.status, -ETIMEDOUT);
	assert_int_equal(e.rpc_id, id);
	assert_true(h_now_ms() - t0 >= 140);
	ferry_close(p.a);
	ferry_close(p.b);
}

/* A call made outside a poll loop (from another descriptor's handler):
 * the loop goes straight back to waiting, and the deadline must still
 * make the descriptor readable. */
static void test_rpc_deadline_without_poll(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "fd-rpc2"), 0);
	int fa = ferry_fd(p.a);
	drain(p.a, 0, NULL);
	assert_false(readable(fa, 50));
	uint64_t id;
	assert_int_equal(ferry_rpc_call(p.sa, 5, "q", 1, 150, NULL, NULL, &id), 0);
	ferry_event_t e;
	uint64_t until = h_now_ms() + 3000;
	int got = 0;
	while (!got && h_now_ms() < until) {
		assert_true(readable(fa, 3000));
		got = drain(p.a, FERRY_EV_RPC_RESPONSE, &e);
	}
	assert_int_equal(got, 1);
	assert_int_equal(e.status, -ETIMEDOUT);
	assert_int_equal(e.rpc_id, id);
	ferry_close(p.a);
	ferry_close(p.b);
}

static void echo_handler(void *arg, ferry_session_t *s, const ferry_event_t *req)
{
	(*(int *)arg)++;
	assert_int_equal(ferry_rpc_reply(s, req->rpc_id, 0, req->data, req->len), 0);
}

/* A poll that only ran a handler returns 0, and must have armed the
 * descriptor all the same: the loop goes to sleep after it. */
static void test_handler_poll_arms(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	int served = 0;
	assert_int_equal(open_pair(d, &p, "fd-handler"), 0);
	assert_int_equal(ferry_rpc_register(p.b, 3, echo_handler, &served), 0);
	int fb = ferry_fd(p.b);
	drain(p.b, 0, NULL);
	for (int k = 1; k <= 20; k++) {
		assert_int_equal(ferry_rpc_call(p.sa, 3, &k, sizeof(k), 2000, NULL, NULL, NULL), 0);
		assert_true(readable(fb, 1000));
		ferry_event_t ev[8];
		assert_int_equal(ferry_poll(p.b, ev, 8, 0), 0); /* the handler answered */
		assert_int_equal(served, k);
		assert_false(readable(fb, 20));
		assert_int_equal(h_wait_event(p.a, FERRY_EV_RPC_RESPONSE, 2000, NULL), 1);
	}
	ferry_close(p.a);
	ferry_close(p.b);
}

static void test_daemon_death_wakes(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "fd-death"), 0);
	int fa = ferry_fd(p.a);
	drain(p.a, 0, NULL);
	daemon_stop(d, SIGKILL);
	assert_true(readable(fa, 2000));
	/* every session is reported down, then the end */
	ferry_event_t ev[16];
	int n, downs = 0;
	uint64_t until = h_now_ms() + 2000;
	while ((n = ferry_poll(p.a, ev, 16, 0)) >= 0 && h_now_ms() < until) {
		for (int i = 0; i < n; i++)
			downs += ev[i].type == FERRY_EV_SESSION_DOWN;
		if (n == 0)
			assert_true(readable(fa, 1000));
	}
	assert_int_equal(n, -ECONNRESET);
	assert_int_equal(downs, 1);
	ferry_close(p.a);
	ferry_close(p.b);
}

/* Two processes, each waiting only in epoll on its ferry_fd(). */
static void test_pingpong_processes(void **state)
{
	struct daemon *d = *state;
	const char *tool = getenv("FD_PINGPONG");
	assert_non_null(tool);
	setenv("FERRY_SOCKET", d->sock, 1);
	pid_t srv = fork();
	if (srv == 0) {
		execl(tool, tool, "-r", "server", "--timeout-ms", "5000", (char *)NULL);
		_exit(127);
	}
	pid_t cli = fork();
	if (cli == 0) {
		execl(tool, tool, "-r", "client", "-n", "300", "-s", "200", "--gap-us", "1000",
		      "--timeout-ms", "5000", (char *)NULL);
		_exit(127);
	}
	int st_c = -1, st_s = -1;
	for (uint64_t end = h_now_ms() + 30000; h_now_ms() < end;) {
		if (st_c < 0 && waitpid(cli, &st_c, WNOHANG) == 0)
			st_c = -1;
		if (st_s < 0 && waitpid(srv, &st_s, WNOHANG) == 0)
			st_s = -1;
		if (st_c >= 0 && st_s >= 0)
			break;
		h_sleep_ms(20);
	}
	if (st_c < 0 || st_s < 0) {
		kill(cli, SIGKILL);
		kill(srv, SIGKILL);
		waitpid(cli, NULL, 0);
		waitpid(srv, NULL, 0);
		fail_msg("ferry-fd-pingpong did not finish within 30 s");
	}
	assert_true(WIFEXITED(st_c) && WEXITSTATUS(st_c) == 0);
	assert_true(WIFEXITED(st_s) && WEXITSTATUS(st_s) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_arm_and_quiet, setup, h_teardown_daemon),
		cmocka_unit_test_setup_teardown(test_local_session_wakes, setup, h_teardown_daemon),
		cmocka_unit_test_setup_teardown(test_writable_wakes, setup_small_rings, h_teardown_daemon),
		cmocka_unit_test_setup_teardown(test_rpc_deadline_wakes, setup, h_teardown_daemon),
		cmocka_unit_test_setup_teardown(test_rpc_deadline_without_poll, setup, h_teardown_daemon),
		cmocka_unit_test_setup_teardown(test_handler_poll_arms, setup, h_teardown_daemon),
		cmocka_unit_test_setup_teardown(test_daemon_death_wakes, setup, h_teardown_daemon),
		cmocka_unit_test_setup_teardown(test_pingpong_processes, setup, h_teardown_daemon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
