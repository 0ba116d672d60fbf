/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Values: from text (environment, command line, table defaults) and from
 * libconfig (the file) into struct ferry_config.
 *
 * Text is what operators type into unit files and shells, so numbers,
 * booleans, enum names and addresses tolerate surrounding blanks and any
 * letter case, while strings are kept byte for byte. Files have types of
 * their own, and those are taken at their word: a quoted "true" is not a
 * boolean there, as it would not be in any other libconfig program.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/ether.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>


#include "ferry_config_pvt.h"

/* ---- scanning text ------------------------------------------------------ */

/* Trimmed copy of @text in @buf; false when it does not fit. */
static bool trim(const char *text, char *buf, size_t n)
{
	while (isspace((unsigned char)*text))
		text++;
	size_t len = strlen(text);

	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	if (len >= n)
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return true;
}

/*
 * An unsigned magnitude in decimal or 0x hex. Octal is deliberately absent:
 * "0100" meaning 64 surprises everyone who did not write C.
 */
static bool scan_u64(const char **pp, uint64_t *out)
{
	const char *p = *pp;
	int base = 10;
	char *end;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!isxdigit((unsigned char)*p) || (base == 10 && !isdigit((unsigned char)*p)))
		return false;
	errno = 0;
	*out = strtoull(p, &end, base);
	if (errno == ERANGE)
		return false;
	*pp = end;
	return true;
}

/* Integers may end in libconfig's "L" so printed int64 values paste back. */
static bool scan_int(const char *text, int64_t *out)
{
	char buf[64];
	const char *p = buf;
	bool neg = false;
	uint64_t mag;

	if (!trim(text, buf, sizeof(buf)))
		return false;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!scan_u64(&p, &mag))
		return false;
	if (*p == 'L')
		p += p[1] == 'L' ? 2 : 1;
	if (*p != '\0')
		return false;
	if (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return true;
}

static bool scan_size(const char *text, int64_t *out)
{
	char buf[64];
	const char *p = buf;
	uint64_t mag, mult = 1;

	if (!trim(text, buf, sizeof(buf)))
		return false;
	if (!scan_u64(&p, &mag))
		return false;
	switch (*p) {
	case 'k': case 'K': mult = 1ull << 10; p++; break;
	case 'm': case 'M': mult = 1ull << 20; p++; break;
	case 'g': case 'G': mult = 1ull << 30; p++; break;
	default: break;
	}
	if (*p != '\0' || mag > (uint64_t)INT64_MAX / mult)
		return false;
	*out = (int64_t)(mag * mult);
	return true;
}

