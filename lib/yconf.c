/*
 * Schema-driven YAML reading (see yconf.h).  Configuration files are
 * written by hand and read by a daemon running as root, so the reader is
 * strict and boring on purpose: libyaml's event API feeds a small tree we
 * own, with hard limits on size, depth and node count, no anchors or
 * aliases (no billion laughs), no tags, one document.  The schema walker
 * then turns every mistake into exactly one line naming file, line and
 * column, and stops there.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "hostport.h"
#include "yconf.h"

#define DESCRIBE_MAX	40	/* bytes of a value quoted in a message */
#define MSGLEN		512

/* ---- Parsing into a tree ---- */

struct builder {
	struct nt_yconf_doc	*doc;
	struct nt_yconf_node	*stack[NT_YCONF_MAX_DEPTH];
	int			depth;
	int			n_docs;
	const char		*buf;
	size_t			len;
	char			*err;
	size_t			errlen;
};

/*
 * "NAME:LINE:COL: MSG" into err as one printable line, whatever the
 * file's name or values hold (control characters shown as \xNN).
 */
static void
set_error(char *err, size_t errlen, const char *name, int line, int col,
    const char *msg)
{
	char full[MSGLEN + 4096 + 32];

	snprintf(full, sizeof full, "%s:%d:%d: %s", name, line, col, msg);
	nt_printable(full, err, errlen);
}

static int
build_error(struct builder *b, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
build_error(struct builder *b, int line, int col, const char *fmt, ...)
{
	char msg[MSGLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	set_error(b->err, b->errlen, b->doc->name, line, col, msg);
	return (-1);
}

static int
mark_error(struct builder *b, const yaml_mark_t *m, const char *msg)
{
	return (build_error(b, (int)m->line + 1, (int)m->column + 1, "%s",
	    msg));
}

/* Line and column (in characters) of a byte offset, for reader errors. */
static void
offset_position(const char *buf, size_t len, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if (ch == '\n' || (ch == '\r' && (i + 1 >= len ||
		    buf[i + 1] != '\n'))) {
			(*line)++;
			*col = 1;
		} else if (ch != '\r' && (ch & 0xc0) != 0x80)
			(*col)++;
	}
}

static int
syntax_error(struct builder *b, const yaml_parser_t *p)
{
	int line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		snprintf(b->err, b->errlen, "%s: out of memory", b->doc->name);
		return (-1);
	case YAML_READER_ERROR:
		offset_position(b->buf, b->len, p->problem_offset, &line, &col);
		return (build_error(b, line, col, "YAML syntax error: %s",
		    p->problem != NULL ? p->problem : "unreadable input"));
	default:
		break;
	}
	line = (int)p->problem_mark.line + 1;
	col = (int)p->problem_mark.column + 1;
	if (p->context != NULL)
		return (build_error(b, line, col,
		    "YAML syntax error: %s (%s at line %d)",
		    p->problem != NULL ? p->problem : "malformed",
		    p->context, (int)p->context_mark.line + 1));
	return (build_error(b, line, col, "YAML syntax error: %s",
	    p->problem != NULL ? p->problem : "malformed"));
}

static void
attach(struct builder *b, struct nt_yconf_node *n)
{
	struct nt_yconf_node *parent;

	if (b->depth == 0) {
		assert(b->doc->root == NULL);
		b->doc->root = n;
		return;
	}
	parent = b->stack[b->depth - 1];
	if (parent->last == NULL)
		parent->first = n;
	else
		parent->last->next = n;
	parent->last = n;
	parent->n++;
}

static int
new_node(struct builder *b, enum nt_yconf_kind kind, const yaml_mark_t *m,
    struct nt_yconf_node **np)
{
	struct nt_yconf_node *n, *parent;

	*np = NULL;
	if (b->doc->n_nodes >= NT_YCONF_MAX_NODES)
		return (build_error(b, (int)m->line + 1, (int)m->column + 1,
		    "too many YAML nodes (max %d)", NT_YCONF_MAX_NODES));
	if (b->depth > 0) {
		parent = b->stack[b->depth - 1];
		assert(parent != NULL);
		if (parent->kind == NT_YCONF_MAP && parent->n % 2 == 0 &&
		    kind != NT_YCONF_SCALAR)
			return (mark_error(b, m,
			    "mapping keys must be strings"));
	}
	n = calloc(1, sizeof *n);
	if (n == NULL)
		return (mark_error(b, m, "out of memory"));
	n->kind = kind;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	n->all = b->doc->nodes;
	b->doc->nodes = n;
	b->doc->n_nodes++;
	attach(b, n);
	*np = n;
	return (0);
}

