/* SPDX-License-Identifier: MIT */
/* Files: CreateFile on local paths, the file object type, file pointer and
 * size calls, DeleteFile, and the standard handles.
 *
 * A file object owns one Linux fd. Each CreateFile opens a new open file
 * description (OFD): like a Windows file object it carries the file pointer
 * and the share access (file_share.c), and handles duplicated or inherited
 * from it share both. Transfers go through fdio.c.
 *
 * Locking: `lock` of a disk file orders every transfer and pointer move on
 * the object, as Windows serialises I/O on a file object opened for
 * synchronous I/O (positional reads there also move the pointer, which
 * must not interleave with another thread's seek). Pipes, sockets and ttys
 * are not locked: a blocked read there must not hold up anything else.
 *
 * fork(): a child must not inherit a lock held by a thread that does not
 * exist in it. Disk file objects are kept on `disk_files`; fork handlers take
 * the standard-handle lock, the list lock and every disk file's lock
 * (waiting for transfers in flight, which are bounded) and release them on
 * both sides. Lock order: std_slots.lock, disk_files.lock, file->lock. */
#include "file.h"

#include "error.h"
#include "fdio.h"
#include "file_share.h"
#include "handle.h"
#include "mailslot.h"
#include "named_pipe.h"
#include "security.h"
#include "unicode.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct file {
    struct wi_object obj; /* must be first */
    int fd;
    enum wi_fd_kind kind;
    bool overlapped;      /* FILE_FLAG_OVERLAPPED: disk transfers need an OVERLAPPED */
    bool delete_on_close; /* unlink `path` when this object goes */
    char *path;           /* absolute path, kept for delete_on_close only */
    pthread_mutex_t lock; /* disk files: see the top of the file */
    struct file *prev, *next; /* disk_files links, under disk_files.lock */
};

static struct {
    pthread_mutex_t lock;
    struct file *head;
} disk_files = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The three standard-handle slots (see GetStdHandle). */
static struct {
    pthread_mutex_t lock;
    bool set[3];
    HANDLE h[3];
} std_slots = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void fork_prepare(void)
{
    pthread_mutex_lock(&std_slots.lock);
    pthread_mutex_lock(&disk_files.lock);
    for (struct file *f = disk_files.head; f; f = f->next)
        pthread_mutex_lock(&f->lock);
}

