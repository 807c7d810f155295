/* SPDX-License-Identifier: MIT */
/* The process environment: GetEnvironmentVariable/SetEnvironmentVariable
 * return conventions, the current directory, GetCommandLine in a child,
 * environment blocks (ANSI and wide) and lpCurrentDirectory for children,
 * GetStartupInfo, and the module functions. */
#include "test.h"

#include <wchar.h>

static const char *self_path(void)
{
    static char self[MAX_PATH];
    if (!self[0])
        GetModuleFileNameA(NULL, self, sizeof self);
    return self;
}

/* --- child side ---------------------------------------------------------- */

static int child_main(int argc, char **argv)
{
    const char *mode = argv[2];
    char buf[4096];
    if (!strcmp(mode, "cmdline")) {
        /* The exact command line the parent passed: in WANT_CMDLINE. */
        if (!GetEnvironmentVariableA("WANT_CMDLINE", buf, sizeof buf))
            return 11;
        if (strcmp(GetCommandLineA(), buf) != 0)
            return 12;
        wchar_t wide[4096];
        mbstowcs(wide, buf, 4096);
        if (wcscmp(GetCommandLineW(), wide) != 0)
            return 13;
        return 0;
    }
    if (!strcmp(mode, "env")) {
        /* The block holds A=1, B=two words, C empty-ish; nothing else of
         * the parent's, in particular no PARENT_ONLY. */
        if (GetEnvironmentVariableA("A", buf, sizeof buf) != 1 || strcmp(buf, "1") != 0)
            return 11;
        if (GetEnvironmentVariableA("B", buf, sizeof buf) != 9 || strcmp(buf, "two words") != 0)
            return 12;
        SetLastError(T_POISON);
        if (GetEnvironmentVariableA("PARENT_ONLY", buf, sizeof buf) != 0 || GetLastError() != ERROR_ENVVAR_NOT_FOUND)
            return 13;
        if (GetEnvironmentVariableA("UNI", buf, sizeof buf) != 6 || strcmp(buf, "caf\xc3\xa9!") != 0)
            return 14;
        return 0;
    }
    if (!strcmp(mode, "inherit-env")) {
        if (GetEnvironmentVariableA("PARENT_ONLY", buf, sizeof buf) != 3 || strcmp(buf, "yes") != 0)
            return 11;
        /* The start-block variable never stays visible. */
        if (GetEnvironmentVariableA("WINIPC_START", buf, sizeof buf) != 0)
            return 12;
        return 0;
    }
    if (!strcmp(mode, "cwd")) {
        if (!GetCurrentDirectoryA(sizeof buf, buf))
            return 11;
        return strcmp(buf, argv[3]) == 0 ? 0 : 12;
    }
    if (!strcmp(mode, "startup")) {
        STARTUPINFOA si;
        STARTUPINFOW siw;
        memset(&si, 0xcc, sizeof si);
        GetStartupInfoA(&si);
        if (si.cb != sizeof si)
            return 11;
        if (!(si.dwFlags & STARTF_USESHOWWINDOW) || si.wShowWindow != 7)
            return 12;
        if (!si.lpTitle || strcmp(si.lpTitle, "A title") != 0)
            return 13;
        if (si.dwX != 10 || si.dwY != 20 || (si.dwFlags & STARTF_USESTDHANDLES))
            return 14;
        if (si.cbReserved2 != 3 || !si.lpReserved2 || memcmp(si.lpReserved2, "abc", 3) != 0)
            return 15;
        memset(&siw, 0xcc, sizeof siw);
        GetStartupInfoW(&siw);
        if (siw.cb != sizeof siw || !siw.lpTitle || wcscmp(siw.lpTitle, L"A title") != 0 || siw.wShowWindow != 7)
            return 16;
        return 0;
    }
    if (!strcmp(mode, "nostartup")) {
        STARTUPINFOA si;
        memset(&si, 0xcc, sizeof si);
        GetStartupInfoA(&si);
        if (si.cb != sizeof si || si.dwFlags != 0 || si.lpTitle != NULL)
            return 11;
        return 0;
    }
    return 99;
}

