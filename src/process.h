/* SPDX-License-Identifier: MIT */
/* Process objects (process.c). */
#ifndef WINIPC_PROCESS_H
#define WINIPC_PROCESS_H

#include "object.h"

#include <pthread.h>
#include <sys/types.h>

/* Shared with a winipc child (a memfd passed at CreateProcess, see
 * inherit.h): the full 32-bit exit code, since Linux keeps only 8 bits of
 * an exit status. Written once, by the child's ExitProcess or by a
 * TerminateProcess from any process holding the record (the parent, or a
 * process that inherited a handle to the child):
 *   valid  0 → 2 (claimed by one writer, compare-and-swap) → 1 (code set)
 *   code   written between the two steps
 * Magic-free: it is private to one child and created by its parent. */
struct wi_exit_record {
    _Atomic uint32_t valid;
    _Atomic uint32_t code;
    /* Set to 1 by the child once its control channel listens (control.c),
     * so DuplicateHandle into a just-started child can wait for it. */
    _Atomic uint32_t ready;
};

#define WI_RECORD_VALID 1u
#define WI_RECORD_WRITING 2u

struct wi_child; /* process.c: the state every process object on one child of ours shares */

struct process {
    struct wi_object obj; /* must be first */
    pid_t pid;
    int pidfd;              /* -1 for the current process */
    bool pidfd_is_pipe;     /* no pidfds on this system: pidfd is a pipe that
                               turns readable when the child exits (process.c) */
    struct wi_child *child; /* a child of ours (we reap it): its shared state; NULL otherwise */
    struct wi_waitable w;   /* local: word 0 running, 1 exited */
    pthread_mutex_t lock;   /* guards the fields below */
    bool code_known;
    DWORD exit_code;
    /* Only for a process that is not our child: */
    bool terminated;        /* TerminateProcess was called through this object */
    DWORD terminate_code;
    struct wi_exit_record *record; /* its exit record (inherited handle to a winipc child), or NULL */
    int record_fd;                 /* the record's memfd, -1 if none */
};

extern const struct wi_object_ops wi_process_ops;

/* A new process object for `pid` named by `pidfd` (taken over on success). */
DWORD wi_process_new(pid_t pid, int pidfd, bool is_child, struct process **out);

/* The exit record this process got from its parent (inherit.c at start-up). */
void wi_process_set_own_record(struct wi_exit_record *record);

/* This process's control channel listens: tell the parent (exit record). */
void wi_process_mark_ready(void);

/* For a winipc child of ours that is starting: wait up to `ms` until its
 * control channel listens. False when it is not such a child, or it died or
 * did not become ready in time. */
bool wi_process_wait_ready(struct wi_object *process, DWORD ms);

/* Store `code` in this process's exit record, if its parent gave it one. */
void wi_process_record_exit(DWORD code);

/* The process environment (environ, setenv) is guarded by one lock in
 * winipc (environment.c): SetEnvironmentVariable and CreateProcess's copy of
 * the environment never race each other. */
void wi_env_lock(void);
void wi_env_unlock(void);

/* PROCESS_INFORMATION.hThread: the main thread of a process we started. A
 * WI_TYPE_THREAD object with its own ops (process.c); thread.c hands the
 * thread calls on such an object to these functions. */
extern const struct wi_object_ops wi_remote_thread_ops;

/* ResumeThread: the previous suspend count (the process runs at 1 → 0). */
DWORD wi_remote_thread_resume(struct wi_object *obj, DWORD *previous);
/* GetExitCodeThread: STILL_ACTIVE while the process runs, then its code. */
DWORD wi_remote_thread_exit_code(struct wi_object *obj, DWORD *code);
/* GetThreadId: the main thread's id, which is the process id on Linux. */
DWORD wi_remote_thread_id(struct wi_object *obj);

#endif
