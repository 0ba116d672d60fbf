/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmarks of ferryd's local mode that ferry-perf does not cover:
 *
 *   idle CPU   of the daemon (and of an idle client) with one attached
 *              client that waits in ferry_poll(), over --idle-s seconds
 *   reclaim    time from SIGKILL of a client to (a) its peer seeing
 *              FERRY_EV_SESSION_DOWN and (b) its ring file being gone
 *
 * Prints a text table, or JSON with --json. A benchmark, not a test: it
 * reports figures and fails only if something does not work at all.
 */
#include <getopt.h>
#include <inttypes.h>

#include "../integration/harness.h"

/* Nanoseconds @p pid has spent on a CPU (/proc/PID/schedstat, first
 * field): exact where /proc/PID/stat counts 10 ms ticks. */
static uint64_t cpu_ns(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	FILE *f = fopen(path, "r");
	unsigned long long ns = 0;
	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int idle_s = 10, rounds = 20, json = 0;
	static const struct option lo[] = {{"idle-s", 1, 0, 'i'}, {"rounds", 1, 0, 'r'},
					   {"json", 0, 0, 'j'}, {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "i:r:j", lo, NULL)) != -1) {
		if (c == 'i')
			idle_s = atoi(optarg);
		else if (c == 'r')
			rounds = atoi(optarg);
		else if (c == 'j')
			json = 1;
		else
			return 2;
	}
	if (rounds < 1 || rounds > 1000 || idle_s < 1 || idle_s > 600)
		return 2;
	struct daemon d;
	memset(&d, 0, sizeof(d));
	if (daemon_start(&d) < 0) {
		fprintf(stderr, "bench_local: ferryd did not start\n");
		daemon_dump_log(&d);
		daemon_cleanup(&d);
		return 1;
	}

	/* -- idle CPU: one client attached, waiting without a time limit -- */
	int pfd[2];
	if (pipe(pfd) < 0)
		return 1;
	pid_t idle = fork();
	if (idle == 0) {
		ferry_t *f = h_open(&d, "idle");
		if (f == NULL || h_listen(f, "idle") != 0)
			_exit(1);
		ssize_t w = write(pfd[1], "r", 1);
		(void)w;
		ferry_event_t ev[4];
		for (;;)
			ferry_poll(f, ev, 4, -1);
	}
	char ch;
	if (read(pfd[0], &ch, 1) != 1) {
		daemon_cleanup(&d);
		return 1;
	}
	h_sleep_ms(500);
	uint64_t d0 = cpu_ns(d.pid), c0 = cpu_ns(idle), t0 = h_now_ms();
	h_sleep_ms(idle_s * 1000);
	uint64_t d1 = cpu_ns(d.pid), c1 = cpu_ns(idle), t1 = h_now_ms();
	double secs = (double)(t1 - t0) / 1000.0;
	double dcpu = 100.0 * (double)(d1 - d0) / 1e9 / secs;
	double ccpu = 100.0 * (double)(c1 - c0) / 1e9 / secs;
	kill(idle, SIGKILL);
	waitpid(idle, NULL, 0);

	/* -- reclaim: kill a client with an open session, time the peer's
	 *    SESSION_DOWN and the disappearance of its ring file -- */
	ferry_t *srv = h_open(&d, "peer");
	if (srv == NULL || h_listen(srv, "victim") != 0) {
		daemon_cleanup(&d);
		return 1;
	}
	uint64_t *down = calloc((size_t)rounds, sizeof(*down));
	uint64_t *gone = calloc((size_t)rounds, sizeof(*gone));
	int ok = 0;
	for (int r = 0; r < rounds; r++) {
		pid_t v = fork();
		if (v == 0) {
			ferry_t *f = h_open(&d, "victim");
			ferry_session_t *s;
			if (f == NULL || ferry_connect(f, NULL, "victim", NULL, &s) < 0)
				_exit(1);
			ferry_event_t ev[4];
			for (;;)
				ferry_poll(f, ev, 4, -1);
		}
		ferry_event_t e;
		if (h_wait_event(srv, FERRY_EV_SESSION_UP, 3000, &e) != 1)
			break;
		ferry_session_t *s = e.session;
		int files = h_count_files(d.shm, "client-");
		h_sleep_ms(50);
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		kill(v, SIGKILL);
		int got_down = 0, got_gone = 0;
		for (uint64_t end = h_now_ms() + 5000; (!got_down || !got_gone) && h_now_ms() < end;) {
			ferry_event_t ev[8];
			int n = ferry_poll(srv, ev, 8, 0);
			clock_gettime(CLOCK_MONOTONIC, &b);
			uint64_t us = (uint64_t)((b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000);
			for (int i = 0; i < n; i++)
				if (ev[i].type == FERRY_EV_SESSION_DOWN && ev[i].session == s && !got_down) {
					down[r] = us;
					got_down = 1;
				}
			if (!got_gone && h_count_files(d.shm, "client-") == files - 1) {
				gone[r] = us;
				got_gone = 1;
			}
		}
		waitpid(v, NULL, 0);
		ferry_session_close(s);
		if (!got_down || !got_gone)
			break;
		ok++;
	}
	ferry_close(srv);
	daemon_stop(&d, SIGTERM);
	daemon_cleanup(&d);
	if (ok < rounds) {
		fprintf(stderr, "bench_local: reclaim round %d did not complete\n", ok);
		return 1;
	}
	qsort(down, (size_t)ok, sizeof(*down), cmp_u64);
	qsort(gone, (size_t)ok, sizeof(*gone), cmp_u64);
	if (json) {
		printf("{\"idle_s\":%.1f,\"daemon_idle_cpu_pct\":%.4f,\"client_idle_cpu_pct\":%.4f,"
		       "\"reclaim_rounds\":%d,\"peer_down_us\":{\"p50\":%" PRIu64 ",\"max\":%" PRIu64
		       "},\"ring_file_gone_us\":{\"p50\":%" PRIu64 ",\"max\":%" PRIu64 "}}\n",
		       secs, dcpu, ccpu, ok, down[ok / 2], down[ok - 1], gone[ok / 2], gone[ok - 1]);
	} else {
		printf("idle CPU over %.1f s, one attached idle client: ferryd %.4f%%, client %.4f%%\n",
		       secs, dcpu, ccpu);
		printf("SIGKILLed client, %d rounds: peer sees SESSION_DOWN p50 %" PRIu64
		       " us max %" PRIu64 " us; ring file gone p50 %" PRIu64 " us max %" PRIu64 " us\n",
		       ok, down[ok / 2], down[ok - 1], gone[ok / 2], gone[ok - 1]);
	}
	free(down);
	free(gone);
	return 0;
}
