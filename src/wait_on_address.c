/* SPDX-License-Identifier: MIT */
/* WaitOnAddress / WakeByAddressSingle / WakeByAddressAll.
 *
 * Design: a process-wide hash table of wait queues keyed by address, one
 * node per sleeping thread on its own stack, each node with its own futex
 * word. The other common design, a futex on the aligned 32-bit word that
 * contains the address, was rejected because:
 *   - an 8-byte value can change only in the half the futex does not watch;
 *     a waker that stores into that half and wakes before the waiter reaches
 *     the kernel loses the wake-up (the futex compares the unchanged half);
 *   - WakeByAddressSingle must wake a waiter of *that* address; with several
 *     addresses folded onto one word it may wake the wrong one, which goes
 *     back to sleep, and the right one is never woken;
 *   - unaligned or straddling values have no single word to wait on.
 * Queues fix all three: the waker removes exactly the nodes whose address
 * matches, and the comparison is redone after the node is queued.
 *
 * Table: 256 cache-line buckets. Each has a small futex lock (0 free,
 * 1 held, 2 held with sleepers) guarding its doubly linked list, and
 * `queued`, the list length, which wakers read without the lock so that a
 * wake with nobody waiting costs one load and no syscall.
 *
 * Ordering, why no wake-up is lost: the waiter queues its node (bucket lock,
 * `queued`++), issues a sequentially consistent fence, then compares the
 * value. A waker has stored the new value before calling WakeByAddress*,
 * which issues the same fence before reading `queued`. If the waiter's
 * comparison still saw the old value, its fence came first, so the waker
 * sees `queued` > 0, takes the lock and finds the node.
 *
 * Waking: under the bucket lock the waker unlinks the node, sets its word to
 * 1 and FUTEX_WAKEs it. The waiter returns as soon as it sees 1, perhaps
 * before the wake syscall, so that syscall may land on a dead stack slot:
 * harmless, futex waiters treat a wake-up as a hint and re-check. A waiter
 * that times out takes the lock and unlinks itself, unless a waker got there
 * first (then it reports the wake, not the timeout).
 *
 * fork(): the child has only the forking thread, so a child handler empties
 * the table (its locks may have been held by threads that do not exist
 * there). */
#include "sync_local.h"

#include "error.h"
#include "futex.h"
#include "wait.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define BUCKET_BITS 8

struct waiter {
    const volatile void *addr;
    struct waiter *prev, *next;
    _Atomic uint32_t woken; /* 0 while queued; 1 once a waker unlinked it */
};

struct bucket {
    _Atomic uint32_t lock;
    _Atomic uint32_t queued;
    struct waiter *head, *tail; /* protected by lock */
} __attribute__((aligned(64)));

static struct bucket table[1u << BUCKET_BITS];

static struct bucket *bucket_of(const volatile void *addr)
{
    uint64_t h = (uint64_t)(uintptr_t)addr * 0x9E3779B97F4A7C15ull;
    return &table[h >> (64 - BUCKET_BITS)];
}

static void bucket_lock(struct bucket *b)
{
    uint32_t c = 0;
    if (atomic_compare_exchange_strong_explicit(&b->lock, &c, 1, memory_order_acquire, memory_order_relaxed))
        return;
    if (c != 2)
        c = atomic_exchange_explicit(&b->lock, 2, memory_order_acquire);
    while (c != 0) {
        wi_futex_wait_private(&b->lock, 2, NULL);
        c = atomic_exchange_explicit(&b->lock, 2, memory_order_acquire);
    }
}

static void bucket_unlock(struct bucket *b)
{
    if (atomic_exchange_explicit(&b->lock, 0, memory_order_release) == 2)
        wi_futex_wake_private(&b->lock, 1);
}

static void unlink_waiter(struct bucket *b, struct waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        b->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        b->tail = w->prev;
    atomic_fetch_sub_explicit(&b->queued, 1, memory_order_relaxed);
}

static void reset_table_in_child(void)
{
    memset(table, 0, sizeof table);
}

static void register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, reset_table_in_child);
}

/* Compare the `size` bytes at `addr`, as the program last stored them, with
 * those at `compare`: one atomic load when the address is naturally aligned,
 * byte by byte otherwise (Windows does not require alignment). */
