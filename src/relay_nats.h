/* relay_nats.h - chat relay instances made one network over NATS: nick claims in a JetStream
 * key-value bucket, room messages, DMs and presence on subjects. libnats runs its callbacks
 * on its own threads; they only queue events, which the relay's loop handles. */
#ifndef SOCKIT_RELAY_NATS_H
#define SOCKIT_RELAY_NATS_H

#include <stdbool.h>
#include <stddef.h>

struct relay;
struct relay_client;
struct relay_nats;

/* A user on another instance, as presence told us. */
struct relay_remote {
	char nick[31];
	char user[17];
	char host[65];
	char real[65];
	char away[201];     /* "" when here */
	char rooms[50][51]; /* folded room names */
	size_t nrooms;
	unsigned origin; /* index of its instance */
};

/* Connects in the background (retrying); NULL with err on a bad URL or no memory. */
struct relay_nats *relay_nats_new(struct relay *r, const char *url, unsigned nick_ttl_ms, char *err,
				  size_t errlen);
void relay_nats_free(struct relay_nats *n);

/* Claim a folded nick network-wide: 0, -EEXIST if another instance holds it, -EAGAIN if
 * NATS is unreachable (then the claim is local only, as the guarantees say). */
int relay_nats_claim(struct relay_nats *n, const char *fold);
/* Only for a nick this relay claimed (its key holds our id). */
void relay_nats_release(struct relay_nats *n, const char *fold);

/* Tell the other instances. line is a formatted body with CRLF, or NULL for silent state. */
void relay_nats_user(struct relay_nats *n, const struct relay_client *cl);
void relay_nats_join(struct relay_nats *n, const struct relay_client *cl, const char *room_fold,
		     const char *room_name, const char *line, size_t len);
void relay_nats_away(struct relay_nats *n, const struct relay_client *cl);
struct relay_room;
void relay_nats_topic(struct relay_nats *n, const struct relay_room *room, const char *line);
/* A room new here takes the topic other relays announced for it. */
void relay_nats_topic_fill(struct relay_nats *n, struct relay_room *room);
void relay_nats_part(struct relay_nats *n, const struct relay_client *cl, const char *room_fold,
		     const char *line, size_t len);
void relay_nats_quit(struct relay_nats *n, const struct relay_client *cl, const char *line,
		     size_t len);
void relay_nats_nick(struct relay_nats *n, const char *old_fold, const struct relay_client *cl,
		     const char *line, size_t len);
void relay_nats_room_message(struct relay_nats *n, const char *room_fold, const char *line,
			     size_t len, long long time_ms);
void relay_nats_dm(struct relay_nats *n, const char *nick_fold, const char *line, size_t len,
		   long long time_ms);

/* Room history and offline DMs in JetStream, shared by every relay. The fetches fill
 * ring (cap: --history or --offline-max) and return 0, or -EAGAIN when JetStream is not
 * reachable (the caller then uses its own memory). */
struct relay_ring;
void relay_nats_history_add(struct relay_nats *n, const char *room_fold, const char *line,
			    long long time_ms);
int relay_nats_history(struct relay_nats *n, const char *room_fold, struct relay_ring *ring);
/* 0, -ENOSPC when that nick's queue is full, -EAGAIN without JetStream. */
int relay_nats_offline_push(struct relay_nats *n, const char *fold, const char *line,
			    long long time_ms);
/* Takes (and removes) a nick's stored DMs. */
int relay_nats_offline_take(struct relay_nats *n, const char *fold, struct relay_ring *ring);
/* Nicks that registered once on any relay: offline DMs are kept only for them. */
void relay_nats_seen_add(struct relay_nats *n, const char *fold);
bool relay_nats_seen(struct relay_nats *n, const char *fold);

/* Users on other instances. */
const struct relay_remote *relay_nats_find(const struct relay_nats *n, const char *fold);
void relay_nats_each(const struct relay_nats *n,
		     void (*fn)(const struct relay_remote *u, void *arg), void *arg);
bool relay_remote_in(const struct relay_remote *u, const char *room_fold);
/* How many users on other relays are in the room. */
size_t relay_nats_count_in(const struct relay_nats *n, const char *room_fold);
/* Rooms that users on other relays are in: fn(name, fold, how many of them). */
void relay_nats_each_room(const struct relay_nats *n,
			  void (*fn)(const char *name, const char *fold, size_t count, void *arg),
			  void *arg);

#endif
