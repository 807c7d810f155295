/* SPDX-License-Identifier: MIT */
/* Message-type named pipes: message boundaries in both directions, zero-
 * length messages, ERROR_MORE_DATA and the rest of a message read later (by
 * another thread too), byte read mode on a message pipe (messages run
 * together), messages larger than the pipe's buffer, PeekNamedPipe's three
 * counts, later instances with another type or maximum, and messages to and
 * from another process (this binary re-run as "child ..."). The expected
 * values follow Windows as Wine's conformance tests record it
 * (kernel32/tests/pipe.c). */
#include "test.h"

#define BIG (3u << 20) /* 3 MiB: more than any socket buffer */

#define C_OK 0
#define C_OPEN 10
#define C_MODE 11
#define C_READ 12
#define C_WRITE 13
#define C_DATA 14
#define C_ARGS 15

static HANDLE msg_server(const char *name, DWORD max)
{
    return CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, max,
                            4096, 4096, 0, NULL);
}

static HANDLE client_open(const char *name)
{
    return CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
}

static BOOL set_mode(HANDLE h, DWORD mode)
{
    return SetNamedPipeHandleState(h, &mode, NULL, NULL);
}

static BOOL put(HANDLE h, const void *buf, DWORD len)
{
    DWORD n = T_POISON;
    return WriteFile(h, buf, len, &n, NULL) && n == len;
}

/* Read one message expecting exactly `len` bytes equal to `want`. */
static BOOL get(HANDLE h, const void *want, DWORD len)
{
    char buf[256];
    DWORD n = T_POISON;
    memset(buf, 0x55, sizeof buf);
    return ReadFile(h, buf, sizeof buf, &n, NULL) && n == len && memcmp(buf, want, len) == 0;
}

static unsigned char pattern(DWORD i, unsigned seed)
{
    return (unsigned char)((i * 167u + seed * 13u + (i >> 11)) & 0xFF);
}

/* --- children ---------------------------------------------------------------------- */

/* Echo messages back, each one whole (empty ones too), until "END",
 * reading with a small buffer and ERROR_MORE_DATA. */
static int child_echo(const char *name)
{
    HANDLE h = client_open(name);
    if (h == INVALID_HANDLE_VALUE)
        return C_OPEN;
    if (!set_mode(h, PIPE_READMODE_MESSAGE))
        return C_MODE;
    char *msg = malloc(BIG);
    for (;;) {
        DWORD total = 0, n;
        for (;;) {
            n = T_POISON;
            BOOL ok = ReadFile(h, msg + total, 1000, &n, NULL);
            if (n > 1000)
                return C_READ;
            total += n;
            if (ok)
                break;
            if (GetLastError() != ERROR_MORE_DATA)
                return C_READ;
        }
        if (!put(h, msg, total))
            return C_WRITE;
        if (total == 3 && memcmp(msg, "END", 3) == 0)
            break;
    }
    free(msg);
    CloseHandle(h);
    return C_OK;
}

/* An inherited client end in message read mode, left in the middle of a
 * message: read the rest of it, then the next message. */
static int child_rest(const char *value)
{
    HANDLE h = (HANDLE)(ULONG_PTR)strtoull(value, NULL, 0);
    char buf[32];
    DWORD n, mode;
    if (!GetNamedPipeHandleStateA(h, &mode, NULL, NULL, NULL, NULL, 0) || mode != PIPE_READMODE_MESSAGE)
        return C_MODE;
    if (!ReadFile(h, buf, sizeof buf, &n, NULL) || n != 6 || memcmp(buf, "Bucket", 6) != 0)
        return C_READ;
    if (!ReadFile(h, buf, sizeof buf, &n, NULL) || n != 4 || memcmp(buf, "next", 4) != 0)
        return C_DATA;
    return C_OK;
}

static int run_child(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[2], "echo") == 0)
        return child_echo(argv[3]);
    if (argc >= 4 && strcmp(argv[2], "rest") == 0)
        return child_rest(argv[3]);
    return C_ARGS;
}

/* --- boundaries ----------------------------------------------------------------------- */

