/* fuzz_opt.c - opt_set for every option type on any value text: it must either store a value
 * within the option's bounds or refuse with a message, never both, never overflow. */
#include <string.h>

#include "fuzz.h"
#include "fuzz_schema.h"
#include "opt.h"

#define FUZZ_MAX_INPUT 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	char value[FUZZ_MAX_INPUT];
	memcpy(value, data + 1, size - 1);
	value[size - 1] = '\0';
	const struct opt_desc *d = &options[data[0] % 5];
	struct fuzz_config cfg = {.count = 7, .bytes = 8192, .ms = 5};
	char err[256] = "";
	int rc = opt_set(d, &cfg, value, data[0] & 0x80, err, sizeof(err));
	if (rc < 0) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(cfg.count == 7 && cfg.bytes == 8192 && cfg.ms == 5 && cfg.text == NULL);
		return 0;
	}
	FUZZ_CHECK(rc == 0);
	switch (d->type) {
	case OPT_UINT:
		FUZZ_CHECK(cfg.count >= d->min && cfg.count <= d->max);
		break;
	case OPT_SIZE:
		FUZZ_CHECK(cfg.bytes >= d->min && cfg.bytes <= d->max);
		break;
	case OPT_SECONDS:
		FUZZ_CHECK(cfg.ms <= d->max);
		break;
	case OPT_STRING:
		FUZZ_CHECK(cfg.text != NULL && strcmp(cfg.text, value) == 0);
		free(cfg.text);
		break;
	case OPT_BOOL:
		break;
	}
	return 0;
}
