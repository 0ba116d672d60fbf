/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Values back to text: libconfig syntax for --check-config and the example
 * file, and the words that describe a setting in errors, --help and the
 * reference.
 *
 * Everything printed as a value must read back as the same value, from a
 * file and (but for lists, which need brackets) from a flag; the unit tests
 * round-trip the whole --check-config output to hold this.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ferry_config_pvt.h"

void fcfg_put_escaped(const char *str, size_t len, FILE *out)
{
	for (const unsigned char *p = (const unsigned char *)str; len && *p; p++, len--) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\t': fputs("\\t", out); break;
		case '\r': fputs("\\r", out); break;
		case '\f': fputs("\\f", out); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\x%02x", *p);
			else
				fputc(*p, out);
		}
	}
}

void fcfg_put_quoted(const char *str, FILE *out)
{
	fputc('"', out);
	fcfg_put_escaped(str, SIZE_MAX, out);
	fputc('"', out);
}

/*
 * The shortest form that reads back to the same double, so 0.1 shows as
 * "0.1" and not "0.10000000000000001". Plain decimals where they stay
 * short, exponents only for the very small or large; always with a '.' or
 * an exponent, because libconfig reads a bare "1" as an integer.
 */
void fcfg_put_double(double d, FILE *out)
{
	char buf[64];
	bool plain = d == 0 || (fabs(d) >= 1e-4 && fabs(d) < 1e15);

	bool exact = false;

	/* 17 significant digits always suffice; below 1 a plain decimal needs
	 * up to 4 more places for the leading zeros. */
	for (int prec = 1; prec <= 21 && !exact; prec++) {
		snprintf(buf, sizeof(buf), plain ? "%.*f" : "%.*g", prec, d);
		exact = strtod(buf, NULL) == d;
	}
	if (!exact)
		snprintf(buf, sizeof(buf), "%.17g", d);
	fputs(buf, out);
	if (!strpbrk(buf, ".eEna"))
		fputs(".0", out);
}

/* libconfig 1.5 reads a number beyond 32 bits without "L" as its low 32 bits. */
static void put_int(int64_t v, FILE *out)
{
	fprintf(out, "%" PRId64 "%s", v, (v < INT32_MIN || v > INT32_MAX) ? "L" : "");
}

static void put_enum_name(const char *values, int idx, FILE *out)
{
	const char *v = values;

	for (int i = 0; i < idx && *v; i++)
		v += strcspn(v, "|") + (v[strcspn(v, "|")] == '|');
	fprintf(out, "%.*s", (int)strcspn(v, "|"), v);
}

static void put_ipv4_text(const struct ferry_ipv4 *ip, bool prefix, FILE *out)
{
	if (!ip->set)
		return;
	fprintf(out, "%u.%u.%u.%u", ip->addr >> 24, (ip->addr >> 16) & 0xff,
		(ip->addr >> 8) & 0xff, ip->addr & 0xff);
	if (prefix)
		fprintf(out, "/%u", ip->prefix_len);
}

static void put_union(const struct fcfg_setting *s, const union fcfg_value *v, FILE *out)
{
	switch (s->type) {
	case FCFG_BOOL:
		fputs(v->b ? "true" : "false", out);
		break;
	case FCFG_INT:
	case FCFG_SIZE:
		put_int(v->i, out);
		break;
	case FCFG_DBL:
		fcfg_put_double(v->d, out);
		break;
	case FCFG_STR:
		fcfg_put_quoted(v->s ? v->s : "", out);
		break;
	case FCFG_ENUM:
		fputc('"', out);
		put_enum_name(s->values, v->e, out);
		fputc('"', out);
		break;
	case FCFG_LIST:
		fputc('[', out);
		for (int i = 0; i < v->l.n; i++) {
			if (i)
				fputs(", ", out);
			fcfg_put_quoted(v->l.v[i], out);
		}
		fputc(']', out);
		break;
	case FCFG_IPV4:
		fputc('"', out);
		put_ipv4_text(&v->ip, s->prefix_ok, out);
		fputc('"', out);
		break;
	}
}

void fcfg_put_value(const struct ferry_config *c, const struct fcfg_setting *s, FILE *out)
{
	union fcfg_value v;

	fcfg_get(c, s, &v);
	put_union(s, &v, out);
}

void fcfg_put_default(const struct fcfg_setting *s, FILE *out)
{
	union fcfg_value v;

	if (!fcfg_default_value(s, &v)) {
		fputs("(invalid default)", out);
		return;
	}
	put_union(s, &v, out);
	fcfg_value_free(s->type, &v);
}

