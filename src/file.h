/* SPDX-License-Identifier: MIT */
/* File objects: a handle on a Linux fd (regular file, pipe, socket, tty).
 * Purely local: no shared state (obj->shared stays NULL); what other
 * processes see of a file is the fd itself, passed on by inheritance. */
#ifndef WINIPC_FILE_H
#define WINIPC_FILE_H

#include "object.h"

extern const struct wi_object_ops wi_file_ops;

/* A new file object over `fd`, which it takes over on success (closed by
 * the object's destroy). The kind (disk, pipe, tty, ...) comes from fstat. */
DWORD wi_file_wrap_fd(int fd, struct wi_object **out);

#endif
