/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry-perf: latency and throughput of ferry sessions.
 *
 * For each message size: a ping-pong (RTT percentiles from a histogram of
 * every round trip after warm-up) and a one-way stream (messages/s and
 * bytes/s, every message's sequence number checked by the receiver). In the
 * same run it measures the floor: a raw cache-line ping-pong between two
 * processes over shared memory, and prints ferry's RTT as a ratio to it.
 *
 * With --rate N or --gap-us N only the ping-pong runs, paced (pace.h):
 * sparse requests, the common case for RPC, see idle daemons and clients
 * where back-to-back ones never do.
 *
 * Roles: "both" (default) forks a server and runs the client against it on
 * this host; "server" and "client" run one side each (e.g. on two hosts).
 * A server serves any number of clients at once and checks each session's
 * stream on its own, so several clients measure concurrent flows.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ferry.h"
#include "hgrm.h"
#include "hist.h"
#include "pace.h"
#include "sizearg.h"
#include "tsc.h"

enum { K_PING = 1, K_DATA = 2, K_END = 3, K_ENDACK = 4, K_QUIT = 5 };

struct msg {
	uint32_t kind;
	uint32_t size;
	uint64_t seq;
	uint64_t count; /* K_ENDACK: messages received; errors below */
	uint64_t errors;
};

/* What the server has checked of one session's one-way stream. */
struct stream {
	uint64_t expect, got, errors;
};

/* --verify: every payload byte after the header is a function of the
 * message's sequence number and position, checked on arrival. */
static inline uint8_t pattern(uint64_t seq, size_t i)
{
	return (uint8_t)((seq * 0x9e3779b97f4a7c15ull + i * 0x2545f491ull) >> 56);
}

static void fill(uint8_t *buf, size_t len, uint64_t seq)
{
	for (size_t i = sizeof(struct msg); i < len; i++)
		buf[i] = pattern(seq, i);
}

static int check(const uint8_t *buf, size_t len, uint64_t seq)
{
	for (size_t i = sizeof(struct msg); i < len; i++)
		if (buf[i] != pattern(seq, i))
			return -1;
	return 0;
}

struct opts {
	const char *role, *host, *service, *socket;
	size_t sizes[32];
	int nsizes;
	uint64_t count, warmup, tcount;
	double duration;
	int json, floor, verify, rpc, rpc_depth;
	int spin_us, yield_us;
	int timeout_ms;
	const char *hgrm; /* --hgrm PATTERN */
	struct pace pace; /* --rate, --gap-us */
};

static struct opts O = {
	.role = "both", .service = "perf", .count = 200000, .warmup = 20000, .tcount = 2000000,
	.floor = 1, .rpc_depth = 32, .spin_us = 1000, .yield_us = 1000, .timeout_ms = 10000,
};

static void usage(FILE *o)
{
	fprintf(o,
		"usage: ferry-perf [options]\n"
		"  -r, --role both|server|client  both (default) forks a local server\n"
		"  -H, --host ADDR       server host for --role client (default: this host)\n"
		"  -S, --service NAME    service to listen on / connect to (default perf)\n"
		"  -s, --sizes LIST      message sizes, e.g. 32,1K,1M (default 32,1K; 32 B .. 1 GiB)\n"
		"  -n, --count N         ping-pong round trips per size (default 200000; 0: no\n"
		"                        ping-pong, with --duration only one-way for that long)\n"
		"  -t, --tcount N        one-way messages per size (default 2000000)\n"
		"  -w, --warmup N        round trips not recorded (default 20000)\n"
		"  -d, --duration SEC    run each test this long instead of a count\n"
		"      --no-floor        skip the shared-memory floor measurement\n"
		"      --spin-us N       ferry_poll spins this long before yielding (default 1000;\n"
		"                        -1: the library's default)\n"
		"      --yield-us N      then yields this long before sleeping (default 1000;\n"
		"                        -1: the library's default)\n"
		"      --rate N          ping-pong only, paced: request k is due at k/N s and its\n"
		"                        round trip is timed from then (no coordinated omission)\n"
		"      --gap-us N        ping-pong only, one request at a time, N us apart\n"
		"      --socket PATH     ferryd's control socket (default $FERRY_SOCKET or %s)\n"
		"      --rpc             also measure RPC: latency of one call at a time, and\n"
		"                        calls/s with --rpc-depth N in flight (default 32)\n"
		"      --verify          fill every message with a pattern and check every byte\n"
		"                        on arrival (costs time; for tests)\n"
		"      --timeout-ms N    give up when nothing arrives for N ms, or when nobody\n"
		"                        has listened on the service for that long (default 10000)\n"
		"  -j, --json            one JSON object per size (an array if several)\n"
		"      --hgrm PATTERN    write each latency histogram as an HdrHistogram\n"
		"                        percentile distribution (.hgrm, microseconds) to\n"
		"                        PATTERN with {size} replaced by the size (32B, 1KiB)\n"
		"                        and {what} by rtt, floor or rpc; without {what}\n"
		"                        only the ping-pong RTT is written, and {size} is\n"
		"                        needed with several sizes\n"
		"  -h, --help\n",
		FERRY_DEFAULT_SOCKET);
}

static int die(const char *what, int rc)
{
	fprintf(stderr, "ferry-perf: %s: %s (%s)\n", what, strerror(-rc), ferry_errmsg());
	exit(1);
}

/* ---- server ------------------------------------------------------------ */

#define RPC_ECHO 1

static void rpc_echo(void *arg, ferry_session_t *s, const ferry_event_t *req)
{
	(void)arg;
	int rc;
	while ((rc = ferry_rpc_reply(s, req->rpc_id, 0, req->data, req->len)) == -EAGAIN)
		;
	(void)rc;
}

static int serve(int ready_fd)
{
	ferry_t *f;
	ferry_opts_t fo;
	ferry_opts_init(&fo);
	fo.socket_path = O.socket;
	fo.name = "perf-server";
	fo.spin_us = O.spin_us;
	fo.yield_us = O.yield_us;
	int rc = ferry_open(&f, &fo);
	if (rc < 0)
		die("attach", rc);
	/* --rpc: answer every request of type RPC_ECHO with its own bytes */
	if ((rc = ferry_rpc_register(f, RPC_ECHO, rpc_echo, NULL)) < 0)
		die("rpc register", rc);
	if ((rc = ferry_listen(f, O.service)) < 0)
		die("listen", rc);
	ferry_event_t ev[64];
	int sessions = 0;
	for (;;) {
		int n = ferry_poll(f, ev, 64, 1000);
		if (n < 0)
			die("poll", n);
		for (int i = 0; i < n; i++) {
			ferry_event_t *e = &ev[i];
			switch (e->type) {
			case FERRY_EV_LISTEN:
				if (e->status < 0) {
					fprintf(stderr, "ferry-perf: listen on %s: %s\n", O.service,
						strerror(-e->status));
					exit(1);
				}
				if (ready_fd >= 0) {
					ssize_t w = write(ready_fd, "r", 1);
					(void)w;
					close(ready_fd);
					ready_fd = -1;
				}
				break;
			case FERRY_EV_INCOMING: {
				/* each client streams on its own session, checked
				 * on its own: several may run at once */
				struct stream *st = calloc(1, sizeof(*st));
				if (st == NULL)
					die("accept", -ENOMEM);
				ferry_session_set_user(e->session, st);
				ferry_accept(e->session);
				sessions++;
				break;
			}
			case FERRY_EV_MESSAGE: {
				struct msg m;
				struct stream *st = ferry_session_user(e->session);
				if (e->len < sizeof(m)) {
					st->errors++;
					break;
				}
				memcpy(&m, e->data, sizeof(m));
				if (m.kind == K_PING) {
					/* echo the whole message back */
					while ((rc = ferry_send(e->session, e->data, e->len, 0)) == -EAGAIN)
						;
					if (rc < 0)
						die("echo", rc);
				} else if (m.kind == K_DATA) {
					if (m.seq != st->expect || m.size != e->len ||
					    (O.verify && check(e->data, e->len, m.seq) < 0))
						st->errors++;
					st->expect = m.seq + 1;
					st->got++;
				} else if (m.kind == K_END) {
					struct msg a = {.kind = K_ENDACK, .count = st->got,
							.errors = st->errors};
					while ((rc = ferry_send(e->session, &a, sizeof(a), 0)) == -EAGAIN)
						;
					*st = (struct stream){0};
				} else if (m.kind == K_QUIT) {
					ferry_close(f);
					return 0;
				}
				break;
			}
			case FERRY_EV_SESSION_DOWN:
				free(ferry_session_user(e->session));
				ferry_session_close(e->session);
				/* In "both" mode the server serves one client. */
				if (strcmp(O.role, "both") == 0) {
					ferry_close(f);
					return 0;
				}
				break;
			}
		}
	}
}

/* ---- client ------------------------------------------------------------ */

static ferry_t *F;
static ferry_session_t *S;

/* Wait for one message; returns its pointer (valid until the next wait). */
static const ferry_event_t *wait_msg(void)
{
	static ferry_event_t ev[16];
	static int n, i;
	for (;;) {
		while (i < n) {
			const ferry_event_t *e = &ev[i++];
			if (e->type == FERRY_EV_MESSAGE)
				return e;
			if (e->type == FERRY_EV_SESSION_DOWN) {
				fprintf(stderr, "ferry-perf: session down: %s\n",
					ferry_reason_str(e->status));
				exit(1);
			}
		}
		n = ferry_poll(F, ev, 16, O.timeout_ms);
		i = 0;
		if (n < 0)
			die("poll", n);
		if (n == 0) {
			fprintf(stderr, "ferry-perf: no message for %d ms (--timeout-ms)\n", O.timeout_ms);
			exit(1);
		}
	}
}

/* Poll the client once for waiting's sake (room to send, RPC
 * completions by callback); the session ending ends the run. */
static void poll_idle(void)
{
	ferry_event_t ev[16];
	int n = ferry_poll(F, ev, 16, O.timeout_ms);
	if (n < 0)
		die("poll", n);
	for (int i = 0; i < n; i++)
		if (ev[i].type == FERRY_EV_SESSION_DOWN) {
			fprintf(stderr, "ferry-perf: session down: %s\n", ferry_reason_str(ev[i].status));
			exit(1);
		}
}

static void send_all(const void *buf, size_t len, unsigned flags)
{
	int rc;
	/* waiting for FERRY_EV_WRITABLE; no messages arrive in the one-way
	 * test, so the events can be dropped */
	while ((rc = ferry_send(S, buf, len, flags)) == -EAGAIN)
		poll_idle();
	if (rc < 0)
		die("send", rc);
}

struct result {
	size_t size;
	struct hist h;
	uint64_t rounds;
	double msgs_per_s, bytes_per_s;
	uint64_t tx, rx, errors;
	struct hist floor;
	struct hist rpc;   /* --rpc: one call at a time, request to response */
	double rpc_per_s;  /* --rpc: completed calls/s with rpc_depth in flight */
	uint64_t rpc_errors;
};

static int deadline_passed(uint64_t t0, uint64_t k)
{
	if (O.duration <= 0)
		return 0;
	return (k & 1023) == 0 && tsc_ns(tsc_now() - t0) >= (uint64_t)(O.duration * 1e9);
}

/* The floor: two processes, two cache lines, one written by each. */
static void shm_floor(struct hist *h, uint64_t rounds, uint64_t warm)
{
	struct line {
		_Atomic uint64_t v;
		char pad[56];
	};
	struct line *l = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (l == MAP_FAILED)
		return;
	atomic_store(&l[0].v, 0);
	atomic_store(&l[1].v, 0);
	pid_t pid = fork();
	if (pid == 0) {
		for (uint64_t k = 1; k <= rounds + warm; k++) {
			while (atomic_load_explicit(&l[0].v, memory_order_acquire) != k)
				;
			atomic_store_explicit(&l[1].v, k, memory_order_release);
		}
		_exit(0);
	}
	for (uint64_t k = 1; k <= rounds + warm; k++) {
		uint64_t a = tsc_now();
		atomic_store_explicit(&l[0].v, k, memory_order_release);
		while (atomic_load_explicit(&l[1].v, memory_order_acquire) != k)
			;
		uint64_t b = tsc_now();
		if (k > warm)
			hist_add(h, tsc_ns(b - a));
	}
	waitpid(pid, NULL, 0);
	munmap(l, 4096);
}

/*
 * Ping-pong in blocks, each followed by a block of the shared-memory floor
 * when it is measured. On a VM the two vCPUs may sit on host cores close
 * together or far apart, and that changes between (and during) runs by a
 * factor of four in cache-line transfer time; interleaving makes ferry and
 * its floor see the same placement, so their ratio means something.
 * Paced (--rate, --gap-us: no floor), each request goes when pace.h says
 * and is timed on CLOCK_MONOTONIC, the schedule's clock.
 */
#define PP_BLOCK 10000

static void pingpong(struct result *r, uint8_t *buf)
{
	struct msg *m = (struct msg *)buf;
	m->kind = K_PING;
	m->size = (uint32_t)r->size;
	hist_reset(&r->h);
	hist_reset(&r->floor);
	uint64_t total = O.duration > 0 ? UINT64_MAX : O.warmup + O.count;
	uint64_t t0 = tsc_now();
	int paced = pace_on(&O.pace);
	if (paced)
		pace_start(&O.pace);
	for (uint64_t k = 0; k < total; k++) {
		m->seq = k;
		if (O.verify)
			fill(buf, r->size, k);
		uint64_t a = paced ? pace_next(&O.pace) : tsc_now();
		send_all(buf, r->size, 0);
		const ferry_event_t *e = wait_msg();
		uint64_t ns = paced ? pace_now() - a : tsc_ns(tsc_now() - a);
		if (e->len != r->size || ((const struct msg *)e->data)->seq != k ||
		    (O.verify && check(e->data, e->len, k) < 0)) {
			fprintf(stderr, "ferry-perf: echo %" PRIu64 " came back wrong\n", k);
			exit(1);
		}
		if (k >= O.warmup)
			hist_add(&r->h, ns);
		if (k >= O.warmup && deadline_passed(t0, k))
			break;
		if (O.floor && k >= O.warmup && (k - O.warmup) % PP_BLOCK == PP_BLOCK - 1) {
			/* let the server's poll go from spinning to sleeping
			 * (spin_us + yield_us) so it does not share the floor's
			 * cores, then measure a block of the floor */
			struct timespec ts = {0, ((long)O.spin_us + O.yield_us + 1000) * 1000};
			nanosleep(&ts, NULL);
			shm_floor(&r->floor, PP_BLOCK, 1000);
		}
	}
	r->rounds = r->h.count;
}

static void oneway(struct result *r, uint8_t *buf)
{
	struct msg *m = (struct msg *)buf;
	m->kind = K_DATA;
	m->size = (uint32_t)r->size;
	uint64_t total = O.duration > 0 ? UINT64_MAX : O.tcount;
	/* Large messages: fewer of them, the same bytes order of magnitude. */
	if (O.duration <= 0 && r->size >= 65536)
		total = total / (r->size / 1024) + 100;
	uint64_t t0 = tsc_now(), k;
	for (k = 0; k < total; k++) {
		m->seq = k;
		if (O.verify)
			fill(buf, r->size, k);
		/* FERRY_SEND_MORE batches the wake-up check; every 32nd send
		 * (and the END below) publishes a wake. */
		send_all(buf, r->size, (k & 31) != 31 ? FERRY_SEND_MORE : 0);
		if (deadline_passed(t0, k))
			break;
	}
	uint64_t sent = k < total ? k + 1 : total;
	struct msg end = {.kind = K_END};
	send_all(&end, sizeof(end), 0);
	const ferry_event_t *e = wait_msg();
	uint64_t t1 = tsc_now();
	struct msg a;
	memcpy(&a, e->data, sizeof(a));
	double secs = (double)tsc_ns(t1 - t0) / 1e9;
	r->tx = sent;
	r->rx = a.count;
	r->errors = a.errors;
	r->msgs_per_s = (double)a.count / secs;
	r->bytes_per_s = r->msgs_per_s * (double)r->size;
}

static void print_hist_json(const char *key, const struct hist *h)
{
	printf("\"%s\":{\"p50\":%" PRIu64 ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64
	       ",\"p999\":%" PRIu64 ",\"max\":%" PRIu64 "}",
	       key, hist_pct(h, 0.5), hist_pct(h, 0.9), hist_pct(h, 0.99), hist_pct(h, 0.999), h->max);
}

/* --hgrm: this size's histograms, one file each (see usage) */
static void save_hgrm(const struct result *r)
{
	const struct {
		const char *what;
		const struct hist *h;
	} k[] = {{"rtt", &r->h}, {"floor", &r->floor}, {"rpc", &r->rpc}};
	char size[32], path[PATH_MAX], err[PATH_MAX + 128];
	const char *unit[] = {"B", "KiB", "MiB", "GiB"};
	size_t v = r->size;
	int u = 0;
	while (u < 3 && v >= 1024 && v % 1024 == 0)
		v /= 1024, u++;
	snprintf(size, sizeof(size), "%zu%s", v, unit[u]);
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		if (k[i].h->count == 0 || (i > 0 && !strstr(O.hgrm, "{what}")))
			continue;
		if (hgrm_path(path, sizeof(path), O.hgrm, size, k[i].what) < 0)
			snprintf(err, sizeof(err), "%s: file name too long", O.hgrm);
		else if (hgrm_save(path, k[i].h, HGRM_SCALE_US, err, sizeof(err)) == 0)
			continue;
		fprintf(stderr, "ferry-perf: --hgrm: %s\n", err);
		exit(1);
	}
}

