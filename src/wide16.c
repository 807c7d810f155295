/* SPDX-License-Identifier: MIT */
/* The *W16 entry points: W functions for callers built with -fshort-wchar.
 *
 * Such a caller's WCHAR is 16 bits and its strings are UTF-16, while the
 * library (and every other caller) uses a 32-bit wchar_t. The public headers
 * rename each XxxW to XxxW16 when __SIZEOF_WCHAR_T__ == 2, so the two never
 * meet. Each function here converts its UTF-16 inputs, calls the real XxxW,
 * and converts what XxxW wrote back to UTF-16, applying the W function's own
 * return-value and buffer-size rules in 16-bit units: a character outside
 * the BMP counts 2 (a surrogate pair), exactly as on Windows.
 *
 * The library is built with a 32-bit wchar_t, so the W16 prototypes are
 * written here with uint16_t for WCHAR. Structures keep their layout (their
 * WCHAR members are pointers), so they take the headers' types; their
 * strings are UTF-16 on this side.
 *
 * Some areas define their W16 functions next to their W ones (mapping.c:
 * CreateFileMappingW16, OpenFileMappingW16; named_pipe.c: CreateNamedPipeW16,
 * WaitNamedPipeW16); this file has the rest. .ci/wide16-check links every W
 * name of the headers from -fshort-wchar code to prove none is missing.
 *
 * Failures of our own (memory for a conversion) end with
 * ERROR_NOT_ENOUGH_MEMORY and the function's documented failure value; every
 * other error, and the last error left on success, is the W function's. */
#include "error.h"
#include "unicode.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Prototypes of the exported W16 symbols (the headers' names for them are
 * only visible to -fshort-wchar code). */

typedef uint16_t WCHAR16;
typedef WCHAR16 *LPWSTR16;
typedef const WCHAR16 *LPCWSTR16;

WINBASEAPI HANDLE WINAPI CreateEventW16(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState,
                                        LPCWSTR16 lpName);
WINBASEAPI HANDLE WINAPI CreateEventExW16(LPSECURITY_ATTRIBUTES lpEventAttributes, LPCWSTR16 lpName, DWORD dwFlags,
                                          DWORD dwDesiredAccess);
WINBASEAPI HANDLE WINAPI OpenEventW16(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR16 lpName);
WINBASEAPI HANDLE WINAPI CreateMutexW16(LPSECURITY_ATTRIBUTES lpMutexAttributes, BOOL bInitialOwner, LPCWSTR16 lpName);
WINBASEAPI HANDLE WINAPI CreateMutexExW16(LPSECURITY_ATTRIBUTES lpMutexAttributes, LPCWSTR16 lpName, DWORD dwFlags,
                                          DWORD dwDesiredAccess);
WINBASEAPI HANDLE WINAPI OpenMutexW16(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR16 lpName);
WINBASEAPI HANDLE WINAPI CreateSemaphoreW16(LPSECURITY_ATTRIBUTES lpSemaphoreAttributes, LONG lInitialCount,
                                            LONG lMaximumCount, LPCWSTR16 lpName);
WINBASEAPI HANDLE WINAPI CreateSemaphoreExW16(LPSECURITY_ATTRIBUTES lpSemaphoreAttributes, LONG lInitialCount,
                                              LONG lMaximumCount, LPCWSTR16 lpName, DWORD dwFlags,
                                              DWORD dwDesiredAccess);
WINBASEAPI HANDLE WINAPI OpenSemaphoreW16(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR16 lpName);
WINBASEAPI HANDLE WINAPI CreateFileW16(LPCWSTR16 lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                       LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                                       DWORD dwFlagsAndAttributes, HANDLE hTemplateFile);
WINBASEAPI BOOL WINAPI DeleteFileW16(LPCWSTR16 lpFileName);
WINBASEAPI DWORD WINAPI GetTempPathW16(DWORD nBufferLength, LPWSTR16 lpBuffer);
WINBASEAPI UINT WINAPI GetTempFileNameW16(LPCWSTR16 lpPathName, LPCWSTR16 lpPrefixString, UINT uUnique,
                                          LPWSTR16 lpTempFileName);
WINBASEAPI LPWSTR16 WINAPI GetCommandLineW16(void);
WINBASEAPI DWORD WINAPI GetEnvironmentVariableW16(LPCWSTR16 lpName, LPWSTR16 lpBuffer, DWORD nSize);
WINBASEAPI BOOL WINAPI SetEnvironmentVariableW16(LPCWSTR16 lpName, LPCWSTR16 lpValue);
WINBASEAPI DWORD WINAPI GetCurrentDirectoryW16(DWORD nBufferLength, LPWSTR16 lpBuffer);
WINBASEAPI BOOL WINAPI SetCurrentDirectoryW16(LPCWSTR16 lpPathName);
WINBASEAPI DWORD WINAPI GetModuleFileNameW16(HMODULE hModule, LPWSTR16 lpFilename, DWORD nSize);
WINBASEAPI HMODULE WINAPI GetModuleHandleW16(LPCWSTR16 lpModuleName);
/* lpStartupInfo's string members are UTF-16 (LPWSTR16) on this side. */
WINBASEAPI BOOL WINAPI CreateProcessW16(LPCWSTR16 lpApplicationName, LPWSTR16 lpCommandLine,
                                        LPSECURITY_ATTRIBUTES lpProcessAttributes,
                                        LPSECURITY_ATTRIBUTES lpThreadAttributes, BOOL bInheritHandles,
                                        DWORD dwCreationFlags, LPVOID lpEnvironment, LPCWSTR16 lpCurrentDirectory,
                                        LPSTARTUPINFOW lpStartupInfo, LPPROCESS_INFORMATION lpProcessInformation);
