/* SPDX-License-Identifier: MIT */
/* Mutexes and semaphores within one process: ownership, recursion,
 * ERROR_NOT_OWNER, abandonment by a thread that returns while owning,
 * semaphore limits, and atomic wait-all. */
#include "test.h"

static HANDLE mutex, owned_evt, done_evt;

static DWORD WINAPI take_and_return(LPVOID arg)
{
    /* Acquire and end the thread without releasing: the mutex is abandoned. */
    DWORD r = WaitForSingleObject(mutex, INFINITE);
    SetEvent(owned_evt);
    return r;
}

static DWORD WINAPI try_release(LPVOID arg)
{
    BOOL ok = ReleaseMutex(mutex);
    return ok ? 0 : GetLastError();
}

static DWORD WINAPI take_wait_release(LPVOID arg)
{
    WaitForSingleObject(mutex, INFINITE);
    SetEvent(owned_evt);
    WaitForSingleObject(done_evt, INFINITE);
    ReleaseMutex(mutex);
    return 0;
}

/* Own the mutex until done_evt, then end without releasing it. */
static DWORD WINAPI take_wait_release_never(LPVOID arg)
{
    WaitForSingleObject(mutex, INFINITE);
    SetEvent(owned_evt);
    WaitForSingleObject(done_evt, INFINITE);
    return 0;
}

/* Wait for the mutex, release it if acquired, report the wait result. */
static DWORD WINAPI wait_mutex(LPVOID arg)
{
    DWORD r = WaitForSingleObject(mutex, 10000);
    if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED)
        ReleaseMutex(mutex);
    return r;
}

static DWORD WINAPI wait_all_worker(LPVOID arg)
{
    HANDLE *hs = arg;
    return WaitForMultipleObjects(2, hs, TRUE, 10000);
}

/* Child: its main thread takes the named mutex and ends with ExitThread
 * while another thread keeps the process alive. */
static DWORD WINAPI park(LPVOID arg)
{
    WaitForSingleObject((HANDLE)arg, INFINITE);
    return 0;
}

