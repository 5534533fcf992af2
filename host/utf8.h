/* utf8: telling valid UTF-8 from bytes that are not. */
#ifndef SWEEPD_UTF8_H
#define SWEEPD_UTF8_H

#include <stddef.h>

size_t utf8_len(const unsigned char *p);
size_t utf8_bad(const char *text);

#endif
