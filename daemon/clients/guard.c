/* SPDX-License-Identifier: BSD-3-Clause */
#include "guard.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

/* Fixed array: the handler must not take locks or allocate. It runs in the
 * faulting thread, synchronously, so it never races the main loop's edits. */
#define GUARD_MAX 8192

static struct {
	uintptr_t start, end;
	volatile sig_atomic_t *flag;
} g_slots[GUARD_MAX];
static int g_used; /* slots [0, g_used) may be active */

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	uintptr_t a = (uintptr_t)si->si_addr;
	for (int i = 0; i < g_used; i++) {
		if (g_slots[i].flag && a >= g_slots[i].start && a < g_slots[i].end) {
			void *p = mmap((void *)g_slots[i].start, g_slots[i].end - g_slots[i].start,
				       PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
				       -1, 0);
			if (p != MAP_FAILED) {
				*g_slots[i].flag = 1;
				return;
			}
			break;
		}
	}
	/* Not a client's memory: a real bug. Die with the signal. */
	signal(sig, SIG_DFL);
	raise(sig);
}

int guard_init(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL) < 0 ? -errno : 0;
}

int guard_add(void *addr, size_t len, volatile sig_atomic_t *flag)
{
	for (int i = 0; i < GUARD_MAX; i++) {
		if (g_slots[i].flag)
			continue;
		g_slots[i].start = (uintptr_t)addr;
		g_slots[i].end = (uintptr_t)addr + len;
		g_slots[i].flag = flag;
		if (i >= g_used)
			g_used = i + 1;
		return 0;
	}
	return -ENOSPC;
}

void guard_del(void *addr)
{
	for (int i = 0; i < g_used; i++) {
		if (g_slots[i].flag && g_slots[i].start == (uintptr_t)addr) {
			g_slots[i].flag = NULL;
			while (g_used > 0 && g_slots[g_used - 1].flag == NULL)
				g_used--;
			return;
		}
	}
}
