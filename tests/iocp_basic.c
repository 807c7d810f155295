/* SPDX-License-Identifier: MIT */
/* I/O completion ports: creation and association rules, posted packets
 * (keys, bytes, OVERLAPPED pointers, FIFO order), time-outs, the Ex batch
 * call, waits on a port, packets from file I/O (and what suppresses them),
 * failed I/O reported through the port, a port closed under a waiting
 * thread, many threads, the concurrency limit, alertable dequeues. */
#include "test.h"

#ifndef FILE_SKIP_COMPLETION_PORT_ON_SUCCESS
#define FILE_SKIP_COMPLETION_PORT_ON_SUCCESS 0x1
#endif

static char tmpdir[MAX_PATH];

static const char *path_of(const char *tag)
{
    static char buf[4][MAX_PATH + 64];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, MAX_PATH + 64, "%swipc-iocp-%lu-%s", tmpdir, (unsigned long)GetCurrentProcessId(), tag);
    return b;
}

static void test_post_get(void)
{
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 123, 0);
    OVERLAPPED ov1, ov2;
    DWORD n;
    ULONG_PTR key;
    LPOVERLAPPED po;

    T_OK(port != NULL, "CreateIoCompletionPort(INVALID_HANDLE_VALUE) makes a port");
    T_ERR(CreateIoCompletionPort(INVALID_HANDLE_VALUE, port, 1, 0) != NULL, ERROR_INVALID_PARAMETER,
          "no file but an existing port: ERROR_INVALID_PARAMETER");

    T_OK(PostQueuedCompletionStatus(port, 10, 1, &ov1), "post #1");
    T_OK(PostQueuedCompletionStatus(port, 20, 2, &ov2), "post #2");
    T_OK(PostQueuedCompletionStatus(port, 0, 3, NULL), "post #3 without an OVERLAPPED");
    n = T_POISON, key = T_POISON, po = T_POISON_HANDLE;
    T_OK(GetQueuedCompletionStatus(port, &n, &key, &po, 0), "get #1");
    T_OK(n == 10 && key == 1 && po == &ov1, "packet #1: bytes, key, OVERLAPPED");
    T_OK(GetQueuedCompletionStatus(port, &n, &key, &po, INFINITE), "get #2");
    T_OK(n == 20 && key == 2 && po == &ov2, "packet #2 (FIFO)");
    T_OK(GetQueuedCompletionStatus(port, &n, &key, &po, 1000), "get #3");
    T_OK(n == 0 && key == 3 && po == NULL, "packet #3: a NULL OVERLAPPED comes back as posted");

    n = 77, key = 99, po = T_POISON_HANDLE;
    SetLastError(T_POISON);
    T_ERR(GetQueuedCompletionStatus(port, &n, &key, &po, 0), WAIT_TIMEOUT, "empty port, no wait: WAIT_TIMEOUT");
    T_OK(po == NULL && n == 77 && key == 99, "time-out: *lpOverlapped NULL, the rest untouched");
    DWORD t0 = GetTickCount();
    T_ERR(GetQueuedCompletionStatus(port, &n, &key, &po, 50), WAIT_TIMEOUT, "50 ms: WAIT_TIMEOUT");
    T_OK(GetTickCount() - t0 >= 45, "and it waited");

    T_ERR(GetQueuedCompletionStatus((HANDLE)(ULONG_PTR)0x7ff0, &n, &key, &po, 0), ERROR_INVALID_HANDLE,
          "a bad port handle");
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    T_ERR(GetQueuedCompletionStatus(ev, &n, &key, &po, 0), ERROR_INVALID_HANDLE, "an event is not a port");
    T_ERR(PostQueuedCompletionStatus(ev, 0, 0, NULL), ERROR_INVALID_HANDLE, "posting to an event");
    CloseHandle(ev);
    T_OK(CloseHandle(port), "CloseHandle(port)");
}

