/*
 * End to end through the libuv adapter: a GPS receiver played into a
 * pseudo-terminal, and an SHM writer, both in this process on the same
 * event loop.  The receiver is the u-blox ZED-F9P capture from
 * test/data/nmea, one cycle of it rewritten each second to that
 * second's UTC (checksums recomputed) and written 50 ms after the second,
 * as a receiver does.  With 'offset: 0.05' the samples must read the
 * writer's own lateness, within a few milliseconds.
 *
 * Faults along the way, one per second: no fix (RMC status V) for two
 * seconds, a time 1 h off for one, then the pty closes in the middle of
 * a sentence and a new one appears under the same name: the driver must
 * say it lost the device, reopen it, and give samples again; never a
 * sample from a bad second.  A third refclock names a device that does
 * not exist: it is retried without disturbing the others.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <uv.h>

#include "log.h"
#include "ntp_pkt.h"
#include "refclock.h"
#include "uvrefclock.h"

#define MAXCYCLE	8192
#define LATE_S		0.05	/* the writer sends 50 ms after the second */
#define SECONDS		20

enum mode { NORMAL, NOFIX, JUMP, CUT };
/* What the writer does in each second since the start. */
static const enum mode plan[SECONDS] = {
	NORMAL, NORMAL, NORMAL, NOFIX, NOFIX, NORMAL, JUMP, NORMAL, CUT,
	NORMAL, NORMAL, NORMAL, NORMAL, NORMAL, NORMAL, NORMAL, NORMAL, NORMAL,
	NORMAL, NORMAL,		/* a new start needs 3 agreeing seconds */
};

struct play {
	uv_loop_t	*loop;
	uv_timer_t	timer;
	char		cycle[MAXCYCLE];	/* one second of the capture */
	size_t		cycle_len;
	char		dir[64], link[128];
	int		master;
	int64_t		first_sec;
	int		k;			/* second of the plan */
	double		late[SECONDS];		/* s after the second, as sent */
	volatile struct nt_shm_time *shm;
	int		shm_id;
	struct nt_uvrefclock *u;
};

struct result {
	int	n[3];
	int	k[64];
	double	offset[64];
	int	n_nmea;
	int	lost_logs, reopened_logs, cannot_open_logs, nofix_logs,
		jump_logs, followed_logs;
};

static struct result res;

static nt_time
kernel_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (nt_from_timespec(&ts));
}

/* The first cycle (RMC up to the next RMC) of the capture. */
static void
load_cycle(struct play *p)
{
	const char *src = getenv("NTIMED_SRCDIR");
	char path[1024], line[512];
	int rmc = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/test/data/nmea/"
	    "ublox-zed-f9p-nmea.log", src != NULL ? src : "..");
	f = fopen(path, "rb");
	assert_non_null(f);
	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#')
			continue;
		if (strncmp(line + 3, "RMC", 3) == 0 && rmc++ == 1)
			break;
		if (rmc == 0)
			continue;
		assert_true(p->cycle_len + strlen(line) < MAXCYCLE);
		memcpy(p->cycle + p->cycle_len, line, strlen(line));
		p->cycle_len += strlen(line);
	}
	fclose(f);
	assert_true(p->cycle_len > 1000);
}

/* "$f0,f1,...*HH\r\n" */
static size_t
join(char (*f)[96], int nf, char *out, size_t cap)
{
	char body[512];
	unsigned sum = 0;
	size_t n = 0;

	for (int i = 0; i < nf; i++)
		n += (size_t)snprintf(body + n, sizeof body - n, "%s%s",
		    i > 0 ? "," : "", f[i]);
	for (size_t i = 0; i < n; i++)
		sum ^= (unsigned char)body[i];
	return ((size_t)snprintf(out, cap, "$%s*%02X\r\n", body, sum));
}

