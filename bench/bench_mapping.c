/* SPDX-License-Identifier: MIT */
/* File mappings and mailslots next to the raw Linux primitives:
 *   two processes incrementing a shared counter through a named mapping vs
 *   the same through a memfd mapping (increments/s: the memory is the same,
 *   so this shows any cost of the view itself);
 *   creating + mapping + unmapping + closing a 64 KiB section vs
 *   memfd_create + ftruncate + mmap + munmap + close;
 *   mailslot messages/s (1 and 4 writers, one reader) vs an AF_UNIX
 *   SOCK_DGRAM socket. */
#include "bench.h"

#include <windows.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static double counter_rate(volatile LONG *counter, long n)
{
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        for (long i = 0; i < n; i++)
            InterlockedIncrement(counter);
        _exit(0);
    }
    for (long i = 0; i < n; i++)
        InterlockedIncrement(counter);
    waitpid(pid, NULL, 0);
    double t = bench_now() - t0;
    return *counter == 2 * n ? 2.0 * n / t / 1e6 : -1;
}

static double raw_counter(long n)
{
    int fd = memfd_create("bench-counter", MFD_CLOEXEC);
    ftruncate(fd, 4096);
    LONG *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    double r = counter_rate(c, n);
    munmap(c, 4096);
    return r;
}

static double winipc_counter(long n)
{
    HANDLE map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, "Global\\bench-counter");
    LONG *c = MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    double r = counter_rate(c, n);
    UnmapViewOfFile(c);
    CloseHandle(map);
    return r;
}

static double raw_create(long n)
{
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        int fd = memfd_create("bench", MFD_CLOEXEC);
        ftruncate(fd, 65536);
        void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        munmap(p, 65536);
        close(fd);
    }
    return (bench_now() - t0) / n * 1e9;
}

static double winipc_create(long n, const char *name)
{
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 65536, name);
        void *p = MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, 0, 0);
        UnmapViewOfFile(p);
        CloseHandle(m);
    }
    return (bench_now() - t0) / n * 1e9;
}

#define MSG 64

struct writer_arg {
    long count;
    int fd;       /* raw */
    HANDLE slot;  /* winipc */
};

static void *raw_writer(void *p)
{
    struct writer_arg *a = p;
    char buf[MSG] = {0};
    for (long i = 0; i < a->count; i++)
        send(a->fd, buf, sizeof buf, MSG_NOSIGNAL);
    return NULL;
}

static void *slot_writer(void *p)
{
    struct writer_arg *a = p;
    char buf[MSG] = {0};
    DWORD w;
    HANDLE h = CreateFileA("\\\\.\\mailslot\\bench", GENERIC_WRITE, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    for (long i = 0; i < a->count; i++)
        WriteFile(h, buf, sizeof buf, &w, NULL);
    CloseHandle(h);
    return NULL;
}

static double raw_dgram(long n, int writers)
{
    int sv[2];
    char buf[MSG];
    pthread_t t[4];
    struct writer_arg a[4];
    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv);
    double t0 = bench_now();
    for (int i = 0; i < writers; i++) {
        a[i].count = n / writers;
        a[i].fd = sv[0];
        pthread_create(&t[i], NULL, raw_writer, &a[i]);
    }
    for (long got = 0; got < (n / writers) * writers; got++)
        recv(sv[1], buf, sizeof buf, 0);
    double dt = bench_now() - t0;
    for (int i = 0; i < writers; i++)
        pthread_join(t[i], NULL);
    close(sv[0]);
    close(sv[1]);
    return n / dt / 1e6;
}

static double slot_rate(long n, int writers)
{
    char buf[MSG];
    pthread_t t[4];
    struct writer_arg a[4];
    HANDLE slot = CreateMailslotA("\\\\.\\mailslot\\bench", 0, MAILSLOT_WAIT_FOREVER, NULL);
    if (slot == INVALID_HANDLE_VALUE)
        return -1;
    double t0 = bench_now();
    for (int i = 0; i < writers; i++) {
        a[i].count = n / writers;
        pthread_create(&t[i], NULL, slot_writer, &a[i]);
    }
    for (long got = 0; got < (n / writers) * writers; got++) {
        DWORD r;
        ReadFile(slot, buf, sizeof buf, &r, NULL);
    }
    double dt = bench_now() - t0;
    for (int i = 0; i < writers; i++)
        pthread_join(t[i], NULL);
    CloseHandle(slot);
    return n / dt / 1e6;
}

int main(void)
{
    long n = bench_iters(2000000);
    double raw = raw_counter(n), wi = winipc_counter(n);
    bench_row("shared counter, 2 processes (higher=better)", "M/s", wi, raw, "memfd mapping");
    long m = bench_iters(20000);
    raw = raw_create(m);
    wi = winipc_create(m, NULL);
    bench_row("create+map+unmap+close 64 KiB, unnamed", "ns", wi, raw, "memfd+mmap");
    wi = winipc_create(m, "bench-section");
    bench_row("create+map+unmap+close 64 KiB, named", "ns", wi, raw, "memfd+mmap");
    long k = bench_iters(400000);
    for (int writers = 1; writers <= 4; writers *= 4) {
        char what[64];
        raw = raw_dgram(k, writers);
        wi = slot_rate(k, writers);
        snprintf(what, sizeof what, "mailslot 64 B messages, %d writer%s (higher=better)", writers,
                 writers > 1 ? "s" : "");
        bench_row(what, "M/s", wi, raw, "AF_UNIX SOCK_DGRAM");
    }
    return 0;
}
