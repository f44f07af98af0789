/*
 * The /metrics endpoint and what it shows: the strict HTTP request
 * checker (table of good and bad requests, byte-by-byte arrival, and a
 * mutation fuzz with the invariant that a verdict never changes once
 * given), the responses, the Prometheus writer's escaping and format, and
 * the engine's views rendered from a real engine driven by scripted
 * replies, checked against the engine's own state with a strict
 * exposition-format parser.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "clock_sim.h"
#include "conf.h"
#include "engine.h"
#include "json.h"
#include "metrics.h"
#include "ntp_pkt.h"
#include "rng.h"
#include "status.h"

/* ---- The HTTP request checker ---- */

struct http_case {
	const char	*req;
	int		status;		/* 0: incomplete */
	bool		head;
};

static const struct http_case http_cases[] = {
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200, false },
	{ "GET /metrics HTTP/1.0\r\n\r\n", 200, false },
	{ "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200, true },
	{ "GET /metrics?name[]=up HTTP/1.1\r\nHost: x\r\nAccept: "
	    "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
	    "\r\nUser-Agent: Prometheus/2.42.0\r\nX-Prometheus-Scrape-"
	    "Timeout-Seconds: 10\r\n\r\n", 200, false },
	{ "GET /metrics HTTP/1.1\r\nhost:x\r\nContent-Length: 0\r\n\r\n",
	    200, false },
	{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 404, false },
	{ "GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", 404, false },
	{ "GET /metrics/ HTTP/1.1\r\nHost: x\r\n\r\n", 404, false },
	{ "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405, false },
	{ "get /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405, false },
	{ "GET /metrics HTTP/1.1\r\n\r\n", 400, false },	/* no Host */
	{ "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, false },
	{ "GET /metrics HTTP/2.0\r\n\r\n", 400, false },
	{ "GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n", 400, false },
	{ "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, false },
	{ "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, false },
	{ "GET /metrics\r\n\r\n", 400, false },
	{ "GET /metrics HTTP/1.1\nHost: x\n\n", 400, false },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, false },
	{ "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400, false },
	{ "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n", 400, false },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
	    400, false },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n", 400, false },
	{ "GET /metrics HTTP/1.1\r\nHost: x\001\r\n\r\n", 400, false },
	{ "\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, false },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\n", 0, false },
	{ "GET /metr", 0, false },
	{ "", 0, false },
	{ "GET /metrics HTTP/1.1\rX", 400, false },	/* bare CR */
	{ "GET /metr\n", 400, false },			/* bare LF */
};

static void
test_http_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof http_cases / sizeof http_cases[0];
	    i++) {
		const struct http_case *c = &http_cases[i];
		bool head = false;
		int got = nt_http_check(c->req, strlen(c->req), &head);

		if (got != c->status)
			fail_msg("case %zu: '%s': got %d, want %d", i, c->req,
			    got, c->status);
		if (got == 200)
			assert_int_equal(head, c->head);
	}
}

static void
test_http_nul_and_size(void **state)
{
	char buf[NT_HTTP_MAX_REQUEST + 16];
	bool head;

	(void)state;
	memcpy(buf, "GET /metrics HTTP/1.1\r\nHost: \0x\r\n\r\n", 36);
	assert_int_equal(nt_http_check(buf, 36, &head), 400);
	/* Headers that never end: incomplete until the limit, then 400. */
	memset(buf, 'a', sizeof buf);
	memcpy(buf, "GET /metrics HTTP/1.1\r\nX-Pad: ", 30);
	assert_int_equal(nt_http_check(buf, NT_HTTP_MAX_REQUEST - 1, &head),
	    0);
	assert_int_equal(nt_http_check(buf, NT_HTTP_MAX_REQUEST, &head), 400);
	/* Too many headers. */
	size_t n = (size_t)snprintf(buf, sizeof buf, "GET /metrics HTTP/1.0"
	    "\r\n");
	for (int i = 0; i <= NT_HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "A: b\r\n");
	n += (size_t)snprintf(buf + n, sizeof buf - n, "\r\n");
	assert_int_equal(nt_http_check(buf, n, &head), 400);
}

/* Bytes arriving one by one: incomplete until the very last. */
static void
test_http_incremental(void **state)
{
	const char *req = http_cases[3].req;
	size_t len = strlen(req);
	bool head;

	(void)state;
	for (size_t n = 0; n < len; n++)
		assert_int_equal(nt_http_check(req, n, &head), 0);
	assert_int_equal(nt_http_check(req, len, &head), 200);
}

/*
 * Mutations of good requests.  The verdict is a function of a prefix:
 * once a prefix gets a status, every longer input with that prefix gets
 * the same one, and nothing else than the five answers ever comes out.
 */
static void
test_http_fuzz(void **state)
{
	static const char alphabet[] = "GETHEAD /metrics?HTTP/1.01\r\n:\t "
	    "\001\177\200\0xHost-Content-Length";
	struct nt_rng rng;
	char buf[512];
	bool head;

	(void)state;
	nt_rng_seed(&rng, 42);
	for (int iter = 0; iter < 50000; iter++) {
		const char *base = http_cases[nt_rng_u64(&rng) % 6].req;
		size_t len = strlen(base);
		int first = -1, got;

		memcpy(buf, base, len);
		for (int m = (int)(nt_rng_u64(&rng) % 4); m >= 0; m--) {
			size_t at = nt_rng_u64(&rng) % len;

			buf[at] = alphabet[nt_rng_u64(&rng) %
			    (sizeof alphabet - 1)];
		}
		for (size_t n = 0; n <= len; n++) {
			got = nt_http_check(buf, n, &head);
			assert_true(got == 0 || got == 200 || got == 400 ||
			    got == 404 || got == 405);
			if (first < 0 && got != 0)
				first = got;
			if (first >= 0)
				assert_int_equal(got, first);
		}
	}
}

static void
test_http_response(void **state)
{
	char *out;
	size_t len;

	(void)state;
	assert_int_equal(nt_http_response(200, false, "a 1\n", 4, &out, &len),
	    0);
	assert_true(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(memmem(out, len, "Content-Type: text/plain; "
	    "version=0.0.4; charset=utf-8\r\n", 50));
	assert_non_null(memmem(out, len, "Content-Length: 4\r\n", 19));
	assert_true(len > 4 && memcmp(out + len - 8, "\r\n\r\na 1\n", 8) == 0);
	free(out);
	/* HEAD: the same headers, no body. */
	assert_int_equal(nt_http_response(200, true, "a 1\n", 4, &out, &len),
	    0);
	assert_true(memcmp(out + len - 4, "\r\n\r\n", 4) == 0);
	assert_non_null(memmem(out, len, "Content-Length: 4\r\n", 19));
	free(out);
	/* Errors: a status line, no body, nothing about us. */
	assert_int_equal(nt_http_response(400, false, "secret", 6, &out,
	    &len), 0);
	assert_true(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
	assert_non_null(memmem(out, len, "Content-Length: 0\r\n", 19));
	assert_null(memmem(out, len, "secret", 6));
	assert_true(memcmp(out + len - 4, "\r\n\r\n", 4) == 0);
	free(out);
	assert_int_equal(nt_http_response(405, false, NULL, 0, &out, &len), 0);
	assert_non_null(memmem(out, len, "Allow: GET, HEAD\r\n", 18));
	free(out);
}

/* ---- A strict exposition-format checker ---- */

struct sample {
	char	name[64];
	char	labels[256];
	double	value;
};

struct parsed {
	struct sample	s[512];
	size_t		n;
};

static bool
name_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
		    (i > 0 && s[i] >= '0' && s[i] <= '9')))
			return (false);
	return (n > 0);
}

/*
 * Check text line by line: HELP then TYPE then samples of that family
 * only, no family twice, label values quoted with only \\ \" \n escapes,
 * values that strtod reads completely; fills out.
 */
static void
check_exposition(const char *text, struct parsed *out)
{
	char family[64] = "", seen[8192] = "\n", line[1024];
	const char *p = text, *nl;
	int stage = 0;		/* 0 need HELP, 1 need TYPE, 2 samples */

	out->n = 0;
	assert_true(text[0] != '\0' && text[strlen(text) - 1] == '\n');
	for (; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_true((size_t)(nl - p) < sizeof line);
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		if (strncmp(line, "# HELP ", 7) == 0) {
			size_t n = strcspn(line + 7, " ");
			char key[70];

			assert_true(name_ok(line + 7, n) && n < sizeof family);
			memcpy(family, line + 7, n);
			family[n] = '\0';
			snprintf(key, sizeof key, "\n%s\n", family);
			if (strstr(seen, key) != NULL)
				fail_msg("family %s twice", family);
			strlcat(seen, key + 1, sizeof seen);
			stage = 1;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char want[160];

			assert_int_equal(stage, 1);
			snprintf(want, sizeof want, "# TYPE %s ", family);
			assert_true(strncmp(line, want, strlen(want)) == 0);
			const char *type = line + strlen(want);
			assert_true(strcmp(type, "gauge") == 0 ||
			    strcmp(type, "counter") == 0);
			assert_int_equal(strcmp(type, "counter") == 0,
			    strlen(family) > 6 && strcmp(family +
			    strlen(family) - 6, "_total") == 0);
			stage = 2;
			continue;
		}
		assert_int_equal(stage, 2);
		size_t n = strcspn(line, "{ ");
		assert_true(n == strlen(family) && strncmp(line, family, n) == 0);
		struct sample *s = &out->s[out->n++];
		assert_true(out->n < 512);
		memcpy(s->name, line, n);
		s->name[n] = '\0';
		const char *q = line + n;
		s->labels[0] = '\0';
		if (*q == '{') {
			const char *end = q + 1;
			for (;;) {	/* name="value" pairs */
				size_t ln = strcspn(end, "=");
				assert_true(name_ok(end, ln) && end[ln + 1] == '"');
				end += ln + 2;
				while (*end != '"') {
					assert_true(*end != '\0');
					if (*end == '\\') {
						end++;
						assert_true(*end == '\\' ||
						    *end == '"' || *end == 'n');
					}
					end++;
				}
				end++;
				if (*end == '}')
					break;
				assert_int_equal(*end, ',');
				end++;
			}
			assert_true((size_t)(end + 1 - q) < sizeof s->labels);
			memcpy(s->labels, q, (size_t)(end + 1 - q));
			s->labels[end + 1 - q] = '\0';
			q = end + 1;
		}
		assert_int_equal(*q, ' ');
		char *e;
		q++;
		if (strcmp(q, "NaN") == 0 || strcmp(q, "+Inf") == 0 ||
		    strcmp(q, "-Inf") == 0)
			s->value = strcmp(q, "NaN") == 0 ? NAN : q[0] == '+' ?
			    INFINITY : -INFINITY;
		else {
			s->value = strtod(q, &e);
			assert_true(*q != '\0' && *e == '\0');
		}
	}
}

static const struct sample *
find(const struct parsed *ps, const char *name, const char *labels)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->s[i].name, name) == 0 &&
		    strcmp(ps->s[i].labels, labels) == 0)
			return (&ps->s[i]);
	return (NULL);
}

