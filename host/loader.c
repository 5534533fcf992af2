/* loader: finds, dlopen()s and checks plugins, refusing any whose
 * descriptor this host cannot trust, and keeps them by name. */
#include "loader.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "dirlist.h"
#include "params.h"
#include "trust.h"

struct loader {
	loader_plugin **items;
	size_t count;
	size_t cap;
	bool allow_insecure;    /* no owner and mode checks (trust.c) */
};

/* The ELF machine and class of this host's own code. */
#if defined(__x86_64__) && defined(__ILP32__)
#define LOADER_MACHINE EM_X86_64
#define LOADER_CLASS ELFCLASS32
#elif defined(__x86_64__)
#define LOADER_MACHINE EM_X86_64
#define LOADER_CLASS ELFCLASS64
#elif defined(__i386__)
#define LOADER_MACHINE EM_386
#define LOADER_CLASS ELFCLASS32
#elif defined(__aarch64__)
#define LOADER_MACHINE EM_AARCH64
#define LOADER_CLASS ELFCLASS64
#elif defined(__arm__)
#define LOADER_MACHINE EM_ARM
#define LOADER_CLASS ELFCLASS32
#elif defined(__riscv) && __riscv_xlen == 64
#define LOADER_MACHINE EM_RISCV
#define LOADER_CLASS ELFCLASS64
#elif defined(__powerpc64__)
#define LOADER_MACHINE EM_PPC64
#define LOADER_CLASS ELFCLASS64
#elif defined(__s390x__)
#define LOADER_MACHINE EM_S390
#define LOADER_CLASS ELFCLASS64
#endif
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LOADER_DATA ELFDATA2MSB
#else
#define LOADER_DATA ELFDATA2LSB
#endif

/* Bytes of a descriptor this host reads: everything up to teardown. */
#define LOADER_DESC_MIN (offsetof(sweep_plugin, teardown) + \
                         sizeof(sweep_teardown_fn))
/* Bytes of an option declaration this host reads. */
#define LOADER_OPTION_MIN (offsetof(sweep_option, help) + sizeof(char *))
/* Bytes a descriptor holds when it has a table of ranges (ABI 1.6). */
#define LOADER_DESC_RANGES (offsetof(sweep_plugin, ranges) + \
                            sizeof(const sweep_option_range *))
/* Bytes a descriptor holds when it has a verify function (ABI 1.9). */
#define LOADER_DESC_VERIFY (offsetof(sweep_plugin, verify) + \
                            sizeof(sweep_verify_fn))
/* Bytes of a range declaration this host reads. */
#define LOADER_RANGE_MIN (offsetof(sweep_option_range, max) + \
                          sizeof(int64_t))

/* A new, empty registry (free with loader_free()), or NULL.  It loads
 * only plugins that pass the trust checks (trust.c). */
loader *loader_new(void)
{
	return calloc(1, sizeof(loader));
}

/* With allow true, l loads plugins whatever their owner and mode (for
 * development and tests: --allow-insecure-files). */
void loader_allow_insecure(loader *l, bool allow)
{
	l->allow_insecure = allow;
}

/* Unloads p and frees it. */
static void loader_plugin_free(loader_plugin *p)
{
	if (p == NULL)
		return;
	if (p->handle)
		dlclose(p->handle);
	if (p->memfd >= 0)
		close(p->memfd);
	free(p->options);
	free(p->ranges);
	free(p->path);
	free(p);
}

/* The plugin's verify function (ABI 1.9), or NULL when it has none or
 * its descriptor, built for an older minor, is too short to hold one:
 * the host never reads past the descriptor's own size. */
sweep_verify_fn loader_verify_fn(const sweep_plugin *d)
{
	return d->size >= LOADER_DESC_VERIFY ? d->verify : NULL;
}

/* Unloads every plugin and frees the registry; l may be NULL.  Pointers
 * from loader_* are invalid afterwards. */
void loader_free(loader *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++)
		loader_plugin_free(l->items[i]);
	free(l->items);
	free(l);
}

