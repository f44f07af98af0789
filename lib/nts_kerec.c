/*
 * NTS-KE records (RFC 8915 section 4): what a client asks for and what it
 * makes of the answer.  The TLS stream is untrusted until the whole
 * response checks out here, so every record's length is bounds-checked
 * before its body is read, and anything we do not understand that the
 * server marked critical ends the exchange with a reason.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "nts.h"

#define REC_HDR_LEN 4
#define REC_CRITICAL 0x8000

enum rec_type {
	REC_END = 0,
	REC_NEXT_PROTO = 1,
	REC_ERROR = 2,
	REC_WARNING = 3,
	REC_AEAD = 4,
	REC_COOKIE = 5,
	REC_SERVER = 6,
	REC_PORT = 7,
};

static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)((unsigned)p[0] << 8 | p[1]));
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t
put_record(uint8_t *p, unsigned type, uint16_t body)
{
	put16(p, type | REC_CRITICAL);
	put16(p + 2, 2);
	put16(p + 4, body);
	return (REC_HDR_LEN + 2);
}

size_t
nts_ke_build_request(uint8_t *buf, size_t cap)
{
	size_t n = 0;

	assert(buf != NULL);
	if (cap < 3 * REC_HDR_LEN + 4)
		return (0);
	n += put_record(buf + n, REC_NEXT_PROTO, NTS_PROTO_NTPV4);
	n += put_record(buf + n, REC_AEAD, NTS_AEAD_ID);
	put16(buf + n, REC_END | REC_CRITICAL);
	put16(buf + n + 2, 0);
	return (n + REC_HDR_LEN);
}

/* What the records seen so far said; checked once End of Message came. */
struct ke_state {
	struct nts_ke_reply *r;
	bool	proto_seen, proto_ok, aead_seen, error, warning;
};

/* A list of 16-bit ids (next protocol, AEAD) that must be exactly want. */
static enum nts_ke_err
one_id(const uint8_t *body, uint16_t len, bool *seen, bool *ok,
    uint16_t want)
{
	if (len % 2 != 0)
		return (NTS_KE_BAD_RECORD);
	if (*seen)
		return (NTS_KE_DUPLICATE);
	*seen = true;
	*ok = len == 2 && get16(body) == want;
	return (NTS_KE_OK);
}

static enum nts_ke_err
take_cookie(struct nts_ke_reply *r, const uint8_t *body, uint16_t len)
{
	if (len == 0 || len > NTS_COOKIE_MAX_LEN)
		return (NTS_KE_BAD_COOKIE);
	if (r->n_cookies == NTS_COOKIE_MAX)
		return (NTS_KE_OK);
	r->cookies[r->n_cookies].len = len;
	memcpy(r->cookies[r->n_cookies].data, body, len);
	r->n_cookies++;
	return (NTS_KE_OK);
}

