/* ev_uring.c - the io_uring backend: completion receives into a ring of provided buffers,
 * so a busy connection costs no recv call and no readiness report, only its share of one
 * io_uring_enter per loop iteration. Readiness (listeners, writability, pipes) goes through
 * an epoll set whose fd the ring polls, and so do datagram sockets (dgram.c): an operation
 * in flight in io_uring holds its socket open after the process dies (the kernel cancels
 * it asynchronously), and a restarted server must find its old listening and datagram
 * sockets closed, not sharing its SO_REUSEPORT port. */
#ifdef HAVE_LIBURING
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ev_internal.h"

#define RING_ENTRIES 256 /* submission queue; the completion queue is twice this */
/* Provided buffers: a buffer is only touched (and counts in RSS) once the kernel has
 * received into it. */
#define RECV_BUFFERS   64    /* a power of two */
#define RECV_BUF_SIZE  16384 /* bytes per receive at most */
#define RECV_BUF_GROUP 0

/* What a completion is for, in the low bits of its user_data. */
enum { KIND_IGNORE = 0, KIND_EPOLL = 1, KIND_RECV = 2 };

struct uring_fd {
	bool recv_armed;    /* a receive is in flight */
	bool recv_wanted;   /* ev_recv_start()ed and not stopped */
	bool on_rearm_list; /* something may need arming before the next wait */
};

struct uring_state {
	struct io_uring ring;
	int epfd;
	bool epoll_polled; /* a poll on epfd is in flight */
	bool epoll_ready;  /* ... and it fired: collect the set's events */
	struct epoll_event events[EV_MAX_FIRED];
	struct uring_fd *fds; /* indexed by fd, max_fds of them */
	int *rearm;           /* fds to look at before the next wait */
	int nrearm;
	struct io_uring_buf_ring *bufs; /* NULL: the kernel has no provided-buffer rings */
	uint8_t *buf_mem;
};

static uint64_t user_data_of(int kind, int fd, uint32_t gen)
{
	return (uint64_t)kind | (uint64_t)(uint32_t)fd << 2 | (uint64_t)gen << 32;
}

static int kind_of(uint64_t ud)
{
	return (int)(ud & 3u);
}

static int fd_of(uint64_t ud)
{
	return (int)((ud & 0xffffffffu) >> 2);
}

static uint32_t gen_of(uint64_t ud)
{
	return (uint32_t)(ud >> 32);
}

/* A free submission slot; a full queue is handed to the kernel first. */
static struct io_uring_sqe *get_sqe(struct uring_state *st)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&st->ring);
	if (sqe == NULL) {
		io_uring_submit(&st->ring);
		sqe = io_uring_get_sqe(&st->ring);
	}
	return sqe;
}

static void queue_rearm(struct uring_state *st, int fd)
{
	if (!st->fds[fd].on_rearm_list) {
		st->fds[fd].on_rearm_list = true;
		st->rearm[st->nrearm++] = fd;
	}
}

/* ---- provided buffers ---- */

#define BUF_RING_SIZE (RECV_BUFFERS * sizeof(struct io_uring_buf))

static uint8_t *buffer_at(struct uring_state *st, int id)
{
	return st->buf_mem + (size_t)id * RECV_BUF_SIZE;
}

static void buffer_give_back(struct uring_state *st, int id)
{
	io_uring_buf_ring_add(st->bufs, buffer_at(st, id), RECV_BUF_SIZE, (unsigned short)id,
			      io_uring_buf_ring_mask(RECV_BUFFERS), 0);
	io_uring_buf_ring_advance(st->bufs, 1);
}

/* Registers the buffer ring; on a kernel without them (before 5.19) completion receives are
 * simply not offered, and the loop's users fall back to readiness. */
