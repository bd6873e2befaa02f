/* fuzz_sntp.c - SNTP packets from the network: decode, the server's reply and its KoD on any
 * bytes; a reply is always a valid server packet answering that request. */
#include <string.h>

#include "fuzz.h"
#include "sntp_packet.h"

#define FUZZ_MAX_INPUT 128 /* valid lengths are 48, 68 and 72; the rest must be refused */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	struct sntp_packet p;
	if (sntp_packet_decode(data, size, &p) == 0) {
		FUZZ_CHECK(size == 48 || size == 68 || size == 72);
		uint8_t again[SNTP_PACKET_LEN];
		sntp_packet_encode(&p, again);
		FUZZ_CHECK(memcmp(again, data, SNTP_PACKET_LEN) == 0);
	}
	struct sntp_server_info info = {
		.stratum = 1, .precision = -20, .refid = sntp_refid("LOCL")};
	uint8_t out[SNTP_PACKET_LEN];
	uint64_t rx = 0xe0000000ull << 32, tx = rx + 1;
	ssize_t n = sntp_server_reply(data, size, &info, rx, tx, out);
	if (n >= 0) {
		FUZZ_CHECK(n == SNTP_PACKET_LEN);
		struct sntp_packet r, q;
		FUZZ_CHECK(sntp_packet_decode(out, (size_t)n, &r) == 0);
		FUZZ_CHECK(sntp_packet_decode(data, size, &q) == 0);
		FUZZ_CHECK(q.mode == SNTP_MODE_CLIENT);
		FUZZ_CHECK(r.mode == SNTP_MODE_SERVER);
		FUZZ_CHECK(r.orig_ts == q.tx_ts); /* the client matches replies by this */
	}
	n = sntp_kod_reply(data, size, "RATE", rx, tx, out);
	FUZZ_CHECK(n == -1 || n == SNTP_PACKET_LEN);
	return 0;
}
