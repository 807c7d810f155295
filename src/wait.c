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
#include "tls.h"
#include "wait.h"

#include "error.h"
#include "futex.h"
#include "handle.h"
#include "owner_watch.h"
#include "thread.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
        DWORD r = objs[i]->ops->try_satisfy(objs[i], &cookies[i], 0);
        if (r == WAIT_OBJECT_0)
            return WAIT_OBJECT_0 + i;
        if (r == WAIT_ABANDONED_0)
            return WAIT_ABANDONED_0 + i;
    }
    return WAIT_TIMEOUT;
}

/* Before sleeping: let each object arm what it needs (a mutex watches its
 * owner's death) and learn how long we may sleep at most. */
/* How often a sleeper looks again at a word locked by another thread's
 * wait-all: the lock is held for microseconds unless its holder died. */
#define LOCK_RECHECK_MS 10

/* A wait-all lock whose holder is gone (killed between locking and
 * unlocking): release it for everyone. The holder's tid was recorded with
 * the lock in one step, so it is never unknown. Returns true if the word is
 * still locked by a live thread. */
static bool lock_still_held(struct wi_waitable *w)
{
    uint64_t pair = atomic_load(&w->lock_pair);
    uint32_t word = (uint32_t)pair, tid = (uint32_t)(pair >> 32);
    if (!(word & WI_WORD_LOCK))
        return false;
    if (tid && wi_thread_exists((pid_t)tid))
        return true;
    uint64_t freed = (uint64_t)(word & ~WI_WORD_LOCK);
    if (atomic_compare_exchange_strong(&w->lock_pair, &pair, freed))
        wi_waitable_wake(w);
    return false;
}

static DWORD prepare_all(unsigned count, struct wi_object **objs, struct wi_waitable **w)
{
    DWORD cap = INFINITE;
    for (unsigned i = 0; i < count; i++) {
        DWORD c = objs[i]->ops->wait_prepare(objs[i]);
        if (c < cap)
            cap = c;
        if ((atomic_load(&w[i]->word) & WI_WORD_LOCK) && lock_still_held(w[i]) && cap > LOCK_RECHECK_MS)
            cap = LOCK_RECHECK_MS;
    }
    return cap;
}

/* The earlier of the caller's deadline and now + cap ms. Returns whether the
 * cap (not the caller's deadline) is what ends the sleep. */
static bool capped_deadline(const struct timespec *deadline, DWORD cap, struct timespec *out)
{
    struct timespec c;
    if (cap == INFINITE) {
        if (deadline)
            *out = *deadline;
        return false;
    }
    wi_deadline(cap, &c);
    if (deadline && (deadline->tv_sec < c.tv_sec || (deadline->tv_sec == c.tv_sec && deadline->tv_nsec <= c.tv_nsec))) {
        *out = *deadline;
        return false;
    }
    *out = c;
    return true;
}

/* Alertable waits also sleep on the thread's APC word (thread.c), as the
 * last entry of the futex vector. */
static unsigned add_apc_word(bool alertable, unsigned count, _Atomic uint32_t **words, struct wi_waitable **w)
{
    if (!alertable)
        return count;
    w[count] = wi_thread_apc_waitable();
    if (!w[count])
        return count;
    words[count] = &w[count]->word;
    return count + 1;
}

/* Adaptive spinning before sleeping.
 *
 * A futex sleep and wake-up costs two context switches (20-40 us on the VMs
 * we measure on) while a peer on another core that is itself spinning
 * answers in well under a microsecond (bench_events: ~0.3 us round trip
 * against ~25 us). The spin must outlast the wake-up of a peer that did go
 * to sleep, or two peers never get back to spinning: hence a ceiling of
 * 100 us. The budget adapts per thread: it doubles (up to the ceiling) each
 * time the object came while spinning and halves each time it did not, so a
 * waiter whose peer is slow, or shares its CPU, soon stops burning time
 * (bench_events on one shared core: the same as a plain futex); after it
 * reached zero, every 256th wait tries again with a quarter of it. Never
 * spins on a single-CPU machine. WINIPC_SPIN_NS overrides the ceiling (0 =
 * never spin), for measurements. */
#define SPIN_MAX_NS 100000
#define SPIN_START_NS 50000

