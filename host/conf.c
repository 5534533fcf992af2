/* conf: one .ini file read with inih into sections of key = value entries,
 * each entry remembering its line for FILE:LINE messages. */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "buf.h"
#include "suggest.h"

/* State shared by the line reader and inih's handler.  inih calls the
 * handler right after reading the line that holds the entry, so the
 * reader's line count is the entry's line. */
typedef struct conf_reader {
	FILE *fp;
	conf_file *file;
	diag *d;
	int line;
	int continuation;    /* the current line continues the previous value */
	int failed;          /* out of memory */
	conf_entry *last;    /* entry a continuation line extends */
} conf_reader;

/* The section named name, created (with header line) if new; NULL when
 * out of memory. */
static conf_section *conf_section_get(conf_file *f, const char *name, int line)
{
	size_t i;
	conf_section *s;

	for (i = 0; i < f->count; i++)
		if (strcmp(f->sections[i].name, name) == 0)
			return &f->sections[i];
	if (f->count == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 4;
		conf_section *p = realloc(f->sections, cap * sizeof(*p));
		if (p == NULL)
			return NULL;
		f->sections = p;
		f->cap = cap;
	}
	s = &f->sections[f->count];
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	if (s->name == NULL)
		return NULL;
	s->line = line;
	f->count++;
	return s;
}

/* Checks the shape of one raw line before inih sees it, so that every bad
 * line is reported with its number (inih only returns the first), and
 * turns an over-long line, which inih would split, into an error. */
static void conf_check_line(conf_reader *r, char *str, int too_long)
{
	char *p = str;
	size_t len;

	r->continuation = 0;
	if (too_long) {
		diag_add(r->d, r->file->path, r->line,
		         "line is longer than %d characters; continue a long "
		         "value on indented lines below it", INI_MAX_LINE - 2);
		str[0] = '\0';
		return;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '\n' || *p == '\r' || *p == ';' || *p == '#')
		return;
	if (p > str && r->last != NULL) {
		r->continuation = 1;
		return;
	}
	len = strcspn(p, "\r\n");
	if (*p == '[') {
		const char *close = memchr(p, ']', len);
		char name[INI_MAX_LINE];
		size_t nlen;

		if (close == NULL) {
			diag_add(r->d, r->file->path, r->line,
			         "section header lacks its closing ']'");
			str[0] = '\0';
			return;
		}
		nlen = (size_t)(close - p - 1);
		memcpy(name, p + 1, nlen);
		name[nlen] = '\0';
		if (conf_section_find(r->file, name) != NULL) {
			diag_add(r->d, r->file->path, r->line,
			         "section [%s] appears twice (first on line %d); "
			         "merge them", name,
			         conf_section_find(r->file, name)->line);
		} else if (conf_section_get(r->file, name, r->line) == NULL) {
			r->failed = 1;
		}
		r->last = NULL;
		return;
	}
	if (memchr(p, '=', len) == NULL && memchr(p, ':', len) == NULL) {
		diag_add(r->d, r->file->path, r->line,
		         "expected 'key = value', a [section] or a comment, "
		         "got '%.*s'", (int)len, p);
		str[0] = '\0';
	}
}

/* Reads the rest of an over-long line, up to and with its '\n'. */
static void conf_skip_line(FILE *fp)
{
	int c;

	while ((c = getc(fp)) != EOF && c != '\n')
		;
}

/* inih reader: reads one line, '\n' included, into str (num bytes), counts
 * it and checks it.  Unlike fgets(), it knows the line's length whatever
 * bytes it holds: a line longer than str is read to its end, so that it
 * counts as one line, and a NUL byte, which would cut the line short for
 * inih and strlen(), is a problem at its line (said instead of the line's
 * length when it is both). */
static char *conf_read_line(char *str, int num, void *stream)
{
	conf_reader *r = stream;
	int c, n = 0, nul = 0, too_long;

	while (n < num - 1 && (c = getc(r->fp)) != EOF) {
		str[n++] = (char)c;
		if (c == '\0' && nul == 0)
			nul = n;
		if (c == '\n')
			break;
	}
	if (n == 0)
		return NULL;
	str[n] = '\0';
	r->line++;
	too_long = n == num - 1 && str[n - 1] != '\n';
	if (too_long)
		conf_skip_line(r->fp);
	if (nul) {
		diag_add(r->d, r->file->path, r->line,
		         "line holds a NUL byte (character %d); a job file is "
		         "plain text: remove it, or save the file as UTF-8 if "
		         "it is UTF-16", nul);
		r->continuation = 0;
		str[0] = '\0';
	} else {
		conf_check_line(r, str, too_long);
	}
	return str;
}

/* inih handler: records section.key = value with its line; a duplicate key
 * is reported, a continuation line extends the previous value. */
