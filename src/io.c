/* SPDX-License-Identifier: MIT */
/* ReadFile, WriteFile, FlushFileBuffers, GetOverlappedResult(Ex), CancelIo(Ex):
 * generic entry points that dispatch through the ops table of whatever
 * object the handle refers to (files, anonymous pipes, named pipes, ...).
 * No type is named here.
 *
 * Overlapped requests (an OVERLAPPED given, ReadFileEx/WriteFileEx) go to
 * the engine (async.c), which completes them at once or leaves them
 * pending; GetOverlappedResult and CancelIo(Ex) read or act on what it
 * leaves in the OVERLAPPED. The NTSTATUS <-> Win32 table is here. */
#include "io.h"

#include "async.h"
#include "error.h"
#include "handle.h"
#include "object.h"

/* NTSTATUS values (ntstatus.h) for the errors winipc's I/O produces. */
#define NT_SUCCESS_ 0x00000000u
#define NT_BUFFER_OVERFLOW 0x80000005u
#define NT_UNSUCCESSFUL 0xC0000001u
#define NT_ACCESS_VIOLATION 0xC0000005u
#define NT_INVALID_HANDLE 0xC0000008u
#define NT_INVALID_PARAMETER 0xC000000Du
#define NT_INVALID_DEVICE_REQUEST 0xC0000010u
#define NT_END_OF_FILE 0xC0000011u
#define NT_NO_MEMORY 0xC0000017u
#define NT_ACCESS_DENIED 0xC0000022u
#define NT_BUFFER_TOO_SMALL 0xC0000023u
#define NT_SHARING_VIOLATION 0xC0000043u
#define NT_DISK_FULL 0xC000007Fu
#define NT_INSUFFICIENT_RESOURCES 0xC000009Au
#define NT_PIPE_NOT_AVAILABLE 0xC00000ACu
#define NT_INVALID_PIPE_STATE 0xC00000ADu
#define NT_PIPE_BUSY 0xC00000AEu
#define NT_PIPE_DISCONNECTED 0xC00000B0u
#define NT_PIPE_CLOSING 0xC00000B1u
#define NT_PIPE_CONNECTED 0xC00000B2u
#define NT_PIPE_LISTENING 0xC00000B3u
#define NT_IO_TIMEOUT 0xC00000B5u
#define NT_NOT_SUPPORTED 0xC00000BBu
#define NT_PIPE_EMPTY 0xC00000D9u
#define NT_CANCELLED 0xC0000120u
#define NT_PIPE_BROKEN 0xC000014Bu
/* NTSTATUS_FROM_WIN32: any other Win32 code travels as 0xC007xxxx, which
 * RtlNtStatusToDosError turns back into the code. */
#define NT_FACILITY_WIN32 0xC0070000u

static const struct {
    DWORD status, error;
} status_map[] = {
    {NT_SUCCESS_, ERROR_SUCCESS},
    {STATUS_PENDING, ERROR_IO_PENDING},
    {NT_BUFFER_OVERFLOW, ERROR_MORE_DATA},
    {NT_UNSUCCESSFUL, ERROR_GEN_FAILURE},
    {NT_ACCESS_VIOLATION, ERROR_NOACCESS},
    {NT_INVALID_HANDLE, ERROR_INVALID_HANDLE},
    {NT_INVALID_PARAMETER, ERROR_INVALID_PARAMETER},
    {NT_INVALID_DEVICE_REQUEST, ERROR_INVALID_FUNCTION},
    {NT_END_OF_FILE, ERROR_HANDLE_EOF},
    {NT_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY},
    {NT_ACCESS_DENIED, ERROR_ACCESS_DENIED},
    {NT_BUFFER_TOO_SMALL, ERROR_INSUFFICIENT_BUFFER}, /* a mailslot message larger than the buffer */
    {NT_SHARING_VIOLATION, ERROR_SHARING_VIOLATION},
    {NT_DISK_FULL, ERROR_DISK_FULL},
    {NT_INSUFFICIENT_RESOURCES, ERROR_NO_SYSTEM_RESOURCES},
    {NT_PIPE_BUSY, ERROR_PIPE_BUSY},
    {NT_INVALID_PIPE_STATE, ERROR_BAD_PIPE},
    {NT_PIPE_DISCONNECTED, ERROR_PIPE_NOT_CONNECTED},
    {NT_PIPE_CLOSING, ERROR_NO_DATA},
    {NT_PIPE_CONNECTED, ERROR_PIPE_CONNECTED},
    {NT_PIPE_LISTENING, ERROR_PIPE_LISTENING},
    {NT_IO_TIMEOUT, ERROR_SEM_TIMEOUT},
    {NT_NOT_SUPPORTED, ERROR_NOT_SUPPORTED},
    {NT_CANCELLED, ERROR_OPERATION_ABORTED},
    {NT_PIPE_BROKEN, ERROR_BROKEN_PIPE},
    /* Read-only direction: statuses other code may store. */
    {NT_PIPE_NOT_AVAILABLE, ERROR_PIPE_BUSY},
    {NT_PIPE_EMPTY, ERROR_NO_DATA},
};

