/* SPDX-License-Identifier: MIT */
/* The process environment as kernel32 shows it: the command line,
 * environment variables, the current directory and the startup info.
 *
 * Environment variables are the C library's (getenv/setenv), so a Linux
 * program and its Windows-API half see the same values. Windows looks names
 * up case-insensitively; Linux environments may hold names differing only in
 * case (http_proxy and HTTP_PROXY), so an exact match is preferred and the
 * first case-insensitive match is used otherwise. `env_lock` serialises
 * winipc's own readers and writers of environ (setenv is not thread-safe);
 * code calling setenv directly while another thread uses these functions
 * is outside its protection (docs/processes.md). */
#include "cmdline.h"
#include "error.h"
#include "inherit.h"
#include "process.h"
#include "unicode.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static pthread_mutex_t env_lock = PTHREAD_MUTEX_INITIALIZER;

void wi_env_lock(void)
{
    pthread_mutex_lock(&env_lock);
}

void wi_env_unlock(void)
{
    pthread_mutex_unlock(&env_lock);
}

/* fork() by the program: the lock must not be copied while held. */
__attribute__((constructor)) static void env_atfork(void)
{
    pthread_atfork(wi_env_lock, wi_env_unlock, wi_env_unlock);
}

/* --- Command line ---------------------------------------------------------------- */

static pthread_once_t cmdline_once = PTHREAD_ONCE_INIT;
static char *cmdline_a;
static wchar_t *cmdline_w;

/* argv as the kernel has it, quoted back into one Windows command line. */
static char *cmdline_from_proc(void)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    for (ssize_t n; buf; len += (size_t)n) {
        if (len + 1 >= cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR) {
            n = 0;
            continue;
        }
        if (n <= 0)
            break;
    }
    close(fd);
    if (!buf)
        return NULL;
    buf[len] = 0;
    int argc = 0;
    for (size_t i = 0; i < len; i++)
        if (!buf[i])
            argc++;
    char **argv = malloc(((size_t)argc + 1) * sizeof *argv);
    char *s = NULL;
    if (argv) {
        char *p = buf;
        for (int i = 0; i < argc; i++, p += strlen(p) + 1)
            argv[i] = p;
        argv[argc] = NULL;
        s = wi_cmdline_from_argv(argv, argc);
    }
    free(argv);
    free(buf);
    return s;
}

static void make_cmdline(void)
{
    const struct wi_start_info *si = wi_start_info();
    /* Started by winipc: exactly what the parent passed. */
    cmdline_a = si->from_parent ? strdup(si->cmdline) : cmdline_from_proc();
    if (!cmdline_a)
        cmdline_a = strdup("");
    cmdline_w = cmdline_a ? wi_wide_from_utf8(cmdline_a) : NULL;
}

WINBASEAPI LPSTR WINAPI GetCommandLineA(void)
{
    static char empty[1];
    pthread_once(&cmdline_once, make_cmdline);
    return cmdline_a ? cmdline_a : empty;
}

WINBASEAPI LPWSTR WINAPI GetCommandLineW(void)
{
    static wchar_t empty[1];
    pthread_once(&cmdline_once, make_cmdline);
    return cmdline_w ? cmdline_w : empty;
}

/* --- Environment variables -------------------------------------------------------- */

/* The environ entry for `name`: exact match first, else the first match
 * ignoring case. Called with env_lock held. */
static char *find_entry(const char *name)
{
    size_t n = strlen(name);
    char *folded = NULL;
    for (char **e = environ; e && *e; e++) {
        if ((*e)[n] != '=')
            continue;
        if (strncmp(*e, name, n) == 0)
            return *e;
        if (!folded && strncasecmp(*e, name, n) == 0)
            folded = *e;
    }
    return folded;
}

/* A copy of the variable's value. Windows: a name cannot contain '='
 * (beyond a leading one, which Linux environments cannot hold). */
static DWORD env_get(const char *name, char **value)
{
    if (!name || !*name || strchr(name, '='))
        return ERROR_ENVVAR_NOT_FOUND;
    wi_env_lock();
    char *e = find_entry(name);
    *value = e ? strdup(e + strlen(name) + 1) : NULL;
    wi_env_unlock();
    if (!e)
        return ERROR_ENVVAR_NOT_FOUND;
    return *value ? ERROR_SUCCESS : ERROR_NOT_ENOUGH_MEMORY;
}

