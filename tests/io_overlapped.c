/* SPDX-License-Identifier: MIT */
/* Overlapped I/O on named pipes: pending reads completed by another
 * process's write, overlapped ConnectNamedPipe (pending, then a client;
 * ERROR_PIPE_CONNECTED when one came first), the OVERLAPPED's state at each
 * step (Internal, InternalHigh, the event, HasOverlappedIoCompleted),
 * GetOverlappedResult(Ex) on the event and on the handle, time-outs and
 * alertable waits, CancelIo/CancelIoEx, ReadFileEx/WriteFileEx completion
 * routines, request order, completion ports fed by pipes (keys, failed I/O,
 * a handle closed with a read pending), and an OVERLAPPED on a synchronous
 * handle. The child ("child client <pipe> <event>") is this binary. */
#include "test.h"

#define NT_STATUS_SUCCESS 0x00000000u
#define NT_STATUS_CANCELLED 0xC0000120u
#define NT_STATUS_PIPE_BROKEN 0xC000014Bu

static HANDLE server_open(const char *name, DWORD flags)
{
    return CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | flags, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 4,
                            4096, 4096, 0, NULL);
}

static HANDLE client_open(const char *name, DWORD flags)
{
    return CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, flags, NULL);
}

static void ov_init(OVERLAPPED *ov, HANDLE ev)
{
    memset(ov, 0, sizeof *ov);
    ov->hEvent = ev;
}

/* --- the child: a client in another process ------------------------------------ */

static int child_client(const char *name, const char *go_name)
{
    HANDLE go = OpenEventA(SYNCHRONIZE, FALSE, go_name);
    HANDLE h = client_open(name, 0);
    char buf[32];
    DWORD n;
    if (!go || h == INVALID_HANDLE_VALUE)
        return 10;
    if (WaitForSingleObject(go, 10000) != WAIT_OBJECT_0)
        return 11;
    if (!WriteFile(h, "from child", 10, &n, NULL) || n != 10)
        return 12;
    if (!ReadFile(h, buf, sizeof buf, &n, NULL) || n != 5 || memcmp(buf, "reply", 5) != 0)
        return 13;
    CloseHandle(h);
    return 0;
}

/* --- cross-process: connect, pending read, write back ----------------------------- */

