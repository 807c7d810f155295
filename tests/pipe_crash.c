/* SPDX-License-Identifier: MIT */
/* Named pipes when the other end's process dies (TerminateProcess, which is
 * SIGKILL here): the survivor's reads end promptly with ERROR_BROKEN_PIPE,
 * writes fail with ERROR_NO_DATA, a dead server's name disappears and can
 * be created afresh, a dead server's instances no longer count against
 * nMaxInstances, a client killed before ConnectNamedPipe leaves
 * ERROR_NO_DATA behind; and on message pipes, a writer killed in the middle
 * of a message larger than the pipe's buffer, a server killed waiting in
 * ConnectNamedPipe, and either side killed in the middle of a
 * TransactNamedPipe. Children are this binary re-run with
 * argv[1] == "child"; the interesting step is signalled with named events. */
#include "test.h"

/* Child exit codes (when a child is not killed). */
#define C_OPEN 10
#define C_WRITE 11
#define C_EVENT 12
#define C_CREATE 13
#define C_CONNECT 14
#define C_ARGS 15
#define C_MODE 16
#define C_READ 17

#define HUGE_MSG (4u << 20) /* larger than any socket buffer */

#define KILLED 9

static HANDLE client_open(const char *name)
{
    return CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
}

static BOOL write_all(HANDLE h, const void *buf, DWORD len)
{
    DWORD n = T_POISON;
    return WriteFile(h, buf, len, &n, NULL) && n == len;
}

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

/* --- children: each signals `event` at its interesting step, then blocks
 * until it is killed. ---------------------------------------------------------------- */

static HANDLE child_event(const char *event)
{
    return OpenEventA(EVENT_MODIFY_STATE | SYNCHRONIZE, FALSE, event);
}

static int block_forever(void)
{
    HANDLE never = CreateEventA(NULL, TRUE, FALSE, NULL);
    WaitForSingleObject(never, INFINITE);
    return 0;
}

/* Connect (waiting for the instance like a real client), write "hello",
 * then block. */
static int child_client(const char *name, const char *event)
{
    HANDLE ev = child_event(event);
    if (!ev)
        return C_EVENT;
    HANDLE h;
    while ((h = client_open(name)) == INVALID_HANDLE_VALUE) {
        if (GetLastError() != ERROR_PIPE_BUSY || !WaitNamedPipeA(name, 10000))
            return C_OPEN;
    }
    if (!write_all(h, "hello", 5))
        return C_WRITE;
    SetEvent(ev);
    return block_forever();
}

/* Connect and block without writing (the server never accepted). */
static int child_queued(const char *name, const char *event)
{
    HANDLE ev = child_event(event);
    if (!ev)
        return C_EVENT;
    if (client_open(name) == INVALID_HANDLE_VALUE)
        return C_OPEN;
    SetEvent(ev);
    return block_forever();
}

/* Create the pipe with `count` instances, serve the first client: write
 * "hi", then block. */
