/* SPDX-License-Identifier: MIT */
/* Named objects on disk; the lifetime rules are in namespace.h. */
#include "namespace.h"

#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <wctype.h>

#define DEFAULT_ROOT "/dev/shm/winipc"

/* Names longer than this (in bytes once escaped) are shortened to a prefix
 * plus a hash; 255 is the file-name limit of Linux file systems. */
#define MAX_ESCAPED 200

/* Extended attribute holding the name an object file was created with
 * (wi_namespace_name). */
#define NAME_XATTR "user.winipc.name"

struct ns_dir {
    pthread_mutex_t lock; /* orders this process's threads; flock orders processes */
    int dirfd;            /* -1 until first use */
    int lockfd;
    dev_t lock_dev;       /* identity of the .lock file lockfd refers to (dir_lock) */
    ino_t lock_ino;
};

static struct ns_dir dirs[WI_NS_COUNT] = {
    [0 ... WI_NS_COUNT - 1] = {PTHREAD_MUTEX_INITIALIZER, -1, -1, 0, 0},
};
static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;

/* After fork() the child shares our open file descriptions, so flock would
 * no longer exclude it from us: it must reopen the directories. */
static void forget_dirs_in_child(void)
{
    for (int i = 0; i < WI_NS_COUNT; i++) {
        if (dirs[i].dirfd >= 0)
            close(dirs[i].dirfd);
        if (dirs[i].lockfd >= 0)
            close(dirs[i].lockfd);
        dirs[i].dirfd = dirs[i].lockfd = -1;
        pthread_mutex_init(&dirs[i].lock, NULL);
    }
    pthread_mutex_init(&setup_lock, NULL);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_dirs_in_child);
}

static const char *root_path(void)
{
    const char *r = getenv("WINIPC_ROOT");
    return r && *r ? r : DEFAULT_ROOT;
}

static const char *ns_subdir(enum wi_ns ns, char *buf, size_t size)
{
    switch (ns) {
    case WI_NS_GLOBAL:
        return "global";
    case WI_NS_LOCAL:
        snprintf(buf, size, "u%u", (unsigned)geteuid());
        return buf;
    case WI_NS_PIPE:
        return "pipe";
    case WI_NS_MAILSLOT:
        return "mailslot";
    default:
        return NULL;
    }
}

/* Create `path` with `mode` if missing; refuse a directory that another user
 * planted where our private one belongs, or a symlink. A shared directory
 * that others may write must be sticky, or anyone could delete or replace
 * anyone's object files: we repair our own and refuse another user's
 * (ERROR_ACCESS_DENIED). See docs/security.md. */
static DWORD ensure_dir(const char *path, mode_t mode, bool must_own)
{
    struct stat st;
    if (mkdir(path, mode) == 0) {
        chmod(path, mode); /* mkdir applies the umask */
    } else if (errno != EEXIST) {
        return wi_error_from_errno(errno);
    }
    if (lstat(path, &st) != 0)
        return wi_error_from_errno(errno);
    if (!S_ISDIR(st.st_mode))
        return ERROR_PATH_NOT_FOUND;
    if (must_own && (st.st_uid != geteuid() || (st.st_mode & 077)))
        return ERROR_ACCESS_DENIED;
    if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)) {
        if (st.st_uid != geteuid() || chmod(path, (st.st_mode & 07777) | S_ISVTX) != 0)
            return ERROR_ACCESS_DENIED;
    }
    return ERROR_SUCCESS;
}

DWORD wi_namespace_dir(enum wi_ns ns, char *path, size_t size)
{
    char sub[32];
    const char *s = ns_subdir(ns, sub, sizeof sub);
    if (!s)
        return ERROR_INVALID_PARAMETER;
    if ((size_t)snprintf(path, size, "%s/%s", root_path(), s) >= size)
        return ERROR_FILENAME_EXCED_RANGE;
    DWORD err = ensure_dir(root_path(), 01777, false);
    if (!err)
        err = ensure_dir(path, ns == WI_NS_LOCAL ? 0700 : 01777, ns == WI_NS_LOCAL);
    return err;
}

/* Open (creating) a directory's .lock and remember which file it is. The
 * lock is only ever flock()ed, which needs no write access: the shared
 * directories' lock is 0644, so only its creator may write it, and the
 * sticky directory lets only its creator (or root) replace it — dir_lock
 * notices that. What a user holding it can still do (block the namespace)
 * is in docs/security.md. */
