/* SPDX-License-Identifier: MIT */
/* File mappings across processes: a shared counter, name lifetime across
 * separate runs and across TerminateProcess, read-only and copy-on-write
 * views in another process, inheritance of an unnamed mapping. Children are
 * this binary re-run with argv[1] == "child"; they report through their exit
 * code. */
#include "test.h"

#include <signal.h>

#define CHILDREN 4
#define INCREMENTS 20000
#define MAGIC 0x5EC7105Eu

/* Child exit codes. */
#define C_OK 0
#define C_NO_MAPPING 10
#define C_NO_VIEW 11
#define C_NOT_EXISTING 12
#define C_WRONG_DATA 13
#define C_NO_EVENT 14

static HANDLE map_named(const char *name, DWORD size, DWORD *err)
{
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, size, name);
    *err = GetLastError();
    return h;
}

/* --- children ------------------------------------------------------------------------ */

/* Increment the counter of an existing mapping `times` times. */
static int child_increment(long times)
{
    DWORD err;
    HANDLE h = map_named(t_name("counter"), sizeof(LONG), &err);
    if (!h)
        return C_NO_MAPPING;
    if (err != ERROR_ALREADY_EXISTS)
        return C_NOT_EXISTING;
    LONG *c = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(LONG));
    if (!c)
        return C_NO_VIEW;
    for (long i = 0; i < times; i++)
        InterlockedIncrement(c);
    UnmapViewOfFile(c);
    CloseHandle(h);
    return C_OK;
}

/* Open-or-create a counter, increment once, exit with its value (+100 when
 * the name already existed). */
static int child_once(void)
{
    DWORD err;
    HANDLE h = map_named(t_name("once"), sizeof(LONG), &err);
    if (!h)
        return C_NO_MAPPING;
    LONG *c = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    if (!c)
        return C_NO_VIEW;
    LONG v = InterlockedIncrement(c);
    UnmapViewOfFile(c);
    CloseHandle(h);
    return (int)v + (err == ERROR_ALREADY_EXISTS ? 100 : 0);
}

/* Create a mapping, write MAGIC, say so, and wait to be killed. With
 * `view_only`, close the handle first and keep just the view. */
static int child_hold(int view_only)
{
    DWORD err;
    HANDLE h = map_named(t_name("held"), 4096, &err);
    HANDLE ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, t_name("held-ready"));
    HANDLE never = CreateEventA(NULL, TRUE, FALSE, NULL);
    if (!h)
        return C_NO_MAPPING;
    if (!ready || !never)
        return C_NO_EVENT;
    DWORD *p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    if (!p)
        return C_NO_VIEW;
    *p = MAGIC;
    if (view_only)
        CloseHandle(h);
    SetEvent(ready);
    WaitForSingleObject(never, INFINITE);
    return C_OK;
}

/* Map the "shared" mapping with `access` and write to it. A read-only view
 * dies here with an access violation. */
static int child_write(DWORD access)
{
    HANDLE h = OpenFileMappingA(access == FILE_MAP_COPY ? FILE_MAP_COPY : FILE_MAP_ALL_ACCESS, FALSE,
                                t_name("shared"));
    if (!h)
        return C_NO_MAPPING;
    volatile DWORD *p = MapViewOfFile(h, access, 0, 0, 0);
    if (!p)
        return C_NO_VIEW;
    if (p[0] != MAGIC)
        return C_WRONG_DATA;
    /* Die of the fault itself, even under a sanitizer that catches it. */
    signal(SIGSEGV, SIG_DFL);
    p[1] = MAGIC + 1;
    return p[1] == MAGIC + 1 ? C_OK : C_WRONG_DATA;
}

/* Use an inherited mapping handle given in decimal. */
static int child_inherited(const char *value)
{
    HANDLE h = (HANDLE)(ULONG_PTR)strtoull(value, NULL, 10);
    DWORD *p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    if (!p)
        return C_NO_VIEW;
    if (p[0] != MAGIC)
        return C_WRONG_DATA;
    p[1] = MAGIC + 2;
    return C_OK;
}

/* Hold an inherited named mapping until told to go. */
static int child_inherited_named(const char *value)
{
    HANDLE h = (HANDLE)(ULONG_PTR)strtoull(value, NULL, 10);
    HANDLE ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, t_name("inh-ready"));
    HANDLE done = OpenEventA(SYNCHRONIZE, FALSE, t_name("inh-done"));
    if (!ready || !done)
        return C_NO_EVENT;
    DWORD *p = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    if (!p)
        return C_NO_VIEW;
    if (p[0] != MAGIC)
        return C_WRONG_DATA;
    UnmapViewOfFile(p);
    SetEvent(ready);
    WaitForSingleObject(done, 15000);
    return C_OK;
}

