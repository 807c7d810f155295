/* SPDX-License-Identifier: MIT */
/* Mailslots: CreateMailslot, GetMailslotInfo, SetMailslotInfo, the client
 * end that CreateFile opens (wi_mailslot_client_open), and ReadFile/WriteFile
 * on both ends through the ops table; overlapped reads that have to wait
 * pend in the engine (slot_io_try, async.h).
 *
 * Transport: a message queue in shared memory, written by the clients
 * themselves. Each mailslot is one object file in the mailslot namespace
 * (WI_NS_MAILSLOT, case-insensitive): a state page (struct slot_shared)
 * followed, at DATA_OFF, by a ring of message records. A WriteFile takes the
 * robust lock, copies the message in, commits and unlocks (no system call
 * unless a reader sleeps); a ReadFile takes the oldest message out, or sleeps
 * on a futex word that every write bumps. Why not the AF_UNIX SOCK_DGRAM
 * socket one would reach for first: a datagram socket queues at most
 * net.unix.max_dgram_qlen messages (10 by default) for a receiver, after
 * which senders block; Windows' WriteFile on a mailslot never waits for the
 * reader, whatever it has not read yet. Per-client connections
 * (SEQPACKET) lift that bound but lose the one arrival order of all clients'
 * messages and an exact message count. The ring keeps the Windows
 * semantics exactly: one FIFO, exact GetMailslotInfo counts and next sizes,
 * messages of any size, writers that never block; docs/mailslots.md has the
 * measurements.
 *
 * Names and lifetime. The mailslot exists while a server handle does (the
 * CreateMailslot handle and its inherited or duplicated copies, in any
 * process), not while clients do. Every server handle's open file
 * description (OFD) holds a read lock on byte LOCK_SERVER of the object
 * file; the kernel drops it with the owner's last descriptor, SIGKILL
 * included, so "byte locked by another OFD" (F_OFD_GETLK) is exactly "a
 * server is alive". Clients keep the object file open (the namespace's
 * shared flock), so the file may outlive its server: such a file is a dead
 * mailslot. CreateFile on it fails with ERROR_FILE_NOT_FOUND and the next
 * CreateMailslot takes it over as a new mailslot: under the creation lock
 * (F_OFD_SETLKW write lock on LOCK_CREATE, which CreateFile takes as a read
 * lock) it finds no live server, locks LOCK_SERVER, bumps the generation and
 * empties the ring. A client belongs to the generation it opened; a write
 * from an older generation, or to a mailslot whose server is gone, fails
 * with ERROR_HANDLE_EOF (see docs/mailslots.md for why that code).
 *
 * The ring (struct ring_state): capacity `cap`, byte offsets `head` (next
 * message to read) and `tail` (where the next one goes), all multiples of 8,
 * head == tail when empty (the ring is never let full). A record is an
 * 8-byte header {length, 0} and the message padded to 8. A record never
 * straddles the end: when it does not fit there, a marker {MARK, next/8}
 * sends the reader on to offset `next` modulo cap, written as the cap of the
 * time (so 0). Growing doubles cap; when the ring had wrapped (tail < head)
 * the part [0, tail) is copied to [old cap, old cap + tail), where the old
 * markers (next = old cap) now lead: nothing already written changes. When a
 * read empties a ring bigger than SHRINK_ABOVE, it goes back to INITIAL_CAP
 * and the memory beyond is punched out of the file.
 *
 * Dying at each step. Every change is prepared in the inactive copy of the
 * two ring_state slots and committed by one store of `cur`; message bytes
 * go only into space no committed state refers to. So a process killed
 * while holding the lock (the next locker gets EOWNERDEAD from the robust
 * mutex) leaves the last committed state: whole messages, exact count. A
 * client killed at any point therefore changes nothing for the server; a
 * server killed drops LOCK_SERVER and the mailslot is gone.
 *
 * Trust. A mailslot created with a NULL DACL is a world-writable file, so
 * another user's client can write into the ring, as it must, but also read
 * it and write nonsense into it: every offset and length read from the file
 * is checked before use (a ring that fails the checks is emptied), see
 * docs/mailslots.md.
 *
 * Local locking: the shared robust mutex `lock` guards the ring states, the
 * message bytes and each process's `known_cap`; max_size, timeout and gen
 * are atomics also read without it. */
#include "mailslot.h"

#include "async.h"
#include "device_name.h"
#include "error.h"
#include "futex.h"
#include "handle.h"
#include "namespace.h"
#include "security.h"
#include "unicode.h"
#include "wait.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- shared state --------------------------------------------------------------- */

#define SLOT_LAYOUT_MAGIC 0x544F4C53u /* "SLOT" */
#define SLOT_LAYOUT_VERSION 1u
#ifdef __GLIBC__
#define LOCK_ABI ((uint32_t)sizeof(pthread_mutex_t) << 8 | 1u)
#else
#define LOCK_ABI ((uint32_t)sizeof(pthread_mutex_t) << 8 | 2u)
#endif

