/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udp_pingpong: the kernel's UDP sockets as the baseline for ferry's
 * figures. Run across the test lab (scripts/lab.sh), over the same veths
 * and bridge as two ferryd daemons, it says what the kernel path costs:
 *
 *   udp_pingpong --server PORT [--bind ADDR] [--once] [--idle-exit-s N]
 *   udp_pingpong --client HOST PORT [--size N] [--count N] [--warmup N]
 *                [--rate N | --gap-us N] [--json] [--hgrm FILE]
 *   both:        [--mode block|busy] [--cpu N] [--timeout-ms N]
 *
 * The client first says hello (repeated every 100 ms until the server
 * answers, so the two may start in any order), then
 *
 *   ping-pong   --warmup + --count round trips of --size bytes, one in
 *               flight; the --count timed ones go into a latency histogram
 *   blast       --count datagrams of --size bytes one way, as fast as the
 *               socket takes them; the server counts those of this run and
 *               times first to last arrival, and on the client's "end"
 *               reports both back. msgs_per_s is what the server received
 *               per second of its own clock: the receiver's rate, with any
 *               datagrams the kernel dropped on the way reported as lost.
 *
 * --rate N or --gap-us N: the ping-pong alone, paced as ferry-perf paces
 * it (client-lib/tools/pace.h): request k due at k/N s and timed from
 * then, or one at a time N us apart. No blast.
 *
 * --mode block: blocking recv (SO_RCVTIMEO bounds it); --mode busy:
 * non-blocking recv in a loop, on both sides (SO_BUSY_POLL would not help:
 * veth has no NAPI context to poll). A busy server that has seen nothing
 * for 100 ms waits in poll() instead, so an idle server leaves the CPU
 * alone.
 *
 * Bounded: every wait of the client ends after --timeout-ms (default 1000)
 * and the client exits 1 saying what it was waiting for; the server exits
 * after --idle-exit-s (default 300) without a datagram, or after its first
 * client with --once.
 *
 * Wire format, network byte order, 16-byte header on every datagram:
 *   u16 magic 0xfe77, u8 type, u8 version 1, u32 run id, u64 seq
 * PING and BLAST datagrams are --size bytes (header, then filler); a
 * REPORT adds u64 received and u64 elapsed_ns.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../../client-lib/tools/hgrm.h"
#include "../../client-lib/tools/hist.h"
#include "../../client-lib/tools/pace.h"
#include "../../client-lib/tools/tsc.h"

#define MAGIC 0xfe77
#define VERSION 1
#define HDR_LEN 16
#define REPORT_LEN (HDR_LEN + 16)
#define MAX_SIZE 65507 /* largest UDP payload over IPv4 */
#define SOCK_BUF (4 << 20)
#define HELLO_EVERY_MS 100
#define END_TRIES 5
#define BUSY_IDLE_NS 100000000ull /* busy server: poll() after 100 ms of nothing */
#define ONCE_LINGER_NS 1000000000ull

enum msg_type { T_HELLO = 1, T_HELLO_ACK, T_PING, T_BLAST, T_END, T_REPORT };

struct hdr {
	uint8_t type;
	uint32_t run;
	uint64_t seq;
};