static void fork_release(void)
{
    for (struct file *f = disk_files.head; f; f = f->next)
        pthread_mutex_unlock(&f->lock);
    pthread_mutex_unlock(&disk_files.lock);
    pthread_mutex_unlock(&std_slots.lock);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void register_atfork(void)
{
    pthread_atfork(fork_prepare, fork_release, fork_release);
}

static struct file *file_of(struct wi_object *obj)
{
    return (struct file *)obj;
}

static bool is_disk(const struct file *f)
{
    return f->kind == WI_FD_DISK;
}

static void file_lock(struct file *f)
{
    if (is_disk(f))
        pthread_mutex_lock(&f->lock);
}

static void file_unlock(struct file *f)
{
    if (is_disk(f))
        pthread_mutex_unlock(&f->lock);
}

/* --- Operations ---------------------------------------------------------------- */

static DWORD file_read(struct wi_object *obj, void *buf, DWORD len, DWORD *done)
{
    struct file *f = file_of(obj);
    *done = 0;
    /* A file opened for overlapped I/O has no file pointer to read at:
     * Windows rejects the request without an OVERLAPPED. */
    if (f->overlapped && is_disk(f))
        return ERROR_INVALID_PARAMETER;
    file_lock(f);
    DWORD err = wi_fd_read(f->fd, f->kind, buf, len, done);
    file_unlock(f);
    return err;
}

static DWORD file_write(struct wi_object *obj, const void *buf, DWORD len, DWORD *done)
{
    struct file *f = file_of(obj);
    *done = 0;
    if (f->overlapped && is_disk(f))
        return ERROR_INVALID_PARAMETER;
    file_lock(f);
    DWORD err = wi_fd_write(f->fd, f->kind, buf, len, done);
    file_unlock(f);
    return err;
}

/* OVERLAPPED offsets with a meaning of their own (as LARGE_INTEGERs). */
#define OFFSET_END_OF_FILE UINT64_C(0xFFFFFFFFFFFFFFFF)   /* WriteFile: append */
#define OFFSET_FILE_POINTER UINT64_C(0xFFFFFFFFFFFFFFFE) /* use the file pointer */

static uint64_t ov_offset(const OVERLAPPED *ov)
{
    return (uint64_t)ov->Offset | ((uint64_t)ov->OffsetHigh << 32);
}

/* After a positional transfer on a handle opened for synchronous I/O,
 * Windows leaves the file pointer just past the transferred bytes. */
static void move_pointer_after(struct file *f, uint64_t end)
{
    if (!f->overlapped)
        lseek(f->fd, (off_t)end, SEEK_SET);
}

/* Overlapped requests on files complete at once: a positional transfer at
 * the OVERLAPPED's offset (Windows may complete any request synchronously;
 * the caller sees TRUE and a completed OVERLAPPED). Streams ignore the
 * offset, as on Windows. */
static DWORD file_read_overlapped(struct wi_object *obj, void *buf, DWORD len, OVERLAPPED *ov, DWORD *done)
{
    struct file *f = file_of(obj);
    uint64_t off = ov_offset(ov);
    DWORD err;

    *done = 0;
    if (!is_disk(f))
        return wi_fd_read(f->fd, f->kind, buf, len, done);
    file_lock(f);
    if (off == OFFSET_FILE_POINTER && !f->overlapped) {
        off_t cur = lseek(f->fd, 0, SEEK_CUR);
        off = cur < 0 ? OFFSET_END_OF_FILE : (uint64_t)cur;
    }
    if (off > (uint64_t)INT64_MAX) {
        err = ERROR_INVALID_PARAMETER;
    } else {
        err = wi_fd_pread(f->fd, buf, len, off, done);
        if (!err)
            move_pointer_after(f, off + *done);
        /* With an OVERLAPPED, a read starting at or past the end of the
         * file fails with ERROR_HANDLE_EOF (synchronous handles too). */
        if (!err && *done == 0 && len > 0)
            err = ERROR_HANDLE_EOF;
    }
    file_unlock(f);
    return err;
}

static DWORD file_write_overlapped(struct wi_object *obj, const void *buf, DWORD len, OVERLAPPED *ov, DWORD *done)
{
    struct file *f = file_of(obj);
    uint64_t off = ov_offset(ov);
    DWORD err;

    *done = 0;
    if (!is_disk(f))
        return wi_fd_write(f->fd, f->kind, buf, len, done);
    file_lock(f);
    if (off == OFFSET_FILE_POINTER && !f->overlapped) {
        off_t cur = lseek(f->fd, 0, SEEK_CUR);
        off = cur < 0 ? OFFSET_FILE_POINTER : (uint64_t)cur;
    }
    if (off == OFFSET_END_OF_FILE) {
        /* Offset = OffsetHigh = 0xFFFFFFFF: write at the end of the file. */
        err = wi_fd_append(f->fd, buf, len, done);
        if (!err && !f->overlapped)
            lseek(f->fd, 0, SEEK_END);
    } else if (off > (uint64_t)INT64_MAX) {
        err = ERROR_INVALID_PARAMETER;
    } else {
        err = wi_fd_pwrite(f->fd, buf, len, off, done);
        if (!err)
            move_pointer_after(f, off + *done);
    }
    file_unlock(f);
    return err;
}

/* FlushFileBuffers on the write end of a pipe waits until the reader has
 * taken everything. Linux has no event for "pipe drained", so poll the
 * amount buffered with a short, growing pause (0.1 ms to 10 ms). */
static DWORD drain_pipe(int fd)
{
    long pause_ns = 100000;
    for (;;) {
        int left = 0;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (ioctl(fd, FIONREAD, &left) != 0)
            return ERROR_SUCCESS; /* a read end, or not a FIFO: nothing of ours is buffered */
        if (left == 0)
            return ERROR_SUCCESS;
        while (poll(&p, 1, 0) < 0 && errno == EINTR)
            ;
        if (p.revents & POLLERR)
            return ERROR_BROKEN_PIPE; /* the reader is gone: the data never will be read */
        struct timespec ts = {0, pause_ns};
        nanosleep(&ts, NULL);
        if (pause_ns < 10000000)
            pause_ns *= 2;
    }
}

static DWORD file_flush(struct wi_object *obj)
{
    struct file *f = file_of(obj);
    switch (f->kind) {
    case WI_FD_DISK:
        if (fsync(f->fd) != 0 && errno != EINVAL) /* EINVAL: a file system without fsync, nothing to flush */
            return wi_error_from_errno(errno);
        return ERROR_SUCCESS;
    case WI_FD_PIPE:
        return drain_pipe(f->fd);
    default:
        return ERROR_SUCCESS; /* ttys, sockets: winipc buffers nothing */
    }
}

static int file_std_fd(struct wi_object *obj)
{
    return file_of(obj)->fd;
}

/* Inheritance blob. The child gets a dup of the fd (same OFD: same file
 * pointer and share access, as an inherited Windows handle). Delete-on-close
 * stays with the process that opened the file (docs/files.md). */
struct file_blob {
    uint32_t magic;
    uint8_t overlapped;
    uint8_t reserved[3];
};

#define FILE_BLOB_MAGIC 0x454c4946u /* "FILE" */

static DWORD file_export_fds(struct wi_object *obj, int *fds, unsigned *nfds, void *blob, unsigned *blob_len)
{
    struct file *f = file_of(obj);
    struct file_blob b = {.magic = FILE_BLOB_MAGIC, .overlapped = f->overlapped};
    int fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return wi_error_from_errno(errno);
    fds[0] = fd;
    *nfds = 1;
    memcpy(blob, &b, sizeof b);
    *blob_len = sizeof b;
    return ERROR_SUCCESS;
}

static DWORD file_import(const int *fds, unsigned nfds, const void *blob, unsigned blob_len, struct wi_object **out)
{
    struct file_blob b;
    struct wi_object *obj;
    if (nfds != 1 || blob_len != sizeof b)
        return ERROR_INVALID_PARAMETER;
    memcpy(&b, blob, sizeof b);
    if (b.magic != FILE_BLOB_MAGIC)
        return ERROR_INVALID_PARAMETER;
    DWORD err = wi_file_wrap_fd(fds[0], &obj);
    if (err)
        return err;
    file_of(obj)->overlapped = b.overlapped != 0;
    obj->io_overlapped = b.overlapped != 0;
    *out = obj;
    return ERROR_SUCCESS;
}

static void file_destroy(struct wi_object *obj)
{
    struct file *f = file_of(obj);
    if (f->delete_on_close && f->path) {
        /* Only if the name still leads to our file: it may have been
         * deleted and created anew since. */
        struct stat mine, now;
        if (fstat(f->fd, &mine) == 0 && stat(f->path, &now) == 0 && mine.st_dev == now.st_dev &&
            mine.st_ino == now.st_ino)
            unlink(f->path);
    }
    if (is_disk(f)) {
        pthread_mutex_lock(&disk_files.lock);
        if (f->prev)
            f->prev->next = f->next;
        else
            disk_files.head = f->next;
        if (f->next)
            f->next->prev = f->prev;
        pthread_mutex_unlock(&disk_files.lock);
    }
    close(f->fd);
    free(f->path);
    pthread_mutex_destroy(&f->lock);
}

const struct wi_object_ops wi_file_ops = {
    .name = "File",
    .type = WI_TYPE_FILE,
    .generic_map = {FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS},
    .waitable = wi_no_waitable,
    .try_satisfy = wi_no_try_satisfy,
    .wait_prepare = wi_no_wait_prepare,
    .consumable = false,
    .signal = wi_no_signal,
    .read = file_read,
    .write = file_write,
    .flush = file_flush,
    .read_overlapped = file_read_overlapped,
    .write_overlapped = file_write_overlapped,
    .io_try = wi_no_io_try,
    .std_fd = file_std_fd,
    .export_fds = file_export_fds,
    .import = file_import,
    .destroy = file_destroy,
};

DWORD wi_file_wrap_fd(int fd, struct wi_object **out)
{
    enum wi_fd_kind kind;
    DWORD err = wi_fd_kind_of(fd, &kind);
    if (err)
        return err;
    struct file *f = wi_object_alloc(&wi_file_ops, sizeof *f);
    if (!f)
        return ERROR_NOT_ENOUGH_MEMORY;
    f->fd = fd;
    f->kind = kind;
    pthread_mutex_init(&f->lock, NULL);
    if (is_disk(f)) {
        pthread_once(&atfork_once, register_atfork);
        pthread_mutex_lock(&disk_files.lock);
        f->next = disk_files.head;
        if (f->next)
            f->next->prev = f;
        disk_files.head = f;
        pthread_mutex_unlock(&disk_files.lock);
    }
    *out = &f->obj;
    return ERROR_SUCCESS;
}

/* --- Paths ------------------------------------------------------------------------ */

enum path_kind {
    PATH_LOCAL,
    PATH_PIPE,     /* \\.\pipe\... */
    PATH_MAILSLOT, /* \\.\mailslot\... */
};

static bool is_sep(char c)
{
    return c == '\\' || c == '/';
}

/* `word` (case-insensitive) followed by a separator. */
static bool prefix_nocase(const char *s, const char *word)
{
    size_t n = strlen(word);
    return strncasecmp(s, word, n) == 0 && is_sep(s[n]);
}

/* Turn a Windows-style path into a local one: "\\?\" is stripped, '\' becomes
 * '/'. Names Linux cannot have fail as Windows fails for a missing volume or
 * server: drive letters with ERROR_PATH_NOT_FOUND, UNC paths with
 * ERROR_BAD_NETPATH, unknown \\.\ devices with ERROR_FILE_NOT_FOUND. On
 * success *local is a malloc'ed path (PATH_LOCAL only). */
static DWORD parse_path(const char *name, enum path_kind *kind, char **local)
{
    *local = NULL;
    *kind = PATH_LOCAL;
    if (!name || !*name)
        return ERROR_PATH_NOT_FOUND;
    if (strncmp(name, "\\\\?\\", 4) == 0) {
        /* "\\?\pipe\x" names the same pipe as "\\.\pipe\x"
         * (CreateNamedPipe and WaitNamedPipe accept both). */
        if (prefix_nocase(name + 4, "pipe")) {
            *kind = PATH_PIPE;
            return ERROR_SUCCESS;
        }
        if (prefix_nocase(name + 4, "mailslot")) {
            *kind = PATH_MAILSLOT;
            return ERROR_SUCCESS;
        }
        name += 4;
        if (prefix_nocase(name, "UNC"))
            return ERROR_BAD_NETPATH;
    } else if (is_sep(name[0]) && is_sep(name[1]) && name[2] == '.' && is_sep(name[3])) {
        /* The device namespace, "\\.\" (Windows accepts '/' there too). */
        if (prefix_nocase(name + 4, "pipe")) {
            *kind = PATH_PIPE;
            return ERROR_SUCCESS;
        }
        if (prefix_nocase(name + 4, "mailslot")) {
            *kind = PATH_MAILSLOT;
            return ERROR_SUCCESS;
        }
        return ERROR_FILE_NOT_FOUND;
    } else if (strncmp(name, "\\\\", 2) == 0) {
        /* "\\host\mailslot\x": a network mailslot name (mailslot.c). */
        const char *sep = strpbrk(name + 2, "\\/");
        if (sep && sep > name + 2 && prefix_nocase(sep + 1, "mailslot")) {
            *kind = PATH_MAILSLOT;
            return ERROR_SUCCESS;
        }
        return ERROR_BAD_NETPATH;
    }
    if (isalpha((unsigned char)name[0]) && name[1] == ':')
        return ERROR_PATH_NOT_FOUND; /* no drive letters on Linux */
    if (!*name)
        return ERROR_PATH_NOT_FOUND;
    char *p = strdup(name);
    if (!p)
        return ERROR_NOT_ENOUGH_MEMORY;
    for (char *c = p; *c; c++)
        if (*c == '\\')
            *c = '/';
    *local = p;
    return ERROR_SUCCESS;
}

/* ENOENT means a missing file when its directory exists, a missing path
 * otherwise (ERROR_PATH_NOT_FOUND), as Windows tells them apart. */
static DWORD missing_error(const char *path)
{
    char *dir = strdup(path);
    struct stat st;
    DWORD err = ERROR_FILE_NOT_FOUND;
    if (!dir)
        return ERROR_NOT_ENOUGH_MEMORY;
    char *slash = strrchr(dir, '/');
    if (slash) {
        if (slash == dir)
            slash[1] = 0; /* "/name": the root */
        else
            *slash = 0;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            err = ERROR_PATH_NOT_FOUND;
    }
    free(dir);
    return err;
}

static DWORD open_error(int e, const char *path)
{
    return e == ENOENT ? missing_error(path) : wi_error_from_errno(e);
}

/* --- CreateFile ------------------------------------------------------------------ */

struct open_req {
    const char *path;
    DWORD access; /* mapped: no GENERIC_* bits left */
    DWORD share;
    DWORD disposition;
    DWORD flags; /* dwFlagsAndAttributes */
};

static bool wants_read(DWORD access)
{
    return access & (FILE_READ_DATA | FILE_EXECUTE);
}

static bool wants_write(DWORD access)
{
    return access & (FILE_WRITE_DATA | FILE_APPEND_DATA);
}

/* Open an existing file with the least fd mode that serves the access.
 * Writers get O_RDWR when the file permits it, so the fd can hold the
 * shared share-mode locks (which need read mode); the handle's access mask
 * still limits what the caller may do. */
static int open_existing(const struct open_req *r, int extra)
{
    int modes[2], n = 0, fd = -1;
    if (wants_write(r->access)) {
        modes[n++] = O_RDWR;
        if (!wants_read(r->access))
            modes[n++] = O_WRONLY;
    } else {
        modes[n++] = O_RDONLY;
        modes[n++] = O_PATH; /* query-only or delete-only opens of unreadable files */
    }
    for (int i = 0; i < n; i++) {
        int flags = modes[i] == O_PATH ? O_PATH | O_CLOEXEC : modes[i] | extra;
        do
            fd = open(r->path, flags);
        while (fd < 0 && errno == EINTR);
        if (fd >= 0 || errno != EACCES)
            break;
    }
    return fd;
}

static int open_new(const struct open_req *r, int extra)
{
    int mode = wants_write(r->access) || !wants_read(r->access) ? O_RDWR : O_RDONLY;
    mode_t perm = (r->flags & FILE_ATTRIBUTE_READONLY) ? 0444 : 0666;
    int fd;
    do
        fd = open(r->path, mode | extra | O_CREAT | O_EXCL, perm);
    while (fd < 0 && errno == EINTR);
    return fd;
}

/* Open or create according to the disposition. *created: we made the file;
 * *existed: it was there before (CREATE_ALWAYS/OPEN_ALWAYS report that). */
static DWORD open_disposition(const struct open_req *r, int extra, int *out, bool *created, bool *existed)
{
    int fd = -1;
    *created = *existed = false;
    switch (r->disposition) {
    case CREATE_NEW:
        fd = open_new(r, extra);
        *created = fd >= 0;
        break;
    case CREATE_ALWAYS:
    case OPEN_ALWAYS:
        /* Create, or open what is there; retry if the file vanishes or
         * appears between the two attempts. */
        for (int tries = 0; tries < 100; tries++) {
            fd = open_new(r, extra);
            if (fd >= 0) {
                *created = true;
                break;
            }
            if (errno != EEXIST)
                break;
            fd = open_existing(r, extra);
            if (fd >= 0) {
                *existed = true;
                break;
            }
            if (errno != ENOENT)
                break;
        }
        break;
    case OPEN_EXISTING:
    case TRUNCATE_EXISTING:
        fd = open_existing(r, extra);
        *existed = fd >= 0;
        break;
    }
    if (fd < 0)
        return open_error(errno, r->path);
    *out = fd;
    return ERROR_SUCCESS;
}

/* Truncate to zero even through a read-only fd (CREATE_ALWAYS with
 * GENERIC_READ overwrites on Windows too): a second, write-only open of the
 * same file, which checks the caller's write permission. */
static DWORD truncate_fd(int fd)
{
    if (ftruncate(fd, 0) == 0)
        return ERROR_SUCCESS;
    if (errno != EINVAL && errno != EBADF)
        return wi_error_from_errno(errno);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    int w = open(proc, O_WRONLY | O_CLOEXEC);
    if (w < 0)
        return wi_error_from_errno(errno);
    DWORD err = ftruncate(w, 0) == 0 ? ERROR_SUCCESS : wi_error_from_errno(errno);
    close(w);
    return err;
}

/* Flags CreateFile understands on a file; FILE_FLAG_OPEN_REPARSE_POINT
 * (open a symbolic link itself) is the one that cannot be honoured. The
 * SECURITY_SQOS bits (impersonation levels for pipe servers) and the
 * attribute bits other than READONLY have no Linux meaning and are accepted
 * (docs/files.md). */
#define FLAGS_UNSUPPORTED FILE_FLAG_OPEN_REPARSE_POINT

static DWORD create_file(const char *name, DWORD access, DWORD share, const SECURITY_ATTRIBUTES *sa,
                         DWORD disposition, DWORD flags, HANDLE template, HANDLE *out, bool *existed)
{
    struct open_req r = {.share = share, .disposition = disposition, .flags = flags};
    enum path_kind kind;
    char *path = NULL;
    DWORD err, hflags;
    bool world, created = false;
    int fd = -1;
    struct stat st;

    *existed = false;
    if (disposition < CREATE_NEW || disposition > TRUNCATE_EXISTING)
        return ERROR_INVALID_PARAMETER;
    if (share & ~(DWORD)(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE))
        return ERROR_INVALID_PARAMETER;
    err = wi_sa_parse(sa, &hflags, &world);
    if (err)
        return err;
    err = parse_path(name, &kind, &path);
    if (err)
        return err;
    if (kind == PATH_PIPE)
        return wi_pipe_client_open(name, access, share, sa, flags, out);
    if (kind == PATH_MAILSLOT)
        return wi_mailslot_client_open(name, access, sa, out);

    if (flags & FILE_FLAG_DELETE_ON_CLOSE)
        access |= DELETE; /* as Windows: deleting needs DELETE access */
    r.access = wi_handle_map_access(&wi_file_ops, access);
    r.path = path;
    if (disposition == TRUNCATE_EXISTING && !(r.access & FILE_WRITE_DATA))
        err = ERROR_INVALID_PARAMETER; /* TRUNCATE_EXISTING needs GENERIC_WRITE */
    else if (flags & FLAGS_UNSUPPORTED)
        err = ERROR_NOT_SUPPORTED;
    else if (template && disposition != OPEN_EXISTING && disposition != TRUNCATE_EXISTING)
        err = ERROR_NOT_SUPPORTED; /* attributes from a template file: not implemented */
    if (err)
        goto fail;

    int extra = O_CLOEXEC | O_NOCTTY;
    if (flags & FILE_FLAG_WRITE_THROUGH)
        extra |= O_DSYNC;
    if ((r.access & FILE_APPEND_DATA) && !(r.access & FILE_WRITE_DATA))
        extra |= O_APPEND; /* append-only access: every write goes to the end */
    err = open_disposition(&r, extra, &fd, &created, existed);
    if (err)
        goto fail;
    if (fstat(fd, &st) != 0) {
        err = wi_error_from_errno(errno);
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        /* Windows: a directory opened as a file is ERROR_ACCESS_DENIED;
         * directory handles (FILE_FLAG_BACKUP_SEMANTICS) are not
         * implemented. */
        err = (flags & FILE_FLAG_BACKUP_SEMANTICS) ? ERROR_NOT_SUPPORTED : ERROR_ACCESS_DENIED;
        goto fail;
    }
    /* A regular file without any write permission bit is winipc's
     * FILE_ATTRIBUTE_READONLY: like Windows, refuse writing, overwriting and
     * delete-on-close even where Linux would allow it (root, the owner
     * through O_TRUNC checks). */
    if (S_ISREG(st.st_mode) && *existed && !(st.st_mode & 0222) &&
        (wants_write(r.access) || disposition == CREATE_ALWAYS || disposition == TRUNCATE_EXISTING ||
         (flags & FILE_FLAG_DELETE_ON_CLOSE))) {
        err = ERROR_ACCESS_DENIED;
        goto fail;
    }
    /* Overwriting needs write access for the share check (whoever denies
     * write also refuses a truncation), held until the truncation is done. */
    bool overwrite = (*existed && disposition == CREATE_ALWAYS) || disposition == TRUNCATE_EXISTING;
    DWORD share_access = overwrite ? r.access | FILE_WRITE_DATA : r.access;
    if (S_ISREG(st.st_mode)) {
        err = wi_share_claim(fd, &st, share_access, share);
        if (err)
            goto fail;
    }
    if (overwrite) {
        err = truncate_fd(fd);
        if (err)
            goto fail;
        /* CREATE_ALWAYS applies the new attributes to the file it
         * overwrites. */
        if (disposition == CREATE_ALWAYS && (flags & FILE_ATTRIBUTE_READONLY))
            fchmod(fd, st.st_mode & 07555);
        if (S_ISREG(st.st_mode))
            wi_share_drop(fd, share_access, r.access);
    }
    if (flags & FILE_FLAG_SEQUENTIAL_SCAN)
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (flags & FILE_FLAG_RANDOM_ACCESS)
        posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);

    struct wi_object *obj;
    err = wi_file_wrap_fd(fd, &obj);
    if (err)
        goto fail;
    struct file *f = file_of(obj);
    f->overlapped = (flags & FILE_FLAG_OVERLAPPED) != 0;
    f->obj.io_overlapped = f->overlapped; /* the engine's view of it (async.h) */
    if (flags & FILE_FLAG_DELETE_ON_CLOSE) {
        f->delete_on_close = true;
        f->path = realpath(path, NULL);
        if (!f->path)
            err = wi_error_from_errno(errno);
    }
    if (!err)
        err = wi_handle_insert(obj, r.access, hflags, out);
    if (err) {
        f->delete_on_close = false;
        wi_object_release(obj); /* closes fd */
        fd = -1;
        goto fail;
    }
    free(path);
    return ERROR_SUCCESS;

fail:
    if (fd >= 0) {
        /* Do not leave behind a file this failed call created. */
        struct stat now;
        if (created && fstat(fd, &st) == 0 && stat(path, &now) == 0 && st.st_ino == now.st_ino &&
            st.st_dev == now.st_dev)
            unlink(path);
        close(fd);
    }
    free(path);
    return err;
}

