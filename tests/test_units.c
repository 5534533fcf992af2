/* Unit tests of the small host modules: durations, SQL text checks, the
 * "did you mean" suggestion, typed parameter values, progress and the
 * run's report protocol, and the .ini reader
 * on bytes no editor writes (inputs the fuzzer found, tests/fuzz/). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "conf.h"
#include "duration.h"
#include "params.h"
#include "progress.h"
#include "report.h"
#include "sqltext.h"
#include "suggest.h"

#define MS_S 1000LL
#define MS_M (60 * MS_S)
#define MS_H (60 * MS_M)
#define MS_D (24 * MS_H)

/* ---- duration_parse ---- */

/* ms that text parses to, failing the test when it does not parse. */
static int64_t parse_ok(const char *text)
{
	char err[256] = "";
	int64_t ms = -1;

	if (duration_parse(text, &ms, err, sizeof(err)) != 0)
		fail_msg("duration '%s' refused: %s", text, err);
	return ms;
}

/* The message duration_parse gives for text, failing when it parses. */
static void parse_bad(const char *text, char *err, size_t errlen)
{
	int64_t ms = 12345;

	err[0] = '\0';
	assert_int_equal(duration_parse(text, &ms, err, errlen), -1);
	assert_true(ms == 12345);   /* untouched on error */
	assert_true(err[0] != '\0');
}

static void duration_single_units(void **state)
{
	(void)state;
	assert_true(parse_ok("250ms") == 250);
	assert_true(parse_ok("90s") == 90 * MS_S);
	assert_true(parse_ok("15m") == 15 * MS_M);
	assert_true(parse_ok("36h") == 36 * MS_H);
	assert_true(parse_ok("30d") == 30 * MS_D);
	assert_true(parse_ok("2w") == 14 * MS_D);
	assert_true(parse_ok("0s") == 0);
}

static void duration_sums_with_and_without_spaces(void **state)
{
	(void)state;
	assert_true(parse_ok("1h30m") == 90 * MS_M);
	assert_true(parse_ok("1h 30m") == 90 * MS_M);
	assert_true(parse_ok("1d2h3m4s5ms") ==
	            MS_D + 2 * MS_H + 3 * MS_M + 4 * MS_S + 5);
}

static void duration_without_unit_suggests_one(void **state)
{
	char err[256];

	(void)state;
	parse_bad("30", err, sizeof(err));
	assert_contains(err, "'30' needs a unit");
	assert_contains(err, "30s");
	assert_contains(err, "30d");
}

static void duration_unknown_unit_is_refused(void **state)
{
	char err[256];

	(void)state;
	parse_bad("5x", err, sizeof(err));
	assert_contains(err, "'5x' needs a unit (ms, s, m, h, d, w, mo or y)");
}

static void duration_empty_is_refused(void **state)
{
	char err[256];

	(void)state;
	parse_bad("", err, sizeof(err));
	assert_contains(err, "empty duration");
	parse_bad("   ", err, sizeof(err));
	assert_contains(err, "empty duration");
}

static void duration_negative_is_refused(void **state)
{
	char err[256];

	(void)state;
	parse_bad("-1s", err, sizeof(err));
	assert_contains(err, "expected a number at '-1s'");
}

static void duration_overflow_is_refused(void **state)
{
	char err[256];

	(void)state;
	parse_bad("99999999999999999999d", err, sizeof(err));
	assert_contains(err, "too long");
	/* fits in the number, not in milliseconds */
	parse_bad("999999999999w", err, sizeof(err));
	assert_contains(err, "too long");
	/* each term fits, their sum does not */
	parse_bad("5000000000000000000ms5000000000000000000ms", err,
	          sizeof(err));
	assert_contains(err, "too long");
}

/* A year is 365.25 days and a month 30 days when a calendar duration
 * must be one number of milliseconds: PostgreSQL's own convention
 * (extract(epoch FROM interval '1 year') is 31557600). */
#define MS_Y (36525 * MS_D / 100)

static void duration_calendar_units_in_milliseconds(void **state)
{
	(void)state;
	assert_true(parse_ok("6mo") == 180 * MS_D);
	assert_true(parse_ok("1y") == MS_Y);
	assert_true(parse_ok("3y") == 3 * MS_Y);
	assert_true(parse_ok("1y6mo") == MS_Y + 180 * MS_D);
	/* twelve months are a year, as PostgreSQL counts them */
	assert_true(parse_ok("12mo") == MS_Y);
	assert_true(parse_ok("1y 2w") == MS_Y + 14 * MS_D);
}