static int child_server(const char *name, const char *event, int count)
{
    HANDLE ev = child_event(event);
    if (!ev)
        return C_EVENT;
    HANDLE h = INVALID_HANDLE_VALUE;
    for (int i = 0; i < count; i++) {
        HANDLE x = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | (i == 0 ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
                                    PIPE_TYPE_BYTE, (DWORD)count, 4096, 4096, 0, NULL);
        if (x == INVALID_HANDLE_VALUE)
            return C_CREATE;
        if (i == 0)
            h = x;
    }
    SetEvent(ev);
    if (!ConnectNamedPipe(h, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
        return C_CONNECT;
    if (!write_all(h, "hi", 2))
        return C_WRITE;
    return block_forever();
}

static HANDLE msg_pipe(const char *name)
{
    return CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
                            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1, 4096, 4096, 0, NULL);
}

/* A message server that sends one 4 MiB message, which cannot all fit in
 * the pipe: it is killed while the write waits for the reader. */
static int child_msg_writer(const char *name, const char *event)
{
    HANDLE ev = child_event(event), h = msg_pipe(name);
    if (!ev)
        return C_EVENT;
    if (h == INVALID_HANDLE_VALUE)
        return C_CREATE;
    if (!ConnectNamedPipe(h, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
        return C_CONNECT;
    char *big = malloc(HUGE_MSG);
    memset(big, 'm', HUGE_MSG);
    SetEvent(ev);
    DWORD n;
    WriteFile(h, big, HUGE_MSG, &n, NULL);
    return block_forever();
}

/* A server killed while it waits in ConnectNamedPipe. */
static int child_connecting(const char *name, const char *event)
{
    HANDLE ev = child_event(event), h = msg_pipe(name);
    if (!ev)
        return C_EVENT;
    if (h == INVALID_HANDLE_VALUE)
        return C_CREATE;
    SetEvent(ev);
    ConnectNamedPipe(h, NULL);
    return block_forever();
}

/* A server that takes a request and never answers. */
static int child_mute_server(const char *name, const char *event)
{
    HANDLE ev = child_event(event), h = msg_pipe(name);
    char req[64];
    DWORD n;
    if (!ev)
        return C_EVENT;
    if (h == INVALID_HANDLE_VALUE)
        return C_CREATE;
    SetEvent(ev);
    if (!ConnectNamedPipe(h, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
        return C_CONNECT;
    if (!ReadFile(h, req, sizeof req, &n, NULL))
        return C_READ;
    return block_forever();
}

/* A client waiting for the answer of its TransactNamedPipe. */
static int child_transactor(const char *name)
{
    HANDLE h;
    DWORD mode = PIPE_READMODE_MESSAGE, n;
    char rep[64];
    while ((h = client_open(name)) == INVALID_HANDLE_VALUE) {
        if (GetLastError() != ERROR_PIPE_BUSY || !WaitNamedPipeA(name, 10000))
            return C_OPEN;
    }
    if (!SetNamedPipeHandleState(h, &mode, NULL, NULL))
        return C_MODE;
    TransactNamedPipe(h, "request", 7, rep, sizeof rep, &n, NULL);
    return block_forever();
}

static int run_child(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[2], "msgwriter") == 0)
        return child_msg_writer(argv[3], argv[4]);
    if (argc >= 5 && strcmp(argv[2], "connecting") == 0)
        return child_connecting(argv[3], argv[4]);
    if (argc >= 5 && strcmp(argv[2], "mute") == 0)
        return child_mute_server(argv[3], argv[4]);
    if (argc >= 4 && strcmp(argv[2], "transactor") == 0)
        return child_transactor(argv[3]);
    if (argc >= 5 && strcmp(argv[2], "client") == 0)
        return child_client(argv[3], argv[4]);
    if (argc >= 5 && strcmp(argv[2], "queued") == 0)
        return child_queued(argv[3], argv[4]);
    if (argc >= 6 && strcmp(argv[2], "server") == 0)
        return child_server(argv[3], argv[4], atoi(argv[5]));
    return C_ARGS;
}

/* Start a child and wait for its signal. */
static BOOL spawn_until(const char *args, HANDLE ev, PROCESS_INFORMATION *pi)
{
    if (!t_spawn(args, pi))
        return FALSE;
    HANDLE both[2] = {ev, pi->hProcess};
    return WaitForMultipleObjects(2, both, FALSE, 10000) == WAIT_OBJECT_0;
}

static DWORD WINAPI connect_thread(LPVOID h)
{
    return ConnectNamedPipe(h, NULL) ? 0 : GetLastError();
}

static void kill_child(PROCESS_INFORMATION *pi)
{
    TerminateProcess(pi->hProcess, KILLED);
    t_wait_child(pi, 10000);
}

/* --- the client dies ------------------------------------------------------------------ */

static void test_client_killed(void)
{
    const char *name = t_pipe_name("client-killed");
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, t_name("client-killed-ev"));
    PROCESS_INFORMATION pi;
    char args[512], b[8];
    DWORD n;

    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, NULL);
    T_OK(s != INVALID_HANDLE_VALUE, "server instance");
    snprintf(args, sizeof args, "child client %s %s", name, t_name("client-killed-ev"));
    T_OK(spawn_until(args, ev, &pi), "the client child connected and wrote");
    T_OK(ConnectNamedPipe(s, NULL) || GetLastError() == ERROR_PIPE_CONNECTED, "connected");
    T_OK(read_exact(s, b, 5) && memcmp(b, "hello", 5) == 0, "the child's data");
    T_OK(write_all(s, "unread", 6), "a write the child will never read");
    ULONGLONG t0 = GetTickCount64();
    TerminateProcess(pi.hProcess, KILLED);
    n = T_POISON;
    T_ERR(ReadFile(s, b, sizeof b, &n, NULL), ERROR_BROKEN_PIPE, "the server's read: ERROR_BROKEN_PIPE");
    T_OK(GetTickCount64() - t0 < 2000, "promptly");
    T_EQ(n, 0, "no bytes");
    T_ERR(WriteFile(s, "x", 1, &n, NULL), ERROR_NO_DATA, "the server's write: ERROR_NO_DATA");
    T_ERR(ConnectNamedPipe(s, NULL), ERROR_NO_DATA, "ConnectNamedPipe: ERROR_NO_DATA");
    T_EQ(t_wait_child(&pi, 10000), KILLED, "the child was killed");
    T_OK(DisconnectNamedPipe(s), "DisconnectNamedPipe");

    /* The instance serves the next client normally. */
    ResetEvent(ev);
    snprintf(args, sizeof args, "child client %s %s", name, t_name("client-killed-ev"));
    T_OK(t_spawn(args, &pi), "another client child");
    T_OK(ConnectNamedPipe(s, NULL) || GetLastError() == ERROR_PIPE_CONNECTED, "ConnectNamedPipe");
    T_OK(read_exact(s, b, 5) && memcmp(b, "hello", 5) == 0, "its data");
    kill_child(&pi);
    T_ERR(ReadFile(s, b, sizeof b, &n, NULL), ERROR_BROKEN_PIPE, "killed too");
    CloseHandle(s);

    /* A client killed while it was queued (before ConnectNamedPipe). */
    name = t_pipe_name("queued-killed");
    s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, NULL);
    ResetEvent(ev);
    snprintf(args, sizeof args, "child queued %s %s", name, t_name("client-killed-ev"));
    T_OK(spawn_until(args, ev, &pi), "a client child connected before ConnectNamedPipe");
    kill_child(&pi);
    T_ERR(ConnectNamedPipe(s, NULL), ERROR_NO_DATA, "then was killed: ConnectNamedPipe says ERROR_NO_DATA");
    T_ERR(ReadFile(s, b, sizeof b, &n, NULL), ERROR_BROKEN_PIPE, "and the read ERROR_BROKEN_PIPE");
    CloseHandle(s);
    CloseHandle(ev);
}

