/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_scale: what many open sessions cost.
 *
 *   bench_scale --role server [--service S]
 *   bench_scale --role client --host ADDR --sessions N [--idle-s S]
 *               [--count R] [--warmup W] [--tcount T] [--size B]
 *               [--watch PID,...]
 *
 * The server accepts every session on its service and echoes every
 * message back. The client opens N sessions to it (in batches, within
 * limits.max_half_open_per_peer), then:
 *   0. base: attached, no session open, for --idle-s seconds: the watched
 *      daemons' CPU, the baseline for the next step, and their resident
 *      memory;
 *   1. idle: all N sessions open, nothing sent, for --idle-s seconds; the
 *      daemons named by --watch are measured over that window: CPU (the
 *      run time of their threads, /proc/PID/task/TID/schedstat) and
 *      resident memory (VmRSS) against what they used before the
 *      sessions were opened (step 0);
 *   2. busy: one session (the first) does R ping-pong round trips of B
 *      bytes (RTT p50/p99, after W not counted) and T one-way messages
 *      echoed (the rate of echoes back), while the other N - 1 stay open
 *      and idle.
 * Prints one JSON object. A benchmark tool: no timed assertions.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ferry.h"

#define BATCH 64
#define MAX_WATCH 4

struct opts {
	const char *role, *host, *service;
	uint32_t sessions, count, warmup, tcount, size;
	double idle_s;
	int timeout_ms;
	pid_t watch[MAX_WATCH];
	int n_watch;
};

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
	g_stop = sig;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_scale: %s: %s (%s)\n", what, strerror(-rc), ferry_errmsg());
	exit(1);
}

/* ---- the daemons being watched ----------------------------------------- */

/* CPU time of @p pid in ns: the run time of each of its threads, from
 * /proc/PID/task/TID/schedstat (clock ticks in /proc/PID/stat are 10 ms,
 * too coarse for an idle daemon), or -1. */
static long long cpu_ns(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	long long sum = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char p2[sizeof(path) + sizeof(e->d_name) + 16];
		snprintf(p2, sizeof(p2), "%s/%s/schedstat", path, e->d_name);
		FILE *f = fopen(p2, "r");
		unsigned long long ns;
		if (f == NULL)
			continue; /* the thread ended */
		if (fscanf(f, "%llu", &ns) == 1)
			sum += (long long)ns;
		fclose(f);
	}
	closedir(d);
	return sum;
}

static long long rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	long long v = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* ---- server ------------------------------------------------------------ */

static int run_server(const struct opts *o)
{
	ferry_opts_t fo;
	ferry_opts_init(&fo);
	fo.name = "scale-server";
	ferry_t *f;
	int rc = ferry_open(&f, &fo);
	if (rc < 0)
		die("ferry_open", rc);
	if ((rc = ferry_listen(f, o->service)) < 0)
		die("ferry_listen", rc);
	ferry_event_t ev[64];
	while (!g_stop) {
		int n = ferry_poll(f, ev, 64, 100);
		if (n < 0)
			die("ferry_poll", n);
		for (int i = 0; i < n; i++) {
			switch (ev[i].type) {
			case FERRY_EV_INCOMING:
				ferry_accept(ev[i].session);
				break;
			case FERRY_EV_MESSAGE:
				/* an echo that waits for room rather than drop */
				while ((rc = ferry_send(ev[i].session, ev[i].data, ev[i].len, 0)) ==
				       -EAGAIN)
					ferry_poll(f, NULL, 0, 0);
				break;
			case FERRY_EV_SESSION_DOWN:
				ferry_session_close(ev[i].session);
				break;
			}
		}
	}
	ferry_close(f);
	return 0;
}

/* ---- client ------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Poll until @p want sessions are up (counting into *up); fails on a
 * session that goes down, or nothing for timeout_ms. */
static void wait_up(ferry_t *f, const struct opts *o, uint32_t *up, uint32_t want)
{
	ferry_event_t ev[64];
	uint64_t last = now_ns();
	while (*up < want) {
		int n = ferry_poll(f, ev, 64, 10);
		if (n < 0)
			die("ferry_poll", n);
		for (int i = 0; i < n; i++) {
			if (ev[i].type == FERRY_EV_SESSION_UP)
				(*up)++;
			else if (ev[i].type == FERRY_EV_SESSION_DOWN)
				die("a session went down while opening", -ev[i].status);
		}
		if (n)
			last = now_ns();
		else if (now_ns() - last > (uint64_t)o->timeout_ms * 1000000ull)
			die("waiting for sessions", -ETIMEDOUT);
	}
}

