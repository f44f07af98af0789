/*
 * The /metrics HTTP endpoint: a strict request checker, the response
 * builder, and a libuv TCP server that answers one request per
 * connection and hangs up.  Bounded everywhere: request bytes, headers,
 * connections, and the time a client may take to ask.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "hostport.h"
#include "log.h"
#include "metrics.h"
#include "net.h"

#define MAX_TARGET 2048
#define MAX_METHOD 16

/* ---- The request checker ---- */

/* RFC 9110 tchar. */
static bool
is_tchar(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL));
}

static size_t
token_len(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && is_tchar((unsigned char)s[n]))
		n++;
	return (n);
}

struct reqline {
	bool	get, head, metrics, http11;
};

/* "METHOD SP TARGET SP HTTP/1.x"; returns 0 or 400. */
static int
check_request_line(const char *s, size_t len, struct reqline *rl)
{
	size_t m = token_len(s, len), t;

	if (m == 0 || m > MAX_METHOD || m >= len || s[m] != ' ')
		return (400);
	rl->get = m == 3 && memcmp(s, "GET", 3) == 0;
	rl->head = m == 4 && memcmp(s, "HEAD", 4) == 0;
	s += m + 1;
	len -= m + 1;
	for (t = 0; t < len && s[t] > ' ' && s[t] < 0x7f; t++)
		;
	if (t == 0 || t > MAX_TARGET || s[0] != '/' || t >= len ||
	    s[t] != ' ')
		return (400);
	rl->metrics = (t == 8 || s[8] == '?') && memcmp(s, "/metrics", 8) == 0;
	s += t + 1;
	len -= t + 1;
	if (len != 8 || memcmp(s, "HTTP/1.", 7) != 0 ||
	    (s[7] != '0' && s[7] != '1'))
		return (400);
	rl->http11 = s[7] == '1';
	return (0);
}

static bool
name_is(const char *s, size_t n, const char *name)
{
	return (n == strlen(name) && strncasecmp(s, name, n) == 0);
}

/* "Name: value"; counts Host, refuses bodies.  Returns 0 or 400. */
static int
check_header(const char *s, size_t len, int *hosts)
{
	size_t n = token_len(s, len), v;

	if (n == 0 || n >= len || s[n] != ':')
		return (400);
	for (v = n + 1; v < len; v++) {
		unsigned char c = (unsigned char)s[v];

		if ((c < ' ' && c != '\t') || c == 0x7f)
			return (400);
	}
	for (v = n + 1; v < len && (s[v] == ' ' || s[v] == '\t'); v++)
		;
	if (name_is(s, n, "Host"))
		(*hosts)++;
	if (name_is(s, n, "Transfer-Encoding"))
		return (400);
	if (name_is(s, n, "Content-Length") &&
	    !(len - v >= 1 && strspn(s + v, "0") >= 1 &&
	    strspn(s + v, "0 \t") == len - v))
		return (400);
	return (0);
}

int
nt_http_check(const char *buf, size_t len, bool *head)
{
	struct reqline rl = { 0 };
	const char *line = buf, *end = buf + len, *crlf;
	int hosts = 0, n_headers = 0;

	*head = false;
	for (;;) {
		crlf = memmem(line, (size_t)(end - line), "\r\n", 2);
		if (crlf == NULL)
			break;
		if (memchr(line, '\r', (size_t)(crlf - line)) != NULL ||
		    memchr(line, '\n', (size_t)(crlf - line)) != NULL)
			return (400);	/* bare CR or LF */
		if (line == buf) {
			if (check_request_line(line, (size_t)(crlf - line),
			    &rl) != 0)
				return (400);
		} else if (crlf == line) {	/* end of headers */
			if (rl.http11 && hosts != 1)
				return (400);
			if (!rl.get && !rl.head)
				return (405);
			*head = rl.head;
			return (rl.metrics ? 200 : 404);
		} else if (++n_headers > NT_HTTP_MAX_HEADERS ||
		    check_header(line, (size_t)(crlf - line), &hosts) != 0)
			return (400);
		line = crlf + 2;
	}
	/* Nor may the incomplete rest hold a lone LF, CR (but last) or NUL. */
	if (memchr(line, '\n', (size_t)(end - line)) != NULL ||
	    memchr(line, '\0', (size_t)(end - line)) != NULL ||
	    (end - line > 1 && memchr(line, '\r', (size_t)(end - line - 1)) !=
	    NULL))
		return (400);
	return (len >= NT_HTTP_MAX_REQUEST ? 400 : 0);
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return ("OK");
	case 400: return ("Bad Request");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 503: return ("Service Unavailable");
	default: return ("Internal Server Error");
	}
}

