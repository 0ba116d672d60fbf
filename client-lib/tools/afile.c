/* SPDX-License-Identifier: BSD-3-Clause */
/* Replacing a file whole: see afile.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"

int afile_open(struct afile *a, const char *path, unsigned mode, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0;
	a->f = NULL;
	if (!*path || (slash && !slash[1])) {
		snprintf(err, errlen, "'%s' is not a file name", path);
		return -EINVAL;
	}
	if ((size_t)snprintf(a->path, sizeof(a->path), "%s", path) >= sizeof(a->path) ||
	    (size_t)snprintf(a->tmp, sizeof(a->tmp), "%.*s.%s.XXXXXX", dirlen, path,
			     path + dirlen) >= sizeof(a->tmp)) {
		snprintf(err, errlen, "%s: name too long", path);
		return -ENAMETOOLONG;
	}
	int fd = mkstemp(a->tmp);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot create a file beside %s: %s", path, strerror(e));
		return -e;
	}
	/* mkstemp makes it 0600; a collector runs as another user */
	if (fchmod(fd, mode) < 0 || (a->f = fdopen(fd, "w")) == NULL) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", a->tmp, strerror(e));
		close(fd);
		unlink(a->tmp);
		return -e;
	}
	return 0;
}

int afile_commit(struct afile *a, char *err, size_t errlen)
{
	int e = 0;
	errno = 0;
	if (fflush(a->f) != 0 || ferror(a->f))
		e = errno ? errno : EIO;
	if (fclose(a->f) != 0 && !e)
		e = errno;
	a->f = NULL;
	if (!e && rename(a->tmp, a->path) < 0)
		e = errno;
	if (e) {
		snprintf(err, errlen, "writing %s: %s", a->path, strerror(e));
		unlink(a->tmp);
		return -e;
	}
	return 0;
}

void afile_abort(struct afile *a)
{
	if (a->f) {
		fclose(a->f);
		a->f = NULL;
		unlink(a->tmp);
	}
}
