/* dirlist: the files of a directory with a given suffix, in lexical order. */
#include "dirlist.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static int dirlist_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists "DIR/NAME" for every entry of dir whose name ends with suffix and
 * does not start with '.', sorted by byte value (the C locale's lexical
 * order, whatever the user's locale).  On success *paths is a new array of
 * new strings the caller frees with dirlist_free().  Returns 0, or -1 with
 * a message naming the directory. */
int dirlist_read(const char *dir, const char *suffix, char ***paths,
                 size_t *count, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *e;
	char **v = NULL;
	size_t n = 0, cap = 0, slen = strlen(suffix);
	int rc = -1;

	*paths = NULL;
	*count = 0;
	d = opendir(dir);
	if (d == NULL) {
		snprintf(err, errlen, "%s: cannot open directory: %s", dir,
		         strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		buf path = BUF_INIT;

		if (e->d_name[0] == '.' || len <= slen ||
		    strcmp(e->d_name + len - slen, suffix) != 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **p = realloc(v, ncap * sizeof(*p));
			if (p == NULL)
				goto oom;
			v = p;
			cap = ncap;
		}
		buf_printf(&path, "%s/%s", dir, e->d_name);
		if ((v[n] = buf_detach(&path)) == NULL)
			goto oom;
		n++;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), dirlist_cmp);
	*paths = v;
	*count = n;
	v = NULL;
	n = 0;
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "%s: out of memory listing directory", dir);
out:
	closedir(d);
	dirlist_free(v, n);
	return rc;
}

/* Frees a list from dirlist_read(). */
void dirlist_free(char **paths, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(paths[i]);
	free(paths);
}
