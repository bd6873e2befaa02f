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

/* ---- the contact book and its addresses: chat_book.c ---- */

struct chat_book {
	struct contact_book contacts;
	struct peer_addr addrs[CONTACTS_MAX]; /* parallel to contacts.list */
};

/* Adds the book in file to book. The default book is optional (required false: a missing
 * file is an empty book); one named with --contacts must exist. 0, or -1 after saying why. */
int chat_book_load(struct chat_book *book, const char *file, bool required);

/* Resolves every contact's address. 0, or -1 after saying which contact failed and why. */
int chat_book_resolve_all(struct chat_book *book);

#endif
