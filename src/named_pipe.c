/* SPDX-License-Identifier: MIT */
/* Named pipes, byte mode: CreateNamedPipe, ConnectNamedPipe,
 * DisconnectNamedPipe, WaitNamedPipe, the client end that CreateFile opens
 * (wi_pipe_client_open), and ReadFile/WriteFile/FlushFileBuffers on both
 * ends through the ops table.
 *
 * Transport. One connected AF_UNIX SOCK_STREAM socket pair per connection:
 * a ReadFile is one recv(), a WriteFile one send(MSG_NOSIGNAL) (looping only
 * on partial sends), so a round trip costs what a raw AF_UNIX ping-pong
 * costs. Message mode will add a small frame header on the same sockets.
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

#include "error.h"
#include "futex.h"
#include "handle.h"
#include "namespace.h"
#include "object.h"
#include "security.h"
#include "unicode.h"
#include "wait.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* --- shared state ------------------------------------------------------------ */

#define PIPE_LAYOUT_MAGIC 0x45504950u /* "PIPE" */
#define PIPE_LAYOUT_VERSION 2u
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
 * `server_pid` and `listen_order` (when it started listening: clients take
 * the instance that has listened longest, as Windows does) by the owner;
 * `disconnected` by the owner's DisconnectNamedPipe; `drained[d]` words by
 * the reader of direction d, their `waiters` by flushers. All atomic: no
 * lock guards them. */
