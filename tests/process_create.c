/* SPDX-License-Identifier: MIT */
/* CreateProcess: command-line splitting as the C runtime does it, exit
 * codes (full 32 bits through ExitProcess, TerminateProcess, signals),
 * waits on process and thread handles, STILL_ACTIVE, OpenProcess,
 * CREATE_SUSPENDED, programs that do not link winipc, and the errors for
 * programs that cannot be started. */
#include "test.h"

static const char *self_path(void)
{
    static char self[MAX_PATH];
    if (!self[0])
        GetModuleFileNameA(NULL, self, sizeof self);
    return self;
}

/* Start a command line with default everything. */
static BOOL run(const char *app, const char *cmd, DWORD flags, PROCESS_INFORMATION *pi)
{
    STARTUPINFOA si;
    char buf[8192];
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    memset(pi, 0xcc, sizeof *pi);
    snprintf(buf, sizeof buf, "%s", cmd ? cmd : "");
    return CreateProcessA(app, cmd ? buf : NULL, NULL, NULL, FALSE, flags, NULL, NULL, &si, pi);
}

/* Run this test binary with `args` after the program name and return the
 * exit code. */
static DWORD run_self(const char *args)
{
    PROCESS_INFORMATION pi;
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "\"%s\" %s", self_path(), args);
    if (!run(NULL, cmd, 0, &pi))
        return 0xfffffffeu;
    return t_wait_child(&pi, 10000);
}

/* --- child side ---------------------------------------------------------- */

/* argv[3..] (after "<self> child argv") must equal EXPECT_1..EXPECT_<N>;
 * the exit code says which one differed (100 + index), 99 for a wrong
 * count. */
static int child_argv(int argc, char **argv)
{
    char name[32], want[1024];
    int n = atoi(getenv("EXPECT_N") ? getenv("EXPECT_N") : "-1");
    if (argc - 3 != n)
        return 99;
    for (int i = 1; i <= n; i++) {
        snprintf(name, sizeof name, "EXPECT_%d", i);
        if (!GetEnvironmentVariableA(name, want, sizeof want))
            want[0] = 0;
        if (strcmp(argv[i + 2], want) != 0)
            return 100 + i;
    }
    return 0;
}

static int child_main(int argc, char **argv)
{
    const char *mode = argv[2];
    if (!strcmp(mode, "exit")) {
        ExitProcess((UINT)strtoul(argv[3], NULL, 0));
    } else if (!strcmp(mode, "return")) {
        return atoi(argv[3]);
    } else if (!strcmp(mode, "setevent")) {
        HANDLE e = OpenEventA(EVENT_MODIFY_STATE, FALSE, argv[3]);
        if (!e || !SetEvent(e))
            return 2;
        return 0;
    } else if (!strcmp(mode, "hold")) {
        /* Create (or open) the named event argv[3], say so through the
         * event argv[4], then wait forever. */
        HANDLE held = CreateEventA(NULL, TRUE, FALSE, argv[3]);
        HANDLE ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, argv[4]);
        if (!held || !ready || !SetEvent(ready))
            return 2;
        WaitForSingleObject(held, INFINITE);
        return 3;
    } else if (!strcmp(mode, "argv")) {
        return child_argv(argc, argv);
    } else if (!strcmp(mode, "terminate-self")) {
        TerminateProcess(GetCurrentProcess(), 0xabcdef01u);
        return 4;
    }
    return 98;
}

/* --- parent side --------------------------------------------------------- */

struct argv_case {
    const char *args;        /* after "<self> child argv " */
    int n;
    const char *expect[4];
};

/* Microsoft's examples ("Parsing C++ command-line arguments") and more. */
static const struct argv_case argv_cases[] = {
    {"\"a b c\" d e", 3, {"a b c", "d", "e"}},
    {"\"ab\\\"c\" \"\\\\\" d", 3, {"ab\"c", "\\", "d"}},
    {"a\\\\\\b d\"e f\"g h", 3, {"a\\\\\\b", "de fg", "h"}},
    {"a\\\\\\\"b c d", 3, {"a\\\"b", "c", "d"}},
    {"a\\\\\\\\\"b c\" d e", 3, {"a\\\\b c", "d", "e"}},
    {"a\"b\"\" c d", 1, {"ab\" c d"}},
    {"\"\" x \"\"", 3, {"", "x", ""}},
    {"  \tspaced\t\t out  ", 2, {"spaced", "out"}},
    {"\"unterminated arg", 1, {"unterminated arg"}},
    {"trailing\\ back\\\\", 2, {"trailing\\", "back\\\\"}},
    {"\"\"\"\" x", 2, {"\"", "x"}},
    {"caf\xc3\xa9 \"\xe2\x82\xac 1\"", 2, {"caf\xc3\xa9", "\xe2\x82\xac 1"}},
};

