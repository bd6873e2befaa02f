/* bench_internal.h - what bench.c and its stream, udp, worker and report files share. */
#ifndef SOCKIT_BENCH_INTERNAL_H
#define SOCKIT_BENCH_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "addr.h"
#include "bench_msg.h"
#include "ev_spin.h"
#include "histogram.h"
#include "net.h"

#define READ_CHUNK    (256 * 1024) /* one recv per readiness, at most this much */
#define SEND_BATCH    32           /* messages per sendmsg / sendmmsg */
#define BENCH_TICK_MS 50           /* how often timeouts and the clock are checked */

/* What is spoken. Streams speak echo only (checked piecewise as bytes arrive); datagram
 * protocols give a request, a way to tell which request a reply answers, and a check. */
struct bench_proto {
	const char *name;
	bool stream;       /* also over tcp and unix */
	size_t fixed_size; /* requests and replies have this size; 0: --size */
	size_t reply_max;  /* replies may be this long; 0: the request's size */
	uint64_t seq_mod;  /* reply_seq is seq modulo this; 0: bench_msg_seq_modulus() */
	void (*fill)(const struct bench_msg *m, uint64_t seq, uint8_t *out);
	/* NULL: replies do not say which request they answer, so --depth is 1 */
	int64_t (*reply_seq)(const struct bench_msg *m, const uint8_t *data, size_t len);
	bool (*check)(const struct bench_msg *m, uint64_t seq, const uint8_t *data, size_t len);
};

struct bench_config {
	struct addr_spec spec;
	char target[ADDR_TEXT_MAX];
	const struct bench_proto *proto;
	unsigned conns, depth, threads;
	size_t size;
	long duration_ms;
	uint64_t count; /* 0: run for duration_ms */
	long timeout_ms;
	unsigned busy_poll_us; /* --busy-poll, for one-connection threads */
	bool busy_poll_adaptive;
	bool plain, json;
};

/* One connection (tcp, unix) or connected socket (udp). Stream messages are in flight in
 * order, so [rx_seq, tx_seq] are the ones sent and unanswered; udp ones may come back in
 * any order (or not at all), so each of the depth slots tracks its own. */
struct conn {
	int fd;
	bool dead;
	bool want_write;
	bool rx_bad;         /* stream: the message being received has a wrong byte */
	bool counted_done;   /* counted in worker.ndone */
	uint64_t limit;      /* messages this connection may start */
	uint64_t tx_seq;     /* stream: message being sent; udp: messages started */
	size_t tx_off;       /* stream: its bytes already sent */
	uint64_t rx_seq;     /* stream: message being received */
	size_t rx_off;       /* stream: its bytes already received */
	uint64_t last_rx_ns; /* stream: time of the last reply bytes */
	unsigned udp_busy;   /* udp: slots waiting for a reply */
	uint64_t *sent_ns;   /* per slot (seq % depth): when it was sent; udp: 0 = free */
	uint64_t *slot_seq;  /* udp: the seq each slot waits for */
};

struct worker {
	const struct bench_config *cfg;
	const struct bench_msg *msg;
	size_t index;
	pthread_t thread;
	int epfd;            /* -1 when blocking */
	bool blocking;       /* one connection: bench_blocking_loop(), no epoll */
	struct spinner spin; /* blocking: polls for a reply before it sleeps */
	struct conn *conns;
	size_t nconns, ndone;
	bool stopping;  /* duration over: no new messages */
	bool interrupt; /* set by the main thread on SIGINT/SIGTERM (atomic) */
	uint64_t start_ns, deadline_ns, end_ns;
	uint64_t last_reply_ns; /* the rate's end: not the wait for replies that never come */
	uint64_t now_ns;        /* the clock after the last receive: one read per message */
	uint64_t next_tick_ns;
	/* published for the progress line (relaxed atomics) */
	uint64_t done_pub, errors_pub;
	bool finished;
	/* results, read after join */
	uint64_t ok, mismatches, timeouts, errors, late;
	uint64_t spin_ns; /* spent polling for replies (--busy-poll) */
	struct histogram hist;
	/* scratch, allocated before the run */
	uint8_t *rx;  /* READ_CHUNK, or SEND_BATCH datagrams for udp */
	uint8_t *tx;  /* udp: SEND_BATCH datagrams */
	uint8_t *stx; /* streams of small messages: SEND_BATCH of them */
	uint8_t hdr[SEND_BATCH][BENCH_SEQ_DIGITS];
	/* udp receive headers over rx, set up once: recvmmsg changes only their lengths */
	struct mmsghdr rx_mm[SEND_BATCH];
	struct iovec rx_iov[SEND_BATCH];
	char err[NET_ERR_LEN];
};

struct bench_totals {
	uint64_t ok, mismatches, timeouts, errors, late;
	double seconds;
	double client_busy;    /* CPU time of the run over seconds x threads, polling for replies
				* left out: near 1, we are the bottleneck, not the server */
	double client_polling; /* the time spent polling for replies, over the same */
	struct histogram hist;
	const char *first_error;
};

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* bench_worker.c: one thread's connections and loop */
void bench_conn_fail(struct worker *w, struct conn *c, const char *what, int errnum);
void bench_conn_kill(struct worker *w, struct conn *c);
void bench_record_reply(struct worker *w, bool good, uint64_t sent, uint64_t now);
int bench_worker_setup(struct worker *w, const struct bench_config *cfg,
		       const struct bench_msg *msg, size_t index, size_t nconns);
int bench_conn_open(struct worker *w, struct conn *c, uint64_t limit);
/* Receive what c has (block: wait up to BENCH_TICK_MS), check it, send what may go next;
 * sets w->now_ns. False if nothing came (no bytes, no error): the wait goes on. */
bool bench_conn_receive(struct worker *w, struct conn *c, bool block);
/* After each receive: timeouts and the end of the run once per tick, progress counters. */
void bench_worker_after_io(struct worker *w, uint64_t now);
void *bench_worker_main(void *arg);
void bench_worker_free(struct worker *w);

/* bench_blocking.c: a thread with one connection needs no event loop */
bool bench_blocking_fits(const struct bench_config *cfg, size_t nconns);
int bench_blocking_prepare(int fd);
void bench_blocking_loop(struct worker *w);

/* bench_stream.c: tcp and unix */
bool bench_stream_idle(const struct conn *c);
void bench_stream_send(struct worker *w, struct conn *c, uint64_t now);
bool bench_stream_receive(struct worker *w, struct conn *c, int flags);
void bench_stream_check_timeout(struct worker *w, struct conn *c, uint64_t now, uint64_t limit);

/* bench_udp.c: udp */
void bench_udp_send(struct worker *w, struct conn *c);
size_t bench_rx_slot_size(const struct bench_config *cfg);
bool bench_udp_receive(struct worker *w, struct conn *c, int flags);
void bench_udp_check_timeout(struct worker *w, struct conn *c, uint64_t now, uint64_t limit);

/* bench_report.c */
void bench_print_human(const struct bench_config *cfg, const struct bench_totals *t);
void bench_print_json(const struct bench_config *cfg, const struct bench_totals *t);

#endif