static void duration_ambiguous_units_name_the_fix(void **state)
{
	char err[256];

	(void)state;
	parse_bad("6M", err, sizeof(err));
	assert_contains(err, "'6M' is ambiguous");
	assert_contains(err, "6mo for months or 6m for minutes");
	parse_bad("1y6m", err, sizeof(err));
	assert_contains(err, "1y6mo");
	assert_contains(err, "minutes");
	parse_bad("6months", err, sizeof(err));
	assert_contains(err, "write 6mo");
	parse_bad("3 years", err, sizeof(err));
	assert_contains(err, "write 3y");
	parse_bad("15min", err, sizeof(err));
	assert_contains(err, "write 15m");
}

/* The PostgreSQL interval text of text, failing when it does not parse. */
static void interval_is(const char *text, const char *want)
{
	duration_span d;
	char err[256] = "", out[96];

	if (duration_parse_span(text, &d, err, sizeof(err)) != 0)
		fail_msg("duration '%s' refused: %s", text, err);
	duration_interval(&d, out, sizeof(out));
	assert_string_equal(out, want);
}

static void duration_interval_text_keeps_calendar_units(void **state)
{
	(void)state;
	interval_is("3y", "3 years");
	interval_is("1y", "1 year");
	interval_is("6mo", "6 mons");
	interval_is("1mo", "1 mon");
	interval_is("1y6mo", "1 year 6 mons");
	interval_is("18mo", "1 year 6 mons");
	interval_is("30d", "30 days");
	interval_is("1d", "1 day");
	interval_is("2w", "14 days");
	/* hours stay hours: a day is not always 24 of them */
	interval_is("36h", "36:00:00");
	interval_is("30d1h", "30 days 01:00:00");
	interval_is("1h30m15s", "01:30:15");
	interval_is("250ms", "00:00:00.25");
	interval_is("1s5ms", "00:00:01.005");
	interval_is("0s", "00:00:00");
	interval_is("0", "00:00:00");
}

static void duration_calendar_overflow_is_refused(void **state)
{
	char err[256];

	(void)state;
	/* PostgreSQL keeps months and days in 32 bits */
	parse_bad("200000000y", err, sizeof(err));
	assert_contains(err, "too long");
	parse_bad("3000000000d", err, sizeof(err));
	assert_contains(err, "too long");
}

/* A span is at most 5000 years of 365.25 days, however written: now()
 * less 2147483647 days is a valid interval but before PostgreSQL's first
 * timestamp (test_cli runs the longest age against the server). */
static void duration_past_5000_years_is_refused(void **state)
{
	char err[256];

	(void)state;
	assert_true(parse_ok("5000y") == 5000 * MS_Y);
	assert_true(parse_ok("60000mo") == 5000 * MS_Y);
	assert_true(parse_ok("1826250d") == 5000 * MS_Y);
	parse_bad("5000y1ms", err, sizeof(err));
	assert_contains(err, "duration '5000y1ms' is too long: at most 5000y");
	parse_bad("1826251d", err, sizeof(err));
	assert_contains(err, "too long");
	parse_bad("2147483647d", err, sizeof(err));
	assert_contains(err, "4713 BC");
	parse_bad("157788000000001ms", err, sizeof(err));
	assert_contains(err, "too long");
	parse_bad("4000y 400000d", err, sizeof(err));
	assert_contains(err, "too long");
}

/* ---- cron_never ---- */

/* Whether the schedule text, which must parse, never fires. */
static bool never(const char *text)
{
	cron_expr *e;
	char err[256];
	bool n;

	if (cron_parse(text, &e, err, sizeof(err)) != 0)
		fail_msg("schedule '%s' refused: %s", text, err);
	n = cron_never(e);
	cron_free(e);
	return n;
}

static void schedule_matching_no_date_never_fires(void **state)
{
	(void)state;
	assert_true(never("0 0 30 2 *"));
	assert_true(never("0 0 31 4 *"));
	assert_true(never("0 0 31 2,4,6,9,11 *"));
	assert_true(never("0 0 0 30-31 FEB *"));
	/* February 29 comes every four years (eight across 2100) */
	assert_false(never("0 0 29 2 *"));
	assert_false(never("0 0 31 * *"));
	assert_false(never("0 0 L 2 *"));
	/* both day fields restricted: either matches, so Mondays */
	assert_false(never("0 0 30 2 1"));
	assert_false(never("@yearly"));
	assert_false(never("every 90s"));
}

