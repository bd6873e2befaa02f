/* log.h - the one logger: levels, to stderr; the only place that prints diagnostics. */
#ifndef SOCKIT_LOG_H
#define SOCKIT_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Reopen the log file after rotation (SIGHUP); no-op on stderr. */
int log_open_file(const char *path);
void log_reopen(void);

__attribute__((format(printf, 2, 3))) void log_msg(enum log_level level, const char *fmt, ...);
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_enabled(level) (log_get_level() >= (level))

#endif
