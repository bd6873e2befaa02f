/* relay.h - the chat relay service: IRC clients, nicknames, rooms, history, offline DMs. */
#ifndef SOCKIT_RELAY_H
#define SOCKIT_RELAY_H

#include "service.h"

extern const struct service_def chat_relay_service;

#endif
