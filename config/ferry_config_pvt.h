/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to config/: the settings table of ferry_config.h turned into data,
 * so that loading, printing, --help and the documentation generator all walk
 * the same rows.
 *
 *   ferry_config_table.c  descriptors, names derived from paths, look-ups
 *   ferry_config_value.c  parsing values from text and from libconfig
 *   ferry_config_format.c values and their descriptions back to text
 *   ferry_config.c        the four sources and their precedence
 *   ferry_config_rules.c  rules that span several settings
 *   ferry_config_print.c  --check-config output and --help text
 */
#ifndef FERRY_CONFIG_PVT_H
#define FERRY_CONFIG_PVT_H

#include <libconfig.h>

#include "ferry_config.h"

/* Every message line starts with this, whatever argv[0] is. */
#define FCFG_PROG "ferryd"

/* Longest derived name (env var, flag) including the NUL; checked by a test. */
#define FCFG_NAME_MAX 96

enum fcfg_type {
	FCFG_BOOL,
	FCFG_INT,
	FCFG_SIZE,
	FCFG_DBL,
	FCFG_STR,
	FCFG_ENUM,
	FCFG_LIST,
	FCFG_IPV4,
};

/** One row of FERRY_SETTINGS. Fields a type does not use are zero. */
struct fcfg_setting {
	const char *path;   /* "group.key" */
	const char *desc;
	enum fcfg_type type;
	size_t off;         /* of the field in struct ferry_config */
	int64_t def_i;      /* BOOL, INT, SIZE */
	double def_d;       /* DBL */
	const char *def_s;  /* STR, ENUM, LIST, IPV4: in env/flag syntax */
	int64_t min, max;   /* INT, SIZE */
	double dmin, dmax;  /* DBL */
	bool pow2;          /* SIZE */
	bool prefix_ok;     /* IPV4 */
	const char *values; /* ENUM: "a|b|c" */
};

extern const struct fcfg_setting fcfg_table[FERRY_CFG_COUNT];

/** Which spelling of a name a look-up or derivation is about. */
enum fcfg_name {
	FCFG_NAME_PATH,  /* ipc.shm_dir */
	FCFG_NAME_ENV,   /* FERRY_IPC_SHM_DIR */
	FCFG_NAME_FLAG,  /* ipc.shm_dir (after "--") */
	FCFG_NAME_DASH,  /* ipc-shm-dir (after "--") */
};

/** Write the @kind spelling of setting @id into @buf (FCFG_NAME_MAX bytes). */
void fcfg_name(enum ferry_cfg_id id, enum fcfg_name kind, char *buf);

/**
 * Find a setting by one of its spellings. @len bytes of @name are compared,
 * so a name may be cut out of "NAME=value" in place. FCFG_NAME_FLAG matches
 * both the dotted and the dashed flag spelling.
 * @return the id, or -1
 */
int fcfg_find(enum fcfg_name kind, const char *name, size_t len);

/** True when @path (e.g. "ipc") is the group of at least one setting. */
bool fcfg_is_group(const char *path);

/**
 * The setting whose @kind spelling is closest to @name, for "did you mean"
 * hints; -1 when nothing is close enough to be a likely typo.
 */
int fcfg_suggest(enum fcfg_name kind, const char *name, size_t len);

/** True for FERRY_* variables that belong to someone else (see
 *  ferry_config.h): FERRY_CONFIG, FERRY_SOCKET, FERRY_CLIENT_*. */
bool fcfg_env_foreign(const char *name, size_t len);

/** Length of the group in @path: 3 for "ipc.shm_dir", 0 for none. */
size_t fcfg_group_len(const char *path);

/** True when @id is the first setting of its group in table order. */
bool fcfg_group_first(enum ferry_cfg_id id);

/** True when @a and @b are in the same group. */
bool fcfg_same_group(enum ferry_cfg_id a, enum ferry_cfg_id b);

/** Title of the group of @id, e.g. "NIC port"; NULL if it has none. */
const char *fcfg_group_title(enum ferry_cfg_id id);

/* ---- values ------------------------------------------------------------ */

union fcfg_value {
	bool b;
	int64_t i; /* INT and SIZE */
	double d;
	char *s;
	int e;
	struct ferry_strlist l;
	struct ferry_ipv4 ip;
};