/* The file name of path without directory and ".so", in out. */
static void loader_stem(const char *path, char *out, size_t outlen)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 3 && strcmp(base + len - 3, ".so") == 0)
		len -= 3;
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, base, len);
	out[len] = '\0';
}

/* True when name is a valid plugin name: [a-z0-9_-], not empty. */
static int loader_name_ok(const char *name)
{
	const char *p;

	if (name == NULL || *name == '\0')
		return 0;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-'))
			return 0;
	return 1;
}

#ifdef LOADER_MACHINE
/* The name of ELF machine m, for messages. */
static const char *loader_machine_name(unsigned m)
{
	switch (m) {
	case EM_X86_64: return "x86-64";
	case EM_386: return "x86 (32-bit)";
	case EM_AARCH64: return "AArch64";
	case EM_ARM: return "ARM (32-bit)";
	case EM_RISCV: return "RISC-V";
	case EM_PPC64: return "PowerPC 64";
	case EM_PPC: return "PowerPC (32-bit)";
	case EM_S390: return "s390x";
	case EM_MIPS: return "MIPS";
	case EM_SPARCV9: return "SPARC 64";
	case 258: return "LoongArch";        /* EM_LOONGARCH */
	default: return NULL;
	}
}
#endif

/* Checks that the ELF header h (n bytes read) is one this host can load:
 * its machine, word size and byte order.  0, or -1 with a message naming
 * what the object was built for and what this host is. */
static int loader_check_arch(const unsigned char *h, size_t n,
                             const char *path, char *err, size_t errlen)
{
#ifdef LOADER_MACHINE
	unsigned m;
	const char *built;

	if (n < 20)
		return 0;
	m = h[EI_DATA] == ELFDATA2MSB ? (unsigned)(h[18] << 8 | h[19])
	                              : (unsigned)(h[19] << 8 | h[18]);
	if (m != LOADER_MACHINE) {
		built = loader_machine_name(m);
		if (built)
			snprintf(err, errlen, "%s: built for %s; this host is "
			         "%s: build the plugin for %s", path, built,
			         loader_machine_name(LOADER_MACHINE),
			         loader_machine_name(LOADER_MACHINE));
		else
			snprintf(err, errlen, "%s: built for ELF machine %u; this "
			         "host is %s: build the plugin for %s", path, m,
			         loader_machine_name(LOADER_MACHINE),
			         loader_machine_name(LOADER_MACHINE));
		return -1;
	}
	if (h[EI_CLASS] != LOADER_CLASS || h[EI_DATA] != LOADER_DATA) {
		snprintf(err, errlen, "%s: a %s-bit %s-endian object; this host "
		         "loads %s-bit %s-endian ones: build the plugin for "
		         "this host", path, h[EI_CLASS] == ELFCLASS64 ? "64" :
		         "32", h[EI_DATA] == ELFDATA2MSB ? "big" : "little",
		         LOADER_CLASS == ELFCLASS64 ? "64" : "32",
		         LOADER_DATA == ELFDATA2MSB ? "big" : "little");
		return -1;
	}
#else
	(void)h; (void)n; (void)path; (void)err; (void)errlen;
#endif
	return 0;
}

/* Checks that the file open on fd (named path) is an ELF shared object
 * this host can load before dlopen() sees it, so that a text file, an
 * executable or an object of another architecture gets a plain reason. */
static int loader_check_elf(int fd, const char *path, char *err,
                            size_t errlen)
{
	unsigned char h[EI_NIDENT + 4];
	ssize_t n = pread(fd, h, sizeof(h), 0);
	unsigned type;

	if (n < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		         strerror(errno));
		return -1;
	}
	if ((size_t)n < EI_NIDENT + 2 || memcmp(h, ELFMAG, SELFMAG) != 0) {
		snprintf(err, errlen, "%s: not an ELF shared object (no ELF "
		         "header); build the plugin as a shared library "
		         "(CMake: add_library(NAME MODULE ...))", path);
		return -1;
	}
	type = h[EI_DATA] == ELFDATA2MSB ? (unsigned)(h[16] << 8 | h[17])
	                                 : (unsigned)(h[17] << 8 | h[16]);
	if (type != ET_DYN) {
		snprintf(err, errlen, "%s: an ELF file but not a shared object "
		         "(type %u); link it with -shared", path, type);
		return -1;
	}
	return loader_check_arch(h, (size_t)n, path, err, errlen);
}

