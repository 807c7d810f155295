/* SPDX-License-Identifier: MIT */
/* A named-pipe server, Windows style: create \\.\pipe\winipc-demo, wait
 * for one client, greet it, print its answer. Build on Windows or on Linux
 * with winipc; the source is the same. */
#include <windows.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "\\\\.\\pipe\\winipc-demo";
    HANDLE pipe = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1,
                                   4096, 4096, 0, NULL);
    if (pipe == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "server: CreateNamedPipe failed: %lu\n", (unsigned long)GetLastError());
        return 1;
    }
    printf("server [pid %lu]: waiting on %s\n", (unsigned long)GetCurrentProcessId(), name);
    fflush(stdout);
    if (!ConnectNamedPipe(pipe, NULL) && GetLastError() != ERROR_PIPE_CONNECTED) {
        fprintf(stderr, "server: ConnectNamedPipe failed: %lu\n", (unsigned long)GetLastError());
        CloseHandle(pipe);
        return 1;
    }
    const char *greeting = "Hello from the server!";
    DWORD n = 0;
    if (!WriteFile(pipe, greeting, (DWORD)strlen(greeting), &n, NULL)) {
        fprintf(stderr, "server: WriteFile failed: %lu\n", (unsigned long)GetLastError());
        CloseHandle(pipe);
        return 1;
    }
    char reply[256];
    if (ReadFile(pipe, reply, sizeof reply - 1, &n, NULL)) {
        reply[n] = 0;
        printf("server: the client answered \"%s\"\n", reply);
    }
    /* Reading again shows how a client's departure looks on Windows. */
    if (!ReadFile(pipe, reply, sizeof reply, &n, NULL) && GetLastError() == ERROR_BROKEN_PIPE)
        printf("server: client gone (ERROR_BROKEN_PIPE)\n");
    CloseHandle(pipe);
    return 0;
}