static int lock_open(struct ns_dir *d, int dfd, bool local)
{
    mode_t mode = local ? 0600 : 0644;
    struct stat st;
    int fd = openat(dfd, ".lock", O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EACCES;
        return -1;
    }
    if (st.st_uid == geteuid() && (st.st_mode & 07777) != mode)
        fchmod(fd, mode); /* the umask applied at creation, or an older library's 0666 */
    d->lock_dev = st.st_dev;
    d->lock_ino = st.st_ino;
    return fd;
}

/* Open the directory and its lock file once per process. */
static DWORD dir_get(enum wi_ns ns, struct ns_dir **out)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_atfork);
    struct ns_dir *d = &dirs[ns];
    DWORD err = ERROR_SUCCESS;
    pthread_mutex_lock(&setup_lock);
    if (d->dirfd < 0) {
        char path[4096];
        err = wi_namespace_dir(ns, path, sizeof path);
        if (!err) {
            int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            int lfd = dfd < 0 ? -1 : lock_open(d, dfd, ns == WI_NS_LOCAL);
            if (dfd < 0 || lfd < 0) {
                err = wi_error_from_errno(errno);
                if (dfd >= 0)
                    close(dfd);
            } else {
                d->dirfd = dfd;
                d->lockfd = lfd;
            }
        }
    }
    pthread_mutex_unlock(&setup_lock);
    *out = d;
    return err;
}

static void dir_lock(struct ns_dir *d)
{
    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (flock(d->lockfd, LOCK_EX) != 0 && errno == EINTR)
            ;
        /* The lock file's owner may unlink and recreate it; processes
         * locking different inodes would no longer exclude each other. So
         * we must hold the file the name refers to now, or move to it. If
         * it cannot be opened (its owner made it private) we keep the old
         * one: exclusion with the newcomers is lost, which only that user
         * could arrange (docs/security.md). */
        struct stat st;
        if (fstatat(d->dirfd, ".lock", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == d->lock_dev &&
            st.st_ino == d->lock_ino)
            return;
        dev_t old_dev = d->lock_dev;
        ino_t old_ino = d->lock_ino;
        int fd = lock_open(d, d->dirfd, d == &dirs[WI_NS_LOCAL]);
        if (fd < 0) {
            d->lock_dev = old_dev;
            d->lock_ino = old_ino;
            return;
        }
        flock(d->lockfd, LOCK_UN);
        close(d->lockfd);
        d->lockfd = fd;
    }
}

static void dir_unlock(struct ns_dir *d)
{
    flock(d->lockfd, LOCK_UN);
    pthread_mutex_unlock(&d->lock);
}

/* --- names ----------------------------------------------------------------- */

static locale_t upper_locale;
static void make_upper_locale(void)
{
    upper_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static uint32_t fold_char(uint32_t c)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_upper_locale);
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') ? c - 32 : c;
    /* Windows compares object names with its upper-case table. */
    return upper_locale ? (uint32_t)towupper_l((wint_t)c, upper_locale) : c;
}

/* Decode one UTF-8 sequence; invalid bytes decode as themselves + 0xDC00 so
 * distinct byte strings stay distinct. */
static uint32_t next_char(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t c = s[0];
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n > 0) {
        uint32_t v = c & (0x3F >> n);
        int i;
        for (i = 1; i <= n && (s[i] & 0xC0) == 0x80; i++)
            v = (v << 6) | (s[i] & 0x3F);
        if (i == n + 1) {
            *p = s + n + 1;
            return v;
        }
    }
    *p = s + 1;
    return n == 0 ? c : 0xDC00 + c;
}