/* Index of the option called key among p's, or -1. */
static long loader_option_index(const loader_plugin *p, const char *key)
{
	size_t i;

	for (i = 0; i < p->noptions; i++)
		if (strcmp(p->options[i].key, key) == 0)
			return (long)i;
	return -1;
}

/* Checks that the default of every option with a range lies in it. */
static int loader_check_defaults(const loader_plugin *p, char *err,
                                 size_t errlen)
{
	char perr[256];
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < p->noptions; i++) {
		const sweep_option *o = &p->options[i];
		param_value v;

		if (!p->ranges[i].set || o->default_value == NULL)
			continue;
		if (params_parse_value(o, o->default_value, &v, perr,
		                       sizeof(perr)) != 0 ||
		    params_check_range(&v, &p->ranges[i], perr,
		                       sizeof(perr)) != 0) {
			snprintf(err, errlen, "%s: default of option '%s' is "
			         "invalid: %s", p->path, o->key, perr);
			rc = -1;
		}
		params_value_clear(&v);
	}
	return rc;
}

/* Reads the plugin's table of ranges (ABI 1.6) into p->ranges, one per
 * option, by the plugin's own entry size; a descriptor too short to hold
 * the table (a plugin built before 1.6) has none.  Returns 0, or -1 with
 * a message naming the range that is wrong. */
static int loader_read_ranges(loader_plugin *p, char *err, size_t errlen)
{
	const sweep_plugin *d = p->desc;
	size_t i;

	if (d->size < LOADER_DESC_RANGES || d->ranges == NULL)
		return 0;
	if (d->range_size < LOADER_RANGE_MIN) {
		snprintf(err, errlen, "%s: range_size is %u, this host needs "
		         "at least %zu: set .range_size = "
		         "sizeof(sweep_option_range) (SWEEP_PLUGIN_HEADER does)",
		         p->path, (unsigned)d->range_size, LOADER_RANGE_MIN);
		return -1;
	}
	p->ranges = calloc(p->noptions ? p->noptions : 1, sizeof(*p->ranges));
	if (p->ranges == NULL) {
		snprintf(err, errlen, "%s: out of memory", p->path);
		return -1;
	}
	for (i = 0;; i++) {
		const sweep_option_range *r = (const sweep_option_range *)
			((const char *)d->ranges + i * d->range_size);
		long k;

		if (r->key == NULL)
			break;
		k = loader_option_index(p, r->key);
		if (k < 0 || (p->options[k].type != SWEEP_OPT_INT &&
		              p->options[k].type != SWEEP_OPT_DURATION)) {
			snprintf(err, errlen, "%s: range %zu names '%s', which "
			         "is %s; a range applies to a declared integer "
			         "or duration option", p->path, i, r->key,
			         k < 0 ? "not a declared option" : "of another "
			         "type");
			return -1;
		}
		if (p->ranges[k].set || r->min > r->max) {
			snprintf(err, errlen, "%s: range of option '%s' is %s",
			         p->path, r->key, p->ranges[k].set ? "declared "
			         "twice" : "empty (min > max)");
			return -1;
		}
		p->ranges[k].set = true;
		p->ranges[k].min = r->min;
		p->ranges[k].max = r->max;
	}
	return loader_check_defaults(p, err, errlen);
}

/* Checks the header of p's descriptor: its magic, an ABI this host loads
 * and a size that holds every field that ABI has.  0, or -1 with err set
 * to the file, the problem and the fix. */
