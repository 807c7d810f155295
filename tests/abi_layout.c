/* SPDX-License-Identifier: MIT */
/* The public types' sizes and field offsets equal the 64-bit Windows SDK's,
 * so structures can cross into code (or files, or wire formats) laid out for
 * Windows. Every check is a C11 _Static_assert: a wrong header fails the
 * build. Each structure then prints one TAP line so prove counts it.
 *
 * The expected numbers are the SDK's x64 layouts, worked out from the field
 * types Microsoft documents (natural alignment, LLP64: DWORD/LONG/BOOL 4
 * bytes, pointers and *_PTR 8). */
#include "test.h"

#include <stddef.h>

#if __SIZEOF_POINTER__ != 8
int main(void)
{
    printf("1..0 # SKIP the expected layouts are the 64-bit SDK's\n");
    return 0;
}
#else

#define SIZE(type, n) _Static_assert(sizeof(type) == (n), "sizeof(" #type ") != " #n)
#define ALIGN(type, n) _Static_assert(_Alignof(type) == (n), "_Alignof(" #type ") != " #n)
#define AT(type, field, n) _Static_assert(offsetof(type, field) == (n), "offsetof(" #type ", " #field ") != " #n)
#define SIGNED(type) _Static_assert((type)-1 < 0, #type " is signed")
#define UNSIGNED(type) _Static_assert((type)-1 > 0, #type " is unsigned")

static void pass(const char *what)
{
    t_report(1, __FILE__, __LINE__, what, NULL);
}

static void base_types(void)
{
    SIZE(BYTE, 1);
    SIZE(UCHAR, 1);
    SIZE(CHAR, 1);
    SIZE(BOOLEAN, 1);
    SIZE(WORD, 2);
    SIZE(USHORT, 2);
    SIZE(SHORT, 2);
    SIZE(DWORD, 4);
    SIZE(LONG, 4);
    SIZE(ULONG, 4);
    SIZE(BOOL, 4);
    SIZE(INT, 4);
    SIZE(UINT, 4);
    SIZE(FLOAT, 4);
    SIZE(HRESULT, 4);
    SIZE(ACCESS_MASK, 4);
    SIZE(LONGLONG, 8);
    SIZE(ULONGLONG, 8);
    SIZE(DWORDLONG, 8);
    SIZE(DWORD64, 8);
    SIZE(LONG64, 8);
    SIZE(ULONG64, 8);
    SIZE(LONG_PTR, 8);
    SIZE(ULONG_PTR, 8);
    SIZE(INT_PTR, 8);
    SIZE(UINT_PTR, 8);
    SIZE(DWORD_PTR, 8);
    SIZE(SIZE_T, 8);
    SIZE(SSIZE_T, 8);
    SIZE(WPARAM, 8);
    SIZE(LPARAM, 8);
    SIZE(LRESULT, 8);
    SIZE(HANDLE, 8);
    SIZE(HMODULE, 8);
    SIZE(LPVOID, 8);
    UNSIGNED(BYTE);
    UNSIGNED(WORD);
    UNSIGNED(DWORD);
    UNSIGNED(ULONG);
    UNSIGNED(ULONG_PTR);
    UNSIGNED(SIZE_T);
    UNSIGNED(ULONGLONG);
    SIGNED(SHORT);
    SIGNED(LONG);
    SIGNED(BOOL);
    SIGNED(INT);
    SIGNED(LONG_PTR);
    SIGNED(LONGLONG);
    SIGNED(HRESULT);
    pass("base types: 1/2/4/8-byte integers with the SDK's signedness, LLP64 pointer-sized types");
#ifdef WINIPC_BEGIN_DECLS
    /* winipc's WCHAR is the compiler's wchar_t (4 bytes here, 2 under
     * -fshort-wchar); the SDK's is a 2-byte wchar_t. */
    _Static_assert(_Generic((WCHAR)0, wchar_t: 1, default: 0), "WCHAR is wchar_t");
    SIZE(WCHAR, sizeof(wchar_t));
    pass("WCHAR is wchar_t");
#endif
}

