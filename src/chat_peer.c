/* chat_peer.c - `sockit chat`: one udp socket, a contact book and the chat UI on the event
 * loop, so messages show up while the user types and replies leave from the same socket.
 * This file has the socket (sending, receiving, the flood guard) and the run; what the user
 * types is chat_input.c's. */
#include <errno.h>
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
#include "ev.h"
#include "guard.h"
#include "i18n.h"
#include "irc_client.h"
#include "net.h"
#include "resolve_async.h"

#include "chat_peer_internal.h"

#define RECV_MAX          65536 /* one incoming datagram, shown whole however long */
#define RECV_BATCH        64    /* datagrams per wake-up, so typing stays responsive */
#define RATE_BURST_FACTOR 5     /* --rate after a burst of this many seconds' worth */
#define DROP_NOTICE_MS    1000  /* how often dropped messages are reported */

void chat_peer_finish(struct chat_peer *cp, int rc)
{
	cp->rc = rc;
	chat_ui_stop();
	ev_loop_stop(cp->loop);
}

void chat_peer_send(struct chat_peer *cp, const char *text, size_t len)
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

static void on_linger_done(struct ev_loop *loop, struct ev_timer *timer, void *data)
{
	(void)loop, (void)timer;
	chat_peer_finish(data, 0);
}

/* The sender's label: "NAME: "/"HOST:PORT: " for scripts, the seed's wording on a terminal
 * (the separator is in the message id, so a translation can match the seed's exactly). */
static void sender_label(struct chat_peer *cp, const struct sockaddr_storage *from,
			 socklen_t fromlen, char *out, size_t outlen)
{
	const char *name = chat_book_name_at(cp->book, (const struct sockaddr *)from);
	if (name != NULL) {
		if (chat_ui_is_interactive())
			snprintf(out, outlen, _("Message from %s: "), name);
		else
			snprintf(out, outlen, "%s: ", name);
		return;
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
			chat_input_update_prompt(cp);
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
	chat_peer_finish(data, 0);
}

/* The socket: --listen, else an ephemeral port of the family the first recipient needs. */
static int open_socket(struct chat_peer *cp, const char *listen, char *bound, size_t boundlen)
{
	char err[NET_ERR_LEN];
	struct addr_spec spec;
	const char *text = listen;
	if (text == NULL)
		text = cp->have_to && cp->to.ss.ss_family == AF_INET6 ? "udp:[::]:0"
								      : "udp:0.0.0.0:0";
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
	struct chat_peer cp = {.fd = -1};
	struct chat_args args;
	char default_file[4096], err[NET_ERR_LEN];
	static const struct chat_ui_ops ui_ops = {.on_line = chat_input_on_line,
						  .on_eof = chat_input_on_eof};
	int rc = EXIT_OSERR;

	cp.book = calloc(1, sizeof(*cp.book));
	if (cp.book == NULL) {
		cli_error(_("out of memory"));
		goto out_free_book;
	}
	chat_args_parse(&args, &cp.book->contacts, argc, argv);
	if (args.server != NULL) {
		rc = irc_client_run(args.server, args.nick);
		goto out_free_book;
	}
	cp.max_message = args.max_message;
	cp.linger_ms = args.linger_ms;
	cp.rate = args.rate;
	chat_default_contacts_file(default_file, sizeof(default_file));
	cp.book_file = args.contacts_file != NULL ? args.contacts_file : default_file;
	rc = EXIT_CONFIG;
	if (chat_book_load(cp.book, cp.book_file, args.contacts_file != NULL) < 0)
		goto out_free_book;
	chat_book_resolve_numeric(cp.book); /* host names: once the loop runs */

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
		if (chat_input_resolve_target(&cp, args.to, &cp.to) < 0) {
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
	cp.resolver = resolve_async_new(cp.loop, chat_input_on_lookup_done, &cp, err, sizeof(err));
	if (cp.resolver == NULL) {
		cli_error("%s", err);
		goto out_close_socket;
	}
	chat_book_start_lookups(cp.book, cp.resolver); /* startup waits for none of them */
	int started; /* -errno: ev_io_start fails without setting errno (an fd past the loop's) */
	if ((started = ev_io_start(cp.loop, cp.fd, EV_READ, on_socket_readable, &cp)) < 0 ||
	    (started = ev_signal_start(cp.loop, SIGINT, on_signal, &cp)) < 0 ||
	    (started = ev_signal_start(cp.loop, SIGTERM, on_signal, &cp)) < 0) {
		cli_error(_("event loop: %s"), strerror(-started));
		goto out_close_socket;
	}
	/* only now: whoever waits for this line may signal us at once */
	cli_error("chat: listening on %s", bound); /* for scripts: not translated */
	cp.asking_contact = interactive && cp.book->contacts.count > 0 && !cp.have_to;
	chat_input_update_prompt(&cp);
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
	free(cp.book);
	return rc;
}
