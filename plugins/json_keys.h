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
 * Cost.  A JSON text holding no "needle" (a word of an entry, in lower
 * case) nor a \u escape is passed over without being walked; keys holding
 * no needle are passed over without being split into words; the walk
 * itself is jsonpath's.  Measured on 100,000 audit rows like the sample's
 * (16 keys, one JSON string): 0.6 ms a row to anonymize, 0.1 ms a row to
 * find nothing left.  JIT compilation is turned off (jk_no_jit()): it cost
 * ~0.7 s per batch statement.
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
 * first made '#', which no token holds.  The cast reads the text from the
 * query (x), never from %1$s itself: a constant there (a PL/pgSQL
 * parameter in a custom plan) would be cast when the plan is made,
 * whatever the checker says. */
#define JK_TRY_JSON_SQL                                                    \
	"(SELECT CASE WHEN bool_or(jk_r.s = 'V') THEN min(jk_r.x)::jsonb END" \
	" FROM (WITH RECURSIVE jk_red(s, n, x) AS (SELECT regexp_replace("     \
	"regexp_replace(regexp_replace(regexp_replace(translate(%1$s, 'SV',"  \
	" '##'), $r$\"([^\"\\\\\\x01-\\x1f]|\\\\[\"\\\\/bfnrt]"               \
	"|\\\\u[dD][89abAB][0-9a-fA-F]{2}\\\\u[dD][c-fC-F][0-9a-fA-F]{2}"     \
	"|\\\\u(?![dD][89a-fA-F])(?!0000)[0-9a-fA-F]{4})*\"$r$, 'S', 'g'),"   \
	" 'true|false|null', 'V', 'g'),"                                       \
	" $r$-?(0|[1-9][0-9]{0,254})(\\.[0-9]{1,255})?([eE][+-]?[0-9]{1,4})?"  \
	"$r$, 'V', 'g'), $r$[ \\t\\n\\r]+$r$, '', 'g'), 0, %1$s"               \
	" WHERE %1$s ~ $r$^[ \\t\\n\\r]*[{[]$r$"                              \
	" UNION ALL SELECT jk_t.s, jk_red.n + 1, jk_red.x FROM jk_red,"       \
	" LATERAL (SELECT"                                                     \
	" regexp_replace(regexp_replace(jk_red.s, $r$\\[([SV](,[SV])*)?\\]$r$," \
	" 'V', 'g'), $r$\\{(S:[SV](,S:[SV])*)?\\}$r$, 'V', 'g') AS s OFFSET 0)" \
	" jk_t WHERE jk_t.s <> jk_red.s AND jk_red.n < " JK_MAX_DEPTH ")"      \
	" SELECT s, x FROM jk_red) jk_r)"

/* Whether the key (text expression %1$s) matches the patterns (text[]
 * expression %3$s); %2$s is JK_WORDS_SQL of the key, %4$s the needles
 * (jk_needles()): a key holding none of them matches no pattern, which
 * spares it the words.  Never NULL. */
#define JK_MATCH_SQL                                                       \
	"CASE WHEN lower(%1$s) !~ %4$s THEN false ELSE"                        \
	" coalesce((SELECT bool_or(jk_m.hit) FILTER (WHERE jk_m.f = 's')"     \
	" AND NOT coalesce(bool_or(jk_m.hit) FILTER (WHERE jk_m.f = 'k'),"    \
	" false) FROM (SELECT left(jk_p, 1) AS f, CASE substr(jk_p, 2, 1)"    \
	" WHEN 'e' THEN jk_x.l = substr(jk_p, 3)"                              \
	" WHEN 'g' THEN jk_x.l LIKE substr(jk_p, 3)"                           \
	" ELSE strpos(jk_x.w, substr(jk_p, 3)) > 0 END AS hit"                \
	" FROM (SELECT lower(%1$s) AS l, %2$s AS w OFFSET 0) jk_x,"            \
	" unnest(%3$s) jk_p) jk_m), false) END"

/* Returns JK_TRY_JSON_SQL of the text expression x. */
static inline char *jk_try_json(const sweep_api *api, const char *x)
{
	return api->mprintf(JK_TRY_JSON_SQL, x);
}

