/* SPDX-License-Identifier: MIT */
/* Waitable timers (one-shot, absolute, periodic, manual vs synchronization,
 * cancel, reset on Set, names, access, completion routines, across
 * processes) and timer queues (one-shot, periodic, timer thread, persistent
 * thread, change, the three deletion modes, the default queue).
 *
 * Timing is only ever checked as a lower bound (a timer never fires early;
 * GetTickCount64 may lag by one tick) or a generous upper bound; ordering
 * comes from events. */
#include "test.h"

static LARGE_INTEGER relative_ms(LONG ms)
{
    LARGE_INTEGER due;
    due.QuadPart = -(LONGLONG)ms * 10000;
    return due;
}

static ULONGLONG filetime_u64(FILETIME ft)
{
    return (ULONGLONG)ft.dwHighDateTime << 32 | ft.dwLowDateTime;
}

static ULONGLONG now_filetime(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    return filetime_u64(ft);
}

/* --- Waitable timers ------------------------------------------------------- */

struct waiter {
    HANDLE timer, ready;
};

static DWORD WINAPI wait_timer(LPVOID arg)
{
    struct waiter *w = arg;
    SetEvent(w->ready);
    return WaitForSingleObject(w->timer, 10000);
}

struct apc_ctx {
    LONG count;
    DWORD thread;
    LPVOID arg;
    ULONGLONG when;
};

static void CALLBACK on_timer_apc(LPVOID arg, DWORD low, DWORD high)
{
    struct apc_ctx *c = arg;
    c->count++;
    c->thread = GetCurrentThreadId();
    c->arg = arg;
    c->when = (ULONGLONG)high << 32 | low;
}

static HANDLE apc_timer;
static struct apc_ctx thread_ctx;

/* Sets a timer with a completion routine and ends at once. */
static DWORD WINAPI set_and_exit(LPVOID arg)
{
    LARGE_INTEGER due = relative_ms(300);
    return SetWaitableTimer(apc_timer, &due, 0, on_timer_apc, &thread_ctx, FALSE) ? 0 : GetLastError();
}

static void test_one_shot(void)
{
    HANDLE t = CreateWaitableTimerA(NULL, FALSE, NULL);
    T_OK(t != NULL, "unnamed synchronization timer");
    T_EQ(WaitForSingleObject(t, 0), WAIT_TIMEOUT, "a new timer is inactive, not signaled");

    LARGE_INTEGER due = relative_ms(100);
    ULONGLONG start = GetTickCount64();
    T_OK(SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE), "SetWaitableTimer, 100 ms relative");
    T_EQ(WaitForSingleObject(t, 0), WAIT_TIMEOUT, "not signaled before its due time");
    T_EQ(WaitForSingleObject(t, 10000), WAIT_OBJECT_0, "relative one-shot fires");
    ULONGLONG elapsed = GetTickCount64() - start;
    T_OK(elapsed + 1 >= 100, "and not before 100 ms");
    T_EQ(WaitForSingleObject(t, 0), WAIT_TIMEOUT, "the wait consumed a synchronization timer's signal");
    T_EQ(WaitForSingleObject(t, 150), WAIT_TIMEOUT, "a one-shot timer fires once");

    /* Absolute UTC FILETIME. */
    due.QuadPart = (LONGLONG)(now_filetime() + 100 * 10000);
    start = GetTickCount64();
    T_OK(SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE), "SetWaitableTimer, absolute");
    T_EQ(WaitForSingleObject(t, 10000), WAIT_OBJECT_0, "absolute due time fires");
    T_OK(GetTickCount64() - start + 1 >= 100, "and not before it");
    due.QuadPart = (LONGLONG)(now_filetime() - 10000000);
    T_OK(SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE), "absolute due time in the past");
    T_EQ(WaitForSingleObject(t, 0), WAIT_OBJECT_0, "signaled at once");

    /* The wait engine's other paths: wait-any lowest index, wait-all. */
    HANDLE ev = CreateEventA(NULL, FALSE, TRUE, NULL);
    HANDLE pair[2] = {t, ev};
    due = relative_ms(50);
    SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE);
    T_EQ(WaitForMultipleObjects(2, pair, TRUE, 0), WAIT_TIMEOUT, "wait-all with the timer not yet due");
    T_EQ(WaitForMultipleObjects(2, pair, TRUE, 10000), WAIT_OBJECT_0, "wait-all completes when the timer fires");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT, "the event was consumed with it");
    T_EQ(WaitForSingleObject(t, 0), WAIT_TIMEOUT, "and the timer");
    due = relative_ms(20);
    SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE);
    T_EQ(WaitForMultipleObjects(2, pair, FALSE, 10000), WAIT_OBJECT_0, "wait-any wakes for the timer");
    CloseHandle(ev);
    CloseHandle(t);
}

