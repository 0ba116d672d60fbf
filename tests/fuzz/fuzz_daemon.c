/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon under test (fuzz_daemon.h): setting it up and tearing it
 * down, the loop pass, and the checks of the engine, the client edge and
 * the status file. The clients are in fuzz_clients.c, the virtual peers in
 * fuzz_vpeer.c, the link in fuzz_link.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core_pvt.h"
#include "ferry.h"
#include "fuzz_daemon.h"
#include "guard.h"
#include "log.h"

struct fd fd;

const char *const fd_services[FD_SERVICES] = {"echo", "svc", "b", "far"};

/* Events a client may leave unread in ferryd's memory (clients.c). */
#define PENDING_MAX 4096
#define SEC 1000000000ull
#define MS 1000000ull
#define US 1000ull

/* ---- the engine's sources: random, counters ----------------------------- */

static uint32_t fd_random(void *arg)
{
	(void)arg;
	uint64_t z = (fd.rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)(z ^ (z >> 31));
}

static struct ferry_counter *stats_alloc(void *arg, uint32_t type, uint32_t owner,
					 const char *label)
{
	return fstatus_counter(arg, type, owner, "%s", label);
}

static void stats_free(void *arg, struct ferry_counter *c)
{
	fstatus_counter_free(arg, c);
}

/* ---- setting up --------------------------------------------------------- */

