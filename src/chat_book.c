/* chat_book.c - `sockit chat`'s contact book: read from its file, each contact's address
 * resolved. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "net.h"

#include "chat_peer_internal.h"

int chat_book_load(struct chat_book *book, const char *file, bool required)
{
	char err[CONTACTS_ERR_LEN];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (!required && errno == ENOENT)
			return 0;
		cli_error("open %s: %s", file, strerror(errno)); /* what failed, where, why */
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

int chat_book_resolve_all(struct chat_book *book)
{
	char err[NET_ERR_LEN];
	for (size_t i = 0; i < book->contacts.count; i++) {
		const struct contact *c = &book->contacts.list[i];
		struct peer_addr *pa = &book->addrs[i];
		snprintf(pa->label, sizeof(pa->label), "%s", c->name);
		if (net_resolve(&c->spec, &pa->ss, &pa->len, err, sizeof(err)) < 0) {
			cli_error(_("contact '%s': %s"), c->name, err);
			return -1;
		}
	}
	return 0;
}