static void test_ex_and_wait(void)
{
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    OVERLAPPED_ENTRY e[8];
    ULONG got;

    T_EQ(WaitForSingleObject(port, 0), WAIT_TIMEOUT, "an empty port is not signaled");
    for (int i = 0; i < 5; i++)
        PostQueuedCompletionStatus(port, 100 + i, 10 + i, (LPOVERLAPPED)(ULONG_PTR)(0x1000 * (i + 1)));
    T_EQ(WaitForSingleObject(port, 0), WAIT_OBJECT_0, "a port with packets is signaled");
    T_EQ(WaitForSingleObject(port, 0), WAIT_OBJECT_0, "and the wait took nothing");

    got = T_POISON;
    T_OK(GetQueuedCompletionStatusEx(port, e, 3, &got, 0, FALSE), "Ex: up to 3");
    T_EQ(got, 3, "3 removed");
    T_OK(e[0].lpCompletionKey == 10 && e[1].lpCompletionKey == 11 && e[2].lpCompletionKey == 12, "in order");
    T_OK(e[2].dwNumberOfBytesTransferred == 102 && e[2].lpOverlapped == (LPOVERLAPPED)(ULONG_PTR)0x3000 &&
             e[2].Internal == 0,
         "entry: bytes, OVERLAPPED, Internal = STATUS_SUCCESS");
    T_OK(GetQueuedCompletionStatusEx(port, e, 8, &got, INFINITE, FALSE) && got == 2, "Ex: the last 2");
    T_ERR(GetQueuedCompletionStatusEx(port, e, 8, &got, 0, FALSE), WAIT_TIMEOUT, "Ex on an empty port");
    T_EQ(WaitForSingleObject(port, 0), WAIT_TIMEOUT, "drained: not signaled");
    CloseHandle(port);
}

/* Start a transfer and wait for it: TRUE if it completed within the call
 * (winipc always does for files; Windows and Wine may let it pend). */
static BOOL file_io(HANDLE f, BOOL write, void *buf, DWORD len, OVERLAPPED *ov, DWORD *n, DWORD *err)
{
    BOOL ok = write ? WriteFile(f, buf, len, n, ov) : ReadFile(f, buf, len, n, ov);
    *err = ok ? 0 : GetLastError();
    if (!ok && *err == ERROR_IO_PENDING) {
        *err = GetOverlappedResult(f, ov, n, TRUE) ? 0 : GetLastError();
        return FALSE;
    }
    return TRUE;
}

static void test_files(void)
{
    const char *p = path_of("f");
    HANDLE f = CreateFileA(p, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                           FILE_FLAG_OVERLAPPED | FILE_FLAG_DELETE_ON_CLOSE, NULL);
    HANDLE port, port2, ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    OVERLAPPED ov;
    char buf[16];
    DWORD n, err;
    ULONG_PTR key;
    LPOVERLAPPED po;

    T_OK(f != INVALID_HANDLE_VALUE, "an overlapped file");
    port = CreateIoCompletionPort(f, NULL, 0x51, 0);
    T_OK(port != NULL, "CreateIoCompletionPort(file, NULL): a new port, associated");
    port2 = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    T_ERR(CreateIoCompletionPort(f, port, 0x52, 0) != NULL, ERROR_INVALID_PARAMETER,
          "associating again: ERROR_INVALID_PARAMETER");
    T_ERR(CreateIoCompletionPort(f, port2, 0x52, 0) != NULL, ERROR_INVALID_PARAMETER,
          "with another port: ERROR_INVALID_PARAMETER");
    T_ERR(CreateIoCompletionPort(ev, port2, 1, 0) != NULL, ERROR_INVALID_HANDLE, "an event cannot be associated");

    memset(&ov, 0, sizeof ov);
    ov.hEvent = ev;
    file_io(f, TRUE, "0123456789", 10, &ov, &n, &err);
    T_OK(err == 0 && n == 10, "a write");
    n = T_POISON, key = T_POISON, po = NULL;
    T_OK(GetQueuedCompletionStatus(port, &n, &key, &po, 0), "queues a packet, also when it completed at once");
    T_OK(n == 10 && key == 0x51 && po == &ov, "packet: 10 bytes, the key, our OVERLAPPED");

    ov.Offset = 2;
    ov.hEvent = (HANDLE)((ULONG_PTR)ev | 1);
    file_io(f, FALSE, buf, 4, &ov, &n, &err);
    T_OK(err == 0 && n == 4, "a read with hEvent's low bit set");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0, "the event is still set");
    T_ERR(GetQueuedCompletionStatus(port, &n, &key, &po, 0), WAIT_TIMEOUT, "but no packet");

    ov.hEvent = ev;
    ov.Offset = 100;
    if (file_io(f, FALSE, buf, 4, &ov, &n, &err)) {
        T_EQ(err, ERROR_HANDLE_EOF, "a read past the end fails at once: ERROR_HANDLE_EOF");
        T_ERR(GetQueuedCompletionStatus(port, &n, &key, &po, 0), WAIT_TIMEOUT, "an immediate failure posts nothing");
    } else {
        T_EQ(err, ERROR_HANDLE_EOF, "a read past the end completes with ERROR_HANDLE_EOF");
        T_ERR(GetQueuedCompletionStatus(port, &n, &key, &po, 0), ERROR_HANDLE_EOF, "a failed-I/O packet");
    }

    T_OK(SetFileCompletionNotificationModes(f, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS),
         "FILE_SKIP_COMPLETION_PORT_ON_SUCCESS");
    ov.Offset = 0;
    BOOL at_once = file_io(f, FALSE, buf, 4, &ov, &n, &err);
    T_OK(err == 0 && n == 4, "a read");
    T_EQ(WaitForSingleObject(ev, 0), WAIT_OBJECT_0, "sets the event");
    if (at_once)
        T_ERR(GetQueuedCompletionStatus(port, &n, &key, &po, 0), WAIT_TIMEOUT,
              "completed at once: no packet now");
    else
        T_OK(GetQueuedCompletionStatus(port, &n, &key, &po, 0), "it went pending: the packet comes");

    /* The port outlives its handle while a file is associated; the file
     * outlives the port. */
    T_OK(CloseHandle(port), "close the port while the file is associated");
    ov.Offset = 0;
    file_io(f, FALSE, buf, 4, &ov, &n, &err);
    T_OK(err == 0 && n == 4, "I/O on the file still works");
    CloseHandle(port2);
    CloseHandle(f);
    CloseHandle(ev);
}

