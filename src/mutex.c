/* SPDX-License-Identifier: MIT */
/* Mutexes: recursive, owner-only release, abandoned when the owner dies.
 *
 * Shared state (struct mutex_shared):
 *   w.word       bits 0..29: owner tid (0 = free); bit 30: ABANDONED (free,
 *                and the last owner died holding it); bit 31: wait-all lock.
 *                Changed only by compare-and-swap: by the acquirer
 *                (free → its tid), by the owner on release (→ free), and by
 *                whoever sees the owner dead (owner → ABANDONED).
 *   count        recursion depth; written only by the owner.
 *   owner_start  start time of the owning thread (owner_watch.h), written by
 *                the owner just after acquiring, cleared just before release;
 *                0 while unknown. Lets a watcher tell the owner from a later
 *                thread that reused its tid.
 *
 * Abandonment: a thread that must sleep on an owned mutex first arms a watch
 * on the owner thread (wait_prepare → wi_owner_watch): a thread pidfd in the
 * service thread's epoll. When the owner dies — returning from its thread
 * while owning, ExitThread, crash, SIGKILL, TerminateProcess — the service
 * thread of every process that watches it marks the mutex ABANDONED and
 * wakes the sleepers at once; the next acquirer gets WAIT_ABANDONED. A
 * waiter arriving after the death finds the owner gone when arming the watch
 * and abandons the mutex itself. Where thread pidfds are missing (Linux <
 * 6.9, or WINIPC_NO_PIDFD_THREAD=1) sleepers check the owner's liveness every
 * 50 ms instead (documented limit); so do sleepers on a mutex owned by a
 * process's main thread, whose pidfd fires only when the whole process ends
 * (an ExitThread of the main thread while other threads run is found by the
 * poll).
 *
 * A process dying between two steps: after the CAS that acquires but before
 * owner_start is written → watchers see start 0, retry within 1 ms, and find
 * the tid gone; during release between clearing owner_start and the CAS →
 * same; the count field is only meaningful to a live owner. */
#include "error.h"
#include "handle.h"
#include "kernel_object.h"
#include "object.h"
#include "owner_watch.h"
#include "security.h"
#include "unicode.h"
#include "wait.h"

#include <stdlib.h>

#define TID_MASK 0x3FFFFFFFu
#define ABANDONED 0x40000000u
#define MAX_RECURSION 0x7FFFFFFFu
#define POLL_MS WI_OWNER_POLL_MS /* liveness-check interval where pidfds cannot tell */

struct mutex_shared {
    struct wi_shared_header hdr;
    struct wi_waitable w;
    uint32_t count;
    _Atomic uint64_t owner_start;
};

static struct mutex_shared *mx(struct wi_object *obj)
{
    return WI_SHARED(obj, struct mutex_shared);
}

static struct wi_waitable *mutex_waitable(struct wi_object *obj)
{
    return &mx(obj)->w;
}

static DWORD mutex_try_satisfy(struct wi_object *obj, uint32_t *cookie, unsigned mode)
{
    struct mutex_shared *m = mx(obj);
    uint32_t tid = (uint32_t)wi_thread_self_tid();
    uint32_t v = atomic_load(&m->w.word);
    for (;;) {
        uint32_t owner = v & TID_MASK;
        if (owner == tid) {
            if (mode & WI_SATISFY_CHECK)
                return WAIT_OBJECT_0;
            /* Windows fails the wait once the count would overflow
             * (STATUS_MUTANT_LIMIT_EXCEEDED); report "not available". */
            if (m->count >= MAX_RECURSION)
                return WAIT_TIMEOUT;
            m->count++;
            return WAIT_OBJECT_0;
        }
        if (owner != 0 || ((v & WI_WORD_LOCK) && !(mode & WI_SATISFY_LOCKED)))
            return WAIT_TIMEOUT;
        DWORD result = (v & ABANDONED) ? WAIT_ABANDONED_0 : WAIT_OBJECT_0;
        if (mode & WI_SATISFY_CHECK)
            return result;
        if (atomic_compare_exchange_weak(&m->w.word, &v, (v & WI_WORD_LOCK) | tid)) {
            m->count = 1;
            atomic_store_explicit(&m->owner_start, wi_thread_self_start(), memory_order_release);
            return result;
        }
    }
}

