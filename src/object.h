/* SPDX-License-Identifier: MIT */
/* The object manager: object header, reference count, ops table, and the
 * shared state every kernel object keeps in memory that other processes can
 * map.
 *
 * An object is a process-local `struct wi_object` (embedded first in each
 * type's own struct) that points at the object's shared state. The shared
 * state lives in a file (named objects: the object file in the namespace
 * directory, see namespace.c; unnamed objects: a memfd) so that inheritance
 * and duplication into another process reach the same state.
 *
 * Shared state starts with `struct wi_shared_header`. Layout of every shared
 * struct is fixed by its magic + version: a library that finds another
 * version refuses the object (ERROR_INVALID_HANDLE) instead of misreading it.
 *
 * References: each handle-table entry, each mapped view and each in-flight
 * operation that outlives its handle pin holds one reference. The last
 * wi_object_release() runs ops->destroy and, for a named object, gives up the
 * name (see namespace.c for what that means across processes). */
#ifndef WINIPC_OBJECT_H
#define WINIPC_OBJECT_H

#include <windows.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum wi_type {
    WI_TYPE_NONE = 0,
    WI_TYPE_EVENT,
    WI_TYPE_MUTEX,
    WI_TYPE_SEMAPHORE,
    WI_TYPE_TIMER,
    WI_TYPE_MAPPING,
    WI_TYPE_PROCESS,
    WI_TYPE_THREAD,
    WI_TYPE_FILE,
    WI_TYPE_PIPE,
    WI_TYPE_MAILSLOT,
    WI_TYPE_IOCP,
    WI_TYPE_COUNT
};

#define WI_SHARED_MAGIC 0x43504957u /* "WIPC" */
#define WI_SHARED_VERSION 1u

/* First bytes of every object's shared state.
 * Written once by the creator (under the namespace directory lock for named
 * objects), read-only afterwards. */
struct wi_shared_header {
    uint32_t magic;   /* WI_SHARED_MAGIC */
    uint16_t version; /* WI_SHARED_VERSION */
    uint16_t type;    /* enum wi_type */
    uint32_t size;    /* bytes of shared state including this header */
    uint32_t reserved;
};

/* What the wait engine sees of a waitable object. Lives in shared memory.
 *   word     futex word; every state change that could satisfy a waiter
 *            changes it (so a waiter that read the old value never sleeps
 *            through the change).
 *   waiters  number of threads, in any process, registered to sleep on word;
 *            signalers skip the wake syscall when it is zero. A waiter
 *            killed while asleep leaves it one too high, which costs later
 *            signalers a needless wake call, never a lost wake-up. */
struct wi_waitable {
    /* word and lock_tid form one 8-byte unit: wait-all takes WI_WORD_LOCK
     * and records its thread in lock_tid with a single 64-bit
     * compare-and-swap, so a lock left by a killed process always names its
     * holder (wait.c clears it once that thread is gone). */
    union {
        _Atomic uint64_t lock_pair; /* little-endian: word is the low half */
        struct {
            _Atomic uint32_t word;
            _Atomic uint32_t lock_tid;
        };
    };
    _Atomic uint32_t waiters;
    uint32_t reserved;
};

/* Bit 31 of every waitable word is the wait-all lock: a thread doing an
 * atomic wait-all sets it on each consumable object's word (in a global
 * order), checks them all, consumes them all, and clears it. Single-object
 * consumers fail their compare-and-swap while it is set and sleep on the
 * word, which changes when it is cleared. Object state therefore uses bits
 * 0..30 only. */
#define WI_WORD_LOCK 0x80000000u
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "wi_waitable.lock_pair assumes little-endian");
#define WI_SATISFY_CHECK 1u  /* report only, consume nothing */
#define WI_SATISFY_LOCKED 2u /* the caller holds WI_WORD_LOCK on this word */

struct wi_object;
struct wi_io;    /* async.h */
struct wi_async; /* async.c */

/* Per-type operations. Every slot is filled (designated initializers); a type
 * that does not support an operation points it at the shared no_* default
 * which returns the Windows error. */
struct wi_object_ops {
    const char *name;    /* "Event", as WinObj shows it */
    enum wi_type type;
    /* What GENERIC_READ, _WRITE, _EXECUTE and _ALL mean for this type. */
    DWORD generic_map[4];

