/* SPDX-License-Identifier: MIT */
/* Slim reader/writer locks: the SRWLOCK's one pointer of storage holds the
 * whole lock as two 32-bit futex words. Uncontended acquires and releases
 * are one atomic instruction and no syscall.
 *
 *   state       bits 0-29  holders: the number of shared owners, or
 *                          SRW_WRITE_LOCKED (all ones) when owned exclusively
 *               bit 30     SRW_READERS_WAITING: shared acquirers sleep on
 *                          `state` itself
 *               bit 31     SRW_WRITERS_WAITING: exclusive acquirers sleep on
 *                          `writer_seq`
 *   writer_seq  bumped each time a release hands the lock to a writer; the
 *               futex exclusive waiters sleep on.
 *
 * SRWLOCK_INIT (all zero) is a free lock with nobody waiting.
 *
 * Writers first, as on Windows: once an exclusive acquirer waits, new shared
 * acquires (TryAcquireSRWLockShared included) wait behind it, so a stream of
 * readers cannot starve a writer. When the last holder leaves and both kinds
 * wait, one writer is woken; readers are woken when no writer is left to
 * wake. A writer that was woken sets SRW_WRITERS_WAITING again when it takes
 * the lock, because other writers may still sleep; the release that follows
 * then finds nobody to wake on writer_seq (the futex reports 0 woken) and
 * wakes the readers instead. Readers can therefore wait while writers keep
 * arriving, which Windows' SRW locks (documented as neither fair nor FIFO)
 * allow too.
 *
 * No lost wake-ups: a reader sleeps only on the exact `state` value it saw
 * with SRW_READERS_WAITING set, so any change in between makes the futex wait
 * return at once. A writer sets SRW_WRITERS_WAITING, reads writer_seq, then
 * re-reads `state`; the releaser clears the bit, then bumps writer_seq (all
 * sequentially consistent), so either the writer sees the bit gone and
 * retries, or its futex wait sees writer_seq changed or is woken. */
#include "sync_local.h"

#include "futex.h"

#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#define SRW_HOLDERS 0x3FFFFFFFu
#define SRW_WRITE_LOCKED SRW_HOLDERS
#define SRW_MAX_READERS (SRW_HOLDERS - 1)
#define SRW_READERS_WAITING 0x40000000u
#define SRW_WRITERS_WAITING 0x80000000u
#define SRW_WAITING (SRW_READERS_WAITING | SRW_WRITERS_WAITING)

/* Spin this many pauses on a held lock before sleeping, when nobody sleeps
 * yet and there is more than one CPU: short holds then cost no syscall. */
#define SRW_SPIN 100

struct srw {
    _Atomic uint32_t state;
    _Atomic uint32_t writer_seq;
} __attribute__((may_alias));

_Static_assert(sizeof(struct srw) == sizeof(SRWLOCK), "the SRW state must fit an SRWLOCK");
_Static_assert(_Alignof(SRWLOCK) >= _Alignof(struct srw), "SRWLOCK alignment");

static inline struct srw *srw_of(SRWLOCK *lock)
{
    return (struct srw *)(void *)lock;
}

static inline uint32_t holders(uint32_t s)
{
    return s & SRW_HOLDERS;
}

static inline bool read_lockable(uint32_t s)
{
    return holders(s) < SRW_MAX_READERS && !(s & SRW_WRITERS_WAITING);
}

static uint32_t spin_while(struct srw *l, bool exclusive)
{
    uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
    if (!wi_sync_spinning_helps())
        return s;
    for (int i = 0; i < SRW_SPIN; i++) {
        bool held = exclusive ? holders(s) != 0 : holders(s) == SRW_WRITE_LOCKED;
        if (!held || (s & SRW_WAITING))
            break;
        YieldProcessor();
        s = atomic_load_explicit(&l->state, memory_order_relaxed);
    }
    return s;
}

/* Called when the holder count dropped to 0 with a waiting bit set. */
static void wake_waiters(struct srw *l, uint32_t s)
{
    for (;;) {
        if (holders(s) != 0)
            return; /* someone took the lock: its release wakes the rest */
        if (s & SRW_WRITERS_WAITING) {
            if (!atomic_compare_exchange_weak(&l->state, &s, s & ~SRW_WRITERS_WAITING))
                continue;
            atomic_fetch_add(&l->writer_seq, 1);
            if (wi_futex_wake_private(&l->writer_seq, 1) > 0)
                return;
            /* No writer was asleep: one is still on its way to its futex wait
             * (it will see writer_seq changed and retry), or none is left.
             * Wake the readers as well. */
            s &= ~SRW_WRITERS_WAITING;
        }
        if (s & SRW_READERS_WAITING) {
            if (!atomic_compare_exchange_weak(&l->state, &s, s & ~SRW_READERS_WAITING))
                continue;
            wi_futex_wake_private(&l->state, INT_MAX);
        }
        return;
    }
}

