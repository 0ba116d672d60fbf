/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferryd: start-up, wiring the edges to the core, the main loop, shutdown.
 *
 *   core/      the protocol engine: no I/O (core.h)
 *   clients/   the client edge: control socket, rings, privileges
 *   nic/       the NIC edge: EAL, the port, the IPv4 host, telemetry
 *   obs/       the status file, the log, sd-notify
 *
 * One thread runs everything. Each pass of the loop drains client command
 * rings, polls the NIC, lets the core send and run its due timers, looks
 * at the control sockets, and at its end reaches the safe point where
 * clients marked for reclaim are reclaimed and freed. When a pass finds no
 * work the idle strategy decides what happens next: keep polling, yield
 * the CPU, or (backoff, interrupt) spin, then yield, then sleep in epoll
 * until a client rings its daemon wake, a socket needs attention, the NIC
 * raises a receive interrupt or a timer is due. An idle daemon wakes only
 * for its tick (heartbeat, STATUS=, watchdog: once a second, or every half
 * watchdog period), and, with a NIC that has no receive interrupts (or
 * idle.strategy = backoff), every idle.sleep_us to poll it.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "clients.h"
#include "core.h"
#include "ferry.h"
#include "ferry_build.h"
#include "guard.h"
#include "keys.h"
#include "log.h"
#include "nic.h"
#include "notify.h"
#include "status.h"
#include "telemetry.h"

extern char **environ;

/* Exit codes: 78 (EX_CONFIG) tells systemd not to restart in a loop. */
#define EXIT_CONFIG 78
#define EXIT_SETUP 1

static_assert((int)FERRY_SEC_NONE == FCORE_SEC_NONE &&
		      (int)FERRY_SEC_AUTHENTICATE == FCORE_SEC_AUTHENTICATE &&
		      (int)FERRY_SEC_ENCRYPT == FCORE_SEC_ENCRYPT,
	      "security.mode's values are the core's");

/* How often a busy loop still looks at sockets and timers. */
#define IO_CHECK_NS 50000ull
/* How often the heartbeat and STATUS= are refreshed. */
#define TICK_NS 1000000000ull
/* The NIC's receive interrupts in the loop's epoll (nic_wake_fd()). */
#define TAG_NIC CLIENTS_TAG_OTHER

/* The process: configuration, the edges, the core, and the loop's own. */
struct ferryd {
	const struct ferry_config *cfg;
	int epfd;
	struct fstatus st;
	struct fprivs privs;
	struct fclients *clients;
	struct fnic *nic;     /* NULL in local mode (no net.address) */
	struct fcore *core;
	struct fcore_cidr *allowed; /* net.allowed_peers, parsed */
	struct fcore_peer_mtu *peer_mtus; /* net.peer_mtus, parsed */
	uint8_t key[32];      /* security.private_key_file, until the core has it */
	struct fcore_trusted *trusted; /* security.trusted_peers, parsed */
	uint32_t n_trusted;
	uint32_t rnd[64];     /* getrandom() output not yet used */
	unsigned n_rnd;
	struct ferry_counter *loop_sleeps;
};

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
	g_stop = sig;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Signals are blocked except while the loop waits in epoll_pwait2(), so a
 * SIGTERM can never slip in between checking g_stop and going to sleep. */
static sigset_t g_waitmask;

static int setup_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, &g_waitmask) < 0)
		return -errno;
	sigdelset(&g_waitmask, SIGTERM);
	sigdelset(&g_waitmask, SIGINT);
	return 0;
}

/* Remove what a previous ferryd left in our shm directory. Only our own
 * file names, so a mistyped ipc.shm_dir cannot empty someone's folder. */
static void clean_stale(const char *dir)
{
	DIR *dp = opendir(dir);
	if (dp == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(dp)) != NULL) {
		if (strncmp(e->d_name, "client-", 7) == 0 || strcmp(e->d_name, "status") == 0) {
			if (unlinkat(dirfd(dp), e->d_name, 0) == 0)
				LOG_I("removed stale %s/%s", dir, e->d_name);
		}
	}
	closedir(dp);
}