static long spin_ceiling(void)
{
    static long ceiling = -1;
    if (ceiling < 0) {
        const char *e = getenv("WINIPC_SPIN_NS");
        long c = e && *e ? atol(e) : SPIN_MAX_NS;
        if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
            c = 0;
        ceiling = c < 0 ? 0 : c;
    }
    return ceiling;
}

uint64_t wi_monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Watch the words until one changes and the wait is satisfied, or the budget
 * runs out. Returns the wait result or WAIT_TIMEOUT. */
static DWORD spin_any(unsigned count, struct wi_object **objs, _Atomic uint32_t **words, uint32_t *cookies)
{
    static WI_THREAD_LOCAL long budget = -1;
    long ceiling = spin_ceiling();
    if (ceiling == 0)
        return WAIT_TIMEOUT;
    if (budget < 0 || budget > ceiling)
        budget = ceiling < SPIN_START_NS ? ceiling : SPIN_START_NS;
    if (budget == 0) {
        /* Give spinning another chance now and then. */
        static WI_THREAD_LOCAL unsigned skipped;
        if (++skipped < 256)
            return WAIT_TIMEOUT;
        skipped = 0;
        budget = ceiling / 4;
    }
    uint32_t seen[MAXIMUM_WAIT_OBJECTS];
    for (unsigned i = 0; i < count; i++)
        seen[i] = atomic_load_explicit(words[i], memory_order_relaxed);
    uint64_t end = wi_monotonic_ns() + (uint64_t)budget;
    for (unsigned n = 1;; n++) {
        cpu_relax();
        for (unsigned i = 0; i < count; i++) {
            if (atomic_load_explicit(words[i], memory_order_relaxed) != seen[i]) {
                DWORD r = try_any(count, objs, cookies);
                if (r != WAIT_TIMEOUT) {
                    /* Success past the deadline means we were preempted
                     * while spinning (the peer shares our CPU): the object
                     * came because we stopped running, not because we
                     * spun, so it counts as a failure. */
                    if (wi_monotonic_ns() > end)
                        budget /= 2;
                    else
                        budget = budget * 2 > ceiling ? ceiling : budget * 2;
                    return r;
                }
                seen[i] = atomic_load_explicit(words[i], memory_order_relaxed);
            }
        }
        if ((n & 15) == 0 && wi_monotonic_ns() >= end)
            break;
    }
    budget /= 2;
    return WAIT_TIMEOUT;
}

static DWORD wait_any(unsigned count, struct wi_object **objs, struct wi_waitable **w, DWORD ms, bool alertable)
{
    _Atomic uint32_t *words[MAXIMUM_WAIT_OBJECTS + 1];
    uint32_t vals[MAXIMUM_WAIT_OBJECTS + 1];
    uint32_t cookies[MAXIMUM_WAIT_OBJECTS]; /* only the first `count` are used */
    struct timespec ts, *deadline = NULL, sleep_until;
    DWORD r;

    memset(cookies, 0, count * sizeof cookies[0]);
    r = try_any(count, objs, cookies);
    if (r != WAIT_TIMEOUT)
        return r;
    deadline = ms == 0 ? NULL : wi_deadline(ms, &ts);
    for (unsigned i = 0; i < count; i++)
        words[i] = &w[i]->word;
    unsigned nwords = add_apc_word(alertable, count, words, w);
    if (ms != 0 && !alertable) {
        r = spin_any(count, objs, words, cookies);
        if (r != WAIT_TIMEOUT)
            return r;
    }

    for (;;) {
        /* The words first, then wait_prepare: a change that prepare did not
         * see (a timer set meanwhile) then ends the sleep at once. */
        for (unsigned i = 0; i < nwords; i++)
            vals[i] = atomic_load(words[i]);
        DWORD cap = prepare_all(count, objs, w);
        r = try_any(count, objs, cookies);
        if (r != WAIT_TIMEOUT)
            return r;
        if (alertable && wi_thread_run_apcs())
            return WAIT_IO_COMPLETION;
        if (ms == 0)
            return r;
        bool capped = capped_deadline(deadline, cap, &sleep_until);
        for (unsigned i = 0; i < nwords; i++)
            atomic_fetch_add(&w[i]->waiters, 1);
        int wr = wi_futex_waitv(words, vals, nwords, (deadline || capped) ? &sleep_until : NULL);
        for (unsigned i = 0; i < nwords; i++)
            atomic_fetch_sub(&w[i]->waiters, 1);
        if (wr == -ETIMEDOUT && !capped)
            return try_any(count, objs, cookies); /* a last look at the deadline */
        /* Woken, changed (-EAGAIN), interrupted (-EINTR) or capped: again. */
    }
}

