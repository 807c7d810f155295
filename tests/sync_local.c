/* SPDX-License-Identifier: MIT */
/* In-process synchronization: critical sections, SRW locks, condition
 * variables, one-time initialization, WaitOnAddress.
 *
 * Counters under contention (threads x increments must add up), recursion,
 * ownership as other threads see it, producer/consumer and ping-pong with
 * single wakes (a lost wake-up hangs, which the bounded joins report), CV and
 * WaitOnAddress timeouts, INIT_ONCE run by racing threads, its failure path
 * and the Begin/Complete state machine with Windows' error codes.
 * "Is it blocked?" checks wait a bounded time for a thread that must not
 * finish; nothing sleeps to order events. Checks under #ifndef _WIN32 cover
 * behaviour Windows leaves undefined (see docs/sync-local.md). */
#include "test.h"

#include <stddef.h>

#define JOIN_MS 20000

static void join(HANDLE th, const char *what)
{
    DWORD r = WaitForSingleObject(th, JOIN_MS);
    T_EQ(r, WAIT_OBJECT_0, what);
    CloseHandle(th);
}

static LONG64 elapsed_ms(ULONGLONG start)
{
    return (LONG64)(GetTickCount64() - start);
}

/* ---- layouts ------------------------------------------------------------ */

static void test_layouts(void)
{
    T_EQ(sizeof(CRITICAL_SECTION), 40, "sizeof(CRITICAL_SECTION) is 40");
    T_EQ(offsetof(CRITICAL_SECTION, DebugInfo), 0, "DebugInfo at 0");
    T_EQ(offsetof(CRITICAL_SECTION, LockCount), 8, "LockCount at 8");
    T_EQ(offsetof(CRITICAL_SECTION, RecursionCount), 12, "RecursionCount at 12");
    T_EQ(offsetof(CRITICAL_SECTION, OwningThread), 16, "OwningThread at 16");
    T_EQ(offsetof(CRITICAL_SECTION, LockSemaphore), 24, "LockSemaphore at 24");
    T_EQ(offsetof(CRITICAL_SECTION, SpinCount), 32, "SpinCount at 32");
    T_EQ(sizeof(RTL_CRITICAL_SECTION_DEBUG), 48, "sizeof(RTL_CRITICAL_SECTION_DEBUG) is 48");
    T_EQ(offsetof(RTL_CRITICAL_SECTION_DEBUG, CriticalSection), 8, "CRITICAL_SECTION_DEBUG.CriticalSection at 8");
    T_EQ(offsetof(RTL_CRITICAL_SECTION_DEBUG, EntryCount), 32, "CRITICAL_SECTION_DEBUG.EntryCount at 32");
    T_EQ(sizeof(SRWLOCK), sizeof(void *), "SRWLOCK is one pointer");
    T_EQ(sizeof(CONDITION_VARIABLE), sizeof(void *), "CONDITION_VARIABLE is one pointer");
    T_EQ(sizeof(INIT_ONCE), sizeof(void *), "INIT_ONCE is one pointer");
    T_EQ(CRITICAL_SECTION_NO_DEBUG_INFO, 0x01000000, "CRITICAL_SECTION_NO_DEBUG_INFO");
    T_EQ(CONDITION_VARIABLE_LOCKMODE_SHARED, 1, "CONDITION_VARIABLE_LOCKMODE_SHARED");
    T_EQ(INIT_ONCE_CHECK_ONLY, 1, "INIT_ONCE_CHECK_ONLY");
    T_EQ(INIT_ONCE_ASYNC, 2, "INIT_ONCE_ASYNC");
    T_EQ(INIT_ONCE_INIT_FAILED, 4, "INIT_ONCE_INIT_FAILED");
    T_EQ(INIT_ONCE_CTX_RESERVED_BITS, 2, "INIT_ONCE_CTX_RESERVED_BITS");
    T_EQ(ERROR_TIMEOUT, 1460, "ERROR_TIMEOUT");
}

/* ---- critical sections -------------------------------------------------- */

static CRITICAL_SECTION cs;
static HANDLE owned_evt, done_evt;

static DWORD WINAPI try_enter_cs(LPVOID arg)
{
    CRITICAL_SECTION *c = arg;
    if (!TryEnterCriticalSection(c))
        return 0;
    LeaveCriticalSection(c);
    return 1;
}

static DWORD WINAPI hold_cs(LPVOID arg)
{
    EnterCriticalSection(&cs);
    SetEvent(owned_evt);
    WaitForSingleObject(done_evt, INFINITE);
    LeaveCriticalSection(&cs);
    return 0;
}

static DWORD WINAPI enter_cs(LPVOID arg)
{
    EnterCriticalSection(&cs);
    LeaveCriticalSection(&cs);
    return 0;
}

static DWORD thread_result(LPTHREAD_START_ROUTINE fn, LPVOID arg)
{
    DWORD code = T_POISON;
    HANDLE th = CreateThread(NULL, 0, fn, arg, 0, NULL);
    WaitForSingleObject(th, JOIN_MS);
    GetExitCodeThread(th, &code);
    CloseHandle(th);
    return code;
}

