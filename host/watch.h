/* watch: notices, through inotify, the changes to the configuration
 * directory (job files, plugins, sweepd.ini, a Kubernetes ConfigMap's
 * ..data swap) and to the plugin directory (plugins), and says when the
 * daemon should reload: once the directories have been quiet for
 * WATCH_QUIET_MS after a completed change, and no job file or plugin is
 * still being written. */
#ifndef SWEEPD_WATCH_H
#define SWEEPD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settings.h"

/* Quiet time after the last change before the reload. */
#define WATCH_QUIET_MS 1000
/* Longest a file being written (modified, not yet closed) holds the reload
 * back after its last write. */
#define WATCH_HOLD_MS 10000

typedef struct watch watch;

watch *watch_open(const settings *s);
int watch_fd(const watch *w);
bool watch_read(watch *w, int64_t now_ms);
int watch_poll_ms(const watch *w, int64_t now_ms, int wait_ms);
bool watch_due(watch *w, int64_t now_ms, char *reason, size_t len);
void watch_close(watch *w);

#endif
