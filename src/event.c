/* SPDX-License-Identifier: MIT */
/* Events: manual- and auto-reset, named and unnamed, shared between
 * processes.
 *
 * Shared state (struct event_shared, in the object file or memfd):
 *   w.word      bit 0: signaled; bits 1..30: a sequence number bumped by every
 *               SetEvent and PulseEvent, so sleepers always see a change;
 *               bit 31: the wait-all lock (object.h).
 *   w.waiters   see wait.c.
 *   pulse_gen   bumped by PulseEvent; a waiter that saw an older value when
 *               it began waiting was "waiting at the time of the pulse".
 *   pulse_left  auto-reset only: how many pulsed waiters may still be
 *               released (PulseEvent on an auto-reset event frees one).
 *   manual      written once at creation.
 * Any process may write word/pulse fields, always with atomic operations; a
 * process dying between two of them leaves a consistent event (each step is
 * a single atomic update). */
#include "error.h"
#include "handle.h"
#include "kernel_object.h"
#include "object.h"
#include "security.h"
#include "unicode.h"
#include "wait.h"

#include <stdlib.h>

struct event_shared {
    struct wi_shared_header hdr;
    struct wi_waitable w;
    _Atomic uint32_t pulse_gen;
    _Atomic uint32_t pulse_left;
    uint32_t manual;
};

#define SIGNALED 1u
#define SEQ_MASK 0x7FFFFFFEu

/* The next word value with the sequence advanced (wrapping inside its 30
 * bits, never touching the lock bit) and the signaled bit as given. */
static uint32_t bumped(uint32_t v, uint32_t signaled)
{
    return (v & WI_WORD_LOCK) | (((v & SEQ_MASK) + 2) & SEQ_MASK) | signaled;
}

static struct event_shared *ev(struct wi_object *obj)
{
    return WI_SHARED(obj, struct event_shared);
}

static struct wi_waitable *event_waitable(struct wi_object *obj)
{
    return &ev(obj)->w;
}

/* cookie: 0 until the first look, then pulse_gen at that time | 1<<31 ... a
 * 31-bit generation is plenty to tell "a pulse happened while I waited". */
#define COOKIE_SET 0x80000000u

static DWORD event_try_satisfy(struct wi_object *obj, uint32_t *cookie, unsigned mode)
{
    struct event_shared *e = ev(obj);
    uint32_t gen = atomic_load(&e->pulse_gen) & ~COOKIE_SET;
    if (!(*cookie & COOKIE_SET))
        *cookie = gen | COOKIE_SET;
    uint32_t v = atomic_load(&e->w.word);
    if (e->manual || (mode & WI_SATISFY_CHECK)) {
        if (v & SIGNALED)
            return WAIT_OBJECT_0;
    } else {
        /* Auto-reset: consume with a CAS, which fails while another
         * thread's wait-all holds the lock bit (unless we hold it). */
        while ((v & SIGNALED) && ((mode & WI_SATISFY_LOCKED) || !(v & WI_WORD_LOCK)))
            if (atomic_compare_exchange_weak(&e->w.word, &v, v & ~SIGNALED))
                return WAIT_OBJECT_0;
    }
    if (mode & (WI_SATISFY_CHECK | WI_SATISFY_LOCKED))
        return WAIT_TIMEOUT; /* pulses release single-object waits only */
    if ((*cookie & ~COOKIE_SET) != gen) {
        /* A PulseEvent happened while we were waiting. */
        if (e->manual)
            return WAIT_OBJECT_0;
        uint32_t left = atomic_load(&e->pulse_left);
        while (left)
            if (atomic_compare_exchange_weak(&e->pulse_left, &left, left - 1))
                return WAIT_OBJECT_0;
        *cookie = gen | COOKIE_SET; /* that pulse went to someone else */
    }
    return WAIT_TIMEOUT;
}

static void event_set(struct event_shared *e)
{
    uint32_t v = atomic_load(&e->w.word);
    do {
        if (v & SIGNALED)
            return; /* already set: nobody can be asleep waiting for it */
    } while (!atomic_compare_exchange_weak(&e->w.word, &v, bumped(v, SIGNALED)));
    wi_waitable_wake(&e->w);
}

static void event_pulse(struct event_shared *e)
{
    /* Set and reset at once: only threads already waiting are released. */
    if (!e->manual)
        atomic_store(&e->pulse_left, atomic_load(&e->w.waiters) ? 1 : 0);
    atomic_fetch_add(&e->pulse_gen, 1);
    uint32_t v = atomic_load(&e->w.word);
    while (!atomic_compare_exchange_weak(&e->w.word, &v, bumped(v, 0)))
        ;
    wi_waitable_wake(&e->w);
}

static DWORD event_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out);

static DWORD event_signal(struct wi_object *obj, DWORD access)
{
    if (!(access & EVENT_MODIFY_STATE))
        return ERROR_ACCESS_DENIED;
    event_set(ev(obj));
    return ERROR_SUCCESS;
}

