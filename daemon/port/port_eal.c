/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rte_eal_init() reports failure through rte_errno, and its codes are
 * coarse: a missing hugepage mount, no free hugepages and too little memory
 * all come back as EACCES, ENOMEM or EFAULT depending on the step that
 * noticed. So the advice is chosen from the mode as well as the code: in
 * hugepage mode the likely cause is hugepages, otherwise privileges or the
 * device arguments. DPDK's own log lines, printed just before, give the
 * detail.
 */
#include "port_eal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>

/* The argv EAL was given, kept until cleanup (see ferry_eal_init()). */
static char **eal_argv;

int ferry_eal_read_env(struct ferry_eal_env *env)
{
	char line[256];
	FILE *f;

	memset(env, 0, sizeof(*env));
	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		long v;
		if (sscanf(line, "HugePages_Free: %ld", &v) == 1)
			env->free_hugepages = v;
		else if (sscanf(line, "Hugepagesize: %ld kB", &v) == 1)
			env->hugepage_kb = v;
	}
	fclose(f);
	return 0;
}

int ferry_eal_init(const struct ferry_eal_args *a, char *err, size_t errlen)
{
	char **argv;
	int rc, e;

	/* EAL permutes argv and may keep pointers into it: give it a private
	 * array that lives until ferry_eal_cleanup(). The strings are the
	 * caller's, who keeps them as long. */
	argv = calloc((size_t)a->argc + 1, sizeof(char *));
	if (!argv) {
		snprintf(err, errlen, "out of memory starting DPDK");
		return -ENOMEM;
	}
	memcpy(argv, a->argv, (size_t)a->argc * sizeof(char *));
	rc = rte_eal_init(a->argc, argv);
	if (rc >= 0) {
		eal_argv = argv;
		return 0;
	}

	e = rte_errno ? rte_errno : EINVAL;
	free(argv);
	if (e == EALREADY) {
		snprintf(err, errlen, "DPDK EAL is already initialised in this process");
		return -EALREADY;
	}
	if (a->hugepages) {
		snprintf(err, errlen,
			 "DPDK EAL init failed in hugepage mode (%s): no usable hugepages? "
			 "run scripts/setup-hugepages.sh or set eal.hugepages = off",
			 rte_strerror(e));
	} else if (e == EACCES || e == EPERM) {
		snprintf(err, errlen,
			 "DPDK EAL init failed (%s): run ferryd as root or with CAP_SYS_ADMIN, "
			 "CAP_IPC_LOCK and CAP_NET_RAW",
			 rte_strerror(e));
	} else {
		snprintf(err, errlen,
			 "DPDK EAL init failed (%s): check eal.vdevs, eal.allow and "
			 "eal.extra_args (DPDK's messages above name the argument)",
			 rte_strerror(e));
	}
	return -e;
}

void ferry_eal_cleanup(void)
{
	rte_eal_cleanup();
	free(eal_argv);
	eal_argv = NULL;
}