static void test_cross_process(void)
{
    const char *name = t_pipe_name("xproc");
    HANDLE s = server_open(name, FILE_FLAG_OVERLAPPED);
    HANDLE ev = CreateEventA(NULL, TRUE, TRUE, NULL), go = CreateEventA(NULL, TRUE, FALSE, t_name("xproc-go"));
    OVERLAPPED ov;
    PROCESS_INFORMATION pi;
    char args[400], buf[64];
    DWORD n;

    T_OK(s != INVALID_HANDLE_VALUE, "CreateNamedPipe with FILE_FLAG_OVERLAPPED");
    ov_init(&ov, ev);
    SetLastError(T_POISON);
    T_ERR(ConnectNamedPipe(s, &ov), ERROR_IO_PENDING, "overlapped ConnectNamedPipe with no client: pending");
    T_EQ((DWORD)ov.Internal, STATUS_PENDING, "Internal = STATUS_PENDING");
    T_OK(!HasOverlappedIoCompleted(&ov), "HasOverlappedIoCompleted: not yet");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT, "the (set) event was reset when the request started");
    n = T_POISON;
    T_ERR(GetOverlappedResult(s, &ov, &n, FALSE), ERROR_IO_INCOMPLETE, "GetOverlappedResult(no wait): incomplete");

    snprintf(args, sizeof args, "child client %s %s", name, t_name("xproc-go"));
    T_OK(t_spawn(args, &pi), "spawn a client process");
    T_EQ(WaitForSingleObject(ev, 10000), WAIT_OBJECT_0, "the client connects: the event is set");
    T_OK(HasOverlappedIoCompleted(&ov), "HasOverlappedIoCompleted");
    T_OK(GetOverlappedResult(s, &ov, &n, TRUE), "GetOverlappedResult: connected");
    T_EQ((DWORD)ov.Internal, NT_STATUS_SUCCESS, "Internal = STATUS_SUCCESS");

    ov_init(&ov, ev);
    ov.InternalHigh = T_POISON;
    memset(buf, 0, sizeof buf);
    n = T_POISON;
    T_ERR(ReadFile(s, buf, sizeof buf, &n, &ov), ERROR_IO_PENDING, "ReadFile with nothing sent yet: pending");
    T_EQ(n, 0, "the count is 0 while pending");
    T_EQ((DWORD)ov.Internal, STATUS_PENDING, "Internal = STATUS_PENDING");
    T_EQ(ov.InternalHigh, T_POISON, "InternalHigh untouched while pending (as Windows)");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT, "event not set");
    T_ERR(GetOverlappedResultEx(s, &ov, &n, 0, FALSE), ERROR_IO_INCOMPLETE, "GetOverlappedResultEx(0 ms)");
    T_ERR(GetOverlappedResultEx(s, &ov, &n, 30, FALSE), WAIT_TIMEOUT, "GetOverlappedResultEx(30 ms): WAIT_TIMEOUT");

    SetEvent(go); /* the child writes now */
    T_EQ(WaitForSingleObject(ev, 10000), WAIT_OBJECT_0, "the other process's write completes the read");
    n = T_POISON;
    T_OK(GetOverlappedResult(s, &ov, &n, FALSE), "GetOverlappedResult");
    T_EQ(n, 10, "10 bytes");
    T_STR(buf, "from child", "the data");
    T_EQ((DWORD)ov.Internal, NT_STATUS_SUCCESS, "Internal = STATUS_SUCCESS");
    T_EQ(ov.InternalHigh, 10, "InternalHigh = 10");

    ov_init(&ov, ev);
    BOOL ok = WriteFile(s, "reply", 5, &n, &ov);
    T_OK(ok || GetLastError() == ERROR_IO_PENDING, "overlapped WriteFile");
    T_OK(GetOverlappedResult(s, &ov, &n, TRUE) && n == 5, "5 bytes written");
    T_EQ(t_wait_child(&pi, 10000), 0, "the child read the reply and exited");

    /* The client is gone: a read fails, at once or when it completes. */
    ov_init(&ov, ev);
    ok = ReadFile(s, buf, sizeof buf, &n, &ov);
    DWORD err = GetLastError();
    if (!ok && err == ERROR_IO_PENDING) {
        T_ERR(GetOverlappedResult(s, &ov, &n, TRUE), ERROR_BROKEN_PIPE, "pending read: ERROR_BROKEN_PIPE");
        T_EQ((DWORD)ov.Internal, NT_STATUS_PIPE_BROKEN, "Internal = STATUS_PIPE_BROKEN");
    } else {
        T_OK(!ok && err == ERROR_BROKEN_PIPE, "read after the client left: ERROR_BROKEN_PIPE");
        T_EQ((DWORD)ov.Internal, STATUS_PENDING, "a request failing at once leaves Internal pending");
        T_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT, "and signals nothing");
    }
    CloseHandle(s);
    CloseHandle(ev);
    CloseHandle(go);
}

/* --- ConnectNamedPipe after the client came ---------------------------------------- */

static void test_connected_first(void)
{
    const char *name = t_pipe_name("first");
    HANDLE s = server_open(name, FILE_FLAG_OVERLAPPED), ev = CreateEventA(NULL, TRUE, TRUE, NULL);
    HANDLE c = client_open(name, FILE_FLAG_OVERLAPPED);
    OVERLAPPED ov;
    T_OK(c != INVALID_HANDLE_VALUE, "an overlapped client");
    ov_init(&ov, ev);
    T_ERR(ConnectNamedPipe(s, &ov), ERROR_PIPE_CONNECTED, "client first: ERROR_PIPE_CONNECTED");
    T_EQ((DWORD)ov.Internal, STATUS_PENDING, "Internal stays STATUS_PENDING (an immediate failure)");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT, "the event was reset and not set again");
    DWORD n;
    T_OK(WriteFile(c, "ok", 2, &n, NULL) && n == 2, "the connection works");
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(ev);
}