/* The owner (tid, start) is gone: if it still owns the mutex, abandon it. */
static void mutex_owner_died(struct wi_object *obj, pid_t tid, uint64_t start)
{
    struct mutex_shared *m = mx(obj);
    uint32_t v = atomic_load(&m->w.word);
    for (;;) {
        if ((v & TID_MASK) != (uint32_t)tid)
            return; /* released (and maybe re-acquired) in the meantime */
        uint64_t s = atomic_load(&m->owner_start);
        if (s != 0 && s != start)
            return; /* a later thread with the same tid owns it */
        if (atomic_compare_exchange_weak(&m->w.word, &v, (v & WI_WORD_LOCK) | ABANDONED))
            break;
    }
    atomic_store_explicit(&m->owner_start, 0, memory_order_release);
    wi_waitable_wake(&m->w);
}

static DWORD mutex_wait_prepare(struct wi_object *obj)
{
    struct mutex_shared *m = mx(obj);
    uint32_t v = atomic_load(&m->w.word);
    pid_t owner = (pid_t)(v & TID_MASK);
    if (owner == 0 || owner == wi_thread_self_tid())
        return INFINITE;
    uint64_t start = atomic_load(&m->owner_start);
    if (start == 0) {
        /* Just acquired and not yet published, or the owner died right
         * there: look again very soon. */
        if (wi_thread_start_time(owner) == 0)
            mutex_owner_died(obj, owner, 0);
        return 1;
    }
    bool leader, poll_now;
    switch (wi_owner_watch(owner, start, obj, mutex_owner_died, &leader, &poll_now)) {
    case ERROR_SUCCESS:
        /* A process's main thread can end (ExitThread) while its other
         * threads run; its pidfd fires only with the whole process, so its
         * liveness is polled meanwhile (owner_watch.h). */
        if (!leader)
            return INFINITE;
        if (poll_now && !wi_thread_alive(owner, start)) {
            mutex_owner_died(obj, owner, start);
            return 0;
        }
        return POLL_MS;
    case ERROR_NOT_FOUND:
        mutex_owner_died(obj, owner, start);
        return 0;
    default:
        if (!wi_thread_alive(owner, start)) {
            mutex_owner_died(obj, owner, start);
            return 0;
        }
        return POLL_MS;
    }
}

static DWORD mutex_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out);
static DWORD mutex_release(struct wi_object *obj);

static DWORD mutex_signal(struct wi_object *obj, DWORD access)
{
    return mutex_release(obj);
}

/* Watches on owner threads refer to the object without a reference. */
static void mutex_destroy(struct wi_object *obj)
{
    wi_owner_unwatch(obj);
}

const struct wi_object_ops wi_mutex_ops = {
    .name = "Mutant",
    .type = WI_TYPE_MUTEX,
    .generic_map = {STANDARD_RIGHTS_READ | MUTANT_QUERY_STATE, STANDARD_RIGHTS_WRITE,
                    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, MUTANT_ALL_ACCESS},
    .waitable = mutex_waitable,
    .try_satisfy = mutex_try_satisfy,
    .wait_prepare = mutex_wait_prepare,
    .consumable = true,
    .signal = mutex_signal,
    .read = wi_no_read,
    .write = wi_no_write,
    .flush = wi_no_flush,
    .read_overlapped = wi_sync_read_overlapped,
    .write_overlapped = wi_sync_write_overlapped,
    .io_try = wi_no_io_try,
    .std_fd = wi_no_std_fd,
    .export_fds = wi_shared_export_fds,
    .import = mutex_import,
    .destroy = mutex_destroy,
};

static DWORD mutex_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out)
{
    return wi_shared_import(&wi_mutex_ops, sizeof(struct wi_object), fds, nfds, blob, blob_len, out);
}

static void mutex_init(struct wi_object *obj, void *arg)
{
    bool owned = *(bool *)arg;
    struct mutex_shared *m = mx(obj);
    if (owned) {
        m->count = 1;
        atomic_store_explicit(&m->owner_start, wi_thread_self_start(), memory_order_release);
        atomic_store(&m->w.word, (uint32_t)wi_thread_self_tid());
    }
}

