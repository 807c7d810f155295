/* SPDX-License-Identifier: MIT */
/* The *W16 entry points that -fshort-wchar callers link against (the headers
 * rename XxxW to XxxW16 when WCHAR is 16 bits). This file is built with the
 * normal 32-bit wchar_t, so it declares the W16 symbols itself and passes
 * UTF-16 literals. Counts are UTF-16 units: U+1F600 takes two. */
#include "test.h"

#include <stdint.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef WINIPC_BEGIN_DECLS /* built against another SDK (winegcc): no W16 symbols */
int main(void)
{
    printf("1..0 # SKIP winipc's -fshort-wchar entry points only\n");
    return 0;
}
#else

typedef uint16_t W16;
#define U(s) ((const W16 *)(u"" s))

HANDLE WINAPI CreateEventW16(LPSECURITY_ATTRIBUTES, BOOL, BOOL, const W16 *);
HANDLE WINAPI CreateEventExW16(LPSECURITY_ATTRIBUTES, const W16 *, DWORD, DWORD);
HANDLE WINAPI OpenEventW16(DWORD, BOOL, const W16 *);
HANDLE WINAPI CreateFileMappingW16(HANDLE, LPSECURITY_ATTRIBUTES, DWORD, DWORD, DWORD, const W16 *);
HANDLE WINAPI OpenFileMappingW16(DWORD, BOOL, const W16 *);
HANDLE WINAPI CreateFileW16(const W16 *, DWORD, DWORD, LPSECURITY_ATTRIBUTES, DWORD, DWORD, HANDLE);
BOOL WINAPI DeleteFileW16(const W16 *);
DWORD WINAPI GetTempPathW16(DWORD, W16 *);
UINT WINAPI GetTempFileNameW16(const W16 *, const W16 *, UINT, W16 *);
HANDLE WINAPI CreateNamedPipeW16(const W16 *, DWORD, DWORD, DWORD, DWORD, DWORD, DWORD, LPSECURITY_ATTRIBUTES);
BOOL WINAPI WaitNamedPipeW16(const W16 *, DWORD);
W16 *WINAPI GetCommandLineW16(void);
DWORD WINAPI GetEnvironmentVariableW16(const W16 *, W16 *, DWORD);
BOOL WINAPI SetEnvironmentVariableW16(const W16 *, const W16 *);
DWORD WINAPI GetCurrentDirectoryW16(DWORD, W16 *);
BOOL WINAPI SetCurrentDirectoryW16(const W16 *);
DWORD WINAPI GetModuleFileNameW16(HMODULE, W16 *, DWORD);
HMODULE WINAPI GetModuleHandleW16(const W16 *);
BOOL WINAPI CreateProcessW16(const W16 *, W16 *, LPSECURITY_ATTRIBUTES, LPSECURITY_ATTRIBUTES, BOOL, DWORD, LPVOID,
                             const W16 *, LPSTARTUPINFOW, LPPROCESS_INFORMATION);
void WINAPI GetStartupInfoW16(LPSTARTUPINFOW);
DWORD WINAPI FormatMessageW16(DWORD, LPCVOID, DWORD, DWORD, W16 *, DWORD, va_list *);

#define SMILE "\U0001F600" /* outside the BMP: a surrogate pair in UTF-16 */

static size_t len16(const W16 *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static int eq16(const W16 *a, const W16 *b)
{
    return a && b && len16(a) == len16(b) && memcmp(a, b, len16(a) * sizeof *a) == 0;
}

/* UTF-8 -> UTF-16 for building expectations from libc strings. */
static void utf16_from_utf8(const char *s, W16 *out, size_t cap)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && n + 2 < cap) {
        uint32_t c = *p++;
        int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
        c &= more ? 0x3Fu >> more : 0x7F;
        while (more-- && *p)
            c = (c << 6) | (*p++ & 0x3F);
        if (c >= 0x10000) {
            out[n++] = (W16)(0xD800 + ((c - 0x10000) >> 10));
            out[n++] = (W16)(0xDC00 + ((c - 0x10000) & 0x3FF));
        } else {
            out[n++] = (W16)c;
        }
    }
    out[n] = 0;
}