/* --- waits on the handle, cancellation ----------------------------------------------- */

struct writer {
    HANDLE h;
    const char *data;
    DWORD delay;
};

static DWORD WINAPI write_later(LPVOID arg)
{
    struct writer *w = arg;
    DWORD n;
    Sleep(w->delay);
    return WriteFile(w->h, w->data, (DWORD)strlen(w->data), &n, NULL) ? 0 : 1;
}

struct canceller {
    HANDLE h;
    BOOL ok;
    DWORD err;
};

static DWORD WINAPI cancel_from_thread(LPVOID arg)
{
    struct canceller *c = arg;
    c->ok = CancelIo(c->h);
    c->err = GetLastError();
    return 0;
}

static int apc_runs;
static void CALLBACK count_apc(ULONG_PTR arg)
{
    apc_runs++;
}

static void test_wait_and_cancel(void)
{
    const char *name = t_pipe_name("cancel");
    HANDLE s = server_open(name, FILE_FLAG_OVERLAPPED), c = client_open(name, 0);
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    OVERLAPPED ov, ov2;
    char buf[32];
    DWORD n;

    /* No event: GetOverlappedResult waits on the handle. */
    ov_init(&ov, NULL);
    memset(buf, 0, sizeof buf);
    T_ERR(ReadFile(s, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING, "a read without an event: pending");
    struct writer w = {c, "late", 20};
    HANDLE t = CreateThread(NULL, 0, write_later, &w, 0, NULL);
    n = T_POISON;
    T_OK(GetOverlappedResult(s, &ov, &n, TRUE), "GetOverlappedResult waits on the handle");
    T_OK(n == 4 && strcmp(buf, "late") == 0, "and gets the data");
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);

    /* GetOverlappedResultEx, alertable: an APC ends the wait. */
    ov_init(&ov, ev);
    T_ERR(ReadFile(s, buf, sizeof buf, &n, &ov), ERROR_IO_PENDING, "another pending read");
    apc_runs = 0;
    QueueUserAPC(count_apc, GetCurrentThread(), 0);
    T_ERR(GetOverlappedResultEx(s, &ov, &n, 5000, TRUE), WAIT_IO_COMPLETION,
          "GetOverlappedResultEx(alertable) with an APC: WAIT_IO_COMPLETION");
    T_EQ(apc_runs, 1, "the APC ran");

    /* CancelIo from another thread leaves our request alone. */
    struct canceller k = {.h = s};
    t = CreateThread(NULL, 0, cancel_from_thread, &k, 0, NULL);
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
    T_OK(k.ok, "CancelIo from another thread succeeds");
    T_ERR(GetOverlappedResult(s, &ov, &n, FALSE), ERROR_IO_INCOMPLETE, "but cancels only that thread's requests");

    /* CancelIoEx of one OVERLAPPED. */
    ov_init(&ov2, NULL);
    T_ERR(CancelIoEx(s, &ov2), ERROR_NOT_FOUND, "CancelIoEx of an OVERLAPPED never used: ERROR_NOT_FOUND");
    T_OK(CancelIoEx(s, &ov), "CancelIoEx(&ov)");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0, "the cancelled request's event is set");
    T_ERR(GetOverlappedResult(s, &ov, &n, FALSE), ERROR_OPERATION_ABORTED, "it failed: ERROR_OPERATION_ABORTED");
    T_EQ((DWORD)ov.Internal, NT_STATUS_CANCELLED, "Internal = STATUS_CANCELLED");
    T_EQ(n, 0, "0 bytes");
    T_ERR(CancelIoEx(s, &ov), ERROR_NOT_FOUND, "cancelling it again: ERROR_NOT_FOUND");

    /* CancelIo from the issuing thread. */
    ov_init(&ov, ev);
    T_ERR(ReadFile(s, buf, sizeof buf, &n, &ov), ERROR_IO_PENDING, "a pending read");
    T_OK(CancelIo(s), "CancelIo from the issuing thread");
    T_ERR(GetOverlappedResult(s, &ov, &n, TRUE), ERROR_OPERATION_ABORTED, "cancelled");

    /* The data written after a cancel goes to the next read. */
    T_OK(WriteFile(c, "next", 4, &n, NULL), "write after the cancels");
    ov_init(&ov, ev);
    memset(buf, 0, sizeof buf);
    BOOL ok = ReadFile(s, buf, sizeof buf, &n, &ov);
    T_OK((ok || GetLastError() == ERROR_IO_PENDING) && GetOverlappedResult(s, &ov, &n, TRUE) && n == 4 &&
             strcmp(buf, "next") == 0,
         "a cancelled read took nothing");

    T_ERR(CancelIoEx(s, NULL), ERROR_NOT_FOUND, "CancelIoEx(NULL) with nothing pending");
    T_ERR(CancelIoEx(ev, NULL), ERROR_INVALID_HANDLE, "CancelIoEx on an event");
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(ev);
}

