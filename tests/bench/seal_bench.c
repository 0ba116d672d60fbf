/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * seal_bench: what sealing and opening one packet cost, alone, on one
 * core: the engine's own seal.c, as secure.c calls it for every packet
 * (open includes the replay window's check and mark).
 *
 *   seal_bench [--sizes 64,1024,1472] [--ms N] [--json]
 *
 * For each AEAD this CPU runs (AES-256-GCM needs AES-NI;
 * ChaCha20-Poly1305 always), each mode (encrypt, authenticate) and each
 * size (the plain packet, header included, before the 28 bytes of seal),
 * it seals, then opens, packets back to back for --ms milliseconds
 * (default 200) five times, and reports the median: ns per packet and
 * GB/s of packet bytes per core. Beside them, a memcpy of the same
 * packet: the copy every sealed send makes anyway.
 *
 * A benchmark, not a test: it prints figures, and fails only when a
 * packet it sealed does not open.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seal.h"

#define RUNS 5
#define HDR sizeof(struct ferry_wire_hdr)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Volatile so the compiler keeps the copies. */
static volatile uint8_t sink;

enum op { OP_SEAL, OP_OPEN, OP_COPY };

/* ns per packet, the median of RUNS runs of about @p ms each. */
static double measure(enum op op, struct seal_key *k, size_t size, unsigned ms)
{
	static uint8_t pkt[65536], sealed[65536], out[65536], copy[65536];
	struct seal_replay rw;
	double per[RUNS];
	for (size_t i = 0; i < size; i++)
		pkt[i] = (uint8_t)(i * 7);
	size_t sl = 0;
	if (op == OP_OPEN) {
		memcpy(sealed, pkt, size);
		sl = seal_packet(k, 1, 0, sealed, size);
	}
	uint64_t ctr = 0;
	for (int r = 0; r < RUNS; r++) {
		uint64_t n = 0, t0 = now_ns(), t = t0, end = t0 + (uint64_t)ms * 1000000ull;
		memset(&rw, 0, sizeof(rw));
		while (t < end) {
			for (int i = 0; i < 256; i++, n++) {
				switch (op) {
				case OP_SEAL:
					seal_packet(k, 1, ctr++, pkt, size);
					break;
				case OP_OPEN:
					/* the same packet each time: the window is
					 * asked, as for any packet, then reset */
					if (!replay_check(&rw, 0, 1u << 23) ||
					    open_packet(k, sealed, sl, out) != (long)size) {
						fprintf(stderr, "seal_bench: a sealed packet did not open\n");
						exit(1);
					}
					replay_mark(&rw, 0, 1u << 23);
					rw.top = 0;
					rw.bits[0] = 0;
					break;
				case OP_COPY:
					memcpy(copy, pkt, size);
					sink = copy[size - 1];
					break;
				}
			}
			t = now_ns();
		}
		per[r] = (double)(t - t0) / (double)n;
	}
	qsort(per, RUNS, sizeof(per[0]), cmp_double);
	return per[RUNS / 2];
}

static const char *aead_name(uint8_t a)
{
	return a == FW_AEAD_AES256GCM ? "aes-256-gcm" : "chacha20-poly1305";
}

int main(int argc, char **argv)
{
	size_t sizes[16] = {64, 1024, 1472};
	int nsizes = 3;
	unsigned ms = 200;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc) {
			ms = (unsigned)strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
			nsizes = 0;
			for (char *p = strtok(argv[++i], ","); p && nsizes < 16; p = strtok(NULL, ","))
				sizes[nsizes++] = strtoul(p, NULL, 10);
		} else {
			fprintf(stderr, "usage: seal_bench [--sizes 64,1024,1472] [--ms N] [--json]\n");
			return 64;
		}
	}
	for (int s = 0; s < nsizes; s++) {
		if (sizes[s] < HDR || sizes[s] > 65000) {
			fprintf(stderr, "seal_bench: a size is %zu..65000 bytes (header included)\n",
				HDR);
			return 64;
		}
	}
	if (sodium_init() < 0 || ms == 0) {
		fprintf(stderr, "seal_bench: libsodium does not start, or --ms 0\n");
		return 1;
	}
	uint8_t key[32] = {1, 2, 3};
	uint8_t avail = seal_aeads_available();
	struct seal_key *k = aligned_alloc(64, 1024);
	if (json)
		printf("[");
	else
		printf("%-18s %-13s %6s %12s %9s %12s %9s %10s\n", "aead", "mode", "bytes",
		       "seal ns/pkt", "GB/s", "open ns/pkt", "GB/s", "memcpy ns");
	bool first = true;
	for (uint8_t a = FW_AEAD_CHACHA20POLY1305; a <= FW_AEAD_AES256GCM; a <<= 1) {
		if (!(avail & a)) {
			fprintf(stderr, "seal_bench: no AES-NI here: %s left out\n", aead_name(a));
			continue;
		}
		for (uint8_t m = FW_SEC_ENCRYPT; m >= FW_SEC_AUTHENTICATE; m--) {
			seal_key_init(k, a, m, key);
			for (int s = 0; s < nsizes; s++) {
				double sn = measure(OP_SEAL, k, sizes[s], ms);
				double on = measure(OP_OPEN, k, sizes[s], ms);
				double cn = measure(OP_COPY, k, sizes[s], ms);
				const char *mode = m == FW_SEC_ENCRYPT ? "encrypt" : "authenticate";
				if (json)
					printf("%s\n {\"aead\": \"%s\", \"mode\": \"%s\", \"bytes\": %zu, "
					       "\"seal_ns\": %.1f, \"open_ns\": %.1f, \"memcpy_ns\": %.1f, "
					       "\"seal_gbps\": %.3f, \"open_gbps\": %.3f}",
					       first ? "" : ",", aead_name(a), mode, sizes[s], sn, on, cn,
					       (double)sizes[s] / sn, (double)sizes[s] / on);
				else
					printf("%-18s %-13s %6zu %12.1f %9.2f %12.1f %9.2f %10.1f\n",
					       aead_name(a), mode, sizes[s], sn, (double)sizes[s] / sn, on,
					       (double)sizes[s] / on, cn);
				first = false;
			}
			seal_key_wipe(k);
		}
	}
	if (json)
		printf("\n]\n");
	free(k);
	return 0;
}
