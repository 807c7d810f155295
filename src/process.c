/* SPDX-License-Identifier: MIT */
/* Process objects: waitable handles on processes, exit codes, termination,
 * and CreateProcess.
 *
 * A process object is local to the process holding the handle. It names its
 * process by a pidfd (never by the pid alone: pids are reused) and becomes
 * signaled when the pidfd turns readable, which the service thread reports
 * (service.c). Children we started are reaped there, which yields their exit
 * status; see process_exit_code() for how a Linux status becomes a Windows
 * exit code.
 *
 * State (all under `lock`, except w.word which waiters read atomically):
 *   w.word    0 while running, 1 once exited (set once, by the service thread
 *             or by a thread that reaped the child itself)
 *   exit_code valid once w.word == 1 and `code_known`
 *
 * CreateProcess checks its arguments the Windows way, has launch.c find and
 * start the program, and hands the child the start block (inherit.h):
 * command line, STARTUPINFO, exit record, inherited handles.
 *
 * PROCESS_INFORMATION.hThread is a "remote thread" object (below): the
 * main thread of the child as far as Windows code can observe it — waitable
 * until the process ends, ResumeThread for CREATE_SUSPENDED. */
#include "process.h"

#include "cmdline.h"
#include "error.h"
#include "futex.h"
#include "handle.h"
#include "inherit.h"
#include "launch.h"
#include "security.h"
#include "thread.h"
#include "service.h"
#include "unicode.h"
#include "wait.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif


static struct process *as_process(struct wi_object *obj)
{
    return (struct process *)obj;
}

/* A pidfd polls readable once its process has exited. */
static bool pidfd_exited(int pidfd)
{
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    return poll(&pfd, 1, 0) == 1;
}

/* waitid(WNOWAIT) succeeds only on our own children, alive or zombie. */
static bool is_our_child(pid_t pid)
{
    siginfo_t si;
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

static int pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* pidfds need Linux 5.3, and valgrind before 3.20 does not know them.
 * Without them (or with WINIPC_NO_PIDFD=1, to test this path), a child of
 * ours is still watched exactly: nobody else may reap it, so its pid stays
 * its own, and a small thread waiting in waitid(WNOWAIT) makes a pipe
 * readable when it exits; the pipe stands in for the pidfd. Processes that
 * are not our children cannot be opened then (ERROR_NOT_SUPPORTED). */
static pthread_once_t pidfd_once = PTHREAD_ONCE_INIT;
static bool pidfd_ok;

static void probe_pidfd(void)
{
    const char *force = getenv("WINIPC_NO_PIDFD");
    if (force && *force && strcmp(force, "0") != 0)
        return;
    int fd = pidfd_open(getpid());
    if (fd >= 0) {
        close(fd);
        pidfd_ok = true;
    }
}

static bool have_pidfd(void)
{
    pthread_once(&pidfd_once, probe_pidfd);
    return pidfd_ok;
}

struct exit_waiter {
    pid_t pid;
    int wfd;
};

static void *exit_waiter_main(void *arg)
{
    struct exit_waiter *w = arg;
    siginfo_t si;
    while (waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOWAIT) != 0 && errno == EINTR)
        ;
    ssize_t n = write(w->wfd, "x", 1);
    (void)n;
    close(w->wfd);
    free(w);
    return NULL;
}

/* The stand-in for pidfd_open(pid) on a child of ours. */
static int child_exit_fd(pid_t pid)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    struct exit_waiter *w = malloc(sizeof *w);
    pthread_attr_t attr;
    pthread_t t;
    sigset_t all, old;
    int r = ENOMEM;
    if (w) {
        w->pid = pid;
        w->wfd = fds[1];
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old); /* the program's signals are not for it */
        r = pthread_create(&t, &attr, exit_waiter_main, w);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
    }
    if (r != 0) {
        free(w);
        close(fds[0]);
        close(fds[1]);
        errno = r;
        return -1;
    }
    return fds[0];
}

/* A descriptor that turns readable when `pid` exits: its pidfd, or the
 * stand-in above (children only). */
static int exit_fd(pid_t pid, bool child, bool *is_pipe)
{
    *is_pipe = false;
    if (have_pidfd())
        return pidfd_open(pid);
    if (!child) {
        errno = ENOSYS;
        return -1;
    }
    *is_pipe = true;
    return child_exit_fd(pid);
}

/* Send `sig` to the process behind `p` (which is not the caller). A pidfd
 * cannot hit a reused pid; without one `p` is an unreaped child of ours,
 * whose pid cannot be reused either. */
static int process_kill(const struct process *p, int sig)
{
    if (p->pidfd_is_pipe)
        return kill(p->pid, sig);
    return (int)syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0);
}

static struct wi_waitable *process_waitable(struct wi_object *obj)
{
    return &as_process(obj)->w;
}

static DWORD process_try_satisfy(struct wi_object *obj, uint32_t *cookie, unsigned mode)
{
    return atomic_load(&as_process(obj)->w.word) ? WAIT_OBJECT_0 : WAIT_TIMEOUT;
}

/* --- Children ------------------------------------------------------------------
 *
 * A child can be reaped once, but several process objects may name it (the
 * one CreateProcess returned, OpenProcess on its pid). They share one
 * struct wi_child: whichever object sees the exit first reaps the child and
 * stores its status here for all. Everything in it is under children_lock.
 * An entry lives while process objects refer to it; a pid is never reused
 * while its child is unreaped, so looking up an unreaped entry by pid is
 * safe. */
struct wi_child {
    struct wi_child *next;
    int refs;
    pid_t pid;
    bool reaped;
    bool lost; /* reaped by someone else: no status */
    siginfo_t status;
    bool terminated; /* TerminateProcess through any of the objects */
    DWORD terminate_code;
    struct wi_exit_record *record; /* winipc children: the exit record */
    int record_fd;
};

static pthread_mutex_t children_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wi_child *children;

