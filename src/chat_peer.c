/* chat_peer.c - `sockit chat`: one udp socket, a contact book and the chat UI on the event
 * loop, so messages show up while the user types and replies leave from the same socket. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "chat_peer.h"
#include "chat_text.h"
#include "chat_ui.h"
#include "cli.h"
#include "contacts.h"
#include "ev.h"
#include "guard.h"
#include "i18n.h"
#include "irc_client.h"
#include "net.h"
#include "resolve_async.h"

#define DEFAULT_MAX_MESSAGE 1024  /* the seed's recv(1024) */
#define MAX_MESSAGE_LIMIT   65507 /* the largest udp payload over IPv4 */
#define DEFAULT_LINGER_MS   1000  /* after EOF on stdin, for replies still on their way */
#define RECV_MAX            65536 /* one incoming datagram, shown whole however long */
#define RECV_BATCH          64    /* datagrams per wake-up, so typing stays responsive */
#define DEFAULT_RATE        20    /* messages a second shown from one sender... */
#define RATE_BURST_FACTOR   5     /* ...after a burst of this many seconds' worth */
#define DROP_NOTICE_MS      1000  /* how often dropped messages are reported */
#define LABEL_MAX           (ADDR_TEXT_MAX + CONTACT_NAME_MAX + 64)
#define HELD_INPUT_MAX      (64 * 1024) /* lines typed while a /to name is looked up */

struct peer_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char label[LABEL_MAX]; /* the contact's name, or "udp:HOST:PORT" as typed */
};

struct chat_peer {
	struct ev_loop *loop;
	int fd;
	struct contact_book *book;
	struct peer_addr *book_addrs; /* resolved, parallel to book->list */
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
	/* A /to name is looked up off the loop; lines typed meanwhile wait (in order, up to
	 * HELD_INPUT_MAX) for the new recipient, and so does the end of input. */
	struct resolve_async *resolver;
	int lookup_id; /* 0: none running */
	char lookup_label[LABEL_MAX];
	struct buf held; /* NUL-terminated lines */
	bool held_eof;
	int rc;
};

static void usage(FILE *out)
{
	fputs(_("Usage: sockit chat [OPTIONS]\n\n"
	        "Chat over udp with the seed's QQ programs or another sockit chat. Each line you\n"
	        "type goes to the current recipient; incoming messages show as they arrive.\n\n"
	        "  -l, --listen ADDR        bind this udp address (default: an ephemeral port)\n"
	        "  -t, --to NAME|ADDR       start talking to this contact or address\n"
	        "  -c, --contacts FILE      contact book, 'NAME ADDR' lines (default:\n"
	        "                           $XDG_CONFIG_HOME/sockit/contacts)\n"
	        "  -C, --contact NAME=ADDR  add a contact (may be repeated)\n"
	        "  -m, --max-message BYTES  longest message sent (default: 1024)\n"
	        "      --linger SECONDS     after end of input, wait for replies (default: 1)\n"
	        "      --rate N             messages a second shown per sender, 0 = all (default: "
	        "20)\n"
	        "  -s, --server ADDR        chat on an IRC server instead (tcp:HOST:PORT)\n"
	        "  -n, --nick NAME          your IRC nickname (with --server)\n"
	        "  -h, --help               show this help\n\n"
	        "Commands: /to NAME|ADDR, /contacts, /help, /quit; 'quit' goes back to choosing\n"
	        "a contact. Without a recipient a line answers the last sender.\n"),
	      out);	cli_usage_exit_codes(out);
}

static void show_help(void)
{
	chat_ui_info("%s", _("/to NAME|ADDR  talk to a contact or an address (udp:HOST:PORT)\n"
	                     "/contacts      list the contacts\n"
	                     "/quit          leave (Ctrl-D too)\n"
	                     "quit           back to choosing a contact\n"
	                     "//TEXT         send a line that starts with /"));
}

static void finish(struct chat_peer *cp, int rc)
{
	cp->rc = rc;
	chat_ui_stop();
	ev_loop_stop(cp->loop);
}

static void update_prompt(struct chat_peer *cp)
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

/* A name from the book, else an address. 0, or -1 after telling the user why. With the
 * resolver (on the loop), a host name is looked up off the loop: 1, and the answer comes to
 * on_lookup_done. */
