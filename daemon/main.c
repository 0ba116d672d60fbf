/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferryd: start-up, the main loop, shutdown.
 *
 * One thread runs everything. Each pass of the loop drains client command
 * rings, looks at the control socket, runs timers and rings the bells of
 * clients that got events. When a pass finds no work the idle strategy
 * decides what happens next: keep polling, yield the CPU, or (backoff)
 * spin, then yield, then sleep in epoll until a client writes our eventfd,
 * a socket needs attention or a timer is due. An idle daemon with no NIC
 * wakes only for its tick (heartbeat, STATUS=, watchdog: once a second, or
 * every half watchdog period); with a NIC it also wakes every
 * idle.sleep_us to poll the port, which has no doorbell.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ferry.h"
#include "ferryd.h"
#include "guard.h"
#include "ipc.h"
#include "ferry_build.h"
#include "log.h"
#include "nic.h"
#include "notify.h"
#include "remote.h"

extern char **environ;

/* Exit codes: 78 (EX_CONFIG) tells systemd not to restart in a loop. */
#define EXIT_CONFIG 78
#define EXIT_SETUP 1

/* How often a busy loop still looks at sockets and timers. */
#define IO_CHECK_NS 50000ull
/* How often the heartbeat and STATUS= are refreshed. */
#define TICK_NS 1000000000ull

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
	for (int i = 0; i < n; i++) {
		uint64_t u = evs[i].data.u64;
		if (u == IPC_TAG_LISTEN) {
			ipc_accept(d);
			continue;
		}
		if ((u & IPC_TAG_MASK) == IPC_TAG_REFUSED) {
			ipc_refused_event(d, (struct ipc_refused *)(uintptr_t)(u & ~(uint64_t)IPC_TAG_MASK));
			continue;
		}
		struct fclient *c = (struct fclient *)(uintptr_t)(u & ~(uint64_t)IPC_TAG_MASK);
		if (c->dead)
			continue;
		if ((u & IPC_TAG_MASK) == IPC_TAG_EVFD) {
			uint64_t v;
			ssize_t r = read(c->evfd, &v, sizeof(v));
			(void)r;
			clients_drain_pending(d, c);
		} else {
			ipc_client_event(d, c, evs[i].events);
		}
	}
	return (unsigned)n;
}

static void alloc_counters(struct ferryd *d)
{
	struct fstatus *s = &d->st;
	d->c.clients = fstatus_counter(s, FERRY_CTR_GAUGE, 0, "daemon.clients");
	d->c.clients_total = fstatus_counter(s, FERRY_CTR_COUNT, 0, "daemon.clients_attached_total");
	d->c.clients_refused = fstatus_counter(s, FERRY_CTR_COUNT, 0, "daemon.clients_refused");
	d->c.clients_reclaimed = fstatus_counter(s, FERRY_CTR_COUNT, 0, "daemon.clients_reclaimed");
	d->c.clients_malformed = fstatus_counter(s, FERRY_CTR_COUNT, 0, "daemon.clients_malformed");
	d->c.sessions = fstatus_counter(s, FERRY_CTR_GAUGE, 0, "daemon.sessions");
	d->c.sessions_total = fstatus_counter(s, FERRY_CTR_COUNT, 0, "daemon.sessions_opened_total");
	d->c.sessions_refused = fstatus_counter(s, FERRY_CTR_COUNT, 0, "daemon.sessions_refused");
	d->c.commands = fstatus_counter(s, FERRY_CTR_COUNT, 0, "daemon.commands");
	d->c.events_queued = fstatus_counter(s, FERRY_CTR_COUNT, 0, "daemon.events_queued");
	d->c.loop_sleeps = fstatus_counter(s, FERRY_CTR_COUNT, 0, "daemon.loop_sleeps");
}

static int setup(struct ferryd *d)
{
	const struct ferry_config *cfg = d->cfg;
	int rc;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0 || setup_signals() < 0 || guard_init() < 0) {
		LOG_E("cannot set up epoll or signals: %s", strerror(errno));
		return -1;
	}
	if (privs_resolve(d) < 0)
		return -1;
	fnotify_status("creating %s", cfg->ipc_shm_dir);
	rc = ipc_prepare_dir(cfg->ipc_shm_dir, 0755, d->file_uid, d->file_gid);
	if (rc < 0) {
		LOG_E("ipc.shm_dir: cannot create %s: %s", cfg->ipc_shm_dir, strerror(-rc));
		return -1;
	}
	clean_stale(cfg->ipc_shm_dir);
	/* counters: daemon-wide and NIC ones, three per client, five per
	 * remote session; a full file hands out a dummy, never fails */
	uint32_t nctr = 128 + 4 * (uint32_t)cfg->limits_max_clients +
			5 * (uint32_t)cfg->limits_max_sessions;
	if (fstatus_create(&d->st, cfg->ipc_shm_dir, nctr, d->file_uid, d->file_gid) < 0)
		return -1;
	d->status_ro_fd = open(d->st.path, O_RDONLY | O_CLOEXEC);
	if (d->status_ro_fd < 0) {
		LOG_E("cannot reopen %s read-only: %s", d->st.path, strerror(errno));
		return -1;
	}
	alloc_counters(d);
	remote_init(d);
	if (cfg->net_address.set) {
		fnotify_status("starting EAL and the port");
		if (nic_open(d) < 0)
			return -1;
	}
	d->clients = calloc((size_t)cfg->limits_max_clients, sizeof(*d->clients));
	if (d->clients == NULL)
		return -1;
	sessions_init(d);
	fnotify_status("opening %s", cfg->ipc_socket);
	if (ipc_open(d) < 0)
		return -1;
	if (privs_drop(d) < 0)
		return -1;
	return 0;
}

