/* SPDX-License-Identifier: MIT */
/* Handle inheritance: with bInheritHandles, handles marked inheritable reach
 * the child at the same values with the same access; others do not; named
 * objects stay alive through the child's inherited handle; process handles
 * cross too (a child can wait on its parent or a sibling and read a
 * sibling's full exit code); mutexes and semaphores keep working across. */
#include "test.h"

static const char *self_path(void)
{
    static char self[MAX_PATH];
    if (!self[0])
        GetModuleFileNameA(NULL, self, sizeof self);
    return self;
}

static BOOL spawn(const char *args, BOOL inherit, PROCESS_INFORMATION *pi)
{
    STARTUPINFOA si;
    char cmd[4096];
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    memset(pi, 0xcc, sizeof *pi);
    snprintf(cmd, sizeof cmd, "\"%s\" %s", self_path(), args);
    return CreateProcessA(NULL, cmd, NULL, NULL, inherit, 0, NULL, NULL, &si, pi);
}

static HANDLE arg_handle(const char *s)
{
    return (HANDLE)(ULONG_PTR)strtoull(s, NULL, 0);
}

static SECURITY_ATTRIBUTES inheritable = {sizeof(SECURITY_ATTRIBUTES), NULL, TRUE};

/* --- child side ---------------------------------------------------------- */

/* Exit codes: 0 all as expected, 10+n the n-th check failed. */
static int child_main(int argc, char **argv)
{
    const char *mode = argv[2];
    DWORD flags;
    if (!strcmp(mode, "events")) {
        /* argv: inheritable event, non-inheritable event value */
        HANDLE in = arg_handle(argv[3]), out = arg_handle(argv[4]);
        if (!GetHandleInformation(in, &flags) || !(flags & HANDLE_FLAG_INHERIT))
            return 11;
        if (GetHandleInformation(out, &flags) || GetLastError() != ERROR_INVALID_HANDLE)
            return 12;
        if (SetEvent(out) || GetLastError() != ERROR_INVALID_HANDLE)
            return 13;
        if (!SetEvent(in))
            return 14;
        return 0;
    }
    if (!strcmp(mode, "absent")) {
        /* bInheritHandles = FALSE: nothing arrived. */
        HANDLE h = arg_handle(argv[3]);
        if (GetHandleInformation(h, &flags) || GetLastError() != ERROR_INVALID_HANDLE)
            return 11;
        return 0;
    }
    if (!strcmp(mode, "named")) {
        /* argv: inherited named event, inherited go event (SYNCHRONIZE only) */
        HANDLE ev = arg_handle(argv[3]), go = arg_handle(argv[4]);
        if (SetEvent(go) || GetLastError() != ERROR_ACCESS_DENIED)
            return 11; /* the access of the parent's handle came along */
        if (WaitForSingleObject(go, 10000) != WAIT_OBJECT_0)
            return 12;
        if (!SetEvent(ev))
            return 13;
        return 0;
    }
    if (!strcmp(mode, "parent")) {
        /* argv: inherited handle to our parent, its pid */
        HANDLE h = arg_handle(argv[3]);
        DWORD code = T_POISON;
        if (GetProcessId(h) != (DWORD)strtoul(argv[4], NULL, 0))
            return 11;
        if (WaitForSingleObject(h, 0) != WAIT_TIMEOUT)
            return 12;
        if (!GetExitCodeProcess(h, &code) || code != STILL_ACTIVE)
            return 13;
        return 0;
    }
    if (!strcmp(mode, "exit-after")) {
        /* argv: event to wait for (by name), exit code */
        HANDLE go = OpenEventA(SYNCHRONIZE, FALSE, argv[3]);
        if (!go || WaitForSingleObject(go, 10000) != WAIT_OBJECT_0)
            return 11;
        ExitProcess((UINT)strtoul(argv[4], NULL, 0));
    }
    if (!strcmp(mode, "sibling-wait")) {
        /* argv: inherited handle to a sibling; report its exit code as ours */
        HANDLE h = arg_handle(argv[3]);
        DWORD code = T_POISON;
        if (WaitForSingleObject(h, 10000) != WAIT_OBJECT_0)
            return 11;
        if (!GetExitCodeProcess(h, &code))
            return 12;
        ExitProcess(code);
    }
    if (!strcmp(mode, "sibling-kill")) {
        HANDLE h = arg_handle(argv[3]);
        if (!TerminateProcess(h, (UINT)strtoul(argv[4], NULL, 0)))
            return 11;
        if (WaitForSingleObject(h, 10000) != WAIT_OBJECT_0)
            return 12;
        return 0;
    }
    if (!strcmp(mode, "mutex")) {
        /* Take the inherited mutex and end without releasing it. */
        HANDLE m = arg_handle(argv[3]);
        if (WaitForSingleObject(m, 10000) != WAIT_OBJECT_0)
            return 11;
        return 0;
    }
    if (!strcmp(mode, "semaphore")) {
        HANDLE s = arg_handle(argv[3]);
        LONG prev = -1;
        if (!ReleaseSemaphore(s, 2, &prev) || prev != 0)
            return 11;
        return 0;
    }
    if (!strcmp(mode, "grandchild")) {
        /* Pass an inherited event on to a child of our own. */
        char args[64];
        PROCESS_INFORMATION pi;
        snprintf(args, sizeof args, "child events %s 0x7ffc", argv[3]);
        if (!spawn(args, TRUE, &pi))
            return 11;
        return (int)t_wait_child(&pi, 10000);
    }
    return 99;
}