/* fork() by the program: the lock must not be copied while held. */
static void children_lock_acquire(void)
{
    pthread_mutex_lock(&children_lock);
}

static void children_lock_release(void)
{
    pthread_mutex_unlock(&children_lock);
}

__attribute__((constructor)) static void children_atfork(void)
{
    pthread_atfork(children_lock_acquire, children_lock_release, children_lock_release);
}

/* The unreaped entry for `pid`, made if missing (taking over record and
 * record_fd then). */
static struct wi_child *child_get(pid_t pid, struct wi_exit_record *record, int record_fd)
{
    pthread_mutex_lock(&children_lock);
    struct wi_child *c;
    for (c = children; c; c = c->next)
        if (c->pid == pid && !c->reaped)
            break;
    if (c) {
        c->refs++;
    } else if ((c = calloc(1, sizeof *c)) != NULL) {
        c->refs = 1;
        c->pid = pid;
        c->record = record;
        c->record_fd = record_fd;
        c->next = children;
        children = c;
    }
    pthread_mutex_unlock(&children_lock);
    return c;
}

static void child_put(struct wi_child *c)
{
    pthread_mutex_lock(&children_lock);
    bool last = --c->refs == 0;
    if (last) {
        struct wi_child **link = &children;
        while (*link != c)
            link = &(*link)->next;
        *link = c->next;
    }
    pthread_mutex_unlock(&children_lock);
    if (!last)
        return;
    if (c->record)
        munmap(c->record, sizeof *c->record);
    if (c->record_fd >= 0)
        close(c->record_fd);
    free(c);
}

static void process_destroy(struct wi_object *obj)
{
    struct process *p = as_process(obj);
    if (p->pidfd >= 0)
        close(p->pidfd);
    if (p->child)
        child_put(p->child);
    if (p->record)
        munmap(p->record, sizeof *p->record);
    if (p->record_fd >= 0)
        close(p->record_fd);
    pthread_mutex_destroy(&p->lock);
}

static DWORD process_export(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len);
static DWORD process_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len,
                            struct wi_object **out);

const struct wi_object_ops wi_process_ops = {
    .name = "Process",
    .type = WI_TYPE_PROCESS,
    .generic_map = {STANDARD_RIGHTS_READ | PROCESS_QUERY_INFORMATION | PROCESS_VM_READ,
                    STANDARD_RIGHTS_WRITE | PROCESS_CREATE_PROCESS | PROCESS_CREATE_THREAD | PROCESS_VM_OPERATION |
                        PROCESS_VM_WRITE | PROCESS_DUP_HANDLE | PROCESS_TERMINATE | PROCESS_SET_QUOTA |
                        PROCESS_SET_INFORMATION | PROCESS_SUSPEND_RESUME,
                    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_ALL_ACCESS},
    .waitable = process_waitable,
    .try_satisfy = process_try_satisfy,
    .wait_prepare = wi_no_wait_prepare,
    .consumable = false,
    .signal = wi_no_signal,
    .read = wi_no_read,
    .write = wi_no_write,
    .flush = wi_no_flush,
    .read_overlapped = wi_sync_read_overlapped,
    .write_overlapped = wi_sync_write_overlapped,
    .io_try = wi_no_io_try,
    .std_fd = wi_no_std_fd,
    .export_fds = process_export,
    .import = process_import,
    .destroy = process_destroy,
};

/* How a Linux wait status reads as a Windows exit code. A normal exit keeps
 * its status (only 8 bits survive Linux's exit(); a winipc child reports the
 * full 32-bit code through its exit record, see exit_record in process.h).
 * Death by signal maps to the exception code Windows would report for the
 * same fault; any other signal (SIGKILL from outside) reads as exit code 1, as after
 * "taskkill /f". A code given to TerminateProcess wins over all of these. */
static DWORD code_from_status(const siginfo_t *si)
{
    if (si->si_code == CLD_EXITED)
        return (DWORD)si->si_status;
    switch (si->si_status) {
    case SIGSEGV:
    case SIGBUS:
        return STATUS_ACCESS_VIOLATION;
    case SIGILL:
        return STATUS_ILLEGAL_INSTRUCTION;
    case SIGFPE:
        return STATUS_INTEGER_DIVIDE_BY_ZERO;
    case SIGABRT:
        return 3; /* abort() exits with 3 on Windows */
    case SIGINT:
        return STATUS_CONTROL_C_EXIT;
    default:
        return 1;
    }
}

/* The code in an exit record, if one was written completely. */
static bool record_code(const struct wi_exit_record *r, DWORD *code)
{
    if (!r || atomic_load(&r->valid) != WI_RECORD_VALID)
        return false;
    *code = atomic_load(&r->code);
    return true;
}

/* Write an exit record once: the first writer (ExitProcess in the process
 * itself, or a TerminateProcess from outside) wins. */
static void record_write(struct wi_exit_record *r, DWORD code)
{
    uint32_t expect = 0;
    if (!r || !atomic_compare_exchange_strong(&r->valid, &expect, WI_RECORD_WRITING))
        return;
    atomic_store(&r->code, code);
    atomic_store(&r->valid, WI_RECORD_VALID);
}

/* The Windows exit code of a reaped child; children_lock held. The record
 * is believed only when the status agrees with it: an exit with the
 * record's low 8 bits (ExitProcess), or SIGKILL (TerminateProcess by a
 * holder of the record in another process). */
static bool child_code(const struct wi_child *c, DWORD *code)
{
    DWORD rc;
    const siginfo_t *si = &c->status;
    if (c->terminated) {
        *code = c->terminate_code;
        return true;
    }
    if (c->lost) /* no status; only a complete record can tell */
        return record_code(c->record, code);
    if (record_code(c->record, &rc) && ((si->si_code == CLD_EXITED && (DWORD)si->si_status == (rc & 0xff)) ||
                                        (si->si_code == CLD_KILLED && si->si_status == SIGKILL))) {
        *code = rc;
        return true;
    }
    *code = code_from_status(si);
    return true;
}

