/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The settings table as data, and the names derived from each path.
 *
 * Names are derived on demand rather than stored: the table stays one
 * macro expansion, and no second spelling can drift from the path.
 */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "ferry_config_pvt.h"

/* Macro parameters avoid the names of struct members (path, desc ...),
 * which the preprocessor would otherwise replace inside designators. */
#define ROW(f_, p_, d_, t_) [FERRY_CFG_##f_] = { .path = p_, .desc = d_, .type = t_, \
		.off = offsetof(struct ferry_config, f_)
#define T_BOOL(f_, p_, def_, d_) ROW(f_, p_, d_, FCFG_BOOL), .def_i = (def_) },
#define T_INT(f_, p_, def_, lo_, hi_, d_) ROW(f_, p_, d_, FCFG_INT), .def_i = (def_), \
		.min = (lo_), .max = (hi_) },
#define T_SIZE(f_, p_, def_, lo_, hi_, pw_, d_) ROW(f_, p_, d_, FCFG_SIZE), .def_i = (def_), \
		.min = (lo_), .max = (hi_), .pow2 = (pw_) != 0 },
#define T_DBL(f_, p_, def_, lo_, hi_, d_) ROW(f_, p_, d_, FCFG_DBL), .def_d = (def_), \
		.dmin = (lo_), .dmax = (hi_) },
#define T_STR(f_, p_, def_, d_) ROW(f_, p_, d_, FCFG_STR), .def_s = (def_) },
#define T_ENUM(f_, p_, def_, v_, d_) ROW(f_, p_, d_, FCFG_ENUM), .def_s = (def_), .values = (v_) },
#define T_LIST(f_, p_, def_, d_) ROW(f_, p_, d_, FCFG_LIST), .def_s = (def_) },
#define T_IPV4(f_, p_, def_, pfx_, d_) ROW(f_, p_, d_, FCFG_IPV4), .def_s = (def_), \
		.prefix_ok = (pfx_) != 0 },

const struct fcfg_setting fcfg_table[FERRY_CFG_COUNT] = {
	FERRY_SETTINGS(T_BOOL, T_INT, T_SIZE, T_DBL, T_STR, T_ENUM, T_LIST, T_IPV4)
};

const char *ferry_config_source_name(enum ferry_cfg_source s)
{
	switch (s) {
	case FERRY_SRC_DEFAULT: return "default";
	case FERRY_SRC_FILE: return "file";
	case FERRY_SRC_ENV: return "env";
	case FERRY_SRC_CLI: return "flag";
	}
	return "unknown";
}

void fcfg_name(enum ferry_cfg_id id, enum fcfg_name kind, char *buf)
{
	const char *p = fcfg_table[id].path;
	size_t n = 0;

	if (kind == FCFG_NAME_ENV) {
		memcpy(buf, "FERRY_", 6);
		n = 6;
	}
	for (; *p && n < FCFG_NAME_MAX - 1; p++) {
		char ch = *p;

		switch (kind) {
		case FCFG_NAME_ENV:
			ch = ch == '.' ? '_' : (char)toupper((unsigned char)ch);
			break;
		case FCFG_NAME_DASH:
			ch = (ch == '.' || ch == '_') ? '-' : ch;
			break;
		case FCFG_NAME_PATH:
		case FCFG_NAME_FLAG:
			break;
		}
		buf[n++] = ch;
	}
	buf[n] = '\0';
}

static bool name_is(const char *want, const char *name, size_t len)
{
	return strlen(want) == len && memcmp(want, name, len) == 0;
}

int fcfg_find(enum fcfg_name kind, const char *name, size_t len)
{
	char buf[FCFG_NAME_MAX];

	for (int id = 0; id < FERRY_CFG_COUNT; id++) {
		fcfg_name(id, kind, buf);
		if (name_is(buf, name, len))
			return id;
		if (kind == FCFG_NAME_FLAG) {
			fcfg_name(id, FCFG_NAME_DASH, buf);
			if (name_is(buf, name, len))
				return id;
		}
	}
	return -1;
}

