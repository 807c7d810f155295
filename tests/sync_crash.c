/* SPDX-License-Identifier: MIT */
/* Processes killed (TerminateProcess, SIGKILL underneath) while they hold and
 * wait on named mutexes, semaphores and events.
 *
 * Each round starts a child (this binary re-run with argv[1] == "child")
 * that works through a script of steps on objects the parent created, plus
 * private objects only it knows. Before each step it writes "now doing step
 * X" into a progress block (a named file mapping), after it the state the
 * step left ("I own A", "S's count is now 3"), then "between steps". The
 * parent kills it either
 *   - at a step the child reports through a named event (sync rounds: the
 *     child then parks, waiting on an event, a mutex the parent owns, an
 *     empty semaphore or several of them), with parent threads already
 *     blocked on the mutexes the child owns, or
 *   - after a random delay, unsynchronised (async rounds: the child loops
 *     over the script; the kill lands anywhere, including inside a step),
 *     with or without a parent thread contending for mutex A.
 * Then, with its own handles, the parent checks: a mutex the child owned
 * gives WAIT_ABANDONED exactly once (to a waiter already blocked at the
 * kill, woken within ABANDON_BOUND_MS, or to the next one), a mutex it did
 * not own is free, the semaphore's count is the one the child recorded (or
 * one of the two around the step it died in) and within [0, max], the event
 * state likewise, objects the child only waited on are untouched, no wait
 * hit its bound, and once the parent closes its handles no name is left:
 * opening each name fails with ERROR_FILE_NOT_FOUND (which also removes
 * names whose only holder died) and the namespace directory holds nothing
 * but its lock file.
 *
 * Contention rounds: two children on one mutex, one killed while the other
 * waits (sync) or while both hammer it (async); the survivor gets
 * WAIT_ABANDONED and owns the mutex. Fallback rounds do the same with the
 * waiting child started with WINIPC_NO_PIDFD_THREAD=1 (owner liveness
 * polled instead of watched).
 *
 * WINIPC_CRASH_ROUNDS (default 100) scales the run; WINIPC_CRASH_SEED
 * replays one. The worst kill-to-wake latencies are printed as TAP
 * comments. */
#include "test.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <unistd.h>

#define KILL_CODE 0xC0DEu
#define WAIT_BOUND 10000      /* every wait in this test is bounded; reaching the bound is a hang */
#define PARK_BOUND 30000      /* a parked child is killed long before */
#define ABANDON_BOUND_MS 5000 /* a blocked waiter must learn of the death within this */
#define FALLBACK_BOUND_MS 2000
#define SEM_INITIAL 2
#define SEM_MAX 5

/* --- the script -------------------------------------------------------------- */

enum op {
    OP_NONE,
    OP_OPEN,
    OP_TAKE_A,
    OP_REL_A,
    OP_TAKE_S,
    OP_REL_S, /* releases 2 */
    OP_TAKE_B,
    OP_REL_B,
    OP_SET_E,
    OP_TAKE_E,
    OP_PRIV_CREATE,
    OP_PRIV_CLOSE,
    OP_PARK,
    OP_TAKE_AS, /* WaitForMultipleObjects(bWaitAll) on A and S */
};

/* Leaves every object as it found it, so async children can loop over it:
 * S goes 2 → 1 → 3 → 2, B is taken recursively. */
static const enum op script[] = {
    OP_TAKE_A, OP_TAKE_S, OP_TAKE_B, OP_TAKE_B, OP_REL_S, OP_SET_E,   OP_PRIV_CREATE,
    OP_REL_B,  OP_TAKE_E, OP_REL_B,  OP_TAKE_S, OP_PRIV_CLOSE, OP_REL_A,
};
#define SCRIPT_LEN ((int)(sizeof script / sizeof script[0]))

/* The same with A and S taken by one wait-all (S: 2 → 1 → 3 → 2). A process
 * killed inside WaitForMultipleObjects(bWaitAll) may leave the wait-all lock
 * bit set on the objects' words: the next waiters must find its holder dead
 * and release it (wait.c). WINIPC_CRASH_WAITALL=0 leaves these rounds out. */
static const enum op script_wait_all[] = {
    OP_TAKE_AS, OP_TAKE_B, OP_REL_S, OP_SET_E, OP_REL_B, OP_TAKE_E, OP_TAKE_S, OP_REL_A,
};
#define WAIT_ALL_LEN ((int)(sizeof script_wait_all / sizeof script_wait_all[0]))

enum park { PARK_EVENT, PARK_MUTEX, PARK_SEM, PARK_ANY, PARK_SPIN, PARK_COUNT };
static const char *const op_names[] = {"between steps", "opening",   "taking A",      "releasing A", "taking S",
                                       "releasing S",   "taking B",  "releasing B",   "setting E",   "taking E",
                                       "creating its private objects", "closing them", "parked", "taking A and S (wait-all)"};
static const char *const park_names[] = {"event", "owned mutex", "empty semaphore", "wait-any", "running"};

/* One child's progress, written only by that child (Interlocked*, full
 * barriers) and read by the parent. Between two steps `op` is OP_NONE and
 * the other fields are exact; during a step they describe the state before
 * it. */
struct progress {
    volatile LONG op;
    volatile LONG done;  /* steps completed */
    volatile LONG own_a; /* owns mutex A (contention rounds: mutex M) */
    volatile LONG own_b; /* recursion depth on mutex B */
    volatile LONG sem;   /* S's count */
    volatile LONG ev;    /* E left signaled */
    /* contention rounds */
    volatile LONG result;      /* the waiter's wait result */
    volatile LONG owned_after; /* 1: it then released the mutex once, and a second release failed */
    volatile LONG abandoned;   /* WAIT_ABANDONED results seen */
    volatile LONG acquisitions;
    volatile LONG64 woke; /* QueryPerformanceCounter when the (last abandoned) wait returned */
};

struct shared {
    struct progress slot[2];
};

struct names {
    char a[64], b[64], s[64], e[64], c[64], z[64], g[64], pm[64], ps[64], pe[64], m[64], prog[64], ready[64],
        ready2[64];
};

