/* watch: notices, through inotify, the changes to the configuration
 * directory and the plugin directory, and says when the daemon should
 * reload (as SIGHUP does).
 *
 * A change counts once it is complete: a file closed after writing, a
 * name moved in or out, deleted, a symbolic link created (a ConfigMap's
 * key, its ..data swap), attributes changed (touch).  Each one starts the
 * quiet period anew, so a .so and an .ini copied one after the other load
 * together.  A file still open for writing (created or modified, not yet
 * closed) holds the reload back, so a half-written file is never read
 * even when another change falls due meanwhile; a writer silent for
 * WATCH_HOLD_MS no longer holds it. */
#include "watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

/* The events watched in each directory. */
#define WATCH_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |      \
                      IN_DELETE | IN_CREATE | IN_MODIFY | IN_ATTRIB |     \
                      IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
/* A Kubernetes ConfigMap volume's symlink to its current files, replaced
 * by a rename on each update. */
#define WATCH_CONFIGMAP "..data"

/* A watched directory and the names changed in it since the last reload. */
typedef struct watch_dir {
	int wd;                 /* -1: not watched */
	const char *label;      /* in reasons: "conf.d", "plugin_dir" */
	const char *path;       /* the settings' string */
	bool jobs;              /* job files live here, not only plugins */
	char names[160];        /* changed names, ", "-separated */
	bool more;              /* names left out for want of room */
} watch_dir;

/* A file being written: created or modified, not closed yet. */
typedef struct watch_writer {
	int wd;
	char *name;
	int64_t last_ms;        /* its last write */
} watch_writer;

struct watch {
	int fd;
	watch_dir dirs[2];      /* the configuration dir, the plugin dir */
	bool changed;           /* a change since the last reload */
	bool lost;              /* events were lost (queue overflow) */
	int64_t quiet_ms;       /* end of the quiet period */
	watch_writer *writers;
	size_t nwriters;
};

/* True when name is longer than suffix and ends with it. */
static bool watch_ends(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return n > k && strcmp(name + n - k, suffix) == 0;
}

/* True when a change of name in d concerns the configuration: a plugin
 * (*.so); in the configuration dir also a job file or sweepd.ini (*.ini)
 * and a ConfigMap's ..data.  Other hidden names never do (editors' swap
 * files .x.ini.swp, lock links .#x.ini, files written aside before a
 * rename), nor backups (x.ini~), vim's probe file (4913) or anything
 * else the loader does not read. */
static bool watch_concerns(const watch_dir *d, const char *name)
{
	if (d->jobs && strcmp(name, WATCH_CONFIGMAP) == 0)
		return true;
	if (name[0] == '.')
		return false;
	return watch_ends(name, ".so") || (d->jobs && watch_ends(name, ".ini"));
}

/* The watched directory of wd, or NULL. */
static watch_dir *watch_dir_of(watch *w, int wd)
{
	size_t i;

	for (i = 0; i < 2; i++)
		if (w->dirs[i].wd >= 0 && w->dirs[i].wd == wd)
			return &w->dirs[i];
	return NULL;
}

/* The writer of name in d, or NULL. */
static watch_writer *watch_writer_of(watch *w, const watch_dir *d,
                                     const char *name)
{
	size_t i;

	for (i = 0; i < w->nwriters; i++)
		if (w->writers[i].wd == d->wd &&
		    strcmp(w->writers[i].name, name) == 0)
			return &w->writers[i];
	return NULL;
}

/* Notes that name in d is being written, at now_ms.  Out of memory, the
 * write is not held for (the close still counts). */
static void watch_hold(watch *w, const watch_dir *d, const char *name,
                       int64_t now_ms)
{
	watch_writer *v = watch_writer_of(w, d, name);

	if (v == NULL) {
		v = realloc(w->writers, (w->nwriters + 1) * sizeof(*v));
		if (v == NULL)
			return;
		w->writers = v;
		v += w->nwriters;
		if ((v->name = strdup(name)) == NULL)
			return;
		v->wd = d->wd;
		w->nwriters++;
	}
	v->last_ms = now_ms;
}

/* Forgets that name in d is being written. */
static void watch_release(watch *w, const watch_dir *d, const char *name)
{
	watch_writer *v = watch_writer_of(w, d, name);

	if (v == NULL)
		return;
	free(v->name);
	*v = w->writers[--w->nwriters];
}

/* True when name is one of d's changed names. */
static bool watch_listed(const watch_dir *d, const char *name)
{
	const char *p = d->names;
	size_t n = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == d->names || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ','))
			return true;
		p += n;
	}
	return false;
}

