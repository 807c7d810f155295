/* SPDX-License-Identifier: MIT */
/* A tiny TAP harness for winipc's tests. Tests use only the Win32 API and
 * the C library, so the same file builds with winegcc and runs under Wine.
 *
 *   T_OK(cond, "name")                 ok/not ok
 *   T_EQ(actual, expected, "name")     integer compare; prints both values
 *                                      and GetLastError() on failure
 *   T_ERR(call_ok, err, "name")        call failed and GetLastError()==err
 *   t_spawn("child foo", &pi)          re-runs this test binary as a child
 *   return t_done();                   prints the plan; exit 0 iff all passed
 *
 * Multi-process tests dispatch on argv[1] == "child". Each test binary is
 * run with its own WINIPC_ROOT (set by tests/run-test), so runs never share
 * names. Out-parameters should be poisoned (T_POISON) before calls. */
#ifndef WINIPC_TEST_H
#define WINIPC_TEST_H

#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_count, t_failures;

#define T_POISON 0xdeadbeefu
#define T_POISON_HANDLE ((HANDLE)(ULONG_PTR)0xdeadbeefu)

static inline void t_report(int ok, const char *file, int line, const char *name, const char *detail)
{
    t_count++;
    if (!ok)
        t_failures++;
    printf("%sok %d - %s\n", ok ? "" : "not ", t_count, name);
    if (!ok)
        printf("#   at %s:%d: %s\n", file, line, detail ? detail : "");
    fflush(stdout);
}

#define T_OK(cond, name)                                                                  \
    do {                                                                                  \
        int t_c_ = !!(cond); /* evaluated first: the error printed is the call's */       \
        DWORD t_err_ = GetLastError();                                                    \
        char t_buf_[160];                                                                 \
        snprintf(t_buf_, sizeof t_buf_, "condition false (GetLastError() = %lu)",        \
                 (unsigned long)t_err_);                                                  \
        t_report(t_c_, __FILE__, __LINE__, (name), t_buf_);                               \
    } while (0)

#define T_EQ(actual, expected, name)                                                      \
    do {                                                                                  \
        long long t_a_ = (long long)(actual), t_e_ = (long long)(expected);               \
        DWORD t_err_ = GetLastError();                                                    \
        char t_buf_[200];                                                                 \
        snprintf(t_buf_, sizeof t_buf_, "got %lld (0x%llx), expected %lld (0x%llx); GetLastError() = %lu", \
                 t_a_, (unsigned long long)t_a_, t_e_, (unsigned long long)t_e_, (unsigned long)t_err_); \
        t_report(t_a_ == t_e_, __FILE__, __LINE__, (name), t_buf_);                       \
    } while (0)

/* The call's result `ok` must be false and the last error `err`. */
#define T_ERR(ok, err, name)                                                              \
    do {                                                                                  \
        int t_ok_ = !!(ok);                                                               \
        DWORD t_err_ = GetLastError();                                                    \
        char t_buf_[200];                                                                 \
        snprintf(t_buf_, sizeof t_buf_, "call %s, GetLastError() = %lu, expected %lu",    \
                 t_ok_ ? "succeeded" : "failed", (unsigned long)t_err_, (unsigned long)(err)); \
        t_report(!t_ok_ && t_err_ == (DWORD)(err), __FILE__, __LINE__, (name), t_buf_);   \
    } while (0)

#define T_STR(actual, expected, name)                                                     \
    do {                                                                                  \
        const char *t_a_ = (actual), *t_e_ = (expected);                                  \
        char t_buf_[512];                                                                 \
        snprintf(t_buf_, sizeof t_buf_, "got \"%s\", expected \"%s\"", t_a_ ? t_a_ : "(null)", t_e_); \
        t_report(t_a_ && strcmp(t_a_, t_e_) == 0, __FILE__, __LINE__, (name), t_buf_);    \
    } while (0)

static inline int t_done(void)
{
    printf("1..%d\n", t_count);
    if (t_failures)
        printf("# %d of %d failed\n", t_failures, t_count);
    fflush(stdout);
    return t_failures ? 1 : 0;
}

/* Re-run this test binary as a child: command line "<self> <args>".
 * Handles marked inheritable are passed when `inherit` is TRUE. */
static inline BOOL t_spawn_ex(const char *args, BOOL inherit, STARTUPINFOA *si_in, PROCESS_INFORMATION *pi)
{
    char self[MAX_PATH], cmd[4096];
    STARTUPINFOA si;
    if (!GetModuleFileNameA(NULL, self, sizeof self))
        return FALSE;
    snprintf(cmd, sizeof cmd, "\"%s\" %s", self, args);
    if (si_in)
        si = *si_in;
    else {
        memset(&si, 0, sizeof si);
        si.cb = sizeof si;
    }
    return CreateProcessA(NULL, cmd, NULL, NULL, inherit, 0, NULL, NULL, &si, pi);
}

static inline BOOL t_spawn(const char *args, PROCESS_INFORMATION *pi)
{
    return t_spawn_ex(args, FALSE, NULL, pi);
}

/* Wait for a child and return its exit code (or 0xFFFFFFFF on timeout). */
static inline DWORD t_wait_child(PROCESS_INFORMATION *pi, DWORD ms)
{
    DWORD code = 0xFFFFFFFFu;
    if (WaitForSingleObject(pi->hProcess, ms) == WAIT_OBJECT_0)
        GetExitCodeProcess(pi->hProcess, &code);
    CloseHandle(pi->hProcess);
    CloseHandle(pi->hThread);
    return code;
}

/* A name unique to this test run and process tree. */
static inline const char *t_name(const char *base)
{
    static char buf[8][128];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, 128, "winipc-test-%s", base);
    return b;
}

/* "\\.\pipe\winipc-test-<base>": a pipe name for this test run. */
static inline const char *t_pipe_name(const char *base)
{
    static char buf[8][160];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, 160, "\\\\.\\pipe\\%s", t_name(base));
    return b;
}

#endif