static void
test_prom_writer(void **state)
{
	struct nt_prom p;
	struct parsed *ps = calloc(1, sizeof *ps);

	(void)state;
	nt_prom_init(&p);
	assert_string_equal(nt_prom_text(&p, NULL), "");
	nt_prom_family(&p, "ntimed_x_seconds", "gauge", "Some help");
	nt_prom_sample(&p, 1.5, "source", "a\"b\\c\nd", "k", "", NULL);
	nt_prom_sample(&p, NAN, NULL);
	nt_prom_sample(&p, -INFINITY, "source", "x", NULL);
	nt_prom_family(&p, "ntimed_y_total", "counter", "Counted");
	nt_prom_sample_u64(&p, UINT64_MAX, NULL);
	assert_int_equal(p.err, 0);
	check_exposition(nt_prom_text(&p, NULL), ps);
	assert_int_equal(ps->n, 4);
	assert_string_equal(ps->s[0].labels,
	    "{source=\"a\\\"b\\\\c\\nd\",k=\"\"}");
	assert_true(ps->s[0].value == 1.5);
	assert_true(isnan(ps->s[1].value));
	assert_true(isinf(ps->s[2].value) && ps->s[2].value < 0);
	assert_non_null(strstr(nt_prom_text(&p, NULL),
	    "ntimed_y_total 18446744073709551615\n"));
	nt_prom_free(&p);
	free(ps);
}

