/* SPDX-License-Identifier: MIT */
/* Virtual memory of the current process: VirtualAlloc reservations and
 * commits, VirtualFree, VirtualProtect, VirtualQuery(Ex) over VirtualAlloc
 * memory, views of file mappings and ordinary heap memory; protections
 * enforced (children that fault die with STATUS_ACCESS_VIOLATION); the error
 * of each misuse; threads hammering the address space at once.
 *
 * Children: this binary re-run as "<self> child <case>"; they report by
 * their exit code only (stdout belongs to the parent's TAP stream). */
#include "test.h"

#include <signal.h>

#define GRAN 65536u

#ifndef PAGE_TARGETS_INVALID /* missing from older SDK headers */
#define PAGE_TARGETS_INVALID 0x40000000
#endif

static SIZE_T page;

static void query(const void *p, MEMORY_BASIC_INFORMATION *mbi)
{
    memset(mbi, 0xcc, sizeof *mbi);
    SetLastError(T_POISON);
    if (VirtualQuery(p, mbi, sizeof *mbi) != sizeof *mbi)
        memset(mbi, 0, sizeof *mbi);
}

/* Check every field VirtualQuery returns for `p`. */
static void expect(const void *p, const void *alloc_base, DWORD alloc_protect, SIZE_T size, DWORD state,
                   DWORD protect, DWORD type, const char *what)
{
    MEMORY_BASIC_INFORMATION mbi;
    char name[160];
    query(p, &mbi);
    snprintf(name, sizeof name, "%s: BaseAddress is the page", what);
    T_OK(mbi.BaseAddress == (void *)((ULONG_PTR)p & ~(ULONG_PTR)(page - 1)), name);
    snprintf(name, sizeof name, "%s: AllocationBase", what);
    T_OK(mbi.AllocationBase == alloc_base, name);
    snprintf(name, sizeof name, "%s: AllocationProtect", what);
    T_EQ(mbi.AllocationProtect, alloc_protect, name);
    snprintf(name, sizeof name, "%s: RegionSize", what);
    if (size) /* 0: not checked (free memory reaches the next mapping) */
        T_EQ(mbi.RegionSize, size, name);
    snprintf(name, sizeof name, "%s: State", what);
    T_EQ(mbi.State, state, name);
    snprintf(name, sizeof name, "%s: Protect", what);
    T_EQ(mbi.Protect, protect, name);
    snprintf(name, sizeof name, "%s: Type", what);
    T_EQ(mbi.Type, type, name);
}

/* --- children -------------------------------------------------------------------------- */

enum { C_OK = 0, C_SETUP = 10, C_SURVIVED = 11 };

/* Each case makes memory and touches it the way that must fault; reaching
 * the end means the protection was not enforced. */
static int run_child(const char *what)
{
    volatile char *p;
    DWORD old;
    HANDLE h;

    /* Die of the fault itself, even under a sanitizer that catches it. */
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    if (strcmp(what, "write-readonly") == 0) {
        p = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!p)
            return C_SETUP;
        p[0] = 1;
        if (!VirtualProtect((void *)p, page, PAGE_READONLY, &old) || old != PAGE_READWRITE)
            return C_SETUP;
        p[1] = 2;
        return C_SURVIVED;
    }
    if (strcmp(what, "read-readonly") == 0) { /* the control case: reading is fine */
        p = VirtualAlloc(NULL, page, MEM_COMMIT, PAGE_READONLY);
        if (!p)
            return C_SETUP;
        return p[0] == 0 ? C_OK : C_SETUP;
    }
    if (strcmp(what, "read-noaccess") == 0) {
        p = VirtualAlloc(NULL, page, MEM_COMMIT, PAGE_NOACCESS);
        if (!p)
            return C_SETUP;
        return p[0] == 0 ? C_SURVIVED : C_SURVIVED;
    }
    if (strcmp(what, "read-reserved") == 0) {
        p = VirtualAlloc(NULL, page, MEM_RESERVE, PAGE_READWRITE);
        if (!p)
            return C_SETUP;
        return p[0] == 0 ? C_SURVIVED : C_SURVIVED;
    }
    if (strcmp(what, "read-decommitted") == 0) {
        p = VirtualAlloc(NULL, 2 * page, MEM_COMMIT, PAGE_READWRITE);
        if (!p)
            return C_SETUP;
        p[page] = 1;
        if (!VirtualFree((void *)(p + page), page, MEM_DECOMMIT))
            return C_SETUP;
        return p[page] == 0 ? C_SURVIVED : C_SURVIVED;
    }
    if (strcmp(what, "read-released") == 0) {
        p = VirtualAlloc(NULL, page, MEM_COMMIT, PAGE_READWRITE);
        if (!p || !VirtualFree((void *)p, 0, MEM_RELEASE))
            return C_SETUP;
        return p[0] == 0 ? C_SURVIVED : C_SURVIVED;
    }
    if (strcmp(what, "write-view-readonly") == 0) {
        h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 2 * (DWORD)page, NULL);
        p = h ? MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0) : NULL;
        if (!p)
            return C_SETUP;
        p[0] = 1;
        if (!VirtualProtect((void *)(p + page), page, PAGE_READONLY, &old) || old != PAGE_READWRITE)
            return C_SETUP;
        p[1] = 2; /* the first page is still writable */
        p[page] = 3;
        return C_SURVIVED;
    }
    if (strcmp(what, "write-heap-readonly") == 0) {
        char *heap = malloc(3 * page);
        if (!heap)
            return C_SETUP;
        p = (char *)(((ULONG_PTR)heap + page - 1) & ~(ULONG_PTR)(page - 1));
        if (!VirtualProtect((void *)p, page, PAGE_READONLY, &old))
            return C_SETUP;
        p[0] = 1;
        return C_SURVIVED;
    }
    return 99;
}

static DWORD child_exit(const char *what)
{
    PROCESS_INFORMATION pi;
    char args[64];
    snprintf(args, sizeof args, "child %s", what);
    if (!t_spawn(args, &pi))
        return 0xFFFFFFFEu;
    return t_wait_child(&pi, 15000);
}

