/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target "config": ferry_config_load() over a config file (libconfig
 * syntax), FERRY_* environment entries and command-line flags.
 *
 * Input: the file's text up to the first NUL, then NUL-separated items:
 * "$NAME=value" is an environment entry, anything else a command-line
 * argument after argv[0] "ferryd".
 *
 * The file is the default config file, which this build names
 * /proc/self/fd/CONFIG_FD: a memfd rewritten for each input. Loading runs
 * in a directory already removed, so a relative file name that an input
 * gives with -c or FERRY_CONFIG names nothing. Inputs are refused
 * (out of scope, not failures) when they would make the loader read other
 * files by design: an @include directive, or a config file name with a
 * '/' in it. What the operator points ferryd at is theirs to choose.
 *
 * Checked for every input: the error count is the number of lines
 * written, each line "ferryd: " then the key or the source it is about;
 * every setting holds a value of its type inside its range, whatever
 * errors there were (a bad value keeps the one beneath it). With no
 * error: every rule across settings holds, --check-config prints one line
 * per setting, and those values, written back as a config file, load
 * without error into exactly the same settings. Leaks are libFuzzer's
 * (ASan's) to find.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ferry_config_pvt.h"
#include "fuzz.h"

#define CONFIG_FD 198
#define MAX_ITEMS 64

static const char k_default_file[] = "/proc/self/fd/198";

/* libconfig 1.5 leaks the text of a string token that a syntax error
 * follows (`""` alone is enough); ferryd exits on that error anyway.
 * Without frame pointers in libconfig the stack may end at the buffer's
 * realloc, so both frames are named. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig_yylex\nleak:strbuf_append\n";
}

static int g_cwd = -1, g_void = -1; /* the working directory, a removed one */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/ferry-fuzz-config.XXXXXX";

	(void)argc;
	(void)argv;
	FUZZ_CHECK(strcmp(FERRY_DEFAULT_CONFIG_FILE, k_default_file) == 0,
		   "built with default config file %s", FERRY_DEFAULT_CONFIG_FILE);
	int fd = memfd_create("ferryd.conf", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0 && dup2(fd, CONFIG_FD) == CONFIG_FD, "cannot set up the config memfd");
	close(fd);
	g_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(g_cwd >= 0 && mkdtemp(dir), "cannot make a directory: %s", strerror(errno));
	g_void = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(g_void >= 0 && rmdir(dir) == 0, "cannot remove %s: %s", dir, strerror(errno));
	return 0;
}

/* ferry_config_load() where relative names name nothing. */
static int load(struct ferry_config *c, int argc, char **argv, char **envp,
		struct ferry_cli_action *act, FILE *err)
{
	FUZZ_CHECK(fchdir(g_void) == 0, "fchdir: %s", strerror(errno));
	int errors = ferry_config_load(c, argc, argv, envp, act, err);
	FUZZ_CHECK(fchdir(g_cwd) == 0, "fchdir: %s", strerror(errno));
	return errors;
}

static void write_file(const char *text, size_t len)
{
	FUZZ_CHECK(ftruncate(CONFIG_FD, 0) == 0 &&
			   pwrite(CONFIG_FD, text, len, 0) == (ssize_t)len,
		   "cannot write the config memfd: %s", strerror(errno));
}

/* ---- what a loaded config must look like ------------------------------ */

static int enum_count(const char *values)
{
	int n = 1;
	for (const char *p = values; *p; p++)
		n += *p == '|';
	return n;
}