static void buffers_setup(struct uring_state *st)
{
	void *ring = mmap(NULL, BUF_RING_SIZE, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
			  -1, 0);
	if (ring == MAP_FAILED)
		return;
	void *mem = mmap(NULL, (size_t)RECV_BUFFERS * RECV_BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (mem == MAP_FAILED) {
		munmap(ring, BUF_RING_SIZE);
		return;
	}
	struct io_uring_buf_reg reg = {
		.ring_addr = (uint64_t)(uintptr_t)ring,
		.ring_entries = RECV_BUFFERS,
		.bgid = RECV_BUF_GROUP,
	};
	if (io_uring_register_buf_ring(&st->ring, &reg, 0) < 0) {
		munmap(ring, BUF_RING_SIZE);
		munmap(mem, (size_t)RECV_BUFFERS * RECV_BUF_SIZE);
		return;
	}
	st->bufs = ring;
	st->buf_mem = mem;
	io_uring_buf_ring_init(st->bufs);
	for (int i = 0; i < RECV_BUFFERS; i++)
		buffer_give_back(st, i);
}

/* ---- setup ---- */

static int uring_init(struct ev_loop *loop)
{
	struct uring_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->fds = calloc((size_t)loop->max_fds, sizeof(*st->fds));
	st->rearm = calloc((size_t)loop->max_fds, sizeof(*st->rearm));
	if (st->fds == NULL || st->rearm == NULL) {
		free(st->fds);
		free(st->rearm);
		free(st);
		return -ENOMEM;
	}
	struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN,
				    .cq_entries = RING_ENTRIES * 2};
	int rc = io_uring_queue_init_params(RING_ENTRIES, &st->ring, &p);
	if (rc == -EINVAL) { /* a kernel before 5.19 has no COOP_TASKRUN */
		p = (struct io_uring_params){.flags = IORING_SETUP_CQSIZE,
					     .cq_entries = RING_ENTRIES * 2};
		rc = io_uring_queue_init_params(RING_ENTRIES, &st->ring, &p);
	}
	if (rc < 0) /* ENOSYS, or EPERM from io_uring_disabled or a seccomp filter */
		goto out_free;
	st->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (st->epfd < 0) {
		rc = -errno;
		io_uring_queue_exit(&st->ring);
		goto out_free;
	}
	buffers_setup(st);
	loop->backend_state = st;
	return 0;

out_free:
	free(st->fds);
	free(st->rearm);
	free(st);
	return rc;
}

static void uring_free(struct ev_loop *loop)
{
	struct uring_state *st = loop->backend_state;
	io_uring_queue_exit(&st->ring); /* also drops the buffer ring's registration */
	if (st->bufs != NULL) {
		munmap(st->bufs, BUF_RING_SIZE);
		munmap(st->buf_mem, (size_t)RECV_BUFFERS * RECV_BUF_SIZE);
	}
	close(st->epfd);
	free(st->fds);
	free(st->rearm);
	free(st);
}

/* ---- readiness: through epoll ---- */

static int uring_update(struct ev_loop *loop, int fd, int old_events, int new_events)
{
	struct uring_state *st = loop->backend_state;
	return ev_epoll_change(st->epfd, fd, old_events, new_events);
}

/* One-shot, armed again each time it fired: epoll is level-triggered, so its fd stays
 * readable while anything in the set is ready. */
static void epoll_fd_arm(struct uring_state *st)
{
	if (st->epoll_polled)
		return;
	struct io_uring_sqe *sqe = get_sqe(st);
	if (sqe == NULL)
		return;
	io_uring_prep_poll_add(sqe, st->epfd, POLLIN);
	io_uring_sqe_set_data64(sqe, KIND_EPOLL);
	st->epoll_polled = true;
}

/* ---- completion receives ---- */

/* One-shot receives, so that pausing input bounds what we take in to the one in flight (a
 * multishot receive would keep reading into our buffers until cancelled). */
static int recv_arm(struct ev_loop *loop, struct uring_state *st, int fd)
{
	struct io_uring_sqe *sqe = get_sqe(st);
	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_recv(sqe, fd, NULL, RECV_BUF_SIZE, 0);
	sqe->ioprio |= IORING_RECVSEND_POLL_FIRST; /* we just emptied it: wait first */
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = RECV_BUF_GROUP;
	io_uring_sqe_set_data64(sqe, user_data_of(KIND_RECV, fd, loop->watches[fd].recv_gen));
	st->fds[fd].recv_armed = true;
	return 0;
}

static int uring_recv_start(struct ev_loop *loop, int fd)
{
	struct uring_state *st = loop->backend_state;
	if (st->bufs == NULL)
		return -ENOTSUP;
	st->fds[fd].recv_wanted = true;
	if (!st->fds[fd].recv_armed && recv_arm(loop, st, fd) < 0)
		queue_rearm(st, fd); /* no submission slot now: before the next wait */
	return 0;
}

/* Pausing leaves a receive in flight alone (its bytes still reach the callback, as the
 * header promises); only forgetting the fd (gone = true) cancels it. */
