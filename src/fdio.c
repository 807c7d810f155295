/* SPDX-License-Identifier: MIT */
/* ReadFile/WriteFile semantics on Linux fds; see fdio.h for the rules.
 *
 * SIGPIPE: a write(2) to a FIFO without readers raises SIGPIPE, and there is
 * no MSG_NOSIGNAL for FIFOs. Around each FIFO write the calling thread blocks
 * SIGPIPE (pthread_sigmask); the kernel directs the signal at the writing
 * thread, so if the write fails with EPIPE the signal is pending on this very
 * thread and sigtimedwait with a zero timeout takes it away before the old
 * mask comes back. A SIGPIPE that was already pending before the write (the
 * program had it blocked) is left alone: standard signals do not queue, so
 * ours merged with it. The cost is two rt_sigprocmask calls per FIFO write;
 * ignoring SIGPIPE process-wide instead would change the host program's
 * behaviour, which a library must not do. */
#include "fdio.h"

#include "error.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Linux transfers at most 0x7ffff000 bytes per call; ask for no more so a
 * short count always means what it says. */
#define CHUNK_MAX 0x7ffff000u

static size_t chunk(DWORD left)
{
    return left > CHUNK_MAX ? CHUNK_MAX : left;
}

DWORD wi_fd_kind_of(int fd, enum wi_fd_kind *kind)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return wi_error_from_errno(errno);
    if (S_ISFIFO(st.st_mode))
        *kind = WI_FD_PIPE;
    else if (S_ISSOCK(st.st_mode))
        *kind = WI_FD_SOCKET;
    else if (S_ISCHR(st.st_mode))
        *kind = WI_FD_CHAR;
    else if (S_ISDIR(st.st_mode))
        *kind = WI_FD_DIR;
    else
        *kind = WI_FD_DISK;
    return ERROR_SUCCESS;
}

/* Block until `events` (or an error/hang-up) is reported on fd. */
static short wait_fd(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR)
            return POLLERR;
    return p.revents;
}

/* A zero-byte ReadFile on a pipe waits for data (or the end of the stream)
 * without consuming anything. */
static DWORD wait_for_data(int fd, enum wi_fd_kind kind)
{
    for (;;) {
        short ev = wait_fd(fd, POLLIN);
        int avail = 0;
        if (ev & POLLNVAL)
            return ERROR_INVALID_HANDLE;
        if (ioctl(fd, FIONREAD, &avail) == 0 && avail > 0)
            return ERROR_SUCCESS;
        /* Nothing buffered: a FIFO reports the last writer's close as
         * POLLHUP, a socket as readable with nothing to read. */
        if (ev & (POLLHUP | POLLERR))
            return ERROR_BROKEN_PIPE;
        if (kind == WI_FD_SOCKET && (ev & POLLIN))
            return ERROR_BROKEN_PIPE;
    }
}

DWORD wi_fd_read(int fd, enum wi_fd_kind kind, void *buf, DWORD len, DWORD *done)
{
    char *p = buf;
    DWORD got = 0;
    *done = 0;
    if (kind == WI_FD_DIR)
        return ERROR_INVALID_FUNCTION; /* Windows: reading a directory handle */
    if (len == 0)
        return kind == WI_FD_PIPE || kind == WI_FD_SOCKET ? wait_for_data(fd, kind) : ERROR_SUCCESS;
    while (got < len) {
        ssize_t n = read(fd, p + got, chunk(len - got));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                wait_fd(fd, POLLIN);
                continue;
            }
            *done = got;
            return wi_error_from_errno(errno);
        }
        if (n == 0) {
            /* End of stream: for a pipe it means every writer is gone. */
            if (kind == WI_FD_PIPE || kind == WI_FD_SOCKET)
                return ERROR_BROKEN_PIPE;
            break;
        }
        got += (DWORD)n;
        if (kind != WI_FD_DISK)
            break; /* streams return what is there */
    }
    *done = got;
    return ERROR_SUCCESS;
}

struct sigpipe_guard {
    sigset_t old;
    bool was_blocked, was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
    g->was_blocked = sigismember(&g->old, SIGPIPE);
    g->was_pending = false;
    if (g->was_blocked && sigpending(&pending) == 0)
        g->was_pending = sigismember(&pending, SIGPIPE);
}

