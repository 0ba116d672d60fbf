/* SPDX-License-Identifier: BSD-3-Clause */
#include "port_cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* Index of @def in "a|b|c", 0 if absent. */
static int enum_index(const char *values, const char *def)
{
	size_t dl = strlen(def);
	int i = 0;
	for (const char *p = values; *p; i++) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);
		if (l == dl && strncmp(p, def, l) == 0)
			return i;
		if (!bar)
			break;
		p = bar + 1;
	}
	return 0;
}

/* Defaults straight from FERRY_SETTINGS. Strings point at the table's
 * literals; lists and addresses start empty, as their defaults are. */
static void set_defaults(struct ferry_config *c)
{
	memset(c, 0, sizeof(*c));
#define D_BOOL(f, p, def, desc) c->f = (def);
#define D_INT(f, p, def, lo, hi, desc) c->f = (def);
#define D_SIZE(f, p, def, lo, hi, pow2, desc) c->f = (def);
#define D_DBL(f, p, def, lo, hi, desc) c->f = (def);
#define D_STR(f, p, def, desc) c->f = (char *)(def);
#define D_ENUM(f, p, def, values, desc) c->f = enum_index(values, def);
#define D_LIST(f, p, def, desc)
#define D_IPV4(f, p, def, prefix_ok, desc)
	FERRY_SETTINGS(D_BOOL, D_INT, D_SIZE, D_DBL, D_STR, D_ENUM, D_LIST, D_IPV4)
#undef D_BOOL
#undef D_INT
#undef D_SIZE
#undef D_DBL
#undef D_STR
#undef D_ENUM
#undef D_LIST
#undef D_IPV4
}

static int parse_ipv4(const char *s, bool prefix_ok, struct ferry_ipv4 *out)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	long len = 32;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if (slash) {
		char *end;
		if (!prefix_ok)
			return -EINVAL;
		buf[slash - s] = 0;
		len = strtol(slash + 1, &end, 10);
		if (*end || len < 0 || len > 32)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	out->addr = ntohl(a.s_addr);
	out->prefix_len = (uint8_t)len;
	out->set = true;
	return 0;
}

static int parse_int(const char *s, long long lo, long long hi, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 0);
	if (!*s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"usage: %s [--vdev SPEC]... [-a PCI[,devargs]]... [--hugepages auto|on|off]\n"
		"       [--file-prefix P] [--lcores L] [--memory-mb N] [--extra-args \"A B\"]\n"
		"       [--log-level err|warning|notice|info|debug] [--port-id N] [--queues N]\n"
		"       [--rx-desc N] [--tx-desc N] [--mtu N] [--mbufs N] [--link-wait-ms N]\n"
		"       [--address A.B.C.D/LEN] [--gateway A.B.C.D] [--udp-port N]\n"
		"       [--arp-timeout-ms N] [--seconds N] [--counters]\n"
		"Flags are ferryd's settings of the same name (eal.*, port.*, net.*).\n",
		prog);
}

