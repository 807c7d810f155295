/* SPDX-License-Identifier: MIT */
/* The `winipc` tool (build/tools/winipc, next to build/tests/), run as a
 * child process with its output captured through anonymous pipes: its
 * listings show the objects and pipes this test holds (names, types,
 * namespaces, holder counts, section size, instances, server pid), its pipe
 * and mailslot commands talk to this test, and help and usage errors exit
 * with 0 and 2. */
#include "test.h"

static char tool[MAX_PATH + 32];

struct run {
    DWORD code;
    char out[65536];
    char err[8192];
};

struct child {
    PROCESS_INFORMATION pi;
    HANDLE out, err;
};

static BOOL find_tool(void)
{
    char self[MAX_PATH];
    DWORD n = GetModuleFileNameA(NULL, self, sizeof self);
    char *slash = n ? strrchr(self, '/') : NULL;
    if (!slash)
        return FALSE;
    *slash = 0;
    snprintf(tool, sizeof tool, "%s/../tools/winipc", self);
    HANDLE h = CreateFileA(tool, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return FALSE;
    CloseHandle(h);
    return TRUE;
}

/* Start "winipc <args>" with its standard output and error on pipes. */
static BOOL start_tool(const char *args, struct child *c)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE out_w, err_w;
    STARTUPINFOA si;
    char cmd[4096];
    if (!CreatePipe(&c->out, &out_w, &sa, 0))
        return FALSE;
    if (!CreatePipe(&c->err, &err_w, &sa, 0)) {
        CloseHandle(c->out);
        CloseHandle(out_w);
        return FALSE;
    }
    SetHandleInformation(c->out, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(c->err, HANDLE_FLAG_INHERIT, 0);
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = NULL;
    si.hStdOutput = out_w;
    si.hStdError = err_w;
    snprintf(cmd, sizeof cmd, "\"%s\" %s", tool, args);
    BOOL ok = CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &c->pi);
    CloseHandle(out_w);
    CloseHandle(err_w);
    if (!ok) {
        CloseHandle(c->out);
        CloseHandle(c->err);
    }
    return ok;
}

static void read_all(HANDLE h, char *buf, DWORD size)
{
    DWORD total = 0, n;
    while (total + 1 < size && ReadFile(h, buf + total, size - 1 - total, &n, NULL) && n)
        total += n;
    buf[total] = 0;
}

/* Collect the output (both are small: the pipes never fill) and the exit
 * status. */
static void finish_tool(struct child *c, struct run *r)
{
    read_all(c->out, r->out, sizeof r->out);
    read_all(c->err, r->err, sizeof r->err);
    CloseHandle(c->out);
    CloseHandle(c->err);
    r->code = t_wait_child(&c->pi, 30000);
}

static BOOL run_tool(const char *args, struct run *r)
{
    struct child c;
    memset(r, 0, sizeof *r);
    r->code = 0xdeadbeef;
    if (!start_tool(args, &c))
        return FALSE;
    finish_tool(&c, r);
    return TRUE;
}

/* The start of a captured output, for T_STR (which prints it on failure). */
static const char *head(const char *s)
{
    static char buf[4][256];
    static int next;
    char *b = buf[next++ % 4];
    size_t n = strlen(s);
    if (n > sizeof buf[0] - 1)
        n = sizeof buf[0] - 1;
    memcpy(b, s, n);
    b[n] = 0;
    return b;
}

/* The listing row whose last column is `name` (columns before it are
 * separated by blanks), copied into `row`. */
static BOOL find_row(const char *out, const char *name, char *row, size_t size)
{
    size_t nlen = strlen(name);
    for (const char *line = out; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > nlen + 1 && memcmp(line + len - nlen, name, nlen) == 0 && line[len - nlen - 1] == ' ' &&
            len < size) {
            memcpy(row, line, len);
            row[len] = 0;
            return TRUE;
        }
        if (!end)
            break;
        line = end + 1;
    }
    return FALSE;
}

/* --- child: a second holder of a named event -------------------------------------- */

