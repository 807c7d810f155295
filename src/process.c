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
 * CreateProcess starts the program with posix_spawn (a vfork-style clone:
 * cheap even for a large parent, and exec failures come back synchronously)
 * and falls back to fork + exec when the child must do something spawn
 * attributes cannot express: stop itself before exec (CREATE_SUSPENDED) or
 * change its priority. Either way the child receives the start block
 * (inherit.h): command line, STARTUPINFO, exit record, inherited handles.
 *
 * PROCESS_INFORMATION.hThread is a "remote thread" object (below): the
 * main thread of the child as far as Windows code can observe it — waitable
 * until the process ends, ResumeThread for CREATE_SUSPENDED. */
#include "process.h"

#include "cmdline.h"
#include "error.h"
#include "handle.h"
#include "inherit.h"
#include "security.h"
#include "service.h"
#include "unicode.h"
#include "wait.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* glibc 2.29 added posix_spawn_file_actions_addchdir_np and made
 * adddup2(fd, fd) clear FD_CLOEXEC in the child (what passing an inherited
 * fd needs). Elsewhere every spawn takes the fork path. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
#define WI_HAVE_SPAWN_FD_ACTIONS 1
#else
#define WI_HAVE_SPAWN_FD_ACTIONS 0
#endif

extern char **environ;

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
    siginfo_t status;
    bool terminated; /* TerminateProcess through any of the objects */
    DWORD terminate_code;
    struct wi_exit_record *record; /* winipc children: the exit record */
    int record_fd;
};

static pthread_mutex_t children_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wi_child *children;

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
    .read = wi_no_read,
    .write = wi_no_write,
    .flush = wi_no_flush,
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
static DWORD child_code(const struct wi_child *c)
{
    DWORD rc;
    const siginfo_t *si = &c->status;
    if (c->terminated)
        return c->terminate_code;
    if (record_code(c->record, &rc) && ((si->si_code == CLD_EXITED && (DWORD)si->si_status == (rc & 0xff)) ||
                                        (si->si_code == CLD_KILLED && si->si_status == SIGKILL)))
        return rc;
    return code_from_status(si);
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
            if (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid != 0) {
                c->reaped = true;
                c->status = si;
            }
        }
        bool done = c->reaped;
        if (done)
            p->exit_code = child_code(c);
        pthread_mutex_unlock(&children_lock);
        if (!done)
            return; /* still running */
        p->code_known = true;
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
static DWORD process_create(pid_t pid, int pidfd, bool is_child, struct wi_exit_record *record, int record_fd,
                            struct process **out)
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
    return process_create(pid, pidfd, is_child, NULL, -1, out);
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
    DWORD err = process_create(b.pid, fds[0], is_our_child(b.pid), record, b.has_record ? fds[1] : -1, &p);
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
    .generic_map = {STANDARD_RIGHTS_READ | THREAD_GET_CONTEXT | THREAD_QUERY_INFORMATION,
                    STANDARD_RIGHTS_WRITE | THREAD_TERMINATE | THREAD_SUSPEND_RESUME | THREAD_SET_INFORMATION |
                        THREAD_SET_CONTEXT,
                    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE | THREAD_QUERY_LIMITED_INFORMATION, THREAD_ALL_ACCESS},
    .waitable = remote_waitable,
    .try_satisfy = remote_try_satisfy,
    .wait_prepare = wi_no_wait_prepare,
    .consumable = false,
    .read = wi_no_read,
    .write = wi_no_write,
    .flush = wi_no_flush,
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
        /* The child stopped itself before exec (see spawn_fork); the
         * process may have died meanwhile, which is not an error. */
        if (syscall(SYS_pidfd_send_signal, t->proc->pidfd, SIGCONT, NULL, 0) != 0 && errno != ESRCH)
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

/* --- Finding the program ------------------------------------------------------- */

/* Does the directory part of `path` exist? Decides ERROR_FILE_NOT_FOUND
 * (only the file is missing) against ERROR_PATH_NOT_FOUND. */