struct getter {
    HANDLE port;
    DWORD ms;
    BOOL ok;
    DWORD err, n;
    ULONG_PTR key;
    LPOVERLAPPED po;
    HANDLE started;
};

static DWORD WINAPI get_one(LPVOID arg)
{
    struct getter *g = arg;
    if (g->started)
        SetEvent(g->started);
    g->po = T_POISON_HANDLE;
    g->ok = GetQueuedCompletionStatus(g->port, &g->n, &g->key, &g->po, g->ms);
    g->err = g->ok ? 0 : GetLastError();
    return 0;
}

/* Documented for GetQueuedCompletionStatus; Wine (9.x) leaves the waiter
 * asleep. */
static void test_close_while_waiting(void)
{
    struct getter g = {.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0), .ms = INFINITE,
                       .started = CreateEventA(NULL, TRUE, FALSE, NULL)};
    HANDLE t = CreateThread(NULL, 0, get_one, &g, 0, NULL);
    WaitForSingleObject(g.started, INFINITE);
    /* The thread may or may not be asleep yet; either way closing the port
     * must end its wait. */
    Sleep(20);
    T_OK(CloseHandle(g.port), "close the port under a waiting thread");
    T_EQ(WaitForSingleObject(t, 5000), WAIT_OBJECT_0, "the waiter returns");
    T_OK(!g.ok && g.err == ERROR_ABANDONED_WAIT_0, "with ERROR_ABANDONED_WAIT_0");
    T_OK(g.po == NULL, "and *lpOverlapped NULL");
    CloseHandle(t);
    CloseHandle(g.started);
}

#define WORKERS 4
#define PACKETS 20000

struct pool {
    HANDLE port;
    LONG seen[WORKERS];
    LONG total;
    unsigned char hits[PACKETS];
};

struct worker_arg {
    struct pool *pool;
    int id;
};

static DWORD WINAPI worker(LPVOID arg)
{
    struct worker_arg *w = arg;
    DWORD n;
    ULONG_PTR key;
    LPOVERLAPPED po;
    for (;;) {
        if (!GetQueuedCompletionStatus(w->pool->port, &n, &key, &po, INFINITE))
            return 1;
        if (key == 0)
            return 0; /* stop */
        w->pool->hits[n]++;
        w->pool->seen[w->id]++;
        InterlockedIncrement(&w->pool->total);
    }
}

static void test_many_threads(void)
{
    static struct pool pool;
    struct worker_arg args[WORKERS];
    HANDLE t[WORKERS];
    pool.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, WORKERS);
    for (int i = 0; i < WORKERS; i++) {
        args[i] = (struct worker_arg){&pool, i};
        t[i] = CreateThread(NULL, 0, worker, &args[i], 0, NULL);
    }
    BOOL posted = TRUE;
    for (DWORD i = 0; i < PACKETS; i++)
        posted &= PostQueuedCompletionStatus(pool.port, i, 1, NULL);
    for (int i = 0; i < WORKERS; i++)
        posted &= PostQueuedCompletionStatus(pool.port, 0, 0, NULL);
    T_OK(posted, "20000 packets posted to 4 workers");
    T_EQ(WaitForMultipleObjects(WORKERS, t, TRUE, 20000), WAIT_OBJECT_0, "all workers end");
    int once = 1;
    for (int i = 0; i < PACKETS; i++)
        once &= pool.hits[i] == 1;
    T_EQ(pool.total, PACKETS, "every packet dequeued");
    T_OK(once, "each exactly once");
    for (int i = 0; i < WORKERS; i++)
        CloseHandle(t[i]);
    CloseHandle(pool.port);
}