static DWORD env_set(const char *name, const char *value)
{
    if (!name || !*name)
        return ERROR_INVALID_PARAMETER;
    if (name[0] == '=')
        return ERROR_NOT_SUPPORTED; /* "=C:" drive variables: no place in a Linux environment */
    if (strchr(name, '='))
        return ERROR_INVALID_PARAMETER;
    DWORD err = ERROR_SUCCESS;
    wi_env_lock();
    char *e = find_entry(name);
    char *existing = NULL;
    if (e) {
        /* Windows updates the variable it would have found. */
        existing = strndup(e, strlen(name));
        if (!existing)
            err = ERROR_NOT_ENOUGH_MEMORY;
    }
    if (!err) {
        const char *target = existing ? existing : name;
        int r = value ? setenv(target, value, 1) : unsetenv(target);
        if (r != 0)
            err = wi_error_from_errno(errno);
    }
    wi_env_unlock();
    free(existing);
    return err;
}

/* Copy `value` (length len units) into a buffer of `size` units: Windows'
 * rule returns the length copied, or the size needed including the NUL. */
static DWORD env_result_a(const char *value, LPSTR buf, DWORD size)
{
    size_t len = strlen(value);
    if (!buf || size <= len)
        return (DWORD)(len + 1);
    memcpy(buf, value, len + 1);
    if (!len)
        wi_set_last_error(ERROR_SUCCESS); /* an empty value: 0 with no error */
    return (DWORD)len;
}

static DWORD env_result_w(const char *value, LPWSTR buf, DWORD size)
{
    size_t len = wi_utf8_to_wide_buf(value, NULL, 0);
    if (!buf || size <= len)
        return (DWORD)(len + 1);
    wi_utf8_to_wide_buf(value, buf, size);
    if (!len)
        wi_set_last_error(ERROR_SUCCESS);
    return (DWORD)len;
}

WINBASEAPI DWORD WINAPI GetEnvironmentVariableA(LPCSTR lpName, LPSTR lpBuffer, DWORD nSize)
{
    char *value;
    DWORD err = env_get(lpName, &value);
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    DWORD r = env_result_a(value, lpBuffer, nSize);
    free(value);
    return r;
}

WINBASEAPI DWORD WINAPI GetEnvironmentVariableW(LPCWSTR lpName, LPWSTR lpBuffer, DWORD nSize)
{
    char *value;
    WI_UTF8_ARG(name, lpName);
    DWORD err = WI_UTF8_FAILED(name, lpName) ? ERROR_NOT_ENOUGH_MEMORY : env_get(name, &value);
    WI_UTF8_FREE(name);
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    DWORD r = env_result_w(value, lpBuffer, nSize);
    free(value);
    return r;
}

/* A NULL value deletes the variable (deleting a missing one succeeds). */
WINBASEAPI BOOL WINAPI SetEnvironmentVariableA(LPCSTR lpName, LPCSTR lpValue)
{
    return wi_result_bool(env_set(lpName, lpValue));
}

WINBASEAPI BOOL WINAPI SetEnvironmentVariableW(LPCWSTR lpName, LPCWSTR lpValue)
{
    WI_UTF8_ARG(name, lpName);
    WI_UTF8_ARG(value, lpValue);
    DWORD err = WI_UTF8_FAILED(name, lpName) || WI_UTF8_FAILED(value, lpValue) ? ERROR_NOT_ENOUGH_MEMORY
                                                                                : env_set(name, value);
    WI_UTF8_FREE(name);
    WI_UTF8_FREE(value);
    return wi_result_bool(err);
}

/* --- Current directory ------------------------------------------------------------ */

static DWORD cwd_get(char **out)
{
    *out = getcwd(NULL, 0);
    return *out ? ERROR_SUCCESS : wi_error_from_errno(errno);
}

