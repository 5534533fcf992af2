/* End to end: nothing runs before it is trusted.  The real sweepd binary
 * over scratch configuration directories holding job files and plugins
 * with unsafe owners and modes, symbolic links, FIFOs, NUL bytes, byte
 * order marks and ELF objects of another architecture.  Every run of the
 * binary is guarded by `timeout`, so a hang fails the test instead of
 * stopping the suite. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "testdaemon.h"
#include "testutil.h"
#include "trust.h"

#define FIX(name) SWEEPD_FIXTURE_DIR "/" name ".so"
/* Seconds any sweepd command may take before it counts as hung. */
#define HANG_S 10
/* A job over the fixture plugin `valid`. */
#define VALID_JOB(name) "[job]\nname = " name "\nplugin = valid\n\n" \
	"[params]\ntable = public.t\n"
/* The user nobody, who must never own what sweepd loads. */
#define NOBODY 65534

/* What the running test set up, for teardown to clean after a failure. */
static struct {
	char *conf;             /* scratch conf.d */
	const char *dir;        /* the conf.d sweepd is given: conf unless
	                           a test says otherwise */
	char *other;            /* a second scratch directory */
	char *out;              /* the last run's stdout and stderr */
	char *err;
} T;

static int setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	T.conf = tu_tempdir();
	T.other = tu_tempdir();
	T.dir = T.conf;
	td_begin(NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	td_end();
	/* A test may leave a directory unwritable or unsearchable. */
	chmod(T.conf, 0700);
	tu_rmtree(T.conf);
	tu_rmtree(T.other);
	free(T.conf);
	free(T.other);
	free(T.out);
	free(T.err);
	return 0;
}

/* Runs `ENV sweepd --conf-dir CONF --plugin-dir PLUGINS ARGS` (ARGS
 * printf-style) under timeout, keeping its output in T.out and T.err;
 * returns its exit status and fails the test when it hung. */
static int sweepd_env(const char *env, const char *fmt, ...)
	SWEEP_PRINTF(2, 3);

static int sweepd_env(const char *env, const char *fmt, ...)
{
	buf args = BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	buf_vprintf(&args, fmt, ap);
	va_end(ap);
	free(T.out);
	free(T.err);
	rc = tu_run(&T.out, &T.err, "env -u SWEEPD_ALLOW_INSECURE_FILES %s "
	            "timeout %d " SWEEPD_BIN " --conf-dir '%s' --plugin-dir '"
	            SWEEPD_PLUGIN_DIR "' %s", env, HANG_S, T.dir,
	            buf_str(&args));
	buf_free(&args);
	if (rc == 124)
		fail_msg("sweepd %s hung for %d s; stderr:\n%s", fmt, HANG_S,
		         T.err);
	return rc;
}

#define sweepd(...) sweepd_env("", __VA_ARGS__)

/* Fails unless stderr holds the text "CONF/" + text. */
static void expect_err(const char *text)
{
	buf b = BUF_INIT;

	buf_printf(&b, "%s/%s", T.conf, text);
	assert_contains(T.err, buf_str(&b));
	buf_free(&b);
}

/* Writes conf/name with mode. */
static void put(const char *name, const char *content, mode_t mode)
{
	char *path = tu_path(T.conf, name);

	tu_write(T.conf, name, content);
	assert_int_equal(chmod(path, mode), 0);
	free(path);
}

/* Copies a fixture plugin to conf/NAME.so with mode. */
static void put_plugin(const char *fixture, mode_t mode)
{
	buf name = BUF_INIT, from = BUF_INIT;
	char *path;

	buf_printf(&name, "%s.so", fixture);
	buf_printf(&from, SWEEPD_FIXTURE_DIR "/%s.so", fixture);
	tu_copy(buf_str(&from), T.conf, buf_str(&name));
	buf_free(&from);
	path = tu_path(T.conf, buf_str(&name));
	assert_int_equal(chmod(path, mode), 0);
	free(path);
	buf_free(&name);
}

/* ------------------------------------------------------- owner and mode */

