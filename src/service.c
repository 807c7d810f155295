/* SPDX-License-Identifier: MIT */
/* The service thread (see service.h). */
#include "service.h"

#include "error.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct watch {
    void (*fn)(void *arg);
    void *arg;
    struct watch *prev, *next; /* in `pending` until it fires */
};

/* Watches not fired yet. Only the kernel's epoll set points at them
 * otherwise, which leak checkers (LeakSanitizer, valgrind) cannot see: a
 * process ending while it watches, say, its parent would report a leak. */
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch pending = {.prev = &pending, .next = &pending};

static void pending_unlink(struct watch *w)
{
    pthread_mutex_lock(&pending_lock);
    w->prev->next = w->next;
    w->next->prev = w->prev;
    pthread_mutex_unlock(&pending_lock);
}

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int epfd = -1;

static void *service_main(void *unused)
{
    int fd = epfd;
    for (;;) {
        struct epoll_event ev[16];
        int n = epoll_wait(fd, ev, 16, -1);
        for (int i = 0; i < n; i++) {
            struct watch *w = ev[i].data.ptr;
            pending_unlink(w);
            w->fn(w->arg);
            free(w);
        }
    }
    return NULL;
}

/* fork() copies no threads: the child starts its own service thread on
 * first use, with its own epoll instance. */
static void forget_in_child(void)
{
    if (epfd >= 0)
        close(epfd);
    epfd = -1;
    pthread_mutex_init(&start_lock, NULL);
    pthread_mutex_init(&pending_lock, NULL); /* the parent's watches stay listed, never fire */
}

static DWORD service_start(void)
{
    DWORD err = ERROR_SUCCESS;
    pthread_mutex_lock(&start_lock);
    if (epfd < 0) {
        static int atfork_done;
        if (!atfork_done) {
            pthread_atfork(NULL, NULL, forget_in_child);
            atfork_done = 1;
        }
        int fd = epoll_create1(EPOLL_CLOEXEC);
        pthread_t t;
        pthread_attr_t attr;
        sigset_t all, old;
        if (fd < 0) {
            err = wi_error_from_errno(errno);
        } else {
            pthread_attr_init(&attr);
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            pthread_attr_setstacksize(&attr, 64 * 1024);
            /* The service thread must never receive the program's signals. */
            sigfillset(&all);
            pthread_sigmask(SIG_SETMASK, &all, &old);
            epfd = fd;
            int r = pthread_create(&t, &attr, service_main, NULL);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            pthread_attr_destroy(&attr);
            if (r != 0) {
                close(fd);
                epfd = -1;
                err = wi_error_from_errno(r);
            }
        }
    }
    pthread_mutex_unlock(&start_lock);
    return err;
}

DWORD wi_service_watch(int fd, void (*fn)(void *arg), void *arg)
{
    DWORD err = service_start();
    if (err)
        return err;
    struct watch *w = malloc(sizeof *w);
    if (!w)
        return ERROR_NOT_ENOUGH_MEMORY;
    w->fn = fn;
    w->arg = arg;
    pthread_mutex_lock(&pending_lock);
    w->prev = &pending;
    w->next = pending.next;
    pending.next->prev = w;
    pending.next = w;
    pthread_mutex_unlock(&pending_lock);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = w};
    /* A one-shot watch that fired leaves its fd in the epoll set, disabled:
     * watching that fd again re-arms it. */
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && (errno != EEXIST || epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) != 0)) {
        pending_unlink(w);
        free(w);
        return wi_error_from_errno(errno);
    }
    return ERROR_SUCCESS;
}