/* Records a change of name in d at now_ms: the name joins d's changed
 * names (once), and the quiet period starts anew. */
static void watch_note(watch *w, watch_dir *d, const char *name,
                       int64_t now_ms)
{
	size_t len = strlen(d->names);

	w->changed = true;
	w->quiet_ms = now_ms + WATCH_QUIET_MS;
	if (watch_listed(d, name))
		return;
	if (len + strlen(name) + 3 > sizeof(d->names)) {
		d->more = true;
		return;
	}
	snprintf(d->names + len, sizeof(d->names) - len, "%s%s",
	         len ? ", " : "", name);
}

/* True when name in d is a symbolic link. */
static bool watch_is_link(const watch_dir *d, const char *name)
{
	buf path = BUF_INIT;
	struct stat st;
	bool link;

	buf_printf(&path, "%s/%s", d->path, name);
	link = !path.oom && lstat(buf_str(&path), &st) == 0 &&
	       S_ISLNK(st.st_mode);
	buf_free(&path);
	return link;
}

/* What an event's mask says happened, for the log. */
static const char *watch_kind(uint32_t mask)
{
	if (mask & IN_CLOSE_WRITE)
		return "written";
	if (mask & IN_MOVED_TO)
		return "moved in";
	if (mask & IN_MOVED_FROM)
		return "moved out";
	if (mask & IN_DELETE)
		return "deleted";
	if (mask & IN_CREATE)
		return "created";
	return "attributes changed";
}

/* Takes a watched directory's own event: one removed or moved is no
 * longer watched (logged). */
static void watch_dir_event(watch_dir *d, uint32_t mask)
{
	if (mask & (IN_DELETE_SELF | IN_MOVE_SELF))
		log_msg(SWEEP_LOG_WARN, "directory no longer watched", "dir",
		        d->path, "hint", "SIGHUP reloads", LOG_END);
	if (mask & IN_IGNORED)
		d->wd = -1;
}

/* Takes one event at now_ms; true when it is a change of the
 * configuration (a write in progress is not one yet). */
static bool watch_event(watch *w, const struct inotify_event *ev,
                        int64_t now_ms)
{
	watch_dir *d = watch_dir_of(w, ev->wd);

	if (ev->mask & IN_Q_OVERFLOW) {
		w->lost = w->changed = true;
		w->quiet_ms = now_ms + WATCH_QUIET_MS;
		return true;
	}
	if (d == NULL)
		return false;
	if (ev->len == 0) {
		watch_dir_event(d, ev->mask);
		return false;
	}
	if ((ev->mask & IN_ISDIR) || !watch_concerns(d, ev->name))
		return false;       /* the loader reads no subdirectory */
	if (ev->mask & IN_MODIFY) {
		watch_hold(w, d, ev->name, now_ms);
		return false;
	}
	/* A new regular file is empty until its writer closes it. */
	if ((ev->mask & IN_CREATE) && !watch_is_link(d, ev->name))
		watch_hold(w, d, ev->name, now_ms);
	else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
	                     IN_DELETE))
		watch_release(w, d, ev->name);
	log_msg(SWEEP_LOG_DEBUG, "configuration change", "dir", d->label,
	        "file", ev->name, "change", watch_kind(ev->mask), LOG_END);
	watch_note(w, d, ev->name, now_ms);
	return true;
}

/* Watches path as d (label names it in reasons; jobs: job files live
 * there); a failure is logged and leaves d unwatched.  d borrows path. */
static void watch_add(watch *w, watch_dir *d, const char *path,
                      const char *label, bool jobs)
{
	d->path = path;
	d->label = label;
	d->jobs = jobs;
	d->wd = inotify_add_watch(w->fd, path, WATCH_EVENTS);
	if (d->wd < 0)
		log_msg(SWEEP_LOG_WARN, "directory not watched", "dir", path,
		        "error", strerror(errno), "hint", "SIGHUP reloads",
		        LOG_END);
}

/* Starts watching s's configuration and plugin directories (logged), or
 * returns NULL when s says not to or neither can be watched (logged: then
 * only SIGHUP reloads).  w borrows s's strings: s outlives w.  Free with
 * watch_close(). */
