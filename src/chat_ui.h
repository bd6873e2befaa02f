/* chat_ui.h - the chat's terminal side: line input that keeps working while messages arrive.
 *
 * The UI knows nothing of the network. A transport (the UDP peer in chat_peer.c, an IRC
 * client, ...) plugs in with struct chat_ui_ops and drives it like this:
 *
 *	static const struct chat_ui_ops ops = {.on_line = my_line, .on_eof = my_eof};
 *	chat_ui_start(loop, isatty(0) && isatty(1), &ops, me);   -- watches stdin on loop
 *	chat_ui_set_prompt(_("Message (Enter to send): "));
 *	...on a message from the network: chat_text_render(buf, ..., label, text, len, colour);
 *	                                   chat_ui_show(buf);
 *	...on a local problem:             chat_ui_notice(_("unknown contact '%s'"), name);
 *	chat_ui_stop();                                          -- before leaving the loop
 *
 * Interactive mode (stdin and stdout terminals) edits the line with libedit's callback
 * interface; chat_ui_show() and chat_ui_notice() clear the line being edited, print, and
 * redraw the prompt and the half-typed text with the cursor where it was. Plain mode
 * (scripts, tests) reads stdin line by line, prints each prompt on stderr, writes each shown line
 * to stdout and each notice to stderr. libedit's readline API is process-wide, so there is
 * one UI per process. */
#ifndef SOCKIT_CHAT_UI_H
#define SOCKIT_CHAT_UI_H

#include <stdbool.h>

#include "ev.h"

#define CHAT_UI_LINE_MAX 65536 /* bytes of one input line in plain mode; longer are refused */

struct chat_ui_ops {
	/* A line the user entered, without its newline and not yet stripped (parse it with
	 * chat_text_parse_input). Valid only during the call. May call any chat_ui_ function. */
	void (*on_line)(void *data, const char *line);
	/* End of input: Ctrl-D on an empty line, or EOF on stdin. Input is no longer read. */
	void (*on_eof)(void *data);
};

/* Starts reading stdin on loop. 0, or -errno (with a reason in err). */
int chat_ui_start(struct ev_loop *loop, bool interactive, const struct chat_ui_ops *ops, void *data,
		  char *err, size_t errlen);
bool chat_ui_is_interactive(void);

/* The prompt for the next line (copied); redrawn at once if a line is being edited. Plain
 * mode prints it on stderr before each line it reads. */
void chat_ui_set_prompt(const char *prompt);

/* Prints one line (already made safe, e.g. by chat_text_render) on stdout, above the line
 * being edited. */
void chat_ui_show(const char *line);

/* Prints "sockit: ..." on stderr, above the line being edited. */
__attribute__((format(printf, 1, 2))) void chat_ui_notice(const char *fmt, ...);

/* Prints a line of information (help, the contact list) on stderr, above the edited line. */
__attribute__((format(printf, 1, 2))) void chat_ui_info(const char *fmt, ...);

struct chat_input;
/* Answers the input kinds every chat front treats alike: nothing for an empty line, a
 * notice with the reason for a bad one, the front's own help for /help. */
void chat_ui_answer_basic(const struct chat_input *in, void (*show_help)(void));

/* Stops reading stdin and gives the terminal back as it was. Safe to call twice. */
void chat_ui_stop(void);

#endif
