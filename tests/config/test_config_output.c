/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of config output: --check-config's lines and their round trip
 * back through a file, --help and --version, loading twice, and the
 * shipped example file and settings reference.
 *
 * Run with "docs" as the only argument, only the drift checks of
 * config/ferryd.conf and config/SETTINGS.md run; they need GEN_CONFIG (the
 * generator) and CONFIG_SRCDIR (config/ in the source tree).
 */

#include "config_test_util.h"

/* ---- output --------------------------------------------------------------- */

static void test_print_format(void **state)
{
	struct res r;
	char *out;

	(void)state;
	load_file(&r,
		  "ipc = { client_ring_size = \"8m\"; };\nfault = { seed = 4294967295L; };\n",
		  ARGS("--eal.vdevs=net_af_packet0,iface=veth0 net_tap0", "--fault.rx_drop=0.1",
		       "--eal.extra_args=--log-level \"x\\y\"", "--net.gateway=10.0.1.1"),
		  ARGS("FERRY_NET_ADDRESS=10.0.1.5/24", "FERRY_IDLE_STRATEGY=Yield"));
	assert_clean(&r);
	out = print_to_string(&r.c);
	assert_int_equal(count_lines(out), FERRY_CFG_COUNT);
	assert_true(strncmp(out, "eal.lcores = \"0\" (default)\n", 27) == 0);
	assert_non_null(strstr(out, "\neal.vdevs = [\"net_af_packet0,iface=veth0\", \"net_tap0\"] (flag)\n"));
	assert_non_null(strstr(out, "\neal.allow = [] (default)\n"));
	assert_non_null(strstr(out, "\neal.hugepages = \"auto\" (default)\n"));
	assert_non_null(strstr(out, "\neal.extra_args = \"--log-level \\\"x\\\\y\\\"\" (flag)\n"));
	assert_non_null(strstr(out, "\nnet.address = \"10.0.1.5/24\" (env)\n"));
	assert_non_null(strstr(out, "\nnet.gateway = \"10.0.1.1\" (flag)\n"));
	assert_non_null(strstr(out, "\nprivileges.allow_root = false (default)\n"));
	assert_non_null(strstr(out, "\nclients.allowed_groups = [\"ferry\"] (default)\n"));
	assert_non_null(strstr(out, "\nipc.client_ring_size = 8388608 (file)\n"));
	assert_non_null(strstr(out, "\nidle.strategy = \"yield\" (env)\n"));
	assert_non_null(strstr(out, "\nfault.seed = 4294967295L (file)\n"));
	assert_non_null(strstr(out, "\nfault.rx_drop = 0.1 (flag)\n"));
	assert_non_null(strstr(out, "\nfault.rx_dup = 0.0 (default)\n"));
	/* table order */
	for (int id = 1; id < FERRY_CFG_COUNT; id++) {
		char a[FCFG_NAME_MAX + 4], b[FCFG_NAME_MAX + 4];

		snprintf(a, sizeof(a), "%s = ", fcfg_table[id - 1].path);
		snprintf(b, sizeof(b), "\n%s = ", fcfg_table[id].path);
		assert_true(strstr(out, a) < strstr(out, b));
	}
	free(out);
	done(&r);
}

/*
 * Values print "so they can be pasted back": turn every printed line into
 * a config file and load it; the same values must come out.
 */
