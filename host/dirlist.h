/* dirlist: the files of a directory with a given suffix, in lexical order. */
#ifndef SWEEPD_DIRLIST_H
#define SWEEPD_DIRLIST_H

#include <stddef.h>

int dirlist_read(const char *dir, const char *suffix, char ***paths,
                 size_t *count, char *err, size_t errlen);
void dirlist_free(char **paths, size_t count);

#endif