static size_t put_utf8(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Escape `name` (case-folded first when `fold_case`) into a file name:
 * letters, digits, '-', '_' and non-ASCII stay; everything else (including
 * '/', '.', '%' and '\' in pipe names) becomes %XX, so no name can be "." or
 * ".." or ".lock". Overlong results are cut and completed with a hash of the
 * whole name. */
static DWORD fold_name(const char *name, bool fold_case, char out[256])
{
    size_t len = 0, chars = 0;
    uint64_t hash = 1469598103934665603ull; /* FNV-1a */
    char big[MAX_PATH * 12 + 16];
    const unsigned char *p = (const unsigned char *)name;
    while (*p) {
        uint32_t c = next_char(&p);
        if (fold_case)
            c = fold_char(c);
        char enc[8];
        size_t n;
        if (++chars > MAX_PATH)
            return ERROR_FILENAME_EXCED_RANGE;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c >= 0x80)
            n = put_utf8(c, enc);
        else
            n = (size_t)snprintf(enc, sizeof enc, "%%%02X", c);
        for (size_t i = 0; i < n; i++)
            hash = (hash ^ (unsigned char)enc[i]) * 1099511628211ull;
        memcpy(big + len, enc, n);
        len += n;
    }
    if (len <= MAX_ESCAPED) {
        memcpy(out, big, len);
        out[len] = 0;
    } else {
        memcpy(out, big, MAX_ESCAPED);
        snprintf(out + MAX_ESCAPED, 256 - MAX_ESCAPED, "~%016llx", (unsigned long long)hash);
    }
    return ERROR_SUCCESS;
}

DWORD wi_namespace_parse_kernel(const char *name, enum wi_ns *ns, const char **rest)
{
    *ns = WI_NS_LOCAL;
    if (strncasecmp(name, "Global\\", 7) == 0) {
        *ns = WI_NS_GLOBAL;
        name += 7;
    } else if (strncasecmp(name, "Local\\", 6) == 0) {
        name += 6;
    }
    /* Object names cannot contain a backslash: Windows resolves it as a
     * directory that does not exist (STATUS_OBJECT_PATH_NOT_FOUND). */
    if (strchr(name, '\\'))
        return ERROR_PATH_NOT_FOUND;
    *rest = name;
    return ERROR_SUCCESS;
}

/* --- open / release ----------------------------------------------------------- */

static DWORD map_state(struct wi_object *obj, int fd, size_t map_size)
{
    void *p = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return wi_error_from_errno(errno);
    obj->shared = p;
    obj->shared_size = map_size;
    obj->shared_fd = fd;
    return ERROR_SUCCESS;
}

/* Make the stale object file open on *fd ours to start afresh. Our own file
 * is reused. Another user's cannot be: it may still be open in one of their
 * processes (Linux checks permissions at open time only), so an object
 * rebuilt in it would not be private. It is replaced when we may unlink it
 * (root, or the directory's owner). Otherwise it is reused only when the
 * new object is to be world-accessible anyway and the file already is
 * (mode 0666); else the name is refused with ERROR_ACCESS_DENIED until its
 * owner's next use of the namespace clears it (docs/security.md). */
static DWORD claim_stale(struct ns_dir *d, const char *file, int *fd, bool world_access)
{
    mode_t mode = world_access ? 0666 : 0600;
    struct stat st;
    if (fstat(*fd, &st) != 0)
        return wi_error_from_errno(errno);
    if (st.st_uid == geteuid() && S_ISREG(st.st_mode))
        return fchmod(*fd, mode) == 0 ? ERROR_SUCCESS : wi_error_from_errno(errno);
    if (unlinkat(d->dirfd, file, 0) == 0) {
        close(*fd);
        *fd = openat(d->dirfd, file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (*fd < 0 || fchmod(*fd, mode) != 0)
            return wi_error_from_errno(errno);
        return ERROR_SUCCESS;
    }
    if (world_access && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0666)
        return ERROR_SUCCESS;
    return ERROR_ACCESS_DENIED;
}

/* Start a fresh object in `fd` (new, or stale and now ours alone). */
static DWORD init_fresh(struct wi_object *obj, int fd, size_t map_size, uint64_t file_size,
                        void (*init)(struct wi_object *, void *), void *arg)
{
    if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)file_size) != 0)
        return wi_error_from_errno(errno);
    DWORD err = map_state(obj, fd, map_size);
    if (err)
        return err;
    struct wi_shared_header *h = obj->shared;
    h->magic = WI_SHARED_MAGIC;
    h->version = WI_SHARED_VERSION;
    h->type = (uint16_t)obj->ops->type;
    h->size = (uint32_t)map_size;
    if (init)
        init(obj, arg);
    return ERROR_SUCCESS;
}

