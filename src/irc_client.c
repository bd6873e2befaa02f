/* irc_client.c - `sockit chat --server ADDR --nick NAME`: the chat UI over IRC (sockit's
 * relay, ngircd, any ircd). One tcp connection on the event loop; lines typed go to the
 * current room or nick, and what arrives is shown escaped while the user types. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "chat_text.h"
#include "chat_ui.h"
#include "cli.h"
#include "escape.h"
#include "ev.h"
#include "i18n.h"
#include "irc_client.h"
#include "irc_msg.h"
#include "net.h"

#define CONNECT_TIMEOUT_MS 10000
#define IRC_DEFAULT_PORT   6667
#define OUTPUT_MAX         (1024 * 1024) /* unsent bytes before we give up on the server */
#define PENDING_MAX        (64 * 1024)   /* lines typed before the welcome, sent after it */
#define QUIT_WAIT_MS       2000          /* after QUIT, how long the server gets to close */
#define TARGET_MAX         64
#define NICK_RETRIES       5 /* "nick_" and so on when the nick is taken at registration */
#define LABEL_MAX          (ESCAPE_MAX(TARGET_MAX) * 2 + 16)

struct irc_client {
	struct ev_loop *loop;
	int fd;
	struct buf out;
	char in[IRC_LINE_MAX + 1];
	size_t inlen;
	bool skipping; /* the rest of an over-long line */
	struct buf pending;
	bool registered;
	int nick_tries;
	char nick[TARGET_MAX + 1];
	char target[TARGET_MAX + 1]; /* a #room or a nick; "" = none */
	char last[TARGET_MAX + 1];   /* who last sent us a DM, answered when no target */
	bool colour;
	bool quitting;
	struct ev_timer quit_timer;
	int rc;
};

static void finish(struct irc_client *ic, int rc)
{
	ic->rc = rc;
	chat_ui_stop();
	ev_loop_stop(ic->loop);
}

/* ---- output ---- */