/* A host name or address: printable ASCII without spaces. */
static bool
server_name(const uint8_t *p, size_t len)
{
	if (len == 0 || len > NTS_SERVER_MAX_LEN)
		return (false);
	for (size_t i = 0; i < len; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return (false);
	return (true);
}

bool
nts_server_name_ok(const char *name)
{
	return (name[0] == '\0' ||
	    server_name((const uint8_t *)name, strlen(name)));
}

static enum nts_ke_err
take_server(struct nts_ke_reply *r, const uint8_t *body, uint16_t len)
{
	if (r->server[0] != '\0')
		return (NTS_KE_DUPLICATE);
	if (!server_name(body, len))
		return (NTS_KE_BAD_SERVER);
	memcpy(r->server, body, len);
	r->server[len] = '\0';
	return (NTS_KE_OK);
}

static enum nts_ke_err
take_port(struct nts_ke_reply *r, const uint8_t *body, uint16_t len)
{
	if (len != 2)
		return (NTS_KE_BAD_RECORD);
	if (r->port != 0)
		return (NTS_KE_DUPLICATE);
	r->port = get16(body);
	return (r->port == 0 ? NTS_KE_BAD_SERVER : NTS_KE_OK);
}

/* An Error or Warning record: a 16-bit code; the first one is kept. */
static enum nts_ke_err
take_code(struct ke_state *s, bool *flag, const uint8_t *body, uint16_t len)
{
	if (len != 2)
		return (NTS_KE_BAD_RECORD);
	if (!s->error && !s->warning)
		s->r->code = get16(body);
	*flag = true;
	return (NTS_KE_OK);
}

static enum nts_ke_err
take_record(struct ke_state *s, unsigned type, bool critical,
    const uint8_t *body, uint16_t len)
{
	bool aead_ok = false;
	enum nts_ke_err e;

	switch (type) {
	case REC_NEXT_PROTO:
		return (one_id(body, len, &s->proto_seen, &s->proto_ok,
		    NTS_PROTO_NTPV4));
	case REC_AEAD:
		e = one_id(body, len, &s->aead_seen, &aead_ok, NTS_AEAD_ID);
		if (e == NTS_KE_OK && len >= 2)
			s->r->aead = get16(body);
		return (e);
	case REC_ERROR:
		return (take_code(s, &s->error, body, len));
	case REC_WARNING:
		return (take_code(s, &s->warning, body, len));
	case REC_COOKIE:
		return (take_cookie(s->r, body, len));
	case REC_SERVER:
		return (take_server(s->r, body, len));
	case REC_PORT:
		return (take_port(s->r, body, len));
	default:
		return (critical ? NTS_KE_UNKNOWN_CRITICAL : NTS_KE_OK);
	}
}

/* After End of Message: errors first, then what a client needs. */
static enum nts_ke_err
judge(const struct ke_state *s)
{
	const struct nts_ke_reply *r = s->r;

	if (s->error)
		return (NTS_KE_SERVER_ERROR);
	if (s->warning)
		return (NTS_KE_WARNING);
	if (!s->proto_ok)
		return (NTS_KE_NO_PROTOCOL);
	if (!s->aead_seen || r->aead != NTS_AEAD_ID)
		return (NTS_KE_NO_AEAD);
	if (r->n_cookies == 0)
		return (NTS_KE_NO_COOKIE);
	return (NTS_KE_OK);
}

/*
 * Walk the records of buf[0..len): take() sees each one before End of
 * Message, end() judges what they said.  Both sides use this loop.
 */
typedef enum nts_ke_err take_fn(void *ctx, unsigned type, bool critical,
    const uint8_t *body, uint16_t len);
typedef enum nts_ke_err end_fn(void *ctx);

static enum nts_ke_err
walk_records(const uint8_t *buf, size_t len, size_t max, take_fn *take,
    end_fn *end, void *ctx)
{
	enum nts_ke_err e;
	size_t off = 0;
	uint16_t hdr, blen;

	while (len - off >= REC_HDR_LEN) {
		hdr = get16(buf + off);
		blen = get16(buf + off + 2);
		if (len - off - REC_HDR_LEN < blen)
			break;
		off += REC_HDR_LEN;
		if ((hdr & ~REC_CRITICAL) == REC_END) {
			if (blen != 0)
				return (NTS_KE_BAD_RECORD);
			return (off != len ? NTS_KE_AFTER_END : end(ctx));
		}
		e = take(ctx, hdr & ~REC_CRITICAL, (hdr & REC_CRITICAL) != 0,
		    buf + off, blen);
		if (e != NTS_KE_OK)
			return (e);
		off += blen;
	}
	return (len >= max ? NTS_KE_TOO_LONG : NTS_KE_INCOMPLETE);
}

static enum nts_ke_err
take_response(void *ctx, unsigned type, bool critical, const uint8_t *body,
    uint16_t len)
{
	return (take_record(ctx, type, critical, body, len));
}

static enum nts_ke_err
judge_response(void *ctx)
{
	return (judge(ctx));
}

enum nts_ke_err
nts_ke_parse_response(const uint8_t *buf, size_t len, struct nts_ke_reply *r)
{
	struct ke_state s;

	assert(r != NULL && (buf != NULL || len == 0));
	memset(r, 0, sizeof *r);
	memset(&s, 0, sizeof s);
	s.r = r;
	return (walk_records(buf, len, NTS_KE_MAX_RESPONSE, take_response,
	    judge_response, &s));
}

/* ---- the server's side ---- */

/* What a client's request asked for. */
struct req_state {
	bool	proto_seen, proto_ok, aead_seen, aead_ok;
};

/* A list of 16-bit ids that must contain want. */
static enum nts_ke_err
offers(const uint8_t *body, uint16_t len, bool *seen, bool *ok, uint16_t want)
{
	if (len % 2 != 0)
		return (NTS_KE_BAD_RECORD);
	if (*seen)
		return (NTS_KE_DUPLICATE);
	*seen = true;
	for (uint16_t i = 0; i < len; i += 2)
		if (get16(body + i) == want)
			*ok = true;
	return (NTS_KE_OK);
}

static enum nts_ke_err
take_request(void *ctx, unsigned type, bool critical, const uint8_t *body,
    uint16_t len)
{
	struct req_state *s = ctx;

	switch (type) {
	case REC_NEXT_PROTO:
		return (offers(body, len, &s->proto_seen, &s->proto_ok,
		    NTS_PROTO_NTPV4));
	case REC_AEAD:
		return (offers(body, len, &s->aead_seen, &s->aead_ok,
		    NTS_AEAD_ID));
	case REC_ERROR:
	case REC_WARNING:
	case REC_COOKIE:
		/* Only a server sends these (RFC 8915 section 4.1). */
		return (NTS_KE_BAD_RECORD);
	case REC_SERVER:
	case REC_PORT:
		return (NTS_KE_OK);	/* a preference we may ignore */
	default:
		return (critical ? NTS_KE_UNKNOWN_CRITICAL : NTS_KE_OK);
	}
}

static enum nts_ke_err
judge_request(void *ctx)
{
	const struct req_state *s = ctx;

	if (!s->proto_seen)
		return (NTS_KE_BAD_RECORD);
	if (!s->proto_ok)
		return (NTS_KE_NO_PROTOCOL);
	if (!s->aead_seen)
		return (NTS_KE_BAD_RECORD);
	return (s->aead_ok ? NTS_KE_OK : NTS_KE_NO_AEAD);
}

enum nts_ke_err
nts_ke_parse_request(const uint8_t *buf, size_t len)
{
	struct req_state s;

	assert(buf != NULL || len == 0);
	memset(&s, 0, sizeof s);
	return (walk_records(buf, len, NTS_KE_MAX_REQUEST, take_request,
	    judge_request, &s));
}

/* A record of type with body (n bytes); 0 if it does not fit. */
static size_t
put_any(uint8_t *p, size_t cap, unsigned type, const uint8_t *body, size_t n)
{
	if (cap < REC_HDR_LEN + n)
		return (0);
	put16(p, type);
	put16(p + 2, (unsigned)n);
	if (n > 0)
		memcpy(p + REC_HDR_LEN, body, n);
	return (REC_HDR_LEN + n);
}

size_t
nts_ke_build_response(enum nts_ke_err verdict, const struct nts_cookie *c,
    int n_cookies, const char *server, uint16_t port, uint8_t *buf,
    size_t cap)
{
	uint8_t proto[2] = { 0, NTS_PROTO_NTPV4 }, aead[2] = {
	    NTS_AEAD_ID >> 8, NTS_AEAD_ID & 0xff }, code[2] = { 0, 1 }, pb[2];
	size_t n = 0, f = 1;

	assert(buf != NULL && n_cookies >= 0 && (c != NULL || !n_cookies));
	assert(server == NULL || nts_server_name_ok(server));
	if (verdict == NTS_KE_OK || verdict == NTS_KE_NO_AEAD ||
	    verdict == NTS_KE_NO_PROTOCOL)
		/* No protocol or AEAD in common: an empty list says so. */
		f = put_any(buf, cap, REC_NEXT_PROTO | REC_CRITICAL, proto,
		    verdict == NTS_KE_NO_PROTOCOL ? 0 : 2);
	else {
		code[1] = verdict == NTS_KE_UNKNOWN_CRITICAL ? 0 :
		    verdict == NTS_KE_SERVER_ERROR ? 2 : 1;
		f = put_any(buf, cap, REC_ERROR | REC_CRITICAL, code, 2);
	}
	n += f;
	if (f != 0 && (verdict == NTS_KE_OK || verdict == NTS_KE_NO_AEAD))
		n += (f = put_any(buf + n, cap - n, REC_AEAD | REC_CRITICAL,
		    aead, verdict == NTS_KE_OK ? 2 : 0));
	for (int i = 0; f != 0 && verdict == NTS_KE_OK && i < n_cookies; i++)
		n += (f = put_any(buf + n, cap - n, REC_COOKIE, c[i].data,
		    c[i].len));
	if (f != 0 && verdict == NTS_KE_OK && server != NULL &&
	    server[0] != '\0')
		n += (f = put_any(buf + n, cap - n, REC_SERVER | REC_CRITICAL,
		    (const uint8_t *)server, strlen(server)));
	if (f != 0 && verdict == NTS_KE_OK && port != 0 && port != 123) {
		put16(pb, port);
		n += (f = put_any(buf + n, cap - n, REC_PORT | REC_CRITICAL,
		    pb, 2));
	}
	if (f != 0)
		f = put_any(buf + n, cap - n, REC_END | REC_CRITICAL, NULL, 0);
	return (f == 0 ? 0 : n + f);
}

static const char *
code_name(uint16_t code, bool error)
{
	static const char *const errors[] = { "unrecognized critical record",
	    "bad request", "internal server error" };

	if (error && code < sizeof errors / sizeof errors[0])
		return (errors[code]);
	return ("unknown code");
}

const char *
nts_ke_describe(enum nts_ke_err e, const struct nts_ke_reply *r, char *buf,
    size_t len)
{
	static const char *const text[] = {
		[NTS_KE_OK] = "ok",
		[NTS_KE_INCOMPLETE] = "response ended before End of Message",
		[NTS_KE_BAD_RECORD] = "malformed record (wrong body length)",
		[NTS_KE_UNKNOWN_CRITICAL] = "unknown critical record",
		[NTS_KE_SERVER_ERROR] = "",
		[NTS_KE_WARNING] = "",
		[NTS_KE_DUPLICATE] = "record repeated",
		[NTS_KE_NO_PROTOCOL] = "server does not offer NTPv4",
		[NTS_KE_NO_AEAD] = "server did not choose AEAD_AES_SIV_CMAC_256",
		[NTS_KE_NO_COOKIE] = "server sent no cookie",
		[NTS_KE_BAD_COOKIE] = "cookie empty or longer than 256 bytes",
		[NTS_KE_BAD_SERVER] = "bad NTPv4 server or port record",
		[NTS_KE_AFTER_END] = "data after End of Message",
		[NTS_KE_TOO_LONG] = "response too long (no End of Message)",
	};

	assert(buf != NULL && len > 0);
	if ((e == NTS_KE_SERVER_ERROR || e == NTS_KE_WARNING) && r != NULL)
		snprintf(buf, len, "server sent %s %u (%s)",
		    e == NTS_KE_SERVER_ERROR ? "error" : "warning", r->code,
		    code_name(r->code, e == NTS_KE_SERVER_ERROR));
	else if ((unsigned)e < sizeof text / sizeof text[0] && text[e][0])
		snprintf(buf, len, "%s", text[e]);
	else
		snprintf(buf, len, "NTS-KE error %d", (int)e);
	return (buf);
}