static void test_argv(void)
{
    char name[32], label[160];
    for (size_t c = 0; c < sizeof argv_cases / sizeof argv_cases[0]; c++) {
        const struct argv_case *ac = &argv_cases[c];
        snprintf(name, sizeof name, "%d", ac->n);
        SetEnvironmentVariableA("EXPECT_N", name);
        for (int i = 0; i < ac->n; i++) {
            snprintf(name, sizeof name, "EXPECT_%d", i + 1);
            SetEnvironmentVariableA(name, ac->expect[i]);
        }
        char args[512];
        snprintf(args, sizeof args, "child argv %s", ac->args);
        snprintf(label, sizeof label, "argv of: %s", ac->args);
        T_EQ(run_self(args), 0, label);
    }
    SetEnvironmentVariableA("EXPECT_N", NULL);
}

static void test_exit_codes(void)
{
    T_EQ(run_self("child return 7"), 7, "return 7 from main");
    T_EQ(run_self("child exit 0"), 0, "ExitProcess(0)");
    T_EQ(run_self("child exit 300"), 300, "ExitProcess(300): more than 8 bits");
    T_EQ(run_self("child exit 0x12345678"), 0x12345678, "ExitProcess(0x12345678)");
    T_EQ(run_self("child exit 0xC0000005"), 0xC0000005u, "ExitProcess(STATUS_ACCESS_VIOLATION)");
    T_EQ(run_self("child exit 0x103"), STILL_ACTIVE, "ExitProcess(STILL_ACTIVE) reads as 259 too");
    T_EQ(run_self("child terminate-self"), 0xabcdef01u, "TerminateProcess(GetCurrentProcess(), 0xabcdef01)");
}

static void test_wait_terminate(void)
{
    PROCESS_INFORMATION pi;
    char cmd[1024];
    DWORD code;
    HANDLE ready = CreateEventA(NULL, TRUE, FALSE, t_name("ready1"));

    snprintf(cmd, sizeof cmd, "\"%s\" child hold %s %s", self_path(), t_name("held1"), t_name("ready1"));
    T_OK(run(NULL, cmd, 0, &pi), "CreateProcess of a waiting child");
    T_OK(pi.hProcess && pi.hThread && pi.hProcess != pi.hThread, "process and thread handles");
    T_OK(pi.dwProcessId != 0 && pi.dwProcessId != GetCurrentProcessId(), "a new process id");
    T_EQ(pi.dwThreadId, pi.dwProcessId, "main thread id is the process id");
    T_EQ(GetProcessId(pi.hProcess), pi.dwProcessId, "GetProcessId");
    T_EQ(GetThreadId(pi.hThread), pi.dwThreadId, "GetThreadId of the main thread");
    T_EQ(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "child is running");
    code = T_POISON;
    T_OK(GetExitCodeProcess(pi.hProcess, &code), "GetExitCodeProcess while running");
    T_EQ(code, STILL_ACTIVE, "STILL_ACTIVE");
    code = T_POISON;
    T_OK(GetExitCodeThread(pi.hThread, &code), "GetExitCodeThread while running");
    T_EQ(code, STILL_ACTIVE, "thread STILL_ACTIVE");
    T_EQ(WaitForSingleObject(pi.hProcess, 0), WAIT_TIMEOUT, "process handle not signaled");
    T_EQ(WaitForSingleObject(pi.hThread, 0), WAIT_TIMEOUT, "thread handle not signaled");

    HANDLE op = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE, pi.dwProcessId);
    T_OK(op != NULL, "OpenProcess on the child");
    T_EQ(GetProcessId(op), pi.dwProcessId, "same pid");
    T_ERR(TerminateProcess(op, 1), ERROR_ACCESS_DENIED, "TerminateProcess needs PROCESS_TERMINATE");

    T_OK(TerminateProcess(pi.hProcess, 0x1234abcd), "TerminateProcess");
    T_EQ(WaitForSingleObject(pi.hProcess, 10000), WAIT_OBJECT_0, "process handle signaled");
    T_EQ(WaitForSingleObject(pi.hThread, 10000), WAIT_OBJECT_0, "thread handle signaled");
    T_EQ(WaitForSingleObject(op, 10000), WAIT_OBJECT_0, "OpenProcess handle signaled");
    code = T_POISON;
    T_OK(GetExitCodeProcess(pi.hProcess, &code), "GetExitCodeProcess after TerminateProcess");
    T_EQ(code, 0x1234abcd, "the code given to TerminateProcess");
    code = T_POISON;
    T_OK(GetExitCodeThread(pi.hThread, &code), "GetExitCodeThread");
    T_EQ(code, 0x1234abcd, "main thread ends with the process's code");
    code = T_POISON;
    T_OK(GetExitCodeProcess(op, &code), "GetExitCodeProcess via OpenProcess");
    T_EQ(code, 0x1234abcd, "same code through the second handle");
    T_ERR(TerminateProcess(pi.hProcess, 2), ERROR_ACCESS_DENIED, "TerminateProcess on an ended process");
    CloseHandle(op);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    CloseHandle(ready);

    SetLastError(T_POISON);
    T_ERR(OpenProcess(PROCESS_ALL_ACCESS, FALSE, 0x7ffffff0u) != NULL, ERROR_INVALID_PARAMETER,
          "OpenProcess on a pid that does not exist");
    T_ERR(OpenProcess(PROCESS_ALL_ACCESS, FALSE, 0) != NULL, ERROR_INVALID_PARAMETER, "OpenProcess(0)");
}

