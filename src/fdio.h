/* SPDX-License-Identifier: MIT */
/* Reads and writes on Linux file descriptors with ReadFile/WriteFile
 * semantics. The only place that calls read/write/pread/pwrite/send on the
 * fds behind file objects.
 *
 *   - EINTR restarts; EAGAIN (a non-blocking fd inherited as a standard
 *     handle) waits with poll and retries, because Windows handles opened
 *     without FILE_FLAG_OVERLAPPED block.
 *   - Disk files: a read loops until the buffer is full or end of file, a
 *     write until everything is written (Windows does not return short
 *     transfers on files).
 *   - Pipes and sockets: a read returns what one read(2) gives; end of
 *     stream (every writer gone) is ERROR_BROKEN_PIPE, not success with 0
 *     bytes; a zero-byte read waits until data is available, as Windows'
 *     does. A write to a pipe whose readers are gone is ERROR_NO_DATA and
 *     never raises SIGPIPE (sockets: MSG_NOSIGNAL; FIFOs: SIGPIPE blocked for
 *     the calling thread around the write, see fdio.c).
 *   - Character devices (ttys, /dev/null): one read(2); 0 bytes is success. */
#ifndef WINIPC_FDIO_H
#define WINIPC_FDIO_H

#include <windows.h>
#include <stdint.h>

enum wi_fd_kind {
    WI_FD_DISK,   /* regular file or block device */
    WI_FD_PIPE,   /* FIFO (pipe2) */
    WI_FD_SOCKET, /* any socket: GetFileType says FILE_TYPE_PIPE */
    WI_FD_CHAR,   /* tty, /dev/null, other character devices */
    WI_FD_DIR,    /* directory */
};

/* What `fd` is (fstat), or an error for a closed fd. */
DWORD wi_fd_kind_of(int fd, enum wi_fd_kind *kind);

/* At the fd's file position (or, for pipes, sockets and ttys, the stream). */
DWORD wi_fd_read(int fd, enum wi_fd_kind kind, void *buf, DWORD len, DWORD *done);
DWORD wi_fd_write(int fd, enum wi_fd_kind kind, const void *buf, DWORD len, DWORD *done);

/* Positional transfers on disk files (the fd's position is not used or
 * moved). A read at or past end of file gives 0 bytes and success. */
DWORD wi_fd_pread(int fd, void *buf, DWORD len, uint64_t off, DWORD *done);
DWORD wi_fd_pwrite(int fd, const void *buf, DWORD len, uint64_t off, DWORD *done);

/* Write at the end of the file whatever its size is at that moment
 * (WriteFile with Offset = OffsetHigh = 0xFFFFFFFF). */
DWORD wi_fd_append(int fd, const void *buf, DWORD len, DWORD *done);

#endif
