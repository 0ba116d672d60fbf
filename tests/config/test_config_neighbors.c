/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net.static_neighbors: the same entries from a file, a variable and a
 * flag; every malformed or misplaced entry an error that names the key,
 * the source, the entry and what is wrong.
 */
#include "config_test_util.h"

#define MAC_EE 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee

static int parse(const struct ferry_config *c, struct ferry_neighbor *nb)
{
	char why[256];
	return ferry_config_parse_neighbors(&c->net_static_neighbors, nb,
					    FERRY_STATIC_NEIGHBORS_MAX, why, sizeof(why));
}

static void assert_two(const struct ferry_config *c)
{
	static const uint8_t m1[6] = {MAC_EE}, m2[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x0f};
	struct ferry_neighbor nb[FERRY_STATIC_NEIGHBORS_MAX];

	assert_int_equal(parse(c, nb), 2);
	assert_int_equal(nb[0].ip, 0x0a000101);
	assert_memory_equal(nb[0].mac, m1, 6);
	assert_int_equal(nb[1].ip, 0x0a000109);
	assert_memory_equal(nb[1].mac, m2, 6);
}

static void test_sources_agree(void **state)
{
	struct ferry_neighbor nb[FERRY_STATIC_NEIGHBORS_MAX];
	struct res r;

	(void)state;
	assert_int_equal(load(&r, NONE, NONE), 0);
	assert_int_equal(parse(&r.c, nb), 0);
	done(&r);

	/* a file: one entry per item, any letter case in the MAC */
	load_file(&r,
		  "net = { address = \"10.0.1.5/24\"; gateway = \"10.0.1.1\";\n"
		  "  static_neighbors = [\"10.0.1.1 02:aa:bb:cc:dd:ee\", \"10.0.1.9\t02:AA:BB:cc:dd:0F\"]; };\n",
		  NONE, NONE);
	assert_clean(&r);
	assert_two(&r.c);
	assert_int_equal(r.c.src[FERRY_CFG_net_static_neighbors], FERRY_SRC_FILE);
	done(&r);

	/* a variable: the same words, blank-separated */
	load(&r, NONE,
	     ARGS("FERRY_NET_ADDRESS=10.0.1.5/24",
		  "FERRY_NET_STATIC_NEIGHBORS=10.0.1.1 02:aa:bb:cc:dd:ee  10.0.1.9 02:aa:bb:cc:dd:0f"));
	assert_clean(&r);
	assert_two(&r.c);
	done(&r);

	/* a flag, as --check-config prints it */
	load(&r, ARGS("--net.address=10.0.1.5/24",
		      "--net.static_neighbors=[\"10.0.1.1 02:aa:bb:cc:dd:ee\", \"10.0.1.9 02:aa:bb:cc:dd:0f\"]"),
	     NONE);
	assert_clean(&r);
	assert_two(&r.c);
	char *out = print_to_string(&r.c);
	assert_non_null(strstr(out, "\nnet.static_neighbors = [\"10.0.1.1 02:aa:bb:cc:dd:ee\", "
				    "\"10.0.1.9 02:aa:bb:cc:dd:0f\"] (flag)\n"));
	free(out);
	done(&r);

	/* sixteen fit; on a /31 both addresses are hosts */
	char many[16 * 32] = "", *p = many;
	for (int i = 0; i < 16; i++)
		p += sprintf(p, "10.0.1.%d 02:00:00:00:00:%02x ", 100 + i, i + 1);
	load(&r, ARGS("--net.address=10.0.1.5/24", "--net.static_neighbors", many), NONE);
	assert_clean(&r);
	assert_int_equal(parse(&r.c, nb), 16);
	assert_int_equal(nb[15].ip, 0x0a000100 + 115);
	assert_int_equal(nb[15].mac[5], 16);
	done(&r);
	load(&r, ARGS("--net.address=10.0.1.0/31", "--net.static_neighbors=10.0.1.1 02:aa:bb:cc:dd:ee"),
	     NONE);
	assert_clean(&r);
	done(&r);
}

