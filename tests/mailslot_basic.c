/* SPDX-License-Identifier: MIT */
/* Mailslots in one process: names, parameters, GetMailslotInfo and
 * SetMailslotInfo, message boundaries and order, zero-length messages,
 * ERROR_INSUFFICIENT_BUFFER keeping the message, nMaxMessageSize, read
 * time-outs (0, 50 ms, MAILSLOT_WAIT_FOREVER with a writer arriving), large
 * and many messages, many writer threads at once, the server's end closing
 * under its clients, duplicated server handles, overlapped requests that
 * complete at once. Multi-process cases are in mailslot_procs.c. */
#include "test.h"
#include "test_message.h"

#include <stdint.h>

#define WRITERS 8
#define PER_WRITER 2000

/* "\\.\mailslot\winipc-test-<base>" */
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

/* Everything GetMailslotInfo says, each value poisoned first. */
struct info {
    DWORD max, next, count, timeout;
};

static BOOL info_of(HANDLE h, struct info *i)
{
    i->max = i->next = i->count = i->timeout = T_POISON;
    return GetMailslotInfo(h, &i->max, &i->next, &i->count, &i->timeout);
}

/* --- names and parameters ----------------------------------------------------------- */

static void test_names(void)
{
    HANDLE h, h2;
    struct info i;

    SetLastError(T_POISON);
    T_ERR(GetMailslotInfo(INVALID_HANDLE_VALUE, NULL, NULL, NULL, NULL), ERROR_INVALID_HANDLE,
          "GetMailslotInfo(INVALID_HANDLE_VALUE)");
    T_ERR(client_open(slot_name("nobody")) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND,
          "CreateFile of a mailslot nobody created");

    SetLastError(T_POISON);
    h = CreateMailslotA("blah", 0, 0, NULL);
    T_ERR(h != INVALID_HANDLE_VALUE, ERROR_INVALID_NAME, "a name without \\\\.\\mailslot\\");
    T_OK(h == INVALID_HANDLE_VALUE, "failure returns INVALID_HANDLE_VALUE");
    T_ERR(CreateMailslotA(NULL, 0, 0, NULL) != INVALID_HANDLE_VALUE, ERROR_PATH_NOT_FOUND, "a NULL name");
    T_ERR(CreateMailslotA("\\\\.\\mailslot\\", 0, 0, NULL) != INVALID_HANDLE_VALUE, ERROR_INVALID_NAME,
          "an empty mailslot name");
    T_ERR(CreateMailslotA("\\\\.\\pipe\\x", 0, 0, NULL) != INVALID_HANDLE_VALUE, ERROR_INVALID_NAME,
          "a pipe name");
    T_ERR(CreateMailslotA("\\\\.\\mailslotx\\y", 0, 0, NULL) != INVALID_HANDLE_VALUE, ERROR_INVALID_NAME,
          "\\\\.\\mailslotx\\ is not the mailslot prefix");

    /* Wacky parameters are stored as given. */
    h = CreateMailslotA(slot_name("params"), (DWORD)-1, (DWORD)-1, NULL);
    T_OK(h != INVALID_HANDLE_VALUE, "nMaxMessageSize and lReadTimeout of (DWORD)-1");
    T_OK(info_of(h, &i), "GetMailslotInfo");
    T_EQ(i.max, 0xFFFFFFFFu, "max message size as given");
    T_EQ(i.next, MAILSLOT_NO_MESSAGE, "no next message");
    T_EQ(i.count, 0, "no messages");
    T_EQ(i.timeout, MAILSLOT_WAIT_FOREVER, "read time-out as given");
    T_OK(GetMailslotInfo(h, NULL, NULL, NULL, NULL), "every out-parameter may be NULL");

    SetLastError(T_POISON);
    h2 = CreateMailslotA(slot_name("params"), 0, 0, NULL);
    T_ERR(h2 != INVALID_HANDLE_VALUE, ERROR_ALREADY_EXISTS, "a second server of the name: ERROR_ALREADY_EXISTS");
    T_OK(h2 == INVALID_HANDLE_VALUE, "and INVALID_HANDLE_VALUE");
    T_ERR(CreateMailslotA("\\\\.\\MAILSLOT\\WINIPC-TEST-PARAMS", 0, 0, NULL) != INVALID_HANDLE_VALUE,
          ERROR_ALREADY_EXISTS, "names and the prefix are case-insensitive");
    T_ERR(CreateMailslotA("//./mailslot/winipc-test-params", 0, 0, NULL) != INVALID_HANDLE_VALUE,
          ERROR_ALREADY_EXISTS, "forward slashes are backslashes");
    T_ERR(CreateMailslotA("\\\\?\\mailslot\\winipc-test-params", 0, 0, NULL) != INVALID_HANDLE_VALUE,
          ERROR_ALREADY_EXISTS, "\\\\?\\mailslot\\ is the same namespace");
    T_ERR(CreateMailslotW(L"\\\\.\\mailslot\\winipc-test-Params", 0, 0, NULL) != INVALID_HANDLE_VALUE,
          ERROR_ALREADY_EXISTS, "CreateMailslotW sees it too");
    HANDLE c = client_open("\\\\.\\Mailslot\\Winipc-Test-PARAMS");
    T_OK(c != INVALID_HANDLE_VALUE, "a client opens it under another spelling");
    CloseHandle(c);
    c = client_open("\\\\?\\mailslot\\winipc-test-params");
    T_OK(c != INVALID_HANDLE_VALUE, "and through \\\\?\\mailslot\\");
    CloseHandle(c);
#ifndef _WIN32
    /* winipc: network mailslots are a later phase (docs/mailslots.md). */
    T_ERR(client_open("\\\\server\\mailslot\\x") != INVALID_HANDLE_VALUE, ERROR_NOT_SUPPORTED,
          "a client of another computer's mailslot: not supported yet");
    T_ERR(client_open("\\\\*\\mailslot\\x") != INVALID_HANDLE_VALUE, ERROR_NOT_SUPPORTED,
          "a broadcast client: not supported yet");
#endif
    T_OK(CloseHandle(h), "close the server");
    h = CreateMailslotA(slot_name("params"), 0, 0, NULL);
    T_OK(h != INVALID_HANDLE_VALUE, "the name is free once the server handle is closed");
    CloseHandle(h);

    /* Pseudo-directories. */
    h = CreateMailslotA("\\\\.\\mailslot\\winipc-test-dir\\sub\\name", 0, 0, NULL);
    T_OK(h != INVALID_HANDLE_VALUE, "\\\\.\\mailslot\\dir\\sub\\name");
    h2 = CreateMailslotA("\\\\.\\mailslot\\winipc-test-dir\\sub", 0, 0, NULL);
    T_OK(h2 != INVALID_HANDLE_VALUE, "its parent path is another mailslot");
    c = client_open("\\\\.\\mailslot\\winipc-test-dir/sub/NAME");
    T_OK(c != INVALID_HANDLE_VALUE && put(c, "d", 1), "a client reaches it with '/' separators");
    T_OK(info_of(h, &i) && i.count == 1 && i.next == 1, "the message is in the deeper one");
    T_OK(info_of(h2, &i) && i.count == 0, "not in the other");
    CloseHandle(c);
    CloseHandle(h2);
    CloseHandle(h);
    h = CreateMailslotW(L"\\\\.\\mailslot\\winipc-test-\x00e9t\x00e9", 0, 0, NULL);
    T_OK(h != INVALID_HANDLE_VALUE, "a non-ASCII name");
    c = CreateFileW(L"\\\\.\\mailslot\\WINIPC-TEST-\x00c9T\x00c9", GENERIC_WRITE, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                    0, NULL);
    T_OK(c != INVALID_HANDLE_VALUE, "case folding beyond ASCII");
    CloseHandle(c);
    CloseHandle(h);

    /* Network names: a mailslot is local to the computer that creates it;
     * clients of remote and broadcast names are a later phase. */
    T_ERR(CreateMailslotA("\\\\server\\mailslot\\x", 0, 0, NULL) != INVALID_HANDLE_VALUE, ERROR_BAD_NETPATH,
          "CreateMailslot on another computer's name");
    T_ERR(CreateMailslotA("\\\\*\\mailslot\\x", 0, 0, NULL) != INVALID_HANDLE_VALUE, ERROR_BAD_NETPATH,
          "CreateMailslot on a broadcast name");
}