bool fcfg_is_group(const char *path)
{
	size_t len = strlen(path);

	for (int id = 0; id < FERRY_CFG_COUNT; id++) {
		const char *p = fcfg_table[id].path;

		if (strncmp(p, path, len) == 0 && p[len] == '.')
			return true;
	}
	return false;
}

bool fcfg_env_foreign(const char *name, size_t len)
{
	static const char client_prefix[] = "FERRY_CLIENT_";

	return name_is("FERRY_CONFIG", name, len) || name_is("FERRY_SOCKET", name, len) ||
	       (len >= sizeof(client_prefix) - 1 &&
		memcmp(name, client_prefix, sizeof(client_prefix) - 1) == 0);
}

/*
 * Levenshtein distance, case-insensitive, with '.', '-' and '_' counted as
 * the same letter: "--ipc-shm_dir" is one slip from a real flag, not three.
 * Names are short, so one row of FCFG_NAME_MAX cells is plenty.
 */
static int fold(char ch)
{
	return (ch == '-' || ch == '.') ? '_' : tolower((unsigned char)ch);
}

static size_t distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b);
	size_t row[FCFG_NAME_MAX + 1];

	if (la >= FCFG_NAME_MAX || lb >= FCFG_NAME_MAX)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (fold(a[i - 1]) != fold(b[j - 1]));

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

int fcfg_suggest(enum fcfg_name kind, const char *name, size_t len)
{
	char buf[FCFG_NAME_MAX];
	size_t best = (size_t)-1;
	int best_id = -1;

	for (int id = 0; id < FERRY_CFG_COUNT; id++) {
		fcfg_name(id, kind == FCFG_NAME_DASH ? FCFG_NAME_FLAG : kind, buf);
		size_t d = distance(name, len, buf);

		if (d < best) {
			best = d;
			best_id = id;
		}
	}
	/* A third of the name wrong is past a typo; it is another word. */
	if (best_id < 0 || best > 2 + len / 8 || best * 3 > len)
		return -1;
	return best_id;
}

/*
 * Group titles for --help, the example file and the reference. A group
 * without a title is a test failure, so a new group cannot slip in
 * undocumented.
 */
static const struct {
	const char *group;
	const char *title;
} group_titles[] = {
	{ "eal", "DPDK environment abstraction layer" },
	{ "port", "NIC port" },
	{ "net", "IPv4 host" },
	{ "privileges", "Privileges" },
	{ "security", "Security between ferryds: authenticated, encrypted packets" },
	{ "clients", "Local clients" },
	{ "ipc", "Shared-memory IPC" },
	{ "limits", "Limits" },
	{ "idle", "Main loop idling" },
	{ "transport", "Transport timers" },
	{ "shutdown", "Shutdown" },
	{ "log", "Logging" },
	{ "fault", "Fault injection, for tests and rehearsals: off by default" },
};

size_t fcfg_group_len(const char *path)
{
	const char *dot = strchr(path, '.');

	return dot ? (size_t)(dot - path) : 0;
}

static bool same_group(const char *a, const char *b)
{
	size_t la = fcfg_group_len(a);

	return la == fcfg_group_len(b) && strncmp(a, b, la) == 0;
}

bool fcfg_group_first(enum ferry_cfg_id id)
{
	for (int i = 0; i < (int)id; i++)
		if (same_group(fcfg_table[i].path, fcfg_table[id].path))
			return false;
	return true;
}

bool fcfg_same_group(enum ferry_cfg_id a, enum ferry_cfg_id b)
{
	return same_group(fcfg_table[a].path, fcfg_table[b].path);
}

const char *fcfg_group_title(enum ferry_cfg_id id)
{
	const char *path = fcfg_table[id].path;
	size_t len = fcfg_group_len(path);

	for (size_t i = 0; i < sizeof(group_titles) / sizeof(group_titles[0]); i++)
		if (strlen(group_titles[i].group) == len &&
		    strncmp(group_titles[i].group, path, len) == 0)
			return group_titles[i].title;
	return NULL;
}
