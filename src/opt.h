/* opt.h - typed option tables: one description serves the command line, the config file
 * and --help. Values land at an offset in the owner's config struct. */
#ifndef SOCKIT_OPT_H
#define SOCKIT_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum opt_type {
	OPT_BOOL,    /* a switch; in a config file: true/false/yes/no/on/off/1/0 */
	OPT_UINT,    /* unsigned, within [min, max] */
	OPT_SIZE,    /* bytes, with an optional K, M or G suffix (powers of 1024) */
	OPT_SECONDS, /* seconds, decimals allowed, stored as unsigned milliseconds */
	OPT_STRING,  /* a copy, stored as char * (owner frees) */
};

struct opt_desc {
	const char *name; /* long flag without "--", and the config key */
	enum opt_type type;
	size_t offset;
	unsigned long long min, max; /* OPT_UINT, OPT_SIZE; OPT_SECONDS in ms */
	const char *metavar;
	const char *help;
	/* OPT_STRING: optional check of the value; 0, or -1 with why (e.g. "expected a tcp
	 * address, got 'x'") that opt_set prefixes with the option's name. */
	int (*check)(const char *value, char *why, size_t whylen);
};

/* clang-format would spread this braced initializer over four lines */
/* clang-format off */
#define OPT_END {.name = NULL}
/* clang-format on */

const struct opt_desc *opt_find(const struct opt_desc *table, const char *name);
/* Parse value into config. Returns 0, or -1 with e.g. "--max-conns: expected a whole number
 * from 1 to 1000000, got 'x'" (without the "--" prefix when for_config). */
int opt_set(const struct opt_desc *desc, void *config, const char *value, bool for_config,
	    char *err, size_t errlen);
/* text is a whole number (digits only, nothing after) within [min, max]: 0, or -1. For
 * checks of OPT_STRING values that may also be a number ("auto" or microseconds). */
int opt_parse_uint(const char *text, unsigned long long min, unsigned long long max,
		   unsigned long long *out);
/* "  --max-conns N   help (default: 10000)" lines. */
void opt_print_help(FILE *out, const struct opt_desc *table, const void *defaults);

#endif