static void test_print_round_trip(void **state)
{
	struct res r, back;
	char *out, *again, *file = NULL;
	size_t flen;
	FILE *f;
	char group[64] = "";

	(void)state;
	load(&r, ARGS("--eal.vdevs=[\"a \\\"quoted\\\" one\", \"tab\\there\"]", "--fault.rx_dup=0.3",
		      "--eal.extra_args=\x01 ctl", "--net.address=10.1.2.3/8", "--fault.seed=4294967295",
		      "--transport.rto_max_us=60000000", "--privileges.allow_root"),
	     NONE);
	assert_clean(&r);
	out = print_to_string(&r.c);
	f = open_memstream(&file, &flen);
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char *eq = strstr(line, " = "), *src = strrchr(line, '(');
		size_t glen = fcfg_group_len(line);

		assert_non_null(eq);
		assert_non_null(src);
		src[-1] = '\0';
		if (strncmp(group, line, glen) != 0 || group[glen] != '\0') {
			fprintf(f, "%s%.*s = {\n", group[0] ? "};\n" : "", (int)glen, line);
			snprintf(group, sizeof(group), "%.*s", (int)glen, line);
		}
		fprintf(f, "  %s;\n", line + glen + 1);
	}
	fputs("};\n", f);
	assert_int_equal(fclose(f), 0);
	free(out);

	load_file(&back, file, NONE, NONE);
	free(file);
	assert_clean(&back);
	out = print_to_string(&r.c);
	again = print_to_string(&back.c);
	/* Same values; sources differ, so compare with them cut off. */
	for (char *p = out, *q = again; *p || *q;) {
		size_t lp = strcspn(p, "("), lq = strcspn(q, "(");

		assert_int_equal(lp, lq);
		assert_memory_equal(p, q, lp);
		p = strchr(p, '\n');
		q = strchr(q, '\n');
		assert_non_null(p);
		assert_non_null(q);
		p++;
		q++;
	}
	for (int id = 0; id < FERRY_CFG_COUNT; id++)
		assert_int_equal(back.c.src[id], FERRY_SRC_FILE);
	free(out);
	free(again);
	done(&back);
	done(&r);
}

static void test_usage(void **state)
{
	char *out = NULL, *flat;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	ferry_config_usage(f, "/usr/sbin/ferryd");
	assert_int_equal(fclose(f), 0);
	assert_true(strncmp(out, "Usage: ferryd ", 14) == 0);
	assert_non_null(strstr(out, "--check-config"));
	assert_non_null(strstr(out, "--config FILE"));
	assert_non_null(strstr(out, DEFAULT_FILE));
	/* descriptions are wrapped: join their lines again to find them */
	flat = calloc(1, strlen(out) + 1);
	assert_non_null(flat);
	for (const char *q = out; *q;) {
		if (strncmp(q, "\n      ", 7) == 0 && q[7] != ' ' && strncmp(q + 7, "default", 7) != 0 &&
		    strncmp(q + 7, "env ", 4) != 0) {
			strcat(flat, " ");
			q += 7;
		} else {
			strncat(flat, q++, 1);
		}
	}
	for (int id = 0; id < FERRY_CFG_COUNT; id++) {
		char name[FCFG_NAME_MAX + 8];

		snprintf(name, sizeof(name), "--%s=", fcfg_table[id].path);
		assert_non_null(strstr(out, name));
		fcfg_name(id, FCFG_NAME_ENV, name);
		assert_non_null(strstr(out, name));
		assert_non_null(strstr(flat, fcfg_table[id].desc));
	}
	free(flat);
	assert_non_null(strstr(out, "default 4194304; 64K .. 1G, power of two"));
	free(out);
}

/* --help and --version work whatever the file and environment hold. */
static void test_help_version(void **state)
{
	struct res r;

	(void)state;
	write_file(DEFAULT_FILE, "this is not libconfig\n");
	load(&r, ARGS("--help"), ARGS("FERRY_NOPE=1"));
	assert_clean(&r);
	assert_true(r.act.help);
	done(&r);
	load(&r, ARGS("-V"), NONE);
	assert_clean(&r);
	assert_true(r.act.version);
	done(&r);
	load(&r, ARGS("-h", "--bogus"), NONE);
	assert_true(r.act.help);
	assert_int_equal(r.n, 1);
	done(&r);
	load(&r, ARGS("--check-config"), NONE);
	assert_true(r.act.check_config);
	assert_int_equal(r.n, 1);
	assert_err(&r, "ferryd: file %s line 1: syntax error\n", DEFAULT_FILE);
	done(&r);
}

static void test_reload(void **state)
{
	struct res r;

	(void)state;
	for (int i = 0; i < 3; i++) {
		load_file(&r, "ipc = { shm_dir = \"/f\"; };\n", ARGS("--eal.vdevs=a b c"),
			  ARGS("FERRY_CLIENTS_ALLOWED_USERS=x y"));
		assert_clean(&r);
		done(&r);
	}
	for (int id = 0; id < FERRY_CFG_COUNT; id++)
		assert_int_equal(r.c.src[id], FERRY_SRC_DEFAULT);
	assert_null(r.c.ipc_shm_dir);
}

/* ---- the shipped example file and reference ------------------------------------ */

