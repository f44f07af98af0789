/*
 * Tests of the statistics logs (lib/statslog.c): the exact line each
 * formatter makes for known values, the banner's columns lining up with
 * them, the source labels and verdict words; and the writer on a real
 * engine's events: banner at open and every NT_STATSLOG_BANNER lines, a
 * reopen after the file was renamed making a new one, and a file that
 * cannot be written (a link to /dev/full) said once and skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_io.h"
#include "log_capture.h"
#include "statslog.h"

/* 2026-11-27 08:35:12.25 UTC */
#define WHEN (INT64_C(1795768512) * NT_SEC + 250000000)

static void
test_fmt_meas(void **state)
{
	struct nt_statslog_meas m = {
		.when = WHEN, .source = "192.0.2.1", .leap = 0, .stratum = 2,
		.poll = 6, .refid = 0xc6336401, .root_delay = 0.0123,
		.root_disp = 0.000456, .have_sample = true,
		.offset = -1.234e-5, .delay = 2.5e-4, .disp = 3e-7,
		.verdict = "ok",
	};
	char buf[NT_STATSLOG_LINE];
	int n;

	(void)state;
	n = nt_statslog_fmt_meas(buf, sizeof buf, &m);
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "2026-11-27 08:35:12 "
	    "192.0.2.1                  "
	    "0  2    6 -1.234e-05  2.500e-04  3.000e-07  1.230e-02  4.560e-04 "
	    "198.51.100.1    ok\n");
	/* A reply without a sample: its three columns are "-". */
	m.have_sample = false;
	m.leap = 3;
	m.stratum = 0;
	m.refid = 0x494e4954;	/* "INIT" */
	m.verdict = "kod-other";
	nt_statslog_fmt_meas(buf, sizeof buf, &m);
	assert_string_equal(buf, "2026-11-27 08:35:12 "
	    "192.0.2.1                  "
	    "3  0    6          -          -          -  1.230e-02  4.560e-04 "
	    "INIT            kod-other\n");
	/* Too small a buffer: -1, never a cut line. */
	assert_int_equal(nt_statslog_fmt_meas(buf, 40, &m), -1);
}

static void
test_fmt_track(void **state)
{
	struct nt_statslog_track t = {
		.when = WHEN, .source = "192.0.2.1", .stratum = 3, .leap = 0,
		.freq_ppm = -12.3456, .skew_ppm = 0.0789, .offset = 2.5e-6,
		.offset_sd = 1e-6, .root_delay = 0.0125, .root_disp = 0.002,
		.likely = 3e-5, .max_error = 0.0081, .poll = 6, .agree = 3,
		.candidates = 4, .action = "slew",
	};
	char buf[NT_STATSLOG_LINE];

	(void)state;
	nt_statslog_fmt_track(buf, sizeof buf, &t);
	assert_string_equal(buf, "2026-11-27 08:35:12 "
	    "192.0.2.1                  "
	    " 3 0    -12.346     0.079  2.500e-06  1.000e-06  1.250e-02  "
	    "2.000e-03  3.000e-05  8.100e-03    6   3/4 slew\n");
}

static void
test_fmt_stat(void **state)
{
	struct nt_statslog_stat s = {
		.when = WHEN, .source = "[2001:db8::1]:123", .offset = -4e-6,
		.lo = -2e-5, .hi = 1.5e-5, .freq_ppm = 0.5, .skew_ppm = 0.25,
		.jitter = 3e-6, .samples = 12, .reach = 0377,
		.state = "combined",
	};
	char buf[NT_STATSLOG_LINE];

	(void)state;
	nt_statslog_fmt_stat(buf, sizeof buf, &s);
	assert_string_equal(buf, "2026-11-27 08:35:12 "
	    "[2001:db8::1]:123          "
	    "-4.000e-06 -2.000e-05  1.500e-05      0.500     0.250  3.000e-06 "
	    "12   377 combined\n");
}

static void
test_fmt_rc(void **state)
{
	struct nt_statslog_rc r = {
		.when = WHEN, .source = "GPS", .leap = 1, .n = 16,
		.pulse = true, .raw = 0.0004, .have_sample = true,
		.offset = 0.00039, .disp = 1e-6, .sd = 2e-7, .verdict = "ok",
	};
	char buf[NT_STATSLOG_LINE];

	(void)state;
	nt_statslog_fmt_rc(buf, sizeof buf, &r);
	assert_string_equal(buf, "2026-11-27 08:35:12 "
	    "GPS                        "
	    "1  4.000e-04  3.900e-04  1.000e-06  2.000e-07   yes 16 ok\n");
}

