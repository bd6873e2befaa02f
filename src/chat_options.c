/* chat_options.c - `sockit chat`'s command line: --help, the options and where the default
 * contact book lives. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "i18n.h"

#include "chat_peer_internal.h"

#define DEFAULT_MAX_MESSAGE 1024  /* the seed's recv(1024) */
#define MAX_MESSAGE_LIMIT   65507 /* the largest udp payload over IPv4 */
#define DEFAULT_LINGER_MS   1000  /* after EOF on stdin, for replies still on their way */
#define DEFAULT_RATE        20    /* messages a second shown from one sender */
#define RATE_LIMIT          1000000

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
	      out);
	cli_usage_exit_codes(out);
}

void chat_default_contacts_file(char *out, size_t outlen)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	if (xdg != NULL && xdg[0] == '/')
		snprintf(out, outlen, "%s/sockit/contacts", xdg);
	else
		snprintf(out, outlen, "%s/.config/sockit/contacts", home != NULL ? home : "");
}

enum { OPT_LINGER = 256, OPT_RATE };

void chat_args_parse(struct chat_args *args, struct contact_book *book, int argc, char **argv)
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
	*args = (struct chat_args){.max_message = DEFAULT_MAX_MESSAGE,
				   .linger_ms = DEFAULT_LINGER_MS,
				   .rate = DEFAULT_RATE};
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
			if (contacts_parse_option(book, optarg, err, sizeof(err)) < 0)
				cli_usage_error("chat", _("--contact: %s"), err);
			break;
		case 'm':
			args->max_message =
				cli_parse_uint("chat", "max-message", optarg, 1, MAX_MESSAGE_LIMIT);
			break;
		case OPT_LINGER:
			args->linger_ms = cli_parse_seconds(optarg);
			if (args->linger_ms < 0)
				cli_usage_error("chat", _("--linger: expected seconds, got '%s'"),
						optarg);
			break;
		case OPT_RATE:
			args->rate =
				(unsigned)cli_parse_uint("chat", "rate", optarg, 0, RATE_LIMIT);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			cli_bad_option("chat", c, argv, longopts);
		}
	}
	if (optind < argc)
		cli_usage_error("chat", _("unexpected argument '%s'"), argv[optind]);
	if ((args->server == NULL) != (args->nick == NULL))
		cli_usage_error("chat", "%s", _("--server and --nick go together"));
}