/* ---- A real engine, scripted servers ---- */

#define N_SRC 3

struct world {
	struct nt_simclock clk;
	struct nt_engine *e;
	uint8_t		req[N_SRC][NTP_HDR_LEN];
	bool		pending[N_SRC];
	double		srv_offset[N_SRC];
	uint64_t	rnd;
	struct nt_server_counters cnt;
};

static int
w_send(void *ctx, int src, const uint8_t *buf, size_t len)
{
	struct world *w = ctx;

	assert_true(len == NTP_HDR_LEN && src >= 0 && src < N_SRC);
	memcpy(w->req[src], buf, len);
	w->pending[src] = true;
	return (0);
}

static uint64_t
w_random(void *ctx)
{
	struct world *w = ctx;

	return (w->rnd += 0x9E3779B97F4A7C15ull);
}

/* The server's answer after a round trip of delay s. */
static void
w_reply(struct world *w, int src, double delay)
{
	struct ntp_pkt q, r;
	uint8_t buf[NTP_HDR_LEN];
	nt_time srv;

	assert_int_equal(ntp_decode(w->req[src], NTP_HDR_LEN, &q),
	    NTP_DECODE_OK);
	nt_simclock_advance(&w->clk, w->clk.true_now + nt_from_sec(delay / 2));
	srv = nt_add(nt_simclock_utc(&w->clk, w->clk.true_now),
	    w->srv_offset[src]);
	memset(&r, 0, sizeof r);
	r.version = 4;
	r.mode = NTP_MODE_SERVER;
	r.stratum = 2;
	r.poll = q.poll;
	r.precision = -20;
	r.root_delay = nt_to_ntp32(0.001);
	r.root_disp = nt_to_ntp32(0.001);
	r.refid = 0xc0000201;
	r.ref = nt_to_ntp64(nt_add(srv, -10));
	r.org = q.xmt;
	r.rec = r.xmt = nt_to_ntp64(srv);
	assert_int_equal(ntp_encode(&r, buf, sizeof buf), NTP_HDR_LEN);
	nt_simclock_advance(&w->clk, w->clk.true_now + nt_from_sec(delay / 2));
	w->pending[src] = false;
	nt_engine_rx(w->e, src, buf, sizeof buf, nt_clock_now(&w->clk.base));
}

