/*
 * The control protocol: answers to good, refused and malformed requests
 * (who may read, who may change), the reply size bound, a mutation fuzz
 * whose every answer must be one valid, bounded JSON line that grants
 * nothing to a stranger, and the real socket: permissions of the file,
 * several requests on one connection, an oversized request, too many
 * connections, a stale socket replaced and a live one respected; and
 * the client's words when the daemon goes away or does not answer.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "clock.h"
#include "control.h"
#include "log.h"
#include "rng.h"
#include "status.h"

/* ---- A daemon with a small view and two verbs ---- */

static int poked;
static char poked_host[64];

static void
fake_json(void *ctx, struct nt_json *j, nt_time now)
{
	(void)ctx;
	(void)now;
	nt_json_begin_object(j);
	nt_json_key(j, "n");
	nt_json_int(j, 42);
	nt_json_key(j, "name");
	nt_json_string(j, "a \"quoted\" name\n");
	nt_json_end_object(j);
}

static void
big_json(void *ctx, struct nt_json *j, nt_time now)
{
	(void)ctx;
	(void)now;
	nt_json_begin_array(j);
	for (int i = 0; i < 10000; i++)
		nt_json_string(j, "0123456789");
	nt_json_end_array(j);
}

static int
verb_poke(void *ctx, const char *host, char *msg, size_t len)
{
	(void)ctx;
	poked++;
	strlcpy(poked_host, host, sizeof poked_host);
	snprintf(msg, len, "poked %s", host);
	return (0);
}

static int
verb_fail(void *ctx, const char *host, char *msg, size_t len)
{
	(void)ctx;
	(void)host;
	snprintf(msg, len, "it did not work");
	return (-1);
}

static const struct nt_ctl_verb verbs[] = {
	{ "add-server", true, "poke", verb_poke },
	{ "reload", false, "fail", verb_fail },
};

static struct nt_status st;
static struct nt_ctl_params params;

static void
setup_daemon(const char *path)
{
	static const struct nt_status_view fake = { "fake", "a fake view",
	    fake_json, NULL, NULL };
	static const struct nt_status_view big = { "big", "too much",
	    big_json, NULL, NULL };

	nt_status_init(&st, "client", nt_clock_dry());
	nt_status_add_view(&st, &fake);
	nt_status_add_view(&st, &big);
	params = (struct nt_ctl_params){ .path = path, .group = "ntimed",
	    .status = &st, .verbs = verbs, .n_verbs = 2 };
}

static const struct nt_ctl_peer root = { 1, 0, true };
static const struct nt_ctl_peer member = { 2, 1000, true };
static const struct nt_ctl_peer stranger = { 3, 65534, false };

/* Answer line as peer; returns the reply text (static). */
static const char *
ask(const struct nt_ctl_peer *peer, const char *line)
{
	static char out[NT_CTL_MAX_REPLY];
	struct nt_json j;
	size_t n;

	nt_json_init_buf(&j, false);
	nt_ctl_answer(&params, peer, line, strlen(line), &j);
	strlcpy(out, nt_json_text(&j, &n), sizeof out);
	assert_true(n < NT_CTL_MAX_REPLY);
	assert_null(strchr(out, '\n'));
	nt_json_free(&j);
	return (out);
}

/* The reply's error code, or "ok". */
static const char *
code_of(const char *reply, char *err, size_t errlen)
{
	static char code[32];
	const struct nt_yconf_node *r;
	struct nt_yconf_doc *doc;
	const char *msg;

	doc = nt_ctl_parse_reply(reply, &r, &msg, code, sizeof code, err,
	    errlen);
	if (doc == NULL)
		return (code);
	nt_yconf_doc_free(doc);
	return ("ok");
}

static void
expect_code(const struct nt_ctl_peer *peer, const char *line,
    const char *code, const char *in_error)
{
	char err[NT_CONF_ERRLEN];
	const char *reply = ask(peer, line);
	const char *got = code_of(reply, err, sizeof err);

	if (strcmp(got, code) != 0)
		fail_msg("'%s': code %s, want %s (%s)", line, got, code, reply);
	if (in_error != NULL && strstr(err, in_error) == NULL)
		fail_msg("'%s': error '%s' lacks '%s'", line, err, in_error);
}

