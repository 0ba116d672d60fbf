/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferryd settings: one table, three sources.
 *
 * Every setting is one row of FERRY_SETTINGS below: a type, a C field name,
 * its config-file path (libconfig syntax, "group.key"), a default, a range or
 * set of allowed values, and a one-line description. The environment variable
 * and the command-line flag are derived from the path, never spelled twice:
 *
 *     file path   ipc.shm_dir
 *     env var     FERRY_IPC_SHM_DIR      ("FERRY_" + upper case, '.' -> '_')
 *     flag        --ipc.shm_dir=VALUE    (also --ipc-shm-dir=VALUE)
 *
 * Precedence: command line > environment > config file > built-in default.
 * The config file is FERRY_DEFAULT_CONFIG_FILE (/etc/ferry/ferryd.conf when
 * installed under /usr) unless -c/--config or FERRY_CONFIG names another; a
 * missing default file is not an error, a missing named file is.
 *
 * In the file, the dotted path is nested groups:  ipc = { shm_dir = "/x"; };
 * Unknown groups and keys there are errors, as are unknown flags and unknown
 * FERRY_* variables -- except the ones that belong to someone else and are
 * skipped: FERRY_CONFIG (the file to read), FERRY_SOCKET and every
 * FERRY_CLIENT_* (read by libferry, and commonly exported to a whole
 * session). No setting may therefore derive one of those names.
 *
 * Flags: --path=VALUE or --path VALUE, with the dashed spelling
 * (--ipc-shm-dir) accepted too. A boolean flag with no "=VALUE" means true,
 * unless the next argument does not start with '-', which is then its value.
 *
 * Row macros, all taking (field, path, default, ..., description):
 *   FS_BOOL  (f, p, def, desc)                 in a file a libconfig boolean;
 *                                              in env/flag true/false, yes/no,
 *                                              on/off, 1/0, any letter case
 *   FS_INT   (f, p, def, min, max, desc)       int64, decimal or 0x hex; in a
 *                                              file int or int64 ("L"); beyond
 *                                              32 bits libconfig needs the L
 *   FS_SIZE  (f, p, def, min, max, pow2, desc) bytes, suffix k/K, m/M, g/G
 *                                              (powers of 1024); pow2 != 0
 *                                              demands a power of two; in a
 *                                              file an integer or a string
 *   FS_DBL   (f, p, def, min, max, desc)       double, e.g. a rate 0..1
 *   FS_STR   (f, p, def, desc)                 string; "" is allowed
 *   FS_ENUM  (f, p, def, values, desc)         one of "a|b|c"; stored as the
 *                                              index into values
 *   FS_LIST  (f, p, def, desc)                 list of strings; in a file a
 *                                              libconfig list or array of
 *                                              non-empty strings; in env/flag
 *                                              (and def) separated by blanks,
 *                                              not commas, because DPDK device
 *                                              arguments contain commas; a
 *                                              value in brackets, ["a", "b"],
 *                                              is read as a libconfig array
 *   FS_IPV4  (f, p, def, prefix_ok, desc)      dotted quad, with "/len"
 *                                              required when prefix_ok and
 *                                              refused otherwise; "" = unset
 *
 * After loading, strings are never NULL (an empty value is "").
 */
#ifndef FERRY_CONFIG_H
#define FERRY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The build sets this from its sysconfdir; see config/meson.build. */
#ifndef FERRY_DEFAULT_CONFIG_FILE
#define FERRY_DEFAULT_CONFIG_FILE "/etc/ferry/ferryd.conf"
#endif

