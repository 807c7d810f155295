/* SPDX-License-Identifier: MIT */
/* Process objects (process.c). */
#ifndef WINIPC_PROCESS_H
#define WINIPC_PROCESS_H

#include "object.h"

#include <pthread.h>
#include <sys/types.h>

/* Shared with a winipc child (a memfd passed at CreateProcess): the child
 * stores its full 32-bit exit code here on ExitProcess/exit, since Linux
 * keeps only 8 bits of an exit status. Magic-free: it is private to one
 * parent/child pair and created by the parent. */
struct wi_exit_record {
    _Atomic uint32_t valid;
    _Atomic uint32_t code;
};

struct process {
    struct wi_object obj; /* must be first */
    pid_t pid;
    int pidfd;            /* -1 for the current process */
    bool is_child;        /* started by us (or found to be our child): we reap it */
    struct wi_waitable w; /* local: word 0 running, 1 exited */
    pthread_mutex_t lock; /* guards the fields below */
    bool terminated;      /* TerminateProcess was called through this object */
    DWORD terminate_code;
    bool code_known;
    DWORD exit_code;
    struct wi_exit_record *record; /* mapped, for winipc children; NULL otherwise */
};

extern const struct wi_object_ops wi_process_ops;

/* A new process object for `pid` named by `pidfd` (taken over on success). */
DWORD wi_process_new(pid_t pid, int pidfd, bool is_child, struct process **out);

/* The exit record this process got from its parent (inherit.c at start-up). */
void wi_process_set_own_record(struct wi_exit_record *record);

/* Store `code` in this process's exit record, if its parent gave it one. */
void wi_process_record_exit(DWORD code);

#endif
