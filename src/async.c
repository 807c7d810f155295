/* SPDX-License-Identifier: MIT */
/* The overlapped I/O engine (contract in async.h).
 *
 * Structures. Each object that has done overlapped I/O, or was associated
 * with a completion port, has a `struct wi_async` (obj->async, created on
 * first need, freed with the object): three request queues, the port
 * association, the notification modes, a futex word bumped on every
 * completion (GetOverlappedResult without an event sleeps on it) and a
 * token that names it in the engine's epoll set.
 *
 * Waiting. Pending heads wait on an fd or on a futex word:
 *   - fds go into the engine's own epoll set (one-shot registrations whose
 *     data is the object's token). That epoll fd is itself watched by the
 *     per-process service thread (service.c, one-shot, re-armed after each
 *     drain), so readiness is handled on the one service thread and the
 *     engine needs no thread of its own for it. Tokens are indices into a
 *     table with a generation: a registration can outlive its object (an fd
 *     whose open file description lives on in a child keeps its epoll entry
 *     until every copy is closed), and a stale token is ignored.
 *   - futex words are watched by a "word watcher" thread, started on first
 *     need, sleeping in futex_waitv on up to WORDS_MAX words and a control
 *     word that registrations bump, until the earliest wait_until among
 *     them (a registration whose time has come fires like a changed word).
 * Either way the object's pending heads are then attempted again.
 *
 * Locking. a->lock (per object) guards the queues, the epoll registration
 * cache and the port association; it is held around io_try and around
 * the delivery of a completion (so packets reach the port in completion
 * order). Order: a->lock → the port's lock (iocp.c) → an event's state.
 * engine.lock guards the token table; it is never held while taking
 * a->lock. watcher.lock guards the word table; never held with a->lock.
 *
 * References. A pending request holds an I/O reference on its object
 * (wi_object_io_ref), so that wi_object_release sees when only I/O holds
 * the object (async.h, "Lifetime"). The service thread takes a reference only while it works on
 * an object found through a token, and only if the object is still live. */
#include "async.h"

#include "error.h"
#include "futex.h"
#include "handle.h"
#include "io.h"
#include "iocp.h"
#include "service.h"
#include "thread.h"
#include "tls.h"
#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

enum { Q_READ, Q_WRITE, Q_OTHER, NQUEUES };

struct request {
    struct wi_io io;
    struct wi_object *obj; /* an I/O reference */
    struct request *next;
    HANDLE event;                          /* hEvent without its low bit; NULL for *Ex */
    bool no_port;                          /* hEvent's low bit: no completion packet */
    LPOVERLAPPED_COMPLETION_ROUTINE routine;
    struct wi_object *thread;              /* the routine's thread (referenced) */
    uint64_t issuer;                       /* the issuing thread, for CancelIo */
};

struct wi_async {
    pthread_mutex_t lock;
    struct wi_object *obj; /* back pointer, no reference */
    struct request *head[NQUEUES], *tail[NQUEUES];
    struct {
        int fd;
        uint32_t events;
    } reg[NQUEUES]; /* fds armed in the engine's epoll set (a cache) */
    unsigned nreg;
    uint64_t token;
    /* Written once under lock, read without: release/acquire. */
    struct wi_object *_Atomic port;
    ULONG_PTR key;
    _Atomic uint32_t modes; /* FILE_SKIP_* */
    struct wi_waitable done; /* bumped on every completion */
    struct wi_waitable kicked; /* bumped by wi_async_kick (synchronous waiters) */
};

/* --- small helpers -------------------------------------------------------------- */

DWORD wi_no_io_try(struct wi_object *obj, struct wi_io *io)
{
    return ERROR_INVALID_FUNCTION; /* never called: the slot only says "none" */
}

static bool has_io_try(const struct wi_object *obj)
{
    return obj->ops->io_try != wi_no_io_try;
}

static unsigned queue_of(enum wi_io_op op)
{
    switch (op) {
    case WI_IO_READ:
    case WI_IO_TRANSACT:
        return Q_READ;
    case WI_IO_WRITE:
        return Q_WRITE;
    default:
        return Q_OTHER;
    }
}

/* A process-unique id per thread (CancelIo cancels the caller's requests;
 * Linux tids are reused, these are not). */