/* A global order for wait-all locks, the same in every process: the
 * identity of the object's shared-state file. */
static uint64_t order_key(struct wi_object *obj)
{
    uint64_t k = atomic_load_explicit(&obj->order_key, memory_order_relaxed);
    if (k)
        return k;
    struct stat st;
    if (obj->shared_fd >= 0 && fstat(obj->shared_fd, &st) == 0)
        k = ((uint64_t)st.st_dev << 40) ^ (uint64_t)st.st_ino;
    else
        k = (uint64_t)(uintptr_t)obj;
    k |= 1; /* never 0 */
    atomic_store_explicit(&obj->order_key, k, memory_order_relaxed);
    return k;
}

static void unlock_words(unsigned n, const unsigned *order, struct wi_waitable **w)
{
    for (unsigned k = n; k-- > 0;) {
        atomic_fetch_and(&w[order[k]]->word, ~WI_WORD_LOCK);
        wi_waitable_wake(w[order[k]]);
    }
}

/* Wait-all, atomic: either every object is acquired or none is touched.
 * Consumable objects' words are locked (WI_WORD_LOCK) in the global order,
 * then all objects are checked and, if all are signaled, all consumed,
 * before the locks are released. A lock held by another wait-all makes us
 * release ours and sleep until it changes (no deadlock, no spinning). */
