/* trust: whether sweepd may read a job file or dlopen() a plugin, decided
 * before the file is opened, as cron and sshd's StrictModes decide.
 *
 * A file is trusted when it is a regular file owned by root or by the
 * user sweepd runs as and writable by no one else, and when no one else
 * can replace it or add to the directory it is listed in: every directory
 * on its path, and every symbolic link followed to it, is owned by root or
 * that user; the directory it is looked up in is writable by no one else;
 * any other directory on the path is writable by no one else unless it is
 * sticky (as /tmp is: others may add names to it, but not replace ours).
 * The path is resolved one name at a time, so a link is followed only
 * into places that pass the same checks, and a FIFO or a device is never
 * opened, even when the checks are turned off. */
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Links followed in one path before giving up (the kernel's ELOOP). */
#define TRUST_MAX_LINKS 40

/* A path being resolved one name at a time. */
typedef struct trust_walk {
	bool check;             /* owner and mode checks on */
	const char *cannot;     /* "cannot open" (a plugin), "cannot read" */
	bool via_link;          /* a link was followed to the last name */
	int links;              /* links followed so far */
	char dir[PATH_MAX];     /* the directory reached: absolute, no links */
	char rest[PATH_MAX];    /* the names still to look up */
	char real[PATH_MAX];    /* the file reached */
	char *err;
	size_t errlen;
} trust_walk;

/* "group", "others" or "group and others": who may write mode. */
static const char *trust_writers(mode_t mode)
{
	if ((mode & S_IWGRP) && (mode & S_IWOTH))
		return "group and others";
	return (mode & S_IWGRP) ? "group" : "others";
}

/* " (NAME)" for uid in out, or "" when it has no name. */
static void trust_user(uid_t uid, char *out, size_t len)
{
	struct passwd pw, *found = NULL;
	char scratch[1024];

	out[0] = '\0';
	if (getpwuid_r(uid, &pw, scratch, sizeof(scratch), &found) == 0 &&
	    found != NULL)
		snprintf(out, len, " (%s)", found->pw_name);
}

/* What the object of st is, for a message: "a FIFO", "a directory"... */
static const char *trust_type(const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return "a directory";
	if (S_ISFIFO(st->st_mode))
		return "a FIFO";
	if (S_ISSOCK(st->st_mode))
		return "a socket";
	if (S_ISCHR(st->st_mode))
		return "a character device";
	if (S_ISBLK(st->st_mode))
		return "a block device";
	return "not a regular file";
}

/* Checks the owner of the object at path (st), and its mode unless it is
 * a link; sticky: group or others may write it when it is sticky.  subject
 * starts the message ("directory D is ", ...).  0, or -1 with the reason
 * and the fix in w->err. */
static int trust_object(trust_walk *w, const char *path,
                        const struct stat *st, bool sticky,
                        const char *subject)
{
	char who[300], me[300];
	mode_t mode = st->st_mode;

	if (!w->check)
		return 0;
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		trust_user(st->st_uid, who, sizeof(who));
		trust_user(geteuid(), me, sizeof(me));
		snprintf(w->err, w->errlen, "refused: %sowned by uid %ld%s, not "
		         "by root or the user sweepd runs as (uid %ld%s); run "
		         "chown root %s", subject, (long)st->st_uid, who,
		         (long)geteuid(), me, path);
		return -1;
	}
	if (S_ISLNK(mode) || (mode & (S_IWGRP | S_IWOTH)) == 0 ||
	    (sticky && (mode & S_ISVTX)))
		return 0;
	snprintf(w->err, w->errlen, "refused: %swritable by %s (mode %04o); "
	         "run chmod go-w %s", subject, trust_writers(mode),
	         (unsigned)(mode & 07777), path);
	return -1;
}

/* Checks the directory w->dir; sticky as for trust_object(). */
static int trust_lookup_dir(trust_walk *w, bool sticky)
{
	char subject[PATH_MAX + 32];
	struct stat st;

	if (!w->check)
		return 0;
	if (stat(w->dir, &st) != 0) {
		snprintf(w->err, w->errlen, "cannot read directory %s: %s",
		         w->dir, strerror(errno));
		return -1;
	}
	snprintf(subject, sizeof(subject), "directory %s is ", w->dir);
	return trust_object(w, w->dir, &st, sticky, subject);
}

/* Takes the next name off w->rest into name (NAME_MAX + 1 bytes).
 * Returns 1 with *last true when no name follows it, 0 when none is left,
 * -1 (w->err) when the name is too long to be one. */
