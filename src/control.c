/* SPDX-License-Identifier: MIT */
/* The per-process control channel: DuplicateHandle into and out of other
 * processes.
 *
 * A handle table is private to its process, so a handle can only be made in
 * another process by that process itself. Every winipc process therefore
 * listens, from its start-up, on an abstract AF_UNIX SOCK_SEQPACKET socket
 * named "winipc/<hash of WINIPC_ROOT>/<pid>"; its service thread answers two
 * requests, one datagram each way:
 *   PUSH  "insert this object": type, access, flags and the object's export
 *         blob, with its fds in SCM_RIGHTS → the new handle value;
 *   PULL  "export handle H": the object's type, access and blob with its fds
 *         (closing H afterwards if DUPLICATE_CLOSE_SOURCE) → or an error.
 * Only a peer of the same uid (or root) is served (SO_PEERCRED), which is the
 * Linux form of Windows' PROCESS_DUP_HANDLE check on the caller's side.
 * The caller names the peer by its process object (a pidfd): after
 * connecting, the peer's SO_PEERCRED pid must be that pid and the pidfd must
 * still be alive, so a recycled pid is never mistaken for the process.
 *
 * Nothing is shared in memory: a peer dying mid-request just closes the
 * connection (the caller gets ERROR_INVALID_HANDLE, the fds in flight are
 * closed by the kernel). Objects whose export is not supported (threads)
 * fail with ERROR_NOT_SUPPORTED. A child made by fork() without exec has no
 * listener until it next creates a handle (wi_control_ensure). */
#include "control.h"

#include "error.h"
#include "handle.h"
#include "process.h"
#include "service.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define OP_PUSH 1
#define OP_PULL 2

struct request {
    uint32_t op;
    uint32_t type, access, flags;
    uint64_t handle; /* PULL/CLOSE: the handle in the peer */
    uint32_t close_source;
    uint32_t nfds;
    uint32_t blob_len;
    uint8_t blob[WI_EXPORT_BLOB_MAX];
};

