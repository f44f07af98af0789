/*
 * Tests for the configuration loader.  A sysadmin's typo must give one
 * exact line naming file, line and column and must change nothing, so
 * every error case compares the full message and then checks that the
 * caller's struct still holds what it held before.  Valid files are
 * checked value by value, and nt_conf_print() output is loaded back.
 */
#include <math.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"
#include "sandbox.h"
#include "yconf.h"

#define NAME "t.yaml"

/* test/unit/conf/FILE, or conf/FILE, relative to the source tree. */
static const char *
src_path(char *buf, size_t len, const char *rel)
{
	const char *src = getenv("NTIMED_SRCDIR");

	if (src != NULL && src[0] != '\0')
		snprintf(buf, len, "%s/%s", src, rel);
	else
		snprintf(buf, len, "../%s", rel);	/* cwd is test/ */
	return (buf);
}

static void
assert_server_equal(const struct nt_server_conf *a,
    const struct nt_server_conf *b)
{
	assert_string_equal(a->address, b->address);
	assert_int_equal(a->port, b->port);
	assert_int_equal(a->minpoll, b->minpoll);
	assert_int_equal(a->maxpoll, b->maxpoll);
	assert_int_equal(a->iburst, b->iburst);
	assert_int_equal(a->prefer, b->prefer);
	assert_int_equal(a->noselect, b->noselect);
	assert_int_equal(a->trust, b->trust);
	assert_int_equal(a->require, b->require);
	assert_true(a->maxdelay == b->maxdelay);
}

static void
assert_strings_equal(char **a, size_t na, char **b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(a[i], b[i]);
}

static void
assert_serve_equal(const struct nt_serve_conf *a,
    const struct nt_serve_conf *b)
{
	assert_strings_equal(a->listen, a->n_listen, b->listen, b->n_listen);
	assert_strings_equal(a->allow, a->n_allow, b->allow, b->n_allow);
	assert_strings_equal(a->deny, a->n_deny, b->deny, b->n_deny);
	assert_int_equal(a->port, b->port);
	assert_int_equal(a->workers, b->workers);
	assert_int_equal(a->denied, b->denied);
	assert_true(a->ratelimit.interval == b->ratelimit.interval);
	assert_int_equal(a->ratelimit.burst, b->ratelimit.burst);
	assert_int_equal(a->ratelimit.kod, b->ratelimit.kod);
	assert_int_equal(a->ratelimit.loopback, b->ratelimit.loopback);
	assert_int_equal(a->ratelimit.table_size, b->ratelimit.table_size);
	assert_int_equal(a->local_stratum, b->local_stratum);
}

static void
assert_conf_equal(const struct nt_conf *a, const struct nt_conf *b)
{
	assert_int_equal(a->n_servers, b->n_servers);
	for (size_t i = 0; i < a->n_servers; i++)
		assert_server_equal(&a->servers[i], &b->servers[i]);
	assert_int_equal(a->n_pools, b->n_pools);
	for (size_t i = 0; i < a->n_pools; i++) {
		assert_server_equal(&a->pools[i].server, &b->pools[i].server);
		assert_int_equal(a->pools[i].max_sources,
		    b->pools[i].max_sources);
	}
	if (a->driftfile == NULL || b->driftfile == NULL)
		assert_ptr_equal(a->driftfile, b->driftfile);
	else
		assert_string_equal(a->driftfile, b->driftfile);
	/* Exact: the printed form must read back bit for bit. */
	assert_true(a->step_threshold == b->step_threshold);
	assert_int_equal(a->step_limit, b->step_limit);
	assert_true(a->max_distance == b->max_distance);
	assert_int_equal(a->min_sources, b->min_sources);
	assert_int_equal(a->log_level, b->log_level);
	assert_int_equal(a->log_dest, b->log_dest);
	assert_serve_equal(&a->serve, &b->serve);
	assert_string_equal(a->user, b->user);
	assert_int_equal(a->sandbox, b->sandbox);
}

static void
assert_defaults(const struct nt_conf *c)
{
	assert_int_equal(c->n_servers, 0);
	assert_null(c->servers);
	assert_int_equal(c->n_pools, 0);
	assert_null(c->pools);
	assert_null(c->driftfile);
	assert_true(c->step_threshold == 0.128);
	assert_int_equal(c->step_limit, 3);
	assert_true(c->max_distance == 3.0);
	assert_int_equal(c->min_sources, 1);
	assert_int_equal(c->log_level, NT_LOG_NOTICE);
	assert_int_equal(c->log_dest, NT_LOG_STDERR);
}

static void
assert_server(const struct nt_server_conf *s, const char *addr, int port,
    int minpoll, int maxpoll, bool iburst, bool prefer)
{
	assert_string_equal(s->address, addr);
	assert_int_equal(s->port, port);
	assert_int_equal(s->minpoll, minpoll);
	assert_int_equal(s->maxpoll, maxpoll);
	assert_int_equal(s->iburst, iburst);
	assert_int_equal(s->prefer, prefer);
}

static void
load_ok(struct nt_conf *c, const char *yaml)
{
	char err[NT_CONF_ERRLEN] = "";
	int rc;

	nt_conf_init(c);
	rc = nt_conf_load_buf(c, NAME, yaml, strlen(yaml), err, sizeof err);
	if (rc != 0)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(rc, 0);
}

/*
 * Loading yaml must fail with exactly want, and leave a struct that
 * already held a loaded configuration (with allocations) as it was.
 */
static void
expect_error_len(const char *yaml, size_t len, const char *want)
{
	static const char before[] =
	    "servers: [192.0.2.99]\ndriftfile: /before.drift\nstep_limit: 9\n";
	struct nt_conf c, ref;
	char err[NT_CONF_ERRLEN] = "";

	load_ok(&c, before);
	load_ok(&ref, before);
	assert_int_equal(nt_conf_load_buf(&c, NAME, yaml, len, err,
	    sizeof err), -1);
	assert_string_equal(err, want);
	assert_null(strchr(err, '\n'));
	assert_conf_equal(&c, &ref);
	nt_conf_free(&c);
	nt_conf_free(&ref);
}

static void
expect_error(const char *yaml, const char *want)
{
	expect_error_len(yaml, strlen(yaml), want);
}

/* A file in test/unit/conf must fail with "PATH:" followed by rest. */
static void
expect_file_error(const char *file, const char *rest)
{
	char rel[128], path[1024], want[2048], err[NT_CONF_ERRLEN] = "";
	struct nt_conf c;

	snprintf(rel, sizeof rel, "test/unit/conf/%s", file);
	src_path(path, sizeof path, rel);
	snprintf(want, sizeof want, "%s:%s", path, rest);
	nt_conf_init(&c);
	assert_int_equal(nt_conf_load(&c, path, err, sizeof err), -1);
	assert_string_equal(err, want);
	assert_defaults(&c);
	nt_conf_free(&c);
}

/* ---- Valid input ---- */

static void
test_defaults(void **state)
{
	static const char * const empty[] = {
		"", "# only a comment\n\n   # and another\n", "---\n",
		"--- ~\n", "--- # nothing\n...\n", "\n\n",
	};
	struct nt_conf c;

	(void)state;
	nt_conf_init(&c);
	assert_defaults(&c);
	nt_conf_free(&c);
	for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
		load_ok(&c, empty[i]);
		assert_defaults(&c);
		nt_conf_free(&c);
	}
	/* Empty collections and empty values mean "nothing here". */
	load_ok(&c, "servers:\npools: []\nlog:\ndriftfile: ~\n");
	assert_defaults(&c);
	nt_conf_free(&c);
}

static void
test_full_file(void **state)
{
	char path[1024], err[NT_CONF_ERRLEN] = "";
	struct nt_conf c;
	int rc;

	(void)state;
	src_path(path, sizeof path, "test/unit/conf/full.yaml");
	nt_conf_init(&c);
	rc = nt_conf_load(&c, path, err, sizeof err);
	if (rc != 0)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(c.n_servers, 4);
	assert_server(&c.servers[0], "time.example.net", 123, 6, 10, true,
	    false);
	assert_server(&c.servers[1], "192.0.2.7", 1123, 6, 10, true, false);
	assert_server(&c.servers[2], "2001:db8::1", 4123, 6, 10, true, false);
	assert_server(&c.servers[3], "::1", 12300, 4, 8, false, true);
	assert_int_equal(c.n_pools, 2);
	assert_server(&c.pools[0].server, "pool.example.org", 123, 6, 10,
	    true, false);
	assert_int_equal(c.pools[0].max_sources, 4);
	assert_server(&c.pools[1].server, "2.pool.example.org", 1234, 5, 9,
	    false, true);
	assert_int_equal(c.pools[1].max_sources, 7);
	assert_string_equal(c.driftfile, "/var/lib/ntimed/test.drift");
	assert_true(c.step_threshold == 0.5);
	assert_int_equal(c.step_limit, -1);
	assert_true(c.max_distance == 1.5);
	assert_int_equal(c.min_sources, 2);
	assert_int_equal(c.log_level, NT_LOG_DEBUG);
	assert_int_equal(c.log_dest, NT_LOG_SYSLOG);
	nt_conf_free(&c);
}

static void
test_server_forms(void **state)
{
	struct nt_conf c;

	(void)state;
	load_ok(&c,
	    "servers:\n"
	    "  - ntp1.example.net\n"
	    "  - 'ntp2.example.net:10123'\n"
	    "  - \"[::1]:4123\"\n"
	    "  - \"[fe80::1%eth0]\"\n"
	    "  - 2001:db8::7\n"
	    "  - 127.0.0.1:123\n"
	    "  - {address: \"[::1]:555\", minpoll: 0, maxpoll: 0}\n"
	    "  - address: 192.0.2.1\n"
	    "    port: 65535\n"
	    "    minpoll: 17\n"
	    "    maxpoll: 17\n"
	    "    iburst: off\n"
	    "    prefer: ON\n");
	assert_int_equal(c.n_servers, 8);
	assert_server(&c.servers[0], "ntp1.example.net", 123, 6, 10, true,
	    false);
	assert_server(&c.servers[1], "ntp2.example.net", 10123, 6, 10, true,
	    false);
	assert_server(&c.servers[2], "::1", 4123, 6, 10, true, false);
	assert_server(&c.servers[3], "fe80::1%eth0", 123, 6, 10, true, false);
	assert_server(&c.servers[4], "2001:db8::7", 123, 6, 10, true, false);
	assert_server(&c.servers[5], "127.0.0.1", 123, 6, 10, true, false);
	assert_server(&c.servers[6], "::1", 555, 0, 0, true, false);
	assert_server(&c.servers[7], "192.0.2.1", 65535, 17, 17, false, true);
	assert_int_equal(c.n_pools, 0);
	nt_conf_free(&c);
}