static void test_boundaries(void)
{
    const char *name = t_pipe_name("bounds");
    HANDLE s = msg_server(name, 1), c = client_open(name);
    DWORD n, mode;
    char buf[64];

    T_OK(s != INVALID_HANDLE_VALUE && c != INVALID_HANDLE_VALUE, "a message pipe and a client");
    mode = T_POISON;
    T_OK(GetNamedPipeHandleStateA(c, &mode, NULL, NULL, NULL, NULL, 0), "client state");
    T_EQ(mode, PIPE_READMODE_BYTE | PIPE_WAIT, "a client end starts in byte read mode");
    T_OK(set_mode(c, PIPE_READMODE_MESSAGE), "client to message read mode");

    /* Three messages each way, read back one per ReadFile. */
    T_OK(put(s, "one", 3) && put(s, "two!", 4) && put(s, "three", 5), "server writes three messages");
    T_OK(get(c, "one", 3), "client reads the first, alone");
    T_OK(get(c, "two!", 4), "the second");
    T_OK(get(c, "three", 5), "the third");
    T_OK(put(c, "alpha", 5) && put(c, "beta", 4) && put(c, "gamma", 5), "client writes three");
    T_OK(get(s, "alpha", 5) && get(s, "beta", 4) && get(s, "gamma", 5), "the server reads them one by one");

    /* Zero-length messages are messages. */
    T_OK(put(s, "", 0), "a zero-length message");
    T_OK(put(s, "x", 1), "then one byte");
    n = T_POISON;
    T_OK(ReadFile(c, buf, sizeof buf, &n, NULL), "reading the zero-length message succeeds");
    T_EQ(n, 0, "with 0 bytes");
    T_OK(get(c, "x", 1), "the next read gets the next message");
    T_OK(put(c, "", 0) && put(c, "", 0), "two empty messages the other way");
    n = T_POISON;
    T_OK(ReadFile(s, buf, sizeof buf, &n, NULL) && n == 0, "first");
    n = T_POISON;
    T_OK(ReadFile(s, buf, sizeof buf, &n, NULL) && n == 0, "second");

    /* A zero-byte read of a non-empty message: ERROR_MORE_DATA, nothing
     * taken (Windows 8 and later). */
    T_OK(put(s, "kept", 4), "a message");
    n = T_POISON;
    T_ERR(ReadFile(c, buf, 0, &n, NULL), ERROR_MORE_DATA, "zero-byte read: ERROR_MORE_DATA");
    T_EQ(n, 0, "0 bytes");
    T_OK(get(c, "kept", 4), "the message is still whole");

    /* A zero-byte read takes a zero-length message. */
    T_OK(put(s, "", 0) && put(s, "after", 5), "an empty message, then another");
    n = T_POISON;
    T_OK(ReadFile(c, buf, 0, &n, NULL) && n == 0, "a zero-byte read takes the empty message");
    T_OK(get(c, "after", 5), "and leaves the next");

    CloseHandle(c);
    CloseHandle(s);
}

/* --- ERROR_MORE_DATA ------------------------------------------------------------------ */

struct reader {
    HANDLE h;
    char *buf;
    DWORD len, n, err;
    BOOL ok;
};

static DWORD WINAPI read_thread(LPVOID arg)
{
    struct reader *r = arg;
    r->n = T_POISON;
    r->ok = ReadFile(r->h, r->buf, r->len, &r->n, NULL);
    r->err = GetLastError();
    return 0;
}