#define DATA_OFF ((off_t)65536)       /* the ring, after the state page (any page size) */
#define INITIAL_CAP ((uint64_t)65536) /* a new ring */
#define SHRINK_ABOVE ((uint64_t)1 << 20)
/* Largest ring: all queued messages together. Each handle maps this much
 * address space (file-backed, nothing reserved). */
#define MAX_RING (sizeof(void *) >= 8 ? (uint64_t)1 << 30 : (uint64_t)64 << 20)
#define REC_HDR 8u
#define MARK 0xFFFFFFFFu

/* Lock bytes, beyond the end of any ring (fcntl locks need no data). */
#define LOCK_CREATE ((off_t)1 << 40)
#define LOCK_SERVER (LOCK_CREATE + 1)

struct ring_state {
    uint64_t cap, head, tail;
    uint32_t count; /* messages between head and tail */
    uint32_t reserved;
};

/* Layout of the object file's state page (magic, version: struct
 * wi_shared_header plus our own layout pair and the mutex ABI, checked at
 * every open).
 *   lock          robust, process-shared; guards ring[], cur and the bytes
 *                 of the ring.
 *   gen           the mailslot's generation: bumped (under lock and
 *                 LOCK_CREATE) when a CreateMailslot starts the mailslot in
 *                 this file. Clients remember theirs.
 *   max_size      nMaxMessageSize, 0 = any; set with gen.
 *   timeout       lReadTimeout; SetMailslotInfo changes it, for every server
 *                 handle (Windows: "applies to all inherited handles").
 *   arrived       futex word bumped by every write and every new generation;
 *                 waiters = sleeping readers.
 *   cur, ring[2]  the committed ring state is ring[cur & 1]. */
struct slot_shared {
    struct wi_shared_header hdr;
    uint32_t layout_magic;
    uint32_t layout_version;
    uint32_t lock_abi;
    uint32_t reserved0;
    pthread_mutex_t lock;
    _Atomic uint32_t gen;
    _Atomic uint32_t max_size;
    _Atomic uint32_t timeout;
    _Atomic uint32_t cur;
    struct wi_waitable arrived;
    struct ring_state ring[2];
};

/* --- local state ---------------------------------------------------------------- */

struct mailslot {
    struct wi_object obj; /* must be first */
    bool server;
    uint32_t gen;        /* the generation this handle belongs to */
    unsigned char *data; /* MAX_RING bytes of the file from DATA_OFF */
    uint64_t known_cap;  /* the file holds at least this much ring (under lock) */
};

/* ring_take's "nothing queued" (never returned to a caller). */
#define RING_EMPTY ERROR_NO_DATA

static struct mailslot *slot_of(struct wi_object *obj)
{
    return (struct mailslot *)obj;
}

static struct slot_shared *shared_of(struct mailslot *m)
{
    return WI_SHARED(&m->obj, struct slot_shared);
}

static uint64_t round8(uint64_t n)
{
    return (n + 7) & ~(uint64_t)7;
}

static void slot_lock(struct slot_shared *s)
{
    if (pthread_mutex_lock(&s->lock) == EOWNERDEAD) {
        /* A process died holding the lock: the committed state is whole
         * (see "Dying" above); what it was preparing is simply not there. */
        pthread_mutex_consistent(&s->lock);
    }
}

static void slot_unlock(struct slot_shared *s)
{
    pthread_mutex_unlock(&s->lock);
}

/* --- locks on the object file --------------------------------------------------- */

static DWORD range_lock(int fd, short type, off_t at, bool wait)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = at, .l_len = 1};
    while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) != 0) {
        if (errno != EINTR)
            return wi_error_from_errno(errno);
    }
    return ERROR_SUCCESS;
}

/* Does another open file description hold the server byte? (Our own lock
 * through `fd` is invisible to F_OFD_GETLK.) */
static bool server_alive(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = LOCK_SERVER, .l_len = 1};
    if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
        return true; /* cannot tell: never declare a live mailslot dead */
    return fl.l_type != F_UNLCK;
}

/* --- the ring (lock held throughout) ---------------------------------------------- */

static void ring_commit(struct slot_shared *s, const struct ring_state *r)
{
    uint32_t cur = atomic_load(&s->cur) & 1;
    s->ring[cur ^ 1] = *r;
    atomic_store_explicit(&s->cur, cur ^ 1, memory_order_release);
}

static void ring_empty(struct ring_state *r, uint64_t cap)
{
    memset(r, 0, sizeof *r);
    r->cap = cap;
}

/* Give the file's memory for [from, to) of the ring back (the file keeps its
 * size, so no mapping ever reaches past its end). */
static void ring_release(struct mailslot *m, uint64_t from, uint64_t to)
{
    if (to > from)
        fallocate(m->obj.shared_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, DATA_OFF + (off_t)from,
                  (off_t)(to - from));
}

/* Make [from, to) of the ring real memory of the file. On tmpfs a store to
 * a page the file system cannot supply would be SIGBUS; allocating first
 * turns that into an error for the writer. Windows charges queued messages
 * to the writer's quota: ERROR_NOT_ENOUGH_QUOTA when it is exhausted. */
