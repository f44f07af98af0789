/*
 * Tests of the drift file: the round trip, what the strict reader accepts
 * and refuses, that failed writes leave the old file alone and no temporary
 * files behind, and that a writer killed at random moments never leaves a
 * missing, empty or torn file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driftfile.h"

static char tmpdir[] = "/tmp/ntimed-drift-XXXXXX";
static char dpath[PATH_MAX];	/* tmpdir/drift */
static char err[256];

/* The name nt_drift_write() uses for its temporary file in process pid. */
static const char *
temp_name(pid_t pid)
{
	static char buf[PATH_MAX];
	int n;

	n = snprintf(buf, sizeof(buf), "%s", dpath);
	assert_true(n > 0 && (size_t)n < sizeof(buf) - 32);
	snprintf(buf + n, sizeof(buf) - (size_t)n, ".tmp.%ld", (long)pid);
	return (buf);
}

static void
put_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
put(const char *text)
{
	put_file(dpath, text, strlen(text));
}

static const char *
get(const char *path)
{
	static char buf[512];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

/* Remove everything in dir (one level, and empty subdirectories). */
static void
clean_dir(const char *dir)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (unlink(p) != 0)
			assert_int_equal(rmdir(p), 0);
	}
	closedir(d);
}

/* Entries in tmpdir; fails on any leftover temporary file. */
static int
count_entries(void)
{
	struct dirent *de;
	DIR *d = opendir(tmpdir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strstr(de->d_name, ".tmp.") != NULL)
			fail_msg("temporary file left behind: %s", de->d_name);
		n++;
	}
	closedir(d);
	return (n);
}

/* A one-line message that names the file. */
static void
check_err(const char *path)
{
	assert_non_null(strstr(err, path));
	assert_null(strchr(err, '\n'));
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return (-1);
	snprintf(dpath, sizeof(dpath), "%s/drift", tmpdir);
	return (0);
}

static int
teardown(void **state)
{
	(void)state;
	clean_dir(tmpdir);
	return (rmdir(tmpdir));
}

static int
each_setup(void **state)
{
	(void)state;
	clean_dir(tmpdir);
	err[0] = '\0';
	return (0);
}

static void
test_round_trip(void **state)
{
	static const double v[][2] = {
		{ 0.0, 0.0 }, { 12.345678, 0.012345 }, { -12.345678, 1.5 },
		{ 1e-6, 1e-6 }, { -0.0000004, 0.25 }, { 99999.999999, 0.0 },
		{ -100000.0, 1000.0 }, { 100000.0, 2e5 }, { 3.14159265, 0.1 },
	};
	double f, s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(nt_drift_write(dpath, v[i][0], v[i][1], err,
		    sizeof(err)), 0);
		f = s = NAN;
		assert_int_equal(nt_drift_read(dpath, &f, &s, err,
		    sizeof(err)), 0);
		assert_true(fabs(f - v[i][0]) <= 1e-6);
		assert_true(fabs(s - v[i][1]) <= 1e-6);
		assert_int_equal(count_entries(), 1);
	}
}