struct reply {
    uint32_t err;
    uint32_t type, access, nfds;
    uint64_t handle; /* PUSH: the new handle */
    uint32_t blob_len;
    uint8_t blob[WI_EXPORT_BLOB_MAX];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int listen_fd = -1;
static pid_t listen_pid;

static void address_of(pid_t pid, struct sockaddr_un *sa, socklen_t *len)
{
    const char *root = getenv("WINIPC_ROOT");
    uint64_t h = 1469598103934665603ull;
    for (const char *p = root && *root ? root : "/dev/shm/winipc"; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    /* Abstract namespace (leading NUL): nothing on disk to clean up after a
     * crash, and the name vanishes with the process. */
    int n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "winipc/%016llx/%d", (unsigned long long)h, (int)pid);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static ssize_t send_msg(int fd, const void *buf, size_t len, const int *fds, unsigned nfds)
{
    struct iovec iov = {(void *)buf, len};
    union {
        char buf[CMSG_SPACE(sizeof(int) * WI_EXPORT_FDS_MAX)];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds) {
        msg.msg_control = u.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t r;
    do
        r = sendmsg(fd, &msg, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Receive one datagram; fds beyond what fits are closed. */
static ssize_t recv_msg(int fd, void *buf, size_t len, int *fds, unsigned *nfds)
{
    struct iovec iov = {buf, len};
    union {
        char buf[CMSG_SPACE(sizeof(int) * WI_EXPORT_FDS_MAX)];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    ssize_t r;
    do
        r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    *nfds = 0;
    if (r < 0)
        return r;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        unsigned n = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *in = (int *)CMSG_DATA(c);
        for (unsigned i = 0; i < n; i++) {
            if (*nfds < WI_EXPORT_FDS_MAX)
                fds[(*nfds)++] = in[i];
            else
                close(in[i]);
        }
    }
    return r;
}

static void close_fds(const int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        close(fds[i]);
}

/* Export the object behind `h` of this process: fds (which the caller
 * closes), blob, type and access. */
static DWORD export_handle(HANDLE h, DWORD desired, bool same_access, struct reply *rep, int *fds)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(h, WI_TYPE_NONE, 0, &pin);
    if (err)
        return err;
    unsigned nfds = 0, blob_len = 0;
    err = pin.obj->ops->export_fds(pin.obj, fds, &nfds, rep->blob, &blob_len);
    if (!err) {
        rep->type = pin.obj->ops->type;
        rep->access = same_access ? pin.access : wi_handle_map_access(pin.obj->ops, desired);
        rep->nfds = nfds;
        rep->blob_len = blob_len;
    }
    wi_handle_put(&pin);
    return err;
}

static DWORD import_handle(uint32_t type, DWORD access, DWORD flags, const int *fds, unsigned nfds, const void *blob,
                           unsigned blob_len, HANDLE *out)
{
    const struct wi_object_ops *ops = wi_ops_for_type((enum wi_type)type);
    struct wi_object *obj;
    if (!ops)
        return ERROR_INVALID_HANDLE;
    DWORD err = ops->import(fds, nfds, blob, blob_len, &obj);
    if (err)
        return err;
    err = wi_handle_insert(obj, access, flags, out);
    if (err)
        wi_object_release(obj);
    return err;
}

/* --- the server side (service thread) ---------------------------------------- */

static void serve(int conn)
{
    struct request req;
    struct reply rep;
    int fds[WI_EXPORT_FDS_MAX];
    unsigned nfds = 0;
    struct ucred cred;
    socklen_t clen = sizeof cred;

    memset(&rep, 0, sizeof rep);
    ssize_t n = recv_msg(conn, &req, sizeof req, fds, &nfds);
    if (n < (ssize_t)offsetof(struct request, blob) || req.blob_len > sizeof req.blob || req.nfds != nfds) {
        close_fds(fds, nfds);
        return;
    }
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || (cred.uid != geteuid() && cred.uid != 0)) {
        close_fds(fds, nfds);
        rep.err = ERROR_ACCESS_DENIED;
        send_msg(conn, &rep, offsetof(struct reply, blob), NULL, 0);
        return;
    }
    int out_fds[WI_EXPORT_FDS_MAX];
    unsigned out_n = 0;
    switch (req.op) {
    case OP_PUSH: {
        HANDLE h = NULL;
        rep.err = import_handle(req.type, req.access, req.flags, fds, nfds, req.blob, req.blob_len, &h);
        if (rep.err)
            close_fds(fds, nfds); /* import takes the fds only on success */
        rep.handle = (uint64_t)(uintptr_t)h;
        break;
    }
    case OP_PULL:
        close_fds(fds, nfds);
        rep.err = export_handle((HANDLE)(uintptr_t)req.handle, req.access, req.flags, &rep, out_fds);
        if (!rep.err)
            out_n = rep.nfds;
        if (req.close_source)
            CloseHandle((HANDLE)(uintptr_t)req.handle); /* even on failure, as Windows */
        break;
    default:
        close_fds(fds, nfds);
        rep.err = ERROR_INVALID_FUNCTION;
    }
    send_msg(conn, &rep, offsetof(struct reply, blob) + (rep.err ? 0 : rep.blob_len), out_fds, out_n);
    close_fds(out_fds, out_n);
}

static void on_connection(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (conn >= 0) {
        /* A stalled peer must not hold the service thread for long. */
        struct timeval tv = {1, 0};
        setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        serve(conn);
        close(conn);
    }
    pthread_mutex_lock(&lock);
    if (lfd == listen_fd)
        wi_service_watch(lfd, on_connection, arg); /* one-shot watches: re-arm */
    pthread_mutex_unlock(&lock);
}

DWORD wi_control_ensure(void)
{
    DWORD err = ERROR_SUCCESS;
    pthread_mutex_lock(&lock);
    if (listen_fd < 0 || listen_pid != getpid()) {
        /* After fork() the inherited socket is the parent's address. */
        if (listen_fd >= 0 && listen_pid != getpid())
            close(listen_fd);
        listen_fd = -1;
        struct sockaddr_un sa;
        socklen_t len;
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        address_of(getpid(), &sa, &len);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) != 0 || listen(fd, 16) != 0) {
            err = wi_error_from_errno(errno);
            if (fd >= 0)
                close(fd);
        } else {
            listen_fd = fd;
            listen_pid = getpid();
            err = wi_service_watch(fd, on_connection, (void *)(intptr_t)fd);
            if (!err)
                wi_process_mark_ready();
        }
    }
    pthread_mutex_unlock(&lock);
    return err;
}

/* Every winipc process is reachable from its start: a parent may duplicate
 * a handle into a child before the child calls anything. Runs after
 * inherit.c's start-up (priority 200), which installs the exit record that
 * wi_process_mark_ready() uses to tell the parent. */
__attribute__((constructor(400))) static void control_startup(void)
{
    wi_control_ensure();
}

/* --- the client side ---------------------------------------------------------- */

/* One request/reply exchange with process `proc` (a process object). */
static DWORD exchange(struct wi_object *proc, const struct request *req, const int *fds, unsigned nfds,
                      struct reply *rep, int *rfds, unsigned *rnfds)
{
    pid_t pid = wi_process_pid(proc);
    struct sockaddr_un sa;
    socklen_t len;
    struct ucred cred;
    socklen_t clen = sizeof cred;
    *rnfds = 0;
    if (!wi_process_alive(proc))
        return ERROR_INVALID_HANDLE; /* Windows: the target process has exited */
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return wi_error_from_errno(errno);
    address_of(pid, &sa, &len);
    DWORD err = ERROR_SUCCESS;
    int r = connect(fd, (struct sockaddr *)&sa, len);
    /* A child we just started may still be in its start-up: wait for it to
     * listen (it says so in its exit record). */
    if (r != 0 && errno == ECONNREFUSED && wi_process_wait_ready(proc, 5000))
        r = connect(fd, (struct sockaddr *)&sa, len);
    if (r != 0) {
        /* No listener: a process that does not use winipc. */
        err = errno == ECONNREFUSED ? ERROR_NOT_SUPPORTED : wi_error_from_errno(errno);
    } else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || cred.pid != pid ||
               !wi_process_alive(proc)) {
        err = ERROR_INVALID_HANDLE; /* someone else behind a recycled pid */
    } else {
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (send_msg(fd, req, offsetof(struct request, blob) + req->blob_len, fds, nfds) < 0) {
            err = wi_error_from_errno(errno);
        } else {
            memset(rep, 0, sizeof *rep);
            ssize_t n = recv_msg(fd, rep, sizeof *rep, rfds, rnfds);
            if (n < (ssize_t)offsetof(struct reply, blob) || rep->blob_len > sizeof rep->blob ||
                (!rep->err && rep->nfds != *rnfds)) {
                close_fds(rfds, *rnfds);
                *rnfds = 0;
                err = ERROR_INVALID_HANDLE; /* the peer died or misbehaved */
            } else {
                err = rep->err;
            }
        }
    }
    close(fd);
    return err;
}

