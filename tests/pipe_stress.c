/* SPDX-License-Identifier: MIT */
/* Message-mode named pipe under load: CLIENTS clients (threads of this
 * process and child processes running this binary) each send MESSAGES
 * messages of pseudo-random sizes from 0 to 128 KiB through their own
 * instance of one pipe, while a second thread of the client reads the
 * server's answers (so both directions are full at once). Sizes and
 * contents follow from (client, sequence number) by a fixed generator, so
 * the server checks every message it reads (with buffers of random sizes,
 * collecting ERROR_MORE_DATA pieces) and every client checks every answer:
 * a lost, reordered, merged or split message, or a wrong byte, is counted.
 * Bounded: a few seconds, also under AddressSanitizer. */
#include "test.h"

#define THREAD_CLIENTS 4
#define PROCESS_CLIENTS 2
#define CLIENTS (THREAD_CLIENTS + PROCESS_CLIENTS)
#define MESSAGES 2000
#define MAX_MSG (128u * 1024u)

static const char *pipe_name(void)
{
    static char buf[160];
    snprintf(buf, sizeof buf, "\\\\.\\pipe\\%s", t_name("stress"));
    return buf;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Message `seq` of client `k` in direction `dir` (0: to the server). Mostly
 * small, a quarter up to 128 KiB, some empty. */
static DWORD msg_size(unsigned k, unsigned seq, unsigned dir)
{
    uint64_t r = mix((uint64_t)k << 40 | (uint64_t)dir << 32 | seq);
    switch (r & 7) {
    case 0:
        return 0;
    case 1:
    case 2:
        return (DWORD)((r >> 8) % (MAX_MSG + 1));
    default:
        return (DWORD)((r >> 8) % 300);
    }
}

static unsigned char msg_byte(unsigned k, unsigned seq, unsigned dir, DWORD i)
{
    uint64_t base = mix((uint64_t)k << 40 | (uint64_t)dir << 32 | seq | 1ull << 63);
    return (unsigned char)(base + i * 0x9Du + (i >> 8) * 0x3Bu);
}

static void msg_fill(unsigned char *p, unsigned k, unsigned seq, unsigned dir)
{
    DWORD n = msg_size(k, seq, dir);
    for (DWORD i = 0; i < n; i++)
        p[i] = msg_byte(k, seq, dir, i);
}

static BOOL msg_check(const unsigned char *p, DWORD n, unsigned k, unsigned seq, unsigned dir)
{
    if (n != msg_size(k, seq, dir))
        return FALSE;
    for (DWORD i = 0; i < n; i++)
        if (p[i] != msg_byte(k, seq, dir, i))
            return FALSE;
    return TRUE;
}

/* --- client ---------------------------------------------------------------------------- */

struct client {
    unsigned k;
    HANDLE h;
    unsigned sent, good, bad; /* messages sent; answers right / wrong */
    DWORD err;
};

static DWORD WINAPI client_writer(LPVOID arg)
{
    struct client *c = arg;
    unsigned char *buf = malloc(MAX_MSG);
    for (unsigned seq = 0; seq < MESSAGES; seq++) {
        DWORD n = T_POISON, len = msg_size(c->k, seq, 0);
        msg_fill(buf, c->k, seq, 0);
        if (!WriteFile(c->h, buf, len, &n, NULL) || n != len) {
            c->err = GetLastError();
            break;
        }
        c->sent++;
    }
    free(buf);
    return 0;
}

/* Connect, say who we are, then write and read at once. */
static void client_run(struct client *c)
{
    const char *name = pipe_name();
    DWORD mode = PIPE_READMODE_MESSAGE, n;
    unsigned char *buf = malloc(MAX_MSG + 1);
    for (int tries = 0; tries < 500; tries++) {
        c->h = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
        if (c->h != INVALID_HANDLE_VALUE || (GetLastError() != ERROR_PIPE_BUSY && GetLastError() != ERROR_FILE_NOT_FOUND))
            break;
        if (GetLastError() == ERROR_PIPE_BUSY)
            WaitNamedPipeA(name, 1000);
        else
            Sleep(10); /* the server has not created the pipe yet */
    }
    if (c->h == INVALID_HANDLE_VALUE || !SetNamedPipeHandleState(c->h, &mode, NULL, NULL)) {
        c->err = GetLastError();
        free(buf);
        return;
    }
    uint32_t hello = c->k;
    if (!WriteFile(c->h, &hello, sizeof hello, &n, NULL)) {
        c->err = GetLastError();
        free(buf);
        return;
    }
    HANDLE writer = CreateThread(NULL, 0, client_writer, c, 0, NULL);
    for (unsigned seq = 0; seq < MESSAGES; seq++) {
        n = T_POISON;
        if (!ReadFile(c->h, buf, MAX_MSG + 1, &n, NULL)) {
            c->err = GetLastError();
            break;
        }
        if (msg_check(buf, n, c->k, seq, 1))
            c->good++;
        else
            c->bad++;
    }
    WaitForSingleObject(writer, INFINITE);
    CloseHandle(writer);
    CloseHandle(c->h);
    free(buf);
}

static DWORD WINAPI client_thread(LPVOID arg)
{
    client_run(arg);
    return 0;
}

static int child_client(unsigned k)
{
    struct client c = {.k = k};
    client_run(&c);
    return (c.good == MESSAGES && c.sent == MESSAGES && !c.bad) ? 0 : 1;
}

/* --- server ---------------------------------------------------------------------------- */

struct instance {
    HANDLE h;
    unsigned seed;
    int client;            /* -1 until the hello */
    unsigned good, bad, more; /* messages right / wrong; ERROR_MORE_DATA pieces */
    DWORD err;
};

static DWORD WINAPI serve(LPVOID arg)
{
    struct instance *in = arg;
    unsigned char *msg = malloc(MAX_MSG + 1), *out = malloc(MAX_MSG);
    uint64_t r = in->seed;
    DWORD n;
    uint32_t hello;
    if (!ConnectNamedPipe(in->h, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
        goto fail;
    if (!ReadFile(in->h, &hello, sizeof hello, &n, NULL) || n != sizeof hello || hello >= CLIENTS)
        goto fail;
    in->client = (int)hello;
    for (unsigned seq = 0; seq < MESSAGES; seq++) {
        DWORD total = 0;
        for (;;) {
            /* Buffers from 1 byte to 64 KiB: many messages come in pieces. */
            r = mix(r);
            DWORD chunk = (r & 3) ? (DWORD)(r >> 8) % 65536 + 1 : (DWORD)(r >> 8) % 64 + 1;
            if (chunk > MAX_MSG + 1 - total)
                chunk = MAX_MSG + 1 - total;
            n = T_POISON;
            BOOL ok = ReadFile(in->h, msg + total, chunk, &n, NULL);
            if (n > chunk)
                goto fail;
            total += n;
            if (ok)
                break;
            if (GetLastError() != ERROR_MORE_DATA || total > MAX_MSG)
                goto fail;
            in->more++;
        }
        if (msg_check(msg, total, hello, seq, 0))
            in->good++;
        else
            in->bad++;
        DWORD len = msg_size(hello, seq, 1);
        msg_fill(out, hello, seq, 1);
        if (!WriteFile(in->h, out, len, &n, NULL) || n != len)
            goto fail;
    }
    FlushFileBuffers(in->h);
    free(msg);
    free(out);
    return 0;
fail:
    in->err = GetLastError();
    free(msg);
    free(out);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "child") == 0 && strcmp(argv[2], "client") == 0)
        return child_client((unsigned)atoi(argv[3]));

    const char *name = pipe_name();
    struct instance inst[CLIENTS];
    HANDLE st[CLIENTS], ct[THREAD_CLIENTS];
    struct client cl[THREAD_CLIENTS];
    PROCESS_INFORMATION pi[PROCESS_CLIENTS];
    ULONGLONG t0 = GetTickCount64();
    int created = 0;

    for (int i = 0; i < CLIENTS; i++) {
        inst[i] = (struct instance){.seed = 1000u + (unsigned)i, .client = -1};
        inst[i].h = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, CLIENTS,
                                     65536, 65536, 0, NULL);
        created += inst[i].h != INVALID_HANDLE_VALUE;
        st[i] = CreateThread(NULL, 0, serve, &inst[i], 0, NULL);
    }
    T_EQ(created, CLIENTS, "one instance per client");
    for (int i = 0; i < PROCESS_CLIENTS; i++) {
        char args[64];
        snprintf(args, sizeof args, "child client %d", THREAD_CLIENTS + i);
        T_OK(t_spawn(args, &pi[i]), "a client process");
    }
    for (int i = 0; i < THREAD_CLIENTS; i++) {
        cl[i] = (struct client){.k = (unsigned)i};
        ct[i] = CreateThread(NULL, 0, client_thread, &cl[i], 0, NULL);
    }

    unsigned thread_good = 0, thread_bad = 0, sent = 0;
    for (int i = 0; i < THREAD_CLIENTS; i++) {
        WaitForSingleObject(ct[i], INFINITE);
        CloseHandle(ct[i]);
        thread_good += cl[i].good;
        thread_bad += cl[i].bad;
        sent += cl[i].sent;
        if (cl[i].err)
            printf("# client thread %d: error %lu\n", i, (unsigned long)cl[i].err);
    }
    int children_ok = 0;
    for (int i = 0; i < PROCESS_CLIENTS; i++)
        children_ok += t_wait_child(&pi[i], 60000) == 0;

    unsigned good = 0, bad = 0, more = 0, seen = 0;
    unsigned long long bytes = 0;
    for (unsigned k = 0; k < CLIENTS; k++)
        for (unsigned seq = 0; seq < MESSAGES; seq++)
            bytes += msg_size(k, seq, 0) + msg_size(k, seq, 1);
    for (int i = 0; i < CLIENTS; i++) {
        WaitForSingleObject(st[i], INFINITE);
        CloseHandle(st[i]);
        good += inst[i].good;
        bad += inst[i].bad;
        more += inst[i].more;
        if (inst[i].client >= 0)
            seen |= 1u << inst[i].client;
        if (inst[i].err)
            printf("# instance %d (client %d): error %lu\n", i, inst[i].client, (unsigned long)inst[i].err);
        CloseHandle(inst[i].h);
    }
    T_EQ(sent, THREAD_CLIENTS * MESSAGES, "the client threads sent every message");
    T_EQ(seen, (1u << CLIENTS) - 1, "every client reached an instance of its own");
    T_EQ(good, CLIENTS * MESSAGES, "the server read every message whole, in order, intact");
    T_EQ(bad, 0, "no lost, merged, split or corrupt message");
    T_OK(more > CLIENTS * MESSAGES / 4, "many arrived in ERROR_MORE_DATA pieces");
    T_EQ(thread_good, THREAD_CLIENTS * MESSAGES, "client threads got every answer intact");
    T_EQ(thread_bad, 0, "and nothing else");
    T_EQ(children_ok, PROCESS_CLIENTS, "client processes got every answer intact");
    printf("# %u messages each way, %llu MiB in all, %u pieces, %llu ms\n", CLIENTS * MESSAGES, bytes >> 20, more,
           (unsigned long long)(GetTickCount64() - t0));
    T_OK(GetTickCount64() - t0 < 20000, "within 20 s");
    return t_done();
}
