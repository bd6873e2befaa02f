/* replay.c - a main for the fuzz harnesses in ordinary builds: runs each file (or each file
 * of each directory) given once through LLVMFuzzerTestOneInput, so every seed and every past
 * crash is a regression test of `make test`, and the harnesses keep compiling without clang. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (1 << 20) /* past every harness's cap; larger files are an error */

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "replay: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	uint8_t *data = malloc(REPLAY_MAX_INPUT);
	if (data == NULL) {
		fclose(f);
		return -1;
	}
	size_t n = fread(data, 1, REPLAY_MAX_INPUT, f);
	int rc = ferror(f) || !feof(f) ? -1 : 0;
	fclose(f);
	if (rc == 0) {
		/* an exact-size copy, so a read past the input is one past its allocation */
		uint8_t *input = malloc(n ? n : 1);
		if (input == NULL) {
			rc = -1;
		} else {
			memcpy(input, data, n);
			LLVMFuzzerTestOneInput(input, n);
			free(input);
		}
	} else {
		fprintf(stderr, "replay: read %s: error or larger than %d bytes\n", path,
			REPLAY_MAX_INPUT);
	}
	free(data);
	return rc;
}

static int replay_path(const char *path, size_t *count)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort); /* sorted: the same order every run */
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			char file[4096];
			snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
			if (replay_path(file, count) < 0)
				rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		if (replay_path(argv[i], &count) < 0)
			rc = 1;
	}
	printf("replayed %zu input(s)\n", count);
	return count == 0 ? 1 : rc;
}
