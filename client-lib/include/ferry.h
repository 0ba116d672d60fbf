/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libferry: the client library of ferry, a messaging daemon.
 *
 * An application opens a client (attaching to the local ferryd), listens on
 * services and opens sessions to services, then exchanges messages over
 * sessions. A session is a bidirectional, ordered, reliable stream of whole
 * messages between two endpoints, on this host or on another. Everything is
 * driven by ferry_poll(), which returns events.
 *
 *     ferry_t *f;
 *     ferry_open(&f, NULL);                       // attach to ferryd
 *     ferry_session_t *s;
 *     ferry_connect(f, NULL, "echo", NULL, &s);   // NULL host: this host
 *     ferry_event_t ev[16];
 *     int n = ferry_poll(f, ev, 16, 1000);        // FERRY_EV_SESSION_UP ...
 *     ferry_send(s, "hi", 2, 0);
 *
 * An application with its own event loop (epoll, libevent, libuv) waits
 * on ferry_fd() instead and calls ferry_poll() with timeout 0 when it is
 * readable; see ferry_fd().
 *
 * Threads: a ferry_t and its sessions are used by one thread at a time.
 * Errors: calls return 0, a count, or -errno; ferry_errmsg() has detail.
 * The library never prints, exits or aborts.
 */
#ifndef FERRY_H
#define FERRY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FERRY_VERSION_MAJOR 0
#define FERRY_VERSION_MINOR 2
#define FERRY_VERSION_PATCH 0
#define FERRY_VERSION_NUM(a, b, c) (((a) << 16) | ((b) << 8) | (c))
#define FERRY_VERSION FERRY_VERSION_NUM(FERRY_VERSION_MAJOR, FERRY_VERSION_MINOR, FERRY_VERSION_PATCH)

/** Default control socket; FERRY_SOCKET in the environment overrides it. */
#define FERRY_DEFAULT_SOCKET "/run/ferry/ferryd.sock"

/** Longest service name, without the terminating NUL. */
#define FERRY_SERVICE_NAME_MAX 31

typedef struct ferry ferry_t;
typedef struct ferry_session ferry_session_t;

/** Options for ferry_open(). Initialise with ferry_opts_init(). */
typedef struct ferry_opts {
	uint32_t size;           /* sizeof(ferry_opts_t), set by ferry_opts_init() */
	uint32_t reserved0;
	const char *socket_path; /* NULL: $FERRY_SOCKET, else FERRY_DEFAULT_SOCKET */
	const char *name;        /* shown in ferry-stat; NULL: program name */
	/* How long ferry_poll() spins, then yields, before sleeping on the
	 * doorbell; -1 leaves the defaults (spin 2 us, yield 200 us: a local
	 * peer's answer is caught spinning, a remote one's, a cross-host
	 * round trip later, while yielding; spinning longer would keep
	 * ferryd off a CPU it may share with us). */
	int32_t spin_us;
	int32_t yield_us;
	uint64_t reserved[4];
} ferry_opts_t;

/* Event types returned by ferry_poll(). */
enum ferry_event_type {
	FERRY_EV_MESSAGE = 1,      /* data/len: a message on session */
	FERRY_EV_SESSION_UP = 2,   /* session opened by ferry_connect() is up */
	FERRY_EV_INCOMING = 3,     /* a new session on a service we listen on;
				    * ferry_accept() or ferry_session_close() it */
	FERRY_EV_SESSION_DOWN = 4, /* session ended; status: FERRY_REASON_*.
				    * Close the handle with ferry_session_close() */
	FERRY_EV_WRITABLE = 5,     /* a send that returned -EAGAIN may go on */
	FERRY_EV_LISTEN = 6,       /* result of ferry_listen(): status 0 or -errno */
	FERRY_EV_RPC_REQUEST = 7,  /* a request of a type with no handler: rpc_type,
				    * rpc_id, data/len; answer with ferry_rpc_reply() */
	FERRY_EV_RPC_RESPONSE = 8, /* a call without a callback completed: rpc_id;
				    * status 0 (data/len: the response) or -errno:
				    * -ETIMEDOUT, -EPIPE (the session ended), or
				    * what the server replied */
};

