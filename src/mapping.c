/* SPDX-License-Identifier: MIT */
/* File mappings ("Section" objects): CreateFileMapping, OpenFileMapping,
 * MapViewOfFile(Ex), UnmapViewOfFile, FlushViewOfFile, VirtualQuery.
 *
 * A mapping object is a section of some size and page protection whose data
 * lives either in a file of its own (pagefile-backed: tmpfs, so sparse — a
 * 16 GiB section costs nothing until its pages are touched) or in the user's
 * file (file-backed). Its description lives in a 4 KiB state page:
 *
 *   pagefile-backed   one file (the namespace object file, or a memfd for an
 *                     unnamed mapping): the state page at offset 0, the data
 *                     from DATA_OFFSET on. One file = one name = one flock
 *                     lifetime (namespace.h).
 *   file-backed       the state page alone (object file or memfd) plus the
 *                     user's file, kept open by each local object (file_fd).
 *                     Another process opening the name reopens the file by
 *                     the path recorded at creation (and checks the inode).
 *
 * Layout of the state page (struct mapping_shared), written once by the
 * creator while the namespace directory is locked (or before an unnamed
 * mapping is published), read-only afterwards. A different magic or version
 * makes the object unusable (ERROR_INVALID_HANDLE), never misread.
 *
 * Lifetime is NT's, which differs from other kernel objects in one way: a
 * view does not hold the mapping object. NT deletes an object's name when
 * its last *handle* closes; views keep only the section's memory, so after
 * CloseHandle of the last handle a live view still works but the name is
 * gone (OpenFileMapping fails with ERROR_FILE_NOT_FOUND and CreateFileMapping
 * makes a new section). Here the view's mmap keeps the data (and the
 * unlinked file) alive by itself, and the name follows the object's
 * references, which are handles only.
 *
 * Views are recorded in a process-local table (base, length, protection) so
 * that UnmapViewOfFile, FlushViewOfFile and VirtualQuery can find them; the
 * table is guarded by view_table.lock, held across the munmap so that a
 * concurrent MapViewOfFile reusing the address range never meets a stale
 * entry. */
#include "async.h"
#include "error.h"
#include "handle.h"
#include "mapping.h"
#include "namespace.h"
#include "object.h"
#include "security.h"
#include "unicode.h"
#include "virtual_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define STATE_SIZE 4096u
/* The data of a pagefile-backed section starts at the allocation
 * granularity, so every view offset (a multiple of 64 KiB) is page-aligned
 * in the file whatever the page size; the gap is a hole in tmpfs. */
#define DATA_OFFSET 65536u
#define GRANULARITY 65536u

#define MAPPING_MAGIC 0x5350414du /* "MAPS" */
#define MAPPING_VERSION 1u

/* Section attributes Windows defines that winipc cannot provide. */
#define SEC_PROTECTED_IMAGE_BIT 0x02000000u /* SEC_PROTECTED_IMAGE */
#define SEC_UNSUPPORTED (SEC_IMAGE | SEC_PROTECTED_IMAGE_BIT | SEC_NOCACHE | SEC_WRITECOMBINE | SEC_LARGE_PAGES)

/* The state page. Sizes and offsets are fixed by MAPPING_VERSION. */
struct mapping_shared {
    struct wi_shared_header hdr;
    uint32_t magic;      /* MAPPING_MAGIC */
    uint32_t version;    /* MAPPING_VERSION */
    uint64_t size;       /* section size: the most a view may cover */
    uint32_t protect;    /* PAGE_* given to CreateFileMapping */
    uint32_t attributes; /* SEC_COMMIT or SEC_RESERVE (pagefile), SEC_FILE (file-backed) */
    uint64_t file_dev;   /* SEC_FILE: identity of the mapped file */
    uint64_t file_ino;
    char path[STATE_SIZE - 56]; /* SEC_FILE: absolute path at creation, "" if it had none */
};
_Static_assert(sizeof(struct mapping_shared) == STATE_SIZE, "state page layout");

struct mapping {
    struct wi_object obj; /* must be first */
    /* The state page as validated when this object was opened (load_state):
     * views never read the shared page again, so a process that may write
     * it (any user, for a NULL-DACL mapping) cannot change them later. */
    uint64_t size;
    DWORD protect, attributes;
    int file_fd; /* SEC_FILE: our descriptor of the mapped file; -1 otherwise */
    /* Named file-backed mappings of this process, so that reopening the name
     * here reuses the file even if it was deleted since (live.lock). */
    struct mapping *next_live;
    dev_t state_dev;
    ino_t state_ino;
};

static struct mapping_shared *state(struct wi_object *obj)
{
    return WI_SHARED(obj, struct mapping_shared);
}

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE); /* read from the aux vector: no syscall */
}

static uint64_t round_up(uint64_t v, uint64_t to)
{
    return (v + to - 1) & ~(to - 1);
}

/* --- protections ---------------------------------------------------------------- */

static bool protect_is_section(DWORD p)
{
    switch (p) {
    case PAGE_READONLY:
    case PAGE_READWRITE:
    case PAGE_WRITECOPY:
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_READWRITE:
    case PAGE_EXECUTE_WRITECOPY:
        return true;
    default:
        return false;
    }
}

/* Shared writable views (FILE_MAP_WRITE) need a writable section. */
static bool protect_allows_write(DWORD p)
{
    return p == PAGE_READWRITE || p == PAGE_EXECUTE_READWRITE;
}

static bool protect_allows_exec(DWORD p)
{
    return p == PAGE_EXECUTE_READ || p == PAGE_EXECUTE_READWRITE || p == PAGE_EXECUTE_WRITECOPY;
}

/* What a MapViewOfFile access mask asks for. */
struct view_req {
    bool write, copy, read, exec;
    DWORD protect; /* PAGE_* of the view */
    int prot;      /* PROT_* */
    int flags;     /* MAP_SHARED or MAP_PRIVATE */
};