/* --- order ----------------------------------------------------------------------------- */

static void test_order(void)
{
    const char *name = t_pipe_name("order");
    HANDLE s = server_open(name, FILE_FLAG_OVERLAPPED), c = client_open(name, 0);
    HANDLE e1 = CreateEventA(NULL, TRUE, FALSE, NULL), e2 = CreateEventA(NULL, TRUE, FALSE, NULL);
    OVERLAPPED o1, o2;
    char b1[5] = {0}, b2[5] = {0};
    DWORD n;
    ov_init(&o1, e1);
    ov_init(&o2, e2);
    T_ERR(ReadFile(s, b1, 4, NULL, &o1), ERROR_IO_PENDING, "read #1 pending");
    T_ERR(ReadFile(s, b2, 4, NULL, &o2), ERROR_IO_PENDING, "read #2 queued behind it");
    T_OK(WriteFile(c, "AAAABBBB", 8, &n, NULL), "8 bytes in one write");
    T_OK(GetOverlappedResult(s, &o2, &n, TRUE) && GetOverlappedResult(s, &o1, &n, TRUE), "both complete");
    T_STR(b1, "AAAA", "read #1 got the first 4 bytes");
    T_STR(b2, "BBBB", "read #2 the next 4");
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(e1);
    CloseHandle(e2);
}

/* --- a write that must wait for the reader ------------------------------------------ */

struct drain_arg {
    HANDLE h;
    DWORD want, got;
};

static DWORD WINAPI drain_all(LPVOID arg)
{
    struct drain_arg *d = arg;
    static char buf[65536];
    DWORD n;
    while (d->got < d->want && ReadFile(d->h, buf, sizeof buf, &n, NULL))
        d->got += n;
    return 0;
}

static void test_pending_write(void)
{
    const char *name = t_pipe_name("wfull");
    HANDLE s = server_open(name, FILE_FLAG_OVERLAPPED), c = client_open(name, 0);
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    static char chunk[65536];
    OVERLAPPED ov;
    DWORD n, total = 0;
    int i;
    BOOL pending = FALSE;
    for (i = 0; i < 256 && !pending; i++) {
        ov_init(&ov, ev);
        if (WriteFile(s, chunk, sizeof chunk, &n, &ov))
            total += n;
        else
            pending = GetLastError() == ERROR_IO_PENDING;
    }
    T_OK(pending, "overlapped writes until the pipe is full: the last one pends");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT, "its event is not set");
    struct drain_arg d = {c, total + (DWORD)sizeof chunk, 0};
    HANDLE t = CreateThread(NULL, 0, drain_all, &d, 0, NULL);
    n = T_POISON;
    T_OK(GetOverlappedResult(s, &ov, &n, TRUE), "the reader drains the pipe: the write completes");
    T_EQ(n, sizeof chunk, "with its whole count");
    T_EQ(WaitForSingleObject(t, 10000), WAIT_OBJECT_0, "the reader got everything");
    T_EQ(d.got, d.want, "every byte, in one stream");
    CloseHandle(t);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(ev);
}

/* --- ReadFileEx / WriteFileEx ----------------------------------------------------------- */

static int routine_calls;
static DWORD routine_err, routine_bytes;
static LPOVERLAPPED routine_ov;