static void check_value(enum ferry_cfg_id id, const union fcfg_value *v)
{
	const struct fcfg_setting *s = &fcfg_table[id];

	switch (s->type) {
	case FCFG_BOOL:
		break;
	case FCFG_INT:
	case FCFG_SIZE:
		FUZZ_CHECK(v->i >= s->min && v->i <= s->max &&
				   !(s->type == FCFG_SIZE && s->pow2 && (v->i & (v->i - 1))),
			   "%s = %lld", s->path, (long long)v->i);
		break;
	case FCFG_DBL:
		FUZZ_CHECK(isfinite(v->d) && v->d >= s->dmin && v->d <= s->dmax, "%s = %g", s->path,
			   v->d);
		break;
	case FCFG_STR:
		FUZZ_CHECK(v->s != NULL, "%s is NULL", s->path);
		break;
	case FCFG_ENUM:
		FUZZ_CHECK(v->e >= 0 && v->e < enum_count(s->values), "%s = %d", s->path, v->e);
		break;
	case FCFG_LIST:
		FUZZ_CHECK(v->l.n >= 0 && (v->l.n == 0 || v->l.v), "%s has %d entries", s->path,
			   v->l.n);
		for (int i = 0; i < v->l.n; i++)
			FUZZ_CHECK(v->l.v[i] && v->l.v[i][0], "%s[%d] is empty", s->path, i);
		break;
	case FCFG_IPV4:
		FUZZ_CHECK(v->ip.set ? v->ip.prefix_len <= 32 && (s->prefix_ok || v->ip.prefix_len == 32)
				     : v->ip.addr == 0 && v->ip.prefix_len == 0,
			   "%s = %#x/%u (set %d)", s->path, v->ip.addr, v->ip.prefix_len, v->ip.set);
		break;
	}
}

static bool same_value(const struct fcfg_setting *s, const union fcfg_value *a,
		       const union fcfg_value *b)
{
	switch (s->type) {
	case FCFG_BOOL: return a->b == b->b;
	case FCFG_INT:
	case FCFG_SIZE: return a->i == b->i;
	case FCFG_DBL: return a->d == b->d;
	case FCFG_STR: return strcmp(a->s, b->s) == 0;
	case FCFG_ENUM: return a->e == b->e;
	case FCFG_LIST:
		if (a->l.n != b->l.n)
			return false;
		for (int i = 0; i < a->l.n; i++)
			if (strcmp(a->l.v[i], b->l.v[i]) != 0)
				return false;
		return true;
	case FCFG_IPV4:
		return a->ip.set == b->ip.set && a->ip.addr == b->ip.addr &&
		       a->ip.prefix_len == b->ip.prefix_len;
	}
	return false;
}

static void count_rule(void *arg, enum ferry_cfg_id id, const char *msg)
{
	fprintf(stderr, "rule broken: %s: %s\n", fcfg_table[id].path, msg);
	++*(int *)arg;
}

/* "ferryd: KEY: ..." or "ferryd: SOURCE: ...", one line per error. */
static void check_errors(const char *text, size_t len, int errors)
{
	static const char *const sources[] = {"file ", "env ", "flag ", "default: ",
					      "unexpected argument"};
	int lines = 0;

	for (const char *p = text; p < text + len; lines++) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		FUZZ_CHECK(nl != NULL, "error output does not end a line: %.*s", (int)(text + len - p), p);
		FUZZ_CHECK(strncmp(p, FCFG_PROG ": ", sizeof(FCFG_PROG ": ") - 1) == 0,
			   "error line without the program name: %.*s", (int)(nl - p), p);
		const char *what = p + sizeof(FCFG_PROG ": ") - 1;
		bool named = false;
		for (int id = 0; id < FERRY_CFG_COUNT && !named; id++) {
			size_t n = strlen(fcfg_table[id].path);
			named = strncmp(what, fcfg_table[id].path, n) == 0 && what[n] == ':';
		}
		/* unknown keys in a file are named by their path too */
		for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]) && !named; i++)
			named = strncmp(what, sources[i], strlen(sources[i])) == 0;
		if (!named) {
			size_t n = strspn(what, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						"0123456789_-*.");
			named = n > 0 && what[n] == ':' && strncmp(what + n, ": file ", 7) == 0;
		}
		FUZZ_CHECK(named, "error line names no key or source: %.*s", (int)(nl - p), p);
		p = nl + 1;
	}
	FUZZ_CHECK(lines == errors, "%d errors counted, %d lines written:\n%.*s", errors, lines,
		   (int)len, text);
}

/* One line per setting: "path = value (source)". */
static void check_print(const struct ferry_config *c)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	FUZZ_CHECK(f != NULL, "out of memory");
	ferry_config_print(c, f);
	fclose(f);
	const char *p = out;
	for (int id = 0; id < FERRY_CFG_COUNT; id++) {
		const char *nl = strchr(p, '\n');
		size_t n = strlen(fcfg_table[id].path);
		FUZZ_CHECK(nl && strncmp(p, fcfg_table[id].path, n) == 0 && p[n] == ' ',
			   "--check-config line %d is not %s's: %s", id, fcfg_table[id].path, p);
		p = nl + 1;
	}
	FUZZ_CHECK(*p == '\0', "--check-config prints more than the settings: %s", p);
	free(out);
}