static void make_names(int round, struct names *n)
{
#define NAME(f, tag) snprintf(n->f, sizeof n->f, "winipc-crash-%d-%s", round, tag)
    NAME(a, "A");
    NAME(b, "B");
    NAME(s, "S");
    NAME(e, "E");
    NAME(c, "C");
    NAME(z, "Z");
    NAME(g, "G");
    NAME(pm, "PM");
    NAME(ps, "PS");
    NAME(pe, "PE");
    NAME(m, "M");
    NAME(prog, "progress");
    NAME(ready, "ready");
    NAME(ready2, "ready2");
#undef NAME
}

static struct shared *map_progress(const char *name, BOOL create, HANDLE *mapping)
{
    *mapping = create ? CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(struct shared), name)
                      : OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, name);
    if (!*mapping)
        return NULL;
    struct shared *sh = MapViewOfFile(*mapping, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(struct shared));
    if (!sh) {
        CloseHandle(*mapping);
        *mapping = NULL;
    }
    return sh;
}

static double qpc_to_ms(LONGLONG t)
{
    static LONGLONG freq;
    if (!freq) {
        LARGE_INTEGER f;
        QueryPerformanceFrequency(&f);
        freq = f.QuadPart;
    }
    return (double)t * 1000.0 / (double)freq;
}

static LONGLONG qpc(void)
{
    LARGE_INTEGER c;
    QueryPerformanceCounter(&c);
    return c.QuadPart;
}

static double now_ms(void)
{
    return qpc_to_ms(qpc());
}

/* --- children ------------------------------------------------------------------ */

struct child {
    struct names n;
    struct progress *p;
    HANDLE a, b, s, e, c, z, g, pm, ps, pe;
};

#define SET(field, v) InterlockedExchange(&c->p->field, (LONG)(v))

/* One step; returns 0 or the child's exit code for a wrong result. */
static int run_op(struct child *c, enum op op)
{
    DWORD r;
    LONG prev = -1;
    SET(op, op);
    switch (op) {
    case OP_TAKE_A:
        if ((r = WaitForSingleObject(c->a, WAIT_BOUND)) != WAIT_OBJECT_0)
            return 21;
        SET(own_a, 1);
        break;
    case OP_REL_A:
        if (!ReleaseMutex(c->a))
            return 22;
        SET(own_a, 0);
        break;
    case OP_TAKE_S:
        if (WaitForSingleObject(c->s, WAIT_BOUND) != WAIT_OBJECT_0)
            return 23;
        SET(sem, c->p->sem - 1);
        break;
    case OP_REL_S:
        if (!ReleaseSemaphore(c->s, 2, &prev) || prev != c->p->sem)
            return 24;
        SET(sem, c->p->sem + 2);
        break;
    case OP_TAKE_B:
        if (WaitForSingleObject(c->b, WAIT_BOUND) != WAIT_OBJECT_0)
            return 25;
        SET(own_b, c->p->own_b + 1);
        break;
    case OP_REL_B:
        if (!ReleaseMutex(c->b))
            return 26;
        SET(own_b, c->p->own_b - 1);
        break;
    case OP_SET_E:
        if (!SetEvent(c->e))
            return 27;
        SET(ev, 1);
        break;
    case OP_TAKE_E:
        if (WaitForSingleObject(c->e, 0) != WAIT_OBJECT_0)
            return 28;
        SET(ev, 0);
        break;
    case OP_TAKE_AS: {
        HANDLE hs[2] = {c->a, c->s};
        if (WaitForMultipleObjects(2, hs, TRUE, WAIT_BOUND) != WAIT_OBJECT_0)
            return 32;
        SET(own_a, 1);
        SET(sem, c->p->sem - 1);
        break;
    }
    case OP_PRIV_CREATE:
        /* Objects nobody else opens: a mutex owned from birth. */
        c->pm = CreateMutexA(NULL, TRUE, c->n.pm);
        c->ps = CreateSemaphoreA(NULL, 1, 1, c->n.ps);
        c->pe = CreateEventA(NULL, TRUE, TRUE, c->n.pe);
        if (!c->pm || !c->ps || !c->pe)
            return 29;
        break;
    case OP_PRIV_CLOSE:
        if (!CloseHandle(c->pm) || !CloseHandle(c->ps) || !CloseHandle(c->pe))
            return 30;
        break;
    default:
        return 31;
    }
    SET(op, OP_NONE);
    InterlockedIncrement(&c->p->done);
    return 0;
}

static int park(struct child *c, enum park how)
{
    SET(op, OP_PARK);
    switch (how) {
    case PARK_EVENT:
        WaitForSingleObject(c->g, PARK_BOUND);
        break;
    case PARK_MUTEX:
        WaitForSingleObject(c->c, PARK_BOUND);
        break;
    case PARK_SEM:
        WaitForSingleObject(c->z, PARK_BOUND);
        break;
    case PARK_ANY: {
        HANDLE hs[3] = {c->g, c->c, c->z};
        WaitForMultipleObjects(3, hs, FALSE, PARK_BOUND);
        break;
    }
    default: {
        double end = now_ms() + PARK_BOUND;
        while (now_ms() < end)
            ;
    }
    }
    return 40; /* not killed in time */
}