/* clang-format off */
#define FERRY_SETTINGS(FS_BOOL, FS_INT, FS_SIZE, FS_DBL, FS_STR, FS_ENUM, FS_LIST, FS_IPV4) \
  /* DPDK environment abstraction layer */ \
  FS_STR (eal_lcores,      "eal.lcores",      "0", \
          "EAL --lcores: the daemon's loop runs on the first lcore; \"0@(0-1)\" lets it float over CPUs 0 and 1") \
  FS_LIST(eal_vdevs,       "eal.vdevs",       "", \
          "virtual devices (--vdev), e.g. net_af_packet0,iface=eth1") \
  FS_LIST(eal_allow,       "eal.allow",       "", \
          "PCI allow-list (-a) with optional devargs, e.g. 0000:00:06.0,large_llq_hdr=1 (ENA)") \
  FS_ENUM(eal_hugepages,   "eal.hugepages",   "auto", "auto|on|off", \
          "hugepage memory: on = --in-memory on hugepages, off = --no-huge, auto = on when free hugepages exist") \
  FS_INT (eal_memory_mb,   "eal.memory_mb",   256, 16, 65536, \
          "memory EAL reserves in MiB (-m)") \
  FS_STR (eal_file_prefix, "eal.file_prefix", "ferryd", \
          "EAL --file-prefix, used when hugepages are off") \
  FS_STR (eal_extra_args,  "eal.extra_args",  "", \
          "further EAL arguments, split on spaces") \
  /* NIC port */ \
  FS_INT (port_id,         "port.id",         0, 0, 1023, \
          "DPDK port id to own") \
  FS_INT (port_queues,     "port.queues",     1, 1, 32, \
          "RX/TX queue pairs (ENA: up to the ENI's queue count)") \
  FS_INT (port_rx_desc,    "port.rx_desc",    1024, 64, 16384, \
          "RX descriptors per queue: a power of two within the driver's limits (ENA: 128 up to the ENI's ring size), checked at start") \
  FS_INT (port_tx_desc,    "port.tx_desc",    1024, 64, 16384, \
          "TX descriptors per queue: a power of two within the driver's limits (ENA: 128 up to the ENI's ring size), checked at start") \
  FS_INT (port_mtu,        "port.mtu",        1500, 576, 9001, \
          "IP MTU of the port; 9001 on AWS ENA within a VPC") \
  FS_INT (port_mbufs,      "port.mbufs",      8191, 1023, 1048575, \
          "mbufs in the port's pool (on the port's NUMA node)") \
  FS_INT (port_link_wait_ms, "port.link_wait_ms", 5000, 0, 120000, \
          "how long to wait for link up at start") \
  /* IPv4 host */ \
  FS_IPV4(net_address,     "net.address",     "", 1, \
          "local IPv4 address with prefix length, e.g. 10.0.1.5/24; empty = local mode, no NIC") \
  FS_IPV4(net_gateway,     "net.gateway",     "", 0, \
          "IPv4 gateway for off-subnet peers (on AWS: the subnet's first address)") \
  FS_INT (net_udp_port,    "net.udp_port",    31850, 1, 65535, \
          "UDP port ferry listens on and sends to") \
  FS_INT (net_udp_port_count, "net.udp_port_count", 1, 1, 4096, \
          "UDP ports from net.udp_port on, one per flow: ferry accepts packets to any of them and sends each flow from one, so flows spread over RSS queues and past per-flow caps (same on every host)") \
  FS_INT (net_arp_timeout_ms, "net.arp_timeout_ms", 60000, 1000, 3600000, \
          "how long a resolved ARP entry stays valid") \
  FS_LIST(net_allowed_peers, "net.allowed_peers", "", \
          "subnets (a.b.c.d/len) whose ferryds may talk to this one; empty = any. Their packets are counted and dropped before any session lookup") \
  FS_LIST(net_static_neighbors, "net.static_neighbors", "", \
          "neighbours at a fixed MAC, entries \"a.b.c.d xx:xx:xx:xx:xx:xx\" (in a variable or flag the same words, blank-separated), e.g. the VPC gateway at the MAC `ip neigh` shows for it; ferryd never sends ARP requests for them and nothing it hears replaces them. At most 16, on the subnet of net.address") \
  FS_LIST(net_peer_mtus,   "net.peer_mtus",   "", \
          "path MTU by peer subnet, entries \"a.b.c.d/len MTU\" (576..9001), the first that holds a peer wins, e.g. [\"10.1.0.0/16 8500\", \"0.0.0.0/0 1500\"]; empty = port.mtu for every peer. ICMP fragmentation needed and lost large packets lower it per peer, probes raise it back up to this") \
  /* privileges */ \
  FS_STR (priv_user,       "privileges.user",  "ferry", \
          "user to run as once the port and IPC are set up") \
  FS_STR (priv_group,      "privileges.group", "ferry", \
          "group to run as once the port and IPC are set up") \
  FS_BOOL(priv_allow_root, "privileges.allow_root", false, \
          "keep running as root (refused unless set)") \
  /* security between ferryds (daemon/core/SECURITY.md) */ \
  FS_ENUM(security_mode,   "security.mode",   "none", "none|authenticate|encrypt", \
          "what protects packets between ferryds: none; authenticate (each packet proven to come, unchanged, from a trusted ferryd; contents readable on the wire); encrypt (proven and hidden). Both ends must run the same mode, or their sessions are refused") \
  FS_STR (security_private_key_file, "security.private_key_file", "/etc/ferry/ferryd.key", \
          "this ferryd's private key (X25519, base64 on one line), read at start when security.mode is not none; mode 0600, owned by privileges.user or root. ferryd --gen-key writes it and prints the public key") \
  FS_LIST(security_trusted_peers, "security.trusted_peers", "", \
          "the ferryds this one trusts: each entry a public key (base64, as ferryd --gen-key prints it) and the addresses or subnets it may speak from, e.g. \"<key> 10.0.1.0/24 10.0.2.7\". As a flag or in the environment write the list in brackets: [\"<key> 10.0.1.7\", ...]") \
  /* local clients */ \
  FS_LIST(clients_allowed_users,  "clients.allowed_users",  "", \
          "user names allowed to attach, besides root and the daemon's user") \
  FS_LIST(clients_allowed_groups, "clients.allowed_groups", "ferry", \
          "groups whose members may attach") \
  FS_STR (ipc_shm_dir,     "ipc.shm_dir",     "/dev/shm/ferry", \
          "directory for ring and status files") \
  FS_STR (ipc_socket,      "ipc.socket",      "/run/ferry/ferryd.sock", \
          "control socket clients attach through") \
  FS_SIZE(ipc_client_ring_size,  "ipc.client_ring_size",  4194304, 65536, 1073741824, 1, \
          "bytes in each client<->daemon ring (two per client)") \
  FS_SIZE(ipc_session_ring_size, "ipc.session_ring_size", 4194304, 65536, 1073741824, 1, \
          "bytes in each ring of a local session (two per session)") \
  FS_SIZE(ipc_max_message_size,  "ipc.max_message_size",  1048576, 64, 1073741824, 0, \
          "largest message a client may send; at most a quarter of the smallest ring") \
  FS_INT (limits_max_clients,    "limits.max_clients",    64, 1, 4096, \
          "clients attached at once") \
  FS_INT (limits_max_sessions,   "limits.max_sessions",   1024, 1, 65536, \
          "sessions open at once, all clients together") \
  FS_INT (limits_max_sessions_per_client, "limits.max_sessions_per_client", 256, 1, 65536, \
          "sessions one client may have open") \
  FS_INT (limits_max_listens_per_client,  "limits.max_listens_per_client",  16, 1, 1024, \
          "services one client may listen on") \
  FS_INT (limits_max_half_open_per_peer,  "limits.max_half_open_per_peer",  128, 1, 65536, \
          "sessions from one peer address announced but not yet accepted; OPENs beyond are refused") \
  /* main loop */ \
  FS_ENUM(idle_strategy,   "idle.strategy",   "interrupt", "spin|yield|backoff|interrupt", \
          "what the loop does with no work: spin, sched_yield, spin then yield then sleep " \
          "(backoff), or backoff that sleeps on the NIC's receive interrupts where its PMD " \
          "has them (interrupt)") \
  FS_INT (idle_spin_us,    "idle.spin_us",    5, 0, 1000000, \
          "backoff, interrupt: busy-poll this long before yielding") \
  FS_INT (idle_yield_us,   "idle.yield_us",   2000, 0, 1000000, \
          "backoff, interrupt: then sched_yield this long (others with work get the CPU) before sleeping") \
  FS_INT (idle_sleep_us,   "idle.sleep_us",   1000, 1, 1000000, \
          "longest sleep while a NIC without receive interrupts needs polling") \
  /* transport timers */ \
  FS_INT (transport_open_timeout_ms,  "transport.open_timeout_ms",  3000, 10, 600000, \
          "how long a session open may take before it fails") \
  FS_INT (transport_keepalive_ms,     "transport.keepalive_ms",     1000, 10, 600000, \
          "a peer silent this long is sent a PING, and again each interval (one per peer, however many sessions)") \
  FS_INT (transport_peer_timeout_ms,  "transport.peer_timeout_ms",  5000, 50, 3600000, \
          "silence after which a peer is declared dead") \
  FS_INT (transport_rto_min_us,       "transport.rto_min_us",       200, 10, 10000000, \
          "smallest retransmission timeout") \
  FS_INT (transport_rto_max_us,       "transport.rto_max_us",       200000, 100, 60000000, \
          "largest retransmission timeout after backoff") \
  FS_INT (transport_ack_delay_us,     "transport.ack_delay_us",     50, 0, 100000, \
          "longest wait for an answer to carry an ack before an ACK packet goes") \
  FS_INT (transport_cc_target_delay_us, "transport.cc_target_delay_us", 50, 1, 10000000, \
          "congestion control: the queueing-plus-path delay a session aims below (Swift)") \
  FS_DBL (transport_cc_min_cwnd,      "transport.cc_min_cwnd",      1.0, 0.001, 1024.0, \
          "congestion control: smallest window, packets; below 1 a session paces one packet per RTT/cwnd") \
  FS_INT (shutdown_drain_ms,          "shutdown.drain_ms",          2000, 0, 600000, \
          "on SIGTERM, how long to drain sessions before exiting") \
  /* logging */ \
  FS_ENUM(log_level,       "log.level",       "info", "err|warning|notice|info|debug", \
          "least important level logged to stderr") \
  /* fault injection, for tests and rehearsals: off by default */ \
  FS_INT (fault_seed,      "fault.seed",      1, 0, 4294967295LL, \
          "seed of the fault injector's random stream") \
  FS_DBL (fault_rx_drop,   "fault.rx_drop",   0.0, 0.0, 1.0, "probability a received packet is dropped") \
  FS_DBL (fault_rx_dup,    "fault.rx_dup",    0.0, 0.0, 1.0, "probability a received packet is duplicated") \
  FS_DBL (fault_rx_reorder,"fault.rx_reorder",0.0, 0.0, 1.0, "probability a received packet is held back and delivered after 1-3 later ones (or 200 us)") \
  FS_DBL (fault_rx_corrupt,"fault.rx_corrupt",0.0, 0.0, 1.0, "probability a received packet has one bit flipped (checksums then drop it)") \
  FS_DBL (fault_tx_drop,   "fault.tx_drop",   0.0, 0.0, 1.0, "probability a sent ferry packet is dropped") \
  FS_DBL (fault_tx_dup,    "fault.tx_dup",    0.0, 0.0, 1.0, "probability a sent ferry packet is duplicated") \
  FS_DBL (fault_tx_reorder,"fault.tx_reorder",0.0, 0.0, 1.0, "probability a sent ferry packet is held back and sent after 1-3 later ones (or 200 us)") \
  FS_DBL (fault_tx_corrupt,"fault.tx_corrupt",0.0, 0.0, 1.0, "probability a sent ferry packet has one bit flipped (undetectable with TX checksum offload)") \
  FS_INT (fault_port_reset_ms, "fault.port_reset_ms", 0, 0, 3600000, \
          "every N ms, raise the port's device-reset event, as an ENA does when it times out: the port is stopped, reset (where the driver can), configured and started again while sessions carry on; 0 = off")