/* The unpaced members: one-way, RPC, floor. */
static void print_rest_json(const struct result *r)
{
	const struct hist *h = &r->h, *fl = &r->floor;
	printf(",\"msgs_per_s\":%.0f,\"bytes_per_s\":%.0f,\"sent\":%" PRIu64
	       ",\"received\":%" PRIu64 ",\"errors\":%" PRIu64,
	       r->msgs_per_s, r->bytes_per_s, r->tx, r->rx, r->errors);
	if (O.rpc) {
		printf(",");
		print_hist_json("rpc_rtt_ns", &r->rpc);
		printf(",\"rpc_per_s\":%.0f,\"rpc_errors\":%" PRIu64, r->rpc_per_s, r->rpc_errors);
	}
	if (fl->count) {
		printf(",");
		print_hist_json("floor_rtt_ns", fl);
		printf(",\"ratio_p50\":%.2f,\"ratio_p99\":%.2f",
		       (double)hist_pct(h, 0.5) / (double)hist_pct(fl, 0.5),
		       (double)hist_pct(h, 0.99) / (double)hist_pct(fl, 0.99));
	}
}

static void report(const struct result *r, int idx, int n)
{
	const struct hist *h = &r->h, *fl = &r->floor;
	double p50 = (double)hist_pct(h, 0.5), p99 = (double)hist_pct(h, 0.99);
	double f50 = (double)hist_pct(fl, 0.5), f99 = (double)hist_pct(fl, 0.99);
	if (O.json) {
		if (n > 1)
			printf(idx == 0 ? "[" : ",");
		printf("{\"size\":%zu,\"rounds\":%" PRIu64 ",", r->size, r->rounds);
		print_hist_json("rtt_ns", h);
		if (pace_on(&O.pace)) {
			char pace[96];
			pace_str(&O.pace, 1, pace, sizeof(pace));
			fputs(pace, stdout);
		} else {
			print_rest_json(r);
		}
		printf("}");
		if (idx == n - 1)
			printf(n > 1 ? "]\n" : "\n");
		return;
	}
	printf("size %zu B\n", r->size);
	if (pace_on(&O.pace)) {
		char pace[96];
		pace_str(&O.pace, 0, pace, sizeof(pace));
		printf("  %s, RTT ns over %" PRIu64 " rounds: p50 %" PRIu64 "  p90 %" PRIu64
		       "  p99 %" PRIu64 "  p99.9 %" PRIu64 "  max %" PRIu64 "\n",
		       pace, r->rounds, hist_pct(h, 0.5), hist_pct(h, 0.9), hist_pct(h, 0.99),
		       hist_pct(h, 0.999), h->max);
		fflush(stdout);
		return;
	}
	if (r->rounds)
		printf("  ping-pong RTT ns over %" PRIu64 " rounds: p50 %" PRIu64 "  p90 %" PRIu64
		       "  p99 %" PRIu64 "  p99.9 %" PRIu64 "  max %" PRIu64 "\n",
		       r->rounds, hist_pct(h, 0.5), hist_pct(h, 0.9), hist_pct(h, 0.99),
		       hist_pct(h, 0.999), h->max);
	if (fl->count)
		printf("  shm floor RTT ns:  p50 %" PRIu64 "  p99 %" PRIu64
		       "   ->  ferry/floor  p50 %.2fx  p99 %.2fx\n",
		       hist_pct(fl, 0.5), hist_pct(fl, 0.99), p50 / f50, p99 / f99);
	printf("  one-way: %.2f M msgs/s, %.1f MB/s (%" PRIu64 " sent, %" PRIu64
	       " received, %" PRIu64 " out of order)\n",
	       r->msgs_per_s / 1e6, r->bytes_per_s / 1e6, r->tx, r->rx, r->errors);
	if (O.rpc)
		printf("  rpc: one call at a time p50 %" PRIu64 " ns  p99 %" PRIu64
		       " ns; %.2f M calls/s with %d in flight (%" PRIu64 " failed)\n",
		       hist_pct(&r->rpc, 0.5), hist_pct(&r->rpc, 0.99), r->rpc_per_s / 1e6,
		       O.rpc_depth, r->rpc_errors);
	fflush(stdout);
}