/* --- reserve, commit, decommit, release ---------------------------------------------- */

static void test_reserve_commit(void)
{
    char *base, *p;
    DWORD old;

    SetLastError(T_POISON);
    T_ERR(VirtualAlloc(NULL, 0, MEM_RESERVE, PAGE_NOACCESS) != NULL, ERROR_INVALID_PARAMETER, "size 0");

    base = VirtualAlloc(NULL, 0xFFFC, MEM_RESERVE, PAGE_NOACCESS);
    T_OK(base != NULL, "reserve 0xFFFC bytes");
    T_EQ((ULONG_PTR)base % GRAN, 0, "a reservation starts at a multiple of 64 KiB");
    expect(base, base, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE, "reserved");
    expect(base + 0xFFFB, base, PAGE_NOACCESS, 0x10000 - (0xFFFB & ~(page - 1)), MEM_RESERVE, 0, MEM_PRIVATE,
           "last page of the reservation");

    old = T_POISON;
    SetLastError(T_POISON);
    T_ERR(VirtualProtect(base, 0xFFFC, PAGE_READONLY, &old), ERROR_INVALID_ADDRESS,
          "VirtualProtect of reserved pages");
    T_EQ(old, T_POISON, "the old protection is left alone on failure");

    p = VirtualAlloc(base, page, MEM_COMMIT, PAGE_NOACCESS);
    T_OK(p == base, "commit the first page");
    expect(base, base, PAGE_NOACCESS, page, MEM_COMMIT, PAGE_NOACCESS, MEM_PRIVATE, "committed page");
    expect(base + page, base, PAGE_NOACCESS, 0x10000 - page, MEM_RESERVE, 0, MEM_PRIVATE, "the rest");

    T_ERR(VirtualProtect(base, 0xFFFC, PAGE_READONLY, &old), ERROR_INVALID_ADDRESS,
          "VirtualProtect over committed and reserved pages");
    old = T_POISON;
    T_OK(VirtualProtect(base, page, PAGE_READONLY, &old), "VirtualProtect of the committed page");
    T_EQ(old, PAGE_NOACCESS, "old protection PAGE_NOACCESS");
    old = T_POISON;
    T_OK(VirtualProtect(base, page, PAGE_READWRITE, &old), "to PAGE_READWRITE");
    T_EQ(old, PAGE_READONLY, "old protection PAGE_READONLY");
    expect(base, base, PAGE_NOACCESS, page, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE, "after VirtualProtect");
    memset(base, 0x55, 20);
    T_EQ(base[19], 0x55, "the page is writable");

    /* Unaligned commits take every page they touch and return the first. */
    p = VirtualAlloc(base + page + 10, 10, MEM_COMMIT, PAGE_READWRITE);
    T_OK(p == base + page, "a commit returns its address rounded down to the page");
    p = VirtualAlloc(base + 3 * page - 1, 2, MEM_COMMIT, PAGE_READONLY);
    T_OK(p == base + 2 * page, "two bytes across a page boundary commit both pages");
    expect(base + 2 * page, base, PAGE_NOACCESS, 2 * page, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE,
           "the straddling commit");

    SetLastError(T_POISON);
    T_ERR(VirtualFree(base, 0x10000, 0), ERROR_INVALID_PARAMETER, "VirtualFree type 0");
    T_ERR(VirtualFree(base, 0, MEM_FREE), ERROR_INVALID_PARAMETER, "VirtualFree type MEM_FREE");
    T_ERR(VirtualFree(base, 0, MEM_DECOMMIT | MEM_RELEASE), ERROR_INVALID_PARAMETER, "MEM_DECOMMIT | MEM_RELEASE");
    T_ERR(VirtualFree(base, 0x20000, MEM_DECOMMIT), ERROR_INVALID_PARAMETER, "decommit past the reservation");
    T_ERR(VirtualFree(base + page + 1, 0, MEM_DECOMMIT), ERROR_INVALID_ADDRESS,
          "decommit of size 0 away from the base");

    T_OK(VirtualFree(base, 0x10000, MEM_DECOMMIT), "decommit the whole reservation");
    expect(base, base, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE, "decommitted");
    T_OK(VirtualFree(base, page, MEM_DECOMMIT), "decommitting reserved pages succeeds");

    T_ERR(VirtualFree(base, 1, MEM_RELEASE), ERROR_INVALID_PARAMETER, "MEM_RELEASE with a size");
    T_ERR(VirtualFree(base + page, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS, "MEM_RELEASE away from the base");
    T_OK(VirtualFree(base + 5, 0, MEM_RELEASE), "MEM_RELEASE inside the first page releases");
    expect(base, NULL, 0, 0, MEM_FREE, PAGE_NOACCESS, 0, "released");
    T_ERR(VirtualFree(base, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS, "releasing it again");
    T_ERR(VirtualFree(base, page, MEM_DECOMMIT), ERROR_INVALID_ADDRESS, "decommitting free memory");

    /* MEM_RESERVE | MEM_COMMIT, and MEM_COMMIT alone without an address. */
    p = VirtualAlloc(NULL, 3 * page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    T_OK(p != NULL && (ULONG_PTR)p % GRAN == 0, "reserve and commit in one call");
    expect(p, p, PAGE_READWRITE, 3 * page, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE, "reserved and committed");
    T_OK(VirtualFree(p, 0, MEM_RELEASE), "released");
    p = VirtualAlloc(NULL, 1, MEM_COMMIT, PAGE_READWRITE);
    T_OK(p != NULL && (ULONG_PTR)p % GRAN == 0, "MEM_COMMIT alone with no address reserves too");
    expect(p, p, PAGE_READWRITE, page, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE, "one byte committed");
    T_OK(VirtualFree(p, 0, MEM_RELEASE), "released");
    p = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN, PAGE_READWRITE);
    T_OK(p != NULL && (ULONG_PTR)p % GRAN == 0, "MEM_TOP_DOWN");
    VirtualFree(p, 0, MEM_RELEASE);
}

static void test_zero_fill(void)
{
    unsigned char *p = VirtualAlloc(NULL, 2 * page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    SIZE_T i, nonzero = 0;

    T_OK(p != NULL, "two committed pages");
    for (i = 0; i < 2 * page; i++)
        nonzero += p[i] != 0;
    T_EQ(nonzero, 0, "committed pages read as zeros");
    memset(p, 0xA5, 2 * page);

    T_OK(VirtualAlloc(p, 2 * page, MEM_COMMIT, PAGE_READONLY) == p, "committing committed pages again");
    T_EQ(p[0], 0xA5, "keeps their contents");
    expect(p, p, PAGE_READWRITE, 2 * page, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE, "and sets the new protection");
    T_OK(VirtualAlloc(p, 2 * page, MEM_COMMIT, PAGE_READWRITE) == p, "back to read-write");

    T_OK(VirtualFree(p, page, MEM_DECOMMIT), "decommit the first page");
    T_OK(VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE) == p, "commit it again");
    for (i = 0, nonzero = 0; i < page; i++)
        nonzero += p[i] != 0;
    T_EQ(nonzero, 0, "a recommitted page reads as zeros");
    T_EQ(p[page], 0xA5, "its neighbour kept its contents");
    T_OK(VirtualFree(p, 0, MEM_RELEASE), "released");
}

static void test_placement(void)
{
    char *a = VirtualAlloc(NULL, 4 * GRAN, MEM_RESERVE, PAGE_READWRITE), *b;
    char *c[8];
    int i, aligned = 1;

    T_OK(a != NULL, "a 256 KiB reservation");
    T_ERR(VirtualAlloc(a + GRAN, page, MEM_RESERVE, PAGE_READWRITE) != NULL, ERROR_INVALID_ADDRESS,
          "reserving inside a reservation");
    T_ERR(VirtualAlloc(a + 3 * GRAN, 2 * GRAN, MEM_RESERVE, PAGE_READWRITE) != NULL, ERROR_INVALID_ADDRESS,
          "reserving across its end");
    T_OK(VirtualFree(a, 0, MEM_RELEASE), "released");

    b = VirtualAlloc(a + GRAN + 0x1234, 10, MEM_RESERVE, PAGE_READWRITE);
    T_OK(b == a + GRAN, "a reservation's address is rounded down to 64 KiB");
    expect(b, b, PAGE_READWRITE, 0x2000 > page ? 0x2000 : page, MEM_RESERVE, 0, MEM_PRIVATE,
           "it reaches the page holding the last byte");
    T_OK(VirtualFree(b, 0, MEM_RELEASE), "released");
    b = VirtualAlloc(a, 2 * page, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE);
    T_OK(b == a, "reserve and commit at a chosen address");
    T_OK(VirtualFree(b, 0, MEM_RELEASE), "released");

    for (i = 0; i < 8; i++) {
        c[i] = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        aligned &= c[i] != NULL && (ULONG_PTR)c[i] % GRAN == 0;
    }
    T_OK(aligned, "eight small allocations, each at a multiple of 64 KiB");
    for (i = 0; i < 8; i++)
        VirtualFree(c[i], 0, MEM_RELEASE);

    SetLastError(T_POISON);
    T_ERR(VirtualAlloc((void *)(ULONG_PTR)0x1000, page, MEM_RESERVE, PAGE_READWRITE) != NULL,
          ERROR_INVALID_PARAMETER, "an address below 64 KiB");
    T_ERR(VirtualAlloc(NULL, ~(SIZE_T)0, MEM_RESERVE, PAGE_READWRITE) != NULL, ERROR_INVALID_PARAMETER,
          "a size larger than the address space");
}

/* Runs of pages with the same attributes, split and merged again. */
static void test_regions(void)
{
    char *b = VirtualAlloc(NULL, 16 * page, MEM_RESERVE, PAGE_READWRITE);
    DWORD old;

    T_OK(b != NULL, "16 reserved pages");
    T_OK(VirtualAlloc(b + 2 * page, 4 * page, MEM_COMMIT, PAGE_READWRITE) == b + 2 * page, "commit pages 2-5");
    T_OK(VirtualProtect(b + 3 * page, page, PAGE_READONLY, &old) && old == PAGE_READWRITE, "page 3 read-only");
    expect(b, b, PAGE_READWRITE, 2 * page, MEM_RESERVE, 0, MEM_PRIVATE, "pages 0-1");
    expect(b + 2 * page, b, PAGE_READWRITE, page, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE, "page 2");
    expect(b + 3 * page, b, PAGE_READWRITE, page, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE, "page 3");
    expect(b + 4 * page + 100, b, PAGE_READWRITE, 2 * page, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE,
           "inside page 4");
    expect(b + 6 * page, b, PAGE_READWRITE, 10 * page, MEM_RESERVE, 0, MEM_PRIVATE, "pages 6-15");

    T_OK(VirtualProtect(b + 3 * page, page, PAGE_READWRITE, &old) && old == PAGE_READONLY, "page 3 back");
    expect(b + 2 * page, b, PAGE_READWRITE, 4 * page, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE, "pages 2-5 again");

    /* VirtualProtect reports the first page's old protection. */
    T_OK(VirtualProtect(b + 4 * page, page, PAGE_EXECUTE_READ, &old), "page 4 execute-read");
    T_OK(VirtualProtect(b + 4 * page, 2 * page, PAGE_READONLY, &old), "pages 4-5 read-only");
    T_EQ(old, PAGE_EXECUTE_READ, "the old protection is the first page's");
    old = T_POISON;
    T_OK(VirtualProtect(b + 5 * page + 7, 0, PAGE_NOACCESS, &old), "size 0 changes the page of the address");
    T_EQ(old, PAGE_READONLY, "its old protection");
    expect(b + 5 * page, b, PAGE_READWRITE, page, MEM_COMMIT, PAGE_NOACCESS, MEM_PRIVATE, "page 5");

    SetLastError(T_POISON);
    T_ERR(VirtualAlloc(b + 15 * page, 2 * page, MEM_COMMIT, PAGE_READWRITE) != NULL, ERROR_INVALID_ADDRESS,
          "a commit past the reservation's end");
    T_ERR(VirtualProtect(b + 15 * page, 2 * page, PAGE_READWRITE, &old), ERROR_INVALID_ADDRESS,
          "VirtualProtect past the reservation's end");
    T_ERR(VirtualAlloc(b + 16 * page + GRAN * 64, page, MEM_COMMIT, PAGE_READWRITE) != NULL,
          ERROR_INVALID_ADDRESS, "a commit where nothing is reserved");
    T_ERR(VirtualAlloc(b + 2 * page, page, MEM_COMMIT, PAGE_WRITECOPY) != NULL, ERROR_INVALID_PARAMETER,
          "PAGE_WRITECOPY for private memory");
    T_ERR(VirtualProtect(b + 2 * page, page, PAGE_WRITECOPY, &old), ERROR_INVALID_PARAMETER,
          "VirtualProtect to PAGE_WRITECOPY on private memory");
    T_ERR(VirtualProtect(b + 2 * page, page, PAGE_EXECUTE_WRITECOPY, &old), ERROR_INVALID_PARAMETER,
          "VirtualProtect to PAGE_EXECUTE_WRITECOPY on private memory");
    T_OK(VirtualFree(b, 0, MEM_RELEASE), "released");
}

static void test_argument_errors(void)
{
    char *b = VirtualAlloc(NULL, page, MEM_COMMIT, PAGE_READWRITE);
    DWORD old;

    T_OK(b != NULL, "one committed page");
    SetLastError(T_POISON);
    T_ERR(VirtualProtect(b, page, PAGE_READONLY, NULL), ERROR_NOACCESS, "VirtualProtect with no old protection");
    T_ERR(VirtualProtect(b, page, 0, &old), ERROR_INVALID_PARAMETER, "protection 0");
    T_ERR(VirtualProtect(b, page, PAGE_READONLY | PAGE_READWRITE, &old), ERROR_INVALID_PARAMETER,
          "two protections");
    T_ERR(VirtualProtect(b, page, PAGE_GUARD, &old), ERROR_INVALID_PARAMETER, "PAGE_GUARD alone");
    T_ERR(VirtualProtect(b, page, PAGE_NOACCESS | PAGE_GUARD, &old), ERROR_INVALID_PARAMETER,
          "PAGE_GUARD with PAGE_NOACCESS");
    T_ERR(VirtualProtect(b, page, PAGE_READWRITE | PAGE_NOCACHE | PAGE_WRITECOMBINE, &old), ERROR_INVALID_PARAMETER,
          "PAGE_NOCACHE with PAGE_WRITECOMBINE");
    T_ERR(VirtualProtect(b, page, PAGE_READWRITE | PAGE_NOCACHE | PAGE_GUARD, &old), ERROR_INVALID_PARAMETER,
          "PAGE_NOCACHE with PAGE_GUARD");
    T_ERR(VirtualProtect(b, page, PAGE_NOACCESS | PAGE_NOCACHE, &old), ERROR_INVALID_PARAMETER,
          "PAGE_NOCACHE with PAGE_NOACCESS");
    T_ERR(VirtualProtect(b, page, PAGE_READWRITE | 0x00100000, &old), ERROR_INVALID_PARAMETER, "an unknown bit");

    T_ERR(VirtualAlloc(NULL, page, 0, PAGE_READWRITE) != NULL, ERROR_INVALID_PARAMETER, "allocation type 0");
    T_ERR(VirtualAlloc(NULL, page, MEM_TOP_DOWN, PAGE_READWRITE) != NULL, ERROR_INVALID_PARAMETER,
          "MEM_TOP_DOWN alone");
    T_ERR(VirtualAlloc(NULL, page, MEM_RESERVE | 0x40000000, PAGE_READWRITE) != NULL, ERROR_INVALID_PARAMETER,
          "an unknown allocation type bit");
    T_ERR(VirtualAlloc(NULL, page, MEM_RESERVE, 0) != NULL, ERROR_INVALID_PARAMETER, "reserve with protection 0");
    T_ERR(VirtualAlloc(NULL, page, MEM_COMMIT, PAGE_READONLY | PAGE_EXECUTE) != NULL, ERROR_INVALID_PARAMETER,
          "commit with two protections");
    T_ERR(VirtualAlloc(NULL, page, MEM_COMMIT, PAGE_WRITECOPY) != NULL, ERROR_INVALID_PARAMETER,
          "PAGE_WRITECOPY");
    T_ERR(VirtualAlloc(NULL, page, MEM_COMMIT, PAGE_EXECUTE_WRITECOPY) != NULL, ERROR_INVALID_PARAMETER,
          "PAGE_EXECUTE_WRITECOPY");
    T_ERR(VirtualAlloc(b, page, MEM_COMMIT | MEM_RESET, PAGE_READWRITE) != NULL, ERROR_INVALID_PARAMETER,
          "MEM_RESET with MEM_COMMIT");
    T_ERR(VirtualAlloc(NULL, page, MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE) != NULL,
          ERROR_NOT_SUPPORTED, "MEM_LARGE_PAGES (not supported)");
    T_ERR(VirtualAlloc(NULL, page, MEM_RESERVE | MEM_LARGE_PAGES, PAGE_READWRITE) != NULL, ERROR_INVALID_PARAMETER,
          "MEM_LARGE_PAGES without MEM_COMMIT");
    T_ERR(VirtualAlloc(NULL, page, MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE) != NULL, ERROR_INVALID_PARAMETER,
          "MEM_WRITE_WATCH without MEM_RESERVE");
    T_ERR(VirtualAlloc(NULL, page, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE) != NULL, ERROR_NOT_SUPPORTED,
          "MEM_WRITE_WATCH (not supported)");
    T_ERR(VirtualAlloc(NULL, page, MEM_RESERVE | MEM_PHYSICAL, PAGE_READONLY) != NULL, ERROR_INVALID_PARAMETER,
          "MEM_PHYSICAL needs PAGE_READWRITE");
    T_ERR(VirtualAlloc(NULL, page, MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE) != NULL, ERROR_NOT_SUPPORTED,
          "MEM_PHYSICAL (not supported)");
    T_ERR(VirtualAlloc(NULL, page, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD) != NULL, ERROR_NOT_SUPPORTED,
          "PAGE_GUARD (not supported)");
    T_ERR(VirtualProtect(b, page, PAGE_READWRITE | PAGE_GUARD, &old), ERROR_NOT_SUPPORTED,
          "VirtualProtect to PAGE_GUARD (not supported)");
    expect(b, b, PAGE_READWRITE, page, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE, "failed calls changed nothing");

    /* Control Flow Guard marks: every address is a valid target anyway. */
    T_OK(VirtualAlloc(b, page, MEM_COMMIT, PAGE_EXECUTE_READWRITE | PAGE_TARGETS_INVALID) == b,
         "PAGE_TARGETS_INVALID is accepted");
    T_OK(VirtualProtect(b, page, PAGE_READWRITE | PAGE_TARGETS_INVALID, &old) && old == PAGE_EXECUTE_READWRITE,
         "PAGE_TARGETS_NO_UPDATE is accepted");
    T_OK(VirtualFree(b, 0, MEM_RELEASE), "released");
}

/* PAGE_NOCACHE belongs to the allocation (current Windows). */
static void test_cache_modifiers(void)
{
    char *p = VirtualAlloc(NULL, 2 * page, MEM_COMMIT, PAGE_READWRITE | PAGE_NOCACHE);
    DWORD old;

    T_OK(p != NULL, "PAGE_READWRITE | PAGE_NOCACHE");
    expect(p, p, PAGE_READWRITE | PAGE_NOCACHE, 2 * page, MEM_COMMIT, PAGE_READWRITE | PAGE_NOCACHE, MEM_PRIVATE,
           "no-cache memory");
    p[0] = 1;
    T_EQ(p[0], 1, "it is ordinary memory to the program");
    T_OK(VirtualProtect(p, page, PAGE_READWRITE, &old), "VirtualProtect without PAGE_NOCACHE");
    T_EQ(old, PAGE_READWRITE | PAGE_NOCACHE, "old protection has PAGE_NOCACHE");
    expect(p, p, PAGE_READWRITE | PAGE_NOCACHE, 2 * page, MEM_COMMIT, PAGE_READWRITE | PAGE_NOCACHE, MEM_PRIVATE,
           "the pages keep PAGE_NOCACHE");
    T_OK(VirtualProtect(p, page, PAGE_READONLY, &old), "read-only");
    expect(p, p, PAGE_READWRITE | PAGE_NOCACHE, page, MEM_COMMIT, PAGE_READONLY | PAGE_NOCACHE, MEM_PRIVATE,
           "read-only, no-cache");
    VirtualFree(p, 0, MEM_RELEASE);

    p = VirtualAlloc(NULL, page, MEM_COMMIT, PAGE_READWRITE);
    T_OK(VirtualProtect(p, page, PAGE_READONLY | PAGE_NOCACHE, &old) && old == PAGE_READWRITE,
         "PAGE_NOCACHE asked of VirtualProtect");
    expect(p, p, PAGE_READWRITE, page, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE, "is not taken");
    VirtualFree(p, 0, MEM_RELEASE);

    p = VirtualAlloc(NULL, page, MEM_COMMIT, PAGE_READWRITE | PAGE_WRITECOMBINE);
    T_OK(p != NULL, "PAGE_READWRITE | PAGE_WRITECOMBINE");
    expect(p, p, PAGE_READWRITE | PAGE_WRITECOMBINE, page, MEM_COMMIT, PAGE_READWRITE | PAGE_WRITECOMBINE,
           MEM_PRIVATE, "write-combined memory");
    VirtualFree(p, 0, MEM_RELEASE);
}

static void test_reset(void)
{
    unsigned char *p = VirtualAlloc(NULL, 16 * page, MEM_RESERVE, PAGE_READWRITE);
    SIZE_T i;
    int ok;

    T_OK(VirtualAlloc(p, 8 * page, MEM_COMMIT, PAGE_READWRITE) == p, "8 committed of 16 reserved pages");
    for (i = 0; i < 8; i++)
        memset(p + i * page, (int)(0x10 + i), page);

    T_OK(VirtualAlloc(p, 8 * page, MEM_RESET, PAGE_NOACCESS) == p, "MEM_RESET (the protection is ignored)");
    for (i = 0, ok = 1; i < 8; i++)
        ok &= p[i * page] == 0x10 + i || p[i * page] == 0;
    T_OK(ok, "reset pages hold their data or zeros");
    expect(p, p, PAGE_READWRITE, 8 * page, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE, "reset pages stay committed");
    T_OK(VirtualAlloc(p + 8 * page, 8 * page, MEM_RESET, PAGE_READWRITE) == p + 8 * page,
         "MEM_RESET of reserved pages succeeds");

    for (i = 0; i < 8; i++)
        memset(p + i * page, (int)(0x20 + i), page);
    T_OK(VirtualAlloc(p, 8 * page, MEM_RESET, PAGE_READWRITE) == p, "MEM_RESET again");
    T_OK(VirtualAlloc(p, 8 * page, MEM_RESET_UNDO, PAGE_READWRITE) == p, "MEM_RESET_UNDO at once");
    for (i = 0, ok = 1; i < 8; i++)
        ok &= p[i * page] == 0x20 + i && p[i * page + page - 1] == 0x20 + i;
    T_OK(ok, "the data survived");

    SetLastError(T_POISON);
    T_ERR(VirtualAlloc(p + 15 * page, 2 * page, MEM_RESET, PAGE_READWRITE) != NULL, ERROR_INVALID_ADDRESS,
          "MEM_RESET past the reservation");
    T_ERR(VirtualAlloc(p, 0, MEM_RESET, PAGE_READWRITE) != NULL, ERROR_INVALID_PARAMETER, "MEM_RESET of size 0");
    T_ERR(VirtualAlloc(p, page, MEM_RESET | MEM_TOP_DOWN, PAGE_READWRITE) != NULL, ERROR_INVALID_PARAMETER,
          "MEM_RESET with another flag");
    T_ERR(VirtualAlloc(p, page, MEM_RESET | MEM_RESET_UNDO, PAGE_READWRITE) != NULL, ERROR_INVALID_PARAMETER,
          "MEM_RESET with MEM_RESET_UNDO");
    T_ERR(VirtualAlloc(p, page, MEM_RESET, 0) != NULL, ERROR_INVALID_PARAMETER,
          "MEM_RESET with an invalid protection");
    T_OK(VirtualFree(p, 0, MEM_RELEASE), "released");
    T_ERR(VirtualAlloc(p, page, MEM_RESET, PAGE_READWRITE) != NULL, ERROR_INVALID_ADDRESS,
          "MEM_RESET of free memory");
}

static void test_enforced(void)
{
    T_EQ(child_exit("read-readonly"), 0, "a child reading a PAGE_READONLY page exits normally");
    T_EQ(child_exit("write-readonly"), STATUS_ACCESS_VIOLATION,
         "a child writing to a page made PAGE_READONLY dies with STATUS_ACCESS_VIOLATION");
    T_EQ(child_exit("read-noaccess"), STATUS_ACCESS_VIOLATION, "reading a PAGE_NOACCESS page");
    T_EQ(child_exit("read-reserved"), STATUS_ACCESS_VIOLATION, "reading a reserved page");
    T_EQ(child_exit("read-decommitted"), STATUS_ACCESS_VIOLATION, "reading a decommitted page");
    T_EQ(child_exit("read-released"), STATUS_ACCESS_VIOLATION, "reading released memory");
    T_EQ(child_exit("write-view-readonly"), STATUS_ACCESS_VIOLATION,
         "writing to a view's page made PAGE_READONLY");
    T_EQ(child_exit("write-heap-readonly"), STATUS_ACCESS_VIOLATION,
         "writing to heap memory made PAGE_READONLY");
}

/* --- views of file mappings ------------------------------------------------------------- */

static void test_views(void)
{
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4 * (DWORD)page, NULL);
    char *v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    char *r = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    char *c = MapViewOfFile(h, FILE_MAP_COPY, 0, 0, 0);
    DWORD old;

    T_OK(v && r && c, "write, read and copy views of a 4-page section");
    old = T_POISON;
    T_OK(VirtualProtect(v + page, page, PAGE_READONLY, &old), "VirtualProtect of a view's second page");
    T_EQ(old, PAGE_READWRITE, "old protection: the view's");
    expect(v, v, PAGE_READWRITE, page, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED, "view page 0");
    expect(v + page, v, PAGE_READWRITE, page, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED, "view page 1");
    expect(v + 2 * page, v, PAGE_READWRITE, 2 * page, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED, "view pages 2-3");
    v[0] = 'x';
    T_EQ(r[0], 'x', "the view still shares the section");
    T_OK(VirtualProtect(v + page, page, PAGE_NOACCESS, &old) && old == PAGE_READONLY, "view page 1 no access");
    T_OK(VirtualProtect(v + page, page, PAGE_READWRITE, &old) && old == PAGE_NOACCESS, "and read-write again");
    expect(v, v, PAGE_READWRITE, 4 * page, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED, "the whole view again");

    /* A view cannot get more than it was mapped with. */
    SetLastError(T_POISON);
    T_ERR(VirtualProtect(r, page, PAGE_READWRITE, &old), ERROR_INVALID_PARAMETER,
          "a read view cannot become writable");
    T_ERR(VirtualProtect(v, page, PAGE_EXECUTE_READ, &old), ERROR_INVALID_PARAMETER,
          "nor executable when not mapped so");
    T_ERR(VirtualProtect(c, page, PAGE_READWRITE, &old), ERROR_INVALID_PARAMETER,
          "a copy-on-write view cannot share writes");
    T_ERR(VirtualProtect(v, page, PAGE_READWRITE | PAGE_NOCACHE, &old), ERROR_INVALID_PARAMETER,
          "views take no PAGE_NOCACHE");
    T_ERR(VirtualProtect(v, 5 * page, PAGE_READONLY, &old), ERROR_INVALID_ADDRESS, "a range past the view");
    T_ERR(VirtualProtect(r, page, PAGE_WRITECOPY, &old), ERROR_NOT_SUPPORTED,
          "copy-on-write pages inside a shared view (not supported)");
    T_OK(VirtualProtect(r, page, PAGE_NOACCESS, &old) && old == PAGE_READONLY, "a read view can become no-access");
    T_OK(VirtualProtect(r, page, PAGE_READONLY, &old) && old == PAGE_NOACCESS, "and read-only again");

    T_OK(VirtualProtect(c, page, PAGE_NOACCESS, &old) && old == PAGE_WRITECOPY, "copy view page 0 no access");
    T_OK(VirtualProtect(c, page, PAGE_WRITECOPY, &old) && old == PAGE_NOACCESS, "and copy-on-write again");
    c[0] = 'c';
    T_EQ(v[0], 'x', "a copy-on-write write stays private");

    /* MEM_COMMIT of a pagefile-backed view sets its protection. */
    T_OK(VirtualAlloc(v, page, MEM_COMMIT, PAGE_READONLY) == v, "MEM_COMMIT on a view");
    expect(v, v, PAGE_READWRITE, page, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED, "committed read-only");
    T_ERR(VirtualAlloc(r, page, MEM_COMMIT, PAGE_READWRITE) != NULL, ERROR_INVALID_PARAMETER,
          "MEM_COMMIT asking more than the view allows");
    T_OK(VirtualAlloc(v, page, MEM_COMMIT, PAGE_READWRITE) == v, "MEM_COMMIT read-write again");

    /* Views are freed by UnmapViewOfFile only. */
    T_ERR(VirtualFree(v, 0, MEM_RELEASE), ERROR_INVALID_PARAMETER, "MEM_RELEASE of a view");
    T_ERR(VirtualFree(v + page, 0, MEM_RELEASE), ERROR_INVALID_PARAMETER, "MEM_RELEASE inside a view");
    T_ERR(VirtualFree(v, page, MEM_DECOMMIT), ERROR_INVALID_PARAMETER, "MEM_DECOMMIT of a view");
    T_OK(VirtualAlloc(v, 4 * page, MEM_RESET, PAGE_READWRITE) == v, "MEM_RESET of a pagefile-backed view");
    T_OK(VirtualAlloc(v, 4 * page, MEM_RESET_UNDO, PAGE_READWRITE) == v, "MEM_RESET_UNDO");
    T_EQ(r[0], 'x', "the section's data is intact");

    /* Unmapping forgets the page protections: a new view at the same place
     * starts whole. */
    T_OK(VirtualProtect(v + 2 * page, page, PAGE_READONLY, &old), "view page 2 read-only");
    T_OK(UnmapViewOfFile(v), "unmap the view");
    expect(v, NULL, 0, 0, MEM_FREE, PAGE_NOACCESS, 0, "the unmapped view");
    T_OK(MapViewOfFileEx(h, FILE_MAP_WRITE, 0, 0, 0, v) == v, "a new view at the same address");
    expect(v, v, PAGE_READWRITE, 4 * page, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED, "the new view is uniform");
    UnmapViewOfFile(v);
    UnmapViewOfFile(r);
    UnmapViewOfFile(c);
    CloseHandle(h);

    /* A view of a file. */
    char path[MAX_PATH];
    DWORD n = GetTempPathA(sizeof path - 40, path);
    snprintf(path + n, sizeof path - n, "%s.bin", t_name("memory-virtual"));
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    T_OK(f != INVALID_HANDLE_VALUE, "a temporary file");
    h = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 2 * (DWORD)page, NULL);
    v = h ? MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    T_OK(v != NULL, "a view of it");
    SetLastError(T_POISON);
    T_ERR(VirtualAlloc(v, page, MEM_COMMIT, PAGE_READONLY) != NULL, ERROR_ACCESS_DENIED,
          "MEM_COMMIT on a file's view: always committed");
    T_ERR(VirtualAlloc(v, page, MEM_RESET, PAGE_READONLY) != NULL, ERROR_USER_MAPPED_FILE,
          "MEM_RESET on a file's view");
    T_OK(VirtualProtect(v, page, PAGE_READONLY, &old) && old == PAGE_READWRITE, "VirtualProtect on a file's view");
    expect(v, v, PAGE_READWRITE, page, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED, "a file's view, page 0");
    UnmapViewOfFile(v);
    CloseHandle(h);
    CloseHandle(f);
    DeleteFileA(path);
}