const struct wi_object_ops wi_event_ops = {
    .name = "Event",
    .type = WI_TYPE_EVENT,
    .generic_map = {STANDARD_RIGHTS_READ | SYNCHRONIZE | 0x1, STANDARD_RIGHTS_WRITE | SYNCHRONIZE | EVENT_MODIFY_STATE,
                    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, EVENT_ALL_ACCESS},
    .waitable = event_waitable,
    .try_satisfy = event_try_satisfy,
    .wait_prepare = wi_no_wait_prepare,
    .consumable = true,
    .signal = event_signal,
    .read = wi_no_read,
    .write = wi_no_write,
    .flush = wi_no_flush,
    .read_overlapped = wi_sync_read_overlapped,
    .write_overlapped = wi_sync_write_overlapped,
    .io_try = wi_no_io_try,
    .std_fd = wi_no_std_fd,
    .export_fds = wi_shared_export_fds,
    .import = event_import,
    .destroy = wi_no_destroy,
};

static DWORD event_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out)
{
    return wi_shared_import(&wi_event_ops, sizeof(struct wi_object), fds, nfds, blob, blob_len, out);
}

struct event_init {
    bool manual, initial;
};

static void event_init(struct wi_object *obj, void *arg)
{
    struct event_init *in = arg;
    struct event_shared *e = ev(obj);
    e->manual = in->manual;
    atomic_store(&e->w.word, in->initial ? SIGNALED : 0);
}

/* --- Win32 entry points ------------------------------------------------------ */

static const struct wi_kernel_object_spec event_spec = {
    .ops = &wi_event_ops,
    .obj_size = sizeof(struct wi_object),
    .shared_size = sizeof(struct event_shared),
    .init = event_init,
};

static HANDLE create_event(LPSECURITY_ATTRIBUTES sa, const char *name, bool manual, bool initial, DWORD access)
{
    struct event_init in = {manual, initial};
    return wi_kernel_object_create(&event_spec, &in, sa, name, access);
}

static HANDLE open_event(DWORD access, BOOL inherit, const char *name)
{
    return wi_kernel_object_open(&event_spec, name, access, inherit);
}

WINBASEAPI HANDLE WINAPI CreateEventA(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState,
                                      LPCSTR lpName)
{
    return create_event(lpEventAttributes, lpName, bManualReset, bInitialState, EVENT_ALL_ACCESS);
}

WINBASEAPI HANDLE WINAPI CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState,
                                      LPCWSTR lpName)
{
    WI_UTF8_ARG(name, lpName);
    if (WI_UTF8_FAILED(name, lpName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = create_event(lpEventAttributes, name, bManualReset, bInitialState, EVENT_ALL_ACCESS);
    WI_UTF8_FREE(name);
    return h;
}

WINBASEAPI HANDLE WINAPI CreateEventExA(LPSECURITY_ATTRIBUTES lpEventAttributes, LPCSTR lpName, DWORD dwFlags,
                                        DWORD dwDesiredAccess)
{
    if (dwFlags & ~(DWORD)(CREATE_EVENT_MANUAL_RESET | CREATE_EVENT_INITIAL_SET))
        return wi_fail_null(ERROR_INVALID_PARAMETER);
    return create_event(lpEventAttributes, lpName, dwFlags & CREATE_EVENT_MANUAL_RESET,
                        dwFlags & CREATE_EVENT_INITIAL_SET, dwDesiredAccess);
}

WINBASEAPI HANDLE WINAPI CreateEventExW(LPSECURITY_ATTRIBUTES lpEventAttributes, LPCWSTR lpName, DWORD dwFlags,
                                        DWORD dwDesiredAccess)
{
    WI_UTF8_ARG(name, lpName);
    if (WI_UTF8_FAILED(name, lpName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = CreateEventExA(lpEventAttributes, name, dwFlags, dwDesiredAccess);
    WI_UTF8_FREE(name);
    return h;
}

WINBASEAPI HANDLE WINAPI OpenEventA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpName)
{
    return open_event(dwDesiredAccess, bInheritHandle, lpName);
}

WINBASEAPI HANDLE WINAPI OpenEventW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName)
{
    WI_UTF8_ARG(name, lpName);
    if (WI_UTF8_FAILED(name, lpName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = open_event(dwDesiredAccess, bInheritHandle, name);
    WI_UTF8_FREE(name);
    return h;
}

static BOOL with_event(HANDLE h, void (*op)(struct event_shared *))
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(h, WI_TYPE_EVENT, EVENT_MODIFY_STATE, &pin);
    if (err)
        return wi_fail_bool(err);
    op(ev(pin.obj));
    wi_handle_put(&pin);
    return TRUE;
}

static void event_reset(struct event_shared *e)
{
    atomic_fetch_and(&e->w.word, ~SIGNALED);
}

WINBASEAPI BOOL WINAPI SetEvent(HANDLE hEvent)
{
    return with_event(hEvent, event_set);
}

WINBASEAPI BOOL WINAPI ResetEvent(HANDLE hEvent)
{
    return with_event(hEvent, event_reset);
}

WINBASEAPI BOOL WINAPI PulseEvent(HANDLE hEvent)
{
    return with_event(hEvent, event_pulse);
}