static unsigned handle_io(struct ferryd *d, int64_t timeout_ns)
{
	struct epoll_event evs[64];
	struct timespec ts = {0, 0}, *tsp = &ts;
	if (timeout_ns < 0)
		tsp = NULL;
	else if (timeout_ns > 0)
		ts = (struct timespec){(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)};
	int n = epoll_pwait2(d->epfd, evs, 64, tsp, &g_waitmask);
	if (n <= 0)
		return 0;
	unsigned work = 0;
	for (int i = 0; i < n; i++) {
		/* the NIC's interrupt is not work here: the next pass polls
		 * the port, and the frames it finds are */
		if ((evs[i].data.u64 & CLIENTS_TAG_MASK) < CLIENTS_TAG_OTHER) {
			clients_event(d->clients, evs[i].data.u64, evs[i].events);
			work++;
		}
	}
	return work;
}

/* ---- the core's wiring ------------------------------------------------- */

static uint32_t random32(void *arg)
{
	struct ferryd *d = arg;
	if (d->n_rnd == 0) {
		/* blocks only until the kernel's pool is first initialised */
		ssize_t got = getrandom(d->rnd, sizeof(d->rnd), 0);
		if (got != (ssize_t)sizeof(d->rnd)) {
			LOG_E("getrandom: %s", got < 0 ? strerror(errno) : "short read");
			abort(); /* ids would be predictable: never run on */
		}
		d->n_rnd = sizeof(d->rnd) / sizeof(d->rnd[0]);
	}
	/* a value handed out is not kept: some become handshake keys
	 * (ephemeral X25519), which must not outlive their handshake */
	uint32_t r = d->rnd[--d->n_rnd];
	d->rnd[d->n_rnd] = 0;
	return r;
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

/* Local mode: no link; the core sends nothing without net.address. */
static int no_send(void *arg, uint32_t ip, uint16_t sport, uint16_t dport, const void *hdr,
		   uint16_t hlen, const void *p1, uint32_t l1, const void *p2, uint32_t l2)
{
	(void)arg, (void)ip, (void)sport, (void)dport, (void)hdr, (void)hlen;
	(void)p1, (void)l1, (void)p2, (void)l2;
	return -ENETDOWN;
}

static uint32_t no_payload(void *arg, uint32_t ip)
{
	(void)arg, (void)ip;
	return 0;
}

/* net.allowed_peers: the settings rules checked every entry already. */
static int parse_allowed(struct ferryd *d, struct fcore_params *p)
{
	const struct ferry_strlist *l = &d->cfg->net_allowed_peers;
	if (l->n == 0)
		return 0;
	d->allowed = calloc((size_t)l->n, sizeof(*d->allowed));
	if (d->allowed == NULL)
		return -1;
	for (int i = 0; i < l->n; i++) {
		if (ferry_config_parse_cidr(l->v[i], &d->allowed[i].addr,
					    &d->allowed[i].prefix_len) != 0) {
			LOG_E("net.allowed_peers: \"%s\" is not a.b.c.d/len", l->v[i]);
			return -1;
		}
	}
	p->allowed_peers = d->allowed;
	p->n_allowed_peers = (uint32_t)l->n;
	return 0;
}

/* net.peer_mtus: the settings rules checked every entry already. */
static int parse_peer_mtus(struct ferryd *d, struct fcore_params *p)
{
	const struct ferry_strlist *l = &d->cfg->net_peer_mtus;
	if (l->n == 0)
		return 0;
	d->peer_mtus = calloc((size_t)l->n, sizeof(*d->peer_mtus));
	if (d->peer_mtus == NULL)
		return -1;
	for (int i = 0; i < l->n; i++) {
		struct fcore_peer_mtu *e = &d->peer_mtus[i];
		if (ferry_config_parse_peer_mtu(l->v[i], &e->addr, &e->prefix_len, &e->mtu) != 0) {
			LOG_E("net.peer_mtus: \"%s\" is not \"a.b.c.d/len MTU\"", l->v[i]);
			return -1;
		}
	}
	p->peer_mtus = d->peer_mtus;
	p->n_peer_mtus = (uint32_t)l->n;
	return 0;
}

/* A router said a packet of ours did not fit (the NIC checked the quote). */
static void on_frag_needed(void *arg, uint32_t peer_ip, uint16_t peer_port, uint16_t our_port,
			   uint16_t mtu)
{
	struct ferryd *d = arg;
	fcore_path_mtu(d->core, peer_ip, peer_port, our_port, mtu);
}

static int make_core(struct ferryd *d)
{
	const struct ferry_config *cfg = d->cfg;
	struct fcore_params p = {
		.local_ip = cfg->net_address.set ? cfg->net_address.addr : 0,
		.local_prefix_len = cfg->net_address.prefix_len,
		.udp_port = (uint16_t)cfg->net_udp_port,
		.flow_port_first = (uint16_t)cfg->net_udp_port,
		.flow_port_count = (uint16_t)cfg->net_udp_port_count,
		.max_sessions = (uint32_t)cfg->limits_max_sessions,
		.max_sessions_per_client = (uint32_t)cfg->limits_max_sessions_per_client,
		.max_listens_per_client = (uint32_t)cfg->limits_max_listens_per_client,
		.max_half_open_per_peer = (uint32_t)cfg->limits_max_half_open_per_peer,
		.max_message = (uint32_t)cfg->ipc_max_message_size,
		.client_ring_size = (uint64_t)cfg->ipc_client_ring_size,
		.open_timeout_ns = (uint64_t)cfg->transport_open_timeout_ms * 1000000ull,
		.keepalive_ns = (uint64_t)cfg->transport_keepalive_ms * 1000000ull,
		.peer_timeout_ns = (uint64_t)cfg->transport_peer_timeout_ms * 1000000ull,
		.ack_delay_ns = (uint64_t)cfg->transport_ack_delay_us * 1000ull,
		.rto_min_ns = (uint64_t)cfg->transport_rto_min_us * 1000ull,
		.rto_max_ns = (uint64_t)cfg->transport_rto_max_us * 1000ull,
		.cc_target_ns = (uint64_t)cfg->transport_cc_target_delay_us * 1000ull,
		.cc_min_cwnd = cfg->transport_cc_min_cwnd,
		.random32 = random32,
		.random_arg = d,
		.sec_mode = (enum fcore_sec_mode)cfg->security_mode,
		.trusted = d->trusted,
		.n_trusted = d->n_trusted,
		.wall_offset_ns = (int64_t)(real_ns() - mono_ns()),
	};
	memcpy(p.sec_private_key, d->key, sizeof(d->key));
	sodium_memzero(d->key, sizeof(d->key)); /* the core keeps its own copy */
	if (parse_allowed(d, &p) < 0 || parse_peer_mtus(d, &p) < 0)
		return -1;
	struct fcore_client_ops cops;
	struct fcore_link_ops lops = {.send = no_send, .max_payload = no_payload};
	struct fcore_stats_ops sops = {.arg = &d->st, .alloc = stats_alloc, .free = stats_free};
	clients_core_ops(d->clients, &cops);
	if (d->nic)
		nic_link_ops(d->nic, &lops);
	int rc = fcore_create(&d->core, &p, &cops, &lops, &sops, mono_ns());
	sodium_memzero(p.sec_private_key, sizeof(p.sec_private_key));
	if (rc < 0) {
		LOG_E("cannot create the protocol engine: %s", strerror(-rc));
		return -1;
	}
	clients_set_core(d->clients, d->core);
	if (d->nic) {
		nic_set_core(d->nic, d->core);
		nic_set_ops(d->nic, &(struct nic_ops){.arg = d, .frag_needed = on_frag_needed});
	}
	return 0;
}

/* ---- start-up and shutdown --------------------------------------------- */

/* @return 0, -1 (logged), or -EX_CONFIG: a configuration error (logged) */
static int setup(struct ferryd *d)
{
	const struct ferry_config *cfg = d->cfg;
	int rc;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0 || setup_signals() < 0 || guard_init() < 0) {
		LOG_E("cannot set up epoll or signals: %s", strerror(errno));
		return -1;
	}
	if (privs_resolve(&d->privs, cfg) < 0)
		return -1;
	if (keys_setup(cfg, d->privs.file_uid, d->key, &d->trusted, &d->n_trusted) < 0)
		return -EXIT_CONFIG;
	fnotify_status("creating %s", cfg->ipc_shm_dir);
	rc = ipc_prepare_dir(cfg->ipc_shm_dir, 0755, d->privs.file_uid, d->privs.file_gid);
	if (rc < 0) {
		LOG_E("ipc.shm_dir: cannot create %s: %s", cfg->ipc_shm_dir, strerror(-rc));
		return -1;
	}
	clean_stale(cfg->ipc_shm_dir);
	/* counters: daemon-wide and NIC ones, four per client, five per
	 * remote session; a full file hands out a dummy, never fails */
	uint32_t nctr = 160 + 4 * (uint32_t)cfg->limits_max_clients +
			5 * (uint32_t)cfg->limits_max_sessions;
	if (fstatus_create(&d->st, cfg->ipc_shm_dir, nctr, d->privs.file_uid, d->privs.file_gid) < 0)
		return -1;
	d->loop_sleeps = fstatus_counter(&d->st, FERRY_CTR_COUNT, 0, "daemon.loop_sleeps");
	if (cfg->net_address.set) {
		fnotify_status("starting EAL and the port");
		if (nic_open(&d->nic, cfg, &d->st) < 0)
			return -1;
		d->privs.keep_caps = nic_keep_caps(d->nic);
		telemetry_init(cfg, &d->st, nic_describe(d->nic));
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_NIC};
		if (nic_wake_fd(d->nic) >= 0 &&
		    epoll_ctl(d->epfd, EPOLL_CTL_ADD, nic_wake_fd(d->nic), &ev) < 0) {
			LOG_E("cannot add the NIC's receive interrupts to epoll: %s", strerror(errno));
			return -1;
		}
	}
	if (clients_create(&d->clients, cfg, d->epfd, &d->st, &d->privs) < 0)
		return -1;
	if (make_core(d) < 0)
		return -1;
	fnotify_status("opening %s", cfg->ipc_socket);
	if (clients_listen(d->clients) < 0)
		return -1;
	if (privs_drop(&d->privs, cfg) < 0)
		return -1;
	return 0;
}