/* --- memory winipc did not allocate ---------------------------------------------------- */

static void test_foreign(void)
{
    char *heap = malloc(4 * page);
    char *p = (char *)(((ULONG_PTR)heap + page - 1) & ~(ULONG_PTR)(page - 1));
    MEMORY_BASIC_INFORMATION mbi;
    DWORD old = T_POISON;

    T_OK(heap != NULL, "heap memory");
    T_OK(VirtualProtect(p, page, PAGE_READONLY, &old), "VirtualProtect of a heap page");
    T_EQ(old, PAGE_READWRITE, "it was read-write");
    query(p, &mbi);
    T_EQ(mbi.Protect, PAGE_READONLY, "VirtualQuery sees it read-only");
    T_EQ(mbi.RegionSize, page, "one page");
    T_OK(VirtualProtect(p, page, PAGE_READWRITE, &old) && old == PAGE_READONLY, "and read-write again");
    p[0] = 1;
    SetLastError(T_POISON);
    T_ERR(VirtualProtect(p, page, PAGE_WRITECOPY, &old), ERROR_INVALID_PARAMETER,
          "heap memory cannot be copy-on-write");
    T_ERR(VirtualFree(p, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS, "VirtualFree of heap memory");
    T_ERR(VirtualAlloc(p, page, MEM_COMMIT, PAGE_READWRITE) != NULL, ERROR_INVALID_ADDRESS,
          "MEM_COMMIT of heap memory");
    free(heap);

    char *b = VirtualAlloc(NULL, GRAN, MEM_RESERVE, PAGE_READWRITE);
    T_OK(b && VirtualFree(b, 0, MEM_RELEASE), "a released reservation");
    query(b, &mbi);
    if (mbi.State == MEM_FREE)
        T_ERR(VirtualProtect(b, page, PAGE_READONLY, &old), ERROR_INVALID_ADDRESS, "VirtualProtect of free memory");
    else
        T_OK(1, "VirtualProtect of free memory (the range was reused meanwhile)");
}

/* --- VirtualQueryEx and the Ex variants -------------------------------------------------- */

static void test_ex(void)
{
    MEMORY_BASIC_INFORMATION mbi, mbi2;
    PROCESS_INFORMATION pi;
    HANDLE self, weak, ev;
    char *p;
    DWORD old;

    p = VirtualAllocEx(GetCurrentProcess(), NULL, 2 * page, MEM_COMMIT, PAGE_READWRITE);
    T_OK(p != NULL, "VirtualAllocEx on GetCurrentProcess()");
    T_OK(VirtualProtectEx(GetCurrentProcess(), p, page, PAGE_READONLY, &old) && old == PAGE_READWRITE,
         "VirtualProtectEx");
    memset(&mbi2, 0xcc, sizeof mbi2);
    T_EQ(VirtualQueryEx(GetCurrentProcess(), p, &mbi2, sizeof mbi2), sizeof mbi2, "VirtualQueryEx");
    query(p, &mbi);
    T_OK(memcmp(&mbi, &mbi2, sizeof mbi) == 0, "answers as VirtualQuery does");

    self = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_OPERATION, FALSE, GetCurrentProcessId());
    T_OK(self != NULL, "OpenProcess of ourselves");
    memset(&mbi2, 0xcc, sizeof mbi2);
    T_EQ(VirtualQueryEx(self, p, &mbi2, sizeof mbi2), sizeof mbi2, "VirtualQueryEx through a process handle");
    T_OK(memcmp(&mbi, &mbi2, sizeof mbi) == 0, "same answer");
    weak = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, GetCurrentProcessId());
    SetLastError(T_POISON);
    T_EQ(VirtualQueryEx(weak, p, &mbi2, sizeof mbi2), 0, "VirtualQueryEx without PROCESS_QUERY_INFORMATION");
    T_EQ(GetLastError(), ERROR_ACCESS_DENIED, "ERROR_ACCESS_DENIED");
    T_ERR(VirtualAllocEx(weak, NULL, page, MEM_COMMIT, PAGE_READWRITE) != NULL, ERROR_ACCESS_DENIED,
          "VirtualAllocEx without PROCESS_VM_OPERATION");
    SetLastError(T_POISON);
    T_EQ(VirtualQueryEx(NULL, p, &mbi2, sizeof mbi2), 0, "VirtualQueryEx(NULL)");
    T_EQ(GetLastError(), ERROR_INVALID_HANDLE, "ERROR_INVALID_HANDLE");
    ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    SetLastError(T_POISON);
    T_EQ(VirtualQueryEx(ev, p, &mbi2, sizeof mbi2), 0, "VirtualQueryEx on an event");
    T_EQ(GetLastError(), ERROR_INVALID_HANDLE, "ERROR_INVALID_HANDLE");
    CloseHandle(ev);
    SetLastError(T_POISON);
    T_EQ(VirtualQueryEx(GetCurrentProcess(), p, &mbi2, sizeof mbi2 - 1), 0, "a buffer too small");
    T_EQ(GetLastError(), ERROR_BAD_LENGTH, "ERROR_BAD_LENGTH");
    T_ERR(VirtualAllocEx(NULL, NULL, page, MEM_COMMIT, PAGE_READWRITE) != NULL, ERROR_INVALID_HANDLE,
          "VirtualAllocEx(NULL)");
    T_ERR(VirtualFreeEx(NULL, p, 0, MEM_RELEASE), ERROR_INVALID_HANDLE, "VirtualFreeEx(NULL)");

    /* Another process's address space is out of reach (docs/mappings.md). */
    T_OK(t_spawn("child read-readonly", &pi), "a child process");
    SetLastError(T_POISON);
    T_EQ(VirtualQueryEx(pi.hProcess, p, &mbi2, sizeof mbi2), 0, "VirtualQueryEx on another process");
    T_EQ(GetLastError(), ERROR_NOT_SUPPORTED, "ERROR_NOT_SUPPORTED");
    T_ERR(VirtualAllocEx(pi.hProcess, NULL, page, MEM_COMMIT, PAGE_READWRITE) != NULL, ERROR_NOT_SUPPORTED,
          "VirtualAllocEx in another process");
    t_wait_child(&pi, 15000);

    T_OK(VirtualFreeEx(self, p, 0, MEM_RELEASE), "VirtualFreeEx through a process handle");
    CloseHandle(self);
    CloseHandle(weak);
}