static void test_events(void)
{
    HANDLE a, b, c;

    a = CreateEventW16(NULL, TRUE, FALSE, U("winipc-test-w16-" SMILE));
    T_OK(a != NULL, "CreateEventW16 with a non-BMP name");
    /* The same object seen through the narrow (UTF-8) and wide names. */
    b = OpenEventA(EVENT_ALL_ACCESS, FALSE, "winipc-test-w16-" SMILE);
    T_OK(b != NULL, "OpenEventA finds it under its UTF-8 name");
    c = CreateEventW(NULL, TRUE, FALSE, L"winipc-test-w16-" SMILE);
    T_EQ(GetLastError(), ERROR_ALREADY_EXISTS, "CreateEventW opens it: ERROR_ALREADY_EXISTS");
    SetEvent(b);
    T_EQ(WaitForSingleObject(a, 0), WAIT_OBJECT_0, "signaled through the other handle");
    CloseHandle(b);
    CloseHandle(c);

    b = OpenEventW16(SYNCHRONIZE, FALSE, U("winipc-test-w16-" SMILE));
    T_OK(b != NULL, "OpenEventW16");
    CloseHandle(b);
    b = CreateEventExW16(NULL, U("winipc-test-w16-" SMILE), CREATE_EVENT_MANUAL_RESET, EVENT_ALL_ACCESS);
    T_EQ(GetLastError(), ERROR_ALREADY_EXISTS, "CreateEventExW16 opens the existing event");
    CloseHandle(b);
    CloseHandle(a);

    b = OpenEventW16(SYNCHRONIZE, FALSE, U("winipc-test-w16-missing"));
    T_ERR(b != NULL, ERROR_FILE_NOT_FOUND, "OpenEventW16 of a missing name");
    a = CreateEventW16(NULL, FALSE, TRUE, NULL);
    T_OK(a && WaitForSingleObject(a, 0) == WAIT_OBJECT_0, "CreateEventW16 unnamed");
    CloseHandle(a);

    /* A lone surrogate is not a character: it becomes U+FFFD, as in the A
     * name conversion of an invalid byte. */
    static const W16 lone[] = {'w', '1', '6', '-', 0xD800, 0};
    a = CreateEventW16(NULL, TRUE, FALSE, lone);
    b = OpenEventA(SYNCHRONIZE, FALSE, "w16-\xEF\xBF\xBD");
    T_OK(a && b, "a lone surrogate in a name becomes U+FFFD");
    CloseHandle(a);
    CloseHandle(b);
}

static DWORD fmt16(DWORD flags, const W16 *src, W16 *out, DWORD size, ...)
{
    va_list ap;
    DWORD r;
    va_start(ap, size);
    r = FormatMessageW16(flags, src, 0, 0, out, size, &ap);
    va_end(ap);
    return r;
}