static int resolve_target(struct chat_peer *cp, const char *text, struct peer_addr *out)
{
	for (size_t i = 0; i < cp->book->count; i++) {
		if (strcmp(cp->book->list[i].name, text) == 0) {
			*out = cp->book_addrs[i];
			return 0;
		}
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
		cp->lookup_id = id;
		snprintf(cp->lookup_label, sizeof(cp->lookup_label), "%s", out->label);
		return 1;
	}
	if (net_resolve(&spec, &out->ss, &out->len, err, sizeof(err)) < 0) {
		chat_ui_notice("%s", err);
		return -1;
	}
	return 0;
}

static void send_message(struct chat_peer *cp, const char *text, size_t len)
{
	const struct peer_addr *dest = cp->have_to ? &cp->to : cp->have_last ? &cp->last : NULL;
	if (dest == NULL) {
		chat_ui_notice("%s", _("no one to send to: pick a contact with /to NAME, or wait "
		                       "for a message"));
		return;
	}
	if (len > cp->max_message) {
		chat_ui_notice(_("message of %zu bytes is over the %zu-byte limit; not sent"), len,
		               cp->max_message);
		return;
	}
	ssize_t n;
	do
		n = sendto(cp->fd, text, len, MSG_DONTWAIT, (const struct sockaddr *)&dest->ss,
		           dest->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		chat_ui_notice(_("send to %s: %s; not sent"), dest->label, strerror(errno));
}

static void on_line(void *data, const char *line)
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
		if (cp->book->count == 0)
			chat_ui_info(_("no contacts (add 'NAME ADDR' lines to %s, or use --contact "
			               "NAME=ADDR)"),
			             cp->book_file);
		for (size_t i = 0; i < cp->book->count; i++) {
			char addr[ADDR_TEXT_MAX];
			addr_format(&cp->book->list[i].spec, addr, sizeof(addr));
			chat_ui_info("%s %s", cp->book->list[i].name, addr);
		}
		return;
	case CHAT_INPUT_QUIT:
		finish(cp, 0);
		return;
	case CHAT_INPUT_BACK:
		if (chat_ui_is_interactive() && cp->book->count > 0) {
			cp->asking_contact = true;
			cp->have_to = false;
			update_prompt(cp);
		} else {
			finish(cp, 0);
		}
		return;
	case CHAT_INPUT_TO:
	case CHAT_INPUT_MESSAGE:
		if (in.kind == CHAT_INPUT_MESSAGE && !cp->asking_contact) {
			send_message(cp, in.arg, in.len);
			return;
		}
		if (in.len > CONTACTS_LINE_MAX) {
			chat_ui_notice("%s", _("no contact or address is that long"));
			return;
		}
		memcpy(target, in.arg, in.len);
		target[in.len] = '\0';
		if (resolve_target(cp, target, &to) == 0) {
			cp->to = to;
			cp->have_to = true;
			cp->asking_contact = false;
		}
		update_prompt(cp);
		return;
	}
}

static void on_linger_done(struct ev_loop *loop, struct ev_timer *timer, void *data)
{
	(void)loop, (void)timer;
	finish(data, 0);
}

static void on_eof(void *data)
{
	struct chat_peer *cp = data;
	if (cp->lookup_id != 0) {
		cp->held_eof = true;
		return;
	}
	if (chat_ui_is_interactive() || cp->linger_ms == 0) {
		finish(cp, 0);
		return;
	}
	/* no memory for the timer: leave now rather than linger forever */
	if (ev_timer_start(cp->loop, &cp->linger, (uint64_t)cp->linger_ms) < 0)
		finish(cp, 0);
}

/* The /to name's answer: the new recipient, or why not; then the lines typed meanwhile, in
 * order, until one of them starts another lookup. */
static void on_lookup_done(void *data, const struct resolve_answer *answer)
{
	static char line[HELD_INPUT_MAX]; /* a held line and its NUL fit, or were not held */
	struct chat_peer *cp = data;
	if (answer->id != cp->lookup_id)
		return;
	cp->lookup_id = 0;
	if (answer->ok) {
		cp->to.ss = answer->ss;
		cp->to.len = answer->len;
		snprintf(cp->to.label, sizeof(cp->to.label), "%s", cp->lookup_label);
		cp->have_to = true;
		cp->asking_contact = false;
	} else {
		chat_ui_notice("%s", answer->err);
	}
	update_prompt(cp);
	while (cp->lookup_id == 0 && buf_len(&cp->held) > 0) {
		/* a copy: on_line may hold lines again, moving the buffer */
		size_t len = strnlen((const char *)buf_head(&cp->held), buf_len(&cp->held));
		memcpy(line, buf_head(&cp->held), len);
		line[len] = '\0';
		buf_consume(&cp->held, len + 1);
		on_line(cp, line);
	}
	buf_shrink_if_empty(&cp->held);
	if (cp->lookup_id == 0 && cp->held_eof) {
		cp->held_eof = false;
		on_eof(cp);
	}
}

