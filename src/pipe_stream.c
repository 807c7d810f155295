/* SPDX-License-Identifier: MIT */
/* The byte stream of one named-pipe connection: byte and message framing
 * over a connected AF_UNIX stream socket. The contract and the wire format
 * are in pipe_stream.h.
 *
 * Why chunks fit. A non-blocking send on an AF_UNIX stream socket can stop
 * anywhere, which would leave half a chunk on the wire if its request were
 * then abandoned. So a non-blocking attempt sends a chunk only when the
 * kernel will surely take all of it: either the whole frame is small enough
 * for one socket buffer (skb), which the kernel allocates all or nothing,
 * or the socket's free send space (SO_SNDBUF minus SIOCOUTQ, both counted in
 * the kernel's "truesize" units) covers the chunk with a margin for the
 * kernel's per-buffer overhead. Should the kernel still take less (another
 * process writing on the same connection), the rest of that chunk is sent
 * blocking: the stream stays whole whatever happens. */
#include "pipe_stream.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the frame header is stored in host order");

/* A frame at most this long (header included) goes out as one kernel
 * socket buffer, which a non-blocking send takes entirely or not at all
 * (AF_UNIX puts up to 32 KiB of page data plus a small head in one). */
#define SMALL_FRAME 16384u

/* A non-blocking write waits for more room rather than send a chunk smaller
 * than this (the reader would pay a header per tiny chunk). */
#define MIN_CHUNK 4096u

/* Kernel accounting of socket buffers (truesize): per buffer of up to
 * 32 KiB of payload, a head of up to ~4.5 KiB and the payload's rounding up
 * to whole pages. */
#define BUFFER_PAYLOAD 32768u
#define BUFFER_OVERHEAD 8704u

/* take_header: the current message ended early (an ABORT chunk, or a new
 * message's first chunk where a continuation was due). Internal only. */
#define RX_ENDED ((DWORD)0xFFFFFFFEu)

struct frame {
    uint32_t len, more, tag;
};

static void frame_put(uint8_t *p, uint32_t len, uint32_t more, uint32_t flags)
{
    uint32_t w[3] = {len, more, WI_FRAME_MAGIC | flags};
    memcpy(p, w, sizeof w);
}

static void frame_get(const uint8_t *p, struct frame *f)
{
    uint32_t w[3];
    memcpy(w, p, sizeof w);
    f->len = w[0];
    f->more = w[1];
    f->tag = w[2];
}

/* --- syscalls ------------------------------------------------------------------ */

static ssize_t recv_iov(int fd, struct iovec *iov, int n, int flags)
{
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t r;
    while ((r = recvmsg(fd, &m, flags)) < 0 && errno == EINTR)
        ;
    return r;
}