static void test_critical_section_basics(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    BOOL many_cpus = si.dwNumberOfProcessors > 1;

    memset(&cs, 0xAB, sizeof cs);
    InitializeCriticalSection(&cs);
    T_OK(cs.DebugInfo != NULL, "initialised section: DebugInfo non-NULL");
    T_EQ(cs.LockCount, -1, "initialised section: LockCount -1");
    T_EQ(cs.RecursionCount, 0, "initialised section: RecursionCount 0");
    T_OK(cs.OwningThread == NULL, "initialised section: no owner");

    EnterCriticalSection(&cs);
    T_EQ((DWORD)(ULONG_PTR)cs.OwningThread, GetCurrentThreadId(), "OwningThread is the owner's thread id");
    T_EQ(cs.RecursionCount, 1, "RecursionCount 1");
    T_EQ(cs.LockCount, -2, "owned, no waiters: LockCount -2");
    EnterCriticalSection(&cs);
    T_OK(TryEnterCriticalSection(&cs), "TryEnter by the owner succeeds (recursion)");
    T_EQ(cs.RecursionCount, 3, "RecursionCount 3");
    T_EQ(thread_result(try_enter_cs, &cs), 0, "TryEnter from another thread fails while owned");
    LeaveCriticalSection(&cs);
    LeaveCriticalSection(&cs);
    T_EQ(cs.RecursionCount, 1, "two leaves: RecursionCount 1");
    T_EQ(thread_result(try_enter_cs, &cs), 0, "still owned after two of three leaves");
    LeaveCriticalSection(&cs);
    T_EQ(cs.RecursionCount, 0, "released: RecursionCount 0");
    T_OK(cs.OwningThread == NULL, "released: no owner");
    T_EQ(cs.LockCount, -1, "released: LockCount -1");
    T_EQ(thread_result(try_enter_cs, &cs), 1, "TryEnter from another thread succeeds once free");

    /* A waiter blocks until the owner leaves. */
    owned_evt = CreateEventA(NULL, FALSE, FALSE, NULL);
    done_evt = CreateEventA(NULL, FALSE, FALSE, NULL);
    HANDLE holder = CreateThread(NULL, 0, hold_cs, NULL, 0, NULL);
    WaitForSingleObject(owned_evt, INFINITE);
    T_OK(!TryEnterCriticalSection(&cs), "TryEnter fails while another thread owns it");
    HANDLE waiter = CreateThread(NULL, 0, enter_cs, NULL, 0, NULL);
    T_EQ(WaitForSingleObject(waiter, 50), WAIT_TIMEOUT, "EnterCriticalSection blocks while owned");
    SetEvent(done_evt);
    join(waiter, "the blocked Enter returns after the owner leaves");
    join(holder, "holder finished");
    T_EQ(cs.LockCount, -1, "LockCount back to -1 after contention");
    DeleteCriticalSection(&cs);

    /* Spin counts. */
    T_OK(InitializeCriticalSectionAndSpinCount(&cs, 4000), "InitializeCriticalSectionAndSpinCount returns TRUE");
    T_EQ(SetCriticalSectionSpinCount(&cs, 100), many_cpus ? 4000 : 0, "SetCriticalSectionSpinCount returns the previous count");
    T_EQ(SetCriticalSectionSpinCount(&cs, 0), many_cpus ? 100 : 0, "... and stores the new one");
    DeleteCriticalSection(&cs);

    T_OK(InitializeCriticalSectionEx(&cs, 1000, CRITICAL_SECTION_NO_DEBUG_INFO), "InitializeCriticalSectionEx NO_DEBUG_INFO");
    EnterCriticalSection(&cs);
    T_EQ(cs.RecursionCount, 1, "Ex-initialised section works");
    LeaveCriticalSection(&cs);
    T_EQ(SetCriticalSectionSpinCount(&cs, 0), many_cpus ? 1000 : 0, "Ex spin count kept apart from the flags");
    DeleteCriticalSection(&cs);
    T_OK(InitializeCriticalSectionEx(&cs, 0, 0), "InitializeCriticalSectionEx flags 0");
    DeleteCriticalSection(&cs);
    SetLastError(T_POISON);
    T_ERR(InitializeCriticalSectionEx(&cs, 0, 0x80000000), ERROR_INVALID_PARAMETER, "reserved flag: ERROR_INVALID_PARAMETER");

#ifndef _WIN32
    /* Undefined on Windows: leaving a free section changes nothing here. */
    InitializeCriticalSection(&cs);
    LeaveCriticalSection(&cs);
    T_EQ(cs.LockCount, -1, "leaving a free section leaves it free");
    T_EQ(thread_result(try_enter_cs, &cs), 1, "and usable");
    DeleteCriticalSection(&cs);
#endif
    CloseHandle(owned_evt);
    CloseHandle(done_evt);
}

/* ---- counters under contention ---------------------------------------- */

#define NTHREADS 4
#define NINCR 100000

enum lock_kind { LK_CS, LK_CS_SPIN, LK_CS_TRY, LK_SRW, LK_SRW_MIXED };

static struct {
    enum lock_kind kind;
    CRITICAL_SECTION cs;
    SRWLOCK srw;
    HANDLE start;
    volatile LONG counter, mirror;
    volatile LONG torn; /* readers that saw counter != mirror */
} race;

static DWORD WINAPI race_worker(LPVOID arg)
{
    WaitForSingleObject(race.start, INFINITE);
    for (int i = 0; i < NINCR; i++) {
        switch (race.kind) {
        case LK_CS:
        case LK_CS_SPIN:
            EnterCriticalSection(&race.cs);
            race.counter++;
            LeaveCriticalSection(&race.cs);
            break;
        case LK_CS_TRY:
            while (!TryEnterCriticalSection(&race.cs))
                Sleep(0);
            race.counter++;
            LeaveCriticalSection(&race.cs);
            break;
        case LK_SRW:
            AcquireSRWLockExclusive(&race.srw);
            race.counter++;
            ReleaseSRWLockExclusive(&race.srw);
            break;
        case LK_SRW_MIXED:
            /* Every increment is exclusive; in between, shared readers check
             * that no writer is half-way through. */
            AcquireSRWLockShared(&race.srw);
            if (race.counter != race.mirror)
                InterlockedIncrement(&race.torn);
            ReleaseSRWLockShared(&race.srw);
            AcquireSRWLockExclusive(&race.srw);
            race.counter++;
            YieldProcessor();
            race.mirror++;
            ReleaseSRWLockExclusive(&race.srw);
            break;
        }
    }
    return 0;
}

