/* SPDX-License-Identifier: MIT */
/* The overlapped I/O engine (async.c): requests that outlive the call that
 * started them, and how they complete.
 *
 * == Requests ==
 *
 * A request is one ReadFile/WriteFile/ReadFileEx/WriteFileEx, or one
 * ConnectNamedPipe/TransactNamedPipe, made with an OVERLAPPED. It names
 *   - the object (a process-local reference is held while it is pending),
 *   - the operation and its buffers (struct wi_io below),
 *   - the caller's OVERLAPPED,
 *   - where its completion goes: the OVERLAPPED's event (hEvent with the low
 *     bit cleared; not for the *Ex calls, whose hEvent belongs to the
 *     caller), the completion port the object is associated with (unless
 *     the low bit of hEvent is set), and/or a completion routine run as an
 *     APC in the issuing thread (ReadFileEx/WriteFileEx).
 *
 * == What a type provides: ops->io_try ==
 *
 *     DWORD io_try(struct wi_object *obj, struct wi_io *io);
 *
 * Attempt the operation WITHOUT BLOCKING. Return
 *   - ERROR_SUCCESS, or the Win32 error the operation completes with
 *     (ERROR_MORE_DATA, ERROR_BROKEN_PIPE, ERROR_PIPE_CONNECTED, ...), with
 *     io->done = bytes transferred: the request is complete;
 *   - ERROR_IO_PENDING: it cannot complete yet. Before returning, say what
 *     to wait for, one of:
 *       io->wait_fd / io->wait_events: an fd and EPOLL* events (EPOLLIN for
 *         data or a queued connection, EPOLLOUT for buffer space; EPOLLHUP,
 *         EPOLLERR and EPOLLRDHUP are always reported);
 *       io->wait_word / io->wait_value: a wi_waitable in shared memory; the
 *         engine calls again once word != value (for state that has no fd,
 *         e.g. a ring in shared memory). The type's signalers must follow
 *         wait.c's protocol (change word, then wi_waitable_wake). With a
 *         word, io->wait_until (a CLOCK_MONOTONIC time in ns, 0 = none)
 *         also has the engine call again once that time has come, changed
 *         or not: a request with a time limit of its own (a mailslot read's
 *         time-out) sees it passed and completes;
 *       neither: the type itself calls wi_async_kick(obj) when the state
 *         that could let the request progress changes.
 * The engine calls io_try again, from whatever thread noticed the change
 * (usually the service thread), until it stops returning ERROR_IO_PENDING.
 * Spurious calls happen (an fd reported ready that another request drained):
 * io_try must simply return ERROR_IO_PENDING again.
 *
 * Rules for io_try:
 *   - Never block, never sleep. Short internal locks are fine.
 *   - On an overlapped object, calls never overlap: the engine holds the
 *     object's engine lock (a->lock in async.c) around io_try, so io_try
 *     must not call back into the engine for the same object
 *     (wi_async_kick, wi_async_start, CancelIo...). On a synchronous object
 *     (below) several threads may each run their own request's io_try at
 *     the same time, as they may run ReadFile; there io_try may also run
 *     the request to its end, blocking, as the plain call would (named
 *     pipes do: their requests then queue on the same locks as ReadFile).
 *   - `io` may move between calls: keep no pointer to it. Keep per-request
 *     notes in io->progress (zero before the first call), e.g. how much of a
 *     write went out or that TRANSACT's write half is done.
 *   - io->attempt is 0 on the first call (made by the issuing thread before
 *     the call returns, unless the request queued behind another), 1, 2, ...
 *     afterwards.
 *   - A partial transfer that must go on later (a write that filled the
 *     socket buffer) adds to io->done and io->progress and returns
 *     ERROR_IO_PENDING; the final return reports the total in io->done.
 *   - Cancellation (CancelIo/CancelIoEx) removes a pending request without
 *     calling io_try again; whatever the type did in earlier attempts stays
 *     done (Windows: a cancelled write may have sent part of its data).
 *   - When the object's last handle is closed, io_try is called once more
 *     for each pending request with io->closing set: it must not start
 *     anything, only return the error the request completes with (pipes:
 *     ERROR_BROKEN_PIPE, as Windows' pipe file system completes them with
 *     STATUS_PIPE_BROKEN); ERROR_IO_PENDING there means
 *     ERROR_OPERATION_ABORTED (the generic answer for a cancelled request).
 *
 * A type without io_try of its own sets it to wi_no_io_try (object.h):
 * requests then run synchronously through ops->read_overlapped /
 * write_overlapped and complete before the call returns (files do this:
 * Windows lets any overlapped request complete at once). A NULL slot means
 * the same, for tables written before the slot existed.
 *
 * Objects opened without FILE_FLAG_OVERLAPPED (obj->io_overlapped false)
 * never leave a request pending: the engine calls io_try in the issuing
 * thread and, while it answers ERROR_IO_PENDING, sleeps on what it named
 * (poll on the fd, futex on the word) and calls again — the blocking
 * semantics Windows gives an OVERLAPPED on a synchronous handle. Types set
 * obj->io_overlapped when the handle is opened with FILE_FLAG_OVERLAPPED
 * (and carry it through inheritance).
 *
 * == Order ==
 *
 * Each object has three queues: reads (READ, TRANSACT), writes (WRITE) and
 * others (CONNECT). Only the head of a queue is attempted; a request issued
 * while its queue is not empty queues behind without an attempt and
 * ERROR_IO_PENDING is returned. So requests in one direction complete in
 * the order they were issued, as on Windows, and completion packets reach
 * the port in that order.
 *
 * == Completion (what the program sees) ==
 *
 * At issue: the event is reset (invalid event handle: the call fails with
 * ERROR_INVALID_HANDLE before anything happens), Internal = STATUS_PENDING;
 * InternalHigh is left alone (Windows writes it only at completion).
 * At completion: InternalHigh = bytes, then Internal = the NTSTATUS
 * (release store), then the event is set, GetOverlappedResult waiters on
 * the handle are woken, the APC is queued, the packet is posted.
 * Windows' rule for a request that FAILS AT ONCE (an NT error status, not
 * pending): nothing of that happens — Internal stays STATUS_PENDING, no
 * event, no packet, no APC; the call just returns FALSE with the error
 * (e.g. ConnectNamedPipe's ERROR_PIPE_CONNECTED: an IOCP server must handle
 * it inline), on synchronous handles too. Types without io_try (disk files,
 * whose Windows transfers take the fast I/O path) store the status and set
 * the event, but post no packet and queue no APC. Successes and warnings
 * (ERROR_MORE_DATA) complete normally, also when they complete at once; a
 * success at once posts no packet when the handle has
 * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (SetFileCompletionNotificationModes).
 *
 * == Lifetime ==
 *
 * A pending request holds an I/O reference on its object (object.h). When
 * the last handle to the object is closed (only I/O references remain:
 * wi_object_release notices), every pending request
 * completes at once with the error io_try gives for io->closing, as closing
 * a file object ends its I/O on Windows. Requests outlive the thread that
 * issued them (as Windows' I/O on handles associated with a completion
 * port); a completion routine whose thread has ended is dropped. */