/* Two honest servers and one half a second off, for sim_seconds. */
static void
world_run(struct world *w, double sim_seconds)
{
	struct nt_simclock_model m = { .max_freq_ppm = 500, .slew_ppm = 500,
	    .can_step = true, .freq_ppm = 3 };
	struct nt_engine_io io = { w, w_send, w_random, NULL, NULL, NULL };
	struct nt_server_conf sc;
	struct nt_engine_params p;
	struct nt_conf conf;
	char name[32];
	nt_time end;

	memset(w, 0, sizeof *w);
	nt_simclock_init(&w->clk, INT64_C(1700000000) * NT_SEC, &m, 7);
	nt_conf_init(&conf);
	nt_engine_params_from_conf(&p, &conf, &w->clk.base, false, 0, 0);
	w->e = nt_engine_new(&p, &w->clk.base, &io);
	assert_non_null(w->e);
	w->srv_offset[2] = 0.5;
	for (int i = 0; i < N_SRC; i++) {
		nt_server_conf_init(&sc);
		sc.minpoll = sc.maxpoll = 1;
		snprintf(name, sizeof name, "192.0.2.%d:123", i + 1);
		assert_int_equal(nt_engine_add_source(w->e, &sc, name,
		    0xc0000201u + (uint32_t)i), i);
	}
	end = w->clk.true_now + nt_from_sec(sim_seconds);
	while (w->clk.true_now < end) {
		double d = nt_engine_run(w->e);

		for (int i = 0; i < N_SRC; i++)
			if (w->pending[i])
				w_reply(w, i, 0.002 + 0.0005 * i);
		nt_simclock_advance(&w->clk, w->clk.true_now +
		    nt_from_sec(fmin(fmax(d, 0.001), 1.0)));
	}
	nt_conf_free(&conf);
}

