/* SPDX-License-Identifier: BSD-3-Clause */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static int g_max = FLOG_INFO;
static int g_prefix = 1;

void flog_init(int max_level)
{
	g_max = max_level;
	/* A terminal gets readable text; journald and files get "<N>". */
	g_prefix = !isatty(STDERR_FILENO);
}

int flog_enabled(int level)
{
	return level <= g_max;
}

void flog(int level, const char *fmt, ...)
{
	static const char *const names[] = {"", "", "", "error", "warning", "notice", "info", "debug"};
	if (level > g_max)
		return;
	char line[1024];
	int n;
	if (g_prefix)
		n = snprintf(line, sizeof(line), "<%d>", level);
	else
		n = snprintf(line, sizeof(line), "ferryd: %s: ", names[level & 7]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* one write per line so concurrent writers never interleave */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}
