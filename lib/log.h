/*
 * Logging.  One call, nt_log(), for every message a sysadmin may read.
 * Where the words go (stderr, syslog, or a function the simulator installs
 * to stamp virtual time) is decided once by the program, never by the code
 * that logs, so the sans-I/O core can log without doing I/O itself.
 */
#ifndef NTIMED_LOG_H
#define NTIMED_LOG_H

#include <stdarg.h>

enum nt_log_level {
	NT_LOG_ERR = 0,
	NT_LOG_WARNING,
	NT_LOG_NOTICE,
	NT_LOG_INFO,
	NT_LOG_DEBUG,
};

enum nt_log_dest {
	NT_LOG_STDERR = 0,
	NT_LOG_SYSLOG,
	NT_LOG_NONE,
};

typedef void nt_log_sink(void *ctx, enum nt_log_level lvl, const char *msg);

void nt_log_setup(enum nt_log_dest dest, enum nt_log_level max_level,
    const char *ident);
void nt_log_set_level(enum nt_log_level max_level);
/* Replace the destination with a function (the simulator uses this). */
void nt_log_set_sink(nt_log_sink *sink, void *ctx);

void nt_log(enum nt_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void nt_vlog(enum nt_log_level lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

const char *nt_log_level_name(enum nt_log_level lvl);

#endif
