/* SPDX-License-Identifier: MIT */
/* Introspection (winipc.h): WinipcEnumObjects and WinipcEnumPipes, what the
 * `winipc` tool lists.
 *
 * Both walk the namespace directories (wi_namespace_walk, which removes
 * stale names on the way) into a list, then call the user's callback with
 * no lock held: the walk holds the directory lock, under which the callback
 * could not create or close a named object of that namespace.
 *
 * Holders. Every process that references a named object holds a shared
 * flock on its own open file description of the object file (namespace.h),
 * so the file's FLOCK READ entries in /proc/locks count the references:
 * one per CreateX/OpenX call (a process that opened the name twice counts
 * twice; DuplicateHandle within a process adds none; an inherited handle
 * counts for the child). /proc/locks is read once per call, after the walk:
 * a snapshot, like the rest. */
#include "error.h"
#include "mapping.h"
#include "named_pipe.h"
#include "namespace.h"
#include "object.h"

#include <winipc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* --- objects ------------------------------------------------------------------- */

struct object_entry {
    WINIPC_OBJECT_INFO info;
    dev_t dev;
    ino_t ino;
};

struct object_list {
    struct object_entry *v;
    size_t n, cap;
    DWORD err;   /* first failure of the walk (out of memory) */
    bool global; /* the namespace being walked */
};

static bool listed_type(unsigned type)
{
    return type == WI_TYPE_EVENT || type == WI_TYPE_MUTEX || type == WI_TYPE_SEMAPHORE || type == WI_TYPE_TIMER ||
           type == WI_TYPE_MAPPING;
}

static void add_object(const char *file, const struct wi_shared_header *hdr, int fd, void *arg)
{
    struct object_list *l = arg;
    const struct wi_object_ops *ops = wi_ops_for_type((enum wi_type)hdr->type);
    struct stat st;
    if (l->err || !ops || !listed_type(hdr->type) || fstat(fd, &st) != 0)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct object_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->err = ERROR_NOT_ENOUGH_MEMORY;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    struct object_entry *e = &l->v[l->n++];
    memset(e, 0, sizeof *e);
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->info.TypeName = ops->name;
    e->info.Global = l->global;
    e->info.OwnerUid = (DWORD)st.st_uid;
    e->info.NameIsEscaped = !wi_namespace_name(l->global ? WI_NS_GLOBAL : WI_NS_LOCAL, fd, file, e->info.Name,
                                               sizeof e->info.Name);
    uint64_t size;
    if (hdr->type == WI_TYPE_MAPPING && wi_mapping_section_size(fd, &size) == ERROR_SUCCESS)
        e->info.SectionSize = size;
}

/* Fill in Holders from /proc/locks ("1: FLOCK  ADVISORY  READ 123 00:1b:4567 0 EOF";
 * lines with "->" are blocked requests, not holders). */
static void count_holders(struct object_list *l)
{
    FILE *f = fopen("/proc/locks", "re");
    char line[256];
    for (size_t i = 0; i < l->n; i++)
        l->v[i].info.Holders = f ? 0 : WINIPC_HOLDERS_UNKNOWN;
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char kind[16], access[16];
        unsigned maj, min;
        unsigned long long ino;
        const char *p = strchr(line, ':');
        if (!p || strstr(p, "->") ||
            sscanf(p + 1, "%15s %*s %15s %*d %x:%x:%llu", kind, access, &maj, &min, &ino) != 5 ||
            strcmp(kind, "FLOCK") != 0 || strcmp(access, "READ") != 0)
            continue;
        for (size_t i = 0; i < l->n; i++) {
            struct object_entry *e = &l->v[i];
            if (e->ino == ino && major(e->dev) == maj && minor(e->dev) == min)
                e->info.Holders++;
        }
    }
    fclose(f);
}

static int compare_objects(const void *a, const void *b)
{
    const WINIPC_OBJECT_INFO *x = &((const struct object_entry *)a)->info;
    const WINIPC_OBJECT_INFO *y = &((const struct object_entry *)b)->info;
    if (x->Global != y->Global)
        return x->Global ? -1 : 1;
    if (x->OwnerUid != y->OwnerUid)
        return x->OwnerUid < y->OwnerUid ? -1 : 1;
    int c = strcmp(x->Name, y->Name);
    return c ? c : strcmp(x->TypeName, y->TypeName);
}

WINBASEAPI BOOL WINAPI WinipcEnumObjects(DWORD Flags, WINIPC_OBJECT_CALLBACK Callback, void *Context)
{
    struct object_list l = {0};
    if (!Callback || (Flags & ~WINIPC_ENUM_ALL_USERS))
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    l.global = true;
    DWORD err = wi_namespace_walk(WI_NS_GLOBAL, add_object, &l);
    l.global = false;
    if (!err)
        err = wi_namespace_walk(WI_NS_LOCAL, add_object, &l);
    if (!err && (Flags & WINIPC_ENUM_ALL_USERS))
        err = wi_namespace_walk_users(add_object, &l);
    if (!err)
        err = l.err;
    if (!err) {
        count_holders(&l);
        if (l.n)
            qsort(l.v, l.n, sizeof *l.v, compare_objects);
        for (size_t i = 0; i < l.n && Callback(&l.v[i].info, Context); i++)
            ;
    }
    free(l.v);
    return wi_result_bool(err);
}

/* --- pipes ---------------------------------------------------------------------- */

struct pipe_list {
    WINIPC_PIPE_INFO *v;
    size_t n, cap;
    DWORD err;
};

static void add_pipe(const char *file, const struct wi_shared_header *hdr, int fd, void *arg)
{
    struct pipe_list *l = arg;
    struct wi_pipe_status st;
    /* A pipe file kept only by clients or WaitNamedPipe callers, with no
     * live instance, is no pipe (named_pipe.c). */
    if (l->err || hdr->type != WI_TYPE_PIPE || wi_pipe_status(fd, &st) != ERROR_SUCCESS || st.instances == 0)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        WINIPC_PIPE_INFO *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->err = ERROR_NOT_ENOUGH_MEMORY;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    WINIPC_PIPE_INFO *p = &l->v[l->n++];
    memset(p, 0, sizeof *p);
    p->NameIsEscaped = !wi_namespace_name(WI_NS_PIPE, fd, file, p->Name, sizeof p->Name);
    p->PipeType = st.pipe_type;
    p->Instances = st.instances;
    p->MaxInstances = st.max_instances;
    p->ServerProcessIdCount = st.npids;
    memcpy(p->ServerProcessIds, st.pids, st.npids * sizeof st.pids[0]);
}

static int compare_pipes(const void *a, const void *b)
{
    return strcasecmp(((const WINIPC_PIPE_INFO *)a)->Name, ((const WINIPC_PIPE_INFO *)b)->Name);
}

WINBASEAPI BOOL WINAPI WinipcEnumPipes(DWORD Flags, WINIPC_PIPE_CALLBACK Callback, void *Context)
{
    struct pipe_list l = {0};
    if (!Callback || Flags)
        return wi_fail_bool(ERROR_INVALID_PARAMETER);
    DWORD err = wi_namespace_walk(WI_NS_PIPE, add_pipe, &l);
    if (!err)
        err = l.err;
    if (!err) {
        if (l.n)
            qsort(l.v, l.n, sizeof *l.v, compare_pipes);
        for (size_t i = 0; i < l.n && Callback(&l.v[i], Context); i++)
            ;
    }
    free(l.v);
    return wi_result_bool(err);
}