static int loader_check_header(const loader_plugin *p, char *err,
                               size_t errlen)
{
	const sweep_plugin *d = p->desc;
	const char *path = p->path;

	if (d->magic != SWEEP_PLUGIN_MAGIC) {
		snprintf(err, errlen, "%s: descriptor magic is 0x%08x, expected "
		         "0x%08x: not a sweepd plugin descriptor", path,
		         (unsigned)d->magic, SWEEP_PLUGIN_MAGIC);
		return -1;
	}
	if (!SWEEP_ABI_LOADS(d->abi_major, d->abi_minor)) {
		snprintf(err, errlen, "%s: built for sweepd ABI %u.%u; this "
		         "sweepd (ABI %d.%d) loads plugins built for ABI %d.0 "
		         "to %d.%d: %s", path, d->abi_major, d->abi_minor,
		         SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR, SWEEP_ABI_MAJOR,
		         SWEEP_ABI_MAJOR, SWEEP_ABI_MINOR,
		         d->abi_major != SWEEP_ABI_MAJOR
		         ? "rebuild the plugin against this sweepd's SDK "
		           "(another major version changed the ABI)"
		         : "upgrade sweepd, or rebuild the plugin against "
		           "this sweepd's SDK");
		return -1;
	}
	if (d->size < LOADER_DESC_MIN) {
		snprintf(err, errlen, "%s: descriptor is %u bytes, but ABI %u.%u "
		         "(the plugin's) and this sweepd (ABI %d.%d) need at "
		         "least %zu: set .size = sizeof(sweep_plugin) "
		         "(SWEEP_PLUGIN_HEADER does)", path, (unsigned)d->size,
		         d->abi_major, d->abi_minor, SWEEP_ABI_MAJOR,
		         SWEEP_ABI_MINOR, LOADER_DESC_MIN);
		return -1;
	}
	return 0;
}

/* Checks who p's descriptor says it is: a valid name that matches its
 * file's, a version, a description and the four functions every plugin
 * implements.  0, or -1 with err set. */
static int loader_check_identity(const loader_plugin *p, char *err,
                                 size_t errlen)
{
	const sweep_plugin *d = p->desc;
	const char *path = p->path;
	const char *missing = d->init == NULL ? "init" : d->run == NULL ? "run"
	                      : d->dry_run == NULL ? "dry_run"
	                      : d->teardown == NULL ? "teardown" : NULL;
	char stem[256];

	if (!loader_name_ok(d->name)) {
		snprintf(err, errlen, "%s: descriptor name '%s' is missing or "
		         "not made of a-z, 0-9, '_' and '-'", path,
		         d->name ? d->name : "(null)");
		return -1;
	}
	loader_stem(path, stem, sizeof(stem));
	if (strcmp(stem, d->name) != 0) {
		snprintf(err, errlen, "%s: declares the name '%s' but the file "
		         "is %s.so; jobs find plugins by file name, so rename "
		         "the file to %s.so", path, d->name, stem, d->name);
		return -1;
	}
	if (d->version == NULL || d->description == NULL) {
		snprintf(err, errlen, "%s: descriptor field '%s' is NULL", path,
		         d->version == NULL ? "version" : "description");
		return -1;
	}
	if (missing != NULL) {
		snprintf(err, errlen, "%s: descriptor function '%s' is NULL; "
		         "every plugin implements init, run, dry_run and "
		         "teardown", path, missing);
		return -1;
	}
	return 0;
}

/* Checks option o, the i-th of p (p->options[0..i) already read): a key,
 * a known type, declared once, a default that parses.  0, or -1 with err
 * set. */
static int loader_check_option(const loader_plugin *p, size_t i,
                               const sweep_option *o, char *err,
                               size_t errlen)
{
	char perr[256];
	param_value v;
	size_t j;
	int rc;

	if (o->key[0] == '\0' ||
	    strcmp(params_type_name(o->type), "unknown") == 0) {
		snprintf(err, errlen, "%s: option %zu ('%s') has an empty key or "
		         "unknown type %d", p->path, i, o->key, (int)o->type);
		return -1;
	}
	for (j = 0; j < i; j++)
		if (strcmp(p->options[j].key, o->key) == 0) {
			snprintf(err, errlen, "%s: option '%s' is declared twice",
			         p->path, o->key);
			return -1;
		}
	if (o->default_value == NULL)
		return 0;
	rc = params_parse_value(o, o->default_value, &v, perr, sizeof(perr));
	params_value_clear(&v);
	if (rc != 0)
		snprintf(err, errlen, "%s: default of option '%s' is invalid: "
		         "%s", p->path, o->key, perr);
	return rc != 0 ? -1 : 0;
}

