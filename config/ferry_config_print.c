/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What an operator reads: the effective settings (--check-config) and the
 * --help text. Both walk the table, so a new row shows up in both without
 * anyone remembering to add it.
 */
#include <string.h>

#include "ferry_config_pvt.h"

void ferry_config_print(const struct ferry_config *c, FILE *out)
{
	for (int id = 0; id < FERRY_CFG_COUNT; id++) {
		fprintf(out, "%s = ", fcfg_table[id].path);
		fcfg_put_value(c, &fcfg_table[id], out);
		fprintf(out, " (%s)\n", ferry_config_source_name(c->src[id]));
	}
}

/* @return the columns written */
static size_t put_metavar(const struct fcfg_setting *s, FILE *out)
{
	const char *m = "";

	switch (s->type) {
	case FCFG_BOOL: m = "BOOL"; break;
	case FCFG_INT: m = "INT"; break;
	case FCFG_SIZE: m = "SIZE"; break;
	case FCFG_DBL: m = "NUM"; break;
	case FCFG_STR: m = "STR"; break;
	case FCFG_ENUM: m = s->values; break;
	case FCFG_LIST: m = "LIST"; break;
	case FCFG_IPV4: m = s->prefix_ok ? "A.B.C.D/LEN" : "A.B.C.D"; break;
	}
	fputs(m, out);
	return strlen(m);
}

void ferry_config_usage(FILE *out, const char *argv0)
{
	const char *prog = argv0 && *argv0 ? argv0 : FCFG_PROG;
	const char *slash = strrchr(prog, '/');

	if (slash && slash[1])
		prog = slash + 1;
	fprintf(out,
		"Usage: %s [OPTION]... [--KEY=VALUE]...\n"
		"\n"
		"The ferry messaging daemon. Every setting below may be given as a flag,\n"
		"as a FERRY_* environment variable, or in the config file; a flag wins\n"
		"over the environment, which wins over the file, which wins over the\n"
		"built-in default.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE  read FILE instead of %s\n"
		"                     (also env FERRY_CONFIG); a missing FILE is an error\n"
		"      --check-config print every setting with its value and source, then\n"
		"                     exit; non-zero when a setting is invalid\n"
		"      --gen-key      write a new private key to security.private_key_file\n"
		"                     (mode 0600, owned by privileges.user; an existing file\n"
		"                     is kept), print its public key for the other ferryds'\n"
		"                     security.trusted_peers, and exit\n"
		"      --public-key   print the public key of security.private_key_file, exit\n"
		"  -h, --help         print this help and exit\n"
		"  -V, --version      print the version and exit\n"
		"\n"
		"Settings: --KEY=VALUE or --KEY VALUE, where dashes may stand for the dots\n"
		"and underscores of KEY (--ipc-shm-dir). A boolean flag alone means true.\n"
		"Sizes take a k, m or g suffix (powers of 1024); booleans true/false, yes/no,\n"
		"on/off, 1/0; lists are separated by blanks, or written [\"a\", \"b\"].\n",
		prog, FERRY_DEFAULT_CONFIG_FILE);

	for (int id = 0; id < FERRY_CFG_COUNT; id++) {
		const struct fcfg_setting *s = &fcfg_table[id];
		char env[FCFG_NAME_MAX];

		if (!fcfg_group_first(id))
			continue;
		fprintf(out, "\n%s:\n", fcfg_group_title(id) ? fcfg_group_title(id) : s->path);
		for (int j = id; j < FERRY_CFG_COUNT; j++) {
			const struct fcfg_setting *t = &fcfg_table[j];
			size_t col;

			if (!fcfg_same_group(id, j))
				continue;
			fcfg_name(j, FCFG_NAME_ENV, env);
			col = fprintf(out, "  --%s=", t->path) + put_metavar(t, out);
			fprintf(out, col + strlen(env) + 8 <= 79 ? "  (env %s)\n" : "\n      env %s\n",
				env);
			fcfg_put_wrapped("      ", t->desc, 79, out);
			fputs("      default ", out);
			fcfg_put_default(t, out);
			if (t->type == FCFG_INT || t->type == FCFG_SIZE || t->type == FCFG_DBL) {
				fputs("; ", out);
				fcfg_put_range(t, out);
			}
			fputc('\n', out);
		}
	}
}