/* The values of @c as a config file, groups nested as ferryd.conf has them. */
static char *as_file(const struct ferry_config *c, size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);
	FUZZ_CHECK(f != NULL, "out of memory");
	for (int id = 0; id < FERRY_CFG_COUNT; id++) {
		const char *path = fcfg_table[id].path;
		size_t g = fcfg_group_len(path);
		if (fcfg_group_first(id))
			fprintf(f, "%.*s = {\n", (int)g, path);
		fprintf(f, "  %s = ", path + g + 1);
		fcfg_put_value(c, &fcfg_table[id], f);
		fputs(";\n", f);
		if (id + 1 == FERRY_CFG_COUNT || !fcfg_same_group(id, id + 1))
			fputs("};\n", f);
	}
	fclose(f);
	return out;
}

static void check_round_trip(const struct ferry_config *c)
{
	struct ferry_config back;
	struct ferry_cli_action act;
	char *argv[] = {"ferryd", NULL};
	size_t len;
	char *text = as_file(c, &len);

	write_file(text, len);
	int errors = load(&back, 1, argv, NULL, &act, stderr);
	FUZZ_CHECK(errors == 0, "%d errors reading back:\n%s", errors, text);
	for (int id = 0; id < FERRY_CFG_COUNT; id++) {
		union fcfg_value a, b;
		fcfg_get(c, &fcfg_table[id], &a);
		fcfg_get(&back, &fcfg_table[id], &b);
		FUZZ_CHECK(same_value(&fcfg_table[id], &a, &b) && back.src[id] == FERRY_SRC_FILE,
			   "%s does not read back the same from:\n%s", fcfg_table[id].path, text);
	}
	ferry_config_free(&back);
	free(text);
}

/* ---- one input --------------------------------------------------------- */

/* A config file name with a directory in it could name any file on the
 * machine (a FIFO, /dev/zero): refused, like @include. Conservative: an
 * argument after -c or --config, or glued to either, or FERRY_CONFIG. */
static bool names_outside(char **argv, int argc, char **envp, int envc)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *prev = argv[i - 1];
		bool file = strcmp(prev, "-c") == 0 || strcmp(prev, "--config") == 0 ||
			    strncmp(a, "-c", 2) == 0 || strncmp(a, "--config", 8) == 0;
		if (file && strchr(a, '/'))
			return true;
	}
	for (int i = 0; i < envc; i++)
		if (strncmp(envp[i], "FERRY_CONFIG=", 13) == 0 && strchr(envp[i], '/'))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	char *argv[MAX_ITEMS + 2] = {"ferryd"}, *envp[MAX_ITEMS + 1] = {NULL};
	int argc = 1, envc = 0;

	FUZZ_CHECK(buf != NULL, "out of memory");
	memcpy(buf, data, size);
	buf[size] = '\0';
	size_t text_len = strlen(buf);
	for (char *p = buf + text_len; p < buf + size && argc + envc < MAX_ITEMS;) {
		char *item = p + 1;
		p = item + strlen(item);
		if (item[0] == '$')
			envp[envc++] = item + 1;
		else
			argv[argc++] = item;
	}
	argv[argc] = NULL;
	envp[envc] = NULL;
	if (strcasestr(buf, "@include") || names_outside(argv, argc, envp, envc)) {
		free(buf);
		return -1;
	}
	write_file(buf, text_len);

	struct ferry_config c;
	struct ferry_cli_action act;
	char *err = NULL;
	size_t err_len = 0;
	FILE *ef = open_memstream(&err, &err_len);
	FUZZ_CHECK(ef != NULL, "out of memory");
	int errors = load(&c, argc, argv, envp, &act, ef);
	fclose(ef);

	FUZZ_CHECK(errors >= 0, "ferry_config_load: %d", errors);
	check_errors(err, err_len, errors);
	for (int id = 0; id < FERRY_CFG_COUNT; id++) {
		union fcfg_value v;
		fcfg_get(&c, &fcfg_table[id], &v);
		check_value(id, &v);
	}
	if (errors == 0 && !act.help && !act.version) {
		int broken = 0;
		fcfg_check_rules(&c, count_rule, &broken);
		FUZZ_CHECK(broken == 0, "%d rules broken without an error", broken);
		check_print(&c);
		check_round_trip(&c);
	}
	ferry_config_free(&c);
	free(err);
	free(buf);
	return 0;
}

