/* SPDX-License-Identifier: MIT */
/* Handle inheritance and the start block (see inherit.h).
 *
 * Start block layout (a memfd written once by the parent before the spawn,
 * read once by the child's constructor; nobody writes it afterwards):
 *   struct start_header
 *   cmdline bytes, title bytes, desktop bytes, lpReserved2 bytes
 *   nhandles x (struct handle_entry + blob, padded to 8 bytes)
 * A magic and version head it; a child of another layout ignores the block
 * (and then has no inherited handles) instead of misreading it. */
#include "inherit.h"

#include "error.h"
#include "handle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define START_MAGIC 0x42534957u /* "WISB" */
#define START_VERSION 1u

struct start_header {
    uint32_t magic;
    uint32_t version;
    uint64_t total_size;
    int32_t record_fd; /* -1: none */
    uint32_t nhandles;
    uint64_t exe_dev, exe_ino;
    uint32_t cmdline_len, title_len, desktop_len, reserved2_len;
    /* STARTUPINFO fields */
    uint32_t flags, x, y, xsize, ysize, xchars, ychars, fill;
    uint32_t show_window;
    uint32_t has_title, has_desktop;
    uint64_t std_in, std_out, std_err; /* handle values, as the parent passed them */
};

struct handle_entry {
    uint64_t handle;
    uint32_t type, access, flags, nfds;
    int32_t fds[WI_EXPORT_FDS_MAX];
    uint32_t blob_len;
    uint32_t reserved;
    /* blob_len bytes follow, then padding to 8 */
};

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

int wi_fd_above_std(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int saved = errno;
    close(fd);
    errno = saved;
    return moved;
}

/* --- Parent side --------------------------------------------------------------- */

struct buf {
    unsigned char *data;
    size_t len, cap;
};

static DWORD buf_put(struct buf *b, const void *p, size_t n)
{
    if (b->len + n + 8 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 8 > cap)
            cap *= 2;
        unsigned char *d = realloc(b->data, cap);
        if (!d)
            return ERROR_NOT_ENOUGH_MEMORY;
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return ERROR_SUCCESS;
}

static DWORD buf_pad8(struct buf *b)
{
    static const unsigned char zero[8];
    return buf_put(b, zero, ALIGN8(b->len) - b->len);
}

struct fd_list {
    int *fds;
    unsigned n, cap;
};

static DWORD fd_list_add(struct fd_list *l, int fd)
{
    if (l->n == l->cap) {
        unsigned cap = l->cap ? l->cap * 2 : 16;
        int *f = realloc(l->fds, cap * sizeof *f);
        if (!f)
            return ERROR_NOT_ENOUGH_MEMORY;
        l->fds = f;
        l->cap = cap;
    }
    l->fds[l->n++] = fd;
    return ERROR_SUCCESS;
}

struct export_ctx {
    struct buf table;
    struct fd_list fds;
    uint32_t count;
    DWORD err;
};

static void export_one(HANDLE h, struct wi_object *obj, DWORD access, DWORD flags, void *arg)
{
    struct export_ctx *c = arg;
    if (c->err || !(flags & HANDLE_FLAG_INHERIT))
        return;
    struct handle_entry e = {0};
    unsigned char blob[WI_EXPORT_BLOB_MAX];
    unsigned nfds = 0, blob_len = 0;
    int fds[WI_EXPORT_FDS_MAX];
    DWORD err = obj->ops->export_fds(obj, fds, &nfds, blob, &blob_len);
    if (err) {
        c->err = err;
        return;
    }
    e.handle = (uint64_t)(uintptr_t)h;
    e.type = (uint32_t)obj->ops->type;
    e.access = access;
    e.flags = flags;
    e.nfds = nfds;
    e.blob_len = blob_len;
    for (unsigned i = 0; i < nfds; i++) {
        int fd = wi_fd_above_std(fds[i]);
        if (fd < 0 && !err)
            err = wi_error_from_errno(errno);
        if (fd >= 0 && !err && fd_list_add(&c->fds, fd) != ERROR_SUCCESS) {
            err = ERROR_NOT_ENOUGH_MEMORY;
            close(fd);
            fd = -1;
        } else if (fd >= 0 && err) {
            close(fd);
            fd = -1;
        }
        e.fds[i] = fd;
    }
    if (!err)
        err = buf_put(&c->table, &e, sizeof e);
    if (!err)
        err = buf_put(&c->table, blob, blob_len);
    if (!err)
        err = buf_pad8(&c->table);
    if (err)
        c->err = err;
    else
        c->count++;
}