static void test_bad_entries(void **state)
{
	static const struct {
		const char *value;
		const char *line;
	} cases[] = {
		{ "10.0.1.1", "\"10.0.1.1\" has no MAC address after it; each entry is \"a.b.c.d xx:xx:xx:xx:xx:xx\"" },
		{ "10.0.1.1 02:aa:bb:cc:dd:ee 10.0.1.2", "\"10.0.1.2\" has no MAC address after it" },
		{ "10.0.1 02:aa:bb:cc:dd:ee", "\"10.0.1 02:aa:bb:cc:dd:ee\": \"10.0.1\" is not an IPv4 address (a.b.c.d)" },
		{ "10.0.1.1/32 02:aa:bb:cc:dd:ee", "\"10.0.1.1/32 02:aa:bb:cc:dd:ee\": \"10.0.1.1/32\" is not an IPv4 address" },
		{ "02:aa:bb:cc:dd:ee 10.0.1.1", "\"02:aa:bb:cc:dd:ee 10.0.1.1\": \"02:aa:bb:cc:dd:ee\" is not an IPv4 address" },
		{ "10.0.1.1 02:aa:bb:cc:dd", "\"10.0.1.1 02:aa:bb:cc:dd\": \"02:aa:bb:cc:dd\" is not a MAC address (xx:xx:xx:xx:xx:xx)" },
		{ "10.0.1.1 02:aa:bb:cc:dd:eef", "\"10.0.1.1 02:aa:bb:cc:dd:eef\": \"02:aa:bb:cc:dd:eef\" is not a MAC address" },
		{ "10.0.1.1 2:aa:bb:cc:dd:ee0", "\"10.0.1.1 2:aa:bb:cc:dd:ee0\": \"2:aa:bb:cc:dd:ee0\" is not a MAC address" },
		{ "10.0.1.1 02-aa-bb-cc-dd-ee", "\"10.0.1.1 02-aa-bb-cc-dd-ee\": \"02-aa-bb-cc-dd-ee\" is not a MAC address" },
		{ "10.0.1.1 0g:aa:bb:cc:dd:ee", "\"10.0.1.1 0g:aa:bb:cc:dd:ee\": \"0g:aa:bb:cc:dd:ee\" is not a MAC address" },
		{ "10.0.1.1 01:00:5e:00:00:01", "\"10.0.1.1 01:00:5e:00:00:01\": 01:00:5e:00:00:01 is a multicast or broadcast MAC, not a neighbour's" },
		{ "10.0.1.1 ff:ff:ff:ff:ff:ff", "\"10.0.1.1 ff:ff:ff:ff:ff:ff\": ff:ff:ff:ff:ff:ff is a multicast or broadcast MAC" },
		{ "10.0.1.1 00:00:00:00:00:00", "\"10.0.1.1 00:00:00:00:00:00\": 00:00:00:00:00:00 is the zero MAC, not a neighbour's" },
		{ "10.0.1.1 02:aa:bb:cc:dd:ee 10.0.1.1 02:aa:bb:cc:dd:ef", "\"10.0.1.1 02:aa:bb:cc:dd:ef\": 10.0.1.1 is listed twice" },
		{ "10.0.2.1 02:aa:bb:cc:dd:ee", "\"10.0.2.1 02:aa:bb:cc:dd:ee\": 10.0.2.1 is outside the subnet of net.address (\"10.0.1.5/24\", flag)" },
		{ "10.0.1.5 02:aa:bb:cc:dd:ee", "\"10.0.1.5 02:aa:bb:cc:dd:ee\": 10.0.1.5 is net.address itself" },
		{ "10.0.1.0 02:aa:bb:cc:dd:ee", "\"10.0.1.0 02:aa:bb:cc:dd:ee\": 10.0.1.0 is the network address of the subnet of net.address (\"10.0.1.5/24\", flag)" },
		{ "10.0.1.255 02:aa:bb:cc:dd:ee", "\"10.0.1.255 02:aa:bb:cc:dd:ee\": 10.0.1.255 is the broadcast address of the subnet of net.address" },
		{ "224.0.0.1 02:aa:bb:cc:dd:ee", "\"224.0.0.1 02:aa:bb:cc:dd:ee\": 224.0.0.1 is not a unicast address" },
		{ "127.0.0.1 02:aa:bb:cc:dd:ee", "\"127.0.0.1 02:aa:bb:cc:dd:ee\": 127.0.0.1 is not a unicast address" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char flag[128];
		struct res r;

		snprintf(flag, sizeof(flag), "--net.static_neighbors=%s", cases[i].value);
		load(&r, ARGS("--net.address=10.0.1.5/24", flag), NONE);
		if (r.n != 1)
			fail_msg("case %zu: %d errors:\n%s", i, r.n, r.err);
		assert_err(&r, "ferryd: net.static_neighbors: flag --net.static_neighbors: %s",
			   cases[i].line);
		done(&r);
	}
}

static void test_other_errors(void **state)
{
	struct res r;
	char many[17 * 32] = "", *p = many;

	(void)state;
	/* local mode has no neighbours */
	load(&r, ARGS("--net.static_neighbors=10.0.1.1 02:aa:bb:cc:dd:ee"), NONE);
	assert_int_equal(r.n, 1);
	assert_err(&r, "ferryd: net.static_neighbors: flag --net.static_neighbors: needs net.address to be set\n");
	done(&r);

	for (int i = 0; i < 17; i++)
		p += sprintf(p, "10.0.1.%d 02:00:00:00:00:%02x ", 100 + i, i + 1);
	load(&r, ARGS("--net.address=10.0.1.5/24", "--net.static_neighbors", many), NONE);
	assert_int_equal(r.n, 1);
	assert_err(&r, "\"10.0.1.116 02:00:00:00:00:11\": more than 16 entries\n");
	done(&r);

	/* from the environment and the file, each source is named */
	load(&r, NONE, ARGS("FERRY_NET_ADDRESS=10.0.1.5/24", "FERRY_NET_STATIC_NEIGHBORS=10.0.1.1"));
	assert_int_equal(r.n, 1);
	assert_err(&r, "ferryd: net.static_neighbors: env FERRY_NET_STATIC_NEIGHBORS: \"10.0.1.1\" has no MAC");
	done(&r);
	load_file(&r, "net = { address = \"10.0.1.5/24\";\n static_neighbors = [\"10.0.3.1 02:aa:bb:cc:dd:ee\"]; };\n",
		  NONE, NONE);
	assert_int_equal(r.n, 1);
	assert_err(&r, "ferryd: net.static_neighbors: file %s/t.conf line 2: \"10.0.3.1 02:aa:bb:cc:dd:ee\": "
		       "10.0.3.1 is outside the subnet of net.address (\"10.0.1.5/24\", file)\n", tmpdir);
	done(&r);
	/* a flag given twice: the last one is the list, not the two joined */
	load(&r, ARGS("--net.address=10.0.1.5/24", "--net.static_neighbors=10.0.1.1 02:aa:bb:cc:dd:ee",
		      "--net.static_neighbors=10.0.1.2 02:aa:bb:cc:dd:ee 10.0.1.3 02:aa:bb:cc:dd:ee"),
	     NONE);
	assert_clean(&r);
	struct ferry_neighbor nb[FERRY_STATIC_NEIGHBORS_MAX];
	assert_int_equal(parse(&r.c, nb), 2);
	assert_int_equal(nb[0].ip, 0x0a000102);
	done(&r);
}

int main(void)
{
	const struct CMUnitTest unit[] = {
		T(test_sources_agree),
		T(test_bad_entries),
		T(test_other_errors),
	};
	return cmocka_run_group_tests_name("config_neighbors", unit, NULL, NULL);
}
