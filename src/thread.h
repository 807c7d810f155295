/* SPDX-License-Identifier: MIT */
/* Thread objects (thread.c). */
#ifndef WINIPC_THREAD_H
#define WINIPC_THREAD_H

#include "object.h"

extern const struct wi_object_ops wi_thread_ops;

/* What GENERIC_* rights mean on a thread: shared by this process's thread
 * objects and process.c's objects for other processes' main threads. */
#define WI_THREAD_GENERIC_MAP                                                                                   \
    {STANDARD_RIGHTS_READ | THREAD_GET_CONTEXT | THREAD_QUERY_INFORMATION,                                      \
     STANDARD_RIGHTS_WRITE | THREAD_TERMINATE | THREAD_SUSPEND_RESUME | THREAD_SET_INFORMATION | THREAD_SET_CONTEXT, \
     STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE | THREAD_QUERY_LIMITED_INFORMATION, THREAD_ALL_ACCESS}

/* Queue a user APC to `thread` (a thread object of this process). */
DWORD wi_thread_queue_apc(struct wi_object *thread, void (*fn)(ULONG_PTR), ULONG_PTR data);

/* The calling thread's APC word: bumped whenever an APC is queued to it.
 * Alertable waits sleep on it as well as on their objects. */
struct wi_waitable *wi_thread_apc_waitable(void);

/* Run the calling thread's queued APCs; true if any ran. */
bool wi_thread_run_apcs(void);

#endif
