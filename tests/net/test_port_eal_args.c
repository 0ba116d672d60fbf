/* SPDX-License-Identifier: BSD-3-Clause */
/* EAL argument construction from ferry's settings: every mode of
 * eal.hugepages, the lists, log levels, extra arguments and the
 * --in-memory/--no-huge conflict. Pure: EAL is never started. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ferry_config.h"
#include "port_eal_args.h"

/* The table's defaults for the rows the builder reads. */
static void defaults(struct ferry_config *c)
{
	memset(c, 0, sizeof(*c));
	c->eal_lcores = "0";
	c->eal_hugepages = FERRY_HUGE_AUTO;
	c->eal_memory_mb = 256;
	c->eal_file_prefix = "ferryd";
	c->eal_extra_args = "";
	c->log_level = FERRY_LOG_INFO;
}

static const struct ferry_eal_env no_huge = {.free_hugepages = 0, .hugepage_kb = 2048};

static void expect_argv(const struct ferry_eal_args *a, const char *const *want)
{
	int n = 0;
	while (want[n])
		n++;
	for (int i = 0; i < n && i < a->argc; i++)
		assert_string_equal(a->argv[i], want[i]);
	assert_int_equal(a->argc, n);
	assert_null(a->argv[a->argc]);
}

static int count(const struct ferry_eal_args *a, const char *s)
{
	int n = 0;
	for (int i = 0; i < a->argc; i++)
		n += strcmp(a->argv[i], s) == 0;
	return n;
}

static void test_off(void **state)
{
	(void)state;
	struct ferry_config c;
	struct ferry_eal_args a;
	char err[256];
	defaults(&c);
	c.eal_hugepages = FERRY_HUGE_OFF;
	assert_int_equal(ferry_eal_args_build(&c, &no_huge, "ferryd", &a, err, sizeof(err)), 0);
	const char *want[] = {"ferryd", "--lcores", "0", "--no-huge", "--no-shconf", "--file-prefix", "ferryd",
			      "-m", "256", "--log-level=notice", NULL};
	expect_argv(&a, want);
	assert_false(a.hugepages);
	ferry_eal_args_free(&a);
}

static void test_on(void **state)
{
	(void)state;
	struct ferry_config c;
	struct ferry_eal_args a;
	char err[256];
	defaults(&c);
	c.eal_hugepages = FERRY_HUGE_ON;
	/* "on" does not look at the free count: EAL's error will say */
	assert_int_equal(ferry_eal_args_build(&c, &no_huge, "ferryd", &a, err, sizeof(err)), 0);
	const char *want[] = {"ferryd", "--lcores", "0", "--in-memory", "--file-prefix", "ferryd",
			      "-m", "256", "--log-level=notice", NULL};
	expect_argv(&a, want);
	assert_true(a.hugepages);
	assert_int_equal(count(&a, "--no-huge"), 0);
	ferry_eal_args_free(&a);
}

static void test_auto(void **state)
{
	(void)state;
	struct ferry_config c;
	struct ferry_eal_args a;
	char err[256];
	struct ferry_eal_env env = {.free_hugepages = 128, .hugepage_kb = 2048};
	defaults(&c);

	/* 128 x 2 MiB = 256 MiB = eal.memory_mb: enough */
	assert_int_equal(ferry_eal_args_build(&c, &env, "ferryd", &a, err, sizeof(err)), 0);
	assert_true(a.hugepages);
	assert_int_equal(count(&a, "--in-memory"), 1);
	assert_int_equal(count(&a, "--no-huge"), 0);
	ferry_eal_args_free(&a);

	env.free_hugepages = 127;
	assert_int_equal(ferry_eal_args_build(&c, &env, "ferryd", &a, err, sizeof(err)), 0);
	assert_false(a.hugepages);
	assert_int_equal(count(&a, "--no-huge"), 1);
	assert_int_equal(count(&a, "--in-memory"), 0);
	ferry_eal_args_free(&a);

	env = (struct ferry_eal_env){.free_hugepages = 1, .hugepage_kb = 1048576};
	assert_int_equal(ferry_eal_args_build(&c, &env, "ferryd", &a, err, sizeof(err)), 0);
	assert_true(a.hugepages);
	ferry_eal_args_free(&a);

	assert_int_equal(ferry_eal_args_build(&c, &no_huge, "ferryd", &a, err, sizeof(err)), 0);
	assert_false(a.hugepages);
	ferry_eal_args_free(&a);

	/* no measurement at all: off */
	assert_int_equal(ferry_eal_args_build(&c, NULL, "ferryd", &a, err, sizeof(err)), 0);
	assert_false(a.hugepages);
	ferry_eal_args_free(&a);
}