/* ---- duration_format ---- */

/* Formats what text parses to and checks it prints back as want. */
static void round_trip(const char *text, const char *want)
{
	char out[64];

	duration_format(parse_ok(text), out, sizeof(out));
	assert_string_equal(out, want);
}

static void duration_format_round_trips(void **state)
{
	(void)state;
	round_trip("30d", "30d");
	round_trip("1h30m", "1h30m");
	round_trip("250ms", "250ms");
	round_trip("0s", "0s");
}

static void duration_format_normalises(void **state)
{
	(void)state;
	round_trip("90s", "1m30s");
	round_trip("2w", "14d");
	round_trip("1h 30m", "1h30m");
	round_trip("1d1ms", "1d1ms");
}

/* ---- sqltext_ident_split ---- */

/* Splits text, checking it gives exactly the n expected parts. */
static void split_ok(const char *text, size_t n, const char *const *want)
{
	char **parts = NULL, err[256] = "";
	size_t nparts = 0, i;

	if (sqltext_ident_split(text, &parts, &nparts, err, sizeof(err)) != 0)
		fail_msg("name '%s' refused: %s", text, err);
	assert_int_equal(nparts, n);
	for (i = 0; i < n; i++)
		assert_string_equal(parts[i], want[i]);
	sqltext_parts_free(parts, nparts);
}

/* The message for a name that must not split. */
static void split_bad(const char *text, char *err, size_t errlen)
{
	char **parts = (char **)&parts;
	size_t nparts = 99;

	err[0] = '\0';
	assert_int_equal(sqltext_ident_split(text, &parts, &nparts, err,
	                                     errlen), -1);
	assert_null(parts);
	assert_int_equal(nparts, 0);
}

static void ident_plain_and_qualified(void **state)
{
	(void)state;
	split_ok("users", 1, (const char *const[]){"users"});
	split_ok("public.users", 2, (const char *const[]){"public", "users"});
	split_ok("db.public.users", 3,
	         (const char *const[]){"db", "public", "users"});
}

static void ident_quoted_parts_keep_case_spaces_and_quotes(void **state)
{
	(void)state;
	split_ok("\"My Schema\".\"We\"\"ird\"", 2,
	         (const char *const[]){"My Schema", "We\"ird"});
	split_ok("\"a.b\".c", 2, (const char *const[]){"a.b", "c"});
}

static void ident_unquoted_name_with_space_is_kept_whole(void **state)
{
	(void)state;
	split_ok("my table", 1, (const char *const[]){"my table"});
	split_ok("  public . my table  ", 2,
	         (const char *const[]){"public", "my table"});
}

static void ident_empty_part_is_refused(void **state)
{
	char err[256];

	(void)state;
	split_bad("a..b", err, sizeof(err));
	assert_contains(err, "name 'a..b' has an empty part");
	split_bad("", err, sizeof(err));
	assert_contains(err, "empty part");
	split_bad("users.", err, sizeof(err));
	assert_contains(err, "empty part");
}

/* A name that is not UTF-8 would be refused by the server (sweepd's
 * sessions speak UTF-8); before, quoting it failed at run time and the
 * plugin reported "out of memory". */
static void ident_not_utf8_is_refused(void **state)
{
	char err[256];

	(void)state;
	split_bad("us\xff" "ers", err, sizeof(err));
	assert_contains(err, "name is not valid UTF-8 (byte 3 is not)");
	split_bad("public.\"caf\xe9\"", err, sizeof(err));
	assert_contains(err, "byte 12");
	/* overlong "/" and a lone surrogate */
	split_bad("a\xc0\xaf" "b", err, sizeof(err));
	split_bad("\xed\xa0\x80", err, sizeof(err));
	split_ok("caf\xc3\xa9.\xe7\x94\xa8\xe6\x88\xb7", 2,
	         (const char *const[]){"caf\xc3\xa9",
	                               "\xe7\x94\xa8\xe6\x88\xb7"});
}

