/* sntp.c - the SNTP service: the local clock served like chrony's `local stratum 10`, mode 4
 * answers to mode 3 requests only, and a kiss-o'-death RATE to rate-limited clients. */
#include <math.h>
#include <stdlib.h>
#include <sys/timex.h>
#include <time.h>

#include "i18n.h"
#include "log.h"
#include "sntp.h"
#include "sntp_packet.h"

#define NTP_PORT         123      /* clients may send from it (ntpd, chronyd as root) */
#define PRECISION_PROBES 64       /* clock reads timed to find the precision */
#define PRECISION_MIN    -30      /* about 1 ns */
#define MAXERROR_TRUSTED 1000000L /* us: beyond this the kernel's estimate is not a bound */

struct sntp_config {
	unsigned stratum;
};

static const struct sntp_config sntp_defaults = {.stratum = 10};

static const struct opt_desc sntp_options[] = {
	{.name = "stratum",
	 .type = OPT_UINT,
	 .offset = offsetof(struct sntp_config, stratum),
	 .min = 1,
	 .max = 15,
	 .metavar = "N",
	 .help = N_("stratum the sntp server announces")},
	OPT_END,
};

struct sntp_ctx {
	struct sntp_server_info info;
	double precision_s;
	time_t info_second; /* the second info's dispersion was last read in */
};

/* The clock's precision: the time one reading takes, or its resolution if coarser, as
 * log2 seconds rounded up (RFC 5905 7.3: "precision of the system clock"). */
static int8_t measure_precision(double *seconds)
{
	struct timespec res, a, b;
	double best = 1.0;
	if (clock_getres(CLOCK_REALTIME, &res) == 0)
		best = (double)res.tv_sec + (double)res.tv_nsec / 1e9;
	double read_cost = 1.0;
	for (int i = 0; i < PRECISION_PROBES; i++) {
		clock_gettime(CLOCK_REALTIME, &a);
		clock_gettime(CLOCK_REALTIME, &b);
		double d = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		if (d > 0 && d < read_cost)
			read_cost = d;
	}
	if (read_cost > best)
		best = read_cost;
	int p = (int)ceil(log2(best));
	if (p < PRECISION_MIN)
		p = PRECISION_MIN;
	*seconds = ldexp(1.0, p);
	return (int8_t)p;
}

/* Root dispersion: the kernel's maximum error when something disciplines the clock (it is
 * then a real bound), else only our precision, as chrony's local reference announces. */
static void refresh_info(struct sntp_ctx *s, struct timespec now)
{
	if (now.tv_sec == s->info_second)
		return;
	s->info_second = now.tv_sec;
	double dispersion = s->precision_s;
	struct timex tx = {.modes = 0};
	int state = ntp_adjtime(&tx);
	if (state >= 0 && state != TIME_ERROR && !(tx.status & STA_UNSYNC) &&
	    tx.maxerror < MAXERROR_TRUSTED)
		dispersion += (double)tx.maxerror / 1e6;
	s->info.root_dispersion = sntp_short_from_seconds(dispersion);
	s->info.ref_ts = sntp_ts_from_timespec((struct timespec){.tv_sec = now.tv_sec});
}

static void *sntp_create(struct ev_loop *loop, const void *config)
{
	(void)loop;
	const struct sntp_config *cfg = config;
	struct sntp_ctx *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->info.stratum = (uint8_t)cfg->stratum;
	s->info.precision = measure_precision(&s->precision_s);
	s->info.refid = sntp_refid("LOCL");
	s->info_second = -1;
	log_info("sntp: stratum %u, precision 2^%d s", cfg->stratum, s->info.precision);
	return s;
}

static void sntp_destroy(void *ctx)
{
	free(ctx);
}

static uint64_t now_ts(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return sntp_ts_from_timespec(now);
}

static ssize_t sntp_reply(void *ctx, const struct dgram_request *req, uint8_t *out, size_t outcap)
{
	struct sntp_ctx *s = ctx;
	if (outcap < SNTP_PACKET_LEN)
		return -1;
	refresh_info(s, req->rx_time);
	/* the transmit timestamp is read last, as close to the send as the layer allows */
	return sntp_server_reply(req->data, req->len, &s->info, sntp_ts_from_timespec(req->rx_time),
				 now_ts(), out);
}

static ssize_t sntp_rate_limited(void *ctx, const struct dgram_request *req, uint8_t *out,
				 size_t outcap)
{
	(void)ctx;
	if (outcap < SNTP_PACKET_LEN)
		return -1;
	return sntp_kod_reply(req->data, req->len, "RATE", sntp_ts_from_timespec(req->rx_time),
			      now_ts(), out);
}

static const struct dgram_service sntp_dgram = {
	.name = "sntp",
	.allowed_low_port = NTP_PORT,
	.wants_rx_time = true,
	.reply = sntp_reply,
	.rate_limited_reply = sntp_rate_limited,
};

static const char *const sntp_default_endpoints[] = {"udp:127.0.0.1:9123", NULL};

const struct service_def sntp_service = {
	.name = "sntp",
	.summary = N_("SNTP server (RFC 4330) serving the local clock"),
	.defaults = sntp_default_endpoints,
	.config_size = sizeof(struct sntp_config),
	.config_defaults = &sntp_defaults,
	.options = sntp_options,
	.dgram = &sntp_dgram,
	.create = sntp_create,
	.destroy = sntp_destroy,
};