/* child single <round> <steps, or -1/-2: loop> <park> */
static int child_single(int round, int steps, enum park how)
{
    struct child ch, *c = &ch;
    HANDLE mapping, ready;
    memset(c, 0, sizeof *c);
    make_names(round, &c->n);
    struct shared *sh = map_progress(c->n.prog, FALSE, &mapping);
    if (!sh)
        return 10;
    c->p = &sh->slot[0];
    SET(op, OP_OPEN);
    c->a = OpenMutexA(SYNCHRONIZE | MUTANT_QUERY_STATE, FALSE, c->n.a);
    c->b = OpenMutexA(SYNCHRONIZE, FALSE, c->n.b);
    c->s = OpenSemaphoreA(SYNCHRONIZE | SEMAPHORE_MODIFY_STATE, FALSE, c->n.s);
    c->e = OpenEventA(SYNCHRONIZE | EVENT_MODIFY_STATE, FALSE, c->n.e);
    c->c = OpenMutexA(SYNCHRONIZE, FALSE, c->n.c);
    c->z = OpenSemaphoreA(SYNCHRONIZE, FALSE, c->n.z);
    c->g = OpenEventA(SYNCHRONIZE, FALSE, c->n.g);
    ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, c->n.ready);
    if (!c->a || !c->b || !c->s || !c->e || !c->c || !c->z || !c->g || !ready)
        return 11;
    SET(op, OP_NONE);
    if (steps < 0) {
        /* -1: loop over the whole script; -2: without the private
         * objects, whose creation would otherwise take most of the time
         * (and catch most of the kills); -3: the wait-all script. */
        SetEvent(ready);
        while (steps == -3)
            for (int i = 0; i < WAIT_ALL_LEN; i++) {
                int rc = run_op(c, script_wait_all[i]);
                if (rc)
                    return rc;
            }
        for (;;)
            for (int i = 0; i < SCRIPT_LEN; i++) {
                if (steps == -2 && (script[i] == OP_PRIV_CREATE || script[i] == OP_PRIV_CLOSE))
                    continue;
                int rc = run_op(c, script[i]);
                if (rc)
                    return rc;
            }
    }
    for (int i = 0; i < steps; i++) {
        int rc = run_op(c, script[i]);
        if (rc)
            return rc;
    }
    SetEvent(ready);
    return park(c, how);
}

/* child own <round>: take M, say so, park. */
static int child_own(int round)
{
    struct names n;
    HANDLE mapping;
    make_names(round, &n);
    struct shared *sh = map_progress(n.prog, FALSE, &mapping);
    HANDLE m = OpenMutexA(SYNCHRONIZE, FALSE, n.m), g = OpenEventA(SYNCHRONIZE, FALSE, n.g);
    HANDLE ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, n.ready);
    if (!sh || !m || !g || !ready)
        return 10;
    if (WaitForSingleObject(m, WAIT_BOUND) != WAIT_OBJECT_0)
        return 21;
    InterlockedExchange(&sh->slot[0].own_a, 1);
    SetEvent(ready);
    WaitForSingleObject(g, PARK_BOUND);
    return 40;
}

/* child contend <round>: say "about to wait on M", wait, record the result
 * and whether we then own M exactly once. */
static int child_contend(int round)
{
    struct names n;
    HANDLE mapping;
    make_names(round, &n);
    struct shared *sh = map_progress(n.prog, FALSE, &mapping);
    HANDLE m = OpenMutexA(SYNCHRONIZE, FALSE, n.m), ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, n.ready2);
    if (!sh || !m || !ready)
        return 10;
    struct progress *p = &sh->slot[1];
    SetEvent(ready);
    DWORD r = WaitForSingleObject(m, WAIT_BOUND);
    InterlockedExchange64(&p->woke, qpc());
    InterlockedExchange(&p->result, (LONG)r);
    if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED) {
        BOOL first = ReleaseMutex(m);
        BOOL second = ReleaseMutex(m);
        DWORD err = GetLastError();
        InterlockedExchange(&p->owned_after, first && !second && err == ERROR_NOT_OWNER);
    }
    CloseHandle(m);
    CloseHandle(ready);
    UnmapViewOfFile(sh);
    CloseHandle(mapping);
    return 0;
}

/* child loop <round> <slot>: take and release M until G is set. */
static int child_loop(int round, int slot)
{
    struct names n;
    HANDLE mapping;
    make_names(round, &n);
    struct shared *sh = map_progress(n.prog, FALSE, &mapping);
    HANDLE m = OpenMutexA(SYNCHRONIZE, FALSE, n.m), g = OpenEventA(SYNCHRONIZE, FALSE, n.g);
    HANDLE ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, slot ? n.ready2 : n.ready);
    if (!sh || !m || !g || !ready)
        return 10;
    struct progress *p = &sh->slot[slot];
    SetEvent(ready);
    while (WaitForSingleObject(g, 0) == WAIT_TIMEOUT) {
        InterlockedExchange(&p->op, OP_TAKE_A);
        DWORD r = WaitForSingleObject(m, WAIT_BOUND);
        if (r == WAIT_ABANDONED) {
            InterlockedExchange64(&p->woke, qpc());
            InterlockedIncrement(&p->abandoned);
        } else if (r != WAIT_OBJECT_0) {
            InterlockedExchange(&p->result, (LONG)r);
            return r == WAIT_TIMEOUT ? 41 : 42;
        }
        InterlockedExchange(&p->own_a, 1);
        InterlockedExchange(&p->op, OP_NONE);
        InterlockedIncrement(&p->acquisitions);
        for (volatile int spin = 0; spin < 200; spin++)
            ;
        InterlockedExchange(&p->op, OP_REL_A);
        if (!ReleaseMutex(m))
            return 43;
        InterlockedExchange(&p->own_a, 0);
        InterlockedExchange(&p->op, OP_NONE);
        SwitchToThread();
    }
    CloseHandle(m);
    CloseHandle(g);
    CloseHandle(ready);
    UnmapViewOfFile(sh);
    CloseHandle(mapping);
    return 0;
}

static int child_main(int argc, char **argv)
{
    if (argc >= 6 && !strcmp(argv[2], "single"))
        return child_single(atoi(argv[3]), atoi(argv[4]), (enum park)atoi(argv[5]));
    if (argc >= 4 && !strcmp(argv[2], "own"))
        return child_own(atoi(argv[3]));
    if (argc >= 4 && !strcmp(argv[2], "contend"))
        return child_contend(atoi(argv[3]));
    if (argc >= 5 && !strcmp(argv[2], "loop"))
        return child_loop(atoi(argv[3]), atoi(argv[4]));
    return 99;
}

/* --- parent helpers ---------------------------------------------------------- */

static unsigned long long rng;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static double worst_latency, worst_fallback_latency;
static int latencies, fallback_latencies, lingering_names;

/* A round collects its failures and reports one TAP line. */
static int round_failed;
static char round_label[160];