DWORD wi_ntstatus_from_error(DWORD err)
{
    for (size_t i = 0; i < sizeof status_map / sizeof status_map[0]; i++)
        if (status_map[i].error == err)
            return status_map[i].status;
    return NT_FACILITY_WIN32 | (err & 0xFFFFu);
}

DWORD wi_error_from_ntstatus(DWORD status)
{
    for (size_t i = 0; i < sizeof status_map / sizeof status_map[0]; i++)
        if (status_map[i].status == status)
            return status_map[i].error;
    if ((status & 0xFFFF0000u) == NT_FACILITY_WIN32)
        return status & 0xFFFFu;
    return ERROR_MR_MID_NOT_FOUND; /* what Windows answers for an unknown status */
}

/* NT_SUCCESS: severities "success" and "informational". STATUS_PENDING is
 * one, STATUS_BUFFER_OVERFLOW (a warning) is not. */
static bool status_ok(DWORD status)
{
    return (int32_t)status >= 0;
}

/* NT_ERROR: severity "error"; warnings (ERROR_MORE_DATA) are not. */
static bool status_error(DWORD status)
{
    return (status >> 30) == 3;
}

/* The low bit of hEvent asks for no completion-port packet; the event
 * handle is the value without it. */
static HANDLE event_of(const OVERLAPPED *ov)
{
    return (HANDLE)((ULONG_PTR)ov->hEvent & ~(ULONG_PTR)1);
}

DWORD wi_sync_read_overlapped(struct wi_object *obj, void *buf, DWORD len, OVERLAPPED *ov, DWORD *done)
{
    return obj->ops->read(obj, buf, len, done);
}

DWORD wi_sync_write_overlapped(struct wi_object *obj, const void *buf, DWORD len, OVERLAPPED *ov, DWORD *done)
{
    return obj->ops->write(obj, buf, len, done);
}

/* A transfer with an OVERLAPPED: the engine (async.c) runs it. */
static DWORD start_overlapped(struct wi_object *obj, bool write, void *buf, DWORD len, OVERLAPPED *ov, bool ex,
                              LPOVERLAPPED_COMPLETION_ROUTINE routine, DWORD *done)
{
    struct wi_io io = {.op = write ? WI_IO_WRITE : WI_IO_READ, .ov = ov, .ex = ex};
    if (write) {
        io.wbuf = buf;
        io.wlen = len;
    } else {
        io.buf = buf;
        io.len = len;
    }
    return wi_async_start(obj, &io, routine, done);
}

/* Checks common to every read (pinned handle): a file-like object opened
 * with read access, and a buffer. */
static DWORD read_check(const struct wi_pin *pin, const void *buf, DWORD len)
{
    if (pin->obj->ops->read == wi_no_read)
        return ERROR_INVALID_HANDLE; /* not a file-like object */
    if (!(pin->access & FILE_READ_DATA))
        return ERROR_ACCESS_DENIED;
    if (!buf && len)
        return ERROR_NOACCESS;
    return ERROR_SUCCESS;
}

static DWORD write_check(const struct wi_pin *pin, const void *buf, DWORD len)
{
    if (pin->obj->ops->write == wi_no_write)
        return ERROR_INVALID_HANDLE;
    if (!(pin->access & (FILE_WRITE_DATA | FILE_APPEND_DATA)))
        return ERROR_ACCESS_DENIED;
    if (!buf && len)
        return ERROR_NOACCESS;
    return ERROR_SUCCESS;
}

/* --- Win32 entry points ------------------------------------------------------ */

WINBASEAPI BOOL WINAPI ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead, LPDWORD lpNumberOfBytesRead,
                                LPOVERLAPPED lpOverlapped)
{
    struct wi_pin pin;
    DWORD done = 0, err;

    if (lpNumberOfBytesRead)
        *lpNumberOfBytesRead = 0;
    /* Windows 7 and later: the count may only be omitted for overlapped
     * requests. */
    if (!lpNumberOfBytesRead && !lpOverlapped)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    err = wi_handle_get(hFile, WI_TYPE_NONE, 0, &pin);
    if (err)
        return wi_fail_bool(err);
    if ((err = read_check(&pin, lpBuffer, nNumberOfBytesToRead)) != ERROR_SUCCESS)
        ;
    else if (!lpOverlapped)
        err = pin.obj->ops->read(pin.obj, lpBuffer, nNumberOfBytesToRead, &done);
    else
        err = start_overlapped(pin.obj, false, lpBuffer, nNumberOfBytesToRead, lpOverlapped, false, NULL, &done);
    wi_handle_put(&pin);
    /* Failures keep the count too: a message-mode pipe read that fails with
     * ERROR_MORE_DATA reports the bytes it did deliver. */
    if (lpNumberOfBytesRead)
        *lpNumberOfBytesRead = done;
    return wi_result_bool(err);
}

