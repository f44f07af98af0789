/*
 * The JSON writer.  Output goes through one function, emit(), so a FILE
 * and a growing buffer behave the same and the first error sticks.  The
 * string escaper is also a UTF-8 validator: anything a packet or a config
 * file hands us comes out as valid JSON text.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static void
init(struct nt_json *j, FILE *f, bool pretty)
{
	memset(j, 0, sizeof *j);
	j->f = f;
	j->pretty = pretty;
}

void
nt_json_init_file(struct nt_json *j, FILE *f, bool pretty)
{
	assert(f != NULL);
	init(j, f, pretty);
}

void
nt_json_init_buf(struct nt_json *j, bool pretty)
{
	init(j, NULL, pretty);
}

static int
grow(struct nt_json *j, size_t need)
{
	size_t cap = j->cap == 0 ? 256 : j->cap;
	char *p;

	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return (-ENOMEM);
		cap *= 2;
	}
	if ((p = realloc(j->buf, cap)) == NULL)
		return (-ENOMEM);
	j->buf = p;
	j->cap = cap;
	return (0);
}

static void
emit(struct nt_json *j, const char *s, size_t n)
{
	if (j->err != 0 || n == 0)
		return;
	if (j->f != NULL) {
		errno = 0;
		if (fwrite(s, 1, n, j->f) != n)
			j->err = errno != 0 ? -errno : -EIO;
		return;
	}
	if (j->len + n + 1 > j->cap && (j->err = grow(j, j->len + n + 1)) != 0)
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void
emits(struct nt_json *j, const char *s)
{
	emit(j, s, strlen(s));
}

static void
newline(struct nt_json *j, int depth)
{
	emit(j, "\n", 1);
	for (int i = 0; i < depth; i++)
		emit(j, "  ", 2);
}

/* Commas and indentation before a value or a key. */
static void
before_value(struct nt_json *j)
{
	if (j->depth == 0) {
		assert(!j->done && "only one top-level JSON value");
		return;
	}
	if (j->kind[j->depth - 1] == '{') {
		assert(j->have_key && "JSON value in an object needs a key");
		j->have_key = false;
		return;
	}
	if (!j->empty[j->depth - 1])
		emit(j, ",", 1);
	j->empty[j->depth - 1] = false;
	if (j->pretty)
		newline(j, j->depth);
}

static void
after_value(struct nt_json *j)
{
	if (j->depth == 0)
		j->done = true;
}

static void
begin(struct nt_json *j, char kind)
{
	before_value(j);
	assert(j->depth < NT_JSON_MAXDEPTH && "JSON nested too deep");
	emit(j, &kind, 1);
	j->kind[j->depth] = kind;
	j->empty[j->depth] = true;
	j->depth++;
}

static void
end(struct nt_json *j, char kind)
{
	char close = kind == '{' ? '}' : ']';

	assert(j->depth > 0 && j->kind[j->depth - 1] == kind &&
	    "unbalanced JSON end");
	assert(!j->have_key && "JSON key without a value");
	j->depth--;
	if (j->pretty && !j->empty[j->depth])
		newline(j, j->depth);
	emit(j, &close, 1);
	after_value(j);
}

void
nt_json_begin_object(struct nt_json *j)
{
	begin(j, '{');
}

void
nt_json_end_object(struct nt_json *j)
{
	end(j, '{');
}

void
nt_json_begin_array(struct nt_json *j)
{
	begin(j, '[');
}

void
nt_json_end_array(struct nt_json *j)
{
	end(j, '[');
}

int
nt_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	int need, i;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;		/* overlong */
		if (s[0] == 0xed)
			hi = 0x9f;		/* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		if (s[0] == 0xf0)
			lo = 0x90;		/* overlong */
		if (s[0] == 0xf4)
			hi = 0x8f;		/* above U+10FFFF */
	} else
		return (-1);
	for (i = 1; i < need; i++) {
		if ((size_t)i >= n || s[i] < lo || s[i] > hi)
			return (-i);
		lo = 0x80;
		hi = 0xbf;
	}
	return (need);
}

/*
 * Valid characters that JSON allows raw but YAML (which our own control
 * client parses replies with) does not: DEL, the C1 controls and
 * U+FFFE/U+FFFF.  Returns the code point to escape, or 0.
 */
