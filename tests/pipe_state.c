/* SPDX-License-Identifier: MIT */
/* Named pipe handle state and queries: PIPE_NOWAIT (ConnectNamedPipe,
 * ReadFile, WriteFile), SetNamedPipeHandleState, GetNamedPipeHandleState,
 * GetNamedPipeInfo, PeekNamedPipe in every state (and on anonymous pipes),
 * TransactNamedPipe, CallNamedPipe, the client/server process and session
 * ids, ImpersonateNamedPipeClient/RevertToSelf within one user; with this
 * binary re-run as a child (argv[1] == "child") for the cross-process
 * cases. Expected values follow Windows as Wine's conformance tests record
 * it (kernel32/tests/pipe.c) and Microsoft's documentation. */
#include "test.h"

#define C_OK 0
#define C_OPEN 10
#define C_MODE 11
#define C_IO 12
#define C_DATA 13
#define C_PID 14
#define C_CREATE 15
#define C_ARGS 16

static HANDLE client_open(const char *name, DWORD access)
{
    return CreateFileA(name, access, 0, NULL, OPEN_EXISTING, 0, NULL);
}

static BOOL set_mode(HANDLE h, DWORD mode)
{
    return SetNamedPipeHandleState(h, &mode, NULL, NULL);
}

static BOOL put(HANDLE h, const void *buf, DWORD len)
{
    DWORD n = T_POISON;
    return WriteFile(h, buf, len, &n, NULL) && n == len;
}

/* --- children ------------------------------------------------------------------------- */

/* A message server answering each request with "re:" + request, `count`
 * clients in turn; it says "ready" through the named event first. */
static int child_server(const char *name, const char *event, int count)
{
    HANDLE ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, event);
    HANDLE h = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1, 4096, 4096,
                                0, NULL);
    char req[256], rep[300];
    if (!ready || h == INVALID_HANDLE_VALUE)
        return C_CREATE;
    SetEvent(ready);
    for (int i = 0; i < count; i++) {
        DWORD n;
        if (!ConnectNamedPipe(h, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
            return C_OPEN;
        if (!ReadFile(h, req, sizeof req, &n, NULL))
            return C_IO;
        memcpy(rep, "re:", 3);
        memcpy(rep + 3, req, n);
        if (!put(h, rep, n + 3) || !FlushFileBuffers(h))
            return C_IO;
        DisconnectNamedPipe(h);
    }
    CloseHandle(h);
    return C_OK;
}

/* A client checking the process ids from its side: its own, and the
 * server's (the parent's, given on the command line). */
static int child_pids(const char *name, const char *server_pid)
{
    HANDLE h = client_open(name, GENERIC_READ | GENERIC_WRITE);
    ULONG pid = 0, sess = 0;
    if (h == INVALID_HANDLE_VALUE)
        return C_OPEN;
    if (!GetNamedPipeClientProcessId(h, &pid) || pid != GetCurrentProcessId())
        return C_PID;
    if (!GetNamedPipeServerProcessId(h, &pid) || pid != strtoul(server_pid, NULL, 0))
        return C_PID;
    if (!GetNamedPipeServerSessionId(h, &sess) || sess != 1)
        return C_PID;
    if (!put(h, "hi", 2))
        return C_IO;
    char b[4];
    DWORD n;
    if (!ReadFile(h, b, sizeof b, &n, NULL) || n != 3)
        return C_IO;
    CloseHandle(h);
    return C_OK;
}

static int run_child(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[2], "server") == 0)
        return child_server(argv[3], argv[4], atoi(argv[5]));
    if (argc >= 5 && strcmp(argv[2], "pids") == 0)
        return child_pids(argv[3], argv[4]);
    return C_ARGS;
}

static DWORD WINAPI connect_thread(LPVOID arg)
{
    return ConnectNamedPipe((HANDLE)arg, NULL) ? 0 : GetLastError();
}

/* --- PIPE_NOWAIT ---------------------------------------------------------------------- */