/* --- the server dies ------------------------------------------------------------------- */

static void test_server_killed(void)
{
    const char *name = t_pipe_name("server-killed");
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, t_name("server-killed-ev"));
    PROCESS_INFORMATION pi;
    char args[512], b[8];
    DWORD n;

    snprintf(args, sizeof args, "child server %s %s 3", name, t_name("server-killed-ev"));
    T_OK(spawn_until(args, ev, &pi), "a server child with three instances");
    HANDLE c = client_open(name);
    T_OK(c != INVALID_HANDLE_VALUE, "connect to it");
    T_OK(read_exact(c, b, 2) && memcmp(b, "hi", 2) == 0, "it talks");
    T_OK(write_all(c, "unread", 6), "a write the server will never read");
    HANDLE other = client_open(name);
    T_OK(other != INVALID_HANDLE_VALUE, "a second client on another instance");
    ULONGLONG t0 = GetTickCount64();
    TerminateProcess(pi.hProcess, KILLED);
    n = T_POISON;
    T_ERR(ReadFile(c, b, sizeof b, &n, NULL), ERROR_BROKEN_PIPE, "the client's read: ERROR_BROKEN_PIPE");
    T_OK(GetTickCount64() - t0 < 2000, "promptly");
    T_ERR(WriteFile(c, "x", 1, &n, NULL), ERROR_NO_DATA, "the client's write: ERROR_NO_DATA");
    T_ERR(ReadFile(other, b, sizeof b, &n, NULL), ERROR_BROKEN_PIPE, "the other client's read too");
    T_EQ(t_wait_child(&pi, 10000), KILLED, "the child was killed");

    /* The name is gone although our client handles still refer to it. */
    T_ERR(client_open(name) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND, "CreateFile: ERROR_FILE_NOT_FOUND");
    T_ERR(WaitNamedPipeA(name, 100), ERROR_FILE_NOT_FOUND, "WaitNamedPipe: ERROR_FILE_NOT_FOUND");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_INBOUND | FILE_FLAG_FIRST_PIPE_INSTANCE, PIPE_TYPE_BYTE, 1, 4096, 4096, 0,
                                NULL);
    T_OK(s != INVALID_HANDLE_VALUE, "a new FILE_FLAG_FIRST_PIPE_INSTANCE pipe of that name (1 instance, inbound)");
    T_ERR(CreateNamedPipeA(name, PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, NULL) != INVALID_HANDLE_VALUE,
          ERROR_PIPE_BUSY, "its own limit holds: the dead server's instances do not count, ours does");
    HANDLE c2 = CreateFileA(name, GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    T_OK(c2 != INVALID_HANDLE_VALUE, "a client of the new pipe");
    T_OK(write_all(c2, "fresh", 5) && read_exact(s, b, 5) && memcmp(b, "fresh", 5) == 0, "data flows");
    T_ERR(ReadFile(c, b, sizeof b, &n, NULL), ERROR_BROKEN_PIPE, "the old client end stays broken");
    CloseHandle(c2);
    CloseHandle(s);
    CloseHandle(c);
    CloseHandle(other);
    T_ERR(client_open(name) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND, "all closed: gone");
    CloseHandle(ev);
}

