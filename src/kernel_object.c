/* SPDX-License-Identifier: MIT */
/* CreateX/OpenX for the kernel-object types of the shared namespace. */
#include "kernel_object.h"

#include "handle.h"
#include "security.h"

DWORD wi_kernel_object_create(const struct wi_kernel_object_spec *spec, const SECURITY_ATTRIBUTES *sa,
                              const char *name, DWORD access, HANDLE *out, bool *existed)
{
    bool world;
    DWORD flags;
    *existed = false;
    struct wi_object *obj = wi_object_alloc(spec->ops, spec->obj_size);
    if (!obj)
        return ERROR_NOT_ENOUGH_MEMORY;
    DWORD err = wi_sa_parse_for(sa, spec->ops, &flags, &world);
    if (err) {
    } else if (name && *name) {
        err = wi_object_open_named(obj, name, spec->shared_size, true, world, existed, spec->init, spec->init_arg);
        if (!err && *existed && spec->check)
            err = spec->check(obj);
    } else {
        err = wi_object_create_unnamed(obj, spec->shared_size);
        if (!err && spec->init)
            spec->init(obj, spec->init_arg);
    }
    if (!err)
        err = wi_handle_insert(obj, wi_handle_map_access(spec->ops, access), flags, out);
    if (err) {
        *existed = false;
        wi_object_release(obj);
    }
    return err;
}

DWORD wi_kernel_object_open(const struct wi_kernel_object_spec *spec, const char *name, DWORD access, BOOL inherit,
                            HANDLE *out)
{
    bool existed;
    if (!name)
        return ERROR_INVALID_PARAMETER;
    struct wi_object *obj = wi_object_alloc(spec->ops, spec->obj_size);
    if (!obj)
        return ERROR_NOT_ENOUGH_MEMORY;
    DWORD err = wi_object_open_named(obj, name, spec->shared_size, false, false, &existed, NULL, NULL);
    if (!err && spec->check)
        err = spec->check(obj);
    if (!err)
        err = wi_handle_insert(obj, wi_handle_map_access(spec->ops, access), inherit ? HANDLE_FLAG_INHERIT : 0, out);
    if (err)
        wi_object_release(obj);
    return err;
}
