/* SPDX-License-Identifier: MIT */
/* Named pipes, byte mode: parameters, names, connecting in both orders,
 * instance limits, WaitNamedPipe, disconnect and close semantics, pipe
 * direction, large transfers, concurrent instances, FlushFileBuffers — in
 * one process with threads, then with this binary re-run as the other end
 * (argv[1] == "child"), and through an inherited handle. */
#include "test.h"

#ifndef PIPE_REJECT_REMOTE_CLIENTS
#define PIPE_REJECT_REMOTE_CLIENTS 0x00000008 /* older Wine headers lack it */
#endif

#define BIG (1u << 20) /* 1 MiB */
#define INSTANCES 4

/* Child exit codes. */
#define C_OK 0
#define C_OPEN 10
#define C_READ 11
#define C_WRITE 12
#define C_DATA 13
#define C_END 14
#define C_CREATE 15
#define C_CONNECT 16
#define C_EVENT 17
#define C_ARGS 18

static HANDLE server_open(const char *name, DWORD open_mode, DWORD max)
{
    return CreateNamedPipeA(name, open_mode, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, max, 4096, 4096, 0,
                            NULL);
}

static HANDLE client_open(const char *name, DWORD access)
{
    return CreateFileA(name, access, 0, NULL, OPEN_EXISTING, 0, NULL);
}

/* Write everything; TRUE when all went out. */
static BOOL write_all(HANDLE h, const void *buf, DWORD len)
{
    DWORD n = T_POISON;
    return WriteFile(h, buf, len, &n, NULL) && n == len;
}

/* Read exactly len bytes (byte mode may return them in pieces). */
static BOOL read_exact(HANDLE h, void *buf, DWORD len)
{
    char *p = buf;
    while (len) {
        DWORD n = T_POISON;
        if (!ReadFile(h, p, len, &n, NULL) || n == 0 || n > len)
            return FALSE;
        p += n;
        len -= n;
    }
    return TRUE;
}

static unsigned char pattern(DWORD i, unsigned seed)
{
    return (unsigned char)((i * 131u + seed * 7u + (i >> 9)) & 0xFF);
}

static unsigned char *big_buffer(unsigned seed)
{
    unsigned char *b = malloc(BIG);
    for (DWORD i = 0; b && i < BIG; i++)
        b[i] = pattern(i, seed);
    return b;
}

static BOOL big_check(const unsigned char *b, unsigned seed)
{
    for (DWORD i = 0; i < BIG; i++)
        if (b[i] != pattern(i, seed))
            return FALSE;
    return TRUE;
}

/* Is the thread still blocked after `ms`? (A bounded negative check: it
 * proves the call did not return early; it orders nothing.) */
static BOOL still_blocked(HANDLE thread, DWORD ms)
{
    return WaitForSingleObject(thread, ms) == WAIT_TIMEOUT;
}

static DWORD thread_result(HANDLE thread)
{
    DWORD code = T_POISON;
    if (WaitForSingleObject(thread, 10000) != WAIT_OBJECT_0)
        return T_POISON;
    GetExitCodeThread(thread, &code);
    CloseHandle(thread);
    return code;
}

/* --- children ------------------------------------------------------------------------ */

/* Client: read 4 bytes, echo them, then 1 MiB from the server, verify it,
 * send 1 MiB back, and wait for the server's DisconnectNamedPipe. */
static int child_client(const char *name)
{
    char req[4];
    HANDLE h = client_open(name, GENERIC_READ | GENERIC_WRITE);
    if (h == INVALID_HANDLE_VALUE)
        return C_OPEN;
    if (!read_exact(h, req, 4))
        return C_READ;
    if (!write_all(h, req, 4))
        return C_WRITE;
    unsigned char *big = malloc(BIG), *mine = big_buffer(2);
    if (!big || !mine)
        return C_DATA;
    if (!read_exact(h, big, BIG))
        return C_READ;
    if (!big_check(big, 1))
        return C_DATA;
    if (!write_all(h, mine, BIG))
        return C_WRITE;
    DWORD n = T_POISON;
    char c;
    if (ReadFile(h, &c, 1, &n, NULL) || GetLastError() != ERROR_PIPE_NOT_CONNECTED || n != 0)
        return C_END;
    CloseHandle(h);
    free(big);
    free(mine);
    return C_OK;
}

/* Server: create the pipe, say so through a named event, serve one client
 * (read 5 bytes, answer them reversed), flush, disconnect, close. */