static void test_format_message(void)
{
    W16 buf[128];
    W16 *p = NULL;
    DWORD r;

    /* System text, into a buffer and allocated. */
    memset(buf, 0xAA, sizeof buf);
    r = FormatMessageW16(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, ERROR_FILE_NOT_FOUND, 0,
                         buf, 128, NULL);
    T_EQ(r, 44, "FormatMessageW16 system text length");
    T_OK(eq16(buf, U("The system cannot find the file specified.\r\n")), "FormatMessageW16 system text");

    r = FormatMessageW16(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS | FORMAT_MESSAGE_ALLOCATE_BUFFER,
                         NULL, ERROR_ACCESS_DENIED, 0, (W16 *)&p, 0, NULL);
    T_EQ(r, 19, "ALLOCATE_BUFFER: length");
    T_OK(p && eq16(p, U("Access is denied.\r\n")), "ALLOCATE_BUFFER: text");
    T_OK(p && LocalSize(p) >= 20 * sizeof(W16), "ALLOCATE_BUFFER: a LocalAlloc block of 16-bit units");
    T_OK(LocalFree(p) == NULL, "ALLOCATE_BUFFER: LocalFree");
    r = FormatMessageW16(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS | FORMAT_MESSAGE_ALLOCATE_BUFFER,
                         NULL, ERROR_ACCESS_DENIED, 0, (W16 *)&p, 100, NULL);
    T_OK(r == 19 && p && LocalSize(p) >= 100 * sizeof(W16), "ALLOCATE_BUFFER: at least nSize units");
    LocalFree(p);
    p = (W16 *)T_POISON_HANDLE;
    r = FormatMessageW16(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_ALLOCATE_BUFFER, NULL, 0x12345678, 0, (W16 *)&p,
                         0, NULL);
    T_ERR(r, ERROR_MR_MID_NOT_FOUND, "unknown message id");
    T_OK(p == NULL, "ALLOCATE_BUFFER: pointer set to NULL on failure");

    /* Wide inserts are UTF-16 too; a non-BMP character counts 2. */
    DWORD_PTR args[3] = {(DWORD_PTR)U("x" SMILE), 42, (DWORD_PTR)"narrow"};
    memset(buf, 0xAA, sizeof buf);
    r = FormatMessageW16(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_ARGUMENT_ARRAY, U("a" SMILE "%1!s!%2!d!%3!S!"),
                         0, 0, buf, 128, (va_list *)args);
    T_EQ(r, 1 + 2 + 1 + 2 + 2 + 6, "inserts from an array: length in UTF-16 units");
    T_OK(eq16(buf, U("a" SMILE "x" SMILE "42narrow")), "inserts from an array: %s wide (UTF-16), %S narrow");

    memset(buf, 0xAA, sizeof buf);
    r = fmt16(FORMAT_MESSAGE_FROM_STRING, U("%1 %2!d! %3!ls! %4!hs! %5!I64u! %6!c!"), buf, 128, U("one"), -7,
              U("thr" SMILE), "four", (unsigned long long)1 << 40, (int)u'\x263A');
    T_OK(eq16(buf, U("one -7 thr" SMILE " four 1099511627776 \x263A")), "inserts from a va_list");

    memset(buf, 0xAA, sizeof buf);
    r = fmt16(FORMAT_MESSAGE_FROM_STRING, U("[%1!*.*s!][%4!-5s!]"), buf, 128, 6, 2, U("abcdef"), U("z"));
    T_OK(r == 15 && eq16(buf, U("[    ab][z    ]")), "'*' width and precision on a wide insert (va_list)");

    DWORD_PTR star[3] = {6, 2, (DWORD_PTR)U("abcdef")};
    r = FormatMessageW16(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_ARGUMENT_ARRAY, U("[%1!*.*s!]"), 0, 0, buf, 128,
                         (va_list *)star);
    T_OK(r == 8 && eq16(buf, U("[    ab]")), "'*' width and precision on a wide insert (array)");

    r = fmt16(FORMAT_MESSAGE_FROM_STRING, U("%1!u!+%2!u!=%3!x!"), buf, 128, 1u, 2u, 0xABu);
    T_OK(eq16(buf, U("1+2=ab")), "numeric inserts pass through a va_list");

    DWORD_PTR prog[1] = {(DWORD_PTR)U("prog" SMILE)};
    r = FormatMessageW16(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_ARGUMENT_ARRAY, NULL, ERROR_CHILD_NOT_COMPLETE,
                         0, buf, 128, (va_list *)prog);
    T_OK(eq16(buf, U("The prog" SMILE " application cannot be run in Win32 mode.\r\n")),
         "a system message's wide insert");

    r = FormatMessageW16(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_IGNORE_INSERTS, U("%1 and %2!d!%n"), 0, 0, buf,
                         128, NULL);
    T_OK(r == 14 && eq16(buf, U("%1 and %2!d!\r\n")), "IGNORE_INSERTS keeps the inserts");

    /* Buffer sizes count UTF-16 units. */
    r = FormatMessageW16(FORMAT_MESSAGE_FROM_STRING, U("ab" SMILE), 0, 0, buf, 5, NULL);
    T_EQ(r, 4, "exact fit: 4 units and the NUL");
    memset(buf, 0xAA, sizeof buf);
    r = FormatMessageW16(FORMAT_MESSAGE_FROM_STRING, U("ab" SMILE), 0, 0, buf, 4, NULL);
    T_ERR(r, ERROR_INSUFFICIENT_BUFFER, "one unit short: ERROR_INSUFFICIENT_BUFFER");
    T_OK(buf[0] == 'a' && buf[1] == 'b' && buf[2] == 0xD83D && buf[3] == 0, "W stores what fits, NUL-terminated");

    memset(buf, 0xAA, sizeof buf);
    r = FormatMessageW16(FORMAT_MESSAGE_FROM_STRING, U("%0"), 0, 0, buf, 8, NULL);
    T_ERR(r, ERROR_NO_WORK_DONE, "empty result: ERROR_NO_WORK_DONE");
    T_EQ(buf[0], 0, "empty result: the empty string is stored");
    r = FormatMessageW16(FORMAT_MESSAGE_FROM_STRING, U("x"), 0, 0, NULL, 8, NULL);
    T_ERR(r, ERROR_INVALID_PARAMETER, "NULL buffer");
    r = FormatMessageW16(FORMAT_MESSAGE_FROM_STRING, NULL, 0, 0, buf, 8, NULL);
    T_ERR(r, ERROR_INVALID_PARAMETER, "NULL template");
    r = fmt16(FORMAT_MESSAGE_FROM_STRING, U("%1!f!"), buf, 8, 1.0);
    T_ERR(r, ERROR_INVALID_PARAMETER, "floating point insert");
    r = FormatMessageW16(FORMAT_MESSAGE_FROM_STRING, U("50%"), 0, 0, buf, 8, NULL);
    T_ERR(r, ERROR_INVALID_PARAMETER, "a '%' ending the template");
}