/* The client's and the server's ends: who may do what. */
static void test_ends(void)
{
    const char *name = slot_name("ends");
    unsigned char buf[16];
    DWORD n;
    struct info i;
    HANDLE s = CreateMailslotA(name, 0, 0, NULL);

    n = T_POISON;
    SetLastError(T_POISON);
    T_ERR(ReadFile(s, buf, 0, &n, NULL), ERROR_SEM_TIMEOUT, "a zero-byte read of an empty mailslot");
    T_EQ(n, 0, "no bytes");
    T_ERR(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_SEM_TIMEOUT, "time-out 0: ERROR_SEM_TIMEOUT at once");
    T_ERR(WriteFile(s, buf, sizeof buf, &n, NULL), ERROR_ACCESS_DENIED, "the server cannot write");

    HANDLE c0 = CreateFileA(name, GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    T_OK(c0 != INVALID_HANDLE_VALUE, "a client without FILE_SHARE_READ (Windows since Vista)");
    CloseHandle(c0);
    HANDLE c = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    T_OK(c != INVALID_HANDLE_VALUE, "a client asking for GENERIC_READ | GENERIC_WRITE");
    T_ERR(ReadFile(s, buf, sizeof buf / 2, &n, NULL), ERROR_SEM_TIMEOUT, "a client makes no message");
    T_ERR(ReadFile(c, buf, sizeof buf, &n, NULL), ERROR_ACCESS_DENIED, "a client cannot read");
    T_ERR(GetMailslotInfo(c, NULL, NULL, NULL, NULL), ERROR_INVALID_PARAMETER, "GetMailslotInfo on a client");
    T_ERR(SetMailslotInfo(c, 10), ERROR_INVALID_PARAMETER, "SetMailslotInfo on a client");
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    T_ERR(GetMailslotInfo(ev, NULL, NULL, NULL, NULL), ERROR_INVALID_HANDLE, "GetMailslotInfo on an event");
    T_ERR(SetMailslotInfo(ev, 0), ERROR_INVALID_HANDLE, "SetMailslotInfo on an event");
    CloseHandle(ev);
    T_OK(FlushFileBuffers(c), "FlushFileBuffers on a client");

    /* Messages keep their boundaries and order; zero-length ones count. */
    HANDLE c2 = client_open(name);
    T_OK(put(c, "a", 1), "first message (1 byte)");
    T_OK(info_of(s, &i) && i.next == 1 && i.count == 1, "next 1, count 1");
    T_OK(put(c2, "bc", 2), "second message (2 bytes) from another client");
    T_OK(info_of(s, &i) && i.next == 1 && i.count == 2, "next 1, count 2");
    T_OK(put(c2, "", 0), "third message, zero bytes");
    T_OK(info_of(s, &i), "GetMailslotInfo");
    T_EQ(i.count, 3, "count 3");
    T_EQ(i.max, 0, "max size 0 (any)");
    T_EQ(i.timeout, 0, "time-out 0");
    memset(buf, 0, sizeof buf);
    n = T_POISON;
    T_OK(ReadFile(s, buf, sizeof buf, &n, NULL) && n == 1 && buf[0] == 'a', "one read, one whole message: 'a'");
    T_OK(info_of(s, &i) && i.next == 2 && i.count == 2, "next 2, count 2");
    n = T_POISON;
    T_OK(ReadFile(s, buf, sizeof buf, &n, NULL) && n == 2 && memcmp(buf, "bc", 2) == 0, "then 'bc'");
    T_OK(info_of(s, &i) && i.next == 0 && i.count == 1, "next 0 (the empty message), count 1");
    n = T_POISON;
    T_OK(ReadFile(s, buf, sizeof buf, &n, NULL), "the zero-length message is read");
    T_EQ(n, 0, "as 0 bytes");
    T_OK(info_of(s, &i) && i.next == MAILSLOT_NO_MESSAGE && i.count == 0, "empty again");
    T_ERR(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_SEM_TIMEOUT, "and reads time out");

    /* A buffer too small leaves the message where it is. */
    T_OK(put(c, "0123456789", 10), "a 10-byte message");
    n = T_POISON;
    SetLastError(T_POISON);
    T_ERR(ReadFile(s, buf, 9, &n, NULL), ERROR_INSUFFICIENT_BUFFER, "a 9-byte buffer: ERROR_INSUFFICIENT_BUFFER");
    T_EQ(n, 0, "no bytes read");
    T_ERR(ReadFile(s, buf, 0, &n, NULL), ERROR_INSUFFICIENT_BUFFER, "a zero-byte buffer too");
    T_OK(info_of(s, &i) && i.next == 10 && i.count == 1, "the message is still queued");
    n = T_POISON;
    T_OK(ReadFile(s, buf, 10, &n, NULL) && n == 10 && memcmp(buf, "0123456789", 10) == 0, "an exact buffer gets it");

    CloseHandle(c2);
    CloseHandle(c);
    CloseHandle(s);
}

/* nMaxMessageSize and every size up to it. */
static void test_sizes(void)
{
    const char *name = slot_name("sizes");
    const DWORD max = 70000; /* more than the first ring, so it grows */
    unsigned char *buf = malloc(max + 1), *in = malloc(max + 1);
    DWORD n, bad = 0;
    struct info i;
    HANDLE s = CreateMailslotA(name, max, 0, NULL);
    HANDLE c = client_open(name);

    memset(buf, 'x', max + 1);
    n = T_POISON;
    SetLastError(T_POISON);
    T_ERR(WriteFile(c, buf, max + 1, &n, NULL), ERROR_INVALID_PARAMETER, "a message over nMaxMessageSize");
    T_EQ(n, 0, "nothing written");
    T_OK(info_of(s, &i) && i.count == 0, "nothing queued");
    T_OK(put(c, buf, max), "a message of exactly nMaxMessageSize");
    T_OK(ReadFile(s, in, max, &n, NULL) && n == max, "read back whole");

    /* Sizes 0..max in steps, several queued at once, each checked. */
    for (DWORD sz = 0, k = 0; sz <= max; sz = sz < 64 ? sz + 1 : sz * 5 / 4, k++) {
        for (DWORD j = 0; j < sz; j++)
            buf[j] = (unsigned char)(j * 31 + sz);
        if (!put(c, buf, sz))
            bad++;
        if (k % 3 == 2 || sz * 5 / 4 > max) {
            /* Drain what is queued (three messages, or the rest). */
            while (info_of(s, &i) && i.count) {
                DWORD want = i.next;
                n = T_POISON;
                if (!ReadFile(s, in, max, &n, NULL) || n != want)
                    bad++;
                for (DWORD j = 0; j < n; j++)
                    if (in[j] != (unsigned char)(j * 31 + n)) {
                        bad++;
                        break;
                    }
            }
        }
    }
    T_EQ(bad, 0, "sizes 0 to nMaxMessageSize arrive whole");
    T_OK(info_of(s, &i) && i.count == 0, "all read");
    CloseHandle(c);
    CloseHandle(s);
    free(buf);
    free(in);
}

/* Many queued messages of mixed sizes while the reader lags behind: the
 * ring wraps and grows with messages in it; order and contents survive. */
static void test_queue(void)
{
    const char *name = slot_name("queue");
    unsigned char *buf = malloc(1 << 20), *in = malloc(1 << 20);
    uint32_t wseq = 0, rseq = 0, bad = 0;
    struct info i;
    HANDLE s = CreateMailslotA(name, 0, 0, NULL), c = client_open(name);
    for (int round = 0; round < 40; round++) {
        /* Write a few, read fewer: the backlog and the ring grow. */
        int w = 5 + round % 7, r = 3 + round % 5;
        for (int k = 0; k < w; k++, wseq++)
            if (!put(c, buf, msg_make(buf, 1, wseq, size_for(1, wseq, round % 4 == 3 ? 200000 : 5000))))
                bad++;
        for (int k = 0; k < r; k++, rseq++) {
            DWORD n = T_POISON;
            struct msg_head hd;
            if (!ReadFile(s, in, 1 << 20, &n, NULL) || !msg_check(in, n, &hd) || hd.seq != rseq)
                bad++;
        }
    }
    T_OK(info_of(s, &i) && i.count == wseq - rseq, "GetMailslotInfo counts the backlog exactly");
    while (rseq < wseq) {
        DWORD n = T_POISON;
        struct msg_head hd;
        if (!ReadFile(s, in, 1 << 20, &n, NULL) || !msg_check(in, n, &hd) || hd.seq != rseq)
            bad++;
        rseq++;
    }
    T_EQ(bad, 0, "every message whole and in order through wrapping and growth");
    T_OK(info_of(s, &i) && i.count == 0 && i.next == MAILSLOT_NO_MESSAGE, "empty");

    /* 100000 small messages queued before any read: writes never wait. */
    for (wseq = 0; wseq < 100000; wseq++)
        if (!put(c, buf, msg_make(buf, 2, wseq, size_for(2, wseq, 64))))
            break;
    T_EQ(wseq, 100000, "100000 messages queued without a reader");
    T_OK(info_of(s, &i) && i.count == 100000, "and counted");
    bad = 0;
    for (rseq = 0; rseq < wseq; rseq++) {
        DWORD n = T_POISON;
        struct msg_head hd;
        if (!ReadFile(s, in, 64, &n, NULL) || !msg_check(in, n, &hd) || hd.seq != rseq)
            bad++;
    }
    T_EQ(bad, 0, "and read back in order");
    CloseHandle(c);
    CloseHandle(s);
    free(buf);
    free(in);
}

/* --- time-outs --------------------------------------------------------------------- */

struct reader_arg {
    HANDLE slot;
    HANDLE started;
    char data[8];
    DWORD n;
};

static DWORD WINAPI reader_thread(LPVOID p)
{
    struct reader_arg *a = p;
    SetEvent(a->started);
    a->n = T_POISON;
    if (ReadFile(a->slot, a->data, sizeof a->data, &a->n, NULL))
        return 0;
    return GetLastError();
}

static DWORD thread_result(HANDLE thread)
{
    DWORD code = T_POISON;
    if (WaitForSingleObject(thread, 10000) != WAIT_OBJECT_0)
        return T_POISON;
    GetExitCodeThread(thread, &code);
    CloseHandle(thread);
    return code;
}

static void test_timeouts(void)
{
    const char *name = slot_name("timeouts");
    char buf[8];
    DWORD n;
    struct info i;
    HANDLE s = CreateMailslotA(name, 0, 50, NULL);

    ULONGLONG t0 = GetTickCount64();
    T_ERR(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_SEM_TIMEOUT, "50 ms time-out: ERROR_SEM_TIMEOUT");
    ULONGLONG dt = GetTickCount64() - t0;
    T_OK(dt >= 40 && dt < 5000, "after about 50 ms");

    T_OK(SetMailslotInfo(s, 0), "SetMailslotInfo(0)");
    T_OK(info_of(s, &i) && i.timeout == 0, "GetMailslotInfo shows it");
    t0 = GetTickCount64();
    T_ERR(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_SEM_TIMEOUT, "time-out 0");
    T_OK(GetTickCount64() - t0 < 40, "returns at once");

    T_OK(SetMailslotInfo(s, MAILSLOT_WAIT_FOREVER), "SetMailslotInfo(MAILSLOT_WAIT_FOREVER)");
    struct reader_arg a = {s, CreateEventA(NULL, TRUE, FALSE, NULL), {0}, 0};
    HANDLE t = CreateThread(NULL, 0, reader_thread, &a, 0, NULL);
    WaitForSingleObject(a.started, 5000);
    T_OK(WaitForSingleObject(t, 200) == WAIT_TIMEOUT, "a read waits for a message");
    HANDLE c = client_open(name);
    T_OK(put(c, "late", 4), "a writer arrives");
    T_EQ(thread_result(t), 0, "the waiting read gets the message");
    T_OK(a.n == 4 && memcmp(a.data, "late", 4) == 0, "whole");

    /* A waiting read with a finite time-out is woken by a message too. */
    T_OK(SetMailslotInfo(s, 5000), "SetMailslotInfo(5000)");
    ResetEvent(a.started);
    t = CreateThread(NULL, 0, reader_thread, &a, 0, NULL);
    WaitForSingleObject(a.started, 5000);
    T_OK(WaitForSingleObject(t, 100) == WAIT_TIMEOUT, "a read with a 5 s time-out waits");
    t0 = GetTickCount64();
    T_OK(put(c, "soon", 4), "a message");
    T_EQ(thread_result(t), 0, "wakes it");
    T_OK(GetTickCount64() - t0 < 4000 && a.n == 4 && memcmp(a.data, "soon", 4) == 0, "at once, with the message");
    CloseHandle(a.started);
    CloseHandle(c);
    CloseHandle(s);
}

/* --- many writers ------------------------------------------------------------------- */

struct writer_arg {
    const char *name;
    uint32_t id;
};

static DWORD WINAPI writer_thread(LPVOID p)
{
    struct writer_arg *a = p;
    unsigned char buf[600];
    HANDLE c = client_open(a->name);
    if (c == INVALID_HANDLE_VALUE)
        return 1;
    for (uint32_t seq = 0; seq < PER_WRITER; seq++)
        if (!put(c, buf, msg_make(buf, a->id, seq, size_for(a->id, seq, sizeof buf))))
            return 2;
    CloseHandle(c);
    return 0;
}

static void test_writers(void)
{
    const char *name = slot_name("writers");
    struct writer_arg args[WRITERS];
    HANDLE threads[WRITERS];
    uint32_t next[WRITERS] = {0}, bad = 0, total = 0;
    unsigned char buf[600];
    struct info i;
    HANDLE s = CreateMailslotA(name, sizeof buf, MAILSLOT_WAIT_FOREVER, NULL);
    for (uint32_t k = 0; k < WRITERS; k++) {
        args[k].name = name;
        args[k].id = k;
        threads[k] = CreateThread(NULL, 0, writer_thread, &args[k], 0, NULL);
    }
    while (total < WRITERS * PER_WRITER) {
        DWORD n = T_POISON;
        struct msg_head hd;
        if (!ReadFile(s, buf, sizeof buf, &n, NULL))
            break;
        total++;
        if (!msg_check(buf, n, &hd) || hd.writer >= WRITERS || hd.seq != next[hd.writer])
            bad++;
        else
            next[hd.writer]++;
    }
    T_EQ(total, WRITERS * PER_WRITER, "every message of 8 writer threads arrives");
    T_EQ(bad, 0, "whole, and in each writer's order");
    for (uint32_t k = 0; k < WRITERS; k++)
        T_EQ(thread_result(threads[k]), 0, "writer thread finished");
    T_OK(info_of(s, &i) && i.count == 0, "nothing more");
    CloseHandle(s);
}

/* --- the server's end going away ------------------------------------------------------ */

static void test_server_close(void)
{
    const char *name = slot_name("close");
    DWORD n;
    struct info i;
    HANDLE s = CreateMailslotA(name, 0, 0, NULL), c = client_open(name), d = NULL;

    /* A duplicated server handle keeps the mailslot. */
    T_OK(DuplicateHandle(GetCurrentProcess(), s, GetCurrentProcess(), &d, 0, FALSE, DUPLICATE_SAME_ACCESS),
         "DuplicateHandle of the server");
    T_OK(put(c, "kept", 4), "a message");
    CloseHandle(s);
    T_OK(put(c, "more", 4), "writing after closing the original handle");
    T_OK(info_of(d, &i) && i.count == 2, "the duplicate holds both messages");
    T_ERR(CreateMailslotA(name, 0, 0, NULL) != INVALID_HANDLE_VALUE, ERROR_ALREADY_EXISTS, "the name is still taken");

    /* The last server handle closes: messages and name go; writers fail. */
    CloseHandle(d);
    n = T_POISON;
    SetLastError(T_POISON);
    T_ERR(WriteFile(c, "gone", 4, &n, NULL), ERROR_HANDLE_EOF, "a client writing to a closed mailslot");
    T_EQ(n, 0, "nothing written");
    T_ERR(client_open(name) != INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND, "a new client: ERROR_FILE_NOT_FOUND");

    /* A new mailslot of the same name is another mailslot. */
    s = CreateMailslotA(name, 0, 0, NULL);
    T_OK(s != INVALID_HANDLE_VALUE, "CreateMailslot of the name again");
    T_OK(info_of(s, &i) && i.count == 0, "it starts empty");
    T_ERR(WriteFile(c, "old", 3, &n, NULL), ERROR_HANDLE_EOF, "the old client still cannot write");
    HANDLE c2 = client_open(name);
    T_OK(c2 != INVALID_HANDLE_VALUE && put(c2, "new", 3), "a new client can");
    T_OK(info_of(s, &i) && i.count == 1 && i.next == 3, "only that message is there");
    CloseHandle(c2);
    CloseHandle(c);
    CloseHandle(s);
}

/* --- overlapped requests ------------------------------------------------------------ */

static void test_overlapped(void)
{
    const char *name = slot_name("overlapped");
    char buf[16];
    DWORD n;
    OVERLAPPED ov;
    HANDLE s = CreateMailslotA(name, 0, 0, NULL);
    HANDLE c = CreateFileA(name, GENERIC_WRITE, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    T_OK(c != INVALID_HANDLE_VALUE, "a client opened with FILE_FLAG_OVERLAPPED");
    memset(&ov, 0, sizeof ov);
    ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    BOOL ok = WriteFile(c, "over", 4, NULL, &ov);
    if (!ok && GetLastError() == ERROR_IO_PENDING)
        ok = TRUE;
    T_OK(ok, "an overlapped write");
    n = T_POISON;
    T_OK(GetOverlappedResult(c, &ov, &n, TRUE) && n == 4, "completes with 4 bytes");

    HANDLE ev = ov.hEvent;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = ev;
    ok = ReadFile(s, buf, sizeof buf, NULL, &ov);
    if (!ok && GetLastError() == ERROR_IO_PENDING)
        ok = TRUE;
    T_OK(ok, "an overlapped read with a message waiting");
    n = T_POISON;
    T_OK(GetOverlappedResult(s, &ov, &n, TRUE) && n == 4 && memcmp(buf, "over", 4) == 0, "gets it");
    T_OK(WaitForSingleObject(ov.hEvent, 0) == WAIT_OBJECT_0, "and sets the event");

    ResetEvent(ov.hEvent);
    ok = ReadFile(s, buf, sizeof buf, NULL, &ov);
    DWORD err = GetLastError();
    if (!ok && err == ERROR_IO_PENDING) {
        n = T_POISON;
        ok = GetOverlappedResult(s, &ov, &n, TRUE);
        err = GetLastError();
    }
    T_OK(!ok && err == ERROR_SEM_TIMEOUT, "an overlapped read of an empty mailslot with time-out 0: ERROR_SEM_TIMEOUT");
    CloseHandle(ov.hEvent);
    CloseHandle(c);
    CloseHandle(s);
}

int main(int argc, char **argv)
{
    test_names();
    test_ends();
    test_sizes();
    test_queue();
    test_timeouts();
    test_writers();
    test_server_close();
    test_overlapped();
    return t_done();
}
