/* SPDX-License-Identifier: MIT */
/* Process objects: waitable handles on processes, exit codes, termination.
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
 *   exit_code valid once w.word == 1 and `code_known` */
#include "process.h"

#include "error.h"
#include "handle.h"
#include "service.h"
#include "wait.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
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

static struct wi_waitable *process_waitable(struct wi_object *obj)
{
    return &as_process(obj)->w;
}

static DWORD process_try_satisfy(struct wi_object *obj, uint32_t *cookie, unsigned mode)
{
    return atomic_load(&as_process(obj)->w.word) ? WAIT_OBJECT_0 : WAIT_TIMEOUT;
}

static void process_destroy(struct wi_object *obj)
{
    struct process *p = as_process(obj);
    if (p->pidfd >= 0)
        close(p->pidfd);
    pthread_mutex_destroy(&p->lock);
}

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
    .export_fds = wi_no_export_fds,
    .import = wi_no_import,
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

/* Collect the exit of `p` if it happened; called with p->lock held. */
static void collect_exit(struct process *p)
{
    if (atomic_load(&p->w.word))
        return;
    if (p->is_child) {
        siginfo_t si = {0};
        if (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) != 0 || si.si_pid == 0)
            return; /* still running */
        if (p->terminated)
            p->exit_code = p->terminate_code;
        else if (p->record && atomic_load(&p->record->valid) && si.si_code == CLD_EXITED)
            p->exit_code = atomic_load(&p->record->code);
        else
            p->exit_code = code_from_status(&si);
        p->code_known = true;
    } else {
        /* Not our child: we see that it ended, not how. */
        if (!pidfd_exited(p->pidfd))
            return;
        if (p->terminated) {
            p->exit_code = p->terminate_code;
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

DWORD wi_process_new(pid_t pid, int pidfd, bool is_child, struct process **out)
{
    struct process *p = wi_object_alloc(&wi_process_ops, sizeof *p);
    if (!p)
        return ERROR_NOT_ENOUGH_MEMORY;
    p->pid = pid;
    p->pidfd = pidfd;
    p->is_child = is_child;
    pthread_mutex_init(&p->lock, NULL);
    if (pidfd >= 0) {
        wi_object_ref(&p->obj);
        DWORD err = wi_service_watch(pidfd, on_pidfd_ready, p);
        if (err) {
            p->pidfd = -1; /* the caller keeps its fd on failure */
            wi_object_release(&p->obj);
            wi_object_release(&p->obj);
            return err;
        }
    }
    *out = p;
    return ERROR_SUCCESS;
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
    int fd = (int)syscall(SYS_pidfd_open, (pid_t)dwProcessId, 0);
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
        if (!p->terminated) {
            p->terminated = true;
            p->terminate_code = uExitCode;
        }
        if (syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0) != 0)
            err = errno == ESRCH ? ERROR_ACCESS_DENIED : wi_error_from_errno(errno);
    }
    pthread_mutex_unlock(&p->lock);
    wi_handle_put(&pin);
    return wi_result_bool(err);
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
    if (own_record) {
        atomic_store(&own_record->code, code);
        atomic_store(&own_record->valid, 1);
    }
}

/* ExitProcess ends the process with a 32-bit code. Linux keeps 8 bits of an
 * exit status, so a winipc child also stores the full code in the exit
 * record its parent gave it (wi_exit_record, set up by CreateProcess). */
WINBASEAPI void WINAPI ExitProcess(UINT uExitCode)
{
    wi_process_record_exit(uExitCode);
    exit((int)(uExitCode & 0xff));
}