/* The sender's label: "NAME: "/"HOST:PORT: " for scripts, the seed's wording on a terminal
 * (the separator is in the message id, so a translation can match the seed's exactly). */
static void sender_label(struct chat_peer *cp, const struct sockaddr_storage *from,
                         socklen_t fromlen, char *out, size_t outlen)
{
	for (size_t i = 0; i < cp->book->count; i++) {
		if (net_sockaddr_equal((const struct sockaddr *)&cp->book_addrs[i].ss,
		                       (const struct sockaddr *)from)) {
			if (chat_ui_is_interactive())
				snprintf(out, outlen, _("Message from %s: "),
				         cp->book->list[i].name);
			else
				snprintf(out, outlen, "%s: ", cp->book->list[i].name);
			return;
		}
	}
	char addr[ADDR_TEXT_MAX];
	net_format_sockaddr((const struct sockaddr *)from, fromlen, addr, sizeof(addr));
	if (!chat_ui_is_interactive()) {
		snprintf(out, outlen, "%s: ", addr);
		return;
	}
	char *colon = strrchr(addr, ':');
	const char *host = addr;
	if (colon != NULL)
		*colon = '\0';
	if (host[0] == '[') { /* the seed shows a bare IPv6 address too */
		host++;
		addr[strlen(addr) - 1] = '\0';
	}
	snprintf(out, outlen, _("Message from [%s:%s]: "), host, colon != NULL ? colon + 1 : "");
}

static void on_socket_readable(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)loop, (void)events;
	struct chat_peer *cp = data;
	static char msg[RECV_MAX], shown[CHAT_RENDER_MAX(LABEL_MAX, RECV_MAX)];
	for (int i = 0; i < RECV_BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, msg, sizeof(msg), MSG_DONTWAIT, (struct sockaddr *)&from,
		                     &fromlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) { /* an ICMP error for an earlier send: report it, keep going */
			chat_ui_notice("recv: %s", strerror(errno));
			continue;
		}
		if (guard_check(cp->guard, (const struct sockaddr *)&from, 0, ev_now_ms(loop)) ==
		    GUARD_RATE_LIMITED) {
			/* unarmed (no memory), the count restarts so the next drop tries again */
			if (cp->dropped++ == 0 &&
			    ev_timer_start(loop, &cp->drop_notice, DROP_NOTICE_MS) < 0)
				cp->dropped = 0;
			continue;
		}
		char label[LABEL_MAX];
		sender_label(cp, &from, fromlen, label, sizeof(label));
		chat_text_render(shown, sizeof(shown), label, msg, (size_t)n, cp->colour);
		chat_ui_show(shown);
		cp->last.ss = from;
		cp->last.len = fromlen;
		net_format_sockaddr((const struct sockaddr *)&from, fromlen, cp->last.label,
		                    sizeof(cp->last.label));
		if (!cp->have_last) {
			cp->have_last = true;
			update_prompt(cp);
		}
	}
}

static void on_drop_notice(struct ev_loop *loop, struct ev_timer *timer, void *data)
{
	(void)loop, (void)timer;
	struct chat_peer *cp = data;
	chat_ui_notice(_("dropped %lu messages from senders over %u a second (--rate)"),
	               cp->dropped, cp->rate);
	cp->dropped = 0;
}

static void on_signal(struct ev_loop *loop, int signo, void *data)
{
	(void)loop, (void)signo;
	finish(data, 0);
}

/* The default book is optional; one named with --contacts must exist. */
static int load_contacts(struct chat_peer *cp, const char *file, bool required)
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
	else if (contacts_parse_text(cp->book, text, len, file, err, sizeof(err)) < 0)
		cli_error("%s", err);
	else
		rc = 0;
	free(text);
	return rc;
}