static void test_manual_and_synchronization(void)
{
    HANDLE threads[2];
    struct waiter w[2];
    DWORD code;
    LARGE_INTEGER due = relative_ms(100);

    /* Manual reset: one firing releases every waiter. */
    HANDLE t = CreateWaitableTimerA(NULL, TRUE, NULL);
    for (int i = 0; i < 2; i++) {
        w[i].timer = t;
        w[i].ready = CreateEventA(NULL, TRUE, FALSE, NULL);
        threads[i] = CreateThread(NULL, 0, wait_timer, &w[i], 0, NULL);
        WaitForSingleObject(w[i].ready, INFINITE);
    }
    T_OK(SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE), "manual-reset timer set");
    T_EQ(WaitForMultipleObjects(2, threads, TRUE, 10000), WAIT_OBJECT_0, "both waiters released");
    for (int i = 0; i < 2; i++) {
        code = T_POISON;
        GetExitCodeThread(threads[i], &code);
        T_EQ(code, WAIT_OBJECT_0, "waiter of the manual-reset timer got WAIT_OBJECT_0");
        CloseHandle(threads[i]);
    }
    T_EQ(WaitForSingleObject(t, 0), WAIT_OBJECT_0, "a manual-reset timer stays signaled");
    T_EQ(WaitForSingleObject(t, 0), WAIT_OBJECT_0, "after any number of waits");

    /* SetWaitableTimer resets a signaled timer. */
    due = relative_ms(10000);
    T_OK(SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE), "set again, far away");
    T_EQ(WaitForSingleObject(t, 0), WAIT_TIMEOUT, "Set reset the signaled state");
    T_OK(CancelWaitableTimer(t), "cancel");
    CloseHandle(t);

    /* Synchronization timer: one firing releases one waiter. */
    t = CreateWaitableTimerExA(NULL, NULL, 0, TIMER_ALL_ACCESS);
    T_OK(t != NULL, "CreateWaitableTimerEx, synchronization timer");
    for (int i = 0; i < 2; i++) {
        w[i].timer = t;
        ResetEvent(w[i].ready);
        threads[i] = CreateThread(NULL, 0, wait_timer, &w[i], 0, NULL);
        WaitForSingleObject(w[i].ready, INFINITE);
    }
    due = relative_ms(100);
    T_OK(SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE), "synchronization timer set");
    DWORD r = WaitForMultipleObjects(2, threads, FALSE, 10000);
    T_OK(r == WAIT_OBJECT_0 || r == WAIT_OBJECT_0 + 1, "one waiter released");
    int first = r == WAIT_OBJECT_0 ? 0 : 1, other = 1 - first;
    T_EQ(WaitForSingleObject(threads[other], 300), WAIT_TIMEOUT, "the other one still waits");
    T_EQ(WaitForSingleObject(t, 0), WAIT_TIMEOUT, "the signal went to the released waiter");
    due = relative_ms(10);
    SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE);
    T_EQ(WaitForSingleObject(threads[other], 10000), WAIT_OBJECT_0, "the next firing releases the other");
    for (int i = 0; i < 2; i++) {
        code = T_POISON;
        GetExitCodeThread(threads[i], &code);
        T_EQ(code, WAIT_OBJECT_0, "each waiter got WAIT_OBJECT_0");
        CloseHandle(threads[i]);
        CloseHandle(w[i].ready);
    }
    CloseHandle(t);
}

static void test_periodic_and_cancel(void)
{
    HANDLE t = CreateWaitableTimerA(NULL, FALSE, NULL);
    LARGE_INTEGER due = relative_ms(50);
    ULONGLONG start = GetTickCount64();
    T_OK(SetWaitableTimer(t, &due, 50, NULL, NULL, FALSE), "periodic timer, 50 ms");
    int fired = 0;
    for (int i = 0; i < 3; i++)
        fired += WaitForSingleObject(t, 10000) == WAIT_OBJECT_0;
    T_EQ(fired, 3, "a periodic timer fires again and again");
    T_OK(GetTickCount64() - start + 1 >= 150, "three periods took at least 150 ms");
    T_OK(CancelWaitableTimer(t), "CancelWaitableTimer");
    WaitForSingleObject(t, 0); /* a firing just before the cancel stays (cancel keeps the state) */
    T_EQ(WaitForSingleObject(t, 200), WAIT_TIMEOUT, "no firing after the cancel");

    due = relative_ms(100);
    T_OK(SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE), "one-shot set");
    T_OK(CancelWaitableTimer(t), "and cancelled before its due time");
    T_EQ(WaitForSingleObject(t, 300), WAIT_TIMEOUT, "a cancelled timer never fires");
    T_OK(CancelWaitableTimer(t), "cancelling an inactive timer succeeds");

    /* Cancel does not reset a signaled timer. */
    HANDLE m = CreateWaitableTimerExA(NULL, NULL, CREATE_WAITABLE_TIMER_MANUAL_RESET, TIMER_ALL_ACCESS);
    due = relative_ms(10);
    SetWaitableTimer(m, &due, 0, NULL, NULL, FALSE);
    T_EQ(WaitForSingleObject(m, 10000), WAIT_OBJECT_0, "manual-reset (CreateWaitableTimerEx flag) fires");
    T_OK(CancelWaitableTimer(m), "cancel a signaled timer");
    T_EQ(WaitForSingleObject(m, 0), WAIT_OBJECT_0, "it stays signaled");
    CloseHandle(m);
    CloseHandle(t);
}