static const char *srcdir(void)
{
	const char *d = getenv("CONFIG_SRCDIR");

	if (!d)
		fail_msg("CONFIG_SRCDIR is not set; run through meson test");
	return d;
}

static char *slurp(FILE *f)
{
	char *buf = NULL;
	size_t len, n;
	char chunk[4096];
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, out);
	assert_int_equal(fclose(out), 0);
	return buf;
}

static char *read_src(const char *name)
{
	char path[PATH_MAX];
	FILE *f;
	char *text;

	snprintf(path, sizeof(path), "%s/%s", srcdir(), name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s", path);
	text = slurp(f);
	fclose(f);
	return text;
}

static void test_example_loads(void **state)
{
	struct res r, dflt;
	char path[PATH_MAX];
	char *text, *un, *a, *b;

	(void)state;
	snprintf(path, sizeof(path), "%s/ferryd.conf", srcdir());
	load(&r, ARGS("-c", path), NONE);
	assert_clean(&r);
	load(&dflt, NONE, NONE);
	assert_clean(&dflt);
	a = print_to_string(&r.c);
	b = print_to_string(&dflt.c);
	assert_string_equal(a, b);
	free(a);
	done(&r);

	/* Uncomment every setting: it must still load, every value from the
	 * file and equal to the default. */
	text = read_src("ferryd.conf");
	un = calloc(1, strlen(text) + 1);
	assert_non_null(un);
	for (char *p = text, *q = un; *p;) {
		while (*p == ' ')
			*q++ = *p++;
		if (p[0] == '#' && p[1] >= 'a' && p[1] <= 'z')
			p++;
		while (*p && *p != '\n')
			*q++ = *p++;
		if (*p)
			*q++ = *p++;
	}
	load_file(&r, un, NONE, NONE);
	assert_clean(&r);
	for (int id = 0; id < FERRY_CFG_COUNT; id++)
		if (r.c.src[id] != FERRY_SRC_FILE)
			fail_msg("%s is missing from ferryd.conf", fcfg_table[id].path);
	a = print_to_string(&r.c);
	for (char *p = a, *q = b; *p; p = strchr(p, '\n') + 1, q = strchr(q, '\n') + 1)
		assert_memory_equal(p, q, strcspn(p, "("));
	free(a);
	free(b);
	free(text);
	free(un);
	done(&r);
	done(&dflt);
}

static void check_generated(const char *what, const char *file)
{
	const char *gen = getenv("GEN_CONFIG");
	char cmd[PATH_MAX + 32];
	char *want, *have;
	FILE *p;
	int line = 1;

	if (!gen)
		fail_msg("GEN_CONFIG is not set; run through meson test");
	snprintf(cmd, sizeof(cmd), "'%s' %s", gen, what);
	p = popen(cmd, "r");
	assert_non_null(p);
	want = slurp(p);
	assert_int_equal(pclose(p), 0);
	have = read_src(file);
	for (size_t i = 0; want[i] || have[i]; i++) {
		if (want[i] != have[i]) {
			size_t from = i;

			while (from > 0 && want[from - 1] != '\n')
				from--;
			fail_msg("config/%s differs from `ferry-gen-config %s` at line %d:\n"
				 "  generated: %.*s\n  committed: %.*s\n"
				 "run scripts/gen-config-docs.sh and commit the result",
				 file, what, line, (int)strcspn(want + from, "\n"), want + from,
				 (int)strcspn(have + from, "\n"), have + from);
		}
		line += want[i] == '\n';
	}
	free(want);
	free(have);
}

static void test_docs_conf(void **state)
{
	(void)state;
	check_generated("conf", "ferryd.conf");
}

static void test_docs_markdown(void **state)
{
	(void)state;
	check_generated("markdown", "SETTINGS.md");
}


int main(int argc, char **argv)
{
	const struct CMUnitTest unit[] = {
		T(test_print_format),
		T(test_print_round_trip),
		T(test_usage),
		T(test_help_version),
		T(test_reload),
		T(test_example_loads),
	};
	const struct CMUnitTest docs[] = {
		cmocka_unit_test(test_docs_conf),
		cmocka_unit_test(test_docs_markdown),
	};

	if (argc == 2 && strcmp(argv[1], "docs") == 0)
		return cmocka_run_group_tests_name("config docs", docs, NULL, NULL);
	return cmocka_run_group_tests_name("config output", unit, NULL, NULL);
}