static DWORD WINAPI wait_thread(LPVOID arg)
{
    return WaitForSingleObject((HANDLE)arg, 20000);
}

/* A child killed with SIGKILL from outside: exit code 1, waiters wake at
 * once, and the named event it held is gone with it. */
static void test_sigkill(void)
{
    PROCESS_INFORMATION pi, killer;
    char cmd[1024];
    DWORD code;
    HANDLE ready = CreateEventA(NULL, TRUE, FALSE, t_name("ready2"));

    snprintf(cmd, sizeof cmd, "\"%s\" child hold %s %s", self_path(), t_name("held2"), t_name("ready2"));
    T_OK(run(NULL, cmd, 0, &pi), "start a child holding a named event");
    T_EQ(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "child holds the event");
    HANDLE waiter = CreateThread(NULL, 0, wait_thread, pi.hProcess, 0, NULL);

    snprintf(cmd, sizeof cmd, "/bin/sh -c \"kill -KILL %lu\"", (unsigned long)pi.dwProcessId);
    T_OK(run(NULL, cmd, 0, &killer), "kill -KILL through /bin/sh");
    T_EQ(t_wait_child(&killer, 10000), 0, "kill succeeded");
    DWORD t0 = GetTickCount();
    T_EQ(WaitForSingleObject(waiter, 10000), WAIT_OBJECT_0, "the waiting thread returned");
    T_OK(GetTickCount() - t0 < 2000, "promptly");
    code = T_POISON;
    T_OK(GetExitCodeThread(waiter, &code), "waiter's result");
    T_EQ(code, WAIT_OBJECT_0, "its wait was satisfied");
    code = T_POISON;
    T_OK(GetExitCodeProcess(pi.hProcess, &code), "GetExitCodeProcess");
    T_EQ(code, 1, "SIGKILL from outside reads as exit code 1");
    CloseHandle(waiter);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);

    SetLastError(T_POISON);
    HANDLE again = CreateEventA(NULL, TRUE, FALSE, t_name("held2"));
    T_OK(again != NULL, "CreateEvent of the dead child's name");
    T_EQ(GetLastError(), ERROR_SUCCESS, "the name died with its only holder");
    CloseHandle(again);
    CloseHandle(ready);
}

static void test_suspended(void)
{
    PROCESS_INFORMATION pi;
    char cmd[1024];
    DWORD code;
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, t_name("susp"));

    snprintf(cmd, sizeof cmd, "\"%s\" child setevent %s", self_path(), t_name("susp"));
    T_OK(run(NULL, cmd, CREATE_SUSPENDED, &pi), "CreateProcess CREATE_SUSPENDED");
    T_EQ(WaitForSingleObject(ev, 300), WAIT_TIMEOUT, "a suspended child runs none of its code");
    code = T_POISON;
    T_OK(GetExitCodeProcess(pi.hProcess, &code) && code == STILL_ACTIVE, "suspended child is STILL_ACTIVE");
    T_EQ(ResumeThread(pi.hThread), 1, "ResumeThread returns the previous count 1");
    T_EQ(WaitForSingleObject(ev, 10000), WAIT_OBJECT_0, "after ResumeThread the child ran");
    T_EQ(ResumeThread(pi.hThread), 0, "a running thread: previous count 0");
    T_EQ(t_wait_child(&pi, 10000), 0, "child exit code");

    /* Killing a suspended child. */
    T_OK(run(NULL, cmd, CREATE_SUSPENDED, &pi), "another suspended child");
    T_OK(TerminateProcess(pi.hProcess, 77), "TerminateProcess of a suspended child");
    T_EQ(t_wait_child(&pi, 10000), 77, "its exit code");
    CloseHandle(ev);
}

