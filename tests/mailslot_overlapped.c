/* SPDX-License-Identifier: MIT */
/* Overlapped reads on a mailslot's server handle that have to wait: pending
 * with ERROR_IO_PENDING, completed by a writer thread and by a writer
 * process (the event, GetOverlappedResult with and without one, the
 * OVERLAPPED's fields), a completion port's packet, ReadFileEx's routine in
 * an alertable SleepEx, CancelIoEx, a buffer too small for the message that
 * arrives (ERROR_INSUFFICIENT_BUFFER, the message kept), several pending
 * reads completed in issue order, the read time-out applied to a pending
 * read (and SetMailslotInfo not changing it), the server handle closed
 * under a pending read. Children are this binary re-run with argv[1] ==
 * "child". */
#include "test.h"

#include <stdint.h>

/* NTSTATUS values stored in OVERLAPPED.Internal. */
#define ST_SUCCESS 0x00000000u
#define ST_BUFFER_TOO_SMALL 0xC0000023u
#define ST_IO_TIMEOUT 0xC00000B5u
#define ST_CANCELLED 0xC0000120u

#define LONG_WAIT 10000

static const char *slot_name(const char *base)
{
    static char buf[8][160];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, 160, "\\\\.\\mailslot\\%s", t_name(base));
    return b;
}

static HANDLE client_open(const char *name)
{
    return CreateFileA(name, GENERIC_WRITE, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
}

static BOOL put(HANDLE h, const void *buf, DWORD len)
{
    DWORD n = T_POISON;
    return WriteFile(h, buf, len, &n, NULL) && n == len;
}

static BOOL info_of(HANDLE s, DWORD *next, DWORD *count)
{
    *next = *count = T_POISON;
    return GetMailslotInfo(s, NULL, next, count, NULL);
}

/* An OVERLAPPED with poisoned results and the given event. */
static void ov_init(OVERLAPPED *ov, HANDLE ev)
{
    memset(ov, 0, sizeof *ov);
    ov->Internal = T_POISON;
    ov->InternalHigh = T_POISON;
    ov->hEvent = ev;
}

/* ReadFile with an OVERLAPPED that must pend: FALSE, ERROR_IO_PENDING. */
static BOOL read_pends(HANDLE s, void *buf, DWORD len, OVERLAPPED *ov)
{
    DWORD n = T_POISON;
    SetLastError(0xdeadbeef);
    BOOL ok = ReadFile(s, buf, len, &n, ov);
    return !ok && GetLastError() == ERROR_IO_PENDING && n == 0;
}

/* --- a writer thread ---------------------------------------------------------------- */

struct writer {
    const char *name;
    const char *text;
};

static DWORD WINAPI writer_main(void *arg)
{
    struct writer *w = arg;
    HANDLE c = client_open(w->name);
    if (c == INVALID_HANDLE_VALUE)
        return 1;
    BOOL ok = put(c, w->text, (DWORD)strlen(w->text));
    CloseHandle(c);
    return ok ? 0 : 2;
}

static DWORD join(HANDLE t)
{
    DWORD code = T_POISON;
    if (WaitForSingleObject(t, LONG_WAIT) == WAIT_OBJECT_0)
        GetExitCodeThread(t, &code);
    CloseHandle(t);
    return code;
}

static void test_thread_writer(void)
{
    const char *name = slot_name("thread");
    char buf[64];
    DWORD n;
    OVERLAPPED ov;
    HANDLE s = CreateMailslotA(name, 0, MAILSLOT_WAIT_FOREVER, NULL);
    HANDLE ev = CreateEventA(NULL, TRUE, TRUE, NULL); /* set: the read must reset it */
    T_OK(s != INVALID_HANDLE_VALUE && ev, "a mailslot that waits forever, an event");

    memset(buf, 0, sizeof buf);
    ov_init(&ov, ev);
    T_OK(read_pends(s, buf, sizeof buf, &ov), "ReadFile on the empty mailslot: FALSE, ERROR_IO_PENDING");
    T_EQ(ov.Internal, STATUS_PENDING, "Internal is STATUS_PENDING");
    T_EQ(ov.InternalHigh, T_POISON, "InternalHigh untouched while pending");
    T_OK(!HasOverlappedIoCompleted(&ov), "HasOverlappedIoCompleted: no");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_TIMEOUT, "the event was reset at the call");
    n = T_POISON;
    T_ERR(GetOverlappedResult(s, &ov, &n, FALSE), ERROR_IO_INCOMPLETE, "GetOverlappedResult without waiting");

    struct writer w = {name, "from a thread"};
    HANDLE t = CreateThread(NULL, 0, writer_main, &w, 0, NULL);
    T_OK(t != NULL, "a writer thread starts");
    T_EQ(WaitForSingleObject(ev, LONG_WAIT), WAIT_OBJECT_0, "its message sets the event");
    T_EQ(join(t), 0, "the writer wrote");
    n = T_POISON;
    T_OK(GetOverlappedResult(s, &ov, &n, FALSE), "GetOverlappedResult: TRUE");
    T_EQ(n, strlen(w.text), "the message's length");
    T_OK(memcmp(buf, w.text, strlen(w.text)) == 0, "its bytes");
    T_EQ(ov.Internal, ST_SUCCESS, "Internal STATUS_SUCCESS");
    T_EQ(ov.InternalHigh, strlen(w.text), "InternalHigh the byte count");

    DWORD next, count;
    T_OK(info_of(s, &next, &count) && next == MAILSLOT_NO_MESSAGE && count == 0, "the message was taken");
    CloseHandle(ev);
    CloseHandle(s);
}

