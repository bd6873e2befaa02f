/* log.c - timestamped lines on stderr (or a file reopened on SIGHUP). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level current_level = LOG_WARN;
static const char *log_path; /* NULL: stderr */
/* Our own descriptor for the log, never stderr itself: stderr stays the place for startup
 * messages and sanitizer reports, and a reopen swaps the file under this number with dup2,
 * so a line is never written to a closed fd. */
static int log_fd = STDERR_FILENO;

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

int log_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (log_fd == STDERR_FILENO) {
		log_fd = fd;
	} else if (fd != log_fd) {
		if (dup3(fd, log_fd, O_CLOEXEC) < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		close(fd);
	}
	log_path = path;
	return 0;
}

int log_reopen(void)
{
	return log_path != NULL ? log_open_file(log_path) : 0;
}

void log_close(void)
{
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	log_path = NULL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	if (level > current_level)
		return;
	char line[2048];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	int n = (int)strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	n += snprintf(line + n, sizeof(line) - (size_t)n,
		      ".%03ld sockit %s: ", ts.tv_nsec / 1000000, names[level]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line, so lines from several threads never interleave. */
	ssize_t w = write(log_fd, line, (size_t)n);
	(void)w;
}
