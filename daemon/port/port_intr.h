/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receive interrupts of a started port, so an idle loop can sleep until a
 * frame arrives instead of napping between polls (DPDK's
 * examples/l3fwd-power does the same with its own epoll).
 *
 * Bring-up asks for them (rte_eth_conf.intr_conf.rxq = 1) when
 * ferry_port_intr_wanted() says so. There is no dev_info bit for receive
 * interrupts in DPDK 22.11, so the answer comes from trying:
 *   - a PMD that cannot deliver them on this device (ENA bound to igb_uio,
 *     no MSI-X) refuses rte_eth_dev_start(); bring-up then configures the
 *     port again without them and says so (ferry_port_intr_refused());
 *   - a PMD that ignores the request (net_af_packet, and net_memif in
 *     22.11) starts, but has no interrupt vector for its queues:
 *     ferry_port_intr_open() returns -ENOTSUP and the loop keeps polling;
 *   - ENA (vfio-pci, MSI-X) arms and disarms each queue's interrupt with
 *     rte_eth_dev_rx_intr_enable()/disable(); its fd is an eventfd;
 *   - net_tap has no enable/disable: its queue's fd is the tap fd itself,
 *     readable whenever frames wait, so it is always armed.
 *
 * Each queue's fd goes into an epoll set of our own, and that set's fd
 * into the loop's epoll: the loop waits on one epoll for clients, sockets,
 * timers and the NIC. Queues that are armed are registered through
 * rte_eth_dev_rx_intr_ctl_q() (edge-triggered, as EAL registers them), and
 * their events taken off the set with rte_epoll_wait(), which reads the
 * eventfd counters (vfio). Always-armed queues are registered by us,
 * level-triggered: the set stays readable while frames wait.
 *
 * The race: a frame that lands after the loop's last empty poll but before
 * it sleeps must wake it. So the order is arm, take stale events off the
 * set, poll every queue once more, and sleep only if that found nothing;
 * a frame after that poll raises a fresh edge (or keeps a live queue fd
 * readable, which also covers net_tap reading a queue only after its
 * SIGIO has been handled: the loop then polls again at once).
 *
 * Privileges: everything is set up before ferryd drops root. Afterwards
 * the fds are already open, epoll needs no privilege, and ENA arms its
 * interrupts by writing a device register through the mapped BAR, so the
 * user ferryd runs as needs nothing more. After a recovery (a device
 * reset: stop, reset, configure, start) the PMD may have rebuilt its
 * vectors: ferry_port_intr_reopen() registers the queues again in the same
 * set, so the loop's epoll keeps the one fd it has.
 */
#ifndef FERRY_PORT_INTR_H
#define FERRY_PORT_INTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ferry_config;
struct ferry_port;

struct ferry_port_intr {
	int epfd;           /* readable when a queue's interrupt fired; -1 when closed */
	uint16_t port_id;
	uint16_t nb_queues; /* queues registered */
	bool always_on;     /* no enable/disable: the fds are live (net_tap) */
	bool armed;
};

/** Whether bring-up should ask for receive interrupts: the settings want
 *  the loop to sleep on them (idle.strategy = interrupt). */
bool ferry_port_intr_wanted(const struct ferry_config *cfg);

/**
 * The PMD refused to start with receive interrupts (ENA without MSI-X);
 * bring-up starts it again without them. Logs one line saying so.
 * @param rc  what rte_eth_dev_start() returned
 */
void ferry_port_intr_refused(const struct ferry_port *p, int rc);

/**
 * Register the receive interrupt of every queue of started port @p p in a
 * new epoll set, disarmed.
 * Call only when ferry_port_intr_wanted() asked for them at bring-up.
 * @param why  on failure: why, for the start-up log
 * @return 0; -ENOTSUP (the PMD has none on this device, or refused them
 *         at start), -errno (epoll, or DPDK refused an fd); @p pi is then
 *         closed
 */
int ferry_port_intr_open(struct ferry_port_intr *pi, const struct ferry_port *p, char *why,
			 size_t whylen);

/**
 * Register the queues of @p p again after the port was recovered from a
 * device reset (its vectors and queue fds may be new), in the same set:
 * @p pi's epfd does not change. Disarmed afterwards.
 * @return as ferry_port_intr_open(), but @p pi stays open on failure (its
 *         set then has no queues and never becomes readable)
 */
int ferry_port_intr_reopen(struct ferry_port_intr *pi, const struct ferry_port *p, char *why,
			   size_t whylen);

/**
 * Arm every queue's interrupt and take stale events off the set. The
 * caller then polls every queue once and sleeps only if nothing came.
 * @return 0 or the -errno of rte_eth_dev_rx_intr_enable()
 */
int ferry_port_intr_arm(struct ferry_port_intr *pi);

/** Disarm after waking (a no-op for always-on PMDs). */
void ferry_port_intr_disarm(struct ferry_port_intr *pi);

/** Unregister and close; call before the port closes. Safe when closed. */
void ferry_port_intr_close(struct ferry_port_intr *pi);

#endif
