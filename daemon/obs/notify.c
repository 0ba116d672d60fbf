/* SPDX-License-Identifier: BSD-3-Clause */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"

uint64_t fnotify_init(void)
{
	uint64_t usec = 0;
	/* unset_environment = 0: tools we exec (none today) may want it.
	 * Ping at half the timeout, as sd_watchdog_enabled(3) advises. */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
		return usec * 1000 / 2;
	return 0;
}

void fnotify_ready(const char *status)
{
	/* After the privilege drop the notify socket must still be writable
	 * by our user: say so when it is not, or READY=1 vanishes unseen. */
	int rc = sd_notifyf(0, "READY=1\nSTATUS=%s", status);
	if (rc < 0)
		LOG_W("sd_notify(READY=1) failed: %s (is NOTIFY_SOCKET writable by privileges.user?)",
		      strerror(-rc));
}

void fnotify_status(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", buf);
}

void fnotify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

void fnotify_stopping(const char *status)
{
	sd_notifyf(0, "STOPPING=1\nSTATUS=%s", status);
}
