/* size: parse and print amounts of memory such as 64MiB or 1GiB. */
#ifndef SWEEPD_SIZE_H
#define SWEEPD_SIZE_H

#include <stddef.h>
#include <stdint.h>

int size_parse(const char *text, int64_t *bytes, char *err, size_t errlen);
void size_format(int64_t bytes, char *out, size_t outlen);

#endif