static bool scan_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	char buf[16];

	if (!trim(text, buf, sizeof(buf)))
		return false;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(buf, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(buf, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool scan_enum(const char *values, const char *text, int *out)
{
	char buf[64];
	const char *v = values;

	if (!trim(text, buf, sizeof(buf)) || buf[0] == '\0')
		return false;
	for (int i = 0; *v; i++) {
		size_t len = strcspn(v, "|");

		if (strlen(buf) == len && strncasecmp(v, buf, len) == 0) {
			*out = i;
			return true;
		}
		v += len + (v[len] == '|');
	}
	return false;
}

/*
 * Strict dotted quad: four decimal parts without leading zeros, since
 * inet_aton() would read "010" as octal and "10.1" as 10.0.0.1.
 */
static bool scan_ipv4(const char *text, bool prefix_ok, struct ferry_ipv4 *out)
{
	char buf[32];
	const char *p = buf;
	uint32_t addr = 0;
	unsigned long len = 32;
	char *end;

	if (!trim(text, buf, sizeof(buf)))
		return false;
	if (buf[0] == '\0') {
		*out = (struct ferry_ipv4){ 0 };
		return true;
	}
	for (int part = 0; part < 4; part++) {
		if (part > 0 && *p++ != '.')
			return false;
		if (!isdigit((unsigned char)*p) || (p[0] == '0' && isdigit((unsigned char)p[1])))
			return false;
		unsigned long v = strtoul(p, &end, 10);

		if (v > 255 || end - p > 3)
			return false;
		addr = addr << 8 | (uint32_t)v;
		p = end;
	}
	if (prefix_ok) {
		if (*p++ != '/' || !isdigit((unsigned char)*p) ||
		    (p[0] == '0' && p[1] != '\0'))
			return false;
		len = strtoul(p, &end, 10);
		if (len > 32 || end - p > 2)
			return false;
		p = end;
	}
	if (*p != '\0')
		return false;
	*out = (struct ferry_ipv4){ .addr = addr, .prefix_len = (uint8_t)len, .set = true };
	return true;
}

int ferry_config_parse_cidr(const char *text, uint32_t *addr, uint8_t *prefix_len)
{
	struct ferry_ipv4 v;

	if (!scan_ipv4(text, true, &v) || !v.set)
		return -1;
	*addr = v.addr;
	*prefix_len = v.prefix_len;
	return 0;
}

/* "xx:xx:xx:xx:xx:xx" exactly: ether_aton_r() alone also takes one-digit
 * groups and ignores what follows the sixth, so its reading must print
 * back as the text. */
static bool scan_mac(const char *text, uint8_t mac[6])
{
	struct ether_addr ea;
	char back[18];

	if (strlen(text) != 17 || !ether_aton_r(text, &ea))
		return false;
	snprintf(back, sizeof(back), "%02x:%02x:%02x:%02x:%02x:%02x", ea.ether_addr_octet[0],
		 ea.ether_addr_octet[1], ea.ether_addr_octet[2], ea.ether_addr_octet[3],
		 ea.ether_addr_octet[4], ea.ether_addr_octet[5]);
	if (strcasecmp(back, text) != 0)
		return false;
	memcpy(mac, ea.ether_addr_octet, 6);
	return true;
}

/* One pair of words, the entry the messages name. */
static bool neighbor_of(const char *ip, const char *mac, struct ferry_neighbor *out, char *why,
			size_t n)
{
	struct ferry_ipv4 v;

	if (!scan_ipv4(ip, false, &v) || !v.set) {
		snprintf(why, n, "\"%s %s\": \"%s\" is not an IPv4 address (a.b.c.d)", ip, mac, ip);
		return false;
	}
	if (!scan_mac(mac, out->mac)) {
		snprintf(why, n, "\"%s %s\": \"%s\" is not a MAC address (xx:xx:xx:xx:xx:xx)", ip,
			 mac, mac);
		return false;
	}
	if (out->mac[0] & 1) {
		snprintf(why, n, "\"%s %s\": %s is a multicast or broadcast MAC, not a neighbour's",
			 ip, mac, mac);
		return false;
	}
	if (!(out->mac[0] | out->mac[1] | out->mac[2] | out->mac[3] | out->mac[4] | out->mac[5])) {
		snprintf(why, n, "\"%s %s\": %s is the zero MAC, not a neighbour's", ip, mac, mac);
		return false;
	}
	out->ip = v.addr;
	return true;
}

int ferry_config_parse_neighbors(const struct ferry_strlist *l, struct ferry_neighbor *out,
				 int max, char *why, size_t n)
{
	size_t len = 1;
	char *words, *save = NULL;
	int count = 0;

	for (int i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + 1;
	if (!(words = malloc(len))) {
		snprintf(why, n, "out of memory");
		return -1;
	}
	words[0] = '\0';
	for (int i = 0; i < l->n; i++) {
		strcat(words, l->v[i]);
		strcat(words, " ");
	}
	for (char *ip = strtok_r(words, " \t\n\r\f\v", &save); ip;
	     ip = strtok_r(NULL, " \t\n\r\f\v", &save)) {
		char *mac = strtok_r(NULL, " \t\n\r\f\v", &save);

		if (!mac) {
			snprintf(why, n, "\"%s\" has no MAC address after it; each entry is "
				 "\"a.b.c.d xx:xx:xx:xx:xx:xx\"", ip);
			goto bad;
		}
		if (count == max) {
			snprintf(why, n, "\"%s %s\": more than %d entries", ip, mac, max);
			goto bad;
		}
		if (!neighbor_of(ip, mac, &out[count], why, n))
			goto bad;
		for (int i = 0; i < count; i++)
			if (out[i].ip == out[count].ip) {
				snprintf(why, n, "\"%s %s\": %s is listed twice", ip, mac, ip);
				goto bad;
			}
		count++;
	}
	free(words);
	return count;
bad:
	free(words);
	return -1;
}

int ferry_config_parse_peer_mtu(const char *text, uint32_t *addr, uint8_t *prefix_len,
				uint16_t *mtu)
{
	char cidr[32];
	const char *p = text + strspn(text, " \t");
	size_t n = strcspn(p, " \t");
	uint64_t v;

	if (n == 0 || n >= sizeof(cidr))
		return -1;
	memcpy(cidr, p, n);
	cidr[n] = '\0';
	p += n;
	if (!isspace((unsigned char)*p) || ferry_config_parse_cidr(cidr, addr, prefix_len) != 0)
		return -1;
	p += strspn(p, " \t");
	if (!isdigit((unsigned char)*p) || !scan_u64(&p, &v) || v < FERRY_CONFIG_PEER_MTU_MIN ||
	    v > FERRY_CONFIG_PEER_MTU_MAX)
		return -1;
	p += strspn(p, " \t");
	if (*p != '\0')
		return -1;
	*mtu = (uint16_t)v;
	return 0;
}

int ferry_config_parse_trusted(const char *entry, uint8_t key[32], struct ferry_ipv4 *nets,
			       int max, char *why, size_t whylen)
{
	static const char blanks[] = " \t";
	const char *p = entry + strspn(entry, blanks);
	size_t len = strcspn(p, blanks);
	size_t got = 0;
	const char *end = NULL;
	int n = 0;

	if (len == 0 || sodium_base642bin(key, 32, p, len, NULL, &got, &end,
					  sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != 32 || end != p + len) {
		snprintf(why, whylen, "\"%.*s\" is not a public key (base64 of 32 bytes, as "
			 "ferryd --gen-key prints it)", (int)(len > 60 ? 60 : len), p);
		return -1;
	}
	for (p += len; *(p += strspn(p, blanks)); p += len) {
		char word[32];

		len = strcspn(p, blanks);
		snprintf(word, sizeof(word), "%.*s", (int)len, p);
		if (n == max) {
			snprintf(why, whylen, "more than %d addresses for one key", max);
			return -1;
		}
		if (len >= sizeof(word) || !scan_ipv4(word, strchr(word, '/') != NULL, &nets[n])) {
			snprintf(why, whylen, "\"%.*s\" is not an address a.b.c.d or a subnet "
				 "a.b.c.d/len", (int)(len > 40 ? 40 : len), p);
			return -1;
		}
		n++;
	}
	if (n == 0)
		snprintf(why, whylen, "no address or subnet after the key");
	return n ? n : -1;
}

/* ---- lists -------------------------------------------------------------- */

static void list_free(struct ferry_strlist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct ferry_strlist){ 0 };
}

static bool list_push(struct ferry_strlist *l, const char *s, size_t len)
{
	char **v = realloc(l->v, (size_t)(l->n + 1) * sizeof(*v));

	if (!v)
		return false;
	l->v = v;
	if (!(v[l->n] = strndup(s, len)))
		return false;
	l->n++;
	return true;
}

static bool list_from_libconfig(const config_setting_t *cs, struct ferry_strlist *out)
{
	int n = config_setting_length(cs);

	*out = (struct ferry_strlist){ 0 };
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(cs, (unsigned)i);
		const char *s = e ? config_setting_get_string(e) : NULL;

		if (!s || !*s || !list_push(out, s, strlen(s))) {
			list_free(out);
			return false;
		}
	}
	return true;
}

/*
 * Text lists are split on blanks, not commas: the DPDK device arguments
 * these lists mostly carry ("net_af_packet0,iface=eth1") are full of
 * commas. A value in brackets is read as a libconfig array instead, so
 * whatever ferry_config_print() shows can be handed back as a flag.
 */
static bool scan_list(const char *text, struct ferry_strlist *out)
{
	const char *p = text;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '[' || *p == '(') {
		config_t cfg;
		char *doc = NULL;
		bool ok = false;

		config_init(&cfg);
		if (asprintf(&doc, "v = %s;", p) >= 0 && config_read_string(&cfg, doc)) {
			const config_setting_t *root = config_root_setting(&cfg);
			const config_setting_t *v = config_setting_get_member(root, "v");

			ok = config_setting_length(root) == 1 && v &&
			     (config_setting_is_array(v) || config_setting_is_list(v)) &&
			     list_from_libconfig(v, out);
		}
		free(doc);
		config_destroy(&cfg);
		return ok;
	}
	*out = (struct ferry_strlist){ 0 };
	while (*p) {
		size_t len = strcspn(p, " \t\n\r\f\v");

		if (!list_push(out, p, len)) {
			list_free(out);
			return false;
		}
		p += len;
		while (isspace((unsigned char)*p))
			p++;
	}
	return true;
}

/* ---- parsing ------------------------------------------------------------- */

static bool int_ok(const struct fcfg_setting *s, int64_t v)
{
	if (v < s->min || v > s->max)
		return false;
	return !(s->type == FCFG_SIZE && s->pow2 && (v & (v - 1)) != 0);
}

static bool dbl_ok(const struct fcfg_setting *s, double v)
{
	return isfinite(v) && v >= s->dmin && v <= s->dmax;
}

bool fcfg_default_value(const struct fcfg_setting *s, union fcfg_value *out)
{
	memset(out, 0, sizeof(*out));
	switch (s->type) {
	case FCFG_BOOL: out->b = s->def_i != 0; return true;
	case FCFG_INT:
	case FCFG_SIZE: out->i = s->def_i; return true;
	case FCFG_DBL: out->d = s->def_d; return true;
	default: return fcfg_parse_text(s, s->def_s, out);
	}
}

bool fcfg_parse_text(const struct fcfg_setting *s, const char *text, union fcfg_value *out)
{
	char buf[64];
	char *end;

	switch (s->type) {
	case FCFG_BOOL:
		return scan_bool(text, &out->b);
	case FCFG_INT:
		return scan_int(text, &out->i) && int_ok(s, out->i);
	case FCFG_SIZE:
		return scan_size(text, &out->i) && int_ok(s, out->i);
	case FCFG_DBL:
		if (!trim(text, buf, sizeof(buf)) || !buf[0])
			return false;
		out->d = strtod(buf, &end);
		return *end == '\0' && dbl_ok(s, out->d);
	case FCFG_STR:
		return (out->s = strdup(text)) != NULL;
	case FCFG_ENUM:
		return scan_enum(s->values, text, &out->e);
	case FCFG_LIST:
		return scan_list(text, &out->l);
	case FCFG_IPV4:
		return scan_ipv4(text, s->prefix_ok, &out->ip);
	}
	return false;
}

bool fcfg_parse_libconfig(const struct fcfg_setting *s, const config_setting_t *cs,
			  union fcfg_value *out)
{
	int t = config_setting_type(cs);
	bool is_int = t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;

	switch (s->type) {
	case FCFG_BOOL:
		if (t != CONFIG_TYPE_BOOL)
			return false;
		out->b = config_setting_get_bool(cs) != 0;
		return true;
	case FCFG_SIZE:
		if (t == CONFIG_TYPE_STRING)
			return fcfg_parse_text(s, config_setting_get_string(cs), out);
		/* fall through */
	case FCFG_INT:
		if (!is_int)
			return false;
		out->i = config_setting_get_int64(cs);
		return int_ok(s, out->i);
	case FCFG_DBL:
		if (t != CONFIG_TYPE_FLOAT && !is_int)
			return false;
		out->d = t == CONFIG_TYPE_FLOAT ? config_setting_get_float(cs)
						: (double)config_setting_get_int64(cs);
		return dbl_ok(s, out->d);
	case FCFG_LIST:
		/* A single string is read as a text list. */
		if (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST)
			return list_from_libconfig(cs, &out->l);
		/* fall through */
	case FCFG_STR:
	case FCFG_ENUM:
	case FCFG_IPV4:
		if (t != CONFIG_TYPE_STRING)
			return false;
		return fcfg_parse_text(s, config_setting_get_string(cs), out);
	}
	return false;
}

/* ---- storing ------------------------------------------------------------- */

void fcfg_value_free(enum fcfg_type t, union fcfg_value *v)
{
	if (t == FCFG_STR) {
		free(v->s);
		v->s = NULL;
	} else if (t == FCFG_LIST) {
		list_free(&v->l);
	}
}

static void *field(const struct ferry_config *c, const struct fcfg_setting *s)
{
	return (char *)c + s->off;
}

void fcfg_get(const struct ferry_config *c, const struct fcfg_setting *s, union fcfg_value *v)
{
	void *f = field(c, s);

	switch (s->type) {
	case FCFG_BOOL: v->b = *(bool *)f; break;
	case FCFG_INT:
	case FCFG_SIZE: v->i = *(int64_t *)f; break;
	case FCFG_DBL: v->d = *(double *)f; break;
	case FCFG_STR: v->s = *(char **)f; break;
	case FCFG_ENUM: v->e = *(int *)f; break;
	case FCFG_LIST: v->l = *(struct ferry_strlist *)f; break;
	case FCFG_IPV4: v->ip = *(struct ferry_ipv4 *)f; break;
	}
}

void fcfg_clear(struct ferry_config *c, const struct fcfg_setting *s)
{
	union fcfg_value old;

	fcfg_get(c, s, &old);
	fcfg_value_free(s->type, &old);
	switch (s->type) {
	case FCFG_STR: *(char **)field(c, s) = NULL; break;
	case FCFG_LIST: *(struct ferry_strlist *)field(c, s) = (struct ferry_strlist){ 0 }; break;
	default: break;
	}
}

void fcfg_store(struct ferry_config *c, const struct fcfg_setting *s, union fcfg_value *v)
{
	void *f = field(c, s);

	fcfg_clear(c, s);
	switch (s->type) {
	case FCFG_BOOL: *(bool *)f = v->b; break;
	case FCFG_INT:
	case FCFG_SIZE: *(int64_t *)f = v->i; break;
	case FCFG_DBL: *(double *)f = v->d; break;
	case FCFG_STR: *(char **)f = v->s; break;
	case FCFG_ENUM: *(int *)f = v->e; break;
	case FCFG_LIST: *(struct ferry_strlist *)f = v->l; break;
	case FCFG_IPV4: *(struct ferry_ipv4 *)f = v->ip; break;
	}
}
