/* SPDX-License-Identifier: MIT */
/* Heaps: GetProcessHeap, HeapCreate/Destroy/Alloc/ReAlloc/Free/Size, and the
 * Local* / Global* families on top of the process heap.
 *
 * A heap handle is a pointer to a struct heap, as on Windows (heap handles
 * are not kernel objects and do not live in the handle table). Handles are
 * validated against a registry of live heaps, so a stale or random heap
 * handle fails with ERROR_INVALID_HANDLE instead of being dereferenced.
 *
 * Every block is a malloc'ed chunk with a 48-byte header in front of the
 * caller's memory: it records the requested size (HeapSize returns what was
 * asked for, as Windows does) and links the block into its heap so
 * HeapDestroy can free everything the heap still holds. malloc's 16-byte
 * alignment plus the 48-byte header give the 16-byte alignment Windows
 * guarantees on 64-bit. A block pointer is checked by its header magic
 * (best effort: a pointer that never came from a heap may still be read).
 *
 * Locking: heaps_lock protects the registry; each heap's lock protects its
 * block list and byte count. Order: heaps_lock, then one heap lock. Locks are
 * always taken, also with HEAP_NO_SERIALIZE (the flag is a promise by the
 * caller that we need not rely on). Around fork() all locks are held so the
 * child never inherits one locked by a thread that does not exist there.
 *
 * Differences from Windows:
 *  - HEAP_GENERATE_EXCEPTIONS is accepted, but there is no SEH to raise
 *    STATUS_NO_MEMORY with: a failing allocation that asked for exceptions
 *    returns NULL with last error ERROR_NOT_SUPPORTED (without the flag,
 *    ERROR_NOT_ENOUGH_MEMORY, which Windows' heap also sets in practice).
 *  - A fixed-size heap (dwMaximumSize != 0) charges each block its size
 *    rounded up to 16 plus 16 bytes of overhead against the maximum
 *    (rounded up to a page); Windows' exact bookkeeping differs slightly.
 *  - LMEM_MOVEABLE / GMEM_MOVEABLE blocks are never really moveable: the
 *    "handle" returned is the block's address itself, so LocalLock-style
 *    dereferencing is not needed and LocalReAlloc returns the new address.
 *    A moveable block may move on reallocation; a fixed one only moves when
 *    LMEM_MOVEABLE is passed to LocalReAlloc, as on Windows. */
#include "error.h"

#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEAP_MAGIC 0x50414548u   /* "HEAP" */
#define BLOCK_MAGIC 0x4b4c4248u  /* "HBLK" */
#define BLOCK_FREED 0x44454552u  /* "RED": cleared on free to catch double frees */
#define BLOCK_MOVEABLE 0x1u      /* allocated with LMEM_MOVEABLE/GMEM_MOVEABLE */
#define PAGE 4096u

struct heap;

/* Header in front of each block. Written only under the owning heap's lock. */
struct block {
    uint32_t magic;
    uint32_t attrs; /* BLOCK_MOVEABLE */
    size_t size;    /* bytes the caller asked for */
    struct heap *heap;
    struct block *prev, *next;
    size_t reserved; /* pads the header to a multiple of 16 */
};
_Static_assert(sizeof(struct block) % 16 == 0, "block header keeps 16-byte alignment");

struct heap {
    uint32_t magic;
    DWORD options;   /* HeapCreate flOptions */
    size_t max;      /* 0: growable; else the fixed size in bytes */
    size_t used;     /* bytes charged against max */
    pthread_mutex_t lock;
    struct block blocks; /* list sentinel */
    struct heap *next;   /* registry link, under heaps_lock */
};

static struct heap process_heap = {
    .magic = HEAP_MAGIC,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .blocks = {.prev = &process_heap.blocks, .next = &process_heap.blocks},
};

static pthread_mutex_t heaps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct heap *heaps; /* created heaps; the process heap is not listed */

/* ------------------------------------------------------------------ */
/* fork(): hold every lock across it. */

static void before_fork(void)
{
    pthread_mutex_lock(&heaps_lock);
    pthread_mutex_lock(&process_heap.lock);
    for (struct heap *h = heaps; h; h = h->next)
        pthread_mutex_lock(&h->lock);
}

static void after_fork(void)
{
    for (struct heap *h = heaps; h; h = h->next)
        pthread_mutex_unlock(&h->lock);
    pthread_mutex_unlock(&process_heap.lock);
    pthread_mutex_unlock(&heaps_lock);
}

__attribute__((constructor)) static void register_fork_handlers(void)
{
    pthread_atfork(before_fork, after_fork, after_fork);
}

/* ------------------------------------------------------------------ */
/* Heap lookup. */

