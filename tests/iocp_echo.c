/* SPDX-License-Identifier: MIT */
/* The IOCP echo server example (examples/iocp_echo_server.c), bounded: the
 * server runs in this process (64 overlapped instances, 4 worker threads,
 * one completion port) until 100 client sessions have ended; two child
 * processes run 50 client threads each, 50 round trips of 64 bytes per
 * client. Everything must come back intact within 10 s. */
#define ECHO_NO_MAIN
#include "../examples/iocp_echo_server.c"

#include "test.h"

#define CLIENT_PROCS 2
#define CLIENTS_PER_PROC 50
#define ECHOES 50

struct server_arg {
    const char *name;
    int rc;
};

static DWORD WINAPI run_server(LPVOID arg)
{
    struct server_arg *s = arg;
    s->rc = echo_server_run(s->name, 64, 4, CLIENT_PROCS * CLIENTS_PER_PROC);
    return 0;
}

int main(int argc, char **argv)
{
    char name[160], args[256];
    if (argc >= 4 && strcmp(argv[1], "child") == 0)
        return echo_clients_run(argv[2], (unsigned)atoi(argv[3]), ECHOES, 64) ? 1 : 0;

    snprintf(name, sizeof name, "\\\\.\\pipe\\%s", t_name("echo"));
    struct server_arg srv = {.name = name, .rc = -1};
    DWORD t0 = GetTickCount();
    HANDLE st = CreateThread(NULL, 0, run_server, &srv, 0, NULL);
    PROCESS_INFORMATION pi[CLIENT_PROCS];
    for (int i = 0; i < CLIENT_PROCS; i++) {
        snprintf(args, sizeof args, "child %s %d", name, CLIENTS_PER_PROC);
        T_OK(t_spawn(args, &pi[i]), "spawn a client process (50 client threads)");
    }
    for (int i = 0; i < CLIENT_PROCS; i++)
        T_EQ(t_wait_child(&pi[i], 20000), 0, "every client of the process got every echo back");
    T_EQ(WaitForSingleObject(st, 10000), WAIT_OBJECT_0, "the server stops after 100 sessions");
    T_EQ(srv.rc, 0, "its workers ended cleanly");
    DWORD ms = GetTickCount() - t0;
    printf("# 100 clients x 50 echoes: %lu ms\n", (unsigned long)ms);
    T_OK(ms <= 10000, "within 10 s");
    CloseHandle(st);
    return t_done();
}