static void run_race(enum lock_kind kind, const char *name)
{
    HANDLE th[NTHREADS];
    char msg[160];
    race.kind = kind;
    race.counter = race.mirror = race.torn = 0;
    if (kind == LK_CS_SPIN)
        InitializeCriticalSectionAndSpinCount(&race.cs, 4000);
    else
        InitializeCriticalSection(&race.cs);
    InitializeSRWLock(&race.srw);
    race.start = CreateEventA(NULL, TRUE, FALSE, NULL);
    for (int i = 0; i < NTHREADS; i++)
        th[i] = CreateThread(NULL, 0, race_worker, NULL, 0, NULL);
    SetEvent(race.start);
    for (int i = 0; i < NTHREADS; i++) {
        snprintf(msg, sizeof msg, "%s: worker %d finished", name, i);
        join(th[i], msg);
    }
    snprintf(msg, sizeof msg, "%s: %d threads x %d increments", name, NTHREADS, NINCR);
    T_EQ(race.counter, NTHREADS * NINCR, msg);
    if (kind == LK_SRW_MIXED) {
        T_EQ(race.torn, 0, "SRW mixed: no reader saw a writer half-way");
        T_EQ(race.mirror, NTHREADS * NINCR, "SRW mixed: mirror counter");
    }
    if (kind != LK_SRW && kind != LK_SRW_MIXED)
        T_EQ(race.cs.LockCount, -1, "section free and without waiters afterwards");
    DeleteCriticalSection(&race.cs);
    CloseHandle(race.start);
}

/* ---- SRW locks ----------------------------------------------------------- */

static SRWLOCK srw = SRWLOCK_INIT;
static volatile LONG stop_readers;

static DWORD WINAPI hold_shared(LPVOID arg)
{
    AcquireSRWLockShared(&srw);
    SetEvent(owned_evt);
    WaitForSingleObject(done_evt, INFINITE);
    ReleaseSRWLockShared(&srw);
    return 0;
}

static DWORD WINAPI take_exclusive(LPVOID arg)
{
    AcquireSRWLockExclusive(&srw);
    ReleaseSRWLockExclusive(&srw);
    return 0;
}

static DWORD WINAPI try_shared(LPVOID arg)
{
    if (!TryAcquireSRWLockShared(&srw))
        return 0;
    ReleaseSRWLockShared(&srw);
    return 1;
}

static DWORD WINAPI try_exclusive(LPVOID arg)
{
    if (!TryAcquireSRWLockExclusive(&srw))
        return 0;
    ReleaseSRWLockExclusive(&srw);
    return 1;
}

/* Overlapping readers: the lock is always read-held by someone while they
 * run. */
static DWORD WINAPI busy_reader(LPVOID arg)
{
    while (!InterlockedCompareExchange(&stop_readers, 0, 0)) {
        AcquireSRWLockShared(&srw);
        for (int i = 0; i < 200; i++)
            YieldProcessor();
        ReleaseSRWLockShared(&srw);
    }
    return 0;
}

static DWORD WINAPI repeated_writer(LPVOID arg)
{
    for (int i = 0; i < 500; i++) {
        AcquireSRWLockExclusive(&srw);
        ReleaseSRWLockExclusive(&srw);
    }
    return 0;
}

static void test_srwlock(void)
{
    SRWLOCK fresh;
    memset(&fresh, 0x5A, sizeof fresh);
    InitializeSRWLock(&fresh);
    T_OK(fresh.Ptr == NULL, "InitializeSRWLock: same state as SRWLOCK_INIT (zero)");

    T_OK(TryAcquireSRWLockExclusive(&srw), "TryAcquireSRWLockExclusive on a free lock");
    T_OK(!TryAcquireSRWLockShared(&srw), "TryAcquireShared fails while exclusively held (same thread too)");
    T_OK(!TryAcquireSRWLockExclusive(&srw), "TryAcquireExclusive is not recursive");
    T_EQ(thread_result(try_shared, NULL), 0, "TryAcquireShared from another thread fails");
    ReleaseSRWLockExclusive(&srw);
    T_OK(srw.Ptr == NULL, "released: back to the initial state");

    T_OK(TryAcquireSRWLockShared(&srw), "TryAcquireShared on a free lock");
    T_OK(TryAcquireSRWLockShared(&srw), "second shared hold");
    T_EQ(thread_result(try_shared, NULL), 1, "another thread shares it");
    T_EQ(thread_result(try_exclusive, NULL), 0, "exclusive fails while shared");
    ReleaseSRWLockShared(&srw);
    T_EQ(thread_result(try_exclusive, NULL), 0, "exclusive fails while one shared hold remains");
    ReleaseSRWLockShared(&srw);
    T_EQ(thread_result(try_exclusive, NULL), 1, "exclusive succeeds once all shared holds are gone");

    /* Writers first: with a reader holding and a writer queued, new shared
     * acquires wait, so readers cannot starve the writer. */
    owned_evt = CreateEventA(NULL, FALSE, FALSE, NULL);
    done_evt = CreateEventA(NULL, FALSE, FALSE, NULL);
    HANDLE reader = CreateThread(NULL, 0, hold_shared, NULL, 0, NULL);
    WaitForSingleObject(owned_evt, INFINITE);
    HANDLE writer = CreateThread(NULL, 0, take_exclusive, NULL, 0, NULL);
    ULONGLONG t0 = GetTickCount64();
    BOOL queued = FALSE;
    while (!queued && elapsed_ms(t0) < 10000) {
        if (TryAcquireSRWLockShared(&srw)) {
            ReleaseSRWLockShared(&srw);
            Sleep(1);
        } else
            queued = TRUE;
    }
    T_OK(queued, "a queued writer makes TryAcquireSRWLockShared fail");
    T_EQ(WaitForSingleObject(writer, 50), WAIT_TIMEOUT, "the writer waits for the reader");
    SetEvent(done_evt);
    join(reader, "reader released");
    join(writer, "the writer got the lock after the reader left");
    T_EQ(thread_result(try_exclusive, NULL), 1, "lock free afterwards");

    /* Writers are not starved by a continuous stream of overlapping readers. */
    HANDLE readers[3];
    stop_readers = 0;
    for (int i = 0; i < 3; i++)
        readers[i] = CreateThread(NULL, 0, busy_reader, NULL, 0, NULL);
    writer = CreateThread(NULL, 0, repeated_writer, NULL, 0, NULL);
    T_EQ(WaitForSingleObject(writer, 15000), WAIT_OBJECT_0, "500 exclusive acquires among busy readers");
    CloseHandle(writer);
    InterlockedExchange(&stop_readers, 1);
    for (int i = 0; i < 3; i++)
        join(readers[i], "busy reader stopped");
    T_EQ(thread_result(try_exclusive, NULL), 1, "lock free after the reader/writer mix");

#ifndef _WIN32
    /* Windows raises STATUS_RESOURCE_NOT_OWNED; winipc ignores the call. */
    SRWLOCK before = srw;
    ReleaseSRWLockExclusive(&srw);
    ReleaseSRWLockShared(&srw);
    T_OK(srw.Ptr == before.Ptr, "releasing a free lock changes nothing");
#endif
    CloseHandle(owned_evt);
    CloseHandle(done_evt);
}

