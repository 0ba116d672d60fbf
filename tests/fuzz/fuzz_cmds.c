/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target "cmds": a hostile client's command ring through the real
 * command path (the edge's clients_poll() -> fcore_command()) over real
 * daemon state (fuzz_daemon.h), beside clients that behave.
 *
 * Setup: a hostile client A (slot 0) and two bystanders, B and C, attach;
 * B listens on "b" and "svc", C opens two local sessions to "b", B opens
 * a remote session to a peer (the auto peer: a well-behaved ferryd that
 * accepts, acks, pongs and acks CLOSEs at once). Those three sessions are
 * protected. B and C read every event and accept every session offered.
 *
 * Input: u8 seed, u8 knobs (FDK_*), then operations until the input ends,
 * each followed by a pass of ferryd's loop and every check:
 *
 *   0 CLIENT  u8 slot, u8 action, args: fd_client_op() for the clients in
 *             slots 3-5 (well behaved); A may read, stop reading, hang up,
 *             and attach again (hostile) once gone; B and C are left alone
 *   1, 3 PASS (the network is the auto peer's: the peer target fuzzes it)
 *   2 TIME    u16: the clock moves on, a pass at each timer (at most 64),
 *             so the auto peer keeps the protected session alive
 *   4 REC     A writes one record: u8 type (LISTEN, UNLISTEN, CONNECT,
 *             ACCEPT, CLOSE, DATA, PAD, or u16 any type), u8 session (0,
 *             one of A's, a protected one, or u32 any), u32 aux, u8 how
 *             (payload well formed, input bytes, well formed with its
 *             length changed, well formed with a byte changed), u16 len,
 *             then input bytes as the payload needs them
 *   5 RAW     A writes u8 n bytes at u16 offset into a part of its ring file
 *             (u8: command data, command control, event control, header)
 *   6 FLOOD   A writes u8 count well-formed records of u8 kind (connects to
 *             B, data on its own sessions, listens): past a pass's budget
 *   7 SHRINK  A cuts its ring file to u8 x 4 KiB
 *
 * Checked, besides the invariants of fuzz_daemon.h: each record A writes
 * is judged by an oracle written apart from the engine (a record that is
 * malformed whatever the state: another type, a wrong length, a bad
 * service name, longer than the ring takes, naming a protected session;
 * and, when nothing waits before it in any ring, what the engine's state
 * makes of it). Once the edge has read a record judged malformed, A is
 * marked for reclaim with the protocol reason and, unless it hung up,
 * receives BYE with -EPROTO; A is never disconnected for a malformed
 * command when every record read was judged well formed. The protected
 * sessions stay up, on both ends, in the engine and in B's and C's eyes;
 * B and C are never reclaimed.
 */
#include <arpa/inet.h>

#include "core_pvt.h"
#include "ferry.h"
#include "fuzz_daemon.h"

enum { OP_REC = FD_OP_TARGET, OP_RAW, OP_FLOOD, OP_SHRINK, OP_COUNT };
enum { V_OK, V_BAD, V_BAD_RING, V_UNKNOWN };

#define LOG_MAX 1024
#define PROT 3

static struct {
	bool ready;            /* set up: the bystanders' checks apply */
	uint32_t prot[PROT];   /* the protected sessions */
	uint32_t a_id;         /* the hostile client these verdicts are of */
	bool a_raw;            /* it wrote raw bytes or cut its file */
	bool lost;             /* more records than the log keeps */
	struct {
		uint64_t start, end;
		int verdict;
	} log[LOG_MAX];        /* its records the edge has not read */
	uint32_t n;
} g;

static bool pos_ge(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b) >= 0;
}

static bool is_protected(uint32_t id)
{
	for (int i = 0; id && i < PROT; i++)
		if (g.prot[i] == id)
			return true;
	return false;
}

/* ---- the oracle ---------------------------------------------------------- */

/* A service name as the protocol defines it, checked here apart from the
 * engine's own check: 1..31 bytes 0x21..0x7e but '/', then NUL. */
static bool service_good(const uint8_t *p)
{
	int i;
	for (i = 0; i < FERRY_SERVICE_MAX && p[i]; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == '/')
			return false;
	return i > 0 && i < FERRY_SERVICE_MAX;
}

/* Whether nothing waits before a record A writes now, in any ring: the
 * engine then reads it in the state it is in now. */
static bool first_in_line(void)
{
	if (g.n)
		return false;
	for (int k = 0; k < FD_CLIENTS; k++) {
		const struct fd_client *c = &fd.cl[k];
		if (c->used && c->attached && !c->shrunk && c->cmd.pos != c->edge_pos)
			return false;
	}
	return true;
}

static int judge(const struct fd_client *a, uint16_t type, uint32_t session, const uint8_t *p,
		 uint32_t len, bool first)
{
	if (len > fd.cfg.ipc_max_message_size)
		return V_BAD_RING;
	const struct fclient *ec = fd_edge_client(a->id);
	const struct fcore_client *me = &ec->core;
	const struct fsession *s = session ? fmap_get(&fd.core->sessions, session) : NULL;
	bool prot = is_protected(session);
	switch (type) {
	case FERRY_CMD_LISTEN:
	case FERRY_CMD_UNLISTEN:
		return len == sizeof(struct ferry_cmd_service) && service_good(p) ? V_OK : V_BAD;
	case FERRY_CMD_CONNECT:
		return len == sizeof(struct ferry_cmd_connect) &&
				       service_good(p + offsetof(struct ferry_cmd_connect, service))
			       ? V_OK
			       : V_BAD;
	case FERRY_CMD_ACCEPT:
		if (prot)
			return V_BAD;
		if (!first)
			return V_UNKNOWN;
		return !s || (s->end[1] == me && s->state == FS_INCOMING) ? V_OK : V_BAD;
	case FERRY_CMD_CLOSE:
		if (len != sizeof(struct ferry_cmd_close))
			return V_BAD;
		if (session == 0)
			return V_OK; /* by cookie: whatever it names, if anything */
		if (prot)
			return V_BAD;
		if (!first)
			return V_UNKNOWN;
		return !s || s->end[0] == me || s->end[1] == me ? V_OK : V_BAD;
	case FERRY_REC_DATA:
		if (prot)
			return V_BAD;
		if (!first)
			return V_UNKNOWN;
		if (!s)
			return V_OK; /* ended: its DOWN is on its way */
		if (!s->remote || local_end(s) != me)
			return V_BAD;
		return s->state == FS_UP && len > s->t->max_msg ? V_BAD : V_OK;
	case FERRY_REC_PAD:
		return V_UNKNOWN; /* the ring's business: fits or not */
	default:
		return V_BAD;
	}
}

/* ---- A's records ----------------------------------------------------------- */

static struct fd_client *hostile(void)
{
	struct fd_client *a = &fd.cl[0];
	if (!a->used || !a->attached || !a->hostile || a->hung_up || a->shrunk)
		return NULL;
	if (a->id != g.a_id) {
		/* a new hostile client: its own verdicts */
		g.a_id = a->id;
		g.a_raw = g.lost = false;
		g.n = 0;
	}
	return a;
}

static void write_rec(struct fd_client *a, uint16_t type, uint16_t flags, uint32_t session,
		      uint32_t aux, const uint8_t *p, uint32_t len)
{
	bool first = first_in_line();
	uint64_t start = a->cmd.pos;
	int verdict = judge(a, type, session, p, len, first);
	if (fd_cmd(a, type, flags, session, aux, p, len) != 0)
		return;
	if (g.n == LOG_MAX) {
		g.lost = true;
		return;
	}
	g.log[g.n].start = start;
	g.log[g.n].end = a->cmd.pos;
	g.log[g.n].verdict = verdict;
	g.n++;
}

/* The @p k-th live session A is an end of (0 if none). */
static uint32_t own_session(const struct fd_client *a, uint8_t k)
{
	const struct fclient *ec = fd_edge_client(a->id);
	const struct fcore_client *me = &ec->core;
	const struct fsession_link *l;
	uint32_t ids[64], n = 0;
	LIST_FOREACH(l, &me->sessions, le)
		if (!l->s->dead && n < 64)
			ids[n++] = l->s->id;
	return n ? ids[k % n] : 0;
}

static uint32_t target_ip(uint32_t x)
{
	static const uint32_t ips[] = {0, FD_LOCAL_IP, FD_LOCAL_IP + 1, FD_LOCAL_IP + 2,
				       FD_ALIEN_IP};
	return htonl(ips[x % 5]);
}

/* The payload a well-behaved client would write with this record. */
static uint32_t well_formed(uint16_t type, uint32_t aux, uint16_t len, uint8_t *buf)
{
	struct ferry_cmd_service sv = {{0}};
	struct ferry_cmd_connect cn = {.ipv4 = target_ip(aux)};
	struct ferry_cmd_close cl = {.cookie = aux};
	snprintf(sv.service, sizeof(sv.service), "%s", fd_services[aux % FD_SERVICES]);
	snprintf(cn.service, sizeof(cn.service), "%s", fd_services[(aux >> 8) % FD_SERVICES]);
	switch (type) {
	case FERRY_CMD_LISTEN:
	case FERRY_CMD_UNLISTEN:
		memcpy(buf, &sv, sizeof(sv));
		return sizeof(sv);
	case FERRY_CMD_CONNECT:
		memcpy(buf, &cn, sizeof(cn));
		return sizeof(cn);
	case FERRY_CMD_CLOSE:
		memcpy(buf, &cl, sizeof(cl));
		return sizeof(cl);
	case FERRY_CMD_ACCEPT:
		return 0;
	default:
		len %= fd.cfg.ipc_max_message_size + 1;
		memcpy(buf, fd_pattern(len, (uint8_t)aux, aux), len);
		return len;
	}
}

static void op_rec(struct fuzz_in *in)
{
	static const uint16_t types[] = {FERRY_CMD_LISTEN, FERRY_CMD_UNLISTEN, FERRY_CMD_CONNECT,
					 FERRY_CMD_ACCEPT, FERRY_CMD_CLOSE, FERRY_REC_DATA,
					 FERRY_REC_PAD};
	static uint8_t buf[(1 << 16) + 64];
	uint8_t t = fuzz_u8(in);
	uint16_t type = t % 8 < 7 ? types[t % 8] : fuzz_u16(in);
	uint8_t ss = fuzz_u8(in);
	uint32_t session = (ss & 3) == 3 ? fuzz_u32(in) : 0;
	uint32_t aux = fuzz_u32(in);
	uint8_t how = fuzz_u8(in);
	uint16_t len = fuzz_u16(in);
	uint32_t n = well_formed(type, aux, len, buf);
	size_t got = 0;
	switch (how & 3) {
	case 1: /* the input's bytes, as many as it says */
		n = len % (fd.cfg.ipc_max_message_size + 64);
		memset(buf, 0, n);
		memcpy(buf, fuzz_bytes(in, n, &got), got);
		break;
	case 2: /* the right payload, a wrong length */
		n = (uint32_t)((int32_t)n + (int8_t)(len & 0xff));
		if (n > (1u << 16))
			n = 0;
		break;
	case 3: /* the right payload, one byte changed */
		if (n)
			buf[len % n] = (uint8_t)(len >> 8);
		break;
	}
	struct fd_client *a = hostile();
	if (a == NULL)
		return;
	if ((ss & 3) == 1)
		session = own_session(a, ss >> 2);
	else if ((ss & 3) == 2)
		session = g.prot[(ss >> 2) % PROT];
	write_rec(a, type, (uint16_t)(how >> 4), session, aux, buf, n);
}

/* Records past a pass's budget and a ring's room, all well formed. */
static void op_flood(struct fuzz_in *in)
{
	uint8_t count = fuzz_u8(in), kind = fuzz_u8(in);
	static uint8_t buf[(1 << 16) + 64];
	struct fd_client *a = hostile();
	for (unsigned i = 0; a && i < count * 4u; i++) {
		uint16_t type = kind % 3 == 0   ? FERRY_CMD_CONNECT
				: kind % 3 == 1 ? FERRY_REC_DATA
				: (i & 1)       ? FERRY_CMD_UNLISTEN
						: FERRY_CMD_LISTEN;
		/* to B's "svc" here, or to the peer's "far" */
		uint32_t aux = (kind & 4) ? 2u | 3u << 8 : 0u | 1u << 8;
		uint32_t n = well_formed(type, type == FERRY_REC_DATA ? kind : aux, kind * 64u, buf);
		write_rec(a, type, 0, type == FERRY_REC_DATA ? own_session(a, (uint8_t)i) : 0, aux, buf,
			  n);
	}
}

static void op_raw(struct fuzz_in *in)
{
	uint8_t where = fuzz_u8(in), n = fuzz_u8(in);
	uint16_t off = fuzz_u16(in);
	size_t got;
	const uint8_t *p = fuzz_bytes(in, n, &got);
	struct fd_client *a = hostile();
	if (a == NULL)
		return;
	uint8_t *base;
	uint64_t room;
	switch (where % 4) {
	case 0:
		base = a->cmd.data;
		room = a->cmd.cap;
		break;
	case 1:
		base = (uint8_t *)a->cmd.ctl;
		room = sizeof(*a->cmd.ctl);
		break;
	case 2:
		base = (uint8_t *)a->evt.ctl;
		room = sizeof(*a->evt.ctl);
		break;
	default:
		base = a->map;
		room = sizeof(struct ferry_shm_hdr);
		break;
	}
	uint64_t at = off % room;
	memcpy(base + at, p, got < room - at ? got : room - at);
	g.a_raw = true;
	a->tampered = true;
}

static void op_shrink(struct fuzz_in *in)
{
	uint8_t pages = fuzz_u8(in);
	struct fd_client *a = hostile();
	if (a == NULL)
		return;
	g.a_raw = true;
	fd_shrink(a, (uint64_t)pages * 4096);
}

/* ---- the checks ------------------------------------------------------------ */

/* The records of A the edge read in the last pass, against its verdicts. */
static void verdicts(const struct fd_client *a)
{
	if (!a->hostile || a->id != g.a_id || g.a_raw || g.lost)
		return;
	bool reached_suspect = false, read_bad = false;
	uint32_t done = 0;
	for (uint32_t i = 0; i < g.n; i++) {
		bool reached = pos_ge(a->edge_pos, g.log[i].start);
		bool read = pos_ge(a->edge_pos, g.log[i].end);
		int v = g.log[i].verdict;
		if (reached && v != V_OK)
			reached_suspect = true;
		/* a record too long for the ring stops the edge at its start */
		if ((read && v == V_BAD) ||
		    (reached && v == V_BAD_RING && a->edge_pos == g.log[i].start && i < 256))
			read_bad = true;
		if (read)
			done = i + 1;
	}
	bool proto = a->marked && a->marked_reason == FERRY_REASON_PROTOCOL;
	if (read_bad)
		FUZZ_CHECK(proto || (a->marked && (strcmp(a->marked_why, "does not read its events") == 0 ||
						   strcmp(a->marked_why, "hung up") == 0)),
			   "client %u: the edge read a malformed command and did not disconnect it "
			   "for it (marked %d, \"%s\")", a->id, a->marked, a->marked_why);
	if (proto && (strstr(a->marked_why, "command") != NULL))
		FUZZ_CHECK(reached_suspect, "client %u: disconnected (\"%s\") though every command it "
					    "sent was well formed", a->id, a->marked_why);
	memmove(g.log, g.log + done, (g.n - done) * sizeof(g.log[0]));
	g.n -= done;
}

static void check_protected(void)
{
	for (int k = 1; k <= 2; k++)
		FUZZ_CHECK(fd.cl[k].used && fd.cl[k].attached && !fd.cl[k].marked,
			   "bystander %d lost", k);
	for (int i = 0; i < PROT; i++) {
		const struct fsession *s = fmap_get(&fd.core->sessions, g.prot[i]);
		FUZZ_CHECK(s && !s->dead && s->state == FS_UP, "protected session %u is gone or not up",
			   g.prot[i]);
		for (int k = 1; k <= 2; k++) {
			const struct fd_csess *cs = fd_csess_find(&fd.cl[k], g.prot[i]);
			FUZZ_CHECK(!cs || cs->state == CS_UP, "bystander %d: session %u in state %d", k,
				   g.prot[i], cs->state);
		}
	}
}

/* The bystanders accept what they are offered; the checks of each round. */
static void after_pass(void)
{
	for (int k = 1; k <= 2; k++) {
		struct fd_client *c = &fd.cl[k];
		for (int i = 0; c->used && c->attached && i < FD_CSESS; i++)
			if (c->s[i].state == CS_INCOMING &&
			    fd_cmd(c, FERRY_CMD_ACCEPT, 0, c->s[i].id, 0, NULL, 0) == 0)
				c->s[i].state = CS_ACCEPTING;
	}
	if (!g.ready)
		return;
	if (fd.cl[0].used)
		verdicts(&fd.cl[0]);
	check_protected();
}

static void on_gone(struct fd_client *c)
{
	if (!g.ready)
		return;
	FUZZ_CHECK(c != &fd.cl[1] && c != &fd.cl[2], "bystander client %u reclaimed (%s)", c->id,
		   c->marked_why);
	if (c != &fd.cl[0] || !c->hostile)
		return;
	verdicts(c);
	if (c->attached && c->marked && c->marked_reason == FERRY_REASON_PROTOCOL && !c->hung_up)
		FUZZ_CHECK(c->got_bye && c->bye_status == -EPROTO &&
				   strstr(c->bye_reason, c->marked_why) != NULL,
			   "client %u disconnected (\"%s\") without being told why (BYE %d \"%s\")",
			   c->id, c->marked_why, c->got_bye ? c->bye_status : 0, c->bye_reason);
}

static void on_down(struct fd_client *c, struct fd_csess *s, int reason)
{
	FUZZ_CHECK(!g.ready || !is_protected(s->id) || (c != &fd.cl[1] && c != &fd.cl[2]),
		   "protected session %u ended for client %u, reason %d", s->id, c->id, reason);
}

/* ---- the input ------------------------------------------------------------- */

static void client_ops(const uint8_t *ops, size_t n)
{
	struct fuzz_in in = {ops, n};
	while (in.n) {
		fd_client_op(&in, true, 0);
		fd_pass();
	}
}

static void setup(void)
{
	/* slot, action, arg (connect: target, service); services: 1 "svc",
	 * 2 "b", 3 "far"; targets: 0 this host, 2 the first peer */
	static const uint8_t ops[] = {
		0, FC_ATTACH, 0,
		1, FC_ATTACH, 0,
		2, FC_ATTACH, 0,
		1, FC_LISTEN, 2,
		1, FC_LISTEN, 1,
		2, FC_CONNECT, 0, 2,
		2, FC_CONNECT, 0, 2,
		1, FC_CONNECT, 2, 3,
	};
	memset(&g, 0, sizeof(g));
	fd.after_pass = after_pass;
	fd.on_gone = on_gone;
	fd.on_down = on_down;
	client_ops(ops, sizeof(ops));
	fd_pass();
	int n = 0;
	for (int i = 0; i < FD_CSESS; i++) {
		const struct fd_csess *s = &fd.cl[1].s[i];
		if (s->state == CS_UP && n < PROT)
			g.prot[n++] = s->id;
	}
	FUZZ_CHECK(n == PROT, "setup: %d sessions up for the bystander", n);
	struct fd_vsess *v = NULL;
	for (int i = 0; i < PROT && !v; i++)
		v = fd_vsess_by_us(g.prot[i]);
	FUZZ_CHECK(v != NULL, "setup: no remote session");
	v->tx_checked = true; /* B sends nothing: none may arrive */
	g.a_id = fd.cl[0].id;
	g.ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t seed = fuzz_u8(&in), knobs = fuzz_u8(&in);
	fd_begin(seed, knobs, true);
	setup();
	while (in.n && fd.passes < FD_PASSES) {
		uint8_t op = fuzz_u8(&in) % OP_COUNT;
		switch (op) {
		case FD_OP_CLIENT:
			fd_client_op(&in, true, 1u << 1 | 1u << 2); /* B and C are left alone */
			break;
		case FD_OP_TIME:
			fd_run_for(fd_time_arg(&in), 64);
			break;
		case FD_OP_PEER: /* the network is the auto peer's: a pass */
		case FD_OP_PASS:
			break;
		case OP_REC:
			op_rec(&in);
			break;
		case OP_RAW:
			op_raw(&in);
			break;
		case OP_FLOOD:
			op_flood(&in);
			break;
		case OP_SHRINK:
			op_shrink(&in);
			break;
		}
		fd_pass();
	}
	g.ready = false;
	fd_end(false);
	return 0;
}

/* ---- seeds ----------------------------------------------------------------- */

/* OP_REC; with @p t 7 (any type), @p session is the type. */
static void rec(struct fuzz_out *o, uint8_t t, uint8_t ss, uint32_t session, uint32_t aux,
		uint8_t how, uint16_t len)
{
	fuzz_put8(o, OP_REC);
	fuzz_put8(o, t);
	if (t % 8 == 7)
		fuzz_put16(o, (uint16_t)session);
	fuzz_put8(o, ss);
	if ((ss & 3) == 3)
		fuzz_put32(o, session);
	fuzz_put32(o, aux);
	fuzz_put8(o, how);
	fuzz_put16(o, len);
}

static void begin(struct fuzz_out *o, uint8_t knobs)
{
	o->n = 0;
	fuzz_put8(o, 1);
	fuzz_put8(o, knobs);
}

void fuzz_seeds(fuzz_emit_fn *emit)
{
	static struct fuzz_out o;
	/* record type index: 0 LISTEN 1 UNLISTEN 2 CONNECT 3 ACCEPT 4 CLOSE
	 * 5 DATA 6 PAD 7 any; session: 0 none, 1 A's, 2 protected, 3 any */

	/* what a well-behaved client writes: listen, connect to B and to the
	 * peer, data on its remote session, close, unlisten */
	begin(&o, 0);
	rec(&o, 0, 0, 0, 0, 0, 0);
	rec(&o, 2, 0, 0, 1 << 8, 0, 0);
	rec(&o, 2, 0, 0, 2 | 3 << 8, 0, 0);
	fuzz_put8(&o, FD_OP_PASS);
	rec(&o, 5, 1, 0, 9, 0, 500);
	rec(&o, 4, 1, 0, 0, 0, 0);
	rec(&o, 1, 0, 0, 0, 0, 0);
	fuzz_put8(&o, OP_FLOOD);
	fuzz_put8(&o, 80);
	fuzz_put8(&o, 0);
	emit("well-formed", o.buf, o.n);

	/* each malformed in its own input: the verdict and the BYE */
	static const struct {
		const char *name;
		uint8_t t, ss;
		uint32_t session;
		uint8_t how;
		uint16_t len;
	} bad[] = {
		{"bad-type", 7, 0, 99, 0, 0},
		{"listen-short", 0, 0, 0, 2, 0xf0},
		{"connect-bad-name", 2, 0, 0, 3, 0x2000},
		{"accept-protected", 3, 2, 0, 0, 0},
		{"close-protected", 4, 2 | 4, 0, 0, 0},
		{"data-protected-local", 5, 2, 0, 0, 100},
		{"data-protected-remote", 5, 2 | 8, 0, 0, 100},
		{"data-too-long", 5, 1, 0, 1, 40000},
		{"event-type", 7, 0, FERRY_EVT_UP, 1, 24},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		begin(&o, i & 1 ? FDK_SMALL_MSG : 0);
		rec(&o, 2, 0, 0, 2 | 3 << 8, 0, 0); /* a remote session of its own */
		fuzz_put8(&o, FD_OP_PASS);
		rec(&o, bad[i].t, bad[i].ss, bad[i].session, 0, bad[i].how, bad[i].len);
		emit(bad[i].name, o.buf, o.n);
	}

	/* a ring that lies: garbage records, a corrupt event head, cut file */
	begin(&o, 0);
	fuzz_put8(&o, OP_RAW);
	fuzz_put8(&o, 0);
	fuzz_put8(&o, 16);
	fuzz_put16(&o, 0);
	for (int i = 0; i < 16; i++)
		fuzz_put8(&o, (uint8_t)(i == 0 ? 0x30 : i == 4 ? 16 : 0));
	emit("raw-record", o.buf, o.n);
	begin(&o, 0);
	fuzz_put8(&o, OP_RAW);
	fuzz_put8(&o, 2);
	fuzz_put8(&o, 8);
	fuzz_put16(&o, 128);
	fuzz_put32(&o, 0xffffffffu);
	fuzz_put32(&o, 0x7fffffffu);
	rec(&o, 0, 0, 0, 1, 0, 0);
	emit("evt-head", o.buf, o.n);
	begin(&o, 0);
	fuzz_put8(&o, OP_SHRINK);
	fuzz_put8(&o, 0);
	emit("shrink", o.buf, o.n);

	/* a hostile client that hangs up with bad records behind it, attaches
	 * again, and one that never reads while sessions come and go */
	begin(&o, FDK_LIMITS);
	rec(&o, 2, 0, 0, 1 << 8, 0, 0);
	rec(&o, 7, 0, 40, 0, 1, 8);
	fds_client(&o, 0, FC_HANGUP, 0);
	fds_client(&o, 0, FC_ATTACH, 0);
	fds_client(&o, 0, FC_READER, 0);
	fuzz_put8(&o, OP_FLOOD);
	fuzz_put8(&o, 200);
	fuzz_put8(&o, 0);
	fds_client(&o, 3, FC_ATTACH, 0);
	fds_connect(&o, 3, 0, 1);
	fuzz_put8(&o, FD_OP_TIME);
	fuzz_put16(&o, 15 << 10);
	emit("hang-up-again", o.buf, o.n);
}