static int child_server(const char *name, const char *event)
{
    HANDLE ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, event);
    if (!ready)
        return C_EVENT;
    HANDLE h = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE, PIPE_TYPE_BYTE, 1, 4096, 4096,
                                0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return C_CREATE;
    SetEvent(ready);
    if (!ConnectNamedPipe(h, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
        return C_CONNECT;
    char req[5], rep[5];
    if (!read_exact(h, req, 5))
        return C_READ;
    for (int i = 0; i < 5; i++)
        rep[i] = req[4 - i];
    if (!write_all(h, rep, 5))
        return C_WRITE;
    if (!FlushFileBuffers(h))
        return C_WRITE;
    if (!DisconnectNamedPipe(h))
        return C_END;
    CloseHandle(h);
    return C_OK;
}

/* An inherited client end: write a greeting through it, read the answer. */
static int child_inherited(const char *value)
{
    HANDLE h = (HANDLE)(ULONG_PTR)strtoull(value, NULL, 0);
    char buf[6];
    if (GetFileType(h) != FILE_TYPE_PIPE)
        return C_OPEN;
    if (!write_all(h, "hello", 5))
        return C_WRITE;
    if (!read_exact(h, buf, 6) || memcmp(buf, "world!", 6) != 0)
        return C_READ;
    CloseHandle(h);
    return C_OK;
}

/* An inherited server end, connected: talk to the client, then exit. */
static int child_server_end(const char *value)
{
    HANDLE h = (HANDLE)(ULONG_PTR)strtoull(value, NULL, 0);
    char buf[3];
    if (!write_all(h, "from the child", 14))
        return C_WRITE;
    if (!read_exact(h, buf, 3) || memcmp(buf, "ack", 3) != 0)
        return C_READ;
    return C_OK; /* exits with the handle open: the process's end closes it */
}

/* An inherited server end, still listening: serve two clients in turn. */
static int child_serve_inherited(const char *value)
{
    HANDLE h = (HANDLE)(ULONG_PTR)strtoull(value, NULL, 0);
    const char *words[2] = {"served", "again!"};
    for (int i = 0; i < 2; i++) {
        if (!ConnectNamedPipe(h, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
            return C_CONNECT;
        if (!write_all(h, words[i], 6) || !FlushFileBuffers(h))
            return C_WRITE;
        if (!DisconnectNamedPipe(h))
            return C_END;
    }
    CloseHandle(h);
    return C_OK;
}

/* Standard output redirected to a pipe client end. */
static int child_stdout(void)
{
    DWORD n = T_POISON;
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    if (GetFileType(out) != FILE_TYPE_PIPE)
        return C_OPEN;
    if (!WriteFile(out, "via handle\n", 11, &n, NULL) || n != 11)
        return C_WRITE;
    printf("via stdio\n");
    fflush(stdout);
    return C_OK;
}

static int run_child(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[2], "server-end") == 0)
        return child_server_end(argv[3]);
    if (argc >= 4 && strcmp(argv[2], "serve-inherited") == 0)
        return child_serve_inherited(argv[3]);
    if (argc >= 3 && strcmp(argv[2], "stdout") == 0)
        return child_stdout();
    if (argc >= 4 && strcmp(argv[2], "client") == 0)
        return child_client(argv[3]);
    if (argc >= 5 && strcmp(argv[2], "server") == 0)
        return child_server(argv[3], argv[4]);
    if (argc >= 4 && strcmp(argv[2], "inherited") == 0)
        return child_inherited(argv[3]);
    return C_ARGS;
}

/* --- parameters and names -------------------------------------------------------------- */

/* CreateNamedPipe is expected to fail: FALSE when it does (the last error
 * kept), TRUE after closing what it created when it does not. */
static BOOL refused(const char *name, DWORD open_mode, DWORD pipe_mode, DWORD max)
{
    HANDLE h = CreateNamedPipeA(name, open_mode, pipe_mode, max, 0, 0, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return FALSE;
    CloseHandle(h);
    return TRUE;
}

static void test_parameters(void)
{
    const char *name = t_pipe_name("params");
    HANDLE h;

    SetLastError(T_POISON);
    h = CreateNamedPipeA(NULL, PIPE_ACCESS_DUPLEX, 0, 1, 0, 0, 0, NULL);
    T_ERR(h != INVALID_HANDLE_VALUE, ERROR_PATH_NOT_FOUND, "CreateNamedPipe(NULL name)");
    T_OK(h == INVALID_HANDLE_VALUE, "failure returns INVALID_HANDLE_VALUE, not NULL");
    T_ERR(refused("not a named pipe", PIPE_ACCESS_DUPLEX, 0, 1), ERROR_INVALID_NAME,
          "a name without \\\\.\\pipe\\ prefix");
    T_ERR(refused("\\\\.\\mailslot\\x", PIPE_ACCESS_DUPLEX, 0, 1), ERROR_INVALID_NAME, "a mailslot name");
    T_ERR(refused(name, 0, 0, 1), ERROR_INVALID_PARAMETER, "open mode without a direction");
    T_ERR(refused(name, PIPE_ACCESS_DUPLEX, 0, 0), ERROR_INVALID_PARAMETER, "nMaxInstances 0");
    T_ERR(refused(name, PIPE_ACCESS_DUPLEX, 0, 256), ERROR_INVALID_PARAMETER, "nMaxInstances 256");
    T_ERR(refused(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_READMODE_MESSAGE, 1), ERROR_INVALID_PARAMETER,
          "byte type read as messages");
    T_ERR(refused(name, PIPE_ACCESS_DUPLEX, 0x10, 1), ERROR_INVALID_PARAMETER, "an unknown pipe mode bit");
    T_ERR(refused(name, PIPE_ACCESS_DUPLEX | 0x4, 0, 1), ERROR_INVALID_PARAMETER, "an unknown open mode bit");

    SetLastError(T_POISON);
    h = client_open(t_pipe_name("nobody"), GENERIC_READ | GENERIC_WRITE);
    T_ERR(h != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND, "CreateFile of a pipe nobody created");
    T_ERR(WaitNamedPipeA(t_pipe_name("nobody"), 2000), ERROR_FILE_NOT_FOUND,
          "WaitNamedPipe of a missing pipe fails at once");

    /* PIPE_UNLIMITED_INSTANCES and PIPE_REJECT_REMOTE_CLIENTS are fine. */
    h = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_REJECT_REMOTE_CLIENTS, PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0,
                         NULL);
    T_OK(h != INVALID_HANDLE_VALUE, "PIPE_UNLIMITED_INSTANCES, PIPE_REJECT_REMOTE_CLIENTS");
    T_EQ(GetFileType(h), FILE_TYPE_PIPE, "GetFileType of a listening server end");
    CloseHandle(h);

    /* Characters a file name could not have are fine in a pipe name, and
     * so are backslashes. */
    h = server_open("\\\\.\\pipe\\winipc-test-a<>*?|\"b\\sub\\dir", PIPE_ACCESS_DUPLEX, 1);
    T_OK(h != INVALID_HANDLE_VALUE, "special characters and backslashes in the name");
    HANDLE c = client_open("\\\\.\\pipe\\winipc-test-a<>*?|\"b\\sub\\dir", 0);
    T_OK(c != INVALID_HANDLE_VALUE, "a client opens it (with no access at all)");
    CloseHandle(c);
    CloseHandle(h);
}

static void test_names(void)
{
    HANDLE s, c;
    s = CreateNamedPipeW(L"\\\\.\\pipe\\winipc-test-MixedCase", PIPE_ACCESS_DUPLEX, 0, 3, 4096, 4096, 0, NULL);
    T_OK(s != INVALID_HANDLE_VALUE, "CreateNamedPipeW");
    c = client_open("\\\\.\\PIPE\\WINIPC-TEST-mixedcase", GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "names and the prefix are case-insensitive");
    CloseHandle(c);
    DisconnectNamedPipe(s);
    T_OK(WaitNamedPipeW(L"\\\\.\\Pipe\\winipc-test-MIXEDCASE", 0) == FALSE, "a disconnected instance is not available");
    HANDLE s2 = CreateNamedPipeA("\\\\.\\pipe\\WINIPC-TEST-MIXEDCASE", PIPE_ACCESS_DUPLEX, 0, 3, 4096, 4096, 0, NULL);
    T_OK(s2 != INVALID_HANDLE_VALUE, "a second instance under another spelling");
    T_OK(WaitNamedPipeW(L"\\\\.\\Pipe\\winipc-test-MIXEDCASE", 0), "WaitNamedPipeW finds it");
    c = client_open("//./pipe/winipc-test-mixedcase", GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "forward slashes in the prefix");
    T_OK(write_all(c, "x", 1), "and it is connected to the second instance");
    char b = 0;
    T_OK(read_exact(s2, &b, 1) && b == 'x', "which reads the byte");
    CloseHandle(c);
    CloseHandle(s2);
    CloseHandle(s);

    s = CreateNamedPipeA("\\\\?\\pipe\\winipc-test-verbatim", PIPE_ACCESS_DUPLEX, 0, 1, 4096, 4096, 0, NULL);
    T_OK(s != INVALID_HANDLE_VALUE, "a \\\\?\\pipe\\ name");
    T_OK(WaitNamedPipeA("\\\\.\\pipe\\winipc-test-Verbatim", 0), "is the same pipe as \\\\.\\pipe\\");
    c = client_open("\\\\.\\pipe\\winipc-test-verbatim", GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "a client opens it");
    CloseHandle(c);
    CloseHandle(s);
}

/* --- one instance, one process ------------------------------------------------------ */

static void test_client_first(void)
{
    const char *name = t_pipe_name("first");
    static const char obuf[] = "Bit Bucket", obuf2[] = "More bits";
    char ibuf[32];
    DWORD n;

    HANDLE s = server_open(name, PIPE_ACCESS_DUPLEX, 1);
    T_OK(s != INVALID_HANDLE_VALUE, "CreateNamedPipe");
    T_OK(WaitNamedPipeA(name, 2000), "WaitNamedPipe: a new instance is available at once");
    n = T_POISON;
    T_ERR(WriteFile(s, obuf, sizeof obuf, &n, NULL), ERROR_PIPE_LISTENING, "server WriteFile before any client");
    T_EQ(n, 0, "nothing written");
    T_ERR(ReadFile(s, ibuf, sizeof ibuf, &n, NULL), ERROR_PIPE_LISTENING, "server ReadFile before any client");
    T_OK(FlushFileBuffers(s), "server FlushFileBuffers before any client: nothing to wait for");

    HANDLE c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "client opens before ConnectNamedPipe");
    T_EQ(GetFileType(c), FILE_TYPE_PIPE, "GetFileType of a client end");
    SetLastError(T_POISON);
    T_ERR(WaitNamedPipeA(name, 100), ERROR_SEM_TIMEOUT, "WaitNamedPipe: the one instance is taken");
    T_ERR(client_open(name, GENERIC_READ | GENERIC_WRITE) != INVALID_HANDLE_VALUE, ERROR_PIPE_BUSY,
          "a second client: ERROR_PIPE_BUSY");
    T_ERR(ConnectNamedPipe(s, NULL), ERROR_PIPE_CONNECTED, "ConnectNamedPipe after the client came");
    T_ERR(ConnectNamedPipe(s, NULL), ERROR_PIPE_CONNECTED, "and again");
    T_ERR(ConnectNamedPipe(c, NULL), ERROR_INVALID_FUNCTION, "ConnectNamedPipe on a client end");
    T_ERR(DisconnectNamedPipe(c), ERROR_INVALID_FUNCTION, "DisconnectNamedPipe on a client end");
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    T_ERR(ConnectNamedPipe(ev, NULL), ERROR_INVALID_HANDLE, "ConnectNamedPipe on an event");
    T_ERR(DisconnectNamedPipe(ev), ERROR_INVALID_HANDLE, "DisconnectNamedPipe on an event");
    CloseHandle(ev);
    T_EQ(GetFileType(s), FILE_TYPE_PIPE, "GetFileType of a connected server end");

    n = T_POISON;
    T_OK(WriteFile(s, obuf, sizeof obuf, &n, NULL), "server writes");
    T_EQ(n, sizeof obuf, "server wrote all");
    memset(ibuf, 0, sizeof ibuf);
    n = T_POISON;
    T_OK(ReadFile(c, ibuf, sizeof ibuf, &n, NULL), "client reads");
    T_EQ(n, sizeof obuf, "client read all");
    T_OK(memcmp(ibuf, obuf, sizeof obuf) == 0, "content server → client");
    n = T_POISON;
    T_OK(WriteFile(c, obuf2, sizeof obuf2, &n, NULL) && n == sizeof obuf2, "client writes");
    n = T_POISON;
    memset(ibuf, 0, sizeof ibuf);
    T_OK(ReadFile(s, ibuf, sizeof ibuf, &n, NULL) && n == sizeof obuf2, "server reads");
    T_OK(memcmp(ibuf, obuf2, sizeof obuf2) == 0, "content client → server");

    /* Byte mode: two writes are one stream; a short read leaves the rest. */
    T_OK(write_all(s, obuf, sizeof obuf) && write_all(s, obuf2, sizeof obuf2), "two writes");
    n = T_POISON;
    T_OK(ReadFile(c, ibuf, 4, &n, NULL) && n == 4, "a 4-byte read takes 4 bytes");
    n = T_POISON;
    T_OK(ReadFile(c, ibuf + 4, sizeof ibuf - 4, &n, NULL), "the next read");
    T_EQ(n, sizeof obuf + sizeof obuf2 - 4, "gets the rest of both writes");
    T_OK(memcmp(ibuf, obuf, sizeof obuf) == 0 && memcmp(ibuf + sizeof obuf, obuf2, sizeof obuf2) == 0,
         "in order");
    n = T_POISON;
    T_OK(WriteFile(c, obuf, 0, &n, NULL) && n == 0, "a zero-byte write succeeds");

    CloseHandle(c);
    CloseHandle(s);
}