static void
test_pools(void **state)
{
	struct nt_conf c;

	(void)state;
	load_ok(&c,
	    "pools:\n"
	    "  - 0.pool.ntp.org\n"
	    "  - 1.pool.ntp.org:10123\n"
	    "  - address: 2.pool.ntp.org\n"
	    "    max_sources: 16\n"
	    "  - {address: 3.pool.ntp.org, max_sources: 1, prefer: true}\n");
	assert_int_equal(c.n_servers, 0);
	assert_int_equal(c.n_pools, 4);
	assert_server(&c.pools[0].server, "0.pool.ntp.org", 123, 6, 10, true,
	    false);
	assert_int_equal(c.pools[0].max_sources, 4);
	assert_server(&c.pools[1].server, "1.pool.ntp.org", 10123, 6, 10,
	    true, false);
	assert_int_equal(c.pools[2].max_sources, 16);
	assert_server(&c.pools[3].server, "3.pool.ntp.org", 123, 6, 10, true,
	    true);
	assert_int_equal(c.pools[3].max_sources, 1);
	nt_conf_free(&c);
}

static void
test_scalars(void **state)
{
	static const char * const nulls[] = {
		"driftfile:\n", "driftfile: ~\n", "driftfile: null\n",
		"driftfile: NULL\n",
	};
	struct nt_conf c;

	(void)state;
	for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
		load_ok(&c, nulls[i]);
		assert_null(c.driftfile);
		nt_conf_free(&c);
	}
	load_ok(&c,
	    "driftfile: '/var/lib/with space/x'\n"
	    "step_threshold: 0\n"
	    "step_limit: 1000000\n"
	    "max_distance: 0.001\n"
	    "min_sources: 16\n"
	    "log: {level: error, destination: stderr}\n");
	assert_string_equal(c.driftfile, "/var/lib/with space/x");
	assert_true(c.step_threshold == 0.0);
	assert_int_equal(c.step_limit, 1000000);
	assert_true(c.max_distance == 0.001);
	assert_int_equal(c.min_sources, 16);
	assert_int_equal(c.log_level, NT_LOG_ERR);
	assert_int_equal(c.log_dest, NT_LOG_STDERR);
	nt_conf_free(&c);

	/* Numbers in several spellings; an integer is a number too. */
	load_ok(&c, "step_threshold: 2\nmax_distance: 1.5e1\n"
	    "log:\n  level: \"warning\"\n");
	assert_true(c.step_threshold == 2.0);
	assert_true(c.max_distance == 15.0);
	assert_int_equal(c.log_level, NT_LOG_WARNING);
	nt_conf_free(&c);

	/* YAML 1.1 booleans, any case. */
	load_ok(&c, "servers:\n"
	    "  - {address: a, iburst: YES, prefer: True}\n"
	    "  - {address: b, iburst: no, prefer: on}\n"
	    "  - {address: c, iburst: Off, prefer: TRUE}\n"
	    "  - {address: d, iburst: false, prefer: yes}\n");
	assert_int_equal(c.n_servers, 4);
	assert_server(&c.servers[0], "a", 123, 6, 10, true, true);
	assert_server(&c.servers[1], "b", 123, 6, 10, false, true);
	assert_server(&c.servers[2], "c", 123, 6, 10, false, true);
	assert_server(&c.servers[3], "d", 123, 6, 10, false, true);
	nt_conf_free(&c);
}

static void
test_examples(void **state)
{
	static const char * const files[] = {
		"conf/ntimed.yaml", "conf/client.yaml", "conf/minimal.yaml",
	};
	char path[1024], err[NT_CONF_ERRLEN] = "";
	struct nt_conf c;
	int rc;

	(void)state;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		src_path(path, sizeof path, files[i]);
		nt_conf_init(&c);
		rc = nt_conf_load(&c, path, err, sizeof err);
		if (rc != 0)
			print_error("%s\n", err);
		assert_int_equal(rc, 0);
		/* Each example names at least one source. */
		assert_true(c.n_servers + c.n_pools > 0);
		nt_conf_free(&c);
	}
	/* The loopback example stays on this host. */
	src_path(path, sizeof path, "conf/client.yaml");
	nt_conf_init(&c);
	assert_int_equal(nt_conf_load(&c, path, err, sizeof err), 0);
	assert_int_equal(c.n_pools, 0);
	for (size_t i = 0; i < c.n_servers; i++)
		assert_true(strcmp(c.servers[i].address, "127.0.0.1") == 0 ||
		    strcmp(c.servers[i].address, "::1") == 0);
	nt_conf_free(&c);
}

/* Print c, load the text back, and compare. */
static void
round_trip(const struct nt_conf *c)
{
	char *text = NULL, err[NT_CONF_ERRLEN] = "";
	size_t len = 0;
	struct nt_conf back;
	FILE *f;
	int rc;

	f = open_memstream(&text, &len);
	assert_non_null(f);
	nt_conf_print(f, c);
	assert_int_equal(fclose(f), 0);
	nt_conf_init(&back);
	rc = nt_conf_load_buf(&back, "printed", text, len, err, sizeof err);
	if (rc != 0)
		print_error("%s\n---\n%s", err, text);
	assert_int_equal(rc, 0);
	assert_conf_equal(c, &back);
	nt_conf_free(&back);
	free(text);
}

static void
test_print_round_trip(void **state)
{
	char path[1024], err[NT_CONF_ERRLEN] = "";
	struct nt_conf c;

	(void)state;
	nt_conf_init(&c);
	round_trip(&c);				/* defaults */
	src_path(path, sizeof path, "test/unit/conf/full.yaml");
	assert_int_equal(nt_conf_load(&c, path, err, sizeof err), 0);
	round_trip(&c);
	nt_conf_free(&c);

	/* Awkward values: escapes, odd doubles, every enum value. */
	for (int lvl = NT_LOG_ERR; lvl <= NT_LOG_DEBUG; lvl++) {
		nt_conf_init(&c);
		c.log_level = (enum nt_log_level)lvl;
		c.log_dest = (enum nt_log_dest)(lvl % 3);
		c.step_threshold = 0.1 + 0.2;
		c.max_distance = 1.0 / 3.0;
		c.step_limit = -1;
		c.driftfile = strdup("/var/lib/\"quoted\" \\back\tslash/é");
		assert_non_null(c.driftfile);
		assert_int_equal(nt_conf_add_server_arg(&c, "[2001:db8::1]:9",
		    err, sizeof err), 0);
		assert_int_equal(nt_conf_add_server_arg(&c, "name.example",
		    err, sizeof err), 0);
		c.servers[1].prefer = true;
		c.servers[1].iburst = false;
		c.servers[1].minpoll = 0;
		round_trip(&c);
		nt_conf_free(&c);
	}
}

/* chrony's per-source selection options, on servers and pools alike. */
static void
test_source_options(void **state)
{
	struct nt_server_conf a, b;
	struct nt_conf c;

	(void)state;
	nt_server_conf_init(&a);
	assert_false(a.noselect || a.trust || a.require);
	assert_true(a.maxdelay == 0);		/* no limit */
	load_ok(&c, "servers:\n  - {address: a, noselect: true}\n"
	    "  - {address: b, trust: yes, require: true, maxdelay: 0.25}\n"
	    "  - c\n"
	    "pools:\n  - {address: p.example, maxdelay: 1000, trust: on}\n");
	assert_true(c.servers[0].noselect && !c.servers[0].trust &&
	    !c.servers[0].require && c.servers[0].maxdelay == 0);
	assert_true(!c.servers[1].noselect && c.servers[1].trust &&
	    c.servers[1].require && c.servers[1].maxdelay == 0.25);
	assert_true(!c.servers[2].noselect && !c.servers[2].trust &&
	    !c.servers[2].require && c.servers[2].maxdelay == 0);
	assert_true(c.pools[0].server.trust &&
	    c.pools[0].server.maxdelay == 1000);
	round_trip(&c);
	/* A reload with other options makes a new source. */
	a = c.servers[1];
	b = a;
	assert_true(nt_server_conf_same(&a, &b));
	b.maxdelay = 0.5;
	assert_false(nt_server_conf_same(&a, &b));
	b = a;
	b.trust = false;
	assert_false(nt_server_conf_same(&a, &b));
	b = a;
	b.require = false;
	assert_false(nt_server_conf_same(&a, &b));
	b = a;
	b.noselect = true;
	assert_false(nt_server_conf_same(&a, &b));
	nt_conf_free(&c);
}

static void
test_err_source_options(void **state)
{
	(void)state;
	expect_error("servers:\n  - {address: a, maxdelay: -0.1}\n",
	    "t.yaml:2:28: 'maxdelay' out of range: -0.1 (allowed 0..1000)");
	expect_error("servers:\n  - {address: a, maxdelay: 1001}\n",
	    "t.yaml:2:28: 'maxdelay' out of range: 1001 (allowed 0..1000)");
	expect_error("pools:\n  - {address: p.example, maxdelay: 1s}\n",
	    "t.yaml:2:36: 'maxdelay' must be a number, got '1s'");
	expect_error("servers:\n  - address: a\n    trust: always\n",
	    "t.yaml:3:12: 'trust' must be true or false, got 'always'");
	expect_error("servers:\n  - address: a\n    noselect: true\n"
	    "    require: true\n",
	    "t.yaml:4:5: servers[0]: 'require' with 'noselect' would never "
	    "let the clock be updated");
	expect_error("pools:\n  - {address: p.example, require: true, "
	    "noselect: true}\n",
	    "t.yaml:2:26: pools[0]: 'require' with 'noselect' would never "
	    "let the clock be updated");
}

/*
 * The same selection options on refclocks (chrony has trust and require
 * there too), checked the same way; maxdelay is no refclock key.
 */
static void
test_refclock_source_options(void **state)
{
	struct nt_conf c;

	(void)state;
	load_ok(&c, "refclocks:\n"
	    "  - { driver: pps, device: /dev/pps0, trust: true }\n"
	    "  - { driver: shm, unit: 1, require: yes, prefer: true }\n"
	    "  - { driver: local }\n");
	assert_true(c.refclocks[0].trust && !c.refclocks[0].require);
	assert_true(!c.refclocks[1].trust && c.refclocks[1].require &&
	    c.refclocks[1].prefer);
	assert_true(!c.refclocks[2].trust && !c.refclocks[2].require &&
	    !c.refclocks[2].noselect);
	nt_conf_free(&c);
	expect_error("refclocks:\n  - { driver: local }\n  - ~\n",
	    "t.yaml:3:5: missing required key 'driver' in refclocks[1]");
	expect_error("refclocks:\n  - driver: shm\n    trust: always\n",
	    "t.yaml:3:12: 'trust' must be true or false, got 'always'");
	expect_error("refclocks:\n  - driver: shm\n    noselect: true\n"
	    "    require: true\n",
	    "t.yaml:4:5: refclocks[0]: 'require' with 'noselect' would never "
	    "let the clock be updated");
	expect_error("refclocks:\n  - { driver: local }\n"
	    "  - { driver: pps, device: /dev/pps0, require: true, "
	    "noselect: true }\n",
	    "t.yaml:3:39: refclocks[1]: 'require' with 'noselect' would never "
	    "let the clock be updated");
	expect_error("refclocks:\n  - { driver: shm, maxdelay: 0.1 }\n",
	    "t.yaml:2:20: unknown key 'maxdelay' in refclocks[0] (expected "
	    "one of: driver, device, path, unit, offset, delay, poll, "
	    "precision, prefer, noselect, trust, require, refid, pps, baud, "
	    "edge, stratum)");
}

