/* SPDX-License-Identifier: MIT */
/* Shared helpers for the benchmarks: a monotonic clock and a result line
 * "name  winipc  raw  ratio" so every figure stands next to the Linux
 * primitive it is built on, measured in the same run. */
#ifndef WINIPC_BENCH_H
#define WINIPC_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Iteration count scaled by BENCH_SCALE (default 1.0). */
static inline long bench_iters(long base)
{
    const char *s = getenv("BENCH_SCALE");
    double f = s ? atof(s) : 1.0;
    long n = (long)(base * (f > 0 ? f : 1.0));
    return n > 0 ? n : 1;
}

/* One result row: lower is better for times. */
static inline void bench_row(const char *what, const char *unit, double winipc, double raw, const char *raw_name)
{
    printf("%-44s %10.1f %-5s  raw %-26s %10.1f %-5s  ratio %.2f\n", what, winipc, unit, raw_name, raw, unit,
           raw > 0 ? winipc / raw : 0.0);
    fflush(stdout);
}

/* A plain figure without a raw counterpart. */
static inline void bench_value(const char *what, const char *unit, double v)
{
    printf("%-44s %10.1f %-5s\n", what, v, unit);
    fflush(stdout);
}

#endif
