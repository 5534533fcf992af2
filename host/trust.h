/* trust: whether sweepd may read a job file or dlopen() a plugin, decided
 * before the file is opened, as cron and sshd's StrictModes decide. */
#ifndef SWEEPD_TRUST_H
#define SWEEPD_TRUST_H

#include <stdbool.h>
#include <stddef.h>

/* What a file is for, which words its refusal uses. */
typedef enum trust_kind {
	TRUST_CONF,             /* a job file or sweepd.ini */
	TRUST_PLUGIN            /* a plugin's shared object */
} trust_kind;

int trust_open(const char *path, trust_kind kind, bool allow_insecure,
               int *fd, char *err, size_t errlen);
int trust_dir(const char *dir, bool allow_insecure, char *err,
              size_t errlen);
void trust_warn_root(void);

#endif
