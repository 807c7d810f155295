/* SPDX-License-Identifier: MIT */
/* One-time initialization. The INIT_ONCE's pointer holds the state in its
 * low two bits, with the values Windows uses (tests and debuggers see the
 * same numbers):
 *
 *   0              not initialised (INIT_ONCE_STATIC_INIT)
 *   1              a synchronous initialization is running
 *   3              asynchronous initializations are running
 *   context | 2    done; the context's low INIT_ONCE_CTX_RESERVED_BITS bits
 *                  are zero by contract, so it shares the word
 *
 * While state 1 has threads waiting for it, bit 2 is set too (value 5;
 * Windows keeps a wait-block chain in the upper bits instead). Waiters sleep
 * on the pointer's low 32-bit half, which holds exactly 5 until the
 * initializer completes or fails: a finished state has bit 1 set and a
 * failed one is 0, so a waiter never sleeps past the change. Whoever moves
 * the state out of 1 wakes them all if bit 2 was set; after a failure they
 * race to become the next initializer, as Windows lets one of them do.
 *
 * Every transition is a compare-and-swap. Completion publishes with release
 * ordering and every load that may observe "done" is an acquire, so whatever
 * the initializer wrote before completing is visible to each thread that
 * receives the context. */
#include "sync_local.h"

#include "error.h"
#include "futex.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>

#define ONCE_STATE 3u
#define ONCE_NONE 0u
#define ONCE_SYNC 1u
#define ONCE_DONE 2u
#define ONCE_ASYNC 3u
#define ONCE_WAITERS 4u /* with ONCE_SYNC: someone sleeps on the low word */

static inline uintptr_t once_load(INIT_ONCE *once, int order)
{
    return (uintptr_t)__atomic_load_n(&once->Ptr, order);
}

static inline bool once_cas(INIT_ONCE *once, uintptr_t *expected, uintptr_t desired, int order)
{
    void *e = (void *)*expected;
    bool ok = __atomic_compare_exchange_n(&once->Ptr, &e, (void *)desired, false, order, __ATOMIC_ACQUIRE);
    *expected = (uintptr_t)e;
    return ok;
}

/* The 32-bit half of the pointer that holds the state bits. */
static inline _Atomic uint32_t *once_futex(INIT_ONCE *once)
{
    char *p = (char *)&once->Ptr;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ && UINTPTR_MAX > UINT32_MAX
    p += 4;
#endif
    return (_Atomic uint32_t *)(void *)p;
}

/* InitOnceBeginInitialize's logic; *pending and *context are written only on
 * success (Windows leaves them alone on failure). */
static DWORD once_begin(INIT_ONCE *once, DWORD flags, BOOL *pending, void **context)
{
    if (flags & ~(DWORD)(INIT_ONCE_CHECK_ONLY | INIT_ONCE_ASYNC))
        return ERROR_INVALID_PARAMETER;
    if ((flags & INIT_ONCE_CHECK_ONLY) && (flags & INIT_ONCE_ASYNC))
        return ERROR_INVALID_PARAMETER;

    uintptr_t v = once_load(once, __ATOMIC_ACQUIRE);
    for (;;) {
        unsigned state = v & ONCE_STATE;
        if (state == ONCE_DONE) {
            *pending = FALSE;
            if (context)
                *context = (void *)(v & ~(uintptr_t)ONCE_STATE);
            return 0;
        }
        /* Windows reports "not done yet" as STATUS_UNSUCCESSFUL. */
        if (flags & INIT_ONCE_CHECK_ONLY)
            return ERROR_GEN_FAILURE;
        if (flags & INIT_ONCE_ASYNC) {
            if (state == ONCE_SYNC)
                return ERROR_INVALID_PARAMETER;
            if (state == ONCE_ASYNC || once_cas(once, &v, ONCE_ASYNC, __ATOMIC_ACQUIRE)) {
                *pending = TRUE;
                return 0;
            }
            continue;
        }
        switch (state) {
        case ONCE_ASYNC:
            return ERROR_INVALID_PARAMETER;
        case ONCE_NONE:
            if (once_cas(once, &v, ONCE_SYNC, __ATOMIC_ACQUIRE)) {
                *pending = TRUE;
                return 0;
            }
            continue;
        default: /* ONCE_SYNC: wait for the initializer */
            if (!(v & ONCE_WAITERS)) {
                if (!once_cas(once, &v, v | ONCE_WAITERS, __ATOMIC_ACQUIRE))
                    continue;
                v |= ONCE_WAITERS;
            }
            wi_futex_wait_private(once_futex(once), (uint32_t)v, NULL);
            v = once_load(once, __ATOMIC_ACQUIRE);
            continue;
        }
    }
}

