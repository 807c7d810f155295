/* SPDX-License-Identifier: MIT */
/* Anonymous pipes: CreatePipe, data in both directions, end of stream
 * (ERROR_BROKEN_PIPE), a write without reader (ERROR_NO_DATA, never
 * SIGPIPE), zero-byte transfers, FlushFileBuffers, inheritance flags, and
 * capturing a child's standard output (a winipc child and /bin/echo). */
#include "test.h"

struct pump {
    HANDLE h;
    char *buf;
    DWORD len, done;
    BOOL ok;
    HANDLE signal;
};

/* Write all of a big buffer from a thread while the main thread reads. */
static DWORD WINAPI writer(LPVOID arg)
{
    struct pump *p = arg;
    DWORD n;
    p->done = 0;
    p->ok = TRUE;
    while (p->done < p->len && p->ok) {
        p->ok = WriteFile(p->h, p->buf + p->done, p->len - p->done, &n, NULL);
        p->done += n;
    }
    return 0;
}

/* A zero-byte read: returns when data (or the end) is there. */
static DWORD WINAPI zero_reader(LPVOID arg)
{
    struct pump *p = arg;
    DWORD n = T_POISON;
    p->ok = ReadFile(p->h, p->buf, 0, &n, NULL);
    p->done = n;
    SetEvent(p->signal);
    return 0;
}

static DWORD WINAPI drainer(LPVOID arg)
{
    struct pump *p = arg;
    DWORD n;
    p->ok = ReadFile(p->h, p->buf, p->len, &n, NULL);
    p->done = n;
    return 0;
}