static ssize_t send_iov(int fd, struct iovec *iov, int n, int flags)
{
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t r;
    while ((r = sendmsg(fd, &m, flags | MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return r;
}

/* recv_iov gave `n` <= 0. */
static DWORD recv_failed(ssize_t n, bool *gone)
{
    if (n == 0 || errno == ECONNRESET || errno == EPIPE) {
        *gone = true;
        return ERROR_SUCCESS;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return ERROR_IO_PENDING;
    return wi_error_from_errno(errno);
}

/* send_iov failed. */
static DWORD send_failed(bool *gone)
{
    if (errno == EPIPE || errno == ECONNRESET) {
        *gone = true;
        return ERROR_SUCCESS;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return ERROR_IO_PENDING;
    return wi_error_from_errno(errno);
}

static void iov_advance(struct iovec **iov, int *n, size_t r)
{
    while (*n > 0 && (r > 0 || (*iov)->iov_len == 0)) {
        if (r >= (*iov)->iov_len) {
            r -= (*iov)->iov_len;
            (*iov)++;
            (*n)--;
        } else {
            (*iov)->iov_base = (char *)(*iov)->iov_base + r;
            (*iov)->iov_len -= r;
            r = 0;
        }
    }
}

/* Block until fd can take more data (or has an error to report). */
static DWORD wait_writable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    while (poll(&p, 1, -1) < 0) {
        if (errno != EINTR)
            return wi_error_from_errno(errno);
    }
    return ERROR_SUCCESS;
}

/* Send everything in iov, blocking (the connected sockets are blocking; a
 * socket made non-blocking by someone else is waited for). */
static DWORD send_all(int fd, struct iovec *iov, int n, bool *gone)
{
    iov_advance(&iov, &n, 0);
    while (n > 0) {
        ssize_t r = send_iov(fd, iov, n, 0);
        if (r < 0) {
            DWORD err = send_failed(gone);
            if (err == ERROR_IO_PENDING && !(err = wait_writable(fd)))
                continue;
            return err;
        }
        iov_advance(&iov, &n, (size_t)r);
    }
    return ERROR_SUCCESS;
}

/* A zero-byte write on a byte pipe: nothing goes out, but a dead peer is
 * still reported. */
static DWORD send_nothing(int fd, bool *gone)
{
    if (send(fd, "", 0, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        DWORD err = send_failed(gone);
        return err == ERROR_IO_PENDING ? ERROR_SUCCESS : err;
    }
    return ERROR_SUCCESS;
}

/* Payload bytes that surely fit the socket's free send space now. */
static DWORD payload_fit(int fd, size_t *fit)
{
    int sndbuf = 0, used = 0;
    socklen_t l = sizeof sndbuf;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &l) != 0 || ioctl(fd, SIOCOUTQ, &used) != 0)
        return wi_error_from_errno(errno);
    long space = (long)sndbuf - used - (long)BUFFER_OVERHEAD - (long)WI_FRAME_LEN;
    *fit = space <= 0 ? 0 : (size_t)space * BUFFER_PAYLOAD / (BUFFER_PAYLOAD + BUFFER_OVERHEAD);
    return ERROR_SUCCESS;
}

static bool peer_closed(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    int r;
    while ((r = poll(&p, 1, 0)) < 0 && errno == EINTR)
        ;
    return r > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* --- reading --------------------------------------------------------------------- */

static DWORD rx_break(struct wi_pipe_rx *rx, bool *gone)
{
    rx->broken = 1;
    *gone = true;
    return ERROR_SUCCESS;
}

/* Take the next chunk header (rx->have bytes of it are there already) and
 * enter its chunk. */
static DWORD take_header(int fd, struct wi_pipe_rx *rx, bool nonblock, bool *gone)
{
    while (rx->have < WI_FRAME_LEN) {
        struct iovec iov = {rx->hdr + rx->have, WI_FRAME_LEN - rx->have};
        ssize_t n = recv_iov(fd, &iov, 1, nonblock ? MSG_DONTWAIT : MSG_WAITALL);
        if (n <= 0)
            return recv_failed(n, gone);
        rx->have = (uint8_t)(rx->have + n);
    }
    rx->have = 0;
    struct frame f;
    frame_get(rx->hdr, &f);
    if ((f.tag & ~0xFFu) != WI_FRAME_MAGIC)
        return rx_break(rx, gone);
    if (f.tag & WI_FRAME_ABORT) {
        /* The writer abandoned the message: its rest never comes. */
        if (!rx->in_msg || rx->chunk_rest || f.len || f.more)
            return rx_break(rx, gone);
        rx->in_msg = 0;
        rx->msg_rest = 0;
        return RX_ENDED;
    }
    if (f.tag & WI_FRAME_FIRST) {
        if (f.more > UINT32_MAX - f.len || rx->chunk_rest)
            return rx_break(rx, gone);
        /* A new message where the current one should go on: its writer
         * died between two chunks and another process writes on the same
         * connection. The current message ends here. */
        bool cut = rx->in_msg;
        rx->in_msg = 1;
        rx->msg_rest = f.len + f.more;
        rx->chunk_rest = f.len;
        return cut ? RX_ENDED : ERROR_SUCCESS;
    }
    if (!rx->in_msg || rx->chunk_rest || (uint64_t)f.len + f.more != rx->msg_rest)
        return rx_break(rx, gone);
    rx->chunk_rest = f.len;
    return ERROR_SUCCESS;
}

/* Does the next step need a chunk header? */
static bool rx_needs_header(const struct wi_pipe_rx *rx)
{
    return !rx->in_msg || (!rx->chunk_rest && rx->msg_rest);
}

/* Receive up to `want` bytes of the current chunk into p; when that reaches
 * the chunk's end, also whatever of the next header is there. */
static ssize_t rx_payload(int fd, struct wi_pipe_rx *rx, char *p, DWORD want, int flags)
{
    bool to_end = want == rx->chunk_rest;
    struct iovec iov[2] = {{p, want}, {rx->hdr, WI_FRAME_LEN}};
    ssize_t n = recv_iov(fd, iov, to_end ? 2 : 1, flags);
    if (n > 0) {
        DWORD take = (size_t)n < want ? (DWORD)n : want;
        rx->chunk_rest -= take;
        rx->msg_rest -= take;
        rx->have = (uint8_t)((size_t)n - take);
        if (!rx->msg_rest)
            rx->in_msg = 0;
    }
    return n;
}

/* Message read mode: one message, or as much of it as fits. */
static DWORD read_message(int fd, struct wi_pipe_rx *rx, bool nonblock, char *buf, DWORD len, DWORD *done,
                          bool *gone)
{
    for (;;) {
        if (rx_needs_header(rx)) {
            DWORD err = take_header(fd, rx, nonblock, gone);
            if (err == RX_ENDED) {
                if (*done)
                    return ERROR_SUCCESS; /* what there was of a message cut short */
                continue;
            }
            if (err || *gone)
                return err;
            continue;
        }
        if (!rx->msg_rest) {
            rx->in_msg = 0; /* a zero-length message */
            return ERROR_SUCCESS;
        }
        DWORD room = len - *done;
        if (!room)
            return ERROR_MORE_DATA;
        DWORD want = room < rx->chunk_rest ? room : rx->chunk_rest;
        /* Blocking: all of `want` (a message arrives whole), except at the
         * chunk's end, where the header prefetch must not wait. */
        int flags = nonblock ? MSG_DONTWAIT : want == rx->chunk_rest ? 0 : MSG_WAITALL;
        ssize_t n = rx_payload(fd, rx, buf + *done, want, flags);
        if (n <= 0)
            return recv_failed(n, gone);
        *done += (size_t)n < want ? (DWORD)n : want;
        if (!rx->in_msg)
            return ERROR_SUCCESS;
    }
}

/* Byte read mode on a message-type pipe: the messages' bytes run together
 * (headers stripped). The read returns once it has taken something (a
 * zero-length message counts) and nothing more is there at once. */
static DWORD read_message_bytes(int fd, struct wi_pipe_rx *rx, bool nonblock, char *buf, DWORD len, DWORD *done,
                                bool *gone)
{
    bool took = *done > 0;
    for (;;) {
        bool now = nonblock || took;
        DWORD err;
        if (rx_needs_header(rx)) {
            err = take_header(fd, rx, now, gone);
            if (err == RX_ENDED)
                continue;
            if (took && (err == ERROR_IO_PENDING || *gone)) {
                *gone = false; /* the end shows at the next read */
                return ERROR_SUCCESS;
            }
            if (err || *gone)
                return err;
            took = true;
            continue;
        }
        if (!rx->msg_rest) {
            rx->in_msg = 0; /* a zero-length message: taken */
            continue;
        }
        DWORD room = len - *done;
        if (!room)
            return ERROR_SUCCESS;
        DWORD want = room < rx->chunk_rest ? room : rx->chunk_rest;
        ssize_t n = rx_payload(fd, rx, buf + *done, want, now ? MSG_DONTWAIT : 0);
        if (n <= 0) {
            err = recv_failed(n, gone);
            if (took && (err == ERROR_IO_PENDING || *gone)) {
                *gone = false;
                return ERROR_SUCCESS;
            }
            return err;
        }
        *done += (size_t)n < want ? (DWORD)n : want;
        took = true;
    }
}

static DWORD read_bytes(int fd, bool nonblock, char *buf, DWORD len, DWORD *done, bool *gone)
{
    char probe;
    struct iovec iov = {len ? buf + *done : &probe, len ? len - *done : 1};
    ssize_t n = recv_iov(fd, &iov, 1, (len ? 0 : MSG_PEEK) | (nonblock ? MSG_DONTWAIT : 0));
    if (n <= 0)
        return recv_failed(n, gone);
    if (len)
        *done += (DWORD)n;
    return ERROR_SUCCESS;
}

DWORD wi_ps_read(int fd, struct wi_pipe_rx *rx, unsigned how, void *buf, DWORD len, DWORD *done, bool *gone)
{
    bool nonblock = how & WI_PS_NONBLOCK;
    DWORD err;
    *gone = false;
    if (!(how & WI_PS_MSGTYPE))
        err = read_bytes(fd, nonblock, buf, len, done, gone);
    else if (rx->broken)
        err = rx_break(rx, gone);
    else if (how & WI_PS_MSGREAD)
        err = read_message(fd, rx, nonblock, buf, len, done, gone);
    else
        err = read_message_bytes(fd, rx, nonblock, buf, len, done, gone);
    if (*gone) {
        /* What is left of a message cut short never comes: it is gone, as
         * the unread rest of a killed writer's message is on Windows. */
        *done = 0;
        err = ERROR_SUCCESS;
        rx->in_msg = 0;
        rx->msg_rest = rx->chunk_rest = 0;
        rx->have = 0;
    }
    return err;
}

/* --- writing ---------------------------------------------------------------------- */

static _Atomic uint64_t owner_counter;

/* Close the open message of an abandoned request (tx->owner). */
static DWORD send_abort(int fd, struct wi_pipe_tx *tx, bool nonblock, bool *gone)
{
    uint8_t hdr[WI_FRAME_LEN];
    frame_put(hdr, 0, 0, WI_FRAME_ABORT);
    struct iovec iov = {hdr, sizeof hdr};
    DWORD err;
    if (nonblock) {
        /* One small buffer: the kernel takes it whole or not at all. */
        ssize_t r = send_iov(fd, &iov, 1, MSG_DONTWAIT);
        err = r < 0 ? send_failed(gone) : ERROR_SUCCESS;
        if (r > 0 && (size_t)r < sizeof hdr) {
            iov.iov_base = hdr + r;
            iov.iov_len = sizeof hdr - (size_t)r;
            err = send_all(fd, &iov, 1, gone);
        }
    } else {
        err = send_all(fd, &iov, 1, gone);
    }
    if (!err || *gone)
        tx->owner = 0;
    return err;
}

/* Non-blocking send of one whole frame (header + payload): ERROR_IO_PENDING
 * when the kernel took nothing; a frame it took in part is finished
 * blocking (see the top of the file). */
static DWORD send_frame_now(int fd, struct iovec *iov, int n, bool *gone)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    ssize_t r = send_iov(fd, iov, n, MSG_DONTWAIT);
    if (r < 0)
        return send_failed(gone);
    if ((size_t)r == total)
        return ERROR_SUCCESS;
    iov_advance(&iov, &n, (size_t)r);
    return send_all(fd, iov, n, gone);
}

DWORD wi_ps_write_try(int fd, struct wi_pipe_tx *tx, unsigned how, uint64_t owner, const void *buf, DWORD len,
                      DWORD *done, bool *gone)
{
    const char *p = buf;
    *gone = false;
    if (!(how & WI_PS_MSGTYPE)) {
        /* Bytes: whatever the kernel takes now. */
        if (!len)
            return send_nothing(fd, gone);
        while (*done < len) {
            struct iovec iov = {(char *)p + *done, len - *done};
            ssize_t r = send_iov(fd, &iov, 1, MSG_DONTWAIT);
            if (r < 0)
                return send_failed(gone);
            *done += (DWORD)r;
        }
        return ERROR_SUCCESS;
    }
    if (*done && tx->owner != owner)
        return ERROR_OPERATION_ABORTED; /* another writer closed our open message */
    if (tx->owner && tx->owner != owner) {
        DWORD err = send_abort(fd, tx, true, gone);
        if (err || *gone)
            return err;
    }
    bool first = tx->owner != owner;
    for (;;) {
        DWORD rest = len - *done, chunk = rest;
        if (WI_FRAME_LEN + (size_t)rest > SMALL_FRAME) {
            size_t fit;
            DWORD err = payload_fit(fd, &fit);
            if (err)
                return err;
            if (fit < rest)
                chunk = (DWORD)fit;
            if (chunk < (rest < MIN_CHUNK ? rest : MIN_CHUNK))
                return ERROR_IO_PENDING;
        }
        uint8_t hdr[WI_FRAME_LEN];
        frame_put(hdr, chunk, rest - chunk, first ? WI_FRAME_FIRST : 0);
        struct iovec iov[2] = {{hdr, sizeof hdr}, {(char *)p + *done, chunk}};
        DWORD err = send_frame_now(fd, iov, 2, gone);
        if (*gone) {
            tx->owner = 0;
            return ERROR_SUCCESS;
        }
        if (err)
            return err;
        *done += chunk;
        first = false;
        if (*done == len) {
            tx->owner = 0;
            return ERROR_SUCCESS;
        }
        tx->owner = owner; /* open until its last chunk */
    }
}

DWORD wi_ps_write(int fd, struct wi_pipe_tx *tx, unsigned how, const void *buf, DWORD len, DWORD *done, bool *gone)
{
    DWORD err;
    *done = 0;
    *gone = false;
    if (!(how & WI_PS_MSGTYPE)) {
        if (!len)
            return send_nothing(fd, gone);
        struct iovec iov = {(void *)buf, len};
        err = send_all(fd, &iov, 1, gone);
        if (!err && !*gone)
            *done = len;
        return err;
    }
    if (tx->owner && ((err = send_abort(fd, tx, false, gone)) || *gone))
        return err;
    if (WI_FRAME_LEN + (size_t)len > SMALL_FRAME) {
        /* Larger than a socket buffer may hold: chunks that fit, each as
         * soon as there is room, so that the stream never holds part of
         * a chunk whatever happens to this thread. */
        uint64_t owner = atomic_fetch_add(&owner_counter, 1) + 1;
        while ((err = wi_ps_write_try(fd, tx, how, owner, buf, len, done, gone)) == ERROR_IO_PENDING) {
            if ((err = wait_writable(fd)))
                break;
        }
        if (err || *gone)
            *done = 0; /* a message cut short counts for nothing */
        return err;
    }
    /* The common case: the whole message as one chunk, one sendmsg. */
    uint8_t hdr[WI_FRAME_LEN];
    frame_put(hdr, len, 0, WI_FRAME_FIRST);
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)buf, len}};
    err = send_all(fd, iov, 2, gone);
    if (!err && !*gone)
        *done = len;
    return err;
}