/* Collect the exit of `p` if it happened; called with p->lock held. */
static void collect_exit(struct process *p)
{
    DWORD rc;
    if (atomic_load(&p->w.word))
        return;
    if (p->child) {
        struct wi_child *c = p->child;
        pthread_mutex_lock(&children_lock);
        if (!c->reaped) {
            siginfo_t si = {0};
            int r = p->pidfd_is_pipe ? waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG)
                                     : waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG);
            if (r == 0 && si.si_pid != 0) {
                c->reaped = true;
                c->status = si;
            } else if (r != 0 && errno == ECHILD && (p->pidfd_is_pipe || pidfd_exited(p->pidfd))) {
                /* Reaped behind our back (a SIGCHLD handler calling
                 * waitpid(-1), or SIGCHLD ignored): it ended, we cannot
                 * know how. (ECHILD while it runs: we are a fork() of its
                 * parent, and it is no child of ours.) */
                c->reaped = true;
                c->lost = true;
            }
        }
        bool done = c->reaped;
        bool known = done && child_code(c, &p->exit_code);
        pthread_mutex_unlock(&children_lock);
        if (!done)
            return; /* still running */
        p->code_known = known;
    } else {
        /* Not our child: we see that it ended, not how, unless we hold its
         * exit record (an inherited handle to a winipc child). */
        if (!pidfd_exited(p->pidfd))
            return;
        if (p->terminated) {
            p->exit_code = p->terminate_code;
            p->code_known = true;
        } else if (record_code(p->record, &rc)) {
            p->exit_code = rc;
            p->code_known = true;
        }
    }
    atomic_store(&p->w.word, 1);
    wi_waitable_wake(&p->w);
}

static void on_pidfd_ready(void *arg)
{
    struct process *p = arg;
    pthread_mutex_lock(&p->lock);
    collect_exit(p);
    pthread_mutex_unlock(&p->lock);
    wi_object_release(&p->obj); /* the watch's reference */
}

/* A new process object; takes over pidfd and record/record_fd on success
 * only (record may be NULL, record_fd -1). For a child, the record goes to
 * the shared child entry, unless the entry existed with its own. */
static DWORD process_create(pid_t pid, int pidfd, bool pidfd_is_pipe, bool is_child, struct wi_exit_record *record,
                            int record_fd, struct process **out)
{
    struct process *p = wi_object_alloc(&wi_process_ops, sizeof *p);
    if (!p)
        return ERROR_NOT_ENOUGH_MEMORY;
    p->pid = pid;
    p->pidfd = -1;
    p->record_fd = -1;
    pthread_mutex_init(&p->lock, NULL);
    if (is_child) {
        p->child = child_get(pid, record, record_fd);
        if (!p->child) {
            wi_object_release(&p->obj);
            return ERROR_NOT_ENOUGH_MEMORY;
        }
    } else {
        p->record = record;
        p->record_fd = record_fd;
    }
    if (pidfd >= 0) {
        p->pidfd = pidfd; /* before the watch: it may fire at once */
        p->pidfd_is_pipe = pidfd_is_pipe;
        wi_object_ref(&p->obj);
        DWORD err = wi_service_watch(pidfd, on_pidfd_ready, p);
        if (err) {
            /* Give everything back to the caller. */
            p->pidfd = -1;
            if (p->child) {
                pthread_mutex_lock(&children_lock);
                if (record && p->child->record == record) {
                    p->child->record = NULL;
                    p->child->record_fd = -1;
                }
                pthread_mutex_unlock(&children_lock);
            }
            p->record = NULL;
            p->record_fd = -1;
            wi_object_release(&p->obj);
            wi_object_release(&p->obj);
            return err;
        }
    }
    if (p->child && record && p->child->record != record) {
        munmap(record, sizeof *record); /* the entry existed and keeps its own */
        close(record_fd);
    }
    *out = p;
    return ERROR_SUCCESS;
}

DWORD wi_process_new(pid_t pid, int pidfd, bool is_child, struct process **out)
{
    return process_create(pid, pidfd, false, is_child, NULL, -1, out);
}

struct wi_object *wi_process_current(void)
{
    static struct process *self;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    /* After fork() the child is another process: make a new object. */
    if (!self || self->pid != getpid()) {
        struct process *p;
        if (wi_process_new(getpid(), -1, false, &p) == ERROR_SUCCESS)
            self = p; /* lives as long as the process; never signaled */
    }
    struct process *s = self;
    if (s)
        wi_object_ref(&s->obj);
    pthread_mutex_unlock(&lock);
    return s ? &s->obj : NULL;
}

bool wi_process_is_current(struct wi_object *obj)
{
    return as_process(obj)->pid == getpid() && as_process(obj)->pidfd < 0;
}

pid_t wi_process_pid(struct wi_object *obj)
{
    return as_process(obj)->pid;
}

/* The exit record this process got from its parent, NULL if none. */
static struct wi_exit_record *own_record;

void wi_process_mark_ready(void)
{
    if (own_record) {
        atomic_store(&own_record->ready, 1);
        wi_futex_wake(&own_record->ready, INT_MAX);
    }
}

bool wi_process_wait_ready(struct wi_object *obj, DWORD ms)
{
    struct process *p = as_process(obj);
    struct wi_exit_record *r = p->child ? p->child->record : p->record;
    struct timespec ts, *deadline = wi_deadline(ms, &ts);
    if (!r)
        return false;
    while (!atomic_load(&r->ready)) {
        if (!wi_process_alive(obj))
            return false;
        /* Bounded steps: the child may die without ever waking us. */
        struct timespec step;
        wi_deadline(10, &step);
        if (deadline && (step.tv_sec > deadline->tv_sec ||
                         (step.tv_sec == deadline->tv_sec && step.tv_nsec > deadline->tv_nsec)))
            step = *deadline;
        if (wi_futex_wait(&r->ready, 0, &step) == ETIMEDOUT && deadline && step.tv_sec == deadline->tv_sec &&
            step.tv_nsec == deadline->tv_nsec)
            return atomic_load(&r->ready) != 0;
    }
    return true;
}

