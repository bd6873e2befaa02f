/* echo.c - the echo service over streams and datagrams. The transform is upper.c; this
 * file only routes bytes and logs them the way the seed's server printed them. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "echo.h"
#include "escape.h"
#include "i18n.h"
#include "log.h"
#include "net.h"
#include "upper.h"

#define LOG_PREVIEW 256 /* bytes of each message shown by -v */

struct echo_config {
	bool plain;
};

static const struct echo_config echo_defaults = {.plain = false};

static const struct opt_desc echo_options[] = {
	{.name = "plain",
	 .type = OPT_BOOL,
	 .offset = offsetof(struct echo_config, plain),
	 .help = N_("echo bytes unchanged (RFC 862) instead of uppercased")},
	OPT_END,
};

static void log_message(const char *peer, const uint8_t *data, size_t len)
{
	char shown[ESCAPE_MAX(LOG_PREVIEW)];
	escape_text(shown, sizeof(shown), data, len < LOG_PREVIEW ? len : LOG_PREVIEW);
	log_info("echo: %s: %zu bytes: %s%s", peer, len, shown, len > LOG_PREVIEW ? "..." : "");
}

static void echo_on_data(struct stream_conn *c, void *ctx, void *state, uint8_t *data, size_t len)
{
	(void)state;
	const struct echo_config *cfg = ctx;
	if (log_enabled(LOG_INFO))
		log_message(stream_peer(c), data, len);
	if (!cfg->plain)
		upper_ascii(data, len);
	stream_write(c, data, len);
}

static ssize_t echo_reply(void *ctx, const struct dgram_request *req, uint8_t *out, size_t outcap)
{
	const struct echo_config *cfg = ctx;
	if (req->len > outcap)
		return -1;
	if (log_enabled(LOG_INFO)) {
		char peer[ADDR_TEXT_MAX];
		net_format_sockaddr(req->peer, req->peerlen, peer, sizeof(peer));
		log_message(peer, req->data, req->len);
	}
	memcpy(out, req->data, req->len);
	if (!cfg->plain)
		upper_ascii(out, req->len);
	return (ssize_t)req->len;
}

static const struct stream_service echo_stream = {
	.name = "echo",
	.on_data = echo_on_data,
};

static const struct dgram_service echo_dgram = {
	.name = "echo",
	.reply = echo_reply,
};

static const char *const echo_default_endpoints[] = {"tcp:127.0.0.1:9000", "udp:127.0.0.1:9000",
						     NULL};

const struct service_def echo_service = {
	.name = "echo",
	.summary = N_("uppercase echo (the seed's), or RFC 862 echo with --plain"),
	.defaults = echo_default_endpoints,
	.config_size = sizeof(struct echo_config),
	.config_defaults = &echo_defaults,
	.options = echo_options,
	.stream = &echo_stream,
	.dgram = &echo_dgram,
};