static int
check_props(struct builder *b, const yaml_event_t *ev,
    const yaml_char_t *anchor, const yaml_char_t *tag)
{
	if (anchor != NULL)
		return (mark_error(b, &ev->start_mark,
		    "anchors and aliases are not supported"));
	if (tag != NULL)
		return (mark_error(b, &ev->start_mark,
		    "tags are not supported"));
	return (0);
}

static int
on_scalar(struct builder *b, const yaml_event_t *ev)
{
	struct nt_yconf_node *n;

	if (check_props(b, ev, ev->data.scalar.anchor, ev->data.scalar.tag))
		return (-1);
	if (new_node(b, NT_YCONF_SCALAR, &ev->start_mark, &n))
		return (-1);
	assert(n != NULL);
	n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	n->len = ev->data.scalar.length;
	n->str = malloc(n->len + 1);
	if (n->str == NULL)
		return (mark_error(b, &ev->start_mark, "out of memory"));
	memcpy(n->str, ev->data.scalar.value, n->len);
	n->str[n->len] = '\0';
	return (0);
}

static int
on_start(struct builder *b, const yaml_event_t *ev, enum nt_yconf_kind kind,
    const yaml_char_t *anchor, const yaml_char_t *tag)
{
	struct nt_yconf_node *n;

	if (check_props(b, ev, anchor, tag))
		return (-1);
	if (b->depth >= NT_YCONF_MAX_DEPTH)
		return (build_error(b, (int)ev->start_mark.line + 1,
		    (int)ev->start_mark.column + 1,
		    "nesting too deep (max %d levels)", NT_YCONF_MAX_DEPTH));
	if (new_node(b, kind, &ev->start_mark, &n))
		return (-1);
	assert(n != NULL);
	b->stack[b->depth++] = n;
	return (0);
}

static int
on_event(struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_NO_EVENT:
		return (0);
	case YAML_DOCUMENT_START_EVENT:
		if (b->n_docs++ > 0)
			return (mark_error(b, &ev->start_mark,
			    "multiple YAML documents are not supported"));
		return (0);
	case YAML_ALIAS_EVENT:
		return (mark_error(b, &ev->start_mark,
		    "anchors and aliases are not supported"));
	case YAML_SCALAR_EVENT:
		return (on_scalar(b, ev));
	case YAML_SEQUENCE_START_EVENT:
		return (on_start(b, ev, NT_YCONF_SEQ,
		    ev->data.sequence_start.anchor,
		    ev->data.sequence_start.tag));
	case YAML_MAPPING_START_EVENT:
		return (on_start(b, ev, NT_YCONF_MAP,
		    ev->data.mapping_start.anchor,
		    ev->data.mapping_start.tag));
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		assert(b->depth > 0);
		b->depth--;
		return (0);
	}
	return (mark_error(b, &ev->start_mark, "unexpected YAML event"));
}

struct nt_yconf_doc *
nt_yconf_parse(const char *name, const char *buf, size_t len, char *err,
    size_t errlen)
{
	struct builder b;
	yaml_parser_t parser;
	yaml_event_t ev;
	yaml_event_type_t type;
	int rc;

	assert(name != NULL && err != NULL && errlen > 0);
	assert(buf != NULL || len == 0);
	if (len > NT_YCONF_MAX_INPUT) {
		snprintf(err, errlen, "%s: too large (%zu bytes, max %d)",
		    name, len, NT_YCONF_MAX_INPUT);
		return (NULL);
	}
	memset(&b, 0, sizeof b);
	b.buf = buf;
	b.len = len;
	b.err = err;
	b.errlen = errlen;
	b.doc = calloc(1, sizeof *b.doc);
	if (b.doc == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return (NULL);
	}
	b.doc->name = name;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", name);
		nt_yconf_doc_free(b.doc);
		return (NULL);
	}
	yaml_parser_set_input_string(&parser,
	    (const unsigned char *)(buf != NULL ? buf : ""), len);
	do {
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = syntax_error(&b, &parser);
			break;
		}
		rc = on_event(&b, &ev);
		type = ev.type;
		yaml_event_delete(&ev);
	} while (rc == 0 && type != YAML_STREAM_END_EVENT);
	yaml_parser_delete(&parser);
	if (rc != 0) {
		nt_yconf_doc_free(b.doc);
		return (NULL);
	}
	assert(b.depth == 0);
	return (b.doc);
}

void
nt_yconf_doc_free(struct nt_yconf_doc *doc)
{
	struct nt_yconf_node *n, *next;

	if (doc == NULL)
		return;
	for (n = doc->nodes; n != NULL; n = next) {
		next = n->all;
		free(n->str);
		free(n);
	}
	free(doc);
}

/* ---- Tree helpers ---- */

static bool
is_scalar(const struct nt_yconf_node *n, const char *s)
{
	return (n->kind == NT_YCONF_SCALAR && n->len == strlen(s) &&
	    memcmp(n->str, s, n->len) == 0);
}

