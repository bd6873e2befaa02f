/* fuzz_schema.h - one option table with every option type, shared by the harnesses that
 * fuzz opt_set (fuzz_opt.c) and the config file parser over it (fuzz_config.c). */
#ifndef SOCKIT_FUZZ_SCHEMA_H
#define SOCKIT_FUZZ_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "opt.h"

struct fuzz_config {
	bool flag;
	unsigned count;
	size_t bytes;
	unsigned ms;
	char *text;
};

static const struct opt_desc options[] = {
	{.name = "flag", .type = OPT_BOOL, .offset = offsetof(struct fuzz_config, flag)},
	{.name = "count",
	 .type = OPT_UINT,
	 .offset = offsetof(struct fuzz_config, count),
	 .min = 1,
	 .max = 1000000},
	{.name = "bytes",
	 .type = OPT_SIZE,
	 .offset = offsetof(struct fuzz_config, bytes),
	 .min = 4096,
	 .max = 1ull << 30},
	{.name = "ms",
	 .type = OPT_SECONDS,
	 .offset = offsetof(struct fuzz_config, ms),
	 .min = 0,
	 .max = 86400000},
	{.name = "text", .type = OPT_STRING, .offset = offsetof(struct fuzz_config, text)},
	OPT_END,
};

#endif