/* clang-format on */

enum ferry_cfg_source {
	FERRY_SRC_DEFAULT = 0,
	FERRY_SRC_FILE,
	FERRY_SRC_ENV,
	FERRY_SRC_CLI,
};

/* enum values, in the order of their FS_ENUM row */
enum { FERRY_HUGE_AUTO, FERRY_HUGE_ON, FERRY_HUGE_OFF };
enum { FERRY_IDLE_SPIN, FERRY_IDLE_YIELD, FERRY_IDLE_BACKOFF, FERRY_IDLE_INTERRUPT };
enum { FERRY_LOG_ERR, FERRY_LOG_WARNING, FERRY_LOG_NOTICE, FERRY_LOG_INFO, FERRY_LOG_DEBUG };
enum { FERRY_SEC_NONE, FERRY_SEC_AUTHENTICATE, FERRY_SEC_ENCRYPT };

struct ferry_strlist {
	char **v; /* n strings, each malloc'd */
	int n;
};

struct ferry_ipv4 {
	uint32_t addr; /* host byte order; 0 with set == false means unset */
	uint8_t prefix_len;
	bool set;
};

/* One member per row; ids index the per-setting source array. */
#define FS_X_ID(f, ...) FERRY_CFG_##f,
enum ferry_cfg_id {
	FERRY_SETTINGS(FS_X_ID, FS_X_ID, FS_X_ID, FS_X_ID, FS_X_ID, FS_X_ID, FS_X_ID, FS_X_ID)
	FERRY_CFG_COUNT
};
#undef FS_X_ID

