/* SPDX-License-Identifier: MIT */
/* Critical sections: a recursive lock for the threads of one process, kept
 * entirely in the caller's CRITICAL_SECTION. Entering a free section or
 * leaving one nobody waits for is one atomic instruction, no syscall; waiters
 * sleep on a process-private futex.
 *
 * The layout is the SDK's (40 bytes on x64). Programs and debuggers peek at
 * the fields, so each keeps the meaning it has on Windows Vista and later:
 *
 *   LockCount       the lock word, and the futex waiters sleep on.
 *                     bit 0     set = free, clear = owned
 *                     bit 1     clear = a waiter has been woken and has not
 *                               yet run; releases skip the wake-up meanwhile
 *                     bits 2-31 ones' complement of the number of threads
 *                               sleeping or about to sleep on it
 *                   So: -1 free, -2 owned, -6 owned with one waiter.
 *                   Changed only with atomic read-modify-writes.
 *   RecursionCount  the owner's recursion depth, 0 when free. Written by the
 *                   owner only.
 *   OwningThread    the owner's thread id (GetCurrentThreadId()) or NULL.
 *                   Written by the owner only (set after acquiring, cleared
 *                   before releasing), so a thread that reads its own id
 *                   there owns the section.
 *   LockSemaphore   always NULL: there is no kernel event to allocate.
 *   SpinCount       the spin count in bits 0-23 (0 on one CPU), and in bits
 *                   24-31 the RTL_CRITICAL_SECTION_FLAG_* given to
 *                   InitializeCriticalSectionEx, as Windows keeps them.
 *   DebugInfo       (PRTL_CRITICAL_SECTION_DEBUG)-1 while initialised, NULL
 *                   after DeleteCriticalSection: no debug data is kept, and
 *                   -1 is what Windows stores when it keeps none (code that
 *                   tests DebugInfo != NULL for "initialised" keeps working).
 *
 * Waking: a release that finds sleepers and no woken-but-not-yet-running
 * waiter marks one as woken (clears bit 1) in the same atomic step that frees
 * the lock, then wakes one futex sleeper. A woken waiter, or any registered
 * waiter that finds itself awake, sets bit 1 again when it next changes the
 * word (acquiring or going back to sleep), so there is always either an awake
 * waiter that will look at the word again or a release to come that will
 * wake one: no wake-up is lost. New arrivals may take a free section before
 * a woken waiter runs, as on Windows (no FIFO handoff). */
#include "sync_local.h"

#include "error.h"
#include "futex.h"

#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#define CS_FREE 1u       /* bit 0: set when nobody owns the section */
#define CS_NOT_WOKEN 2u  /* bit 1: clear while a woken waiter has not run */
#define CS_ONE_WAITER 4u /* the waiter count starts at bit 2 (ones' complement) */

#define CS_SPIN_MASK 0x00FFFFFFu
#define CS_VALID_FLAGS                                                                                     \
    (RTL_CRITICAL_SECTION_FLAG_NO_DEBUG_INFO | RTL_CRITICAL_SECTION_FLAG_DYNAMIC_SPIN |                    \
     RTL_CRITICAL_SECTION_FLAG_STATIC_INIT | RTL_CRITICAL_SECTION_FLAG_RESOURCE_TYPE |                     \
     RTL_CRITICAL_SECTION_FLAG_FORCE_DEBUG_INFO)

bool wi_sync_spinning_helps(void)
{
    /* 0 = not probed yet, 1 = one CPU, 2 = several. A race only probes twice. */
    static _Atomic int cpus;
    int c = atomic_load_explicit(&cpus, memory_order_relaxed);
    if (c == 0) {
        c = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
        atomic_store_explicit(&cpus, c, memory_order_relaxed);
    }
    return c == 2;
}

static inline HANDLE current_thread_tag(void)
{
    return (HANDLE)(ULONG_PTR)GetCurrentThreadId();
}

static inline _Atomic uint32_t *lock_futex(CRITICAL_SECTION *cs)
{
    return (_Atomic uint32_t *)(void *)&cs->LockCount;
}

