/* SPDX-License-Identifier: MIT */
/* Timer queues: CreateTimerQueue, CreateTimerQueueTimer,
 * ChangeTimerQueueTimer, DeleteTimerQueueTimer, DeleteTimerQueue(Ex).
 *
 * Process-local objects, as on Windows, where their HANDLEs are pointers and
 * never kernel handles (CloseHandle on them is wrong there and fails here
 * with ERROR_INVALID_HANDLE). Queue and timer records come from slabs that
 * are never returned to the system, and each carries a magic: a stale or
 * foreign HANDLE is recognised (ERROR_INVALID_HANDLE for a queue,
 * ERROR_INVALID_PARAMETER for a timer) without touching freed memory.
 *
 * Threads:
 *   - one timer thread per queue (the default queue's is made on first use):
 *     it sleeps on the queue's futex word until the earliest due time of its
 *     deadline-ordered list, then dispatches every due timer. It sleeps
 *     alertably (its APC word is part of the wait), so APCs queued to it by
 *     WT_EXECUTEINTIMERTHREAD callbacks run between timers.
 *   - WT_EXECUTEDEFAULT (and WT_EXECUTEINIOTHREAD, which Windows no longer
 *     distinguishes since Vista): a process-wide pool of worker threads. A
 *     pool rather than a thread per callback because a periodic timer
 *     dispatches every period and creating a thread each time would cost
 *     more than most callbacks; it grows on demand, because Windows calls a
 *     periodic callback again when its period elapses "whether or not the
 *     previous callback has finished executing" (so one busy callback must
 *     never hold up the next), up to 500 threads as Windows' default
 *     (WT_SET_MAX_THREADPOOL_THREADS raises it); a worker idle for
 *     WORKER_IDLE_MS ends.
 *   - WT_EXECUTEINPERSISTENTTHREAD: Windows queues the callback "to a thread
 *     that never terminates", for callbacks that issue APC-based requests
 *     (ReadFileEx, SetWaitableTimer with a completion routine) whose APCs
 *     must still find their thread later. Here that is one lazily started
 *     thread that never ends and waits alertably between callbacks; its
 *     callbacks run one at a time ("short tasks only", as Windows says).
 *
 * All queue, timer and pool state is guarded by one process-wide mutex,
 * `lock`: every operation is a few list updates, callbacks run without it,
 * and one lock keeps deletion (which touches the queue, the timer, the
 * worker FIFOs and the waiting deleters at once) simple to get right.
 * Deleters waiting for callbacks sleep on `settled`, broadcast whenever a
 * callback finishes or a record is freed. */
#include "error.h"
#include "wait.h"
#include "futex.h"
#include "thread.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAGIC 0x51524d54u   /* live queue */
#define TIMER_MAGIC 0x52544d54u   /* live timer */
#define DELETED_MAGIC 0x44454144u /* deletion under way: no further calls */

#define WORKER_IDLE_MS 30000
#define DEFAULT_MAX_WORKERS 500u
#define SLAB_ENTRIES 64

/* Flags this implementation knows (the high 16 bits carry
 * WT_SET_MAX_THREADPOOL_THREADS' limit). */
#define KNOWN_FLAGS                                                                                                    \
    (WT_EXECUTEINIOTHREAD | WT_EXECUTEONLYONCE | WT_EXECUTELONGFUNCTION | WT_EXECUTEINTIMERTHREAD |                    \
     WT_EXECUTEINPERSISTENTIOTHREAD | WT_EXECUTEINPERSISTENTTHREAD | WT_TRANSFER_IMPERSONATION)

enum runner { RUN_POOL, RUN_PERSISTENT, RUN_TIMER_THREAD };

struct tq_queue;