/* Windows derives a view from FILE_MAP_WRITE, _COPY, _READ and _EXECUTE
 * alone; other bits (access rights such as SECTION_EXTEND_SIZE or
 * STANDARD_RIGHTS_REQUIRED in FILE_MAP_ALL_ACCESS, or anything else) change
 * nothing, here as there. FILE_MAP_ALL_ACCESS includes SECTION_QUERY, the
 * same bit as FILE_MAP_COPY: a write request wins, as in Windows
 * (FILE_MAP_ALL_ACCESS is a shared read/write view). FILE_MAP_EXECUTE alone,
 * like no access at all, gives a PAGE_NOACCESS view. */
static DWORD parse_view_access(DWORD access, struct view_req *v)
{
    if (access & (FILE_MAP_LARGE_PAGES | FILE_MAP_RESERVE))
        return ERROR_NOT_SUPPORTED;
    /* FILE_MAP_TARGETS_INVALID concerns Control Flow Guard, which Linux
     * does not have: every target is valid anyway (docs/mappings.md). */
    memset(v, 0, sizeof *v);
    v->write = access & FILE_MAP_WRITE;
    v->copy = !v->write && (access & FILE_MAP_COPY);
    v->read = v->write || v->copy || (access & FILE_MAP_READ);
    v->exec = v->read && (access & FILE_MAP_EXECUTE);
    v->flags = v->copy ? MAP_PRIVATE : MAP_SHARED;
    if (v->write) {
        v->protect = v->exec ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
        v->prot = PROT_READ | PROT_WRITE;
    } else if (v->copy) {
        v->protect = v->exec ? PAGE_EXECUTE_WRITECOPY : PAGE_WRITECOPY;
        v->prot = PROT_READ | PROT_WRITE;
    } else if (v->read) {
        v->protect = v->exec ? PAGE_EXECUTE_READ : PAGE_READONLY;
        v->prot = PROT_READ;
    } else {
        v->protect = PAGE_NOACCESS;
        v->prot = PROT_NONE;
    }
    if (v->exec)
        v->prot |= PROT_EXEC;
    return ERROR_SUCCESS;
}

/* The handle rights a view needs (Windows: a write view needs
 * SECTION_MAP_WRITE only; read, copy and no-access views SECTION_MAP_READ),
 * and whether the section's protection allows it. */
static DWORD view_check(const struct view_req *v, DWORD handle_access, DWORD section_protect)
{
    DWORD need = v->write ? SECTION_MAP_WRITE : SECTION_MAP_READ;
    if ((handle_access & need) != need)
        return ERROR_ACCESS_DENIED;
    if (v->exec && !(handle_access & (SECTION_MAP_EXECUTE | SECTION_MAP_EXECUTE_EXPLICIT)))
        return ERROR_ACCESS_DENIED;
    if (v->write && !protect_allows_write(section_protect))
        return ERROR_ACCESS_DENIED;
    if (v->exec && !protect_allows_exec(section_protect))
        return ERROR_ACCESS_DENIED;
    return ERROR_SUCCESS;
}

/* --- the process's named file-backed mappings ----------------------------------- */

static struct {
    pthread_mutex_t lock;
    struct mapping *head;
} live = {PTHREAD_MUTEX_INITIALIZER, NULL};

/* A thread calling fork() must not leave our locks held in the child:
 * both are taken around fork (live.lock first, the order everywhere). The
 * child keeps the parent's views, as Linux mappings survive fork. */
static void fork_prepare(void);
static void fork_done(void);
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static void fork_register(void)
{
    pthread_atfork(fork_prepare, fork_done, fork_done);
}
static void fork_safety(void)
{
    pthread_once(&fork_once, fork_register);
}

static void live_add(struct mapping *m)
{
    struct stat st;
    if (!m->obj.name || m->file_fd < 0 || fstat(m->obj.shared_fd, &st) != 0)
        return;
    m->state_dev = st.st_dev;
    m->state_ino = st.st_ino;
    fork_safety();
    pthread_mutex_lock(&live.lock);
    m->next_live = live.head;
    live.head = m;
    pthread_mutex_unlock(&live.lock);
}

static void live_remove(struct mapping *m)
{
    pthread_mutex_lock(&live.lock);
    for (struct mapping **p = &live.head; *p; p = &(*p)->next_live) {
        if (*p == m) {
            *p = m->next_live;
            break;
        }
    }
    pthread_mutex_unlock(&live.lock);
}

/* A descriptor of the file behind the named mapping whose object file is
 * `st`, if this process already has the mapping open; -1 otherwise. */
static int live_dup_file(const struct stat *st)
{
    int fd = -1;
    fork_safety();
    pthread_mutex_lock(&live.lock);
    for (struct mapping *m = live.head; m; m = m->next_live) {
        if (m->state_dev == st->st_dev && m->state_ino == st->st_ino) {
            fd = fcntl(m->file_fd, F_DUPFD_CLOEXEC, 0);
            break;
        }
    }
    pthread_mutex_unlock(&live.lock);
    return fd;
}

/* --- ops ------------------------------------------------------------------------- */

static void mapping_destroy(struct wi_object *obj)
{
    struct mapping *m = (struct mapping *)obj;
    if (m->file_fd >= 0) {
        live_remove(m);
        close(m->file_fd);
        m->file_fd = -1;
    }
}

/* Inheritance: the state page travels as wi_shared_export_fds sends it
 * (fds[0], named objects with their own flock), the mapped file as fds[1].
 * Blob: the shared blob's length (uint32), whether a file follows (uint32),
 * then the shared blob. */
static DWORD mapping_export_fds(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len)
{
    struct mapping *m = (struct mapping *)obj;
    unsigned char *b = blob;
    unsigned shared_len = 0;
    DWORD err = wi_shared_export_fds(obj, fds, nfds, b + 8, &shared_len);
    if (err)
        return err;
    uint32_t hdr[2] = {shared_len, m->file_fd >= 0};
    if (m->file_fd >= 0) {
        fds[1] = fcntl(m->file_fd, F_DUPFD_CLOEXEC, 0);
        if (fds[1] < 0) {
            err = wi_error_from_errno(errno);
            close(fds[0]);
            return err;
        }
        *nfds = 2;
    }
    memcpy(b, hdr, sizeof hdr);
    *blob_len = 8 + shared_len;
    return ERROR_SUCCESS;
}