static void world_writable_job_file_is_refused_others_load(void **state)
{
	buf fix = BUF_INIT;

	(void)state;
	put_plugin("valid", 0755);
	put("a-good.ini", VALID_JOB("good"), 0644);
	put("b-bad.ini", VALID_JOB("bad"), 0666);
	assert_int_equal(sweepd("--check"), 2);
	expect_err("b-bad.ini: refused: writable by group and others "
	           "(mode 0666)");
	buf_printf(&fix, "; run chmod go-w %s/b-bad.ini\n", T.conf);
	assert_contains(T.err, buf_str(&fix));
	buf_free(&fix);
	assert_contains(T.out, "2 jobs, ");
	assert_contains(T.out, ", 1 problem, ");
	/* The good job is sound beside it; the refused one lists with its
	 * reason. */
	assert_int_equal(sweepd("--json --list-jobs"), 0);
	assert_contains(T.out, "{\"name\":\"good\",");
	assert_contains(T.out, "\"enabled\":true,\"errors\":0");
	assert_contains(T.out, "\"errors\":1,\"first_error\":\"refused: "
	                "writable by group and others (mode 0666)");
}

static void group_writable_plugin_is_refused(void **state)
{
	(void)state;
	put_plugin("valid", 0775);
	put("job.ini", VALID_JOB("uses-valid"), 0644);
	assert_int_equal(sweepd("--check"), 2);
	expect_err("valid.so: refused: writable by group (mode 0775); run "
	           "chmod go-w ");
	/* Listed neither as loaded nor used. */
	assert_int_equal(sweepd("--list-plugins"), 0);
	assert_null(strstr(T.out, "valid 0.0.1"));
	expect_err("valid.so: refused: writable by group");
}

static void files_owned_by_another_user_are_refused(void **state)
{
	char *ini = tu_path(T.conf, "job.ini");
	char *so = tu_path(T.conf, "valid.so");

	(void)state;
	if (geteuid() != 0) {
		free(ini);
		free(so);
		skip();
	}
	put_plugin("valid", 0755);
	put("job.ini", VALID_JOB("nobodys"), 0644);
	assert_int_equal(chown(ini, NOBODY, (gid_t)-1), 0);
	assert_int_equal(chown(so, NOBODY, (gid_t)-1), 0);
	assert_int_equal(sweepd("--check"), 2);
	expect_err("job.ini: refused: owned by uid 65534");
	expect_err("valid.so: refused: owned by uid 65534");
	assert_contains(T.err, "not by root or the user sweepd runs as");
	assert_contains(T.err, "run chown root ");
	/* Sound files in a directory another user owns: that user could
	 * replace them. */
	assert_int_equal(chown(ini, 0, (gid_t)-1), 0);
	assert_int_equal(chown(so, 0, (gid_t)-1), 0);
	assert_int_equal(sweepd("--check"), 0);
	assert_int_equal(chown(T.conf, NOBODY, (gid_t)-1), 0);
	assert_int_equal(sweepd("--check"), 2);
	assert_contains(T.err, ": refused: directory ");
	assert_contains(T.err, " is owned by uid 65534");
	assert_int_equal(chown(T.conf, 0, (gid_t)-1), 0);
	free(ini);
	free(so);
}

static void world_writable_conf_dir_is_refused(void **state)
{
	(void)state;
	put_plugin("valid", 0755);
	put("job.ini", VALID_JOB("in-open-dir"), 0644);
	assert_int_equal(chmod(T.conf, 0777), 0);
	assert_int_equal(sweepd("--check"), 2);
	assert_contains(T.err, T.conf);
	assert_contains(T.err, ": refused: directory ");
	assert_contains(T.err, "is writable by group and others (mode 0777)");
	/* Sticky does not make the directory jobs are read from safe: anyone
	 * could add a file (or a link to any system library) to it. */
	assert_int_equal(chmod(T.conf, 01777), 0);
	assert_int_equal(sweepd("--check"), 2);
	assert_contains(T.err, "(mode 1777)");
	assert_int_equal(chmod(T.conf, 0755), 0);
	assert_int_equal(sweepd("--check"), 0);
	assert_contains(T.out, "0 problems");
}