/* --- parent side --------------------------------------------------------- */

static BOOL spawn_ex(const char *cmdline, void *env, DWORD flags, const char *cwd, STARTUPINFOA *si_in,
                     PROCESS_INFORMATION *pi)
{
    STARTUPINFOA si;
    char cmd[4096];
    if (si_in) {
        si = *si_in;
    } else {
        memset(&si, 0, sizeof si);
        si.cb = sizeof si;
    }
    snprintf(cmd, sizeof cmd, "%s", cmdline);
    return CreateProcessA(NULL, cmd, NULL, NULL, FALSE, flags, env, cwd, &si, pi);
}

static void test_variables(void)
{
    char buf[64];
    wchar_t wbuf[64];

    SetLastError(T_POISON);
    T_EQ(GetEnvironmentVariableA("WINIPC_TEST_MISSING", buf, sizeof buf), 0, "missing variable: 0");
    T_EQ(GetLastError(), ERROR_ENVVAR_NOT_FOUND, "ERROR_ENVVAR_NOT_FOUND");
    T_OK(SetEnvironmentVariableA("WINIPC_TEST_V", "hello"), "SetEnvironmentVariableA");
    memset(buf, 'x', sizeof buf);
    T_EQ(GetEnvironmentVariableA("WINIPC_TEST_V", buf, sizeof buf), 5, "length without the NUL");
    T_STR(buf, "hello", "value");
    T_EQ(GetEnvironmentVariableA("WINIPC_TEST_V", buf, 5), 6, "a 5-char buffer is too small: 6 needed");
    T_EQ(GetEnvironmentVariableA("WINIPC_TEST_V", buf, 6), 5, "6 fits");
    T_EQ(GetEnvironmentVariableA("WINIPC_TEST_V", NULL, 0), 6, "NULL buffer: size needed");
    T_EQ(getenv("WINIPC_TEST_V") ? (int)strlen(getenv("WINIPC_TEST_V")) : -1, 5, "the C library sees it too");
    T_EQ(GetEnvironmentVariableA("winipc_test_v", buf, sizeof buf), 5, "names are case-insensitive");
    T_OK(SetEnvironmentVariableA("Winipc_Test_V", "again"), "set through another case");
    T_EQ(GetEnvironmentVariableA("WINIPC_TEST_V", buf, sizeof buf), 5, "updates the same variable");
    T_STR(buf, "again", "new value");

    T_OK(SetEnvironmentVariableA("WINIPC_TEST_EMPTY", ""), "an empty value");
    SetLastError(T_POISON);
    buf[0] = 'x';
    T_EQ(GetEnvironmentVariableA("WINIPC_TEST_EMPTY", buf, sizeof buf), 0, "empty: returns 0");
    T_EQ(GetLastError(), ERROR_SUCCESS, "with no error");
    T_EQ(buf[0], 0, "and an empty string");

    T_OK(SetEnvironmentVariableA("WINIPC_TEST_V", NULL), "NULL value deletes");
    SetLastError(T_POISON);
    T_EQ(GetEnvironmentVariableA("WINIPC_TEST_V", buf, sizeof buf), 0, "deleted");
    T_EQ(GetLastError(), ERROR_ENVVAR_NOT_FOUND, "ERROR_ENVVAR_NOT_FOUND");
    T_OK(SetEnvironmentVariableA("WINIPC_TEST_V", NULL), "deleting a missing variable succeeds");
    T_ERR(SetEnvironmentVariableA("A=B", "x"), ERROR_INVALID_PARAMETER, "a name with '='");
    T_ERR(SetEnvironmentVariableA("", "x"), ERROR_INVALID_PARAMETER, "an empty name");

    T_OK(SetEnvironmentVariableW(L"WINIPC_TEST_W", L"caf\u00e9 \u20ac"), "SetEnvironmentVariableW");
    T_EQ(GetEnvironmentVariableW(L"WINIPC_TEST_W", wbuf, 64), 6, "W length in characters");
    T_OK(wcscmp(wbuf, L"caf\u00e9 \u20ac") == 0, "W value");
    T_EQ(GetEnvironmentVariableW(L"WINIPC_TEST_W", wbuf, 6), 7, "W too small: 7 needed");
    T_EQ(GetEnvironmentVariableA("WINIPC_TEST_W", buf, sizeof buf), 9, "A sees UTF-8 bytes");
    T_OK(SetEnvironmentVariableW(L"WINIPC_TEST_W", NULL), "W delete");
    SetLastError(T_POISON);
    T_EQ(GetEnvironmentVariableW(L"WINIPC_TEST_W", wbuf, 64), 0, "W deleted");
    T_EQ(GetLastError(), ERROR_ENVVAR_NOT_FOUND, "W ERROR_ENVVAR_NOT_FOUND");
}

