/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry's counters through DPDK telemetry.
 *
 *   /ferry/info              version, pid, address, clients, sessions
 *   /ferry/counters[,PREFIX] every counter of the status file whose label
 *                            starts with PREFIX (e.g. "drop."), up to
 *                            RTE_TEL_MAX_DICT_ENTRIES of them. Telemetry
 *                            keys take only letters, digits, '_' and '/',
 *                            so other characters of a label become '_':
 *                            "drop.ipv4_bad_checksum" is reported as
 *                            "drop_ipv4_bad_checksum"
 *
 * The callbacks run on DPDK's telemetry thread while the main loop writes
 * the counters. They read the status file exactly as ferry-stat does from
 * another process: acquire-load a slot's state, then relaxed-load its value
 * (single writer, aligned 64-bit: never torn), so they need no lock and
 * cost the datapath nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_telemetry.h>

#include "ferry_build.h"
#include "ferryd.h"
#include "log.h"
#include "nic.h"
#include "telemetry.h"

static struct ferryd *g_d;

static int cmd_info(const char *cmd, const char *params, struct rte_tel_data *out)
{
	(void)cmd;
	(void)params;
	struct ferryd *d = g_d;
	rte_tel_data_start_dict(out);
	rte_tel_data_add_dict_string(out, "version", FERRY_VERSION_STRING);
	rte_tel_data_add_dict_int(out, "pid", (int)d->st.d->pid);
	rte_tel_data_add_dict_string(out, "nic", nic_describe(d));
	rte_tel_data_add_dict_string(out, "socket", d->cfg->ipc_socket);
	rte_tel_data_add_dict_string(out, "shm_dir", d->cfg->ipc_shm_dir);
	/* relaxed: gauges the main loop keeps; a stale value is fine here */
	rte_tel_data_add_dict_u64(out, "clients", FA_LOAD_RLX(&d->c.clients->value));
	rte_tel_data_add_dict_u64(out, "sessions", FA_LOAD_RLX(&d->c.sessions->value));
	return 0;
}

static int cmd_counters(const char *cmd, const char *params, struct rte_tel_data *out)
{
	(void)cmd;
	const struct fstatus *s = &g_d->st;
	size_t plen = params ? strlen(params) : 0;
	int n = 0;
	rte_tel_data_start_dict(out);
	for (uint32_t i = 0; i < s->max && n < RTE_TEL_MAX_DICT_ENTRIES; i++) {
		const struct ferry_counter *c = &s->ctr[i];
		/* acquire: partner is the release of state in fstatus_counter() */
		if (FA_LOAD_ACQ((_Atomic uint32_t *)&c->state) != FERRY_COUNTER_ACTIVE)
			continue;
		if (plen && strncmp(c->label, params, plen) != 0)
			continue;
		char name[RTE_TEL_MAX_STRING_LEN];
		snprintf(name, sizeof(name), "%s", c->label);
		for (char *p = name; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '_' || *p == '/'))
				*p = '_';
		int rc = FA_LOAD_RLX((_Atomic uint32_t *)&c->flags) & FERRY_CTR_F_UNAVAILABLE
				 ? rte_tel_data_add_dict_string(out, name, "unavailable")
				 : rte_tel_data_add_dict_u64(out, name,
							     FA_LOAD_RLX((_Atomic uint64_t *)&c->value));
		if (rc == 0)
			n++;
	}
	return 0;
}

int telemetry_init(struct ferryd *d)
{
	g_d = d;
	int rc = rte_telemetry_register_cmd("/ferry/info", cmd_info,
					    "ferryd: version, pid, NIC, clients, sessions. No parameters");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/ferry/counters", cmd_counters,
						"ferryd's counters. Parameter: a label prefix, "
						"e.g. drop. or remote.");
	if (rc < 0)
		LOG_W("DPDK telemetry: cannot register ferry's commands: %s", strerror(-rc));
	return rc;
}
