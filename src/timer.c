/* SPDX-License-Identifier: MIT */
/* Waitable timers: manual-reset (notification) and synchronization timers,
 * named and unnamed, shared between processes, with no daemon.
 *
 * Who fires a timer. Nobody owns a timer's clock: the shared state records
 * when it is due, and whoever looks at it after that moment fires it —
 * try_satisfy and wait_prepare (any waiter, in any process) and the service
 * thread of a process that set a completion routine. Firing is one step under
 * the state lock: set the signaled bit and bump the sequence (so sleepers see
 * a change), then move `due` on by whole periods to the first boundary after
 * now (a periodic timer looked at late fires once, not in a burst), or
 * deactivate a one-shot timer. wait_prepare returns the time left until
 * `due`, rounded up to the millisecond, so every sleeper wakes in time to
 * fire it; nobody needs to be awake for a timer nobody waits on, except for
 * a completion routine (below).
 *
 * Shared state (struct timer_shared, in the object file or memfd):
 *   w.word      bit 0 signaled; bits 1..30 a sequence bumped by every firing
 *               and every SetWaitableTimer; bit 31 the wait-all lock, owned
 *               by wait.c (object.h). Changed only by compare-and-swap that
 *               keeps bit 31, so the word needs no other lock.
 *   manual      written once at creation.
 *   lock_abi    written once: the pthread_mutex_t layout `lock` has. A
 *               library built against another C library refuses the object
 *               (ERROR_INVALID_HANDLE) instead of misreading the lock.
 *   lock        a robust, process-shared mutex guarding every field below
 *               (a holder killed by SIGKILL hands the next locker
 *               EOWNERDEAD, see timer_lock). Held for a few instructions,
 *               never while waiting for anything else.
 *   active, clock, due_ns, arm_gen
 *               written under the lock, also read without it as a hint
 *               (hence atomics): "might be due" is confirmed under the lock.
 *   arm_gen     bumped by every Set and Cancel: it names one arming.
 *   period_ms, fire_count (firings of this arming), fire_ft (FILETIME of the
 *               last firing): only under the lock.
 * Dying between two lines: SetWaitableTimer clears `active` first and sets
 * it last, so a setter killed half-way leaves the timer cancelled; a firing
 * stores `due`/`active` before the signaled bit, so a firer killed half-way
 * loses that one signal, never fires twice.
 *
 * Completion routines. The thread that calls SetWaitableTimer with a routine
 * gets it as an APC each time the timer fires (it runs in that thread's next
 * alertable wait). For that the setting process needs something awake at the
 * due time even when nobody waits: a timerfd (armed at `due` on the timer's
 * clock) watched by the service thread. When it expires the service thread
 * fires the timer if due, and if the arming's fire_count moved queues one
 * APC (as Windows, at most one is pending per timer: a firing while one
 * waits does not queue another); a periodic timer then gets a fresh timerfd
 * for its next due time (service watches are one-shot). That per-process
 * record is a `struct completion`, process-local, guarded by cp_lock; APCs
 * name it by id, so an APC that outlives it (cancelled, re-set, closed, or
 * its thread gone) finds nothing and does nothing. */
#include "error.h"
#include "handle.h"
#include "kernel_object.h"
#include "object.h"
#include "owner_watch.h"
#include "security.h"
#include "service.h"
#include "thread.h"
#include "unicode.h"
#include "wait.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { CLOCK_KIND_MONO = 0, CLOCK_KIND_REAL = 1 };

struct timer_shared {
    struct wi_shared_header hdr;
    struct wi_waitable w;
    uint32_t manual;
    uint32_t lock_abi;
    pthread_mutex_t lock;
    _Atomic uint32_t active;
    _Atomic uint32_t clock; /* CLOCK_KIND_* */
    _Atomic int64_t due_ns; /* on `clock`; CLOCK_REALTIME counts from 1970 */
    _Atomic uint32_t arm_gen;
    uint32_t period_ms;
    uint32_t fire_count;
    uint32_t reserved;
    int64_t fire_ft;
};

/* Process-local part. */
struct timer {
    struct wi_object obj; /* must be first */
    struct completion *cp; /* the completion routine of our last Set; cp_lock */
};