static void test_server_first(void)
{
    const char *name = t_pipe_name("connect-first");
    HANDLE s = server_open(name, PIPE_ACCESS_DUPLEX, 1), c;
    char b[8];
    /* A client that came and went before ConnectNamedPipe. */
    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "client connects");
    T_OK(write_all(c, "gone", 4), "writes");
    CloseHandle(c);
    T_ERR(ConnectNamedPipe(s, NULL), ERROR_NO_DATA, "ConnectNamedPipe after the client closed: ERROR_NO_DATA");
    T_OK(read_exact(s, b, 4) && memcmp(b, "gone", 4) == 0, "what it wrote can still be read");
    DWORD n = T_POISON;
    T_ERR(ReadFile(s, b, sizeof b, &n, NULL), ERROR_BROKEN_PIPE, "then the pipe is broken");
    T_EQ(n, 0, "no bytes");
    T_ERR(WriteFile(s, "x", 1, &n, NULL), ERROR_NO_DATA, "server write to a closed client: ERROR_NO_DATA");
    T_ERR(ConnectNamedPipe(s, NULL), ERROR_NO_DATA, "ConnectNamedPipe still says ERROR_NO_DATA");
    T_ERR(client_open(name, GENERIC_READ | GENERIC_WRITE) != INVALID_HANDLE_VALUE, ERROR_PIPE_BUSY,
          "a new client before DisconnectNamedPipe: ERROR_PIPE_BUSY");
    T_OK(DisconnectNamedPipe(s), "DisconnectNamedPipe");
    T_ERR(client_open(name, GENERIC_READ | GENERIC_WRITE) != INVALID_HANDLE_VALUE, ERROR_PIPE_BUSY,
          "after DisconnectNamedPipe but before ConnectNamedPipe: ERROR_PIPE_BUSY");
    T_ERR(ReadFile(s, b, sizeof b, &n, NULL), ERROR_PIPE_NOT_CONNECTED, "server read while disconnected");
    T_EQ(GetFileType(s), FILE_TYPE_PIPE, "GetFileType of a disconnected server end");
    CloseHandle(s);
}

