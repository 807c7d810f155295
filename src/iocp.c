/* SPDX-License-Identifier: MIT */
/* I/O completion ports: CreateIoCompletionPort, GetQueuedCompletionStatus(Ex),
 * PostQueuedCompletionStatus.
 *
 * A port is process-local, as on Windows ("not sharable between
 * processes"): a queue of packets in ordinary memory, no shared state and
 * no fd. Packets come from PostQueuedCompletionStatus and from the engine
 * (async.c) when I/O on an associated handle completes.
 *
 * Waiting threads. Each thread in GetQueuedCompletionStatus(Ex) sleeps on a
 * futex word of its own (a `struct waiter` on its stack), pushed on the
 * port's stack of waiters: Windows releases waiting threads last-in
 * first-out, which keeps the fewest threads warm. A packet posted while a
 * thread waits is handed to that thread directly (copied into its output
 * and the thread woken: one private-futex wake per packet, no thundering
 * herd, no second look at the queue).
 *
 * Concurrency limit (NumberOfConcurrentThreads, 0 = the number of CPUs).
 * Windows counts the threads that got a packet from the port and are
 * running, and releases a waiter only while fewer than the limit run; a
 * thread that blocks elsewhere stops counting. A thread counts here from
 * the moment it gets a packet until it calls GetQueuedCompletionStatus(Ex)
 * again (on any port) or ends. What winipc cannot see is a counted thread
 * blocking in some other wait, so as a stand-in: when packets have been
 * held back by the limit for LIMIT_GRACE_MS and no counted thread came back
 * to the port meanwhile, a waiter takes them anyway (docs/overlapped.md).
 *
 * Closing. When the port's last handle is closed (async.c tells us through
 * wi_iocp_orphaned), threads waiting on it return ERROR_ABANDONED_WAIT_0,
 * queued packets are dropped, and later ones are too. Handles associated
 * with the port keep the port object (not the handle) alive.
 *
 * Waits. A port is a waitable object as on Windows: signaled while packets
 * are queued; WaitForSingleObject does not consume them.
 *
 * Locking: port->lock guards everything but `queued` (an atomic mirror of
 * `count` for waits). Taken after an object's engine lock (async.c). */
#include "iocp.h"

#include "async.h"
#include "error.h"
#include "futex.h"
#include "handle.h"
#include "io.h"
#include "thread.h"
#include "tls.h"
#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIMIT_GRACE_MS 10

struct packet {
    ULONG_PTR key;
    OVERLAPPED *ov;
    DWORD status; /* NTSTATUS */
    DWORD bytes;
};

struct waiter {
    _Atomic uint32_t word; /* 0 while asleep; 1 once handed packets or woken */
    struct waiter *below, *above;
    OVERLAPPED_ENTRY *out;
    ULONG max, got;
};

struct port {
    struct wi_object obj; /* must be first */
    pthread_mutex_t lock;
    struct packet *ring;
    uint32_t cap, head, count;
    struct waiter *top; /* the most recent waiter */
    unsigned limit, active;
    uint64_t dequeues; /* grows each time a thread takes packets */
    bool closed;
    struct wi_waitable w; /* word bumped on every queued packet */
    _Atomic uint32_t queued;
};

static struct port *port_of(struct wi_object *obj)
{
    return (struct port *)obj;
}

/* --- ops ---------------------------------------------------------------------------- */

static struct wi_waitable *port_waitable(struct wi_object *obj)
{
    return &port_of(obj)->w;
}

static DWORD port_try_satisfy(struct wi_object *obj, uint32_t *cookie, unsigned mode)
{
    return atomic_load(&port_of(obj)->queued) ? WAIT_OBJECT_0 : WAIT_TIMEOUT;
}

static void port_destroy(struct wi_object *obj)
{
    struct port *p = port_of(obj);
    free(p->ring);
    pthread_mutex_destroy(&p->lock);
}