static DWORD load_state(struct mapping *m);

static DWORD mapping_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len,
                            struct wi_object **out);

const struct wi_object_ops wi_mapping_ops = {
    .name = "Section",
    .type = WI_TYPE_MAPPING,
    .generic_map = {STANDARD_RIGHTS_READ | SECTION_QUERY | SECTION_MAP_READ, STANDARD_RIGHTS_WRITE | SECTION_MAP_WRITE,
                    STANDARD_RIGHTS_EXECUTE | SECTION_MAP_EXECUTE, SECTION_ALL_ACCESS},
    /* Sections are not waitable: a wait fails (ERROR_ACCESS_DENIED through a
     * CreateFileMapping handle, which lacks SYNCHRONIZE, else
     * ERROR_INVALID_HANDLE). */
    .waitable = wi_no_waitable,
    .try_satisfy = wi_no_try_satisfy,
    .wait_prepare = wi_no_wait_prepare,
    .consumable = false,
    .signal = wi_no_signal,
    /* ReadFile, WriteFile, FlushFileBuffers on a section: ERROR_INVALID_HANDLE. */
    .read = wi_no_read,
    .write = wi_no_write,
    .flush = wi_no_flush,
    .read_overlapped = wi_sync_read_overlapped,
    .write_overlapped = wi_sync_write_overlapped,
    .io_try = wi_no_io_try,
    .std_fd = wi_no_std_fd,
    .export_fds = mapping_export_fds,
    .import = mapping_import,
    .destroy = mapping_destroy,
};

static DWORD mapping_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len,
                            struct wi_object **out)
{
    const unsigned char *b = blob;
    uint32_t hdr[2];
    struct wi_object *obj;
    if (blob_len < 8)
        return ERROR_INVALID_PARAMETER;
    memcpy(hdr, b, sizeof hdr);
    if (hdr[0] != blob_len - 8 || nfds != 1u + (hdr[1] ? 1u : 0u))
        return ERROR_INVALID_PARAMETER;
    DWORD err = wi_shared_import(&wi_mapping_ops, sizeof(struct mapping), fds, 1, b + 8, hdr[0], &obj);
    if (err)
        return err;
    struct mapping *m = (struct mapping *)obj;
    m->file_fd = -1;
    err = load_state(m);
    if (!err && (hdr[1] != 0) != (m->attributes == SEC_FILE))
        err = ERROR_INVALID_HANDLE;
    if (err) {
        /* The caller keeps ownership of every fd on failure. */
        obj->shared_fd = -1;
        free(obj->name);
        obj->name = NULL;
        munmap(obj->shared, obj->shared_size);
        obj->shared = NULL;
        free(obj);
        return err;
    }
    if (hdr[1]) {
        m->file_fd = fds[1];
        live_add(m);
    }
    *out = obj;
    return ERROR_SUCCESS;
}

/* --- creation ---------------------------------------------------------------------- */

struct mapping_init {
    DWORD protect, attributes;
    uint64_t size;
    const struct stat *file; /* SEC_FILE */
    const char *path;        /* SEC_FILE, may be "" */
};

static void mapping_init(struct wi_object *obj, void *arg)
{
    struct mapping_init *in = arg;
    struct mapping_shared *s = state(obj);
    s->magic = MAPPING_MAGIC;
    s->version = MAPPING_VERSION;
    s->size = in->size;
    s->protect = in->protect;
    s->attributes = in->attributes;
    if (in->file) {
        s->file_dev = (uint64_t)in->file->st_dev;
        s->file_ino = (uint64_t)in->file->st_ino;
        size_t n = strlen(in->path);
        if (n >= sizeof s->path)
            n = 0; /* too long to record: other processes cannot reopen it */
        memcpy(s->path, in->path, n);
        s->path[n] = 0;
    }
}

/* Check the state page (found through a name, or inherited) and take this
 * object's copy of it. Read each shared field once: another process may
 * write the page while we look. */
static DWORD load_state(struct mapping *m)
{
    struct mapping_shared *s = state(&m->obj);
    struct stat st;
    if (m->obj.shared_size < STATE_SIZE || s->magic != MAPPING_MAGIC || s->version != MAPPING_VERSION)
        return ERROR_INVALID_HANDLE;
    uint64_t size = s->size;
    DWORD protect = s->protect, attributes = s->attributes;
    if (!protect_is_section(protect) || size == 0 || size > (uint64_t)INT64_MAX - 2 * DATA_OFFSET)
        return ERROR_INVALID_HANDLE;
    if (attributes != SEC_FILE) {
        if (attributes != SEC_COMMIT && attributes != SEC_RESERVE)
            return ERROR_INVALID_HANDLE;
        if (fstat(m->obj.shared_fd, &st) != 0 || (uint64_t)st.st_size < DATA_OFFSET + size)
            return ERROR_INVALID_HANDLE;
    }
    m->size = size;
    m->protect = protect;
    m->attributes = attributes;
    return ERROR_SUCCESS;
}

DWORD wi_mapping_section_size(int fd, uint64_t *size)
{
    struct mapping_shared s;
    if (pread(fd, &s, offsetof(struct mapping_shared, path), 0) != (ssize_t)offsetof(struct mapping_shared, path) ||
        s.hdr.type != WI_TYPE_MAPPING || s.magic != MAPPING_MAGIC || s.version != MAPPING_VERSION)
        return ERROR_INVALID_HANDLE;
    *size = s.size;
    return ERROR_SUCCESS;
}

/* The file rights a section protection needs (CreateFileMapping docs:
 * PAGE_READWRITE needs GENERIC_READ and GENERIC_WRITE, the EXECUTE
 * protections GENERIC_EXECUTE as well). File handles carry either the
 * generic bits or the specific FILE_* rights. */
