/* chat_input.c - what the user of `sockit chat` types: messages, commands, and choosing a
 * recipient (a contact, or an address whose host name is looked up while the lines typed
 * meanwhile wait); the prompt that goes with it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "chat_text.h"
#include "chat_ui.h"
#include "ev.h"
#include "i18n.h"
#include "net.h"
#include "resolve_async.h"

#include "chat_peer_internal.h"

static void show_help(void)
{
	chat_ui_info("%s", _("/to NAME|ADDR  talk to a contact or an address (udp:HOST:PORT)\n"
			     "/contacts      list the contacts\n"
			     "/quit          leave (Ctrl-D too)\n"
			     "quit           back to choosing a contact\n"
			     "//TEXT         send a line that starts with /"));
}

void chat_input_update_prompt(struct chat_peer *cp)
{
	char text[LABEL_MAX + 64];
	if (cp->lookup_id != 0 && chat_ui_is_interactive()) { /* plain mode: as input() did */
		snprintf(text, sizeof(text), _("Looking up %s... "), cp->lookup_label);
		chat_ui_set_prompt(text);
	} else if (cp->asking_contact)
		chat_ui_set_prompt(_("Choose a contact: "));
	else if (!cp->have_to && cp->have_last)
		chat_ui_set_prompt(_("Reply: "));
	else
		chat_ui_set_prompt(_("Message (Enter to send): "));
}

/* Lines typed from now on wait for lookup id's answer (chat_input_on_lookup_done). */
static void wait_for_lookup(struct chat_peer *cp, int id, const char *label)
{
	cp->lookup_id = id;
	snprintf(cp->lookup_label, sizeof(cp->lookup_label), "%s", label);
}

/* A name from the book, else an address. 0, or -1 after telling the user why. With the
 * resolver (on the loop), a host name is looked up off the loop: 1, and the answer comes to
 * chat_input_on_lookup_done. */
int chat_input_resolve_target(struct chat_peer *cp, const char *text, struct peer_addr *out)
{
	int contact = chat_book_find(cp->book, text);
	if (contact >= 0) {
		int id = chat_book_resolve(cp->book, (size_t)contact);
		if (id < 0)
			return -1;
		if (id > 0) {
			wait_for_lookup(cp, id, text);
			return 1;
		}
		*out = cp->book->entry[contact].addr;
		return 0;
	}
	char shown[ESCAPE_MAX(CONTACTS_LINE_MAX)], err[NET_ERR_LEN];
	struct addr_spec spec;
	escape_text(shown, sizeof(shown), text, strlen(text));
	if (strchr(text, ':') == NULL || addr_parse(text, ADDR_UDP, &spec, err, sizeof(err)) < 0 ||
	    spec.host[0] == '\0' || spec.port == 0) {
		chat_ui_notice(_("unknown contact '%s' (see /contacts, or give udp:HOST:PORT)"),
			       shown);
		return -1;
	}
	if (spec.transport != ADDR_UDP) {
		chat_ui_notice(_("'%s' is not a udp address"), shown);
		return -1;
	}
	addr_format(&spec, out->label, sizeof(out->label));
	if (net_resolve_numeric(&spec, &out->ss, &out->len) == 0)
		return 0;
	if (cp->resolver != NULL) {
		int id = resolve_async_start(cp->resolver, &spec);
		if (id < 0) {
			chat_ui_notice(_("look up %s: %s"), out->label, strerror(-id));
			return -1;
		}
		wait_for_lookup(cp, id, out->label);
		return 1;
	}
	if (net_resolve(&spec, &out->ss, &out->len, err, sizeof(err)) < 0) {
		chat_ui_notice("%s", err);
		return -1;
	}
	return 0;
}

/* What /contacts adds after a host name: why a message to it may wait, or not go. */
static const char *state_note(enum chat_contact_state state)
{
	switch (state) {
	case CHAT_CONTACT_KNOWN:
		return "";
	case CHAT_CONTACT_QUEUED:
		return _(" (not looked up yet)");
	case CHAT_CONTACT_LOOKING_UP:
		return _(" (looking up)");
	case CHAT_CONTACT_FAILED:
		return _(" (lookup failed)");
	}
	return "";
}