static inline DWORD sleeping_waiters(LONG v)
{
    return (DWORD)~(DWORD)v >> 2;
}

/* Windows ignores the spin count on a single CPU and stores 0. The top byte
 * of dwSpinCount once was a flag (pre-Vista "preallocate the event") and now
 * means nothing; winipc keeps its own flag byte there. */
static ULONG_PTR effective_spin(DWORD spin)
{
    return wi_sync_spinning_helps() ? (spin & CS_SPIN_MASK) : 0;
}

static inline bool try_take(CRITICAL_SECTION *cs)
{
    return __atomic_fetch_and(&cs->LockCount, (LONG)~CS_FREE, __ATOMIC_ACQUIRE) & CS_FREE;
}

/* The contended path: spin SpinCount times, then register as a waiter and
 * sleep until a release wakes us and we win the section. */
static void wait_for_section(CRITICAL_SECTION *cs)
{
    DWORD spin = (DWORD)(__atomic_load_n(&cs->SpinCount, __ATOMIC_RELAXED) & CS_SPIN_MASK);
    for (DWORD i = 0; i < spin; i++) {
        YieldProcessor();
        if ((__atomic_load_n(&cs->LockCount, __ATOMIC_RELAXED) & CS_FREE) && try_take(cs))
            return;
    }

    bool registered = false;
    LONG v = __atomic_load_n(&cs->LockCount, __ATOMIC_RELAXED);
    for (;;) {
        LONG next;
        if (v & CS_FREE) {
            /* Take it; a registered waiter also removes itself from the
             * count and re-arms wake-ups (it may be the woken one). */
            next = (LONG)((DWORD)v & ~CS_FREE);
            if (registered)
                next = (LONG)(((DWORD)next + CS_ONE_WAITER) | CS_NOT_WOKEN);
            if (__atomic_compare_exchange_n(&cs->LockCount, &v, next, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return;
            continue;
        }
        next = registered ? (LONG)((DWORD)v | CS_NOT_WOKEN) : (LONG)((DWORD)v - CS_ONE_WAITER);
        if (!__atomic_compare_exchange_n(&cs->LockCount, &v, next, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            continue;
        registered = true;
        /* Returns at once (EAGAIN) if any release or registration changed the
         * word since the exchange above; EINTR and spurious wake-ups just
         * loop. */
        wi_futex_wait_private(lock_futex(cs), (uint32_t)next, NULL);
        v = __atomic_load_n(&cs->LockCount, __ATOMIC_RELAXED);
    }
}

static void section_enter(CRITICAL_SECTION *cs, HANDLE self)
{
    if (__atomic_load_n(&cs->OwningThread, __ATOMIC_RELAXED) == self) {
        cs->RecursionCount++;
        return;
    }
    if (!try_take(cs))
        wait_for_section(cs);
    __atomic_store_n(&cs->OwningThread, self, __ATOMIC_RELAXED);
    cs->RecursionCount = 1;
}

/* Free the section and wake a waiter if one sleeps and none is already on
 * its way. */
static void section_release(CRITICAL_SECTION *cs)
{
    __atomic_store_n(&cs->OwningThread, NULL, __ATOMIC_RELAXED);
    LONG v = __atomic_load_n(&cs->LockCount, __ATOMIC_RELAXED);
    for (;;) {
        bool wake = sleeping_waiters(v) && (v & CS_NOT_WOKEN);
        LONG next = (LONG)((DWORD)v | CS_FREE);
        if (wake)
            next = (LONG)((DWORD)next & ~CS_NOT_WOKEN);
        if (__atomic_compare_exchange_n(&cs->LockCount, &v, next, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
            if (wake)
                wi_futex_wake_private(lock_futex(cs), 1);
            return;
        }
    }
}

static void section_init(CRITICAL_SECTION *cs, DWORD spin, DWORD flags)
{
    cs->DebugInfo = (PRTL_CRITICAL_SECTION_DEBUG)(LONG_PTR)-1;
    cs->LockCount = -1;
    cs->RecursionCount = 0;
    cs->OwningThread = NULL;
    cs->LockSemaphore = NULL;
    cs->SpinCount = effective_spin(spin) | flags;
}

LONG wi_critical_section_leave_all(CRITICAL_SECTION *cs)
{
    if (__atomic_load_n(&cs->OwningThread, __ATOMIC_RELAXED) != current_thread_tag())
        return 0;
    LONG depth = cs->RecursionCount;
    cs->RecursionCount = 0;
    section_release(cs);
    return depth;
}

void wi_critical_section_enter_again(CRITICAL_SECTION *cs, LONG depth)
{
    section_enter(cs, current_thread_tag());
    cs->RecursionCount = depth;
}

/* ---- Win32 entry points ------------------------------------------------ */

WINBASEAPI void WINAPI InitializeCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    section_init(lpCriticalSection, 0, 0);
}

/* Always TRUE since Windows Vista: nothing is allocated. */
WINBASEAPI BOOL WINAPI InitializeCriticalSectionAndSpinCount(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount)
{
    section_init(lpCriticalSection, dwSpinCount, 0);
    return TRUE;
}

/* Every RTL_CRITICAL_SECTION_FLAG_* Windows defines is accepted and recorded
 * in SpinCount's top byte. None changes behaviour here: there is never debug
 * info to keep or omit (NO_DEBUG_INFO, FORCE_DEBUG_INFO), the spin count is
 * used as given rather than tuned (DYNAMIC_SPIN), and STATIC_INIT and
 * RESOURCE_TYPE only label the section. Reserved bits fail. */
WINBASEAPI BOOL WINAPI InitializeCriticalSectionEx(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount, DWORD Flags)
{
    if (Flags & ~(DWORD)CS_VALID_FLAGS)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    section_init(lpCriticalSection, dwSpinCount, Flags);
    return TRUE;
}

WINBASEAPI DWORD WINAPI SetCriticalSectionSpinCount(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount)
{
    ULONG_PTR old = __atomic_load_n(&lpCriticalSection->SpinCount, __ATOMIC_RELAXED);
    __atomic_store_n(&lpCriticalSection->SpinCount, (old & ~(ULONG_PTR)CS_SPIN_MASK) | effective_spin(dwSpinCount),
                     __ATOMIC_RELAXED);
    return (DWORD)(old & CS_SPIN_MASK);
}

WINBASEAPI void WINAPI EnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    section_enter(lpCriticalSection, current_thread_tag());
}

WINBASEAPI BOOL WINAPI TryEnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    CRITICAL_SECTION *cs = lpCriticalSection;
    HANDLE self = current_thread_tag();
    if (__atomic_load_n(&cs->OwningThread, __ATOMIC_RELAXED) == self) {
        cs->RecursionCount++;
        return TRUE;
    }
    /* Test before the read-modify-write so a failed try does not pull the
     * cache line away from the owner. Windows leaves the last error alone. */
    if (!(__atomic_load_n(&cs->LockCount, __ATOMIC_RELAXED) & CS_FREE) || !try_take(cs))
        return FALSE;
    __atomic_store_n(&cs->OwningThread, self, __ATOMIC_RELAXED);
    cs->RecursionCount = 1;
    return TRUE;
}

/* Like Windows, the caller's ownership is not checked: a thread other than
 * the owner can release the section (some programs rely on it). Leaving a
 * section nobody holds is the one misuse caught: Windows corrupts LockCount
 * and a later Enter may hang; here the call changes nothing. */
WINBASEAPI void WINAPI LeaveCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    CRITICAL_SECTION *cs = lpCriticalSection;
    if (cs->RecursionCount <= 0)
        return;
    if (--cs->RecursionCount > 0)
        return;
    section_release(cs);
}

/* Nothing to free. The fields are reset so that a deleted section reads as
 * uninitialised (DebugInfo NULL) and free; deleting a section that is owned
 * or waited on is undefined on Windows and stays so. */
WINBASEAPI void WINAPI DeleteCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    CRITICAL_SECTION *cs = lpCriticalSection;
    cs->DebugInfo = NULL;
    cs->LockCount = -1;
    cs->RecursionCount = 0;
    cs->OwningThread = NULL;
    cs->LockSemaphore = NULL;
    cs->SpinCount = 0;
}