watch *watch_open(const settings *s)
{
	watch *w;

	if (!s->watch) {
		log_msg(SWEEP_LOG_INFO, "conf.d not watched", "dir", s->conf_dir,
		        "hint", "watch = false: SIGHUP reloads", LOG_END);
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		log_msg(SWEEP_LOG_WARN, "conf.d not watched", "error",
		        strerror(errno), "hint", "SIGHUP reloads", LOG_END);
		free(w);
		return NULL;
	}
	watch_add(w, &w->dirs[0], s->conf_dir, "conf.d", true);
	watch_add(w, &w->dirs[1], s->plugin_dir, "plugin_dir", false);
	if (w->dirs[1].wd == w->dirs[0].wd)
		w->dirs[1].wd = -1;     /* one directory: the first covers it */
	if (w->dirs[0].wd < 0 && w->dirs[1].wd < 0) {
		watch_close(w);
		return NULL;
	}
	log_msg(SWEEP_LOG_INFO, "watching for changes", "dir",
	        w->dirs[0].wd >= 0 ? s->conf_dir : NULL, "plugin_dir",
	        w->dirs[1].wd >= 0 ? s->plugin_dir : NULL, LOG_END);
	return w;
}

/* The descriptor to poll for input, or -1 (which poll() skips) when w is
 * NULL. */
int watch_fd(const watch *w)
{
	return w ? w->fd : -1;
}

/* Takes every event waiting on w's descriptor, without waiting, as seen at
 * now_ms (a monotonic clock); true when one was a change of the
 * configuration.  w may be NULL. */
bool watch_read(watch *w, int64_t now_ms)
{
	_Alignas(struct inotify_event) char b[4096];
	bool changed = false;
	ssize_t n;

	if (w == NULL)
		return false;
	while ((n = read(w->fd, b, sizeof(b))) > 0) {
		const char *p = b;

		while (p < b + n) {
			const struct inotify_event *ev =
				(const struct inotify_event *)(const void *)p;

			if (watch_event(w, ev, now_ms))
				changed = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	return changed;
}

/* The instant the reload is due, or -1 when nothing changed: the end of
 * the quiet period, or later while a file is still being written. */
static int64_t watch_due_at(const watch *w)
{
	int64_t at = w->quiet_ms;
	size_t i;

	if (!w->changed)
		return -1;
	for (i = 0; i < w->nwriters; i++)
		if (w->writers[i].last_ms + WATCH_HOLD_MS > at)
			at = w->writers[i].last_ms + WATCH_HOLD_MS;
	return at;
}

/* Narrows poll()'s timeout wait_ms (-1: none) to the time left at now_ms
 * before the reload is due.  w may be NULL. */
int watch_poll_ms(const watch *w, int64_t now_ms, int wait_ms)
{
	int64_t at = w ? watch_due_at(w) : -1, ms;

	if (at < 0)
		return wait_ms;
	ms = at > now_ms ? at - now_ms : 0;
	return wait_ms >= 0 && wait_ms < ms ? wait_ms : (int)ms;
}

/* What changed since the last reload, in out: "conf.d changed: a.ini,
 * b.so; plugin_dir changed: c.so". */
static void watch_reason(const watch *w, char *out, size_t len)
{
	buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < 2; i++)
		if (w->dirs[i].names[0] != '\0')
			buf_printf(&b, "%s%s changed: %s%s", b.len ? "; " : "",
			           w->dirs[i].label, w->dirs[i].names,
			           w->dirs[i].more ? " and more" : "");
	if (w->lost)
		buf_printf(&b, "%sevents lost (inotify queue overflow)",
		           b.len ? "; " : "");
	snprintf(out, len, "%s", b.len && !b.oom ? buf_str(&b) : "changes");
	buf_free(&b);
}

/* Forgets every change and writer: a reload starts now. */
static void watch_reset(watch *w)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		w->dirs[i].names[0] = '\0';
		w->dirs[i].more = false;
	}
	for (i = 0; i < w->nwriters; i++)
		free(w->writers[i].name);
	w->nwriters = 0;
	w->changed = w->lost = false;
}

/* True, once, when the reload is due at now_ms: out gets the reason (what
 * changed) and w starts over.  False when none is due; w may be NULL. */
bool watch_due(watch *w, int64_t now_ms, char *reason, size_t len)
{
	int64_t at = w ? watch_due_at(w) : -1;

	if (at < 0 || at > now_ms)
		return false;
	watch_reason(w, reason, len);
	watch_reset(w);
	return true;
}

/* Stops watching and frees w (may be NULL). */
void watch_close(watch *w)
{
	if (w == NULL)
		return;
	watch_reset(w);
	free(w->writers);
	close(w->fd);
	free(w);
}