static void round_fail(int line, const char *fmt, ...)
{
    DWORD err = GetLastError();
    va_list ap;
    round_failed = 1;
    printf("#   %s (line %d): ", round_label, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(" [GetLastError() = %lu]\n", (unsigned long)err);
}

#define R_CHECK(cond, ...)                         \
    do {                                           \
        if (!(cond))                               \
            round_fail(__LINE__, __VA_ARGS__);     \
    } while (0)

static void round_begin(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(round_label, sizeof round_label, fmt, ap);
    va_end(ap);
    round_failed = 0;
}

static void round_end(void)
{
    T_OK(!round_failed, round_label);
}

static void note_latency(double ms, bool fallback)
{
    if (fallback) {
        fallback_latencies++;
        if (ms > worst_fallback_latency)
            worst_fallback_latency = ms;
    } else {
        latencies++;
        if (ms > worst_latency)
            worst_latency = ms;
    }
}

/* Just enough of our environment for a child, plus WINIPC_NO_PIDFD_THREAD=1. */
static char *fallback_env(void)
{
    static const char *const keep[] = {"WINIPC_ROOT",   "PATH",          "HOME", "LD_LIBRARY_PATH", "ASAN_OPTIONS",
                                       "UBSAN_OPTIONS", "LSAN_OPTIONS", "TMPDIR"};
    static char block[32768];
    size_t len = 0;
    char val[4096];
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        DWORD n = GetEnvironmentVariableA(keep[i], val, sizeof val);
        if (n == 0 || n >= sizeof val || len + strlen(keep[i]) + n + 2 >= sizeof block - 64)
            continue;
        len += (size_t)sprintf(block + len, "%s=%s", keep[i], val) + 1;
    }
    len += (size_t)sprintf(block + len, "WINIPC_NO_PIDFD_THREAD=1") + 1;
    block[len] = 0;
    return block;
}

static BOOL spawn(const char *args, char *env, PROCESS_INFORMATION *pi)
{
    char self[MAX_PATH], cmd[1024];
    STARTUPINFOA si;
    if (!GetModuleFileNameA(NULL, self, sizeof self))
        return FALSE;
    snprintf(cmd, sizeof cmd, "\"%s\" child %s", self, args);
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    memset(pi, 0, sizeof *pi);
    return CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, env, NULL, &si, pi);
}

/* Kill `pi` (recording when) and wait until it is gone. A child that ended
 * by itself reports its exit code: it found something wrong. */
static double kill_child(PROCESS_INFORMATION *pi, const char *who)
{
    double t = now_ms();
    BOOL ok = TerminateProcess(pi->hProcess, KILL_CODE);
    DWORD code = T_POISON;
    R_CHECK(WaitForSingleObject(pi->hProcess, WAIT_BOUND) == WAIT_OBJECT_0, "%s: gone after TerminateProcess", who);
    GetExitCodeProcess(pi->hProcess, &code);
    R_CHECK(ok && code == KILL_CODE, "%s ended by itself before the kill, exit code %lu", who, (unsigned long)code);
    return t;
}

static void close_child(PROCESS_INFORMATION *pi)
{
    CloseHandle(pi->hProcess);
    CloseHandle(pi->hThread);
}

/* Wait on `ready` while the child lives; false if it ended first. */
static bool wait_ready(HANDLE ready, PROCESS_INFORMATION *pi, const char *who)
{
    HANDLE hs[2] = {ready, pi->hProcess};
    DWORD r = WaitForMultipleObjects(2, hs, FALSE, WAIT_BOUND), code = T_POISON;
    if (r == WAIT_OBJECT_0)
        return true;
    GetExitCodeProcess(pi->hProcess, &code);
    R_CHECK(0, "%s never got ready: wait %lu, exit code %lu", who, (unsigned long)r, (unsigned long)code);
    return false;
}

static void delay_us(unsigned us)
{
    double end = now_ms() + us / 1000.0;
    while (now_ms() < end)
        ;
}

static DWORD WINAPI try_take(LPVOID arg)
{
    DWORD r = WaitForSingleObject((HANDLE)arg, 0);
    if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED)
        ReleaseMutex((HANDLE)arg);
    return r;
}

/* WaitForSingleObject(h, 0) on a fresh thread (a mutex we own would be
 * ours again through recursion). */
static DWORD take_elsewhere(HANDLE h)
{
    DWORD code = T_POISON;
    HANDLE th = CreateThread(NULL, 0, try_take, h, 0, NULL);
    if (!th)
        return code;
    WaitForSingleObject(th, WAIT_BOUND);
    GetExitCodeThread(th, &code);
    CloseHandle(th);
    return code;
}

/* Acquire a mutex the dead child may have owned; compare the result with
 * what its progress allows; then we must own it exactly once. */
static void check_mutex(const char *what, HANDLE h, bool may_free, bool may_abandoned)
{
    DWORD r = WaitForSingleObject(h, WAIT_BOUND);
    R_CHECK((r == WAIT_OBJECT_0 && may_free) || (r == WAIT_ABANDONED && may_abandoned),
            "%s: wait returned %lu (free allowed: %d, abandoned allowed: %d)", what, (unsigned long)r, may_free,
            may_abandoned);
    if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED) {
        R_CHECK(ReleaseMutex(h), "%s: released after the wait", what);
        BOOL again = ReleaseMutex(h);
        R_CHECK(!again && GetLastError() == ERROR_NOT_OWNER, "%s: owned once only (no inherited recursion)", what);
    }
}

/* Count a semaphore by draining it, compare, refill to the maximum. */
static void check_semaphore(const char *what, HANDLE h, LONG max, LONG expect_a, LONG expect_b)
{
    LONG n = 0, prev = -1;
    while (n <= max && WaitForSingleObject(h, 0) == WAIT_OBJECT_0)
        n++;
    R_CHECK(n <= max, "%s: count above the maximum %ld", what, (long)max);
    R_CHECK(n == expect_a || n == expect_b, "%s: count %ld, the child recorded %ld (or %ld within its step)", what,
            (long)n, (long)expect_a, (long)expect_b);
    R_CHECK(ReleaseSemaphore(h, max, &prev) && prev == 0, "%s: refilled to the maximum (previous %ld)", what,
            (long)prev);
    BOOL over = ReleaseSemaphore(h, 1, NULL);
    R_CHECK(!over && GetLastError() == ERROR_TOO_MANY_POSTS, "%s: the maximum is intact", what);
}

