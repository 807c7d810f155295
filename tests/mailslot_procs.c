/* SPDX-License-Identifier: MIT */
/* Mailslots across processes: several child processes and threads writing
 * at once (every message whole, the count exact), a server in another
 * process (one server per name, ERROR_ALREADY_EXISTS), the server killed
 * with TerminateProcess (the name is free again, writers fail), a client
 * killed in the middle of writing (the server sees only whole messages and
 * goes on), inherited client and server handles (an inherited server
 * handle keeps the mailslot alive after the parent's closes). Children are
 * this binary re-run with argv[1] == "child". */
#include "test.h"
#include "test_message.h"

#include <stdint.h>

#define CHILDREN 3
#define THREADS 3
#define PER_WRITER 3000
#define MSG_MAX 700

/* Child exit codes. */
#define C_OK 0
#define C_OPEN 10
#define C_WRITE 11
#define C_EVENT 12
#define C_CREATE 13
#define C_READ 14
#define C_DATA 15
#define C_EXISTS 16
#define C_ARGS 17

#define KILLED 9

static const char *slot_name(const char *base)
{
    static char buf[8][160];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, 160, "\\\\.\\mailslot\\%s", t_name(base));
    return b;
}

static HANDLE client_open(const char *name)
{
    return CreateFileA(name, GENERIC_WRITE, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
}

static BOOL put(HANDLE h, const void *buf, DWORD len)
{
    DWORD n = T_POISON;
    return WriteFile(h, buf, len, &n, NULL) && n == len;
}

static DWORD count_of(HANDLE s)
{
    DWORD count = T_POISON;
    if (!GetMailslotInfo(s, NULL, NULL, &count, NULL))
        return T_POISON;
    return count;
}

/* Write `count` messages as writer `id` through `c` (count 0: until killed). */
static int write_messages(HANDLE c, uint32_t id, uint32_t count, uint32_t max, HANDLE progress, uint32_t signal_at)
{
    unsigned char *buf = malloc(max);
    if (!buf)
        return C_WRITE;
    for (uint32_t seq = 0; count == 0 || seq < count; seq++) {
        if (!put(c, buf, msg_make(buf, id, seq, size_for(id, seq, max))))
            return C_WRITE;
        if (progress && seq + 1 == signal_at)
            SetEvent(progress);
    }
    free(buf);
    return C_OK;
}

/* --- children -------------------------------------------------------------------------- */

static HANDLE child_event(const char *event)
{
    return OpenEventA(EVENT_MODIFY_STATE | SYNCHRONIZE, FALSE, event);
}

static int block_forever(void)
{
    HANDLE never = CreateEventA(NULL, TRUE, FALSE, NULL);
    WaitForSingleObject(never, INFINITE);
    return 0;
}

/* A writer: open the mailslot, write PER_WRITER messages as writer `id`. */
static int child_writer(const char *name, uint32_t id)
{
    HANDLE c = client_open(name);
    if (c == INVALID_HANDLE_VALUE)
        return C_OPEN;
    int r = write_messages(c, id, PER_WRITER, MSG_MAX, NULL, 0);
    CloseHandle(c);
    return r;
}

/* A writer that never stops: says so after 100 messages, then writes big
 * messages until it is killed. */
static int child_flood(const char *name, const char *event)
{
    HANDLE ev = child_event(event);
    HANDLE c = client_open(name);
    if (!ev)
        return C_EVENT;
    if (c == INVALID_HANDLE_VALUE)
        return C_OPEN;
    return write_messages(c, 7, 0, 48 * 1024, ev, 100);
}

/* A server: create the mailslot, signal, then block until killed. With
 * "exit", read one message and exit instead (leaving the rest unread). */
static int child_server(const char *name, const char *event, int stay)
{
    HANDLE ev = child_event(event);
    if (!ev)
        return C_EVENT;
    HANDLE s = CreateMailslotA(name, 0, MAILSLOT_WAIT_FOREVER, NULL);
    if (s == INVALID_HANDLE_VALUE)
        return C_CREATE;
    SetEvent(ev);
    if (stay)
        return block_forever();
    char buf[16];
    DWORD n = T_POISON;
    if (!ReadFile(s, buf, sizeof buf, &n, NULL) || n != 5 || memcmp(buf, "first", 5) != 0)
        return C_READ;
    return C_OK; /* exits with the handle open and messages queued */
}

/* Try to become a second server of a live name. */
static int child_second(const char *name)
{
    HANDLE s = CreateMailslotA(name, 0, 0, NULL);
    if (s != INVALID_HANDLE_VALUE)
        return C_CREATE;
    return GetLastError() == ERROR_ALREADY_EXISTS ? C_OK : C_EXISTS;
}

/* An inherited client handle: write three messages through it. */
static int child_inherited_client(const char *value)
{
    HANDLE c = (HANDLE)(ULONG_PTR)strtoull(value, NULL, 0);
    if (!put(c, "one", 3) || !put(c, "two", 3) || !put(c, "", 0))
        return C_WRITE;
    CloseHandle(c);
    return C_OK;
}

/* An inherited server handle: read `count` messages ("m<i>"), checking
 * GetMailslotInfo first, then exit. */
static int child_inherited_server(const char *value, const char *event, int count)
{
    HANDLE s = (HANDLE)(ULONG_PTR)strtoull(value, NULL, 0);
    HANDLE ev = child_event(event);
    DWORD max = T_POISON, timeout = T_POISON;
    if (!ev)
        return C_EVENT;
    if (!GetMailslotInfo(s, &max, NULL, NULL, &timeout) || max != 64 || timeout != MAILSLOT_WAIT_FOREVER)
        return C_OPEN;
    SetEvent(ev);
    for (int i = 0; i < count; i++) {
        char buf[64], want[16];
        DWORD n = T_POISON;
        snprintf(want, sizeof want, "m%d", i);
        if (!ReadFile(s, buf, sizeof buf, &n, NULL))
            return C_READ;
        if (n != strlen(want) || memcmp(buf, want, n) != 0)
            return C_DATA;
    }
    return C_OK;
}

static int run_child(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[2], "writer") == 0)
        return child_writer(argv[3], (uint32_t)atoi(argv[4]));
    if (argc >= 5 && strcmp(argv[2], "flood") == 0)
        return child_flood(argv[3], argv[4]);
    if (argc >= 6 && strcmp(argv[2], "server") == 0)
        return child_server(argv[3], argv[4], strcmp(argv[5], "stay") == 0);
    if (argc >= 4 && strcmp(argv[2], "second") == 0)
        return child_second(argv[3]);
    if (argc >= 4 && strcmp(argv[2], "client-end") == 0)
        return child_inherited_client(argv[3]);
    if (argc >= 6 && strcmp(argv[2], "server-end") == 0)
        return child_inherited_server(argv[3], argv[4], atoi(argv[5]));
    return C_ARGS;
}