/* Each column's title ends where its values end (the last starts). */
static void
test_columns_line_up(void **state)
{
	struct nt_statslog_meas m = { .when = WHEN, .source = "s",
	    .stratum = 2, .refid = 0x7f000001, .have_sample = true,
	    .verdict = "ok" };
	struct nt_statslog_track t = { .when = WHEN, .source = "s",
	    .action = "slew" };
	struct nt_statslog_stat s = { .when = WHEN, .source = "s",
	    .state = "selected" };
	struct nt_statslog_rc r = { .when = WHEN, .source = "s",
	    .verdict = "ok" };
	char line[NT_STATSLOG_N][NT_STATSLOG_LINE];

	(void)state;
	nt_statslog_fmt_meas(line[NT_STATSLOG_MEASUREMENTS], NT_STATSLOG_LINE,
	    &m);
	nt_statslog_fmt_track(line[NT_STATSLOG_TRACKING], NT_STATSLOG_LINE,
	    &t);
	nt_statslog_fmt_stat(line[NT_STATSLOG_STATISTICS], NT_STATSLOG_LINE,
	    &s);
	nt_statslog_fmt_rc(line[NT_STATSLOG_REFCLOCKS], NT_STATSLOG_LINE, &r);
	for (int f = 0; f < NT_STATSLOG_N; f++) {
		const char *c = nt_statslog_columns(f), *l = line[f];
		size_t nc = strlen(c);

		/* Both have the date and time first, then the source. */
		assert_memory_equal(c, "Date (UTC) Time     ", 20);
		assert_int_equal(l[19], ' ');
		/* Past the source: every title's last letter over a value. */
		for (size_t i = 47; i + 1 < nc && l[i] != '\n'; i++)
			if (c[i] != ' ' && c[i + 1] == ' ')
				assert_true(l[i] != ' ');
	}
}

static void
test_label_verdict(void **state)
{
	char b[32];

	(void)state;
	nt_statslog_label("pool.example.org (192.0.2.7)", false, b, sizeof b);
	assert_string_equal(b, "192.0.2.7");
	nt_statslog_label("192.0.2.7:1123", false, b, sizeof b);
	assert_string_equal(b, "192.0.2.7:1123");
	nt_statslog_label("GPS (/dev/ttyS0)", true, b, sizeof b);
	assert_string_equal(b, "GPS");
	nt_statslog_label("odd name\twith blanks", false, b, sizeof b);
	assert_string_equal(b, "odd_name_with_blanks");
	nt_statslog_label("a-very-long-name-that-does-not-fit", false, b, 8);
	assert_string_equal(b, "a-very-");
	assert_string_equal(nt_statslog_verdict(NTP_REPLY_OK, false), "ok");
	assert_string_equal(nt_statslog_verdict(NTP_REPLY_OK, true), "held");
	assert_string_equal(nt_statslog_verdict(NTP_REPLY_MAX_DELAY, false),
	    "maxdelay");
	assert_string_equal(nt_statslog_verdict(NTP_REPLY_KOD_RATE, false),
	    "kod-rate");
}

/* ---- The writer, on a real engine's source ---- */

struct wfix {
	char			dir[64];
	struct nt_simclock	clk;
	uint64_t		rnd;
	struct nt_engine	*e;
	int			src;
	struct nt_stats_conf	sc;
};

static int
wfix_setup(void **state)
{
	struct nt_simclock_model m = { .max_freq_ppm = 500, .slew_ppm = 500,
	    .can_step = true };
	struct wfix *w = calloc(1, sizeof *w);
	struct nt_server_conf sc;
	struct nt_conf conf;

	assert_non_null(w);
	strlcpy(w->dir, "/tmp/ntimed-statslog.XXXXXX", sizeof w->dir);
	assert_non_null(mkdtemp(w->dir));
	nt_simclock_init(&w->clk, WHEN, &m, 1);
	nt_conf_init(&conf);
	w->e = tio_engine_new(&w->clk, &conf, &w->rnd);
	assert_non_null(w->e);
	nt_server_conf_init(&sc);
	strlcpy(sc.address, "ntp.example", sizeof sc.address);
	w->src = nt_engine_add_source(w->e, &sc, "ntp.example (192.0.2.9)",
	    0xc0000209);
	assert_true(w->src >= 0);
	nt_conf_free(&conf);
	memset(&w->sc, 0, sizeof w->sc);
	strlcpy(w->sc.dir, w->dir, sizeof w->sc.dir);
	w->sc.measurements = true;
	*state = w;
	return (0);
}

static int
wfix_teardown(void **state)
{
	struct wfix *w = *state;
	char cmd[128];

	nt_engine_free(w->e);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
	assert_int_equal(system(cmd), 0);
	free(w);
	nt_log_set_sink(NULL, NULL);
	return (0);
}

/* A reply's event, as nt_engine_rx() makes it. */
static void
reply(struct nt_statslog *sl, struct wfix *w, double offset)
{
	struct ntp_pkt p;
	struct nt_sample_event ev;

	memset(&p, 0, sizeof p);
	p.leap = 0;
	p.stratum = 2;
	p.refid = 0xc6336401;
	memset(&ev, 0, sizeof ev);
	ev.src = w->src;
	ev.when = WHEN;
	ev.verdict = NTP_REPLY_OK;
	ev.have_sample = true;
	ev.smp.t = WHEN;
	ev.smp.offset = offset;
	ev.smp.delay = 1e-3;
	ev.smp.disp = 1e-6;
	ev.pkt = &p;
	nt_statslog_sample(sl, w->e, &ev);
}

