/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of config loading: the table itself, each source alone, every
 * precedence combination, every kind of bad input with its exact error
 * line, and the cross-setting rules. Output, --help and the shipped
 * example and reference are in test_config_output.c.
 */
#include "config_test_util.h"

/* ---- the table ------------------------------------------------------------ */

static void test_table_names(void **state)
{
	(void)state;
	for (int a = 0; a < FERRY_CFG_COUNT; a++) {
		char ea[FCFG_NAME_MAX], fa[FCFG_NAME_MAX], da[FCFG_NAME_MAX];
		const char *path = fcfg_table[a].path;

		assert_true(strlen(path) + 7 < FCFG_NAME_MAX);
		assert_true(fcfg_group_len(path) > 0);
		assert_non_null(fcfg_group_title(a));
		assert_non_null(fcfg_table[a].desc);
		fcfg_name(a, FCFG_NAME_ENV, ea);
		fcfg_name(a, FCFG_NAME_FLAG, fa);
		fcfg_name(a, FCFG_NAME_DASH, da);
		/* Names other programs own must never be derived. */
		assert_false(fcfg_env_foreign(ea, strlen(ea)));
		assert_int_equal(fcfg_find(FCFG_NAME_ENV, ea, strlen(ea)), a);
		assert_int_equal(fcfg_find(FCFG_NAME_FLAG, fa, strlen(fa)), a);
		assert_int_equal(fcfg_find(FCFG_NAME_FLAG, da, strlen(da)), a);
		assert_int_equal(fcfg_find(FCFG_NAME_PATH, path, strlen(path)), a);
		/* No setting's spelling may be another's: first match wins. */
		for (int b = a + 1; b < FERRY_CFG_COUNT; b++) {
			char eb[FCFG_NAME_MAX], db[FCFG_NAME_MAX];

			fcfg_name(b, FCFG_NAME_ENV, eb);
			fcfg_name(b, FCFG_NAME_DASH, db);
			assert_string_not_equal(ea, eb);
			assert_string_not_equal(da, db);
			assert_string_not_equal(fa, db);
		}
		/* A group is never also a setting. */
		assert_false(fcfg_is_group(path));
	}
	assert_true(fcfg_env_foreign("FERRY_CONFIG", 12));
	assert_true(fcfg_env_foreign("FERRY_SOCKET", 12));
	assert_true(fcfg_env_foreign("FERRY_CLIENT_IDLE", 17));
	assert_false(fcfg_env_foreign("FERRY_CLIENTS_ALLOWED_USERS", 27));
}

static void test_table_defaults_valid(void **state)
{
	(void)state;
	for (int id = 0; id < FERRY_CFG_COUNT; id++) {
		const struct fcfg_setting *s = &fcfg_table[id];
		union fcfg_value v;

		switch (s->type) {
		case FCFG_INT:
		case FCFG_SIZE:
			assert_in_range(s->def_i, s->min, s->max);
			if (s->type == FCFG_SIZE && s->pow2)
				assert_int_equal(s->def_i & (s->def_i - 1), 0);
			break;
		case FCFG_DBL:
			assert_true(s->def_d >= s->dmin && s->def_d <= s->dmax);
			break;
		case FCFG_BOOL:
			break;
		default:
			if (!fcfg_parse_text(s, s->def_s, &v))
				fail_msg("%s: bad default \"%s\"", s->path, s->def_s);
			fcfg_value_free(s->type, &v);
		}
	}
}