static void test_more_data(void)
{
    const char *name = t_pipe_name("more");
    static const char obuf[] = "Bit Bucket", obuf2[] = "More bits";
    HANDLE s = msg_server(name, 1), c = client_open(name);
    char ibuf[32];
    DWORD n;
    T_OK(set_mode(c, PIPE_READMODE_MESSAGE), "client in message read mode");

    T_OK(put(s, obuf2, sizeof obuf2), "a 10-byte message");
    n = T_POISON;
    SetLastError(T_POISON);
    T_ERR(ReadFile(c, ibuf, 4, &n, NULL), ERROR_MORE_DATA, "4-byte read: ERROR_MORE_DATA");
    T_EQ(n, 4, "with the 4 bytes it copied");
    n = T_POISON;
    T_ERR(ReadFile(c, ibuf + 4, 4, &n, NULL), ERROR_MORE_DATA, "the next 4: ERROR_MORE_DATA again");
    T_EQ(n, 4, "4 more");
    n = T_POISON;
    T_OK(ReadFile(c, ibuf + 8, sizeof ibuf - 8, &n, NULL), "the rest: success");
    T_EQ(n, sizeof obuf2 - 8, "2 bytes");
    T_OK(memcmp(ibuf, obuf2, sizeof obuf2) == 0, "all in order");

    /* The rest of a partly read message belongs to the handle, not the
     * thread: another thread reads it (Wine's test shows it on Windows). */
    T_OK(put(s, obuf, sizeof obuf) && put(s, obuf2, sizeof obuf2), "two messages");
    n = T_POISON;
    T_ERR(ReadFile(c, ibuf, 4, &n, NULL), ERROR_MORE_DATA, "4 bytes of the first");
    struct reader r = {.h = c, .buf = ibuf + 4, .len = 4};
    HANDLE t = CreateThread(NULL, 0, read_thread, &r, 0, NULL);
    WaitForSingleObject(t, 10000);
    CloseHandle(t);
    T_OK(!r.ok && r.err == ERROR_MORE_DATA && r.n == 4, "another thread: the next 4, ERROR_MORE_DATA");
    r = (struct reader){.h = c, .buf = ibuf + 8, .len = sizeof ibuf - 8};
    t = CreateThread(NULL, 0, read_thread, &r, 0, NULL);
    WaitForSingleObject(t, 10000);
    CloseHandle(t);
    T_OK(r.ok && r.n == sizeof obuf - 8, "and the end of the first message");
    T_OK(memcmp(ibuf, obuf, sizeof obuf) == 0, "content");
    T_OK(get(c, obuf2, sizeof obuf2), "the second message is untouched");

    /* Server side too, in the other direction. */
    T_OK(put(c, obuf, sizeof obuf), "client writes");
    n = T_POISON;
    T_ERR(ReadFile(s, ibuf, 5, &n, NULL), ERROR_MORE_DATA, "server 5-byte read: ERROR_MORE_DATA");
    T_OK(n == 5 && ReadFile(s, ibuf + 5, sizeof ibuf - 5, &n, NULL) && n == sizeof obuf - 5, "then the rest");
    T_OK(memcmp(ibuf, obuf, sizeof obuf) == 0, "content");
    CloseHandle(c);
    CloseHandle(s);
}

/* --- byte read mode on a message pipe ------------------------------------------------- */

