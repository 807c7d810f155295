/* SPDX-License-Identifier: MIT */
/* GetTempPath and GetTempFileName.
 *
 * The temporary directory is Windows' search: TMP, TEMP, USERPROFILE, and
 * where Windows would fall back to the Windows directory, "/tmp/". The
 * result is made absolute (relative to the current directory) and ends with
 * a separator, as Windows' does; it is not checked for existence (neither
 * does Windows). The variables are read with getenv, the same environment
 * SetEnvironmentVariable writes, under its lock (environment.c). */
#include "error.h"
#include "process.h"
#include "unicode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static bool is_sep(char c)
{
    return c == '/' || c == '\\';
}

/* The temporary directory as a malloc'ed UTF-8 string. */
static DWORD temp_path(char **out)
{
    static const char *const vars[] = {"TMP", "TEMP", "USERPROFILE"};
    const char *v = NULL;
    char *val, cwd[4096] = "";
    wi_env_lock();
    for (size_t i = 0; i < sizeof vars / sizeof vars[0] && !(v && *v); i++)
        v = getenv(vars[i]);
    val = strdup(v && *v ? v : "/tmp/");
    wi_env_unlock();
    if (!val)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (!is_sep(val[0]) && !getcwd(cwd, sizeof cwd)) {
        free(val);
        return wi_error_from_errno(errno);
    }
    size_t nc = strlen(cwd), nv = strlen(val);
    char *p = malloc(nc + 1 + nv + 2);
    if (p && nc)
        snprintf(p, nc + 1 + nv + 1, "%s%s%s", cwd, is_sep(cwd[nc - 1]) ? "" : "/", val);
    else if (p)
        memcpy(p, val, nv + 1);
    free(val);
    if (!p)
        return ERROR_NOT_ENOUGH_MEMORY;
    size_t n = strlen(p);
    if (!is_sep(p[n - 1])) {
        p[n] = '/';
        p[n + 1] = 0;
    }
    *out = p;
    return ERROR_SUCCESS;
}

/* The buffer convention of GetTempPath: the length without the NUL when it
 * fits, otherwise the size needed including the NUL. */
static DWORD copy_out_a(const char *s, LPSTR buf, DWORD size)
{
    size_t n = strlen(s);
    if (buf && size > n) {
        memcpy(buf, s, n + 1);
        return (DWORD)n;
    }
    return (DWORD)(n + 1);
}

static DWORD copy_out_w(const char *s, LPWSTR buf, DWORD size)
{
    size_t n = wi_utf8_to_wide_buf(s, NULL, 0);
    if (buf && size > n) {
        wi_utf8_to_wide_buf(s, buf, size);
        return (DWORD)n;
    }
    return (DWORD)(n + 1);
}

/* UTF-8 bytes of the first `chars` characters of s. */
static size_t utf8_prefix(const char *s, unsigned chars)
{
    size_t i = 0;
    while (s[i] && chars) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars--;
    }
    return i;
}

/* "<dir><sep><up to 3 characters of prefix><hex>.tmp" into out (MAX_PATH
 * bytes). A separator is added unless dir ends with one; it is '\' when dir
 * is written with backslashes only, '/' otherwise. */
static DWORD format_name(const char *dir, const char *prefix, unsigned num, char *out)
{
    size_t nd = strlen(dir);
    const char *sep = "";
    if (nd && !is_sep(dir[nd - 1]))
        sep = strchr(dir, '\\') && !strchr(dir, '/') ? "\\" : "/";
    int n = snprintf(out, MAX_PATH, "%s%s%.*s%X.tmp", dir, sep, (int)utf8_prefix(prefix, 3), prefix, num);
    return n < 0 || n >= MAX_PATH ? ERROR_BUFFER_OVERFLOW : ERROR_SUCCESS;
}

static bool is_directory(const char *dir)
{
    char *local = strdup(*dir ? dir : ".");
    struct stat st;
    bool ok;
    if (!local)
        return false;
    for (char *c = local; *c; c++)
        if (*c == '\\')
            *c = '/';
    ok = stat(local, &st) == 0 && S_ISDIR(st.st_mode);
    free(local);
    return ok;
}

