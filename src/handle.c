/* SPDX-License-Identifier: MIT */
/* The handle table; the pin/close protocol is described in handle.h. */
#include "handle.h"

#include "control.h"
#include "error.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>

#define SEG_BITS 10
#define SEG_SIZE (1u << SEG_BITS)
#define MAX_SEGS 4096 /* 4M handles */

#define ST_CLOSED 1u
#define ST_FREE 2u
#define ST_PIN 4u

struct entry {
    _Atomic uint64_t state; /* pins * ST_PIN | ST_CLOSED | ST_FREE */
    struct wi_object *obj;  /* valid while pinned and not CLOSED at pin time */
    DWORD access;
    _Atomic DWORD flags;    /* HANDLE_FLAG_* */
    uint32_t next_free;     /* free-list link (index), under table.lock */
    uint32_t index;         /* this entry's own index, set once */
};

static struct {
    pthread_mutex_t lock; /* insertions, free list, segment allocation */
    struct entry *_Atomic segs[MAX_SEGS];
    uint32_t next_unused; /* first index never handed out */
    uint32_t free_head;   /* 0 = empty (index 0 is never a handle) */
} table = {.lock = PTHREAD_MUTEX_INITIALIZER, .next_unused = 1};

static struct entry *entry_at(uint32_t index)
{
    uint32_t seg = index >> SEG_BITS;
    if (seg >= MAX_SEGS)
        return NULL;
    struct entry *s = atomic_load_explicit(&table.segs[seg], memory_order_acquire);
    return s ? &s[index & (SEG_SIZE - 1)] : NULL;
}

/* Called with table.lock held. */
static struct entry *entry_make(uint32_t index)
{
    uint32_t seg = index >> SEG_BITS;
    if (seg >= MAX_SEGS)
        return NULL;
    struct entry *s = atomic_load_explicit(&table.segs[seg], memory_order_relaxed);
    if (!s) {
        s = calloc(SEG_SIZE, sizeof *s);
        if (!s)
            return NULL;
        for (unsigned i = 0; i < SEG_SIZE; i++) {
            atomic_init(&s[i].state, ST_CLOSED | ST_FREE);
            s[i].index = (seg << SEG_BITS) | i;
        }
        atomic_store_explicit(&table.segs[seg], s, memory_order_release);
    }
    return &s[index & (SEG_SIZE - 1)];
}

static bool handle_index(HANDLE h, uint32_t *index)
{
    uintptr_t v = (uintptr_t)h;
    if (v == 0 || (v & 3) || v >= ((uintptr_t)MAX_SEGS << (SEG_BITS + 2)))
        return false;
    *index = (uint32_t)(v >> 2);
    return true;
}

/* Make a free entry live. The pin count is kept: a stale pinner of the old
 * incarnation will still unpin, and the count must stay exact. */
static void entry_fill(struct entry *e, struct wi_object *obj, DWORD access, DWORD flags)
{
    e->obj = obj;
    e->access = access;
    atomic_store_explicit(&e->flags, flags, memory_order_relaxed);
    uint64_t s = atomic_load_explicit(&e->state, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&e->state, &s, s & ~(uint64_t)(ST_CLOSED | ST_FREE),
                                                  memory_order_release, memory_order_relaxed))
        ;
}