static void test_byte_read_mode(void)
{
    const char *name = t_pipe_name("byteread");
    static const char obuf[] = "Bit Bucket", obuf2[] = "More bits";
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_BYTE, 1, 4096, 4096, 0,
                                NULL);
    HANDLE c = client_open(name);
    char ibuf[64];
    DWORD n, flags, mode;
    T_OK(s != INVALID_HANDLE_VALUE && c != INVALID_HANDLE_VALUE, "message pipe, byte read mode");
    T_OK(GetNamedPipeInfo(s, &flags, NULL, NULL, NULL) && flags == (PIPE_SERVER_END | PIPE_TYPE_MESSAGE),
         "GetNamedPipeInfo: a message pipe");
    T_OK(GetNamedPipeHandleStateA(s, &mode, NULL, NULL, NULL, NULL, 0) && mode == 0, "read mode byte");

    T_OK(put(s, obuf, sizeof obuf) && put(s, obuf2, sizeof obuf2), "two messages to the client");
    n = T_POISON;
    T_OK(ReadFile(c, ibuf, 4, &n, NULL) && n == 4, "a 4-byte read in byte mode succeeds (no ERROR_MORE_DATA)");
    n = T_POISON;
    T_OK(ReadFile(c, ibuf + 4, sizeof ibuf - 4, &n, NULL), "the next read");
    T_EQ(n, sizeof obuf + sizeof obuf2 - 4, "gets the rest of both messages, run together");
    T_OK(memcmp(ibuf, obuf, sizeof obuf) == 0 && memcmp(ibuf + sizeof obuf, obuf2, sizeof obuf2) == 0,
         "headers stripped, in order");

    T_OK(put(c, obuf, sizeof obuf) && put(c, obuf2, sizeof obuf2), "two messages to the server");
    n = T_POISON;
    T_OK(ReadFile(s, ibuf, sizeof ibuf, &n, NULL), "one server read");
    T_EQ(n, sizeof obuf + sizeof obuf2, "takes both");

    /* Zero-length messages in byte mode: alone it is a read of 0 bytes;
     * before data, it is passed over. */
    T_OK(put(s, "", 0), "an empty message alone");
    n = T_POISON;
    T_OK(ReadFile(c, ibuf, sizeof ibuf, &n, NULL) && n == 0, "byte read: success with 0 bytes");
    T_OK(put(s, "", 0) && put(s, "ab", 2), "an empty message, then 2 bytes");
    n = T_POISON;
    T_OK(ReadFile(c, ibuf, sizeof ibuf, &n, NULL), "byte read");
    T_OK(n == 0 || (n == 2 && memcmp(ibuf, "ab", 2) == 0), "0 bytes, or the 2 bytes past the empty message");
    if (n == 0)
        T_OK(ReadFile(c, ibuf, sizeof ibuf, &n, NULL) && n == 2, "then the 2 bytes");
    else
        T_OK(1, "then the 2 bytes");

    /* A zero-byte read in byte mode takes nothing of a message. */
    T_OK(put(s, "zz", 2), "a message");
    n = T_POISON;
    T_OK(ReadFile(c, ibuf, 0, &n, NULL) && n == 0, "a zero-byte read: success");
    T_OK(ReadFile(c, ibuf, sizeof ibuf, &n, NULL) && n == 2, "the message is still there");

    /* Switching read modes between messages. */
    T_OK(set_mode(c, PIPE_READMODE_MESSAGE), "client to message mode");
    T_OK(put(s, obuf, sizeof obuf) && put(s, obuf2, sizeof obuf2), "two messages");
    T_OK(get(c, obuf, sizeof obuf), "message mode: the first alone");
    T_OK(set_mode(c, PIPE_READMODE_BYTE), "back to byte mode");
    n = T_POISON;
    T_OK(ReadFile(c, ibuf, 3, &n, NULL) && n == 3, "3 bytes of the second");
    T_OK(set_mode(c, PIPE_READMODE_MESSAGE), "message mode again, mid-message");
    n = T_POISON;
    T_OK(ReadFile(c, ibuf + 3, sizeof ibuf, &n, NULL) && n == sizeof obuf2 - 3, "the rest of that message");
    T_OK(memcmp(ibuf, obuf2, sizeof obuf2) == 0, "content");
    CloseHandle(c);
    CloseHandle(s);
}

/* --- messages larger than the buffers --------------------------------------------------- */

struct big_writer {
    HANDLE h;
    unsigned char *buf;
    DWORD len;
    BOOL ok;
    DWORD n;
};

static DWORD WINAPI big_write(LPVOID arg)
{
    struct big_writer *w = arg;
    w->ok = WriteFile(w->h, w->buf, w->len, &w->n, NULL);
    return 0;
}