static DWORD check_existing(struct wi_object *obj, int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return wi_error_from_errno(errno);
    if ((size_t)st.st_size < sizeof(struct wi_shared_header))
        return ERROR_INVALID_HANDLE;
    struct wi_shared_header h;
    if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
        return ERROR_INVALID_HANDLE;
    /* Another library version, or another object type under this name. */
    if (h.magic != WI_SHARED_MAGIC || h.version != WI_SHARED_VERSION || h.type != obj->ops->type ||
        h.size > (uint64_t)st.st_size)
        return ERROR_INVALID_HANDLE;
    return map_state(obj, fd, h.size);
}

DWORD wi_namespace_open(struct wi_object *obj, enum wi_ns ns, const char *name, size_t map_size, uint64_t file_size,
                        bool create, bool world_access, bool *existed, void (*init)(struct wi_object *, void *),
                        void *arg)
{
    struct wi_name *wn = calloc(1, sizeof *wn);
    struct ns_dir *d;
    DWORD err;
    int fd = -1;

    *existed = false;
    if (!wn)
        return ERROR_NOT_ENOUGH_MEMORY;
    wn->ns = ns;
    /* Kernel-object names compare case-sensitively (CreateEvent & co.
     * document it); pipe and mailslot names are file names, which Windows
     * compares without case. */
    err = fold_name(name, ns == WI_NS_PIPE || ns == WI_NS_MAILSLOT, wn->file);
    if (!err)
        err = dir_get(ns, &d);
    if (err) {
        free(wn);
        return err;
    }
    if (file_size < map_size)
        file_size = map_size;

    dir_lock(d);
    fd = openat(d->dirfd, wn->file, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            /* Nobody holds it: the last holders died without unlinking. */
            if (!create) {
                unlinkat(d->dirfd, wn->file, 0);
                err = ERROR_FILE_NOT_FOUND;
            } else if (!(err = claim_stale(d, wn->file, &fd, world_access))) {
                err = init_fresh(obj, fd, map_size, file_size, init, arg);
            }
        } else {
            flock(fd, LOCK_SH); /* cannot block: exclusive holders hold the directory lock too */
            err = check_existing(obj, fd);
            *existed = !err;
        }
    } else if (errno == ENOENT && create) {
        fd = openat(d->dirfd, wn->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            err = wi_error_from_errno(errno);
        } else {
            /* The mode before any state goes in: 0600 unless the
             * descriptor opened the object to every user. */
            err = fchmod(fd, world_access ? 0666 : 0600) == 0 ? ERROR_SUCCESS : wi_error_from_errno(errno);
            if (!err)
                err = init_fresh(obj, fd, map_size, file_size, init, arg);
            if (err)
                unlinkat(d->dirfd, wn->file, 0);
        }
    } else {
        err = errno == ENOENT ? ERROR_FILE_NOT_FOUND : wi_error_from_errno(errno);
    }
    if (!err && !*existed) {
        flock(fd, LOCK_SH); /* from exclusive (stale case) or none (new file) */
        /* For tools only (the name may have been hashed): best effort, a
         * file system without user attributes just loses it. */
        fsetxattr(fd, NAME_XATTR, name, strlen(name), 0);
    }
    if (err && fd >= 0) {
        if (obj->shared)
            munmap(obj->shared, obj->shared_size);
        obj->shared = NULL;
        obj->shared_fd = -1;
        close(fd);
    }
    dir_unlock(d);

    if (err) {
        free(wn);
        return err;
    }
    obj->name = wn;
    return ERROR_SUCCESS;
}

void wi_namespace_release(struct wi_object *obj)
{
    struct wi_name *wn = obj->name;
    struct ns_dir *d;
    if (!wn)
        return;
    if (dir_get(wn->ns, &d) == ERROR_SUCCESS) {
        dir_lock(d);
        if (flock(obj->shared_fd, LOCK_EX | LOCK_NB) == 0)
            unlinkat(d->dirfd, wn->file, 0);
        /* Close before unlocking, so the next releaser's LOCK_EX test no
         * longer sees our lock. */
        close(obj->shared_fd);
        dir_unlock(d);
    } else {
        close(obj->shared_fd);
    }
    obj->shared_fd = -1;
    if (obj->shared)
        munmap(obj->shared, obj->shared_size);
    obj->shared = NULL;
    obj->name = NULL;
    free(wn);
}

/* --- walking, for tools ------------------------------------------------------ */

/* A directory stream with an open file description of its own (a dup of
 * `dirfd` would share its offset with other walkers). */