/* Release one level of ownership held by the calling thread. */
static DWORD mutex_release(struct wi_object *obj)
{
    struct mutex_shared *m = mx(obj);
    uint32_t tid = (uint32_t)wi_thread_self_tid();
    uint32_t v = atomic_load(&m->w.word);
    if ((v & TID_MASK) != tid)
        return ERROR_NOT_OWNER;
    if (--m->count > 0)
        return ERROR_SUCCESS;
    atomic_store_explicit(&m->owner_start, 0, memory_order_release);
    while (!atomic_compare_exchange_weak(&m->w.word, &v, v & WI_WORD_LOCK))
        ;
    wi_waitable_wake(&m->w);
    return ERROR_SUCCESS;
}

/* --- Win32 entry points ------------------------------------------------------ */

static const struct wi_kernel_object_spec mutex_spec = {
    .ops = &wi_mutex_ops,
    .obj_size = sizeof(struct wi_object),
    .shared_size = sizeof(struct mutex_shared),
    .init = mutex_init,
};

/* An existing mutex is opened as is: bInitialOwner does not acquire it
 * (Windows documents exactly this; spec->init runs for new ones only). */
static HANDLE create_mutex(LPSECURITY_ATTRIBUTES sa, const char *name, bool initial_owner, DWORD access)
{
    return wi_kernel_object_create(&mutex_spec, &initial_owner, sa, name, access);
}

static HANDLE open_mutex(DWORD access, BOOL inherit, const char *name)
{
    return wi_kernel_object_open(&mutex_spec, name, access, inherit);
}

WINBASEAPI HANDLE WINAPI CreateMutexA(LPSECURITY_ATTRIBUTES lpMutexAttributes, BOOL bInitialOwner, LPCSTR lpName)
{
    return create_mutex(lpMutexAttributes, lpName, bInitialOwner, MUTANT_ALL_ACCESS);
}

WINBASEAPI HANDLE WINAPI CreateMutexW(LPSECURITY_ATTRIBUTES lpMutexAttributes, BOOL bInitialOwner, LPCWSTR lpName)
{
    WI_UTF8_ARG(name, lpName);
    if (WI_UTF8_FAILED(name, lpName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = create_mutex(lpMutexAttributes, name, bInitialOwner, MUTANT_ALL_ACCESS);
    WI_UTF8_FREE(name);
    return h;
}

WINBASEAPI HANDLE WINAPI CreateMutexExA(LPSECURITY_ATTRIBUTES lpMutexAttributes, LPCSTR lpName, DWORD dwFlags,
                                        DWORD dwDesiredAccess)
{
    if (dwFlags & ~(DWORD)CREATE_MUTEX_INITIAL_OWNER)
        return wi_fail_null(ERROR_INVALID_PARAMETER);
    return create_mutex(lpMutexAttributes, lpName, dwFlags & CREATE_MUTEX_INITIAL_OWNER, dwDesiredAccess);
}

WINBASEAPI HANDLE WINAPI CreateMutexExW(LPSECURITY_ATTRIBUTES lpMutexAttributes, LPCWSTR lpName, DWORD dwFlags,
                                        DWORD dwDesiredAccess)
{
    WI_UTF8_ARG(name, lpName);
    if (WI_UTF8_FAILED(name, lpName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = CreateMutexExA(lpMutexAttributes, name, dwFlags, dwDesiredAccess);
    WI_UTF8_FREE(name);
    return h;
}

WINBASEAPI HANDLE WINAPI OpenMutexA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpName)
{
    return open_mutex(dwDesiredAccess, bInheritHandle, lpName);
}

WINBASEAPI HANDLE WINAPI OpenMutexW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName)
{
    WI_UTF8_ARG(name, lpName);
    if (WI_UTF8_FAILED(name, lpName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = open_mutex(dwDesiredAccess, bInheritHandle, name);
    WI_UTF8_FREE(name);
    return h;
}

/* ReleaseMutex needs no access right beyond holding the handle: Windows
 * lets any handle release a mutex the thread owns. */
WINBASEAPI BOOL WINAPI ReleaseMutex(HANDLE hMutex)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(hMutex, WI_TYPE_MUTEX, 0, &pin);
    if (err)
        return wi_fail_bool(err);
    err = mutex_release(pin.obj);
    wi_handle_put(&pin);
    return wi_result_bool(err);
}
