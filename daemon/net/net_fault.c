/* SPDX-License-Identifier: BSD-3-Clause */
#include "net_fault.h"

#include <errno.h>
#include <string.h>

/*
 * Probabilities become integer thresholds out of 2^53 once, at init: a rate
 * p is floor(p * 2^53), exact because scaling by a power of two is, and the
 * per-packet draw is the top 53 bits of a xoshiro256** output. The hot path
 * is then integer-only, so no compiler, FPU mode or excess precision can
 * change a decision, and a rate of 1 (threshold 2^53) always hits.
 */
#define ONE53 (UINT64_C(1) << 53)

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** 1.0 (Blackman and Vigna): four words of state, a few ns. */
static inline uint64_t next(struct ferry_fault *f)
{
	uint64_t *s = f->s;
	uint64_t r = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* Uniform in [0, n) for n < 2^32, by multiply-shift (Lemire): one draw,
 * no division, bias below n / 2^32, which is nothing for a bit index. */
static inline uint32_t below(struct ferry_fault *f, uint32_t n)
{
	return (uint32_t)(((next(f) >> 32) * n) >> 32);
}

static bool rate_ok(double p)
{
	return p >= 0.0 && p <= 1.0; /* false for NaN too */
}

int ferry_fault_init(struct ferry_fault *f, uint64_t seed, int dir, double drop, double dup,
		     double reorder, double corrupt)
{
	if (!f)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	const double r[FERRY_FAULT_ACTIONS - 1] = {drop, dup, reorder, corrupt};
	if (dir != FERRY_FAULT_RX && dir != FERRY_FAULT_TX)
		return -EINVAL;
	double sum = 0.0;
	for (int i = 0; i < FERRY_FAULT_ACTIONS - 1; i++) {
		if (!rate_ok(r[i]))
			return -EINVAL;
		sum += r[i];
	}
	if (sum > 1.0 + 1e-12)
		return -EINVAL;

	/* The slack allowed above may push the last cumulative threshold a
	 * hair past 2^53; clamping only trims that rounding. */
	uint64_t acc = 0;
	for (int i = 0; i < FERRY_FAULT_ACTIONS - 1; i++) {
		acc += (uint64_t)(r[i] * (double)ONE53);
		f->thr[i] = acc < ONE53 ? acc : ONE53;
		f->rate[i + 1] = r[i];
	}
	f->rate[FERRY_FAULT_PASS] = sum < 1.0 ? 1.0 - sum : 0.0;
	f->dir = dir;

	/* Each direction gets its own splitmix64 sequence (the direction picks
	 * a different starting point), which fills xoshiro's state as its
	 * authors recommend; splitmix64 never yields four zero words. */
	uint64_t x = seed ^ (UINT64_C(0xd1b54a32d192ed03) * (uint64_t)(dir + 1));
	for (int i = 0; i < 4; i++)
		f->s[i] = splitmix64(&x);
	return 0;
}

bool ferry_fault_active(const struct ferry_fault *f)
{
	return f->thr[FERRY_FAULT_ACTIONS - 2] != 0;
}

enum ferry_fault_action ferry_fault_decide(struct ferry_fault *f)
{
	uint64_t u = next(f) >> 11;
	enum ferry_fault_action a = FERRY_FAULT_PASS;
	for (int i = 0; i < FERRY_FAULT_ACTIONS - 1; i++) {
		if (u < f->thr[i]) {
			a = (enum ferry_fault_action)(i + 1);
			break;
		}
	}
	f->seq++;
	f->count[a]++;
	return a;
}

void ferry_fault_corrupt(struct ferry_fault *f, uint8_t *frame, uint16_t len, uint16_t from)
{
	if (from >= len)
		return;
	uint32_t bit = below(f, (uint32_t)(len - from) * 8u);
	frame[from + bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

bool ferry_fault_hold(struct ferry_fault *f, void *pkt, uint64_t now_ns)
{
	if (f->nheld == FERRY_FAULT_HOLD_CAP) {
		f->hold_full++;
		return false;
	}
	struct ferry_fault_held *h = &f->held[f->nheld++];
	h->pkt = pkt;
	h->due_seq = f->seq + 1 + below(f, FERRY_FAULT_HOLD_MAX_PASSES);
	h->due_ns = now_ns + FERRY_FAULT_HOLD_NS;
	return true;
}

/* The queue is at most 32 entries and usually holds zero to two, so a scan
 * that compacts in place (keeping hold order) beats anything cleverer. */
unsigned ferry_fault_release(struct ferry_fault *f, uint64_t now_ns, void **out, unsigned max,
			     bool force)
{
	unsigned n = 0, keep = 0;
	for (unsigned i = 0; i < f->nheld; i++) {
		struct ferry_fault_held h = f->held[i];
		bool due = force || f->seq >= h.due_seq || now_ns >= h.due_ns;
		if (due && n < max)
			out[n++] = h.pkt;
		else
			f->held[keep++] = h;
	}
	f->nheld = keep;
	return n;
}

unsigned ferry_fault_held(const struct ferry_fault *f)
{
	return f->nheld;
}

static const char *const action_names[FERRY_FAULT_DIRS][FERRY_FAULT_ACTIONS] = {
	[FERRY_FAULT_RX] = {"fault.rx_pass", "fault.rx_drop", "fault.rx_dup", "fault.rx_reorder",
			    "fault.rx_corrupt"},
	[FERRY_FAULT_TX] = {"fault.tx_pass", "fault.tx_drop", "fault.tx_dup", "fault.tx_reorder",
			    "fault.tx_corrupt"},
};

const char *ferry_fault_action_name(int dir, enum ferry_fault_action a)
{
	if ((unsigned)dir >= FERRY_FAULT_DIRS || (unsigned)a >= FERRY_FAULT_ACTIONS)
		return "unknown";
	return action_names[dir][a];
}