/* ---- condition variables ------------------------------------------------ */

static CONDITION_VARIABLE cv = CONDITION_VARIABLE_INIT;
static volatile LONG flag;

static DWORD WINAPI set_flag_and_wake(LPVOID arg)
{
    EnterCriticalSection(&cs);
    flag = 1;
    WakeConditionVariable(&cv);
    LeaveCriticalSection(&cs);
    return 0;
}

static DWORD WINAPI set_flag_and_wake_srw(LPVOID arg)
{
    AcquireSRWLockExclusive(&srw);
    flag = 1;
    ReleaseSRWLockExclusive(&srw);
    WakeAllConditionVariable(&cv); /* after unlocking: also allowed */
    return 0;
}

static void test_cv_basics(void)
{
    ULONGLONG t0;
    InitializeCriticalSection(&cs);
    InitializeConditionVariable(&cv);
    T_OK(cv.Ptr == NULL, "InitializeConditionVariable: zero state");

    /* Timeouts. */
    EnterCriticalSection(&cs);
    t0 = GetTickCount64();
    SetLastError(T_POISON);
    T_ERR(SleepConditionVariableCS(&cv, &cs, 50), ERROR_TIMEOUT, "SleepConditionVariableCS times out: ERROR_TIMEOUT");
    T_OK(elapsed_ms(t0) >= 40, "waited about the timeout");
    T_EQ(cs.RecursionCount, 1, "section held again after the timeout");
    T_EQ((DWORD)(ULONG_PTR)cs.OwningThread, GetCurrentThreadId(), "by us");
    T_ERR(SleepConditionVariableCS(&cv, &cs, 0), ERROR_TIMEOUT, "timeout 0: ERROR_TIMEOUT at once");
    LeaveCriticalSection(&cs);

    /* A wake with nobody waiting is not remembered. */
    WakeConditionVariable(&cv);
    WakeAllConditionVariable(&cv);
    EnterCriticalSection(&cs);
    T_ERR(SleepConditionVariableCS(&cv, &cs, 10), ERROR_TIMEOUT, "earlier wakes do not satisfy a later sleep");
    LeaveCriticalSection(&cs);

    AcquireSRWLockExclusive(&srw);
    T_ERR(SleepConditionVariableSRW(&cv, &srw, 20, 0), ERROR_TIMEOUT, "SleepConditionVariableSRW exclusive times out");
    T_OK(!TryAcquireSRWLockShared(&srw), "exclusive hold restored");
    ReleaseSRWLockExclusive(&srw);
    AcquireSRWLockShared(&srw);
    T_ERR(SleepConditionVariableSRW(&cv, &srw, 20, CONDITION_VARIABLE_LOCKMODE_SHARED), ERROR_TIMEOUT,
          "SleepConditionVariableSRW shared times out");
    T_OK(!TryAcquireSRWLockExclusive(&srw), "shared hold restored");
    ReleaseSRWLockShared(&srw);
    AcquireSRWLockExclusive(&srw);
    T_ERR(SleepConditionVariableSRW(&cv, &srw, 20, 2), ERROR_INVALID_PARAMETER, "unknown SRW flag: ERROR_INVALID_PARAMETER");
    T_OK(!TryAcquireSRWLockShared(&srw), "lock still held after the rejected call");
    ReleaseSRWLockExclusive(&srw);

    /* Recursion depth is dropped while sleeping and restored after. */
    flag = 0;
    EnterCriticalSection(&cs);
    EnterCriticalSection(&cs);
    EnterCriticalSection(&cs);
    HANDLE th = CreateThread(NULL, 0, set_flag_and_wake, NULL, 0, NULL);
    BOOL ok = TRUE;
    while (!flag && ok)
        ok = SleepConditionVariableCS(&cv, &cs, 10000);
    T_OK(ok && flag, "woken by a thread that needed the section (it was fully released)");
    T_EQ(cs.RecursionCount, 3, "recursion count 3 restored");
    T_EQ((DWORD)(ULONG_PTR)cs.OwningThread, GetCurrentThreadId(), "owner restored");
    LeaveCriticalSection(&cs);
    LeaveCriticalSection(&cs);
    LeaveCriticalSection(&cs);
    join(th, "waker finished");

    flag = 0;
    AcquireSRWLockExclusive(&srw);
    th = CreateThread(NULL, 0, set_flag_and_wake_srw, NULL, 0, NULL);
    ok = TRUE;
    while (!flag && ok)
        ok = SleepConditionVariableSRW(&cv, &srw, 10000, 0);
    T_OK(ok && flag, "SRW sleeper woken by WakeAllConditionVariable");
    ReleaseSRWLockExclusive(&srw);
    join(th, "SRW waker finished");

#ifndef _WIN32
    /* Undefined on Windows: sleeping on a section we do not own. */
    T_ERR(SleepConditionVariableCS(&cv, &cs, 0), ERROR_NOT_OWNER, "sleeping on an unowned section: ERROR_NOT_OWNER");
    T_EQ(cs.LockCount, -1, "the section was left alone");
#endif
    DeleteCriticalSection(&cs);
}

