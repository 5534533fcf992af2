/*
 * json_keys: the SQL that finds and removes personal data held under
 * matching keys in JSON, shared by the plugins anonymize and
 * cascade_delete (a header of the plugins, built into each; it uses only
 * the public SDK).
 *
 * Which keys match.  A list of entries (json_strip_keys) and a list of
 * exceptions (json_keep_keys) are turned by jk_prepare() into one array
 * of patterns.  Every comparison ignores case (PostgreSQL's lower()).  A
 * key matches an entry when:
 *   - the entry holds '*': the whole key matches it as a glob, '*' standing
 *     for any run of characters ("*email*", "phone*");
 *   - otherwise the key equals the entry, or the key's words hold the
 *     entry's words in a row, the last one also with "s" or "es" added.
 *     A key's words are its runs of letters and of digits, cut at every
 *     other character ("_", "-", ".", " "), between a lower-case and an
 *     upper-case letter ("userEmail"), before the last capital of a run of
 *     capitals followed by a lower-case letter ("HTMLEmail"), and between
 *     letters and digits ("address2").  So "email" takes Email, EMAIL,
 *     userEmail, user_email, email-address, emails, emailVerified; "name"
 *     takes firstName, last_name, displayName, names, but not username,
 *     filename, namespace or hostname, which are single words: a plain
 *     entry never matches inside a word.
 * A key matching an exception stays, whatever entry it matches.  When a
 * key matches, its whole value goes: object, array or scalar.
 *
 * Where keys are looked for.  In every object of the value at any depth,
 * through objects and arrays, and inside every string holding a JSON
 * object or array (a JSON document stored as a string), which is read,
 * stripped and written back as a string (compact, as PostgreSQL prints
 * jsonb) only when something was removed from it.
 *
 * Which strings hold JSON.  PostgreSQL 15 cannot try a cast without an
 * error, and the dry run (a read-only transaction) cannot create the
 * plpgsql function that would catch one, so a string is recognised by a
 * checker written in plain SQL: its strings, literals and numbers become
 * tokens, and its innermost arrays and objects are reduced to a value,
 * over and over, until one value is left.  The checker is conservative:
 * what it accepts PostgreSQL's jsonb accepts; it refuses (and so leaves as
 * plain text) the rare JSON that nests deeper than JK_MAX_DEPTH, a number
 * with more than 255 digits in a part or 4 in its exponent, or the escape
 * \u0000 or a lone surrogate, which jsonb refuses too.
 *
 * Functions return new strings (api->free), or NULL when out of memory.
 */
#ifndef SWEEPD_PLUGIN_JSON_KEYS_H
#define SWEEPD_PLUGIN_JSON_KEYS_H

#include <string.h>

#include <sweepd/plugin.h>

/* Nesting levels the checker of JSON in strings reduces. */
#define JK_MAX_DEPTH "64"

/* Words of the text expression %s: " w1 w2 ... " in lower case. */
#define JK_WORDS_SQL                                                       \
	"(' ' || lower(btrim(regexp_replace(regexp_replace(regexp_replace("    \
	"regexp_replace(regexp_replace(%s,"                                    \
	" $r$([[:lower:]])([[:upper:]])$r$, $r$\\1 \\2$r$, 'g'),"             \
	" $r$([[:upper:]])([[:upper:]][[:lower:]])$r$, $r$\\1 \\2$r$, 'g'),"  \
	" $r$([[:alpha:]])([[:digit:]])$r$, $r$\\1 \\2$r$, 'g'),"             \
	" $r$([[:digit:]])([[:alpha:]])$r$, $r$\\1 \\2$r$, 'g'),"             \
	" $r$[^[:alnum:]]+$r$, ' ', 'g'))) || ' ')"

/* The jsonb that the text expression %1$s holds when it is a JSON object
 * or array the checker accepts, else NULL.  Tokens: S a string, V any
 * other value (and, once reduced, an array or object); raw S and V are
 * first made '#', which no token holds. */
