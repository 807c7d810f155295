/* SPDX-License-Identifier: MIT */
/* The byte stream of one named-pipe connection (pipe_stream.c): reading and
 * writing a connected AF_UNIX stream socket with the semantics of a byte-type
 * or a message-type pipe, blocking or in single non-blocking attempts that
 * can be resumed (PIPE_NOWAIT, the overlapped engine's io_try).
 *
 * Byte-type pipes put the bytes on the wire as they are. Message-type pipes
 * put each message on the wire as one or more chunks, each a 12-byte header
 * and its payload (wire format below). A blocking WriteFile sends its whole
 * message as one chunk in one sendmsg. A non-blocking attempt sends only
 * chunks that fit the socket's free buffer space entirely, so a request that
 * must wait never leaves half a chunk on the wire: it stops between chunks
 * (the message is then "open"), and a message whose request is abandoned
 * (cancelled) is closed by an ABORT chunk, which tells the reader that the
 * rest of that message will never come — as Windows drops the unread rest
 * of a cancelled write.
 *
 * Reading keeps a small per-end state (struct wi_pipe_rx): how much of the
 * current message and chunk is still in the socket, and up to one chunk
 * header already taken. A read that reaches the end of a chunk asks, in the
 * same recvmsg, for the next chunk's header too, so a stream of queued
 * messages costs one syscall per message; a read that finds no header taken
 * (the first message after an idle pipe) costs two (the header, then the
 * payload): a stream socket cannot stop a read at a boundary it has not
 * seen yet.
 *
 * Nothing here knows about pipe ends, instances or Windows states: callers
 * (named_pipe.c) map `gone` (end of stream, reset, EPIPE) to the Windows
 * error of their end, and serialize readers (one rx per end) and writers (one
 * tx per end) themselves. */
#ifndef WINIPC_PIPE_STREAM_H
#define WINIPC_PIPE_STREAM_H

#include <windows.h>
#include <stdbool.h>
#include <stdint.h>

/* Wire format of a message-type pipe, little-endian 32-bit words:
 *   len    payload bytes that follow this header (this chunk)
 *   more   payload bytes of the same message after this chunk
 *   tag    WI_FRAME_MAGIC | flags: WI_FRAME_FIRST on a message's first chunk
 *          (len + more is then the message's length), WI_FRAME_ABORT on an
 *          empty chunk that ends an open message early.
 * A zero-length message is one FIRST chunk with len = more = 0. */
#define WI_FRAME_LEN 12u
#define WI_FRAME_MAGIC 0x4d505700u /* "\0WPM" */
#define WI_FRAME_FIRST 0x01u
#define WI_FRAME_ABORT 0x02u

/* A reading end's position in the stream. Zero is the start of a stream.
 * Guarded by the caller's read lock. */
struct wi_pipe_rx {
    uint32_t msg_rest;   /* payload of the current message not yet read */
    uint32_t chunk_rest; /* ... of which in the current chunk, still in the socket */
    uint8_t in_msg;      /* a message has started and not ended */
    uint8_t broken;      /* the stream made no sense (a writer died mid-chunk
                            on a shared connection): every read ends */
    uint8_t have;        /* bytes of the next chunk header already taken */
    uint8_t reserved;
    uint8_t hdr[WI_FRAME_LEN];
};

/* A writing end's open message (non-blocking writes only). Guarded by the
 * caller's write lock. */
struct wi_pipe_tx {
    uint64_t owner; /* the request writing it (0: no message open) */
};

/* How to read or write. */
#define WI_PS_MSGTYPE 1u  /* message-type pipe: chunks on the wire */
#define WI_PS_MSGREAD 2u  /* message read mode (only with WI_PS_MSGTYPE) */
#define WI_PS_NONBLOCK 4u /* one attempt: ERROR_IO_PENDING instead of waiting */

/* Read into buf[*done .. len). *done is in/out: what earlier attempts of the
 * same read delivered (0 to start). Returns
 *   0                 complete (byte mode: some bytes, or a zero-length
 *                     message; message mode: the whole message);
 *   ERROR_MORE_DATA   message mode: buf is full, the message goes on (also a
 *                     zero-byte read of a non-empty message, as Windows 8+);
 *   ERROR_IO_PENDING  WI_PS_NONBLOCK only: nothing (more) to read yet;
 *   other errors.
 * *gone: the stream ended (peer closed, reset, or the stream is broken);
 * the return is then 0 and *done is 0 (a message cut short is dropped). A
 * zero-byte read waits for data without taking any (byte mode), or for a
 * message header (message mode: a zero-length message is taken). */
DWORD wi_ps_read(int fd, struct wi_pipe_rx *rx, unsigned how, void *buf, DWORD len, DWORD *done, bool *gone);

/* Blocking write of the whole buffer (one message on a message-type pipe),
 * closing an abandoned open message first. *done: payload bytes sent. */
DWORD wi_ps_write(int fd, struct wi_pipe_tx *tx, unsigned how, const void *buf, DWORD len, DWORD *done,
                  bool *gone);

/* One non-blocking attempt at a write, resumable: *done (in/out) is the
 * payload sent by earlier attempts of the request `owner` (non-zero, unique
 * per request). Returns 0 when all is sent, ERROR_IO_PENDING when the socket
 * buffer is full (wait for POLLOUT and call again). Another owner's open
 * message is aborted first; ERROR_OPERATION_ABORTED when another writer
 * aborted ours. */
DWORD wi_ps_write_try(int fd, struct wi_pipe_tx *tx, unsigned how, uint64_t owner, const void *buf, DWORD len,
                      DWORD *done, bool *gone);

/* PIPE_NOWAIT write: everything if it fits in the socket buffer now, else
 * nothing (*done = 0, success), as Windows' non-blocking pipes do. */
DWORD wi_ps_write_nowait(int fd, struct wi_pipe_tx *tx, unsigned how, const void *buf, DWORD len, DWORD *done,
                         bool *gone);

/* PeekNamedPipe on a connection: copy up to len bytes of the first message
 * (byte type: of the stream) without taking them. avail: payload bytes
 * waiting in all; msg_left: bytes of the first message not yet read (0 for
 * a byte-type pipe). *gone when nothing is waiting and the peer has gone. */
struct wi_ps_peek {
    DWORD copied, avail, msg_left;
};
DWORD wi_ps_peek(int fd, const struct wi_pipe_rx *rx, unsigned how, void *buf, DWORD len, struct wi_ps_peek *out,
                 bool *gone);

/* Is anything waiting to be read (TransactNamedPipe refuses to start
 * then)? */
bool wi_ps_unread(int fd, const struct wi_pipe_rx *rx);

/* Anonymous pipes (a Linux pipe behind a file object): the same peek. */
DWORD wi_ps_fifo_peek(int fd, void *buf, DWORD len, struct wi_ps_peek *out, bool *gone);

#endif