const struct wi_object_ops wi_iocp_ops = {
    .name = "IoCompletion",
    .type = WI_TYPE_IOCP,
    .generic_map = {STANDARD_RIGHTS_READ | IO_COMPLETION_QUERY_STATE, STANDARD_RIGHTS_WRITE | IO_COMPLETION_MODIFY_STATE,
                    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, IO_COMPLETION_ALL_ACCESS},
    .waitable = port_waitable,
    .try_satisfy = port_try_satisfy,
    .wait_prepare = wi_no_wait_prepare,
    .consumable = false, /* a wait does not take packets */
    .signal = wi_no_signal,
    .read = wi_no_read,
    .write = wi_no_write,
    .flush = wi_no_flush,
    .read_overlapped = wi_sync_read_overlapped,
    .write_overlapped = wi_sync_write_overlapped,
    .io_try = wi_no_io_try,
    .std_fd = wi_no_std_fd,
    .export_fds = wi_no_export_fds, /* ports never leave their process */
    .import = wi_no_import,
    .destroy = port_destroy,
};

/* --- the queue (lock held) ----------------------------------------------------------- */

static bool ring_push(struct port *p, const struct packet *pk)
{
    if (p->count == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 64;
        struct packet *r = malloc(cap * sizeof *r);
        if (!r)
            return false;
        for (uint32_t i = 0; i < p->count; i++)
            r[i] = p->ring[(p->head + i) % p->cap];
        free(p->ring);
        p->ring = r;
        p->cap = cap;
        p->head = 0;
    }
    p->ring[(p->head + p->count) % p->cap] = *pk;
    p->count++;
    atomic_store(&p->queued, p->count);
    return true;
}

/* Move up to `max` packets into `out`. */
static ULONG ring_take(struct port *p, OVERLAPPED_ENTRY *out, ULONG max)
{
    ULONG n = 0;
    while (n < max && p->count) {
        struct packet *pk = &p->ring[p->head];
        out[n].lpCompletionKey = pk->key;
        out[n].lpOverlapped = pk->ov;
        out[n].Internal = pk->status;
        out[n].dwNumberOfBytesTransferred = pk->bytes;
        n++;
        p->head = (p->head + 1) % p->cap;
        p->count--;
    }
    atomic_store(&p->queued, p->count);
    if (n)
        p->dequeues++;
    return n;
}

static void waiter_unlink(struct port *p, struct waiter *w)
{
    if (w->above)
        w->above->below = w->below;
    else
        p->top = w->below;
    if (w->below)
        w->below->above = w->above;
    w->above = w->below = NULL;
}

static void waiter_wake(struct waiter *w)
{
    atomic_store(&w->word, 1);
    wi_futex_wake_private(&w->word, 1);
}

/* Hand queued packets to waiting threads while the limit allows. */
static void release_waiters(struct port *p)
{
    while (p->top && p->count && p->active < p->limit) {
        struct waiter *w = p->top;
        waiter_unlink(p, w);
        w->got = ring_take(p, w->out, w->max);
        p->active++;
        waiter_wake(w);
    }
}

/* --- which port a thread counts on ---------------------------------------------------- */

/* The port the calling thread got its last packet from, referenced (and
 * an I/O reference: a running worker does not keep a closed port open). */
static WI_THREAD_LOCAL struct port *counted_on;
static WI_THREAD_LOCAL bool counted_active; /* included in counted_on->active */
static pthread_key_t counted_key;
static pthread_once_t counted_once = PTHREAD_ONCE_INIT;

static void stop_counting(struct port *p, bool active)
{
    pthread_mutex_lock(&p->lock);
    if (active)
        p->active--;
    release_waiters(p);
    pthread_mutex_unlock(&p->lock);
    wi_object_io_release(&p->obj);
}

static void thread_ended(void *arg)
{
    stop_counting(arg, counted_active);
    counted_on = NULL;
    counted_active = false;
}

static void make_key(void)
{
    pthread_key_create(&counted_key, thread_ended);
}

/* The calling thread leaves `keep` counted if it is there (the caller
 * adjusts under the lock), any other port it counted on is left. */
static void leave_other_port(struct port *keep)
{
    struct port *p = counted_on;
    if (!p || p == keep)
        return;
    counted_on = NULL;
    pthread_setspecific(counted_key, NULL);
    stop_counting(p, counted_active);
    counted_active = false;
}

/* Lock held: the calling thread got packets from p and counts there now
 * (p->active already includes it). */
static void count_on(struct port *p)
{
    counted_active = true;
    if (counted_on == p)
        return;
    pthread_once(&counted_once, make_key);
    wi_object_io_ref(&p->obj);
    counted_on = p;
    pthread_setspecific(counted_key, p);
}

