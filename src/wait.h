/* SPDX-License-Identifier: MIT */
/* The wait engine: the only caller of ops->waitable and ops->try_satisfy. */
#ifndef WINIPC_WAIT_H
#define WINIPC_WAIT_H

#include "object.h"

#include <time.h>

/* CLOCK_MONOTONIC now, in nanoseconds. */
uint64_t wi_monotonic_ns(void);

/* Absolute CLOCK_MONOTONIC deadline `ms` from now; NULL for INFINITE. */
struct timespec *wi_deadline(DWORD ms, struct timespec *ts);

/* Wait for any one of `objs`, or all of them atomically. Returns
 * WAIT_OBJECT_0+i, WAIT_ABANDONED_0+i, WAIT_TIMEOUT, WAIT_IO_COMPLETION
 * (alertable: APCs ran), or WAIT_FAILED with *err set. */
DWORD wi_wait_objects(unsigned count, struct wi_object **objs, bool wait_all, DWORD ms, bool alertable, DWORD *err);

/* Wake every thread sleeping on `w` if there is one. Signalers call this after
 * changing w->word; the check of `waiters` costs no syscall when nobody waits. */
void wi_waitable_wake(struct wi_waitable *w);

#endif
