/*
 * The simulator's summary as a table and as JSON, and its time series as
 * CSV.  The metric list (simscen.h) drives both summaries, so a new figure
 * shows up everywhere at once.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostport.h"
#include "json.h"
#include "sim_report.h"

const char *
nt_sim_absent(int m)
{
	if (m == NT_SIM_SYNC_1MS || m == NT_SIM_SYNC_100US)
		return ("never");
	if (m == NT_SIM_BOUND_COVERAGE || m == NT_SIM_WORST_COVERAGE)
		return ("no bound");
	return ("n/a");
}

const char *
nt_sim_format_metric(int m, double v, char *buf, size_t len)
{
	const char *unit = nt_sim_metric_info[m].unit;

	if (isnan(v))
		snprintf(buf, len, "%s", nt_sim_absent(m));
	else if (isinf(v))
		snprintf(buf, len, "unbounded");
	else if (strcmp(unit, "s") == 0 && m == NT_SIM_MEAN)
		nt_format_dur(v, buf, len);
	else if (strcmp(unit, "s") == 0)
		nt_format_mag(v, buf, len);
	else if (strcmp(unit, "ppm") == 0)
		snprintf(buf, len, "%.4f ppm", v);
	else if (m == NT_SIM_BOUND_COVERAGE || m == NT_SIM_WORST_COVERAGE)
		snprintf(buf, len, "%.2f %%", v * 100);
	else if (m == NT_SIM_BOUND_RATIO || m == NT_SIM_WORST_RATIO)
		snprintf(buf, len, "%.2fx", v);
	else if (m == NT_SIM_PACKETS_PER_HOUR)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.0f", v);
	return (buf);
}

void
nt_sim_put_printable(FILE *f, const char *s)
{
	char small[256], *buf;
	size_t len = 4 * strlen(s) + 8;	/* "\xNN" for every byte */

	buf = malloc(len);
	fputs(nt_printable(s, buf != NULL ? buf : small, buf != NULL ? len :
	    sizeof small), f);
	free(buf);
}

static void
text_servers(FILE *f, const struct nt_sim_result *res)
{
	if (res->n_servers > 0)
		fprintf(f, "\n  %-16s %-24s %7s %9s %9s %6s %s\n", "server",
		    "state", "poll", "requests", "answered", "KoD",
		    "falseticker");
	for (size_t i = 0; i < res->n_servers + res->n_refclocks; i++) {
		const struct nt_sim_server_result *r = &res->srv[i];
		char name[256];

		nt_printable(r->name, name, sizeof name);
		if (i == res->n_servers)
			fprintf(f, "\n  %-24s %-24s %7s %9s\n", "refclock",
			    "state", "poll", "samples");
		if (i >= res->n_servers) {
			fprintf(f, "  %-24s %-24s %5.0f s %9llu\n", name,
			    nt_src_state_str(r->state), ldexp(1.0, r->poll),
			    (unsigned long long)r->requests);
			continue;
		}
		fprintf(f, "  %-16s %-24s %5.0f s %9llu %9llu %6llu %s\n",
		    name, nt_src_state_str(r->state), ldexp(1.0, r->poll),
		    (unsigned long long)r->requests,
		    (unsigned long long)r->answered,
		    (unsigned long long)r->kods, r->flagged ? "yes" : "no");
	}
}

static void
text_limit(FILE *f, int m, const struct nt_sim_limit *l, double v, bool ok)
{
	char b1[32], b2[32], b3[32];

	nt_sim_format_metric(m, l->min, b1, sizeof b1);
	nt_sim_format_metric(m, l->max, b2, sizeof b2);
	nt_sim_format_metric(m, v, b3, sizeof b3);
	fprintf(f, "  %-18s", nt_sim_metric_info[m].name);
	if (!isnan(l->min) && !isnan(l->max))
		fprintf(f, " %s..%s", b1, b2);
	else if (!isnan(l->min))
		fprintf(f, " >= %s", b1);
	else
		fprintf(f, " <= %s", b2);
	fprintf(f, ": %s %s\n", b3, ok ? "ok" : "FAILED");
}

