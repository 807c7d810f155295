/* SPDX-License-Identifier: MIT */
/* Object header, reference counting, default ops, and unnamed shared state. */
#include "object.h"

#include "async.h"
#include "error.h"
#include "namespace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct wi_waitable *wi_no_waitable(struct wi_object *obj)
{
    return NULL;
}

DWORD wi_no_try_satisfy(struct wi_object *obj, uint32_t *cookie, unsigned mode)
{
    return WAIT_TIMEOUT;
}

DWORD wi_no_wait_prepare(struct wi_object *obj)
{
    return INFINITE;
}

DWORD wi_no_signal(struct wi_object *obj, DWORD access)
{
    return ERROR_INVALID_HANDLE;
}

/* ReadFile/WriteFile on an object that is not a file: Windows fails the
 * call with ERROR_INVALID_HANDLE (the handle is not a file handle). */
DWORD wi_no_read(struct wi_object *obj, void *buf, DWORD len, DWORD *done)
{
    return ERROR_INVALID_HANDLE;
}

DWORD wi_no_write(struct wi_object *obj, const void *buf, DWORD len, DWORD *done)
{
    return ERROR_INVALID_HANDLE;
}

DWORD wi_no_flush(struct wi_object *obj)
{
    return ERROR_INVALID_HANDLE;
}

int wi_no_std_fd(struct wi_object *obj)
{
    return -1;
}

DWORD wi_no_export_fds(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len)
{
    return ERROR_NOT_SUPPORTED;
}

DWORD wi_no_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out)
{
    return ERROR_NOT_SUPPORTED;
}

void wi_no_destroy(struct wi_object *obj)
{
}

void *wi_object_alloc(const struct wi_object_ops *ops, size_t size)
{
    struct wi_object *obj = calloc(1, size);
    if (!obj)
        return NULL;
    obj->ops = ops;
    obj->shared_fd = -1;
    atomic_init(&obj->refs, 1);
    return obj;
}

static void object_destroy(struct wi_object *obj);

void wi_object_release(struct wi_object *obj)
{
    if (!obj)
        return;
    /* After ours, only the I/O machinery's references would remain: the last
     * handle is gone, which ends pending I/O and closes a port (async.h).
     * Told while our reference still keeps the object alive. A reference
     * taken meanwhile by the engine's service thread only delays this to
     * that reference's release. */
    uint64_t v = atomic_load(&obj->refs);
    uint32_t all = (uint32_t)v, io = (uint32_t)(v >> 32);
    if (io && all - io == 1)
        wi_async_orphaned(obj);
    if ((uint32_t)atomic_fetch_sub_explicit(&obj->refs, 1, memory_order_acq_rel) != 1)
        return;
    object_destroy(obj);
}

void wi_object_io_release(struct wi_object *obj)
{
    if ((uint32_t)atomic_fetch_sub_explicit(&obj->refs, WI_IO_REF, memory_order_acq_rel) != 1)
        return;
    object_destroy(obj);
}

static void object_destroy(struct wi_object *obj)
{
    if (atomic_load_explicit(&obj->async, memory_order_acquire))
        wi_async_destroy(obj);
    obj->ops->destroy(obj);
    if (obj->name) {
        wi_namespace_release(obj);
    } else {
        if (obj->shared)
            munmap(obj->shared, obj->shared_size);
        if (obj->shared_fd >= 0)
            close(obj->shared_fd);
    }
    free(obj);
}

static void fill_header(struct wi_object *obj, size_t size)
{
    struct wi_shared_header *h = obj->shared;
    h->magic = WI_SHARED_MAGIC;
    h->version = WI_SHARED_VERSION;
    h->type = (uint16_t)obj->ops->type;
    h->size = (uint32_t)size;
}

/* Unnamed objects still keep their state in a memfd so that an inherited or
 * duplicated handle in another process reaches the same state. (A shared
 * arena of many objects per fd would save descriptors; the memfd per object
 * is the simple first step, see docs/design.md.) */
DWORD wi_object_create_unnamed(struct wi_object *obj, size_t size)
{
    return wi_object_create_unnamed_sized(obj, size, size);
}

