/*
 * reset_tokens: deletes password-reset tokens that expired more than
 * `grace` ago, in short batches, optionally writing one audit record per
 * token deleted.
 *
 * An example of a sweepd plugin built outside sweepd's tree against the
 * installed SDK only.  Everything it does goes through the host's services
 * (struct sweep_api): options checked by the host before init, names quoted
 * by the host, the batch loop (one short transaction per batch, stops when
 * asked, counts "deleted", writes audit records in the batch's own
 * transaction), and the dry run inside the host's READ ONLY transaction.
 */
#include <stdio.h>

#include <sweepd/plugin.h>

/* Lines dry_run adds to the sample: the keys of the first tokens to go. */
#define SAMPLE_ROWS 5

static const sweep_option reset_tokens_options[] = {
	{"table", SWEEP_OPT_IDENT, 0, "password_reset_tokens",
	 "the tokens' table (schema.table)"},
	{"expires_column", SWEEP_OPT_IDENT, 0, "expires_at",
	 "the timestamptz column at which a token expires"},
	{"grace", SWEEP_OPT_DURATION, 0, "1d",
	 "how long an expired token is kept (for support questions)"},
	{"batch_size", SWEEP_OPT_INT, 0, "1000", "tokens a batch deletes"},
	{"audit", SWEEP_OPT_BOOL, 0, "false",
	 "write one audit record (the token's primary key) per token"},
	SWEEP_BATCH_OPTIONS,
	{NULL, 0, 0, NULL, NULL},
};

/* What init computes once per run. */
typedef struct reset_tokens_state {
	const char *table;      /* quoted; host-owned */
	const char *expires;    /* quoted; host-owned */
	const char *key;        /* jsonb of the primary key; host-owned */
	char *cutoff;           /* now() - grace, from the database */
} reset_tokens_state;

/* Reads and checks the options, finds the table's key and the cutoff.
 * *state is set only on success; on failure nothing is left allocated. */
static int reset_tokens_init(const sweep_api *api, sweep_host *h,
                             void **state, char **errmsg)
{
	reset_tokens_state *st = calloc(1, sizeof(*st));

	if (st == NULL) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	st->table = api->opt_ident(h, "table");
	st->expires = api->opt_ident(h, "expires_column");
	if (api->opt_int(h, "batch_size") < 1) {
		*errmsg = api->mprintf("batch_size = %lld: must be at least 1",
		                       (long long)api->opt_int(h, "batch_size"));
		goto fail;
	}
	st->key = api->key_object(h, st->table, NULL, errmsg);
	if (st->key == NULL)
		goto fail;
	if (sweep_cutoff(api, h, api->opt_duration_ms(h, "grace"),
	                 &st->cutoff, errmsg) != 0)
		goto fail;
	*state = st;
	return 0;
fail:
	free(st);
	return -1;
}

/* Deletes the expired tokens through the host's batch loop. */
static int reset_tokens_run(const sweep_api *api, sweep_host *h, void *state,
                            char **errmsg)
{
	reset_tokens_state *st = state;
	const char *params[1] = {st->cutoff};
	sweep_batch spec = {.size = sizeof(spec)};
	bool audit = api->opt_bool(h, "audit");
	char *sql;
	int rc;

	sql = api->mprintf("DELETE FROM %s WHERE ctid = ANY (ARRAY("
	                   "SELECT ctid FROM %s WHERE %s < $4::timestamptz"
	                   " LIMIT $1))%s%s", st->table, st->table,
	                   st->expires, audit ? " RETURNING " : "",
	                   audit ? st->key : "");
	if (sql == NULL) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	spec.mode = SWEEP_BATCH_UNTIL_EMPTY;
	spec.sql = sql;
	spec.nparams = 1;
	spec.params = params;
	spec.batch_rows = api->opt_int(h, "batch_size");
	spec.counter = "deleted";
	spec.audit_action = audit ? "deleted" : NULL;
	spec.audit_table = api->opt_string(h, "table");
	sweep_batch_options(api, h, &spec);
	rc = api->batch_loop(h, &spec, NULL, errmsg);
	api->free(sql);
	return rc;
}

/* Counts the tokens run would delete (would_delete) and samples the keys
 * of the first ones, changing nothing. */
static int reset_tokens_dry_run(const sweep_api *api, sweep_host *h,
                                void *state, char **errmsg)
{
	reset_tokens_state *st = state;
	const char *params[1] = {st->cutoff};
	char *sql;
	PGresult *res;
	int i;

	sql = api->mprintf("SELECT %s, count(*) OVER () FROM %s WHERE %s <"
	                   " $1::timestamptz ORDER BY %s LIMIT %d", st->key,
	                   st->table, st->expires, st->expires, SAMPLE_ROWS);
	if (sql == NULL) {
		*errmsg = api->mprintf("out of memory");
		return -1;
	}
	res = api->query(h, sql, 1, params, "counting expired tokens", errmsg);
	api->free(sql);
	if (res == NULL)
		return -1;
	api->count(h, "would_delete", PQntuples(res) ?
	           strtoll(PQgetvalue(res, 0, 1), NULL, 10) : 0);
	for (i = 0; i < PQntuples(res); i++)
		api->sample(h, PQgetvalue(res, i, 0));
	PQclear(res);
	return 0;
}

/* Frees what init allocated. */
static void reset_tokens_teardown(const sweep_api *api, sweep_host *h,
                                  void *state)
{
	reset_tokens_state *st = state;

	(void)h;
	api->free(st->cutoff);
	free(st);
}

static const sweep_plugin reset_tokens_plugin = {
	SWEEP_PLUGIN_HEADER,
	.name = "reset_tokens",
	.version = "1.0.0",
	.description = "deletes password-reset tokens expired for longer "
	               "than a grace period",
	.options = reset_tokens_options,
	.init = reset_tokens_init,
	.run = reset_tokens_run,
	.dry_run = reset_tokens_dry_run,
	.teardown = reset_tokens_teardown,
};

SWEEP_PLUGIN_DEFINE(reset_tokens_plugin)