bool wi_process_alive(struct wi_object *obj)
{
    struct process *p = as_process(obj);
    if (wi_process_is_current(obj))
        return true;
    return !atomic_load(&p->w.word) && process_kill(p, 0) == 0;
}

/* Inheritance: the child gets a pidfd of its own for the same process and,
 * for a winipc child of ours, its exit record, so it can learn a full exit
 * code although it cannot reap the process. */
struct process_blob {
    int32_t pid;
    uint32_t code_known;
    uint32_t exit_code;
    uint32_t has_record;
};

static DWORD process_export(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len)
{
    struct process *p = as_process(obj);
    struct process_blob b = {.pid = p->pid};
    if (p->pidfd_is_pipe || (p->pidfd < 0 && !have_pidfd()))
        return ERROR_NOT_SUPPORTED; /* the receiver could not watch it */
    int fd = p->pidfd >= 0 ? fcntl(p->pidfd, F_DUPFD_CLOEXEC, 3) : pidfd_open(p->pid);
    if (fd < 0)
        return wi_error_from_errno(errno);
    fds[0] = fd;
    *nfds = 1;
    pthread_mutex_lock(&p->lock);
    if (p->pidfd >= 0)
        collect_exit(p);
    b.code_known = atomic_load(&p->w.word) && p->code_known;
    b.exit_code = p->exit_code;
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_lock(&children_lock);
    int record_fd = p->child ? p->child->record_fd : p->record_fd;
    int rfd = record_fd >= 0 ? fcntl(record_fd, F_DUPFD_CLOEXEC, 3) : -1;
    pthread_mutex_unlock(&children_lock);
    if (record_fd >= 0) {
        if (rfd < 0) {
            DWORD err = wi_error_from_errno(errno);
            close(fd);
            return err;
        }
        fds[1] = rfd;
        *nfds = 2;
        b.has_record = 1;
    }
    memcpy(blob, &b, sizeof b);
    *blob_len = sizeof b;
    return ERROR_SUCCESS;
}