struct connect_arg {
    HANDLE pipe;
    HANDLE started;
};

static DWORD WINAPI connect_thread(LPVOID p)
{
    struct connect_arg *a = p;
    SetEvent(a->started);
    if (ConnectNamedPipe(a->pipe, NULL))
        return 0;
    return GetLastError();
}

static void test_connect_blocks(void)
{
    const char *name = t_pipe_name("blocks");
    struct connect_arg a = {server_open(name, PIPE_ACCESS_DUPLEX, 1), CreateEventA(NULL, TRUE, FALSE, NULL)};
    HANDLE t = CreateThread(NULL, 0, connect_thread, &a, 0, NULL);
    WaitForSingleObject(a.started, 5000);
    T_OK(still_blocked(t, 100), "ConnectNamedPipe waits for a client");
    HANDLE c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "a client connects");
    T_EQ(thread_result(t), 0, "ConnectNamedPipe returns TRUE when a client connects during the call");
    T_OK(write_all(a.pipe, "ok", 2), "server writes");
    char b[2];
    T_OK(read_exact(c, b, 2) && memcmp(b, "ok", 2) == 0, "client reads");
    CloseHandle(c);

    /* DisconnectNamedPipe from another thread ends a pending connect. */
    T_OK(DisconnectNamedPipe(a.pipe), "disconnect the old client");
    ResetEvent(a.started);
    t = CreateThread(NULL, 0, connect_thread, &a, 0, NULL);
    WaitForSingleObject(a.started, 5000);
    T_OK(still_blocked(t, 100), "ConnectNamedPipe waits again");
    T_OK(DisconnectNamedPipe(a.pipe), "DisconnectNamedPipe on the listening instance");
    T_EQ(thread_result(t), ERROR_PIPE_NOT_CONNECTED, "the pending ConnectNamedPipe fails: ERROR_PIPE_NOT_CONNECTED");
    CloseHandle(a.pipe);
    CloseHandle(a.started);
}

static void test_disconnect(void)
{
    const char *name = t_pipe_name("disconnect");
    static const char obuf[] = "Bit Bucket";
    char ibuf[32];
    DWORD n;
    HANDLE s = server_open(name, PIPE_ACCESS_DUPLEX, 1);
    HANDLE c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "client");
    T_OK(write_all(c, obuf, sizeof obuf), "client writes (unread)");
    T_OK(write_all(s, obuf, sizeof obuf), "server writes (unread)");
    T_OK(DisconnectNamedPipe(s), "DisconnectNamedPipe with data waiting both ways");
    n = T_POISON;
    T_ERR(WriteFile(c, obuf, sizeof obuf, &n, NULL), ERROR_PIPE_NOT_CONNECTED, "client write after disconnect");
    T_EQ(n, 0, "nothing written");
    T_ERR(WriteFile(s, obuf, sizeof obuf, &n, NULL), ERROR_PIPE_NOT_CONNECTED, "server write after disconnect");
    T_ERR(ReadFile(c, ibuf, sizeof ibuf, &n, NULL), ERROR_PIPE_NOT_CONNECTED,
          "client read: the server's unread bytes are discarded");
    T_ERR(ReadFile(s, ibuf, sizeof ibuf, &n, NULL), ERROR_PIPE_NOT_CONNECTED, "server read after disconnect");
    T_ERR(FlushFileBuffers(c), ERROR_PIPE_NOT_CONNECTED, "client flush after disconnect");
    T_ERR(DisconnectNamedPipe(s), ERROR_PIPE_NOT_CONNECTED, "DisconnectNamedPipe twice");
    CloseHandle(c);

    /* The instance serves a new client after ConnectNamedPipe; the old
     * client's generation of the instance stays disconnected. */
    struct connect_arg a = {s, CreateEventA(NULL, TRUE, FALSE, NULL)};
    HANDLE t = CreateThread(NULL, 0, connect_thread, &a, 0, NULL);
    T_OK(WaitNamedPipeA(name, 5000), "WaitNamedPipe sees the instance listen again");
    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "a new client connects to the reused instance");
    T_EQ(thread_result(t), 0, "ConnectNamedPipe returns TRUE");
    T_OK(write_all(c, "new", 3) && read_exact(s, ibuf, 3) && memcmp(ibuf, "new", 3) == 0, "data flows again");
    CloseHandle(a.started);

    /* Server end closed: the client reads what was left, then BROKEN_PIPE. */
    T_OK(write_all(s, obuf, sizeof obuf), "server writes");
    CloseHandle(s);
    n = T_POISON;
    memset(ibuf, 0, sizeof ibuf);
    T_OK(ReadFile(c, ibuf, sizeof ibuf, &n, NULL) && n == sizeof obuf, "client reads after the server closed");
    T_OK(memcmp(ibuf, obuf, sizeof obuf) == 0, "the data");
    n = T_POISON;
    T_ERR(ReadFile(c, ibuf, sizeof ibuf, &n, NULL), ERROR_BROKEN_PIPE, "then ERROR_BROKEN_PIPE");
    T_EQ(n, 0, "no bytes");
    T_ERR(ReadFile(c, ibuf, 0, &n, NULL), ERROR_BROKEN_PIPE, "a zero-byte read too");
    T_ERR(WriteFile(c, obuf, sizeof obuf, &n, NULL), ERROR_NO_DATA, "client write: ERROR_NO_DATA");
    CloseHandle(c);
    T_ERR(client_open(name, GENERIC_READ | GENERIC_WRITE) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND,
          "the last instance closed: the name is gone");
}