void chat_input_on_line(void *data, const char *line)
{
	struct chat_peer *cp = data;
	if (cp->lookup_id != 0) {
		if (buf_append(&cp->held, line, strlen(line) + 1) < 0)
			chat_ui_notice(_("still looking up %s; line not sent"), cp->lookup_label);
		return;
	}
	struct chat_input in = chat_text_parse_input(line);
	char target[CONTACTS_LINE_MAX + 1];
	struct peer_addr to;
	switch (in.kind) {
	case CHAT_INPUT_EMPTY:
	case CHAT_INPUT_BAD:
	case CHAT_INPUT_HELP:
		chat_ui_answer_basic(&in, show_help);
		return;
	case CHAT_INPUT_CONTACTS:
		if (cp->book->contacts.count == 0)
			chat_ui_info(_("no contacts (add 'NAME ADDR' lines to %s, or use --contact "
				       "NAME=ADDR)"),
				     cp->book_file);
		for (size_t i = 0; i < cp->book->contacts.count; i++) {
			char addr[ADDR_TEXT_MAX];
			addr_format(&cp->book->contacts.list[i].spec, addr, sizeof(addr));
			chat_ui_info("%s %s%s", cp->book->contacts.list[i].name, addr,
				     state_note(cp->book->entry[i].state));
		}
		return;
	case CHAT_INPUT_QUIT:
		chat_peer_finish(cp, 0);
		return;
	case CHAT_INPUT_BACK:
		if (chat_ui_is_interactive() && cp->book->contacts.count > 0) {
			cp->asking_contact = true;
			cp->have_to = false;
			chat_input_update_prompt(cp);
		} else {
			chat_peer_finish(cp, 0);
		}
		return;
	case CHAT_INPUT_TO:
	case CHAT_INPUT_MESSAGE:
		if (in.kind == CHAT_INPUT_MESSAGE && !cp->asking_contact) {
			chat_peer_send(cp, in.arg, in.len);
			return;
		}
		if (in.len > CONTACTS_LINE_MAX) {
			chat_ui_notice("%s", _("no contact or address is that long"));
			return;
		}
		memcpy(target, in.arg, in.len);
		target[in.len] = '\0';
		if (chat_input_resolve_target(cp, target, &to) == 0) {
			cp->to = to;
			cp->have_to = true;
			cp->asking_contact = false;
		}
		chat_input_update_prompt(cp);
		return;
	}
}

void chat_input_on_eof(void *data)
{
	struct chat_peer *cp = data;
	if (cp->lookup_id != 0) {
		cp->held_eof = true;
		return;
	}
	if (chat_ui_is_interactive() || cp->linger_ms == 0) {
		chat_peer_finish(cp, 0);
		return;
	}
	/* no memory for the timer: leave now rather than linger forever */
	if (ev_timer_start(cp->loop, &cp->linger, (uint64_t)cp->linger_ms) < 0)
		chat_peer_finish(cp, 0);
}

/* A contact's answer goes to the book. The one the user waits for (a /to host name, or a
 * chosen contact's) makes the new recipient, or says why not; then the lines typed meanwhile
 * go, in order. */
void chat_input_on_lookup_done(void *data, const struct resolve_answer *answer)
{
	static char line[HELD_INPUT_MAX]; /* a held line and its NUL fit, or were not held */
	struct chat_peer *cp = data;
	int contact = chat_book_take_answer(cp->book, answer);
	if (answer->id != cp->lookup_id)
		return;
	cp->lookup_id = 0;
	if (answer->ok) {
		if (contact >= 0) {
			cp->to = cp->book->entry[contact].addr;
		} else {
			cp->to.ss = answer->ss;
			cp->to.len = answer->len;
			snprintf(cp->to.label, sizeof(cp->to.label), "%s", cp->lookup_label);
		}
		cp->have_to = true;
		cp->asking_contact = false;
	} else if (contact < 0) { /* a contact's failure the book has told already */
		chat_ui_notice("%s", answer->err);
	}
	chat_input_update_prompt(cp);
	/* until one starts another lookup, or ends the chat (a held /quit: what follows it
	 * was typed after the user left) */
	while (cp->lookup_id == 0 && cp->rc < 0 && buf_len(&cp->held) > 0) {
		/* a copy: chat_input_on_line may hold lines again, moving the buffer */
		size_t len = strnlen((const char *)buf_head(&cp->held), buf_len(&cp->held));
		memcpy(line, buf_head(&cp->held), len);
		line[len] = '\0';
		buf_consume(&cp->held, len + 1);
		chat_input_on_line(cp, line);
	}
	buf_shrink_if_empty(&cp->held);
	if (cp->lookup_id == 0 && cp->rc < 0 && cp->held_eof) {
		cp->held_eof = false;
		chat_input_on_eof(cp);
	}
}
