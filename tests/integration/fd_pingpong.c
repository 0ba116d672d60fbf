/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry-fd-pingpong: an application that waits for ferry only in its own
 * epoll loop, on ferry_fd(), never inside ferry_poll(). The client sends
 * one checked message at a time, pausing between them so that everyone
 * on the path goes to sleep, and the server echoes; every byte of every
 * echo is checked. Each side counts its wake-ups and the spurious ones (a
 * wake-up after which ferry_poll() had nothing), and the client fails
 * when an echo does not come within --timeout-ms or wake-ups are missing
 * or mostly spurious.
 *
 *   ferry-fd-pingpong -r server [-S SERVICE] [--timeout-ms N]
 *   ferry-fd-pingpong -r client [-H HOST] [-S SERVICE] [-n N] [-s SIZE]
 *                     [--gap-us N] [--timeout-ms N]
 *
 * The server serves one session and exits when it ends (or after
 * --timeout-ms with no session). FERRY_SOCKET names the daemon. Exit 0:
 * all checked; 1: a failure, said on stderr. A test tool: not installed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "ferry.h"

struct opts {
	const char *role, *host, *service;
	long count, size, gap_us, timeout_ms;
};

static struct opts O = {.service = "fd-pingpong", .count = 1000, .size = 64, .gap_us = 2000,
			.timeout_ms = 5000};

