/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replacing a file whole, so a reader (node_exporter's textfile collector,
 * a plotting script) sees the old contents or the new, never a part: write
 * a temporary file in the same directory, flush it, then rename() it over
 * the target, which POSIX makes atomic within one file system.
 */
#ifndef FERRY_AFILE_H
#define FERRY_AFILE_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

struct afile {
	FILE *f;              /* write the contents here */
	char path[PATH_MAX];  /* the target */
	char tmp[PATH_MAX];   /* "<dir>/.<name>.XXXXXX" while open */
};

/**
 * Start replacing @p path: create the temporary file, mode @p mode (the
 * umask does not apply), and open a->f on it. A name that starts with a
 * dot does not end in ".prom" while it is being written, so a textfile
 * collector never reads it.
 * @return 0 or -errno, with @p err saying what failed
 */
int afile_open(struct afile *a, const char *path, unsigned mode, char *err, size_t errlen);

/**
 * Flush and close a->f, then rename the temporary file over the target.
 * On any failure the temporary file is removed and the target left as
 * it was.
 * @return 0 or -errno, with @p err saying what failed
 */
int afile_commit(struct afile *a, char *err, size_t errlen);

/** Give up: close and remove the temporary file. */
void afile_abort(struct afile *a);

#endif