static DWORD ring_reserve(struct mailslot *m, uint64_t from, uint64_t to)
{
    int fd = m->obj.shared_fd, r;
    while ((r = fallocate(fd, 0, DATA_OFF + (off_t)from, (off_t)(to - from))) != 0 && errno == EINTR)
        ;
    if (r != 0) {
        if (errno == ENOSPC || errno == EFBIG || errno == EDQUOT)
            return ERROR_NOT_ENOUGH_QUOTA;
        if (errno != EOPNOTSUPP)
            return wi_error_from_errno(errno);
        /* A file system without fallocate (WINIPC_ROOT elsewhere): size only. */
        struct stat st;
        if (fstat(fd, &st) != 0)
            return wi_error_from_errno(errno);
        if ((uint64_t)st.st_size < (uint64_t)DATA_OFF + to && ftruncate(fd, DATA_OFF + (off_t)to) != 0)
            return errno == ENOSPC ? ERROR_NOT_ENOUGH_QUOTA : wi_error_from_errno(errno);
    }
    if (to > m->known_cap)
        m->known_cap = to;
    return ERROR_SUCCESS;
}

static bool ring_valid(const struct ring_state *r)
{
    return r->cap >= INITIAL_CAP && r->cap <= MAX_RING && r->cap % 8 == 0 && r->head < r->cap && r->tail < r->cap &&
           r->head % 8 == 0 && r->tail % 8 == 0;
}

/* The committed state, checked: offsets inside the ring, the ring inside
 * the file. A state that fails (only a process not following this file's
 * protocol can write one) is replaced by an empty ring. */
static DWORD ring_load(struct mailslot *m, struct ring_state *r)
{
    struct slot_shared *s = shared_of(m);
    *r = s->ring[atomic_load_explicit(&s->cur, memory_order_acquire) & 1];
    if (ring_valid(r) && r->cap <= m->known_cap)
        return ERROR_SUCCESS;
    if (ring_valid(r)) {
        /* Grown by another process: the file must hold it. */
        struct stat st;
        if (fstat(m->obj.shared_fd, &st) != 0)
            return wi_error_from_errno(errno);
        if ((uint64_t)st.st_size >= (uint64_t)DATA_OFF + r->cap) {
            m->known_cap = r->cap;
            return ERROR_SUCCESS;
        }
    }
    ring_empty(r, INITIAL_CAP);
    ring_commit(s, r);
    return ERROR_SUCCESS;
}

/* The next message of `r`: 1 with the offset of its record and its length,
 * 0 when the ring is empty, -1 when no valid record is there. */
static int ring_next(const struct mailslot *m, const struct ring_state *r, uint64_t *at, uint32_t *len)
{
    uint64_t p = r->head;
    uint32_t hdr[2];
    if (p == r->tail)
        return 0;
    memcpy(hdr, m->data + p, sizeof hdr);
    if (hdr[0] == MARK) {
        p = ((uint64_t)hdr[1] * 8) % r->cap;
        if (p == r->tail)
            return -1;
        memcpy(hdr, m->data + p, sizeof hdr);
        if (hdr[0] == MARK)
            return -1;
    }
    if (REC_HDR + round8(hdr[0]) > r->cap - p)
        return -1;
    *at = p;
    *len = hdr[0];
    return 1;
}

/* Make room for a record of `rec` bytes: double the ring (more if needed)
 * and, when it had wrapped, copy the part at the start after the old end. */
static DWORD ring_grow(struct mailslot *m, struct ring_state *r, uint64_t rec)
{
    uint64_t end = r->tail < r->head ? r->cap + r->tail : r->tail;
    uint64_t ncap = r->cap * 2;
    while (ncap < end + rec + REC_HDR && ncap <= MAX_RING)
        ncap *= 2;
    if (ncap > MAX_RING)
        return ERROR_NOT_ENOUGH_QUOTA;
    DWORD err = ring_reserve(m, r->cap, ncap);
    if (err)
        return err;
    if (r->tail < r->head) {
        memcpy(m->data + r->cap, m->data, r->tail);
        r->tail = r->cap + r->tail;
    }
    r->cap = ncap;
    return ERROR_SUCCESS;
}

/* Queue one message and commit. */
static DWORD ring_append(struct mailslot *m, const void *buf, DWORD len)
{
    struct ring_state r;
    uint64_t rec = REC_HDR + round8(len);
    DWORD err = ring_load(m, &r);
    if (err)
        return err;
    if (rec >= MAX_RING)
        return ERROR_NOT_ENOUGH_QUOTA;
    if (r.head == r.tail)
        r.head = r.tail = 0; /* empty: start at the beginning */
    for (;;) {
        uint64_t h = r.head, t = r.tail, cap = r.cap, at = UINT64_MAX;
        bool mark = false;
        if (t >= h) {
            if (cap - t >= rec) {
                if (!(t + rec == cap && h == 0)) /* that would fill the ring: head == tail */
                    at = t;
            } else if (rec < h) {
                at = 0;
                mark = true;
            }
        } else if (t + rec < h) {
            at = t;
        }
        if (at != UINT64_MAX) {
            if (mark) {
                uint32_t mk[2] = {MARK, (uint32_t)(cap / 8)};
                memcpy(m->data + t, mk, sizeof mk);
            }
            uint32_t hdr[2] = {len, 0};
            memcpy(m->data + at, hdr, sizeof hdr);
            if (len)
                memcpy(m->data + at + REC_HDR, buf, len);
            r.tail = (at + rec) % cap;
            r.count++;
            ring_commit(shared_of(m), &r);
            return ERROR_SUCCESS;
        }
        err = ring_grow(m, &r, rec);
        if (err)
            return err;
    }
}

