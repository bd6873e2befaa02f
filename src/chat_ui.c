/* chat_ui.c - line input beside incoming messages: libedit's callback interface on a
 * terminal, plain lines otherwise; both driven by the event loop. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "chat_text.h"
#include "chat_ui.h"
#include "i18n.h"

#define PROMPT_MAX 256
#define READ_CHUNK 4096

/* libedit's readline API keeps its state in globals, so the UI is one per process too. */
static struct {
	struct ev_loop *loop;
	const struct chat_ui_ops *ops;
	void *data;
	bool started;
	bool interactive;
	bool reading;        /* stdin is still watched */
	bool in_handler;     /* inside a libedit line callback: no prompt on screen to redraw */
	bool remove_pending; /* stopped inside the callback: remove the handler after it */
	bool line_done;      /* the callback ran during this read */
	char prompt[PROMPT_MAX];
	/* plain mode: the line being assembled, and whether we are skipping an over-long one */
	char *line;
	size_t line_len;
	bool skipping;
} ui;

bool chat_ui_is_interactive(void)
{
	return ui.started && ui.interactive;
}

static void stop_reading(void)
{
	if (!ui.reading)
		return;
	ui.reading = false;
	ev_io_stop(ui.loop, STDIN_FILENO);
	if (ui.interactive && !ui.in_handler) { /* e.g. Ctrl-C: keep the half line, end it */
		fputc('\n', stdout);
		fflush(stdout);
	}
	/* libedit re-enters raw mode when a line callback returns, so removing the handler
	 * (which restores the terminal) has to wait until then. */
	if (ui.interactive && ui.in_handler)
		ui.remove_pending = true;
	else if (ui.interactive)
		rl_callback_handler_remove();
}

/* ---- interactive: libedit ---- */

static void on_rl_line(char *line)
{
	ui.in_handler = true;
	ui.line_done = true;
	if (line == NULL) {
		fputc('\n', stdout); /* leave the terminal on a fresh line after Ctrl-D */
		fflush(stdout);
		stop_reading();
		ui.ops->on_eof(ui.data);
	} else {
		if (line[strspn(line, " \t")] != '\0')
			add_history(line);
		ui.ops->on_line(ui.data, line);
		free(line);
	}
	ui.in_handler = false;
}

static void on_tty_readable(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)loop, (void)fd, (void)data, (void)events;
	ui.line_done = false;
	rl_callback_read_char();
	if (ui.remove_pending) {
		ui.remove_pending = false;
		rl_callback_handler_remove();
	} else if (ui.line_done && ui.reading) {
		/* Some libedit versions leave unbuffered (character at a time) mode after a line,
		 * so the next read would block for a whole line: installing again restores it,
		 * clears the old line and draws the prompt (a no-op where it was not left). */
		rl_callback_handler_install(ui.prompt, on_rl_line);
	}
}

/* Clear the line being edited, from its row to the end of the screen, so something can be
 * printed where it was. Of a line that has wrapped only the rows above the cursor stay (the
 * readline API does not say where the line starts); a redraw follows anyway. */
static void hide_edit_line(void)
{
	if (ui.reading && ui.interactive && !ui.in_handler) {
		fputs("\r\033[J", stdout);
		fflush(stdout);
	}
}

static void redraw_edit_line(void)
{
	if (ui.reading && ui.interactive && !ui.in_handler)
		rl_forced_update_display();
}

/* ---- plain: lines from a pipe or file ---- */

/* Like Python's input() off a terminal: the prompt is still shown, without a newline, but on
 * stderr, so stdout stays one line per message for scripts. */
static void plain_prompt(void)
{
	if (ui.reading && ui.prompt[0] != '\0') {
		fputs(ui.prompt, stderr);
		fflush(stderr);
	}
}

static void deliver_plain_line(void)
{
	ui.line[ui.line_len] = '\0';
	ui.line_len = 0;
	ui.ops->on_line(ui.data, ui.line);
	plain_prompt();
}