struct opts {
	bool server, client, busy, json, once;
	const char *host, *bind_addr, *hgrm;
	int port, size, cpu;
	long count, warmup, timeout_ms, idle_exit_s;
	struct pace pace;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void put_hdr(uint8_t *b, enum msg_type type, uint32_t run, uint64_t seq)
{
	uint16_t m = htobe16(MAGIC);
	uint32_t r = htobe32(run);
	uint64_t s = htobe64(seq);
	memcpy(b, &m, 2);
	b[2] = (uint8_t)type;
	b[3] = VERSION;
	memcpy(b + 4, &r, 4);
	memcpy(b + 8, &s, 8);
}

static void put_u64(uint8_t *b, uint64_t v)
{
	v = htobe64(v);
	memcpy(b, &v, 8);
}

static uint64_t get_u64(const uint8_t *b)
{
	uint64_t v;
	memcpy(&v, b, 8);
	return be64toh(v);
}

/* @return true when @p b holds a header of ours (anything else on the
 * port is ignored). */
static bool get_hdr(const uint8_t *b, ssize_t len, struct hdr *h)
{
	uint16_t m;
	uint32_t r;
	if (len < HDR_LEN)
		return false;
	memcpy(&m, b, 2);
	if (be16toh(m) != MAGIC || b[3] != VERSION)
		return false;
	memcpy(&r, b + 4, 4);
	h->type = b[2];
	h->run = be32toh(r);
	h->seq = get_u64(b + 8);
	return true;
}

/* A big receive buffer, so the blast measures the receiver's rate rather
 * than the default buffer's size. SO_RCVBUFFORCE passes net.core.rmem_max
 * as root; otherwise the kernel caps SO_RCVBUF there. */
static void grow_buffers(int fd)
{
	int v = SOCK_BUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

static int set_rcvtimeo(int fd, long ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/*
 * Receive one datagram, waiting at most until @p deadline_ns
 * (CLOCK_MONOTONIC). Block mode: recv() bounded by SO_RCVTIMEO, which the
 * caller set to its timeout; busy mode: MSG_DONTWAIT in a loop, reading
 * the clock every 64 tries.
 * @return the length, or -1 with errno EAGAIN on timeout (or another errno)
 */
static ssize_t recv_until(int fd, bool busy, uint8_t *buf, size_t cap, struct sockaddr_in *from,
			  uint64_t deadline_ns)
{
	socklen_t fl = sizeof(*from);
	ssize_t n;
	for (unsigned i = 0;; i++) {
		n = recvfrom(fd, buf, cap, busy ? MSG_DONTWAIT : 0, (struct sockaddr *)from,
			     from ? &fl : NULL);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (stop) {
			errno = EINTR;
			return -1;
		}
		if ((!busy || (i & 63) == 63) && mono_now_ns() >= deadline_ns) {
			errno = EAGAIN;
			return -1;
		}
	}
}

/* Send, retrying while a busy (non-blocking) socket is full or the
 * kernel is short of buffers, until @p deadline_ns. @return 0 or -1. */
static int send_until(int fd, bool busy, const void *buf, size_t len, const struct sockaddr_in *to,
		      uint64_t deadline_ns)
{
	socklen_t tl = to ? sizeof(*to) : 0;
	for (unsigned i = 0;; i++) {
		ssize_t n = sendto(fd, buf, len, busy ? MSG_DONTWAIT : 0, (const struct sockaddr *)to, tl);
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS &&
			       errno != EINTR))
			return -1;
		if ((i & 63) == 63 && mono_now_ns() >= deadline_ns)
			return -1;
		if (!busy)
			sched_yield();
	}
}

/* ------------------------------------------------------------------ server */

struct server_run {
	uint32_t run;
	bool have_run, reported;
	uint64_t received, first_ns, last_ns;
};

static int server(const struct opts *o)
{
	static uint8_t buf[MAX_SIZE + 1];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
	struct server_run r = {0};
	uint64_t last_rx = mono_now_ns(), linger_until = 0;
	int fd;

	if (inet_pton(AF_INET, o->bind_addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "udp_pingpong: --bind wants an IPv4 address, not \"%s\"\n", o->bind_addr);
		return 1;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "udp_pingpong: cannot bind %s:%d: %s\n", o->bind_addr, o->port,
			strerror(errno));
		return 1;
	}
	grow_buffers(fd);
	set_rcvtimeo(fd, 200); /* block mode: notice signals and the idle limit */
	fprintf(stderr, "udp_pingpong: server on %s:%d, mode %s\n", o->bind_addr, o->port,
		o->busy ? "busy" : "block");