/* Take the oldest message into `buf` and commit; RING_EMPTY when there is
 * none. A buffer too small for it leaves it queued. */
static DWORD ring_take(struct mailslot *m, void *buf, DWORD len, DWORD *done)
{
    struct slot_shared *s = shared_of(m);
    struct ring_state r;
    uint64_t at;
    uint32_t n;
    DWORD err = ring_load(m, &r);
    if (err)
        return err;
    int k = ring_next(m, &r, &at, &n);
    if (k < 0) {
        ring_empty(&r, INITIAL_CAP);
        ring_commit(s, &r);
    }
    if (k <= 0)
        return RING_EMPTY;
    if (n > len)
        return ERROR_INSUFFICIENT_BUFFER; /* Windows: the message stays for a bigger buffer */
    if (n)
        memcpy(buf, m->data + at + REC_HDR, n);
    uint64_t old_cap = r.cap;
    r.head = (at + REC_HDR + round8(n)) % r.cap;
    r.count = r.count ? r.count - 1 : 0;
    if (r.head == r.tail) {
        ring_empty(&r, r.cap > SHRINK_ABOVE ? INITIAL_CAP : r.cap);
    }
    ring_commit(s, &r);
    if (r.cap < old_cap)
        ring_release(m, r.cap, old_cap);
    *done = n;
    return ERROR_SUCCESS;
}

/* Start a new mailslot in this file (LOCK_CREATE held, no live server):
 * fresh generation and parameters, empty ring. */
static void slot_start(struct mailslot *m, DWORD max_size, DWORD timeout)
{
    struct slot_shared *s = shared_of(m);
    struct ring_state old, r;
    slot_lock(s);
    old = s->ring[atomic_load(&s->cur) & 1];
    uint32_t gen = atomic_load(&s->gen) + 1;
    if (gen == 0)
        gen = 1;
    ring_empty(&r, INITIAL_CAP);
    ring_commit(s, &r);
    atomic_store(&s->max_size, max_size);
    atomic_store(&s->timeout, timeout);
    atomic_store(&s->gen, gen);
    atomic_fetch_add(&s->arrived.word, 1);
    slot_unlock(s);
    wi_waitable_wake(&s->arrived);
    if (ring_valid(&old) && old.cap > INITIAL_CAP)
        ring_release(m, INITIAL_CAP, old.cap); /* the previous mailslot's messages */
    m->gen = gen;
}

/* --- ops ---------------------------------------------------------------------------- */

/* ReadFile on the server: one whole message, waiting up to the mailslot's
 * read time-out for one to arrive. */
static DWORD slot_read(struct wi_object *obj, void *buf, DWORD len, DWORD *done)
{
    struct mailslot *m = slot_of(obj);
    struct slot_shared *s = shared_of(m);
    struct timespec ts, *deadline = NULL;
    DWORD err, ms;

    *done = 0;
    if (!m->server)
        return ERROR_ACCESS_DENIED; /* clients only write (Windows since Vista) */
    ms = atomic_load(&s->timeout);
    if (ms != 0)
        deadline = wi_deadline(ms, &ts); /* NULL for MAILSLOT_WAIT_FOREVER */
    for (;;) {
        slot_lock(s);
        err = ring_take(m, buf, len, done);
        if (err != RING_EMPTY || ms == 0) {
            slot_unlock(s);
            /* Windows: an empty mailslot with a time-out of 0 is
             * ERROR_SEM_TIMEOUT at once, as any read time-out is. */
            return err == RING_EMPTY ? ERROR_SEM_TIMEOUT : err;
        }
        /* Register before unlocking: a writer bumps the word under the lock
         * and then wakes us if it sees a waiter. */
        uint32_t v = atomic_load(&s->arrived.word);
        atomic_fetch_add(&s->arrived.waiters, 1);
        slot_unlock(s);
        int r = wi_futex_wait(&s->arrived.word, v, deadline);
        atomic_fetch_sub(&s->arrived.waiters, 1);
        if (r == ETIMEDOUT)
            ms = 0; /* one last look, then ERROR_SEM_TIMEOUT */
    }
}

