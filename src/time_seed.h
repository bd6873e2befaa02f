/* time_seed.h - the seed's strftime time service, over udp and tcp. */
#ifndef SOCKIT_TIME_SEED_H
#define SOCKIT_TIME_SEED_H

#include "service.h"

extern const struct service_def time_seed_service;

#endif