/* --- parent side --------------------------------------------------------- */

static void test_events(void)
{
    PROCESS_INFORMATION pi;
    char args[128];
    HANDLE in = CreateEventA(&inheritable, TRUE, FALSE, NULL);
    HANDLE out = CreateEventA(NULL, TRUE, FALSE, NULL);
    DWORD flags = T_POISON;

    T_OK(in && out, "an inheritable and a non-inheritable event");
    T_OK(GetHandleInformation(in, &flags) && (flags & HANDLE_FLAG_INHERIT), "HANDLE_FLAG_INHERIT set");
    snprintf(args, sizeof args, "child events %p %p", in, out);
    T_OK(spawn(args, TRUE, &pi), "child with bInheritHandles = TRUE");
    T_EQ(WaitForSingleObject(in, 10000), WAIT_OBJECT_0, "the child's SetEvent on the same value wakes us");
    T_EQ(t_wait_child(&pi, 10000), 0, "in the child: inherited at the same value, the other one invalid");

    ResetEvent(in);
    snprintf(args, sizeof args, "child absent %p", in);
    T_OK(spawn(args, FALSE, &pi), "child with bInheritHandles = FALSE");
    T_EQ(t_wait_child(&pi, 10000), 0, "nothing inherited");
    T_EQ(WaitForSingleObject(in, 0), WAIT_TIMEOUT, "and nothing signaled");

    /* SetHandleInformation turns inheritance on and off. */
    T_OK(SetHandleInformation(out, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT), "make the second one inheritable");
    T_OK(SetHandleInformation(in, HANDLE_FLAG_INHERIT, 0), "and the first one not");
    snprintf(args, sizeof args, "child events %p %p", out, in);
    T_OK(spawn(args, TRUE, &pi), "child after SetHandleInformation");
    T_EQ(t_wait_child(&pi, 10000), 0, "the flags decided at CreateProcess time");
    T_EQ(WaitForSingleObject(out, 0), WAIT_OBJECT_0, "child signaled the newly inheritable event");

    /* Through a grandchild. */
    ResetEvent(out);
    snprintf(args, sizeof args, "child grandchild %p", out);
    T_OK(spawn(args, TRUE, &pi), "child passing the handle on");
    T_EQ(t_wait_child(&pi, 10000), 0, "grandchild got it at the same value");
    T_EQ(WaitForSingleObject(out, 0), WAIT_OBJECT_0, "grandchild signaled it");
    CloseHandle(in);
    CloseHandle(out);
}

static void test_named(void)
{
    PROCESS_INFORMATION pi;
    char args[128];
    const char *name = t_name("inh-named");
    const char *go_name = t_name("inh-go");
    HANDLE ev = CreateEventA(&inheritable, TRUE, FALSE, name);
    HANDLE go_full = CreateEventA(NULL, TRUE, FALSE, go_name);
    HANDLE go = OpenEventA(SYNCHRONIZE, TRUE, go_name);

    T_OK(ev && go_full && go, "named events");
    snprintf(args, sizeof args, "child named %p %p", ev, go);
    T_OK(spawn(args, TRUE, &pi), "child inheriting a named event");
    T_OK(CloseHandle(ev), "close our handle to the named event");
    SetLastError(T_POISON);
    HANDLE again = OpenEventA(EVENT_ALL_ACCESS, FALSE, name);
    T_OK(again != NULL, "the name lives on through the child's inherited handle");
    T_OK(SetEvent(go_full), "let the child go");
    T_EQ(WaitForSingleObject(again, 10000), WAIT_OBJECT_0, "the child signaled it through its inherited handle");
    T_EQ(t_wait_child(&pi, 10000), 0, "child checks passed (SYNCHRONIZE-only access kept)");
    CloseHandle(again);
    CloseHandle(go);
    CloseHandle(go_full);
    SetLastError(T_POISON);
    T_ERR(OpenEventA(EVENT_ALL_ACCESS, FALSE, name) != NULL, ERROR_FILE_NOT_FOUND,
          "after the child and we closed it, the name is gone");
}

