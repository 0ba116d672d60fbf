/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RPC over sessions: a thin layer over messages. A request or response is
 * a message flagged FERRY_RECF_RPC whose payload starts with struct
 * ferry_rpc_hdr (type, id, status), so it shares the session, and its
 * order, with plain messages. Ids are this client's 32-bit counter; a
 * response names the call it answers, and one that matches no call of
 * that session (it came after the timeout) is dropped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ferry_pvt.h"

#define RPC_HDR ((uint32_t)sizeof(struct ferry_rpc_hdr))

FERRY_API int ferry_rpc_register(ferry_t *f, uint16_t type, ferry_rpc_handler_fn *handler,
				 void *arg)
{
	if (f == NULL)
		return ferry_err(-EINVAL, "ferry_rpc_register: no client");
	for (unsigned i = 0; i < f->n_rpc_handlers; i++) {
		if (f->rpc_handlers[i].type != type)
			continue;
		if (handler == NULL) {
			f->rpc_handlers[i] = f->rpc_handlers[--f->n_rpc_handlers];
		} else {
			f->rpc_handlers[i].fn = handler;
			f->rpc_handlers[i].arg = arg;
		}
		return 0;
	}
	if (handler == NULL)
		return 0;
	if (f->n_rpc_handlers >= FERRY_RPC_HANDLERS)
		return ferry_err(-ENOSPC, "at most %d RPC types may have handlers", FERRY_RPC_HANDLERS);
	f->rpc_handlers[f->n_rpc_handlers].type = type;
	f->rpc_handlers[f->n_rpc_handlers].fn = handler;
	f->rpc_handlers[f->n_rpc_handlers].arg = arg;
	f->n_rpc_handlers++;
	return 0;
}

/* Send header + body as one RPC message, written in place. */
static int rpc_send(ferry_session_t *s, const struct ferry_rpc_hdr *h, const void *body,
		    size_t len)
{
	void *p;
	int rc = ferry_reserve(s, RPC_HDR + len, &p);
	if (rc < 0)
		return rc;
	memcpy(p, h, RPC_HDR);
	if (len)
		memcpy((uint8_t *)p + RPC_HDR, body, len);
	ferry_ring_set_flags(p, FERRY_RECF_RPC);
	return ferry_commit(s, p, RPC_HDR + len, 0);
}

static void unlink_call(ferry_t *f, struct rpc_call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		f->rpc_list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	fmap_del(&f->rpc_calls, c->id);
}

FERRY_API int ferry_rpc_call(ferry_session_t *s, uint16_t type, const void *req, size_t len,
			     int timeout_ms, ferry_rpc_done_fn *done, void *arg, uint64_t *id)
{
	if (s == NULL || (len && req == NULL))
		return ferry_err(-EINVAL, "ferry_rpc_call: bad arguments");
	if (len > s->max_msg - RPC_HDR && s->max_msg >= RPC_HDR)
		return ferry_err(-EMSGSIZE, "request of %zu bytes: this session takes at most %u",
				 len, s->max_msg - RPC_HDR);
	ferry_t *f = s->f;
	if (f->rpc_calls.s == NULL && fmap_init(&f->rpc_calls, 64) < 0)
		return ferry_err(-ENOMEM, "out of memory");
	struct rpc_call *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ferry_err(-ENOMEM, "out of memory");
	do {
		c->id = ++f->rpc_next_id;
	} while (c->id == 0 || fmap_get(&f->rpc_calls, c->id));
	struct ferry_rpc_hdr h = {.kind = FERRY_RPC_REQUEST, .type = type, .id = c->id};
	int rc = rpc_send(s, &h, req, len);
	if (rc < 0) {
		free(c);
		return rc;
	}
	if (fmap_put(&f->rpc_calls, c->id, c) < 0) {
		/* sent but untrackable: its response will be dropped */
		free(c);
		return ferry_err(-ENOMEM, "out of memory");
	}
	c->session = s;
	c->done = done;
	c->arg = arg;
	c->deadline_ns = timeout_ms > 0 ? ferry_now_ns() + (int64_t)timeout_ms * 1000000 : INT64_MAX;
	if (c->deadline_ns < f->rpc_next_deadline)
		f->rpc_next_deadline = c->deadline_ns;
	c->next = f->rpc_list;
	if (f->rpc_list)
		f->rpc_list->prev = c;
	f->rpc_list = c;
	ferry_fd_deadline(f);
	if (id)
		*id = c->id;
	return 0;
}