/* Copies p's declared options (each of option_size bytes, the plugin's
 * own) into p->options, which p owns, checking each.  0, or -1 with err
 * set. */
static int loader_read_options(loader_plugin *p, char *err, size_t errlen)
{
	const sweep_plugin *d = p->desc;
	size_t i, n = 0;

	if (d->option_size < LOADER_OPTION_MIN) {
		snprintf(err, errlen, "%s: option_size is %u, this host needs "
		         "at least %zu: set .option_size = sizeof(sweep_option)",
		         p->path, (unsigned)d->option_size, LOADER_OPTION_MIN);
		return -1;
	}
	while (((const sweep_option *)((const char *)d->options +
	        n * d->option_size))->key != NULL)
		n++;
	p->options = calloc(n ? n : 1, sizeof(*p->options));
	if (p->options == NULL) {
		snprintf(err, errlen, "%s: out of memory", p->path);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const sweep_option *o = (const sweep_option *)
			((const char *)d->options + i * d->option_size);

		memcpy(&p->options[i], o, LOADER_OPTION_MIN);
		p->noptions = i + 1;
		if (loader_check_option(p, i, o, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* Checks every field of the descriptor this host relies on, and copies
 * the option declarations by the plugin's own struct size.  Returns 0, or
 * -1 with a message naming the field, what it holds and what is needed. */
static int loader_check_desc(loader_plugin *p, char *err, size_t errlen)
{
	if (loader_check_header(p, err, errlen) != 0 ||
	    loader_check_identity(p, err, errlen) != 0)
		return -1;
	if (p->desc->options != NULL &&
	    loader_read_options(p, err, errlen) != 0)
		return -1;
	return loader_read_ranges(p, err, errlen);
}

/* dlopen()s a private in-memory copy of the trusted file open on in, so
 * that a plugin replaced on disk, even overwritten in place, is loaded
 * afresh by the next reload and can never change under code already
 * running.  The copy is a memfd kept open while the plugin is loaded
 * (*keep): the dynamic linker knows objects by path, and /proc/self/fd/N
 * stays unique only as long as N is.  Where memfd_create() is not
 * available, the trusted descriptor itself is loaded and kept.  Takes
 * in: it is closed or kept in *keep.  Returns the handle, or NULL with
 * dlerror() set and the path it names in fdpath. */
static void *loader_dlopen(int in, int *keep, char *fdpath, size_t len)
{
	char chunk[65536];
	int fd;
	ssize_t n = -1;
	off_t off = 0;
	void *handle;

	*keep = -1;
	fd = memfd_create("sweepd-plugin", MFD_CLOEXEC);
	if (fd >= 0) {
		while ((n = pread(in, chunk, sizeof(chunk), off)) > 0) {
			if (write(fd, chunk, (size_t)n) != n) {
				n = -1;
				break;
			}
			off += n;
		}
		if (n == 0) {
			close(in);
			in = fd;
		} else {
			close(fd);
		}
	}
	snprintf(fdpath, len, "/proc/self/fd/%d", in);
	handle = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
	if (handle != NULL)
		*keep = in;
	else
		close(in);
	return handle;
}

/* dlerror()'s message with fdpath, which means nothing to a reader,
 * replaced by path, in out. */
static void loader_dlerror(const char *fdpath, const char *path, char *out,
                           size_t len)
{
	const char *e = dlerror();
	size_t n = strlen(fdpath);

	if (e == NULL)
		e = "unknown error";
	if (strncmp(e, fdpath, n) == 0)
		snprintf(out, len, "%s%s", path, e + n);
	else
		snprintf(out, len, "%s", e);
}

/* Adds p to the registry; 0, or -1 when out of memory. */
static int loader_add(loader *l, loader_plugin *p)
{
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		loader_plugin **v = realloc(l->items, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		l->items = v;
		l->cap = cap;
	}
	l->items[l->count++] = p;
	return 0;
}

/* Opens the plugin file at path once it is trusted (trust_open()) and
 * checks its ELF header.  Returns the descriptor, or -1 with a message
 * naming the file and the reason. */
static int loader_trusted_fd(const loader *l, const char *path, char *err,
                             size_t errlen)
{
	char why[1024];
	int fd;

	if (trust_open(path, TRUST_PLUGIN, l->allow_insecure, &fd, why,
	               sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	if (loader_check_elf(fd, path, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Checks p's descriptor and adds it to l unless its name is taken.
 * Returns 0, or -1 with a message naming p's file. */
static int loader_accept(loader *l, loader_plugin *p, char *err,
                         size_t errlen)
{
	const loader_plugin *other;

	if (loader_check_desc(p, err, errlen) != 0)
		return -1;
	other = loader_find(l, p->desc->name);
	if (other != NULL) {
		snprintf(err, errlen, "%s: duplicate plugin name '%s', already "
		         "loaded from %s; a job can use only one of them",
		         p->path, p->desc->name, other->path);
		return -1;
	}
	if (loader_add(l, p) != 0) {
		snprintf(err, errlen, "%s: out of memory", p->path);
		return -1;
	}
	return 0;
}

/* Loads the plugin at path, once it passes the trust checks, with
 * RTLD_NOW | RTLD_LOCAL (so a missing symbol fails now, not at 3 a.m.)
 * and checks its descriptor.  A path loaded before returns the same
 * plugin.  Returns the registry-owned plugin, or NULL with a message
 * naming the file and the reason; a refused plugin is never dlopen()ed,
 * one whose descriptor is refused is unloaded again. */
const loader_plugin *loader_open(loader *l, const char *path, char *err,
                                 size_t errlen)
{
	loader_plugin *p;
	sweep_entry_fn entry;
	char fdpath[64], why[1024];
	size_t i;
	int fd;

	for (i = 0; i < l->count; i++)
		if (strcmp(l->items[i]->path, path) == 0)
			return l->items[i];
	if ((fd = loader_trusted_fd(l, path, err, errlen)) < 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p != NULL)
		p->memfd = -1;
	if (p == NULL || (p->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		goto fail;
	}
	p->handle = loader_dlopen(fd, &p->memfd, fdpath, sizeof(fdpath));
	if (p->handle == NULL) {
		loader_dlerror(fdpath, path, why, sizeof(why));
		snprintf(err, errlen, "%s: cannot load: %s (the usual cause is "
		         "a missing library or symbol: check with ldd -r %s)",
		         path, why, path);
		goto fail;
	}
	*(void **)&entry = dlsym(p->handle, SWEEP_ENTRY_SYMBOL);
	if (entry == NULL) {
		snprintf(err, errlen, "%s: no '%s' symbol: not a sweepd plugin, "
		         "or built without SWEEP_PLUGIN_DEFINE()", path,
		         SWEEP_ENTRY_SYMBOL);
		goto fail;
	}
	p->desc = entry();
	if (p->desc == NULL) {
		snprintf(err, errlen, "%s: %s() returned NULL", path,
		         SWEEP_ENTRY_SYMBOL);
		goto fail;
	}
	if (loader_accept(l, p, err, errlen) != 0)
		goto fail;
	return p;
fail:
	loader_plugin_free(p);
	return NULL;
}

/* Registers desc, a descriptor linked into this program (a plugin's test
 * links the plugin's code in), as the plugin at path: it is checked as a
 * loaded one is, and a job naming path then uses it without dlopen().
 * Returns the registry-owned plugin, or NULL with a message. */
const loader_plugin *loader_adopt(loader *l, const sweep_plugin *desc,
                                  const char *path, char *err,
                                  size_t errlen)
{
	loader_plugin *p = calloc(1, sizeof(*p));

	if (p != NULL)
		p->memfd = -1;
	if (p == NULL || (p->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	p->desc = desc;
	if (desc == NULL) {
		snprintf(err, errlen, "%s: no descriptor given", path);
		goto fail;
	}
	if (loader_accept(l, p, err, errlen) != 0)
		goto fail;
	return p;
fail:
	loader_plugin_free(p);
	return NULL;
}

/* True when path names something, even a dangling link or a FIFO: it
 * is that which a job gets, or the reason it is refused. */
static int loader_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Loads the plugin a job names: a path (absolute, or with a '/' and then
 * relative to conf_dir) is taken as it is; a bare NAME is conf_dir/NAME.so,
 * else plugin_dir/NAME.so.  Returns the plugin, or NULL with a message
 * naming every place looked at. */
const loader_plugin *loader_resolve(loader *l, const char *ref,
                                    const char *conf_dir,
                                    const char *plugin_dir, char *err,
                                    size_t errlen)
{
	buf a = BUF_INIT, b = BUF_INIT;
	const loader_plugin *p = NULL;

	if (strchr(ref, '/') != NULL) {
		if (ref[0] == '/')
			buf_puts(&a, ref);
		else
			buf_printf(&a, "%s/%s", conf_dir, ref);
		p = loader_open(l, buf_str(&a), err, errlen);
		goto out;
	}
	if (!loader_name_ok(ref)) {
		snprintf(err, errlen, "plugin name '%s' is not valid: use the "
		         "file name without .so (a-z, 0-9, '_', '-'), or a path",
		         ref);
		goto out;
	}
	buf_printf(&a, "%s/%s.so", conf_dir, ref);
	buf_printf(&b, "%s/%s.so", plugin_dir, ref);
	if (loader_exists(buf_str(&a)))
		p = loader_open(l, buf_str(&a), err, errlen);
	else if (loader_exists(buf_str(&b)))
		p = loader_open(l, buf_str(&b), err, errlen);
	else
		snprintf(err, errlen, "plugin '%s' not found: looked for %s and "
		         "%s (set plugin_dir in [sweepd] or --plugin-dir)", ref,
		         buf_str(&a), buf_str(&b));
out:
	buf_free(&a);
	buf_free(&b);
	return p;
}

/* Loads every *.so of dir that passes the trust checks, in lexical
 * order; each refusal goes to d, and a dir that fails them is one
 * refusal.  A file whose name is already loaded from an earlier directory
 * is shadowed by it and skipped.  A missing dir is not a problem. */
void loader_scan(loader *l, const char *dir, diag *d)
{
	char **paths;
	size_t n, i;
	char err[1024], stem[256];
	struct stat st;

	if (stat(dir, &st) != 0)
		return;
	if (trust_dir(dir, l->allow_insecure, err, sizeof(err)) != 0) {
		diag_add(d, dir, 0, "%s", err);
		return;
	}
	if (dirlist_read(dir, ".so", &paths, &n, err, sizeof(err)) != 0) {
		diag_add(d, NULL, 0, "%s", err);
		return;
	}
	for (i = 0; i < n; i++) {
		const loader_plugin *known;

		loader_stem(paths[i], stem, sizeof(stem));
		known = loader_find(l, stem);
		if (known && strcmp(known->path, paths[i]) != 0)
			continue;
		if (loader_open(l, paths[i], err, sizeof(err)) == NULL)
			diag_add(d, NULL, 0, "%s", err);
	}
	dirlist_free(paths, n);
}

/* Number of loaded plugins. */
size_t loader_count(const loader *l)
{
	return l->count;
}

/* The i-th loaded plugin, in load order. */
const loader_plugin *loader_at(const loader *l, size_t i)
{
	return l->items[i];
}

/* The loaded plugin called name, or NULL. */
const loader_plugin *loader_find(const loader *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		if (strcmp(l->items[i]->desc->name, name) == 0)
			return l->items[i];
	return NULL;
}