/* --- a writer process ---------------------------------------------------------------- */

static void test_process_writer(void)
{
    const char *name = slot_name("process");
    char buf[64], cmd[300];
    DWORD n;
    OVERLAPPED ov;
    PROCESS_INFORMATION pi;
    HANDLE s = CreateMailslotA(name, 0, MAILSLOT_WAIT_FOREVER, NULL);
    T_OK(s != INVALID_HANDLE_VALUE, "a mailslot");

    /* No event: GetOverlappedResult waits on the handle. */
    memset(buf, 0, sizeof buf);
    ov_init(&ov, NULL);
    T_OK(read_pends(s, buf, sizeof buf, &ov), "an overlapped read without an event pends");
    snprintf(cmd, sizeof cmd, "child write %s from-a-process", name);
    T_OK(t_spawn(cmd, &pi), "a child process writes");
    n = T_POISON;
    T_OK(GetOverlappedResult(s, &ov, &n, TRUE), "GetOverlappedResult(bWait) returns when its message arrives");
    T_EQ(n, strlen("from-a-process"), "the byte count");
    T_OK(memcmp(buf, "from-a-process", n) == 0, "the bytes");
    T_EQ(t_wait_child(&pi, LONG_WAIT), 0, "the child exits 0");
    CloseHandle(s);
}

/* --- a completion port ---------------------------------------------------------------- */

static void test_port(void)
{
    const char *name = slot_name("port");
    char buf[64];
    DWORD n;
    ULONG_PTR key;
    OVERLAPPED ov, *got;
    HANDLE s = CreateMailslotA(name, 0, MAILSLOT_WAIT_FOREVER, NULL);
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    T_OK(s != INVALID_HANDLE_VALUE && port, "a mailslot, a port");
    T_OK(CreateIoCompletionPort(s, port, 0x5107, 0) == port, "the server handle is associated with the port");

    ov_init(&ov, NULL);
    T_OK(read_pends(s, buf, sizeof buf, &ov), "an overlapped read pends");
    n = T_POISON;
    key = T_POISON;
    got = (OVERLAPPED *)(ULONG_PTR)T_POISON;
    T_ERR(GetQueuedCompletionStatus(port, &n, &key, &got, 0), WAIT_TIMEOUT, "no packet while it pends");
    T_OK(got == NULL, "and *lpOverlapped NULL");

    HANDLE c = client_open(name);
    T_OK(put(c, "packet", 6), "a client writes");
    n = T_POISON;
    key = T_POISON;
    got = NULL;
    T_OK(GetQueuedCompletionStatus(port, &n, &key, &got, LONG_WAIT), "a packet arrives");
    T_EQ(key, 0x5107, "with the handle's key");
    T_EQ(n, 6, "the byte count");
    T_OK(got == &ov, "and the request's OVERLAPPED");
    T_OK(memcmp(buf, "packet", 6) == 0, "the bytes are in the buffer");

    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(port);
}

/* --- ReadFileEx ------------------------------------------------------------------------ */

static struct {
    int calls;
    DWORD err, bytes;
    OVERLAPPED *ov;
} routine_seen;

static void WINAPI read_done(DWORD err, DWORD bytes, OVERLAPPED *ov)
{
    routine_seen.calls++;
    routine_seen.err = err;
    routine_seen.bytes = bytes;
    routine_seen.ov = ov;
}

