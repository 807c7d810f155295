/* SPDX-License-Identifier: MIT */
/* Thread objects: CreateThread, waitable thread handles, exit codes.
 *
 * A thread object is local to its process (cross-process thread handles come
 * with the synchronization issue). Every thread that touches a thread handle
 * API gets an object: threads made by CreateThread at creation, others (the
 * main thread, plain pthreads) when GetCurrentThread() is first resolved.
 * A thread-specific-data destructor marks the object exited when the thread
 * ends, however it ends (return, ExitThread, pthread_exit).
 *
 * Fields:
 *   w.word     0 running, 1 exited; written once by the exiting thread
 *   tid        the Linux thread id, published by the thread itself (tid_ready
 *              is the futex word CreateThread/GetThreadId wait on)
 *   exit_code  written by the thread before w.word
 *   apc_*      user APCs queued to the thread (QueueUserAPC, completion
 *              routines). Any thread of the process appends under apc_lock
 *              and bumps apc_w.word; only the thread itself runs them, in an
 *              alertable wait (wait.c). */
#include "tls.h"
#include "thread.h"

#include "error.h"
#include "futex.h"
#include "handle.h"
#include "owner_watch.h"
#include "process.h"
#include "security.h"
#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

struct thread {
    struct wi_object obj; /* must be first */
    struct wi_waitable w;
    _Atomic uint32_t tid_ready;
    pid_t tid;
    DWORD exit_code;
    LPTHREAD_START_ROUTINE start;
    void *param;
    _Atomic uint32_t suspend_count; /* CREATE_SUSPENDED: the thread waits while > 0 */
    pthread_mutex_t apc_lock;
    struct apc *apc_head, *apc_tail;
    struct wi_waitable apc_w;
};

struct apc {
    void (*fn)(ULONG_PTR);
    ULONG_PTR data;
    struct apc *next;
};

static pthread_key_t self_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static WI_THREAD_LOCAL struct thread *self;

static struct thread *as_thread(struct wi_object *obj)
{
    return (struct thread *)obj;
}

static struct wi_waitable *thread_waitable(struct wi_object *obj)
{
    return &as_thread(obj)->w;
}

static DWORD thread_try_satisfy(struct wi_object *obj, uint32_t *cookie, unsigned mode)
{
    return atomic_load(&as_thread(obj)->w.word) ? WAIT_OBJECT_0 : WAIT_TIMEOUT;
}

static void thread_destroy(struct wi_object *obj);

const struct wi_object_ops wi_thread_ops = {
    .name = "Thread",
    .type = WI_TYPE_THREAD,
    .generic_map = WI_THREAD_GENERIC_MAP,
    .waitable = thread_waitable,
    .try_satisfy = thread_try_satisfy,
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
    .export_fds = wi_no_export_fds,
    .import = wi_no_import,
    .destroy = thread_destroy,
};

/* Runs when any thread with an object ends. */
static void thread_ended(void *arg)
{
    struct thread *t = arg;
    /* A thread not made by CreateThread has no return value to report. */
    if (!t->start && t->exit_code == STILL_ACTIVE)
        t->exit_code = 0;
    atomic_store(&t->w.word, 1);
    wi_waitable_wake(&t->w);
    wi_object_release(&t->obj); /* the running thread's own reference */
}

/* After fork() the child's one thread is not the thread that forked: it
 * gets its own object on first use. */
static void forget_self_in_child(void)
{
    self = NULL;
}

static void make_key(void)
{
    pthread_key_create(&self_key, thread_ended);
    pthread_atfork(NULL, NULL, forget_self_in_child);
}

static void publish_self(struct thread *t)
{
    pthread_once(&key_once, make_key);
    t->tid = wi_thread_self_tid();
    atomic_store(&t->tid_ready, 1);
    wi_futex_wake(&t->tid_ready, INT_MAX);
    self = t;
    pthread_setspecific(self_key, t);
}

static void thread_destroy(struct wi_object *obj)
{
    struct thread *t = as_thread(obj);
    /* APCs never run (the thread ended first) are dropped, as on Windows. */
    for (struct apc *a = t->apc_head, *next; a; a = next) {
        next = a->next;
        free(a);
    }
    pthread_mutex_destroy(&t->apc_lock);
}

static struct thread *thread_new(void)
{
    struct thread *t = wi_object_alloc(&wi_thread_ops, sizeof *t);
    if (t) {
        t->exit_code = STILL_ACTIVE;
        pthread_mutex_init(&t->apc_lock, NULL);
    }
    return t;
}

