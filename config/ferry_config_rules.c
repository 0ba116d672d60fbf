/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rules beyond one value's type and range.
 *
 * They run once every source has been applied, because only the final
 * combination matters: a file may set a small ring and a flag a larger one.
 * Each broken rule is blamed on one setting, the one an operator most likely
 * has to change, and the message names the other side with its value and
 * source so the fix is obvious from the one line.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "ferry_config_pvt.h"

/* Kept next to the checks so documentation and code change together. */
const char *const fcfg_rule_docs[] = {
	"`ipc.max_message_size` is at most a quarter of the smaller of "
	"`ipc.client_ring_size` and `ipc.session_ring_size`, so a ring always holds "
	"several messages",
	"`transport.rto_min_us` is at most `transport.rto_max_us`",
	"`transport.keepalive_ms` is less than `transport.peer_timeout_ms`, or an idle "
	"but healthy peer would be declared dead",
	"`limits.max_sessions_per_client` is at most `limits.max_sessions`",
	"`net.address` is a unicast host address: not in 0.0.0.0/8, 127.0.0.0/8 or "
	"224.0.0.0/3, and, with a prefix of /30 or shorter, not the subnet's network or "
	"broadcast address",
	"`net.gateway` needs `net.address`, is a unicast address inside its subnet, and "
	"is not the address itself",
	"`net.udp_port + net.udp_port_count - 1` is at most 65535",
	"`ipc.shm_dir` and `ipc.socket` are absolute paths; `ipc.socket` is at most 107 "
	"bytes, the limit of a Unix socket address",
	"`net.allowed_peers` lists subnets as a.b.c.d/len",
	"`net.static_neighbors` needs `net.address`; its entries are pairs of a unicast "
	"address on the subnet of `net.address` (not the address itself, nor, with a "
	"prefix of /30 or shorter, the subnet's network or broadcast address) and a "
	"unicast MAC, each address once, at most 16",
	"`net.peer_mtus` entries are \"a.b.c.d/len MTU\" with an MTU of 576 to 9001; in "
	"the environment or on the command line, where blanks separate entries, write "
	"the list in brackets: `[\"10.1.0.0/16 8500\"]`",
	"each `security.trusted_peers` entry is a public key (base64 of 32 bytes) and one or "
	"more addresses a.b.c.d or subnets a.b.c.d/len",
	"`security.mode` authenticate or encrypt needs `security.private_key_file` (an absolute "
	"path) and at least one `security.trusted_peers` entry",
	"`fault.rx_drop + fault.rx_dup + fault.rx_reorder + fault.rx_corrupt` is at most 1, "
	"and likewise for `fault.tx_*`: each packet gets at most one of the four",
	NULL,
};

struct check {
	const struct ferry_config *c;
	fcfg_report_fn *report;
	void *arg;
	int broken;
};

__attribute__((format(printf, 3, 4)))
static void broken(struct check *k, enum ferry_cfg_id id, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k->report(k->arg, id, msg);
	k->broken++;
}

/* "ipc.client_ring_size (4194304, default)": the other side of a rule. */
static const char *other(const struct check *k, enum ferry_cfg_id id, char *buf, size_t n)
{
	FILE *f = fmemopen(buf, n, "w");

	if (!f) {
		snprintf(buf, n, "%s", fcfg_table[id].path);
		return buf;
	}
	fprintf(f, "%s (", fcfg_table[id].path);
	fcfg_put_value(k->c, &fcfg_table[id], f);
	fprintf(f, ", %s)", ferry_config_source_name(k->c->src[id]));
	fclose(f);
	return buf;
}

/* The value of @id in libconfig syntax, e.g. "\"10.0.1.5/24\"". */
static const char *value_of(const struct check *k, enum ferry_cfg_id id, char *buf, size_t n)
{
	FILE *f = fmemopen(buf, n, "w");

	buf[0] = '\0';
	if (f) {
		fcfg_put_value(k->c, &fcfg_table[id], f);
		fclose(f);
	}
	buf[n - 1] = '\0'; /* a full buffer gets no terminator */
	return buf;
}

static void ring_rule(struct check *k)
{
	const struct ferry_config *c = k->c;
	enum ferry_cfg_id ring = c->ipc_session_ring_size < c->ipc_client_ring_size
					 ? FERRY_CFG_ipc_session_ring_size
					 : FERRY_CFG_ipc_client_ring_size;
	int64_t smallest = ring == FERRY_CFG_ipc_client_ring_size ? c->ipc_client_ring_size
								   : c->ipc_session_ring_size;
	char buf[160];

	if (c->ipc_max_message_size > smallest / 4)
		broken(k, FERRY_CFG_ipc_max_message_size,
		       "%" PRId64 " is more than a quarter of %s", c->ipc_max_message_size,
		       other(k, ring, buf, sizeof(buf)));
}

