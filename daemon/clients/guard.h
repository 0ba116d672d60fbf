/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Surviving clients that shrink their ring file. A client holds a writable
 * fd to its ring file (tmpfs files cannot be sealed), so it can ftruncate
 * it, and the daemon's next access to the mapping would raise SIGBUS. The
 * handler finds the guarded range holding the faulting address, maps
 * anonymous zero pages over it so the access completes harmlessly, and
 * flags the range; the loop sees the flag and disconnects that client.
 */
#ifndef FERRY_GUARD_H
#define FERRY_GUARD_H

#include <signal.h>
#include <stddef.h>

/** Install the SIGBUS handler. @return 0 or -errno */
int guard_init(void);
/** Guard [addr, addr+len); @p flag is set to 1 if the range faulted.
 *  @return 0, or -ENOSPC when every guard slot is in use */
int guard_add(void *addr, size_t len, volatile sig_atomic_t *flag);
void guard_del(void *addr);

#endif
