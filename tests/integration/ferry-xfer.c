/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry-xfer: message integrity through one ferry session, end to end.
 *
 * Two processes, one per role, agree on nothing but their arguments:
 *
 *   ferry-xfer recv --service NAME --count N --seed S [...]
 *   ferry-xfer send --service NAME --count N --seed S [--host IPV4] [...]
 *
 * Message k (0 <= k < N) is a function of (seed, k) alone, its length
 * drawn log-uniformly between --min-size and --max-size (xfer_msg.h); the
 * receiver regenerates message k and compares its length and every byte.
 *
 * The sender sends 0..N-1 in order and never drops one: when ferry_send()
 * says -EAGAIN it polls until FERRY_EV_WRITABLE and sends the same message
 * again, counting how often and how long back-pressure held it. The
 * receiver accepts exactly one session, verifies every message and answers
 * "ok <N> <bytes>", which the sender checks before it closes the session.
 * --stall-after K --stall-ms MS makes the receiver stop polling for MS
 * after message K, so the sender's ring fills and stays full.
 *
 * --max-size is clamped to ferry_max_message() on both sides alike (a note
 * says so), so two clients of the same ferryd, or of two ferryds with the
 * same ipc.max_message_size, draw the same lengths.
 *
 * To show that the check catches what it should, the sender can damage its
 * own stream on purpose: --drop K leaves message K out, --corrupt K flips
 * one byte in the middle of message K.
 *
 * For tests that attack or break the session on purpose: --rate paces the
 * sender, so that a run lasts long enough to be hit; --hold-ms keeps the
 * sender's session open and idle after the reply, so that it can be hit
 * while quiet (and a session that ends meanwhile is a failure); --progress-ms
 * prints "sent N" / "verified N" lines as it goes, so a process killed
 * on purpose has said how far it got; --tolerate-end makes a session that
 * ends early with a reason (a peer killed, a daemon restarted) exit 3 with
 * the summary instead of failing. A wrong, lost, duplicated or reordered
 * message is a failure (exit 1) in every mode.
 *
 * Exit: 0 every message verified, 1 a wrong, lost or extra message or a
 * session that failed, 2 --timeout-ms passed, 3 (--tolerate-end) the
 * session ended early with a reason, 64 bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ferry.h"
#include "sizearg.h"
#include "xfer_msg.h"

enum { XFER_OK = 0, XFER_FAIL = 1, XFER_TIMEOUT = 2, XFER_ENDED = 3, XFER_USAGE = 64 };

#define SIZE_LIMIT (1u << 30) /* ferry's own upper bound on a message */
#define REPLY_MAX 64
#define GRACE_MS 2000 /* receiver: how long to wait for the sender's close */
#define EVS 64

static struct opts {
	bool send; /* role */
	const char *socket, *host, *service;
	uint64_t count, seed;
	uint64_t min_size, max_size;
	uint64_t stall_after;
	long stall_ms; /* -1: no stall */
	long timeout_ms;
	bool json;
	bool close_at_once; /* no reply: the sender closes after its last send */
	uint64_t drop, corrupt; /* send, self-test: UINT64_MAX for none */
	uint64_t rate;        /* send: messages per second, 0: as fast as it can */
	long hold_ms;         /* send: keep the session open after the reply */
	long progress_ms;     /* print how far it got this often, 0: never */
	bool tolerate_end;    /* a session ended early with a reason: exit 3 */
} O = {.host = "local", .min_size = 1, .max_size = 8388608, .stall_ms = -1,
       .timeout_ms = 60000, .drop = UINT64_MAX, .corrupt = UINT64_MAX};

static const char *role(void)
{
	return O.send ? "send" : "recv";
}