struct pipe_slot {
    _Atomic uint32_t state;
    _Atomic uint32_t server_pid;
    _Atomic uint32_t listen_order;
    uint32_t reserved;
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
    _Atomic uint32_t pipe_mode; /* PIPE_TYPE_* (byte only for now) */
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
    unsigned slot;
    uint64_t ino; /* of the object file: names the socket files */

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

static bool is_sep(char c)
{
    return c == '\\' || c == '/';
}

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

/* NAME_VERBATIM: "\\?\pipe\x", where Windows takes the rest as it is. */
enum name_kind { NAME_LOCAL, NAME_VERBATIM, NAME_REMOTE, NAME_BAD };

/* Split "\\.\pipe\rest" (either slash, "pipe" in any case). Remote names
 * "\\server\pipe\rest" are recognised so that callers can refuse them with
 * ERROR_NOT_SUPPORTED rather than ERROR_INVALID_NAME. */
static enum name_kind split_pipe_name(const char *name, const char **rest)
{
    if (strncmp(name, "\\\\?\\", 4) == 0 && strncasecmp(name + 4, "pipe\\", 5) == 0) {
        *rest = name + 9;
        return NAME_VERBATIM;
    }
    if (!is_sep(name[0]) || !is_sep(name[1]))
        return NAME_BAD;
    const char *host = name + 2, *p = host;
    while (*p && !is_sep(*p))
        p++;
    if (p == host || !*p || strncasecmp(p + 1, "pipe", 4) != 0 || !is_sep(p[5]))
        return NAME_BAD;
    *rest = p + 6;
    return (p - host == 1 && host[0] == '.') ? NAME_LOCAL : NAME_REMOTE;
}

/* The name inside the pipe namespace: Windows turns '/' into '\' in "\\.\"
 * paths (not in "\\?\" ones), so both spellings reach the same pipe. */
static DWORD pipe_ns_name(const char *rest, enum name_kind kind, char **out)
{
    char *n = strdup(rest);
    if (!n)
        return ERROR_NOT_ENOUGH_MEMORY;
    for (char *p = n; *p && kind == NAME_LOCAL; p++)
        if (*p == '/')
            *p = '\\';
    *out = n;
    return ERROR_SUCCESS;
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

/* One receive. A zero-byte read waits for data without taking any, as
 * Windows' does. *gone: the peer closed (end of stream or reset). */
static DWORD sock_read(int fd, void *buf, DWORD len, DWORD *done, bool *gone)
{
    char probe;
    *done = 0;
    *gone = false;
    for (;;) {
        ssize_t n = len ? recv(fd, buf, len, 0) : recv(fd, &probe, 1, MSG_PEEK);
        if (n > 0) {
            *done = len ? (DWORD)n : 0;
            return ERROR_SUCCESS;
        }
        if (n == 0 || errno == ECONNRESET) {
            *gone = true;
            return ERROR_SUCCESS;
        }
        if (errno != EINTR)
            return wi_error_from_errno(errno);
    }
}

/* Send everything (a blocking send returns short only when interrupted).
 * *gone: the peer is gone (EPIPE/ECONNRESET); *done has what went out. */
static DWORD sock_write(int fd, const void *buf, DWORD len, DWORD *done, bool *gone)
{
    const char *p = buf;
    DWORD sent = 0;
    *gone = false;
    do {
        ssize_t n = send(fd, p + sent, len - sent, MSG_NOSIGNAL);
        if (n >= 0) {
            sent += (DWORD)n;
        } else if (errno == EPIPE || errno == ECONNRESET) {
            *gone = true;
            break;
        } else if (errno != EINTR) {
            *done = sent;
            return wi_error_from_errno(errno);
        }
    } while (sent < len);
    *done = sent;
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

/* --- ops ------------------------------------------------------------------------- */

static bool client_disconnected(struct pipe_end *e)
{
    return atomic_load(&slot_of(e)->disconnected[e->gen % RING]) == e->gen;
}

static DWORD pipe_read(struct wi_object *obj, void *buf, DWORD len, DWORD *done)
{
    struct pipe_end *e = end_of(obj);
    DWORD err;
    bool gone;
    *done = 0;
    if (!e->can_read)
        return ERROR_ACCESS_DENIED;
    if (!e->server) {
        /* DisconnectNamedPipe discards what the server wrote but we did not
         * read yet. */
        if (client_disconnected(e))
            return ERROR_PIPE_NOT_CONNECTED;
        err = sock_read(e->conn_fd, buf, len, done, &gone);
        if (!err && gone)
            err = client_disconnected(e) ? ERROR_PIPE_NOT_CONNECTED : ERROR_BROKEN_PIPE;
        if (!err && *done)
            drained_bump(slot_of(e), TO_CLIENT);
        return err;
    }
    int fd;
    uint32_t gen;
    pthread_mutex_lock(&e->lock);
    err = server_io_begin(e, &fd, &gen);
    pthread_mutex_unlock(&e->lock);
    if (err)
        return err;
    err = sock_read(fd, buf, len, done, &gone);
    pthread_mutex_lock(&e->lock);
    if (!err && gone)
        err = server_lost(e, gen) ? ERROR_PIPE_NOT_CONNECTED : ERROR_BROKEN_PIPE;
    user_done(e);
    pthread_mutex_unlock(&e->lock);
    if (!err && *done)
        drained_bump(slot_of(e), TO_SERVER);
    return err;
}

static DWORD pipe_write(struct wi_object *obj, const void *buf, DWORD len, DWORD *done)
{
    struct pipe_end *e = end_of(obj);
    DWORD err;
    bool gone;
    *done = 0;
    if (!e->can_write)
        return ERROR_ACCESS_DENIED;
    if (!e->server) {
        err = sock_write(e->conn_fd, buf, len, done, &gone);
        if (!err && gone)
            err = client_disconnected(e) ? ERROR_PIPE_NOT_CONNECTED : ERROR_NO_DATA;
        return err;
    }
    int fd;
    uint32_t gen;
    pthread_mutex_lock(&e->lock);
    err = server_io_begin(e, &fd, &gen);
    pthread_mutex_unlock(&e->lock);
    if (err)
        return err;
    err = sock_write(fd, buf, len, done, &gone);
    pthread_mutex_lock(&e->lock);
    if (!err && gone)
        err = server_lost(e, gen) ? ERROR_PIPE_NOT_CONNECTED : ERROR_NO_DATA;
    user_done(e);
    pthread_mutex_unlock(&e->lock);
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
}

static DWORD pipe_export(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len);
static DWORD pipe_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out);

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
    /* Pipe handles are synchronous for now (FILE_FLAG_OVERLAPPED is
     * refused): an OVERLAPPED request completes at once, as Windows does on
     * a synchronous handle. */
    .read_overlapped = wi_sync_read_overlapped,
    .write_overlapped = wi_sync_write_overlapped,
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
    atomic_store(&s->pipe_mode, p->pipe_mode);
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
         * taken is ERROR_PIPE_BUSY. A different nMaxInstances is accepted:
         * the first instance's value rules. */
        if (first)
            return ERROR_ACCESS_DENIED;
        if (live >= atomic_load(&s->max_instances))
            return ERROR_PIPE_BUSY;
        if (atomic_load(&s->open_mode) != p->open_mode)
            return ERROR_ACCESS_DENIED;
    }
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
    enum name_kind kind;
    DWORD err, hflags;
    bool world;

    if (!name)
        return wi_fail_invalid(ERROR_PATH_NOT_FOUND);
    kind = split_pipe_name(name, &rest);
    if ((kind != NAME_LOCAL && kind != NAME_VERBATIM) || !*rest || utf16_units(name) > 256)
        return wi_fail_invalid(ERROR_INVALID_NAME);
    if (!direction || (open_mode & ~(open_flags | PIPE_ACCESS_DUPLEX)) || (pipe_mode & ~pipe_flags) ||
        max_instances == 0 || max_instances > PIPE_UNLIMITED_INSTANCES)
        return wi_fail_invalid(ERROR_INVALID_PARAMETER);
    if ((pipe_mode & PIPE_READMODE_MESSAGE) && !(pipe_mode & PIPE_TYPE_MESSAGE))
        return wi_fail_invalid(ERROR_INVALID_PARAMETER); /* a byte pipe cannot be read as messages */
    /* Message mode, non-blocking mode and overlapped handles come with the
     * next issue; refused rather than half done. */
    if ((pipe_mode & (PIPE_TYPE_MESSAGE | PIPE_NOWAIT)) || (open_mode & (FILE_FLAG_OVERLAPPED | ACCESS_SYSTEM_SECURITY)))
        return wi_fail_invalid(ERROR_NOT_SUPPORTED);
    err = wi_sa_parse_for(sa, &wi_pipe_ops, &hflags, &world);
    if (err)
        return wi_fail_invalid(err);