static void
test_reads(void **state)
{
	const struct nt_yconf_node *r;
	struct nt_yconf_doc *doc;
	char code[32], err[256];
	const char *msg;

	(void)state;
	setup_daemon("/nonexistent");
	doc = nt_ctl_parse_reply(ask(&member,
	    "{\"version\":1,\"request\":\"fake\"}"), &r, &msg, code,
	    sizeof code, err, sizeof err);
	assert_non_null(doc);
	assert_non_null(r);
	assert_string_equal(nt_yconf_map_get(r, "n")->str, "42");
	assert_string_equal(nt_yconf_map_get(r, "name")->str,
	    "a \"quoted\" name\n");
	nt_yconf_doc_free(doc);
	/* YAML flow style is accepted too: it is the same reader. */
	expect_code(&root, "{version: 1, request: fake}", "ok", NULL);
	expect_code(&member, "{\"version\":1,\"request\":\"views\"}", "ok",
	    NULL);
	expect_code(&member, "{\"version\":1,\"request\":\"all\"}", "too-large",
	    "more than the limit");
	expect_code(&stranger, "{\"version\":1,\"request\":\"fake\"}",
	    "permission", "group 'ntimed'");
	expect_code(&stranger, "{\"version\":1,\"request\":\"views\"}",
	    "permission", NULL);
	expect_code(&member, "{\"version\":1,\"request\":\"big\"}", "too-large",
	    NULL);
	expect_code(&member, "{\"version\":1,\"request\":\"nope\"}", "unknown",
	    "views: views, all, fake, big; verbs: add-server, reload");
}

static void
test_verbs(void **state)
{
	(void)state;
	setup_daemon("/nonexistent");
	poked = 0;
	expect_code(&member, "{\"version\":1,\"request\":\"add-server\","
	    "\"host\":\"h\"}", "permission", "needs root");
	expect_code(&stranger, "{\"version\":1,\"request\":\"add-server\","
	    "\"host\":\"h\"}", "permission", "needs root");
	assert_int_equal(poked, 0);
	assert_non_null(strstr(ask(&root, "{\"version\":1,\"request\":"
	    "\"add-server\",\"host\":\"192.0.2.1:123\"}"),
	    "\"ok\":true,\"request\":\"add-server\",\"message\":\"poked "
	    "192.0.2.1:123\""));
	assert_int_equal(poked, 1);
	assert_string_equal(poked_host, "192.0.2.1:123");
	expect_code(&root, "{\"version\":1,\"request\":\"add-server\"}",
	    "malformed", "needs a \"host\"");
	expect_code(&root, "{\"version\":1,\"request\":\"reload\","
	    "\"host\":\"x\"}", "malformed", "takes no");
	expect_code(&root, "{\"version\":1,\"request\":\"reload\"}", "failed",
	    "it did not work");
	assert_int_equal(poked, 1);
}