/* The next message on any session; fails after timeout_ms of nothing. */
static void next_message(ferry_t *f, const struct opts *o)
{
	ferry_event_t ev;
	uint64_t start = now_ns();
	for (;;) {
		int n = ferry_poll(f, &ev, 1, 10);
		if (n < 0)
			die("ferry_poll", n);
		if (n == 1 && ev.type == FERRY_EV_MESSAGE)
			return;
		if (n == 1 && ev.type == FERRY_EV_SESSION_DOWN)
			die("the busy session went down", -ev.status);
		if (now_ns() - start > (uint64_t)o->timeout_ms * 1000000ull)
			die("waiting for an echo", -ETIMEDOUT);
	}
}

/* Poll nothing for --idle-s; cpu[k]: % of a core the watched daemon k
 * used meanwhile (-1 if unknown). @return the window in seconds */
static double idle_window(ferry_t *f, const struct opts *o, double cpu[MAX_WATCH])
{
	long long cpu1[MAX_WATCH];
	ferry_event_t ev[64];
	for (int k = 0; k < o->n_watch; k++)
		cpu1[k] = cpu_ns(o->watch[k]);
	uint64_t i0 = now_ns();
	while (!g_stop && now_ns() - i0 < (uint64_t)(o->idle_s * 1e9))
		ferry_poll(f, ev, 64, 100);
	double idle_s = (double)(now_ns() - i0) / 1e9;
	for (int k = 0; k < o->n_watch; k++) {
		long long cpu2 = cpu_ns(o->watch[k]);
		cpu[k] = cpu1[k] >= 0 && cpu2 >= 0 ? 100.0 * (double)(cpu2 - cpu1[k]) / 1e9 / idle_s
						   : -1;
	}
	return idle_s;
}

