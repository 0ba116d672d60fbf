/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferryd's counters as Prometheus text: see prom.h for the mapping.
 *
 * Each counter becomes a sample (family name, labels, value); samples are
 * then grouped by family, because the format wants one HELP and TYPE per
 * family with all its samples after them, and a family or a series that
 * appears twice makes a scrape fail. Families come out in the order their
 * first counter has in the snapshot, samples within one in snapshot order
 * (the snapshot sorts ids as numbers).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"
#include "utf8.h"

#define FAM_MAX 192
#define HELP_MAX 256
/* two labels of at most SMAP_LABEL_MAX bytes, each byte at worst U+FFFD */
#define LABELS_MAX (6 * SMAP_LABEL_MAX + 64)

struct sample {
	char family[FAM_MAX];
	char help[HELP_MAX];
	char labels[LABELS_MAX]; /* "" or {k="v",...}, escaped */
	const char *type;
	uint64_t value;
	double scale; /* 0: print value as an integer; else value / scale */
	uint32_t seq, first_of_family;
	bool skip;
};

/*
 * How a group's labels are cut. One entry per group that needs more than
 * "group.name" -> ferry_group_name; adding a group is one line.
 *   id:     the label of a decimal id right after the prefix
 *   name:   then free text up to the last '.', under this label
 *   rest:   the whole rest is this label's value, and the family is fixed
 */
static const struct rule {
	const char *group, *id, *name, *rest, *family, *help;
} k_rules[] = {
	{"daemon", NULL, NULL, NULL, NULL, "the daemon as a whole"},
	{"port", NULL, NULL, NULL, NULL, "the NIC port"},
	{"drop", NULL, NULL, "reason", "frames", "received frames dropped, by reason"},
	{"net", NULL, NULL, "verdict", "frames", "received frames, by what the net layer did"},
	{"arp", NULL, NULL, NULL, NULL, "ARP requests, replies and the cache"},
	{"icmp", NULL, NULL, NULL, NULL, "ICMP"},
	{"fault", NULL, NULL, NULL, NULL, "fault injection: frames each action took"},
	{"remote", NULL, NULL, NULL, NULL, "sessions to other hosts, all together"},
	{"session", "session", NULL, NULL, NULL, "one session to another host, by id"},
	{"client", "client", "name", NULL, NULL, "one attached client, by id and name"},
};

/* Units Prometheus wants in base units: suffix, new suffix, divisor. */
static const struct unit {
	const char *suffix, *to;
	double div;
} k_units[] = {
	{"_ns", "_seconds", 1e9},
	{"_us", "_seconds", 1e6},
	{"_ms", "_seconds", 1e3},
	{"_milli", "", 1e3},
};

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Append @p n bytes of @p s to @p out as metric-name characters. */
static void put_name(char *out, size_t cap, const char *s, size_t n)
{
	size_t o = strlen(out);
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_';
		out[o++] = ok ? c : '_';
	}
	out[o] = '\0';
}

/* Append name="value" to a label set being built in @p out, escaped. A
 * value that does not fit is cut (LABELS_MAX leaves room for any label
 * of the status file). */
