/* chat_book.c - `sockit chat`'s contact book: read from its file, and each contact's address,
 * known at once or looked up off the loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat_ui.h"
#include "cli.h"
#include "i18n.h"
#include "net.h"
#include "resolve_async.h"

#include "chat_peer_internal.h"

/* Lookups the book runs at once: one of the resolver's stays free for what the user asks for
 * (a /to HOST:PORT, or a contact chosen before its turn), so a book of slow names never
 * makes the user wait for a slot. */
#define BOOK_LOOKUPS_MAX (RESOLVE_ASYNC_MAX - 1)

int chat_book_load(struct chat_book *book, const char *file, bool required)
{
	char err[CONTACTS_ERR_LEN];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (!required && errno == ENOENT)
			return 0;
		cli_error("open %s: %s", file, strerror(errno));
		return -1;
	}
	char *text = malloc(CONTACTS_FILE_MAX + 1);
	size_t len = 0;
	ssize_t n = 0;
	while (text != NULL && len <= CONTACTS_FILE_MAX &&
	       (n = read(fd, text + len, CONTACTS_FILE_MAX + 1 - len)) > 0)
		len += (size_t)n;
	int e = errno;
	close(fd);
	int rc = -1;
	if (text == NULL)
		cli_error(_("%s: out of memory"), file);
	else if (n < 0)
		cli_error("read %s: %s", file, strerror(e));
	else if (len > CONTACTS_FILE_MAX)
		cli_error(_("%s: over %d bytes"), file, CONTACTS_FILE_MAX);
	else if (contacts_parse_text(&book->contacts, text, len, file, err, sizeof(err)) < 0)
		cli_error("%s", err);
	else
		rc = 0;
	free(text);
	return rc;
}

void chat_book_resolve_numeric(struct chat_book *book)
{
	for (size_t i = 0; i < book->contacts.count; i++) {
		const struct contact *c = &book->contacts.list[i];
		struct chat_contact *e = &book->entry[i];
		snprintf(e->addr.label, sizeof(e->addr.label), "%s", c->name);
		e->state = net_resolve_numeric(&c->spec, &e->addr.ss, &e->addr.len) == 0
				   ? CHAT_CONTACT_KNOWN
				   : CHAT_CONTACT_QUEUED;
	}
}

/* Contact i's lookup failed: the chat goes on without it, and the user hears why. */
static void lookup_failed(struct chat_book *book, size_t i, const char *why)
{
	book->entry[i].state = CHAT_CONTACT_FAILED;
	chat_ui_notice(_("contact '%s': %s"), book->contacts.list[i].name, why);
}

/* The lookup's id, or -1 after a notice. */
static int start_lookup(struct chat_book *book, size_t i)
{
	const struct addr_spec *spec = &book->contacts.list[i].spec;
	int id = resolve_async_start(book->resolver, spec);
	if (id < 0) {
		char addr[ADDR_TEXT_MAX], why[NET_ERR_LEN];
		addr_format(spec, addr, sizeof(addr));
		snprintf(why, sizeof(why), _("look up %s: %s"), addr, strerror(-id));
		lookup_failed(book, i, why);
		return -1;
	}
	book->entry[i].state = CHAT_CONTACT_LOOKING_UP;
	book->entry[i].lookup_id = id;
	book->looking_up++;
	return id;
}

/* In book order: a queue of at most CONTACTS_MAX entries needs no structure of its own. */
static void start_queued(struct chat_book *book)
{
	for (size_t i = 0; i < book->contacts.count && book->looking_up < BOOK_LOOKUPS_MAX; i++) {
		if (book->entry[i].state == CHAT_CONTACT_QUEUED)
			start_lookup(book, i);
	}
}

void chat_book_start_lookups(struct chat_book *book, struct resolve_async *resolver)
{
	book->resolver = resolver;
	start_queued(book);
}

int chat_book_find(const struct chat_book *book, const char *name)
{
	const struct contact *c = contacts_find(&book->contacts, name);
	return c != NULL ? (int)(c - book->contacts.list) : -1;
}

int chat_book_resolve(struct chat_book *book, size_t i)
{
	struct chat_contact *e = &book->entry[i];
	switch (e->state) {
	case CHAT_CONTACT_KNOWN:
		return 0;
	case CHAT_CONTACT_LOOKING_UP:
		return e->lookup_id;
	case CHAT_CONTACT_QUEUED:
	case CHAT_CONTACT_FAILED: /* DNS may be back */
		break;
	}
	if (book->resolver != NULL)
		return start_lookup(book, i);
	/* before the loop: --to NAME, whose address the socket's family depends on */
	char why[NET_ERR_LEN];
	if (net_resolve(&book->contacts.list[i].spec, &e->addr.ss, &e->addr.len, why, sizeof(why)) <
	    0) {
		lookup_failed(book, i, why);
		return -1;
	}
	e->state = CHAT_CONTACT_KNOWN;
	return 0;
}

int chat_book_take_answer(struct chat_book *book, const struct resolve_answer *answer)
{
	for (size_t i = 0; i < book->contacts.count; i++) {
		struct chat_contact *e = &book->entry[i];
		if (e->state != CHAT_CONTACT_LOOKING_UP || e->lookup_id != answer->id)
			continue;
		book->looking_up--;
		if (answer->ok) {
			e->addr.ss = answer->ss;
			e->addr.len = answer->len;
			e->state = CHAT_CONTACT_KNOWN;
		} else {
			lookup_failed(book, i, answer->err);
		}
		start_queued(book);
		return (int)i;
	}
	return -1;
}

const char *chat_book_name_at(const struct chat_book *book, const struct sockaddr *sa)
{
	for (size_t i = 0; i < book->contacts.count; i++) {
		const struct chat_contact *e = &book->entry[i];
		if (e->state == CHAT_CONTACT_KNOWN &&
		    net_sockaddr_equal((const struct sockaddr *)&e->addr.ss, sa))
			return book->contacts.list[i].name;
	}
	return NULL;
}
