/* services.c - the services `sockit serve` knows, in start order. */
#include <stddef.h>

#include "daytime.h"
#include "echo.h"
#include "relay.h"
#include "rfc868.h"
#include "sntp.h"
#include "service.h"
#include "time_seed.h"

const struct service_def *const service_table[] = {
	&echo_service,
	&time_seed_service,
	&daytime_service,
	&rfc868_service,
	&sntp_service,
	&chat_relay_service,
	NULL,
};