/* Lock and return the heap behind `handle`, NULL if it is not a live heap. */
static struct heap *heap_lock(HANDLE handle)
{
    struct heap *h;

    if (handle == &process_heap) {
        pthread_mutex_lock(&process_heap.lock);
        return &process_heap;
    }
    pthread_mutex_lock(&heaps_lock);
    for (h = heaps; h && h != handle; h = h->next)
        ;
    if (h) /* hand over hand: HeapDestroy waits for us on this lock */
        pthread_mutex_lock(&h->lock);
    pthread_mutex_unlock(&heaps_lock);
    return h;
}

static void heap_unlock(struct heap *h)
{
    pthread_mutex_unlock(&h->lock);
}

static struct block *block_of(const void *mem)
{
    return (struct block *)((char *)(uintptr_t)mem - sizeof(struct block));
}

static void *block_data(struct block *b)
{
    return (char *)b + sizeof *b;
}

/* The block header of `mem` if it is a live block of heap `h`. */
static struct block *block_check(struct heap *h, const void *mem)
{
    if (!mem || ((uintptr_t)mem & 15) || (uintptr_t)mem < sizeof(struct block))
        return NULL;
    struct block *b = block_of(mem);
    return b->magic == BLOCK_MAGIC && b->heap == h ? b : NULL;
}

/* ------------------------------------------------------------------ */
/* Accounting for fixed-size heaps. */

static size_t charge(size_t n)
{
    return ((n + 15) & ~(size_t)15) + 16;
}

static bool heap_fits(struct heap *h, size_t old_size, size_t new_size)
{
    if (!h->max)
        return true;
    size_t rest = h->used - (old_size == SIZE_MAX ? 0 : charge(old_size));
    return new_size <= h->max && charge(new_size) <= h->max - rest;
}

static void heap_account(struct heap *h, size_t old_size, size_t new_size)
{
    if (old_size != SIZE_MAX)
        h->used -= charge(old_size);
    if (new_size != SIZE_MAX)
        h->used += charge(new_size);
}

/* ------------------------------------------------------------------ */
/* Block operations, called with the heap locked. */

static DWORD alloc_failure(struct heap *h, DWORD flags)
{
    return (flags | h->options) & HEAP_GENERATE_EXCEPTIONS ? ERROR_NOT_SUPPORTED : ERROR_NOT_ENOUGH_MEMORY;
}

static void *block_alloc(struct heap *h, DWORD flags, size_t n, uint32_t attrs, DWORD *err)
{
    struct block *b;

    if (n > PTRDIFF_MAX - sizeof *b - 16 || !heap_fits(h, SIZE_MAX, n)) {
        *err = alloc_failure(h, flags);
        return NULL;
    }
    b = (flags & HEAP_ZERO_MEMORY) ? calloc(1, sizeof *b + n) : malloc(sizeof *b + n);
    if (!b) {
        *err = alloc_failure(h, flags);
        return NULL;
    }
    b->magic = BLOCK_MAGIC;
    b->attrs = attrs;
    b->size = n;
    b->heap = h;
    b->reserved = 0;
    b->next = h->blocks.next;
    b->prev = &h->blocks;
    b->next->prev = b;
    h->blocks.next = b;
    heap_account(h, SIZE_MAX, n);
    return block_data(b);
}

static void block_free(struct heap *h, struct block *b)
{
    b->prev->next = b->next;
    b->next->prev = b->prev;
    b->magic = BLOCK_FREED;
    heap_account(h, b->size, SIZE_MAX);
    free(b);
}

/* Resize; `in_place` forbids moving the block. New bytes are zeroed with
 * HEAP_ZERO_MEMORY. */
static void *block_realloc(struct heap *h, DWORD flags, struct block *b, size_t n, bool in_place, DWORD *err)
{
    size_t old = b->size;

    if (n > PTRDIFF_MAX - sizeof *b - 16 || !heap_fits(h, old, n)) {
        *err = alloc_failure(h, flags);
        return NULL;
    }
    if (n <= malloc_usable_size(b) - sizeof *b) {
        /* Fits in the chunk we already have: stays put. */
    } else if (in_place) {
        /* Windows' HEAP_REALLOC_IN_PLACE_ONLY failure code. */
        *err = ERROR_NOT_ENOUGH_MEMORY;
        return NULL;
    } else {
        struct block *nb = realloc(b, sizeof *b + n);
        if (!nb) {
            *err = alloc_failure(h, flags);
            return NULL;
        }
        b = nb;
        b->prev->next = b;
        b->next->prev = b;
    }
    if ((flags & HEAP_ZERO_MEMORY) && n > old)
        memset((char *)block_data(b) + old, 0, n - old);
    b->size = n;
    heap_account(h, old, n);
    return block_data(b);
}