/* Why a session ended (FERRY_EV_SESSION_DOWN status). */
enum ferry_reason {
	FERRY_REASON_CLOSED = 1,       /* the peer closed it */
	FERRY_REASON_PEER_GONE = 2,    /* the peer's process ended */
	FERRY_REASON_NO_LISTENER = 3,  /* nobody listens on that service */
	FERRY_REASON_REFUSED = 4,      /* the listener refused it */
	FERRY_REASON_LIMIT = 5,        /* a daemon limit (sessions, memory) */
	FERRY_REASON_DAEMON_GONE = 6,  /* ferryd ended */
	FERRY_REASON_PROTOCOL = 7,     /* the peer broke the protocol */
	FERRY_REASON_TIMEOUT = 8,      /* the peer stopped answering */
	FERRY_REASON_UNREACHABLE = 9,  /* no route or no ARP answer */
	FERRY_REASON_SHUTDOWN = 10,    /* ferryd is shutting down */
	FERRY_REASON_RESET = 11,       /* the peer's ferryd no longer knows the
					* session (it restarted) */
	FERRY_REASON_UNTRUSTED = 12,   /* a secure handshake failed on trust:
					* one ferryd does not trust the other's
					* key, or not from that address
					* (security.trusted_peers) */
	FERRY_REASON_SECURITY = 13,    /* the two ferryds' security.mode
					* differ (none, authenticate, encrypt) */
};

typedef struct ferry_event {
	uint32_t type;            /* enum ferry_event_type */
	int32_t status;           /* SESSION_DOWN: reason; LISTEN: 0 or -errno */
	ferry_session_t *session; /* NULL for LISTEN */
	const void *data;         /* MESSAGE: payload, valid until the next
				   * ferry_poll() or ferry_close() */
	size_t len;               /* MESSAGE: bytes; LISTEN/INCOMING: 0 */
	const char *service;      /* LISTEN, INCOMING: the service name */
	uint64_t rpc_id;          /* RPC_REQUEST, RPC_RESPONSE */
	uint16_t rpc_type;        /* RPC_REQUEST */
	uint16_t reserved[3];
} ferry_event_t;

/* Flags for ferry_send() and ferry_commit(). */
#define FERRY_SEND_MORE 1u /* more sends follow at once: skip waking the
			    * peer now; the next send without it wakes */

/** Fill @p o with defaults. */
void ferry_opts_init(ferry_opts_t *o);

/**
 * Attach to the local ferryd.
 * @param out   the new client, on success
 * @param opts  NULL for defaults
 * @return 0, or -ENOENT/-ECONNREFUSED (no daemon at the socket), -EACCES
 *         (the daemon refused this user), -EPROTONOSUPPORT (version
 *         mismatch), -EUSERS (client limit), -ENOMEM, other -errno
 */
int ferry_open(ferry_t **out, const ferry_opts_t *opts);

/**
 * Detach: close every session (peers see FERRY_REASON_CLOSED), unmap all
 * shared memory, close the socket. @p f is freed. NULL is a no-op.
 * @return 0
 */
int ferry_close(ferry_t *f);

/** Detail of the last error of this thread; never NULL. */
const char *ferry_errmsg(void);

/** Library version as FERRY_VERSION_NUM(major, minor, patch). */
uint32_t ferry_version(void);

/**
 * Listen on @p service (a name of up to 31 bytes, or a number "0".."65535").
 * The result arrives as FERRY_EV_LISTEN; incoming sessions as
 * FERRY_EV_INCOMING.
 * @return 0 (request sent), -EINVAL (bad name), -EAGAIN (command ring full:
 *         poll and retry), -ECONNRESET (daemon gone)
 */
int ferry_listen(ferry_t *f, const char *service);

/**
 * Stop listening on @p service; sessions already open stay open. It takes
 * effect when ferryd reads it, in order with this client's other calls:
 * sessions others opened before then may still arrive as
 * FERRY_EV_INCOMING (refuse them with ferry_session_close()).
 * @return 0, -EINVAL, -EAGAIN, -ECONNRESET
 */