static void large_integers(void)
{
    SIZE(LARGE_INTEGER, 8);
    ALIGN(LARGE_INTEGER, 8);
    AT(LARGE_INTEGER, LowPart, 0);
    AT(LARGE_INTEGER, HighPart, 4);
    AT(LARGE_INTEGER, u.LowPart, 0);
    AT(LARGE_INTEGER, u.HighPart, 4);
    AT(LARGE_INTEGER, QuadPart, 0);
    SIGNED(LONG); /* HighPart is a LONG, LowPart a DWORD */
    pass("LARGE_INTEGER: 8 bytes, LowPart@0 HighPart@4 (also in u), QuadPart@0");

    SIZE(ULARGE_INTEGER, 8);
    ALIGN(ULARGE_INTEGER, 8);
    AT(ULARGE_INTEGER, LowPart, 0);
    AT(ULARGE_INTEGER, HighPart, 4);
    AT(ULARGE_INTEGER, u.LowPart, 0);
    AT(ULARGE_INTEGER, u.HighPart, 4);
    AT(ULARGE_INTEGER, QuadPart, 0);
    pass("ULARGE_INTEGER: 8 bytes, LowPart@0 HighPart@4 (also in u), QuadPart@0");
}

static void filetime(void)
{
    SIZE(FILETIME, 8);
    ALIGN(FILETIME, 4);
    AT(FILETIME, dwLowDateTime, 0);
    AT(FILETIME, dwHighDateTime, 4);
    pass("FILETIME: 8 bytes, 4-aligned, dwLowDateTime@0 dwHighDateTime@4");
}

static void list_entry(void)
{
    SIZE(LIST_ENTRY, 16);
    AT(LIST_ENTRY, Flink, 0);
    AT(LIST_ENTRY, Blink, 8);
    pass("LIST_ENTRY: 16 bytes, Flink@0 Blink@8");
}

static void security_attributes(void)
{
    SIZE(SECURITY_ATTRIBUTES, 24);
    AT(SECURITY_ATTRIBUTES, nLength, 0);
    AT(SECURITY_ATTRIBUTES, lpSecurityDescriptor, 8);
    AT(SECURITY_ATTRIBUTES, bInheritHandle, 16);
    pass("SECURITY_ATTRIBUTES: 24 bytes, nLength@0 lpSecurityDescriptor@8 bInheritHandle@16");
}

static void overlapped(void)
{
    SIZE(OVERLAPPED, 32);
    ALIGN(OVERLAPPED, 8);
    AT(OVERLAPPED, Internal, 0);
    AT(OVERLAPPED, InternalHigh, 8);
    AT(OVERLAPPED, Offset, 16);
    AT(OVERLAPPED, OffsetHigh, 20);
    AT(OVERLAPPED, Pointer, 16);
    AT(OVERLAPPED, hEvent, 24);
    pass("OVERLAPPED: 32 bytes, Internal@0 InternalHigh@8 Offset@16 OffsetHigh@20 Pointer@16 hEvent@24");

    SIZE(OVERLAPPED_ENTRY, 32);
    AT(OVERLAPPED_ENTRY, lpCompletionKey, 0);
    AT(OVERLAPPED_ENTRY, lpOverlapped, 8);
    AT(OVERLAPPED_ENTRY, Internal, 16);
    AT(OVERLAPPED_ENTRY, dwNumberOfBytesTransferred, 24);
    pass("OVERLAPPED_ENTRY: 32 bytes, lpCompletionKey@0 lpOverlapped@8 Internal@16 dwNumberOfBytesTransferred@24");
}