WINBASEAPI void WINAPI GetStartupInfoW16(LPSTARTUPINFOW lpStartupInfo);
WINBASEAPI DWORD WINAPI FormatMessageW16(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId, DWORD dwLanguageId,
                                         LPWSTR16 lpBuffer, DWORD nSize, va_list *Arguments);

/* ------------------------------------------------------------------ */
/* Conversions. */

/* An optional UTF-16 argument as a wide string (NULL stays NULL). False only
 * when memory ran out. */
static bool wide_arg(const WCHAR16 *s, wchar_t **out)
{
    *out = s ? wi_wide_from_utf16(s) : NULL;
    return !s || *out;
}

/* A wide string as a malloc'ed UTF-16 string; *len gets its length in
 * 16-bit units. NULL when memory ran out. */
static WCHAR16 *utf16_dup(const wchar_t *s, size_t *len)
{
    size_t n = wi_wide_to_utf16_buf(s, NULL, 0);
    WCHAR16 *p = malloc((n + 1) * sizeof *p);
    if (p)
        wi_wide_to_utf16_buf(s, p, n + 1);
    if (len)
        *len = n;
    return p;
}

/* Treat a UTF-16 string stored where the headers' types say WCHAR *. */
static inline const WCHAR16 *as16(const wchar_t *p)
{
    return (const WCHAR16 *)(const void *)p;
}
static inline wchar_t *as_wide(WCHAR16 *p)
{
    return (wchar_t *)(void *)p;
}

static DWORD fail_dword(DWORD err)
{
    wi_set_last_error(err);
    return 0;
}

/* A W getter that fills (buffer, size) and returns the length on success,
 * 0 on failure and, when the buffer is too small, either the size it needs
 * with its NUL (GetCurrentDirectoryW and most others) or, if `truncates`,
 * the buffer size itself (GetModuleFileNameW). */
struct getter {
    DWORD (*call)(const struct getter *g, wchar_t *buf, DWORD size);
    const wchar_t *name; /* GetEnvironmentVariableW */
    HMODULE module;      /* GetModuleFileNameW */
    bool truncates;
};

/* Run a getter until the whole string fits and return a malloc'ed copy.
 * NULL with *err == 0 when the W function failed (its last error stands), or
 * with *err set when memory ran out. A 0 return that stored an empty string
 * (GetEnvironmentVariableW on an empty value) is an empty result. */
static wchar_t *get_whole(const struct getter *g, DWORD *err)
{
    DWORD cap = MAX_PATH + 1, last_error = GetLastError();
    *err = 0;
    for (bool retried = false;; retried = true) {
        wchar_t *buf = malloc((size_t)cap * sizeof *buf);
        if (!buf)
            break;
        buf[0] = L'?'; /* tells an empty result from an untouched buffer */
        DWORD r = g->call(g, buf, cap);
        if (r == 0 && buf[0] != 0) {
            free(buf);
            return NULL;
        }
        if (r < cap) {
            /* A success leaves the caller's last error as it was, not
             * what a too-small attempt of ours set. */
            if (retried)
                wi_set_last_error(last_error);
            buf[r] = 0;
            return buf;
        }
        free(buf);
        /* Too small: grow to what it asked for, else double. The string can
         * change between two calls (another thread), hence the loop. */
        DWORD next = g->truncates || r <= cap ? cap * 2 : r;
        if (next <= cap || next > 0x10000000u)
            break;
        cap = next;
    }
    *err = ERROR_NOT_ENOUGH_MEMORY;
    return NULL;
}

/* Store a getter's result with the "length, or the size needed" convention
 * of GetCurrentDirectoryW, GetTempPathW and GetEnvironmentVariableW. */