int ferry_unlisten(ferry_t *f, const char *service);

/**
 * Open a session to @p service on @p host.
 * @param host  NULL, "" or "local" for this host; else an IPv4 address
 * @param out   the session handle, in the opening state; FERRY_EV_SESSION_UP
 *              or FERRY_EV_SESSION_DOWN (with the reason) follows
 * @param opts  reserved, pass NULL
 * @return 0, -EINVAL (bad host or service), -EMFILE (too many sessions on
 *         this client), -EAGAIN (command ring full), -ECONNRESET, -ENOMEM
 */
int ferry_connect(ferry_t *f, const char *host, const char *service, const void *opts,
		  ferry_session_t **out);

/**
 * Accept a session from a FERRY_EV_INCOMING event. FERRY_EV_SESSION_UP
 * follows when it is ready. Refuse it with ferry_session_close() instead.
 * @return 0, -EINVAL (not an incoming session), -EAGAIN, -ECONNRESET (the
 *         session ended before it was accepted, for example its opener died:
 *         its FERRY_EV_SESSION_DOWN, in the same batch or the next, says why;
 *         close the handle then as after any DOWN)
 */
int ferry_accept(ferry_session_t *s);

/**
 * Close a session and free its handle. Messages already sent are delivered
 * before the peer sees FERRY_REASON_CLOSED. Valid in every state, and the
 * only way to free a handle after FERRY_EV_SESSION_DOWN. @p s is invalid
 * afterwards; no further events name it.
 * @return 0
 */
int ferry_session_close(ferry_session_t *s);

/**
 * Send one message (copied).
 * @param flags  0 or FERRY_SEND_MORE
 * @return 0, -EAGAIN (no room now: wait for FERRY_EV_WRITABLE), -EMSGSIZE
 *         (larger than ferry_max_message()), -ENOTCONN (not up yet),
 *         -EPIPE (session down), -ECONNRESET (daemon gone)
 */
int ferry_send(ferry_session_t *s, const void *buf, size_t len, unsigned flags);

/**
 * Zero-copy send, part one: room for a message of up to @p len bytes,
 * written in place in shared memory. Commit it with ferry_commit() before
 * any other call on this session.
 * @return 0 with *buf set, or the errors of ferry_send()
 */
int ferry_reserve(ferry_session_t *s, size_t len, void **buf);

/**
 * Zero-copy send, part two: publish @p len (<= reserved) bytes at @p buf.
 * @return 0, -EINVAL (no reservation or len too large)
 */
int ferry_commit(ferry_session_t *s, void *buf, size_t len, unsigned flags);

/**
 * A descriptor that becomes readable when ferry_poll() may have something
 * to return, for an application's own event loop. Wait for it to be
 * readable (level-triggered: EPOLLIN, POLLIN, EV_READ, UV_READABLE), then
 * call ferry_poll() with timeout 0 until it returns 0; that empty call
 * re-arms the descriptor, so whatever arrives afterwards makes it readable
 * again. Never read from it; ferry_poll() empties it.
 *
 *     int fd = ferry_fd(f);                   // readable at first
 *     epoll_ctl(ep, EPOLL_CTL_ADD, fd, &(struct epoll_event){.events = EPOLLIN});
 *     for (;;) {
 *         epoll_wait(ep, out, 8, -1);          // ... and the loop's other fds
 *         int n;
 *         while ((n = ferry_poll(f, ev, 32, 0)) > 0)
 *             handle(ev, n);
 *         if (n < 0) ...                      // -ECONNRESET: ferryd is gone
 *     }
 *
 * Wake-ups can be spurious (a ferry_poll() that returns 0 at once): go back
 * to waiting. Messages from ferryd and from local-session peers, RPC
 * completions and timeouts, room to send again (FERRY_EV_WRITABLE) and
 * ferryd's end all make it readable. A local session with a peer on
 * libferry 0.1 cannot wake it, so while one is open the descriptor stays
 * readable and the loop polls. Valid until ferry_close(); do not close it.
 * Calling ferry_poll() with a timeout meanwhile is allowed (it waits its
 * own way).
 * @return the descriptor, -EOPNOTSUPP (ferryd predates wake descriptors),
 *         -EMFILE/-ENFILE/-ENOMEM (no descriptor for it), -EINVAL
 */