static void WINAPI routine(DWORD err, DWORD bytes, LPOVERLAPPED ov)
{
    routine_calls++;
    routine_err = err;
    routine_bytes = bytes;
    routine_ov = ov;
}

static void test_completion_routines(void)
{
    const char *name = t_pipe_name("ex");
    HANDLE s = server_open(name, FILE_FLAG_OVERLAPPED), c = client_open(name, 0);
    HANDLE ev = CreateEventA(NULL, TRUE, TRUE, NULL);
    OVERLAPPED ov;
    char buf[32] = {0};
    DWORD n;

    ov_init(&ov, ev);
    routine_calls = 0;
    T_OK(ReadFileEx(s, buf, sizeof buf, &ov, routine), "ReadFileEx with nothing to read: TRUE");
    T_EQ((DWORD)ov.Internal, STATUS_PENDING, "pending");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0, "hEvent is the caller's: left alone");
    T_OK(WriteFile(c, "apc!", 4, &n, NULL), "the client writes");
    T_EQ(SleepEx(0, FALSE), 0, "a non-alertable sleep");
    T_EQ(routine_calls, 0, "runs no completion routine");
    T_EQ(SleepEx(5000, TRUE), WAIT_IO_COMPLETION, "SleepEx(alertable): WAIT_IO_COMPLETION");
    T_EQ(routine_calls, 1, "the routine ran once, in this thread");
    T_OK(routine_err == 0 && routine_bytes == 4 && routine_ov == &ov, "with (0, 4, &ov)");
    T_STR(buf, "apc!", "the data");

    routine_calls = 0;
    T_OK(WriteFileEx(s, "back", 4, &ov, routine), "WriteFileEx that completes at once: TRUE");
    T_EQ(routine_calls, 0, "the routine waits for an alertable wait");
    T_EQ(SleepEx(0, TRUE), WAIT_IO_COMPLETION, "SleepEx(0, TRUE) runs it");
    T_OK(routine_calls == 1 && routine_err == 0 && routine_bytes == 4, "(0, 4)");

    /* A routine for a cancelled request gets ERROR_OPERATION_ABORTED. */
    routine_calls = 0;
    T_OK(ReadFileEx(s, buf, sizeof buf, &ov, routine), "another ReadFileEx");
    T_OK(CancelIoEx(s, &ov), "cancel it");
    T_EQ(SleepEx(5000, TRUE), WAIT_IO_COMPLETION, "alertable sleep");
    T_OK(routine_calls == 1 && routine_err == ERROR_OPERATION_ABORTED, "routine: ERROR_OPERATION_ABORTED");

    CloseHandle(c);
    routine_calls = 0;
    T_ERR(ReadFileEx(s, buf, sizeof buf, &ov, routine), ERROR_BROKEN_PIPE, "ReadFileEx failing at once: FALSE");
    SleepEx(0, TRUE);
    T_EQ(routine_calls, 0, "and no routine runs");
    CloseHandle(s);
    CloseHandle(ev);
}

/* --- completion ports fed by pipes ---------------------------------------------------- */

