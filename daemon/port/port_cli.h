/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Command line of the port tools (ferry-port-probe, the test lab's
 * responder): the port-related rows of ferry's settings table as flags,
 * without the daemon's config file and environment. Defaults come from the
 * table itself, so the tools and ferryd agree on them.
 */
#ifndef FERRY_PORT_CLI_H
#define FERRY_PORT_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "ferry_config.h"

#define FERRY_PORT_CLI_MAX_LIST 16

struct ferry_port_cli {
	struct ferry_config cfg;
	long seconds;  /* --seconds: how long a tool runs, 0 = until a signal */
	bool counters; /* --counters: print every counter at exit */
	char *vdevs[FERRY_PORT_CLI_MAX_LIST];
	char *allow[FERRY_PORT_CLI_MAX_LIST];
};

/**
 * Fill @p c with the table's defaults, then apply the flags in @p argv:
 *   --vdev SPEC, -a/--allow SPEC (repeatable), --hugepages auto|on|off,
 *   --file-prefix P, --lcores L, --memory-mb N, --extra-args "A B",
 *   --log-level LEVEL, --port-id N, --queues N, --rx-desc N, --tx-desc N,
 *   --mtu N, --mbufs N, --link-wait-ms N, --address A.B.C.D/LEN,
 *   --gateway A.B.C.D, --udp-port N, --arp-timeout-ms N, --seconds N,
 *   --counters
 *
 * @param err where a bad flag is reported, one line
 * @return 0, 1 when --help was given (usage printed to stdout), -EINVAL
 */
int ferry_port_cli_parse(struct ferry_port_cli *c, int argc, char **argv, FILE *err);

#endif