static bool value_unchanged(const volatile void *addr, const void *compare, SIZE_T size)
{
    unsigned char now[8];
    if (((uintptr_t)addr & (size - 1)) == 0) {
        uint8_t v1;
        uint16_t v2;
        uint32_t v4;
        uint64_t v8;
        switch (size) {
        case 1:
            v1 = __atomic_load_n((const volatile uint8_t *)addr, __ATOMIC_RELAXED);
            memcpy(now, &v1, 1);
            break;
        case 2:
            v2 = __atomic_load_n((const volatile uint16_t *)addr, __ATOMIC_RELAXED);
            memcpy(now, &v2, 2);
            break;
        case 4:
            v4 = __atomic_load_n((const volatile uint32_t *)addr, __ATOMIC_RELAXED);
            memcpy(now, &v4, 4);
            break;
        default:
            v8 = __atomic_load_n((const volatile uint64_t *)addr, __ATOMIC_RELAXED);
            memcpy(now, &v8, 8);
            break;
        }
    } else {
        for (SIZE_T i = 0; i < size; i++)
            now[i] = __atomic_load_n((const volatile unsigned char *)addr + i, __ATOMIC_RELAXED);
    }
    return memcmp(now, compare, size) == 0;
}

static void wake_address(const void *addr, bool all)
{
    struct bucket *b = bucket_of(addr);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&b->queued, memory_order_relaxed) == 0)
        return;
    bucket_lock(b);
    struct waiter *next;
    for (struct waiter *w = b->head; w; w = next) {
        next = w->next; /* read before waking: the node dies with its waiter */
        if (w->addr != addr)
            continue;
        unlink_waiter(b, w);
        atomic_store_explicit(&w->woken, 1, memory_order_release);
        wi_futex_wake_private(&w->woken, 1);
        if (!all)
            break;
    }
    bucket_unlock(b);
}

/* ---- Win32 entry points ------------------------------------------------ */

/* TRUE when the value differs from *CompareAddress (at once, or after a
 * wake); like Windows, a return does not promise the value changed (wakes
 * meant for the address are delivered even if the value was restored), so
 * callers loop. FALSE with ERROR_TIMEOUT on timeout; sizes other than
 * 1, 2, 4, 8 fail with ERROR_INVALID_PARAMETER. */
WINBASEAPI BOOL WINAPI WaitOnAddress(volatile VOID *Address, PVOID CompareAddress, SIZE_T AddressSize,
                                     DWORD dwMilliseconds)
{
    static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

    if (AddressSize != 1 && AddressSize != 2 && AddressSize != 4 && AddressSize != 8)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if (!Address || !CompareAddress)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if (!value_unchanged(Address, CompareAddress, AddressSize))
        return TRUE;
    if (dwMilliseconds == 0)
        return wi_fail_bool(ERROR_TIMEOUT);
    pthread_once(&fork_once, register_fork_handler);

    struct bucket *b = bucket_of(Address);
    struct waiter self = {.addr = Address, .prev = NULL, .next = NULL};
    atomic_init(&self.woken, 0);

    bucket_lock(b);
    self.prev = b->tail;
    if (b->tail)
        b->tail->next = &self;
    else
        b->head = &self;
    b->tail = &self;
    atomic_fetch_add_explicit(&b->queued, 1, memory_order_relaxed);
    bucket_unlock(b);

    atomic_thread_fence(memory_order_seq_cst);
    bool timed_out = false;
    if (value_unchanged(Address, CompareAddress, AddressSize)) {
        struct timespec ts, *deadline = wi_deadline(dwMilliseconds, &ts);
        for (;;) {
            int r = wi_futex_wait_private(&self.woken, 0, deadline);
            if (atomic_load_explicit(&self.woken, memory_order_acquire))
                return TRUE;
            if (r == ETIMEDOUT) {
                timed_out = true;
                break;
            }
        }
    }
    /* Changed before we slept, or timed out: leave the queue unless a waker
     * already took us off it. */
    bucket_lock(b);
    bool woken = atomic_load_explicit(&self.woken, memory_order_acquire);
    if (!woken)
        unlink_waiter(b, &self);
    bucket_unlock(b);
    if (timed_out && !woken)
        return wi_fail_bool(ERROR_TIMEOUT);
    return TRUE;
}

WINBASEAPI void WINAPI WakeByAddressSingle(PVOID Address)
{
    wake_address(Address, false);
}

WINBASEAPI void WINAPI WakeByAddressAll(PVOID Address)
{
    wake_address(Address, true);
}