DWORD wi_ps_write_nowait(int fd, struct wi_pipe_tx *tx, unsigned how, const void *buf, DWORD len, DWORD *done,
                         bool *gone)
{
    bool msg = how & WI_PS_MSGTYPE;
    size_t wire = (msg ? WI_FRAME_LEN : 0) + (size_t)len;
    DWORD err;
    *done = 0;
    *gone = false;
    if (!msg && !len)
        return send_nothing(fd, gone);
    if (msg && tx->owner) {
        err = send_abort(fd, tx, true, gone);
        if (err == ERROR_IO_PENDING)
            return ERROR_SUCCESS; /* no room even for that: nothing written */
        if (err || *gone)
            return err;
    }
    if (wire > SMALL_FRAME) {
        size_t fit;
        if ((err = payload_fit(fd, &fit)))
            return err;
        if (fit < len) {
            /* Windows writes nothing of a message that does not fit, and
             * (on an empty pipe) nothing of such a byte write either. A
             * write to a dead peer still fails. */
            if (peer_closed(fd))
                return send_nothing(fd, gone);
            return ERROR_SUCCESS;
        }
    }
    uint8_t hdr[WI_FRAME_LEN];
    frame_put(hdr, len, 0, WI_FRAME_FIRST);
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)buf, len}};
    err = msg ? send_frame_now(fd, iov, 2, gone) : send_frame_now(fd, iov + 1, 1, gone);
    if (err == ERROR_IO_PENDING)
        return ERROR_SUCCESS; /* no room: nothing written */
    if (!err && !*gone)
        *done = len;
    return err;
}

