/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * systemd service notifications (sd-daemon). Everything here is a no-op
 * when the daemon does not run under systemd (no NOTIFY_SOCKET).
 */
#ifndef FERRY_NOTIFY_H
#define FERRY_NOTIFY_H

#include <stdint.h>

/** Read WATCHDOG_USEC; @return watchdog ping interval in ns, 0 if off. */
uint64_t fnotify_init(void);
/** READY=1 with a STATUS= line. */
void fnotify_ready(const char *status);
/** STATUS=<printf> */
void fnotify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** WATCHDOG=1 */
void fnotify_watchdog(void);
/** STOPPING=1 with a STATUS= line. */
void fnotify_stopping(const char *status);

#endif