bool
nt_yconf_is_null(const struct nt_yconf_node *n)
{
	if (n->kind != NT_YCONF_SCALAR || n->quoted)
		return (false);
	return (n->len == 0 || is_scalar(n, "~") || is_scalar(n, "null") ||
	    is_scalar(n, "Null") || is_scalar(n, "NULL"));
}

const struct nt_yconf_node *
nt_yconf_map_key(const struct nt_yconf_node *map, const char *key)
{
	const struct nt_yconf_node *k;

	if (map == NULL || map->kind != NT_YCONF_MAP)
		return (NULL);
	for (k = map->first; k != NULL; k = k->next->next) {
		assert(k->next != NULL);
		if (is_scalar(k, key))
			return (k);
	}
	return (NULL);
}

const struct nt_yconf_node *
nt_yconf_map_get(const struct nt_yconf_node *map, const char *key)
{
	const struct nt_yconf_node *k = nt_yconf_map_key(map, key);

	return (k != NULL ? k->next : NULL);
}

/* Printable, one-line, bounded copy of s for messages. */
static const char *
sanitize(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t cut = len, o = 0;

	if (len > DESCRIBE_MAX) {
		cut = DESCRIBE_MAX;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	for (size_t i = 0; i < cut && o + 5 < buflen; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x",
			    ch);
		else
			buf[o++] = (char)ch;
	}
	if (cut < len && o + 4 <= buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return (buf);
}

const char *
nt_yconf_describe(const struct nt_yconf_node *n, char *buf, size_t len)
{
	char text[DESCRIBE_MAX * 4 + 8];

	switch (n->kind) {
	case NT_YCONF_SEQ:
		snprintf(buf, len, "a list");
		break;
	case NT_YCONF_MAP:
		snprintf(buf, len, "a mapping");
		break;
	case NT_YCONF_SCALAR:
		if (n->len == 0 && !n->quoted) {
			snprintf(buf, len, "an empty value");
			break;
		}
		sanitize(n->str, n->len, text, sizeof text);
		snprintf(buf, len, "'%s'%s", text,
		    n->quoted ? " (a quoted string)" : "");
		break;
	}
	return (buf);
}

/* ---- Walking ---- */

int
nt_yconf_error(struct nt_yconf_walk *w, const struct nt_yconf_node *n,
    const char *fmt, ...)
{
	char msg[MSGLEN];
	va_list ap;

	if (w->failed)
		return (-1);
	w->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	set_error(w->err, w->errlen, w->name, n != NULL ? n->line : 1,
	    n != NULL ? n->col : 1, msg);
	return (-1);
}

static int
type_error(struct nt_yconf_walk *w, const struct nt_yconf_node *n,
    const char *label, const char *what)
{
	char got[DESCRIBE_MAX * 4 + 32];

	return (nt_yconf_error(w, n, "'%s' must be %s, got %s", label, what,
	    nt_yconf_describe(n, got, sizeof got)));
}

static void
store_int(void *target, size_t size, long long v)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	/* Range checks already passed; unsigned casts keep the bits. */
	switch (size) {
	case 1:
		u8 = (uint8_t)v;
		memcpy(target, &u8, 1);
		break;
	case 2:
		u16 = (uint16_t)v;
		memcpy(target, &u16, 2);
		break;
	case 4:
		u32 = (uint32_t)v;
		memcpy(target, &u32, 4);
		break;
	case 8:
		u64 = (uint64_t)v;
		memcpy(target, &u64, 8);
		break;
	default:
		assert(!"integer field of unsupported size");
	}
}

static long long
load_int(const void *target, size_t size, bool is_signed)
{
	int8_t s8;
	int16_t s16;
	int32_t s32;
	int64_t s64;

	switch (size) {
	case 1:
		memcpy(&s8, target, 1);
		return (is_signed ? (long long)s8 : (long long)(uint8_t)s8);
	case 2:
		memcpy(&s16, target, 2);
		return (is_signed ? (long long)s16 : (long long)(uint16_t)s16);
	case 4:
		memcpy(&s32, target, 4);
		return (is_signed ? (long long)s32 : (long long)(uint32_t)s32);
	case 8:
		memcpy(&s64, target, 8);
		return (s64);
	}
	assert(!"integer field of unsupported size");
	return (0);
}

static int
range_error(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, const char *label)
{
	char text[DESCRIBE_MAX * 4 + 8], lo[32], hi[32];
	bool is_int = k->type == NT_YCONF_T_INT;

	sanitize(n->str, n->len, text, sizeof text);
	/* Integers in full ("1000000", not "1e+06"), numbers short. */
	snprintf(lo, sizeof lo, is_int ? "%.0f" : "%g", k->min);
	if (isinf(k->max))
		return (nt_yconf_error(w, n,
		    "'%s' out of range: %s (allowed %s or more)", label, text,
		    lo));
	snprintf(hi, sizeof hi, is_int ? "%.0f" : "%g", k->max);
	return (nt_yconf_error(w, n, "'%s' out of range: %s (allowed %s..%s)",
	    label, text, lo, hi));
}

