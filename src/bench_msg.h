/* bench_msg.h - the messages `sockit bench` sends and how it checks replies: each message
 * starts with its sequence number in lowercase base-26 letters, then a slice of a fixed
 * lowercase pattern chosen by that number, so the reply (its uppercase, or itself with
 * --plain) can be checked piecewise as it arrives. Also the requests and checks of the
 * datagram time protocols. Pure: no I/O, no allocation after init. */
#ifndef SOCKIT_BENCH_MSG_H
#define SOCKIT_BENCH_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_SEQ_DIGITS    8    /* 26^8 messages before the number wraps */
#define BENCH_PATTERN_CYCLE 4093 /* prime, so consecutive messages differ */

struct bench_msg {
	size_t size;      /* bytes per message */
	size_t hdr;       /* min(size, BENCH_SEQ_DIGITS) */
	bool plain;       /* expect the bytes back unchanged, not uppercased */
	uint8_t *pattern; /* BENCH_PATTERN_CYCLE + size lowercase letters */
	uint8_t *expect;  /* the same, as the reply should carry them */
};

/* 0 or -ENOMEM. */
int bench_msg_init(struct bench_msg *m, size_t size, bool plain);
void bench_msg_free(struct bench_msg *m);

/* Write the sequence-number header of message seq (m->hdr bytes). */
void bench_msg_header(const struct bench_msg *m, uint64_t seq, uint8_t *out);
/* The rest of message seq (size - hdr bytes), inside m->pattern: no copy needed. */
const uint8_t *bench_msg_payload(const struct bench_msg *m, uint64_t seq);
/* Write all of message seq to out (size bytes). */
void bench_msg_fill(const struct bench_msg *m, uint64_t seq, uint8_t *out);

/* Does data (len bytes) equal the expected reply to message seq from byte offset off? */
bool bench_msg_check(const struct bench_msg *m, uint64_t seq, size_t off, const uint8_t *data,
		     size_t len);
/* A whole datagram reply: its sequence number (modulo 26^hdr) from the header, in either
 * case, or -1 if the header is not one or the length is wrong. It says which message the
 * reply answers; bench_msg_check then says whether it is right. */
int64_t bench_msg_reply_seq(const struct bench_msg *m, const uint8_t *data, size_t len);
/* 26^hdr: sequence numbers are compared modulo this. */
uint64_t bench_msg_seq_modulus(const struct bench_msg *m);

/* SNTP (--proto sntp): a 48-byte client request whose transmit timestamp carries seq;
 * the server must copy it into the reply's origin timestamp. */
#define BENCH_SNTP_SEQ_BITS 40
void bench_sntp_fill(const struct bench_msg *m, uint64_t seq, uint8_t *out);
/* seq (modulo 2^BENCH_SNTP_SEQ_BITS) from a reply's origin timestamp, or -1. */
int64_t bench_sntp_reply_seq(const struct bench_msg *m, const uint8_t *data, size_t len);
/* A server-mode reply, not a kiss-o'-death, to request seq, with its clock set. */
bool bench_sntp_check(const struct bench_msg *m, uint64_t seq, const uint8_t *data, size_t len);

/* The seed's time service (--proto time): the format is our sequence number in letters
 * (strftime copies them) and " %Y-%m-%d %H:%M:%S", so replies say which request they
 * answer and can be checked for shape. */
#define BENCH_TIME_FORMAT    " %Y-%m-%d %H:%M:%S"
#define BENCH_TIME_REQ_LEN   (BENCH_SEQ_DIGITS + sizeof(BENCH_TIME_FORMAT) - 1)
#define BENCH_TIME_REPLY_LEN (BENCH_SEQ_DIGITS + 20) /* " 2026-11-25 11:34:27" */
void bench_time_fill(const struct bench_msg *m, uint64_t seq, uint8_t *out);
int64_t bench_time_reply_seq(const struct bench_msg *m, const uint8_t *data, size_t len);
bool bench_time_check(const struct bench_msg *m, uint64_t seq, const uint8_t *data, size_t len);

/* Daytime (RFC 867) and RFC 868 time over udp: any datagram asks, nothing in the reply says
 * which request it answers (so one in flight per socket). The checks are for shape: a
 * printable line with a year; four bytes within a day of our clock. */
#define BENCH_DAYTIME_REPLY_MAX 128
void bench_daytime_fill(const struct bench_msg *m, uint64_t seq, uint8_t *out);
bool bench_daytime_check(const struct bench_msg *m, uint64_t seq, const uint8_t *data, size_t len);
bool bench_rfc868_check(const struct bench_msg *m, uint64_t seq, const uint8_t *data, size_t len);

#endif