#ifndef WINIPC_ASYNC_H
#define WINIPC_ASYNC_H

#include "object.h"

enum wi_io_op {
    WI_IO_READ,     /* ReadFile(Ex): up to len bytes into buf */
    WI_IO_WRITE,    /* WriteFile(Ex): wlen bytes from wbuf */
    WI_IO_CONNECT,  /* ConnectNamedPipe: no buffers */
    WI_IO_TRANSACT, /* TransactNamedPipe: write wbuf/wlen, then read into buf/len */
};

struct wi_io {
    /* The request (set by the issuer; read-only for io_try). */
    enum wi_io_op op;
    void *buf;
    DWORD len;
    const void *wbuf;
    DWORD wlen;
    OVERLAPPED *ov;   /* io_try may read Offset/OffsetHigh; never writes it */
    bool ex;          /* ReadFileEx/WriteFileEx: hEvent is the caller's, untouched */
    uint64_t issued;  /* CLOCK_MONOTONIC ns when the call was made (set by the engine;
                         a request queued behind others is first tried later) */
    unsigned attempt; /* 0 on the first io_try */
    bool closing;     /* the last handle is gone: answer the final error only */

    /* Written by io_try. */
    DWORD done;           /* bytes transferred (when complete) */
    uint64_t progress[2]; /* the type's notes between attempts; 0 at first */
    int wait_fd;          /* with ERROR_IO_PENDING: fd to wait on, or -1 */
    uint32_t wait_events; /* EPOLLIN / EPOLLOUT */
    struct wi_waitable *wait_word; /* or a futex word to wait on (NULL: none) */
    uint32_t wait_value;           /* ... while word == wait_value */
    uint64_t wait_until;           /* ... or until this CLOCK_MONOTONIC ns (0: no limit) */
};

/* Start a request on `obj` (pinned by the caller through a handle with the
 * right access, already checked). `io` is filled by the caller: op, buffers,
 * ov (not NULL), ex for ReadFileEx/WriteFileEx. `routine` is their
 * completion routine (NULL: none, the request completes without an APC). Returns
 *   - ERROR_IO_PENDING: pending; completion comes later;
 *   - anything else: the request is complete, *done has the bytes; the
 *     OVERLAPPED, event, port and APC were handled as described above.
 * Also ERROR_INVALID_HANDLE for a bad event handle, and
 * ERROR_INVALID_PARAMETER for a completion routine on a handle associated
 * with a completion port (Windows refuses an APC there). */
DWORD wi_async_start(struct wi_object *obj, struct wi_io *io, LPOVERLAPPED_COMPLETION_ROUTINE routine, DWORD *done);

/* For types: state changed (e.g. DisconnectNamedPipe, a peer in this
 * process): attempt the heads of the object's queues again now. Must not be
 * called from io_try or with a lock io_try takes. Cheap when nothing is
 * pending. */
void wi_async_kick(struct wi_object *obj);

/* CancelIo/CancelIoEx: cancel pending requests of `obj` whose OVERLAPPED is
 * `ov` (NULL: any), issued by the calling thread only if `this_thread`.
 * Each completes with ERROR_OPERATION_ABORTED. ERROR_NOT_FOUND when none
 * matched. */
DWORD wi_async_cancel(struct wi_object *obj, const OVERLAPPED *ov, bool this_thread);

/* GetOverlappedResult without an event: wait until `ov` (a request on
 * `obj`) is no longer STATUS_PENDING. Returns WAIT_OBJECT_0, WAIT_TIMEOUT or
 * WAIT_IO_COMPLETION (alertable, APCs ran). */
DWORD wi_async_wait(struct wi_object *obj, const OVERLAPPED *ov, DWORD ms, bool alertable);

/* CreateIoCompletionPort(h, port, key): associate once (again:
 * ERROR_INVALID_PARAMETER). The object keeps a reference to the port. */
DWORD wi_async_associate(struct wi_object *obj, struct wi_object *port, ULONG_PTR key);

/* SetFileCompletionNotificationModes. */
DWORD wi_async_set_modes(struct wi_object *obj, UCHAR flags);

/* object.c: the last reference other than I/O ones went away (cancel
 * everything pending; a port wakes its waiters), and the object is being
 * destroyed (free the engine state, drop the port). */
void wi_async_orphaned(struct wi_object *obj);
void wi_async_destroy(struct wi_object *obj);

#endif