static void test_limits(void)
{
    const char *name = t_pipe_name("limits");
    HANDLE a, b;
    a = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE, 0, 2, 4096, 4096, 0, NULL);
    T_OK(a != INVALID_HANDLE_VALUE, "FILE_FLAG_FIRST_PIPE_INSTANCE on a new name");
    T_ERR(refused(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE, 0, 2), ERROR_ACCESS_DENIED,
          "FILE_FLAG_FIRST_PIPE_INSTANCE on an existing pipe");
    T_ERR(refused(name, PIPE_ACCESS_INBOUND, 0, 2), ERROR_ACCESS_DENIED, "another access mode than the first instance's");
    b = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, 0, 3, 4096, 4096, 0, NULL);
    T_OK(b != INVALID_HANDLE_VALUE, "a second instance (another nMaxInstances is accepted)");
    T_ERR(refused(name, PIPE_ACCESS_DUPLEX, 0, 3), ERROR_PIPE_BUSY, "a third instance of a 2-instance pipe: ERROR_PIPE_BUSY");
    CloseHandle(a);
    HANDLE c = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, 0, 2, 4096, 4096, 0, NULL);
    T_OK(c != INVALID_HANDLE_VALUE, "closing one instance makes room");
    CloseHandle(b);
    CloseHandle(c);
    a = CreateNamedPipeA(name, PIPE_ACCESS_INBOUND | FILE_FLAG_FIRST_PIPE_INSTANCE, 0, 1, 4096, 4096, 0, NULL);
    T_OK(a != INVALID_HANDLE_VALUE, "all instances closed: the name is free for a new first instance");
    CloseHandle(a);
}

static void test_direction(void)
{
    const char *name = t_pipe_name("inbound");
    char b[4];
    DWORD n;
    HANDLE s = server_open(name, PIPE_ACCESS_INBOUND, 1);
    T_OK(s != INVALID_HANDLE_VALUE, "inbound pipe");
    T_ERR(client_open(name, GENERIC_READ) != INVALID_HANDLE_VALUE, ERROR_ACCESS_DENIED,
          "client GENERIC_READ on an inbound pipe");
    T_ERR(client_open(name, GENERIC_READ | GENERIC_WRITE) != INVALID_HANDLE_VALUE, ERROR_ACCESS_DENIED,
          "client GENERIC_READ|GENERIC_WRITE on an inbound pipe");
    HANDLE c = client_open(name, GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "client GENERIC_WRITE on an inbound pipe");
    T_ERR(WriteFile(s, "x", 1, &n, NULL), ERROR_ACCESS_DENIED, "the server of an inbound pipe cannot write");
    T_ERR(ReadFile(c, b, 1, &n, NULL), ERROR_ACCESS_DENIED, "the write-only client cannot read");
    T_OK(write_all(c, "in", 2) && read_exact(s, b, 2) && memcmp(b, "in", 2) == 0, "client → server");
    CloseHandle(c);
    CloseHandle(s);

    name = t_pipe_name("outbound");
    s = server_open(name, PIPE_ACCESS_OUTBOUND, 1);
    T_ERR(client_open(name, GENERIC_WRITE) != INVALID_HANDLE_VALUE, ERROR_ACCESS_DENIED,
          "client GENERIC_WRITE on an outbound pipe");
    c = client_open(name, GENERIC_READ);
    T_OK(c != INVALID_HANDLE_VALUE, "client GENERIC_READ on an outbound pipe");
    T_ERR(ReadFile(s, b, 1, &n, NULL), ERROR_ACCESS_DENIED, "the server of an outbound pipe cannot read");
    T_ERR(WriteFile(c, "x", 1, &n, NULL), ERROR_ACCESS_DENIED, "the read-only client cannot write");
    T_OK(write_all(s, "out", 3) && read_exact(c, b, 3) && memcmp(b, "out", 3) == 0, "server → client");
    CloseHandle(c);
    CloseHandle(s);
}

/* --- WaitNamedPipe ------------------------------------------------------------------- */

struct waiter_arg {
    const char *name;
    DWORD timeout;
    HANDLE started;
};

static DWORD WINAPI waiter_thread(LPVOID p)
{
    struct waiter_arg *a = p;
    SetEvent(a->started);
    if (WaitNamedPipeA(a->name, a->timeout))
        return 0;
    return GetLastError();
}

static void test_wait(void)
{
    const char *name = t_pipe_name("wait");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, 0, 1, 4096, 4096, 300, NULL);
    HANDLE c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "the only instance is taken");

    ULONGLONG t0 = GetTickCount64();
    T_ERR(WaitNamedPipeA(name, NMPWAIT_USE_DEFAULT_WAIT), ERROR_SEM_TIMEOUT,
          "NMPWAIT_USE_DEFAULT_WAIT times out");
    ULONGLONG dt = GetTickCount64() - t0;
    T_OK(dt >= 250 && dt < 5000, "after about the pipe's default time-out (300 ms)");

    /* A waiter blocked in WaitNamedPipe wakes when the instance listens
     * again (DisconnectNamedPipe + ConnectNamedPipe, the server loop). */
    struct waiter_arg w = {name, NMPWAIT_WAIT_FOREVER, CreateEventA(NULL, TRUE, FALSE, NULL)};
    HANDLE wt = CreateThread(NULL, 0, waiter_thread, &w, 0, NULL);
    WaitForSingleObject(w.started, 5000);
    T_OK(still_blocked(wt, 150), "WaitNamedPipe(NMPWAIT_WAIT_FOREVER) sleeps while the instance is busy");
    CloseHandle(c);
    T_OK(still_blocked(wt, 50), "the client leaving alone frees nothing");
    T_OK(DisconnectNamedPipe(s), "DisconnectNamedPipe");
    T_OK(still_blocked(wt, 50), "a disconnected instance is not available either");
    struct connect_arg a = {s, CreateEventA(NULL, TRUE, FALSE, NULL)};
    HANDLE ct = CreateThread(NULL, 0, connect_thread, &a, 0, NULL);
    T_EQ(thread_result(wt), 0, "ConnectNamedPipe wakes the waiter: TRUE");
    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "and the client gets the instance");
    T_EQ(thread_result(ct), 0, "ConnectNamedPipe returns TRUE");
    CloseHandle(c);
    CloseHandle(w.started);
    CloseHandle(a.started);

    CloseHandle(s);
    T_ERR(WaitNamedPipeA(name, 100), ERROR_FILE_NOT_FOUND, "no instance when the wait starts: ERROR_FILE_NOT_FOUND");

    /* A new instance wakes waiters too. */
    name = t_pipe_name("wait-new");
    HANDLE s1 = server_open(name, PIPE_ACCESS_DUPLEX, 2);
    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "the first of two instances is taken");
    w.name = name;
    w.started = CreateEventA(NULL, TRUE, FALSE, NULL);
    w.timeout = 10000;
    wt = CreateThread(NULL, 0, waiter_thread, &w, 0, NULL);
    WaitForSingleObject(w.started, 5000);
    T_OK(still_blocked(wt, 50), "WaitNamedPipe sleeps");
    HANDLE s2 = server_open(name, PIPE_ACCESS_DUPLEX, 2);
    T_OK(s2 != INVALID_HANDLE_VALUE, "a second instance");
    T_EQ(thread_result(wt), 0, "wakes it: TRUE");
    CloseHandle(c);
    CloseHandle(s1);
    CloseHandle(s2);
    CloseHandle(w.started);
}