#define JK_TRY_JSON_SQL                                                    \
	"(SELECT CASE WHEN bool_or(jk_r.s = 'V') THEN (%1$s)::jsonb END"      \
	" FROM (WITH RECURSIVE jk_red(s, n) AS (SELECT regexp_replace("        \
	"regexp_replace(regexp_replace(regexp_replace(translate(%1$s, 'SV',"  \
	" '##'), $r$\"([^\"\\\\\\x01-\\x1f]|\\\\[\"\\\\/bfnrt]"               \
	"|\\\\u[dD][89abAB][0-9a-fA-F]{2}\\\\u[dD][c-fC-F][0-9a-fA-F]{2}"     \
	"|\\\\u(?![dD][89a-fA-F])(?!0000)[0-9a-fA-F]{4})*\"$r$, 'S', 'g'),"   \
	" 'true|false|null', 'V', 'g'),"                                       \
	" $r$-?(0|[1-9][0-9]{0,254})(\\.[0-9]{1,255})?([eE][+-]?[0-9]{1,4})?"  \
	"$r$, 'V', 'g'), $r$[ \\t\\n\\r]+$r$, '', 'g'), 0"                     \
	" WHERE %1$s ~ $r$^[ \\t\\n\\r]*[{[]$r$"                              \
	" UNION ALL SELECT jk_t.s, jk_red.n + 1 FROM jk_red, LATERAL (SELECT" \
	" regexp_replace(regexp_replace(jk_red.s, $r$\\[([SV](,[SV])*)?\\]$r$," \
	" 'V', 'g'), $r$\\{(S:[SV](,S:[SV])*)?\\}$r$, 'V', 'g') AS s OFFSET 0)" \
	" jk_t WHERE jk_t.s <> jk_red.s AND jk_red.n < " JK_MAX_DEPTH ")"      \
	" SELECT s FROM jk_red) jk_r)"

/* Whether the key (text expression %1$s) matches the patterns (text[]
 * expression %3$s); %2$s is JK_WORDS_SQL of the key.  Never NULL. */
#define JK_MATCH_SQL                                                       \
	"coalesce((SELECT bool_or(jk_m.hit) FILTER (WHERE jk_m.f = 's')"      \
	" AND NOT coalesce(bool_or(jk_m.hit) FILTER (WHERE jk_m.f = 'k'),"    \
	" false) FROM (SELECT left(jk_p, 1) AS f, CASE substr(jk_p, 2, 1)"    \
	" WHEN 'e' THEN jk_x.l = substr(jk_p, 3)"                              \
	" WHEN 'g' THEN jk_x.l LIKE substr(jk_p, 3)"                           \
	" ELSE strpos(jk_x.w, substr(jk_p, 3)) > 0 END AS hit"                \
	" FROM (SELECT lower(%1$s) AS l, %2$s AS w OFFSET 0) jk_x,"            \
	" unnest(%3$s) jk_p) jk_m), false)"

/* Returns JK_TRY_JSON_SQL of the text expression x. */
static inline char *jk_try_json(const sweep_api *api, const char *x)
{
	return api->mprintf(JK_TRY_JSON_SQL, x);
}

/* Returns JK_MATCH_SQL of the key (text expression) k and the patterns
 * (text[] expression) pats. */
static inline char *jk_match(const sweep_api *api, const char *k,
                             const char *pats)
{
	char *words = api->mprintf(JK_WORDS_SQL, k), *sql = NULL;

	if (words)
		sql = api->mprintf(JK_MATCH_SQL, k, words, pats);
	api->free(words);
	return sql;
}

/* Returns the condition that the jsonb expression j holds a key matching
 * pats anywhere jk_strip() looks (true or false, never NULL).  Plain SQL:
 * usable in a dry run. */