static DWORD put_or_size(const struct getter *g, WCHAR16 *out, DWORD size)
{
    DWORD err, ret;
    size_t n;
    wchar_t *w = get_whole(g, &err);
    if (!w)
        return err ? fail_dword(err) : 0;
    WCHAR16 *s = utf16_dup(w, &n);
    free(w);
    if (!s)
        return fail_dword(ERROR_NOT_ENOUGH_MEMORY);
    if (out && n < size) {
        memcpy(out, s, (n + 1) * sizeof *s);
        ret = (DWORD)n;
    } else {
        ret = (DWORD)n + 1;
    }
    free(s);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Names in, handle or BOOL out. */

/* The body of a named-object W16 function: convert lpName, call W. */
#define NAMED(call)                                                                                                    \
    do {                                                                                                               \
        wchar_t *name;                                                                                                 \
        if (!wide_arg(lpName, &name))                                                                                  \
            return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);                                                              \
        HANDLE h = call;                                                                                               \
        free(name);                                                                                                    \
        return h;                                                                                                      \
    } while (0)

WINBASEAPI HANDLE WINAPI CreateEventW16(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState,
                                        LPCWSTR16 lpName)
{
    NAMED(CreateEventW(lpEventAttributes, bManualReset, bInitialState, name));
}

WINBASEAPI HANDLE WINAPI CreateEventExW16(LPSECURITY_ATTRIBUTES lpEventAttributes, LPCWSTR16 lpName, DWORD dwFlags,
                                          DWORD dwDesiredAccess)
{
    NAMED(CreateEventExW(lpEventAttributes, name, dwFlags, dwDesiredAccess));
}

WINBASEAPI HANDLE WINAPI OpenEventW16(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR16 lpName)
{
    NAMED(OpenEventW(dwDesiredAccess, bInheritHandle, name));
}

WINBASEAPI HANDLE WINAPI CreateMutexW16(LPSECURITY_ATTRIBUTES lpMutexAttributes, BOOL bInitialOwner, LPCWSTR16 lpName)
{
    NAMED(CreateMutexW(lpMutexAttributes, bInitialOwner, name));
}

WINBASEAPI HANDLE WINAPI CreateMutexExW16(LPSECURITY_ATTRIBUTES lpMutexAttributes, LPCWSTR16 lpName, DWORD dwFlags,
                                          DWORD dwDesiredAccess)
{
    NAMED(CreateMutexExW(lpMutexAttributes, name, dwFlags, dwDesiredAccess));
}

WINBASEAPI HANDLE WINAPI OpenMutexW16(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR16 lpName)
{
    NAMED(OpenMutexW(dwDesiredAccess, bInheritHandle, name));
}

WINBASEAPI HANDLE WINAPI CreateSemaphoreW16(LPSECURITY_ATTRIBUTES lpSemaphoreAttributes, LONG lInitialCount,
                                            LONG lMaximumCount, LPCWSTR16 lpName)
{
    NAMED(CreateSemaphoreW(lpSemaphoreAttributes, lInitialCount, lMaximumCount, name));
}

WINBASEAPI HANDLE WINAPI CreateSemaphoreExW16(LPSECURITY_ATTRIBUTES lpSemaphoreAttributes, LONG lInitialCount,
                                              LONG lMaximumCount, LPCWSTR16 lpName, DWORD dwFlags,
                                              DWORD dwDesiredAccess)
{
    NAMED(CreateSemaphoreExW(lpSemaphoreAttributes, lInitialCount, lMaximumCount, name, dwFlags, dwDesiredAccess));
}

WINBASEAPI HANDLE WINAPI OpenSemaphoreW16(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR16 lpName)
{
    NAMED(OpenSemaphoreW(dwDesiredAccess, bInheritHandle, name));
}

