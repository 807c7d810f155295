/* SPDX-License-Identifier: MIT */
/* The per-process service thread: one epoll loop that turns kernel
 * readiness (a pidfd saying "this process exited") into object state
 * changes and futex wake-ups. Started on first use; restarted lazily in a
 * child after fork(). */
#ifndef WINIPC_SERVICE_H
#define WINIPC_SERVICE_H

#include <windows.h>

/* Call `fn(arg)` once, from the service thread, when `fd` becomes readable.
 * The caller keeps `fd` open until then. */
DWORD wi_service_watch(int fd, void (*fn)(void *arg), void *arg);

#endif