/* Start a child and wait for its signal. */
static BOOL spawn_until(const char *args, HANDLE ev, PROCESS_INFORMATION *pi, BOOL inherit)
{
    if (!t_spawn_ex(args, inherit, NULL, pi))
        return FALSE;
    HANDLE both[2] = {ev, pi->hProcess};
    return WaitForMultipleObjects(2, both, FALSE, 10000) == WAIT_OBJECT_0;
}

static void kill_child(PROCESS_INFORMATION *pi)
{
    TerminateProcess(pi->hProcess, KILLED);
    t_wait_child(pi, 10000);
}

/* --- many writers, processes and threads ---------------------------------------------- */

struct writer_arg {
    const char *name;
    uint32_t id;
};

static DWORD WINAPI writer_thread(LPVOID p)
{
    struct writer_arg *a = p;
    HANDLE c = client_open(a->name);
    if (c == INVALID_HANDLE_VALUE)
        return C_OPEN;
    int r = write_messages(c, a->id, PER_WRITER, MSG_MAX, NULL, 0);
    CloseHandle(c);
    return (DWORD)r;
}

static void test_many_writers(void)
{
    const char *name = slot_name("many");
    PROCESS_INFORMATION pi[CHILDREN];
    struct writer_arg args[THREADS];
    HANDLE threads[THREADS];
    uint32_t next[CHILDREN + THREADS] = {0}, bad = 0, total = 0;
    unsigned char buf[MSG_MAX];
    char cmd[256];
    HANDLE s = CreateMailslotA(name, MSG_MAX, 10000, NULL);
    T_OK(s != INVALID_HANDLE_VALUE, "CreateMailslot");
    for (int k = 0; k < CHILDREN; k++) {
        snprintf(cmd, sizeof cmd, "child writer %s %d", name, k);
        T_OK(t_spawn(cmd, &pi[k]), "spawn a writer process");
    }
    for (int k = 0; k < THREADS; k++) {
        args[k].name = name;
        args[k].id = CHILDREN + (uint32_t)k;
        threads[k] = CreateThread(NULL, 0, writer_thread, &args[k], 0, NULL);
    }
    while (total < (CHILDREN + THREADS) * PER_WRITER) {
        DWORD n = T_POISON;
        struct msg_head hd;
        if (!ReadFile(s, buf, sizeof buf, &n, NULL))
            break;
        total++;
        if (!msg_check(buf, n, &hd) || hd.writer >= CHILDREN + THREADS || hd.seq != next[hd.writer])
            bad++;
        else
            next[hd.writer]++;
    }
    T_EQ(total, (CHILDREN + THREADS) * PER_WRITER, "every message of 3 processes and 3 threads arrives");
    T_EQ(bad, 0, "each whole (checksummed) and in its writer's order");
    for (int k = 0; k < CHILDREN; k++)
        T_EQ(t_wait_child(&pi[k], 20000), C_OK, "writer process exits cleanly");
    for (int k = 0; k < THREADS; k++) {
        DWORD code = T_POISON;
        WaitForSingleObject(threads[k], 20000);
        GetExitCodeThread(threads[k], &code);
        CloseHandle(threads[k]);
        T_EQ(code, C_OK, "writer thread finished");
    }
    T_EQ(count_of(s), 0, "nothing left");
    DWORD n = T_POISON;
    SetMailslotInfo(s, 0);
    T_ERR(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_SEM_TIMEOUT, "and nothing more to read");
    CloseHandle(s);
}

