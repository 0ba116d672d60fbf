/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The three memory orders ferry's shared memory uses, behind names that say
 * what each access is for. Every use site names its partner access.
 *
 *   FA_LOAD_ACQ / FA_STORE_REL  publish-subscribe: the release store makes
 *                               every earlier write visible to whoever
 *                               acquire-loads the stored value.
 *   FA_LOAD_RLX / FA_STORE_RLX  a value only its owner writes, or a hint
 *                               whose staleness is harmless (said at each use).
 *   FA_STORE_SC / FA_LOAD_SC    the two sides of a sleep/wake handshake
 *                               (Dekker): each side stores its own flag then
 *                               loads the other's; sequential consistency
 *                               guarantees at least one of them sees the
 *                               other, so no wake-up is lost.
 */
#ifndef FERRY_ATOMIC_H
#define FERRY_ATOMIC_H

#include <stdatomic.h>

#define FA_LOAD_ACQ(p) atomic_load_explicit((p), memory_order_acquire)
#define FA_STORE_REL(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define FA_LOAD_RLX(p) atomic_load_explicit((p), memory_order_relaxed)
#define FA_STORE_RLX(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define FA_LOAD_SC(p) atomic_load_explicit((p), memory_order_seq_cst)
#define FA_STORE_SC(p, v) atomic_store_explicit((p), (v), memory_order_seq_cst)

#if defined(__x86_64__) || defined(__i386__)
#define FERRY_CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define FERRY_CPU_RELAX() __asm__ __volatile__("yield" ::: "memory")
#else
#define FERRY_CPU_RELAX() atomic_signal_fence(memory_order_seq_cst)
#endif

#define FERRY_LIKELY(x) __builtin_expect(!!(x), 1)
#define FERRY_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif
