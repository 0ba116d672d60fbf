/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What every fuzz target shares. A target is one .c file that defines
 *
 *   LLVMFuzzerTestOneInput()  one input through the code under test, the
 *                             code's own invariants checked after each step
 *                             with FUZZ_CHECK (a failed check aborts, which
 *                             libFuzzer reports as a crash)
 *   fuzz_seeds()              its seed corpus, made by the code the product
 *                             uses to write such input (frame builders, the
 *                             ring producer, the status writer), so seeds
 *                             are regenerated, never stored as blobs
 *
 * and, when it needs one, LLVMFuzzerInitialize(). tests/fuzz/meson.build
 * builds each target twice: linked with libFuzzer in a -Dfuzz=true clang
 * build, and in every build as a replay runner (replay.c) that runs the
 * seeds and the kept regressions through the same checks.
 */
#ifndef FERRY_FUZZ_H
#define FERRY_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/** Called by fuzz_seeds() once per seed; @p name is a file name. */
typedef void fuzz_emit_fn(const char *name, const void *data, size_t len);

/** Produce the target's seed corpus through @p emit. */
void fuzz_seeds(fuzz_emit_fn *emit);

__attribute__((noreturn, format(printf, 4, 5)))
static inline void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: invariant broken: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/** Check an invariant of the code under test; explain with printf args. */
#define FUZZ_CHECK(cond, ...)                                                \
	do {                                                                 \
		if (!(cond))                                                 \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);   \
	} while (0)

/* ---- reading an input ----------------------------------------------- */

/** A cursor over the input; reads past its end give zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t v = fuzz_u8(in);
	return (uint16_t)(v | fuzz_u8(in) << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v = fuzz_u16(in);
	return v | (uint32_t)fuzz_u16(in) << 16;
}

/** Up to @p want bytes; *got says how many there were. */
static inline const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t want, size_t *got)
{
	const uint8_t *p = in->p;
	*got = want < in->n ? want : in->n;
	in->p += *got;
	in->n -= *got;
	return p;
}

/* ---- writing a seed ------------------------------------------------- */

/** A seed under construction: the inverse of struct fuzz_in. */
struct fuzz_out {
	uint8_t buf[65536];
	size_t n;
};

static inline void fuzz_put(struct fuzz_out *o, const void *p, size_t len)
{
	FUZZ_CHECK(o->n + len <= sizeof(o->buf), "seed longer than %zu bytes", sizeof(o->buf));
	memcpy(o->buf + o->n, p, len);
	o->n += len;
}

static inline void fuzz_put8(struct fuzz_out *o, uint8_t v)
{
	fuzz_put(o, &v, 1);
}

static inline void fuzz_put16(struct fuzz_out *o, uint16_t v)
{
	fuzz_put8(o, (uint8_t)v);
	fuzz_put8(o, (uint8_t)(v >> 8));
}

static inline void fuzz_put32(struct fuzz_out *o, uint32_t v)
{
	fuzz_put16(o, (uint16_t)v);
	fuzz_put16(o, (uint16_t)(v >> 16));
}

#endif