/* WriteFile on a client: queue one message; never waits for the reader. */
static DWORD slot_write(struct wi_object *obj, const void *buf, DWORD len, DWORD *done)
{
    struct mailslot *m = slot_of(obj);
    struct slot_shared *s = shared_of(m);
    DWORD err, max;

    *done = 0;
    if (m->server)
        return ERROR_ACCESS_DENIED; /* Windows: the server end cannot write */
    /* The server gone (closed or killed): Windows fails writes to a mailslot
     * whose server handle is closed (docs/mailslots.md). */
    if (!server_alive(m->obj.shared_fd))
        return ERROR_HANDLE_EOF;
    slot_lock(s);
    max = atomic_load(&s->max_size);
    if (atomic_load(&s->gen) != m->gen)
        err = ERROR_HANDLE_EOF; /* our mailslot ended; this is another one */
    else if (max != 0 && len > max)
        err = ERROR_INVALID_PARAMETER; /* larger than nMaxMessageSize */
    else
        err = ring_append(m, buf, len);
    if (!err)
        atomic_fetch_add(&s->arrived.word, 1);
    slot_unlock(s);
    if (err)
        return err;
    wi_waitable_wake(&s->arrived);
    *done = len;
    return ERROR_SUCCESS;
}

/* Every message is queued when WriteFile returns: nothing to flush. */
static DWORD slot_flush(struct wi_object *obj)
{
    return ERROR_SUCCESS;
}

/* Overlapped requests, through the engine (async.h). The server handle is
 * an overlapped one: CreateMailslot opens it for asynchronous I/O (no
 * FILE_SYNCHRONOUS_IO_* option), so ReadFile with an OVERLAPPED that finds
 * the mailslot empty returns ERROR_IO_PENDING and completes when a writer,
 * in any process, queues a message: it waits on `arrived`, which every
 * write bumps under the lock.
 *
 * The read time-out applies to such a read too, counted from the call: the
 * mailslot file system times every read that has to wait with the
 * mailslot's time-out and completes it with STATUS_IO_TIMEOUT
 * (ERROR_SEM_TIMEOUT), whether or not the caller blocks on it (Wine's server
 * does the same; docs/mailslots.md). Time-out 0: ERROR_SEM_TIMEOUT at once,
 * a failure at once (nothing signaled); MAILSLOT_WAIT_FOREVER: no limit.
 * The time-out is the one in force when the read is first tried (for a
 * read queued behind another, when it reaches the head).
 *
 * io->progress[0]: the read's deadline (CLOCK_MONOTONIC ns, 0 = none);
 * progress[1]: non-zero once it is chosen. */
static DWORD slot_io_try(struct wi_object *obj, struct wi_io *io)
{
    struct mailslot *m = slot_of(obj);
    struct slot_shared *s = shared_of(m);

    /* The last server handle of this object closed under pending reads:
     * they end as cancelled (STATUS_CANCELLED). */
    if (io->closing)
        return ERROR_OPERATION_ABORTED;
    if (io->op == WI_IO_WRITE)
        return slot_write(obj, io->wbuf, io->wlen, &io->done); /* never waits */
    if (io->op != WI_IO_READ)
        return ERROR_INVALID_FUNCTION;
    if (!m->server)
        return ERROR_ACCESS_DENIED; /* clients only write */

    /* The word as it was while the ring was seen empty, under the lock: a
     * message queued after that changes it. */
    slot_lock(s);
    uint32_t seen = atomic_load(&s->arrived.word);
    DWORD err = ring_take(m, io->buf, io->len, &io->done);
    slot_unlock(s);
    if (err != RING_EMPTY)
        return err; /* a message, or ERROR_INSUFFICIENT_BUFFER (it stays queued) */

    if (!io->progress[1]) {
        DWORD ms = atomic_load(&s->timeout);
        io->progress[1] = 1;
        io->progress[0] = ms == MAILSLOT_WAIT_FOREVER ? 0 : io->issued + (uint64_t)ms * 1000000u;
        if (ms == 0)
            return ERROR_SEM_TIMEOUT;
    }
    if (io->progress[0] && wi_monotonic_ns() >= io->progress[0])
        return ERROR_SEM_TIMEOUT;
    io->wait_word = &s->arrived;
    io->wait_value = seen;
    io->wait_until = io->progress[0];
    return ERROR_IO_PENDING;
}

/* The last server handle of the mailslot (in any process) takes the
 * mailslot and its queued messages with it; the name is free again. */
static void server_close(struct mailslot *m)
{
    struct slot_shared *s = shared_of(m);
    int fd = m->obj.shared_fd;
    range_lock(fd, F_UNLCK, LOCK_SERVER, false);
    if (server_alive(fd))
        return; /* an inherited or duplicated server handle lives on elsewhere */
    slot_lock(s);
    /* Unless a new CreateMailslot took the file over meanwhile. */
    if (atomic_load(&s->gen) == m->gen) {
        struct ring_state old = s->ring[atomic_load(&s->cur) & 1], r;
        ring_empty(&r, INITIAL_CAP);
        ring_commit(s, &r);
        if (ring_valid(&old) && old.cap > INITIAL_CAP)
            ring_release(m, INITIAL_CAP, old.cap);
    }
    slot_unlock(s);
}

static void slot_destroy(struct wi_object *obj)
{
    struct mailslot *m = slot_of(obj);
    if (m->obj.shared && m->data && m->server)
        server_close(m);
    if (m->data)
        munmap(m->data, MAX_RING);
    m->data = NULL;
}

static DWORD slot_export(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len);
static DWORD slot_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out);