/* The needles of the patterns (text[] expression %s): a regular
 * expression, NULL when there is none, that every key matching a pattern
 * holds in lower case and that a JSON text holding such a key (in any
 * string, escaped or not) holds too, unless the key is written with \u
 * escapes.  jk_prepare() puts it first in the array, as 'n' || regex. */
#define JK_NEEDLES_SQL "nullif(substr((%s)[1], 2), '')"

/* Returns JK_MATCH_SQL of the key (text expression) k and the patterns
 * (text[] expression) pats. */
static inline char *jk_match(const sweep_api *api, const char *k,
                             const char *pats)
{
	char *words = api->mprintf(JK_WORDS_SQL, k);
	char *needles = api->mprintf(JK_NEEDLES_SQL, pats), *sql = NULL;

	if (words && needles)
		sql = api->mprintf(JK_MATCH_SQL, k, words, pats, needles);
	api->free(words);
	api->free(needles);
	return sql;
}

/* Every key of every object of a jsonb, at any depth (as jsonb strings). */
#define JK_KEYS_PATH                                                       \
	"$r$strict $.** ? (@.type() == \"object\").keyvalue().key$r$::jsonpath"

/* Every string of a jsonb, at any depth, that may hold a JSON object or
 * array (it starts with one, blanks aside). */
#define JK_DOCS_PATH                                                       \
	"$r$strict $.** ? (@.type() == \"string\" && @ like_regex"           \
	" \"^[ \\t\\n\\r]*[{[]\")$r$::jsonpath"

/* Returns the condition that the jsonb expression j, whose JSON text is
 * the text expression text, holds a key matching pats anywhere
 * pg_temp.sweepd_strip looks (true or false, never NULL).  A text without
 * a needle nor a \u escape is not even walked; the walk is jsonpath's,
 * one recursion level per JSON document held in a string.  Plain SQL:
 * usable in a dry run. */
static inline char *jk_has(const sweep_api *api, const char *j,
                           const char *text, const char *pats)
{
	char *try = jk_try_json(api, "(jk_s #>> '{}')");
	char *match = jk_match(api, "(jk_k #>> '{}')", pats), *sql = NULL;
	char *needles = api->mprintf(JK_NEEDLES_SQL, pats);

	if (try && match && needles)
		sql = api->mprintf(
			"((coalesce(lower(%s) ~ %s, true) OR strpos(%s,"
			" $r$\\u$r$) > 0) AND EXISTS (WITH RECURSIVE jk_doc(d)"
			" AS (SELECT %s UNION ALL SELECT %s FROM jk_doc,"
			" jsonb_path_query(jk_doc.d, " JK_DOCS_PATH ") jk_s)"
			" SELECT 1 FROM jk_doc, jsonb_path_query(jk_doc.d, "
			JK_KEYS_PATH ") jk_k WHERE %s))", text, needles, text,
			j, try, match);
	api->free(try);
	api->free(match);
	api->free(needles);
	return sql;
}

/* Returns the statement creating the session's own function
 * pg_temp.sweepd_strip(jsonb, text[]): a copy of its jsonb without the keys
 * matching the patterns, as the header says.  PL/pgSQL, whose statements
 * are planned once per session (a recursive SQL function is planned again
 * at every level of every value).  A temporary function needs only TEMP
 * on the database and goes with the session; a run creates it, a dry run
 * (read-only) cannot and uses jk_has() alone. */
