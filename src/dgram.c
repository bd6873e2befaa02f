/* dgram.c - datagram endpoints: recvmmsg a batch, check each source with the guard, let the
 * service write replies, sendmmsg them back. No allocation per datagram. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "dgram.h"
#include "guard.h"
#include "log.h"
#include "net.h"

#define BATCH     16 /* datagrams per recvmmsg/sendmmsg */
#define SLOT_SIZE (DGRAM_MAX_PAYLOAD + 1)

struct dgram_endpoint {
	struct ev_loop *loop;
	int fd;
	char endpoint[ADDR_TEXT_MAX];
	const struct dgram_service *service;
	void *ctx;
	struct dgram_guard *guard;
	struct service_stats *stats;
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec in_iov[BATCH], out_iov[BATCH];
	struct sockaddr_storage peers[BATCH];
	/* cmsg space for one SCM_TIMESTAMPNS each, aligned as cmsghdr wants */
	_Alignas(size_t) char control[BATCH][CMSG_SPACE(sizeof(struct timespec))];
	/* Large, but calloc'd pages cost memory only once a big datagram touches them. */
	uint8_t (*inbuf)[SLOT_SIZE];
	uint8_t (*outbuf)[SLOT_SIZE];
};

static struct timespec rx_time_of(struct msghdr *msg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			return ts;
		}
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return now;
}

/* Set up the first count receive headers. The kernel changes only the headers of the
 * datagrams it returned, so after a batch of n only those n need it again: resetting all
 * BATCH of them for every datagram cost a tenth of the server's CPU at one in flight. */
static void prepare_receive(struct dgram_endpoint *ep, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		ep->in_iov[i] = (struct iovec){.iov_base = ep->inbuf[i], .iov_len = SLOT_SIZE};
		ep->in[i].msg_hdr = (struct msghdr){
			.msg_name = &ep->peers[i],
			.msg_namelen = sizeof(ep->peers[i]),
			.msg_iov = &ep->in_iov[i],
			.msg_iovlen = 1,
			.msg_control = ep->control[i],
			.msg_controllen = sizeof(ep->control[i]),
		};
	}
}

/* Send the queued replies; a refusal (ICMP from an earlier reply) costs only that one. */
static void send_replies(struct dgram_endpoint *ep, unsigned count)
{
	unsigned done = 0;
	while (done < count) {
		int n = sendmmsg(ep->fd, ep->out + done, count - done, MSG_DONTWAIT);
		if (n > 0) {
			STAT_ADD(ep->stats, replies, (uint64_t)n);
			for (int i = 0; i < n; i++)
				STAT_ADD(ep->stats, bytes_out,
					 ep->out_iov[done + (unsigned)i].iov_len);
			done += (unsigned)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) { /* socket buffer full: UDP may drop, and does */
			STAT_ADD(ep->stats, drops, count - done);
			return;
		}
		log_debug("%s: %s: send: %s", ep->service->name, ep->endpoint, strerror(errno));
		STAT_ADD(ep->stats, drops, 1);
		done++;
	}
}

/* The guard's verdict on one request, then the service's reply into out: its length, or
 * -1 for none (counted as a drop). */
static ssize_t answer(struct dgram_endpoint *ep, const struct dgram_request *req, bool truncated,
		      uint8_t *out)
{
	STAT_ADD(ep->stats, dgrams_in, 1);
	STAT_ADD(ep->stats, bytes_in, req->len);
	if (truncated) {
		STAT_ADD(ep->stats, drops, 1);
		return -1;
	}
	enum guard_verdict v =
		ep->guard ? guard_check(ep->guard, req->peer, ep->service->allowed_low_port,
					ev_now_ms(ep->loop))
			  : GUARD_PASS;
	ssize_t len = -1;
	if (v == GUARD_PASS) {
		len = ep->service->reply(ep->ctx, req, out, SLOT_SIZE - 1);
	} else if (v == GUARD_RATE_LIMITED) {
		STAT_ADD(ep->stats, rate_limited, 1);
		if (ep->service->rate_limited_reply != NULL)
			len = ep->service->rate_limited_reply(ep->ctx, req, out, SLOT_SIZE - 1);
	} else if (log_enabled(LOG_DEBUG)) {
		char peer[ADDR_TEXT_MAX];
		net_format_sockaddr(req->peer, req->peerlen, peer, sizeof(peer));
		log_debug("%s: %s: dropped datagram from %s: %s", ep->service->name, ep->endpoint,
			  peer, guard_verdict_name(v));
	}
	if (len < 0)
		STAT_ADD(ep->stats, drops, 1);
	return len;
}

