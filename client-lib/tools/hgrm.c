/* SPDX-License-Identifier: BSD-3-Clause */
/* A histogram as HdrHistogram's percentile distribution text: see hgrm.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "afile.h"
#include "hgrm.h"

/* HdrHistogram's default: 5 reporting ticks per halving of the distance
 * to 100 %, so the tail gets as many lines as the body. */
#define TICKS_PER_HALF 5

/* Bucket (b, s) holds the values lo .. hist_edge(b, s); its middle stands
 * for them in the standard deviation, as in HdrHistogram. */
static double bucket_mid(unsigned b, unsigned s)
{
	uint64_t hi = hist_edge(b, s);
	uint64_t lo = b == 0 ? s : (uint64_t)(s | HIST_SUB) << (b - 1);
	return ((double)lo + (double)hi) / 2;
}

/* The next reporting level after @p level (percent), as HdrHistogram's
 * PercentileIterator steps. */
static double next_level(double level)
{
	double halvings = floor(log2(100.0 / (100.0 - level)));
	return level + 100.0 / (TICKS_PER_HALF * pow(2.0, halvings + 1));
}

int hgrm_write(FILE *f, const struct hist *h, double scale)
{
	fprintf(f, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
		"1/(1-Percentile)");
	double mean = 0, var = 0;
	if (h->count) {
		mean = (double)h->sum / (double)h->count;
		/* walk every bucket once; levels are reported as their bucket
		 * is reached, several per bucket where it covers them */
		uint64_t cum = 0;
		double level = 0;
		for (unsigned b = 0; b < HIST_BUCKETS; b++)
			for (unsigned s = 0; s < HIST_SUB; s++) {
				uint64_t n = h->n[b][s];
				if (n == 0)
					continue;
				double d = bucket_mid(b, s) - mean;
				var += d * d * (double)n;
				cum += n;
				uint64_t e = hist_edge(b, s);
				double v = (double)(e > h->max ? h->max : e) / scale;
				/* the last bucket reports one level and then 100 %;
				 * others report each level they reach */
				while (level < 100.0 && 100.0 * (double)cum / (double)h->count >= level) {
					fprintf(f, "%12.3f %2.12f %10" PRIu64 " %14.2f\n", v, level / 100,
						cum, 1 / (1 - level / 100));
					level = next_level(level);
					if (cum == h->count)
						break;
				}
				if (cum == h->count)
					fprintf(f, "%12.3f %2.12f %10" PRIu64 "\n", v, 1.0, cum);
			}
		var /= (double)h->count;
	}
	fprintf(f, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", mean / scale, sqrt(var) / scale);
	fprintf(f, "#[Max     = %12.3f, Total count    = %12" PRIu64 "]\n",
		(double)(h->count ? h->max : 0) / scale, h->count);
	fprintf(f, "#[Buckets = %12u, SubBuckets     = %12u]\n", (unsigned)HIST_BUCKETS,
		(unsigned)HIST_SUB);
	return ferror(f) ? -EIO : 0;
}

int hgrm_save(const char *path, const struct hist *h, double scale, char *err, size_t errlen)
{
	struct afile a;
	int rc = afile_open(&a, path, 0644, err, errlen);
	if (rc < 0)
		return rc;
	hgrm_write(a.f, h, scale);
	return afile_commit(&a, err, errlen);
}

int hgrm_path(char *out, size_t len, const char *pattern, const char *size, const char *what)
{
	size_t o = 0;
	for (const char *p = pattern; *p;) {
		const char *put = NULL;
		size_t n = 1;
		if (strncmp(p, "{size}", 6) == 0)
			put = size, n = 6;
		else if (strncmp(p, "{what}", 6) == 0)
			put = what, n = 6;
		size_t k = put ? strlen(put) : 1;
		if (o + k >= len)
			return -ENAMETOOLONG;
		memcpy(out + o, put ? put : p, k);
		o += k;
		p += n;
	}
	if (len == 0)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}