static void test_names_and_access(void)
{
    const char *name = t_name("timer-named");
    HANDLE t = CreateWaitableTimerA(NULL, TRUE, name);
    T_OK(t != NULL, "named timer");
    SetLastError(T_POISON);
    HANDLE again = CreateWaitableTimerW(NULL, TRUE, L"winipc-test-timer-named");
    T_OK(again != NULL, "CreateWaitableTimerW, the same name");
    T_EQ(GetLastError(), ERROR_ALREADY_EXISTS, "ERROR_ALREADY_EXISTS");
    CloseHandle(again);
    T_ERR(CreateEventA(NULL, FALSE, FALSE, name) != NULL, ERROR_INVALID_HANDLE, "an event on a timer's name");
    HANDLE ev = CreateEventA(NULL, FALSE, FALSE, t_name("timer-event"));
    T_ERR(CreateWaitableTimerA(NULL, FALSE, t_name("timer-event")) != NULL, ERROR_INVALID_HANDLE,
          "a timer on an event's name");
    CloseHandle(ev);
    T_ERR(OpenWaitableTimerA(SYNCHRONIZE, FALSE, t_name("timer-none")) != NULL, ERROR_FILE_NOT_FOUND,
          "OpenWaitableTimer of a missing name");

    HANDLE opened = OpenWaitableTimerA(SYNCHRONIZE | TIMER_MODIFY_STATE, FALSE, name);
    T_OK(opened != NULL, "OpenWaitableTimer");
    LARGE_INTEGER due = relative_ms(50);
    T_OK(SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE), "set through the first handle");
    T_EQ(WaitForSingleObject(opened, 10000), WAIT_OBJECT_0, "waited on through the second");
    due = relative_ms(10000);
    T_OK(SetWaitableTimer(opened, &due, 0, NULL, NULL, FALSE), "reset through the second handle");
    T_EQ(WaitForSingleObject(t, 0), WAIT_TIMEOUT, "seen through the first");
    T_OK(CancelWaitableTimer(opened), "cancel through the second");

    /* Across processes: the child opens the name and waits; the parent sets
     * it. Nothing but the waiters themselves fires it. */
    PROCESS_INFORMATION pi;
    char args[200];
    snprintf(args, sizeof args, "child-wait %s", name);
    if (t_spawn(args, &pi)) {
        due = relative_ms(100);
        T_OK(SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE), "set for a waiter in another process");
        T_EQ(t_wait_child(&pi, 20000), 0, "the child process saw it fire");
    } else {
        T_OK(0, "spawn the child");
    }

    /* An unnamed timer reaches a child through inheritance (same handle
     * value) and through DuplicateHandle. */
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE inh = CreateWaitableTimerA(&sa, TRUE, NULL), dup = NULL;
    T_OK(DuplicateHandle(GetCurrentProcess(), inh, GetCurrentProcess(), &dup, 0, FALSE, DUPLICATE_SAME_ACCESS),
         "DuplicateHandle of a timer");
    snprintf(args, sizeof args, "child-wait-handle %llu", (unsigned long long)(ULONG_PTR)inh);
    if (t_spawn_ex(args, TRUE, NULL, &pi)) {
        due = relative_ms(100);
        T_OK(SetWaitableTimer(dup, &due, 0, NULL, NULL, FALSE), "set through the duplicate");
        T_EQ(t_wait_child(&pi, 20000), 0, "the child waited on the inherited handle and saw it fire");
    } else {
        T_OK(0, "spawn the child with inherited handles");
    }
    T_EQ(WaitForSingleObject(inh, 0), WAIT_OBJECT_0, "the original handle sees the same state");
    CloseHandle(dup);
    CloseHandle(inh);

    HANDLE sync_only = OpenWaitableTimerA(SYNCHRONIZE, FALSE, name);
    T_OK(sync_only != NULL, "OpenWaitableTimer with SYNCHRONIZE only");
    due = relative_ms(10);
    T_ERR(SetWaitableTimer(sync_only, &due, 0, NULL, NULL, FALSE), ERROR_ACCESS_DENIED,
          "SetWaitableTimer needs TIMER_MODIFY_STATE");
    T_ERR(CancelWaitableTimer(sync_only), ERROR_ACCESS_DENIED, "so does CancelWaitableTimer");
    due = relative_ms(10);
    SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE);
    T_EQ(WaitForSingleObject(sync_only, 10000), WAIT_OBJECT_0, "but it can wait");
    HANDLE modify_only = OpenWaitableTimerA(TIMER_MODIFY_STATE, FALSE, name);
    T_ERR(WaitForSingleObject(modify_only, 0) != WAIT_FAILED, ERROR_ACCESS_DENIED, "a wait needs SYNCHRONIZE");
    CloseHandle(modify_only);
    CloseHandle(sync_only);
    CloseHandle(opened);
    CloseHandle(t);

    HANDLE limited = CreateWaitableTimerExA(NULL, NULL, 0, SYNCHRONIZE);
    T_ERR(SetWaitableTimer(limited, &due, 0, NULL, NULL, FALSE), ERROR_ACCESS_DENIED,
          "CreateWaitableTimerEx's dwDesiredAccess is honoured");
    CloseHandle(limited);
}

