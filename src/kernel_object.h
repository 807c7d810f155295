/* SPDX-License-Identifier: MIT */
/* The common body of CreateX/OpenX for the kernel-object types that share
 * one namespace (events, mutexes, semaphores, waitable timers): parse the
 * security attributes, create or open the named object (or make an unnamed
 * one), and give it a handle. Each type file keeps its own argument checks
 * and last-error reporting. */
#ifndef WINIPC_KERNEL_OBJECT_H
#define WINIPC_KERNEL_OBJECT_H

#include "object.h"

struct wi_kernel_object_spec {
    const struct wi_object_ops *ops;
    size_t obj_size;    /* the type's local struct (embeds struct wi_object first) */
    size_t shared_size; /* its shared state */
    /* Initialise new shared state (not called for an existing name). */
    wi_object_init_fn init;
    void *init_arg;
    /* Optional: validate an object found under the name; returns a Win32
     * error to refuse it. */
    DWORD (*check)(struct wi_object *obj);
};

/* CreateX: `name` NULL or "" makes an unnamed object. *existed tells whether
 * an existing named object was opened (the caller sets
 * ERROR_ALREADY_EXISTS). */
DWORD wi_kernel_object_create(const struct wi_kernel_object_spec *spec, const SECURITY_ATTRIBUTES *sa,
                              const char *name, DWORD access, HANDLE *out, bool *existed);

/* OpenX: a NULL name → ERROR_INVALID_PARAMETER; missing → ERROR_FILE_NOT_FOUND. */
DWORD wi_kernel_object_open(const struct wi_kernel_object_spec *spec, const char *name, DWORD access, BOOL inherit,
                            HANDLE *out);

#endif
