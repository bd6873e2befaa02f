/* bench_stream.c - bench over tcp and unix: echo bytes in order, checked as they arrive. */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "bench_internal.h"

static void conn_want_write(struct worker *w, struct conn *c, bool on)
{
	/* blocking: no readiness to ask for, bench_blocking_loop() resumes the send itself */
	if (c->want_write == on || c->dead || w->blocking)
		return;
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
	epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->want_write = on;
}

/* ---- streams (tcp, unix): bytes in order; messages start when their first byte is sent */

bool bench_stream_idle(const struct conn *c)
{
	return c->rx_seq == c->tx_seq && c->tx_off == 0;
}

/* Gather the messages that may go now, from (tx_seq, tx_off): small ones copied into one
 * buffer (a plain send costs less than a sendmsg of many pieces), large ones as iovecs
 * pointing into the pattern. Returns the iovec count, 0 when nothing may go. */
static int stream_gather(struct worker *w, struct conn *c, uint64_t now, struct iovec *iov)
{
	const struct bench_msg *m = w->msg;
	unsigned depth = w->cfg->depth;
	bool small = w->stx != NULL;
	size_t off = c->tx_off, copied = 0;
	uint64_t s = c->tx_seq;
	int niov = 0;
	for (unsigned k = 0; k < SEND_BATCH; k++, s++, off = 0) {
		if (off == 0) { /* a new message: is there room and quota? */
			if (s >= c->rx_seq + depth || s >= c->limit)
				break;
			c->sent_ns[s % depth] = now; /* slot is free: s - depth is done */
		}
		if (small) {
			bench_msg_fill(m, s, w->stx + copied);
			copied += m->size;
			continue;
		}
		uint8_t *hdr = w->hdr[k];
		if (off < m->hdr) {
			bench_msg_header(m, s, hdr);
			iov[niov++] = (struct iovec){hdr + off, m->hdr - off};
		}
		size_t poff = off > m->hdr ? off - m->hdr : 0;
		if (m->size > m->hdr + poff)
			iov[niov++] = (struct iovec){(void *)(bench_msg_payload(m, s) + poff),
						     m->size - m->hdr - poff};
	}
	if (small && copied > 0) /* the first message may be partly sent already */
		iov[niov++] = (struct iovec){w->stx + c->tx_off, copied - c->tx_off};
	return niov;
}

void bench_stream_send(struct worker *w, struct conn *c, uint64_t now)
{
	const struct bench_msg *m = w->msg;
	/* blocking: wait for room, up to SO_SNDTIMEO (then EAGAIN or a partial send) */
	int flags = MSG_NOSIGNAL | (w->blocking ? 0 : MSG_DONTWAIT);
	while (!c->dead) {
		struct iovec iov[SEND_BATCH * 2];
		int niov = stream_gather(w, c, now, iov);
		if (niov == 0)
			break;
		ssize_t n;
		if (niov == 1) {
			n = send(c->fd, iov[0].iov_base, iov[0].iov_len, flags);
		} else {
			struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
			n = sendmsg(c->fd, &mh, flags);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			bench_conn_fail(w, c, "send", errno);
			return;
		}
		size_t sent = (size_t)n;
		while (sent > 0) { /* advance (tx_seq, tx_off) by what went out */
			size_t take = m->size - c->tx_off < sent ? m->size - c->tx_off : sent;
			c->tx_off += take;
			sent -= take;
			if (c->tx_off == m->size) {
				c->tx_seq++;
				c->tx_off = 0;
			}
		}
		if (c->tx_off != 0) /* the kernel took only part: wait for room */
			break;
	}
	conn_want_write(w, c, c->tx_off != 0 && !c->dead);
}

/* flags: MSG_DONTWAIT after epoll said readable; 0 to block (up to SO_RCVTIMEO). */
bool bench_stream_receive(struct worker *w, struct conn *c, int flags)
{
	const struct bench_msg *m = w->msg;
	ssize_t n = recv(c->fd, w->rx, READ_CHUNK, flags);
	uint64_t now = bench_now_ns();
	w->now_ns = now;
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		bench_conn_fail(w, c, n == 0 ? "read" : "recv", n == 0 ? ECONNRESET : errno);
		return true;
	}
	c->last_rx_ns = now;
	const uint8_t *p = w->rx;
	size_t left = (size_t)n;
	while (left > 0) {
		size_t sent = c->rx_seq < c->tx_seq ? m->size - c->rx_off : c->tx_off - c->rx_off;
		if (sent == 0 || c->rx_seq > c->tx_seq) { /* more than was sent: not our echo */
			w->mismatches++;
			bench_conn_fail(w, c, "reply", EPROTO);
			return true;
		}
		size_t take = sent < left ? sent : left;
		if (!bench_msg_check(m, c->rx_seq, c->rx_off, p, take))
			c->rx_bad = true;
		c->rx_off += take;
		p += take;
		left -= take;
		if (c->rx_off == m->size) {
			bench_record_reply(w, !c->rx_bad, c->sent_ns[c->rx_seq % w->cfg->depth],
					   now);
			c->rx_bad = false;
			c->rx_seq++;
			c->rx_off = 0;
		}
	}
	bench_stream_send(w, c, now);
	return true;
}

/* A stream whose oldest message waits too long is given up: its messages are timeouts. */
void bench_stream_check_timeout(struct worker *w, struct conn *c, uint64_t now, uint64_t limit)
{
	if (c->dead || bench_stream_idle(c))
		return;
	uint64_t since = c->sent_ns[c->rx_seq % w->cfg->depth];
	if (c->last_rx_ns > since)
		since = c->last_rx_ns;
	if (now <= since || now - since <= limit)
		return;
	w->timeouts += c->tx_seq - c->rx_seq + (c->tx_off != 0);
	bench_conn_kill(w, c);
}
