/* sntp.h - the SNTP server (RFC 4330 / RFC 5905 server mode) on udp. */
#ifndef SOCKIT_SNTP_H
#define SOCKIT_SNTP_H

#include "service.h"

extern const struct service_def sntp_service;

#endif
