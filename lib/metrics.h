/*
 * The Prometheus endpoint: a deliberately tiny HTTP/1.x server that
 * answers "GET /metrics" (and HEAD) with the views of lib/status.h in the
 * text exposition format, and everything else with a bare status line.
 *
 * Why not a library: the only HTTP server library in Debian that fits
 * (libmicrohttpd) wants its own threads or its own select loop, and our
 * state lives on one libuv loop.  A GET-only server that closes after
 * every answer is a page of code: the request parser, nt_http_check(),
 * is a pure function of the bytes received, strict (CRLF only, no bodies,
 * no folding, one Host for HTTP/1.1) and bounded, so that it can be
 * fuzzed and every request either gets a definite answer or a 400.
 */
#ifndef NTIMED_METRICS_H
#define NTIMED_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "status.h"

#define NT_METRICS_DEFAULT_LISTEN "127.0.0.1:9975"
#define NT_METRICS_DEFAULT_PORT	9975
#define NT_HTTP_MAX_REQUEST	8192	/* request line and headers, bytes */
#define NT_HTTP_MAX_HEADERS	64
#define NT_METRICS_MAX_CONN	16
#define NT_METRICS_TIMEOUT	5.0	/* s for a client to send its request */

/*
 * Look at the first len bytes of a connection.  Returns 0 while the
 * request is incomplete and may still become valid, else the status to
 * answer: 200 (GET or HEAD /metrics; *head set for HEAD), 400 (malformed,
 * or no end of headers within NT_HTTP_MAX_REQUEST bytes), 404 (another
 * path), 405 (another method).  Bytes after the headers are ignored.
 */
int nt_http_check(const char *buf, size_t len, bool *head);

/*
 * The complete response for status (body only for 200, omitted for a
 * HEAD), malloc'ed into *out.  Returns 0 or -ENOMEM.
 */
int nt_http_response(int status, bool head, const char *body,
    size_t body_len, char **out, size_t *out_len);

struct nt_metrics;

/*
 * Serve st on listen ("ADDRESS:PORT", "[V6]:PORT"; numeric) on loop.
 * Returns NULL with a one-line reason in err.  st must outlive it.
 */
struct nt_metrics *nt_metrics_start(uv_loop_t *loop, const char *listen,
    const struct nt_status *st, char *err, size_t errlen);
/* Close the listener and every connection; frees itself. */
void nt_metrics_close(struct nt_metrics *m);

#endif