DWORD wi_object_create_unnamed_sized(struct wi_object *obj, size_t map_size, uint64_t file_size)
{
    int fd = memfd_create(obj->ops->name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return wi_error_from_errno(errno);
    if (file_size < map_size)
        file_size = map_size;
    if (file_size > (uint64_t)INT64_MAX || ftruncate(fd, (off_t)file_size) != 0) {
        DWORD err = file_size > (uint64_t)INT64_MAX ? ERROR_NOT_ENOUGH_MEMORY : wi_error_from_errno(errno);
        close(fd);
        return err;
    }
    void *p = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        DWORD err = wi_error_from_errno(errno);
        close(fd);
        return err;
    }
    obj->shared = p;
    obj->shared_size = map_size;
    obj->shared_fd = fd;
    fill_header(obj, map_size);
    return ERROR_SUCCESS;
}

DWORD wi_object_attach_fd(struct wi_object *obj, int fd)
{
    struct wi_shared_header h;
    struct stat st;
    if (fstat(fd, &st) != 0 || pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
        return ERROR_INVALID_HANDLE;
    if (h.magic != WI_SHARED_MAGIC || h.version != WI_SHARED_VERSION || h.type != obj->ops->type ||
        h.size > (uint64_t)st.st_size || h.size < sizeof h)
        return ERROR_INVALID_HANDLE;
    void *p = mmap(NULL, h.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return wi_error_from_errno(errno);
    obj->shared = p;
    obj->shared_size = h.size;
    obj->shared_fd = fd;
    return ERROR_SUCCESS;
}

DWORD wi_object_open_named(struct wi_object *obj, const char *name, size_t size, bool create, bool world_access,
                           bool *existed, wi_object_init_fn init, void *arg)
{
    enum wi_ns ns;
    const char *rest;
    DWORD err = wi_namespace_parse_kernel(name, &ns, &rest);
    if (err)
        return err;
    return wi_namespace_open(obj, ns, rest, size, size, create, world_access, existed, init, arg);
}

struct shared_blob {
    uint8_t named;
    uint8_t ns;
    char file[256];
};

DWORD wi_shared_export_fds(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len)
{
    struct shared_blob b = {0};
    int fd;
    if (obj->name) {
        /* A new open file description with its own shared lock: closing
         * ours later must not drop the child's claim on the name. */
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", obj->shared_fd);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd >= 0 && flock(fd, LOCK_SH) != 0) {
            close(fd);
            fd = -1;
        }
        b.named = 1;
        b.ns = (uint8_t)obj->name->ns;
        memcpy(b.file, obj->name->file, sizeof b.file);
    } else {
        fd = fcntl(obj->shared_fd, F_DUPFD_CLOEXEC, 0);
    }
    if (fd < 0)
        return wi_error_from_errno(errno);
    fds[0] = fd;
    *nfds = 1;
    memcpy(blob, &b, sizeof b);
    *blob_len = sizeof b;
    return ERROR_SUCCESS;
}

DWORD wi_shared_import(const struct wi_object_ops *ops, size_t obj_size, const int *fds, unsigned nfds,
                       const void *blob, unsigned blob_len, struct wi_object **out)
{
    struct shared_blob b;
    if (nfds != 1 || blob_len != sizeof b)
        return ERROR_INVALID_PARAMETER;
    memcpy(&b, blob, sizeof b);
    struct wi_object *obj = wi_object_alloc(ops, obj_size);
    if (!obj)
        return ERROR_NOT_ENOUGH_MEMORY;
    DWORD err = wi_object_attach_fd(obj, fds[0]);
    if (!err && b.named) {
        obj->name = calloc(1, sizeof *obj->name);
        if (!obj->name) {
            err = ERROR_NOT_ENOUGH_MEMORY;
        } else {
            obj->name->ns = (enum wi_ns)b.ns;
            memcpy(obj->name->file, b.file, sizeof b.file);
            obj->name->file[sizeof b.file - 1] = 0;
        }
    }
    if (err) {
        obj->shared_fd = -1; /* the caller still owns fds[0] on failure */
        if (obj->shared)
            munmap(obj->shared, obj->shared_size);
        obj->shared = NULL;
        free(obj);
        return err;
    }
    *out = obj;
    return ERROR_SUCCESS;
}
