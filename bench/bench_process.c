/* SPDX-License-Identifier: MIT */
/* CreateProcess + WaitForSingleObject next to posix_spawn + waitpid, both
 * starting /bin/true. */
#include "bench.h"

#include <windows.h>

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(void)
{
    long n = bench_iters(500);
    char *argv[] = {"/bin/true", NULL};
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        pid_t pid;
        if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) == 0)
            waitpid(pid, NULL, 0);
    }
    double raw = (bench_now() - t0) / n * 1e6;
    t0 = bench_now();
    for (long i = 0; i < n; i++) {
        STARTUPINFOA si;
        memset(&si, 0, sizeof si);
        si.cb = sizeof si;
        PROCESS_INFORMATION pi;
        char cmd[] = "/bin/true";
        if (CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
            WaitForSingleObject(pi.hProcess, INFINITE);
            CloseHandle(pi.hProcess);
            CloseHandle(pi.hThread);
        }
    }
    double wi = (bench_now() - t0) / n * 1e6;
    bench_row("CreateProcess + wait, /bin/true", "us", wi, raw, "posix_spawn + waitpid");
    return 0;
}