/* --- Win32 entry points ------------------------------------------------------------ */

static HANDLE create_file_entry(const char *name, DWORD access, DWORD share, LPSECURITY_ATTRIBUTES sa,
                                DWORD disposition, DWORD flags, HANDLE template)
{
    HANDLE h = INVALID_HANDLE_VALUE;
    bool existed;
    DWORD err = create_file(name, access, share, sa, disposition, flags, template, &h, &existed);
    if (err)
        return wi_fail_invalid(err);
    /* Success: ERROR_ALREADY_EXISTS when CREATE_ALWAYS or OPEN_ALWAYS found
     * the file, otherwise the last error is cleared. */
    wi_set_last_error(existed && (disposition == CREATE_ALWAYS || disposition == OPEN_ALWAYS) ? ERROR_ALREADY_EXISTS
                                                                                               : ERROR_SUCCESS);
    return h;
}

WINBASEAPI HANDLE WINAPI CreateFileA(LPCSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                     LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                                     DWORD dwFlagsAndAttributes, HANDLE hTemplateFile)
{
    return create_file_entry(lpFileName, dwDesiredAccess, dwShareMode, lpSecurityAttributes, dwCreationDisposition,
                             dwFlagsAndAttributes, hTemplateFile);
}

WINBASEAPI HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                     LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                                     DWORD dwFlagsAndAttributes, HANDLE hTemplateFile)
{
    WI_UTF8_ARG(name, lpFileName);
    if (WI_UTF8_FAILED(name, lpFileName))
        return wi_fail_invalid(ERROR_NOT_ENOUGH_MEMORY);
    HANDLE h = create_file_entry(name, dwDesiredAccess, dwShareMode, lpSecurityAttributes, dwCreationDisposition,
                                 dwFlagsAndAttributes, hTemplateFile);
    WI_UTF8_FREE(name);
    return h;
}