static void feed_plain(const char *p, size_t n)
{
	while (n > 0 && ui.reading) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl != NULL ? (size_t)(nl - p) : n;
		if (!ui.skipping && ui.line_len + take > CHAT_UI_LINE_MAX) {
			chat_ui_notice(_("input line over %d bytes ignored"), CHAT_UI_LINE_MAX);
			ui.skipping = true;
			ui.line_len = 0;
		}
		if (!ui.skipping) {
			memcpy(ui.line + ui.line_len, p, take);
			ui.line_len += take;
		}
		if (nl == NULL)
			return;
		if (ui.skipping)
			ui.skipping = false;
		else
			deliver_plain_line();
		p += take + 1;
		n -= take + 1;
	}
}

static void plain_eof(void)
{
	if (ui.line_len > 0 && !ui.skipping)
		deliver_plain_line(); /* a last line without its newline still counts */
	if (ui.reading) {
		stop_reading();
		ui.ops->on_eof(ui.data);
	}
}

static void on_plain_readable(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)loop, (void)data, (void)events;
	char buf[READ_CHUNK];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n < 0)
		chat_ui_notice("read stdin: %s", strerror(errno));
	if (n <= 0) {
		plain_eof();
		return;
	}
	feed_plain(buf, (size_t)n);
}

/* ---- the interface ---- */

int chat_ui_start(struct ev_loop *loop, bool interactive, const struct chat_ui_ops *ops, void *data,
		  char *err, size_t errlen)
{
	ui.loop = loop;
	ui.ops = ops;
	ui.data = data;
	ui.interactive = interactive;
	if (!interactive) {
		ui.line = malloc(CHAT_UI_LINE_MAX + 1);
		if (ui.line == NULL) {
			snprintf(err, errlen, _("out of memory"));
			return -ENOMEM;
		}
	}
	int rc = ev_io_start(loop, STDIN_FILENO, EV_READ,
			     interactive ? on_tty_readable : on_plain_readable, NULL);
	if (rc == -EPERM && !interactive) {
		/* a regular file (or /dev/null) cannot be polled, and never blocks: read it all */
		ui.started = ui.reading = true;
		char buf[READ_CHUNK];
		ssize_t n;
		plain_prompt();
		while (ui.reading && (n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
			feed_plain(buf, (size_t)n);
		plain_eof();
		return 0;
	}
	if (rc < 0) {
		snprintf(err, errlen, _("watch stdin: %s"), strerror(-rc));
		free(ui.line);
		ui.line = NULL;
		return rc;
	}
	ui.started = ui.reading = true;
	if (!interactive)
		plain_prompt();
	if (interactive) {
		rl_catch_signals = 0; /* the loop handles SIGINT and SIGTERM and restores the tty */
		rl_instream = stdin;
		rl_outstream = stdout;
		rl_callback_handler_install(ui.prompt, on_rl_line);
	}
	return 0;
}

void chat_ui_set_prompt(const char *prompt)
{
	snprintf(ui.prompt, sizeof(ui.prompt), "%s", prompt);
	if (ui.reading && ui.interactive) {
		rl_set_prompt(ui.prompt);
		if (!ui.in_handler) {
			hide_edit_line();
			redraw_edit_line();
		}
	}
}

void chat_ui_show(const char *line)
{
	hide_edit_line();
	fputs(line, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	redraw_edit_line();
}

void chat_ui_notice(const char *fmt, ...)
{
	hide_edit_line();
	va_list ap;
	va_start(ap, fmt);
	fputs("sockit: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(stderr);
	redraw_edit_line();
}

void chat_ui_info(const char *fmt, ...)
{
	hide_edit_line();
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(stderr);
	redraw_edit_line();
}

void chat_ui_stop(void)
{
	if (!ui.started)
		return;
	stop_reading();
	free(ui.line);
	ui.line = NULL;
	ui.started = false;
}

void chat_ui_answer_basic(const struct chat_input *in, void (*show_help)(void))
{
	if (in->kind == CHAT_INPUT_BAD)
		chat_ui_notice("%s", _(in->arg));
	else if (in->kind == CHAT_INPUT_HELP)
		show_help();
}
