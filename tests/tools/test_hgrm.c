/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hgrm: ferry's histogram as HdrHistogram's percentile distribution text.
 * The three-value case is compared byte for byte with what HdrHistogram
 * itself prints for the same values (its ports' tests carry that text);
 * a large histogram is checked line by line against the format's rules.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hgrm.h"

static struct hist H;

/* hgrm_write() into a string the caller frees */
static char *render(const struct hist *h, double scale)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(hgrm_write(f, h, scale), 0);
	fclose(f);
	return buf;
}

static void test_reference_three_values(void **state)
{
	(void)state;
	hist_reset(&H);
	hist_add(&H, 25);
	hist_add(&H, 50);
	hist_add(&H, 75);
	char *out = render(&H, 1.0);
	/* HdrHistogram's output for 25, 50, 75 at 3 significant digits,
	 * bar its last line, which names its own bucket layout */
	const char *want = "       Value     Percentile TotalCount 1/(1-Percentile)\n"
			   "\n"
			   "      25.000 0.000000000000          1           1.00\n"
			   "      25.000 0.100000000000          1           1.11\n"
			   "      25.000 0.200000000000          1           1.25\n"
			   "      25.000 0.300000000000          1           1.43\n"
			   "      50.000 0.400000000000          2           1.67\n"
			   "      50.000 0.500000000000          2           2.00\n"
			   "      50.000 0.550000000000          2           2.22\n"
			   "      50.000 0.600000000000          2           2.50\n"
			   "      50.000 0.650000000000          2           2.86\n"
			   "      75.000 0.700000000000          3           3.33\n"
			   "      75.000 1.000000000000          3\n"
			   "#[Mean    =       50.000, StdDeviation   =       20.412]\n"
			   "#[Max     =       75.000, Total count    =            3]\n"
			   "#[Buckets =           58, SubBuckets     =           64]\n";
	assert_string_equal(out, want);
	free(out);
}

static void test_empty(void **state)
{
	(void)state;
	hist_reset(&H);
	char *out = render(&H, HGRM_SCALE_US);
	assert_string_equal(out, "       Value     Percentile TotalCount 1/(1-Percentile)\n"
				 "\n"
				 "#[Mean    =        0.000, StdDeviation   =        0.000]\n"
				 "#[Max     =        0.000, Total count    =            0]\n"
				 "#[Buckets =           58, SubBuckets     =           64]\n");
	free(out);
}

/* 100000 values spread over four decades: every line follows the format,
 * levels step as HdrHistogram's, values and counts never go down, the
 * count reaches each level, and the end is the max and the total. */
static void test_large(void **state)
{
	(void)state;
	hist_reset(&H);
	uint64_t seed = 1;
	for (int i = 0; i < 100000; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		hist_add(&H, 100 + (seed >> 33) % (1u << (4 + i % 16)));
	}
	char *out = render(&H, HGRM_SCALE_US);
	char *save = NULL, *line = strtok_r(out, "\n", &save);
	assert_string_equal(line, "       Value     Percentile TotalCount 1/(1-Percentile)");
	double want_level = 0, last_v = 0;
	unsigned long long last_n = 0;
	int rows = 0, final = 0;
	while ((line = strtok_r(NULL, "\n", &save)) && line[0] != '#') {
		double v, p, inv;
		unsigned long long n;
		int k = sscanf(line, "%lf %lf %llu %lf", &v, &p, &n, &inv);
		if (k == 3) { /* the last row: 100 %, no 1/(1-p) */
			assert_true(fabs(p - 1.0) < 1e-12);
			assert_int_equal(n, H.count);
			assert_true(fabs(v - (double)H.max / 1000) < 0.0005);
			final = 1;
			continue;
		}
		assert_int_equal(k, 4);
		assert_false(final);
		assert_true(fabs(p * 100 - want_level) < 1e-9);
		assert_true(fabs(inv - 1 / (1 - p)) < 0.006);
		assert_true(v >= last_v && n >= last_n);
		assert_true((double)n >= p * (double)H.count - 1e-6);
		last_v = v;
		last_n = n;
		want_level += 100.0 / (5 * pow(2.0, floor(log2(100.0 / (100.0 - want_level))) + 1));
		rows++;
	}
	assert_true(final);
	/* the top bucket holds about 1 value in 2000: levels are reported
	 * up to there, 5 per halving of the distance to 100 % */
	assert_true(rows > 50);
	double mean, sd, max;
	unsigned long long total;
	assert_int_equal(sscanf(line, "#[Mean    = %lf, StdDeviation   = %lf]", &mean, &sd), 2);
	assert_true(fabs(mean - (double)H.sum / (double)H.count / 1000) < 0.0005);
	assert_true(sd > 0);
	line = strtok_r(NULL, "\n", &save);
	assert_int_equal(sscanf(line, "#[Max     = %lf, Total count    = %llu]", &max, &total), 2);
	assert_true(fabs(max - (double)H.max / 1000) < 0.0005);
	assert_int_equal(total, H.count);
	free(out);
}

static void test_path(void **state)
{
	(void)state;
	char out[32];
	assert_int_equal(hgrm_path(out, sizeof(out), "d/local-{size}-{what}.hgrm", "32B", "rtt"), 0);
	assert_string_equal(out, "d/local-32B-rtt.hgrm");
	assert_int_equal(hgrm_path(out, sizeof(out), "{what}{what}{size", "a", "b"), 0);
	assert_string_equal(out, "bb{size");
	assert_int_equal(hgrm_path(out, sizeof(out), "plain.hgrm", "1KiB", "rpc"), 0);
	assert_string_equal(out, "plain.hgrm");
	/* exactly full (31 characters and the NUL) fits, one more does not */
	assert_int_equal(hgrm_path(out, sizeof(out), "0123456789012345678901234{size}", "ABCDEF", ""), 0);
	assert_int_equal(strlen(out), 31);
	assert_int_equal(hgrm_path(out, sizeof(out), "0123456789012345678901234{size}", "ABCDEFG", ""),
			 -ENAMETOOLONG);
}

/* hgrm_save replaces the file whole and leaves nothing beside it; a
 * directory that does not exist is an error that names the file. */
static void test_save(void **state)
{
	(void)state;
	char dir[] = "/tmp/ferry-hgrm-test.XXXXXX", path[64], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.hgrm", dir);
	hist_reset(&H);
	hist_add(&H, 1000);
	assert_int_equal(hgrm_save(path, &H, HGRM_SCALE_US, err, sizeof(err)), 0);
	hist_add(&H, 3000);
	assert_int_equal(hgrm_save(path, &H, HGRM_SCALE_US, err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	char *want = render(&H, HGRM_SCALE_US);
	char got[4096] = "";
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(got, 1, sizeof(got) - 1, f);
	fclose(f);
	got[n] = '\0';
	assert_string_equal(got, want);
	free(want);
	/* only x.hgrm in the directory */
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s)\" = x.hgrm", dir);
	assert_int_equal(system(cmd), 0);
	unlink(path);
	rmdir(dir);

	snprintf(path, sizeof(path), "%s/none/x.hgrm", dir);
	assert_int_equal(hgrm_save(path, &H, HGRM_SCALE_US, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_three_values),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_save),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