static void
counters(void *ctx, struct nt_server_counters *c)
{
	*c = ((struct world *)ctx)->cnt;
}

/* The status views of w's engine for role, as a daemon registers them. */
static void
views_of(struct world *w, const char *role, struct nt_status_engine *se,
    struct nt_status *st)
{
	se->e = w->e;
	se->clk = &w->clk.base;
	nt_status_init(st, role, &w->clk.base);
	nt_status_add_engine(st, se);
}

static void
test_engine_views(void **state)
{
	struct world *w = calloc(1, sizeof *w);
	struct parsed *ps = calloc(1, sizeof *ps);
	struct nt_status_engine se = { 0 };
	struct nt_status_server ss = { counters, w };
	struct nt_status st;
	struct nt_prom p;
	const struct nt_source *sel = NULL;
	const struct sample *s, *e;
	char labels[512];

	(void)state;
	world_run(w, 60);
	views_of(w, "client", &se, &st);
	nt_status_add_server(&st, &ss);
	w->cnt.received = 10;
	w->cnt.n[NT_SRV_REPLY] = 7;
	w->cnt.n[NT_SRV_KOD_RATE] = 1;
	w->cnt.n[NT_SRV_DROP_RATE] = 1;
	w->cnt.n[NT_SRV_DROP_MALFORMED] = 1;
	for (size_t i = 0; i < nt_engine_n_sources(w->e); i++)
		if (nt_engine_source(w->e, i)->state == NT_SRC_SELECTED)
			sel = nt_engine_source(w->e, i);
	assert_non_null(sel);
	assert_int_equal(nt_engine_source(w->e, 2)->state, NT_SRC_FALSETICKER);

	nt_prom_init(&p);
	nt_status_prom(&st, &p);
	assert_int_equal(p.err, 0);
	check_exposition(nt_prom_text(&p, NULL), ps);
	snprintf(labels, sizeof labels, "{source=\"%s\"}", sel->name);
	assert_non_null(s = find(ps, "ntimed_source_selected", labels));
	assert_true(s->value == 1);
	assert_non_null(s = find(ps, "ntimed_source_selected",
	    "{source=\"192.0.2.3:123\"}"));
	assert_true(s->value == 0);
	assert_non_null(find(ps, "ntimed_source_info", "{source=\"192.0.2.3:123"
	    "\",address=\"192.0.2.3:123\",state=\"falseticker\"}"));
	assert_non_null(s = find(ps, "ntimed_source_offset_seconds",
	    "{source=\"192.0.2.3:123\"}"));
	assert_true(fabs(s->value - nt_source_offset_at(nt_engine_source(w->e,
	    2), nt_clock_now(&w->clk.base))) < 1e-12);
	assert_true(fabs(s->value - 0.5) < 0.01);
	assert_non_null(s = find(ps, "ntimed_system_synchronized", ""));
	assert_true(s->value == 1);
	assert_non_null(s = find(ps, "ntimed_system_stratum", ""));
	assert_true(s->value == 3);
	assert_non_null(s = find(ps, "ntimed_system_max_error_seconds", ""));
	assert_true(s->value > 0 && s->value < 0.01);
	/* The likely bound, never above the worst case. */
	assert_non_null(e = find(ps, "ntimed_system_estimated_error_seconds",
	    ""));
	assert_true(e->value > 0 && e->value <= s->value);
	assert_non_null(s = find(ps, "ntimed_clock_updates_total", ""));
	assert_true(s->value == nt_engine_disc(w->e)->n_updates &&
	    s->value > 10);
	assert_non_null(s = find(ps, "ntimed_server_requests_total",
	    "{result=\"ratelimited\"}"));
	assert_true(s->value == 2);
	assert_non_null(s = find(ps, "ntimed_server_requests_total",
	    "{result=\"replied\"}"));
	assert_true(s->value == 7);
	assert_non_null(s = find(ps, "ntimed_server_verdicts_total",
	    "{verdict=\"malformed\"}"));
	assert_true(s->value == 1);
	nt_prom_free(&p);

	/* The JSON "tracking" names the same source. */
	struct nt_json j;
	nt_json_init_buf(&j, false);
	assert_int_equal(nt_status_json(&st, "tracking", &j), 0);
	assert_int_equal(nt_json_finish(&j), 0);
	char want[512];
	snprintf(want, sizeof want, "\"selected\":\"%s\"", sel->name);
	assert_non_null(strstr(nt_json_text(&j, NULL), want));
	assert_non_null(strstr(nt_json_text(&j, NULL), "\"synchronized\":true"));
	nt_json_free(&j);
	assert_int_equal(nt_status_json(&st, "nosuch", &j), -1);

	char summary[256];
	nt_status_summary(&se, nt_clock_now(&w->clk.base), summary,
	    sizeof summary);
	assert_non_null(strstr(summary, sel->name));
	nt_engine_free(w->e);
	free(ps);
	free(w);
}

