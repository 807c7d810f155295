/* SPDX-License-Identifier: MIT */
/* System information and clocks: GetSystemInfo, GetTickCount(64),
 * QueryPerformanceCounter/Frequency, GetSystemTimeAsFileTime. */
#include "error.h"

#include <time.h>
#include <unistd.h>

/* Windows reserves 64 KiB granularity for mappings and allocations; winipc
 * keeps that contract (MapViewOfFile offsets, VirtualAlloc reservations) so
 * ported code computing offsets with it stays correct. */
#define ALLOCATION_GRANULARITY 65536

static void fill_system_info(LPSYSTEM_INFO si)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    memset(si, 0, sizeof *si);
#if defined(__x86_64__)
    si->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_AMD64;
    si->dwProcessorType = PROCESSOR_AMD_X8664;
#elif defined(__aarch64__)
    si->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_ARM64;
    si->dwProcessorType = 0;
#elif defined(__i386__)
    si->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_INTEL;
    si->dwProcessorType = PROCESSOR_INTEL_PENTIUM;
#else
    si->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_UNKNOWN;
#endif
    si->dwPageSize = (DWORD)sysconf(_SC_PAGESIZE);
    si->dwAllocationGranularity = ALLOCATION_GRANULARITY;
    /* The user-mode address range Windows x64 reports. */
    si->lpMinimumApplicationAddress = (LPVOID)(uintptr_t)0x10000;
    si->lpMaximumApplicationAddress = (LPVOID)(uintptr_t)0x7FFFFFFEFFFFull;
    if (cpus < 1)
        cpus = 1;
    si->dwNumberOfProcessors = (DWORD)cpus;
    si->dwActiveProcessorMask = cpus >= 64 ? ~(DWORD_PTR)0 : (((DWORD_PTR)1 << cpus) - 1);
    si->wProcessorLevel = 6;
}

WINBASEAPI void WINAPI GetSystemInfo(LPSYSTEM_INFO lpSystemInfo)
{
    if (lpSystemInfo)
        fill_system_info(lpSystemInfo);
}

WINBASEAPI void WINAPI GetNativeSystemInfo(LPSYSTEM_INFO lpSystemInfo)
{
    if (lpSystemInfo)
        fill_system_info(lpSystemInfo);
}

static ULONGLONG monotonic_ms(void)
{
    struct timespec ts;
    /* CLOCK_BOOTTIME counts suspend too, as GetTickCount does. */
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (ULONGLONG)ts.tv_sec * 1000u + (ULONGLONG)ts.tv_nsec / 1000000u;
}

WINBASEAPI DWORD WINAPI GetTickCount(void)
{
    return (DWORD)monotonic_ms();
}

WINBASEAPI ULONGLONG WINAPI GetTickCount64(void)
{
    return monotonic_ms();
}

/* QueryPerformanceCounter counts nanoseconds of CLOCK_MONOTONIC; the
 * frequency is therefore 1e9 (Windows 10 reports 10 MHz, but the value is
 * documented as "fixed at boot", not fixed at 10 MHz). */
WINBASEAPI BOOL WINAPI QueryPerformanceCounter(LARGE_INTEGER *lpPerformanceCount)
{
    struct timespec ts;
    if (!lpPerformanceCount)
        return wi_fail_bool(ERROR_NOACCESS);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lpPerformanceCount->QuadPart = (LONGLONG)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    return TRUE;
}

WINBASEAPI BOOL WINAPI QueryPerformanceFrequency(LARGE_INTEGER *lpFrequency)
{
    if (!lpFrequency)
        return wi_fail_bool(ERROR_NOACCESS);
    lpFrequency->QuadPart = 1000000000LL;
    return TRUE;
}

/* 100-ns intervals since 1601-01-01 UTC. */
WINBASEAPI void WINAPI GetSystemTimeAsFileTime(LPFILETIME lpSystemTimeAsFileTime)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ULONGLONG t = (ULONGLONG)ts.tv_sec * 10000000u + (ULONGLONG)ts.tv_nsec / 100u + 116444736000000000ull;
    lpSystemTimeAsFileTime->dwLowDateTime = (DWORD)t;
    lpSystemTimeAsFileTime->dwHighDateTime = (DWORD)(t >> 32);
}