/* Move the pointer of a disk file. `limit` is the largest new position the
 * caller can report (SetFilePointer without a high part: 32 bits). */
static DWORD file_seek(HANDLE h, int64_t dist, DWORD method, uint64_t limit, uint64_t *pos)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(h, WI_TYPE_FILE, 0, &pin);
    if (err)
        return err;
    struct file *f = file_of(pin.obj);
    int64_t base = 0, target;
    struct stat st;

    file_lock(f);
    if (method == FILE_CURRENT) {
        off_t cur = lseek(f->fd, 0, SEEK_CUR);
        if (cur < 0)
            err = wi_error_from_errno(errno);
        base = cur;
    } else if (method == FILE_END) {
        if (fstat(f->fd, &st) != 0)
            err = wi_error_from_errno(errno);
        else if (!is_disk(f))
            err = ERROR_SEEK_ON_DEVICE;
        base = st.st_size;
    } else if (method != FILE_BEGIN) {
        err = ERROR_INVALID_PARAMETER;
    }
    if (!err) {
        if (__builtin_add_overflow(base, dist, &target))
            err = ERROR_INVALID_PARAMETER;
        else if (target < 0)
            err = ERROR_NEGATIVE_SEEK; /* the pointer does not move */
        else if ((uint64_t)target > limit)
            err = ERROR_INVALID_PARAMETER;
        else if (lseek(f->fd, (off_t)target, SEEK_SET) < 0)
            err = wi_error_from_errno(errno);
        else
            *pos = (uint64_t)target;
    }
    file_unlock(f);
    wi_handle_put(&pin);
    return err;
}

