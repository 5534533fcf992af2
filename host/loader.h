/* loader: finds, dlopen()s and checks plugins, refusing any whose
 * descriptor this host cannot trust, and keeps them by name. */
#ifndef SWEEPD_LOADER_H
#define SWEEPD_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include <sweepd/plugin.h>

#include "diag.h"
#include "params.h"

/* A loaded plugin.  Read-only for everyone but the loader. */
typedef struct loader_plugin {
	char *path;                 /* as opened */
	const sweep_plugin *desc;   /* plugin-owned, valid while loaded */
	sweep_option *options;      /* host copy of the declared options */
	params_range *ranges;       /* one per option, from the plugin's
	                               ranges (ABI 1.6); NULL: none */
	size_t noptions;
	void *handle;
	int memfd;                  /* the loaded copy, or -1 */
} loader_plugin;

typedef struct loader loader;

loader *loader_new(void);
void loader_free(loader *l);
void loader_allow_insecure(loader *l, bool allow);
const loader_plugin *loader_open(loader *l, const char *path, char *err,
                                 size_t errlen);
const loader_plugin *loader_adopt(loader *l, const sweep_plugin *desc,
                                  const char *path, char *err,
                                  size_t errlen);
const loader_plugin *loader_resolve(loader *l, const char *ref,
                                    const char *conf_dir,
                                    const char *plugin_dir, char *err,
                                    size_t errlen);
void loader_scan(loader *l, const char *dir, diag *d);
size_t loader_count(const loader *l);
sweep_verify_fn loader_verify_fn(const sweep_plugin *d);
const loader_plugin *loader_at(const loader *l, size_t i);
const loader_plugin *loader_find(const loader *l, const char *name);

#endif