/* Programs that know nothing of winipc. */
static void test_foreign(void)
{
    PROCESS_INFORMATION pi;
    T_OK(run("/bin/true", NULL, 0, &pi), "lpApplicationName /bin/true, NULL command line");
    T_EQ(t_wait_child(&pi, 10000), 0, "/bin/true exits 0");
    T_OK(run(NULL, "/bin/sh -c \"exit 7\"", 0, &pi), "/bin/sh -c \"exit 7\"");
    T_EQ(t_wait_child(&pi, 10000), 7, "exit code 7");
    T_OK(run(NULL, "sh -c \"exit 9\"", 0, &pi), "a bare name is searched on PATH");
    T_EQ(t_wait_child(&pi, 10000), 9, "exit code 9");
    T_OK(run(NULL, "sh.exe -c \"exit 5\"", 0, &pi), "name.exe falls back to name");
    T_EQ(t_wait_child(&pi, 10000), 5, "exit code 5");
    T_OK(run("/bin/sh", "ignored-argv0 -c \"exit 6\"", 0, &pi), "lpApplicationName with a separate command line");
    T_EQ(t_wait_child(&pi, 10000), 6, "exit code 6");
    T_OK(run(NULL, "/bin/sh -c \"kill -SEGV $$\"", 0, &pi), "a child dying of SIGSEGV");
    T_EQ(t_wait_child(&pi, 10000), 0xC0000005u, "reads as STATUS_ACCESS_VIOLATION");

    /* CREATE_NEW_PROCESS_GROUP: the child leads its own process group
     * (field 5 of /proc/<pid>/stat is the group). */
    const char *pgid_check = "/bin/sh -c \"[ $(cut -d' ' -f5 /proc/$$/stat) = $$ ]\"";
    T_OK(run(NULL, pgid_check, CREATE_NEW_PROCESS_GROUP, &pi), "CREATE_NEW_PROCESS_GROUP");
    T_EQ(t_wait_child(&pi, 10000), 0, "the child leads a new process group");
    T_OK(run(NULL, pgid_check, 0, &pi), "without it");
    T_EQ(t_wait_child(&pi, 10000), 1, "the child stays in ours");

    /* An unquoted program path with a space: Windows tries "<dir>/my",
     * then "<dir>/my dir/prog" (whose argv still splits at the space). */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "/bin/sh -c \"mkdir -p '%s.spacedir/my dir' && ln -sf /bin/false '%s.spacedir/my dir/prog'\"",
             self_path(), self_path());
    T_OK(run(NULL, cmd, 0, &pi) && t_wait_child(&pi, 10000) == 0, "made <dir>/my dir/prog");
    snprintf(cmd, sizeof cmd, "%s.spacedir/my dir/prog arg", self_path());
    T_OK(run(NULL, cmd, 0, &pi), "unquoted path with a space");
    T_EQ(t_wait_child(&pi, 10000), 1, "found by the longer prefix (/bin/false ran)");
    snprintf(cmd, sizeof cmd, "/bin/sh -c \"rm -rf '%s.spacedir'\"", self_path());
    T_OK(run(NULL, cmd, 0, &pi) && t_wait_child(&pi, 10000) == 0, "cleaned up");
}