#define FS_X_BOOL(f, ...) bool f;
#define FS_X_INT(f, ...) int64_t f;
#define FS_X_DBL(f, ...) double f;
#define FS_X_STR(f, ...) char *f;
#define FS_X_ENUM(f, ...) int f;
#define FS_X_LIST(f, ...) struct ferry_strlist f;
#define FS_X_IPV4(f, ...) struct ferry_ipv4 f;
struct ferry_config {
	FERRY_SETTINGS(FS_X_BOOL, FS_X_INT, FS_X_INT, FS_X_DBL, FS_X_STR, FS_X_ENUM, FS_X_LIST, FS_X_IPV4)
	char *config_file;                       /* the file read, or NULL */
	enum ferry_cfg_source src[FERRY_CFG_COUNT];
};
#undef FS_X_BOOL
#undef FS_X_INT
#undef FS_X_DBL
#undef FS_X_STR
#undef FS_X_ENUM
#undef FS_X_LIST
#undef FS_X_IPV4

/** What the daemon's command line asked for besides settings. */
struct ferry_cli_action {
	bool check_config; /* --check-config */
	bool help;         /* -h, --help */
	bool version;      /* -V, --version */
	bool gen_key;      /* --gen-key */
	bool public_key;   /* --public-key */
};

/**
 * Fill @c from defaults, the config file, FERRY_* environment variables and
 * the command line, in that order of increasing precedence, then check the
 * cross-setting rules (e.g. max_message_size <= ring/4).
 *
 * Loading does not stop at the first error: every bad value is reported and
 * the setting keeps the value of the next lower source.
 *
 * With -h/--help or -V/--version on the command line only the command line
 * is read (neither file nor environment), so help and version work with a
 * broken config; act on @act before looking at the return value.
 *
 * @param c     filled even on error as far as read; its previous contents
 *              are ignored, so call ferry_config_free() before reusing it
 * @param argc  number of entries in @argv
 * @param argv  as given to main(), argv[0] the program; arguments that are
 *              not a known flag are errors
 * @param envp  environment to read FERRY_* from (pass environ); may be NULL
 * @param act   out: the non-setting flags seen
 * @param err   stream every error is written to, one line each, naming the
 *              key, its source ("file /etc/ferry/ferryd.conf line 12",
 *              "env FERRY_X", "flag --x") and what was expected, e.g.
 *              ferryd: ipc.client_ring_size: env FERRY_IPC_CLIENT_RING_SIZE:
 *              "3000" is not a power of two between 64K and 1G
 * @return 0 when every setting is valid, else the number of errors (> 0)
 */