/* --rpc: completions counted by callback; a failed one is an error */
struct rpc_state {
	uint64_t done, errors;
};

static void rpc_done(void *arg, const ferry_event_t *resp)
{
	struct rpc_state *st = arg;
	st->done++;
	if (resp->status != 0)
		st->errors++;
}

static void rpc_wait(struct rpc_state *st, uint64_t until)
{
	while (st->done < until)
		poll_idle();
}

static void rpc_call(struct rpc_state *st, const uint8_t *buf, size_t len)
{
	int rc;
	while ((rc = ferry_rpc_call(S, RPC_ECHO, buf, len, O.timeout_ms, rpc_done, st, NULL)) ==
	       -EAGAIN)
		poll_idle();
	if (rc < 0)
		die("rpc call", rc);
}

static void rpc_bench(struct result *r, const uint8_t *buf)
{
	/* an RPC request carries 16 bytes of header: same wire size as the
	 * ping-pong's messages */
	size_t len = r->size > 16 ? r->size - 16 : 0;
	struct rpc_state st = {0, 0};
	hist_reset(&r->rpc);
	uint64_t total = O.warmup + O.count;
	for (uint64_t k = 0; k < total; k++) {
		uint64_t a = tsc_now();
		rpc_call(&st, buf, len);
		rpc_wait(&st, k + 1);
		uint64_t b = tsc_now();
		if (k >= O.warmup)
			hist_add(&r->rpc, tsc_ns(b - a));
	}
	uint64_t calls = O.tcount, base = st.done, t0 = tsc_now();
	for (uint64_t k = 0; k < calls; k++) {
		if (k >= (uint64_t)O.rpc_depth)
			rpc_wait(&st, base + k - (uint64_t)O.rpc_depth + 1);
		rpc_call(&st, buf, len);
	}
	rpc_wait(&st, base + calls);
	r->rpc_per_s = (double)calls / ((double)tsc_ns(tsc_now() - t0) / 1e9);
	r->rpc_errors = st.errors;
}