static void test_big(void)
{
    const char *name = t_pipe_name("big");
    HANDLE s = msg_server(name, 1), c = client_open(name);
    unsigned char *out = malloc(BIG), *in = malloc(BIG);
    for (DWORD i = 0; i < BIG; i++)
        out[i] = pattern(i, 7);
    T_OK(set_mode(c, PIPE_READMODE_MESSAGE), "message read mode");

    /* A message larger than the buffer: the write completes once read. */
    struct big_writer w = {.h = s, .buf = out, .len = BIG};
    HANDLE t = CreateThread(NULL, 0, big_write, &w, 0, NULL);
    T_EQ(WaitForSingleObject(t, 100), WAIT_TIMEOUT, "a 3 MiB message write waits for the reader");
    DWORD n = T_POISON;
    T_OK(ReadFile(c, in, BIG, &n, NULL), "one ReadFile gets the whole message");
    T_EQ(n, BIG, "3 MiB");
    T_OK(memcmp(in, out, BIG) == 0, "intact");
    T_EQ(WaitForSingleObject(t, 10000), WAIT_OBJECT_0, "then the write completes");
    T_OK(w.ok && w.n == BIG, "all written");
    CloseHandle(t);

    /* Read in pieces with ERROR_MORE_DATA, followed by a small message. */
    w = (struct big_writer){.h = s, .buf = out, .len = BIG};
    t = CreateThread(NULL, 0, big_write, &w, 0, NULL);
    DWORD total = 0, pieces = 0, more = 0;
    for (;;) {
        n = T_POISON;
        BOOL ok = ReadFile(c, in + total, 100000, &n, NULL);
        total += n;
        pieces++;
        if (ok)
            break;
        more += GetLastError() == ERROR_MORE_DATA;
        if (GetLastError() != ERROR_MORE_DATA)
            break;
    }
    T_EQ(total, BIG, "100000-byte reads add up to the message");
    T_EQ(more, pieces - 1, "each but the last says ERROR_MORE_DATA");
    T_OK(memcmp(in, out, BIG) == 0, "intact");
    WaitForSingleObject(t, 10000);
    CloseHandle(t);
    T_OK(put(s, "tail", 4) && get(c, "tail", 4), "the next message is separate");

    /* The other way, client to server. */
    w = (struct big_writer){.h = c, .buf = out, .len = BIG};
    t = CreateThread(NULL, 0, big_write, &w, 0, NULL);
    n = T_POISON;
    T_OK(ReadFile(s, in, BIG, &n, NULL) && n == BIG && memcmp(in, out, BIG) == 0, "3 MiB client to server");
    WaitForSingleObject(t, 10000);
    CloseHandle(t);
    free(out);
    free(in);
    CloseHandle(c);
    CloseHandle(s);
}

/* --- PeekNamedPipe counts ---------------------------------------------------------------- */

static void test_peek(DWORD type)
{
    BOOL msg = type == PIPE_TYPE_MESSAGE;
    const char *name = t_pipe_name(msg ? "peek-msg" : "peek-byte");
    static const char obuf[] = "Bit Bucket", obuf2[] = "More bits";
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, type | (msg ? PIPE_READMODE_MESSAGE : 0), 1, 1024, 1024,
                                0, NULL);
    HANDLE c = client_open(name);
    char ibuf[32];
    DWORD rd, avail, left;

    if (msg)
        T_OK(set_mode(c, PIPE_READMODE_MESSAGE), "client in message read mode");
    rd = avail = left = T_POISON;
    T_OK(PeekNamedPipe(c, NULL, 0, &rd, &avail, &left), "peek an empty pipe");
    T_OK(rd == 0 && avail == 0 && left == 0, "nothing");

    T_OK(put(s, obuf, sizeof obuf), "a write");
    rd = avail = left = T_POISON;
    T_OK(PeekNamedPipe(c, NULL, 0, &rd, &avail, &left), "peek without a buffer");
    T_EQ(avail, sizeof obuf, "total available");
    T_EQ(left, msg ? sizeof obuf : 0, "left this message: its length (0 on a byte pipe)");
    T_OK(PeekNamedPipe(c, ibuf, 4, &rd, &avail, &left), "peek 4 bytes");
    T_EQ(rd, 4, "4 copied");
    T_EQ(avail, sizeof obuf, "avail unchanged");
    T_EQ((LONG)left, msg ? (LONG)sizeof obuf - 4 : -4, "left: length - 4 (Windows gives -4 on a byte pipe)");
    T_OK(get(c, obuf, sizeof obuf), "the read gets all of it");

    T_OK(put(s, obuf, sizeof obuf) && put(s, obuf2, sizeof obuf2), "two writes");
    memset(ibuf, 0, sizeof ibuf);
    T_OK(PeekNamedPipe(c, ibuf, sizeof ibuf, &rd, &avail, &left), "peek a big buffer");
    T_EQ(avail, sizeof obuf + sizeof obuf2, "avail: both");
    T_EQ(rd, msg ? sizeof obuf : sizeof obuf + sizeof obuf2, "copied: the first message only on a message pipe");
    T_EQ((LONG)left, msg ? 0 : -(LONG)(sizeof obuf + sizeof obuf2), "left");
    T_OK(memcmp(ibuf, obuf, sizeof obuf) == 0, "the data");
    if (msg) {
        char b2[32];
        DWORD n;
        T_ERR(ReadFile(c, b2, 4, &n, NULL), ERROR_MORE_DATA, "read 4 of the first");
        T_OK(PeekNamedPipe(c, ibuf, sizeof ibuf, &rd, &avail, &left), "peek mid-message");
        T_OK(rd == sizeof obuf - 4 && avail == sizeof obuf + sizeof obuf2 - 4 && left == 0,
             "the first message's rest; avail counts what is left of both");
        T_OK(memcmp(ibuf, obuf + 4, sizeof obuf - 4) == 0, "its bytes");
        T_OK(ReadFile(c, b2, sizeof b2, &n, NULL) && n == sizeof obuf - 4, "read its rest");
        T_OK(get(c, obuf2, sizeof obuf2), "and the second");
    } else {
        DWORD n;
        T_OK(ReadFile(c, ibuf, sizeof ibuf, &n, NULL) && n == sizeof obuf + sizeof obuf2, "read both");
    }
    if (msg) {
        T_OK(put(s, "", 0), "an empty message");
        rd = avail = left = T_POISON;
        T_OK(PeekNamedPipe(c, ibuf, sizeof ibuf, &rd, &avail, &left), "peek it");
        T_OK(rd == 0 && avail == 0 && left == 0, "0, 0, 0");
        DWORD n = T_POISON;
        T_OK(ReadFile(c, ibuf, sizeof ibuf, &n, NULL) && n == 0, "read it");
    }
    CloseHandle(c);
    CloseHandle(s);
}

