/* SPDX-License-Identifier: MIT */
/* The only caller of SYS_futex and SYS_futex_waitv. */
#include "futex.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX_32
#define FUTEX_32 2
#endif

struct waitv_entry {
    uint64_t val;
    uint64_t uaddr;
    uint32_t flags;
    uint32_t reserved;
};

int wi_futex_wait(_Atomic uint32_t *word, uint32_t expected, const struct timespec *deadline)
{
    /* FUTEX_WAIT_BITSET takes an absolute timeout on CLOCK_MONOTONIC, which
     * keeps the deadline exact across EINTR restarts. */
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, deadline, NULL, FUTEX_BITSET_MATCH_ANY);
    return r == 0 ? 0 : errno;
}

void wi_futex_wake(_Atomic uint32_t *word, int count)
{
    syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}

int wi_futex_wait_private(_Atomic uint32_t *word, uint32_t expected, const struct timespec *deadline)
{
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, deadline, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    return r == 0 ? 0 : errno;
}

int wi_futex_wake_private(_Atomic uint32_t *word, int count)
{
    long r = syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
    return r > 0 ? (int)r : 0;
}

static int have_waitv = -1;

static void probe_waitv(void)
{
    const char *force = getenv("WINIPC_NO_FUTEX_WAITV");
    if (force && *force && strcmp(force, "0") != 0) {
        have_waitv = 0;
        return;
    }
    /* An empty vector is rejected with EINVAL by kernels that have the
     * syscall and with ENOSYS by those that don't. */
    long r = syscall(SYS_futex_waitv, NULL, 0, 0, NULL, CLOCK_MONOTONIC);
    have_waitv = !(r < 0 && errno == ENOSYS);
}

bool wi_futex_have_waitv(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, probe_waitv);
    return have_waitv;
}

int wi_futex_waitv(_Atomic uint32_t *const *words, const uint32_t *expected, unsigned count,
                   const struct timespec *deadline)
{
    if (count == 1) {
        int r = wi_futex_wait(words[0], expected[0], deadline);
        return r == 0 ? 0 : -r;
    }
    if (!wi_futex_have_waitv()) {
        /* Fallback for kernels before 5.16: sleep on the first word with a
         * short bound, then let the caller re-check every object. Latency is
         * at most 1 ms; correctness does not depend on the wake-up. */
        struct timespec now, bound;
        clock_gettime(CLOCK_MONOTONIC, &now);
        bound = now;
        bound.tv_nsec += 1000000;
        if (bound.tv_nsec >= 1000000000) {
            bound.tv_sec++;
            bound.tv_nsec -= 1000000000;
        }
        bool capped = !deadline || deadline->tv_sec > bound.tv_sec ||
                      (deadline->tv_sec == bound.tv_sec && deadline->tv_nsec > bound.tv_nsec);
        int r = wi_futex_wait(words[0], expected[0], capped ? &bound : deadline);
        if (r == ETIMEDOUT && capped)
            return -EAGAIN;
        return r == 0 ? 0 : -r;
    }
    struct waitv_entry v[128];
    if (count > 128)
        return -EINVAL;
    for (unsigned i = 0; i < count; i++) {
        v[i].val = expected[i];
        v[i].uaddr = (uint64_t)(uintptr_t)words[i];
        v[i].flags = FUTEX_32;
        v[i].reserved = 0;
    }
    long r = syscall(SYS_futex_waitv, v, count, 0, deadline, CLOCK_MONOTONIC);
    return r >= 0 ? (int)r : -errno;
}
