/* fuzz_jobfile: libFuzzer target for the job-file pipeline.  An input is
 * the text of one job file.  It is written as job.ini into a scratch
 * configuration directory and loaded the way sweepd --check loads one:
 * settings_load(), then jobs_load() with a loader holding the shipped
 * plugins of this build (their option tables check [params]).  Besides
 * not crashing, leaking or tripping a sanitizer, the result must keep the
 * pipeline's promises (fuzz_check_* below); a broken one is a crash
 * (__builtin_trap()), after a line on stderr saying which.
 *
 * The plugins are loaded once, in LLVMFuzzerInitialize(), and the loader
 * is reused: it hands out a plugin it holds without opening it again.  An
 * input whose plugin = names a path (holds a '/') is skipped: that would
 * dlopen() whatever file the path names, which is the loader's business
 * (tests/test_loader.c), not the parser's, and would change the loader
 * that later inputs see. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "jobs.h"
#include "loader.h"
#include "settings.h"

#ifndef SWEEPD_PLUGIN_DIR
#error "SWEEPD_PLUGIN_DIR must name the build's plugin directory"
#endif

/* What every input shares: the scratch directory, its job file, the
 * settings read from it and the loader holding the shipped plugins. */
static char fuzz_dir[4096];
static char fuzz_path[4096 + 16];
static settings fuzz_settings;
static loader *fuzz_loader;
static size_t fuzz_nplugins;

/* Removes the scratch directory (at exit). */
static void fuzz_cleanup(void)
{
	unlink(fuzz_path);
	rmdir(fuzz_dir);
}

/* Prints why the target cannot start and exits; only before fuzzing. */
static void fuzz_setup_failed(const char *what, const diag *d)
{
	size_t i;

	fprintf(stderr, "fuzz_jobfile: %s\n", what);
	for (i = 0; d != NULL && i < d->count; i++)
		fprintf(stderr, "  %s\n", d->items[i].message);
	exit(1);
}

/* Makes the scratch directory under $TMPDIR (or /tmp), reads the settings
 * of that empty configuration and loads every shipped plugin. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	settings_cli cli;
	diag d = DIAG_INIT;

	(void)argc;
	(void)argv;
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/sweepd-fuzz-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(fuzz_dir) == NULL)
		fuzz_setup_failed("cannot make a scratch directory", NULL);
	snprintf(fuzz_path, sizeof(fuzz_path), "%s/job.ini", fuzz_dir);
	atexit(fuzz_cleanup);
	memset(&cli, 0, sizeof(cli));
	cli.conf_dir = fuzz_dir;
	cli.plugin_dir = SWEEPD_PLUGIN_DIR;
	if (settings_load(&cli, &fuzz_settings, &d) != 0)
		fuzz_setup_failed("settings of an empty conf dir refused", &d);
	fuzz_loader = loader_new();
	if (fuzz_loader == NULL)
		fuzz_setup_failed("out of memory", NULL);
	loader_scan(fuzz_loader, SWEEPD_PLUGIN_DIR, &d);
	fuzz_nplugins = loader_count(fuzz_loader);
	if (d.count != 0 || fuzz_nplugins == 0)
		fuzz_setup_failed("cannot load the plugins of "
		                  SWEEPD_PLUGIN_DIR, &d);
	diag_free(&d);
	return 0;
}

/* Writes the input as the job file; 0, or -1 when it cannot. */
static int fuzz_write(const uint8_t *data, size_t size)
{
	FILE *fp = fopen(fuzz_path, "wb");
	int rc = 0;

	if (fp == NULL)
		return -1;
	if (size > 0 && fwrite(data, 1, size, fp) != size)
		rc = -1;
	if (fclose(fp) != 0)
		rc = -1;
	return rc;
}

/* True when the job file's [job] plugin = holds a '/', read with the same
 * parser jobs_load() uses. */
static int fuzz_names_a_path(void)
{
	diag d = DIAG_INIT;
	conf_file *f = conf_parse(fuzz_path, false, &d);
	const conf_entry *e;
	int path = 0;

	if (f != NULL) {
		e = conf_entry_find(conf_section_find(f, "job"), "plugin");
		path = e != NULL && strchr(e->value, '/') != NULL;
	}
	conf_free(f);
	diag_free(&d);
	return path;
}

/* Number of lines of the input, as a reader that counts '\n' sees them
 * (a last line without one counts too). */
static int fuzz_lines(const uint8_t *data, size_t size)
{
	int n = 0;
	size_t i;

	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			n++;
	return n + (size > 0 && data[size - 1] != '\n');
}

/* Reports a broken promise, then crashes. */
static void fuzz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_jobfile: %s: %s\n", what, detail ? detail : "");
	__builtin_trap();
}

/* Every problem names the job file, a line within it (0: the file as a
 * whole; an empty file has line 1) and says something; and formats. */
static void fuzz_check_diag(const diag *d, int lines)
{
	size_t i;
	char *text;

	for (i = 0; i < d->count; i++) {
		const diag_item *it = &d->items[i];

		if (it->file == NULL || strcmp(it->file, fuzz_path) != 0)
			fuzz_fail("a problem does not name the job file",
			          it->message);
		if (it->line < 0 || it->line > (lines > 0 ? lines : 1))
			fuzz_fail("a problem names a line outside the file",
			          it->message);
		if (it->message == NULL || it->message[0] == '\0')
			fuzz_fail("a problem without a message", it->file);
		text = diag_format(it);
		if (text == NULL)
			fuzz_fail("diag_format() failed", it->message);
		free(text);
	}
}

/* Every job has a name (listings show it).  A job that loaded without a
 * problem is one sweepd can run: a name that is not empty, a plugin,
 * checked parameters, a parsed schedule if it has one (whose next instant
 * can be asked for). */
static void fuzz_check_jobs(const jobs *js)
{
	size_t i;

	if (jobs_count(js) > 1)
		fuzz_fail("one file gave more than one job", NULL);
	for (i = 0; i < jobs_count(js); i++) {
		const job *j = jobs_at(js, i);

		if (j->name == NULL)
			fuzz_fail("a job without a name", j->file);
		if (j->nerrors != 0)
			continue;
		if (j->name[0] == '\0')
			fuzz_fail("a job without problems has an empty name",
			          j->file);
		if (j->plugin == NULL || j->params == NULL ||
		    j->timezone == NULL)
			fuzz_fail("a job without problems lacks a part", j->name);
		if ((j->schedule != NULL) != (j->cron != NULL))
			fuzz_fail("a schedule without a parsed expression",
			          j->schedule);
		(void)jobs_next(j, (time_t)1774744200);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	diag d = DIAG_INIT;
	jobs *js;

	if (fuzz_write(data, size) != 0) {
		perror("fuzz_jobfile: cannot write the job file");
		abort();
	}
	if (fuzz_names_a_path())
		return 0;
	js = jobs_load(&fuzz_settings, fuzz_loader, &d);
	if (js == NULL)
		fuzz_fail("jobs_load() failed on a readable directory", NULL);
	if (loader_count(fuzz_loader) != fuzz_nplugins)
		fuzz_fail("the loader changed", NULL);
	fuzz_check_diag(&d, fuzz_lines(data, size));
	fuzz_check_jobs(js);
	jobs_free(js);
	diag_free(&d);
	return 0;
}
