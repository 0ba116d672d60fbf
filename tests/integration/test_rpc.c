/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RPC over a session, end to end with the real ferryd and libferry:
 * handlers and polled requests, callbacks and completion events, matching
 * by id with many calls in flight, timeouts, a session that ends under
 * pending calls, and RPC interleaved with plain messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "harness.h"

#define T_ECHO 7
#define T_POLLED 9

static int setup(void **state)
{
	return h_setup_daemon(state, NULL);
}

static int teardown(void **state)
{
	return h_teardown_daemon(state);
}

/* Server side: answer with the request's bytes reversed. */
static void echo_reversed(void *arg, ferry_session_t *s, const ferry_event_t *req)
{
	unsigned *served = arg;
	uint8_t out[256];
	const uint8_t *in = req->data;
	for (size_t i = 0; i < req->len; i++)
		out[i] = in[req->len - 1 - i];
	assert_int_equal(ferry_rpc_reply(s, req->rpc_id, 0, out, req->len), 0);
	(*served)++;
}

struct calls {
	unsigned done, bad;
};

/* One call: its index is its request body; the answer must be that body
 * reversed, and must come exactly once. */
struct slot {
	struct calls *c;
	uint64_t k;
	unsigned completions;
};

static void on_done(void *arg, const ferry_event_t *resp)
{
	struct slot *sl = arg;
	uint8_t want[8];
	for (int i = 0; i < 8; i++)
		want[i] = ((const uint8_t *)&sl->k)[7 - i];
	if (resp->status != 0 || resp->len != 8 || memcmp(resp->data, want, 8) != 0)
		sl->c->bad++;
	sl->completions++;
	sl->c->done++;
}

#define N_CALLS 2000

static void test_handler_and_callbacks(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "rpc"), 0);
	unsigned served = 0;
	assert_int_equal(ferry_rpc_register(p.b, T_ECHO, echo_reversed, &served), 0);
	struct calls c = {0, 0};
	static struct slot slots[N_CALLS];
	/* N_CALLS calls, up to 64 in flight, the server's handler answering
	 * from inside its ferry_poll() */
	unsigned sent = 0;
	ferry_event_t ev[64];
	for (uint64_t end = h_now_ms() + 10000; c.done < N_CALLS && h_now_ms() < end;) {
		while (sent < N_CALLS && sent - c.done < 64) {
			struct slot *sl = &slots[sent];
			sl->c = &c;
			sl->k = 0x0102030405060708ull * (sent + 1);
			sl->completions = 0;
			assert_int_equal(ferry_rpc_call(p.sa, T_ECHO, &sl->k, 8, 2000, on_done, sl, NULL),
					 0);
			sent++;
		}
		assert_true(ferry_poll(p.b, ev, 64, 0) >= 0);
		assert_true(ferry_poll(p.a, ev, 64, 0) >= 0);
	}
	assert_int_equal(c.done, N_CALLS);
	assert_int_equal(c.bad, 0);
	assert_int_equal(served, N_CALLS);
	for (unsigned i = 0; i < N_CALLS; i++)
		assert_int_equal(slots[i].completions, 1);
	ferry_close(p.a);
	ferry_close(p.b);
}

static void test_ids_match_out_of_order(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "rpc"), 0);
	/* polled server: collect 50 requests, answer them in reverse order */
	uint64_t ids[50];
	for (unsigned i = 0; i < 50; i++) {
		uint32_t body = 1000 + i;
		assert_int_equal(ferry_rpc_call(p.sa, T_POLLED, &body, 4, 0, NULL, NULL, &ids[i]), 0);
	}
	struct {
		uint64_t id;
		uint32_t body;
	} got[50];
	unsigned n = 0;
	ferry_event_t ev[64];
	for (uint64_t end = h_now_ms() + 5000; n < 50 && h_now_ms() < end;) {
		int k = ferry_poll(p.b, ev, 64, 50);
		assert_true(k >= 0);
		for (int i = 0; i < k; i++) {
			if (ev[i].type != FERRY_EV_RPC_REQUEST)
				continue;
			assert_int_equal(ev[i].rpc_type, T_POLLED);
			assert_int_equal(ev[i].len, 4);
			got[n].id = ev[i].rpc_id;
			memcpy(&got[n].body, ev[i].data, 4);
			n++;
		}
	}
	assert_int_equal(n, 50);
	for (unsigned i = 50; i-- > 0;) {
		uint32_t answer = got[i].body * 2;
		/* odd ones fail with a status the caller must see */
		assert_int_equal(ferry_rpc_reply(p.sb, got[i].id, (got[i].body & 1) ? -ENOENT : 0,
						 &answer, 4), 0);
	}
	unsigned done = 0;
	for (uint64_t end = h_now_ms() + 5000; done < 50 && h_now_ms() < end;) {
		int k = ferry_poll(p.a, ev, 64, 50);
		assert_true(k >= 0);
		for (int i = 0; i < k; i++) {
			if (ev[i].type != FERRY_EV_RPC_RESPONSE)
				continue;
			unsigned j = 0;
			while (j < 50 && ids[j] != ev[i].rpc_id)
				j++;
			assert_true(j < 50);
			uint32_t answer;
			assert_int_equal(ev[i].len, 4);
			memcpy(&answer, ev[i].data, 4);
			assert_int_equal(answer, (1000 + j) * 2);
			assert_int_equal(ev[i].status, ((1000 + j) & 1) ? -ENOENT : 0);
			ids[j] = 0; /* exactly once */
			done++;
		}
	}
	assert_int_equal(done, 50);
	ferry_close(p.a);
	ferry_close(p.b);
}