/* --- threads as the other end ---------------------------------------------------------- */

struct big_arg {
    HANDLE h;
    unsigned seed;
    BOOL write;
};

static DWORD WINAPI big_thread(LPVOID p)
{
    struct big_arg *a = p;
    unsigned char *b = a->write ? big_buffer(a->seed) : malloc(BIG);
    DWORD r = 1;
    if (b && (a->write ? write_all(a->h, b, BIG) : (read_exact(a->h, b, BIG) && big_check(b, a->seed))))
        r = 0;
    free(b);
    return r;
}

static void test_big(void)
{
    const char *name = t_pipe_name("big");
    HANDLE s = server_open(name, PIPE_ACCESS_DUPLEX, 1);
    HANDLE c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    struct big_arg w = {c, 3, TRUE}, r = {s, 3, FALSE};
    HANDLE tw = CreateThread(NULL, 0, big_thread, &w, 0, NULL);
    HANDLE tr = CreateThread(NULL, 0, big_thread, &r, 0, NULL);
    T_EQ(thread_result(tw), 0, "client writes 1 MiB in one WriteFile");
    T_EQ(thread_result(tr), 0, "server reads the same 1 MiB");
    struct big_arg w2 = {s, 4, TRUE}, r2 = {c, 4, FALSE};
    tw = CreateThread(NULL, 0, big_thread, &w2, 0, NULL);
    tr = CreateThread(NULL, 0, big_thread, &r2, 0, NULL);
    T_EQ(thread_result(tw), 0, "server writes 1 MiB");
    T_EQ(thread_result(tr), 0, "client reads it");
    CloseHandle(c);
    CloseHandle(s);
}

struct flush_arg {
    HANDLE h;
    HANDLE started;
};

static DWORD WINAPI flush_thread(LPVOID p)
{
    struct flush_arg *a = p;
    if (!write_all(a->h, "flush me", 8))
        return 1;
    SetEvent(a->started);
    return FlushFileBuffers(a->h) ? 0 : GetLastError();
}

static DWORD WINAPI read_thread(LPVOID p)
{
    struct flush_arg *a = p;
    char b[16];
    DWORD n = T_POISON;
    SetEvent(a->started);
    if (ReadFile(a->h, b, sizeof b, &n, NULL))
        return 0;
    return GetLastError();
}

static void test_flush_and_pending(void)
{
    const char *name = t_pipe_name("flush");
    HANDLE s = server_open(name, PIPE_ACCESS_DUPLEX, 1);
    HANDLE c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    char b[8];
    struct flush_arg a = {s, CreateEventA(NULL, TRUE, FALSE, NULL)};
    HANDLE t = CreateThread(NULL, 0, flush_thread, &a, 0, NULL);
    WaitForSingleObject(a.started, 5000);
    T_OK(still_blocked(t, 100), "FlushFileBuffers waits while the client has not read");
    T_OK(read_exact(c, b, 8) && memcmp(b, "flush me", 8) == 0, "the client reads");
    T_EQ(thread_result(t), 0, "then FlushFileBuffers returns TRUE");
    T_OK(FlushFileBuffers(c), "FlushFileBuffers with nothing unread returns at once");

    /* A server ReadFile pending in one thread ends when another thread
     * disconnects the instance. */
    ResetEvent(a.started);
    t = CreateThread(NULL, 0, read_thread, &a, 0, NULL);
    WaitForSingleObject(a.started, 5000);
    T_OK(still_blocked(t, 100), "server ReadFile waits for data");
    T_OK(DisconnectNamedPipe(s), "another thread disconnects");
    T_EQ(thread_result(t), ERROR_PIPE_NOT_CONNECTED, "the pending read fails: ERROR_PIPE_NOT_CONNECTED");
    CloseHandle(c);

    /* A client ReadFile pending while the server closes its handle. */
    struct connect_arg ca = {s, CreateEventA(NULL, TRUE, FALSE, NULL)};
    HANDLE ct = CreateThread(NULL, 0, connect_thread, &ca, 0, NULL);
    WaitNamedPipeA(name, 5000);
    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_EQ(thread_result(ct), 0, "reconnected");
    struct flush_arg r = {c, a.started};
    ResetEvent(a.started);
    t = CreateThread(NULL, 0, read_thread, &r, 0, NULL);
    WaitForSingleObject(a.started, 5000);
    T_OK(still_blocked(t, 100), "client ReadFile waits for data");
    CloseHandle(s);
    T_EQ(thread_result(t), ERROR_BROKEN_PIPE, "the server closing its end: ERROR_BROKEN_PIPE");
    CloseHandle(c);
    CloseHandle(ca.started);
    CloseHandle(a.started);
}

struct instance_arg {
    const char *name;
    HANDLE pipe;
    int id;
};