static void test_errors(void)
{
    PROCESS_INFORMATION pi;
    STARTUPINFOA si;
    char cmd[64] = "/bin/true";
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;

    SetLastError(T_POISON);
    T_ERR(run(NULL, "/no/such/dir/prog", 0, &pi), ERROR_PATH_NOT_FOUND, "missing directory");
    T_ERR(run(NULL, "/bin/no-such-program-here", 0, &pi), ERROR_FILE_NOT_FOUND, "missing program");
    T_ERR(run(NULL, "no-such-program-anywhere arg", 0, &pi), ERROR_FILE_NOT_FOUND, "missing on PATH");
    T_ERR(run("/bin/no-such-program-here", "x", 0, &pi), ERROR_FILE_NOT_FOUND, "missing lpApplicationName");
    T_ERR(run("/tmp", NULL, 0, &pi), ERROR_ACCESS_DENIED, "a directory");
    T_ERR(run("/etc/passwd", NULL, 0, &pi), ERROR_ACCESS_DENIED, "a file without execute permission");
    T_ERR(run(NULL, NULL, 0, &pi), ERROR_INVALID_PARAMETER, "no application and no command line");
    T_ERR(run(NULL, "/bin/true", DEBUG_PROCESS, &pi), ERROR_NOT_SUPPORTED, "DEBUG_PROCESS");
    T_ERR(run(NULL, "/bin/true", DETACHED_PROCESS | CREATE_NEW_CONSOLE, &pi), ERROR_INVALID_PARAMETER,
          "DETACHED_PROCESS with CREATE_NEW_CONSOLE");
    T_ERR(CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, "/no/such/dir", &si, &pi), ERROR_DIRECTORY,
          "missing current directory");
    T_ERR(CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, "/etc/passwd", &si, &pi), ERROR_DIRECTORY,
          "current directory that is a file");

    /* A file that is executable but no program. */
    char script[512], make[1200];
    snprintf(script, sizeof script, "%s.notaprogram", self_path());
    snprintf(make, sizeof make, "/bin/sh -c \"printf 'junk' > '%s' && chmod +x '%s'\"", script, script);
    T_OK(run(NULL, make, 0, &pi) && t_wait_child(&pi, 10000) == 0, "made an executable junk file");
    T_ERR(run(script, NULL, 0, &pi), ERROR_BAD_EXE_FORMAT, "ERROR_BAD_EXE_FORMAT");
    T_ERR(run(script, NULL, CREATE_SUSPENDED, &pi), ERROR_BAD_EXE_FORMAT, "ERROR_BAD_EXE_FORMAT, suspended");
    remove(script);

    /* 32767 characters including the NUL is the limit. */
    static char longcmd[40000];
    memset(longcmd, 0, sizeof longcmd);
    strcpy(longcmd, "/bin/true ");
    memset(longcmd + strlen(longcmd), 'x', 32767 - strlen(longcmd));
    T_ERR(CreateProcessA(NULL, longcmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi), ERROR_FILENAME_EXCED_RANGE,
          "a 32767-character command line");
    longcmd[32766] = 0;
    T_OK(CreateProcessA(NULL, longcmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi), "32766 characters");
    T_EQ(t_wait_child(&pi, 10000), 0, "and it runs");
}

static void test_priority(void)
{
    PROCESS_INFORMATION pi;
    HANDLE ready = CreateEventA(NULL, TRUE, FALSE, t_name("ready3"));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "\"%s\" child hold %s %s", self_path(), t_name("held3"), t_name("ready3"));
    T_EQ(GetPriorityClass(GetCurrentProcess()), NORMAL_PRIORITY_CLASS, "we run at normal priority");
    T_OK(run(NULL, cmd, IDLE_PRIORITY_CLASS, &pi), "CreateProcess IDLE_PRIORITY_CLASS");
    T_EQ(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "child running");
    T_EQ(GetPriorityClass(pi.hProcess), IDLE_PRIORITY_CLASS, "child has IDLE_PRIORITY_CLASS");
    TerminateProcess(pi.hProcess, 0);
    t_wait_child(&pi, 10000);
    ResetEvent(ready);
    T_OK(run(NULL, cmd, BELOW_NORMAL_PRIORITY_CLASS | CREATE_NO_WINDOW, &pi), "BELOW_NORMAL_PRIORITY_CLASS");
    T_EQ(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "child running");
    T_EQ(GetPriorityClass(pi.hProcess), BELOW_NORMAL_PRIORITY_CLASS, "child has BELOW_NORMAL_PRIORITY_CLASS");
    TerminateProcess(pi.hProcess, 0);
    t_wait_child(&pi, 10000);
    CloseHandle(ready);
    T_ERR(run(NULL, "/bin/true", IDLE_PRIORITY_CLASS | HIGH_PRIORITY_CLASS, &pi), ERROR_INVALID_PARAMETER,
          "two priority classes");
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "child"))
        return child_main(argc, argv);
    test_argv();
    test_exit_codes();
    test_wait_terminate();
    test_sigkill();
    test_suspended();
    test_foreign();
    test_errors();
    test_priority();
    return t_done();
}
