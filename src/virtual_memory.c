/* SPDX-License-Identifier: MIT */
/* Virtual memory of the current process: VirtualAlloc, VirtualFree,
 * VirtualProtect, VirtualQueryEx, and the Ex variants of the first three
 * (for the current process only). VirtualQuery itself lives in mapping.c and
 * asks this file about the pages it tracks (wi_virtual_query_private).
 *
 * The region table. Every VirtualAlloc reservation is one region: a range
 * of whole pages starting at a multiple of the 64 KiB allocation
 * granularity, mapped PROT_NONE from the start so nothing else can land in
 * it (Linux has no "reserved" state; an inaccessible private anonymous
 * mapping is the same thing, and costs no memory nor commit charge). Each
 * page is reserved or committed with a protection; a region keeps these as
 * a list of runs (first page, state) so a 64 GiB reservation with two
 * committed pages costs three entries, not 16 million.
 *
 *   MEM_COMMIT     mprotect to the protection. Reserved pages read as zero
 *                  (they were never written, or MEM_DECOMMIT discarded
 *                  them), which is Windows' promise for newly committed
 *                  pages; pages already committed keep their contents and
 *                  take the new protection, as on Windows. Making a private
 *                  page writable charges Linux's commit accounting, so a
 *                  commit beyond the commit limit fails at VirtualAlloc
 *                  (ERROR_COMMITMENT_LIMIT), not at first touch.
 *   MEM_DECOMMIT   mprotect(PROT_NONE), then MADV_DONTNEED: the contents
 *                  are gone and the pages read as zero when committed again.
 *                  (Not a MAP_FIXED remap: a failing one can leave a hole in
 *                  the reservation on older kernels.)
 *   MEM_RELEASE    munmap of the whole reservation.
 *   MEM_RESET      MADV_FREE on the writable committed pages: Linux may
 *                  drop them under memory pressure instead of swapping them.
 *   MEM_RESET_UNDO re-dirties each still-present page (an atomic
 *                  read-modify-write that stores what it read), which
 *                  cancels the lazy free; see keep_pages().
 *
 * Views of file mappings belong to mapping.c. When VirtualProtect (or
 * VirtualAlloc(MEM_COMMIT)) changes protections inside a view, this file
 * keeps a region for the view too (`view` set, never reserved pages), so
 * that VirtualQuery reports the runs; mapping.c drops it when the view is
 * unmapped (wi_virtual_view_unmapped).
 *
 * Memory neither from VirtualAlloc nor a view (the C heap, stacks, the
 * program's image, other libraries' mappings) is not tracked: VirtualQuery
 * describes it from /proc/self/maps, VirtualProtect changes it with
 * mprotect after checking the range is mapped, and VirtualAlloc and
 * VirtualFree refuse it (ERROR_INVALID_ADDRESS): winipc never unmaps what it
 * did not map.
 *
 * Locking: the table is guarded by the address-space lock, shared with
 * mapping.c's view table (virtual_memory.h says why one lock and how it is
 * made fork-safe). It is held across each operation's system calls, so a
 * concurrent MapViewOfFile or VirtualAlloc never sees a range in between
 * states. */
#include "error.h"
#include "handle.h"
#include "virtual_memory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define GRANULARITY ((uintptr_t)65536)

/* The user address range as GetSystemInfo reports it. */
#define MIN_APP_ADDRESS ((uintptr_t)0x10000)
#if UINTPTR_MAX > 0xFFFFFFFFu
#define MAX_APP_ADDRESS ((uintptr_t)0x7FFFFFFEFFFFull)
#else
#define MAX_APP_ADDRESS ((uintptr_t)0xFFFEFFFFu)
#endif

#define PAGE_BASE_MASK 0xFFu
#define PAGE_CACHE_MODIFIERS (PAGE_NOCACHE | PAGE_WRITECOMBINE)
#define PAGE_MODIFIERS (PAGE_GUARD | PAGE_CACHE_MODIFIERS)
#define PAGE_COPY_PROTECTIONS (PAGE_WRITECOPY | PAGE_EXECUTE_WRITECOPY)

#define ALLOC_TYPES                                                                                          \
    (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO | MEM_TOP_DOWN | MEM_WRITE_WATCH | MEM_PHYSICAL | \
     MEM_LARGE_PAGES)

/* --- the region table --------------------------------------------------------------- */

/* Pages [page, next run's page) of a region share one state. */
struct run {
    size_t page;  /* first page, counted from the region's base */
    uint8_t prot; /* PAGE_* base protection; 0: reserved, not committed */
};

struct region {
    char *base;
    size_t size;         /* bytes, whole pages */
    DWORD alloc_protect; /* AllocationProtect; for a view, the view's protection */
    bool view;           /* the pages of a view of a file mapping (mapping.c's) */
    struct run *runs;    /* sorted, the first at page 0, neighbours differ */
    size_t nruns, cap;
};

/* Guarded by the address-space lock. */
static struct {
    struct region *r; /* sorted by base; regions never overlap */
    size_t count, cap;
} table;

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE); /* read from the aux vector: no syscall */
}

static size_t region_pages(const struct region *r)
{
    return r->size / page_size();
}

