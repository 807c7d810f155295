/* SPDX-License-Identifier: MIT */
/* An echo server on named pipes, the classic Windows way: many overlapped
 * pipe instances, one I/O completion port, a few worker threads. Each
 * instance cycles connect → read → write back → read ... → disconnect →
 * connect; every step is an overlapped request whose completion a worker
 * picks up from the port. The same source builds on Windows and on Linux
 * with winipc.
 *
 *   iocp_echo_server [server] [pipe] [instances] [workers] [sessions]
 *       serve until `sessions` clients have come and gone (0: forever)
 *   iocp_echo_server client [pipe] [clients] [echoes] [size]
 *       run `clients` client threads, each connecting and doing `echoes`
 *       round trips of `size` bytes; exit code 0 when every byte came back
 *
 * tests/iocp_echo.c includes this file (ECHO_NO_MAIN) to drive both halves
 * with bounds. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_DEFAULT_PIPE "\\\\.\\pipe\\winipc-echo"
#define ECHO_BUF 4096

/* --- the server ------------------------------------------------------------------ */

enum conn_state { CONNECTING, READING, WRITING };

/* One pipe instance. Only one request is outstanding per instance at any
 * time, so whichever worker holds its completion owns it: no lock. The
 * OVERLAPPED comes first so the packet's pointer is the connection. */
struct conn {
    OVERLAPPED ov;
    HANDLE pipe;
    enum conn_state state;
    DWORD len;
    char buf[ECHO_BUF];
};

struct echo_server {
    HANDLE port;
    struct conn *conns;
    unsigned nconns, nworkers;
    LONG sessions_left; /* < 0: serve forever */
    LONG stopping;
    LONG served;
};

/* Listen for the next client. A client that connected before the call
 * makes ConnectNamedPipe fail with ERROR_PIPE_CONNECTED and no packet is
 * queued for that: post one ourselves so a worker starts reading. */
static BOOL conn_listen(struct echo_server *srv, struct conn *c)
{
    memset(&c->ov, 0, sizeof c->ov);
    c->state = CONNECTING;
    if (ConnectNamedPipe(c->pipe, &c->ov))
        return PostQueuedCompletionStatus(srv->port, 0, (ULONG_PTR)c, &c->ov);
    switch (GetLastError()) {
    case ERROR_IO_PENDING:
        return TRUE;
    case ERROR_PIPE_CONNECTED:
        return PostQueuedCompletionStatus(srv->port, 0, (ULONG_PTR)c, &c->ov);
    case ERROR_NO_DATA: /* the client came and left already */
        DisconnectNamedPipe(c->pipe);
        return conn_listen(srv, c);
    default:
        return FALSE;
    }
}

/* Start the next read or write. A request that completes at once still
 * queues its packet (no FILE_SKIP_COMPLETION_PORT_ON_SUCCESS here), so the
 * worker always continues from the port. FALSE: the client is gone. */
static BOOL conn_next(struct conn *c, enum conn_state state)
{
    memset(&c->ov, 0, sizeof c->ov);
    c->state = state;
    BOOL ok = state == READING ? ReadFile(c->pipe, c->buf, sizeof c->buf, NULL, &c->ov)
                               : WriteFile(c->pipe, c->buf, c->len, NULL, &c->ov);
    return ok || GetLastError() == ERROR_IO_PENDING;
}

static void server_stop(struct echo_server *srv)
{
    if (InterlockedExchange(&srv->stopping, 1))
        return;
    for (unsigned i = 0; i < srv->nworkers; i++)
        PostQueuedCompletionStatus(srv->port, 0, 0, NULL); /* key 0: quit */
}