static void sticky_ancestor_directory_is_accepted(void **state)
{
	char *sub = tu_path(T.other, "conf");
	char *sticky = T.other;

	(void)state;
	/* T.conf itself sits in /tmp (sticky, root's): every test passes
	 * through this rule.  Here the scratch directory is made sticky and
	 * world-writable like /tmp, and conf.d is below it. */
	assert_int_equal(mkdir(sub, 0755), 0);
	tu_copy(FIX("valid"), sub, "valid.so");
	tu_write(sub, "job.ini", VALID_JOB("below-sticky"));
	assert_int_equal(chmod(sticky, 01777), 0);
	T.dir = sub;
	/* Root owns /tmp; the scratch directory is the test's own, so it
	 * passes as /tmp does only when the test runs as root. */
	if (geteuid() == 0) {
		assert_int_equal(sweepd("--check"), 0);
		assert_contains(T.out, "1 job, ");
	}
	/* Not sticky: anyone could replace conf.d itself. */
	assert_int_equal(chmod(sticky, 0777), 0);
	assert_int_equal(sweepd("--check"), 2);
	assert_contains(T.err, "refused: directory ");
	assert_contains(T.err, "(mode 0777)");
	assert_int_equal(chmod(sticky, 0700), 0);
	free(sub);
}

/* ---------------------------------------------------- symbolic links */

static void symlink_to_a_sound_file_is_followed(void **state)
{
	char *target = tu_path(T.other, "real.ini");
	char *link = tu_path(T.conf, "linked.ini");

	(void)state;
	put_plugin("valid", 0755);
	tu_write(T.other, "real.ini", VALID_JOB("linked"));
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(sweepd("--check"), 0);
	assert_contains(T.out, "1 job, ");
	free(target);
	free(link);
}

static void symlink_to_an_unsafe_file_is_refused(void **state)
{
	char *target = tu_path(T.other, "real.ini");
	char *link = tu_path(T.conf, "linked.ini");
	char *sotarget = tu_path(T.other, "valid.so");
	char *solink = tu_path(T.conf, "valid.so");
	buf want = BUF_INIT;

	(void)state;
	tu_write(T.other, "real.ini", VALID_JOB("linked"));
	assert_int_equal(chmod(target, 0666), 0);
	assert_int_equal(symlink(target, link), 0);
	tu_copy(FIX("valid"), T.other, "valid.so");
	assert_int_equal(chmod(sotarget, 0777), 0);
	assert_int_equal(symlink(sotarget, solink), 0);
	assert_int_equal(sweepd("--check"), 2);
	buf_printf(&want, "%s: refused: symbolic link to %s, which is "
	           "writable by group and others (mode 0666); run chmod go-w "
	           "%s", link, target, target);
	assert_contains(T.err, buf_str(&want));
	buf_reset(&want);
	buf_printf(&want, "%s: refused: symbolic link to %s, which is",
	           solink, sotarget);
	assert_contains(T.err, buf_str(&want));
	buf_free(&want);
	free(target);
	free(link);
	free(sotarget);
	free(solink);
}

/* ------------------------------------------------------------- FIFOs */

/* Makes a FIFO conf/name. */
static void put_fifo(const char *name)
{
	char *path = tu_path(T.conf, name);

	assert_int_equal(mkfifo(path, 0600), 0);
	free(path);
}

static void fifo_job_file_and_plugin_never_hang_a_command(void **state)
{
	(void)state;
	put_plugin("valid", 0755);
	put("good.ini", VALID_JOB("good"), 0644);
	put_fifo("x.ini");
	put_fifo("x.so");
	assert_int_equal(sweepd("--check"), 2);
	expect_err("x.ini: refused: a FIFO, not a regular file");
	expect_err("x.so: refused: a FIFO, not a regular file");
	assert_int_equal(sweepd("--list-jobs"), 0);
	assert_contains(T.out, "refused: a FIFO");
	assert_int_equal(sweepd("--list-plugins"), 0);
	assert_contains(T.out, "valid 0.0.1");
	expect_err("x.so: refused: a FIFO");
	/* Even with the trust checks off, a FIFO is never opened. */
	assert_int_equal(sweepd("--allow-insecure-files --check"), 2);
	expect_err("x.ini: refused: a FIFO");
	/* A job naming the FIFO as its plugin is refused, not hung. */
	put("uses-x.ini", "[job]\nname = uses-x\nplugin = x\n", 0644);
	assert_int_equal(sweepd("--check"), 2);
	expect_err("uses-x.ini:3: ");
}

