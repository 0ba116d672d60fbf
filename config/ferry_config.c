/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading: defaults, then the file, then FERRY_* variables, then flags.
 *
 * Sources are applied lowest first, so a higher one simply overwrites; a bad
 * value leaves whatever the lower sources gave, and loading goes on, so one
 * run reports every mistake instead of one per restart. The command line is
 * scanned before anything else because it may name the file, but its values
 * are applied last.
 *
 * Each setting remembers where its value came from (file and line, variable
 * name, flag as typed) until loading ends, so rules broken by a combination
 * of settings can still point at the line to fix.
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ferry_config_pvt.h"

struct origin {
	enum ferry_cfg_source src;
	const char *where; /* file name, or the variable or flag as written */
	int where_len;
	int line;          /* file only */
};

struct pending_flag {
	int id;
	struct origin at;
	const char *value;
};

struct load {
	struct ferry_config *c;
	FILE *err;
	int errors;
	struct origin origin[FERRY_CFG_COUNT];
	struct pending_flag *flags; /* setting flags, applied after env */
	int nflags;
	const char *file;           /* named by -c or FERRY_CONFIG, or NULL */
	struct origin file_from;
	config_t cfg;               /* kept open: origins point into it */
	char *include_dir;
};

static void put_origin(const struct origin *o, FILE *out)
{
	switch (o->src) {
	case FERRY_SRC_DEFAULT:
		fputs("default", out);
		break;
	case FERRY_SRC_FILE:
		fputs("file ", out);
		fcfg_put_escaped(o->where, SIZE_MAX, out);
		fprintf(out, " line %d", o->line);
		break;
	case FERRY_SRC_ENV:
		fputs("env ", out);
		fcfg_put_escaped(o->where, (size_t)o->where_len, out);
		break;
	case FERRY_SRC_CLI:
		fputs("flag ", out);
		fcfg_put_escaped(o->where, (size_t)o->where_len, out);
		break;
	}
}

/*
 * One error line: "ferryd: KEY: ORIGIN: MESSAGE". Either of key and origin
 * may be absent when there is none (a syntax error has no key). The line is
 * assembled first and written at once, so it arrives whole on a pipe.
 */
__attribute__((format(printf, 4, 5)))
static void error(struct load *l, const char *key, const struct origin *o, const char *fmt, ...)
{
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);
	va_list ap;

	l->errors++;
	if (!f) {
		fputs(FCFG_PROG ": out of memory reporting a config error\n", l->err);
		return;
	}
	fputs(FCFG_PROG ": ", f);
	if (key)
		fprintf(f, "%s: ", key);
	if (o) {
		put_origin(o, f);
		fputs(": ", f);
	}
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	if (fclose(f) == 0)
		fwrite(line, 1, len, l->err);
	free(line);
}

/* @s as a string literal, escapes and all, for a message; free it. */
static char *quoted(const char *s)
{
	char *text = NULL;
	size_t n;
	FILE *f = open_memstream(&text, &n);

	if (f) {
		fcfg_put_quoted(s, f);
		fclose(f);
	}
	return text;
}

/* " (did you mean --ipc.shm_dir?)" for a likely typo, else "". */
static const char *hint(enum fcfg_name kind, const char *name, size_t len, char *buf, size_t n)
{
	char near[FCFG_NAME_MAX];
	int id = fcfg_suggest(kind, name, len);

	buf[0] = '\0';
	if (id >= 0) {
		fcfg_name(id, kind, near);
		snprintf(buf, n, " (did you mean %s%s?)", kind == FCFG_NAME_FLAG ? "--" : "", near);
	}
	return buf;
}

/*
 * "VALUE is not EXPECTED", with the value as the user wrote it: quoted text
 * from env and flags, libconfig syntax from the file (@cs non-NULL).
 */
static void bad_value(struct load *l, int id, const struct origin *o, const char *text,
		      const config_setting_t *cs)
{
	char *shown = NULL, *want = NULL;
	size_t n;
	FILE *f;

	if ((f = open_memstream(&shown, &n))) {
		if (cs)
			fcfg_put_libconfig(cs, f);
		else
			fcfg_put_quoted(text, f);
		fclose(f);
	}
	if ((f = open_memstream(&want, &n))) {
		fcfg_put_expected(&fcfg_table[id], cs != NULL, f);
		fclose(f);
	}
	error(l, fcfg_table[id].path, o, "%s is not %s", shown ? shown : "the value",
	      want ? want : "valid");
	free(shown);
	free(want);
}

static void set_text(struct load *l, int id, const struct origin *o, const char *text)
{
	union fcfg_value v;

	if (!fcfg_parse_text(&fcfg_table[id], text, &v)) {
		bad_value(l, id, o, text, NULL);
		return;
	}
	fcfg_store(l->c, &fcfg_table[id], &v);
	l->c->src[id] = o->src;
	l->origin[id] = *o;
}

/* ---- defaults ----------------------------------------------------------- */