WINBASEAPI DWORD WINAPI SetFilePointer(HANDLE hFile, LONG lDistanceToMove, PLONG lpDistanceToMoveHigh, DWORD dwMoveMethod)
{
    int64_t dist;
    uint64_t pos = 0;
    /* Without a high part the distance is a signed 32-bit value and the new
     * position must fit in 32 bits; with one, the two form a signed 64-bit
     * distance and the high part receives the new position's high half. */
    if (lpDistanceToMoveHigh)
        dist = (int64_t)(((uint64_t)(uint32_t)*lpDistanceToMoveHigh << 32) | (uint32_t)lDistanceToMove);
    else
        dist = lDistanceToMove;
    DWORD err = file_seek(hFile, dist, dwMoveMethod, lpDistanceToMoveHigh ? UINT64_MAX : 0xFFFFFFFFu, &pos);
    if (err) {
        wi_set_last_error(err);
        return INVALID_SET_FILE_POINTER;
    }
    if (lpDistanceToMoveHigh)
        *lpDistanceToMoveHigh = (LONG)(uint32_t)(pos >> 32);
    /* INVALID_SET_FILE_POINTER is also a valid low half: callers then look
     * at the last error, which must say NO_ERROR. */
    if ((DWORD)pos == INVALID_SET_FILE_POINTER)
        wi_set_last_error(NO_ERROR);
    return (DWORD)pos;
}