static void test_nowait(DWORD type)
{
    BOOL msg = type == PIPE_TYPE_MESSAGE;
    const char *name = t_pipe_name(msg ? "nowait-msg" : "nowait-byte");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, type | PIPE_NOWAIT, 1, 512, 512, 0, NULL), c;
    char buf[64];
    DWORD n, mode;

    T_OK(s != INVALID_HANDLE_VALUE, msg ? "a PIPE_NOWAIT message pipe" : "a PIPE_NOWAIT byte pipe");
    T_OK(GetNamedPipeHandleStateA(s, &mode, NULL, NULL, NULL, NULL, 0) && mode == PIPE_NOWAIT, "state: PIPE_NOWAIT");
    T_ERR(ConnectNamedPipe(s, NULL), ERROR_PIPE_LISTENING, "ConnectNamedPipe with no client: ERROR_PIPE_LISTENING");
    T_ERR(ConnectNamedPipe(s, NULL), ERROR_PIPE_LISTENING, "again");
    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "a client");
    T_ERR(ConnectNamedPipe(s, NULL), ERROR_PIPE_CONNECTED, "then ERROR_PIPE_CONNECTED");
    n = T_POISON;
    T_ERR(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_NO_DATA, "ReadFile with nothing sent: ERROR_NO_DATA");
    T_EQ(n, 0, "0 bytes");
    T_OK(put(c, "bits", 4), "the client writes");
    n = T_POISON;
    T_OK(ReadFile(s, buf, sizeof buf, &n, NULL) && n == 4, "the non-blocking read gets it");
    T_ERR(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_NO_DATA, "then ERROR_NO_DATA again");

    /* Writes that fit go out whole; one that does not fit writes nothing
     * and still returns TRUE (fill the pipe first: the kernel's buffer is
     * bigger than nOutBufferSize). */
    char *big = malloc(1 << 20);
    memset(big, 'z', 1 << 20);
    DWORD wrote = 0, zero_writes = 0, calls = 0;
    for (; calls < 10000 && zero_writes == 0; calls++) {
        n = T_POISON;
        if (!WriteFile(s, big, 4000, &n, NULL))
            break;
        wrote += n;
        zero_writes += n == 0;
        if (n != 0 && n != 4000)
            break;
    }
    T_EQ(zero_writes, 1, "writing 4000 bytes at a time into a full pipe: TRUE with 0 written");
    T_EQ(wrote % 4000, 0, "every write went out whole or not at all");
    n = T_POISON;
    T_OK(WriteFile(s, big, 1 << 20, &n, NULL) && n == 0, "a 1 MiB write: TRUE, 0 bytes");
    /* Drain it from the client (blocking mode). */
    DWORD got = 0;
    while (got < wrote && ReadFile(c, big, 1 << 20, &n, NULL))
        got += n;
    if (msg)
        T_EQ(got, wrote, "the client reads every whole message that went out");
    else
        T_EQ(got, wrote, "the client reads every byte that went out");
    n = T_POISON;
    T_OK(WriteFile(s, big, 4000, &n, NULL) && n == 4000, "room again: a write goes out");
    T_OK(ReadFile(c, big, 1 << 20, &n, NULL) && n == 4000, "and arrives");
    free(big);

    /* The client's end can be made non-blocking too. */
    T_OK(set_mode(c, (msg ? PIPE_READMODE_MESSAGE : 0) | PIPE_NOWAIT), "client to PIPE_NOWAIT");
    T_OK(GetNamedPipeHandleStateA(c, &mode, NULL, NULL, NULL, NULL, 0), "its state");
    T_EQ(mode, (msg ? PIPE_READMODE_MESSAGE : 0) | PIPE_NOWAIT, "as set");
    T_ERR(ReadFile(c, buf, sizeof buf, &n, NULL), ERROR_NO_DATA, "client read: ERROR_NO_DATA");

    /* Closed and disconnected. */
    CloseHandle(c);
    T_ERR(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE, "client gone: ERROR_BROKEN_PIPE, not NO_DATA");
    T_ERR(ConnectNamedPipe(s, NULL), ERROR_NO_DATA, "ConnectNamedPipe after the client left: ERROR_NO_DATA");
    T_OK(DisconnectNamedPipe(s), "DisconnectNamedPipe");
    T_ERR(ConnectNamedPipe(s, NULL), ERROR_PIPE_LISTENING, "ConnectNamedPipe listens again: ERROR_PIPE_LISTENING");
    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_OK(c != INVALID_HANDLE_VALUE, "and a client can come");
    CloseHandle(c);

    /* Back to blocking mode. */
    T_OK(DisconnectNamedPipe(s) && set_mode(s, msg ? PIPE_READMODE_MESSAGE : 0), "server back to PIPE_WAIT");
    T_OK(GetNamedPipeHandleStateA(s, &mode, NULL, NULL, NULL, NULL, 0), "state");
    T_EQ(mode, msg ? PIPE_READMODE_MESSAGE : 0, "PIPE_WAIT");
    CloseHandle(s);
}

/* --- SetNamedPipeHandleState / GetNamedPipeHandleState / GetNamedPipeInfo ------------ */