/* The entry reached CLOSED with no pins: exactly one caller frees it. */
static void entry_try_free(struct entry *e, uint32_t index)
{
    uint64_t expect = ST_CLOSED;
    if (!atomic_compare_exchange_strong_explicit(&e->state, &expect, ST_CLOSED | ST_FREE, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return;
    struct wi_object *obj = e->obj;
    e->obj = NULL;
    pthread_mutex_lock(&table.lock);
    e->next_free = table.free_head;
    table.free_head = index;
    pthread_mutex_unlock(&table.lock);
    wi_object_release(obj);
}

static void entry_unpin(struct entry *e)
{
    uint64_t s = atomic_fetch_sub_explicit(&e->state, ST_PIN, memory_order_acq_rel) - ST_PIN;
    if (s == ST_CLOSED)
        entry_try_free(e, e->index);
}

DWORD wi_handle_get(HANDLE h, enum wi_type type, DWORD need, struct wi_pin *pin)
{
    uint32_t index;
    pin->entry = NULL;
    pin->obj = NULL;
    if (h == WI_PSEUDO_PROCESS || h == WI_PSEUDO_THREAD) {
        struct wi_object *obj = h == WI_PSEUDO_PROCESS ? wi_process_current() : wi_thread_current();
        if (!obj)
            return ERROR_NOT_ENOUGH_MEMORY;
        if (type != WI_TYPE_NONE && obj->ops->type != type) {
            wi_object_release(obj);
            return ERROR_INVALID_HANDLE;
        }
        pin->obj = obj;
        pin->access = h == WI_PSEUDO_PROCESS ? PROCESS_ALL_ACCESS : THREAD_ALL_ACCESS;
        return ERROR_SUCCESS;
    }
    if (!handle_index(h, &index))
        return ERROR_INVALID_HANDLE;
    struct entry *e = entry_at(index);
    if (!e)
        return ERROR_INVALID_HANDLE;
    uint64_t s = atomic_fetch_add_explicit(&e->state, ST_PIN, memory_order_acquire);
    if (s & (ST_CLOSED | ST_FREE)) {
        entry_unpin(e);
        return ERROR_INVALID_HANDLE;
    }
    if (type != WI_TYPE_NONE && e->obj->ops->type != type) {
        entry_unpin(e);
        return ERROR_INVALID_HANDLE;
    }
    if ((e->access & need) != need) {
        entry_unpin(e);
        return ERROR_ACCESS_DENIED;
    }
    pin->obj = e->obj;
    pin->access = e->access;
    pin->entry = e;
    return ERROR_SUCCESS;
}

void wi_handle_put(struct wi_pin *pin)
{
    if (pin->entry)
        entry_unpin(pin->entry);
    else if (pin->obj)
        wi_object_release(pin->obj);
    pin->entry = NULL;
    pin->obj = NULL;
}

DWORD wi_handle_insert(struct wi_object *obj, DWORD access, DWORD flags, HANDLE *out)
{
    uint32_t index;
    struct entry *e;
    pthread_mutex_lock(&table.lock);
    if (table.free_head) {
        index = table.free_head;
        e = entry_at(index);
        table.free_head = e->next_free;
    } else {
        index = table.next_unused;
        e = entry_make(index);
        if (!e) {
            pthread_mutex_unlock(&table.lock);
            return ERROR_NO_SYSTEM_RESOURCES;
        }
        table.next_unused++;
    }
    entry_fill(e, obj, access, flags);
    pthread_mutex_unlock(&table.lock);
    *out = (HANDLE)((uintptr_t)index << 2);
    return ERROR_SUCCESS;
}

DWORD wi_handle_insert_at(HANDLE h, struct wi_object *obj, DWORD access, DWORD flags)
{
    uint32_t index;
    if (!handle_index(h, &index))
        return ERROR_INVALID_HANDLE;
    pthread_mutex_lock(&table.lock);
    /* Indices skipped on the way become free entries. */
    while (table.next_unused <= index) {
        struct entry *skip = entry_make(table.next_unused);
        if (!skip) {
            pthread_mutex_unlock(&table.lock);
            return ERROR_NO_SYSTEM_RESOURCES;
        }
        skip->next_free = table.free_head;
        table.free_head = table.next_unused++;
    }
    /* Unlink `index` from the free list. */
    uint32_t *link = &table.free_head;
    while (*link && *link != index)
        link = &entry_at(*link)->next_free;
    if (!*link) {
        pthread_mutex_unlock(&table.lock);
        return ERROR_ALREADY_EXISTS; /* value in use */
    }
    struct entry *e = entry_at(index);
    *link = e->next_free;
    entry_fill(e, obj, access, flags);
    pthread_mutex_unlock(&table.lock);
    return ERROR_SUCCESS;
}

void wi_handle_foreach(void (*fn)(HANDLE h, struct wi_object *obj, DWORD access, DWORD flags, void *arg), void *arg)
{
    pthread_mutex_lock(&table.lock);
    uint32_t end = table.next_unused;
    pthread_mutex_unlock(&table.lock);
    for (uint32_t i = 1; i < end; i++) {
        struct wi_pin pin;
        HANDLE h = (HANDLE)((uintptr_t)i << 2);
        if (wi_handle_get(h, WI_TYPE_NONE, 0, &pin) != ERROR_SUCCESS)
            continue;
        struct entry *e = pin.entry;
        fn(h, pin.obj, pin.access, atomic_load_explicit(&e->flags, memory_order_relaxed), arg);
        wi_handle_put(&pin);
    }
}

/* --- Win32 entry points ------------------------------------------------------ */

WINBASEAPI BOOL WINAPI CloseHandle(HANDLE hObject)
{
    uint32_t index;
    /* Closing a pseudo handle is a no-op that succeeds on Windows. */
    if (hObject == WI_PSEUDO_PROCESS || hObject == WI_PSEUDO_THREAD)
        return TRUE;
    if (!handle_index(hObject, &index))
        return wi_fail_bool(ERROR_INVALID_HANDLE);
    struct entry *e = entry_at(index);
    if (!e)
        return wi_fail_bool(ERROR_INVALID_HANDLE);
    uint64_t s = atomic_load_explicit(&e->state, memory_order_acquire);
    if (!(s & (ST_CLOSED | ST_FREE)) &&
        (atomic_load_explicit(&e->flags, memory_order_relaxed) & HANDLE_FLAG_PROTECT_FROM_CLOSE))
        return wi_fail_bool(ERROR_INVALID_HANDLE);
    s = atomic_fetch_or_explicit(&e->state, ST_CLOSED, memory_order_acq_rel);
    if (s & (ST_CLOSED | ST_FREE))
        return wi_fail_bool(ERROR_INVALID_HANDLE);
    if ((s & ~(uint64_t)(ST_CLOSED | ST_FREE)) == 0)
        entry_try_free(e, index);
    return TRUE;
}

WINBASEAPI BOOL WINAPI GetHandleInformation(HANDLE hObject, LPDWORD lpdwFlags)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(hObject, WI_TYPE_NONE, 0, &pin);
    if (err)
        return wi_fail_bool(err);
    if (!lpdwFlags) {
        wi_handle_put(&pin);
        return wi_fail_bool(ERROR_NOACCESS);
    }
    *lpdwFlags = pin.entry ? atomic_load(&((struct entry *)pin.entry)->flags) : 0;
    wi_handle_put(&pin);
    return TRUE;
}

WINBASEAPI BOOL WINAPI SetHandleInformation(HANDLE hObject, DWORD dwMask, DWORD dwFlags)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(hObject, WI_TYPE_NONE, 0, &pin);
    if (err)
        return wi_fail_bool(err);
    if (!pin.entry) {
        wi_handle_put(&pin);
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    }
    const DWORD known = HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE;
    struct entry *e = pin.entry;
    DWORD old = atomic_load(&e->flags), want;
    do
        want = (old & ~(dwMask & known)) | (dwFlags & dwMask & known);
    while (!atomic_compare_exchange_weak(&e->flags, &old, want));
    wi_handle_put(&pin);
    return TRUE;
}