static DWORD new_memfd(const char *name, int *out)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        return wi_error_from_errno(errno);
    fd = wi_fd_above_std(fd);
    if (fd < 0)
        return wi_error_from_errno(errno);
    *out = fd;
    return ERROR_SUCCESS;
}

static DWORD write_all(int fd, const void *p, size_t n)
{
    const unsigned char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return wi_error_from_errno(errno);
        }
        c += w;
        n -= (size_t)w;
    }
    return ERROR_SUCCESS;
}

static size_t opt_len(const char *s)
{
    return s ? strlen(s) : 0;
}

DWORD wi_start_block_build(const struct wi_start_request *req, struct wi_start_block *out)
{
    struct export_ctx c = {0};
    struct start_header h = {0};
    const STARTUPINFOA *si = req->si;
    DWORD err;

    out->fd = out->record_fd = -1;
    out->record = NULL;
    out->fds = NULL;
    out->nfds = out->nexported = 0;

    if (req->inherit_handles)
        wi_handle_foreach(export_one, &c);
    err = c.err;

    /* The exit record: its own page, mapped by parent and child. */
    if (!err)
        err = new_memfd("winipc-exit-record", &out->record_fd);
    if (!err && ftruncate(out->record_fd, sizeof *out->record) != 0)
        err = wi_error_from_errno(errno);
    if (!err) {
        void *p = mmap(NULL, sizeof *out->record, PROT_READ | PROT_WRITE, MAP_SHARED, out->record_fd, 0);
        if (p == MAP_FAILED)
            err = wi_error_from_errno(errno);
        else
            out->record = p;
    }

    if (!err)
        err = new_memfd("winipc-start", &out->fd);
    if (!err) {
        h.magic = START_MAGIC;
        h.version = START_VERSION;
        h.record_fd = out->record_fd;
        h.nhandles = c.count;
        h.exe_dev = req->exe_dev;
        h.exe_ino = req->exe_ino;
        h.cmdline_len = (uint32_t)strlen(req->cmdline);
        h.title_len = (uint32_t)opt_len(si->lpTitle);
        h.desktop_len = (uint32_t)opt_len(si->lpDesktop);
        h.has_title = si->lpTitle != NULL;
        h.has_desktop = si->lpDesktop != NULL;
        h.reserved2_len = si->lpReserved2 ? si->cbReserved2 : 0;
        h.flags = si->dwFlags;
        h.x = si->dwX;
        h.y = si->dwY;
        h.xsize = si->dwXSize;
        h.ysize = si->dwYSize;
        h.xchars = si->dwXCountChars;
        h.ychars = si->dwYCountChars;
        h.fill = si->dwFillAttribute;
        h.show_window = si->wShowWindow;
        h.std_in = (uint64_t)(uintptr_t)si->hStdInput;
        h.std_out = (uint64_t)(uintptr_t)si->hStdOutput;
        h.std_err = (uint64_t)(uintptr_t)si->hStdError;
        h.total_size = sizeof h + h.cmdline_len + h.title_len + h.desktop_len + h.reserved2_len + c.table.len;
        err = write_all(out->fd, &h, sizeof h);
    }
    if (!err)
        err = write_all(out->fd, req->cmdline, h.cmdline_len);
    if (!err && h.title_len)
        err = write_all(out->fd, si->lpTitle, h.title_len);
    if (!err && h.desktop_len)
        err = write_all(out->fd, si->lpDesktop, h.desktop_len);
    if (!err && h.reserved2_len)
        err = write_all(out->fd, si->lpReserved2, h.reserved2_len);
    if (!err && c.table.len)
        err = write_all(out->fd, c.table.data, c.table.len);
    if (!err)
        err = fd_list_add(&c.fds, out->fd);
    if (!err)
        err = fd_list_add(&c.fds, out->record_fd);
    free(c.table.data);
    out->fds = c.fds.fds;
    out->nfds = c.fds.n;
    out->nexported = c.fds.n < 2 ? c.fds.n : c.fds.n - 2;
    if (err) {
        /* Close what was exported (the handles' fds come first in the list,
         * and the memfds may or may not follow). */
        for (unsigned i = 0; i < out->nfds; i++)
            if (out->fds[i] != out->fd && out->fds[i] != out->record_fd)
                close(out->fds[i]);
        out->nfds = out->nexported = 0;
        if (out->record)
            munmap(out->record, sizeof *out->record);
        out->record = NULL;
        if (out->record_fd >= 0)
            close(out->record_fd);
        out->record_fd = -1;
        wi_start_block_close(out);
        return err;
    }
    return ERROR_SUCCESS;
}