static void usage(FILE *o)
{
	fprintf(o,
		"usage: ferry-xfer recv --service NAME --count N --seed S [options]\n"
		"       ferry-xfer send --service NAME --count N --seed S [--host IPV4] [options]\n"
		"\n"
		"Sends N messages, each a function of (seed, index), through one ferry session\n"
		"and verifies the length and every byte of each on arrival.\n"
		"\n"
		"  recv                  listen on NAME, accept one session, verify N messages,\n"
		"                        reply \"ok N BYTES\"\n"
		"  send                  connect to NAME on --host, send N messages, check the reply\n"
		"\n"
		"      --socket PATH     ferryd's control socket (default $FERRY_SOCKET or %s)\n"
		"      --service NAME    service to listen on / connect to (required)\n"
		"      --host IPV4       send: the receiver's host, or \"local\" (default) for this one\n"
		"      --count N         messages (required, at least 1)\n"
		"      --seed S          seed of lengths and contents (required; same on both sides)\n"
		"      --min-size BYTES  smallest message (default 1; K, M, G suffixes)\n"
		"      --max-size BYTES  largest message (default 8M; clamped to ferryd's\n"
		"                        ipc.max_message_size, with a note, on both sides)\n"
		"      --stall-after K   recv: after verifying message K, stop polling for\n"
		"      --stall-ms MS       MS milliseconds, then go on\n"
		"      --timeout-ms MS   bound on the whole run (default 60000)\n"
		"      --json            print the summary as one JSON object\n"
		"      --close-at-once   send: close the session right after the last send and\n"
		"                        exit; recv: send no reply, and require every message\n"
		"                        before the session goes down \"closed by the peer\"\n"
		"                        (both sides must say it)\n"
		"      --drop K          send, self-test of the check: leave message K out\n"
		"      --corrupt K       send, self-test of the check: flip a byte of message K\n"
		"      --rate N          send: at most N messages a second (default: no limit)\n"
		"      --hold-ms MS      send: keep the session open MS after the reply; a\n"
		"                        session that ends meanwhile is a failure; recv: wait\n"
		"                        as much longer for the sender's close\n"
		"      --progress-ms MS  print \"sent N\" / \"verified N\" to stdout every MS\n"
		"      --tolerate-end    a session that ends early with a reason exits 3 with\n"
		"                        the summary (\"ended\" says why) instead of 1\n"
		"  -h, --help\n"
		"\n"
		"exit: 0 all verified, 1 integrity or session failure, 2 timeout,\n"
		"      3 (--tolerate-end) the session ended early with a reason, 64 usage\n",
		FERRY_DEFAULT_SOCKET);
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ferry-xfer: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(ferry-xfer --help lists the options)\n");
	exit(XFER_USAGE);
}

static void __attribute__((noreturn, format(printf, 2, 3))) fail(int code, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", role());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", role());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* ---- arguments ----------------------------------------------------------- */

/* A whole decimal (or 0x hex) number, nothing before or after it. */
static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end != '\0')
		return false;
	*out = v;
	return true;
}

static long parse_ms(const char *opt, const char *s, long lo, long hi)
{
	uint64_t v;
	if (!parse_u64(s, &v) || v < (uint64_t)lo || v > (uint64_t)hi)
		usage_error("%s: \"%s\" is not a number of milliseconds from %ld to %ld", opt, s, lo,
			    hi);
	return (long)v;
}

static void check_service(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > FERRY_SERVICE_NAME_MAX)
		usage_error("--service: \"%s\" must have 1 to %d bytes", s, FERRY_SERVICE_NAME_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '/')
			usage_error("--service: \"%s\": only printable ASCII without spaces or '/'", s);
}