static void test_directory(void)
{
    char orig[4096], buf[4096], small[4];
    wchar_t wbuf[4096];
    DWORD n = GetCurrentDirectoryA(sizeof orig, orig);
    T_OK(n > 0 && n == strlen(orig), "GetCurrentDirectoryA returns the length");
    T_EQ(GetCurrentDirectoryA(0, NULL), n + 1, "size needed with the NUL");
    T_EQ(GetCurrentDirectoryA(n, buf), n + 1, "a buffer one short: size needed");
    T_EQ(GetCurrentDirectoryA(n + 1, buf), n, "exactly enough");
    T_EQ(GetCurrentDirectoryA(sizeof small, small), n + 1, "tiny buffer");
    T_EQ(GetCurrentDirectoryW(4096, wbuf), n, "W length (ASCII path)");

    T_OK(SetCurrentDirectoryA("/"), "SetCurrentDirectoryA(\"/\")");
    T_EQ(GetCurrentDirectoryA(sizeof buf, buf), 1, "now /");
    T_OK(strcmp(buf, "/") == 0, "value /");
    T_ERR(SetCurrentDirectoryA("/no-such-dir-winipc"), ERROR_FILE_NOT_FOUND, "missing directory");
    T_ERR(SetCurrentDirectoryA("/no-such-dir-winipc/sub"), ERROR_PATH_NOT_FOUND, "missing parent");
    T_ERR(SetCurrentDirectoryA("/etc/passwd"), ERROR_DIRECTORY, "a file");
    T_OK(SetCurrentDirectoryW(L"/tmp"), "SetCurrentDirectoryW");
    T_OK(SetCurrentDirectoryA(orig), "back");
    GetCurrentDirectoryA(sizeof buf, buf);
    T_OK(strcmp(buf, orig) == 0, "back where we were");
}

