/* sntp_packet.h - the NTP packet header (RFC 5905) and SNTP server replies (RFC 4330):
 * sizes checked before any field is read, as OpenBSD's ntp_getmsg does. Pure. */
#ifndef SOCKIT_SNTP_PACKET_H
#define SOCKIT_SNTP_PACKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define SNTP_PACKET_LEN   48          /* header without extension fields or MAC */
#define SNTP_MAC_MD5_LEN  20          /* key id + MD5 digest (RFC 5905 7.3) */
#define SNTP_MAC_SHA1_LEN 24          /* key id + SHA-1 digest */
#define SNTP_EPOCH_OFFSET 2208988800u /* seconds from 1900 (NTP) to 1970 (Unix) */

enum sntp_mode { SNTP_MODE_CLIENT = 3, SNTP_MODE_SERVER = 4 };
enum sntp_leap { SNTP_LEAP_NONE = 0, SNTP_LEAP_ALARM = 3 };

struct sntp_packet {
	uint8_t leap, version, mode, stratum;
	int8_t poll, precision;
	uint32_t root_delay, root_dispersion;   /* NTP short format, 16.16 seconds */
	uint32_t refid;                         /* host order; "LOCL" is 0x4c4f434c */
	uint64_t ref_ts, orig_ts, rx_ts, tx_ts; /* NTP timestamps, 32.32 seconds since 1900 */
};

/* What the server says about its clock, apart from the per-packet timestamps. */
struct sntp_server_info {
	uint8_t stratum;
	int8_t precision;         /* log2 seconds */
	uint32_t root_dispersion; /* 16.16 seconds */
	uint32_t refid;
	uint64_t ref_ts;
};

/* Decode buf: 0, or -1 unless len is 48, 68 or 72 (header, optionally with a MAC). */
int sntp_packet_decode(const uint8_t *buf, size_t len, struct sntp_packet *out);
void sntp_packet_encode(const struct sntp_packet *p, uint8_t out[SNTP_PACKET_LEN]);

/* The answer to one request received at rx_ts and sent at tx_ts: SNTP_PACKET_LEN, or -1 for
 * no answer (anything but a valid mode 3 request of version 1-4). */
ssize_t sntp_server_reply(const uint8_t *req, size_t len, const struct sntp_server_info *info,
			  uint64_t rx_ts, uint64_t tx_ts, uint8_t out[SNTP_PACKET_LEN]);
/* The same, as a kiss-o'-death with kiss code code ("RATE"). */
ssize_t sntp_kod_reply(const uint8_t *req, size_t len, const char code[4], uint64_t rx_ts,
		       uint64_t tx_ts, uint8_t out[SNTP_PACKET_LEN]);

uint64_t sntp_ts_from_timespec(struct timespec ts);
struct timespec sntp_ts_to_timespec(uint64_t ts); /* era 0 until 2036, then era 1 */
double sntp_ts_diff(uint64_t a, uint64_t b);      /* a - b in seconds */
uint32_t sntp_short_from_seconds(double s);
uint32_t sntp_refid(const char code[4]);

/* RFC 868 time is the NTP timestamp's seconds, era wrap included, in network order: the
 * server and the client share this codec. */
#define RFC868_LEN 4
void sntp_rfc868_encode(uint64_t ts, uint8_t out[RFC868_LEN]);
uint64_t sntp_rfc868_decode(const uint8_t in[RFC868_LEN]); /* an NTP timestamp, no fraction */

#endif
