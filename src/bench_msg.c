/* bench_msg.c - message contents for `sockit bench` and their checks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_msg.h"
#include "sntp_packet.h"
#include "upper.h"

int bench_msg_init(struct bench_msg *m, size_t size, bool plain)
{
	size_t len = BENCH_PATTERN_CYCLE + size;
	*m = (struct bench_msg){.size = size,
				.hdr = size < BENCH_SEQ_DIGITS ? size : BENCH_SEQ_DIGITS,
				.plain = plain};
	m->pattern = malloc(len);
	m->expect = malloc(len);
	if (m->pattern == NULL || m->expect == NULL) {
		bench_msg_free(m);
		return -ENOMEM;
	}
	uint32_t x = 2463534242u; /* xorshift32: any fixed lowercase sequence will do */
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		m->pattern[i] = (uint8_t)('a' + x % 26);
	}
	memcpy(m->expect, m->pattern, len);
	if (!plain)
		upper_ascii(m->expect, len);
	return 0;
}

void bench_msg_free(struct bench_msg *m)
{
	free(m->pattern);
	free(m->expect);
	m->pattern = m->expect = NULL;
}

uint64_t bench_msg_seq_modulus(const struct bench_msg *m)
{
	uint64_t mod = 1;
	for (size_t i = 0; i < m->hdr; i++)
		mod *= 26;
	return mod;
}

void bench_msg_header(const struct bench_msg *m, uint64_t seq, uint8_t *out)
{
	for (size_t i = m->hdr; i-- > 0;) {
		out[i] = (uint8_t)('a' + seq % 26);
		seq /= 26;
	}
}

static size_t payload_offset(uint64_t seq)
{
	return (size_t)((seq * 2654435761u) % BENCH_PATTERN_CYCLE);
}

const uint8_t *bench_msg_payload(const struct bench_msg *m, uint64_t seq)
{
	return m->pattern + payload_offset(seq);
}

void bench_msg_fill(const struct bench_msg *m, uint64_t seq, uint8_t *out)
{
	bench_msg_header(m, seq, out);
	memcpy(out + m->hdr, bench_msg_payload(m, seq), m->size - m->hdr);
}

bool bench_msg_check(const struct bench_msg *m, uint64_t seq, size_t off, const uint8_t *data,
		     size_t len)
{
	if (off + len > m->size)
		return false;
	if (off < m->hdr) {
		uint8_t hdr[BENCH_SEQ_DIGITS];
		bench_msg_header(m, seq, hdr);
		if (!m->plain)
			upper_ascii(hdr, m->hdr);
		size_t n = m->hdr - off < len ? m->hdr - off : len;
		if (memcmp(data, hdr + off, n) != 0)
			return false;
		data += n;
		off += n;
		len -= n;
	}
	return len == 0 || memcmp(data, m->expect + payload_offset(seq) + (off - m->hdr), len) == 0;
}

static int64_t decode_seq(const uint8_t *data, size_t hdr)
{
	uint64_t seq = 0;
	for (size_t i = 0; i < hdr; i++) {
		uint8_t b = data[i] | 0x20; /* either case: a wrong case is a mismatch, not loss */
		if (b < 'a' || b > 'z')
			return -1;
		seq = seq * 26 + (uint64_t)(b - 'a');
	}
	return (int64_t)seq;
}

int64_t bench_msg_reply_seq(const struct bench_msg *m, const uint8_t *data, size_t len)
{
	return len == m->size ? decode_seq(data, m->hdr) : -1;
}

#define SNTP_SEQ_MASK ((UINT64_C(1) << BENCH_SNTP_SEQ_BITS) - 1)
#define SNTP_TOKEN    (UINT64_C(0xb5e1) << 48) /* marks our requests' transmit stamps */

void bench_sntp_fill(const struct bench_msg *m, uint64_t seq, uint8_t *out)
{
	(void)m;
	struct sntp_packet p = {.version = 4,
				.mode = SNTP_MODE_CLIENT,
				.tx_ts = SNTP_TOKEN | (seq & SNTP_SEQ_MASK)};
	sntp_packet_encode(&p, out);
}

int64_t bench_sntp_reply_seq(const struct bench_msg *m, const uint8_t *data, size_t len)
{
	(void)m;
	struct sntp_packet p;
	if (sntp_packet_decode(data, len, &p) < 0 || (p.orig_ts & ~SNTP_SEQ_MASK) != SNTP_TOKEN)
		return -1;
	return (int64_t)(p.orig_ts & SNTP_SEQ_MASK);
}

bool bench_sntp_check(const struct bench_msg *m, uint64_t seq, const uint8_t *data, size_t len)
{
	(void)m;
	struct sntp_packet p;
	return sntp_packet_decode(data, len, &p) == 0 && p.mode == SNTP_MODE_SERVER &&
	       p.version == 4 && p.stratum != 0 && p.leap != SNTP_LEAP_ALARM &&
	       p.orig_ts == (SNTP_TOKEN | (seq & SNTP_SEQ_MASK)) && p.tx_ts != 0 && p.rx_ts != 0;
}

void bench_time_fill(const struct bench_msg *m, uint64_t seq, uint8_t *out)
{
	bench_msg_header(m, seq, out);
	memcpy(out + m->hdr, BENCH_TIME_FORMAT, sizeof(BENCH_TIME_FORMAT) - 1);
}

int64_t bench_time_reply_seq(const struct bench_msg *m, const uint8_t *data, size_t len)
{
	return len == m->hdr + 20 ? decode_seq(data, m->hdr) : -1;
}

bool bench_time_check(const struct bench_msg *m, uint64_t seq, const uint8_t *data, size_t len)
{
	static const char shape[] = " dddd-dd-dd dd:dd:dd"; /* d: a digit */
	uint8_t hdr[BENCH_SEQ_DIGITS];
	if (len != m->hdr + sizeof(shape) - 1)
		return false;
	bench_msg_header(m, seq, hdr);
	if (memcmp(data, hdr, m->hdr) != 0)
		return false;
	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		uint8_t b = data[m->hdr + i];
		if (shape[i] == 'd' ? b < '0' || b > '9' : b != (uint8_t)shape[i])
			return false;
	}
	return true;
}

void bench_daytime_fill(const struct bench_msg *m, uint64_t seq, uint8_t *out)
{
	(void)seq;
	memset(out, '\n', m->size);
}

bool bench_daytime_check(const struct bench_msg *m, uint64_t seq, const uint8_t *data, size_t len)
{
	(void)m;
	(void)seq;
	size_t digits = 0, run = 0;
	if (len < 10 || len > BENCH_DAYTIME_REPLY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = data[i];
		if ((b < 0x20 || b > 0x7e) && b != '\r' && b != '\n')
			return false;
		run = b >= '0' && b <= '9' ? run + 1 : 0;
		if (run > digits)
			digits = run;
	}
	return digits >= 4; /* the year */
}

bool bench_rfc868_check(const struct bench_msg *m, uint64_t seq, const uint8_t *data, size_t len)
{
	(void)m;
	(void)seq;
	if (len != 4)
		return false;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint32_t ours = (uint32_t)(sntp_ts_from_timespec(now) >> 32);
	uint32_t theirs = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
			  (uint32_t)data[2] << 8 | data[3];
	uint32_t diff = ours - theirs; /* modular: the 2036 wrap is no jump */
	return diff <= 86400 || diff >= UINT32_MAX - 86400;
}