static void test_environment(void)
{
    W16 buf[16];
    DWORD r;

    BOOL ok = SetEnvironmentVariableW16(U("WINIPC_W16_VAR"), U("x" SMILE "y"));
    T_OK(ok, "SetEnvironmentVariableW16");
    T_STR(getenv("WINIPC_W16_VAR"), "x" SMILE "y", "the C library sees it in UTF-8");
    memset(buf, 0xAA, sizeof buf);
    r = GetEnvironmentVariableW16(U("WINIPC_W16_VAR"), buf, 16);
    T_EQ(r, 4, "GetEnvironmentVariableW16: length in UTF-16 units");
    T_OK(eq16(buf, U("x" SMILE "y")), "GetEnvironmentVariableW16: value");
    T_EQ(GetEnvironmentVariableW16(U("WINIPC_W16_VAR"), buf, 5), 4, "exact fit");
    T_EQ(GetEnvironmentVariableW16(U("WINIPC_W16_VAR"), buf, 4), 5, "too small: the size needed with its NUL");
    T_EQ(GetEnvironmentVariableW16(U("WINIPC_W16_VAR"), NULL, 0), 5, "size query");
    r = GetEnvironmentVariableW16(U("WINIPC_W16_MISSING"), buf, 16);
    T_ERR(r, ERROR_ENVVAR_NOT_FOUND, "missing variable");
    T_OK(SetEnvironmentVariableW16(U("WINIPC_W16_VAR"), NULL), "SetEnvironmentVariableW16(NULL) deletes");
    T_OK(getenv("WINIPC_W16_VAR") == NULL, "deleted");
}

static void test_directories(const char *root)
{
    W16 buf[1024], expect[1024];
    char dir[200], cwd[512];
    DWORD r;

    r = GetTempPathW16(0, NULL);
    T_OK(r > 1, "GetTempPathW16 size query");
    T_EQ(GetTempPathW16(r, buf), r - 1, "GetTempPathW16 fills a buffer of that size");
    T_EQ(GetTempPathW16(r - 1, buf), r, "GetTempPathW16 one unit short");

    snprintf(dir, sizeof dir, "%s/dir-" SMILE, root);
    mkdir(dir, 0700);
    utf16_from_utf8(dir, expect, 1024);
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = 0;
    BOOL ok = SetCurrentDirectoryW16(expect);
    T_OK(ok, "SetCurrentDirectoryW16 into a non-BMP name");
    char now[200];
    T_STR(getcwd(now, sizeof now), dir, "the process's directory changed");
    size_t n = len16(expect);
    r = GetCurrentDirectoryW16(1024, buf);
    T_EQ(r, n, "GetCurrentDirectoryW16: length in UTF-16 units");
    T_OK(eq16(buf, expect), "GetCurrentDirectoryW16: path");
    T_EQ(GetCurrentDirectoryW16((DWORD)n, buf), n + 1, "too small: the size needed");
    T_EQ(GetCurrentDirectoryW16(0, NULL), n + 1, "size query");
    if (chdir(cwd) != 0)
        T_OK(0, "chdir back");
}

