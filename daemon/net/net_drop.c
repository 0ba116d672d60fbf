/* SPDX-License-Identifier: BSD-3-Clause */
#include "net_drop.h"

#define X_NAME(e, name, desc) [FERRY_DROP_##e] = name,
#define X_DESC(e, name, desc) [FERRY_DROP_##e] = desc,
static const char *const drop_names[FERRY_DROP_COUNT] = {FERRY_DROP_REASONS(X_NAME)};
static const char *const drop_descs[FERRY_DROP_COUNT] = {FERRY_DROP_REASONS(X_DESC)};
#undef X_NAME
#undef X_DESC

static const char *const verdict_names[FERRY_NET_VERDICT_COUNT] = {
	[FERRY_NET_DROP] = "drop",
	[FERRY_NET_UDP] = "udp",
	[FERRY_NET_ARP_REQUEST] = "arp_request",
	[FERRY_NET_ARP_REPLY] = "arp_reply",
	[FERRY_NET_ICMP_ECHO] = "icmp_echo",
	[FERRY_NET_ICMP_FRAG_NEEDED] = "icmp_frag_needed",
};

const char *ferry_drop_name(enum ferry_drop_reason r)
{
	return (unsigned)r < FERRY_DROP_COUNT ? drop_names[r] : "unknown";
}

const char *ferry_drop_desc(enum ferry_drop_reason r)
{
	return (unsigned)r < FERRY_DROP_COUNT ? drop_descs[r] : "unknown";
}

const char *ferry_net_verdict_name(enum ferry_net_verdict v)
{
	return (unsigned)v < FERRY_NET_VERDICT_COUNT ? verdict_names[v] : "unknown";
}