    /* Waits (wait.c is the only caller). waitable() returns the futex word
     * and waiter count, or NULL when the object cannot be waited on.
     *
     * try_satisfy() atomically tests the signaled state and, if signaled and
     * `mode` lacks WI_SATISFY_CHECK, applies the wait's side effect (an
     * auto-reset event resets, a mutex is acquired). It returns
     * WAIT_OBJECT_0, WAIT_ABANDONED_0 or WAIT_TIMEOUT (not signaled, or the
     * word is locked by another thread's wait-all). With WI_SATISFY_LOCKED
     * the caller holds WI_WORD_LOCK on the word itself (wait-all). `cookie`
     * starts at 0 for each wait call and lets a type remember what it saw
     * at the start of the wait (PulseEvent).
     *
     * wait_prepare() runs before the waiter sleeps: a mutex arms the watch
     * on its owner's death there (and abandons it at once if the owner is
     * already gone). Returns the longest the waiter may sleep, in ms
     * (INFINITE for no limit); it may change the word, which makes the
     * coming sleep return at once. */
    struct wi_waitable *(*waitable)(struct wi_object *obj);
    DWORD (*try_satisfy)(struct wi_object *obj, uint32_t *cookie, unsigned mode);
    DWORD (*wait_prepare)(struct wi_object *obj);
    /* True for types whose signaled state a wait consumes (events, mutexes,
     * semaphores, timers): wait-all locks their words; a process or thread,
     * once signaled, stays so and needs no lock. */
    bool consumable;

    /* SignalObjectAndWait's signal: SetEvent, ReleaseMutex or
     * ReleaseSemaphore(1), with the rights the handle holds; other types
     * give ERROR_INVALID_HANDLE (wi_no_signal), as Windows does. */
    DWORD (*signal)(struct wi_object *obj, DWORD access);

    /* I/O through ReadFile/WriteFile/FlushFileBuffers (files, pipes, ...).
     * Return a Win32 error code; *done receives the byte count. */
    DWORD (*read)(struct wi_object *obj, void *buf, DWORD len, DWORD *done);
    DWORD (*write)(struct wi_object *obj, const void *buf, DWORD len, DWORD *done);
    DWORD (*flush)(struct wi_object *obj);

    /* ReadFile/WriteFile with an OVERLAPPED on a type without io_try
     * (async.c is the only caller; it has already set ov->Internal to
     * STATUS_PENDING and reset ov->hEvent). The transfer happens now: return
     * 0 (*done = bytes) or the Win32 error it completed with; async.c then
     * completes `ov` (event, port, APC). Files use the OVERLAPPED's offset.
     * A type with nothing special uses wi_sync_read_overlapped /
     * wi_sync_write_overlapped: the plain read/write, completed at once, as
     * Windows allows. A type whose requests must stay pending implements
     * io_try instead. */
    DWORD (*read_overlapped)(struct wi_object *obj, void *buf, DWORD len, OVERLAPPED *ov, DWORD *done);
    DWORD (*write_overlapped)(struct wi_object *obj, const void *buf, DWORD len, OVERLAPPED *ov, DWORD *done);

    /* Overlapped I/O that may stay pending: attempt the request without
     * blocking (contract in async.h). wi_no_io_try: the type has none, its
     * requests complete at once through read_overlapped/write_overlapped. */
    DWORD (*io_try)(struct wi_object *obj, struct wi_io *io);

    /* The Linux fd that stands for this object as a process's standard
     * handle (STARTUPINFO redirection), or -1. */
    int (*std_fd)(struct wi_object *obj);

    /* Handle inheritance (inherit.c). export_fds() lists the fds that must
     * reach the child and a small blob of type data; import() rebuilds the
     * object in the child from them. */
    DWORD (*export_fds)(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len);
    DWORD (*import)(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out);

    /* Release type-specific resources. The generic part (shared state, name)
     * is released by object.c afterwards. */
    void (*destroy)(struct wi_object *obj);
};

/* Shared defaults for unsupported operations. */
struct wi_waitable *wi_no_waitable(struct wi_object *obj);
DWORD wi_no_try_satisfy(struct wi_object *obj, uint32_t *cookie, unsigned mode);
DWORD wi_no_wait_prepare(struct wi_object *obj);
DWORD wi_no_signal(struct wi_object *obj, DWORD access);
DWORD wi_no_read(struct wi_object *obj, void *buf, DWORD len, DWORD *done);
DWORD wi_no_write(struct wi_object *obj, const void *buf, DWORD len, DWORD *done);
DWORD wi_no_flush(struct wi_object *obj);
DWORD wi_sync_read_overlapped(struct wi_object *obj, void *buf, DWORD len, OVERLAPPED *ov, DWORD *done);   /* io.c */
DWORD wi_sync_write_overlapped(struct wi_object *obj, const void *buf, DWORD len, OVERLAPPED *ov, DWORD *done);
DWORD wi_no_io_try(struct wi_object *obj, struct wi_io *io); /* async.c; never called */
int wi_no_std_fd(struct wi_object *obj);
DWORD wi_no_export_fds(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len);
DWORD wi_no_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out);
void wi_no_destroy(struct wi_object *obj);

