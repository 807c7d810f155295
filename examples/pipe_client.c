/* SPDX-License-Identifier: MIT */
/* A named-pipe client: wait for the server's instance, read its greeting,
 * answer it. */
#include <windows.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "\\\\.\\pipe\\winipc-demo";
    HANDLE pipe;
    for (;;) {
        pipe = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
        if (pipe != INVALID_HANDLE_VALUE)
            break;
        DWORD err = GetLastError();
        /* No server yet, or its instance is busy: wait for it, as Windows
         * clients do. */
        if ((err != ERROR_FILE_NOT_FOUND && err != ERROR_PIPE_BUSY) || !WaitNamedPipeA(name, 100)) {
            if (GetLastError() == ERROR_FILE_NOT_FOUND || GetLastError() == ERROR_SEM_TIMEOUT)
                continue;
            fprintf(stderr, "client: cannot open %s: %lu\n", name, (unsigned long)GetLastError());
            return 1;
        }
    }
    char buf[256];
    DWORD n = 0;
    if (!ReadFile(pipe, buf, sizeof buf - 1, &n, NULL)) {
        fprintf(stderr, "client: ReadFile failed: %lu\n", (unsigned long)GetLastError());
        return 1;
    }
    buf[n] = 0;
    printf("client [pid %lu]: read \"%s\"\n", (unsigned long)GetCurrentProcessId(), buf);
    const char *answer = "Hello back from the client";
    WriteFile(pipe, answer, (DWORD)strlen(answer), &n, NULL);
    CloseHandle(pipe);
    return 0;
}