static bool parent_dir_exists(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return true;
    if (slash == path)
        return true; /* "/" */
    char *dir = strndup(path, (size_t)(slash - path));
    struct stat st;
    bool ok = dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    free(dir);
    return ok;
}

/* Examine one candidate. Windows: a directory → ERROR_ACCESS_DENIED. */
static DWORD probe_file(const char *path, struct stat *st)
{
    if (stat(path, st) == 0)
        return S_ISDIR(st->st_mode) ? ERROR_ACCESS_DENIED : ERROR_SUCCESS;
    if (errno == ENOENT)
        return parent_dir_exists(path) ? ERROR_FILE_NOT_FOUND : ERROR_PATH_NOT_FOUND;
    if (errno == ENOTDIR)
        return ERROR_PATH_NOT_FOUND;
    return wi_error_from_errno(errno);
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (!s)
        return NULL;
    memcpy(s, dir, a);
    if (!a || dir[a - 1] != '/')
        s[a++] = '/';
    memcpy(s + a, name, b + 1);
    return s;
}

static char *current_dir(void)
{
    return getcwd(NULL, 0);
}

static char *absolute(const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    char *cwd = current_dir();
    if (!cwd)
        return NULL;
    char *s = join_path(cwd, path);
    free(cwd);
    return s;
}

/* The directory of the running executable, the first place Windows looks. */
static char *exe_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = 0;
    char *slash = strrchr(buf, '/');
    if (!slash)
        return NULL;
    *slash = 0;
    return strdup(slash == buf ? "/" : buf);
}

/* Find `name`. A name with a directory part (or any name when !search) is
 * taken relative to the current directory; a bare name is searched like
 * Windows does: the executable's directory, the current directory, then
 * each PATH entry (the Windows system directories have no counterpart).
 * On success *out is an absolute path. */
static DWORD find_once(const char *name, bool search, char **out, struct stat *st)
{
    if (!*name)
        return ERROR_FILE_NOT_FOUND;
    if (!search || strchr(name, '/')) {
        char *path = absolute(name);
        if (!path)
            return ERROR_NOT_ENOUGH_MEMORY;
        DWORD err = probe_file(path, st);
        if (err)
            free(path);
        else
            *out = path;
        return err;
    }
    char *dirs[2] = {exe_dir(), current_dir()};
    char *path_env = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    DWORD err = ERROR_FILE_NOT_FOUND;
    for (int i = 0; i < 2 && err; i++) {
        if (!dirs[i])
            continue;
        char *path = join_path(dirs[i], name);
        if (path && probe_file(path, st) == ERROR_SUCCESS) {
            *out = path;
            err = ERROR_SUCCESS;
        } else {
            free(path);
        }
    }
    for (char *save = NULL, *d = path_env ? strtok_r(path_env, ":", &save) : NULL; d && err;
         d = strtok_r(NULL, ":", &save)) {
        char *path = join_path(d, name), *abs;
        if (path && probe_file(path, st) == ERROR_SUCCESS && (abs = absolute(path)) != NULL) {
            *out = abs;
            err = ERROR_SUCCESS;
        }
        free(path);
    }
    free(dirs[0]);
    free(dirs[1]);
    free(path_env);
    return err;
}

/* find_once, plus the porting aid for names written for Windows: when
 * "name.exe" does not exist, "name" is tried (Linux programs have no
 * extension). The first attempt's error is the one reported. */
static DWORD find_program(const char *name, bool search, char **out, struct stat *st)
{
    DWORD err = find_once(name, search, out, st);
    size_t n = strlen(name);
    if (err && err != ERROR_NOT_ENOUGH_MEMORY && n > 4 && strcasecmp(name + n - 4, ".exe") == 0) {
        char *bare = strndup(name, n - 4);
        if (!bare)
            return ERROR_NOT_ENOUGH_MEMORY;
        if (find_once(bare, search, out, st) == ERROR_SUCCESS)
            err = ERROR_SUCCESS;
        free(bare);
    }
    return err;
}

