/*
 * A small schema-driven YAML reader, so that every file ntimed reads
 * (the daemon configuration, simulator scenarios) is checked the same way
 * and every mistake is reported as one line "FILE:LINE:COLUMN: message".
 *
 * Two steps.  nt_yconf_parse() turns YAML text into a tiny tree of
 * scalars, sequences and mappings (libyaml does the lexing; anchors,
 * aliases, tags and multiple documents are refused, and size, depth and
 * node count are bounded).  nt_yconf_walk() then applies a schema -- a
 * static table of keys -- to the tree, writing values straight into a
 * caller's struct at the offsets the table names.  Adding a key is one
 * table line, usually one of the NT_YCONF_* macros below.
 *
 * The walker stops at the first error.  Whatever it allocated is reachable
 * from the target struct and is released by nt_yconf_free() with the same
 * schema, so a failed load leaks nothing.
 */
#ifndef NTIMED_YCONF_H
#define NTIMED_YCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define NT_YCONF_MAX_INPUT	(1024 * 1024)	/* bytes */
#define NT_YCONF_MAX_DEPTH	32		/* nested collections */
#define NT_YCONF_MAX_NODES	100000
#define NT_YCONF_MAX_KEYS	64		/* keys in one schema */
#define NT_YCONF_PATHLEN	128

/* ---- The tree ---- */

enum nt_yconf_kind {
	NT_YCONF_SCALAR,
	NT_YCONF_SEQ,
	NT_YCONF_MAP,
};

/*
 * Children are a list from first through next; a mapping's list is key,
 * value, key, value, ...  Scalar text is NUL-terminated but may hold NULs
 * ("\0" escapes), so len is the truth.
 */
struct nt_yconf_node {
	enum nt_yconf_kind	kind;
	int			line;	/* 1-based, of the start */
	int			col;	/* 1-based, of the start */
	bool			quoted;	/* scalar, not plain */
	char			*str;	/* scalar text */
	size_t			len;
	size_t			n;	/* children */
	struct nt_yconf_node	*first;
	struct nt_yconf_node	*last;
	struct nt_yconf_node	*next;	/* sibling */
	struct nt_yconf_node	*all;	/* every node of the doc */
};

struct nt_yconf_doc {
	const char		*name;	/* borrowed, for messages */
	struct nt_yconf_node	*root;	/* NULL: empty document */
	struct nt_yconf_node	*nodes;	/* via ->all, to free */
	size_t			n_nodes;
};

/*
 * Parse len bytes of buf.  Returns the document (root NULL when the input
 * holds no document, e.g. only comments), or NULL with err filled with
 * "NAME:LINE:COLUMN: message" (or "NAME: message" without a position).
 */
struct nt_yconf_doc *nt_yconf_parse(const char *name, const char *buf,
    size_t len, char *err, size_t errlen);
void nt_yconf_doc_free(struct nt_yconf_doc *doc);

/* A plain scalar that YAML reads as null: "", "~", "null", "Null", "NULL". */
bool nt_yconf_is_null(const struct nt_yconf_node *n);
/* Value node for key in mapping map, or NULL (map may be NULL). */
const struct nt_yconf_node *nt_yconf_map_get(const struct nt_yconf_node *map,
    const char *key);
/* Key node for key in mapping map, or NULL. */
const struct nt_yconf_node *nt_yconf_map_key(const struct nt_yconf_node *map,
    const char *key);

/* ---- The schema ---- */

enum nt_yconf_type {
	NT_YCONF_T_BOOL,	/* bool */
	NT_YCONF_T_INT,		/* integer field of 1, 2, 4 or 8 bytes */
	NT_YCONF_T_DOUBLE,	/* double */
	NT_YCONF_T_STRING,	/* char[size], or char * (size 0) */
	NT_YCONF_T_ENUM,	/* integer field; value = index in names */
	NT_YCONF_T_SEQ,		/* T * at offset, size_t at count_off */
	NT_YCONF_T_MAP,		/* sub-schema applied at base + offset */
	NT_YCONF_T_CUSTOM,	/* callback decides */
};

#define NT_YCONF_REQUIRED	0x1u	/* key must be present */
#define NT_YCONF_NULLABLE	0x2u	/* char *: null/~ leaves NULL */

struct nt_yconf_walk;
struct nt_yconf_key;

/*
 * A custom value: n is the node, target is base + offset, label names the
 * value in messages ("servers[0]").  Return 0, or the result of
 * nt_yconf_error().
 */
typedef int nt_yconf_custom_fn(struct nt_yconf_walk *w,
    const struct nt_yconf_key *k, const struct nt_yconf_node *n,
    void *target, const char *label);
/* Cross-field checks after a mapping was walked; map may be NULL. */
typedef int nt_yconf_check_fn(struct nt_yconf_walk *w,
    const struct nt_yconf_node *map, void *base);

struct nt_yconf_schema {
	const struct nt_yconf_key *keys;
	size_t		n_keys;
	void		(*init)(void *elem); /* list element defaults */
	nt_yconf_check_fn *check;		/* may be NULL */
};

struct nt_yconf_key {
	const char	*name;
	enum nt_yconf_type type;
	unsigned	flags;
	size_t		offset;
	size_t		size;		/* field; seq: element */
	double		min, max;	/* int, double; seq: count */
	const char * const *names;	/* enum: NULL-terminated */
	const struct nt_yconf_schema *sub; /* map; custom (printing) */
	const struct nt_yconf_key *elem; /* seq: element (offset 0) */
	size_t		count_off;	/* seq */
	nt_yconf_custom_fn *custom;
	const char	*doc;
};

