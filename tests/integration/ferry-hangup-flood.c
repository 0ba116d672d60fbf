/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry-hangup-flood: a client that leaves ferryd a command ring that never
 * runs dry, and hangs up.
 *
 *   ferry-hangup-flood --host IPV4 --service NAME [--size BYTES]
 *                      [--pause-ms MS] [--socket PATH]
 *
 * It opens a session with the real libferry, says "up" on stderr, waits
 * --pause-ms (so that a test can stop the peer's reader), then sends
 * messages of --size bytes until ferryd's send buffer for the session is
 * full: ferry_send() says -EAGAIN, and ferryd no longer takes records from
 * the command ring. Then it rewrites its own command ring, from where
 * ferryd will read next, with one lap of DATA records that ends where it
 * starts: a few large ones and one-byte ones between, so that no
 * CMD_BUDGET (256) records in a row span a whole ring. Then it shuts its
 * control socket down, which is how ferryd learns a client left.
 *
 * ferryd then reads what the departed client left (its last sends are
 * delivered), into the send buffer beyond its limit, until the ring looks
 * empty or it has read as many records as the ring could hold at the
 * smallest record size. A ring that never looks empty is read round and
 * round, each lap taking the large records again: what is taken after the
 * hang-up is bounded by a number of records, not by the bytes the ring
 * holds. It prints one JSON line: how many messages libferry sent and how
 * many of those ferryd had not read when the ring was rewritten, the
 * payload sizes of one lap in the order ferryd reads them, and the ring's
 * size; the test compares them with ferryd's remote.tx_messages.
 *
 * Exit: 0 done (whatever ferryd took), 1 the setup failed, 64 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ferry.h"
#include "ferry_ring.h"
#include "ferry_shm_util.h"

#define READ_BUDGET 256 /* records ferryd reads from a client per pass */
#define LAP_MAX 8192

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ferry-hangup-flood: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* The ring file libferry mapped: the mapping of a "client-<id>" file. */
static int open_own_ring_file(char *path, size_t n)
{
	FILE *m = fopen("/proc/self/maps", "r");
	if (m == NULL)
		return -1;
	char line[4608];
	int fd = -1;
	while (fd < 0 && fgets(line, sizeof(line), m)) {
		char *p = strchr(line, '/');
		if (p == NULL || strstr(p, "/client-") == NULL)
			continue;
		p[strcspn(p, "\n")] = '\0';
		snprintf(path, n, "%s", p);
		fd = open(path, O_RDWR | O_CLOEXEC);
	}
	fclose(m);
	return fd;
}

/* The control socket libferry holds: our only SOCK_SEQPACKET socket. */
static int find_control_socket(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		int type;
		socklen_t len = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_SEQPACKET)
			return fd;
	}
	return -1;
}

/* One record of payload @p len at ring offset @p off; the length word goes
 * last (release), as a producer publishes. */
static void put_record(struct ferry_ring *r, uint64_t off, uint32_t session, uint32_t len)
{
	struct ferry_rec *rec = (struct ferry_rec *)(r->data + off);
	rec->type = FERRY_REC_DATA;
	rec->flags = 0;
	rec->session = session;
	rec->aux = 0;
	memset(rec + 1, 0x5a, len);
	atomic_store_explicit(&rec->len, FERRY_REC_HDR + len, memory_order_release);
}

/*
 * Lay one lap of records around the whole ring from offset @p start (where
 * ferryd reads next): large records of rec size @p big while they fit
 * before the end of the ring and a pass of READ_BUDGET records stays below
 * a ring, 32-byte ones (one byte of payload) elsewhere, 16-byte ones
 * (empty) to keep to 32-byte steps. @return the number of records, their
 * payload sizes in @p lap, in the order ferryd reads them.
 */
static unsigned lay_lap(struct ferry_ring *r, uint64_t start, uint32_t session, uint32_t big,
			uint32_t *lap)
{
	uint64_t cap = r->cap, o = start, left = cap;
	unsigned n = 0, nbig = 0, big_max = 0;
	while ((big_max + 1) * (uint64_t)big + (READ_BUDGET - big_max - 1) * 32ull <
		       cap - FERRY_REC_ALIGN && (big_max + 1) * (uint64_t)big < cap / 2 + big)
		big_max++;
	uint64_t tail16 = start % 32 ? 16 : 0; /* the lap ends on start again */
	uint32_t lens[LAP_MAX];
	uint64_t offs[LAP_MAX];
	if (start % 32) {
		offs[n] = o & r->mask, lens[n++] = 0;
		o += 16, left -= 16;
	}
	while (left > tail16 && n < LAP_MAX - 1) {
		uint64_t phys = o & r->mask, room = cap - phys;
		uint32_t len = 1, size = 32;
		if (nbig < big_max && big <= room && big <= left - tail16) {
			len = big - FERRY_REC_HDR;
			size = big;
			nbig++;
		}
		offs[n] = phys, lens[n++] = len;
		o += size, left -= size;
	}
	if (tail16) {
		offs[n] = o & r->mask, lens[n++] = 0;
		left -= 16;
	}
	if (left != 0)
		die("cannot lay a lap of records around a ring of %" PRIu64 " bytes", cap);
	/* the first record last: ferryd may be looking at it */
	for (unsigned i = n; i-- > 0;)
		put_record(r, offs[i], session, lens[i]);
	memcpy(lap, lens, n * sizeof(*lap));
	return n;
}