/* --- engine side ------------------------------------------------------------------------ */

DWORD wi_iocp_post(struct wi_object *obj, ULONG_PTR key, OVERLAPPED *ov, DWORD status, DWORD bytes)
{
    struct port *p = port_of(obj);
    struct packet pk = {key, ov, status, bytes};
    pthread_mutex_lock(&p->lock);
    if (p->closed) {
        pthread_mutex_unlock(&p->lock);
        return ERROR_SUCCESS; /* nobody can dequeue it any more */
    }
    if (p->top && !p->count && p->active < p->limit) {
        /* The common case: a thread is waiting, take it straight there. */
        struct waiter *w = p->top;
        waiter_unlink(p, w);
        w->out[0].lpCompletionKey = key;
        w->out[0].lpOverlapped = ov;
        w->out[0].Internal = status;
        w->out[0].dwNumberOfBytesTransferred = bytes;
        w->got = 1;
        p->active++;
        p->dequeues++;
        pthread_mutex_unlock(&p->lock);
        waiter_wake(w);
        return ERROR_SUCCESS;
    }
    bool first = p->count == 0;
    if (!ring_push(p, &pk)) {
        pthread_mutex_unlock(&p->lock);
        return ERROR_NO_SYSTEM_RESOURCES;
    }
    release_waiters(p);
    /* Held back by the limit: the top waiter re-sleeps with the grace
     * bound (see the top of the file). */
    if (first && p->count && p->top)
        waiter_wake(p->top);
    pthread_mutex_unlock(&p->lock);
    atomic_fetch_add(&p->w.word, 1);
    wi_waitable_wake(&p->w);
    return ERROR_SUCCESS;
}

void wi_iocp_orphaned(struct wi_object *obj)
{
    struct port *p = port_of(obj);
    pthread_mutex_lock(&p->lock);
    if (!p->closed) {
        p->closed = true;
        p->count = 0;
        atomic_store(&p->queued, 0);
        for (struct waiter *w = p->top; w; w = w->below)
            waiter_wake(w); /* each unlinks itself and sees `closed` */
    }
    pthread_mutex_unlock(&p->lock);
}

/* --- dequeue ---------------------------------------------------------------------------- */

/* Wait for up to `max` packets. Returns the number taken (> 0), or 0 with
 * *err = WAIT_TIMEOUT, WAIT_IO_COMPLETION or ERROR_ABANDONED_WAIT_0. */
