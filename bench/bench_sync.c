/* SPDX-License-Identifier: MIT */
/* Mutexes and semaphores, each next to a raw futex equivalent doing the
 * same work over shared memory in the same run:
 *   - uncontended WaitForSingleObject(mutex) + ReleaseMutex vs a futex
 *     mutex (Drepper's three-state lock) lock + unlock;
 *   - a mutex hand-off ring between two processes: three mutexes, each
 *     process walks the ring hand over hand (lock the next, release the
 *     current), so every step releases a mutex the other process sleeps on
 *     and then sleeps until the other releases the next one;
 *   - WaitForMultipleObjects on 64 handles with only the last signaled vs
 *     scanning 64 atomic words;
 *   - a bounded buffer between two processes (two semaphores, 64 slots) vs
 *     the same with raw futex semaphores, in items per second. */
#include "bench.h"

#include <windows.h>

#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS 64

static void futex_wait(_Atomic uint32_t *w, uint32_t v)
{
    syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w, int n)
{
    syscall(SYS_futex, w, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* --- raw primitives -------------------------------------------------------- */

/* 0 free, 1 locked, 2 locked with (possible) sleepers. */
static void raw_lock(_Atomic uint32_t *m)
{
    uint32_t c = 0;
    if (atomic_compare_exchange_strong(m, &c, 1))
        return;
    if (c != 2)
        c = atomic_exchange(m, 2);
    while (c != 0) {
        futex_wait(m, 2);
        c = atomic_exchange(m, 2);
    }
}

static void raw_unlock(_Atomic uint32_t *m)
{
    if (atomic_fetch_sub(m, 1) != 1) {
        atomic_store(m, 0);
        futex_wake(m, 1);
    }
}

/* A counting semaphore: the count, and a sleeper count so that a post with
 * nobody asleep makes no syscall (as winipc's waitables do). */
struct raw_sem {
    _Atomic uint32_t count;
    _Atomic uint32_t waiters;
};

static void raw_sem_wait(struct raw_sem *s)
{
    for (;;) {
        uint32_t v = atomic_load(&s->count);
        while (v > 0)
            if (atomic_compare_exchange_weak(&s->count, &v, v - 1))
                return;
        atomic_fetch_add(&s->waiters, 1);
        futex_wait(&s->count, 0);
        atomic_fetch_sub(&s->waiters, 1);
    }
}

static void raw_sem_post(struct raw_sem *s)
{
    atomic_fetch_add(&s->count, 1);
    if (atomic_load(&s->waiters))
        futex_wake(&s->count, 1);
}

/* Shared between the two processes of a run. */
struct shm {
    _Atomic uint32_t ready;
    _Atomic uint32_t ring[3];
    _Atomic uint32_t held[3]; /* checks mutual exclusion, the same cost on both sides */
    struct raw_sem slots, items;
};

static struct shm *shm_new(void)
{
    struct shm *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return s;
}

static void wait_ready(struct shm *s)
{
    while (!atomic_load(&s->ready))
        sched_yield();
}

/* --- uncontended mutex --------------------------------------------------------- */

static void uncontended(void)
{
    long n = bench_iters(10000000);
    HANDLE m = CreateMutexA(NULL, FALSE, NULL);
    _Atomic uint32_t word = 0;

    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        WaitForSingleObject(m, INFINITE);
        ReleaseMutex(m);
    }
    double wi = (bench_now() - t0) / n * 1e9;
    t0 = bench_now();
    for (long i = 0; i < n; i++) {
        raw_lock(&word);
        raw_unlock(&word);
    }
    double raw = (bench_now() - t0) / n * 1e9;
    bench_row("uncontended mutex wait+release", "ns", wi, raw, "futex mutex lock+unlock");
    CloseHandle(m);
}

/* --- hand-off ring ----------------------------------------------------------------- */

/* Mark ring mutex i as held by us (it must have been free), or free. */
static void hold(struct shm *s, int i, uint32_t on)
{
    if (atomic_exchange(&s->held[i], on) == on) {
        fprintf(stderr, "bench_sync: ring mutex %d %s twice\n", i, on ? "held" : "freed");
        abort();
    }
}

/* Walk the ring from `start` for n steps: lock the next, release the
 * current. Ends holding nothing. */
static void raw_walk(struct shm *s, int start, long n)
{
    int cur = start;
    for (long i = 0; i < n; i++) {
        int next = (cur + 1) % 3;
        raw_lock(&s->ring[next]);
        hold(s, next, 1);
        hold(s, cur, 0);
        raw_unlock(&s->ring[cur]);
        cur = next;
    }
    hold(s, cur, 0);
    raw_unlock(&s->ring[cur]);
}

static void wi_walk(struct shm *s, HANDLE *ring, int start, long n)
{
    int cur = start;
    for (long i = 0; i < n; i++) {
        int next = (cur + 1) % 3;
        if (WaitForSingleObject(ring[next], INFINITE) != WAIT_OBJECT_0)
            abort();
        hold(s, next, 1);
        hold(s, cur, 0);
        ReleaseMutex(ring[cur]);
        cur = next;
    }
    hold(s, cur, 0);
    ReleaseMutex(ring[cur]);
}

static double raw_ring(long n)
{
    struct shm *s = shm_new();
    raw_lock(&s->ring[0]);
    hold(s, 0, 1);
    pid_t pid = fork();
    if (pid == 0) {
        raw_lock(&s->ring[1]);
        hold(s, 1, 1);
        atomic_store(&s->ready, 1);
        raw_walk(s, 1, n);
        _exit(0);
    }
    wait_ready(s);
    double t0 = bench_now();
    raw_walk(s, 0, n);
    double t = bench_now() - t0;
    waitpid(pid, NULL, 0);
    munmap(s, 4096);
    return t / n * 1e9;
}

struct walker {
    struct shm *s;
    long n;
};

static const char *const ring_names[3] = {"bench-ring-0", "bench-ring-1", "bench-ring-2"};

static DWORD WINAPI child_walker(LPVOID arg)
{
    struct walker *w = arg;
    /* Open by name: the child is an independent holder. */
    HANDLE mine[3];
    for (int i = 0; i < 3; i++)
        mine[i] = OpenMutexA(SYNCHRONIZE, FALSE, ring_names[i]);
    WaitForSingleObject(mine[1], INFINITE);
    hold(w->s, 1, 1);
    atomic_store(&w->s->ready, 1);
    wi_walk(w->s, mine, 1, w->n);
    return 0;
}

static double wi_ring(long n)
{
    struct shm *s = shm_new();
    HANDLE ring[3];
    for (int i = 0; i < 3; i++)
        ring[i] = CreateMutexA(NULL, i == 0, ring_names[i]);
    hold(s, 0, 1);
    pid_t pid = fork();
    if (pid == 0) {
        /* Walk on a thread of our own: the forked main thread still carries
         * its parent's cached thread id in winipc (owner_watch.c), so it
         * would pass for the owner of the parent's mutexes. */
        struct walker w = {s, n};
        HANDLE th = CreateThread(NULL, 0, child_walker, &w, 0, NULL);
        WaitForSingleObject(th, INFINITE);
        _exit(0);
    }
    wait_ready(s);
    double t0 = bench_now();
    wi_walk(s, ring, 0, n);
    double t = bench_now() - t0;
    waitpid(pid, NULL, 0);
    for (int i = 0; i < 3; i++)
        CloseHandle(ring[i]);
    munmap(s, 4096);
    return t / n * 1e9;
}

/* --- wait on 64 handles -------------------------------------------------------------- */

static void wait_64(void)
{
    long n = bench_iters(1000000);
    HANDLE hs[MAXIMUM_WAIT_OBJECTS];
    static _Atomic uint32_t words[MAXIMUM_WAIT_OBJECTS];
    for (int i = 0; i < MAXIMUM_WAIT_OBJECTS; i++)
        hs[i] = CreateEventA(NULL, TRUE, i == MAXIMUM_WAIT_OBJECTS - 1, NULL);
    atomic_store(&words[MAXIMUM_WAIT_OBJECTS - 1], 1);

    double t0 = bench_now();
    for (long i = 0; i < n; i++)
        if (WaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, hs, FALSE, INFINITE) != WAIT_OBJECT_0 + 63)
            abort();
    double wi = (bench_now() - t0) / n * 1e9;
    volatile int sink = 0;
    t0 = bench_now();
    for (long i = 0; i < n; i++)
        for (int k = 0; k < MAXIMUM_WAIT_OBJECTS; k++)
            if (atomic_load(&words[k])) {
                sink += k;
                break;
            }
    double raw = (bench_now() - t0) / n * 1e9;
    bench_row("WaitForMultipleObjects, 64 handles, last set", "ns", wi, raw, "scan of 64 atomic words");
    for (int i = 0; i < MAXIMUM_WAIT_OBJECTS; i++)
        CloseHandle(hs[i]);
}