static void ident_four_parts_are_refused(void **state)
{
	char err[256];

	(void)state;
	split_bad("a.b.c.d", err, sizeof(err));
	assert_contains(err, "more than 3 dot-separated parts");
}

static void ident_unclosed_quote_is_refused(void **state)
{
	char err[256];

	(void)state;
	split_bad("\"users", err, sizeof(err));
	assert_contains(err, "unclosed double quote");
	split_bad("\"a\"b", err, sizeof(err));
	assert_contains(err, "unexpected text after a quoted part");
}

static void ident_part_over_63_bytes_is_refused(void **state)
{
	char name[80], err[256];

	(void)state;
	memset(name, 'x', 63);
	name[63] = '\0';
	split_ok(name, 1, (const char *const[]){name});
	memset(name, 'x', 64);
	name[64] = '\0';
	split_bad(name, err, sizeof(err));
	assert_contains(err, "longer than 63 bytes");
}

/* ---- sqltext_expr_check ---- */

static void expr_ok(const char *text)
{
	char err[256] = "";

	if (sqltext_expr_check(text, err, sizeof(err)) != 0)
		fail_msg("condition \"%s\" refused: %s", text, err);
}

/* Checks text is refused with a message containing want. */
static void expr_bad(const char *text, const char *want)
{
	char err[256] = "";

	if (sqltext_expr_check(text, err, sizeof(err)) == 0)
		fail_msg("condition \"%s\" accepted", text);
	assert_contains(err, want);
}

static void expr_accepts_conditions(void **state)
{
	(void)state;
	expr_ok("email_verified = false");
	expr_ok("x IN (1,2) AND (y OR z)");
	expr_ok("created_at < $1::timestamptz");
	expr_ok("\"odd;name\" IS NULL");
}

static void expr_accepts_punctuation_inside_strings(void **state)
{
	(void)state;
	expr_ok("a = 'x;y'");
	expr_ok("note = 'it''s'");
	expr_ok("note = 'a -- b /* c */ ( )'");
	expr_ok("$$a;b$$ = c");
	expr_ok("$t$a;)b$t$ = c");
	expr_ok("s = E'it\\'s; fine'");
}

static void expr_refuses_second_statement(void **state)
{
	(void)state;
	expr_bad("x = 1; DROP TABLE users", "contains ';' at character 6");
	expr_bad("x = 1;", "';'");
}

static void expr_refuses_escaping_its_parentheses(void **state)
{
	(void)state;
	expr_bad("x = 1) OR (1=1", "closes a parenthesis it did not open");
	expr_bad("(x = 1", "leaves 1 parenthesis open");
}

/* In PostgreSQL '$' continues a name (a$b$ is one name), so it must not
 * be read as a dollar quote that would hide the ')' from the check. */
static void expr_dollar_inside_a_name_opens_no_quote(void **state)
{
	(void)state;
	expr_ok("price$eur$ > 0");
	expr_bad("a$b$ = 0) OR (c$b$ = 1", "closes a parenthesis");
	expr_bad("a$b$ = 0; DROP TABLE users; SELECT c$b$", "';'");
}

/* Only a name that is exactly E (or e) makes the string after it an
 * escape string: PostgreSQL reads _E'\' as the name _E then the string
 * '\', so the ';' and the comment after it are outside any string. */
static void expr_escape_string_needs_a_lone_e(void **state)
{
	(void)state;
	expr_ok("s = e'\\\\'");
	expr_bad("_E'\\' ; DROP TABLE users; SELECT '\\' AS x --'",
	         "standard_conforming_strings");
	expr_bad("x$e'\\' ; DROP TABLE users; SELECT '\\' AS x --'",
	         "standard_conforming_strings");
}

/* With standard_conforming_strings off (a server, database or role
 * setting) a backslash escapes a quote in a plain string too: text whose
 * strings end elsewhere when backslashes escape is refused, so no setting
 * can move text out of the parentheses. */
static void expr_refuses_strings_that_end_elsewhere_with_escapes(void **state)
{
	(void)state;
	expr_bad("v::text = 'p\\'q' ) OR (true) OR ( v::text = 'r\\'s'",
	         "standard_conforming_strings");
	expr_bad("path = 'C:\\'", "string at character 8");
	expr_bad("v = 1E'\\' ) OR (true) OR (v = '", "string at character 7");
	expr_bad("v = xE'\\' ) OR (true) OR (v = '", "string at character 7");
	expr_ok("path = 'C:\\temp'");
	expr_ok("path = E'C:\\\\'");
	expr_ok("path LIKE 'C:\\\\%'");
	expr_ok("s = E'it\\'s'");
	expr_ok("s = U&'d\\0061t' AND t = 'x'");
}