int ferry_fd(ferry_t *f);

/**
 * Wait for and return events.
 * Messages returned by the previous call are released first; their data
 * pointers become invalid.
 * @param timeout_ms  0: do not wait; < 0: wait without limit; else at most
 *                    this long (spinning, then yielding, then sleeping).
 *                    Running an RPC handler or completion callback ends
 *                    the wait too, so the call may return 0 early.
 * @return number of events (0 on timeout), -EINVAL, -ECONNRESET (the
 *         daemon is gone: every session has been reported down with
 *         FERRY_REASON_DAEMON_GONE first), -EPROTO (the daemon broke the
 *         protocol, or disconnected this client for breaking it: a
 *         corrupted ring, a malformed command; ferry_errmsg() says which),
 *         -EINTR (a signal arrived). Once the daemon is gone every call
 *         that needs it returns the same error.
 */
int ferry_poll(ferry_t *f, ferry_event_t *evs, int max, int timeout_ms);

/* ---- RPC over sessions ------------------------------------------------
 *
 * A request carries a type (the caller's choice) and an id; its response
 * carries the same id. RPC messages share a session with plain messages
 * and stay in order with them. Either end may call, and either end may
 * serve. A server registers a handler per type, which ferry_poll() calls
 * (and which may reply at once, or later), or takes requests of
 * unregistered types as FERRY_EV_RPC_REQUEST events. A caller gets each
 * completion, success or not, exactly once: through its callback, or as a
 * FERRY_EV_RPC_RESPONSE event when it gave none.
 */

/** Called from ferry_poll() with a request; @p req->data is valid until
 *  ferry_poll() returns. */
typedef void ferry_rpc_handler_fn(void *arg, ferry_session_t *s, const ferry_event_t *req);
/** Called from ferry_poll() with a completion (as FERRY_EV_RPC_RESPONSE). */
typedef void ferry_rpc_done_fn(void *arg, const ferry_event_t *resp);

/**
 * Serve requests of @p type with @p handler (NULL: back to events).
 * @return 0, -ENOSPC (too many registered types), -EINVAL
 */
int ferry_rpc_register(ferry_t *f, uint16_t type, ferry_rpc_handler_fn *handler, void *arg);

/**
 * Send a request of @p type. The completion comes once: to @p done if not
 * NULL, else as FERRY_EV_RPC_RESPONSE.
 * @param timeout_ms  > 0: complete with -ETIMEDOUT after this long
 * @param id          out (may be NULL): the call's id, as in the completion
 * @return 0, -EINVAL, -EMSGSIZE (request larger than the session's maximum
 *         less 16 bytes), -ENOMEM, or the errors of ferry_send()
 */
int ferry_rpc_call(ferry_session_t *s, uint16_t type, const void *req, size_t len,
		   int timeout_ms, ferry_rpc_done_fn *done, void *arg, uint64_t *id);

/**
 * Answer request @p id (from a handler or a FERRY_EV_RPC_REQUEST event),
 * on the session it came on.
 * @param status  0, or a -errno the caller will see as the completion's
 *                status (with this response's data)
 * @return 0 or the errors of ferry_send()
 */
int ferry_rpc_reply(ferry_session_t *s, uint64_t id, int32_t status, const void *resp,
		    size_t len);

/** Largest message this client may send. */
size_t ferry_max_message(const ferry_t *f);

/** Attach a pointer of the application's to a session. */
void ferry_session_set_user(ferry_session_t *s, void *user);
void *ferry_session_user(const ferry_session_t *s);

/** Whether the session is local (client to client in shared memory). */
int ferry_session_is_local(const ferry_session_t *s);

/** The session's id as ferryd numbers it (for logs and ferry-stat). */
uint32_t ferry_session_id(const ferry_session_t *s);

/** Short text for a FERRY_REASON_* value. */
const char *ferry_reason_str(int reason);

#ifdef __cplusplus
}
#endif

#endif