#define SIGNALED 1u
#define SEQ_MASK 0x7FFFFFFEu
#define NS_PER_MS 1000000LL
#define NS_PER_SEC 1000000000LL
#define FILETIME_1970 116444736000000000LL /* 100-ns intervals from 1601 to 1970 */
/* Sleepers on a timer due on the wall clock look again at least this often,
 * so a change of the system time moves them as it moves the due time. */
#define REALTIME_RECHECK_MS 1000u

#ifdef __GLIBC__
#define LOCK_ABI ((uint32_t)sizeof(pthread_mutex_t) << 8 | 1u)
#else
#define LOCK_ABI ((uint32_t)sizeof(pthread_mutex_t) << 8 | 2u)
#endif

static struct timer_shared *ts(struct wi_object *obj)
{
    return WI_SHARED(obj, struct timer_shared);
}

static uint32_t bumped(uint32_t v, uint32_t signaled)
{
    return (v & WI_WORD_LOCK) | (((v & SEQ_MASK) + 2) & SEQ_MASK) | signaled;
}

static void word_update(struct timer_shared *t, uint32_t signaled)
{
    uint32_t v = atomic_load(&t->w.word);
    while (!atomic_compare_exchange_weak(&t->w.word, &v, bumped(v, signaled)))
        ;
}