struct tq_timer {
    uint32_t magic;
    struct tq_queue *q;
    WAITORTIMERCALLBACK cb;
    PVOID param;
    enum runner runner;
    bool once;          /* WT_EXECUTEONLYONCE: the period is ignored */
    int64_t due;        /* CLOCK_MONOTONIC ns */
    uint32_t period;    /* ms, 0 = one-shot */
    bool armed;         /* in q->head's list */
    bool expired;       /* a one-shot that fired: ChangeTimerQueueTimer leaves it */
    bool deleted;       /* DeleteTimerQueueTimer/Ex was called */
    bool waited;        /* a blocking deleter frees it itself */
    bool in_ready;      /* in a worker FIFO */
    unsigned running;   /* callbacks executing now */
    unsigned pending;   /* dispatched to a worker, not started yet */
    HANDLE done_event;  /* signaled when freed */
    struct tq_timer *next;        /* deadline list, or the free list */
    struct tq_timer *ready_next;  /* worker FIFO */
    struct tq_timer *member_next; /* q->members */
};

struct tq_queue {
    uint32_t magic;
    bool deleting;          /* the timer thread is to end */
    bool thread_done;       /* ... and has */
    bool waited;            /* a blocking DeleteTimerQueueEx frees it itself */
    bool finished;          /* deleted, thread gone, every timer freed */
    unsigned ntimers;       /* timers not freed yet */
    struct tq_timer *head;  /* armed timers by due time */
    struct tq_timer *members;
    _Atomic uint32_t wake;  /* the timer thread's futex word */
    HANDLE done_event;
    struct tq_queue *next;  /* the free list */
};

