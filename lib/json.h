/*
 * A small streaming JSON writer, for machine-readable output (query
 * --json, status dumps).  Calls mirror the document: begin an object, key,
 * value, ..., end it.  Commas, quoting, escaping and indentation are done
 * here, so a caller cannot produce invalid JSON: strings that are not valid
 * UTF-8 get U+FFFD, numbers that JSON cannot express (NaN, infinities)
 * become null.  Calling out of order (a value without a key inside an
 * object, unbalanced ends) is a programming error and asserts.
 */
#ifndef NTIMED_JSON_H
#define NTIMED_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NT_JSON_MAXDEPTH 32

struct nt_json {
	FILE	*f;		/* NULL: write into buf */
	char	*buf;		/* always NUL-terminated once non-NULL */
	size_t	len;
	size_t	cap;
	int	err;		/* first error (-ENOMEM, -EIO), sticky */
	bool	pretty;		/* newline and two spaces per level */
	bool	have_key;	/* a key waits for its value */
	bool	done;		/* the top-level value is complete */
	int	depth;
	char	kind[NT_JSON_MAXDEPTH];		/* '{' or '[' per level */
	bool	empty[NT_JSON_MAXDEPTH];	/* no member yet per level */
};

void nt_json_init_file(struct nt_json *j, FILE *f, bool pretty);
void nt_json_init_buf(struct nt_json *j, bool pretty);

void nt_json_begin_object(struct nt_json *j);
void nt_json_end_object(struct nt_json *j);
void nt_json_begin_array(struct nt_json *j);
void nt_json_end_array(struct nt_json *j);
void nt_json_key(struct nt_json *j, const char *key);

void nt_json_string(struct nt_json *j, const char *s);	/* NULL: null */
void nt_json_string_n(struct nt_json *j, const char *s, size_t n);
void nt_json_number(struct nt_json *j, double v);	/* %.9g */
void nt_json_int(struct nt_json *j, int64_t v);
/* v / 10^decimals written exactly, e.g. nanoseconds as seconds (9). */
void nt_json_decimal(struct nt_json *j, int64_t v, int decimals);
void nt_json_bool(struct nt_json *j, bool v);
void nt_json_null(struct nt_json *j);

/*
 * Check the document is complete (asserts) and flush a FILE.  Returns 0 or
 * the first error (-ENOMEM, or -errno of a failed write).
 */
int nt_json_finish(struct nt_json *j);
/* The buffer's text ("" if nothing yet); valid until nt_json_free(). */
const char *nt_json_text(const struct nt_json *j, size_t *len);
void nt_json_free(struct nt_json *j);

/*
 * Length of the valid UTF-8 sequence at s (1-4; n bytes readable), or
 * minus the length of its longest valid prefix (at least 1) when it is
 * malformed: the JSON writer makes that prefix one U+FFFD, as Unicode
 * recommends, and nt_printable() escapes its bytes.
 */
int nt_utf8_seq(const unsigned char *s, size_t n);

#endif
