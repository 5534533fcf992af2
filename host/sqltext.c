/* sqltext: checks of user-written SQL pieces (names, conditions) and the
 * quoting of names, so that no option can inject a statement. */
#include "sqltext.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "utf8.h"

/* Splits a possibly qualified name into its parts.  A part in double quotes
 * ends at its closing quote ("" is a quote inside it) and may hold dots; any
 * other part is taken exactly as written up to the next dot, case, spaces
 * and quotes included, with surrounding blanks trimmed.  The name must be
 * valid UTF-8: every session sweepd opens speaks UTF-8 to the server
 * (client_encoding), which would refuse anything else; a character the
 * database's own encoding lacks (a LATIN1 database) only the server can
 * tell, at the run's first statement naming it.  On success *parts is a
 * new array of new strings (free with sqltext_parts_free()).  Returns 0,
 * or -1 with a message saying what to fix. */
int sqltext_ident_split(const char *text, char ***parts, size_t *nparts,
                        char *err, size_t errlen)
{
	char **v = NULL;
	size_t n = 0;
	const char *p = text;
	size_t bad = utf8_bad(text);

	*parts = NULL;
	*nparts = 0;
	if (bad) {
		snprintf(err, errlen, "name is not valid UTF-8 (byte %zu is "
		         "not): write the file in UTF-8, the encoding sweepd "
		         "speaks to PostgreSQL", bad);
		return -1;
	}
	v = calloc(SQLTEXT_MAX_PARTS, sizeof(*v));
	if (v == NULL)
		goto oom;
	for (;;) {
		buf part = BUF_INIT;

		while (*p == ' ' || *p == '\t')
			p++;
		if (n == SQLTEXT_MAX_PARTS) {
			snprintf(err, errlen, "name '%s' has more than %d "
			         "dot-separated parts; quote a part that holds "
			         "a dot: \"my.table\"", text, SQLTEXT_MAX_PARTS);
			goto fail;
		}
		if (*p == '"') {
			for (p++;; p++) {
				if (*p == '\0') {
					snprintf(err, errlen, "name '%s' has an "
					         "unclosed double quote", text);
					buf_free(&part);
					goto fail;
				}
				if (*p == '"' && p[1] == '"')
					p++;
				else if (*p == '"')
					break;
				buf_append(&part, p, 1);
			}
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p != '\0' && *p != '.') {
				snprintf(err, errlen, "name '%s': unexpected "
				         "text after a quoted part", text);
				buf_free(&part);
				goto fail;
			}
		} else {
			const char *end = strchr(p, '.');
			size_t len = end ? (size_t)(end - p) : strlen(p);
			while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
				len--;
			buf_append(&part, p, len);
			p += len;
			while (*p == ' ' || *p == '\t')
				p++;
		}
		if (part.len == 0) {
			snprintf(err, errlen, "name '%s' has an empty part; "
			         "write NAME or SCHEMA.NAME", text);
			buf_free(&part);
			goto fail;
		}
		if (part.len > SQLTEXT_NAME_MAX) {
			snprintf(err, errlen, "name part '%s' is longer than "
			         "%d bytes; PostgreSQL would truncate it",
			         buf_str(&part), SQLTEXT_NAME_MAX);
			buf_free(&part);
			goto fail;
		}
		if ((v[n] = buf_detach(&part)) == NULL)
			goto oom;
		n++;
		if (*p != '.')
			break;
		p++;
	}
	*parts = v;
	*nparts = n;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	sqltext_parts_free(v, n);
	return -1;
}

/* Frees parts from sqltext_ident_split(). */
void sqltext_parts_free(char **parts, size_t nparts)
{
	size_t i;

	for (i = 0; i < nparts; i++)
		free(parts[i]);
	free(parts);
}

/* Parts from..to-1 of a split name, each quoted with PQescapeIdentifier
 * and joined with dots, in a new string the caller frees; NULL when memory
 * runs out. */
char *sqltext_parts_quote(PGconn *conn, char *const *parts, size_t from,
                          size_t to)
{
	buf b = BUF_INIT;
	size_t i;

	for (i = from; i < to; i++) {
		char *q = PQescapeIdentifier(conn, parts[i], strlen(parts[i]));
		if (q == NULL) {
			b.oom = 1;
			break;
		}
		if (i > from)
			buf_puts(&b, ".");
		buf_puts(&b, q);
		PQfreemem(q);
	}
	return buf_detach(&b);
}

/* The name quoted for SQL, part by part (sqltext_parts_quote()), in a new
 * string the caller frees; NULL when the name does not split or memory
 * runs out.  The name was checked when the config loaded. */
char *sqltext_ident_quote(PGconn *conn, const char *text)
{
	char **parts, *out;
	size_t n;
	char err[256];

	if (sqltext_ident_split(text, &parts, &n, err, sizeof(err)) != 0)
		return NULL;
	out = sqltext_parts_quote(conn, parts, 0, n);
	sqltext_parts_free(parts, n);
	return out;
}

/* True when c may stand in a dollar-quote tag or continue a name in
 * PostgreSQL's lexer: a letter, '_', or any byte of a multibyte character
 * (digits too, but not first). */
static int sqltext_tag_char(char c)
{
	return isalpha((unsigned char)c) || c == '_' ||
	       (unsigned char)c >= 0x80;
}

