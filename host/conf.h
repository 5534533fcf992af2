/* conf: one .ini file read with inih into sections of key = value entries,
 * each entry remembering its line for FILE:LINE messages. */
#ifndef SWEEPD_CONF_H
#define SWEEPD_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

typedef struct conf_entry {
	char *key;
	char *value;     /* continuation lines joined with one space */
	int line;
} conf_entry;

typedef struct conf_section {
	char *name;
	int line;        /* line of the [name] header */
	conf_entry *entries;
	size_t count;
	size_t cap;
} conf_section;

typedef struct conf_file {
	char *path;
	conf_section *sections;
	size_t count;
	size_t cap;
} conf_file;

conf_file *conf_parse(const char *path, bool allow_insecure, diag *d);
const conf_section *conf_section_find(const conf_file *f, const char *name);
const conf_entry *conf_entry_find(const conf_section *s, const char *key);
void conf_check_keys(const char *path, const conf_section *s,
                     const char *owner, const char *const *known,
                     size_t nknown, diag *d);
void conf_free(conf_file *f);

#endif
