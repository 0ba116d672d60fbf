/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>

#include "ferry_pvt.h"

static _Thread_local char t_msg[512];

FERRY_API const char *ferry_errmsg(void)
{
	return t_msg;
}

int ferry_err(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t_msg, sizeof(t_msg), fmt, ap);
	va_end(ap);
	return err;
}
