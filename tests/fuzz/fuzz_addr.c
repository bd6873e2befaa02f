/* fuzz_addr.c - addr_parse and addr_parse_host_port on any text; what parses must format
 * and parse back to the same spec. */
#include <string.h>

#include "addr.h"
#include "fuzz.h"

#define FUZZ_MAX_INPUT 1024 /* well past ADDR_TEXT_MAX: long inputs must be refused cleanly */

static void check_round_trip(const struct addr_spec *spec)
{
	char text[ADDR_TEXT_MAX], err[256];
	int n = addr_format(spec, text, sizeof(text));
	FUZZ_CHECK(n >= 0 && (size_t)n < sizeof(text));
	struct addr_spec again;
	if (addr_parse(text, spec->transport, &again, err, sizeof(err)) < 0)
		return; /* e.g. an empty host formats as "tcp::9" which only some callers accept */
	FUZZ_CHECK(again.transport == spec->transport);
	FUZZ_CHECK(again.port == spec->port);
	FUZZ_CHECK(strcmp(again.host, spec->host) == 0);
	FUZZ_CHECK(strcmp(again.path, spec->path) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	char text[FUZZ_MAX_INPUT + 1];
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	enum addr_transport dflt = (enum addr_transport)(data[0] % 3);
	struct addr_spec spec;
	char err[512];
	memset(err, 'x', sizeof(err));
	if (addr_parse(text, dflt, &spec, err, sizeof(err)) == 0) {
		FUZZ_CHECK(strlen(spec.host) <= ADDR_HOST_MAX);
		FUZZ_CHECK(strlen(spec.path) <= ADDR_PATH_MAX);
		check_round_trip(&spec);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	}
	/* The same bytes as the nc habit "HOST PORT": split at the first space. */
	char *space = strchr(text, ' ');
	if (space != NULL) {
		*space = '\0';
		if (addr_parse_host_port(text, space + 1, dflt == ADDR_UNIX ? ADDR_TCP : dflt,
					 &spec, err, sizeof(err)) == 0)
			check_round_trip(&spec);
	}
	return 0;
}