/* InitOnceComplete's logic. The error codes are those Windows returns:
 * ERROR_INVALID_PARAMETER for bad flags or context and for a mode that does
 * not match the pending initialization, ERROR_GEN_FAILURE when no
 * initialization of that kind is pending (never begun, or already done). */
static DWORD once_complete(INIT_ONCE *once, DWORD flags, void *context)
{
    if (flags & ~(DWORD)(INIT_ONCE_ASYNC | INIT_ONCE_INIT_FAILED))
        return ERROR_INVALID_PARAMETER;
    if ((flags & INIT_ONCE_ASYNC) && (flags & INIT_ONCE_INIT_FAILED))
        return ERROR_INVALID_PARAMETER;
    if ((uintptr_t)context & ((1u << INIT_ONCE_CTX_RESERVED_BITS) - 1))
        return ERROR_INVALID_PARAMETER;
    if ((flags & INIT_ONCE_INIT_FAILED) && context)
        return ERROR_INVALID_PARAMETER;

    uintptr_t next = (flags & INIT_ONCE_INIT_FAILED) ? ONCE_NONE : ((uintptr_t)context | ONCE_DONE);
    unsigned want = (flags & INIT_ONCE_ASYNC) ? ONCE_ASYNC : ONCE_SYNC;
    unsigned other = (flags & INIT_ONCE_ASYNC) ? ONCE_SYNC : ONCE_ASYNC;
    uintptr_t v = once_load(once, __ATOMIC_RELAXED);
    for (;;) {
        unsigned state = v & ONCE_STATE;
        if (state == other)
            return ERROR_INVALID_PARAMETER;
        if (state != want)
            return ERROR_GEN_FAILURE; /* also: a parallel async completion won */
        if (once_cas(once, &v, next, __ATOMIC_ACQ_REL))
            break;
    }
    if (v & ONCE_WAITERS)
        wi_futex_wake_private(once_futex(once), INT_MAX);
    return 0;
}

/* ---- Win32 entry points ------------------------------------------------ */

WINBASEAPI void WINAPI InitOnceInitialize(PINIT_ONCE InitOnce)
{
    __atomic_store_n(&InitOnce->Ptr, NULL, __ATOMIC_RELAXED);
}

/* fPending is required: NULL fails with ERROR_INVALID_PARAMETER (Windows
 * would fault) before the state is touched. */
WINBASEAPI BOOL WINAPI InitOnceBeginInitialize(LPINIT_ONCE lpInitOnce, DWORD dwFlags, PBOOL fPending, LPVOID *lpContext)
{
    if (!lpInitOnce || !fPending)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    return wi_result_bool(once_begin(lpInitOnce, dwFlags, fPending, lpContext));
}

WINBASEAPI BOOL WINAPI InitOnceComplete(LPINIT_ONCE lpInitOnce, DWORD dwFlags, LPVOID lpContext)
{
    if (!lpInitOnce)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    return wi_result_bool(once_complete(lpInitOnce, dwFlags, lpContext));
}

/* The callback gets the caller's Context pointer itself (NULL if none), as
 * on Windows; what it leaves in *Context becomes the stored context. A
 * callback returning FALSE resets the INIT_ONCE to "not initialised", wakes
 * the blocked callers (one of them runs the callback next) and makes this
 * call return FALSE with the last error the callback left. A context with
 * its low INIT_ONCE_CTX_RESERVED_BITS bits set cannot be stored: Windows then
 * leaves the INIT_ONCE pending forever, here it is reset like a failure and
 * the call fails with ERROR_INVALID_PARAMETER. */
WINBASEAPI BOOL WINAPI InitOnceExecuteOnce(PINIT_ONCE InitOnce, PINIT_ONCE_FN InitFn, PVOID Parameter, LPVOID *Context)
{
    if (!InitOnce || !InitFn)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    BOOL pending;
    void *stored;
    DWORD err = once_begin(InitOnce, 0, &pending, &stored);
    if (err)
        return wi_fail_bool(err);
    if (!pending) {
        if (Context)
            *Context = stored;
        return TRUE;
    }
    if (!InitFn(InitOnce, Parameter, Context)) {
        once_complete(InitOnce, INIT_ONCE_INIT_FAILED, NULL);
        return FALSE;
    }
    err = once_complete(InitOnce, 0, Context ? *Context : NULL);
    if (err) {
        once_complete(InitOnce, INIT_ONCE_INIT_FAILED, NULL);
        return wi_fail_bool(err);
    }
    return TRUE;
}
