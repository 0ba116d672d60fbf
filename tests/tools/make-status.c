/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * make-status: write a ferryd status file with known counters, for testing
 * ferry-stat without a daemon. It replaces DIR/status the way ferryd does
 * (unlink, create, fill, publish the magic last), so a reader following the
 * path sees a new inode.
 *
 *   make-status DIR [--pid N | --dead-pid] [--heartbeat-age-ms N]
 *               [--magic HEX] [--major N] [--counter-max N] [--empty]
 *               [--extra [g:]LABEL=VALUE]... [--hold SEC]
 *
 * pid: --pid N, or --dead-pid (a child that has been reaped), else the
 * helper's own pid with --hold and its parent's (the test shell) without.
 * --hold SEC stays alive like a daemon for SEC seconds (or until SIGTERM):
 * port.rx_packets grows by 10 and the heartbeat is refreshed every 100 ms.
 * --extra adds a counter (a gauge with "g:"), up to 12 of them; the value
 * follows the last '=', so a label may hold one.
 * Prints nothing; exits 0, or 1 with a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ferry_atomic.h"
#include "ferry_shm_util.h"

#define SLOTS 24u
#define EXTRA_MAX 12

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
	g_stop = sig;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct ferry_counter *put(struct ferry_counter *c, uint32_t state, uint32_t type,
				 uint64_t value, const char *label)
{
	FA_STORE_RLX(&c->value, value);
	c->type = type;
	snprintf(c->label, sizeof(c->label), "%s", label);
	FA_STORE_REL(&c->state, state);
	return c;
}

static int fail(const char *what)
{
	fprintf(stderr, "make-status: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: make-status DIR [options] (see the source)\n");
		return 1;
	}
	uint64_t magic = FERRY_SHM_MAGIC_STATUS, age_ms = 0;
	long pid = 0, major = FERRY_SHM_VERSION_MAJOR, counter_max = SLOTS, hold = -1;
	int empty = 0, dead = 0;
	const char *extra[EXTRA_MAX];
	int nextra = 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--dead-pid"))
			dead = 1;
		else if (!strcmp(a, "--empty"))
			empty = 1;
		else if (v && !strcmp(a, "--pid") && ++i)
			pid = strtol(v, NULL, 10);
		else if (v && !strcmp(a, "--heartbeat-age-ms") && ++i)
			age_ms = strtoull(v, NULL, 10);
		else if (v && !strcmp(a, "--magic") && ++i)
			magic = strtoull(v, NULL, 16);
		else if (v && !strcmp(a, "--major") && ++i)
			major = strtol(v, NULL, 10);
		else if (v && !strcmp(a, "--counter-max") && ++i)
			counter_max = strtol(v, NULL, 10);
		else if (v && !strcmp(a, "--extra") && nextra < EXTRA_MAX && ++i)
			extra[nextra++] = v;
		else if (v && !strcmp(a, "--hold") && ++i)
			hold = strtol(v, NULL, 10);
		else {
			fprintf(stderr, "make-status: bad argument '%s'\n", a);
			return 1;
		}
	}
	if (dead) {
		pid_t child = fork();
		if (child < 0)
			return fail("fork");
		if (child == 0)
			_exit(0);
		waitpid(child, NULL, 0); /* reaped: kill(pid, 0) now fails, ESRCH */
		pid = child;
	} else if (pid == 0) {
		pid = hold >= 0 ? getpid() : getppid();
	}

	char path[4096];
	snprintf(path, sizeof(path), "%s/status", argv[1]);
	unlink(path);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(path);
	if (empty)
		return 0;
	size_t len = FERRY_STATUS_COUNTERS_OFF + SLOTS * sizeof(struct ferry_counter);
	if (ftruncate(fd, (off_t)len) < 0)
		return fail("ftruncate");
	void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return fail("mmap");

	struct ferry_shm_hdr *h = map;
	struct ferry_status_daemon *d = (void *)((char *)map + sizeof(*h));
	struct ferry_counter *c = (void *)((char *)map + FERRY_STATUS_COUNTERS_OFF);
	h->version_major = (uint16_t)major;
	h->version_minor = 3;
	h->hdr_size = sizeof(*h);
	h->file_size = len;
	d->pid = (uint32_t)pid;
	d->counter_max = (uint32_t)counter_max;
	uint64_t now = now_ns();
	d->start_unix_ns = now - 3723ull * 1000000000ull; /* up 1h02m03s */
	FA_STORE_RLX(&d->heartbeat_unix_ns, now - age_ms * 1000000ull);
	snprintf(d->version, sizeof(d->version), "9.8.7-test");

	/* slots deliberately out of label order, with holes and a freed slot */
	put(&c[0], FERRY_COUNTER_ACTIVE, FERRY_CTR_COUNT, 12345, "daemon.commands");
	put(&c[1], FERRY_COUNTER_ACTIVE, FERRY_CTR_COUNT, 7, "client.12.perf-client.commands");
	struct ferry_counter *rx =
		put(&c[2], FERRY_COUNTER_ACTIVE, FERRY_CTR_COUNT, 1000000, "port.rx_packets");
	put(&c[3], FERRY_COUNTER_FREE, FERRY_CTR_COUNT, 99, "daemon.freed");
	put(&c[4], FERRY_COUNTER_ACTIVE, FERRY_CTR_COUNT, 5, "client.7.perf-client.commands");
	put(&c[5], FERRY_COUNTER_ACTIVE, FERRY_CTR_COUNT, 2, "drop.ipv4_bad_checksum");
	put(&c[6], FERRY_COUNTER_ACTIVE, FERRY_CTR_GAUGE, 3, "daemon.clients");
	put(&c[8], FERRY_COUNTER_ACTIVE, FERRY_CTR_COUNT, 0, "session.12.retransmits");
	/* a client's attach name is untrusted: quote, backslash, controls,
	 * an escape sequence, valid UTF-8 and an invalid byte */
	put(&c[9], FERRY_COUNTER_ACTIVE, FERRY_CTR_COUNT, 9,
	    "client.9.we\"ird\\\x01\x1b[2J\xc3\xa9\xff.commands");
	put(&c[10], FERRY_COUNTER_ACTIVE, FERRY_CTR_GAUGE, UINT64_MAX, "zzz.other");
	/* a counter the device does not have: its value must not be shown */
	put(&c[7], FERRY_COUNTER_ACTIVE, FERRY_CTR_COUNT, 77, "eni.pps_allowance_exceeded")->flags =
		FERRY_CTR_F_UNAVAILABLE;
	for (int i = 0; i < nextra; i++) {
		const char *x = extra[i], *eq = strrchr(x, '=');
		uint32_t type = FERRY_CTR_COUNT;
		if (strncmp(x, "g:", 2) == 0) {
			type = FERRY_CTR_GAUGE;
			x += 2;
		}
		char label[sizeof(c->label)];
		snprintf(label, sizeof(label), "%.*s", eq ? (int)(eq - x) : 0, x);
		put(&c[11 + i], FERRY_COUNTER_ACTIVE, type, eq ? strtoull(eq + 1, NULL, 10) : 0,
		    label);
	}
	ferry_shm_publish(h, magic);

	if (hold < 0)
		return 0;
	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (long t = 0; t < hold * 10 && !g_stop; t++) {
		nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
		FA_STORE_RLX(&rx->value, FA_LOAD_RLX(&rx->value) + 10);
		FA_STORE_RLX(&d->heartbeat_unix_ns, now_ns());
	}
	return 0;
}
