/* SPDX-License-Identifier: MIT */
/* Events within one process: creation, naming, manual/auto reset, pulse,
 * waits with timeouts, handle errors. */
#include "test.h"

static HANDLE started, go;

static DWORD WINAPI waiter(LPVOID arg)
{
    HANDLE ev = arg;
    SetEvent(started);
    return WaitForSingleObject(ev, 10000);
}

int main(void)
{
    HANDLE h, h2;
    DWORD r;

    SetLastError(T_POISON);
    h = CreateEventA(NULL, TRUE, FALSE, NULL);
    T_OK(h != NULL, "unnamed manual-reset event created");
    T_EQ(((ULONG_PTR)h) % 4, 0, "handle value is a multiple of 4");
    T_EQ(WaitForSingleObject(h, 0), WAIT_TIMEOUT, "unsignaled event times out at 0 ms");
    T_OK(SetEvent(h), "SetEvent");
    T_EQ(WaitForSingleObject(h, 0), WAIT_OBJECT_0, "signaled manual event satisfies a wait");
    T_EQ(WaitForSingleObject(h, 0), WAIT_OBJECT_0, "manual event stays signaled");
    T_OK(ResetEvent(h), "ResetEvent");
    T_EQ(WaitForSingleObject(h, 0), WAIT_TIMEOUT, "reset event times out");
    T_OK(CloseHandle(h), "CloseHandle");
    T_ERR(CloseHandle(h), ERROR_INVALID_HANDLE, "second CloseHandle fails with ERROR_INVALID_HANDLE");
    T_ERR(SetEvent(h), ERROR_INVALID_HANDLE, "SetEvent on a closed handle");
    T_ERR(CloseHandle((HANDLE)(ULONG_PTR)0x12345678), ERROR_INVALID_HANDLE, "CloseHandle on garbage");
    T_ERR(CloseHandle(NULL), ERROR_INVALID_HANDLE, "CloseHandle(NULL)");
    T_ERR(SetEvent((HANDLE)(ULONG_PTR)3), ERROR_INVALID_HANDLE, "SetEvent on an unaligned value");

    h = CreateEventA(NULL, FALSE, TRUE, NULL);
    T_EQ(WaitForSingleObject(h, 0), WAIT_OBJECT_0, "initially set auto-reset event satisfies one wait");
    T_EQ(WaitForSingleObject(h, 0), WAIT_TIMEOUT, "and resets itself");
    T_OK(PulseEvent(h), "PulseEvent with no waiter");
    T_EQ(WaitForSingleObject(h, 0), WAIT_TIMEOUT, "a pulse with no waiter leaves the event reset");
    T_EQ(WaitForSingleObject(h, 50), WAIT_TIMEOUT, "a 50 ms wait times out");
    CloseHandle(h);

    /* Names. */
    SetLastError(T_POISON);
    h = CreateEventA(NULL, TRUE, FALSE, "ev-one");
    T_OK(h != NULL, "named event created");
    T_EQ(GetLastError(), 0, "a new name clears the last error");
    HANDLE other = CreateEventA(NULL, FALSE, FALSE, "EV-ONE");
    T_EQ(GetLastError(), 0, "names are case-sensitive: EV-ONE is another event");
    T_OK(!CompareObjectHandles(h, other), "a different object");
    CloseHandle(other);
    h2 = CreateEventA(NULL, FALSE, TRUE, "ev-one");
    T_OK(h2 != NULL && h2 != h, "the same name opens it again");
    T_EQ(GetLastError(), ERROR_ALREADY_EXISTS, "ERROR_ALREADY_EXISTS");
    T_EQ(WaitForSingleObject(h2, 0), WAIT_TIMEOUT, "existing state kept: initial state ignored");
    SetEvent(h2);
    T_EQ(WaitForSingleObject(h, 0), WAIT_OBJECT_0, "set through one handle, seen through the other");
    T_EQ(WaitForSingleObject(h, 0), WAIT_OBJECT_0, "manual-reset flag of the creator kept");
    HANDLE ho = OpenEventA(SYNCHRONIZE, FALSE, "ev-one");
    T_OK(ho != NULL, "OpenEvent with SYNCHRONIZE");
    T_ERR(SetEvent(ho), ERROR_ACCESS_DENIED, "SetEvent through a SYNCHRONIZE-only handle");
    T_EQ(WaitForSingleObject(ho, 0), WAIT_OBJECT_0, "but it can wait");
    CloseHandle(ho);
    ho = OpenEventW(EVENT_ALL_ACCESS, FALSE, L"Local\\ev-one");
    T_OK(ho != NULL, "OpenEventW with Local\\ prefix finds the unprefixed name");
    CloseHandle(ho);
    SetLastError(T_POISON);
    T_ERR(OpenEventA(EVENT_ALL_ACCESS, FALSE, "no-such-event") != NULL, ERROR_FILE_NOT_FOUND,
          "OpenEvent of a missing name");
    T_ERR(CreateEventA(NULL, TRUE, FALSE, "bad\\name") != NULL, ERROR_PATH_NOT_FOUND,
          "a backslash inside the name");
    T_ERR(OpenEventA(EVENT_ALL_ACCESS, FALSE, NULL) != NULL, ERROR_INVALID_PARAMETER, "OpenEvent(NULL name)");
    CloseHandle(h);
    CloseHandle(h2);
    SetLastError(T_POISON);
    h = CreateEventA(NULL, TRUE, FALSE, "ev-one");
    T_EQ(GetLastError(), 0, "after the last close the name is gone");
    CloseHandle(h);

    h = CreateEventA(NULL, FALSE, FALSE, "Global\\ev-global");
    T_OK(h != NULL, "Global\\ name");
    T_ERR(OpenEventA(EVENT_ALL_ACCESS, FALSE, "ev-global") != NULL, ERROR_FILE_NOT_FOUND,
          "Global\\ and Local\\ are separate namespaces");
    CloseHandle(h);

    /* A waiter thread released by SetEvent; PulseEvent releases a waiter. */
    started = CreateEventA(NULL, FALSE, FALSE, NULL);
    go = CreateEventA(NULL, FALSE, FALSE, NULL);
    HANDLE th = CreateThread(NULL, 0, waiter, go, 0, NULL);
    T_OK(th != NULL, "CreateThread");
    WaitForSingleObject(started, INFINITE);
    T_EQ(WaitForSingleObject(th, 20), WAIT_TIMEOUT, "thread blocked on the event");
    SetEvent(go);
    T_EQ(WaitForSingleObject(th, 10000), WAIT_OBJECT_0, "thread ended after SetEvent");
    DWORD code = T_POISON;
    T_OK(GetExitCodeThread(th, &code), "GetExitCodeThread");
    T_EQ(code, WAIT_OBJECT_0, "its wait returned WAIT_OBJECT_0");
    T_EQ(WaitForSingleObject(go, 0), WAIT_TIMEOUT, "the auto-reset event was consumed by the waiter");
    CloseHandle(th);

    HANDLE objs[2] = {CreateEventA(NULL, TRUE, FALSE, NULL), CreateEventA(NULL, TRUE, FALSE, NULL)};
    T_EQ(WaitForMultipleObjects(2, objs, FALSE, 0), WAIT_TIMEOUT, "wait-any on two reset events");
    SetEvent(objs[1]);
    T_EQ(WaitForMultipleObjects(2, objs, FALSE, 0), WAIT_OBJECT_0 + 1, "wait-any reports index 1");
    SetEvent(objs[0]);
    T_EQ(WaitForMultipleObjects(2, objs, FALSE, 0), WAIT_OBJECT_0, "lowest signaled index wins");
    r = WaitForMultipleObjects(0, objs, FALSE, 0);
    T_ERR(r != WAIT_FAILED, ERROR_INVALID_PARAMETER, "nCount 0");
    r = WaitForMultipleObjects(65, objs, FALSE, 0);
    T_ERR(r != WAIT_FAILED, ERROR_INVALID_PARAMETER, "nCount 65");
    HANDLE dup2[2] = {objs[0], objs[0]};
    r = WaitForMultipleObjects(2, dup2, TRUE, 0);
    T_ERR(r != WAIT_FAILED, ERROR_INVALID_PARAMETER, "same handle twice in wait-all");
    CloseHandle(objs[0]);
    CloseHandle(objs[1]);
    r = WaitForSingleObject((HANDLE)(ULONG_PTR)0x4000, 0);
    T_ERR(r != WAIT_FAILED, ERROR_INVALID_HANDLE, "wait on an invalid handle");

    return t_done();
}
