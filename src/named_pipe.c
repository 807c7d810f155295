/* SPDX-License-Identifier: MIT */
/* Named pipes: CreateNamedPipe, ConnectNamedPipe, DisconnectNamedPipe,
 * WaitNamedPipe, the client end that CreateFile opens (wi_pipe_client_open),
 * ReadFile/WriteFile/FlushFileBuffers on both ends through the ops table
 * (and io_try for the overlapped engine), and the calls that query or steer
 * a pipe handle: SetNamedPipeHandleState, GetNamedPipeHandleState,
 * GetNamedPipeInfo, PeekNamedPipe, TransactNamedPipe, CallNamedPipe, the
 * client/server process and session ids, ImpersonateNamedPipeClient.
 *
 * Transport. One connected AF_UNIX SOCK_STREAM socket pair per connection.
 * A byte-type pipe carries the bytes as they are: a ReadFile is one recv(),
 * a WriteFile one send(MSG_NOSIGNAL), so a round trip costs what a raw
 * AF_UNIX ping-pong costs. A message-type pipe carries each message as a
 * 12-byte chunk header and the payload, written with one sendmsg; readers
 * keep their place in the stream per end (pipe_stream.c has the framing,
 * the one-syscall reads and the resumable non-blocking writes).
 *
 * Modes. The pipe's type is the first live instance's and never changes;
 * the read mode (PIPE_READMODE_*) and wait mode (PIPE_WAIT/NOWAIT) belong
 * to each end (a handle and its duplicates), set at CreateNamedPipe (client
 * ends start in byte read mode, waiting) and changed by
 * SetNamedPipeHandleState at any time. One reader and one writer per end at
 * a time (rd_lock, wr_lock): a message is never split between two threads'
 * reads nor interleaved with another thread's write.
 *
 * Names. A pipe is one object file in the pipe namespace (WI_NS_PIPE,
 * case-insensitive, backslashes allowed inside the name), holding struct
 * pipe_shared. Every server instance and every client end is a wi_object
 * opened through the namespace, so each holds the namespace's shared flock
 * on its own open file description (OFD) of that file. The pipe *exists*
 * while at least one server instance is alive: a file kept by client ends
 * or WaitNamedPipe callers only, with no live instance, is a dead pipe
 * (CreateFile and WaitNamedPipe say ERROR_FILE_NOT_FOUND) that the next
 * CreateNamedPipe takes over as a new first instance. The file itself is
 * only rewritten from scratch when nobody holds it (namespace.c), so a
 * lingering client's mapping never sees it truncated.
 *
 * Instances. The instance table has 255 slots. A slot is owned by the server
 * instance whose OFD holds a read lock (F_OFD_SETLK, F_RDLCK) on byte
 * LOCK_SLOT(i) of the object file; the kernel drops it when the owner's
 * last descriptor goes, SIGKILL included, so "slot locked" is exactly
 * "instance alive" (F_OFD_GETLK from another OFD tells). Read locks let an
 * inherited copy of the instance hold the slot too. Slots are claimed only
 * under the creation lock (F_OFD_SETLKW, F_WRLCK on byte LOCK_CREATE), which
 * makes the instance count and nMaxInstances exact across processes; dead
 * slots found on the way are reaped (socket file unlinked, state FREE).
 *
 * Slot state word: generation << 2 | FREE/LISTENING/CONNECTED/DISCONNECTED.
 * Only the owner writes it, except that a client that connected moves
 * LISTENING→CONNECTED of the same generation by compare-and-swap (so
 * WaitNamedPipe stops counting the instance at once). The generation grows
 * each time the instance starts listening and is never reused within the
 * file's life; it names the listening socket file, so a connection always
 * knows exactly which listening cycle it belongs to.
 *
 * Connecting. A listening instance has a socket bound to
 * "<pipe dir>/.<inode>.<slot>.<generation>" (the leading dot keeps it out of
 * the namespace's way) with listen(fd, 0): a backlog of 0 lets exactly one
 * connection queue, so a second client's non-blocking connect() fails with
 * EAGAIN: that instance is busy. A client tries the LISTENING slots, the one
 * that has listened longest first (Windows' order, kept with a per-pipe
 * counter stamped on each slot when it starts listening); success
 * means it is connected, exactly as a Windows client is once
 * CreateFile returns (it may write before the server calls
 * ConnectNamedPipe). The server takes the connection with accept(), but
 * first shut()s the listening socket down: from then on connects are
 * refused, so no second client can ever slip into the queue behind the
 * first (shutdown does not drop the queued one; accept still returns it).
 * ConnectNamedPipe polls the listening socket; a connection already queued
 * when it is called gives ERROR_PIPE_CONNECTED (or ERROR_NO_DATA when that
 * client already closed its end). ReadFile/WriteFile on a listening
 * instance accept a queued client implicitly (on Windows the instance is
 * connected from the moment the client opened it), otherwise they fail with
 * ERROR_PIPE_LISTENING.
 *
 * Disconnecting. Windows' states are kept: after DisconnectNamedPipe the
 * instance is DISCONNECTED (clients get ERROR_PIPE_BUSY) until the next
 * ConnectNamedPipe makes it listen again under a new generation, bumps the
 * pipe's listen word and wakes WaitNamedPipe sleepers (so does a new
 * instance). A client must tell "server disconnected" (ERROR_PIPE_NOT_CONNECTED,
 * unread data discarded) from "server closed its handle"
 * (ERROR_BROKEN_PIPE after the data): before closing the connection,
 * DisconnectNamedPipe writes the connection's generation into the slot's
 * small ring `disconnected[gen % RING]`. A client checks that entry (one
 * load of shared memory, no syscall) before each read, and on end of
 * stream or EPIPE. A client that leaves its handle untouched while the same
 * instance serves RING more clients may see ERROR_BROKEN_PIPE instead
 * (documented). A dead or closing server writes nothing: BROKEN_PIPE.
 *
 * WaitNamedPipe sleeps on the pipe's listen word. It keeps its own flock on
 * the pipe file, so a pipe re-created under the name while it waits is the
 * same file and its new instances wake it: the wait is by name, as in the
 * NT pipe file system.
 *
 * FlushFileBuffers waits until the peer has read everything we wrote
 * (SIOCOUTQ reaches 0), as Windows' does: the reader bumps the slot's
 * `drained` word of that direction after each read when a flusher is
 * registered, and the flusher re-checks at most every FLUSH_SLICE_MS for a
 * peer that died without reading.
 *
 * Local locking (server instances): `lock` guards state, generation and the
 * fds. Blocking calls (recv, send, poll, the flush wait) run without it,
 * holding `users`; an fd that must be closed while users > 0 is shut down
 * (which wakes those threads) and retired, and the last user closes it, so
 * a descriptor number is never reused under a thread still using it. The
 * client end never changes its fd, so it needs no lock.
 *
 * Dying at each step: a server killed at any point drops its slot lock and
 * its sockets (its clients read to the end of the data, then
 * ERROR_BROKEN_PIPE; writes fail with ERROR_NO_DATA); its slot still says
 * LISTENING or CONNECTED but GETLK shows it dead: clients skip it (connect
 * is refused) and the next creator reaps it. A creator killed while
 * holding the creation lock releases it with its OFD. A client killed
 * between connect and its compare-and-swap leaves a queued connection the
 * server accepts normally (ConnectNamedPipe: ERROR_NO_DATA or TRUE). */
#include "named_pipe.h"

#include "async.h"
#include "device_name.h"
#include "error.h"
#include "futex.h"
#include "handle.h"
#include "namespace.h"
#include "object.h"
#include "pipe_stream.h"
#include "security.h"
#include "tls.h"
#include "unicode.h"
#include "wait.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* --- shared state ------------------------------------------------------------ */

#define PIPE_LAYOUT_MAGIC 0x45504950u /* "PIPE" */
#define PIPE_LAYOUT_VERSION 3u
#define MAX_SLOTS 255 /* PIPE_UNLIMITED_INSTANCES: the most instances Windows allows */
#define RING 8

enum slot_state { SLOT_FREE = 0, SLOT_LISTENING = 1, SLOT_CONNECTED = 2, SLOT_DISCONNECTED = 3 };
#define STATE(gen, st) (((uint32_t)(gen) << 2) | (uint32_t)(st))
#define STATE_GEN(v) ((v) >> 2)
#define STATE_ST(v) ((v) & 3u)
#define GEN_MAX 0x3FFFFFFFu

/* Data directions, index of pipe_slot.drained. */
enum { TO_CLIENT = 0, TO_SERVER = 1 };

/* One instance. `state` is written by the owner (and LISTENING→CONNECTED by
 * the client that connected, same generation, compare-and-swap);
 * `server_pid`, `out_size`, `in_size` (the instance's CreateNamedPipe
 * values, which GetNamedPipeInfo reports) and `listen_order` (when it
 * started listening: clients take the instance that has listened longest,
 * as Windows does) by the owner; `client_level` (the impersonation level
 * the client's CreateFile allows, 0 anonymous .. 3 delegation) by the
 * connected client, before it can send anything; `disconnected` by the
 * owner's DisconnectNamedPipe; `drained[d]` words by the reader of
 * direction d, their `waiters` by flushers. All atomic: no lock guards
 * them. */
struct pipe_slot {
    _Atomic uint32_t state;
    _Atomic uint32_t server_pid;
    _Atomic uint32_t listen_order;
    _Atomic uint32_t out_size;
    _Atomic uint32_t in_size;
    _Atomic uint32_t client_level;
    struct wi_waitable drained[2];
    _Atomic uint32_t disconnected[RING];
};

/* Layout of the pipe's object file (magic, version: struct wi_shared_header
 * plus our own layout pair, checked at every open).
 *   open_mode .. world   the pipe's parameters: written under the creation
 *                        lock by whoever creates the first live instance,
 *                        read by everyone.
 *   listen               word bumped when an instance starts listening or
 *                        goes away; waiters = WaitNamedPipe sleepers. */
struct pipe_shared {
    struct wi_shared_header hdr;
    uint32_t layout_magic;
    uint32_t layout_version;
    _Atomic uint32_t open_mode; /* PIPE_ACCESS_INBOUND/OUTBOUND/DUPLEX */
    _Atomic uint32_t pipe_mode; /* PIPE_TYPE_BYTE or PIPE_TYPE_MESSAGE */
    _Atomic uint32_t max_instances;
    _Atomic uint32_t out_size;
    _Atomic uint32_t in_size;
    _Atomic uint32_t default_timeout;
    _Atomic uint32_t world; /* NULL DACL: sockets 0666 instead of 0600 */
    _Atomic uint32_t listen_counter; /* source of pipe_slot.listen_order */
    struct wi_waitable listen;
    struct pipe_slot slots[MAX_SLOTS];
};

/* Lock bytes, beyond the end of the file (fcntl locks need no data there). */
#define LOCK_CREATE ((off_t)1 << 30)
#define LOCK_SLOT(i) (LOCK_CREATE + 1 + (off_t)(i))

/* How long a sleeping FlushFileBuffers goes without looking for a peer that
 * died without waking it. */
#define FLUSH_SLICE_MS 10

/* WaitNamedPipe with NMPWAIT_USE_DEFAULT_WAIT on a pipe created with a
 * default time-out of 0: Windows uses 50 ms. */
#define DEFAULT_WAIT_MS 50

/* --- local state --------------------------------------------------------------- */

enum end_state { END_LISTENING, END_CONNECTED, END_DISCONNECTED };

struct pipe_end {
    struct wi_object obj; /* must be first */
    bool server;
    bool can_read, can_write; /* server: the pipe's direction; client: its access */
    bool msgtype;             /* a PIPE_TYPE_MESSAGE pipe (fixed at open) */
    unsigned slot;
    uint64_t ino; /* of the object file: names the socket files */
    /* PIPE_READMODE_MESSAGE | PIPE_NOWAIT of this end: read by every
     * transfer, written by SetNamedPipeHandleState at any time. */
    _Atomic uint32_t mode;
    /* Fixed at open: the instance's buffer sizes; client ends also the
     * process that opened them and the instance's server process. */
    DWORD out_size, in_size;
    DWORD client_pid, server_pid;
    DWORD client_level; /* client ends: the SECURITY_* level asked at open */

    /* Client ends: set at open, never changed (no lock). Server instances:
     * guarded by `lock`. */
    pthread_mutex_t lock;
    enum end_state state;
    uint32_t gen;
    int listen_fd; /* server: the instance's listening socket; listening in
                      state LISTENING, shut down otherwise (kept so that the
                      instance always has a socket to show, e.g. to
                      GetFileType, until the next cycle replaces it) */
    int conn_fd;
    unsigned users; /* threads using listen_fd/conn_fd outside the lock */
    int *retired;   /* fds to close when users drops to 0 */
    unsigned nretired, retired_cap;

    /* Transfers. rd_lock: one reader at a time (ReadFile, PeekNamedPipe,
     * TransactNamedPipe); it guards rx and rx_gen. wr_lock: one writer at a
     * time; it guards tx and tx_gen. Order: rd_lock, then wr_lock, then
     * lock. rx_gen/tx_gen (server ends): the connection (generation) rx/tx
     * belong to; a new connection starts them afresh. */
    pthread_mutex_t rd_lock, wr_lock;
    struct wi_pipe_rx rx;
    struct wi_pipe_tx tx;
    uint32_t rx_gen, tx_gen;
    /* Server ends: the connection data has been read from (Windows lets a
     * server impersonate its client only then). */
    _Atomic uint32_t read_gen;
};

