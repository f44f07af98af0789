/*
 * sd_notify(3) in a page: one datagram to $NOTIFY_SOCKET.  We keep the
 * environment variable (unlike sd_notify's unset_environment) so that
 * every later notification reaches systemd too.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

#define NOTIFY_MAX 4096

int
nt_sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t plen, len = strlen(state);
	socklen_t salen;
	ssize_t n;
	int fd, err = 0;

	if (path == NULL || path[0] == '\0')
		return (0);
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen < 2 ||
	    plen >= sizeof sun.sun_path)
		return (-EINVAL);
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';		/* abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
	    (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return (-errno);
	n = sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    salen);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EMSGSIZE;
	close(fd);
	return (err);
}

int
nt_sd_notifyf(const char *fmt, ...)
{
	char buf[NOTIFY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		return (-EMSGSIZE);
	return (nt_sd_notify(buf));
}

uint64_t
nt_sd_watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (usec == NULL)
		return (0);
	if (pid != NULL && strtol(pid, &end, 10) != (long)getpid())
		return (0);
	v = strtoull(usec, &end, 10);
	if (*usec == '\0' || *end != '\0')
		return (0);
	return ((uint64_t)v);
}

bool
nt_sd_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;
	char *end;

	/* "DEVICE:INODE", both decimal. */
	if (js == NULL)
		return (false);
	errno = 0;
	dev = strtoull(js, &end, 10);
	if (errno != 0 || end == js || *end != ':')
		return (false);
	js = end + 1;
	ino = strtoull(js, &end, 10);
	if (errno != 0 || end == js || *end != '\0' ||
	    fstat(STDERR_FILENO, &sb) != 0)
		return (false);
	return ((unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino);
}