static void on_readable(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)loop;
	(void)events;
	struct dgram_endpoint *ep = data;
	int n = recvmmsg(fd, ep->in, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0) {
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			log_debug("%s: %s: recv: %s", ep->service->name, ep->endpoint,
				  strerror(errno));
		return;
	}
	unsigned queued = 0;
	for (int i = 0; i < n; i++) {
		struct msghdr *m = &ep->in[i].msg_hdr;
		struct dgram_request req = {
			.peer = (const struct sockaddr *)&ep->peers[i],
			.peerlen = m->msg_namelen,
			.data = ep->inbuf[i],
			.len = ep->in[i].msg_len,
		};
		if (ep->service->wants_rx_time)
			req.rx_time = rx_time_of(m);
		ssize_t len = answer(ep, &req, (m->msg_flags & MSG_TRUNC) != 0, ep->outbuf[queued]);
		if (len < 0)
			continue;
		ep->out_iov[queued] =
			(struct iovec){.iov_base = ep->outbuf[queued], .iov_len = (size_t)len};
		ep->out[queued].msg_hdr = (struct msghdr){
			.msg_name = &ep->peers[i],
			.msg_namelen = m->msg_namelen,
			.msg_iov = &ep->out_iov[queued],
			.msg_iovlen = 1,
		};
		queued++;
	}
	if (queued > 0)
		send_replies(ep, queued);
	prepare_receive(ep, (size_t)n);
}

struct dgram_endpoint *dgram_endpoint_new(struct ev_loop *loop, int fd, const char *endpoint,
					  const struct dgram_service *service, void *ctx,
					  struct dgram_guard *guard, struct service_stats *stats)
{
	struct dgram_endpoint *ep = calloc(1, sizeof(*ep));
	if (ep == NULL) {
		close(fd); /* owned from the call on, as the header says */
		return NULL;
	}
	ep->inbuf = calloc(BATCH, SLOT_SIZE);
	ep->outbuf = calloc(BATCH, SLOT_SIZE);
	if (ep->inbuf == NULL || ep->outbuf == NULL)
		goto out_free_buffers;
	ep->loop = loop;
	ep->fd = fd;
	ep->service = service;
	ep->ctx = ctx;
	ep->guard = guard;
	ep->stats = stats;
	snprintf(ep->endpoint, sizeof(ep->endpoint), "%s", endpoint);
	prepare_receive(ep, BATCH);
	if (service->wants_rx_time) { /* arrival times from the kernel: SNTP's receive time */
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	}
	/* Readiness and recvmmsg on every loop, io_uring's too: a receive in flight in io_uring
	 * would keep a killed server's socket open (the kernel cancels it asynchronously), and
	 * in the SO_REUSEPORT group a restarted server would share its port with the dead one,
	 * which then swallows a share of the datagrams. */
	if (ev_io_start(loop, fd, EV_READ, on_readable, ep) < 0)
		goto out_free_buffers;
	return ep;

out_free_buffers:
	close(fd);
	free(ep->inbuf);
	free(ep->outbuf);
	free(ep);
	return NULL;
}

void dgram_endpoint_free(struct dgram_endpoint *ep)
{
	if (ep == NULL)
		return;
	ev_io_stop(ep->loop, ep->fd);
	close(ep->fd);
	free(ep->inbuf);
	free(ep->outbuf);
	free(ep);
}
