/* SPDX-License-Identifier: MIT */
/* The per-process control channel (control.c): handles made in, or taken
 * from, another winipc process. */
#ifndef WINIPC_CONTROL_H
#define WINIPC_CONTROL_H

#include "object.h"

/* Make sure this process listens for requests (done at start-up; again in a
 * child made by fork()). */
DWORD wi_control_ensure(void);

/* DuplicateHandle where at least one side is another process. `src_proc`
 * and `dst_proc` are process objects; `out` NULL means "no target handle"
 * (only DUPLICATE_CLOSE_SOURCE has an effect). */
DWORD wi_control_duplicate(struct wi_object *src_proc, HANDLE src, struct wi_object *dst_proc, HANDLE *out,
                           DWORD desired, bool inherit, DWORD options);

#endif
