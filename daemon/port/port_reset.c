/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recovery after a device reset. The ENA asks for one (RTE_ETH_EVENT_INTR_
 * RESET) when its keep-alive, an admin command or TX completions time out;
 * until the application resets it, the port sends and receives nothing.
 * DPDK's answer is rte_eth_dev_reset() followed by the whole bring-up
 * again (configure, queues, start), which is what happens here, with the
 * settings the port was opened with.
 *
 * Which drivers have dev_reset in DPDK 22.11: ENA and the physical NICs
 * (i40e, iavf, ice, ixgbe, igb, igc, txgbe, ngbe, qede, cnxk, vmxnet3,
 * atlantic, axgbe); no vdev (af_packet, af_xdp, tap, memif, null, ring).
 * On those, rte_eth_dev_reset() returns -ENOTSUP and the same stop,
 * configure and start run without it, which is how the test lab exercises
 * this path.
 *
 * net_af_packet closes its sockets in dev_stop and opens them only at
 * probe (rte_eth_af_packet.c in 22.11 and 23.11), so a stopped af_packet
 * port never passes a packet again. For it, recovery removes the device
 * and probes it again from its devargs: new sockets, same name and (the
 * lowest free id) same port id. Creating AF_PACKET sockets needs
 * CAP_NET_RAW, and starting the port again replays its promiscuous
 * setting through SIOCSIFFLAGS, which needs CAP_NET_ADMIN: on af_packet
 * the daemon keeps those two after dropping root, nothing else, and on
 * every other driver none (ferry_port_recover_caps()).
 *
 * What an ENA reset needs: its admin queue, the BAR mappings and the
 * interrupt are set up again through the file descriptors vfio already has
 * open, so no privilege; it allocates its admin and I/O rings again with
 * rte_memzone_reserve(), from the memory it freed a moment before. That
 * memory is part of the -m (eal.memory_mb) preallocation, which EAL never
 * returns to the system, so no new hugepage is needed -- which matters on
 * instances without an IOMMU, where a new page's physical address can only
 * be read from /proc/self/pagemap with CAP_SYS_ADMIN. Keep eal.memory_mb
 * above what the pool and rings take (the default 256 MiB is).
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_errno.h>

#include "port.h"
#include "port_pvt.h"

static int on_reset_event(uint16_t port_id, enum rte_eth_event_type ev, void *arg, void *ret)
{
	struct ferry_port *p = arg;
	(void)port_id;
	(void)ev;
	(void)ret;
	ferry_recover_request(&p->recover);
	return 0;
}

int ferry_port_watch_reset(struct ferry_port *p)
{
	/* registering twice is a no-op in ethdev */
	int rc = rte_eth_dev_callback_register(p->port_id, RTE_ETH_EVENT_INTR_RESET, on_reset_event, p);
	p->reset_watched = rc == 0;
	return rc;
}

void ferry_port_unwatch_reset(struct ferry_port *p)
{
	if (!p->reset_watched)
		return;
	rte_eth_dev_callback_unregister(p->port_id, RTE_ETH_EVENT_INTR_RESET, on_reset_event, p);
	p->reset_watched = false;
}

/* Drivers whose dev_stop cannot be undone by dev_start. */
static bool stop_is_final(const struct ferry_port *p)
{
	return strcmp(p->driver, "net_af_packet") == 0;
}

uint64_t ferry_port_recover_caps(const struct ferry_port *p)
{
	/* AF_PACKET sockets need CAP_NET_RAW; rte_eth_dev_start() replays
	 * the promiscuous setting with SIOCSIFFLAGS, which needs
	 * CAP_NET_ADMIN even to leave it off */
	return stop_is_final(p) ? 1ull << CAP_NET_RAW | 1ull << CAP_NET_ADMIN : 0;
}