static int client(void)
{
	ferry_opts_t fo;
	ferry_opts_init(&fo);
	fo.socket_path = O.socket;
	fo.name = "perf-client";
	fo.spin_us = O.spin_us;
	fo.yield_us = O.yield_us;
	int rc = ferry_open(&F, &fo);
	if (rc < 0)
		die("attach", rc);
	if ((rc = ferry_connect(F, O.host, O.service, NULL, &S)) < 0)
		die("connect", rc);
	ferry_event_t ev[8];
	/* The server may still be starting: while nobody listens, try again
	 * until --timeout-ms has passed, so the start order does not matter. */
	uint64_t give_up = mono_now_ns() + (uint64_t)O.timeout_ms * 1000000ull;
	for (int up = 0; !up;) {
		int n = ferry_poll(F, ev, 8, O.timeout_ms);
		if (n == 0) {
			fprintf(stderr, "ferry-perf: no answer from service %s within %d ms\n", O.service,
				O.timeout_ms);
			return 1;
		}
		if (n < 0)
			die("poll", n);
		for (int i = 0; i < n; i++) {
			if (ev[i].type == FERRY_EV_SESSION_UP)
				up = 1;
			if (ev[i].type == FERRY_EV_SESSION_DOWN) {
				ferry_session_close(ev[i].session);
				if (ev[i].status == FERRY_REASON_NO_LISTENER && mono_now_ns() < give_up) {
					struct timespec ts = {0, 50000000};
					nanosleep(&ts, NULL);
					if ((rc = ferry_connect(F, O.host, O.service, NULL, &S)) < 0)
						die("connect", rc);
					continue;
				}
				fprintf(stderr, "ferry-perf: cannot open session to %s: %s\n", O.service,
					ferry_reason_str(ev[i].status));
				return 1;
			}
		}
	}
	size_t maxsz = 0;
	for (int i = 0; i < O.nsizes; i++)
		if (O.sizes[i] > maxsz)
			maxsz = O.sizes[i];
	uint8_t *buf = aligned_alloc(64, (maxsz + 63) & ~(size_t)63);
	memset(buf, 0xa5, maxsz);
	struct result *res = calloc((size_t)O.nsizes, sizeof(*res));
	int bad = 0;
	for (int i = 0; i < O.nsizes; i++) {
		struct result *r = &res[i];
		r->size = O.sizes[i];
		if (r->size > ferry_max_message(F)) {
			fprintf(stderr, "ferry-perf: size %zu exceeds ferryd's ipc.max_message_size %zu\n",
				r->size, ferry_max_message(F));
			return 1;
		}
		if (O.count > 0)
			pingpong(r, buf);
		if (pace_on(&O.pace)) {
			report(r, i, O.nsizes);
			if (O.hgrm)
				save_hgrm(r);
			continue;
		}
		oneway(r, buf);
		if (O.rpc)
			rpc_bench(r, buf);
		bad |= r->errors != 0 || r->rx != r->tx || r->rpc_errors != 0;
		report(r, i, O.nsizes);
		if (O.hgrm)
			save_hgrm(r);
	}
	struct msg q = {.kind = K_QUIT};
	if (strcmp(O.role, "both") == 0)
		send_all(&q, sizeof(q), 0);
	ferry_session_close(S);
	ferry_close(F);
	free(buf);
	free(res);
	return bad;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"role", 1, 0, 'r'},     {"host", 1, 0, 'H'},   {"service", 1, 0, 'S'},
		{"sizes", 1, 0, 's'},    {"count", 1, 0, 'n'},  {"tcount", 1, 0, 't'},
		{"warmup", 1, 0, 'w'},   {"duration", 1, 0, 'd'}, {"no-floor", 0, 0, 'F'},
		{"spin-us", 1, 0, 'U'},  {"yield-us", 1, 0, 'Y'}, {"socket", 1, 0, 'P'},
		{"json", 0, 0, 'j'},     {"verify", 0, 0, 'V'},  {"timeout-ms", 1, 0, 'T'},
		{"rpc", 0, 0, 'R'},      {"rpc-depth", 1, 0, 'D'},  {"hgrm", 1, 0, 'G'},
		{"rate", 1, 0, 'A'},     {"gap-us", 1, 0, 'g'},
		{"help", 0, 0, 'h'},     {0, 0, 0, 0}};
	int c;
	const char *sizes = "32,1K";
	while ((c = getopt_long(argc, argv, "r:H:S:s:n:t:w:d:jh", lo, NULL)) != -1) {
		switch (c) {
		case 'r': O.role = optarg; break;
		case 'H': O.host = optarg; break;
		case 'S': O.service = optarg; break;
		case 's': sizes = optarg; break;
		case 'n': O.count = strtoull(optarg, NULL, 0); break;
		case 't': O.tcount = strtoull(optarg, NULL, 0); break;
		case 'w': O.warmup = strtoull(optarg, NULL, 0); break;
		case 'd': O.duration = strtod(optarg, NULL); break;
		case 'F': O.floor = 0; break;
		case 'U': O.spin_us = atoi(optarg); break;
		case 'Y': O.yield_us = atoi(optarg); break;
		case 'P': O.socket = optarg; break;
		case 'j': O.json = 1; break;
		case 'V': O.verify = 1; break;
		case 'R': O.rpc = 1; break;
		case 'D': O.rpc_depth = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		case 'T': O.timeout_ms = atoi(optarg); break;
		case 'G': O.hgrm = optarg; break;
		case 'A':
		case 'g': {
			char *end;
			double v = strtod(optarg, &end);
			if (*end || !(v > 0 && v <= 1e8)) {
				fprintf(stderr, "ferry-perf: --%s wants a number above 0, not \"%s\"\n",
					c == 'A' ? "rate" : "gap-us", optarg);
				return 2;
			}
			if (c == 'A')
				O.pace.interval_ns = (uint64_t)(1e9 / v);
			else
				O.pace.gap_ns = (uint64_t)(v * 1000);
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s", sizes);
	for (char *t = strtok(tmp, ","); t && O.nsizes < 32; t = strtok(NULL, ",")) {
		uint64_t v = 0;
		if (!parse_bytes(t, &v) || v < sizeof(struct msg) || v > (1ull << 30)) {
			fprintf(stderr, "ferry-perf: bad size \"%s\" (%zu B .. 1G, e.g. 32, 1K, 1M)\n", t,
				sizeof(struct msg));
			return 2;
		}
		O.sizes[O.nsizes++] = v;
	}
	if (O.hgrm && (!*O.hgrm || (O.nsizes > 1 && !strstr(O.hgrm, "{size}")))) {
		fprintf(stderr, "ferry-perf: --hgrm needs a file name, with {size} in it "
				"when several sizes are measured\n");
		return 2;
	}
	if (O.pace.interval_ns && O.pace.gap_ns) {
		fprintf(stderr, "ferry-perf: --rate and --gap-us exclude each other\n");
		return 2;
	}
	if (pace_on(&O.pace))
		O.floor = 0;
	if (O.count == 0 && O.duration <= 0) {
		fprintf(stderr, "ferry-perf: --count must be positive\n");
		return 2;
	}
	tsc_init();
	if (strcmp(O.role, "server") == 0)
		return serve(-1);
	if (strcmp(O.role, "client") == 0)
		return client();
	if (strcmp(O.role, "both") != 0) {
		usage(stderr);
		return 2;
	}
	int p[2];
	if (pipe(p) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		_exit(serve(p[1]));
	}
	close(p[1]);
	char ch;
	if (read(p[0], &ch, 1) != 1) {
		fprintf(stderr, "ferry-perf: the server side did not start\n");
		waitpid(pid, NULL, 0);
		return 1;
	}
	close(p[0]);
	int rc = client();
	int st;
	waitpid(pid, &st, 0);
	return rc ? rc : (WIFEXITED(st) ? WEXITSTATUS(st) : 1);
}