static void test_port(void)
{
    const char *name = t_pipe_name("port");
    HANDLE s = server_open(name, FILE_FLAG_OVERLAPPED), c = client_open(name, 0);
    HANDLE port = CreateIoCompletionPort(s, NULL, 0xA1, 1);
    OVERLAPPED ov;
    char buf[32];
    DWORD n;
    ULONG_PTR key;
    LPOVERLAPPED po;

    T_OK(port != NULL, "a port for the server end");
    ov_init(&ov, NULL);
    T_ERR(ReadFileEx(s, buf, sizeof buf, &ov, routine), ERROR_INVALID_PARAMETER,
          "no completion routine on a handle associated with a port");
    ov_init(&ov, NULL);
    T_ERR(ReadFile(s, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING, "pending read");
    T_ERR(GetQueuedCompletionStatus(port, &n, &key, &po, 0), WAIT_TIMEOUT, "no packet yet");
    T_OK(WriteFile(c, "packet", 6, &n, NULL), "the client writes");
    n = T_POISON, key = 0, po = NULL;
    T_OK(GetQueuedCompletionStatus(port, &n, &key, &po, 5000), "the completion arrives as a packet");
    T_OK(n == 6 && key == 0xA1 && po == &ov, "6 bytes, our key and OVERLAPPED");

    ov_init(&ov, NULL);
    T_ERR(ReadFile(s, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING, "pending read");
    CloseHandle(c);
    n = T_POISON, key = 0, po = NULL;
    T_ERR(GetQueuedCompletionStatus(port, &n, &key, &po, 5000), ERROR_BROKEN_PIPE,
          "the client leaves: a failed-I/O packet, FALSE with ERROR_BROKEN_PIPE");
    T_OK(po == &ov && key == 0xA1 && n == 0, "*lpOverlapped is the request's");

    /* CancelIoEx: the cancelled request still reports to the port. */
    HANDLE s2 = server_open(t_pipe_name("port2"), FILE_FLAG_OVERLAPPED);
    T_OK(CreateIoCompletionPort(s2, port, 0xA2, 0) == port, "a second pipe on the same port");
    ov_init(&ov, NULL);
    T_ERR(ConnectNamedPipe(s2, &ov), ERROR_IO_PENDING, "a pending connect");
    T_OK(CancelIoEx(s2, NULL), "CancelIoEx(NULL)");
    T_ERR(GetQueuedCompletionStatus(port, &n, &key, &po, 5000), ERROR_OPERATION_ABORTED,
          "the cancelled connect's packet: ERROR_OPERATION_ABORTED");
    T_OK(key == 0xA2 && po == &ov, "with its key");

    /* Closing the handle ends its pending I/O (Windows' pipe file system
     * completes a read with STATUS_PIPE_BROKEN). */
    HANDLE c2 = client_open(t_pipe_name("port2"), 0);
    T_OK(c2 != INVALID_HANDLE_VALUE, "a client for it");
    ov_init(&ov, NULL);
    T_ERR(ReadFile(s2, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING, "a pending read");
    T_OK(CloseHandle(s2), "close the pipe with it pending");
    T_ERR(GetQueuedCompletionStatus(port, &n, &key, &po, 5000), ERROR_BROKEN_PIPE,
          "its packet: ERROR_BROKEN_PIPE");
    T_OK(key == 0xA2 && po == &ov, "with its key");
    T_EQ((DWORD)ov.Internal, NT_STATUS_PIPE_BROKEN, "Internal = STATUS_PIPE_BROKEN");

    CloseHandle(c2);
    CloseHandle(s);
    CloseHandle(port);
}

/* --- an OVERLAPPED on a synchronous handle -------------------------------------------- */

static void test_sync_handle(void)
{
    const char *name = t_pipe_name("sync");
    HANDLE s = server_open(name, 0), c = client_open(name, 0), ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    OVERLAPPED ov;
    char buf[16] = {0};
    DWORD n = T_POISON;
    struct writer w = {c, "sync", 20};
    HANDLE t = CreateThread(NULL, 0, write_later, &w, 0, NULL);
    ov_init(&ov, ev);
    T_OK(ReadFile(s, buf, sizeof buf, &n, &ov), "a synchronous handle waits, even with an OVERLAPPED");
    T_OK(n == 4 && strcmp(buf, "sync") == 0, "and returns the data");
    T_EQ((DWORD)ov.Internal, NT_STATUS_SUCCESS, "the OVERLAPPED is complete");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0, "its event set");
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
    CloseHandle(c);
    T_ERR(ReadFile(s, buf, sizeof buf, &n, &ov), ERROR_BROKEN_PIPE, "a failure");
    T_EQ((DWORD)ov.Internal, STATUS_PENDING, "leaves the OVERLAPPED alone, on a synchronous handle too");
    CloseHandle(s);
    CloseHandle(ev);
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "child") == 0 && strcmp(argv[2], "client") == 0)
        return child_client(argv[3], argv[4]);
    test_cross_process();
    test_connected_first();
    test_wait_and_cancel();
    test_order();
    test_pending_write();
    test_completion_routines();
    test_port();
    test_sync_handle();
    return t_done();
}