static int resolve_contacts(struct chat_peer *cp)
{
	char err[NET_ERR_LEN];
	for (size_t i = 0; i < cp->book->count; i++) {
		struct peer_addr *pa = &cp->book_addrs[i];
		snprintf(pa->label, sizeof(pa->label), "%s", cp->book->list[i].name);
		if (net_resolve(&cp->book->list[i].spec, &pa->ss, &pa->len, err, sizeof(err)) < 0) {
			cli_error(_("contact '%s': %s"), cp->book->list[i].name, err);
			return -1;
		}
	}
	return 0;
}

static void default_contacts_file(char *out, size_t outlen)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	if (xdg != NULL && xdg[0] == '/')
		snprintf(out, outlen, "%s/sockit/contacts", xdg);
	else
		snprintf(out, outlen, "%s/.config/sockit/contacts", home != NULL ? home : "");
}

enum { OPT_LINGER = 256, OPT_RATE };

struct chat_args {
	const char *listen;
	const char *to;
	const char *contacts_file;
	const char *server; /* IRC mode */
	const char *nick;
};

static int parse_args(struct chat_peer *cp, struct chat_args *args, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"to", required_argument, NULL, 't'},
	    {"contacts", required_argument, NULL, 'c'},
	    {"contact", required_argument, NULL, 'C'},
	    {"max-message", required_argument, NULL, 'm'},
	    {"linger", required_argument, NULL, OPT_LINGER},
	    {"rate", required_argument, NULL, OPT_RATE},
	    {"server", required_argument, NULL, 's'},
	    {"nick", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	char err[CONTACTS_ERR_LEN];
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:t:c:C:m:s:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			args->listen = optarg;
			break;
		case 't':
			args->to = optarg;
			break;
		case 'c':
			args->contacts_file = optarg;
			break;
		case 's':
			args->server = optarg;
			break;
		case 'n':
			args->nick = optarg;
			break;
		case 'C':
			if (contacts_parse_option(cp->book, optarg, err, sizeof(err)) < 0)
				cli_usage_error("chat", _("--contact: %s"), err);
			break;
		case 'm': {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || v == 0 ||
			    v > MAX_MESSAGE_LIMIT)
				cli_usage_error("chat",
				                _("--max-message: expected 1-%d bytes, got '%s'"),
				                MAX_MESSAGE_LIMIT, optarg);
			cp->max_message = v;
			break;
		}
		case OPT_LINGER:
			cp->linger_ms = cli_parse_seconds(optarg);
			if (cp->linger_ms < 0)
				cli_usage_error("chat", _("--linger: expected seconds, got '%s'"),
				                optarg);
			break;
		case OPT_RATE: {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || v > 1000000)
				cli_usage_error("chat", _("--rate: expected 0-1000000, got '%s'"),
				                optarg);
			cp->rate = (unsigned)v;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			cli_bad_option("chat", c, argv, longopts);
		}
	}
	if (optind < argc)
		cli_usage_error("chat", _("unexpected argument '%s'"), argv[optind]);
	return 0;
}

/* The socket: --listen, else an ephemeral port of the family the first recipient needs. */
static int open_socket(struct chat_peer *cp, const char *listen, char *bound, size_t boundlen)
{
	char err[NET_ERR_LEN];
	struct addr_spec spec;
	const char *text = listen;
	if (text == NULL)
		text =
		    cp->have_to && cp->to.ss.ss_family == AF_INET6 ? "udp:[::]:0" : "udp:0.0.0.0:0";
	if (addr_parse(text, ADDR_UDP, &spec, err, sizeof(err)) < 0)
		cli_usage_error("chat", _("--listen: %s"), err);
	if (spec.transport != ADDR_UDP)
		cli_usage_error("chat", _("--listen: '%s' is not a udp address"), text);
	cp->fd = net_udp_socket(&spec, bound, boundlen, err, sizeof(err));
	if (cp->fd < 0) {
		cli_error("%s", err);
		return -1;
	}
	return 0;
}