/* --- peeking ----------------------------------------------------------------------- */

DWORD wi_ps_peek(int fd, const struct wi_pipe_rx *rx, unsigned how, void *buf, DWORD len, struct wi_ps_peek *out,
                 bool *gone)
{
    int queued = 0;
    memset(out, 0, sizeof *out);
    *gone = false;
    if (ioctl(fd, FIONREAD, &queued) != 0)
        return wi_error_from_errno(errno);
    if (!(how & WI_PS_MSGTYPE)) {
        if (queued <= 0) {
            *gone = peer_closed(fd);
            return ERROR_SUCCESS;
        }
        out->avail = (DWORD)queued;
        if (len) {
            ssize_t n = recv(fd, buf, len < (DWORD)queued ? len : (size_t)queued, MSG_PEEK | MSG_DONTWAIT);
            out->copied = n > 0 ? (DWORD)n : 0;
        }
        return ERROR_SUCCESS;
    }
    if (rx->broken) {
        *gone = true;
        return ERROR_SUCCESS;
    }

    /* Walk a copy of the queue the way reads would. */
    uint8_t *data = NULL;
    size_t n = 0, pos = 0;
    if (queued > 0) {
        data = malloc((size_t)queued);
        if (!data)
            return ERROR_NOT_ENOUGH_MEMORY;
        ssize_t r = recv(fd, data, (size_t)queued, MSG_PEEK | MSG_DONTWAIT);
        n = r > 0 ? (size_t)r : 0;
    }
    struct wi_pipe_rx s = *rx;
    uint8_t hdr[WI_FRAME_LEN];
    unsigned have = s.have;
    bool seen = s.in_msg, first = s.in_msg; /* the first message started / is being walked */
    memcpy(hdr, s.hdr, have);
    if (s.in_msg)
        out->msg_left = s.msg_rest;
    for (;;) {
        if (s.in_msg && s.chunk_rest) {
            size_t take = n - pos < s.chunk_rest ? n - pos : s.chunk_rest;
            if (!take)
                break;
            if (first && out->copied < len) {
                size_t c = len - out->copied < take ? len - out->copied : take;
                memcpy((char *)buf + out->copied, data + pos, c);
                out->copied += (DWORD)c;
            }
            out->avail += (DWORD)take;
            pos += take;
            s.chunk_rest -= (uint32_t)take;
            s.msg_rest -= (uint32_t)take;
            if (s.chunk_rest)
                break; /* the rest of this chunk is not here yet */
            if (!s.msg_rest) {
                s.in_msg = 0;
                first = false;
            }
            continue;
        }
        if (s.in_msg && !s.msg_rest) {
            s.in_msg = 0;
            first = false;
            continue;
        }
        size_t need = WI_FRAME_LEN - have;
        if (n - pos < need)
            break;
        memcpy(hdr + have, data + pos, need);
        pos += need;
        have = 0;
        struct frame f;
        frame_get(hdr, &f);
        if ((f.tag & ~0xFFu) != WI_FRAME_MAGIC)
            break; /* the read will report the broken stream */
        if (f.tag & WI_FRAME_ABORT) {
            s.in_msg = 0;
            s.msg_rest = s.chunk_rest = 0;
            first = false;
            continue;
        }
        if (f.tag & WI_FRAME_FIRST) {
            first = !seen;
            seen = true;
            s.in_msg = 1;
            s.msg_rest = f.len + f.more;
            if (first)
                out->msg_left = s.msg_rest;
        } else if (!s.in_msg) {
            break;
        }
        s.chunk_rest = f.len;
    }
    free(data);
    /* Nothing waiting, not even a zero-length message, and nobody left to
     * write: the pipe is broken. */
    if (!seen && out->avail == 0 && peer_closed(fd))
        *gone = true;
    return ERROR_SUCCESS;
}