static void order_rules(struct check *k)
{
	const struct ferry_config *c = k->c;
	char buf[160];

	if (c->transport_rto_min_us > c->transport_rto_max_us)
		broken(k, FERRY_CFG_transport_rto_min_us, "%" PRId64 " is more than %s",
		       c->transport_rto_min_us,
		       other(k, FERRY_CFG_transport_rto_max_us, buf, sizeof(buf)));
	if (c->transport_keepalive_ms >= c->transport_peer_timeout_ms)
		broken(k, FERRY_CFG_transport_keepalive_ms, "%" PRId64 " is not less than %s",
		       c->transport_keepalive_ms,
		       other(k, FERRY_CFG_transport_peer_timeout_ms, buf, sizeof(buf)));
	if (c->limits_max_sessions_per_client > c->limits_max_sessions)
		broken(k, FERRY_CFG_limits_max_sessions_per_client, "%" PRId64 " is more than %s",
		       c->limits_max_sessions_per_client,
		       other(k, FERRY_CFG_limits_max_sessions, buf, sizeof(buf)));
}

static bool unicast(uint32_t a)
{
	uint8_t top = (uint8_t)(a >> 24);

	return top != 0 && top != 127 && top < 224;
}

static uint32_t mask_of(uint8_t len)
{
	return len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
}

static void net_rules(struct check *k)
{
	const struct ferry_config *c = k->c;
	const struct ferry_ipv4 *a = &c->net_address, *g = &c->net_gateway;
	uint32_t mask = mask_of(a->prefix_len);
	char buf[160], av[40], gv[40];

	if (c->net_udp_port + c->net_udp_port_count - 1 > 65535)
		broken(k, FERRY_CFG_net_udp_port_count,
		       "%" PRId64 " ports from %s pass port 65535", c->net_udp_port_count,
		       other(k, FERRY_CFG_net_udp_port, buf, sizeof(buf)));
	value_of(k, FERRY_CFG_net_address, av, sizeof(av));
	value_of(k, FERRY_CFG_net_gateway, gv, sizeof(gv));
	if (a->set) {
		if (!unicast(a->addr))
			broken(k, FERRY_CFG_net_address, "%s is not a unicast host address", av);
		else if (a->prefix_len <= 30 && (a->addr & ~mask) == 0)
			broken(k, FERRY_CFG_net_address,
			       "%s is the network address of its subnet, not a host address", av);
		else if (a->prefix_len <= 30 && (a->addr & ~mask) == ~mask)
			broken(k, FERRY_CFG_net_address,
			       "%s is the broadcast address of its subnet, not a host address", av);
	}
	if (!g->set)
		return;
	if (!a->set)
		broken(k, FERRY_CFG_net_gateway, "%s needs net.address to be set", gv);
	else if (!unicast(g->addr))
		broken(k, FERRY_CFG_net_gateway, "%s is not a unicast address", gv);
	else if (g->addr == a->addr)
		broken(k, FERRY_CFG_net_gateway, "%s is net.address itself", gv);
	else if ((g->addr & mask) != (a->addr & mask))
		broken(k, FERRY_CFG_net_gateway, "%s is outside the subnet of %s", gv,
		       other(k, FERRY_CFG_net_address, buf, sizeof(buf)));
}

static void peer_rules(struct check *k)
{
	const struct ferry_strlist *l = &k->c->net_allowed_peers, *m = &k->c->net_peer_mtus;
	uint32_t a;
	uint8_t len;
	uint16_t mtu;

	for (int i = 0; i < l->n; i++)
		if (ferry_config_parse_cidr(l->v[i], &a, &len) != 0)
			broken(k, FERRY_CFG_net_allowed_peers,
			       "\"%s\" is not a subnet a.b.c.d/len", l->v[i]);
	for (int i = 0; i < m->n; i++) {
		if (ferry_config_parse_peer_mtu(m->v[i], &a, &len, &mtu) == 0)
			continue;
		if (ferry_config_parse_cidr(m->v[i], &a, &len) == 0)
			/* most likely an unbracketed list split at its blanks */
			broken(k, FERRY_CFG_net_peer_mtus,
			       "\"%s\" has no MTU: each entry is \"a.b.c.d/len MTU\" (in the "
			       "environment or a flag, bracket the list: [\"%s 1500\"])",
			       m->v[i], m->v[i]);
		else
			broken(k, FERRY_CFG_net_peer_mtus,
			       "\"%s\" is not \"a.b.c.d/len MTU\" with an MTU of %d to %d",
			       m->v[i], FERRY_CONFIG_PEER_MTU_MIN, FERRY_CONFIG_PEER_MTU_MAX);
	}
}

/* The form of each entry is the parser's to check; its place in the
 * subnet is checked here, against the final net.address. */
