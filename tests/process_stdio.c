/* SPDX-License-Identifier: MIT */
/* STARTF_USESTDHANDLES: a child's standard input, output and error from
 * anonymous pipes and files, for winipc children (GetStdHandle) and other
 * programs (/bin/sh), and the errors for handles that cannot be streams. */
#include "test.h"

static const char *self_path(void)
{
    static char self[MAX_PATH];
    if (!self[0])
        GetModuleFileNameA(NULL, self, sizeof self);
    return self;
}

static SECURITY_ATTRIBUTES inheritable = {sizeof(SECURITY_ATTRIBUTES), NULL, TRUE};

/* --- child side ---------------------------------------------------------- */

/* Copy stdin to stdout in upper case, through the Windows handles. */
static int child_upper(void)
{
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE), out = GetStdHandle(STD_OUTPUT_HANDLE);
    char buf[256];
    DWORD n, w;
    if (!in || in == INVALID_HANDLE_VALUE || !out || out == INVALID_HANDLE_VALUE)
        return 11;
    while (ReadFile(in, buf, sizeof buf, &n, NULL) && n) {
        for (DWORD i = 0; i < n; i++)
            if (buf[i] >= 'a' && buf[i] <= 'z')
                buf[i] = (char)(buf[i] - 'a' + 'A');
        if (!WriteFile(out, buf, n, &w, NULL) || w != n)
            return 12;
    }
    if (GetLastError() != ERROR_BROKEN_PIPE && GetLastError() != ERROR_HANDLE_EOF && GetLastError() != 0)
        return 13;
    return 0;
}

/* GetStdHandle gives the parent's hStd* values (they were inherited). */
static int child_values(char **argv)
{
    STARTUPINFOA si;
    HANDLE want = (HANDLE)(ULONG_PTR)strtoull(argv[3], NULL, 0);
    DWORD w;
    GetStartupInfoA(&si);
    if (!(si.dwFlags & STARTF_USESTDHANDLES) || si.hStdOutput != want)
        return 11;
    if (GetStdHandle(STD_OUTPUT_HANDLE) != want)
        return 12;
    if (!WriteFile(want, "via handle\n", 11, &w, NULL) || w != 11)
        return 13;
    printf("via stdio\n");
    fflush(stdout);
    return 0;
}

/* --- parent side --------------------------------------------------------- */

static BOOL spawn_std(const char *cmdline, HANDLE in, HANDLE out, HANDLE err, BOOL inherit, PROCESS_INFORMATION *pi)
{
    STARTUPINFOA si;
    char cmd[4096];
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = in;
    si.hStdOutput = out;
    si.hStdError = err;
    snprintf(cmd, sizeof cmd, "%s", cmdline);
    return CreateProcessA(NULL, cmd, NULL, NULL, inherit, 0, NULL, NULL, &si, pi);
}

/* Everything from `h` until the end of the pipe. */
static DWORD read_all(HANDLE h, char *buf, DWORD size)
{
    DWORD total = 0, n;
    while (total + 1 < size && ReadFile(h, buf + total, size - 1 - total, &n, NULL) && n)
        total += n;
    buf[total] = 0;
    return total;
}

static void test_shell_output(void)
{
    PROCESS_INFORMATION pi;
    HANDLE rd, wr;
    char buf[256];
    T_OK(CreatePipe(&rd, &wr, &inheritable, 0), "CreatePipe, inheritable");
    T_OK(SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0), "read end stays with us");
    T_OK(spawn_std("/bin/sh -c \"echo out; echo err >&2\"", NULL, wr, wr, TRUE, &pi),
         "/bin/sh with stdout and stderr on the pipe");
    CloseHandle(wr);
    read_all(rd, buf, sizeof buf);
    T_OK(strcmp(buf, "out\nerr\n") == 0, "both streams arrived, then the end of the pipe");
    T_EQ(t_wait_child(&pi, 10000), 0, "sh exited 0");
    CloseHandle(rd);

    /* Not inheritable and bInheritHandles FALSE: redirection still works
     * (the descriptors are what the child gets). */
    T_OK(CreatePipe(&rd, &wr, NULL, 0), "CreatePipe, not inheritable");
    T_OK(spawn_std("/bin/sh -c \"echo quiet\"", NULL, wr, NULL, FALSE, &pi), "sh, bInheritHandles FALSE");
    CloseHandle(wr);
    read_all(rd, buf, sizeof buf);
    T_OK(strcmp(buf, "quiet\n") == 0, "output arrived");
    T_EQ(t_wait_child(&pi, 10000), 0, "sh exited 0");
    CloseHandle(rd);
}