/* A client left: get the instance ready for the next one. */
static void conn_recycle(struct echo_server *srv, struct conn *c)
{
    DisconnectNamedPipe(c->pipe);
    InterlockedIncrement(&srv->served);
    if (srv->sessions_left >= 0 && InterlockedDecrement(&srv->sessions_left) <= 0) {
        server_stop(srv);
        return;
    }
    if (!srv->stopping && !conn_listen(srv, c))
        fprintf(stderr, "echo server: ConnectNamedPipe failed: %lu\n", (unsigned long)GetLastError());
}

static DWORD WINAPI server_worker(LPVOID arg)
{
    struct echo_server *srv = arg;
    for (;;) {
        DWORD n = 0;
        ULONG_PTR key = 0;
        OVERLAPPED *ov = NULL;
        BOOL ok = GetQueuedCompletionStatus(srv->port, &n, &key, &ov, INFINITE);
        if (!ov) {
            if (ok && key == 0)
                return 0; /* our quit packet */
            fprintf(stderr, "echo server: GetQueuedCompletionStatus failed: %lu\n", (unsigned long)GetLastError());
            return 1;
        }
        struct conn *c = (struct conn *)key;
        if (!ok || (c->state == READING && n == 0)) {
            /* A failed request (ERROR_BROKEN_PIPE: the client closed), or
             * an empty read: this session is over. */
            conn_recycle(srv, c);
            continue;
        }
        switch (c->state) {
        case CONNECTING:
        case WRITING:
            ok = conn_next(c, READING);
            break;
        case READING:
            c->len = n;
            ok = conn_next(c, WRITING);
            break;
        }
        if (!ok)
            conn_recycle(srv, c);
    }
}

/* Serve until `sessions` clients have come and gone (0: forever). */
static int echo_server_run(const char *name, unsigned instances, unsigned workers, long sessions)
{
    struct echo_server srv = {.nconns = instances, .nworkers = workers, .sessions_left = sessions ? sessions : -1};
    HANDLE *threads = calloc(workers, sizeof *threads);
    int rc = 0;

    srv.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    srv.conns = calloc(instances, sizeof *srv.conns);
    if (!srv.port || !srv.conns || !threads) {
        fprintf(stderr, "echo server: out of resources\n");
        return 1;
    }
    for (unsigned i = 0; i < instances; i++) {
        struct conn *c = &srv.conns[i];
        c->pipe = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                                   PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, PIPE_UNLIMITED_INSTANCES,
                                   ECHO_BUF, ECHO_BUF, 0, NULL);
        if (c->pipe == INVALID_HANDLE_VALUE || !CreateIoCompletionPort(c->pipe, srv.port, (ULONG_PTR)c, 0) ||
            !conn_listen(&srv, c)) {
            fprintf(stderr, "echo server: instance %u: error %lu\n", i, (unsigned long)GetLastError());
            return 1;
        }
    }
    for (unsigned i = 0; i < workers; i++)
        threads[i] = CreateThread(NULL, 0, server_worker, &srv, 0, NULL);
    for (unsigned i = 0; i < workers; i++) {
        DWORD code = 1;
        WaitForSingleObject(threads[i], INFINITE);
        GetExitCodeThread(threads[i], &code);
        rc |= code != 0;
        CloseHandle(threads[i]);
    }
    /* Closing an instance ends whatever is still pending on it. */
    for (unsigned i = 0; i < instances; i++)
        CloseHandle(srv.conns[i].pipe);
    CloseHandle(srv.port);
    free(srv.conns);
    free(threads);
    return rc;
}

/* --- the client driver --------------------------------------------------------------- */

struct echo_client {
    const char *name;
    unsigned echoes, size;
    LONG failures;
    LONG round_trips;
};

/* Connect, waiting for a free instance as long as it takes (bounded). */
static HANDLE client_connect(const char *name)
{
    for (int tries = 0; tries < 2000; tries++) {
        HANDLE h = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
        if (h != INVALID_HANDLE_VALUE)
            return h;
        DWORD err = GetLastError();
        if (err == ERROR_PIPE_BUSY)
            WaitNamedPipeA(name, 1000);
        else if (err == ERROR_FILE_NOT_FOUND)
            Sleep(5); /* the server is not up yet */
        else
            return INVALID_HANDLE_VALUE;
    }
    return INVALID_HANDLE_VALUE;
}