static void test_number_forms(void **state)
{
	static const struct {
		double d;
		const char *text;
	} dbl[] = {
		{ 0.0, "0.0" }, { 1.0, "1.0" }, { 0.1, "0.1" }, { 0.3, "0.3" }, { 1e-3, "0.001" },
		{ 1e-6, "1e-06" }, { 1500.0, "1500.0" }, { 0.000123456789012345, "0.000123456789012345" },
		{ 1e20, "1e+20" },
	};
	static const struct {
		enum ferry_cfg_id id;
		const char *text;
		int64_t want;
	} num[] = {
		{ FERRY_CFG_ipc_client_ring_size, "0x10000", 65536 },
		{ FERRY_CFG_ipc_client_ring_size, "64K", 65536 },
		{ FERRY_CFG_ipc_client_ring_size, " 1g ", 1 << 30 },
		{ FERRY_CFG_ipc_client_ring_size, "1024M", 1 << 30 },
		{ FERRY_CFG_ipc_max_message_size, "100", 100 },
		{ FERRY_CFG_fault_seed, "4294967295L", 4294967295LL },
		{ FERRY_CFG_fault_seed, "+7", 7 },
		{ FERRY_CFG_port_mtu, "0x5dc", 1500 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(dbl) / sizeof(dbl[0]); i++) {
		char buf[64] = "";
		FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

		fcfg_put_double(dbl[i].d, f);
		fclose(f);
		assert_string_equal(buf, dbl[i].text);
	}
	for (size_t i = 0; i < sizeof(num) / sizeof(num[0]); i++) {
		union fcfg_value v;

		if (!fcfg_parse_text(&fcfg_table[num[i].id], num[i].text, &v))
			fail_msg("%s: \"%s\" refused", fcfg_table[num[i].id].path, num[i].text);
		assert_int_equal(v.i, num[i].want);
	}
}

/* ---- defaults and single sources ------------------------------------------ */

static void test_defaults(void **state)
{
	struct res r;

	(void)state;
	load(&r, NONE, NONE);
	assert_clean(&r);
	assert_null(r.c.config_file); /* the default file is absent: fine */
	for (int id = 0; id < FERRY_CFG_COUNT; id++)
		assert_int_equal(r.c.src[id], FERRY_SRC_DEFAULT);
	assert_string_equal(r.c.eal_lcores, "0");
	assert_int_equal(r.c.eal_vdevs.n, 0);
	assert_int_equal(r.c.eal_hugepages, FERRY_HUGE_AUTO);
	assert_int_equal(r.c.port_mtu, 1500);
	assert_false(r.c.net_address.set);
	assert_false(r.c.priv_allow_root);
	assert_int_equal(r.c.clients_allowed_groups.n, 1);
	assert_string_equal(r.c.clients_allowed_groups.v[0], "ferry");
	assert_string_equal(r.c.eal_extra_args, "");
	assert_int_equal(r.c.ipc_client_ring_size, 4194304);
	assert_int_equal(r.c.idle_strategy, FERRY_IDLE_INTERRUPT);
	assert_int_equal(r.c.log_level, FERRY_LOG_INFO);
	assert_int_equal(r.c.fault_seed, 1);
	assert_true(r.c.fault_rx_drop == 0.0);
	assert_false(r.act.help || r.act.version || r.act.check_config);
	done(&r);
}

static void test_default_file_read(void **state)
{
	struct res r;

	(void)state;
	write_file(DEFAULT_FILE, "port = { mtu = 9001; };\n");
	load(&r, NONE, NONE);
	assert_clean(&r);
	assert_string_equal(r.c.config_file, DEFAULT_FILE);
	assert_int_equal(r.c.port_mtu, 9001);
	assert_int_equal(r.c.src[FERRY_CFG_port_mtu], FERRY_SRC_FILE);
	done(&r);
}

static void test_file_alone(void **state)
{
	struct res r;

	(void)state;
	load_file(&r,
		  "eal = { lcores = \"1-3\"; vdevs = [\"net_af_packet0,iface=veth0\", \"net_tap0\"];\n"
		  "        allow = (\"0000:00:06.0\"); hugepages = \"OFF\"; };\n"
		  "port = { mtu = 9001; mbufs = 0x3fff; };\n"
		  "net = { address = \"10.0.1.5/24\"; gateway = \"10.0.1.1\"; };\n"
		  "privileges = { allow_root = true; };\n"
		  "clients = { allowed_users = \"alice bob\"; allowed_groups = []; };\n"
		  "ipc = { client_ring_size = \"8m\"; session_ring_size = 1048576L;\n"
		  "        max_message_size = 65536; };\n"
		  "fault = { seed = 4294967295L; rx_drop = 0.25; tx_dup = 1; };\n",
		  NONE, NONE);
	assert_clean(&r);
	assert_string_equal(r.c.eal_lcores, "1-3");
	assert_int_equal(r.c.eal_vdevs.n, 2);
	assert_string_equal(r.c.eal_vdevs.v[0], "net_af_packet0,iface=veth0");
	assert_string_equal(r.c.eal_vdevs.v[1], "net_tap0");
	assert_int_equal(r.c.eal_allow.n, 1);
	assert_int_equal(r.c.eal_hugepages, FERRY_HUGE_OFF);
	assert_int_equal(r.c.port_mtu, 9001);
	assert_int_equal(r.c.port_mbufs, 16383);
	assert_true(r.c.net_address.set);
	assert_int_equal(r.c.net_address.addr, 0x0a000105);
	assert_int_equal(r.c.net_address.prefix_len, 24);
	assert_int_equal(r.c.net_gateway.addr, 0x0a000101);
	assert_true(r.c.priv_allow_root);
	assert_int_equal(r.c.clients_allowed_users.n, 2);
	assert_string_equal(r.c.clients_allowed_users.v[1], "bob");
	assert_int_equal(r.c.clients_allowed_groups.n, 0);
	assert_int_equal(r.c.ipc_client_ring_size, 8 << 20);
	assert_int_equal(r.c.ipc_session_ring_size, 1 << 20);
	assert_int_equal(r.c.fault_seed, 4294967295LL);
	assert_true(r.c.fault_rx_drop == 0.25);
	assert_true(r.c.fault_tx_dup == 1.0);
	assert_int_equal(r.c.src[FERRY_CFG_port_mtu], FERRY_SRC_FILE);
	assert_int_equal(r.c.src[FERRY_CFG_fault_seed], FERRY_SRC_FILE);
	assert_int_equal(r.c.src[FERRY_CFG_port_id], FERRY_SRC_DEFAULT);
	done(&r);
}

static void test_env_alone(void **state)
{
	struct res r;

	(void)state;
	load(&r, NONE,
	     ARGS("PATH=/bin", "FERRY_PORT_MTU= 9000 ", "FERRY_EAL_VDEVS=net_af_packet0,iface=a net_tap0",
		  "FERRY_IPC_CLIENT_RING_SIZE=16M", "FERRY_IPC_SHM_DIR=/tmp/x y",
		  "FERRY_PRIVILEGES_ALLOW_ROOT=Yes", "FERRY_IDLE_STRATEGY=spin",
		  "FERRY_NET_ADDRESS=192.168.1.2/16", "FERRY_FAULT_SEED=0x10",
		  "FERRY_FAULT_RX_DUP=1e-3",
		  /* others' variables are left alone */
		  "FERRY_SOCKET=/x", "FERRY_CLIENT_IDLE=spin", "FERRY_CLIENT_=1"));
	assert_clean(&r);
	assert_null(r.c.config_file);
	assert_int_equal(r.c.port_mtu, 9000);
	assert_int_equal(r.c.eal_vdevs.n, 2);
	assert_string_equal(r.c.eal_vdevs.v[0], "net_af_packet0,iface=a");
	assert_int_equal(r.c.ipc_client_ring_size, 16 << 20);
	assert_string_equal(r.c.ipc_shm_dir, "/tmp/x y");
	assert_true(r.c.priv_allow_root);
	assert_int_equal(r.c.idle_strategy, FERRY_IDLE_SPIN);
	assert_int_equal(r.c.net_address.prefix_len, 16);
	assert_int_equal(r.c.fault_seed, 16);
	assert_true(r.c.fault_rx_dup == 1e-3);
	assert_int_equal(r.c.src[FERRY_CFG_port_mtu], FERRY_SRC_ENV);
	assert_int_equal(r.c.src[FERRY_CFG_ipc_shm_dir], FERRY_SRC_ENV);
	assert_int_equal(r.c.src[FERRY_CFG_port_id], FERRY_SRC_DEFAULT);
	done(&r);
}

static void test_flag_alone(void **state)
{
	struct res r;

	(void)state;
	load(&r,
	     ARGS("--port.mtu=9000", "--port.queues", "4", "--ipc-shm-dir=/a", "--ipc-socket", "/b",
		  "--privileges.allow_root", "--eal.vdevs=[\"net_tap0\", \"net_tap1,iface=x\"]",
		  "--eal-allow", "0000:00:06.0,llq_policy=1 0000:00:07.0", "--fault.seed", "-0",
		  "--log.level=DEBUG", "--net.gateway", "", "--fault.tx_drop=0.5",
		  "--check-config"),
	     NONE);
	assert_clean(&r);
	assert_int_equal(r.c.port_mtu, 9000);
	assert_int_equal(r.c.port_queues, 4);
	assert_string_equal(r.c.ipc_shm_dir, "/a");
	assert_string_equal(r.c.ipc_socket, "/b");
	assert_true(r.c.priv_allow_root);
	assert_int_equal(r.c.eal_vdevs.n, 2);
	assert_string_equal(r.c.eal_vdevs.v[1], "net_tap1,iface=x");
	assert_int_equal(r.c.eal_allow.n, 2);
	assert_string_equal(r.c.eal_allow.v[0], "0000:00:06.0,llq_policy=1");
	assert_int_equal(r.c.fault_seed, 0);
	assert_int_equal(r.c.log_level, FERRY_LOG_DEBUG);
	assert_false(r.c.net_gateway.set);
	assert_true(r.c.fault_tx_drop == 0.5);
	assert_true(r.act.check_config);
	assert_int_equal(r.c.src[FERRY_CFG_port_mtu], FERRY_SRC_CLI);
	assert_int_equal(r.c.src[FERRY_CFG_net_gateway], FERRY_SRC_CLI);
	done(&r);

	/* a boolean flag takes a following word as its value */
	load(&r, ARGS("--privileges.allow_root", "off", "--privileges-allow-root=no",
		      "--privileges.allow_root", "on"), NONE);
	assert_clean(&r);
	assert_true(r.c.priv_allow_root);
	done(&r);
	load(&r, ARGS("--privileges.allow_root", "--port.mtu=1500"), NONE);
	assert_clean(&r);
	assert_true(r.c.priv_allow_root);
	done(&r);
	/* the last of a repeated flag wins */
	load(&r, ARGS("--port.mtu=1000", "--port-mtu", "2000"), NONE);
	assert_clean(&r);
	assert_int_equal(r.c.port_mtu, 2000);
	done(&r);
}

static void test_config_file_choice(void **state)
{
	struct res r;
	char a[PATH_MAX * 2], b[PATH_MAX * 2], arg[PATH_MAX * 2 + 16], env[PATH_MAX * 2 + 16];

	(void)state;
	write_file(DEFAULT_FILE, "port = { mtu = 1000; };\n");
	snprintf(a, sizeof(a), "%s", write_file("a.conf", "port = { mtu = 2000; };\n"));
	snprintf(b, sizeof(b), "%s", write_file("b.conf", "port = { mtu = 3000; };\n"));
	snprintf(env, sizeof(env), "FERRY_CONFIG=%s", a);

	load(&r, NONE, ARGS(env));
	assert_clean(&r);
	assert_string_equal(r.c.config_file, a);
	assert_int_equal(r.c.port_mtu, 2000);
	done(&r);

	load(&r, ARGS("-c", b), ARGS(env)); /* the flag wins over FERRY_CONFIG */
	assert_clean(&r);
	assert_string_equal(r.c.config_file, b);
	assert_int_equal(r.c.port_mtu, 3000);
	done(&r);

	snprintf(arg, sizeof(arg), "--config=%s", b);
	load(&r, ARGS(arg), NONE);
	assert_clean(&r);
	assert_int_equal(r.c.port_mtu, 3000);
	done(&r);

	snprintf(arg, sizeof(arg), "-c%s", a);
	load(&r, ARGS("--config", b, arg), NONE); /* the last wins */
	assert_clean(&r);
	assert_int_equal(r.c.port_mtu, 2000);
	done(&r);
}

static void test_include(void **state)
{
	struct res r;

	(void)state;
	assert_int_equal(mkdir("sub", 0700), 0);
	write_file("sub/ipc.conf", "ipc = { shm_dir = \"/inc\"; };\n");
	write_file("sub/main.conf", "port = { mtu = 2000; };\n@include \"ipc.conf\"\n");
	load(&r, ARGS("-c", "sub/main.conf"), NONE);
	assert_clean(&r);
	assert_string_equal(r.c.ipc_shm_dir, "/inc");
	done(&r);
	unlink("sub/ipc.conf");
	unlink("sub/main.conf");
}

/* ---- precedence ----------------------------------------------------------- */

static void test_precedence(void **state)
{
	(void)state;
	/* bit 0: file, bit 1: env, bit 2: flag */
	for (int mask = 0; mask < 8; mask++) {
		struct res r;
		const char *argv[4] = { "-c", NULL, NULL, NULL };
		const char *env[2] = { NULL, NULL };
		int want = 1500;
		enum ferry_cfg_source src = FERRY_SRC_DEFAULT;

		argv[1] = write_file("p.conf", mask & 1 ? "port = { mtu = 1000; };\n" : "");
		if (mask & 1) {
			want = 1000;
			src = FERRY_SRC_FILE;
		}
		if (mask & 2) {
			env[0] = "FERRY_PORT_MTU=2000";
			want = 2000;
			src = FERRY_SRC_ENV;
		}
		if (mask & 4) {
			argv[2] = "--port.mtu=3000";
			want = 3000;
			src = FERRY_SRC_CLI;
		}
		load(&r, argv, env);
		assert_clean(&r);
		assert_int_equal(r.c.port_mtu, want);
		assert_int_equal(r.c.src[FERRY_CFG_port_mtu], src);
		done(&r);
	}
}

/* A bad value keeps what the sources beneath it gave. */
static void test_bad_value_keeps_lower(void **state)
{
	struct res r;

	(void)state;
	load_file(&r, "port = { mtu = 1000; };\nipc = { shm_dir = \"/f\"; };\n",
		  ARGS("--port.mtu=99999", "--ipc.shm_dir=/flag"), ARGS("FERRY_PORT_MTU=2000", "FERRY_IPC_SHM_DIR=/env"));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.c.port_mtu, 2000);
	assert_int_equal(r.c.src[FERRY_CFG_port_mtu], FERRY_SRC_ENV);
	assert_string_equal(r.c.ipc_shm_dir, "/flag");
	done(&r);

	load_file(&r, "port = { mtu = 1000; };\n", NONE, ARGS("FERRY_PORT_MTU=x"));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.c.port_mtu, 1000);
	assert_int_equal(r.c.src[FERRY_CFG_port_mtu], FERRY_SRC_FILE);
	done(&r);
}

