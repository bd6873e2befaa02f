/* rfc868.h - the time service of RFC 868 (32-bit seconds since 1900) over tcp and udp. */
#ifndef SOCKIT_RFC868_H
#define SOCKIT_RFC868_H

#include "service.h"

extern const struct service_def rfc868_service;

#endif