WINBASEAPI BOOL WINAPI WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite,
                                 LPDWORD lpNumberOfBytesWritten, LPOVERLAPPED lpOverlapped)
{
    struct wi_pin pin;
    DWORD done = 0, err;

    if (lpNumberOfBytesWritten)
        *lpNumberOfBytesWritten = 0;
    if (!lpNumberOfBytesWritten && !lpOverlapped)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    err = wi_handle_get(hFile, WI_TYPE_NONE, 0, &pin);
    if (err)
        return wi_fail_bool(err);
    if ((err = write_check(&pin, lpBuffer, nNumberOfBytesToWrite)) != ERROR_SUCCESS)
        ;
    else if (!lpOverlapped)
        err = pin.obj->ops->write(pin.obj, lpBuffer, nNumberOfBytesToWrite, &done);
    else
        err = start_overlapped(pin.obj, true, (void *)lpBuffer, nNumberOfBytesToWrite, lpOverlapped, false, NULL,
                               &done);
    wi_handle_put(&pin);
    if (lpNumberOfBytesWritten)
        *lpNumberOfBytesWritten = done;
    return wi_result_bool(err);
}

/* ReadFileEx/WriteFileEx: the completion routine runs as an APC in the
 * calling thread's next alertable wait, also when the transfer completed at
 * once; hEvent is the caller's. FALSE only when the request failed at once
 * (then no routine runs). Without a routine the request just completes
 * (the OVERLAPPED, a port packet), as Windows lets it. */
static BOOL transfer_ex(HANDLE h, bool write, void *buf, DWORD len, LPOVERLAPPED ov,
                        LPOVERLAPPED_COMPLETION_ROUTINE routine)
{
    struct wi_pin pin;
    DWORD done, err;
    if (!ov)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    err = wi_handle_get(h, WI_TYPE_NONE, 0, &pin);
    if (err)
        return wi_fail_bool(err);
    err = write ? write_check(&pin, buf, len) : read_check(&pin, buf, len);
    if (!err)
        err = start_overlapped(pin.obj, write, buf, len, ov, true, routine, &done);
    wi_handle_put(&pin);
    if (err == ERROR_IO_PENDING || !status_error(wi_ntstatus_from_error(err)))
        return TRUE;
    return wi_fail_bool(err);
}

WINBASEAPI BOOL WINAPI ReadFileEx(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead, LPOVERLAPPED lpOverlapped,
                                  LPOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine)
{
    return transfer_ex(hFile, false, lpBuffer, nNumberOfBytesToRead, lpOverlapped, lpCompletionRoutine);
}

WINBASEAPI BOOL WINAPI WriteFileEx(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite,
                                   LPOVERLAPPED lpOverlapped, LPOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine)
{
    return transfer_ex(hFile, true, (void *)lpBuffer, nNumberOfBytesToWrite, lpOverlapped, lpCompletionRoutine);
}

WINBASEAPI BOOL WINAPI FlushFileBuffers(HANDLE hFile)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(hFile, WI_TYPE_NONE, 0, &pin);
    if (err)
        return wi_fail_bool(err);
    if (pin.obj->ops->flush == wi_no_flush)
        err = ERROR_INVALID_HANDLE;
    else if (!(pin.access & (FILE_WRITE_DATA | FILE_APPEND_DATA)))
        err = ERROR_ACCESS_DENIED; /* Windows needs GENERIC_WRITE here */
    else
        err = pin.obj->ops->flush(pin.obj);
    wi_handle_put(&pin);
    return wi_result_bool(err);
}

/* GetOverlappedResult(Ex). Like Windows, the handle is only used when the
 * operation is still pending and there is no event to wait on; then the
 * engine wakes us when a request on that handle completes. */
static DWORD wait_on_handle(HANDLE h, LPOVERLAPPED ov, DWORD ms, BOOL alertable)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(h, WI_TYPE_NONE, 0, &pin);
    if (err) {
        wi_set_last_error(err);
        return WAIT_FAILED;
    }
    bool io = pin.obj->ops->read != wi_no_read || pin.obj->ops->write != wi_no_write;
    DWORD r = io ? wi_async_wait(pin.obj, ov, ms, alertable) : WAIT_FAILED;
    wi_handle_put(&pin);
    if (!io) /* not an I/O handle: wait on the object itself, as Windows does */
        r = WaitForSingleObjectEx(h, ms, alertable);
    return r;
}