static DWORD WINAPI client_thread(LPVOID arg)
{
    struct echo_client *cl = arg;
    char out[ECHO_BUF], in[ECHO_BUF];
    HANDLE h = client_connect(cl->name);
    if (h == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "echo client: cannot connect: %lu\n", (unsigned long)GetLastError());
        InterlockedIncrement(&cl->failures);
        return 1;
    }
    for (unsigned i = 0; i < cl->echoes; i++) {
        DWORD n, got = 0;
        for (unsigned k = 0; k < cl->size; k++)
            out[k] = (char)(i * 31 + k + GetCurrentThreadId());
        if (!WriteFile(h, out, cl->size, &n, NULL) || n != cl->size)
            break;
        /* Byte mode: the echo may come back in pieces. */
        while (got < cl->size && ReadFile(h, in + got, cl->size - got, &n, NULL) && n)
            got += n;
        if (got != cl->size || memcmp(in, out, cl->size) != 0)
            break;
        InterlockedIncrement(&cl->round_trips);
        if (i + 1 == cl->echoes) {
            CloseHandle(h);
            return 0;
        }
    }
    fprintf(stderr, "echo client: round trip failed: %lu\n", (unsigned long)GetLastError());
    InterlockedIncrement(&cl->failures);
    CloseHandle(h);
    return 1;
}

/* Run `clients` client threads; returns the number that failed. */
static int echo_clients_run(const char *name, unsigned clients, unsigned echoes, unsigned size)
{
    struct echo_client cl = {.name = name, .echoes = echoes, .size = size ? size : 1};
    HANDLE *t = calloc(clients, sizeof *t);
    if (!t || cl.size > ECHO_BUF)
        return (int)clients;
    for (unsigned i = 0; i < clients; i++)
        t[i] = CreateThread(NULL, 64 * 1024, client_thread, &cl, 0, NULL);
    for (unsigned i = 0; i < clients; i++) {
        if (t[i]) {
            WaitForSingleObject(t[i], INFINITE);
            CloseHandle(t[i]);
        } else {
            cl.failures++;
        }
    }
    free(t);
    return (int)cl.failures;
}

#ifndef ECHO_NO_MAIN
int main(int argc, char **argv)
{
    int client = argc > 1 && strcmp(argv[1], "client") == 0;
    int a = argc > 1 && (client || strcmp(argv[1], "server") == 0) ? 2 : 1;
    const char *name = argc > a ? argv[a] : ECHO_DEFAULT_PIPE;
    if (client) {
        unsigned clients = argc > a + 1 ? (unsigned)atoi(argv[a + 1]) : 100;
        unsigned echoes = argc > a + 2 ? (unsigned)atoi(argv[a + 2]) : 50;
        unsigned size = argc > a + 3 ? (unsigned)atoi(argv[a + 3]) : 64;
        DWORD t0 = GetTickCount();
        int failed = echo_clients_run(name, clients, echoes, size);
        printf("echo client: %u clients x %u echoes of %u bytes, %d failed, %lu ms\n", clients, echoes, size, failed,
               (unsigned long)(GetTickCount() - t0));
        return failed ? 1 : 0;
    }
    unsigned instances = argc > a + 1 ? (unsigned)atoi(argv[a + 1]) : 64;
    unsigned workers = argc > a + 2 ? (unsigned)atoi(argv[a + 2]) : 4;
    long sessions = argc > a + 3 ? atol(argv[a + 3]) : 0;
    printf("echo server: %s, %u instances, %u workers\n", name, instances, workers);
    fflush(stdout);
    return echo_server_run(name, instances ? instances : 1, workers ? workers : 1, sessions);
}
#endif
