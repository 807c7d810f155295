/* SPDX-License-Identifier: MIT */
/* I/O completion ports (iocp.c): what the engine (async.c) needs. */
#ifndef WINIPC_IOCP_H
#define WINIPC_IOCP_H

#include "object.h"

extern const struct wi_object_ops wi_iocp_ops;

/* Queue a completion packet. `status` is the NTSTATUS the I/O finished
 * with. A port whose last handle is closed drops packets (nobody can
 * dequeue them). ERROR_NO_SYSTEM_RESOURCES when out of memory. */
DWORD wi_iocp_post(struct wi_object *port, ULONG_PTR key, OVERLAPPED *ov, DWORD status, DWORD bytes);

/* The port's last handle was closed: threads waiting in
 * GetQueuedCompletionStatus(Ex) return ERROR_ABANDONED_WAIT_0, queued
 * packets are dropped, new ones too (async.c calls this from
 * wi_async_orphaned). */
void wi_iocp_orphaned(struct wi_object *port);

#endif