/* chrony's maxchange: off by default, its three values, their ranges. */
static void
test_max_change(void **state)
{
	struct nt_conf c;

	(void)state;
	nt_conf_init(&c);
	assert_true(c.max_change.offset == 0);
	assert_int_equal(c.max_change.start, 1);
	assert_int_equal(c.max_change.ignore, 2);
	nt_conf_free(&c);
	load_ok(&c, "max_change: { offset: 0.5, start: 0, ignore: -1 }\n");
	assert_true(c.max_change.offset == 0.5);
	assert_int_equal(c.max_change.start, 0);
	assert_int_equal(c.max_change.ignore, -1);
	round_trip(&c);
	nt_conf_free(&c);
	load_ok(&c, "max_change: { offset: 1000 }\n");
	assert_true(c.max_change.offset == 1000);
	assert_int_equal(c.max_change.start, 1);
	assert_int_equal(c.max_change.ignore, 2);
	nt_conf_free(&c);
	expect_error("max_change: { offset: -1 }\n",
	    "t.yaml:1:23: 'offset' out of range: -1 (allowed 0..1e+06)");
	expect_error("max_change:\n  ignore: -2\n",
	    "t.yaml:2:11: 'ignore' out of range: -2 (allowed -1..1000000)");
	expect_error("max_change: { offset: 1, after: 3 }\n",
	    "t.yaml:1:26: unknown key 'after' in max_change (expected one of: "
	    "offset, start, ignore)");
	expect_error("max_change: 1\n",
	    "t.yaml:1:13: 'max_change' must be a mapping, got '1'");
}

static void
test_add_server_arg(void **state)
{
	char err[NT_CONF_ERRLEN] = "";
	struct nt_conf c;

	(void)state;
	nt_conf_init(&c);
	assert_int_equal(nt_conf_add_server_arg(&c, "127.0.0.1", err,
	    sizeof err), 0);
	assert_int_equal(nt_conf_add_server_arg(&c, "[::1]:4123", err,
	    sizeof err), 0);
	assert_int_equal(nt_conf_add_server_arg(&c, "host.example:99", err,
	    sizeof err), 0);
	assert_int_equal(nt_conf_add_server_arg(&c, "host:99999", err,
	    sizeof err), -1);
	assert_string_equal(err, "invalid server 'host:99999': invalid port "
	    "'99999' (expected 1-65535)");
	assert_int_equal(nt_conf_add_server_arg(&c, "[::1", err,
	    sizeof err), -1);
	assert_string_equal(err, "invalid server '[::1': missing ']' in "
	    "'[::1'");
	assert_int_equal(nt_conf_add_server_arg(&c, "", err, sizeof err), -1);
	assert_string_equal(err, "invalid server '': empty host name");
	assert_int_equal(c.n_servers, 3);
	assert_server(&c.servers[0], "127.0.0.1", 123, 6, 10, true, false);
	assert_server(&c.servers[1], "::1", 4123, 6, 10, true, false);
	assert_server(&c.servers[2], "host.example", 99, 6, 10, true, false);
	nt_conf_free(&c);
}

static void
test_clear_sources_and_replace(void **state)
{
	char err[NT_CONF_ERRLEN] = "";
	struct nt_conf c;

	(void)state;
	load_ok(&c, "servers: [a, b]\npools: [p.example]\n"
	    "driftfile: /d\n");
	nt_conf_clear_sources(&c);
	assert_int_equal(c.n_servers, 0);
	assert_null(c.servers);
	assert_int_equal(c.n_pools, 0);
	assert_null(c.pools);
	assert_string_equal(c.driftfile, "/d");
	assert_int_equal(nt_conf_add_server_arg(&c, "cmdline.example", err,
	    sizeof err), 0);
	assert_int_equal(c.n_servers, 1);

	/* A successful load replaces everything, no leftovers. */
	assert_int_equal(nt_conf_load_buf(&c, NAME, "min_sources: 2\n",
	    strlen("min_sources: 2\n"), err, sizeof err), 0);
	assert_int_equal(c.n_servers, 0);
	assert_null(c.driftfile);
	assert_int_equal(c.min_sources, 2);
	nt_conf_free(&c);
	nt_conf_free(&c);	/* harmless twice */
}

/* ---- Errors, with exact messages ---- */

static void
test_err_unknown_key(void **state)
{
	(void)state;
	expect_error("step_limit: 2\nfoo: 1\n",
	    "t.yaml:2:1: unknown key 'foo' (expected one of: servers, pools, "
	    "refclocks, driftfile, nts_ca, step_threshold, step_limit, "
	    "max_distance, min_sources, holdover, max_change, log, server, "
	    "control, metrics, user, sandbox, statistics)");
	expect_error("servers:\n  - address: a\n    foo: 1\n",
	    "t.yaml:3:5: unknown key 'foo' in servers[0] (expected one of: "
	    "address, port, minpoll, maxpoll, iburst, prefer, noselect, "
	    "trust, require, maxdelay, xleave, nts, nts_port)");
	expect_error("pools:\n  - p.example\n  - {address: q, maxpoll: 9, "
	    "max: 3}\n",
	    "t.yaml:3:30: unknown key 'max' in pools[1] (expected one of: "
	    "address, port, minpoll, maxpoll, iburst, prefer, noselect, "
	    "trust, require, maxdelay, xleave, nts, nts_port, max_sources)");
	expect_error("log:\n  level: info\n  facility: daemon\n",
	    "t.yaml:3:3: unknown key 'facility' in log (expected one of: "
	    "level, destination)");
	/* Unprintable key text is escaped, the message stays one line. */
	expect_error("\"a\\nb\": 1\n",
	    "t.yaml:1:1: unknown key 'a\\x0ab' (expected one of: servers, "
	    "pools, refclocks, driftfile, nts_ca, step_threshold, step_limit, "
	    "max_distance, min_sources, holdover, max_change, log, server, "
	    "control, metrics, user, sandbox, statistics)");
	expect_file_error("unknown_nested.yaml", "4:5: unknown key 'maxpol' "
	    "in servers[0], did you mean 'maxpoll'? (expected one of: address, "
	    "port, minpoll, maxpoll, iburst, prefer, noselect, trust, require, "
	    "maxdelay, xleave, nts, nts_port)");
	/* A typo or a capital: the key meant, when one is that close. */
	expect_error("Servers: [a]\n",
	    "t.yaml:1:1: unknown key 'Servers', did you mean 'servers'? "
	    "(expected one of: servers, pools, refclocks, driftfile, nts_ca, "
	    "step_threshold, step_limit, max_distance, min_sources, holdover, "
	    "max_change, log, server, control, metrics, user, sandbox, "
	    "statistics)");
	expect_error("log: { levl: info }\n",
	    "t.yaml:1:8: unknown key 'levl' in log, did you mean 'level'? "
	    "(expected one of: level, destination)");
}

static void
test_err_wrong_type(void **state)
{
	(void)state;
	expect_error("servers:\n  - address: a\n    minpoll: abc\n",
	    "t.yaml:3:14: 'minpoll' must be an integer, got 'abc'");
	expect_error("servers:\n  - address: a\n    minpoll: \"6\"\n",
	    "t.yaml:3:14: 'minpoll' must be an integer, got '6' "
	    "(a quoted string)");
	expect_error("min_sources: 1.5\n",
	    "t.yaml:1:14: 'min_sources' must be an integer, got '1.5'");
	expect_error("step_limit: 0x10\n",
	    "t.yaml:1:13: 'step_limit' must be an integer, got '0x10'");
	expect_error("step_limit:\n",
	    "t.yaml:1:12: 'step_limit' must be an integer, got an empty value");
	expect_error("step_threshold: fast\n",
	    "t.yaml:1:17: 'step_threshold' must be a number, got 'fast'");
	expect_error("step_threshold: .inf\n",
	    "t.yaml:1:17: 'step_threshold' must be a number, got '.inf'");
	expect_error("max_distance: '3'\n",
	    "t.yaml:1:15: 'max_distance' must be a number, got '3' "
	    "(a quoted string)");
	expect_error("max_distance: [3]\n",
	    "t.yaml:1:15: 'max_distance' must be a number, got a list");
	expect_error("servers:\n  - address: a\n    iburst: maybe\n",
	    "t.yaml:3:13: 'iburst' must be true or false, got 'maybe'");
	expect_error("servers:\n  - address: a\n    prefer: 'true'\n",
	    "t.yaml:3:13: 'prefer' must be true or false, got 'true' "
	    "(a quoted string)");
	expect_error("servers:\n  - address: a\n    prefer: 1\n",
	    "t.yaml:3:13: 'prefer' must be true or false, got '1'");
	expect_error("servers:\n  - address: [a, b]\n",
	    "t.yaml:2:14: 'address' must be a string, got a list");
	expect_error("servers:\n  - address:\n",
	    "t.yaml:2:13: 'address' must be a string, got an empty value");
	expect_error("driftfile: {a: b}\n",
	    "t.yaml:1:12: 'driftfile' must be a string, got a mapping");
	expect_error("servers: 3\n",
	    "t.yaml:1:10: 'servers' must be a list, got '3'");
	expect_error("pools:\n  address: p.example\n",
	    "t.yaml:2:3: 'pools' must be a list, got a mapping");
	expect_error("log: [1]\n",
	    "t.yaml:1:6: 'log' must be a mapping, got a list");
	expect_error("log: verbose\n",
	    "t.yaml:1:6: 'log' must be a mapping, got 'verbose'");
	expect_error("log:\n  level: loud\n",
	    "t.yaml:2:10: 'level' must be one of: error, warning, notice, "
	    "info, debug, got 'loud'");
	expect_error("log:\n  level: DEBUG\n",
	    "t.yaml:2:10: 'level' must be one of: error, warning, notice, "
	    "info, debug, got 'DEBUG'");
	expect_error("log:\n  destination: file\n",
	    "t.yaml:2:16: 'destination' must be one of: stderr, syslog, none, "
	    "got 'file'");
	expect_error("servers:\n  - ok.example\n  - [a]\n",
	    "t.yaml:3:5: 'servers[1]' must be a string or a mapping, "
	    "got a list");
	expect_error("servers:\n  -\n",
	    "t.yaml:2:4: 'servers[0]' must be a string or a mapping, "
	    "got an empty value");
	/* Long values are cut, so the line stays readable. */
	expect_error("step_limit: 12345678901234567890123456789012345678901234"
	    "567890x\n",
	    "t.yaml:1:13: 'step_limit' must be an integer, got "
	    "'1234567890123456789012345678901234567890...'");
	expect_file_error("wrong_type.yaml",
	    "3:13: 'iburst' must be true or false, got 'sometimes'");
}

