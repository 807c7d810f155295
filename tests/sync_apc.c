/* SPDX-License-Identifier: MIT */
/* APCs and alertable waits, SignalObjectAndWait. */
#include "test.h"

static int apc_runs;
static DWORD apc_thread;
static HANDLE ready, go;

static void WINAPI count_apc(ULONG_PTR data)
{
    apc_runs += (int)data;
    apc_thread = GetCurrentThreadId();
}

static DWORD WINAPI alertable_sleeper(LPVOID arg)
{
    SetEvent(ready);
    /* Returns WAIT_IO_COMPLETION once the APC queued to us has run. */
    return SleepEx(INFINITE, TRUE);
}

static DWORD WINAPI signal_and_wait_peer(LPVOID arg)
{
    /* Wait for "ready" and answer on "go". */
    WaitForSingleObject(ready, INFINITE);
    SetEvent(go);
    return 0;
}

int main(void)
{
    DWORD r, code;
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);

    T_EQ(QueueUserAPC(count_apc, GetCurrentThread(), 1), 1, "QueueUserAPC to ourselves");
    T_EQ(apc_runs, 0, "not run before an alertable wait");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT, "a non-alertable wait does not run it");
    T_EQ(apc_runs, 0, "still not run");
    r = WaitForSingleObjectEx(ev, INFINITE, TRUE);
    T_EQ(r, WAIT_IO_COMPLETION, "alertable wait returns WAIT_IO_COMPLETION");
    T_EQ(apc_runs, 1, "the APC ran once");
    T_EQ(apc_thread, GetCurrentThreadId(), "on the target thread");
    T_EQ(SleepEx(0, TRUE), 0, "nothing queued: SleepEx(0, TRUE) returns 0");

    QueueUserAPC(count_apc, GetCurrentThread(), 10);
    QueueUserAPC(count_apc, GetCurrentThread(), 100);
    T_EQ(SleepEx(0, TRUE), WAIT_IO_COMPLETION, "SleepEx runs queued APCs");
    T_EQ(apc_runs, 111, "both ran, in order");
    SetEvent(ev);
    QueueUserAPC(count_apc, GetCurrentThread(), 1000);
    HANDLE two[2] = {ev, ev};
    r = WaitForMultipleObjectsEx(1, two, FALSE, 0, TRUE);
    T_EQ(r, WAIT_OBJECT_0, "a signaled object wins over a pending APC");
    T_EQ(WaitForMultipleObjectsEx(1, two, FALSE, 0, FALSE), WAIT_OBJECT_0, "non-alertable");
    ResetEvent(ev);
    r = WaitForMultipleObjectsEx(1, two, FALSE, 1000, TRUE);
    T_EQ(r, WAIT_IO_COMPLETION, "alertable WaitForMultipleObjectsEx runs it");
    T_EQ(apc_runs, 1111, "sum");

    /* An APC queued from another thread wakes a sleeping alertable thread. */
    ready = CreateEventA(NULL, FALSE, FALSE, NULL);
    HANDLE th = CreateThread(NULL, 0, alertable_sleeper, NULL, 0, NULL);
    WaitForSingleObject(ready, INFINITE);
    T_EQ(QueueUserAPC(count_apc, th, 5), 1, "queue to another thread");
    T_EQ(WaitForSingleObject(th, 10000), WAIT_OBJECT_0, "the sleeper woke up");
    GetExitCodeThread(th, &code);
    T_EQ(code, WAIT_IO_COMPLETION, "its SleepEx returned WAIT_IO_COMPLETION");
    T_EQ(apc_runs, 1116, "and the APC ran");
    T_ERR(QueueUserAPC(count_apc, th, 1) != 0, ERROR_GEN_FAILURE, "queue to an ended thread fails");
    CloseHandle(th);
    T_ERR(QueueUserAPC(NULL, GetCurrentThread(), 1) != 0, ERROR_INVALID_PARAMETER, "NULL APC function");
    T_ERR(QueueUserAPC(count_apc, ev, 1) != 0, ERROR_INVALID_HANDLE, "queue to an event handle");

    /* SignalObjectAndWait: signal "ready", wait for the peer's answer. */
    go = CreateEventA(NULL, FALSE, FALSE, NULL);
    th = CreateThread(NULL, 0, signal_and_wait_peer, NULL, 0, NULL);
    r = SignalObjectAndWait(ready, go, 10000, FALSE);
    T_EQ(r, WAIT_OBJECT_0, "SignalObjectAndWait(event, event)");
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
    HANDLE m = CreateMutexA(NULL, TRUE, NULL);
    SetEvent(go);
    T_EQ(SignalObjectAndWait(m, go, 0, FALSE), WAIT_OBJECT_0, "release a mutex and wait");
    T_ERR(ReleaseMutex(m), ERROR_NOT_OWNER, "the mutex was released by SignalObjectAndWait");
    r = SignalObjectAndWait(m, go, 0, FALSE);
    T_ERR(r != WAIT_FAILED, ERROR_NOT_OWNER, "signalling a mutex we do not own fails");
    HANDLE s = CreateSemaphoreA(NULL, 0, 1, NULL);
    T_EQ(SignalObjectAndWait(s, s, 0, FALSE), WAIT_OBJECT_0, "release a semaphore and take it back");
    r = SignalObjectAndWait((HANDLE)(ULONG_PTR)0x7ffc, go, 0, FALSE);
    T_ERR(r != WAIT_FAILED, ERROR_INVALID_HANDLE, "signalling an invalid handle");
    r = SignalObjectAndWait(GetCurrentThread(), go, 0, FALSE);
    T_ERR(r != WAIT_FAILED, ERROR_INVALID_HANDLE, "a thread cannot be signaled");
    HANDLE ro = CreateEventA(NULL, FALSE, FALSE, "soaw");
    HANDLE ro2 = OpenEventA(SYNCHRONIZE, FALSE, "soaw");
    r = SignalObjectAndWait(ro2, go, 0, FALSE);
    T_ERR(r != WAIT_FAILED, ERROR_ACCESS_DENIED, "signal needs EVENT_MODIFY_STATE");
    CloseHandle(ro);
    CloseHandle(ro2);
    CloseHandle(s);
    CloseHandle(m);
    CloseHandle(go);
    CloseHandle(ready);
    CloseHandle(ev);
    return t_done();
}
