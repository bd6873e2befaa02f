/* contacts.h - the chat's contact book: "NAME ADDR" lines and --contact NAME=ADDR. Pure. */
#ifndef SOCKIT_CONTACTS_H
#define SOCKIT_CONTACTS_H

#include <stddef.h>

#include "addr.h"

#define CONTACT_NAME_MAX  64   /* bytes of UTF-8, e.g. the seed's "狗哥alex" is 10 */
#define CONTACTS_MAX      256  /* entries in one book */
#define CONTACTS_LINE_MAX 1024 /* bytes in one line of the file */
#define CONTACTS_FILE_MAX (CONTACTS_MAX * 64) /* bytes in the whole file */
#define CONTACTS_ERR_LEN  (ADDR_TEXT_MAX + 256)

struct contact {
	char name[CONTACT_NAME_MAX + 1];
	struct addr_spec spec; /* always ADDR_UDP */
};

struct contact_book {
	size_t count;
	struct contact list[CONTACTS_MAX];
};

/* Parses a whole contact book: one "NAME ADDR" per line, blank lines and lines starting
 * with '#' ignored. ADDR is udp:HOST:PORT or HOST:PORT. NAME is printable UTF-8 without
 * spaces, '=' or a leading '/'. Adds to book; returns 0, or -1 with "FILE:LINE: reason" in
 * err (nothing after the bad line is added). */
int contacts_parse_text(struct contact_book *book, const char *text, size_t len,
			const char *filename, char *err, size_t errlen);

/* Adds one contact written "NAME=ADDR" (the --contact option). 0, or -1 with a reason. */
int contacts_parse_option(struct contact_book *book, const char *arg, char *err, size_t errlen);

/* The contact called name, or NULL. */
const struct contact *contacts_find(const struct contact_book *book, const char *name);

#endif