static void test_state(void)
{
    const char *name = t_pipe_name("state");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 3, 1024, 2048, 0, NULL);
    HANDLE s2 = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 3, 1024, 2048, 0, NULL);
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL), c, ro;
    DWORD state, inst, coll, timeout, mode, flags, out, in, max;
    char user[64];

    state = inst = T_POISON;
    T_OK(GetNamedPipeHandleStateA(s, NULL, NULL, NULL, NULL, NULL, 0), "all NULL: TRUE");
    T_OK(GetNamedPipeHandleStateA(s, &state, &inst, NULL, NULL, NULL, 0), "state and instances");
    T_EQ(state, 0, "byte read mode, blocking");
    T_EQ(inst, 2, "two instances");
    T_ERR(GetNamedPipeHandleStateA(s, &state, &inst, &coll, &timeout, NULL, 0), ERROR_INVALID_PARAMETER,
          "collection count and time-out on a local pipe: ERROR_INVALID_PARAMETER");
    T_ERR(GetNamedPipeHandleStateA(s, NULL, NULL, &coll, NULL, NULL, 0), ERROR_INVALID_PARAMETER,
          "collection count alone");
    T_ERR(GetNamedPipeHandleStateA(s, NULL, NULL, NULL, NULL, user, sizeof user), ERROR_CANNOT_IMPERSONATE,
          "user name with no client: ERROR_CANNOT_IMPERSONATE");
    T_ERR(GetNamedPipeHandleStateA(ev, &state, NULL, NULL, NULL, NULL, 0), ERROR_INVALID_HANDLE, "on an event");

    mode = PIPE_READMODE_MESSAGE;
    T_ERR(SetNamedPipeHandleState(s, &mode, NULL, NULL), ERROR_INVALID_PARAMETER,
          "a byte pipe's server to message mode: ERROR_INVALID_PARAMETER");
    mode = 0x10;
    T_ERR(SetNamedPipeHandleState(s, &mode, NULL, NULL), ERROR_INVALID_PARAMETER, "unknown mode bits");
    mode = 0;
    coll = 100;
    T_ERR(SetNamedPipeHandleState(s, &mode, &coll, NULL), ERROR_INVALID_PARAMETER, "a collection count");
    T_ERR(SetNamedPipeHandleState(s, NULL, NULL, &coll), ERROR_INVALID_PARAMETER, "a collection time-out");
    T_OK(SetNamedPipeHandleState(s, NULL, NULL, NULL), "nothing to set: TRUE");
    T_ERR(SetNamedPipeHandleState(ev, &mode, NULL, NULL), ERROR_INVALID_HANDLE, "on an event");

    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    mode = PIPE_READMODE_BYTE;
    T_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL), "a byte pipe's client to byte mode: TRUE");
    mode = PIPE_READMODE_MESSAGE;
    T_ERR(SetNamedPipeHandleState(c, &mode, NULL, NULL), ERROR_INVALID_PARAMETER, "to message mode: refused");
    T_ERR(GetNamedPipeHandleStateA(c, NULL, NULL, NULL, NULL, user, sizeof user), ERROR_INVALID_PARAMETER,
          "a client asking for the user name: ERROR_INVALID_PARAMETER");
    inst = T_POISON;
    T_OK(GetNamedPipeHandleStateA(c, NULL, &inst, NULL, NULL, NULL, 0) && inst == 2, "the client sees 2 instances");
    ro = client_open(name, GENERIC_READ);
    T_OK(ro != INVALID_HANDLE_VALUE, "a read-only client");
    mode = PIPE_NOWAIT;
    T_ERR(SetNamedPipeHandleState(ro, &mode, NULL, NULL), ERROR_ACCESS_DENIED,
          "SetNamedPipeHandleState without FILE_WRITE_ATTRIBUTES: ERROR_ACCESS_DENIED");
    CloseHandle(ro);

    /* GetNamedPipeInfo on both ends. */
    flags = out = in = max = T_POISON;
    T_OK(GetNamedPipeInfo(s, &flags, &out, &in, &max), "GetNamedPipeInfo, server");
    T_OK(flags == (PIPE_SERVER_END | PIPE_TYPE_BYTE) && out == 1024 && in == 2048 && max == 3,
         "PIPE_SERVER_END, 1024 out, 2048 in, 3 instances");
    flags = out = in = max = T_POISON;
    T_OK(GetNamedPipeInfo(c, &flags, &out, &in, &max), "client");
    T_OK(flags == PIPE_CLIENT_END && out == 1024 && in == 2048 && max == 3, "PIPE_CLIENT_END, the instance's sizes");
    T_OK(GetNamedPipeInfo(c, NULL, NULL, NULL, NULL), "all NULL: TRUE");
    T_ERR(GetNamedPipeInfo(ev, &flags, NULL, NULL, NULL), ERROR_INVALID_HANDLE, "on an event");
    HANDLE u = CreateNamedPipeA(t_pipe_name("unlimited"), PIPE_ACCESS_INBOUND, PIPE_TYPE_MESSAGE,
                                PIPE_UNLIMITED_INSTANCES, 0, 0, 0, NULL);
    T_OK(GetNamedPipeInfo(u, &flags, &out, &in, &max), "an inbound message pipe, unlimited instances");
    T_OK(flags == (PIPE_SERVER_END | PIPE_TYPE_MESSAGE) && out == 0 && in == 0 && max == PIPE_UNLIMITED_INSTANCES,
         "PIPE_SERVER_END | PIPE_TYPE_MESSAGE, 0, 0, 255");
    CloseHandle(u);

    /* The client's user name, once the server has read from it. */
    T_OK(put(c, "x", 1), "the client writes");
    T_ERR(GetNamedPipeHandleStateA(s, NULL, NULL, NULL, NULL, user, sizeof user), ERROR_CANNOT_IMPERSONATE,
          "before the server read anything: ERROR_CANNOT_IMPERSONATE");
    char b;
    DWORD n;
    T_OK(ReadFile(s, &b, 1, &n, NULL), "the server reads");
    memset(user, 0, sizeof user);
    T_OK(GetNamedPipeHandleStateA(s, NULL, NULL, NULL, NULL, user, sizeof user), "then the user name");
    T_OK(user[0] != 0, "is not empty");
    WCHAR wuser[64];
    T_OK(GetNamedPipeHandleStateW(s, NULL, NULL, NULL, NULL, wuser, 64), "the W version");
    T_OK(wuser[0] == (WCHAR)(unsigned char)user[0], "the same name");
    T_ERR(GetNamedPipeHandleStateA(s, NULL, NULL, NULL, NULL, user, 1), ERROR_INSUFFICIENT_BUFFER,
          "a one-character buffer: ERROR_INSUFFICIENT_BUFFER");
    CloseHandle(c);
    CloseHandle(s2);
    CloseHandle(s);
    CloseHandle(ev);
}