static void teardown(struct ferryd *d)
{
	clients_destroy(d->clients, FERRY_REASON_SHUTDOWN);
	fcore_destroy(d->core);
	nic_close(d->nic);
	fstatus_destroy(&d->st);
	if (d->epfd >= 0)
		close(d->epfd);
	privs_fini(&d->privs);
	free(d->allowed);
	free(d->peer_mtus);
	free(d->trusted);
	sodium_memzero(d->key, sizeof(d->key));
}

static void set_now(struct ferryd *d, uint64_t now)
{
	fcore_set_now(d->core, now);
	clients_set_now(d->clients, now);
	if (d->nic)
		nic_set_now(d->nic, now);
}

/* Tell every client its sessions are over, then give them up to
 * shutdown.drain_ms to read those events before the socket closes. */
static void drain(struct ferryd *d)
{
	set_now(d, mono_ns());
	fcore_shutdown(d->core);
	clients_flush(d->clients);
	if (d->nic)
		nic_flush(d->nic);
	uint64_t end = mono_ns() + (uint64_t)d->cfg->shutdown_drain_ms * 1000000ull;
	for (;;) {
		uint64_t now = mono_ns();
		if (clients_drained(d->clients) || now >= end)
			break;
		set_now(d, now);
		handle_io(d, (int64_t)(end - now < 10000000 ? end - now : 10000000));
		clients_flush(d->clients);
		clients_reap(d->clients);
	}
}