/* --- the server in another process ----------------------------------------------------- */

static void test_server_killed(void)
{
    const char *name = slot_name("killed");
    const char *event = t_name("killed-ev");
    HANDLE ev = CreateEventA(NULL, FALSE, FALSE, event);
    PROCESS_INFORMATION pi, pi2;
    char cmd[256];
    DWORD n;

    snprintf(cmd, sizeof cmd, "child server %s %s stay", name, event);
    T_OK(spawn_until(cmd, ev, &pi, FALSE), "a child creates the mailslot");
    T_ERR(CreateMailslotA(name, 0, 0, NULL) != INVALID_HANDLE_VALUE, ERROR_ALREADY_EXISTS,
          "a second server in this process: ERROR_ALREADY_EXISTS");
    snprintf(cmd, sizeof cmd, "child second %s", name);
    T_OK(t_spawn(cmd, &pi2), "spawn another process trying the same");
    T_EQ(t_wait_child(&pi2, 10000), C_OK, "it gets ERROR_ALREADY_EXISTS too");
    HANDLE c = client_open(name);
    T_OK(c != INVALID_HANDLE_VALUE, "a client opens the child's mailslot");
    T_OK(put(c, "hello", 5), "and writes");

    kill_child(&pi);
    n = T_POISON;
    SetLastError(T_POISON);
    T_ERR(WriteFile(c, "hello", 5, &n, NULL), ERROR_HANDLE_EOF, "the server killed: a write fails");
    T_EQ(n, 0, "nothing written");
    T_ERR(client_open(name) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND, "the name is gone for clients");
    HANDLE s = CreateMailslotA(name, 0, 0, NULL);
    T_OK(s != INVALID_HANDLE_VALUE, "and free for a new server");
    T_EQ(count_of(s), 0, "which starts empty (the dead server's message is gone)");
    T_ERR(WriteFile(c, "old", 3, &n, NULL), ERROR_HANDLE_EOF, "the old client does not reach the new mailslot");
    HANDLE c2 = client_open(name);
    T_OK(c2 != INVALID_HANDLE_VALUE && put(c2, "new", 3), "a new client does");
    T_EQ(count_of(s), 1, "one message");
    CloseHandle(c2);
    CloseHandle(c);
    CloseHandle(s);

    /* Killed with no client ever opened: nothing is left behind. */
    name = slot_name("killed-alone");
    snprintf(cmd, sizeof cmd, "child server %s %s stay", name, event);
    T_OK(spawn_until(cmd, ev, &pi, FALSE), "a child creates another mailslot");
    kill_child(&pi);
    T_ERR(client_open(name) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND, "killed: clients find nothing");
    s = CreateMailslotA(name, 0, 0, NULL);
    T_OK(s != INVALID_HANDLE_VALUE, "the next CreateMailslot works");
    CloseHandle(s);

    /* A server that exits normally with messages unread. */
    name = slot_name("exits");
    snprintf(cmd, sizeof cmd, "child server %s %s exit", name, event);
    T_OK(spawn_until(cmd, ev, &pi, FALSE), "a child server that reads one message and exits");
    c = client_open(name);
    T_OK(put(c, "first", 5) && put(c, "second", 6), "two messages");
    T_EQ(t_wait_child(&pi, 10000), C_OK, "it read the first and exited");
    T_ERR(WriteFile(c, "x", 1, &n, NULL), ERROR_HANDLE_EOF, "writes fail after the server exited");
    s = CreateMailslotA(name, 0, 0, NULL);
    T_OK(s != INVALID_HANDLE_VALUE, "the name is free");
    T_EQ(count_of(s), 0, "the unread message went with the old mailslot");
    CloseHandle(s);
    CloseHandle(c);
    CloseHandle(ev);
}

