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
 * --prometheus prints the counters in Prometheus's text format (prom.h);
 * with --out FILE it replaces FILE whole (afile.h), so node_exporter's
 * textfile collector never reads half a file, and with --interval it
 * keeps doing so, following restarts like live mode. A daemon that is
 * gone is data there, not an error: the file then says ferry_daemon_up 0
 * rather than keep the last counters as if they were current.
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
#include "afile.h"
#include "ferry_shm_util.h"
#include "prom.h"
#include "status_map.h"
#include "utf8.h"

#define NS_PER_S 1000000000ull
#define STALE_NS PROM_STALE_NS
#define DEFAULT_DIR "/dev/shm/ferry"

struct opts {
	const char *dir;
	double interval;
	bool once, json, prometheus, interval_set;
	const char *filter;
	const char *out; /* --out FILE */
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
		if (k == 0 || utf8_is_control(cp)) {
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

/* --prometheus: to stdout, or replacing o->out. @p m not open: the
 * daemon is gone. @return 0, or 1 with a message when FILE cannot be
 * written */
static int print_prom(struct smap *m, const struct opts *o)
{
	struct smap_daemon v;
	uint32_t n = 0;
	if (m->base) {
		n = smap_snapshot(m, o->filter);
		smap_daemon_view(m, &v);
	}
	if (!o->out)
		return prom_write(stdout, m->rows, n, m->base ? &v : NULL) < 0;
	struct afile a;
	char err[2 * PATH_MAX];
	int rc = afile_open(&a, o->out, 0644, err, sizeof(err));
	if (rc == 0 && prom_write(a.f, m->rows, n, m->base ? &v : NULL) == -ENOMEM) {
		afile_abort(&a);
		snprintf(err, sizeof(err), "out of memory for %u counters", n);
		rc = -ENOMEM;
	}
	if (rc == 0)
		rc = afile_commit(&a, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "ferry-stat: --out: %s\n", err);
	return rc < 0;
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *o)
{
	fprintf(o,
		"usage: ferry-stat [--shm-dir DIR] [--interval SEC] [--once] [--json]\n"
		"                  [--prometheus [--out FILE]] [--filter SUBSTR] [--help]\n"
		"Show ferryd's status and counters from DIR/status.\n"
		"  --shm-dir DIR    ferryd's ipc.shm_dir (default: $FERRY_IPC_SHM_DIR,\n"
		"                   else " DEFAULT_DIR ")\n"
		"  --interval SEC   refresh period in live mode (default 1, may be fractional)\n"
		"  --once           print the table once and exit\n"
		"  --json           print one JSON object and exit (implies --once)\n"
		"  --filter SUBSTR  only counters whose label contains SUBSTR\n"
		"  --prometheus     print the counters in Prometheus's text format and exit:\n"
		"                   ferry_<group>_<name>, session, client and drop reason\n"
		"                   as labels, ns as seconds, counters ending in _total\n"
		"  --out FILE       with --prometheus: replace FILE whole instead of printing\n"
		"                   (for node_exporter's textfile collector: FILE ends in\n"
		"                   .prom); with --interval, keep replacing it until SIGTERM.\n"
		"                   No usable status file writes ferry_daemon_up 0.\n"
		"Live mode marks the heartbeat STALE after 5 s and follows daemon restarts.\n"
		"Exit status: 0 ok, 1 no usable status file (not with --out) or FILE cannot\n"
		"be written, 2 usage error.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"shm-dir", required_argument, NULL, 'd'}, {"interval", required_argument, NULL, 'i'},
		{"once", no_argument, NULL, 'o'},          {"json", no_argument, NULL, 'j'},
		{"filter", required_argument, NULL, 'f'},  {"help", no_argument, NULL, 'h'},
		{"prometheus", no_argument, NULL, 'p'},    {"out", required_argument, NULL, 'O'},
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
			o->interval_set = true;
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
		case 'p':
			o->prometheus = true;
			break;
		case 'O':
			o->out = optarg;
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
	const char *bad = o->out && !o->prometheus ? "--out needs --prometheus"
			  : o->prometheus && o->json ? "--prometheus and --json exclude each other"
			  : o->prometheus && o->interval_set && !o->out ? "--prometheus with --interval needs --out"
			  : o->out && !*o->out ? "--out: empty path" : NULL;
	if (bad) {
		fprintf(stderr, "ferry-stat: %s\n", bad);
		return 2;
	}
	/* only --out FILE --interval keeps running */
	if (o->prometheus && !(o->out && o->interval_set))
		o->once = true;
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

/* Live mode, and --prometheus --out --interval: refresh every interval,
 * reopening the status file when the daemon replaced it.
 * @return the exit status */
static int live(struct smap *m, const struct opts *o, char *why, size_t whylen)
{
	const bool tty = isatty(STDOUT_FILENO);
	const uint64_t period = (uint64_t)(o->interval * 1e9 + 0.5);
	uint64_t next = clock_ns(CLOCK_MONOTONIC);
	while (!g_stop) {
		if (m->base && smap_replaced(m))
			smap_close(m);
		if (!m->base)
			smap_open(m, o->dir, why, whylen);
		if (o->prometheus) {
			if (print_prom(m, o))
				return 1;
			goto wait;
		}
		fputs(tty ? "\033[H\033[2J" : "\n", stdout);
		if (m->base)
			print_table(m, smap_snapshot(m, o->filter), o->filter, true);
		else
			printf("ferry-stat: waiting: %s\n", why);
		fflush(stdout);
wait:;
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		next += period;
		if (next < now) /* suspended or very slow: do not burst to catch up */
			next = now + period;
		sleep_until(next);
	}
	return 0;
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
		fprintf(stderr, "ferry-stat: %s%s\n", why,
			o.out ? "; writing ferry_daemon_up 0" : "");
		/* --out: the file says the daemon is not there (live mode
		 * writes it and goes on waiting) */
		if (!o.out)
			return 1;
		if (o.once)
			return print_prom(&m, &o);
	}
	if (o.prometheus && o.once)
		rc = print_prom(&m, &o);
	else if (o.json)
		print_json(&m, smap_snapshot(&m, o.filter));
	else if (o.once)
		print_table(&m, smap_snapshot(&m, o.filter), o.filter, false);
	else
		rc = live(&m, &o, why, sizeof(why));
	smap_close(&m);
	if (rc > 0)
		return rc;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ferry-stat: writing output: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
