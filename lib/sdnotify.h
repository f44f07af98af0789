/*
 * Telling systemd how we are doing without linking libsystemd: the
 * sd_notify protocol is one datagram of "KEY=VALUE" lines to the
 * AF_UNIX socket named in $NOTIFY_SOCKET (a path, or "@name" in the
 * abstract namespace).  With no $NOTIFY_SOCKET (not started by systemd
 * as Type=notify) every call does nothing and returns 0.
 *
 *   READY=1          start-up is done (the unit becomes "active")
 *   STATUS=...       one line for "systemctl status"
 *   RELOADING=1      a reload began (end it with READY=1)
 *   STOPPING=1       we are shutting down
 *   WATCHDOG=1       we are alive (when WatchdogSec= is set)
 */
#ifndef NTIMED_SDNOTIFY_H
#define NTIMED_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Send state (newline-separated assignments).  Returns 0 or -errno. */
int nt_sd_notify(const char *state);
int nt_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The watchdog interval systemd asked for ($WATCHDOG_USEC, for this
 * process per $WATCHDOG_PID), in microseconds; 0 when there is none.
 */
uint64_t nt_sd_watchdog_usec(void);

/*
 * True when our standard error is a stream to the journal
 * ($JOURNAL_STREAM names its device and inode): a daemon then logs
 * through syslog(3), which the journal stores with each line's level,
 * instead of as plain text.
 */
bool nt_sd_stderr_is_journal(void);

#endif
