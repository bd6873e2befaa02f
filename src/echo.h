/* echo.h - the echo service: uppercase (the seed's) or RFC 862 identity echo. */
#ifndef SOCKIT_ECHO_H
#define SOCKIT_ECHO_H

#include "service.h"

extern const struct service_def echo_service;

#endif