    struct pipe_params p = {direction, pipe_mode & PIPE_TYPE_MESSAGE, max_instances, out_size, in_size, timeout,
                            world};
    struct pipe_end *e = end_alloc();
    char *ns_name = NULL;
    HANDLE h = NULL;
    if (!e)
        return wi_fail_invalid(ERROR_NOT_ENOUGH_MEMORY);
    e->server = true;
    e->can_read = direction & PIPE_ACCESS_INBOUND;
    e->can_write = direction & PIPE_ACCESS_OUTBOUND;
    err = pipe_ns_name(rest, kind, &ns_name);
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
    enum name_kind kind = split_pipe_name(name_utf8, &rest);

    switch (kind) {
    case NAME_LOCAL:
    case NAME_VERBATIM:
        break;
    case NAME_REMOTE:
        return ERROR_NOT_SUPPORTED; /* pipes on another machine: a later phase (SMB) */
    default:
        return ERROR_INVALID_NAME;
    }
    if (!*rest)
        return ERROR_NOT_SUPPORTED; /* the pipe file system's root directory */
    if (utf16_units(name_utf8) > 256)
        return ERROR_FILE_NOT_FOUND; /* longer than any pipe can be named */
    if (flags_and_attrs & FILE_FLAG_OVERLAPPED)
        return ERROR_NOT_SUPPORTED; /* overlapped pipe handles: next issue */
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
    err = pipe_ns_name(rest, kind, &ns_name);
    if (!err)
        err = pipe_file_open(e, ns_name, false, false, NULL);
    free(ns_name);
    if (!err) {
        /* The client must open against the pipe's direction: reading an
         * inbound pipe or writing an outbound one is refused, as Windows
         * does at open time. */
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

static DWORD server_connect(struct pipe_end *e)
{
    DWORD err = ERROR_SUCCESS;
    pthread_mutex_lock(&e->lock);
    switch (e->state) {
    case END_CONNECTED:
        /* Windows: the previous client is still there (ERROR_PIPE_CONNECTED)
         * or has closed its end and the server has not disconnected yet
         * (ERROR_NO_DATA). */
        err = peer_gone(e->conn_fd) ? ERROR_NO_DATA : ERROR_PIPE_CONNECTED;
        pthread_mutex_unlock(&e->lock);
        return err;
    case END_DISCONNECTED:
        err = server_listen(e);
        break;
    case END_LISTENING:
        if (fd_readable(e->listen_fd)) {
            /* A client opened the instance before this call: connected,
             * reported with ERROR_PIPE_CONNECTED, or ERROR_NO_DATA when it
             * already left again. */
            err = server_accept(e);
            if (!err)
                err = peer_gone(e->conn_fd) ? ERROR_NO_DATA : ERROR_PIPE_CONNECTED;
            pthread_mutex_unlock(&e->lock);
            return err;
        }
        break;
    }
    while (!err) {
        int fd = e->listen_fd;
        uint32_t gen = e->gen;
        e->users++;
        pthread_mutex_unlock(&e->lock);
        err = wait_readable(fd);
        pthread_mutex_lock(&e->lock);
        user_done(e);
        if (err)
            break;
        if (e->gen != gen || e->state == END_DISCONNECTED) {
            err = ERROR_PIPE_NOT_CONNECTED; /* DisconnectNamedPipe ended the wait */
        } else if (e->state == END_CONNECTED) {
            break; /* another thread's ReadFile/WriteFile took the client */
        } else if (fd_readable(e->listen_fd)) {
            err = server_accept(e);
            break;
        }
    }
    pthread_mutex_unlock(&e->lock);
    return err;
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
    return ERROR_SUCCESS;
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
    enum name_kind kind = split_pipe_name(name, &rest);
    switch (kind) {
    case NAME_LOCAL:
    case NAME_VERBATIM:
        break;
    case NAME_REMOTE:
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
    DWORD err = pipe_ns_name(rest, kind, &ns_name);
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
    /* Overlapped connects arrive with overlapped pipe handles (next issue). */
    err = lpOverlapped ? ERROR_NOT_SUPPORTED : server_connect(end_of(pin.obj));
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
