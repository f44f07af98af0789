/*
 * The JSON writer's exact output: commas, indentation, escaping, UTF-8
 * repair and number formats.  Scripts parse what `ntimed query --json`
 * prints, so every byte here is part of an interface.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

static void
check_text(struct nt_json *j, const char *want)
{
	size_t len;
	const char *got;

	assert_int_equal(nt_json_finish(j), 0);
	got = nt_json_text(j, &len);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	nt_json_free(j);
}

/* One string value, compact. */
static void
check_string(const char *in, size_t n, const char *want)
{
	struct nt_json j;

	nt_json_init_buf(&j, false);
	nt_json_string_n(&j, in, n);
	check_text(&j, want);
}

static void
test_compact_document(void **state)
{
	struct nt_json j;

	(void)state;
	nt_json_init_buf(&j, false);
	nt_json_begin_array(&j);
	nt_json_begin_object(&j);
	nt_json_key(&j, "host");
	nt_json_string(&j, "a");
	nt_json_key(&j, "n");
	nt_json_int(&j, -42);
	nt_json_key(&j, "ok");
	nt_json_bool(&j, true);
	nt_json_key(&j, "bad");
	nt_json_bool(&j, false);
	nt_json_key(&j, "err");
	nt_json_null(&j);
	nt_json_key(&j, "s");
	nt_json_begin_array(&j);
	nt_json_int(&j, 1);
	nt_json_int(&j, 2);
	nt_json_end_array(&j);
	nt_json_key(&j, "e");
	nt_json_begin_object(&j);
	nt_json_end_object(&j);
	nt_json_end_object(&j);
	nt_json_begin_array(&j);
	nt_json_end_array(&j);
	nt_json_end_array(&j);
	check_text(&j, "[{\"host\":\"a\",\"n\":-42,\"ok\":true,\"bad\":false,"
	    "\"err\":null,\"s\":[1,2],\"e\":{}},[]]");
}

static void
test_pretty_document(void **state)
{
	struct nt_json j;

	(void)state;
	nt_json_init_buf(&j, true);
	nt_json_begin_object(&j);
	nt_json_key(&j, "a");
	nt_json_int(&j, 1);
	nt_json_key(&j, "b");
	nt_json_begin_array(&j);
	nt_json_string(&j, "x");
	nt_json_begin_object(&j);
	nt_json_key(&j, "c");
	nt_json_null(&j);
	nt_json_end_object(&j);
	nt_json_end_array(&j);
	nt_json_key(&j, "d");
	nt_json_begin_array(&j);
	nt_json_end_array(&j);
	nt_json_end_object(&j);
	check_text(&j, "{\n"
	    "  \"a\": 1,\n"
	    "  \"b\": [\n"
	    "    \"x\",\n"
	    "    {\n"
	    "      \"c\": null\n"
	    "    }\n"
	    "  ],\n"
	    "  \"d\": []\n"
	    "}");
}