static void test_children(void)
{
    PROCESS_INFORMATION pi;
    char cmd[4096], root[1024], block[4096];
    const char *self = self_path();

    /* GetCommandLine in the child is exactly what we passed. */
    snprintf(cmd, sizeof cmd, "\"%s\"   child  cmdline   \"odd  spacing\"\t\"a\\\"b\" ", self);
    SetEnvironmentVariableA("WANT_CMDLINE", cmd);
    T_OK(spawn_ex(cmd, NULL, 0, NULL, NULL, &pi), "child for GetCommandLine");
    T_EQ(t_wait_child(&pi, 10000), 0, "GetCommandLineA/W in the child: the exact string");
    SetEnvironmentVariableA("WANT_CMDLINE", NULL);

    /* Environment blocks. The namespace root must go along. */
    SetEnvironmentVariableA("PARENT_ONLY", "yes");
    snprintf(cmd, sizeof cmd, "\"%s\" child inherit-env", self);
    T_OK(spawn_ex(cmd, NULL, 0, NULL, NULL, &pi), "NULL environment: ours");
    T_EQ(t_wait_child(&pi, 10000), 0, "the child sees our variables");

    if (!GetEnvironmentVariableA("WINIPC_ROOT", root, sizeof root))
        root[0] = 0;
    char *p = block;
    p += sprintf(p, "A=1") + 1;
    p += sprintf(p, "B=two words") + 1;
    p += sprintf(p, "UNI=caf\xc3\xa9!") + 1;
    if (root[0])
        p += sprintf(p, "WINIPC_ROOT=%s", root) + 1;
    *p = 0;
    snprintf(cmd, sizeof cmd, "\"%s\" child env", self);
    T_OK(spawn_ex(cmd, block, 0, NULL, NULL, &pi), "ANSI environment block");
    T_EQ(t_wait_child(&pi, 10000), 0, "the child sees exactly the block");

    wchar_t wblock[4096], *w = wblock;
    w += swprintf(w, 64, L"A=1") + 1;
    w += swprintf(w, 64, L"B=two words") + 1;
    w += swprintf(w, 64, L"UNI=caf\u00e9!") + 1;
    if (root[0])
        w += swprintf(w, 1100, L"WINIPC_ROOT=%s", root) + 1;
    *w = 0;
    T_OK(spawn_ex(cmd, wblock, CREATE_UNICODE_ENVIRONMENT, NULL, NULL, &pi), "CREATE_UNICODE_ENVIRONMENT block");
    T_EQ(t_wait_child(&pi, 10000), 0, "the child sees the wide block");
    SetEnvironmentVariableA("PARENT_ONLY", NULL);

    /* lpCurrentDirectory. */
    snprintf(cmd, sizeof cmd, "\"%s\" child cwd /tmp", self);
    T_OK(spawn_ex(cmd, NULL, 0, "/tmp", NULL, &pi), "lpCurrentDirectory /tmp");
    T_EQ(t_wait_child(&pi, 10000), 0, "the child starts in /tmp");

    /* STARTUPINFO reaches GetStartupInfo. */
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESHOWWINDOW | STARTF_USEPOSITION;
    si.wShowWindow = 7;
    si.dwX = 10;
    si.dwY = 20;
    si.lpTitle = "A title";
    si.cbReserved2 = 3;
    si.lpReserved2 = (LPBYTE) "abc";
    snprintf(cmd, sizeof cmd, "\"%s\" child startup", self);
    T_OK(spawn_ex(cmd, NULL, 0, NULL, &si, &pi), "child with a STARTUPINFO");
    T_EQ(t_wait_child(&pi, 10000), 0, "GetStartupInfoA/W give it back");
    /* CreateProcessW: the same through wide strings. */
    STARTUPINFOW siw;
    wchar_t wcmd[4096];
    memset(&siw, 0, sizeof siw);
    siw.cb = sizeof siw;
    siw.dwFlags = STARTF_USESHOWWINDOW | STARTF_USEPOSITION;
    siw.wShowWindow = 7;
    siw.dwX = 10;
    siw.dwY = 20;
    siw.lpTitle = L"A title";
    siw.cbReserved2 = 3;
    siw.lpReserved2 = (LPBYTE) "abc";
    swprintf(wcmd, 4096, L"\"%s\"  child  startup", self);
    memset(&pi, 0xcc, sizeof pi);
    T_OK(CreateProcessW(NULL, wcmd, NULL, NULL, FALSE, 0, NULL, NULL, &siw, &pi), "CreateProcessW");
    T_EQ(t_wait_child(&pi, 10000), 0, "STARTUPINFOW reaches GetStartupInfoA/W");
    snprintf(cmd, sizeof cmd, "\"%s\"  child  cmdline", self);
    SetEnvironmentVariableA("WANT_CMDLINE", cmd);
    swprintf(wcmd, 4096, L"\"%s\"  child  cmdline", self);
    memset(&siw, 0, sizeof siw);
    siw.cb = sizeof siw;
    T_OK(CreateProcessW(NULL, wcmd, NULL, NULL, FALSE, 0, NULL, L"/", &siw, &pi), "CreateProcessW, lpCurrentDirectory");
    T_EQ(t_wait_child(&pi, 10000), 0, "GetCommandLineA/W after CreateProcessW");
    SetEnvironmentVariableA("WANT_CMDLINE", NULL);
    T_ERR(CreateProcessW(L"/no/such/program", NULL, NULL, NULL, FALSE, 0, NULL, NULL, &siw, &pi),
          ERROR_PATH_NOT_FOUND, "CreateProcessW error");

    snprintf(cmd, sizeof cmd, "\"%s\" child nostartup", self);
    T_OK(spawn_ex(cmd, NULL, 0, NULL, NULL, &pi), "child with an empty STARTUPINFO");
    T_EQ(t_wait_child(&pi, 10000), 0, "GetStartupInfoA: nothing set");
}

