/* stream.h - stream (tcp, unix) connections for services: accept, limits, buffering,
 * backpressure, timeouts, graceful close. Services see bytes or lines, never a socket. */
#ifndef SOCKIT_STREAM_H
#define SOCKIT_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ev.h"
#include "stats.h"

struct stream_conn;
struct stream_server;

/* Limits shared by every stream endpoint of every worker. */
struct stream_limits {
	size_t max_conns;            /* beyond it new connections are closed at once */
	size_t output_cap;           /* stop reading a client whose unsent output passes this */
	unsigned idle_timeout_ms;    /* 0 = none */
	unsigned request_timeout_ms; /* line mode: a started line must end within this; 0 = none */
	size_t *active_conns;        /* shared by every endpoint and worker; atomic ops only */
};

struct stream_service {
	const char *name;  /* for logs: "echo" */
	size_t state_size; /* per-connection protocol state, zeroed, freed with the conn */
	size_t max_line;   /* 0: raw bytes to on_data; else on_line per line (LF or CRLF) */
	void (*on_open)(struct stream_conn *c, void *ctx, void *state);
	/* Raw mode. data is scratch the callee may modify; valid only during the call. */
	void (*on_data)(struct stream_conn *c, void *ctx, void *state, uint8_t *data, size_t len);
	/* Line mode. line has no terminator and is NUL-terminated; too_long set when the line
	 * passed max_line (then line holds its first max_line bytes, the rest is skipped). */
	void (*on_line)(struct stream_conn *c, void *ctx, void *state, char *line, size_t len,
			bool too_long);
	/* The peer shut down its write side. NULL: close once output is flushed. */
	void (*on_eof)(struct stream_conn *c, void *ctx, void *state);
	void (*on_close)(struct stream_conn *c, void *ctx, void *state);
};

/* Serve accepted connections of listen_fd (owned from now on) on loop. */
struct stream_server *stream_server_new(struct ev_loop *loop, int listen_fd, const char *endpoint,
					const struct stream_service *service, void *ctx,
					const struct stream_limits *limits,
					struct service_stats *stats);
/* Stop accepting: close the listener. Open connections go on. */
void stream_server_stop_accepting(struct stream_server *srv);
/* Stop reading from every connection, flush what is queued, then close each one. */
void stream_server_drain(struct stream_server *srv);
size_t stream_server_conn_count(const struct stream_server *srv);
/* Close everything now and free the server. */
void stream_server_free(struct stream_server *srv);

/* Queue or send data to the peer. Returns 0, or -ENOBUFS when the connection's output
 * passed 4x output_cap (a peer that stopped reading a broadcast: it is being closed). */
int stream_write(struct stream_conn *c, const void *data, size_t len);
/* Formatted stream_write of at most STREAM_PRINTF_MAX - 1 bytes: longer output is cut. */
#define STREAM_PRINTF_MAX 1024
__attribute__((format(printf, 2, 3))) int stream_printf(struct stream_conn *c, const char *fmt,
							...);
/* Close once queued output is flushed; further input is ignored. */
void stream_close(struct stream_conn *c);
/* Close now, dropping queued output. */
void stream_abort(struct stream_conn *c);
/* Pause or resume reading this connection's input (e.g. flood control). */
void stream_pause_input(struct stream_conn *c, bool paused);
const char *stream_peer(const struct stream_conn *c); /* "127.0.0.1:5555" */
size_t stream_pending_output(const struct stream_conn *c);
struct ev_loop *stream_loop(const struct stream_conn *c);

#endif