/* --- instances -------------------------------------------------------------------------- */

static void test_instances(void)
{
    const char *name = t_pipe_name("inst");
    DWORD flags, max;
    HANDLE a = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 4, 1024, 1024, 0, NULL);
    HANDLE b = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE, 3, 102, 24, 1234, NULL);
    T_OK(b != INVALID_HANDLE_VALUE, "a second instance of a byte pipe asking for message type and 3 instances: accepted");
    T_OK(GetNamedPipeInfo(b, &flags, NULL, NULL, &max), "its info");
    T_EQ(flags, PIPE_SERVER_END | PIPE_TYPE_BYTE, "the first instance's type rules");
    T_EQ(max, 4, "and its maximum");
    DWORD out = 0, in = 0;
    T_OK(GetNamedPipeInfo(b, NULL, &out, &in, NULL) && out == 102 && in == 24, "its own buffer sizes");
    HANDLE x = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 4, 0, 0, 0, NULL);
    T_ERR(x != INVALID_HANDLE_VALUE, ERROR_INVALID_PARAMETER, "an instance reading a byte pipe as messages");
    CloseHandle(a);
    CloseHandle(b);
}

/* --- another process ------------------------------------------------------------------- */

static void test_process(void)
{
    const char *name = t_pipe_name("echo");
    PROCESS_INFORMATION pi;
    char args[300];
    static const DWORD sizes[] = {1, 0, 5000, 0, 70000, 1, 1000000, 17, 0, 999999};
    unsigned char *out = malloc(1000000 + 16), *in = malloc(1000000);
    HANDLE s = msg_server(name, 1);
    int good = 0;
    for (DWORD i = 0; i < 1000000 + 16; i++)
        out[i] = pattern(i, 3);
    snprintf(args, sizeof args, "child echo %s", name);
    T_OK(t_spawn(args, &pi), "an echoing child");
    T_OK(ConnectNamedPipe(s, NULL) || GetLastError() == ERROR_PIPE_CONNECTED, "it connects");
    for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        DWORD n = T_POISON, len = sizes[i];
        if (!put(s, out + i, len))
            break;
        if (!ReadFile(s, in, 1000000, &n, NULL) || n != len || memcmp(in, out + i, len) != 0)
            break;
        good++;
    }
    T_EQ(good, sizeof sizes / sizeof *sizes, "every message comes back whole, empty ones included");
    T_OK(put(s, "END", 3) && get(s, "END", 3), "END echoed");
    T_EQ(t_wait_child(&pi, 15000), C_OK, "the child echoed until the empty message and left");
    CloseHandle(s);
    free(out);
    free(in);
}