FERRY_API int ferry_rpc_reply(ferry_session_t *s, uint64_t id, int32_t status, const void *resp,
			      size_t len)
{
	if (s == NULL || id == 0 || id > UINT32_MAX || (len && resp == NULL))
		return ferry_err(-EINVAL, "ferry_rpc_reply: bad arguments");
	struct ferry_rpc_hdr h = {.kind = FERRY_RPC_RESPONSE, .status = status, .id = id};
	return rpc_send(s, &h, resp, len);
}

/* One completion: to the callback, or as an event in evs. */
static void complete(ferry_t *f, struct rpc_call *c, int32_t status, const void *data,
		     size_t len, ferry_event_t *evs, int *n)
{
	ferry_event_t ev = {.type = FERRY_EV_RPC_RESPONSE,
			    .status = status,
			    .session = c->session,
			    .data = data,
			    .len = len,
			    .service = c->session->service,
			    .rpc_id = c->id};
	unlink_call(f, c);
	if (c->done) {
		f->callbacks++;
		c->done(c->arg, &ev);
	} else {
		evs[(*n)++] = ev;
	}
	free(c);
}

enum rpc_verdict rpc_input(ferry_t *f, ferry_session_t *s, const struct ferry_rec_view *v,
			   ferry_event_t *evs, int *n)
{
	struct ferry_rpc_hdr h;
	if (v->len < RPC_HDR)
		return RPC_TAKEN; /* not an RPC message after all: dropped */
	memcpy(&h, v->payload, RPC_HDR);
	const uint8_t *body = v->payload + RPC_HDR;
	size_t blen = v->len - RPC_HDR;
	if (h.kind == FERRY_RPC_RESPONSE) {
		struct rpc_call *c = h.id <= UINT32_MAX ? fmap_get(&f->rpc_calls, (uint32_t)h.id) : NULL;
		if (c && c->session == s)
			complete(f, c, h.status, body, blen, evs, n);
		return RPC_TAKEN;
	}
	if (h.kind != FERRY_RPC_REQUEST)
		return RPC_TAKEN;
	ferry_event_t ev = {.type = FERRY_EV_RPC_REQUEST,
			    .session = s,
			    .data = body,
			    .len = blen,
			    .service = s->service,
			    .rpc_id = h.id,
			    .rpc_type = h.type};
	for (unsigned i = 0; i < f->n_rpc_handlers; i++) {
		if (f->rpc_handlers[i].type != h.type)
			continue;
		/* The application sees this batch's events only when
		 * ferry_poll() returns; a handler run now would act before
		 * them, out of the session's order. It runs first thing in
		 * the next ferry_poll() instead. */
		if (*n > 0)
			return RPC_LATER;
		f->callbacks++;
		f->rpc_handlers[i].fn(f->rpc_handlers[i].arg, s, &ev);
		return s->closed ? RPC_CLOSED : RPC_TAKEN;
	}
	evs[(*n)++] = ev;
	return RPC_TAKEN;
}

void rpc_expire(ferry_t *f, ferry_event_t *evs, int *n, int max)
{
	if (f->rpc_list == NULL)
		return;
	int64_t now = ferry_now_ns();
	if (now < f->rpc_next_deadline && !f->rpc_recheck)
		return;
	f->rpc_recheck = false;
	int64_t next = INT64_MAX;
	struct rpc_call *c = f->rpc_list;
	while (c) {
		struct rpc_call *nx = c->next;
		int32_t status = 0;
		if (c->session->state == S_DOWN)
			status = -EPIPE;
		else if (now >= c->deadline_ns)
			status = -ETIMEDOUT;
		if (status && (c->done || *n < max))
			complete(f, c, status, NULL, 0, evs, n);
		else if (status)
			f->rpc_recheck = true; /* no room for the event: next time */
		else if (c->deadline_ns < next)
			next = c->deadline_ns;
		c = nx;
	}
	f->rpc_next_deadline = next;
}

void rpc_forget_session(ferry_t *f, ferry_session_t *s)
{
	struct rpc_call *c = f->rpc_list;
	while (c) {
		struct rpc_call *nx = c->next;
		if (c->session == s) {
			unlink_call(f, c);
			free(c);
		}
		c = nx;
	}
}

void rpc_fini(ferry_t *f)
{
	while (f->rpc_list) {
		struct rpc_call *c = f->rpc_list;
		unlink_call(f, c);
		free(c);
	}
	fmap_fini(&f->rpc_calls);
}