static void test_basic(void)
{
    HANDLE r = T_POISON_HANDLE, w = T_POISON_HANDLE;
    char buf[64];
    DWORD n, flags;

    T_OK(CreatePipe(&r, &w, NULL, 0), "CreatePipe");
    T_OK(r != T_POISON_HANDLE && w != T_POISON_HANDLE && r && w && r != w, "two distinct handles");
    T_EQ(GetFileType(r), FILE_TYPE_PIPE, "read end: FILE_TYPE_PIPE");
    T_EQ(GetFileType(w), FILE_TYPE_PIPE, "write end: FILE_TYPE_PIPE");
    flags = T_POISON;
    T_OK(GetHandleInformation(r, &flags) && flags == 0, "not inheritable without SECURITY_ATTRIBUTES");

    n = T_POISON;
    T_OK(WriteFile(w, "ping", 4, &n, NULL), "WriteFile");
    T_EQ(n, 4, "4 bytes written");
    n = T_POISON;
    memset(buf, 0, sizeof buf);
    T_OK(ReadFile(r, buf, sizeof buf, &n, NULL), "ReadFile");
    T_EQ(n, 4, "a pipe read returns what is there");
    T_STR(buf, "ping", "data");
    T_ERR(SetFilePointer(r, 0, NULL, FILE_CURRENT) != INVALID_SET_FILE_POINTER, ERROR_SEEK_ON_DEVICE,
          "a pipe has no file pointer");
    T_ERR(ReadFile(w, buf, 1, &n, NULL), ERROR_ACCESS_DENIED, "reading the write end");
    T_ERR(WriteFile(r, "x", 1, &n, NULL), ERROR_ACCESS_DENIED, "writing the read end");

    n = T_POISON;
    T_OK(WriteFile(w, "", 0, &n, NULL) && n == 0, "a zero-byte write");
    T_OK(WriteFile(w, "a", 1, &n, NULL), "one byte in");
    n = T_POISON;
    T_OK(ReadFile(r, buf, 0, &n, NULL) && n == 0, "a zero-byte read with data waiting returns at once");
    T_OK(ReadFile(r, buf, 1, &n, NULL) && n == 1 && buf[0] == 'a', "the byte is still there");

    /* Overlapped requests on an anonymous pipe complete at once. */
    OVERLAPPED ov;
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    memset(&ov, 0, sizeof ov);
    ov.hEvent = ev;
    T_OK(WriteFile(w, "ov", 2, NULL, &ov), "overlapped WriteFile");
    n = T_POISON;
    T_OK(GetOverlappedResult(w, &ov, &n, FALSE) && n == 2, "GetOverlappedResult: 2 bytes");
    memset(&ov, 0, sizeof ov);
    ov.hEvent = ev;
    memset(buf, 0, sizeof buf);
    T_OK(ReadFile(r, buf, sizeof buf, NULL, &ov), "overlapped ReadFile");
    T_OK(GetOverlappedResult(r, &ov, &n, TRUE) && n == 2 && strcmp(buf, "ov") == 0, "read back");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0, "event set");
    CloseHandle(ev);

    /* End of stream: data first, then ERROR_BROKEN_PIPE. */
    WriteFile(w, "tail", 4, &n, NULL);
    T_ERR(FlushFileBuffers(r), ERROR_ACCESS_DENIED, "FlushFileBuffers on the read end (no write access)");
    T_OK(CloseHandle(w), "close the write end");
    n = T_POISON;
    T_OK(ReadFile(r, buf, sizeof buf, &n, NULL) && n == 4, "buffered data survives the writer");
    n = T_POISON;
    T_ERR(ReadFile(r, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE,
          "then ReadFile fails with ERROR_BROKEN_PIPE (not TRUE with 0 bytes)");
    T_EQ(n, 0, "0 bytes");
    T_ERR(ReadFile(r, buf, 0, &n, NULL), ERROR_BROKEN_PIPE, "a zero-byte read after the end");
    CloseHandle(r);

    /* The reader is gone: ERROR_NO_DATA, and the process lives on. */
    T_OK(CreatePipe(&r, &w, NULL, 0), "CreatePipe");
    CloseHandle(r);
    n = T_POISON;
    T_ERR(WriteFile(w, "x", 1, &n, NULL), ERROR_NO_DATA, "write without reader: ERROR_NO_DATA, no SIGPIPE");
    T_EQ(n, 0, "nothing written");
    T_ERR(WriteFile(w, "x", 0, &n, NULL), ERROR_NO_DATA, "a zero-byte write without reader");
    T_ERR(WriteFile(w, "x", 1, &n, NULL), ERROR_NO_DATA, "again");
    CloseHandle(w);
}

static void test_threads(void)
{
    HANDLE r, w, th;
    struct pump p;
    static char big[300000], got[300000];
    DWORD n, total = 0;
    char one;

    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 + 3);
    T_OK(CreatePipe(&r, &w, NULL, 4096), "CreatePipe with nSize 4096");
    p.h = w;
    p.buf = big;
    p.len = sizeof big;
    th = CreateThread(NULL, 0, writer, &p, 0, NULL);
    while (total < sizeof got && ReadFile(r, got + total, sizeof got - total, &n, NULL))
        total += n;
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
    T_OK(p.ok && p.done == sizeof big, "a writer thread pushed 300000 bytes through");
    T_EQ(total, sizeof big, "all of them arrived");
    T_OK(memcmp(big, got, sizeof big) == 0, "in order and intact");

    /* A zero-byte read waits for data. */
    p.h = r;
    p.buf = &one;
    p.signal = CreateEventA(NULL, TRUE, FALSE, NULL);
    p.ok = FALSE;
    th = CreateThread(NULL, 0, zero_reader, &p, 0, NULL);
    T_EQ(WaitForSingleObject(p.signal, 100), WAIT_TIMEOUT, "a zero-byte read on an empty pipe blocks");
    WriteFile(w, "z", 1, &n, NULL);
    T_EQ(WaitForSingleObject(p.signal, 10000), WAIT_OBJECT_0, "and returns when data arrives");
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
    T_OK(p.ok && p.done == 0, "with TRUE and 0 bytes");
    T_OK(ReadFile(r, &one, 1, &n, NULL) && n == 1 && one == 'z', "the data was not consumed");

    /* FlushFileBuffers on the write end waits until the reader took all. */
    T_OK(FlushFileBuffers(w), "FlushFileBuffers on an empty pipe");
    WriteFile(w, "0123456789", 10, &n, NULL);
    p.buf = got;
    p.len = 10;
    p.done = 0;
    th = CreateThread(NULL, 0, drainer, &p, 0, NULL);
    T_OK(FlushFileBuffers(w), "FlushFileBuffers with a reader at work");
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
    T_EQ(p.done, 10, "it returned once the reader had the 10 bytes");
    CloseHandle(p.signal);
    CloseHandle(r);
    CloseHandle(w);
}