static void update_status(struct ferryd *d, uint32_t *last_c, uint32_t *last_s, uint64_t *last_r)
{
	FA_STORE_RLX(&d->st.d->heartbeat_unix_ns, real_ns());
	uint32_t nc = clients_count(d->clients), ns = fcore_sessions(d->core);
	uint64_t resets = d->nic ? nic_port_resets(d->nic) : 0;
	if (*last_c != nc || *last_s != ns || *last_r != resets) {
		*last_c = nc;
		*last_s = ns;
		*last_r = resets;
		if (resets)
			fnotify_status("serving: %u clients, %u sessions, port recovered from %llu "
				       "device reset%s", nc, ns, (unsigned long long)resets,
				       resets == 1 ? "" : "s");
		else
			fnotify_status("serving: %u clients, %u sessions", nc, ns);
	}
}

/* A port that could not be recovered after a device reset: stop the
 * watchdog pings so systemd restarts us (a restart opens the device from
 * scratch), or, without a watchdog, end with an error for Restart= to see.
 * @return true when the loop must end */
static bool port_lost(uint64_t wd_ns, bool *told)
{
	if (!*told)
		LOG_E(wd_ns ? "stopping the watchdog pings: systemd will restart ferryd"
			    : "no watchdog (WatchdogSec=) to restart ferryd: exiting with an error");
	*told = true;
	return wd_ns == 0;
}

