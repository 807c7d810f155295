/* SPDX-License-Identifier: MIT */
/* Echo servers under load: the IOCP named-pipe echo server of
 * examples/iocp_echo_server.c (overlapped instances, one completion port,
 * 2 worker threads) next to the usual Linux design doing the same work, an
 * epoll echo server on AF_UNIX stream sockets (2 worker threads sharing one
 * epoll set, EPOLLONESHOT per connection). Clients run in a second process,
 * one thread each, doing 64-byte round trips for a fixed time; the figure is
 * round trips per second over all clients, for 1, 16 and 256 clients. */
#define ECHO_NO_MAIN
#include "../examples/iocp_echo_server.c"

#include "bench.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSG 64
#define WORKERS 2

/* Shared with the client process. */
struct shared {
    _Atomic int stop;
    _Atomic long trips;
    double seconds;
    int failed;
};

static double run_seconds(void)
{
    return 0.9 * (getenv("BENCH_SCALE") ? atof(getenv("BENCH_SCALE")) : 1.0);
}

/* --- clients (in the child process) ----------------------------------------------- */

struct client {
    struct shared *sh;
    pthread_barrier_t *start; /* all connected: go */
    int raw; /* 1: AF_UNIX socket, 0: named pipe */
    const char *path;
};

static int raw_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    for (int tries = 0; tries < 1000; tries++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
        close(fd);
        usleep(1000);
    }
    return -1;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    char out[MSG], in[MSG];
    long trips = 0;
    int fd = -1;
    HANDLE h = INVALID_HANDLE_VALUE;
    memset(out, 'x', sizeof out);
    if (c->raw)
        fd = raw_connect(c->path);
    else
        h = client_connect(c->path);
    if ((c->raw && fd < 0) || (!c->raw && h == INVALID_HANDLE_VALUE)) {
        c->sh->failed = 1;
        pthread_barrier_wait(c->start);
        return NULL;
    }
    pthread_barrier_wait(c->start);
    while (!atomic_load_explicit(&c->sh->stop, memory_order_relaxed)) {
        size_t got = 0;
        if (c->raw) {
            if (send(fd, out, MSG, MSG_NOSIGNAL) != MSG)
                break;
            while (got < MSG) {
                ssize_t n = recv(fd, in + got, MSG - got, 0);
                if (n <= 0)
                    break;
                got += (size_t)n;
            }
        } else {
            DWORD n;
            if (!WriteFile(h, out, MSG, &n, NULL) || n != MSG)
                break;
            while (got < MSG && ReadFile(h, in + got, (DWORD)(MSG - got), &n, NULL) && n)
                got += n;
        }
        if (got != MSG)
            break;
        trips++;
    }
    if (!atomic_load(&c->sh->stop))
        c->sh->failed = 1;
    atomic_fetch_add(&c->sh->trips, trips);
    if (c->raw)
        close(fd);
    else
        CloseHandle(h);
    return NULL;
}

/* Fork the client process: `n` threads, connected, then run_seconds() of
 * round trips. Fills sh->trips and sh->seconds. */
static pid_t spawn_clients(struct shared *sh, int n, int raw, const char *paths[2])
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    pthread_t *t = calloc((size_t)n, sizeof *t);
    struct client *c = calloc((size_t)n, sizeof *c);
    pthread_attr_t attr;
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n + 1);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    for (int i = 0; i < n; i++) {
        c[i] = (struct client){sh, &start, raw, paths[i % 2]};
        pthread_create(&t[i], &attr, client_main, &c[i]);
    }
    pthread_barrier_wait(&start);
    double t0 = bench_now();
    usleep((useconds_t)(run_seconds() * 1e6));
    atomic_store(&sh->stop, 1);
    sh->seconds = bench_now() - t0;
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    _exit(0);
}

static double finish(struct shared *sh, pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
    if (sh->failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || sh->seconds <= 0)
        return -1;
    return (double)atomic_load(&sh->trips) / sh->seconds;
}

/* --- the IOCP server (the example's, on two pipe names: a name has at most
 * 255 instances) ----------------------------------------------------------------------- */

