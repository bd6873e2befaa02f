/* opt.c - typed option tables shared by the command line, the config file and --help. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "i18n.h"
#include "opt.h"

const struct opt_desc *opt_find(const struct opt_desc *table, const char *name)
{
	for (; table != NULL && table->name != NULL; table++) {
		if (strcmp(table->name, name) == 0)
			return table;
	}
	return NULL;
}

static void *field(const struct opt_desc *d, void *config)
{
	return (char *)config + d->offset;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Digits only: strtoull would accept " -5" and wrap it. */
static int parse_ull(const char *v, unsigned long long *out, const char **end)
{
	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	char *e;
	*out = strtoull(v, &e, 10);
	if (errno != 0)
		return -1;
	*end = e;
	return 0;
}

int opt_parse_uint(const char *text, unsigned long long min, unsigned long long max,
		   unsigned long long *out)
{
	const char *end;
	if (parse_ull(text, out, &end) < 0 || *end != '\0' || *out < min || *out > max)
		return -1;
	return 0;
}

static int parse_size(const char *v, unsigned long long *out)
{
	const char *end;
	if (parse_ull(v, out, &end) < 0)
		return -1;
	unsigned shift = 0;
	if (*end == 'k' || *end == 'K')
		shift = 10;
	else if (*end == 'm' || *end == 'M')
		shift = 20;
	else if (*end == 'g' || *end == 'G')
		shift = 30;
	if (shift != 0) {
		end++;
		if (*out > (~0ull >> shift))
			return -1;
		*out <<= shift;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	return *end == '\0' ? 0 : -1;
}

static int parse_ms(const char *v, unsigned long long *out)
{
	if ((*v < '0' || *v > '9') && *v != '.')
		return -1;
	char *end;
	errno = 0;
	double s = strtod(v, &end);
	if (errno != 0 || *end != '\0' || !isfinite(s) || s < 0 || s > 1e9)
		return -1;
	*out = (unsigned long long)llround(s * 1000.0);
	return 0;
}

int opt_set(const struct opt_desc *d, void *config, const char *value, bool for_config, char *err,
	    size_t errlen)
{
	const char *dash = for_config ? "" : "--";
	unsigned long long n = 0;
	switch (d->type) {
	case OPT_BOOL: {
		bool b;
		if (parse_bool(value, &b) < 0) {
			snprintf(err, errlen, _("%s%s: expected true or false, got '%s'"), dash,
				 d->name, value);
			return -1;
		}
		*(bool *)field(d, config) = b;
		return 0;
	}
	case OPT_UINT:
		if (opt_parse_uint(value, d->min, d->max, &n) < 0) {
			snprintf(err, errlen,
				 _("%s%s: expected a whole number from %llu to %llu, got '%s'"),
				 dash, d->name, d->min, d->max, value);
			return -1;
		}
		*(unsigned *)field(d, config) = (unsigned)n;
		return 0;
	case OPT_SIZE:
		if (parse_size(value, &n) < 0 || n < d->min || n > d->max) {
			snprintf(err, errlen,
				 _("%s%s: expected a size from %llu to %llu bytes "
				   "(K, M, G suffixes), "
				   "got '%s'"),
				 dash, d->name, d->min, d->max, value);
			return -1;
		}
		*(size_t *)field(d, config) = (size_t)n;
		return 0;
	case OPT_SECONDS:
		if (parse_ms(value, &n) < 0 || n < d->min || n > d->max) {
			snprintf(err, errlen, _("%s%s: expected seconds from %g to %g, got '%s'"),
				 dash, d->name, (double)d->min / 1000.0, (double)d->max / 1000.0,
				 value);
			return -1;
		}
		*(unsigned *)field(d, config) = (unsigned)n;
		return 0;
	case OPT_STRING: {
		char why[256];
		if (d->check != NULL && d->check(value, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s%s: %s", dash, d->name, why);
			return -1;
		}
		char *copy = strdup(value);
		if (copy == NULL) {
			snprintf(err, errlen, _("%s%s: out of memory"), dash, d->name);
			return -1;
		}
		char **slot = field(d, config);
		free(*slot);
		*slot = copy;
		return 0;
	}
	}
	return -1;
}

static void format_default(const struct opt_desc *d, const void *defaults, char *out, size_t len)
{
	const char *p = (const char *)defaults + d->offset;
	out[0] = '\0';
	switch (d->type) {
	case OPT_BOOL:
		break;
	case OPT_UINT:
		snprintf(out, len, "%u", *(const unsigned *)(const void *)p);
		break;
	case OPT_SIZE:
		snprintf(out, len, "%zu", *(const size_t *)(const void *)p);
		break;
	case OPT_SECONDS:
		snprintf(out, len, "%g", *(const unsigned *)(const void *)p / 1000.0);
		break;
	case OPT_STRING: {
		const char *s = *(char *const *)(const void *)p;
		if (s != NULL)
			snprintf(out, len, "%s", s);
		break;
	}
	}
}

void opt_print_help(FILE *out, const struct opt_desc *table, const void *defaults)
{
	for (; table != NULL && table->name != NULL; table++) {
		char flag[64], def[64];
		snprintf(flag, sizeof(flag), "--%s%s%s", table->name, table->metavar ? " " : "",
			 table->metavar ? table->metavar : "");
		format_default(table, defaults, def, sizeof(def));
		fprintf(out, "  %-26s %s", flag, table->help ? _(table->help) : "");
		if (def[0] != '\0')
			fprintf(out, _(" (default: %s)"), def);
		fputc('\n', out);
	}
}