static void
test_malformed(void **state)
{
	static const struct { const char *line, *code, *err; } cases[] = {
		{ "", "malformed", NULL },
		{ "{", "malformed", "request:" },
		{ "[1, 2]", "malformed", "must be a mapping" },
		{ "\"status\"", "malformed", NULL },
		{ "{\"version\":1}", "malformed", "request" },
		{ "{\"request\":\"fake\"}", "version", "no \"version\"" },
		{ "{\"version\":2,\"request\":\"fake\"}", "version",
		    "version 2 is not supported" },
		{ "{\"version\":\"1\",\"request\":\"fake\"}", "malformed",
		    NULL },
		{ "{\"version\":1,\"request\":\"fake\",\"x\":1}", "malformed",
		    "request:1:31: unknown key 'x'" },
		{ "{\"version\":1,\"request\":\"fake\",\"request\":\"big\"}",
		    "malformed", "duplicate" },
		{ "{\"version\":1,\"request\":\"fake\",\"host\":\"h\"}",
		    "malformed", "takes no" },
		{ "{\"version\":1,\"request\":[1]}", "malformed", NULL },
		/* A host is a JSON string, not a number YAML would take. */
		{ "{\"version\":1,\"request\":\"add-server\",\"host\":123}",
		    "malformed", "'host' must be a JSON string, got '123'" },
		{ "{\"version\":1,\"request\":\"add-server\",\"host\":true}",
		    "malformed", "must be a JSON string" },
		{ "{\"version\":1,\"request\":\"add-server\",\"host\":null}",
		    "malformed", "must be a JSON string" },
		{ "{\"version\":1,\"request\":\"add-server\",\"host\":[1]}",
		    "malformed", "must be a JSON string" },
		{ "{\"version\":1,\"request\":\"add-server\",\"host\":\"\"}",
		    "malformed", "non-empty" },
		{ "{\"version\":1,\"request\":\"x\",\"host\":&a \"h\"}",
		    "malformed", NULL },
		{ "{\"version\":1,\"request\":\"fake\"} {}", "malformed", NULL },
		{ "--- a\n--- b", "malformed", NULL },
	};
	char big[NT_CTL_MAX_REQUEST];

	(void)state;
	setup_daemon("/nonexistent");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_code(&root, cases[i].line, cases[i].code, cases[i].err);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	expect_code(&root, big, "malformed", NULL);
	/* A host longer than any host name. */
	size_t n = strlcpy(big, "{\"version\":1,\"request\":\"add-server\","
	    "\"host\":\"", sizeof big);
	memset(big + n, 'h', 1000);
	memcpy(big + n + 1000, "\"}", 3);
	expect_code(&root, big, "malformed", "too long");
}

/* Mutated requests: one bounded JSON answer each; strangers get nothing. */
static void
test_fuzz(void **state)
{
	static const char *const seeds[] = {
		"{\"version\":1,\"request\":\"fake\"}",
		"{\"version\":1,\"request\":\"add-server\",\"host\":\"a\"}",
		"{version: 1, request: reload}",
	};
	static const char alphabet[] = "{}[]\":,&*!|>-?#%@`'\\ \t\001\377"
	    "0123456789abcdefhostversionrequest";
	struct nt_rng rng;
	char line[256], err[NT_CONF_ERRLEN];

	(void)state;
	setup_daemon("/nonexistent");
	nt_rng_seed(&rng, 1);
	poked = 0;
	for (int iter = 0; iter < 20000; iter++) {
		const char *seed = seeds[nt_rng_u64(&rng) % 3];
		size_t len = strlen(seed);

		memcpy(line, seed, len + 1);
		for (int m = (int)(nt_rng_u64(&rng) % 4); m >= 0; m--) {
			size_t at = nt_rng_u64(&rng) % len;

			line[at] = alphabet[nt_rng_u64(&rng) %
			    (sizeof alphabet - 1)];
		}
		const char *code = code_of(ask(&stranger, line), err,
		    sizeof err);
		assert_true(strcmp(code, "ok") != 0);
		assert_true(strcmp(code, "failed") != 0);
		code_of(ask(&root, line), err, sizeof err);
	}
}

/* ---- The real socket ---- */

struct client_run {
	char	path[108];
	uv_async_t *done;
	int	failures;
	char	why[256];
};

static void
note(struct client_run *c, const char *what)
{
	if (c->failures++ == 0)
		strlcpy(c->why, what, sizeof c->why);
}

static int
raw_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strlcpy(sun.sun_path, path, sizeof sun.sun_path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Read until EOF or n bytes; returns the bytes. */
static size_t
read_all(int fd, char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n && (r = read(fd, buf + got, n - got)) > 0)
		got += (size_t)r;
	buf[got < n ? got : n - 1] = '\0';
	return (got);
}