static uint64_t self_id(void)
{
    static _Atomic uint64_t next = 1;
    static WI_THREAD_LOCAL uint64_t id;
    if (!id)
        id = atomic_fetch_add(&next, 1);
    return id;
}

/* NT_ERROR: severity "error" (the top two bits set). Warnings such as
 * STATUS_BUFFER_OVERFLOW (ERROR_MORE_DATA) are not errors. */
static bool nt_error(DWORD status)
{
    return (status >> 30) == 3;
}

static void io_ref(struct wi_object *obj)
{
    wi_object_io_ref(obj);
}

static void io_unref(struct wi_object *obj)
{
    wi_object_io_release(obj);
}

/* An absolute CLOCK_MONOTONIC deadline for the futex calls; NULL for 0. */
static struct timespec *deadline_of(uint64_t ns, struct timespec *ts)
{
    if (!ns)
        return NULL;
    ts->tv_sec = (time_t)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
    return ts;
}

/* A reference to an object found through a token, unless it is already
 * being destroyed (engine.lock keeps its memory valid meanwhile). */
static bool try_ref(struct wi_object *obj)
{
    uint64_t n = atomic_load(&obj->refs);
    while ((uint32_t)n > 0)
        if (atomic_compare_exchange_weak(&obj->refs, &n, n + 1))
            return true;
    return false;
}

/* --- the word watcher ---------------------------------------------------------------- */

static void dispatch(uint64_t token);

/* futex_waitv takes at most 128 words: the control word and 127 others. */
#define WORDS_MAX 127

static struct {
    pthread_mutex_t lock;
    bool started;
    struct wi_waitable ctl; /* bumped when the table changes */
    struct {
        struct wi_waitable *w;
        uint32_t value;
        uint64_t until; /* wait_until: fire at this time too (0: never) */
        uint64_t token;
        bool counted; /* we added ourselves to w->waiters */
    } e[WORDS_MAX];
    unsigned n;
} watcher = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void watcher_remove_at(unsigned i)
{
    if (watcher.e[i].counted)
        atomic_fetch_sub(&watcher.e[i].w->waiters, 1);
    watcher.e[i] = watcher.e[--watcher.n];
}

static void *watcher_main(void *unused)
{
    _Atomic uint32_t *words[WORDS_MAX + 1];
    uint32_t vals[WORDS_MAX + 1];
    uint64_t fired[WORDS_MAX];
    for (;;) {
        unsigned nfired = 0, n;
        uint64_t now = wi_monotonic_ns(), next = 0;
        struct timespec ts;
        pthread_mutex_lock(&watcher.lock);
        vals[0] = atomic_load(&watcher.ctl.word);
        words[0] = &watcher.ctl.word;
        for (unsigned i = 0; i < watcher.n;) {
            uint64_t until = watcher.e[i].until;
            if (!watcher.e[i].counted) {
                atomic_fetch_add(&watcher.e[i].w->waiters, 1);
                watcher.e[i].counted = true;
            }
            if (atomic_load(&watcher.e[i].w->word) != watcher.e[i].value || (until && until <= now)) {
                fired[nfired++] = watcher.e[i].token;
                watcher_remove_at(i);
                continue;
            }
            if (until && (!next || until < next))
                next = until;
            i++;
        }
        for (n = 0; n < watcher.n; n++) {
            words[n + 1] = &watcher.e[n].w->word;
            vals[n + 1] = watcher.e[n].value;
        }
        pthread_mutex_unlock(&watcher.lock);
        for (unsigned i = 0; i < nfired; i++)
            dispatch(fired[i]);
        if (nfired)
            continue;
        /* A word unmapped meanwhile (its object destroyed) makes the call
         * fail with EFAULT; the loop then rebuilds the table. */
        wi_futex_waitv(words, vals, n + 1, deadline_of(next, &ts));
    }
    return NULL;
}