static int run_child(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[2], "increment") == 0)
        return child_increment(atol(argv[3]));
    if (strcmp(argv[2], "once") == 0)
        return child_once();
    if (strcmp(argv[2], "hold") == 0)
        return child_hold(0);
    if (strcmp(argv[2], "hold-view") == 0)
        return child_hold(1);
    if (strcmp(argv[2], "write-shared") == 0)
        return child_write(FILE_MAP_WRITE);
    if (strcmp(argv[2], "write-readonly") == 0)
        return child_write(FILE_MAP_READ);
    if (strcmp(argv[2], "write-copy") == 0)
        return child_write(FILE_MAP_COPY);
    if (argc >= 4 && strcmp(argv[2], "inherited") == 0)
        return child_inherited(argv[3]);
    if (argc >= 4 && strcmp(argv[2], "inherited-named") == 0)
        return child_inherited_named(argv[3]);
    return 99;
}

/* --- parent -------------------------------------------------------------------------- */

static DWORD spawn_wait(const char *args)
{
    PROCESS_INFORMATION pi;
    if (!t_spawn(args, &pi))
        return 0xFFFFFFFEu;
    return t_wait_child(&pi, 15000);
}

static void test_counter(void)
{
    PROCESS_INFORMATION pi[CHILDREN];
    char args[64];
    DWORD err;
    HANDLE h = map_named(t_name("counter"), sizeof(LONG), &err);
    LONG *c = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(LONG));
    T_OK(c != NULL && err == 0, "the parent creates and maps the counter");

    snprintf(args, sizeof args, "child increment %d", INCREMENTS);
    int started = 0;
    for (int i = 0; i < CHILDREN; i++)
        started += t_spawn(args, &pi[i]) ? 1 : 0;
    T_EQ(started, CHILDREN, "children started");
    int ok = 0;
    for (int i = 0; i < started; i++)
        ok += t_wait_child(&pi[i], 15000) == C_OK;
    T_EQ(ok, CHILDREN, "every child found the existing mapping and finished");
    T_EQ(c ? *c : -1, CHILDREN * INCREMENTS, "N children x M InterlockedIncrement == N*M");
    UnmapViewOfFile(c);
    CloseHandle(h);
}

static void test_separate_runs(void)
{
    for (int i = 0; i < 3; i++)
        T_EQ(spawn_wait("child once"), 1, "a separate run creates the name anew and counts 1");
}

static void test_killed_holder(void)
{
    PROCESS_INFORMATION pi;
    HANDLE ready = CreateEventA(NULL, FALSE, FALSE, t_name("held-ready"));
    DWORD err, code;

    /* The holder dies while this process still has the mapping open. */
    T_OK(t_spawn("child hold", &pi), "a holder child");
    T_EQ(WaitForSingleObject(ready, 15000), WAIT_OBJECT_0, "it created and filled its mapping");
    HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, t_name("held"));
    T_OK(o != NULL, "OpenFileMapping of the child's mapping");
    DWORD *p = MapViewOfFile(o, FILE_MAP_READ, 0, 0, 0);
    T_OK(p && *p == MAGIC, "its data is visible here");
    T_OK(TerminateProcess(pi.hProcess, 7), "TerminateProcess");
    code = t_wait_child(&pi, 15000);
    T_EQ(code, 7, "the holder is gone");
    T_OK(p && *p == MAGIC, "our view still holds the data");
    HANDLE again = OpenFileMappingA(FILE_MAP_READ, FALSE, t_name("held"));
    T_OK(again != NULL, "our handle keeps the name alive after the creator's death");
    CloseHandle(again);
    UnmapViewOfFile(p);
    CloseHandle(o);
    SetLastError(T_POISON);
    T_ERR(OpenFileMappingA(FILE_MAP_READ, FALSE, t_name("held")) != NULL, ERROR_FILE_NOT_FOUND,
          "after our last handle the name is gone");

    /* The holder dies holding the only handle. */
    T_OK(t_spawn("child hold", &pi), "another holder child");
    T_EQ(WaitForSingleObject(ready, 15000), WAIT_OBJECT_0, "it is ready");
    T_OK(TerminateProcess(pi.hProcess, 9), "TerminateProcess");
    T_EQ(t_wait_child(&pi, 15000), 9, "killed");
    SetLastError(T_POISON);
    HANDLE h = map_named(t_name("held"), 4096, &err);
    T_OK(h != NULL, "CreateFileMapping of the killed holder's name");
    T_EQ(err, 0, "is a new mapping: the name died with its only holder");
    p = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    T_OK(p && *p == 0, "with fresh contents");
    UnmapViewOfFile(p);
    CloseHandle(h);

    /* A view alone does not keep a name (NT): the holder closed its handle. */
    T_OK(t_spawn("child hold-view", &pi), "a child keeping only a view");
    T_EQ(WaitForSingleObject(ready, 15000), WAIT_OBJECT_0, "it is ready");
    SetLastError(T_POISON);
    T_ERR(OpenFileMappingA(FILE_MAP_READ, FALSE, t_name("held")) != NULL, ERROR_FILE_NOT_FOUND,
          "its view does not keep the name");
    TerminateProcess(pi.hProcess, 1);
    t_wait_child(&pi, 15000);
    CloseHandle(ready);
}