static void parse_args(int argc, char **argv)
{
	enum { O_SOCKET = 256, O_HOST, O_SERVICE, O_COUNT, O_SEED, O_MIN, O_MAX, O_STALL_AFTER,
	       O_STALL_MS, O_TIMEOUT, O_JSON, O_DROP, O_CORRUPT, O_CLOSE, O_RATE, O_HOLD,
	       O_PROGRESS, O_TOLERATE };
	static const struct option lo[] = {
		{"socket", 1, 0, O_SOCKET},       {"host", 1, 0, O_HOST},
		{"service", 1, 0, O_SERVICE},     {"count", 1, 0, O_COUNT},
		{"seed", 1, 0, O_SEED},           {"min-size", 1, 0, O_MIN},
		{"max-size", 1, 0, O_MAX},        {"stall-after", 1, 0, O_STALL_AFTER},
		{"stall-ms", 1, 0, O_STALL_MS},   {"timeout-ms", 1, 0, O_TIMEOUT},
		{"json", 0, 0, O_JSON},           {"drop", 1, 0, O_DROP},
		{"corrupt", 1, 0, O_CORRUPT},     {"help", 0, 0, 'h'},
		{"close-at-once", 0, 0, O_CLOSE}, {"rate", 1, 0, O_RATE},
		{"hold-ms", 1, 0, O_HOLD},        {"progress-ms", 1, 0, O_PROGRESS},
		{"tolerate-end", 0, 0, O_TOLERATE},
		{0, 0, 0, 0}};

	if (argc < 2)
		usage_error("no role: the first argument is \"recv\" or \"send\"");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		exit(0);
	}
	if (strcmp(argv[1], "send") == 0)
		O.send = true;
	else if (strcmp(argv[1], "recv") != 0)
		usage_error("unknown role \"%s\": the first argument is \"recv\" or \"send\"",
			    argv[1]);

	bool have_count = false, have_seed = false, have_host = false, have_stall_after = false;
	bool have_damage = false, have_send_only = false;
	int c;
	/* argv[1], the role, stands in for the program name */
	argc--, argv++;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case O_SOCKET:
			if (optarg[0] != '/' || strlen(optarg) > 107)
				usage_error("--socket: \"%s\" is not an absolute path of at most 107 bytes",
					    optarg);
			O.socket = optarg;
			break;
		case O_HOST: {
			struct in_addr a;
			if (strcmp(optarg, "local") != 0 && inet_pton(AF_INET, optarg, &a) != 1)
				usage_error("--host: \"%s\" is not an IPv4 address or \"local\"", optarg);
			O.host = optarg;
			have_host = true;
			break;
		}
		case O_SERVICE:
			check_service(optarg);
			O.service = optarg;
			break;
		case O_COUNT:
			if (!parse_u64(optarg, &O.count) || O.count == 0 || O.count > (1ull << 48))
				usage_error("--count: \"%s\" is not a number from 1 to 2^48", optarg);
			have_count = true;
			break;
		case O_SEED:
			if (!parse_u64(optarg, &O.seed))
				usage_error("--seed: \"%s\" is not a 64-bit unsigned number", optarg);
			have_seed = true;
			break;
		case O_MIN:
			if (!parse_bytes(optarg, &O.min_size) || O.min_size == 0 ||
			    O.min_size > SIZE_LIMIT)
				usage_error("--min-size: \"%s\" is not a size from 1 B to 1G", optarg);
			break;
		case O_MAX:
			if (!parse_bytes(optarg, &O.max_size) || O.max_size == 0 ||
			    O.max_size > SIZE_LIMIT)
				usage_error("--max-size: \"%s\" is not a size from 1 B to 1G", optarg);
			break;
		case O_STALL_AFTER:
			if (!parse_u64(optarg, &O.stall_after))
				usage_error("--stall-after: \"%s\" is not a message index", optarg);
			have_stall_after = true;
			break;
		case O_STALL_MS:
			O.stall_ms = parse_ms("--stall-ms", optarg, 1, 3600000);
			break;
		case O_TIMEOUT:
			O.timeout_ms = parse_ms("--timeout-ms", optarg, 1, 86400000);
			break;
		case O_JSON:
			O.json = true;
			break;
		case O_CLOSE:
			O.close_at_once = true;
			break;
		case O_RATE:
			if (!parse_u64(optarg, &O.rate) || O.rate == 0 || O.rate > 100000000)
				usage_error("--rate: \"%s\" is not a number of messages a second from 1 "
					    "to 10^8", optarg);
			have_send_only = true;
			break;
		case O_HOLD:
			O.hold_ms = parse_ms("--hold-ms", optarg, 1, 3600000);
			break;
		case O_PROGRESS:
			O.progress_ms = parse_ms("--progress-ms", optarg, 1, 3600000);
			break;
		case O_TOLERATE:
			O.tolerate_end = true;
			break;
		case O_DROP:
		case O_CORRUPT:
			if (!parse_u64(optarg, c == O_DROP ? &O.drop : &O.corrupt) ||
			    (c == O_DROP ? O.drop : O.corrupt) == UINT64_MAX)
				usage_error("%s: \"%s\" is not a message index",
					    c == O_DROP ? "--drop" : "--corrupt", optarg);
			have_damage = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			usage_error("%s needs a value", argv[optind - 1]);
		default:
			usage_error("unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument \"%s\"", argv[optind]);
	if (O.service == NULL)
		usage_error("--service is required");
	if (!have_count)
		usage_error("--count is required");
	if (!have_seed)
		usage_error("--seed is required (the same on both sides)");
	if (O.min_size > O.max_size)
		usage_error("--min-size %" PRIu64 " is larger than --max-size %" PRIu64, O.min_size,
			    O.max_size);
	if (O.send && (have_stall_after || O.stall_ms >= 0))
		usage_error("--stall-after and --stall-ms are for the receiver (recv)");
	if (!O.send && have_damage)
		usage_error("--drop and --corrupt are for the sender (send)");
	if (!O.send && have_send_only)
		usage_error("--rate is for the sender (send)");
	if (O.hold_ms && O.close_at_once)
		usage_error("--hold-ms waits after the reply, which --close-at-once does without");
	if (!O.send && have_host)
		usage_error("--host is for the sender (send); the receiver listens on its own ferryd");
	if (have_stall_after != (O.stall_ms >= 0))
		usage_error("--stall-after and --stall-ms go together");
	if (have_stall_after && O.stall_after >= O.count)
		usage_error("--stall-after %" PRIu64 " is not below --count %" PRIu64, O.stall_after,
			    O.count);
}

