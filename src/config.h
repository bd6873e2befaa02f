/* config.h - the `sockit serve` configuration file: INI-like `[section]`s of `key = value`
 * lines, checked against the same opt_desc tables as the command-line flags. */
#ifndef SOCKIT_CONFIG_H
#define SOCKIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "opt.h"

#define CONFIG_LINE_MAX 4096       /* bytes per line, newline excluded */
#define CONFIG_FILE_MAX (1u << 20) /* a config file larger than this is a mistake */
#define CONFIG_ERR_LEN  768

/* `listen = ADDR` in section number `section`. Returns 0, or -1 with err saying what was
 * wrong with value (without the FILE:LINE prefix). */
typedef int (*config_listen_fn)(void *arg, size_t section, const char *value, char *err,
				size_t errlen);

struct config_section {
	const char *name;               /* "serve", "echo": written [serve], [echo] */
	const struct opt_desc *options; /* its keys (besides listen); may be NULL */
	void *config;                   /* where those options land */
	bool has_listen;                /* accepts repeatable `listen = ADDR` */
};

struct config_schema {
	const struct config_section *sections;
	size_t nsections;
	config_listen_fn listen;
	void *listen_arg;
};

/* Parse len bytes of text; `path` only names the file in messages. Blank lines and lines
 * starting with '#' or ';' are skipped; keys and values are trimmed. Returns 0, or -1 with
 * err as "PATH:LINE: what was wrong, and what was expected". */
int config_parse(const struct config_schema *schema, const char *path, const char *text, size_t len,
		 char *err, size_t errlen);

/* Read the file at path (at most CONFIG_FILE_MAX bytes) and config_parse it. */
int config_load(const struct config_schema *schema, const char *path, char *err, size_t errlen);

#endif
