/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry-stat: show ferryd's identity, liveness and counters from the status
 * file <shm_dir>/status, without talking to the daemon.
 *
 * The file is mapped PROT_READ: this tool can never disturb the daemon. Live
 * mode redraws every interval and follows daemon restarts: ferryd unlinks
 * and recreates the file when it starts, so a new inode at the path (or no
 * file at all) means "reopen", and the old mapping stays valid until we drop
 * it. --once and --json print one snapshot and exit.
 *
 * The file is the daemon's, but a client's attach name ends up in labels
 * ("client.7.<name>.commands"), so labels are untrusted text: the table
 * replaces control characters and invalid UTF-8, and JSON escapes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ferry_atomic.h"
#include "ferry_shm.h"
#include "ferry_shm_util.h"
#include "status_map.h"

#define NS_PER_S 1000000000ull
#define STALE_NS (5 * NS_PER_S)
#define DEFAULT_DIR "/dev/shm/ferry"

struct opts {
	const char *dir;
	double interval;
	bool once, json;
	const char *filter;
};

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
	g_stop = sig;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* ---- untrusted text ---------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left, n > 0) with its
 * code point in *cp, or 0 when the bytes are not valid UTF-8 (overlong
 * forms, surrogates and values past U+10FFFF included). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	uint32_t c = s[0];
	size_t len = c < 0x80 ? 1 : c >> 5 == 6 ? 2 : c >> 4 == 14 ? 3 : c >> 3 == 30 ? 4 : 0;
	if (len == 0 || len > n)
		return 0;
	if (len > 1)
		c &= 0x7f >> len;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Copy @p s for a terminal: controls (C0, DEL, C1) and invalid UTF-8 become
 * '?', so a label cannot move the cursor or retitle the window.
 * @return the number of characters (columns, ignoring wide glyphs) */
static size_t text_clean(char *out, size_t outlen, const char *s)
{
	size_t n = strlen(s), o = 0, cols = 0;
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0, k; i < n && o + 5 < outlen; i += k ? k : 1, cols++) {
		uint32_t cp;
		k = utf8_next(u + i, n - i, &cp);
		if (k == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
			out[o++] = '?';
		} else {
			memcpy(out + o, s + i, k);
			o += k;
		}
	}
	out[o] = '\0';
	return cols;
}

/* Write @p s as a JSON string: quote, backslash and controls escaped,
 * invalid UTF-8 bytes replaced by U+FFFD so the output always parses. */
static void json_str(FILE *f, const char *s)
{
	size_t n = strlen(s);
	const unsigned char *u = (const unsigned char *)s;
	putc('"', f);
	for (size_t i = 0, k; i < n; i += k ? k : 1) {
		uint32_t cp;
		k = utf8_next(u + i, n - i, &cp);
		if (k == 0)
			fputs("\\ufffd", f);
		else if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (int)cp);
		else if (cp < 0x20 || cp == 0x7f)
			fprintf(f, "\\u%04x", (unsigned)cp);
		else
			fwrite(s + i, 1, k, f);
	}
	putc('"', f);
}

/* ---- output ------------------------------------------------------------ */

static void print_json(const struct smap *m, uint32_t n)
{
	const struct row *rows = m->rows;
	struct smap_daemon v;
	smap_daemon_view(m, &v);
	printf("{\"daemon\":{\"pid\":%u,\"version\":", v.pid);
	json_str(stdout, v.version);
	printf(",\"uptime_s\":%llu,\"heartbeat_age_ms\":%llu,\"running\":%s},\"counters\":{",
	       (unsigned long long)(v.uptime_ns / NS_PER_S),
	       (unsigned long long)(v.hb_age_ns / 1000000), v.running ? "true" : "false");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			putchar(',');
		json_str(stdout, rows[i].label);
		if (rows[i].unavailable)
			printf(":null"); /* the device has no such counter */
		else
			printf(":%llu", (unsigned long long)rows[i].value);
	}
	printf("}}\n");
}

static void fmt_duration(char *out, size_t len, uint64_t ns)
{
	uint64_t s = ns / NS_PER_S;
	unsigned d = (unsigned)(s / 86400), h = (unsigned)(s / 3600 % 24),
		 mi = (unsigned)(s / 60 % 60), se = (unsigned)(s % 60);
	if (d)
		snprintf(out, len, "%ud%02uh%02um%02us", d, h, mi, se);
	else if (h)
		snprintf(out, len, "%uh%02um%02us", h, mi, se);
	else if (mi)
		snprintf(out, len, "%um%02us", mi, se);
	else
		snprintf(out, len, "%us", se);
}

/* The table. @p rates: show a rate column (live mode); m->prev holds the
 * previous refresh and is updated here. */