static DWORD process_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len,
                            struct wi_object **out)
{
    struct process_blob b;
    struct process *p;
    if (blob_len != sizeof b || nfds < 1)
        return ERROR_INVALID_PARAMETER;
    memcpy(&b, blob, sizeof b);
    if (nfds != (b.has_record ? 2u : 1u))
        return ERROR_INVALID_PARAMETER;
    struct wi_exit_record *record = NULL;
    if (b.has_record) {
        void *r = mmap(NULL, sizeof *record, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
        if (r == MAP_FAILED)
            return wi_error_from_errno(errno);
        record = r;
    }
    DWORD err = process_create(b.pid, fds[0], false, is_our_child(b.pid), record, b.has_record ? fds[1] : -1, &p);
    if (err) {
        if (record)
            munmap(record, sizeof *record);
        return err;
    }
    if (b.code_known) {
        pthread_mutex_lock(&p->lock);
        if (!p->code_known) {
            p->exit_code = b.exit_code;
            p->code_known = true;
        }
        pthread_mutex_unlock(&p->lock);
    }
    *out = &p->obj;
    return ERROR_SUCCESS;
}

/* --- The main thread of a child ------------------------------------------------
 *
 * Linux gives no handle on another process's thread that could be resumed
 * or waited on apart from its process, and Windows code uses
 * PROCESS_INFORMATION.hThread for exactly three things: ResumeThread after
 * CREATE_SUSPENDED, waiting for the end, and GetExitCodeThread. The object
 * shares its process's waitable (signaled when the process has exited,
 * which is when the main thread of a Windows process has certainly ended
 * too). suspend_count is under `lock`; a CREATE_SUSPENDED child is stopped
 * (SIGSTOP) before its program runs, and the last ResumeThread sends
 * SIGCONT. */
struct remote_thread {
    struct wi_object obj; /* must be first */
    struct process *proc; /* a reference */
    pthread_mutex_t lock;
    DWORD suspend_count;
};

static struct remote_thread *as_remote(struct wi_object *obj)
{
    return (struct remote_thread *)obj;
}

static struct wi_waitable *remote_waitable(struct wi_object *obj)
{
    return &as_remote(obj)->proc->w;
}

static DWORD remote_try_satisfy(struct wi_object *obj, uint32_t *cookie, unsigned mode)
{
    return atomic_load(&as_remote(obj)->proc->w.word) ? WAIT_OBJECT_0 : WAIT_TIMEOUT;
}

static void remote_destroy(struct wi_object *obj)
{
    struct remote_thread *t = as_remote(obj);
    wi_object_release(&t->proc->obj);
    pthread_mutex_destroy(&t->lock);
}

const struct wi_object_ops wi_remote_thread_ops = {
    .name = "Thread",
    .type = WI_TYPE_THREAD,
    .generic_map = WI_THREAD_GENERIC_MAP,
    .waitable = remote_waitable,
    .try_satisfy = remote_try_satisfy,
    .wait_prepare = wi_no_wait_prepare,
    .consumable = false,
    .signal = wi_no_signal,
    .read = wi_no_read,
    .write = wi_no_write,
    .flush = wi_no_flush,
    .read_overlapped = wi_sync_read_overlapped,
    .write_overlapped = wi_sync_write_overlapped,
    .io_try = wi_no_io_try,
    .std_fd = wi_no_std_fd,
    /* A thread of another process cannot be rebuilt in a third one. */
    .export_fds = wi_no_export_fds,
    .import = wi_no_import,
    .destroy = remote_destroy,
};

DWORD wi_remote_thread_resume(struct wi_object *obj, DWORD *previous)
{
    struct remote_thread *t = as_remote(obj);
    DWORD err = ERROR_SUCCESS;
    pthread_mutex_lock(&t->lock);
    *previous = t->suspend_count;
    if (t->suspend_count && --t->suspend_count == 0 && !atomic_load(&t->proc->w.word)) {
        /* The child stopped itself before exec (launch.c); the
         * process may have died meanwhile, which is not an error. */
        if (process_kill(t->proc, SIGCONT) != 0 && errno != ESRCH)
            err = wi_error_from_errno(errno);
    }
    pthread_mutex_unlock(&t->lock);
    return err;
}

DWORD wi_remote_thread_exit_code(struct wi_object *obj, DWORD *code)
{
    struct process *p = as_remote(obj)->proc;
    DWORD err = ERROR_SUCCESS;
    pthread_mutex_lock(&p->lock);
    collect_exit(p);
    if (!atomic_load(&p->w.word))
        *code = STILL_ACTIVE;
    else if (p->code_known)
        *code = p->exit_code;
    else
        err = ERROR_NOT_SUPPORTED;
    pthread_mutex_unlock(&p->lock);
    return err;
}

DWORD wi_remote_thread_id(struct wi_object *obj)
{
    return (DWORD)as_remote(obj)->proc->pid;
}

/* --- CreateProcess ------------------------------------------------------------- */

struct create_args {
    const char *app;     /* UTF-8 or NULL */
    const char *cmdline; /* UTF-8 or NULL */
    const SECURITY_ATTRIBUTES *process_sa, *thread_sa;
    bool inherit;
    DWORD flags;
    const void *env;
    const char *cwd;
    const STARTUPINFOA *si; /* strings in UTF-8 */
    PROCESS_INFORMATION *pi;
};

#define PRIORITY_CLASSES                                                                                   \
    (IDLE_PRIORITY_CLASS | BELOW_NORMAL_PRIORITY_CLASS | NORMAL_PRIORITY_CLASS | ABOVE_NORMAL_PRIORITY_CLASS | \
     HIGH_PRIORITY_CLASS | REALTIME_PRIORITY_CLASS)

/* Flags with a Linux meaning, and flags whose subject does not exist here
 * (consoles, 16-bit VDMs, error modes, jobs, affinity that Linux always
 * inherits): both accepted. Debugging, protected processes and extended
 * startup info are refused with ERROR_NOT_SUPPORTED; unknown bits with
 * ERROR_INVALID_PARAMETER. */
#define ACCEPTED_FLAGS                                                                                   \
    (CREATE_SUSPENDED | DETACHED_PROCESS | CREATE_NEW_CONSOLE | CREATE_NO_WINDOW | PRIORITY_CLASSES |      \
     CREATE_NEW_PROCESS_GROUP | CREATE_UNICODE_ENVIRONMENT | CREATE_SEPARATE_WOW_VDM | CREATE_SHARED_WOW_VDM | \
     INHERIT_PARENT_AFFINITY | CREATE_BREAKAWAY_FROM_JOB | CREATE_DEFAULT_ERROR_MODE)
#define REFUSED_FLAGS \
    (DEBUG_PROCESS | DEBUG_ONLY_THIS_PROCESS | CREATE_PROTECTED_PROCESS | EXTENDED_STARTUPINFO_PRESENT)

/* Windows priority classes as nice values (Windows base priorities 4, 6,
 * 8, 10, 13, 24 spread over Linux's 19..-20). */
static int class_nice(DWORD cls)
{
    switch (cls) {
    case IDLE_PRIORITY_CLASS:
        return 19;
    case BELOW_NORMAL_PRIORITY_CLASS:
        return 10;
    case NORMAL_PRIORITY_CLASS:
        return 0;
    case ABOVE_NORMAL_PRIORITY_CLASS:
        return -5;
    case HIGH_PRIORITY_CLASS:
        return -10;
    case REALTIME_PRIORITY_CLASS:
        return -20;
    default:
        return WI_NO_NICE;
    }
}

static DWORD nice_class(int nice)
{
    if (nice >= 15)
        return IDLE_PRIORITY_CLASS;
    if (nice >= 5)
        return BELOW_NORMAL_PRIORITY_CLASS;
    if (nice >= -2)
        return NORMAL_PRIORITY_CLASS;
    if (nice >= -7)
        return ABOVE_NORMAL_PRIORITY_CLASS;
    if (nice >= -15)
        return HIGH_PRIORITY_CLASS;
    return REALTIME_PRIORITY_CLASS;
}

/* The fd a standard handle gives the child, as a close-on-exec copy >= 3.
 * No handle (NULL or INVALID_HANDLE_VALUE) gives /dev/null: Linux
 * programs expect fds 0-2 to be open. */
static DWORD std_source(HANDLE h, int *out)
{
    int fd;
    if (!h || h == INVALID_HANDLE_VALUE) {
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd >= 0)
            fd = wi_fd_above_std(fd);
    } else {
        struct wi_pin pin;
        DWORD err = wi_handle_get(h, WI_TYPE_NONE, 0, &pin);
        if (err)
            return err;
        int src = pin.obj->ops->std_fd(pin.obj);
        /* Not an I/O object (an event, a process): it cannot be a stream. */
        fd = src >= 0 ? fcntl(src, F_DUPFD_CLOEXEC, 3) : -2;
        wi_handle_put(&pin);
        if (fd == -2)
            return ERROR_INVALID_HANDLE;
    }
    if (fd < 0)
        return wi_error_from_errno(errno);
    *out = fd;
    return ERROR_SUCCESS;
}

