/* SPDX-License-Identifier: MIT */
/* The handle table: values, flags, duplication within the process,
 * pseudo-handles, bad handles, many handles and concurrent use. */
#include "test.h"

#define MANY 5000
#define THREADS 4
#define ROUNDS 2000

static HANDLE shared_event;

/* Threads create, use and close handles at once; each checks its own. */
static DWORD WINAPI churn(LPVOID arg)
{
    DWORD bad = 0;
    for (int i = 0; i < ROUNDS; i++) {
        HANDLE h = CreateEventA(NULL, TRUE, FALSE, NULL);
        if (!h || WaitForSingleObject(h, 0) != WAIT_TIMEOUT || !SetEvent(h) ||
            WaitForSingleObject(h, 0) != WAIT_OBJECT_0 || !CloseHandle(h))
            bad++;
        /* Use a handle another thread may be waiting on at the same time. */
        if (WaitForSingleObject(shared_event, 0) != WAIT_OBJECT_0)
            bad++;
    }
    return bad;
}

int main(void)
{
    DWORD flags;
    HANDLE h, d;

    h = CreateEventA(NULL, TRUE, FALSE, NULL);
    flags = T_POISON;
    T_OK(GetHandleInformation(h, &flags), "GetHandleInformation");
    T_EQ(flags, 0, "a new handle has no flags");
    T_OK(SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT), "set HANDLE_FLAG_INHERIT");
    GetHandleInformation(h, &flags);
    T_EQ(flags, HANDLE_FLAG_INHERIT, "inherit flag set");
    T_OK(SetHandleInformation(h, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE), "protect");
    GetHandleInformation(h, &flags);
    T_EQ(flags, HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE, "both flags; the mask kept the other one");
    T_ERR(CloseHandle(h), ERROR_INVALID_HANDLE, "CloseHandle on a protected handle fails");
    T_EQ(WaitForSingleObject(h, 0), WAIT_TIMEOUT, "and the handle still works");
    T_OK(SetHandleInformation(h, HANDLE_FLAG_PROTECT_FROM_CLOSE, 0), "unprotect");
    GetHandleInformation(h, &flags);
    T_EQ(flags, HANDLE_FLAG_INHERIT, "protect cleared, inherit kept");
    T_ERR(GetHandleInformation((HANDLE)(ULONG_PTR)0x7ff0, &flags), ERROR_INVALID_HANDLE, "GetHandleInformation on a bad handle");

    /* DuplicateHandle within the process. */
    d = T_POISON_HANDLE;
    T_OK(DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &d, 0, FALSE, DUPLICATE_SAME_ACCESS),
         "DuplicateHandle, same access");
    T_OK(d != h && d != T_POISON_HANDLE && ((ULONG_PTR)d % 4) == 0, "a new handle value");
    T_OK(CompareObjectHandles(h, d), "CompareObjectHandles: the same object");
    GetHandleInformation(d, &flags);
    T_EQ(flags, 0, "bInheritHandle FALSE: no inherit flag on the duplicate");
    SetEvent(d);
    T_EQ(WaitForSingleObject(h, 0), WAIT_OBJECT_0, "signal through the duplicate, seen through the original");
    T_OK(CloseHandle(h), "close the original");
    T_EQ(WaitForSingleObject(d, 0), WAIT_OBJECT_0, "the duplicate keeps the object alive");
    HANDLE d2 = NULL;
    T_OK(DuplicateHandle(GetCurrentProcess(), d, GetCurrentProcess(), &d2, SYNCHRONIZE, TRUE, 0),
         "duplicate with SYNCHRONIZE only, inheritable");
    T_ERR(ResetEvent(d2), ERROR_ACCESS_DENIED, "the duplicate has only the rights asked for");
    GetHandleInformation(d2, &flags);
    T_EQ(flags, HANDLE_FLAG_INHERIT, "inheritable duplicate");
    HANDLE d3 = NULL;
    T_OK(DuplicateHandle(GetCurrentProcess(), d2, GetCurrentProcess(), &d3, 0, FALSE,
                         DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE),
         "DUPLICATE_CLOSE_SOURCE");
    T_ERR(CloseHandle(d2), ERROR_INVALID_HANDLE, "the source was closed");
    T_ERR(DuplicateHandle(GetCurrentProcess(), (HANDLE)(ULONG_PTR)0x7ff0, GetCurrentProcess(), &d2, 0, FALSE,
                          DUPLICATE_SAME_ACCESS),
          ERROR_INVALID_HANDLE, "duplicating a bad handle");
    T_ERR(DuplicateHandle(GetCurrentProcess(), d, GetCurrentProcess(), &d2, 0, FALSE, 0x100), ERROR_INVALID_PARAMETER,
          "unknown option");
    T_ERR(DuplicateHandle(d, d, GetCurrentProcess(), &d2, 0, FALSE, DUPLICATE_SAME_ACCESS), ERROR_INVALID_HANDLE,
          "an event as the source process");
    CloseHandle(d);
    CloseHandle(d3);

    /* Pseudo-handles. */
    T_EQ((LONG_PTR)GetCurrentProcess(), -1, "GetCurrentProcess() is (HANDLE)-1");
    T_EQ((LONG_PTR)GetCurrentThread(), -2, "GetCurrentThread() is (HANDLE)-2");
    T_OK(CloseHandle(GetCurrentProcess()), "closing the process pseudo-handle succeeds");
    T_EQ(WaitForSingleObject(GetCurrentThread(), 0), WAIT_TIMEOUT, "our own thread is not signaled");
    HANDLE real = NULL;
    T_OK(DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &real, 0, FALSE,
                         DUPLICATE_SAME_ACCESS),
         "duplicate the thread pseudo-handle into a real handle");
    T_EQ(GetThreadId(real), GetCurrentThreadId(), "it names this thread");
    DWORD code = T_POISON;
    T_OK(GetExitCodeThread(real, &code) && code == STILL_ACTIVE, "STILL_ACTIVE");
    CloseHandle(real);
    code = T_POISON;
    T_OK(GetExitCodeProcess(GetCurrentProcess(), &code), "GetExitCodeProcess(GetCurrentProcess())");
    T_EQ(code, STILL_ACTIVE, "STILL_ACTIVE for ourselves");
    T_EQ(GetProcessId(GetCurrentProcess()), GetCurrentProcessId(), "GetProcessId of the pseudo-handle");

    /* Many handles: distinct values, all closable, values reused after. */
    static HANDLE many[MANY];
    int distinct = 1;
    for (int i = 0; i < MANY; i++) {
        many[i] = CreateEventA(NULL, FALSE, FALSE, NULL);
        if (!many[i])
            distinct = 0;
    }
    T_OK(distinct, "5000 unnamed events");
    int closed = 1;
    for (int i = 0; i < MANY; i++)
        if (!CloseHandle(many[i]))
            closed = 0;
    T_OK(closed, "all closed");
    T_ERR(CloseHandle(many[MANY / 2]), ERROR_INVALID_HANDLE, "a closed value is invalid");

    /* Names at and over MAX_PATH characters. */
    char name[MAX_PATH + 2];
    memset(name, 'n', MAX_PATH);
    name[MAX_PATH] = 0;
    h = CreateEventA(NULL, FALSE, FALSE, name);
    T_OK(h != NULL, "a name of MAX_PATH characters");
    CloseHandle(h);
    name[MAX_PATH] = 'n';
    name[MAX_PATH + 1] = 0;
    T_ERR(CreateEventA(NULL, FALSE, FALSE, name) != NULL, ERROR_FILENAME_EXCED_RANGE, "a name over MAX_PATH");

    /* Concurrency. */
    shared_event = CreateEventA(NULL, TRUE, TRUE, NULL);
    HANDLE th[THREADS];
    for (int i = 0; i < THREADS; i++)
        th[i] = CreateThread(NULL, 0, churn, NULL, 0, NULL);
    DWORD bad = 0;
    for (int i = 0; i < THREADS; i++) {
        DWORD c = T_POISON;
        WaitForSingleObject(th[i], INFINITE);
        GetExitCodeThread(th[i], &c);
        bad += c;
        CloseHandle(th[i]);
    }
    T_EQ(bad, 0, "4 threads creating, using and closing handles concurrently");
    CloseHandle(shared_event);
    return t_done();
}