static void test_read_ex(void)
{
    const char *name = slot_name("readex");
    char buf[64];
    OVERLAPPED ov;
    HANDLE s = CreateMailslotA(name, 0, MAILSLOT_WAIT_FOREVER, NULL);
    T_OK(s != INVALID_HANDLE_VALUE, "a mailslot");

    ov_init(&ov, NULL);
    memset(&routine_seen, 0, sizeof routine_seen);
    T_OK(ReadFileEx(s, buf, sizeof buf, &ov, read_done), "ReadFileEx on the empty mailslot: TRUE");
    T_EQ(ov.Internal, STATUS_PENDING, "pending");
    T_EQ(SleepEx(0, TRUE), 0, "an alertable SleepEx runs no routine yet");
    T_EQ(routine_seen.calls, 0, "the routine has not run");

    HANDLE c = client_open(name);
    T_OK(put(c, "apc", 3), "a client writes");
    T_EQ(SleepEx(LONG_WAIT, TRUE), WAIT_IO_COMPLETION, "SleepEx(alertable) ends with WAIT_IO_COMPLETION");
    T_EQ(routine_seen.calls, 1, "the routine ran once");
    T_EQ(routine_seen.err, 0, "with error 0");
    T_EQ(routine_seen.bytes, 3, "the byte count");
    T_OK(routine_seen.ov == &ov, "and the OVERLAPPED");
    T_OK(memcmp(buf, "apc", 3) == 0, "the bytes");
    CloseHandle(c);
    CloseHandle(s);
}

/* --- CancelIoEx -------------------------------------------------------------------------- */

static void test_cancel(void)
{
    const char *name = slot_name("cancel");
    char buf[64];
    DWORD n, next, count;
    OVERLAPPED ov;
    HANDLE s = CreateMailslotA(name, 0, MAILSLOT_WAIT_FOREVER, NULL);
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    T_OK(s != INVALID_HANDLE_VALUE && ev, "a mailslot, an event");

    ov_init(&ov, ev);
    T_OK(read_pends(s, buf, sizeof buf, &ov), "an overlapped read pends");
    T_OK(CancelIoEx(s, &ov), "CancelIoEx on it");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0, "the event is set when CancelIoEx returns");
    T_EQ(ov.Internal, ST_CANCELLED, "Internal STATUS_CANCELLED");
    n = T_POISON;
    T_ERR(GetOverlappedResult(s, &ov, &n, FALSE), ERROR_OPERATION_ABORTED, "GetOverlappedResult: ERROR_OPERATION_ABORTED");
    T_EQ(n, 0, "0 bytes");
    T_ERR(CancelIoEx(s, &ov), ERROR_NOT_FOUND, "CancelIoEx again: ERROR_NOT_FOUND");

    HANDLE c = client_open(name);
    T_OK(put(c, "kept", 4), "a message after the cancel");
    T_OK(info_of(s, &next, &count) && next == 4 && count == 1, "stays queued: the cancelled read took nothing");

    /* CancelIo (this thread's requests) ends one too. */
    n = T_POISON;
    T_OK(ReadFile(s, buf, sizeof buf, &n, NULL) && n == 4, "read it");
    ov_init(&ov, ev);
    T_OK(read_pends(s, buf, sizeof buf, &ov), "another pending read");
    T_OK(CancelIo(s), "CancelIo");
    T_EQ(ov.Internal, ST_CANCELLED, "it is cancelled");
    CloseHandle(c);
    CloseHandle(ev);
    CloseHandle(s);
}

/* --- a buffer too small for the message that arrives --------------------------------------- */

static void test_small_buffer(void)
{
    const char *name = slot_name("small");
    char small[4], big[64];
    DWORD n, next, count;
    OVERLAPPED ov;
    HANDLE s = CreateMailslotA(name, 0, MAILSLOT_WAIT_FOREVER, NULL);
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE c = client_open(name);
    T_OK(s != INVALID_HANDLE_VALUE && ev && c != INVALID_HANDLE_VALUE, "a mailslot, an event, a client");

    memset(small, 'x', sizeof small);
    ov_init(&ov, ev);
    T_OK(read_pends(s, small, sizeof small, &ov), "a pending read with a 4-byte buffer");
    T_OK(put(c, "ten bytes!", 10), "a 10-byte message arrives");
    T_EQ(WaitForSingleObject(ev, LONG_WAIT), WAIT_OBJECT_0, "the read completes");
    n = T_POISON;
    T_ERR(GetOverlappedResult(s, &ov, &n, FALSE), ERROR_INSUFFICIENT_BUFFER, "with ERROR_INSUFFICIENT_BUFFER");
    T_EQ(n, 0, "0 bytes");
    T_EQ(ov.Internal, ST_BUFFER_TOO_SMALL, "Internal STATUS_BUFFER_TOO_SMALL");
    T_OK(memcmp(small, "xxxx", 4) == 0, "nothing copied");
    T_OK(info_of(s, &next, &count) && next == 10 && count == 1, "the message stays queued");
    n = T_POISON;
    T_OK(ReadFile(s, big, sizeof big, &n, NULL) && n == 10 && memcmp(big, "ten bytes!", 10) == 0,
         "a big enough buffer gets it");
    CloseHandle(c);
    CloseHandle(ev);
    CloseHandle(s);
}