static int64_t clock_ns(uint32_t kind)
{
    struct timespec now;
    clock_gettime(kind == CLOCK_KIND_REAL ? CLOCK_REALTIME : CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * NS_PER_SEC + now.tv_nsec;
}

static int64_t filetime_now(void)
{
    return clock_ns(CLOCK_KIND_REAL) / 100 + FILETIME_1970;
}

/* SetWaitableTimer's due time: negative = relative, in 100 ns, on the
 * monotonic clock; otherwise an absolute UTC FILETIME on the wall clock.
 * Values past what 64-bit nanoseconds hold mean "never". */
static void due_from_filetime(int64_t due, uint32_t *kind, int64_t *ns)
{
    if (due < 0) {
        int64_t now = clock_ns(CLOCK_KIND_MONO);
        uint64_t rel = (uint64_t)0 - (uint64_t)due;
        *kind = CLOCK_KIND_MONO;
        *ns = rel > (uint64_t)(INT64_MAX - now) / 100 ? INT64_MAX : now + (int64_t)rel * 100;
    } else {
        int64_t since_1970 = due - FILETIME_1970;
        *kind = CLOCK_KIND_REAL;
        *ns = since_1970 <= 0 ? 0 : since_1970 > INT64_MAX / 100 ? INT64_MAX : since_1970 * 100;
    }
}

static void timer_lock(struct timer_shared *t)
{
    if (pthread_mutex_lock(&t->lock) == EOWNERDEAD) {
        /* A process died holding the lock; the field order above keeps
         * every state it can leave behind a valid one. */
        pthread_mutex_consistent(&t->lock);
    }
}

static void timer_unlock(struct timer_shared *t)
{
    pthread_mutex_unlock(&t->lock);
}

/* Fire, with the lock held, a timer that is active and due at `now`. */
static void fire_locked(struct timer_shared *t, int64_t now)
{
    int64_t due = atomic_load(&t->due_ns);
    if (t->period_ms) {
        int64_t period = (int64_t)t->period_ms * NS_PER_MS;
        int64_t k = (now - due) / period + 1; /* whole periods to the next boundary after now */
        atomic_store(&t->due_ns, due > INT64_MAX - k * period ? INT64_MAX : due + k * period);
    } else {
        atomic_store(&t->active, 0);
    }
    t->fire_count++;
    t->fire_ft = filetime_now();
    word_update(t, SIGNALED);
}

/* Fire the timer if it is due. Costs two atomic loads and a vDSO clock read
 * when it is not. */
static void timer_check(struct timer_shared *t)
{
    if (!atomic_load(&t->active))
        return;
    if (clock_ns(atomic_load(&t->clock)) < atomic_load(&t->due_ns))
        return;
    bool fired = false;
    timer_lock(t);
    if (atomic_load(&t->active)) {
        int64_t now = clock_ns(atomic_load(&t->clock));
        if (now >= atomic_load(&t->due_ns)) {
            fire_locked(t, now);
            fired = true;
        }
    }
    timer_unlock(t);
    if (fired)
        wi_waitable_wake(&t->w);
}

/* A new arming: reset the signaled state (Windows does), wake sleepers so
 * they recompute how long they may sleep. Returns the arming's generation. */
static uint32_t timer_arm(struct timer_shared *t, uint32_t kind, int64_t due, uint32_t period)
{
    timer_lock(t);
    atomic_store(&t->active, 0);
    atomic_store(&t->clock, kind);
    atomic_store(&t->due_ns, due);
    t->period_ms = period;
    t->fire_count = 0;
    uint32_t gen = atomic_fetch_add(&t->arm_gen, 1) + 1;
    atomic_store(&t->active, 1);
    word_update(t, 0);
    timer_unlock(t);
    wi_waitable_wake(&t->w);
    return gen;
}

/* Stop the timer if `gen` is still its arming (any arming when gen is 0).
 * The signaled state stays as it is (CancelWaitableTimer's rule). */
static void timer_disarm(struct timer_shared *t, uint32_t gen)
{
    timer_lock(t);
    if (!gen || atomic_load(&t->arm_gen) == gen) {
        atomic_store(&t->active, 0);
        atomic_fetch_add(&t->arm_gen, 1);
    }
    timer_unlock(t);
}

/* --- Waits ---------------------------------------------------------------- */

static struct wi_waitable *timer_waitable(struct wi_object *obj)
{
    return &ts(obj)->w;
}

/* wait.c computes a sleeper's cap (wait_prepare) before it reads the words
 * it sleeps on; a SetWaitableTimer between the two would leave it asleep on
 * the old cap (forever, if the timer was inactive). So the cookie remembers
 * the arming this wait last saw, and a wait that finds another one changes
 * the word itself: its coming sleep returns at once and the next round's
 * wait_prepare sees the new due time. */
#define COOKIE_SET 0x80000000u

static void notice_rearm(struct timer_shared *t, uint32_t *cookie)
{
    uint32_t gen = (atomic_load(&t->arm_gen) & ~COOKIE_SET) | COOKIE_SET;
    if ((*cookie & COOKIE_SET) && *cookie != gen) {
        uint32_t v = atomic_load(&t->w.word);
        while (!atomic_compare_exchange_weak(&t->w.word, &v, bumped(v, v & SIGNALED)))
            ;
    }
    *cookie = gen;
}

static DWORD timer_try_satisfy(struct wi_object *obj, uint32_t *cookie, unsigned mode)
{
    struct timer_shared *t = ts(obj);
    timer_check(t);
    uint32_t v = atomic_load(&t->w.word);
    if (t->manual || (mode & WI_SATISFY_CHECK)) {
        if (v & SIGNALED)
            return WAIT_OBJECT_0;
    } else {
        /* Synchronization timer: a wait consumes the signal, with a CAS that
         * fails while another thread's wait-all holds the lock bit (unless
         * that thread is us). */
        while ((v & SIGNALED) && ((mode & WI_SATISFY_LOCKED) || !(v & WI_WORD_LOCK)))
            if (atomic_compare_exchange_weak(&t->w.word, &v, v & ~SIGNALED))
                return WAIT_OBJECT_0;
    }
    notice_rearm(t, cookie);
    return WAIT_TIMEOUT;
}

static DWORD timer_wait_prepare(struct wi_object *obj)
{
    struct timer_shared *t = ts(obj);
    timer_check(t);
    if (!atomic_load(&t->active))
        return INFINITE;
    uint32_t kind = atomic_load(&t->clock);
    int64_t left = atomic_load(&t->due_ns) - clock_ns(kind);
    if (left <= 0)
        return 0;
    uint64_t ms = ((uint64_t)left + NS_PER_MS - 1) / NS_PER_MS;
    DWORD cap = kind == CLOCK_KIND_REAL ? REALTIME_RECHECK_MS : INFINITE - 1;
    return ms < cap ? (DWORD)ms : cap;
}

/* --- Completion routines ---------------------------------------------------- */

struct completion {
    struct completion *next, *prev; /* `pending` list while listed */
    ULONG_PTR id;                   /* what the APC carries */
    struct timer *owner;            /* NULL once dropped */
    struct wi_object *thread;       /* the thread that set the timer (a reference) */
    PTIMERAPCROUTINE fn;
    void *arg;
    uint32_t arm_gen; /* the arming it belongs to */
    uint32_t seen;    /* fire_count already delivered */
    int64_t apc_ft;   /* the firing time the queued APC reports */
    int tfd;          /* armed timerfd, -1 when none */
    bool listed;      /* in `pending` (APCs can find it) */
    bool watching;    /* the service thread will call completion_due */
    bool dropped;     /* no longer wanted: completion_due frees it */
    bool apc_queued;  /* one APC is waiting in the thread's queue */
    bool expired;     /* the arming will fire no more */
};

/* cp_lock guards every struct completion and each timer's `cp`. Order:
 * cp_lock before a timer's shared lock. */
static pthread_mutex_t cp_lock = PTHREAD_MUTEX_INITIALIZER;
static struct completion *pending;
static ULONG_PTR next_id;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* The Linux side: a timerfd that becomes readable at an absolute time on the
 * timer's clock (TFD_TIMER_ABSTIME: a wall-clock alarm follows changes of
 * the system time, as Windows' absolute timers do). */
static int alarm_open(uint32_t kind, int64_t due_ns)
{
    int fd = timerfd_create(kind == CLOCK_KIND_REAL ? CLOCK_REALTIME : CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct itimerspec its = {{0, 0}, {0, 0}};
    if (due_ns < 1)
        due_ns = 1; /* an all-zero time would disarm it */
    its.it_value.tv_sec = (time_t)(due_ns / NS_PER_SEC);
    its.it_value.tv_nsec = (long)(due_ns % NS_PER_SEC);
    if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

/* Make the service thread call back now (to free a dropped completion). */
static void alarm_ring(int fd)
{
    struct itimerspec its = {{0, 0}, {0, 1}};
    timerfd_settime(fd, 0, &its, NULL);
}

static void completion_free(struct completion *cp)
{
    if (cp->tfd >= 0)
        close(cp->tfd);
    wi_object_release(cp->thread);
    free(cp);
}

/* Stop delivering `cp` (cp_lock held): unlist it, so a queued APC finds
 * nothing (Windows drops pending completion APCs on Cancel and re-Set), and
 * free it now or, when the service thread still holds it, from there. */
static void completion_drop(struct completion *cp)
{
    if (cp->listed) {
        if (cp->prev)
            cp->prev->next = cp->next;
        else
            pending = cp->next;
        if (cp->next)
            cp->next->prev = cp->prev;
        cp->listed = false;
    }
    if (cp->owner && cp->owner->cp == cp)
        cp->owner->cp = NULL;
    cp->owner = NULL;
    cp->dropped = true;
    if (cp->watching)
        alarm_ring(cp->tfd);
    else
        completion_free(cp);
}

static bool thread_ended(struct wi_object *thread)
{
    DWORD err;
    return wi_wait_objects(1, &thread, false, 0, false, &err) == WAIT_OBJECT_0;
}

/* The APC, in the thread that set the timer. */
static void completion_apc(ULONG_PTR id)
{
    PTIMERAPCROUTINE fn = NULL;
    void *arg = NULL;
    int64_t ft = 0;
    pthread_mutex_lock(&cp_lock);
    struct completion *cp = pending;
    while (cp && cp->id != id)
        cp = cp->next;
    if (cp) {
        cp->apc_queued = false;
        if (atomic_load(&ts(&cp->owner->obj)->arm_gen) != cp->arm_gen) {
            completion_drop(cp); /* re-set or cancelled through another handle */
        } else {
            fn = cp->fn;
            arg = cp->arg;
            ft = cp->apc_ft;
            if (cp->expired)
                completion_drop(cp);
        }
    }
    pthread_mutex_unlock(&cp_lock);
    if (fn)
        fn(arg, (DWORD)(uint64_t)ft, (DWORD)((uint64_t)ft >> 32));
}

/* The service thread: cp's timerfd expired. */
static void completion_due(void *arg)
{
    struct completion *cp = arg;
    pthread_mutex_lock(&cp_lock);
    cp->watching = false;
    close(cp->tfd);
    cp->tfd = -1;
    if (cp->dropped) {
        completion_free(cp);
        pthread_mutex_unlock(&cp_lock);
        return;
    }
    struct timer_shared *t = ts(&cp->owner->obj);
    if (thread_ended(cp->thread)) {
        /* Windows: when the thread that set a timer with a completion
         * routine ends, the timer is cancelled; its state stays. */
        timer_disarm(t, cp->arm_gen);
        completion_drop(cp);
        pthread_mutex_unlock(&cp_lock);
        return;
    }
    timer_check(t);
    timer_lock(t);
    uint32_t gen = atomic_load(&t->arm_gen), count = t->fire_count, active = atomic_load(&t->active);
    uint32_t kind = atomic_load(&t->clock);
    int64_t ft = t->fire_ft, due = atomic_load(&t->due_ns);
    timer_unlock(t);
    if (gen != cp->arm_gen) {
        completion_drop(cp); /* re-set or cancelled elsewhere */
        pthread_mutex_unlock(&cp_lock);
        return;
    }
    if (count != cp->seen) {
        cp->seen = count;
        if (!cp->apc_queued) {
            cp->apc_ft = ft;
            DWORD err = wi_thread_queue_apc(cp->thread, completion_apc, cp->id);
            if (!err) {
                cp->apc_queued = true;
            } else if (thread_ended(cp->thread)) {
                timer_disarm(t, cp->arm_gen);
                completion_drop(cp);
                pthread_mutex_unlock(&cp_lock);
                return;
            }
            /* Out of memory: this firing's routine is lost, the next one
             * is tried again. */
        }
    }
    if (active) {
        int fd = alarm_open(kind, due);
        if (fd >= 0 && wi_service_watch(fd, completion_due, cp) == ERROR_SUCCESS) {
            cp->tfd = fd;
            cp->watching = true;
        } else {
            /* No alarm for the next period (out of fds or memory): the
             * timer goes on for waiters; the routine stops (docs/timers.md). */
            if (fd >= 0)
                close(fd);
            cp->expired = true;
        }
    } else {
        cp->expired = true;
    }
    if (cp->expired && !cp->apc_queued)
        completion_drop(cp);
    pthread_mutex_unlock(&cp_lock);
}

/* The service thread: a thread that set completion routines has ended.
 * Windows cancels such a timer at once (its signaled state stays). Kernels
 * without thread pidfds get the same at the next due time instead
 * (completion_due). */
static void completion_thread_died(struct wi_object *thread, pid_t tid, uint64_t start)
{
    pthread_mutex_lock(&cp_lock);
    for (struct completion *cp = pending, *next; cp; cp = next) {
        next = cp->next;
        if (cp->thread == thread) {
            timer_disarm(ts(&cp->owner->obj), cp->arm_gen);
            completion_drop(cp);
        }
    }
    pthread_mutex_unlock(&cp_lock);
}

/* fork(): the child has no service thread watching our timerfds and none of
 * the parent's other threads; completion routines set in the parent do not
 * run in the child. Forget them, leaving their thread references alone
 * (those threads do not exist in the child). */
static void cp_prefork(void)
{
    pthread_mutex_lock(&cp_lock);
}

static void cp_parent(void)
{
    pthread_mutex_unlock(&cp_lock);
}

static void cp_child(void)
{
    for (struct completion *cp = pending, *next; cp; cp = next) {
        next = cp->next;
        if (cp->owner)
            cp->owner->cp = NULL;
        if (cp->tfd >= 0)
            close(cp->tfd);
        free(cp);
    }
    pending = NULL;
    pthread_mutex_init(&cp_lock, NULL);
}

static void register_atfork(void)
{
    pthread_atfork(cp_prefork, cp_parent, cp_child);
}

/* --- Ops table ---------------------------------------------------------------- */

static DWORD timer_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out);

static void timer_destroy(struct wi_object *obj)
{
    struct timer *tm = (struct timer *)obj;
    /* Closing our last handle stops our completion routine; the timer itself
     * lives on while another process holds it. */
    pthread_mutex_lock(&cp_lock);
    if (tm->cp)
        completion_drop(tm->cp);
    pthread_mutex_unlock(&cp_lock);
}

const struct wi_object_ops wi_timer_ops = {
    .name = "Timer",
    .type = WI_TYPE_TIMER,
    .generic_map = {STANDARD_RIGHTS_READ | TIMER_QUERY_STATE, STANDARD_RIGHTS_WRITE | TIMER_MODIFY_STATE,
                    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, TIMER_ALL_ACCESS},
    .waitable = timer_waitable,
    .try_satisfy = timer_try_satisfy,
    .wait_prepare = timer_wait_prepare,
    .consumable = true,
    .signal = wi_no_signal, /* SignalObjectAndWait on a timer: ERROR_INVALID_HANDLE */
    .read = wi_no_read,
    .write = wi_no_write,
    .flush = wi_no_flush,
    .read_overlapped = wi_sync_read_overlapped,
    .write_overlapped = wi_sync_write_overlapped,
    .io_try = wi_no_io_try,
    .std_fd = wi_no_std_fd,
    .export_fds = wi_shared_export_fds,
    .import = timer_import,
    .destroy = timer_destroy,
};

static DWORD timer_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out)
{
    DWORD err = wi_shared_import(&wi_timer_ops, sizeof(struct timer), fds, nfds, blob, blob_len, out);
    if (!err && ts(*out)->lock_abi != LOCK_ABI) {
        wi_object_release(*out);
        *out = NULL;
        return ERROR_INVALID_HANDLE;
    }
    return err;
}

static void timer_init(struct wi_object *obj, void *arg)
{
    struct timer_shared *t = ts(obj);
    pthread_mutexattr_t attr;
    t->manual = *(bool *)arg;
    t->lock_abi = LOCK_ABI;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&t->lock, &attr);
    pthread_mutexattr_destroy(&attr);
}

