/* SPDX-License-Identifier: MIT */
/* Named objects: where names live on disk and how long they live.
 *
 * Layout under the root ($WINIPC_ROOT, default /dev/shm/winipc, mode 1777):
 *   global/       Global\ kernel-object names (mode 1777)
 *   u<uid>/       Local\ and unprefixed names of one user (mode 0700)
 *   pipe/         \\.\pipe\ names (machine-wide as on Windows, mode 1777)
 *   mailslot/     \\.\mailslot\ names (mode 1777)
 * Each directory has a `.lock` file. One file per named object holds the
 * object's shared state (see object.h); its file name is the name, escaped
 * (and case-folded for pipes and mailslots; see fold_name in namespace.c).
 *
 * Lifetime rule (Windows': a name lives while any handle or view refers to
 * it, also across SIGKILL):
 *   - every process that references the object holds a shared flock on its
 *     own open file description of the object file;
 *   - creating, opening and giving up a name happen under the directory lock
 *     (flock LOCK_EX on .lock, plus a process mutex since flock does not
 *     exclude threads sharing an open file description);
 *   - the process giving up its last reference tries LOCK_EX|LOCK_NB on its
 *     descriptor: success means nobody else holds the object, so it unlinks
 *     the file, still under the directory lock;
 *   - a holder killed by SIGKILL drops its flock with its descriptors; the
 *     file is then stale: the next open of that name finds it unlockable
 *     (LOCK_EX|LOCK_NB succeeds), so it is treated as absent and replaced.
 * A creator killed half-way through initialisation leaves a file nobody
 * holds: the same rule makes the next opener start afresh.
 *
 * Dying at each step: holding the directory lock → the kernel drops it; after
 * creating the file but before its flock → stale, replaced; after unlink but
 * before close → the inode goes with the last descriptor. */
#ifndef WINIPC_NAMESPACE_H
#define WINIPC_NAMESPACE_H

#include "object.h"

enum wi_ns {
    WI_NS_GLOBAL,
    WI_NS_LOCAL,
    WI_NS_PIPE,
    WI_NS_MAILSLOT,
    WI_NS_COUNT
};

struct wi_name {
    enum wi_ns ns;
    char file[256]; /* escaped (pipes: case-folded) name inside the namespace directory */
};

/* Open or create `name` (UTF-8, without any prefix) in namespace `ns` for an
 * object of type obj->ops->type. `map_size` bytes of shared state are mapped
 * into obj->shared; a new object file is `file_size` bytes long (>= map_size;
 * file mappings keep their data after the state page). See object.h
 * (wi_object_open_named) for `create`, `existed`, `init` and the errors. */
DWORD wi_namespace_open(struct wi_object *obj, enum wi_ns ns, const char *name, size_t map_size, uint64_t file_size,
                        bool create, bool world_access, bool *existed, void (*init)(struct wi_object *, void *),
                        void *arg);

/* Drop this process's claim on obj's name; unlinks it if it was the last.
 * Closes obj->shared_fd and unmaps obj->shared. */
void wi_namespace_release(struct wi_object *obj);

/* Split a kernel-object name: "Global\x" → WI_NS_GLOBAL + "x", "Local\x" and
 * "x" → WI_NS_LOCAL. A further backslash → ERROR_PATH_NOT_FOUND. */
DWORD wi_namespace_parse_kernel(const char *name, enum wi_ns *ns, const char **rest);

/* Absolute path of a namespace directory, created if needed. */
DWORD wi_namespace_dir(enum wi_ns ns, char *path, size_t size);

/* Walking the namespace, for tools (introspect.c) and tests. `fn` receives
 * each live object file: its name as stored, a copy of its shared header,
 * and a read-only descriptor of it, valid during the call only (it holds no
 * lock: it does not keep the object alive). The directory lock is held
 * during the calls, so `fn` must not open or release named objects. */
typedef void (*wi_namespace_walk_fn)(const char *file, const struct wi_shared_header *hdr, int fd, void *arg);

/* Run `fn` on every live object file of `ns`, removing stale ones on the
 * way. */
DWORD wi_namespace_walk(enum wi_ns ns, wi_namespace_walk_fn fn, void *arg);

/* The same over the Local namespace of every other user whose directory we
 * may read and lock (in practice: when run by root). Unreadable ones are
 * skipped silently. */
DWORD wi_namespace_walk_users(wi_namespace_walk_fn fn, void *arg);

/* The name an object file of `ns` was created with (UTF-8, no prefix), into
 * `out`. Creators record it in an extended attribute of the file (where the
 * file system keeps user attributes; tmpfs does since Linux 6.6), trusted
 * only if it escapes to `file`. Without it the file name is unescaped, which
 * gives pipe and mailslot names case-folded. Returns false when neither
 * works (a long name stored as prefix + hash, or `size` too small): `out`
 * then holds the escaped file name. */
bool wi_namespace_name(enum wi_ns ns, int fd, const char *file, char *out, size_t size);

#endif
