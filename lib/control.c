/*
 * The control socket: request parsing and answers (sans-I/O), the libuv
 * server, and the blocking client "ntimed query" uses.
 *
 * Requests are read with the same bounded YAML reader as the config
 * (JSON is YAML's flow style), so a request gets the same careful,
 * positioned error messages as a config file, and we carry no second
 * parser.  Everything a peer can make us hold is bounded: one request
 * buffer per connection, NT_CTL_MAX_CONN connections, an idle timeout,
 * and one reply in flight.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "control.h"
#include "hostport.h"
#include "log.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59	/* Linux 4.13 */
#endif
#define MAX_PEER_GROUPS 1024

/* ---- Requests ---- */

struct request {
	int	version;
	char	request[32];
	char	host[NT_HOSTLEN];
};

/*
 * "host" must be a JSON string: the parser reads YAML, where 123 or true
 * is a plain scalar a string field would take, so {"host":123} would add
 * server 0.0.0.123.  Only a quoted scalar is a host.
 */
static int
walk_host(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label)
{
	char got[96];

	if (n->kind != NT_YCONF_SCALAR || !n->quoted)
		return (nt_yconf_error(w, n, "'%s' must be a JSON string, "
		    "got %s", label, nt_yconf_describe(n, got, sizeof got)));
	if (n->len == 0 || strlen(n->str) != n->len)
		return (nt_yconf_error(w, n, "'%s' must be a non-empty "
		    "string without NUL characters", label));
	if (n->len >= k->size)
		return (nt_yconf_error(w, n, "'%s' is too long (%zu bytes, "
		    "max %zu)", label, n->len, k->size - 1));
	memcpy(target, n->str, n->len + 1);
	return (0);
}

static const struct nt_yconf_key request_keys[] = {
	NT_YCONF_INT("version", struct request, version, 0, 1000000,
	    "protocol version"),
	NT_YCONF_STRBUF("request", struct request, request,
	    NT_YCONF_REQUIRED, "a view or a verb"),
	{ .name = "host", .type = NT_YCONF_T_CUSTOM,
	    NT_YCONF_FIELD_(struct request, host), .custom = walk_host,
	    .doc = "argument of add-server and remove-server (a string)" },
};

static const struct nt_yconf_schema request_schema =
    NT_YCONF_SCHEMA(request_keys, NULL, NULL);

static void
begin_reply(struct nt_json *j, bool ok)
{
	nt_json_begin_object(j);
	nt_json_key(j, "version");
	nt_json_int(j, NT_CTL_VERSION);
	nt_json_key(j, "ok");
	nt_json_bool(j, ok);
}