/* --- Win32 entry points ------------------------------------------------------ */

/* A timer made by another build: its lock layout would be misread. */
static DWORD timer_layout_check(struct wi_object *obj)
{
    return ts(obj)->lock_abi == LOCK_ABI ? ERROR_SUCCESS : ERROR_INVALID_HANDLE;
}

static const struct wi_kernel_object_spec timer_spec = {
    .ops = &wi_timer_ops,
    .obj_size = sizeof(struct timer),
    .shared_size = sizeof(struct timer_shared),
    .init = timer_init,
    .check = timer_layout_check,
};

static HANDLE create_timer(LPSECURITY_ATTRIBUTES sa, const char *name, bool manual, DWORD access)
{
    return wi_kernel_object_create(&timer_spec, &manual, sa, name, access);
}

static HANDLE open_timer(DWORD access, BOOL inherit, const char *name)
{
    return wi_kernel_object_open(&timer_spec, name, access, inherit);
}

/* A completion record for `fn`, with its alarm armed but not yet watched. */
static DWORD completion_new(PTIMERAPCROUTINE fn, void *arg, uint32_t kind, int64_t due, struct completion **out)
{
    struct completion *cp = calloc(1, sizeof *cp);
    if (!cp)
        return ERROR_NOT_ENOUGH_MEMORY;
    cp->fn = fn;
    cp->arg = arg;
    cp->thread = wi_thread_current();
    cp->tfd = cp->thread ? alarm_open(kind, due) : -ENOMEM;
    if (cp->tfd < 0) {
        DWORD err = wi_error_from_errno(-cp->tfd);
        cp->tfd = -1;
        if (cp->thread)
            wi_object_release(cp->thread);
        free(cp);
        return err;
    }
    *out = cp;
    return ERROR_SUCCESS;
}