static void
text_expect(FILE *f, const struct nt_sim_scenario *sc,
    const struct nt_sim_result *res, const bool *ok)
{
	int n = 0, bad = 0;

	for (int i = 0; i < NT_SIM_N_METRICS; i++) {
		const struct nt_sim_limit *l = &sc->expect[i];

		if (isnan(l->min) && isnan(l->max))
			continue;
		if (n++ == 0)
			fprintf(f, "\nexpect:\n");
		text_limit(f, i, l, res->m[i], ok[i]);
		bad += !ok[i];
	}
	if (n > 0 && bad == 0)
		fprintf(f, "all %d limits met\n", n);
	else if (n > 0)
		fprintf(f, "%d of %d limits FAILED\n", bad, n);
}

void
nt_sim_text_title_end(FILE *f, const struct nt_sim_scenario *sc,
    size_t n_servers, size_t n_refclocks, double settle)
{
	fprintf(f, "%zu server%s, ", n_servers, n_servers == 1 ? "" : "s");
	if (n_refclocks > 0)
		fprintf(f, "%zu refclock%s, ", n_refclocks,
		    n_refclocks == 1 ? "" : "s");
	fprintf(f, "statistics from %.0f s on\n", settle);
	if (sc->description != NULL) {
		nt_sim_put_printable(f, sc->description);
		fputc('\n', f);
	}
}

void
nt_sim_report_text(FILE *f, const struct nt_sim_scenario *sc,
    const struct nt_sim_result *res, const bool *ok)
{
	char b[32];

	fputs("scenario ", f);
	nt_sim_put_printable(f, sc->name);
	fprintf(f, " (seed %llu): %.0f s simulated, ",
	    (unsigned long long)res->seed, res->duration);
	nt_sim_text_title_end(f, sc, res->n_servers, res->n_refclocks,
	    res->settle);
	fprintf(f, "\n");
	for (int i = 0; i < NT_SIM_N_METRICS; i++)
		fprintf(f, "  %-55s %s\n", nt_sim_metric_info[i].doc,
		    nt_sim_format_metric(i, res->m[i], b, sizeof b));
	text_servers(f, res);
	text_expect(f, sc, res, ok);
}

/*
 * Sources from..to-1 under key: servers count requests sent, those
 * answered and KoDs; refclocks (kods NULL) count samples.
 */
static void
json_sources(struct nt_json *j, const struct nt_sim_result *res,
    const char *key, size_t from, size_t to, const char *count,
    const char *kods)
{
	nt_json_key(j, key);
	nt_json_begin_array(j);
	for (size_t i = from; i < to; i++) {
		const struct nt_sim_server_result *r = &res->srv[i];

		nt_json_begin_object(j);
		nt_json_key(j, "name");
		nt_json_string(j, r->name);
		nt_json_key(j, "state");
		nt_json_string(j, nt_src_state_str(r->state));
		nt_json_key(j, "poll");
		nt_json_number(j, ldexp(1.0, r->poll));
		nt_json_key(j, count);
		nt_json_int(j, (int64_t)r->requests);
		if (kods != NULL) {
			nt_json_key(j, "answered");
			nt_json_int(j, (int64_t)r->answered);
			nt_json_key(j, kods);
			nt_json_int(j, (int64_t)r->kods);
		}
		nt_json_key(j, "falseticker");
		nt_json_bool(j, r->flagged);
		nt_json_end_object(j);
	}
	nt_json_end_array(j);
}