static void daemon_starts_and_stops_with_a_fifo_present(void **state)
{
	char prefix[96];
	td_proc *d;
	char *text;

	(void)state;
	put_plugin("valid", 0755);
	put("good.ini", VALID_JOB("good"), 0644);
	put_fifo("x.ini");
	put_fifo("x.so");
	snprintf(prefix, sizeof(prefix), "env -u SWEEPD_ALLOW_INSECURE_FILES"
	         " timeout %d", 3 * TD_WAIT_S);
	d = td_start_with(&(td_opts){.prefix = prefix}, "--conf-dir '%s'"
	                  " --plugin-dir '" SWEEPD_PLUGIN_DIR "'", T.conf);
	td_wait_log(d, "scheduler started");
	text = td_log(d);
	assert_contains(text, "x.ini: refused: a FIFO");
	if (geteuid() == 0)
		assert_contains(text, "running as root: run sweepd as a "
		                "dedicated user, e.g. User=sweepd in its systemd "
		                "unit");
	free(text);
	assert_int_equal(td_stop(d), 0);
}

/* ------------------------------------------------- insecure, explicitly */

static void allow_insecure_files_loads_unsafe_ones(void **state)
{
	(void)state;
	put_plugin("valid", 0777);
	put("job.ini", VALID_JOB("loose"), 0666);
	assert_int_equal(sweepd("--check"), 2);
	assert_int_equal(sweepd("--allow-insecure-files --check"), 0);
	assert_contains(T.out, "1 job, ");
	assert_contains(T.out, "0 problems");
	assert_int_equal(sweepd_env("SWEEPD_ALLOW_INSECURE_FILES=true",
	                            "--check"), 0);
	assert_contains(T.out, "0 problems");
	assert_int_equal(sweepd_env("SWEEPD_ALLOW_INSECURE_FILES=maybe",
	                            "--check"), 2);
	assert_contains(T.err, "SWEEPD_ALLOW_INSECURE_FILES");
	/* The setting, from a sweepd.ini that is itself sound. */
	put("sweepd.ini", "[sweepd]\nallow_insecure_files = true\n", 0644);
	assert_int_equal(sweepd("--check"), 0);
	assert_contains(T.out, "0 problems");
	/* An unsafe sweepd.ini cannot vouch for itself. */
	put("sweepd.ini", "[sweepd]\nallow_insecure_files = true\n", 0666);
	assert_int_equal(sweepd("--check"), 2);
	expect_err("sweepd.ini: refused: writable by group and others");
	expect_err("job.ini: refused");
}

static void refused_plugin_never_runs_its_constructor(void **state)
{
	char *marker = tu_path(T.other, "marker");
	buf env = BUF_INIT;

	(void)state;
	buf_printf(&env, "SWEEPD_TEST_MARKER='%s'", marker);
	put_plugin("constructor", 0666);
	put("job.ini", "[job]\nname = ctor\nplugin = constructor\n", 0644);
	assert_int_equal(sweepd_env(buf_str(&env), "--list-plugins"), 0);
	assert_int_equal(sweepd_env(buf_str(&env), "--check"), 2);
	expect_err("constructor.so: refused: writable by group and others");
	assert_int_equal(sweepd_env(buf_str(&env), "--list-jobs"), 0);
	assert_int_equal(access(marker, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	/* The same file, trusted, is loaded: the marker proves the test can
	 * see a constructor run. */
	assert_int_equal(sweepd_env(buf_str(&env), "--allow-insecure-files "
	                            "--list-plugins"), 0);
	assert_contains(T.out, "constructor 0.0.1");
	assert_int_equal(access(marker, F_OK), 0);
	buf_free(&env);
	free(marker);
}

/* ---------------------------------------------------------- messages */

static void nul_byte_is_named_with_its_line(void **state)
{
	static const char text[] = "[job]\nname = nul\nplugin = va\0lid\n";
	char *path = tu_path(T.conf, "nul.ini");
	FILE *fp = fopen(path, "w");

	(void)state;
	put_plugin("valid", 0755);
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, sizeof(text) - 1, fp),
	                 sizeof(text) - 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(sweepd("--check"), 2);
	expect_err("nul.ini:3: NUL byte (column 12)");
	assert_null(strstr(T.err, "longer than"));
	free(path);
}

static void utf8_bom_is_ignored_with_a_warning(void **state)
{
	(void)state;
	put_plugin("valid", 0755);
	put("bom.ini", "\xEF\xBB\xBF" VALID_JOB("bom"), 0644);
	assert_int_equal(sweepd("--check"), 0);
	assert_contains(T.out, "1 job, ");
	assert_contains(T.out, "0 problems");
	assert_contains(T.err, "UTF-8 byte order mark ignored");
	expect_err("bom.ini");
	/* UTF-16 is one problem, not one per line. */
	put("wide.ini", "\xFF\xFE[\0j\0o\0b\0]\0\n\0", 0644);
	assert_int_equal(sweepd("--check"), 2);
	expect_err("wide.ini:1: the file is UTF-16");
	assert_contains(T.out, " 1 problem, ");
}

static void elf_of_another_architecture_is_named(void **state)
{
	char *path = tu_path(T.conf, "valid.so");
	unsigned char em[2];
	int fd;

	(void)state;
	put_plugin("valid", 0755);
	put("job.ini", VALID_JOB("foreign"), 0644);
	/* e_machine, at offset 18, little-endian on the hosts sweepd builds
	 * for: EM_AARCH64 (183), or EM_X86_64 (62) on an AArch64 host. */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, em, 2, 18), 2);
	if (em[0] == 183)
		em[0] = 62;
	else
		em[0] = 183;
	em[1] = 0;
	assert_int_equal(pwrite(fd, em, 2, 18), 2);
	assert_int_equal(close(fd), 0);
	assert_int_equal(sweepd("--check"), 2);