static DWORD set_timer(HANDLE h, const LARGE_INTEGER *due_time, LONG period, PTIMERAPCROUTINE fn, void *arg)
{
    struct completion *cp = NULL;
    struct wi_pin pin;
    uint32_t kind;
    int64_t due;
    DWORD err = wi_handle_get(h, WI_TYPE_TIMER, TIMER_MODIFY_STATE, &pin);
    if (err)
        return err;
    if (!due_time || period < 0) {
        wi_handle_put(&pin);
        return due_time ? ERROR_INVALID_PARAMETER : ERROR_NOACCESS;
    }
    struct timer *tm = (struct timer *)pin.obj;
    struct timer_shared *t = ts(pin.obj);
    due_from_filetime(due_time->QuadPart, &kind, &due);
    if (fn) {
        pthread_once(&atfork_once, register_atfork);
        err = completion_new(fn, arg, kind, due, &cp);
        if (err) {
            wi_handle_put(&pin);
            return err;
        }
        /* One watch per thread (the same thread object is not subscribed
         * twice); without one (old kernel) completion_due checks instead. */
        bool leader, poll_now;
        wi_owner_watch(wi_thread_self_tid(), wi_thread_self_start(), cp->thread, completion_thread_died, &leader,
                       &poll_now);
    }
    pthread_mutex_lock(&cp_lock);
    if (tm->cp)
        completion_drop(tm->cp); /* Windows cancels a pending routine on re-Set */
    uint32_t gen = timer_arm(t, kind, due, (uint32_t)period);
    if (cp) {
        cp->arm_gen = gen;
        cp->owner = tm;
        cp->id = ++next_id;
        cp->next = pending;
        cp->prev = NULL;
        if (pending)
            pending->prev = cp;
        pending = cp;
        cp->listed = true;
        tm->cp = cp;
        err = wi_service_watch(cp->tfd, completion_due, cp);
        if (err) {
            timer_disarm(t, gen); /* fail as a whole: no half-set timer */
            completion_drop(cp);
        } else {
            cp->watching = true;
        }
    }
    pthread_mutex_unlock(&cp_lock);
    wi_handle_put(&pin);
    return err;
}