static DWORD wait_all(unsigned count, struct wi_object **objs, struct wi_waitable **w, DWORD ms, bool alertable)
{
    _Atomic uint32_t *words[MAXIMUM_WAIT_OBJECTS + 1];
    uint32_t vals[MAXIMUM_WAIT_OBJECTS + 1];
    uint32_t cookies[MAXIMUM_WAIT_OBJECTS]; /* only the first `count` are used */
    unsigned order[MAXIMUM_WAIT_OBJECTS], nlock = 0;
    memset(cookies, 0, count * sizeof cookies[0]);
    struct timespec ts, *deadline = ms == 0 || ms == INFINITE ? NULL : wi_deadline(ms, &ts), sleep_until;

    for (unsigned i = 0; i < count; i++) {
        words[i] = &w[i]->word;
        if (!objs[i]->ops->consumable)
            continue;
        /* Insertion sort by key: at most 64 entries. */
        unsigned k = nlock++;
        while (k > 0 && order_key(objs[order[k - 1]]) > order_key(objs[i])) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
    unsigned nwords = add_apc_word(alertable, count, words, w);

    for (bool first = true;; first = false) {
        unsigned held = 0;
        int busy = -1;
        for (; held < nlock; held++) {
            unsigned i = order[held];
            /* Lock bit and holder tid in one 64-bit compare-and-swap. */
            uint64_t pair = atomic_load(&w[i]->lock_pair), mine = (uint64_t)wi_thread_self_tid() << 32;
            while (!((uint32_t)pair & WI_WORD_LOCK) &&
                   !atomic_compare_exchange_weak(&w[i]->lock_pair, &pair, mine | (uint32_t)pair | WI_WORD_LOCK))
                ;
            uint32_t v = (uint32_t)pair;
            if (v & WI_WORD_LOCK) {
                busy = (int)i;
                vals[i] = v;
                break;
            }
            vals[i] = v; /* the unlocked value: what the word returns to */
        }
        if (busy < 0) {
            for (unsigned i = 0; i < nwords; i++)
                if (i >= count || !objs[i]->ops->consumable)
                    vals[i] = atomic_load(words[i]);
            bool all = true;
            for (unsigned i = 0; i < count && all; i++) {
                unsigned mode = WI_SATISFY_CHECK | (objs[i]->ops->consumable ? WI_SATISFY_LOCKED : 0);
                all = objs[i]->ops->try_satisfy(objs[i], &cookies[i], mode) != WAIT_TIMEOUT;
            }
            if (all) {
                bool abandoned = false;
                for (unsigned i = 0; i < count; i++) {
                    unsigned mode = objs[i]->ops->consumable ? WI_SATISFY_LOCKED : 0;
                    if (objs[i]->ops->try_satisfy(objs[i], &cookies[i], mode) == WAIT_ABANDONED_0)
                        abandoned = true;
                }
                unlock_words(nlock, order, w);
                /* A wait-all that took an abandoned mutex reports
                 * WAIT_ABANDONED_0 itself, whatever the mutex's index (the
                 * kernel's STATUS_ABANDONED; Wine behaves the same). */
                return abandoned ? WAIT_ABANDONED_0 : WAIT_OBJECT_0;
            }
        }
        /* Not all signaled (or a word was busy): release, then sleep until
         * any of the words changes. Every value recorded above is the one
         * the word holds once our locks are gone, so a change made after it
         * was read ends the sleep at once. */
        unlock_words(held, order, w);
        if (alertable && wi_thread_run_apcs())
            return WAIT_IO_COMPLETION;
        /* After the words were recorded (see wait_any). */
        DWORD cap = prepare_all(count, objs, w);
        if (first)
            continue; /* the owners' death watches are armed: check again */
        if (ms == 0) {
            if (busy < 0)
                return WAIT_TIMEOUT;
            sched_yield(); /* another wait-all holds a lock for a few instructions */
            continue;
        }
        bool capped = capped_deadline(deadline, cap, &sleep_until);
        int wr;
        for (unsigned i = 0; i < nwords; i++)
            atomic_fetch_add(&w[i]->waiters, 1);
        if (busy >= 0)
            wr = wi_futex_waitv(&words[busy], &vals[busy], 1, (deadline || capped) ? &sleep_until : NULL);
        else
            wr = wi_futex_waitv(words, vals, nwords, (deadline || capped) ? &sleep_until : NULL);
        for (unsigned i = 0; i < nwords; i++)
            atomic_fetch_sub(&w[i]->waiters, 1);
        if (wr == -ETIMEDOUT && !capped) {
            ms = 0; /* one last look, without sleeping */
            deadline = NULL;
        }
    }
}

DWORD wi_wait_objects(unsigned count, struct wi_object **objs, bool wait_all_flag, DWORD ms, bool alertable,
                      DWORD *err)
{
    struct wi_waitable *w[MAXIMUM_WAIT_OBJECTS + 1];

    *err = ERROR_SUCCESS;
    for (unsigned i = 0; i < count; i++) {
        w[i] = objs[i]->ops->waitable(objs[i]);
        if (!w[i]) {
            /* Windows: waiting on a file mapping or other non-waitable
             * object fails with ERROR_INVALID_HANDLE. */
            *err = ERROR_INVALID_HANDLE;
            return WAIT_FAILED;
        }
    }
    if (wait_all_flag && count > 1)
        return wait_all(count, objs, w, ms, alertable);
    return wait_any(count, objs, w, ms, alertable);
}

/* --- Win32 entry points ---------------------------------------------------- */

/* Pin the handles (SYNCHRONIZE needed on each) and check Windows' argument
 * rules. On success the caller must wi_handle_put every pin. */
static DWORD pin_handles(DWORD count, const HANDLE *handles, BOOL wait_all, struct wi_pin *pins,
                         struct wi_object **objs, unsigned *got)
{
    DWORD err = ERROR_SUCCESS;
    *got = 0;
    if (count == 0 || count > MAXIMUM_WAIT_OBJECTS)
        return ERROR_INVALID_PARAMETER;
    if (!handles)
        return ERROR_NOACCESS;
    for (; *got < count; (*got)++) {
        err = wi_handle_get(handles[*got], WI_TYPE_NONE, SYNCHRONIZE, &pins[*got]);
        if (err)
            return err;
        objs[*got] = pins[*got].obj;
    }
    /* The same object twice in a wait-all: ERROR_INVALID_PARAMETER. */
    if (wait_all && count > 1)
        for (unsigned i = 0; i < count; i++)
            for (unsigned j = i + 1; j < count; j++)
                if (objs[i] == objs[j])
                    return ERROR_INVALID_PARAMETER;
    return ERROR_SUCCESS;
}

static DWORD wait_handles(DWORD count, const HANDLE *handles, BOOL wait_all, DWORD ms, BOOL alertable)
{
    struct wi_pin pins[MAXIMUM_WAIT_OBJECTS];
    struct wi_object *objs[MAXIMUM_WAIT_OBJECTS];
    unsigned got;
    DWORD err = pin_handles(count, handles, wait_all, pins, objs, &got), r;
    r = err ? WAIT_FAILED : wi_wait_objects(count, objs, wait_all, ms, alertable, &err);
    for (unsigned i = 0; i < got; i++)
        wi_handle_put(&pins[i]);
    if (r == WAIT_FAILED)
        wi_set_last_error(err);
    return r;
}

WINBASEAPI DWORD WINAPI WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds)
{
    /* The signaled fast path, without the generic wait's set-up: one pin,
     * one try, one unpin, no system call. */
    struct wi_pin pin;
    if (wi_handle_get(hHandle, WI_TYPE_NONE, SYNCHRONIZE, &pin) == ERROR_SUCCESS) {
        uint32_t cookie = 0;
        DWORD r = pin.obj->ops->waitable(pin.obj) ? pin.obj->ops->try_satisfy(pin.obj, &cookie, 0) : WAIT_FAILED;
        wi_handle_put(&pin);
        if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED_0)
            return r;
    }
    return wait_handles(1, &hHandle, FALSE, dwMilliseconds, FALSE);
}