struct wi_name; /* namespace.c */

struct wi_object {
    const struct wi_object_ops *ops;
    /* References: the low 32 bits count all of them, the high 32 bits those
     * held by the I/O machinery (async.h: pending requests, handles
     * associated with a port, threads waiting on a port). One word, so that
     * "only I/O references remain" (the last handle is gone) is seen in one
     * atomic snapshot by wi_object_release. */
    _Atomic uint64_t refs;
    void *shared;         /* shared state (mmap), NULL for purely local objects */
    size_t shared_size;
    int shared_fd;        /* object file or memfd backing `shared`, -1 if none */
    struct wi_name *name; /* set for named objects */
    _Atomic uint64_t order_key; /* wait-all lock order (wait.c), 0 until computed */
    /* Overlapped I/O (async.h). io_overlapped: opened with
     * FILE_FLAG_OVERLAPPED (set by the type before the handle is
     * published). async: the engine's state, created on first need. */
    bool io_overlapped;
    struct wi_async *_Atomic async;
};

/* Allocate a zeroed object of `size` bytes (the type's struct, which embeds
 * struct wi_object first) with one reference. */
void *wi_object_alloc(const struct wi_object_ops *ops, size_t size);

static inline void wi_object_ref(struct wi_object *obj)
{
    atomic_fetch_add_explicit(&obj->refs, 1, memory_order_relaxed);
}

/* Drop a reference. When the caller's is the last one besides the I/O
 * machinery's, wi_async_orphaned() runs first (pending I/O ends, a port
 * wakes its waiters). */
void wi_object_release(struct wi_object *obj);

/* References held by the I/O machinery (async.c, iocp.c): taken by someone
 * who holds another reference or a handle pin meanwhile. */
#define WI_IO_REF ((UINT64_C(1) << 32) | 1u)
static inline void wi_object_io_ref(struct wi_object *obj)
{
    atomic_fetch_add_explicit(&obj->refs, WI_IO_REF, memory_order_relaxed);
}
void wi_object_io_release(struct wi_object *obj);

/* Give `obj` fresh unnamed shared state of `size` bytes (memfd), header
 * initialised for ops->type. */
DWORD wi_object_create_unnamed(struct wi_object *obj, size_t size);

/* The same with a memfd of `file_size` bytes of which only the first
 * `map_size` are mapped as shared state (file mappings keep their data
 * after the state page). */
DWORD wi_object_create_unnamed_sized(struct wi_object *obj, size_t map_size, uint64_t file_size);

/* Named-object lookup for events, mutexes, semaphores, timers and mappings
 * (one namespace). `name` is UTF-8 as the caller passed it, with its Global\
 * or Local\ prefix. With `create`, a missing name is created with `size`
 * bytes of shared state, `init(obj, arg)` runs on it while the namespace is
 * locked, and *existed = false; an existing object of the same type is opened
 * with *existed = true (size ignored, init not called). Errors as Windows:
 * ERROR_FILE_NOT_FOUND, ERROR_INVALID_HANDLE (another type holds the name),
 * ERROR_PATH_NOT_FOUND (a backslash in the name), ERROR_FILENAME_EXCED_RANGE.
 * `world_access` (a NULL DACL) lets other users open the object. */
typedef void (*wi_object_init_fn)(struct wi_object *obj, void *arg);
DWORD wi_object_open_named(struct wi_object *obj, const char *name, size_t size, bool create, bool world_access,
                           bool *existed, wi_object_init_fn init, void *arg);

/* Map an existing shared-state fd (inherited or duplicated) into `obj`;
 * checks magic, version and type. */
DWORD wi_object_attach_fd(struct wi_object *obj, int fd);

/* Inheritance of objects whose whole identity is their shared state (events,
 * mutexes, semaphores, mappings): the child receives the state fd (for named
 * objects a fresh open file description that already holds the shared flock,
 * so the name stays alive across the hand-over) and the name. */
DWORD wi_shared_export_fds(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len);
DWORD wi_shared_import(const struct wi_object_ops *ops, size_t obj_size, const int *fds, unsigned nfds,
                       const void *blob, unsigned blob_len, struct wi_object **out);

/* Largest blob an export_fds may write, and most fds. */
#define WI_EXPORT_BLOB_MAX 512
#define WI_EXPORT_FDS_MAX 4

/* The ops table of a type (types.c), NULL when unknown. */
const struct wi_object_ops *wi_ops_for_type(enum wi_type type);

/* The object's shared state, cast by the type file. */
#define WI_SHARED(obj, type) ((type *)(obj)->shared)

#endif