struct leak_check {
    char kind; /* m(utex) s(emaphore) e(vent) f(ile mapping) */
    const char *name;
};

static HANDLE open_kind(char kind, const char *name)
{
    switch (kind) {
    case 'm':
        return OpenMutexA(SYNCHRONIZE, FALSE, name);
    case 's':
        return OpenSemaphoreA(SYNCHRONIZE, FALSE, name);
    case 'e':
        return OpenEventA(SYNCHRONIZE, FALSE, name);
    default:
        return OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    }
}

static void open_must_fail(const struct leak_check *names, int count)
{
    for (int i = 0; i < count; i++) {
        SetLastError(T_POISON);
        HANDLE h = open_kind(names[i].kind, names[i].name);
        R_CHECK(!h && GetLastError() == ERROR_FILE_NOT_FOUND, "open %s after the round: %s, error %lu", names[i].name,
                h ? "opened" : "failed", (unsigned long)GetLastError());
        if (h)
            CloseHandle(h);
    }
}

/* Files in the namespace directory besides its lock file (-1: no directory
 * to look at, e.g. under Wine); the first few names go to `found`. */
static int namespace_files(char *found, size_t size)
{
    const char *root = getenv("WINIPC_ROOT");
    char path[4096];
    if (!root || !*root)
        return -1;
    snprintf(path, sizeof path, "%s/u%u", root, (unsigned)geteuid());
    DIR *d = opendir(path);
    R_CHECK(d != NULL, "namespace directory %s", path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    found[0] = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, ".lock"))
            continue;
        if (n++ < 8 && strlen(found) + strlen(de->d_name) + 2 < size) {
            strcat(found, " ");
            strcat(found, de->d_name);
        }
    }
    closedir(d);
    return n;
}

/* After the round, with every handle closed. Names only the dead child held
 * are stale files: opening them must fail with ERROR_FILE_NOT_FOUND (and
 * removes them). Then the directory must hold nothing but its lock file
 * before we even look up the names we held ourselves: our last CloseHandle
 * must have removed them. A name may outlive its last handle briefly while
 * our service thread drops an owner watch on the dead child: tolerated for
 * up to 1 s, and counted. Finally opening our names must fail too. */
static void check_no_names(const struct leak_check *child_only, int nchild, const struct leak_check *ours, int nours)
{
    char found[512];
    int n;
    open_must_fail(child_only, nchild);
    double until = now_ms() + 1000;
    while ((n = namespace_files(found, sizeof found)) > 0 && now_ms() < until) {
        if (until - now_ms() > 999)
            lingering_names++;
        Sleep(10);
    }
    R_CHECK(n <= 0, "%d file(s) left in the namespace directory after the last CloseHandle:%s", n, found);
    open_must_fail(ours, nours);
    n = namespace_files(found, sizeof found);
    R_CHECK(n <= 0, "%d file(s) left in the namespace directory:%s", n, found);
}

/* --- single-child rounds ------------------------------------------------------- */

/* A parent thread blocked on a mutex the child owns when it is killed. */
struct waiter {
    HANDLE mutex, other; /* other: an unset event (wait-any) or a set one (wait-all) */
    int shape;           /* 0: single, 1: wait-any {other, mutex}, 2: wait-all {mutex, other} */
    volatile LONG started;
    DWORD result, expect;
    double woke;
    BOOL owned_once;
    HANDLE thread;
};

static DWORD WINAPI waiter_main(LPVOID arg)
{
    struct waiter *w = arg;
    HANDLE any[2] = {w->other, w->mutex}, all[2] = {w->mutex, w->other};
    InterlockedExchange(&w->started, 1);
    switch (w->shape) {
    case 0:
        w->result = WaitForSingleObject(w->mutex, WAIT_BOUND);
        break;
    case 1:
        w->result = WaitForMultipleObjects(2, any, FALSE, WAIT_BOUND);
        break;
    default:
        w->result = WaitForMultipleObjects(2, all, TRUE, WAIT_BOUND);
        break;
    }
    w->woke = now_ms();
    if (w->result != WAIT_TIMEOUT && w->result != WAIT_FAILED) {
        BOOL first = ReleaseMutex(w->mutex);
        BOOL second = ReleaseMutex(w->mutex);
        w->owned_once = first && !second && GetLastError() == ERROR_NOT_OWNER;
    }
    return 0;
}

static void waiter_start(struct waiter *w, HANDLE mutex, int shape, HANDLE unset_event, HANDLE set_event)
{
    memset(w, 0, sizeof *w);
    w->mutex = mutex;
    w->shape = shape;
    w->other = shape == 1 ? unset_event : set_event;
    w->expect = shape == 1 ? WAIT_ABANDONED_0 + 1 : WAIT_ABANDONED_0;
    w->thread = CreateThread(NULL, 0, waiter_main, w, 0, NULL);
    R_CHECK(w->thread != NULL, "CreateThread (waiter)");
}

/* Contends for A in a loop until told to stop (async rounds). */
struct contender {
    HANDLE mutex, thread;
    volatile LONG stop, after_kill, acquisitions, abandoned, failures;
    double kill_time, abandoned_at;
};

static DWORD WINAPI contender_main(LPVOID arg)
{
    struct contender *ct = arg;
    while (!InterlockedCompareExchange(&ct->stop, 0, 0)) {
        DWORD r = WaitForSingleObject(ct->mutex, WAIT_BOUND);
        if (r == WAIT_ABANDONED) {
            ct->abandoned_at = now_ms();
            InterlockedIncrement(&ct->abandoned);
        } else if (r != WAIT_OBJECT_0) {
            InterlockedIncrement(&ct->failures);
            break;
        }
        InterlockedIncrement(&ct->acquisitions);
        if (InterlockedCompareExchange(&ct->after_kill, 0, 0))
            InterlockedIncrement(&ct->after_kill);
        for (volatile int spin = 0; spin < 100; spin++)
            ;
        if (!ReleaseMutex(ct->mutex)) {
            InterlockedIncrement(&ct->failures);
            break;
        }
        Sleep((DWORD)(ct->acquisitions & 1)); /* sometimes let the child in */
    }
    return 0;
}

