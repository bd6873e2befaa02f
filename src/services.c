/* services.c - the services `sockit serve` knows, in start order. */
#include <stddef.h>

#include "echo.h"
#include "service.h"

const struct service_def *const service_table[] = {
	&echo_service,
	NULL,
};