static void test_files(const char *root)
{
    W16 path[1024], name[MAX_PATH];
    char utf8[512];
    struct stat st;

    snprintf(utf8, sizeof utf8, "%s/file-" SMILE ".txt", root);
    utf16_from_utf8(utf8, path, 1024);
    HANDLE h = CreateFileW16(path, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    T_OK(h != INVALID_HANDLE_VALUE, "CreateFileW16 with a non-BMP name");
    CloseHandle(h);
    T_EQ(stat(utf8, &st), 0, "the file exists under its UTF-8 name");
    T_OK(DeleteFileW16(path), "DeleteFileW16");
    T_OK(stat(utf8, &st) != 0, "the file is gone");

    utf16_from_utf8(root, path, 1024);
    UINT u = GetTempFileNameW16(path, U("pre"), 0x1234, name);
    T_EQ(u, 0x1234, "GetTempFileNameW16 returns uUnique");
    size_t n = len16(name);
    T_OK(n > 11 && memcmp(name, path, len16(path) * sizeof(W16)) == 0 && eq16(name + n - 11, U("pre1234.tmp")),
         "GetTempFileNameW16 name");
    W16 long_path[MAX_PATH];
    for (int i = 0; i < MAX_PATH - 13; i++)
        long_path[i] = 'a';
    long_path[MAX_PATH - 13] = 0;
    T_ERR(GetTempFileNameW16(long_path, U("pre"), 1, name), ERROR_BUFFER_OVERFLOW, "a path over MAX_PATH - 14 units");
}

static void test_pipes_and_mappings(void)
{
    HANDLE h = CreateNamedPipeW16(U("\\\\.\\pipe\\winipc-test-w16-" SMILE), PIPE_ACCESS_DUPLEX, 0, 1, 512, 512, 0, NULL);
    T_OK(h != INVALID_HANDLE_VALUE, "CreateNamedPipeW16 with a non-BMP name");
    HANDLE c = CreateFileW16(U("\\\\.\\pipe\\winipc-test-w16-" SMILE), GENERIC_READ | GENERIC_WRITE, 0, NULL,
                             OPEN_EXISTING, 0, NULL);
    T_OK(c != INVALID_HANDLE_VALUE, "a client opens it by the same UTF-16 name");
    CloseHandle(c);
    CloseHandle(h);
    T_ERR(WaitNamedPipeW16(U("\\\\.\\pipe\\winipc-test-w16-missing"), 0), ERROR_FILE_NOT_FOUND,
          "WaitNamedPipeW16 on a missing pipe");

    h = CreateFileMappingW16(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, U("winipc-test-w16-map-" SMILE));
    T_OK(h != NULL, "CreateFileMappingW16 with a non-BMP name");
    HANDLE o = OpenFileMappingW16(FILE_MAP_READ, FALSE, U("winipc-test-w16-map-" SMILE));
    T_OK(o != NULL, "OpenFileMappingW16 finds it");
    CloseHandle(o);
    CloseHandle(h);
}

static void test_process(void)
{
    W16 self[1024], expect[1024], cmd[2048];
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    utf16_from_utf8(exe, expect, 1024);

    DWORD r = GetModuleFileNameW16(NULL, self, 1024);
    T_EQ(r, len16(expect), "GetModuleFileNameW16 length");
    T_OK(eq16(self, expect), "GetModuleFileNameW16 path");
    memset(cmd, 0xAA, sizeof cmd);
    SetLastError(0);
    r = GetModuleFileNameW16(NULL, cmd, 5);
    T_EQ(r, 5, "truncated: returns nSize");
    T_EQ(GetLastError(), ERROR_INSUFFICIENT_BUFFER, "truncated: ERROR_INSUFFICIENT_BUFFER");
    T_OK(cmd[4] == 0 && memcmp(cmd, expect, 4 * sizeof(W16)) == 0, "truncated: nSize - 1 units and a NUL");
    T_OK(GetModuleHandleW16(NULL) != NULL, "GetModuleHandleW16(NULL)");

    W16 *line = GetCommandLineW16();
    T_OK(line == GetCommandLineW16(), "GetCommandLineW16 returns a stable pointer");
    T_OK(line[0] != 0, "GetCommandLineW16 is not empty");

    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    GetStartupInfoW16(&si);
    T_EQ(si.cb, sizeof si, "GetStartupInfoW16 fills cb");

    /* A child with a UTF-16 command line and environment block. */
    char env8[600];
    const char *root = getenv("WINIPC_ROOT");
    snprintf(env8, sizeof env8, "WINIPC_ROOT=%s", root ? root : "/tmp");
    W16 env[1024], *e = env;
    utf16_from_utf8("WINIPC_W16_CHILD=v" SMILE, e, 64);
    e += len16(e) + 1;
    utf16_from_utf8(env8, e, 700);
    e += len16(e) + 1;
    *e = 0;
    char cmd8[1200];
    snprintf(cmd8, sizeof cmd8, "\"%s\" child arg" SMILE, exe);
    utf16_from_utf8(cmd8, cmd, 2048);
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.lpTitle = (LPWSTR)(void *)U("title" SMILE);
    PROCESS_INFORMATION pi;
    BOOL ok = CreateProcessW16(NULL, cmd, NULL, NULL, FALSE, CREATE_UNICODE_ENVIRONMENT, env, NULL, &si, &pi);
    T_OK(ok, "CreateProcessW16 with a UTF-16 command line and environment");
    if (ok)
        T_EQ(t_wait_child(&pi, 30000), 0, "the child saw both in UTF-8");
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "child") == 0) {
        const char *v = getenv("WINIPC_W16_CHILD");
        return strcmp(argv[2], "arg" SMILE) == 0 && v && strcmp(v, "v" SMILE) == 0 ? 0 : 1;
    }
    const char *root = getenv("WINIPC_ROOT");
    if (!root)
        root = "/tmp";
    test_events();
    test_format_message();
    test_environment();
    test_directories(root);
    test_files(root);
    test_pipes_and_mappings();
    test_process();
    return t_done();
}
#endif