static struct pipe_end *end_of(struct wi_object *obj)
{
    return (struct pipe_end *)obj;
}

static struct pipe_shared *shared_of(struct pipe_end *e)
{
    return WI_SHARED(&e->obj, struct pipe_shared);
}

static struct pipe_slot *slot_of(struct pipe_end *e)
{
    return &shared_of(e)->slots[e->slot];
}

static uint32_t next_gen(uint32_t gen)
{
    return gen >= GEN_MAX ? 1 : gen + 1; /* 0 is never a connection's generation */
}

/* --- names ---------------------------------------------------------------------- */

/* UTF-16 code units of a UTF-8 string, as Windows counts a name's length. */
static size_t utf16_units(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) != 0x80)
            n++;
        if ((*p & 0xF8) == 0xF0)
            n++; /* beyond the BMP: a surrogate pair */
    }
    return n;
}


/* --- the socket directory ---------------------------------------------------- */

static struct {
    pthread_once_t once;
    DWORD err;
    int dirfd;
    char path[4096];
} sockdir = {.once = PTHREAD_ONCE_INIT, .dirfd = -1};

static void sockdir_open(void)
{
    sockdir.err = wi_namespace_dir(WI_NS_PIPE, sockdir.path, sizeof sockdir.path);
    if (sockdir.err)
        return;
    sockdir.dirfd = open(sockdir.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (sockdir.dirfd < 0)
        sockdir.err = wi_error_from_errno(errno);
}

static DWORD sockdir_get(void)
{
    pthread_once(&sockdir.once, sockdir_open);
    return sockdir.err;
}

static void sock_name(const struct pipe_end *e, unsigned slot, uint32_t gen, char *buf, size_t size)
{
    snprintf(buf, size, ".%llx.%u.%x", (unsigned long long)e->ino, slot, gen);
}

/* The address of a listening socket. A long WINIPC_ROOT would not fit in
 * sun_path (108 bytes): then the directory is reached through our O_PATH
 * descriptor of it. */
static DWORD sock_addr(const struct pipe_end *e, unsigned slot, uint32_t gen, struct sockaddr_un *sa, socklen_t *len)
{
    char name[64];
    DWORD err = sockdir_get();
    if (err)
        return err;
    sock_name(e, slot, gen, name, sizeof name);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    size_t cap = sizeof sa->sun_path;
    int n = snprintf(sa->sun_path, cap, "%s/%s", sockdir.path, name);
    if (n < 0 || (size_t)n >= cap)
        n = snprintf(sa->sun_path, cap, "/proc/self/fd/%d/%s", sockdir.dirfd, name);
    if (n < 0 || (size_t)n >= cap)
        return ERROR_FILENAME_EXCED_RANGE;
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
    return ERROR_SUCCESS;
}

static void sock_unlink(const struct pipe_end *e, unsigned slot, uint32_t gen)
{
    char name[64];
    if (sockdir_get())
        return;
    sock_name(e, slot, gen, name, sizeof name);
    unlinkat(sockdir.dirfd, name, 0);
}

/* --- the transport: socket calls ----------------------------------------------- */

/* A new listening socket for (slot, gen). Permissions are set before
 * listen(): until then a connect is refused, so no other user can slip in
 * through a default-mode socket file. */
static DWORD listen_open(const struct pipe_end *e, unsigned slot, uint32_t gen, bool world, int *out)
{
    struct sockaddr_un sa;
    socklen_t len;
    char name[64];
    DWORD err = sock_addr(e, slot, gen, &sa, &len);
    if (err)
        return err;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return wi_error_from_errno(errno);
    /* We own the slot, so a file at this name is left over from a pipe that
     * died (the inode number was reused). */
    sock_name(e, slot, gen, name, sizeof name);
    unlinkat(sockdir.dirfd, name, 0);
    if (bind(fd, (struct sockaddr *)&sa, len) != 0 ||
        fchmodat(sockdir.dirfd, name, world ? 0666 : 0600, 0) != 0 || listen(fd, 0) != 0) {
        err = wi_error_from_errno(errno);
        close(fd);
        unlinkat(sockdir.dirfd, name, 0);
        return err;
    }
    *out = fd;
    return ERROR_SUCCESS;
}

static bool fd_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, 0)) < 0 && errno == EINTR)
        ;
    return r > 0;
}

/* Has the peer closed its end (or shut it down)? */
static bool peer_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    int r;
    while ((r = poll(&p, 1, 0)) < 0 && errno == EINTR)
        ;
    return r > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Block until `fd` is readable (a connection queued on a listening socket,
 * or the socket shut down by DisconnectNamedPipe in another thread). */
static DWORD wait_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, -1) < 0) {
        if (errno != EINTR)
            return wi_error_from_errno(errno);
    }
    return ERROR_SUCCESS;
}

/* Bytes we sent that the peer has not read yet (0 once all are consumed). */
static DWORD sock_unread(int fd, int *out)
{
    if (ioctl(fd, SIOCOUTQ, out) != 0)
        return wi_error_from_errno(errno);
    return ERROR_SUCCESS;
}

/* --- slot locks --------------------------------------------------------------- */

static DWORD range_lock(int fd, short type, off_t at, bool wait)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = at, .l_len = 1};
    while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) != 0) {
        if (errno != EINTR)
            return wi_error_from_errno(errno);
    }
    return ERROR_SUCCESS;
}

/* Does another open file description hold slot i? (Our own locks through
 * `fd` are invisible to F_OFD_GETLK, which is what the callers want.) */
static bool slot_alive(int fd, unsigned i)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = LOCK_SLOT(i), .l_len = 1};
    if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
        return true; /* cannot tell: never reap what may be alive */
    return fl.l_type != F_UNLCK;
}

/* Count the live instances, reaping dead ones (creation lock held). A slot
 * marked FREE whose owner has not dropped its lock yet is closing: neither
 * live nor claimable. */
static unsigned count_live(struct pipe_end *e, bool reap)
{
    struct pipe_shared *s = shared_of(e);
    unsigned live = 0;
    for (unsigned i = 0; i < MAX_SLOTS; i++) {
        uint32_t v = atomic_load(&s->slots[i].state);
        if (STATE_ST(v) == SLOT_FREE)
            continue;
        if (slot_alive(e->obj.shared_fd, i)) {
            live++;
        } else if (reap) {
            /* Its owner died: the socket file of its last cycle is ours to
             * remove (a new owner will use a newer generation). */
            sock_unlink(e, i, STATE_GEN(v));
            atomic_store(&s->slots[i].state, STATE(STATE_GEN(v), SLOT_FREE));
        }
    }
    return live;
}

DWORD wi_pipe_status(int fd, struct wi_pipe_status *out)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return wi_error_from_errno(errno);
    if ((uint64_t)st.st_size < sizeof(struct pipe_shared))
        return ERROR_INVALID_HANDLE;
    const struct pipe_shared *s = mmap(NULL, sizeof *s, PROT_READ, MAP_SHARED, fd, 0);
    if (s == MAP_FAILED)
        return wi_error_from_errno(errno);
    DWORD err = ERROR_SUCCESS;
    memset(out, 0, sizeof *out);
    if (s->hdr.type != WI_TYPE_PIPE || s->hdr.version != WI_SHARED_VERSION || s->layout_magic != PIPE_LAYOUT_MAGIC ||
        s->layout_version != PIPE_LAYOUT_VERSION) {
        err = ERROR_INVALID_HANDLE;
    } else {
        out->pipe_type = atomic_load(&s->pipe_mode) & PIPE_TYPE_MESSAGE;
        out->max_instances = atomic_load(&s->max_instances);
        /* As count_live: a slot is an instance while its owner's lock
         * lives (our descriptor holds none, so every lock is another's). */
        for (unsigned i = 0; i < MAX_SLOTS; i++) {
            if (STATE_ST(atomic_load(&s->slots[i].state)) == SLOT_FREE || !slot_alive(fd, i))
                continue;
            DWORD pid = atomic_load(&s->slots[i].server_pid), k = 0;
            out->instances++;
            while (k < out->npids && out->pids[k] != pid)
                k++;
            if (k == out->npids)
                out->pids[out->npids++] = pid;
        }
    }
    munmap((void *)s, sizeof *s);
    return err;
}

static void listen_bump(struct pipe_shared *s)
{
    atomic_fetch_add(&s->listen.word, 1);
    wi_waitable_wake(&s->listen);
}

/* A reader consumed data: wake a FlushFileBuffers waiting on this direction. */
static void drained_bump(struct pipe_slot *slot, int dir)
{
    struct wi_waitable *w = &slot->drained[dir];
    if (atomic_load(&w->waiters)) {
        atomic_fetch_add(&w->word, 1);
        wi_waitable_wake(w);
    }
}

/* --- server instances: fd lifetime ------------------------------------------- */

/* Close `fd`, or keep it for the last user (lock held). The caller has
 * already shut it down if threads may be blocked on it. */
static void retire_fd(struct pipe_end *e, int fd)
{
    if (fd < 0)
        return;
    if (e->users == 0) {
        close(fd);
        return;
    }
    if (e->nretired == e->retired_cap) {
        unsigned cap = e->retired_cap ? e->retired_cap * 2 : 4;
        int *r = realloc(e->retired, cap * sizeof *r);
        if (!r) {
            /* Leaking one descriptor beats closing it under a user. */
            return;
        }
        e->retired = r;
        e->retired_cap = cap;
    }
    e->retired[e->nretired++] = fd;
}

static void user_done(struct pipe_end *e)
{
    if (--e->users == 0) {
        for (unsigned i = 0; i < e->nretired; i++)
            close(e->retired[i]);
        e->nretired = 0;
    }
}

/* Start a listening cycle under a new generation (lock held). */
static DWORD server_listen(struct pipe_end *e)
{
    struct pipe_shared *s = shared_of(e);
    struct pipe_slot *slot = slot_of(e);
    uint32_t gen = next_gen(e->gen);
    int fd = -1;
    DWORD err = listen_open(e, e->slot, gen, atomic_load(&s->world) != 0, &fd);
    if (err)
        return err;
    retire_fd(e, e->listen_fd); /* the previous cycle's, shut down already */
    e->gen = gen;
    e->listen_fd = fd;
    e->state = END_LISTENING;
    atomic_store(&slot->listen_order, atomic_fetch_add(&s->listen_counter, 1));
    atomic_store(&slot->state, STATE(gen, SLOT_LISTENING));
    listen_bump(s);
    return ERROR_SUCCESS;
}

/* End the listening cycle: no connection can queue any more, and a thread
 * blocked in ConnectNamedPipe wakes up (lock held). */
static void server_stop_listening(struct pipe_end *e)
{
    shutdown(e->listen_fd, SHUT_RDWR);
    sock_unlink(e, e->slot, e->gen);
}

/* Take the queued connection (lock held, state LISTENING, listen_fd
 * readable). Shutting the listening socket down first makes this the only
 * connection the cycle will ever have. */
