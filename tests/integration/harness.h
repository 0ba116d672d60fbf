/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Integration test harness: start a real ferryd in a scratch directory,
 * fork client processes that use the real libferry, and stop everything
 * afterwards. Every wait is bounded.
 */
#ifndef FERRY_TEST_HARNESS_H
#define FERRY_TEST_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ferry.h"

struct daemon {
	pid_t pid;
	char dir[64];     /* scratch dir for socket and log */
	char shm[256];    /* ipc.shm_dir */
	char sock[108];
	char log[300];
};

static inline uint64_t h_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline void h_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* Count files in the shm dir whose name starts with @p prefix. */
static inline int h_count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static inline int h_can_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int ok = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(s);
	return ok;
}

/**
 * Fork and exec ferryd with extra "--key=value" flags (NULL-terminated
 * list), without waiting for it. As root it drops to nobody:nogroup, the
 * real privilege path. The child starts with no config file and no
 * systemd variables; @p child_env (if not NULL) runs in the child just
 * before exec to set the environment a test wants.
 * @return 0, or -1 if the scratch directories could not be made
 */
static inline int daemon_spawn(struct daemon *d, const char *const *extra,
			       void (*child_env)(void *arg), void *arg)
{
	const char *bin = getenv("FERRYD");
	if (bin == NULL)
		bin = "ferryd";
	snprintf(d->dir, sizeof(d->dir), "/tmp/ferry-it-XXXXXX");
	if (mkdtemp(d->dir) == NULL)
		return -1;
	chmod(d->dir, 0755);
	/* as /run/ferry is set up by tmpfiles.d: owned by the daemon's user,
	 * so it can remove its socket after dropping root */
	if (geteuid() == 0 && chown(d->dir, 65534, 65534) < 0)
		return -1;
	snprintf(d->shm, sizeof(d->shm), "/dev/shm/ferry-it-%s", strrchr(d->dir, '-') + 1);
	snprintf(d->sock, sizeof(d->sock), "%s/ferryd.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/ferryd.log", d->dir);

	char a_sock[400], a_shm[400];
	snprintf(a_sock, sizeof(a_sock), "--ipc.socket=%s", d->sock);
	snprintf(a_shm, sizeof(a_shm), "--ipc.shm_dir=%s", d->shm);
	const char *argv[64];
	int n = 0;
	argv[n++] = bin;
	argv[n++] = a_sock;
	argv[n++] = a_shm;
	argv[n++] = "--log.level=debug";
	if (geteuid() == 0) {
		argv[n++] = "--privileges.user=nobody";
		argv[n++] = "--privileges.group=nogroup";
	}
	for (int i = 0; extra && extra[i] && n < 62; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	d->pid = fork();
	if (d->pid == 0) {
		/* stdout too: a daemon that outlives a crashed test must not
		 * hold the test runner's pipe open */
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		/* no config file from the host, no inherited settings */
		setenv("FERRY_CONFIG", "/dev/null", 1);
		unsetenv("NOTIFY_SOCKET");
		unsetenv("WATCHDOG_USEC");
		unsetenv("WATCHDOG_PID");
		if (child_env)
			child_env(arg);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	return d->pid > 0 ? 0 : -1;
}

/** Wait (up to 5 s) until ferryd answers on its socket.
 *  @return 0, or -1 if it exited or did not come up */
static inline int daemon_wait_ready(struct daemon *d)
{
	for (uint64_t end = h_now_ms() + 5000; h_now_ms() < end;) {
		if (h_can_connect(d->sock))
			return 0;
		int st;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			return -1;
		}
		h_sleep_ms(5);
	}
	return -1;
}

/** Spawn ferryd with extra flags and wait until it is ready. */
static inline int daemon_start_v(struct daemon *d, const char *const *extra)
{
	if (daemon_spawn(d, extra, NULL, NULL) < 0)
		return -1;
	return daemon_wait_ready(d);
}

static inline int daemon_start(struct daemon *d)
{
	return daemon_start_v(d, NULL);
}

static inline void daemon_dump_log(const struct daemon *d)
{
	FILE *f = fopen(d->log, "r");
	if (f == NULL)
		return;
	char line[512];
	fprintf(stderr, "---- ferryd log ----\n");
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

/** Send @p sig and wait (bounded) for exit. @return exit status or -1 */
static inline int daemon_stop(struct daemon *d, int sig)
{
	int st = -1;
	if (d->pid > 0) {
		kill(d->pid, sig);
		for (uint64_t end = h_now_ms() + 5000; h_now_ms() < end;) {
			if (waitpid(d->pid, &st, WNOHANG) == d->pid)
				break;
			h_sleep_ms(5);
		}
		if (waitpid(d->pid, &st, WNOHANG) == 0) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &st, 0);
		}
		d->pid = 0;
	}
	return st;
}