/* ------------------------------------------------------------------ */
/* Heap API. */

WINBASEAPI HANDLE WINAPI GetProcessHeap(void)
{
    return &process_heap;
}

WINBASEAPI HANDLE WINAPI HeapCreate(DWORD flOptions, SIZE_T dwInitialSize, SIZE_T dwMaximumSize)
{
    struct heap *h = calloc(1, sizeof *h);

    if (!h)
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    h->magic = HEAP_MAGIC;
    h->options = flOptions & (HEAP_NO_SERIALIZE | HEAP_GENERATE_EXCEPTIONS | HEAP_CREATE_ENABLE_EXECUTE);
    if (dwMaximumSize) {
        /* Windows rounds the sizes up to whole pages; a maximum below the
         * initial size is raised to it. */
        size_t max = dwMaximumSize < dwInitialSize ? dwInitialSize : dwMaximumSize;
        if (max > SIZE_MAX - PAGE) {
            free(h);
            return wi_fail_null(ERROR_INVALID_PARAMETER);
        }
        h->max = (max + PAGE - 1) & ~(size_t)(PAGE - 1);
    }
    h->blocks.prev = h->blocks.next = &h->blocks;
    if (pthread_mutex_init(&h->lock, NULL)) {
        free(h);
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    }
    pthread_mutex_lock(&heaps_lock);
    h->next = heaps;
    heaps = h;
    pthread_mutex_unlock(&heaps_lock);
    return h;
}

WINBASEAPI BOOL WINAPI HeapDestroy(HANDLE hHeap)
{
    struct heap *h, **pp;

    /* The process heap lives as long as the process. */
    if (hHeap == &process_heap)
        return wi_fail_bool(ERROR_INVALID_HANDLE);
    pthread_mutex_lock(&heaps_lock);
    for (pp = &heaps; *pp && *pp != hHeap; pp = &(*pp)->next)
        ;
    h = *pp;
    if (h)
        *pp = h->next;
    pthread_mutex_unlock(&heaps_lock);
    if (!h)
        return wi_fail_bool(ERROR_INVALID_HANDLE);

    /* Unlisted now: wait for calls that found it before, then free. */
    pthread_mutex_lock(&h->lock);
    while (h->blocks.next != &h->blocks)
        block_free(h, h->blocks.next);
    pthread_mutex_unlock(&h->lock);
    pthread_mutex_destroy(&h->lock);
    h->magic = 0;
    free(h);
    return TRUE;
}

WINBASEAPI LPVOID WINAPI HeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes)
{
    struct heap *h = heap_lock(hHeap);
    DWORD err = 0;
    void *p;

    if (!h)
        return wi_fail_null(ERROR_INVALID_HANDLE);
    p = block_alloc(h, dwFlags, dwBytes, 0, &err);
    heap_unlock(h);
    if (!p)
        wi_set_last_error(err);
    return p;
}

WINBASEAPI LPVOID WINAPI HeapReAlloc(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem, SIZE_T dwBytes)
{
    struct heap *h = heap_lock(hHeap);
    struct block *b;
    DWORD err = 0;
    void *p = NULL;

    if (!h)
        return wi_fail_null(ERROR_INVALID_HANDLE);
    if (!(b = block_check(h, lpMem)))
        err = ERROR_INVALID_PARAMETER;
    else
        p = block_realloc(h, dwFlags, b, dwBytes, dwFlags & HEAP_REALLOC_IN_PLACE_ONLY, &err);
    heap_unlock(h);
    if (!p)
        wi_set_last_error(err);
    return p;
}

WINBASEAPI BOOL WINAPI HeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem)
{
    struct heap *h;
    struct block *b;

    (void)dwFlags;
    if (!lpMem) /* freeing NULL succeeds, as on Windows */
        return TRUE;
    if (!(h = heap_lock(hHeap)))
        return wi_fail_bool(ERROR_INVALID_HANDLE);
    b = block_check(h, lpMem);
    if (b)
        block_free(h, b);
    heap_unlock(h);
    return b ? TRUE : wi_fail_bool(ERROR_INVALID_PARAMETER);
}

WINBASEAPI SIZE_T WINAPI HeapSize(HANDLE hHeap, DWORD dwFlags, LPCVOID lpMem)
{
    struct heap *h = heap_lock(hHeap);
    struct block *b;
    SIZE_T size = (SIZE_T)-1;

    (void)dwFlags;
    if (!h) {
        wi_set_last_error(ERROR_INVALID_HANDLE);
        return size;
    }
    if ((b = block_check(h, lpMem)))
        size = b->size;
    heap_unlock(h);
    if (!b) /* Windows returns (SIZE_T)-1 */
        wi_set_last_error(ERROR_INVALID_PARAMETER);
    return size;
}

