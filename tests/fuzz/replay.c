/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The replay runner: main() for a fuzz target built without libFuzzer.
 *
 *   fuzz-TARGET [FILE|DIR]...        run the target's seeds, then every
 *                                    FILE and every file in each DIR
 *   fuzz-TARGET --write-seeds DIR    write the seeds into DIR, one file each
 *
 * Each input goes through LLVMFuzzerTestOneInput() exactly as under
 * libFuzzer, in a buffer of exactly its size (so ASan sees any read past
 * it), and a broken invariant aborts with its message. Ends with one line
 * counting what ran; exit 0 when every input held.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "fuzz.h"

/* A target without setup does not define it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *g_prog;
static const char *g_seed_dir;
static unsigned g_inputs, g_rejected;

static void run_one(const char *name, const void *data, size_t len)
{
	/* a copy of exactly len bytes: malloc(0) may return NULL */
	uint8_t *copy = malloc(len ? len : 1);
	FUZZ_CHECK(copy != NULL, "out of memory for %zu bytes", len);
	memcpy(copy, data, len);
	if (LLVMFuzzerTestOneInput(copy, len) != 0) {
		fprintf(stderr, "%s: %s: refused as out of scope\n", g_prog, name);
		g_rejected++;
	}
	free(copy);
	g_inputs++;
}

static void write_seed(const char *name, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", g_seed_dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "%s: cannot write %s: %s\n", g_prog, path, strerror(errno));
		exit(1);
	}
	g_inputs++;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "%s: cannot read %s: %s\n", g_prog, path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	size_t len = (size_t)st.st_size;
	uint8_t *buf = malloc(len ? len : 1);
	FUZZ_CHECK(buf != NULL, "out of memory for %zu bytes", len);
	bool ok = fread(buf, 1, len, f) == len;
	fclose(f);
	if (ok) {
		fprintf(stderr, "%s: %s\n", g_prog, path);
		run_one(path, buf, len);
	} else {
		fprintf(stderr, "%s: short read of %s\n", g_prog, path);
	}
	free(buf);
	return ok ? 0 : -1;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in @p dir, in name order, so runs repeat exactly. */
static int run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "%s: cannot open %s: %s\n", g_prog, dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		FUZZ_CHECK(names != NULL, "out of memory");
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && run_file(path) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	g_prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) {
		g_seed_dir = argv[2];
		fuzz_seeds(write_seed);
		fprintf(stderr, "%s: wrote %u seeds to %s\n", g_prog, g_inputs, g_seed_dir);
		return 0;
	}
	if (argc > 1 && argv[1][0] == '-') {
		fprintf(stderr, "usage: %s [--write-seeds DIR | FILE|DIR...]\n", g_prog);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	fuzz_seeds(run_one);
	unsigned seeds = g_inputs;
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s: %s\n", g_prog, argv[i], strerror(errno));
			rc = 1;
		} else if ((S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i])) != 0) {
			rc = 1;
		}
	}
	printf("%s: %u inputs (%u seeds, %u files), %u refused as out of scope, every invariant "
	       "held%s\n", g_prog, g_inputs, seeds, g_inputs - seeds, g_rejected,
	       rc ? "; some files could not be read" : "");
	return rc;
}
