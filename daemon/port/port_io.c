/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Transmit and counters: the parts of the port the main loop calls after
 * bring-up.
 */
#include "port.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TX_RETRIES 4

uint16_t ferry_port_tx(struct ferry_port *p, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t ok = n, sent = 0;

	if (n == 0)
		return 0;
	if (__builtin_expect(!p->running, 0)) {
		/* stopped for recovery: what would have gone is lost, as on a
		 * wire that is down, and the transport retransmits it */
		p->stats.tx_dropped += n;
		rte_pktmbuf_free_bulk(pkts, n);
		return 0;
	}
	/* Checksum offload on some NICs (ENA among them) wants the headers
	 * touched up first; rte_eth_tx_prepare() is a no-op for the rest. */
	if (p->tx_cksum_flags) {
		ok = rte_eth_tx_prepare(p->port_id, p->queue, pkts, n);
		/* pkts[ok] failed and the ones after it were not prepared:
		 * send what is ready, drop the rest below. */
		if (ok < n)
			p->stats.tx_prepare_rejected++;
	}
	for (int tries = 0; sent < ok && tries < TX_RETRIES; tries++)
		sent += rte_eth_tx_burst(p->port_id, p->queue, pkts + sent, (uint16_t)(ok - sent));
	if (sent)
		p->stats.tx_bursts++;
	p->stats.tx_packets += sent;
	if (sent < n) {
		p->stats.tx_dropped += (uint64_t)(n - sent);
		rte_pktmbuf_free_bulk(pkts + sent, (unsigned)(n - sent));
	}
	return sent;
}

static const char *const stat_names[] = {
#define X_NAME(f, name) name,
	FERRY_PORT_STATS(X_NAME)
#undef X_NAME
};

int ferry_port_counters(const struct ferry_port *p,
			void (*cb)(void *arg, const char *name, uint64_t value), void *arg)
{
	const uint64_t *v = (const uint64_t *)&p->stats;
	size_t nsoft = sizeof(stat_names) / sizeof(stat_names[0]);
	struct rte_eth_xstat_name *names = NULL;
	struct rte_eth_xstat *vals = NULL;
	int n, got, rc;

	for (size_t i = 0; i < nsoft; i++)
		cb(arg, stat_names[i], v[i]);
	n = rte_eth_xstats_get_names(p->port_id, NULL, 0);
	if (n <= 0)
		return n < 0 ? n : (int)nsoft;
	names = calloc((size_t)n, sizeof(*names));
	vals = calloc((size_t)n, sizeof(*vals));
	rc = -ENOMEM;
	if (!names || !vals)
		goto out;
	rc = rte_eth_xstats_get_names(p->port_id, names, (unsigned)n);
	if (rc < 0)
		goto out;
	got = rte_eth_xstats_get(p->port_id, vals, (unsigned)n);
	if (got < 0) {
		rc = got;
		goto out;
	}
	for (int i = 0; i < got && i < n; i++)
		if (vals[i].id < (uint64_t)n)
			cb(arg, names[vals[i].id].name, vals[i].value);
	rc = (int)nsoft + got;
out:
	free(names);
	free(vals);
	return rc;
}

static int flags_str(char *buf, size_t len, uint64_t flags, const char *(*name)(uint64_t))
{
	int n = 0;
	if (!flags)
		return snprintf(buf, len, "none");
	for (int bit = 0; bit < 64; bit++) {
		uint64_t f = 1ull << bit;
		if (!(flags & f))
			continue;
		n += snprintf((size_t)n < len ? buf + n : NULL, (size_t)n < len ? len - (size_t)n : 0,
			      "%s%s", n ? " " : "", name(f));
	}
	return n;
}

int ferry_port_offloads_str(const struct ferry_port *p, char *buf, size_t len)
{
	char rx[256], tx[256];
	flags_str(rx, sizeof(rx), p->rx_offloads, rte_eth_dev_rx_offload_name);
	flags_str(tx, sizeof(tx), p->tx_offloads, rte_eth_dev_tx_offload_name);
	return snprintf(buf, len, "rx: %s; tx: %s", rx, tx);
}