static int conf_handle(void *user, const char *section, const char *name,
                       const char *value)
{
	conf_reader *r = user;
	conf_section *s;
	conf_entry *e;
	size_t i;

	if (r->continuation && r->last != NULL) {
		buf b = BUF_INIT;
		char *joined;

		buf_printf(&b, "%s %s", r->last->value, value);
		if ((joined = buf_detach(&b)) == NULL) {
			r->failed = 1;
			return 0;
		}
		free(r->last->value);
		r->last->value = joined;
		return 1;
	}
	if (section[0] == '\0') {
		diag_add(r->d, r->file->path, r->line,
		         "'%s' is outside any section; put it under [job], "
		         "[params] or [sweepd]", name);
		return 1;
	}
	s = conf_section_get(r->file, section, r->line);
	if (s == NULL) {
		r->failed = 1;
		return 0;
	}
	for (i = 0; i < s->count; i++) {
		if (strcmp(s->entries[i].key, name) == 0) {
			diag_add(r->d, r->file->path, r->line,
			         "'%s' is set twice in [%s] (first on line %d); "
			         "keep one", name, section, s->entries[i].line);
			r->last = NULL;
			return 1;
		}
	}
	if (s->count == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		conf_entry *p = realloc(s->entries, cap * sizeof(*p));
		if (p == NULL) {
			r->failed = 1;
			return 0;
		}
		s->entries = p;
		s->cap = cap;
	}
	e = &s->entries[s->count];
	e->key = strdup(name);
	e->value = strdup(value);
	e->line = r->line;
	if (e->key == NULL || e->value == NULL) {
		free(e->key);
		free(e->value);
		r->failed = 1;
		return 0;
	}
	s->count++;
	r->last = e;
	return 1;
}

/* Reads the file at path.  Returns a new conf_file (free with conf_free())
 * holding every well-formed entry, with every problem added to d as
 * FILE:LINE; NULL, with the reason in d, when the file cannot be read. */
conf_file *conf_parse(const char *path, diag *d)
{
	conf_reader r;
	conf_file *f;

	memset(&r, 0, sizeof(r));
	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->path = strdup(path)) == NULL) {
		diag_add(d, path, 0, "out of memory");
		free(f);
		return NULL;
	}
	r.fp = fopen(path, "r");
	if (r.fp == NULL) {
		diag_add(d, path, 0, "cannot read: %s", strerror(errno));
		conf_free(f);
		return NULL;
	}
	r.file = f;
	r.d = d;
	ini_parse_stream(conf_read_line, &r, conf_handle, &r);
	fclose(r.fp);
	if (r.failed) {
		diag_add(d, path, r.line, "out of memory");
		conf_free(f);
		return NULL;
	}
	return f;
}

/* The section called name, or NULL. */
const conf_section *conf_section_find(const conf_file *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->count; i++)
		if (strcmp(f->sections[i].name, name) == 0)
			return &f->sections[i];
	return NULL;
}

/* The entry key of section s (which may be NULL), or NULL. */
const conf_entry *conf_entry_find(const conf_section *s, const char *key)
{
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < s->count; i++)
		if (strcmp(s->entries[i].key, key) == 0)
			return &s->entries[i];
	return NULL;
}

/* Reports, as path:line, every key of section s (may be NULL) that is not
 * one of the nknown known keys: "OWNER has no 'key'; did you mean 'k'?",
 * or, with nothing close, the list of known keys. */
void conf_check_keys(const char *path, const conf_section *s,
                     const char *owner, const char *const *known,
                     size_t nknown, diag *d)
{
	size_t i, k;

	for (i = 0; s && i < s->count; i++) {
		const char *key = s->entries[i].key;
		const char *hint;
		buf all = BUF_INIT;

		for (k = 0; k < nknown; k++)
			if (strcmp(key, known[k]) == 0)
				break;
		if (k < nknown)
			continue;
		hint = suggest_closest(key, known, nknown);
		if (hint) {
			diag_add(d, path, s->entries[i].line, "%s '%s'; did "
			         "you mean '%s'?", owner, key, hint);
			continue;
		}
		for (k = 0; k < nknown; k++)
			buf_printf(&all, "%s%s", k ? ", " : "", known[k]);
		diag_add(d, path, s->entries[i].line, "%s '%s'; known: %s",
		         owner, key, nknown ? buf_str(&all) : "none");
		buf_free(&all);
	}
}

/* Frees f and everything it holds; f may be NULL. */
void conf_free(conf_file *f)
{
	size_t i, j;

	if (f == NULL)
		return;
	for (i = 0; i < f->count; i++) {
		for (j = 0; j < f->sections[i].count; j++) {
			free(f->sections[i].entries[j].key);
			free(f->sections[i].entries[j].value);
		}
		free(f->sections[i].entries);
		free(f->sections[i].name);
	}
	free(f->sections);
	free(f->path);
	free(f);
}