struct wi_object *wi_thread_current(void)
{
    if (!self) {
        struct thread *t = thread_new();
        if (!t)
            return NULL;
        publish_self(t); /* the object's first reference belongs to the thread */
    }
    wi_object_ref(&self->obj);
    return &self->obj;
}

DWORD wi_thread_queue_apc(struct wi_object *thread, void (*fn)(ULONG_PTR), ULONG_PTR data)
{
    struct thread *t = as_thread(thread);
    if (atomic_load(&t->w.word))
        return ERROR_GEN_FAILURE; /* the thread has ended */
    struct apc *a = malloc(sizeof *a);
    if (!a)
        return ERROR_NOT_ENOUGH_MEMORY;
    a->fn = fn;
    a->data = data;
    a->next = NULL;
    pthread_mutex_lock(&t->apc_lock);
    if (t->apc_tail)
        t->apc_tail->next = a;
    else
        t->apc_head = a;
    t->apc_tail = a;
    pthread_mutex_unlock(&t->apc_lock);
    atomic_fetch_add(&t->apc_w.word, 1);
    wi_waitable_wake(&t->apc_w);
    return ERROR_SUCCESS;
}

struct wi_waitable *wi_thread_apc_waitable(void)
{
    struct wi_object *obj = wi_thread_current(); /* creates the object once */
    if (!obj)
        return NULL;
    struct wi_waitable *w = &as_thread(obj)->apc_w;
    wi_object_release(obj); /* the thread's own reference keeps it alive */
    return w;
}

bool wi_thread_run_apcs(void)
{
    struct thread *t = self;
    bool ran = false;
    if (!t)
        return false;
    for (;;) {
        pthread_mutex_lock(&t->apc_lock);
        struct apc *a = t->apc_head;
        if (a) {
            t->apc_head = a->next;
            if (!t->apc_head)
                t->apc_tail = NULL;
        }
        pthread_mutex_unlock(&t->apc_lock);
        if (!a)
            return ran;
        a->fn(a->data);
        free(a);
        ran = true;
    }
}

static void *thread_main(void *arg)
{
    struct thread *t = arg;
    publish_self(t);
    uint32_t n;
    while ((n = atomic_load(&t->suspend_count)) != 0)
        wi_futex_wait(&t->suspend_count, n, NULL);
    DWORD code = t->start(t->param);
    t->exit_code = code;
    return NULL;
}

static void wait_tid(struct thread *t)
{
    while (!atomic_load(&t->tid_ready))
        wi_futex_wait(&t->tid_ready, 0, NULL);
}

/* --- Win32 entry points ------------------------------------------------------ */

WINBASEAPI HANDLE WINAPI GetCurrentThread(void)
{
    return WI_PSEUDO_THREAD;
}

WINBASEAPI DWORD WINAPI GetCurrentThreadId(void)
{
    return (DWORD)wi_thread_self_tid();
}

WINBASEAPI HANDLE WINAPI CreateThread(LPSECURITY_ATTRIBUTES lpThreadAttributes, SIZE_T dwStackSize,
                                      LPTHREAD_START_ROUTINE lpStartAddress, LPVOID lpParameter, DWORD dwCreationFlags,
                                      LPDWORD lpThreadId)
{
    DWORD flags, err;
    bool world;
    HANDLE h;
    pthread_attr_t attr;
    pthread_t pt;

    if (!lpStartAddress)
        return wi_fail_null(ERROR_INVALID_PARAMETER);
    if (dwCreationFlags & ~(DWORD)(CREATE_SUSPENDED | STACK_SIZE_PARAM_IS_A_RESERVATION))
        return wi_fail_null(ERROR_INVALID_PARAMETER);
    err = wi_sa_parse(lpThreadAttributes, &flags, &world);
    if (err)
        return wi_fail_null(err);
    struct thread *t = thread_new();
    if (!t)
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    t->start = lpStartAddress;
    t->param = lpParameter;
    atomic_store(&t->suspend_count, (dwCreationFlags & CREATE_SUSPENDED) ? 1 : 0);
    wi_object_ref(&t->obj); /* one for the handle, one for the running thread */
    err = wi_handle_insert(&t->obj, THREAD_ALL_ACCESS, flags, &h);
    if (err) {
        wi_object_release(&t->obj);
        wi_object_release(&t->obj);
        return wi_fail_null(err);
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (dwStackSize) {
        /* Windows rounds up to the allocation granularity; Linux needs at
         * least PTHREAD_STACK_MIN. */
        SIZE_T size = (dwStackSize + 65535) & ~(SIZE_T)65535;
        if (size < (SIZE_T)PTHREAD_STACK_MIN)
            size = (SIZE_T)PTHREAD_STACK_MIN;
        pthread_attr_setstacksize(&attr, size);
    }
    int r = pthread_create(&pt, &attr, thread_main, t);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        CloseHandle(h);
        wi_object_release(&t->obj);
        return wi_fail_null(r == EAGAIN ? ERROR_NOT_ENOUGH_MEMORY : wi_error_from_errno(r));
    }
    if (lpThreadId) {
        wait_tid(t);
        *lpThreadId = (DWORD)t->tid;
    }
    return h;
}

