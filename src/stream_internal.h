/* stream_internal.h - what stream.c (connections: I/O, buffering, timeouts, close) and
 * stream_server.c (listeners: accept, limits, drain) share. Not for services. */
#ifndef SOCKIT_STREAM_INTERNAL_H
#define SOCKIT_STREAM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "buf.h"
#include "stream.h"

#define READ_CHUNK 65536 /* one recv per readiness event, at most this much */
/* Bytes received while input was paused: at most the one receive that was in flight, a
 * loop buffer (ev_uring.c), but a pause, resume and pause again can add a second. */
#define HELD_LIMIT (2 * READ_CHUNK)

struct stream_server {
	struct ev_loop *loop;
	int listen_fd;
	char endpoint[ADDR_TEXT_MAX];
	const struct stream_service *service;
	void *ctx;
	struct stream_limits limits;
	struct service_stats *stats;
	struct stream_conn *conns; /* doubly linked, for drain and free */
	size_t nconns;
	bool draining;
	bool accept_paused;
	struct ev_timer accept_retry;
	uint64_t last_refuse_log_ms;
	uint64_t last_pause_log_ms;
	uint64_t refused_since_log;
	uint8_t scratch[READ_CHUNK];
};

struct stream_conn {
	struct stream_server *srv;
	struct stream_conn *prev, *next;
	int fd;
	bool read_eof;      /* the peer shut down its write side */
	bool closing;       /* close once output is flushed */
	bool lingering;     /* our FIN is sent; discarding input until the peer's */
	bool input_paused;  /* by the service */
	bool skipping_line; /* line mode: discarding the rest of an over-long line */
	int in_callback;    /* depth; frees are deferred until it is 0 */
	bool dead;          /* aborted inside a callback */
	bool completions;   /* the loop receives for us (ev_recv_start), not readiness */
	struct buf out;
	struct buf in;   /* line mode: the incomplete line */
	struct buf held; /* completions: bytes that arrived while input was paused */
	bool held_eof;   /* ... followed by the end of the stream */
	uint64_t last_activity_ms;
	uint64_t line_started_ms; /* line mode: when the incomplete line began, 0 if none */
	struct ev_timer timer;
	char peer[64];
	_Alignas(max_align_t) unsigned char state[];
};

/* stream.c */
/* A connection accepted on srv, its slot in active_conns taken: set it up and open it, or
 * refuse it (stream_server_refuse). */
void stream_conn_accepted(struct stream_server *srv, int fd, const struct sockaddr_storage *ss,
			  socklen_t sslen);
/* Watch what c now needs; frees c if it is done (returns false then). */
bool stream_conn_update_events(struct stream_conn *c);
/* Free c now: only from the loop, where no caller further up holds c. */
void stream_conn_destroy(struct stream_conn *c);

/* stream_server.c */
/* Give back the slot in active_conns, close fd, count and (rate-limited) log why. */
void stream_server_refuse(struct stream_server *srv, int fd, const char *why);
/* A connection closed: an fd came free, so a listener paused for lack of them resumes. */
void stream_server_conn_closed(struct stream_server *srv);

#endif