/* Remove the scratch directories (ferryd removes its own files; this is
 * for the ones a killed daemon leaves). */
static inline void daemon_cleanup(struct daemon *d)
{
	char cmd[700];
	if (d->pid > 0)
		daemon_stop(d, SIGKILL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", d->dir, d->shm);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", d->dir);
}

/** A cmocka setup: a daemon of its own, started with @p extra flags, in
 *  *state. @return 0, or -1 after showing its log */
static inline int h_setup_daemon(void **state, const char *const *extra)
{
	struct daemon *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -1;
	if (daemon_start_v(d, extra) < 0) {
		daemon_dump_log(d);
		daemon_cleanup(d);
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

/** The matching cmocka teardown: SIGTERM, then remove what it left. */
static inline int h_teardown_daemon(void **state)
{
	struct daemon *d = *state;
	if (d == NULL)
		return 0;
	daemon_stop(d, SIGTERM);
	daemon_cleanup(d);
	free(d);
	return 0;
}

static inline ferry_t *h_open(const struct daemon *d, const char *name)
{
	ferry_opts_t o;
	ferry_opts_init(&o);
	o.socket_path = d->sock;
	o.name = name;
	ferry_t *f = NULL;
	int rc = ferry_open(&f, &o);
	if (rc < 0) {
		fprintf(stderr, "ferry_open: %s (%s)\n", strerror(-rc), ferry_errmsg());
		return NULL;
	}
	return f;
}

/** Poll until an event of @p type arrives. Other events, including the
 *  rest of the batch it came in, are dropped, except that INCOMING
 *  sessions before it are accepted: use only where nothing else matters.
 *  @return 1 found, 0 timeout, <0 */
static inline int h_wait_event(ferry_t *f, uint32_t type, int timeout_ms, ferry_event_t *out)
{
	ferry_event_t ev[32];
	uint64_t end = h_now_ms() + (uint64_t)timeout_ms;
	while (h_now_ms() < end) {
		int n = ferry_poll(f, ev, 32, 50);
		if (n < 0)
			return n;
		for (int i = 0; i < n; i++) {
			if (ev[i].type == FERRY_EV_INCOMING && type != FERRY_EV_INCOMING)
				ferry_accept(ev[i].session);
			if (ev[i].type == type) {
				if (out)
					*out = ev[i];
				return 1;
			}
		}
	}
	return 0;
}

/** Listen and wait for the result. @return the status (0 or -errno) */
static inline int h_listen(ferry_t *f, const char *svc)
{
	ferry_event_t e;
	int rc = ferry_listen(f, svc);
	if (rc < 0)
		return rc;
	if (h_wait_event(f, FERRY_EV_LISTEN, 3000, &e) != 1)
		return -ETIMEDOUT;
	return e.status;
}

/* Two clients in this process with a session between them. */
struct pair {
	ferry_t *a, *b;
	ferry_session_t *sa, *sb;
};

static inline int open_pair(struct daemon *d, struct pair *p, const char *svc)
{
	memset(p, 0, sizeof(*p));
	p->a = h_open(d, "a");
	p->b = h_open(d, "b");
	if (!p->a || !p->b || h_listen(p->b, svc) != 0)
		return -1;
	if (ferry_connect(p->a, NULL, svc, NULL, &p->sa) < 0)
		return -1;
	ferry_event_t e;
	if (h_wait_event(p->b, FERRY_EV_INCOMING, 3000, &e) != 1)
		return -1;
	p->sb = e.session;
	if (ferry_accept(p->sb) < 0 || h_wait_event(p->b, FERRY_EV_SESSION_UP, 3000, NULL) != 1)
		return -1;
	if (h_wait_event(p->a, FERRY_EV_SESSION_UP, 3000, NULL) != 1)
		return -1;
	return 0;
}

/** New clients still attach, open a session and carry a message over it.
 *  @return 0, or -1 at the first step that failed */
static inline int h_pair_talks(struct daemon *d, const char *svc)
{
	struct pair p;
	ferry_event_t e;
	int rc = open_pair(d, &p, svc) == 0 && ferry_send(p.sa, "x", 1, 0) == 0 &&
			 h_wait_event(p.b, FERRY_EV_MESSAGE, 2000, &e) == 1
		 ? 0
		 : -1;
	if (p.a)
		ferry_close(p.a);
	if (p.b)
		ferry_close(p.b);
	return rc;
}

/* Deterministic payloads: byte i of message seq from stream id. */
static inline uint8_t h_byte(uint32_t stream, uint64_t seq, size_t i)
{
	uint64_t x = (seq + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)stream << 32) ^ i;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	return (uint8_t)(x >> 56);
}

static inline uint32_t h_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)*s;
}

#endif
