/* sntp_packet.c - NTP header codec and the stateless SNTP server reply. */
#include <math.h>
#include <string.h>

#include "sntp_packet.h"

#define ERA_SPLIT 0x80000000u /* NTP seconds below this are read as era 1 (after 2036) */

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

int sntp_packet_decode(const uint8_t *buf, size_t len, struct sntp_packet *out)
{
	if (len != SNTP_PACKET_LEN && len != SNTP_PACKET_LEN + SNTP_MAC_MD5_LEN &&
	    len != SNTP_PACKET_LEN + SNTP_MAC_SHA1_LEN)
		return -1;
	out->leap = buf[0] >> 6;
	out->version = (buf[0] >> 3) & 7;
	out->mode = buf[0] & 7;
	out->stratum = buf[1];
	out->poll = (int8_t)buf[2];
	out->precision = (int8_t)buf[3];
	out->root_delay = get32(buf + 4);
	out->root_dispersion = get32(buf + 8);
	out->refid = get32(buf + 12);
	out->ref_ts = get64(buf + 16);
	out->orig_ts = get64(buf + 24);
	out->rx_ts = get64(buf + 32);
	out->tx_ts = get64(buf + 40);
	return 0;
}

void sntp_packet_encode(const struct sntp_packet *p, uint8_t out[SNTP_PACKET_LEN])
{
	out[0] = (uint8_t)((p->leap & 3) << 6 | (p->version & 7) << 3 | (p->mode & 7));
	out[1] = p->stratum;
	out[2] = (uint8_t)p->poll;
	out[3] = (uint8_t)p->precision;
	put32(out + 4, p->root_delay);
	put32(out + 8, p->root_dispersion);
	put32(out + 12, p->refid);
	put64(out + 16, p->ref_ts);
	put64(out + 24, p->orig_ts);
	put64(out + 32, p->rx_ts);
	put64(out + 40, p->tx_ts);
}

/* A request we answer: a well-sized client-mode packet of a version we know. */
static int decode_request(const uint8_t *req, size_t len, struct sntp_packet *p)
{
	if (sntp_packet_decode(req, len, p) < 0)
		return -1;
	if (p->mode != SNTP_MODE_CLIENT || p->version < 1 || p->version > 4)
		return -1;
	return 0;
}

ssize_t sntp_server_reply(const uint8_t *req, size_t len, const struct sntp_server_info *info,
			  uint64_t rx_ts, uint64_t tx_ts, uint8_t out[SNTP_PACKET_LEN])
{
	struct sntp_packet q;
	if (decode_request(req, len, &q) < 0)
		return -1;
	struct sntp_packet r = {
		.leap = SNTP_LEAP_NONE,
		.version = q.version, /* RFC 4330 5: copied from the request */
		.mode = SNTP_MODE_SERVER,
		.stratum = info->stratum,
		.poll = q.poll,
		.precision = info->precision,
		.root_delay = 0, /* we are the reference */
		.root_dispersion = info->root_dispersion,
		.refid = info->refid,
		.ref_ts = info->ref_ts,
		.orig_ts = q.tx_ts,
		.rx_ts = rx_ts,
		.tx_ts = tx_ts,
	};
	sntp_packet_encode(&r, out);
	return SNTP_PACKET_LEN;
}

ssize_t sntp_kod_reply(const uint8_t *req, size_t len, const char code[4], uint64_t rx_ts,
		       uint64_t tx_ts, uint8_t out[SNTP_PACKET_LEN])
{
	struct sntp_packet q;
	if (decode_request(req, len, &q) < 0)
		return -1;
	struct sntp_packet r = {
		.leap = SNTP_LEAP_ALARM, /* RFC 5905 7.4: kiss-o'-death is stratum 0, leap 3 */
		.version = q.version,
		.mode = SNTP_MODE_SERVER,
		.stratum = 0,
		.poll = q.poll,
		.refid = sntp_refid(code),
		.orig_ts = q.tx_ts,
		.rx_ts = rx_ts,
		.tx_ts = tx_ts,
	};
	sntp_packet_encode(&r, out);
	return SNTP_PACKET_LEN;
}

uint64_t sntp_ts_from_timespec(struct timespec ts)
{
	uint64_t sec = (uint64_t)((int64_t)ts.tv_sec + SNTP_EPOCH_OFFSET) & 0xffffffffu;
	uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000u;
	return sec << 32 | frac;
}

struct timespec sntp_ts_to_timespec(uint64_t ts)
{
	uint32_t sec = (uint32_t)(ts >> 32);
	int64_t unix_sec = (int64_t)sec - SNTP_EPOCH_OFFSET;
	if (sec < ERA_SPLIT)
		unix_sec += (int64_t)1 << 32;
	uint64_t nsec = ((ts & 0xffffffffu) * 1000000000u) >> 32;
	return (struct timespec){.tv_sec = (time_t)unix_sec, .tv_nsec = (long)nsec};
}

double sntp_ts_diff(uint64_t a, uint64_t b)
{
	/* Modular difference: correct across an era wrap when a and b are close. */
	return (double)(int64_t)(a - b) / 4294967296.0;
}

uint32_t sntp_short_from_seconds(double s)
{
	if (!(s > 0))
		return 0;
	if (s >= 65535.0)
		return 0xffffffffu;
	return (uint32_t)ceil(s * 65536.0);
}

uint32_t sntp_refid(const char code[4])
{
	return get32((const uint8_t *)code);
}

void sntp_rfc868_encode(uint64_t ts, uint8_t out[RFC868_LEN])
{
	put32(out, (uint32_t)(ts >> 32));
}

uint64_t sntp_rfc868_decode(const uint8_t in[RFC868_LEN])
{
	return (uint64_t)get32(in) << 32;
}