static void
test_err_range(void **state)
{
	(void)state;
	expect_error("servers:\n  - address: a\n    minpoll: 20\n",
	    "t.yaml:3:14: 'minpoll' out of range: 20 (allowed 0..17)");
	expect_error("servers:\n  - address: a\n    maxpoll: -1\n",
	    "t.yaml:3:14: 'maxpoll' out of range: -1 (allowed 0..17)");
	expect_error("servers:\n  - {address: a, port: 0}\n",
	    "t.yaml:2:24: 'port' out of range: 0 (allowed 1..65535)");
	expect_error("servers:\n  - {address: a, port: 65536}\n",
	    "t.yaml:2:24: 'port' out of range: 65536 (allowed 1..65535)");
	expect_error("pools:\n  - {address: p, max_sources: 17}\n",
	    "t.yaml:2:31: 'max_sources' out of range: 17 (allowed 1..16)");
	expect_error("pools:\n  - {address: p, max_sources: 0}\n",
	    "t.yaml:2:31: 'max_sources' out of range: 0 (allowed 1..16)");
	expect_error("step_threshold: -0.1\n",
	    "t.yaml:1:17: 'step_threshold' out of range: -0.1 "
	    "(allowed 0 or more)");
	/* Beyond a double either way: not "0 or more", which they are. */
	expect_error("step_threshold: 1e999\n",
	    "t.yaml:1:17: 'step_threshold' out of range: 1e999 "
	    "(not a finite number)");
	expect_error("step_threshold: 1e-400\n",
	    "t.yaml:1:17: 'step_threshold' out of range: 1e-400 "
	    "(too close to 0 to compute with)");
	expect_error("step_limit: -2\n",
	    "t.yaml:1:13: 'step_limit' out of range: -2 (allowed -1..1000000)");
	expect_error("step_limit: 99999999999999999999999\n",
	    "t.yaml:1:13: 'step_limit' out of range: 99999999999999999999999 "
	    "(allowed -1..1000000)");
	expect_error("max_distance: 1000\n",
	    "t.yaml:1:15: 'max_distance' out of range: 1000 "
	    "(allowed 0.001..100)");
	expect_error("max_distance: 0\n",
	    "t.yaml:1:15: 'max_distance' out of range: 0 (allowed 0.001..100)");
	expect_error("min_sources: 0\n",
	    "t.yaml:1:14: 'min_sources' out of range: 0 (allowed 1..16)");
	expect_error("min_sources: 17\n",
	    "t.yaml:1:14: 'min_sources' out of range: 17 (allowed 1..16)");
}

static void
test_err_duplicate(void **state)
{
	(void)state;
	expect_error("log:\n  level: info\n  level: debug\n",
	    "t.yaml:3:3: duplicate key 'level' (first at line 2)");
	expect_error("servers: [a]\nmin_sources: 1\nservers: [b]\n",
	    "t.yaml:3:1: duplicate key 'servers' (first at line 1)");
	expect_error("servers:\n  - {address: a, port: 1, port: 2}\n",
	    "t.yaml:2:27: duplicate key 'port' (first at line 2)");
	expect_file_error("duplicate.yaml",
	    "4:1: duplicate key 'driftfile' (first at line 2)");
}

static void
test_err_syntax(void **state)
{
	(void)state;
	/* Bad indentation. */
	expect_error("log:\n  level: info\n destination: stderr\n",
	    "t.yaml:3:2: YAML syntax error: did not find expected key "
	    "(while parsing a block mapping at line 1)");
	expect_file_error("bad_indent.yaml", "3:3: YAML syntax error: did not "
	    "find expected key (while parsing a block mapping at line 1)");
	/* Unclosed quote: reported where the input ended. */
	expect_error("driftfile: \"/var/lib/x\nstep_limit: 3\n",
	    "t.yaml:3:1: YAML syntax error: found unexpected end of stream "
	    "(while scanning a quoted scalar at line 1)");
	/* Tab indentation. */
	expect_error("log:\n\tlevel: info\n",
	    "t.yaml:2:1: YAML syntax error: found character that cannot start "
	    "any token (while scanning for the next token at line 2)");
	expect_file_error("tab.yaml", "2:1: YAML syntax error: found "
	    "character that cannot start any token (while scanning for the "
	    "next token at line 2)");
	/* Unclosed flow sequence. */
	expect_error("servers: [a, b\n",
	    "t.yaml:2:1: YAML syntax error: did not find expected ',' or ']' "
	    "(while parsing a flow sequence at line 1)");
	expect_error("servers: a: b\n",
	    "t.yaml:1:11: YAML syntax error: mapping values are not allowed "
	    "in this context");
}

static void
test_err_minpoll_maxpoll(void **state)
{
	(void)state;
	/* Both given: points at minpoll. */
	expect_error("servers:\n  - address: a\n    minpoll: 12\n"
	    "    maxpoll: 11\n",
	    "t.yaml:3:5: 'minpoll' (12) must not be greater than 'maxpoll' "
	    "(11)");
	/* Only maxpoll given, below the default minpoll: points at it. */
	expect_error("pools:\n  - address: p\n    maxpoll: 5\n",
	    "t.yaml:3:5: 'minpoll' (6) must not be greater than 'maxpoll' (5)");
	expect_file_error("minmax.yaml",
	    "5:5: 'minpoll' (9) must not be greater than 'maxpoll' (8)");
}

static void
test_err_sources(void **state)
{
	char big[8192];
	size_t o;

	(void)state;
	expect_error("servers:\n  - port: 5\n",
	    "t.yaml:2:5: missing required key 'address' in servers[0]");
	expect_error("servers:\n  - {}\n",
	    "t.yaml:2:5: missing required key 'address' in servers[0]");
	expect_error("servers: [\"[::1]:99999\"]\n",
	    "t.yaml:1:11: servers[0]: invalid port '99999' "
	    "(expected 1-65535)");
	expect_error("servers:\n  - a\n  - \"[::1\"\n",
	    "t.yaml:3:5: servers[1]: missing ']' in '[::1'");
	expect_error("servers:\n  - address: \"a:0\"\n",
	    "t.yaml:2:14: servers[0]: invalid port '0' (expected 1-65535)");
	expect_error("servers:\n  - address: a b\n",
	    "t.yaml:2:14: servers[0]: invalid character in host name");
	expect_error("servers:\n  - address: \"\"\n",
	    "t.yaml:2:14: 'address' must not be empty");
	expect_error("servers:\n  - address: \"a\\0b\"\n",
	    "t.yaml:2:14: 'address' must not contain NUL characters");
	expect_error("servers:\n  - address: \"[::1]:123\"\n    port: 124\n",
	    "t.yaml:3:5: port given twice in servers[0], in 'address' and "
	    "'port'");
	expect_error("pools:\n  - 192.0.2.1\n",
	    "t.yaml:2:5: pools[0]: '192.0.2.1' is an IP address, a pool needs "
	    "a DNS name (list addresses under 'servers')");
	expect_error("pools:\n  - address: \"[2001:db8::1]:123\"\n",
	    "t.yaml:2:14: pools[0]: '2001:db8::1' is an IP address, a pool "
	    "needs a DNS name (list addresses under 'servers')");
	/* A 300-character host name does not fit. */
	o = (size_t)snprintf(big, sizeof big, "servers:\n  - address: ");
	memset(big + o, 'h', 300);
	strlcpy(big + o + 300, "\n", sizeof big - o - 300);
	expect_error(big, "t.yaml:2:14: 'address' is too long (300 bytes, "
	    "max 255)");
	/* At most 256 entries. */
	o = (size_t)snprintf(big, sizeof big, "servers: [");
	for (int i = 0; i < 257; i++)
		o += (size_t)snprintf(big + o, sizeof big - o, "%sa", i ? "," :
		    "");
	strlcpy(big + o, "]\n", sizeof big - o);
	expect_error(big, "t.yaml:1:10: 'servers' has too many entries: 257 "
	    "(max 256)");
}

static void
test_err_driftfile(void **state)
{
	(void)state;
	expect_error("driftfile: var/lib/drift\n",
	    "t.yaml:1:12: 'driftfile' must be an absolute path, "
	    "got 'var/lib/drift'");
	expect_error("driftfile: ''\n",
	    "t.yaml:1:12: 'driftfile' must not be empty");
}

static void
test_err_yaml_features(void **state)
{
	(void)state;
	expect_error("driftfile: &d /x\n",
	    "t.yaml:1:12: anchors and aliases are not supported");
	expect_error("servers:\n  - a\nlog: *x\n",
	    "t.yaml:3:6: anchors and aliases are not supported");
	expect_file_error("alias.yaml",
	    "2:5: anchors and aliases are not supported");
	expect_error("step_limit: !!int 3\n",
	    "t.yaml:1:13: tags are not supported");
	expect_error("log: !!map {}\n", "t.yaml:1:6: tags are not supported");
	expect_error("step_limit: 3\n---\nstep_limit: 4\n",
	    "t.yaml:2:1: multiple YAML documents are not supported");
	expect_error("? [a]\n: b\n",
	    "t.yaml:1:3: mapping keys must be strings");
	expect_error("{servers: [a]}: 1\n",
	    "t.yaml:1:1: mapping keys must be strings");
}

static void
test_err_top_level(void **state)
{
	(void)state;
	expect_error("- a\n- b\n",
	    "t.yaml:1:1: the top level must be a mapping, got a list");
	expect_error("hello\n",
	    "t.yaml:1:1: the top level must be a mapping, got 'hello'");
	expect_error("--- \"quoted\"\n",
	    "t.yaml:1:5: the top level must be a mapping, got 'quoted' "
	    "(a quoted string)");
}

