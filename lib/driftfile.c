/*
 * Reading and atomically replacing the drift file (see driftfile.h).
 * The file is small and read once at start, so the reader is strict: it
 * refuses anything but two finite numbers, rather than start the clock at
 * a wild rate from a damaged file.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driftfile.h"

/* chrony writes "%20.6f %20.6f\n" (42 bytes); anything much longer is junk. */
#define DRIFT_MAX_BYTES 256

static const char drift_form[] = "expected \"FREQ_PPM SKEW_PPM\"";

static const char *
skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return (p);
}

/* One number, which must end at a blank, a line end or the string's end. */
static bool
parse_number(const char **pp, double *v)
{
	const char *p = skip_blanks(*pp);
	char *end;

	*v = strtod(p, &end);
	if (end == p)
		return (false);
	if (*end != '\0' && strchr(" \t\r\n", *end) == NULL)
		return (false);
	*pp = end;
	return (true);
}

/* Returns NULL, or why the text is not a drift file. */
static const char *
parse_drift(const char *text, double *freq, double *skew)
{
	const char *p = text;

	if (*(p + strspn(p, " \t\r\n")) == '\0')
		return ("empty file");
	if (!parse_number(&p, freq) || !parse_number(&p, skew))
		return (drift_form);
	if (p[strspn(p, " \t\r\n")] != '\0')
		return ("trailing garbage after the two numbers");
	return (NULL);
}

int
nt_statefile_read(const char *path, char *buf, size_t len, const char *form,
    char *err, size_t errlen)
{
	struct stat sb;
	size_t n = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT) {
		snprintf(err, errlen, "%s: no such file", path);
		return (1);
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return (-1);
	}
	while (n < len - 1) {
		r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			return (-1);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n == len - 1) {
		snprintf(err, errlen, "%s: too long (%s)", path, form);
		return (-1);
	}
	buf[n] = '\0';
	if (strlen(buf) != n) {
		snprintf(err, errlen, "%s: contains a NUL byte (%s)", path,
		    form);
		return (-1);
	}
	return (0);
}

int
nt_drift_read(const char *path, double *freq_ppm, double *skew_ppm,
    char *err, size_t errlen)
{
	char buf[DRIFT_MAX_BYTES + 1];
	const char *why;
	double f, s;
	int r;

	if ((r = nt_statefile_read(path, buf, sizeof(buf), drift_form, err,
	    errlen)) != 0)
		return (r);
	if ((why = parse_drift(buf, &f, &s)) != NULL) {
		snprintf(err, errlen, "%s: malformed drift file: %s", path, why);
		return (-1);
	}
	if (!isfinite(f)) {
		snprintf(err, errlen, "%s: frequency is not a finite number",
		    path);
		return (-1);
	}
	if (fabs(f) > NT_DRIFT_MAX_PPM) {
		snprintf(err, errlen, "%s: frequency %g ppm out of range "
		    "(max +-%.0f)", path, f, NT_DRIFT_MAX_PPM);
		return (-1);
	}
	if (!isfinite(s) || s < 0) {
		snprintf(err, errlen, "%s: skew %g ppm is not a finite "
		    "number >= 0", path, s);
		return (-1);
	}
	/* chrony's sign (clock gains) to ours (correction); no -0. */
	*freq_ppm = -f + 0.0;
	*skew_ppm = s;
	return (0);
}

static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t r;

	while (len > 0) {
		r = write(fd, buf, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return (-1);
		buf += r;
		len -= (size_t)r;
	}
	return (0);
}

/* Create the temporary file; a stale one of a dead process with our pid goes. */
static int
open_temp(const char *tmp, mode_t mode)
{
	int flags = O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOCTTY;
	int fd;

	fd = open(tmp, flags, mode);
	if (fd < 0 && errno == EEXIST) {
		if (unlink(tmp) != 0) {
			errno = EEXIST;
			return (-1);
		}
		fd = open(tmp, flags, mode);
	}
	return (fd);
}

/* Make the rename durable: fsync the directory that holds path. */
static int
sync_dir(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, e;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
		return (0);	/* cannot happen: the temp name was longer */
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL)) {
		e = errno;
		snprintf(err, errlen, "%s: replaced, but syncing directory "
		    "%s failed: %s", path, dir, strerror(e));
		if (fd >= 0)
			close(fd);
		return (-1);
	}
	close(fd);
	return (0);
}

int
nt_drift_write(const char *path, double freq_ppm, double skew_ppm,
    char *err, size_t errlen)
{
	char line[96];
	double f;
	int n;

	if (!isfinite(freq_ppm) || fabs(freq_ppm) > NT_DRIFT_MAX_PPM ||
	    !isfinite(skew_ppm) || skew_ppm < 0) {
		snprintf(err, errlen, "%s: refusing to write frequency %g ppm, "
		    "skew %g ppm", path, freq_ppm, skew_ppm);
		return (-1);
	}
	/* Ours is a correction, the file holds chrony's sign; no "-0.000000". */
	f = fabs(freq_ppm) < 5e-7 ? 0.0 : -freq_ppm;
	n = snprintf(line, sizeof(line), "%.6f %.6f\n", f, skew_ppm);
	/* Bounded values: at most "-100000.000000 " plus a %.6f skew. */
	assert(n > 0 && (size_t)n < sizeof(line));
	return (nt_statefile_write(path, line, (size_t)n, 0644, err, errlen));
}

int
nt_statefile_write(const char *path, const char *data, size_t len,
    mode_t mode, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	const char *what;
	int fd, n, e;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENAMETOOLONG));
		return (-1);
	}
	if ((fd = open_temp(tmp, mode)) < 0) {
		snprintf(err, errlen, "%s: cannot create %s: %s", path, tmp,
		    strerror(errno));
		return (-1);
	}
	what = NULL;
	if (write_all(fd, data, len) != 0)
		what = "write";
	else if (fsync(fd) != 0)
		what = "fsync";
	e = errno;
	if (close(fd) != 0 && what == NULL) {
		what = "close";
		e = errno;
	}
	if (what == NULL && rename(tmp, path) != 0) {
		what = "rename";
		e = errno;
	}
	if (what != NULL) {
		unlink(tmp);
		snprintf(err, errlen, "%s: %s of %s failed: %s", path, what,
		    tmp, strerror(e));
		return (-1);
	}
	return (sync_dir(path, err, errlen));
}