/* --- inheritance ------------------------------------------------------------------------ */

static void test_inherit_mid_message(void)
{
    const char *name = t_pipe_name("inherit");
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    PROCESS_INFORMATION pi;
    char args[128], buf[8];
    DWORD n;
    HANDLE s = msg_server(name, 1);
    HANDLE c = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, &sa, OPEN_EXISTING, 0, NULL);
    T_OK(c != INVALID_HANDLE_VALUE && set_mode(c, PIPE_READMODE_MESSAGE), "an inheritable message-mode client");
    T_OK(put(s, "Bit Bucket", 10) && put(s, "next", 4), "two messages");
    T_ERR(ReadFile(c, buf, 4, &n, NULL), ERROR_MORE_DATA, "4 bytes of the first");
    snprintf(args, sizeof args, "child rest %llu", (unsigned long long)(ULONG_PTR)c);
    T_OK(t_spawn_ex(args, TRUE, NULL, &pi), "a child inherits the handle");
    CloseHandle(c);
    T_EQ(t_wait_child(&pi, 10000), C_OK, "it reads the rest of that message, then the next, in message mode");
    CloseHandle(s);
}

/* --- overlapped handles ----------------------------------------------------------------- */

static void test_overlapped(void)
{
    const char *name = t_pipe_name("overlapped");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                                PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1, 4096, 4096, 0, NULL);
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL), ev2 = CreateEventA(NULL, TRUE, FALSE, NULL);
    OVERLAPPED ov, ov2;
    char buf[64];
    DWORD n;

    memset(&ov, 0, sizeof ov);
    ov.hEvent = ev;
    T_ERR(ConnectNamedPipe(s, &ov), ERROR_IO_PENDING, "overlapped message server: connect pending");
    HANDLE c = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    T_OK(c != INVALID_HANDLE_VALUE && GetOverlappedResult(s, &ov, &n, TRUE), "an overlapped client connects");
    T_OK(set_mode(c, PIPE_READMODE_MESSAGE), "client in message read mode");

    /* A pending read smaller than the message: ERROR_MORE_DATA at completion. */
    memset(&ov, 0, sizeof ov);
    ov.hEvent = ev;
    T_ERR(ReadFile(s, buf, 4, NULL, &ov), ERROR_IO_PENDING, "a 4-byte read pending");
    OVERLAPPED wov;
    memset(&wov, 0, sizeof wov);
    wov.hEvent = ev2;
    BOOL ok = WriteFile(c, "More bits", 10, NULL, &wov);
    T_OK((ok || GetLastError() == ERROR_IO_PENDING) && GetOverlappedResult(c, &wov, &n, TRUE) && n == 10,
         "the client's overlapped write of 10 bytes");
    n = T_POISON;
    T_ERR(GetOverlappedResult(s, &ov, &n, TRUE), ERROR_MORE_DATA, "the read completes with ERROR_MORE_DATA");
    T_OK(n == 4 && memcmp(buf, "More", 4) == 0, "and 4 bytes");
    memset(&ov, 0, sizeof ov);
    ov.hEvent = ev;
    ok = ReadFile(s, buf + 4, sizeof buf - 4, NULL, &ov);
    T_OK((ok || GetLastError() == ERROR_IO_PENDING) && GetOverlappedResult(s, &ov, &n, TRUE) && n == 6,
         "the next read gets the other 6");
    T_OK(memcmp(buf, "More bits", 10) == 0, "content");

    /* A message larger than the buffer: the overlapped write stays pending
     * until the reader has taken it. */
    unsigned char *big = malloc(BIG), *in = malloc(BIG);
    for (DWORD i = 0; i < BIG; i++)
        big[i] = pattern(i, 11);
    memset(&wov, 0, sizeof wov);
    wov.hEvent = ev2;
    T_ERR(WriteFile(s, big, BIG, NULL, &wov), ERROR_IO_PENDING, "a 3 MiB overlapped write: pending");
    memset(&ov, 0, sizeof ov);
    ov.hEvent = ev;
    ok = ReadFile(c, in, BIG, NULL, &ov);
    T_OK((ok || GetLastError() == ERROR_IO_PENDING) && GetOverlappedResult(c, &ov, &n, TRUE), "the client reads it");
    T_OK(n == BIG && memcmp(in, big, BIG) == 0, "whole");
    T_OK(GetOverlappedResult(s, &wov, &n, TRUE) && n == BIG, "then the write completes: 3 MiB");

    /* Cancelled after part of it went out: the reader sees that message end
     * early, and the next message whole. */
    memset(&wov, 0, sizeof wov);
    wov.hEvent = ev2;
    T_ERR(WriteFile(s, big, BIG, NULL, &wov), ERROR_IO_PENDING, "another 3 MiB write: pending");
    n = T_POISON;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = ev;
    ok = ReadFile(c, in, 10, NULL, &ov);
    T_OK(!ok && (GetLastError() == ERROR_MORE_DATA || GetLastError() == ERROR_IO_PENDING), "read 10 bytes of it");
    T_ERR(GetOverlappedResult(c, &ov, &n, TRUE), ERROR_MORE_DATA, "ERROR_MORE_DATA");
    T_OK(CancelIoEx(s, &wov), "cancel the write");
    T_ERR(GetOverlappedResult(s, &wov, &n, TRUE), ERROR_OPERATION_ABORTED, "it ends: ERROR_OPERATION_ABORTED");
    memset(&wov, 0, sizeof wov);
    wov.hEvent = ev2;
    ok = WriteFile(s, "next", 4, NULL, &wov);
    T_OK((ok || GetLastError() == ERROR_IO_PENDING) && GetOverlappedResult(s, &wov, &n, TRUE) && n == 4,
         "the next message");
    DWORD got = 10, reads = 0;
    for (;;) {
        memset(&ov, 0, sizeof ov);
        ov.hEvent = ev;
        ok = ReadFile(c, in, BIG, NULL, &ov);
        if (!ok && GetLastError() == ERROR_IO_PENDING)
            ok = GetOverlappedResult(c, &ov, &n, TRUE);
        else
            GetOverlappedResult(c, &ov, &n, TRUE);
        reads++;
        if (!ok || n == 4 || reads > 100)
            break;
        got += n;
    }
    T_OK(ok && n == 4 && memcmp(in, "next", 4) == 0, "after what had gone out of the cancelled one, \"next\"");
    T_OK(got < BIG, "the cancelled message ended early");

    /* TransactNamedPipe, overlapped. */
    memset(&ov, 0, sizeof ov);
    ov.hEvent = ev;
    n = T_POISON;
    T_ERR(TransactNamedPipe(c, "ask", 3, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING, "an overlapped transaction");
    memset(&ov2, 0, sizeof ov2);
    ov2.hEvent = ev2;
    ok = ReadFile(s, buf + 32, 32, NULL, &ov2);
    T_OK((ok || GetLastError() == ERROR_IO_PENDING) && GetOverlappedResult(s, &ov2, &n, TRUE) && n == 3,
         "the server gets the request");
    memset(&ov2, 0, sizeof ov2);
    ov2.hEvent = ev2;
    ok = WriteFile(s, "answer", 6, NULL, &ov2);
    T_OK((ok || GetLastError() == ERROR_IO_PENDING) && GetOverlappedResult(s, &ov2, &n, TRUE), "and answers");
    n = T_POISON;
    T_OK(GetOverlappedResult(c, &ov, &n, TRUE) && n == 6 && memcmp(buf, "answer", 6) == 0,
         "the transaction completes with the answer");

    free(big);
    free(in);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(ev);
    CloseHandle(ev2);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return run_child(argc, argv);
    test_boundaries();
    test_more_data();
    test_byte_read_mode();
    test_big();
    test_peek(PIPE_TYPE_BYTE);
    test_peek(PIPE_TYPE_MESSAGE);
    test_instances();
    test_process();
    test_inherit_mid_message();
    test_overlapped();
    return t_done();
}