/* Bounded buffer: producers and consumers wake one another with single
 * wakes; any lost wake-up leaves someone asleep forever. */
#define PC_ITEMS 20000
#define PC_SLOTS 4

static struct {
    BOOL use_srw;
    CRITICAL_SECTION cs;
    SRWLOCK srw;
    CONDITION_VARIABLE not_full, not_empty;
    int buf[PC_SLOTS];
    int count, head;
    LONGLONG consumed_sum;
    int consumed;
} pc;

static void pc_lock(void)
{
    if (pc.use_srw)
        AcquireSRWLockExclusive(&pc.srw);
    else
        EnterCriticalSection(&pc.cs);
}

static void pc_unlock(void)
{
    if (pc.use_srw)
        ReleaseSRWLockExclusive(&pc.srw);
    else
        LeaveCriticalSection(&pc.cs);
}

static void pc_wait(CONDITION_VARIABLE *c)
{
    if (pc.use_srw)
        SleepConditionVariableSRW(c, &pc.srw, INFINITE, 0);
    else
        SleepConditionVariableCS(c, &pc.cs, INFINITE);
}

static DWORD WINAPI producer(LPVOID arg)
{
    int base = (int)(INT_PTR)arg;
    for (int i = 1; i <= PC_ITEMS; i++) {
        pc_lock();
        while (pc.count == PC_SLOTS)
            pc_wait(&pc.not_full);
        pc.buf[(pc.head + pc.count) % PC_SLOTS] = base + i;
        pc.count++;
        pc_unlock();
        WakeConditionVariable(&pc.not_empty);
    }
    return 0;
}

static DWORD WINAPI consumer(LPVOID arg)
{
    for (int i = 0; i < PC_ITEMS; i++) {
        pc_lock();
        while (pc.count == 0)
            pc_wait(&pc.not_empty);
        pc.consumed_sum += pc.buf[pc.head];
        pc.head = (pc.head + 1) % PC_SLOTS;
        pc.count--;
        pc.consumed++;
        WakeConditionVariable(&pc.not_full); /* under the lock this time */
        pc_unlock();
    }
    return 0;
}

static void run_producer_consumer(BOOL use_srw)
{
    const char *name = use_srw ? "SRW" : "CS";
    char msg[128];
    memset(&pc, 0, sizeof pc);
    pc.use_srw = use_srw;
    InitializeCriticalSection(&pc.cs);
    InitializeSRWLock(&pc.srw);
    InitializeConditionVariable(&pc.not_full);
    InitializeConditionVariable(&pc.not_empty);
    HANDLE th[4];
    th[0] = CreateThread(NULL, 0, producer, (LPVOID)(INT_PTR)0, 0, NULL);
    th[1] = CreateThread(NULL, 0, producer, (LPVOID)(INT_PTR)1000000, 0, NULL);
    th[2] = CreateThread(NULL, 0, consumer, NULL, 0, NULL);
    th[3] = CreateThread(NULL, 0, consumer, NULL, 0, NULL);
    for (int i = 0; i < 4; i++) {
        snprintf(msg, sizeof msg, "producer/consumer (%s): thread %d finished, no lost wake-up", name, i);
        join(th[i], msg);
    }
    LONGLONG expect = 2LL * PC_ITEMS * (PC_ITEMS + 1) / 2 + 1000000LL * PC_ITEMS;
    snprintf(msg, sizeof msg, "producer/consumer (%s): every item consumed once", name);
    T_EQ(pc.consumed, 2 * PC_ITEMS, msg);
    T_EQ(pc.consumed_sum, expect, msg);
    DeleteCriticalSection(&pc.cs);
}

/* Strict alternation: each side waits for its turn and wakes the other
 * with a single wake; 20000 hand-overs. */
#define PP_ROUNDS 20000
static volatile LONG turn;

static DWORD WINAPI ping_pong(LPVOID arg)
{
    LONG me = (LONG)(INT_PTR)arg;
    for (int i = 0; i < PP_ROUNDS; i++) {
        EnterCriticalSection(&cs);
        while (turn != me)
            SleepConditionVariableCS(&cv, &cs, INFINITE);
        turn = 1 - me;
        WakeConditionVariable(&cv);
        LeaveCriticalSection(&cs);
    }
    return 0;
}

static void test_cv_ping_pong(void)
{
    InitializeCriticalSection(&cs);
    InitializeConditionVariable(&cv);
    turn = 0;
    HANDLE a = CreateThread(NULL, 0, ping_pong, (LPVOID)(INT_PTR)0, 0, NULL);
    HANDLE b = CreateThread(NULL, 0, ping_pong, (LPVOID)(INT_PTR)1, 0, NULL);
    join(a, "CV ping-pong: side 0 done (20000 single wakes)");
    join(b, "CV ping-pong: side 1 done");
    DeleteCriticalSection(&cs);
}

/* ---- one-time initialization ------------------------------------------- */

#define ONCE_THREADS 8
static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
static volatile LONG once_calls, once_arrived;
static volatile LONG once_fail_first;

static BOOL CALLBACK once_callback(PINIT_ONCE o, PVOID param, PVOID *context)
{
    LONG call = InterlockedIncrement(&once_calls);
    /* Hold the initialization until every thread has called in, so they
     * really race for it. */
    ULONGLONG t0 = GetTickCount64();
    while (InterlockedCompareExchange(&once_arrived, 0, 0) < ONCE_THREADS && elapsed_ms(t0) < 5000)
        Sleep(0);
    if (once_fail_first && call == 1) {
        SetLastError(12345);
        return FALSE;
    }
    if (context)
        *context = param;
    return TRUE;
}

struct once_result {
    BOOL ok;
    void *context;
};

