/* SPDX-License-Identifier: MIT */
/* Named pipes (named_pipe.c): what other files need from them. */
#ifndef WINIPC_NAMED_PIPE_H
#define WINIPC_NAMED_PIPE_H

#include "object.h"

/* The client side of CreateFileA/W on "\\.\pipe\<name>" (file.c routes
 * such names here). `name_utf8` is the whole name as the caller passed it,
 * prefix included ('/' and '\' both separate the prefix, which is matched
 * case-insensitively). `access` is CreateFile's dwDesiredAccess (GENERIC_*
 * mapped here), `share` its dwShareMode (no meaning for a pipe instance:
 * every client gets an instance of its own), `flags_and_attrs` its
 * dwFlagsAndAttributes. On success *out is a new handle to the client end.
 * Errors as Windows: ERROR_FILE_NOT_FOUND (no such pipe, or no live server
 * instance), ERROR_PIPE_BUSY (every instance is connected or disconnected),
 * ERROR_ACCESS_DENIED (access against the pipe's direction), ERROR_NOT_SUPPORTED
 * (remote "\\server\pipe\x" names, the pipe root "\\.\pipe\" itself).
 * FILE_FLAG_OVERLAPPED makes an overlapped handle; the SECURITY_SQOS bits
 * say what ImpersonateNamedPipeClient may do with this client. */
DWORD wi_pipe_client_open(const char *name_utf8, DWORD access, DWORD share, const SECURITY_ATTRIBUTES *sa,
                          DWORD flags_and_attrs, HANDLE *out);

/* A snapshot of a pipe for introspection (introspect.c, `winipc pipes`),
 * read through `fd`, a descriptor of the pipe's object file
 * (wi_namespace_walk). `instances` counts the live server instances; `pids`
 * holds their distinct process ids. ERROR_INVALID_HANDLE when the file is
 * not a pipe of this layout. */
struct wi_pipe_status {
    DWORD pipe_type;     /* PIPE_TYPE_BYTE or PIPE_TYPE_MESSAGE */
    DWORD max_instances; /* nMaxInstances of the first instance */
    DWORD instances;
    DWORD npids;
    DWORD pids[PIPE_UNLIMITED_INSTANCES];
};
DWORD wi_pipe_status(int fd, struct wi_pipe_status *out);

#endif