static bool file_access_allows(DWORD access, DWORD protect)
{
    bool r = access & (FILE_READ_DATA | GENERIC_READ | GENERIC_ALL);
    bool w = access & (FILE_WRITE_DATA | GENERIC_WRITE | GENERIC_ALL);
    bool x = access & (FILE_EXECUTE | GENERIC_EXECUTE | GENERIC_ALL);
    if (!r || (protect_allows_write(protect) && !w) || (protect_allows_exec(protect) && !x))
        return false;
    return true;
}

static bool fd_allows(int fd, DWORD protect)
{
    int mode = fcntl(fd, F_GETFL);
    if (mode < 0)
        return false;
    mode &= O_ACCMODE;
    return protect_allows_write(protect) ? mode == O_RDWR : mode == O_RDONLY || mode == O_RDWR;
}

/* Size a file-backed section (NtCreateSection's rules): 0 means the file's
 * size, and an empty file cannot be mapped (ERROR_FILE_INVALID); a larger
 * size grows the file when the section is writable and fails otherwise
 * (STATUS_SECTION_TOO_BIG, ERROR_NOT_ENOUGH_MEMORY). */
static DWORD size_file_section(int fd, DWORD protect, uint64_t *size, struct stat *st)
{
    if (fstat(fd, st) != 0)
        return wi_error_from_errno(errno);
    /* STATUS_INVALID_FILE_FOR_SECTION, which Windows reports as
     * ERROR_BAD_EXE_FORMAT: only regular files can be mapped. */
    if (!S_ISREG(st->st_mode))
        return ERROR_BAD_EXE_FORMAT;
    if (*size == 0) {
        if (st->st_size == 0)
            return ERROR_FILE_INVALID;
        *size = (uint64_t)st->st_size;
        return ERROR_SUCCESS;
    }
    if (*size <= (uint64_t)st->st_size)
        return ERROR_SUCCESS;
    if (!protect_allows_write(protect) || *size > (uint64_t)INT64_MAX - 2 * DATA_OFFSET)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (ftruncate(fd, (off_t)*size) != 0)
        return wi_error_from_errno(errno);
    st->st_size = (off_t)*size;
    return ERROR_SUCCESS;
}

/* The absolute path of an open file, "" if it has none (deleted, or not
 * reachable by a path). */
static void file_path(int fd, const struct stat *st, char *out, size_t size)
{
    char link[64];
    out[0] = 0;
    if (st->st_nlink == 0)
        return;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, size - 1);
    if (n <= 0 || out[0] != '/') {
        out[0] = 0;
        return;
    }
    out[n] = 0;
}

/* Give a file-backed object `m` (opened by name, state page mapped) its own
 * descriptor of the file: this process's existing one, the caller's
 * (`hint_fd`, when it is the same file with enough access), or the file
 * reopened by its recorded path. A file deleted or replaced since cannot be
 * found from another process: ERROR_FILE_NOT_FOUND (docs/mappings.md). */
static DWORD attach_file(struct mapping *m, int hint_fd)
{
    struct mapping_shared *s = state(&m->obj);
    uint64_t dev = s->file_dev, ino = s->file_ino;
    char path[sizeof s->path];
    struct stat st;
    int fd = -1;

    memcpy(path, s->path, sizeof path);
    path[sizeof path - 1] = 0;
    if (fstat(m->obj.shared_fd, &st) == 0)
        fd = live_dup_file(&st);
    if (fd < 0 && hint_fd >= 0 && fstat(hint_fd, &st) == 0 && (uint64_t)st.st_dev == dev &&
        (uint64_t)st.st_ino == ino && fd_allows(hint_fd, m->protect))
        fd = fcntl(hint_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0 && path[0]) {
        /* Non-blocking and no symlink: whatever the path names now must not
         * hang us (a FIFO) or lead elsewhere; it must be the same file. */
        int flags = (protect_allows_write(m->protect) ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
                    O_NONBLOCK;
        fd = open(path, flags);
        if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != dev ||
                        (uint64_t)st.st_ino != ino)) {
            close(fd);
            fd = -1;
            errno = ENOENT;
        }
        if (fd < 0 && errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
            return wi_error_from_errno(errno);
    }
    if (fd < 0)
        return ERROR_FILE_NOT_FOUND;
    m->file_fd = fd;
    live_add(m);
    return ERROR_SUCCESS;
}

/* A new file-backed object keeps its own descriptor of the caller's file. */
static DWORD adopt_file(struct mapping *m, int fd)
{
    m->file_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (m->file_fd < 0)
        return wi_error_from_errno(errno);
    live_add(m);
    return ERROR_SUCCESS;
}

static struct mapping *mapping_alloc(void)
{
    struct mapping *m = wi_object_alloc(&wi_mapping_ops, sizeof *m);
    if (m)
        m->file_fd = -1;
    return m;
}

/* Check flProtect: one section protection, optionally with SEC_COMMIT or
 * SEC_RESERVE. */
static DWORD parse_protect(DWORD fl, DWORD *protect, DWORD *attributes)
{
    DWORD sec = fl & 0xFFFFF000u, page = fl & 0xFFFu;
    if (sec & SEC_UNSUPPORTED)
        return ERROR_NOT_SUPPORTED;
    if (sec & ~(DWORD)(SEC_COMMIT | SEC_RESERVE))
        return ERROR_INVALID_PARAMETER;
    if ((sec & SEC_COMMIT) && (sec & SEC_RESERVE))
        return ERROR_INVALID_PARAMETER;
    /* PAGE_NOACCESS, PAGE_EXECUTE and the modifiers (PAGE_GUARD,
     * PAGE_NOCACHE, PAGE_WRITECOMBINE) are not section protections. */
    if (!protect_is_section(page))
        return ERROR_INVALID_PARAMETER;
    *protect = page;
    *attributes = (sec & SEC_RESERVE) ? SEC_RESERVE : SEC_COMMIT;
    return ERROR_SUCCESS;
}