static void acquire_shared_contended(struct srw *l)
{
    uint32_t s = spin_while(l, false);
    for (;;) {
        if (read_lockable(s)) {
            if (atomic_compare_exchange_weak_explicit(&l->state, &s, s + 1, memory_order_acquire,
                                                      memory_order_relaxed))
                return;
            continue;
        }
        if (holders(s) == SRW_MAX_READERS && !(s & SRW_WRITERS_WAITING)) {
            /* 2^30 - 2 concurrent shared holds: nothing will wake us when
             * one leaves, so yield and look again. */
            sched_yield();
            s = atomic_load_explicit(&l->state, memory_order_relaxed);
            continue;
        }
        if (!(s & SRW_READERS_WAITING)) {
            if (!atomic_compare_exchange_weak(&l->state, &s, s | SRW_READERS_WAITING))
                continue;
            s |= SRW_READERS_WAITING;
        }
        wi_futex_wait_private(&l->state, s, NULL);
        s = spin_while(l, false);
    }
}

static void acquire_exclusive_contended(struct srw *l)
{
    uint32_t s = spin_while(l, true);
    uint32_t keep = 0; /* SRW_WRITERS_WAITING once we have slept: see the top */
    for (;;) {
        if (holders(s) == 0) {
            if (atomic_compare_exchange_weak_explicit(&l->state, &s, s | SRW_WRITE_LOCKED | keep,
                                                      memory_order_acquire, memory_order_relaxed))
                return;
            continue;
        }
        if (!(s & SRW_WRITERS_WAITING)) {
            if (!atomic_compare_exchange_weak(&l->state, &s, s | SRW_WRITERS_WAITING))
                continue;
        }
        uint32_t seq = atomic_load(&l->writer_seq);
        s = atomic_load(&l->state);
        if (holders(s) == 0 || !(s & SRW_WRITERS_WAITING))
            continue; /* released (or handed on) since we set the bit */
        wi_futex_wait_private(&l->writer_seq, seq, NULL);
        keep = SRW_WRITERS_WAITING;
        s = spin_while(l, true);
    }
}

/* ---- Win32 entry points ------------------------------------------------ */

WINBASEAPI void WINAPI InitializeSRWLock(PSRWLOCK SRWLock)
{
    struct srw *l = srw_of(SRWLock);
    atomic_init(&l->state, 0);
    atomic_init(&l->writer_seq, 0);
}

WINBASEAPI void WINAPI AcquireSRWLockShared(PSRWLOCK SRWLock)
{
    struct srw *l = srw_of(SRWLock);
    uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
    if (read_lockable(s) &&
        atomic_compare_exchange_weak_explicit(&l->state, &s, s + 1, memory_order_acquire, memory_order_relaxed))
        return;
    acquire_shared_contended(l);
}

WINBASEAPI void WINAPI AcquireSRWLockExclusive(PSRWLOCK SRWLock)
{
    struct srw *l = srw_of(SRWLock);
    uint32_t s = 0;
    if (atomic_compare_exchange_strong_explicit(&l->state, &s, SRW_WRITE_LOCKED, memory_order_acquire,
                                                memory_order_relaxed))
        return;
    acquire_exclusive_contended(l);
}

WINBASEAPI BOOLEAN WINAPI TryAcquireSRWLockShared(PSRWLOCK SRWLock)
{
    struct srw *l = srw_of(SRWLock);
    uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
    while (read_lockable(s)) {
        if (atomic_compare_exchange_weak_explicit(&l->state, &s, s + 1, memory_order_acquire, memory_order_relaxed))
            return TRUE;
    }
    return FALSE;
}

WINBASEAPI BOOLEAN WINAPI TryAcquireSRWLockExclusive(PSRWLOCK SRWLock)
{
    struct srw *l = srw_of(SRWLock);
    uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
    while (holders(s) == 0) {
        if (atomic_compare_exchange_weak_explicit(&l->state, &s, s | SRW_WRITE_LOCKED, memory_order_acquire,
                                                  memory_order_relaxed))
            return TRUE;
    }
    return FALSE;
}

/* Releasing a lock that is not held in that mode raises
 * STATUS_RESOURCE_NOT_OWNED on Windows; here it changes nothing (see
 * docs/sync-local.md). */
WINBASEAPI void WINAPI ReleaseSRWLockShared(PSRWLOCK SRWLock)
{
    struct srw *l = srw_of(SRWLock);
    uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
    do {
        if (holders(s) == 0 || holders(s) == SRW_WRITE_LOCKED)
            return;
    } while (!atomic_compare_exchange_weak_explicit(&l->state, &s, s - 1, memory_order_release, memory_order_relaxed));
    s--;
    if (holders(s) == 0 && (s & SRW_WAITING))
        wake_waiters(l, s);
}

WINBASEAPI void WINAPI ReleaseSRWLockExclusive(PSRWLOCK SRWLock)
{
    struct srw *l = srw_of(SRWLock);
    if (holders(atomic_load_explicit(&l->state, memory_order_relaxed)) != SRW_WRITE_LOCKED)
        return;
    uint32_t s = atomic_fetch_sub_explicit(&l->state, SRW_WRITE_LOCKED, memory_order_release) - SRW_WRITE_LOCKED;
    if (s & SRW_WAITING)
        wake_waiters(l, s);
}
