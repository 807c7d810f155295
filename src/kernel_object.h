/* SPDX-License-Identifier: MIT */
/* The common body of CreateX/OpenX for the kernel-object types that share
 * one namespace (events, mutexes, semaphores, waitable timers): parse the
 * security attributes, create or open the named object (or make an unnamed
 * one), give it a handle, and report as Windows does. Each type file keeps
 * only its own argument checks. */
#ifndef WINIPC_KERNEL_OBJECT_H
#define WINIPC_KERNEL_OBJECT_H

#include "object.h"

struct wi_kernel_object_spec {
    const struct wi_object_ops *ops;
    size_t obj_size;    /* the type's local struct (embeds struct wi_object first) */
    size_t shared_size; /* its shared state */
    /* Initialise new shared state (not called for an existing name). */
    wi_object_init_fn init;
    /* Optional: validate an object found under the name; returns a Win32
     * error to refuse it. */
    DWORD (*check)(struct wi_object *obj);
};

/* CreateX: `name` NULL or "" makes an unnamed object; `init_arg` goes to
 * spec->init. Returns the handle with the last error ERROR_ALREADY_EXISTS
 * when an existing named object was opened and 0 otherwise (Windows
 * reports an existing name through a successful call), or NULL with the
 * last error set. */
HANDLE wi_kernel_object_create(const struct wi_kernel_object_spec *spec, void *init_arg,
                               const SECURITY_ATTRIBUTES *sa, const char *name, DWORD access);

/* OpenX: the handle, or NULL with the last error (a NULL name →
 * ERROR_INVALID_PARAMETER; missing → ERROR_FILE_NOT_FOUND). */
HANDLE wi_kernel_object_open(const struct wi_kernel_object_spec *spec, const char *name, DWORD access,
                             BOOL inherit);

#endif
