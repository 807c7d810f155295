/* SPDX-License-Identifier: MIT */
/* Named pipes when the other end's process dies (TerminateProcess, which is
 * SIGKILL here): the survivor's reads end promptly with ERROR_BROKEN_PIPE,
 * writes fail with ERROR_NO_DATA, a dead server's name disappears and can
 * be created afresh, a dead server's instances no longer count against
 * nMaxInstances, a client killed before ConnectNamedPipe leaves
 * ERROR_NO_DATA behind. Children are this binary re-run with
 * argv[1] == "child"; the interesting step is signalled with named events. */
#include "test.h"

/* Child exit codes (when a child is not killed). */
#define C_OPEN 10
#define C_WRITE 11
#define C_EVENT 12
#define C_CREATE 13
#define C_CONNECT 14
#define C_ARGS 15

#define KILLED 9

static const char *pipe_name(const char *base)
{
    static char buf[8][160];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, 160, "\\\\.\\pipe\\%s", t_name(base));
    return b;
}

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

static int run_child(int argc, char **argv)
{
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

static void kill_child(PROCESS_INFORMATION *pi)
{
    TerminateProcess(pi->hProcess, KILLED);
    t_wait_child(pi, 10000);
}

/* --- the client dies ------------------------------------------------------------------ */

static void test_client_killed(void)
{
    const char *name = pipe_name("client-killed");
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
    name = pipe_name("queued-killed");
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
    const char *name = pipe_name("server-killed");
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

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return run_child(argc, argv);
    test_client_killed();
    test_server_killed();
    return t_done();
}