static void
test_err_limits(void **state)
{
	char *buf;
	size_t o, len;

	(void)state;
	/* 32 nested collections are fine for the parser, 33 are not. */
	buf = calloc(1, 256);
	assert_non_null(buf);
	memset(buf, '[', 33);
	memset(buf + 33, ']', 33);
	expect_error(buf, "t.yaml:1:33: nesting too deep (max 32 levels)");
	memset(buf, 0, 256);
	memset(buf, '[', 32);
	memset(buf + 32, ']', 32);
	expect_error(buf, "t.yaml:1:1: the top level must be a mapping, "
	    "got a list");
	free(buf);

	/* Block style: 33 levels of "a:", the last at column 65. */
	buf = calloc(1, 4096);
	assert_non_null(buf);
	for (int i = 0, off = 0; i < 33; i++)
		off += snprintf(buf + off, 4096 - (size_t)off, "%*sa:\n",
		    2 * i, "");
	expect_error(buf, "t.yaml:33:65: nesting too deep (max 32 levels)");
	free(buf);

	/* Too many nodes: a flow list of 100001 scalars. */
	len = 2 * 100001 + 16;
	buf = malloc(len);
	assert_non_null(buf);
	o = (size_t)snprintf(buf, len, "servers: [");
	for (int i = 0; i < 100001; i++) {
		buf[o++] = '1';
		buf[o++] = ',';
	}
	strlcpy(buf + o - 1, "]\n", len - o + 1);
	/*
	 * The root mapping, the key and the list are nodes 1 to 3, so the
	 * 99998th scalar (at column 11 + 2 * 99997) is node 100001.
	 */
	expect_error(buf, "t.yaml:1:200005: too many YAML nodes (max 100000)");
	free(buf);

	/* Too large, even if it is only comments. */
	len = NT_YCONF_MAX_INPUT + 1;
	buf = malloc(len);
	assert_non_null(buf);
	memset(buf, '#', len);
	expect_error_len(buf, len, "t.yaml: too large (1048577 bytes, "
	    "max 1048576)");
	/* Exactly the limit is accepted. */
	buf[len - 2] = '\n';
	{
		struct nt_conf c;
		char err[NT_CONF_ERRLEN];

		nt_conf_init(&c);
		assert_int_equal(nt_conf_load_buf(&c, NAME, buf, len - 1, err,
		    sizeof err), 0);
		assert_defaults(&c);
		nt_conf_free(&c);
	}
	free(buf);
}

static void
test_err_binary(void **state)
{
	static const char ctl[] = "step_limit: 3\n\x01\x02\x03junk\n";
	static const char nul[] = "a: 1\n\0b";
	static const char utf8[] = "driftfile: /a\xc3(\n";
	static const char lead[] = "\xff\xd8\xff\xe0 JFIF";
	uint8_t rnd[4096];
	uint32_t x = 0x12345678;
	int valid = 0;
	char err[NT_CONF_ERRLEN];
	struct nt_conf c;

	(void)state;
	expect_error_len(ctl, sizeof ctl - 1,
	    "t.yaml:2:1: YAML syntax error: control characters are not "
	    "allowed");
	expect_error_len(nul, sizeof nul - 1,
	    "t.yaml:2:1: YAML syntax error: control characters are not "
	    "allowed");
	/* The offending byte is the '(' that should continue the \xc3. */
	expect_error_len(utf8, sizeof utf8 - 1,
	    "t.yaml:1:15: YAML syntax error: invalid trailing UTF-8 octet");
	expect_error_len(lead, sizeof lead - 1,
	    "t.yaml:1:1: YAML syntax error: invalid leading UTF-8 octet");

	/*
	 * Pseudo-random junk: never a crash or a leak; when it is refused
	 * (nearly always), one line with a position.
	 */
	for (int round = 0; round < 200; round++) {
		size_t len = 1 + (size_t)round * 17 % sizeof rnd;

		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			rnd[i] = (uint8_t)x;
		}
		nt_conf_init(&c);
		if (nt_conf_load_buf(&c, NAME, (char *)rnd, len, err,
		    sizeof err) == 0) {
			valid++;
			nt_conf_free(&c);
			continue;
		}
		assert_int_equal(strncmp(err, "t.yaml:", 7), 0);
		assert_true(err[7] >= '1' && err[7] <= '9');
		assert_null(strchr(err, '\n'));
		assert_defaults(&c);
		nt_conf_free(&c);
	}
	assert_true(valid < 5);
}

static void
test_err_missing_file(void **state)
{
	char err[NT_CONF_ERRLEN], path[1024];
	struct nt_conf c;

	(void)state;
	nt_conf_init(&c);
	assert_int_equal(nt_conf_load(&c, "/nonexistent/ntimed.yaml", err,
	    sizeof err), -1);
	assert_string_equal(err, "/nonexistent/ntimed.yaml: cannot open: "
	    "No such file or directory");
	src_path(path, sizeof path, "test/unit/conf");
	assert_int_equal(nt_conf_load(&c, path, err, sizeof err), -1);
	assert_true(strstr(err, ": is a directory") != NULL);
	assert_defaults(&c);
	nt_conf_free(&c);
}

/* Errors after some values were stored: the caller still sees none. */
static void
test_err_caller_untouched(void **state)
{
	static const char bad[] = "servers: [x, y]\npools: [p.example]\n"
	    "driftfile: /new\nstep_threshold: 9\nlog: {level: error}\n"
	    "min_sources: 99\n";
	char path[1024], err[NT_CONF_ERRLEN];
	struct nt_conf c, ref;

	(void)state;
	src_path(path, sizeof path, "test/unit/conf/full.yaml");
	nt_conf_init(&c);
	nt_conf_init(&ref);
	assert_int_equal(nt_conf_load(&c, path, err, sizeof err), 0);
	assert_int_equal(nt_conf_load(&ref, path, err, sizeof err), 0);
	/* The last key is bad; everything before it was valid. */
	assert_int_equal(nt_conf_load_buf(&c, NAME, bad, sizeof bad - 1, err,
	    sizeof err), -1);
	assert_string_equal(err,
	    "t.yaml:6:14: 'min_sources' out of range: 99 (allowed 1..16)");
	assert_conf_equal(&c, &ref);
	nt_conf_free(&c);
	nt_conf_free(&ref);
}

/* ---- yconf with another schema, as the simulator will use it ---- */

struct sc_net {
	double		loss;
};

struct sc_link {
	char		*name;
	double		delay;
	unsigned char	hops;
};

struct scenario {
	char		*title;
	double		*offsets;
	size_t		n_offsets;
	char		**tags;
	size_t		n_tags;
	struct sc_link	*links;
	size_t		n_links;
	long long	seed;
	bool		verbose;
	struct sc_net	net;
	int		mode;
};

static const char * const mode_names[] = { "fast", "slow", NULL };

static const struct nt_yconf_key sc_net_keys[] = {
	NT_YCONF_DOUBLE("loss", struct scenario, net.loss, 0, 1, "fraction"),
};
static const struct nt_yconf_schema sc_net_schema =
    NT_YCONF_SCHEMA(sc_net_keys, NULL, NULL);

static const struct nt_yconf_key sc_run_keys[] = {
	NT_YCONF_INT("seed", struct scenario, seed, -1e15, 1e15, "rng seed"),
	NT_YCONF_BOOL("verbose", struct scenario, verbose, "chatty"),
	NT_YCONF_MAP("net", 0, &sc_net_schema, "network"),
};
static const struct nt_yconf_schema sc_run_schema =
    NT_YCONF_SCHEMA(sc_run_keys, NULL, NULL);

static void
sc_link_init(void *p)
{
	struct sc_link *l = p;

	l->delay = 0.01;
	l->hops = 1;
}

static const struct nt_yconf_key sc_link_keys[] = {
	NT_YCONF_STRING("name", struct sc_link, name, NT_YCONF_REQUIRED,
	    "link name"),
	NT_YCONF_DOUBLE("delay", struct sc_link, delay, 0, 10, "seconds"),
	NT_YCONF_INT("hops", struct sc_link, hops, 0, 255, "routers"),
};
static const struct nt_yconf_schema sc_link_schema =
    NT_YCONF_SCHEMA(sc_link_keys, sc_link_init, NULL);

static const struct nt_yconf_key sc_offset_elem = {
	.name = "offset", .type = NT_YCONF_T_DOUBLE, .size = sizeof(double),
	.min = -1, .max = 1,
};
static const struct nt_yconf_key sc_tag_elem = {
	.name = "tag", .type = NT_YCONF_T_STRING, .size = 0,
};
static const struct nt_yconf_key sc_link_elem = {
	.name = "link", .type = NT_YCONF_T_MAP,
	.size = sizeof(struct sc_link), .sub = &sc_link_schema,
};

static const struct nt_yconf_key sc_keys[] = {
	NT_YCONF_STRING("title", struct scenario, title, NT_YCONF_REQUIRED,
	    "what this scenario shows"),
	NT_YCONF_SEQ("offsets", struct scenario, offsets, n_offsets,
	    &sc_offset_elem, 1, 4, "initial clock offsets"),
	NT_YCONF_SEQ("tags", struct scenario, tags, n_tags, &sc_tag_elem,
	    0, 100, "labels"),
	NT_YCONF_SEQ("links", struct scenario, links, n_links, &sc_link_elem,
	    0, 100, "network links"),
	NT_YCONF_MAP("run", 0, &sc_run_schema, "run settings"),
	NT_YCONF_ENUM("mode", struct scenario, mode, mode_names, "speed"),
};
static const struct nt_yconf_schema sc_schema =
    NT_YCONF_SCHEMA(sc_keys, NULL, NULL);

static const char sc_text[] =
    "title: two links\n"
    "offsets: [0.5, -1, 1e-3]\n"
    "tags: [a, \"b c\"]\n"
    "links:\n"
    "  - name: lan\n"
    "    hops: 255\n"
    "  - {name: wan, delay: 0.25}\n"
    "run:\n"
    "  seed: -123456789012\n"
    "  net: {loss: 0.125}\n"
    "mode: slow\n";

static int
sc_load(struct scenario *sc, const char *text, char *err, size_t errlen)
{
	memset(sc, 0, sizeof *sc);
	return (nt_yconf_load_buf("sc.yaml", text, strlen(text), &sc_schema,
	    sc, err, errlen));
}

static void
sc_check_values(const struct scenario *sc)
{
	assert_string_equal(sc->title, "two links");
	assert_int_equal(sc->n_offsets, 3);
	assert_true(sc->offsets[0] == 0.5);
	assert_true(sc->offsets[1] == -1.0);
	assert_true(sc->offsets[2] == 1e-3);
	assert_int_equal(sc->n_tags, 2);
	assert_string_equal(sc->tags[0], "a");
	assert_string_equal(sc->tags[1], "b c");
	assert_int_equal(sc->n_links, 2);
	assert_string_equal(sc->links[0].name, "lan");
	assert_true(sc->links[0].delay == 0.01);	/* from init */
	assert_int_equal(sc->links[0].hops, 255);
	assert_string_equal(sc->links[1].name, "wan");
	assert_true(sc->links[1].delay == 0.25);
	assert_int_equal(sc->links[1].hops, 1);
	assert_true(sc->seed == -123456789012LL);
	assert_false(sc->verbose);
	assert_true(sc->net.loss == 0.125);
	assert_int_equal(sc->mode, 1);
}

static void
test_yconf_other_schema(void **state)
{
	char err[NT_CONF_ERRLEN] = "", *text = NULL;
	struct scenario sc, back;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(sc_load(&sc, sc_text, err, sizeof err), 0);
	sc_check_values(&sc);

	/* Printed and read back, with the same schema. */
	f = open_memstream(&text, &len);
	assert_non_null(f);
	nt_yconf_print(f, &sc_schema, &sc, 0);
	assert_int_equal(fclose(f), 0);
	if (sc_load(&back, text, err, sizeof err) != 0)
		print_error("%s\n---\n%s", err, text);
	sc_check_values(&back);
	nt_yconf_free(&sc_schema, &back);
	free(text);
	nt_yconf_free(&sc_schema, &sc);
	assert_null(sc.title);
	assert_null(sc.tags);
	assert_int_equal(sc.n_links, 0);
}