WINBASEAPI BOOL WINAPI CompareObjectHandles(HANDLE hFirstObjectHandle, HANDLE hSecondObjectHandle)
{
    struct wi_pin a, b;
    if (wi_handle_get(hFirstObjectHandle, WI_TYPE_NONE, 0, &a))
        return FALSE;
    if (wi_handle_get(hSecondObjectHandle, WI_TYPE_NONE, 0, &b)) {
        wi_handle_put(&a);
        return FALSE;
    }
    BOOL same = a.obj == b.obj;
    /* Two opens of one named object are two local objects over one file. */
    struct stat sa, sb;
    if (!same && a.obj->shared_fd >= 0 && b.obj->shared_fd >= 0 && fstat(a.obj->shared_fd, &sa) == 0 &&
        fstat(b.obj->shared_fd, &sb) == 0)
        same = sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    wi_handle_put(&a);
    wi_handle_put(&b);
    return same;
}

/* Windows maps GENERIC_* rights through the object type's mapping. */
DWORD wi_handle_map_access(const struct wi_object_ops *ops, DWORD access)
{
    static const DWORD bits[4] = {GENERIC_READ, GENERIC_WRITE, GENERIC_EXECUTE, GENERIC_ALL};
    DWORD out = access & ~(DWORD)(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL | MAXIMUM_ALLOWED);
    for (int i = 0; i < 4; i++)
        if (access & bits[i])
            out |= ops->generic_map[i];
    if (access & MAXIMUM_ALLOWED)
        out |= ops->generic_map[3];
    return out;
}