static DWORD WINAPI once_worker(LPVOID arg)
{
    struct once_result *r = arg;
    r->context = (void *)(ULONG_PTR)0xBAD0;
    InterlockedIncrement(&once_arrived);
    r->ok = InitOnceExecuteOnce(&once, once_callback, (PVOID)(ULONG_PTR)0x1230, &r->context);
    return 0;
}

static void run_once_race(BOOL fail_first)
{
    HANDLE th[ONCE_THREADS];
    struct once_result res[ONCE_THREADS];
    InitOnceInitialize(&once);
    once_calls = once_arrived = 0;
    once_fail_first = fail_first;
    for (int i = 0; i < ONCE_THREADS; i++)
        th[i] = CreateThread(NULL, 0, once_worker, &res[i], 0, NULL);
    for (int i = 0; i < ONCE_THREADS; i++)
        join(th[i], "InitOnceExecuteOnce caller returned");
    int ok = 0, good_ctx = 0;
    for (int i = 0; i < ONCE_THREADS; i++) {
        ok += res[i].ok;
        good_ctx += res[i].ok && res[i].context == (void *)(ULONG_PTR)0x1230;
    }
    if (!fail_first) {
        T_EQ(once_calls, 1, "8 racing callers: the callback ran once");
        T_EQ(ok, ONCE_THREADS, "all 8 got TRUE");
    } else {
        T_EQ(once_calls, 2, "first callback failed: one blocked caller ran it again");
        T_EQ(ok, ONCE_THREADS - 1, "only the failed runner got FALSE");
    }
    T_EQ(good_ctx, ok, "every successful caller received the context");
    T_OK(once.Ptr == (void *)(ULONG_PTR)0x1232, "INIT_ONCE holds context | 2");
}

static BOOL CALLBACK check_args_callback(PINIT_ONCE o, PVOID param, PVOID *context)
{
    once_calls++;
    if (o != &once || param != (PVOID)(ULONG_PTR)0xdeadbeef || *context != (PVOID)(ULONG_PTR)0xFFFFFFF0)
        return FALSE;
    return o->Ptr == (void *)1; /* "sync initialization running" while in the callback */
}

static BOOL CALLBACK failing_callback(PINIT_ONCE o, PVOID param, PVOID *context)
{
    once_calls++;
    return FALSE;
}

