/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferryd's keys on disk and in the settings: the private key file
 * (security.private_key_file) read at start and written by --gen-key, and
 * security.trusted_peers turned into the rows the protocol engine takes.
 * The engine itself does no I/O: it is handed raw keys (core.h,
 * struct fcore_params).
 *
 * The file: one line, the 32-byte X25519 private key in base64 (as
 * WireGuard's `wg genkey` writes one), mode 0600, owned by the user ferryd
 * runs as (privileges.user) or root. Anything else is refused at start,
 * with the setting, the file and what to run.
 */
#ifndef FERRY_DAEMON_KEYS_H
#define FERRY_DAEMON_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.h"
#include "ferry_config.h"

/* A public key in base64, with its NUL. */
#define KEYS_B64_LEN 45

/**
 * Read the private key in @p path into @p priv, checking the file first:
 * a regular file (not a link), owned by @p owner or root, readable by
 * nobody else.
 * @return 0, or -1 with one line in @p err saying what is wrong and what
 *         to run
 */
int keys_load(const char *path, uid_t owner, uint8_t priv[32], char *err, size_t errlen);

/**
 * Write a new private key to @p path (which must not exist), mode 0600,
 * owned by @p uid:@p gid when we are root, and give its public key.
 * @return 0, or -1 with the reason in @p err
 */
int keys_generate(const char *path, uid_t uid, gid_t gid, char pub[KEYS_B64_LEN], char *err,
		  size_t errlen);

/** The public key of @p priv, in base64. @return 0, or -1 (not a key) */
int keys_public(const uint8_t priv[32], char pub[KEYS_B64_LEN]);

/**
 * security.trusted_peers as one row per (key, address or subnet).
 * @return how many (*@p out malloc'd, NULL for none), or -1 (memory, or an
 *         entry the settings rules should have refused), reason in @p err
 */
int keys_trusted(const struct ferry_config *cfg, struct fcore_trusted **out, char *err,
		 size_t errlen);

/**
 * What the daemon needs of all this at start: with security.mode none,
 * nothing (a warning when packets go to other hosts unprotected);
 * otherwise the private key (its file owned by @p owner or root) and the
 * trusted rows. Logs what it found, or the error.
 * @return 0, or -1: refuse to start (a configuration error)
 */
int keys_setup(const struct ferry_config *cfg, uid_t owner, uint8_t priv[32],
	       struct fcore_trusted **rows, uint32_t *n_rows);

/** ferryd --gen-key (@p gen) or --public-key: do it, print, and @return
 *  the exit status. */
int keys_command(const struct ferry_config *cfg, bool gen);

#endif