static DWORD create_process(const struct create_args *a)
{
    DWORD err, pflags = 0, tflags = 0;
    bool world;
    char *exe = NULL, *cmdline = NULL, **argv = NULL;
    int argc;
    struct stat st;
    char **envp = NULL;
    struct wi_start_block block = {.fd = -1, .record_fd = -1};
    struct wi_launch_plan sp = {.std_fds = {-1, -1, -1}, .nice = WI_NO_NICE};
    struct wi_start_request req;
    char start_var[64];
    pid_t pid = -1;
    int pidfd;
    struct process *p = NULL;
    struct remote_thread *t = NULL;
    HANDLE hp = NULL, ht = NULL;

    if (!a->si || !a->pi)
        return ERROR_NOACCESS;
    if (!a->app && !a->cmdline)
        return ERROR_INVALID_PARAMETER;
    if (a->flags & REFUSED_FLAGS)
        return ERROR_NOT_SUPPORTED;
    if (a->flags & ~(DWORD)(ACCEPTED_FLAGS | REFUSED_FLAGS))
        return ERROR_INVALID_PARAMETER;
    /* Windows: a console process cannot be both detached and given a new
     * console. */
    if ((a->flags & DETACHED_PROCESS) && (a->flags & CREATE_NEW_CONSOLE))
        return ERROR_INVALID_PARAMETER;
    DWORD cls = a->flags & PRIORITY_CLASSES;
    if (cls & (cls - 1))
        return ERROR_INVALID_PARAMETER; /* more than one class */
    if (a->si->cbReserved2 && !a->si->lpReserved2)
        return ERROR_INVALID_PARAMETER;
    if ((err = wi_sa_parse(a->process_sa, &pflags, &world)) != ERROR_SUCCESS ||
        (err = wi_sa_parse(a->thread_sa, &tflags, &world)) != ERROR_SUCCESS)
        return err;
    /* 32767 characters including the terminating NUL (UNICODE_STRING). */
    if (a->cmdline && wi_cmdline_utf16_len(a->cmdline) >= 32767)
        return ERROR_FILENAME_EXCED_RANGE;

    /* The command line the child sees: lpCommandLine, or (NULL or empty)
     * the application name, quoted when it holds white space. */
    if (a->cmdline && *a->cmdline) {
        cmdline = strdup(a->cmdline);
    } else {
        char *one[2] = {(char *)a->app, NULL};
        cmdline = wi_cmdline_from_argv(one, 1);
    }
    if (!cmdline)
        return ERROR_NOT_ENOUGH_MEMORY;

    if (cls) {
        errno = 0;
        int now = getpriority(PRIO_PROCESS, 0);
        if (errno == 0 && now != class_nice(cls))
            sp.nice = class_nice(cls);
    }

    /* A suspended child is stopped before exec and cannot report a bad
     * format then: check it first. */
    err = wi_launch_find(a->app, cmdline, a->flags & CREATE_SUSPENDED, &exe, &st);
    if (err)
        goto out;

    /* Windows: a current directory that is not an existing directory. */
    if (a->cwd) {
        struct stat cst;
        if (!*a->cwd || stat(a->cwd, &cst) != 0 || !S_ISDIR(cst.st_mode)) {
            err = ERROR_DIRECTORY;
            goto out;
        }
    }

    argv = wi_cmdline_to_argv(cmdline, &argc);
    if (!argv) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }

    if (a->si->dwFlags & STARTF_USESTDHANDLES) {
        HANDLE hs[3] = {a->si->hStdInput, a->si->hStdOutput, a->si->hStdError};
        for (int i = 0; i < 3 && !err; i++)
            err = std_source(hs[i], &sp.std_fds[i]);
        if (err)
            goto out;
    }

    req.cmdline = cmdline;
    req.si = a->si;
    req.inherit_handles = a->inherit;
    req.exe_dev = (uint64_t)st.st_dev;
    req.exe_ino = (uint64_t)st.st_ino;
    err = wi_start_block_build(&req, &block);
    if (err)
        goto out;

    snprintf(start_var, sizeof start_var, "%s=%d", WI_START_ENV, block.fd);
    err = wi_launch_env(a->env, a->flags & CREATE_UNICODE_ENVIRONMENT, start_var, &envp);
    if (err)
        goto out;

    sp.exe = exe;
    sp.argv = argv;
    sp.envp = envp;
    sp.pass_fds = block.fds;
    sp.npass = block.nfds;
    sp.cwd = a->cwd;
    sp.new_group = a->flags & CREATE_NEW_PROCESS_GROUP;
    sp.suspended = a->flags & CREATE_SUSPENDED;
    err = wi_launch(&sp, &pid);
    if (err)
        goto out;

    /* The child runs. From here a failure must not leave it running
     * unobserved: it is killed, and reaped by the service thread once a
     * process object watches it, by us otherwise. */
    bool is_pipe;
    pidfd = exit_fd(pid, true, &is_pipe);
    bool watched = false;
    if (pidfd < 0) {
        err = wi_error_from_errno(errno);
    } else {
        err = process_create(pid, pidfd, is_pipe, true, block.record, block.record_fd, &p);
        if (err) {
            close(pidfd);
        } else {
            block.record = NULL; /* now the process object's */
            block.record_fd = -1;
            watched = true;
        }
    }
    if (!err) {
        t = wi_object_alloc(&wi_remote_thread_ops, sizeof *t);
        if (!t) {
            err = ERROR_NOT_ENOUGH_MEMORY;
        } else {
            wi_object_ref(&p->obj);
            t->proc = p;
            pthread_mutex_init(&t->lock, NULL);
            t->suspend_count = sp.suspended ? 1 : 0;
        }
    }
    if (!err) {
        err = wi_handle_insert(&p->obj, PROCESS_ALL_ACCESS, pflags, &hp);
        if (!err) {
            p = NULL; /* the handle's now */
            err = wi_handle_insert(&t->obj, THREAD_ALL_ACCESS, tflags, &ht);
            if (!err)
                t = NULL;
        }
    }
    if (err) {
        kill(pid, SIGKILL);
        if (hp)
            CloseHandle(hp);
        if (t)
            wi_object_release(&t->obj);
        if (p)
            wi_object_release(&p->obj);
        if (!watched)
            wi_launch_reap(pid);
        goto out;
    }
    a->pi->hProcess = hp;
    a->pi->hThread = ht;
    a->pi->dwProcessId = (DWORD)pid;
    a->pi->dwThreadId = (DWORD)pid; /* a process's main thread id is its pid */