int
nt_http_response(int status, bool head, const char *body, size_t body_len,
    char **out, size_t *out_len)
{
	char hdr[256];
	size_t send_body;
	int n;

	if (status != 200)
		body_len = 0;
	n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n", status, reason(status),
	    status == 200 ? NT_PROM_CONTENT_TYPE : "text/plain", body_len,
	    status == 405 ? "Allow: GET, HEAD\r\n" : "");
	assert(n > 0 && (size_t)n < sizeof hdr);
	send_body = head ? 0 : body_len;
	if ((*out = malloc((size_t)n + send_body)) == NULL)
		return (-ENOMEM);
	memcpy(*out, hdr, (size_t)n);
	if (send_body > 0)
		memcpy(*out + n, body, send_body);
	*out_len = (size_t)n + send_body;
	return (0);
}

/* ---- The server ---- */

struct hconn {
	struct nt_metrics *m;
	uv_tcp_t	tcp;
	uv_timer_t	timer;
	uv_write_t	wr;
	uv_shutdown_t	sd;
	char		in[NT_HTTP_MAX_REQUEST];
	size_t		len;
	char		*out;
	bool		answered;
	bool		closing;
	int		open_handles;
	struct hconn	*prev, *next;
};

struct nt_metrics {
	uv_loop_t	*loop;
	const struct nt_status *st;
	uv_tcp_t	listener;
	struct hconn	*conns;
	bool		closing;
	bool		listener_open;
};

static void
maybe_free(struct nt_metrics *m)
{
	if (m->closing && !m->listener_open && m->conns == NULL)
		free(m);
}

static void
on_closed(uv_handle_t *h)
{
	struct hconn *c = h->data;
	struct nt_metrics *m = c->m;

	if (--c->open_handles > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		m->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c->out);
	free(c);
	maybe_free(m);
}

static void
hconn_close(struct hconn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->timer, on_closed);
	uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void
on_timeout(uv_timer_t *t)
{
	hconn_close(t->data);
}

static void
on_shutdown(uv_shutdown_t *sd, int status)
{
	(void)status;
	hconn_close(sd->data);
}

static void
on_written(uv_write_t *wr, int status)
{
	struct hconn *c = wr->data;

	if (c->closing)
		return;
	c->sd.data = c;
	if (status < 0 || uv_shutdown(&c->sd, (uv_stream_t *)&c->tcp,
	    on_shutdown) != 0)
		hconn_close(c);
}

static void
answer(struct hconn *c, int status, bool head)
{
	struct nt_prom p;
	const char *body = NULL;
	size_t body_len = 0, len;
	uv_buf_t b;
	int r;

	c->answered = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	nt_prom_init(&p);
	if (status == 200) {
		nt_status_prom(c->m->st, &p);
		body = nt_prom_text(&p, &body_len);
		if (p.err != 0)
			status = 503;
	}
	r = nt_http_response(status, head, body, body_len, &c->out, &len);
	nt_prom_free(&p);
	if (r != 0) {
		hconn_close(c);
		return;
	}
	b = uv_buf_init(c->out, (unsigned)len);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
		hconn_close(c);
}

static void
on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	struct hconn *c = h->data;

	(void)size;
	*buf = uv_buf_init(c->in + c->len, (unsigned)(sizeof c->in - c->len));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct hconn *c = s->data;
	bool head;
	int status;

	(void)buf;
	if (c->answered || c->closing)
		return;
	if (n < 0) {
		/* The client stopped sending before a whole request. */
		if (c->len > 0 && n == UV_EOF)
			answer(c, 400, false);
		else
			hconn_close(c);
		return;
	}
	c->len += (size_t)n;
	if ((status = nt_http_check(c->in, c->len, &head)) != 0)
		answer(c, status, head);
}