static void print_table(struct smap *m, uint32_t n, const char *filter, bool rates)
{
	const struct row *rows = m->rows;
	struct smap_daemon v;
	char ver[4 * sizeof(v.version)], up[32], label[4 * SMAP_LABEL_MAX];
	smap_daemon_view(m, &v);
	text_clean(ver, sizeof(ver), v.version);
	fmt_duration(up, sizeof(up), v.uptime_ns);
	printf("ferryd %s  pid %u%s  up %s  heartbeat %.1f s ago%s\n", ver, v.pid,
	       v.running ? "" : " not running", up, (double)v.hb_age_ns / 1e9,
	       v.hb_age_ns > STALE_NS ? "  STALE" : "");

	size_t width = 24;
	for (uint32_t i = 0; i < n; i++) {
		size_t w = text_clean(label, sizeof(label), rows[i].label);
		if (w > width)
			width = w < 64 ? w : 64;
	}
	printf("\n%-*s %20s%s\n", (int)width, "counter", "value", rates ? "         rate/s" : "");
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	double dt = m->prev_mono ? (double)(now - m->prev_mono) / 1e9 : 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		const struct row *p = &m->prev[r->slot];
		if (i && r->group != rows[i - 1].group)
			putchar('\n');
		size_t w = text_clean(label, sizeof(label), r->label);
		if (r->unavailable) {
			/* not 0: the device (a vdev) has no such counter */
			printf("%s%*s %20s\n", label, (int)(width > w ? width - w : 0), "", "unavailable");
			continue;
		}
		printf("%s%*s %20llu", label, (int)(width > w ? width - w : 0), "",
		       (unsigned long long)r->value);
		/* a rate needs the same counter last time: same slot, same label
		 * (a cleared entry's is empty), not gone backwards (a slot reused
		 * under an equal label) */
		if (rates && r->type == FERRY_CTR_COUNT && dt > 0 && p->value <= r->value &&
		    strcmp(p->label, r->label) == 0)
			printf(" %14.1f", (double)(r->value - p->value) / dt);
		putchar('\n');
	}
	if (n == 0 && filter)
		printf("(no active counter matches \"%s\")\n", filter);
	else if (n == 0)
		printf("(no active counters)\n");
	if (!rates)
		return;
	/* remember what was shown; the filter is the same every refresh */
	memset(m->prev, 0, m->n * sizeof(*m->prev));
	for (uint32_t i = 0; i < n; i++)
		m->prev[rows[i].slot] = rows[i];
	m->prev_mono = now;
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *o)
{
	fprintf(o,
		"usage: ferry-stat [--shm-dir DIR] [--interval SEC] [--once] [--json]\n"
		"                  [--filter SUBSTR] [--help]\n"
		"Show ferryd's status and counters from DIR/status.\n"
		"  --shm-dir DIR    ferryd's ipc.shm_dir (default: $FERRY_IPC_SHM_DIR,\n"
		"                   else " DEFAULT_DIR ")\n"
		"  --interval SEC   refresh period in live mode (default 1, may be fractional)\n"
		"  --once           print the table once and exit\n"
		"  --json           print one JSON object and exit (implies --once)\n"
		"  --filter SUBSTR  only counters whose label contains SUBSTR\n"
		"Live mode marks the heartbeat STALE after 5 s and follows daemon restarts.\n"
		"Exit status: 0 ok, 1 no usable status file, 2 usage error.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"shm-dir", required_argument, NULL, 'd'}, {"interval", required_argument, NULL, 'i'},
		{"once", no_argument, NULL, 'o'},          {"json", no_argument, NULL, 'j'},
		{"filter", required_argument, NULL, 'f'},  {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv("FERRY_IPC_SHM_DIR");
	o->dir = env && *env ? env : DEFAULT_DIR;
	o->interval = 1.0;
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'd':
			o->dir = optarg;
			break;
		case 'i':
			errno = 0;
			o->interval = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->interval >= 0.05) ||
			    o->interval > 86400) {
				fprintf(stderr, "ferry-stat: --interval %s: expected seconds "
						"between 0.05 and 86400\n", optarg);
				return 2;
			}
			break;
		case 'o':
			o->once = true;
			break;
		case 'j':
			o->json = o->once = true;
			break;
		case 'f':
			o->filter = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ferry-stat: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!*o->dir) {
		fprintf(stderr, "ferry-stat: --shm-dir: empty path\n");
		return 2;
	}
	return -1;
}

static void sleep_until(uint64_t deadline)
{
	struct timespec ts = {.tv_sec = (time_t)(deadline / NS_PER_S),
			      .tv_nsec = (long)(deadline % NS_PER_S)};
	/* a signal interrupts the sleep (no SA_RESTART) so Ctrl-C is prompt */
	while (!g_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void live(struct smap *m, const struct opts *o, char *why, size_t whylen)
{
	const bool tty = isatty(STDOUT_FILENO);
	const uint64_t period = (uint64_t)(o->interval * 1e9 + 0.5);
	uint64_t next = clock_ns(CLOCK_MONOTONIC);
	while (!g_stop) {
		if (m->base && smap_replaced(m))
			smap_close(m);
		if (!m->base)
			smap_open(m, o->dir, why, whylen);
		fputs(tty ? "\033[H\033[2J" : "\n", stdout);
		if (m->base)
			print_table(m, smap_snapshot(m, o->filter), o->filter, true);
		else
			printf("ferry-stat: waiting: %s\n", why);
		fflush(stdout);
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		next += period;
		if (next < now) /* suspended or very slow: do not burst to catch up */
			next = now + period;
		sleep_until(next);
	}
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;

	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct smap m = {.fd = -1};
	char why[PATH_MAX + 256];
	if ((size_t)snprintf(m.path, sizeof(m.path), "%s/status", o.dir) >= sizeof(m.path)) {
		fprintf(stderr, "ferry-stat: --shm-dir path too long\n");
		return 2;
	}
	/* a daemon creating the file right now gets about a second to publish */
	rc = smap_open(&m, o.dir, why, sizeof(why));
	for (int i = 0; rc == -EAGAIN && i < 20 && !g_stop; i++) {
		nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
		rc = smap_open(&m, o.dir, why, sizeof(why));
	}
	if (rc < 0) {
		fprintf(stderr, "ferry-stat: %s\n", why);
		return 1;
	}
	if (o.json)
		print_json(&m, smap_snapshot(&m, o.filter));
	else if (o.once)
		print_table(&m, smap_snapshot(&m, o.filter), o.filter, false);
	else
		live(&m, &o, why, sizeof(why));
	smap_close(&m);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ferry-stat: writing output: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