/* ---- bad input: one exact line each ----------------------------------------- */

static void test_bad_file_values(void **state)
{
	static const struct {
		const char *text, *line;
	} cases[] = {
		{ "port = { mtu = \"big\"; };", "port.mtu: file %s line 1: \"big\" is not an integer between 576 and 9001" },
		{ "port = { mtu = 9002; };", "port.mtu: file %s line 1: 9002 is not an integer between 576 and 9001" },
		{ "port = { mtu = 1500.0; };", "port.mtu: file %s line 1: 1500.0 is not an integer between 576 and 9001" },
		{ "\nport = {\n  mtu = [1];\n};", "port.mtu: file %s line 3: an array is not an integer between 576 and 9001" },
		{ "privileges = { allow_root = \"yes\"; };", "privileges.allow_root: file %s line 1: \"yes\" is not a boolean (true or false, without quotes)" },
		{ "ipc = { client_ring_size = 3000; };", "ipc.client_ring_size: file %s line 1: 3000 is not a power of two between 64K and 1G" },
		{ "ipc = { client_ring_size = \"96k\"; };", "ipc.client_ring_size: file %s line 1: \"96k\" is not a power of two between 64K and 1G" },
		{ "ipc = { client_ring_size = \"2g\"; };", "ipc.client_ring_size: file %s line 1: \"2g\" is not a power of two between 64K and 1G" },
		{ "ipc = { max_message_size = \"1t\"; };", "ipc.max_message_size: file %s line 1: \"1t\" is not a size between 64 and 1G" },
		{ "ipc = { shm_dir = 5; };", "ipc.shm_dir: file %s line 1: 5 is not a string" },
		{ "idle = { strategy = \"fast\"; };", "idle.strategy: file %s line 1: \"fast\" is not one of spin, yield, backoff, interrupt" },
		{ "idle = { strategy = 1; };", "idle.strategy: file %s line 1: 1 is not one of spin, yield, backoff, interrupt" },
		{ "eal = { vdevs = (\"a\", 1); };", "eal.vdevs: file %s line 1: a list is not a list of non-empty strings, e.g. [\"a\", \"b\"]" },
		{ "eal = { vdevs = [\"\"]; };", "eal.vdevs: file %s line 1: an array is not a list of non-empty strings" },
		{ "net = { address = \"10.0.1.300/24\"; };", "net.address: file %s line 1: \"10.0.1.300/24\" is not an IPv4 address with prefix length (a.b.c.d/len), or empty" },
		{ "net = { address = \"10.0.1.5\"; };", "net.address: file %s line 1: \"10.0.1.5\" is not an IPv4 address with prefix length" },
		{ "net = { address = \"10.0.1.5/33\"; };", "net.address: file %s line 1: \"10.0.1.5/33\" is not an IPv4" },
		{ "net = { address = \"10.0.01.5/24\"; };", "net.address: file %s line 1: \"10.0.01.5/24\" is not an IPv4" },
		{ "net = { address = \"10.0.1/24\"; };", "net.address: file %s line 1: \"10.0.1/24\" is not an IPv4" },
		{ "net = { address = \"10.0.1.5/24\"; gateway = \"10.0.1.1/24\"; };", "net.gateway: file %s line 1: \"10.0.1.1/24\" is not an IPv4 address (a.b.c.d), or empty" },
		{ "fault = { rx_drop = 1.5; };", "fault.rx_drop: file %s line 1: 1.5 is not a number between 0 and 1" },
		{ "fault = { rx_drop = true; };", "fault.rx_drop: file %s line 1: true is not a number between 0 and 1" },
		/* libconfig 1.5 reads 4294967295 without L as -1 */
		{ "fault = { seed = 4294967295; };", "fault.seed: file %s line 1: -1 is not an integer between 0 and 4294967295" },
		{ "ipc = { shm_dri = \"/x\"; };", "ipc.shm_dri: file %s line 1: unknown setting (did you mean ipc.shm_dir?)" },
		{ "ipcc = { shm_dir = \"/x\"; };", "ipcc: file %s line 1: unknown group" },
		{ "ipc = { sub = { shm_dir = \"/x\"; }; };", "ipc.sub: file %s line 1: unknown group" },
		{ "mtu = 1500;", "mtu: file %s line 1: unknown setting" },
		{ "ipc = 5;", "ipc: file %s line 1: is a group of settings: write ipc = { ... };" },
		{ "ipc = { shm_dir = { a = 1; }; };", "ipc.shm_dir: file %s line 1: a group is not a string" },
		{ "port = { mtu = ; };", "file %s line 1: syntax error" },
		{ "port = { mtu = 1500; };\nport = { id = 1; };", "file %s line 2: duplicate setting name" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct res r;
		char path[PATH_MAX * 2];

		char want[PATH_MAX * 3];
		const char *at = strstr(cases[i].line, "%s");

		/* each case's line names the file once, as "%s" */
		assert_non_null(at);
		snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
		snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - cases[i].line), cases[i].line,
			 path, at + 2);
		load_file(&r, cases[i].text, NONE, NONE);
		if (r.n != 1)
			fail_msg("case %zu: %d errors for %s:\n%s", i, r.n, cases[i].text, r.err);
		assert_true(strncmp(r.err, "ferryd: ", 8) == 0);
		assert_err(&r, "%s", want);
		done(&r);
	}
}

