/* SPDX-License-Identifier: MIT */
/* futex.c is the only file that calls SYS_futex / SYS_futex_waitv.
 *
 * All winipc futex words may live in memory shared between processes, so
 * every operation uses the shared (non-_PRIVATE) variants. Timeouts are
 * absolute CLOCK_MONOTONIC deadlines (NULL = forever); the deadline math and
 * the EINTR policy live in wait.c's caller-side helpers, not here. */
#ifndef WINIPC_FUTEX_H
#define WINIPC_FUTEX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Block while *word == expected, until woken or the deadline passes.
 * Returns 0 when woken (or spuriously), EAGAIN when *word != expected,
 * ETIMEDOUT, or EINTR. */
int wi_futex_wait(_Atomic uint32_t *word, uint32_t expected, const struct timespec *deadline);

/* Wake up to `count` waiters (INT32_MAX = all). */
void wi_futex_wake(_Atomic uint32_t *word, int count);

/* Process-private variants for words that only threads of this process touch
 * (critical sections, SRW locks, condition variables, INIT_ONCE, the
 * WaitOnAddress table: Windows documents all of them as usable within one
 * process only). FUTEX_PRIVATE_FLAG lets the kernel key the futex by address
 * instead of looking up the backing page; measured on the reference VM:
 * FUTEX_WAKE with no waiter 150 ns private vs 235 ns shared, a FUTEX_WAIT
 * that fails with EAGAIN 210 ns vs 290 ns. Never use them on a word in
 * memory mapped by another process. wi_futex_wake_private returns the number
 * of threads woken (callers such as the SRW lock decide who to wake next from
 * it); 0 when the syscall fails. */
int wi_futex_wait_private(_Atomic uint32_t *word, uint32_t expected, const struct timespec *deadline);
int wi_futex_wake_private(_Atomic uint32_t *word, int count);

/* Wait on several words at once: returns the index of a word that was woken
 * (>= 0), or -EAGAIN (some word already differs), -ETIMEDOUT, -EINTR.
 * With no futex_waitv support (see wi_futex_have_waitv) it falls back to a
 * bounded sleep on the first word and returns -EAGAIN so callers re-check. */
int wi_futex_waitv(_Atomic uint32_t *const *words, const uint32_t *expected, unsigned count,
                   const struct timespec *deadline);

/* True when the kernel has futex_waitv (Linux >= 5.16) and the fallback was
 * not forced with WINIPC_NO_FUTEX_WAITV=1. Probed once. */
bool wi_futex_have_waitv(void);

#endif