static int trust_next(trust_walk *w, char *name, bool *last)
{
	const char *p = w->rest;
	size_t n;

	while (*p == '/')
		p++;
	if (*p == '\0')
		return 0;
	n = strcspn(p, "/");
	if (n > NAME_MAX) {
		snprintf(w->err, w->errlen, "%s: %s", w->cannot,
		         strerror(ENAMETOOLONG));
		return -1;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	memmove(w->rest, p + n, strlen(p + n) + 1);
	*last = w->rest[strspn(w->rest, "/")] == '\0';
	return 1;
}

/* Replaces the name just looked up, a link at path, with its target:
 * 0, or -1 with the reason in w->err. */
static int trust_follow(trust_walk *w, const char *path)
{
	char target[PATH_MAX], rest[PATH_MAX];
	ssize_t n;

	if (++w->links > TRUST_MAX_LINKS) {
		snprintf(w->err, w->errlen, "%s: more than %d symbolic links",
		         w->cannot, TRUST_MAX_LINKS);
		return -1;
	}
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		snprintf(w->err, w->errlen, "cannot read link %s: %s", path,
		         strerror(errno));
		return -1;
	}
	target[n] = '\0';
	snprintf(rest, sizeof(rest), "%s", w->rest);
	if ((size_t)snprintf(w->rest, sizeof(w->rest), "%s/%s", target,
	                     rest) >= sizeof(w->rest)) {
		snprintf(w->err, w->errlen, "%s: path too long", w->cannot);
		return -1;
	}
	if (target[0] == '/')
		snprintf(w->dir, sizeof(w->dir), "/");
	w->via_link = true;
	return 0;
}

/* Moves w->dir to its parent (w->dir has no links, so this is the
 * directory the name ".." leads to). */
static void trust_up(trust_walk *w)
{
	char *slash = strrchr(w->dir, '/');

	if (slash == w->dir)
		w->dir[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
}

/* Looks up name in w->dir: a link is replaced by its target, a directory
 * becomes w->dir, anything else is the file reached (in w->real, *st).
 * Returns 1 when the walk goes on, 0 at the file, -1 with w->err. */
static int trust_step(trust_walk *w, const char *name, bool last,
                      bool want_dir, struct stat *st)
{
	char path[PATH_MAX], subject[PATH_MAX + 32];

	if (strcmp(name, ".") == 0)
		return 1;
	if (strcmp(name, "..") == 0) {
		trust_up(w);
		return 1;
	}
	/* The file's own directory decides what is listed in it: sticky is
	 * not enough there. */
	if (trust_lookup_dir(w, !(last && !want_dir)) != 0)
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", w->dir,
	                     strcmp(w->dir, "/") ? "/" : "", name) >=
	    sizeof(path)) {
		snprintf(w->err, w->errlen, "%s: path too long", w->cannot);
		return -1;
	}
	if (lstat(path, st) != 0) {
		snprintf(w->err, w->errlen, "%s%s%s: %s", w->cannot,
		         w->via_link ? " " : "", w->via_link ? path : "",
		         strerror(errno));
		return -1;
	}
	if (S_ISLNK(st->st_mode)) {
		snprintf(subject, sizeof(subject), "symbolic link %s is ", path);
		if (trust_object(w, path, st, false, subject) != 0)
			return -1;
		return trust_follow(w, path) == 0 ? 1 : -1;
	}
	if (S_ISDIR(st->st_mode) && !last) {
		snprintf(w->dir, sizeof(w->dir), "%s", path);
		return 1;
	}
	if (!last) {
		snprintf(w->err, w->errlen, "%s: %s is not a directory",
		         w->cannot, path);
		return -1;
	}
	snprintf(w->real, sizeof(w->real), "%s", path);
	return 0;
}

/* Resolves path (relative to the working directory) name by name,
 * checking every directory and link on the way.  0 with the object
 * reached in w->real and *st, or -1 with w->err. */
static int trust_resolve(trust_walk *w, const char *path, bool want_dir,
                         struct stat *st)
{
	char name[NAME_MAX + 1], cwd[PATH_MAX];
	bool last = false;
	int rc;