	while (!stop) {
		struct sockaddr_in from;
		struct hdr h;
		uint64_t now;
		ssize_t n;

		/* A busy server spins only while datagrams keep coming. */
		bool idle = o->busy && mono_now_ns() - last_rx > BUSY_IDLE_NS;
		if (idle) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			idle = poll(&p, 1, 200) <= 0;
		}
		if (idle) {
			n = -1;
			errno = EAGAIN;
		} else {
			n = recv_until(fd, o->busy, buf, sizeof(buf), &from,
				       mono_now_ns() + BUSY_IDLE_NS);
		}
		now = mono_now_ns();
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				perror("udp_pingpong: recvfrom");
				close(fd);
				return 1;
			}
			if (linger_until && now >= linger_until)
				break;
			if (o->idle_exit_s > 0 && now - last_rx > (uint64_t)o->idle_exit_s * 1000000000ull) {
				fprintf(stderr, "udp_pingpong: no datagram for %ld s, exiting\n",
					o->idle_exit_s);
				close(fd);
				return r.reported || !o->once ? 0 : 1;
			}
			continue;
		}
		last_rx = now;
		if (!get_hdr(buf, n, &h))
			continue;
		switch (h.type) {
		case T_PING: /* echo as is: the client matches run and seq */
			send_until(fd, o->busy, buf, (size_t)n, &from, now + 1000000000ull);
			break;
		case T_HELLO:
			if (!r.have_run || r.run != h.run) {
				memset(&r, 0, sizeof(r));
				r.run = h.run;
				r.have_run = true;
			}
			put_hdr(buf, T_HELLO_ACK, h.run, 0);
			send_until(fd, o->busy, buf, HDR_LEN, &from, now + 1000000000ull);
			break;
		case T_BLAST:
			if (!r.have_run || h.run != r.run)
				break;
			if (r.received++ == 0)
				r.first_ns = now;
			r.last_ns = now;
			break;
		case T_END:
			if (!r.have_run || h.run != r.run)
				break;
			put_hdr(buf, T_REPORT, h.run, h.seq);
			put_u64(buf + HDR_LEN, r.received);
			put_u64(buf + HDR_LEN + 8, r.last_ns - r.first_ns);
			send_until(fd, o->busy, buf, REPORT_LEN, &from, now + 1000000000ull);
			if (!r.reported)
				fprintf(stderr, "udp_pingpong: run %08x: %" PRIu64 " of %" PRIu64
						" blast datagrams received\n",
					r.run, r.received, h.seq);
			r.reported = true;
			/* --once: stay a moment for a retransmitted END whose
			 * REPORT got lost, then go. */
			if (o->once && !linger_until)
				linger_until = now + ONCE_LINGER_NS;
			break;
		default:
			break;
		}
		if (linger_until && now >= linger_until)
			break;
	}
	close(fd);
	return 0;
}

/* ------------------------------------------------------------------ client */

static int report_paced(const struct opts *o, const struct pace *p, const struct hist *h)
{
	char pace[96], err[512];
	if (stop) {
		fprintf(stderr, "udp_pingpong: interrupted\n");
		return 1;
	}
	if (o->hgrm && hgrm_save(o->hgrm, h, HGRM_SCALE_US, err, sizeof(err)) < 0) {
		fprintf(stderr, "udp_pingpong: --hgrm: %s\n", err);
		return 1;
	}
	if (o->json) {
		printf("{\"mode\":\"%s\",\"size\":%d,\"count\":%ld,\"warmup\":%ld,"
		       "\"rtt_ns\":{\"p50\":%" PRIu64 ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64
		       ",\"p999\":%" PRIu64 ",\"max\":%" PRIu64 ",\"min\":%" PRIu64 ",\"mean\":%" PRIu64 "},",
		       o->busy ? "busy" : "block", o->size, o->count, o->warmup, hist_pct(h, 0.50),
		       hist_pct(h, 0.90), hist_pct(h, 0.99), hist_pct(h, 0.999), h->max, h->min,
		       h->count ? h->sum / h->count : 0);
		pace_str(p, 1, pace, sizeof(pace));
		printf("%s}\n", pace + 1); /* after "rtt_ns":{...}, already followed by a comma */
		return 0;
	}
	pace_str(p, 0, pace, sizeof(pace));
	printf("kernel UDP to %s:%d, mode %s, %d B, %s\n", o->host, o->port,
	       o->busy ? "busy" : "block", o->size, pace);
	printf("  ping-pong  %" PRIu64 " round trips (after %ld warm-up), ns: p50 %" PRIu64
	       "  p90 %" PRIu64 "  p99 %" PRIu64 "  p99.9 %" PRIu64 "  max %" PRIu64 "\n",
	       h->count, o->warmup, hist_pct(h, 0.50), hist_pct(h, 0.90), hist_pct(h, 0.99),
	       hist_pct(h, 0.999), h->max);
	return 0;
}