static void
json_expect(struct nt_json *j, const struct nt_sim_scenario *sc,
    const struct nt_sim_result *res, const bool *ok)
{
	bool all = true;

	nt_json_key(j, "expect");
	nt_json_begin_object(j);
	for (int i = 0; i < NT_SIM_N_METRICS; i++) {
		const struct nt_sim_limit *l = &sc->expect[i];

		if (isnan(l->min) && isnan(l->max))
			continue;
		all = all && ok[i];
		nt_json_key(j, nt_sim_metric_info[i].name);
		nt_json_begin_object(j);
		nt_json_key(j, "value");
		nt_json_number(j, res->m[i]);
		nt_json_key(j, "min");
		nt_json_number(j, l->min);
		nt_json_key(j, "max");
		nt_json_number(j, l->max);
		nt_json_key(j, "ok");
		nt_json_bool(j, ok[i]);
		nt_json_end_object(j);
	}
	nt_json_end_object(j);
	nt_json_key(j, "ok");
	nt_json_bool(j, all);
}

void
nt_sim_json_begin(struct nt_json *j, FILE *f,
    const struct nt_sim_scenario *sc)
{
	nt_json_init_file(j, f, true);
	nt_json_begin_object(j);
	nt_json_key(j, "scenario");
	nt_json_string(j, sc->name);
	nt_json_key(j, "description");
	nt_json_string(j, sc->description);
}

void
nt_sim_report_json(FILE *f, const struct nt_sim_scenario *sc,
    const struct nt_sim_result *res, const bool *ok)
{
	struct nt_json j;

	nt_sim_json_begin(&j, f, sc);
	nt_json_key(&j, "seed");
	nt_json_int(&j, (int64_t)res->seed);
	nt_json_key(&j, "duration");
	nt_json_number(&j, res->duration);
	nt_json_key(&j, "settle");
	nt_json_number(&j, res->settle);
	for (int i = 0; i < NT_SIM_N_METRICS; i++) {
		nt_json_key(&j, nt_sim_metric_info[i].name);
		nt_json_number(&j, res->m[i]);
	}
	json_sources(&j, res, "servers", 0, res->n_servers, "requests",
	    "kods");
	json_sources(&j, res, "refclocks", res->n_servers, res->n_servers +
	    res->n_refclocks, "samples", NULL);
	json_expect(&j, sc, res, ok);
	nt_json_end_object(&j);
	nt_json_finish(&j);
	fputc('\n', f);
}

void
nt_sim_csv_header(FILE *f)
{
	fprintf(f, "time,error,freq_error_ppm,bound,offset,poll,selected,"
	    "falsetickers\n");
}

/* Whether a CSV field must be quoted (RFC 4180). */
static bool
csv_special(const char *s)
{
	return (strpbrk(s, ",\"\r\n") != NULL);
}

/* s in a field; within quotes, a quote is doubled. */
static void
csv_put(FILE *f, const char *s, bool quoted)
{
	for (; *s != '\0'; s++) {
		if (quoted && *s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
}

/*
 * Names of the sources whose bit is set, '+'-separated, as one field:
 * quoted when a name has a comma, a quote or a line break (a refclock's
 * device path may).
 */
static void
csv_names(FILE *f, uint32_t mask, const struct nt_engine *e)
{
	bool first = true, quoted = false;
	size_t i;

	for (i = 0; i < nt_engine_n_sources(e); i++)
		if (mask & (UINT32_C(1) << i))
			quoted = quoted ||
			    csv_special(nt_engine_source(e, i)->conf.address);
	if (quoted)
		fputc('"', f);
	for (i = 0; i < nt_engine_n_sources(e); i++) {
		if (!(mask & (UINT32_C(1) << i)))
			continue;
		if (!first)
			fputc('+', f);
		csv_put(f, nt_engine_source(e, i)->conf.address, quoted);
		first = false;
	}
	if (quoted)
		fputc('"', f);
}

void
nt_sim_csv_row(FILE *f, const struct nt_sim_point *p,
    const struct nt_engine *e)
{
	fprintf(f, "%.3f,%.9g,%.6g,%.9g,%.9g,%.0f,", p->t, p->err,
	    p->ferr * 1e6, p->bound, p->offset, p->poll);
	csv_names(f, p->selected, e);
	fputc(',', f);
	csv_names(f, p->falsetickers, e);
	fputc('\n', f);
}
