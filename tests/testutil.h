/* testutil: helpers shared by the tests: scratch directories and files,
 * running the real binary, and a real PostgreSQL connection. */
#ifndef SWEEPD_TESTUTIL_H
#define SWEEPD_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include <sweepd/plugin.h>

/* Fails the test unless needle occurs in hay, showing both. */
#define assert_contains(hay, needle)                                        \
	do {                                                                \
		const char *h_ = (hay), *n_ = (needle);                     \
		if (h_ == NULL || strstr(h_, n_) == NULL)                   \
			fail_msg("expected \"%s\" in \"%s\"", n_,           \
			         h_ ? h_ : "(null)");                       \
	} while (0)

char *tu_tempdir(void);
void tu_rmtree(const char *dir);
char *tu_path(const char *dir, const char *name);
void tu_write(const char *dir, const char *name, const char *content);
void tu_writef(const char *dir, const char *name, const char *fmt, ...)
	SWEEP_PRINTF(3, 4);
char *tu_read(const char *path, size_t *len);
char *tu_read_in(const char *dir, const char *name, size_t *len);
void tu_copy(const char *from, const char *dir, const char *name);
int tu_run(char **out, char **err, const char *fmt, ...) SWEEP_PRINTF(3, 4);
PGconn *tu_db(void);
PGresult *tu_query(PGconn *c, const char *fmt, ...) SWEEP_PRINTF(2, 3);
void tu_sql(PGconn *c, const char *fmt, ...) SWEEP_PRINTF(2, 3);
long long tu_sql_int(PGconn *c, const char *fmt, ...) SWEEP_PRINTF(2, 3);
char *tu_sql_text(PGconn *c, const char *fmt, ...) SWEEP_PRINTF(2, 3);
char *tu_schema(PGconn *c, const char *prefix);
void tu_schema_drop(PGconn *c, const char *schema);
double tu_mono(void);
void tu_nap_ms(long ms);
int tu_occurrences(const char *hay, const char *needle);
long tu_cpu_ticks(pid_t pid);

#endif