static int client(const struct opts *o)
{
	static uint8_t buf[MAX_SIZE + 1], rbuf[MAX_SIZE + 1];
	const uint64_t tmo_ns = (uint64_t)o->timeout_ms * 1000000ull;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
	static struct hist hist;
	struct hdr h;
	uint64_t sent = 0, received = 0, elapsed_ns = 0, send_ns, deadline, t0;
	uint32_t run;
	bool acked = false;
	ssize_t n;
	int fd, rc;

	rc = getaddrinfo(o->host, NULL, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "udp_pingpong: %s: %s\n", o->host, gai_strerror(rc));
		return 1;
	}
	sa.sin_addr = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
	freeaddrinfo(ai);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "udp_pingpong: cannot reach %s:%d: %s\n", o->host, o->port,
			strerror(errno));
		return 1;
	}
	grow_buffers(fd);
	tsc_init();
	run = (uint32_t)(mono_now_ns() ^ ((uint64_t)getpid() << 16));
	memset(buf, 0xa5, sizeof(buf));

	/* Hello, repeated until the server answers. */
	set_rcvtimeo(fd, HELLO_EVERY_MS);
	deadline = mono_now_ns() + tmo_ns;
	while (!acked && mono_now_ns() < deadline && !stop) {
		uint64_t next = mono_now_ns() + HELLO_EVERY_MS * 1000000ull;
		put_hdr(buf, T_HELLO, run, 0);
		if (send(fd, buf, HDR_LEN, 0) < 0 && errno != ECONNREFUSED) {
			perror("udp_pingpong: send");
			return 1;
		}
		/* ECONNREFUSED: the server's port is not open yet (an ICMP
		 * port unreachable came back); try again. */
		while ((n = recv_until(fd, o->busy, rbuf, sizeof(rbuf), NULL, next)) >= 0 ||
		       errno == ECONNREFUSED) {
			if (n >= 0 && get_hdr(rbuf, n, &h) && h.type == T_HELLO_ACK && h.run == run) {
				acked = true;
				break;
			}
			if (n < 0) { /* refused: wait out the interval, then retry */
				struct timespec d = {0, HELLO_EVERY_MS * 1000000L};
				nanosleep(&d, NULL);
				break;
			}
		}
	}
	if (!acked) {
		fprintf(stderr, "udp_pingpong: no answer from a server at %s:%d in %ld ms\n", o->host,
			o->port, o->timeout_ms);
		return 1;
	}

	/* Ping-pong; paced, timed on the schedule's clock. */
	set_rcvtimeo(fd, o->timeout_ms);
	hist_reset(&hist);
	struct pace pace = o->pace;
	bool paced = pace_on(&pace);
	if (paced)
		pace_start(&pace);
	for (long i = 0; i < o->warmup + o->count && !stop; i++) {
		put_hdr(buf, T_PING, run, (uint64_t)i);
		t0 = paced ? pace_next(&pace) : tsc_now();
		deadline = mono_now_ns() + tmo_ns;
		if (send(fd, buf, (size_t)o->size, 0) != o->size) {
			perror("udp_pingpong: send");
			return 1;
		}
		for (;;) {
			n = recv_until(fd, o->busy, rbuf, sizeof(rbuf), NULL, deadline);
			if (n < 0) {
				fprintf(stderr, "udp_pingpong: no reply to ping %ld within %ld ms: %s\n", i,
					o->timeout_ms, strerror(errno));
				return 1;
			}
			if (n == o->size && get_hdr(rbuf, n, &h) && h.type == T_PING && h.run == run &&
			    h.seq == (uint64_t)i)
				break;
		}
		if (i >= o->warmup)
			hist_add(&hist, paced ? pace_now() - t0 : tsc_ns(tsc_now() - t0));
	}
	if (paced) {
		/* no blast, no report: an END lets a --once server go */
		put_hdr(buf, T_END, run, 0);
		send(fd, buf, HDR_LEN, 0);
		close(fd);
		return report_paced(o, &pace, &hist);
	}

	/* Blast, then ask for the server's count. */
	t0 = mono_now_ns();
	deadline = t0 + tmo_ns + (uint64_t)o->count * 100000ull; /* 100 us per datagram at worst */
	for (long i = 0; i < o->count && !stop; i++) {
		put_hdr(buf, T_BLAST, run, (uint64_t)i);
		if (send_until(fd, o->busy, buf, (size_t)o->size, NULL, deadline) < 0) {
			fprintf(stderr, "udp_pingpong: blast: cannot send datagram %ld: %s\n", i,
				strerror(errno));
			return 1;
		}
		sent++;
	}
	send_ns = mono_now_ns() - t0;
	acked = false;
	for (int tries = 0; tries < END_TRIES && !acked && !stop; tries++) {
		put_hdr(buf, T_END, run, sent);
		send(fd, buf, HDR_LEN, 0);
		deadline = mono_now_ns() + tmo_ns;
		while ((n = recv_until(fd, o->busy, rbuf, sizeof(rbuf), NULL, deadline)) >= 0) {
			if (n >= REPORT_LEN && get_hdr(rbuf, n, &h) && h.type == T_REPORT &&
			    h.run == run) {
				received = get_u64(rbuf + HDR_LEN);
				elapsed_ns = get_u64(rbuf + HDR_LEN + 8);
				acked = true;
				break;
			}
		}
	}
	close(fd);
	if (stop) {
		fprintf(stderr, "udp_pingpong: interrupted\n");
		return 1;
	}
	if (!acked) {
		fprintf(stderr, "udp_pingpong: the server sent no report after the blast (%d tries)\n",
			END_TRIES);
		return 1;
	}
	if (received < 2 || elapsed_ns == 0) {
		fprintf(stderr, "udp_pingpong: the server received %" PRIu64 " of %" PRIu64
				" blast datagrams: too few to time\n",
			received, sent);
		return 1;
	}

	double rate = (double)received * 1e9 / (double)elapsed_ns;
	char err[512];
	if (o->hgrm && hgrm_save(o->hgrm, &hist, HGRM_SCALE_US, err, sizeof(err)) < 0) {
		fprintf(stderr, "udp_pingpong: --hgrm: %s\n", err);
		return 1;
	}
	if (o->json) {
		printf("{\"mode\":\"%s\",\"size\":%d,\"count\":%ld,\"warmup\":%ld,"
		       "\"rtt_ns\":{\"p50\":%" PRIu64 ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64
		       ",\"p999\":%" PRIu64 ",\"max\":%" PRIu64 ",\"min\":%" PRIu64 ",\"mean\":%" PRIu64 "},"
		       "\"msgs_per_s\":%.0f,"
		       "\"blast\":{\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"lost\":%" PRIu64
		       ",\"elapsed_ns\":%" PRIu64 ",\"send_ns\":%" PRIu64 "}}\n",
		       o->busy ? "busy" : "block", o->size, o->count, o->warmup, hist_pct(&hist, 0.50),
		       hist_pct(&hist, 0.90), hist_pct(&hist, 0.99), hist_pct(&hist, 0.999), hist.max,
		       hist.min, hist.count ? hist.sum / hist.count : 0, rate, sent, received,
		       sent - received, elapsed_ns, send_ns);
	} else {
		printf("kernel UDP to %s:%d, mode %s, %d B\n", o->host, o->port,
		       o->busy ? "busy" : "block", o->size);
		printf("  ping-pong  %" PRIu64 " round trips (after %ld warm-up), ns: p50 %" PRIu64
		       "  p90 %" PRIu64 "  p99 %" PRIu64 "  p99.9 %" PRIu64 "  max %" PRIu64 "\n",
		       hist.count, o->warmup, hist_pct(&hist, 0.50), hist_pct(&hist, 0.90),
		       hist_pct(&hist, 0.99), hist_pct(&hist, 0.999), hist.max);
		printf("  blast      %" PRIu64 " sent in %.1f ms, %" PRIu64 " received (%" PRIu64
		       " lost) in %.1f ms: %.0f msgs/s, %.1f MB/s\n",
		       sent, (double)send_ns / 1e6, received, sent - received, (double)elapsed_ns / 1e6,
		       rate, rate * o->size / 1e6);
	}
	return 0;
}