static void
expect_sc_error(const char *text, const char *want)
{
	char err[NT_CONF_ERRLEN] = "";
	struct scenario sc;

	assert_int_equal(sc_load(&sc, text, err, sizeof err), -1);
	assert_string_equal(err, want);
	nt_yconf_free(&sc_schema, &sc);	/* partial values: no leak */
}

static void
test_yconf_other_schema_errors(void **state)
{
	(void)state;
	expect_sc_error("", "sc.yaml:1:1: missing required key 'title'");
	expect_sc_error("title: t\nrun:\n  net:\n    loss: 0.1\n    lost: 1\n",
	    "sc.yaml:5:5: unknown key 'lost' in run.net, did you mean 'loss'? "
	    "(expected one of: loss)");
	expect_sc_error("title: t\nrun:\n  net: 0.5\n",
	    "sc.yaml:3:8: 'run.net' must be a mapping, got '0.5'");
	expect_sc_error("title: t\noffsets: [0, 2]\n",
	    "sc.yaml:2:14: 'offsets[1]' out of range: 2 (allowed -1..1)");
	expect_sc_error("title: t\noffsets: []\n",
	    "sc.yaml:2:10: 'offsets' has too few entries: 0 (min 1)");
	expect_sc_error("title: t\noffsets:\n",
	    "sc.yaml:2:9: 'offsets' has too few entries: 0 (min 1)");
	expect_sc_error("title: t\noffsets: [0, 0, 0, 0, 0]\n",
	    "sc.yaml:2:10: 'offsets' has too many entries: 5 (max 4)");
	expect_sc_error("title: t\ntags: [x, y, [z]]\n",
	    "sc.yaml:2:14: 'tags[2]' must be a string, got a list");
	expect_sc_error("title: t\nlinks:\n  - name: a\n  - delay: 1\n",
	    "sc.yaml:4:5: missing required key 'name' in links[1]");
	/* An empty value stands for a mapping: the message names it. */
	expect_sc_error("title: t\nlinks:\n  - name: a\n  - ~\n",
	    "sc.yaml:4:5: missing required key 'name' in links[1]");
	expect_sc_error("title: t\nlinks:\n  -\n",
	    "sc.yaml:3:4: missing required key 'name' in links[0]");
	expect_sc_error("title: t\nlinks:\n  - {name: a, hops: 256}\n",
	    "sc.yaml:3:21: 'hops' out of range: 256 (allowed 0..255)");
	expect_sc_error("title: t\nlinks: [x]\n",
	    "sc.yaml:2:9: 'links[0]' must be a mapping, got 'x'");
	expect_sc_error("title: t\nrun: {seed: 1e3}\n",
	    "sc.yaml:2:13: 'seed' must be an integer, got '1e3'");
	expect_sc_error("title: t\nmode: 1\n",
	    "sc.yaml:2:7: 'mode' must be one of: fast, slow, got '1'");
}

static void
test_yconf_tree(void **state)
{
	static const char text[] =
	    "# comment\n"
	    "a: 'x'\n"
	    "b:\n"
	    "  - 1\n"
	    "  - {c: ~}\n"
	    "d: |\n"
	    "  two\n"
	    "  lines\n";
	const struct nt_yconf_node *a, *b, *c, *d, *item;
	struct nt_yconf_doc *doc;
	char err[NT_CONF_ERRLEN];

	(void)state;
	doc = nt_yconf_parse("tree.yaml", text, sizeof text - 1, err,
	    sizeof err);
	assert_non_null(doc);
	assert_int_equal(doc->root->kind, NT_YCONF_MAP);
	assert_int_equal(doc->root->n, 6);
	assert_int_equal(doc->root->line, 2);
	assert_int_equal(doc->root->col, 1);
	a = nt_yconf_map_get(doc->root, "a");
	assert_non_null(a);
	assert_true(a->quoted);
	assert_string_equal(a->str, "x");
	assert_int_equal(a->line, 2);
	assert_int_equal(a->col, 4);
	b = nt_yconf_map_get(doc->root, "b");
	assert_int_equal(b->kind, NT_YCONF_SEQ);
	assert_int_equal(b->n, 2);
	assert_int_equal(b->line, 4);
	assert_int_equal(b->col, 3);
	item = b->first;
	assert_false(item->quoted);
	assert_string_equal(item->str, "1");
	assert_false(nt_yconf_is_null(item));
	item = item->next;
	assert_int_equal(item->kind, NT_YCONF_MAP);
	assert_int_equal(item->line, 5);
	assert_int_equal(item->col, 5);
	c = nt_yconf_map_get(item, "c");
	assert_true(nt_yconf_is_null(c));
	assert_ptr_equal(nt_yconf_map_key(item, "c")->next, c);
	d = nt_yconf_map_get(doc->root, "d");
	assert_true(d->quoted);		/* block scalars are not plain */
	assert_string_equal(d->str, "two\nlines\n");
	assert_null(nt_yconf_map_get(doc->root, "e"));
	assert_null(nt_yconf_map_get(NULL, "a"));
	assert_int_equal(doc->n_nodes, 11);
	nt_yconf_doc_free(doc);

	doc = nt_yconf_parse("empty.yaml", "# nothing\n", 10, err, sizeof err);
	assert_non_null(doc);
	assert_null(doc->root);
	nt_yconf_doc_free(doc);
}

/* ---- The server: section (ntimed slave) ---- */

static void
test_server_section(void **state)
{
	struct nt_conf c;

	(void)state;
	nt_conf_init(&c);
	assert_int_equal(c.serve.n_listen, 0);
	assert_int_equal(c.serve.port, 123);
	assert_int_equal(c.serve.workers, 0);
	assert_int_equal(c.serve.denied, NT_DENY_DROP);
	assert_true(c.serve.ratelimit.interval == 1.0);
	assert_int_equal(c.serve.ratelimit.burst, 16);
	assert_true(c.serve.ratelimit.kod);
	assert_false(c.serve.ratelimit.loopback);
	assert_int_equal(c.serve.ratelimit.table_size, 16384);
	assert_int_equal(c.serve.local_stratum, 0);
	nt_conf_free(&c);
	load_ok(&c, "server:\n"
	    "  listen: [127.0.0.1, \"[::1]:10123\", \"192.0.2.1:4123\", "
	    "\"fe80::1%lo\"]\n"
	    "  port: 10124\n  workers: 4\n"
	    "  allow: [192.0.2.0/24, \"2001:db8::/32\"]\n"
	    "  deny: [192.0.2.128/25]\n  denied: kod\n"
	    "  ratelimit: { interval: 0.5, burst: 3, kod: false, "
	    "loopback: true, table_size: 1024 }\n"
	    "  local_stratum: 10\n");
	assert_int_equal(c.serve.n_listen, 4);
	assert_string_equal(c.serve.listen[1], "[::1]:10123");
	assert_int_equal(c.serve.port, 10124);
	assert_int_equal(c.serve.workers, 4);
	assert_int_equal(c.serve.n_allow, 2);
	assert_string_equal(c.serve.allow[1], "2001:db8::/32");
	assert_int_equal(c.serve.n_deny, 1);
	assert_int_equal(c.serve.denied, NT_DENY_KOD);
	assert_true(c.serve.ratelimit.interval == 0.5);
	assert_int_equal(c.serve.ratelimit.burst, 3);
	assert_false(c.serve.ratelimit.kod);
	assert_true(c.serve.ratelimit.loopback);
	assert_int_equal(c.serve.ratelimit.table_size, 1024);
	assert_int_equal(c.serve.local_stratum, 10);
	round_trip(&c);
	nt_conf_free(&c);
}

static void
test_server_listen_split(void **state)
{
	char host[NT_HOSTLEN], err[NT_CONF_ERRLEN] = "";
	struct nt_conf c;
	uint16_t port;

	(void)state;
	load_ok(&c, "server: { port: 4123 }\n");
	assert_int_equal(nt_conf_listen_split(&c, "127.0.0.1", host,
	    sizeof host, &port, err, sizeof err), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 4123);
	assert_int_equal(nt_conf_listen_split(&c, "[::1]:99", host,
	    sizeof host, &port, err, sizeof err), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 99);
	assert_int_equal(nt_conf_listen_split(&c, "::", host, sizeof host,
	    &port, err, sizeof err), 0);
	assert_string_equal(host, "::");
	assert_int_equal(port, 4123);
	assert_int_equal(nt_conf_listen_split(&c, "ntp.example", host,
	    sizeof host, &port, err, sizeof err), -1);
	assert_string_equal(err, "'ntp.example' is not a numeric IPv4 or IPv6 "
	    "address");
	nt_conf_free(&c);
}

static void
test_server_listen_args(void **state)
{
	char err[NT_CONF_ERRLEN] = "";
	bool replaced = false;
	struct nt_conf c;

	(void)state;
	load_ok(&c, "server: { listen: [10.0.0.1, 10.0.0.2] }\n");
	assert_int_equal(nt_conf_add_listen_arg(&c, "127.0.0.1:10123",
	    &replaced, err, sizeof err), 0);
	assert_true(replaced);
	assert_int_equal(nt_conf_add_listen_arg(&c, "[::1]:10123", &replaced,
	    err, sizeof err), 0);
	assert_int_equal(c.serve.n_listen, 2);
	assert_string_equal(c.serve.listen[0], "127.0.0.1:10123");
	assert_string_equal(c.serve.listen[1], "[::1]:10123");
	assert_int_equal(nt_conf_add_listen_arg(&c, "127.0.0.1:0x10",
	    &replaced, err, sizeof err), -1);
	assert_string_equal(err, "invalid listen address '127.0.0.1:0x10': "
	    "invalid port '0x10' (expected 1-65535)");
	assert_int_equal(nt_conf_add_listen_arg(&c, "localhost", &replaced,
	    err, sizeof err), -1);
	assert_string_equal(err, "invalid listen address 'localhost': "
	    "'localhost' is not a numeric IPv4 or IPv6 address");
	/* The same address again, spelled otherwise: bind would fail. */
	assert_int_equal(nt_conf_add_listen_arg(&c, "[0:0::1]:10123",
	    &replaced, err, sizeof err), -1);
	assert_string_equal(err, "listen address '[0:0::1]:10123' is the "
	    "same as '[::1]:10123'");
	assert_int_equal(c.serve.n_listen, 2);
	round_trip(&c);
	nt_conf_free(&c);
}