static void test_init_once(void)
{
    BOOL pending;
    void *ctx;

    run_once_race(FALSE);
    run_once_race(TRUE);

    /* Arguments reach the callback; the caller's context pointer is its. */
    InitOnceInitialize(&once);
    once_calls = 0;
    ctx = (void *)(ULONG_PTR)0xFFFFFFF0;
    T_OK(InitOnceExecuteOnce(&once, check_args_callback, (PVOID)(ULONG_PTR)0xdeadbeef, &ctx),
         "callback saw the INIT_ONCE, Parameter, *Context and state 1");
    T_OK(once.Ptr == (void *)(ULONG_PTR)0xFFFFFFF2, "stored context | 2");
    ctx = NULL;
    T_OK(InitOnceExecuteOnce(&once, check_args_callback, NULL, &ctx), "second call succeeds");
    T_OK(ctx == (void *)(ULONG_PTR)0xFFFFFFF0, "and returns the stored context");
    T_EQ(once_calls, 1, "without calling the callback again");

    /* Failure path. */
    InitOnceInitialize(&once);
    once_calls = 0;
    ctx = NULL;
    SetLastError(T_POISON);
    T_OK(!InitOnceExecuteOnce(&once, failing_callback, NULL, &ctx), "callback FALSE: InitOnceExecuteOnce FALSE");
    T_EQ(GetLastError(), T_POISON, "last error left as the callback left it");
    T_OK(once.Ptr == NULL, "INIT_ONCE back to not initialised");
    T_OK(!InitOnceExecuteOnce(&once, failing_callback, NULL, NULL), "next call runs the callback again");
    T_EQ(once_calls, 2, "callback ran twice");

    /* Synchronous Begin/Complete. */
    InitOnceInitialize(&once);
    SetLastError(T_POISON);
    T_ERR(InitOnceBeginInitialize(&once, INIT_ONCE_CHECK_ONLY, &pending, &ctx), ERROR_GEN_FAILURE,
          "CHECK_ONLY before initialization: ERROR_GEN_FAILURE");
    T_ERR(InitOnceBeginInitialize(&once, INIT_ONCE_CHECK_ONLY | INIT_ONCE_ASYNC, &pending, &ctx), ERROR_INVALID_PARAMETER,
          "CHECK_ONLY|ASYNC: ERROR_INVALID_PARAMETER");
    T_ERR(InitOnceBeginInitialize(&once, 8, &pending, &ctx), ERROR_INVALID_PARAMETER, "unknown flag: ERROR_INVALID_PARAMETER");
    T_ERR(InitOnceComplete(&once, INIT_ONCE_INIT_FAILED, NULL), ERROR_GEN_FAILURE, "Complete with nothing pending: ERROR_GEN_FAILURE");
    pending = FALSE;
    T_OK(InitOnceBeginInitialize(&once, 0, &pending, &ctx), "BeginInitialize");
    T_OK(pending, "fPending TRUE: we initialise");
    T_OK(once.Ptr == (void *)1, "state 1 while pending");
    pending = 0xf;
    T_ERR(InitOnceBeginInitialize(&once, INIT_ONCE_CHECK_ONLY, &pending, &ctx), ERROR_GEN_FAILURE, "CHECK_ONLY while pending: ERROR_GEN_FAILURE");
    T_EQ(pending, 0xf, "fPending untouched on failure");
    T_ERR(InitOnceBeginInitialize(&once, INIT_ONCE_ASYNC, &pending, &ctx), ERROR_INVALID_PARAMETER, "ASYNC begin during a sync one: ERROR_INVALID_PARAMETER");
    T_ERR(InitOnceComplete(&once, INIT_ONCE_INIT_FAILED | INIT_ONCE_ASYNC, NULL), ERROR_INVALID_PARAMETER, "FAILED|ASYNC: ERROR_INVALID_PARAMETER");
    T_ERR(InitOnceComplete(&once, INIT_ONCE_INIT_FAILED, (void *)(ULONG_PTR)0xdeadbee0), ERROR_INVALID_PARAMETER, "FAILED with a context: ERROR_INVALID_PARAMETER");
    T_ERR(InitOnceComplete(&once, 0, (void *)(ULONG_PTR)0xdeadbeef), ERROR_INVALID_PARAMETER, "context with reserved bits: ERROR_INVALID_PARAMETER");
    T_ERR(InitOnceComplete(&once, INIT_ONCE_ASYNC, (void *)(ULONG_PTR)0xdeadbee0), ERROR_INVALID_PARAMETER, "ASYNC complete of a sync one: ERROR_INVALID_PARAMETER");
    T_OK(once.Ptr == (void *)1, "still pending after the rejected calls");
    T_OK(InitOnceComplete(&once, INIT_ONCE_INIT_FAILED, NULL), "Complete INIT_FAILED");
    T_OK(once.Ptr == NULL, "failed: back to 0");
    T_OK(InitOnceBeginInitialize(&once, 0, &pending, &ctx) && pending, "begin again after the failure");
    T_OK(InitOnceComplete(&once, 0, (void *)(ULONG_PTR)0xdeadbee0), "Complete with a context");
    T_OK(once.Ptr == (void *)(ULONG_PTR)0xdeadbee2, "done: context | 2");
    T_ERR(InitOnceComplete(&once, 0, NULL), ERROR_GEN_FAILURE, "second Complete: ERROR_GEN_FAILURE");
    ctx = NULL;
    pending = TRUE;
    T_OK(InitOnceBeginInitialize(&once, INIT_ONCE_CHECK_ONLY, &pending, &ctx), "CHECK_ONLY when done: TRUE");
    T_OK(!pending && ctx == (void *)(ULONG_PTR)0xdeadbee0, "fPending FALSE, context returned");
    ctx = NULL;
    T_OK(InitOnceBeginInitialize(&once, INIT_ONCE_ASYNC, &pending, &ctx) && !pending &&
             ctx == (void *)(ULONG_PTR)0xdeadbee0, "ASYNC begin when done: not pending, context");

    /* Asynchronous. */
    InitOnceInitialize(&once);
    T_OK(InitOnceBeginInitialize(&once, INIT_ONCE_ASYNC, &pending, &ctx) && pending, "ASYNC begin");
    T_OK(once.Ptr == (void *)3, "state 3 while async");
    T_OK(InitOnceBeginInitialize(&once, INIT_ONCE_ASYNC, &pending, &ctx) && pending, "parallel ASYNC begin");
    T_ERR(InitOnceBeginInitialize(&once, 0, &pending, &ctx), ERROR_INVALID_PARAMETER, "sync begin during async: ERROR_INVALID_PARAMETER");
    T_ERR(InitOnceBeginInitialize(&once, INIT_ONCE_CHECK_ONLY, &pending, &ctx), ERROR_GEN_FAILURE, "CHECK_ONLY during async: ERROR_GEN_FAILURE");
    T_ERR(InitOnceComplete(&once, INIT_ONCE_INIT_FAILED, NULL), ERROR_INVALID_PARAMETER, "sync complete of an async one: ERROR_INVALID_PARAMETER");
    T_ERR(InitOnceComplete(&once, INIT_ONCE_ASYNC, (void *)(ULONG_PTR)0xdeadbeef), ERROR_INVALID_PARAMETER, "ASYNC complete with reserved bits");
    T_OK(once.Ptr == (void *)3, "still async-pending");
    T_OK(InitOnceComplete(&once, INIT_ONCE_ASYNC, (void *)(ULONG_PTR)0xdeadbee0), "first ASYNC complete wins");
    T_OK(once.Ptr == (void *)(ULONG_PTR)0xdeadbee2, "done: context | 2");
    T_ERR(InitOnceComplete(&once, INIT_ONCE_ASYNC, (void *)(ULONG_PTR)0xabcd0), ERROR_GEN_FAILURE, "a later ASYNC complete: ERROR_GEN_FAILURE");
    ctx = NULL;
    T_OK(InitOnceBeginInitialize(&once, 0, &pending, &ctx) && !pending && ctx == (void *)(ULONG_PTR)0xdeadbee0,
         "sync begin after async completion: done, context");
    ctx = NULL;
    T_OK(InitOnceExecuteOnce(&once, failing_callback, NULL, &ctx) && ctx == (void *)(ULONG_PTR)0xdeadbee0,
         "ExecuteOnce on a completed INIT_ONCE returns its context");
}

/* ---- WaitOnAddress --------------------------------------------------------- */

static volatile union {
    ULONGLONG q;
    BYTE b[8];
} word;
static volatile LONG64 big;
static volatile LONG returned;

struct addr_wait {
    volatile void *addr;
    SIZE_T size;
    ULONGLONG undesired;
    BOOL loop; /* wait until the value changes, or a single call */
};

static DWORD WINAPI address_waiter(LPVOID arg)
{
    struct addr_wait *w = arg;
    BOOL ok;
    do {
        ok = WaitOnAddress(w->addr, &w->undesired, w->size, INFINITE);
    } while (ok && w->loop && memcmp((const void *)w->addr, &w->undesired, w->size) == 0);
    InterlockedIncrement(&returned);
    return ok;
}

static DWORD WINAPI big_ping_pong(LPVOID arg)
{
    /* Only the upper 32 bits of `big` change: a futex on the low word would
     * miss them. */
    ULONGLONG me = (ULONGLONG)(ULONG_PTR)arg;
    for (ULONGLONG i = 0; i < 10000; i++) {
        ULONGLONG want = (2 * i + me) << 32, now;
        while ((now = (ULONGLONG)InterlockedCompareExchange64(&big, 0, 0)) != want)
            WaitOnAddress(&big, &now, sizeof now, INFINITE);
        InterlockedExchange64(&big, (LONG64)(want + (1ull << 32)));
        WakeByAddressSingle((PVOID)&big);
    }
    return 0;
}