static void test_devices(void **state)
{
	(void)state;
	struct ferry_config c;
	struct ferry_eal_args a;
	char err[256];
	char *vdevs[] = {"net_af_packet0,iface=veth0", "net_memif0,role=server"};
	char *allow[] = {"0000:00:06.0,large_llq_hdr=1"};
	defaults(&c);
	c.eal_hugepages = FERRY_HUGE_OFF;
	c.eal_file_prefix = "lab-a";
	c.eal_memory_mb = 64;
	c.eal_lcores = "1";
	c.eal_vdevs = (struct ferry_strlist){.v = vdevs, .n = 2};

	/* vdevs only: --no-pci keeps a vfio-bound PCI NIC out */
	assert_int_equal(ferry_eal_args_build(&c, &no_huge, "t", &a, err, sizeof(err)), 0);
	const char *want1[] = {"t", "--lcores", "1", "--no-huge", "--no-shconf", "--file-prefix", "lab-a",
			       "-m", "64", "--log-level=notice", "--vdev", "net_af_packet0,iface=veth0", "--vdev",
			       "net_memif0,role=server", "--no-pci", NULL};
	expect_argv(&a, want1);
	ferry_eal_args_free(&a);

	/* an allow list: PCI probing stays on, limited to it */
	c.eal_vdevs.n = 0;
	c.eal_allow = (struct ferry_strlist){.v = allow, .n = 1};
	assert_int_equal(ferry_eal_args_build(&c, &no_huge, "t", &a, err, sizeof(err)), 0);
	const char *want2[] = {"t", "--lcores", "1", "--no-huge", "--no-shconf", "--file-prefix", "lab-a",
			       "-m", "64", "--log-level=notice", "-a", "0000:00:06.0,large_llq_hdr=1", NULL};
	expect_argv(&a, want2);
	ferry_eal_args_free(&a);

	/* neither: EAL's own defaults (probe every bound device) */
	c.eal_allow.n = 0;
	c.eal_lcores = "";
	c.eal_file_prefix = "";
	assert_int_equal(ferry_eal_args_build(&c, &no_huge, NULL, &a, err, sizeof(err)), 0);
	const char *want3[] = {"ferryd", "--no-huge", "--no-shconf", "-m", "64", "--log-level=notice", NULL};
	expect_argv(&a, want3);
	ferry_eal_args_free(&a);
}

static void test_log_levels(void **state)
{
	(void)state;
	struct ferry_config c;
	struct ferry_eal_args a;
	char err[256];
	static const char *const want[] = {
		[FERRY_LOG_ERR] = "--log-level=error",     [FERRY_LOG_WARNING] = "--log-level=warning",
		[FERRY_LOG_NOTICE] = "--log-level=notice", [FERRY_LOG_INFO] = "--log-level=notice",
		[FERRY_LOG_DEBUG] = "--log-level=debug",
	};
	defaults(&c);
	for (int l = FERRY_LOG_ERR; l <= FERRY_LOG_DEBUG; l++) {
		c.log_level = l;
		assert_int_equal(ferry_eal_args_build(&c, &no_huge, "ferryd", &a, err, sizeof(err)), 0);
		assert_int_equal(count(&a, want[l]), 1);
		ferry_eal_args_free(&a);
	}
}

static void test_extra_args(void **state)
{
	(void)state;
	struct ferry_config c;
	struct ferry_eal_args a;
	char err[256], line[512];
	defaults(&c);
	c.eal_hugepages = FERRY_HUGE_OFF;
	c.eal_extra_args = "  --iova-mode=va \t --telemetry   -n 2 ";
	assert_int_equal(ferry_eal_args_build(&c, &no_huge, "ferryd", &a, err, sizeof(err)), 0);
	const char *want[] = {"ferryd", "--lcores", "0", "--no-huge", "--no-shconf", "--file-prefix",
			      "ferryd", "-m", "256", "--log-level=notice", "--iova-mode=va",
			      "--telemetry", "-n", "2", NULL};
	expect_argv(&a, want);

	int need = ferry_eal_args_format(&a, line, sizeof(line));
	assert_string_equal(line, "ferryd --lcores 0 --no-huge --no-shconf --file-prefix ferryd -m 256 "
				  "--log-level=notice "
				  "--iova-mode=va --telemetry -n 2");
	assert_int_equal(need, strlen(line));
	char small[10];
	assert_int_equal(ferry_eal_args_format(&a, small, sizeof(small)), need);
	assert_string_equal(small, "ferryd --");
	ferry_eal_args_free(&a);
	ferry_eal_args_free(&a); /* twice is harmless */
}

static void test_never_in_memory_with_no_huge(void **state)
{
	(void)state;
	struct ferry_config c;
	struct ferry_eal_args a;
	char err[256];
	struct ferry_eal_env plenty = {.free_hugepages = 1024, .hugepage_kb = 2048};
	defaults(&c);

	c.eal_hugepages = FERRY_HUGE_ON;
	c.eal_extra_args = "--no-huge";
	err[0] = 0;
	assert_int_equal(ferry_eal_args_build(&c, &plenty, "ferryd", &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "eal.extra_args"));
	assert_non_null(strstr(err, "--no-huge"));
	assert_null(a.argv);

	c.eal_hugepages = FERRY_HUGE_OFF;
	c.eal_extra_args = "--in-memory";
	assert_int_equal(ferry_eal_args_build(&c, &plenty, "ferryd", &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--in-memory"));

	c.eal_hugepages = FERRY_HUGE_AUTO; /* auto resolves on with plenty */
	c.eal_extra_args = "--no-huge";
	assert_int_equal(ferry_eal_args_build(&c, &plenty, "ferryd", &a, err, sizeof(err)), -EINVAL);

	/* a repeat of the chosen mode is no conflict */
	c.eal_extra_args = "--in-memory";
	assert_int_equal(ferry_eal_args_build(&c, &plenty, "ferryd", &a, err, sizeof(err)), 0);
	ferry_eal_args_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_on),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_extra_args),
		cmocka_unit_test(test_never_in_memory_with_no_huge),
	};
	return cmocka_run_group_tests_name("port_eal_args", tests, NULL, NULL);
}