bool wi_ps_unread(int fd, const struct wi_pipe_rx *rx)
{
    int queued = 0;
    if (rx->in_msg || rx->have)
        return true;
    return ioctl(fd, FIONREAD, &queued) == 0 && queued > 0;
}

DWORD wi_ps_fifo_peek(int fd, void *buf, DWORD len, struct wi_ps_peek *out, bool *gone)
{
    int queued = 0;
    memset(out, 0, sizeof *out);
    *gone = false;
    if (ioctl(fd, FIONREAD, &queued) != 0)
        return wi_error_from_errno(errno);
    if (queued <= 0) {
        /* No data: broken when every writer has gone (POLLHUP). */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r;
        while ((r = poll(&p, 1, 0)) < 0 && errno == EINTR)
            ;
        *gone = r > 0 && (p.revents & POLLHUP);
        return ERROR_SUCCESS;
    }
    out->avail = (DWORD)queued;
    if (!len)
        return ERROR_SUCCESS;
    /* A Linux pipe cannot be read without consuming: tee(2) duplicates its
     * content into a scratch pipe, which is read instead. */
    int scratch[2];
    if (pipe2(scratch, O_CLOEXEC | O_NONBLOCK) != 0)
        return wi_error_from_errno(errno);
    size_t want = len < (DWORD)queued ? len : (size_t)queued;
    int cap = fcntl(fd, F_GETPIPE_SZ);
    if (cap > 0)
        (void)fcntl(scratch[1], F_SETPIPE_SZ, cap); /* room for all the source holds */
    DWORD err = ERROR_SUCCESS;
    ssize_t t;
    while ((t = tee(fd, scratch[1], want, SPLICE_F_NONBLOCK)) < 0 && errno == EINTR)
        ;
    if (t > 0) {
        ssize_t r = read(scratch[0], buf, (size_t)t);
        out->copied = r > 0 ? (DWORD)r : 0;
    } else if (t < 0 && errno != EAGAIN) {
        err = wi_error_from_errno(errno);
    }
    close(scratch[0]);
    close(scratch[1]);
    return err;
}