static ULONG port_get(struct port *p, OVERLAPPED_ENTRY *out, ULONG max, DWORD ms, bool alertable, DWORD *err)
{
    struct timespec ts, *deadline = NULL;
    struct waiter self = {.out = out, .max = max};
    uint64_t seen = 0;
    bool over_limit = false, queued = false;
    struct wi_waitable *apc = alertable ? wi_thread_apc_waitable() : NULL;
    ULONG n = 0;

    leave_other_port(p);
    pthread_mutex_lock(&p->lock);
    if (counted_on == p && counted_active) {
        p->active--; /* back at the port: no longer running on its behalf */
        counted_active = false;
    }
    for (;;) {
        if (self.got) {
            n = self.got; /* handed over; `active` already counts us */
            break;
        }
        if (p->count && (p->active < p->limit || over_limit)) {
            n = ring_take(p, out, max);
            p->active++;
            break;
        }
        if (p->closed) {
            *err = ERROR_ABANDONED_WAIT_0;
            break;
        }
        if (apc && wi_thread_run_apcs()) {
            *err = WAIT_IO_COMPLETION;
            break;
        }
        if (ms == 0) {
            *err = WAIT_TIMEOUT;
            break;
        }
        if (!deadline && ms != INFINITE)
            deadline = wi_deadline(ms, &ts);
        /* Sleep. Held back by the limit: only for the grace period. */
        bool held = p->count != 0;
        if (held && !queued)
            seen = p->dequeues;
        queued = held;
        atomic_store(&self.word, 0);
        self.below = p->top;
        self.above = NULL;
        if (p->top)
            p->top->above = &self;
        p->top = &self;
        pthread_mutex_unlock(&p->lock);

        struct timespec grace, *until = deadline;
        if (held) {
            wi_deadline(LIMIT_GRACE_MS, &grace);
            if (!deadline || grace.tv_sec < deadline->tv_sec ||
                (grace.tv_sec == deadline->tv_sec && grace.tv_nsec < deadline->tv_nsec))
                until = &grace;
        }
        int r;
        if (apc) {
            _Atomic uint32_t *words[2] = {&self.word, &apc->word};
            uint32_t vals[2] = {0, atomic_load(&apc->word)};
            atomic_fetch_add(&apc->waiters, 1);
            /* An APC queued before we counted ourselves was seen by the
             * run above or changes the word we read now. */
            r = wi_thread_run_apcs() ? -EAGAIN : wi_futex_waitv(words, vals, 2, until);
            atomic_fetch_sub(&apc->waiters, 1);
        } else {
            r = wi_futex_wait_private(&self.word, 0, until);
            r = r ? -r : 0;
        }

        pthread_mutex_lock(&p->lock);
        if (!self.got && (p->top == &self || self.above || self.below))
            waiter_unlink(p, &self);
        if (self.got)
            continue;
        if (r == -ETIMEDOUT && until != deadline && p->count && p->dequeues == seen)
            over_limit = true; /* the counted threads are stuck elsewhere */
        else if (r == -ETIMEDOUT && until == deadline)
            ms = 0; /* a last look */
    }
    if (n)
        count_on(p);
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* --- Win32 entry points ------------------------------------------------------------------- */

static DWORD new_port(DWORD threads, struct wi_object **out)
{
    struct port *p = wi_object_alloc(&wi_iocp_ops, sizeof *p);
    if (!p)
        return ERROR_NOT_ENOUGH_MEMORY;
    pthread_mutex_init(&p->lock, NULL);
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (DWORD)cpus : 1;
    }
    p->limit = threads;
    *out = &p->obj;
    return ERROR_SUCCESS;
}

/* Can `obj` be associated with a port? File-like objects only. */
static bool is_file_like(struct wi_object *obj)
{
    return obj->ops->type != WI_TYPE_IOCP && (obj->ops->read != wi_no_read || obj->ops->write != wi_no_write);
}

WINBASEAPI HANDLE WINAPI CreateIoCompletionPort(HANDLE FileHandle, HANDLE ExistingCompletionPort,
                                                ULONG_PTR CompletionKey, DWORD NumberOfConcurrentThreads)
{
    struct wi_object *port = NULL;
    struct wi_pin file, existing;
    HANDLE h = NULL;
    DWORD err;

    if (FileHandle == INVALID_HANDLE_VALUE) {
        /* A new port, associated with nothing. */
        if (ExistingCompletionPort)
            return wi_fail_null(ERROR_INVALID_PARAMETER);
        err = new_port(NumberOfConcurrentThreads, &port);
        if (!err)
            err = wi_handle_insert(port, IO_COMPLETION_ALL_ACCESS, 0, &h);
        if (err) {
            wi_object_release(port);
            return wi_fail_null(err);
        }
        return h;
    }
    err = wi_handle_get(FileHandle, WI_TYPE_NONE, 0, &file);
    if (err)
        return wi_fail_null(err);
    if (!is_file_like(file.obj)) {
        wi_handle_put(&file);
        return wi_fail_null(ERROR_INVALID_HANDLE);
    }
    if (ExistingCompletionPort) {
        err = wi_handle_get(ExistingCompletionPort, WI_TYPE_IOCP, IO_COMPLETION_MODIFY_STATE, &existing);
        if (!err) {
            err = wi_async_associate(file.obj, existing.obj, CompletionKey);
            wi_handle_put(&existing);
        }
        wi_handle_put(&file);
        return err ? wi_fail_null(err) : ExistingCompletionPort;
    }
    /* A new port, associated with the file at once. */
    err = new_port(NumberOfConcurrentThreads, &port);
    if (!err)
        err = wi_async_associate(file.obj, port, CompletionKey);
    if (!err)
        err = wi_handle_insert(port, IO_COMPLETION_ALL_ACCESS, 0, &h);
    wi_handle_put(&file);
    if (err) {
        wi_object_release(port);
        return wi_fail_null(err);
    }
    return h;
}

