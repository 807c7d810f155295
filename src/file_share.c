/* SPDX-License-Identifier: MIT */
/* Share modes with OFD locks; the protocol is described in file_share.h. */
#include "file_share.h"

#include "error.h"
#include "namespace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Marker bytes: 64 KiB below the largest offset, where no file system can
 * hold data (ext4 and xfs stop at 16 TiB / 8 EiB - 1 and files this large do
 * not exist in practice), so the markers never meet a byte-range lock a
 * program takes on its own data. */
#define MARK_BASE ((off_t)0x7FFFFFFFFFFF0000LL)

enum mark {
    HAVE_READ,
    HAVE_WRITE,
    HAVE_DELETE,
    DENY_READ,
    DENY_WRITE,
    DENY_DELETE,
    MARK_COUNT
};

#define GUARD_SLOTS (1u << 30)

static bool wants_read(DWORD access)
{
    return access & (FILE_READ_DATA | FILE_EXECUTE);
}

static bool wants_write(DWORD access)
{
    return access & (FILE_WRITE_DATA | FILE_APPEND_DATA);
}

static bool wants_delete(DWORD access)
{
    return access & DELETE;
}

bool wi_share_needed(DWORD access)
{
    return wants_read(access) || wants_write(access) || wants_delete(access);
}

static int lock_op(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len, .l_pid = 0};
    int r;
    while ((r = fcntl(fd, cmd, &fl)) < 0 && errno == EINTR)
        ;
    return r;
}

/* Another open file description holds `m`. (Locks of our own OFD never
 * conflict with a test made through it.) */
static bool held_by_other(int fd, enum mark m)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = MARK_BASE + m, .l_len = 1, .l_pid = 0};
    if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
        return false;
    return fl.l_type != F_UNLCK;
}

/* The guard: an exclusive OFD lock on one byte of the global .file-share
 * file, picked by the file's identity. Returns the guard fd (its close drops
 * the lock) or -1 when there is no usable guard file. A fresh descriptor per
 * use: OFD locks do not exclude threads sharing one description, and a fork
 * child must not share the parent's. */
static int guard_lock(const struct stat *st)
{
    char path[4096];
    if (wi_namespace_dir(WI_NS_GLOBAL, path, sizeof path - 16) != ERROR_SUCCESS)
        return -1;
    size_t n = strlen(path);
    snprintf(path + n, sizeof path - n, "/.file-share");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0)
        return -1;
    /* Every user must be able to lock it; only its creator can (and needs
     * to) widen the mode beyond the umask, so EPERM here is expected. */
    (void)fchmod(fd, 0666);
    uint64_t h = ((uint64_t)st->st_dev * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)st->st_ino * 0xC2B2AE3D27D4EB4Full);
    if (lock_op(fd, F_OFD_SETLKW, F_WRLCK, (off_t)(h % GUARD_SLOTS), 1) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void guard_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

static bool conflicts(int fd, DWORD access, DWORD share)
{
    if (wants_read(access) && held_by_other(fd, DENY_READ))
        return true;
    if (wants_write(access) && held_by_other(fd, DENY_WRITE))
        return true;
    if (wants_delete(access) && held_by_other(fd, DENY_DELETE))
        return true;
    if (!(share & FILE_SHARE_READ) && held_by_other(fd, HAVE_READ))
        return true;
    if (!(share & FILE_SHARE_WRITE) && held_by_other(fd, HAVE_WRITE))
        return true;
    if (!(share & FILE_SHARE_DELETE) && held_by_other(fd, HAVE_DELETE))
        return true;
    return false;
}

static DWORD claim(int fd, enum mark m)
{
    if (lock_op(fd, F_OFD_SETLK, F_RDLCK, MARK_BASE + m, 1) == 0)
        return ERROR_SUCCESS;
    switch (errno) {
    case EAGAIN:
    case EACCES:
        return ERROR_SHARING_VIOLATION; /* a foreign exclusive lock covers the marker */
    case EBADF:
    case EINVAL:
        return ERROR_NOT_SUPPORTED; /* fd not readable, or no OFD locks (Linux < 3.15) */
    default:
        return wi_error_from_errno(errno);
    }
}

DWORD wi_share_claim(int fd, const struct stat *st, DWORD access, DWORD share)
{
    bool want[MARK_COUNT] = {
        [HAVE_READ] = wants_read(access),
        [HAVE_WRITE] = wants_write(access),
        [HAVE_DELETE] = wants_delete(access),
        [DENY_READ] = !(share & FILE_SHARE_READ),
        [DENY_WRITE] = !(share & FILE_SHARE_WRITE),
        [DENY_DELETE] = !(share & FILE_SHARE_DELETE),
    };
    DWORD err = ERROR_SUCCESS;

    if (!wi_share_needed(access))
        return ERROR_SUCCESS;
    int guard = guard_lock(st);
    /* Claim first, then check: safe even without the guard. */
    for (int m = 0; m < MARK_COUNT && !err; m++)
        if (want[m])
            err = claim(fd, (enum mark)m);
    if (!err && conflicts(fd, access, share))
        err = ERROR_SHARING_VIOLATION;
    if (err)
        lock_op(fd, F_OFD_SETLK, F_UNLCK, MARK_BASE, MARK_COUNT);
    guard_unlock(guard);
    return err;
}

void wi_share_drop(int fd, DWORD access, DWORD keep)
{
    if (wants_read(access) && !wants_read(keep))
        lock_op(fd, F_OFD_SETLK, F_UNLCK, MARK_BASE + HAVE_READ, 1);
    if (wants_write(access) && !wants_write(keep))
        lock_op(fd, F_OFD_SETLK, F_UNLCK, MARK_BASE + HAVE_WRITE, 1);
    if (wants_delete(access) && !wants_delete(keep))
        lock_op(fd, F_OFD_SETLK, F_UNLCK, MARK_BASE + HAVE_DELETE, 1);
}

DWORD wi_share_unlink(int fd, const struct stat *st, const char *path)
{
    DWORD err = ERROR_SUCCESS;
    int guard = guard_lock(st);
    if (fd >= 0 && held_by_other(fd, DENY_DELETE))
        err = ERROR_SHARING_VIOLATION;
    else if (unlink(path) != 0)
        err = wi_error_from_errno(errno);
    guard_unlock(guard);
    return err;
}
