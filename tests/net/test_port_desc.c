/* SPDX-License-Identifier: BSD-3-Clause */
/* Descriptor counts against a driver's limits (port_desc.c): ENA's
 * (128..8192, powers of two though dev_info does not say so), a driver
 * with an alignment, the vdevs' defaults, and the messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "port_desc.h"

/* what DPDK 22.11's ENA driver puts in dev_info on an ENI with 8K rings */
static const struct ferry_desc_lim ena = {.nb_min = 128, .nb_max = 8192, .nb_align = 0};
/* ethdev's defaults, which the vdevs leave as they are */
static const struct ferry_desc_lim vdev = {.nb_min = 0, .nb_max = UINT16_MAX, .nb_align = 1};

static void test_allowed(void **state)
{
	(void)state;
	char err[256] = "";
	for (int64_t v = 128; v <= 8192; v *= 2)
		assert_int_equal(ferry_port_desc_check("port.rx_desc", v, "ena0", &ena, err, sizeof(err)), 0);
	for (int64_t v = 1; v <= 32768; v *= 2)
		assert_int_equal(ferry_port_desc_check("port.rx_desc", v, "net_af_packet0", &vdev, err,
						       sizeof(err)),
				 0);
	assert_string_equal(err, "");
}

static void test_refused_with_what_to_set(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(ferry_port_desc_check("port.rx_desc", 1000, "0000:00:06.0 (net_ena)", &ena, err,
					       sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "port.rx_desc = 1000, but 0000:00:06.0 (net_ena) takes 128, 256, 512, "
				 "1024, 2048, 4096 or 8192: set port.rx_desc to one of them");
	/* below ENA's minimum, above its maximum */
	assert_int_equal(ferry_port_desc_check("port.tx_desc", 64, "ena0", &ena, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "port.tx_desc = 64, but ena0 takes 128, "));
	assert_int_equal(ferry_port_desc_check("port.tx_desc", 16384, "ena0", &ena, err, sizeof(err)),
			 -EINVAL);
	/* not a power of two, even where the driver would take it */
	assert_int_equal(ferry_port_desc_check("port.rx_desc", 1536, "vdev", &vdev, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "takes 1, 2, 4, "));
	assert_non_null(strstr(err, "16384 or 32768: set port.rx_desc to one of them"));
}

static void test_alignment_and_odd_limits(void **state)
{
	(void)state;
	char err[256];
	/* a multiple of 64 from 256 to 4096 */
	const struct ferry_desc_lim al = {.nb_min = 256, .nb_max = 4096, .nb_align = 64};
	assert_int_equal(ferry_port_desc_check("port.rx_desc", 512, "x", &al, err, sizeof(err)), 0);
	assert_int_equal(ferry_port_desc_check("port.rx_desc", 128, "x", &al, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "port.rx_desc = 128, but x takes 256, 512, 1024, 2048 or 4096: set "
				 "port.rx_desc to one of them");
	/* exactly one power of two fits */
	const struct ferry_desc_lim one = {.nb_min = 600, .nb_max = 1500, .nb_align = 8};
	assert_int_equal(ferry_port_desc_check("port.tx_desc", 512, "y", &one, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "port.tx_desc = 512, but y takes 1024: set port.tx_desc to it");
	/* none does: the limits themselves are shown */
	const struct ferry_desc_lim none = {.nb_min = 600, .nb_max = 1000, .nb_align = 8};
	assert_int_equal(ferry_port_desc_check("port.tx_desc", 512, "z", &none, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "port.tx_desc = 512, but z takes no power of two: its limits are "
				 "600..1000, a multiple of 8");
	/* a short buffer is cut, never overrun */
	char small[16];
	assert_int_equal(ferry_port_desc_check("port.rx_desc", 1000, "0000:00:06.0", &ena, small,
					       sizeof(small)),
			 -EINVAL);
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_refused_with_what_to_set),
		cmocka_unit_test(test_alignment_and_odd_limits),
	};
	return cmocka_run_group_tests_name("port_desc", tests, NULL, NULL);
}