/* --- message pipes ---------------------------------------------------------------------- */

/* The pipe's name is free again: a new first instance can be made. */
static BOOL name_free(const char *name)
{
    HANDLE h = msg_pipe(name);
    if (h == INVALID_HANDLE_VALUE)
        return FALSE;
    CloseHandle(h);
    return TRUE;
}

static void test_killed_mid_message(void)
{
    const char *name = t_pipe_name("mid-message");
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, t_name("mid-message-ev"));
    PROCESS_INFORMATION pi;
    char args[512], *buf = malloc(65536);
    DWORD n, mode = PIPE_READMODE_MESSAGE;

    snprintf(args, sizeof args, "child msgwriter %s %s", name, t_name("mid-message-ev"));
    T_OK(t_spawn(args, &pi), "a server child");
    HANDLE c = INVALID_HANDLE_VALUE;
    for (int i = 0; i < 1000 && c == INVALID_HANDLE_VALUE; i++) {
        c = client_open(name);
        if (c == INVALID_HANDLE_VALUE)
            WaitNamedPipeA(name, 20); /* the child may not have created it yet */
    }
    T_OK(c != INVALID_HANDLE_VALUE, "connect to it");
    T_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL), "message read mode");
    T_EQ(WaitForSingleObject(ev, 10000), WAIT_OBJECT_0, "the child starts a 4 MiB message");
    n = T_POISON;
    T_ERR(ReadFile(c, buf, 65536, &n, NULL), ERROR_MORE_DATA, "the first 64 KiB of it");
    T_EQ(n, 65536, "64 KiB");
    ULONGLONG t0 = GetTickCount64();
    TerminateProcess(pi.hProcess, KILLED);
    T_EQ(t_wait_child(&pi, 10000), KILLED, "the writer is killed mid-message");
    DWORD err, reads = 0;
    do {
        n = T_POISON;
        ReadFile(c, buf, 65536, &n, NULL);
        err = GetLastError();
        reads++;
    } while (err == ERROR_MORE_DATA && reads < 1000);
    T_EQ(err, ERROR_BROKEN_PIPE, "reading on: what had arrived, then ERROR_BROKEN_PIPE");
    T_EQ(n, 0, "the broken read has no bytes");
    T_OK(GetTickCount64() - t0 < 2000, "promptly");
    T_ERR(WriteFile(c, "x", 1, &n, NULL), ERROR_NO_DATA, "writes: ERROR_NO_DATA");
    DWORD avail;
    T_ERR(PeekNamedPipe(c, NULL, 0, NULL, &avail, NULL), ERROR_BROKEN_PIPE, "peek: ERROR_BROKEN_PIPE");
    T_OK(name_free(name), "the name is free: FILE_FLAG_FIRST_PIPE_INSTANCE succeeds");
    CloseHandle(c);
    CloseHandle(ev);
    free(buf);
}