static void sigpipe_restore(struct sigpipe_guard *g, bool raised)
{
    int saved = errno;
    if (raised && !g->was_pending) {
        sigset_t set;
        struct timespec zero = {0, 0};
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    if (!g->was_blocked)
        pthread_sigmask(SIG_SETMASK, &g->old, NULL);
    errno = saved;
}

static ssize_t write_some(int fd, enum wi_fd_kind kind, const char *p, size_t n)
{
    if (kind == WI_FD_SOCKET)
        return send(fd, p, n, MSG_NOSIGNAL);
    return write(fd, p, n);
}

DWORD wi_fd_write(int fd, enum wi_fd_kind kind, const void *buf, DWORD len, DWORD *done)
{
    const char *p = buf;
    DWORD put = 0, err = ERROR_SUCCESS;
    struct sigpipe_guard guard;
    bool fifo = kind == WI_FD_PIPE, raised = false;

    *done = 0;
    if (kind == WI_FD_DIR)
        return ERROR_INVALID_FUNCTION;
    if (len == 0) {
        /* Linux accepts an empty write on a pipe without looking at the
         * other end; Windows reports a pipe whose reader is gone. */
        if (fifo) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            while (poll(&pf, 1, 0) < 0 && errno == EINTR)
                ;
            return (pf.revents & POLLERR) ? ERROR_NO_DATA : ERROR_SUCCESS;
        }
        if (kind == WI_FD_SOCKET && send(fd, p, 0, MSG_NOSIGNAL) < 0)
            return wi_error_from_errno(errno);
        return ERROR_SUCCESS;
    }
    if (fifo)
        sigpipe_block(&guard);
    while (put < len) {
        ssize_t n = write_some(fd, kind, p + put, chunk(len - put));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                wait_fd(fd, POLLOUT);
                continue;
            }
            raised = errno == EPIPE;
            err = wi_error_from_errno(errno);
            break;
        }
        if (n == 0) {
            err = kind == WI_FD_DISK ? ERROR_DISK_FULL : ERROR_NO_DATA;
            break;
        }
        put += (DWORD)n;
    }
    if (fifo)
        sigpipe_restore(&guard, raised);
    *done = put;
    return err;
}

DWORD wi_fd_pread(int fd, void *buf, DWORD len, uint64_t off, DWORD *done)
{
    char *p = buf;
    DWORD got = 0;
    while (got < len) {
        ssize_t n = pread(fd, p + got, chunk(len - got), (off_t)(off + got));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            *done = got;
            return wi_error_from_errno(errno);
        }
        if (n == 0)
            break;
        got += (DWORD)n;
    }
    *done = got;
    return ERROR_SUCCESS;
}

DWORD wi_fd_pwrite(int fd, const void *buf, DWORD len, uint64_t off, DWORD *done)
{
    const char *p = buf;
    DWORD put = 0;
    while (put < len) {
        ssize_t n = pwrite(fd, p + put, chunk(len - put), (off_t)(off + put));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            *done = put;
            return wi_error_from_errno(errno);
        }
        if (n == 0) {
            *done = put;
            return ERROR_DISK_FULL;
        }
        put += (DWORD)n;
    }
    *done = put;
    return ERROR_SUCCESS;
}

DWORD wi_fd_append(int fd, const void *buf, DWORD len, DWORD *done)
{
    const char *p = buf;
    DWORD put = 0;
    while (put < len) {
        struct iovec iov = {.iov_base = (void *)(p + put), .iov_len = chunk(len - put)};
        /* RWF_APPEND (Linux 4.16): appends atomically and, with an offset
         * other than -1, leaves the file position alone. */
        ssize_t n = pwritev2(fd, &iov, 1, 0, RWF_APPEND);
        if (n < 0 && (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)) {
            /* Older kernel: the size read here may be stale if another
             * writer appends at the same moment (docs/files.md). */
            struct stat st;
            if (fstat(fd, &st) != 0)
                n = -1;
            else
                n = pwrite(fd, iov.iov_base, iov.iov_len, st.st_size);
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            *done = put;
            return wi_error_from_errno(errno);
        }
        if (n == 0) {
            *done = put;
            return ERROR_DISK_FULL;
        }
        put += (DWORD)n;
    }
    *done = put;
    return ERROR_SUCCESS;
}