DWORD wi_control_duplicate(struct wi_object *src_proc, HANDLE src, struct wi_object *dst_proc, HANDLE *out,
                           DWORD desired, bool inherit, DWORD options)
{
    bool src_local = wi_process_is_current(src_proc), dst_local = wi_process_is_current(dst_proc);
    bool same_access = options & DUPLICATE_SAME_ACCESS, close_source = options & DUPLICATE_CLOSE_SOURCE;
    struct reply obj; /* the exported object, wherever it came from */
    int fds[WI_EXPORT_FDS_MAX];
    DWORD err;

    memset(&obj, 0, sizeof obj);
    if (src_local) {
        err = export_handle(src, desired, same_access, &obj, fds);
        if (close_source)
            CloseHandle(src);
        if (err)
            return err;
    } else {
        struct request req = {.op = OP_PULL,
                              .handle = (uint64_t)(uintptr_t)src,
                              .access = desired,
                              .flags = same_access,
                              .close_source = close_source};
        unsigned n;
        err = exchange(src_proc, &req, NULL, 0, &obj, fds, &n);
        if (err)
            return err;
    }
    if (!out) {
        /* A NULL target handle: only the close of the source mattered. */
        close_fds(fds, obj.nfds);
        return ERROR_SUCCESS;
    }
    if (dst_local) {
        err = import_handle(obj.type, obj.access, inherit ? HANDLE_FLAG_INHERIT : 0, fds, obj.nfds, obj.blob,
                            obj.blob_len, out);
        if (err)
            close_fds(fds, obj.nfds);
        return err;
    }
    struct request req = {.op = OP_PUSH,
                          .type = obj.type,
                          .access = obj.access,
                          .flags = inherit ? HANDLE_FLAG_INHERIT : 0,
                          .nfds = obj.nfds,
                          .blob_len = obj.blob_len};
    memcpy(req.blob, obj.blob, obj.blob_len);
    struct reply rep;
    int rfds[WI_EXPORT_FDS_MAX];
    unsigned rn;
    err = exchange(dst_proc, &req, fds, obj.nfds, &rep, rfds, &rn);
    close_fds(fds, obj.nfds); /* the peer has its own copies now */
    close_fds(rfds, rn);
    if (!err)
        *out = (HANDLE)(uintptr_t)rep.handle;
    return err;
}