static bool
plain_scalar(const struct nt_yconf_node *n)
{
	return (n->kind == NT_YCONF_SCALAR && !n->quoted && n->len > 0);
}

/* 1 true, 0 false, -1 not a boolean.  YAML 1.1 spellings, any case. */
static int
parse_bool(const struct nt_yconf_node *n)
{
	static const char * const names[][2] = {
		{ "false", "true" }, { "no", "yes" }, { "off", "on" },
	};

	if (!plain_scalar(n))
		return (-1);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		for (int v = 0; v < 2; v++)
			if (strcasecmp(n->str, names[i][v]) == 0)
				return (v);
	return (-1);
}

static int
walk_bool(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label)
{
	int r = parse_bool(n);
	bool v = r == 1;

	assert(k->size == sizeof(bool));
	if (r < 0)
		return (type_error(w, n, label, "true or false"));
	memcpy(target, &v, sizeof v);
	return (0);
}

static int
walk_int(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label)
{
	const char *s;
	char *end;
	long long v;

	if (!plain_scalar(n))
		return (type_error(w, n, label, "an integer"));
	s = n->str + (n->str[0] == '-' || n->str[0] == '+');
	if (*s < '0' || *s > '9' || strspn(s, "0123456789") != strlen(s) ||
	    strlen(n->str) != n->len)
		return (type_error(w, n, label, "an integer"));
	errno = 0;
	v = strtoll(n->str, &end, 10);
	if (errno == ERANGE || (double)v < k->min || (double)v > k->max)
		return (range_error(w, k, n, label));
	assert(*end == '\0');
	store_int(target, k->size, v);
	return (0);
}

static int
walk_double(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label)
{
	char *end;
	double v;

	assert(k->size == sizeof(double));
	if (!plain_scalar(n) || strspn(n->str, "0123456789+-.eE") != n->len)
		return (type_error(w, n, label, "a number"));
	errno = 0;
	v = strtod(n->str, &end);
	if (*end != '\0' || end == n->str)
		return (type_error(w, n, label, "a number"));
	/* 1e400, 1e-400: not "0 or more", as 0 would not be what was meant. */
	if (errno == ERANGE)
		return (nt_yconf_error(w, n, "'%s' out of range: %s (%s)",
		    label, n->str, isfinite(v) ? "too close to 0 to compute "
		    "with" : "not a finite number"));
	if (v < k->min || v > k->max)
		return (range_error(w, k, n, label));
	memcpy(target, &v, sizeof v);
	return (0);
}

static int
walk_string(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label)
{
	char *copy, *old;

	if (k->size == 0 && (k->flags & NT_YCONF_NULLABLE) &&
	    nt_yconf_is_null(n)) {
		memcpy(&old, target, sizeof old);
		free(old);
		memset(target, 0, sizeof(char *));
		return (0);
	}
	if (n->kind != NT_YCONF_SCALAR || nt_yconf_is_null(n))
		return (type_error(w, n, label, "a string"));
	if (n->len == 0)
		return (nt_yconf_error(w, n, "'%s' must not be empty", label));
	if (strlen(n->str) != n->len)
		return (nt_yconf_error(w, n,
		    "'%s' must not contain NUL characters", label));
	if (k->size > 0) {
		if (n->len >= k->size)
			return (nt_yconf_error(w, n,
			    "'%s' is too long (%zu bytes, max %zu)", label,
			    n->len, k->size - 1));
		memcpy(target, n->str, n->len + 1);
		return (0);
	}
	copy = strdup(n->str);
	if (copy == NULL)
		return (nt_yconf_error(w, n, "out of memory"));
	memcpy(&old, target, sizeof old);
	free(old);
	memcpy(target, &copy, sizeof copy);
	return (0);
}

static int
walk_enum(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label)
{
	char what[MSGLEN];
	size_t i;

	if (n->kind == NT_YCONF_SCALAR) {
		for (i = 0; k->names[i] != NULL; i++) {
			if (is_scalar(n, k->names[i])) {
				store_int(target, k->size, (long long)i);
				return (0);
			}
		}
	}
	strlcpy(what, "one of: ", sizeof what);
	for (i = 0; k->names[i] != NULL; i++) {
		if (i > 0)
			strlcat(what, ", ", sizeof what);
		strlcat(what, k->names[i], sizeof what);
	}
	return (type_error(w, n, label, what));
}