struct loop {
	ferry_t *f;
	int ep;
	uint64_t wakeups, spurious;
	/* what an event does; the loop stops its wait when it returns 1 */
	int (*handle)(struct loop *l, const ferry_event_t *e);
	ferry_session_t *s;   /* client: its session */
	const uint8_t *expect; /* client: the echo it waits for */
	int sessions;          /* server: sessions accepted */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint8_t pattern(uint64_t seq, size_t i)
{
	return (uint8_t)((seq * 0x9e3779b97f4a7c15ull + i * 0x2545f491ull) >> 56);
}

static void fail(const char *fmt, const char *detail)
{
	fprintf(stderr, "ferry-fd-pingpong (%s): %s%s%s\n", O.role, fmt, detail ? ": " : "",
		detail ? detail : "");
	exit(1);
}

static void open_loop(struct loop *l, const char *name)
{
	ferry_opts_t o;
	ferry_opts_init(&o);
	o.name = name;
	int rc = ferry_open(&l->f, &o);
	if (rc < 0)
		fail("attach", ferry_errmsg());
	int fd = ferry_fd(l->f);
	if (fd < 0)
		fail("ferry_fd", ferry_errmsg());
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	if (l->ep < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		fail("epoll", strerror(errno));
}

/* Wait in epoll (at most @p ms), then, as ferry.h says, take events
 * with ferry_poll(..., 0) until it returns 0, which arms the descriptor
 * again. @return 1 when a handler said done, 0 when the wait timed out
 * or the wake-up brought nothing that did */
static int wait_events(struct loop *l, long ms)
{
	struct epoll_event e;
	ferry_event_t ev[32];
	int k = epoll_wait(l->ep, &e, 1, (int)ms);
	if (k < 0 && errno != EINTR)
		fail("epoll_wait", strerror(errno));
	if (k <= 0)
		return 0;
	l->wakeups++;
	int n, first = 1, done = 0;
	while ((n = ferry_poll(l->f, ev, 32, 0)) > 0) {
		for (int i = 0; i < n; i++)
			done |= l->handle(l, &ev[i]);
		first = 0;
	}
	if (n < 0)
		fail("ferry_poll", ferry_errmsg());
	l->spurious += first;
	return done;
}

static void send_one(ferry_session_t *s, const void *buf, size_t len)
{
	int rc = ferry_send(s, buf, len, 0);
	/* one message in flight: the rings never fill */
	if (rc < 0)
		fail("send", ferry_errmsg());
}

static int serve_event(struct loop *l, const ferry_event_t *e)
{
	switch (e->type) {
	case FERRY_EV_LISTEN:
		if (e->status < 0)
			fail("listen", strerror(-e->status));
		break;
	case FERRY_EV_INCOMING:
		l->sessions++;
		if (ferry_accept(e->session) < 0)
			fail("accept", ferry_errmsg());
		break;
	case FERRY_EV_MESSAGE:
		send_one(e->session, e->data, e->len);
		break;
	case FERRY_EV_SESSION_DOWN:
		ferry_session_close(e->session);
		return 1;
	}
	return 0;
}

static int server(void)
{
	struct loop l = {.handle = serve_event};
	open_loop(&l, "fd-pingpong-server");
	if (ferry_listen(l.f, O.service) < 0)
		fail("listen", ferry_errmsg());
	uint64_t idle_since = now_ms();
	while (!wait_events(&l, 100))
		if (l.sessions == 0 && now_ms() - idle_since > (uint64_t)O.timeout_ms)
			fail("nobody came", NULL);
	printf("server: %" PRIu64 " wake-ups, %" PRIu64 " spurious\n", l.wakeups, l.spurious);
	ferry_close(l.f);
	return 0;
}

/* While opening: 1 once up; a refusal because nobody listens yet asks
 * again, anything else fails. */
static int open_event(struct loop *l, const ferry_event_t *e)
{
	if (e->type == FERRY_EV_SESSION_UP)
		return 1;
	if (e->type != FERRY_EV_SESSION_DOWN)
		return 0;
	if (e->status != FERRY_REASON_NO_LISTENER)
		fail("session", ferry_reason_str(e->status));
	ferry_session_close(e->session);
	struct timespec d = {0, 50000000};
	nanosleep(&d, NULL);
	if (ferry_connect(l->f, O.host, O.service, NULL, &l->s) < 0)
		fail("connect", ferry_errmsg());
	return 0;
}

static int echo_event(struct loop *l, const ferry_event_t *e)
{
	if (e->type == FERRY_EV_SESSION_DOWN)
		fail("session down", ferry_reason_str(e->status));
	if (e->type != FERRY_EV_MESSAGE)
		return 0;
	if (e->len != (size_t)O.size || memcmp(e->data, l->expect, (size_t)O.size))
		fail("an echo came back wrong", NULL);
	return 1;
}

static int client(void)
{
	struct loop l = {.handle = open_event};
	open_loop(&l, "fd-pingpong-client");
	if (ferry_connect(l.f, O.host, O.service, NULL, &l.s) < 0)
		fail("connect", ferry_errmsg());
	/* the server may still be starting: ask again while nobody listens */
	for (uint64_t end = now_ms() + (uint64_t)O.timeout_ms; !wait_events(&l, 100);)
		if (now_ms() > end)
			fail("no session within --timeout-ms", NULL);
	uint8_t *buf = malloc((size_t)O.size);
	uint64_t w0 = l.wakeups, sp0 = l.spurious;
	l.handle = echo_event;
	l.expect = buf;
	for (long k = 0; k < O.count; k++) {
		memcpy(buf, &k, sizeof(k));
		for (long i = sizeof(k); i < O.size; i++)
			buf[i] = pattern((uint64_t)k, (size_t)i);
		send_one(l.s, buf, (size_t)O.size);
		uint64_t t0 = now_ms();
		while (!wait_events(&l, O.timeout_ms))
			if (now_ms() - t0 >= (uint64_t)O.timeout_ms)
				fail("no echo within --timeout-ms (a lost wake-up?)", NULL);
		if (O.gap_us) {
			struct timespec d = {O.gap_us / 1000000, (O.gap_us % 1000000) * 1000};
			nanosleep(&d, NULL);
		}
	}
	uint64_t w = l.wakeups - w0, sp = l.spurious - sp0;
	printf("client: %ld round trips of %ld B, %" PRIu64 " wake-ups, %" PRIu64 " spurious\n",
	       O.count, O.size, w, sp);
	/* each echo needs a wake-up; stale wakes may add a few, not many */
	if (w < (uint64_t)O.count || sp > (uint64_t)O.count / 10 + 2)
		fail("wake-ups do not match the echoes", NULL);
	free(buf);
	ferry_session_close(l.s);
	ferry_close(l.f);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"role", 1, 0, 'r'},  {"host", 1, 0, 'H'},   {"service", 1, 0, 'S'},
		{"count", 1, 0, 'n'}, {"size", 1, 0, 's'},   {"gap-us", 1, 0, 'g'},
		{"timeout-ms", 1, 0, 'T'}, {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "r:H:S:n:s:", lo, NULL)) != -1) {
		switch (c) {
		case 'r': O.role = optarg; break;
		case 'H': O.host = optarg; break;
		case 'S': O.service = optarg; break;
		case 'n': O.count = atol(optarg); break;
		case 's': O.size = atol(optarg); break;
		case 'g': O.gap_us = atol(optarg); break;
		case 'T': O.timeout_ms = atol(optarg); break;
		default: return 2;
		}
	}
	if (O.role == NULL || O.count < 1 || O.size < 8 || O.size > 65536 || O.gap_us < 0 ||
	    O.timeout_ms < 1) {
		fprintf(stderr, "usage: ferry-fd-pingpong -r server|client [-H HOST] [-S SERVICE] "
				"[-n N] [-s 8..65536] [--gap-us N] [--timeout-ms N]\n");
		return 2;
	}
	if (strcmp(O.role, "server") == 0)
		return server();
	if (strcmp(O.role, "client") == 0)
		return client();
	fprintf(stderr, "ferry-fd-pingpong: --role server or client\n");
	return 2;
}
