/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferryd's counters in Prometheus's text exposition format (version
 * 0.0.4), as node_exporter's textfile collector and promtool read it.
 *
 * A counter label "group.name" becomes the metric ferry_<group>_<name>;
 * what varies per object goes into labels, not names:
 *
 *   session.17.srtt_ns          ferry_session_srtt_seconds{session="17"}
 *   client.7.<name>.commands    ferry_client_commands_total{client="7",name="<name>"}
 *   drop.ipv4_bad_checksum      ferry_drop_frames_total{reason="ipv4_bad_checksum"}
 *   net.udp                     ferry_net_frames_total{verdict="udp"}
 *   remote.tx_packets           ferry_remote_tx_packets_total
 *
 * FERRY_CTR_COUNT counters are TYPE counter and end in _total; gauges are
 * TYPE gauge; any other type is untyped. Values in ns, us or ms (a name
 * ending _ns, _us, _ms) are given in seconds (_seconds), as Prometheus
 * wants base units; _milli values are divided by 1000 and lose the suffix.
 * Characters a metric name cannot hold become '_'. The daemon's identity
 * and liveness come first: ferry_daemon_up, ferry_daemon_info{version,
 * pid}, ferry_daemon_uptime_seconds, ferry_daemon_heartbeat_age_seconds.
 *
 * Label values are untrusted (a client picks its name): backslash, quote
 * and newline are escaped as the format says, other control characters
 * and invalid UTF-8 become U+FFFD. Two counters that would give the same
 * metric and labels (a hostile name can make that happen), or the same
 * metric with another type, are left out after the first, and a comment
 * at the end says how many were.
 */
#ifndef FERRY_PROM_H
#define FERRY_PROM_H

#include <stdint.h>
#include <stdio.h>

#include "status_map.h"

/* The heartbeat age past which ferry_daemon_up is 0, as ferry-stat's
 * STALE mark. */
#define PROM_STALE_NS (5ull * 1000000000ull)

/**
 * Write @p n counters @p rows (smap_snapshot() order) and the daemon's
 * view @p v to @p f. @p v NULL means there is no usable status file:
 * only ferry_daemon_up 0 is written.
 * @return 0; -ENOMEM; -EIO when @p f reports a write error
 */
int prom_write(FILE *f, const struct row *rows, uint32_t n, const struct smap_daemon *v);

#endif