static void
test_escapes(void **state)
{
	(void)state;
	check_string("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
	check_string("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
	check_string("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
	check_string("a\0b", 3, "\"a\\u0000b\"");
	check_string("", 0, "\"\"");
}

static void
test_utf8_valid_passes(void **state)
{
	(void)state;
	/* e-acute, euro sign, U+10FFFF, U+1F600 */
	check_string("\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80", 13,
	    "\"\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80\"");
}

static void
test_utf8_invalid_replaced(void **state)
{
	(void)state;
	/* A lone continuation byte, and a byte that never appears. */
	check_string("a\x80z", 3, "\"a\xef\xbf\xbdz\"");
	check_string("\xff", 1, "\"\xef\xbf\xbd\"");
	/* Overlong encodings of '/' and NUL. */
	check_string("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	check_string("\xe0\x80\x80", 3,
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	/* A UTF-16 surrogate (U+D800) and a code point above U+10FFFF. */
	check_string("\xed\xa0\x80", 3,
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	check_string("\xf4\x90\x80\x80", 4,
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	/* A sequence cut short: its valid prefix is one replacement. */
	check_string("\xe2\x82z", 3, "\"\xef\xbf\xbdz\"");
	check_string("\xf0\x9f\x98", 3, "\"\xef\xbf\xbd\"");
	/* Cut short by a quote, which must still be escaped. */
	check_string("\xe2\"", 2, "\"\xef\xbf\xbd\\\"\"");
}

static void
test_keys_escaped(void **state)
{
	struct nt_json j;

	(void)state;
	nt_json_init_buf(&j, false);
	nt_json_begin_object(&j);
	nt_json_key(&j, "a\"\n");
	nt_json_string(&j, NULL);
	nt_json_end_object(&j);
	check_text(&j, "{\"a\\\"\\n\":null}");
}

static void
test_numbers(void **state)
{
	struct nt_json j;

	(void)state;
	nt_json_init_buf(&j, false);
	nt_json_begin_array(&j);
	nt_json_number(&j, 0.0);
	nt_json_number(&j, 1.5);
	nt_json_number(&j, -0.000123456789012);
	nt_json_number(&j, 1e-7);
	nt_json_number(&j, 123456789012.0);
	nt_json_number(&j, NAN);
	nt_json_number(&j, INFINITY);
	nt_json_number(&j, -INFINITY);
	nt_json_int(&j, INT64_MAX);
	nt_json_int(&j, INT64_MIN);
	nt_json_end_array(&j);
	check_text(&j, "[0,1.5,-0.000123456789,1e-07,1.23456789e+11,"
	    "null,null,null,9223372036854775807,-9223372036854775808]");
}

static void
test_decimal(void **state)
{
	struct nt_json j;

	(void)state;
	nt_json_init_buf(&j, false);
	nt_json_begin_array(&j);
	nt_json_decimal(&j, INT64_C(1764162046123456789), 9);
	nt_json_decimal(&j, INT64_C(1764162046500000000), 9);
	nt_json_decimal(&j, INT64_C(1764162046000000000), 9);
	nt_json_decimal(&j, -5, 9);
	nt_json_decimal(&j, 0, 9);
	nt_json_decimal(&j, 1200, 0);
	nt_json_decimal(&j, INT64_MIN, 9);
	nt_json_end_array(&j);
	check_text(&j, "[1764162046.123456789,1764162046.5,1764162046,"
	    "-0.000000005,0,1200,-9223372036.854775808]");
}

static void
test_scalar_document(void **state)
{
	struct nt_json j;

	(void)state;
	nt_json_init_buf(&j, true);
	nt_json_int(&j, 7);
	check_text(&j, "7");
}

static void
test_grows_buffer(void **state)
{
	struct nt_json j;
	const char *text;
	size_t len;

	(void)state;
	nt_json_init_buf(&j, false);
	nt_json_begin_array(&j);
	for (int i = 0; i < 10000; i++)
		nt_json_int(&j, i % 10);
	nt_json_end_array(&j);
	assert_int_equal(nt_json_finish(&j), 0);
	text = nt_json_text(&j, &len);
	assert_int_equal(len, 2 + 10000 + 9999);
	assert_memory_equal(text, "[0,1,2,3,4,5,6,7,8,9,0,1", 24);
	assert_memory_equal(text + len - 6, "7,8,9]", 6);
	nt_json_free(&j);
}

static void
test_file_output(void **state)
{
	struct nt_json j;
	char buf[64];
	FILE *f;
	size_t n;

	(void)state;
	f = tmpfile();
	assert_non_null(f);
	nt_json_init_file(&j, f, false);
	nt_json_begin_object(&j);
	nt_json_key(&j, "k");
	nt_json_number(&j, 0.25);
	nt_json_end_object(&j);
	assert_int_equal(nt_json_finish(&j), 0);
	rewind(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	assert_string_equal(buf, "{\"k\":0.25}");
	fclose(f);
}

static void
test_file_write_error(void **state)
{
	struct nt_json j;
	FILE *f;

	(void)state;
	f = fopen("/dev/full", "w");
	if (f == NULL)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	nt_json_init_file(&j, f, false);
	nt_json_string(&j, "lost");
	assert_true(nt_json_finish(&j) < 0);
	fclose(f);
}

/* Valid in JSON raw, but not in YAML, which reads our control replies. */
static void
test_yaml_unsafe_escaped(void **state)
{
	(void)state;
	check_string("a\x7f" "b", 3, "\"a\\u007fb\"");
	check_string("\xc2\x80\xc2\x86\xc2\x9f", 6,
	    "\"\\u0080\\u0086\\u009f\"");
	check_string("\xc2\xa0", 2, "\"\xc2\xa0\"");	/* NBSP stays */
	check_string("\xef\xbf\xbe\xef\xbf\xbf", 6,
	    "\"\\ufffe\\uffff\"");
	check_string("\xef\xbf\xbd", 3, "\"\xef\xbf\xbd\"");	/* U+FFFD stays */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact_document),
		cmocka_unit_test(test_pretty_document),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_yaml_unsafe_escaped),
		cmocka_unit_test(test_utf8_valid_passes),
		cmocka_unit_test(test_utf8_invalid_replaced),
		cmocka_unit_test(test_keys_escaped),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_scalar_document),
		cmocka_unit_test(test_grows_buffer),
		cmocka_unit_test(test_file_output),
		cmocka_unit_test(test_file_write_error),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