static void reply_error(struct nt_json *j, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
reply_error(struct nt_json *j, const char *code, const char *fmt, ...)
{
	char msg[NT_CONF_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	begin_reply(j, false);
	nt_json_key(j, "code");
	nt_json_string(j, code);
	nt_json_key(j, "error");
	nt_json_string(j, msg);
	nt_json_end_object(j);
}

static const struct nt_ctl_verb *
find_verb(const struct nt_ctl_params *p, const char *name)
{
	for (size_t i = 0; i < p->n_verbs; i++)
		if (strcmp(p->verbs[i].name, name) == 0)
			return (&p->verbs[i]);
	return (NULL);
}

/* "tracking, sources, ...; verbs: add-server, ..." for an error. */
static void
known_requests(const struct nt_ctl_params *p, char *buf, size_t len)
{
	strlcpy(buf, "views, all", len);
	for (size_t i = 0; i < p->status->n_views; i++)
		if (p->status->views[i].json != NULL) {
			strlcat(buf, ", ", len);
			strlcat(buf, p->status->views[i].name, len);
		}
	for (size_t i = 0; i < p->n_verbs; i++) {
		strlcat(buf, i == 0 ? "; verbs: " : ", ", len);
		strlcat(buf, p->verbs[i].name, len);
	}
}

static void
answer_verb(const struct nt_ctl_params *p, const struct nt_ctl_peer *peer,
    const struct nt_ctl_verb *v, const struct request *r, struct nt_json *j)
{
	char msg[NT_CTL_VERB_MSGLEN], shown[96], shown_msg[NT_CTL_VERB_MSGLEN];
	int rc;

	if (peer->uid != 0) {
		reply_error(j, "permission", "'%s' needs root", v->name);
		return;
	}
	if (v->needs_host != (r->host[0] != '\0')) {
		reply_error(j, "malformed", v->needs_host ? "'%s' needs a "
		    "\"host\"" : "'%s' takes no \"host\"", v->name);
		return;
	}
	msg[0] = '\0';
	if ((rc = v->fn(p->ctx, r->host, msg, sizeof msg)) != 0) {
		reply_error(j, rc == NT_CTL_VERB_INVALID ? "invalid" : "failed",
		    "%s", msg);
		return;
	}
	nt_log(NT_LOG_NOTICE, "control: %s%s%s by uid %u: %s", v->name,
	    r->host[0] != '\0' ? " " : "", nt_printable(r->host, shown,
	    sizeof shown), (unsigned)peer->uid, nt_printable(msg, shown_msg,
	    sizeof shown_msg));
	begin_reply(j, true);
	nt_json_key(j, "request");
	nt_json_string(j, v->name);
	nt_json_key(j, "message");
	nt_json_string(j, msg);
	nt_json_end_object(j);
}

static void
answer_view(const struct nt_ctl_params *p, const struct nt_ctl_peer *peer,
    const struct request *r, struct nt_json *j)
{
	const struct nt_status_view *v = nt_status_find(p->status, r->request);
	char known[512];

	if (!peer->may_read) {
		reply_error(j, "permission", "reading the daemon's state needs "
		    "root or membership of group '%s'",
		    p->group != NULL && p->group[0] != '\0' ? p->group :
		    "(none configured)");
		return;
	}
	if ((v == NULL || v->json == NULL) && strcmp(r->request, "all") != 0 &&
	    strcmp(r->request, "views") != 0) {
		known_requests(p, known, sizeof known);
		reply_error(j, "unknown", "unknown request '%s' (views: %s)",
		    r->request, known);
		return;
	}
	if (r->host[0] != '\0') {
		reply_error(j, "malformed", "'%s' takes no \"host\"",
		    r->request);
		return;
	}
	begin_reply(j, true);
	nt_json_key(j, "request");
	nt_json_string(j, r->request);
	nt_json_key(j, "result");
	if (nt_status_json(p->status, r->request, j) != 0)
		assert(!"view vanished");
	nt_json_end_object(j);
}

static void
answer(const struct nt_ctl_params *p, const struct nt_ctl_peer *peer,
    const char *line, size_t len, struct nt_json *j)
{
	char err[NT_CONF_ERRLEN];
	const struct nt_ctl_verb *v;
	struct request r;

	memset(&r, 0, sizeof r);
	r.version = -1;
	if (nt_yconf_load_buf("request", line, len, &request_schema, &r, err,
	    sizeof err) != 0) {
		reply_error(j, "malformed", "%s", err);
		return;
	}
	if (r.version != NT_CTL_VERSION) {
		reply_error(j, "version", r.version < 0 ? "no \"version\" "
		    "(this daemon speaks version %d)" : "protocol version %d "
		    "is not supported (this daemon speaks version %d)",
		    r.version < 0 ? NT_CTL_VERSION : r.version,
		    NT_CTL_VERSION);
		return;
	}
	if ((v = find_verb(p, r.request)) != NULL)
		answer_verb(p, peer, v, &r, j);
	else
		answer_view(p, peer, &r, j);
}

void
nt_ctl_answer(const struct nt_ctl_params *p, const struct nt_ctl_peer *peer,
    const char *line, size_t len, struct nt_json *j)
{
	size_t n = 0;
	int r;

	answer(p, peer, line, len, j);
	r = nt_json_finish(j);
	nt_json_text(j, &n);
	if (r == 0 && n < NT_CTL_MAX_REPLY)
		return;
	nt_json_free(j);
	nt_json_init_buf(j, false);
	if (r == 0)
		reply_error(j, "too-large", "the answer has %zu bytes, more "
		    "than the limit of %d", n, NT_CTL_MAX_REPLY - 1);
	else
		reply_error(j, "internal", "out of memory");
	nt_json_finish(j);
}

/* ---- The server ---- */

struct conn {
	struct nt_ctl	*ctl;
	uv_pipe_t	pipe;
	uv_timer_t	timer;
	uv_write_t	wr;
	struct nt_ctl_peer peer;
	char		in[NT_CTL_MAX_REQUEST];
	size_t		len;
	char		*out;		/* reply in flight */
	bool		writing;
	bool		close_after;	/* last reply: then hang up */
	bool		draining;	/* hung up: discard until EOF */
	uv_shutdown_t	sd;
	bool		closing;
	int		open_handles;
	struct conn	*prev, *next;
};

struct nt_ctl {
	uv_loop_t	*loop;
	const struct nt_ctl_params *p;
	uv_pipe_t	listener;
	char		path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ino_t		ino;		/* of our socket file */
	gid_t		gid;
	struct conn	*conns;
	int		n_conns;
	bool		closing;
	bool		listener_open;
};

static void conn_process(struct conn *c);

static void
maybe_free_ctl(struct nt_ctl *ctl)
{
	if (ctl->closing && !ctl->listener_open && ctl->conns == NULL)
		free(ctl);
}

static void
on_conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct nt_ctl *ctl = c->ctl;

	if (--c->open_handles > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	ctl->n_conns--;
	free(c->out);
	free(c);
	maybe_free_ctl(ctl);
}

static void
conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void
on_idle(uv_timer_t *t)
{
	conn_close(t->data);
}

static void
on_shutdown(uv_shutdown_t *sd, int status)
{
	if (status < 0)
		conn_close(sd->data);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf);

/*
 * After the last reply: end our side and read what the peer still sends
 * until it hangs up too (or the idle timer fires), so that closing with
 * unread data does not reset the connection before the reply arrives.
 */
static void
conn_drain(struct conn *c)
{
	c->draining = true;
	c->len = 0;
	c->sd.data = c;
	if (uv_shutdown(&c->sd, (uv_stream_t *)&c->pipe, on_shutdown) != 0) {
		conn_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

static void
on_written(uv_write_t *wr, int status)
{
	struct conn *c = wr->data;

	free(c->out);
	c->out = NULL;
	c->writing = false;
	if (c->closing)
		return;
	if (status < 0)
		conn_close(c);
	else if (c->close_after)
		conn_drain(c);
	else
		conn_process(c);
}

/* Send text (taking ownership) plus a newline. */
static void
conn_send(struct conn *c, char *text, size_t len)
{
	uv_buf_t b;

	assert(!c->writing && len < NT_CTL_MAX_REPLY);
	text[len] = '\n';
	c->out = text;
	c->writing = true;
	b = uv_buf_init(text, (unsigned)len + 1);
	c->wr.data = c;
	uv_read_stop((uv_stream_t *)&c->pipe);
	if (uv_write(&c->wr, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
		free(c->out);
		c->out = NULL;
		c->writing = false;
		conn_close(c);
	}
}

static void
conn_reply(struct conn *c, const char *line, size_t len)
{
	struct nt_json j;
	const char *text;
	char *copy;
	size_t n;

	nt_json_init_buf(&j, false);
	nt_ctl_answer(c->ctl->p, &c->peer, line, len, &j);
	text = nt_json_text(&j, &n);
	if ((copy = malloc(n + 1)) == NULL) {
		nt_json_free(&j);
		conn_close(c);
		return;
	}
	memcpy(copy, text, n);
	nt_json_free(&j);
	conn_send(c, copy, n);
}

static void
conn_error(struct conn *c, const char *code, const char *msg)
{
	struct nt_json j;
	const char *text;
	char *copy;
	size_t n;

	nt_json_init_buf(&j, false);
	reply_error(&j, code, "%s", msg);
	nt_json_finish(&j);
	text = nt_json_text(&j, &n);
	copy = malloc(n + 1);
	if (copy != NULL)
		memcpy(copy, text, n);
	nt_json_free(&j);
	c->close_after = true;
	if (copy == NULL)
		conn_close(c);
	else
		conn_send(c, copy, n);
}

/* Answer the next complete line, if any; else read on. */
static void
conn_process(struct conn *c)
{
	char *nl = memchr(c->in, '\n', c->len);
	size_t used;

	if (c->closing || c->writing)
		return;
	if (nl == NULL) {
		if (c->len == sizeof c->in) {
			conn_error(c, "too-large", "request longer than "
			    "4096 bytes");
			return;
		}
		uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
		return;
	}
	used = (size_t)(nl - c->in) + 1;
	uv_timer_start(&c->timer, on_idle, NT_CTL_IDLE_TIMEOUT * 1000, 0);
	conn_reply(c, c->in, used - 1);
	memmove(c->in, c->in + used, c->len - used);
	c->len -= used;
}

static void
on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	struct conn *c = h->data;

	(void)size;
	*buf = uv_buf_init(c->in + c->len, (unsigned)(sizeof c->in - c->len));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	(void)buf;
	if (c->draining) {
		c->len = 0;
		if (n < 0)
			conn_close(c);
		return;
	}
	if (n < 0) {		/* EOF or error: nothing more to answer */
		if (!c->writing)
			conn_close(c);
		else
			c->close_after = true;
		return;
	}
	c->len += (size_t)n;
	assert(c->len <= sizeof c->in);
	conn_process(c);
}

static bool
in_group(int fd, gid_t gid, gid_t primary)
{
	gid_t *groups;
	socklen_t len = MAX_PEER_GROUPS * sizeof(gid_t);
	bool found = primary == gid;

	if (found || (groups = malloc(len)) == NULL)
		return (found);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		for (size_t i = 0; i < len / sizeof(gid_t) && !found; i++)
			found = groups[i] == gid;
	free(groups);
	return (found);
}

static int
peer_of(int fd, gid_t gid, struct nt_ctl_peer *peer)
{
	struct ucred uc;
	socklen_t len = sizeof uc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0)
		return (-errno);
	peer->pid = uc.pid;
	peer->uid = uc.uid;
	peer->may_read = uc.uid == 0 ||
	    (gid != (gid_t)-1 && in_group(fd, gid, uc.gid));
	return (0);
}

static int
conn_start(struct nt_ctl *ctl, struct conn *c)
{
	uv_os_fd_t fd;
	int r;

	uv_pipe_init(ctl->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->open_handles = 2;
	uv_timer_init(ctl->loop, &c->timer);
	c->timer.data = c;
	if ((r = uv_accept((uv_stream_t *)&ctl->listener,
	    (uv_stream_t *)&c->pipe)) != 0)
		return (r);
	if ((r = uv_fileno((uv_handle_t *)&c->pipe, &fd)) != 0)
		return (r);
	if ((r = peer_of(fd, ctl->gid, &c->peer)) != 0)
		return (r);
	uv_timer_start(&c->timer, on_idle, NT_CTL_IDLE_TIMEOUT * 1000, 0);
	return (0);
}

static void
on_connection(uv_stream_t *s, int status)
{
	struct nt_ctl *ctl = s->data;
	struct conn *c;
	int r;

	if (status < 0 || (c = calloc(1, sizeof *c)) == NULL)
		return;
	c->ctl = ctl;
	c->next = ctl->conns;
	if (c->next != NULL)
		c->next->prev = c;
	ctl->conns = c;
	ctl->n_conns++;
	if ((r = conn_start(ctl, c)) != 0) {
		nt_log(NT_LOG_DEBUG, "control: cannot accept: %s",
		    uv_strerror(r));
		conn_close(c);
	} else if (ctl->n_conns > NT_CTL_MAX_CONN)
		conn_error(c, "busy", "too many connections, try again");
	else
		conn_process(c);
}

/* ---- The socket file ---- */

/* A socket file nobody listens on is left from a crash: remove it. */
static int
clear_stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat sb;
	int fd, r;

	if (lstat(path, &sb) != 0)
		return (0);
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket", path);
		return (-1);
	}
	strlcpy(sun.sun_path, path, sizeof sun.sun_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return (-1);
	}
	r = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	close(fd);
	if (r == 0) {
		snprintf(err, errlen, "%s: another daemon is listening there",
		    path);
		return (-1);
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot remove the stale socket: %s",
		    path, strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * Our own runtime directory, like systemd's RuntimeDirectory, when the
 * socket is in it; never a directory named by a mistyped --socket.
 */
static void
make_parent(const char *path)
{
	size_t n = strlen(NT_CTL_RUNTIME_DIR);

	if (strncmp(path, NT_CTL_RUNTIME_DIR "/", n + 1) != 0 ||
	    strchr(path + n + 1, '/') != NULL)
		return;
	if (mkdir(NT_CTL_RUNTIME_DIR, 0755) == 0)
		nt_log(NT_LOG_INFO, "created %s", NT_CTL_RUNTIME_DIR);
}

static int
bind_socket(struct nt_ctl *ctl, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat sb;
	mode_t old;
	int fd, r;

	strlcpy(sun.sun_path, ctl->path, sizeof sun.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return (-1);
	}
	old = umask(0117);	/* never a moment with looser permissions */
	r = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (r != 0 || listen(fd, NT_CTL_MAX_CONN) != 0 ||
	    stat(ctl->path, &sb) != 0) {
		snprintf(err, errlen, "%s: cannot listen: %s", ctl->path,
		    strerror(errno));
		close(fd);
		return (-1);
	}
	ctl->ino = sb.st_ino;
	if (ctl->gid != (gid_t)-1 && chown(ctl->path, (uid_t)-1, ctl->gid) != 0)
		nt_log(NT_LOG_WARNING, "%s: cannot give it to group %u: %s "
		    "(only root may connect)", ctl->path, (unsigned)ctl->gid,
		    strerror(errno));
	return (fd);
}

static gid_t
lookup_group(const char *name)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (name == NULL || name[0] == '\0')
		return ((gid_t)-1);
	if (getgrnam_r(name, &gr, buf, sizeof buf, &res) != 0 || res == NULL) {
		nt_log(NT_LOG_NOTICE, "control: group '%s' does not exist, "
		    "only root may use %s", name, "the control socket");
		return ((gid_t)-1);
	}
	return (gr.gr_gid);
}

struct nt_ctl *
nt_ctl_start(uv_loop_t *loop, const struct nt_ctl_params *p, char *err,
    size_t errlen)
{
	struct nt_ctl *ctl;
	int fd;

	if (strlen(p->path) >= sizeof ctl->path || p->path[0] == '\0') {
		snprintf(err, errlen, "control socket path '%s' is empty or "
		    "too long (max %zu bytes)", p->path, sizeof ctl->path - 1);
		return (NULL);
	}
	if ((ctl = calloc(1, sizeof *ctl)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	ctl->loop = loop;
	ctl->p = p;
	strlcpy(ctl->path, p->path, sizeof ctl->path);
	ctl->gid = lookup_group(p->group);
	make_parent(ctl->path);
	if (clear_stale(ctl->path, err, errlen) != 0 ||
	    (fd = bind_socket(ctl, err, errlen)) < 0) {
		free(ctl);
		return (NULL);
	}
	uv_pipe_init(loop, &ctl->listener, 0);
	ctl->listener.data = ctl;
	ctl->listener_open = true;
	if (uv_pipe_open(&ctl->listener, fd) != 0 ||
	    uv_listen((uv_stream_t *)&ctl->listener, NT_CTL_MAX_CONN,
	    on_connection) != 0) {
		snprintf(err, errlen, "%s: cannot poll the socket", ctl->path);
		nt_ctl_close(ctl);
		return (NULL);
	}
	nt_log(NT_LOG_INFO, "control socket %s", ctl->path);
	return (ctl);
}

static void
on_listener_closed(uv_handle_t *h)
{
	struct nt_ctl *ctl = h->data;

	ctl->listener_open = false;
	maybe_free_ctl(ctl);
}

void
nt_ctl_close(struct nt_ctl *ctl)
{
	struct stat sb;

	ctl->closing = true;
	/* Only our own file: a newer daemon may have replaced it. */
	if (stat(ctl->path, &sb) == 0 && sb.st_ino == ctl->ino)
		unlink(ctl->path);
	for (struct conn *c = ctl->conns; c != NULL; c = c->next)
		conn_close(c);
	uv_close((uv_handle_t *)&ctl->listener, on_listener_closed);
}

gid_t
nt_ctl_group(const struct nt_ctl *ctl)
{
	return (ctl->gid);
}

/* ---- The client ---- */

int
nt_ctl_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat sb;
	int fd, e;

	if (strlen(path) >= sizeof sun.sun_path) {
		snprintf(err, errlen, "%s: path too long", path);
		errno = ENAMETOOLONG;
		return (-1);
	}
	strlcpy(sun.sun_path, path, sizeof sun.sun_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return (-1);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
		return (fd);
	e = errno;
	if (e == ECONNREFUSED && stat(path, &sb) == 0 &&
	    !S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a socket (--socket names the "
		    "daemon's control socket, default %s)", path,
		    NT_CTL_DEFAULT_PATH);
		e = ENOTSOCK;
	} else if (e == ENOENT || e == ECONNREFUSED)
		snprintf(err, errlen, "%s: %s (is an ntimed daemon running? "
		    "--socket names another)", path, e == ENOENT ?
		    "no such socket" : "nobody is listening");
	else if (e == EACCES || e == EPERM)
		snprintf(err, errlen, "%s: permission denied (root and members "
		    "of group '%s' may connect)", path, NT_CTL_DEFAULT_GROUP);
	else
		snprintf(err, errlen, "%s: cannot connect: %s", path,
		    strerror(e));
	close(fd);
	errno = e;		/* ENOENT, ECONNREFUSED: no daemon (yet) */
	return (-1);
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
}

/* Wait for fd to be ready for events until deadline; -1 on timeout. */
static int
wait_fd(int fd, short events, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	double left;
	int r;

	do {
		left = deadline - mono_now();
		if (left <= 0)
			return (-1);
		r = poll(&pfd, 1, (int)(left * 1000) + 1);
	} while (r < 0 && errno == EINTR);
	return (r > 0 ? 0 : -1);
}

static int
send_all(int fd, const char *buf, size_t len, double deadline)
{
	ssize_t n;

	while (len > 0) {
		if (wait_fd(fd, POLLOUT, deadline) != 0)
			return (-ETIMEDOUT);
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return (-errno);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
	}
	return (0);
}

/* Read up to a newline; returns bytes before it or -errno. */
static ssize_t
recv_line(int fd, char *buf, size_t cap, double deadline)
{
	size_t len = 0;
	ssize_t n;
	char *nl;

	for (;;) {
		if ((nl = memchr(buf, '\n', len)) != NULL)
			return (nl - buf);
		if (len == cap)
			return (-EMSGSIZE);
		if (wait_fd(fd, POLLIN, deadline) != 0)
			return (-ETIMEDOUT);
		n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (n == 0)
			return (-ECONNRESET);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return (-errno);
		if (n > 0)
			len += (size_t)n;
	}
}

/* Why a call failed, in the words of what happened to the daemon. */
static void
call_error(int e, double timeout, char *err, size_t errlen)
{
	if (e == EPIPE || e == ECONNRESET)
		snprintf(err, errlen, "the daemon closed the connection "
		    "(stopped or restarting?)");
	else if (e == ETIMEDOUT)
		snprintf(err, errlen, "the daemon did not answer within %g s",
		    timeout);
	else
		snprintf(err, errlen, "control socket: %s", strerror(e));
}

int
nt_ctl_call(int fd, const char *req, double timeout, char **reply,
    char *err, size_t errlen)
{
	double deadline = mono_now() + timeout;
	size_t len = strlen(req);
	char *buf;
	ssize_t n;
	int r;

	*reply = NULL;
	if (len + 1 > NT_CTL_MAX_REQUEST || memchr(req, '\n', len) != NULL) {
		snprintf(err, errlen, "request too long or not one line");
		return (-1);
	}
	if ((buf = malloc(NT_CTL_MAX_REPLY + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	memcpy(buf, req, len);
	buf[len] = '\n';
	if ((r = send_all(fd, buf, len + 1, deadline)) != 0 ||
	    (n = recv_line(fd, buf, NT_CTL_MAX_REPLY, deadline)) < 0) {
		call_error(r != 0 ? -r : (int)-n, timeout, err, errlen);
		free(buf);
		return (-1);
	}
	buf[n] = '\0';
	*reply = buf;
	return (0);
}

static const char *
scalar(const struct nt_yconf_node *map, const char *key)
{
	const struct nt_yconf_node *n = nt_yconf_map_get(map, key);

	if (n == NULL || n->kind != NT_YCONF_SCALAR || nt_yconf_is_null(n))
		return (NULL);
	return (n->str);
}

struct nt_yconf_doc *
nt_ctl_parse_reply(const char *reply, const struct nt_yconf_node **result,
    const char **msg, char *code, size_t codelen, char *err, size_t errlen)
{
	struct nt_yconf_doc *doc;
	const struct nt_yconf_node *root;
	const char *ok, *e;

	*result = NULL;
	*msg = NULL;
	strlcpy(code, "malformed", codelen);
	doc = nt_yconf_parse("reply", reply, strlen(reply), err, errlen);
	if (doc == NULL)
		return (NULL);
	root = doc->root;
	if (root == NULL || root->kind != NT_YCONF_MAP ||
	    (ok = scalar(root, "ok")) == NULL) {
		snprintf(err, errlen, "malformed reply from the daemon");
		nt_yconf_doc_free(doc);
		return (NULL);
	}
	if (strcmp(ok, "true") != 0) {
		e = scalar(root, "error");
		snprintf(err, errlen, "%s", e != NULL ? e : "request failed");
		strlcpy(code, scalar(root, "code") != NULL ?
		    scalar(root, "code") : "failed", codelen);
		nt_yconf_doc_free(doc);
		return (NULL);
	}
	*result = nt_yconf_map_get(root, "result");
	*msg = scalar(root, "message");
	return (doc);
}