static DWORD server_accept(struct pipe_end *e)
{
    shutdown(e->listen_fd, SHUT_RDWR);
    int fd;
    while ((fd = accept4(e->listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0 && errno == EINTR)
        ;
    DWORD err = fd < 0 ? wi_error_from_errno(errno) : ERROR_SUCCESS;
    server_stop_listening(e);
    if (err) {
        /* Cannot happen short of resource exhaustion; the instance is left
         * disconnected, as after DisconnectNamedPipe. */
        e->state = END_DISCONNECTED;
        atomic_store(&slot_of(e)->state, STATE(e->gen, SLOT_DISCONNECTED));
        return err;
    }
    e->conn_fd = fd;
    e->state = END_CONNECTED;
    atomic_store(&slot_of(e)->state, STATE(e->gen, SLOT_CONNECTED));
    return ERROR_SUCCESS;
}

/* Get the connection for a transfer (lock held); on success the caller is
 * a user of conn_fd. */
static DWORD server_io_begin(struct pipe_end *e, int *fd, uint32_t *gen)
{
    if (e->state == END_LISTENING) {
        /* A client that opened the pipe is connected on Windows, whether or
         * not ConnectNamedPipe ran: take it now. */
        if (!fd_readable(e->listen_fd))
            return ERROR_PIPE_LISTENING;
        DWORD err = server_accept(e);
        if (err)
            return err;
    }
    if (e->state != END_CONNECTED)
        return ERROR_PIPE_NOT_CONNECTED;
    e->users++;
    *fd = e->conn_fd;
    *gen = e->gen;
    return ERROR_SUCCESS;
}

/* Did DisconnectNamedPipe (in another thread) end the connection a transfer
 * was using? (lock held) */
static bool server_lost(struct pipe_end *e, uint32_t gen)
{
    return e->state != END_CONNECTED || e->gen != gen;
}

/* --- transfers ------------------------------------------------------------------- */

static bool client_disconnected(struct pipe_end *e)
{
    return atomic_load(&slot_of(e)->disconnected[e->gen % RING]) == e->gen;
}

/* How pipe_stream reads and writes this end. */
static unsigned stream_how(struct pipe_end *e, uint32_t mode)
{
    if (!e->msgtype)
        return 0;
    return WI_PS_MSGTYPE | ((mode & PIPE_READMODE_MESSAGE) ? WI_PS_MSGREAD : 0);
}

/* Get the connection for a transfer: *fd and its generation. A server end
 * is then a user of *fd until conn_done. */
static DWORD conn_begin(struct pipe_end *e, int *fd, uint32_t *gen)
{
    if (!e->server) {
        /* DisconnectNamedPipe discards what the server wrote but we did not
         * read yet, and ends our writes. */
        if (client_disconnected(e))
            return ERROR_PIPE_NOT_CONNECTED;
        *fd = e->conn_fd;
        *gen = e->gen;
        return ERROR_SUCCESS;
    }
    pthread_mutex_lock(&e->lock);
    DWORD err = server_io_begin(e, fd, gen);
    pthread_mutex_unlock(&e->lock);
    return err;
}

/* End a transfer. `gone`: the stream ended under it, which is `gone_err`
 * (ERROR_BROKEN_PIPE for reads, ERROR_NO_DATA for writes) unless a
 * DisconnectNamedPipe ended it (ERROR_PIPE_NOT_CONNECTED). */
static DWORD conn_done(struct pipe_end *e, uint32_t gen, DWORD err, bool gone, DWORD gone_err)
{
    if (!e->server) {
        if (gone)
            err = client_disconnected(e) ? ERROR_PIPE_NOT_CONNECTED : gone_err;
        return err;
    }
    pthread_mutex_lock(&e->lock);
    if (gone)
        err = server_lost(e, gen) ? ERROR_PIPE_NOT_CONNECTED : gone_err;
    user_done(e);
    pthread_mutex_unlock(&e->lock);
    return err;
}

/* The read position of the connection `gen` (rd_lock held). */
static struct wi_pipe_rx *rx_of(struct pipe_end *e, uint32_t gen)
{
    if (e->server && e->rx_gen != gen) {
        memset(&e->rx, 0, sizeof e->rx);
        e->rx_gen = gen;
    }
    return &e->rx;
}

static struct wi_pipe_tx *tx_of(struct pipe_end *e, uint32_t gen)
{
    if (e->server && e->tx_gen != gen) {
        memset(&e->tx, 0, sizeof e->tx);
        e->tx_gen = gen;
    }
    return &e->tx;
}

/* One read (rd_lock held): blocking, or one attempt with `nonblock`
 * (ERROR_IO_PENDING, *fd_used is what to wait on). *done is in/out. */
static DWORD end_read(struct pipe_end *e, void *buf, DWORD len, DWORD *done, bool nonblock, int *fd_used)
{
    int fd;
    uint32_t gen;
    bool gone = false;
    DWORD err = conn_begin(e, &fd, &gen);
    if (err)
        return err;
    unsigned how = stream_how(e, atomic_load(&e->mode)) | (nonblock ? WI_PS_NONBLOCK : 0);
    err = wi_ps_read(fd, rx_of(e, gen), how, buf, len, done, &gone);
    if (e->server && !gone && (!err || err == ERROR_MORE_DATA))
        atomic_store(&e->read_gen, gen);
    if (fd_used)
        *fd_used = fd;
    err = conn_done(e, gen, err, gone, ERROR_BROKEN_PIPE);
    if (!err || err == ERROR_MORE_DATA)
        drained_bump(slot_of(e), e->server ? TO_SERVER : TO_CLIENT);
    return err;
}

static DWORD pipe_read(struct wi_object *obj, void *buf, DWORD len, DWORD *done)
{
    struct pipe_end *e = end_of(obj);
    *done = 0;
    if (!e->can_read)
        return ERROR_ACCESS_DENIED;
    bool nowait = atomic_load(&e->mode) & PIPE_NOWAIT;
    pthread_mutex_lock(&e->rd_lock);
    DWORD err = end_read(e, buf, len, done, nowait, NULL);
    pthread_mutex_unlock(&e->rd_lock);
    /* PIPE_NOWAIT: nothing to read is ERROR_NO_DATA; part of a message
     * still on its way is delivered as a partial read, the rest follows. */
    if (err == ERROR_IO_PENDING)
        err = *done ? ERROR_MORE_DATA : ERROR_NO_DATA;
    return err;
}

/* How end_write goes about it. */
enum write_how {
    WRITE_BLOCK,  /* all of it, waiting for room (WriteFile) */
    WRITE_NOWAIT, /* all of it if it fits now, else nothing (PIPE_NOWAIT) */
    WRITE_TRY,    /* one resumable attempt of request `owner` (io_try) */
    WRITE_QUEUED, /* the same, but waiting while another request's message
                     is open instead of cutting it short (TransactNamedPipe,
                     whose write does not go through the engine's write
                     queue) */
};

/* One write (wr_lock held). *done is in/out for the resumable kinds;
 * *fd_used is what to wait on after ERROR_IO_PENDING. */
static DWORD end_write(struct pipe_end *e, const void *buf, DWORD len, DWORD *done, enum write_how kind,
                       uint64_t owner, int *fd_used)
{
    int fd;
    uint32_t gen;
    bool gone = false;
    DWORD err = conn_begin(e, &fd, &gen);
    if (err)
        return err;
    unsigned how = stream_how(e, atomic_load(&e->mode));
    struct wi_pipe_tx *tx = tx_of(e, gen);
    if (fd_used)
        *fd_used = fd;
    switch (kind) {
    case WRITE_BLOCK:
        err = wi_ps_write(fd, tx, how, buf, len, done, &gone);
        break;
    case WRITE_NOWAIT:
        err = wi_ps_write_nowait(fd, tx, how, buf, len, done, &gone);
        break;
    case WRITE_QUEUED:
        if (tx->owner && tx->owner != owner) {
            err = ERROR_IO_PENDING;
            break;
        }
        /* fall through */
    case WRITE_TRY:
        err = wi_ps_write_try(fd, tx, how, owner, buf, len, done, &gone);
        break;
    }
    return conn_done(e, gen, err, gone, ERROR_NO_DATA);
}

/* WriteFile. A synchronous write finding a message of a pending overlapped
 * write half sent (only possible when a program mixes both kinds of writes
 * on one end, which Windows does not support either) closes that message
 * first: its reader sees it end early. */
static DWORD pipe_write(struct wi_object *obj, const void *buf, DWORD len, DWORD *done)
{
    struct pipe_end *e = end_of(obj);
    *done = 0;
    if (!e->can_write)
        return ERROR_ACCESS_DENIED;
    enum write_how kind = (atomic_load(&e->mode) & PIPE_NOWAIT) ? WRITE_NOWAIT : WRITE_BLOCK;
    pthread_mutex_lock(&e->wr_lock);
    DWORD err = end_write(e, buf, len, done, kind, 0, NULL);
    pthread_mutex_unlock(&e->wr_lock);
    return err;
}

/* TransactNamedPipe, blocking: one message out, one message back. Windows
 * refuses it (ERROR_BAD_PIPE) unless the pipe is message-type and this end
 * reads messages, and (ERROR_PIPE_BUSY) while anything waits to be read. */
static DWORD end_transact(struct pipe_end *e, const void *in, DWORD nin, void *out, DWORD nout, DWORD *done)
{
    uint32_t mode = atomic_load(&e->mode);
    *done = 0;
    if (!e->can_read || !e->can_write)
        return ERROR_ACCESS_DENIED;
    if (!e->msgtype || !(mode & PIPE_READMODE_MESSAGE))
        return ERROR_BAD_PIPE;
    int fd;
    uint32_t gen;
    bool gone = false;
    DWORD gone_err = ERROR_NO_DATA, sent = 0;
    pthread_mutex_lock(&e->rd_lock);
    DWORD err = conn_begin(e, &fd, &gen);
    if (!err) {
        struct wi_pipe_rx *rx = rx_of(e, gen);
        unsigned how = stream_how(e, mode);
        if (wi_ps_unread(fd, rx)) {
            err = ERROR_PIPE_BUSY;
        } else {
            pthread_mutex_lock(&e->wr_lock);
            err = wi_ps_write(fd, tx_of(e, gen), how, in, nin, &sent, &gone);
            pthread_mutex_unlock(&e->wr_lock);
        }
        if (!err && !gone) {
            gone_err = ERROR_BROKEN_PIPE;
            err = wi_ps_read(fd, rx, how, out, nout, done, &gone);
            if (e->server && !gone && (!err || err == ERROR_MORE_DATA))
                atomic_store(&e->read_gen, gen);
        }
        err = conn_done(e, gen, err, gone, gone_err);
    }
    pthread_mutex_unlock(&e->rd_lock);
    if (!err || err == ERROR_MORE_DATA)
        drained_bump(slot_of(e), e->server ? TO_SERVER : TO_CLIENT);
    return err;
}

/* Wait until the peer has read all we wrote on `fd`. Nothing unread is
 * success even when the peer has gone since (it read everything first, or
 * its death discarded the rest, as Windows discards a closed end's queue);
 * data left with a peer that is gone is `gone_err`. */
static DWORD drain(int fd, struct wi_waitable *w, DWORD gone_err)
{
    for (;;) {
        atomic_fetch_add(&w->waiters, 1);
        uint32_t v = atomic_load(&w->word);
        /* Look at the peer before the queue: a peer that reads the rest and
         * closes in between must not look like one that left data. */
        bool gone = peer_gone(fd);
        int unread = 0;
        DWORD err = sock_unread(fd, &unread);
        if (!err && unread > 0 && gone)
            err = gone_err;
        if (!err && unread > 0) {
            struct timespec ts;
            wi_futex_wait(&w->word, v, wi_deadline(FLUSH_SLICE_MS, &ts));
        }
        atomic_fetch_sub(&w->waiters, 1);
        if (err || unread <= 0)
            return err;
    }
}

static DWORD pipe_flush(struct wi_object *obj)
{
    struct pipe_end *e = end_of(obj);
    if (!e->can_write)
        return ERROR_ACCESS_DENIED;
    if (!e->server) {
        if (client_disconnected(e))
            return ERROR_PIPE_NOT_CONNECTED;
        DWORD err = drain(e->conn_fd, &slot_of(e)->drained[TO_SERVER], ERROR_BROKEN_PIPE);
        if (err == ERROR_BROKEN_PIPE && client_disconnected(e))
            err = ERROR_PIPE_NOT_CONNECTED;
        return err;
    }
    int fd;
    uint32_t gen;
    pthread_mutex_lock(&e->lock);
    if (e->state != END_CONNECTED) {
        /* Listening or disconnected: nothing of ours is waiting to be
         * read, and Windows flushes successfully. */
        pthread_mutex_unlock(&e->lock);
        return ERROR_SUCCESS;
    }
    DWORD err = server_io_begin(e, &fd, &gen);
    pthread_mutex_unlock(&e->lock);
    if (err)
        return err;
    err = drain(fd, &slot_of(e)->drained[TO_CLIENT], ERROR_BROKEN_PIPE);
    pthread_mutex_lock(&e->lock);
    if (err == ERROR_BROKEN_PIPE && server_lost(e, gen))
        err = ERROR_PIPE_NOT_CONNECTED;
    user_done(e);
    pthread_mutex_unlock(&e->lock);
    return err;
}

/* The connected socket (a server instance without a connection: its
 * listening socket, listening or shut down, so that GetFileType sees a pipe
 * in every state). */
static int pipe_std_fd(struct wi_object *obj)
{
    struct pipe_end *e = end_of(obj);
    if (!e->server)
        return e->conn_fd;
    pthread_mutex_lock(&e->lock);
    int fd = e->conn_fd >= 0 ? e->conn_fd : e->listen_fd;
    pthread_mutex_unlock(&e->lock);
    return fd;
}

static void server_close(struct pipe_end *e)
{
    struct pipe_shared *s = shared_of(e);
    struct pipe_slot *slot = slot_of(e);
    /* An inherited copy of this instance in another process keeps the slot
     * (and the sockets, which it shares): leave both to the last holder. */
    bool shared = slot_alive(e->obj.shared_fd, e->slot);
    if (!shared && e->state == END_LISTENING)
        sock_unlink(e, e->slot, e->gen);
    if (e->listen_fd >= 0)
        close(e->listen_fd);
    if (e->conn_fd >= 0)
        close(e->conn_fd); /* the client reads what is left, then ERROR_BROKEN_PIPE */
    for (unsigned i = 0; i < e->nretired; i++)
        close(e->retired[i]);
    if (!shared) {
        atomic_store(&slot->state, STATE(e->gen, SLOT_FREE));
        range_lock(e->obj.shared_fd, F_UNLCK, LOCK_SLOT(e->slot), false);
        drained_bump(slot, TO_SERVER);
        listen_bump(s); /* WaitNamedPipe looks again: maybe no instance is left */
    }
}

static void pipe_destroy(struct wi_object *obj)
{
    struct pipe_end *e = end_of(obj);
    if (e->obj.shared) {
        if (e->server) {
            server_close(e);
        } else if (e->conn_fd >= 0) {
            close(e->conn_fd);
            drained_bump(slot_of(e), TO_CLIENT);
        }
    }
    free(e->retired);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->rd_lock);
    pthread_mutex_destroy(&e->wr_lock);
}

static DWORD pipe_export(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len);
static DWORD pipe_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out);
static DWORD pipe_io_try(struct wi_object *obj, struct wi_io *io);

const struct wi_object_ops wi_pipe_ops = {
    .name = "NamedPipe",
    .type = WI_TYPE_PIPE,
    .generic_map = {FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS},
    .waitable = wi_no_waitable,
    .try_satisfy = wi_no_try_satisfy,
    .wait_prepare = wi_no_wait_prepare,
    .consumable = false,
    .signal = wi_no_signal,
    .read = pipe_read,
    .write = pipe_write,
    .flush = pipe_flush,
    /* Overlapped requests go through io_try (async.h); these are unused. */
    .read_overlapped = wi_sync_read_overlapped,
    .write_overlapped = wi_sync_write_overlapped,
    .io_try = pipe_io_try,
    .std_fd = pipe_std_fd,
    .export_fds = pipe_export,
    .import = pipe_import,
    .destroy = pipe_destroy,
};

