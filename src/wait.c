/* SPDX-License-Identifier: MIT */
/* WaitForSingleObject / WaitForMultipleObjects on futexes.
 *
 * Protocol between a waiter and a signaler (both may be in different
 * processes; all fields are in shared memory):
 *   waiter:   waiters++  →  v = word  →  try_satisfy  →  futex_wait(word, v)
 *   signaler: change state, changing word  →  if (waiters) futex_wake(word)
 * With sequentially consistent operations either the signaler sees
 * waiters > 0 and wakes, or the waiter's read of word sees the change (and
 * futex_wait returns at once because word != v). The signaled fast path
 * tries try_satisfy before registering, so it makes no syscall at all. */
#include "wait.h"

#include "error.h"
#include "futex.h"
#include "handle.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>

struct timespec *wi_deadline(DWORD ms, struct timespec *ts)
{
    if (ms == INFINITE)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
    return ts;
}

void wi_waitable_wake(struct wi_waitable *w)
{
    /* Wake all: a woken thread in a multi-object wait may take another
     * object and leave, and a single wake-up given to it would be lost. */
    if (atomic_load(&w->waiters))
        wi_futex_wake(&w->word, INT_MAX);
}

/* One pass over the objects in index order: Windows reports the lowest
 * signaled index. */
static DWORD try_any(unsigned count, struct wi_object **objs, uint32_t *cookies)
{
    for (unsigned i = 0; i < count; i++) {
        DWORD r = objs[i]->ops->try_satisfy(objs[i], &cookies[i]);
        if (r == WAIT_OBJECT_0)
            return WAIT_OBJECT_0 + i;
        if (r == WAIT_ABANDONED_0)
            return WAIT_ABANDONED_0 + i;
    }
    return WAIT_TIMEOUT;
}

DWORD wi_wait_objects(unsigned count, struct wi_object **objs, bool wait_all, DWORD ms, DWORD *err)
{
    struct wi_waitable *w[MAXIMUM_WAIT_OBJECTS];
    _Atomic uint32_t *words[MAXIMUM_WAIT_OBJECTS];
    uint32_t vals[MAXIMUM_WAIT_OBJECTS];
    uint32_t cookies[MAXIMUM_WAIT_OBJECTS] = {0};
    struct timespec ts, *deadline = NULL;
    DWORD r;

    *err = ERROR_SUCCESS;
    if (wait_all && count > 1) {
        /* Atomic wait-all arrives with the synchronization issue. */
        *err = ERROR_NOT_SUPPORTED;
        return WAIT_FAILED;
    }
    for (unsigned i = 0; i < count; i++) {
        w[i] = objs[i]->ops->waitable(objs[i]);
        if (!w[i]) {
            /* Windows: waiting on a file mapping or other non-waitable
             * object fails with ERROR_INVALID_HANDLE. */
            *err = ERROR_INVALID_HANDLE;
            return WAIT_FAILED;
        }
        words[i] = &w[i]->word;
    }

    r = try_any(count, objs, cookies);
    if (r != WAIT_TIMEOUT || ms == 0)
        return r;
    deadline = wi_deadline(ms, &ts);

    for (;;) {
        for (unsigned i = 0; i < count; i++)
            atomic_fetch_add(&w[i]->waiters, 1);
        for (unsigned i = 0; i < count; i++)
            vals[i] = atomic_load(words[i]);
        r = try_any(count, objs, cookies);
        int wr = 0;
        if (r == WAIT_TIMEOUT)
            wr = wi_futex_waitv(words, vals, count, deadline);
        for (unsigned i = 0; i < count; i++)
            atomic_fetch_sub(&w[i]->waiters, 1);
        if (r != WAIT_TIMEOUT)
            return r;
        if (wr == -ETIMEDOUT) {
            /* A last look: the deadline and a signal may have crossed. */
            return try_any(count, objs, cookies);
        }
        /* Woken, changed (-EAGAIN) or interrupted (-EINTR): look again. */
    }
}

/* --- Win32 entry points ---------------------------------------------------- */

static DWORD wait_handles(DWORD count, const HANDLE *handles, BOOL wait_all, DWORD ms)
{
    struct wi_pin pins[MAXIMUM_WAIT_OBJECTS];
    struct wi_object *objs[MAXIMUM_WAIT_OBJECTS];
    DWORD err = ERROR_SUCCESS, r;
    unsigned got = 0;

    if (count == 0 || count > MAXIMUM_WAIT_OBJECTS) {
        wi_set_last_error(ERROR_INVALID_PARAMETER);
        return WAIT_FAILED;
    }
    if (!handles) {
        wi_set_last_error(ERROR_NOACCESS);
        return WAIT_FAILED;
    }
    for (; got < count; got++) {
        /* Waiting needs SYNCHRONIZE on every handle. */
        err = wi_handle_get(handles[got], WI_TYPE_NONE, SYNCHRONIZE, &pins[got]);
        if (err)
            break;
        objs[got] = pins[got].obj;
    }
    if (!err && wait_all && count > 1) {
        /* The same object twice in a wait-all: ERROR_INVALID_PARAMETER. */
        for (unsigned i = 0; i < count && !err; i++)
            for (unsigned j = i + 1; j < count && !err; j++)
                if (objs[i] == objs[j])
                    err = ERROR_INVALID_PARAMETER;
    }
    r = err ? WAIT_FAILED : wi_wait_objects(count, objs, wait_all, ms, &err);
    for (unsigned i = 0; i < got; i++)
        wi_handle_put(&pins[i]);
    if (r == WAIT_FAILED)
        wi_set_last_error(err);
    return r;
}

WINBASEAPI DWORD WINAPI WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds)
{
    return wait_handles(1, &hHandle, FALSE, dwMilliseconds);
}

/* bAlertable: an alertable wait also returns WAIT_IO_COMPLETION when an APC
 * was queued to the thread. No API to queue APCs exists yet (QueueUserAPC
 * comes with the synchronization issue), so none can be pending and the
 * alertable wait is exactly the plain one. */
WINBASEAPI DWORD WINAPI WaitForSingleObjectEx(HANDLE hHandle, DWORD dwMilliseconds, BOOL bAlertable)
{
    return wait_handles(1, &hHandle, FALSE, dwMilliseconds);
}

WINBASEAPI DWORD WINAPI WaitForMultipleObjects(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll,
                                               DWORD dwMilliseconds)
{
    return wait_handles(nCount, lpHandles, bWaitAll, dwMilliseconds);
}

WINBASEAPI DWORD WINAPI WaitForMultipleObjectsEx(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll,
                                                 DWORD dwMilliseconds, BOOL bAlertable)
{
    return wait_handles(nCount, lpHandles, bWaitAll, dwMilliseconds);
}

WINBASEAPI DWORD WINAPI SleepEx(DWORD dwMilliseconds, BOOL bAlertable)
{
    struct timespec ts, *deadline = wi_deadline(dwMilliseconds, &ts);
    if (dwMilliseconds == 0) {
        sched_yield();
        return 0;
    }
    /* Sleep on a private word nobody wakes; EINTR restarts with the same
     * absolute deadline. */
    _Atomic uint32_t never = 0;
    while (wi_futex_wait(&never, 0, deadline) != ETIMEDOUT)
        ;
    return 0;
}

WINBASEAPI void WINAPI Sleep(DWORD dwMilliseconds)
{
    SleepEx(dwMilliseconds, FALSE);
}