	snprintf(w->dir, sizeof(w->dir), "/");
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL) {
		snprintf(w->err, w->errlen, "%s: no working directory: %s",
		         w->cannot, strerror(errno));
		return -1;
	}
	if ((size_t)snprintf(w->rest, sizeof(w->rest), "%s/%s",
	                     path[0] == '/' ? "" : cwd, path) >=
	    sizeof(w->rest)) {
		snprintf(w->err, w->errlen, "%s: path too long", w->cannot);
		return -1;
	}
	while ((rc = trust_next(w, name, &last)) > 0)
		if ((rc = trust_step(w, name, last, want_dir, st)) <= 0)
			return rc;
	if (rc < 0)
		return -1;
	/* The path ended at a directory (".", "dir/"). */
	snprintf(w->real, sizeof(w->real), "%s", w->dir);
	if (stat(w->real, st) != 0) {
		snprintf(w->err, w->errlen, "%s: %s", w->cannot,
		         strerror(errno));
		return -1;
	}
	return 0;
}

/* Checks the file reached, st: regular, owner, mode.  0, or -1 with the
 * reason and the fix in w->err. */
static int trust_file(trust_walk *w, const struct stat *st, trust_kind kind)
{
	char subject[PATH_MAX + 32];

	subject[0] = '\0';
	if (w->via_link)
		snprintf(subject, sizeof(subject), "symbolic link to %s, "
		         "which is ", w->real);
	if (!S_ISREG(st->st_mode)) {
		snprintf(w->err, w->errlen, "refused: %s%s, not a regular file; "
		         "remove it (a %s is a regular file)", subject,
		         trust_type(st),
		         kind == TRUST_PLUGIN ? "plugin" : "job file");
		return -1;
	}
	return trust_object(w, w->real, st, false, subject);
}

/* Opens the file at path for reading once it is trusted (see the top of
 * this file; allow_insecure turns the owner and mode checks off, never
 * the refusal of what is not a regular file).  The file is opened without
 * blocking and without following a link, and checked again through the
 * descriptor.  Returns 0 with *fd the caller's to close, or -1 with *fd
 * -1 and, in err, the reason and its fix (without the path, which the
 * caller puts first). */
int trust_open(const char *path, trust_kind kind, bool allow_insecure,
               int *fd, char *err, size_t errlen)
{
	trust_walk w;
	struct stat st, fst;
	int f, flags;

	*fd = -1;
	memset(&w, 0, sizeof(w));
	w.check = !allow_insecure;
	w.cannot = kind == TRUST_PLUGIN ? "cannot open" : "cannot read";
	w.err = err;
	w.errlen = errlen;
	if (trust_resolve(&w, path, false, &st) != 0 ||
	    trust_file(&w, &st, kind) != 0)
		return -1;
	f = open(w.real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
	         O_NONBLOCK);
	if (f < 0) {
		snprintf(err, errlen, "%s: %s", w.cannot, strerror(errno));
		return -1;
	}
	if (fstat(f, &fst) != 0) {
		snprintf(err, errlen, "%s: %s", w.cannot, strerror(errno));
		goto fail;
	}
	if (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
		snprintf(err, errlen, "%s: the file changed while it was "
		         "checked; try again", w.cannot);
		goto fail;
	}
	if (trust_file(&w, &fst, kind) != 0)
		goto fail;
	flags = fcntl(f, F_GETFL);
	if (flags >= 0)
		fcntl(f, F_SETFL, flags & ~O_NONBLOCK);
	*fd = f;
	return 0;
fail:
	close(f);
	return -1;
}

/* Checks that the directory dir, whose files sweepd lists and loads, is
 * trusted: owned by root or sweepd's user, writable by no one else, on a
 * trusted path.  0 (always, with allow_insecure), or -1 with the reason
 * and its fix in err (without the path, which the caller puts first). */
int trust_dir(const char *dir, bool allow_insecure, char *err,
              size_t errlen)
{
	trust_walk w;
	struct stat st;
	char subject[PATH_MAX + 32];

	if (allow_insecure)
		return 0;
	memset(&w, 0, sizeof(w));
	w.check = true;
	w.cannot = "cannot read";
	w.err = err;
	w.errlen = errlen;
	if (trust_resolve(&w, dir, true, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot read: %s, not a directory",
		         trust_type(&st));
		return -1;
	}
	snprintf(subject, sizeof(subject), "directory %s is ", w.real);
	return trust_object(&w, w.real, &st, false, subject);
}

/* Logs one warning when sweepd runs as root: a plugin's bug is then
 * root's. */
void trust_warn_root(void)
{
	if (geteuid() == 0)
		log_msg(SWEEP_LOG_WARN, "running as root: run sweepd as a "
		        "dedicated user, e.g. User=sweepd in its systemd unit",
		        LOG_END);
}