/* --- threads ------------------------------------------------------------------------------- */

static volatile LONG thread_failures;

static DWORD WINAPI churn(LPVOID arg)
{
    HANDLE h = arg;
    int i;
    for (i = 0; i < 300; i++) {
        MEMORY_BASIC_INFORMATION mbi;
        DWORD old;
        char *p = VirtualAlloc(NULL, 4 * page, MEM_RESERVE, PAGE_READWRITE);
        char *v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
        if (!p || !v || VirtualAlloc(p + page, 2 * page, MEM_COMMIT, PAGE_READWRITE) != p + page) {
            InterlockedIncrement(&thread_failures);
            break;
        }
        p[page] = (char)i;
        v[0] = (char)i;
        if (!VirtualProtect(p + 2 * page, page, PAGE_READONLY, &old) || old != PAGE_READWRITE ||
            !VirtualProtect(v, page, PAGE_READONLY, &old) || old != PAGE_READWRITE)
            InterlockedIncrement(&thread_failures);
        if (VirtualQuery(p + 2 * page, &mbi, sizeof mbi) != sizeof mbi || mbi.Protect != PAGE_READONLY ||
            mbi.AllocationBase != p || mbi.RegionSize != page)
            InterlockedIncrement(&thread_failures);
        if (VirtualQuery(v, &mbi, sizeof mbi) != sizeof mbi || mbi.Protect != PAGE_READONLY || mbi.Type != MEM_MAPPED)
            InterlockedIncrement(&thread_failures);
        if (!VirtualFree(p + page, page, MEM_DECOMMIT) || !VirtualFree(p, 0, MEM_RELEASE) || !UnmapViewOfFile(v))
            InterlockedIncrement(&thread_failures);
    }
    return 0;
}

static void test_threads(void)
{
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 2 * (DWORD)page, NULL);
    HANDLE t[4];
    int i;
    for (i = 0; i < 4; i++)
        t[i] = CreateThread(NULL, 0, churn, h, 0, NULL);
    T_EQ(WaitForMultipleObjects(4, t, TRUE, 60000), WAIT_OBJECT_0, "four threads allocate, protect, query, free");
    T_EQ(thread_failures, 0, "with every answer right");
    for (i = 0; i < 4; i++)
        CloseHandle(t[i]);
    CloseHandle(h);
}

int main(int argc, char **argv)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    page = si.dwPageSize;
    if (argc >= 3 && strcmp(argv[1], "child") == 0)
        return run_child(argv[2]);

    test_reserve_commit();
    test_zero_fill();
    test_placement();
    test_regions();
    test_argument_errors();
    test_cache_modifiers();
    test_reset();
    test_enforced();
    test_views();
    test_foreign();
    test_ex();
    test_threads();
    return t_done();
}
