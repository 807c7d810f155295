/* SPDX-License-Identifier: MIT */
/* Semaphores, named and unnamed, shared between processes.
 *
 * Shared state (struct semaphore_shared):
 *   w.word   bits 0..30: the current count (Windows' maximum, LONG_MAX, fits
 *            in 31 bits); bit 31: the wait-all lock. A wait decrements it by
 *            compare-and-swap; ReleaseSemaphore adds by compare-and-swap,
 *            refusing to pass `maximum`. Each change is one atomic step, so a
 *            process dying anywhere leaves a valid count.
 *   maximum  written once at creation. */
#include "error.h"
#include "handle.h"
#include "kernel_object.h"
#include "object.h"
#include "security.h"
#include "unicode.h"
#include "wait.h"

#include <stdlib.h>

#define COUNT_MASK 0x7FFFFFFFu

struct semaphore_shared {
    struct wi_shared_header hdr;
    struct wi_waitable w;
    uint32_t maximum;
};

static struct semaphore_shared *sem(struct wi_object *obj)
{
    return WI_SHARED(obj, struct semaphore_shared);
}

static struct wi_waitable *semaphore_waitable(struct wi_object *obj)
{
    return &sem(obj)->w;
}

static DWORD semaphore_try_satisfy(struct wi_object *obj, uint32_t *cookie, unsigned mode)
{
    struct semaphore_shared *s = sem(obj);
    uint32_t v = atomic_load(&s->w.word);
    for (;;) {
        if ((v & COUNT_MASK) == 0 || ((v & WI_WORD_LOCK) && !(mode & WI_SATISFY_LOCKED)))
            return WAIT_TIMEOUT;
        if (mode & WI_SATISFY_CHECK)
            return WAIT_OBJECT_0;
        if (atomic_compare_exchange_weak(&s->w.word, &v, v - 1))
            return WAIT_OBJECT_0;
    }
}

static DWORD semaphore_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len,
                              struct wi_object **out);
static DWORD semaphore_release(struct wi_object *obj, uint32_t n, uint32_t *previous);

static DWORD semaphore_signal(struct wi_object *obj, DWORD access)
{
    if (!(access & SEMAPHORE_MODIFY_STATE))
        return ERROR_ACCESS_DENIED;
    return semaphore_release(obj, 1, NULL);
}

const struct wi_object_ops wi_semaphore_ops = {
    .name = "Semaphore",
    .type = WI_TYPE_SEMAPHORE,
    .generic_map = {STANDARD_RIGHTS_READ | 0x1, STANDARD_RIGHTS_WRITE | SEMAPHORE_MODIFY_STATE,
                    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, SEMAPHORE_ALL_ACCESS},
    .waitable = semaphore_waitable,
    .try_satisfy = semaphore_try_satisfy,
    .wait_prepare = wi_no_wait_prepare,
    .consumable = true,
    .signal = semaphore_signal,
    .read = wi_no_read,
    .write = wi_no_write,
    .flush = wi_no_flush,
    .read_overlapped = wi_sync_read_overlapped,
    .write_overlapped = wi_sync_write_overlapped,
    .io_try = wi_no_io_try,
    .std_fd = wi_no_std_fd,
    .export_fds = wi_shared_export_fds,
    .import = semaphore_import,
    .destroy = wi_no_destroy,
};

static DWORD semaphore_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len,
                              struct wi_object **out)
{
    return wi_shared_import(&wi_semaphore_ops, sizeof(struct wi_object), fds, nfds, blob, blob_len, out);
}

struct semaphore_init {
    LONG initial, maximum;
};

static void semaphore_init(struct wi_object *obj, void *arg)
{
    struct semaphore_init *in = arg;
    sem(obj)->maximum = (uint32_t)in->maximum;
    atomic_store(&sem(obj)->w.word, (uint32_t)in->initial);
}

/* Add n to the count unless that passes the maximum (Windows then leaves the
 * count unchanged: ERROR_TOO_MANY_POSTS). */
static DWORD semaphore_release(struct wi_object *obj, uint32_t n, uint32_t *previous)
{
    struct semaphore_shared *s = sem(obj);
    uint32_t v = atomic_load(&s->w.word);
    do {
        if ((uint64_t)(v & COUNT_MASK) + n > s->maximum)
            return ERROR_TOO_MANY_POSTS;
    } while (!atomic_compare_exchange_weak(&s->w.word, &v, v + n));
    wi_waitable_wake(&s->w);
    if (previous)
        *previous = v & COUNT_MASK;
    return ERROR_SUCCESS;
}