/* --- inheritance ----------------------------------------------------------------- */

/* Blob: our part after the namespace's (wi_shared_export_fds). */
struct pipe_blob {
    uint32_t shared_len; /* bytes of the namespace blob that follow */
    uint8_t server, can_read, can_write, state;
    uint32_t slot;
    uint32_t gen;
    uint64_t ino;
    uint8_t msgtype, overlapped, reserved[2];
    uint32_t mode;
    uint32_t out_size, in_size, client_pid, server_pid;
    uint32_t rx_gen, read_gen;
    struct wi_pipe_rx rx; /* where this end's reading stands (message pipes) */
};

/* The child gets a new OFD of the object file holding the name (and, for a
 * server instance, the slot: a read lock of its own, so the instance lives
 * while either process holds it) and a duplicate of the socket. Both ends
 * then share the socket; a server instance's ConnectNamedPipe and
 * DisconnectNamedPipe change only the calling process's view (see
 * docs/pipes.md). */
static DWORD pipe_export(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len)
{
    struct pipe_end *e = end_of(obj);
    struct pipe_blob b = {0};
    unsigned char nsblob[WI_EXPORT_BLOB_MAX];
    unsigned nslen = 0, n = 0;
    DWORD err = wi_shared_export_fds(obj, fds, &n, nsblob, &nslen);
    if (err)
        return err;
    if (sizeof b + nslen > WI_EXPORT_BLOB_MAX) {
        close(fds[0]);
        return ERROR_NOT_SUPPORTED;
    }
    if (e->server)
        pthread_mutex_lock(&e->lock);
    if (e->server)
        err = range_lock(fds[0], F_RDLCK, LOCK_SLOT(e->slot), false);
    /* Client: [name, connection]; server: [name, listening socket,
     * connection if connected]. */
    int socks[2] = {e->server ? e->listen_fd : e->conn_fd, e->server ? e->conn_fd : -1};
    int dups[2] = {-1, -1};
    for (int i = 0; i < 2 && !err; i++) {
        if (socks[i] >= 0 && (dups[i] = fcntl(socks[i], F_DUPFD_CLOEXEC, 0)) < 0)
            err = wi_error_from_errno(errno);
    }
    b.shared_len = nslen;
    b.server = e->server;
    b.can_read = e->can_read;
    b.can_write = e->can_write;
    b.state = (uint8_t)e->state;
    b.slot = e->slot;
    b.gen = e->gen;
    b.ino = e->ino;
    if (e->server)
        pthread_mutex_unlock(&e->lock);
    b.msgtype = e->msgtype;
    b.overlapped = e->obj.io_overlapped;
    b.mode = atomic_load(&e->mode);
    b.out_size = e->out_size;
    b.in_size = e->in_size;
    b.client_pid = e->client_pid;
    b.server_pid = e->server_pid;
    b.read_gen = atomic_load(&e->read_gen);
    /* The reading position goes with the handle, so the child goes on
     * reading where this process stands. A thread of ours blocked in a read
     * holds rd_lock: the position is then taken as it is (a handle read by
     * two processes at once is not supported, see docs/pipes.md). */
    bool locked = pthread_mutex_trylock(&e->rd_lock) == 0;
    b.rx = e->rx;
    b.rx_gen = e->rx_gen;
    if (locked)
        pthread_mutex_unlock(&e->rd_lock);
    if (err) {
        close(fds[0]);
        for (int i = 0; i < 2; i++)
            if (dups[i] >= 0)
                close(dups[i]);
        return err;
    }
    for (int i = 0; i < 2; i++)
        if (dups[i] >= 0)
            fds[n++] = dups[i];
    *nfds = n;
    memcpy(blob, &b, sizeof b);
    memcpy((char *)blob + sizeof b, nsblob, nslen);
    *blob_len = (unsigned)(sizeof b + nslen);
    return ERROR_SUCCESS;
}

static DWORD check_layout(struct pipe_end *e)
{
    struct pipe_shared *s = shared_of(e);
    if (e->obj.shared_size < sizeof *s || s->layout_magic != PIPE_LAYOUT_MAGIC ||
        s->layout_version != PIPE_LAYOUT_VERSION)
        return ERROR_INVALID_HANDLE; /* another library version's pipe */
    return ERROR_SUCCESS;
}

static struct pipe_end *end_alloc(void)
{
    struct pipe_end *e = wi_object_alloc(&wi_pipe_ops, sizeof *e);
    if (!e)
        return NULL;
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->rd_lock, NULL);
    pthread_mutex_init(&e->wr_lock, NULL);
    e->listen_fd = -1;
    e->conn_fd = -1;
    e->state = END_DISCONNECTED;
    return e;
}

static DWORD pipe_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out)
{
    struct pipe_blob b;
    struct wi_object *obj;
    if (blob_len < sizeof b || nfds < 1 || nfds > 3)
        return ERROR_INVALID_PARAMETER;
    memcpy(&b, blob, sizeof b);
    if (b.shared_len != blob_len - sizeof b || b.slot >= MAX_SLOTS || b.state > END_DISCONNECTED)
        return ERROR_INVALID_PARAMETER;
    DWORD err = wi_shared_import(&wi_pipe_ops, sizeof(struct pipe_end), fds, 1, (const char *)blob + sizeof b,
                                 b.shared_len, &obj);
    if (err)
        return err;
    struct pipe_end *e = end_of(obj);
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->rd_lock, NULL);
    pthread_mutex_init(&e->wr_lock, NULL);
    e->listen_fd = -1;
    e->conn_fd = -1;
    err = check_layout(e);
    if (err) {
        e->obj.shared_fd = -1; /* on failure the caller keeps (and closes) fds[0] */
        wi_object_release(obj);
        return err;
    }
    e->server = b.server;
    e->can_read = b.can_read;
    e->can_write = b.can_write;
    e->state = (enum end_state)b.state;
    e->slot = b.slot;
    e->gen = b.gen;
    e->ino = b.ino;
    e->msgtype = b.msgtype;
    e->obj.io_overlapped = b.overlapped;
    atomic_store(&e->mode, b.mode & (PIPE_READMODE_MESSAGE | PIPE_NOWAIT));
    e->out_size = b.out_size;
    e->in_size = b.in_size;
    e->client_pid = b.client_pid;
    e->server_pid = b.server_pid;
    atomic_store(&e->read_gen, b.read_gen);
    e->rx = b.rx;
    e->rx_gen = b.rx_gen;
    if (!e->server) {
        e->conn_fd = nfds > 1 ? fds[1] : -1;
    } else {
        e->listen_fd = nfds > 1 ? fds[1] : -1;
        e->conn_fd = nfds > 2 ? fds[2] : -1;
    }
    *out = obj;
    return ERROR_SUCCESS;
}

/* --- opening the pipe file ---------------------------------------------------- */

struct pipe_params {
    DWORD open_mode, pipe_mode, max_instances, out_size, in_size, timeout;
    bool world;
};

static void params_store(struct pipe_shared *s, const struct pipe_params *p)
{
    atomic_store(&s->open_mode, p->open_mode);
    atomic_store(&s->pipe_mode, p->pipe_mode & PIPE_TYPE_MESSAGE);
    atomic_store(&s->max_instances, p->max_instances);
    atomic_store(&s->out_size, p->out_size);
    atomic_store(&s->in_size, p->in_size);
    atomic_store(&s->default_timeout, p->timeout);
    atomic_store(&s->world, p->world);
}

/* A new object file (namespace directory locked, file ours alone). */
static void pipe_file_init(struct wi_object *obj, void *arg)
{
    struct pipe_shared *s = WI_SHARED(obj, struct pipe_shared);
    s->layout_magic = PIPE_LAYOUT_MAGIC;
    s->layout_version = PIPE_LAYOUT_VERSION;
    params_store(s, arg);
}

static DWORD pipe_file_open(struct pipe_end *e, const char *ns_name, bool create, bool world,
                            const struct pipe_params *p)
{
    bool existed;
    struct stat st;
    DWORD err = wi_namespace_open(&e->obj, WI_NS_PIPE, ns_name, sizeof(struct pipe_shared),
                                  sizeof(struct pipe_shared), create, world, &existed, pipe_file_init, (void *)p);
    if (err)
        return err;
    err = check_layout(e);
    if (!err && fstat(e->obj.shared_fd, &st) != 0)
        err = wi_error_from_errno(errno);
    if (!err)
        e->ino = (uint64_t)st.st_ino;
    return err;
}

/* --- CreateNamedPipe ------------------------------------------------------------- */

/* Claim a slot and start listening (creation lock held). */
static DWORD server_claim(struct pipe_end *e, const struct pipe_params *p, bool first)
{
    struct pipe_shared *s = shared_of(e);
    unsigned live = count_live(e, true);
    if (live == 0) {
        /* No instance alive: this is the pipe's first, whatever the file
         * held before. */
        params_store(s, p);
    } else {
        /* Windows: FILE_FLAG_FIRST_PIPE_INSTANCE on an existing pipe and a
         * different access mode are ERROR_ACCESS_DENIED; all instances
         * taken is ERROR_PIPE_BUSY. A different nMaxInstances, pipe type,
         * buffer size or time-out is accepted (Wine's conformance tests
         * record it): the first instance's maximum, type and time-out rule,
         * each instance keeps its buffer sizes. Asking to read a byte pipe
         * as messages is refused here as it is at creation (not verified
         * against Windows). */
        if (first)
            return ERROR_ACCESS_DENIED;
        if (live >= atomic_load(&s->max_instances))
            return ERROR_PIPE_BUSY;
        if (atomic_load(&s->open_mode) != p->open_mode)
            return ERROR_ACCESS_DENIED;
        if ((p->pipe_mode & PIPE_READMODE_MESSAGE) && !(atomic_load(&s->pipe_mode) & PIPE_TYPE_MESSAGE))
            return ERROR_INVALID_PARAMETER;
    }
    e->msgtype = atomic_load(&s->pipe_mode) & PIPE_TYPE_MESSAGE;
    for (unsigned i = 0; i < MAX_SLOTS; i++) {
        uint32_t v = atomic_load(&s->slots[i].state);
        if (STATE_ST(v) != SLOT_FREE || slot_alive(e->obj.shared_fd, i))
            continue;
        DWORD err = range_lock(e->obj.shared_fd, F_RDLCK, LOCK_SLOT(i), false);
        if (err)
            return err;
        e->slot = i;
        e->gen = STATE_GEN(v);
        atomic_store(&s->slots[i].server_pid, (uint32_t)getpid());
        atomic_store(&s->slots[i].out_size, p->out_size);
        atomic_store(&s->slots[i].in_size, p->in_size);
        pthread_mutex_lock(&e->lock);
        err = server_listen(e);
        pthread_mutex_unlock(&e->lock);
        if (err) {
            range_lock(e->obj.shared_fd, F_UNLCK, LOCK_SLOT(i), false);
            return err;
        }
        return ERROR_SUCCESS;
    }
    return ERROR_PIPE_BUSY; /* all 255 slots in use (or closing) */
}

static HANDLE create_named_pipe(const char *name, DWORD open_mode, DWORD pipe_mode, DWORD max_instances,
                                DWORD out_size, DWORD in_size, DWORD timeout, const SECURITY_ATTRIBUTES *sa)
{
    const DWORD open_flags = FILE_FLAG_WRITE_THROUGH | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE |
                             WRITE_DAC | WRITE_OWNER | ACCESS_SYSTEM_SECURITY;
    const DWORD pipe_flags = PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_NOWAIT | PIPE_REJECT_REMOTE_CLIENTS;
    DWORD direction = open_mode & PIPE_ACCESS_DUPLEX;
    const char *rest;
    enum wi_device_name kind;
    DWORD err, hflags;
    bool world;

    if (!name)
        return wi_fail_invalid(ERROR_PATH_NOT_FOUND);
    kind = wi_device_name_split(name, "pipe", &rest);
    if ((kind != WI_DEVNAME_LOCAL && kind != WI_DEVNAME_VERBATIM) || !*rest || utf16_units(name) > 256)
        return wi_fail_invalid(ERROR_INVALID_NAME);
    if (!direction || (open_mode & ~(open_flags | PIPE_ACCESS_DUPLEX)) || (pipe_mode & ~pipe_flags) ||
        max_instances == 0 || max_instances > PIPE_UNLIMITED_INSTANCES)
        return wi_fail_invalid(ERROR_INVALID_PARAMETER);
    if ((pipe_mode & PIPE_READMODE_MESSAGE) && !(pipe_mode & PIPE_TYPE_MESSAGE))
        return wi_fail_invalid(ERROR_INVALID_PARAMETER); /* a byte pipe cannot be read as messages */
    /* SACLs are not kept: refused rather than ignored. */
    if (open_mode & ACCESS_SYSTEM_SECURITY)
        return wi_fail_invalid(ERROR_NOT_SUPPORTED);
    err = wi_sa_parse_for(sa, &wi_pipe_ops, &hflags, &world);
    if (err)
        return wi_fail_invalid(err);

    struct pipe_params p = {direction, pipe_mode, max_instances, out_size, in_size, timeout, world};
    struct pipe_end *e = end_alloc();
    char *ns_name = NULL;
    HANDLE h = NULL;
    if (!e)
        return wi_fail_invalid(ERROR_NOT_ENOUGH_MEMORY);
    e->server = true;
    e->can_read = direction & PIPE_ACCESS_INBOUND;
    e->can_write = direction & PIPE_ACCESS_OUTBOUND;
    e->out_size = out_size;
    e->in_size = in_size;
    e->obj.io_overlapped = open_mode & FILE_FLAG_OVERLAPPED;
    atomic_store(&e->mode, pipe_mode & (PIPE_READMODE_MESSAGE | PIPE_NOWAIT));
    err = wi_device_name_normalize(rest, kind, &ns_name);
    if (!err)
        err = pipe_file_open(e, ns_name, true, world, &p);
    if (!err)
        err = range_lock(e->obj.shared_fd, F_WRLCK, LOCK_CREATE, true);
    if (!err) {
        err = server_claim(e, &p, open_mode & FILE_FLAG_FIRST_PIPE_INSTANCE);
        range_lock(e->obj.shared_fd, F_UNLCK, LOCK_CREATE, false);
        if (err)
            e->server = false; /* nothing of an instance to tear down */
    }
    free(ns_name);
    if (!err) {
        /* The server's handle has the rights its direction gives, as
         * Windows grants them (plus the security rights it asked for). */
        DWORD access = (e->can_read ? FILE_GENERIC_READ : 0) | (e->can_write ? FILE_GENERIC_WRITE : 0) |
                       (open_mode & (WRITE_DAC | WRITE_OWNER));
        err = wi_handle_insert(&e->obj, access, hflags, &h);
    }
    if (err) {
        wi_object_release(&e->obj);
        return wi_fail_invalid(err);
    }
    return h;
}