static unsigned
yaml_unsafe(const unsigned char *s, int k)
{
	if (k == 1 && s[0] == 0x7f)
		return (0x7f);
	if (k == 2 && s[0] == 0xc2 && s[1] <= 0x9f)
		return (s[1]);
	if (k == 3 && s[0] == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
		return (0xffc0u | (s[2] & 0x3fu));
	return (0);
}

static void
emit_escaped(struct nt_json *j, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[8];
	size_t i = 0, run = 0;
	unsigned cp;
	int k;

	emit(j, "\"", 1);
	while (i < n) {
		k = (s[i] >= 0x20 && s[i] != '"' && s[i] != '\\') ?
		    nt_utf8_seq(s + i, n - i) : 0;
		if (k > 0 && (cp = yaml_unsafe(s + i, k)) != 0) {
			emit(j, (const char *)s + i - run, run);
			run = 0;
			snprintf(esc, sizeof esc, "\\u%04x", cp);
			emits(j, esc);
			i += (size_t)k;
			continue;
		}
		if (k > 0) {		/* copy runs of plain text at once */
			i += (size_t)k;
			run += (size_t)k;
			continue;
		}
		emit(j, (const char *)s + i - run, run);
		run = 0;
		if (k < 0) {
			emits(j, "\xef\xbf\xbd");	/* U+FFFD */
			i += (size_t)-k;
			continue;
		}
		switch (s[i]) {
		case '"': emits(j, "\\\""); break;
		case '\\': emits(j, "\\\\"); break;
		case '\b': emits(j, "\\b"); break;
		case '\f': emits(j, "\\f"); break;
		case '\n': emits(j, "\\n"); break;
		case '\r': emits(j, "\\r"); break;
		case '\t': emits(j, "\\t"); break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", s[i]);
			emits(j, esc);
		}
		i++;
	}
	emit(j, (const char *)s + i - run, run);
	emit(j, "\"", 1);
}

void
nt_json_key(struct nt_json *j, const char *key)
{
	assert(j->depth > 0 && j->kind[j->depth - 1] == '{' &&
	    "JSON key outside an object");
	assert(!j->have_key && "two JSON keys in a row");
	if (!j->empty[j->depth - 1])
		emit(j, ",", 1);
	j->empty[j->depth - 1] = false;
	if (j->pretty)
		newline(j, j->depth);
	emit_escaped(j, key, strlen(key));
	emits(j, j->pretty ? ": " : ":");
	j->have_key = true;
}

void
nt_json_string_n(struct nt_json *j, const char *s, size_t n)
{
	before_value(j);
	emit_escaped(j, s, n);
	after_value(j);
}

void
nt_json_string(struct nt_json *j, const char *s)
{
	if (s == NULL)
		nt_json_null(j);
	else
		nt_json_string_n(j, s, strlen(s));
}

static void
raw_value(struct nt_json *j, const char *text)
{
	before_value(j);
	emits(j, text);
	after_value(j);
}

void
nt_json_number(struct nt_json *j, double v)
{
	char buf[32];

	if (!isfinite(v)) {
		nt_json_null(j);
		return;
	}
	snprintf(buf, sizeof buf, "%.9g", v);
	raw_value(j, buf);
}

void
nt_json_int(struct nt_json *j, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%" PRId64, v);
	raw_value(j, buf);
}

void
nt_json_decimal(struct nt_json *j, int64_t v, int decimals)
{
	uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v, scale = 1;
	char buf[48];
	int len;

	assert(decimals >= 0 && decimals <= 18);
	for (int i = 0; i < decimals; i++)
		scale *= 10;
	len = snprintf(buf, sizeof buf, "%s%" PRIu64 ".%0*" PRIu64,
	    v < 0 ? "-" : "", mag / scale, decimals, mag % scale);
	/* Drop trailing zeros, and the point if nothing is left after it. */
	while (buf[len - 1] == '0' && strchr(buf, '.') != NULL)
		buf[--len] = '\0';
	if (buf[len - 1] == '.')
		buf[--len] = '\0';
	raw_value(j, buf);
}

void
nt_json_bool(struct nt_json *j, bool v)
{
	raw_value(j, v ? "true" : "false");
}

void
nt_json_null(struct nt_json *j)
{
	raw_value(j, "null");
}

int
nt_json_finish(struct nt_json *j)
{
	assert(j->depth == 0 && j->done && "incomplete JSON document");
	if (j->f != NULL && j->err == 0 && fflush(j->f) != 0)
		j->err = -errno;
	return (j->err);
}

const char *
nt_json_text(const struct nt_json *j, size_t *len)
{
	if (len != NULL)
		*len = j->len;
	return (j->buf != NULL ? j->buf : "");
}

void
nt_json_free(struct nt_json *j)
{
	free(j->buf);
	j->buf = NULL;
	j->len = j->cap = 0;
}
