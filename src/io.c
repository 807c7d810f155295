/* SPDX-License-Identifier: MIT */
/* ReadFile, WriteFile, FlushFileBuffers, GetOverlappedResult(Ex), CancelIo(Ex):
 * generic entry points that dispatch through the ops table of whatever
 * object the handle refers to (files, anonymous pipes, named pipes, ...).
 * No type is named here.
 *
 * Overlapped model: io.c marks the OVERLAPPED pending and resets its event,
 * then asks the type to start the transfer (ops->read_overlapped /
 * write_overlapped). A type may finish at once (files always do: Windows
 * allows an overlapped request to complete synchronously, and then returns
 * TRUE with Internal, InternalHigh and the event already set) or return
 * ERROR_IO_PENDING and complete later with wi_overlapped_complete(). */
#include "io.h"

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

/* The low bit of hEvent asks for no completion-port packet; the event
 * handle is the value without it. */
static HANDLE event_of(const OVERLAPPED *ov)
{
    return (HANDLE)((ULONG_PTR)ov->hEvent & ~(ULONG_PTR)1);
}

void wi_overlapped_complete(OVERLAPPED *ov, DWORD err, DWORD bytes)
{
    HANDLE ev = event_of(ov);
    ov->InternalHigh = bytes;
    __atomic_store_n(&ov->Internal, (ULONG_PTR)wi_ntstatus_from_error(err), __ATOMIC_RELEASE);
    if (ev) {
        DWORD saved = GetLastError();
        SetEvent(ev);
        SetLastError(saved);
    }
}

DWORD wi_sync_read_overlapped(struct wi_object *obj, void *buf, DWORD len, OVERLAPPED *ov, DWORD *done)
{
    return obj->ops->read(obj, buf, len, done);
}

DWORD wi_sync_write_overlapped(struct wi_object *obj, const void *buf, DWORD len, OVERLAPPED *ov, DWORD *done)
{
    return obj->ops->write(obj, buf, len, done);
}

/* Mark `ov` pending, run the type's transfer, and complete `ov` unless the
 * type left it pending. */
static DWORD start_overlapped(struct wi_object *obj, bool write, void *buf, DWORD len, OVERLAPPED *ov, DWORD *done)
{
    HANDLE ev = event_of(ov);
    DWORD err;

    /* Windows resets the event when the request is issued; an invalid
     * event handle fails the call before any transfer. */
    if (ev && !ResetEvent(ev))
        return GetLastError();
    ov->InternalHigh = 0;
    __atomic_store_n(&ov->Internal, (ULONG_PTR)STATUS_PENDING, __ATOMIC_RELEASE);
    if (write) {
        DWORD (*op)(struct wi_object *, const void *, DWORD, OVERLAPPED *, DWORD *) = obj->ops->write_overlapped;
        err = (op ? op : wi_sync_write_overlapped)(obj, buf, len, ov, done);
    } else {
        DWORD (*op)(struct wi_object *, void *, DWORD, OVERLAPPED *, DWORD *) = obj->ops->read_overlapped;
        err = (op ? op : wi_sync_read_overlapped)(obj, buf, len, ov, done);
    }
    if (err != ERROR_IO_PENDING)
        wi_overlapped_complete(ov, err, *done);
    else
        *done = 0;
    return err;
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
    if (pin.obj->ops->read == wi_no_read)
        err = ERROR_INVALID_HANDLE; /* not a file-like object */
    else if (!(pin.access & FILE_READ_DATA))
        err = ERROR_ACCESS_DENIED;
    else if (!lpBuffer && nNumberOfBytesToRead)
        err = ERROR_NOACCESS;
    else if (!lpOverlapped)
        err = pin.obj->ops->read(pin.obj, lpBuffer, nNumberOfBytesToRead, &done);
    else
        err = start_overlapped(pin.obj, false, lpBuffer, nNumberOfBytesToRead, lpOverlapped, &done);
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
    if (pin.obj->ops->write == wi_no_write)
        err = ERROR_INVALID_HANDLE;
    else if (!(pin.access & (FILE_WRITE_DATA | FILE_APPEND_DATA)))
        err = ERROR_ACCESS_DENIED;
    else if (!lpBuffer && nNumberOfBytesToWrite)
        err = ERROR_NOACCESS;
    else if (!lpOverlapped)
        err = pin.obj->ops->write(pin.obj, lpBuffer, nNumberOfBytesToWrite, &done);
    else
        err = start_overlapped(pin.obj, true, (void *)lpBuffer, nNumberOfBytesToWrite, lpOverlapped, &done);
    wi_handle_put(&pin);
    if (lpNumberOfBytesWritten)
        *lpNumberOfBytesWritten = done;
    return wi_result_bool(err);
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
 * operation is still pending and there is no event to wait on. */
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
        DWORD r = WaitForSingleObjectEx(ev ? ev : h, ms, alertable);
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

/* Cancellation. Nothing winipc starts stays pending yet (files and anonymous
 * pipes complete every overlapped request at once), so there is never
 * anything to cancel: CancelIo succeeds, CancelIoEx reports ERROR_NOT_FOUND
 * as Windows does when no request matches. A type that leaves requests
 * pending adds a cancel operation to its ops and this is where it is
 * called. */
static DWORD io_handle_check(HANDLE h)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(h, WI_TYPE_NONE, 0, &pin);
    if (err)
        return err;
    if (pin.obj->ops->read == wi_no_read && pin.obj->ops->write == wi_no_write)
        err = ERROR_INVALID_HANDLE; /* not a file-like object */
    wi_handle_put(&pin);
    return err;
}

WINBASEAPI BOOL WINAPI CancelIo(HANDLE hFile)
{
    return wi_result_bool(io_handle_check(hFile));
}

WINBASEAPI BOOL WINAPI CancelIoEx(HANDLE hFile, LPOVERLAPPED lpOverlapped)
{
    DWORD err = io_handle_check(hFile);
    return wi_fail_bool(err ? err : ERROR_NOT_FOUND);
}
