/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target "status": the status-file reader behind ferry-stat
 * (client-lib/tools/status_map.c) on a status file whose every byte the
 * input gives, mapped read-only as ferry-stat maps it.
 *
 * Input: u8 filter length (255: no filter), the filter, then the file.
 * The file is a memfd opened by its /proc/self/fd path, as ferry-stat
 * opens <shm_dir>/status.
 *
 * Checked: smap_open() either fails with a reason and leaves nothing
 * mapped or open, or maps the whole file and believes no more counter
 * slots than fit in it; smap_snapshot() returns at most that many rows,
 * each an active slot matching the filter, read once (distinct slots),
 * with a NUL-terminated label equal to the slot's (cut to fit) and its
 * value and type, sorted by group, and exactly as many as the file has; the daemon view's version is
 * NUL-terminated. The part of the mapping's last page beyond the file is
 * poisoned for ASan, so a read past the file's end is reported even where
 * the page is mapped.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "status.h"
#include "status_map.h"

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#endif

#define NO_FILTER 255
#define PAGE 4096u
#define MAX_FILE (1u << 20)

static int g_fd = -1;

static void check_closed(const struct smap *m)
{
	FUZZ_CHECK(m->base == NULL && m->fd == -1 && m->rows == NULL && m->prev == NULL,
		   "a failed open left the file mapped or open");
}