static void system_info(void)
{
    SIZE(SYSTEM_INFO, 48);
    AT(SYSTEM_INFO, dwOemId, 0);
    AT(SYSTEM_INFO, wProcessorArchitecture, 0);
    AT(SYSTEM_INFO, wReserved, 2);
    AT(SYSTEM_INFO, dwPageSize, 4);
    AT(SYSTEM_INFO, lpMinimumApplicationAddress, 8);
    AT(SYSTEM_INFO, lpMaximumApplicationAddress, 16);
    AT(SYSTEM_INFO, dwActiveProcessorMask, 24);
    AT(SYSTEM_INFO, dwNumberOfProcessors, 32);
    AT(SYSTEM_INFO, dwProcessorType, 36);
    AT(SYSTEM_INFO, dwAllocationGranularity, 40);
    AT(SYSTEM_INFO, wProcessorLevel, 44);
    AT(SYSTEM_INFO, wProcessorRevision, 46);
    pass("SYSTEM_INFO: 48 bytes, dwOemId/wProcessorArchitecture@0 dwPageSize@4 ... wProcessorRevision@46");

    SIZE(SYSTEMTIME, 16);
    AT(SYSTEMTIME, wYear, 0);
    AT(SYSTEMTIME, wMonth, 2);
    AT(SYSTEMTIME, wDayOfWeek, 4);
    AT(SYSTEMTIME, wDay, 6);
    AT(SYSTEMTIME, wHour, 8);
    AT(SYSTEMTIME, wMinute, 10);
    AT(SYSTEMTIME, wSecond, 12);
    AT(SYSTEMTIME, wMilliseconds, 14);
    pass("SYSTEMTIME: 16 bytes, eight WORDs from wYear@0 to wMilliseconds@14");
}

/* STARTUPINFOA and STARTUPINFOW differ only in their string types. */
#define STARTUPINFO_LAYOUT(T)                                                                                          \
    SIZE(T, 104);                                                                                                      \
    AT(T, cb, 0);                                                                                                      \
    AT(T, lpReserved, 8);                                                                                              \
    AT(T, lpDesktop, 16);                                                                                              \
    AT(T, lpTitle, 24);                                                                                                \
    AT(T, dwX, 32);                                                                                                    \
    AT(T, dwY, 36);                                                                                                    \
    AT(T, dwXSize, 40);                                                                                                \
    AT(T, dwYSize, 44);                                                                                                \
    AT(T, dwXCountChars, 48);                                                                                          \
    AT(T, dwYCountChars, 52);                                                                                          \
    AT(T, dwFillAttribute, 56);                                                                                        \
    AT(T, dwFlags, 60);                                                                                                \
    AT(T, wShowWindow, 64);                                                                                            \
    AT(T, cbReserved2, 66);                                                                                            \
    AT(T, lpReserved2, 72);                                                                                            \
    AT(T, hStdInput, 80);                                                                                              \
    AT(T, hStdOutput, 88);                                                                                             \
    AT(T, hStdError, 96)

static void processes(void)
{
    STARTUPINFO_LAYOUT(STARTUPINFOA);
    pass("STARTUPINFOA: 104 bytes, cb@0 lpReserved@8 ... wShowWindow@64 cbReserved2@66 lpReserved2@72 hStdError@96");
    STARTUPINFO_LAYOUT(STARTUPINFOW);
    pass("STARTUPINFOW: 104 bytes, the same offsets as STARTUPINFOA");

    SIZE(PROCESS_INFORMATION, 24);
    AT(PROCESS_INFORMATION, hProcess, 0);
    AT(PROCESS_INFORMATION, hThread, 8);
    AT(PROCESS_INFORMATION, dwProcessId, 16);
    AT(PROCESS_INFORMATION, dwThreadId, 20);
    pass("PROCESS_INFORMATION: 24 bytes, hProcess@0 hThread@8 dwProcessId@16 dwThreadId@20");
}