/* Index of the first region whose base is above addr. */
static size_t regions_upper(uintptr_t addr)
{
    size_t lo = 0, hi = table.count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((uintptr_t)table.r[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct region *region_find(uintptr_t addr)
{
    size_t i = regions_upper(addr);
    if (i == 0)
        return NULL;
    struct region *r = &table.r[i - 1];
    return addr - (uintptr_t)r->base < r->size ? r : NULL;
}

/* Make room for one more region before any system call, so that recording
 * a mapping that now exists cannot fail. */
static DWORD regions_make_room(void)
{
    if (table.count < table.cap)
        return ERROR_SUCCESS;
    size_t cap = table.cap ? table.cap * 2 : 16;
    struct region *p = realloc(table.r, cap * sizeof *p);
    if (!p)
        return ERROR_NOT_ENOUGH_MEMORY;
    table.r = p;
    table.cap = cap;
    return ERROR_SUCCESS;
}

/* Insert (room made); the table moves, so earlier region pointers die. */
static struct region *regions_insert(const struct region *nr)
{
    size_t i = regions_upper((uintptr_t)nr->base);
    memmove(&table.r[i + 1], &table.r[i], (table.count - i) * sizeof *nr);
    table.r[i] = *nr;
    table.count++;
    return &table.r[i];
}

static void regions_remove(struct region *r)
{
    size_t i = (size_t)(r - table.r);
    free(r->runs);
    memmove(r, r + 1, (table.count - i - 1) * sizeof *r);
    table.count--;
}

/* A new region of `size` bytes whose pages all have `prot`. */
static DWORD region_init(struct region *r, char *base, size_t size, DWORD alloc_protect, uint8_t prot, bool view)
{
    r->runs = malloc(4 * sizeof *r->runs);
    if (!r->runs)
        return ERROR_NOT_ENOUGH_MEMORY;
    r->base = base;
    r->size = size;
    r->alloc_protect = alloc_protect;
    r->view = view;
    r->cap = 4;
    r->nruns = 1;
    r->runs[0] = (struct run){0, prot};
    return ERROR_SUCCESS;
}

/* --- runs ----------------------------------------------------------------------------- */

/* The run containing `page`. */
static size_t run_at(const struct region *r, size_t page)
{
    size_t lo = 0, hi = r->nruns;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (r->runs[mid].page <= page)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static size_t run_end(const struct region *r, size_t i)
{
    return i + 1 < r->nruns ? r->runs[i + 1].page : region_pages(r);
}

/* runs_set() adds at most two runs; make room before the system call. */
static DWORD runs_make_room(struct region *r)
{
    if (r->nruns + 2 <= r->cap)
        return ERROR_SUCCESS;
    size_t cap = r->cap * 2 > r->nruns + 2 ? r->cap * 2 : r->nruns + 2;
    struct run *p = realloc(r->runs, cap * sizeof *p);
    if (!p)
        return ERROR_NOT_ENOUGH_MEMORY;
    r->runs = p;
    r->cap = cap;
    return ERROR_SUCCESS;
}

/* Pages [first, end) take `prot` (room made). */
static void runs_set(struct region *r, size_t first, size_t end, uint8_t prot)
{
    size_t i = run_at(r, first), k = run_at(r, end - 1);
    uint8_t tail = r->runs[k].prot;
    bool keep_head = r->runs[i].page < first;
    bool keep_tail = end < run_end(r, k);
    size_t nmid = (size_t)keep_head + 1 + (size_t)keep_tail, removed = k - i + 1;

    /* Runs i..k make way for [head] new [tail]; run i stays in place as
     * the head when it starts before `first`. */
    memmove(&r->runs[i + nmid], &r->runs[k + 1], (r->nruns - k - 1) * sizeof *r->runs);
    size_t w = i + (size_t)keep_head;
    r->runs[w++] = (struct run){first, prot};
    if (keep_tail)
        r->runs[w] = (struct run){end, tail};
    r->nruns = r->nruns - removed + nmid;

    /* Neighbours with the same state become one run. */
    size_t out = 0;
    for (size_t j = 1; j < r->nruns; j++) {
        if (r->runs[j].prot != r->runs[out].prot)
            r->runs[++out] = r->runs[j];
    }
    r->nruns = out + 1;
}

/* Are pages [first, end) all committed? */
static bool runs_committed(const struct region *r, size_t first, size_t end)
{
    for (size_t i = run_at(r, first); i < r->nruns && r->runs[i].page < end; i++) {
        if (!r->runs[i].prot)
            return false;
    }
    return true;
}

/* --- protections ------------------------------------------------------------------- */

/* Check a PAGE_* value as every Windows memory function does: exactly one
 * base protection, plus modifiers that go together (PAGE_NOCACHE and
 * PAGE_WRITECOMBINE exclude each other and PAGE_GUARD; none of them goes
 * with PAGE_NOACCESS). PAGE_TARGETS_INVALID / PAGE_TARGETS_NO_UPDATE mark
 * Control Flow Guard targets, which Linux does not have: every address is
 * a valid target anyway, so the bit is accepted and dropped. The enclave
 * flags and anything else: ERROR_INVALID_PARAMETER. */
static DWORD protect_parse(DWORD p, DWORD *out)
{
    DWORD base = p & PAGE_BASE_MASK, mods = p & PAGE_MODIFIERS;
    if (p & ~(DWORD)(PAGE_BASE_MASK | PAGE_MODIFIERS | PAGE_TARGETS_INVALID))
        return ERROR_INVALID_PARAMETER;
    if (!base || (base & (base - 1)))
        return ERROR_INVALID_PARAMETER;
    if ((mods & PAGE_NOCACHE) && (mods & (PAGE_GUARD | PAGE_WRITECOMBINE)))
        return ERROR_INVALID_PARAMETER;
    if ((mods & PAGE_WRITECOMBINE) && (mods & PAGE_GUARD))
        return ERROR_INVALID_PARAMETER;
    if (mods && base == PAGE_NOACCESS)
        return ERROR_INVALID_PARAMETER;
    *out = base | mods;
    return ERROR_SUCCESS;
}

static int prot_linux(DWORD base)
{
    switch (base & PAGE_BASE_MASK) {
    case PAGE_READONLY:
        return PROT_READ;
    case PAGE_READWRITE:
    case PAGE_WRITECOPY:
        return PROT_READ | PROT_WRITE;
    case PAGE_EXECUTE:
        return PROT_EXEC;
    case PAGE_EXECUTE_READ:
        return PROT_READ | PROT_EXEC;
    case PAGE_EXECUTE_READWRITE:
    case PAGE_EXECUTE_WRITECOPY:
        return PROT_READ | PROT_WRITE | PROT_EXEC;
    default:
        return PROT_NONE;
    }
}

static bool prot_writable(DWORD base)
{
    return prot_linux(base) & PROT_WRITE;
}

/* What a protection needs from the section behind a view: read, shared
 * write, execute. Copy-on-write needs only read: the copies are private. */
#define NEED_R 1u
#define NEED_W 2u
#define NEED_X 4u
static unsigned prot_needs(DWORD base)
{
    switch (base & PAGE_BASE_MASK) {
    case PAGE_READONLY:
    case PAGE_WRITECOPY:
        return NEED_R;
    case PAGE_READWRITE:
        return NEED_R | NEED_W;
    case PAGE_EXECUTE:
        return NEED_X;
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_WRITECOPY:
        return NEED_R | NEED_X;
    case PAGE_EXECUTE_READWRITE:
        return NEED_R | NEED_W | NEED_X;
    default:
        return 0;
    }
}

/* The errno of a failed mprotect/mmap making pages accessible. */
static DWORD commit_error(int err)
{
    /* Linux charges commit when private pages become writable; ENOMEM is
     * Windows' "commit limit reached" (it also covers running out of
     * mappings, vm.max_map_count). */
    return err == ENOMEM ? ERROR_COMMITMENT_LIMIT : wi_error_from_errno(err);
}

/* --- what an address belongs to -------------------------------------------------- */

enum owner { OWNER_NONE, OWNER_PRIVATE, OWNER_VIEW };

struct target {
    enum owner owner;
    struct region *r;         /* OWNER_PRIVATE, or OWNER_VIEW once its pages are tracked */
    struct wi_view_info view; /* OWNER_VIEW */
};

static void locate(uintptr_t addr, struct target *t)
{
    t->r = region_find(addr);
    if (t->r && !t->r->view) {
        t->owner = OWNER_PRIVATE;
        return;
    }
    if (wi_view_lookup(addr, &t->view)) {
        t->owner = OWNER_VIEW;
        return;
    }
    t->owner = OWNER_NONE;
    t->r = NULL;
}

/* [addr, addr + size) widened to whole pages; false when it wraps. */
static bool page_range(uintptr_t addr, size_t size, uintptr_t *start, uintptr_t *end)
{
    uintptr_t mask = page_size() - 1;
    if (addr > UINTPTR_MAX - mask || size > UINTPTR_MAX - mask - addr)
        return false;
    *start = addr & ~mask;
    *end = (addr + size + mask) & ~mask;
    return true;
}

/* --- reserve and commit ----------------------------------------------------------------- */

/* A new reservation (MEM_RESERVE, or MEM_COMMIT without an address). With
 * an address: from that address rounded down to 64 KiB up to the page that
 * holds its last byte, which must be free (MAP_FIXED_NOREPLACE never
 * replaces anything). Without one: anywhere, at a multiple of 64 KiB. */
static DWORD reserve(uintptr_t addr, size_t size, bool commit, DWORD prot, void **out)
{
    size_t psz = page_size();
    uintptr_t start = 0;
    size_t len;
    DWORD err;

    /* The caller kept [addr, addr + size) inside user space. */
    if (addr) {
        start = addr & ~(GRANULARITY - 1);
        if (start < MIN_APP_ADDRESS)
            return ERROR_INVALID_PARAMETER; /* the first 64 KiB are never available */
        len = (size_t)(((addr + size + psz - 1) & ~(uintptr_t)(psz - 1)) - start);
    } else {
        len = (size + psz - 1) & ~(psz - 1);
    }

    struct region nr;
    err = regions_make_room();
    if (!err)
        err = region_init(&nr, NULL, len, prot, commit ? (uint8_t)(prot & PAGE_BASE_MASK) : 0, false);
    if (err)
        return err;

    char *base = NULL;
    if (addr) {
        base = mmap((void *)start, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (base == MAP_FAILED) {
            err = errno == ENOMEM ? ERROR_NOT_ENOUGH_MEMORY : ERROR_INVALID_ADDRESS;
        } else if (base != (char *)start) { /* a kernel older than 4.17 took the address as a hint */
            munmap(base, len);
            err = ERROR_INVALID_ADDRESS;
        }
    } else {
        /* Reserve enough to find a 64 KiB boundary, keep the aligned part.
         * MEM_TOP_DOWN needs nothing more: Linux hands out addresses from
         * the top down already (docs/mappings.md). */
        size_t span = len + GRANULARITY - psz;
        char *r = span < len ? MAP_FAILED : mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (r == MAP_FAILED) {
            err = ERROR_NOT_ENOUGH_MEMORY;
        } else {
            base = (char *)(((uintptr_t)r + GRANULARITY - 1) & ~(GRANULARITY - 1));
            if (base > r)
                munmap(r, (size_t)(base - r));
            if (r + span > base + len)
                munmap(base + len, (size_t)(r + span - (base + len)));
        }
    }
    if (!err && commit && mprotect(base, len, prot_linux(prot)) != 0) {
        err = commit_error(errno);
        munmap(base, len);
    }
    if (err) {
        free(nr.runs);
        return err;
    }
    nr.base = base;
    regions_insert(&nr);
    *out = base;
    return ERROR_SUCCESS;
}

/* New protections for pages [start, end) of a view (VirtualProtect, or
 * MEM_COMMIT of pagefile-backed pages, which Windows commits and protects).
 * Windows compares the new protection with the view's own (the VAD's), not
 * the section's: a FILE_MAP_READ view cannot become writable even when the
 * section is, but it can become PAGE_WRITECOPY. */
static DWORD view_protect(struct target *t, uintptr_t start, uintptr_t end, DWORD prot, DWORD *old)
{
    const struct wi_view_info *v = &t->view;
    DWORD base = prot & PAGE_BASE_MASK;
    bool private_view = (v->protect & PAGE_COPY_PROTECTIONS) != 0;

    if (end > (uintptr_t)v->base + v->len)
        return ERROR_INVALID_ADDRESS; /* STATUS_CONFLICTING_ADDRESSES */
    /* Sections take no caching modifiers; a protection the view does not
     * allow is STATUS_SECTION_PROTECTION. */
    if (prot & PAGE_CACHE_MODIFIERS)
        return ERROR_INVALID_PARAMETER;
    if (prot_needs(base) & ~prot_needs(v->protect))
        return ERROR_INVALID_PARAMETER;
    /* Copy-on-write pages inside a shared (MAP_SHARED) view would need each
     * page remapped privately from the section's file, which mapping.c does
     * not keep at hand (docs/mappings.md). */
    if ((base & PAGE_COPY_PROTECTIONS) && !private_view)
        return ERROR_NOT_SUPPORTED;
    if (prot & PAGE_GUARD)
        return ERROR_NOT_SUPPORTED;

    DWORD err;
    if (!t->r) {
        struct region nr;
        err = regions_make_room();
        if (!err)
            err = region_init(&nr, v->base, v->len, v->protect, (uint8_t)(v->protect & PAGE_BASE_MASK), true);
        if (err)
            return err;
        t->r = regions_insert(&nr);
    }
    struct region *r = t->r;
    size_t psz = page_size(), first = (start - (uintptr_t)r->base) / psz, last = (end - (uintptr_t)r->base) / psz;
    err = runs_make_room(r);
    if (err)
        return err;
    if (mprotect((void *)start, end - start, prot_linux(base)) != 0)
        return wi_error_from_errno(errno);
    if (old)
        *old = r->runs[run_at(r, first)].prot;
    runs_set(r, first, last, (uint8_t)base);
    return ERROR_SUCCESS;
}

/* MEM_COMMIT of pages that must already be reserved (an address given). */
static DWORD commit(uintptr_t addr, size_t size, DWORD prot, void **out)
{
    uintptr_t start = 0, end = 0;
    struct target t;
    DWORD err;

    if (!page_range(addr, size, &start, &end))
        return ERROR_INVALID_PARAMETER;
    locate(start, &t);
    if (t.owner == OWNER_NONE)
        return ERROR_INVALID_ADDRESS; /* nothing reserved there: STATUS_CONFLICTING_ADDRESSES */
    if (t.owner == OWNER_VIEW) {
        if (end > (uintptr_t)t.view.base + t.view.len)
            return ERROR_INVALID_ADDRESS;
        /* A file's pages are always committed: STATUS_ALREADY_COMMITTED,
         * which Windows reports as ERROR_ACCESS_DENIED. */
        if (t.view.file_backed)
            return ERROR_ACCESS_DENIED;
        err = view_protect(&t, start, end, prot, NULL);
    } else {
        struct region *r = t.r;
        if (end > (uintptr_t)r->base + r->size)
            return ERROR_INVALID_ADDRESS;
        if (prot & PAGE_COPY_PROTECTIONS)
            return ERROR_INVALID_PARAMETER; /* private pages are never copy-on-write */
        if (prot & PAGE_GUARD)
            return ERROR_NOT_SUPPORTED;
        err = runs_make_room(r);
        if (err)
            return err;
        if (mprotect((void *)start, end - start, prot_linux(prot)) != 0)
            return commit_error(errno);
        size_t psz = page_size();
        runs_set(r, (start - (uintptr_t)r->base) / psz, (end - (uintptr_t)r->base) / psz,
                 (uint8_t)(prot & PAGE_BASE_MASK));
    }
    if (!err)
        *out = (void *)start;
    return err;
}

/* --- MEM_RESET and MEM_RESET_UNDO --------------------------------------------------- */

static bool page_is_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i += sizeof(uint64_t)) {
        uint64_t w;
        memcpy(&w, p + i, sizeof w);
        if (w)
            return false;
    }
    return true;
}

/* MEM_RESET_UNDO for the writable pages [a, b): cancel MADV_FREE where the
 * kernel has not yet taken the page, and tell whether every page kept its
 * contents. A page Linux already freed is absent (mincore) or, if it went
 * between that check and ours, comes back as a fresh zero page. Writing to
 * a page cancels its lazy free; the compare-and-swap stores the byte it
 * read, so a concurrent writer loses nothing. A page that reads as all
 * zeros afterwards may have been freed: it counts as lost, which at worst
 * makes the caller rebuild contents that were zeros anyway. */
static bool keep_pages(unsigned char *a, unsigned char *b)
{
    size_t psz = page_size(), n = (size_t)(b - a) / psz;
    unsigned char vec[256];
    bool intact = true;

    for (size_t done = 0; done < n;) {
        size_t k = n - done < sizeof vec ? n - done : sizeof vec;
        unsigned char *p = a + done * psz;
        if (mincore(p, k * psz, vec) != 0)
            memset(vec, 1, k); /* unknown: look at the pages themselves */
        for (size_t i = 0; i < k; i++, p += psz) {
            if (!(vec[i] & 1)) {
                intact = false; /* freed (or never touched): zeros now */
                continue;
            }
            unsigned char v = __atomic_load_n(p, __ATOMIC_RELAXED);
            while (!__atomic_compare_exchange_n(p, &v, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                ;
            if (page_is_zero(p, psz))
                intact = false;
        }
        done += k;
    }
    return intact;
}

static DWORD reset(uintptr_t addr, size_t size, bool undo, void **out)
{
    uintptr_t start = 0, end = 0;
    struct target t;

    if (!page_range(addr, size, &start, &end))
        return ERROR_INVALID_PARAMETER;
    locate(start, &t);
    if (t.owner == OWNER_NONE)
        return ERROR_INVALID_ADDRESS;
    if (t.owner == OWNER_VIEW) {
        if (end > (uintptr_t)t.view.base + t.view.len)
            return ERROR_INVALID_ADDRESS;
        /* Windows refuses views of files (STATUS_USER_MAPPED_FILE). For a
         * pagefile-backed section the data is shared with other views and
         * processes; winipc keeps it, which MEM_RESET allows (the contents
         * become undefined, not necessarily zero), so undo finds it intact. */
        if (t.view.file_backed)
            return ERROR_USER_MAPPED_FILE;
        *out = (void *)start;
        return ERROR_SUCCESS;
    }

    struct region *r = t.r;
    if (end > (uintptr_t)r->base + r->size)
        return ERROR_INVALID_ADDRESS;
    size_t psz = page_size(), first = (start - (uintptr_t)r->base) / psz, last = (end - (uintptr_t)r->base) / psz;
    bool intact = true;
    /* Only writable committed pages can hold data the caller gave up;
     * reserved pages are zeros and read-only pages keep their contents
     * (MEM_RESET makes no promise either way). */
    for (size_t i = run_at(r, first); i < r->nruns && r->runs[i].page < last; i++) {
        if (!prot_writable(r->runs[i].prot))
            continue;
        size_t from = r->runs[i].page > first ? r->runs[i].page : first;
        size_t to = run_end(r, i) < last ? run_end(r, i) : last;
        unsigned char *a = (unsigned char *)r->base + from * psz, *b = (unsigned char *)r->base + to * psz;
        if (undo) {
            if (!keep_pages(a, b))
                intact = false;
        } else {
            /* Before Linux 4.5 there is no MADV_FREE (EINVAL): the pages
             * then simply stay, which MEM_RESET allows. */
            madvise(a, (size_t)(b - a), MADV_FREE);
        }
    }
    /* Microsoft documents that MEM_RESET_UNDO fails when some data was
     * replaced with zeros, but names no error code; winipc reports
     * ERROR_INVALID_ADDRESS (docs/mappings.md). */
    if (!intact)
        return ERROR_INVALID_ADDRESS;
    *out = (void *)start;
    return ERROR_SUCCESS;
}

/* VirtualAlloc's checks, in the order NtAllocateVirtualMemory makes them:
 * the allocation type, the protection, the size; unsupported features
 * (ERROR_NOT_SUPPORTED) only after every argument error. */
static DWORD virtual_alloc(void *addr, SIZE_T size, DWORD type, DWORD protect, void **out)
{
    DWORD prot, err;

    if (type & ~(DWORD)ALLOC_TYPES)
        return ERROR_INVALID_PARAMETER;
    if (!(type & (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO)))
        return ERROR_INVALID_PARAMETER;
    /* MEM_RESET and MEM_RESET_UNDO go with no other flag. */
    if ((type & (MEM_RESET | MEM_RESET_UNDO)) && type != MEM_RESET && type != MEM_RESET_UNDO)
        return ERROR_INVALID_PARAMETER;
    if ((type & MEM_LARGE_PAGES) && (!(type & MEM_COMMIT) || (type & (MEM_PHYSICAL | MEM_WRITE_WATCH))))
        return ERROR_INVALID_PARAMETER;
    if ((type & MEM_WRITE_WATCH) && (!(type & MEM_RESERVE) || (type & MEM_PHYSICAL)))
        return ERROR_INVALID_PARAMETER;
    if ((type & MEM_PHYSICAL) &&
        ((type & ~(DWORD)(MEM_RESERVE | MEM_TOP_DOWN | MEM_PHYSICAL)) || !(type & MEM_RESERVE) || protect != PAGE_READWRITE))
        return ERROR_INVALID_PARAMETER;
    /* MEM_RESET ignores the protection, but it must be a valid one. */
    err = protect_parse(protect, &prot);
    if (err)
        return err;
    /* Beyond user space: STATUS_INVALID_PARAMETER_2 / _4. */
    if ((uintptr_t)addr > MAX_APP_ADDRESS || size > MAX_APP_ADDRESS + 1 - (uintptr_t)addr || size == 0)
        return ERROR_INVALID_PARAMETER;

    if (type & (MEM_RESET | MEM_RESET_UNDO)) {
        wi_address_space_lock();
        err = reset((uintptr_t)addr, size, type == MEM_RESET_UNDO, out);
        wi_address_space_unlock();
        return err;
    }
    if (!addr || (type & MEM_RESERVE)) {
        if (prot & PAGE_COPY_PROTECTIONS)
            return ERROR_INVALID_PARAMETER; /* private pages are never copy-on-write */
        /* Large pages (MAP_HUGETLB needs a preallocated pool and behaves
         * differently when it runs out), AWE physical pages and write
         * watching (GetWriteWatch) are not provided; nor guard pages, whose
         * one-shot STATUS_GUARD_PAGE_VIOLATION would need a SIGSEGV
         * handler of the library's own (docs/mappings.md). */
        if (type & (MEM_LARGE_PAGES | MEM_PHYSICAL | MEM_WRITE_WATCH))
            return ERROR_NOT_SUPPORTED;
        if (prot & PAGE_GUARD)
            return ERROR_NOT_SUPPORTED;
        /* No address: NT reserves and commits for MEM_COMMIT alone too. */
        wi_address_space_lock();
        err = reserve((uintptr_t)addr, size, (type & MEM_COMMIT) != 0, prot, out);
        wi_address_space_unlock();
        return err;
    }
    if (type & MEM_LARGE_PAGES)
        return ERROR_NOT_SUPPORTED;
    wi_address_space_lock();
    err = commit((uintptr_t)addr, size, prot, out);
    wi_address_space_unlock();
    return err;
}

/* --- free ------------------------------------------------------------------------------- */

static DWORD virtual_free(void *addr, SIZE_T size, DWORD type)
{
    uintptr_t a = (uintptr_t)addr, start = 0, end = 0;
    struct target t;
    DWORD err = ERROR_SUCCESS;

    /* Placeholders belong to VirtualAlloc2 (docs/mappings.md). */
    if ((type & (MEM_COALESCE_PLACEHOLDERS | MEM_PRESERVE_PLACEHOLDER)) &&
        (type & ~(DWORD)(MEM_COALESCE_PLACEHOLDERS | MEM_PRESERVE_PLACEHOLDER)) == MEM_RELEASE)
        return ERROR_NOT_SUPPORTED;
    if (type != MEM_DECOMMIT && type != MEM_RELEASE)
        return ERROR_INVALID_PARAMETER;
    if (type == MEM_RELEASE && size != 0)
        return ERROR_INVALID_PARAMETER;
    if (!page_range(a, size, &start, &end))
        return ERROR_INVALID_PARAMETER;

    wi_address_space_lock();
    locate(start, &t);
    if (t.owner == OWNER_NONE) {
        err = ERROR_INVALID_ADDRESS; /* STATUS_MEMORY_NOT_ALLOCATED */
    } else if (t.owner == OWNER_VIEW) {
        /* STATUS_UNABLE_TO_FREE_VM past its end, else
         * STATUS_UNABLE_TO_DELETE_SECTION: UnmapViewOfFile frees views. */
        err = ERROR_INVALID_PARAMETER;
    } else {
        struct region *r = t.r;
        uintptr_t rend = (uintptr_t)r->base + r->size;
        if (size == 0) {
            /* The whole allocation, named by its base (the address is
             * rounded down to its page first): else
             * STATUS_FREE_VM_NOT_AT_BASE, ERROR_INVALID_ADDRESS. */
            if (start != (uintptr_t)r->base)
                err = ERROR_INVALID_ADDRESS;
            end = rend;
        } else if (end > rend) {
            err = ERROR_INVALID_PARAMETER; /* STATUS_UNABLE_TO_FREE_VM */
        }
        if (!err && type == MEM_RELEASE) {
            munmap(r->base, r->size);
            regions_remove(r);
        } else if (!err) {
            size_t psz = page_size();
            err = runs_make_room(r);
            if (!err && mprotect((void *)start, end - start, PROT_NONE) != 0)
                err = wi_error_from_errno(errno);
            if (!err) {
                /* Cannot fail on private anonymous pages. */
                madvise((void *)start, end - start, MADV_DONTNEED);
                runs_set(r, (start - (uintptr_t)r->base) / psz, (end - (uintptr_t)r->base) / psz, 0);
            }
        }
    }
    wi_address_space_unlock();
    return err;
}

/* --- protect ---------------------------------------------------------------------------- */

/* Linux's description of a mapping, one line of /proc/self/maps. */
struct vma {
    uintptr_t start, end;
    char perms[5];
    bool file;
};

static DWORD protect_from_vma(const struct vma *v)
{
    bool r = v->perms[0] == 'r', w = v->perms[1] == 'w', x = v->perms[2] == 'x';
    bool copy = v->file && v->perms[3] == 'p';
    if (x)
        return w ? (copy ? PAGE_EXECUTE_WRITECOPY : PAGE_EXECUTE_READWRITE) : r ? PAGE_EXECUTE_READ : PAGE_EXECUTE;
    if (w)
        return copy ? PAGE_WRITECOPY : PAGE_READWRITE;
    return r ? PAGE_READONLY : PAGE_NOACCESS;
}

/* VirtualProtect on memory winipc did not map: the range must be mapped
 * without a hole and must not reach into a VirtualAlloc region or a view
 * (Windows changes one allocation at a time: STATUS_CONFLICTING_ADDRESSES).
 * Copy-on-write is what private file mappings (the program's image,
 * libraries) already are; private anonymous memory cannot be, as on
 * Windows; shared mappings cannot turn copy-on-write here. */
static DWORD foreign_protect(uintptr_t start, uintptr_t end, DWORD prot, DWORD *old)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[4096 + 128];
    uintptr_t covered = start;
    bool any_anon = false, any_shared = false, first = true;
    DWORD err = ERROR_SUCCESS, old_prot = 0;

    if (!f)
        return wi_error_from_errno(errno);
    while (covered < end && fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        bool whole = n && line[n - 1] == '\n';
        unsigned long s, e, inode;
        unsigned long long off;
        char dev[16];
        struct vma v;
        if (sscanf(line, "%lx-%lx %4s %llx %15s %lu", &s, &e, v.perms, &off, dev, &inode) == 6 && e > covered) {
            if (s > covered) {
                err = ERROR_INVALID_ADDRESS; /* a hole: not allocated */
                break;
            }
            v.start = s;
            v.end = e;
            v.file = inode != 0;
            if (!first) {
                struct wi_view_info view;
                if (region_find(s) || wi_view_lookup(s, &view)) {
                    err = ERROR_INVALID_ADDRESS;
                    break;
                }
            } else {
                old_prot = protect_from_vma(&v);
                first = false;
            }
            any_anon |= !v.file && v.perms[3] == 'p';
            any_shared |= v.perms[3] == 's';
            covered = e;
        }
        while (!whole && fgets(line, sizeof line, f)) { /* the rest of an over-long line */
            n = strlen(line);
            whole = n && line[n - 1] == '\n';
        }
    }
    fclose(f);
    if (!err && covered < end)
        err = ERROR_INVALID_ADDRESS;
    if (err)
        return err;
    if (prot & PAGE_COPY_PROTECTIONS) {
        if (any_anon)
            return ERROR_INVALID_PARAMETER;
        if (any_shared)
            return ERROR_NOT_SUPPORTED;
    }
    if (prot & PAGE_GUARD)
        return ERROR_NOT_SUPPORTED;
    if (mprotect((void *)start, end - start, prot_linux(prot)) != 0) {
        /* EACCES: the file behind the mapping does not allow it, Windows'
         * STATUS_SECTION_PROTECTION. */
        return errno == EACCES ? ERROR_INVALID_PARAMETER : wi_error_from_errno(errno);
    }
    *old = old_prot;
    return ERROR_SUCCESS;
}

static DWORD virtual_protect(void *addr, SIZE_T size, DWORD protect, DWORD *old)
{
    uintptr_t start = 0, end = 0;
    struct target t;
    DWORD prot, err;

    /* NtProtectVirtualMemory writes the old protection through the
     * pointer; NULL faults: STATUS_ACCESS_VIOLATION, ERROR_NOACCESS. */
    if (!old)
        return ERROR_NOACCESS;
    err = protect_parse(protect, &prot);
    if (err)
        return err;
    /* Size 0 still names the page holding the address. */
    if (!page_range((uintptr_t)addr, size ? size : 1, &start, &end))
        return ERROR_INVALID_PARAMETER;

    wi_address_space_lock();
    locate(start, &t);
    if (t.owner == OWNER_VIEW) {
        DWORD o = 0;
        err = view_protect(&t, start, end, prot, &o);
        if (!err)
            *old = o;
    } else if (t.owner == OWNER_NONE) {
        err = foreign_protect(start, end, prot, old);
    } else {
        struct region *r = t.r;
        size_t psz = page_size(), first = (start - (uintptr_t)r->base) / psz, last = (end - (uintptr_t)r->base) / psz;
        if (end > (uintptr_t)r->base + r->size)
            err = ERROR_INVALID_ADDRESS; /* STATUS_CONFLICTING_ADDRESSES */
        else if (prot & PAGE_COPY_PROTECTIONS)
            err = ERROR_INVALID_PARAMETER; /* STATUS_INVALID_PARAMETER_4 for private pages */
        else if (!runs_committed(r, first, last))
            err = ERROR_INVALID_ADDRESS; /* STATUS_NOT_COMMITTED */
        else if (prot & PAGE_GUARD)
            err = ERROR_NOT_SUPPORTED;
        else
            err = runs_make_room(r);
        if (!err && mprotect((void *)start, end - start, prot_linux(prot)) != 0)
            err = wi_error_from_errno(errno);
        if (!err) {
            /* The caching modifier belongs to the allocation: Windows keeps
             * the one VirtualAlloc gave and ignores one asked for here. */
            *old = r->runs[run_at(r, first)].prot | (r->alloc_protect & PAGE_CACHE_MODIFIERS);
            runs_set(r, first, last, (uint8_t)(prot & PAGE_BASE_MASK));
        }
    }
    wi_address_space_unlock();
    return err;
}

/* --- hooks for mapping.c (address-space lock held) ------------------------------- */

bool wi_virtual_query_private(const void *addr, MEMORY_BASIC_INFORMATION *out)
{
    size_t psz = page_size();
    uintptr_t a = (uintptr_t)addr & ~(uintptr_t)(psz - 1);
    struct region *r = region_find(a);
    if (!r)
        return false;
    size_t i = run_at(r, (a - (uintptr_t)r->base) / psz);
    uint8_t prot = r->runs[i].prot;
    memset(out, 0, sizeof *out);
    out->BaseAddress = (void *)a;
    out->AllocationBase = r->base;
    out->AllocationProtect = r->alloc_protect;
    out->RegionSize = (SIZE_T)((uintptr_t)r->base + run_end(r, i) * psz - a);
    if (prot) {
        out->State = MEM_COMMIT;
        out->Protect = prot | (r->view ? 0 : (r->alloc_protect & PAGE_CACHE_MODIFIERS));
    } else {
        out->State = MEM_RESERVE;
        out->Protect = 0;
    }
    out->Type = r->view ? MEM_MAPPED : MEM_PRIVATE;
    return true;
}

void wi_virtual_view_unmapped(const void *base, size_t len)
{
    struct region *r = region_find((uintptr_t)base);
    (void)len;
    if (r && r->view)
        regions_remove(r);
}

/* --- Win32 entry points ------------------------------------------------------------ */

/* The Ex variants work on the current process, through GetCurrentProcess()
 * or any process handle for it that has `need`. Another process's address
 * space is not reachable from here (docs/mappings.md). */
static DWORD check_process(HANDLE process, DWORD need)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(process, WI_TYPE_PROCESS, need, &pin);
    if (err)
        return err;
    bool self = wi_process_is_current(pin.obj);
    wi_handle_put(&pin);
    return self ? ERROR_SUCCESS : ERROR_NOT_SUPPORTED;
}

WINBASEAPI LPVOID WINAPI VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType, DWORD flProtect)
{
    void *p = NULL;
    DWORD err = virtual_alloc(lpAddress, dwSize, flAllocationType, flProtect, &p);
    if (err) {
        wi_set_last_error(err);
        return NULL;
    }
    return p;
}

WINBASEAPI LPVOID WINAPI VirtualAllocEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType,
                                        DWORD flProtect)
{
    DWORD err = check_process(hProcess, PROCESS_VM_OPERATION);
    if (err) {
        wi_set_last_error(err);
        return NULL;
    }
    return VirtualAlloc(lpAddress, dwSize, flAllocationType, flProtect);
}

WINBASEAPI BOOL WINAPI VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType)
{
    return wi_result_bool(virtual_free(lpAddress, dwSize, dwFreeType));
}