/* --- Win32 entry points ------------------------------------------------------ */

static const struct wi_kernel_object_spec semaphore_spec = {
    .ops = &wi_semaphore_ops,
    .obj_size = sizeof(struct wi_object),
    .shared_size = sizeof(struct semaphore_shared),
    .init = semaphore_init,
};

static HANDLE create_semaphore(LPSECURITY_ATTRIBUTES sa, LONG initial, LONG maximum, const char *name, DWORD access)
{
    struct semaphore_init in = {initial, maximum};
    /* Windows: lMaximumCount <= 0, lInitialCount < 0 or > lMaximumCount. */
    if (maximum <= 0 || initial < 0 || initial > maximum)
        return wi_fail_null(ERROR_INVALID_PARAMETER);
    return wi_kernel_object_create(&semaphore_spec, &in, sa, name, access);
}

static HANDLE open_semaphore(DWORD access, BOOL inherit, const char *name)
{
    return wi_kernel_object_open(&semaphore_spec, name, access, inherit);
}

WINBASEAPI HANDLE WINAPI CreateSemaphoreA(LPSECURITY_ATTRIBUTES lpSemaphoreAttributes, LONG lInitialCount,
                                          LONG lMaximumCount, LPCSTR lpName)
{
    return create_semaphore(lpSemaphoreAttributes, lInitialCount, lMaximumCount, lpName, SEMAPHORE_ALL_ACCESS);
}

WINBASEAPI HANDLE WINAPI CreateSemaphoreW(LPSECURITY_ATTRIBUTES lpSemaphoreAttributes, LONG lInitialCount,
                                          LONG lMaximumCount, LPCWSTR lpName)
{
    WI_UTF8_ARG(name, lpName);
    if (WI_UTF8_FAILED(name, lpName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = create_semaphore(lpSemaphoreAttributes, lInitialCount, lMaximumCount, name, SEMAPHORE_ALL_ACCESS);
    WI_UTF8_FREE(name);
    return h;
}

WINBASEAPI HANDLE WINAPI CreateSemaphoreExA(LPSECURITY_ATTRIBUTES lpSemaphoreAttributes, LONG lInitialCount,
                                            LONG lMaximumCount, LPCSTR lpName, DWORD dwFlags, DWORD dwDesiredAccess)
{
    /* dwFlags is reserved and must be zero. */
    if (dwFlags)
        return wi_fail_null(ERROR_INVALID_PARAMETER);
    return create_semaphore(lpSemaphoreAttributes, lInitialCount, lMaximumCount, lpName, dwDesiredAccess);
}

WINBASEAPI HANDLE WINAPI CreateSemaphoreExW(LPSECURITY_ATTRIBUTES lpSemaphoreAttributes, LONG lInitialCount,
                                            LONG lMaximumCount, LPCWSTR lpName, DWORD dwFlags, DWORD dwDesiredAccess)
{
    WI_UTF8_ARG(name, lpName);
    if (WI_UTF8_FAILED(name, lpName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = CreateSemaphoreExA(lpSemaphoreAttributes, lInitialCount, lMaximumCount, name, dwFlags, dwDesiredAccess);
    WI_UTF8_FREE(name);
    return h;
}

WINBASEAPI HANDLE WINAPI OpenSemaphoreA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpName)
{
    return open_semaphore(dwDesiredAccess, bInheritHandle, lpName);
}

WINBASEAPI HANDLE WINAPI OpenSemaphoreW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName)
{
    WI_UTF8_ARG(name, lpName);
    if (WI_UTF8_FAILED(name, lpName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = open_semaphore(dwDesiredAccess, bInheritHandle, name);
    WI_UTF8_FREE(name);
    return h;
}

WINBASEAPI BOOL WINAPI ReleaseSemaphore(HANDLE hSemaphore, LONG lReleaseCount, LPLONG lpPreviousCount)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(hSemaphore, WI_TYPE_SEMAPHORE, SEMAPHORE_MODIFY_STATE, &pin);
    if (err)
        return wi_fail_bool(err);
    /* "The value must be greater than zero." (Wine accepts 0 as a no-op;
     * we keep to the documented contract.) */
    if (lReleaseCount <= 0) {
        wi_handle_put(&pin);
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    }
    uint32_t count;
    err = semaphore_release(pin.obj, (uint32_t)lReleaseCount, &count);
    wi_handle_put(&pin);
    if (err)
        return wi_fail_bool(err);
    if (lpPreviousCount)
        *lpPreviousCount = (LONG)count;
    return TRUE;
}