/* --- several pending reads ---------------------------------------------------------------- */

#define NREADS 4

static void test_order(void)
{
    const char *name = slot_name("order");
    char buf[NREADS][16], want[16];
    DWORD n;
    OVERLAPPED ov[NREADS];
    HANDLE ev[NREADS];
    HANDLE s = CreateMailslotA(name, 0, MAILSLOT_WAIT_FOREVER, NULL);
    HANDLE c = client_open(name);
    T_OK(s != INVALID_HANDLE_VALUE && c != INVALID_HANDLE_VALUE, "a mailslot, a client");

    BOOL all = TRUE;
    for (int i = 0; i < NREADS; i++) {
        ev[i] = CreateEventA(NULL, TRUE, FALSE, NULL);
        memset(buf[i], 0, sizeof buf[i]);
        ov_init(&ov[i], ev[i]);
        all &= read_pends(s, buf[i], sizeof buf[i], &ov[i]);
    }
    T_OK(all, "four overlapped reads pend");

    /* One message at a time: exactly the oldest pending read takes it. */
    for (int i = 0; i < NREADS; i++) {
        snprintf(want, sizeof want, "message %d", i);
        T_OK(put(c, want, (DWORD)strlen(want) + 1), "a message");
        T_EQ(WaitForSingleObject(ev[i], LONG_WAIT), WAIT_OBJECT_0, "completes the oldest pending read");
        for (int j = i + 1; j < NREADS; j++)
            T_EQ(WaitForSingleObject(ev[j], 0), WAIT_TIMEOUT, "and not a later one");
        n = T_POISON;
        T_OK(GetOverlappedResult(s, &ov[i], &n, FALSE) && n == strlen(want) + 1 && strcmp(buf[i], want) == 0,
             "with that message");
    }

    /* Messages written together go to the pending reads in issue order. */
    for (int i = 0; i < NREADS; i++) {
        ov_init(&ov[i], ev[i]);
        all &= read_pends(s, buf[i], sizeof buf[i], &ov[i]);
    }
    T_OK(all, "four more pend");
    for (int i = 0; i < NREADS; i++) {
        snprintf(want, sizeof want, "burst %d", i);
        put(c, want, (DWORD)strlen(want) + 1);
    }
    T_EQ(WaitForMultipleObjects(NREADS, ev, TRUE, LONG_WAIT), WAIT_OBJECT_0, "four messages complete all four");
    all = TRUE;
    for (int i = 0; i < NREADS; i++) {
        snprintf(want, sizeof want, "burst %d", i);
        n = T_POISON;
        all &= GetOverlappedResult(s, &ov[i], &n, FALSE) && n == strlen(want) + 1 && strcmp(buf[i], want) == 0;
    }
    T_OK(all, "each with the message of its rank");
    for (int i = 0; i < NREADS; i++)
        CloseHandle(ev[i]);
    CloseHandle(c);
    CloseHandle(s);
}

/* --- the read time-out ------------------------------------------------------------------ */