static void free_value(const struct nt_yconf_key *k, void *base);
static int walk_value(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label);

static int
walk_seq(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *base, const char *label)
{
	const struct nt_yconf_key *el = k->elem;
	const struct nt_yconf_node *item;
	char saved[NT_YCONF_PATHLEN], ilabel[2 * NT_YCONF_PATHLEN + 32];
	char *arr;
	size_t i, count;

	assert(el != NULL && el->type != NT_YCONF_T_SEQ);
	/* Elements are the element key's field, or char * for strings. */
	assert(el->size == k->size || (el->type == NT_YCONF_T_STRING &&
	    el->size == 0 && k->size == sizeof(char *)));
	free_value(k, base);
	if (n->kind != NT_YCONF_SEQ && !nt_yconf_is_null(n))
		return (type_error(w, n, label, "a list"));
	/* "servers:" with nothing is an empty list. */
	count = n->kind == NT_YCONF_SEQ ? n->n : 0;
	if ((double)count < k->min)
		return (nt_yconf_error(w, n,
		    "'%s' has too few entries: %zu (min %g)", label, count,
		    k->min));
	if ((double)count > k->max)
		return (nt_yconf_error(w, n,
		    "'%s' has too many entries: %zu (max %g)", label, count,
		    k->max));
	if (count == 0)
		return (0);
	arr = calloc(count, k->size);
	if (arr == NULL)
		return (nt_yconf_error(w, n, "out of memory"));
	/* Owned by base from here on, so a failure below frees it. */
	memcpy((char *)base + k->offset, &arr, sizeof arr);
	memcpy((char *)base + k->count_off, &count, sizeof count);
	if (el->sub != NULL && el->sub->init != NULL)
		for (i = 0; i < count; i++)
			el->sub->init(arr + i * k->size);
	strlcpy(saved, w->path, sizeof saved);
	for (i = 0, item = n->first; item != NULL; i++, item = item->next) {
		snprintf(ilabel, sizeof ilabel, "%s%s%s[%zu]", saved,
		    saved[0] != '\0' ? "." : "", label, i);
		strlcpy(w->path, ilabel, sizeof w->path);
		if (walk_value(w, el, item, arr + i * k->size, ilabel))
			return (-1);
	}
	strlcpy(w->path, saved, sizeof w->path);
	return (0);
}

/* label is the mapping's full path ("log", "servers[0]"). */
static int
walk_submap(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label)
{
	const struct nt_yconf_node *empty = w->empty;
	char saved[NT_YCONF_PATHLEN];
	int rc;

	assert(k->sub != NULL);
	if (n->kind != NT_YCONF_MAP && !nt_yconf_is_null(n))
		return (type_error(w, n, label, "a mapping"));
	/* "log:" with nothing is an empty mapping, there. */
	w->empty = n->kind == NT_YCONF_MAP ? NULL : n;
	strlcpy(saved, w->path, sizeof saved);
	strlcpy(w->path, label, sizeof w->path);
	rc = nt_yconf_walk_map(w, w->empty != NULL ? NULL : n, k->sub, target);
	strlcpy(w->path, saved, sizeof w->path);
	w->empty = empty;
	return (rc);
}

/*
 * Sequences need the struct holding the key (pointer and count live
 * there); everything else gets the field itself.
 */
static int
walk_value(struct nt_yconf_walk *w, const struct nt_yconf_key *k,
    const struct nt_yconf_node *n, void *target, const char *label)
{
	switch (k->type) {
	case NT_YCONF_T_BOOL:
		return (walk_bool(w, k, n, target, label));
	case NT_YCONF_T_INT:
		return (walk_int(w, k, n, target, label));
	case NT_YCONF_T_DOUBLE:
		return (walk_double(w, k, n, target, label));
	case NT_YCONF_T_STRING:
		return (walk_string(w, k, n, target, label));
	case NT_YCONF_T_ENUM:
		return (walk_enum(w, k, n, target, label));
	case NT_YCONF_T_MAP:
		return (walk_submap(w, k, n, target, label));
	case NT_YCONF_T_CUSTOM:
		assert(k->custom != NULL);
		return (k->custom(w, k, n, target, label));
	case NT_YCONF_T_SEQ:
		break;
	}
	assert(!"sequence handled by the caller");
	return (-1);
}

static int
find_key(const struct nt_yconf_schema *schema, const struct nt_yconf_node *k)
{
	for (size_t i = 0; i < schema->n_keys; i++)
		if (is_scalar(k, schema->keys[i].name))
			return ((int)i);
	return (-1);
}

#define SUGGEST_MAX	32	/* longest key a suggestion is sought for */

/*
 * Edits (a character inserted, deleted or changed; case is no change)
 * from a to b, or SUGGEST_MAX when either is too long to bother.
 */
