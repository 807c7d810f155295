/* SPDX-License-Identifier: MIT */
/* CreatePipe: an anonymous pipe is a Linux pipe (pipe2) whose two ends are
 * file objects (file.c), so ReadFile/WriteFile/GetFileType/inheritance and
 * STARTUPINFO redirection work on them like on any file handle. What makes
 * them pipes on the Windows side lives in fdio.c: end of stream is
 * ERROR_BROKEN_PIPE, a write without reader is ERROR_NO_DATA (no SIGPIPE),
 * a zero-byte read waits for data. */
#include "error.h"
#include "file.h"
#include "handle.h"
#include "security.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* The rights Windows gives the two ends of an anonymous pipe. */
#define READ_END_ACCESS (FILE_GENERIC_READ | FILE_WRITE_ATTRIBUTES)
#define WRITE_END_ACCESS (FILE_GENERIC_WRITE | FILE_READ_ATTRIBUTES)

static DWORD create_pipe(HANDLE *rh, HANDLE *wh, const SECURITY_ATTRIBUTES *sa, DWORD size)
{
    struct wi_object *r = NULL, *w = NULL;
    DWORD flags, err;
    bool world;
    int fds[2];

    err = wi_sa_parse(sa, &flags, &world);
    if (err)
        return err;
    if (pipe2(fds, O_CLOEXEC) != 0)
        return wi_error_from_errno(errno);
    /* nSize is a suggestion on Windows too ("the system uses the value to
     * calculate an appropriate buffering mechanism"): ask Linux for it, and
     * keep the default when it refuses (above /proc/sys/fs/pipe-max-size). */
    if (size)
        (void)fcntl(fds[1], F_SETPIPE_SZ, (int)(size > 0x7FFFFFFFu ? 0x7FFFFFFFu : size));
    err = wi_file_wrap_fd(fds[0], &r);
    if (err) {
        close(fds[0]);
        close(fds[1]);
        return err;
    }
    err = wi_file_wrap_fd(fds[1], &w);
    if (err) {
        close(fds[1]);
        wi_object_release(r);
        return err;
    }
    err = wi_handle_insert(r, READ_END_ACCESS, flags, rh);
    if (err) {
        wi_object_release(r);
        wi_object_release(w);
        return err;
    }
    err = wi_handle_insert(w, WRITE_END_ACCESS, flags, wh);
    if (err) {
        CloseHandle(*rh);
        wi_object_release(w);
        return err;
    }
    return ERROR_SUCCESS;
}

/* --- Win32 entry points ------------------------------------------------------ */

WINBASEAPI BOOL WINAPI CreatePipe(PHANDLE hReadPipe, PHANDLE hWritePipe, LPSECURITY_ATTRIBUTES lpPipeAttributes,
                                  DWORD nSize)
{
    HANDLE r, w;
    if (!hReadPipe || !hWritePipe)
        return wi_fail_bool(ERROR_NOACCESS);
    DWORD err = create_pipe(&r, &w, lpPipeAttributes, nSize);
    if (err)
        return wi_fail_bool(err);
    *hReadPipe = r;
    *hWritePipe = w;
    return TRUE;
}