static void test_invalid(void)
{
    LARGE_INTEGER due = relative_ms(10);
    T_ERR(CreateWaitableTimerExA(NULL, NULL, 0x4, TIMER_ALL_ACCESS) != NULL, ERROR_INVALID_PARAMETER,
          "CreateWaitableTimerEx with an unknown flag");
    HANDLE hr = CreateWaitableTimerExA(NULL, NULL, CREATE_WAITABLE_TIMER_HIGH_RESOLUTION, TIMER_ALL_ACCESS);
    T_OK(hr != NULL, "CREATE_WAITABLE_TIMER_HIGH_RESOLUTION accepted");
    T_ERR(SetWaitableTimer(hr, &due, -1, NULL, NULL, FALSE), ERROR_INVALID_PARAMETER, "negative period");
    T_OK(SetWaitableTimer(hr, &due, 0, NULL, NULL, FALSE), "high-resolution timer set");
    T_EQ(WaitForSingleObject(hr, 10000), WAIT_OBJECT_0, "and fires");
    CloseHandle(hr);
    HANDLE ev = CreateEventA(NULL, FALSE, FALSE, NULL);
    T_ERR(SetWaitableTimer(ev, &due, 0, NULL, NULL, FALSE), ERROR_INVALID_HANDLE, "SetWaitableTimer on an event");
    T_ERR(CancelWaitableTimer(ev), ERROR_INVALID_HANDLE, "CancelWaitableTimer on an event");
    CloseHandle(ev);
    T_ERR(CancelWaitableTimer(NULL), ERROR_INVALID_HANDLE, "CancelWaitableTimer(NULL)");
    T_ERR(OpenWaitableTimerA(SYNCHRONIZE, FALSE, NULL) != NULL, ERROR_INVALID_PARAMETER,
          "OpenWaitableTimer without a name");
}