static int child_main_thread_exits_owning(void)
{
    HANDLE m = CreateMutexA(NULL, FALSE, "mx-main-exit");
    HANDLE owned = OpenEventA(EVENT_MODIFY_STATE, FALSE, "mx-main-owned");
    HANDLE never = CreateEventA(NULL, TRUE, FALSE, NULL);
    if (!m || !owned || WaitForSingleObject(m, 0) != WAIT_OBJECT_0)
        return 1;
    CreateThread(NULL, 0, park, never, 0, NULL);
    SetEvent(owned);
    ExitThread(0); /* the process lives on in `park` until killed */
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "child") == 0)
        return child_main_thread_exits_owning();

    DWORD code, r;
    HANDLE th;

    /* Ownership and recursion. */
    mutex = CreateMutexA(NULL, FALSE, NULL);
    T_OK(mutex != NULL, "unnamed mutex");
    T_EQ(WaitForSingleObject(mutex, 0), WAIT_OBJECT_0, "free mutex acquired");
    T_EQ(WaitForSingleObject(mutex, 0), WAIT_OBJECT_0, "owner acquires it again (recursion)");
    th = CreateThread(NULL, 0, try_release, NULL, 0, NULL);
    WaitForSingleObject(th, INFINITE);
    code = T_POISON;
    GetExitCodeThread(th, &code);
    T_EQ(code, ERROR_NOT_OWNER, "ReleaseMutex by another thread: ERROR_NOT_OWNER");
    CloseHandle(th);
    T_OK(ReleaseMutex(mutex), "first release");
    T_OK(ReleaseMutex(mutex), "second release");
    T_ERR(ReleaseMutex(mutex), ERROR_NOT_OWNER, "third release: ERROR_NOT_OWNER");

    /* A waiter blocks while another thread owns it, and gets it after. */
    owned_evt = CreateEventA(NULL, FALSE, FALSE, NULL);
    done_evt = CreateEventA(NULL, FALSE, FALSE, NULL);
    th = CreateThread(NULL, 0, take_wait_release, NULL, 0, NULL);
    WaitForSingleObject(owned_evt, INFINITE);
    T_EQ(WaitForSingleObject(mutex, 0), WAIT_TIMEOUT, "owned by another thread: timeout");
    SetEvent(done_evt);
    T_EQ(WaitForSingleObject(mutex, 10000), WAIT_OBJECT_0, "acquired after the owner released");
    ReleaseMutex(mutex);
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);

    /* Abandonment: a thread returns while owning. */
    th = CreateThread(NULL, 0, take_and_return, NULL, 0, NULL);
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
    T_EQ(WaitForSingleObject(mutex, 10000), WAIT_ABANDONED, "abandoned by a thread that ended: WAIT_ABANDONED");
    T_EQ(WaitForSingleObject(mutex, 0), WAIT_OBJECT_0, "the waiter owns it (recursion count 2 now)");
    T_OK(ReleaseMutex(mutex) && ReleaseMutex(mutex), "released twice");
    T_EQ(WaitForSingleObject(mutex, 0), WAIT_OBJECT_0, "abandonment reported once only");
    ReleaseMutex(mutex);

    /* A waiter already asleep when the owner thread ends is woken with
     * WAIT_ABANDONED (through the owner-death watch, not a timeout). */
    ResetEvent(owned_evt); /* take_and_return above left it set */
    th = CreateThread(NULL, 0, take_wait_release_never, NULL, 0, NULL);
    WaitForSingleObject(owned_evt, INFINITE);
    HANDLE waiter = CreateThread(NULL, 0, wait_mutex, NULL, 0, NULL);
    T_EQ(WaitForSingleObject(waiter, 50), WAIT_TIMEOUT, "waiter blocked on the owned mutex");
    SetEvent(done_evt);
    T_EQ(WaitForSingleObject(waiter, 10000), WAIT_OBJECT_0, "waiter finished after the owner ended");
    GetExitCodeThread(waiter, &code);
    T_EQ(code, WAIT_ABANDONED, "the blocked waiter got WAIT_ABANDONED");
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
    CloseHandle(waiter);

    /* Initial owner and names. */
    HANDLE m1 = CreateMutexA(NULL, TRUE, "mx-one");
    T_OK(m1 != NULL, "named mutex, initially owned");
    SetLastError(T_POISON);
    HANDLE m2 = CreateMutexW(NULL, TRUE, L"mx-one");
    T_EQ(GetLastError(), ERROR_ALREADY_EXISTS, "second create: ERROR_ALREADY_EXISTS");
    T_OK(ReleaseMutex(m2), "release through the other handle (we own it once)");
    T_ERR(ReleaseMutex(m1), ERROR_NOT_OWNER, "bInitialOwner of an existing mutex did not acquire it");
    T_ERR(CreateEventA(NULL, FALSE, FALSE, "mx-one") != NULL, ERROR_INVALID_HANDLE, "event on a mutex's name");
    HANDLE m3 = OpenMutexA(SYNCHRONIZE, FALSE, "mx-one");
    T_OK(m3 != NULL, "OpenMutex");
    T_ERR(OpenMutexA(SYNCHRONIZE, FALSE, "mx-none") != NULL, ERROR_FILE_NOT_FOUND, "OpenMutex missing");
    CloseHandle(m1);
    CloseHandle(m2);
    CloseHandle(m3);

    /* Semaphores. */
    T_ERR(CreateSemaphoreA(NULL, 0, 0, NULL) != NULL, ERROR_INVALID_PARAMETER, "maximum 0");
    T_ERR(CreateSemaphoreA(NULL, 3, 2, NULL) != NULL, ERROR_INVALID_PARAMETER, "initial > maximum");
    T_ERR(CreateSemaphoreA(NULL, -1, 2, NULL) != NULL, ERROR_INVALID_PARAMETER, "negative initial");
    HANDLE s = CreateSemaphoreA(NULL, 1, 2, NULL);
    T_EQ(WaitForSingleObject(s, 0), WAIT_OBJECT_0, "count 1: wait succeeds");
    T_EQ(WaitForSingleObject(s, 0), WAIT_TIMEOUT, "count 0: wait times out");
    LONG prev = (LONG)T_POISON;
    T_OK(ReleaseSemaphore(s, 2, &prev), "release 2");
    T_EQ(prev, 0, "previous count 0");
    prev = (LONG)T_POISON;
    T_ERR(ReleaseSemaphore(s, 1, &prev), ERROR_TOO_MANY_POSTS, "past the maximum: ERROR_TOO_MANY_POSTS");
    T_EQ(prev, (LONG)T_POISON, "previous count untouched on failure");
    T_ERR(ReleaseSemaphore(s, 0, NULL), ERROR_INVALID_PARAMETER, "release 0 (must be greater than zero)");
    T_ERR(ReleaseSemaphore(mutex, 1, NULL), ERROR_INVALID_HANDLE, "ReleaseSemaphore on a mutex");
    T_ERR(ReleaseMutex(s), ERROR_INVALID_HANDLE, "ReleaseMutex on a semaphore");

    /* Wait-all is atomic: nothing is consumed unless everything is. */
    HANDLE ev = CreateEventA(NULL, FALSE, TRUE, NULL); /* auto-reset, set */
    HANDLE sem0 = CreateSemaphoreA(NULL, 0, 5, NULL);
    HANDLE pair[2] = {ev, sem0};
    T_EQ(WaitForMultipleObjects(2, pair, TRUE, 0), WAIT_TIMEOUT, "wait-all with one unsignaled: timeout");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0, "the auto-reset event was not consumed by the failed wait-all");
    SetEvent(ev);
    ReleaseSemaphore(sem0, 1, NULL);
    T_EQ(WaitForMultipleObjects(2, pair, TRUE, 0), WAIT_OBJECT_0, "wait-all with both signaled");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT, "event consumed");
    T_EQ(WaitForSingleObject(sem0, 0), WAIT_TIMEOUT, "semaphore consumed");

    /* A blocked wait-all completes when the last object is signaled. */
    th = CreateThread(NULL, 0, wait_all_worker, pair, 0, NULL);
    SetEvent(ev);
    T_EQ(WaitForSingleObject(th, 50), WAIT_TIMEOUT, "wait-all still blocked with one of two signaled");
    ReleaseSemaphore(sem0, 1, NULL);
    T_EQ(WaitForSingleObject(th, 10000), WAIT_OBJECT_0, "wait-all thread finished");
    GetExitCodeThread(th, &code);
    T_EQ(code, WAIT_OBJECT_0, "and its wait-all succeeded");
    CloseHandle(th);

    /* Wait-all with a mutex owned by us and an abandoned one. */
    HANDLE trio[3] = {ev, mutex, s};
    SetEvent(ev);
    th = CreateThread(NULL, 0, take_and_return, NULL, 0, NULL);
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
    r = WaitForMultipleObjects(3, trio, TRUE, 10000);
    T_EQ(r, WAIT_ABANDONED_0, "wait-all with an abandoned mutex: WAIT_ABANDONED_0");
    T_OK(ReleaseMutex(mutex), "and we own the mutex");

    /* Wait-any on mixed objects. */
    HANDLE any[2] = {mutex, s};
    r = WaitForMultipleObjects(2, any, FALSE, 0);
    T_EQ(r, WAIT_OBJECT_0, "wait-any: free mutex at index 0");
    ReleaseMutex(mutex);

    /* A watch on an owner must not keep the mutex's name alive: the main
     * thread owned it while another thread slept on it (so that thread
     * armed a watch on us); after the last close the name is gone. */
    HANDLE wn = CreateMutexA(NULL, TRUE, "mx-watched"), saved = mutex;
    mutex = wn; /* wait_mutex waits on `mutex` */
    HANDLE w2 = CreateThread(NULL, 0, wait_mutex, NULL, 0, NULL);
    T_EQ(WaitForSingleObject(w2, 50), WAIT_TIMEOUT, "a thread sleeps on our mutex");
    ReleaseMutex(wn);
    WaitForSingleObject(w2, INFINITE);
    CloseHandle(w2);
    CloseHandle(wn);
    mutex = saved;
    T_ERR(OpenMutexA(SYNCHRONIZE, FALSE, "mx-watched") != NULL, ERROR_FILE_NOT_FOUND,
          "after the last close the name is gone although a waiter watched its owner");

    /* A process's main thread ends (ExitThread) owning a mutex while its
     * other threads run: the waiter gets WAIT_ABANDONED. */
    HANDLE mm = CreateMutexA(NULL, FALSE, "mx-main-exit");
    HANDLE owned = CreateEventA(NULL, FALSE, FALSE, "mx-main-owned");
    PROCESS_INFORMATION pi;
    T_OK(t_spawn("child main-exit", &pi), "child started");
    T_EQ(WaitForSingleObject(owned, 10000), WAIT_OBJECT_0, "child's main thread owns the mutex");
    T_EQ(WaitForSingleObject(mm, 10000), WAIT_ABANDONED, "main thread ended owning it: WAIT_ABANDONED");
    T_EQ(WaitForSingleObject(pi.hProcess, 0), WAIT_TIMEOUT, "while the child process still runs");
    ReleaseMutex(mm);
    TerminateProcess(pi.hProcess, 0);
    t_wait_child(&pi, 10000);
    CloseHandle(mm);
    CloseHandle(owned);

    CloseHandle(ev);
    CloseHandle(sem0);
    CloseHandle(s);
    CloseHandle(mutex);
    CloseHandle(owned_evt);
    CloseHandle(done_evt);
    return t_done();
}