/* --- a client killed while writing ------------------------------------------------------- */

static void test_client_killed(void)
{
    const char *name = slot_name("flood");
    const char *event = t_name("flood-ev");
    HANDLE ev = CreateEventA(NULL, FALSE, FALSE, event);
    unsigned char *buf = malloc(48 * 1024);
    char cmd[256];
    HANDLE s = CreateMailslotA(name, 48 * 1024, 0, NULL);

    for (int round = 0; round < 3; round++) {
        PROCESS_INFORMATION pi;
        uint32_t seq = 0, bad = 0;
        snprintf(cmd, sizeof cmd, "child flood %s %s", name, event);
        T_OK(spawn_until(cmd, ev, &pi, FALSE), "a child writes big messages as fast as it can");
        /* Read while it writes, then kill it in the middle of its stream. */
        ULONGLONG t0 = GetTickCount64();
        while (seq < 200 + 100 * (uint32_t)round && GetTickCount64() - t0 < 10000) {
            DWORD n = T_POISON;
            struct msg_head hd;
            if (!ReadFile(s, buf, 48 * 1024, &n, NULL))
                continue;
            if (!msg_check(buf, n, &hd) || hd.seq != seq)
                bad++;
            seq++;
        }
        kill_child(&pi);
        for (;;) {
            DWORD n = T_POISON;
            struct msg_head hd;
            if (!ReadFile(s, buf, 48 * 1024, &n, NULL))
                break;
            if (!msg_check(buf, n, &hd) || hd.seq != seq)
                bad++;
            seq++;
        }
        T_EQ(GetLastError(), ERROR_SEM_TIMEOUT, "drained to the end");
        T_OK(seq >= 200, "it had written at least 200 messages");
        T_EQ(bad, 0, "every message whole and in order, none torn by the kill");
        T_EQ(count_of(s), 0, "the count agrees");
    }
    HANDLE c = client_open(name);
    unsigned char small[64];
    T_OK(c != INVALID_HANDLE_VALUE && put(c, small, msg_make(small, 1, 0, 64)), "the mailslot still works");
    DWORD n = T_POISON;
    struct msg_head hd;
    T_OK(ReadFile(s, buf, 48 * 1024, &n, NULL) && msg_check(buf, n, &hd) && hd.writer == 1, "for reading too");
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(ev);
    free(buf);
}