static size_t
edit_distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), row[SUGGEST_MAX + 1], diag, next;

	if (la > SUGGEST_MAX || lb > SUGGEST_MAX)
		return (SUGGEST_MAX);
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			next = diag + (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]));
			next = next < row[j] + 1 ? next : row[j] + 1;
			next = next < row[j - 1] + 1 ? next : row[j - 1] + 1;
			diag = row[j];
			row[j] = next;
		}
	}
	return (row[lb]);
}

/* The key k is likely a typo of ("Level", "levl" for level), or NULL. */
static const char *
suggest_key(const struct nt_yconf_node *k,
    const struct nt_yconf_schema *schema)
{
	const char *best = NULL;
	size_t d, best_d = 3;		/* at most two edits */

	for (size_t i = 0; i < schema->n_keys; i++) {
		const char *name = schema->keys[i].name;

		d = edit_distance(k->str, k->len, name);
		/* "foo" is no typo of "log": fewer edits than half of it. */
		if (d < best_d && 2 * d < strlen(name)) {
			best = name;
			best_d = d;
		}
	}
	return (best);
}

static int
unknown_key(struct nt_yconf_walk *w, const struct nt_yconf_node *k,
    const struct nt_yconf_schema *schema)
{
	char text[DESCRIBE_MAX * 4 + 8], names[MSGLEN];
	char where[NT_YCONF_PATHLEN + 8], hint[SUGGEST_MAX + 32];
	const char *like = suggest_key(k, schema);

	names[0] = '\0';
	for (size_t i = 0; i < schema->n_keys; i++) {
		if (i > 0)
			strlcat(names, ", ", sizeof names);
		strlcat(names, schema->keys[i].name, sizeof names);
	}
	where[0] = '\0';
	if (w->path[0] != '\0')
		snprintf(where, sizeof where, " in %s", w->path);
	hint[0] = '\0';
	if (like != NULL)
		snprintf(hint, sizeof hint, ", did you mean '%s'?", like);
	return (nt_yconf_error(w, k, "unknown key '%s'%s%s (expected %s%s)",
	    sanitize(k->str, k->len, text, sizeof text), where, hint,
	    schema->n_keys > 0 ? "one of: " : "no keys", names));
}

static int
missing_keys(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    const struct nt_yconf_schema *schema, const struct nt_yconf_node **seen)
{
	if (map == NULL)
		map = w->empty;
	for (size_t i = 0; i < schema->n_keys; i++) {
		if (!(schema->keys[i].flags & NT_YCONF_REQUIRED) ||
		    seen[i] != NULL)
			continue;
		if (w->path[0] != '\0')
			return (nt_yconf_error(w, map,
			    "missing required key '%s' in %s",
			    schema->keys[i].name, w->path));
		return (nt_yconf_error(w, map, "missing required key '%s'",
		    schema->keys[i].name));
	}
	return (0);
}

int
nt_yconf_walk_map(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    const struct nt_yconf_schema *schema, void *base)
{
	const struct nt_yconf_node *seen[NT_YCONF_MAX_KEYS] = { NULL };
	const struct nt_yconf_node *k, *v;
	const struct nt_yconf_key *key;
	char label[2 * NT_YCONF_PATHLEN];
	int i, rc;

	assert(schema->n_keys <= NT_YCONF_MAX_KEYS);
	assert(map == NULL || map->kind == NT_YCONF_MAP);
	for (k = map != NULL ? map->first : NULL; k != NULL; k = v->next) {
		v = k->next;
		assert(k->kind == NT_YCONF_SCALAR && v != NULL);
		i = find_key(schema, k);
		if (i < 0)
			return (unknown_key(w, k, schema));
		key = &schema->keys[i];
		if (seen[i] != NULL)
			return (nt_yconf_error(w, k,
			    "duplicate key '%s' (first at line %d)", key->name,
			    seen[i]->line));
		seen[i] = k;
		if (key->type == NT_YCONF_T_SEQ)
			rc = walk_seq(w, key, v, base, key->name);
		else if (key->type == NT_YCONF_T_MAP) {
			snprintf(label, sizeof label, "%s%s%s", w->path,
			    w->path[0] != '\0' ? "." : "", key->name);
			rc = walk_value(w, key, v, (char *)base + key->offset,
			    label);
		} else
			rc = walk_value(w, key, v, (char *)base + key->offset,
			    key->name);
		if (rc != 0)
			return (-1);
	}
	if (missing_keys(w, map, schema, seen))
		return (-1);
	if (schema->check != NULL)
		return (schema->check(w, map, base));
	return (0);
}