static void memory(void)
{
    SIZE(MEMORY_BASIC_INFORMATION, 48);
    AT(MEMORY_BASIC_INFORMATION, BaseAddress, 0);
    AT(MEMORY_BASIC_INFORMATION, AllocationBase, 8);
    AT(MEMORY_BASIC_INFORMATION, AllocationProtect, 16);
    AT(MEMORY_BASIC_INFORMATION, PartitionId, 20);
    AT(MEMORY_BASIC_INFORMATION, RegionSize, 24);
    AT(MEMORY_BASIC_INFORMATION, State, 32);
    AT(MEMORY_BASIC_INFORMATION, Protect, 36);
    AT(MEMORY_BASIC_INFORMATION, Type, 40);
    pass("MEMORY_BASIC_INFORMATION: 48 bytes, AllocationProtect@16 PartitionId@20 RegionSize@24 Type@40");
}

static void local_sync(void)
{
    SIZE(RTL_CRITICAL_SECTION_DEBUG, 48);
    AT(RTL_CRITICAL_SECTION_DEBUG, Type, 0);
    AT(RTL_CRITICAL_SECTION_DEBUG, CreatorBackTraceIndex, 2);
    AT(RTL_CRITICAL_SECTION_DEBUG, CriticalSection, 8);
    AT(RTL_CRITICAL_SECTION_DEBUG, ProcessLocksList, 16);
    AT(RTL_CRITICAL_SECTION_DEBUG, EntryCount, 32);
    AT(RTL_CRITICAL_SECTION_DEBUG, ContentionCount, 36);
    AT(RTL_CRITICAL_SECTION_DEBUG, Flags, 40);
    AT(RTL_CRITICAL_SECTION_DEBUG, CreatorBackTraceIndexHigh, 44);
    pass("RTL_CRITICAL_SECTION_DEBUG: 48 bytes, CriticalSection@8 ProcessLocksList@16 EntryCount@32 Flags@40");

    SIZE(CRITICAL_SECTION, 40);
    AT(CRITICAL_SECTION, DebugInfo, 0);
    AT(CRITICAL_SECTION, LockCount, 8);
    AT(CRITICAL_SECTION, RecursionCount, 12);
    AT(CRITICAL_SECTION, OwningThread, 16);
    AT(CRITICAL_SECTION, LockSemaphore, 24);
    AT(CRITICAL_SECTION, SpinCount, 32);
    pass("CRITICAL_SECTION: 40 bytes, DebugInfo@0 LockCount@8 RecursionCount@12 OwningThread@16 LockSemaphore@24 "
         "SpinCount@32");

    SIZE(SRWLOCK, 8);
    AT(SRWLOCK, Ptr, 0);
    SIZE(CONDITION_VARIABLE, 8);
    AT(CONDITION_VARIABLE, Ptr, 0);
    SIZE(INIT_ONCE, 8);
    AT(INIT_ONCE, Ptr, 0);
    pass("SRWLOCK, CONDITION_VARIABLE, INIT_ONCE: one pointer, Ptr@0");

    SIZE(REASON_CONTEXT, 32);
    AT(REASON_CONTEXT, Version, 0);
    AT(REASON_CONTEXT, Flags, 4);
    AT(REASON_CONTEXT, Reason.Detailed.LocalizedReasonModule, 8);
    AT(REASON_CONTEXT, Reason.Detailed.LocalizedReasonId, 16);
    AT(REASON_CONTEXT, Reason.Detailed.ReasonStringCount, 20);
    AT(REASON_CONTEXT, Reason.Detailed.ReasonStrings, 24);
    AT(REASON_CONTEXT, Reason.SimpleReasonString, 8);
    pass("REASON_CONTEXT: 32 bytes, Version@0 Flags@4 Reason@8 (Detailed: module@8 id@16 count@20 strings@24)");
}

int main(void)
{
    base_types();
    large_integers();
    filetime();
    list_entry();
    security_attributes();
    overlapped();
    system_info();
    processes();
    memory();
    local_sync();
    return t_done();
}
#endif