/* --- PeekNamedPipe in every state ------------------------------------------------------- */

static void test_peek_states(void)
{
    const char *name = t_pipe_name("peekstates");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 1024, 1024, 0, NULL), c, w;
    DWORD rd, avail, left;
    char buf[16];

    T_ERR(PeekNamedPipe(s, NULL, 0, NULL, &avail, NULL), ERROR_BAD_PIPE, "a listening server: ERROR_BAD_PIPE");
    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    avail = T_POISON;
    T_OK(PeekNamedPipe(s, NULL, 0, NULL, &avail, NULL) && avail == 0,
         "a client came (before ConnectNamedPipe): connected, nothing waiting");
    T_OK(put(c, "abc", 3), "the client writes");
    T_OK(PeekNamedPipe(s, buf, sizeof buf, &rd, &avail, &left), "peek");
    T_OK(rd == 3 && avail == 3 && (LONG)left == -3 && memcmp(buf, "abc", 3) == 0, "3, 3, -3, the bytes");
    T_OK(PeekNamedPipe(s, buf, sizeof buf, &rd, &avail, &left) && rd == 3, "peeking again sees the same");
    T_OK(PeekNamedPipe(s, (void *)1, 0, &rd, &avail, NULL) && rd == 0 && avail == 3, "a zero-size buffer: no copy");

    /* The client goes: what is left can still be peeked and read, then the
     * pipe is broken and the out parameters are left alone. */
    CloseHandle(c);
    T_OK(PeekNamedPipe(s, NULL, 0, NULL, &avail, NULL) && avail == 3, "after the client closed, the data is there");
    T_OK(ReadFile(s, buf, sizeof buf, &rd, NULL) && rd == 3, "read it");
    avail = T_POISON;
    T_ERR(PeekNamedPipe(s, NULL, 0, NULL, &avail, NULL), ERROR_BROKEN_PIPE, "then ERROR_BROKEN_PIPE");
    T_EQ(avail, T_POISON, "avail untouched");
    T_OK(DisconnectNamedPipe(s), "disconnect");
    T_ERR(PeekNamedPipe(s, NULL, 0, NULL, &avail, NULL), ERROR_BAD_PIPE, "a disconnected server: ERROR_BAD_PIPE");

    /* A client whose server disconnected. */
    HANDLE t = CreateThread(NULL, 0, connect_thread, s, 0, NULL);
    WaitNamedPipeA(name, 5000);
    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    WaitForSingleObject(t, 5000);
    CloseHandle(t);
    T_OK(put(s, "zz", 2), "server writes");
    T_OK(DisconnectNamedPipe(s), "and disconnects");
    T_ERR(PeekNamedPipe(c, NULL, 0, NULL, &avail, NULL), ERROR_PIPE_NOT_CONNECTED,
          "the client's peek: ERROR_PIPE_NOT_CONNECTED");
    CloseHandle(c);
    CloseHandle(s);

    /* Access: the peek needs read access. */
    s = CreateNamedPipeA(name, PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE, 1, 1024, 1024, 0, NULL);
    w = client_open(name, GENERIC_WRITE);
    T_ERR(PeekNamedPipe(w, NULL, 0, NULL, &avail, NULL), ERROR_ACCESS_DENIED, "a write-only client: ERROR_ACCESS_DENIED");
    T_OK(PeekNamedPipe(s, NULL, 0, NULL, &avail, NULL), "the inbound server can");
    CloseHandle(w);
    CloseHandle(s);
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    T_ERR(PeekNamedPipe(ev, NULL, 0, NULL, &avail, NULL), ERROR_INVALID_HANDLE, "an event: ERROR_INVALID_HANDLE");
    CloseHandle(ev);
}