#if defined(__x86_64__)
	expect_err("valid.so: built for AArch64; this host is x86-64");
#else
	assert_contains(T.err, "valid.so: built for ");
	assert_contains(T.err, "; this host is ");
#endif
	assert_null(strstr(T.err, "/proc/self/fd"));
	free(path);
}

static void root_gets_one_warning(void **state)
{
	const char *first;

	(void)state;
	put_plugin("valid", 0755);
	put("job.ini", VALID_JOB("as-root"), 0644);
	assert_int_equal(sweepd("--check"), 0);
	if (geteuid() != 0) {
		assert_null(strstr(T.err, "running as root"));
		return;
	}
	first = strstr(T.err, "running as root: run sweepd as a dedicated "
	               "user, e.g. User=sweepd in its systemd unit");
	if (first == NULL)
		fail_msg("no root warning in:\n%s", T.err);
	assert_null(strstr(first + 1, "running as root"));
}

/* ------------------------------------------------- trust_open directly */

static void trust_open_gives_a_readable_fd_of_the_file(void **state)
{
	char *path = tu_path(T.conf, "a.ini");
	char err[512], got[16];
	int fd = -1;

	(void)state;
	put("a.ini", "[job]\n", 0644);
	assert_int_equal(trust_open(path, TRUST_CONF, false, &fd, err,
	                            sizeof(err)), 0);
	assert_int_equal(read(fd, got, sizeof(got)), 6);
	assert_int_equal(memcmp(got, "[job]\n", 6), 0);
	close(fd);
	chmod(path, 0646);
	fd = -1;
	assert_int_equal(trust_open(path, TRUST_CONF, false, &fd, err,
	                            sizeof(err)), -1);
	assert_int_equal(fd, -1);
	assert_contains(err, "writable by others (mode 0646)");
	assert_int_equal(trust_open(path, TRUST_CONF, true, &fd, err,
	                            sizeof(err)), 0);
	close(fd);
	free(path);
}

#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T_(world_writable_job_file_is_refused_others_load),
		T_(group_writable_plugin_is_refused),
		T_(files_owned_by_another_user_are_refused),
		T_(world_writable_conf_dir_is_refused),
		T_(sticky_ancestor_directory_is_accepted),
		T_(symlink_to_a_sound_file_is_followed),
		T_(symlink_to_an_unsafe_file_is_refused),
		T_(fifo_job_file_and_plugin_never_hang_a_command),
		T_(daemon_starts_and_stops_with_a_fifo_present),
		T_(allow_insecure_files_loads_unsafe_ones),
		T_(refused_plugin_never_runs_its_constructor),
		T_(nul_byte_is_named_with_its_line),
		T_(utf8_bom_is_ignored_with_a_warning),
		T_(elf_of_another_architecture_is_named),
		T_(root_gets_one_warning),
		T_(trust_open_gives_a_readable_fd_of_the_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