/* --- inheritance ---------------------------------------------------------------------- */

static void test_inherit(void)
{
    const char *name = slot_name("inherit");
    const char *event = t_name("inherit-ev");
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    PROCESS_INFORMATION pi;
    char cmd[256], buf[8];
    DWORD n;

    /* An inherited client handle. */
    HANDLE s = CreateMailslotA(name, 0, 5000, NULL);
    HANDLE c = CreateFileA(name, GENERIC_WRITE, FILE_SHARE_READ, &sa, OPEN_EXISTING, 0, NULL);
    T_OK(c != INVALID_HANDLE_VALUE, "an inheritable client handle");
    snprintf(cmd, sizeof cmd, "child client-end %llu", (unsigned long long)(ULONG_PTR)c);
    T_OK(t_spawn_ex(cmd, TRUE, NULL, &pi), "spawn a child inheriting it");
    T_EQ(t_wait_child(&pi, 10000), C_OK, "the child writes through it");
    T_OK(ReadFile(s, buf, sizeof buf, &n, NULL) && n == 3 && memcmp(buf, "one", 3) == 0, "'one'");
    T_OK(ReadFile(s, buf, sizeof buf, &n, NULL) && n == 3 && memcmp(buf, "two", 3) == 0, "'two'");
    T_OK(ReadFile(s, buf, sizeof buf, &n, NULL) && n == 0, "and a zero-length message");
    T_OK(put(c, "mine", 4), "the parent's copy still writes");
    T_OK(ReadFile(s, buf, sizeof buf, &n, NULL) && n == 4, "'mine'");
    CloseHandle(c);
    CloseHandle(s);

    /* An inherited server handle outlives the parent's. */
    name = slot_name("inherit-server");
    HANDLE ev = CreateEventA(NULL, FALSE, FALSE, event);
    s = CreateMailslotA(name, 64, MAILSLOT_WAIT_FOREVER, &sa);
    T_OK(s != INVALID_HANDLE_VALUE, "an inheritable server handle");
    c = client_open(name);
    T_OK(put(c, "m0", 2), "a message before the child starts");
    snprintf(cmd, sizeof cmd, "child server-end %llu %s 3", (unsigned long long)(ULONG_PTR)s, event);
    T_OK(spawn_until(cmd, ev, &pi, TRUE), "a child inheriting it sees the mailslot's parameters");
    CloseHandle(s);
    T_OK(put(c, "m1", 2), "the parent's server handle closed: the child's keeps the mailslot");
    T_ERR(CreateMailslotA(name, 0, 0, NULL) != INVALID_HANDLE_VALUE, ERROR_ALREADY_EXISTS, "the name is taken");
    T_OK(put(c, "m2", 2), "a third message");
    T_EQ(t_wait_child(&pi, 10000), C_OK, "the child reads all three, in order, then exits");
    T_ERR(WriteFile(c, "m3", 2, &n, NULL), ERROR_HANDLE_EOF, "with the last server handle gone, writes fail");
    T_ERR(client_open(name) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND, "and the name is free");
    CloseHandle(c);
    CloseHandle(ev);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return run_child(argc, argv);
    test_many_writers();
    test_server_killed();
    test_client_killed();
    test_inherit();
    return t_done();
}