const struct wi_object_ops wi_mailslot_ops = {
    .name = "Mailslot",
    .type = WI_TYPE_MAILSLOT,
    .generic_map = {FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS},
    .waitable = wi_no_waitable,
    .try_satisfy = wi_no_try_satisfy,
    .wait_prepare = wi_no_wait_prepare,
    .consumable = false,
    .signal = wi_no_signal,
    .read = slot_read,
    .write = slot_write,
    .flush = slot_flush,
    /* Overlapped requests go through io_try (async.h); these are unused. */
    .read_overlapped = wi_sync_read_overlapped,
    .write_overlapped = wi_sync_write_overlapped,
    .io_try = slot_io_try,
    .std_fd = wi_no_std_fd, /* no Linux fd behaves like a mailslot */
    .export_fds = slot_export,
    .import = slot_import,
    .destroy = slot_destroy,
};

/* --- opening the object file ------------------------------------------------------- */

static DWORD check_layout(struct mailslot *m)
{
    struct slot_shared *s = shared_of(m);
    if (m->obj.shared_size < sizeof *s || s->layout_magic != SLOT_LAYOUT_MAGIC ||
        s->layout_version != SLOT_LAYOUT_VERSION || s->lock_abi != LOCK_ABI)
        return ERROR_INVALID_HANDLE; /* another library version's mailslot */
    return ERROR_SUCCESS;
}

/* Map the ring (after check_layout). */
static DWORD map_ring(struct mailslot *m)
{
    void *p = mmap(NULL, MAX_RING, PROT_READ | PROT_WRITE, MAP_SHARED, m->obj.shared_fd, DATA_OFF);
    if (p == MAP_FAILED)
        return wi_error_from_errno(errno);
    m->data = p;
    return ERROR_SUCCESS;
}

/* A new object file (namespace directory locked, file ours alone). */
static void slot_file_init(struct wi_object *obj, void *arg)
{
    struct slot_shared *s = WI_SHARED(obj, struct slot_shared);
    pthread_mutexattr_t attr;
    s->layout_magic = SLOT_LAYOUT_MAGIC;
    s->layout_version = SLOT_LAYOUT_VERSION;
    s->lock_abi = LOCK_ABI;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&s->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    ring_empty(&s->ring[0], INITIAL_CAP);
    atomic_store(&s->cur, 0);
}

static struct mailslot *slot_alloc(void)
{
    return wi_object_alloc(&wi_mailslot_ops, sizeof(struct mailslot));
}

static DWORD slot_file_open(struct mailslot *m, const char *ns_name, bool create, bool world)
{
    bool existed;
    DWORD err = wi_namespace_open(&m->obj, WI_NS_MAILSLOT, ns_name, sizeof(struct slot_shared),
                                  (uint64_t)DATA_OFF + INITIAL_CAP, create, world, &existed, slot_file_init, NULL);
    if (!err)
        err = check_layout(m);
    if (!err)
        err = map_ring(m);
    return err;
}

/* --- names ------------------------------------------------------------------------- */


/* --- inheritance -------------------------------------------------------------------- */

/* Blob: our part after the namespace's (wi_shared_export_fds). */
struct slot_blob {
    uint32_t shared_len; /* bytes of the namespace blob that follow */
    uint8_t server;
    uint8_t reserved[3];
    uint32_t gen;
};

/* The child gets a new open file description of the object file (holding
 * the namespace's flock) and, for a server handle, its own LOCK_SERVER read
 * lock on it, taken before the hand-over: the mailslot lives while either
 * process holds a server handle. */
static DWORD slot_export(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len)
{
    struct mailslot *m = slot_of(obj);
    struct slot_blob b = {0};
    unsigned char nsblob[WI_EXPORT_BLOB_MAX];
    unsigned nslen = 0, n = 0;
    DWORD err = wi_shared_export_fds(obj, fds, &n, nsblob, &nslen);
    if (err)
        return err;
    if (sizeof b + nslen > WI_EXPORT_BLOB_MAX)
        err = ERROR_NOT_SUPPORTED;
    if (!err && m->server)
        err = range_lock(fds[0], F_RDLCK, LOCK_SERVER, false);
    if (err) {
        close(fds[0]);
        return err;
    }
    b.shared_len = nslen;
    b.server = m->server;
    b.gen = m->gen;
    *nfds = n;
    memcpy(blob, &b, sizeof b);
    memcpy((char *)blob + sizeof b, nsblob, nslen);
    *blob_len = (unsigned)(sizeof b + nslen);
    return ERROR_SUCCESS;
}

static DWORD slot_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out)
{
    struct slot_blob b;
    struct wi_object *obj;
    if (blob_len < sizeof b || nfds != 1)
        return ERROR_INVALID_PARAMETER;
    memcpy(&b, blob, sizeof b);
    if (b.shared_len != blob_len - sizeof b)
        return ERROR_INVALID_PARAMETER;
    DWORD err = wi_shared_import(&wi_mailslot_ops, sizeof(struct mailslot), fds, 1, (const char *)blob + sizeof b,
                                 b.shared_len, &obj);
    if (err)
        return err;
    struct mailslot *m = slot_of(obj);
    err = check_layout(m);
    if (!err)
        err = map_ring(m);
    if (err) {
        m->obj.shared_fd = -1; /* on failure the caller keeps (and closes) fds[0] */
        wi_object_release(obj);
        return err;
    }
    m->server = b.server;
    obj->io_overlapped = m->server; /* the server end is overlapped by nature */
    m->gen = b.gen;
    *out = obj;
    return ERROR_SUCCESS;
}

