/* SPDX-License-Identifier: MIT */
/* The thread's last error and the single errno -> Win32 translation table. */
#include "tls.h"
#include "error.h"

#include <errno.h>

static WI_THREAD_LOCAL DWORD last_error;

void wi_set_last_error(DWORD err)
{
    last_error = err;
}

DWORD wi_error_from_errno(int err)
{
    switch (err) {
    case 0:
        return ERROR_SUCCESS;
    case ENOENT:
        return ERROR_FILE_NOT_FOUND;
    case ENOTDIR:
        return ERROR_PATH_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return ERROR_ACCESS_DENIED;
    case EBADF:
        return ERROR_INVALID_HANDLE;
    case ENOMEM:
        return ERROR_NOT_ENOUGH_MEMORY;
    case EEXIST:
        return ERROR_FILE_EXISTS;
    case EINVAL:
        return ERROR_INVALID_PARAMETER;
    case EMFILE:
    case ENFILE:
        return ERROR_TOO_MANY_OPEN_FILES;
    case ENOSPC:
    case EDQUOT:
        return ERROR_DISK_FULL;
    case EFBIG:
        return ERROR_FILE_TOO_LARGE;
    case ENAMETOOLONG:
        return ERROR_FILENAME_EXCED_RANGE;
    case EISDIR:
        return ERROR_ACCESS_DENIED; /* Windows: opening a directory as a file */
    case ENOTEMPTY:
        return ERROR_DIR_NOT_EMPTY;
    case EBUSY:
        return ERROR_BUSY;
    case ETXTBSY:
        return ERROR_SHARING_VIOLATION;
    case EAGAIN:
        return ERROR_NO_SYSTEM_RESOURCES;
    case EPIPE:
        return ERROR_NO_DATA; /* write to a closed pipe: "The pipe is being closed." */
    case ECONNRESET:
        return ERROR_BROKEN_PIPE;
    case ENOTCONN:
        return ERROR_PIPE_NOT_CONNECTED;
    case ETIMEDOUT:
        return ERROR_SEM_TIMEOUT;
    case ESPIPE:
        return ERROR_SEEK_ON_DEVICE;
    case ENOEXEC:
        return ERROR_BAD_EXE_FORMAT;
    case E2BIG:
        return ERROR_BAD_ENVIRONMENT;
    case ESRCH:
        return ERROR_INVALID_PARAMETER; /* OpenProcess on a pid that does not exist */
    case ENOSYS:
    case EOPNOTSUPP:
        return ERROR_NOT_SUPPORTED;
    case EFAULT:
        return ERROR_NOACCESS;
    case EIO:
        return ERROR_GEN_FAILURE;
    case ELOOP:
        return ERROR_CANT_RESOLVE_FILENAME; /* a symbolic-link loop */
    case EOVERFLOW:
        return ERROR_ARITHMETIC_OVERFLOW;
    default:
        return ERROR_GEN_FAILURE;
    }
}

WINBASEAPI DWORD WINAPI GetLastError(void)
{
    return last_error;
}

WINBASEAPI void WINAPI SetLastError(DWORD dwErrCode)
{
    last_error = dwErrCode;
}