/* A dequeuing thread holds the port by an I/O reference of its own, not by
 * its handle pin: CloseHandle must be able to free the
 * handle under a waiting thread, which is what wakes it (wi_iocp_orphaned). */
static struct wi_object *hold_port(struct wi_pin *pin)
{
    struct wi_object *obj = pin->obj;
    wi_object_io_ref(obj);
    wi_handle_put(pin);
    return obj;
}

static void drop_port(struct wi_object *obj)
{
    wi_object_io_release(obj);
}

WINBASEAPI BOOL WINAPI GetQueuedCompletionStatus(HANDLE CompletionPort, LPDWORD lpNumberOfBytesTransferred,
                                                 PULONG_PTR lpCompletionKey, LPOVERLAPPED *lpOverlapped,
                                                 DWORD dwMilliseconds)
{
    struct wi_pin pin;
    OVERLAPPED_ENTRY e;
    DWORD err = ERROR_SUCCESS;

    if (!lpNumberOfBytesTransferred || !lpCompletionKey || !lpOverlapped) {
        if (lpOverlapped)
            *lpOverlapped = NULL;
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    }
    err = wi_handle_get(CompletionPort, WI_TYPE_IOCP, IO_COMPLETION_MODIFY_STATE, &pin);
    if (err) {
        *lpOverlapped = NULL;
        return wi_fail_bool(err);
    }
    struct wi_object *port = hold_port(&pin);
    ULONG n = port_get(port_of(port), &e, 1, dwMilliseconds, false, &err);
    drop_port(port);
    if (!n) {
        /* Timed out or the port was closed: only *lpOverlapped changes. */
        *lpOverlapped = NULL;
        return wi_fail_bool(err);
    }
    *lpNumberOfBytesTransferred = e.dwNumberOfBytesTransferred;
    *lpCompletionKey = e.lpCompletionKey;
    *lpOverlapped = e.lpOverlapped;
    /* A packet of a failed I/O: FALSE, with the packet's contents and the
     * I/O's error (warnings such as ERROR_MORE_DATA included: they are not
     * NT_SUCCESS). */
    if ((int32_t)e.Internal < 0)
        return wi_fail_bool(wi_error_from_ntstatus((DWORD)e.Internal));
    return TRUE;
}

WINBASEAPI BOOL WINAPI GetQueuedCompletionStatusEx(HANDLE CompletionPort, LPOVERLAPPED_ENTRY lpCompletionPortEntries,
                                                   ULONG ulCount, PULONG ulNumEntriesRemoved, DWORD dwMilliseconds,
                                                   BOOL fAlertable)
{
    struct wi_pin pin;
    DWORD err;

    if (ulNumEntriesRemoved)
        *ulNumEntriesRemoved = 0;
    if (!lpCompletionPortEntries || !ulNumEntriesRemoved || ulCount == 0)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    err = wi_handle_get(CompletionPort, WI_TYPE_IOCP, IO_COMPLETION_MODIFY_STATE, &pin);
    if (err)
        return wi_fail_bool(err);
    /* Each entry carries its own status in Internal: the call succeeds
     * whatever the I/O results were. */
    struct wi_object *port = hold_port(&pin);
    ULONG n = port_get(port_of(port), lpCompletionPortEntries, ulCount, dwMilliseconds, fAlertable, &err);
    drop_port(port);
    *ulNumEntriesRemoved = n;
    return n ? TRUE : wi_fail_bool(err);
}

WINBASEAPI BOOL WINAPI PostQueuedCompletionStatus(HANDLE CompletionPort, DWORD dwNumberOfBytesTransferred,
                                                  ULONG_PTR dwCompletionKey, LPOVERLAPPED lpOverlapped)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(CompletionPort, WI_TYPE_IOCP, IO_COMPLETION_MODIFY_STATE, &pin);
    if (err)
        return wi_fail_bool(err);
    /* Out of memory, Windows' call fails with ERROR_NO_SYSTEM_RESOURCES
     * too; an I/O completion has nowhere else to go (async.c ignores it). */
    err = wi_iocp_post(pin.obj, dwCompletionKey, lpOverlapped, 0, dwNumberOfBytesTransferred);
    wi_handle_put(&pin);
    return wi_result_bool(err);
}