static double iocp_run(int clients)
{
    char n0[128], n1[128];
    const char *names[2] = {n0, n1};
    snprintf(n0, sizeof n0, "\\\\.\\pipe\\winipc-bench-echo-%d-a", (int)getpid());
    snprintf(n1, sizeof n1, "\\\\.\\pipe\\winipc-bench-echo-%d-b", (int)getpid());
    struct echo_server srv = {.nconns = (unsigned)clients, .nworkers = WORKERS, .sessions_left = clients};
    HANDLE threads[WORKERS];
    srv.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, WORKERS);
    srv.conns = calloc((size_t)clients, sizeof *srv.conns);
    for (int i = 0; i < clients; i++) {
        struct conn *c = &srv.conns[i];
        c->pipe = CreateNamedPipeA(names[i % 2], PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                                   PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, PIPE_UNLIMITED_INSTANCES,
                                   ECHO_BUF, ECHO_BUF, 0, NULL);
        if (c->pipe == INVALID_HANDLE_VALUE || !CreateIoCompletionPort(c->pipe, srv.port, (ULONG_PTR)c, 0) ||
            !conn_listen(&srv, c))
            return -1;
    }
    for (int i = 0; i < WORKERS; i++)
        threads[i] = CreateThread(NULL, 0, server_worker, &srv, 0, NULL);
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(sh, 0, sizeof *sh);
    pid_t pid = spawn_clients(sh, clients, 0, names);
    double r = finish(sh, pid);
    /* Every client closed: the server counted its sessions and stopped. */
    for (int i = 0; i < WORKERS; i++) {
        if (WaitForSingleObject(threads[i], 5000) != WAIT_OBJECT_0)
            r = -1;
        CloseHandle(threads[i]);
    }
    for (int i = 0; i < clients; i++)
        CloseHandle(srv.conns[i].pipe);
    CloseHandle(srv.port);
    free(srv.conns);
    munmap(sh, sizeof *sh);
    return r;
}

/* --- the raw epoll server ------------------------------------------------------------ */

struct raw_server {
    int ep, lfd;
    _Atomic int stop;
};

static void *raw_worker(void *arg)
{
    struct raw_server *s = arg;
    char buf[ECHO_BUF];
    while (!atomic_load(&s->stop)) {
        struct epoll_event ev;
        int n = epoll_wait(s->ep, &ev, 1, 100);
        if (n <= 0)
            continue;
        int fd = ev.data.fd;
        if (fd == s->lfd) {
            int c = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0) {
                struct epoll_event ce = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = c};
                epoll_ctl(s->ep, EPOLL_CTL_ADD, c, &ce);
            }
            struct epoll_event le = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = s->lfd};
            epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd, &le);
            continue;
        }
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) {
            close(fd);
            continue;
        }
        if (send(fd, buf, (size_t)r, MSG_NOSIGNAL) != r) {
            close(fd);
            continue;
        }
        struct epoll_event ce = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = fd};
        epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &ce);
    }
    return NULL;
}

static double raw_run(int clients)
{
    char path[108];
    const char *paths[2] = {path, path};
    struct raw_server s = {.ep = epoll_create1(EPOLL_CLOEXEC)};
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(path, sizeof path, "/tmp/winipc-bench-echo-%d", (int)getpid());
    unlink(path);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    s.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bind(s.lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s.lfd, 512) != 0)
        return -1;
    struct epoll_event le = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = s.lfd};
    epoll_ctl(s.ep, EPOLL_CTL_ADD, s.lfd, &le);
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, raw_worker, &s);
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(sh, 0, sizeof *sh);
    pid_t pid = spawn_clients(sh, clients, 1, paths);
    double r = finish(sh, pid);
    atomic_store(&s.stop, 1);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    close(s.lfd);
    close(s.ep);
    unlink(path);
    munmap(sh, sizeof *sh);
    return r;
}

int main(void)
{
    static const int counts[] = {1, 16, 256};
    (void)echo_server_run; /* the example's drivers: the bench has its own */
    (void)echo_clients_run;
    signal(SIGPIPE, SIG_IGN);
    for (unsigned i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        char what[80];
        double w = iocp_run(counts[i]);
        double r = raw_run(counts[i]);
        snprintf(what, sizeof what, "IOCP pipe echo, %d client%s (64 B)", counts[i], counts[i] == 1 ? "" : "s");
        /* Higher is better here: ratio = winipc / raw. */
        bench_row(what, "req/s", w, r, "epoll AF_UNIX echo");
    }
    return 0;
}
