/* SPDX-License-Identifier: MIT */
/* winipc: list live named objects and pipes (like Sysinternals' WinObj and
 * pipelist), talk to a pipe or a mailslot, run the benchmarks.
 *
 * A Win32 program: pipes, mailslots, processes and error texts go through
 * the Win32 API; only the listings use winipc's extension (winipc.h), since
 * Windows offers no documented API for them. Manual: docs/tool.md,
 * docs/winipc.1. Exit status: 0 success, 1 failure, 2 usage error. */
#include <windows.h>
#include <winipc.h>

#include <dirent.h>
#include <ftw.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define IO_BUFFER 65536

/* --- the manual ------------------------------------------------------------------ */

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis;
    const char *summary;
    const char *description;
};

static const struct command *find_command(const char *name);
static const struct command commands[];

static const char overview[] =
    "NAME\n"
    "    winipc - inspect and exercise winipc's Win32 IPC objects\n"
    "\n"
    "SYNOPSIS\n"
    "    winipc COMMAND [OPTION]... [ARGUMENT]...\n"
    "    winipc help [COMMAND]\n"
    "\n"
    "COMMANDS\n";

static const char overview_tail[] =
    "\n"
    "NAMES\n"
    "    Pipe and mailslot names are given in full (\\\\.\\pipe\\NAME,\n"
    "    \\\\.\\mailslot\\NAME) or short (NAME). Kernel-object names may carry\n"
    "    Global\\ or Local\\. Quote backslashes for the shell.\n"
    "\n"
    "ENVIRONMENT\n"
    "    WINIPC_ROOT    where winipc keeps its names (default /dev/shm/winipc);\n"
    "                   the tool sees the objects of programs that use the same.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success, 1 failure (the Windows error is printed), 2 usage error.\n"
    "\n"
    "SEE ALSO\n"
    "    winipc help COMMAND, winipc(1), docs/tool.md\n";

static void print_command_help(FILE *out, const struct command *c)
{
    fprintf(out, "NAME\n    winipc %s - %s\n\nSYNOPSIS\n    winipc %s\n\nDESCRIPTION\n%s", c->name, c->summary,
            c->synopsis, c->description);
}

/* A usage error: what is wrong, the synopsis, exit status 2. */
static int usage(const struct command *c, const char *fmt, const char *arg)
{
    fprintf(stderr, "winipc: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    if (c)
        fprintf(stderr, "usage: winipc %s\nTry 'winipc help %s'.\n", c->synopsis, c->name);
    else
        fprintf(stderr, "Try 'winipc help'.\n");
    return EXIT_USAGE;
}

/* A failed call: its Windows error in Windows' words. */
static int fail(const char *what, const char *name, DWORD err)
{
    char *msg = NULL;
    DWORD n = FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                                 FORMAT_MESSAGE_IGNORE_INSERTS,
                             NULL, err, 0, (LPSTR)&msg, 0, NULL);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' '))
        msg[--n] = 0;
    fprintf(stderr, "winipc: %s%s%s: %s (error %lu)\n", what, name ? " " : "", name ? name : "",
            n ? msg : "unknown error", (unsigned long)err);
    if (msg)
        LocalFree(msg);
    return EXIT_FAILURE;
}

/* --- arguments ------------------------------------------------------------------- */

/* Options may come anywhere; "--" ends them. Each command lists the options
 * it takes; *value receives the argument of those that have one. */
struct option {
    const char *name; /* "--wait" */
    bool has_value;
    bool set;
    const char *value;
};

/* Sort argv into options and positional arguments (left in pos[]). Returns
 * 0, or the usage error's exit status. */