/* What the objects may hold after the child died: what it recorded, or,
 * for what the step it died in changes, the value after that step. */
struct allowed {
    LONG a[2], b[2], s[2], e[2];
};

static void allowed_states(const struct progress *p, struct allowed *al)
{
    al->a[0] = al->a[1] = p->own_a;
    al->b[0] = al->b[1] = p->own_b;
    al->s[0] = al->s[1] = p->sem;
    al->e[0] = al->e[1] = p->ev;
    switch (p->op) {
    case OP_TAKE_A:
        al->a[1] = 1;
        break;
    case OP_REL_A:
        al->a[1] = 0;
        break;
    case OP_TAKE_AS:
        al->a[1] = 1;
        al->s[1] = p->sem - 1;
        break;
    case OP_TAKE_S:
        al->s[1] = p->sem - 1;
        break;
    case OP_REL_S:
        al->s[1] = p->sem + 2;
        break;
    case OP_TAKE_B:
        al->b[1] = p->own_b + 1;
        break;
    case OP_REL_B:
        al->b[1] = p->own_b - 1;
        break;
    case OP_SET_E:
        al->e[1] = 1;
        break;
    case OP_TAKE_E:
        al->e[1] = 0;
        break;
    default:
        break;
    }
}

static bool wait_all_rounds(void)
{
    const char *e = getenv("WINIPC_CRASH_WAITALL");
    return !e || strcmp(e, "0") != 0;
}