static void test_timeout_and_late_reply(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "rpc"), 0);
	uint64_t id;
	uint64_t t0 = h_now_ms();
	assert_int_equal(ferry_rpc_call(p.sa, T_POLLED, "q", 1, 100, NULL, NULL, &id), 0);
	ferry_event_t e;
	/* a's poll sleeps: the call's deadline must wake it */
	assert_int_equal(h_wait_event(p.a, FERRY_EV_RPC_RESPONSE, 2000, &e), 1);
	assert_int_equal(e.status, -ETIMEDOUT);
	assert_int_equal(e.rpc_id, id);
	assert_true(h_now_ms() - t0 >= 90);
	assert_true(h_now_ms() - t0 < 1000);
	/* the server answers late: nothing more reaches the caller */
	assert_int_equal(h_wait_event(p.b, FERRY_EV_RPC_REQUEST, 2000, &e), 1);
	assert_int_equal(ferry_rpc_reply(p.sb, e.rpc_id, 0, "late", 4), 0);
	assert_int_equal(h_wait_event(p.a, FERRY_EV_RPC_RESPONSE, 300, &e), 0);
	ferry_close(p.a);
	ferry_close(p.b);
}

static void test_session_ends_under_calls(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "rpc"), 0);
	uint64_t id1, id2;
	assert_int_equal(ferry_rpc_call(p.sa, T_POLLED, "1", 1, 0, NULL, NULL, &id1), 0);
	assert_int_equal(ferry_rpc_call(p.sa, T_POLLED, "2", 1, 0, NULL, NULL, &id2), 0);
	ferry_session_close(p.sb);
	unsigned epipe = 0, down = 0;
	ferry_event_t ev[16];
	for (uint64_t end = h_now_ms() + 3000; (epipe < 2 || !down) && h_now_ms() < end;) {
		int k = ferry_poll(p.a, ev, 16, 50);
		assert_true(k >= 0);
		for (int i = 0; i < k; i++) {
			if (ev[i].type == FERRY_EV_SESSION_DOWN)
				down++;
			if (ev[i].type == FERRY_EV_RPC_RESPONSE) {
				assert_int_equal(ev[i].status, -EPIPE);
				assert_true(ev[i].rpc_id == id1 || ev[i].rpc_id == id2);
				epipe++;
			}
		}
	}
	assert_int_equal(down, 1);
	assert_int_equal(epipe, 2);
	ferry_close(p.a);
	ferry_close(p.b);
}

struct order {
	char seen[64];
	unsigned n;
};

static void note_rpc(void *arg, ferry_session_t *s, const ferry_event_t *req)
{
	struct order *o = arg;
	o->seen[o->n++] = 'R';
	ferry_rpc_reply(s, req->rpc_id, 0, NULL, 0);
}

static void test_rpc_and_messages_keep_order(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "rpc"), 0);
	struct order o = {.n = 0};
	assert_int_equal(ferry_rpc_register(p.b, T_ECHO, note_rpc, &o), 0);
	const char *plan = "MRMMRRMRM";
	for (const char *c = plan; *c; c++) {
		if (*c == 'M')
			assert_int_equal(ferry_send(p.sa, "m", 1, 0), 0);
		else
			assert_int_equal(ferry_rpc_call(p.sa, T_ECHO, "r", 1, 0, NULL, NULL, NULL), 0);
	}
	ferry_event_t ev[16];
	for (uint64_t end = h_now_ms() + 3000; o.n < strlen(plan) && h_now_ms() < end;) {
		int k = ferry_poll(p.b, ev, 16, 50);
		assert_true(k >= 0);
		for (int i = 0; i < k; i++)
			if (ev[i].type == FERRY_EV_MESSAGE) {
				assert_int_equal(ev[i].len, 1);
				o.seen[o.n++] = 'M';
			}
	}
	o.seen[o.n] = '\0';
	assert_string_equal(o.seen, plan);
	/* unregistering hands requests back as events */
	assert_int_equal(ferry_rpc_register(p.b, T_ECHO, NULL, NULL), 0);
	assert_int_equal(ferry_rpc_call(p.sa, T_ECHO, "r", 1, 0, NULL, NULL, NULL), 0);
	assert_int_equal(h_wait_event(p.b, FERRY_EV_RPC_REQUEST, 2000, NULL), 1);
	/* a request too large for the session is refused up front */
	static uint8_t big[1 << 20];
	assert_int_equal(ferry_rpc_call(p.sa, T_ECHO, big, sizeof(big), 0, NULL, NULL, NULL),
			 -EMSGSIZE);
	ferry_close(p.a);
	ferry_close(p.b);
}

static void count_done(void *arg, const ferry_event_t *resp)
{
	(void)resp;
	(*(unsigned *)arg)++;
}

/* A completion delivered by callback adds no event: ferry_poll() must
 * still return at once rather than wait out its timeout. */
static void test_poll_returns_after_callback(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "rpc"), 0);
	unsigned served = 0, done = 0;
	assert_int_equal(ferry_rpc_register(p.b, T_ECHO, echo_reversed, &served), 0);
	assert_int_equal(ferry_rpc_call(p.sa, T_ECHO, "x", 1, 0, count_done, &done, NULL), 0);
	ferry_event_t ev[8];
	for (uint64_t end = h_now_ms() + 2000; served == 0 && h_now_ms() < end;)
		assert_true(ferry_poll(p.b, ev, 8, 10) >= 0);
	assert_int_equal(served, 1);
	uint64_t t0 = h_now_ms();
	assert_true(ferry_poll(p.a, ev, 8, 5000) >= 0);
	assert_int_equal(done, 1);
	assert_true(h_now_ms() - t0 < 1000);
	ferry_close(p.a);
	ferry_close(p.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handler_and_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_match_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_and_late_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_ends_under_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rpc_and_messages_keep_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_returns_after_callback, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