WINBASEAPI DWORD WINAPI GetCurrentDirectoryA(DWORD nBufferLength, LPSTR lpBuffer)
{
    char *cwd;
    DWORD err = cwd_get(&cwd);
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    size_t len = strlen(cwd);
    DWORD r = (DWORD)len;
    if (!lpBuffer || nBufferLength <= len)
        r = (DWORD)(len + 1); /* too small: the size needed, NUL included */
    else
        memcpy(lpBuffer, cwd, len + 1);
    free(cwd);
    return r;
}

WINBASEAPI DWORD WINAPI GetCurrentDirectoryW(DWORD nBufferLength, LPWSTR lpBuffer)
{
    char *cwd;
    DWORD err = cwd_get(&cwd);
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    size_t len = wi_utf8_to_wide_buf(cwd, NULL, 0);
    DWORD r = (DWORD)len;
    if (!lpBuffer || nBufferLength <= len)
        r = (DWORD)(len + 1);
    else
        wi_utf8_to_wide_buf(cwd, lpBuffer, nBufferLength);
    free(cwd);
    return r;
}

/* Windows: a missing directory is ERROR_FILE_NOT_FOUND, a missing parent
 * ERROR_PATH_NOT_FOUND, and an existing file ERROR_DIRECTORY. */
static DWORD cwd_set(const char *path)
{
    if (!path)
        return ERROR_INVALID_PARAMETER;
    if (chdir(path) == 0)
        return ERROR_SUCCESS;
    int e = errno;
    struct stat st;
    if (e == ENOTDIR || e == ENOENT) {
        if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
            return ERROR_DIRECTORY;
        if (e == ENOTDIR)
            return ERROR_PATH_NOT_FOUND;
        const char *slash = strrchr(path, '/');
        if (slash && slash != path) {
            char *dir = strndup(path, (size_t)(slash - path));
            bool parent = dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
            free(dir);
            if (!parent)
                return ERROR_PATH_NOT_FOUND;
        }
        return ERROR_FILE_NOT_FOUND;
    }
    return wi_error_from_errno(e);
}

WINBASEAPI BOOL WINAPI SetCurrentDirectoryA(LPCSTR lpPathName)
{
    return wi_result_bool(cwd_set(lpPathName));
}

WINBASEAPI BOOL WINAPI SetCurrentDirectoryW(LPCWSTR lpPathName)
{
    WI_UTF8_ARG(path, lpPathName);
    DWORD err = WI_UTF8_FAILED(path, lpPathName) ? ERROR_NOT_ENOUGH_MEMORY : cwd_set(path);
    WI_UTF8_FREE(path);
    return wi_result_bool(err);
}

/* --- Startup info ----------------------------------------------------------------- */

/* What the parent put in its STARTUPINFO (zeroes with cb set when the
 * process was not started by winipc's CreateProcess). */
WINBASEAPI void WINAPI GetStartupInfoA(LPSTARTUPINFOA lpStartupInfo)
{
    if (!lpStartupInfo)
        return;
    *lpStartupInfo = wi_start_info()->si;
    lpStartupInfo->cb = sizeof *lpStartupInfo;
    lpStartupInfo->lpReserved = NULL;
}

static pthread_once_t wide_once = PTHREAD_ONCE_INIT;
static wchar_t *title_w, *desktop_w;

static void make_wide_strings(void)
{
    const STARTUPINFOA *si = &wi_start_info()->si;
    title_w = si->lpTitle ? wi_wide_from_utf8(si->lpTitle) : NULL;
    desktop_w = si->lpDesktop ? wi_wide_from_utf8(si->lpDesktop) : NULL;
}

WINBASEAPI void WINAPI GetStartupInfoW(LPSTARTUPINFOW lpStartupInfo)
{
    if (!lpStartupInfo)
        return;
    const STARTUPINFOA *si = &wi_start_info()->si;
    pthread_once(&wide_once, make_wide_strings);
    /* The two structures differ only in their string types. */
    memcpy(lpStartupInfo, si, sizeof *lpStartupInfo);
    lpStartupInfo->cb = sizeof *lpStartupInfo;
    lpStartupInfo->lpReserved = NULL;
    lpStartupInfo->lpTitle = title_w;
    lpStartupInfo->lpDesktop = desktop_w;
}