static void test_completion_routine(void)
{
    struct apc_ctx ctx = {0};
    HANDLE t = CreateWaitableTimerA(NULL, FALSE, NULL);
    LARGE_INTEGER due = relative_ms(50);

    ULONGLONG before = now_filetime();
    T_OK(SetWaitableTimer(t, &due, 0, on_timer_apc, &ctx, FALSE), "set with a completion routine");
    T_EQ(SleepEx(10000, TRUE), WAIT_IO_COMPLETION, "the routine ran as an APC in SleepEx(..., TRUE)");
    ULONGLONG after = now_filetime();
    T_EQ(ctx.count, 1, "once");
    T_EQ(ctx.thread, GetCurrentThreadId(), "in the thread that set the timer");
    T_OK(ctx.arg == &ctx, "with lpArgToCompletionRoutine");
    T_OK(ctx.when + 10000 >= before + 50 * 10000 && ctx.when <= after,
         "dwTimerLow/HighValue: the UTC FILETIME of the firing");
    T_EQ(WaitForSingleObject(t, 0), WAIT_OBJECT_0, "the timer is signaled too");

    /* Only alertable waits run it. */
    due = relative_ms(30);
    SetWaitableTimer(t, &due, 0, on_timer_apc, &ctx, FALSE);
    T_EQ(WaitForSingleObject(t, 10000), WAIT_OBJECT_0, "a plain wait sees the firing");
    T_EQ(ctx.count, 1, "without running the routine");
    T_EQ(SleepEx(10000, TRUE), WAIT_IO_COMPLETION, "the next alertable wait runs it");
    T_EQ(ctx.count, 2, "twice in all");

    /* Periodic: once per period; cancel drops what is pending. */
    due = relative_ms(20);
    T_OK(SetWaitableTimer(t, &due, 20, on_timer_apc, &ctx, FALSE), "periodic with a routine");
    int rounds = 0;
    while (ctx.count < 5 && rounds++ < 50)
        if (SleepEx(10000, TRUE) != WAIT_IO_COMPLETION)
            break;
    T_OK(ctx.count >= 5, "the routine runs each period");
    T_OK(CancelWaitableTimer(t), "cancel");
    LONG seen = ctx.count;
    T_EQ(SleepEx(200, TRUE), 0, "no routine after CancelWaitableTimer, pending or new");
    T_EQ(ctx.count, seen, "count unchanged");

    /* Set again: the old routine is cancelled, the new one runs. */
    struct apc_ctx other = {0};
    due = relative_ms(10000);
    SetWaitableTimer(t, &due, 0, on_timer_apc, &ctx, FALSE);
    due = relative_ms(20);
    SetWaitableTimer(t, &due, 0, on_timer_apc, &other, FALSE);
    T_EQ(SleepEx(10000, TRUE), WAIT_IO_COMPLETION, "the routine of the last Set runs");
    T_EQ(other.count, 1, "with its own argument");
    T_EQ(ctx.count, seen, "not the replaced one");

    /* Closing the handle stops the routine. */
    due = relative_ms(20);
    SetWaitableTimer(t, &due, 20, on_timer_apc, &ctx, FALSE);
    CloseHandle(t);
    T_EQ(SleepEx(200, TRUE), 0, "no routine after the last handle is closed");
    T_EQ(ctx.count, seen, "count unchanged");

    /* The thread that set it ends: Windows cancels the timer. (With thread
     * pidfds forced off, winipc notices only at the due time, racing the
     * waiter: skipped.) */
    const char *no_pidfd = getenv("WINIPC_NO_PIDFD_THREAD");
    if (!no_pidfd || !*no_pidfd || strcmp(no_pidfd, "0") == 0) {
        apc_timer = CreateWaitableTimerA(NULL, TRUE, NULL);
        HANDLE th = CreateThread(NULL, 0, set_and_exit, NULL, 0, NULL);
        DWORD code = T_POISON;
        WaitForSingleObject(th, INFINITE);
        GetExitCodeThread(th, &code);
        T_EQ(code, 0, "a thread set a timer with a routine and ended");
        T_EQ(WaitForSingleObject(apc_timer, 800), WAIT_TIMEOUT, "its timer was cancelled");
        T_EQ(thread_ctx.count, 0, "and its routine never ran");
        CloseHandle(th);
        CloseHandle(apc_timer);
    }
}

/* --- Timer queues ------------------------------------------------------------ */

struct tq_ctx {
    LONG count;
    LONG target;
    HANDLE reached;   /* set when count reaches target */
    HANDLE release;   /* the callback waits for it, when set */
    HANDLE started;   /* set when a callback starts */
    DWORD thread;
    BOOLEAN fired;
    HANDLE queue, self; /* for self-deletion */
    DWORD delete_result, delete_error;
};

static void CALLBACK tq_callback(PVOID param, BOOLEAN fired)
{
    struct tq_ctx *c = param;
    c->thread = GetCurrentThreadId();
    c->fired = fired;
    if (c->started)
        SetEvent(c->started);
    if (c->release)
        WaitForSingleObject(c->release, INFINITE);
    if (InterlockedIncrement(&c->count) == c->target && c->reached)
        SetEvent(c->reached);
}

static void CALLBACK tq_delete_self(PVOID param, BOOLEAN fired)
{
    struct tq_ctx *c = param;
    if (InterlockedIncrement(&c->count) == 1) {
        SetLastError(T_POISON);
        c->delete_result = DeleteTimerQueueTimer(c->queue, c->self, NULL);
        c->delete_error = GetLastError();
        SetEvent(c->reached);
    }
}

static HANDLE apc_done;

static void WINAPI set_apc_done(ULONG_PTR unused)
{
    SetEvent(apc_done);
}

static void CALLBACK tq_queue_apc(PVOID param, BOOLEAN fired)
{
    struct tq_ctx *c = param;
    c->thread = GetCurrentThreadId();
    /* Needs a thread that stays and waits alertably: the point of
     * WT_EXECUTEINPERSISTENTTHREAD. */
    QueueUserAPC(set_apc_done, GetCurrentThread(), 0);
}

static struct tq_ctx *ctx_new(LONG target)
{
    struct tq_ctx *c = calloc(1, sizeof *c);
    c->target = target;
    c->reached = CreateEventA(NULL, TRUE, FALSE, NULL);
    return c;
}