static int parse(const struct command *c, int argc, char **argv, struct option *opts, size_t nopts, char **pos,
                 int *npos)
{
    bool options_done = false;
    *npos = 0;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == 0) {
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        size_t len = strcspn(a, "=");
        struct option *o = NULL;
        for (size_t k = 0; k < nopts; k++)
            if (strlen(opts[k].name) == len && strncmp(opts[k].name, a, len) == 0)
                o = &opts[k];
        if (!o)
            return usage(c, "unknown option '%s'", a);
        o->set = true;
        if (!o->has_value) {
            if (a[len])
                return usage(c, "option '%s' takes no value", o->name);
        } else if (a[len]) {
            o->value = a + len + 1;
        } else if (i + 1 < argc) {
            o->value = argv[++i];
        } else {
            return usage(c, "option '%s' needs a value", o->name);
        }
    }
    return 0;
}

/* A DWORD option value (decimal); "infinite" for INFINITE where allowed. */
static bool parse_dword(const char *s, bool infinite_ok, DWORD *out)
{
    char *end;
    if (infinite_ok && strcasecmp(s, "infinite") == 0) {
        *out = INFINITE;
        return true;
    }
    if (!s[0] || s[0] == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v > 0xFFFFFFFEull)
        return false;
    *out = (DWORD)v;
    return true;
}

static bool is_sep(char c)
{
    return c == '\\' || c == '/';
}

/* "\\.\pipe\x", "\\server\mailslot\x" (either slash) stay as they are; a
 * short "x" becomes "\\.\<kind>\x". */
static const char *full_name(const char *arg, const char *kind, char *buf, size_t size)
{
    if (is_sep(arg[0]) && is_sep(arg[1]))
        return arg;
    snprintf(buf, size, "\\\\.\\%s\\%s", kind, arg);
    return buf;
}

/* Write all of `len` bytes to standard output, through its Windows handle. */
static bool put_out(const void *data, DWORD len)
{
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    const char *p = data;
    fflush(stdout);
    while (len) {
        DWORD done;
        if (!WriteFile(out, p, len, &done, NULL))
            return false;
        p += done;
        len -= done;
    }
    return true;
}

/* One client's or message's data as a line of its own. */
static bool put_record(const char *data, DWORD len)
{
    return put_out(data, len) && (len && data[len - 1] == '\n' ? true : put_out("\n", 1));
}

/* --- objects --------------------------------------------------------------------- */

struct object_filter {
    int ns;           /* -1 any, 0 Local, 1 Global */
    const char *name; /* NULL: every object */
    bool all_users;
    unsigned count;
};

static const char *user_name(DWORD uid, char *buf, size_t size)
{
    struct passwd *pw = getpwuid((uid_t)uid);
    if (pw)
        snprintf(buf, size, "%s", pw->pw_name);
    else
        snprintf(buf, size, "%lu", (unsigned long)uid);
    return buf;
}

static BOOL print_object(const WINIPC_OBJECT_INFO *o, void *ctx)
{
    struct object_filter *f = ctx;
    char size[32] = "", holders[16], user[64];
    if ((f->ns >= 0 && o->Global != (f->ns == 1)) || (f->name && strcmp(o->Name, f->name) != 0))
        return TRUE;
    if (!strcmp(o->TypeName, "Section"))
        snprintf(size, sizeof size, "%llu", (unsigned long long)o->SectionSize);
    if (o->Holders == WINIPC_HOLDERS_UNKNOWN)
        snprintf(holders, sizeof holders, "?");
    else
        snprintf(holders, sizeof holders, "%lu", (unsigned long)o->Holders);
    printf("%-10s %-9s ", o->TypeName, o->Global ? "Global" : "Local");
    if (f->all_users)
        printf("%-12s ", user_name(o->OwnerUid, user, sizeof user));
    printf("%7s %12s  %s%s\n", holders, size, o->Name, o->NameIsEscaped ? "  (escaped file name)" : "");
    f->count++;
    return TRUE;
}