static inline char *jk_strip_function(const sweep_api *api)
{
	char *try = jk_try_json(api, "(jk_j #>> '{}')");
	char *match = jk_match(api, "jk_e.key", "jk_pats"), *sql = NULL;

	if (try && match)
		sql = api->mprintf(
			"CREATE OR REPLACE FUNCTION pg_temp.sweepd_strip(jk_j"
			" jsonb, jk_pats text[]) RETURNS jsonb LANGUAGE plpgsql"
			" IMMUTABLE STRICT PARALLEL SAFE AS $f$ DECLARE jk_d"
			" jsonb; jk_s jsonb; BEGIN CASE jsonb_typeof(jk_j)"
			" WHEN 'object' THEN RETURN (SELECT"
			" coalesce(jsonb_object_agg(jk_e.key,"
			" pg_temp.sweepd_strip(jk_e.value, jk_pats)),"
			" '{}'::jsonb) FROM jsonb_each(jk_j) jk_e WHERE NOT %s);"
			" WHEN 'array' THEN RETURN (SELECT coalesce(jsonb_agg("
			"pg_temp.sweepd_strip(jk_e.value, jk_pats) ORDER BY"
			" jk_e.n), '[]'::jsonb) FROM jsonb_array_elements(jk_j)"
			" WITH ORDINALITY jk_e(value, n)); WHEN 'string' THEN"
			" IF jk_j #>> '{}' !~ $r$^[ \\t\\n\\r]*[{[]$r$ THEN"
			" RETURN jk_j; END IF; jk_d := %s; IF jk_d IS NULL THEN"
			" RETURN jk_j; END IF; jk_s := pg_temp.sweepd_strip(jk_d,"
			" jk_pats); IF jk_s = jk_d THEN RETURN jk_j; END IF;"
			" RETURN to_jsonb(jk_s::text); ELSE RETURN jk_j; END"
			" CASE; END $f$", match, try);
	api->free(try);
	api->free(match);
	return sql;
}

/* Turns JIT compilation off for the rest of the run's session (or of the
 * dry run's transaction): the planner prices the key-matching subqueries
 * high enough to JIT-compile every batch statement, which then takes
 * ~0.7 s to compile and a few ms to run.  Returns 0, or -1 with *errmsg
 * set. */
static inline int jk_no_jit(const sweep_api *api, sweep_host *h,
                            char **errmsg)
{
	PGresult *res = api->query(h, "SET jit = off", 0, NULL,
	                           "turning JIT off", errmsg);

	if (!res)
		return -1;
	PQclear(res);
	return 0;
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
	"SELECT (('n' || CASE WHEN bool_and(jk_c2.needle <> '') FILTER"        \
	" (WHERE jk_u.f = 's') THEN string_agg(DISTINCT regexp_replace("       \
	"jk_c2.needle, $r$([^[:alnum:]])$r$, $r$\\\\\\1$r$, 'g'), '|')"          \
	" FILTER (WHERE jk_u.f = 's') ELSE '' END) || array_agg(jk_c.p ORDER" \
	" BY jk_u.f DESC, jk_u.n, jk_c.p))::text FROM (SELECT 's' AS f, e, n" \
	" FROM unnest(%1$s)"                                                   \
	" WITH ORDINALITY a(e, n) UNION ALL SELECT 'k', e, n FROM"            \
	" unnest(%2$s) WITH ORDINALITY b(e, n)) jk_u, LATERAL (SELECT"        \
	" jk_u.f || 'e' || lower(jk_u.e) WHERE strpos(jk_u.e, '*') = 0"       \
	" UNION ALL SELECT jk_u.f || 'g' || lower(replace(replace(replace("   \
	"replace(jk_u.e, $r$\\$r$, $r$\\\\$r$), '%%', $r$\\%%$r$), '_',"      \
	" $r$\\_$r$), '*', '%%')) WHERE strpos(jk_u.e, '*') > 0"              \
	" UNION ALL SELECT jk_u.f || 'w' || rtrim(jk_w.w) || jk_s.s || ' '"   \
	" FROM (SELECT %3$s AS w) jk_w, unnest(ARRAY['', 's', 'es']) jk_s(s)" \
	" WHERE strpos(jk_u.e, '*') = 0 AND btrim(jk_w.w) <> '') jk_c(p),"    \
	" LATERAL (SELECT coalesce((SELECT x FROM regexp_split_to_table("     \
	"substr(jk_c.p, 3), CASE substr(jk_c.p, 2, 1) WHEN 'w' THEN ' '"        \
	" WHEN 'g' THEN $r$\\\\.|[%%_\\\\\"[:cntrl:]]$r$ ELSE"                 \
	" $r$[\\\\\"[:cntrl:]]$r$ END) x ORDER BY length(x) DESC LIMIT 1), '')" \
	" AS needle) jk_c2"

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
