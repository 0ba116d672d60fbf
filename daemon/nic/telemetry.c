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
#include "log.h"
#include "status.h"
#include "telemetry.h"

/* DPDK's callbacks take no argument: what they read, set once at start. */
static const struct ferry_config *g_cfg;
static const struct fstatus *g_st;
static const char *g_desc;

/* A daemon-wide counter's value by label (0 when there is none). */
static uint64_t value_of(const char *label)
{
	for (uint32_t i = 0; i < g_st->max; i++) {
		const struct ferry_counter *c = &g_st->ctr[i];
		/* acquire: partner is the release of state in fstatus_counter() */
		if (FA_LOAD_ACQ((_Atomic uint32_t *)&c->state) == FERRY_COUNTER_ACTIVE &&
		    strcmp(c->label, label) == 0)
			return FA_LOAD_RLX((_Atomic uint64_t *)&c->value);
	}
	return 0;
}

static int cmd_info(const char *cmd, const char *params, struct rte_tel_data *out)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(out);
	rte_tel_data_add_dict_string(out, "version", FERRY_VERSION_STRING);
	rte_tel_data_add_dict_int(out, "pid", (int)g_st->d->pid);
	rte_tel_data_add_dict_string(out, "nic", g_desc);
	rte_tel_data_add_dict_string(out, "socket", g_cfg->ipc_socket);
	rte_tel_data_add_dict_string(out, "shm_dir", g_cfg->ipc_shm_dir);
	/* gauges the main loop keeps; a stale value is fine here */
	rte_tel_data_add_dict_u64(out, "clients", value_of("daemon.clients"));
	rte_tel_data_add_dict_u64(out, "sessions", value_of("daemon.sessions"));
	return 0;
}

static int cmd_counters(const char *cmd, const char *params, struct rte_tel_data *out)
{
	(void)cmd;
	const struct fstatus *s = g_st;
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

int telemetry_init(const struct ferry_config *cfg, const struct fstatus *st, const char *nic_desc)
{
	g_cfg = cfg;
	g_st = st;
	g_desc = nic_desc;
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