int main(int argc, char **argv)
{
	const char *host = NULL, *service = NULL, *sock = NULL;
	uint64_t size = 16000, pause_ms = 0;
	static const struct option lo[] = {
		{"host", 1, 0, 'H'},     {"service", 1, 0, 'S'}, {"size", 1, 0, 's'},
		{"pause-ms", 1, 0, 'p'}, {"socket", 1, 0, 'k'},  {"help", 0, 0, 'h'},
		{0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'H': host = optarg; break;
		case 'S': service = optarg; break;
		case 's': size = strtoull(optarg, NULL, 0); break;
		case 'p': pause_ms = strtoull(optarg, NULL, 0); break;
		case 'k': sock = optarg; break;
		case 'h':
			printf("usage: ferry-hangup-flood --host IPV4 --service NAME [--size BYTES] "
			       "[--pause-ms MS] [--socket PATH]\n");
			return 0;
		default:
			return 64;
		}
	}
	if (service == NULL || size < 64 || size > (1u << 30) || optind < argc) {
		fprintf(stderr, "ferry-hangup-flood: --service is required, --size 64..1G "
				"(see --help)\n");
		return 64;
	}

	ferry_opts_t o;
	ferry_opts_init(&o);
	o.socket_path = sock;
	o.name = "hangup-flood";
	ferry_t *f;
	int rc = ferry_open(&f, &o);
	if (rc < 0)
		die("ferry_open: %s (%s)", strerror(-rc), ferry_errmsg());
	if (size > ferry_max_message(f))
		size = ferry_max_message(f);
	ferry_session_t *s;
	ferry_event_t ev[32];
	if ((rc = ferry_connect(f, host, service, NULL, &s)) < 0)
		die("ferry_connect: %s (%s)", strerror(-rc), ferry_errmsg());
	for (uint64_t end = now_ms() + 10000;;) {
		int n = ferry_poll(f, ev, 32, 50);
		if (n < 0)
			die("ferry_poll: %s (%s)", strerror(-n), ferry_errmsg());
		int up = 0;
		for (int i = 0; i < n; i++) {
			if (ev[i].session == s && ev[i].type == FERRY_EV_SESSION_DOWN)
				die("session to %s went down: %s", service, ferry_reason_str(ev[i].status));
			up |= ev[i].session == s && ev[i].type == FERRY_EV_SESSION_UP;
		}
		if (up)
			break;
		if (now_ms() > end)
			die("no session to %s within 10 s", service);
	}
	fprintf(stderr, "up\n");
	for (uint64_t end = now_ms() + pause_ms; now_ms() < end;)
		if (ferry_poll(f, ev, 32, 10) < 0)
			die("ferry_poll: %s", ferry_errmsg());
	uint8_t *buf = calloc(1, size);
	if (buf == NULL)
		die("out of memory");

	/* fill ferryd's send buffer: it stops taking records from our ring */
	uint64_t sent = 0, blocked_since = 0;
	for (uint64_t end = now_ms() + 20000;;) {
		rc = ferry_send(s, buf, size, 0);
		if (rc == 0) {
			sent++;
			blocked_since = 0;
			continue;
		}
		if (rc != -EAGAIN)
			die("ferry_send: %s (%s)", strerror(-rc), ferry_errmsg());
		if (blocked_since == 0)
			blocked_since = now_ms();
		else if (now_ms() - blocked_since >= 300)
			break;
		if (now_ms() > end)
			die("ferry_send never blocked for long after %" PRIu64 " messages: is the "
			    "peer's reader stopped?", sent);
		if (ferry_poll(f, ev, 32, 5) < 0)
			die("ferry_poll while filling: %s", ferry_errmsg());
	}

	/* our own view of the command ring, from where ferryd reads next */
	char path[4096];
	int fd = open_own_ring_file(path, sizeof(path));
	void *map;
	uint64_t maplen;
	if (fd < 0 || ferry_shm_map_fd(fd, true, FERRY_SHM_MAGIC_CLIENT, &map, &maplen, NULL, 0) < 0)
		die("cannot map our ring file (%s)", fd < 0 ? "not found in /proc/self/maps" : path);
	close(fd);
	struct ferry_ring cmd;
	const struct ferry_shm_hdr *h = map;
	if (ferry_ring_attach(&cmd, map, maplen, &h->ring[0], false, UINT32_MAX) < 0)
		die("cannot attach to our command ring");
	int csock = find_control_socket();
	if (csock < 0)
		die("no control socket found");
	/* the messages ferryd has not taken yet: they are overwritten */
	uint64_t unread = 0;
	struct ferry_rec_view v;
	while (ferry_ring_peek(&cmd, &v) > 0)
		unread++;
	static uint32_t lap[LAP_MAX];
	uint32_t big = (uint32_t)(size + FERRY_REC_HDR) & ~31u;
	unsigned n = lay_lap(&cmd, FA_LOAD_ACQ(&cmd.ctl->head), ferry_session_id(s), big, lap);

	shutdown(csock, SHUT_RDWR);
	usleep(500000);
	printf("{\"sent\":%" PRIu64 ",\"unread\":%" PRIu64 ",\"ring_bytes\":%" PRIu64 ",\"lap\":[",
	       sent, unread, cmd.cap);
	for (unsigned i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", lap[i]);
	printf("]}\n");
	munmap(map, maplen);
	free(buf);
	ferry_close(f);
	return 0;
}