/* --- the client end ---------------------------------------------------------------- */

/* Is some instance alive? */
static bool any_live(struct pipe_end *e)
{
    return count_live(e, false) > 0;
}

/* Connect to a listening instance, trying the one that has listened longest
 * first (Windows hands clients to instances in the order they started
 * listening). */
static DWORD client_connect(struct pipe_end *e)
{
    struct pipe_shared *s = shared_of(e);
    DWORD err = ERROR_SUCCESS;
    struct {
        uint32_t age;
        unsigned slot;
    } cand[MAX_SLOTS];
    unsigned n = 0;
    uint32_t now = atomic_load(&s->listen_counter);
    for (unsigned i = 0; i < MAX_SLOTS; i++) {
        if (STATE_ST(atomic_load(&s->slots[i].state)) != SLOT_LISTENING)
            continue;
        uint32_t age = now - atomic_load(&s->slots[i].listen_order); /* wraps correctly */
        unsigned k = n++;
        for (; k > 0 && cand[k - 1].age < age; k--)
            cand[k] = cand[k - 1];
        cand[k].age = age;
        cand[k].slot = i;
    }
    for (unsigned c = 0; c < n; c++) {
        unsigned i = cand[c].slot;
        uint32_t v = atomic_load(&s->slots[i].state);
        if (STATE_ST(v) != SLOT_LISTENING)
            continue;
        uint32_t gen = STATE_GEN(v);
        struct sockaddr_un sa;
        socklen_t len;
        err = sock_addr(e, i, gen, &sa, &len);
        if (err)
            return err;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            return wi_error_from_errno(errno);
        int r;
        while ((r = connect(fd, (struct sockaddr *)&sa, len)) != 0 && errno == EINTR)
            ;
        if (r == 0) {
            /* Connected: this cycle's one connection is ours. Windows
             * handles are blocking; the socket becomes so. */
            if (fcntl(fd, F_SETFL, 0) != 0) {
                err = wi_error_from_errno(errno);
                close(fd);
                return err;
            }
            atomic_compare_exchange_strong(&s->slots[i].state, &v, STATE(gen, SLOT_CONNECTED));
            e->out_size = atomic_load(&s->slots[i].out_size);
            e->in_size = atomic_load(&s->slots[i].in_size);
            e->server_pid = atomic_load(&s->slots[i].server_pid);
            e->client_pid = (DWORD)getpid();
            atomic_store(&s->slots[i].client_level, e->client_level);
            e->slot = i;
            e->gen = gen;
            e->conn_fd = fd;
            e->state = END_CONNECTED;
            return ERROR_SUCCESS;
        }
        int why = errno;
        close(fd);
        if (why == ECONNREFUSED && !slot_alive(e->obj.shared_fd, i))
            sock_unlink(e, i, gen); /* its server died; nobody else will remove it */
        else if (why != EAGAIN && why != ECONNREFUSED && why != ENOENT)
            err = wi_error_from_errno(why);
        /* EAGAIN: another client is queued there; ECONNREFUSED/ENOENT: that
         * cycle just ended. Either way: busy, try the next. */
    }
    if (!any_live(e))
        return ERROR_FILE_NOT_FOUND;
    return err ? err : ERROR_PIPE_BUSY;
}

DWORD wi_pipe_client_open(const char *name_utf8, DWORD access, DWORD share, const SECURITY_ATTRIBUTES *sa,
                          DWORD flags_and_attrs, HANDLE *out)
{
    const char *rest;
    DWORD err, hflags;
    bool world;
    enum wi_device_name kind = wi_device_name_split(name_utf8, "pipe", &rest);

    switch (kind) {
    case WI_DEVNAME_LOCAL:
    case WI_DEVNAME_VERBATIM:
        break;
    case WI_DEVNAME_REMOTE:
        return ERROR_NOT_SUPPORTED; /* pipes on another machine: a later phase (SMB) */
    default:
        return ERROR_INVALID_NAME;
    }
    if (!*rest)
        return ERROR_NOT_SUPPORTED; /* the pipe file system's root directory */
    if (utf16_units(name_utf8) > 256)
        return ERROR_FILE_NOT_FOUND; /* longer than any pipe can be named */
    err = wi_sa_parse(sa, &hflags, &world);
    if (err)
        return err;
    access = wi_handle_map_access(&wi_pipe_ops, access);

    struct pipe_end *e = end_alloc();
    char *ns_name = NULL;
    if (!e)
        return ERROR_NOT_ENOUGH_MEMORY;
    e->can_read = access & FILE_READ_DATA;
    e->can_write = access & FILE_WRITE_DATA;
    e->obj.io_overlapped = flags_and_attrs & FILE_FLAG_OVERLAPPED;
    /* Without SECURITY_SQOS_PRESENT a pipe client allows impersonation, as
     * on Windows. */
    e->client_level = (flags_and_attrs & SECURITY_SQOS_PRESENT) ? (flags_and_attrs >> 16) & 3 : 2;
    err = wi_device_name_normalize(rest, kind, &ns_name);
    if (!err)
        err = pipe_file_open(e, ns_name, false, false, NULL);
    free(ns_name);
    if (!err) {
        /* The client must open against the pipe's direction: reading an
         * inbound pipe or writing an outbound one is refused, as Windows
         * does at open time. A client end starts in byte read mode and
         * blocking mode, whatever the pipe's type. */
        e->msgtype = atomic_load(&shared_of(e)->pipe_mode) & PIPE_TYPE_MESSAGE;
        DWORD dir = atomic_load(&shared_of(e)->open_mode);
        if ((dir == PIPE_ACCESS_INBOUND && e->can_read) || (dir == PIPE_ACCESS_OUTBOUND && e->can_write))
            err = any_live(e) ? ERROR_ACCESS_DENIED : ERROR_FILE_NOT_FOUND;
    }
    if (!err)
        err = client_connect(e);
    if (!err)
        err = wi_handle_insert(&e->obj, access, hflags, out);
    if (err) {
        wi_object_release(&e->obj);
        return err;
    }
    return ERROR_SUCCESS;
}

/* --- ConnectNamedPipe / DisconnectNamedPipe --------------------------------------- */

/* One look at the instance for ConnectNamedPipe (lock held). The first
 * look (*gen unset) answers for what happened before the call: a client
 * that opened the instance already is ERROR_PIPE_CONNECTED (ERROR_NO_DATA
 * once it has left again), as on Windows; a disconnected instance starts
 * listening. Later looks answer for the listening cycle *gen the call waits
 * on: a client now is success, a DisconnectNamedPipe in the meantime is
 * ERROR_PIPE_NOT_CONNECTED. ERROR_IO_PENDING: nobody yet; wait until
 * listen_fd is readable. */
static DWORD connect_attempt(struct pipe_end *e, bool first, uint32_t *gen)
{
    DWORD err;
    if (first) {
        switch (e->state) {
        case END_CONNECTED:
            return peer_gone(e->conn_fd) ? ERROR_NO_DATA : ERROR_PIPE_CONNECTED;
        case END_DISCONNECTED:
            if ((err = server_listen(e)))
                return err;
            *gen = e->gen;
            return ERROR_IO_PENDING;
        case END_LISTENING:
            *gen = e->gen;
            if (!fd_readable(e->listen_fd))
                return ERROR_IO_PENDING;
            if ((err = server_accept(e)))
                return err;
            return peer_gone(e->conn_fd) ? ERROR_NO_DATA : ERROR_PIPE_CONNECTED;
        }
    }
    if (e->gen != *gen || e->state == END_DISCONNECTED)
        return ERROR_PIPE_NOT_CONNECTED; /* DisconnectNamedPipe ended the wait */
    if (e->state == END_CONNECTED)
        return ERROR_SUCCESS; /* another thread's ReadFile/WriteFile took the client */
    if (fd_readable(e->listen_fd))
        return server_accept(e);
    return ERROR_IO_PENDING;
}

/* ConnectNamedPipe. In PIPE_NOWAIT mode it never waits: no client is
 * ERROR_PIPE_LISTENING (the instance listens from then on). */
static DWORD server_connect(struct pipe_end *e, bool nowait)
{
    uint32_t gen = 0;
    pthread_mutex_lock(&e->lock);
    DWORD err = connect_attempt(e, true, &gen);
    while (err == ERROR_IO_PENDING && !nowait) {
        int fd = e->listen_fd;
        e->users++;
        pthread_mutex_unlock(&e->lock);
        err = wait_readable(fd);
        pthread_mutex_lock(&e->lock);
        user_done(e);
        if (!err)
            err = connect_attempt(e, false, &gen);
    }
    pthread_mutex_unlock(&e->lock);
    return err == ERROR_IO_PENDING ? ERROR_PIPE_LISTENING : err;
}

static DWORD server_disconnect(struct pipe_end *e)
{
    struct pipe_slot *slot = slot_of(e);
    pthread_mutex_lock(&e->lock);
    if (e->state == END_DISCONNECTED) {
        pthread_mutex_unlock(&e->lock);
        return ERROR_PIPE_NOT_CONNECTED;
    }
    /* First tell the client's end why its connection ends, then end it: a
     * client (connected, or still queued on the listening socket) that sees
     * the end of its stream finds the record. */
    atomic_store(&slot->disconnected[e->gen % RING], e->gen);
    atomic_store(&slot->state, STATE(e->gen, SLOT_DISCONNECTED));
    if (e->state == END_LISTENING) {
        server_stop_listening(e);
    } else {
        shutdown(e->conn_fd, SHUT_RDWR); /* wakes our own threads blocked on it */
        retire_fd(e, e->conn_fd);
        e->conn_fd = -1;
    }
    e->state = END_DISCONNECTED;
    pthread_mutex_unlock(&e->lock);
    drained_bump(slot, TO_SERVER);
    drained_bump(slot, TO_CLIENT);
    /* Pending overlapped requests on the instance end now (their fd may be
     * closed already, so no readiness would tell the engine). */
    wi_async_kick(&e->obj);
    return ERROR_SUCCESS;
}

/* --- overlapped requests: the engine's io_try (async.h) ------------------------------ */

static _Atomic uint64_t request_ids;

/* A request's id (the owner of a message it leaves open), kept in
 * io->progress[slot] from its first attempt. */
static uint64_t request_id(struct wi_io *io, int slot)
{
    if (!io->progress[slot])
        io->progress[slot] = atomic_fetch_add(&request_ids, 1) + 1;
    return io->progress[slot];
}

/* What to wait on when a lock is busy: the connection (or, for an instance
 * without one, its listening socket). Waking up early is fine. */
static DWORD pending_on_end(struct pipe_end *e, struct wi_io *io, uint32_t events)
{
    if (e->server)
        pthread_mutex_lock(&e->lock);
    io->wait_fd = e->conn_fd >= 0 ? e->conn_fd : e->listen_fd;
    if (e->server)
        pthread_mutex_unlock(&e->lock);
    io->wait_events = events;
    return ERROR_IO_PENDING;
}

/* READ (and TRANSACT's read half, `nowait_ok` false: a transaction waits
 * for its answer whatever the wait mode). */
static DWORD try_read(struct pipe_end *e, struct wi_io *io, bool nowait_ok)
{
    int fd = -1;
    if (!e->can_read)
        return ERROR_ACCESS_DENIED;
    if (pthread_mutex_trylock(&e->rd_lock))
        return pending_on_end(e, io, EPOLLIN); /* a synchronous read holds it */
    DWORD err = end_read(e, io->buf, io->len, &io->done, true, &fd);
    pthread_mutex_unlock(&e->rd_lock);
    if (err == ERROR_IO_PENDING) {
        if (nowait_ok && (atomic_load(&e->mode) & PIPE_NOWAIT))
            return io->done ? ERROR_MORE_DATA : ERROR_NO_DATA;
        io->wait_fd = fd;
        io->wait_events = EPOLLIN;
    }
    return err;
}