/* Connections not being closed (a closed one counts until its callback). */
static int
open_conns(const struct nt_metrics *m)
{
	int n = 0;

	for (const struct hconn *c = m->conns; c != NULL; c = c->next)
		n += !c->closing;
	return (n);
}

/*
 * At the limit, the oldest connection that has not been answered makes
 * room: idle connections must not lock scrapes out until they time out.
 */
static void
make_room(struct nt_metrics *m)
{
	struct hconn *oldest = NULL;

	for (struct hconn *c = m->conns; c != NULL; c = c->next)
		if (!c->closing && !c->answered)
			oldest = c;	/* the list is newest first */
	if (oldest != NULL) {
		nt_log(NT_LOG_DEBUG, "metrics: %d connections open, closing "
		    "the oldest unanswered one", open_conns(m));
		hconn_close(oldest);
	}
}

static void
on_connection(uv_stream_t *s, int status)
{
	struct nt_metrics *m = s->data;
	struct hconn *c;

	if (status < 0 || (c = calloc(1, sizeof *c)) == NULL)
		return;
	if (open_conns(m) >= NT_METRICS_MAX_CONN)
		make_room(m);
	c->m = m;
	c->next = m->conns;
	if (c->next != NULL)
		c->next->prev = c;
	m->conns = c;
	uv_tcp_init(m->loop, &c->tcp);
	uv_timer_init(m->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->open_handles = 2;
	if (uv_accept(s, (uv_stream_t *)&c->tcp) != 0 ||
	    open_conns(m) > NT_METRICS_MAX_CONN) {
		nt_log(NT_LOG_DEBUG, "metrics: %d connections open, refusing "
		    "one more", open_conns(m) - 1);
		hconn_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_timeout, NT_METRICS_TIMEOUT * 1000, 0);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static int
parse_listen(const char *listen, struct nt_addr *a, char *err, size_t errlen)
{
	char host[NT_HOSTLEN], why[NT_CONF_ERRLEN];
	uint16_t port;

	if (nt_parse_hostport(listen, host, sizeof host, &port,
	    NT_METRICS_DEFAULT_PORT, why, sizeof why) != 0) {
		snprintf(err, errlen, "metrics listen address '%s': %s",
		    listen, why);
		return (-1);
	}
	if (nt_addr_parse(a, host, port) != 0) {
		snprintf(err, errlen, "metrics listen address '%s': not a "
		    "numeric address (ADDRESS:PORT)", listen);
		return (-1);
	}
	return (0);
}

static void
on_listener_closed(uv_handle_t *h)
{
	struct nt_metrics *m = h->data;

	m->listener_open = false;
	maybe_free(m);
}

struct nt_metrics *
nt_metrics_start(uv_loop_t *loop, const char *listen,
    const struct nt_status *st, char *err, size_t errlen)
{
	struct nt_metrics *m;
	struct nt_addr a;
	char abuf[NT_ADDRSTRLEN];
	int r;

	if (parse_listen(listen, &a, err, errlen) != 0)
		return (NULL);
	if ((m = calloc(1, sizeof *m)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	m->loop = loop;
	m->st = st;
	uv_tcp_init(loop, &m->listener);
	m->listener.data = m;
	m->listener_open = true;
	nt_addr_format(&a, abuf, sizeof abuf);
	if ((r = uv_tcp_bind(&m->listener, (struct sockaddr *)&a.ss,
	    nt_addr_family(&a) == AF_INET6 ? UV_TCP_IPV6ONLY : 0)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&m->listener, NT_METRICS_MAX_CONN,
	    on_connection)) != 0) {
		snprintf(err, errlen, "metrics: cannot listen on %s: %s", abuf,
		    uv_strerror(r));
		nt_metrics_close(m);
		return (NULL);
	}
	nt_log(NT_LOG_INFO, "metrics on http://%s/metrics", abuf);
	return (m);
}

void
nt_metrics_close(struct nt_metrics *m)
{
	m->closing = true;
	for (struct hconn *c = m->conns; c != NULL; c = c->next)
		hconn_close(c);
	uv_close((uv_handle_t *)&m->listener, on_listener_closed);
}