/* The rights of a CreateFileMapping handle follow the protection the call
 * asked for, also when it opened an existing section (Windows: a
 * PAGE_READONLY call on a read-write section gives a handle that cannot map
 * a write view). */
static DWORD create_access(DWORD protect)
{
    DWORD access = STANDARD_RIGHTS_REQUIRED | SECTION_QUERY | SECTION_MAP_READ;
    if (protect_allows_write(protect))
        access |= SECTION_MAP_WRITE;
    if (protect_allows_exec(protect))
        access |= SECTION_MAP_EXECUTE;
    return access;
}

static DWORD open_by_name(struct mapping *m, const char *name, uint64_t file_size, bool create, bool world,
                          bool *existed, struct mapping_init *in)
{
    enum wi_ns ns;
    const char *rest;
    DWORD err = wi_namespace_parse_kernel(name, &ns, &rest);
    if (err)
        return err;
    return wi_namespace_open(&m->obj, ns, rest, STATE_SIZE, file_size, create, world, existed,
                             create ? mapping_init : NULL, in);
}

static HANDLE create_mapping(HANDLE file, LPSECURITY_ATTRIBUTES sa, DWORD fl_protect, DWORD size_high,
                             DWORD size_low, const char *name)
{
    struct mapping_init in = {0};
    struct wi_pin file_pin = {0};
    struct mapping *m = NULL;
    struct stat st;
    char path[sizeof(((struct mapping_shared *)0)->path)];
    bool existed = false, world = false;
    /* Windows passes NULL on to NtCreateSection as "no file" just like
     * INVALID_HANDLE_VALUE: both make a pagefile-backed section. */
    bool file_backed = file != INVALID_HANDLE_VALUE && file != NULL;
    int fd = -1;
    DWORD err, flags = 0;
    HANDLE h = NULL;

    in.size = ((uint64_t)size_high << 32) | size_low;
    err = parse_protect(fl_protect, &in.protect, &in.attributes);
    if (!err)
        err = wi_sa_parse_for(sa, &wi_mapping_ops, &flags, &world);
    if (err)
        return wi_fail_null(err);

    if (!file_backed) {
        /* A pagefile-backed section needs a size; it is rounded up to whole
         * pages (a view may cover the last page entirely). */
        if (in.size == 0)
            return wi_fail_null(ERROR_INVALID_PARAMETER);
        if (in.size > (uint64_t)INT64_MAX - 2 * DATA_OFFSET)
            return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
        in.size = round_up(in.size, page_size());
    } else {
        err = wi_handle_get(file, WI_TYPE_FILE, 0, &file_pin);
        if (err)
            return wi_fail_null(ERROR_INVALID_HANDLE);
        /* SEC_RESERVE means nothing for a file's pages: Windows accepts and
         * ignores it there, and programs pass it (docs/mappings.md). */
        if (!file_access_allows(file_pin.access, in.protect))
            err = ERROR_ACCESS_DENIED;
        else if ((fd = file_pin.obj->ops->std_fd(file_pin.obj)) < 0)
            err = ERROR_INVALID_HANDLE;
        if (!err)
            err = size_file_section(fd, in.protect, &in.size, &st);
        if (err) {
            wi_handle_put(&file_pin);
            return wi_fail_null(err);
        }
        in.attributes = SEC_FILE;
        in.file = &st;
        file_path(fd, &st, path, sizeof path);
        in.path = path;
    }

    m = mapping_alloc();
    if (!m) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto out;
    }
    uint64_t file_size = file_backed ? STATE_SIZE : DATA_OFFSET + in.size;
    if (name && *name) {
        err = open_by_name(m, name, file_size, true, world, &existed, &in);
        if (!err)
            err = load_state(m);
        /* An existing file-backed section is reached through its own file,
         * whatever file the caller passed. */
        if (!err && existed && m->attributes == SEC_FILE)
            err = attach_file(m, fd);
        else if (!err && !existed && file_backed)
            err = adopt_file(m, fd);
    } else {
        err = wi_object_create_unnamed_sized(&m->obj, STATE_SIZE, file_size);
        if (!err) {
            mapping_init(&m->obj, &in);
            err = load_state(m);
        }
        if (!err && file_backed)
            err = adopt_file(m, fd);
    }
    if (!err)
        err = wi_handle_insert(&m->obj, create_access(in.protect), flags, &h);
out:
    if (file_backed)
        wi_handle_put(&file_pin);
    if (err) {
        if (m)
            wi_object_release(&m->obj);
        return wi_fail_null(err);
    }
    /* An existing name: its section is returned as it is (size and
     * protection ignored), with ERROR_ALREADY_EXISTS; a new one clears the
     * last error. */
    wi_set_last_error(existed ? ERROR_ALREADY_EXISTS : ERROR_SUCCESS);
    return h;
}

static HANDLE open_mapping(DWORD access, BOOL inherit, const char *name)
{
    struct mapping *m;
    bool existed;
    DWORD err;
    HANDLE h = NULL;

    if (!name)
        return wi_fail_null(ERROR_INVALID_PARAMETER);
    /* OpenFileMapping turns FILE_MAP_COPY (== SECTION_QUERY) into the right
     * a copy-on-write view needs. */
    if (access == FILE_MAP_COPY)
        access = SECTION_MAP_READ;
    m = mapping_alloc();
    if (!m)
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    err = open_by_name(m, name, STATE_SIZE, false, false, &existed, NULL);
    if (!err)
        err = load_state(m);
    if (!err && m->attributes == SEC_FILE)
        err = attach_file(m, -1);
    if (!err)
        err = wi_handle_insert(&m->obj, wi_handle_map_access(&wi_mapping_ops, access),
                               inherit ? HANDLE_FLAG_INHERIT : 0, &h);
    if (err) {
        wi_object_release(&m->obj);
        return wi_fail_null(err);
    }
    return h;
}

/* --- views --------------------------------------------------------------------------- */

