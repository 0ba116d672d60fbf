/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dropping root. ferryd starts as root because EAL (hugepages, VFIO, raw
 * sockets) needs it, creates its socket, shm directory and port, and then
 * becomes the configured user before it reads a single byte a client or the
 * network sent. The files it creates before the drop are owned by that user
 * already, so it can remove them afterwards.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clients_pvt.h"
#include "log.h"

static int lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
	errno = 0;
	struct passwd *pw = getpwnam(name);
	if (pw == NULL) {
		char *end;
		long v = strtol(name, &end, 10);
		if (*name && *end == '\0' && v >= 0) {
			*uid = (uid_t)v;
			*gid = (gid_t)-1;
			return 0;
		}
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static int lookup_group(const char *name, gid_t *gid)
{
	struct group *gr = getgrnam(name);
	if (gr == NULL) {
		char *end;
		long v = strtol(name, &end, 10);
		if (*name && *end == '\0' && v >= 0) {
			*gid = (gid_t)v;
			return 0;
		}
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

int privs_resolve(struct fprivs *p, const struct ferry_config *cfg)
{
	p->file_uid = geteuid();
	p->file_gid = getegid();

	if (geteuid() == 0 && !cfg->priv_allow_root) {
		gid_t ugid;
		if (lookup_user(cfg->priv_user, &p->file_uid, &ugid) < 0) {
			LOG_E("privileges.user: no user \"%s\" on this host; create it (systemd-sysusers "
			      "ferry.conf, or: useradd --system --no-create-home %s) or set "
			      "privileges.user",
			      cfg->priv_user, cfg->priv_user);
			return -1;
		}
		if (lookup_group(cfg->priv_group, &p->file_gid) < 0) {
			LOG_E("privileges.group: no group \"%s\" on this host; create it (groupadd "
			      "--system %s) or set privileges.group",
			      cfg->priv_group, cfg->priv_group);
			return -1;
		}
		if (p->file_uid == 0) {
			LOG_E("privileges.user: \"%s\" is root; name an unprivileged user or set "
			      "privileges.allow_root = true",
			      cfg->priv_user);
			return -1;
		}
	}

	const struct ferry_strlist *u = &cfg->clients_allowed_users;
	p->allowed_uids = calloc((size_t)u->n + 1, sizeof(uid_t));
	for (int i = 0; i < u->n; i++) {
		gid_t g;
		if (lookup_user(u->v[i], &p->allowed_uids[i], &g) < 0) {
			LOG_E("clients.allowed_users: no user \"%s\" on this host", u->v[i]);
			return -1;
		}
	}
	p->n_allowed_uids = u->n;
	const struct ferry_strlist *g = &cfg->clients_allowed_groups;
	p->allowed_gids = calloc((size_t)g->n + 1, sizeof(gid_t));
	int ng = 0;
	for (int i = 0; i < g->n; i++) {
		/* A missing group in the allow-list admits nobody; that is not
		 * worth refusing to start over, but it is worth saying. */
		if (lookup_group(g->v[i], &p->allowed_gids[ng]) < 0)
			LOG_W("clients.allowed_groups: no group \"%s\" on this host; ignored", g->v[i]);
		else
			ng++;
	}
	p->n_allowed_gids = ng;
	return 0;
}

/* setuid() to a non-root user clears every capability unless
 * PR_SET_KEEPCAPS is set; then the permitted set survives and is cut down
 * to @p keep (1 << CAP_*), effective too. Only what the port's recovery
 * after a device reset needs is ever kept (ferry_port_recover_caps()). */
static int keep_only(uint64_t keep)
{
	cap_value_t list[64];
	int n = 0;
	for (int c = 0; c < 64; c++)
		if (keep & (1ull << c))
			list[n++] = c;
	cap_t caps = cap_init();
	int rc = caps == NULL ? -1
	       : cap_set_flag(caps, CAP_PERMITTED, n, list, CAP_SET) ||
			 cap_set_flag(caps, CAP_EFFECTIVE, n, list, CAP_SET) || cap_set_proc(caps);
	cap_free(caps);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return rc ? -1 : 0;
}

static void log_kept(uint64_t keep)
{
	char names[256] = "";
	size_t len = 0;
	for (int c = 0; c < 64 && len < sizeof(names); c++) {
		if (!(keep & (1ull << c)))
			continue;
		char *name = cap_to_name(c);
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", len ? " " : "",
					name ? name : "?");
		cap_free(name);
	}
	LOG_I("keeping %s after the drop: recovering the port after a device reset needs it", names);
}

int privs_drop(const struct fprivs *p, const struct ferry_config *cfg)
{
	if (geteuid() != 0) {
		LOG_I("running as uid %u gid %u (not root: nothing to drop)", (unsigned)geteuid(),
		      (unsigned)getegid());
		return 0;
	}
	if (cfg->priv_allow_root) {
		LOG_W("privileges.allow_root is set: serving clients and the network as root");
		return 0;
	}
	uid_t uid = p->file_uid;
	gid_t gid = p->file_gid;
	/* Order matters: supplementary groups and gid need root, so they go
	 * before uid. */
	if ((p->keep_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) || setgroups(1, &gid) < 0 ||
	    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0 ||
	    (p->keep_caps && keep_only(p->keep_caps) < 0)) {
		LOG_E("cannot drop privileges to %s:%s: %s", cfg->priv_user, cfg->priv_group,
		      strerror(errno));
		return -1;
	}
	if (p->keep_caps)
		log_kept(p->keep_caps);
	if (setuid(0) == 0 || seteuid(0) == 0) {
		LOG_E("dropped to uid %u but could get root back; refusing to run", (unsigned)uid);
		return -1;
	}
	LOG_I("dropped privileges to %s:%s (uid %u gid %u)", cfg->priv_user, cfg->priv_group,
	      (unsigned)uid, (unsigned)gid);
	return 0;
}

bool privs_client_allowed(const struct fprivs *p, int sock, uid_t uid, gid_t gid)
{
	if (uid == 0 || uid == geteuid())
		return true;
	for (int i = 0; i < p->n_allowed_uids; i++)
		if (p->allowed_uids[i] == uid)
			return true;
	for (int i = 0; i < p->n_allowed_gids; i++)
		if (p->allowed_gids[i] == gid)
			return true;
	/* SO_PEERGROUPS: the peer's supplementary groups as of connect(). */
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	if (p->n_allowed_gids && getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		for (size_t k = 0; k < len / sizeof(gid_t); k++)
			for (int i = 0; i < p->n_allowed_gids; i++)
				if (groups[k] == p->allowed_gids[i])
					return true;
	}
	return false;
}

void privs_fini(struct fprivs *p)
{
	free(p->allowed_uids);
	free(p->allowed_gids);
	p->allowed_uids = NULL;
	p->allowed_gids = NULL;
}