/* The file carries chrony's sign: how fast the uncorrected clock runs. */
static void
test_chrony_sign_and_layout(void **state)
{
	double f, s;
	struct stat sb;
	mode_t mask = umask(0);

	(void)state;
	umask(mask);
	assert_int_equal(nt_drift_write(dpath, 12.5, 0.25, err,
	    sizeof(err)), 0);
	assert_string_equal(get(dpath), "-12.500000 0.250000\n");
	assert_int_equal(stat(dpath, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644 & ~mask);
	assert_int_equal(nt_drift_write(dpath, 0.0, 0.0, err,
	    sizeof(err)), 0);
	assert_string_equal(get(dpath), "0.000000 0.000000\n");
	/* What chronyd itself writes: "%20.6f %20.6f\n". */
	put("          -12.345678             0.012345\n");
	assert_int_equal(nt_drift_read(dpath, &f, &s, err, sizeof(err)), 0);
	assert_true(fabs(f - 12.345678) < 1e-9);
	assert_true(fabs(s - 0.012345) < 1e-9);
}

static void
test_missing(void **state)
{
	double f = 7.0, s = 8.0;

	(void)state;
	assert_int_equal(nt_drift_read(dpath, &f, &s, err, sizeof(err)), 1);
	check_err(dpath);
	assert_non_null(strstr(err, "no such file"));
	assert_true(f == 7.0 && s == 8.0);
}

static void
test_accepted(void **state)
{
	static const struct {
		const char *text;
		double f, s;
	} ok[] = {
		{ "1 2", -1.0, 2.0 },
		{ "  1.5\t0.25  \n\n", -1.5, 0.25 },
		{ "-0 0\n", 0.0, 0.0 },
		{ "100000 0\n", -100000.0, 0.0 },
		{ "-100000 0\n", 100000.0, 0.0 },
		{ "1e2 1e-3\r\n", -100.0, 0.001 },
	};
	double f, s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		put(ok[i].text);
		f = s = NAN;
		if (nt_drift_read(dpath, &f, &s, err, sizeof(err)) != 0)
			fail_msg("refused \"%s\": %s", ok[i].text, err);
		assert_true(f == ok[i].f && s == ok[i].s);
		assert_false(signbit(f) && f == 0);
	}
}

static void
test_malformed(void **state)
{
	static const char *bad[] = {
		"", "\n", "   \n", "junk\n", "1.0\n", "1.0 \n",
		"nan 0.1\n", "1.0 nan\n", "inf 0\n", "-inf 0\n", "1e999 0\n",
		"200000 1\n", "-100000.5 1\n", "1.0 -0.5\n", "1.0 0.1 xyz\n",
		"1.0 0.1\n2.0 0.2\n", "1.0x 0.1\n", "1.0 0.1x\n", "1.02.0\n",
		"1,5 0.1\n", "- 1 0.1\n", "0.1 1\n#\n",
	};
	char big[400];
	double f, s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(bad[i]);
		f = 7.0;
		s = 8.0;
		if (nt_drift_read(dpath, &f, &s, err, sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		check_err(dpath);
		assert_true(f == 7.0 && s == 8.0);
	}
	/* Embedded NUL: "1.0 0.1" would parse, the rest must not vanish. */
	put_file(dpath, "1.0 0.1\n\0002 3\n", 13);
	assert_int_equal(nt_drift_read(dpath, &f, &s, err, sizeof(err)), -1);
	check_err(dpath);
	/* Long files are refused, not truncated to what fits. */
	memset(big, ' ', sizeof(big));
	memcpy(big + sizeof(big) - 9, "1.0 0.1\n", 9);
	put(big);
	assert_int_equal(nt_drift_read(dpath, &f, &s, err, sizeof(err)), -1);
	check_err(dpath);
	/* Not a regular file: a directory, and a FIFO (must not block). */
	assert_int_equal(unlink(dpath), 0);
	assert_int_equal(mkdir(dpath, 0755), 0);
	assert_int_equal(nt_drift_read(dpath, &f, &s, err, sizeof(err)), -1);
	check_err(dpath);
	assert_int_equal(rmdir(dpath), 0);
	assert_int_equal(mkfifo(dpath, 0644), 0);
	assert_int_equal(nt_drift_read(dpath, &f, &s, err, sizeof(err)), -1);
	check_err(dpath);
	assert_true(f == 7.0 && s == 8.0);
}

static void
test_write_refuses_bad_values(void **state)
{
	(void)state;
	assert_int_equal(nt_drift_write(dpath, NAN, 0, err, sizeof(err)), -1);
	check_err(dpath);
	assert_int_equal(nt_drift_write(dpath, 1e6, 0, err, sizeof(err)), -1);
	assert_int_equal(nt_drift_write(dpath, 1, -1, err, sizeof(err)), -1);
	assert_int_equal(nt_drift_write(dpath, 1, INFINITY, err,
	    sizeof(err)), -1);
	assert_int_equal(count_entries(), 0);
}

static void
test_write_no_directory(void **state)
{
	char p[PATH_MAX];

	(void)state;
	snprintf(p, sizeof(p), "%s/nodir/drift", tmpdir);
	assert_int_equal(nt_drift_write(p, 1.0, 0.1, err, sizeof(err)), -1);
	check_err(p);
	assert_non_null(strstr(err, strerror(ENOENT)));
	assert_int_equal(count_entries(), 0);
}

static void
test_replace(void **state)
{
	double f, s;

	(void)state;
	assert_int_equal(nt_drift_write(dpath, 1.0, 0.1, err, sizeof(err)), 0);
	assert_int_equal(nt_drift_write(dpath, -2.0, 0.2, err, sizeof(err)), 0);
	assert_int_equal(nt_drift_read(dpath, &f, &s, err, sizeof(err)), 0);
	assert_true(f == -2.0 && s == 0.2);
	assert_int_equal(count_entries(), 1);
	/* A stale temporary file of a dead process with our pid is replaced. */
	put_file(temp_name(getpid()), "garbage", 7);
	assert_int_equal(nt_drift_write(dpath, 3.0, 0.3, err, sizeof(err)), 0);
	assert_int_equal(nt_drift_read(dpath, &f, &s, err, sizeof(err)), 0);
	assert_true(f == 3.0 && s == 0.3);
	assert_int_equal(count_entries(), 1);
}

/* The write fails after the temporary file exists: file size limit 0. */
static void
test_failed_write_keeps_old(void **state)
{
	struct rlimit old, zero;
	void (*oldsig)(int);
	double f, s;
	int r;

	(void)state;
	assert_int_equal(nt_drift_write(dpath, 5.0, 0.5, err, sizeof(err)), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	zero = old;
	zero.rlim_cur = 0;
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &zero), 0);
	r = nt_drift_write(dpath, 6.0, 0.6, err, sizeof(err));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_int_equal(r, -1);
	check_err(dpath);
	assert_non_null(strstr(err, strerror(EFBIG)));
	assert_int_equal(nt_drift_read(dpath, &f, &s, err, sizeof(err)), 0);
	assert_true(f == 5.0 && s == 0.5);
	assert_int_equal(count_entries(), 1);
}