static DWORD watcher_start(void)
{
    if (watcher.started)
        return ERROR_SUCCESS;
    pthread_t t;
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* never the program's signals */
    int r = pthread_create(&t, &attr, watcher_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (r != 0)
        return wi_error_from_errno(r);
    watcher.started = true;
    return ERROR_SUCCESS;
}

static DWORD watcher_add(struct wi_waitable *w, uint32_t value, uint64_t until, uint64_t token)
{
    DWORD err = ERROR_SUCCESS;
    pthread_mutex_lock(&watcher.lock);
    unsigned i = 0;
    while (i < watcher.n && !(watcher.e[i].token == token && watcher.e[i].w == w))
        i++;
    if (i == watcher.n) {
        if (watcher.n == WORDS_MAX || (err = watcher_start()) != ERROR_SUCCESS) {
            pthread_mutex_unlock(&watcher.lock);
            return err ? err : ERROR_NO_SYSTEM_RESOURCES;
        }
        watcher.e[i].w = w;
        watcher.e[i].token = token;
        watcher.e[i].counted = false;
        watcher.n++;
    }
    watcher.e[i].value = value;
    watcher.e[i].until = until;
    atomic_fetch_add(&watcher.ctl.word, 1);
    pthread_mutex_unlock(&watcher.lock);
    wi_futex_wake(&watcher.ctl.word, 1);
    return ERROR_SUCCESS;
}

/* Before an object's shared state is unmapped: forget its words. */
static void watcher_forget(uint64_t token)
{
    pthread_mutex_lock(&watcher.lock);
    for (unsigned i = 0; i < watcher.n;) {
        if (watcher.e[i].token == token)
            watcher_remove_at(i);
        else
            i++;
    }
    pthread_mutex_unlock(&watcher.lock);
}

/* --- the engine: token table, epoll set ------------------------------------------ */

static struct {
    int epfd;
    pthread_mutex_t lock; /* the token table and `armed` */
    struct wi_async **slot;
    uint32_t *gen;
    uint32_t *free_list;
    uint32_t cap, nfree, used;
    bool armed; /* the service thread watches epfd */
} engine = {.epfd = -1, .lock = PTHREAD_MUTEX_INITIALIZER};

static void engine_drain(void *unused);

/* Have the service thread watch the epoll set (again). */
static void engine_arm(void)
{
    pthread_mutex_lock(&engine.lock);
    if (!engine.armed && engine.epfd >= 0 && wi_service_watch(engine.epfd, engine_drain, NULL) == ERROR_SUCCESS)
        engine.armed = true;
    pthread_mutex_unlock(&engine.lock);
}

/* Service thread: the epoll set has ready fds. */
static void engine_drain(void *unused)
{
    struct epoll_event ev[64];
    int n;
    pthread_mutex_lock(&engine.lock);
    engine.armed = false;
    pthread_mutex_unlock(&engine.lock);
    do {
        n = epoll_wait(engine.epfd, ev, 64, 0);
        for (int i = 0; i < n; i++)
            dispatch(ev[i].data.u64);
    } while (n == 64);
    engine_arm();
}

/* fork(): the child has no service thread and no word watcher, and a copy
 * of our epoll fd that shares the parent's registrations: it starts over.
 * Requests pending in the parent stay there (docs/overlapped.md). */
static void forget_in_child(void)
{
    pthread_mutex_init(&engine.lock, NULL);
    if (engine.epfd >= 0)
        close(engine.epfd);
    engine.epfd = -1;
    engine.armed = false;
    pthread_mutex_init(&watcher.lock, NULL);
    watcher.started = false;
    watcher.n = 0;
}

static DWORD engine_start(void)
{
    static bool atfork_done;
    DWORD err = ERROR_SUCCESS;
    if (__atomic_load_n(&engine.epfd, __ATOMIC_ACQUIRE) >= 0)
        return ERROR_SUCCESS;
    pthread_mutex_lock(&engine.lock);
    if (!atfork_done) {
        pthread_atfork(NULL, NULL, forget_in_child);
        atfork_done = true;
    }
    if (engine.epfd < 0) {
        int fd = epoll_create1(EPOLL_CLOEXEC);
        if (fd < 0)
            err = wi_error_from_errno(errno);
        else
            __atomic_store_n(&engine.epfd, fd, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&engine.lock);
    return err;
}

static DWORD token_alloc(struct wi_async *a)
{
    pthread_mutex_lock(&engine.lock);
    uint32_t i;
    if (engine.nfree) {
        i = engine.free_list[--engine.nfree];
    } else {
        if (engine.used == engine.cap) {
            uint32_t cap = engine.cap ? engine.cap * 2 : 64;
            struct wi_async **s = realloc(engine.slot, cap * sizeof *s);
            if (s)
                engine.slot = s;
            uint32_t *g = s ? realloc(engine.gen, cap * sizeof *g) : NULL;
            if (g)
                engine.gen = g;
            uint32_t *f = g ? realloc(engine.free_list, cap * sizeof *f) : NULL;
            if (!f) {
                pthread_mutex_unlock(&engine.lock);
                return ERROR_NOT_ENOUGH_MEMORY;
            }
            engine.free_list = f;
            memset(engine.gen + engine.cap, 0, (cap - engine.cap) * sizeof *g);
            engine.cap = cap;
        }
        i = engine.used++;
    }
    engine.slot[i] = a;
    a->token = ((uint64_t)++engine.gen[i] << 32) | i;
    pthread_mutex_unlock(&engine.lock);
    return ERROR_SUCCESS;
}

static void token_free(struct wi_async *a)
{
    uint32_t i = (uint32_t)a->token;
    pthread_mutex_lock(&engine.lock);
    if (i < engine.used && engine.slot[i] == a) {
        engine.slot[i] = NULL;
        engine.gen[i]++; /* stale registrations no longer match */
        engine.free_list[engine.nfree++] = i;
    }
    pthread_mutex_unlock(&engine.lock);
}

/* The live object a token names, referenced; NULL if gone. */
static struct wi_async *token_get(uint64_t token)
{
    uint32_t i = (uint32_t)token;
    struct wi_async *a = NULL;
    pthread_mutex_lock(&engine.lock);
    if (i < engine.used && engine.gen[i] == (uint32_t)(token >> 32) && engine.slot[i] &&
        try_ref(engine.slot[i]->obj))
        a = engine.slot[i];
    pthread_mutex_unlock(&engine.lock);
    return a;
}

/* --- per-object state ------------------------------------------------------------------- */

static struct wi_async *state_of(struct wi_object *obj)
{
    return atomic_load_explicit(&obj->async, memory_order_acquire);
}

/* The object's engine state, created on first need. */
static DWORD state_get(struct wi_object *obj, struct wi_async **out)
{
    struct wi_async *a = state_of(obj);
    if (a) {
        *out = a;
        return ERROR_SUCCESS;
    }
    DWORD err = engine_start();
    if (err)
        return err;
    a = calloc(1, sizeof *a);
    if (!a)
        return ERROR_NOT_ENOUGH_MEMORY;
    pthread_mutex_init(&a->lock, NULL);
    a->obj = obj;
    err = token_alloc(a);
    if (err) {
        pthread_mutex_destroy(&a->lock);
        free(a);
        return err;
    }
    struct wi_async *expected = NULL;
    if (!atomic_compare_exchange_strong(&obj->async, &expected, a)) {
        /* Another thread was first. */
        token_free(a);
        pthread_mutex_destroy(&a->lock);
        free(a);
        a = expected;
    }
    *out = a;
    return ERROR_SUCCESS;
}

/* --- completion ---------------------------------------------------------------------------- */

struct apc_call {
    LPOVERLAPPED_COMPLETION_ROUTINE routine;
    DWORD err, bytes;
    OVERLAPPED *ov;
};

static void run_completion_routine(ULONG_PTR data)
{
    struct apc_call c = *(struct apc_call *)data;
    free((void *)data);
    c.routine(c.err, c.bytes, c.ov);
}

/* Deliver a finished request (a->lock held for objects with pending I/O):
 * the OVERLAPPED, the event, handle waiters, the APC, the packet. `at_once`:
 * it completes within the call that issued it. The OVERLAPPED may be
 * reused by the program as soon as Internal is written: read what is
 * needed from it before. */
static void deliver(struct wi_object *obj, struct wi_async *a, struct request *r, DWORD err, bool at_once)
{
    OVERLAPPED *ov = r->io.ov;
    DWORD status = wi_ntstatus_from_error(err), bytes = r->io.done;
    /* Windows: a request that fails at once leaves the OVERLAPPED pending
     * and signals nothing (the I/O manager completes only requests that
     * went pending or succeeded). Disk files are the exception: their
     * transfers go through the fast I/O path, which stores any status
     * (ERROR_HANDLE_EOF shows in Internal): types without io_try. */
    if (at_once && nt_error(status) && has_io_try(obj))
        return;
    ov->InternalHigh = bytes;
    __atomic_store_n(&ov->Internal, (ULONG_PTR)status, __ATOMIC_RELEASE);
    if (r->event) {
        DWORD saved = GetLastError();
        SetEvent(r->event);
        SetLastError(saved);
    }
    if (a) {
        atomic_fetch_add(&a->done.word, 1);
        wi_waitable_wake(&a->done);
    }
    if (at_once && nt_error(status))
        return; /* a file's failure at once: no APC, no packet */
    if (r->routine && r->thread) {
        struct apc_call *c = malloc(sizeof *c);
        if (c) {
            *c = (struct apc_call){r->routine, err, bytes, ov};
            if (wi_thread_queue_apc(r->thread, run_completion_routine, (ULONG_PTR)c) != ERROR_SUCCESS)
                free(c); /* the thread has ended: Windows drops its APCs too */
        }
    }
    /* FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: no packet for a success at once
     * on a handle opened for asynchronous I/O (the documented conditions). */
    struct wi_object *port = a ? atomic_load_explicit(&a->port, memory_order_acquire) : NULL;
    bool skip = port && at_once && status == 0 && obj->io_overlapped &&
                (atomic_load(&a->modes) & FILE_SKIP_COMPLETION_PORT_ON_SUCCESS);
    if (port && !r->no_port && !skip)
        wi_iocp_post(port, a->key, ov, status, bytes);
}

static void request_free(struct request *r)
{
    if (r->thread)
        wi_object_release(r->thread);
    free(r);
}

/* After a->lock is released: drop what finished requests held. */
static void finish_all(struct request *done)
{
    while (done) {
        struct request *next = done->next;
        struct wi_object *obj = done->obj;
        request_free(done);
        io_unref(obj);
        done = next;
    }
}

/* --- attempts -------------------------------------------------------------------------------- */

/* One attempt, through the type's io_try or, for a type without one, the
 * synchronous read_overlapped/write_overlapped (which never pend). */
static DWORD attempt(struct wi_object *obj, struct wi_io *io)
{
    DWORD err;
    io->wait_fd = -1;
    io->wait_events = 0;
    io->wait_word = NULL;
    io->wait_until = 0;
    if (has_io_try(obj)) {
        err = obj->ops->io_try(obj, io);
    } else if (io->op == WI_IO_READ) {
        err = obj->ops->read_overlapped(obj, io->buf, io->len, io->ov, &io->done);
    } else if (io->op == WI_IO_WRITE) {
        err = obj->ops->write_overlapped(obj, io->wbuf, io->wlen, io->ov, &io->done);
    } else {
        err = ERROR_INVALID_FUNCTION;
    }
    io->attempt++;
    return err;
}

/* Register what the pending heads wait for (a->lock held). A head whose
 * wait cannot be registered completes with that error (added to *done). */
static void arm(struct wi_async *a, struct request **done)
{
    struct {
        int fd;
        uint32_t events;
    } want[NQUEUES];
    unsigned nwant = 0;
    bool need_service = false;

    for (unsigned q = 0; q < NQUEUES; q++) {
        struct request *r = a->head[q];
        if (!r)
            continue;
        if (r->io.wait_word) {
            DWORD err = watcher_add(r->io.wait_word, r->io.wait_value, r->io.wait_until, a->token);
            if (err) {
                a->head[q] = r->next;
                if (!a->head[q])
                    a->tail[q] = NULL;
                deliver(a->obj, a, r, err, false);
                r->next = *done;
                *done = r;
            }
            continue;
        }
        if (r->io.wait_fd < 0)
            continue; /* the type kicks */
        unsigned k = 0;
        while (k < nwant && want[k].fd != r->io.wait_fd)
            k++;
        if (k == nwant) {
            want[nwant].fd = r->io.wait_fd;
            want[nwant++].events = 0;
        }
        want[k].events |= r->io.wait_events;
    }
    for (unsigned k = 0; k < nwant; k++) {
        bool known = false;
        for (unsigned i = 0; i < a->nreg; i++)
            known |= a->reg[i].fd == want[k].fd;
        struct epoll_event ev = {.events = want[k].events | EPOLLONESHOT, .data.u64 = a->token};
        int op = known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        int r = epoll_ctl(engine.epfd, op, want[k].fd, &ev);
        /* The cache can be wrong both ways: the fd was closed and its
         * number reused (MOD: ENOENT), or registered before under a number
         * we forgot (ADD: EEXIST). */
        if (r != 0 && op == EPOLL_CTL_MOD && errno == ENOENT)
            r = epoll_ctl(engine.epfd, EPOLL_CTL_ADD, want[k].fd, &ev);
        else if (r != 0 && op == EPOLL_CTL_ADD && errno == EEXIST)
            r = epoll_ctl(engine.epfd, EPOLL_CTL_MOD, want[k].fd, &ev);
        if (r != 0) {
            DWORD err = wi_error_from_errno(errno);
            for (unsigned q = 0; q < NQUEUES; q++) {
                struct request *h = a->head[q];
                if (!h || h->io.wait_word || h->io.wait_fd != want[k].fd)
                    continue;
                a->head[q] = h->next;
                if (!a->head[q])
                    a->tail[q] = NULL;
                deliver(a->obj, a, h, err, false);
                h->next = *done;
                *done = h;
            }
            want[k].fd = -1;
            continue;
        }
        need_service = true;
    }
    a->nreg = 0;
    for (unsigned k = 0; k < nwant; k++)
        if (want[k].fd >= 0)
            a->reg[a->nreg++].fd = want[k].fd;
    if (need_service)
        engine_arm();
}

/* Attempt the heads of queue q until one stays pending (a->lock held).
 * Finished requests are delivered and collected on *done. */
static void run_queue(struct wi_async *a, unsigned q, struct request **done)
{
    struct request *r;
    while ((r = a->head[q])) {
        DWORD err = attempt(a->obj, &r->io);
        if (err == ERROR_IO_PENDING)
            return;
        a->head[q] = r->next;
        if (!a->head[q])
            a->tail[q] = NULL;
        deliver(a->obj, a, r, err, false);
        r->next = *done;
        *done = r;
    }
}

/* Attempt every pending head again and re-arm what still waits. */
static void progress(struct wi_async *a)
{
    struct request *done = NULL;
    pthread_mutex_lock(&a->lock);
    bool any = false;
    for (unsigned q = 0; q < NQUEUES; q++) {
        if (a->head[q]) {
            run_queue(a, q, &done);
            any = true;
        }
    }
    if (any)
        arm(a, &done);
    pthread_mutex_unlock(&a->lock);
    finish_all(done);
}

/* Something an object's requests wait for happened (service thread or word
 * watcher). */
static void dispatch(uint64_t token)
{
    struct wi_async *a = token_get(token);
    if (!a)
        return; /* a registration that outlived its object */
    struct wi_object *obj = a->obj;
    progress(a);
    wi_object_release(obj);
}

void wi_async_kick(struct wi_object *obj)
{
    struct wi_async *a = state_of(obj);
    if (!a)
        return;
    atomic_fetch_add(&a->kicked.word, 1);
    wi_waitable_wake(&a->kicked);
    progress(a);
}

/* --- starting requests ------------------------------------------------------------------------- */

/* A synchronous handle: the request completes before the call returns.
 * While io_try answers ERROR_IO_PENDING, sleep on what it named. */
static DWORD run_blocking(struct wi_object *obj, struct wi_io *io)
{
    for (;;) {
        struct wi_async *a = state_of(obj);
        uint32_t kicks = a ? atomic_load(&a->kicked.word) : 0;
        DWORD err = attempt(obj, io);
        if (err != ERROR_IO_PENDING)
            return err;
        if (io->wait_fd >= 0) {
            struct pollfd p = {.fd = io->wait_fd,
                               .events = (short)((io->wait_events & EPOLLIN ? POLLIN : 0) |
                                                 (io->wait_events & EPOLLOUT ? POLLOUT : 0))};
            if (poll(&p, 1, -1) < 0 && errno != EINTR)
                return wi_error_from_errno(errno);
        } else if (io->wait_word) {
            struct wi_waitable *w = io->wait_word;
            struct timespec ts;
            atomic_fetch_add(&w->waiters, 1);
            wi_futex_wait(&w->word, io->wait_value, deadline_of(io->wait_until, &ts));
            atomic_fetch_sub(&w->waiters, 1);
        } else {
            /* Only a kick says the state changed: sleep on the kick word,
             * looking again every few ms in case it came before we slept. */
            DWORD err2 = state_get(obj, &a);
            if (err2)
                return err2;
            struct timespec ts;
            atomic_fetch_add(&a->kicked.waiters, 1);
            wi_futex_wait(&a->kicked.word, kicks, wi_deadline(10, &ts));
            atomic_fetch_sub(&a->kicked.waiters, 1);
        }
    }
}

DWORD wi_async_start(struct wi_object *obj, struct wi_io *io, LPOVERLAPPED_COMPLETION_ROUTINE routine, DWORD *done)
{
    OVERLAPPED *ov = io->ov;
    struct request *r;
    struct wi_async *a = state_of(obj);
    DWORD err;

    *done = 0;
    /* Windows refuses a completion routine on a handle whose completions go
     * to a port (the APC context would be the packet's). */
    if (routine && a && atomic_load_explicit(&a->port, memory_order_acquire))
        return ERROR_INVALID_PARAMETER;
    r = calloc(1, sizeof *r);
    if (!r)
        return ERROR_NOT_ENOUGH_MEMORY;
    r->io = *io;
    r->io.attempt = 0;
    r->io.issued = wi_monotonic_ns();
    r->io.closing = false;
    r->io.done = 0;
    memset(r->io.progress, 0, sizeof r->io.progress);
    r->obj = obj;
    r->routine = routine;
    r->issuer = self_id();
    if (!io->ex) {
        r->event = (HANDLE)((ULONG_PTR)ov->hEvent & ~(ULONG_PTR)1);
        r->no_port = ((ULONG_PTR)ov->hEvent & 1) != 0;
        /* Windows resets the event when the request is issued; an invalid
         * event handle fails the call before any transfer. */
        if (r->event && !ResetEvent(r->event)) {
            err = GetLastError();
            free(r);
            return err;
        }
    } else if (routine) {
        r->thread = wi_thread_current();
        if (!r->thread) {
            free(r);
            return ERROR_NOT_ENOUGH_MEMORY;
        }
    }
    __atomic_store_n(&ov->Internal, (ULONG_PTR)STATUS_PENDING, __ATOMIC_RELEASE);

    if (!obj->io_overlapped || !has_io_try(obj)) {
        /* Completes now: a synchronous handle (blocking as Windows does), or
         * a type whose requests never pend. */
        err = obj->io_overlapped ? attempt(obj, &r->io) : run_blocking(obj, &r->io);
        *done = r->io.done;
        deliver(obj, state_of(obj), r, err, true);
        request_free(r);
        return err;
    }

    err = state_get(obj, &a);
    if (err) {
        request_free(r);
        return err;
    }
    unsigned q = queue_of(io->op);
    struct request *finished = NULL;
    pthread_mutex_lock(&a->lock);
    if (!a->head[q]) {
        err = attempt(obj, &r->io);
        if (err != ERROR_IO_PENDING) {
            *done = r->io.done;
            deliver(obj, a, r, err, true);
            pthread_mutex_unlock(&a->lock);
            request_free(r);
            return err;
        }
    } else {
        err = ERROR_IO_PENDING; /* behind another request of its direction */
    }
    io_ref(obj);
    if (a->tail[q])
        a->tail[q]->next = r;
    else
        a->head[q] = r;
    a->tail[q] = r;
    if (a->head[q] == r)
        arm(a, &finished);
    pthread_mutex_unlock(&a->lock);
    finish_all(finished); /* arming failed: completed with that error */
    return ERROR_IO_PENDING;
}

/* --- cancellation, close ------------------------------------------------------------------------ */

/* Remove matching requests (a->lock held); each completes with the error
 * `final` gives it. Queues whose head went are attempted again. */
static unsigned cancel_locked(struct wi_async *a, const OVERLAPPED *ov, uint64_t issuer, bool closing,
                              struct request **done)
{
    unsigned n = 0;
    for (unsigned q = 0; q < NQUEUES; q++) {
        struct request **pp = &a->head[q], *prev = NULL;
        bool head_gone = false;
        while (*pp) {
            struct request *r = *pp;
            if ((ov && r->io.ov != ov) || (issuer && r->issuer != issuer)) {
                prev = r;
                pp = &r->next;
                continue;
            }
            if (r == a->head[q])
                head_gone = true;
            *pp = r->next;
            if (a->tail[q] == r)
                a->tail[q] = prev;
            DWORD err = ERROR_OPERATION_ABORTED;
            if (closing) {
                r->io.closing = true;
                err = attempt(a->obj, &r->io);
                if (err == ERROR_IO_PENDING)
                    err = ERROR_OPERATION_ABORTED;
            }
            deliver(a->obj, a, r, err, false);
            r->next = *done;
            *done = r;
            n++;
        }
        if (head_gone)
            run_queue(a, q, done);
    }
    arm(a, done);
    return n;
}

DWORD wi_async_cancel(struct wi_object *obj, const OVERLAPPED *ov, bool this_thread)
{
    struct wi_async *a = state_of(obj);
    struct request *done = NULL;
    if (!a)
        return ERROR_NOT_FOUND;
    pthread_mutex_lock(&a->lock);
    unsigned n = cancel_locked(a, ov, this_thread ? self_id() : 0, false, &done);
    pthread_mutex_unlock(&a->lock);
    finish_all(done);
    return n ? ERROR_SUCCESS : ERROR_NOT_FOUND;
}

void wi_async_orphaned(struct wi_object *obj)
{
    if (obj->ops->type == WI_TYPE_IOCP) {
        wi_iocp_orphaned(obj); /* a port's last handle: its waiters give up */
        return;
    }
    struct wi_async *a = state_of(obj);
    struct request *done = NULL;
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    cancel_locked(a, NULL, 0, true, &done);
    pthread_mutex_unlock(&a->lock);
    finish_all(done);
}

void wi_async_destroy(struct wi_object *obj)
{
    struct wi_async *a = state_of(obj);
    if (!a)
        return;
    /* No request can be pending: each holds a reference. */
    token_free(a);
    watcher_forget(a->token);
    struct wi_object *port = atomic_load(&a->port);
    if (port)
        io_unref(port);
    pthread_mutex_destroy(&a->lock);
    atomic_store(&obj->async, NULL);
    free(a);
}

/* --- waiting without an event ------------------------------------------------------------------ */

DWORD wi_async_wait(struct wi_object *obj, const OVERLAPPED *ov, DWORD ms, bool alertable)
{
    struct wi_async *a;
    struct timespec ts, *deadline = wi_deadline(ms, &ts);
    DWORD err = state_get(obj, &a);
    if (err)
        return WAIT_OBJECT_0; /* nothing can be pending without the state */
    struct wi_waitable *apc = alertable ? wi_thread_apc_waitable() : NULL;
    for (;;) {
        _Atomic uint32_t *words[2] = {&a->done.word, apc ? &apc->word : NULL};
        uint32_t vals[2] = {atomic_load(words[0]), apc ? atomic_load(words[1]) : 0};
        if ((DWORD)__atomic_load_n(&ov->Internal, __ATOMIC_ACQUIRE) != STATUS_PENDING)
            return WAIT_OBJECT_0;
        if (apc && wi_thread_run_apcs())
            return WAIT_IO_COMPLETION;
        if (ms == 0)
            return WAIT_TIMEOUT;
        atomic_fetch_add(&a->done.waiters, 1);
        if (apc)
            atomic_fetch_add(&apc->waiters, 1);
        int r = wi_futex_waitv(words, vals, apc ? 2 : 1, deadline);
        atomic_fetch_sub(&a->done.waiters, 1);
        if (apc)
            atomic_fetch_sub(&apc->waiters, 1);
        if (r == -ETIMEDOUT)
            ms = 0; /* one last look */
    }
}

/* --- completion ports ---------------------------------------------------------------------------- */

DWORD wi_async_associate(struct wi_object *obj, struct wi_object *port, ULONG_PTR key)
{
    struct wi_async *a;
    DWORD err = state_get(obj, &a);
    if (err)
        return err;
    pthread_mutex_lock(&a->lock);
    if (atomic_load(&a->port)) {
        err = ERROR_INVALID_PARAMETER; /* a handle is associated once, as on Windows */
    } else {
        io_ref(port); /* the port lives while it may receive our packets */
        a->key = key;
        atomic_store_explicit(&a->port, port, memory_order_release);
    }
    pthread_mutex_unlock(&a->lock);
    return err;
}

DWORD wi_async_set_modes(struct wi_object *obj, UCHAR flags)
{
    struct wi_async *a;
    DWORD err = state_get(obj, &a);
    if (err)
        return err;
    atomic_fetch_or(&a->modes, flags);
    return ERROR_SUCCESS;
}