static int cmd_objects(int argc, char **argv)
{
    const struct command *c = find_command("objects");
    struct option opts[] = {{"--all-users", false, false, NULL}};
    char *pos[64];
    int npos;
    int r = argc > 64 ? usage(c, "%s", "too many arguments") : parse(c, argc, argv, opts, 1, pos, &npos);
    if (r)
        return r;
    if (npos > 1)
        return usage(c, "unexpected argument '%s'", pos[1]);
    struct object_filter f = {.ns = -1, .all_users = opts[0].set};
    if (npos == 1) {
        f.name = pos[0];
        if (strncasecmp(f.name, "Global\\", 7) == 0) {
            f.ns = 1;
            f.name += 7;
        } else if (strncasecmp(f.name, "Local\\", 6) == 0) {
            f.ns = 0;
            f.name += 6;
        }
    }
    printf("%-10s %-9s ", "TYPE", "NAMESPACE");
    if (f.all_users)
        printf("%-12s ", "USER");
    printf("%7s %12s  %s\n", "HOLDERS", "SIZE", "NAME");
    if (!WinipcEnumObjects(f.all_users ? WINIPC_ENUM_ALL_USERS : 0, print_object, &f))
        return fail("cannot list objects", NULL, GetLastError());
    fflush(stdout);
    if (f.name && !f.count) {
        fprintf(stderr, "winipc: no live object named %s\n", pos[0]);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

/* --- pipes ----------------------------------------------------------------------- */

struct pipe_rows {
    WINIPC_PIPE_INFO *v;
    size_t n;
    const char *name; /* filter, NULL for all */
    bool nomem;
};

static BOOL collect_pipe(const WINIPC_PIPE_INFO *p, void *ctx)
{
    struct pipe_rows *rows = ctx;
    if (rows->name && strcasecmp(p->Name, rows->name) != 0)
        return TRUE;
    WINIPC_PIPE_INFO *v = realloc(rows->v, (rows->n + 1) * sizeof *v);
    if (!v) {
        rows->nomem = true;
        return FALSE;
    }
    rows->v = v;
    rows->v[rows->n++] = *p;
    return TRUE;
}

static int cmd_pipes(int argc, char **argv)
{
    const struct command *c = find_command("pipes");
    char *pos[64];
    int npos;
    int r = argc > 64 ? usage(c, "%s", "too many arguments") : parse(c, argc, argv, NULL, 0, pos, &npos);
    if (r)
        return r;
    if (npos > 1)
        return usage(c, "unexpected argument '%s'", pos[1]);
    struct pipe_rows rows = {0};
    if (npos == 1) {
        /* The name inside \\.\pipe\, whichever form was given. */
        const char *n = pos[0];
        if (is_sep(n[0]) && is_sep(n[1]) && n[2] && is_sep(n[3]) && strncasecmp(n + 4, "pipe", 4) == 0 &&
            is_sep(n[8]))
            n += 9;
        rows.name = n;
    }
    if (!WinipcEnumPipes(0, collect_pipe, &rows)) {
        free(rows.v);
        return fail("cannot list pipes", NULL, GetLastError());
    }
    if (rows.nomem) {
        free(rows.v);
        return fail("cannot list pipes", NULL, ERROR_NOT_ENOUGH_MEMORY);
    }
    int width = 4;
    for (size_t i = 0; i < rows.n; i++)
        if ((int)strlen(rows.v[i].Name) > width)
            width = (int)strlen(rows.v[i].Name);
    printf("%-*s  %-15s %-8s %s\n", width, "NAME", "INSTANCES", "TYPE", "SERVER PIDS");
    for (size_t i = 0; i < rows.n; i++) {
        const WINIPC_PIPE_INFO *p = &rows.v[i];
        char inst[32];
        if (p->MaxInstances >= PIPE_UNLIMITED_INSTANCES)
            snprintf(inst, sizeof inst, "%lu/unlimited", (unsigned long)p->Instances);
        else
            snprintf(inst, sizeof inst, "%lu/%lu", (unsigned long)p->Instances, (unsigned long)p->MaxInstances);
        printf("%-*s  %-15s %-8s ", width, p->Name, inst, p->PipeType == PIPE_TYPE_MESSAGE ? "message" : "byte");
        for (DWORD k = 0; k < p->ServerProcessIdCount; k++)
            printf("%s%lu", k ? "," : "", (unsigned long)p->ServerProcessIds[k]);
        printf("%s\n", p->NameIsEscaped ? "  (escaped file name)" : "");
    }
    fflush(stdout);
    size_t found = rows.n;
    free(rows.v);
    if (rows.name && !found) {
        fprintf(stderr, "winipc: no live pipe named %s\n", pos[0]);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

/* --- pipe-send ------------------------------------------------------------------- */

/* Open the pipe as a client, as Windows clients do: CreateFile, and while
 * every instance is busy, WaitNamedPipe for the time left. */
static HANDLE open_pipe_client(const char *name, DWORD wait_ms, bool *can_read)
{
    ULONGLONG deadline = GetTickCount64() + (wait_ms == INFINITE ? 0 : wait_ms);
    *can_read = true;
    if (wait_ms && !WaitNamedPipeA(name, wait_ms))
        return INVALID_HANDLE_VALUE;
    for (;;) {
        HANDLE h = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
        if (h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_ACCESS_DENIED) {
            /* An inbound pipe: the server only reads. */
            h = CreateFileA(name, GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
            *can_read = false;
        }
        if (h != INVALID_HANDLE_VALUE || GetLastError() != ERROR_PIPE_BUSY || !wait_ms)
            return h;
        ULONGLONG now = GetTickCount64();
        DWORD left = wait_ms == INFINITE ? NMPWAIT_WAIT_FOREVER : now >= deadline ? 0 : (DWORD)(deadline - now);
        if (!left) {
            SetLastError(ERROR_PIPE_BUSY);
            return INVALID_HANDLE_VALUE;
        }
        if (!WaitNamedPipeA(name, left))
            return INVALID_HANDLE_VALUE;
    }
}

static int cmd_pipe_send(int argc, char **argv)
{
    const struct command *c = find_command("pipe-send");
    struct option opts[] = {{"--wait", true, false, NULL}};
    char *pos[64], buf[MAX_PATH * 4 + 32];
    int npos;
    DWORD wait_ms = 0, done;
    bool can_read;
    int r = argc > 64 ? usage(c, "%s", "too many arguments") : parse(c, argc, argv, opts, 1, pos, &npos);
    if (r)
        return r;
    if (npos != 2)
        return usage(c, npos < 2 ? "%s" : "unexpected argument '%s'", npos < 2 ? "NAME and TEXT are required" : pos[2]);
    if (opts[0].set && !parse_dword(opts[0].value, true, &wait_ms))
        return usage(c, "bad --wait value '%s' (milliseconds or 'infinite')", opts[0].value);
    const char *name = full_name(pos[0], "pipe", buf, sizeof buf);
    HANDLE h = open_pipe_client(name, wait_ms, &can_read);
    if (h == INVALID_HANDLE_VALUE)
        return fail("cannot connect to", name, GetLastError());
    DWORD len = (DWORD)strlen(pos[1]);
    if (!WriteFile(h, pos[1], len, &done, NULL) || done != len) {
        DWORD err = GetLastError();
        CloseHandle(h);
        return fail("cannot write to", name, err);
    }
    int status = EXIT_SUCCESS;
    if (can_read) {
        /* The answer, until the server closes or disconnects. */
        char *data = malloc(IO_BUFFER);
        for (;;) {
            if (!data) {
                status = fail("cannot read from", name, ERROR_NOT_ENOUGH_MEMORY);
                break;
            }
            BOOL ok = ReadFile(h, data, IO_BUFFER, &done, NULL);
            DWORD err = ok ? ERROR_SUCCESS : GetLastError();
            if ((ok || err == ERROR_MORE_DATA) && !put_out(data, done)) {
                status = fail("cannot write the answer", NULL, GetLastError());
                break;
            }
            if (ok || err == ERROR_MORE_DATA)
                continue;
            if (err != ERROR_BROKEN_PIPE && err != ERROR_PIPE_NOT_CONNECTED)
                status = fail("cannot read from", name, err);
            break;
        }
        free(data);
    }
    CloseHandle(h);
    return status;
}

/* --- pipe-listen ----------------------------------------------------------------- */

/* Read one client's request: what one read returns (a message, whole, in
 * message mode). FALSE with ERROR_BROKEN_PIPE when it sent nothing. */
static BOOL read_request(HANDLE h, char **data, DWORD *len)
{
    DWORD cap = IO_BUFFER, n;
    *len = 0;
    for (;;) {
        char *more = realloc(*data, cap);
        if (!more) {
            SetLastError(ERROR_NOT_ENOUGH_MEMORY);
            return FALSE;
        }
        *data = more;
        if (ReadFile(h, *data + *len, cap - *len, &n, NULL)) {
            *len += n;
            return TRUE;
        }
        if (GetLastError() != ERROR_MORE_DATA)
            return FALSE;
        *len += n;
        cap *= 2;
    }
}

static int cmd_pipe_listen(int argc, char **argv)
{
    const struct command *c = find_command("pipe-listen");
    struct option opts[] = {
        {"--once", false, false, NULL},
        {"--reply", true, false, NULL},
        {"--message", false, false, NULL},
    };
    char *pos[64], buf[MAX_PATH * 4 + 32], *data = NULL;
    int npos;
    int r = argc > 64 ? usage(c, "%s", "too many arguments") : parse(c, argc, argv, opts, 3, pos, &npos);
    if (r)
        return r;
    if (npos != 1)
        return usage(c, npos < 1 ? "%s" : "unexpected argument '%s'", npos < 1 ? "NAME is required" : pos[1]);
    const char *name = full_name(pos[0], "pipe", buf, sizeof buf);
    DWORD mode = opts[2].set ? PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE : PIPE_TYPE_BYTE | PIPE_READMODE_BYTE;
    HANDLE h = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, mode | PIPE_WAIT, PIPE_UNLIMITED_INSTANCES, IO_BUFFER,
                                IO_BUFFER, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return fail("cannot create", name, GetLastError());
    int status = EXIT_SUCCESS;
    for (;;) {
        DWORD len = 0, done;
        if (!ConnectNamedPipe(h, NULL) && GetLastError() != ERROR_PIPE_CONNECTED &&
            GetLastError() != ERROR_NO_DATA) {
            status = fail("cannot wait for a client on", name, GetLastError());
            break;
        }
        if (read_request(h, &data, &len)) {
            if (!put_record(data, len)) {
                status = fail("cannot write the request", NULL, GetLastError());
                break;
            }
            if (opts[1].set) {
                DWORD rlen = (DWORD)strlen(opts[1].value);
                if (!WriteFile(h, opts[1].value, rlen, &done, NULL))
                    fail("cannot answer on", name, GetLastError()); /* the client left: serve the next */
                else
                    FlushFileBuffers(h); /* let the client read it before the disconnect */
            }
        } else if (GetLastError() != ERROR_BROKEN_PIPE && GetLastError() != ERROR_PIPE_NOT_CONNECTED) {
            fail("cannot read from", name, GetLastError());
        }
        DisconnectNamedPipe(h);
        if (opts[0].set)
            break;
    }
    free(data);
    CloseHandle(h);
    return status;
}

/* --- mailslots ------------------------------------------------------------------- */

static int cmd_mailslot_send(int argc, char **argv)
{
    const struct command *c = find_command("mailslot-send");
    char *pos[64], buf[MAX_PATH * 4 + 32];
    int npos;
    DWORD done;
    int r = argc > 64 ? usage(c, "%s", "too many arguments") : parse(c, argc, argv, NULL, 0, pos, &npos);
    if (r)
        return r;
    if (npos != 2)
        return usage(c, npos < 2 ? "%s" : "unexpected argument '%s'", npos < 2 ? "NAME and TEXT are required" : pos[2]);
    const char *name = full_name(pos[0], "mailslot", buf, sizeof buf);
    HANDLE h = CreateFileA(name, GENERIC_WRITE, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return fail("cannot open", name, GetLastError());
    DWORD len = (DWORD)strlen(pos[1]);
    BOOL ok = WriteFile(h, pos[1], len, &done, NULL);
    DWORD err = GetLastError();
    CloseHandle(h);
    return ok ? EXIT_SUCCESS : fail("cannot write to", name, err);
}

static int cmd_mailslot_read(int argc, char **argv)
{
    const struct command *c = find_command("mailslot-read");
    struct option opts[] = {{"--count", true, false, NULL}, {"--timeout", true, false, NULL}};
    char *pos[64], buf[MAX_PATH * 4 + 32];
    int npos;
    DWORD count = 0, timeout = MAILSLOT_WAIT_FOREVER;
    int r = argc > 64 ? usage(c, "%s", "too many arguments") : parse(c, argc, argv, opts, 2, pos, &npos);
    if (r)
        return r;
    if (npos != 1)
        return usage(c, npos < 1 ? "%s" : "unexpected argument '%s'", npos < 1 ? "NAME is required" : pos[1]);
    if (opts[0].set && (!parse_dword(opts[0].value, false, &count) || count == 0))
        return usage(c, "bad --count value '%s' (a positive number)", opts[0].value);
    if (opts[1].set && !parse_dword(opts[1].value, true, &timeout))
        return usage(c, "bad --timeout value '%s' (milliseconds or 'infinite')", opts[1].value);
    const char *name = full_name(pos[0], "mailslot", buf, sizeof buf);
    HANDLE h = CreateMailslotA(name, 0, timeout, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return fail("cannot create", name, GetLastError());
    DWORD cap = IO_BUFFER, got = 0, len;
    char *data = malloc(cap);
    int status = EXIT_SUCCESS;
    while (!count || got < count) {
        if (!data) {
            status = fail("cannot read from", name, ERROR_NOT_ENOUGH_MEMORY);
            break;
        }
        if (ReadFile(h, data, cap, &len, NULL)) {
            got++;
            if (!put_record(data, len)) {
                status = fail("cannot write the message", NULL, GetLastError());
                break;
            }
            continue;
        }
        DWORD err = GetLastError(), next = 0;
        if (err == ERROR_INSUFFICIENT_BUFFER && GetMailslotInfo(h, NULL, &next, NULL, NULL) &&
            next != MAILSLOT_NO_MESSAGE && next > cap) {
            char *bigger = realloc(data, next);
            if (bigger)
                cap = next;
            else
                free(data);
            data = bigger;
            continue;
        }
        if (err == ERROR_SEM_TIMEOUT) {
            /* The end of the wait: a failure only if messages were asked for. */
            if (count) {
                fprintf(stderr, "winipc: %lu of %lu messages arrived in time\n", (unsigned long)got,
                        (unsigned long)count);
                status = EXIT_FAILURE;
            }
        } else {
            status = fail("cannot read from", name, err);
        }
        break;
    }
    free(data);
    CloseHandle(h);
    return status;
}

/* --- bench ----------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The benchmark programs built next to the tool: build/bench/ for
 * build/tools/winipc. An installed tool has none. */
static int cmd_bench(int argc, char **argv)
{
    const struct command *c = find_command("bench");
    char self[4096], dir[4200], *pos[64], *names[256];
    int npos, nnames = 0, status = EXIT_SUCCESS;
    int r = argc > 64 ? usage(c, "%s", "too many arguments") : parse(c, argc, argv, NULL, 0, pos, &npos);
    if (r)
        return r;
    DWORD n = GetModuleFileNameA(NULL, self, sizeof self);
    if (!n || n >= sizeof self)
        return fail("cannot find the tool's own path", NULL, n ? ERROR_INSUFFICIENT_BUFFER : GetLastError());
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    snprintf(dir, sizeof dir, "%s/../bench", self);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && nnames < 256) {
        char path[8400];
        struct stat st;
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || (len > 2 && strcmp(e->d_name + len - 2, ".d") == 0))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0)
            continue;
        bool wanted = npos == 0;
        for (int i = 0; i < npos && !wanted; i++)
            wanted = strstr(e->d_name, pos[i]) != NULL;
        if (wanted && (names[nnames] = strdup(e->d_name)))
            nnames++;
    }
    if (d)
        closedir(d);
    if (!nnames) {
        fprintf(stderr,
                "winipc: no %sbenchmark programs next to this tool (looked in %s).\n"
                "In a winipc source tree, build and run them with: make bench\n",
                npos ? "matching " : "", dir);
        return EXIT_FAILURE;
    }
    qsort(names, (size_t)nnames, sizeof names[0], compare_strings);

    /* A namespace of their own, as `make bench` gives them: no benchmark
     * meets a live program's names, and nothing they leave behind stays. */
    char root[] = "/dev/shm/winipc-bench.XXXXXX", troot[] = "/tmp/winipc-bench.XXXXXX";
    char *broot = mkdtemp(root);
    if (!broot)
        broot = mkdtemp(troot);
    if (!broot || !SetEnvironmentVariableA("WINIPC_ROOT", broot)) {
        for (int i = 0; i < nnames; i++)
            free(names[i]);
        return fail("cannot make a private namespace for the benchmarks", NULL,
                    broot ? GetLastError() : ERROR_PATH_NOT_FOUND);
    }
    printf("%-44s %16s  %-37s %16s\n", "benchmark", "winipc", "raw Linux primitive", "");
    fflush(stdout);
    for (int i = 0; i < nnames; i++) {
        char cmd[8400];
        STARTUPINFOA si;
        PROCESS_INFORMATION pi;
        DWORD code = 1;
        memset(&si, 0, sizeof si);
        si.cb = sizeof si;
        snprintf(cmd, sizeof cmd, "\"%s/%s\"", dir, names[i]);
        if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
            fail("cannot run", names[i], GetLastError());
        } else {
            WaitForSingleObject(pi.hProcess, INFINITE);
            GetExitCodeProcess(pi.hProcess, &code);
            CloseHandle(pi.hThread);
            CloseHandle(pi.hProcess);
        }
        if (code != 0) {
            fprintf(stderr, "winipc: benchmark %s failed (exit status %lu)\n", names[i], (unsigned long)code);
            status = EXIT_FAILURE;
        }
        free(names[i]);
    }
    nftw(broot, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return status;
}

/* --- help ------------------------------------------------------------------------ */

static int cmd_help(int argc, char **argv)
{
    const struct command *c = find_command("help");
    if (argc > 1)
        return usage(c, "unexpected argument '%s'", argv[1]);
    if (argc == 1) {
        const struct command *about = find_command(argv[0]);
        if (!about)
            return usage(c, "no command '%s'", argv[0]);
        print_command_help(stdout, about);
        return EXIT_SUCCESS;
    }
    fputs(overview, stdout);
    for (const struct command *k = commands; k->name; k++)
        printf("    %-14s %s\n", k->name, k->summary);
    fputs(overview_tail, stdout);
    return EXIT_SUCCESS;
}

static const struct command commands[] = {
    {"objects", cmd_objects, "objects [--all-users] [NAME]", "list live named kernel objects",
     "    Lists the named events, mutexes (Mutant), semaphores, waitable timers\n"
     "    and file mappings (Section) that some process holds, like WinObj's\n"
     "    BaseNamedObjects: the Global namespace and the caller's Local one.\n"
     "    Names left by processes that were killed are removed on the way.\n"
     "\n"
     "    HOLDERS counts the references to the name: each CreateX or OpenX call\n"
     "    of a process that has not closed it (a process that opened the name\n"
     "    twice counts twice; its duplicated handles and mapped views do not).\n"
     "    SIZE is a section's size in bytes. A name that was too long to be\n"
     "    stored whole and could not be recovered is shown as its escaped file\n"
     "    name, marked so.\n"
     "\n"
     "    NAME (Global\\x, Local\\x or x) shows only that object; exit status 1\n"
     "    if there is none.\n"
     "\n"
     "    --all-users   also other users' Local namespaces (when readable: root);\n"
     "                  adds a USER column.\n"},
    {"pipes", cmd_pipes, "pipes [NAME]", "list live named pipes",
     "    Lists the named pipes that have at least one live server instance,\n"
     "    like Sysinternals' pipelist: the name, the live instances against the\n"
     "    maximum (\"unlimited\" for PIPE_UNLIMITED_INSTANCES), the pipe type\n"
     "    (byte or message) and the process ids of the servers.\n"
     "\n"
     "    NAME (\\\\.\\pipe\\x or x, any case) shows only that pipe; exit status 1\n"
     "    if there is none.\n"},
    {"pipe-send", cmd_pipe_send, "pipe-send [--wait MS] NAME TEXT", "send TEXT to a pipe, print the answer",
     "    Connects to the pipe as a client (CreateFile), writes TEXT and prints\n"
     "    whatever the server answers until it closes or disconnects the pipe.\n"
     "    To an inbound pipe (the server only reads) it only writes.\n"
     "\n"
     "    --wait MS     first wait up to MS milliseconds (or 'infinite') for a\n"
     "                  free instance (WaitNamedPipe), and again while every\n"
     "                  instance is busy. Without it a busy pipe is an error.\n"},
    {"pipe-listen", cmd_pipe_listen, "pipe-listen [--once] [--reply TEXT] [--message] NAME",
     "serve a pipe, print what clients send",
     "    Creates a server instance of the pipe (CreateNamedPipe, duplex, any\n"
     "    number of instances) and serves one client after the other: it reads\n"
     "    the client's request (what one read returns: a client's write of up to\n"
     "    64 KiB, or one message), prints it on a line of its own, answers TEXT\n"
     "    if asked, then disconnects the client (after it has read the answer).\n"
     "\n"
     "    --once        stop after the first client.\n"
     "    --reply TEXT  answer each client with TEXT.\n"
     "    --message     a message-type pipe instead of a byte stream.\n"},
    {"mailslot-send", cmd_mailslot_send, "mailslot-send NAME TEXT", "write TEXT to a mailslot",
     "    Opens the mailslot as a client (CreateFile) and writes TEXT as one\n"
     "    message.\n"},
    {"mailslot-read", cmd_mailslot_read, "mailslot-read [--count N] [--timeout MS] NAME",
     "create a mailslot, print its messages",
     "    Creates the mailslot (CreateMailslot) and prints each message it\n"
     "    receives on a line of its own, until N messages arrived or a read\n"
     "    times out.\n"
     "\n"
     "    --count N     stop after N messages; fewer in time is a failure.\n"
     "    --timeout MS  wait at most MS milliseconds for each message (default:\n"
     "                  forever); without --count the end of the wait ends the\n"
     "                  command successfully.\n"},
    {"bench", cmd_bench, "bench [PATTERN]...", "run the benchmarks",
     "    Runs the benchmark programs built next to the tool (build/bench/ for\n"
     "    build/tools/winipc: `make bench tools` builds both), each in a\n"
     "    private namespace, and prints their results: winipc against the raw\n"
     "    Linux primitive. With PATTERNs, only the programs whose name contains\n"
     "    one. An installed tool has no benchmarks next to it: it says so and\n"
     "    fails; run `make bench` in a source tree instead.\n"},
    {"help", cmd_help, "help [COMMAND]", "show this manual, or a command's",
     "    Without COMMAND, the overview and the list of commands; with one, its\n"
     "    page. `winipc --help` and `winipc COMMAND --help` do the same.\n"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct command *find_command(const char *name)
{
    for (const struct command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(NULL, "%s", "no command given");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return cmd_help(argc - 2, argv + 2);
    if (strcmp(name, "--version") == 0) {
        printf("winipc %s\n", WINIPC_VERSION);
        return EXIT_SUCCESS;
    }
    const struct command *c = find_command(name);
    if (!c)
        return usage(NULL, "unknown command '%s'", name);
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_command_help(stdout, c);
            return EXIT_SUCCESS;
        }
    }
    return c->run(argc - 2, argv + 2);
}