/* --- producer / consumer ---------------------------------------------------------------- */

static double raw_bounded(long n)
{
    struct shm *s = shm_new();
    atomic_store(&s->slots.count, SLOTS);
    pid_t pid = fork();
    if (pid == 0) {
        atomic_store(&s->ready, 1);
        for (long i = 0; i < n; i++) {
            raw_sem_wait(&s->items);
            raw_sem_post(&s->slots);
        }
        _exit(0);
    }
    wait_ready(s);
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        raw_sem_wait(&s->slots);
        raw_sem_post(&s->items);
    }
    waitpid(pid, NULL, 0); /* the consumer has taken the last item */
    double t = bench_now() - t0;
    munmap(s, 4096);
    return n / t;
}

static double wi_bounded(long n)
{
    struct shm *s = shm_new();
    HANDLE slots = CreateSemaphoreA(NULL, SLOTS, SLOTS, "bench-slots");
    HANDLE items = CreateSemaphoreA(NULL, 0, SLOTS, "bench-items");
    pid_t pid = fork();
    if (pid == 0) {
        HANDLE sl = OpenSemaphoreA(SYNCHRONIZE | SEMAPHORE_MODIFY_STATE, FALSE, "bench-slots");
        HANDLE it = OpenSemaphoreA(SYNCHRONIZE | SEMAPHORE_MODIFY_STATE, FALSE, "bench-items");
        atomic_store(&s->ready, 1);
        for (long i = 0; i < n; i++) {
            WaitForSingleObject(it, INFINITE);
            ReleaseSemaphore(sl, 1, NULL);
        }
        _exit(0);
    }
    wait_ready(s);
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        WaitForSingleObject(slots, INFINITE);
        ReleaseSemaphore(items, 1, NULL);
    }
    waitpid(pid, NULL, 0);
    double t = bench_now() - t0;
    CloseHandle(slots);
    CloseHandle(items);
    munmap(s, 4096);
    return n / t;
}