out:
    for (int i = 0; i < 3; i++)
        if (sp.std_fds[i] >= 0)
            close(sp.std_fds[i]);
    wi_start_block_close(&block);
    wi_launch_env_free(envp);
    free(argv);
    free(exe);
    free(cmdline);
    return err;
}

/* --- Win32 entry points ------------------------------------------------------ */

WINBASEAPI HANDLE WINAPI GetCurrentProcess(void)
{
    return WI_PSEUDO_PROCESS;
}

WINBASEAPI DWORD WINAPI GetCurrentProcessId(void)
{
    return (DWORD)getpid();
}

WINBASEAPI DWORD WINAPI GetProcessId(HANDLE Process)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(Process, WI_TYPE_PROCESS, 0, &pin);
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    DWORD pid = (DWORD)as_process(pin.obj)->pid;
    wi_handle_put(&pin);
    return pid;
}

WINBASEAPI BOOL WINAPI CreateProcessA(LPCSTR lpApplicationName, LPSTR lpCommandLine,
                                      LPSECURITY_ATTRIBUTES lpProcessAttributes, LPSECURITY_ATTRIBUTES lpThreadAttributes,
                                      BOOL bInheritHandles, DWORD dwCreationFlags, LPVOID lpEnvironment,
                                      LPCSTR lpCurrentDirectory, LPSTARTUPINFOA lpStartupInfo,
                                      LPPROCESS_INFORMATION lpProcessInformation)
{
    struct create_args a = {
        .app = lpApplicationName,
        .cmdline = lpCommandLine,
        .process_sa = lpProcessAttributes,
        .thread_sa = lpThreadAttributes,
        .inherit = bInheritHandles,
        .flags = dwCreationFlags,
        .env = lpEnvironment,
        .cwd = lpCurrentDirectory,
        .si = lpStartupInfo,
        .pi = lpProcessInformation,
    };
    return wi_result_bool(create_process(&a));
}

/* lpCommandLine is writable per the documentation (CreateProcessW may
 * modify it on Windows); winipc only reads it. */
WINBASEAPI BOOL WINAPI CreateProcessW(LPCWSTR lpApplicationName, LPWSTR lpCommandLine,
                                      LPSECURITY_ATTRIBUTES lpProcessAttributes, LPSECURITY_ATTRIBUTES lpThreadAttributes,
                                      BOOL bInheritHandles, DWORD dwCreationFlags, LPVOID lpEnvironment,
                                      LPCWSTR lpCurrentDirectory, LPSTARTUPINFOW lpStartupInfo,
                                      LPPROCESS_INFORMATION lpProcessInformation)
{
    STARTUPINFOA si;
    DWORD err = ERROR_SUCCESS;
    WI_UTF8_ARG(app, lpApplicationName);
    WI_UTF8_ARG(cmd, lpCommandLine);
    WI_UTF8_ARG(cwd, lpCurrentDirectory);
    char *title = NULL, *desktop = NULL;
    if (lpStartupInfo) {
        /* STARTUPINFOA and STARTUPINFOW differ only in their string types. */
        memcpy(&si, lpStartupInfo, sizeof si);
        si.lpReserved = NULL;
        title = lpStartupInfo->lpTitle ? wi_utf8_from_wide(lpStartupInfo->lpTitle) : NULL;
        desktop = lpStartupInfo->lpDesktop ? wi_utf8_from_wide(lpStartupInfo->lpDesktop) : NULL;
        si.lpTitle = title;
        si.lpDesktop = desktop;
        if (WI_UTF8_FAILED(title, lpStartupInfo->lpTitle) || WI_UTF8_FAILED(desktop, lpStartupInfo->lpDesktop))
            err = ERROR_NOT_ENOUGH_MEMORY;
    }
    if (WI_UTF8_FAILED(app, lpApplicationName) || WI_UTF8_FAILED(cmd, lpCommandLine) ||
        WI_UTF8_FAILED(cwd, lpCurrentDirectory))
        err = ERROR_NOT_ENOUGH_MEMORY;
    if (!err) {
        struct create_args a = {
            .app = app,
            .cmdline = cmd,
            .process_sa = lpProcessAttributes,
            .thread_sa = lpThreadAttributes,
            .inherit = bInheritHandles,
            .flags = dwCreationFlags,
            .env = lpEnvironment,
            .cwd = cwd,
            .si = lpStartupInfo ? &si : NULL,
            .pi = lpProcessInformation,
        };
        err = create_process(&a);
    }
    free(title);
    free(desktop);
    WI_UTF8_FREE(app);
    WI_UTF8_FREE(cmd);
    WI_UTF8_FREE(cwd);
    return wi_result_bool(err);
}

WINBASEAPI HANDLE WINAPI OpenProcess(DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwProcessId)
{
    struct process *p;
    HANDLE h;
    /* The System Idle Process (0) cannot be opened: ERROR_INVALID_PARAMETER. */
    if (dwProcessId == 0)
        return wi_fail_null(ERROR_INVALID_PARAMETER);
    if (dwProcessId == (DWORD)getpid()) {
        struct wi_object *self = wi_process_current();
        if (!self)
            return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
        DWORD err = wi_handle_insert(self, wi_handle_map_access(&wi_process_ops, dwDesiredAccess),
                                     bInheritHandle ? HANDLE_FLAG_INHERIT : 0, &h);
        if (err) {
            wi_object_release(self);
            return wi_fail_null(err);
        }
        return h;
    }
    bool child = is_our_child((pid_t)dwProcessId), is_pipe;
    if (!child && kill((pid_t)dwProcessId, 0) != 0 && errno == ESRCH)
        return wi_fail_null(ERROR_INVALID_PARAMETER);
    int fd = exit_fd((pid_t)dwProcessId, child, &is_pipe);
    if (fd < 0)
        return wi_fail_null(errno == ESRCH ? ERROR_INVALID_PARAMETER : wi_error_from_errno(errno));
    /* Only a process we may signal can be terminated or waited on as the
     * Windows access check would allow; Linux decides with kill(pid, 0). */
    if (!is_pipe && syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) != 0 && errno == EPERM) {
        close(fd);
        return wi_fail_null(ERROR_ACCESS_DENIED);
    }
    DWORD err = process_create((pid_t)dwProcessId, fd, is_pipe, child, NULL, -1, &p);
    if (err) {
        close(fd);
        return wi_fail_null(err);
    }
    err = wi_handle_insert(&p->obj, wi_handle_map_access(&wi_process_ops, dwDesiredAccess),
                           bInheritHandle ? HANDLE_FLAG_INHERIT : 0, &h);
    if (err) {
        wi_object_release(&p->obj);
        return wi_fail_null(err);
    }
    return h;
}