static inline char *jk_has(const sweep_api *api, const char *j,
                           const char *pats)
{
	char *try = jk_try_json(api, "(jk_w.v #>> '{}')");
	char *match = jk_match(api, "jk_k.k", pats), *sql = NULL;

	if (try && match)
		sql = api->mprintf(
			"EXISTS (WITH RECURSIVE jk_walk(v) AS (SELECT %s"
			" UNION ALL SELECT jk_c.v FROM jk_walk jk_w CROSS JOIN"
			" LATERAL (SELECT jk_e.value FROM jsonb_each(CASE"
			" jsonb_typeof(jk_w.v) WHEN 'object' THEN jk_w.v END)"
			" jk_e UNION ALL SELECT jk_a.value FROM"
			" jsonb_array_elements(CASE jsonb_typeof(jk_w.v) WHEN"
			" 'array' THEN jk_w.v END) jk_a UNION ALL SELECT %s"
			" WHERE jsonb_typeof(jk_w.v) = 'string') jk_c(v) WHERE"
			" jk_c.v IS NOT NULL) SELECT 1 FROM jk_walk jk_w CROSS"
			" JOIN LATERAL jsonb_object_keys(CASE jsonb_typeof("
			"jk_w.v) WHEN 'object' THEN jk_w.v END) jk_k(k) WHERE"
			" %s)", j, try, match);
	api->free(try);
	api->free(match);
	return sql;
}

/* Returns the statement creating the session's own function
 * pg_temp.sweepd_strip(jsonb, text[]): a copy of its jsonb without the keys
 * matching the patterns, as the header says.  A temporary function needs
 * only TEMP on the database and goes with the session; a run creates it,
 * a dry run (read-only) cannot and uses jk_has() alone. */
static inline char *jk_strip_function(const sweep_api *api)
{
	char *try = jk_try_json(api, "(jk_j #>> '{}')");
	char *match = jk_match(api, "jk_e.key", "jk_pats"), *sql = NULL;

	if (try && match)
		sql = api->mprintf(
			"CREATE OR REPLACE FUNCTION pg_temp.sweepd_strip(jk_j"
			" jsonb, jk_pats text[]) RETURNS jsonb LANGUAGE sql"
			" IMMUTABLE STRICT PARALLEL SAFE AS $f$ SELECT CASE"
			" jsonb_typeof(jk_j) WHEN 'object' THEN (SELECT"
			" coalesce(jsonb_object_agg(jk_e.key,"
			" pg_temp.sweepd_strip(jk_e.value, jk_pats)),"
			" '{}'::jsonb) FROM jsonb_each(jk_j) jk_e WHERE NOT %s)"
			" WHEN 'array' THEN (SELECT coalesce(jsonb_agg("
			"pg_temp.sweepd_strip(jk_e.value, jk_pats) ORDER BY"
			" jk_e.n), '[]'::jsonb) FROM jsonb_array_elements(jk_j)"
			" WITH ORDINALITY jk_e(value, n)) WHEN 'string' THEN"
			" (SELECT CASE WHEN jk_s.n IS DISTINCT FROM jk_s.d THEN"
			" to_jsonb(jk_s.n::text) ELSE jk_j END FROM (SELECT"
			" jk_d.d, pg_temp.sweepd_strip(jk_d.d, jk_pats) AS n"
			" FROM (SELECT %s AS d OFFSET 0) jk_d OFFSET 0) jk_s)"
			" ELSE jk_j END $f$", match, try);
	api->free(try);
	api->free(match);
	return sql;
}

/* Returns "ARRAY['k1', ...]::text[]" of the n strings, each a literal, or
 * NULL with *errmsg set. */