/* The temporary name is taken by a directory: creating it fails. */
static void
test_blocked_temp_keeps_old(void **state)
{
	const char *tmp;
	double f, s;

	(void)state;
	assert_int_equal(nt_drift_write(dpath, 5.0, 0.5, err, sizeof(err)), 0);
	tmp = temp_name(getpid());
	assert_int_equal(mkdir(tmp, 0755), 0);
	assert_int_equal(nt_drift_write(dpath, 6.0, 0.6, err, sizeof(err)), -1);
	check_err(dpath);
	assert_int_equal(rmdir(tmp), 0);
	assert_int_equal(nt_drift_read(dpath, &f, &s, err, sizeof(err)), 0);
	assert_true(f == 5.0 && s == 0.5);
	assert_int_equal(count_entries(), 1);
}

/* The destination is a directory: the rename fails, the temp goes. */
static void
test_destination_is_directory(void **state)
{
	struct stat sb;

	(void)state;
	assert_int_equal(mkdir(dpath, 0755), 0);
	assert_int_equal(nt_drift_write(dpath, 6.0, 0.6, err, sizeof(err)), -1);
	check_err(dpath);
	assert_non_null(strstr(err, "rename"));
	assert_int_equal(stat(dpath, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(count_entries(), 1);
}

/*
 * A read-only directory.  root ignores directory permissions, so as root
 * the write would succeed and the test proves nothing: skip it there (the
 * two tests above cover failed writes for root).
 */
static void
test_readonly_directory(void **state)
{
	double f, s;
	int r;

	(void)state;
	if (geteuid() == 0) {
		print_message("skipping read-only directory test: "
		    "running as root, which ignores permissions\n");
		skip();
	}
	assert_int_equal(nt_drift_write(dpath, 5.0, 0.5, err, sizeof(err)), 0);
	assert_int_equal(chmod(tmpdir, 0555), 0);
	r = nt_drift_write(dpath, 6.0, 0.6, err, sizeof(err));
	assert_int_equal(chmod(tmpdir, 0700), 0);
	assert_int_equal(r, -1);
	check_err(dpath);
	assert_non_null(strstr(err, strerror(EACCES)));
	assert_int_equal(nt_drift_read(dpath, &f, &s, err, sizeof(err)), 0);
	assert_true(f == 5.0 && s == 0.5);
	assert_int_equal(count_entries(), 1);
}

/* Child: rewrite the file forever with values the parent can recognise. */
static void __attribute__((noreturn))
writer_loop(unsigned k)
{
	char e[256];

	for (;; k = (k + 1) % 90000)
		if (nt_drift_write(dpath, (double)k + 0.5, (double)k * 0.001,
		    e, sizeof(e)) != 0)
			_exit(1);
}

/* Wait (at most 10 s) until the file holds a value other than k's. */
static void
wait_for_change(unsigned k)
{
	char e[256];
	double f, sk;

	for (int i = 0; i < 100000; i++) {
		if (nt_drift_read(dpath, &f, &sk, e, sizeof(e)) == 0 &&
		    f != (double)k + 0.5)
			return;
		usleep(100);
	}
	fail_msg("the writer made no progress in 10 s");
}

/* Kills of a writer mid-rewrite (issue #6 asks for 200). */
#define CRASH_KILLS 200

static void
test_crash_safety(void **state)
{
	unsigned k, changed = 0, last = 0;
	double f, s;
	int i, status;
	pid_t pid;

	(void)state;
	assert_int_equal(nt_drift_write(dpath, 0.5, 0.0, err, sizeof(err)), 0);
	for (i = 0; i < CRASH_KILLS; i++) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			writer_loop(last + 1);
		/* Let the writer make progress first (however loaded the
		 * machine), then kill it at a random moment of a rewrite. */
		wait_for_change(last);
		usleep(arc4random_uniform(3000));
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		/* Killed, not exited: an exit means a write failed. */
		assert_true(WIFSIGNALED(status));
		if (unlink(temp_name(pid)) != 0)
			assert_int_equal(errno, ENOENT);
		if (nt_drift_read(dpath, &f, &s, err, sizeof(err)) != 0)
			fail_msg("after kill %d: %s", i, err);
		/* One of the values written: k + 0.5 with skew k / 1000. */
		assert_true(f >= 0.5 && f < 90000.0);
		k = (unsigned)(f - 0.5);
		assert_true(f == (double)k + 0.5);
		assert_true(fabs(s - (double)k * 0.001) < 1e-9);
		changed += (k != last);
		last = k;
		assert_int_equal(count_entries(), 1);
	}
	/* Every kill landed while the writer was making progress. */
	assert_int_equal(changed, CRASH_KILLS);
	print_message("drift file: %d rewrites killed with SIGKILL, never "
	    "missing, empty or truncated\n", CRASH_KILLS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_round_trip, each_setup),
		cmocka_unit_test_setup(test_chrony_sign_and_layout, each_setup),
		cmocka_unit_test_setup(test_missing, each_setup),
		cmocka_unit_test_setup(test_accepted, each_setup),
		cmocka_unit_test_setup(test_malformed, each_setup),
		cmocka_unit_test_setup(test_write_refuses_bad_values, each_setup),
		cmocka_unit_test_setup(test_write_no_directory, each_setup),
		cmocka_unit_test_setup(test_replace, each_setup),
		cmocka_unit_test_setup(test_failed_write_keeps_old, each_setup),
		cmocka_unit_test_setup(test_blocked_temp_keeps_old, each_setup),
		cmocka_unit_test_setup(test_destination_is_directory,
		    each_setup),
		cmocka_unit_test_setup(test_readonly_directory, each_setup),
		cmocka_unit_test_setup(test_crash_safety, each_setup),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