static void round_single(int round, bool sync, bool contender_on)
{
    struct names n;
    struct progress snap;
    HANDLE mapping;
    PROCESS_INFORMATION pi;
    struct waiter wa, wb;
    struct contender ct;
    char args[128];
    int steps = sync ? (int)rnd(SCRIPT_LEN + 1) : -1 - (int)rnd(wait_all_rounds() ? 3 : 2);
    enum park how = (enum park)rnd(PARK_COUNT);
    unsigned timing = rnd(3), delay = 0;

    if (sync)
        round_begin("round %d: killed after step %d of %d, parked on %s", round, steps, SCRIPT_LEN, park_names[how]);
    else {
        delay = timing == 0 ? rnd(4000) : rnd(5000);
        round_begin("round %d: killed at random (%u us after %s)%s%s", round, delay, timing == 0 ? "spawn" : "ready",
                    steps == -2 ? ", no private objects" : steps == -3 ? ", wait-all script" : "", contender_on ? ", parent thread contending for A" : "");
    }
    make_names(round, &n);
    struct shared *sh = map_progress(n.prog, TRUE, &mapping);
    R_CHECK(sh != NULL, "progress mapping");
    if (!sh) {
        round_end();
        return;
    }
    struct progress *p = &sh->slot[0];
    p->sem = SEM_INITIAL;
    HANDLE a = CreateMutexA(NULL, FALSE, n.a), b = CreateMutexA(NULL, FALSE, n.b);
    HANDLE s = CreateSemaphoreA(NULL, SEM_INITIAL, SEM_MAX, n.s), e = CreateEventA(NULL, FALSE, FALSE, n.e);
    HANDLE c = CreateMutexA(NULL, TRUE, n.c), z = CreateSemaphoreA(NULL, 0, 1, n.z);
    HANDLE g = CreateEventA(NULL, TRUE, FALSE, n.g), ready = CreateEventA(NULL, FALSE, FALSE, n.ready);
    HANDLE unset_event = CreateEventA(NULL, TRUE, FALSE, NULL), set_event = CreateEventA(NULL, TRUE, TRUE, NULL);
    R_CHECK(a && b && s && e && c && z && g && ready && unset_event && set_event, "create the round's objects");

    memset(&ct, 0, sizeof ct);
    if (contender_on) {
        ct.mutex = a;
        ct.thread = CreateThread(NULL, 0, contender_main, &ct, 0, NULL);
    }
    snprintf(args, sizeof args, "single %d %d %d", round, steps, (int)how);
    bool started = spawn(args, NULL, &pi);
    R_CHECK(started, "CreateProcess");
    bool waiting_a = false, waiting_b = false;
    double killed = 0;
    if (started) {
        if (sync) {
            if (wait_ready(ready, &pi, "child")) {
                /* Threads that are blocked on what the child owns when it
                 * dies. The child's own record says what it owns. */
                if (p->own_a) {
                    waiter_start(&wa, a, (int)rnd(3), unset_event, set_event);
                    waiting_a = wa.thread != NULL;
                }
                if (p->own_b) {
                    waiter_start(&wb, b, 0, unset_event, set_event);
                    waiting_b = wb.thread != NULL;
                }
                for (int i = 0; i < 2; i++) {
                    struct waiter *w = i ? &wb : &wa;
                    if (!(i ? waiting_b : waiting_a))
                        continue;
                    while (!InterlockedCompareExchange(&w->started, 0, 0))
                        SwitchToThread();
                    R_CHECK(WaitForSingleObject(w->thread, 10) == WAIT_TIMEOUT,
                            "parent thread blocked on %s before the kill (returned %lu)", i ? "B" : "A",
                            (unsigned long)w->result);
                }
                delay_us(rnd(2000));
            }
        } else if (timing == 0) {
            delay_us(delay);
        } else if (wait_ready(ready, &pi, "child")) {
            delay_us(delay);
        }
        killed = kill_child(&pi, "child");
        ct.kill_time = killed;
        InterlockedExchange(&ct.after_kill, 1);
        close_child(&pi);
    }
    snap = *p;
    enum op op = (enum op)snap.op;
    if (!sync && op <= OP_TAKE_AS) {
        size_t len = strlen(round_label);
        snprintf(round_label + len, sizeof round_label - len, ": died %s, %ld steps done", op_names[op],
                 (long)snap.done);
    }

    /* Mutex A. */
    struct allowed al;
    allowed_states(&snap, &al);
    bool a_may_free = al.a[0] == 0 || al.a[1] == 0, a_may_abandoned = al.a[0] == 1 || al.a[1] == 1;
    if (waiting_a) {
        R_CHECK(WaitForSingleObject(wa.thread, WAIT_BOUND) == WAIT_OBJECT_0, "waiter on A finished");
        R_CHECK(wa.result == wa.expect, "blocked waiter on A (shape %d) got %lu, expected %lu", wa.shape,
                (unsigned long)wa.result, (unsigned long)wa.expect);
        R_CHECK(wa.owned_once, "waiter on A owned it once");
        R_CHECK(wa.woke - killed <= ABANDON_BOUND_MS, "waiter on A woken %.1f ms after the kill", wa.woke - killed);
        note_latency(wa.woke - killed, false);
        CloseHandle(wa.thread);
        a_may_free = true, a_may_abandoned = false; /* reported once, to the waiter */
    }
    if (contender_on && ct.thread) {
        /* Let the contender take A at least twice after the death, then stop it. */
        double until = now_ms() + WAIT_BOUND;
        while (InterlockedCompareExchange(&ct.after_kill, 0, 0) < 3 && !ct.failures && now_ms() < until)
            Sleep(1);
        InterlockedExchange(&ct.stop, 1);
        R_CHECK(WaitForSingleObject(ct.thread, WAIT_BOUND) == WAIT_OBJECT_0, "contender stopped");
        CloseHandle(ct.thread);
        R_CHECK(!ct.failures, "contender's wait or release failed");
        R_CHECK(ct.abandoned <= 1, "A reported abandoned %ld times", (long)ct.abandoned);
        R_CHECK(ct.abandoned == 1 || a_may_free, "contender never saw A abandoned (child owned it: op %d)", (int)op);
        R_CHECK(ct.abandoned == 0 || a_may_abandoned, "contender saw A abandoned, the child did not own it");
        if (ct.abandoned) {
            R_CHECK(ct.abandoned_at - killed <= ABANDON_BOUND_MS, "contender woken %.1f ms after the kill",
                    ct.abandoned_at - killed);
            note_latency(ct.abandoned_at - killed, false);
        }
        a_may_free = true, a_may_abandoned = false;
    }
    check_mutex("A", a, a_may_free, a_may_abandoned);

    /* Mutex B, taken recursively. */    if (waiting_b) {
        R_CHECK(WaitForSingleObject(wb.thread, WAIT_BOUND) == WAIT_OBJECT_0, "waiter on B finished");
        R_CHECK(wb.result == WAIT_ABANDONED, "blocked waiter on B got %lu", (unsigned long)wb.result);
        R_CHECK(wb.owned_once, "waiter on B owned it once, not with the dead owner's recursion");
        R_CHECK(wb.woke - killed <= ABANDON_BOUND_MS, "waiter on B woken %.1f ms after the kill", wb.woke - killed);
        note_latency(wb.woke - killed, false);
        CloseHandle(wb.thread);
        check_mutex("B", b, true, false);
    } else {
        check_mutex("B", b, al.b[0] == 0 || al.b[1] == 0, al.b[0] > 0 || al.b[1] > 0);
    }

    /* Semaphore S and event E. */
    R_CHECK(snap.sem >= 0 && snap.sem <= SEM_MAX, "child's record of S: %ld", (long)snap.sem);
    check_semaphore("S", s, SEM_MAX, al.s[0], al.s[1]);
    DWORD r = WaitForSingleObject(e, 0);
    bool e_may_set = al.e[0] || al.e[1], e_may_unset = !al.e[0] || !al.e[1];
    R_CHECK((r == WAIT_OBJECT_0 && e_may_set) || (r == WAIT_TIMEOUT && e_may_unset),
            "E: wait returned %lu, child recorded %ld (op %d)", (unsigned long)r, (long)snap.ev, (int)op);

    /* What the child only waited on is untouched. */
    R_CHECK(ReleaseMutex(c), "C: still ours after the child died waiting on it");
    r = take_elsewhere(c);
    R_CHECK(r == WAIT_OBJECT_0, "C: free for another thread (got %lu)", (unsigned long)r);
    check_semaphore("Z", z, 1, 0, 0);
    R_CHECK(WaitForSingleObject(g, 0) == WAIT_TIMEOUT, "G: still unset");

    HANDLE all[] = {a, b, s, e, c, z, g, ready, unset_event, set_event};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i])
            CloseHandle(all[i]);
    UnmapViewOfFile(sh);
    CloseHandle(mapping);
    const struct leak_check child_only[] = {{'m', n.pm}, {'s', n.ps}, {'e', n.pe}};
    const struct leak_check ours[] = {{'m', n.a}, {'m', n.b}, {'s', n.s}, {'e', n.e},    {'m', n.c},
                                      {'s', n.z}, {'e', n.g}, {'f', n.prog}, {'e', n.ready}};
    check_no_names(child_only, 3, ours, (int)(sizeof ours / sizeof ours[0]));
    round_end();
}

/* --- two children on one mutex ---------------------------------------------- */