static void neighbor_rules(struct check *k)
{
	const struct ferry_config *c = k->c;
	const struct ferry_ipv4 *a = &c->net_address;
	struct ferry_neighbor nb[FERRY_STATIC_NEIGHBORS_MAX];
	uint32_t mask = mask_of(a->prefix_len);
	char why[256], buf[160];
	int n;

	if (c->net_static_neighbors.n == 0)
		return;
	n = ferry_config_parse_neighbors(&c->net_static_neighbors, nb, FERRY_STATIC_NEIGHBORS_MAX,
					 why, sizeof(why));
	if (n < 0) {
		broken(k, FERRY_CFG_net_static_neighbors, "%s", why);
		return;
	}
	if (!a->set) {
		broken(k, FERRY_CFG_net_static_neighbors, "needs net.address to be set");
		return;
	}
	for (int i = 0; i < n; i++) {
		uint32_t ip = nb[i].ip;
		const uint8_t *m = nb[i].mac;
		const char *bad, *subnet = other(k, FERRY_CFG_net_address, buf, sizeof(buf));

		if (!unicast(ip))
			bad = "is not a unicast address", subnet = "";
		else if (ip == a->addr)
			bad = "is net.address itself", subnet = "";
		else if ((ip & mask) != (a->addr & mask))
			bad = "is outside the subnet of ";
		else if (a->prefix_len <= 30 && (ip & ~mask) == 0)
			bad = "is the network address of the subnet of ";
		else if (a->prefix_len <= 30 && (ip & ~mask) == ~mask)
			bad = "is the broadcast address of the subnet of ";
		else
			continue;
		broken(k, FERRY_CFG_net_static_neighbors,
		       "\"%u.%u.%u.%u %02x:%02x:%02x:%02x:%02x:%02x\": %u.%u.%u.%u %s%s", ip >> 24,
		       (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, m[0], m[1], m[2], m[3], m[4], m[5],
		       ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, bad, subnet);
	}
}

static void security_rules(struct check *k)
{
	const struct ferry_config *c = k->c;
	const struct ferry_strlist *l = &c->security_trusted_peers;
	struct ferry_ipv4 nets[64];
	uint8_t key[32];
	char why[160], buf[160];

	for (int i = 0; i < l->n; i++)
		if (ferry_config_parse_trusted(l->v[i], key, nets, 64, why, sizeof(why)) < 0)
			broken(k, FERRY_CFG_security_trusted_peers, "entry %d: %s", i + 1, why);
	if (c->security_mode == FERRY_SEC_NONE)
		return;
	if (c->security_private_key_file[0] != '/')
		broken(k, FERRY_CFG_security_private_key_file,
		       "\"%s\" is not an absolute path, and %s needs a key",
		       c->security_private_key_file,
		       other(k, FERRY_CFG_security_mode, buf, sizeof(buf)));
	if (l->n == 0)
		broken(k, FERRY_CFG_security_trusted_peers,
		       "is empty, so with %s no ferryd could talk to this one",
		       other(k, FERRY_CFG_security_mode, buf, sizeof(buf)));
}

/* Paths are shown escaped: a newline in one must not break the message. */
static void path_rules(struct check *k)
{
	const struct ferry_config *c = k->c;
	char v[256];

	if (c->ipc_shm_dir && c->ipc_shm_dir[0] != '/')
		broken(k, FERRY_CFG_ipc_shm_dir, "%s is not an absolute path",
		       value_of(k, FERRY_CFG_ipc_shm_dir, v, sizeof(v)));
	if (c->ipc_socket && c->ipc_socket[0] != '/')
		broken(k, FERRY_CFG_ipc_socket, "%s is not an absolute path",
		       value_of(k, FERRY_CFG_ipc_socket, v, sizeof(v)));
	else if (c->ipc_socket && strlen(c->ipc_socket) > 107)
		broken(k, FERRY_CFG_ipc_socket, "%s is %zu bytes long; a Unix socket path holds at most 107",
		       value_of(k, FERRY_CFG_ipc_socket, v, sizeof(v)), strlen(c->ipc_socket));
}

/* The four actions are exclusive per packet, so their rates are parts of
 * one probability. Blamed on the drop rate, the one most often raised. */
static void fault_rules(struct check *k)
{
	const struct ferry_config *c = k->c;
	double rx = c->fault_rx_drop + c->fault_rx_dup + c->fault_rx_reorder + c->fault_rx_corrupt;
	double tx = c->fault_tx_drop + c->fault_tx_dup + c->fault_tx_reorder + c->fault_tx_corrupt;

	if (rx > 1.0 + 1e-12)
		broken(k, FERRY_CFG_fault_rx_drop,
		       "fault.rx_drop, rx_dup, rx_reorder and rx_corrupt add up to %g; at most 1", rx);
	if (tx > 1.0 + 1e-12)
		broken(k, FERRY_CFG_fault_tx_drop,
		       "fault.tx_drop, tx_dup, tx_reorder and tx_corrupt add up to %g; at most 1", tx);
}

int fcfg_check_rules(const struct ferry_config *c, fcfg_report_fn *report, void *arg)
{
	struct check k = { .c = c, .report = report, .arg = arg };

	ring_rule(&k);
	order_rules(&k);
	net_rules(&k);
	peer_rules(&k);
	neighbor_rules(&k);
	security_rules(&k);
	path_rules(&k);
	fault_rules(&k);
	return k.broken;
}
