/* bench_udp.c - bench over udp: depth slots of datagrams, replies matched by sequence. */
#include <errno.h>
#include <sys/socket.h>

#include "bench_internal.h"

/* ---- datagrams: slot i carries sequence numbers i, i + depth, i + 2*depth, ... */

void bench_udp_send(struct worker *w, struct conn *c)
{
	const struct bench_msg *m = w->msg;
	unsigned depth = w->cfg->depth;
	struct mmsghdr mm[SEND_BATCH];
	struct iovec iov[SEND_BATCH];
	unsigned slots[SEND_BATCH];
	while (!c->dead) {
		unsigned n = 0;
		for (unsigned i = 0; i < depth && n < SEND_BATCH && c->tx_seq + n < c->limit; i++) {
			if (c->sent_ns[i] != 0)
				continue;
			slots[n] = i;
			n++;
		}
		if (n == 0)
			return;
		uint64_t now = bench_now_ns();
		for (unsigned k = 0; k < n; k++) {
			unsigned i = slots[k];
			uint64_t seq = c->slot_seq[i];
			uint8_t *buf = w->tx + (size_t)k * m->size;
			w->cfg->proto->fill(m, seq, buf);
			iov[k] = (struct iovec){buf, m->size};
			mm[k] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[k], .msg_iovlen = 1}};
		}
		int sent = sendmmsg(c->fd, mm, n, MSG_DONTWAIT);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOBUFS) /* try again on the next tick */
				return;
			bench_conn_fail(w, c, "send", errno);
			return;
		}
		for (int k = 0; k < sent; k++) {
			c->sent_ns[slots[k]] = now;
			c->udp_busy++;
		}
		c->tx_seq += (uint64_t)sent;
		if ((unsigned)sent < n)
			return;
	}
}

/* Room for one reply and a byte more, to see a reply that is too long. */
size_t bench_rx_slot_size(const struct bench_config *cfg)
{
	size_t reply = cfg->proto->reply_max > cfg->size ? cfg->proto->reply_max : cfg->size;
	return reply + 1;
}

/* flags: MSG_DONTWAIT after epoll said readable; MSG_WAITFORONE to block (up to
 * SO_RCVTIMEO). */
bool bench_udp_receive(struct worker *w, struct conn *c, int flags)
{
	const struct bench_msg *m = w->msg;
	unsigned depth = w->cfg->depth;
	struct mmsghdr *mm = w->rx_mm;
	struct iovec *iov = w->rx_iov;
	/* no more than depth replies can be due: asking for more costs one empty try each time */
	int n = recvmmsg(c->fd, mm, depth < SEND_BATCH ? depth : SEND_BATCH, flags, NULL);
	uint64_t now = bench_now_ns();
	w->now_ns = now;
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return false;
		bench_conn_fail(w, c, "recv", errno);
		return true;
	}
	const struct bench_proto *proto = w->cfg->proto;
	uint64_t mod = proto->seq_mod ? proto->seq_mod : bench_msg_seq_modulus(m);
	for (int k = 0; k < n; k++) {
		const uint8_t *data = iov[k].iov_base;
		size_t len = mm[k].msg_len;
		int64_t seq = proto->reply_seq ? proto->reply_seq(m, data, len) : -1;
		/* A reply is matched to the slot whose seq it names; otherwise it is garbage (a
		 * mismatch) or an answer that came after its timeout (late, ignored). */
		unsigned slot = 0;
		bool found = false;
		for (unsigned i = 0; i < depth && !found; i++) {
			/* unreadable header: with one slot busy, it can only be that one's */
			if (c->sent_ns[i] != 0 &&
			    (seq >= 0 ? c->slot_seq[i] % mod == (uint64_t)seq : c->udp_busy == 1)) {
				slot = i;
				found = true;
			}
		}
		if (!found) {
			if (seq >= 0 && proto->check(m, (uint64_t)seq, data, len))
				w->late++;
			else
				w->mismatches++;
			continue;
		}
		bool good = proto->check(m, c->slot_seq[slot], data, len);
		bench_record_reply(w, good, c->sent_ns[slot], now);
		c->sent_ns[slot] = 0;
		c->slot_seq[slot] += depth;
		c->udp_busy--;
	}
	bench_udp_send(w, c);
	return true;
}

/* Late slots are timeouts and free again; free slots are refilled (also those a full
 * socket buffer, EAGAIN, left unsent). */
void bench_udp_check_timeout(struct worker *w, struct conn *c, uint64_t now, uint64_t limit)
{
	if (c->dead)
		return;
	for (unsigned i = 0; i < w->cfg->depth && c->udp_busy > 0; i++) {
		/* now may predate a send: it is the clock before the reply that sent it */
		if (c->sent_ns[i] != 0 && now > c->sent_ns[i] && now - c->sent_ns[i] > limit) {
			w->timeouts++;
			c->sent_ns[i] = 0;
			c->slot_seq[i] += w->cfg->depth;
			c->udp_busy--;
		}
	}
	if (c->udp_busy < w->cfg->depth && c->tx_seq < c->limit)
		bench_udp_send(w, c);
}
