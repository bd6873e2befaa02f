/* chat_peer_internal.h - what `sockit chat`'s peer (chat_peer.c) shares with its command line
 * (chat_options.c) and its contact book (chat_book.c). Nothing else includes it. */
#ifndef SOCKIT_CHAT_PEER_INTERNAL_H
#define SOCKIT_CHAT_PEER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "addr.h"
#include "contacts.h"

#define LABEL_MAX (ADDR_TEXT_MAX + CONTACT_NAME_MAX + 64)

/* Someone to send to or hear from, and what the user calls them. */
struct peer_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char label[LABEL_MAX]; /* the contact's name, or "udp:HOST:PORT" as typed */
};

/* ---- the command line: chat_options.c ---- */

struct chat_args {
	const char *listen;
	const char *to;
	const char *contacts_file; /* NULL: the default book, which need not exist */
	const char *server;        /* IRC mode, with nick */
	const char *nick;
	size_t max_message;
	long linger_ms;
	unsigned rate;
};

/* Fills args (defaults first) and adds each --contact to book. --help exits 0, a bad
 * command line exits 64. */
void chat_args_parse(struct chat_args *args, struct contact_book *book, int argc, char **argv);

/* $XDG_CONFIG_HOME/sockit/contacts, else ~/.config/sockit/contacts. */
void chat_default_contacts_file(char *out, size_t outlen);

/* ---- the contact book and its addresses: chat_book.c ----
 * A contact written with an address is known at once. One written with a host name is looked
 * up off the loop, a few at a time in book order, so that a stale name or a slow DNS server
 * keeps the user from no one else; a failed lookup is a notice, and choosing that contact
 * tries again. */

enum chat_contact_state {
	CHAT_CONTACT_KNOWN,      /* addr holds its address */
	CHAT_CONTACT_QUEUED,     /* a host name waiting for its turn to be looked up */
	CHAT_CONTACT_LOOKING_UP, /* lookup_id is running */
	CHAT_CONTACT_FAILED,     /* its last lookup failed (the user was told why) */
};

struct chat_contact {
	enum chat_contact_state state;
	int lookup_id;
	struct peer_addr addr; /* labelled with the contact's name */
};

struct resolve_async;
struct resolve_answer;

struct chat_book {
	struct contact_book contacts;
	struct chat_contact entry[CONTACTS_MAX]; /* parallel to contacts.list */
	struct resolve_async *resolver;          /* NULL until the loop runs: lookups block */
	size_t looking_up;                       /* entries in CHAT_CONTACT_LOOKING_UP */
};

/* Adds the book in file to book. The default book is optional (required false: a missing
 * file is an empty book); one named with --contacts must exist. 0, or -1 after saying why. */
int chat_book_load(struct chat_book *book, const char *file, bool required);

/* Once every contact is in: each address is known at once, each host name is queued. */
void chat_book_resolve_numeric(struct chat_book *book);

/* From now on lookups go to resolver, which hands its answers to chat_book_take_answer;
 * the queued host names start being looked up. */
void chat_book_start_lookups(struct chat_book *book, struct resolve_async *resolver);

/* The index of the contact called name, or -1. */
int chat_book_find(const struct chat_book *book, const char *name);

/* Contact i is chosen: 0 when its address is known (before chat_book_start_lookups, after a
 * lookup that blocks), the id of the lookup to wait for (> 0), or -1 after a notice saying
 * why not. A contact still queued, or whose lookup failed, is looked up now. */
int chat_book_resolve(struct chat_book *book, size_t i);

/* An answer from the resolver. A contact's is recorded (a failure as a notice) and the next
 * queued lookup started: the contact's index. Another's: -1. */
int chat_book_take_answer(struct chat_book *book, const struct resolve_answer *answer);

/* The name of the contact whose known address is sa, or NULL. */
const char *chat_book_name_at(const struct chat_book *book, const struct sockaddr *sa);

#endif