WINBASEAPI BOOL WINAPI DuplicateHandle(HANDLE hSourceProcessHandle, HANDLE hSourceHandle, HANDLE hTargetProcessHandle,
                                       LPHANDLE lpTargetHandle, DWORD dwDesiredAccess, BOOL bInheritHandle,
                                       DWORD dwOptions)
{
    struct wi_pin src_proc, dst_proc, src;
    DWORD err;

    if (dwOptions & ~(DWORD)(DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS))
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    err = wi_handle_get(hSourceProcessHandle, WI_TYPE_PROCESS, PROCESS_DUP_HANDLE, &src_proc);
    if (err)
        return wi_fail_bool(err);
    err = wi_handle_get(hTargetProcessHandle, WI_TYPE_PROCESS, PROCESS_DUP_HANDLE, &dst_proc);
    if (err) {
        wi_handle_put(&src_proc);
        return wi_fail_bool(err);
    }
    bool local = wi_process_is_current(src_proc.obj) && wi_process_is_current(dst_proc.obj);
    if (!local) {
        /* Another process on either side: its control channel does the
         * half of the work that must happen there (control.c). */
        err = wi_control_duplicate(src_proc.obj, hSourceHandle, dst_proc.obj, lpTargetHandle, dwDesiredAccess,
                                   bInheritHandle, dwOptions);
        wi_handle_put(&src_proc);
        wi_handle_put(&dst_proc);
        return wi_result_bool(err);
    }
    wi_handle_put(&src_proc);
    wi_handle_put(&dst_proc);

    err = wi_handle_get(hSourceHandle, WI_TYPE_NONE, 0, &src);
    if (err)
        return wi_fail_bool(err);
    DWORD access = (dwOptions & DUPLICATE_SAME_ACCESS) ? src.access : wi_handle_map_access(src.obj->ops, dwDesiredAccess);
    HANDLE out = NULL;
    if (!lpTargetHandle) {
        /* Windows allows a NULL target: the duplicate is made and closed. */
        err = ERROR_SUCCESS;
    } else {
        wi_object_ref(src.obj);
        err = wi_handle_insert(src.obj, access, bInheritHandle ? HANDLE_FLAG_INHERIT : 0, &out);
        if (err)
            wi_object_release(src.obj);
        else
            *lpTargetHandle = out;
    }
    wi_handle_put(&src);
    /* DUPLICATE_CLOSE_SOURCE closes the source even when duplication failed. */
    if (dwOptions & DUPLICATE_CLOSE_SOURCE)
        CloseHandle(hSourceHandle);
    return wi_result_bool(err);
}