/* NumberOfConcurrentThreads = 1: while one thread runs on a packet, a
 * second waiting thread is not released; the running thread takes the next
 * packet itself when it comes back. (Wine does not implement the limit.) */
struct limit_ctx {
    HANDLE port, go_back, got_first;
    DWORD first_n, second_n;
};

static DWORD WINAPI limited_worker(LPVOID arg)
{
    struct limit_ctx *c = arg;
    DWORD n;
    ULONG_PTR key;
    LPOVERLAPPED po;
    if (!GetQueuedCompletionStatus(c->port, &n, &key, &po, INFINITE))
        return 1;
    c->first_n = n;
    SetEvent(c->got_first);
    WaitForSingleObject(c->go_back, INFINITE);
    if (!GetQueuedCompletionStatus(c->port, &n, &key, &po, 0))
        return 2;
    c->second_n = n;
    return 0;
}

static void test_concurrency_limit(void)
{
    struct limit_ctx c = {.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1),
                          .go_back = CreateEventA(NULL, TRUE, FALSE, NULL),
                          .got_first = CreateEventA(NULL, TRUE, FALSE, NULL)};
    struct getter other = {.port = c.port, .ms = 5000, .started = CreateEventA(NULL, TRUE, FALSE, NULL)};
    HANDLE a = CreateThread(NULL, 0, limited_worker, &c, 0, NULL);
    PostQueuedCompletionStatus(c.port, 1, 1, NULL);
    T_EQ(WaitForSingleObject(c.got_first, 5000), WAIT_OBJECT_0, "the first thread runs on packet 1");
    HANDLE b = CreateThread(NULL, 0, get_one, &other, 0, NULL);
    WaitForSingleObject(other.started, INFINITE);
    PostQueuedCompletionStatus(c.port, 2, 2, NULL);
    T_EQ(WaitForSingleObject(c.port, 0), WAIT_OBJECT_0, "packet 2 stays queued: the limit is reached");
    SetEvent(c.go_back);
    T_EQ(WaitForSingleObject(a, 5000), WAIT_OBJECT_0, "the first thread comes back");
    T_OK(c.first_n == 1 && c.second_n == 2, "and takes packet 2 itself");
    /* The first thread has ended: the second one may run now. */
    PostQueuedCompletionStatus(c.port, 3, 3, NULL);
    T_EQ(WaitForSingleObject(b, 5000), WAIT_OBJECT_0, "a thread ending makes room");
    T_OK(other.ok && other.n == 3, "the waiting thread gets packet 3");
    CloseHandle(a);
    CloseHandle(b);
    CloseHandle(c.go_back);
    CloseHandle(c.got_first);
    CloseHandle(other.started);
    CloseHandle(c.port);
}

static int apc_runs;
static void CALLBACK count_apc(ULONG_PTR arg)
{
    apc_runs += (int)arg;
}

static void test_alertable(void)
{
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    OVERLAPPED_ENTRY e[2];
    ULONG got = T_POISON;
    apc_runs = 0;
    T_OK(QueueUserAPC(count_apc, GetCurrentThread(), 1), "queue an APC to ourselves");
    T_ERR(GetQueuedCompletionStatusEx(port, e, 2, &got, 20, FALSE), WAIT_TIMEOUT, "not alertable: times out");
    T_EQ(apc_runs, 0, "the APC did not run");
    T_ERR(GetQueuedCompletionStatusEx(port, e, 2, &got, INFINITE, TRUE), WAIT_IO_COMPLETION,
          "alertable: the APC ends the wait with WAIT_IO_COMPLETION");
    T_EQ(apc_runs, 1, "the APC ran");
    PostQueuedCompletionStatus(port, 5, 6, NULL);
    T_OK(GetQueuedCompletionStatusEx(port, e, 2, &got, INFINITE, TRUE) && got == 1 && e[0].lpCompletionKey == 6,
         "alertable with a packet: the packet");
    CloseHandle(port);
}

int main(void)
{
    GetTempPathA(sizeof tmpdir, tmpdir);
    test_post_get();
    test_ex_and_wait();
    test_files();
    test_close_while_waiting();
    test_many_threads();
    test_concurrency_limit();
    test_alertable();
    return t_done();
}
