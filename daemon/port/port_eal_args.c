/* SPDX-License-Identifier: BSD-3-Clause */
#include "port_eal_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry_config.h"

struct argv_builder {
	struct ferry_eal_args *a;
	int cap;
	int oom;
};

static void push(struct argv_builder *b, const char *s)
{
	char *dup;

	if (b->oom)
		return;
	if (b->a->argc + 2 > b->cap) {
		int ncap = b->cap ? b->cap * 2 : 16;
		char **nv = realloc(b->a->argv, (size_t)ncap * sizeof(char *));
		if (!nv) {
			b->oom = 1;
			return;
		}
		b->a->argv = nv;
		b->cap = ncap;
	}
	dup = strdup(s);
	if (!dup) {
		b->oom = 1;
		return;
	}
	b->a->argv[b->a->argc++] = dup;
	b->a->argv[b->a->argc] = NULL;
}

static void pushf(struct argv_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pushf(struct argv_builder *b, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	push(b, buf);
}

static const char *dpdk_log_level(int ferry_level)
{
	switch (ferry_level) {
	case FERRY_LOG_ERR:
		return "error";
	case FERRY_LOG_WARNING:
		return "warning";
	case FERRY_LOG_DEBUG:
		return "debug";
	case FERRY_LOG_NOTICE:
	case FERRY_LOG_INFO:
	default:
		return "notice";
	}
}

static bool decide_hugepages(const struct ferry_config *cfg, const struct ferry_eal_env *env)
{
	if (cfg->eal_hugepages == FERRY_HUGE_ON)
		return true;
	if (cfg->eal_hugepages == FERRY_HUGE_OFF)
		return false;
	if (!env || env->free_hugepages <= 0 || env->hugepage_kb <= 0)
		return false;
	return (long long)env->free_hugepages * env->hugepage_kb >= (long long)cfg->eal_memory_mb * 1024;
}

static bool has_arg(const struct ferry_eal_args *a, const char *s)
{
	for (int i = 1; i < a->argc; i++)
		if (strcmp(a->argv[i], s) == 0)
			return true;
	return false;
}

int ferry_eal_args_build(const struct ferry_config *cfg, const struct ferry_eal_env *env,
			 const char *prog, struct ferry_eal_args *out, char *err, size_t errlen)
{
	struct argv_builder b = {.a = out};
	char *extra = NULL;

	memset(out, 0, sizeof(*out));
	out->hugepages = decide_hugepages(cfg, env);

	push(&b, prog && *prog ? prog : "ferryd");
	/* --lcores, not -l: it takes the same lists ("0", "0-3") and also
	 * lcore-to-CPU-set maps ("0@(0-1)"), which let the daemon's thread
	 * float over several CPUs instead of being pinned to one. */
	if (cfg->eal_lcores && *cfg->eal_lcores) {
		push(&b, "--lcores");
		push(&b, cfg->eal_lcores);
	}
	/* --in-memory implies --no-shconf; without hugepages ask for it, so
	 * EAL keeps its config and page tables in anonymous memory instead
	 * of files under /var/run/dpdk that outlive the process. ferryd has
	 * no DPDK secondary processes to share them with. */
	if (out->hugepages) {
		push(&b, "--in-memory");
	} else {
		push(&b, "--no-huge");
		push(&b, "--no-shconf");
	}
	if (cfg->eal_file_prefix && *cfg->eal_file_prefix) {
		push(&b, "--file-prefix");
		push(&b, cfg->eal_file_prefix);
	}
	push(&b, "-m");
	pushf(&b, "%lld", (long long)cfg->eal_memory_mb);
	pushf(&b, "--log-level=%s", dpdk_log_level(cfg->log_level));
	for (int i = 0; i < cfg->eal_vdevs.n; i++) {
		push(&b, "--vdev");
		push(&b, cfg->eal_vdevs.v[i]);
	}
	for (int i = 0; i < cfg->eal_allow.n; i++) {
		push(&b, "-a");
		push(&b, cfg->eal_allow.v[i]);
	}
	if (cfg->eal_vdevs.n > 0 && cfg->eal_allow.n == 0)
		push(&b, "--no-pci");
	if (cfg->eal_extra_args && *cfg->eal_extra_args) {
		char *save = NULL;
		extra = strdup(cfg->eal_extra_args);
		if (!extra)
			b.oom = 1;
		for (char *t = extra ? strtok_r(extra, " \t\n", &save) : NULL; t;
		     t = strtok_r(NULL, " \t\n", &save))
			push(&b, t);
		free(extra);
	}
	if (b.oom) {
		snprintf(err, errlen, "out of memory building the EAL arguments");
		ferry_eal_args_free(out);
		return -ENOMEM;
	}
	if (has_arg(out, "--in-memory") && has_arg(out, "--no-huge")) {
		snprintf(err, errlen,
			 "eal.extra_args adds %s but eal.hugepages resolved to %s: EAL cannot run "
			 "--in-memory together with --no-huge; set eal.hugepages instead",
			 out->hugepages ? "--no-huge" : "--in-memory", out->hugepages ? "on" : "off");
		ferry_eal_args_free(out);
		return -EINVAL;
	}
	return 0;
}

void ferry_eal_args_free(struct ferry_eal_args *a)
{
	if (a->argv)
		for (int i = 0; i < a->argc; i++)
			free(a->argv[i]);
	free(a->argv);
	a->argv = NULL;
	a->argc = 0;
}

int ferry_eal_args_format(const struct ferry_eal_args *a, char *buf, size_t len)
{
	size_t need = 0;
	for (int i = 0; i < a->argc; i++) {
		int n = snprintf(need < len ? buf + need : NULL, need < len ? len - need : 0, "%s%s",
				 i ? " " : "", a->argv[i]);
		need += (size_t)n;
	}
	if (len && need >= len)
		buf[len - 1] = 0;
	else if (len && a->argc == 0)
		buf[0] = 0;
	return (int)need;
}