int ferry_config_load(struct ferry_config *c, int argc, char **argv, char **envp,
		      struct ferry_cli_action *act, FILE *err);

/** Free what ferry_config_load() allocated; @c may then be loaded again. */
void ferry_config_free(struct ferry_config *c);

/** Print "key = value (source)" for every setting, in table order. Values
 *  are in config-file syntax (strings quoted, lists ["a", "b"], sizes as
 *  plain integers, addresses as "a.b.c.d/len"), so they can be pasted back. */
void ferry_config_print(const struct ferry_config *c, FILE *out);

/** Print the --help text: usage, the non-setting flags, then every setting
 *  with its flag, env var, default and description. */
void ferry_config_usage(FILE *out, const char *argv0);

/** Parse "a.b.c.d/len" strictly (as net.address is). @return 0 or -1 */
int ferry_config_parse_cidr(const char *text, uint32_t *addr, uint8_t *prefix_len);

/** One entry of net.static_neighbors. */
struct ferry_neighbor {
	uint32_t ip; /* host byte order */
	uint8_t mac[6];
};

#define FERRY_STATIC_NEIGHBORS_MAX 16

/**
 * Read net.static_neighbors. The list's items, split on blanks, are taken
 * in pairs, an IPv4 address then a MAC, so the file's
 * ["10.0.1.1 02:aa:bb:cc:dd:ee"] and a variable's
 * "10.0.1.1 02:aa:bb:cc:dd:ee" are the same one entry. Checks the form of
 * each pair (dotted quad, xx:xx:xx:xx:xx:xx unicast MAC, no address twice);
 * the settings rules check the addresses against net.address.
 *
 * @param out  room for @p max entries
 * @param why  on error, what is wrong, naming the entry
 * @return the number of entries, or -1
 */