typedef DWORD(WINAPI *getpid_fn)(void);

static void test_modules(void)
{
    char buf[MAX_PATH], buf2[MAX_PATH], small[8];
    wchar_t wbuf[MAX_PATH], wsmall[4];
    HMODULE main_mod = GetModuleHandleA(NULL);
    T_OK(main_mod != NULL, "GetModuleHandle(NULL)");
    DWORD n = GetModuleFileNameA(NULL, buf, sizeof buf);
    T_OK(n > 0 && n == strlen(buf), "GetModuleFileNameA(NULL)");
    T_EQ(GetModuleFileNameA(main_mod, buf2, sizeof buf2), n, "same through the main module's handle");
    T_STR(buf2, buf, "same path");
    SetLastError(T_POISON);
    memset(small, 'x', sizeof small);
    T_EQ(GetModuleFileNameA(NULL, small, sizeof small), sizeof small, "too small: returns nSize");
    T_EQ(GetLastError(), ERROR_INSUFFICIENT_BUFFER, "ERROR_INSUFFICIENT_BUFFER");
    T_OK(small[7] == 0 && memcmp(small, buf, 7) == 0, "truncated to nSize - 1 characters and a NUL");
    T_EQ(GetModuleFileNameW(NULL, wbuf, MAX_PATH), n, "W length");
    T_EQ(GetModuleFileNameW(NULL, wsmall, 4), 4, "W too small: returns nSize");
    T_OK(wsmall[3] == 0 && wsmall[0] == (wchar_t)buf[0], "W truncated and NUL-terminated");

    HMODULE k32 = GetModuleHandleA("kernel32.dll");
    T_OK(k32 != NULL, "GetModuleHandle(\"kernel32.dll\")");
    T_OK(GetModuleHandleA("KERNEL32") == k32, "\"KERNEL32\": case-insensitive, .dll implied");
    T_OK(GetModuleHandleW(L"kernelbase.dll") == k32, "kernelbase.dll");
    SetLastError(T_POISON);
    T_ERR(GetModuleHandleA("no-such-module.dll") != NULL, ERROR_MOD_NOT_FOUND, "unknown module");
    getpid_fn f = (getpid_fn)(void (*)(void))GetProcAddress(k32, "GetCurrentProcessId");
    T_OK(f != NULL, "GetProcAddress(kernel32, \"GetCurrentProcessId\")");
    T_EQ(f ? f() : 0, GetCurrentProcessId(), "and it works");
    SetLastError(T_POISON);
    T_ERR(GetProcAddress(k32, "NoSuchFunctionAnywhere") != NULL, ERROR_PROC_NOT_FOUND, "missing function");
    T_ERR(GetProcAddress(k32, "malloc") != NULL, ERROR_PROC_NOT_FOUND, "another module's function");
    T_ERR(GetProcAddress(k32, (LPCSTR)(ULONG_PTR)1) != NULL, ERROR_PROC_NOT_FOUND, "an ordinal");
    T_OK(GetModuleFileNameA(k32, buf2, sizeof buf2) > 0, "GetModuleFileName of kernel32");
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "child"))
        return child_main(argc, argv);
    test_variables();
    test_directory();
    test_children();
    test_modules();
    return t_done();
}