static void test_bad_env_values(void **state)
{
	static const struct {
		const char *env, *line;
	} cases[] = {
		{ "FERRY_IPC_CLIENT_RING_SIZE=3000", "ferryd: ipc.client_ring_size: env FERRY_IPC_CLIENT_RING_SIZE: \"3000\" is not a power of two between 64K and 1G\n" },
		{ "FERRY_IPC_CLIENT_RING_SIZE=32k", "\"32k\" is not a power of two between 64K and 1G" },
		{ "FERRY_IPC_CLIENT_RING_SIZE=0x", "\"0x\" is not a power of two" },
		{ "FERRY_IPC_MAX_MESSAGE_SIZE=99999999999999999999", "ipc.max_message_size: env FERRY_IPC_MAX_MESSAGE_SIZE: \"99999999999999999999\" is not a size between 64 and 1G" },
		{ "FERRY_IPC_MAX_MESSAGE_SIZE=-64", "\"-64\" is not a size" },
		{ "FERRY_IPC_MAX_MESSAGE_SIZE=16777216g", "\"16777216g\" is not a size" },
		{ "FERRY_PORT_MTU=", "ferryd: port.mtu: env FERRY_PORT_MTU: \"\" is not an integer between 576 and 9001\n" },
		{ "FERRY_PORT_MTU=1500x", "\"1500x\" is not an integer" },
		{ "FERRY_PORT_MTU=0100", "\"0100\" is not an integer between 576" }, /* decimal 100, not octal */
		{ "FERRY_PORT_MTU=99999999999999999999", "is not an integer" },
		{ "FERRY_PORT_MTU=1e3", "is not an integer" },
		{ "FERRY_PRIVILEGES_ALLOW_ROOT=maybe", "ferryd: privileges.allow_root: env FERRY_PRIVILEGES_ALLOW_ROOT: \"maybe\" is not a boolean (true/false, yes/no, on/off, 1/0)\n" },
		{ "FERRY_PRIVILEGES_ALLOW_ROOT=", "\"\" is not a boolean" },
		{ "FERRY_EAL_HUGEPAGES=sometimes", "ferryd: eal.hugepages: env FERRY_EAL_HUGEPAGES: \"sometimes\" is not one of auto, on, off\n" },
		{ "FERRY_EAL_HUGEPAGES=", "\"\" is not one of auto, on, off" },
		{ "FERRY_FAULT_RX_DROP=nan", "ferryd: fault.rx_drop: env FERRY_FAULT_RX_DROP: \"nan\" is not a number between 0 and 1\n" },
		{ "FERRY_FAULT_RX_DROP=-0.1", "\"-0.1\" is not a number between 0 and 1" },
		{ "FERRY_FAULT_RX_DROP=0.5.", "\"0.5.\" is not a number" },
		{ "FERRY_NET_ADDRESS=10.0.0.1/24/2", "ferryd: net.address: env FERRY_NET_ADDRESS: \"10.0.0.1/24/2\" is not an IPv4 address with prefix length (a.b.c.d/len), or empty\n" },
		{ "FERRY_NET_GATEWAY=gw", "ferryd: net.gateway: env FERRY_NET_GATEWAY: \"gw\" is not an IPv4 address (a.b.c.d), or empty\n" },
		{ "FERRY_EAL_VDEVS=[\"a\", 1]", "ferryd: eal.vdevs: env FERRY_EAL_VDEVS: \"[\\\"a\\\", 1]\" is not a blank-separated list" },
		{ "FERRY_EAL_VDEVS=[\"a\"]; x = 1", "is not a blank-separated list" },
		{ "FERRY_PORT_MTUU=1500", "ferryd: env FERRY_PORT_MTUU: unknown setting (did you mean FERRY_PORT_MTU?)\n" },
		{ "FERRY_IPC_SHMDIR=/x", "ferryd: env FERRY_IPC_SHMDIR: unknown setting (did you mean FERRY_IPC_SHM_DIR?)\n" },
		{ "FERRY_BOGUS=1", "ferryd: env FERRY_BOGUS: unknown setting\n" },
		{ "FERRY_=1", "ferryd: env FERRY_: unknown setting\n" },
		{ "FERRY_X\nferryd: Y=1", "ferryd: env FERRY_X\\nferryd: Y: unknown setting\n" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct res r;

		load(&r, NONE, ARGS(cases[i].env));
		if (r.n != 1)
			fail_msg("case %zu: %d errors for %s:\n%s", i, r.n, cases[i].env, r.err);
		assert_err(&r, "%s", cases[i].line);
		done(&r);
	}
}

static void test_bad_flags(void **state)
{
	static const struct {
		const char *args[3];
		const char *line;
	} cases[] = {
		{ { "--idle.strategy=fast" }, "ferryd: idle.strategy: flag --idle.strategy: \"fast\" is not one of spin, yield, backoff, interrupt\n" },
		{ { "--idle-strategy", "fast" }, "ferryd: idle.strategy: flag --idle-strategy: \"fast\" is not one of" },
		{ { "--net.address=10.0.1.300/24" }, "ferryd: net.address: flag --net.address: \"10.0.1.300/24\" is not an IPv4 address" },
		{ { "--privileges.allow_root", "maybe" }, "ferryd: privileges.allow_root: flag --privileges.allow_root: \"maybe\" is not a boolean" },
		{ { "--port.mtu" }, "ferryd: port.mtu: flag --port.mtu: needs a value\n" },
		{ { "--port.mtuu=1500" }, "ferryd: flag --port.mtuu: unknown flag (did you mean --port.mtu?)\n" },
		/* the word after an unknown flag is taken as its value, not as a
		 * second error */
		{ { "--ipc-shm-dri", "/x" }, "ferryd: flag --ipc-shm-dri: unknown flag (did you mean --ipc.shm_dir?)\n" },
		{ { "--PORT.MTU=1500" }, "ferryd: flag --PORT.MTU: unknown flag (did you mean --port.mtu?)\n" },
		{ { "--frobnicate" }, "ferryd: flag --frobnicate: unknown flag\n" },
		{ { "--ipc.shm.dir=/x" }, "ferryd: flag --ipc.shm.dir: unknown flag (did you mean --ipc.shm_dir?)\n" },
		{ { "-x" }, "ferryd: flag -x: unknown flag (see --help)\n" },
		{ { "--" }, "ferryd: flag --: unknown flag (see --help)\n" },
		{ { "stray" }, "ferryd: unexpected argument \"stray\"; settings are given as --key=value\n" },
		/* what a user typed is escaped: an error stays one line */
		{ { "a\nferryd: b" }, "ferryd: unexpected argument \"a\\nferryd: b\"; settings are given as --key=value\n" },
		{ { "--bo\x1b[2Jgus=1" }, "ferryd: flag --bo\\x1b[2Jgus: unknown flag\n" },
		{ { "--port.mtu\n=1" }, "ferryd: flag --port.mtu\\n: unknown flag (did you mean --port.mtu?)\n" },
		{ { "-c" }, "ferryd: flag -c: needs a file name\n" },
		{ { "--check-config=yes" }, "ferryd: flag --check-config: unknown flag" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct res r;

		load(&r, cases[i].args, NONE);
		if (r.n != 1)
			fail_msg("case %zu: %d errors:\n%s", i, r.n, r.err);
		assert_err(&r, "%s", cases[i].line);
		done(&r);
	}
}

static void test_bad_config_file(void **state)
{
	struct res r;
	char env[PATH_MAX * 2 + 16];

	(void)state;
	load(&r, ARGS("-c", "/nonexistent/ferryd.conf"), NONE);
	assert_int_equal(r.n, 1);
	assert_err(&r, "ferryd: flag -c: cannot read config file \"/nonexistent/ferryd.conf\": No such file or directory\n");
	assert_null(r.c.config_file);
	done(&r);

	load(&r, ARGS("--config=/nonexistent"), NONE);
	assert_err(&r, "ferryd: flag --config: cannot read config file \"/nonexistent\": No such file or directory\n");
	done(&r);

	load(&r, NONE, ARGS("FERRY_CONFIG=/nonexistent"));
	assert_int_equal(r.n, 1);
	assert_err(&r, "ferryd: env FERRY_CONFIG: cannot read config file \"/nonexistent\": No such file or directory\n");
	done(&r);

	load(&r, NONE, ARGS("FERRY_CONFIG="));
	assert_err(&r, "ferryd: env FERRY_CONFIG: empty config file name\n");
	done(&r);

	load(&r, ARGS("-c", tmpdir), NONE);
	snprintf(env, sizeof(env), "ferryd: flag -c: cannot read config file \"%s\": Is a directory\n", tmpdir);
	assert_err(&r, "%s", env);
	done(&r);

	/* the default file, present but a directory, is an error too */
	assert_int_equal(mkdir(DEFAULT_FILE, 0700), 0);
	load(&r, NONE, NONE);
	assert_err(&r, "ferryd: default: cannot read config file \"%s\": Is a directory\n", DEFAULT_FILE);
	done(&r);
}

/* Errors are all collected, from every source, in one run. */
static void test_errors_collected(void **state)
{
	struct res r;

	(void)state;
	load_file(&r,
		  "port = {\n  mtu = 1;\n  queues = 99;\n};\nbogus = 1;\n",
		  ARGS("stray", "--idle.strategy=x", "--nope"),
		  ARGS("FERRY_LOG_LEVEL=loud", "FERRY_NOPE=1"));
	assert_int_equal(r.n, 8);
	assert_err(&r, "port.mtu: file %s/t.conf line 2:", tmpdir);
	assert_err(&r, "port.queues: file %s/t.conf line 3:", tmpdir);
	assert_err(&r, "bogus: file %s/t.conf line 5: unknown setting", tmpdir);
	assert_err(&r, "log.level: env FERRY_LOG_LEVEL:");
	assert_err(&r, "env FERRY_NOPE: unknown setting");
	assert_err(&r, "idle.strategy: flag --idle.strategy:");
	assert_err(&r, "flag --nope: unknown flag");
	assert_err(&r, "unexpected argument \"stray\"");
	done(&r);
}

/* ---- cross-setting rules ----------------------------------------------------- */

static void test_rules(void **state)
{
	static const struct {
		const char *args[4];
		const char *line;
	} cases[] = {
		{ { "--ipc.max_message_size=2m" }, "ferryd: ipc.max_message_size: flag --ipc.max_message_size: 2097152 is more than a quarter of ipc.client_ring_size (4194304, default)\n" },
		{ { "--ipc.session_ring_size=1m" }, "ferryd: ipc.max_message_size: default: 1048576 is more than a quarter of ipc.session_ring_size (1048576, flag)\n" },
		{ { "--transport.rto_min_us=300000" }, "ferryd: transport.rto_min_us: flag --transport.rto_min_us: 300000 is more than transport.rto_max_us (200000, default)\n" },
		{ { "--transport.keepalive_ms=5000" }, "ferryd: transport.keepalive_ms: flag --transport.keepalive_ms: 5000 is not less than transport.peer_timeout_ms (5000, default)\n" },
		{ { "--limits.max_sessions=100" }, "ferryd: limits.max_sessions_per_client: default: 256 is more than limits.max_sessions (100, flag)\n" },
		{ { "--net.gateway=10.0.0.1" }, "ferryd: net.gateway: flag --net.gateway: \"10.0.0.1\" needs net.address to be set\n" },
		{ { "--net.address=10.0.1.5/24", "--net.gateway=10.0.2.1" }, "ferryd: net.gateway: flag --net.gateway: \"10.0.2.1\" is outside the subnet of net.address (\"10.0.1.5/24\", flag)\n" },
		{ { "--net.address=10.0.1.5/24", "--net.gateway=10.0.1.5" }, "ferryd: net.gateway: flag --net.gateway: \"10.0.1.5\" is net.address itself\n" },
		{ { "--net.address=10.0.1.5/24", "--net.gateway=224.0.0.1" }, "ferryd: net.gateway: flag --net.gateway: \"224.0.0.1\" is not a unicast address\n" },
		{ { "--net.udp_port=65000", "--net.udp_port_count=600" }, "ferryd: net.udp_port_count: flag --net.udp_port_count: 600 ports from net.udp_port (65000, flag) pass port 65535\n" },
		{ { "--net.address=10.0.1.0/24" }, "ferryd: net.address: flag --net.address: \"10.0.1.0/24\" is the network address of its subnet, not a host address\n" },
		{ { "--net.address=10.0.1.255/24" }, "ferryd: net.address: flag --net.address: \"10.0.1.255/24\" is the broadcast address of its subnet, not a host address\n" },
		{ { "--net.address=127.0.0.1/8" }, "ferryd: net.address: flag --net.address: \"127.0.0.1/8\" is not a unicast host address\n" },
		{ { "--net.address=0.0.0.0/0" }, "is not a unicast host address" },
		{ { "--fault.rx_drop=0.5", "--fault.rx_dup=0.3", "--fault.rx_corrupt=0.3" }, "ferryd: fault.rx_drop: flag --fault.rx_drop: fault.rx_drop, rx_dup, rx_reorder and rx_corrupt add up to 1.1; at most 1\n" },
		{ { "--fault.tx_reorder=0.6", "--fault.tx_dup=0.6" }, "ferryd: fault.tx_drop: default: fault.tx_drop, tx_dup, tx_reorder and tx_corrupt add up to 1.2; at most 1\n" },
		{ { "--ipc.shm_dir=shm" }, "ferryd: ipc.shm_dir: flag --ipc.shm_dir: \"shm\" is not an absolute path\n" },
		{ { "--ipc.shm_dir=s\nferryd: x" }, "ferryd: ipc.shm_dir: flag --ipc.shm_dir: \"s\\nferryd: x\" is not an absolute path\n" },
		{ { "--ipc.socket=run/ferryd.sock" }, "ferryd: ipc.socket: flag --ipc.socket: \"run/ferryd.sock\" is not an absolute path\n" },
		{ { "--ipc.socket=/run/ferry/ferryd-with-a-socket-path-that-is-much-too-long-for-the-sun-path-of-a-sockaddr-un-structure.socket" }, "ferryd: ipc.socket: flag --ipc.socket: \"/run/ferry/ferryd-with-a-socket-path-that-is-much-too-long-for-the-sun-path-of-a-sockaddr-un-structure.socket\" is 109 bytes long; a Unix socket path holds at most 107\n" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct res r;

		load(&r, cases[i].args, NONE);
		if (r.n != 1)
			fail_msg("case %zu: %d errors:\n%s", i, r.n, r.err);
		assert_err(&r, "%s", cases[i].line);
		done(&r);
	}
}

static void test_rules_pass(void **state)
{
	struct res r;

	(void)state;
	/* edges that are allowed: exactly a quarter, equal timeouts, /31 and /32 */
	load_file(&r, "net = { address = \"10.0.1.5/24\"; gateway = \"10.0.1.1\"; };\n",
		  ARGS("--ipc.client_ring_size=64k", "--ipc.session_ring_size=1m",
		       "--ipc.max_message_size=16k", "--transport.rto_min_us=1000",
		       "--transport.rto_max_us=1000", "--limits.max_sessions=256"),
		  NONE);
	assert_clean(&r);
	assert_int_equal(r.c.src[FERRY_CFG_net_address], FERRY_SRC_FILE);
	done(&r);
	load(&r, ARGS("--net.address=10.0.1.0/31", "--net.gateway=10.0.1.1"), NONE);
	assert_clean(&r);
	done(&r);
	load(&r, ARGS("--net.address=10.0.1.255/32"), NONE);
	assert_clean(&r);
	done(&r);
	/* a port range may end at 65535 */
	load(&r, ARGS("--net.udp_port=65000", "--net.udp_port_count=536"), NONE);
	assert_clean(&r);
	done(&r);
	/* fault rates may add up to exactly 1 */
	load(&r, ARGS("--fault.rx_drop=0.1", "--fault.rx_dup=0.2", "--fault.rx_reorder=0.3",
		      "--fault.rx_corrupt=0.4"), NONE);
	assert_clean(&r);
	done(&r);
	/* the file's line is named when a file value breaks a rule */
	load_file(&r, "\ntransport = { rto_min_us = 300000; };\n", NONE, NONE);
	assert_int_equal(r.n, 1);
	assert_err(&r, "ferryd: transport.rto_min_us: file %s/t.conf line 2: 300000 is more than", tmpdir);
	done(&r);
}

/* net.peer_mtus: each entry checked and named; the usual slip, a list
 * with blanks in a flag or the environment, said plainly. */
static void test_peer_mtus(void **state)
{
	struct res r;
	uint32_t a;
	uint8_t len;
	uint16_t mtu;

	(void)state;
	load_file(&r, "net = { peer_mtus = [\"10.1.0.0/16 8500\", \"0.0.0.0/0\t 1500 \"]; };\n",
		  NONE, NONE);
	assert_clean(&r);
	assert_int_equal(r.c.net_peer_mtus.n, 2);
	assert_int_equal(ferry_config_parse_peer_mtu(r.c.net_peer_mtus.v[0], &a, &len, &mtu), 0);
	assert_int_equal(a, 0x0a010000u);
	assert_int_equal(len, 16);
	assert_int_equal(mtu, 8500);
	assert_int_equal(ferry_config_parse_peer_mtu(r.c.net_peer_mtus.v[1], &a, &len, &mtu), 0);
	assert_int_equal(a, 0);
	assert_int_equal(len, 0);
	assert_int_equal(mtu, 1500);
	done(&r);
	load(&r, ARGS("--net.peer_mtus=[\"10.2.0.0/24 576\", \"10.3.0.0/24 9001\"]"), NONE);
	assert_clean(&r);
	assert_int_equal(r.c.net_peer_mtus.n, 2);
	done(&r);
	load(&r, ARGS("--net.peer_mtus=[\"10.1.0.0/16 575\"]"), NONE);
	assert_int_equal(r.n, 1);
	assert_err(&r, "ferryd: net.peer_mtus: flag --net.peer_mtus: \"10.1.0.0/16 575\" is not "
		       "\"a.b.c.d/len MTU\" with an MTU of 576 to 9001\n");
	done(&r);
	/* unbracketed, the list splits at its blanks: two entries, two lines */
	load(&r, NONE, ARGS("FERRY_NET_PEER_MTUS=10.1.0.0/16 8500"));
	assert_int_equal(r.n, 2);
	assert_err(&r, "ferryd: net.peer_mtus: env FERRY_NET_PEER_MTUS: \"10.1.0.0/16\" has no MTU: "
		       "each entry is \"a.b.c.d/len MTU\" (in the environment or a flag, bracket "
		       "the list: [\"10.1.0.0/16 1500\"])\n");
	assert_err(&r, "\"8500\" is not \"a.b.c.d/len MTU\"");
	done(&r);
	static const char *const bad[] = {
		"10.1.0.0 8500", "10.1.0.0/33 8500", "10.1.0.0/16 9002", "10.1.0.0/16 8500 1500",
		"10.1.0.0/16 85OO", "10.1.0.0/16,8500", "10.01.0.0/16 8500", "/16 8500", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ferry_config_parse_peer_mtu(bad[i], &a, &len, &mtu) == 0)
			fail_msg("\"%s\" was taken", bad[i]);
}

/* ---- security ---------------------------------------------------------------- */

#define KEY_A "CVgoRnm2nkfvCFWv1w3W5dsO9VRA2mhMq9FX8ScP1A0="
#define KEY_B "mWy7Lsu2SYKyGmUxEcq4xVmgJn4uW2j6sJ0e85zz1Ck="

static void test_security(void **state)
{
	struct res r;
	struct ferry_ipv4 nets[4];
	uint8_t key[32];
	char why[160];

	(void)state;
	/* the list from a file, as flags in brackets, from the environment */
	load_file(&r, "security = { mode = \"encrypt\"; private_key_file = \"/k\";\n"
		      "  trusted_peers = [\"" KEY_A " 10.0.1.0/24 10.0.2.7\", \"" KEY_B " 10.0.3.4\"]; };\n",
		  NONE, NONE);
	assert_clean(&r);
	assert_int_equal(r.c.security_mode, FERRY_SEC_ENCRYPT);
	assert_int_equal(r.c.security_trusted_peers.n, 2);
	done(&r);
	load(&r, ARGS("--security.mode=authenticate",
		      "--security.trusted_peers=[\"" KEY_A " 10.0.1.7\"]"), NONE);
	assert_clean(&r);
	assert_int_equal(r.c.security_mode, FERRY_SEC_AUTHENTICATE);
	assert_string_equal(r.c.security_private_key_file, "/etc/ferry/ferryd.key");
	done(&r);
	load(&r, ARGS("--gen-key", "--public-key"),
	     (const char *const[]){ "FERRY_SECURITY_TRUSTED_PEERS=[\"" KEY_B " 10.9.0.0/16\"]", NULL });
	assert_clean(&r);
	assert_true(r.act.gen_key && r.act.public_key);
	assert_int_equal(r.c.security_trusted_peers.n, 1);
	done(&r);

	/* one entry, parsed */
	assert_int_equal(ferry_config_parse_trusted(" " KEY_A "\t10.0.1.0/24  10.0.2.7 ", key, nets, 4,
						    why, sizeof(why)), 2);
	assert_int_equal(nets[0].addr, 0x0a000100);
	assert_int_equal(nets[0].prefix_len, 24);
	assert_int_equal(nets[1].addr, 0x0a000207);
	assert_int_equal(nets[1].prefix_len, 32);
	assert_int_equal(key[0], 0x09);
	assert_int_equal(ferry_config_parse_trusted(KEY_A " 1.2.3.4 1.2.3.5", key, nets, 1, why,
						    sizeof(why)), -1);
	assert_string_equal(why, "more than 1 addresses for one key");

	/* what is wrong, and where */
	static const struct {
		const char *args[4];
		const char *line;
	} cases[] = {
		{ { "--security.trusted_peers=[\"" KEY_A "\"]" },
		  "ferryd: security.trusted_peers: flag --security.trusted_peers: entry 1: no address or subnet after the key\n" },
		{ { "--security.trusted_peers=[\"" KEY_A " 10.0.0.1\", \"notakey 10.0.0.2\"]" },
		  "ferryd: security.trusted_peers: flag --security.trusted_peers: entry 2: \"notakey\" is not a public key (base64 of 32 bytes, as ferryd --gen-key prints it)\n" },
		{ { "--security.trusted_peers=[\"CVgoRnm2nkfvCFWv1w3W5dsO9VRA2mhMq9FX8ScP 10.0.0.1\"]" },
		  "is not a public key" },
		{ { "--security.trusted_peers=[\"" KEY_A " 10.0.0.300\"]" },
		  "ferryd: security.trusted_peers: flag --security.trusted_peers: entry 1: \"10.0.0.300\" is not an address a.b.c.d or a subnet a.b.c.d/len\n" },
		{ { "--security.trusted_peers=[\"" KEY_A " 10.0.0.0/33\"]" }, "\"10.0.0.0/33\" is not an address" },
		{ { "--security.mode=encrypt" },
		  "ferryd: security.trusted_peers: default: is empty, so with security.mode (\"encrypt\", flag) no ferryd could talk to this one\n" },
		{ { "--security.mode=encrypt", "--security.private_key_file=ferryd.key",
		    "--security.trusted_peers=[\"" KEY_A " 10.0.0.1\"]" },
		  "ferryd: security.private_key_file: flag --security.private_key_file: \"ferryd.key\" is not an absolute path, and security.mode (\"encrypt\", flag) needs a key\n" },
		{ { "--security.mode=secret" }, "ferryd: security.mode: flag --security.mode:" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		load(&r, cases[i].args, NONE);
		if (r.n != 1)
			fail_msg("case %zu: %d errors:\n%s", i, r.n, r.err);
		assert_err(&r, "%s", cases[i].line);
		done(&r);
	}
	/* mode none needs neither key nor peers, whatever the key file says */
	load(&r, ARGS("--security.private_key_file="), NONE);
	assert_clean(&r);
	done(&r);
}

int main(void)
{
	const struct CMUnitTest unit[] = {
		T(test_table_names),
		T(test_table_defaults_valid),
		T(test_number_forms),
		T(test_defaults),
		T(test_default_file_read),
		T(test_file_alone),
		T(test_env_alone),
		T(test_flag_alone),
		T(test_config_file_choice),
		T(test_include),
		T(test_precedence),
		T(test_bad_value_keeps_lower),
		T(test_bad_file_values),
		T(test_bad_env_values),
		T(test_bad_flags),
		T(test_bad_config_file),
		T(test_errors_collected),
		T(test_rules),
		T(test_rules_pass),
		T(test_peer_mtus),
		T(test_security),
	};
	return cmocka_run_group_tests_name("config", unit, NULL, NULL);
}