static void check_snapshot(const struct smap *m, const char *filter, uint32_t k)
{
	static uint8_t used[MAX_FILE / sizeof(struct ferry_counter)];
	uint32_t expect = 0;

	FUZZ_CHECK(k <= m->n, "%u rows from %u slots", k, m->n);
	for (uint32_t i = 0; i < m->n; i++) {
		const struct ferry_counter *c = &m->ctr[i];
		char label[SMAP_LABEL_MAX];
		memcpy(label, c->label, sizeof(label));
		label[sizeof(label) - 1] = '\0';
		if (atomic_load(&c->state) == FERRY_COUNTER_ACTIVE && (!filter || strstr(label, filter)))
			expect++;
		used[i] = 0;
	}
	FUZZ_CHECK(k == expect, "%u rows for %u matching active counters", k, expect);
	for (uint32_t i = 0; i < k; i++) {
		const struct row *r = &m->rows[i];
		FUZZ_CHECK(r->slot < m->n && !used[r->slot], "row %u: slot %u (of %u) twice or out of range",
			   i, r->slot, m->n);
		used[r->slot] = 1;
		size_t n = strnlen(r->label, sizeof(r->label));
		FUZZ_CHECK(n < sizeof(r->label), "row %u: label not terminated", i);
		const struct ferry_counter *c = &m->ctr[r->slot];
		FUZZ_CHECK(memcmp(r->label, c->label, n) == 0 && (n == sizeof(r->label) - 1 || !c->label[n]),
			   "row %u: label is not slot %u's", i, r->slot);
		FUZZ_CHECK(r->value == atomic_load(&c->value) && r->type == c->type,
			   "row %u: value or type is not slot %u's", i, r->slot);
		FUZZ_CHECK(!filter || strstr(r->label, filter), "row %u does not match the filter", i);
		FUZZ_CHECK(r->group >= 0 && (i == 0 || m->rows[i - 1].group <= r->group),
			   "row %u: group %d out of order", i, r->group);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	char filter[256], why[PATH_MAX + 256];
	size_t got;

	uint8_t flen = fuzz_u8(&in);
	if (size > MAX_FILE)
		return -1;
	const uint8_t *f = fuzz_bytes(&in, flen == NO_FILTER ? 0 : flen, &got);
	memcpy(filter, f, got);
	filter[got] = '\0';
	if (g_fd < 0)
		g_fd = memfd_create("status", MFD_CLOEXEC);
	FUZZ_CHECK(g_fd >= 0 && ftruncate(g_fd, 0) == 0 && ftruncate(g_fd, (off_t)in.n) == 0 &&
			   pwrite(g_fd, in.p, in.n, 0) == (ssize_t)in.n,
		   "cannot fill the memfd: %s", strerror(errno));

	struct smap m = {.fd = -1};
	snprintf(m.path, sizeof(m.path), "/proc/self/fd/%d", g_fd);
	why[0] = '\0';
	int rc = smap_open(&m, "/proc/self/fd", why, sizeof(why));
	if (rc < 0) {
		FUZZ_CHECK(rc == -EAGAIN || rc == -EPROTO || rc == -EPROTONOSUPPORT || rc == -ENOMEM,
			   "smap_open: %d (%s)", rc, why);
		FUZZ_CHECK(why[0] && strnlen(why, sizeof(why)) < sizeof(why), "no reason given");
		check_closed(&m);
		return 0;
	}
	FUZZ_CHECK(m.len == in.n && m.fd >= 0 && m.base != NULL && m.rows != NULL,
		   "mapped %llu of %zu bytes", (unsigned long long)m.len, in.n);
	FUZZ_CHECK(m.n <= m.d->counter_max &&
			   FERRY_STATUS_COUNTERS_OFF + (uint64_t)m.n * sizeof(struct ferry_counter) <= m.len,
		   "%u counter slots believed in %llu bytes (file says %u)", m.n,
		   (unsigned long long)m.len, m.d->counter_max);
	FUZZ_CHECK((const uint8_t *)m.ctr == (const uint8_t *)m.base + FERRY_STATUS_COUNTERS_OFF,
		   "counters not where the layout puts them");

	/* No read may go past the file, even inside its last page. */
	uint8_t *end = (uint8_t *)m.base + m.len;
	size_t tail = (PAGE - m.len % PAGE) % PAGE;
	ASAN_POISON_MEMORY_REGION(end, tail);

	const char *flt = flen == NO_FILTER ? NULL : filter;
	check_snapshot(&m, flt, smap_snapshot(&m, flt));
	check_snapshot(&m, NULL, smap_snapshot(&m, NULL));
	struct smap_daemon v;
	smap_daemon_view(&m, &v);
	FUZZ_CHECK(strnlen(v.version, sizeof(v.version)) < sizeof(v.version) && v.pid == m.d->pid,
		   "daemon view not terminated or not the file's");
	FUZZ_CHECK(!v.running || (v.pid > 0 && v.pid <= INT_MAX), "pid %u running", v.pid);
	FUZZ_CHECK(!smap_replaced(&m), "the same file looks replaced");

	ASAN_UNPOISON_MEMORY_REGION(end, tail);
	smap_close(&m);
	check_closed(&m);
	return 0;
}

/* ---- seeds: status files as ferryd writes them ---------------------------- */

static void emit_file(fuzz_emit_fn *emit, const char *name, const char *filter,
		      const struct fstatus *s, size_t len)
{
	static struct fuzz_out o;
	o.n = 0;
	fuzz_put8(&o, filter ? (uint8_t)strlen(filter) : NO_FILTER);
	if (filter)
		fuzz_put(&o, filter, strlen(filter));
	fuzz_put(&o, s->map, len < s->len ? len : s->len);
	emit(name, o.buf, o.n);
}

void fuzz_seeds(fuzz_emit_fn *emit)
{
	char dir[] = "/tmp/ferry-fuzz-status.XXXXXX";
	struct fstatus s;

	FUZZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	FUZZ_CHECK(fstatus_create(&s, dir, 64, (uid_t)-1, (gid_t)-1) == 0, "fstatus_create");
	static const char *const labels[] = {
		"daemon.clients_attached", "daemon.commands", "port.rx_packets", "port.tx_packets",
		"net.udp", "net.arp_request", "drop.ipv4_bad_checksum", "drop.udp_wrong_port",
		"arp.arp_requests_sent", "remote.tx_retransmits", "session.12.srtt_ns",
		"session.12.cwnd_milli", "session.3.retransmits",
	};
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		fctr_set(fstatus_counter(&s, i < 1 ? FERRY_CTR_GAUGE : FERRY_CTR_COUNT, 0, "%s",
					 labels[i]),
			 1000 * i + 7);
	/* client names are the client's choice: quotes, controls, UTF-8,
	 * an invalid byte, and a label as long as the slot holds */
	struct ferry_counter *gone = fstatus_counter(&s, FERRY_CTR_COUNT, 9, "client.9.gone.commands");
	fctr_set(fstatus_counter(&s, FERRY_CTR_COUNT, 7, "client.7.%s.commands",
				 "we\"ird\\\x01\x1b[2J\xc3\xa9\xff"),
		 UINT64_MAX);
	fctr_set(fstatus_counter(&s, FERRY_CTR_COUNT, 12, "client.12.%0120d", 12), 5);
	fstatus_counter_free(&s, gone);

	emit_file(emit, "daemon-status", NULL, &s, s.len);
	emit_file(emit, "filter-client", "client.", &s, s.len);
	emit_file(emit, "filter-empty", "", &s, s.len);
	/* cut short: the header says 64 counters, three fit */
	emit_file(emit, "truncated", "session", &s,
		  FERRY_STATUS_COUNTERS_OFF + 3 * sizeof(struct ferry_counter) + 40);
	fstatus_destroy(&s);
	rmdir(dir);
}
