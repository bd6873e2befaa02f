/* config.c - parse the INI-like configuration file of `sockit serve` against opt tables. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "i18n.h"

#define NAMES_MAX 512 /* room for the "expected one of" lists in messages */

/* Messages quote user text that may be long; cutting it short is fine, so this wrapper keeps
 * -Wformat-truncation about it quiet. */
__attribute__((format(printf, 3, 4))) static void fail(char *err, size_t errlen, const char *fmt,
						       ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Trim [*start, *end) of blanks on both ends. */
static void trim(const char **start, const char **end)
{
	while (*start < *end && is_space(**start))
		(*start)++;
	while (*end > *start && is_space((*end)[-1]))
		(*end)--;
}

static void list_sections(const struct config_schema *schema, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < schema->nsections && used < outlen; i++)
		used += (size_t)snprintf(out + used, outlen - used, "%s[%s]", i ? ", " : "",
					 schema->sections[i].name);
}

static void list_keys(const struct config_section *sec, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	if (sec->has_listen)
		used += (size_t)snprintf(out, outlen, "listen");
	for (const struct opt_desc *o = sec->options; o && o->name && used < outlen; o++)
		used += (size_t)snprintf(out + used, outlen - used, "%s%s", used ? ", " : "",
					 o->name);
	if (used == 0)
		snprintf(out, outlen, "none");
}

static const struct config_section *find_section(const struct config_schema *schema,
						 const char *name, size_t len, size_t *index)
{
	for (size_t i = 0; i < schema->nsections; i++) {
		const char *n = schema->sections[i].name;
		if (strlen(n) == len && memcmp(n, name, len) == 0) {
			*index = i;
			return &schema->sections[i];
		}
	}
	return NULL;
}

/* One "key = value" line of section sec. Messages lack the PATH:LINE prefix. */
static int parse_assignment(const struct config_schema *schema, size_t index, const char *key,
			    const char *value, char *err, size_t errlen)
{
	const struct config_section *sec = &schema->sections[index];
	char why[CONFIG_ERR_LEN];
	if (sec->has_listen && strcmp(key, "listen") == 0) {
		if (schema->listen(schema->listen_arg, index, value, why, sizeof(why)) < 0) {
			fail(err, errlen, _("[%s] listen: %s"), sec->name, why);
			return -1;
		}
		return 0;
	}
	const struct opt_desc *d = opt_find(sec->options, key);
	if (d == NULL) {
		char names[NAMES_MAX];
		list_keys(sec, names, sizeof(names));
		fail(err, errlen, _("[%s] unknown key '%s'; expected one of: %s"), sec->name, key,
		     names);
		return -1;
	}
	if (opt_set(d, sec->config, value, true, why, sizeof(why)) < 0) {
		fail(err, errlen, "[%s] %s", sec->name, why);
		return -1;
	}
	return 0;
}

/* One line without its newline. *index is the current section, SIZE_MAX before the first. */
static int parse_line(const struct config_schema *schema, const char *start, const char *end,
		      size_t *index, char *err, size_t errlen)
{
	trim(&start, &end);
	if (start == end || *start == '#' || *start == ';')
		return 0;
	int len = (int)(end - start);
	if (*start == '[') {
		const char *name = start + 1, *name_end = end - 1;
		if (end - start < 2 || *name_end != ']') {
			fail(err, errlen, _("expected '[section]', got '%.*s'"), len, start);
			return -1;
		}
		trim(&name, &name_end);
		if (find_section(schema, name, (size_t)(name_end - name), index) == NULL) {
			char names[NAMES_MAX];
			list_sections(schema, names, sizeof(names));
			fail(err, errlen, _("unknown section [%.*s]; expected one of: %s"),
			     (int)(name_end - name), name, names);
			return -1;
		}
		return 0;
	}
	const char *eq = memchr(start, '=', (size_t)(end - start));
	if (eq == NULL) {
		fail(err, errlen, _("expected 'key = value', got '%.*s'"), len, start);
		return -1;
	}
	const char *key = start, *key_end = eq, *value = eq + 1, *value_end = end;
	trim(&key, &key_end);
	trim(&value, &value_end);
	if (key == key_end) {
		fail(err, errlen, _("expected a key before '=', got '%.*s'"), len, start);
		return -1;
	}
	char k[CONFIG_LINE_MAX + 1], v[CONFIG_LINE_MAX + 1];
	snprintf(k, sizeof(k), "%.*s", (int)(key_end - key), key);
	snprintf(v, sizeof(v), "%.*s", (int)(value_end - value), value);
	if (*index == SIZE_MAX) {
		fail(err, errlen, _("key '%s' is outside any section; expected a [section] first"),
		     k);
		return -1;
	}
	return parse_assignment(schema, *index, k, v, err, errlen);
}

int config_parse(const struct config_schema *schema, const char *path, const char *text, size_t len,
		 char *err, size_t errlen)
{
	size_t index = SIZE_MAX;
	const char *p = text, *stop = text + len;
	for (unsigned line = 1; p < stop; line++) {
		const char *nl = memchr(p, '\n', (size_t)(stop - p));
		const char *end = nl ? nl : stop;
		char why[CONFIG_ERR_LEN];
		int rc = 0;
		if ((size_t)(end - p) > CONFIG_LINE_MAX) {
			fail(why, sizeof(why), _("line longer than %d bytes"), CONFIG_LINE_MAX);
			rc = -1;
		} else if (memchr(p, '\0', (size_t)(end - p)) != NULL) {
			fail(why, sizeof(why), _("NUL byte in line; expected text"));
			rc = -1;
		} else {
			rc = parse_line(schema, p, end, &index, why, sizeof(why));
		}
		if (rc < 0) {
			fail(err, errlen, "%s:%u: %s", path, line, why);
			return -1;
		}
		p = end + 1;
	}
	return 0;
}

int config_load(const struct config_schema *schema, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *text = malloc(CONFIG_FILE_MAX + 1);
	if (text == NULL) {
		fail(err, errlen, "%s: %s", path, strerror(ENOMEM));
		goto out_close;
	}
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, text + len, CONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(err, errlen, "%s: %s", path, strerror(errno));
			goto out_free_text;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX) {
			fail(err, errlen, _("%s: larger than %u bytes"), path, CONFIG_FILE_MAX);
			goto out_free_text;
		}
	}
	close(fd);
	int rc = config_parse(schema, path, text, len, err, errlen);
	free(text);
	return rc;

out_free_text:
	free(text);
out_close:
	close(fd);
	return -1;
}
