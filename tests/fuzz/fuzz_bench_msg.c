/* fuzz_bench_msg.c - what `sockit bench` reads from the network: replies of every protocol
 * (echo, sntp, time, daytime, rfc868) checked against the messages it sent. */
#include <string.h>

#include "bench_msg.h"
#include "fuzz.h"

#define FUZZ_MAX_INPUT 2048
#define MSG_SIZES      4

static struct bench_msg msgs[MSG_SIZES];

static void msgs_init(void)
{
	static const size_t sizes[MSG_SIZES] = {1, 8, 64, 1024};
	for (size_t i = 0; i < MSG_SIZES; i++)
		FUZZ_CHECK(bench_msg_init(&msgs[i], sizes[i], i & 1) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (msgs[0].pattern == NULL)
		msgs_init(); /* kept for the whole run: freed by exit, not a per-input leak */
	if (size < 2 || size > FUZZ_MAX_INPUT)
		return 0;
	const struct bench_msg *m = &msgs[data[0] % MSG_SIZES];
	uint64_t seq = data[1];
	const uint8_t *reply = data + 2;
	size_t len = size - 2;
	/* exact-size copy: ASan sees any read past the reply */
	uint8_t *copy = malloc(len ? len : 1);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, reply, len);
	int64_t s = bench_msg_reply_seq(m, copy, len);
	FUZZ_CHECK(s < 0 || (uint64_t)s < bench_msg_seq_modulus(m));
	(void)bench_msg_check(m, seq, data[1] % (m->size + 1), copy, len);
	s = bench_sntp_reply_seq(m, copy, len);
	FUZZ_CHECK(s < (1ll << BENCH_SNTP_SEQ_BITS));
	(void)bench_sntp_check(m, seq, copy, len);
	(void)bench_time_reply_seq(m, copy, len);
	(void)bench_time_check(m, seq, copy, len);
	(void)bench_daytime_check(m, seq, copy, len);
	(void)bench_rfc868_check(m, seq, copy, len);
	free(copy);
	return 0;
}
