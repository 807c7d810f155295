/* SPDX-License-Identifier: MIT */
/* Events: uncontended wait on a signaled event, and a two-process ping-pong
 * with two auto-reset events, each next to a raw futex doing the same over
 * shared memory. */
#include "bench.h"

#include <windows.h>

#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void futex_wait(_Atomic uint32_t *w, uint32_t v)
{
    syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Pin the calling process to one CPU (-1: leave it free). */
static void pin(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static int parent_cpu = -1, child_cpu = -1;

/* Pause iterations the raw version spins before sleeping (0 = plain futex). */
static int raw_spin;

/* Raw ping-pong: two words, each side waits for its word to become 1, sets
 * it back to 0, sets the other side's word to 1 and wakes it. */
static double raw_pingpong(long n)
{
    _Atomic uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    w[0] = w[1] = 0;
    pid_t pid = fork();
    if (pid == 0) {
        pin(child_cpu);
        for (long i = 0; i < n; i++) {
            for (int s = 0; s < raw_spin && atomic_load(&w[1]) == 0; s++)
                __builtin_ia32_pause();
            while (atomic_exchange(&w[1], 0) == 0)
                futex_wait(&w[1], 0);
            atomic_store(&w[0], 1);
            futex_wake(&w[0]);
        }
        _exit(0);
    }
    pin(parent_cpu);
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        atomic_store(&w[1], 1);
        futex_wake(&w[1]);
        for (int s = 0; s < raw_spin && atomic_load(&w[0]) == 0; s++)
            __builtin_ia32_pause();
        while (atomic_exchange(&w[0], 0) == 0)
            futex_wait(&w[0], 0);
    }
    double t = bench_now() - t0;
    waitpid(pid, NULL, 0);
    munmap((void *)w, 4096);
    return t / n * 1e9;
}

static double winipc_pingpong(long n)
{
    HANDLE ping = CreateEventA(NULL, FALSE, FALSE, "bench-ping");
    HANDLE pong = CreateEventA(NULL, FALSE, FALSE, "bench-pong");
    pid_t pid = fork();
    if (pid == 0) {
        /* Open by name: the child is an independent holder. */
        pin(child_cpu);
        HANDLE a = OpenEventA(EVENT_ALL_ACCESS, FALSE, "bench-ping");
        HANDLE b = OpenEventA(EVENT_ALL_ACCESS, FALSE, "bench-pong");
        for (long i = 0; i < n; i++) {
            WaitForSingleObject(a, INFINITE);
            SetEvent(b);
        }
        _exit(0);
    }
    pin(parent_cpu);
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        SetEvent(ping);
        WaitForSingleObject(pong, INFINITE);
    }
    double t = bench_now() - t0;
    waitpid(pid, NULL, 0);
    CloseHandle(ping);
    CloseHandle(pong);
    return t / n * 1e9;
}

int main(void)
{
    long n = bench_iters(20000000);
    HANDLE e = CreateEventA(NULL, TRUE, TRUE, NULL);
    _Atomic uint32_t word = 1;
    volatile uint32_t sink = 0;

    double t0 = bench_now();
    for (long i = 0; i < n; i++)
        WaitForSingleObject(e, INFINITE);
    double wi = (bench_now() - t0) / n * 1e9;
    t0 = bench_now();
    for (long i = 0; i < n; i++)
        sink += atomic_load(&word); /* the raw equivalent: a load of a set flag */
    double raw = (bench_now() - t0) / n * 1e9;
    bench_row("uncontended wait, signaled manual event", "ns", wi, raw, "atomic load");
    CloseHandle(e);

    e = CreateEventA(NULL, FALSE, FALSE, NULL);
    t0 = bench_now();
    for (long i = 0; i < n; i++) {
        SetEvent(e);
        WaitForSingleObject(e, INFINITE);
    }
    wi = (bench_now() - t0) / n * 1e9;
    t0 = bench_now();
    for (long i = 0; i < n; i++) {
        uint32_t z = 0;
        atomic_store(&word, 1);
        atomic_compare_exchange_strong(&word, &(uint32_t){1}, z);
    }
    raw = (bench_now() - t0) / n * 1e9;
    bench_row("SetEvent+wait, auto-reset, uncontended", "ns", wi, raw, "store+CAS");
    CloseHandle(e);

    long m = bench_iters(100000);
    double r = raw_pingpong(m);
    double w = winipc_pingpong(m);
    bench_row("event ping-pong round trip, 2 processes", "ns", w, r, "futex ping-pong");
    if (sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
        /* Separate cores: where spinning pays. */
        parent_cpu = 0;
        child_cpu = 1;
        r = raw_pingpong(m);
        w = winipc_pingpong(m);
        bench_row("event ping-pong, separate cores", "ns", w, r, "futex ping-pong");
        raw_spin = 2000;
        double rs = raw_pingpong(m);
        raw_spin = 0;
        bench_row("event ping-pong, separate cores", "ns", w, rs, "spin-then-futex ping-pong");
        /* One core for both: spinning must not burn the peer's time. */
        parent_cpu = child_cpu = 0;
        r = raw_pingpong(m);
        w = winipc_pingpong(m);
        bench_row("event ping-pong, one shared core", "ns", w, r, "futex ping-pong");
    }
    return 0;
}