static void
client_checks(struct client_run *c)
{
	char err[256], *reply, buf[8192];
	int fd, fds[NT_CTL_MAX_CONN + 1];
	struct timeval tv = { 5, 0 };

	/* Two requests on one connection, in one write. */
	if ((fd = raw_connect(c->path)) < 0) {
		note(c, "cannot connect");
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	const char two[] = "{\"version\":1,\"request\":\"fake\"}\n"
	    "{\"version\":1,\"request\":\"views\"}\n";
	if (write(fd, two, sizeof two - 1) != (ssize_t)sizeof two - 1)
		note(c, "write");
	shutdown(fd, SHUT_WR);
	read_all(fd, buf, sizeof buf);
	if (strstr(buf, "\"request\":\"fake\"") == NULL ||
	    strstr(buf, "\"request\":\"views\"") == NULL ||
	    strchr(buf, '\n') == strrchr(buf, '\n'))
		note(c, "two requests, two replies");
	close(fd);

	/* The library client. */
	if ((fd = nt_ctl_connect(c->path, err, sizeof err)) < 0 ||
	    nt_ctl_call(fd, "{\"version\":1,\"request\":\"fake\"}", 5,
	    &reply, err, sizeof err) != 0)
		note(c, "nt_ctl_call");
	else {
		if (strstr(reply, "\"n\":42") == NULL)
			note(c, "nt_ctl_call reply");
		free(reply);
		/* A bad request does not end the connection. */
		if (nt_ctl_call(fd, "{", 5, &reply, err, sizeof err) != 0 ||
		    strstr(reply, "malformed") == NULL)
			note(c, "bad request on a good connection");
		free(reply);
		if (nt_ctl_call(fd, "{\"version\":1,\"request\":\"fake\"}", 5,
		    &reply, err, sizeof err) != 0)
			note(c, "request after a bad one");
		free(reply);
	}
	if (fd >= 0)
		close(fd);

	/* An endless line: one error, then the daemon hangs up. */
	if ((fd = raw_connect(c->path)) >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		memset(buf, 'x', sizeof buf);
		if (write(fd, buf, sizeof buf) < NT_CTL_MAX_REQUEST)
			note(c, "long write");
		read_all(fd, buf, sizeof buf);
		if (strstr(buf, "too-large") == NULL)
			note(c, "too long request");
		close(fd);
	}

	/* More connections than allowed: the extra one is told so. */
	for (int i = 0; i <= NT_CTL_MAX_CONN; i++)
		fds[i] = raw_connect(c->path);
	if (fds[NT_CTL_MAX_CONN] >= 0) {
		setsockopt(fds[NT_CTL_MAX_CONN], SOL_SOCKET, SO_RCVTIMEO, &tv,
		    sizeof tv);
		read_all(fds[NT_CTL_MAX_CONN], buf, sizeof buf);
		if (strstr(buf, "\"busy\"") == NULL)
			note(c, "no busy answer");
	}
	for (int i = 0; i <= NT_CTL_MAX_CONN; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* And the daemon still answers. */
	if ((fd = nt_ctl_connect(c->path, err, sizeof err)) < 0 ||
	    nt_ctl_call(fd, "{\"version\":1,\"request\":\"fake\"}", 5,
	    &reply, err, sizeof err) != 0)
		note(c, "answer after the crowd");
	else
		free(reply);
	if (fd >= 0)
		close(fd);
}

static void *
client_thread(void *arg)
{
	struct client_run *c = arg;

	client_checks(c);
	uv_async_send(c->done);
	return (NULL);
}

static struct nt_ctl *the_ctl;

static void
on_done(uv_async_t *a)
{
	nt_ctl_close(the_ctl);
	uv_close((uv_handle_t *)a, NULL);
}

static void
test_socket(void **state)
{
	char dir[] = "/tmp/ntimed-ctl.XXXXXX", err[256];
	struct client_run c = { 0 };
	uv_loop_t loop;
	uv_async_t done;
	pthread_t th;
	struct stat sb;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(c.path, sizeof c.path, "%s/sub/ctl.sock", dir);
	setup_daemon(c.path);
	uv_loop_init(&loop);
	/* Only our own runtime directory is made, not one a path names. */
	assert_null(nt_ctl_start(&loop, &params, err, sizeof err));
	assert_non_null(strstr(err, "cannot listen"));
	snprintf(c.path, sizeof c.path, "%s/sub", dir);
	assert_int_equal(stat(c.path, &sb), -1);
	assert_int_equal(mkdir(c.path, 0755), 0);
	snprintf(c.path, sizeof c.path, "%s/sub/ctl.sock", dir);
	the_ctl = nt_ctl_start(&loop, &params, err, sizeof err);
	if (the_ctl == NULL)
		fail_msg("%s", err);
	/* The socket is 0660. */
	assert_int_equal(lstat(c.path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0660);
	/* A second daemon on the same path is refused, the first kept. */
	assert_null(nt_ctl_start(&loop, &params, err, sizeof err));
	assert_non_null(strstr(err, "another daemon is listening"));
	uv_async_init(&loop, &done, on_done);
	c.done = &done;
	assert_int_equal(pthread_create(&th, NULL, client_thread, &c), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	pthread_join(th, NULL);
	assert_int_equal(uv_loop_close(&loop), 0);
	if (c.failures > 0)
		fail_msg("%d failures, first: %s", c.failures, c.why);
	/* Closing removed the file. */
	assert_int_equal(lstat(c.path, &sb), -1);

	/* A stale file (no listener) is replaced. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	strlcpy(sun.sun_path, c.path, sizeof sun.sun_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	close(fd);
	uv_loop_init(&loop);
	the_ctl = nt_ctl_start(&loop, &params, err, sizeof err);
	assert_non_null(the_ctl);
	nt_ctl_close(the_ctl);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);

	/* Not a socket: refused, left alone. */
	fd = open(c.path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	uv_loop_init(&loop);
	assert_null(nt_ctl_start(&loop, &params, err, sizeof err));
	assert_non_null(strstr(err, "is not a socket"));
	assert_int_equal(lstat(c.path, &sb), 0);
	uv_loop_close(&loop);
	unlink(c.path);
	snprintf(c.path, sizeof c.path, "%s/sub", dir);
	rmdir(c.path);
	rmdir(dir);

	/* The client's error for a missing socket names the path. */
	assert_int_equal(nt_ctl_connect("/nonexistent/x.sock", err,
	    sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/x.sock: no such socket"));
}

/* What a verb logs cannot break a log line or send escapes. */
static char last_log[1024];

static void
log_sink(void *ctx, enum nt_log_level lvl, const char *msg)
{
	(void)ctx;
	(void)lvl;
	strlcpy(last_log, msg, sizeof last_log);
}

static void
test_log_safety(void **state)
{
	(void)state;
	setup_daemon("/nonexistent");
	nt_log_set_sink(log_sink, NULL);
	expect_code(&root, "{\"version\":1,\"request\":\"add-server\","
	    "\"host\":\"a\\nb\\u001b[31m\"}", "ok", NULL);
	assert_non_null(strstr(last_log, "add-server a\\x0ab\\x1b[31m by uid"));
	assert_null(strchr(last_log, '\n'));
	assert_null(strchr(last_log, '\033'));
	/* Any message: a device path from a config, say. */
	nt_log(NT_LOG_ERR, "refclock GPS (%s): gone", "/dev/a\nb\033[31m\xff");
	assert_string_equal(last_log, "refclock GPS (/dev/a\\x0ab\\x1b[31m"
	    "\\xff): gone");
	nt_log_set_sink(NULL, NULL);
	nt_log_setup(NT_LOG_NONE, NT_LOG_ERR, "test");
}

/*
 * A call whose daemon went away says so, not "Broken pipe"; one whose
 * daemon does not answer names the wait.
 */
static void
test_call_errors(void **state)
{
	char err[256], *reply;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(nt_ctl_call(sv[0], "{}", 0.2, &reply, err,
	    sizeof err), -1);
	assert_null(reply);
	assert_string_equal(err, "the daemon did not answer within 0.2 s");
	close(sv[1]);
	assert_int_equal(nt_ctl_call(sv[0], "{}", 0.2, &reply, err,
	    sizeof err), -1);
	assert_string_equal(err, "the daemon closed the connection "
	    "(stopped or restarting?)");
	close(sv[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_safety),
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_call_errors),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