int cmd_chat(int argc, char **argv)
{
	struct chat_peer cp = {.fd = -1,
	                       .max_message = DEFAULT_MAX_MESSAGE,
	                       .linger_ms = DEFAULT_LINGER_MS,
	                       .rate = DEFAULT_RATE};
	struct chat_args args = {0};
	char default_file[4096], err[NET_ERR_LEN];
	static const struct chat_ui_ops ui_ops = {.on_line = on_line, .on_eof = on_eof};
	int rc = EXIT_OSERR;

	cp.book = calloc(1, sizeof(*cp.book));
	cp.book_addrs = calloc(CONTACTS_MAX, sizeof(*cp.book_addrs));
	if (cp.book == NULL || cp.book_addrs == NULL) {
		cli_error(_("out of memory"));
		goto out_free_book;
	}
	parse_args(&cp, &args, argc, argv);
	if (args.server != NULL || args.nick != NULL) {
		if (args.server == NULL || args.nick == NULL)
			cli_usage_error("chat", "--server and --nick go together");
		rc = irc_client_run(args.server, args.nick);
		goto out_free_book;
	}
	default_contacts_file(default_file, sizeof(default_file));
	cp.book_file = args.contacts_file != NULL ? args.contacts_file : default_file;
	rc = EXIT_CONFIG;
	if (load_contacts(&cp, cp.book_file, args.contacts_file != NULL) < 0 ||
	    resolve_contacts(&cp) < 0)
		goto out_free_book;

	bool interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	cp.colour = chat_text_want_colour(isatty(STDOUT_FILENO), getenv("NO_COLOR"));
	cp.loop = ev_loop_new(cli_loop_max_fds(), NULL, err, sizeof(err));
	if (cp.loop == NULL) {
		cli_error("%s", err);
		rc = EXIT_OSERR;
		goto out_free_book;
	}
	/* chat_ui_notice needs no started UI: before the loop it just prints to stderr */
	if (args.to != NULL) {
		if (resolve_target(&cp, args.to, &cp.to) < 0) {
			rc = EXIT_USAGE;
			goto out_free_loop;
		}
		cp.have_to = true;
	}
	rc = EXIT_UNAVAIL;
	char bound[ADDR_TEXT_MAX];
	if (open_socket(&cp, args.listen, bound, sizeof(bound)) < 0)
		goto out_free_loop;
	rc = EXIT_OSERR;
	signal(SIGPIPE, SIG_IGN);
	ev_timer_init(&cp.linger, on_linger_done, &cp);
	ev_timer_init(&cp.drop_notice, on_drop_notice, &cp);
	/* loopback too: a local flood scrolls the screen as well as a remote one */
	struct guard_config gcfg = {
	    .rate = cp.rate, .burst = cp.rate * RATE_BURST_FACTOR, .limit_loopback = true};
	cp.guard = guard_new(&gcfg);
	if (cp.guard == NULL) {
		cli_error(_("out of memory"));
		goto out_close_socket;
	}
	buf_init(&cp.held, HELD_INPUT_MAX);
	cp.resolver = resolve_async_new(cp.loop, on_lookup_done, &cp, err, sizeof(err));
	if (cp.resolver == NULL) {
		cli_error("%s", err);
		goto out_close_socket;
	}
	int started; /* -errno: ev_io_start fails without setting errno (an fd past the loop's) */
	if ((started = ev_io_start(cp.loop, cp.fd, EV_READ, on_socket_readable, &cp)) < 0 ||
	    (started = ev_signal_start(cp.loop, SIGINT, on_signal, &cp)) < 0 ||
	    (started = ev_signal_start(cp.loop, SIGTERM, on_signal, &cp)) < 0) {
		cli_error(_("event loop: %s"), strerror(-started));
		goto out_close_socket;
	}
	/* only now: whoever waits for this line may signal us at once */
	cli_error("chat: listening on %s", bound); /* for scripts: not translated */
	cp.asking_contact = interactive && cp.book->count > 0 && !cp.have_to;
	update_prompt(&cp);
	cp.rc = -1;
	if (chat_ui_start(cp.loop, interactive, &ui_ops, &cp, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		goto out_close_socket;
	}
	int run = cp.rc < 0 ? ev_loop_run(cp.loop) : 0;
	if (run < 0) {
		chat_ui_stop();
		cli_error(_("event loop: %s"), strerror(-run));
		goto out_close_socket;
	}
	rc = cp.rc < 0 ? 0 : cp.rc;
out_close_socket:
	resolve_async_free(cp.resolver);
	buf_free(&cp.held);
	guard_free(cp.guard);
	ev_io_stop(cp.loop, cp.fd);
	close(cp.fd);
out_free_loop:
	ev_loop_free(cp.loop);
out_free_book:
	free(cp.book_addrs);
	free(cp.book);
	return rc;
}
