/* SPDX-License-Identifier: MIT */
/* The last error and the one errno -> Win32 error table.
 *
 * Internal functions return a Win32 error code (DWORD, 0 = success). Each
 * public entry point finishes through wi_fail_* / wi_result_bool, which store the
 * code with SetLastError semantics and return the failure value Windows
 * documents for that function. */
#ifndef WINIPC_ERROR_H
#define WINIPC_ERROR_H

#include <windows.h>
#include <stdbool.h>

/* Translate an errno value to the nearest Win32 error code. */
DWORD wi_error_from_errno(int err);

/* Last error of the calling thread. */
void wi_set_last_error(DWORD err);

/* English message text for a Win32 error code, NULL when unknown. The text is
 * Windows' own (with its trailing "\r\n" removed). Defined in error_messages.c. */
const char *wi_error_message(DWORD code);

/* Helpers for the tail of an entry point: set the last error and return the
 * failure value. `wi_fail_bool(0)` is never used: success paths return TRUE
 * explicitly (Windows leaves the last error alone on most successes). */
static inline BOOL wi_fail_bool(DWORD err)
{
    wi_set_last_error(err);
    return FALSE;
}
static inline HANDLE wi_fail_null(DWORD err)
{
    wi_set_last_error(err);
    return NULL;
}
static inline HANDLE wi_fail_invalid(DWORD err)
{
    wi_set_last_error(err);
    return INVALID_HANDLE_VALUE;
}
/* For BOOL functions whose internal worker returns a code. */
static inline BOOL wi_result_bool(DWORD err)
{
    if (err) {
        wi_set_last_error(err);
        return FALSE;
    }
    return TRUE;
}

#endif
