/* fuzz_config.c - the serve configuration file on any text, against a schema with every
 * option type and a listen key. */
#include <string.h>

#include "addr.h"
#include "config.h"
#include "fuzz.h"
#include "fuzz_schema.h"
#include "opt.h"

#define FUZZ_MAX_INPUT 16384 /* many lines, and some past CONFIG_LINE_MAX */

static int on_listen(void *arg, size_t section, const char *value, char *err, size_t errlen)
{
	(void)arg;
	(void)section;
	struct addr_spec spec;
	return addr_parse(value, ADDR_TCP, &spec, err, errlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	struct fuzz_config serve = {0}, echo = {0};
	const struct config_section sections[] = {
		{.name = "serve", .options = options, .config = &serve},
		{.name = "echo", .options = options, .config = &echo, .has_listen = true},
	};
	const struct config_schema schema = {
		.sections = sections, .nsections = 2, .listen = on_listen};
	char err[CONFIG_ERR_LEN];
	char *text = malloc(size ? size : 1); /* exact size: ASan sees any read past the end */
	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	if (config_parse(&schema, "fuzz.conf", text, size, err, sizeof(err)) < 0)
		FUZZ_CHECK(strncmp(err, "fuzz.conf:", 10) == 0);
	free(serve.text);
	free(echo.text);
	free(text);
	return 0;
}