/* Before any reply: nothing is invented, everything still parses. */
static void
test_engine_views_unsynced(void **state)
{
	struct world *w = calloc(1, sizeof *w);
	struct parsed *ps = calloc(1, sizeof *ps);
	struct nt_status_engine se = { 0 };
	struct nt_status st;
	struct nt_prom p;
	const struct sample *s;
	struct nt_tracking t;

	(void)state;
	world_run(w, 0);
	views_of(w, "slave", &se, &st);
	nt_prom_init(&p);
	nt_status_prom(&st, &p);
	check_exposition(nt_prom_text(&p, NULL), ps);
	assert_non_null(s = find(ps, "ntimed_system_synchronized", ""));
	assert_true(s->value == 0);
	assert_null(find(ps, "ntimed_system_max_error_seconds", ""));
	assert_null(find(ps, "ntimed_system_estimated_error_seconds", ""));
	assert_null(find(ps, "ntimed_source_offset_seconds",
	    "{source=\"192.0.2.1:123\"}"));
	assert_non_null(find(ps, "ntimed_build_info", "{version=\""
	    NTIMED_VERSION "\",role=\"slave\",clock=\"sim\"}"));
	nt_status_tracking(&se, nt_clock_now(&w->clk.base), &t);
	assert_false(t.synced);
	assert_int_equal(t.stratum, 16);
	assert_null(t.selected);
	assert_true(isinf(t.max_error) && isinf(t.est_error));
	nt_prom_free(&p);
	nt_engine_free(w->e);
	free(ps);
	free(w);
}