WINBASEAPI BOOL WINAPI GetExitCodeProcess(HANDLE hProcess, LPDWORD lpExitCode)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(hProcess, WI_TYPE_PROCESS, 0, &pin);
    if (err)
        return wi_fail_bool(err);
    if (!(pin.access & (PROCESS_QUERY_INFORMATION | PROCESS_QUERY_LIMITED_INFORMATION))) {
        wi_handle_put(&pin);
        return wi_fail_bool(ERROR_ACCESS_DENIED);
    }
    if (!lpExitCode) {
        wi_handle_put(&pin);
        return wi_fail_bool(ERROR_NOACCESS);
    }
    struct process *p = as_process(pin.obj);
    pthread_mutex_lock(&p->lock);
    if (p->pidfd >= 0)
        collect_exit(p);
    if (!atomic_load(&p->w.word)) {
        *lpExitCode = STILL_ACTIVE;
    } else if (p->code_known) {
        *lpExitCode = p->exit_code;
    } else {
        /* A process that is not our child ended: Linux does not tell us its
         * exit status (documented in docs/compatibility.md). */
        err = ERROR_NOT_SUPPORTED;
    }
    pthread_mutex_unlock(&p->lock);
    wi_handle_put(&pin);
    return wi_result_bool(err);
}

WINBASEAPI BOOL WINAPI TerminateProcess(HANDLE hProcess, UINT uExitCode)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(hProcess, WI_TYPE_PROCESS, PROCESS_TERMINATE, &pin);
    if (err)
        return wi_fail_bool(err);
    struct process *p = as_process(pin.obj);
    if (p->pidfd < 0) {
        /* TerminateProcess(GetCurrentProcess(), n): at once, without the
         * exit-time cleanup ExitProcess runs (atexit handlers, stdio
         * flushing), as on Windows. */
        wi_handle_put(&pin);
        wi_process_record_exit(uExitCode);
        _exit((int)(uExitCode & 0xff));
    }
    pthread_mutex_lock(&p->lock);
    if (atomic_load(&p->w.word)) {
        /* Already gone: Windows fails with ERROR_ACCESS_DENIED. */
        err = ERROR_ACCESS_DENIED;
    } else {
        /* The first TerminateProcess decides the code, for every object on
         * the process; writing the exit record tells the other holders of
         * it (the parent, when we only inherited a handle). */
        if (p->child) {
            pthread_mutex_lock(&children_lock);
            if (!p->child->terminated) {
                p->child->terminated = true;
                p->child->terminate_code = uExitCode;
            }
            record_write(p->child->record, uExitCode);
            pthread_mutex_unlock(&children_lock);
        } else {
            if (!p->terminated) {
                p->terminated = true;
                p->terminate_code = uExitCode;
            }
            record_write(p->record, uExitCode);
        }
        if (process_kill(p, SIGKILL) != 0)
            err = errno == ESRCH ? ERROR_ACCESS_DENIED : wi_error_from_errno(errno);
    }
    pthread_mutex_unlock(&p->lock);
    wi_handle_put(&pin);
    return wi_result_bool(err);
}

WINBASEAPI DWORD WINAPI GetPriorityClass(HANDLE hProcess)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(hProcess, WI_TYPE_PROCESS, 0, &pin);
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    if (!(pin.access & (PROCESS_QUERY_INFORMATION | PROCESS_QUERY_LIMITED_INFORMATION))) {
        wi_handle_put(&pin);
        wi_set_last_error(ERROR_ACCESS_DENIED);
        return 0;
    }
    pid_t pid = as_process(pin.obj)->pid;
    wi_handle_put(&pin);
    /* The main thread's nice value (Linux keeps one per thread). */
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, (id_t)pid);
    if (errno) {
        wi_set_last_error(errno == ESRCH ? ERROR_INVALID_HANDLE : wi_error_from_errno(errno));
        return 0;
    }
    return nice_class(nice);
}

WINBASEAPI BOOL WINAPI ProcessIdToSessionId(DWORD dwProcessId, DWORD *pSessionId)
{
    if (!pSessionId)
        return wi_fail_bool(ERROR_NOACCESS);
    if (dwProcessId != (DWORD)getpid() && kill((pid_t)dwProcessId, 0) != 0 && errno == ESRCH)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    /* Linux has no Windows sessions: every process reports session 1, the
     * first interactive session, so session comparisons between winipc
     * processes always match. */
    *pSessionId = 1;
    return TRUE;
}

void wi_process_set_own_record(struct wi_exit_record *record)
{
    own_record = record;
}

void wi_process_record_exit(DWORD code)
{
    record_write(own_record, code);
}

/* ExitProcess ends the process with a 32-bit code. Linux keeps 8 bits of an
 * exit status, so a winipc child also stores the full code in the exit
 * record its parent gave it (wi_exit_record, set up by CreateProcess). */
WINBASEAPI void WINAPI ExitProcess(UINT uExitCode)
{
    wi_process_record_exit(uExitCode);
    exit((int)(uExitCode & 0xff));
}