WINBASEAPI BOOL WINAPI VirtualFreeEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType)
{
    DWORD err = check_process(hProcess, PROCESS_VM_OPERATION);
    if (err)
        return wi_fail_bool(err);
    return VirtualFree(lpAddress, dwSize, dwFreeType);
}

WINBASEAPI BOOL WINAPI VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect, PDWORD lpflOldProtect)
{
    return wi_result_bool(virtual_protect(lpAddress, dwSize, flNewProtect, lpflOldProtect));
}

WINBASEAPI BOOL WINAPI VirtualProtectEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect,
                                        PDWORD lpflOldProtect)
{
    DWORD err = check_process(hProcess, PROCESS_VM_OPERATION);
    if (err)
        return wi_fail_bool(err);
    return VirtualProtect(lpAddress, dwSize, flNewProtect, lpflOldProtect);
}

WINBASEAPI SIZE_T WINAPI VirtualQueryEx(HANDLE hProcess, LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer,
                                        SIZE_T dwLength)
{
    /* The length is checked first, as NtQueryVirtualMemory does. Reading
     * needs PROCESS_QUERY_INFORMATION (the limited right is not enough). */
    if (dwLength < sizeof(MEMORY_BASIC_INFORMATION)) {
        wi_set_last_error(ERROR_BAD_LENGTH);
        return 0;
    }
    DWORD err = check_process(hProcess, PROCESS_QUERY_INFORMATION);
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    return VirtualQuery(lpAddress, lpBuffer, dwLength);
}