static void test_timeout(void)
{
    const char *name = slot_name("timeout");
    char buf[16];
    DWORD n;
    OVERLAPPED ov, ov2;
    HANDLE s = CreateMailslotA(name, 0, 200, NULL);
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE ev2 = CreateEventA(NULL, TRUE, FALSE, NULL);
    T_OK(s != INVALID_HANDLE_VALUE && ev && ev2, "a mailslot with a 200 ms read time-out");

    /* Two reads: each is timed from its own call, not from when the one
     * before it ended. */
    ov_init(&ov, ev);
    ov_init(&ov2, ev2);
    DWORD t0 = GetTickCount();
    T_OK(read_pends(s, buf, sizeof buf, &ov) && read_pends(s, buf, sizeof buf, &ov2),
         "two overlapped reads pend (the time-out does not apply at the call)");
    T_EQ(WaitForSingleObject(ev2, LONG_WAIT), WAIT_OBJECT_0, "the second ends");
    DWORD elapsed = GetTickCount() - t0;
    T_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0, "so has the first");
    T_OK(elapsed >= 180, "no earlier than the time-out");
    T_OK(elapsed < 380, "and not a time-out after the first (each timed from its call)");
    n = T_POISON;
    T_ERR(GetOverlappedResult(s, &ov, &n, FALSE), ERROR_SEM_TIMEOUT, "the first: ERROR_SEM_TIMEOUT");
    T_EQ(ov.Internal, ST_IO_TIMEOUT, "Internal STATUS_IO_TIMEOUT");
    T_ERR(GetOverlappedResult(s, &ov2, &n, FALSE), ERROR_SEM_TIMEOUT, "the second too");

    /* A pending read keeps the time-out it started with. */
    T_OK(SetMailslotInfo(s, MAILSLOT_WAIT_FOREVER), "SetMailslotInfo: wait forever");
    ov_init(&ov, ev);
    T_OK(read_pends(s, buf, sizeof buf, &ov), "a read that waits forever pends");
    T_OK(SetMailslotInfo(s, 10), "SetMailslotInfo: 10 ms");
    T_EQ(WaitForSingleObject(ev, 300), WAIT_TIMEOUT, "the pending read still waits");
    HANDLE c = client_open(name);
    T_OK(put(c, "late", 4), "a message");
    T_EQ(WaitForSingleObject(ev, LONG_WAIT), WAIT_OBJECT_0, "completes it");
    n = T_POISON;
    T_OK(GetOverlappedResult(s, &ov, &n, FALSE) && n == 4, "with the message");

    /* Time-out 0: ERROR_SEM_TIMEOUT, at once or on completion. */
    T_OK(SetMailslotInfo(s, 0), "SetMailslotInfo: 0");
    ov_init(&ov, ev);
    BOOL ok = ReadFile(s, buf, sizeof buf, NULL, &ov);
    DWORD err = GetLastError();
    if (!ok && err == ERROR_IO_PENDING) {
        ok = GetOverlappedResult(s, &ov, &n, TRUE);
        err = GetLastError();
    }
    T_OK(!ok && err == ERROR_SEM_TIMEOUT, "an overlapped read with time-out 0: ERROR_SEM_TIMEOUT");
    CloseHandle(c);
    CloseHandle(ev2);
    CloseHandle(ev);
    CloseHandle(s);
}

/* --- the server handle closed under a pending read ------------------------------------------ */

static void test_close(void)
{
    const char *name = slot_name("close");
    char buf[16];
    OVERLAPPED ov;
    HANDLE s = CreateMailslotA(name, 0, MAILSLOT_WAIT_FOREVER, NULL);
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    T_OK(s != INVALID_HANDLE_VALUE && ev && port, "a mailslot, an event, a port");
    T_OK(CreateIoCompletionPort(s, port, 77, 0) == port, "associated");

    ov_init(&ov, ev);
    T_OK(read_pends(s, buf, sizeof buf, &ov), "an overlapped read pends");
    T_OK(CloseHandle(s), "CloseHandle on the server handle");
    T_EQ(WaitForSingleObject(ev, LONG_WAIT), WAIT_OBJECT_0, "ends the read: the event is set");
    T_OK(HasOverlappedIoCompleted(&ov), "HasOverlappedIoCompleted");
    T_EQ(ov.Internal, ST_CANCELLED, "as cancelled");
    DWORD n = T_POISON;
    ULONG_PTR key = T_POISON;
    OVERLAPPED *got = NULL;
    T_ERR(GetQueuedCompletionStatus(port, &n, &key, &got, LONG_WAIT), ERROR_OPERATION_ABORTED,
          "its packet: ERROR_OPERATION_ABORTED");
    T_OK(got == &ov && key == 77 && n == 0, "for that OVERLAPPED, with the key, 0 bytes");
    T_ERR(CreateFileA(name, GENERIC_WRITE, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL) != INVALID_HANDLE_VALUE,
          ERROR_FILE_NOT_FOUND, "and the mailslot is gone");
    CloseHandle(port);
    CloseHandle(ev);
}

/* --- children ------------------------------------------------------------------------------ */

static int run_child(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[2], "write") == 0) {
        HANDLE c = client_open(argv[3]);
        if (c == INVALID_HANDLE_VALUE)
            return 10;
        return put(c, argv[4], (DWORD)strlen(argv[4])) ? 0 : 11;
    }
    return 12;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return run_child(argc, argv);
    test_thread_writer();
    test_process_writer();
    test_port();
    test_read_ex();
    test_cancel();
    test_small_buffer();
    test_order();
    test_timeout();
    test_close();
    return t_done();
}
