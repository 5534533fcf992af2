/* redact: masks passwords in text that may carry a conninfo string, a URI
 * or libpq's message about one, before it is printed, logged or stored.
 *
 * Three things are masked wherever they appear: the value after a key
 * ending in "password" and an "=" (password=..., sslpassword = '...',
 * PGPASSWORD=..., ?password=... in a URI), quoted or not; the password of
 * a URI's user information (scheme://user:PASSWORD@host); and every
 * password redact_dsn() found in the DSN sweepd connects with, however
 * libpq echoes it (a malformed URI's "invalid percent-encoded token:
 * "S3%ZZcret"" names no key).  Masking too much is preferred to showing
 * a secret: an unquoted value runs to the next white space. */
#include "redact.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "buf.h"

/* Passwords remembered from the DSN; shorter ones are not looked for
 * alone (they would mask every occurrence of a common word). */
#define REDACT_MAX_SECRETS 8
#define REDACT_MIN_SECRET 3

static char *redact_secrets[REDACT_MAX_SECRETS];
static size_t redact_nsecrets;

/* Called with each secret span [p, p + n) the walk finds. */
typedef void (*redact_found_fn)(const char *p, size_t n, void *arg);

/* Length of the value of a key = value pair starting at p (after the
 * '=' and any blanks): up to the closing quote of a quoted value (its
 * backslash escapes skipped), else up to white space.  *skip gets the
 * bytes of the opening quote. */
static size_t redact_value_len(const char *p, size_t *skip)
{
	size_t n = 0;

	*skip = 0;
	if (*p == '\'') {
		*skip = 1;
		for (p++; p[n] && p[n] != '\''; n++)
			if (p[n] == '\\' && p[n + 1])
				n++;
		return n;
	}
	while (p[n] && !isspace((unsigned char)p[n]))
		n++;
	return n;
}

/* At p, "password" (any case, possibly the end of a longer key) followed
 * by blanks, '=' and blanks: returns the offset of the value, sets *n to
 * its length (0: none).  0 when p is no such key. */
static size_t redact_keyword(const char *p, size_t *n)
{
	size_t i = 8, skip;

	if (strncasecmp(p, "password", 8) != 0)
		return 0;
	while (p[i] == ' ' || p[i] == '\t')
		i++;
	if (p[i] != '=')
		return 0;
	for (i++; p[i] == ' ' || p[i] == '\t'; i++)
		;
	*n = redact_value_len(p + i, &skip);
	return i + skip;
}

/* At p, "://": returns the offset of a URI's password (after the first
 * ':' of the text that follows, up to the last '@' before white space or
 * a byte of stop), setting *n to its length; 0 when there is none. */
static size_t redact_uri(const char *p, const char *stop, size_t *n)
{
	const char *colon = NULL, *at = NULL, *q;

	if (strncmp(p, "://", 3) != 0)
		return 0;
	for (q = p + 3; *q && !isspace((unsigned char)*q) &&
	     strchr(stop, *q) == NULL; q++) {
		if (*q == ':' && colon == NULL)
			colon = q;
		else if (*q == '@')
			at = q;
	}
	if (colon == NULL || at == NULL || at < colon)
		return 0;
	*n = (size_t)(at - colon - 1);
	return (size_t)(colon + 1 - p);
}

/* The remembered secret that starts at p, its length in *n; false when
 * none does. */
static bool redact_known(const char *p, size_t *n)
{
	size_t i;

	for (i = 0; i < redact_nsecrets; i++) {
		*n = strlen(redact_secrets[i]);
		if (strncmp(p, redact_secrets[i], *n) == 0)
			return true;
	}
	return false;
}

/* Walks text: copies it into out (when not NULL) with every secret
 * masked, and calls found (when not NULL) with each secret span found by
 * its shape (not the remembered ones).  A URI's user information ends at
 * a byte of stop as well as at white space. */
static void redact_walk(const char *text, const char *stop, buf *out,
                        redact_found_fn found, void *arg)
{
	const char *p = text;
	size_t at, n;

	while (*p) {
		if (out && redact_known(p, &n)) {
			buf_puts(out, REDACT_MASK);
			p += n;
			continue;
		}
		at = redact_uri(p, stop, &n);
		if (at == 0)
			at = redact_keyword(p, &n);
		if (at == 0 || n == 0) {
			if (out)
				buf_append(out, p, 1);
			p++;
			continue;
		}
		if (out) {
			buf_append(out, p, at);
			buf_puts(out, REDACT_MASK);
		}
		if (found)
			found(p + at, n, arg);
		p += at + n;
	}
}

/* Remembers the n bytes at p as a secret to mask wherever it appears. */
static void redact_remember(const char *p, size_t n, void *arg)
{
	size_t i;
	char *s;

	(void)arg;
	if (n < REDACT_MIN_SECRET || redact_nsecrets == REDACT_MAX_SECRETS)
		return;
	for (i = 0; i < redact_nsecrets; i++)
		if (strlen(redact_secrets[i]) == n &&
		    strncmp(redact_secrets[i], p, n) == 0)
			return;
	if ((s = strndup(p, n)) != NULL)
		redact_secrets[redact_nsecrets++] = s;
}

/* Remembers the passwords of dsn, as written (also in a DSN libpq cannot
 * parse) and as libpq reads them (percent-decoded, unquoted), and
 * $PGPASSWORD, so that redact_conninfo() masks them wherever they
 * appear.  Safe to call again with the same dsn.  The strings are kept
 * for the life of the process. */
void redact_dsn(const char *dsn)
{
	PQconninfoOption *opts, *o;
	const char *env = getenv("PGPASSWORD");

	if (dsn == NULL)
		return;
	redact_walk(dsn, "", NULL, redact_remember, NULL);
	opts = PQconninfoParse(dsn, NULL);
	for (o = opts; o && o->keyword; o++)
		if (o->val && strcmp(o->keyword, "password") == 0)
			redact_remember(o->val, strlen(o->val), NULL);
	PQconninfoFree(opts);
	if (env)
		redact_remember(env, strlen(env), NULL);
}

/* Writes text into out (len bytes, NUL-terminated, truncated to fit)
 * with every password masked as REDACT_MASK (see the top of this file).
 * out may be text itself. */
void redact_conninfo(const char *text, char *out, size_t len)
{
	buf b = BUF_INIT;
	size_t n;

	if (len == 0)
		return;
	redact_walk(text ? text : "", "\"", &b, NULL, NULL);
	if (b.oom) {
		/* Nothing is safer to show than nothing. */
		snprintf(out, len, "%s", "(message withheld: out of memory)");
		buf_free(&b);
		return;
	}
	n = b.len < len - 1 ? b.len : len - 1;
	memcpy(out, buf_str(&b), n);
	out[n] = '\0';
	buf_free(&b);
}