/* --- anonymous pipes -------------------------------------------------------------------- */

static void test_anonymous(void)
{
    HANDLE r, w;
    DWORD rd, avail, left, flags, out, in, max, state, inst;
    char buf[32];
    T_OK(CreatePipe(&r, &w, NULL, 0), "CreatePipe");
    avail = T_POISON;
    T_OK(PeekNamedPipe(r, NULL, 0, NULL, &avail, NULL) && avail == 0, "peek an empty anonymous pipe");
    T_OK(put(w, "anonymous", 9), "write 9 bytes");
    rd = avail = left = T_POISON;
    memset(buf, 0, sizeof buf);
    T_OK(PeekNamedPipe(r, buf, 4, &rd, &avail, &left), "peek 4");
    T_OK(rd == 4 && avail == 9 && (LONG)left == -4 && memcmp(buf, "anon", 4) == 0, "4 copied, 9 waiting, -4 left");
    T_OK(PeekNamedPipe(r, buf, sizeof buf, &rd, &avail, NULL) && rd == 9, "peek all");
    T_OK(ReadFile(r, buf, sizeof buf, &rd, NULL) && rd == 9 && memcmp(buf, "anonymous", 9) == 0,
         "peeking took nothing");
    T_ERR(PeekNamedPipe(w, NULL, 0, NULL, &avail, NULL), ERROR_ACCESS_DENIED, "the write end: ERROR_ACCESS_DENIED");

    T_OK(GetNamedPipeInfo(r, &flags, &out, &in, &max), "GetNamedPipeInfo on the read end");
    T_OK(flags == PIPE_SERVER_END && max == 1 && out == in && out > 0, "the server end, one instance");
    T_OK(GetNamedPipeInfo(w, &flags, NULL, NULL, NULL) && flags == PIPE_CLIENT_END, "the write end: client end");
    T_OK(GetNamedPipeHandleStateA(r, &state, &inst, NULL, NULL, NULL, 0) && state == 0 && inst == 1,
         "GetNamedPipeHandleState: byte, blocking, 1 instance");
    DWORD mode = PIPE_READMODE_BYTE;
    T_OK(SetNamedPipeHandleState(r, &mode, NULL, NULL), "SetNamedPipeHandleState(byte, wait) on the read end");
    mode = PIPE_READMODE_MESSAGE;
    T_ERR(SetNamedPipeHandleState(r, &mode, NULL, NULL), ERROR_INVALID_PARAMETER, "message mode: refused");
    T_OK(put(w, "xy", 2), "write");
    CloseHandle(w);
    T_OK(PeekNamedPipe(r, NULL, 0, NULL, &avail, NULL) && avail == 2, "writer gone, data left: peek works");
    T_OK(ReadFile(r, buf, sizeof buf, &rd, NULL) && rd == 2, "read it");
    avail = T_POISON;
    T_ERR(PeekNamedPipe(r, NULL, 0, NULL, &avail, NULL), ERROR_BROKEN_PIPE, "then ERROR_BROKEN_PIPE");
    T_EQ(avail, T_POISON, "out parameter untouched");
    CloseHandle(r);
}

/* --- TransactNamedPipe ---------------------------------------------------------------------- */

