/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A struct hist (hist.h) as an HdrHistogram percentile distribution: the
 * ".hgrm" text that HdrHistogram's outputPercentileDistribution() prints
 * and its plotter (and scripts/plot-hgrm.sh) reads:
 *
 *          Value     Percentile TotalCount 1/(1-Percentile)
 *
 *          0.141 0.000000000000          1           1.00
 *          ...
 *          9.873 1.000000000000     200000
 *   #[Mean    =        0.152, StdDeviation   =        0.031]
 *   #[Max     =        9.873, Total count    =       200000]
 *   #[Buckets =           58, SubBuckets     =           64]
 *
 * Percentile levels step as HdrHistogram's do with 5 ticks per half
 * distance (0, 10, ... 50, 55, ... 75, 77.5, ...), each reported at the
 * upper edge of the first bucket that reaches it. Values are the
 * histogram's nanoseconds divided by the caller's scale (1000: the
 * microseconds HdrHistogram users usually plot).
 */
#ifndef FERRY_HGRM_H
#define FERRY_HGRM_H

#include <stddef.h>
#include <stdio.h>

#include "hist.h"

#define HGRM_SCALE_US 1000.0

/**
 * Write @p h to @p f as a percentile distribution, values divided by
 * @p scale and printed with 3 decimals. An empty histogram gives the
 * header and a footer of zeros.
 * @return 0, or -EIO when @p f reports a write error
 */
int hgrm_write(FILE *f, const struct hist *h, double scale);

/**
 * hgrm_write() to the file @p path, replaced whole: written to a
 * temporary file beside it, then renamed over it.
 * @return 0 or -errno, with @p err describing the failure
 */
int hgrm_save(const char *path, const struct hist *h, double scale, char *err, size_t errlen);

/**
 * Fill a file name from @p pattern, replacing every "{size}" with
 * @p size and every "{what}" with @p what; other text is copied.
 * @return 0; -ENAMETOOLONG when it does not fit @p len
 */
int hgrm_path(char *out, size_t len, const char *pattern, const char *size, const char *what);

#endif
