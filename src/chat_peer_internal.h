/* chat_peer_internal.h - what `sockit chat`'s peer (chat_peer.c: the socket and the run)
 * shares with what the user types (chat_input.c), its command line (chat_options.c) and its
 * contact book (chat_book.c). Nothing else includes it. */
#ifndef SOCKIT_CHAT_PEER_INTERNAL_H
#define SOCKIT_CHAT_PEER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "addr.h"
#include "buf.h"
#include "contacts.h"
#include "ev.h"

#define LABEL_MAX      (ADDR_TEXT_MAX + CONTACT_NAME_MAX + 64)
#define HELD_INPUT_MAX (64 * 1024) /* lines typed while a recipient is looked up */

/* Someone to send to or hear from, and what the user calls them. */
struct peer_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char label[LABEL_MAX]; /* the contact's name, or "udp:HOST:PORT" as typed */
};

struct resolve_async;
struct resolve_answer;

/* ---- the peer: its socket and its run, chat_peer.c ---- */

struct chat_peer {
	struct ev_loop *loop;
	int fd;
	struct chat_book *book;
	const char *book_file;
	bool asking_contact; /* the seed client's "choose a contact" question is up */
	bool have_to;        /* an explicit recipient: --to, /to or a chosen contact */
	struct peer_addr to;
	bool have_last; /* the last sender, whom a line answers when there is no recipient */
	struct peer_addr last;
	size_t max_message;
	long linger_ms;
	bool colour;
	struct ev_timer linger;
	struct dgram_guard *guard; /* a flooding sender must not scroll everyone else away */
	unsigned rate;
	unsigned long dropped; /* since the last report */
	struct ev_timer drop_notice;
	/* A recipient's host name (/to HOST:PORT, or a contact's) is looked up off the loop; lines
	 * typed meanwhile wait (in order, up to HELD_INPUT_MAX) for the new recipient, and so does
	 * the end of input. The book's own lookups share the resolver. */
	struct resolve_async *resolver;
	int lookup_id; /* the lookup waited for; 0: none */
	char lookup_label[LABEL_MAX];
	struct buf held; /* NUL-terminated lines */
	bool held_eof;
	int rc;
};

/* Leaves the loop; cmd_chat returns rc. */
void chat_peer_finish(struct chat_peer *cp, int rc);
/* Sends a message to the recipient, else to the last sender; a notice if it cannot. */
void chat_peer_send(struct chat_peer *cp, const char *text, size_t len);

/* ---- what the user types: chat_input.c ---- */

/* The chat UI's on_line and on_eof (data is the struct chat_peer). */
void chat_input_on_line(void *data, const char *line);
void chat_input_on_eof(void *data);
/* The resolver's answers (data is the struct chat_peer). */
void chat_input_on_lookup_done(void *data, const struct resolve_answer *answer);
/* The prompt for where the peer is: looking up, choosing a contact, replying, messaging. */
void chat_input_update_prompt(struct chat_peer *cp);
/* A contact's name, else udp:HOST:PORT, to out: 0, or -1 after telling the user why. Once
 * the resolver exists a host name is looked up off the loop: 1, and the lines typed until
 * the answer comes to chat_input_on_lookup_done wait for it. Before, the lookup blocks. */
int chat_input_resolve_target(struct chat_peer *cp, const char *text, struct peer_addr *out);

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