static void round_contend(int round, bool sync, bool fallback)
{
    struct names n;
    HANDLE mapping;
    PROCESS_INFORMATION px, py;
    char args[128];
    char *env = fallback ? fallback_env() : NULL;
    unsigned delay = rnd(20000);

    if (sync)
        round_begin("round %d: two children on a mutex, the owner killed while the other waits%s", round,
                    fallback ? " (waiter without thread pidfds)" : "");
    else
        round_begin("round %d: two children hammering a mutex, one killed at random (%u us)%s", round, delay,
                    fallback ? " (survivor without thread pidfds)" : "");
    make_names(round, &n);
    struct shared *sh = map_progress(n.prog, TRUE, &mapping);
    R_CHECK(sh != NULL, "progress mapping");
    if (!sh) {
        round_end();
        return;
    }
    struct progress *x = &sh->slot[0], *y = &sh->slot[1];
    HANDLE m = CreateMutexA(NULL, FALSE, n.m), g = CreateEventA(NULL, TRUE, FALSE, n.g);
    HANDLE rx = CreateEventA(NULL, FALSE, FALSE, n.ready), ry = CreateEventA(NULL, FALSE, FALSE, n.ready2);
    R_CHECK(m && g && rx && ry, "create the round's objects");
    bool ok;
    double killed = 0;
    DWORD code = T_POISON;
    const double bound = fallback ? FALLBACK_BOUND_MS : ABANDON_BOUND_MS;

    if (sync) {
        snprintf(args, sizeof args, "own %d", round);
        ok = spawn(args, NULL, &px);
        R_CHECK(ok, "CreateProcess (owner)");
        if (ok && wait_ready(rx, &px, "owner")) {
            snprintf(args, sizeof args, "contend %d", round);
            bool oky = spawn(args, env, &py);
            R_CHECK(oky, "CreateProcess (waiter)");
            if (oky) {
                if (wait_ready(ry, &py, "waiter"))
                    R_CHECK(WaitForSingleObject(py.hProcess, 20) == WAIT_TIMEOUT,
                            "waiter blocked on the owned mutex before the kill (result %ld)", (long)y->result);
                killed = kill_child(&px, "owner");
                R_CHECK(WaitForSingleObject(py.hProcess, WAIT_BOUND) == WAIT_OBJECT_0, "waiter ended");
                GetExitCodeProcess(py.hProcess, &code);
                R_CHECK(code == 0, "waiter's exit code %lu", (unsigned long)code);
                R_CHECK(y->result == WAIT_ABANDONED, "waiter got %ld, expected WAIT_ABANDONED", (long)y->result);
                R_CHECK(y->owned_after, "waiter owned the mutex (once) after WAIT_ABANDONED");
                double lat = qpc_to_ms(y->woke) - killed;
                R_CHECK(lat <= bound, "waiter woken %.1f ms after the kill (bound %.0f ms)", lat, bound);
                note_latency(lat, fallback);
                close_child(&py);
            }
        } else if (ok) {
            TerminateProcess(px.hProcess, KILL_CODE);
        }
        if (ok)
            close_child(&px);
    } else {
        bool okx, oky;
        snprintf(args, sizeof args, "loop %d 0", round);
        okx = spawn(args, NULL, &px);
        snprintf(args, sizeof args, "loop %d 1", round);
        oky = spawn(args, env, &py);
        R_CHECK(okx && oky, "CreateProcess (two children)");
        if (okx && oky && wait_ready(rx, &px, "child X") && wait_ready(ry, &py, "child Y")) {
            delay_us(delay);
            killed = kill_child(&px, "child X");
            struct progress snap = *x;
            LONG after = y->acquisitions;
            double until = now_ms() + WAIT_BOUND;
            while (y->acquisitions < after + 3 && now_ms() < until &&
                   WaitForSingleObject(py.hProcess, 1) == WAIT_TIMEOUT)
                ;
            SetEvent(g);
            R_CHECK(WaitForSingleObject(py.hProcess, WAIT_BOUND) == WAIT_OBJECT_0, "child Y ended");
            GetExitCodeProcess(py.hProcess, &code);
            R_CHECK(code == 0, "child Y's exit code %lu (41: a wait hit its bound), wait result %ld",
                    (unsigned long)code, (long)y->result);
            bool may_own = snap.own_a || snap.op == OP_TAKE_A, may_not = !snap.own_a || snap.op == OP_REL_A;
            R_CHECK(y->abandoned <= 1, "Y saw %ld abandonments", (long)y->abandoned);
            R_CHECK(y->abandoned == 1 || may_not, "Y never saw M abandoned; X owned it");
            R_CHECK(y->abandoned == 0 || may_own, "Y saw M abandoned; X did not own it");
            if (y->abandoned) {
                double lat = qpc_to_ms(y->woke) - killed;
                R_CHECK(lat <= bound, "Y woken %.1f ms after the kill (bound %.0f ms)", lat, bound);
                note_latency(lat, fallback);
            }
        } else {
            if (okx)
                TerminateProcess(px.hProcess, KILL_CODE);
            if (oky)
                TerminateProcess(py.hProcess, KILL_CODE);
        }
        if (okx)
            close_child(&px);
        if (oky)
            close_child(&py);
    }
    check_mutex("M", m, true, false);

    CloseHandle(m);
    CloseHandle(g);
    CloseHandle(rx);
    CloseHandle(ry);
    UnmapViewOfFile(sh);
    CloseHandle(mapping);
    const struct leak_check ours[] = {{'m', n.m}, {'e', n.g}, {'e', n.ready}, {'e', n.ready2}, {'f', n.prog}};
    check_no_names(NULL, 0, ours, (int)(sizeof ours / sizeof ours[0]));
    round_end();
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "child"))
        return child_main(argc, argv);

    const char *e = getenv("WINIPC_CRASH_ROUNDS");
    int rounds = e && *e ? atoi(e) : 100;
    e = getenv("WINIPC_CRASH_SEED");
    rng = e && *e ? strtoull(e, NULL, 0) : (unsigned long long)qpc();
    if (!rng)
        rng = 1;
    printf("# WINIPC_CRASH_SEED=%llu WINIPC_CRASH_ROUNDS=%d\n", rng, rounds);
    double t0 = now_ms();

    /* A mix per ten rounds: 4 killed at a reported step, 4 at random times
     * (2 of them with a parent thread contending), 2 with two children. */
    int round = 0;
    for (int i = 0; i < rounds; i++, round++) {
        switch (i % 10) {
        case 1:
        case 5:
            round_single(round, false, false);
            break;
        case 3:
        case 9:
            round_single(round, false, true);
            break;
        case 7:
            round_contend(round, true, false);
            break;
        case 8:
            round_contend(round, false, false);
            break;
        default:
            round_single(round, true, false);
            break;
        }
    }
    /* The fallback: the waiting process polls the owner's liveness. */
    int fallback_rounds = rounds ? 2 + rounds / 30 : 0;
    for (int i = 0; i < fallback_rounds; i++, round++)
        round_contend(round, i % 2 == 0, true);

    printf("# worst abandonment latency %.0f ms (%d blocked waiters)\n", worst_latency, latencies);
    printf("# worst abandonment latency without thread pidfds %.0f ms (%d waiters)\n", worst_fallback_latency,
           fallback_latencies);
    printf("# %d round(s) where a name outlived its last handle briefly; %d rounds in %.1f s\n", lingering_names, round,
           (now_ms() - t0) / 1000.0);
    return t_done();
}