/* Run both processes of a two-process figure on one CPU (the child
 * inherits the mask): every hand-off is then a futex wake plus a context
 * switch, on both sides. On two CPUs a hand-off may find the other side
 * still running (no sleep at all) or asleep in an idle CPU (tens of µs in
 * this VM), and which one happens depends on how long each side takes
 * before it sleeps, so those figures are bimodal; they are printed too. */
static cpu_set_t saved_mask;

static void one_cpu(bool on)
{
    if (on) {
        cpu_set_t one;
        sched_getaffinity(0, sizeof saved_mask, &saved_mask);
        CPU_ZERO(&one);
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &saved_mask)) {
                CPU_SET(c, &one);
                break;
            }
        sched_setaffinity(0, sizeof one, &one);
    } else {
        sched_setaffinity(0, sizeof saved_mask, &saved_mask);
    }
}

int main(void)
{
    uncontended();
    wait_64();

    long steps = bench_iters(100000), items = bench_iters(500000);
    for (int pinned = 1; pinned >= 0; pinned--) {
        char what[64];
        if (pinned)
            one_cpu(true);
        /* Unpinned raw steps can take ~30 µs each here: fewer of them. */
        long n = pinned ? steps : (steps + 3) / 4;
        double raw = raw_ring(n);
        double wi = wi_ring(n);
        snprintf(what, sizeof what, "mutex hand-off ring, 2 procs, %s (step)", pinned ? "1 CPU" : "2 CPUs");
        bench_row(what, "ns", wi, raw, "futex mutex ring");

        raw = raw_bounded(items);
        wi = wi_bounded(items);
        /* As time per item (lower is better, like every other row), then
         * the throughput itself. */
        snprintf(what, sizeof what, "semaphore prod/cons, 2 procs, %s (item)", pinned ? "1 CPU" : "2 CPUs");
        bench_row(what, "ns", 1e9 / wi, 1e9 / raw, "futex semaphores");
        bench_value("  winipc semaphores, items per second", "it/s", wi);
        bench_value("  raw futex semaphores, items per second", "it/s", raw);
        if (pinned)
            one_cpu(false);
    }
    return 0;
}