/* Create `name` if it does not exist: 0, ERROR_FILE_EXISTS, or an error. */
static DWORD create_new(const char *name)
{
    char *local = strdup(name);
    DWORD err = ERROR_SUCCESS;
    int fd;
    if (!local)
        return ERROR_NOT_ENOUGH_MEMORY;
    for (char *c = local; *c; c++)
        if (*c == '\\')
            *c = '/';
    do
        fd = open(local, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        err = wi_error_from_errno(errno);
    else
        close(fd);
    free(local);
    return err;
}

/* GetTempFileName in UTF-8; returns the number used, 0 with *err on failure. */
static UINT temp_file_name(const char *dir, const char *prefix, UINT unique, char *out, DWORD *err)
{
    if (!dir || !out) {
        *err = ERROR_INVALID_PARAMETER;
        return 0;
    }
    if (!prefix)
        prefix = "";
    /* Windows refuses directories longer than MAX_PATH - 14 characters. */
    if (strlen(dir) > MAX_PATH - 14) {
        *err = ERROR_BUFFER_OVERFLOW;
        return 0;
    }
    if (unique) {
        /* Only the name: no file is created or checked. Only the low 16
         * bits take part. */
        *err = format_name(dir, prefix, unique & 0xFFFFu, out);
        return *err ? 0 : unique;
    }
    if (!is_directory(dir)) {
        *err = ERROR_DIRECTORY;
        return 0;
    }
    /* Start from the clock, as Windows does, and count up until a name is
     * free; every 16-bit value is tried once. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned start = (unsigned)((ts.tv_sec * 1000 + ts.tv_nsec / 1000000) & 0xFFFF);
    for (unsigned i = 0; i < 0xFFFF; i++) {
        unsigned num = (start + i) % 0xFFFF + 1; /* 1..0xFFFF */
        *err = format_name(dir, prefix, num, out);
        if (!*err)
            *err = create_new(out);
        if (!*err)
            return num;
        if (*err != ERROR_FILE_EXISTS)
            return 0;
    }
    return 0; /* all 65535 names taken: the last error is ERROR_FILE_EXISTS */
}

/* --- Win32 entry points ------------------------------------------------------ */

WINBASEAPI DWORD WINAPI GetTempPathA(DWORD nBufferLength, LPSTR lpBuffer)
{
    char *p;
    DWORD err = temp_path(&p);
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    DWORD r = copy_out_a(p, lpBuffer, nBufferLength);
    free(p);
    return r;
}

WINBASEAPI DWORD WINAPI GetTempPathW(DWORD nBufferLength, LPWSTR lpBuffer)
{
    char *p;
    DWORD err = temp_path(&p);
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    DWORD r = copy_out_w(p, lpBuffer, nBufferLength);
    free(p);
    return r;
}

WINBASEAPI UINT WINAPI GetTempFileNameA(LPCSTR lpPathName, LPCSTR lpPrefixString, UINT uUnique, LPSTR lpTempFileName)
{
    DWORD err = ERROR_SUCCESS;
    UINT r = temp_file_name(lpPathName, lpPrefixString, uUnique, lpTempFileName, &err);
    if (!r)
        wi_set_last_error(err);
    return r;
}

WINBASEAPI UINT WINAPI GetTempFileNameW(LPCWSTR lpPathName, LPCWSTR lpPrefixString, UINT uUnique, LPWSTR lpTempFileName)
{
    char out[MAX_PATH];
    DWORD err = ERROR_SUCCESS;
    UINT r = 0;
    WI_UTF8_ARG(dir, lpPathName);
    WI_UTF8_ARG(prefix, lpPrefixString);
    if (WI_UTF8_FAILED(dir, lpPathName) || WI_UTF8_FAILED(prefix, lpPrefixString))
        err = ERROR_NOT_ENOUGH_MEMORY;
    else if (!lpTempFileName)
        err = ERROR_INVALID_PARAMETER;
    else
        r = temp_file_name(dir, prefix, uUnique, out, &err);
    if (r && wi_utf8_to_wide_buf(out, lpTempFileName, MAX_PATH) >= MAX_PATH) {
        r = 0;
        err = ERROR_BUFFER_OVERFLOW;
    }
    WI_UTF8_FREE(dir);
    WI_UTF8_FREE(prefix);
    if (!r)
        wi_set_last_error(err);
    return r;
}