WINBASEAPI BOOL WINAPI SetFilePointerEx(HANDLE hFile, LARGE_INTEGER liDistanceToMove, PLARGE_INTEGER lpNewFilePointer,
                                        DWORD dwMoveMethod)
{
    uint64_t pos = 0;
    DWORD err = file_seek(hFile, liDistanceToMove.QuadPart, dwMoveMethod, UINT64_MAX, &pos);
    if (err)
        return wi_fail_bool(err);
    if (lpNewFilePointer)
        lpNewFilePointer->QuadPart = (LONGLONG)pos;
    return TRUE;
}

static DWORD file_size(HANDLE h, uint64_t *size)
{
    struct wi_pin pin;
    struct stat st;
    DWORD err = wi_handle_get(h, WI_TYPE_FILE, 0, &pin);
    if (err)
        return err;
    if (fstat(file_of(pin.obj)->fd, &st) != 0)
        err = wi_error_from_errno(errno);
    else
        *size = (uint64_t)st.st_size;
    wi_handle_put(&pin);
    return err;
}

WINBASEAPI DWORD WINAPI GetFileSize(HANDLE hFile, LPDWORD lpFileSizeHigh)
{
    uint64_t size = 0;
    DWORD err = file_size(hFile, &size);
    if (err) {
        wi_set_last_error(err);
        return INVALID_FILE_SIZE;
    }
    if (lpFileSizeHigh)
        *lpFileSizeHigh = (DWORD)(size >> 32);
    /* As with SetFilePointer: a low half equal to INVALID_FILE_SIZE is told
     * from a failure by the last error. */
    if ((DWORD)size == INVALID_FILE_SIZE)
        wi_set_last_error(NO_ERROR);
    return (DWORD)size;
}