struct view {
    char *base;
    size_t len;     /* mapped bytes, whole pages */
    DWORD protect;  /* PAGE_* of the view */
    bool writeback; /* a shared view of a file: FlushViewOfFile writes it back */
    bool file_backed; /* a view of a file's section (virtual_memory.c asks) */
};

static struct {
    pthread_mutex_t lock;
    struct view *v; /* sorted by base; views never overlap */
    size_t count, cap;
} view_table = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

static void views_lock(void)
{
    fork_safety();
    pthread_mutex_lock(&view_table.lock);
}
static void views_unlock(void)
{
    pthread_mutex_unlock(&view_table.lock);
}

/* The view-table lock is the address-space lock virtual_memory.c shares
 * (virtual_memory.h). */
void wi_address_space_lock(void)
{
    views_lock();
}
void wi_address_space_unlock(void)
{
    views_unlock();
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&live.lock);
    pthread_mutex_lock(&view_table.lock);
}

static void fork_done(void)
{
    pthread_mutex_unlock(&view_table.lock);
    pthread_mutex_unlock(&live.lock);
}

/* Index of the first view whose base is > addr. Lock held. */
static size_t views_upper(uintptr_t addr)
{
    size_t lo = 0, hi = view_table.count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((uintptr_t)view_table.v[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The view containing addr, or NULL. Lock held. */
static struct view *views_find(uintptr_t addr)
{
    size_t i = views_upper(addr);
    if (i == 0)
        return NULL;
    struct view *v = &view_table.v[i - 1];
    return addr - (uintptr_t)v->base < v->len ? v : NULL;
}

/* For virtual_memory.c (VirtualProtect, VirtualAlloc, VirtualFree on views);
 * lock held. */
bool wi_view_lookup(uintptr_t addr, struct wi_view_info *out)
{
    struct view *v = views_find(addr);
    if (!v)
        return false;
    *out = (struct wi_view_info){v->base, v->len, v->protect, v->file_backed};
    return true;
}

static DWORD views_insert(const struct view *nv)
{
    if (view_table.count == view_table.cap) {
        size_t cap = view_table.cap ? view_table.cap * 2 : 16;
        struct view *p = realloc(view_table.v, cap * sizeof *p);
        if (!p)
            return ERROR_NOT_ENOUGH_MEMORY;
        view_table.v = p;
        view_table.cap = cap;
    }
    size_t i = views_upper((uintptr_t)nv->base);
    memmove(&view_table.v[i + 1], &view_table.v[i], (view_table.count - i) * sizeof *nv);
    view_table.v[i] = *nv;
    view_table.count++;
    return ERROR_SUCCESS;
}

static void views_remove(struct view *v)
{
    size_t i = (size_t)(v - view_table.v);
    memmove(v, v + 1, (view_table.count - i - 1) * sizeof *v);
    view_table.count--;
}

/* Map `len` bytes of `fd` at `off`. Windows places views at multiples of the
 * allocation granularity: without a wanted address we reserve enough address
 * space to find an aligned start, map over it and give the slack back. With
 * one, the range must be free (ERROR_INVALID_ADDRESS otherwise). */
static DWORD map_view(int fd, uint64_t off, size_t len, int prot, int flags, void *want, void **out)
{
    if (want) {
        void *p = mmap(want, len, prot, flags | MAP_FIXED_NOREPLACE, fd, (off_t)off);
        if (p == MAP_FAILED)
            return errno == EEXIST || errno == ENOMEM || errno == EINVAL ? ERROR_INVALID_ADDRESS
                                                                         : wi_error_from_errno(errno);
        if (p != want) { /* a kernel older than 4.17 took the address as a hint */
            munmap(p, len);
            return ERROR_INVALID_ADDRESS;
        }
        *out = p;
        return ERROR_SUCCESS;
    }
    size_t span = len + GRANULARITY - page_size();
    if (span < len)
        return ERROR_NOT_ENOUGH_MEMORY;
    char *r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
        return ERROR_NOT_ENOUGH_MEMORY;
    char *a = (char *)round_up((uintptr_t)r, GRANULARITY);
    if (mmap(a, len, prot, flags | MAP_FIXED, fd, (off_t)off) == MAP_FAILED) {
        DWORD err = wi_error_from_errno(errno);
        munmap(r, span);
        return err;
    }
    if (a > r)
        munmap(r, (size_t)(a - r));
    if (r + span > a + len)
        munmap(a + len, (size_t)(r + span - (a + len)));
    *out = a;
    return ERROR_SUCCESS;
}

static DWORD map_view_of(HANDLE h, DWORD access, uint64_t offset, SIZE_T bytes, void *want, void **out)
{
    struct view_req req;
    struct wi_pin pin;
    DWORD err = parse_view_access(access, &req);
    if (err)
        return err;
    err = wi_handle_get(h, WI_TYPE_MAPPING, 0, &pin);
    if (err)
        return err;
    struct mapping *m = (struct mapping *)pin.obj;
    uint64_t size = m->size;

    err = view_check(&req, pin.access, m->protect);
    if (!err && (offset % GRANULARITY || (uintptr_t)want % GRANULARITY))
        err = ERROR_MAPPED_ALIGNMENT;
    /* Wine measured: an offset at or past the end is an invalid parameter,
     * a view reaching past the end STATUS_INVALID_VIEW_SIZE, which Windows
     * reports as ERROR_ACCESS_DENIED. */
    if (!err && offset >= size)
        err = ERROR_INVALID_PARAMETER;
    if (!err && bytes > size - offset)
        err = ERROR_ACCESS_DENIED;
    if (err) {
        wi_handle_put(&pin);
        return err;
    }
    uint64_t len64 = round_up(bytes ? bytes : size - offset, page_size());
    if (len64 > SIZE_MAX - GRANULARITY) {
        wi_handle_put(&pin);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    bool file_backed = m->attributes == SEC_FILE;
    struct view v = {
        .len = (size_t)len64,
        .protect = req.protect,
        .writeback = file_backed && req.flags == MAP_SHARED && req.write,
        .file_backed = file_backed,
    };
    int fd = file_backed ? m->file_fd : pin.obj->shared_fd;
    uint64_t file_off = file_backed ? offset : DATA_OFFSET + offset;

    views_lock();
    err = map_view(fd, file_off, v.len, req.prot, req.flags, want, (void **)&v.base);
    if (!err) {
        err = views_insert(&v);
        if (err)
            munmap(v.base, v.len);
    }
    views_unlock();
    wi_handle_put(&pin);
    if (!err)
        *out = v.base;
    return err;
}

/* Windows unmaps the view containing the address, not only at its base. */
static DWORD unmap_view(const void *addr)
{
    DWORD err = ERROR_INVALID_ADDRESS;
    views_lock();
    struct view *v = views_find((uintptr_t)addr);
    if (v) {
        wi_virtual_view_unmapped(v->base, v->len);
        munmap(v->base, v->len);
        views_remove(v);
        err = ERROR_SUCCESS;
    }
    views_unlock();
    return err;
}

static DWORD flush_view(const void *addr, SIZE_T bytes)
{
    DWORD err = ERROR_SUCCESS;
    uintptr_t a = (uintptr_t)addr;
    views_lock();
    struct view *v = views_find(a);
    if (!v) {
        err = ERROR_INVALID_ADDRESS;
    } else {
        uintptr_t end = (uintptr_t)v->base + v->len;
        if (bytes > end - a) {
            err = ERROR_INVALID_PARAMETER;
        } else if (v->writeback) {
            /* Pagefile-backed and copy-on-write views have nothing to write
             * back: Windows succeeds without doing anything. */
            uintptr_t start = a & ~(uintptr_t)(page_size() - 1);
            uintptr_t stop = bytes ? a + bytes : end;
            if (msync((void *)start, stop - start, MS_SYNC) != 0)
                err = wi_error_from_errno(errno);
        }
    }
    views_unlock();
    return err;
}

/* --- VirtualQuery -------------------------------------------------------------------- */

/* The top of user space as GetSystemInfo reports it (Windows'). Linux may
 * map a little above it (the stack without ASLR): what is mapped is
 * reported wherever it is; free space above this is out of range. */
#if UINTPTR_MAX > 0xFFFFFFFFu
#define MAX_APP_ADDRESS ((uintptr_t)0x7FFFFFFEFFFFull)
#else
#define MAX_APP_ADDRESS ((uintptr_t)0xFFFEFFFFu)
#endif

/* A region of the address space as /proc/self/maps shows it. */
struct region {
    uintptr_t start, end;
    char perms[5];
    bool file;
};

/* Find the region containing `addr`, or the gap before the next one
 * (*found false, next->start the end of the gap, 0 if none). */
static DWORD find_region(uintptr_t addr, struct region *r, bool *found)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[4096 + 128];
    *found = false;
    r->start = r->end = 0;
    if (!f)
        return wi_error_from_errno(errno);
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end, inode;
        char perms[5];
        unsigned long long off;
        char dev[16];
        size_t n = strlen(line);
        bool whole = n && line[n - 1] == '\n';
        if (sscanf(line, "%lx-%lx %4s %llx %15s %lu", &start, &end, perms, &off, dev, &inode) == 6) {
            if (addr < end) {
                r->start = start;
                r->end = end;
                memcpy(r->perms, perms, sizeof perms);
                r->file = inode != 0;
                *found = addr >= start;
                break;
            }
        }
        /* Skip the rest of an over-long line. */
        while (!whole && fgets(line, sizeof line, f)) {
            n = strlen(line);
            whole = n && line[n - 1] == '\n';
        }
    }
    fclose(f);
    return ERROR_SUCCESS;
}

static DWORD protect_from_perms(const char *p)
{
    bool r = p[0] == 'r', w = p[1] == 'w', x = p[2] == 'x', priv = p[3] == 'p';
    if (!r && !w && !x)
        return PAGE_NOACCESS;
    if (x)
        return w ? PAGE_EXECUTE_READWRITE : PAGE_EXECUTE_READ;
    if (w)
        return PAGE_READWRITE;
    (void)priv;
    return PAGE_READONLY;
}

static DWORD query(const void *addr, MEMORY_BASIC_INFORMATION *mbi)
{
    uintptr_t a = (uintptr_t)addr & ~(uintptr_t)(page_size() - 1);
    memset(mbi, 0, sizeof *mbi);
    mbi->BaseAddress = (void *)a;

    views_lock();
    /* VirtualAlloc memory, and views whose protections VirtualProtect
     * changed, are described by virtual_memory.c. */
    if (wi_virtual_query_private((const void *)a, mbi)) {
        views_unlock();
        return ERROR_SUCCESS;
    }
    struct view *v = views_find(a);
    if (v) {
        mbi->AllocationBase = v->base;
        mbi->AllocationProtect = v->protect;
        mbi->RegionSize = (SIZE_T)((uintptr_t)v->base + v->len - a);
        mbi->State = MEM_COMMIT;
        mbi->Protect = v->protect;
        mbi->Type = MEM_MAPPED;
        views_unlock();
        return ERROR_SUCCESS;
    }
    views_unlock();

    struct region r;
    bool found;
    DWORD err = find_region(a, &r, &found);
    if (err)
        return err;
    if (!found) {
        if (a > MAX_APP_ADDRESS)
            return ERROR_INVALID_PARAMETER;
        /* Free: up to the next region or the top of the address space. */
        uintptr_t next = r.start ? r.start : MAX_APP_ADDRESS + 1;
        mbi->RegionSize = (SIZE_T)(next - a);
        mbi->State = MEM_FREE;
        mbi->Protect = PAGE_NOACCESS;
        return ERROR_SUCCESS;
    }
    DWORD prot = protect_from_perms(r.perms);
    bool shared = r.perms[3] == 's';
    mbi->AllocationBase = (void *)r.start;
    mbi->RegionSize = (SIZE_T)(r.end - a);
    mbi->Type = r.file ? (shared ? MEM_MAPPED : MEM_IMAGE) : MEM_PRIVATE;
    if (prot == PAGE_NOACCESS && !r.file) {
        /* An inaccessible anonymous range is address space held in reserve
         * (guard pages, reservations): Windows' MEM_RESERVE. */
        mbi->AllocationProtect = PAGE_NOACCESS;
        mbi->State = MEM_RESERVE;
        mbi->Protect = 0;
    } else {
        if (r.file && !shared && prot == PAGE_READWRITE)
            prot = PAGE_WRITECOPY; /* private writable file pages: copy-on-write */
        else if (r.file && !shared && prot == PAGE_EXECUTE_READWRITE)
            prot = PAGE_EXECUTE_WRITECOPY;
        mbi->AllocationProtect = prot;
        mbi->State = MEM_COMMIT;
        mbi->Protect = prot;
    }
    return ERROR_SUCCESS;
}

/* --- Win32 entry points ------------------------------------------------------------ */

WINBASEAPI HANDLE WINAPI CreateFileMappingA(HANDLE hFile, LPSECURITY_ATTRIBUTES lpFileMappingAttributes, DWORD flProtect,
                                            DWORD dwMaximumSizeHigh, DWORD dwMaximumSizeLow, LPCSTR lpName)
{
    return create_mapping(hFile, lpFileMappingAttributes, flProtect, dwMaximumSizeHigh, dwMaximumSizeLow, lpName);
}

WINBASEAPI HANDLE WINAPI CreateFileMappingW(HANDLE hFile, LPSECURITY_ATTRIBUTES lpFileMappingAttributes, DWORD flProtect,
                                            DWORD dwMaximumSizeHigh, DWORD dwMaximumSizeLow, LPCWSTR lpName)
{
    WI_UTF8_ARG(name, lpName);
    if (WI_UTF8_FAILED(name, lpName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = create_mapping(hFile, lpFileMappingAttributes, flProtect, dwMaximumSizeHigh, dwMaximumSizeLow, name);
    WI_UTF8_FREE(name);
    return h;
}

/* The -fshort-wchar entry points (memoryapi.h maps the W names onto these). */
static char *utf8_from_utf16(const uint16_t *s)
{
    wchar_t *w = wi_wide_from_utf16(s);
    char *u = w ? wi_utf8_from_wide(w) : NULL;
    free(w);
    return u;
}

WINBASEAPI HANDLE WINAPI CreateFileMappingW16(HANDLE hFile, LPSECURITY_ATTRIBUTES lpFileMappingAttributes,
                                              DWORD flProtect, DWORD dwMaximumSizeHigh, DWORD dwMaximumSizeLow,
                                              const uint16_t *lpName)
{
    char *name = lpName ? utf8_from_utf16(lpName) : NULL;
    if (lpName && !name)
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = create_mapping(hFile, lpFileMappingAttributes, flProtect, dwMaximumSizeHigh, dwMaximumSizeLow, name);
    free(name);
    return h;
}

WINBASEAPI HANDLE WINAPI OpenFileMappingA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpName)
{
    return open_mapping(dwDesiredAccess, bInheritHandle, lpName);
}

WINBASEAPI HANDLE WINAPI OpenFileMappingW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName)
{
    WI_UTF8_ARG(name, lpName);
    if (WI_UTF8_FAILED(name, lpName))
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = open_mapping(dwDesiredAccess, bInheritHandle, name);
    WI_UTF8_FREE(name);
    return h;
}

WINBASEAPI HANDLE WINAPI OpenFileMappingW16(DWORD dwDesiredAccess, BOOL bInheritHandle, const uint16_t *lpName)
{
    char *name = lpName ? utf8_from_utf16(lpName) : NULL;
    if (lpName && !name)
        return wi_fail_null(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = open_mapping(dwDesiredAccess, bInheritHandle, name);
    free(name);
    return h;
}

WINBASEAPI LPVOID WINAPI MapViewOfFileEx(HANDLE hFileMappingObject, DWORD dwDesiredAccess, DWORD dwFileOffsetHigh,
                                         DWORD dwFileOffsetLow, SIZE_T dwNumberOfBytesToMap, LPVOID lpBaseAddress)
{
    void *p = NULL;
    uint64_t offset = ((uint64_t)dwFileOffsetHigh << 32) | dwFileOffsetLow;
    DWORD err = map_view_of(hFileMappingObject, dwDesiredAccess, offset, dwNumberOfBytesToMap, lpBaseAddress, &p);
    if (err)
        return wi_fail_null(err);
    return p;
}

WINBASEAPI LPVOID WINAPI MapViewOfFile(HANDLE hFileMappingObject, DWORD dwDesiredAccess, DWORD dwFileOffsetHigh,
                                       DWORD dwFileOffsetLow, SIZE_T dwNumberOfBytesToMap)
{
    return MapViewOfFileEx(hFileMappingObject, dwDesiredAccess, dwFileOffsetHigh, dwFileOffsetLow,
                           dwNumberOfBytesToMap, NULL);
}

WINBASEAPI BOOL WINAPI UnmapViewOfFile(LPCVOID lpBaseAddress)
{
    return wi_result_bool(unmap_view(lpBaseAddress));
}

WINBASEAPI BOOL WINAPI FlushViewOfFile(LPCVOID lpBaseAddress, SIZE_T dwNumberOfBytesToFlush)
{
    return wi_result_bool(flush_view(lpBaseAddress, dwNumberOfBytesToFlush));
}

WINBASEAPI SIZE_T WINAPI VirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength)
{
    MEMORY_BASIC_INFORMATION mbi;
    if (dwLength < sizeof mbi) {
        wi_set_last_error(ERROR_BAD_LENGTH);
        return 0;
    }
    if (!lpBuffer) {
        wi_set_last_error(ERROR_NOACCESS);
        return 0;
    }
    DWORD err = query(lpAddress, &mbi);
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    *lpBuffer = mbi;
    return sizeof mbi;
}