static void test_process_handles(void)
{
    PROCESS_INFORMATION pi, a, b;
    char args[256];
    HANDLE me = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, TRUE, GetCurrentProcessId());
    T_OK(me != NULL, "an inheritable handle to ourselves");
    snprintf(args, sizeof args, "child parent %p %lu", me, (unsigned long)GetCurrentProcessId());
    T_OK(spawn(args, TRUE, &pi), "child inheriting it");
    T_EQ(t_wait_child(&pi, 10000), 0, "the child sees us alive through it");
    CloseHandle(me);

    /* A sibling's full 32-bit exit code, read by a process that only
     * inherited a handle to it. */
    HANDLE go = CreateEventA(NULL, TRUE, FALSE, t_name("sib-go"));
    snprintf(args, sizeof args, "child exit-after %s 0x12345678", t_name("sib-go"));
    T_OK(spawn(args, FALSE, &a), "sibling A");
    T_OK(SetHandleInformation(a.hProcess, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT), "A's handle inheritable");
    snprintf(args, sizeof args, "child sibling-wait %p", a.hProcess);
    T_OK(spawn(args, TRUE, &b), "sibling B inheriting A's handle");
    SetEvent(go);
    T_EQ(t_wait_child(&b, 10000), 0x12345678, "B read A's exit code 0x12345678");
    T_EQ(t_wait_child(&a, 10000), 0x12345678, "and so do we");

    /* B terminates A: we, A's parent, learn B's code. */
    ResetEvent(go);
    snprintf(args, sizeof args, "child exit-after %s 1", t_name("sib-go"));
    T_OK(spawn(args, FALSE, &a), "sibling A again");
    SetHandleInformation(a.hProcess, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    snprintf(args, sizeof args, "child sibling-kill %p 0x2468ace0", a.hProcess);
    T_OK(spawn(args, TRUE, &b), "sibling B, to terminate A");
    T_EQ(t_wait_child(&b, 10000), 0, "B terminated A");
    T_EQ(t_wait_child(&a, 10000), 0x2468ace0, "A's exit code is the one B gave TerminateProcess");
    CloseHandle(go);
}

static void test_sync_objects(void)
{
    PROCESS_INFORMATION pi;
    char args[128];
    HANDLE m = CreateMutexA(&inheritable, FALSE, NULL);
    snprintf(args, sizeof args, "child mutex %p", m);
    T_OK(spawn(args, TRUE, &pi), "child inheriting an unnamed mutex");
    T_EQ(t_wait_child(&pi, 10000), 0, "the child took it and ended");
    T_EQ(WaitForSingleObject(m, 10000), WAIT_ABANDONED, "abandoned by the child's end");
    ReleaseMutex(m);
    CloseHandle(m);

    HANDLE s = CreateSemaphoreA(&inheritable, 0, 10, NULL);
    snprintf(args, sizeof args, "child semaphore %p", s);
    T_OK(spawn(args, TRUE, &pi), "child inheriting a semaphore");
    T_EQ(t_wait_child(&pi, 10000), 0, "the child released 2");
    T_EQ(WaitForSingleObject(s, 0), WAIT_OBJECT_0, "one");
    T_EQ(WaitForSingleObject(s, 0), WAIT_OBJECT_0, "two");
    T_EQ(WaitForSingleObject(s, 0), WAIT_TIMEOUT, "no third");
    CloseHandle(s);
}

/* The process and thread handles CreateProcess returns can be inheritable. */
static void test_returned_handles(void)
{
    PROCESS_INFORMATION pi;
    STARTUPINFOA si;
    char cmd[512];
    DWORD flags = T_POISON;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    snprintf(cmd, sizeof cmd, "\"%s\" child absent 0x7ff8", self_path());
    T_OK(CreateProcessA(NULL, cmd, &inheritable, NULL, FALSE, 0, NULL, NULL, &si, &pi), "lpProcessAttributes inheritable");
    T_OK(GetHandleInformation(pi.hProcess, &flags) && (flags & HANDLE_FLAG_INHERIT), "hProcess inheritable");
    flags = T_POISON;
    T_OK(GetHandleInformation(pi.hThread, &flags) && !(flags & HANDLE_FLAG_INHERIT), "hThread not");
    T_EQ(t_wait_child(&pi, 10000), 0, "child ran");

    /* An inheritable thread handle cannot cross: CreateProcess says so. */
    HANDLE t = NULL;
    T_OK(DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &t, 0, TRUE,
                         DUPLICATE_SAME_ACCESS),
         "an inheritable thread handle");
    T_ERR(spawn("child absent 0x7ff8", TRUE, &pi), ERROR_NOT_SUPPORTED, "CreateProcess refuses to drop it silently");
    T_OK(spawn("child absent 0x7ff8", FALSE, &pi), "without inheritance it is fine");
    t_wait_child(&pi, 10000);
    CloseHandle(t);
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "child"))
        return child_main(argc, argv);
    test_events();
    test_named();
    test_process_handles();
    test_sync_objects();
    test_returned_handles();
    return t_done();
}