WINBASEAPI BOOL WINAPI GetFileSizeEx(HANDLE hFile, PLARGE_INTEGER lpFileSize)
{
    uint64_t size = 0;
    DWORD err = file_size(hFile, &size);
    if (err)
        return wi_fail_bool(err);
    if (!lpFileSize)
        return wi_fail_bool(ERROR_NOACCESS);
    lpFileSize->QuadPart = (LONGLONG)size;
    return TRUE;
}

WINBASEAPI BOOL WINAPI SetEndOfFile(HANDLE hFile)
{
    struct wi_pin pin;
    DWORD err = wi_handle_get(hFile, WI_TYPE_FILE, FILE_WRITE_DATA, &pin);
    if (err)
        return wi_fail_bool(err);
    struct file *f = file_of(pin.obj);
    file_lock(f);
    off_t cur = lseek(f->fd, 0, SEEK_CUR);
    if (cur < 0 || ftruncate(f->fd, cur) != 0)
        err = wi_error_from_errno(errno);
    file_unlock(f);
    wi_handle_put(&pin);
    return wi_result_bool(err);
}

/* Any object that stands for an fd (files, pipes, ...) has a file type. */
WINBASEAPI DWORD WINAPI GetFileType(HANDLE hFile)
{
    struct wi_pin pin;
    enum wi_fd_kind kind;
    DWORD err = wi_handle_get(hFile, WI_TYPE_NONE, 0, &pin);
    if (err) {
        wi_set_last_error(err);
        return FILE_TYPE_UNKNOWN;
    }
    int fd = pin.obj->ops->std_fd(pin.obj);
    err = fd < 0 ? ERROR_INVALID_HANDLE : wi_fd_kind_of(fd, &kind);
    wi_handle_put(&pin);
    if (err) {
        wi_set_last_error(err);
        return FILE_TYPE_UNKNOWN;
    }
    switch (kind) {
    case WI_FD_PIPE:
    case WI_FD_SOCKET:
        return FILE_TYPE_PIPE;
    case WI_FD_CHAR:
        return FILE_TYPE_CHAR;
    default:
        return FILE_TYPE_DISK;
    }
}