static int loop(struct ferryd *d, uint64_t wd_ns)
{
	const struct ferry_config *cfg = d->cfg;
	const uint64_t spin_ns = (uint64_t)cfg->idle_spin_us * 1000;
	const uint64_t yield_ns = spin_ns + (uint64_t)cfg->idle_yield_us * 1000;
	const uint64_t tick_ns = wd_ns && wd_ns < TICK_NS ? wd_ns : TICK_NS;
	uint64_t now = mono_ns();
	uint64_t last_work = now, next_io = now, next_tick = now;
	/* READY=1 already said "0 clients, 0 sessions" */
	uint32_t last_c = 0, last_s = 0;
	uint64_t last_r = 0;
	bool told_lost = false;

	while (!g_stop) {
		now = mono_ns();
		set_now(d, now);
		unsigned work = clients_poll(d->clients);
		if (d->nic)
			work += nic_poll(d->nic);
		work += fcore_poll(d->core);
		if (now >= next_io) {
			work += handle_io(d, 0);
			next_io = now + IO_CHECK_NS;
		}
		if (now >= next_tick) {
			clients_tick(d->clients);
			if (FERRY_UNLIKELY(d->nic && nic_failed(d->nic)) &&
			    port_lost(wd_ns, &told_lost))
				return -1;
			if (wd_ns && !told_lost)
				fnotify_watchdog();
			update_status(d, &last_c, &last_s, &last_r);
			next_tick = now + tick_ns;
		}
		if (d->nic)
			nic_flush(d->nic);
		clients_flush(d->clients);
		/* the safe point: nothing up the stack holds a client */
		clients_reap(d->clients);
		if (work) {
			last_work = now;
			continue;
		}
		uint64_t idle = now - last_work;
		if (cfg->idle_strategy == FERRY_IDLE_SPIN ||
		    (cfg->idle_strategy >= FERRY_IDLE_BACKOFF && idle < spin_ns)) {
			FERRY_CPU_RELAX();
			continue;
		}
		if (cfg->idle_strategy == FERRY_IDLE_YIELD || idle < yield_ns) {
			sched_yield();
			continue;
		}
		/* Sleep until a client wakes us, a socket fires, the NIC
		 * raises a receive interrupt or the next timer or tick is due.
		 * Dekker with the clients: our flag, fence, their rings; their
		 * record, fence, our flag. With the NIC: arm, then poll once
		 * more (nic_arm()); a frame after that poll fires the fd. */
		int64_t wait = (int64_t)(next_tick - now);
		int64_t timer_ns = fcore_next_timer(d->core);
		if (timer_ns >= 0 && timer_ns < wait)
			wait = timer_ns;
		if (d->nic) {
			timer_ns = nic_next_timer(d->nic);
			if (timer_ns >= 0 && timer_ns < wait)
				wait = timer_ns;
			/* no receive interrupts: come back to poll it */
			if (nic_wake_fd(d->nic) < 0 && wait > cfg->idle_sleep_us * 1000)
				wait = cfg->idle_sleep_us * 1000;
		}
		FA_STORE_RLX(&d->st.d->daemon_sleeping, 1);
		atomic_thread_fence(memory_order_seq_cst);
		unsigned woke = 1;
		if (!clients_pending(d->clients) && (d->nic == NULL || nic_arm(d->nic) == 0)) {
			fctr_add(d->loop_sleeps, 1);
			woke = handle_io(d, wait);
			next_io = mono_ns() + IO_CHECK_NS;
		}
		if (d->nic)
			nic_disarm(d->nic);
		FA_STORE_RLX(&d->st.d->daemon_sleeping, 0);
		/* Woken by a client or a socket: work is likely to follow, so
		 * spin and yield again. Woken by a timer, the NIC's interrupt
		 * or to poll a NIC without interrupts: the next pass looks,
		 * and what it finds is work; if nothing, sleep again. */
		if (woke)
			last_work = mono_ns();
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ferry_config cfg;
	struct ferry_cli_action act;
	memset(&cfg, 0, sizeof(cfg));
	memset(&act, 0, sizeof(act));

	int nerr = ferry_config_load(&cfg, argc, argv, environ, &act, stderr);
	if (act.help) {
		ferry_config_usage(stdout, argv[0]);
		ferry_config_free(&cfg);
		return 0;
	}
	if (act.version) {
		printf("ferryd %s\n", FERRY_VERSION_STRING);
		ferry_config_free(&cfg);
		return 0;
	}
	if (nerr) {
		fprintf(stderr, "ferryd: %d configuration error%s; nothing was started\n", nerr,
			nerr == 1 ? "" : "s");
		ferry_config_free(&cfg);
		return EXIT_CONFIG;
	}
	if (act.check_config) {
		ferry_config_print(&cfg, stdout);
		ferry_config_free(&cfg);
		return 0;
	}
	if (act.gen_key || act.public_key) {
		int st = keys_command(&cfg, act.gen_key);
		ferry_config_free(&cfg);
		return st;
	}

	flog_init(FLOG_ERR + (int)cfg.log_level);
	uint64_t wd_ns = fnotify_init();
	struct ferryd d;
	memset(&d, 0, sizeof(d));
	d.cfg = &cfg;
	d.epfd = -1;
	d.st.fd = -1;

	int rc = 0;
	uint64_t t0 = mono_ns();
	int st = setup(&d);
	if (st < 0) {
		rc = st == -EXIT_CONFIG ? EXIT_CONFIG : EXIT_SETUP;
		goto out;
	}
	LOG_N("ferryd %s ready in %.1f ms: %s, socket %s, shm %s", FERRY_VERSION_STRING,
	      (double)(mono_ns() - t0) / 1e6, nic_describe(d.nic), cfg.ipc_socket, cfg.ipc_shm_dir);
	fnotify_ready("serving: 0 clients, 0 sessions");
	if (loop(&d, wd_ns) < 0)
		rc = EXIT_SETUP;
	else
		LOG_N("stopping on signal %d: draining for up to %lld ms", (int)g_stop,
		      (long long)cfg.shutdown_drain_ms);
	fnotify_stopping("draining sessions");
	drain(&d);
out:
	teardown(&d);
	ferry_config_free(&cfg);
	if (rc == 0)
		LOG_N("stopped");
	return rc;
}
