/*
 * Fuzz target: the control protocol (nt_ctl_answer), JSON lines from
 * local users over the daemon's Unix socket, and the client's reading of
 * the replies (nt_ctl_parse_reply).  The first byte picks who asks: root,
 * a member of the control group, or a stranger; the rest is the request
 * line.  Whatever the line, the answer is one JSON line within the reply
 * limit that the client can read back, a stranger learns and changes
 * nothing, and only root runs a verb.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "control.h"
#include "fuzz.h"
#include "log.h"
#include "status.h"

static int verb_runs;

static void
view_json(void *ctx, struct nt_json *j, nt_time now)
{
	(void)ctx;
	(void)now;
	nt_json_begin_object(j);
	nt_json_key(j, "answer");
	nt_json_int(j, 42);
	nt_json_key(j, "text");
	nt_json_string(j, "a \"quoted\"\nvalue\x01");
	nt_json_end_object(j);
}

static int
verb_run(void *ctx, const char *host, char *msg, size_t len)
{
	(void)ctx;
	verb_runs++;
	snprintf(msg, len, "did it for %s", host != NULL ? host : "-");
	return (host != NULL && host[0] == 'x' ? -1 : 0);
}

static const struct nt_ctl_verb verbs[] = {
	{ "add-server", true, "takes a host", verb_run },
	{ "reload", false, "takes nothing", verb_run },
};
static const struct nt_status_view view = { "sources", "a view",
    view_json, NULL, NULL };
static const struct nt_ctl_peer peers[] = {
	{ 1, 0, true },			/* root */
	{ 2, 1000, true },		/* in the control group */
	{ 3, 65534, false },		/* anyone else */
};

static struct nt_status status;
static struct nt_ctl_params params;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	nt_log_set_sink(fz_quiet, NULL);
	nt_status_init(&status, "client", nt_clock_dry());
	nt_status_add_view(&status, &view);
	params = (struct nt_ctl_params){ .path = "/nonexistent",
	    .group = "ntimed", .status = &status, .verbs = verbs,
	    .n_verbs = 2 };
	return (0);
}

/* Is the reply a JSON object with "ok", as the client expects?  Its value. */
static bool
reply_ok(const char *text, size_t len)
{
	const struct nt_yconf_node *ok;
	struct nt_yconf_doc *doc;
	char err[512];
	bool v;

	doc = nt_yconf_parse("reply", text, len, err, sizeof err);
	if (doc == NULL) {
		fprintf(stderr, "%s\n%s\n", err, text);
		FZ_CHECK(!"every reply reads back");
	}
	FZ_CHECK(doc->root != NULL && doc->root->kind == NT_YCONF_MAP);
	ok = nt_yconf_map_get(doc->root, "ok");
	FZ_CHECK(ok != NULL && ok->kind == NT_YCONF_SCALAR);
	v = strcmp(ok->str, "true") == 0;
	FZ_CHECK(v || strcmp(ok->str, "false") == 0);
	nt_yconf_doc_free(doc);
	return (v);
}

static void
check_reply(const struct nt_ctl_peer *peer, const char *text, size_t len,
    int runs_before)
{
	const struct nt_yconf_node *result;
	struct nt_yconf_doc *doc;
	char code[32], err[512];
	const char *msg;
	bool ok;

	FZ_CHECK(len > 0 && len < NT_CTL_MAX_REPLY);
	FZ_CHECK(strlen(text) == len && strchr(text, '\n') == NULL);
	ok = reply_ok(text, len);
	doc = nt_ctl_parse_reply(text, &result, &msg, code, sizeof code, err,
	    sizeof err);
	FZ_CHECK((doc != NULL) == ok);
	if (ok) {
		FZ_CHECK(peer->may_read);
		nt_yconf_doc_free(doc);
	} else
		FZ_CHECK(code[0] != '\0' && err[0] != '\0');
	if (peer->uid != 0)
		FZ_CHECK(verb_runs == runs_before);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct nt_ctl_peer *peer;
	struct nt_json j;
	const char *text;
	int before = verb_runs;
	size_t n = 0;

	if (size < 1)
		return (0);
	peer = &peers[data[0] % 3];
	nt_json_init_buf(&j, false);
	nt_ctl_answer(&params, peer, (const char *)data + 1, size - 1, &j);
	text = nt_json_text(&j, &n);
	check_reply(peer, text, n, before);
	nt_json_free(&j);
	return (0);
}