/* --- CreateMailslot --------------------------------------------------------------------- */

/* Taking over a file whose mailslot is dead (clients keep it): its mode must
 * be the one the new mailslot asks for. Another user's file can be taken
 * over only when it is already what we want (world access). */
static DWORD adopt_mode(int fd, bool world)
{
    mode_t mode = world ? 0666 : 0600;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return wi_error_from_errno(errno);
    if (st.st_uid == geteuid())
        return fchmod(fd, mode) == 0 ? ERROR_SUCCESS : wi_error_from_errno(errno);
    return world && (st.st_mode & 07777) == mode ? ERROR_SUCCESS : ERROR_ACCESS_DENIED;
}

/* Become the server of the mailslot in m's file (LOCK_CREATE held). */
static DWORD server_claim(struct mailslot *m, DWORD max_size, DWORD timeout, bool world)
{
    int fd = m->obj.shared_fd;
    if (server_alive(fd))
        return ERROR_ALREADY_EXISTS; /* Windows: one server per name */
    DWORD err = adopt_mode(fd, world);
    if (!err)
        err = ring_reserve(m, 0, INITIAL_CAP);
    if (!err)
        err = range_lock(fd, F_RDLCK, LOCK_SERVER, false);
    if (err)
        return err;
    m->server = true;
    m->obj.io_overlapped = true; /* the server end is overlapped by nature */
    slot_start(m, max_size, timeout);
    return ERROR_SUCCESS;
}

static HANDLE create_mailslot(const char *name, DWORD max_size, DWORD timeout, const SECURITY_ATTRIBUTES *sa)
{
    const char *rest;
    enum wi_device_name kind;
    DWORD err, hflags;
    bool world;

    if (!name)
        return wi_fail_invalid(ERROR_PATH_NOT_FOUND);
    kind = wi_device_name_split(name, "mailslot", &rest);
    /* A mailslot is always local to the computer that creates it: a network
     * name is a path to another machine that Windows cannot create on
     * (ERROR_BAD_NETPATH, as for any unreachable network path). */
    if (kind == WI_DEVNAME_REMOTE)
        return wi_fail_invalid(ERROR_BAD_NETPATH);
    if (kind == WI_DEVNAME_BAD || !*rest)
        return wi_fail_invalid(ERROR_INVALID_NAME);
    err = wi_sa_parse_for(sa, &wi_mailslot_ops, &hflags, &world);
    if (err)
        return wi_fail_invalid(err);

    struct mailslot *m = slot_alloc();
    char *ns_name = NULL;
    HANDLE h = NULL;
    if (!m)
        return wi_fail_invalid(ERROR_NOT_ENOUGH_MEMORY);
    err = wi_device_name_normalize(rest, kind, &ns_name);
    if (!err)
        err = slot_file_open(m, ns_name, true, world);
    free(ns_name);
    if (!err)
        err = range_lock(m->obj.shared_fd, F_WRLCK, LOCK_CREATE, true);
    if (!err) {
        err = server_claim(m, max_size, timeout, world);
        range_lock(m->obj.shared_fd, F_UNLCK, LOCK_CREATE, false);
    }
    /* Windows gives the server handle GENERIC_READ, SYNCHRONIZE and
     * WRITE_DAC: it reads, and WriteFile on it is ERROR_ACCESS_DENIED. */
    if (!err)
        err = wi_handle_insert(&m->obj, FILE_GENERIC_READ | WRITE_DAC, hflags, &h);
    if (err) {
        wi_object_release(&m->obj);
        return wi_fail_invalid(err);
    }
    return h;
}

/* --- the client end ------------------------------------------------------------------ */

DWORD wi_mailslot_client_open(const char *name_utf8, DWORD access, const SECURITY_ATTRIBUTES *sa, HANDLE *out)
{
    const char *rest;
    DWORD err, hflags;
    bool world;
    enum wi_device_name kind = wi_device_name_split(name_utf8, "mailslot", &rest);

    switch (kind) {
    case WI_DEVNAME_LOCAL:
    case WI_DEVNAME_VERBATIM:
        break;
    case WI_DEVNAME_REMOTE:
        return ERROR_NOT_SUPPORTED; /* network mailslots and broadcasts: a later phase */
    default:
        return ERROR_INVALID_NAME;
    }
    if (!*rest)
        return ERROR_NOT_SUPPORTED; /* the mailslot file system's root directory */
    err = wi_sa_parse(sa, &hflags, &world);
    if (err)
        return err;

    struct mailslot *m = slot_alloc();
    char *ns_name = NULL;
    if (!m)
        return ERROR_NOT_ENOUGH_MEMORY;
    err = wi_device_name_normalize(rest, kind, &ns_name);
    if (!err)
        err = slot_file_open(m, ns_name, false, false);
    free(ns_name);
    if (!err) {
        /* Under the creation lock (shared with other clients): a server
         * that is alive has finished starting its generation. */
        int fd = m->obj.shared_fd;
        err = range_lock(fd, F_RDLCK, LOCK_CREATE, true);
        if (!err) {
            bool alive = server_alive(fd);
            m->gen = atomic_load(&shared_of(m)->gen);
            range_lock(fd, F_UNLCK, LOCK_CREATE, false);
            /* Windows: no local mailslot of that name (its server is gone). */
            if (!alive)
                err = ERROR_FILE_NOT_FOUND;
        }
    }
    if (!err)
        err = wi_handle_insert(&m->obj, wi_handle_map_access(&wi_mailslot_ops, access), hflags, out);
    if (err) {
        wi_object_release(&m->obj);
        return err;
    }
    return ERROR_SUCCESS;
}

