/* log.h - the one logger: levels, to stderr; the only place that prints diagnostics. */
#ifndef SOCKIT_LOG_H
#define SOCKIT_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Log to path (appending, created 0640) instead of stderr. 0 or -errno. The path is kept,
 * not copied: it must outlive the logger. */
int log_open_file(const char *path);
/* Reopen the log file after rotation (SIGHUP); no-op on stderr. 0 or -errno. */
int log_reopen(void);
/* Back to stderr. */
void log_close(void);

__attribute__((format(printf, 2, 3))) void log_msg(enum log_level level, const char *fmt, ...);
#define log_error(...)     log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)      log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)      log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)     log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_enabled(level) (log_get_level() >= (level))

#endif