/* ---- clock ----------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t t_start, t_deadline;

/* Milliseconds to the deadline for ferry_poll(), at least 1 while any is
 * left, 0 once it has passed. */
static int ms_left(uint64_t until)
{
	uint64_t now = now_ns();
	if (now >= until)
		return 0;
	uint64_t ms = (until - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ---- both roles ------------------------------------------------------------ */

static ferry_t *xopen(const char *name)
{
	ferry_opts_t fo;
	ferry_t *f;
	ferry_opts_init(&fo);
	fo.socket_path = O.socket;
	fo.name = name;
	int rc = ferry_open(&f, &fo);
	if (rc < 0)
		fail(XFER_FAIL, "cannot attach to ferryd at %s: %s (%s)",
		     O.socket ? O.socket : getenv("FERRY_SOCKET") ? getenv("FERRY_SOCKET")
								: FERRY_DEFAULT_SOCKET,
		     strerror(-rc), ferry_errmsg());
	return f;
}

/* The largest message of this run: --max-size, clamped to what this
 * client may send, which both ends of a session to the same ferryd (or to
 * ferryds with the same ipc.max_message_size) see alike. */
static uint64_t effective_max(ferry_t *f)
{
	uint64_t fm = ferry_max_message(f);
	uint64_t hi = O.max_size;
	if (hi > fm) {
		note("note: --max-size %" PRIu64 " clamped to %" PRIu64
		     ", the largest message ferryd allows (ipc.max_message_size)",
		     hi, fm);
		hi = fm;
	}
	if (O.min_size > hi)
		usage_error("--min-size %" PRIu64 " is larger than the largest message ferryd allows "
			    "(%" PRIu64 ")", O.min_size, hi);
	return hi;
}

static void *xalloc(uint64_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		fail(XFER_FAIL, "out of memory for a buffer of %" PRIu64 " bytes", n);
	return p;
}

/* How far this run got: messages sent (send) or verified (recv), their
 * bytes, the first and the latest one's time, the largest message. */
static struct {
	uint64_t n, bytes, t0, t_last, hi;
	uint64_t next_progress;
} R;

/* One more message sent or verified. */
static void advance(uint64_t len)
{
	R.n++;
	R.bytes += len;
	R.t_last = now_ns();
	if (O.progress_ms && R.t_last >= R.next_progress) {
		printf("%s %" PRIu64 "\n", O.send ? "sent" : "verified", R.n);
		fflush(stdout);
		R.next_progress = R.t_last + (uint64_t)O.progress_ms * 1000000ull;
	}
}

/* The summary line; @p ended says why the session ended early, NULL when
 * the run is complete. */
static void summary(const char *ended, const char *extra_text, const char *extra_json)
{
	double secs = (double)(R.t_last - R.t0) / 1e9;
	double mbs = secs > 0 ? (double)R.bytes / 1e6 / secs : 0;
	if (O.progress_ms)
		printf("%s %" PRIu64 "\n", O.send ? "sent" : "verified", R.n);
	if (O.json)
		printf("{\"role\":\"%s\",\"messages\":%" PRIu64 ",\"bytes\":%" PRIu64
		       ",\"seconds\":%.6f,\"mb_per_s\":%.3f,\"seed\":%" PRIu64 ",\"min_size\":%" PRIu64
		       ",\"max_size\":%" PRIu64 ",\"clamped\":%s,\"complete\":%s,\"ended\":%s%s%s%s}\n",
		       role(), R.n, R.bytes, secs, mbs, O.seed, O.min_size, R.hi,
		       R.hi < O.max_size ? "true" : "false", ended ? "false" : "true",
		       ended ? "\"" : "", ended ? ended : "null", ended ? "\"" : "", extra_json);
	else
		printf("%s: %" PRIu64 " messages, %" PRIu64 " bytes, %.3f s, %.1f MB/s%s%s%s\n", role(),
		       R.n, R.bytes, secs, mbs, extra_text, ended ? "; ended early: " : "",
		       ended ? ended : "");
	fflush(stdout);
}

/* The session ended (@p why) before the run was complete: a failure, or
 * with --tolerate-end the summary and exit 3. */
static void __attribute__((noreturn)) ended(const char *why)
{
	if (!O.tolerate_end)
		fail(XFER_FAIL, "session ended (%s) after %" PRIu64 " of %" PRIu64 " messages", why,
		     R.n, O.count);
	note("session ended (%s) after %" PRIu64 " of %" PRIu64 " messages", why, R.n, O.count);
	summary(why, "", "");
	exit(XFER_ENDED);
}

static int xpoll(ferry_t *f, ferry_event_t *ev, uint64_t until)
{
	int n = ferry_poll(f, ev, EVS, ms_left(until));
	if (n < 0 && O.tolerate_end) {
		note("ferry_poll: %s (%s)", strerror(-n), ferry_errmsg());
		ended("ferryd is gone");
	}
	if (n < 0)
		fail(XFER_FAIL, "ferry_poll: %s (%s)", strerror(-n), ferry_errmsg());
	return n;
}

/* ---- recv ------------------------------------------------------------------ */

static int run_recv(void)
{
	ferry_t *f = xopen("xfer-recv");
	uint64_t hi = effective_max(f);
	uint8_t *exp = xalloc(hi);
	const struct xfer_msgs g = {.seed = O.seed, .min_size = O.min_size, .max_size = hi};
	int rc = ferry_listen(f, O.service);
	if (rc < 0)
		fail(XFER_FAIL, "listen on %s: %s (%s)", O.service, strerror(-rc), ferry_errmsg());

	ferry_session_t *s = NULL;
	bool up = false, replied = false, down = false;
	uint64_t stalled_ns = 0, grace_end = 0;
	uint64_t grace_ns = (GRACE_MS + (uint64_t)O.hold_ms) * 1000000ull;
	R.hi = hi;
	char reply[REPLY_MAX];
	ferry_event_t ev[EVS];

	while (!(replied && down)) {
		uint64_t until = replied && grace_end < t_deadline ? grace_end : t_deadline;
		int n = xpoll(f, ev, until);
		if (n == 0 && now_ns() >= until) {
			if (replied)
				break; /* the grace is over; the sender has its answer */
			if (s == NULL || !up)
				fail(XFER_TIMEOUT, "timed out after %ld ms waiting for a session on service %s",
				     O.timeout_ms, O.service);
			if (R.n < O.count)
				fail(XFER_TIMEOUT, "timed out after %ld ms at message %" PRIu64 " of %" PRIu64
						   " (%" PRIu64 " verified, %" PRIu64 " bytes)",
				     O.timeout_ms, R.n, O.count, R.n, R.bytes);
			fail(XFER_TIMEOUT, "timed out after %ld ms sending the reply (all %" PRIu64
					   " messages verified)", O.timeout_ms, O.count);
		}
		for (int i = 0; i < n; i++) {
			ferry_event_t *e = &ev[i];
			switch (e->type) {
			case FERRY_EV_LISTEN:
				if (e->status < 0)
					fail(XFER_FAIL, "listen on %s: %s", O.service, strerror(-e->status));
				note("listening on service %s", O.service);
				break;
			case FERRY_EV_INCOMING:
				if (s != NULL) {
					note("refusing a second session on %s", O.service);
					ferry_session_close(e->session);
					break;
				}
				s = e->session;
				/* -ECONNRESET: it ended first; its DOWN follows */
				if ((rc = ferry_accept(s)) < 0 && rc != -ECONNRESET)
					fail(XFER_FAIL, "accept: %s (%s)", strerror(-rc), ferry_errmsg());
				break;
			case FERRY_EV_SESSION_UP:
				if (e->session == s) {
					up = true;
					R.t0 = R.t_last = now_ns();
				}
				break;
			case FERRY_EV_MESSAGE:
				if (e->session != s)
					break;
				if (R.n >= O.count)
					fail(XFER_FAIL, "a message of %zu bytes arrived after the last one (%" PRIu64
							"): the sender sent more than --count",
					     e->len, O.count - 1);
				if (xfer_msg_verify(&g, e->data, e->len, R.n, exp) < 0)
					exit(XFER_FAIL);
				if (O.stall_ms >= 0 && R.n == O.stall_after) {
					/* the data of the rest of this batch stays valid:
					 * ferry_poll() is what releases it */
					uint64_t want = (uint64_t)O.stall_ms * 1000000ull, a = now_ns();
					if (a + want > t_deadline)
						want = t_deadline > a ? t_deadline - a : 0;
					sleep_ns(want);
					stalled_ns = now_ns() - a;
					note("stalled %.0f ms after message %" PRIu64 " (not polling)",
					     (double)stalled_ns / 1e6, R.n);
				}
				advance(e->len);
				break;
			case FERRY_EV_SESSION_DOWN:
				if (e->session != s) {
					ferry_session_close(e->session);
					break;
				}
				if (R.n < O.count)
					ended(ferry_reason_str(e->status));
				if (O.close_at_once && e->status != FERRY_REASON_CLOSED)
					fail(XFER_FAIL, "session ended (%s), not closed by the sender",
					     ferry_reason_str(e->status));
				if (O.close_at_once)
					replied = true; /* nothing to answer: done */
				if (!replied && O.tolerate_end)
					ended(ferry_reason_str(e->status));
				if (!replied)
					fail(XFER_FAIL, "session ended (%s) before the reply could be sent",
					     ferry_reason_str(e->status));
				ferry_session_close(s);
				s = NULL;
				down = true;
				break;
			}
		}
		/* after the batch: replying polls, which would release it */
		if (R.n == O.count && !replied && s != NULL && !down && !O.close_at_once) {
			int len = snprintf(reply, sizeof(reply), "ok %" PRIu64 " %" PRIu64, R.n, R.bytes);
			rc = ferry_send(s, reply, (size_t)len, 0);
			if (rc == 0) {
				replied = true;
				uint64_t ge = now_ns() + grace_ns;
				grace_end = ge < t_deadline ? ge : t_deadline;
			} else if (rc != -EAGAIN) {
				fail(XFER_FAIL, "sending the reply: %s (%s)", strerror(-rc), ferry_errmsg());
			}
		}
	}
	if (s)
		ferry_session_close(s);
	ferry_close(f);
	free(exp);

	char js[64];
	snprintf(js, sizeof(js), ",\"stall_ms\":%.0f", (double)stalled_ns / 1e6);
	summary(NULL, "", js);
	return XFER_OK;
}

/* ---- send ------------------------------------------------------------------ */

static ferry_session_t *S;
static uint64_t sent; /* messages 0..sent-1 are behind us (sent or left out) */
static bool have_reply, holding;
static char reply[REPLY_MAX];

/* One event of the sender's session. @return true if it is WRITABLE. */
static bool send_event(const ferry_event_t *e)
{
	if (e->session != S)
		return false;
	switch (e->type) {
	case FERRY_EV_WRITABLE:
		return true;
	case FERRY_EV_MESSAGE: {
		if (have_reply)
			fail(XFER_FAIL, "the receiver sent a second message (%zu bytes) after its reply",
			     e->len);
		/* printable, bounded: it is quoted in messages below */
		size_t n = e->len < REPLY_MAX - 1 ? e->len : REPLY_MAX - 1;
		for (size_t i = 0; i < n; i++) {
			char ch = ((const char *)e->data)[i];
			reply[i] = ch >= 0x20 && ch < 0x7f ? ch : '?';
		}
		reply[n] = '\0';
		have_reply = true;
		if (sent < O.count)
			fail(XFER_FAIL, "the receiver answered \"%s\" after only %" PRIu64 " of %" PRIu64
					" messages were sent (different --count?)",
			     reply, sent, O.count);
		return false;
	}
	case FERRY_EV_SESSION_DOWN:
		if (sent < O.count || O.tolerate_end)
			ended(ferry_reason_str(e->status));
		if (holding)
			fail(XFER_FAIL, "session ended (%s) while held open after the reply",
			     ferry_reason_str(e->status));
		fail(XFER_FAIL, "session ended (%s) before the receiver's reply",
		     ferry_reason_str(e->status));
	}
	return false;
}

static void connect_up(ferry_t *f)
{
	ferry_event_t ev[EVS];
	bool waiting_noted = false;
	for (;;) {
		int rc = ferry_connect(f, O.host, O.service, NULL, &S);
		if (rc < 0)
			fail(XFER_FAIL, "connect to %s on %s: %s (%s)", O.service, O.host, strerror(-rc),
			     ferry_errmsg());
		int retry = 0;
		while (!retry) {
			int n = xpoll(f, ev, t_deadline);
			if (n == 0 && now_ns() >= t_deadline)
				fail(XFER_TIMEOUT, "timed out after %ld ms waiting for a session to %s on %s",
				     O.timeout_ms, O.service, O.host);
			for (int i = 0; i < n; i++) {
				if (ev[i].session != S)
					continue;
				if (ev[i].type == FERRY_EV_SESSION_UP)
					return;
				if (ev[i].type != FERRY_EV_SESSION_DOWN)
					continue;
				ferry_session_close(S);
				S = NULL;
				/* the receiver may not be listening yet: try again
				 * until --timeout-ms, so start order does not matter */
				if (ev[i].status != FERRY_REASON_NO_LISTENER && O.tolerate_end)
					ended(ferry_reason_str(ev[i].status));
				if (ev[i].status != FERRY_REASON_NO_LISTENER)
					fail(XFER_FAIL, "cannot open a session to %s on %s: %s", O.service,
					     O.host, ferry_reason_str(ev[i].status));
				if (!waiting_noted)
					note("nobody listens on %s yet; retrying", O.service);
				waiting_noted = true;
				retry = 1;
				break;
			}
		}
		sleep_ns(50000000);
	}
}

static int run_send(void)
{
	ferry_t *f = xopen("xfer-send");
	uint64_t hi = effective_max(f);
	uint8_t *buf = xalloc(hi);
	const struct xfer_msgs g = {.seed = O.seed, .min_size = O.min_size, .max_size = hi};
	ferry_event_t ev[EVS];
	connect_up(f);

	uint64_t waits = 0, eagain = 0, longest = 0, blocked_total = 0;
	R.hi = hi;
	R.t0 = R.t_last = now_ns();
	for (uint64_t k = 0; k < O.count; k++) {
		/* --rate: message k goes k / rate seconds after the first */
		for (uint64_t at; O.rate && (at = R.t0 + k * 1000000000ull / O.rate) > now_ns();) {
			int n = xpoll(f, ev, at < t_deadline ? at : t_deadline);
			for (int i = 0; i < n; i++)
				send_event(&ev[i]);
			if (now_ns() >= t_deadline)
				fail(XFER_TIMEOUT, "timed out after %ld ms at message %" PRIu64 " of %" PRIu64
						   " (--rate %" PRIu64 ")", O.timeout_ms, k, O.count, O.rate);
		}
		size_t len = xfer_msg_gen(&g, buf, k);
		if (k == O.drop) {
			note("self-test: leaving out message %" PRIu64 " (%zu bytes)", k, len);
			sent = k + 1;
			continue;
		}
		if (k == O.corrupt) {
			note("self-test: flipping byte %zu of message %" PRIu64 " (%zu bytes)", len / 2,
			     k, len);
			buf[len / 2] ^= 0x5a;
		}
		uint64_t blocked_at = 0;
		for (;;) {
			int rc = ferry_send(S, buf, len, 0);
			if (rc == 0)
				break;
			if (rc == -EPIPE) {
				/* down: its event says why */
				for (;;) {
					int n = xpoll(f, ev, t_deadline);
					if (n == 0 && now_ns() >= t_deadline)
						fail(XFER_FAIL, "session down at message %" PRIu64 " of %" PRIu64
								" (%s)", k, O.count, ferry_errmsg());
					for (int i = 0; i < n; i++)
						send_event(&ev[i]);
				}
			}
			if (rc != -EAGAIN)
				fail(XFER_FAIL, "sending message %" PRIu64 " (%zu bytes): %s (%s)", k, len,
				     strerror(-rc), ferry_errmsg());
			/* back-pressure: wait for room, then the same message again */
			eagain++;
			if (blocked_at == 0) {
				blocked_at = now_ns();
				waits++;
			}
			for (bool writable = false; !writable;) {
				int n = xpoll(f, ev, t_deadline);
				if (n == 0 && now_ns() >= t_deadline)
					fail(XFER_TIMEOUT, "timed out after %ld ms at message %" PRIu64 " of %" PRIu64
							   " (%zu bytes), blocked by back-pressure for %.0f ms",
					     O.timeout_ms, k, O.count, len,
					     (double)(now_ns() - blocked_at) / 1e6);
				for (int i = 0; i < n; i++)
					writable |= send_event(&ev[i]);
			}
		}
		if (blocked_at) {
			uint64_t d = now_ns() - blocked_at;
			blocked_total += d;
			if (d > longest)
				longest = d;
		}
		advance(len);
		sent = k + 1;
	}

	while (!have_reply && !O.close_at_once) {
		int n = xpoll(f, ev, t_deadline);
		if (n == 0 && now_ns() >= t_deadline)
			fail(XFER_TIMEOUT, "timed out after %ld ms waiting for the receiver's reply (all %" PRIu64
					   " messages, %" PRIu64 " bytes sent)",
			     O.timeout_ms, O.count, R.bytes);
		for (int i = 0; i < n; i++)
			send_event(&ev[i]);
	}
	char want[REPLY_MAX];
	snprintf(want, sizeof(want), "ok %" PRIu64 " %" PRIu64, O.count, R.bytes);
	if (!O.close_at_once && strcmp(reply, want) != 0)
		fail(XFER_FAIL, "the receiver replied \"%s\", expected \"%s\"", reply, want);
	R.t_last = now_ns();
	R.n = sent;
	/* --hold-ms: the session stays open and quiet; it must stay up */
	holding = true;
	for (uint64_t until = R.t_last + (uint64_t)O.hold_ms * 1000000ull; now_ns() < until;) {
		int n = xpoll(f, ev, until < t_deadline ? until : t_deadline);
		for (int i = 0; i < n; i++)
			send_event(&ev[i]);
		if (now_ns() >= t_deadline)
			fail(XFER_TIMEOUT, "timed out after %ld ms holding the session open",
			     O.timeout_ms);
	}
	ferry_session_close(S);
	ferry_close(f);
	free(buf);

	char text[128], js[192];
	snprintf(text, sizeof(text), ", backpressure waits %" PRIu64 " (longest %.0f ms)", waits,
		 (double)longest / 1e6);
	snprintf(js, sizeof(js),
		 ",\"backpressure_waits\":%" PRIu64 ",\"backpressure_eagain\":%" PRIu64
		 ",\"backpressure_longest_ms\":%.3f,\"backpressure_total_ms\":%.3f",
		 waits, eagain, (double)longest / 1e6, (double)blocked_total / 1e6);
	summary(NULL, text, js);
	return XFER_OK;
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	t_start = now_ns();
	t_deadline = t_start + (uint64_t)O.timeout_ms * 1000000ull;
	return O.send ? run_send() : run_recv();
}