/* --- GetMailslotInfo / SetMailslotInfo ----------------------------------------------- */

/* A server handle. Windows' mailslot file system rejects these requests on
 * a client's handle as invalid for that end (ERROR_INVALID_PARAMETER); any
 * other object is ERROR_INVALID_HANDLE. */
static DWORD server_handle(HANDLE h, struct wi_pin *pin)
{
    DWORD err = wi_handle_get(h, WI_TYPE_MAILSLOT, 0, pin);
    if (err)
        return err;
    if (!slot_of(pin->obj)->server) {
        wi_handle_put(pin);
        return ERROR_INVALID_PARAMETER;
    }
    return ERROR_SUCCESS;
}

static DWORD mailslot_info(HANDLE h, DWORD *max_size, DWORD *next_size, DWORD *count, DWORD *timeout)
{
    struct wi_pin pin;
    DWORD err = server_handle(h, &pin);
    if (err)
        return err;
    struct mailslot *m = slot_of(pin.obj);
    struct slot_shared *s = shared_of(m);
    struct ring_state r;
    uint64_t at;
    uint32_t len;
    int k = 0;
    slot_lock(s);
    err = ring_load(m, &r);
    if (!err)
        k = ring_next(m, &r, &at, &len);
    slot_unlock(s);
    if (!err) {
        if (max_size)
            *max_size = atomic_load(&s->max_size);
        if (next_size)
            *next_size = k > 0 ? len : MAILSLOT_NO_MESSAGE;
        if (count)
            *count = k > 0 ? r.count : 0;
        if (timeout)
            *timeout = atomic_load(&s->timeout);
    }
    wi_handle_put(&pin);
    return err;
}

static DWORD set_mailslot_info(HANDLE h, DWORD timeout)
{
    struct wi_pin pin;
    DWORD err = server_handle(h, &pin);
    if (err)
        return err;
    /* Reads already waiting keep the time-out they started with; Windows
     * applies the new one to later reads. */
    atomic_store(&shared_of(slot_of(pin.obj))->timeout, timeout);
    wi_handle_put(&pin);
    return ERROR_SUCCESS;
}

/* --- Win32 entry points ------------------------------------------------------------------ */

WINBASEAPI HANDLE WINAPI CreateMailslotA(LPCSTR lpName, DWORD nMaxMessageSize, DWORD lReadTimeout,
                                         LPSECURITY_ATTRIBUTES lpSecurityAttributes)
{
    return create_mailslot(lpName, nMaxMessageSize, lReadTimeout, lpSecurityAttributes);
}

WINBASEAPI HANDLE WINAPI CreateMailslotW(LPCWSTR lpName, DWORD nMaxMessageSize, DWORD lReadTimeout,
                                         LPSECURITY_ATTRIBUTES lpSecurityAttributes)
{
    WI_UTF8_ARG(name, lpName);
    if (WI_UTF8_FAILED(name, lpName))
        return wi_fail_invalid(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = create_mailslot(name, nMaxMessageSize, lReadTimeout, lpSecurityAttributes);
    WI_UTF8_FREE(name);
    return h;
}

/* The -fshort-wchar entry point (winbase.h maps CreateMailslotW onto it). */
WINBASEAPI HANDLE WINAPI CreateMailslotW16(const uint16_t *lpName, DWORD nMaxMessageSize, DWORD lReadTimeout,
                                           LPSECURITY_ATTRIBUTES lpSecurityAttributes)
{
    wchar_t *wide = lpName ? wi_wide_from_utf16(lpName) : NULL;
    if (lpName && !wide)
        return wi_fail_invalid(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = CreateMailslotW(wide, nMaxMessageSize, lReadTimeout, lpSecurityAttributes);
    free(wide);
    return h;
}

WINBASEAPI BOOL WINAPI GetMailslotInfo(HANDLE hMailslot, LPDWORD lpMaxMessageSize, LPDWORD lpNextSize,
                                       LPDWORD lpMessageCount, LPDWORD lpReadTimeout)
{
    return wi_result_bool(mailslot_info(hMailslot, lpMaxMessageSize, lpNextSize, lpMessageCount, lpReadTimeout));
}

WINBASEAPI BOOL WINAPI SetMailslotInfo(HANDLE hMailslot, DWORD lReadTimeout)
{
    return wi_result_bool(set_mailslot_info(hMailslot, lReadTimeout));
}
