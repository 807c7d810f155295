/* SPDX-License-Identifier: MIT */
/* Starting Linux processes for CreateProcess (launch.c): finding the program
 * the way Windows does, the child's environment, and the spawn itself. */
#ifndef WINIPC_LAUNCH_H
#define WINIPC_LAUNCH_H

#include <windows.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Find the program to run. With `app` (lpApplicationName) that name is
 * used as given, relative to the current directory; otherwise the first
 * token of `cmdline` is searched like Windows searches it (see launch.c).
 * On success *exe is a malloc'ed absolute path and *st its stat. Errors:
 * ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND, ERROR_ACCESS_DENIED (a
 * directory, no execute permission), and with `check_format`
 * ERROR_BAD_EXE_FORMAT for a file that is neither ELF nor a #! script. */
DWORD wi_launch_find(const char *app, const char *cmdline, bool check_format, char **exe, struct stat *st);

/* The child's envp: an lpEnvironment block (ANSI "k=v\0...\0\0", or
 * wchar_t with `wide`), or ours for NULL; WINIPC_START= entries dropped and
 * `extra` appended. Free with wi_launch_env_free. */
DWORD wi_launch_env(const void *block, bool wide, const char *extra, char ***envp);
void wi_launch_env_free(char **envp);

#define WI_NO_NICE INT_MIN

struct wi_launch_plan {
    const char *exe;
    char **argv;
    char **envp;
    int std_fds[3];      /* sources for fds 0..2 (>= 3, close-on-exec), -1: keep ours */
    const int *pass_fds; /* passed at the same number (>= 3) */
    unsigned npass;
    const char *cwd;     /* NULL: ours */
    bool new_group;      /* CREATE_NEW_PROCESS_GROUP: setpgid(0, 0) */
    bool suspended;      /* CREATE_SUSPENDED: stopped (SIGSTOP) before exec */
    int nice;            /* WI_NO_NICE: inherit ours */
};

/* Start the child; exec failures come back as the Windows error. With
 * `suspended` the child has stopped itself when this returns. */
DWORD wi_launch(const struct wi_launch_plan *sp, pid_t *pid);

/* Wait for (and reap) a child that must not be left a zombie. */
void wi_launch_reap(pid_t pid);

#endif
