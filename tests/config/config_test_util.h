/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared fixture of the config tests: each test runs in a fresh mkdtemp
 * directory, which is also the working directory (the test binaries are
 * built with FERRY_DEFAULT_CONFIG_FILE set to a relative name, so the
 * "default file" cases never touch /etc), and helpers that load settings
 * from arguments, environment and files and check the exact error lines.
 */
#ifndef FERRY_CONFIG_TEST_UTIL_H
#define FERRY_CONFIG_TEST_UTIL_H

#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ferry_config_pvt.h"

#define DEFAULT_FILE FERRY_DEFAULT_CONFIG_FILE

/* ---- fixture ------------------------------------------------------------- */

static char tmpdir[PATH_MAX];
static char oldcwd[PATH_MAX];

static inline int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/ferry-config-test.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!getcwd(oldcwd, sizeof(oldcwd)) || !mkdtemp(tmpdir) || chdir(tmpdir) != 0)
		return -1;
	return 0;
}

static inline int teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;

	(void)state;
	while (d && (e = readdir(d))) {
		char p[PATH_MAX * 2];
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rmdir(p);
		else
			unlink(p);
	}
	if (d)
		closedir(d);
	if (chdir(oldcwd) != 0 || rmdir(tmpdir) != 0)
		return -1;
	return 0;
}

/* Write @text to @name in the test directory; returns its absolute path,
 * valid until the next call. */
static inline const char *write_file(const char *name, const char *text)
{
	static char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* ---- loading -------------------------------------------------------------- */

struct res {
	struct ferry_config c;
	struct ferry_cli_action act;
	int n;
	char *err;
	size_t errlen;
};

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE NULL

static inline int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Load with argv = "ferryd" + @args and the environment @env. Every error
 * must be exactly one line, so the count and the text must agree. */
static inline int load(struct res *r, const char *const *args, const char *const *env)
{
	char *argv[64];
	int argc = 0;
	FILE *f;

	argv[argc++] = "ferryd";
	for (; args && *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	r->err = NULL;
	f = open_memstream(&r->err, &r->errlen);
	assert_non_null(f);
	r->n = ferry_config_load(&r->c, argc, argv, (char **)env, &r->act, f);
	assert_int_equal(fclose(f), 0);
	if (count_lines(r->err) != r->n)
		fail_msg("%d errors but %d lines:\n%s", r->n, count_lines(r->err), r->err);
	return r->n;
}

static inline void done(struct res *r)
{
	ferry_config_free(&r->c);
	free(r->err);
	r->err = NULL;
}

__attribute__((format(printf, 2, 3)))
static inline void assert_err(const struct res *r, const char *fmt, ...)
{
	char want[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	if (!strstr(r->err, want))
		fail_msg("expected the line\n  %s\namong the errors\n%s", want, r->err);
}

static inline void assert_clean(const struct res *r)
{
	if (r->n != 0)
		fail_msg("expected no errors, got %d:\n%s", r->n, r->err);
}

/* A load that reads only @file (written first) and @env/@args. */
static inline int load_file(struct res *r, const char *text, const char *const *args,
		     const char *const *env)
{
	const char *path = write_file("t.conf", text);
	const char *argv[32] = { "-c", path };
	int n = 2;

	for (; args && *args; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	return load(r, argv, env);
}

static inline char *print_to_string(const struct ferry_config *c)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	ferry_config_print(c, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

#endif