static void uring_recv_stop(struct ev_loop *loop, int fd, bool gone)
{
	struct uring_state *st = loop->backend_state;
	struct uring_fd *u = &st->fds[fd];
	u->recv_wanted = false;
	if (!gone || !u->recv_armed)
		return;
	struct io_uring_sqe *sqe = get_sqe(st);
	if (sqe != NULL) {
		io_uring_prep_cancel64(sqe, user_data_of(KIND_RECV, fd, loop->watches[fd].recv_gen),
				       0);
		io_uring_sqe_set_data64(sqe, KIND_IGNORE);
	}
	/* Submitted now, so that close(fd) right after really closes the socket: an
	 * operation in flight holds a reference to it. */
	io_uring_submit(&st->ring);
	u->recv_armed = false;
}

static void uring_buffer_release(struct ev_loop *loop, int id)
{
	buffer_give_back(loop->backend_state, id);
}

/* ---- waiting ---- */

/* An fd that finds no submission slot stays on the list for the next round. */
static void rearm_pending(struct ev_loop *loop, struct uring_state *st)
{
	int kept = 0;
	for (int i = 0; i < st->nrearm; i++) {
		int fd = st->rearm[i];
		struct uring_fd *u = &st->fds[fd];
		if (u->recv_wanted && !u->recv_armed && recv_arm(loop, st, fd) < 0)
			st->rearm[kept++] = fd;
		else
			u->on_rearm_list = false;
	}
	st->nrearm = kept;
	epoll_fd_arm(st);
}

/* Turns one completion into a fired entry; false if there is nothing to report. */
static bool harvest(struct ev_loop *loop, struct uring_state *st, const struct io_uring_cqe *cqe,
		    struct ev_fired *f)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	int fd = fd_of(ud);
	int buf_id = cqe->flags & IORING_CQE_F_BUFFER ? (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT)
						      : -1;
	switch (kind_of(ud)) {
	case KIND_EPOLL:
		st->epoll_polled = false;
		st->epoll_ready = true;
		return false;
	case KIND_RECV: {
		if (gen_of(ud) != loop->watches[fd].recv_gen) { /* the fd was forgotten */
			if (buf_id >= 0)
				buffer_give_back(st, buf_id);
			return false;
		}
		st->fds[fd].recv_armed = false; /* one-shot: arm the next before the next wait */
		queue_rearm(st, fd);
		if (cqe->res == -ENOBUFS || cqe->res == -ECANCELED || cqe->res == -EINTR)
			return false; /* buffers come back as callbacks return; armed again */
		*f = (struct ev_fired){
			.fd = fd,
			.recv = true,
			.recv_gen = gen_of(ud),
			.res = cqe->res,
			.buf = buf_id >= 0 ? buffer_at(st, buf_id) : NULL,
			.buf_id = buf_id,
		};
		return true;
	}
	default:
		return false;
	}
}

static int uring_wait(struct ev_loop *loop, int timeout_ms)
{
	struct uring_state *st = loop->backend_state;
	rearm_pending(loop, st);
	struct io_uring_cqe *cqe = NULL;
	int rc;
	if (timeout_ms == 0) {
		rc = io_uring_submit_and_get_events(&st->ring);
	} else if (timeout_ms < 0) {
		rc = io_uring_submit_and_wait(&st->ring, 1);
	} else {
		struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
					       .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};
		rc = io_uring_submit_and_wait_timeout(&st->ring, &cqe, 1, &ts, NULL);
	}
	/* -EBUSY, -EAGAIN: the completion queue is full; reaping it below makes room. */
	if (rc < 0 && rc != -ETIME && rc != -EBUSY && rc != -EAGAIN)
		return rc;
	int n = 0;
	unsigned head, seen = 0;
	io_uring_for_each_cqe(&st->ring, head, cqe)
	{
		if (n == EV_MAX_FIRED)
			break;
		seen++;
		if (harvest(loop, st, cqe, &loop->fired[n]))
			n++;
	}
	io_uring_cq_advance(&st->ring, seen);
	if (st->epoll_ready && n < EV_MAX_FIRED) {
		st->epoll_ready = false;
		int m = ev_epoll_collect(st->epfd, st->events, loop->fired + n, EV_MAX_FIRED - n,
					 0);
		if (m > 0)
			n += m;
	}
	return n;
}

const struct ev_backend ev_backend_uring = {
	.name = "uring",
	.init = uring_init,
	.free = uring_free,
	.update = uring_update,
	.wait = uring_wait,
	.recv_start = uring_recv_start,
	.recv_stop = uring_recv_stop,
	.buffer_release = uring_buffer_release,
};
#endif
