/* utf8: telling valid UTF-8 from bytes that are not. */
#include "utf8.h"

/* Length of the UTF-8 character at p (1 to 4), or 0 when p does not start
 * a valid one (stray continuation byte, overlong form, surrogate, beyond
 * U+10FFFF, or cut short by the end of the text). */
size_t utf8_len(const unsigned char *p)
{
	size_t n, i;
	unsigned long cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* 0 when text is valid UTF-8, else the 1-based offset of the first byte
 * that is not. */
size_t utf8_bad(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0)
			return (size_t)(p - (const unsigned char *)text) + 1;
		p += n;
	}
	return 0;
}
