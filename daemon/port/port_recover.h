/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * When to recover the port after a device reset, and when to give up. Pure
 * (no DPDK, no clock of its own), so the rules are unit-tested; the DPDK
 * steps are ferry_port_recover() (port_reset.c).
 *
 *   request   any thread (the ENA's RTE_ETH_EVENT_INTR_RESET callback, the
 *             fault injector's trigger) sets a flag; nothing else
 *   due       the main loop sees the flag (one relaxed load per pass) and
 *             the retry time has come
 *   begin     takes the flag: an event that arrives during the attempt
 *             asks for another one afterwards
 *   end       success clears the run of failures; a failure asks again
 *             after retry_ns, and max_tries failures in a row give up for
 *             good (the daemon then stops its watchdog pings and systemd
 *             restarts it)
 */
#ifndef FERRY_PORT_RECOVER_H
#define FERRY_PORT_RECOVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum ferry_recover_result {
	FERRY_RECOVER_OK = 0,  /* the port runs again */
	FERRY_RECOVER_RETRY,   /* failed; another attempt after retry_ns */
	FERRY_RECOVER_GAVE_UP, /* failed max_tries times in a row */
};

struct ferry_recover {
	/* Relaxed on both sides: the flag carries no data with it (the
	 * recovery reads the device's state itself), and a request seen one
	 * pass late costs a few microseconds of a reset that takes ms. */
	_Atomic uint32_t requested;
	uint32_t max_tries;
	uint32_t failures_in_row;
	bool gave_up;
	uint64_t retry_ns;
	uint64_t next_ns;  /* no attempt before this time */
	uint64_t attempts; /* counters */
	uint64_t recovered;
	uint64_t failed;
};

/** Nothing requested; @p max_tries failures in a row give up (at least 1). */
void ferry_recover_init(struct ferry_recover *r, uint32_t max_tries, uint64_t retry_ns);

/** Ask for a recovery. Safe from any thread and from a DPDK callback. */
static inline void ferry_recover_request(struct ferry_recover *r)
{
	atomic_store_explicit(&r->requested, 1, memory_order_relaxed);
}

/** @return true when an attempt should run now. The main loop's check. */
static inline bool ferry_recover_due(const struct ferry_recover *r, uint64_t now)
{
	return __builtin_expect(atomic_load_explicit(&r->requested, memory_order_relaxed) != 0, 0) &&
	       !r->gave_up && now >= r->next_ns;
}

/** An attempt starts: the request is taken. */
void ferry_recover_begin(struct ferry_recover *r);

/**
 * The attempt ended with @p rc (0 or -errno from ferry_port_recover()).
 * @return what happens next (see enum ferry_recover_result)
 */
enum ferry_recover_result ferry_recover_end(struct ferry_recover *r, uint64_t now, int rc);

#endif