#define NT_YCONF_SCHEMA(keys, init, check) \
	{ (keys), sizeof(keys) / sizeof((keys)[0]), (init), (check) }

#define NT_YCONF_FIELD_(T, f) \
	.offset = offsetof(T, f), .size = sizeof(((T *)0)->f)

#define NT_YCONF_BOOL(n, T, f, d) \
	{ .name = (n), .type = NT_YCONF_T_BOOL, NT_YCONF_FIELD_(T, f), \
	  .doc = (d) }
#define NT_YCONF_INT(n, T, f, lo, hi, d) \
	{ .name = (n), .type = NT_YCONF_T_INT, NT_YCONF_FIELD_(T, f), \
	  .min = (lo), .max = (hi), .doc = (d) }
#define NT_YCONF_DOUBLE(n, T, f, lo, hi, d) \
	{ .name = (n), .type = NT_YCONF_T_DOUBLE, NT_YCONF_FIELD_(T, f), \
	  .min = (lo), .max = (hi), .doc = (d) }
/* Fixed buffer char f[N]. */
#define NT_YCONF_STRBUF(n, T, f, fl, d) \
	{ .name = (n), .type = NT_YCONF_T_STRING, .flags = (fl), \
	  NT_YCONF_FIELD_(T, f), .doc = (d) }
/* Allocated char *f, freed by nt_yconf_free(). */
#define NT_YCONF_STRING(n, T, f, fl, d) \
	{ .name = (n), .type = NT_YCONF_T_STRING, .flags = (fl), \
	  .offset = offsetof(T, f), .size = 0, .doc = (d) }
#define NT_YCONF_ENUM(n, T, f, nm, d) \
	{ .name = (n), .type = NT_YCONF_T_ENUM, NT_YCONF_FIELD_(T, f), \
	  .names = (nm), .doc = (d) }
/*
 * A list: elements at T.f (a pointer, allocated), their count at T.cnt (a
 * size_t), lo..hi entries.  el describes one element with offset 0: a
 * scalar key ({ .type = NT_YCONF_T_DOUBLE, .size = sizeof(double), .min,
 * .max }; strings as char *: .size = 0), or a mapping/custom key whose
 * .size is the element struct's and whose .sub->init sets its defaults.
 */
#define NT_YCONF_SEQ(n, T, f, cnt, el, lo, hi, d) \
	{ .name = (n), .type = NT_YCONF_T_SEQ, .offset = offsetof(T, f), \
	  .size = sizeof(*((T *)0)->f), .count_off = offsetof(T, cnt), \
	  .elem = (el), .min = (lo), .max = (hi), .doc = (d) }
/* A mapping; its keys' offsets count from base + off (0: same struct). */
#define NT_YCONF_MAP(n, off, sc, d) \
	{ .name = (n), .type = NT_YCONF_T_MAP, .offset = (off), \
	  .sub = (sc), .doc = (d) }

/* ---- Walking ---- */

struct nt_yconf_walk {
	const char	*name;		/* file name for messages */
	char		*err;
	size_t		errlen;
	bool		failed;
	char		path[NT_YCONF_PATHLEN]; /* "servers[2]" */
	/* An empty value ("step:", "- ~") walked as a mapping, for messages. */
	const struct nt_yconf_node *empty;
};

/*
 * Apply schema to doc, storing into base (already holding defaults).
 * Returns 0, or -1 with err filled.  On error base may hold partial
 * values; release it with nt_yconf_free() (or the owner's free).
 */
int nt_yconf_walk(const struct nt_yconf_doc *doc,
    const struct nt_yconf_schema *schema, void *base, char *err,
    size_t errlen);
/*
 * Read a whole file of at most NT_YCONF_MAX_INPUT bytes into *buf (free()
 * it), its length in *len.  A pipe, or a device with nothing to read yet
 * (a terminal, /dev/ptmx), is refused rather than waited on.
 * Returns 0, or with a one-line err naming path: -1 when path is wrong
 * (no such file, a directory, a pipe or such a device, too large),
 * NT_YCONF_ESYS when the system would not let us read it (no permission,
 * an I/O error, no memory).
 */
#define NT_YCONF_ESYS	(-2)
int nt_yconf_read_file(const char *path, char **buf, size_t *len, char *err,
    size_t errlen);
/* Parse and walk in one go. */
int nt_yconf_load_buf(const char *name, const char *buf, size_t len,
    const struct nt_yconf_schema *schema, void *base, char *err,
    size_t errlen);

/* Walk the mapping map (NULL = empty) with schema at base, path as given. */
int nt_yconf_walk_map(struct nt_yconf_walk *w, const struct nt_yconf_node *map,
    const struct nt_yconf_schema *schema, void *base);
/*
 * Record the first error, at node n (NULL: line 1 column 1).  Always
 * returns -1.  Later errors are ignored.
 */
int nt_yconf_error(struct nt_yconf_walk *w, const struct nt_yconf_node *n,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Describe n for "got ..." in messages: "'abc'", "'6' (a quoted string)",
 * "a list", "a mapping", "an empty value".  Control characters are
 * escaped and long values shortened, so the message stays one line.
 */
const char *nt_yconf_describe(const struct nt_yconf_node *n, char *buf,
    size_t len);

/* Release everything nt_yconf_walk() allocated in base (char *, seqs). */
void nt_yconf_free(const struct nt_yconf_schema *schema, void *base);

/*
 * Write base as YAML under schema, indent spaces deep, so that walking the
 * output gives back the same values.  Custom values are printed as
 * mappings with their key's sub-schema.  At indent 0 each key's doc
 * string comes first, as a comment.
 */
void nt_yconf_print(FILE *f, const struct nt_yconf_schema *schema,
    const void *base, int indent);

#endif
