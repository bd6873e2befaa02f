/* cli.c - helpers shared by the subcommands. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "opt.h"

void cli_error(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sockit: %s\n", line);
}

int cli_exit_for_errno(int errnum)
{
	switch (errnum) {
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
		return EXIT_UNAVAIL;
	default:
		return EXIT_RUNTIME;
	}
}

void cli_usage_exit_codes(FILE *out)
{
	fputc('\n', out);
	fputs(_("Exit status: 0 on success, 69 when the server cannot be reached (refused,\n"
		"unreachable, or not connected within the timeout), 64 for a bad command line.\n"),
	      out);
}

void cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, _("sockit: %s\nTry 'sockit %s%s--help'.\n"), line, cmd ? cmd : "",
		cmd ? " " : "");
	exit(EXIT_USAGE);
}

void cli_bad_option(const char *cmd, int c, char **argv, const struct option *longopts)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	char name[64];
	/* A long option is named as typed; a short one by its letter, as clusters like "-ux"
	 * leave optind on the same word. */
	if (strncmp(arg, "--", 2) == 0 || optopt == 0)
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	else
		snprintf(name, sizeof(name), "-%c", optopt);
	if (c == ':')
		cli_usage_error(cmd, _("option '%s' needs a value"), name);
	for (; longopts != NULL && longopts->name != NULL; longopts++) {
		if (strncmp(name, "--", 2) == 0 && strcmp(name + 2, longopts->name) == 0)
			cli_usage_error(cmd, _("option '%s' takes no value"), name);
	}
	cli_usage_error(cmd, _("unknown option '%s'"), name);
}

void cli_parse_client_addr(const char *cmd, int *argc, char ***argv, const char *default_spec,
			   enum addr_transport default_transport, struct addr_spec *out)
{
	char err[512];
	int rc;
	if (*argc >= 2 && (*argv)[1][0] != '\0' && (*argv)[1][0] >= '0' && (*argv)[1][0] <= '9' &&
	    addr_parse((*argv)[0], default_transport, out, err, sizeof(err)) < 0) {
		/* "HOST PORT", nc style: the first operand is not a spec, the second a number. */
		rc = addr_parse_host_port((*argv)[0], (*argv)[1], default_transport, out, err,
					  sizeof(err));
		*argc -= 2;
		*argv += 2;
	} else if (*argc >= 1) {
		rc = addr_parse((*argv)[0], default_transport, out, err, sizeof(err));
		*argc -= 1;
		*argv += 1;
	} else {
		rc = addr_parse(default_spec, default_transport, out, err, sizeof(err));
	}
	if (rc < 0)
		cli_usage_error(cmd, "%s", err);
	if (out->transport != ADDR_UNIX && out->host[0] == '\0')
		snprintf(out->host, sizeof(out->host), "127.0.0.1");
}

int cli_parse_timeout(const char *cmd, const char *text)
{
	long ms = cli_parse_seconds(text);
	if (ms <= 0)
		cli_usage_error(cmd, _("--timeout: expected seconds > 0, got '%s'"), text);
	return ms > 1 << 30 ? 1 << 30 : (int)ms;
}

unsigned long long cli_parse_uint(const char *cmd, const char *opt, const char *text,
				  unsigned long long min, unsigned long long max)
{
	unsigned long long v;
	if (opt_parse_uint(text, min, max, &v) < 0)
		cli_usage_error(cmd, _("--%s: expected %llu-%llu, got '%s'"), opt, min, max, text);
	return v;
}

#define LOOP_FDS_MIN 64
#define LOOP_FDS_MAX 65536

int cli_loop_max_fds(void)
{
	long n = sysconf(_SC_OPEN_MAX);
	return n < LOOP_FDS_MIN ? LOOP_FDS_MIN : n > LOOP_FDS_MAX ? LOOP_FDS_MAX : (int)n;
}

long cli_parse_seconds(const char *text)
{
	char *end;
	errno = 0;
	double s = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !isfinite(s) || s < 0 || s > 86400)
		return -1;
	return (long)llround(s * 1000.0);
}

int cli_raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > 1 << 24 ? 1 << 24 : (int)rl.rlim_cur;
}
