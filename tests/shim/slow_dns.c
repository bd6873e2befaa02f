/* slow_dns.c - an LD_PRELOAD shim for tests: looking up the name in SOCKIT_SLOW_NAME takes
 * SOCKIT_SLOW_MS milliseconds and then answers 127.0.0.1, like a slow DNS server; the name in
 * SOCKIT_FAIL_NAME fails at once (EAI_NONAME), whatever the machine's resolver would do with
 * it. Numeric lookups (AI_NUMERICHOST, which never ask a server) and other names pass
 * straight through. */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res);

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	static int (*next)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	if (next == NULL)
		*(void **)&next = dlsym(RTLD_NEXT, "getaddrinfo");
	const char *slow = getenv("SOCKIT_SLOW_NAME");
	const char *fail = getenv("SOCKIT_FAIL_NAME");
	bool numeric_only = hints != NULL && (hints->ai_flags & AI_NUMERICHOST);
	if (node != NULL && fail != NULL && strcmp(node, fail) == 0 && !numeric_only)
		return EAI_NONAME;
	if (node != NULL && slow != NULL && strcmp(node, slow) == 0 && !numeric_only) {
		const char *ms_text = getenv("SOCKIT_SLOW_MS");
		long ms = ms_text != NULL ? atol(ms_text) : 0;
		struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L};
		while (nanosleep(&left, &left) < 0 && errno == EINTR)
			;
		node = "127.0.0.1";
	}
	return next(node, service, hints, res);
}