/* Rewrite one sentence's time (and date) fields to t; new checksum. */
static size_t
rewrite(const char *in, size_t len, int64_t t, enum mode m, char *out,
    size_t cap)
{
	char f[40][96];
	int nf = 0;
	struct tm tm;
	time_t tt = (time_t)t;
	const char *p = in + 1, *end = memchr(in, '*', len);

	gmtime_r(&tt, &tm);
	assert_non_null(end);
	while (p <= end && nf < 40) {
		size_t k = strcspn(p, ",*");

		snprintf(f[nf++], sizeof f[0], "%.*s", (int)k, p);
		p += k + 1;
	}
	if (nf > 9 && strcmp(f[0] + 2, "RMC") == 0) {
		snprintf(f[9], sizeof f[9], "%02d%02d%02d", tm.tm_mday,
		    tm.tm_mon + 1, tm.tm_year % 100);
		if (m == NOFIX)
			strlcpy(f[2], "V", sizeof f[2]);
	}
	if (nf > 4 && strcmp(f[0] + 2, "ZDA") == 0) {
		snprintf(f[2], sizeof f[2], "%02d", tm.tm_mday);
		snprintf(f[3], sizeof f[3], "%02d", tm.tm_mon + 1);
		snprintf(f[4], sizeof f[4], "%04d", tm.tm_year + 1900);
	}
	if (strstr("RMC GGA ZDA GNS GST GBS", f[0] + 2) != NULL)
		snprintf(f[1], sizeof f[1], "%02d%02d%02d.00", tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
	if (nf > 6 && m == NOFIX && strcmp(f[0] + 2, "GGA") == 0)
		strlcpy(f[6], "0", sizeof f[6]);
	return (join(f, nf, out, cap));
}

static size_t
second_of_nmea(struct play *p, int64_t t, enum mode m, char *out, size_t cap)
{
	size_t pos = 0, n = 0;

	while (pos < p->cycle_len) {
		size_t k = strcspn(p->cycle + pos, "\n") + 1;

		n += rewrite(p->cycle + pos, k, m == JUMP ? t + 3600 : t, m,
		    out + n, cap - n);
		pos += k;
	}
	return (n);
}

/* A new pty, linked from p->link (atomically replacing the old link). */
static void
open_pty(struct play *p)
{
	char tmp[160];
	struct termios tio;

	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(p->master >= 0);
	assert_int_equal(grantpt(p->master), 0);
	assert_int_equal(unlockpt(p->master), 0);
	/* Raw on our side too: a receiver does not echo or edit. */
	assert_int_equal(tcgetattr(p->master, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(p->master, TCSANOW, &tio), 0);
	snprintf(tmp, sizeof tmp, "%s.new", p->link);
	unlink(tmp);
	assert_int_equal(symlink(ptsname(p->master), tmp), 0);
	assert_int_equal(rename(tmp, p->link), 0);
}

static void
shm_write(volatile struct nt_shm_time *t, nt_time clock, nt_time receive)
{
	t->valid = 0;
	t->count++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	t->mode = 1;
	t->clock_sec = (time_t)(clock / NT_SEC);
	t->clock_usec = (int)(clock % NT_SEC / 1000);
	t->clock_nsec = (unsigned)(clock % NT_SEC);
	t->receive_sec = (time_t)(receive / NT_SEC);
	t->receive_usec = (int)(receive % NT_SEC / 1000);
	t->receive_nsec = (unsigned)(receive % NT_SEC);
	t->leap = 0;
	t->precision = -20;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	t->count++;
	t->valid = 1;
}

static void schedule(struct play *p);

static void
on_end(uv_timer_t *t)
{
	struct play *p = t->data;

	nt_uvrefclock_close(p->u);
}

/* Second k of the plan: write its NMEA (or cut), and an SHM sample. */
static void
on_second(uv_timer_t *t)
{
	static char out[2 * MAXCYCLE];
	struct play *p = t->data;
	int64_t sec = p->first_sec + p->k;
	nt_time now = kernel_now();
	size_t n = second_of_nmea(p, sec, plan[p->k], out, sizeof out);

	p->late[p->k] = nt_diff(now, sec * NT_SEC);
	if (plan[p->k] == CUT) {
		/* Half a sentence, then the device goes away and comes back. */
		assert_true(write(p->master, out, 40) == 40);
		close(p->master);
		open_pty(p);
	} else
		assert_true(write(p->master, out, n) == (ssize_t)n);
	/* SHM: the reference 1 ms ahead of the receive time. */
	shm_write(p->shm, now + NT_MSEC, now);
	if (++p->k < SECONDS)
		schedule(p);
	else	/* let the last second be read */
		uv_timer_start(&p->timer, on_end, 300, 0);
}

static void
schedule(struct play *p)
{
	nt_time due = (p->first_sec + p->k) * NT_SEC + (nt_time)(LATE_S * 1e9);
	double wait = nt_diff(due, kernel_now());

	uv_timer_start(&p->timer, on_second, wait > 0 ?
	    (uint64_t)ceil(wait * 1e3) : 0, 0);
}

static void
on_sample(void *ctx, int index, const struct nt_refclock_sample *s)
{
	struct play *p = ctx;
	int64_t sec = s->local / NT_SEC;

	assert_true(index >= 0 && index < 3);
	res.n[index]++;
	if (index != 0)
		return;
	assert_true(res.n_nmea < 64);
	res.k[res.n_nmea] = (int)(sec - p->first_sec);
	res.offset[res.n_nmea++] = s->offset;
}

static void
log_sink(void *ctx, enum nt_log_level lvl, const char *msg)
{
	(void)ctx;
	if (lvl <= NT_LOG_INFO)
		print_message("log: %s\n", msg);
	res.lost_logs += strstr(msg, "GPS (") != NULL &&
	    strstr(msg, "device lost") != NULL;
	res.reopened_logs += strstr(msg, "GPS (") != NULL &&
	    strstr(msg, "reopened after") != NULL;
	res.cannot_open_logs += strstr(msg, "MISS (") != NULL &&
	    strstr(msg, "cannot open") != NULL;
	res.nofix_logs += strstr(msg, "no valid fix") != NULL;
	res.jump_logs += strstr(msg, "time jumped") != NULL;
	res.followed_logs += strstr(msg, "following it") != NULL;
}

static void
setup_confs(struct play *p, struct nt_refclock_conf *c, int unit)
{
	nt_refclock_conf_init(&c[0], nt_refclock_find_driver("nmea"));
	c[0].device = p->link;
	c[0].offset = LATE_S;
	c[0].poll = 0;
	nt_refclock_conf_init(&c[1], nt_refclock_find_driver("shm"));
	c[1].unit = unit;
	c[1].poll = 0;
	nt_refclock_conf_init(&c[2], nt_refclock_find_driver("nmea"));
	c[2].device = (char *)"/nonexistent/ttyGPS";
	strlcpy(c[2].refid, "MISS", sizeof c[2].refid);
}

static void
check_results(const struct play *p)
{
	double worst = 0;
	bool after_cut = false;

	/* Never a sample from a bad second, each one as late as sent. */
	for (int i = 0; i < res.n_nmea; i++) {
		int k = res.k[i];
		double want;

		assert_true(k >= 0 && k < SECONDS);
		assert_int_equal(plan[k], NORMAL);
		want = LATE_S - p->late[k];
		worst = fmax(worst, fabs(res.offset[i] - want));
		assert_true(fabs(res.offset[i] - want) < 0.02);
		after_cut |= k > 8;
	}
	print_message("%d NMEA samples, worst error against the writer's "
	    "lateness %.3f ms\n", res.n_nmea, worst * 1e3);
	assert_true(res.n_nmea >= 5);
	assert_true(after_cut);		/* it came back */
	assert_true(res.n[1] >= SECONDS - 3);	/* SHM, on the timer */
	assert_int_equal(res.n[2], 0);
	assert_int_equal(res.lost_logs, 1);
	assert_int_equal(res.reopened_logs, 1);
	assert_true(res.cannot_open_logs >= 1);
	assert_true(res.nofix_logs >= 1);
	assert_true(res.jump_logs >= 1);
	assert_int_equal(res.followed_logs, 0);	/* one second: ignored */
}

/* The pty, its link in a fresh directory, and the SHM segment. */
static void
devices(struct play *p, int unit)
{
	load_cycle(p);
	strlcpy(p->dir, "/tmp/ntimed-pty.XXXXXX", sizeof p->dir);
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->link, sizeof p->link, "%s/gps0", p->dir);
	open_pty(p);
	p->shm_id = shmget((key_t)(NT_SHM_KEY + unit),
	    sizeof(struct nt_shm_time), IPC_CREAT | 0600);
	assert_true(p->shm_id >= 0);
	p->shm = shmat(p->shm_id, NULL, 0);
	assert_true(p->shm != (void *)-1);
}

static void
test_pty_replay(void **state)
{
	static struct play p;
	struct nt_refclock_conf c[3];
	char err[NT_RC_ERRLEN];
	uv_loop_t loop;
	int unit = 100 + (int)(getpid() % 150);

	(void)state;
	memset(&res, 0, sizeof res);
	devices(&p, unit);
	setup_confs(&p, c, unit);
	nt_log_set_sink(log_sink, NULL);
	uv_loop_init(&loop);
	p.loop = &loop;
	p.u = nt_uvrefclock_new(&loop, nt_clock_dry(), c, 3, on_sample, &p,
	    err, sizeof err);
	assert_non_null(p.u);
	p.first_sec = kernel_now() / NT_SEC + 1;
	uv_timer_init(&loop, &p.timer);
	p.timer.data = &p;
	schedule(&p);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&p.timer, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	nt_uvrefclock_free(p.u);
	nt_log_set_sink(NULL, NULL);
	close(p.master);
	unlink(p.link);
	rmdir(p.dir);
	shmdt((const void *)p.shm);
	shmctl(p.shm_id, IPC_RMID, NULL);
	check_results(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pty_replay),
	};

	nt_log_setup(NT_LOG_STDERR, NT_LOG_INFO, "test_refclock_pty");
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