static void teardown(struct ferryd *d)
{
	d->stopping = true;
	if (d->clients) {
		clients_reclaim_all(d, FERRY_REASON_SHUTDOWN);
		sessions_fini(d);
	}
	nic_close(d);
	ipc_close(d);
	if (d->status_ro_fd >= 0)
		close(d->status_ro_fd);
	fstatus_destroy(&d->st);
	if (d->epfd >= 0)
		close(d->epfd);
	free(d->clients);
	free(d->allowed_uids);
	free(d->allowed_gids);
}

/* Tell every client its sessions are over, then give them up to
 * shutdown.drain_ms to read those events before the socket closes. A
 * client has read everything when its event ring's head reaches our
 * position and nothing is queued behind it. */
static void drain(struct ferryd *d)
{
	d->stopping = true;
	sessions_shutdown(d);
	clients_flush(d);
	uint64_t end = mono_ns() + (uint64_t)d->cfg->shutdown_drain_ms * 1000000ull;
	for (;;) {
		bool pending = false;
		for (uint32_t i = 0; i < d->n_clients; i++) {
			struct fclient *c = d->clients[i];
			if (c->state != FCLIENT_ATTACHED)
				continue;
			/* acquire: partner is the client's release of head */
			pending |= c->pend_head != NULL ||
				   FA_LOAD_ACQ(&c->evt.ctl->head) != c->evt.pos;
		}
		uint64_t now = mono_ns();
		if (!pending || now >= end)
			break;
		handle_io(d, (int64_t)(end - now < 10000000 ? end - now : 10000000));
		clients_flush(d);
		clients_bury(d);
	}
}

static void update_status(struct ferryd *d, uint32_t *last_c, uint32_t *last_s, uint64_t *last_r)
{
	FA_STORE_RLX(&d->st.d->heartbeat_unix_ns, real_ns());
	uint64_t resets = nic_port_resets(d);
	if (*last_c != d->n_clients || *last_s != d->n_sessions || *last_r != resets) {
		*last_c = d->n_clients;
		*last_s = d->n_sessions;
		*last_r = resets;
		if (resets)
			fnotify_status("serving: %u clients, %u sessions, port recovered from %llu "
				       "device reset%s", d->n_clients, d->n_sessions,
				       (unsigned long long)resets, resets == 1 ? "" : "s");
		else
			fnotify_status("serving: %u clients, %u sessions", d->n_clients, d->n_sessions);
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
		d->now_ns = now = mono_ns();
		unsigned work = clients_poll(d);
		if (d->nic) {
			work += nic_poll(d);
			work += remote_poll(d);
		}
		if (now >= next_io) {
			work += handle_io(d, 0);
			next_io = now + IO_CHECK_NS;
		}
		int64_t timer_ns = sessions_timers(d);
		int64_t rt_ns = remote_next_timer(d);
		if (rt_ns >= 0 && (timer_ns < 0 || rt_ns < timer_ns))
			timer_ns = rt_ns;
		if (now >= next_tick) {
			ipc_refused_timers(d);
			if (FERRY_UNLIKELY(nic_failed(d)) && port_lost(wd_ns, &told_lost))
				return -1;
			if (wd_ns && !told_lost)
				fnotify_watchdog();
			update_status(d, &last_c, &last_s, &last_r);
			next_tick = now + tick_ns;
		}
		if (d->nic)
			nic_flush(d);
		clients_flush(d);
		clients_bury(d);
		if (work) {
			last_work = now;
			continue;
		}
		uint64_t idle = now - last_work;
		if (cfg->idle_strategy == FERRY_IDLE_SPIN ||
		    (cfg->idle_strategy == FERRY_IDLE_BACKOFF && idle < spin_ns)) {
			FERRY_CPU_RELAX();
			continue;
		}
		if (cfg->idle_strategy == FERRY_IDLE_YIELD || idle < yield_ns) {
			sched_yield();
			continue;
		}
		/* Sleep until a client wakes us, a socket fires or the next
		 * timer or tick is due. Dekker with the clients: our flag,
		 * fence, their rings; their record, fence, our flag. */
		int64_t wait = (int64_t)(next_tick - now);
		if (timer_ns >= 0 && timer_ns < wait)
			wait = timer_ns;
		/* a NIC has no doorbell: come back to poll it */
		if (d->nic && wait > cfg->idle_sleep_us * 1000)
			wait = cfg->idle_sleep_us * 1000;
		FA_STORE_RLX(&d->st.d->daemon_sleeping, 1);
		atomic_thread_fence(memory_order_seq_cst);
		unsigned woke = 1;
		if (!clients_pending(d)) {
			fctr_add(d->c.loop_sleeps, 1);
			woke = handle_io(d, wait);
			next_io = mono_ns() + IO_CHECK_NS;
		}
		FA_STORE_RLX(&d->st.d->daemon_sleeping, 0);
		/* Woken by an event: work is likely to follow, so spin and
		 * yield again. Woken by the timeout (to poll the NIC): look
		 * once and, if there is nothing, go straight back to sleep. */
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

	flog_init(FLOG_ERR + (int)cfg.log_level);
	uint64_t wd_ns = fnotify_init();
	struct ferryd d;
	memset(&d, 0, sizeof(d));
	d.cfg = &cfg;
	d.epfd = d.lsock = d.status_ro_fd = -1;
	d.st.fd = -1;

	int rc = 0;
	uint64_t t0 = mono_ns();
	if (setup(&d) < 0) {
		rc = EXIT_SETUP;
		goto out;
	}
	LOG_N("ferryd %s ready in %.1f ms: %s, socket %s, shm %s", FERRY_VERSION_STRING,
	      (double)(mono_ns() - t0) / 1e6, nic_describe(&d), cfg.ipc_socket, cfg.ipc_shm_dir);
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
