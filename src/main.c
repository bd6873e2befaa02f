/* main.c - sockit's subcommand table, and nothing else. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "chat_peer.h"
#include "cli.h"
#include "echo_client.h"
#include "i18n.h"
#include "serve.h"
#include "time_client.h"

struct cmd_entry {
	const char *name;
	const char *summary;
	int (*exec)(int argc, char **argv);
};

static const struct cmd_entry cmd_table[] = {
	{.name = "serve", .summary = N_("run the services on one event loop"), .exec = cmd_serve},
	{.name = "echo",
	 .summary = N_("echo client: interactive, one-shot or piped"),
	 .exec = cmd_echo},
	{.name = "bench",
	 .summary = N_("load an echo server and report rate and latency"),
	 .exec = cmd_bench},
	{.name = "time",
	 .summary = N_("time client: seed, daytime, rfc868, sntp"),
	 .exec = cmd_time},
	{.name = "chat",
	 .summary = N_("udp chat peer: contacts, messages while you type"),
	 .exec = cmd_chat},
};

#define NCMDS (sizeof(cmd_table) / sizeof(cmd_table[0]))

static void usage(FILE *out)
{
	fprintf(out, _("Usage: sockit COMMAND [OPTIONS]\n\n"
		       "Classic network services and their clients.\n\nCommands:\n"));
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(out, "  %-8s %s\n", cmd_table[i].name, _(cmd_table[i].summary));
	fprintf(out, _("\nRun 'sockit COMMAND --help' for a command's options.\n"
		       "  -h, --help     show this help\n"
		       "  -V, --version  show the version\n"));
}

int main(int argc, char **argv)
{
	i18n_init();
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0) {
		printf("sockit %s\n", SOCKIT_VERSION);
		return 0;
	}
	for (size_t i = 0; i < NCMDS; i++) {
		if (strcmp(name, cmd_table[i].name) == 0)
			return cmd_table[i].exec(argc - 1, argv + 1);
	}
	fprintf(stderr, _("sockit: unknown command '%s'\nTry 'sockit --help'.\n"), name);
	return EXIT_USAGE;
}