static DWORD WINAPI answer_thread(LPVOID arg)
{
    HANDLE s = arg;
    char req[64];
    DWORD n;
    if (!ReadFile(s, req, sizeof req, &n, NULL))
        return 1;
    /* The answer: the request reversed, then a long tail when asked. */
    char rep[200];
    for (DWORD i = 0; i < n; i++)
        rep[i] = req[n - 1 - i];
    DWORD len = n;
    if (n && req[0] == 'L') {
        memset(rep + n, '-', 100);
        len += 100;
    }
    return put(s, rep, len) ? 0 : 2;
}

static void test_transact(void)
{
    const char *name = t_pipe_name("transact");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1, 4096, 4096, 0,
                                NULL);
    HANDLE c = client_open(name, GENERIC_READ | GENERIC_WRITE), t;
    char out[256];
    DWORD n;

    n = T_POISON;
    T_ERR(TransactNamedPipe(c, "abc", 3, out, sizeof out, &n, NULL), ERROR_BAD_PIPE,
          "a client in byte read mode: ERROR_BAD_PIPE");
    T_OK(set_mode(c, PIPE_READMODE_MESSAGE), "message read mode");
    T_ERR(TransactNamedPipe(c, "abc", 3, out, sizeof out, NULL, NULL), ERROR_INVALID_PARAMETER,
          "no byte count and no OVERLAPPED: ERROR_INVALID_PARAMETER");

    t = CreateThread(NULL, 0, answer_thread, s, 0, NULL);
    n = T_POISON;
    memset(out, 0, sizeof out);
    T_OK(TransactNamedPipe(c, "abc", 3, out, sizeof out, &n, NULL), "TransactNamedPipe");
    T_OK(n == 3 && memcmp(out, "cba", 3) == 0, "the answer");
    T_EQ(WaitForSingleObject(t, 5000), WAIT_OBJECT_0, "the server answered");
    CloseHandle(t);

    /* A longer answer: ERROR_MORE_DATA, the rest for ReadFile. */
    t = CreateThread(NULL, 0, answer_thread, s, 0, NULL);
    n = T_POISON;
    T_ERR(TransactNamedPipe(c, "Long", 4, out, 10, &n, NULL), ERROR_MORE_DATA, "a 104-byte answer into 10 bytes");
    T_OK(n == 10 && memcmp(out, "gnoL------", 10) == 0, "10 bytes of it");
    T_OK(ReadFile(c, out, sizeof out, &n, NULL) && n == 94, "ReadFile gets the other 94");
    WaitForSingleObject(t, 5000);
    CloseHandle(t);

    /* Something waiting to be read: ERROR_PIPE_BUSY, nothing sent. */
    T_OK(put(s, "unread", 6), "the server writes first");
    T_ERR(TransactNamedPipe(c, "abc", 3, out, sizeof out, &n, NULL), ERROR_PIPE_BUSY, "then a transaction: ERROR_PIPE_BUSY");
    T_OK(ReadFile(c, out, sizeof out, &n, NULL) && n == 6, "the waiting message is still there");
    DWORD avail = T_POISON;
    T_OK(PeekNamedPipe(s, NULL, 0, NULL, &avail, NULL) && avail == 0, "and the refused request never went out");

    /* Zero-size messages both ways. */
    t = CreateThread(NULL, 0, answer_thread, s, 0, NULL);
    n = T_POISON;
    T_OK(TransactNamedPipe(c, "", 0, out, 0, &n, NULL) && n == 0, "an empty request, an empty answer");
    WaitForSingleObject(t, 5000);
    CloseHandle(t);

    /* A synchronous handle with an OVERLAPPED: done before the call returns. */
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = ev;
    t = CreateThread(NULL, 0, answer_thread, s, 0, NULL);
    n = T_POISON;
    T_OK(TransactNamedPipe(c, "ov", 2, out, sizeof out, &n, &ov), "with an OVERLAPPED on a synchronous handle");
    T_OK(n == 2 && memcmp(out, "vo", 2) == 0 && ov.InternalHigh == 2, "the answer, counted in the OVERLAPPED");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0, "its event set");
    WaitForSingleObject(t, 5000);
    CloseHandle(t);
    CloseHandle(ev);

    CloseHandle(c);
    CloseHandle(s);

    /* A byte pipe: ERROR_BAD_PIPE. */
    s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, NULL);
    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_ERR(TransactNamedPipe(c, "abc", 3, out, sizeof out, &n, NULL), ERROR_BAD_PIPE, "a byte pipe: ERROR_BAD_PIPE");
    T_ERR(TransactNamedPipe(s, "abc", 3, out, sizeof out, &n, NULL), ERROR_BAD_PIPE, "its server too");
    CloseHandle(c);
    CloseHandle(s);
}

/* --- CallNamedPipe and TransactNamedPipe with another process -------------------------- */

