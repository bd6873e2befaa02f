/* chat_text.h - the chat's text: incoming messages rendered safe, typed lines parsed. Pure. */
#ifndef SOCKIT_CHAT_TEXT_H
#define SOCKIT_CHAT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "escape.h"

/* The seed's highlight for message text: bold on blue. */
#define CHAT_COLOUR_ON  "\033[1;44m"
#define CHAT_COLOUR_OFF "\033[0m"

/* Room chat_text_render needs for a label and len bytes of text. */
#define CHAT_RENDER_MAX(labellen, len)                                                             \
	(ESCAPE_MAX(labellen) + ESCAPE_MAX(len) + sizeof(CHAT_COLOUR_ON CHAT_COLOUR_OFF) + 1)

/* Colour only on a terminal, and never when NO_COLOR is set to anything (no-color.org). */
bool chat_text_want_colour(bool stdout_is_tty, const char *no_color_env);

/* One display line: the label (trusted, with its own separator, e.g. "alex: " or the
 * translated "Message from [1.2.3.4:5]: "), then text from the network escaped (controls
 * as \x1b, bad UTF-8 as U+FFFD, so it is one line and cannot drive the terminal), wrapped
 * in CHAT_COLOUR_ON/OFF when colour is set. No newline. Returns the length written; the
 * output is always NUL-terminated. */
size_t chat_text_render(char *out, size_t outlen, const char *label, const void *text, size_t len,
			bool colour);

enum chat_input_kind {
	CHAT_INPUT_EMPTY,    /* nothing but spaces */
	CHAT_INPUT_MESSAGE,  /* text to send (a leading "//" sends a literal "/") */
	CHAT_INPUT_TO,       /* "/to NAME_OR_ADDR": arg is the target */
	CHAT_INPUT_HELP,     /* "/help" */
	CHAT_INPUT_CONTACTS, /* "/contacts" */
	CHAT_INPUT_QUIT,     /* "/quit": leave the program */
	CHAT_INPUT_BACK,     /* "quit": back to choosing a contact, as in the seed client */
	CHAT_INPUT_BAD,      /* an unknown command, or /to without its argument: arg is why */
};

struct chat_input {
	enum chat_input_kind kind;
	const char *arg; /* MESSAGE: the text; TO: the target; BAD: a reason (gettext msgid) */
	size_t len;      /* of arg */
};

/* Parses one typed line, stripped of surrounding ASCII whitespace like the seed's
 * input().strip(). arg points into line. */
struct chat_input chat_text_parse_input(const char *line);

#endif
