/* sqltext: checks of user-written SQL pieces (names, conditions) and the
 * quoting of names, so that no option can inject a statement. */
#ifndef SWEEPD_SQLTEXT_H
#define SWEEPD_SQLTEXT_H

#include <stddef.h>

#include <libpq-fe.h>

/* Longest name part PostgreSQL keeps (NAMEDATALEN - 1). */
#define SQLTEXT_NAME_MAX 63
/* Most parts of a qualified name: database.schema.table. */
#define SQLTEXT_MAX_PARTS 3

int sqltext_ident_split(const char *text, char ***parts, size_t *nparts,
                        char *err, size_t errlen);
void sqltext_parts_free(char **parts, size_t nparts);
char *sqltext_parts_quote(PGconn *conn, char *const *parts, size_t from,
                          size_t to);
char *sqltext_ident_quote(PGconn *conn, const char *text);
int sqltext_expr_check(const char *text, char *err, size_t errlen);

#endif