static void test_call(void)
{
    const char *name = t_pipe_name("call");
    HANDLE ready = CreateEventA(NULL, TRUE, FALSE, t_name("call-ready"));
    PROCESS_INFORMATION pi;
    char args[400], out[64];
    DWORD n;

    n = T_POISON;
    T_ERR(CallNamedPipeA(name, "x", 1, out, sizeof out, &n, NMPWAIT_NOWAIT), ERROR_FILE_NOT_FOUND,
          "no such pipe: ERROR_FILE_NOT_FOUND");
    snprintf(args, sizeof args, "child server %s %s 3", name, t_name("call-ready"));
    T_OK(t_spawn(args, &pi), "a server child for three calls");
    T_EQ(WaitForSingleObject(ready, 10000), WAIT_OBJECT_0, "it is ready");

    n = T_POISON;
    memset(out, 0, sizeof out);
    T_OK(CallNamedPipeA(name, "ping", 4, out, sizeof out, &n, NMPWAIT_WAIT_FOREVER), "CallNamedPipe");
    T_OK(n == 7 && memcmp(out, "re:ping", 7) == 0, "the child's answer");
    n = T_POISON;
    T_OK(CallNamedPipeW(L"\\\\.\\pipe\\winipc-test-call", L"w", 0, out, sizeof out, &n, 5000), "CallNamedPipeW");
    T_OK(n == 3 && memcmp(out, "re:", 3) == 0, "an empty request answered");
    n = T_POISON;
    T_ERR(CallNamedPipeA(name, "abcdef", 6, out, 4, &n, 5000), ERROR_MORE_DATA, "an answer larger than the buffer");
    T_OK(n == 4 && memcmp(out, "re:a", 4) == 0, "its first 4 bytes; the rest went with the handle");
    T_EQ(t_wait_child(&pi, 15000), C_OK, "the child served three calls");

    /* Busy and time-outs. */
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1, 4096, 4096, 0,
                                NULL);
    HANDLE c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_ERR(CallNamedPipeA(name, "x", 1, out, sizeof out, &n, NMPWAIT_NOWAIT), ERROR_PIPE_BUSY,
          "the one instance busy, NMPWAIT_NOWAIT: ERROR_PIPE_BUSY");
    DWORD t0 = GetTickCount();
    T_ERR(CallNamedPipeA(name, "x", 1, out, sizeof out, &n, 200), ERROR_SEM_TIMEOUT, "200 ms: ERROR_SEM_TIMEOUT");
    T_OK(GetTickCount() - t0 >= 150, "after waiting");
    CloseHandle(c);
    CloseHandle(s);
    s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, NULL);
    T_ERR(CallNamedPipeA(name, "x", 1, out, sizeof out, &n, 1000), ERROR_INVALID_PARAMETER,
          "a byte pipe: its client cannot read messages");
    CloseHandle(s);
    CloseHandle(ready);
}

/* --- process and session ids ------------------------------------------------------------ */

