/* SPDX-License-Identifier: MIT */
/* The process-local handle table.
 *
 * Handle values are small multiples of 4 (index << 2, index >= 1), never 0
 * and never INVALID_HANDLE_VALUE. GetCurrentProcess() is (HANDLE)-1 and
 * GetCurrentThread() (HANDLE)-2, as on Windows.
 *
 * Concurrency: an entry's `state` word packs a pin count with two flags,
 * CLOSED and FREE. Using a handle pins its entry (one atomic add) and unpins
 * it afterwards (one atomic sub); CloseHandle sets CLOSED. Whoever brings an
 * entry to "CLOSED with no pins" — the closer or the last unpinner — wins a
 * compare-and-swap to FREE and releases the object. So a handle closed in one
 * thread while another thread is blocked on it stays valid for that waiter,
 * a double close fails with ERROR_INVALID_HANDLE, and a lookup never touches
 * freed memory (entries live in segments that are never freed). */
#ifndef WINIPC_HANDLE_H
#define WINIPC_HANDLE_H

#include "object.h"

/* A pinned handle: the object stays valid until wi_handle_put(). */
struct wi_pin {
    struct wi_object *obj;
    DWORD access;
    void *entry; /* NULL for pseudo handles, which hold an object reference instead */
};

/* Pin `h`. `type` WI_TYPE_NONE accepts any type, otherwise a mismatch gives
 * `type_err` (Windows' error for that call: usually ERROR_INVALID_HANDLE).
 * `need` is the access the operation requires (0 = none): missing rights
 * give ERROR_ACCESS_DENIED. */
DWORD wi_handle_get(HANDLE h, enum wi_type type, DWORD need, struct wi_pin *pin);
void wi_handle_put(struct wi_pin *pin);

/* Insert `obj` (taking over the caller's reference) and return its handle. */
DWORD wi_handle_insert(struct wi_object *obj, DWORD access, DWORD flags, HANDLE *out);

/* Insert at exactly `h` (inheritance: the child sees the parent's values). */
DWORD wi_handle_insert_at(HANDLE h, struct wi_object *obj, DWORD access, DWORD flags);

/* Visit every open handle (for inheritance). Each object is pinned while
 * `fn` runs. */
void wi_handle_foreach(void (*fn)(HANDLE h, struct wi_object *obj, DWORD access, DWORD flags, void *arg), void *arg);

/* Pseudo-handle objects, provided by process.c and thread.c: a new reference
 * to the current process / the calling thread. */
struct wi_object *wi_process_current(void);
struct wi_object *wi_thread_current(void);

/* Does this process object stand for the calling process? Its pid, and is
 * it still running (signalable)? (process.c) */
bool wi_process_is_current(struct wi_object *process);
pid_t wi_process_pid(struct wi_object *process);
bool wi_process_alive(struct wi_object *process);

/* Expand GENERIC_* / MAXIMUM_ALLOWED through the type's generic mapping. */
DWORD wi_handle_map_access(const struct wi_object_ops *ops, DWORD access);

#define WI_PSEUDO_PROCESS ((HANDLE)(LONG_PTR)-1)
#define WI_PSEUDO_THREAD ((HANDLE)(LONG_PTR)-2)

#endif
