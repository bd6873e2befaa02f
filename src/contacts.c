/* contacts.c - parse the chat's contact book; strict, so a typo is reported, not guessed. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "contacts.h"
#include "escape.h"
#include "i18n.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A name must read the same on a terminal as in the file, so anything escape_text would
 * change (controls, invalid UTF-8, backslashes) is refused, as are separators. */
static int check_name(const char *name, size_t len, char *err, size_t errlen)
{
	char shown[ESCAPE_MAX(CONTACT_NAME_MAX)];
	if (len == 0) {
		snprintf(err, errlen, _("empty contact name"));
		return -1;
	}
	if (len > CONTACT_NAME_MAX) {
		snprintf(err, errlen, _("contact name of %zu bytes is over the %d-byte limit"), len,
			 CONTACT_NAME_MAX);
		return -1;
	}
	size_t n = escape_text(shown, sizeof(shown), name, len);
	if (n != len || memcmp(shown, name, len) != 0) {
		snprintf(err, errlen,
			 _("contact name '%s' has control characters or invalid UTF-8"), shown);
		return -1;
	}
	if (name[0] == '/' || name[0] == '#') {
		snprintf(err, errlen, _("contact name '%.*s' must not start with '%c'"), (int)len,
			 name, name[0]);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (is_blank(name[i]) || name[i] == '=') {
			snprintf(err, errlen, _("contact name '%.*s' must not contain '%c'"),
				 (int)len, name, name[i]);
			return -1;
		}
	}
	return 0;
}

static int add_contact(struct contact_book *book, const char *name, size_t namelen,
		       const char *addr, char *err, size_t errlen)
{
	if (check_name(name, namelen, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < book->count; i++) {
		if (strlen(book->list[i].name) == namelen &&
		    memcmp(book->list[i].name, name, namelen) == 0) {
			snprintf(err, errlen, _("contact '%.*s' is already defined"), (int)namelen,
				 name);
			return -1;
		}
	}
	if (book->count >= CONTACTS_MAX) {
		snprintf(err, errlen, _("more than %d contacts"), CONTACTS_MAX);
		return -1;
	}
	struct contact *c = &book->list[book->count];
	char why[ADDR_TEXT_MAX + 64];
	if (addr_parse(addr, ADDR_UDP, &c->spec, why, sizeof(why)) < 0) {
		snprintf(err, errlen, _("contact '%.*s': %s"), (int)namelen, name, why);
		return -1;
	}
	if (c->spec.transport != ADDR_UDP) {
		snprintf(err, errlen, _("contact '%.*s': '%s' is not a udp address"), (int)namelen,
			 name, addr);
		return -1;
	}
	if (c->spec.host[0] == '\0' || c->spec.port == 0) {
		snprintf(err, errlen, _("contact '%.*s': '%s' needs a host and a port"),
			 (int)namelen, name, addr);
		return -1;
	}
	memcpy(c->name, name, namelen);
	c->name[namelen] = '\0';
	book->count++;
	return 0;
}

/* One line without its newline: blank, a comment, or NAME ADDR. */
static int parse_line(struct contact_book *book, const char *line, size_t len, char *err,
		      size_t errlen)
{
	char addr[CONTACTS_LINE_MAX + 1];
	size_t i = 0;
	while (i < len && is_blank(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	size_t name_at = i;
	while (i < len && !is_blank(line[i]))
		i++;
	size_t namelen = i - name_at;
	while (i < len && is_blank(line[i]))
		i++;
	size_t addr_at = i;
	while (i < len && !is_blank(line[i]))
		i++;
	size_t addrlen = i - addr_at;
	while (i < len && is_blank(line[i]))
		i++;
	if (addrlen == 0) {
		snprintf(err, errlen, _("expected 'NAME ADDR', got only '%.*s'"), (int)namelen,
			 line + name_at);
		return -1;
	}
	if (i < len && line[i] != '#') {
		snprintf(err, errlen, _("unexpected '%.*s' after the address"), (int)(len - i),
			 line + i);
		return -1;
	}
	memcpy(addr, line + addr_at, addrlen);
	addr[addrlen] = '\0';
	return add_contact(book, line + name_at, namelen, addr, err, errlen);
}

int contacts_parse_text(struct contact_book *book, const char *text, size_t len,
			const char *filename, char *err, size_t errlen)
{
	char why[CONTACTS_ERR_LEN];
	size_t lineno = 0;
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t linelen = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
		lineno++;
		int rc;
		if (linelen > CONTACTS_LINE_MAX) {
			snprintf(why, sizeof(why), _("line of %zu bytes is over the %d-byte limit"),
				 linelen, CONTACTS_LINE_MAX);
			rc = -1;
		} else if (memchr(text + at, '\0', linelen) != NULL) {
			snprintf(why, sizeof(why), _("NUL byte in the line"));
			rc = -1;
		} else {
			rc = parse_line(book, text + at, linelen, why, sizeof(why));
		}
		if (rc < 0) {
			snprintf(err, errlen, "%s:%zu: %s", filename, lineno, why);
			return -1;
		}
		at += linelen + (nl != NULL);
	}
	return 0;
}

int contacts_parse_option(struct contact_book *book, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	if (eq == NULL) {
		snprintf(err, errlen, _("expected NAME=ADDR, got '%s'"), arg);
		return -1;
	}
	return add_contact(book, arg, (size_t)(eq - arg), eq + 1, err, errlen);
}

const struct contact *contacts_find(const struct contact_book *book, const char *name)
{
	for (size_t i = 0; i < book->count; i++) {
		if (strcmp(book->list[i].name, name) == 0)
			return &book->list[i];
	}
	return NULL;
}