static void test_inherit_flags(void)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE r, w;
    DWORD f1 = T_POISON, f2 = T_POISON;
    T_OK(CreatePipe(&r, &w, &sa, 0), "CreatePipe with bInheritHandle");
    T_OK(GetHandleInformation(r, &f1) && GetHandleInformation(w, &f2), "GetHandleInformation");
    T_EQ(f1 & HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT, "read end inheritable");
    T_EQ(f2 & HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT, "write end inheritable");
    CloseHandle(r);
    CloseHandle(w);
}

/* Read a pipe to its end. Returns the bytes read; *end_err gets the error
 * that stopped it. */
static DWORD read_all(HANDLE r, char *buf, DWORD cap, DWORD *end_err)
{
    DWORD total = 0, n;
    for (;;) {
        if (total == cap - 1) {
            *end_err = 0;
            break;
        }
        if (!ReadFile(r, buf + total, cap - 1 - total, &n, NULL)) {
            *end_err = GetLastError();
            break;
        }
        total += n;
    }
    buf[total] = 0;
    return total;
}

static void capture(const char *what, const char *cmd, const char *expect)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    HANDLE r, w;
    char buf[256], name[128];
    DWORD end = T_POISON;
    BOOL ok;

    T_OK(CreatePipe(&r, &w, &sa, 0), "CreatePipe for the child's stdout");
    SetHandleInformation(r, HANDLE_FLAG_INHERIT, 0); /* the child gets the write end only */
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = w;
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    if (cmd) {
        char line[256];
        snprintf(line, sizeof line, "%s", cmd);
        ok = CreateProcessA(NULL, line, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
    } else {
        ok = t_spawn_ex("child echo", TRUE, &si, &pi);
    }
    snprintf(name, sizeof name, "%s: started with hStdOutput = the pipe", what);
    T_OK(ok, name);
    CloseHandle(w); /* now only the child holds a write end */
    read_all(r, buf, sizeof buf, &end);
    snprintf(name, sizeof name, "%s: its output arrives through the pipe", what);
    T_STR(buf, expect, name);
    snprintf(name, sizeof name, "%s: the pipe ends with ERROR_BROKEN_PIPE when it exits", what);
    T_EQ(end, ERROR_BROKEN_PIPE, name);
    if (ok) {
        snprintf(name, sizeof name, "%s: exit code 0", what);
        T_EQ(t_wait_child(&pi, 10000), 0, name);
    }
    CloseHandle(r);
}

static int child_main(const char *what)
{
    if (strcmp(what, "echo") == 0) {
        DWORD n;
        HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
        if (GetFileType(out) != FILE_TYPE_PIPE)
            return 3;
        if (!WriteFile(out, "hello from the child\n", 21, &n, NULL) || n != 21)
            return 4;
        return 0;
    }
    return 99;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "child") == 0)
        return child_main(argv[2]);
    test_basic();
    test_threads();
    test_inherit_flags();
    capture("winipc child", NULL, "hello from the child\n");
    capture("/bin/echo", "/bin/echo hello from echo", "hello from echo\n");
    return t_done();
}