/* WRITE, and TRANSACT's write half (`kind` WRITE_QUEUED); `sent` in/out. */
static DWORD try_write(struct pipe_end *e, struct wi_io *io, const void *buf, DWORD len, DWORD *sent,
                       enum write_how kind, int id_slot)
{
    int fd = -1;
    if (!e->can_write)
        return ERROR_ACCESS_DENIED;
    if (kind == WRITE_TRY && (atomic_load(&e->mode) & PIPE_NOWAIT))
        kind = WRITE_NOWAIT; /* complete at once: everything or nothing */
    if (pthread_mutex_trylock(&e->wr_lock))
        return pending_on_end(e, io, EPOLLOUT);
    DWORD err = end_write(e, buf, len, sent, kind, request_id(io, id_slot), &fd);
    pthread_mutex_unlock(&e->wr_lock);
    if (err == ERROR_IO_PENDING) {
        io->wait_fd = fd;
        io->wait_events = EPOLLOUT;
    }
    return err;
}

/* CONNECT: progress[0] holds the listening cycle the request waits on. */
static DWORD try_connect(struct pipe_end *e, struct wi_io *io)
{
    if (!e->server)
        return ERROR_INVALID_FUNCTION;
    pthread_mutex_lock(&e->lock);
    uint32_t gen = (uint32_t)io->progress[0];
    DWORD err = connect_attempt(e, io->attempt == 0, &gen);
    io->progress[0] = gen;
    if (err == ERROR_IO_PENDING) {
        if (atomic_load(&e->mode) & PIPE_NOWAIT) {
            err = ERROR_PIPE_LISTENING;
        } else {
            io->wait_fd = e->listen_fd;
            io->wait_events = EPOLLIN;
        }
    }
    pthread_mutex_unlock(&e->lock);
    io->done = 0;
    return err;
}

/* TRANSACT: progress[0] = phase (0 checks, 1 writing, 2 reading) | bytes
 * written << 2; progress[1] = the write's request id. */
static DWORD try_transact(struct pipe_end *e, struct wi_io *io)
{
    unsigned phase = (unsigned)(io->progress[0] & 3);
    DWORD sent = (DWORD)(io->progress[0] >> 2), err;
    if (phase == 0) {
        uint32_t mode = atomic_load(&e->mode);
        int fd;
        uint32_t gen;
        if (!e->can_read || !e->can_write)
            return ERROR_ACCESS_DENIED;
        if (!e->msgtype || !(mode & PIPE_READMODE_MESSAGE))
            return ERROR_BAD_PIPE;
        if (pthread_mutex_trylock(&e->rd_lock))
            return pending_on_end(e, io, EPOLLIN);
        err = conn_begin(e, &fd, &gen);
        if (!err) {
            bool busy = wi_ps_unread(fd, rx_of(e, gen));
            err = conn_done(e, gen, ERROR_SUCCESS, false, 0);
            if (busy)
                err = ERROR_PIPE_BUSY;
        }
        pthread_mutex_unlock(&e->rd_lock);
        if (err)
            return err;
        phase = 1;
    }
    if (phase == 1) {
        err = try_write(e, io, io->wbuf, io->wlen, &sent, WRITE_QUEUED, 1);
        io->progress[0] = 1 | (uint64_t)sent << 2;
        if (err)
            return err;
        io->progress[0] = 2;
        io->done = 0;
    }
    return try_read(e, io, false);
}

/* A request with an OVERLAPPED on a synchronous handle. The engine runs it
 * in the issuing thread, without its lock, and would only wait for it
 * (async.h): it runs as the plain call does, blocking, so that requests of
 * several threads on one handle are ordered by the same locks as their
 * ReadFile/WriteFile calls and a message is never shared between two. */
static DWORD sync_request(struct pipe_end *e, struct wi_io *io)
{
    switch (io->op) {
    case WI_IO_READ:
        return pipe_read(&e->obj, io->buf, io->len, &io->done);
    case WI_IO_WRITE:
        return pipe_write(&e->obj, io->wbuf, io->wlen, &io->done);
    case WI_IO_CONNECT:
        return e->server ? server_connect(e, atomic_load(&e->mode) & PIPE_NOWAIT) : ERROR_INVALID_FUNCTION;
    case WI_IO_TRANSACT:
        return end_transact(e, io->wbuf, io->wlen, io->buf, io->len, &io->done);
    }
    return ERROR_INVALID_FUNCTION;
}

static DWORD pipe_io_try(struct wi_object *obj, struct wi_io *io)
{
    struct pipe_end *e = end_of(obj);
    io->wait_fd = -1;
    io->wait_word = NULL;
    if (io->closing)
        return ERROR_BROKEN_PIPE; /* the last handle went: Windows' STATUS_PIPE_BROKEN */
    if (!obj->io_overlapped)
        return sync_request(e, io);
    switch (io->op) {
    case WI_IO_READ:
        return try_read(e, io, true);
    case WI_IO_WRITE: {
        DWORD sent = io->done;
        DWORD err = try_write(e, io, io->wbuf, io->wlen, &sent, WRITE_TRY, 0);
        io->done = sent;
        return err;
    }
    case WI_IO_CONNECT:
        return try_connect(e, io);
    case WI_IO_TRANSACT:
        return try_transact(e, io);
    }
    return ERROR_INVALID_FUNCTION;
}

/* --- WaitNamedPipe ---------------------------------------------------------------- */

/* 1: an instance is listening; 0: instances exist, none listening; -1: none. */
static int probe_instances(struct pipe_end *e)
{
    struct pipe_shared *s = shared_of(e);
    bool live = false;
    for (unsigned i = 0; i < MAX_SLOTS; i++) {
        uint32_t v = atomic_load(&s->slots[i].state);
        if (STATE_ST(v) == SLOT_FREE || !slot_alive(e->obj.shared_fd, i))
            continue;
        if (STATE_ST(v) == SLOT_LISTENING)
            return 1;
        live = true;
    }
    return live ? 0 : -1;
}

static DWORD wait_named_pipe(const char *name, DWORD timeout)
{
    const char *rest;
    if (!name)
        return ERROR_PATH_NOT_FOUND;
    enum wi_device_name kind = wi_device_name_split(name, "pipe", &rest);
    switch (kind) {
    case WI_DEVNAME_LOCAL:
    case WI_DEVNAME_VERBATIM:
        break;
    case WI_DEVNAME_REMOTE:
        return ERROR_NOT_SUPPORTED;
    default:
        return ERROR_PATH_NOT_FOUND; /* not a pipe path at all */
    }
    if (!*rest || utf16_units(name) > 256)
        return ERROR_FILE_NOT_FOUND;

    struct pipe_end *e = end_alloc();
    char *ns_name = NULL;
    if (!e)
        return ERROR_NOT_ENOUGH_MEMORY;
    DWORD err = wi_device_name_normalize(rest, kind, &ns_name);
    if (!err)
        err = pipe_file_open(e, ns_name, false, false, NULL);
    free(ns_name);
    if (err) {
        wi_object_release(&e->obj);
        return err;
    }
    struct pipe_shared *s = shared_of(e);
    if (timeout == NMPWAIT_USE_DEFAULT_WAIT) {
        timeout = atomic_load(&s->default_timeout);
        if (timeout == 0)
            timeout = DEFAULT_WAIT_MS;
    }
    struct timespec end_ts, *end = wi_deadline(timeout, &end_ts);
    /* No instance at all: Windows fails at once, whatever the time-out. */
    int r = probe_instances(e);
    err = r < 0 ? ERROR_FILE_NOT_FOUND : ERROR_SUCCESS;
    /* Otherwise wait for an instance to listen. Windows waits by name: the
     * last instance closing does not end the wait, a new instance of the
     * name (which reuses this file, which we keep) does. */
    while (r == 0) {
        atomic_fetch_add(&s->listen.waiters, 1);
        uint32_t v = atomic_load(&s->listen.word);
        r = probe_instances(e) > 0;
        int w = r ? 0 : wi_futex_wait(&s->listen.word, v, end);
        atomic_fetch_sub(&s->listen.waiters, 1);
        if (w == ETIMEDOUT) {
            /* A last look: the deadline and a new listener may cross. */
            err = probe_instances(e) > 0 ? ERROR_SUCCESS : ERROR_SEM_TIMEOUT;
            break;
        }
    }
    wi_object_release(&e->obj);
    return err;
}

/* --- Win32 entry points ---------------------------------------------------------- */

WINBASEAPI HANDLE WINAPI CreateNamedPipeA(LPCSTR lpName, DWORD dwOpenMode, DWORD dwPipeMode, DWORD nMaxInstances,
                                          DWORD nOutBufferSize, DWORD nInBufferSize, DWORD nDefaultTimeOut,
                                          LPSECURITY_ATTRIBUTES lpSecurityAttributes)
{
    return create_named_pipe(lpName, dwOpenMode, dwPipeMode, nMaxInstances, nOutBufferSize, nInBufferSize,
                             nDefaultTimeOut, lpSecurityAttributes);
}

WINBASEAPI HANDLE WINAPI CreateNamedPipeW(LPCWSTR lpName, DWORD dwOpenMode, DWORD dwPipeMode, DWORD nMaxInstances,
                                          DWORD nOutBufferSize, DWORD nInBufferSize, DWORD nDefaultTimeOut,
                                          LPSECURITY_ATTRIBUTES lpSecurityAttributes)
{
    WI_UTF8_ARG(name, lpName);
    if (WI_UTF8_FAILED(name, lpName))
        return wi_fail_invalid(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = create_named_pipe(name, dwOpenMode, dwPipeMode, nMaxInstances, nOutBufferSize, nInBufferSize,
                                 nDefaultTimeOut, lpSecurityAttributes);
    WI_UTF8_FREE(name);
    return h;
}

WINBASEAPI HANDLE WINAPI CreateNamedPipeW16(const uint16_t *lpName, DWORD dwOpenMode, DWORD dwPipeMode,
                                            DWORD nMaxInstances, DWORD nOutBufferSize, DWORD nInBufferSize,
                                            DWORD nDefaultTimeOut, LPSECURITY_ATTRIBUTES lpSecurityAttributes)
{
    wchar_t *wide = lpName ? wi_wide_from_utf16(lpName) : NULL;
    if (lpName && !wide)
        return wi_fail_invalid(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = CreateNamedPipeW(wide, dwOpenMode, dwPipeMode, nMaxInstances, nOutBufferSize, nInBufferSize,
                                nDefaultTimeOut, lpSecurityAttributes);
    free(wide);
    return h;
}

/* Server-only calls on a client end: Windows fails them with
 * ERROR_INVALID_FUNCTION. */
static DWORD server_handle(HANDLE h, struct wi_pin *pin)
{
    DWORD err = wi_handle_get(h, WI_TYPE_PIPE, 0, pin);
    if (err)
        return err;
    if (!end_of(pin->obj)->server) {
        wi_handle_put(pin);
        return ERROR_INVALID_FUNCTION;
    }
    return ERROR_SUCCESS;
}

WINBASEAPI BOOL WINAPI ConnectNamedPipe(HANDLE hNamedPipe, LPOVERLAPPED lpOverlapped)
{
    struct wi_pin pin;
    DWORD err = server_handle(hNamedPipe, &pin);
    if (err)
        return wi_fail_bool(err);
    struct pipe_end *e = end_of(pin.obj);
    if (lpOverlapped) {
        /* The engine runs it (pipe_io_try, WI_IO_CONNECT): pending on an
         * overlapped handle, to its end on a synchronous one. */
        struct wi_io io = {.op = WI_IO_CONNECT, .ov = lpOverlapped};
        DWORD done;
        err = wi_async_start(pin.obj, &io, NULL, &done);
    } else {
        err = server_connect(e, atomic_load(&e->mode) & PIPE_NOWAIT);
    }
    wi_handle_put(&pin);
    return wi_result_bool(err);
}

WINBASEAPI BOOL WINAPI DisconnectNamedPipe(HANDLE hNamedPipe)
{
    struct wi_pin pin;
    DWORD err = server_handle(hNamedPipe, &pin);
    if (err)
        return wi_fail_bool(err);
    err = server_disconnect(end_of(pin.obj));
    wi_handle_put(&pin);
    return wi_result_bool(err);
}

WINBASEAPI BOOL WINAPI WaitNamedPipeA(LPCSTR lpNamedPipeName, DWORD nTimeOut)
{
    return wi_result_bool(wait_named_pipe(lpNamedPipeName, nTimeOut));
}

WINBASEAPI BOOL WINAPI WaitNamedPipeW(LPCWSTR lpNamedPipeName, DWORD nTimeOut)
{
    WI_UTF8_ARG(name, lpNamedPipeName);
    if (WI_UTF8_FAILED(name, lpNamedPipeName))
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    DWORD err = wait_named_pipe(name, nTimeOut);
    WI_UTF8_FREE(name);
    return wi_result_bool(err);
}

WINBASEAPI BOOL WINAPI WaitNamedPipeW16(const uint16_t *lpNamedPipeName, DWORD nTimeOut)
{
    wchar_t *wide = lpNamedPipeName ? wi_wide_from_utf16(lpNamedPipeName) : NULL;
    if (lpNamedPipeName && !wide)
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    BOOL ok = WaitNamedPipeW(wide, nTimeOut);
    free(wide);
    return ok;
}

/* --- handles the query calls accept ---------------------------------------------- */

/* A named pipe end, or an anonymous pipe (CreatePipe: a file object over a
 * Linux pipe, see anon_pipe.c), which Windows' pipe calls accept too. */
struct target {
    struct wi_pin pin;
    struct pipe_end *e; /* a named pipe end, or NULL */
    int fifo;           /* an anonymous pipe's fd, or -1 */
};

/* `not_pipe`: the error for a file that is no pipe (a disk file), which
 * Windows' pipe file-system requests get from the file's own file system;
 * any other object is ERROR_INVALID_HANDLE. */
static DWORD target_get(HANDLE h, struct target *t, DWORD not_pipe)
{
    struct stat st;
    DWORD err = wi_handle_get(h, WI_TYPE_NONE, 0, &t->pin);
    if (err)
        return err;
    t->e = NULL;
    t->fifo = -1;
    if (t->pin.obj->ops->type == WI_TYPE_PIPE) {
        t->e = end_of(t->pin.obj);
        return ERROR_SUCCESS;
    }
    if (t->pin.obj->ops->type == WI_TYPE_FILE) {
        int fd = t->pin.obj->ops->std_fd(t->pin.obj);
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
            t->fifo = fd;
            return ERROR_SUCCESS;
        }
        err = not_pipe;
    } else {
        err = ERROR_INVALID_HANDLE;
    }
    wi_handle_put(&t->pin);
    return err;
}

static void target_put(struct target *t)
{
    wi_handle_put(&t->pin);
}

/* The read end of an anonymous pipe is its server end, as on Windows. */
static bool fifo_is_read_end(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_ACCMODE) == O_RDONLY;
}