static DWORD WINAPI serve_thread(LPVOID p)
{
    struct instance_arg *a = p;
    char b[4];
    if (!ConnectNamedPipe(a->pipe, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
        return 1;
    if (!read_exact(a->pipe, b, 4))
        return 2;
    b[3] = (char)a->id; /* answer: the client's id and which instance served it */
    if (!write_all(a->pipe, b, 4))
        return 3;
    if (!FlushFileBuffers(a->pipe))
        return 0x4000 | GetLastError();
    if (!DisconnectNamedPipe(a->pipe))
        return 0x5000 | GetLastError();
    return 0;
}

static DWORD WINAPI client_thread(LPVOID p)
{
    struct instance_arg *a = p;
    HANDLE h = INVALID_HANDLE_VALUE;
    char b[4] = {'c', 'l', (char)a->id, 0};
    for (int tries = 0; h == INVALID_HANDLE_VALUE && tries < 200; tries++) {
        h = client_open(a->name, GENERIC_READ | GENERIC_WRITE);
        if (h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_PIPE_BUSY)
            WaitNamedPipeA(a->name, 1000);
        else if (h == INVALID_HANDLE_VALUE)
            return 100 + GetLastError();
    }
    if (h == INVALID_HANDLE_VALUE)
        return 1;
    if (!write_all(h, b, 4) || !read_exact(h, b, 4))
        return 2;
    if (b[2] != (char)a->id)
        return 3;
    CloseHandle(h);
    return 0x100 | (unsigned char)b[3]; /* which instance */
}

static void test_instances(void)
{
    const char *name = t_pipe_name("instances");
    struct instance_arg srv[INSTANCES], cli[INSTANCES];
    HANDLE st[INSTANCES], ct[INSTANCES];
    int created = 0;
    for (int i = 0; i < INSTANCES; i++) {
        srv[i] = (struct instance_arg){name, server_open(name, PIPE_ACCESS_DUPLEX, INSTANCES), i};
        created += srv[i].pipe != INVALID_HANDLE_VALUE;
    }
    T_EQ(created, INSTANCES, "four instances of one pipe");
    /* Every instance is busy once four clients hold them. */
    HANDLE held[INSTANCES];
    int opened = 0;
    for (int i = 0; i < INSTANCES; i++)
        opened += (held[i] = client_open(name, GENERIC_READ | GENERIC_WRITE)) != INVALID_HANDLE_VALUE;
    T_EQ(opened, INSTANCES, "four clients connect, one per instance");
    T_ERR(client_open(name, GENERIC_READ | GENERIC_WRITE) != INVALID_HANDLE_VALUE, ERROR_PIPE_BUSY,
          "a fifth: ERROR_PIPE_BUSY");
    for (int i = 0; i < INSTANCES; i++) {
        CloseHandle(held[i]);
        DisconnectNamedPipe(srv[i].pipe);
    }
    /* Now serve four client threads concurrently. */
    for (int i = 0; i < INSTANCES; i++) {
        st[i] = CreateThread(NULL, 0, serve_thread, &srv[i], 0, NULL);
        cli[i] = (struct instance_arg){name, NULL, 10 + i};
        ct[i] = CreateThread(NULL, 0, client_thread, &cli[i], 0, NULL);
    }
    int served = 0, clients_ok = 0, seen = 0;
    for (int i = 0; i < INSTANCES; i++) {
        DWORD r = thread_result(ct[i]);
        if ((r & 0x100) && (r & 0xFF) < INSTANCES) {
            clients_ok++;
            seen |= 1 << (r & 0xFF);
        }
    }
    for (int i = 0; i < INSTANCES; i++) {
        DWORD r = thread_result(st[i]);
        if (r) printf("# serve %d -> %#lx\n", i, (unsigned long)r);
        served += r == 0;
    }
    T_EQ(clients_ok, INSTANCES, "every client got its answer");
    T_EQ(served, INSTANCES, "every instance served one client");
    T_EQ(seen, (1 << INSTANCES) - 1, "each by a different instance");
    for (int i = 0; i < INSTANCES; i++)
        CloseHandle(srv[i].pipe);
}

/* Windows gives a client the instance that has been listening longest. */
static void test_listen_order(void)
{
    const char *name = t_pipe_name("order");
    HANDLE s[4], c[4];
    int ok_order = 0;
    for (int i = 0; i < 4; i++)
        s[i] = server_open(name, PIPE_ACCESS_DUPLEX, 4);
    for (int i = 0; i < 3; i++) {
        c[i] = client_open(name, GENERIC_READ | GENERIC_WRITE);
        ok_order += !ConnectNamedPipe(s[i], NULL) && GetLastError() == ERROR_PIPE_CONNECTED;
    }
    T_EQ(ok_order, 3, "new instances take clients in creation order");
    DisconnectNamedPipe(s[0]);
    DisconnectNamedPipe(s[2]);
    c[3] = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_ERR(ConnectNamedPipe(s[3], NULL), ERROR_PIPE_CONNECTED, "the fourth client gets the last fresh instance");

    /* Instance 2 listens again before instance 0: it gets the next client. */
    struct connect_arg a2 = {s[2], CreateEventA(NULL, TRUE, FALSE, NULL)};
    struct connect_arg a0 = {s[0], CreateEventA(NULL, TRUE, FALSE, NULL)};
    HANDLE t2 = CreateThread(NULL, 0, connect_thread, &a2, 0, NULL);
    T_OK(WaitNamedPipeA(name, 5000), "instance 2 listens");
    HANDLE t0 = CreateThread(NULL, 0, connect_thread, &a0, 0, NULL);
    WaitForSingleObject(a0.started, 5000);
    HANDLE y = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(y != INVALID_HANDLE_VALUE, "a client");
    T_EQ(thread_result(t2), 0, "goes to instance 2, which listened first");
    T_OK(WaitNamedPipeA(name, 5000), "instance 0 listens");
    T_OK(still_blocked(t0, 50), "instance 0 still waits");
    HANDLE z = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(z != INVALID_HANDLE_VALUE, "the next client");
    T_EQ(thread_result(t0), 0, "goes to instance 0");
    T_ERR(client_open(name, GENERIC_READ | GENERIC_WRITE) != INVALID_HANDLE_VALUE, ERROR_PIPE_BUSY,
          "all four taken");
    CloseHandle(y);
    CloseHandle(z);
    for (int i = 0; i < 4; i++) {
        CloseHandle(c[i]);
        CloseHandle(s[i]);
    }
    CloseHandle(a0.started);
    CloseHandle(a2.started);
}

/* --- other processes ---------------------------------------------------------------- */

static void test_processes(void)
{
    const char *name = t_pipe_name("procs");
    PROCESS_INFORMATION pi;
    char args[512];
    unsigned char *big = big_buffer(1), *back = malloc(BIG);

    /* This process serves, a child is the client. */
    HANDLE s = server_open(name, PIPE_ACCESS_DUPLEX, 1);
    snprintf(args, sizeof args, "child client %s", name);
    T_OK(t_spawn(args, &pi), "client child started");
    T_OK(ConnectNamedPipe(s, NULL) || GetLastError() == ERROR_PIPE_CONNECTED, "the child connects");
    char b[4];
    T_OK(write_all(s, "ping", 4) && read_exact(s, b, 4) && memcmp(b, "ping", 4) == 0, "echo through another process");
    T_OK(write_all(s, big, BIG), "1 MiB to the child in one WriteFile");
    T_OK(read_exact(s, back, BIG) && big_check(back, 2), "1 MiB back from the child");
    T_OK(DisconnectNamedPipe(s), "disconnect");
    T_EQ(t_wait_child(&pi, 15000), C_OK, "the child saw everything, then ERROR_PIPE_NOT_CONNECTED");
    CloseHandle(s);

    /* A child serves, this process is the client. */
    name = t_pipe_name("procs-server");
    HANDLE ready = CreateEventA(NULL, TRUE, FALSE, t_name("server-ready"));
    snprintf(args, sizeof args, "child server %s %s", name, t_name("server-ready"));
    T_OK(t_spawn(args, &pi), "server child started");
    T_EQ(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "the child created the pipe");
    T_OK(WaitNamedPipeA(name, 5000), "WaitNamedPipe on another process's instance");
    HANDLE c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "open the child's pipe");
    char rep[5];
    T_OK(write_all(c, "abcde", 5) && read_exact(c, rep, 5) && memcmp(rep, "edcba", 5) == 0,
         "request and answer across processes");
    DWORD n = T_POISON;
    T_ERR(ReadFile(c, rep, sizeof rep, &n, NULL), ERROR_PIPE_NOT_CONNECTED,
          "the child's DisconnectNamedPipe: ERROR_PIPE_NOT_CONNECTED");
    T_EQ(t_wait_child(&pi, 15000), C_OK, "the server child finished");
    CloseHandle(c);
    CloseHandle(ready);
    T_ERR(client_open(name, GENERIC_READ | GENERIC_WRITE) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND,
          "the child's pipe is gone with it");
    free(big);
    free(back);
}

static void test_inherit(void)
{
    const char *name = t_pipe_name("inherit");
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    PROCESS_INFORMATION pi;
    char args[128], b[5];
    HANDLE s = server_open(name, PIPE_ACCESS_DUPLEX, 1);
    HANDLE c = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, &sa, OPEN_EXISTING, 0, NULL);
    T_OK(c != INVALID_HANDLE_VALUE, "an inheritable client end");
    snprintf(args, sizeof args, "child inherited %llu", (unsigned long long)(ULONG_PTR)c);
    T_OK(t_spawn_ex(args, TRUE, NULL, &pi), "child started with bInheritHandles");
    CloseHandle(c); /* the child's copy keeps the connection */
    T_OK(read_exact(s, b, 5) && memcmp(b, "hello", 5) == 0, "the child writes through the inherited handle");
    T_OK(write_all(s, "world!", 6), "and reads the answer");
    T_EQ(t_wait_child(&pi, 15000), C_OK, "the child finished");
    DWORD n = T_POISON;
    T_ERR(ReadFile(s, b, sizeof b, &n, NULL), ERROR_BROKEN_PIPE, "its exit closed the last client handle");
    CloseHandle(s);
}