static DWORD delete_file(const char *name)
{
    enum path_kind kind;
    char *path;
    struct stat st;
    DWORD err = parse_path(name, &kind, &path);
    if (err)
        return err;
    if (kind != PATH_LOCAL)
        return ERROR_FILE_NOT_FOUND;
    if (lstat(path, &st) != 0) {
        err = open_error(errno, path);
    } else if (S_ISDIR(st.st_mode)) {
        err = ERROR_ACCESS_DENIED; /* Windows: DeleteFile on a directory */
    } else if (S_ISREG(st.st_mode) && !(st.st_mode & 0222)) {
        err = ERROR_ACCESS_DENIED; /* the read-only attribute (see CreateFile) */
    } else {
        /* Opens that did not share delete refuse it (file_share.c). An
         * unreadable file cannot be checked, and a link is deleted itself. */
        int fd = -1;
        if (S_ISREG(st.st_mode)) {
            fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
            if (fd >= 0 && fstat(fd, &st) != 0) {
                close(fd);
                fd = -1;
            }
        }
        err = wi_share_unlink(fd, &st, path);
        if (err == ERROR_FILE_NOT_FOUND)
            err = missing_error(path);
        if (fd >= 0)
            close(fd);
    }
    free(path);
    return err;
}

WINBASEAPI BOOL WINAPI DeleteFileA(LPCSTR lpFileName)
{
    return wi_result_bool(delete_file(lpFileName));
}

WINBASEAPI BOOL WINAPI DeleteFileW(LPCWSTR lpFileName)
{
    WI_UTF8_ARG(name, lpFileName);
    if (WI_UTF8_FAILED(name, lpFileName))
        return wi_fail_bool(ERROR_NOT_ENOUGH_MEMORY);
    DWORD err = delete_file(name);
    WI_UTF8_FREE(name);
    return wi_result_bool(err);
}

/* --- Standard handles ------------------------------------------------------------- */

/* std_slots (top of the file): until SetStdHandle fills a slot, the first
 * GetStdHandle makes a file object over a dup of fd 0, 1 or 2 (a dup, so
 * that CloseHandle on it never frees the descriptor number stdio writes
 * to). */

static int std_index(DWORD n)
{
    switch (n) {
    case STD_INPUT_HANDLE:
        return 0;
    case STD_OUTPUT_HANDLE:
        return 1;
    case STD_ERROR_HANDLE:
        return 2;
    default:
        return -1;
    }
}

/* A handle on fd `i`; NULL when the process has no such descriptor, as
 * Windows returns NULL for a missing standard handle. */
static DWORD std_open(int i, HANDLE *out)
{
    int flags = fcntl(i, F_GETFL);
    if (flags < 0) {
        *out = NULL;
        return ERROR_SUCCESS;
    }
    int fd = fcntl(i, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return wi_error_from_errno(errno);
    DWORD access = SYNCHRONIZE | READ_CONTROL | FILE_READ_ATTRIBUTES;
    if ((flags & O_ACCMODE) != O_WRONLY)
        access |= FILE_GENERIC_READ;
    if ((flags & O_ACCMODE) != O_RDONLY)
        access |= FILE_GENERIC_WRITE;
    struct wi_object *obj;
    DWORD err = wi_file_wrap_fd(fd, &obj);
    if (err) {
        close(fd);
        return err;
    }
    err = wi_handle_insert(obj, access, 0, out);
    if (err)
        wi_object_release(obj);
    return err;
}

WINBASEAPI HANDLE WINAPI GetStdHandle(DWORD nStdHandle)
{
    int i = std_index(nStdHandle);
    DWORD err = ERROR_SUCCESS;
    HANDLE h;
    if (i < 0)
        return wi_fail_invalid(ERROR_INVALID_HANDLE);
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&std_slots.lock);
    if (!std_slots.set[i]) {
        err = std_open(i, &std_slots.h[i]);
        std_slots.set[i] = !err && std_slots.h[i];
    }
    h = std_slots.h[i];
    pthread_mutex_unlock(&std_slots.lock);
    if (err)
        return wi_fail_invalid(err);
    return h;
}

WINBASEAPI BOOL WINAPI SetStdHandle(DWORD nStdHandle, HANDLE hHandle)
{
    int i = std_index(nStdHandle);
    if (i < 0)
        return wi_fail_bool(ERROR_INVALID_HANDLE);
    /* Windows stores the value as given (no validation) and does not close
     * the handle it replaces. */
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&std_slots.lock);
    std_slots.set[i] = true;
    std_slots.h[i] = hHandle;
    pthread_mutex_unlock(&std_slots.lock);
    return TRUE;
}
