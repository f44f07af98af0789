/*
 * The single place log messages are formatted and sent.  Messages are one
 * line each, with controls and bytes that are not UTF-8 escaped (a device
 * path or a host name may hold any byte); a message above the configured
 * level costs one comparison.
 */
#include <stdio.h>
#include <syslog.h>

#include "hostport.h"
#include "log.h"

static enum nt_log_dest log_dest = NT_LOG_STDERR;
static enum nt_log_level log_max = NT_LOG_NOTICE;
static nt_log_sink *log_sink;
static void *log_sink_ctx;

static const char * const level_names[] = {
	[NT_LOG_ERR] = "error",
	[NT_LOG_WARNING] = "warning",
	[NT_LOG_NOTICE] = "notice",
	[NT_LOG_INFO] = "info",
	[NT_LOG_DEBUG] = "debug",
};

static const int syslog_prio[] = {
	[NT_LOG_ERR] = LOG_ERR,
	[NT_LOG_WARNING] = LOG_WARNING,
	[NT_LOG_NOTICE] = LOG_NOTICE,
	[NT_LOG_INFO] = LOG_INFO,
	[NT_LOG_DEBUG] = LOG_DEBUG,
};

void
nt_log_setup(enum nt_log_dest dest, enum nt_log_level max_level,
    const char *ident)
{
	log_dest = dest;
	log_max = max_level;
	log_sink = NULL;
	if (dest == NT_LOG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
nt_log_set_level(enum nt_log_level max_level)
{
	log_max = max_level;
}

void
nt_log_set_sink(nt_log_sink *sink, void *ctx)
{
	log_sink = sink;
	log_sink_ctx = ctx;
}

const char *
nt_log_level_name(enum nt_log_level lvl)
{
	if ((unsigned)lvl > NT_LOG_DEBUG)
		return ("?");
	return (level_names[lvl]);
}

void
nt_vlog(enum nt_log_level lvl, const char *fmt, va_list ap)
{
	char raw[1024], buf[2048];

	if (lvl > log_max)
		return;
	vsnprintf(raw, sizeof raw, fmt, ap);
	/* One line whatever a name from a config or a packet holds. */
	nt_printable(raw, buf, sizeof buf);
	if (log_sink != NULL) {
		log_sink(log_sink_ctx, lvl, buf);
		return;
	}
	switch (log_dest) {
	case NT_LOG_SYSLOG:
		syslog(syslog_prio[lvl], "%s", buf);
		break;
	case NT_LOG_STDERR:
		fprintf(stderr, "ntimed: %s: %s\n", level_names[lvl], buf);
		break;
	case NT_LOG_NONE:
		break;
	}
}

void
nt_log(enum nt_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nt_vlog(lvl, fmt, ap);
	va_end(ap);
}