static void ctx_free(struct tq_ctx *c)
{
    CloseHandle(c->reached);
    if (c->release)
        CloseHandle(c->release);
    if (c->started)
        CloseHandle(c->started);
    free(c);
}

static void test_timer_queue(void)
{
    HANDLE q = CreateTimerQueue(), t = NULL, t2 = NULL;
    T_OK(q != NULL, "CreateTimerQueue");

    /* One-shot. */
    struct tq_ctx *one = ctx_new(1);
    ULONGLONG start = GetTickCount64();
    T_OK(CreateTimerQueueTimer(&t, q, tq_callback, one, 50, 0, WT_EXECUTEDEFAULT), "one-shot queue timer");
    T_OK(t != NULL && t != INVALID_HANDLE_VALUE, "a timer handle");
    T_EQ(WaitForSingleObject(one->reached, 10000), WAIT_OBJECT_0, "its callback ran");
    T_OK(GetTickCount64() - start + 1 >= 50, "not before its due time");
    T_EQ(one->fired, TRUE, "TimerOrWaitFired is TRUE");
    T_OK(one->thread != GetCurrentThreadId(), "on another thread");
    T_OK(ChangeTimerQueueTimer(q, t, 0, 0), "ChangeTimerQueueTimer on an expired one-shot succeeds");
    T_OK(DeleteTimerQueueTimer(q, t, INVALID_HANDLE_VALUE), "DeleteTimerQueueTimer, waiting");
    T_EQ(one->count, 1, "a one-shot timer ran once (the Change did not re-arm it)");
    ctx_free(one);

    /* Periodic, then a blocking delete: nothing runs after it returns. */
    struct tq_ctx *per = ctx_new(3);
    T_OK(CreateTimerQueueTimer(&t, q, tq_callback, per, 10, 10, 0), "periodic queue timer, 10 ms");
    T_EQ(WaitForSingleObject(per->reached, 10000), WAIT_OBJECT_0, "ran at least 3 times");
    T_OK(DeleteTimerQueueTimer(q, t, INVALID_HANDLE_VALUE), "deleted, waiting for its callbacks");
    LONG after_delete = per->count;
    struct tq_ctx *later = ctx_new(1);
    T_OK(CreateTimerQueueTimer(&t2, q, tq_callback, later, 100, 0, 0), "a 100 ms timer to measure time by");
    T_EQ(WaitForSingleObject(later->reached, 10000), WAIT_OBJECT_0, "it ran");
    T_EQ(per->count, after_delete, "no run of the deleted periodic timer in ten of its periods");
    DeleteTimerQueueTimer(q, t2, INVALID_HANDLE_VALUE);
    ctx_free(per);
    ctx_free(later);

    /* WT_EXECUTEONLYONCE ignores the period. */
    struct tq_ctx *once = ctx_new(1);
    T_OK(CreateTimerQueueTimer(&t, q, tq_callback, once, 10, 10, WT_EXECUTEONLYONCE), "WT_EXECUTEONLYONCE");
    later = ctx_new(1);
    CreateTimerQueueTimer(&t2, q, tq_callback, later, 100, 0, 0);
    WaitForSingleObject(later->reached, 10000);
    T_EQ(once->count, 1, "ran once although a period was given");
    DeleteTimerQueueTimer(q, t, INVALID_HANDLE_VALUE);
    DeleteTimerQueueTimer(q, t2, INVALID_HANDLE_VALUE);
    ctx_free(once);
    ctx_free(later);

    /* WT_EXECUTEINTIMERTHREAD: every such callback of a queue runs on that
     * queue's one timer thread. */
    struct tq_ctx *a = ctx_new(1), *b = ctx_new(1), *c = ctx_new(1);
    HANDLE ta, tb, tc, q2 = CreateTimerQueue();
    CreateTimerQueueTimer(&ta, q, tq_callback, a, 10, 0, WT_EXECUTEINTIMERTHREAD);
    CreateTimerQueueTimer(&tb, q, tq_callback, b, 30, 0, WT_EXECUTEINTIMERTHREAD);
    CreateTimerQueueTimer(&tc, q2, tq_callback, c, 10, 0, WT_EXECUTEINTIMERTHREAD);
    HANDLE all[3] = {a->reached, b->reached, c->reached};
    T_EQ(WaitForMultipleObjects(3, all, TRUE, 10000), WAIT_OBJECT_0, "three timer-thread callbacks ran");
    T_OK(a->thread == b->thread, "two timers of one queue: the same timer thread");
    T_OK(a->thread != c->thread, "another queue: another timer thread");
    T_OK(a->thread != GetCurrentThreadId(), "not the caller's thread");
    DeleteTimerQueueTimer(q, ta, INVALID_HANDLE_VALUE);
    DeleteTimerQueueTimer(q, tb, INVALID_HANDLE_VALUE);
    DeleteTimerQueueTimer(q2, tc, INVALID_HANDLE_VALUE);
    T_OK(DeleteTimerQueueEx(q2, INVALID_HANDLE_VALUE), "DeleteTimerQueueEx, waiting");
    ctx_free(a);
    ctx_free(b);
    ctx_free(c);

    /* WT_EXECUTEINPERSISTENTTHREAD: an APC the callback queues to its own
     * thread runs later, since that thread stays and waits alertably. */
    struct tq_ctx *p = ctx_new(1);
    apc_done = CreateEventA(NULL, TRUE, FALSE, NULL);
    T_OK(CreateTimerQueueTimer(&t, q, tq_queue_apc, p, 0, 0, WT_EXECUTEINPERSISTENTTHREAD),
         "WT_EXECUTEINPERSISTENTTHREAD");
    T_EQ(WaitForSingleObject(apc_done, 10000), WAIT_OBJECT_0, "an APC queued by the callback ran");
    T_OK(p->thread != GetCurrentThreadId(), "on another thread");
    DeleteTimerQueueTimer(q, t, INVALID_HANDLE_VALUE);
    CloseHandle(apc_done);
    ctx_free(p);

    /* ChangeTimerQueueTimer moves the due time. */
    struct tq_ctx *ch = ctx_new(1);
    T_OK(CreateTimerQueueTimer(&t, q, tq_callback, ch, 60000, 0, 0), "a timer due in a minute");
    start = GetTickCount64();
    T_OK(ChangeTimerQueueTimer(q, t, 50, 0), "ChangeTimerQueueTimer to 50 ms");
    T_EQ(WaitForSingleObject(ch->reached, 10000), WAIT_OBJECT_0, "it ran at the new time");
    T_OK(GetTickCount64() - start + 1 >= 50, "not before it");
    DeleteTimerQueueTimer(q, t, INVALID_HANDLE_VALUE);
    ch->target = 3;
    ResetEvent(ch->reached);
    ch->count = 0;
    CreateTimerQueueTimer(&t, q, tq_callback, ch, 60000, 0, 0);
    T_OK(ChangeTimerQueueTimer(q, t, 10, 10), "a one-shot made periodic before it fired");
    T_EQ(WaitForSingleObject(ch->reached, 10000), WAIT_OBJECT_0, "then it repeats");
    DeleteTimerQueueTimer(q, t, INVALID_HANDLE_VALUE);
    ctx_free(ch);

    /* Deletion without waiting, while the callback runs. */
    struct tq_ctx *slow = ctx_new(1);
    slow->release = CreateEventA(NULL, TRUE, FALSE, NULL);
    slow->started = CreateEventA(NULL, TRUE, FALSE, NULL);
    CreateTimerQueueTimer(&t, q, tq_callback, slow, 0, 0, 0);
    WaitForSingleObject(slow->started, 10000);
    SetLastError(T_POISON);
    T_ERR(DeleteTimerQueueTimer(q, t, NULL), ERROR_IO_PENDING, "NULL CompletionEvent, callback running");
    SetEvent(slow->release);
    T_EQ(WaitForSingleObject(slow->reached, 10000), WAIT_OBJECT_0, "the running callback finished");
    /* The same with an event: signaled once the callback is done. */
    HANDLE done = CreateEventA(NULL, TRUE, FALSE, NULL);
    ResetEvent(slow->release);
    ResetEvent(slow->started);
    ResetEvent(slow->reached);
    slow->count = 0;
    CreateTimerQueueTimer(&t, q, tq_callback, slow, 0, 0, 0);
    WaitForSingleObject(slow->started, 10000);
    T_ERR(DeleteTimerQueueTimer(q, t, done), ERROR_IO_PENDING, "event CompletionEvent, callback running");
    T_EQ(WaitForSingleObject(done, 0), WAIT_TIMEOUT, "event not yet signaled");
    SetEvent(slow->release);
    T_EQ(WaitForSingleObject(done, 10000), WAIT_OBJECT_0, "signaled when the callback ended");
    ctx_free(slow);
    /* Idle timer with an event: TRUE, event signaled at once. */
    struct tq_ctx *idle = ctx_new(1);
    ResetEvent(done);
    CreateTimerQueueTimer(&t, q, tq_callback, idle, 60000, 0, 0);
    SetLastError(T_POISON);
    T_OK(DeleteTimerQueueTimer(q, t, done), "idle timer, event CompletionEvent");
    T_EQ(GetLastError(), T_POISON, "last error untouched");
    T_EQ(WaitForSingleObject(done, 0), WAIT_OBJECT_0, "event signaled at once");
    CreateTimerQueueTimer(&t, q, tq_callback, idle, 60000, 0, 0);
    T_OK(DeleteTimerQueueTimer(q, t, NULL), "idle timer, NULL CompletionEvent: TRUE");
    T_EQ(idle->count, 0, "never ran");
    ctx_free(idle);

    /* A callback deleting its own timer (NULL: the delete pends). */
    struct tq_ctx *self = ctx_new(1);
    self->queue = q;
    CreateTimerQueueTimer(&self->self, q, tq_delete_self, self, 10, 200, 0);
    T_EQ(WaitForSingleObject(self->reached, 10000), WAIT_OBJECT_0, "self-deleting callback ran");
    T_EQ(self->delete_result, FALSE, "DeleteTimerQueueTimer from its own callback");
    T_EQ(self->delete_error, ERROR_IO_PENDING, "pends with ERROR_IO_PENDING");
    later = ctx_new(1);
    CreateTimerQueueTimer(&t2, q, tq_callback, later, 500, 0, 0);
    WaitForSingleObject(later->reached, 10000);
    T_EQ(self->count, 1, "and it did not run again");
    DeleteTimerQueueTimer(q, t2, INVALID_HANDLE_VALUE);
    ctx_free(later);
    ctx_free(self);

    /* DeleteTimerQueueEx with an event: signaled when every callback ended. */
    HANDLE q3 = CreateTimerQueue();
    struct tq_ctx *held = ctx_new(1);
    struct tq_ctx *pending = ctx_new(1);
    held->release = CreateEventA(NULL, TRUE, FALSE, NULL);
    held->started = CreateEventA(NULL, TRUE, FALSE, NULL);
    CreateTimerQueueTimer(&t, q3, tq_callback, held, 0, 0, 0);
    CreateTimerQueueTimer(&t2, q3, tq_callback, pending, 60000, 0, 0);
    WaitForSingleObject(held->started, 10000);
    ResetEvent(done);
    T_OK(DeleteTimerQueueEx(q3, done), "DeleteTimerQueueEx with an event");
    T_EQ(WaitForSingleObject(done, 0), WAIT_TIMEOUT, "not signaled while a callback runs");
    SetEvent(held->release);
    T_EQ(WaitForSingleObject(done, 10000), WAIT_OBJECT_0, "signaled after it");
    T_EQ(pending->count, 0, "the queue's pending timer never ran");
    ctx_free(held);
    ctx_free(pending);
    CloseHandle(done);

    T_OK(DeleteTimerQueueEx(q, INVALID_HANDLE_VALUE), "DeleteTimerQueueEx, waiting");

    /* The default queue. */
    struct tq_ctx *dflt = ctx_new(1);
    T_OK(CreateTimerQueueTimer(&t, NULL, tq_callback, dflt, 10, 0, 0), "timer on the default queue");
    T_EQ(WaitForSingleObject(dflt->reached, 10000), WAIT_OBJECT_0, "its callback ran");
    T_OK(ChangeTimerQueueTimer(NULL, t, 0, 0), "ChangeTimerQueueTimer on the default queue");
    T_OK(DeleteTimerQueueTimer(NULL, t, INVALID_HANDLE_VALUE), "DeleteTimerQueueTimer on the default queue");
    T_ERR(DeleteTimerQueueEx(NULL, NULL), ERROR_INVALID_HANDLE, "the default queue cannot be deleted");
    ctx_free(dflt);

    /* Timer-queue timers are not kernel handles. */
    struct tq_ctx *k = ctx_new(1);
    CreateTimerQueueTimer(&t, NULL, tq_callback, k, 60000, 0, 0);
    T_ERR(CloseHandle(t), ERROR_INVALID_HANDLE, "CloseHandle on a timer-queue timer fails");
    T_OK(DeleteTimerQueueTimer(NULL, t, INVALID_HANDLE_VALUE), "the timer is still there to delete");
    ctx_free(k);

    /* DeleteTimerQueue is DeleteTimerQueueEx(q, NULL). */
    T_OK(DeleteTimerQueue(CreateTimerQueue()), "DeleteTimerQueue");
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "child-wait") == 0) {
        HANDLE t = OpenWaitableTimerA(SYNCHRONIZE, FALSE, argv[2]);
        if (!t)
            return 2;
        return WaitForSingleObject(t, 10000) == WAIT_OBJECT_0 ? 0 : 1;
    }
    if (argc == 3 && strcmp(argv[1], "child-wait-handle") == 0) {
        HANDLE t = (HANDLE)(ULONG_PTR)strtoull(argv[2], NULL, 10);
        return WaitForSingleObject(t, 10000) == WAIT_OBJECT_0 ? 0 : 1;
    }
    test_one_shot();
    test_manual_and_synchronization();
    test_periodic_and_cancel();
    test_names_and_access();
    test_invalid();
    test_completion_routine();
    test_timer_queue();
    return t_done();
}