static void
test_server_nts(void **state)
{
	struct nt_conf c;

	(void)state;
	load_ok(&c, "server:\n  nts:\n    certificate: /c.pem\n"
	    "    key: /k.pem\n    listen: [\"127.0.0.1\", \"[::1]:4461\"]\n");
	assert_true(c.serve.nts.enabled);
	assert_string_equal(c.serve.nts.certificate, "/c.pem");
	assert_int_equal(c.serve.nts.n_listen, 2);
	assert_string_equal(c.serve.nts.keys, "/var/lib/ntimed/nts-keys");
	assert_true(c.serve.nts.rotate == 7 * 86400.0);
	nt_conf_free(&c);
	load_ok(&c, "server:\n  nts: { certificate: ~, key: ~ }\n");
	assert_false(c.serve.nts.enabled);
	nt_conf_free(&c);
	expect_error("server:\n  nts:\n    certificate: /c.pem\n",
	    "t.yaml:3:5: server.nts needs both 'certificate' and 'key' "
	    "(PEM files)");
	expect_error("server:\n  nts: { certificate: /c, key: /k, "
	    "keys: rel }\n", "t.yaml:2:42: 'server.nts.keys' must be an "
	    "absolute path");
	expect_error("server:\n  nts: { certificate: /c, key: /k, "
	    "listen: [ke.example] }\n", "t.yaml:2:45: server.nts.listen[0]: "
	    "'ke.example' is not a numeric IPv4 or IPv6 address");
	expect_error("server:\n  nts: { certificate: /c, key: /k, rotate: 1 }"
	    "\n", "t.yaml:2:44: 'rotate' out of range: 1 (allowed "
	    "60..3.1536e+07)");
}

static void
test_err_server(void **state)
{
	(void)state;
	expect_error("server:\n  port: 124\n  listen: [127.0.0.1, \"::1\", "
	    "\"127.0.0.1:124\"]\n", NAME ":3:30: server.listen[2]: the same "
	    "address as server.listen[0]");
	expect_error("server:\n  allow: [10.0.0.0/8, 10.1.2.3/8]\n",
	    "t.yaml:2:23: server.allow[1]: '10.1.2.3/8' has host bits set "
	    "(did you mean 10.0.0.0/8?)");
	expect_error("server:\n  deny:\n    - 2001:db8::/129\n",
	    "t.yaml:3:7: server.deny[0]: '2001:db8::/129': the prefix length "
	    "must be 0..128");
	expect_error("server:\n  deny: [all]\n",
	    "t.yaml:2:10: server.deny[0]: 'all' is not a numeric IPv4 or IPv6 "
	    "address");
	expect_error("server:\n  listen: [\"0.0.0.0\", ntp.example]\n",
	    "t.yaml:2:23: server.listen[1]: 'ntp.example' is not a numeric "
	    "IPv4 or IPv6 address");
	expect_error("server:\n  listen: [\"127.0.0.1:99999\"]\n",
	    "t.yaml:2:12: server.listen[0]: invalid port '99999' "
	    "(expected 1-65535)");
	expect_error("server:\n  workers: 257\n",
	    "t.yaml:2:12: 'workers' out of range: 257 (allowed 0..256)");
	expect_error("server:\n  local_stratum: 16\n",
	    "t.yaml:2:18: 'local_stratum' out of range: 16 (allowed 0..15)");
	expect_error("server:\n  denied: refuse\n",
	    "t.yaml:2:11: 'denied' must be one of: drop, kod, got 'refuse'");
	expect_error("server:\n  ratelimit: { burst: 0 }\n",
	    "t.yaml:2:23: 'burst' out of range: 0 (allowed 1..100000)");
	expect_error("server:\n  ratelimit: { interval: -1 }\n",
	    "t.yaml:2:26: 'interval' out of range: -1 (allowed 0..3600)");
	expect_error("server:\n  ratelimit:\n    leak: 2\n",
	    "t.yaml:3:5: unknown key 'leak' in server.ratelimit (expected one "
	    "of: interval, burst, kod, loopback, table_size)");
	expect_error("server:\n  listen: 127.0.0.1\n",
	    "t.yaml:2:11: 'listen' must be a list, got '127.0.0.1'");
	expect_error("server: [a]\n",
	    "t.yaml:1:9: 'server' must be a mapping, got a list");
}

/* control: and metrics: (the control socket, the Prometheus endpoint). */
static void
test_control_metrics(void **state)
{
	struct nt_conf c;

	(void)state;
	load_ok(&c, "servers: [a]\n");
	assert_true(c.control.enabled);
	assert_string_equal(c.control.socket, "/run/ntimed/ntimed.sock");
	assert_string_equal(c.control.group, "ntimed");
	assert_false(c.metrics.enabled);
	assert_string_equal(c.metrics.listen, "127.0.0.1:9975");
	nt_conf_free(&c);
	load_ok(&c, "control: { enabled: false, socket: /tmp/x.sock, "
	    "group: root }\nmetrics: { enabled: true, listen: "
	    "\"[::1]:9100\" }\n");
	assert_false(c.control.enabled);
	assert_string_equal(c.control.socket, "/tmp/x.sock");
	assert_string_equal(c.control.group, "root");
	assert_true(c.metrics.enabled);
	assert_string_equal(c.metrics.listen, "[::1]:9100");
	nt_conf_free(&c);
	load_ok(&c, "metrics: { listen: 192.0.2.1 }\n");
	assert_string_equal(c.metrics.listen, "192.0.2.1");
	nt_conf_free(&c);
}

/*
 * What is not a file: a pipe with no writer is refused at once (reading
 * it would wait for ever), a directory named as such.
 */
static void
test_not_a_file(void **state)
{
	char dir[] = "/tmp/ntimed-conf.XXXXXX", fifo[64];
	char err[NT_CONF_ERRLEN] = "";
	struct nt_conf c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	nt_conf_init(&c);
	assert_int_equal(nt_conf_load(&c, fifo, err, sizeof err), -1);
	assert_non_null(strstr(err, "fifo: not a file (a pipe or socket)"));
	assert_int_equal(nt_conf_load(&c, dir, err, sizeof err), -1);
	assert_non_null(strstr(err, ": is a directory"));
	assert_defaults(&c);
	nt_conf_free(&c);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(rmdir(dir), 0);
}

/*
 * A device with nothing to read, such as a pseudo-terminal's master, is
 * refused at once rather than read until input comes (for ever, for a
 * daemon being started).  The alarm turns a hang into a failure.
 */
static void
test_device_not_waited_on(void **state)
{
	char err[NT_CONF_ERRLEN] = "";
	struct nt_conf c;

	(void)state;
	if (access("/dev/ptmx", R_OK) != 0)
		skip();
	alarm(10);
	nt_conf_init(&c);
	assert_int_equal(nt_conf_load(&c, "/dev/ptmx", err, sizeof err), -1);
	assert_string_equal(err, "/dev/ptmx: not a file (a device that would "
	    "make us wait for input)");
	alarm(0);
	assert_defaults(&c);
	nt_conf_free(&c);
	/* A device that ends at once is an empty file, as before. */
	assert_int_equal(nt_conf_load(&c, "/dev/null", err, sizeof err), 0);
	assert_defaults(&c);
	nt_conf_free(&c);
}

/* user: and sandbox: (lib/privdrop.c, lib/sandbox.c). */
static void
test_user_sandbox(void **state)
{
	struct nt_conf c;

	(void)state;
	load_ok(&c, "servers: [a]\n");
	assert_string_equal(c.user, "ntimed");
	assert_int_equal(c.sandbox, nt_sandbox_available());
	round_trip(&c);
	nt_conf_free(&c);
	if (getpwnam("nobody") != NULL) {
		load_ok(&c, "user: nobody\nsandbox: false\n");
		assert_string_equal(c.user, "nobody");
		assert_false(c.sandbox);
		round_trip(&c);
		nt_conf_free(&c);
	}
	if (!nt_sandbox_available())
		expect_error("sandbox: true\n", "t.yaml:1:10: 'sandbox': this "
		    "ntimed was built without seccomp (libseccomp); set it to "
		    "false");
	else {
		load_ok(&c, "user: root\nsandbox: true\n");
		assert_string_equal(c.user, "root");
		assert_true(c.sandbox);
		round_trip(&c);
		nt_conf_free(&c);
	}
	expect_error("sandbox: maybe\n",
	    "t.yaml:1:10: 'sandbox' must be true or false, got 'maybe'");
	expect_error("user: [a]\n",
	    "t.yaml:1:7: 'user' must be a string, got a list");
}

/*
 * A "user:" that is not an account is refused where the file names it,
 * not later by the start-up (which cannot say where) and not accepted by
 * a reload; the default user may be missing (the binary works without
 * the package), and root is root.
 */
static void
test_err_user(void **state)
{
	struct nt_conf c;
	struct passwd *pw;

	(void)state;
	expect_error("servers: [192.0.2.1]\n\n\nuser: _ntimed_nosuchuser\n",
	    "t.yaml:4:7: 'user': no such user '_ntimed_nosuchuser'");
	expect_error("user: \"a\\tb\"\n",
	    "t.yaml:1:7: 'user': no such user 'a\\x09b'");
	load_ok(&c, "user: root\n");
	nt_conf_free(&c);
	load_ok(&c, "user: ntimed\n");
	assert_string_equal(c.user, "ntimed");
	nt_conf_free(&c);
	/* Another name of uid 0 is root in disguise. */
	setpwent();
	while ((pw = getpwent()) != NULL)
		if (pw->pw_uid == 0 && strcmp(pw->pw_name, "root") != 0)
			break;
	if (pw != NULL) {
		char yaml[128], want[256];

		snprintf(yaml, sizeof yaml, "user: %s\n", pw->pw_name);
		snprintf(want, sizeof want, "t.yaml:1:7: 'user': user '%s' has "
		    "uid 0, that is root (say 'root' to stay root)",
		    pw->pw_name);
		endpwent();
		expect_error(yaml, want);
	} else
		endpwent();
}

/*
 * A server or pool listed twice would vote twice: refused at the second,
 * naming the first's line.  The same means the same port and the same
 * address or name as written (nothing is looked up at load).
 */