static void test_views_in_child(void)
{
    DWORD err;
    HANDLE h = map_named(t_name("shared"), 4096, &err);
    DWORD *p = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    T_OK(p != NULL, "a shared mapping");
    p[0] = MAGIC;
    p[1] = 0;

    T_EQ(spawn_wait("child write-readonly"), STATUS_ACCESS_VIOLATION,
         "a write through a FILE_MAP_READ view kills the child with an access violation");
    T_EQ(p[1], 0, "and changed nothing");
    T_EQ(spawn_wait("child write-copy"), C_OK, "a child writes through a FILE_MAP_COPY view");
    T_EQ(p[1], 0, "the copy-on-write write stayed in the child");
    T_EQ(spawn_wait("child write-shared"), C_OK, "a child writes through a FILE_MAP_WRITE view");
    T_EQ(p[1], MAGIC + 1, "that write reached this process");
    UnmapViewOfFile(p);
    CloseHandle(h);
}

static void test_inheritance(void)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    PROCESS_INFORMATION pi;
    char args[64];
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 4096, NULL);
    DWORD *p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    T_OK(p != NULL, "an unnamed inheritable mapping");
    p[0] = MAGIC;
    snprintf(args, sizeof args, "child inherited %llu", (unsigned long long)(ULONG_PTR)h);
    T_OK(t_spawn_ex(args, TRUE, NULL, &pi), "a child inheriting handles");
    T_EQ(t_wait_child(&pi, 15000), C_OK, "the child mapped the inherited handle at the same value");
    T_EQ(p[1], MAGIC + 2, "and its write is visible here");
    UnmapViewOfFile(p);
    CloseHandle(h);
}

static void test_inherited_name(void)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE ready = CreateEventA(NULL, FALSE, FALSE, t_name("inh-ready"));
    HANDLE done = CreateEventA(NULL, TRUE, FALSE, t_name("inh-done"));
    PROCESS_INFORMATION pi;
    char args[64];
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 4096, t_name("inh-named"));
    DWORD *p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    T_OK(p != NULL, "a named inheritable mapping");
    p[0] = MAGIC;
    UnmapViewOfFile(p);
    snprintf(args, sizeof args, "child inherited-named %llu", (unsigned long long)(ULONG_PTR)h);
    T_OK(t_spawn_ex(args, TRUE, NULL, &pi), "a child inheriting it");
    T_EQ(WaitForSingleObject(ready, 15000), WAIT_OBJECT_0, "the child mapped it");
    T_OK(CloseHandle(h), "the parent closes its handle");
    HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, t_name("inh-named"));
    T_OK(o != NULL, "the child's inherited handle keeps the name");
    CloseHandle(o);
    SetEvent(done);
    T_EQ(t_wait_child(&pi, 15000), C_OK, "the child ends");
    SetLastError(T_POISON);
    T_ERR(OpenFileMappingA(FILE_MAP_READ, FALSE, t_name("inh-named")) != NULL, ERROR_FILE_NOT_FOUND,
          "with it the name goes");
    CloseHandle(ready);
    CloseHandle(done);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "child") == 0)
        return run_child(argc, argv);
    test_counter();
    test_separate_runs();
    test_killed_holder();
    test_views_in_child();
    test_inheritance();
    test_inherited_name();
    return t_done();
}