/* What a slave with local stratum 8 publishes while unsynchronized. */
static void
local_stratum(void *ctx, struct nt_server_state *st)
{
	struct world *w = ctx;
	struct nt_sysinfo si;
	nt_time now = nt_clock_now(&w->clk.base);

	nt_engine_sysinfo(w->e, now, &si);
	nt_server_state_make(st, &si, -20, 8, now);
}

/* Tracking and metrics show what a serving role's clients get. */
static void
test_engine_views_served(void **state)
{
	struct world *w = calloc(1, sizeof *w);
	struct parsed *ps = calloc(1, sizeof *ps);
	struct nt_status_engine se = { 0 };
	struct nt_status st;
	struct nt_prom p;
	struct nt_json j;
	const struct sample *s;
	struct nt_tracking t;

	(void)state;
	world_run(w, 0);
	se.served = local_stratum;
	se.served_ctx = w;
	views_of(w, "slave", &se, &st);
	nt_status_tracking(&se, nt_clock_now(&w->clk.base), &t);
	assert_false(t.synced);
	assert_int_equal(t.stratum, 8);
	assert_int_equal(t.refid, NT_SERVER_LOCAL_REFID);
	assert_int_equal(t.leap, NTP_LEAP_NONE);
	nt_prom_init(&p);
	nt_status_prom(&st, &p);
	check_exposition(nt_prom_text(&p, NULL), ps);
	assert_non_null(s = find(ps, "ntimed_system_stratum", ""));
	assert_true(s->value == 8);
	assert_non_null(s = find(ps, "ntimed_system_leap_status", ""));
	assert_true(s->value == 0);
	assert_non_null(s = find(ps, "ntimed_system_synchronized", ""));
	assert_true(s->value == 0);
	nt_prom_free(&p);
	nt_json_init_buf(&j, false);
	assert_int_equal(nt_status_json(&st, "tracking", &j), 0);
	assert_int_equal(nt_json_finish(&j), 0);
	assert_non_null(strstr(nt_json_text(&j, NULL),
	    "\"refid\":\"127.127.1.1\",\"refid_hex\":\"7F7F0101\""));
	assert_non_null(strstr(nt_json_text(&j, NULL), "\"stratum\":8,"));
	nt_json_free(&j);
	/* Without a server (the client): the engine's INIT, as text. */
	se.served = NULL;
	nt_json_init_buf(&j, false);
	assert_int_equal(nt_status_json(&st, "tracking", &j), 0);
	assert_int_equal(nt_json_finish(&j), 0);
	assert_non_null(strstr(nt_json_text(&j, NULL),
	    "\"refid\":\"INIT\",\"refid_hex\":\"494E4954\""));
	assert_non_null(strstr(nt_json_text(&j, NULL), "\"stratum\":16,"));
	nt_json_free(&j);
	nt_engine_free(w->e);
	free(ps);
	free(w);
}

static void
test_track(void **state)
{
	struct nt_track t = { 0 };
	struct nt_update u = { 0 };

	(void)state;
	for (int i = 0; i < 200; i++) {
		u.when = (nt_time)i * 2 * NT_SEC;
		u.offset = i % 2 == 0 ? 1e-3 : -1e-3;
		nt_track_update(&t, &u);
	}
	assert_int_equal(t.n_updates, 200);
	assert_true(fabs(t.rms_offset - 1e-3) < 1e-9);
	assert_true(nt_diff(t.last, t.prev) == 2.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_cases),
		cmocka_unit_test(test_http_nul_and_size),
		cmocka_unit_test(test_http_incremental),
		cmocka_unit_test(test_http_fuzz),
		cmocka_unit_test(test_http_response),
		cmocka_unit_test(test_prom_writer),
		cmocka_unit_test(test_engine_views),
		cmocka_unit_test(test_engine_views_unsynced),
		cmocka_unit_test(test_engine_views_served),
		cmocka_unit_test(test_track),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