WINBASEAPI HANDLE WINAPI CreateFileW16(LPCWSTR16 lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                       LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                                       DWORD dwFlagsAndAttributes, HANDLE hTemplateFile)
{
    wchar_t *name;
    if (!wide_arg(lpFileName, &name))
        return wi_fail_invalid(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = CreateFileW(name, dwDesiredAccess, dwShareMode, lpSecurityAttributes, dwCreationDisposition,
                           dwFlagsAndAttributes, hTemplateFile);
    free(name);
    return h;
}

WINBASEAPI BOOL WINAPI DeleteFileW16(LPCWSTR16 lpFileName)
{
    wchar_t *name;
    if (!wide_arg(lpFileName, &name))
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    BOOL ok = DeleteFileW(name);
    free(name);
    return ok;
}

WINBASEAPI BOOL WINAPI SetEnvironmentVariableW16(LPCWSTR16 lpName, LPCWSTR16 lpValue)
{
    wchar_t *name, *value = NULL;
    if (!wide_arg(lpName, &name) || !wide_arg(lpValue, &value)) {
        free(name);
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    }
    BOOL ok = SetEnvironmentVariableW(name, value);
    free(name);
    free(value);
    return ok;
}

WINBASEAPI BOOL WINAPI SetCurrentDirectoryW16(LPCWSTR16 lpPathName)
{
    wchar_t *path;
    if (!wide_arg(lpPathName, &path))
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    BOOL ok = SetCurrentDirectoryW(path);
    free(path);
    return ok;
}

WINBASEAPI HMODULE WINAPI GetModuleHandleW16(LPCWSTR16 lpModuleName)
{
    wchar_t *name;
    if (!wide_arg(lpModuleName, &name))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HMODULE h = GetModuleHandleW(name);
    free(name);
    return h;
}

/* ------------------------------------------------------------------ */
/* Strings out. */

static DWORD call_temp_path(const struct getter *g, wchar_t *buf, DWORD size)
{
    return GetTempPathW(size, buf);
}

WINBASEAPI DWORD WINAPI GetTempPathW16(DWORD nBufferLength, LPWSTR16 lpBuffer)
{
    const struct getter g = {.call = call_temp_path};
    return put_or_size(&g, lpBuffer, nBufferLength);
}

static DWORD call_current_directory(const struct getter *g, wchar_t *buf, DWORD size)
{
    return GetCurrentDirectoryW(size, buf);
}

WINBASEAPI DWORD WINAPI GetCurrentDirectoryW16(DWORD nBufferLength, LPWSTR16 lpBuffer)
{
    const struct getter g = {.call = call_current_directory};
    return put_or_size(&g, lpBuffer, nBufferLength);
}

static DWORD call_environment_variable(const struct getter *g, wchar_t *buf, DWORD size)
{
    return GetEnvironmentVariableW(g->name, buf, size);
}

WINBASEAPI DWORD WINAPI GetEnvironmentVariableW16(LPCWSTR16 lpName, LPWSTR16 lpBuffer, DWORD nSize)
{
    struct getter g = {.call = call_environment_variable};
    wchar_t *name;
    if (!wide_arg(lpName, &name))
        return fail_dword(ERROR_NOT_ENOUGH_MEMORY);
    g.name = name;
    DWORD r = put_or_size(&g, lpBuffer, nSize);
    free(name);
    return r;
}

static DWORD call_module_file_name(const struct getter *g, wchar_t *buf, DWORD size)
{
    return GetModuleFileNameW(g->module, buf, size);
}

WINBASEAPI DWORD WINAPI GetModuleFileNameW16(HMODULE hModule, LPWSTR16 lpFilename, DWORD nSize)
{
    const struct getter g = {.call = call_module_file_name, .module = hModule, .truncates = true};
    DWORD r, err;
    size_t n;

    if (nSize == 0) { /* whatever the W function does with an empty buffer */
        wchar_t none[1];
        return GetModuleFileNameW(hModule, none, 0);
    }
    wchar_t *w = get_whole(&g, &err);
    if (!w)
        return err ? fail_dword(err) : 0;
    WCHAR16 *s = utf16_dup(w, &n);
    free(w);
    if (!s)
        return fail_dword(ERROR_NOT_ENOUGH_MEMORY);
    if (n < nSize) {
        memcpy(lpFilename, s, (n + 1) * sizeof *s);
        r = (DWORD)n;
    } else {
        /* Truncated to nSize units with its NUL; the function "succeeds"
         * with nSize and ERROR_INSUFFICIENT_BUFFER, as on Windows. */
        memcpy(lpFilename, s, (nSize - 1) * sizeof *s);
        lpFilename[nSize - 1] = 0;
        wi_set_last_error(ERROR_INSUFFICIENT_BUFFER);
        r = nSize;
    }
    free(s);
    return r;
}

WINBASEAPI UINT WINAPI GetTempFileNameW16(LPCWSTR16 lpPathName, LPCWSTR16 lpPrefixString, UINT uUnique,
                                          LPWSTR16 lpTempFileName)
{
    wchar_t *path = NULL, *prefix = NULL, wide[MAX_PATH];
    WCHAR16 prefix16[4];
    size_t n;

    /* Windows' limits count UTF-16 units: the path may hold MAX_PATH - 14
     * of them (room for "\ppphhhh.tmp"), and the prefix gives its first three. */
    if (lpPathName) {
        for (n = 0; lpPathName[n]; n++)
            if (n >= MAX_PATH - 14)
                return fail_dword(ERROR_BUFFER_OVERFLOW);
    }
    if (lpPrefixString) {
        for (n = 0; n < 3 && lpPrefixString[n]; n++)
            prefix16[n] = lpPrefixString[n];
        prefix16[n] = 0;
    }
    if (!wide_arg(lpPathName, &path) || !wide_arg(lpPrefixString ? prefix16 : NULL, &prefix)) {
        free(path);
        return fail_dword(ERROR_NOT_ENOUGH_MEMORY);
    }
    UINT r = GetTempFileNameW(path, prefix, uUnique, lpTempFileName ? wide : NULL);
    free(path);
    free(prefix);
    if (r && lpTempFileName) {
        WCHAR16 *s = utf16_dup(wide, &n);
        if (!s)
            return fail_dword(ERROR_NOT_ENOUGH_MEMORY);
        if (n < MAX_PATH)
            memcpy(lpTempFileName, s, (n + 1) * sizeof *s);
        else
            r = fail_dword(ERROR_BUFFER_OVERFLOW);
        free(s);
    }
    return r;
}

/* The command line, converted once: Windows returns the same pointer for the
 * life of the process. */
static WCHAR16 *command_line16;
static pthread_once_t command_line_once = PTHREAD_ONCE_INIT;

static void convert_command_line(void)
{
    const wchar_t *w = GetCommandLineW();
    if (w)
        command_line16 = utf16_dup(w, NULL);
}

WINBASEAPI LPWSTR16 WINAPI GetCommandLineW16(void)
{
    static WCHAR16 empty[1];
    pthread_once(&command_line_once, convert_command_line);
    return command_line16 ? command_line16 : empty;
}

/* The startup strings are the process's own, so they are converted once too
 * and the pointers stay valid, as GetStartupInfoW's do. */
static struct {
    WCHAR16 *reserved, *desktop, *title;
} startup16;
static pthread_once_t startup_once = PTHREAD_ONCE_INIT;

static void convert_startup_strings(void)
{
    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    GetStartupInfoW(&si);
    startup16.reserved = si.lpReserved ? utf16_dup(si.lpReserved, NULL) : NULL;
    startup16.desktop = si.lpDesktop ? utf16_dup(si.lpDesktop, NULL) : NULL;
    startup16.title = si.lpTitle ? utf16_dup(si.lpTitle, NULL) : NULL;
}

WINBASEAPI void WINAPI GetStartupInfoW16(LPSTARTUPINFOW lpStartupInfo)
{
    GetStartupInfoW(lpStartupInfo);
    if (!lpStartupInfo)
        return;
    pthread_once(&startup_once, convert_startup_strings);
    lpStartupInfo->lpReserved = as_wide(startup16.reserved);
    lpStartupInfo->lpDesktop = as_wide(startup16.desktop);
    lpStartupInfo->lpTitle = as_wide(startup16.title);
}

/* ------------------------------------------------------------------ */
/* CreateProcessW16. */

/* STARTUPINFOEXW's layout: a STARTUPINFOW followed by the attribute list,
 * passed when EXTENDED_STARTUPINFO_PRESENT is set. */
struct startupinfo_ex {
    STARTUPINFOW si;
    void *attribute_list;
};

/* A UTF-16 environment block ("A=1\0B=2\0\0") as a wide one. */
static wchar_t *wide_environment(const WCHAR16 *block)
{
    size_t units = 0;
    while (block[units] || (units && block[units - 1])) /* up to the empty string */
        units++;
    /* One wide character per unit at most, plus the final NUL(s). */
    wchar_t *out = malloc((units + 2) * sizeof *out), *o = out;
    if (!out)
        return NULL;
    for (const WCHAR16 *p = block; *p;) {
        wchar_t *s = wi_wide_from_utf16(p);
        if (!s) {
            free(out);
            return NULL;
        }
        size_t n = wcslen(s);
        memcpy(o, s, (n + 1) * sizeof *o);
        o += n + 1;
        free(s);
        while (*p)
            p++;
        p++;
    }
    o[0] = 0;
    if (o == out)
        o[1] = 0; /* an empty block is two NULs */
    return out;
}

WINBASEAPI BOOL WINAPI CreateProcessW16(LPCWSTR16 lpApplicationName, LPWSTR16 lpCommandLine,
                                        LPSECURITY_ATTRIBUTES lpProcessAttributes,
                                        LPSECURITY_ATTRIBUTES lpThreadAttributes, BOOL bInheritHandles,
                                        DWORD dwCreationFlags, LPVOID lpEnvironment, LPCWSTR16 lpCurrentDirectory,
                                        LPSTARTUPINFOW lpStartupInfo, LPPROCESS_INFORMATION lpProcessInformation)
{
    struct startupinfo_ex ex;
    wchar_t *app = NULL, *cmd = NULL, *dir = NULL, *env = NULL;
    wchar_t *reserved = NULL, *desktop = NULL, *title = NULL;
    bool ok = true;
    BOOL r = FALSE;

    ok = wide_arg(lpApplicationName, &app) && wide_arg(lpCommandLine, &cmd) && wide_arg(lpCurrentDirectory, &dir);
    if (ok && lpStartupInfo) {
        memset(&ex, 0, sizeof ex);
        ex.si = *lpStartupInfo;
        if ((dwCreationFlags & EXTENDED_STARTUPINFO_PRESENT) && lpStartupInfo->cb >= sizeof ex)
            ex.attribute_list = ((const struct startupinfo_ex *)(const void *)lpStartupInfo)->attribute_list;
        ok = wide_arg(as16(lpStartupInfo->lpReserved), &reserved) && wide_arg(as16(lpStartupInfo->lpDesktop), &desktop) &&
             wide_arg(as16(lpStartupInfo->lpTitle), &title);
        ex.si.lpReserved = reserved;
        ex.si.lpDesktop = desktop;
        ex.si.lpTitle = title;
    }
    /* Without CREATE_UNICODE_ENVIRONMENT the block is narrow and passes as is. */
    if (ok && lpEnvironment && (dwCreationFlags & CREATE_UNICODE_ENVIRONMENT))
        ok = (env = wide_environment(lpEnvironment)) != NULL;
    if (ok)
        r = CreateProcessW(app, cmd, lpProcessAttributes, lpThreadAttributes, bInheritHandles, dwCreationFlags,
                           env ? env : lpEnvironment, dir, lpStartupInfo ? &ex.si : NULL, lpProcessInformation);
    else
        wi_set_last_error(ERROR_NOT_ENOUGH_MEMORY);
    free(app);
    free(cmd);
    free(dir);
    free(env);
    free(reserved);
    free(desktop);
    free(title);
    return r;
}

/* ------------------------------------------------------------------ */
/* FormatMessageW16.
 *
 * The template and the result convert like any string. The inserts need
 * more: FormatMessageW reads a "%1" (default !s!), "!ls!" or "!ws!" argument
 * as a WCHAR string, which is UTF-16 from this caller. So the template is
 * scanned for inserts first, with the argument numbering format_message.c
 * documents (Windows'), and the arguments read as wide strings are converted
 * into an argument array for FormatMessageW. A va_list is read with the type
 * each argument was declared with, as format_message.c does. Templates
 * without wide-string inserts pass the caller's arguments straight through.
 *
 * Not matched: a va_list template whose '*' inserts Windows numbers
 * differently from an argument array (a '*' insert reusing an earlier number,
 * "%1!*.*u! %1!*.*s!"), combined with wide-string inserts, fails with
 * ERROR_INVALID_PARAMETER: its arguments cannot be passed on as an array. */

#define SOURCE_FLAGS (FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_FROM_SYSTEM)
#define MAX_POS 512 /* highest argument position FormatMessageW accepts */

enum arg_kind { ARG_NONE, ARG_INT32, ARG_INT64, ARG_PTR };

/* Argument numbering: the first component of insert n (its '*' width, else
 * its value) is argument n, each further component the one after the highest
 * consumed so far; with a va_list, a '*' insert met for the first time whose
 * number is not beyond that highest starts after it instead. */
struct numbering {
    bool va;
    unsigned max;
    bool seen[100];
};

static unsigned next_pos(struct numbering *nb, unsigned n, bool first, bool star)
{
    unsigned pos = first ? n : nb->max + 1;
    if (first && star && nb->va && !nb->seen[n] && n <= nb->max)
        pos = nb->max + 1;
    if (first)
        nb->seen[n] = true;
    if (pos > nb->max)
        nb->max = pos;
    return pos;
}

struct insert_scan {
    bool from_array;            /* the caller passed an argument array */
    struct numbering va, array; /* both numberings, to compare them */
    bool renumbered;            /* they differ somewhere */
    bool any_wide;
    unsigned char kind[MAX_POS + 1]; /* by va_list position: how to read it */
    bool wide_va[MAX_POS + 1];       /* read as a WCHAR string */
    bool wide_array[MAX_POS + 1];
};

/* One component of an insert: record where each numbering reads it. */
static bool scan_component(struct insert_scan *sc, unsigned n, bool first, bool star, enum arg_kind kind, bool wide)
{
    unsigned pv = next_pos(&sc->va, n, first, star);
    unsigned pa = next_pos(&sc->array, n, first, star);
    /* Only the caller's numbering can make FormatMessageW fail. */
    if ((sc->from_array ? pa : pv) > MAX_POS)
        return false;
    if (pv != pa)
        sc->renumbered = true;
    if (pv <= MAX_POS) {
        if (!sc->kind[pv])
            sc->kind[pv] = (unsigned char)kind;
        sc->wide_va[pv] |= wide;
    }
    if (pa <= MAX_POS)
        sc->wide_array[pa] |= wide;
    sc->any_wide |= wide;
    return true;
}

/* The "!fmt!" text between the marks (n characters): which components it
 * has and whether its value is a wide string. False if FormatMessageW would
 * reject it. */
static bool scan_spec(const wchar_t *s, size_t n, bool *star_width, bool *star_prec, enum arg_kind *kind, bool *wide)
{
    size_t i = 0;
    enum { DEFAULT, SHORT, LONG, WIDE, BIG } size = DEFAULT;
    long v;

    *star_width = *star_prec = false;
    while (i < n && s[i] && wcschr(L"-+ #0", s[i]))
        i++;
    if (i < n && s[i] == L'*') {
        *star_width = true;
        i++;
    } else {
        for (v = 0; i < n && s[i] >= L'0' && s[i] <= L'9'; i++)
            if ((v = v * 10 + (s[i] - L'0')) > 65535)
                return false;
    }
    if (i < n && s[i] == L'.') {
        i++;
        if (i < n && s[i] == L'*') {
            *star_prec = true;
            i++;
        } else {
            for (v = 0; i < n && s[i] >= L'0' && s[i] <= L'9'; i++)
                if ((v = v * 10 + (s[i] - L'0')) > 65535)
                    return false;
        }
    }
    if (i + 2 < n && s[i] == L'I' && s[i + 1] == L'6' && s[i + 2] == L'4') {
        size = BIG;
        i += 3;
    } else if (i + 2 < n && s[i] == L'I' && s[i + 1] == L'3' && s[i + 2] == L'2') {
        i += 3;
    } else if (i + 1 < n && s[i] == L'l' && s[i + 1] == L'l') {
        size = BIG;
        i += 2;
    } else if (i < n && (s[i] == L'I' || s[i] == L'L')) {
        size = BIG; /* 'I' is pointer-sized: 64-bit here */
        i++;
    } else if (i < n && s[i] == L'h') {
        size = SHORT;
        i++;
    } else if (i < n && s[i] == L'l') {
        size = LONG;
        i++;
    } else if (i < n && s[i] == L'w') {
        size = WIDE;
        i++;
    }
    if (i + 1 != n || !s[i] || !wcschr(L"diouxXcCsSp", s[i]))
        return false;
    wchar_t conv = s[i];
    if (conv == L's' || conv == L'S' || conv == L'p')
        *kind = ARG_PTR;
    else
        *kind = size == BIG ? ARG_INT64 : ARG_INT32;
    /* In a W function %s is wide and %S narrow; h forces narrow, l and w wide. */
    *wide = (conv == L's' || conv == L'S') && size != SHORT && (size == LONG || size == WIDE || conv == L's');
    return true;
}

/* Scan a template's inserts; false where FormatMessageW fails the template
 * (it would with ERROR_INVALID_PARAMETER). */
static bool scan_inserts(const wchar_t *p, struct insert_scan *sc)
{
    sc->va.va = true;
    while (*p) {
        if (*p++ != L'%')
            continue;
        wchar_t c = *p++;
        if (c == 0)
            return false;
        if (c == L'0')
            return true; /* the message ends here */
        if (c < L'1' || c > L'9')
            continue; /* an escape */
        unsigned n = (unsigned)(c - L'0');
        if (*p >= L'0' && *p <= L'9')
            n = n * 10 + (unsigned)(*p++ - L'0');
        bool star_width = false, star_prec = false, wide = true;
        enum arg_kind kind = ARG_PTR; /* no "!fmt!" means !s! */
        if (*p == L'!') {
            const wchar_t *end = wcschr(p + 1, L'!');
            if (!end || !scan_spec(p + 1, (size_t)(end - p - 1), &star_width, &star_prec, &kind, &wide))
                return false;
            p = end + 1;
        }
        bool first = true;
        if (star_width) {
            if (!scan_component(sc, n, first, true, ARG_INT32, false))
                return false;
            first = false;
        }
        if (star_prec) {
            if (!scan_component(sc, n, first, true, ARG_INT32, false))
                return false;
            first = false;
        }
        if (!scan_component(sc, n, first, false, kind, wide))
            return false;
    }
    return true;
}

/* FormatMessageW's template for a system or module message, its inserts
 * left as they are. */
static DWORD message_template(DWORD flags, LPCVOID source, DWORD id, DWORD lang, wchar_t **tmpl)
{
    wchar_t *p = NULL;
    DWORD f = (flags & (FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_FROM_SYSTEM)) | FORMAT_MESSAGE_IGNORE_INSERTS |
              FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_MAX_WIDTH_MASK;
    if (!FormatMessageW(f, source, id, lang, (LPWSTR)(void *)&p, 0, NULL))
        return GetLastError();
    *tmpl = p;
    return 0;
}

/* The arguments FormatMessageW gets: the caller's, or an array with the wide
 * strings converted. */
struct wide_args {
    DWORD_PTR *array;
    wchar_t **owned;
    unsigned count;
};

static void wide_args_free(struct wide_args *wa)
{
    for (unsigned i = 0; wa->owned && i < wa->count; i++)
        free(wa->owned[i]);
    free(wa->owned);
    free(wa->array);
}

static DWORD convert_args(const wchar_t *tmpl, DWORD flags, va_list *arguments, struct wide_args *wa)
{
    struct insert_scan *sc = calloc(1, sizeof *sc);
    bool from_array = flags & FORMAT_MESSAGE_ARGUMENT_ARRAY;
    DWORD err = 0;

    if (!sc)
        return ERROR_NOT_ENOUGH_MEMORY;
    sc->from_array = from_array;
    if (!scan_inserts(tmpl, sc))
        err = ERROR_INVALID_PARAMETER;
    else if (!sc->any_wide)
        goto done; /* nothing to convert: pass the caller's arguments on */
    else if (!from_array && sc->renumbered)
        err = ERROR_INVALID_PARAMETER; /* see the comment above */
    if (err)
        goto done;

    unsigned count = from_array ? sc->array.max : sc->va.max;
    const bool *wide = from_array ? sc->wide_array : sc->wide_va;
    wa->count = count;
    wa->array = calloc(count, sizeof *wa->array);
    wa->owned = calloc(count, sizeof *wa->owned);
    if (!wa->array || !wa->owned) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto done;
    }
    for (unsigned pos = 1; pos <= count; pos++) {
        DWORD_PTR v;
        if (from_array)
            v = ((const DWORD_PTR *)(const void *)arguments)[pos - 1];
        else if (sc->kind[pos] == ARG_INT32)
            v = va_arg(*arguments, unsigned int);
        else if (sc->kind[pos] == ARG_INT64)
            v = (DWORD_PTR)va_arg(*arguments, unsigned long long);
        else /* pointers, and positions the template skips */
            v = (DWORD_PTR)va_arg(*arguments, void *);
        if (wide[pos] && v) {
            if (!(wa->owned[pos - 1] = wi_wide_from_utf16((const WCHAR16 *)(uintptr_t)v))) {
                err = ERROR_NOT_ENOUGH_MEMORY;
                goto done;
            }
            v = (DWORD_PTR)(uintptr_t)wa->owned[pos - 1];
        }
        wa->array[pos - 1] = v;
    }
done:
    free(sc);
    return err;
}