static char *
slurp(const char *dir, const char *name)
{
	char path[128], *text = calloc(1, 1 << 16);
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(text);
	if ((f = fopen(path, "r")) == NULL)
		return (text);
	assert_true(fread(text, 1, (1 << 16) - 1, f) < (1 << 16) - 1);
	fclose(f);
	return (text);
}

static int
count(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)) != NULL; p++)
		n++;
	return (n);
}

static void
test_writer(void **state)
{
	struct wfix *w = *state;
	char err[128], from[128], to[128], *text;
	struct nt_statslog *sl;
	struct stat sb;
	int poll = nt_engine_source(w->e, (size_t)w->src)->poll;
	char want[NT_STATSLOG_LINE];

	log_reset();
	umask(022);
	sl = nt_statslog_new(&w->sc, err, sizeof err);
	assert_non_null(sl);
	snprintf(from, sizeof from, "%s/measurements.log", w->dir);
	/* Nothing before the files are opened, nothing for other files. */
	reply(sl, w, 1e-3);
	assert_int_equal(stat(from, &sb), -1);
	nt_statslog_reopen(sl);
	for (int i = 0; i < NT_STATSLOG_BANNER + 1; i++)
		reply(sl, w, 1e-3);
	text = slurp(w->dir, "measurements.log");
	snprintf(want, sizeof want, "=\n%s\n=", nt_statslog_columns(
	    NT_STATSLOG_MEASUREMENTS));
	assert_int_equal(count(text, want), 2);	/* at open, after 32 */
	snprintf(want, sizeof want, "2026-11-27 08:35:12 192.0.2.9      "
	    "            0  2 %4d  1.000e-03  1.000e-03  1.000e-06  "
	    "0.000e+00  0.000e+00 198.51.100.1    ok\n", poll);
	assert_int_equal(count(text, want), NT_STATSLOG_BANNER + 1);
	assert_int_equal(strncmp(text, "=====", 5), 0);
	free(text);
	assert_int_equal(stat(from, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);

	/* logrotate: renamed, reopened, a new file with its banner. */
	snprintf(to, sizeof to, "%s/measurements.log.1", w->dir);
	assert_int_equal(rename(from, to), 0);
	nt_statslog_reopen(sl);
	reply(sl, w, -2e-3);
	text = slurp(w->dir, "measurements.log");
	assert_int_equal(count(text, nt_statslog_columns(
	    NT_STATSLOG_MEASUREMENTS)), 1);
	assert_int_equal(count(text, " -2.000e-03 "), 1);
	free(text);
	text = slurp(w->dir, "measurements.log.1");
	assert_int_equal(count(text, " -2.000e-03 "), 0);
	free(text);

	/* A full disk: said once, with the path; then again when it works. */
	assert_int_equal(unlink(from), 0);
	assert_int_equal(symlink("/dev/full", from), 0);
	nt_statslog_reopen(sl);
	reply(sl, w, 1e-3);
	reply(sl, w, 1e-3);
	snprintf(want, sizeof want, "statistics: cannot write %s: No space "
	    "left on device", from);
	assert_int_equal(count(logged, want), 1);
	assert_int_equal(n_logged, 1);
	assert_int_equal(unlink(from), 0);
	log_reset_at(NT_LOG_NOTICE);
	nt_statslog_reopen(sl);
	reply(sl, w, 1e-3);
	assert_int_equal(count(logged, "written again"), 1);
	nt_statslog_free(sl);
	/* A NULL writer (no statistics) takes events and does nothing. */
	reply(NULL, w, 1e-3);
}

static void
test_writer_config(void **state)
{
	struct wfix *w = *state;
	struct nt_stats_conf off;
	char err[128];

	/* All off: no writer and no error. */
	memset(&off, 0, sizeof off);
	strlcpy(off.dir, w->dir, sizeof off.dir);
	assert_null(nt_statslog_new(&off, err, sizeof err));
	assert_string_equal(err, "");
	/* A missing directory is made; one under a file cannot be. */
	snprintf(w->sc.dir, sizeof w->sc.dir, "%s/new", w->dir);
	struct nt_statslog *sl = nt_statslog_new(&w->sc, err, sizeof err);
	assert_non_null(sl);
	nt_statslog_free(sl);
	snprintf(w->sc.dir, sizeof w->sc.dir, "/dev/null/x");
	assert_null(nt_statslog_new(&w->sc, err, sizeof err));
	assert_string_equal(err, "statistics: /dev/null/x: Not a directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_meas),
		cmocka_unit_test(test_fmt_track),
		cmocka_unit_test(test_fmt_stat),
		cmocka_unit_test(test_fmt_rc),
		cmocka_unit_test(test_columns_line_up),
		cmocka_unit_test(test_label_verdict),
		cmocka_unit_test_setup_teardown(test_writer, wfix_setup,
		    wfix_teardown),
		cmocka_unit_test_setup_teardown(test_writer_config,
		    wfix_setup, wfix_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