static int child_hold(const char *name, const char *ready_name)
{
    HANDLE h = OpenEventA(SYNCHRONIZE, FALSE, name);
    HANDLE ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, ready_name);
    if (!h || !ready)
        return 10;
    SetEvent(ready);
    CloseHandle(ready);
    /* Released when the parent sets the event itself. */
    return WaitForSingleObject(h, 30000) == WAIT_OBJECT_0 ? 0 : 11;
}

/* --- a pipe server thread for pipe-send --------------------------------------------- */

struct server {
    HANDLE pipe;
    unsigned rounds;
    char request[2][256];
    BOOL ok;
};

static DWORD WINAPI serve(LPVOID arg)
{
    struct server *s = arg;
    s->ok = TRUE;
    for (unsigned i = 0; i < s->rounds; i++) {
        char answer[300];
        DWORD n = 0, w;
        if (!ConnectNamedPipe(s->pipe, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
            s->ok = FALSE;
        if (!ReadFile(s->pipe, s->request[i], sizeof s->request[i] - 1, &n, NULL))
            s->ok = FALSE;
        s->request[i][n] = 0;
        snprintf(answer, sizeof answer, "pong:%s", s->request[i]);
        if (!WriteFile(s->pipe, answer, (DWORD)strlen(answer), &w, NULL) || !FlushFileBuffers(s->pipe))
            s->ok = FALSE;
        DisconnectNamedPipe(s->pipe);
    }
    return 0;
}

/* --- the tests --------------------------------------------------------------------------- */

static void test_help(void)
{
    struct run r;
    T_OK(run_tool("help", &r), "help runs");
    T_EQ(r.code, 0, "help: exit status 0");
    T_OK(strstr(r.out, "pipe-send") && strstr(r.out, "mailslot-read") && strstr(r.out, "EXIT STATUS"),
         "help lists the commands and the exit statuses");
    run_tool("--help", &r);
    T_EQ(r.code, 0, "--help: exit status 0");
    T_OK(strstr(r.out, "SYNOPSIS") != NULL, "--help prints the manual");
    run_tool("help pipes", &r);
    T_EQ(r.code, 0, "help pipes: exit status 0");
    T_OK(strstr(r.out, "winipc pipes") && strstr(r.out, "DESCRIPTION"), "help pipes prints its page");
    run_tool("pipe-send --help", &r);
    T_EQ(r.code, 0, "pipe-send --help: exit status 0");
    T_OK(strstr(r.out, "--wait") != NULL, "pipe-send --help documents --wait");
}

static void test_usage_errors(void)
{
    static const char *const bad[] = {
        "",                                /* no command */
        "frobnicate",                      /* unknown command */
        "help frobnicate",                 /* help on an unknown command */
        "objects --bogus",                 /* unknown option */
        "objects a b",                     /* too many arguments */
        "pipe-send onlyname",              /* missing TEXT */
        "pipe-send --wait soon x y",       /* bad number */
        "pipe-listen",                     /* missing NAME */
        "pipe-listen --reply",             /* option without its value */
        "mailslot-read x --count 0",       /* bad count */
        "mailslot-send x",                 /* missing TEXT */
        "pipes --once",                    /* another command's option */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct run r;
        char name[128];
        run_tool(bad[i], &r);
        snprintf(name, sizeof name, "usage error \"%s\": exit status 2", bad[i]);
        T_EQ(r.code, 2, name);
        snprintf(name, sizeof name, "usage error \"%s\": says so on stderr only", bad[i]);
        T_OK(strstr(r.err, "winipc: ") && strstr(r.err, "Try 'winipc help") && !r.out[0], name);
    }
}

static void test_objects(void)
{
    char long_name[200], odd_name[] = "winipc-test-tool odd/name.x%41", row[1024] = "";
    char type[32] = "", ns[32] = "", holders[32] = "", size[32] = "";
    struct run r;
    PROCESS_INFORMATION pi;
    char args[256];

    memset(long_name, '.', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    memcpy(long_name, "winipc-test-tool-long", 21); /* escaped: 21 + 178 * 3 bytes, so hashed on disk */

    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, t_name("tool-event"));
    HANDLE ready = CreateEventA(NULL, FALSE, FALSE, t_name("tool-ready"));
    HANDLE mtx = CreateMutexA(NULL, FALSE, "Global\\winipc-test-tool-mutex");
    HANDLE sec = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 131072, t_name("tool-section"));
    HANDLE odd = CreateEventA(NULL, FALSE, FALSE, odd_name);
    HANDLE lng = CreateSemaphoreA(NULL, 0, 1, long_name);
    T_OK(ev && ready && mtx && sec && odd && lng, "objects created");

    /* A second process holding the event. */
    snprintf(args, sizeof args, "child hold %s %s", t_name("tool-event"), t_name("tool-ready"));
    T_OK(t_spawn(args, &pi), "holder child started");
    T_EQ(WaitForSingleObject(ready, 30000), WAIT_OBJECT_0, "holder child opened the event");

    T_OK(run_tool("objects", &r), "objects runs");
    T_EQ(r.code, 0, "objects: exit status 0");
    T_OK(strncmp(r.out, "TYPE", 4) == 0 && strstr(r.out, "HOLDERS") && strstr(r.out, "NAME"), "objects: header");

    T_OK(find_row(r.out, t_name("tool-event"), row, sizeof row), "objects lists the event");
    T_EQ(sscanf(row, "%31s %31s %31s", type, ns, holders), 3, "event row parses");
    T_STR(type, "Event", "event: type");
    T_STR(ns, "Local", "event: namespace");
    T_STR(holders, "2", "event: two holders (this test and its child)");

    T_OK(find_row(r.out, "winipc-test-tool-mutex", row, sizeof row), "objects lists the mutex");
    sscanf(row, "%31s %31s %31s", type, ns, holders);
    T_STR(type, "Mutant", "mutex: type (WinObj's name)");
    T_STR(ns, "Global", "mutex: namespace");
    T_STR(holders, "1", "mutex: one holder");

    T_OK(find_row(r.out, t_name("tool-section"), row, sizeof row), "objects lists the section");
    T_EQ(sscanf(row, "%31s %31s %31s %31s", type, ns, holders, size), 4, "section row parses");
    T_STR(type, "Section", "section: type");
    T_STR(holders, "1", "section: one holder");
    T_STR(size, "131072", "section: size");

    T_OK(find_row(r.out, odd_name, row, sizeof row), "a name with escaped characters is shown as created");
    /* A name too long to be a file name whole: recovered from the object
     * file where the file system keeps it, else its escaped form, marked. */
    T_OK(find_row(r.out, long_name, row, sizeof row) || strstr(r.out, "(escaped file name)"),
         "a long name is shown whole, or marked as escaped");
    T_OK(!strstr(r.out, t_name("tool-pipe")), "objects lists no pipes");

    run_tool("objects Global\\winipc-test-tool-mutex", &r);
    T_EQ(r.code, 0, "objects NAME: exit status 0");
    T_OK(find_row(r.out, "winipc-test-tool-mutex", row, sizeof row) && !strstr(r.out, t_name("tool-event")),
         "objects NAME: only that object");
    run_tool("objects Local\\winipc-test-tool-mutex", &r);
    T_EQ(r.code, 1, "objects NAME in the wrong namespace: exit status 1");

    /* The child goes: one holder left. A closed object is no longer listed. */
    SetEvent(ev);
    T_EQ(t_wait_child(&pi, 30000), 0, "holder child exit code");
    CloseHandle(sec);
    run_tool("objects", &r);
    T_OK(find_row(r.out, t_name("tool-event"), row, sizeof row), "event still listed");
    sscanf(row, "%31s %31s %31s", type, ns, holders);
    T_STR(holders, "1", "event: one holder once the child exited");
    T_OK(!strstr(r.out, t_name("tool-section")), "a closed section is not listed");

    CloseHandle(ev);
    CloseHandle(ready);
    CloseHandle(mtx);
    CloseHandle(odd);
    CloseHandle(lng);
}

static void test_pipes(void)
{
    const char *name = t_name("tool-pipe");
    char full[160], row[1024], args[512], inst[64] = "", ptype[64] = "", pids[64] = "", want[32];
    struct run r;
    struct server srv = {0};
    snprintf(full, sizeof full, "\\\\.\\pipe\\%s", name);

    HANDLE p1 = CreateNamedPipeA(full, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_WAIT, 4, 4096, 4096, 0, NULL);
    HANDLE p2 = CreateNamedPipeA(full, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_WAIT, 4, 4096, 4096, 0, NULL);
    HANDLE pu = CreateNamedPipeA("\\\\.\\pipe\\winipc-test-tool-unlimited", PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE,
                                 PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, NULL);
    HANDLE pm = CreateNamedPipeA("\\\\.\\pipe\\winipc-test-tool-message", PIPE_ACCESS_DUPLEX,
                                 PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1, 4096, 4096, 0, NULL);
    T_OK(p1 != INVALID_HANDLE_VALUE && p2 != INVALID_HANDLE_VALUE && pu != INVALID_HANDLE_VALUE &&
             pm != INVALID_HANDLE_VALUE,
         "pipes created");

    T_OK(run_tool("pipes", &r), "pipes runs");
    T_EQ(r.code, 0, "pipes: exit status 0");
    T_OK(strncmp(r.out, "NAME", 4) == 0 && strstr(r.out, "INSTANCES") && strstr(r.out, "SERVER PIDS"),
         "pipes: header");
    /* The NAME column comes first here: look the row up by its start. */
    const char *at = strstr(r.out, name);
    T_OK(at && (at == r.out || at[-1] == '\n'), "pipes lists the pipe");
    if (at) {
        const char *end = strchr(at, '\n');
        snprintf(row, sizeof row, "%.*s", end ? (int)(end - at) : (int)strlen(at), at);
    } else {
        row[0] = 0;
    }
    T_EQ(sscanf(row, "%*s %63s %63s %63s", inst, ptype, pids), 3, "pipe row parses");
    T_STR(inst, "2/4", "pipe: instances in use / max");
    T_STR(ptype, "byte", "pipe: type");
    snprintf(want, sizeof want, "%lu", (unsigned long)GetCurrentProcessId());
    T_STR(pids, want, "pipe: the server pid is ours");
    at = strstr(r.out, "winipc-test-tool-unlimited ");
    T_OK(at && sscanf(at, "%*s %63s", inst) == 1, "pipes lists the unlimited pipe");
    T_STR(inst, "1/unlimited", "unlimited pipe: instances");
    at = strstr(r.out, "winipc-test-tool-message ");
    T_OK(at && sscanf(at, "%*s %63s %63s", inst, ptype) == 2, "pipes lists the message pipe");
    T_STR(inst, "1/1", "message pipe: instances");
    T_STR(ptype, "message", "message pipe: type");
    CloseHandle(pm);

    /* pipe-send, short and full names, to a server thread. Only p1
     * listens from now on: a client takes the instance that has listened
     * longest, which would be p2 once p1 served its first client. */
    CloseHandle(p2);
    srv.pipe = p1;
    srv.rounds = 2;
    HANDLE th = CreateThread(NULL, 0, serve, &srv, 0, NULL);
    T_OK(th != NULL, "server thread started");
    snprintf(args, sizeof args, "pipe-send %s hello", name);
    run_tool(args, &r);
    T_EQ(r.code, 0, "pipe-send: exit status 0");
    T_STR(head(r.out), "pong:hello", "pipe-send prints the answer");
    snprintf(args, sizeof args, "pipe-send --wait 5000 %s \"two words\"", full);
    run_tool(args, &r);
    T_EQ(r.code, 0, "pipe-send with the full name and --wait: exit status 0");
    T_STR(head(r.out), "pong:two words", "pipe-send (full name) prints the answer");
    T_EQ(WaitForSingleObject(th, 30000), WAIT_OBJECT_0, "server thread done");
    CloseHandle(th);
    T_OK(srv.ok, "server saw no error");
    T_STR(srv.request[0], "hello", "server got the first request");
    T_STR(srv.request[1], "two words", "server got the second request");

    run_tool("pipe-send winipc-test-tool-nosuch x", &r);
    T_EQ(r.code, 1, "pipe-send to a missing pipe: exit status 1");
    T_OK(strstr(r.err, "cannot find") && strstr(r.err, "(error 2)"), "pipe-send prints the Windows error");

    CloseHandle(p1);
    CloseHandle(pu);
    run_tool("pipes", &r);
    T_OK(r.code == 0 && !strstr(r.out, name), "closed pipes are not listed");
}

/* Open `name` as a client once the tool has created it (bounded: the tool
 * is another process, nothing to wait on until its object exists). */
static HANDLE open_when_created(const char *name, DWORD access)
{
    for (int i = 0; i < 3000; i++) {
        HANDLE h = CreateFileA(name, access, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
        if (h != INVALID_HANDLE_VALUE || GetLastError() != ERROR_FILE_NOT_FOUND)
            return h;
        Sleep(10);
    }
    return INVALID_HANDLE_VALUE;
}

static void test_pipe_listen(void)
{
    struct child c;
    struct run r;
    char answer[64];
    DWORD n, total = 0, w;
    T_OK(start_tool("pipe-listen winipc-test-tool-listen --once --reply pong", &c), "pipe-listen started");
    HANDLE h = open_when_created("\\\\.\\pipe\\winipc-test-tool-listen", GENERIC_READ | GENERIC_WRITE);
    T_OK(h != INVALID_HANDLE_VALUE, "connected to pipe-listen");
    T_OK(WriteFile(h, "ping", 4, &w, NULL), "request written");
    while (total < sizeof answer - 1 && ReadFile(h, answer + total, sizeof answer - 1 - total, &n, NULL) && n)
        total += n;
    answer[total] = 0;
    T_STR(answer, "pong", "pipe-listen answers --reply");
    CloseHandle(h);
    finish_tool(&c, &r);
    T_EQ(r.code, 0, "pipe-listen --once: exit status 0");
    T_STR(head(r.out), "ping\n", "pipe-listen prints the request");
}

static void test_mailslots(void)
{
    struct child c;
    struct run r;
    char buf[64];
    DWORD n, w;
    HANDLE slot = CreateMailslotA("\\\\.\\mailslot\\winipc-test-tool-slot", 0, 0, NULL);
    if (slot == INVALID_HANDLE_VALUE) {
        T_OK(0, "CreateMailslot");
        return;
    }
    run_tool("mailslot-send winipc-test-tool-slot hello", &r);
    T_EQ(r.code, 0, "mailslot-send: exit status 0");
    T_OK(ReadFile(slot, buf, sizeof buf - 1, &n, NULL), "message arrived");
    buf[n] = 0;
    T_STR(buf, "hello", "mailslot-send wrote one message");
    run_tool("mailslot-send \\\\.\\mailslot\\winipc-test-tool-nosuch x", &r);
    T_EQ(r.code, 1, "mailslot-send to a missing mailslot: exit status 1");
    CloseHandle(slot);

    T_OK(start_tool("mailslot-read winipc-test-tool-reader --count 2 --timeout 30000", &c), "mailslot-read started");
    HANDLE h = open_when_created("\\\\.\\mailslot\\winipc-test-tool-reader", GENERIC_WRITE);
    T_OK(h != INVALID_HANDLE_VALUE, "mailslot-read's mailslot opened");
    T_OK(WriteFile(h, "one", 3, &w, NULL) && WriteFile(h, "two\n", 4, &w, NULL), "messages written");
    CloseHandle(h);
    finish_tool(&c, &r);
    T_EQ(r.code, 0, "mailslot-read --count 2: exit status 0");
    T_STR(head(r.out), "one\ntwo\n", "mailslot-read prints each message on a line");

    run_tool("mailslot-read winipc-test-tool-empty --timeout 0", &r);
    T_EQ(r.code, 0, "mailslot-read --timeout 0 with no message: exit status 0");
    run_tool("mailslot-read winipc-test-tool-empty --count 1 --timeout 0", &r);
    T_EQ(r.code, 1, "mailslot-read --count 1 with no message in time: exit status 1");
}

static void test_bench(void)
{
    struct run r;
    run_tool("bench no-such-benchmark", &r);
    T_EQ(r.code, 1, "bench with no matching program: exit status 1");
    T_OK(strstr(r.err, "make bench") != NULL, "bench says how to run the benchmarks");
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "child") == 0 && strcmp(argv[2], "hold") == 0)
        return child_hold(argv[3], argv[4]);
    if (!find_tool()) {
        printf("1..0 # SKIP the winipc tool is not built (make tools)\n");
        return 0;
    }
    test_help();
    test_usage_errors();
    test_objects();
    test_pipes();
    test_pipe_listen();
    test_mailslots();
    test_bench();
    return t_done();
}