void fcfg_put_libconfig(const config_setting_t *cs, FILE *out)
{
	switch (config_setting_type(cs)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: put_int(config_setting_get_int64(cs), out); break;
	case CONFIG_TYPE_FLOAT: fcfg_put_double(config_setting_get_float(cs), out); break;
	case CONFIG_TYPE_STRING: fcfg_put_quoted(config_setting_get_string(cs), out); break;
	case CONFIG_TYPE_BOOL: fputs(config_setting_get_bool(cs) ? "true" : "false", out); break;
	case CONFIG_TYPE_GROUP: fputs("a group", out); break;
	case CONFIG_TYPE_ARRAY: fputs("an array", out); break;
	case CONFIG_TYPE_LIST: fputs("a list", out); break;
	default: fputs("a value", out); break;
	}
}

void fcfg_put_size(int64_t v, FILE *out)
{
	static const char unit[] = "KMG";
	int u = -1;

	while (u < 2 && v != 0 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	fprintf(out, "%" PRId64, v);
	if (u >= 0)
		fputc(unit[u], out);
}

static void put_values(const char *values, FILE *out)
{
	for (const char *v = values; *v; v++) {
		if (*v == '|')
			fputs(", ", out);
		else
			fputc(*v, out);
	}
}

void fcfg_put_expected(const struct fcfg_setting *s, bool from_file, FILE *out)
{
	switch (s->type) {
	case FCFG_BOOL:
		fputs(from_file ? "a boolean (true or false, without quotes)"
				: "a boolean (true/false, yes/no, on/off, 1/0)", out);
		break;
	case FCFG_INT:
		fprintf(out, "an integer between %" PRId64 " and %" PRId64, s->min, s->max);
		break;
	case FCFG_SIZE:
		fputs(s->pow2 ? "a power of two between " : "a size between ", out);
		fcfg_put_size(s->min, out);
		fputs(" and ", out);
		fcfg_put_size(s->max, out);
		break;
	case FCFG_DBL:
		fprintf(out, "a number between %g and %g", s->dmin, s->dmax);
		break;
	case FCFG_STR:
		fputs("a string", out);
		break;
	case FCFG_ENUM:
		fputs("one of ", out);
		put_values(s->values, out);
		break;
	case FCFG_LIST:
		fputs(from_file ? "a list of non-empty strings, e.g. [\"a\", \"b\"]"
				: "a blank-separated list, or non-empty strings in brackets: [\"a\", \"b\"]",
		      out);
		break;
	case FCFG_IPV4:
		fputs(s->prefix_ok ? "an IPv4 address with prefix length (a.b.c.d/len), or empty"
				   : "an IPv4 address (a.b.c.d), or empty", out);
		break;
	}
}

const char *fcfg_type_name(const struct fcfg_setting *s)
{
	switch (s->type) {
	case FCFG_BOOL: return "boolean";
	case FCFG_INT: return "integer";
	case FCFG_SIZE: return "size";
	case FCFG_DBL: return "number";
	case FCFG_STR: return "string";
	case FCFG_ENUM: return "enum";
	case FCFG_LIST: return "list";
	case FCFG_IPV4: return s->prefix_ok ? "IPv4/prefix" : "IPv4";
	}
	return "?";
}

void fcfg_put_range(const struct fcfg_setting *s, FILE *out)
{
	switch (s->type) {
	case FCFG_INT:
		fprintf(out, "%" PRId64 " .. %" PRId64, s->min, s->max);
		break;
	case FCFG_SIZE:
		fcfg_put_size(s->min, out);
		fputs(" .. ", out);
		fcfg_put_size(s->max, out);
		if (s->pow2)
			fputs(", power of two", out);
		break;
	case FCFG_DBL:
		fprintf(out, "%g .. %g", s->dmin, s->dmax);
		break;
	case FCFG_ENUM:
		put_values(s->values, out);
		break;
	case FCFG_IPV4:
		fputs(s->prefix_ok ? "a.b.c.d/len, or empty" : "a.b.c.d, or empty", out);
		break;
	case FCFG_BOOL:
	case FCFG_STR:
	case FCFG_LIST:
		break;
	}
}

void fcfg_put_wrapped(const char *lead, const char *text, size_t width, FILE *out)
{
	size_t col = 0;

	while (*text) {
		size_t word = strcspn(text, " ");

		if (col > 0 && col + 1 + word > width) {
			fputc('\n', out);
			col = 0;
		}
		if (col == 0) {
			fputs(lead, out);
			col = strlen(lead);
		} else {
			fputc(' ', out);
			col++;
		}
		for (size_t i = 0; i < word; i++)
			fputc(text[i] == FCFG_NBSP ? ' ' : text[i], out);
		col += word;
		text += word;
		while (*text == ' ')
			text++;
	}
	if (col > 0)
		fputc('\n', out);
}