static void load_defaults(struct load *l)
{
	static const struct origin dflt = { .src = FERRY_SRC_DEFAULT };

	for (int id = 0; id < FERRY_CFG_COUNT; id++) {
		const struct fcfg_setting *s = &fcfg_table[id];
		union fcfg_value v;

		/* A bad default is a bug in the table; the unit tests catch
		 * it, this keeps it from passing silently. */
		if (!fcfg_default_value(s, &v)) {
			error(l, s->path, &dflt, "\"%s\" is not a valid default", s->def_s);
			continue;
		}
		fcfg_store(l->c, s, &v);
		l->c->src[id] = FERRY_SRC_DEFAULT;
		l->origin[id] = dflt;
	}
}

/* ---- command line -------------------------------------------------------- */

static bool is_flag(const char *arg, const char *name)
{
	return strcmp(arg, name) == 0;
}

/*
 * Only the shape of the command line is checked here; values wait until the
 * file and the environment have been applied beneath them.
 */
static void scan_argv(struct load *l, int argc, char **argv, struct ferry_cli_action *act)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		struct origin at = { .src = FERRY_SRC_CLI, .where = arg,
				     .where_len = (int)strlen(arg) };

		if (is_flag(arg, "-h") || is_flag(arg, "--help")) {
			act->help = true;
		} else if (is_flag(arg, "-V") || is_flag(arg, "--version")) {
			act->version = true;
		} else if (is_flag(arg, "--check-config")) {
			act->check_config = true;
		} else if (is_flag(arg, "--gen-key")) {
			act->gen_key = true;
		} else if (is_flag(arg, "--public-key")) {
			act->public_key = true;
		} else if (is_flag(arg, "-c") || is_flag(arg, "--config")) {
			if (i + 1 >= argc) {
				error(l, NULL, &at, "needs a file name");
				continue;
			}
			l->file = argv[++i];
			l->file_from = at;
		} else if (strncmp(arg, "--config=", 9) == 0 ||
			   (strncmp(arg, "-c", 2) == 0 && arg[2] != '\0')) {
			at.where_len = arg[1] == 'c' ? 2 : 8;
			l->file = arg + at.where_len + (arg[1] != 'c');
			l->file_from = at;
		} else if (strncmp(arg, "--", 2) == 0 && arg[2] != '\0') {
			const char *name = arg + 2;
			const char *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			int id = fcfg_find(FCFG_NAME_FLAG, name, len);
			const char *value = eq ? eq + 1 : NULL;
			char near[FCFG_NAME_MAX + 32];

			at.where_len = (int)len + 2;
			if (id < 0) {
				error(l, NULL, &at, "unknown flag%s",
				      hint(FCFG_NAME_FLAG, name, len, near, sizeof(near)));
				/* "--typo VALUE": one mistake, so one error */
				if (!eq && i + 1 < argc && argv[i + 1][0] != '-')
					i++;
				continue;
			}
			/* A boolean flag alone means true; a following word that
			 * is not a flag is its value. */
			if (!value && fcfg_table[id].type == FCFG_BOOL)
				value = (i + 1 < argc && argv[i + 1][0] != '-') ? argv[++i] : "true";
			if (!value) {
				if (i + 1 >= argc) {
					error(l, fcfg_table[id].path, &at, "needs a value");
					continue;
				}
				value = argv[++i];
			}
			l->flags[l->nflags++] = (struct pending_flag){ .id = id, .at = at,
								       .value = value };
		} else if (arg[0] == '-' && arg[1] != '\0') {
			error(l, NULL, &at, "unknown flag (see --help)");
		} else {
			char *shown = quoted(arg);

			error(l, NULL, NULL, "unexpected argument %s; settings are given as --key=value",
			      shown ? shown : "");
			free(shown);
		}
	}
}

/* ---- config file --------------------------------------------------------- */

static void file_setting(struct load *l, const config_setting_t *cs, const char *path)
{
	const char *src = config_setting_source_file(cs);
	struct origin at = { .src = FERRY_SRC_FILE, .line = config_setting_source_line(cs),
			     .where = src ? src : l->c->config_file };
	int id = fcfg_find(FCFG_NAME_PATH, path, strlen(path));
	bool group = config_setting_is_group(cs);
	union fcfg_value v;

	if (id < 0 && fcfg_is_group(path)) {
		error(l, path, &at, "is a group of settings: write %s = { ... };",
		      config_setting_name(cs));
	} else if (id < 0) {
		char near[FCFG_NAME_MAX + 32];

		error(l, path, &at, "unknown %s%s", group ? "group" : "setting",
		      hint(FCFG_NAME_PATH, path, strlen(path), near, sizeof(near)));
	} else if (!fcfg_parse_libconfig(&fcfg_table[id], cs, &v)) {
		bad_value(l, id, &at, NULL, cs);
	} else {
		fcfg_store(l->c, &fcfg_table[id], &v);
		l->c->src[id] = FERRY_SRC_FILE;
		l->origin[id] = at;
	}
}