/* ------------------------------------------------------------------ */
/* Local* and Global*: the same calls with two flag sets. */

struct mem_flags {
    UINT valid, moveable, zeroinit, modify;
};

static const struct mem_flags local_flags = {LMEM_VALID_FLAGS, LMEM_MOVEABLE, LMEM_ZEROINIT, LMEM_MODIFY};
static const struct mem_flags global_flags = {GMEM_VALID_FLAGS, GMEM_MOVEABLE, GMEM_ZEROINIT, GMEM_MODIFY};

static HANDLE mem_alloc(const struct mem_flags *mf, UINT flags, SIZE_T bytes)
{
    DWORD err = 0;
    void *p;

    if (flags & ~mf->valid)
        return wi_fail_null(ERROR_INVALID_PARAMETER);
    pthread_mutex_lock(&process_heap.lock);
    p = block_alloc(&process_heap, (flags & mf->zeroinit) ? HEAP_ZERO_MEMORY : 0, bytes,
                    (flags & mf->moveable) ? BLOCK_MOVEABLE : 0, &err);
    pthread_mutex_unlock(&process_heap.lock);
    if (!p)
        wi_set_last_error(err);
    return p;
}

static HANDLE mem_realloc(const struct mem_flags *mf, HANDLE mem, SIZE_T bytes, UINT flags)
{
    struct block *b;
    DWORD err = 0;
    void *p = NULL;

    if (flags & ~(mf->valid | mf->modify))
        return wi_fail_null(ERROR_INVALID_PARAMETER);
    pthread_mutex_lock(&process_heap.lock);
    if (!(b = block_check(&process_heap, mem))) {
        err = ERROR_INVALID_HANDLE;
    } else if (flags & mf->modify) {
        /* Only the attributes change (fixed <-> moveable); bytes is ignored. */
        if (flags & mf->moveable)
            b->attrs |= BLOCK_MOVEABLE;
        p = mem;
    } else {
        /* A fixed block moves only if the caller allows it with *_MOVEABLE;
         * a moveable one may always move. */
        bool in_place = !(flags & mf->moveable) && !(b->attrs & BLOCK_MOVEABLE);
        p = block_realloc(&process_heap, (flags & mf->zeroinit) ? HEAP_ZERO_MEMORY : 0, b, bytes, in_place, &err);
    }
    pthread_mutex_unlock(&process_heap.lock);
    if (!p)
        wi_set_last_error(err);
    return p;
}

/* Returns NULL on success and the handle on failure, as LocalFree does. */
static HANDLE mem_free(HANDLE mem)
{
    struct block *b;

    if (!mem)
        return NULL;
    pthread_mutex_lock(&process_heap.lock);
    b = block_check(&process_heap, mem);
    if (b)
        block_free(&process_heap, b);
    pthread_mutex_unlock(&process_heap.lock);
    if (b)
        return NULL;
    wi_set_last_error(ERROR_INVALID_HANDLE);
    return mem;
}

static SIZE_T mem_size(HANDLE mem)
{
    struct block *b;
    SIZE_T size = 0;

    pthread_mutex_lock(&process_heap.lock);
    if ((b = block_check(&process_heap, mem)))
        size = b->size;
    pthread_mutex_unlock(&process_heap.lock);
    if (!b)
        wi_set_last_error(ERROR_INVALID_HANDLE);
    return size;
}

WINBASEAPI HLOCAL WINAPI LocalAlloc(UINT uFlags, SIZE_T uBytes)
{
    return mem_alloc(&local_flags, uFlags, uBytes);
}

WINBASEAPI HLOCAL WINAPI LocalReAlloc(HLOCAL hMem, SIZE_T uBytes, UINT uFlags)
{
    return mem_realloc(&local_flags, hMem, uBytes, uFlags);
}

WINBASEAPI HLOCAL WINAPI LocalFree(HLOCAL hMem)
{
    return mem_free(hMem);
}

WINBASEAPI SIZE_T WINAPI LocalSize(HLOCAL hMem)
{
    return mem_size(hMem);
}

WINBASEAPI HGLOBAL WINAPI GlobalAlloc(UINT uFlags, SIZE_T dwBytes)
{
    return mem_alloc(&global_flags, uFlags, dwBytes);
}

WINBASEAPI HGLOBAL WINAPI GlobalReAlloc(HGLOBAL hMem, SIZE_T dwBytes, UINT uFlags)
{
    return mem_realloc(&global_flags, hMem, dwBytes, uFlags);
}

WINBASEAPI HGLOBAL WINAPI GlobalFree(HGLOBAL hMem)
{
    return mem_free(hMem);
}

WINBASEAPI SIZE_T WINAPI GlobalSize(HGLOBAL hMem)
{
    return mem_size(hMem);
}
