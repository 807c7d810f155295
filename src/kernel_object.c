/* SPDX-License-Identifier: MIT */
/* CreateX/OpenX for the kernel-object types of the shared namespace. */
#include "kernel_object.h"

#include "error.h"
#include "handle.h"
#include "security.h"

HANDLE wi_kernel_object_create(const struct wi_kernel_object_spec *spec, void *init_arg,
                               const SECURITY_ATTRIBUTES *sa, const char *name, DWORD access)
{
    bool world, existed = false;
    DWORD flags;
    HANDLE h = NULL;
    struct wi_object *obj = wi_object_alloc(spec->ops, spec->obj_size);
    if (!obj)
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    DWORD err = wi_sa_parse_for(sa, spec->ops, &flags, &world);
    if (err) {
    } else if (name && *name) {
        err = wi_object_open_named(obj, name, spec->shared_size, true, world, &existed, spec->init, init_arg);
        if (!err && existed && spec->check)
            err = spec->check(obj);
    } else {
        err = wi_object_create_unnamed(obj, spec->shared_size);
        if (!err && spec->init)
            spec->init(obj, init_arg);
    }
    if (!err)
        err = wi_handle_insert(obj, wi_handle_map_access(spec->ops, access), flags, &h);
    if (err) {
        wi_object_release(obj);
        return wi_fail_null(err);
    }
    wi_set_last_error(existed ? ERROR_ALREADY_EXISTS : ERROR_SUCCESS);
    return h;
}

HANDLE wi_kernel_object_open(const struct wi_kernel_object_spec *spec, const char *name, DWORD access,
                             BOOL inherit)
{
    bool existed;
    HANDLE h = NULL;
    if (!name)
        return wi_fail_null(ERROR_INVALID_PARAMETER);
    struct wi_object *obj = wi_object_alloc(spec->ops, spec->obj_size);
    if (!obj)
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    DWORD err = wi_object_open_named(obj, name, spec->shared_size, false, false, &existed, NULL, NULL);
    if (!err && spec->check)
        err = spec->check(obj);
    if (!err)
        err = wi_handle_insert(obj, wi_handle_map_access(spec->ops, access), inherit ? HANDLE_FLAG_INHERIT : 0, &h);
    if (err) {
        wi_object_release(obj);
        return wi_fail_null(err);
    }
    return h;
}
