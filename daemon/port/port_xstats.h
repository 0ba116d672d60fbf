/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ENI allowance counters, read off the datapath.
 *
 * On AWS the hypervisor drops what exceeds an instance's bandwidth, packet
 * rate, connection-tracking or link-local allowance, before any queue or
 * delay shows it; the ENA counts those drops in five xstats. Reading them
 * is an admin command, seen to stall for more than a second (amzn-drivers
 * issue 140), so a control thread reads them every interval and hands the
 * values to the main loop through a seqlock: the loop never blocks and
 * never takes a lock on its hot path.
 *
 *   reader thread   every interval: lock (held only against recovery),
 *                   read, unlock; publish {values, which exist, count}
 *                   under the sequence number
 *   main loop       ferry_xstats_poll(): copy the latest snapshot out of
 *                   the seqlock; when a new reading arrived, work out each
 *                   counter's increase (ferry_allowance_update()) and,
 *                   when any moved, advance the drop epoch congestion
 *                   control reads (ferry_cc_on_signal())
 *   recovery        ferry_xstats_pause() / _resume() around a device
 *                   reset, so no admin command meets a device being reset
 *
 * The source is an ops table, so tests feed fake values; the DPDK source
 * looks the five names up by id and reads them with
 * rte_eth_xstats_get_by_id(). A PMD without them (every vdev) reports
 * them unavailable, which ferry-stat shows as such, never as zero.
 */
#ifndef FERRY_PORT_XSTATS_H
#define FERRY_PORT_XSTATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define FERRY_ALLOWANCE(X)                                                                  \
	X(BW_IN, "bw_in_allowance_exceeded")      /* inbound bandwidth over the instance's */ \
	X(BW_OUT, "bw_out_allowance_exceeded")    /* outbound bandwidth */                    \
	X(PPS, "pps_allowance_exceeded")          /* packets per second, both ways */         \
	X(CONNTRACK, "conntrack_allowance_exceeded") /* tracked connections */                \
	X(LINKLOCAL, "linklocal_allowance_exceeded") /* to DNS, IMDS, NTP (169.254/16) */

#define FERRY_ALLOWANCE_X_ENUM(e, name) FERRY_ALLOW_##e,
enum { FERRY_ALLOWANCE(FERRY_ALLOWANCE_X_ENUM) FERRY_ALLOW_COUNT };
#undef FERRY_ALLOWANCE_X_ENUM

/** @return the xstat name of allowance counter @p i, e.g. "pps_allowance_exceeded". */
const char *ferry_allowance_name(unsigned i);

/** The pure part: values in, increases and the drop epoch out. */
struct ferry_allowance {
	uint64_t value[FERRY_ALLOW_COUNT]; /* as last read */
	uint64_t delta[FERRY_ALLOW_COUNT]; /* increase over the last interval */
	uint32_t avail;                    /* bit i: the device has counter i */
	bool primed;                       /* a first reading was taken */
	uint64_t epoch;                    /* readings in which any counter rose */
};

/**
 * Take a reading. The first one only sets the baseline (counters count
 * from the ENI's creation, not ours). A counter that went down (the
 * device was reset and counts from 0 again) restarts its baseline.
 *
 * @param avail  bit i set when @p v[i] was read
 * @return a mask of the counters that rose since the previous reading
 */
uint32_t ferry_allowance_update(struct ferry_allowance *a, const uint64_t v[FERRY_ALLOW_COUNT],
				uint32_t avail);

/** Where readings come from; called on the reader thread only. */
struct ferry_xstats_ops {
	void *arg;
	/** Find the counters (again after a reset). @return the avail mask */
	uint32_t (*lookup)(void *arg);
	/** Read them. @return 0 or -errno */
	int (*read)(void *arg, uint64_t v[FERRY_ALLOW_COUNT]);
};

struct ferry_xstats {
	struct ferry_xstats_ops ops;
	uint64_t interval_ns;
	pthread_t thread;
	bool started;
	_Atomic bool stop;
	/* the reader sleeps on wake until the next reading or a stop, so an
	 * idle daemon's reader wakes once per interval, not to poll */
	pthread_mutex_t sleep_mu;
	pthread_cond_t wake;
	_Atomic bool relookup; /* the device was reset: find the ids again */
	pthread_mutex_t lock;  /* held by a reading, and by recovery */
	/* seqlock: odd while the reader writes; the main loop retries */
	_Atomic uint32_t seq;
	_Atomic uint64_t snap_value[FERRY_ALLOW_COUNT];
	_Atomic uint32_t snap_avail;
	_Atomic uint64_t snap_reads;  /* readings published */
	_Atomic uint64_t snap_errors; /* readings that failed */
	/* main loop's side */
	uint64_t seen_reads;
	struct ferry_allowance allow;
};

/**
 * Start the reader thread (rte_ctrl_thread_create() when @p dpdk, so it
 * runs on the control cores EAL chose; a plain pthread in unit tests).
 * The first reading is taken at once.
 *
 * @return 0 or -errno
 */
int ferry_xstats_start(struct ferry_xstats *x, const struct ferry_xstats_ops *ops,
		       uint64_t interval_ns, bool dpdk);

/** Stop and join the thread. Safe on a never-started @p x (zeroed). */
void ferry_xstats_stop(struct ferry_xstats *x);

/** Wait for a reading in progress to finish and hold the next ones. */
void ferry_xstats_pause(struct ferry_xstats *x);
/** Let readings go on; @p reset: the ids must be looked up again. */
void ferry_xstats_resume(struct ferry_xstats *x, bool reset);

/**
 * Main loop: take the latest reading, if a new one arrived.
 * @return the mask of counters that rose (see ferry_allowance_update()),
 *         0 when nothing new or nothing moved
 */
uint32_t ferry_xstats_poll(struct ferry_xstats *x);

/** The DPDK source for port @p port_id (arg must outlive the thread). */
struct ferry_xstats_dpdk {
	uint16_t port_id;
	uint64_t ids[FERRY_ALLOW_COUNT];
	uint32_t avail;
};
void ferry_xstats_dpdk_ops(struct ferry_xstats_dpdk *src, uint16_t port_id,
			   struct ferry_xstats_ops *ops);

#endif