static int run_client(const struct opts *o)
{
	ferry_opts_t fo;
	ferry_opts_init(&fo);
	fo.name = "scale-client";
	ferry_t *f;
	int rc = ferry_open(&f, &fo);
	if (rc < 0)
		die("ferry_open", rc);
	double base_cpu[MAX_WATCH];
	idle_window(f, o, base_cpu);
	long long rss0[MAX_WATCH]; /* attached: what the sessions add is after */
	for (int k = 0; k < o->n_watch; k++)
		rss0[k] = rss_kib(o->watch[k]);
	ferry_session_t **s = calloc(o->sessions, sizeof(*s));
	if (s == NULL)
		die("calloc", -ENOMEM);
	uint64_t t0 = now_ns();
	uint32_t up = 0;
	for (uint32_t i = 0; i < o->sessions; i += BATCH) {
		uint32_t end = i + BATCH < o->sessions ? i + BATCH : o->sessions;
		for (uint32_t k = i; k < end; k++)
			while ((rc = ferry_connect(f, o->host, o->service, NULL, &s[k])) == -EAGAIN)
				ferry_poll(f, NULL, 0, 1);
		if (rc < 0)
			die("ferry_connect", rc);
		wait_up(f, o, &up, end);
	}
	double open_s = (double)(now_ns() - t0) / 1e9;

	/* 1. idle, everything open */
	double idle_cpu[MAX_WATCH];
	double idle_s = idle_window(f, o, idle_cpu);
	long long rss1[MAX_WATCH];
	for (int k = 0; k < o->n_watch; k++)
		rss1[k] = rss_kib(o->watch[k]);

	/* 2. one session busy */
	char *msg = calloc(1, o->size);
	uint64_t *rtt = calloc(o->count ? o->count : 1, sizeof(*rtt));
	if (msg == NULL || rtt == NULL)
		die("calloc", -ENOMEM);
	for (uint32_t r = 0; r < o->warmup + o->count; r++) {
		uint64_t a = now_ns();
		while ((rc = ferry_send(s[0], msg, o->size, 0)) == -EAGAIN)
			ferry_poll(f, NULL, 0, 0);
		if (rc < 0)
			die("ferry_send", rc);
		next_message(f, o);
		if (r >= o->warmup)
			rtt[r - o->warmup] = now_ns() - a;
	}
	qsort(rtt, o->count, sizeof(*rtt), cmp_u64);
	uint64_t w0 = now_ns();
	uint32_t got = 0;
	for (uint32_t m = 0; m < o->tcount; m++) {
		while ((rc = ferry_send(s[0], msg, o->size, FERRY_SEND_MORE)) == -EAGAIN) {
			ferry_event_t ev[64];
			int n = ferry_poll(f, ev, 64, 0);
			for (int i = 0; i < n; i++)
				got += ev[i].type == FERRY_EV_MESSAGE;
		}
		if (rc < 0)
			die("ferry_send", rc);
	}
	while (got < o->tcount) {
		ferry_event_t ev[64];
		int n = ferry_poll(f, ev, 64, 10);
		if (n < 0)
			die("ferry_poll", n);
		for (int i = 0; i < n; i++)
			got += ev[i].type == FERRY_EV_MESSAGE;
		if (n == 0 && now_ns() - w0 > (uint64_t)o->timeout_ms * 1000000ull * 10)
			die("waiting for echoes", -ETIMEDOUT);
	}
	double rate = (double)o->tcount / ((double)(now_ns() - w0) / 1e9);

	printf("{\"sessions\": %u, \"open_s\": %.3f, \"size\": %u, \"rtt_p50_ns\": %" PRIu64
	       ", \"rtt_p99_ns\": %" PRIu64 ", \"echo_msgs_per_s\": %.0f, \"idle_s\": %.2f, "
	       "\"daemons\": [",
	       o->sessions, open_s, o->size, o->count ? rtt[o->count / 2] : 0,
	       o->count ? rtt[o->count * 99 / 100] : 0, rate, idle_s);
	for (int k = 0; k < o->n_watch; k++) {
		printf("%s{\"pid\": %d, \"idle_cpu_pct_base\": %.4f, \"idle_cpu_pct\": %.4f, "
		       "\"rss_kib_before\": %lld, \"rss_kib_open\": %lld, "
		       "\"rss_bytes_per_session\": %.0f}",
		       k ? ", " : "", (int)o->watch[k], base_cpu[k], idle_cpu[k], rss0[k], rss1[k],
		       rss1[k] >= 0 && rss0[k] >= 0
			       ? (double)(rss1[k] - rss0[k]) * 1024 / o->sessions
			       : -1.0);
	}
	printf("]}\n");
	free(msg);
	free(rtt);
	free(s);
	ferry_close(f);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: bench_scale --role server [--service S]\n"
		     "       bench_scale --role client --host ADDR --sessions N [--idle-s S]\n"
		     "                   [--count R] [--warmup W] [--tcount T] [--size B]\n"
		     "                   [--watch PID,...]\n"
		     "                   [--timeout-ms MS]\n");
}

int main(int argc, char **argv)
{
	struct opts o = {.service = "scale",
			 .sessions = 1,
			 .count = 2000,
			 .warmup = 500,
			 .tcount = 20000,
			 .size = 32,
			 .idle_s = 5,
			 .timeout_ms = 10000};
	static const struct option lo[] = {
		{"role", required_argument, 0, 'r'},	 {"host", required_argument, 0, 'H'},
		{"service", required_argument, 0, 'S'},	 {"sessions", required_argument, 0, 'N'},
		{"count", required_argument, 0, 'n'},	 {"tcount", required_argument, 0, 't'},
		{"size", required_argument, 0, 's'},	 {"idle-s", required_argument, 0, 'i'},
		{"watch", required_argument, 0, 'w'},	 {"timeout-ms", required_argument, 0, 'T'},
		{"warmup", required_argument, 0, 'W'},	 {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "r:H:S:N:n:t:s:i:w:T:W:h", lo, NULL)) != -1) {
		switch (c) {
		case 'r': o.role = optarg; break;
		case 'H': o.host = optarg; break;
		case 'S': o.service = optarg; break;
		case 'N': o.sessions = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'n': o.count = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'W': o.warmup = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 't': o.tcount = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': o.size = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'i': o.idle_s = strtod(optarg, NULL); break;
		case 'T': o.timeout_ms = atoi(optarg); break;
		case 'w':
			for (char *p = strtok(optarg, ","); p && o.n_watch < MAX_WATCH;
			     p = strtok(NULL, ","))
				o.watch[o.n_watch++] = (pid_t)atoi(p);
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	if (o.role && strcmp(o.role, "server") == 0)
		return run_server(&o);
	if (o.role && strcmp(o.role, "client") == 0 && o.host && o.sessions > 0 && o.size > 0)
		return run_client(&o);
	usage(stderr);
	return 2;
}