static inline char *jk_array(const sweep_api *api, PGconn *db,
                             const char *const *items, size_t n,
                             char **errmsg)
{
	char *sql = api->mprintf("ARRAY["), *next, *lit;
	size_t i;

	for (i = 0; i < n && sql; i++) {
		lit = PQescapeLiteral(db, items[i], strlen(items[i]));
		if (!lit) {
			api->free(sql);
			*errmsg = api->mprintf("cannot quote the JSON key '%s'",
			                       items[i]);
			return NULL;
		}
		next = api->mprintf("%s%s%s", sql, i > 0 ? ", " : "", lit);
		PQfreemem(lit);
		api->free(sql);
		sql = next;
	}
	next = sql ? api->mprintf("%s]::text[]", sql) : NULL;
	api->free(sql);
	if (!next)
		*errmsg = api->mprintf("out of memory");
	return next;
}

/* The patterns of the entries (%1$s) and exceptions (%2$s), as text:
 * each "F" "T" VALUE, F 's' (strip) or 'k' (keep), T 'e' (equal to VALUE
 * in lower case), 'g' (LIKE VALUE, the glob in lower case) or 'w' (VALUE
 * is " words " that the key's words must contain); %3$s is JK_WORDS_SQL
 * of jk_u.e. */
#define JK_PREPARE_SQL                                                     \
	"SELECT coalesce(array_agg(jk_c.p ORDER BY jk_u.f DESC, jk_u.n,"      \
	" jk_c.p), '{}')::text FROM (SELECT 's' AS f, e, n FROM unnest(%1$s)" \
	" WITH ORDINALITY a(e, n) UNION ALL SELECT 'k', e, n FROM"            \
	" unnest(%2$s) WITH ORDINALITY b(e, n)) jk_u, LATERAL (SELECT"        \
	" jk_u.f || 'e' || lower(jk_u.e) WHERE strpos(jk_u.e, '*') = 0"       \
	" UNION ALL SELECT jk_u.f || 'g' || lower(replace(replace(replace("   \
	"replace(jk_u.e, $r$\\$r$, $r$\\\\$r$), '%%', $r$\\%%$r$), '_',"      \
	" $r$\\_$r$), '*', '%%')) WHERE strpos(jk_u.e, '*') > 0"              \
	" UNION ALL SELECT jk_u.f || 'w' || rtrim(jk_w.w) || jk_s.s || ' '"   \
	" FROM (SELECT %3$s AS w) jk_w, unnest(ARRAY['', 's', 'es']) jk_s(s)" \
	" WHERE strpos(jk_u.e, '*') = 0 AND btrim(jk_w.w) <> '') jk_c(p)"

/* Sets *pats to the patterns of the entries strip (nstrip of them) and
 * the exceptions keep, computed by the database (so that they are split
 * into words exactly as keys are), as a text[] literal for SQL.  Returns
 * 0, or -1 with *errmsg set. */
static inline int jk_prepare(const sweep_api *api, sweep_host *h,
                             PGconn *db, const char *const *strip,
                             size_t nstrip, const char *const *keep,
                             size_t nkeep, char **pats, char **errmsg)
{
	char *s = NULL, *k = NULL, *words = NULL, *sql = NULL, *lit;
	PGresult *res = NULL;
	int rc = -1;

	s = jk_array(api, db, strip, nstrip, errmsg);
	k = s ? jk_array(api, db, keep, nkeep, errmsg) : NULL;
	if (!s || !k)
		goto out;
	words = api->mprintf(JK_WORDS_SQL, "jk_u.e");
	sql = words ? api->mprintf(JK_PREPARE_SQL, s, k, words) : NULL;
	if (!sql) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	res = api->query(h, sql, 0, NULL, "preparing the JSON key patterns",
	                 errmsg);
	if (!res)
		goto out;
	lit = PQescapeLiteral(db, PQgetvalue(res, 0, 0),
	                      strlen(PQgetvalue(res, 0, 0)));
	*pats = lit ? api->mprintf("%s::text[]", lit) : NULL;
	PQfreemem(lit);
	if (!*pats) {
		*errmsg = api->mprintf("out of memory");
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	api->free(s);
	api->free(k);
	api->free(words);
	api->free(sql);
	return rc;
}

#endif
