/* SPDX-License-Identifier: MIT */
/* The generic I/O entry points (io.c) and the OVERLAPPED completion protocol
 * shared by every type that does overlapped I/O.
 *
 * OVERLAPPED.Internal holds an NTSTATUS as on Windows (programs test it with
 * HasOverlappedIoCompleted and some read it directly): STATUS_PENDING while
 * the operation runs, then its final status. InternalHigh holds the byte
 * count. The completer (async.c) writes InternalHigh first and Internal last
 * (release), then sets the event; GetOverlappedResult reads Internal first
 * (acquire). */
#ifndef WINIPC_IO_H
#define WINIPC_IO_H

#include <windows.h>

/* The NTSTATUS Windows stores for a Win32 error, and back
 * (RtlNtStatusToDosError for the codes winipc produces). */
DWORD wi_ntstatus_from_error(DWORD err);
DWORD wi_error_from_ntstatus(DWORD status);

#endif