WINBASEAPI DWORD WINAPI WaitForSingleObjectEx(HANDLE hHandle, DWORD dwMilliseconds, BOOL bAlertable)
{
    return wait_handles(1, &hHandle, FALSE, dwMilliseconds, bAlertable);
}

WINBASEAPI DWORD WINAPI WaitForMultipleObjects(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll,
                                               DWORD dwMilliseconds)
{
    return wait_handles(nCount, lpHandles, bWaitAll, dwMilliseconds, FALSE);
}

WINBASEAPI DWORD WINAPI WaitForMultipleObjectsEx(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll,
                                                 DWORD dwMilliseconds, BOOL bAlertable)
{
    return wait_handles(nCount, lpHandles, bWaitAll, dwMilliseconds, bAlertable);
}

/* Signal one object, then wait on another. Every state change made in
 * reaction to the signal is seen by the wait (states persist until consumed);
 * the one exception is a PulseEvent of the waited event issued before this
 * thread is registered as a waiter, which Windows documents as unreliable
 * for the same reason. */
WINBASEAPI DWORD WINAPI SignalObjectAndWait(HANDLE hObjectToSignal, HANDLE hObjectToWaitOn, DWORD dwMilliseconds,
                                            BOOL bAlertable)
{
    struct wi_pin sig, wait;
    DWORD err = wi_handle_get(hObjectToSignal, WI_TYPE_NONE, 0, &sig), r = WAIT_FAILED;
    if (err) {
        wi_set_last_error(err);
        return WAIT_FAILED;
    }
    err = wi_handle_get(hObjectToWaitOn, WI_TYPE_NONE, SYNCHRONIZE, &wait);
    if (!err) {
        err = sig.obj->ops->signal(sig.obj, sig.access);
        if (!err)
            r = wi_wait_objects(1, &wait.obj, false, dwMilliseconds, bAlertable, &err);
        wi_handle_put(&wait);
    }
    wi_handle_put(&sig);
    if (r == WAIT_FAILED)
        wi_set_last_error(err);
    return r;
}

WINBASEAPI DWORD WINAPI SleepEx(DWORD dwMilliseconds, BOOL bAlertable)
{
    struct timespec ts, *deadline = wi_deadline(dwMilliseconds, &ts);
    struct wi_waitable *apc = bAlertable ? wi_thread_apc_waitable() : NULL;
    _Atomic uint32_t never = 0, *word = apc ? &apc->word : &never;
    for (;;) {
        uint32_t v = atomic_load(word);
        if (apc && wi_thread_run_apcs())
            return WAIT_IO_COMPLETION;
        if (dwMilliseconds == 0) {
            sched_yield();
            return 0;
        }
        if (apc)
            atomic_fetch_add(&apc->waiters, 1);
        int r = wi_futex_wait(word, v, deadline);
        if (apc)
            atomic_fetch_sub(&apc->waiters, 1);
        if (r == ETIMEDOUT)
            return 0;
        /* Woken by an APC, interrupted, or spurious: look again; the
         * absolute deadline keeps the total sleep exact. */
    }
}

WINBASEAPI void WINAPI Sleep(DWORD dwMilliseconds)
{
    SleepEx(dwMilliseconds, FALSE);
}