WINBASEAPI void WINAPI ExitThread(DWORD dwExitCode)
{
    struct wi_object *obj = wi_thread_current();
    if (obj) {
        as_thread(obj)->exit_code = dwExitCode;
        wi_object_release(obj);
    }
    pthread_exit(NULL);
}

WINBASEAPI BOOL WINAPI GetExitCodeThread(HANDLE hThread, LPDWORD lpExitCode)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(hThread, WI_TYPE_THREAD, 0, &pin);
    if (err)
        return wi_fail_bool(err);
    if (!(pin.access & (THREAD_QUERY_INFORMATION | THREAD_QUERY_LIMITED_INFORMATION))) {
        wi_handle_put(&pin);
        return wi_fail_bool(ERROR_ACCESS_DENIED);
    }
    if (!lpExitCode) {
        wi_handle_put(&pin);
        return wi_fail_bool(ERROR_NOACCESS);
    }
    if (pin.obj->ops == &wi_remote_thread_ops) { /* a child's main thread (process.c) */
        err = wi_remote_thread_exit_code(pin.obj, lpExitCode);
        wi_handle_put(&pin);
        return wi_result_bool(err);
    }
    struct thread *t = as_thread(pin.obj);
    *lpExitCode = atomic_load(&t->w.word) ? t->exit_code : STILL_ACTIVE;
    wi_handle_put(&pin);
    return TRUE;
}

WINBASEAPI DWORD WINAPI GetThreadId(HANDLE Thread)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(Thread, WI_TYPE_THREAD, 0, &pin);
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    if (pin.obj->ops == &wi_remote_thread_ops) { /* a child's main thread (process.c) */
        DWORD id = wi_remote_thread_id(pin.obj);
        wi_handle_put(&pin);
        return id;
    }
    struct thread *t = as_thread(pin.obj);
    wait_tid(t);
    DWORD tid = (DWORD)t->tid;
    wi_handle_put(&pin);
    return tid;
}

/* Resumes a thread created with CREATE_SUSPENDED. Returns the previous
 * suspend count (1 → the thread now runs; 0 → it was not suspended). Thread
 * handles of other processes (PROCESS_INFORMATION.hThread of a
 * CREATE_SUSPENDED child) are resumed by process.c. */
WINBASEAPI DWORD WINAPI ResumeThread(HANDLE hThread)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(hThread, WI_TYPE_THREAD, THREAD_SUSPEND_RESUME, &pin);
    if (err) {
        wi_set_last_error(err);
        return (DWORD)-1;
    }
    if (pin.obj->ops == &wi_remote_thread_ops) {
        DWORD previous;
        err = wi_remote_thread_resume(pin.obj, &previous);
        wi_handle_put(&pin);
        if (err) {
            wi_set_last_error(err);
            return (DWORD)-1;
        }
        return previous;
    }
    struct thread *t = as_thread(pin.obj);
    uint32_t n = atomic_load(&t->suspend_count);
    while (n && !atomic_compare_exchange_weak(&t->suspend_count, &n, n - 1))
        ;
    if (n == 1)
        wi_futex_wake(&t->suspend_count, INT_MAX);
    wi_handle_put(&pin);
    return n;
}

WINBASEAPI BOOL WINAPI SwitchToThread(void)
{
    sched_yield();
    return TRUE;
}

WINBASEAPI DWORD WINAPI QueueUserAPC(PAPCFUNC pfnAPC, HANDLE hThread, ULONG_PTR dwData)
{
    struct wi_pin pin;
    if (!pfnAPC) {
        wi_set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    DWORD err = wi_handle_get(hThread, WI_TYPE_THREAD, THREAD_SET_CONTEXT, &pin);
    if (!err)
        err = wi_thread_queue_apc(pin.obj, pfnAPC, dwData);
    if (pin.obj)
        wi_handle_put(&pin);
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    return 1;
}