int
nt_yconf_walk(const struct nt_yconf_doc *doc,
    const struct nt_yconf_schema *schema, void *base, char *err, size_t errlen)
{
	struct nt_yconf_walk w;
	const struct nt_yconf_node *root = doc->root;
	char got[DESCRIBE_MAX * 4 + 32];

	memset(&w, 0, sizeof w);
	w.name = doc->name;
	w.err = err;
	w.errlen = errlen;
	if (root != NULL && nt_yconf_is_null(root))
		root = NULL;			/* "---" alone */
	if (root != NULL && root->kind != NT_YCONF_MAP)
		return (nt_yconf_error(&w, root,
		    "the top level must be a mapping, got %s",
		    nt_yconf_describe(root, got, sizeof got)));
	return (nt_yconf_walk_map(&w, root, schema, base));
}

int
nt_yconf_load_buf(const char *name, const char *buf, size_t len,
    const struct nt_yconf_schema *schema, void *base, char *err, size_t errlen)
{
	struct nt_yconf_doc *doc;
	int rc;

	doc = nt_yconf_parse(name, buf, len, err, errlen);
	if (doc == NULL)
		return (-1);
	rc = nt_yconf_walk(doc, schema, base, err, errlen);
	nt_yconf_doc_free(doc);
	return (rc);
}

/* ---- Freeing ---- */

/* k's value inside the struct base (for seqs: the struct holding it). */
static void
free_value(const struct nt_yconf_key *k, void *base)
{
	void *p = (char *)base + k->offset;
	char *arr;
	size_t count;

	switch (k->type) {
	case NT_YCONF_T_STRING:
		if (k->size == 0) {
			memcpy(&arr, p, sizeof arr);
			free(arr);
			memset(p, 0, sizeof arr);
		}
		break;
	case NT_YCONF_T_SEQ:
		memcpy(&arr, p, sizeof arr);
		memcpy(&count, (char *)base + k->count_off, sizeof count);
		for (size_t i = 0; arr != NULL && i < count; i++)
			free_value(k->elem, arr + i * k->size);
		free(arr);
		memset(p, 0, sizeof arr);
		memset((char *)base + k->count_off, 0, sizeof count);
		break;
	case NT_YCONF_T_MAP:
	case NT_YCONF_T_CUSTOM:
		if (k->sub != NULL)
			nt_yconf_free(k->sub, p);
		break;
	default:
		break;
	}
}

void
nt_yconf_free(const struct nt_yconf_schema *schema, void *base)
{
	for (size_t i = 0; i < schema->n_keys; i++)
		free_value(&schema->keys[i], base);
}

/* ---- Printing ---- */

/* One UTF-8 sequence at s: its length and code point (a stray byte: 1, itself). */
static size_t
utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 :
	    (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	uint32_t v = n == 1 ? s[0] : s[0] & (0x7fu >> n);

	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {	/* the NUL ends it too */
			n = 0;
			break;
		}
		v = v << 6 | (s[i] & 0x3fu);
	}
	*cp = n > 0 ? v : s[0];
	return (n > 0 ? n : 1);
}

/*
 * Code points YAML does not read back as they are inside "...": C0 and
 * C1 controls (NEL is a line break there), the line and paragraph
 * separators, and the non-characters U+FFFE and U+FFFF.
 */
static bool
must_escape(uint32_t cp)
{
	return (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 ||
	    cp == 0x2029 || cp == 0xfffe || cp == 0xffff);
}

/*
 * A path that names no file is the user's mistake; a file we may not
 * read, or a system that fails us, is not.
 */
static int
open_failure(int e)
{
	return (e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG ||
	    e == ELOOP ? -1 : NT_YCONF_ESYS);
}

/*
 * Open path for reading; never waits on a pipe that has no writer.  The
 * descriptor stays non-blocking, so that a device with nothing to read
 * (a terminal, /dev/ptmx, /dev/kmsg) is refused too, not waited on.
 */
static int
open_file(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), e = errno;

	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(e));
		return (open_failure(e));
	}
	if (fstat(fd, &sb) != 0 || S_ISFIFO(sb.st_mode) ||
	    S_ISSOCK(sb.st_mode) || S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: %s", path, S_ISDIR(sb.st_mode) ?
		    "is a directory" : "not a file (a pipe or socket)");
		close(fd);
		return (-1);
	}
	return (fd);
}

