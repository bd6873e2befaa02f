/* cli.h - helpers shared by the subcommands: program name, errors, address arguments. */
#ifndef SOCKIT_CLI_H
#define SOCKIT_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "addr.h"

/* Exit codes, as in sysexits(3) where one fits. A client that cannot reach its server
 * (refused, unreachable, no name, no connection within --timeout) exits EXIT_UNAVAIL; 1 is
 * for a failure once connected (a send or receive fails, no reply in time). */
enum {
	EXIT_RUNTIME = 1,   /* a failure at run time that no code below names */
	EXIT_USAGE = 64,    /* bad command line */
	EXIT_DATAERR = 65,  /* bad input data or reply */
	EXIT_UNAVAIL = 69,  /* could not reach the service */
	EXIT_SOFTWARE = 70, /* internal error */
	EXIT_OSERR = 71,    /* a system call failed */
	EXIT_CONFIG = 78,   /* bad configuration */
};

__attribute__((format(printf, 1, 2))) void cli_error(const char *fmt, ...);

/* The exit code for a client's send or receive that failed with errnum: EXIT_UNAVAIL when it
 * says no server is there (a udp client learns of a closed port or an unreachable host only
 * from the ICMP error its first exchange brings back), else EXIT_RUNTIME. */
int cli_exit_for_errno(int errnum);
/* The clients' --help ends with their exit codes, said once for all of them. */
void cli_usage_exit_codes(FILE *out);
/* cli_error plus "Try 'sockit CMD --help'." and exit(EXIT_USAGE). */
__attribute__((noreturn, format(printf, 2, 3))) void cli_usage_error(const char *cmd,
								     const char *fmt, ...);

struct option;
/* After getopt_long returned '?' or ':' (with opterr = 0 and an optstring starting with ':'):
 * "unknown option '--x'", "option '--timeout' needs a value" or "option '--plain' takes no
 * value", as a usage error. */
__attribute__((noreturn)) void cli_bad_option(const char *cmd, int c, char **argv,
					      const struct option *longopts);

/* Client address from the operands left after options: none (use default_spec), "ADDR",
 * or the nc habit "HOST PORT". Consumes what it used; returns 0 or exits with a usage error. */
void cli_parse_client_addr(const char *cmd, int *argc, char ***argv, const char *default_spec,
			   enum addr_transport default_transport, struct addr_spec *out);

/* Raise the soft open-file limit to the hard one (as redis and nginx do), so that many
 * connections fit. Returns the limit now in force (capped at 2^24). */
int cli_raise_fd_limit(void);

/* How many fd numbers a client's event loop must cover: the fd limit (at most 65536), not
 * the few fds it watches, as the loop indexes watches by fd number and a client started by a
 * busy parent may inherit many. */
int cli_loop_max_fds(void);

/* Parse a decimal timeout in seconds ("2", "0.5") to milliseconds; -1 if invalid. */
long cli_parse_seconds(const char *text);
/* The clients' --timeout: seconds > 0 to milliseconds (at most 2^30), or a usage error. */
int cli_parse_timeout(const char *cmd, const char *text);
/* A whole-number option (digits only) within [min, max], or a usage error naming --opt and
 * the range. */
unsigned long long cli_parse_uint(const char *cmd, const char *opt, const char *text,
				  unsigned long long min, unsigned long long max);

#endif