/* A dollar-quote tag may hold any non-ASCII letter, as PostgreSQL reads
 * it; bytes that are not UTF-8 are refused (the check could not tell where
 * a character ends). */
static void expr_reads_dollar_tags_and_bytes_as_the_server_does(void **state)
{
	(void)state;
	expr_ok("x = $\xc3\xa9$ ) OR (true) OR ( $\xc3\xa9$");
	expr_bad("x = $\xc3\xa9$ ; $\xc3\xa9$ ; x", "';'");
	expr_bad("x = 'a\xff' OR true", "not valid UTF-8 at character 7");
	expr_bad("x = '\xc3' OR true", "not valid UTF-8");
}

static void expr_refuses_comments(void **state)
{
	(void)state;
	expr_bad("x = 1 -- c", "comment at character 7");
	expr_bad("x /* c */ = 1", "comment at character 3");
}

static void expr_refuses_unclosed_quotes(void **state)
{
	(void)state;
	expr_bad("'unclosed", "unclosed string starting at character 1");
	expr_bad("x = \"name", "unclosed quoted name");
	expr_bad("x = $q$abc", "unclosed dollar quote $q$");
}

static void expr_refuses_empty_and_blank(void **state)
{
	(void)state;
	expr_bad("", "condition is empty");
	expr_bad(" \t ", "condition is empty");
}

/* ---- suggest_closest ---- */

static const char *const age_keys[] = {"table", "time_column", "older_than",
                                       "where", "batch_size", "max_rows",
                                       "audit_columns"};
#define AGE_NKEYS (sizeof(age_keys) / sizeof(age_keys[0]))

static void suggest_finds_typos(void **state)
{
	(void)state;
	assert_string_equal(suggest_closest("time_colum", age_keys, AGE_NKEYS),
	                    "time_column");
	assert_string_equal(suggest_closest("older_then", age_keys, AGE_NKEYS),
	                    "older_than");
	assert_string_equal(suggest_closest("BATCH_SIZE", age_keys, AGE_NKEYS),
	                    "batch_size");
}

static void suggest_returns_null_when_nothing_is_close(void **state)
{
	(void)state;
	assert_null(suggest_closest("zzz", age_keys, AGE_NKEYS));
	assert_null(suggest_closest("time_colum", age_keys, 0));
}

/* ---- params_parse_value ---- */

static void params_bool_forms(void **state)
{
	bool b;

	(void)state;
	assert_int_equal(params_parse_bool("TRUE", &b), 0);
	assert_true(b);
	assert_int_equal(params_parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(params_parse_bool("maybe", &b), -1);
}

static void params_list_items_are_trimmed_and_none_empty(void **state)
{
	sweep_option opt = {"cols", SWEEP_OPT_LIST, 0, NULL, NULL};
	param_value v;
	char err[256] = "";

	(void)state;
	assert_int_equal(params_parse_value(&opt, " id , email ", &v, err,
	                                    sizeof(err)), 0);
	assert_int_equal(v.nitems, 2);
	assert_string_equal(v.items[0], "id");
	assert_string_equal(v.items[1], "email");
	params_value_clear(&v);
	assert_int_equal(params_parse_value(&opt, "id,,email", &v, err,
	                                    sizeof(err)), -1);
	assert_contains(err, "empty item");
	params_value_clear(&v);
}

static void params_int_refuses_text(void **state)
{
	sweep_option opt = {"batch_size", SWEEP_OPT_INT, 0, NULL, NULL};
	param_value v;
	char err[256] = "";

	(void)state;
	assert_int_equal(params_parse_value(&opt, "-42", &v, err,
	                                    sizeof(err)), 0);
	assert_true(v.num == -42);
	params_value_clear(&v);
	assert_int_equal(params_parse_value(&opt, "lots", &v, err,
	                                    sizeof(err)), -1);
	assert_contains(err, "'lots' is not an integer");
	assert_contains(err, "e.g. batch_size = 5000");
	params_value_clear(&v);
	/* The example is the option's own default when it has one. */
	opt.default_value = "1";
	assert_int_equal(params_parse_value(&opt, "two", &v, err,
	                                    sizeof(err)), -1);
	assert_contains(err, "e.g. batch_size = 1");
	params_value_clear(&v);
}

/* ---- conf_parse on binary bytes ---- */

/* The problems conf_parse() finds in a file of n bytes of data, which
 * may hold NUL bytes (tu_write() cannot write them). */
static void conf_parse_bytes(const char *data, size_t n, diag *d)
{
	char *dir = tu_tempdir(), *path = tu_path(dir, "job.ini");
	FILE *fp = fopen(path, "wb");
	conf_file *f;

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
	f = conf_parse(path, false, d);
	assert_non_null(f);
	conf_free(f);
	tu_rmtree(dir);
	free(path);
	free(dir);
}

/* The line of the first problem that says what, or 0. */
static int problem_line(const diag *d, const char *what)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (strstr(d->items[i].message, what) != NULL)
			return d->items[i].line;
	return 0;
}