static void test_killed_in_connect(void)
{
    const char *name = t_pipe_name("in-connect");
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, t_name("in-connect-ev"));
    PROCESS_INFORMATION pi;
    char args[512];
    snprintf(args, sizeof args, "child connecting %s %s", name, t_name("in-connect-ev"));
    T_OK(spawn_until(args, ev, &pi), "a server child waits in ConnectNamedPipe");
    T_OK(WaitNamedPipeA(name, 5000), "its instance is listening");
    kill_child(&pi);
    T_ERR(WaitNamedPipeA(name, 100), ERROR_FILE_NOT_FOUND, "killed: the pipe is gone");
    T_ERR(client_open(name) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND, "CreateFile: ERROR_FILE_NOT_FOUND");
    T_OK(name_free(name), "FILE_FLAG_FIRST_PIPE_INSTANCE succeeds");
    CloseHandle(ev);
}

struct transact_arg {
    HANDLE h;
    BOOL ok;
    DWORD err, n;
};

static DWORD WINAPI transact_thread(LPVOID p)
{
    struct transact_arg *a = p;
    char rep[64];
    a->ok = TransactNamedPipe(a->h, "request", 7, rep, sizeof rep, &a->n, NULL);
    a->err = GetLastError();
    return 0;
}

static void test_killed_in_transact(void)
{
    /* The server dies while our transaction waits for its answer. */
    const char *name = t_pipe_name("transact-server");
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, t_name("transact-ev"));
    PROCESS_INFORMATION pi;
    char args[512], req[64];
    DWORD mode = PIPE_READMODE_MESSAGE, n;
    snprintf(args, sizeof args, "child mute %s %s", name, t_name("transact-ev"));
    T_OK(spawn_until(args, ev, &pi), "a server child that never answers");
    HANDLE c = client_open(name);
    T_OK(c != INVALID_HANDLE_VALUE && SetNamedPipeHandleState(c, &mode, NULL, NULL), "a message-mode client");
    struct transact_arg a = {.h = c};
    HANDLE t = CreateThread(NULL, 0, transact_thread, &a, 0, NULL);
    T_EQ(WaitForSingleObject(t, 200), WAIT_TIMEOUT, "TransactNamedPipe waits for the answer");
    TerminateProcess(pi.hProcess, KILLED);
    T_EQ(WaitForSingleObject(t, 2000), WAIT_OBJECT_0, "the server killed: it returns promptly");
    CloseHandle(t);
    T_OK(!a.ok && a.err == ERROR_BROKEN_PIPE, "with ERROR_BROKEN_PIPE");
    T_EQ(t_wait_child(&pi, 10000), KILLED, "the child was killed");
    T_OK(name_free(name), "its name is free");
    CloseHandle(c);

    /* The client dies while it waits for our answer. */
    name = t_pipe_name("transact-client");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1, 4096, 4096, 0,
                                NULL);
    snprintf(args, sizeof args, "child transactor %s", name);
    T_OK(t_spawn(args, &pi), "a client child that transacts");
    T_OK(ConnectNamedPipe(s, NULL) || GetLastError() == ERROR_PIPE_CONNECTED, "it connects");
    T_OK(ReadFile(s, req, sizeof req, &n, NULL) && n == 7 && memcmp(req, "request", 7) == 0, "its request");
    TerminateProcess(pi.hProcess, KILLED);
    T_EQ(t_wait_child(&pi, 10000), KILLED, "killed before the answer");
    T_ERR(WriteFile(s, "answer", 6, &n, NULL), ERROR_NO_DATA, "the answer: ERROR_NO_DATA");
    T_ERR(ReadFile(s, req, sizeof req, &n, NULL), ERROR_BROKEN_PIPE, "a read: ERROR_BROKEN_PIPE");
    T_OK(DisconnectNamedPipe(s), "DisconnectNamedPipe");
    HANDLE t2 = CreateThread(NULL, 0, (LPTHREAD_START_ROUTINE)connect_thread, s, 0, NULL);
    T_OK(WaitNamedPipeA(name, 5000), "the instance listens again");
    c = client_open(name);
    T_OK(c != INVALID_HANDLE_VALUE, "a new client");
    T_EQ(WaitForSingleObject(t2, 5000), WAIT_OBJECT_0, "is connected");
    CloseHandle(t2);
    T_OK(WriteFile(c, "new", 3, &n, NULL) && ReadFile(s, req, sizeof req, &n, NULL) && n == 3, "and talks");
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(ev);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return run_child(argc, argv);
    test_client_killed();
    test_server_killed();
    test_killed_mid_message();
    test_killed_in_connect();
    test_killed_in_transact();
    return t_done();
}
