/*
 * The sock driver: chrony's SOCK refclock protocol, which gpsd speaks
 * (it sends to /run/chrony.DEVICE.sock when that socket exists).  We
 * create a Unix datagram socket at 'path', readable and writable by our
 * user only (gpsd runs as root), and each datagram is one sample: the
 * system time it was taken at, the reference's offset from it, a pulse
 * flag (a PPS edge: offset valid modulo 1 s) and leap bits.
 *
 * A stale file at the path is replaced only if it is a socket; anything
 * else there is an error, never deleted.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "ntp_pkt.h"
#include "refclock.h"

#define SOCK_MAX_AGE	10.0	/* s: a sample is sent when it is taken */

struct sock {
	int		fd;
	struct nt_rc_refusals bad;	/* kinds: enum nt_sock_verdict */
};

static nt_time
taken(const struct nt_sock_sample *s)
{
	return ((nt_time)s->tv.tv_sec * NT_SEC + (nt_time)s->tv.tv_usec * 1000);
}

enum nt_sock_verdict
nt_sock_decode(const void *buf, size_t len, struct nt_sock_sample *out)
{
	if (len != sizeof *out)
		return (NT_SOCK_SIZE);
	memcpy(out, buf, sizeof *out);
	if (out->magic != NT_SOCK_MAGIC)
		return (NT_SOCK_MAGIC_BAD);
	if (out->tv.tv_usec < 0 || out->tv.tv_usec > 999999 ||
	    !NT_RC_SEC_OK(out->tv.tv_sec))
		return (NT_SOCK_BADTIME);
	switch (nt_refclock_check_time(taken(out), out->offset, out->leap, 2,
	    NULL, 0)) {
	case NT_RCC_OK:
		return (NT_SOCK_OK);
	case NT_RCC_LEAP:
		return (NT_SOCK_LEAP);
	default:
		return (NT_SOCK_BADTIME);
	}
}

const char *
nt_sock_strerror(enum nt_sock_verdict v)
{
	switch (v) {
	case NT_SOCK_OK:
		return ("ok");
	case NT_SOCK_SIZE:
		return ("wrong size");
	case NT_SOCK_MAGIC_BAD:
		return ("wrong magic number");
	case NT_SOCK_BADTIME:
		return ("time out of range");
	case NT_SOCK_LEAP:
		return ("bad leap value");
	case NT_SOCK_STALE:
		return ("timestamp more than 10 s from now");
	}
	return ("?");
}

/* Remove a stale socket at path; refuse to touch anything else. */
static int
clear_path(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return (0);
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket; not "
		    "removing it", path);
		return (-EEXIST);
	}
	if (unlink(path) != 0) {
		snprintf(err, errlen, "cannot remove the old socket %s: %s",
		    path, strerror(errno));
		return (-errno);
	}
	return (0);
}

static int
sock_open(struct nt_refclock *rc, char *err, size_t errlen)
{
	const char *path = rc->conf->path;
	struct sockaddr_un sun;
	struct sock *st;
	int fd, r;

	assert(strlen(path) < sizeof sun.sun_path);	/* conf checks */
	if ((r = clear_path(path, err, errlen)) < 0)
		return (r);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return (r);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof sun.sun_path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
	    chmod(path, 0600) != 0) {
		r = -errno;
		nt_refclock_open_error(path, errno, err, errlen);
		close(fd);
		return (r);
	}
	st = calloc(1, sizeof *st);
	assert(st != NULL);
	st->fd = fd;
	rc->priv = st;
	return (fd);
}

static void
sock_close(struct nt_refclock *rc)
{
	struct sock *st = rc->priv;

	if (st == NULL)
		return;
	close(st->fd);
	(void)unlink(rc->conf->path);
	free(st);
	rc->priv = NULL;
}

static void
to_sample(struct nt_refclock *rc, const struct nt_sock_sample *ss,
    struct nt_refclock_sample *out)
{
	struct timespec ts = { .tv_sec = ss->tv.tv_sec,
	    .tv_nsec = ss->tv.tv_usec * 1000 };
	nt_time kernel = nt_from_timespec(&ts);
	nt_time local = rc->clk->ops->from_kernel(rc->clk, kernel);

	memset(out, 0, sizeof *out);
	out->local = local;
	/* reference = kernel + offset; we want reference - local. */
	out->offset = ss->offset + nt_diff(kernel, local);
	out->leap = ss->leap;
	out->pulse = ss->pulse != 0;
	out->n = 1;
}

/* Log a bad datagram (each kind once, then every 100th), with details. */
static void
refuse(struct nt_refclock *rc, struct sock *st, enum nt_sock_verdict v,
    const struct nt_sock_sample *ss, ssize_t n)
{
	char why[NT_RC_ERRLEN] = "";

	if (v == NT_SOCK_BADTIME || v == NT_SOCK_LEAP)
		(void)nt_refclock_check_time(taken(ss), ss->offset, ss->leap,
		    2, why, sizeof why);
	(void)nt_refclock_refused(rc, &st->bad, v, "bad datagram (%zd bytes, "
	    "expected %zu): %s%s%s", n, sizeof *ss, nt_sock_strerror(v),
	    why[0] != '\0' ? ": " : "", why);
}

static int
sock_read(struct nt_refclock *rc, struct nt_refclock_sample *out, size_t max,
    char *err, size_t errlen)
{
	struct sock *st = rc->priv;
	struct nt_sock_sample ss;
	enum nt_sock_verdict v;
	uint8_t buf[sizeof ss + 64];
	size_t n_out = 0;
	ssize_t n;

	while (n_out < max) {
		n = recv(st->fd, buf, sizeof buf, MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			snprintf(err, errlen, "receive error: %s",
			    strerror(errno));
			return (-errno);
		}
		v = nt_sock_decode(buf, (size_t)n, &ss);
		if (v == NT_SOCK_OK) {
			to_sample(rc, &ss, &out[n_out]);
			if (fabs(nt_diff(nt_clock_now(rc->clk),
			    out[n_out].local)) > SOCK_MAX_AGE)
				v = NT_SOCK_STALE;
		}
		if (v != NT_SOCK_OK) {
			refuse(rc, st, v, &ss, n);
			continue;
		}
		n_out++;
	}
	return ((int)n_out);
}

const struct nt_refclock_driver nt_rc_sock = {
	.name = "sock",
	.refid = "SOCK",
	.options = NT_RCO_PATH | NT_RCO_PPS,
	.required = NT_RCO_PATH,
	.poll = 4,
	.precision = 1e-6,
	.interval = 0,
	.open = sock_open,
	.read = sock_read,
	.close = sock_close,
};
