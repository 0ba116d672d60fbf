/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receive interrupts: registering each queue's fd, arming, disarming. The
 * contract and the PMDs' differences are in port_intr.h.
 */
#include "port_intr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <rte_epoll.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_log.h>

#include "ferry_config.h"
#include "port.h"

/* Events taken off the inner set at once; more simply wait for the next
 * call (the set is edge-triggered, nothing is lost by leaving them). */
#define DRAIN_MAX 16

bool ferry_port_intr_wanted(const struct ferry_config *cfg)
{
	return cfg->idle_strategy == FERRY_IDLE_INTERRUPT;
}

void ferry_port_intr_refused(const struct ferry_port *p, int rc)
{
	fprintf(stderr,
		"ferry: %s (%s) cannot start with receive interrupts (%s); starting it "
		"without them, so an idle ferryd polls it every idle.sleep_us\n",
		p->name, p->driver, rte_strerror(-rc));
}

/* Take what fired off the inner set. rte_epoll_wait() runs EAL's callback
 * for each: it reads an eventfd's counter (vfio), and leaves a tap fd,
 * which holds frames, alone. */
static void drain(struct ferry_port_intr *pi)
{
	struct rte_epoll_event ev[DRAIN_MAX];
	rte_epoll_wait(pi->epfd, ev, DRAIN_MAX, 0);
}

/* Quiet ethdev while we ask what a PMD without interrupts refuses: its
 * "Rx Intr handle unset" errors are expected here. */
static int quiet_level(void)
{
	int level = rte_log_get_level(rte_eth_dev_logtype);
	rte_log_set_level(rte_eth_dev_logtype, RTE_LOG_CRIT);
	return level;
}

static void restore_level(int level)
{
	if (level >= 0)
		rte_log_set_level(rte_eth_dev_logtype, (uint32_t)level);
}

/* Queues that are armed and disarmed: EAL registers each queue's fd in
 * our set (edge-triggered, with a callback that empties an eventfd). */
static int register_armed(struct ferry_port_intr *pi, uint16_t nq)
{
	int rc = 0;
	for (uint16_t q = 0; q < nq && rc == 0; q++) {
		rc = rte_eth_dev_rx_intr_ctl_q(pi->port_id, q, pi->epfd, RTE_INTR_EVENT_ADD,
					       (void *)(uintptr_t)q);
		if (rc == 0)
			pi->nb_queues = (uint16_t)(q + 1);
	}
	return rc;
}

/* Always-armed queues (net_tap): the fd is the queue itself, readable
 * while frames wait, so we register it level-triggered ourselves. Edges
 * would be wrong here: net_tap reads a queue only once the SIGIO its
 * kernel driver sends has been handled, so a poll right after an edge
 * may still find nothing, and the frame would sit there unannounced. */
static int register_live(struct ferry_port_intr *pi, uint16_t nq)
{
	for (uint16_t q = 0; q < nq; q++) {
		int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(pi->port_id, q);
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = q};
		if (fd < 0)
			return -ENOTSUP;
		/* EEXIST: the same fd again, after a recovery (reopen) */
		if (epoll_ctl(pi->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 && errno != EEXIST)
			return -errno;
		pi->nb_queues = (uint16_t)(q + 1);
	}
	return 0;
}

/* Register every queue of @p p in our set, which is open. */
static int attach(struct ferry_port_intr *pi, const struct ferry_port *p, char *why,
		  size_t whylen)
{
	int rc;

	pi->port_id = p->port_id;
	pi->nb_queues = 0;
	pi->always_on = false;
	pi->armed = false;
	/* A PMD with an enable callback starts its interrupts masked; one
	 * without either has none (net_af_packet, net_memif) or keeps its
	 * queue fds live (net_tap): its fd says which. */
	int level = quiet_level();
	rc = rte_eth_dev_rx_intr_enable(pi->port_id, 0);
	if (rc == -ENOTSUP) {
		pi->always_on = true;
		rc = register_live(pi, p->nb_queues);
	} else if (rc == 0) {
		rte_eth_dev_rx_intr_disable(pi->port_id, 0);
		rc = register_armed(pi, p->nb_queues);
	}
	restore_level(level);
	if (rc != 0) {
		/* -ENOTSUP: no handle; -EPERM: no vector, not set up at start */
		snprintf(why, whylen, "%s (%s) has no receive interrupts here", p->name, p->driver);
		return rc == -ENOTSUP || rc == -EPERM || rc == -EINVAL ? -ENOTSUP : rc;
	}
	return 0;
}

/* Take every queue off our set; the set stays open. */
static void detach(struct ferry_port_intr *pi)
{
	ferry_port_intr_disarm(pi);
	for (uint16_t q = 0; q < pi->nb_queues && !pi->always_on; q++)
		rte_eth_dev_rx_intr_ctl_q(pi->port_id, q, pi->epfd, RTE_INTR_EVENT_DEL, NULL);
	/* always-on queue fds leave the set when they (or it) close */
	pi->nb_queues = 0;
}

int ferry_port_intr_open(struct ferry_port_intr *pi, const struct ferry_port *p, char *why,
			 size_t whylen)
{
	int rc;

	memset(pi, 0, sizeof(*pi));
	pi->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (pi->epfd < 0) {
		rc = -errno;
		snprintf(why, whylen, "epoll_create1: %s", strerror(errno));
		return rc;
	}
	rc = attach(pi, p, why, whylen);
	if (rc != 0)
		ferry_port_intr_close(pi);
	return rc;
}

int ferry_port_intr_reopen(struct ferry_port_intr *pi, const struct ferry_port *p, char *why,
			   size_t whylen)
{
	if (pi->epfd < 0) {
		snprintf(why, whylen, "receive interrupts were not open");
		return -EBADF;
	}
	detach(pi);
	return attach(pi, p, why, whylen);
}

int ferry_port_intr_arm(struct ferry_port_intr *pi)
{
	if (!pi->always_on && !pi->armed) {
		for (uint16_t q = 0; q < pi->nb_queues; q++) {
			int rc = rte_eth_dev_rx_intr_enable(pi->port_id, q);
			if (rc != 0) {
				pi->armed = q > 0;
				ferry_port_intr_disarm(pi);
				return rc;
			}
		}
		pi->armed = true;
	}
	/* Edges from frames the loop has polled already: off the set before
	 * the caller's last poll, so they cannot end the coming sleep. */
	if (!pi->always_on)
		drain(pi);
	return 0;
}

void ferry_port_intr_disarm(struct ferry_port_intr *pi)
{
	if (!pi->armed)
		return;
	for (uint16_t q = 0; q < pi->nb_queues; q++)
		rte_eth_dev_rx_intr_disable(pi->port_id, q);
	pi->armed = false;
}

void ferry_port_intr_close(struct ferry_port_intr *pi)
{
	if (pi->epfd < 0)
		return;
	detach(pi);
	close(pi->epfd);
	pi->epfd = -1;
}
