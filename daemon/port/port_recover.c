/* SPDX-License-Identifier: BSD-3-Clause */
#include "port_recover.h"

void ferry_recover_init(struct ferry_recover *r, uint32_t max_tries, uint64_t retry_ns)
{
	*r = (struct ferry_recover){.max_tries = max_tries ? max_tries : 1, .retry_ns = retry_ns};
	atomic_init(&r->requested, 0);
}

void ferry_recover_begin(struct ferry_recover *r)
{
	atomic_exchange_explicit(&r->requested, 0, memory_order_relaxed);
	r->attempts++;
}

enum ferry_recover_result ferry_recover_end(struct ferry_recover *r, uint64_t now, int rc)
{
	if (rc == 0) {
		r->recovered++;
		r->failures_in_row = 0;
		return FERRY_RECOVER_OK;
	}
	r->failed++;
	if (++r->failures_in_row >= r->max_tries) {
		r->gave_up = true;
		return FERRY_RECOVER_GAVE_UP;
	}
	/* the port is stopped until an attempt succeeds: ask again */
	r->next_ns = now + r->retry_ns;
	ferry_recover_request(r);
	return FERRY_RECOVER_RETRY;
}