static void test_winipc_child(void)
{
    PROCESS_INFORMATION pi;
    HANDLE in_rd, in_wr, out_rd, out_wr;
    char cmd[1024], buf[256];
    DWORD n;
    T_OK(CreatePipe(&in_rd, &in_wr, &inheritable, 0) && CreatePipe(&out_rd, &out_wr, &inheritable, 0), "two pipes");
    SetHandleInformation(in_wr, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(out_rd, HANDLE_FLAG_INHERIT, 0);
    snprintf(cmd, sizeof cmd, "\"%s\" child upper", self_path());
    T_OK(spawn_std(cmd, in_rd, out_wr, out_wr, TRUE, &pi), "winipc child on both pipes");
    CloseHandle(in_rd);
    CloseHandle(out_wr);
    T_OK(WriteFile(in_wr, "hello, ", 7, &n, NULL) && WriteFile(in_wr, "world", 5, &n, NULL), "write its input");
    CloseHandle(in_wr);
    read_all(out_rd, buf, sizeof buf);
    T_OK(strcmp(buf, "HELLO, WORLD") == 0, "ReadFile/WriteFile on GetStdHandle in the child");
    T_EQ(t_wait_child(&pi, 10000), 0, "child exit code");
    CloseHandle(out_rd);

    T_OK(CreatePipe(&out_rd, &out_wr, &inheritable, 0), "a pipe");
    SetHandleInformation(out_rd, HANDLE_FLAG_INHERIT, 0);
    snprintf(cmd, sizeof cmd, "\"%s\" child values %p", self_path(), out_wr);
    T_OK(spawn_std(cmd, NULL, out_wr, NULL, TRUE, &pi), "winipc child with an inherited stdout handle");
    CloseHandle(out_wr);
    read_all(out_rd, buf, sizeof buf);
    T_OK(strcmp(buf, "via handle\nvia stdio\n") == 0, "both the handle and fd 1 reach the pipe");
    T_EQ(t_wait_child(&pi, 10000), 0, "GetStdHandle returned the parent's value");
    CloseHandle(out_rd);
}

static void test_file_output(void)
{
    PROCESS_INFORMATION pi;
    char path[MAX_PATH + 16], buf[256];
    DWORD n = 0;
    snprintf(path, sizeof path, "%s.out", self_path());
    HANDLE f = CreateFileA(path, GENERIC_WRITE, FILE_SHARE_READ, &inheritable, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    T_OK(f != INVALID_HANDLE_VALUE, "CreateFile for the child's output");
    T_OK(spawn_std("/bin/sh -c \"printf 'to a file'\"", NULL, f, NULL, TRUE, &pi), "sh writing to the file");
    T_EQ(t_wait_child(&pi, 10000), 0, "sh exited 0");
    CloseHandle(f);
    f = CreateFileA(path, GENERIC_READ, 0, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    T_OK(f != INVALID_HANDLE_VALUE && ReadFile(f, buf, sizeof buf - 1, &n, NULL), "read it back");
    buf[n] = 0;
    T_OK(strcmp(buf, "to a file") == 0, "the file holds the child's output");
    CloseHandle(f);
    DeleteFileA(path);
}

static void test_errors(void)
{
    PROCESS_INFORMATION pi;
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    SetLastError(T_POISON);
    T_ERR(spawn_std("/bin/true", NULL, (HANDLE)(ULONG_PTR)0x7ffc, NULL, FALSE, &pi), ERROR_INVALID_HANDLE,
          "a standard handle that is no handle");
    T_ERR(spawn_std("/bin/true", NULL, ev, NULL, FALSE, &pi), ERROR_INVALID_HANDLE, "an event as standard output");
    T_OK(spawn_std("/bin/true", NULL, NULL, INVALID_HANDLE_VALUE, FALSE, &pi), "NULL and INVALID_HANDLE_VALUE");
    T_EQ(t_wait_child(&pi, 10000), 0, "run with /dev/null");
    CloseHandle(ev);
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "child")) {
        if (!strcmp(argv[2], "upper"))
            return child_upper();
        if (!strcmp(argv[2], "values"))
            return child_values(argv);
        return 99;
    }
    test_shell_output();
    test_winipc_child();
    test_file_output();
    test_errors();
    return t_done();
}