int
nt_yconf_read_file(const char *path, char **buf, size_t *len, char *err,
    size_t errlen)
{
	size_t got = 0;
	ssize_t n = 1;
	bool sys, wait = false;
	int fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open_file(path, err, errlen)) < 0)
		return (fd);
	/* One byte more than allowed tells "too large" from "just fits". */
	if ((*buf = malloc(NT_YCONF_MAX_INPUT + 1)) == NULL)
		snprintf(err, errlen, "%s: out of memory", path);
	while (*buf != NULL && got <= NT_YCONF_MAX_INPUT && n != 0) {
		n = read(fd, *buf + got, NT_YCONF_MAX_INPUT + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			wait = errno == EAGAIN;
			if (wait)
				snprintf(err, errlen, "%s: not a file (a device "
				    "that would make us wait for input)", path);
			else
				snprintf(err, errlen, "%s: cannot read: %s",
				    path, strerror(errno));
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (*buf != NULL && n >= 0 && got > NT_YCONF_MAX_INPUT)
		snprintf(err, errlen, "%s: too large (more than %d bytes)",
		    path, NT_YCONF_MAX_INPUT);
	else if (*buf != NULL && n >= 0) {
		*len = got;
		return (0);
	}
	/*
	 * Too large, or a device, is the path's fault; memory and I/O the
	 * system's.
	 */
	sys = *buf == NULL || (n < 0 && !wait);
	free(*buf);
	*buf = NULL;
	return (sys ? NT_YCONF_ESYS : -1);
}

static void
print_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	fputc('"', f);
	for (; *p != '\0'; p += n) {
		n = utf8_next(p, &cp);
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (int)cp);
		else if (must_escape(cp))
			fprintf(f, "\\u%04x", (unsigned)cp);
		else
			fwrite(p, 1, n, f);
	}
	fputc('"', f);
}

/* Shortest decimal that reads back as exactly v. */
static void
print_double(FILE *f, double v)
{
	char buf[40];

	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, f);
}

static void print_map(FILE *f, const struct nt_yconf_schema *schema,
    const void *base, int indent, bool inline_first);

/* The value of k at p, after "key:" or "-" (no space printed yet). */
static void
print_value(FILE *f, const struct nt_yconf_key *k, const void *base,
    const void *p, int indent, bool in_seq)
{
	const char *s;
	const char *arr;
	size_t count;
	bool b;
	long long v;
	double d;

	switch (k->type) {
	case NT_YCONF_T_BOOL:
		memcpy(&b, p, sizeof b);
		fprintf(f, " %s\n", b ? "true" : "false");
		break;
	case NT_YCONF_T_INT:
		fprintf(f, " %lld\n", load_int(p, k->size, k->min < 0));
		break;
	case NT_YCONF_T_DOUBLE:
		memcpy(&d, p, sizeof d);
		fputc(' ', f);
		print_double(f, d);
		fputc('\n', f);
		break;
	case NT_YCONF_T_STRING:
		if (k->size == 0)
			memcpy(&s, p, sizeof s);
		else
			s = p;
		fputc(' ', f);
		if (s == NULL)
			fputs("~", f);
		else
			print_string(f, s);
		fputc('\n', f);
		break;
	case NT_YCONF_T_ENUM:
		v = load_int(p, k->size, true);
		assert(v >= 0);
		for (long long i = 0; i < v; i++)
			assert(k->names[i] != NULL);
		assert(k->names[v] != NULL);
		fprintf(f, " %s\n", k->names[v]);
		break;
	case NT_YCONF_T_SEQ:
		/* Not an element itself: walk_seq() refuses lists of lists. */
		assert(base != NULL);
		memcpy(&arr, p, sizeof arr);
		memcpy(&count, (const char *)base + k->count_off, sizeof count);
		if (count == 0) {
			fputs(" []\n", f);
			break;
		}
		fputc('\n', f);
		for (size_t i = 0; i < count; i++) {
			fprintf(f, "%*s-", indent + 2, "");
			print_value(f, k->elem, NULL, arr + i * k->size,
			    indent + 4, true);
		}
		break;
	case NT_YCONF_T_MAP:
	case NT_YCONF_T_CUSTOM:
		assert(k->sub != NULL);
		if (k->sub->n_keys == 0) {
			fputs(" {}\n", f);
			break;
		}
		if (in_seq) {
			fputc(' ', f);
			print_map(f, k->sub, p, indent, true);
		} else {
			fputc('\n', f);
			print_map(f, k->sub, p, indent + 2, false);
		}
		break;
	}
}

static void
print_map(FILE *f, const struct nt_yconf_schema *schema, const void *base,
    int indent, bool inline_first)
{
	for (size_t i = 0; i < schema->n_keys; i++) {
		const struct nt_yconf_key *k = &schema->keys[i];

		/* The schema's words for the top-level keys. */
		if (indent == 0 && !inline_first && k->doc != NULL)
			fprintf(f, "# %s\n", k->doc);
		fprintf(f, "%*s%s:", i == 0 && inline_first ? 0 : indent, "",
		    k->name);
		print_value(f, k, base, (const char *)base + k->offset, indent,
		    false);
	}
}

void
nt_yconf_print(FILE *f, const struct nt_yconf_schema *schema,
    const void *base, int indent)
{
	print_map(f, schema, base, indent, false);
}
