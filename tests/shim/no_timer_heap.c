/* no_timer_heap.c - an LD_PRELOAD shim for tests: realloc fails with ENOMEM when called from
 * the code ranges given (ev_timer_start's, from nm -S), so the event loop's timer heap cannot
 * grow and ev_timer_start returns -ENOMEM, as on a machine out of memory.
 * SOCKIT_FAULT_RANGES="ADDR:SIZE[,ADDR:SIZE...]" in hex, as nm prints them.
 * SOCKIT_FAULT_MIN_SIZE=BYTES: only requests of at least this many bytes fail, so each loop
 * gets its first heap and the failure comes at the first timer past it. */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define RANGES_MAX 8

static struct {
	uintptr_t lo, hi;
} ranges[RANGES_MAX];
static size_t nranges;
static size_t min_size;

void *realloc(void *p, size_t n);

/* The first object dl_iterate_phdr reports is the executable: its load bias (PIE). */
static int executable_bias(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(uintptr_t *)data = info->dlpi_addr;
	return 1;
}

__attribute__((constructor)) static void ranges_load(void)
{
	const char *min = getenv("SOCKIT_FAULT_MIN_SIZE");
	if (min != NULL)
		min_size = (size_t)strtoull(min, NULL, 10);
	const char *text = getenv("SOCKIT_FAULT_RANGES");
	uintptr_t bias = 0;
	dl_iterate_phdr(executable_bias, &bias);
	while (text != NULL && *text != '\0' && nranges < RANGES_MAX) {
		char *end;
		uintptr_t addr = (uintptr_t)strtoull(text, &end, 16);
		if (*end != ':')
			break;
		uintptr_t size = (uintptr_t)strtoull(end + 1, &end, 16);
		ranges[nranges].lo = bias + addr;
		ranges[nranges].hi = bias + addr + size;
		nranges++;
		text = *end == ',' ? end + 1 : end;
	}
}

void *realloc(void *p, size_t n)
{
	static void *(*next)(void *, size_t);
	uintptr_t from = (uintptr_t)__builtin_return_address(0);
	for (size_t i = 0; i < nranges && n >= min_size; i++) {
		if (from >= ranges[i].lo && from < ranges[i].hi) {
			errno = ENOMEM;
			return NULL;
		}
	}
	if (next == NULL)
		*(void **)&next = dlsym(RTLD_NEXT, "realloc");
	return next(p, n);
}