static void test_inherit_server(void)
{
    const char *name = t_pipe_name("inherit-server");
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    PROCESS_INFORMATION pi;
    char args[128], b[14];
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, &sa);
    T_OK(s != INVALID_HANDLE_VALUE, "an inheritable server end");
    HANDLE c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE && (ConnectNamedPipe(s, NULL) || GetLastError() == ERROR_PIPE_CONNECTED),
         "connected");
    snprintf(args, sizeof args, "child server-end %llu", (unsigned long long)(ULONG_PTR)s);
    T_OK(t_spawn_ex(args, TRUE, NULL, &pi), "child started with the server end");
    CloseHandle(s); /* the child's copy keeps the instance */
    T_OK(read_exact(c, b, 14) && memcmp(b, "from the child", 14) == 0, "the child serves through it");
    T_OK(write_all(c, "ack", 3), "and reads from it");
    T_EQ(t_wait_child(&pi, 15000), C_OK, "the child finished");
    DWORD n = T_POISON;
    T_ERR(ReadFile(c, b, sizeof b, &n, NULL), ERROR_BROKEN_PIPE, "its exit closed the last server handle");
    T_ERR(client_open(name, GENERIC_READ | GENERIC_WRITE) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND,
          "and the pipe is gone");
    CloseHandle(c);
}

static void test_inherit_listening(void)
{
    const char *name = t_pipe_name("inherit-listening");
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    PROCESS_INFORMATION pi;
    char args[128], b[6];
    DWORD n;
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, &sa);
    snprintf(args, sizeof args, "child serve-inherited %llu", (unsigned long long)(ULONG_PTR)s);
    T_OK(t_spawn_ex(args, TRUE, NULL, &pi), "child started with a listening server end");
    CloseHandle(s);
    for (int i = 0; i < 2; i++) {
        T_OK(WaitNamedPipeA(name, 10000), i ? "the child listens again" : "the instance is available");
        HANDLE c = client_open(name, GENERIC_READ | GENERIC_WRITE);
        T_OK(c != INVALID_HANDLE_VALUE, i ? "second client" : "first client");
        T_OK(read_exact(c, b, 6) && memcmp(b, i ? "again!" : "served", 6) == 0, "served by the child");
        T_ERR(ReadFile(c, b, sizeof b, &n, NULL), ERROR_PIPE_NOT_CONNECTED, "then disconnected by it");
        CloseHandle(c);
    }
    T_EQ(t_wait_child(&pi, 15000), C_OK, "the child served two clients on the inherited instance");
    T_ERR(WaitNamedPipeA(name, 100), ERROR_FILE_NOT_FOUND, "and closed it: the pipe is gone");
}

static void test_std_handles(void)
{
    const char *name = t_pipe_name("stdout");
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    char buf[64];
    HANDLE s = server_open(name, PIPE_ACCESS_INBOUND, 1);
    HANDLE c = CreateFileA(name, GENERIC_WRITE, 0, &sa, OPEN_EXISTING, 0, NULL);
    T_OK(c != INVALID_HANDLE_VALUE, "an inheritable write-only client end");
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = NULL;
    si.hStdOutput = c;
    si.hStdError = c;
    T_OK(t_spawn_ex("child stdout", TRUE, &si, &pi), "child with its standard output on the pipe");
    CloseHandle(c);
    DWORD total = 0, n = 0;
    while (total < sizeof buf - 1 && ReadFile(s, buf + total, sizeof buf - 1 - total, &n, NULL))
        total += n;
    buf[total] = 0;
    T_EQ(GetLastError(), ERROR_BROKEN_PIPE, "read until the child's end closed");
    T_STR(buf, "via handle\nvia stdio\n", "WriteFile on GetStdHandle and printf both arrive");
    T_EQ(t_wait_child(&pi, 15000), C_OK, "the child saw a pipe as its standard output");
    CloseHandle(s);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return run_child(argc, argv);
    test_parameters();
    test_names();
    test_client_first();
    test_server_first();
    test_connect_blocks();
    test_disconnect();
    test_limits();
    test_direction();
    test_wait();
    test_big();
    test_flush_and_pending();
    test_instances();
    test_listen_order();
    test_processes();
    test_inherit();
    test_inherit_server();
    test_inherit_listening();
    test_std_handles();
    return t_done();
}