static void put_label(char *out, size_t cap, const char *name, const char *v, size_t n)
{
	static const char fffd[] = "\xef\xbf\xbd";
	size_t o = strlen(out);
	int h = snprintf(out + o, cap - o, "%c%s=\"", o ? ',' : '{', name);
	if (h < 0 || o + (size_t)h + 8 >= cap) {
		out[o] = '\0';
		return;
	}
	o += (size_t)h;
	const unsigned char *u = (const unsigned char *)v;
	for (size_t i = 0, k; i < n && o + 8 < cap; i += k ? k : 1) {
		uint32_t cp = 0;
		k = utf8_next(u + i, n - i, &cp);
		if (k && (cp == '\\' || cp == '"')) {
			out[o++] = '\\';
			out[o++] = (char)cp;
		} else if (k && cp == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (k == 0 || utf8_is_control(cp)) {
			memcpy(out + o, fffd, 3);
			o += 3;
		} else {
			memcpy(out + o, v + i, k);
			o += k;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
}

static void close_labels(char *out, size_t cap)
{
	size_t o = strlen(out);
	if (o && o + 2 <= cap)
		memcpy(out + o, "}", 2);
}

static const char *type_name(uint32_t t)
{
	return t == FERRY_CTR_COUNT ? "counter" : t == FERRY_CTR_GAUGE ? "gauge" : "untyped";
}

/* A decimal id, no sign, then '.': its length, else 0. */
static size_t id_len(const char *s)
{
	size_t n = strspn(s, "0123456789");
	return n && s[n] == '.' ? n : 0;
}

/* One counter as one sample. */
static void map_row(const struct row *r, struct sample *s)
{
	const char *label = r->label, *dot = strchr(label, '.');
	size_t glen = dot ? (size_t)(dot - label) : 0;
	const char *rest = dot ? dot + 1 : label;
	const struct rule *rule = NULL;
	for (size_t i = 0; dot && i < sizeof(k_rules) / sizeof(k_rules[0]); i++)
		if (strlen(k_rules[i].group) == glen && memcmp(k_rules[i].group, label, glen) == 0)
			rule = &k_rules[i];

	char pattern[HELP_MAX] = "";
	s->labels[0] = '\0';
	s->value = r->value;
	s->scale = 0;
	s->type = type_name(r->type);
	snprintf(s->family, sizeof(s->family), "ferry_");
	put_name(s->family, sizeof(s->family), label, glen);
	put_name(pattern, sizeof(pattern), label, glen);

	/* the per-object parts become labels; the rest of the label is the
	 * counter's own name */
	size_t n;
	if (rule && rule->id && (n = id_len(rest)) != 0) {
		const char *after = rest + n + 1, *last = strrchr(after, '.');
		if (!rule->name || last) {
			put_label(s->labels, sizeof(s->labels), rule->id, rest, n);
			snprintf(pattern + strlen(pattern), sizeof(pattern) - strlen(pattern), ".<%s>",
				 rule->id);
			if (rule->name) {
				put_label(s->labels, sizeof(s->labels), rule->name, after,
					  (size_t)(last - after));
				snprintf(pattern + strlen(pattern), sizeof(pattern) - strlen(pattern),
					 ".<%s>", rule->name);
				after = last + 1;
			}
			rest = after;
		}
	}
	char counter[FAM_MAX] = "";
	if (rule && rule->rest) {
		put_label(s->labels, sizeof(s->labels), rule->rest, rest, strlen(rest));
		snprintf(counter, sizeof(counter), "%s", rule->family);
		snprintf(pattern + strlen(pattern), sizeof(pattern) - strlen(pattern), ".<%s>",
			 rule->rest);
	} else {
		put_name(counter, sizeof(counter), rest, strlen(rest));
		snprintf(pattern + strlen(pattern), sizeof(pattern) - strlen(pattern), "%s%s",
			 dot ? "." : "", counter);
	}
	close_labels(s->labels, sizeof(s->labels));

	const char *unit_note = "";
	size_t clen = strlen(counter);
	for (size_t i = 0; !(rule && rule->rest) && i < sizeof(k_units) / sizeof(k_units[0]); i++)
		if (ends_with(counter, clen, k_units[i].suffix)) {
			counter[clen - strlen(k_units[i].suffix)] = '\0';
			/* fits: counter holds at most a label (104 bytes) */
			strcat(counter, k_units[i].to);
			s->scale = k_units[i].div;
			unit_note = *k_units[i].to ? ", in seconds" : ", divided by 1000";
			break;
		}
	snprintf(s->family + strlen(s->family), sizeof(s->family) - strlen(s->family), "%s%s%s",
		 dot ? "_" : "", counter,
		 r->type == FERRY_CTR_COUNT && !ends_with(counter, strlen(counter), "_total") ?
			 "_total" : "");
	snprintf(s->help, sizeof(s->help), "ferryd counter %s%s: %s", pattern, unit_note,
		 rule ? rule->help : "other");
}

/* A sample of the daemon's own state. */
static void daemon_sample(struct sample *s, const char *family, const char *help,
			  uint64_t value, double scale)
{
	snprintf(s->family, sizeof(s->family), "%s", family);
	snprintf(s->help, sizeof(s->help), "%s", help);
	s->labels[0] = '\0';
	s->type = "gauge";
	s->value = value;
	s->scale = scale;
}

static int by_series(const void *pa, const void *pb)
{
	const struct sample *a = *(const struct sample *const *)pa;
	const struct sample *b = *(const struct sample *const *)pb;
	int c = strcmp(a->family, b->family);
	if (!c)
		c = strcmp(a->labels, b->labels);
	return c ? c : a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int by_output(const void *pa, const void *pb)
{
	const struct sample *a = *(const struct sample *const *)pa;
	const struct sample *b = *(const struct sample *const *)pb;
	if (a->first_of_family != b->first_of_family)
		return a->first_of_family < b->first_of_family ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Leave out what would break a scrape: in series order, a sample with the
 * family and labels of the one before it is a duplicate; a sample whose
 * type is not that of its family's first sample is a conflict. Note each
 * sample's family's first position, for the output order.
 */
static uint32_t dedupe(struct sample **v, uint32_t n)
{
	uint32_t left_out = 0;
	qsort(v, n, sizeof(*v), by_series);
	for (uint32_t i = 0, j; i < n; i = j) {
		const struct sample *first = v[i];
		for (j = i; j < n && strcmp(v[j]->family, v[i]->family) == 0; j++)
			if (v[j]->seq < first->seq)
				first = v[j];
		for (uint32_t k = i; k < j; k++) {
			v[k]->first_of_family = first->seq;
			v[k]->skip = (k > i && strcmp(v[k]->labels, v[k - 1]->labels) == 0) ||
				     strcmp(v[k]->type, first->type) != 0;
			left_out += v[k]->skip;
		}
	}
	qsort(v, n, sizeof(*v), by_output);
	return left_out;
}

int prom_write(FILE *f, const struct row *rows, uint32_t n, const struct smap_daemon *v)
{
	const uint32_t nd = 4;
	struct sample *s = calloc((size_t)n + nd, sizeof(*s));
	struct sample **order = calloc((size_t)n + nd, sizeof(*order));
	if (!s || !order) {
		free(s);
		free(order);
		return -ENOMEM;
	}
	uint32_t k = 0;
	bool up = v && v->running && v->hb_age_ns < PROM_STALE_NS;
	daemon_sample(&s[k++], "ferry_daemon_up",
		      "1 when ferryd's status file is there, its process exists and its "
		      "heartbeat is under 5 s old",
		      up, 0);
	if (v) {
		char pid[16];
		snprintf(pid, sizeof(pid), "%" PRIu32, v->pid);
		daemon_sample(&s[k], "ferry_daemon_info", "ferryd's version and pid, value 1", 1, 0);
		put_label(s[k].labels, sizeof(s[k].labels), "version", v->version,
			  strlen(v->version));
		put_label(s[k].labels, sizeof(s[k].labels), "pid", pid, strlen(pid));
		close_labels(s[k].labels, sizeof(s[k].labels));
		k++;
		daemon_sample(&s[k++], "ferry_daemon_uptime_seconds", "time since ferryd started",
			      v->uptime_ns, 1e9);
		daemon_sample(&s[k++], "ferry_daemon_heartbeat_age_seconds",
			      "time since ferryd's main loop last marked the status file",
			      v->hb_age_ns, 1e9);
		/* a counter the device does not have (ENI allowances on
		 * another PMD) is left out: absent, not 0 */
		for (uint32_t i = 0; i < n; i++)
			if (!rows[i].unavailable)
				map_row(&rows[i], &s[k++]);
	}
	for (uint32_t i = 0; i < k; i++) {
		s[i].seq = i;
		order[i] = &s[i];
	}
	uint32_t left_out = dedupe(order, k);

	const char *fam = "";
	for (uint32_t i = 0; i < k; i++) {
		const struct sample *x = order[i];
		if (x->skip)
			continue;
		if (strcmp(fam, x->family) != 0) {
			fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", x->family, x->help, x->family,
				x->type);
			fam = x->family;
		}
		if (x->scale > 0)
			fprintf(f, "%s%s %.10g\n", x->family, x->labels, (double)x->value / x->scale);
		else
			fprintf(f, "%s%s %" PRIu64 "\n", x->family, x->labels, x->value);
	}
	if (left_out)
		fprintf(f, "# ferry-stat: %u counter(s) left out: their metric and labels, or "
			   "their metric with another type, came first from another counter\n",
			left_out);
	free(s);
	free(order);
	return ferror(f) ? -EIO : 0;
}