/* lpApplicationName == NULL: the program is the command line's first token.
 * Unquoted, Windows tries each prefix ending at white space in turn
 * ("c:\program files\sub dir\prog" tries "c:\program", then
 * "c:\program files\sub", ...), and so do we. */
static DWORD find_from_command_line(const char *cmdline, char **out, struct stat *st)
{
    bool quoted;
    char *first = wi_cmdline_program(cmdline, &quoted);
    if (!first)
        return ERROR_NOT_ENOUGH_MEMORY;
    DWORD err = find_program(first, true, out, st);
    if (err && err != ERROR_NOT_ENOUGH_MEMORY && !quoted) {
        size_t first_len = strlen(first);
        for (const char *p = cmdline + first_len; *p; p++) {
            if (*p != ' ' && *p != '\t')
                continue;
            /* skip to the end of the next word */
            const char *e = p;
            while (*e == ' ' || *e == '\t')
                e++;
            if (!*e)
                break;
            while (*e && *e != ' ' && *e != '\t')
                e++;
            char *longer = strndup(cmdline, (size_t)(e - cmdline));
            if (!longer)
                break;
            DWORD e2 = find_program(longer, true, out, st);
            free(longer);
            if (!e2) {
                err = ERROR_SUCCESS;
                break;
            }
            p = e - 1;
        }
    }
    free(first);
    return err;
}

/* What the kernel would say to exec, checked in the parent. */
static DWORD check_executable(const char *path, bool check_format)
{
    if (access(path, X_OK) != 0)
        return errno == EACCES ? ERROR_ACCESS_DENIED : wi_error_from_errno(errno);
    if (!check_format)
        return ERROR_SUCCESS;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ERROR_SUCCESS; /* execute-only: exec will tell */
    unsigned char m[4] = {0};
    ssize_t n = pread(fd, m, sizeof m, 0);
    close(fd);
    if (n == 4 && memcmp(m, "\177ELF", 4) == 0)
        return ERROR_SUCCESS;
    if (n >= 2 && m[0] == '#' && m[1] == '!')
        return ERROR_SUCCESS;
    return ERROR_BAD_EXE_FORMAT;
}

/* --- The child's environment --------------------------------------------------- */

struct strvec {
    char **v;
    size_t n, cap;
};

static DWORD strvec_add(struct strvec *s, char *str)
{
    if (!str)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            free(str);
            return ERROR_NOT_ENOUGH_MEMORY;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
    return ERROR_SUCCESS;
}