/* fuzz_jobfile found it (tests/fuzz/regressions/jobfile/): a line that
 * starts with a NUL byte and is longer than the reader's buffer was read
 * as two lines, so every problem below it named the wrong line, one past
 * the end of the file at the last. */
static void conf_line_with_nul_counts_once(void **state)
{
	char data[512];
	size_t n = 0;
	diag d = DIAG_INIT;

	(void)state;
	n += (size_t)sprintf(data + n, "[job]\n");
	data[n++] = '\0';
	memset(data + n, 'x', 300);
	n += 300;
	n += (size_t)sprintf(data + n, "\nnot an entry\n");
	conf_parse_bytes(data, n, &d);
	assert_int_equal(problem_line(&d, "expected 'key = value'"), 3);
	assert_int_equal(problem_line(&d, "NUL"), 2);
	diag_free(&d);
}

/* A NUL byte cut a line short without a word: "plugin = age_delete\0..."
 * was read as "plugin = age_delete".  It is a problem at its line. */
static void conf_nul_byte_is_a_problem_at_its_line(void **state)
{
	static const char data[] = "[job]\nplugin = age_delete\0junk\n"
	                           "name = x\n";
	diag d = DIAG_INIT;

	(void)state;
	conf_parse_bytes(data, sizeof(data) - 1, &d);
	assert_int_equal(d.count, 1);
	assert_int_equal(d.items[0].line, 2);
	assert_contains(d.items[0].message, "NUL byte");
	diag_free(&d);
}

/* ---- progress and the report protocol ---- */

/* A quarter done in 2 s: 3 quarters left at that pace is 6 s. */
static void progress_rate_and_time_left(void **state)
{
	progress_point p;
	progress_values v;
	char line[128];

	(void)state;
	progress_point_set(&p, 500, 2000, -1, 2000);
	assert_int_equal(p.ppm, PROGRESS_WHOLE / 4);
	assert_true(progress_rate(&p) == 250.0);
	assert_int_equal(progress_eta_ms(&p), 6000);
	progress_values_of(&p, &v);
	assert_string_equal(v.total, "2000");
	assert_string_equal(v.rate, "250.0");
	assert_string_equal(v.percent, "25.0");
	assert_string_equal(v.eta_s, "6");
	progress_line("job", &p, line, sizeof(line));
	assert_string_equal(line, "job: 500 done, 250/s, 25%, ETA 6s");
	progress_summary("job", &p, 4700, line, sizeof(line));
	assert_string_equal(line, "job: 500 done in 4.7s, 106/s");
}

/* Without a total or a part done there is a rate and no estimate. */
static void progress_without_a_total_has_no_estimate(void **state)
{
	progress_point p;
	progress_values v;
	char line[128];

	(void)state;
	progress_point_set(&p, 1234567, -1, -1, 1000);
	assert_int_equal(p.ppm, -1);
	assert_int_equal(progress_eta_ms(&p), -1);
	progress_values_of(&p, &v);
	assert_string_equal(v.total, "");
	assert_string_equal(v.percent, "");
	assert_string_equal(v.eta_s, "");
	progress_line("job", &p, line, sizeof(line));
	assert_string_equal(line, "job: 1,234,567 done, 1,234,567/s");
	/* A part done given without a total (a heap walked) estimates. */
	progress_point_set(&p, 10, -1, PROGRESS_WHOLE / 2, 3000);
	assert_int_equal(progress_eta_ms(&p), 3000);
}