static void once(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	/* quiet unless asked: a log line per attach would be most of the run */
	const char *lv = getenv("FERRY_FUZZ_LOG");
	flog_init(lv ? atoi(lv) : FLOG_ERR - 1);
	/* ferryd's SIGBUS guard: a client that shrinks its ring file */
	FUZZ_CHECK(guard_init() == 0, "guard_init: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
}

void fd_begin(uint8_t seed, uint8_t knobs, bool auto_peer)
{
	static char no_socket[] = "(none: clients come over socketpairs)";
	static const uint32_t mtus[4] = {1472, 512, 160, FD_PKT_MAX};
	once();
	memset(&fd, 0, sizeof(fd));
	int t = open("/dev/null", O_RDONLY | O_CLOEXEC);
	FUZZ_CHECK(t >= 0, "open /dev/null: %s", strerror(errno));
	fd.lowest_fd = t;
	close(t);
	fd.rng = 0x5eed000000000000ull + seed;
	fd.now = SEC;
	fd.auto_peer = auto_peer;
	fd.tx_check_all = !auto_peer;
	fd.mtu = mtus[knobs & FDK_MTU_MASK];
	for (int h = 0; h < FD_HOSTS; h++)
		fd.host_inc[h] = 0x1c0de000u + (uint32_t)h;
	snprintf(fd.dir, sizeof(fd.dir), "/dev/shm/ferry-fuzz.XXXXXX");
	FUZZ_CHECK(mkdtemp(fd.dir) != NULL, "mkdtemp: %s", strerror(errno));

	struct ferry_config *cfg = &fd.cfg;
	cfg->ipc_shm_dir = fd.dir;
	cfg->ipc_socket = no_socket;
	cfg->ipc_client_ring_size = 65536;
	cfg->ipc_session_ring_size = 65536;
	cfg->ipc_max_message_size = knobs & FDK_SMALL_MSG ? 1024 : 16384;
	cfg->limits_max_clients = FD_CLIENTS;
	fd.privs.file_uid = (uid_t)-1;
	fd.privs.file_gid = (gid_t)-1;
	bool small = knobs & FDK_LIMITS, fast = knobs & FDK_FAST;
	uint32_t max_sessions = small ? 8 : 64;
	/* room for every counter: the file hands out a dummy when full, and
	 * the checks count counters */
	FUZZ_CHECK(fstatus_create(&fd.st, fd.dir, 160 + 4 * FD_CLIENTS + 5 * max_sessions, (uid_t)-1,
				  (gid_t)-1) == 0,
		   "cannot create the status file in %s", fd.dir);
	fd.epfd = epoll_create1(EPOLL_CLOEXEC);
	FUZZ_CHECK(fd.epfd >= 0, "epoll_create1: %s", strerror(errno));
	FUZZ_CHECK(clients_create(&fd.edge, cfg, fd.epfd, &fd.st, &fd.privs) == 0, "clients_create");

	struct fcore_params p = {
		.local_ip = FD_LOCAL_IP,
		.local_prefix_len = 24,
		.udp_port = FD_PORT,
		.flow_port_first = FD_PORT,
		.flow_port_count = knobs & FDK_FLOWS ? 4 : 1,
		.max_sessions = max_sessions,
		.max_sessions_per_client = small ? 4 : 32,
		.max_listens_per_client = small ? 2 : 16,
		.max_half_open_per_peer = small ? 2 : 128,
		.max_message = (uint32_t)cfg->ipc_max_message_size,
		.client_ring_size = (uint64_t)cfg->ipc_client_ring_size,
		.open_timeout_ns = fast ? 50 * MS : 3 * SEC,
		.keepalive_ns = fast ? 20 * MS : 1 * SEC,
		.peer_timeout_ns = fast ? 100 * MS : 5 * SEC,
		.ack_delay_ns = 50 * US,
		.rto_min_ns = 200 * US,
		.rto_max_ns = fast ? 20 * MS : 200 * MS,
		.cc_target_ns = 100 * US,
		.cc_min_cwnd = fast ? 0.25 : 1.0,
		.random32 = fd_random,
	};
	if (knobs & FDK_ALLOWED) {
		fd.allowed = (struct fcore_cidr){.addr = FD_LOCAL_IP & ~0xffu, .prefix_len = 24};
		p.allowed_peers = &fd.allowed;
		p.n_allowed_peers = 1;
	}
	struct fcore_client_ops cops;
	struct fcore_link_ops lops;
	struct fcore_stats_ops sops = {.arg = &fd.st, .alloc = stats_alloc, .free = stats_free};
	clients_core_ops(fd.edge, &cops);
	fd_link_ops(&lops);
	FUZZ_CHECK(fcore_create(&fd.core, &p, &cops, &lops, &sops, fd.now) == 0, "fcore_create");
	clients_set_core(fd.edge, fd.core);
}

/* ---- the loop ----------------------------------------------------------- */

static void set_now(void)
{
	fcore_set_now(fd.core, fd.now);
	clients_set_now(fd.edge, fd.now);
}

/* main.c's handle_io(), without waiting. */
static void handle_io(void)
{
	struct epoll_event ev[64];
	int n = epoll_wait(fd.epfd, ev, 64, 0);
	for (int i = 0; i < n; i++)
		if ((ev[i].data.u64 & CLIENTS_TAG_MASK) < CLIENTS_TAG_OTHER)
			clients_event(fd.edge, ev[i].data.u64, ev[i].events);
}

struct fclient *fd_edge_client(uint32_t id)
{
	if (fd.edge == NULL)
		return NULL;
	for (uint32_t i = 0; i < fd.edge->n; i++)
		if (fd.edge->v[i]->id == id)
			return fd.edge->v[i];
	return NULL;
}

/* Before the safe point: how far the edge read each command ring, and
 * who it is about to reclaim, and why (the record is freed after). */
static void note_marked(void)
{
	for (int i = 0; i < FD_CLIENTS; i++) {
		struct fd_client *c = &fd.cl[i];
		struct fclient *ec = c->used ? fd_edge_client(c->id) : NULL;
		if (ec == NULL)
			continue;
		c->edge_pos = ec->cmd.pos;
		if (ec->dying && !c->marked) {
			c->marked = true;
			c->marked_reason = ec->why_reason;
			snprintf(c->marked_why, sizeof(c->marked_why), "%s", ec->why);
		}
	}
}

static void check_all(void);

void fd_pass(void)
{
	fd.passes++;
	if (flog_enabled(FLOG_DEBUG))
		fprintf(stderr, "pass at %llu ns\n", (unsigned long long)fd.now);
	for (int round = 0;; round++) {
		set_now();
		clients_poll(fd.edge);
		fcore_poll(fd.core);
		handle_io();
		clients_flush(fd.edge);
		note_marked();
		/* the safe point: nothing up the stack holds a client */
		clients_reap(fd.edge);
		fd_clients_turn();
		if (fd.after_pass)
			fd.after_pass();
		/* a well-behaved peer answers at once; so does the next pass */
		if (round == 7 || !fd_answer())
			break;
	}
	check_all();
}

void fd_time(uint64_t ns)
{
	fd.now += ns;
	fd_pass();
}

void fd_run_for(uint64_t ns, unsigned max_steps)
{
	uint64_t end = fd.now + ns;
	for (unsigned i = 0; i < max_steps && fd.now < end && fd.passes < FD_PASSES; i++) {
		int64_t t = fcore_next_timer(fd.core);
		uint64_t step = t < 0 || (uint64_t)t > end - fd.now ? end - fd.now : (uint64_t)t;
		fd_time(step ? step : 1);
	}
}

uint64_t fd_time_arg(struct fuzz_in *in)
{
	uint16_t v = fuzz_u16(in);
	return ((uint64_t)(v & 0x3ff) + 1) * US << ((v >> 10) % 24);
}

/* ---- the checks --------------------------------------------------------- */

static uint32_t live_remote_sessions(void)
{
	uint32_t n = 0;
	const struct fmap *m = &fd.core->sessions;
	for (uint32_t i = 0; i <= m->mask; i++)
		if (m->s[i].key && ((const struct fsession *)m->s[i].val)->remote)
			n++;
	return n;
}

/* Whether @p label is "<prefix><id>.", and the id. */
static bool label_id(const char *label, const char *prefix, uint32_t *id)
{
	size_t n = strlen(prefix);
	if (strncmp(label, prefix, n) != 0)
		return false;
	char *end;
	unsigned long v = strtoul(label + n, &end, 10);
	*id = (uint32_t)v;
	return end != label + n && *end == '.';
}

/* The status file holds the counters of live clients and live remote
 * sessions only, and the gauges say what is. */
static void check_status(void)
{
	uint32_t sess = 0;
	for (uint32_t i = 0; i < fd.st.max; i++) {
		const struct ferry_counter *k = &fd.st.ctr[i];
		uint32_t id;
		if (FA_LOAD_RLX(&k->state) != FERRY_COUNTER_ACTIVE)
			continue;
		if (label_id(k->label, "client.", &id)) {
			const struct fclient *ec = fd_edge_client(id);
			FUZZ_CHECK(ec && ec->state == FCLIENT_ATTACHED, "counter %s of no client",
				   k->label);
		} else if (label_id(k->label, "session.", &id)) {
			const struct fsession *s = fmap_get(&fd.core->sessions, id);
			FUZZ_CHECK(s && s->remote && !s->dead, "counter %s of no live remote session",
				   k->label);
			sess++;
		}
	}
	FUZZ_CHECK(sess == 5 * live_remote_sessions(), "%u session counters for %u remote sessions",
		   sess, live_remote_sessions());
	FUZZ_CHECK(fd.edge->c_clients->value == fd.edge->n, "daemon.clients says %llu, %u attached",
		   (unsigned long long)fd.edge->c_clients->value, fd.edge->n);
	FUZZ_CHECK(fd.edge->c_reclaimed->value == fd.reclaimed,
		   "daemon.clients_reclaimed says %llu, %llu were",
		   (unsigned long long)fd.edge->c_reclaimed->value, (unsigned long long)fd.reclaimed);
	FUZZ_CHECK(fd.core->c_sessions->value == fcore_sessions(fd.core),
		   "daemon.sessions says %llu, %u live",
		   (unsigned long long)fd.core->c_sessions->value, fcore_sessions(fd.core));
}

static void check_all(void)
{
	char why[256];
	FUZZ_CHECK(fcore_busy(fd.core) == 0, "the engine is still inside a call");
	FUZZ_CHECK(fcore_check(fd.core, why, sizeof(why)) == 0, "engine: %s", why);
	FUZZ_CHECK(TAILQ_EMPTY(&fd.edge->dying) && TAILQ_EMPTY(&fd.edge->graves),
		   "clients left to reclaim after the safe point");
	for (uint32_t i = 0; i < fd.edge->n; i++) {
		const struct fclient *ec = fd.edge->v[i];
		FUZZ_CHECK(!ec->dying && !ec->reclaimed && ec->pend_n <= PENDING_MAX,
			   "client %u: dying %d reclaimed %d, %u events queued", ec->id, ec->dying,
			   ec->reclaimed, ec->pend_n);
		FUZZ_CHECK(ec->state == FCLIENT_ATTACHED || ec->core.id == 0,
			   "client %u known to the engine before it attached", ec->id);
		bool ours = false;
		for (int k = 0; k < FD_CLIENTS; k++)
			ours |= fd.cl[k].used && fd.cl[k].id == ec->id;
		FUZZ_CHECK(ours, "the edge lists client %u, which is gone", ec->id);
	}
	for (int k = 0; k < FD_CLIENTS; k++)
		if (fd.cl[k].used)
			FUZZ_CHECK(fd_edge_client(fd.cl[k].id) != NULL,
				   "client %u lost without a hang-up on its socket", fd.cl[k].id);
	check_status();
}

/* ---- the end ------------------------------------------------------------ */

/* main.c's drain(): every session ends, clients read what they are told. */
static void drain(void)
{
	set_now();
	fcore_shutdown(fd.core);
	FUZZ_CHECK(fcore_sessions(fd.core) == 0, "%u sessions outlive the shutdown",
		   fcore_sessions(fd.core));
	for (int i = 0; i < 64 && !clients_drained(fd.edge); i++) {
		clients_flush(fd.edge);
		handle_io();
		clients_flush(fd.edge);
		clients_reap(fd.edge);
		fd_clients_turn();
	}
	check_all();
	/* a client that read everything, and whose commands were all read,
	 * holds no live session (commands left in a ring when ferryd stops
	 * are never answered: libferry ends what they opened itself) */
	for (int k = 0; k < FD_CLIENTS; k++) {
		const struct fd_client *c = &fd.cl[k];
		if (!c->used || !c->attached || !c->reading || c->hostile || c->lenient ||
		    c->tampered || !clients_drained(fd.edge) || c->cmd.pos != c->edge_pos)
			continue;
		for (int i = 0; i < FD_CSESS; i++)
			FUZZ_CHECK(c->s[i].state == 0 || c->s[i].state == CS_CLOSED,
				   "client %u: session %u (cookie %u, state %d) not told it ended",
				   c->id, c->s[i].id, c->s[i].cookie, c->s[i].state);
	}
}

/* With FERRY_FUZZ_LOG=7: what an input reached, for writing seeds. */
static void summary(void)
{
	if (!flog_enabled(FLOG_DEBUG))
		return;
	for (int i = 0; i < FD_VSESS; i++) {
		const struct fd_vsess *v = &fd.vs[i];
		if (v->state != VS_FREE)
			fprintf(stderr, "  peer session %u/%u state %d%s%s: got %u of %u messages, sent "
					"%llu bytes; its client sent %u, %u arrived\n",
				v->us, v->them, v->state, v->learned ? " learned" : "",
				v->forged ? " forged" : "", v->exp.head, v->exp.tail,
				(unsigned long long)v->off, v->tx.tail, v->tx.head);
	}
	const struct fmap *m = &fd.core->sessions;
	for (uint32_t i = 0; i <= m->mask; i++) {
		const struct fsession *e = m->s[i].val;
		if (m->s[i].key)
			fprintf(stderr, "  engine session %u state %d%s, %llu bytes held\n", e->id,
				e->state, e->remote ? " remote" : "",
				(unsigned long long)(e->t ? e->t->held_bytes : 0));
	}
	for (uint32_t i = 0; i < fd.st.max; i++) {
		const struct ferry_counter *k = &fd.st.ctr[i];
		if (FA_LOAD_RLX(&k->state) == FERRY_COUNTER_ACTIVE && k->value &&
		    strncmp(k->label, "session.", 8) != 0)
			fprintf(stderr, "  %s = %llu\n", k->label, (unsigned long long)k->value);
	}
}

void fd_end(bool shutdown)
{
	summary();
	if (shutdown)
		drain();
	fd.ending = true;
	clients_destroy(fd.edge, FERRY_REASON_SHUTDOWN);
	fd.edge = NULL;
	fd_clients_end();
	fcore_destroy(fd.core);
	fd.core = NULL;
	/* what is left is the edge's own daemon-wide counters */
	uint32_t left = 0;
	for (uint32_t i = 0; i < fd.st.max; i++) {
		const struct ferry_counter *k = &fd.st.ctr[i];
		if (FA_LOAD_RLX(&k->state) != FERRY_COUNTER_ACTIVE)
			continue;
		FUZZ_CHECK(strncmp(k->label, "daemon.clients", 14) == 0 ||
				   strcmp(k->label, "daemon.commands") == 0 ||
				   strcmp(k->label, "daemon.events_queued") == 0,
			   "counter %s outlives its owner", k->label);
		left++;
	}
	FUZZ_CHECK(left == 7, "%u daemon-wide counters left, the edge has 7", left);
	fstatus_destroy(&fd.st);
	close(fd.epfd);
	if (rmdir(fd.dir) != 0) {
		DIR *d = opendir(fd.dir);
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.')
				fprintf(stderr, "left in %s: %s\n", fd.dir, e->d_name);
		FUZZ_CHECK(0, "files left in %s", fd.dir);
	}
	free(fd.answers);
	fd.answers = NULL;
	fd_vsess_fini();
	int t = open("/dev/null", O_RDONLY | O_CLOEXEC);
	FUZZ_CHECK(t == fd.lowest_fd, "a descriptor leaked (lowest free %d, was %d)", t,
		   fd.lowest_fd);
	close(t);
}