/* -------------------------------------------------------------------- main */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: udp_pingpong --server PORT [--bind ADDR] [--once] [--idle-exit-s N] [common]\n"
		"       udp_pingpong --client HOST PORT [--size N] [--count N] [--warmup N] [--json] "
		"[--hgrm FILE]\n"
		"                    [--rate N | --gap-us N] [common]\n"
		"common: [--mode block|busy] [--cpu N] [--timeout-ms N]\n"
		"\n"
		"Kernel UDP ping-pong latency and one-way rate, the baseline for ferry's figures.\n"
		"  --size N         datagram payload, %d..%d bytes (default 32)\n"
		"  --count N        timed round trips, and datagrams in the blast (default 10000)\n"
		"  --warmup N       untimed round trips first (default 1000)\n"
		"  --json           one JSON object: rtt_ns {p50 p90 p99 p999 max min mean},\n"
		"                   msgs_per_s, blast {sent received lost elapsed_ns send_ns}\n"
		"                   (paced: rtt_ns, and rate_per_s and late, or gap_us)\n"
		"  --rate N         ping-pong only, paced: request k is due at k/N s and its\n"
		"                   round trip is timed from then (no coordinated omission)\n"
		"  --gap-us N       ping-pong only, one request at a time, N us apart\n"
		"  --hgrm FILE      the ping-pong histogram as HdrHistogram's percentile\n"
		"                   distribution (.hgrm text, microseconds)\n"
		"  --mode M         block: blocking recv; busy: non-blocking recv in a loop\n"
		"  --cpu N          pin to CPU N\n"
		"  --timeout-ms N   client: longest wait for any answer (default 1000)\n"
		"  --once           server: exit after the first client's report\n"
		"  --idle-exit-s N  server: exit after N s without a datagram (default 300, 0 = never)\n",
		HDR_LEN, MAX_SIZE);
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	enum { O_SERVER = 256, O_CLIENT, O_BIND, O_ONCE, O_IDLE, O_MODE, O_CPU, O_TMO, O_SIZE,
	       O_COUNT, O_WARMUP, O_JSON, O_HGRM, O_RATE, O_GAP };
	static const struct option lo[] = {
		{"server", required_argument, NULL, O_SERVER}, {"client", required_argument, NULL, O_CLIENT},
		{"bind", required_argument, NULL, O_BIND},     {"once", no_argument, NULL, O_ONCE},
		{"idle-exit-s", required_argument, NULL, O_IDLE}, {"mode", required_argument, NULL, O_MODE},
		{"cpu", required_argument, NULL, O_CPU},       {"timeout-ms", required_argument, NULL, O_TMO},
		{"size", required_argument, NULL, O_SIZE},     {"count", required_argument, NULL, O_COUNT},
		{"warmup", required_argument, NULL, O_WARMUP}, {"json", no_argument, NULL, O_JSON},
		{"hgrm", required_argument, NULL, O_HGRM},     {"rate", required_argument, NULL, O_RATE},
		{"gap-us", required_argument, NULL, O_GAP},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct opts o = {.bind_addr = "0.0.0.0", .size = 32, .cpu = -1, .count = 10000,
			 .warmup = 1000, .timeout_ms = 1000, .idle_exit_s = 300};
	const char *port_arg = NULL;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (c) {
		case O_SERVER:
			o.server = true;
			port_arg = optarg;
			break;
		case O_CLIENT:
			o.client = true;
			o.host = optarg;
			if (optind >= argc) {
				fprintf(stderr, "udp_pingpong: --client wants HOST PORT\n");
				return 1;
			}
			port_arg = argv[optind++];
			break;
		case O_BIND: o.bind_addr = optarg; break;
		case O_ONCE: o.once = true; break;
		case O_JSON: o.json = true; break;
		case O_HGRM: o.hgrm = optarg; break;
		case O_MODE:
			if (strcmp(optarg, "busy") != 0 && strcmp(optarg, "block") != 0) {
				fprintf(stderr, "udp_pingpong: --mode wants block or busy, not \"%s\"\n", optarg);
				return 1;
			}
			o.busy = strcmp(optarg, "busy") == 0;
			break;
		case O_RATE:
		case O_GAP:
			if (!parse_long(optarg, 1, 100000000, &v)) {
				fprintf(stderr, "udp_pingpong: --%s wants 1..100000000, not \"%s\"\n",
					c == O_RATE ? "rate" : "gap-us", optarg);
				return 1;
			}
			if (c == O_RATE)
				o.pace.interval_ns = 1000000000ull / (uint64_t)v;
			else
				o.pace.gap_ns = (uint64_t)v * 1000;
			break;
		case O_IDLE:
		case O_CPU:
		case O_TMO:
		case O_SIZE:
		case O_COUNT:
		case O_WARMUP: {
			static const struct { int opt; const char *name; long lo, hi; } lim[] = {
				{O_IDLE, "--idle-exit-s", 0, 86400}, {O_CPU, "--cpu", 0, 4095},
				{O_TMO, "--timeout-ms", 1, 600000},  {O_SIZE, "--size", HDR_LEN, MAX_SIZE},
				{O_COUNT, "--count", 2, 100000000},  {O_WARMUP, "--warmup", 0, 100000000}};
			unsigned k = 0;
			while (lim[k].opt != c)
				k++;
			if (!parse_long(optarg, lim[k].lo, lim[k].hi, &v)) {
				fprintf(stderr, "udp_pingpong: %s wants %ld..%ld, not \"%s\"\n", lim[k].name,
					lim[k].lo, lim[k].hi, optarg);
				return 1;
			}
			switch (c) {
			case O_IDLE: o.idle_exit_s = v; break;
			case O_CPU: o.cpu = (int)v; break;
			case O_TMO: o.timeout_ms = v; break;
			case O_SIZE: o.size = (int)v; break;
			case O_COUNT: o.count = v; break;
			default: o.warmup = v; break;
			}
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind < argc || o.server == o.client || (o.pace.interval_ns && o.pace.gap_ns)) {
		usage(stderr);
		return 1;
	}
	if (!parse_long(port_arg, 1, 65535, &v)) {
		fprintf(stderr, "udp_pingpong: the port wants 1..65535, not \"%s\"\n", port_arg);
		return 1;
	}
	o.port = (int)v;
	if (o.cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(o.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			fprintf(stderr, "udp_pingpong: cannot pin to CPU %d: %s\n", o.cpu, strerror(errno));
			return 1;
		}
	}
	/* No SA_RESTART: a signal ends a blocking recv with EINTR. */
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return o.server ? server(&o) : client(&o);
}
