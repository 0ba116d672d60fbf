/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferryd logging: one line per event to stderr, prefixed "<N>" with the
 * syslog priority (sd-daemon convention) so journald keeps the level, and
 * plain when stderr is a terminal.
 */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

/* Levels match syslog priorities (and config's log.level order + 3). */
enum { FLOG_ERR = 3, FLOG_WARNING = 4, FLOG_NOTICE = 5, FLOG_INFO = 6, FLOG_DEBUG = 7 };

/** @param max_level  least important level printed (FLOG_*) */
void flog_init(int max_level);
int flog_enabled(int level);
void flog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_E(...) flog(FLOG_ERR, __VA_ARGS__)
#define LOG_W(...) flog(FLOG_WARNING, __VA_ARGS__)
#define LOG_N(...) flog(FLOG_NOTICE, __VA_ARGS__)
#define LOG_I(...) flog(FLOG_INFO, __VA_ARGS__)
#define LOG_D(...) do { if (flog_enabled(FLOG_DEBUG)) flog(FLOG_DEBUG, __VA_ARGS__); } while (0)

#endif
