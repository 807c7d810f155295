/* SPDX-License-Identifier: MIT */
/* Condition variables: a sequence-counter futex in the CONDITION_VARIABLE's
 * one pointer of storage, split into two 32-bit words:
 *
 *   seq      bumped by every wake that finds a sleeper; sleepers futex-wait
 *            on the value they read before releasing their lock.
 *   sleepers threads between registering and returning; lets a wake with
 *            nobody to wake skip both the bump and the syscall.
 *
 * CONDITION_VARIABLE_INIT (all zero) is a variable nobody waits on.
 *
 * No lost wake-ups: a sleeper registers and reads `seq` while still holding
 * its lock, then releases the lock and waits for `seq` to move. A waker that
 * changed the predicate under the same lock runs after that release, so it
 * sees the registration, bumps `seq`, and the sleeper's futex wait either
 * finds `seq` changed or is woken. A wake may rouse more than the one thread
 * WakeConditionVariable asks for (sleepers that had read the old `seq` but
 * not yet reached the kernel): Windows, too, allows spurious wake-ups, and
 * callers re-check their predicate in a loop. */
#include "sync_local.h"

#include "error.h"
#include "futex.h"
#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>

struct cv {
    _Atomic uint32_t seq;
    _Atomic uint32_t sleepers;
} __attribute__((may_alias));

_Static_assert(sizeof(struct cv) == sizeof(CONDITION_VARIABLE), "the state must fit a CONDITION_VARIABLE");
_Static_assert(_Alignof(CONDITION_VARIABLE) >= _Alignof(struct cv), "CONDITION_VARIABLE alignment");

static inline struct cv *cv_of(CONDITION_VARIABLE *cv)
{
    return (struct cv *)(void *)cv;
}

/* Register as a sleeper; returns the sequence value to wait on. Called with
 * the caller's lock held. */
static uint32_t cv_register(struct cv *cv)
{
    atomic_fetch_add(&cv->sleepers, 1);
    return atomic_load(&cv->seq);
}

/* Wait for `seq` to move or the timeout; the caller's lock is released.
 * Returns 0 when woken (perhaps spuriously) or ERROR_TIMEOUT. */
static DWORD cv_sleep(struct cv *cv, uint32_t seq, DWORD ms)
{
    struct timespec ts, *deadline = wi_deadline(ms, &ts);
    DWORD err = 0;
    for (;;) {
        int r = wi_futex_wait_private(&cv->seq, seq, deadline);
        if (r == EINTR)
            continue; /* same absolute deadline; a wake meanwhile shows as EAGAIN */
        if (r == ETIMEDOUT)
            err = ERROR_TIMEOUT;
        break;
    }
    atomic_fetch_sub_explicit(&cv->sleepers, 1, memory_order_relaxed);
    return err;
}

static void cv_wake(struct cv *cv, int count)
{
    if (atomic_load(&cv->sleepers) == 0)
        return;
    atomic_fetch_add(&cv->seq, 1);
    wi_futex_wake_private(&cv->seq, count);
}

/* ---- Win32 entry points ------------------------------------------------ */

WINBASEAPI void WINAPI InitializeConditionVariable(PCONDITION_VARIABLE ConditionVariable)
{
    struct cv *cv = cv_of(ConditionVariable);
    atomic_init(&cv->seq, 0);
    atomic_init(&cv->sleepers, 0);
}

/* The section is released completely, whatever its recursion depth, and
 * taken back with the same depth before returning (also on timeout), as on
 * Windows. Sleeping on a section the caller does not own is undefined on
 * Windows; here it fails with ERROR_NOT_OWNER and leaves the section alone. */
WINBASEAPI BOOL WINAPI SleepConditionVariableCS(PCONDITION_VARIABLE ConditionVariable, PCRITICAL_SECTION CriticalSection,
                                                DWORD dwMilliseconds)
{
    struct cv *cv = cv_of(ConditionVariable);
    uint32_t seq = cv_register(cv);
    LONG depth = wi_critical_section_leave_all(CriticalSection);
    if (depth == 0) {
        atomic_fetch_sub_explicit(&cv->sleepers, 1, memory_order_relaxed);
        return wi_fail_bool(ERROR_NOT_OWNER);
    }
    DWORD err = cv_sleep(cv, seq, dwMilliseconds);
    wi_critical_section_enter_again(CriticalSection, depth);
    return wi_result_bool(err);
}

WINBASEAPI BOOL WINAPI SleepConditionVariableSRW(PCONDITION_VARIABLE ConditionVariable, PSRWLOCK SRWLock,
                                                 DWORD dwMilliseconds, ULONG Flags)
{
    if (Flags & ~(ULONG)CONDITION_VARIABLE_LOCKMODE_SHARED)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    bool shared = Flags & CONDITION_VARIABLE_LOCKMODE_SHARED;
    struct cv *cv = cv_of(ConditionVariable);
    uint32_t seq = cv_register(cv);
    if (shared)
        ReleaseSRWLockShared(SRWLock);
    else
        ReleaseSRWLockExclusive(SRWLock);
    DWORD err = cv_sleep(cv, seq, dwMilliseconds);
    if (shared)
        AcquireSRWLockShared(SRWLock);
    else
        AcquireSRWLockExclusive(SRWLock);
    return wi_result_bool(err);
}

WINBASEAPI void WINAPI WakeConditionVariable(PCONDITION_VARIABLE ConditionVariable)
{
    cv_wake(cv_of(ConditionVariable), 1);
}

WINBASEAPI void WINAPI WakeAllConditionVariable(PCONDITION_VARIABLE ConditionVariable)
{
    cv_wake(cv_of(ConditionVariable), INT_MAX);
}