WINBASEAPI DWORD WINAPI FormatMessageW16(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId, DWORD dwLanguageId,
                                         LPWSTR16 lpBuffer, DWORD nSize, va_list *Arguments)
{
    bool allocate = dwFlags & FORMAT_MESSAGE_ALLOCATE_BUFFER;
    bool from_string = dwFlags & FORMAT_MESSAGE_FROM_STRING;
    bool inserts = Arguments && !(dwFlags & FORMAT_MESSAGE_IGNORE_INSERTS);
    struct wide_args wa = {0};
    wchar_t *tmpl = NULL, *result = NULL; /* tmpl: malloc'ed, or LocalAlloc'ed by W */
    DWORD err = 0, flags = dwFlags;
    va_list *args = Arguments;
    size_t len = 0;

    /* Argument errors are the W function's, with its failure value. */
    if (!lpBuffer || !(dwFlags & SOURCE_FLAGS) || (from_string && !lpSource))
        return FormatMessageW(dwFlags, from_string ? NULL : lpSource, dwMessageId, dwLanguageId,
                              (LPWSTR)(void *)lpBuffer, nSize, Arguments);
    if (allocate)
        *(WCHAR16 **)(void *)lpBuffer = NULL;

    if (from_string) {
        if (!(tmpl = wi_wide_from_utf16(lpSource)))
            return fail_dword(ERROR_NOT_ENOUGH_MEMORY);
    } else if (inserts && (err = message_template(dwFlags, lpSource, dwMessageId, dwLanguageId, &tmpl))) {
        return fail_dword(err);
    }
    if (inserts && (err = convert_args(tmpl, dwFlags, Arguments, &wa)))
        goto out;
    if (wa.array) {
        flags |= FORMAT_MESSAGE_ARGUMENT_ARRAY;
        args = (va_list *)(void *)wa.array;
    }

    /* Always let the W function allocate: the size rules below are counted
     * in UTF-16 units, not in its characters. */
    flags |= FORMAT_MESSAGE_ALLOCATE_BUFFER;
    if (!FormatMessageW(flags, from_string ? (LPCVOID)tmpl : lpSource, dwMessageId, dwLanguageId,
                        (LPWSTR)(void *)&result, 0, args)) {
        err = GetLastError();
        /* An empty result: W still stores the empty string. */
        if (err == ERROR_NO_WORK_DONE && !allocate && nSize)
            lpBuffer[0] = 0;
        goto out;
    }

    WCHAR16 *s = utf16_dup(result, &len);
    if (!s) {
        err = ERROR_NOT_ENOUGH_MEMORY;
    } else if (len > 0xFFFFFFFEu) {
        err = ERROR_INVALID_PARAMETER;
    } else if (allocate) {
        /* At least nSize units, freed by the caller with LocalFree. */
        size_t units = len + 1 > nSize ? len + 1 : nSize;
        WCHAR16 *p = LocalAlloc(LMEM_FIXED, units * sizeof *p);
        if (!p)
            err = ERROR_NOT_ENOUGH_MEMORY;
        else {
            memcpy(p, s, (len + 1) * sizeof *p);
            *(WCHAR16 **)(void *)lpBuffer = p;
        }
    } else if (len + 1 > nSize) {
        /* W stores what fits, NUL-terminated, and still fails. */
        if (nSize) {
            memcpy(lpBuffer, s, (nSize - 1) * sizeof *s);
            lpBuffer[nSize - 1] = 0;
        }
        err = ERROR_INSUFFICIENT_BUFFER;
    } else {
        memcpy(lpBuffer, s, (len + 1) * sizeof *s);
    }
    free(s);
out:
    if (result)
        LocalFree(result);
    wide_args_free(&wa);
    if (from_string)
        free(tmpl);
    else if (tmpl)
        LocalFree(tmpl);
    if (err)
        return fail_dword(err);
    return (DWORD)len;
}