/**
 * Parse @text as written in an environment variable, on the command line or
 * in a table default. On success @out owns what it points to.
 * @return true on success; false leaves nothing allocated
 */
bool fcfg_parse_text(const struct fcfg_setting *s, const char *text, union fcfg_value *out);

/**
 * The table's default of @s as a value (strings, lists and addresses are
 * parsed from their text). On success @out owns what it points to.
 * @return false only when the table's default text does not parse
 */
bool fcfg_default_value(const struct fcfg_setting *s, union fcfg_value *out);

/** Same for a value read from a config file. */
bool fcfg_parse_libconfig(const struct fcfg_setting *s, const config_setting_t *cs,
			  union fcfg_value *out);

/** Free what @v owns (a string or a list); other types own nothing. */
void fcfg_value_free(enum fcfg_type t, union fcfg_value *v);

/** Replace the field of @s in @c with @v, freeing the old value. */
void fcfg_store(struct ferry_config *c, const struct fcfg_setting *s, union fcfg_value *v);

/** A shallow copy of the field of @s in @c: nothing is duplicated. */
void fcfg_get(const struct ferry_config *c, const struct fcfg_setting *s, union fcfg_value *v);

/** Free the field of @s in @c and zero it. */
void fcfg_clear(struct ferry_config *c, const struct fcfg_setting *s);

/** Write the field of @s in @c in libconfig syntax: "x", 12, true, ["a"]. */
void fcfg_put_value(const struct ferry_config *c, const struct fcfg_setting *s, FILE *out);

/** Write the default of @s in libconfig syntax, as fcfg_put_value would. */
void fcfg_put_default(const struct fcfg_setting *s, FILE *out);

/** Write a config-file value the way the user wrote it, or "a group",
 *  "a list" for aggregates, for error messages. */
void fcfg_put_libconfig(const config_setting_t *cs, FILE *out);

/** A space fcfg_put_wrapped() never breaks a line at. */
#define FCFG_NBSP '\x01'

/**
 * Word-wrap @text to @width columns, each line starting with @lead and
 * ending with a newline. FCFG_NBSP prints as a space that never breaks.
 */
void fcfg_put_wrapped(const char *lead, const char *text, size_t width, FILE *out);

/** Write @str as a libconfig string literal (quotes and escapes). */
void fcfg_put_quoted(const char *str, FILE *out);

/**
 * Write at most @len bytes of @str (fewer at a NUL) with the escapes of a
 * libconfig string literal, without the quotes: for names a user typed,
 * which may hold newlines or terminal escapes but must not break the one
 * line an error message is.
 */
void fcfg_put_escaped(const char *str, size_t len, FILE *out);

/**
 * Write what a valid value looks like, completing "... is not ":
 * "an integer between 576 and 9001", "one of auto, on, off".
 * @from_file  a file has its own syntax for booleans and lists
 */
void fcfg_put_expected(const struct fcfg_setting *s, bool from_file, FILE *out);

/** Short type name for documentation: "integer", "size", "string" ... */
const char *fcfg_type_name(const struct fcfg_setting *s);

/** Allowed values for documentation: "576 .. 9001", "auto, on, off", or
 *  "" when any value of the type is allowed. */
void fcfg_put_range(const struct fcfg_setting *s, FILE *out);

/** Write a byte count the short way: 65536 -> "64K", 1073741824 -> "1G". */
void fcfg_put_size(int64_t v, FILE *out);

/** Write a double so that it reads back exactly and looks like a float
 *  to libconfig ("0.0", "0.25", "1e-06"). */
void fcfg_put_double(double d, FILE *out);

/* ---- cross-setting rules ----------------------------------------------- */

/** Called once per broken rule, naming the setting to blame. */
typedef void fcfg_report_fn(void *arg, enum ferry_cfg_id id, const char *msg);

/**
 * Check every rule that spans settings, or a single setting's meaning beyond
 * its type (an absolute path, a unicast address).
 * @return the number of broken rules, each reported once
 */
int fcfg_check_rules(const struct ferry_config *c, fcfg_report_fn *report, void *arg);

/** One line per rule, for the documentation; NULL-terminated. */
extern const char *const fcfg_rule_docs[];

#endif