static DIR *dir_stream(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd < 0 ? NULL : fdopendir(fd);
    if (!dir && fd >= 0)
        close(fd);
    return dir;
}

/* Report the live object files of one directory and remove the stale ones;
 * the caller holds the directory lock. */
static void walk_locked(DIR *dir, int dirfd, wi_namespace_walk_fn fn, void *arg)
{
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        int fd = openat(dirfd, e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            unlinkat(dirfd, e->d_name, 0); /* stale: every holder died */
        } else {
            struct wi_shared_header h;
            if (pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h && h.magic == WI_SHARED_MAGIC)
                fn(e->d_name, &h, fd, arg);
        }
        close(fd);
    }
}

DWORD wi_namespace_walk(enum wi_ns ns, wi_namespace_walk_fn fn, void *arg)
{
    struct ns_dir *d;
    DWORD err = dir_get(ns, &d);
    if (err)
        return err;
    DIR *dir = dir_stream(d->dirfd);
    if (!dir)
        return wi_error_from_errno(errno);
    dir_lock(d);
    walk_locked(dir, d->dirfd, fn, arg);
    dir_unlock(d);
    closedir(dir);
    return ERROR_SUCCESS;
}

/* Lock another user's directory as its owner's processes do (dir_lock),
 * following a .lock file that was replaced. -1 if it cannot be locked. */
static int foreign_lock(int dirfd)
{
    for (int tries = 0; tries < 8; tries++) {
        struct stat held, now;
        int fd = openat(dirfd, ".lock", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return -1;
        while (flock(fd, LOCK_EX) != 0 && errno == EINTR)
            ;
        if (fstat(fd, &held) == 0 && fstatat(dirfd, ".lock", &now, AT_SYMLINK_NOFOLLOW) == 0 &&
            held.st_dev == now.st_dev && held.st_ino == now.st_ino)
            return fd;
        close(fd);
    }
    return -1;
}

DWORD wi_namespace_walk_users(wi_namespace_walk_fn fn, void *arg)
{
    char own[32];
    snprintf(own, sizeof own, "u%u", (unsigned)geteuid());
    DIR *root = opendir(root_path());
    if (!root)
        return errno == ENOENT ? ERROR_SUCCESS : wi_error_from_errno(errno);
    struct dirent *e;
    while ((e = readdir(root))) {
        const char *p = e->d_name;
        if (p[0] != 'u' || !p[1] || strspn(p + 1, "0123456789") != strlen(p + 1) || strcmp(p, own) == 0)
            continue;
        int dfd = openat(dirfd(root), p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
            continue;
        DIR *dir = dir_stream(dfd);
        int lfd = dir ? foreign_lock(dfd) : -1;
        if (lfd >= 0) {
            walk_locked(dir, dfd, fn, arg);
            close(lfd); /* drops the lock */
        }
        if (dir)
            closedir(dir);
        close(dfd);
    }
    closedir(root);
    return ERROR_SUCCESS;
}

bool wi_namespace_name(enum wi_ns ns, int fd, const char *file, char *out, size_t size)
{
    char stored[MAX_PATH * 4 + 1], check[256];
    ssize_t n = fgetxattr(fd, NAME_XATTR, stored, sizeof stored - 1);
    if (n > 0) {
        stored[n] = 0;
        /* Whoever may write the file (every user, for a NULL-DACL object)
         * may write the attribute: it counts only if it names this file. */
        if (fold_name(stored, ns == WI_NS_PIPE || ns == WI_NS_MAILSLOT, check) == ERROR_SUCCESS &&
            strcmp(check, file) == 0 && (size_t)n < size) {
            memcpy(out, stored, (size_t)n + 1);
            return true;
        }
    }
    /* '~' is always escaped (%7E): it only appears before a hash. */
    if (!strchr(file, '~')) {
        size_t o = 0;
        for (const char *p = file; *p && o + 1 < size; p++) {
            unsigned hex;
            if (p[0] == '%' && p[1] && p[2] && sscanf(p + 1, "%2x", &hex) == 1) {
                out[o++] = (char)hex;
                p += 2;
            } else {
                out[o++] = *p;
            }
            if (!p[1]) {
                out[o] = 0;
                return true;
            }
        }
    }
    snprintf(out, size, "%s", file);
    return false;
}