static void
test_err_duplicate_sources(void **state)
{
	struct nt_conf c;

	(void)state;
	expect_error("servers:\n  - 127.0.0.1\n  - {address: 127.0.0.2}\n"
	    "  - address: 127.0.0.1\n    port: 123\n",
	    "t.yaml:4:14: servers[2]: duplicate server '127.0.0.1:123' "
	    "(first at line 2)");
	expect_error("servers: [\"127.0.0.1:1123\", {address: 127.0.0.1, "
	    "port: 1123}]\n",
	    "t.yaml:1:39: servers[1]: duplicate server '127.0.0.1:1123' "
	    "(first at line 1)");
	/* Addresses as addresses, names in any case. */
	expect_error("servers: [\"[::1]:123\", \"0:0::1\"]\n",
	    "t.yaml:1:24: servers[1]: duplicate server '[0:0::1]:123' "
	    "(first at line 1)");
	expect_error("servers:\n  - time.example.org\n  - Time.Example.ORG\n",
	    "t.yaml:3:5: servers[1]: duplicate server "
	    "'Time.Example.ORG:123' (first at line 2)");
	/* NTS or not, it is one server. */
	expect_error("servers:\n  - {address: a.example, nts: true}\n"
	    "  - a.example\n",
	    "t.yaml:3:5: servers[1]: duplicate server 'a.example:123' "
	    "(first at line 2)");
	expect_error("pools:\n  - pool.example.org\n"
	    "  - {address: pool.example.org, max_sources: 2}\n",
	    "t.yaml:3:15: pools[1]: duplicate pool 'pool.example.org:123' "
	    "(first at line 2)");
	/* Across the lists: the later in the file is refused. */
	expect_error("pools: [p.example]\nservers: [p.example]\n",
	    "t.yaml:2:11: servers[0]: duplicate server 'p.example:123' "
	    "(first at line 1, as a pool)");
	expect_error("servers: [p.example]\npools: [p.example]\n",
	    "t.yaml:2:9: pools[0]: duplicate pool 'p.example:123' "
	    "(first at line 1, as a server)");
	/* Another port, address or name is another server. */
	load_ok(&c, "servers: [127.0.0.1, \"127.0.0.1:124\", 127.0.0.2, \"::1\", "
	    "localhost]\npools: [\"p.example:124\", p.example]\n");
	assert_int_equal(c.n_servers, 5);
	assert_int_equal(c.n_pools, 2);
	nt_conf_free(&c);
}

/* The same host, as the loader and "add-server" judge it. */
static void
test_same_host(void **state)
{
	struct nt_conf c;
	struct nt_server_conf s;
	char err[NT_CONF_ERRLEN];

	(void)state;
	load_ok(&c, "servers: [192.0.2.1, \"[2001:db8::1]:1123\"]\n"
	    "pools: [pool.example.org]\n");
	nt_server_conf_init(&s);
	strlcpy(s.address, "192.0.2.1", sizeof s.address);
	assert_string_equal(nt_conf_same_host(&c, &s), "server");
	assert_null(nt_conf_same_host(&c, &c.servers[0]));
	s.port = 124;
	assert_null(nt_conf_same_host(&c, &s));
	strlcpy(s.address, "2001:DB8:0::1", sizeof s.address);
	s.port = 1123;
	assert_string_equal(nt_conf_same_host(&c, &s), "server");
	strlcpy(s.address, "POOL.example.org", sizeof s.address);
	s.port = 123;
	assert_string_equal(nt_conf_same_host(&c, &s), "pool");
	/* A name and an address are not compared by lookup. */
	strlcpy(s.address, "localhost", sizeof s.address);
	assert_null(nt_conf_same_host(&c, &s));
	assert_int_equal(nt_conf_add_server_arg(&c, "192.0.2.2", err,
	    sizeof err), 0);
	assert_null(nt_conf_same_host(&c, &c.servers[2]));
	nt_conf_free(&c);
}

static void
test_err_control_metrics(void **state)
{
	char longpath[200];

	(void)state;
	expect_error("control:\n  socket: relative.sock\n",
	    "t.yaml:2:11: 'control.socket' must be an absolute path");
	expect_error("control:\n  bogus: 1\n",
	    "t.yaml:2:3: unknown key 'bogus' in control (expected one of: "
	    "enabled, socket, group)");
	snprintf(longpath, sizeof longpath, "control:\n  socket: /%0120d\n", 0);
	expect_error(longpath,
	    "t.yaml:2:11: 'socket' is too long (121 bytes, max 107)");
	expect_error("metrics:\n  listen: localhost:9975\n",
	    "t.yaml:2:11: 'metrics.listen' must be a numeric address "
	    "(ADDRESS:PORT), got 'localhost'");
	expect_error("metrics:\n  listen: \"127.0.0.1:99999\"\n",
	    "t.yaml:2:11: 'metrics.listen': invalid port '99999' "
	    "(expected 1-65535)");
	expect_error("metrics: { enabled: yes please }\n",
	    "t.yaml:1:21: 'enabled' must be true or false, got 'yes please'");
}

/* The statistics: section as read: dir and the four files (m t s r). */
static void
assert_stats(const struct nt_conf *c, const char *dir, const char *files)
{
	const struct nt_stats_conf *sc = &c->statistics;

	assert_string_equal(sc->dir, dir);
	assert_int_equal(sc->measurements, strchr(files, 'm') != NULL);
	assert_int_equal(sc->tracking, strchr(files, 't') != NULL);
	assert_int_equal(sc->statistics, strchr(files, 's') != NULL);
	assert_int_equal(sc->refclocks, strchr(files, 'r') != NULL);
}

/* statistics: (the statistics logs), off by default, read back. */
static void
test_statistics(void **state)
{
	struct nt_conf c;

	(void)state;
	load_ok(&c, "servers: [a]\n");
	assert_stats(&c, "/var/log/ntimed", "");
	nt_conf_free(&c);
	load_ok(&c, "statistics: { dir: /srv/ntp-stats, measurements: true, "
	    "tracking: yes, statistics: true, refclocks: false }\n");
	assert_stats(&c, "/srv/ntp-stats", "mts");
	round_trip(&c);
	nt_conf_free(&c);
	/* The default directory when only the files are named. */
	load_ok(&c, "statistics:\n  refclocks: true\n");
	assert_stats(&c, "/var/log/ntimed", "r");
	nt_conf_free(&c);
}

static void
test_err_statistics(void **state)
{
	char longpath[300];

	(void)state;
	expect_error("statistics:\n  dir: var/log/ntimed\n",
	    "t.yaml:2:8: 'statistics.dir' must be an absolute path, got "
	    "'var/log/ntimed'");
	expect_error("statistics: { tracking: sometimes }\n",
	    "t.yaml:1:25: 'tracking' must be true or false, got 'sometimes'");
	expect_error("statistics:\n  measurments: true\n",
	    "t.yaml:2:3: unknown key 'measurments' in statistics, did you "
	    "mean 'measurements'? (expected one of: dir, measurements, "
	    "tracking, statistics, refclocks)");
	expect_error("statistics: [tracking]\n",
	    "t.yaml:1:13: 'statistics' must be a mapping, got a list");
	snprintf(longpath, sizeof longpath, "statistics:\n  dir: /%0220d\n",
	    0);
	expect_error(longpath,
	    "t.yaml:2:8: 'dir' is too long (221 bytes, max 199)");
}

/* The master's 'refclocks:' list: loaded, checked, printed and read back. */
static void
test_refclocks(void **state)
{
	static const char yaml[] =
	    "refclocks:\n"
	    "  - { driver: nmea, device: /dev/ttyS0, offset: 0.35, pps: PPS }\n"
	    "  - { driver: pps, device: /dev/pps0, prefer: true }\n"
	    "  - { driver: shm, unit: 2, noselect: true, poll: 3 }\n"
	    "  - { driver: local, stratum: 8, trust: true, require: true }\n";
	char *text = NULL, err[NT_CONF_ERRLEN] = "";
	struct nt_conf c, back;
	size_t len = 0;
	FILE *f;

	(void)state;
	load_ok(&c, yaml);
	assert_int_equal(c.n_refclocks, 4);
	assert_int_equal(c.refclocks[0].driver, nt_refclock_find_driver("nmea"));
	assert_string_equal(c.refclocks[0].device, "/dev/ttyS0");
	assert_true(c.refclocks[0].offset == 0.35);
	assert_string_equal(c.refclocks[0].pps, "PPS");
	assert_true(c.refclocks[1].prefer);
	assert_string_equal(c.refclocks[1].refid, "PPS");
	assert_int_equal(c.refclocks[2].unit, 2);
	assert_int_equal(c.refclocks[2].poll, 3);
	assert_true(c.refclocks[2].noselect);
	assert_int_equal(c.refclocks[3].stratum, 8);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	nt_conf_print(f, &c);
	assert_int_equal(fclose(f), 0);
	nt_conf_init(&back);
	assert_int_equal(nt_conf_load_buf(&back, "printed", text, len, err,
	    sizeof err), 0);
	assert_int_equal(back.n_refclocks, c.n_refclocks);
	for (size_t i = 0; i < c.n_refclocks; i++) {
		assert_int_equal(back.refclocks[i].driver, c.refclocks[i].driver);
		assert_string_equal(back.refclocks[i].refid,
		    c.refclocks[i].refid);
		assert_int_equal(back.refclocks[i].poll, c.refclocks[i].poll);
		assert_true(back.refclocks[i].offset == c.refclocks[i].offset);
		assert_int_equal(back.refclocks[i].prefer,
		    c.refclocks[i].prefer);
		assert_int_equal(back.refclocks[i].trust, c.refclocks[i].trust);
		assert_int_equal(back.refclocks[i].require,
		    c.refclocks[i].require);
	}
	free(text);
	nt_conf_free(&back);
	nt_conf_free(&c);
	expect_error("refclocks:\n  - driver: nmea\n    device: /dev/a\n"
	    "  - driver: garmin\n", NAME ":4:13: 'driver' must be one of: "
	    "nmea, pps, shm, sock, phc, local, got 'garmin'");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_section),
		cmocka_unit_test(test_server_listen_split),
		cmocka_unit_test(test_server_listen_args),
		cmocka_unit_test(test_err_server),
		cmocka_unit_test(test_server_nts),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_server_forms),
		cmocka_unit_test(test_pools),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_source_options),
		cmocka_unit_test(test_err_source_options),
		cmocka_unit_test(test_refclock_source_options),
		cmocka_unit_test(test_max_change),
		cmocka_unit_test(test_add_server_arg),
		cmocka_unit_test(test_clear_sources_and_replace),
		cmocka_unit_test(test_err_unknown_key),
		cmocka_unit_test(test_err_wrong_type),
		cmocka_unit_test(test_err_range),
		cmocka_unit_test(test_err_duplicate),
		cmocka_unit_test(test_err_syntax),
		cmocka_unit_test(test_err_minpoll_maxpoll),
		cmocka_unit_test(test_err_sources),
		cmocka_unit_test(test_err_driftfile),
		cmocka_unit_test(test_err_yaml_features),
		cmocka_unit_test(test_err_top_level),
		cmocka_unit_test(test_err_limits),
		cmocka_unit_test(test_err_binary),
		cmocka_unit_test(test_err_missing_file),
		cmocka_unit_test(test_err_caller_untouched),
		cmocka_unit_test(test_yconf_tree),
		cmocka_unit_test(test_yconf_other_schema),
		cmocka_unit_test(test_yconf_other_schema_errors),
		cmocka_unit_test(test_control_metrics),
		cmocka_unit_test(test_not_a_file),
		cmocka_unit_test(test_device_not_waited_on),
		cmocka_unit_test(test_user_sandbox),
		cmocka_unit_test(test_err_user),
		cmocka_unit_test(test_err_duplicate_sources),
		cmocka_unit_test(test_same_host),
		cmocka_unit_test(test_err_control_metrics),
		cmocka_unit_test(test_refclocks),
		cmocka_unit_test(test_statistics),
		cmocka_unit_test(test_err_statistics),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