static void strvec_free(struct strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* A stale start-block variable (ours, when we were started by winipc and
 * the constructor could not remove it) never reaches a child. */
static bool is_start_var(const char *e)
{
    size_t n = strlen(WI_START_ENV);
    return strncmp(e, WI_START_ENV, n) == 0 && e[n] == '=';
}

/* envp for the child: lpEnvironment (ANSI "k=v\0...\0\0", or wchar_t with
 * CREATE_UNICODE_ENVIRONMENT), or ours when NULL; plus WINIPC_START. */
static DWORD build_envp(const void *block, bool wide, const char *start_var, struct strvec *env)
{
    DWORD err = ERROR_SUCCESS;
    if (!block) {
        wi_env_lock();
        for (char **e = environ; e && *e && !err; e++)
            if (!is_start_var(*e))
                err = strvec_add(env, strdup(*e));
        wi_env_unlock();
    } else if (wide) {
        for (const wchar_t *w = block; *w && !err; w += wcslen(w) + 1) {
            char *s = wi_utf8_from_wide(w);
            if (s && is_start_var(s))
                free(s);
            else
                err = strvec_add(env, s);
        }
    } else {
        for (const char *a = block; *a && !err; a += strlen(a) + 1)
            if (!is_start_var(a))
                err = strvec_add(env, strdup(a));
    }
    if (!err)
        err = strvec_add(env, strdup(start_var));
    return err;
}

/* --- Spawning ------------------------------------------------------------------ */

#define NO_NICE INT_MIN

struct spawn_plan {
    const char *exe;
    char **argv;
    char **envp;
    int std_fds[3];       /* sources for fds 0..2 (>= 3, close-on-exec), -1: keep ours */
    const int *pass_fds;  /* passed at the same number */
    unsigned npass;
    const char *cwd;      /* NULL: ours */
    bool new_group;       /* CREATE_NEW_PROCESS_GROUP */
    bool suspended;       /* CREATE_SUSPENDED */
    int nice;             /* NO_NICE: inherit */
};

static DWORD spawn_posix(const struct spawn_plan *sp, pid_t *pid)
{
#if WI_HAVE_SPAWN_FD_ACTIONS
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    int r = 0;

    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    for (int i = 0; i < 3 && !r; i++)
        if (sp->std_fds[i] >= 0)
            r = posix_spawn_file_actions_adddup2(&fa, sp->std_fds[i], i);
    /* dup2(fd, fd) clears FD_CLOEXEC in the child only. */
    for (unsigned i = 0; i < sp->npass && !r; i++)
        r = posix_spawn_file_actions_adddup2(&fa, sp->pass_fds[i], sp->pass_fds[i]);
    if (!r && sp->cwd)
        r = posix_spawn_file_actions_addchdir_np(&fa, sp->cwd);
    /* A new process starts with no signal blocked, whatever the calling
     * thread has blocked. */
    sigemptyset(&none);
    short flags = POSIX_SPAWN_SETSIGMASK;
    if (!r)
        r = posix_spawnattr_setsigmask(&attr, &none);
    if (!r && sp->new_group) {
        flags |= POSIX_SPAWN_SETPGROUP;
        r = posix_spawnattr_setpgroup(&attr, 0);
    }
    if (!r)
        r = posix_spawnattr_setflags(&attr, flags);
    if (!r)
        r = posix_spawn(pid, sp->exe, &fa, &attr, sp->argv, sp->envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return r ? wi_error_from_errno(r) : ERROR_SUCCESS;
#else
    (void)sp;
    (void)pid;
    return ERROR_NOT_SUPPORTED;
#endif
}

static void child_fail(int errfd, int err, bool report)
{
    if (report) {
        ssize_t w = write(errfd, &err, sizeof err);
        (void)w;
    }
    _exit(127);
}

/* Between fork and exec: async-signal-safe calls only. */
static void child_after_fork(const struct spawn_plan *sp, int errfd)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int i = 0; i < 3; i++)
        if (sp->std_fds[i] >= 0 && dup2(sp->std_fds[i], i) < 0)
            child_fail(errfd, errno, true);
    for (unsigned i = 0; i < sp->npass; i++)
        if (fcntl(sp->pass_fds[i], F_SETFD, 0) != 0)
            child_fail(errfd, errno, true);
    if (sp->new_group && setpgid(0, 0) != 0)
        child_fail(errfd, errno, true);
    /* Raising priority needs CAP_SYS_NICE or RLIMIT_NICE; without them the
     * child keeps our priority, as Windows quietly gives HIGH instead of
     * REALTIME to a caller without the privilege (docs/processes.md). */
    if (sp->nice != NO_NICE)
        setpriority(PRIO_PROCESS, 0, sp->nice);
    if (sp->cwd && chdir(sp->cwd) != 0)
        child_fail(errfd, errno, true);
    if (sp->suspended)
        raise(SIGSTOP); /* CREATE_SUSPENDED: wait here for ResumeThread's SIGCONT */
    execve(sp->exe, sp->argv, sp->envp);
    /* After a stop nobody reads errfd any more (the parent returned). */
    child_fail(errfd, errno, !sp->suspended);
}

static DWORD read_child_error(int fd)
{
    int e;
    ssize_t n;
    do
        n = read(fd, &e, sizeof e);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof e ? wi_error_from_errno(e) : ERROR_SUCCESS;
}

static void reap(pid_t pid)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