/* Remove the device and probe it again from the same devargs. */
static int reprobe(struct ferry_port *p, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	const struct rte_devargs *da;
	char spec[512];
	uint16_t pid;
	int rc = rte_eth_dev_info_get(p->port_id, &info);

	if (rc == 0 && (info.device == NULL || (da = rte_dev_devargs(info.device)) == NULL))
		rc = -ENODEV;
	if (rc) {
		snprintf(err, errlen, "cannot find the device of %s (%s)", p->name, rte_strerror(-rc));
		return rc;
	}
	/* removal frees the devargs: keep a copy of what to probe */
	snprintf(spec, sizeof(spec), "%s%s%s", da->name, da->args && *da->args ? "," : "",
		 da->args ? da->args : "");
	ferry_port_unwatch_reset(p);
	rc = rte_dev_remove(info.device);
	if (rc) {
		snprintf(err, errlen, "cannot remove %s to probe it again (%s)", p->name, rte_strerror(-rc));
		return rc;
	}
	p->state = ST_POOL; /* the port is gone; the pool stays */
	rc = rte_dev_probe(spec);
	if (rc == 0)
		rc = rte_eth_dev_get_port_by_name(p->name, &pid);
	if (rc) {
		snprintf(err, errlen, "cannot probe %s again (%s)", spec, rte_strerror(-rc));
		return rc;
	}
	p->port_id = pid;
	return 0;
}

static int restore_mac(struct ferry_port *p, char *err, size_t errlen)
{
	struct rte_ether_addr mac;
	int rc = rte_eth_macaddr_get(p->port_id, &mac);

	if (rc == 0 && memcmp(mac.addr_bytes, p->mac, sizeof(p->mac)) != 0) {
		/* the host stack, the ARP caches of our peers and the switch
		 * know the old one: the device must keep it */
		memcpy(mac.addr_bytes, p->mac, sizeof(p->mac));
		rc = rte_eth_dev_default_mac_addr_set(p->port_id, &mac);
	}
	if (rc)
		snprintf(err, errlen, "%s came back without its MAC address (%s)", p->name,
			 rte_strerror(-rc));
	return rc;
}

int ferry_port_recover(struct ferry_port *p, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	bool reset;
	int rc;

	p->running = false;
	if (p->state == ST_STARTED) {
		/* a device that wants a reset may fail to stop cleanly; the
		 * reset below starts it from scratch either way */
		rte_eth_dev_stop(p->port_id);
		p->state = ST_CONFIGURED;
	}
	rc = rte_eth_dev_reset(p->port_id);
	reset = rc == 0;
	if (rc && rc != -ENOTSUP) {
		snprintf(err, errlen, "rte_eth_dev_reset(%s) failed (%s)", p->name, rte_strerror(-rc));
		return rc;
	}
	if (rc == -ENOTSUP && stop_is_final(p)) {
		rc = reprobe(p, err, errlen);
		if (rc)
			return rc;
	}
	rc = rte_eth_dev_info_get(p->port_id, &info);
	if (rc) {
		snprintf(err, errlen, "cannot query %s after its reset (%s)", p->name, rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_configure(p->port_id, p->nb_queues, p->nb_queues, &p->conf);
	if (rc) {
		snprintf(err, errlen, "cannot configure %s again (%s)", p->name, rte_strerror(-rc));
		return rc;
	}
	p->state = ST_CONFIGURED;
	/* A device that was reset starts from its defaults and needs the MTU
	 * again (ENA: an admin command). One that was only stopped kept it,
	 * and setting it again may need a privilege we dropped (af_packet's
	 * SIOCSIFMTU wants CAP_NET_ADMIN even for the same value). */
	rc = reset ? ferry_port_apply_mtu(p, p->mtu, err, errlen) : 0;
	if (rc == 0)
		rc = ferry_port_setup_queues(p, &info, err, errlen);
	if (rc)
		return rc;
	rc = ferry_port_start_configured(p, err, errlen);
	if (rc == 0)
		rc = restore_mac(p, err, errlen);
	if (rc) {
		p->running = false; /* no bursts until an attempt succeeds */
		return rc;
	}
	ferry_port_watch_reset(p);
	ferry_port_link_update(p);
	return 0;
}
