/* daytime.h - the daytime service (RFC 867) over tcp and udp. */
#ifndef SOCKIT_DAYTIME_H
#define SOCKIT_DAYTIME_H

#include "service.h"

extern const struct service_def daytime_service;

#endif
