/* SPDX-License-Identifier: MIT */
/* Thread death watches (see owner_watch.h).
 *
 * Registry: a process-local list of watched threads, each with its pidfd and
 * the objects to notify, under `lock`. The service thread removes an entry
 * when its pidfd fires and runs the callbacks outside the lock. */
#include "tls.h"
#include "owner_watch.h"

#include "error.h"
#include "service.h"
#include "wait.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

struct subscriber {
    struct wi_object *obj;
    wi_owner_died_fn died;
    struct subscriber *next;
};

struct watch {
    pid_t tid;
    uint64_t start;
    int pidfd;
    bool leader;         /* a process's main thread: its pidfd fires late */
    uint64_t polled_ns;  /* leader: when its liveness was last checked */
    struct subscriber *subs;
    struct watch *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch *watches;
static int no_thread_pidfd = -1; /* -1 unknown, 0 available, 1 not */

static void register_atfork(void);

/* The calling thread's identity, cached. */
static WI_THREAD_LOCAL pid_t self_tid;
static WI_THREAD_LOCAL uint64_t self_start;

static void forget_in_child(void)
{
    /* The child has none of our threads' watches (the service thread is
     * gone); drop the list without touching the objects it references. Its
     * only thread is a new thread: forget the forking thread's identity, or
     * the child would pass for its parent's thread (and own its mutexes). */
    watches = NULL;
    pthread_mutex_init(&lock, NULL);
    self_tid = 0;
    self_start = 0;
}

/* Start time of thread `tid`, 0 if it is gone; *zombie tells whether it has
 * ended but not been reaped yet (a dead process's main thread before its
 * parent waits for it, or a main thread that ended while others run). */
static uint64_t thread_stat(pid_t tid, bool *zombie)
{
    char path[64], buf[1024];
    *zombie = false;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* Field 2 (comm) may hold spaces and parentheses: count from the last
     * ')', which is followed by the space before field 3; starttime is
     * field 22. */
    char *p = strrchr(buf, ')');
    if (!p || !p[1] || !p[2])
        return 0;
    *zombie = p[2] == 'Z' || p[2] == 'X'; /* field 3: the state */
    p++;
    for (int field = 3; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

uint64_t wi_thread_start_time(pid_t tid)
{
    bool zombie;
    return thread_stat(tid, &zombie);
}

bool wi_thread_alive(pid_t tid, uint64_t start)
{
    bool zombie;
    uint64_t now = thread_stat(tid, &zombie);
    return now != 0 && now == start && !zombie;
}

bool wi_thread_exists(pid_t tid)
{
    bool zombie;
    return thread_stat(tid, &zombie) != 0 && !zombie;
}

bool wi_thread_is_group_leader(pid_t tid)
{
    /* tgkill(tid, tid, 0) succeeds only if tid is a thread group's id. */
    return syscall(SYS_tgkill, tid, tid, 0) == 0;
}

pid_t wi_thread_self_tid(void)
{
    if (!self_tid)
        self_tid = (pid_t)syscall(SYS_gettid);
    return self_tid;
}

uint64_t wi_thread_self_start(void)
{
    if (!self_start)
        self_start = wi_thread_start_time(wi_thread_self_tid());
    return self_start;
}

/* The callbacks run under `lock`, which wi_owner_unwatch also takes: an
 * object being destroyed is either still listed (and its callback finishes
 * before the destroy goes on) or already gone from the list. Callbacks only
 * do atomic updates and futex wakes, never take locks. */
static void on_thread_exit(void *arg)
{
    struct watch *w = arg, **pp;
    pthread_mutex_lock(&lock);
    for (pp = &watches; *pp && *pp != w; pp = &(*pp)->next)
        ;
    if (*pp)
        *pp = w->next;
    for (struct subscriber *s = w->subs, *next; s; s = next) {
        next = s->next;
        s->died(s->obj, w->tid, w->start);
        free(s);
    }
    pthread_mutex_unlock(&lock);
    close(w->pidfd);
    free(w);
}

void wi_owner_unwatch(struct wi_object *obj)
{
    pthread_mutex_lock(&lock);
    for (struct watch *w = watches; w; w = w->next) {
        struct subscriber **pp = &w->subs;
        while (*pp) {
            if ((*pp)->obj == obj) {
                struct subscriber *dead = *pp;
                *pp = dead->next;
                free(dead);
            } else {
                pp = &(*pp)->next;
            }
        }
    }
    pthread_mutex_unlock(&lock);
}

static bool thread_pidfds_disabled(void)
{
    if (no_thread_pidfd < 0) {
        const char *e = getenv("WINIPC_NO_PIDFD_THREAD");
        no_thread_pidfd = e && *e && strcmp(e, "0") != 0;
    }
    return no_thread_pidfd == 1;
}

/* After the watch is found or made: a main thread's watch asks the caller
 * to check liveness itself at most every WI_OWNER_POLL_MS. */
static void leader_poll(struct watch *w, bool *leader, bool *poll_now)
{
    *leader = w->leader;
    *poll_now = false;
    if (w->leader) {
        uint64_t now = wi_monotonic_ns();
        if (now - w->polled_ns >= (uint64_t)WI_OWNER_POLL_MS * 1000000u) {
            w->polled_ns = now;
            *poll_now = true;
        }
    }
}

DWORD wi_owner_watch(pid_t tid, uint64_t start, struct wi_object *obj, wi_owner_died_fn died, bool *leader,
                     bool *poll_now)
{
    *leader = *poll_now = false;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_atfork);
    if (thread_pidfds_disabled())
        return ERROR_NOT_SUPPORTED;

    pthread_mutex_lock(&lock);
    struct watch *w;
    for (w = watches; w && !(w->tid == tid && w->start == start); w = w->next)
        ;
    if (w) {
        leader_poll(w, leader, poll_now);
        for (struct subscriber *s = w->subs; s; s = s->next)
            if (s->obj == obj) {
                pthread_mutex_unlock(&lock);
                return ERROR_SUCCESS;
            }
    } else {
        int fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
        if (fd < 0) {
            int e = errno;
            pthread_mutex_unlock(&lock);
            if (e == ESRCH)
                return ERROR_NOT_FOUND;
            if (e == EINVAL || e == ENOSYS) {
                no_thread_pidfd = 1; /* kernel before 6.9 */
                return ERROR_NOT_SUPPORTED;
            }
            return wi_error_from_errno(e);
        }
        /* The pidfd names whichever thread has that tid now; it is ours
         * only if its start time matches. Checked after opening, so the
         * thread cannot be replaced between the check and the watch. */
        if (wi_thread_start_time(tid) != start) {
            close(fd);
            pthread_mutex_unlock(&lock);
            return ERROR_NOT_FOUND;
        }
        w = calloc(1, sizeof *w);
        if (!w) {
            close(fd);
            pthread_mutex_unlock(&lock);
            return ERROR_NOT_ENOUGH_MEMORY;
        }
        w->tid = tid;
        w->start = start;
        w->pidfd = fd;
        w->leader = wi_thread_is_group_leader(tid);
        w->polled_ns = wi_monotonic_ns(); /* just found alive */
        leader_poll(w, leader, poll_now);
        DWORD err = wi_service_watch(fd, on_thread_exit, w);
        if (err) {
            close(fd);
            free(w);
            pthread_mutex_unlock(&lock);
            return err;
        }
        w->next = watches;
        watches = w;
    }
    struct subscriber *s = malloc(sizeof *s);
    if (!s) {
        pthread_mutex_unlock(&lock);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    s->obj = obj; /* no reference: the object unwatches itself when destroyed */
    s->died = died;
    s->next = w->subs;
    w->subs = s;
    pthread_mutex_unlock(&lock);
    return ERROR_SUCCESS;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_in_child);
}