void wi_start_block_close(struct wi_start_block *b)
{
    for (unsigned i = 0; i < b->nexported; i++)
        close(b->fds[i]);
    free(b->fds);
    b->fds = NULL;
    b->nfds = b->nexported = 0;
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
    if (b->record)
        munmap(b->record, sizeof *b->record);
    b->record = NULL;
    if (b->record_fd >= 0)
        close(b->record_fd);
    b->record_fd = -1;
}

/* --- Child side ---------------------------------------------------------------- */

static struct wi_start_info start_info = {.si = {.cb = sizeof(STARTUPINFOA)}};

const struct wi_start_info *wi_start_info(void)
{
    return &start_info;
}

static void set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0)
        fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

static char *copy_string(const unsigned char *p, uint32_t len)
{
    char *s = malloc((size_t)len + 1);
    if (s) {
        memcpy(s, p, len);
        s[len] = 0;
    }
    return s;
}

/* Rebuild the inherited handles. When the block was made for this program
 * (`ours`), every fd an entry names is ours: it is either taken over by an
 * object or closed. Under a program in between that did not link winipc,
 * an fd that does not import may be that program's own: it stays open. */
static void import_handles(const unsigned char *p, const unsigned char *end, uint32_t count, bool ours)
{
    for (uint32_t i = 0; i < count; i++) {
        struct handle_entry e;
        if ((size_t)(end - p) < sizeof e)
            return;
        memcpy(&e, p, sizeof e);
        p += sizeof e;
        if (e.nfds > WI_EXPORT_FDS_MAX || e.blob_len > WI_EXPORT_BLOB_MAX || (size_t)(end - p) < e.blob_len)
            return;
        const unsigned char *blob = p;
        p += ALIGN8(sizeof e + e.blob_len) - sizeof e;
        for (unsigned k = 0; k < e.nfds; k++)
            set_cloexec(e.fds[k]);
        const struct wi_object_ops *ops = wi_ops_for_type((enum wi_type)e.type);
        struct wi_object *obj = NULL;
        DWORD err = ops ? ops->import(e.fds, e.nfds, blob, e.blob_len, &obj) : ERROR_INVALID_HANDLE;
        if (err) {
            for (unsigned k = 0; k < e.nfds && ours; k++)
                close(e.fds[k]);
            continue;
        }
        if (wi_handle_insert_at((HANDLE)(uintptr_t)e.handle, obj, e.access, e.flags) != ERROR_SUCCESS)
            wi_object_release(obj);
    }
}

/* Windows gives the child the parent's hStd* values as its standard
 * handles. When one of them was inherited (it is then a valid handle here,
 * at the same value), GetStdHandle returns it; otherwise GetStdHandle keeps
 * opening fds 0-2, which the spawn redirected in any case. */