/* Length of a dollar-quote tag ("$tag$" or "$$") starting at p, or 0 when
 * p does not start one (e.g. a parameter like $1). */
static size_t sqltext_dollar_tag(const char *p)
{
	size_t i = 1;

	if (p[0] != '$')
		return 0;
	if (isdigit((unsigned char)p[1]))
		return 0;
	while (sqltext_tag_char(p[i]) || isdigit((unsigned char)p[i]))
		i++;
	return p[i] == '$' ? i + 1 : 0;
}

/* True when c continues an unquoted name or key word in PostgreSQL:
 * a letter, digit, '_', '$' or any byte of a multibyte character. */
static int sqltext_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' ||
	       (unsigned char)c >= 0x80;
}

/* The closing quote of the string or quoted name opened by the quote at
 * p (a doubled quote stays inside), reading a backslash as escaping the
 * next byte when esc; NULL when it is not closed. */
static const char *sqltext_quote_end(const char *p, int esc)
{
	char q = *p;

	for (p++; *p; p++) {
		if (esc && *p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == q && p[1] == q) {
			p++;
			continue;
		}
		if (*p == q)
			return p;
	}
	return NULL;
}

/* Finds the end of the string or quoted name opened at p (text is the
 * whole condition).  Only a lone E before the quote makes an escape
 * string for sure; any other string must end at the same place whether or
 * not backslashes escape, since standard_conforming_strings = off (a
 * server, database or role setting) makes them escape.  Returns the
 * closing quote, or NULL with a message saying what to fix. */
static const char *sqltext_quoted(const char *text, const char *p,
                                  char *err, size_t errlen)
{
	size_t off = (size_t)(p - text) + 1;
	int lone_e = *p == '\'' && p > text && (p[-1] == 'E' || p[-1] == 'e') &&
	             (p == text + 1 || !sqltext_name_char(p[-2]));
	const char *plain = sqltext_quote_end(p, 0);
	const char *esc = sqltext_quote_end(p, *p == '\'');
	const char *end = lone_e ? esc : plain;

	if (end == NULL) {
		snprintf(err, errlen, "condition has an unclosed %s starting "
		         "at character %zu", *p == '\'' ? "string" : "quoted name",
		         off);
		return NULL;
	}
	if (!lone_e && plain != esc) {
		snprintf(err, errlen, "condition's string at character %zu ends "
		         "elsewhere when backslashes escape (as they do with "
		         "standard_conforming_strings = off): write '' for a "
		         "quote inside a string, or E'...' with \\' and \\\\",
		         off);
		return NULL;
	}
	return end;
}

/* Accepts text only when it can be placed inside "AND (...)" as one
 * boolean expression, read the same way whatever the server's settings:
 * valid UTF-8, not empty, no ';', no comments, parentheses balanced, every
 * string, name and dollar quote closed, no string whose end depends on
 * backslash escapes.  Returns 0, or -1 with a message naming the offending
 * character's offset and the fix. */
int sqltext_expr_check(const char *text, char *err, size_t errlen)
{
	const char *p = text;
	int depth = 0, blank = 1;
	size_t bad = utf8_bad(text);

	if (bad) {
		snprintf(err, errlen, "condition has a byte that is not valid "
		         "UTF-8 at character %zu: write the file in UTF-8", bad);
		return -1;
	}
	for (; *p; p++) {
		size_t off = (size_t)(p - text) + 1;
		size_t tag;

		if (!isspace((unsigned char)*p))
			blank = 0;
		if (*p == '\'' || *p == '"') {
			if ((p = sqltext_quoted(text, p, err, errlen)) == NULL)
				return -1;
		} else if ((tag = sqltext_dollar_tag(p)) > 0) {
			const char *end = p + tag;
			while (*end && strncmp(end, p, tag) != 0)
				end++;
			if (*end == '\0') {
				snprintf(err, errlen, "condition has an unclosed "
				         "dollar quote %.*s at character %zu",
				         (int)(tag < 64 ? tag : 64), p, off);
				return -1;
			}
			p = end + tag - 1;
		} else if (isalpha((unsigned char)*p) || *p == '_' ||
		           (unsigned char)*p >= 0x80) {
			/* A name or key word.  PostgreSQL continues it over
			 * '$' (a$b$ is one name), so a '$' in it opens no
			 * dollar quote that could hide a ')' or ';'. */
			while (sqltext_name_char(p[1]))
				p++;
		} else if (*p == ';') {
			snprintf(err, errlen, "condition contains ';' at "
			         "character %zu: write one expression, not "
			         "statements", off);
			return -1;
		} else if ((p[0] == '-' && p[1] == '-') ||
		           (p[0] == '/' && p[1] == '*')) {
			snprintf(err, errlen, "condition contains a comment at "
			         "character %zu: remove it", off);
			return -1;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && --depth < 0) {
			snprintf(err, errlen, "condition closes a parenthesis "
			         "it did not open at character %zu", off);
			return -1;
		}
	}
	if (blank) {
		snprintf(err, errlen, "condition is empty: remove the key or "
		         "write an expression");
		return -1;
	}
	if (depth > 0) {
		snprintf(err, errlen, "condition leaves %d parenthes%s open",
		         depth, depth == 1 ? "is" : "es");
		return -1;
	}
	return 0;
}