int ferry_port_cli_parse(struct ferry_port_cli *c, int argc, char **argv, FILE *err)
{
	enum {
		O_VDEV = 256, O_HUGE, O_PREFIX, O_LCORES, O_MEM, O_EXTRA, O_LOG, O_PORT, O_QUEUES,
		O_RXD, O_TXD, O_MTU, O_MBUFS, O_LINK, O_ADDR, O_GW, O_UDP, O_ARP, O_SECS, O_COUNTERS
	};
	static const struct option opts[] = {
		{"vdev", required_argument, NULL, O_VDEV},
		{"allow", required_argument, NULL, 'a'},
		{"hugepages", required_argument, NULL, O_HUGE},
		{"file-prefix", required_argument, NULL, O_PREFIX},
		{"lcores", required_argument, NULL, O_LCORES},
		{"memory-mb", required_argument, NULL, O_MEM},
		{"extra-args", required_argument, NULL, O_EXTRA},
		{"log-level", required_argument, NULL, O_LOG},
		{"port-id", required_argument, NULL, O_PORT},
		{"queues", required_argument, NULL, O_QUEUES},
		{"rx-desc", required_argument, NULL, O_RXD},
		{"tx-desc", required_argument, NULL, O_TXD},
		{"mtu", required_argument, NULL, O_MTU},
		{"mbufs", required_argument, NULL, O_MBUFS},
		{"link-wait-ms", required_argument, NULL, O_LINK},
		{"address", required_argument, NULL, O_ADDR},
		{"gateway", required_argument, NULL, O_GW},
		{"udp-port", required_argument, NULL, O_UDP},
		{"arp-timeout-ms", required_argument, NULL, O_ARP},
		{"seconds", required_argument, NULL, O_SECS},
		{"counters", no_argument, NULL, O_COUNTERS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct ferry_config *cfg = &c->cfg;
	int o, li, rc = 0;
	int64_t v;

	memset(c, 0, sizeof(*c));
	set_defaults(cfg);
	cfg->eal_vdevs.v = c->vdevs;
	cfg->eal_allow.v = c->allow;
	optind = 1;
	opterr = 0;
	while (rc == 0 && (li = -1, o = getopt_long(argc, argv, "a:h", opts, &li)) != -1) {
		switch (o) {
		case O_VDEV:
		case 'a': {
			struct ferry_strlist *l = o == 'a' ? &cfg->eal_allow : &cfg->eal_vdevs;
			if (l->n == FERRY_PORT_CLI_MAX_LIST)
				rc = -EINVAL;
			else
				l->v[l->n++] = optarg;
			break;
		}
		case O_HUGE:
			if (strcmp(optarg, "auto") && strcmp(optarg, "on") && strcmp(optarg, "off"))
				rc = -EINVAL;
			else
				cfg->eal_hugepages = enum_index("auto|on|off", optarg);
			break;
		case O_PREFIX:
			cfg->eal_file_prefix = optarg;
			break;
		case O_LCORES:
			cfg->eal_lcores = optarg;
			break;
		case O_EXTRA:
			cfg->eal_extra_args = optarg;
			break;
		case O_LOG:
			cfg->log_level = enum_index("err|warning|notice|info|debug", optarg);
			break;
		case O_MEM:
			rc = parse_int(optarg, 16, 65536, &cfg->eal_memory_mb);
			break;
		case O_PORT:
			rc = parse_int(optarg, 0, 1023, &cfg->port_id);
			cfg->src[FERRY_CFG_port_id] = FERRY_SRC_CLI;
			break;
		case O_QUEUES:
			rc = parse_int(optarg, 1, 32, &cfg->port_queues);
			break;
		case O_RXD:
			rc = parse_int(optarg, 64, 16384, &cfg->port_rx_desc);
			break;
		case O_TXD:
			rc = parse_int(optarg, 64, 16384, &cfg->port_tx_desc);
			break;
		case O_MTU:
			rc = parse_int(optarg, 576, 9001, &cfg->port_mtu);
			break;
		case O_MBUFS:
			rc = parse_int(optarg, 1023, 1048575, &cfg->port_mbufs);
			break;
		case O_LINK:
			rc = parse_int(optarg, 0, 120000, &cfg->port_link_wait_ms);
			break;
		case O_ADDR:
			rc = parse_ipv4(optarg, true, &cfg->net_address);
			break;
		case O_GW:
			rc = parse_ipv4(optarg, false, &cfg->net_gateway);
			break;
		case O_UDP:
			rc = parse_int(optarg, 1, 65535, &cfg->net_udp_port);
			break;
		case O_ARP:
			rc = parse_int(optarg, 1000, 3600000, &cfg->net_arp_timeout_ms);
			break;
		case O_SECS:
			if (parse_int(optarg, 0, 86400, &v) == 0)
				c->seconds = (long)v;
			else
				rc = -EINVAL;
			break;
		case O_COUNTERS:
			c->counters = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 1;
		default:
			fprintf(err, "%s: unknown or incomplete flag %s\n", argv[0], argv[optind - 1]);
			usage(err, argv[0]);
			return -EINVAL;
		}
		if (rc)
			fprintf(err, "%s: bad value for --%s: %s\n", argv[0], li >= 0 ? opts[li].name : "allow",
				optarg);
	}
	if (rc == 0 && optind < argc) {
		fprintf(err, "%s: unexpected argument %s\n", argv[0], argv[optind]);
		rc = -EINVAL;
	}
	return rc;
}
