/* suggest: the closest known word to a misspelt one ("did you mean"). */
#ifndef SWEEPD_SUGGEST_H
#define SWEEPD_SUGGEST_H

#include <stddef.h>

const char *suggest_closest(const char *word, const char *const *known,
                            size_t nknown);

#endif