WINBASEAPI HANDLE WINAPI CreateWaitableTimerA(LPSECURITY_ATTRIBUTES lpTimerAttributes, BOOL bManualReset,
                                              LPCSTR lpTimerName)
{
    return create_timer(lpTimerAttributes, lpTimerName, bManualReset, TIMER_ALL_ACCESS);
}

WINBASEAPI HANDLE WINAPI CreateWaitableTimerW(LPSECURITY_ATTRIBUTES lpTimerAttributes, BOOL bManualReset,
                                              LPCWSTR lpTimerName)
{
    WI_UTF8_ARG(name, lpTimerName);
    if (WI_UTF8_FAILED(name, lpTimerName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = create_timer(lpTimerAttributes, name, bManualReset, TIMER_ALL_ACCESS);
    WI_UTF8_FREE(name);
    return h;
}

/* CREATE_WAITABLE_TIMER_HIGH_RESOLUTION asks for better than the default
 * 15.6 ms tick; every timer here already fires on the millisecond (the
 * wait engine sleeps to the rounded-up millisecond), so it changes nothing. */
WINBASEAPI HANDLE WINAPI CreateWaitableTimerExA(LPSECURITY_ATTRIBUTES lpTimerAttributes, LPCSTR lpTimerName,
                                                DWORD dwFlags, DWORD dwDesiredAccess)
{
    if (dwFlags & ~(DWORD)(CREATE_WAITABLE_TIMER_MANUAL_RESET | CREATE_WAITABLE_TIMER_HIGH_RESOLUTION))
        return wi_fail_null(ERROR_INVALID_PARAMETER);
    return create_timer(lpTimerAttributes, lpTimerName, dwFlags & CREATE_WAITABLE_TIMER_MANUAL_RESET,
                        dwDesiredAccess);
}

WINBASEAPI HANDLE WINAPI CreateWaitableTimerExW(LPSECURITY_ATTRIBUTES lpTimerAttributes, LPCWSTR lpTimerName,
                                                DWORD dwFlags, DWORD dwDesiredAccess)
{
    WI_UTF8_ARG(name, lpTimerName);
    if (WI_UTF8_FAILED(name, lpTimerName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = CreateWaitableTimerExA(lpTimerAttributes, name, dwFlags, dwDesiredAccess);
    WI_UTF8_FREE(name);
    return h;
}

WINBASEAPI HANDLE WINAPI OpenWaitableTimerA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpTimerName)
{
    return open_timer(dwDesiredAccess, bInheritHandle, lpTimerName);
}

WINBASEAPI HANDLE WINAPI OpenWaitableTimerW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpTimerName)
{
    WI_UTF8_ARG(name, lpTimerName);
    if (WI_UTF8_FAILED(name, lpTimerName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = open_timer(dwDesiredAccess, bInheritHandle, name);
    WI_UTF8_FREE(name);
    return h;
}

/* fResume (wake a suspended machine) has no equivalent here: as Windows on
 * a machine that cannot, the call succeeds with ERROR_NOT_SUPPORTED as the
 * last error. */
WINBASEAPI BOOL WINAPI SetWaitableTimer(HANDLE hTimer, const LARGE_INTEGER *lpDueTime, LONG lPeriod,
                                        PTIMERAPCROUTINE pfnCompletionRoutine, LPVOID lpArgToCompletionRoutine,
                                        BOOL fResume)
{
    DWORD err = set_timer(hTimer, lpDueTime, lPeriod, pfnCompletionRoutine, lpArgToCompletionRoutine);
    if (err)
        return wi_fail_bool(err);
    if (fResume)
        wi_set_last_error(ERROR_NOT_SUPPORTED);
    return TRUE;
}

/* WakeContext (wake the machine, with a reason) is not supported:
 * ERROR_NOT_SUPPORTED. TolerableDelay only allows firing later, for
 * coalescing; firing on time honours it. */
WINBASEAPI BOOL WINAPI SetWaitableTimerEx(HANDLE hTimer, const LARGE_INTEGER *lpDueTime, LONG lPeriod,
                                          PTIMERAPCROUTINE pfnCompletionRoutine, LPVOID lpArgToCompletionRoutine,
                                          PREASON_CONTEXT WakeContext, ULONG TolerableDelay)
{
    if (WakeContext)
        return wi_fail_bool(ERROR_NOT_SUPPORTED);
    return wi_result_bool(set_timer(hTimer, lpDueTime, lPeriod, pfnCompletionRoutine, lpArgToCompletionRoutine));
}

WINBASEAPI BOOL WINAPI CancelWaitableTimer(HANDLE hTimer)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(hTimer, WI_TYPE_TIMER, TIMER_MODIFY_STATE, &pin);
    if (err)
        return wi_fail_bool(err);
    struct timer *tm = (struct timer *)pin.obj;
    pthread_mutex_lock(&cp_lock);
    if (tm->cp)
        completion_drop(tm->cp);
    timer_disarm(ts(pin.obj), 0);
    pthread_mutex_unlock(&cp_lock);
    wi_handle_put(&pin);
    return TRUE;
}

/* The -fshort-wchar entry points (synchapi.h maps the W names onto these). */
static char *utf8_from_utf16(const uint16_t *s)
{
    wchar_t *w = wi_wide_from_utf16(s);
    char *u = w ? wi_utf8_from_wide(w) : NULL;
    free(w);
    return u;
}

WINBASEAPI HANDLE WINAPI CreateWaitableTimerW16(LPSECURITY_ATTRIBUTES lpTimerAttributes, BOOL bManualReset,
                                                const uint16_t *lpTimerName);
WINBASEAPI HANDLE WINAPI CreateWaitableTimerExW16(LPSECURITY_ATTRIBUTES lpTimerAttributes, const uint16_t *lpTimerName,
                                                  DWORD dwFlags, DWORD dwDesiredAccess);
WINBASEAPI HANDLE WINAPI OpenWaitableTimerW16(DWORD dwDesiredAccess, BOOL bInheritHandle, const uint16_t *lpTimerName);

WINBASEAPI HANDLE WINAPI CreateWaitableTimerW16(LPSECURITY_ATTRIBUTES lpTimerAttributes, BOOL bManualReset,
                                                const uint16_t *lpTimerName)
{
    char *name = lpTimerName ? utf8_from_utf16(lpTimerName) : NULL;
    if (lpTimerName && !name)
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = create_timer(lpTimerAttributes, name, bManualReset, TIMER_ALL_ACCESS);
    free(name);
    return h;
}

WINBASEAPI HANDLE WINAPI CreateWaitableTimerExW16(LPSECURITY_ATTRIBUTES lpTimerAttributes, const uint16_t *lpTimerName,
                                                  DWORD dwFlags, DWORD dwDesiredAccess)
{
    char *name = lpTimerName ? utf8_from_utf16(lpTimerName) : NULL;
    if (lpTimerName && !name)
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = CreateWaitableTimerExA(lpTimerAttributes, name, dwFlags, dwDesiredAccess);
    free(name);
    return h;
}

WINBASEAPI HANDLE WINAPI OpenWaitableTimerW16(DWORD dwDesiredAccess, BOOL bInheritHandle, const uint16_t *lpTimerName)
{
    char *name = lpTimerName ? utf8_from_utf16(lpTimerName) : NULL;
    if (lpTimerName && !name)
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = open_timer(dwDesiredAccess, bInheritHandle, name);
    free(name);
    return h;
}