static void test_pids(void)
{
    const char *name = t_pipe_name("pids");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, NULL), c;
    ULONG pid, sess;
    DWORD me = GetCurrentProcessId();
    PROCESS_INFORMATION pi;
    char args[300];

    T_ERR(GetNamedPipeClientProcessId(s, &pid), ERROR_NOT_FOUND, "no client yet: ERROR_NOT_FOUND");
    pid = 0;
    T_OK(GetNamedPipeServerProcessId(s, &pid) && pid == me, "the server's: ours");
    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    SetLastError(T_POISON);
    T_ERR(GetNamedPipeClientProcessId(s, NULL), ERROR_INSUFFICIENT_BUFFER, "NULL: ERROR_INSUFFICIENT_BUFFER");
    T_ERR(GetNamedPipeServerProcessId(s, NULL), ERROR_INSUFFICIENT_BUFFER, "NULL: ERROR_INSUFFICIENT_BUFFER");
    pid = 0;
    T_OK(GetNamedPipeClientProcessId(s, &pid) && pid == me, "client id on the server end");
    pid = 0;
    T_OK(GetNamedPipeClientProcessId(c, &pid) && pid == me, "client id on the client end");
    pid = 0;
    T_OK(GetNamedPipeServerProcessId(c, &pid) && pid == me, "server id on the client end");
    sess = 0;
    T_OK(GetNamedPipeClientSessionId(s, &sess) && sess == 1, "client session 1 (ProcessIdToSessionId's answer)");
    sess = 0;
    T_OK(GetNamedPipeServerSessionId(c, &sess) && sess == 1, "server session 1");
    CloseHandle(c);
    pid = 0;
    T_OK(GetNamedPipeClientProcessId(s, &pid) && pid == me, "after the client closed: still known");
    T_OK(DisconnectNamedPipe(s), "disconnect");
    T_ERR(GetNamedPipeClientProcessId(s, &pid), ERROR_NOT_FOUND, "after DisconnectNamedPipe: ERROR_NOT_FOUND");
    T_ERR(GetNamedPipeClientSessionId(s, &sess), ERROR_NOT_FOUND, "the session id too");
    T_OK(GetNamedPipeServerProcessId(s, &pid) && pid == me, "the server's stays");

    /* A client in another process. */
    HANDLE t = CreateThread(NULL, 0, connect_thread, s, 0, NULL);
    snprintf(args, sizeof args, "child pids %s %lu", name, (unsigned long)me);
    T_OK(t_spawn(args, &pi), "a client child");
    T_EQ(WaitForSingleObject(t, 10000), WAIT_OBJECT_0, "it connects");
    CloseHandle(t);
    char b[2];
    DWORD n;
    T_OK(ReadFile(s, b, 2, &n, NULL) && n == 2, "it writes");
    pid = 0;
    T_OK(GetNamedPipeClientProcessId(s, &pid), "GetNamedPipeClientProcessId");
    T_EQ(pid, pi.dwProcessId, "the child's process id");
    T_OK(put(s, "bye", 3), "answer");
    T_EQ(t_wait_child(&pi, 10000), C_OK, "the child saw its own id as the client and ours as the server");

    /* A client whose server disconnected. */
    T_OK(DisconnectNamedPipe(s), "disconnect");
    t = CreateThread(NULL, 0, connect_thread, s, 0, NULL);
    WaitNamedPipeA(name, 5000);
    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    WaitForSingleObject(t, 5000);
    CloseHandle(t);
    T_OK(DisconnectNamedPipe(s), "the server disconnects the new client");
    T_ERR(GetNamedPipeClientProcessId(c, &pid), ERROR_PIPE_NOT_CONNECTED, "its client id: ERROR_PIPE_NOT_CONNECTED");
    T_ERR(GetNamedPipeServerProcessId(c, &pid), ERROR_PIPE_NOT_CONNECTED, "its server id too");
    CloseHandle(c);
    CloseHandle(s);
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    T_ERR(GetNamedPipeClientProcessId(ev, &pid), ERROR_INVALID_HANDLE, "an event: ERROR_INVALID_HANDLE");
    CloseHandle(ev);
}

/* --- impersonation of a client of the same user ------------------------------------------ */

static void test_impersonate_self(void)
{
    const char *name = t_pipe_name("imp");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, NULL), c;
    char b;
    DWORD n;
    T_ERR(ImpersonateNamedPipeClient(s), ERROR_CANNOT_IMPERSONATE, "no client: ERROR_CANNOT_IMPERSONATE");
    c = client_open(name, GENERIC_READ | GENERIC_WRITE);
    T_ERR(ImpersonateNamedPipeClient(s), ERROR_CANNOT_IMPERSONATE, "nothing read yet: ERROR_CANNOT_IMPERSONATE");
    T_ERR(ImpersonateNamedPipeClient(c), ERROR_INVALID_FUNCTION, "on the client end: ERROR_INVALID_FUNCTION");
    T_OK(put(c, "i", 1) && ReadFile(s, &b, 1, &n, NULL), "the server reads from its client");
    T_OK(ImpersonateNamedPipeClient(s), "then ImpersonateNamedPipeClient succeeds");
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, t_name("imp-private"));
    T_OK(ev != NULL, "the same user: our objects stay ours");
    T_OK(RevertToSelf(), "RevertToSelf");
    T_OK(RevertToSelf(), "RevertToSelf with nothing to revert: TRUE");
    CloseHandle(c);
    T_OK(ImpersonateNamedPipeClient(s), "after the client closed, until DisconnectNamedPipe");
    T_OK(RevertToSelf(), "revert");
    T_OK(DisconnectNamedPipe(s), "disconnect");
    T_ERR(ImpersonateNamedPipeClient(s), ERROR_CANNOT_IMPERSONATE, "disconnected: ERROR_CANNOT_IMPERSONATE");
    T_ERR(ImpersonateNamedPipeClient(ev), ERROR_INVALID_HANDLE, "an event: ERROR_INVALID_HANDLE");
    CloseHandle(ev);
    CloseHandle(s);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return run_child(argc, argv);
    test_nowait(PIPE_TYPE_BYTE);
    test_nowait(PIPE_TYPE_MESSAGE);
    test_state();
    test_peek_states();
    test_anonymous();
    test_transact();
    test_call();
    test_pids();
    test_impersonate_self();
    return t_done();
}
