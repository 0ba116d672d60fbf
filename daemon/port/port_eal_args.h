/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EAL command line from ferry's settings. A pure function of the config
 * and of the hugepages the caller found free, so every combination is
 * unit-tested without DPDK; port_eal.h runs the result.
 *
 * The mapping, in the order the arguments appear:
 *
 *   eal.lcores "0-1"           -l 0-1                      (omitted when "")
 *   eal.hugepages on           --in-memory                 hugepages, no files
 *                 off          --no-huge --no-shconf       anonymous memory, no
 *                                                          files left in
 *                                                          /var/run/dpdk
 *                 auto         on when the free hugepages hold eal.memory_mb,
 *                              else off
 *   eal.file_prefix P          --file-prefix P             both modes: keeps the
 *                                                          runtime dirs of two
 *                                                          daemons apart
 *   eal.memory_mb N            -m N                        both modes
 *   log.level                  --log-level=error|warning|notice|notice|debug
 *                              (ferry's "info" is DPDK's "notice": DPDK's own
 *                              info level is start-up chatter)
 *   eal.vdevs  [a, b]          --vdev a --vdev b
 *   eal.allow  [x]             -a x
 *                              --no-pci when vdevs are given and the allow
 *                              list is empty, so a PCI NIC bound to vfio-pci
 *                              on a development box is not taken as well
 *   eal.extra_args "x y"       x y                         split on blanks, last
 *
 * --in-memory and --no-huge never appear together: a combination that would
 * produce both (extra args included) is an error naming the settings.
 */
#ifndef FERRY_PORT_EAL_ARGS_H
#define FERRY_PORT_EAL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

struct ferry_config;

/** What the machine has, as the caller measured it (ferry_eal_read_env()). */
struct ferry_eal_env {
	long free_hugepages; /* free pages of the default size; <= 0: none */
	long hugepage_kb;    /* default hugepage size in KiB (2048 on x86-64) */
};

/** An argv for rte_eal_init(): argv[argc] is NULL; every string malloc'd. */
struct ferry_eal_args {
	int argc;
	char **argv;
	bool hugepages; /* the mode chosen: true = --in-memory */
};

/**
 * Build the EAL arguments for @p cfg.
 *
 * @param cfg     settings: eal_*, log_level are read
 * @param env     free hugepages, for eal.hugepages = auto
 * @param prog    argv[0], e.g. "ferryd"
 * @param out     filled on success; free with ferry_eal_args_free()
 * @param err     on failure: one line saying which settings conflict
 * @param errlen  size of @p err
 * @return 0; -EINVAL for conflicting settings; -ENOMEM
 */
int ferry_eal_args_build(const struct ferry_config *cfg, const struct ferry_eal_env *env,
			 const char *prog, struct ferry_eal_args *out, char *err, size_t errlen);

/** Free what ferry_eal_args_build() allocated; @p a may be zeroed. */
void ferry_eal_args_free(struct ferry_eal_args *a);

/**
 * Print the arguments on one line, separated by spaces (for logs and
 * --check-config).
 *
 * @return the length the full line needs, like snprintf()
 */
int ferry_eal_args_format(const struct ferry_eal_args *a, char *buf, size_t len);

#endif