static void test_wait_on_address(void)
{
    ULONGLONG zero = 0, t0;
    BYTE b0 = 0;
    USHORT s0 = 0;
    LONG l0 = 0;

    word.q = 0;
    SetLastError(T_POISON);
    T_ERR(WaitOnAddress(&word, &zero, 0, 0), ERROR_INVALID_PARAMETER, "size 0: ERROR_INVALID_PARAMETER");
    T_ERR(WaitOnAddress(&word, &zero, 3, 0), ERROR_INVALID_PARAMETER, "size 3: ERROR_INVALID_PARAMETER");
    T_ERR(WaitOnAddress(&word, &zero, 16, 0), ERROR_INVALID_PARAMETER, "size 16: ERROR_INVALID_PARAMETER");

    word.b[1] = 7;
    T_OK(WaitOnAddress(&word.b[1], &b0, 1, INFINITE), "1 byte differs: TRUE at once");
    T_OK(WaitOnAddress(&word.b[0], &s0, 2, INFINITE), "2 bytes differ: TRUE at once");
    T_OK(WaitOnAddress(&word.b[0], &l0, 4, INFINITE), "4 bytes differ: TRUE at once");
    T_OK(WaitOnAddress(&word.q, &zero, 8, INFINITE), "8 bytes differ: TRUE at once");
    T_OK(WaitOnAddress(&word.b[1], &zero, 4, INFINITE), "unaligned 4 bytes differ: TRUE at once");
    word.q = 0;

    t0 = GetTickCount64();
    T_ERR(WaitOnAddress(&word.b[3], &b0, 1, 50), ERROR_TIMEOUT, "equal value: times out with ERROR_TIMEOUT");
    T_OK(elapsed_ms(t0) >= 40, "after about the timeout");
    T_ERR(WaitOnAddress(&word.q, &zero, 8, 0), ERROR_TIMEOUT, "timeout 0: ERROR_TIMEOUT");
    T_ERR(WaitOnAddress(&word.b[1], &zero, 2, 10), ERROR_TIMEOUT, "unaligned 2 bytes: timeout");
    WakeByAddressAll((PVOID)&word);
    WakeByAddressSingle((PVOID)&word);
    T_OK(1, "waking an address nobody waits on");

    /* A waiter on one byte is not woken for its neighbour, and is woken for
     * its own address. */
    struct addr_wait w1 = {&word.b[1], 1, 0, FALSE};
    returned = 0;
    HANDLE th = CreateThread(NULL, 0, address_waiter, &w1, 0, NULL);
    T_EQ(WaitForSingleObject(th, 50), WAIT_TIMEOUT, "waiter on b[1] blocks");
    WakeByAddressAll((PVOID)&word.b[0]);
    WakeByAddressAll((PVOID)&word.b[2]);
    T_EQ(WaitForSingleObject(th, 50), WAIT_TIMEOUT, "wakes for b[0] and b[2] leave it asleep");
    word.b[1] = 1;
    WakeByAddressSingle((PVOID)&word.b[1]);
    T_EQ(WaitForSingleObject(th, 10000), WAIT_OBJECT_0, "woken by WakeByAddressSingle(&b[1])");
    DWORD code = 0;
    GetExitCodeThread(th, &code);
    T_EQ(code, TRUE, "WaitOnAddress returned TRUE");
    CloseHandle(th);
    word.q = 0;

    /* WakeByAddressSingle wakes one of three, WakeByAddressAll the rest. */
    struct addr_wait w3 = {&word.q, 8, 0, FALSE};
    HANDLE ths[3];
    returned = 0;
    for (int i = 0; i < 3; i++)
        ths[i] = CreateThread(NULL, 0, address_waiter, &w3, 0, NULL);
    T_EQ(WaitForMultipleObjects(3, ths, FALSE, 50), WAIT_TIMEOUT, "three waiters block");
    WakeByAddressSingle((PVOID)&word.q);
    DWORD r = WaitForMultipleObjects(3, ths, FALSE, 10000);
    T_OK(r < WAIT_OBJECT_0 + 3, "WakeByAddressSingle released one waiter");
    T_EQ(WaitForMultipleObjects(3, ths, TRUE, 50), WAIT_TIMEOUT, "the other two still wait");
    T_EQ(returned, 1, "exactly one returned");
    WakeByAddressAll((PVOID)&word.q);
    T_EQ(WaitForMultipleObjects(3, ths, TRUE, 10000), WAIT_OBJECT_0, "WakeByAddressAll released the rest");
    for (int i = 0; i < 3; i++)
        CloseHandle(ths[i]);

    /* Ping-pong on an 8-byte value whose low half never changes. */
    big = 0;
    HANDLE a = CreateThread(NULL, 0, big_ping_pong, (LPVOID)0, 0, NULL);
    HANDLE b = CreateThread(NULL, 0, big_ping_pong, (LPVOID)1, 0, NULL);
    join(a, "8-byte ping-pong (upper half only): side 0 done");
    join(b, "8-byte ping-pong: side 1 done");
    T_EQ((ULONGLONG)big, 20000ull << 32, "20000 hand-overs");
}

int main(void)
{
    ULONGLONG t0 = GetTickCount64();
    test_layouts();
    test_critical_section_basics();
    run_race(LK_CS, "EnterCriticalSection");
    run_race(LK_CS_SPIN, "EnterCriticalSection, spin 4000");
    run_race(LK_CS_TRY, "TryEnterCriticalSection");
    run_race(LK_SRW, "SRW exclusive");
    run_race(LK_SRW_MIXED, "SRW shared/exclusive");
    test_srwlock();
    test_cv_basics();
    run_producer_consumer(FALSE);
    run_producer_consumer(TRUE);
    test_cv_ping_pong();
    test_init_once();
    test_wait_on_address();
    printf("# %lld ms\n", (long long)elapsed_ms(t0));
    return t_done();
}