int ferry_config_parse_neighbors(const struct ferry_strlist *l, struct ferry_neighbor *out,
				 int max, char *why, size_t n);
/** The path MTU range a net.peer_mtus entry takes (port.mtu's). */
#define FERRY_CONFIG_PEER_MTU_MIN 576
#define FERRY_CONFIG_PEER_MTU_MAX 9001
/** Parse a net.peer_mtus entry, "a.b.c.d/len MTU" (blanks between, an MTU
 *  in FERRY_CONFIG_PEER_MTU_MIN..MAX). @return 0 or -1 */
int ferry_config_parse_peer_mtu(const char *text, uint32_t *addr, uint8_t *prefix_len,
				uint16_t *mtu);
/**
 * Parse one security.trusted_peers entry: a public key (base64 of 32
 * bytes) and one or more addresses (a.b.c.d, taken as /32) or subnets
 * (a.b.c.d/len), separated by blanks.
 * @param key   out: the key
 * @param nets  out: up to @p max addresses and prefix lengths, host order
 * @param why   out: what is wrong, on failure (@p whylen bytes)
 * @return how many addresses (at least 1), or -1
 */
int ferry_config_parse_trusted(const char *entry, uint8_t key[32], struct ferry_ipv4 *nets,
			       int max, char *why, size_t whylen);

/** "default", "file", "env" or "flag". */
const char *ferry_config_source_name(enum ferry_cfg_source s);

#endif