/* The file's nesting mirrors the dotted paths: "ipc = { shm_dir = ...; };". */
static void walk_group(struct load *l, const config_setting_t *group, const char *prefix)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *cs = config_setting_get_elem(group, (unsigned)i);
		char path[FCFG_NAME_MAX * 2];

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "",
			 config_setting_name(cs));
		if (config_setting_is_group(cs) && fcfg_find(FCFG_NAME_PATH, path, strlen(path)) < 0 &&
		    fcfg_is_group(path))
			walk_group(l, cs, path);
		else
			file_setting(l, cs, path);
	}
}

static void load_file(struct load *l)
{
	static const struct origin dflt = { .src = FERRY_SRC_DEFAULT };
	const char *path = l->file ? l->file : FERRY_DEFAULT_CONFIG_FILE;
	const struct origin *from = l->file ? &l->file_from : &dflt;
	struct stat st;
	FILE *fp = NULL;
	int e;

	if (!*path) {
		error(l, NULL, from, "empty config file name");
		return;
	}
	fp = fopen(path, "r");
	if (!fp && errno == ENOENT && !l->file)
		return; /* the default file is optional */
	/* fopen() happily opens a directory; libconfig would then report a
	 * bare "file I/O error". */
	if (!fp)
		e = errno;
	else if (fstat(fileno(fp), &st) != 0)
		e = errno;
	else
		e = S_ISDIR(st.st_mode) ? EISDIR : 0;
	if (e) {
		char *shown = quoted(path);

		error(l, NULL, from, "cannot read config file %s: %s", shown ? shown : "", strerror(e));
		free(shown);
		goto out;
	}
	if (!(l->c->config_file = strdup(path)) || !(l->include_dir = strdup(path))) {
		error(l, NULL, from, "out of memory");
		goto out;
	}
	config_set_include_dir(&l->cfg, dirname(l->include_dir));
	if (!config_read(&l->cfg, fp)) {
		struct origin at = { .src = FERRY_SRC_FILE, .line = config_error_line(&l->cfg),
				     .where = config_error_file(&l->cfg) ? config_error_file(&l->cfg)
									 : path };

		error(l, NULL, &at, "%s", config_error_text(&l->cfg));
		goto out;
	}
	walk_group(l, config_root_setting(&l->cfg), "");
out:
	if (fp)
		fclose(fp);
}

/* ---- environment --------------------------------------------------------- */

static const char *env_config(char **envp, struct origin *at)
{
	const char *file = NULL;

	for (char **e = envp; e && *e; e++) {
		if (strncmp(*e, "FERRY_CONFIG=", 13) == 0) {
			file = *e + 13;
			*at = (struct origin){ .src = FERRY_SRC_ENV, .where = *e, .where_len = 12 };
		}
	}
	return file;
}

static void load_env(struct load *l, char **envp)
{
	for (char **e = envp; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		size_t len;
		struct origin at;
		int id;

		if (strncmp(*e, "FERRY_", 6) != 0 || !eq)
			continue;
		len = (size_t)(eq - *e);
		if (fcfg_env_foreign(*e, len))
			continue;
		at = (struct origin){ .src = FERRY_SRC_ENV, .where = *e, .where_len = (int)len };
		id = fcfg_find(FCFG_NAME_ENV, *e, len);
		if (id < 0) {
			char near[FCFG_NAME_MAX + 32];

			error(l, NULL, &at, "unknown setting%s",
			      hint(FCFG_NAME_ENV, *e, len, near, sizeof(near)));
			continue;
		}
		set_text(l, id, &at, eq + 1);
	}
}

/* ---- rules, and the whole ------------------------------------------------ */

static void rule_broken(void *arg, enum ferry_cfg_id id, const char *msg)
{
	struct load *l = arg;

	error(l, fcfg_table[id].path, &l->origin[id], "%s", msg);
}

int ferry_config_load(struct ferry_config *c, int argc, char **argv, char **envp,
		      struct ferry_cli_action *act, FILE *err)
{
	struct load l = { .c = c, .err = err };
	struct origin env_at;
	const char *env_file;

	memset(c, 0, sizeof(*c));
	*act = (struct ferry_cli_action){ 0 };
	config_init(&l.cfg);
	load_defaults(&l);

	l.flags = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*l.flags));
	if (!l.flags) {
		error(&l, NULL, NULL, "out of memory");
		goto out;
	}
	scan_argv(&l, argc, argv, act);
	/* --help and --version must work even with a broken config file. */
	if (act->help || act->version)
		goto out;

	env_file = env_config(envp, &env_at);
	if (!l.file && env_file) {
		l.file = env_file;
		l.file_from = env_at;
	}
	load_file(&l);
	load_env(&l, envp);
	for (int i = 0; i < l.nflags; i++)
		set_text(&l, l.flags[i].id, &l.flags[i].at, l.flags[i].value);

	fcfg_check_rules(c, rule_broken, &l);
out:
	free(l.flags);
	free(l.include_dir);
	config_destroy(&l.cfg);
	return l.errors;
}

void ferry_config_free(struct ferry_config *c)
{
	for (int id = 0; id < FERRY_CFG_COUNT; id++)
		fcfg_clear(c, &fcfg_table[id]);
	free(c->config_file);
	memset(c, 0, sizeof(*c));
}