/* Progress and log lines come through the report pipe in any pieces,
 * a log line's bytes kept whole and apart from the result. */
static void report_carries_progress_and_log_lines(void **state)
{
	const char *msgs = "run 7\nprogress 40 -1 250000 2000\nlog 6\n"
	                   "a=1\nb\nprogress 80 -1 500000 4000\n"
	                   "output 3\nok\nend 0\n";
	size_t i, n = strlen(msgs);
	report r;

	(void)state;
	report_init(&r);
	for (i = 0; i < n; i += 5)
		assert_int_equal(report_feed(&r, msgs + i, n - i < 5 ? n - i
		                                                 : 5), 0);
	assert_int_equal(r.run_id, 7);
	assert_int_equal(r.progress_seq, 2);
	assert_int_equal(r.progress.done, 80);
	assert_int_equal(r.progress.total, -1);
	assert_int_equal(r.progress.ppm, 500000);
	assert_int_equal(r.progress.elapsed_ms, 4000);
	assert_string_equal(buf_str(&r.log), "a=1\nb\n");
	assert_string_equal(buf_str(&r.output), "ok\n");
	assert_true(r.ended);
	report_free(&r);
	report_init(&r);
	assert_int_equal(report_feed(&r, "progress 1 2\n", 13), -1);
	report_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(duration_single_units),
		cmocka_unit_test(duration_sums_with_and_without_spaces),
		cmocka_unit_test(duration_without_unit_suggests_one),
		cmocka_unit_test(duration_unknown_unit_is_refused),
		cmocka_unit_test(duration_empty_is_refused),
		cmocka_unit_test(duration_negative_is_refused),
		cmocka_unit_test(duration_overflow_is_refused),
		cmocka_unit_test(duration_calendar_units_in_milliseconds),
		cmocka_unit_test(duration_ambiguous_units_name_the_fix),
		cmocka_unit_test(duration_interval_text_keeps_calendar_units),
		cmocka_unit_test(duration_calendar_overflow_is_refused),
		cmocka_unit_test(duration_past_5000_years_is_refused),
		cmocka_unit_test(schedule_matching_no_date_never_fires),
		cmocka_unit_test(duration_format_round_trips),
		cmocka_unit_test(duration_format_normalises),
		cmocka_unit_test(ident_plain_and_qualified),
		cmocka_unit_test(ident_quoted_parts_keep_case_spaces_and_quotes),
		cmocka_unit_test(ident_unquoted_name_with_space_is_kept_whole),
		cmocka_unit_test(ident_empty_part_is_refused),
		cmocka_unit_test(ident_not_utf8_is_refused),
		cmocka_unit_test(ident_four_parts_are_refused),
		cmocka_unit_test(ident_unclosed_quote_is_refused),
		cmocka_unit_test(ident_part_over_63_bytes_is_refused),
		cmocka_unit_test(expr_accepts_conditions),
		cmocka_unit_test(expr_accepts_punctuation_inside_strings),
		cmocka_unit_test(expr_refuses_second_statement),
		cmocka_unit_test(expr_refuses_escaping_its_parentheses),
		cmocka_unit_test(expr_dollar_inside_a_name_opens_no_quote),
		cmocka_unit_test(expr_escape_string_needs_a_lone_e),
		cmocka_unit_test(expr_refuses_strings_that_end_elsewhere_with_escapes),
		cmocka_unit_test(expr_reads_dollar_tags_and_bytes_as_the_server_does),
		cmocka_unit_test(expr_refuses_comments),
		cmocka_unit_test(expr_refuses_unclosed_quotes),
		cmocka_unit_test(expr_refuses_empty_and_blank),
		cmocka_unit_test(suggest_finds_typos),
		cmocka_unit_test(suggest_returns_null_when_nothing_is_close),
		cmocka_unit_test(params_bool_forms),
		cmocka_unit_test(params_list_items_are_trimmed_and_none_empty),
		cmocka_unit_test(params_int_refuses_text),
		cmocka_unit_test(conf_line_with_nul_counts_once),
		cmocka_unit_test(conf_nul_byte_is_a_problem_at_its_line),
		cmocka_unit_test(progress_rate_and_time_left),
		cmocka_unit_test(progress_without_a_total_has_no_estimate),
		cmocka_unit_test(report_carries_progress_and_log_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
