/* suggest: the closest known word to a misspelt one ("did you mean"). */
#include "suggest.h"

#include <ctype.h>
#include <string.h>

#define SUGGEST_MAX_LEN 64

/* Case-insensitive Levenshtein distance of a and b, both shorter than
 * SUGGEST_MAX_LEN. */
static size_t suggest_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[SUGGEST_MAX_LEN + 1];

	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) ==
			              tolower((unsigned char)b[j - 1]) ? 0 : 1;
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The entry of known nearest to word, or NULL when none is near enough to
 * be a likely typo (distance above a third of the word, at least 2). */
const char *suggest_closest(const char *word, const char *const *known,
                            size_t nknown)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, limit, i;

	if (strlen(word) >= SUGGEST_MAX_LEN)
		return NULL;
	limit = strlen(word) / 3;
	if (limit < 2)
		limit = 2;
	for (i = 0; i < nknown; i++) {
		size_t d;
		if (strlen(known[i]) >= SUGGEST_MAX_LEN)
			continue;
		d = suggest_distance(word, known[i]);
		if (d < best_d) {
			best_d = d;
			best = known[i];
		}
	}
	return best_d <= limit ? best : NULL;
}