/* ---- seeds --------------------------------------------------------------- */

static void emit_seed(fuzz_emit_fn *emit, const char *name, const char *text,
		      const char *const *items)
{
	static struct fuzz_out o;
	o.n = 0;
	fuzz_put(&o, text, strlen(text));
	for (; items && *items; items++) {
		fuzz_put8(&o, 0);
		fuzz_put(&o, *items, strlen(*items));
	}
	emit(name, o.buf, o.n);
}

void fuzz_seeds(fuzz_emit_fn *emit)
{
	static char example[65536];
	FILE *f = fopen(FUZZ_EXAMPLE_CONFIG, "r");
	FUZZ_CHECK(f != NULL, "cannot read %s", FUZZ_EXAMPLE_CONFIG);
	size_t n = fread(example, 1, sizeof(example) - 1, f);
	fclose(f);
	example[n] = '\0';

	/* The example file as installed: every setting commented out. */
	emit_seed(emit, "example", example, NULL);

	/* The same with every setting set to its default in the file. */
	for (char *p = example; (p = strstr(p, "\n  #")) != NULL; p++)
		if (islower((unsigned char)p[4]))
			p[3] = ' ';
	emit_seed(emit, "example-uncommented", example, NULL);

	/* The lab's daemon: a file, the environment and flags together. */
	static const char *const lab_items[] = {
		"$FERRY_IPC_SHM_DIR=/dev/shm/ferry-a",
		"$FERRY_LOG_LEVEL=debug",
		"$FERRY_FAULT_RX_DROP=0.01",
		"$FERRY_SOCKET=/run/ferry/a.sock",
		"$FERRY_CLIENT_NAME=bench",
		"--check-config",
		"--net.udp_port", "31851",
		"--ipc-client-ring-size=1m",
		"--privileges.allow_root",
		"--eal.vdevs=net_af_packet0,iface=veth-a net_memif0",
		NULL,
	};
	emit_seed(emit, "lab", "net = { address = \"10.99.0.2/24\"; gateway = \"10.99.0.1\"; };\n"
			       "eal = { vdevs = [\"net_af_packet0,iface=veth-a\"]; hugepages = \"off\";\n"
			       "        memory_mb = 512; };\n"
			       "ipc = { max_message_size = \"256k\"; session_ring_size = 8388608; };\n"
			       "fault = { seed = 4294967295L; rx_dup = 0.25; tx_corrupt = 1e-3; };\n"
			       "transport = { cc_min_cwnd = 0.5; rto_max_us = 1000000; };\n"
			       "clients = { allowed_users = (\"alice\", \"bob\"); };\n",
		  lab_items);

	/* Every kind of mistake, each reported. */
	static const char *const bad_items[] = {
		"$FERRY_IPC_SHM_DIRR=/x",
		"$FERRY_PORT_MTU=9002",
		"$FERRY_IDLE_STRATEGY=sometimes",
		"--ipc-shm_dir", "relative",
		"--limits.max_sessions=10",
		"--net.gatway=10.0.0.1",
		"--transport.rto_min_us",
		"stray",
		"-x",
		"-c",
		NULL,
	};
	emit_seed(emit, "mistakes", "ipc = { client_ring_size = \"3000\"; max_message_size = 2097152; };\n"
				    "net = { address = \"10.0.0.0/24\"; udp_port = \"31850\"; };\n"
				    "port = { mtu = 70000; };\nbogus = 1;\n"
				    "log = { level = \"loud\"; };\neal = { vdevs = [\"\"]; };\n",
		  bad_items);

	/* A syntax error, and --help, which must work despite it. */
	static const char *const help[] = {"--help", NULL};
	emit_seed(emit, "syntax-error", "ipc = { shm_dir = \"/x\" \n", NULL);
	emit_seed(emit, "help", "ipc = { shm_dir = \"/x\" \n", help);
}