/* Live instances of the pipe, this end's own included (our own slot lock
 * is invisible to slot_alive through our own descriptor). */
static DWORD instances_of(struct pipe_end *e)
{
    struct pipe_shared *s = shared_of(e);
    DWORD n = 0;
    for (unsigned i = 0; i < MAX_SLOTS; i++) {
        if (e->server && i == e->slot)
            n++;
        else if (STATE_ST(atomic_load(&s->slots[i].state)) != SLOT_FREE && slot_alive(e->obj.shared_fd, i))
            n++;
    }
    return n;
}

/* The client's credentials, as the kernel recorded them when it connected
 * (SO_PEERCRED; its supplementary groups with SO_PEERGROUPS when `groups`).
 * Windows lets a server act as its client only once it has read data from
 * it (ERROR_CANNOT_IMPERSONATE before). */
static DWORD client_creds(struct pipe_end *e, struct ucred *cred, gid_t **groups, int *ngroups)
{
    DWORD err = ERROR_SUCCESS;
    socklen_t l = sizeof *cred;
    pthread_mutex_lock(&e->lock);
    if (e->state != END_CONNECTED || atomic_load(&e->read_gen) != e->gen)
        err = ERROR_CANNOT_IMPERSONATE;
    else if (getsockopt(e->conn_fd, SOL_SOCKET, SO_PEERCRED, cred, &l) != 0)
        err = wi_error_from_errno(errno);
    if (!err && groups) {
        socklen_t gl = 64 * sizeof(gid_t);
        gid_t *g = malloc(gl);
        while (g && getsockopt(e->conn_fd, SOL_SOCKET, SO_PEERGROUPS, g, &gl) != 0 && errno == ERANGE) {
            gid_t *bigger = realloc(g, gl);
            if (!bigger) {
                free(g);
                g = NULL;
            }
            g = bigger;
        }
        if (!g)
            err = ERROR_NOT_ENOUGH_MEMORY;
        else if (gl % sizeof(gid_t) != 0)
            err = ERROR_INVALID_DATA;
        if (err) {
            free(g);
        } else {
            *groups = g;
            *ngroups = (int)(gl / sizeof(gid_t));
        }
    }
    pthread_mutex_unlock(&e->lock);
    return err;
}

/* The account name of `uid` (its number when it has none), UTF-8. */
static void uid_name(uid_t uid, char *out, size_t size)
{
    char buf[1024];
    struct passwd pw, *res = NULL;
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res)
        snprintf(out, size, "%s", res->pw_name);
    else
        snprintf(out, size, "%u", (unsigned)uid);
}

/* --- SetNamedPipeHandleState, GetNamedPipeHandleState, GetNamedPipeInfo ----------- */

WINBASEAPI BOOL WINAPI SetNamedPipeHandleState(HANDLE hNamedPipe, LPDWORD lpMode, LPDWORD lpMaxCollectionCount,
                                               LPDWORD lpCollectDataTimeout)
{
    struct target t;
    DWORD err = target_get(hNamedPipe, &t, ERROR_INVALID_PARAMETER);
    if (err)
        return wi_fail_bool(err);
    DWORD mode = lpMode ? *lpMode : 0;
    if (!(t.pin.access & FILE_WRITE_ATTRIBUTES))
        err = ERROR_ACCESS_DENIED; /* documented: GENERIC_WRITE, or GENERIC_READ | FILE_WRITE_ATTRIBUTES */
    else if (lpMaxCollectionCount || lpCollectDataTimeout)
        err = ERROR_INVALID_PARAMETER; /* they concern remote clients only; Windows refuses them locally */
    else if (mode & ~(PIPE_READMODE_MESSAGE | PIPE_NOWAIT))
        err = ERROR_INVALID_PARAMETER;
    else if ((mode & PIPE_READMODE_MESSAGE) && !(t.e && t.e->msgtype))
        err = ERROR_INVALID_PARAMETER; /* a byte pipe cannot be read as messages */
    else if (!t.e && (mode & PIPE_NOWAIT))
        err = ERROR_NOT_SUPPORTED; /* anonymous pipes: see docs/pipes.md */
    else if (lpMode && t.e)
        atomic_store(&t.e->mode, mode);
    target_put(&t);
    return wi_result_bool(err);
}

/* GetNamedPipeHandleState; `user`: the client's account name (UTF-8). */
static DWORD handle_state(HANDLE h, LPDWORD state, LPDWORD instances, LPDWORD max_collect, LPDWORD collect_timeout,
                          char *user, size_t user_size)
{
    struct target t;
    DWORD err = target_get(h, &t, ERROR_INVALID_PARAMETER);
    if (err)
        return err;
    if (max_collect || collect_timeout) {
        err = ERROR_INVALID_PARAMETER; /* must be NULL for a local pipe (documented) */
    } else if (t.e) {
        struct ucred cred;
        if (user && !t.e->server)
            err = ERROR_INVALID_PARAMETER; /* documented: only the server asks */
        else if (user && !(err = client_creds(t.e, &cred, NULL, NULL)))
            uid_name(cred.uid, user, user_size);
        if (!err && state)
            *state = atomic_load(&t.e->mode);
        if (!err && instances)
            *instances = instances_of(t.e);
    } else {
        /* An anonymous pipe: byte mode, blocking, one instance; both ends
         * belong to the user who created it. */
        if (user)
            uid_name(geteuid(), user, user_size);
        if (state)
            *state = 0;
        if (instances)
            *instances = 1;
    }
    target_put(&t);
    return err;
}

#define USER_NAME_MAX 256

WINBASEAPI BOOL WINAPI GetNamedPipeHandleStateA(HANDLE hNamedPipe, LPDWORD lpState, LPDWORD lpCurInstances,
                                                LPDWORD lpMaxCollectionCount, LPDWORD lpCollectDataTimeout,
                                                LPSTR lpUserName, DWORD nMaxUserNameSize)
{
    char name[USER_NAME_MAX];
    DWORD err = handle_state(hNamedPipe, lpState, lpCurInstances, lpMaxCollectionCount, lpCollectDataTimeout,
                             lpUserName ? name : NULL, sizeof name);
    if (!err && lpUserName) {
        if (strlen(name) + 1 > nMaxUserNameSize)
            err = ERROR_INSUFFICIENT_BUFFER;
        else
            memcpy(lpUserName, name, strlen(name) + 1);
    }
    return wi_result_bool(err);
}

WINBASEAPI BOOL WINAPI GetNamedPipeHandleStateW(HANDLE hNamedPipe, LPDWORD lpState, LPDWORD lpCurInstances,
                                                LPDWORD lpMaxCollectionCount, LPDWORD lpCollectDataTimeout,
                                                LPWSTR lpUserName, DWORD nMaxUserNameSize)
{
    char name[USER_NAME_MAX];
    DWORD err = handle_state(hNamedPipe, lpState, lpCurInstances, lpMaxCollectionCount, lpCollectDataTimeout,
                             lpUserName ? name : NULL, sizeof name);
    if (!err && lpUserName && wi_utf8_to_wide_buf(name, lpUserName, nMaxUserNameSize) + 1 > nMaxUserNameSize)
        err = ERROR_INSUFFICIENT_BUFFER;
    return wi_result_bool(err);
}

WINBASEAPI BOOL WINAPI GetNamedPipeHandleStateW16(HANDLE hNamedPipe, LPDWORD lpState, LPDWORD lpCurInstances,
                                                  LPDWORD lpMaxCollectionCount, LPDWORD lpCollectDataTimeout,
                                                  uint16_t *lpUserName, DWORD nMaxUserNameSize)
{
    char name[USER_NAME_MAX];
    wchar_t wide[USER_NAME_MAX];
    DWORD err = handle_state(hNamedPipe, lpState, lpCurInstances, lpMaxCollectionCount, lpCollectDataTimeout,
                             lpUserName ? name : NULL, sizeof name);
    if (!err && lpUserName) {
        wi_utf8_to_wide_buf(name, wide, USER_NAME_MAX);
        if (wi_wide_to_utf16_buf(wide, lpUserName, nMaxUserNameSize) + 1 > nMaxUserNameSize)
            err = ERROR_INSUFFICIENT_BUFFER;
    }
    return wi_result_bool(err);
}

WINBASEAPI BOOL WINAPI GetNamedPipeInfo(HANDLE hNamedPipe, LPDWORD lpFlags, LPDWORD lpOutBufferSize,
                                        LPDWORD lpInBufferSize, LPDWORD lpMaxInstances)
{
    struct target t;
    DWORD err = target_get(hNamedPipe, &t, ERROR_INVALID_PARAMETER);
    DWORD flags, out, in, max;
    if (err)
        return wi_fail_bool(err);
    if (t.e) {
        flags = (t.e->server ? PIPE_SERVER_END : PIPE_CLIENT_END) | (t.e->msgtype ? PIPE_TYPE_MESSAGE : 0);
        out = t.e->out_size;
        in = t.e->in_size;
        max = atomic_load(&shared_of(t.e)->max_instances);
    } else {
        /* An anonymous pipe's buffer is the Linux pipe's capacity, which
         * CreatePipe set from nSize when Linux took it. */
        int cap = fcntl(t.fifo, F_GETPIPE_SZ);
        flags = fifo_is_read_end(t.fifo) ? PIPE_SERVER_END : PIPE_CLIENT_END;
        out = in = cap > 0 ? (DWORD)cap : 0;
        max = 1;
    }
    target_put(&t);
    if (lpFlags)
        *lpFlags = flags;
    if (lpOutBufferSize)
        *lpOutBufferSize = out;
    if (lpInBufferSize)
        *lpInBufferSize = in;
    if (lpMaxInstances)
        *lpMaxInstances = max;
    return TRUE;
}

/* --- PeekNamedPipe ------------------------------------------------------------------- */

static DWORD end_peek(struct pipe_end *e, void *buf, DWORD len, struct wi_ps_peek *out)
{
    int fd, queued = 0;
    uint32_t gen;
    bool gone = false;
    memset(out, 0, sizeof *out);
    DWORD err = conn_begin(e, &fd, &gen);
    if (err)
        /* A server end without a client (listening or disconnected):
         * Windows says ERROR_BAD_PIPE, not what ReadFile says. */
        return e->server ? ERROR_BAD_PIPE : err;
    if (pthread_mutex_trylock(&e->rd_lock) != 0) {
        /* A thread blocked in ReadFile holds rd_lock: it took whatever was
         * there, and a peek must not wait for it. With data queued, the
         * holder is busy copying it: wait for it then. */
        if (ioctl(fd, FIONREAD, &queued) == 0 && queued == 0)
            return conn_done(e, gen, ERROR_SUCCESS, peer_gone(fd), ERROR_BROKEN_PIPE);
        pthread_mutex_lock(&e->rd_lock);
    }
    err = wi_ps_peek(fd, rx_of(e, gen), stream_how(e, 0), buf, len, out, &gone);
    pthread_mutex_unlock(&e->rd_lock);
    err = conn_done(e, gen, err, gone, ERROR_BROKEN_PIPE);
    if (err == ERROR_PIPE_NOT_CONNECTED && e->server)
        err = ERROR_BAD_PIPE;
    return err;
}

WINBASEAPI BOOL WINAPI PeekNamedPipe(HANDLE hNamedPipe, LPVOID lpBuffer, DWORD nBufferSize, LPDWORD lpBytesRead,
                                     LPDWORD lpTotalBytesAvail, LPDWORD lpBytesLeftThisMessage)
{
    struct target t;
    struct wi_ps_peek pk;
    bool gone = false;
    DWORD err = target_get(hNamedPipe, &t, ERROR_INVALID_FUNCTION);
    if (err)
        return wi_fail_bool(err);
    if (!lpBuffer)
        nBufferSize = 0;
    if (!(t.pin.access & FILE_READ_DATA))
        err = ERROR_ACCESS_DENIED; /* Windows' peek request needs read access */
    else if (t.e)
        err = end_peek(t.e, lpBuffer, nBufferSize, &pk);
    else if (!(err = wi_ps_fifo_peek(t.fifo, lpBuffer, nBufferSize, &pk, &gone)) && gone)
        err = ERROR_BROKEN_PIPE;
    target_put(&t);
    if (err)
        return wi_fail_bool(err);
    if (lpBytesRead)
        *lpBytesRead = pk.copied;
    if (lpTotalBytesAvail)
        *lpTotalBytesAvail = pk.avail;
    /* The first message's length less what was copied; on a byte pipe
     * (length 0) Windows gives 0 minus the bytes copied, and so do we. */
    if (lpBytesLeftThisMessage)
        *lpBytesLeftThisMessage = pk.msg_left - pk.copied;
    return TRUE;
}