static void adopt_std_handles(const STARTUPINFOA *si)
{
    static const DWORD which[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    HANDLE hs[3] = {si->hStdInput, si->hStdOutput, si->hStdError};
    for (int i = 0; i < 3; i++) {
        struct wi_pin pin;
        if (!hs[i] || hs[i] == INVALID_HANDLE_VALUE || wi_handle_get(hs[i], WI_TYPE_NONE, 0, &pin) != ERROR_SUCCESS)
            continue;
        wi_handle_put(&pin);
        SetStdHandle(which[i], hs[i]);
    }
}

static bool same_program(const struct start_header *h)
{
    struct stat st;
    return stat("/proc/self/exe", &st) == 0 && (uint64_t)st.st_dev == h->exe_dev && (uint64_t)st.st_ino == h->exe_ino;
}

static void read_start_block(int fd)
{
    struct start_header h;
    struct stat st;
    if (fstat(fd, &st) != 0 || pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
        return; /* not ours: leave that fd alone */
    if (h.magic != START_MAGIC || h.version != START_VERSION || h.total_size > (uint64_t)st.st_size ||
        h.total_size < sizeof h || h.total_size > (64u << 20))
        return;
    unsigned char *data = malloc(h.total_size);
    if (!data || pread(fd, data, h.total_size, 0) != (ssize_t)h.total_size) {
        free(data);
        close(fd);
        return;
    }
    const unsigned char *p = data + sizeof h, *end = data + h.total_size;
    uint64_t strings = (uint64_t)h.cmdline_len + h.title_len + h.desktop_len + h.reserved2_len;
    if (strings > (uint64_t)(end - p)) {
        free(data);
        close(fd);
        return;
    }
    bool ours = same_program(&h);
    if (ours) {
        /* The parent started this very program: the command line, the
         * startup info and the exit record are for us. */
        start_info.cmdline = copy_string(p, h.cmdline_len);
        STARTUPINFOA *si = &start_info.si;
        const unsigned char *q = p + h.cmdline_len;
        si->lpTitle = h.has_title ? copy_string(q, h.title_len) : NULL;
        q += h.title_len;
        si->lpDesktop = h.has_desktop ? copy_string(q, h.desktop_len) : NULL;
        q += h.desktop_len;
        if (h.reserved2_len && h.reserved2_len <= 0xffff) {
            si->lpReserved2 = malloc(h.reserved2_len);
            if (si->lpReserved2) {
                memcpy(si->lpReserved2, q, h.reserved2_len);
                si->cbReserved2 = (WORD)h.reserved2_len;
            }
        }
        si->dwFlags = h.flags;
        si->dwX = h.x;
        si->dwY = h.y;
        si->dwXSize = h.xsize;
        si->dwYSize = h.ysize;
        si->dwXCountChars = h.xchars;
        si->dwYCountChars = h.ychars;
        si->dwFillAttribute = h.fill;
        si->wShowWindow = (WORD)h.show_window;
        si->hStdInput = (HANDLE)(uintptr_t)h.std_in;
        si->hStdOutput = (HANDLE)(uintptr_t)h.std_out;
        si->hStdError = (HANDLE)(uintptr_t)h.std_err;
        start_info.from_parent = start_info.cmdline != NULL;
    }
    if (h.record_fd >= 3) {
        if (ours) {
            void *r = mmap(NULL, sizeof(struct wi_exit_record), PROT_READ | PROT_WRITE, MAP_SHARED, h.record_fd, 0);
            if (r != MAP_FAILED)
                wi_process_set_own_record(r);
            close(h.record_fd);
        } else {
            /* Another program's record (we run under a program that
             * did not link winipc): not ours to write or to close. */
            set_cloexec(h.record_fd);
        }
    }
    import_handles(p + strings, end, h.nhandles, ours);
    if (ours && (h.flags & STARTF_USESTDHANDLES))
        adopt_std_handles(&start_info.si);
    free(data);
    close(fd);
}

/* Runs before main() in every process that links winipc. */
/* Priority 200: before control.c's start-up, which reports readiness
 * through the exit record installed here. */
__attribute__((constructor(200))) static void inherit_startup(void)
{
    /* One descriptor per named object: let the process use all it may
     * (DESIGN.md, "pitfalls"). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    const char *v = getenv(WI_START_ENV);
    if (!v)
        return;
    char *endp;
    errno = 0;
    long fd = strtol(v, &endp, 10);
    bool valid = !errno && *v && !*endp && fd >= 3 && fd <= INT_MAX;
    unsetenv(WI_START_ENV);
    if (valid)
        read_start_block((int)fd);
}
