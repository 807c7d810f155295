/* SPDX-License-Identifier: MIT */
/* DuplicateHandle across processes, in both directions. The handle values
 * travel through a named mapping; "ready"/"go" named events order the steps. */
#include "test.h"

struct board {
    volatile ULONG_PTR value; /* a handle value in the writer's process */
};

static struct board *open_board(HANDLE *map)
{
    *map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, "dup-board");
    return *map ? (struct board *)MapViewOfFile(*map, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
}

/* Child: wait for a handle value pushed by the parent and signal it. */
static int child_signal_pushed(void)
{
    HANDLE map, ready = CreateEventA(NULL, FALSE, FALSE, "dup-ready");
    struct board *b = open_board(&map);
    if (!b || WaitForSingleObject(ready, 10000) != WAIT_OBJECT_0)
        return 10;
    HANDLE h = (HANDLE)b->value;
    DWORD flags = 0;
    if (!GetHandleInformation(h, &flags))
        return 11;
    if (!SetEvent(h))
        return 12;
    return flags == HANDLE_FLAG_INHERIT ? 0 : 13;
}

/* Child: publish its own event's handle value, wait until the parent signals
 * that event through a pulled duplicate; check the close-source case. */
static int child_be_pulled(void)
{
    HANDLE map, ready = CreateEventA(NULL, FALSE, FALSE, "dup-ready");
    HANDLE go = CreateEventA(NULL, FALSE, FALSE, "dup-go");
    struct board *b = open_board(&map);
    HANDLE mine = CreateEventA(NULL, FALSE, FALSE, NULL);
    HANDLE victim = CreateEventA(NULL, FALSE, FALSE, NULL);
    if (!b || !mine || !victim)
        return 20;
    b->value = (ULONG_PTR)mine;
    SetEvent(ready);
    if (WaitForSingleObject(mine, 10000) != WAIT_OBJECT_0)
        return 21; /* the parent signals our event through its duplicate */
    b->value = (ULONG_PTR)victim;
    SetEvent(ready);
    if (WaitForSingleObject(go, 10000) != WAIT_OBJECT_0)
        return 22;
    /* The parent duplicated `victim` with DUPLICATE_CLOSE_SOURCE. */
    if (CloseHandle(victim) || GetLastError() != ERROR_INVALID_HANDLE)
        return 23;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "child") == 0) {
        if (strcmp(argv[2], "signal-pushed") == 0)
            return child_signal_pushed();
        if (strcmp(argv[2], "be-pulled") == 0)
            return child_be_pulled();
        return 99;
    }

    PROCESS_INFORMATION pi;
    HANDLE map, ready = CreateEventA(NULL, FALSE, FALSE, "dup-ready");
    HANDLE go = CreateEventA(NULL, FALSE, FALSE, "dup-go");
    struct board *b = open_board(&map);
    T_OK(b != NULL, "shared board");

    /* Push: our unnamed event into the child. */
    HANDLE ev = CreateEventA(NULL, FALSE, FALSE, NULL);
    T_OK(t_spawn("child signal-pushed", &pi), "child started");
    HANDLE remote = T_POISON_HANDLE;
    T_OK(DuplicateHandle(GetCurrentProcess(), ev, pi.hProcess, &remote, 0, TRUE, DUPLICATE_SAME_ACCESS),
         "DuplicateHandle into the child");
    T_OK(remote != T_POISON_HANDLE && remote != NULL && ((ULONG_PTR)remote % 4) == 0, "a handle value in the child");
    b->value = (ULONG_PTR)remote;
    SetEvent(ready);
    T_EQ(WaitForSingleObject(ev, 10000), WAIT_OBJECT_0, "the child signaled our event through its duplicate");
    T_EQ(t_wait_child(&pi, 10000), 0, "the child saw an inheritable handle that works");

    /* Pull: the child's event into us, then with DUPLICATE_CLOSE_SOURCE. */
    T_OK(t_spawn("child be-pulled", &pi), "second child started");
    T_EQ(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "child published its handle");
    HANDLE local = T_POISON_HANDLE;
    T_OK(DuplicateHandle(pi.hProcess, (HANDLE)b->value, GetCurrentProcess(), &local, 0, FALSE, DUPLICATE_SAME_ACCESS),
         "DuplicateHandle out of the child");
    T_OK(SetEvent(local), "signal the child's event through our duplicate");
    T_EQ(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "child woke and published a second handle");
    HANDLE local2 = NULL;
    T_OK(DuplicateHandle(pi.hProcess, (HANDLE)b->value, GetCurrentProcess(), &local2, EVENT_MODIFY_STATE, FALSE,
                         DUPLICATE_CLOSE_SOURCE),
         "pull with DUPLICATE_CLOSE_SOURCE and explicit access");
    T_ERR(WaitForSingleObject(local2, 0) != WAIT_FAILED, ERROR_ACCESS_DENIED,
          "the pulled handle has only EVENT_MODIFY_STATE (no SYNCHRONIZE)");
    SetEvent(go);
    T_EQ(t_wait_child(&pi, 10000), 0, "the child's source handle was closed");
    T_ERR(DuplicateHandle(pi.hProcess, local, GetCurrentProcess(), &local2, 0, FALSE, DUPLICATE_SAME_ACCESS),
          ERROR_INVALID_HANDLE, "the process handle was closed by t_wait_child");

    /* Access checks and other failures. */
    T_OK(t_spawn("child signal-pushed", &pi), "third child");
    HANDLE weak = OpenProcess(SYNCHRONIZE, FALSE, pi.dwProcessId);
    T_OK(weak != NULL, "OpenProcess with SYNCHRONIZE only");
    T_ERR(DuplicateHandle(GetCurrentProcess(), ev, weak, &remote, 0, FALSE, DUPLICATE_SAME_ACCESS),
          ERROR_ACCESS_DENIED, "target handle without PROCESS_DUP_HANDLE");
    CloseHandle(weak);
    TerminateProcess(pi.hProcess, 5);
    WaitForSingleObject(pi.hProcess, 10000);
    T_ERR(DuplicateHandle(GetCurrentProcess(), ev, pi.hProcess, &remote, 0, FALSE, DUPLICATE_SAME_ACCESS),
          ERROR_INVALID_HANDLE, "into a process that has exited");
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);

    CloseHandle(ev);
    CloseHandle(local);
    CloseHandle(local2);
    UnmapViewOfFile(b);
    CloseHandle(map);
    CloseHandle(ready);
    CloseHandle(go);
    return t_done();
}