struct slab {
    struct slab *next;
    unsigned char *base;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t settled = PTHREAD_COND_INITIALIZER;
static pthread_cond_t work;    /* idle pool workers (CLOCK_MONOTONIC) */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static struct slab *timer_slabs, *queue_slabs;
static struct tq_timer *free_timers;
static struct tq_queue *free_queues;
static struct tq_queue *default_queue;

/* Worker FIFOs and the pool. */
static struct tq_timer *ready_head, *ready_tail;   /* pool workers */
static struct tq_timer *pready_head, *pready_tail; /* the persistent thread */
static unsigned nworkers, nidle, wakeups, max_workers = DEFAULT_MAX_WORKERS;
static bool persistent_started;
static _Atomic uint32_t persistent_wake;

static int64_t after_ms(int64_t now, uint32_t ms)
{
    return now + (int64_t)ms * 1000000LL;
}

/* --- Records --------------------------------------------------------------------- */

static void *slab_take(struct slab **slabs, size_t size)
{
    struct slab *s = malloc(sizeof *s);
    unsigned char *base = calloc(SLAB_ENTRIES, size);
    if (!s || !base) {
        free(s);
        free(base);
        return NULL;
    }
    s->base = base;
    s->next = *slabs;
    *slabs = s;
    return base;
}

static bool slab_holds(const struct slab *s, const void *p, size_t size)
{
    for (; s; s = s->next) {
        const unsigned char *c = p;
        if (c >= s->base && c < s->base + SLAB_ENTRIES * size)
            return (size_t)(c - s->base) % size == 0;
    }
    return false;
}

static struct tq_timer *timer_alloc(void)
{
    if (!free_timers) {
        struct tq_timer *a = slab_take(&timer_slabs, sizeof *a);
        if (!a)
            return NULL;
        for (unsigned i = 0; i < SLAB_ENTRIES; i++) {
            a[i].next = free_timers;
            free_timers = &a[i];
        }
    }
    struct tq_timer *t = free_timers;
    free_timers = t->next;
    memset(t, 0, sizeof *t);
    return t;
}

static struct tq_queue *queue_alloc(void)
{
    if (!free_queues) {
        struct tq_queue *a = slab_take(&queue_slabs, sizeof *a);
        if (!a)
            return NULL;
        for (unsigned i = 0; i < SLAB_ENTRIES; i++) {
            a[i].next = free_queues;
            free_queues = &a[i];
        }
    }
    struct tq_queue *q = free_queues;
    free_queues = q->next;
    memset(q, 0, sizeof *q);
    return q;
}

static struct tq_timer *timer_from_handle(HANDLE h)
{
    struct tq_timer *t = h;
    return h && slab_holds(timer_slabs, h, sizeof *t) && t->magic == TIMER_MAGIC ? t : NULL;
}

static struct tq_queue *queue_from_handle(HANDLE h)
{
    struct tq_queue *q = h;
    return h && slab_holds(queue_slabs, h, sizeof *q) && q->magic == QUEUE_MAGIC ? q : NULL;
}

/* --- Deadline list ------------------------------------------------------------- */

static void wake_timer_thread(struct tq_queue *q)
{
    atomic_fetch_add(&q->wake, 1);
    wi_futex_wake(&q->wake, 1);
}

static void disarm(struct tq_timer *t)
{
    if (!t->armed)
        return;
    struct tq_timer **p = &t->q->head;
    while (*p != t)
        p = &(*p)->next;
    *p = t->next;
    t->armed = false;
}

static void arm(struct tq_timer *t)
{
    struct tq_timer **p = &t->q->head;
    while (*p && (*p)->due <= t->due)
        p = &(*p)->next;
    t->next = *p;
    *p = t;
    t->armed = true;
}

/* arm() from an API call: the timer thread may be asleep until a later time. */
static void arm_and_tell(struct tq_timer *t)
{
    arm(t);
    if (t->q->head == t)
        wake_timer_thread(t->q);
}

/* --- Freeing ------------------------------------------------------------------- */

static void queue_free(struct tq_queue *q)
{
    q->magic = 0;
    q->next = free_queues;
    free_queues = q;
}

/* A deleted queue whose thread has ended and whose timers are all freed is
 * done: signal its event; free it unless a blocking deleter will. */
static void queue_settle(struct tq_queue *q)
{
    if (!q->deleting || !q->thread_done || q->ntimers || q->finished)
        return;
    q->finished = true;
    if (q->done_event)
        SetEvent(q->done_event);
    if (!q->waited)
        queue_free(q);
    pthread_cond_broadcast(&settled);
}

static void timer_free(struct tq_timer *t)
{
    struct tq_queue *q = t->q;
    struct tq_timer **p = &q->members;
    while (*p != t)
        p = &(*p)->member_next;
    *p = t->member_next;
    q->ntimers--;
    if (t->done_event)
        SetEvent(t->done_event);
    t->magic = 0;
    t->next = free_timers;
    free_timers = t;
    queue_settle(q);
}

/* After a callback of `t` ended or `t` was deleted: free a deleted timer
 * with no callback left, unless a blocking deleter waits for it. */
static void timer_settle(struct tq_timer *t)
{
    if (t->deleted && !t->running && !t->pending && !t->waited)
        timer_free(t);
    pthread_cond_broadcast(&settled);
}

/* --- Running callbacks ------------------------------------------------------------ */

/* With `lock` held and t->running already counted; returns with it held. */
static void run_callback(struct tq_timer *t)
{
    WAITORTIMERCALLBACK cb = t->cb;
    PVOID param = t->param;
    pthread_mutex_unlock(&lock);
    cb(param, TRUE); /* TimerOrWaitFired is always TRUE for a timer */
    pthread_mutex_lock(&lock);
    t->running--;
    timer_settle(t);
}

/* Take the next dispatch from a FIFO. */
static struct tq_timer *fifo_pop(struct tq_timer **head, struct tq_timer **tail)
{
    struct tq_timer *t = *head;
    if (!t)
        return NULL;
    t->pending--;
    t->running++;
    if (!t->pending) {
        *head = t->ready_next;
        if (!*head)
            *tail = NULL;
        t->in_ready = false;
    }
    return t;
}

static void fifo_push(struct tq_timer *t, struct tq_timer **head, struct tq_timer **tail)
{
    t->pending++;
    if (t->in_ready)
        return;
    t->in_ready = true;
    t->ready_next = NULL;
    if (*tail)
        (*tail)->ready_next = t;
    else
        *head = t;
    *tail = t;
}

/* Our threads never take the program's signals (Windows' pool threads run
 * no signal handlers either). */
static bool start_thread(void *(*fn)(void *), void *arg)
{
    pthread_t th;
    pthread_attr_t attr;
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&th, &attr, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return r == 0;
}

static void *pool_worker(void *unused)
{
    pthread_mutex_lock(&lock);
    for (;;) {
        struct tq_timer *t = fifo_pop(&ready_head, &ready_tail);
        if (t) {
            run_callback(t);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += WORKER_IDLE_MS / 1000;
        nidle++;
        int r = 0;
        while (!wakeups && r != ETIMEDOUT)
            r = pthread_cond_timedwait(&work, &lock, &until);
        if (wakeups) {
            wakeups--; /* the dispatcher counted us out of nidle */
            continue;
        }
        nidle--;
        if (!ready_head)
            break;
    }
    nworkers--;
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* Run this thread's queued APCs (a callback may have queued some to its
 * own thread); if there were none, sleep until `word` moves from `val`, an
 * APC arrives (the APC word moves from `apc_val`, read before the run), or
 * the monotonic `deadline` (ns, < 0 for none) passes, and run them then. */
static void alertable_sleep(_Atomic uint32_t *word, uint32_t val, struct wi_waitable *apc, uint32_t apc_val,
                            int64_t deadline)
{
    if (wi_thread_run_apcs())
        return;
    _Atomic uint32_t *words[2] = {word, apc ? &apc->word : NULL};
    uint32_t vals[2] = {val, apc_val};
    struct timespec ts;
    if (deadline >= 0) {
        ts.tv_sec = (time_t)(deadline / 1000000000LL);
        ts.tv_nsec = (long)(deadline % 1000000000LL);
    }
    if (apc)
        atomic_fetch_add(&apc->waiters, 1);
    wi_futex_waitv(words, vals, apc ? 2 : 1, deadline >= 0 ? &ts : NULL);
    if (apc)
        atomic_fetch_sub(&apc->waiters, 1);
    wi_thread_run_apcs();
}

static void *persistent_thread(void *unused)
{
    struct wi_waitable *apc = wi_thread_apc_waitable();
    pthread_mutex_lock(&lock);
    for (;;) {
        struct tq_timer *t = fifo_pop(&pready_head, &pready_tail);
        if (t) {
            run_callback(t);
            continue;
        }
        uint32_t v = atomic_load(&persistent_wake), av = apc ? atomic_load(&apc->word) : 0;
        pthread_mutex_unlock(&lock);
        alertable_sleep(&persistent_wake, v, apc, av, -1);
        pthread_mutex_lock(&lock);
    }
    return NULL;
}

/* Hand one call of `t` to its thread. Returns false when no thread could
 * take it (none could be started): the caller runs it itself. */
static bool dispatch(struct tq_timer *t)
{
    if (t->runner == RUN_PERSISTENT) {
        if (!persistent_started)
            persistent_started = start_thread(persistent_thread, NULL);
        if (!persistent_started)
            return false;
        fifo_push(t, &pready_head, &pready_tail);
        atomic_fetch_add(&persistent_wake, 1);
        wi_futex_wake(&persistent_wake, 1);
        return true;
    }
    if (nidle) {
        nidle--;
        wakeups++;
        pthread_cond_signal(&work);
    } else if (nworkers < max_workers && start_thread(pool_worker, NULL)) {
        nworkers++;
    } else if (!nworkers) {
        return false; /* no worker exists and none can start */
    }
    /* (Otherwise every worker is busy and the limit is reached: the call
     * waits for the first one free.) */
    fifo_push(t, &ready_head, &ready_tail);
    return true;
}

static void *timer_thread(void *arg)
{
    struct tq_queue *q = arg;
    struct wi_waitable *apc = wi_thread_apc_waitable();
    pthread_mutex_lock(&lock);
    while (!q->deleting) {
        int64_t now = (int64_t)wi_monotonic_ns();
        struct tq_timer *t = q->head;
        if (t && t->due <= now) {
            q->head = t->next;
            t->armed = false;
            if (t->period) {
                /* Next boundary after now: a late thread fires once, not in
                 * a burst of the periods it missed. */
                int64_t period = (int64_t)t->period * 1000000LL;
                t->due += ((now - t->due) / period + 1) * period;
                arm(t);
            } else {
                t->expired = true;
            }
            if (t->runner != RUN_TIMER_THREAD && dispatch(t))
                continue;
            t->running++;
            run_callback(t);
            continue;
        }
        int64_t deadline = t ? t->due : -1;
        uint32_t v = atomic_load(&q->wake), av = apc ? atomic_load(&apc->word) : 0;
        pthread_mutex_unlock(&lock);
        alertable_sleep(&q->wake, v, apc, av, deadline);
        pthread_mutex_lock(&lock);
    }
    q->thread_done = true;
    queue_settle(q);
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* --- fork() ------------------------------------------------------------------- */

/* The child has none of our threads: every queue and timer of the parent is
 * dead there (its HANDLEs fail as invalid); new ones work. */
static void before_fork(void)
{
    pthread_mutex_lock(&lock);
}

static void after_fork_parent(void)
{
    pthread_mutex_unlock(&lock);
}

static void after_fork_child(void)
{
    pthread_condattr_t attr;
    for (struct slab *s = timer_slabs; s; s = s->next)
        for (unsigned i = 0; i < SLAB_ENTRIES; i++)
            ((struct tq_timer *)s->base)[i].magic = 0;
    for (struct slab *s = queue_slabs; s; s = s->next)
        for (unsigned i = 0; i < SLAB_ENTRIES; i++)
            ((struct tq_queue *)s->base)[i].magic = 0;
    default_queue = NULL;
    ready_head = ready_tail = pready_head = pready_tail = NULL;
    nworkers = nidle = wakeups = 0;
    persistent_started = false;
    pthread_mutex_init(&lock, NULL);
    pthread_cond_init(&settled, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&work, &attr);
    pthread_condattr_destroy(&attr);
}

static void init(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&work, &attr);
    pthread_condattr_destroy(&attr);
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* --- Win32 entry points ---------------------------------------------------------- */

/* With `lock` held. */
static DWORD queue_new(struct tq_queue **out)
{
    struct tq_queue *q = queue_alloc();
    if (!q)
        return ERROR_NOT_ENOUGH_MEMORY;
    q->magic = QUEUE_MAGIC;
    if (!start_thread(timer_thread, q)) {
        queue_free(q);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    *out = q;
    return ERROR_SUCCESS;
}

WINBASEAPI HANDLE WINAPI CreateTimerQueue(void)
{
    struct tq_queue *q = NULL;
    pthread_once(&init_once, init);
    pthread_mutex_lock(&lock);
    DWORD err = queue_new(&q);
    pthread_mutex_unlock(&lock);
    return err ? wi_fail_null(err) : (HANDLE)q;
}

WINBASEAPI BOOL WINAPI CreateTimerQueueTimer(PHANDLE phNewTimer, HANDLE TimerQueue, WAITORTIMERCALLBACK Callback,
                                             PVOID Parameter, DWORD DueTime, DWORD Period, ULONG Flags)
{
    struct tq_queue *q;
    struct tq_timer *t;
    DWORD err = ERROR_SUCCESS;

    if (!phNewTimer || !Callback || (Flags & 0xFFFFu & ~(ULONG)KNOWN_FLAGS))
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    pthread_once(&init_once, init);
    pthread_mutex_lock(&lock);
    if (TimerQueue) {
        q = queue_from_handle(TimerQueue);
        if (!q)
            err = ERROR_INVALID_HANDLE;
    } else {
        if (!default_queue)
            err = queue_new(&default_queue);
        q = default_queue;
    }
    t = err ? NULL : timer_alloc();
    if (!err && !t)
        err = ERROR_NOT_ENOUGH_MEMORY;
    if (err) {
        pthread_mutex_unlock(&lock);
        return wi_fail_bool(err);
    }
    if (Flags >> 16 > max_workers)
        max_workers = Flags >> 16; /* WT_SET_MAX_THREADPOOL_THREADS raises the limit */
    t->magic = TIMER_MAGIC;
    t->q = q;
    t->cb = Callback;
    t->param = Parameter;
    t->once = Flags & WT_EXECUTEONLYONCE;
    t->runner = Flags & WT_EXECUTEINTIMERTHREAD ? RUN_TIMER_THREAD
                : Flags & (WT_EXECUTEINPERSISTENTTHREAD | WT_EXECUTEINPERSISTENTIOTHREAD) ? RUN_PERSISTENT
                                                                                       : RUN_POOL;
    t->period = t->once ? 0 : Period;
    t->due = after_ms((int64_t)wi_monotonic_ns(), DueTime);
    t->member_next = q->members;
    q->members = t;
    q->ntimers++;
    *phNewTimer = t; /* before it can fire: a callback may use its own handle */
    arm_and_tell(t);
    pthread_mutex_unlock(&lock);
    return TRUE;
}

/* The TimerQueue argument of the timer functions is not checked against the
 * timer's queue: Windows accepts NULL for a timer of another queue and the
 * other way round (the timer knows its queue). */
WINBASEAPI BOOL WINAPI ChangeTimerQueueTimer(HANDLE TimerQueue, HANDLE Timer, ULONG DueTime, ULONG Period)
{
    pthread_mutex_lock(&lock);
    struct tq_timer *t = timer_from_handle(Timer);
    if (!t) {
        pthread_mutex_unlock(&lock);
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    }
    /* Windows: a one-shot timer that already expired is not updated (and
     * the call still succeeds). */
    if (!t->expired) {
        disarm(t);
        t->due = after_ms((int64_t)wi_monotonic_ns(), DueTime);
        t->period = t->once ? 0 : Period;
        arm_and_tell(t);
    }
    pthread_mutex_unlock(&lock);
    return TRUE;
}

/* Delete `t` (lock held): no further firing; dispatches already handed to a
 * worker still run, as on Windows. */
static void tq_timer_delete(struct tq_timer *t)
{
    t->magic = DELETED_MAGIC;
    t->deleted = true;
    disarm(t);
}

/* CompletionEvent: NULL = return at once (ERROR_IO_PENDING when a callback
 * is still running or about to); INVALID_HANDLE_VALUE = wait for them (from
 * the timer's own callback that waits for itself forever, as on Windows);
 * an event = as NULL, and the event is signaled once they are done. */
WINBASEAPI BOOL WINAPI DeleteTimerQueueTimer(HANDLE TimerQueue, HANDLE Timer, HANDLE CompletionEvent)
{
    pthread_mutex_lock(&lock);
    struct tq_timer *t = timer_from_handle(Timer);
    if (!t) {
        pthread_mutex_unlock(&lock);
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    }
    tq_timer_delete(t);
    if (CompletionEvent == INVALID_HANDLE_VALUE) {
        t->waited = true;
        while (t->running || t->pending)
            pthread_cond_wait(&settled, &lock);
        t->waited = false;
        timer_free(t);
        pthread_mutex_unlock(&lock);
        return TRUE;
    }
    bool busy = t->running || t->pending;
    if (busy)
        t->done_event = CompletionEvent;
    else if (CompletionEvent)
        SetEvent(CompletionEvent);
    if (!busy)
        timer_free(t);
    pthread_mutex_unlock(&lock);
    return busy ? wi_fail_bool(ERROR_IO_PENDING) : TRUE;
}

/* The same three CompletionEvent modes for the whole queue. Windows since
 * Vista returns TRUE in all three, also while callbacks still run. */
WINBASEAPI BOOL WINAPI DeleteTimerQueueEx(HANDLE TimerQueue, HANDLE CompletionEvent)
{
    pthread_mutex_lock(&lock);
    struct tq_queue *q = queue_from_handle(TimerQueue);
    if (!q) {
        /* NULL (the default queue) cannot be deleted: ERROR_INVALID_HANDLE. */
        pthread_mutex_unlock(&lock);
        return wi_fail_bool(ERROR_INVALID_HANDLE);
    }
    q->magic = DELETED_MAGIC;
    q->deleting = true;
    for (struct tq_timer *t = q->members, *next; t; t = next) {
        next = t->member_next;
        if (!t->deleted) {
            tq_timer_delete(t);
            timer_settle(t); /* frees it unless a callback is under way */
        }
    }
    wake_timer_thread(q);
    if (CompletionEvent == INVALID_HANDLE_VALUE) {
        q->waited = true;
        while (!q->finished)
            pthread_cond_wait(&settled, &lock);
        queue_free(q);
    } else {
        q->done_event = CompletionEvent;
        queue_settle(q);
    }
    pthread_mutex_unlock(&lock);
    return TRUE;
}

WINBASEAPI BOOL WINAPI DeleteTimerQueue(HANDLE TimerQueue)
{
    return DeleteTimerQueueEx(TimerQueue, NULL);
}