/* --- TransactNamedPipe, CallNamedPipe -------------------------------------------------- */

WINBASEAPI BOOL WINAPI TransactNamedPipe(HANDLE hNamedPipe, LPVOID lpInBuffer, DWORD nInBufferSize,
                                         LPVOID lpOutBuffer, DWORD nOutBufferSize, LPDWORD lpBytesRead,
                                         LPOVERLAPPED lpOverlapped)
{
    struct target t;
    DWORD done = 0, err;
    if (lpBytesRead)
        *lpBytesRead = 0;
    if (!lpBytesRead && !lpOverlapped)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    if ((err = target_get(hNamedPipe, &t, ERROR_INVALID_FUNCTION)))
        return wi_fail_bool(err);
    if (!t.e)
        err = ERROR_BAD_PIPE; /* an anonymous pipe is a byte pipe */
    else if ((!lpInBuffer && nInBufferSize) || (!lpOutBuffer && nOutBufferSize))
        err = ERROR_NOACCESS;
    else if ((t.pin.access & (FILE_READ_DATA | FILE_WRITE_DATA)) != (FILE_READ_DATA | FILE_WRITE_DATA))
        err = ERROR_ACCESS_DENIED;
    else if (lpOverlapped) {
        struct wi_io io = {.op = WI_IO_TRANSACT,
                           .buf = lpOutBuffer,
                           .len = nOutBufferSize,
                           .wbuf = lpInBuffer,
                           .wlen = nInBufferSize,
                           .ov = lpOverlapped};
        err = wi_async_start(t.pin.obj, &io, NULL, &done);
    } else {
        err = end_transact(t.e, lpInBuffer, nInBufferSize, lpOutBuffer, nOutBufferSize, &done);
    }
    target_put(&t);
    if (lpBytesRead)
        *lpBytesRead = done;
    return wi_result_bool(err);
}

/* Milliseconds until `end` (NULL: INFINITE). */
static DWORD ms_until(const struct timespec *end)
{
    struct timespec now;
    if (!end)
        return INFINITE;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
    return ms <= 0 ? 0 : ms >= INFINITE ? INFINITE - 1 : (DWORD)ms;
}

/* CallNamedPipe: CreateFile (waiting up to nTimeOut for an instance while
 * the pipe is busy), message read mode, one transaction, close. */
static DWORD call_named_pipe(const char *name, LPVOID in, DWORD nin, LPVOID out, DWORD nout, LPDWORD read,
                             DWORD timeout)
{
    struct timespec end_ts, *end = NULL;
    HANDLE h;
    DWORD err;
    if (read)
        *read = 0;
    if (!read)
        return ERROR_INVALID_PARAMETER;
    if (!name)
        return ERROR_PATH_NOT_FOUND;
    if (timeout != NMPWAIT_USE_DEFAULT_WAIT && timeout != NMPWAIT_NOWAIT)
        end = wi_deadline(timeout, &end_ts);
    while ((err = wi_pipe_client_open(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, 0, &h))) {
        if (err != ERROR_PIPE_BUSY || timeout == NMPWAIT_NOWAIT)
            return err;
        /* Another client may take the instance we waited for: wait again
         * for what is left of the time-out. */
        DWORD wait = timeout == NMPWAIT_USE_DEFAULT_WAIT ? NMPWAIT_USE_DEFAULT_WAIT : ms_until(end);
        if (timeout != NMPWAIT_USE_DEFAULT_WAIT && wait == 0)
            return ERROR_SEM_TIMEOUT;
        if ((err = wait_named_pipe(name, wait)))
            return err;
    }
    struct wi_pin pin;
    if (!(err = wi_handle_get(h, WI_TYPE_PIPE, 0, &pin))) {
        struct pipe_end *e = end_of(pin.obj);
        if (!e->msgtype) {
            err = ERROR_INVALID_PARAMETER; /* SetNamedPipeHandleState's answer: not a message pipe */
        } else {
            atomic_store(&e->mode, PIPE_READMODE_MESSAGE);
            err = end_transact(e, in, nin, out, nout, read);
        }
        wi_handle_put(&pin);
    }
    CloseHandle(h); /* the rest of a reply larger than `out` goes with it */
    return err;
}

WINBASEAPI BOOL WINAPI CallNamedPipeA(LPCSTR lpNamedPipeName, LPVOID lpInBuffer, DWORD nInBufferSize,
                                      LPVOID lpOutBuffer, DWORD nOutBufferSize, LPDWORD lpBytesRead, DWORD nTimeOut)
{
    return wi_result_bool(
        call_named_pipe(lpNamedPipeName, lpInBuffer, nInBufferSize, lpOutBuffer, nOutBufferSize, lpBytesRead, nTimeOut));
}

WINBASEAPI BOOL WINAPI CallNamedPipeW(LPCWSTR lpNamedPipeName, LPVOID lpInBuffer, DWORD nInBufferSize,
                                      LPVOID lpOutBuffer, DWORD nOutBufferSize, LPDWORD lpBytesRead, DWORD nTimeOut)
{
    WI_UTF8_ARG(name, lpNamedPipeName);
    if (WI_UTF8_FAILED(name, lpNamedPipeName))
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    DWORD err = call_named_pipe(name, lpInBuffer, nInBufferSize, lpOutBuffer, nOutBufferSize, lpBytesRead, nTimeOut);
    WI_UTF8_FREE(name);
    return wi_result_bool(err);
}

WINBASEAPI BOOL WINAPI CallNamedPipeW16(const uint16_t *lpNamedPipeName, LPVOID lpInBuffer, DWORD nInBufferSize,
                                        LPVOID lpOutBuffer, DWORD nOutBufferSize, LPDWORD lpBytesRead,
                                        DWORD nTimeOut)
{
    wchar_t *wide = lpNamedPipeName ? wi_wide_from_utf16(lpNamedPipeName) : NULL;
    if (lpNamedPipeName && !wide)
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    BOOL ok = CallNamedPipeW(wide, lpInBuffer, nInBufferSize, lpOutBuffer, nOutBufferSize, lpBytesRead, nTimeOut);
    free(wide);
    return ok;
}

/* --- the processes and sessions at both ends ---------------------------------------- */

/* The process at the client (`client`) or server end of the connection.
 * A client end answers from what it recorded when it connected, also after
 * the server closed; a server end takes its client's from the connection
 * (the kernel's record of the connecting process), also after the client
 * closed, until DisconnectNamedPipe (then ERROR_NOT_FOUND, as Windows). */
static DWORD pipe_party(HANDLE h, bool client, ULONG *out)
{
    struct target t;
    DWORD err = target_get(h, &t, ERROR_INVALID_FUNCTION);
    if (err)
        return err;
    struct pipe_end *e = t.e;
    if (!out) {
        err = ERROR_INSUFFICIENT_BUFFER;
    } else if (!e) {
        err = ERROR_NOT_SUPPORTED; /* anonymous pipes record no processes */
    } else if (!e->server) {
        if (client_disconnected(e))
            err = ERROR_PIPE_NOT_CONNECTED;
        else
            *out = client ? e->client_pid : e->server_pid;
    } else if (!client) {
        *out = atomic_load(&slot_of(e)->server_pid);
    } else {
        struct ucred cred;
        socklen_t l = sizeof cred;
        pthread_mutex_lock(&e->lock);
        if (e->state == END_LISTENING && fd_readable(e->listen_fd))
            err = server_accept(e); /* a client that opened the instance is connected */
        if (!err && e->state != END_CONNECTED)
            err = ERROR_NOT_FOUND;
        else if (!err && getsockopt(e->conn_fd, SOL_SOCKET, SO_PEERCRED, &cred, &l) != 0)
            err = wi_error_from_errno(errno);
        else if (!err)
            *out = (ULONG)cred.pid;
        pthread_mutex_unlock(&e->lock);
    }
    target_put(&t);
    return err;
}

WINBASEAPI BOOL WINAPI GetNamedPipeClientProcessId(HANDLE Pipe, PULONG ClientProcessId)
{
    return wi_result_bool(pipe_party(Pipe, true, ClientProcessId));
}

WINBASEAPI BOOL WINAPI GetNamedPipeServerProcessId(HANDLE Pipe, PULONG ServerProcessId)
{
    return wi_result_bool(pipe_party(Pipe, false, ServerProcessId));
}

/* Every winipc process is in session 1 (see ProcessIdToSessionId). */
static DWORD pipe_session(HANDLE h, bool client, ULONG *out)
{
    ULONG pid;
    DWORD err = pipe_party(h, client, out ? &pid : NULL);
    if (!err)
        *out = 1;
    return err;
}

WINBASEAPI BOOL WINAPI GetNamedPipeClientSessionId(HANDLE Pipe, PULONG ClientSessionId)
{
    return wi_result_bool(pipe_session(Pipe, true, ClientSessionId));
}

WINBASEAPI BOOL WINAPI GetNamedPipeServerSessionId(HANDLE Pipe, PULONG ServerSessionId)
{
    return wi_result_bool(pipe_session(Pipe, false, ServerSessionId));
}

/* --- ImpersonateNamedPipeClient, RevertToSelf ----------------------------------------- */

/* Impersonation is the calling thread taking its client's identity for
 * access checks. Linux checks file access (every named object, pipe and
 * file winipc opens is a file) against a thread's fsuid, fsgid and
 * supplementary groups, and all three can be set per thread: setfsuid and
 * setfsgid are per thread, and so is the raw setgroups system call (glibc's
 * wrapper changes every thread; this one does not). Taking another user's
 * ids needs CAP_SETUID and CAP_SETGID (root), as taking a client's token
 * needs SeImpersonatePrivilege on Windows; without them, a client of
 * another user gives ERROR_PRIVILEGE_NOT_HELD. A client of our own user
 * needs nothing changed. The ids are those the kernel recorded when the
 * client connected. */
static WI_THREAD_LOCAL struct {
    bool active;
    int ngroups;
    gid_t *groups; /* the thread's own supplementary groups, while changed */
} imp;

static void revert_to_self(void)
{
    if (!imp.active)
        return;
    setfsuid(geteuid());
    setfsgid(getegid());
    if (imp.groups) {
        syscall(SYS_setgroups, (size_t)imp.ngroups, imp.groups);
        free(imp.groups);
        imp.groups = NULL;
    }
    imp.active = false;
}

static DWORD impersonate(const struct ucred *cred, const gid_t *groups, int ngroups, DWORD level)
{
    revert_to_self();
    if (cred->uid == geteuid() && cred->gid == getegid()) {
        imp.active = true;
        return ERROR_SUCCESS;
    }
    /* A client that allowed identification only (SECURITY_SQOS_PRESENT with
     * SECURITY_ANONYMOUS or SECURITY_IDENTIFICATION): Windows gives a token
     * no access check accepts; here the call fails. */
    if (level < 2)
        return ERROR_BAD_IMPERSONATION_LEVEL;
    int n = getgroups(0, NULL);
    gid_t *saved = malloc(sizeof(gid_t) * (size_t)(n > 0 ? n : 1));
    if (!saved)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (n < 0 || (n = getgroups(n, saved)) < 0) {
        free(saved);
        return wi_error_from_errno(errno);
    }
    if (syscall(SYS_setgroups, (size_t)ngroups, groups) != 0) {
        DWORD err = errno == EPERM ? ERROR_PRIVILEGE_NOT_HELD : wi_error_from_errno(errno);
        free(saved);
        return err;
    }
    setfsgid(cred->gid);
    setfsuid(cred->uid);
    /* setfsuid/setfsgid cannot fail visibly: read the ids back (an invalid
     * id changes nothing and returns the current one). */
    if ((uid_t)setfsuid((uid_t)-1) != cred->uid || (gid_t)setfsgid((gid_t)-1) != cred->gid) {
        setfsuid(geteuid());
        setfsgid(getegid());
        syscall(SYS_setgroups, (size_t)n, saved);
        free(saved);
        return ERROR_PRIVILEGE_NOT_HELD;
    }
    imp.active = true;
    imp.groups = saved;
    imp.ngroups = n;
    return ERROR_SUCCESS;
}

WINBASEAPI BOOL WINAPI ImpersonateNamedPipeClient(HANDLE hNamedPipe)
{
    struct target t;
    struct ucred cred;
    gid_t *groups = NULL;
    int ngroups = 0;
    DWORD err = target_get(hNamedPipe, &t, ERROR_INVALID_FUNCTION);
    if (err)
        return wi_fail_bool(err);
    if (!t.e)
        err = ERROR_NOT_SUPPORTED; /* anonymous pipes record no client */
    else if (!t.e->server)
        err = ERROR_INVALID_FUNCTION; /* a server-end request, as ConnectNamedPipe */
    else if (!(err = client_creds(t.e, &cred, &groups, &ngroups)))
        err = impersonate(&cred, groups, ngroups, atomic_load(&slot_of(t.e)->client_level));
    free(groups);
    target_put(&t);
    return wi_result_bool(err);
}

WINBASEAPI BOOL WINAPI RevertToSelf(void)
{
    revert_to_self(); /* nothing to revert is success too */
    return TRUE;
}