static void flush_out(struct irc_client *ic)
{
	while (buf_len(&ic->out) > 0) {
		ssize_t n = send(ic->fd, buf_head(&ic->out), buf_len(&ic->out), MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(&ic->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		chat_ui_notice(_("send to the server: %s"), strerror(errno));
		finish(ic, EXIT_UNAVAIL);
		return;
	}
	ev_io_set(ic->loop, ic->fd, EV_READ | (buf_len(&ic->out) > 0 ? EV_WRITE : 0));
}

__attribute__((format(printf, 2, 3))) static void send_line(struct irc_client *ic, const char *fmt,
							    ...)
{
	char line[IRC_BODY_MAX * 2];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = irc_utf8_cut(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1,
				  IRC_BODY_MAX);
	if (buf_append(&ic->out, line, len) < 0 || buf_append(&ic->out, "\r\n", 2) < 0) {
		chat_ui_notice("%s", _("the server does not read what we send; leaving"));
		finish(ic, EXIT_UNAVAIL);
		return;
	}
	flush_out(ic);
}

/* ---- input from the user ---- */

static void show_help(void)
{
	chat_ui_info("%s", _("/join #ROOM     join a room and talk there\n"
			     "/part [#ROOM]   leave a room (the current one by default)\n"
			     "/to NICK|#ROOM  talk to a nick or a room\n"
			     "/msg NICK TEXT  send one message without changing who you talk to\n"
			     "/who            who is in the current room\n"
			     "/rooms          list the rooms\n"
			     "/quit           leave (Ctrl-D too)\n"
			     "//TEXT          send a line that starts with /"));
}

static void set_target(struct irc_client *ic, const char *t, size_t len)
{
	snprintf(ic->target, sizeof(ic->target), "%.*s", (int)len, t);
	char prompt[TARGET_MAX + 16];
	snprintf(prompt, sizeof(prompt), "[%s] ", ic->target);
	chat_ui_set_prompt(prompt);
}

static void send_text(struct irc_client *ic, const char *to, const char *text, size_t len)
{
	if (to[0] == '\0') {
		chat_ui_notice("%s", _("no one to talk to: /join #ROOM or /to NICK first"));
		return;
	}
	if (memchr(text, '\r', len) || memchr(text, '\n', len)) {
		chat_ui_notice("%s", _("a message cannot hold line breaks; not sent"));
		return;
	}
	send_line(ic, "PRIVMSG %s :%.*s", to, (int)len, text);
}

/* "/word rest": is line the IRC command word, and where does its argument start? */
static const char *irc_command(const char *line, const char *word)
{
	size_t n = strlen(word);
	if (strncmp(line, word, n) != 0 || (line[n] != '\0' && line[n] != ' '))
		return NULL;
	const char *arg = line + n;
	while (*arg == ' ')
		arg++;
	return arg;
}

static bool valid_target(const char *t)
{
	return t[0] != '\0' && strlen(t) <= TARGET_MAX && strpbrk(t, " ,\r\n") == NULL;
}

/* The commands IRC adds to the chat's own (/to, /help, /quit): true if line was one. */
static bool irc_input(struct irc_client *ic, const char *line)
{
	const char *arg;
	if ((arg = irc_command(line, "/join")) != NULL) {
		if (arg[0] != '#' || !valid_target(arg)) {
			chat_ui_notice("%s", _("/join needs a room: /join #ROOM"));
			return true;
		}
		send_line(ic, "JOIN %s", arg);
		set_target(ic, arg, strlen(arg));
	} else if ((arg = irc_command(line, "/part")) != NULL) {
		const char *room = arg[0] != '\0' ? arg : ic->target;
		if (room[0] != '#') {
			chat_ui_notice("%s", _("/part needs a room: /part #ROOM"));
			return true;
		}
		send_line(ic, "PART %s", room);
		if (strcmp(room, ic->target) == 0)
			set_target(ic, "", 0);
	} else if ((arg = irc_command(line, "/msg")) != NULL) {
		size_t nl = strcspn(arg, " ");
		const char *text = arg + nl;
		while (*text == ' ')
			text++;
		char to[TARGET_MAX + 1];
		snprintf(to, sizeof(to), "%.*s", (int)(nl < sizeof(to) ? nl : 0), arg);
		if (!valid_target(to) || text[0] == '\0') {
			chat_ui_notice("%s", _("/msg needs a nick and a text: /msg NICK TEXT"));
			return true;
		}
		send_text(ic, to, text, strlen(text));
	} else if ((arg = irc_command(line, "/who")) != NULL) {
		const char *what = arg[0] != '\0' ? arg : ic->target;
		if (what[0] == '\0') {
			chat_ui_notice("%s", _("/who needs a room: join one, or /who #ROOM"));
			return true;
		}
		send_line(ic, "WHO %s", what);
	} else if ((arg = irc_command(line, "/rooms")) != NULL) {
		send_line(ic, "LIST");
	} else if ((arg = irc_command(line, "/help")) != NULL && arg[0] == '\0') {
		show_help();
	} else {
		return false;
	}
	return true;
}

/* After our QUIT the server gets QUIT_WAIT_MS to close; with no memory for that timer we
 * leave at once rather than wait for a server that may never close. */
static void quit_wait(struct irc_client *ic)
{
	if (ev_timer_start(ic->loop, &ic->quit_timer, QUIT_WAIT_MS) < 0)
		finish(ic, 0);
}

static void handle_input(struct irc_client *ic, const char *line)
{
	struct chat_input in = chat_text_parse_input(line);
	if (in.kind == CHAT_INPUT_BAD || in.kind == CHAT_INPUT_HELP) {
		/* maybe one of IRC's commands: the stripped line, as chat_text sees it */
		char copy[CHAT_UI_LINE_MAX];
		const char *p = line + strspn(line, " \t");
		size_t len = strlen(p);
		while (len > 0 && strchr(" \t\r\n", p[len - 1]) != NULL)
			len--;
		snprintf(copy, sizeof(copy), "%.*s", (int)len, p);
		if (irc_input(ic, copy))
			return;
	}
	switch (in.kind) {
	case CHAT_INPUT_EMPTY:
	case CHAT_INPUT_BAD:
	case CHAT_INPUT_HELP:
		chat_ui_answer_basic(&in, show_help);
		return;
	case CHAT_INPUT_CONTACTS:
		chat_ui_notice("%s", _("no contacts on IRC: /rooms lists the rooms"));
		return;
	case CHAT_INPUT_QUIT:
	case CHAT_INPUT_BACK:
		ic->quitting = true;
		send_line(ic, "QUIT :%s", "sockit chat");
		quit_wait(ic);
		return;
	case CHAT_INPUT_TO:
		if (in.len > TARGET_MAX || memchr(in.arg, ' ', in.len) ||
		    memchr(in.arg, ',', in.len)) {
			chat_ui_notice("%s", _("/to needs one nick or #room"));
			return;
		}
		set_target(ic, in.arg, in.len);
		return;
	case CHAT_INPUT_MESSAGE:
		send_text(ic, ic->target[0] ? ic->target : ic->last, in.arg, in.len);
		return;
	}
}

static void on_user_line(void *data, const char *line)
{
	struct irc_client *ic = data;
	if (ic->quitting)
		return;
	if (!ic->registered) { /* kept until the welcome, in order */
		if (buf_append(&ic->pending, line, strlen(line) + 1) < 0)
			chat_ui_notice("%s", _("not connected yet; line dropped"));
		return;
	}
	handle_input(ic, line);
}

static void on_user_eof(void *data)
{
	struct irc_client *ic = data;
	if (ic->quitting)
		return;
	ic->quitting = true;
	if (ic->registered)
		send_line(ic, "QUIT :%s", "sockit chat");
	quit_wait(ic);
}

static void on_quit_timer(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	(void)loop, (void)t;
	finish(data, 0);
}

/* ---- input from the server ---- */

static void esc(char *out, size_t cap, const char *s)
{
	escape_text(out, cap, s, strnlen(s, IRC_BODY_MAX));
}

/* label is trusted (escaped by the caller); text comes from the network. */
static void show_text(struct irc_client *ic, const char *label, const char *text)
{
	static char shown[CHAT_RENDER_MAX(LABEL_MAX, IRC_BODY_MAX)];
	chat_text_render(shown, sizeof(shown), label, text, strlen(text), ic->colour);
	chat_ui_show(shown);
}

static void show_message(struct irc_client *ic, const struct irc_msg *m, const char *from,
			 bool notice)
{
	char ef[ESCAPE_MAX(TARGET_MAX)], et[ESCAPE_MAX(TARGET_MAX)], label[LABEL_MAX];
	const char *to = m->params[0], *text = m->params[m->nparams - 1];
	esc(ef, sizeof(ef), from[0] ? from : "server");
	esc(et, sizeof(et), to);
	if (to[0] == '#')
		snprintf(label, sizeof(label), notice ? "[%s] -%s- " : "[%s] %s: ", et, ef);
	else if (notice || m->prefix == NULL || strchr(m->prefix, '!') == NULL)
		snprintf(label, sizeof(label), "-%s- ", ef);
	else
		snprintf(label, sizeof(label), "%s: ", ef);
	show_text(ic, label, text);
	if (to[0] != '#' && !notice && from[0])
		snprintf(ic->last, sizeof(ic->last), "%s", from);
}

static void registered(struct irc_client *ic, const struct irc_msg *m)
{
	ic->registered = true;
	if (m->nparams > 0)
		snprintf(ic->nick, sizeof(ic->nick), "%s", m->params[0]);
	char en[ESCAPE_MAX(TARGET_MAX)];
	escape_text(en, sizeof(en), ic->nick, strlen(ic->nick));
	chat_ui_notice(_("connected as %s (/help for commands)"), en);
	while (buf_len(&ic->pending) > 0 && !ic->quitting) {
		const char *line = (const char *)buf_head(&ic->pending);
		size_t len = strlen(line) + 1;
		char copy[CHAT_UI_LINE_MAX];
		snprintf(copy, sizeof(copy), "%s", line);
		buf_consume(&ic->pending, len);
		handle_input(ic, copy);
	}
	if (ic->quitting) /* input ended before the welcome */
		send_line(ic, "QUIT :%s", "sockit chat");
}

static const char *nick_of(const struct irc_msg *m)
{
	static char nick[TARGET_MAX + 1];
	const char *p = m->prefix ? m->prefix : "";
	snprintf(nick, sizeof(nick), "%.*s", (int)strcspn(p, "!@"), p);
	return nick;
}

static void on_server_message(struct irc_client *ic, const struct irc_msg *m)
{
	const char *cmd = m->command;
	const char *last = m->nparams > 0 ? m->params[m->nparams - 1] : "";
	char ea[ESCAPE_MAX(IRC_BODY_MAX)], eb[ESCAPE_MAX(IRC_BODY_MAX)];
	if (strcmp(cmd, "PING") == 0) {
		send_line(ic, "PONG :%s", last);
	} else if (strcmp(cmd, "001") == 0) {
		registered(ic, m);
	} else if (strcmp(cmd, "433") == 0 && !ic->registered) {
		if (++ic->nick_tries > NICK_RETRIES || strlen(ic->nick) >= TARGET_MAX) {
			chat_ui_notice(_("nickname %s is taken"), ic->nick);
			finish(ic, EXIT_UNAVAIL);
			return;
		}
		strcat(ic->nick, "_");
		send_line(ic, "NICK %s", ic->nick);
	} else if ((strcmp(cmd, "PRIVMSG") == 0 || strcmp(cmd, "NOTICE") == 0) && m->nparams >= 2) {
		show_message(ic, m, nick_of(m), cmd[0] == 'N');
	} else if (strcmp(cmd, "JOIN") == 0 && m->nparams >= 1) {
		esc(ea, sizeof(ea), nick_of(m));
		esc(eb, sizeof(eb), m->params[0]);
		chat_ui_info(_("* %s joined %s"), ea, eb);
	} else if (strcmp(cmd, "PART") == 0 && m->nparams >= 1) {
		esc(ea, sizeof(ea), nick_of(m));
		esc(eb, sizeof(eb), m->params[0]);
		chat_ui_info(_("* %s left %s"), ea, eb);
	} else if (strcmp(cmd, "QUIT") == 0) {
		esc(ea, sizeof(ea), nick_of(m));
		esc(eb, sizeof(eb), last);
		chat_ui_info(_("* %s quit (%s)"), ea, eb);
	} else if (strcmp(cmd, "NICK") == 0 && m->nparams >= 1) {
		if (strcmp(nick_of(m), ic->nick) == 0)
			snprintf(ic->nick, sizeof(ic->nick), "%s", m->params[0]);
		esc(ea, sizeof(ea), nick_of(m));
		esc(eb, sizeof(eb), m->params[0]);
		chat_ui_info(_("* %s is now %s"), ea, eb);
	} else if (strcmp(cmd, "TOPIC") == 0 && m->nparams >= 2) {
		esc(ea, sizeof(ea), nick_of(m));
		esc(eb, sizeof(eb), last);
		chat_ui_info(_("* %s set the topic: %s"), ea, eb);
	} else if (strcmp(cmd, "352") == 0 && m->nparams >= 7) { /* me #room user host srv nick */
		esc(ea, sizeof(ea), m->params[5]);
		esc(eb, sizeof(eb), m->params[1]);
		chat_ui_info(_("  %s in %s"), ea, eb);
	} else if (strcmp(cmd, "322") == 0 && m->nparams >= 3) { /* me #room count :topic */
		esc(ea, sizeof(ea), m->params[1]);
		esc(eb, sizeof(eb), m->nparams > 3 ? m->params[3] : "");
		chat_ui_info(_("  %s (%s people) %s"), ea, m->params[2], eb);
	} else if (strcmp(cmd, "353") == 0 && m->nparams >= 4) { /* me = #room :names */
		esc(ea, sizeof(ea), m->params[2]);
		esc(eb, sizeof(eb), m->params[3]);
		chat_ui_info(_("* in %s: %s"), ea, eb);
	} else if (strcmp(cmd, "ERROR") == 0) {
		esc(eb, sizeof(eb), last);
		chat_ui_info("%s", eb);
	} else if (cmd[0] >= '4' && cmd[0] <= '5' && strlen(cmd) == 3 && m->nparams >= 2) {
		/* an error numeric: "me target :why" or "me :why" */
		char what[IRC_BODY_MAX];
		snprintf(what, sizeof(what), "%s%s%s", m->nparams > 2 ? m->params[1] : "",
			 m->nparams > 2 ? ": " : "", last);
		esc(eb, sizeof(eb), what);
		chat_ui_notice("%s", eb);
	}
}

static void on_server_line(struct irc_client *ic, char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	struct irc_msg m;
	if (irc_msg_parse(line, len, &m) == 0)
		on_server_message(ic, &m);
}

static void on_readable(struct irc_client *ic)
{
	char data[16384];
	ssize_t n = recv(ic->fd, data, sizeof(data), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (!ic->quitting)
			chat_ui_notice("%s", n == 0 ? _("the server closed the connection")
						    : strerror(errno));
		finish(ic, ic->quitting ? 0 : EXIT_UNAVAIL);
		return;
	}
	for (ssize_t i = 0; i < n && ic->rc < 0; i++) {
		char c = data[i];
		if (c == '\n') {
			if (!ic->skipping)
				on_server_line(ic, ic->in, ic->inlen);
			ic->inlen = 0;
			ic->skipping = false;
		} else if (ic->inlen < IRC_LINE_MAX) {
			ic->in[ic->inlen++] = c;
		} else {
			ic->skipping = true; /* not IRC: dropped */
		}
	}
}

static void on_io(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)loop, (void)fd;
	struct irc_client *ic = data;
	if (events & EV_WRITE)
		flush_out(ic);
	if ((events & EV_READ) && ic->rc < 0)
		on_readable(ic);
}

static void on_signal(struct ev_loop *loop, int signo, void *data)
{
	(void)loop, (void)signo;
	finish(data, 0);
}

int irc_client_run(const char *server, const char *nick)
{
	struct irc_client ic = {.fd = -1, .rc = -1};
	char err[NET_ERR_LEN];
	struct addr_spec spec;
	if (addr_parse(server, ADDR_TCP, &spec, err, sizeof(err)) < 0 || spec.transport == ADDR_UDP)
		cli_usage_error("chat", "--server: %s",
				spec.transport == ADDR_UDP ? "IRC runs over tcp" : err);
	if (spec.transport != ADDR_UNIX && spec.port == 0)
		spec.port = IRC_DEFAULT_PORT;
	if (!irc_nick_valid(nick, TARGET_MAX))
		cli_usage_error("chat", "--nick: '%s' is not an IRC nickname", nick);
	snprintf(ic.nick, sizeof(ic.nick), "%s", nick);
	ic.fd = net_connect(&spec, CONNECT_TIMEOUT_MS, err, sizeof(err));
	if (ic.fd < 0) {
		cli_error("%s", err);
		return EXIT_UNAVAIL;
	}
	int rc = EXIT_OSERR;
	ic.loop = ev_loop_new(cli_loop_max_fds(), NULL, err, sizeof(err));
	if (ic.loop == NULL) {
		cli_error("%s", err);
		goto out_close;
	}
	buf_init(&ic.out, OUTPUT_MAX);
	buf_init(&ic.pending, PENDING_MAX);
	ev_timer_init(&ic.quit_timer, on_quit_timer, &ic);
	signal(SIGPIPE, SIG_IGN);
	if (net_set_nonblock(ic.fd, true, err, sizeof(err)) < 0 ||
	    ev_io_start(ic.loop, ic.fd, EV_READ, on_io, &ic) < 0 ||
	    ev_signal_start(ic.loop, SIGINT, on_signal, &ic) < 0 ||
	    ev_signal_start(ic.loop, SIGTERM, on_signal, &ic) < 0) {
		cli_error("%s", err[0] ? err : strerror(errno));
		goto out_free_loop;
	}
	bool interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	ic.colour = chat_text_want_colour(isatty(STDOUT_FILENO), getenv("NO_COLOR"));
	static const struct chat_ui_ops ops = {.on_line = on_user_line, .on_eof = on_user_eof};
	chat_ui_set_prompt("> ");
	send_line(&ic, "NICK %s", ic.nick);
	send_line(&ic, "USER %s 0 * :%s", ic.nick, "sockit chat");
	if (ic.rc < 0 && chat_ui_start(ic.loop, interactive, &ops, &ic, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		goto out_free_loop;
	}
	int run = ic.rc < 0 ? ev_loop_run(ic.loop) : 0;
	chat_ui_stop();
	rc = run < 0 ? EXIT_OSERR : ic.rc < 0 ? 0 : ic.rc;
out_free_loop:
	ev_io_stop(ic.loop, ic.fd);
	buf_free(&ic.out);
	buf_free(&ic.pending);
	ev_loop_free(ic.loop);
out_close:
	close(ic.fd);
	return rc;
}