static BOOL overlapped_result(HANDLE h, LPOVERLAPPED ov, LPDWORD bytes, DWORD ms, BOOL alertable)
{
    DWORD status;

    if (!ov || !bytes)
        return wi_fail_bool(ERROR_NOACCESS);
    status = (DWORD)__atomic_load_n(&ov->Internal, __ATOMIC_ACQUIRE);
    if (status == STATUS_PENDING) {
        if (ms == 0)
            return wi_fail_bool(ERROR_IO_INCOMPLETE);
        HANDLE ev = event_of(ov);
        DWORD r = ev ? WaitForSingleObjectEx(ev, ms, alertable) : wait_on_handle(h, ov, ms, alertable);
        if (r == WAIT_FAILED)
            return FALSE; /* the wait set the last error */
        if (r == WAIT_TIMEOUT || r == WAIT_IO_COMPLETION)
            return wi_fail_bool(r); /* GetOverlappedResultEx reports these codes */
        status = (DWORD)__atomic_load_n(&ov->Internal, __ATOMIC_ACQUIRE);
        if (status == STATUS_PENDING)
            return wi_fail_bool(ERROR_IO_INCOMPLETE); /* the event was set by someone else */
    }
    *bytes = (DWORD)ov->InternalHigh;
    if (!status_ok(status))
        return wi_fail_bool(wi_error_from_ntstatus(status));
    return TRUE;
}

WINBASEAPI BOOL WINAPI GetOverlappedResult(HANDLE hFile, LPOVERLAPPED lpOverlapped, LPDWORD lpNumberOfBytesTransferred,
                                           BOOL bWait)
{
    return overlapped_result(hFile, lpOverlapped, lpNumberOfBytesTransferred, bWait ? INFINITE : 0, FALSE);
}

WINBASEAPI BOOL WINAPI GetOverlappedResultEx(HANDLE hFile, LPOVERLAPPED lpOverlapped,
                                             LPDWORD lpNumberOfBytesTransferred, DWORD dwMilliseconds,
                                             BOOL bAlertable)
{
    return overlapped_result(hFile, lpOverlapped, lpNumberOfBytesTransferred, dwMilliseconds, bAlertable);
}

/* Cancellation: the engine completes each cancelled request with
 * ERROR_OPERATION_ABORTED (STATUS_CANCELLED) before these return. Requests
 * that completed at once were never pending and cannot be found. */
static DWORD cancel(HANDLE h, const OVERLAPPED *ov, bool this_thread)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(h, WI_TYPE_NONE, 0, &pin);
    if (err)
        return err;
    if (pin.obj->ops->read == wi_no_read && pin.obj->ops->write == wi_no_write)
        err = ERROR_INVALID_HANDLE; /* not a file-like object */
    else
        err = wi_async_cancel(pin.obj, ov, this_thread);
    wi_handle_put(&pin);
    return err;
}

/* CancelIo: the calling thread's requests on the handle; success also when
 * there were none, as Windows answers. */
WINBASEAPI BOOL WINAPI CancelIo(HANDLE hFile)
{
    DWORD err = cancel(hFile, NULL, true);
    return wi_result_bool(err == ERROR_NOT_FOUND ? ERROR_SUCCESS : err);
}

/* CancelIoEx: any thread's requests on the handle, all of them or those
 * with this OVERLAPPED; ERROR_NOT_FOUND when none. */
WINBASEAPI BOOL WINAPI CancelIoEx(HANDLE hFile, LPOVERLAPPED lpOverlapped)
{
    return wi_result_bool(cancel(hFile, lpOverlapped, false));
}

/* Synchronous transfers block inside the object types (a recv, a poll)
 * where winipc has no way to interrupt them from another thread: not
 * supported (docs/overlapped.md). The thread handle is still validated. */
WINBASEAPI BOOL WINAPI CancelSynchronousIo(HANDLE hThread)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(hThread, WI_TYPE_THREAD, THREAD_TERMINATE, &pin);
    if (err)
        return wi_fail_bool(err);
    wi_handle_put(&pin);
    return wi_fail_bool(ERROR_NOT_SUPPORTED);
}

/* SetFileCompletionNotificationModes: modes are added, never removed (the
 * kernel only ever sets these file-object flags). */
WINBASEAPI BOOL WINAPI SetFileCompletionNotificationModes(HANDLE FileHandle, UCHAR Flags)
{
    struct wi_pin pin;
    if (Flags & ~(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE))
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    DWORD err = wi_handle_get(FileHandle, WI_TYPE_NONE, 0, &pin);
    if (err)
        return wi_fail_bool(err);
    if (pin.obj->ops->read == wi_no_read && pin.obj->ops->write == wi_no_write)
        err = ERROR_INVALID_HANDLE;
    else
        err = wi_async_set_modes(pin.obj, Flags);
    wi_handle_put(&pin);
    return wi_result_bool(err);
}