static DWORD spawn_fork(const struct spawn_plan *sp, pid_t *out)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return wi_error_from_errno(errno);
    pid_t pid = fork();
    if (pid < 0) {
        DWORD err = wi_error_from_errno(errno);
        close(pipefd[0]);
        close(pipefd[1]);
        return err;
    }
    if (pid == 0) {
        close(pipefd[0]);
        child_after_fork(sp, pipefd[1]);
    }
    close(pipefd[1]);
    DWORD err = ERROR_SUCCESS;
    if (sp->suspended) {
        /* Return only once the child has stopped (so ResumeThread's SIGCONT
         * cannot come too early), or has failed before stopping. */
        siginfo_t si;
        int r;
        do {
            memset(&si, 0, sizeof si);
            r = waitid(P_PID, (id_t)pid, &si, WSTOPPED | WEXITED | WNOWAIT);
        } while (r < 0 && errno == EINTR);
        if (r == 0 && si.si_code != CLD_STOPPED) {
            err = read_child_error(pipefd[0]);
            if (!err)
                err = ERROR_GEN_FAILURE; /* killed before it stopped */
        }
    } else {
        /* EOF: exec succeeded (the pipe was close-on-exec). */
        err = read_child_error(pipefd[0]);
    }
    close(pipefd[0]);
    if (err) {
        reap(pid);
        return err;
    }
    *out = pid;
    return ERROR_SUCCESS;
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
        return NO_NICE;
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
    struct strvec env = {0};
    struct wi_start_block block = {.fd = -1, .record_fd = -1};
    struct spawn_plan sp = {.std_fds = {-1, -1, -1}, .nice = NO_NICE};
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

    bool use_fork = (a->flags & CREATE_SUSPENDED) || !WI_HAVE_SPAWN_FD_ACTIONS;
    if (cls) {
        errno = 0;
        int now = getpriority(PRIO_PROCESS, 0);
        if (errno == 0 && now != class_nice(cls)) {
            sp.nice = class_nice(cls);
            use_fork = true;
        }
    }

    if (a->app)
        err = find_program(a->app, false, &exe, &st);
    else
        err = find_from_command_line(cmdline, &exe, &st);
    if (!err)
        err = check_executable(exe, a->flags & CREATE_SUSPENDED);
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
    err = build_envp(a->env, a->flags & CREATE_UNICODE_ENVIRONMENT, start_var, &env);
    if (err)
        goto out;

    sp.exe = exe;
    sp.argv = argv;
    sp.envp = env.v;
    sp.pass_fds = block.fds;
    sp.npass = block.nfds;
    sp.cwd = a->cwd;
    sp.new_group = a->flags & CREATE_NEW_PROCESS_GROUP;
    sp.suspended = a->flags & CREATE_SUSPENDED;
    err = use_fork ? spawn_fork(&sp, &pid) : spawn_posix(&sp, &pid);
    if (err)
        goto out;

    /* The child runs. From here a failure must not leave it running
     * unobserved: it is killed, and reaped by the service thread once a
     * process object watches it, by us otherwise. */
    pidfd = pidfd_open(pid);
    bool watched = false;
    if (pidfd < 0) {
        err = wi_error_from_errno(errno);
    } else {
        err = process_create(pid, pidfd, true, block.record, block.record_fd, &p);
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
            reap(pid);
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
    strvec_free(&env);
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
    int fd = pidfd_open((pid_t)dwProcessId);
    if (fd < 0)
        return wi_fail_null(errno == ESRCH ? ERROR_INVALID_PARAMETER : wi_error_from_errno(errno));
    /* Only a process we may signal can be terminated or waited on as the
     * Windows access check would allow; Linux decides with kill(pid, 0). */
    if (syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) != 0 && errno == EPERM) {
        close(fd);
        return wi_fail_null(ERROR_ACCESS_DENIED);
    }
    bool child = is_our_child((pid_t)dwProcessId);
    DWORD err = wi_process_new((pid_t)dwProcessId, fd, child, &p);
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
        wi_handle_put(&pin);
        ExitProcess(uExitCode); /* TerminateProcess(GetCurrentProcess(), n) */
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
        if (syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0) != 0)
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

static struct wi_exit_record *own_record;

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
